/* memory_payload: validation of the memory-sample protocol (sdk-protocol/README.md). Pure and
 * thread-agnostic; the HTTP handler calls it on the event loop with the decoded body. The body's
 * length is checked before it is parsed, and jdom bounds the nesting depth, so parsing is
 * bounded; the tree lives in one arena for the call.
 * Fields are checked in document order and the first bad one is reported with its full path
 * ("samples[3].top_allocations[0].site"). On any failure the partially built payload is freed:
 * a request is accepted whole or not at all. JSON null counts as absent for optional fields. */
#include "memory/memory_payload.h"

#include "util/jdom.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const memory_limits memory_limits_default = {
    .max_body_bytes = 8u << 20,
    .max_depth = 32,
    .max_samples = 1000,
    .max_top_allocations = 50,
    .max_worker_id = 200,
    .max_site = 500,
    .max_string = 200,
    .max_age_s = 7 * 86400.0,
    .max_future_s = 300.0,
};

#define PID_MAX  4294967295LL /* widest pid of any OS a sampler runs on (Windows DWORD) */
#define PATH_LEN 96           /* "samples[999].top_allocations[49].size_diff_bytes" fits */

typedef struct parser {
  const memory_limits *lim;
  double now;    /* server clock, Unix seconds */
  char *err;     /* caller's buffer, may be NULL when errlen is 0 */
  size_t errlen; /* bytes in err */
} parser;

static int fail(parser *p, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes "<path>: <message>" to the caller's buffer; returns MEMORY_PAYLOAD_INVALID. */
static int fail(parser *p, const char *path, const char *fmt, ...) {
  if (p->errlen == 0) return MEMORY_PAYLOAD_INVALID;
  int n = snprintf(p->err, p->errlen, "%s: ", path);
  if (n >= 0 && (size_t)n < p->errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return MEMORY_PAYLOAD_INVALID;
}

static int fail_nomem(parser *p) {
  fail(p, "body", "out of memory while parsing");
  return MEMORY_PAYLOAD_NOMEM;
}

/* Where a value sits: "worker", "samples[i]" or "samples[i].top_allocations[j]". The path
 * text is only built for an error, so a valid batch costs no formatting. */
typedef struct where {
  const char *name; /* "worker" or "samples" */
  long i;           /* index into name, or -1 */
  long j;           /* index into samples[i].top_allocations, or -1 */
} where;

/* Writes the path of w, then ".key" when key is not NULL, into out[PATH_LEN] (cut short if it
 * does not fit; it always fits for the paths of this protocol). */
static void where_path(char *out, const where *w, const char *key) {
  int n;
  if (w->j >= 0)
    n = snprintf(out, PATH_LEN, "%s[%ld].top_allocations[%ld]", w->name, w->i, w->j);
  else if (w->i >= 0)
    n = snprintf(out, PATH_LEN, "%s[%ld]", w->name, w->i);
  else
    n = snprintf(out, PATH_LEN, "%s", w->name);
  if (key && n >= 0 && n < PATH_LEN) snprintf(out + n, PATH_LEN - (size_t)n, ".%s", key);
}

/* fail() for the member key of the value at w. */
static int fail_at(parser *p, const where *w, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail_at(parser *p, const where *w, const char *key, const char *fmt, ...) {
  char path[PATH_LEN], msg[160];
  where_path(path, w, key);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return fail(p, path, "%s", msg);
}

/* The field's value, or NULL when it is absent or JSON null. */
static const jdom_val *field(const jdom_val *obj, const char *key) {
  const jdom_val *v = jdom_get(obj, key);
  return jdom_is_null(v) ? NULL : v;
}

/* A JSON integer, or a real with no fractional part (JSON Schema's "integer"), as int64. */
static bool to_int64(const jdom_val *v, int64_t *out) {
  if (jdom_is(v, JDOM_INT)) {
    *out = v->u.i;
    return true;
  }
  if (!jdom_is(v, JDOM_REAL)) return false;
  double d = v->u.d;
  if (!isfinite(d) || d != floor(d) || d < -9223372036854775808.0 || d >= 9223372036854775808.0)
    return false;
  *out = (int64_t)d;
  return true;
}

/* Printable: no C0 control, DEL or C1 control (U+0080..U+009F, UTF-8 C2 80..C2 9F). jdom
 * has already checked that the bytes are valid UTF-8 without NUL. */
static bool printable(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f) return false;
    if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
        (unsigned char)s[i + 1] <= 0x9f)
      return false;
  }
  return true;
}

/* Reads obj.key as a string of 1..max printable bytes into a malloc'd copy. Absent, null or
 * "" leaves *out NULL, which is an error only when required. */
