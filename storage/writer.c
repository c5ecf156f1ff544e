/* writer: one thread owns the write connection. The queue is a mutex-protected singly linked
 * list bounded by queue_cap; finished jobs go to a second list that the loop drains from a
 * uv_async callback. Invariant: every job accepted by writer_submit gets exactly one done()
 * call on the loop thread, also during shutdown (writer_stop drains before it joins). */
#include "writer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/container.h"
#include "util/log.h"
#include "util/timefmt.h"

struct writer {
  uv_loop_t *loop;
  store_tx *tx; /* the writer thread's connection */
  uv_thread_t thread;
  uv_async_t async; /* wakes the loop to run done() callbacks */
  pthread_mutex_t mu;
  pthread_cond_t cond;
  writer_job *head, *tail; /* pending jobs */
  size_t depth, cap, max_batch;
  writer_job *done_head, *done_tail; /* finished jobs, waiting for the loop */
  size_t in_flight;                  /* accepted jobs whose done() has not run yet */
  int stopping;
  /* synchronous calls (start-up, shutdown) */
  int (*sync_fn)(store_tx *tx, void *arg);
  void *sync_arg;
  int sync_rc, sync_pending;
  pthread_cond_t sync_cond;
  int (*final)(store_tx *tx, void *arg); /* last step before the thread ends */
  void *final_arg;
  writer_stats stats;
};

static int bucket(double v, const double *bounds, int n) {
  for (int i = 0; i < n; i++) {
    if (v <= bounds[i]) return i;
  }
  return n;
}

/* The batch's transaction is gone: every job that had succeeded failed after all. */
static void undo_batch(writer *w, writer_job *batch) {
  for (writer_job *j = batch; j; j = j->next) {
    if (j->status < 0) continue;
    if (j->status == STORE_OK && j->undone) j->undone(j);
    j->status = STORE_EIO;
  }
  w->stats.failed_commits++;
}

/* Runs one batch in a transaction. Each job has its own savepoint so that a refused job does
 * not undo the others. When COMMIT fails every job that had succeeded is marked STORE_EIO. */
static void run_batch(writer *w, writer_job *batch, size_t n) {
  store_tx *tx = w->tx;
  const store_ops *op = tx->ops;
  double t0 = time_mono();
  int began = op->tx_begin(tx) == STORE_OK, lost = 0;
  for (writer_job *j = batch; j; j = j->next) {
    if (!began || lost) {
      j->status = STORE_EIO;
      continue;
    }
    if (op->tx_savepoint(tx) != STORE_OK) {
      j->status = STORE_EIO;
      continue;
    }
    int rc = j->run(j, tx);
    if (rc != STORE_OK && op->tx_lost(tx)) {
      /* The backend rolled the whole transaction back (SQLite on SQLITE_FULL and I/O errors):
       * nothing of this batch is stored. */
      log_error("transaction rolled back", "err=\"%s\" jobs=%zu", op->tx_error(tx), n);
      lost = 1;
      j->status = STORE_EIO;
      continue;
    }
    if (rc != STORE_OK) op->tx_rollback_to(tx);
    op->tx_release(tx);
    j->status = rc;
  }
  if (lost) {
    undo_batch(w, batch);
  } else if (began && op->tx_commit(tx) != STORE_OK) {
    log_error("commit failed", "err=\"%s\" jobs=%zu", op->tx_error(tx), n);
    op->tx_rollback(tx);
    undo_batch(w, batch);
  } else if (!began) {
    log_error("begin failed", "err=\"%s\"", op->tx_error(tx));
    w->stats.failed_commits++;
  }
  double dt = time_mono() - t0;
  static const double size_b[] = {1, 4, 16, 64, 256, 1024, 4096};
  static const double time_b[] = {0.001, 0.002, 0.005, 0.010, 0.025, 0.050, 0.100};
  w->stats.batches++;
  w->stats.jobs += n;
  w->stats.batch_size_buckets[bucket((double)n, size_b, 7)]++;
  w->stats.commit_us_buckets[bucket(dt, time_b, 7)]++;
  w->stats.commit_seconds_sum += dt;
  if (dt > 1.0) log_warn("slow commit", "seconds=%.3f jobs=%zu", dt, n);
}

/* Runs fn in a transaction of its own; its status, or STORE_EIO when BEGIN or COMMIT failed. */
static int run_alone(store_tx *tx, int (*fn)(store_tx *tx, void *arg), void *arg) {
  if (tx->ops->tx_begin(tx) != STORE_OK) return STORE_EIO;
  int rc = fn(tx, arg);
  if (rc >= 0 && tx->ops->tx_commit(tx) != STORE_OK) rc = STORE_EIO;
  if (rc < 0) tx->ops->tx_rollback(tx);
  return rc;
}

