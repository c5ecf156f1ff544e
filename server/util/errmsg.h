/* errmsg: the one way a parser writes its error message into the caller's buffer. Any thread;
 * no allocation. */
#ifndef SLUICE_ERRMSG_H
#define SLUICE_ERRMSG_H
#include <stddef.h>

/* Formats into err[0..errlen) (truncated, always terminated); nothing when err is NULL or
 * errlen is 0. */
void errmsg_set(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
