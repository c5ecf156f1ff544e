/* json_prune: a recursive-descent scanner (recursion bounded by max_depth, itself capped at
 * jansson's 2048) in three modes: PRUNE copies and drops table keys, KEEP copies everything,
 * DROP only validates. Strings, numbers and literals are copied as spans of the input, so the
 * copy holds exactly the bytes jansson would have decoded; only whitespace, dropped members and
 * their commas are left out. Validation follows jansson 2.14's load.c rule for rule, so a text
 * is refused here if and only if json_loadb(JSON_ALLOW_NUL) refuses it, duplicate keys aside
 * (see json_prune.h); the error text names the first offending byte. */
#include "json_prune.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JANSSON_DEPTH_MAX 2048 /* JSON_PARSER_MAX_DEPTH: jansson counts values, the top is 1 */
#define KEY_DECODE_MAX    64   /* table keys are at most this long; escaped keys are decoded */
#define NUM_COPY_MAX      128  /* numbers up to this long go to strtod from the stack */

enum { M_PRUNE, M_KEEP, M_DROP };
enum { STR_ESCAPED = 1, STR_NUL = 2 };

typedef struct scan {
  const unsigned char *start, *p, *end; /* the input and the next byte to read */
  char *o;                              /* next byte of output */
  const json_prune_key *keys;
  size_t n_keys, max_depth;
  uint64_t len_mask; /* bit n set when some table key is n bytes long (n < 64) */
  const char *why;   /* error: what was wrong ... */
  size_t at;         /* ... at this byte offset */
  bool too_deep;
} scan;

/* Bytes that end the fast path inside a string: '"', '\\', controls and non-ASCII. */
static bool str_special(unsigned char c) {
  return c == '"' || c == '\\' || c < 0x20 || c >= 0x80;
}

#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Nonzero when some byte of w may be special (exact for "none is"). */
static uint64_t word_special(uint64_t w) {
  uint64_t q = w ^ (ONES * '"'), b = w ^ (ONES * '\\');
  return (((w - ONES * 0x20) & ~w) | ((q - ONES) & ~q) | ((b - ONES) & ~b) | w) & HIGHS;
}

static int fail(scan *s, const unsigned char *at, const char *why) {
  s->why = why;
  s->at = (size_t)(at - s->start);
  return -1;
}

static bool is_digit(unsigned char c) {
  return c >= '0' && c <= '9';
}

static void skip_ws(scan *s) {
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t')) s->p++;
}

static void emit(scan *s, int mode, const unsigned char *p, size_t n) {
  if (mode == M_DROP) return;
  memcpy(s->o, p, n);
  s->o += n;
}

static void emit_c(scan *s, int mode, char c) {
  if (mode != M_DROP) *s->o++ = c;
}

static int hex4(const unsigned char *p, uint32_t *out) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    unsigned char c = p[i];
    v <<= 4;
    if (is_digit(c))
      v |= (uint32_t)(c - '0');
    else if (c >= 'a' && c <= 'f')
      v |= (uint32_t)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      v |= (uint32_t)(c - 'A' + 10);
    else
      return -1;
  }
  *out = v;
  return 0;
}

/* Length of the well-formed UTF-8 sequence at p (no overlongs, surrogates or > U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end) {
  unsigned c = p[0];
  size_t n;
  uint32_t v;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    v = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    v = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    v = c & 0x07;
  } else {
    return 0;
  }
  if ((size_t)(end - p) < n) return 0;
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xc0) != 0x80) return 0;
    v = v << 6 | (p[i] & 0x3f);
  }
  if (n == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) return 0;
  if (n == 4 && (v < 0x10000 || v > 0x10ffff)) return 0;
  return n;
}

/* Validates the string whose opening quote is at s->p and moves past its closing quote.
 * Returns a mask of STR_* flags, or -1. */
