/* housekeeping: the one periodic timer (every second) for everything that runs on a clock:
 * the retention table (every kind of data past its configured age, in small batches as one
 * writer job, so ingest never waits behind a long delete), the --max-db-mb size cap, giving
 * freed space back, and the ticks of other modules (webhook claims and retries). Loop thread;
 * database work is submitted to the writer. Its state is app->hk. */
#ifndef SLUICE_HOUSEKEEPING_H
#define SLUICE_HOUSEKEEPING_H
#include "core/app.h"

int housekeeping_init(app *a);
void housekeeping_start(app *a);
void housekeeping_stop(app *a);
void housekeeping_free(app *a);

/* The retention table's cutoffs at now for the configuration: cutoffs[kind] in Unix seconds
 * (STORE_RET_KINDS entries). */
void housekeeping_cutoffs(const config *cfg, double now, double cutoffs[STORE_RET_KINDS]);

#endif
