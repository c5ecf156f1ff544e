/* events_store: SQL for what the Sentry endpoints ingest: events grouped into issues,
 * transactions, release sessions, client reports, attachments. Writer thread only, inside
 * the writer's transaction. Payloads are stored as received; nothing is re-serialised. */
#ifndef SLUICE_EVENTS_STORE_H
#define SLUICE_EVENTS_STORE_H
#include <stddef.h>
#include <stdint.h>

#include "sqlite/db.h"

typedef struct stored_event {
  int64_t project_id;
  uint8_t event_id[16];
  double timestamp, received;
  const char *level, *release, *environment; /* release/environment may be NULL */
  const char *fingerprint, *title, *culprit;
  const char *payload;
  size_t len;
} stored_event;

/* Stores the event and counts it into its issue (creating the issue, or reopening a resolved
 * one as a regression, with an alert). Returns WRITER_OK, WRITER_DUPLICATE when the project
 * already has this event_id (nothing written), or WRITER_EIO. */
int store_event(db *d, const stored_event *e);

int store_transaction(db *d, int64_t project_id, const uint8_t event_id[16], const char *name,
                      double timestamp, double received, const char *payload, size_t len);

/* A single session update (status: ok|exited|crashed|abnormal|errored). */
int store_session(db *d, int64_t project_id, const char *sid, const char *release,
                  const char *environment, const char *status, int64_t errors, double started,
                  double updated);
/* Pre-aggregated session counts ("sessions" items). */
int store_session_aggregate(db *d, int64_t project_id, const char *release, const char *environment,
                            int64_t healthy, int64_t errored, int64_t crashed, int64_t abnormal);
int store_dropped(db *d, int64_t project_id, const char *reason, const char *category,
                  int64_t quantity);
int store_attachment(db *d, int64_t project_id, const uint8_t *event_id /* 16 or NULL */,
                     const char *filename, const char *content_type, const char *data, size_t len,
                     double received);

/* Creates a project; *id is the wanted id (0 = next free) and receives the new one. Returns 0,
 * WRITER_EINVAL when the id or key is taken, or WRITER_EIO. */
int store_project_create(db *d, const char *name, const char *public_key, double now, int64_t *id);
/* Sets an issue's status; resolving or ignoring also resolves its firing alerts. Returns 0,
 * WRITER_ENOTFOUND or WRITER_EIO. */
int store_issue_set_status(db *d, int64_t issue_id, const char *status, double now);
int store_project_set_rate_limit(db *d, int64_t project_id, int64_t per_minute);

#endif