static int scan_string(scan *s) {
  const unsigned char *p = s->p + 1, *end = s->end;
  int flags = 0;
  for (;;) {
    while (end - p >= 8) {
      uint64_t w;
      memcpy(&w, p, 8);
      if (word_special(w)) break;
      p += 8;
    }
    while (p < end && !str_special(*p)) p++;
    if (p >= end) return fail(s, p, "premature end of input in a string");
    unsigned char c = *p;
    if (c == '"') {
      s->p = p + 1;
      return flags;
    }
    if (c == '\\') {
      flags |= STR_ESCAPED;
      if (end - p < 2) return fail(s, p, "premature end of input in a string");
      c = p[1];
      if (c == 'u') {
        uint32_t u, lo;
        if (end - p < 6 || hex4(p + 2, &u) < 0) return fail(s, p, "invalid escape");
        if (u >= 0xdc00 && u <= 0xdfff)
          return fail(s, p, "invalid Unicode escape (lone surrogate)");
        if (u >= 0xd800 && u <= 0xdbff) {
          if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || hex4(p + 8, &lo) < 0 || lo < 0xdc00 ||
              lo > 0xdfff)
            return fail(s, p, "invalid Unicode escape (lone surrogate)");
          p += 6;
        }
        if (u == 0) flags |= STR_NUL;
        p += 6;
      } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' ||
                 c == 'r' || c == 't') {
        p += 2;
      } else {
        return fail(s, p, "invalid escape");
      }
    } else if (c < 0x20) {
      return fail(s, p, "control character in a string");
    } else {
      size_t n = utf8_seq(p, end);
      if (!n) return fail(s, p, "invalid UTF-8");
      p += n;
    }
  }
}

/* Decodes a string already validated by scan_string (p after the opening quote, end at the
 * closing one) into buf; returns its length, or cap + 1 when it is longer than cap. */
static size_t decode_key(const unsigned char *p, const unsigned char *end, char *buf, size_t cap) {
  size_t n = 0;
  while (p < end) {
    uint32_t u = 0;
    char tmp[4];
    size_t k = 0;
    if (*p != '\\') {
      tmp[k++] = (char)*p++;
    } else if (p[1] != 'u') {
      static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
      tmp[k++] = to[strchr(from, p[1]) - from];
      p += 2;
    } else {
      hex4(p + 2, &u);
      p += 6;
      if (u >= 0xd800 && u <= 0xdbff) {
        uint32_t lo = 0;
        hex4(p + 2, &lo);
        p += 6;
        u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
      }
      if (u < 0x80) {
        tmp[k++] = (char)u;
      } else if (u < 0x800) {
        tmp[k++] = (char)(0xc0 | u >> 6);
        tmp[k++] = (char)(0x80 | (u & 0x3f));
      } else if (u < 0x10000) {
        tmp[k++] = (char)(0xe0 | u >> 12);
        tmp[k++] = (char)(0x80 | ((u >> 6) & 0x3f));
        tmp[k++] = (char)(0x80 | (u & 0x3f));
      } else {
        tmp[k++] = (char)(0xf0 | u >> 18);
        tmp[k++] = (char)(0x80 | ((u >> 12) & 0x3f));
        tmp[k++] = (char)(0x80 | ((u >> 6) & 0x3f));
        tmp[k++] = (char)(0x80 | (u & 0x3f));
      }
    }
    if (n + k > cap) return cap + 1;
    memcpy(buf + n, tmp, k);
    n += k;
  }
  return n;
}

/* Index of the table entry for the key spanning (q, qend) (inside the quotes), or -1. */
static int match_key(const scan *s, const unsigned char *q, const unsigned char *qend,
                     bool escaped) {
  char buf[KEY_DECODE_MAX];
  const char *k = (const char *)q;
  size_t n = (size_t)(qend - q);
  if (escaped) {
    n = decode_key(q, qend, buf, sizeof buf);
    if (n > sizeof buf) return -1;
    k = buf;
  } else if (n >= 64 || !(s->len_mask >> n & 1)) {
    return -1;
  }
  for (size_t i = 0; i < s->n_keys; i++)
    if (s->keys[i].len == n && memcmp(s->keys[i].name, k, n) == 0) return (int)i;
  return -1;
}

/* Numbers as jansson lexes them: integers must fit json_int_t (long long), reals must not
 * overflow a double (underflow to 0 is fine). */
