/* alerts: raising and resolving alerts. Runs on the writer thread inside the transaction of the
 * data that raised the alert: the alert row and one outbox delivery per subscribed webhook
 * (alerts/outbox.h) commit together with it, and nothing is sent before they did. Then the
 * sink wakes the delivery loop. Decides which alerts a stored event raises (a new issue, a
 * regression) and what they say. */
#ifndef SLUICE_ALERTS_H
#define SLUICE_ALERTS_H
#include <pthread.h>
#include <stdint.h>
#include <uv.h>

#include "store.h"

/* Shared by the loop thread (delivery) and the writer thread (jobs that raise alerts); every
 * field is set at start-up, except kick, which is guarded by mu. */
typedef struct alert_sink {
  double digest_window; /* seconds; new_issue rows within it wait and go out as one digest */
  pthread_mutex_t mu;
  uv_async_t *kick; /* wakes the delivery loop when rows were added; NULL when none runs */
} alert_sink;

/* An alert as the outbox sees it (resolutions have kind "<kind>_resolved"). */
typedef struct alert_record {
  int64_t id;
  int64_t project_id;
  const char *kind;
  const char *worker_id; /* NULL for issue alerts */
  int64_t issue_id;      /* 0 for worker alerts */
  double at;             /* fired_at, or resolved_at for a resolution */
  const char *summary;
  const char *details; /* JSON text */
} alert_record;

alert_sink *alert_sink_new(double digest_window);
/* Any thread: who to wake from now on (NULL: nobody). */
void alert_sink_set_kick(alert_sink *s, uv_async_t *kick);
void alert_sink_free(alert_sink *s);

/* Inserts an alert and queues its deliveries; *id receives its id (may be NULL). The status
 * follows the kind (a->status is ignored): "firing" for a state (memory_leak), "notified" for
 * an event (new_issue, regression), which never fires and is never resolved. */
int alerts_fire(store_tx *tx, alert_sink *s, const store_alert *a, int64_t *id);
/* Resolves the firing alerts of kind for a worker or an issue at time at and, when any was
 * firing, queues "<kind>_resolved" deliveries with summary and details. */
int alerts_resolve(store_tx *tx, alert_sink *s, int64_t project_id, const char *kind,
                   const char *worker_id, int64_t issue_id, double at, const char *summary,
                   const char *details);
/* The alert storing e raised, if any: new_issue for a new issue, regression for one that was
 * resolved. */
int alerts_for_issue(store_tx *tx, alert_sink *s, const store_event *e,
                     const store_issue_change *c);
/* An issue's status changed by hand: resolving or ignoring closes its firing alerts silently
 * (only leaks notify on resolution). Issue alerts are notifications today, so this finds none
 * unless a state alert about an issue is added. */
int alerts_issue_closed(store_tx *tx, int64_t project_id, int64_t issue_id, double at);

#endif
