/* test_writer: the writer's group commit, through the store interface on a real SQLite file. Jobs
 * that arrive while the writer is busy with a transaction share the next one; a lone job on an idle
 * writer commits at once; every job gets exactly one done() on the loop thread; a job that
 * succeeded in a transaction that was then lost is told (undone) and fails. */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "sqlite/sqlite_int.h"
#include "testutil.h"
#include "util/container.h"
#include "writer.h"

typedef struct {
  writer_job job;
  int done, undone;
} tjob;

static int n_done;

static int run_insert(writer_job *j, store_tx *tx) {
  (void)j;
  return db_exec(sq_db(tx), "INSERT INTO meta(key, value) VALUES(hex(randomblob(8)), 'x')") == 0
             ? STORE_OK
             : STORE_EIO;
}

/* A job that keeps the writer busy for 50 ms (a slow disk, a big batch). */
static int run_slow(writer_job *j, store_tx *tx) {
  usleep(50000);
  return run_insert(j, tx);
}

/* What SQLite does on SQLITE_FULL or an I/O error: the whole transaction is rolled back. */
static int run_lose_transaction(writer_job *j, store_tx *tx) {
  (void)j;
  db_exec(sq_db(tx), "ROLLBACK");
  return STORE_EIO;
}

static void on_undone(writer_job *j) {
  container_of(j, tjob, job)->undone++;
}

static void on_done(writer_job *j) {
  tjob *t = container_of(j, tjob, job);
  t->done++;
  n_done++;
}

static void wait_done(uv_loop_t *loop, int n) {
  while (n_done < n) uv_run(loop, UV_RUN_ONCE);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

TEST(group_commit_idle_commit_and_lost_transactions) {
  char dir[] = "/tmp/sluice-writer-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char path[64];
  snprintf(path, sizeof path, "%s/db", dir);
  uv_loop_t loop;
  uv_loop_init(&loop);
  store *st = NULL;
  CHECK_EQ_INT(store_open(path, NULL, &st), STORE_OK);
  if (!st) return;
  writer *w = writer_start(&loop, st, 100, 2000);
  CHECK(w != NULL);
  if (!w) return;
  tjob jobs[12] = {0};
  for (int i = 0; i < 12; i++) jobs[i].job.run = run_insert, jobs[i].job.done = on_done;

  /* idle: one job, committed without waiting for company */
  double t0 = now_s();
  CHECK_EQ_INT(writer_submit(w, &jobs[0].job), 0);
  wait_done(&loop, 1);
  CHECK(now_s() - t0 < 0.5);

  /* busy: ten jobs queued while a slow one runs go in at most two transactions after it,
   * where a writer committing job by job would run ten */
  writer_stats before, after;
  writer_get_stats(w, &before);
  jobs[1].job.run = run_slow;
  CHECK_EQ_INT(writer_submit(w, &jobs[1].job), 0);
  usleep(10000); /* the writer has taken the slow job */
  for (int i = 2; i <= 11; i++) CHECK_EQ_INT(writer_submit(w, &jobs[i].job), 0);
  wait_done(&loop, 12);
  writer_get_stats(w, &after);
  CHECK(after.batches - before.batches <= 3);
  CHECK_EQ_INT(after.jobs - before.jobs, 11);
  for (int i = 0; i <= 11; i++) CHECK_EQ_INT(jobs[i].job.status, STORE_OK);

  /* lost: a job succeeds, then the next one in its transaction loses it */
  tjob lost[3] = {0};
  lost[0].job.run = run_slow;
  lost[1].job.run = run_insert, lost[1].job.undone = on_undone;
  lost[2].job.run = run_lose_transaction;
  for (int i = 0; i < 3; i++) lost[i].job.done = on_done;
  CHECK_EQ_INT(writer_submit(w, &lost[0].job), 0);
  usleep(10000);
  CHECK_EQ_INT(writer_submit(w, &lost[1].job), 0);
  CHECK_EQ_INT(writer_submit(w, &lost[2].job), 0);
  wait_done(&loop, 15);
  CHECK_EQ_INT(lost[0].job.status, STORE_OK);
  CHECK_EQ_INT(lost[1].undone, 1);
  CHECK_EQ_INT(lost[1].job.status, STORE_EIO);
  CHECK_EQ_INT(lost[2].job.status, STORE_EIO);

  writer_stop(w, NULL, NULL);
  store_close(st);
  for (int i = 0; i <= 11; i++) CHECK_EQ_INT(jobs[i].done, 1);
  for (int i = 0; i < 3; i++) CHECK_EQ_INT(lost[i].done, 1);
  uv_loop_close(&loop);
  unlink(path);
  char side[80];
  snprintf(side, sizeof side, "%s-wal", path);
  unlink(side);
  snprintf(side, sizeof side, "%s-shm", path);
  unlink(side);
  rmdir(dir);
}

int main(void) {
  RUN(group_commit_idle_commit_and_lost_transactions);
  TEST_EXIT();
}
