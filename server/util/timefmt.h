/* timefmt: the clocks in seconds, and RFC 3339 timestamps <-> Unix seconds (UTC). Any thread. */
#ifndef SLUICE_TIMEFMT_H
#define SLUICE_TIMEFMT_H
#include <stddef.h>

/* Unix seconds of 10000-01-01T00:00:00Z: every time sluice accepts lies in [0, TIME_MAX_UNIX). */
#define TIME_MAX_UNIX 253402300800LL

/* Wall clock as Unix seconds (CLOCK_REALTIME), and a monotonic clock for durations. */
double time_wall(void);
double time_mono(void);

/* The one timestamp parser (events, transactions, sessions, webhook payloads). Accepts
 *   YYYY-MM-DD[(T|t| )HH:MM[:SS[(.|,)fraction]][Z|z|+HH:MM|-HH:MM|+HHMM|-HHMM]]
 * as SDKs send it ("2026-11-23T23:33:05.364456Z"). Lenient where Sentry is: seconds are
 * optional ("2024-01-02T03:04Z"), a time without a zone is UTC (old python SDKs send
 * "2026-11-23 23:33:05"), a bare date is midnight UTC. Strict everywhere else: refuses
 * impossible dates (Feb 30, Feb 29 outside leap years, month 0 or 13, day 0 or 32), hour 24,
 * minute 60, second 61, an offset past 23:59, anything after the zone, and results outside
 * [1970-01-01T00:00:00Z, 10000-01-01T00:00:00Z) once the offset is applied. A leap second
 * (":60") is accepted, as RFC 3339 allows, and counts as the next minute's ":00" (Unix time has
 * no leap seconds). The fraction keeps nanoseconds; further digits are read and ignored.
 * Returns 0 and *out, or -1 with *out untouched. */
int time_parse_rfc3339(const char *s, size_t len, double *out);
/* Writes "2026-11-23T23:33:05.364Z" (millisecond precision) into buf (>= 32 bytes). */
void time_format_rfc3339(double t, char *buf, size_t cap);

#endif
