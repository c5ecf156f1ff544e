/* jdom: a read-only JSON tree built in one pass over the bytes, into an arena. Validation is
 * strict and follows jansson 2.14's json_loadb rule for rule (see jdom.c), so a text is refused
 * here when jansson refuses it; strings are unescaped into the arena, objects are arrays of
 * members in document order (looked up linearly, or through a sorted index when large).
 * Members whose keys are in a table can be skipped: validated, never built, so a caller pays
 * only for the part of a large document it reads. Pure; any thread; one arena per caller.
 * Memory: a tree takes at most about 8 bytes per input byte (a node is 16 bytes, an object
 * member 32, and the shortest values take 2 input bytes); a parse adds arena blocks of about
 * twice its input (one, for a typical document), so the arena grows by at most about 13 bytes
 * per input byte, plus 1 KiB. */
#ifndef SLUICE_JDOM_H
#define SLUICE_JDOM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum {
  JDOM_OK = 0,
  JDOM_MALFORMED = -1, /* not JSON jansson would accept: the error says where and why */
  JDOM_TOO_DEEP = -2,  /* objects and arrays nested deeper than max_depth */
  JDOM_NOMEM = -3,     /* the arena could not grow */
  JDOM_INVALID = -4,   /* bad options (e.g. more than JDOM_KEYS_MAX keys) or input >= 4 GiB */
};

typedef enum jdom_type {
  JDOM_NULL,
  JDOM_FALSE,
  JDOM_TRUE,
  JDOM_INT,    /* a number without fraction or exponent (jansson's integer): u.i */
  JDOM_REAL,   /* any other number (jansson's real), as strtod reads it: u.d */
  JDOM_STRING, /* u.s, n bytes, NUL-terminated (and may hold NULs when allowed) */
  JDOM_ARRAY,  /* u.items[0..n) */
  JDOM_OBJECT, /* u.members[0..n), in document order */
} jdom_type;

typedef struct jdom_member jdom_member;

typedef struct jdom_val {
  uint32_t type; /* jdom_type */
  uint32_t n;    /* string bytes, array items or object members; 0 otherwise */
  union {
    int64_t i;
    double d;
    const char *s;
    const struct jdom_val *items;
    const jdom_member *members;
  } u;
} jdom_val;

struct jdom_member {
  const char *key; /* unescaped, NUL-terminated; never holds a NUL */
  size_t key_len;  /* bytes of key */
  jdom_val val;
};

/* What happens to an object member whose key is in the table (matched after unescaping). */
typedef enum jdom_key_action {
  JDOM_KEY_SKIP,  /* validate the value but leave the member out of the tree */
  JDOM_KEY_WHOLE, /* keep the member and build its value whole: no key is skipped inside */
} jdom_key_action;

typedef struct jdom_key {
  const char *name;
  size_t len; /* bytes of name */
  jdom_key_action action;
} jdom_key;

#define JDOM_KEYS_MAX 64 /* a skipped key met twice in one object is found with a 64-bit mask */
#define JDOM_SKIP_KEY(k)                                                                           \
  { k, sizeof k - 1, JDOM_KEY_SKIP }
#define JDOM_WHOLE_KEY(k)                                                                          \
  { k, sizeof k - 1, JDOM_KEY_WHOLE }

enum {
  JDOM_ALLOW_NUL = 1,        /* "\u0000" allowed in string values (never in keys) */
  JDOM_ALLOW_DUPLICATES = 2, /* a key may repeat in an object; lookups find the last */
};

typedef struct jdom_opts {
  size_t max_depth;     /* deepest nesting of {} and [] (the top level is 1); capped at 2048 */
  unsigned flags;       /* JDOM_ALLOW_* */
  const jdom_key *keys; /* borrowed; NULL when n_keys is 0 */
  size_t n_keys;        /* at most JDOM_KEYS_MAX */
} jdom_opts;

struct jdom_block;

/* The arena: every tree parsed into it lives until jdom_free. Zero it (or jdom_init) first. */
typedef struct jdom_doc {
  struct jdom_block *blocks; /* owned chain, newest first */
  size_t err_at;             /* after a failed parse: byte offset of the offending input */
  const char *err_why;       /* ... and a short static reason ("invalid token") */
} jdom_doc;

void jdom_init(jdom_doc *doc);

