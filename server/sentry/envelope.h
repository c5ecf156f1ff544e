/* envelope: parses the Sentry envelope framing (a JSON header line, then items, each an
 * item-header line and a payload, with or without "length", with or without a trailing
 * newline). Pure functions on a decoded body; runs on the event loop thread; no I/O.
 * The parsed items borrow their payload bytes from the caller's buffer, which must outlive
 * the envelope. */
#ifndef SLUICE_ENVELOPE_H
#define SLUICE_ENVELOPE_H
#include <stddef.h>

#include "util/jdom.h"

typedef struct envelope_item {
  const jdom_val *header; /* in the envelope's arena: the item header object */
  const char *type;       /* in the arena: header's "type" (required) */
  const char *payload;    /* borrowed from the body buffer */
  size_t len;             /* payload bytes */
} envelope_item;

typedef struct envelope {
  jdom_doc arena;         /* owned: the trees of every header line; callers may parse more
                             (e.g. the payloads) into it, to be freed with the envelope */
  const jdom_val *header; /* in arena: the envelope header object (event_id, dsn, sent_at) */
  envelope_item *items;   /* owned array of n_items */
  size_t n_items;
} envelope;

#define ENVELOPE_HEADER_MAX 16384 /* longest envelope or item header line, bytes */
#define ENVELOPE_DEPTH_MAX  32    /* deepest JSON nesting accepted in a header line */

/* envelope_parse's results. */
enum {
  ENVELOPE_OK = 0,
  ENVELOPE_EINVAL = -1, /* the body is not a valid envelope: the client's fault (400) */
  ENVELOPE_ENOMEM = -2, /* out of memory: ours (503) */
};

/* Parses buf[0..len). At most max_items items (more is an error); each header line at most
 * ENVELOPE_HEADER_MAX bytes with JSON nesting at most ENVELOPE_DEPTH_MAX, parsed as jansson's
 * json_loadb(JSON_DECODE_ANY) would (a repeated key counts once, the last). Framing follows
 * Relay: whitespace (blank lines) before a header line and at the end of the body is skipped,
 * a payload with "length" must be followed by "\n" or the end of the body, one without runs to
 * the next "\n" or the end. A "type" that is present must be a string.
 * Payloads are not validated. On success returns ENVELOPE_OK and fills *out (free with
 * envelope_free; an envelope with zero items is valid). On failure returns ENVELOPE_EINVAL or
 * ENVELOPE_ENOMEM, leaves *out empty, and writes a human sentence to err[errlen] (items count from
 * 1, e.g. "item 2: length 900 runs past the end of the body"). */
int envelope_parse(const char *buf, size_t len, size_t max_items, envelope *out, char *err,
                   size_t errlen);
/* Frees what envelope_parse filled and empties *env; NULL and empty envelopes are fine. */
void envelope_free(envelope *env);

#endif
