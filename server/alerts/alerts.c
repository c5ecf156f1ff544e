/* alerts: alert rows plus their deliveries, in the caller's transaction. Writer thread, except
 * the sink's set-up and kick (any thread, under its mutex).
 *
 * Two sorts of alert: a state (memory_leak) is stored 'firing' and later 'resolved'; an event
 * (new_issue, regression) is a notification, stored 'notified' and never fires or resolves,
 * so the firing list holds only what is wrong now. */
#include "alerts/alerts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/outbox.h"

alert_sink *alert_sink_new(double digest_window) {
  alert_sink *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->digest_window = digest_window;
  pthread_mutex_init(&s->mu, NULL);
  return s;
}

void alert_sink_set_kick(alert_sink *s, uv_async_t *kick) {
  pthread_mutex_lock(&s->mu);
  s->kick = kick;
  pthread_mutex_unlock(&s->mu);
}

void alert_sink_free(alert_sink *s) {
  if (!s) return;
  pthread_mutex_destroy(&s->mu);
  free(s);
}

/* Queues the deliveries of r and wakes the delivery loop when there are any. */
static int notify(store_tx *tx, alert_sink *s, const alert_record *r) {
  int n = 0;
  int rc = outbox_enqueue_alert(tx, r, s ? s->digest_window : 0, &n);
  if (rc != STORE_OK || n == 0 || !s) return rc;
  pthread_mutex_lock(&s->mu);
  if (s->kick) uv_async_send(s->kick);
  pthread_mutex_unlock(&s->mu);
  return STORE_OK;
}

/* Kinds that are states (fire, then resolve); every other kind is a notification. */
static const char *const state_kinds[] = {"memory_leak"};

static const char *status_for(const char *kind) {
  for (size_t i = 0; i < sizeof state_kinds / sizeof state_kinds[0]; i++)
    if (!strcmp(kind, state_kinds[i])) return "firing";
  return "notified";
}

int alerts_fire(store_tx *tx, alert_sink *s, const store_alert *a, int64_t *id) {
  int64_t aid = 0;
  store_alert row = *a;
  row.status = status_for(a->kind);
  int rc = tx->ops->alert_insert(tx, &row, &aid);
  if (rc != STORE_OK) return rc;
  if (id) *id = aid;
  alert_record r = {aid,         a->project_id, a->kind,    a->worker_id,
                    a->issue_id, a->fired_at,   a->summary, a->details};
  return notify(tx, s, &r);
}

int alerts_resolve(store_tx *tx, alert_sink *s, int64_t project_id, const char *kind,
                   const char *worker_id, int64_t issue_id, double at, const char *summary,
                   const char *details) {
  int64_t first = 0;
  int n = 0;
  int rc = tx->ops->alerts_resolve(tx, project_id, kind, worker_id, issue_id, at, &first, &n);
  if (rc != STORE_OK || n == 0) return rc;
  char rkind[64];
  snprintf(rkind, sizeof rkind, "%s_resolved", kind);
  alert_record r = {first, project_id, rkind, worker_id, issue_id, at, summary, details};
  return notify(tx, s, &r);
}

/* Alert details carry what a notification shows: title, culprit, count, release, level. */
int alerts_for_issue(store_tx *tx, alert_sink *s, const store_event *e,
                     const store_issue_change *c) {
  const char *kind = c->created ? "new_issue" : c->regressed ? "regression" : NULL;
  if (!kind) return STORE_OK;
  json_t *details =
      json_pack("{s:I, s:s, s:s, s:s, s:I, s:s?, s:s?}", "issue_id", (json_int_t)c->issue_id,
                "title", e->title, "culprit", e->culprit, "level", e->level, "count",
                (json_int_t)c->count, "release", e->release, "environment", e->environment);
  char *text = details ? json_dumps(details, JSON_COMPACT) : NULL;
  json_decref(details);
  if (!text) return STORE_ENOMEM;
  char summary[600];
  snprintf(summary, sizeof summary, "%s: %.500s", c->created ? "New issue" : "Regression",
           e->title);
  store_alert a = {e->project_id, kind, NULL, c->issue_id, e->received, summary, text, NULL};
  int rc = alerts_fire(tx, s, &a, NULL);
  free(text);
  return rc;
}

int alerts_issue_closed(store_tx *tx, int64_t project_id, int64_t issue_id, double at) {
  int64_t first;
  int n;
  return tx->ops->alerts_resolve(tx, project_id, NULL, NULL, issue_id, at, &first, &n);
}
