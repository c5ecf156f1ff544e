/* memory_payload: parses and validates the body of POST /api/{project_id}/memory/ (a worker and
 * a batch of memory samples, see sdk-protocol/README.md) into plain C structs. Pure: no I/O, no
 * clock (the caller passes `now`), no globals; safe on any thread, meant for the event loop.
 * Every size is bounded by memory_limits before anything is copied. A payload is accepted or
 * rejected whole: on failure nothing is returned and err names the first offending field, so
 * the handler can answer 400 {"detail": err} and store nothing. Unknown fields are ignored. */
#ifndef SLUICE_MEMORY_PAYLOAD_H
#define SLUICE_MEMORY_PAYLOAD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
  MEMORY_PAYLOAD_OK = 0,
  MEMORY_PAYLOAD_INVALID = -1, /* bad JSON or a bad field: 400, err names it */
  MEMORY_PAYLOAD_TOO_BIG = -2, /* body longer than max_body_bytes: 413 */
  MEMORY_PAYLOAD_NOMEM = -3,   /* allocation failed: 503 */
};

/* Largest byte size or count accepted: 2^53, exact in a double and in JavaScript numbers. */
#define MEMORY_INT_MAX 9007199254740992LL

typedef struct memory_limits {
  size_t max_body_bytes;      /* decoded body; the handler should also cut off earlier */
  size_t max_depth;           /* JSON nesting, counting the top-level object as 1 */
  size_t max_samples;         /* per batch */
  size_t max_top_allocations; /* per sample */
  size_t max_worker_id;       /* bytes of UTF-8 */
  size_t max_site;            /* bytes of UTF-8, top_allocations[].site */
  size_t max_string;          /* bytes of UTF-8, worker.host/service/release */
  double max_age_s;           /* oldest sample timestamp accepted, seconds before now */
  double max_future_s;        /* newest timestamp accepted, seconds after now */
} memory_limits;

/* The limits documented in sdk-protocol/README.md; copy and adjust to change one. */
extern const memory_limits memory_limits_default;

typedef struct memory_alloc {
  char *site;              /* owned, non-empty, e.g. "app/views.py:42" */
  int64_t size_bytes;      /* bytes live at the site, >= 0 */
  int64_t count;           /* live blocks, -1 if absent */
  int64_t size_diff_bytes; /* growth since the previous sample, may be < 0; 0 if absent */
  bool has_size_diff;      /* size_diff_bytes was sent */
} memory_alloc;

typedef struct memory_sample {
  double timestamp;              /* Unix seconds, within [now - max_age_s, now + max_future_s] */
  int64_t rss_bytes;             /* >= 0 */
  int64_t heap_bytes;            /* -1 if absent */
  int64_t pss_bytes;             /* -1 if absent */
  int64_t uss_bytes;             /* -1 if absent */
  int64_t requests_total;        /* -1 if absent */
  memory_alloc *top_allocations; /* owned array, NULL when none */
  size_t n_top_allocations;
} memory_sample;

typedef struct memory_worker {
  char *id;                   /* owned, non-empty, printable UTF-8 */
  int64_t pid;                /* 0 if absent */
  double started_at;          /* Unix seconds, 0 if absent */
  char *host;                 /* owned, NULL if absent */
  char *service;              /* owned, NULL if absent */
  char *release;              /* owned, NULL if absent */
  int64_t memory_limit_bytes; /* 0 if absent or unknown */
} memory_worker;

typedef struct memory_payload {
  memory_worker worker;
  memory_sample *samples; /* owned array of n_samples (1..max_samples), in the order sent */
  size_t n_samples;
} memory_payload;

/* Parses body[0..len) (already decoded: no Content-Encoding; need not be NUL-terminated).
 * `now` is the server clock in Unix seconds; lim NULL means memory_limits_default.
 * Returns MEMORY_PAYLOAD_OK and fills *out (release with memory_payload_free), or a negative
 * MEMORY_PAYLOAD_* with *out zeroed and err[errlen] set to "<field path>: <what is wrong>",
 * e.g. "samples[3].rss_bytes: must be a non-negative integer"; the path is "body" when the
 * document itself is wrong (not JSON, not an object, too deep, too big). */
int memory_payload_parse(const char *body, size_t len, double now, const memory_limits *lim,
                         memory_payload *out, char *err, size_t errlen);

/* Frees everything *p owns and zeroes it. Safe on a zeroed or already freed payload. */
void memory_payload_free(memory_payload *p);

#endif
