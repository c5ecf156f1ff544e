/* reader: runs API reads off the event loop, on libuv's thread pool, each on a read-only
 * connection borrowed from a small pool (WAL lets them read while the writer commits, so
 * reads never block ingest and ingest never blocks reads). */
#ifndef SLUICE_READER_H
#define SLUICE_READER_H
#include <uv.h>

#include "sqlite/db.h"

typedef struct reader reader;
typedef struct reader_req reader_req;

struct reader_req {
  uv_work_t work; /* owned by the reader while queued */
  reader *r;
  int (*run)(reader_req *req, db *d);    /* thread pool: run the query, keep results in owner */
  void (*done)(reader_req *req, int rc); /* loop thread: answer; owns the request memory */
  int rc;
};

reader *reader_open(uv_loop_t *loop, const char *path);
/* Loop thread. Returns 0 or a libuv error (then done is not called). */
int reader_submit(reader *r, reader_req *req);
/* After every submitted request finished (the loop has drained). */
void reader_close(reader *r);

#endif
