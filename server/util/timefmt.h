/* timefmt: the clocks in seconds, and RFC 3339 timestamps <-> Unix seconds (UTC). Any thread. */
#ifndef SLUICE_TIMEFMT_H
#define SLUICE_TIMEFMT_H
#include <stddef.h>

/* Wall clock as Unix seconds (CLOCK_REALTIME), and a monotonic clock for durations. */
double time_wall(void);
double time_mono(void);

/* Parses "2026-11-23T23:33:05.364456Z" (fraction optional, 'Z' or +hh:mm / -hh:mm offset,
 * 't' or ' ' accepted as separator). Returns 0 and *out, or -1. */
int time_parse_rfc3339(const char *s, size_t len, double *out);
/* Writes "2026-11-23T23:33:05.364Z" (millisecond precision) into buf (>= 32 bytes). */
void time_format_rfc3339(double t, char *buf, size_t cap);

#endif
