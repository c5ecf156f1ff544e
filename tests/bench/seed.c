/* seed: fills a sluice database (already migrated by the server, which must be stopped) with
 * scale-test data straight through SQLite: N events spread over M issues (a skewed count
 * distribution, timestamps over the last 30 days, issue_hours to match) and W workers with raw
 * samples every 30 s for the raw-retention window (packed by storage/memchunk.c, one chunk per
 * 10 minutes) plus per-minute and per-hour rollups for the rollup window. Rows match
 * storage/sqlite/schema.c; payloads are a small valid event JSON, not a captured one, so the file
 * stays around a gigabyte. seed DB PROJECT_ID EVENTS ISSUES WORKERS RAW_DAYS ROLLUP_DAYS */
#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "memchunk.h"

#define HOURS_KEPT (24 * 31)

static sqlite3 *h;

static void die(const char *what) {
  fprintf(stderr, "seed: %s: %s\n", what, sqlite3_errmsg(h));
  exit(1);
}

static void exec(const char *sql) {
  if (sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK) die(sql);
}

static sqlite3_stmt *prep(const char *sql) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) != SQLITE_OK) die(sql);
  return s;
}

static void step(sqlite3_stmt *s) {
  if (sqlite3_step(s) != SQLITE_DONE) die("step");
  sqlite3_reset(s);
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t next_u64(void) { /* xorshift64* */
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 2685821657736338717ULL;
}
static double next_unit(void) {
  return (double)(next_u64() >> 11) / 9007199254740992.0;
}

static long arg_long(const char *s) {
  char *end;
  long v = strtol(s, &end, 10);
  if (end == s || *end || v < 0) {
    fprintf(stderr, "seed: bad number \"%s\"\n", s);
    exit(2);
  }
  return v;
}

typedef struct issue {
  int64_t count;
  double first, last;
} issue;

static void seed_events(int64_t project, long n_events, long n_issues, double now) {
  static const char *const levels[] = {"error", "error", "error", "warning", "fatal"};
  issue *is = calloc((size_t)n_issues, sizeof *is);
  int32_t *hours = calloc((size_t)n_issues * HOURS_KEPT, sizeof *hours);
  if (!is || !hours) exit(3);
  int64_t first_issue = 0;
  sqlite3_stmt *s = prep("SELECT coalesce(max(id), 0) FROM issues");
  if (sqlite3_step(s) == SQLITE_ROW) first_issue = sqlite3_column_int64(s, 0) + 1;
  sqlite3_finalize(s);

  /* Events in time order over 30 days; the issue is Zipf-like (issue k ~ 1/(k+1)). */
  double span = 30 * 86400.0, t0 = now - span;
  double hn = log((double)n_issues + 1.0);
  sqlite3_stmt *ev = prep("INSERT INTO events(project_id, issue_id, event_id, timestamp, received,"
                          " level, release, environment, payload) VALUES(?,?,?,?,?,?,?,?,?)");
  char payload[1200];
  exec("BEGIN");
  for (long i = 0; i < n_events; i++) {
    double ts = t0 + span * (double)i / (double)n_events;
    long k = (long)floor(exp(next_unit() * hn)) - 1;
    if (k < 0) k = 0;
    if (k >= n_issues) k = n_issues - 1;
    issue *x = &is[k];
    if (!x->count) x->first = ts;
    x->count++;
    x->last = ts;
    long hour_ago = (long)((now - ts) / 3600.0);
    if (hour_ago < HOURS_KEPT) hours[k * HOURS_KEPT + hour_ago]++;
    uint64_t id[2] = {next_u64(), next_u64()};
    char hex[33];
    snprintf(hex, sizeof hex, "%016llx%016llx", (unsigned long long)id[0],
             (unsigned long long)id[1]);
    int plen = snprintf(payload, sizeof payload,
                        "{\"event_id\":\"%s\",\"timestamp\":%.3f,\"level\":\"error\",\"platform\":"
                        "\"node\",\"release\":\"api@2.0.%ld\",\"environment\":\"production\","
                        "\"exception\":{\"values\":[{\"type\":\"TypeError\",\"value\":\"seeded "
                        "error %ld\",\"stacktrace\":{\"frames\":[{\"filename\":\"/srv/app/"
                        "module_%ld.js\",\"function\":\"handler%ld\",\"lineno\":%ld,\"colno\":17,"
                        "\"in_app\":true},{\"filename\":\"/srv/app/node_modules/express/lib/"
                        "router/layer.js\",\"function\":\"Layer.handle\",\"lineno\":95,\"colno\":"
                        "5,\"in_app\":false}]}}]},\"tags\":{\"route\":\"/orders/:id\",\"region\":"
                        "\"eu-west-1\"},\"user\":{\"id\":\"%llu\"},\"contexts\":{\"runtime\":{"
                        "\"name\":\"node\",\"version\":\"v20.11.1\"},\"os\":{\"name\":\"Linux\"}},"
                        "\"breadcrumbs\":{\"values\":[{\"timestamp\":%.3f,\"category\":\"http\","
                        "\"message\":\"GET /orders/%ld -> 200\"}]}}",
                        hex, ts, i % 40, k, k % 97, k, 10 + k % 300,
                        (unsigned long long)(next_u64() % 100000), ts - 1.5, i);
    sqlite3_bind_int64(ev, 1, project);
    sqlite3_bind_int64(ev, 2, first_issue + k);
    sqlite3_bind_blob(ev, 3, id, 16, SQLITE_STATIC);
    sqlite3_bind_double(ev, 4, ts);
    sqlite3_bind_double(ev, 5, ts + 0.05);
    sqlite3_bind_text(ev, 6, levels[k % 5], -1, SQLITE_STATIC);
    char rel[32];
    snprintf(rel, sizeof rel, "api@2.0.%ld", i % 40);
    sqlite3_bind_text(ev, 7, rel, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ev, 8, "production", -1, SQLITE_STATIC);
    sqlite3_bind_blob(ev, 9, payload, plen, SQLITE_STATIC);
    step(ev);
    if (i % 50000 == 49999) exec("COMMIT; BEGIN");
  }
  sqlite3_finalize(ev);

  sqlite3_stmt *ins = prep("INSERT INTO issues(id, project_id, fingerprint, title, culprit, level,"
                           " status, count, first_seen, last_seen, first_release, last_release)"
                           " VALUES(?,?,?,?,?,?,?,?,?,?,?,?)");
  sqlite3_stmt *hr = prep("INSERT INTO issue_hours(issue_id, hour, count) VALUES(?,?,?)");
  int64_t now_hour = (int64_t)floor(now / 3600.0);
  for (long k = 0; k < n_issues; k++) {
    issue *x = &is[k];
    if (!x->count) x->first = x->last = t0; /* an issue that drew no events keeps count 0 */
    char fp[64], title[160], culprit[120];
    snprintf(fp, sizeof fp, "seed-%ld", k);
    snprintf(title, sizeof title, "%s: seeded error %ld in %s", k % 3 ? "TypeError" : "KeyError", k,
             k % 7 ? "the checkout flow" : "payment webhook");
    snprintf(culprit, sizeof culprit, "handler%ld(/srv/app/module_%ld.js)", k, k % 97);
    sqlite3_bind_int64(ins, 1, first_issue + k);
    sqlite3_bind_int64(ins, 2, project);
    sqlite3_bind_text(ins, 3, fp, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 4, title, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 5, culprit, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 6, levels[k % 5], -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 7, k % 10 == 9 ? "resolved" : "unresolved", -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 8, x->count);
    sqlite3_bind_double(ins, 9, x->first);
    sqlite3_bind_double(ins, 10, x->last);
    sqlite3_bind_text(ins, 11, "api@2.0.0", -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 12, "api@2.0.39", -1, SQLITE_STATIC);
    step(ins);
    for (long hgo = HOURS_KEPT - 1; hgo >= 0; hgo--) {
      int32_t c = hours[k * HOURS_KEPT + hgo];
      if (!c) continue;
      sqlite3_bind_int64(hr, 1, first_issue + k);
      sqlite3_bind_int64(hr, 2, now_hour - hgo);
      sqlite3_bind_int64(hr, 3, c);
      step(hr);
    }
  }
  exec("COMMIT");
  sqlite3_finalize(ins);
  sqlite3_finalize(hr);
  free(is);
  free(hours);
}

/* RSS of worker w at time t: a base, a slow climb for every fourth worker, a daily wave. */
static int64_t rss_at(long w, double t, double t0) {
  double base = 180e6 + 2e6 * (double)w;
  double climb = (w % 4 == 0) ? (t - t0) / 3600.0 * 150e3 : 0;
  double wave = 8e6 * sin(t / 86400.0 * 2 * M_PI + (double)w);
  return (int64_t)(base + climb + wave);
}

/* Writes chunk[0..*nc) as one sample_chunks row and empties it. */
static void put_chunk(sqlite3_stmt *s, int64_t wid, const memchunk_sample *chunk, size_t *nc) {
  unsigned char blob[MEMCHUNK_MAX_BYTES];
  size_t len;
  if (memchunk_encode(chunk, *nc, blob, sizeof blob, &len)) {
    fprintf(stderr, "seed: cannot encode a chunk of %zu samples\n", *nc);
    exit(1);
  }
  sqlite3_bind_int64(s, 1, wid);
  sqlite3_bind_double(s, 2, chunk[*nc - 1].ts);
  sqlite3_bind_double(s, 3, chunk[0].ts);
  sqlite3_bind_int64(s, 4, (int64_t)*nc);
  sqlite3_bind_blob(s, 5, blob, (int)len, SQLITE_STATIC);
  step(s);
  *nc = 0;
}

static void seed_workers(int64_t project, long n_workers, double raw_days, double rollup_days,
                         double now) {
  double t_roll = floor((now - rollup_days * 86400.0) / 3600.0) * 3600.0;
  double t_raw = floor((now - raw_days * 86400.0 + 60.0) / 60.0) * 60.0;
  sqlite3_stmt *wk = prep("INSERT INTO workers(project_id, name, host, service, release, pid,"
                          " started_at, memory_limit_bytes, first_seen, last_seen, rss_bytes,"
                          " state) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)");
  sqlite3_stmt *life = prep("INSERT INTO worker_lives(worker, first_ts, last_ts, pid, started_at)"
                            " VALUES(?,?,?,?,?)");
  sqlite3_stmt *chk = prep("INSERT INTO sample_chunks(worker, t1, t0, n, data) VALUES(?,?,?,?,?)");
  sqlite3_stmt *rh = prep("INSERT INTO rollup_hour(worker, t, n, rss_min, rss_max, rss_sum)"
                          " VALUES(?,?,?,?,?,?)");
  for (long w = 0; w < n_workers; w++) {
    exec("BEGIN");
    char name[64], host[32];
    snprintf(name, sizeof name, "web-%ld/gunicorn-%ld", w / 8, w % 8);
    snprintf(host, sizeof host, "web-%ld", w / 8);
    double last = floor(now / 30.0) * 30.0;
    sqlite3_bind_int64(wk, 1, project);
    sqlite3_bind_text(wk, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(wk, 3, host, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(wk, 4, "shop", -1, SQLITE_STATIC);
    sqlite3_bind_text(wk, 5, "shop@1.4.2", -1, SQLITE_STATIC);
    sqlite3_bind_int64(wk, 6, 4000 + w);
    sqlite3_bind_double(wk, 7, t_roll);
    sqlite3_bind_int64(wk, 8, 2000000000LL);
    sqlite3_bind_double(wk, 9, t_roll);
    sqlite3_bind_double(wk, 10, last);
    sqlite3_bind_int64(wk, 11, rss_at(w, last, t_roll));
    sqlite3_bind_text(wk, 12, w % 4 == 0 ? "leaking" : "ok", -1, SQLITE_STATIC);
    step(wk);
    int64_t wid = sqlite3_last_insert_rowid(h);
    sqlite3_bind_int64(life, 1, wid);
    sqlite3_bind_double(life, 2, t_roll);
    sqlite3_bind_double(life, 3, last);
    sqlite3_bind_int64(life, 4, 4000 + w);
    sqlite3_bind_double(life, 5, t_roll);
    step(life);
    /* Every 30 s from t_roll to now: rollups always, raw samples inside the raw window. */
    int64_t ht = -1, hmn = 0, hmx = 0, hn = 0;
    double hsum = 0;
    memchunk_sample chunk[MEMCHUNK_MAX_SAMPLES];
    size_t nc = 0;
    for (double t = t_roll; t <= last; t += 30.0) {
      int64_t r = rss_at(w, t, t_roll);
      if (t >= t_raw) {
        chunk[nc++] = (memchunk_sample){t, r, -1, -1, -1, -1};
        if (t + 30.0 > last || fmod(t + 30.0, 600.0) == 0) put_chunk(chk, wid, chunk, &nc);
      }
      int64_t hh = (int64_t)floor(t / 3600.0) * 3600;
      if (hh != ht && hn) {
        sqlite3_bind_int64(rh, 1, wid);
        sqlite3_bind_int64(rh, 2, ht);
        sqlite3_bind_int64(rh, 3, hn);
        sqlite3_bind_int64(rh, 4, hmn);
        sqlite3_bind_int64(rh, 5, hmx);
        sqlite3_bind_double(rh, 6, hsum);
        step(rh);
        hn = 0;
      }
      if (!hn) ht = hh, hmn = hmx = r, hsum = 0;
      hn++, hsum += (double)r;
      if (r < hmn) hmn = r;
      if (r > hmx) hmx = r;
    }
    /* The open hour is written too, as the server's per-batch flush does. */
    if (hn) {
      sqlite3_bind_int64(rh, 1, wid);
      sqlite3_bind_int64(rh, 2, ht);
      sqlite3_bind_int64(rh, 3, hn);
      sqlite3_bind_int64(rh, 4, hmn);
      sqlite3_bind_int64(rh, 5, hmx);
      sqlite3_bind_double(rh, 6, hsum);
      step(rh);
    }
    exec("COMMIT");
  }
  sqlite3_finalize(wk);
  sqlite3_finalize(life);
  sqlite3_finalize(chk);
  sqlite3_finalize(rh);
  /* The server creates hour rows hour by hour, for every worker at once (schema migration 7):
   * lay the seeded rows out the same way, so the chart query reads them as it would live. */
  exec("BEGIN; CREATE TEMP TABLE hours AS SELECT worker, t, n, rss_min, rss_max, rss_sum"
       " FROM rollup_hour; DELETE FROM rollup_hour;"
       "INSERT INTO rollup_hour(worker, t, n, rss_min, rss_max, rss_sum)"
       " SELECT * FROM hours ORDER BY t, worker; DROP TABLE hours; COMMIT");
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: seed DB PROJECT_ID EVENTS ISSUES WORKERS RAW_DAYS ROLLUP_DAYS\n");
    return 2;
  }
  long project = arg_long(argv[2]), n_events = arg_long(argv[3]), n_issues = arg_long(argv[4]);
  long n_workers = arg_long(argv[5]), raw_days = arg_long(argv[6]), roll_days = arg_long(argv[7]);
  if (n_issues < 1) n_issues = 1;
  if (sqlite3_open(argv[1], &h) != SQLITE_OK) die("open");
  /* The file is scratch: no durability needed while seeding. */
  exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA cache_size=-200000");
  double now = (double)time(NULL);
  seed_events(project, n_events, n_issues, now);
  seed_workers(project, n_workers, (double)raw_days, (double)roll_days, now);
  exec("PRAGMA wal_checkpoint(TRUNCATE)");
  sqlite3_close(h);
  return 0;
}
