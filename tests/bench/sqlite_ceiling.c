/* sqlite_ceiling: the storage ceiling of this machine, for the benchmark table. Opens a fresh
 * database through storage/sqlite/db.c (the server's pragmas and migrations), then writes the rows
 * the server writes per request with statements prepared once, in transactions of BATCH
 * requests, and no HTTP, JSON, dedup lookup or savepoints:
 *   events:  per event, INSERT events (the captured payload, a random 16-byte id), UPDATE the
 *            issue's count and times, upsert issue_hours (one issue, as in case 1);
 *   samples: per batch of 20 samples of one worker (10 s apart, as in case 3), INSERT one
 *            sample_chunks row holding them, packed by storage/memchunk.c as the server
 *            does, and upsert the minute and hour rollups they touch.
 * Prints "CEILING events_per_s=... samples_per_s=...".
 *   sqlite_ceiling DB PAYLOAD_FILE SECONDS_PER_PART */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sqlite/db.h"
#include "memchunk.h"

#define BATCH 1000 /* requests per transaction; the writer batches up to 2000 under load */

static double now_mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned long long rng = 88172645463325252ULL;
static unsigned long long next_u64(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static void must(db *d, int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "sqlite_ceiling: %s: %s\n", what, sqlite3_errmsg(db_handle(d)));
    exit(1);
  }
}

static double run_events(db *d, const char *payload, size_t len, double seconds) {
  double t = (double)time(NULL);
  must(d,
       db_exec(d, "INSERT INTO projects(id, name, public_key, created_at)"
                  " VALUES(1, 'ceiling', 'k', 0);"
                  "INSERT INTO issues(id, project_id, fingerprint, title, culprit, level, count,"
                  " first_seen, last_seen) VALUES(1, 1, 'fp', 'TypeError: x', 'f(x.js)',"
                  " 'error', 0, 0, 0)") == SQLITE_OK,
       "setup");
  sqlite3_stmt *ev = db_stmt(d, "INSERT INTO events(project_id, issue_id, event_id, timestamp,"
                                " received, level, release, environment, payload)"
                                " VALUES(?,?,?,?,?,?,?,?,?)");
  sqlite3_stmt *is = db_stmt(d, "UPDATE issues SET count=count+1, last_seen=max(last_seen, ?1),"
                                " first_seen=min(first_seen, ?1), level=?2 WHERE id=?3");
  sqlite3_stmt *hr = db_stmt(d, "INSERT INTO issue_hours(issue_id, hour, count) VALUES(?,?,1)"
                                " ON CONFLICT(issue_id, hour) DO UPDATE SET count=count+1");
  must(d, ev && is && hr, "prepare");
  long n = 0;
  double t0 = now_mono(), el;
  do {
    must(d, db_exec(d, "BEGIN IMMEDIATE") == SQLITE_OK, "begin");
    for (int i = 0; i < BATCH; i++, n++) {
      unsigned long long id[2] = {next_u64(), next_u64()};
      sqlite3_reset(ev);
      sqlite3_bind_int64(ev, 1, 1);
      sqlite3_bind_int64(ev, 2, 1);
      sqlite3_bind_blob(ev, 3, id, 16, SQLITE_STATIC);
      sqlite3_bind_double(ev, 4, t);
      sqlite3_bind_double(ev, 5, t);
      sqlite3_bind_text(ev, 6, "error", -1, SQLITE_STATIC);
      sqlite3_bind_text(ev, 7, "api@2.0.0", -1, SQLITE_STATIC);
      sqlite3_bind_text(ev, 8, "staging", -1, SQLITE_STATIC);
      sqlite3_bind_blob(ev, 9, payload, (int)len, SQLITE_STATIC);
      must(d, sqlite3_step(ev) == SQLITE_DONE, "insert event");
      sqlite3_reset(is);
      sqlite3_bind_double(is, 1, t);
      sqlite3_bind_text(is, 2, "error", -1, SQLITE_STATIC);
      sqlite3_bind_int64(is, 3, 1);
      must(d, sqlite3_step(is) == SQLITE_DONE, "update issue");
      sqlite3_reset(hr);
      sqlite3_bind_int64(hr, 1, 1);
      sqlite3_bind_int64(hr, 2, (long long)floor(t / 3600.0));
      must(d, sqlite3_step(hr) == SQLITE_DONE, "issue_hours");
    }
    must(d, db_exec(d, "COMMIT") == SQLITE_OK, "commit");
  } while ((el = now_mono() - t0) < seconds);
  return (double)n / el;
}

