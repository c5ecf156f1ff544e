/* leak_replay: feeds labeled worker series (jsonl, optionally gzip'd) through the leak detector
 * in event-time order and prints one JSON line per worker:
 *   {"worker": id, "first_alert": ts|null, "alerts": [ts...], "fired": n, "resolved": n, ...}
 * first_alert is the first alert start at or after the worker's scored_from; alerts lists every
 * alert start at or after it (at most 64). Offline tool for
 * tests/leak/score.py; single-threaded, bounded by the longest input line (64 MiB).
 * With -b it also times the detector alone (samples copied out of JSON first) and prints
 * samples/s to stderr. With -t it prints instead, per worker, every sample whose status differs
 * from the previous one (state, transition, and slope, confidence and projection in hex floats);
 * -r does the same through a leak_save/leak_load round trip every 997 samples. Two builds of the
 * detector decide alike when their -t (and -r) outputs are byte for byte equal (equiv.sh). */
#include <jansson.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "memory/leak.h"

#define LINE_MAX_BYTES (64u << 20)

static double bench_s;   /* -b: seconds spent inside leak_feed */
static size_t bench_n;   /* -b: samples fed */
static leak_sample *buf; /* -b: one worker's samples */
static size_t buf_cap;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Decodes the worker's lives into buf, one leak_sample per sample in order (pid, started_at
 * and limit carried from its life). Returns the count, or -1 when out of memory. */
static long decode_worker(json_t *lives, double limit) {
  size_t n = 0, i, j;
  json_t *life, *smp;
  json_array_foreach(lives, i, life) {
    leak_sample s = {0};
    s.pid = (int64_t)json_integer_value(json_object_get(life, "pid"));
    s.started_at = json_number_value(json_object_get(life, "started_at"));
    s.limit_bytes = limit > 0 ? limit : 0;
    json_array_foreach(json_object_get(life, "samples"), j, smp) {
      if (n == buf_cap) {
        size_t cap = buf_cap ? buf_cap * 2 : 4096;
        leak_sample *nb = realloc(buf, cap * sizeof *nb);
        if (!nb) return -1;
        buf = nb;
        buf_cap = cap;
      }
      s.ts = json_number_value(json_array_get(smp, 0));
      s.rss = json_number_value(json_array_get(smp, 1));
      buf[n++] = s;
    }
  }
  return (long)n;
}

/* -b: times leak_feed over buf[0..n). */
static void bench_worker(size_t n) {
  leak_detector *d = leak_new();
  if (!d) return;
  leak_status st;
  double t = now_s();
  for (size_t k = 0; k < n; k++) leak_feed(d, &buf[k], &st);
  bench_s += now_s() - t;
  bench_n += n;
  leak_free(d);
}

/* -t/-r: one line per status change of the worker, all samples in order; -r also saves and
 * reloads the detector every 997 samples. */
static int trace_worker(json_t *w, int roundtrip) {
  const char *id = json_string_value(json_object_get(w, "worker"));
  json_t *lives = json_object_get(w, "incarnations");
  double limit = json_number_value(json_object_get(w, "limit"));
  if (!id || !json_is_array(lives)) return -1;
  long n = decode_worker(lives, limit);
  leak_detector *d = n < 0 ? NULL : leak_new();
  if (!d) return -1;
  leak_status st, prev = {0};
  printf("W %s\n", id);
  for (long k = 0; k < n; k++) {
    const leak_sample *s = &buf[k];
    int r = leak_feed(d, s, &st);
    if (r == 0 && (st.transition || st.state != prev.state ||
                   memcmp(&st.slope_bytes_per_hour, &prev.slope_bytes_per_hour, 8) ||
                   memcmp(&st.confidence, &prev.confidence, 8) ||
                   memcmp(&st.projected_limit_at, &prev.projected_limit_at, 8)))
      printf("%ld %.3f %d %d %a %a %a\n", k, s->ts, st.state, st.transition,
             st.slope_bytes_per_hour, st.confidence, st.projected_limit_at);
    if (r == 0) prev = st;
    if (roundtrip && (k + 1) % 997 == 0) {
      unsigned char *b = NULL;
      size_t len = 0;
      int saved = leak_save(d, &b, &len) == 0;
      leak_free(d);
      d = saved ? leak_load(b, len) : NULL;
      free(b);
      if (!d) return -1;
    }
  }
  leak_free(d);
  return 0;
}