static int scan_number(scan *s) {
  const unsigned char *start = s->p, *p = s->p, *end = s->end;
  bool neg = *p == '-';
  if (neg) p++;
  if (p >= end || !is_digit(*p)) return fail(s, p, "digit expected");
  const unsigned char *ip = p;
  if (*p == '0') {
    p++;
    if (p < end && is_digit(*p)) return fail(s, p, "leading zero in a number");
  } else {
    while (p < end && is_digit(*p)) p++;
  }
  size_t int_digits = (size_t)(p - ip);
  const unsigned char *frac = p, *frac_end = p;
  bool real = false;
  long exp = 0;
  if (p < end && *p == '.') {
    real = true;
    frac = ++p;
    if (p >= end || !is_digit(*p)) return fail(s, p, "digit expected after '.'");
    while (p < end && is_digit(*p)) p++;
    frac_end = p;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    real = true;
    p++;
    bool eneg = false;
    if (p < end && (*p == '+' || *p == '-')) eneg = *p++ == '-';
    if (p >= end || !is_digit(*p)) return fail(s, p, "digit expected in exponent");
    for (; p < end && is_digit(*p); p++)
      if (exp < 100000) exp = exp * 10 + (*p - '0');
    if (eneg) exp = -exp;
  }
  s->p = p;
  if (!real) {
    if (int_digits > 19 ||
        (int_digits == 19 &&
         memcmp(ip, neg ? "9223372036854775808" : "9223372036854775807", 19) > 0))
      return fail(s, start, neg ? "too big negative integer" : "too big integer");
    return 0;
  }
  /* Decimal exponent of the leading significant digit decides all but the edge case. */
  long lead;
  if (*ip != '0') {
    lead = (long)int_digits - 1;
  } else {
    const unsigned char *q = frac;
    while (q < frac_end && *q == '0') q++;
    if (q == frac_end) return 0; /* zero */
    lead = -(long)(q - frac) - 1;
  }
  if (lead + exp < 308) return 0;
  if (lead + exp > 308) return fail(s, start, "real number overflow");
  size_t n = (size_t)(p - start);
  char stack[NUM_COPY_MAX], *copy = n < sizeof stack ? stack : malloc(n + 1);
  if (!copy) return fail(s, start, "out of memory");
  memcpy(copy, start, n);
  copy[n] = '\0';
  errno = 0;
  double d = strtod(copy, NULL);
  bool overflow = errno == ERANGE && isinf(d);
  if (copy != stack) free(copy);
  return overflow ? fail(s, start, "real number overflow") : 0;
}

/* None of these may share a name with a key event.c reads (tests/unit/test_json_prune.c
 * lists those and checks). "params" (logentry.params) is copied whole: format_template looks
 * its members up by names taken from the message, and whether it is empty changes grouping,
 * so inside it any key may matter. */
const json_prune_key json_prune_event_keys[] = {
    JSON_PRUNE_DROP_KEY("vars"),
    JSON_PRUNE_DROP_KEY("pre_context"),
    JSON_PRUNE_DROP_KEY("post_context"),
    JSON_PRUNE_DROP_KEY("context_line"),
    JSON_PRUNE_DROP_KEY("modules"),
    JSON_PRUNE_DROP_KEY("contexts"),
    JSON_PRUNE_DROP_KEY("breadcrumbs"),
    JSON_PRUNE_DROP_KEY("extra"),
    JSON_PRUNE_DROP_KEY("request"),
    JSON_PRUNE_DROP_KEY("user"),
    JSON_PRUNE_DROP_KEY("tags"),
    JSON_PRUNE_DROP_KEY("sdk"),
    JSON_PRUNE_DROP_KEY("spans"),
    JSON_PRUNE_DROP_KEY("debug_meta"),
    JSON_PRUNE_DROP_KEY("measurements"),
    JSON_PRUNE_DROP_KEY("_meta"),
    JSON_PRUNE_DROP_KEY("sdkProcessingMetadata"),
    JSON_PRUNE_KEEP_KEY("params"),
};
const size_t json_prune_event_keys_n =
    sizeof json_prune_event_keys / sizeof json_prune_event_keys[0];

static int scan_value(scan *s, size_t depth, int mode);

static int scan_object(scan *s, size_t depth, int mode) {
  uint64_t seen = 0; /* table keys met in this object */
  bool first = true;
  emit_c(s, mode, '{');
  s->p++;
  skip_ws(s);
  if (s->p < s->end && *s->p == '}') {
    s->p++;
    emit_c(s, mode, '}');
    return 0;
  }
  for (;;) {
    const unsigned char *key = s->p;
    if (key >= s->end || *key != '"') return fail(s, key, "string or '}' expected");
    int flags = scan_string(s);
    if (flags < 0) return -1;
    if (flags & STR_NUL) return fail(s, key, "NUL byte in object key not supported");
    int child = mode;
    if (mode == M_PRUNE && s->n_keys) {
      int i = match_key(s, key + 1, s->p - 1, flags & STR_ESCAPED);
      if (i >= 0) {
        if (seen >> i & 1) return fail(s, key, "duplicate object key");
        seen |= 1ULL << i;
        child = s->keys[i].action == JSON_PRUNE_DROP ? M_DROP : M_KEEP;
      }
    }
    const unsigned char *key_end = s->p;
    skip_ws(s);
    if (s->p >= s->end || *s->p != ':') return fail(s, s->p, "':' expected");
    s->p++;
    skip_ws(s);
    if (child != M_DROP) {
      if (!first) emit_c(s, mode, ',');
      emit(s, mode, key, (size_t)(key_end - key));
      emit_c(s, mode, ':');
      first = false;
    }
    if (scan_value(s, depth + 1, child) < 0) return -1;
    skip_ws(s);
    if (s->p < s->end && *s->p == ',') {
      s->p++;
      skip_ws(s);
    } else if (s->p < s->end && *s->p == '}') {
      s->p++;
      emit_c(s, mode, '}');
      return 0;
    } else {
      return fail(s, s->p, "',' or '}' expected");
    }
  }
}

