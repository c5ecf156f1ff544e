/* housekeeping: the one periodic timer (every second) for everything that runs on a clock:
 * retention in small batches, incremental vacuum, and the ticks other modules register
 * (webhook retries, rollups). Loop thread; database work is submitted to the writer. */
#ifndef SLUICE_HOUSEKEEPING_H
#define SLUICE_HOUSEKEEPING_H
#include "core/app.h"

typedef void (*housekeeping_tick)(app *a, double now);

/* Start-up hook with the writer connection, before the writer thread owns it. */
int housekeeping_init(app *a, db *d);
void housekeeping_start(app *a);
/* Registers a tick (at most 8); call before housekeeping_start. */
void housekeeping_add(housekeeping_tick tick);
void housekeeping_stop(app *a);
void housekeeping_free(app *a);

#endif
