/* outbox: the delivery rules above the store's rows. Writer thread, inside the caller's
 * transaction; never commits. */
#include "alerts/outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/crypto.h"
#include "util/hex.h"
#include "util/timefmt.h"

#define DIGEST_MAX  200 /* new_issue rows merged into one digest at most */
#define ENQUEUE_MAX 64  /* webhooks notified per alert at most */

/* A webhook-id: "msg_" and 32 random hex digits, the same on every attempt. */
static int new_msg_id(char out[STORE_MSGID_MAX]) {
  uint8_t raw[16];
  if (random_bytes(raw, sizeof raw)) return STORE_EIO;
  memcpy(out, "msg_", 4);
  hex_encode(raw, sizeof raw, out + 4);
  return STORE_OK;
}

static int insert(store_tx *tx, store_delivery *d, int64_t *id, char msg_id[STORE_MSGID_MAX]) {
  char mine[STORE_MSGID_MAX];
  char *m = msg_id ? msg_id : mine;
  int rc = new_msg_id(m);
  if (rc != STORE_OK) return rc;
  d->msg_id = m;
  return tx->ops->delivery_insert(tx, d, id);
}

/* The alert as stored in a delivery row: what the message builders need, nothing else. */
static char *alert_data(store_tx *tx, const alert_record *a) {
  json_error_t jerr;
  json_t *details = a->details ? json_loads(a->details, 0, &jerr) : NULL;
  if (!json_is_object(details)) {
    json_decref(details);
    details = json_object();
  }
  char name[256] = "";
  if (tx->ops->project_name(tx, a->project_id, name, sizeof name) != STORE_OK) name[0] = '\0';
  json_t *doc =
      json_pack("{s:I, s:I, s:s, s:s, s:s, s:f, s:o}", "alert_id", (json_int_t)a->id, "project_id",
                (json_int_t)a->project_id, "project_name", name, "kind", a->kind, "summary",
                a->summary ? a->summary : "", "at", a->at, "details", details);
  if (!doc) return NULL;
  if (a->worker_id) json_object_set_new(doc, "worker_id", json_string(a->worker_id));
  if (a->issue_id > 0) json_object_set_new(doc, "issue_id", json_integer(a->issue_id));
  char *text = json_dumps(doc, JSON_COMPACT);
  json_decref(doc);
  return text;
}

int outbox_enqueue_alert(store_tx *tx, const alert_record *a, double digest_window, int *written) {
  *written = 0;
  unsigned bit = store_event_bit(a->kind);
  if (!bit) return STORE_OK;
  int64_t ids[ENQUEUE_MAX];
  size_t n = 0;
  int rc = tx->ops->webhooks_subscribed(tx, a->project_id, bit, ids, ENQUEUE_MAX, &n);
  if (rc != STORE_OK || n == 0) return rc;
  char *data = alert_data(tx, a);
  if (!data) return STORE_ENOMEM;
  double now = time_wall();
  static const char *const digestible[] = {"new_issue", "new_issue_digest"};
  int is_new_issue = !strcmp(a->kind, "new_issue");
  for (size_t i = 0; i < n && rc == STORE_OK; i++) {
    double due = now;
    int recent = 0;
    if (is_new_issue && digest_window > 0) {
      rc = tx->ops->delivery_recent(tx, ids[i], digestible, 2, now - digest_window, &recent);
      if (rc != STORE_OK) break;
      if (recent) due = now + digest_window;
    }
    store_delivery d = {ids[i], a->project_id, a->id, a->kind, NULL, data, "pending", now, due};
    rc = insert(tx, &d, NULL, NULL);
    if (rc == STORE_OK) ++*written;
  }
  free(data);
  return rc;
}

int outbox_enqueue_test(store_tx *tx, int64_t webhook_id, double now, int64_t *delivery_id,
                        char msg_id[STORE_MSGID_MAX]) {
  int64_t project_id = 0;
  int disabled = 0;
  int rc = tx->ops->webhook_get(tx, webhook_id, &project_id, &disabled);
  if (rc != STORE_OK) return rc;
  if (disabled) return STORE_ECONFLICT;
  json_t *data = json_pack("{s:I, s:I, s:s, s:f}", "project_id", (json_int_t)project_id,
                           "webhook_id", (json_int_t)webhook_id, "message",
                           "This is a test message from sluice.", "at", now);
  char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
  json_decref(data);
  if (!text) return STORE_ENOMEM;
  store_delivery d = {webhook_id, project_id, 0, "test", NULL, text, "pending", now, now};
  rc = insert(tx, &d, delivery_id, msg_id);
  free(text);
  return rc;
}

