/* walbuf: the VFS the writer's connection opens its database with: the WAL frames of one
 * transaction reach the file in one write instead of two per page (walbuf.c says why that is
 * safe). Everything else behaves as the default VFS. */
#ifndef SLUICE_WALBUF_H
#define SLUICE_WALBUF_H
#include <sqlite3.h>

#define WALBUF_VFS "sluice-walbuf"

/* Registers the VFS on first use (any thread) and returns its name for sqlite3_open_v2, or
 * NULL when it could not be registered (then the default VFS is the right one to use). */
const char *walbuf_vfs(void);

#endif
