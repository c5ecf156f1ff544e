/* chunks: raw memory samples in SQLite, packed as memchunk blobs: one sample_chunks row per
 * worker and batch (or per MEMCHUNK_MAX_SPAN of it), keyed (worker, t1) where t1 is the chunk's
 * last timestamp and t0 its first. A chunk spans at most MEMCHUNK_MAX_SPAN, so the chunks that
 * overlap [a, b] are the key range t1 in [a, b + MEMCHUNK_MAX_SPAN] filtered on t0 <= b: the
 * retry probe, a chart's raw points, the detector replay and retention (t1 < cutoff) are each
 * one index range scan. Chunks of one worker may overlap in time (late batches); a timestamp is
 * stored at most once per worker. Writes run on the writer thread; chunks_scan on any thread
 * with its own connection. */
#ifndef SLUICE_CHUNKS_H
#define SLUICE_CHUNKS_H
#include <stddef.h>
#include <stdint.h>

#include "sqlite/db.h"
#include "memchunk.h"

/* Called once per sample by chunks_scan; a non-zero return stops the scan. Must not use the db
 * handle being scanned. */
typedef int (*chunks_fn)(void *ctx, const memchunk_sample *s);

/* Calls fn for each stored sample of worker wid with from <= ts <= to, in timestamp order, even
 * where chunks overlap. Holds at most the samples of one MEMCHUNK_MAX_SPAN window in memory. A
 * corrupt chunk is logged and skipped. Returns 0, fn's non-zero value, or -1 on an SQLite or
 * allocation error. */
int chunks_scan(db *d, int64_t wid, double from, double to, chunks_fn fn, void *ctx);

/* Stores s[0..*n) (ts strictly increasing) for worker wid, except samples whose timestamp is
 * already stored (retries): those are removed from s in place and *n becomes the number of new
 * samples, which go into as few chunks as memchunk_fit allows; nothing is written when none is
 * new. newest is a bound the caller knows on the worker's stored timestamps (INFINITY when it
 * knows none): a batch wholly after it cannot hold a retry, and skips the probe. Writer thread.
 * Returns 0 or -1. */
int chunks_store(db *d, int64_t wid, memchunk_sample *s, size_t *n, double newest);

/* The newest stored timestamp of worker wid into *ts (-INFINITY when none). Returns 0 or -1. */
int chunks_newest(db *d, int64_t wid, double *ts);

/* Schema migration 5 (writer connection, inside the migration's transaction): packs every row
 * of the old one-row-per-sample table into chunks, then drops it. Returns 0 or -1. */
int chunks_migrate_samples(db *d);

#endif