/* --- claiming ------------------------------------------------------------------------------- */

typedef struct digest {
  int64_t ids[DIGEST_MAX];
  size_t n;
  int64_t project_id;
  char project_name[256];
  json_t *issues;
} digest;

static int collect(void *ctx, int64_t id, const char *data) {
  digest *g = ctx;
  if (g->n == DIGEST_MAX) return 1;
  g->ids[g->n++] = id;
  json_error_t jerr;
  json_t *item = data ? json_loads(data, 0, &jerr) : NULL;
  if (!item) return 0;
  const char *pn = json_string_value(json_object_get(item, "project_name"));
  if (pn) snprintf(g->project_name, sizeof g->project_name, "%s", pn);
  json_int_t pid = json_integer_value(json_object_get(item, "project_id"));
  if (pid > 0) g->project_id = pid;
  return json_array_append_new(g->issues, item) ? STORE_ENOMEM : 0;
}

/* Merges the never-tried new_issue rows of a webhook into a new digest row (status 'sending');
 * *id becomes the digest's id. Leaves *id alone when there is only one row. */
static int make_digest(store_tx *tx, int64_t webhook_id, int64_t project_id, double now,
                       int64_t *id) {
  digest *g = calloc(1, sizeof *g);
  if (!g || !(g->issues = json_array())) {
    free(g);
    return STORE_ENOMEM;
  }
  g->project_id = project_id;
  int rc = tx->ops->deliveries_pending(tx, webhook_id, "new_issue", DIGEST_MAX, collect, g);
  if (rc == STORE_OK && g->n >= 2) {
    json_t *doc = json_pack("{s:I, s:s, s:I, s:f, s:O}", "project_id", (json_int_t)g->project_id,
                            "project_name", g->project_name, "count", (json_int_t)g->n, "at", now,
                            "issues", g->issues);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    int64_t digest_id = 0;
    store_delivery d = {webhook_id, g->project_id, 0,  "new_issue_digest", NULL, text,
                        "sending",  now,           now};
    rc = text ? insert(tx, &d, &digest_id, NULL) : STORE_ENOMEM;
    free(text);
    if (rc == STORE_OK)
      rc = tx->ops->deliveries_set_status(tx, g->ids, g->n, "digested", digest_id);
    if (rc == STORE_OK) *id = digest_id;
  }
  json_decref(g->issues);
  free(g);
  return rc;
}

int outbox_claim(store_tx *tx, double now, const int64_t *exclude, size_t n_exclude, size_t max,
                 store_item *out, size_t *n) {
  *n = 0;
  if (max == 0) return STORE_OK;
  store_due *due = calloc(max, sizeof *due);
  if (!due) return STORE_ENOMEM;
  size_t nd = 0;
  int rc = tx->ops->deliveries_due(tx, now, exclude, n_exclude, max, due, &nd);
  for (size_t i = 0; i < nd && rc == STORE_OK; i++) {
    int64_t id = due[i].id;
    if (due[i].digestible) {
      int64_t project_id = 0;
      int disabled;
      rc = tx->ops->webhook_get(tx, due[i].webhook_id, &project_id, &disabled);
      if (rc == STORE_OK) rc = make_digest(tx, due[i].webhook_id, project_id, now, &id);
    }
    if (rc == STORE_OK && id == due[i].id)
      rc = tx->ops->deliveries_set_status(tx, &id, 1, "sending", 0);
    if (rc == STORE_OK) rc = tx->ops->delivery_load(tx, id, &out[*n]);
    if (rc == STORE_OK) ++*n;
  }
  if (rc != STORE_OK) {
    for (size_t i = 0; i < *n; i++) store_item_clear(&out[i]);
    *n = 0;
  }
  free(due);
  return rc;
}