/* Parses in[0..len) into doc's arena and sets *root (which lives until jdom_free). Any value
 * is accepted at the top level: callers check the type they want. opts NULL means depth 2048,
 * no flags, no table.
 *
 * Refused, as json_loadb(JSON_ALLOW_NUL) refuses them: syntax errors (trailing commas, leading
 * zeros, "1.", NaN, bytes after the value...), invalid UTF-8, control characters, bad escapes
 * and lone surrogates in strings, "\u0000" in keys, integers outside int64, reals that overflow
 * a double; also "\u0000" in values without JDOM_ALLOW_NUL, and a key repeated in one object
 * without JDOM_ALLOW_DUPLICATES. Inside a skipped value nothing is built, so repeated keys
 * there are not looked for; everything else is checked. (jansson 2.14 also skips one NUL byte
 * right after a number or literal, "[1\0]"; jdom refuses it, as RFC 8259 does.)
 *
 * Returns JDOM_OK or a negative JDOM_*; on failure *root is NULL, doc->err_at/err_why say
 * where and why, and err[errlen] (may be NULL) gets "malformed JSON at byte N: why", "JSON
 * nested deeper than N levels" or "out of memory". The arena stays valid either way. */
int jdom_parse(jdom_doc *doc, const char *in, size_t len, const jdom_opts *opts,
               const jdom_val **root, char *err, size_t errlen);

/* Releases every tree parsed into doc and zeroes it; safe on a zeroed doc and twice. */
void jdom_free(jdom_doc *doc);

/* Bytes the arena holds (block capacities), for tests and accounting. */
size_t jdom_arena_bytes(const jdom_doc *doc);

/* ---- reading: every accessor takes NULL (and answers "absent") -------------------------- */

static inline bool jdom_is(const jdom_val *v, jdom_type t) {
  return v && v->type == (uint32_t)t;
}
static inline bool jdom_is_object(const jdom_val *v) {
  return jdom_is(v, JDOM_OBJECT);
}
static inline bool jdom_is_array(const jdom_val *v) {
  return jdom_is(v, JDOM_ARRAY);
}
static inline bool jdom_is_string(const jdom_val *v) {
  return jdom_is(v, JDOM_STRING);
}
static inline bool jdom_is_null(const jdom_val *v) {
  return jdom_is(v, JDOM_NULL);
}
static inline bool jdom_is_true(const jdom_val *v) {
  return jdom_is(v, JDOM_TRUE);
}
static inline bool jdom_is_number(const jdom_val *v) {
  return jdom_is(v, JDOM_INT) || jdom_is(v, JDOM_REAL);
}

/* The string's bytes (NUL-terminated), or NULL when v is not a string. */
static inline const char *jdom_str(const jdom_val *v) {
  return jdom_is_string(v) ? v->u.s : NULL;
}

/* Items of an array or members of an object; 0 for anything else. */
static inline size_t jdom_size(const jdom_val *v) {
  return jdom_is_array(v) || jdom_is_object(v) ? v->n : 0;
}

/* Item i of an array, or NULL. */
static inline const jdom_val *jdom_at(const jdom_val *v, size_t i) {
  return jdom_is_array(v) && i < v->n ? &v->u.items[i] : NULL;
}

/* Loops over an array's items as jansson's json_array_foreach: i (size_t) and v (const
 * jdom_val *) are the caller's; no iteration when arr is not an array. */
#define jdom_array_foreach(arr, i, v) for ((i) = 0; ((v) = jdom_at((arr), (i))) != NULL; (i)++)

/* An integer or real as a double (as json_number_value), 0 for anything else. */
static inline double jdom_number(const jdom_val *v) {
  return jdom_is(v, JDOM_INT) ? (double)v->u.i : jdom_is(v, JDOM_REAL) ? v->u.d : 0.0;
}

/* The value of obj's member key[0..len), or NULL when obj is not an object or has no such
 * member; with a repeated key (JDOM_ALLOW_DUPLICATES), the last one. */
const jdom_val *jdom_getn(const jdom_val *obj, const char *key, size_t len);

/* jdom_getn for a NUL-terminated key; inline, so a literal key's length is a constant. */
static inline const jdom_val *jdom_get(const jdom_val *obj, const char *key) {
  return jdom_getn(obj, key, strlen(key));
}

#endif
