/* leak: per-worker memory-leak detector driven only by the samples' event time.
 * Owns one worker's bounded state: 2-minute buckets of the current life (48 h ring) and short
 * summaries of the last 16 lives. Pure computation: no I/O, no clock, no locks; the caller (the
 * storage writer thread) serialises access to one detector. Feeding the same samples always
 * yields the same statuses and transitions, so a replay equals living through the series, and
 * leak_save/leak_load resume mid-stream with identical output. Method: tests/leak/METHOD.md. */
#ifndef SLUICE_LEAK_H
#define SLUICE_LEAK_H
#include <stddef.h>
#include <stdint.h>

enum { LEAK_OK = 0, LEAK_LEAKING = 1, LEAK_INSUFFICIENT = 2 };       /* leak_status.state */
enum { LEAK_TR_NONE = 0, LEAK_TR_STARTED = 1, LEAK_TR_STOPPED = 2 }; /* .transition */
enum { LEAK_EINVAL = -1, LEAK_EOLD = -2, LEAK_ENOMEM = -3, LEAK_ECORRUPT = -4 };

#define LEAK_SAVE_MAX 65536 /* upper bound of a leak_save blob */

typedef struct leak_detector leak_detector;

typedef struct {
  double ts;          /* event time, Unix seconds */
  double rss;         /* resident set size, bytes (> 0) */
  int64_t pid;        /* process id of this life */
  double started_at;  /* process start, Unix seconds (0 if unknown) */
  double limit_bytes; /* memory limit, bytes; 0 if unknown */
} leak_sample;

typedef struct {
  int state;                   /* LEAK_OK, LEAK_LEAKING or LEAK_INSUFFICIENT */
  int transition;              /* LEAK_TR_STARTED: fire an alert at this sample's ts;
                                  LEAK_TR_STOPPED: resolve it; otherwise LEAK_TR_NONE */
  double slope_bytes_per_hour; /* robust growth rate of the memory floor (0 if unknown) */
  double confidence;           /* 0..1, how sure the slope is real growth */
  double projected_limit_at;   /* Unix s when the limit is reached at this slope; 0 if unknown
                                  or not growing */
} leak_status;

/* A detector with no history; NULL when out of memory. */
leak_detector *leak_new(void);
void leak_free(leak_detector *d);

/* Feeds one sample and fills *out (if out is non-NULL) with the worker's status after it.
 * A sample older than the last one fed is ignored: returns LEAK_EOLD and leaves *out holding
 * the current status with no transition. A non-finite or non-positive rss/ts returns
 * LEAK_EINVAL. A new pid or started_at starts a new life. Returns 0 on success. */
int leak_feed(leak_detector *d, const leak_sample *s, leak_status *out);

/* Status after the last sample fed (transition always LEAK_TR_NONE). */
void leak_current(const leak_detector *d, leak_status *out);

/* Event time (seconds) a life whose first sample was at life_first_ts still needs at event
 * time now before the detector judges it (leaves LEAK_INSUFFICIENT): its closed 2-minute
 * buckets must span an hour. 0 once they can: the next evaluation (every 5 min of event time)
 * judges. Read-only: uses no detector state. A worker with 3 summarised past lives, or
 * one whose evidence fires an alert, is judged sooner. */
double leak_learning_left(double life_first_ts, double now);

/* Serialises the whole state into a malloc'd blob (*buf, caller frees; at most LEAK_SAVE_MAX
 * bytes, versioned, checksummed). Returns 0 or LEAK_ENOMEM. */
int leak_save(const leak_detector *d, unsigned char **buf, size_t *len);

/* Rebuilds a detector from a leak_save blob; NULL if the blob is truncated, of another
 * version, fails its checksum or holds out-of-range values. Borrows buf. */
leak_detector *leak_load(const unsigned char *buf, size_t len);
#endif