static int scan_array(scan *s, size_t depth, int mode) {
  emit_c(s, mode, '[');
  s->p++;
  skip_ws(s);
  if (s->p < s->end && *s->p == ']') {
    s->p++;
    emit_c(s, mode, ']');
    return 0;
  }
  for (;;) {
    if (scan_value(s, depth + 1, mode) < 0) return -1;
    skip_ws(s);
    if (s->p < s->end && *s->p == ',') {
      s->p++;
      emit_c(s, mode, ',');
      skip_ws(s);
    } else if (s->p < s->end && *s->p == ']') {
      s->p++;
      emit_c(s, mode, ']');
      return 0;
    } else {
      return fail(s, s->p, "',' or ']' expected");
    }
  }
}

/* depth counts values the way jansson does: the top-level value is 1. */
static int scan_value(scan *s, size_t depth, int mode) {
  const unsigned char *v = s->p;
  if (depth > JANSSON_DEPTH_MAX) return fail(s, v, "maximum parsing depth reached");
  if (v >= s->end) return fail(s, v, "premature end of input");
  switch (*v) {
  case '{':
  case '[':
    if (depth > s->max_depth) {
      s->too_deep = true;
      return fail(s, v, "nested too deep");
    }
    return *v == '{' ? scan_object(s, depth, mode) : scan_array(s, depth, mode);
  case '"':
    if (scan_string(s) < 0) return -1;
    break;
  case 't':
  case 'f':
  case 'n': {
    const char *lit = *v == 't' ? "true" : *v == 'f' ? "false" : "null";
    size_t n = strlen(lit);
    if ((size_t)(s->end - v) < n || memcmp(v, lit, n) != 0) return fail(s, v, "invalid token");
    s->p += n;
    break;
  }
  default:
    if (*v != '-' && !is_digit(*v)) return fail(s, v, "invalid token");
    if (scan_number(s) < 0) return -1;
    break;
  }
  emit(s, mode, v, (size_t)(s->p - v));
  return 0;
}

int json_prune(const char *in, size_t len, const json_prune_opts *opts, char *out, size_t *out_len,
               char *err, size_t errlen) {
  scan s;
  memset(&s, 0, sizeof s);
  if (err && errlen) err[0] = '\0';
  *out_len = 0;
  if (!opts || (opts->n_keys && !opts->keys) || opts->n_keys > JSON_PRUNE_KEYS_MAX) {
    if (err && errlen) snprintf(err, errlen, "json_prune: bad key table");
    return JSON_PRUNE_INVALID;
  }
  for (size_t i = 0; i < opts->n_keys; i++) {
    if (opts->keys[i].len > KEY_DECODE_MAX) {
      if (err && errlen) snprintf(err, errlen, "json_prune: key longer than %d", KEY_DECODE_MAX);
      return JSON_PRUNE_INVALID;
    }
    if (opts->keys[i].len < 64) s.len_mask |= 1ULL << opts->keys[i].len;
  }
  s.start = s.p = (const unsigned char *)in;
  s.end = s.start + len;
  s.o = out;
  s.keys = opts->keys;
  s.n_keys = opts->n_keys;
  s.max_depth = opts->max_depth < JANSSON_DEPTH_MAX ? opts->max_depth : JANSSON_DEPTH_MAX;
  skip_ws(&s);
  int rc = scan_value(&s, 1, M_PRUNE);
  if (rc == 0) {
    skip_ws(&s);
    if (s.p != s.end) rc = fail(&s, s.p, "end of file expected");
  }
  if (rc == 0) {
    *out_len = (size_t)(s.o - out);
    return JSON_PRUNE_OK;
  }
  if (s.too_deep) {
    if (err && errlen) snprintf(err, errlen, "JSON nested deeper than %zu levels", s.max_depth);
    return JSON_PRUNE_TOO_DEEP;
  }
  if (err && errlen) snprintf(err, errlen, "malformed JSON at byte %zu: %s", s.at, s.why);
  return JSON_PRUNE_MALFORMED;
}
