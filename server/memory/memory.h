/* memory: the memory-sample endpoint (POST /api/{id}/memory/) and the workers API. The loop
 * validates a batch whole (memory_payload) and hands it to the writer, where memstore stores
 * samples and rollups and runs the leak detector; the answer {"accepted": N} goes out after
 * the commit. Also owns the memstore instance (writer thread) and memory retention. */
#ifndef SLUICE_MEMORY_H
#define SLUICE_MEMORY_H
#include "http/router.h"

/* Creates the memstore, reads the worker state counts from d (the writer connection, before
 * the writer thread owns it) and registers the retention tick and metrics. */
int memory_init(app *a, db *d);
/* The writer's final step at shutdown (pass to writer_stop with the app): saves every cached
 * detector state after the queue drained. Writer thread. */
int memory_final_flush(db *d, void *app_ptr);
/* After writer_stop: frees the memstore. */
void memory_free(app *a);

#endif
