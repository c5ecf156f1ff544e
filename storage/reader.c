/* reader: a mutex-guarded pool of read connections, opened lazily by the thread-pool threads
 * that need one and closed at shutdown. A connection is used by one thread at a time. */
#include "reader.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/container.h"

#define POOL_MAX 16

struct reader {
  uv_loop_t *loop;
  store *s;
  pthread_mutex_t mu;
  store_rd *free_rds[POOL_MAX];
  int n_free;
};

reader *reader_open(uv_loop_t *loop, store *s) {
  reader *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->loop = loop;
  r->s = s;
  pthread_mutex_init(&r->mu, NULL);
  return r;
}

static store_rd *acquire(reader *r) {
  pthread_mutex_lock(&r->mu);
  store_rd *rd = r->n_free > 0 ? r->free_rds[--r->n_free] : NULL;
  pthread_mutex_unlock(&r->mu);
  if (!rd && r->s->ops->reader_open(r->s, &rd) != STORE_OK) return NULL;
  return rd;
}

static void release(reader *r, store_rd *rd) {
  pthread_mutex_lock(&r->mu);
  if (r->n_free < POOL_MAX) {
    r->free_rds[r->n_free++] = rd;
    rd = NULL;
  }
  pthread_mutex_unlock(&r->mu);
  if (rd) rd->ops->reader_close(rd);
}

static void work_cb(uv_work_t *w) {
  reader_req *req = container_of(w, reader_req, work);
  store_rd *rd = acquire(req->r);
  if (!rd) {
    req->rc = STORE_EIO;
    return;
  }
  if (rd->ops->read_begin(rd) != STORE_OK) {
    req->rc = STORE_EIO;
  } else {
    req->rc = req->run(req, rd);
    rd->ops->read_end(rd);
  }
  release(req->r, rd);
}

static void after_cb(uv_work_t *w, int status) {
  reader_req *req = container_of(w, reader_req, work);
  req->done(req, status == UV_ECANCELED ? STORE_ESHUTDOWN : req->rc);
}

int reader_submit(reader *r, reader_req *req) {
  req->r = r;
  req->rc = 0;
  return uv_queue_work(r->loop, &req->work, work_cb, after_cb);
}

void reader_close(reader *r) {
  if (!r) return;
  for (int i = 0; i < r->n_free; i++) r->free_rds[i]->ops->reader_close(r->free_rds[i]);
  pthread_mutex_destroy(&r->mu);
  free(r);
}
