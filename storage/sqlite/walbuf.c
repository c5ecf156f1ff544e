/* walbuf: a VFS over the default one that gathers the appends to a WAL file into one write.
 * SQLite writes each WAL frame as two writes (its 24-byte header, then the page), so a commit of
 * n pages was 2n pwrite calls; here the frames a transaction appends collect in a buffer and go
 * out in one write when the commit frame is complete. A commit frame is the one whose header
 * holds a non-zero database size (bytes 4..7, the WAL file format's "commit" field). Only appends
 * are buffered: a write anywhere else (the WAL header at a restart, a page SQLite rewrites in
 * place within a transaction, the checksums it then rewrites) goes straight through.
 *
 * Why that is safe: the buffer is written, and its error returned, by the xWrite of the commit
 * frame's page, so COMMIT fails exactly as it would have with a failed pwrite; SQLite publishes
 * new frames to readers (the wal-index header) only after that write returned. Anything else that
 * touches the file (a read, size, sync, truncate, file control, close, a write elsewhere) writes
 * the buffer out first, so every caller sees the file as if each write had gone through at once.
 * Other files pass straight through. */
#include "sqlite/walbuf.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define WALBUF_BYTES   (256 * 1024)
#define WALBUF_PIECE   (64 * 1024) /* the unix VFS writes at most 128 KiB - 1 per call */
#define WAL_FRAME_HEAD 24

typedef struct wfile {
  sqlite3_file base;
  sqlite3_file *real; /* the default VFS's file, allocated right after this struct */
  unsigned char *buf; /* WAL files only; NULL: pass through */
  size_t n;
  sqlite3_int64 off;  /* file offset of buf[0] */
  sqlite3_int64 next; /* where the next append goes (-1: not known yet) */
  int commit_frame;   /* the last write was a commit frame's header: its page ends the commit */
} wfile;

/* Padded so that the real file that follows is aligned for any member. */
#define WFILE_SIZE ((sizeof(wfile) + 15) & ~(size_t)15)

/* Process-wide on purpose: SQLite's VFS registry is itself process-wide, so the VFS, the one
 * it wraps and its method tables are registered once (pthread_once) and only read after. */
static sqlite3_vfs *real_vfs;

static int flush(wfile *f) {
  int rc = SQLITE_OK;
  for (size_t k = 0; k < f->n && rc == SQLITE_OK; k += WALBUF_PIECE) {
    size_t len = f->n - k < WALBUF_PIECE ? f->n - k : WALBUF_PIECE;
    rc = f->real->pMethods->xWrite(f->real, f->buf + k, (int)len, f->off + (sqlite3_int64)k);
  }
  f->n = 0;
  return rc;
}

static int w_close(sqlite3_file *file) {
  wfile *f = (wfile *)file;
  int rc = flush(f);
  free(f->buf);
  f->buf = NULL;
  int rc2 = f->real->pMethods->xClose(f->real);
  return rc != SQLITE_OK ? rc : rc2;
}

static int w_read(sqlite3_file *file, void *out, int amt, sqlite3_int64 off) {
  wfile *f = (wfile *)file;
  int rc = flush(f);
  return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, out, amt, off);
}

/* Whether a write is a frame header with the commit field set. */
static int commit_header(const void *data, int amt) {
  const unsigned char *h = data;
  return amt == WAL_FRAME_HEAD && (h[4] | h[5] | h[6] | h[7]);
}

static int w_write(sqlite3_file *file, const void *data, int amt, sqlite3_int64 off) {
  wfile *f = (wfile *)file;
  if (!f->buf) return f->real->pMethods->xWrite(f->real, data, amt, off);
  int rc;
  if (off != f->next || (size_t)amt > WALBUF_PIECE) {
    /* not an append: a new header, a page rewritten in place, checksums rewritten after one */
    if ((rc = flush(f)) != SQLITE_OK) return rc;
    f->next = off + amt;
    f->commit_frame = commit_header(data, amt); /* its page, if it follows, ends the commit */
    return f->real->pMethods->xWrite(f->real, data, amt, off);
  }
  if (f->n + (size_t)amt > WALBUF_BYTES && (rc = flush(f)) != SQLITE_OK) return rc;
  if (!f->n) f->off = off;
  memcpy(f->buf + f->n, data, (size_t)amt);
  f->n += (size_t)amt;
  f->next = off + amt;
  if (f->commit_frame) { /* the commit frame's page: the transaction is whole */
    f->commit_frame = 0;
    return flush(f);
  }
  f->commit_frame = commit_header(data, amt);
  return SQLITE_OK;
}

