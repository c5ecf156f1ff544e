/* hex: hexadecimal text <-> bytes, Sentry event ids, and percent-decoding: the one place that
 * reads hex digits. Pure functions, any thread, no allocation. Decoders are strict: they refuse
 * (-1) rather than skip, truncate or guess. */
#ifndef SLUICE_HEX_H
#define SLUICE_HEX_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The value of one hex digit (any case), or -1 for any other character. */
int hex_value(int ch);

/* Writes 2*len lowercase hex digits and a NUL into out. */
void hex_encode(const uint8_t *in, size_t len, char *out);
/* Decodes in[0..len), an even number of hex digits (any case), into len/2 bytes. Returns the
 * bytes written, or -1 for an odd length, a non-hex character, or more than outcap bytes. */
long hex_decode(const char *in, size_t len, uint8_t *out, size_t outcap);

/* Normalises a Sentry event id: exactly 32 hex digits, or a UUID dashed 8-4-4-4-12, any case.
 * Writes 32 lowercase hex digits and a NUL into hex and/or the 16 bytes into raw (either may
 * be NULL). Returns 0, or -1 (nothing written) for anything else. */
int hex_event_id(const char *in, size_t len, char hex[33], uint8_t raw[16]);

/* Percent-decodes in[0..len) into out (cap bytes, NUL added). With form, '+' is a space (query
 * strings, application/x-www-form-urlencoded); without, it is literal (paths). Returns the
 * decoded length, or -1 for a bad escape, a decoded NUL byte, or a result that needs more than
 * cap - 1 bytes. */
long hex_percent_decode(const char *in, size_t len, char *out, size_t cap, bool form);

#endif
