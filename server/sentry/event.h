/* event: normalises one Sentry event payload (from /store/ or an envelope "event" item) into
 * the few fields sluice indexes, and computes its grouping fingerprint, title and culprit.
 * Pure; runs on the event loop thread; does not modify the event JSON (the raw bytes are
 * stored as received). The grouping rules are documented at event_normalize. */
#ifndef SLUICE_EVENT_H
#define SLUICE_EVENT_H
#include <stddef.h>

#include "util/jdom.h"

#define EVENT_LEVEL_MAX 16

/* event_normalize's results. */
enum {
  EVENT_OK = 0,
  EVENT_EINVAL = -1, /* the event is malformed: the client's fault (400) */
  EVENT_ENOMEM = -2, /* out of memory, or no random bytes for a missing id: ours (503) */
};

typedef struct event_info {
  char event_id[33];           /* 32 lowercase hex digits (dashes removed) */
  double timestamp;            /* Unix seconds; received_at when the event has none */
  char level[EVENT_LEVEL_MAX]; /* fatal|error|warning|info|debug; "error" by default */
  char fingerprint[65];        /* lowercase hex SHA-256 of the grouping components */
  char *title;                 /* owned: "Type: value" of the last exception, else the message's
                                  first line; never NULL, at most 259 bytes */
  char *culprit;               /* owned: top in-app frame "module in function" (file name when no
                                  module), else the SDK's culprit/transaction; may be "" */
  char *release;               /* owned, NULL when absent or ""; at most 200 bytes */
  char *environment;           /* owned, NULL when absent or ""; at most 200 bytes */
  char *message;               /* owned: formatted message or exception value, for search; never
                                  NULL (may be ""), at most 8 KiB */
} event_info;

/* The fingerprint follows Sentry's grouping precedence:
 *   1. an explicit "fingerprint" array (strings; numbers and booleans as text; nulls skipped;
 *      "{{ default }}" / "{{default}}" expanded to the default grouping; other values literal;
 *      an empty array or one holding only "{{ default }}" is the default grouping);
 *   2. the stack frames of every exception value (chained exceptions in order): per frame the
 *      module, else the file name without ?query, #fragment, :line:col, host or build hash,
 *      plus the function, never line or column numbers; only in-app frames when any frame is
 *      in-app, else all frames; together with each exception type (not for synthetic ones);
 *   3. without frames: exception type + value with numbers, hex and UUIDs normalised;
 *   4. the message: a logentry template that came with params verbatim, otherwise the
 *      template / formatted text / message string normalised the same way. Message events
 *      group by message even when the SDK attached a stack (python's "threads", a top-level
 *      "stacktrace", or node's synthetic exception), so the same message groups alike from
 *      every SDK; a stack is used only when an event has neither exception nor message.
 *
 * Fills *out from the parsed event (borrowed). If the event has no "event_id" member, uses
 * fallback_id (the envelope header's, may be NULL); if it has none either or it is null,
 * generates a random one (event ids may be 32 hex digits or a dashed UUID, any case). JSON
 * null means absent.
 * Accepts timestamp as an RFC 3339 string or a number. Returns EVENT_OK, EVENT_EINVAL when a field
 * has the wrong type (e.g. "exception" not an object, "fingerprint" not an array of strings,
 * "event_id" not 32 hex digits or a UUID, "timestamp" neither time_parse_rfc3339 text nor Unix
 * seconds in 1970..9999), or EVENT_ENOMEM; on failure err[errlen] (may be NULL) starts with
 * the field name and *out is zeroed and needs no freeing.
 * Titles and culprits are truncated to a sane length (at most 1024 bytes). */
int event_normalize(const jdom_val *event, const char *fallback_id, double received_at,
                    event_info *out, char *err, size_t errlen);
/* Frees the owned strings and zeroes *info; safe to call twice or on a zeroed struct. */
void event_info_free(event_info *info);

/* The members event_normalize never reads and that make up most of an SDK event's bytes,
 * skipped at any depth when the event is parsed (jdom_opts.keys): frame locals and source
 * lines, the context interfaces; and "params" built whole (see event.c). */
extern const jdom_key event_skip_keys[];
extern const size_t event_skip_keys_n;

#endif