static void writer_thread(void *arg) {
  writer *w = arg;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (!w->head && !w->sync_pending && !w->stopping) pthread_cond_wait(&w->cond, &w->mu);
    if (w->sync_pending) {
      pthread_mutex_unlock(&w->mu);
      int rc = run_alone(w->tx, w->sync_fn, w->sync_arg);
      pthread_mutex_lock(&w->mu);
      w->sync_rc = rc;
      w->sync_pending = 0;
      pthread_cond_broadcast(&w->sync_cond);
      continue;
    }
    if (!w->head) { /* stopping and drained */
      if (w->final) {
        pthread_mutex_unlock(&w->mu);
        run_alone(w->tx, w->final, w->final_arg);
        pthread_mutex_lock(&w->mu);
      }
      break;
    }
    writer_job *batch = w->head, *last = w->head;
    size_t n = 1;
    while (last->next && n < w->max_batch) last = last->next, n++;
    w->head = last->next;
    if (!w->head) w->tail = NULL;
    last->next = NULL;
    w->depth -= n;
    pthread_mutex_unlock(&w->mu);

    run_batch(w, batch, n);

    pthread_mutex_lock(&w->mu);
    if (w->done_tail)
      w->done_tail->next = batch;
    else
      w->done_head = batch;
    w->done_tail = last;
    uv_async_send(&w->async);
  }
  pthread_mutex_unlock(&w->mu);
}

static void on_async(uv_async_t *a) {
  writer *w = container_of(a, writer, async);
  pthread_mutex_lock(&w->mu);
  writer_job *j = w->done_head;
  w->done_head = w->done_tail = NULL;
  pthread_mutex_unlock(&w->mu);
  while (j) {
    writer_job *next = j->next;
    j->next = NULL;
    w->in_flight--;
    j->done(j);
    j = next;
  }
}

writer *writer_start(uv_loop_t *loop, store *st, size_t queue_cap, size_t max_batch) {
  writer *w = calloc(1, sizeof *w);
  if (!w) return NULL;
  w->loop = loop;
  w->cap = queue_cap;
  w->max_batch = max_batch;
  int rc = st->ops->writer_open(st, &w->tx);
  if (rc != STORE_OK) {
    log_error("cannot open the writer's connection", "err=\"%s\"", store_status_text(rc));
    free(w);
    return NULL;
  }
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cond, NULL);
  pthread_cond_init(&w->sync_cond, NULL);
  if (uv_async_init(loop, &w->async, on_async) != 0) goto fail;
  if (uv_thread_create(&w->thread, writer_thread, w) != 0) {
    uv_close((uv_handle_t *)&w->async, NULL);
    goto fail;
  }
  return w;
fail:
  w->tx->ops->writer_close(w->tx);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cond);
  pthread_cond_destroy(&w->sync_cond);
  free(w);
  return NULL;
}

int writer_submit(writer *w, writer_job *job) {
  pthread_mutex_lock(&w->mu);
  if (w->stopping) {
    pthread_mutex_unlock(&w->mu);
    return UV_ECANCELED;
  }
  if (w->depth >= w->cap) {
    pthread_mutex_unlock(&w->mu);
    return UV_EBUSY;
  }
  job->next = NULL;
  job->status = 0;
  if (w->tail)
    w->tail->next = job;
  else
    w->head = job;
  w->tail = job;
  w->depth++;
  w->in_flight++;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->mu);
  return 0;
}

size_t writer_queue_depth(writer *w) {
  pthread_mutex_lock(&w->mu);
  size_t d = w->depth;
  pthread_mutex_unlock(&w->mu);
  return d;
}

int writer_queue_full(writer *w) {
  return writer_queue_depth(w) >= w->cap;
}

void writer_get_stats(writer *w, writer_stats *out) {
  pthread_mutex_lock(&w->mu);
  *out = w->stats;
  out->queue_depth = w->depth;
  out->queue_cap = w->cap;
  pthread_mutex_unlock(&w->mu);
  w->tx->ops->maintenance_stats(w->tx, &out->maint_runs, &out->maint_inline_runs,
                                &out->maint_failures, &out->maint_pages, &out->maint_seconds_sum);
}

int writer_call_sync(writer *w, int (*fn)(store_tx *tx, void *arg), void *arg) {
  pthread_mutex_lock(&w->mu);
  while (w->sync_pending) pthread_cond_wait(&w->sync_cond, &w->mu);
  w->sync_fn = fn;
  w->sync_arg = arg;
  w->sync_pending = 1;
  pthread_cond_signal(&w->cond);
  while (w->sync_pending) pthread_cond_wait(&w->sync_cond, &w->mu);
  int rc = w->sync_rc;
  pthread_mutex_unlock(&w->mu);
  return rc;
}

void writer_stop(writer *w, int (*final)(store_tx *tx, void *arg), void *arg) {
  pthread_mutex_lock(&w->mu);
  w->final = final;
  w->final_arg = arg;
  w->stopping = 1;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->mu);
  uv_thread_join(&w->thread);
  on_async(&w->async); /* the last batch's done() callbacks */
  uv_close((uv_handle_t *)&w->async, NULL);
  uv_run(w->loop, UV_RUN_NOWAIT);
  w->tx->ops->writer_close(w->tx);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cond);
  pthread_cond_destroy(&w->sync_cond);
  free(w);
}