static int w_truncate(sqlite3_file *file, sqlite3_int64 size) {
  wfile *f = (wfile *)file;
  int rc = flush(f);
  f->next = -1;
  return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int w_sync(sqlite3_file *file, int flags) {
  wfile *f = (wfile *)file;
  int rc = flush(f);
  return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int w_file_size(sqlite3_file *file, sqlite3_int64 *size) {
  wfile *f = (wfile *)file;
  int rc = flush(f);
  return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int w_file_control(sqlite3_file *file, int op, void *arg) {
  wfile *f = (wfile *)file;
  int rc = flush(f);
  return rc != SQLITE_OK ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

/* The rest pass through. */
static int w_lock(sqlite3_file *file, int l) {
  sqlite3_file *r = ((wfile *)file)->real;
  return r->pMethods->xLock(r, l);
}
static int w_unlock(sqlite3_file *file, int l) {
  sqlite3_file *r = ((wfile *)file)->real;
  return r->pMethods->xUnlock(r, l);
}
static int w_check_reserved(sqlite3_file *file, int *out) {
  sqlite3_file *r = ((wfile *)file)->real;
  return r->pMethods->xCheckReservedLock(r, out);
}
static int w_sector_size(sqlite3_file *file) {
  sqlite3_file *r = ((wfile *)file)->real;
  return r->pMethods->xSectorSize(r);
}
static int w_device_characteristics(sqlite3_file *file) {
  sqlite3_file *r = ((wfile *)file)->real;
  return r->pMethods->xDeviceCharacteristics(r);
}
static int w_shm_map(sqlite3_file *file, int pg, int sz, int extend, void volatile **out) {
  sqlite3_file *r = ((wfile *)file)->real;
  return r->pMethods->xShmMap(r, pg, sz, extend, out);
}
static int w_shm_lock(sqlite3_file *file, int offset, int n, int flags) {
  sqlite3_file *r = ((wfile *)file)->real;
  return r->pMethods->xShmLock(r, offset, n, flags);
}
static void w_shm_barrier(sqlite3_file *file) {
  sqlite3_file *r = ((wfile *)file)->real;
  r->pMethods->xShmBarrier(r);
}
static int w_shm_unmap(sqlite3_file *file, int del) {
  sqlite3_file *r = ((wfile *)file)->real;
  return r->pMethods->xShmUnmap(r, del);
}
static int w_fetch(sqlite3_file *file, sqlite3_int64 off, int amt, void **out) {
  sqlite3_file *r = ((wfile *)file)->real;
  return r->pMethods->xFetch(r, off, amt, out);
}
static int w_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p) {
  sqlite3_file *r = ((wfile *)file)->real;
  return r->pMethods->xUnfetch(r, off, p);
}

static sqlite3_io_methods methods_v1; /* the same, version 1: set up at registration */
static const sqlite3_io_methods methods = {
    3,
    w_close,
    w_read,
    w_write,
    w_truncate,
    w_sync,
    w_file_size,
    w_lock,
    w_unlock,
    w_check_reserved,
    w_file_control,
    w_sector_size,
    w_device_characteristics,
    w_shm_map,
    w_shm_lock,
    w_shm_barrier,
    w_shm_unmap,
    w_fetch,
    w_unfetch,
};

static int w_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out) {
  (void)vfs;
  wfile *f = (wfile *)file;
  memset(f, 0, sizeof *f);
  f->next = -1;
  f->real = (sqlite3_file *)((char *)file + WFILE_SIZE);
  if ((flags & SQLITE_OPEN_WAL) && !(f->buf = malloc(WALBUF_BYTES))) return SQLITE_NOMEM;
  int rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out);
  if (rc != SQLITE_OK || !f->real->pMethods) {
    /* ours stays NULL, so SQLite will not close it: close the real one if it is open */
    if (f->real->pMethods) f->real->pMethods->xClose(f->real);
    free(f->buf);
    f->buf = NULL;
    return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
  }
  /* shared memory and mmap (version 2 and 3 methods) only where the real file has them */
  f->base.pMethods = f->real->pMethods->iVersion >= 3 ? &methods : &methods_v1;
  return SQLITE_OK;
}

/* Everything but xOpen is the default VFS's own, called with it. */
static int v_delete(sqlite3_vfs *v, const char *name, int sync) {
  (void)v;
  return real_vfs->xDelete(real_vfs, name, sync);
}
static int v_access(sqlite3_vfs *v, const char *name, int flags, int *out) {
  (void)v;
  return real_vfs->xAccess(real_vfs, name, flags, out);
}
static int v_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out) {
  (void)v;
  return real_vfs->xFullPathname(real_vfs, name, n, out);
}
static int v_randomness(sqlite3_vfs *v, int n, char *out) {
  (void)v;
  return real_vfs->xRandomness(real_vfs, n, out);
}
static int v_sleep(sqlite3_vfs *v, int us) {
  (void)v;
  return real_vfs->xSleep(real_vfs, us);
}
static int v_current_time(sqlite3_vfs *v, double *out) {
  (void)v;
  return real_vfs->xCurrentTime(real_vfs, out);
}
static int v_last_error(sqlite3_vfs *v, int n, char *out) {
  (void)v;
  return real_vfs->xGetLastError(real_vfs, n, out);
}
static int v_current_time64(sqlite3_vfs *v, sqlite3_int64 *out) {
  (void)v;
  return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

static sqlite3_vfs vfs;
static int registered = SQLITE_ERROR;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void register_once(void) {
  real_vfs = sqlite3_vfs_find(NULL);
  if (!real_vfs || real_vfs->iVersion < 2) return;
  methods_v1 = methods;
  methods_v1.iVersion = 1;
  vfs = (sqlite3_vfs){.iVersion = 2,
                      .szOsFile = (int)(WFILE_SIZE + (size_t)real_vfs->szOsFile),
                      .mxPathname = real_vfs->mxPathname,
                      .zName = WALBUF_VFS,
                      .xOpen = w_open,
                      .xDelete = v_delete,
                      .xAccess = v_access,
                      .xFullPathname = v_full_pathname,
                      .xRandomness = v_randomness,
                      .xSleep = v_sleep,
                      .xCurrentTime = v_current_time,
                      .xGetLastError = v_last_error,
                      .xCurrentTimeInt64 = v_current_time64}; /* no extensions are loaded */
  registered = sqlite3_vfs_register(&vfs, 0);
}

const char *walbuf_vfs(void) {
  pthread_once(&once, register_once);
  return registered == SQLITE_OK ? WALBUF_VFS : NULL;
}
