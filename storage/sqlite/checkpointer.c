/* checkpointer: one thread, one read-write connection that only ever checkpoints. Its
 * checkpoints are PASSIVE: they copy the frames no reader still needs and never wait for the
 * writer, which keeps appending meanwhile. The WAL only starts over from its beginning when a
 * write transaction begins with every frame copied, and under steady load the writer always
 * commits more while this thread copies; so once this thread has copied all but a small tail,
 * the writer's hook copies that tail itself (a few pages and the fsyncs), and the next
 * transaction restarts the WAL. The same inline checkpoint is the backstop at the hard size.
 *
 * Locking: mu guards wanted, stopping, backfilled and stats; the hook takes it only once the
 * WAL is past the soft size. */
#include "sqlite/checkpointer.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "util/log.h"
#include "util/timefmt.h"

#define TAIL_PAGES 512 /* left for the writer: copied inline, then the WAL restarts */
#define RETRY_MS   100 /* pause after a checkpoint that could not copy everything */

struct checkpointer {
  sqlite3 *h;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cond;
  int wanted, stopping;
  int backfilled; /* frames copied by the last run of the thread (in the WAL as it was) */
  checkpointer_stats stats;
};

static void *run(void *arg) {
  checkpointer *c = arg;
  pthread_mutex_lock(&c->mu);
  for (;;) {
    while (!c->wanted && !c->stopping) pthread_cond_wait(&c->cond, &c->mu);
    if (c->stopping) break;
    c->wanted = 0;
    pthread_mutex_unlock(&c->mu);

    double t0 = time_mono();
    int log_frames = 0, copied = 0;
    int rc = sqlite3_wal_checkpoint_v2(c->h, NULL, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &copied);
    double dt = time_mono() - t0;

    pthread_mutex_lock(&c->mu);
    c->stats.seconds_sum += dt;
    if (rc == SQLITE_OK) {
      c->stats.runs++;
      if (copied > c->backfilled) c->stats.pages += (uint64_t)(copied - c->backfilled);
      c->backfilled = copied;
    } else if (rc != SQLITE_BUSY) { /* BUSY: the writer is copying the tail right now */
      c->stats.failures++;
      log_warn("checkpoint failed", "err=\"%s\"", sqlite3_errmsg(c->h));
    }
    if (rc != SQLITE_OK || copied < log_frames - TAIL_PAGES) {
      /* readers still hold old frames, or an error: do not spin */
      struct timespec until;
      clock_gettime(CLOCK_REALTIME, &until);
      until.tv_nsec += RETRY_MS * 1000000L;
      if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
      if (!c->stopping) pthread_cond_timedwait(&c->cond, &c->mu, &until);
    }
  }
  pthread_mutex_unlock(&c->mu);
  return NULL;
}

/* Writer thread, after every commit; pages is the WAL's size in frames. */
static int on_commit(void *arg, sqlite3 *h, const char *name, int pages) {
  checkpointer *c = arg;
  if (pages < CHECKPOINT_SOFT_PAGES) return SQLITE_OK;
  pthread_mutex_lock(&c->mu);
  int tail_only = c->backfilled > 0 && pages - c->backfilled <= TAIL_PAGES;
  if (!tail_only && pages < CHECKPOINT_HARD_PAGES) {
    c->wanted = 1;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->mu);
    return SQLITE_OK;
  }
  pthread_mutex_unlock(&c->mu);

  int log_frames = 0, copied = 0;
  int rc = sqlite3_wal_checkpoint_v2(h, name, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &copied);
  pthread_mutex_lock(&c->mu);
  if (rc == SQLITE_OK) {
    c->stats.inline_runs++;
    c->backfilled = 0; /* the WAL restarts with the next transaction */
  } else if (rc != SQLITE_BUSY) {
    c->stats.failures++;
  }
  pthread_mutex_unlock(&c->mu);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY)
    log_warn("checkpoint failed", "err=\"%s\" wal_pages=%d", sqlite3_errmsg(h), pages);
  else if (!tail_only)
    log_warn("checkpoint behind, copied inline", "wal_pages=%d", pages);
  return SQLITE_OK;
}

checkpointer *checkpointer_start(const char *path) {
  checkpointer *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  int rc = sqlite3_open_v2(path, &c->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
  /* synchronous=NORMAL: a checkpoint fsyncs the WAL before copying and the database after, so
   * the WAL is only reused once its pages are durable in the database file */
  if (rc != SQLITE_OK ||
      sqlite3_exec(c->h, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) != SQLITE_OK) {
    log_warn("checkpointer disabled", "err=\"%s\"", c->h ? sqlite3_errmsg(c->h) : "open");
    sqlite3_close(c->h);
    free(c);
    return NULL;
  }
  sqlite3_busy_timeout(c->h, 0);
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->cond, NULL);
  if (pthread_create(&c->thread, NULL, run, c) != 0) {
    log_warn("checkpointer disabled", "err=\"cannot start thread\"");
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cond);
    sqlite3_close(c->h);
    free(c);
    return NULL;
  }
  return c;
}

void checkpointer_attach(checkpointer *c, sqlite3 *writer_conn) {
  sqlite3_wal_hook(writer_conn, on_commit, c); /* replaces the automatic checkpoint */
}

void checkpointer_get_stats(checkpointer *c, checkpointer_stats *out) {
  pthread_mutex_lock(&c->mu);
  *out = c->stats;
  pthread_mutex_unlock(&c->mu);
}

void checkpointer_stop(checkpointer *c) {
  if (!c) return;
  pthread_mutex_lock(&c->mu);
  c->stopping = 1;
  pthread_cond_signal(&c->cond);
  pthread_mutex_unlock(&c->mu);
  pthread_join(c->thread, NULL);
  pthread_mutex_destroy(&c->mu);
  pthread_cond_destroy(&c->cond);
  sqlite3_close(c->h);
  free(c);
}
