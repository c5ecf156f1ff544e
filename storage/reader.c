/* reader: a mutex-guarded pool of read-only connections, opened lazily by the thread-pool
 * threads that need one and closed at shutdown. A connection is used by one thread at a time. */
#include "reader.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define POOL_MAX 16

struct reader {
  uv_loop_t *loop;
  char path[1024];
  pthread_mutex_t mu;
  db *free_dbs[POOL_MAX];
  int n_free;
};

reader *reader_open(uv_loop_t *loop, const char *path) {
  reader *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->loop = loop;
  snprintf(r->path, sizeof r->path, "%s", path);
  pthread_mutex_init(&r->mu, NULL);
  return r;
}

static db *acquire(reader *r) {
  pthread_mutex_lock(&r->mu);
  db *d = r->n_free > 0 ? r->free_dbs[--r->n_free] : NULL;
  pthread_mutex_unlock(&r->mu);
  return d ? d : db_open(r->path, true);
}

static void release(reader *r, db *d) {
  pthread_mutex_lock(&r->mu);
  if (r->n_free < POOL_MAX) {
    r->free_dbs[r->n_free++] = d;
    d = NULL;
  }
  pthread_mutex_unlock(&r->mu);
  if (d) db_close(d);
}

static void work_cb(uv_work_t *w) {
  reader_req *req = container_of(w, reader_req, work);
  db *d = acquire(req->r);
  if (!d) {
    req->rc = -5;
    return;
  }
  /* A read transaction per request gives the query one consistent snapshot. */
  sqlite3_exec(db_handle(d), "BEGIN", NULL, NULL, NULL);
  req->rc = req->run(req, d);
  sqlite3_exec(db_handle(d), "COMMIT", NULL, NULL, NULL);
  release(req->r, d);
}

static void after_cb(uv_work_t *w, int status) {
  reader_req *req = container_of(w, reader_req, work);
  req->done(req, status == UV_ECANCELED ? status : req->rc);
}

int reader_submit(reader *r, reader_req *req) {
  req->r = r;
  req->rc = 0;
  return uv_queue_work(r->loop, &req->work, work_cb, after_cb);
}

void reader_close(reader *r) {
  if (!r) return;
  for (int i = 0; i < r->n_free; i++) db_close(r->free_dbs[i]);
  pthread_mutex_destroy(&r->mu);
  free(r);
}
