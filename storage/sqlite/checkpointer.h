/* checkpointer: copies the WAL back into the database file on its own thread and connection,
 * so the writer thread never waits for a checkpoint's page copies and fsyncs. The writer's
 * connection turns SQLite's automatic checkpoint off and calls checkpointer_wal_hook after
 * each commit; past a soft size the hook wakes this thread for a PASSIVE checkpoint (it never
 * blocks the writer or readers), past a hard size the writer checkpoints inline so the WAL
 * stays bounded even when this thread falls behind. */
#ifndef SLUICE_CHECKPOINTER_H
#define SLUICE_CHECKPOINTER_H
#include <sqlite3.h>
#include <stdint.h>

#define CHECKPOINT_SOFT_PAGES 4000  /* wake the checkpointer (16 MB of 4 KB pages) */
#define CHECKPOINT_HARD_PAGES 16000 /* the writer checkpoints inline (64 MB) */

typedef struct checkpointer checkpointer;

typedef struct checkpointer_stats {
  uint64_t runs;        /* checkpoints run by the thread */
  uint64_t inline_runs; /* checkpoints the writer ran itself (WAL past the hard size) */
  uint64_t failures;    /* checkpoints that returned an error (logged) */
  uint64_t pages;       /* pages copied into the database file */
  double seconds_sum;   /* time spent in checkpoints by the thread */
} checkpointer_stats;

/* Opens its own connection to the database at path (already created and migrated) and starts
 * the thread. Returns NULL (logged) on failure; the caller then keeps SQLite's automatic
 * checkpoint. */
checkpointer *checkpointer_start(const char *path);

/* Installs the hook on the writer's connection (and turns automatic checkpoints off). */
void checkpointer_attach(checkpointer *c, sqlite3 *writer_conn);

void checkpointer_get_stats(checkpointer *c, checkpointer_stats *out);

/* Stops the thread (a checkpoint in progress finishes) and closes its connection. Call after
 * the writer has committed its last transaction. NULL is a no-op. */
void checkpointer_stop(checkpointer *c);

#endif