static int read_string(parser *p, const jdom_val *obj, const where *w, const char *key,
                       bool required, size_t max, char **out) {
  const jdom_val *v = field(obj, key);
  if (v && !jdom_is_string(v)) return fail_at(p, w, key, "must be a string");
  size_t n = v ? v->n : 0;
  if (n == 0) return required ? fail_at(p, w, key, "is required and must not be empty") : 0;
  if (n > max) return fail_at(p, w, key, "is %zu bytes long, at most %zu allowed", n, max);
  const char *s = v->u.s;
  if (!printable(s, n)) return fail_at(p, w, key, "must not contain control characters");
  *out = malloc(n + 1);
  if (!*out) return fail_nomem(p);
  memcpy(*out, s, n);
  (*out)[n] = '\0';
  return 0;
}

/* Reads obj.key as an integer in [min, max]; absent or null gives `absent` (or an error when
 * required). `what` completes "must be ..." in the error. */
static int read_int(parser *p, const jdom_val *obj, const where *w, const char *key, bool required,
                    int64_t min, int64_t max, int64_t absent, const char *what, int64_t *out) {
  const jdom_val *v = field(obj, key);
  if (!v) {
    if (required) return fail_at(p, w, key, "is required");
    *out = absent;
    return 0;
  }
  int64_t x;
  if (!to_int64(v, &x) || x < min) return fail_at(p, w, key, "must be %s", what);
  if (x > max) return fail_at(p, w, key, "must be at most %lld", (long long)max);
  *out = x;
  return 0;
}

static int read_size(parser *p, const jdom_val *obj, const where *w, const char *key, bool required,
                     int64_t *out) {
  return read_int(p, obj, w, key, required, 0, MEMORY_INT_MAX, -1, "a non-negative integer", out);
}

/* Reads obj.key as Unix seconds, at most max_future_s after now and, when check_age, at most
 * max_age_s before it. Absent or null gives 0 (or an error when required). */
static int read_time(parser *p, const jdom_val *obj, const where *w, const char *key, bool required,
                     bool check_age, double *out) {
  const jdom_val *v = field(obj, key);
  if (!v) {
    if (required) return fail_at(p, w, key, "is required");
    *out = 0;
    return 0;
  }
  double t = jdom_number(v);
  if (!jdom_is_number(v) || !isfinite(t) || t <= 0)
    return fail_at(p, w, key, "must be a positive number of Unix seconds");
  if (t > 1e11 && t > p->now * 100)
    return fail_at(p, w, key, "must be Unix seconds, not milliseconds");
  if (t > p->now + p->lim->max_future_s)
    return fail_at(p, w, key, "is %.0f seconds ahead of the server clock, at most %.0f allowed",
                   t - p->now, p->lim->max_future_s);
  if (check_age && t < p->now - p->lim->max_age_s)
    return fail_at(p, w, key, "is %.1f days before the server clock, at most %.1f allowed",
                   (p->now - t) / 86400.0, p->lim->max_age_s / 86400.0);
  *out = t;
  return 0;
}

static int parse_worker(parser *p, const jdom_val *root, memory_worker *w) {
  const jdom_val *obj = field(root, "worker");
  if (!obj) return fail(p, "worker", "is required");
  if (!jdom_is_object(obj)) return fail(p, "worker", "must be an object");
  const memory_limits *lim = p->lim;
  const where at = {"worker", -1, -1};
  int rc;
  if ((rc = read_string(p, obj, &at, "id", true, lim->max_worker_id, &w->id)) ||
      (rc = read_int(p, obj, &at, "pid", false, 1, PID_MAX, 0, "a positive integer", &w->pid)) ||
      (rc = read_time(p, obj, &at, "started_at", false, false, &w->started_at)) ||
      (rc = read_string(p, obj, &at, "host", false, lim->max_string, &w->host)) ||
      (rc = read_string(p, obj, &at, "service", false, lim->max_string, &w->service)) ||
      (rc = read_string(p, obj, &at, "release", false, lim->max_string, &w->release)) ||
      (rc = read_int(p, obj, &at, "memory_limit_bytes", false, 0, MEMORY_INT_MAX, 0,
                     "a non-negative integer", &w->memory_limit_bytes)))
    return rc;
  return 0;
}

static int parse_alloc(parser *p, const jdom_val *obj, const where *at, memory_alloc *a) {
  if (!jdom_is_object(obj)) return fail_at(p, at, NULL, "must be an object");
  int rc;
  int64_t diff;
  if ((rc = read_string(p, obj, at, "site", true, p->lim->max_site, &a->site)) ||
      (rc = read_size(p, obj, at, "size_bytes", true, &a->size_bytes)) ||
      (rc = read_size(p, obj, at, "count", false, &a->count)) ||
      (rc = read_int(p, obj, at, "size_diff_bytes", false, -MEMORY_INT_MAX, MEMORY_INT_MAX, 0,
                     "an integer", &diff)))
    return rc;
  a->has_size_diff = field(obj, "size_diff_bytes") != NULL;
  a->size_diff_bytes = diff;
  return 0;
}

