/* writer: the single database writer. The event loop submits jobs into a bounded queue; one
 * writer thread takes them in batches, runs each inside its own SAVEPOINT of one transaction,
 * commits (group commit), and then wakes the loop with uv_async to call every job's done()
 * there. The loop thread never waits on the disk; a full queue is refused at once.
 *
 * Jobs are intrusive: embed a writer_job in the owner's struct and recover it in run()/done()
 * with container_of. The writer never frees a job; done() owns its cleanup. */
#ifndef SLUICE_WRITER_H
#define SLUICE_WRITER_H
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "store.h"

typedef struct writer_job writer_job;
struct writer_job {
  /* Runs on the writer thread inside a transaction, with what the job itself holds and tx; it
   * must not reach into loop-thread state. Returns STORE_OK, STORE_DUPLICATE (undo this job's
   * writes, still a success), or a negative STORE_E* (undo, report failure). */
  int (*run)(writer_job *job, store_tx *tx);
  /* Runs on the loop thread after the batch committed (or failed). Owns the job's memory. */
  void (*done)(writer_job *job);
  /* Optional; writer thread. Called when run() returned STORE_OK but its writes were undone
   * anyway (the transaction rolled back or failed to commit), for a job that caches what it
   * wrote. */
  void (*undone)(writer_job *job);
  int status;       /* set by the writer before done() */
  writer_job *next; /* queue link, owned by the writer */
};

typedef struct writer writer;

typedef struct writer_stats {
  uint64_t batches, jobs, failed_commits;
  size_t queue_depth, queue_cap;
  uint64_t batch_size_buckets[8]; /* <=1, <=4, <=16, <=64, <=256, <=1024, <=4096, more */
  uint64_t commit_us_buckets[8];  /* <=1ms, <=2, <=5, <=10, <=25, <=50, <=100, more */
  double commit_seconds_sum;
  /* the backend's background maintenance (SQLite: checkpoints), zero where there is none */
  uint64_t maint_runs, maint_inline_runs, maint_failures, maint_pages;
  double maint_seconds_sum;
} writer_stats;

/* Creates the writer on loop: opens the store's writer connection and starts the thread.
 * queue_cap jobs may wait; at most max_batch go in one transaction. NULL on failure (logged). */
writer *writer_start(uv_loop_t *loop, store *s, size_t queue_cap, size_t max_batch);

/* Loop thread. Returns 0, or UV_EBUSY when the queue is full, or UV_ECANCELED when stopping;
 * on error done() is not called and the caller still owns the job. */
int writer_submit(writer *w, writer_job *job);

/* Queue depth right now (loop thread; approximate). */
size_t writer_queue_depth(writer *w);
int writer_queue_full(writer *w);
void writer_get_stats(writer *w, writer_stats *out);

/* Runs fn(tx, arg) on the writer thread in its own transaction, outside any batch, and waits
 * for it (for start-up and shutdown work only, never on the loop while serving). Returns fn's
 * status, or STORE_EIO when the transaction could not begin or commit. */
int writer_call_sync(writer *w, int (*fn)(store_tx *tx, void *arg), void *arg);

/* Drains the queue (every submitted job is committed and its done() called), runs final(tx,
 * arg) (may be NULL) on the writer thread in one last transaction, then stops the thread and
 * closes the writer's connection. Call on the loop thread. */
void writer_stop(writer *w, int (*final)(store_tx *tx, void *arg), void *arg);

#endif
