/* test_writer: the writer's group commit on a real SQLite file. Jobs that arrive while the
 * writer is busy share a transaction (it lingers briefly for them); a lone job on an idle
 * writer commits at once; every job gets exactly one done() on the loop thread. */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "testutil.h"
#include "writer.h"

typedef struct {
  writer_job job;
  int done;
} tjob;

static int n_done;

static int run_insert(writer_job *j, db *d) {
  (void)j;
  return db_exec(d, "INSERT INTO meta(key, value) VALUES(hex(randomblob(8)), 'x')") == 0
             ? WRITER_OK
             : WRITER_EIO;
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

TEST(busy_writer_groups_jobs_idle_writer_commits_at_once) {
  char dir[] = "/tmp/sluice-writer-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char path[64];
  snprintf(path, sizeof path, "%s/db", dir);
  uv_loop_t loop;
  uv_loop_init(&loop);
  db *d = db_open(path, false);
  CHECK(d != NULL);
  if (!d) return;
  writer *w = writer_start(&loop, d, 100, 2000);
  CHECK(w != NULL);
  if (!w) return;
  tjob jobs[12] = {0};
  for (int i = 0; i < 12; i++) jobs[i].job.run = run_insert, jobs[i].job.done = on_done;

  /* idle: one job, committed without waiting for company */
  double t0 = now_s();
  CHECK_EQ_INT(writer_submit(w, &jobs[0].job), 0);
  wait_done(&loop, 1);
  CHECK(now_s() - t0 < 0.5);

  /* busy (a batch just ended): ten jobs trickling in 0.1 ms apart share a few batches,
   * where a writer waking for each would commit most of them alone */
  writer_stats before, after;
  writer_get_stats(w, &before);
  for (int i = 1; i <= 10; i++) {
    CHECK_EQ_INT(writer_submit(w, &jobs[i].job), 0);
    usleep(100);
  }
  wait_done(&loop, 11);
  writer_get_stats(w, &after);
  CHECK(after.batches - before.batches <= 4);
  CHECK_EQ_INT(after.jobs - before.jobs, 10);

  writer_stop(w, NULL, NULL);
  for (int i = 0; i <= 10; i++) CHECK_EQ_INT(jobs[i].done, 1);
  CHECK_EQ_INT(jobs[11].done, 0);
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
  RUN(busy_writer_groups_jobs_idle_writer_commits_at_once);
  TEST_EXIT();
}
