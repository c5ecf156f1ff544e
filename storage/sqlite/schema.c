/* schema: every migration, oldest first: SQL text, plus a C step for the rare change SQL
 * cannot express. Times are REAL Unix seconds (UTC); event ids are 16-byte BLOBs; raw payloads
 * are stored as received (decoded JSON bytes). */
#include "sqlite/schema.h"

#include "sqlite/chunks.h"
#include "sqlite/sqlite_int.h"

const schema_migration schema_migrations[] = {
    /* 1: projects, issues, events and the other Sentry item types. */
    {"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
     "CREATE TABLE projects("
     "  id INTEGER PRIMARY KEY, name TEXT NOT NULL, public_key TEXT NOT NULL UNIQUE,"
     "  created_at REAL NOT NULL, rate_limit_per_minute INTEGER);"
     "CREATE TABLE issues("
     "  id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL REFERENCES projects(id),"
     "  fingerprint TEXT NOT NULL, title TEXT NOT NULL, culprit TEXT NOT NULL,"
     "  level TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'unresolved',"
     "  count INTEGER NOT NULL DEFAULT 0, first_seen REAL NOT NULL, last_seen REAL NOT NULL,"
     "  first_release TEXT, last_release TEXT, UNIQUE(project_id, fingerprint));"
     "CREATE INDEX issues_last_seen ON issues(project_id, last_seen, id);"
     "CREATE INDEX issues_first_seen ON issues(project_id, first_seen, id);"
     "CREATE INDEX issues_count ON issues(project_id, count, id);"
     "CREATE TABLE events("
     "  id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, issue_id INTEGER NOT NULL,"
     "  event_id BLOB NOT NULL, timestamp REAL NOT NULL, received REAL NOT NULL,"
     "  level TEXT NOT NULL, release TEXT, environment TEXT, payload BLOB NOT NULL);"
     "CREATE UNIQUE INDEX events_event_id ON events(project_id, event_id);"
     "CREATE INDEX events_issue ON events(issue_id, id);"
     "CREATE INDEX events_received ON events(received);"
     "CREATE TABLE issue_hours(issue_id INTEGER NOT NULL, hour INTEGER NOT NULL,"
     "  count INTEGER NOT NULL, PRIMARY KEY(issue_id, hour)) WITHOUT ROWID;"
     "CREATE TABLE transactions("
     "  id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, event_id BLOB NOT NULL,"
     "  name TEXT, timestamp REAL NOT NULL, received REAL NOT NULL, payload BLOB NOT NULL);"
     "CREATE UNIQUE INDEX transactions_event_id ON transactions(project_id, event_id);"
     "CREATE TABLE sessions("
     "  project_id INTEGER NOT NULL, sid TEXT NOT NULL, release TEXT NOT NULL,"
     "  environment TEXT NOT NULL, status TEXT NOT NULL, errors INTEGER NOT NULL,"
     "  started REAL NOT NULL, updated REAL NOT NULL, PRIMARY KEY(project_id, sid)) WITHOUT ROWID;"
     "CREATE TABLE session_aggregates("
     "  project_id INTEGER NOT NULL, release TEXT NOT NULL, environment TEXT NOT NULL,"
     "  healthy INTEGER NOT NULL DEFAULT 0, errored INTEGER NOT NULL DEFAULT 0,"
     "  crashed INTEGER NOT NULL DEFAULT 0, abnormal INTEGER NOT NULL DEFAULT 0,"
     "  PRIMARY KEY(project_id, release, environment)) WITHOUT ROWID;"
     "CREATE TABLE dropped_events("
     "  project_id INTEGER NOT NULL, reason TEXT NOT NULL, category TEXT NOT NULL,"
     "  quantity INTEGER NOT NULL, PRIMARY KEY(project_id, reason, category)) WITHOUT ROWID;"
     "CREATE TABLE attachments("
     "  id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, event_id BLOB,"
     "  filename TEXT NOT NULL, content_type TEXT, size INTEGER NOT NULL, data BLOB NOT NULL,"
     "  received REAL NOT NULL);"
     "CREATE INDEX attachments_event ON attachments(project_id, event_id);"
     "CREATE TABLE alerts("
     "  id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, kind TEXT NOT NULL,"
     "  status TEXT NOT NULL, worker_id TEXT, issue_id INTEGER, fired_at REAL NOT NULL,"
     "  resolved_at REAL, summary TEXT NOT NULL, details TEXT NOT NULL);"
     "CREATE INDEX alerts_project ON alerts(project_id, id);"
     "CREATE INDEX alerts_worker ON alerts(project_id, worker_id, status);",
     NULL},

    /* 2: memory time series. Workers get an integer id so sample rows stay small; raw samples,
     * per-minute and per-hour rollups (min, max, sum/n) are keyed by (worker, time). */
    {"CREATE TABLE workers("
     "  id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, name TEXT NOT NULL,"
     "  host TEXT, service TEXT, release TEXT, pid INTEGER, started_at REAL,"
     "  memory_limit_bytes INTEGER, first_seen REAL NOT NULL, last_seen REAL NOT NULL,"
     "  rss_bytes INTEGER, state TEXT NOT NULL DEFAULT 'insufficient_data',"
     "  slope_bytes_per_hour REAL, confidence REAL, projected_limit_at REAL,"
     "  UNIQUE(project_id, name));"
     /* Kept apart from the workers row, which is updated on every batch: SQLite rewrites a whole
      * record, overflow pages included, on any UPDATE. */
     "CREATE TABLE worker_detectors("
     "  worker INTEGER PRIMARY KEY, fed_ts REAL NOT NULL, state BLOB NOT NULL);"
     "CREATE TABLE worker_allocations("
     "  worker INTEGER PRIMARY KEY, baseline TEXT, latest TEXT);"
     "CREATE TABLE worker_lives("
     "  worker INTEGER NOT NULL, first_ts REAL NOT NULL, last_ts REAL NOT NULL,"
     "  pid INTEGER, started_at REAL, PRIMARY KEY(worker, first_ts)) WITHOUT ROWID;"
     "CREATE TABLE samples("
     "  worker INTEGER NOT NULL, ts REAL NOT NULL, rss INTEGER NOT NULL, heap INTEGER,"
     "  pss INTEGER, uss INTEGER, requests INTEGER, PRIMARY KEY(worker, ts)) WITHOUT ROWID;"
     "CREATE TABLE rollup_minute("
     "  worker INTEGER NOT NULL, t INTEGER NOT NULL, n INTEGER NOT NULL, rss_min INTEGER NOT NULL,"
     "  rss_max INTEGER NOT NULL, rss_sum REAL NOT NULL, PRIMARY KEY(worker, t)) WITHOUT ROWID;"
     "CREATE TABLE rollup_hour("
     "  worker INTEGER NOT NULL, t INTEGER NOT NULL, n INTEGER NOT NULL, rss_min INTEGER NOT NULL,"
     "  rss_max INTEGER NOT NULL, rss_sum REAL NOT NULL, PRIMARY KEY(worker, t)) WITHOUT ROWID;",
     NULL},

    /* 3: webhooks and their durable outbox. A delivery row is one message to one webhook
     * (status pending|sending|delivered|failed|digested|cancelled); every attempt is logged.
     * events is a bit mask (outbox.h). */
    {"CREATE TABLE webhooks("
     "  id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, url TEXT NOT NULL,"
     "  kind TEXT NOT NULL, events INTEGER NOT NULL, secret TEXT, created_at REAL NOT NULL,"
     "  disabled_at REAL, disabled_reason TEXT);"
     "CREATE INDEX webhooks_project ON webhooks(project_id, id);"
     "CREATE TABLE deliveries("
     "  id INTEGER PRIMARY KEY, webhook_id INTEGER NOT NULL, project_id INTEGER NOT NULL,"
     "  alert_id INTEGER, event TEXT NOT NULL, msg_id TEXT NOT NULL, data TEXT NOT NULL,"
     "  status TEXT NOT NULL, created_at REAL NOT NULL, next_attempt_at REAL,"
     "  attempts INTEGER NOT NULL DEFAULT 0, last_status_code INTEGER, last_error TEXT,"
     "  delivered_at REAL, digest_id INTEGER);"
     "CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE status='pending';"
     "CREATE INDEX deliveries_webhook ON deliveries(webhook_id, created_at);"
     "CREATE INDEX deliveries_created ON deliveries(created_at);"
     "CREATE TABLE delivery_attempts("
     "  id INTEGER PRIMARY KEY, delivery_id INTEGER NOT NULL, webhook_id INTEGER NOT NULL,"
     "  attempt INTEGER NOT NULL, at REAL NOT NULL, duration_ms INTEGER NOT NULL,"
     "  status_code INTEGER, outcome TEXT NOT NULL, error TEXT, next_attempt_at REAL);"
     "CREATE INDEX delivery_attempts_delivery ON delivery_attempts(delivery_id, id);"
     "CREATE INDEX delivery_attempts_webhook ON delivery_attempts(webhook_id);"
     "CREATE INDEX delivery_attempts_at ON delivery_attempts(at);",
     NULL},

    /* 4: retention reads events by id order, so the per-event time index goes; sessions and
     * hourly counts get time indexes so their retention never scans. */
    {"DROP INDEX events_received;"
     "CREATE INDEX sessions_updated ON sessions(updated);"
     "CREATE INDEX issue_hours_hour ON issue_hours(hour);",
     NULL},

    /* 5: raw samples move into chunks, one row per worker and batch holding the batch's samples
     * in a compact blob (storage/memchunk.c); key and reads: storage/sqlite/chunks.h. The rows of
     * the old table are packed by C code, which then drops the table. */
    {"CREATE TABLE sample_chunks("
     "  worker INTEGER NOT NULL, t1 REAL NOT NULL, t0 REAL NOT NULL, n INTEGER NOT NULL,"
     "  data BLOB NOT NULL, PRIMARY KEY(worker, t1)) WITHOUT ROWID;",
     chunks_migrate_samples},

    /* 6: minute-level views read the raw chunks; only hourly rollups are kept (they outlive the
     * raw samples), so a batch costs one rollup upsert per hour it touches. */
    {"DROP TABLE rollup_minute;", NULL},

    /* 7: hour rollups are laid out in the order their rows are created (rowid), which is hour
     * by hour, instead of worker by worker: the upserts of one commit, one per worker in the
     * current hour, then land on a few shared pages rather than one page per worker. The
     * (worker, t) index finds a row; an upsert that only changes the sums leaves it alone. */
    {"CREATE TABLE rollup_hour_by_time("
     "  id INTEGER PRIMARY KEY, worker INTEGER NOT NULL, t INTEGER NOT NULL, n INTEGER NOT NULL,"
     "  rss_min INTEGER NOT NULL, rss_max INTEGER NOT NULL, rss_sum REAL NOT NULL,"
     "  UNIQUE(worker, t));"
     "INSERT INTO rollup_hour_by_time(worker, t, n, rss_min, rss_max, rss_sum)"
     "  SELECT worker, t, n, rss_min, rss_max, rss_sum FROM rollup_hour ORDER BY t, worker;"
     "DROP TABLE rollup_hour;"
     "ALTER TABLE rollup_hour_by_time RENAME TO rollup_hour;",
     NULL},

    /* 8: project names are unique, ignoring the case of ASCII letters (index projects_name).
     * Databases made before may hold duplicates: the C step renames every later one (by id) to
     * "name (2)", "name (3)", ... (the first free one) before it creates the index, and logs
     * each rename. Deleted projects are remembered in deleted_projects until their data is
     * purged in batches (purged_at set); their ids are not given out again. */
    {"CREATE TABLE deleted_projects("
     "  id INTEGER PRIMARY KEY, deleted_at REAL NOT NULL, purged_at REAL);",
     sq_projects_unique_names},

    /* 9: new_issue and regression alerts are notifications, not states: status 'notified' (no
     * resolution), so only state alerts (memory_leak) fire and resolve. Rows stored before were
     * 'firing' until their issue was resolved by hand; all of them become notifications. */
    {"UPDATE alerts SET status='notified', resolved_at=NULL"
     "  WHERE kind IN ('new_issue', 'regression');",
     NULL},
};

const int schema_migration_count = (int)(sizeof schema_migrations / sizeof schema_migrations[0]);
