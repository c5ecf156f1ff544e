/* memchunk: the binary format of one chunk of raw memory samples (one worker, one batch), the
 * BLOB in sample_chunks.data. Pure: no I/O, no allocation, no SQLite, so the benchmark tools link
 * it alone; any thread. A chunk holds 1..MEMCHUNK_MAX_SAMPLES samples in strictly increasing
 * timestamp order spanning at most MEMCHUNK_MAX_SPAN seconds; both bounds are checked when
 * encoding and again when decoding, and readers rely on the span bound to turn "chunks that
 * overlap [a, b]" into a range of the (worker, t1) key. Format in memchunk.c. */
#ifndef SLUICE_MEMCHUNK_H
#define SLUICE_MEMCHUNK_H
#include <stddef.h>
#include <stdint.h>

#define MEMCHUNK_VERSION     1
#define MEMCHUNK_MAX_SAMPLES 128
#define MEMCHUNK_MAX_SPAN    600.0              /* seconds from the first to the last sample */
#define MEMCHUNK_VALUE_MAX   9007199254740992LL /* 2^53, the protocol's largest integer */
#define MEMCHUNK_MAX_BYTES   (3 + 49 * MEMCHUNK_MAX_SAMPLES) /* worst case of an encoded chunk */

typedef struct memchunk_sample {
  double ts;        /* Unix seconds, finite */
  int64_t rss;      /* 0..MEMCHUNK_VALUE_MAX */
  int64_t heap;     /* -1 if absent, else 0..MEMCHUNK_VALUE_MAX */
  int64_t pss;      /* as heap */
  int64_t uss;      /* as heap */
  int64_t requests; /* as heap */
} memchunk_sample;

/* How many leading samples of s[0..n) (sorted by ts, n >= 1) fit in one chunk: at least 1, at
 * most MEMCHUNK_MAX_SAMPLES, and the last within MEMCHUNK_MAX_SPAN of the first. */
size_t memchunk_fit(const memchunk_sample *s, size_t n);

/* Encodes s[0..n) into out[0..cap) and sets *len. The samples must obey the chunk's rules
 * (1..MEMCHUNK_MAX_SAMPLES, ts finite and strictly increasing, span, value ranges); cap =
 * MEMCHUNK_MAX_BYTES always suffices. Returns 0, or -1 (nothing useful in out) when a rule is
 * broken or cap is too small. */
int memchunk_encode(const memchunk_sample *s, size_t n, unsigned char *out, size_t cap,
                    size_t *len);

/* Decodes blob[0..len) into out[0..cap) and sets *n. Every length and value is checked before it
 * is used: a short, overlong or corrupt blob, another version, a value out of range, timestamps
 * that do not increase or span too much, or more than cap samples return -1 (out may then be
 * partly written; *n is 0). cap = MEMCHUNK_MAX_SAMPLES always suffices. Returns 0. */
int memchunk_decode(const void *blob, size_t len, memchunk_sample *out, size_t cap, size_t *n);

#endif
