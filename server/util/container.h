/* container: container_of, the one way to get from an embedded member (a libuv handle, a
 * writer job, a read request) back to the struct that owns it. */
#ifndef SLUICE_CONTAINER_H
#define SLUICE_CONTAINER_H
#include <stddef.h>

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#endif
