/* reader: runs API reads off the event loop, on libuv's thread pool, each on a read connection
 * borrowed from a small pool (the backend lets them read while the writer commits, so reads
 * never block ingest and ingest never blocks reads). A request's run() gets only what the
 * request holds and its read handle. */
#ifndef SLUICE_READER_H
#define SLUICE_READER_H
#include <uv.h>

#include "store.h"

typedef struct reader reader;
typedef struct reader_req reader_req;

struct reader_req {
  uv_work_t work; /* owned by the reader while queued */
  reader *r;
  /* thread pool, inside one read snapshot: run the query, keep results in the owner; returns a
   * STORE_* status */
  int (*run)(reader_req *req, store_rd *rd);
  void (*done)(reader_req *req, int rc); /* loop thread: answer; owns the request memory */
  int rc;
};

reader *reader_open(uv_loop_t *loop, store *s);
/* Loop thread. Returns 0 or a libuv error (then done is not called). */
int reader_submit(reader *r, reader_req *req);
/* After every submitted request finished (the loop has drained). */
void reader_close(reader *r);

#endif
