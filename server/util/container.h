/* container: container_of, the one way to get from an embedded member (a libuv handle, a
 * writer job, an llhttp parser) back to the struct that owns it. Header only, any thread. */
#ifndef SLUICE_CONTAINER_H
#define SLUICE_CONTAINER_H
#include <stddef.h>

/* The struct of `type` whose `member` is at ptr. */
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#endif