static const char *state_name(int s) {
  return s == LEAK_LEAKING ? "leaking" : s == LEAK_OK ? "ok" : "insufficient_data";
}

/* Replays one worker object; prints its line. Returns 0 or -1 on malformed input. */
static int replay_worker(json_t *w, int verbose, int bench) {
  const char *id = json_string_value(json_object_get(w, "worker"));
  json_t *lives = json_object_get(w, "incarnations");
  double scored_from = json_number_value(json_object_get(w, "scored_from"));
  double limit = json_number_value(json_object_get(w, "limit"));
  if (!id || !json_is_array(lives)) return -1;
  long n = decode_worker(lives, limit);
  if (n < 0) return -1;
  if (bench) bench_worker((size_t)n);
  leak_detector *d = leak_new();
  if (!d) return -1;
  double first = 0;
  json_t *alerts = json_array();
  int fired = 0, resolved = 0, rc = 0;
  leak_status st = {0};
  for (long k = 0; k < n; k++) {
    const leak_sample *s = &buf[k];
    int r = leak_feed(d, s, &st);
    if (r == LEAK_EOLD || r == LEAK_EINVAL) continue;
    if (st.transition == LEAK_TR_STARTED) {
      fired++;
      if (!first && s->ts >= scored_from) first = s->ts;
      if (s->ts >= scored_from && json_array_size(alerts) < 64)
        json_array_append_new(alerts, json_real(s->ts));
      if (verbose)
        fprintf(stderr, "%s fire %.0f slope=%.0f conf=%.2f\n", id, s->ts, st.slope_bytes_per_hour,
                st.confidence);
    } else if (st.transition == LEAK_TR_STOPPED) {
      resolved++;
      if (verbose) fprintf(stderr, "%s resolve %.0f\n", id, s->ts);
    }
  }
  json_t *out = json_pack("{s:s, s:o, s:o, s:i, s:i, s:s, s:f}", "worker", id, "first_alert",
                          first ? json_real(first) : json_null(), "alerts", alerts, "fired", fired,
                          "resolved", resolved, "state", state_name(st.state), "slope",
                          st.slope_bytes_per_hour);
  char *txt = out ? json_dumps(out, JSON_COMPACT) : NULL;
  if (txt)
    printf("%s\n", txt);
  else
    rc = -1;
  free(txt);
  json_decref(out);
  leak_free(d);
  return rc;
}

int main(int argc, char **argv) {
  int verbose = argc > 2 && strcmp(argv[2], "-v") == 0;
  int bench = argc > 2 && strcmp(argv[2], "-b") == 0;
  int trace = argc > 2 && strcmp(argv[2], "-t") == 0 ? 1
              : argc > 2 && !strcmp(argv[2], "-r")   ? 2
                                                     : 0;
  if (argc < 2) {
    fprintf(stderr, "usage: leak_replay workers.jsonl[.gz] [-v|-b|-t|-r]\n");
    return 2;
  }
  gzFile f = gzopen(argv[1], "rb");
  if (!f) {
    fprintf(stderr, "leak_replay: cannot open %s\n", argv[1]);
    return 2;
  }
  size_t cap = 1 << 20, n = 0;
  char *line = malloc(cap);
  int c, rc = 0;
  while (line) {
    c = gzgetc(f);
    if (c == '\n' || c == -1) {
      if (n) {
        json_error_t err;
        json_t *w = json_loadb(line, n, 0, &err);
        if (!w || (trace ? trace_worker(w, trace == 2) : replay_worker(w, verbose, bench)) != 0) {
          fprintf(stderr, "leak_replay: bad worker line: %s\n", w ? "fields" : err.text);
          rc = 1;
        }
        json_decref(w);
      }
      n = 0;
      if (c == -1) break;
      continue;
    }
    if (n == cap) {
      char *nl = cap < LINE_MAX_BYTES ? realloc(line, cap * 2) : NULL;
      if (!nl) {
        fprintf(stderr, "leak_replay: line too long\n");
        rc = 1;
        break;
      }
      line = nl;
      cap *= 2;
    }
    line[n++] = (char)c;
  }
  free(line);
  gzclose(f);
  if (bench && bench_s > 0)
    fprintf(stderr, "leak_feed: %zu samples in %.3f s = %.2f M samples/s\n", bench_n, bench_s,
            bench_n / bench_s / 1e6);
  free(buf);
  return rc;
}