static double run_samples(db *d, double seconds) {
  enum { WORKERS = 400, PER = 20 };
  double base = floor((double)time(NULL) - 6.5 * 86400.0);
  sqlite3_stmt *smp =
      db_stmt(d, "INSERT INTO sample_chunks(worker, t1, t0, n, data) VALUES(?,?,?,?,?)");
  static const char *const roll_sql[1] = {
      "INSERT INTO rollup_hour(worker, t, n, rss_min, rss_max, rss_sum) VALUES(?,?,?,?,?,?)"
      " ON CONFLICT(worker, t) DO UPDATE SET n=n+excluded.n, rss_min=min(rss_min,"
      " excluded.rss_min), rss_max=max(rss_max, excluded.rss_max), "
      "rss_sum=rss_sum+excluded.rss_sum",
  };
  sqlite3_stmt *roll[1] = {db_stmt(d, roll_sql[0])};
  must(d, smp && roll[0], "prepare");
  double ts[WORKERS];
  for (int w = 0; w < WORKERS; w++) ts[w] = base;
  long n = 0, req = 0;
  double t0 = now_mono(), el;
  do {
    must(d, db_exec(d, "BEGIN IMMEDIATE") == SQLITE_OK, "begin");
    for (int b = 0; b < BATCH; b++, req++) {
      int w = (int)(req % WORKERS);
      long long t_open[1] = {-1}, cnt[1] = {0}, mn[1] = {0}, mx[1] = {0};
      double sum[1] = {0};
      static const long long g[1] = {3600};
      memchunk_sample chunk[PER];
      for (int i = 0; i < PER; i++) {
        ts[w] += 10.0;
        chunk[i] = (memchunk_sample){ts[w], 100000000LL + (long long)(n + i) * 16, -1, -1, -1, -1};
      }
      unsigned char blob[MEMCHUNK_MAX_BYTES];
      size_t len;
      must(d, memchunk_encode(chunk, PER, blob, sizeof blob, &len) == 0, "encode");
      sqlite3_reset(smp);
      sqlite3_bind_int64(smp, 1, w + 1);
      sqlite3_bind_double(smp, 2, chunk[PER - 1].ts);
      sqlite3_bind_double(smp, 3, chunk[0].ts);
      sqlite3_bind_int64(smp, 4, PER);
      sqlite3_bind_blob(smp, 5, blob, (int)len, SQLITE_STATIC);
      must(d, sqlite3_step(smp) == SQLITE_DONE, "insert chunk");
      for (int i = 0; i <= PER; i++) {
        long long rss = 0, bucket[1] = {-2};
        if (i < PER) {
          rss = chunk[i].rss;
          n++;
          for (int r = 0; r < 1; r++)
            bucket[r] = (long long)floor(chunk[i].ts / (double)g[r]) * g[r];
        }
        for (int r = 0; r < 1; r++) { /* flush a finished hour, as memstore.c does */
          if (cnt[r] && bucket[r] != t_open[r]) {
            sqlite3_stmt *s = roll[r];
            sqlite3_reset(s);
            sqlite3_bind_int64(s, 1, w + 1);
            sqlite3_bind_int64(s, 2, t_open[r]);
            sqlite3_bind_int64(s, 3, cnt[r]);
            sqlite3_bind_int64(s, 4, mn[r]);
            sqlite3_bind_int64(s, 5, mx[r]);
            sqlite3_bind_double(s, 6, sum[r]);
            must(d, sqlite3_step(s) == SQLITE_DONE, "rollup");
            cnt[r] = 0;
          }
          if (i == PER) continue;
          if (!cnt[r]) t_open[r] = bucket[r], mn[r] = mx[r] = rss, sum[r] = 0;
          cnt[r]++, sum[r] += (double)rss;
          if (rss < mn[r]) mn[r] = rss;
          if (rss > mx[r]) mx[r] = rss;
        }
      }
    }
    must(d, db_exec(d, "COMMIT") == SQLITE_OK, "commit");
  } while ((el = now_mono() - t0) < seconds);
  return (double)n / el;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: sqlite_ceiling DB PAYLOAD_FILE SECONDS_PER_PART\n");
    return 2;
  }
  FILE *f = fopen(argv[2], "rb");
  if (!f) {
    perror(argv[2]);
    return 1;
  }
  static char payload[1 << 20];
  size_t len = fread(payload, 1, sizeof payload, f);
  fclose(f);
  double seconds = strtod(argv[3], NULL);
  if (!(seconds > 0)) seconds = 5;
  db *d = db_open(argv[1], false, 0);
  if (!d) return 1;
  double ev = run_events(d, payload, len, seconds);
  double sm = run_samples(d, seconds);
  db_close(d);
  printf("CEILING events_per_s=%.0f samples_per_s=%.0f\n", ev, sm);
  return 0;
}