static int parse_sample(parser *p, const jdom_val *obj, const where *at, memory_sample *s) {
  if (!jdom_is_object(obj)) return fail_at(p, at, NULL, "must be an object");
  int rc;
  if ((rc = read_time(p, obj, at, "timestamp", true, true, &s->timestamp)) ||
      (rc = read_size(p, obj, at, "rss_bytes", true, &s->rss_bytes)) ||
      (rc = read_size(p, obj, at, "heap_bytes", false, &s->heap_bytes)) ||
      (rc = read_size(p, obj, at, "pss_bytes", false, &s->pss_bytes)) ||
      (rc = read_size(p, obj, at, "uss_bytes", false, &s->uss_bytes)) ||
      (rc = read_size(p, obj, at, "requests_total", false, &s->requests_total)))
    return rc;

  const jdom_val *arr = field(obj, "top_allocations");
  if (!arr) return 0;
  if (!jdom_is_array(arr)) return fail_at(p, at, "top_allocations", "must be an array");
  size_t n = jdom_size(arr);
  if (n > p->lim->max_top_allocations)
    return fail_at(p, at, "top_allocations", "has %zu entries, at most %zu allowed", n,
                   p->lim->max_top_allocations);
  if (n == 0) return 0;
  s->top_allocations = calloc(n, sizeof *s->top_allocations);
  if (!s->top_allocations) return fail_nomem(p);
  s->n_top_allocations = n;
  for (size_t i = 0; i < n; i++) {
    const where item = {at->name, at->i, (long)i};
    if ((rc = parse_alloc(p, jdom_at(arr, i), &item, &s->top_allocations[i]))) return rc;
  }
  return 0;
}

static int parse_samples(parser *p, const jdom_val *root, memory_payload *out) {
  const jdom_val *arr = field(root, "samples");
  if (!arr) return fail(p, "samples", "is required");
  if (!jdom_is_array(arr)) return fail(p, "samples", "must be an array");
  size_t n = jdom_size(arr);
  if (n == 0) return fail(p, "samples", "must contain at least one sample");
  if (n > p->lim->max_samples)
    return fail(p, "samples", "has %zu samples, at most %zu allowed per request", n,
                p->lim->max_samples);
  out->samples = calloc(n, sizeof *out->samples);
  if (!out->samples) return fail_nomem(p);
  out->n_samples = n;
  for (size_t i = 0; i < n; i++) {
    const where at = {"samples", (long)i, -1};
    int rc = parse_sample(p, jdom_at(arr, i), &at, &out->samples[i]);
    if (rc) return rc;
  }
  return 0;
}

int memory_payload_parse(const char *body, size_t len, double now, const memory_limits *lim,
                         memory_payload *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  if (err && errlen) err[0] = '\0';
  parser p = {.lim = lim ? lim : &memory_limits_default,
              .now = now,
              .err = err,
              .errlen = err ? errlen : 0};
  if (len > p.lim->max_body_bytes) {
    fail(&p, "body", "is %zu bytes, at most %zu allowed", len, p.lim->max_body_bytes);
    return MEMORY_PAYLOAD_TOO_BIG;
  }
  if (!body) return fail(&p, "body", "is empty");

  /* As json_loadb(body, 0) did: a repeated key is allowed and the last one counts; "\u0000"
   * is refused. */
  jdom_opts opts = {p.lim->max_depth, JDOM_ALLOW_DUPLICATES, NULL, 0};
  jdom_doc arena;
  jdom_init(&arena);
  const jdom_val *root;
  int rc = jdom_parse(&arena, body, len, &opts, &root, NULL, 0);
  if (rc == JDOM_NOMEM) {
    rc = fail_nomem(&p);
  } else if (rc == JDOM_TOO_DEEP) {
    rc = fail(&p, "body", "JSON is nested deeper than %zu levels", p.lim->max_depth);
  } else if (rc != JDOM_OK) {
    int line = 1, column = 1;
    for (size_t i = 0; i < arena.err_at && i < len; i++) {
      if (body[i] == '\n') {
        line++;
        column = 1;
      } else if (((unsigned char)body[i] & 0xc0) != 0x80) {
        column++; /* columns count characters, as jansson's did */
      }
    }
    rc = fail(&p, "body", "invalid JSON at line %d column %d: %s", line, column, arena.err_why);
  } else if (!jdom_is_object(root)) {
    rc = fail(&p, "body", "must be a JSON object");
  } else if ((rc = parse_worker(&p, root, &out->worker)) == 0) {
    rc = parse_samples(&p, root, out);
  }
  jdom_free(&arena);
  if (rc) memory_payload_free(out);
  return rc;
}

void memory_payload_free(memory_payload *p) {
  if (!p) return;
  for (size_t i = 0; i < p->n_samples; i++) {
    memory_sample *s = &p->samples[i];
    for (size_t j = 0; j < s->n_top_allocations; j++) free(s->top_allocations[j].site);
    free(s->top_allocations);
  }
  free(p->samples);
  free(p->worker.id);
  free(p->worker.host);
  free(p->worker.service);
  free(p->worker.release);
  memset(p, 0, sizeof *p);
}
