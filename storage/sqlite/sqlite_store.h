/* sqlite_store: the SQLite backend's table of operations, the one name the neutral layer
 * (storage/store.c) takes from this folder. */
#ifndef SLUICE_SQLITE_STORE_H
#define SLUICE_SQLITE_STORE_H
#include "store.h"

extern const store_ops sqlite_store_ops;

#endif
