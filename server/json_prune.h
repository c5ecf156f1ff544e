/* json_prune: one pass over a JSON text that validates it the way jansson's json_loadb does
 * (JSON_ALLOW_NUL) and writes a compact copy without the object members whose keys are in a
 * table, at any depth, so jansson only builds the part of a large document that is read.
 * Pure; any thread; no allocation except for the rare number that needs strtod. */
#ifndef SLUICE_JSON_PRUNE_H
#define SLUICE_JSON_PRUNE_H
#include <stddef.h>

enum {
  JSON_PRUNE_OK = 0,
  JSON_PRUNE_MALFORMED = -1, /* not JSON jansson would accept: err says where and why */
  JSON_PRUNE_TOO_DEEP = -2,  /* nested deeper than max_depth */
  JSON_PRUNE_INVALID = -3,   /* bad arguments (e.g. more than JSON_PRUNE_KEYS_MAX keys) */
};

#define JSON_PRUNE_KEYS_MAX 64 /* duplicates of table keys are tracked in a 64-bit mask */

typedef enum json_prune_action {
  JSON_PRUNE_DROP, /* remove the member, value and all */
  JSON_PRUNE_KEEP, /* keep the member and copy its value whole: nothing inside is removed */
} json_prune_action;

typedef struct json_prune_key {
  const char *name; /* the key as decoded (escapes in the input are matched after decoding) */
  size_t len;       /* bytes of name */
  json_prune_action action;
} json_prune_key;

#define JSON_PRUNE_DROP_KEY(k)                                                                     \
  { k, sizeof k - 1, JSON_PRUNE_DROP }
#define JSON_PRUNE_KEEP_KEY(k)                                                                     \
  { k, sizeof k - 1, JSON_PRUNE_KEEP }

typedef struct json_prune_opts {
  const json_prune_key *keys; /* borrowed; may be NULL when n_keys is 0 */
  size_t n_keys;              /* at most JSON_PRUNE_KEYS_MAX */
  size_t max_depth;           /* deepest nesting of {} and [] allowed (the top level is 1) */
} json_prune_opts;

/* Validates in[0..len) and writes the pruned document, without insignificant whitespace, to
 * out, which must hold len bytes (the copy is never longer); *out_len gets its length. Strings
 * and numbers are copied byte for byte, so jansson decodes the copy to the same values.
 *
 * Rejected, as json_loadb(JSON_ALLOW_NUL) rejects them: any syntax error (trailing commas,
 * leading zeros, "1.", NaN, trailing bytes...), invalid UTF-8, control characters and bad
 * escapes or lone surrogates in strings, \u0000 in keys, integers outside json_int_t, reals
 * that overflow a double, values deeper than jansson's limit of 2048. Any value is accepted at
 * the top level (jansson without JSON_DECODE_ANY wants an object or array: check the result).
 *
 * Duplicate keys: a table key twice in one object is rejected, in any object whose members
 * are being pruned; duplicates among kept keys are left for JSON_REJECT_DUPLICATES when the
 * copy is loaded; duplicates inside a dropped value are not looked for (nothing reads it).
 *
 * Returns JSON_PRUNE_OK or a negative JSON_PRUNE_*; on error err (may be NULL) holds
 * "malformed JSON at byte N: why" or "JSON nested deeper than N levels" and out is garbage. */
int json_prune(const char *in, size_t len, const json_prune_opts *opts, char *out, size_t *out_len,
               char *err, size_t errlen);

/* The members event_normalize (event.c) never reads and that make up most of an SDK event's
 * bytes, dropped at any depth: frame locals and source lines, and the context interfaces; and
 * "params" kept whole (see json_prune.c). Lives here rather than in event.h only for now. */
extern const json_prune_key json_prune_event_keys[];
extern const size_t json_prune_event_keys_n;

#endif
