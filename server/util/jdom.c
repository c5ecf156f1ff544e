/* jdom: a recursive-descent parser (recursion bounded by max_depth, itself capped at jansson's
 * 2048) that validates and builds in the same pass. Validation follows jansson 2.14's load.c
 * rule for rule (test_jdom and fuzz_jdom compare the two); an error names the first offending
 * byte. Building: the values and keys of the containers still open sit on two scratch stacks
 * (on the C stack while small); when a container closes, its items are copied into the arena
 * as one array, so a tree costs one allocation per arena block and nothing per node. Strings
 * are validated first, then copied (or unescaped) into the arena; skipped members are only
 * validated. Repeated keys: each of an object's first JDOM_SMALL keys is checked as it is read
 * (jansson's order of errors), through a 64-bit filter of key hashes; a larger object is sorted
 * once when it closes, which finds any repeat in O(n log n) and leaves a sorted index after its
 * members for jdom_getn's binary search. */
#include "util/jdom.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hex.h"

#define JANSSON_DEPTH_MAX 2048 /* JSON_PARSER_MAX_DEPTH: jansson counts values, the top is 1 */
#define JDOM_SMALL        16   /* objects up to this many members have no index */
#define VALS_INLINE       256  /* scratch values kept on the C stack before the heap */
#define KEYS_INLINE       128  /* scratch keys, likewise */
#define NUM_COPY_MAX      128  /* numbers up to this long go to strtod from the C stack */
#define BLOCK_MIN         1024 /* added to twice the input for the size of an arena block */

struct jdom_block {
  struct jdom_block *next; /* older block */
  size_t cap, used;        /* bytes of data, bytes handed out */
  unsigned char data[];    /* 8-aligned: the header is three words */
};

enum { M_BUILD, M_WHOLE, M_SKIP }; /* build and skip table keys; build everything; validate */
enum { STR_ESCAPED = 1, STR_NUL = 2 };

/* The key of an open object's member; its value is on the value stack. */
typedef struct pkey {
  const char *key; /* in the arena */
  size_t len;
  size_t pos; /* byte offset of the key in the input, for the repeated-key error */
} pkey;

typedef struct parser {
  const unsigned char *start, *p, *end; /* the input and the next byte to read */
  jdom_doc *doc;
  size_t block_size; /* bytes of an arena block made for this parse: about twice the input */
  const jdom_key *keys;
  size_t n_keys, max_depth;
  uint64_t table_mask;               /* bit key_hash(k) set for every table key k */
  uint8_t table_hash[JDOM_KEYS_MAX]; /* key_hash of each table key */
  unsigned flags;
  jdom_val *vals; /* values of the open containers: inline_vals, or malloc'd when full */
  size_t n_vals, cap_vals;
  pkey *pkeys; /* keys of the open objects' members: inline_keys, or malloc'd when full */
  size_t n_pkeys, cap_pkeys;
  const char *why; /* error: what was wrong ... */
  size_t at;       /* ... at this byte offset */
  bool too_deep, nomem;
  jdom_val inline_vals[VALS_INLINE];
  pkey inline_keys[KEYS_INLINE];
} parser;

static int fail(parser *ps, const unsigned char *at, const char *why) {
  ps->why = why;
  ps->at = (size_t)(at - ps->start);
  return -1;
}

static int fail_nomem(parser *ps) {
  ps->nomem = true;
  return fail(ps, ps->p, "out of memory");
}

/* ---- the arena -------------------------------------------------------------------------- */

void jdom_init(jdom_doc *doc) {
  memset(doc, 0, sizeof *doc);
}

void jdom_free(jdom_doc *doc) {
  if (!doc) return;
  struct jdom_block *b = doc->blocks;
  while (b) {
    struct jdom_block *next = b->next;
    free(b);
    b = next;
  }
  memset(doc, 0, sizeof *doc);
}

size_t jdom_arena_bytes(const jdom_doc *doc) {
  size_t n = 0;
  for (const struct jdom_block *b = doc->blocks; b; b = b->next) n += sizeof *b + b->cap;
  return n;
}

/* arena_alloc's slow path: a new block of block_size bytes, which the newest block was too
 * full for (so every block it replaces is at least 3/4 used). A request of more than a quarter
 * of block_size gets a block of exactly its size, put behind the newest so the space left
 * there is still used. Hence the arena holds at most 4/3 of what the tree uses, plus one
 * block: about 13 bytes per input byte at worst, twice the input in the common case. */
static void *arena_grow(parser *ps, size_t n) {
  struct jdom_block *head = ps->doc->blocks, *b;
  bool own = n > ps->block_size / 4;
  size_t cap = own ? n : ps->block_size;
  if (cap > SIZE_MAX - sizeof *b) return NULL;
  b = malloc(sizeof *b + cap);
  if (!b) return NULL;
  b->cap = cap;
  b->used = n;
  if (own && head) {
    b->next = head->next;
    head->next = b;
  } else {
    b->next = head;
    ps->doc->blocks = b;
  }
  return b->data;
}

/* n bytes aligned to align (a power of two, at most 8) from the newest block, or from a new
 * one; NULL when out of memory. */
static inline void *arena_alloc(parser *ps, size_t n, size_t align) {
  struct jdom_block *head = ps->doc->blocks;
  if (head) {
    size_t off = (head->used + align - 1) & ~(align - 1);
    if (off <= head->cap && n <= head->cap - off) {
      head->used = off + n;
      return head->data + off;
    }
  }
  return arena_grow(ps, n);
}

/* Gives back the tail of the newest allocation p (of `had` bytes) beyond `keep` bytes, when
 * it is at the end of the newest block (a block of its own keeps its tail). */
static void arena_shrink(parser *ps, void *p, size_t had, size_t keep) {
  struct jdom_block *b = ps->doc->blocks;
  if ((unsigned char *)p + had == b->data + b->used) b->used -= had - keep;
}

/* ---- the scratch stacks ----------------------------------------------------------------- */

/* Doubles a stack of *cap elements of `size` bytes at stk, moving it off the inline array
 * `inl` the first time. Returns the new stack, or NULL when out of memory (stk unchanged). */
static void *stack_grow(void *stk, size_t *cap, size_t size, const void *inl) {
  size_t ncap = *cap * 2;
  void *n;
  if (ncap > SIZE_MAX / size) return NULL;
  if (stk == inl) {
    n = malloc(ncap * size);
    if (n) memcpy(n, stk, *cap * size);
  } else {
    n = realloc(stk, ncap * size);
  }
  if (n) *cap = ncap;
  return n;
}

static int push_val(parser *ps, const jdom_val *v) {
  if (ps->n_vals == ps->cap_vals) {
    jdom_val *n = stack_grow(ps->vals, &ps->cap_vals, sizeof *n, ps->inline_vals);
    if (!n) return fail_nomem(ps);
    ps->vals = n;
  }
  ps->vals[ps->n_vals++] = *v;
  return 0;
}

static int push_key(parser *ps, const char *key, size_t len, size_t pos) {
  if (ps->n_pkeys == ps->cap_pkeys) {
    pkey *n = stack_grow(ps->pkeys, &ps->cap_pkeys, sizeof *n, ps->inline_keys);
    if (!n) return fail_nomem(ps);
    ps->pkeys = n;
  }
  ps->pkeys[ps->n_pkeys++] = (pkey){key, len, pos};
  return 0;
}

/* ---- lexing ----------------------------------------------------------------------------- */

static bool is_digit(unsigned char c) {
  return c >= '0' && c <= '9';
}

static void skip_ws(parser *ps) {
  const unsigned char *p = ps->p, *end = ps->end;
  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  ps->p = p;
}

/* Bytes that end the fast path inside a string: '"', '\\', controls and non-ASCII. */
static bool str_special(unsigned char c) {
  return c == '"' || c == '\\' || c < 0x20 || c >= 0x80;
}

#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* The high bit of each special byte of w (read little-endian) and maybe of bytes after the
 * first special one, never before it: a borrow only runs upwards from a byte that matched. So
 * the lowest set bit is exactly the first special byte, and 0 means none is. */
static uint64_t word_special(uint64_t w) {
  uint64_t q = w ^ (ONES * '"'), b = w ^ (ONES * '\\');
  return (((w - ONES * 0x20) & ~w) | ((q - ONES) & ~q) | ((b - ONES) & ~b) | w) & HIGHS;
}

static int hex4(const unsigned char *p, uint32_t *out) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    int d = hex_value(p[i]);
    if (d < 0) return -1;
    v = v << 4 | (uint32_t)d;
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

/* Validates the string whose opening quote is at ps->p and moves past its closing quote.
 * Returns a mask of STR_* flags, or -1. */
static int scan_string(parser *ps) {
  const unsigned char *p = ps->p + 1, *end = ps->end;
  int flags = 0;
  for (;;) {
    while (end - p >= 8) {
      uint64_t w, m;
      memcpy(&w, p, 8);
      if ((m = word_special(w)) != 0) {
#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        p += __builtin_ctzll(m) >> 3;
#endif
        break;
      }
      p += 8;
    }
    while (p < end && !str_special(*p)) p++;
    if (p >= end) return fail(ps, p, "premature end of input in a string");
    unsigned char c = *p;
    if (c == '"') {
      ps->p = p + 1;
      return flags;
    }
    if (c == '\\') {
      flags |= STR_ESCAPED;
      if (end - p < 2) return fail(ps, p, "premature end of input in a string");
      c = p[1];
      if (c == 'u') {
        uint32_t u, lo;
        if (end - p < 6 || hex4(p + 2, &u) < 0) return fail(ps, p, "invalid escape");
        if (u >= 0xdc00 && u <= 0xdfff)
          return fail(ps, p, "invalid Unicode escape (lone surrogate)");
        if (u >= 0xd800 && u <= 0xdbff) {
          if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || hex4(p + 8, &lo) < 0 || lo < 0xdc00 ||
              lo > 0xdfff)
            return fail(ps, p, "invalid Unicode escape (lone surrogate)");
          p += 6;
        }
        if (u == 0) flags |= STR_NUL;
        p += 6;
      } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' ||
                 c == 'r' || c == 't') {
        p += 2;
      } else {
        return fail(ps, p, "invalid escape");
      }
    } else if (c < 0x20) {
      return fail(ps, p, "control character in a string");
    } else {
      size_t n = utf8_seq(p, end);
      if (!n) return fail(ps, p, "invalid UTF-8");
      p += n;
    }
  }
}

/* Unescapes a string already validated by scan_string (p after the opening quote, end at the
 * closing one) into out, which has room for end - p bytes; returns the bytes written. */
static size_t unescape(const unsigned char *p, const unsigned char *end, char *out) {
  char *o = out;
  while (p < end) {
    const unsigned char *q = memchr(p, '\\', (size_t)(end - p));
    size_t lit = q ? (size_t)(q - p) : (size_t)(end - p);
    memcpy(o, p, lit);
    o += lit;
    p += lit;
    if (p >= end) break;
    if (p[1] != 'u') {
      static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
      *o++ = to[strchr(from, p[1]) - from];
      p += 2;
      continue;
    }
    uint32_t u = 0;
    hex4(p + 2, &u);
    p += 6;
    if (u >= 0xd800 && u <= 0xdbff) {
      uint32_t lo = 0;
      hex4(p + 2, &lo);
      p += 6;
      u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
    }
    if (u < 0x80) {
      *o++ = (char)u;
    } else if (u < 0x800) {
      *o++ = (char)(0xc0 | u >> 6);
      *o++ = (char)(0x80 | (u & 0x3f));
    } else if (u < 0x10000) {
      *o++ = (char)(0xe0 | u >> 12);
      *o++ = (char)(0x80 | ((u >> 6) & 0x3f));
      *o++ = (char)(0x80 | (u & 0x3f));
    } else {
      *o++ = (char)(0xf0 | u >> 18);
      *o++ = (char)(0x80 | ((u >> 12) & 0x3f));
      *o++ = (char)(0x80 | ((u >> 6) & 0x3f));
      *o++ = (char)(0x80 | (u & 0x3f));
    }
  }
  return (size_t)(o - out);
}

/* Scans the string at ps->p and, unless out is NULL, copies it into the arena as out->s / n.
 * Returns its STR_* flags or -1. */
static int read_string(parser *ps, const char **out, size_t *out_len) {
  const unsigned char *q = ps->p + 1;
  int flags = scan_string(ps);
  if (flags < 0 || !out) return flags;
  size_t raw = (size_t)(ps->p - 1 - q);
  char *s = arena_alloc(ps, raw + 1, 1);
  if (!s) return fail_nomem(ps);
  size_t n = raw;
  if (flags & STR_ESCAPED) {
    n = unescape(q, ps->p - 1, s);
    arena_shrink(ps, s, raw + 1, n + 1);
  } else {
    memcpy(s, q, raw);
  }
  s[n] = '\0';
  *out = s;
  *out_len = n;
  return flags;
}

/* Powers of ten a double holds exactly. */
static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Numbers as jansson lexes them: integers must fit json_int_t (int64), reals must not overflow
 * a double (underflow is fine). Without fraction or exponent the value is JDOM_INT, otherwise
 * JDOM_REAL with strtod's value: a significand of at most 2^53 with a power of ten up to 22 is
 * one correctly rounded IEEE operation, as exact as strtod; anything else goes to strtod. */
static int scan_number(parser *ps, jdom_val *out) {
  const unsigned char *start = ps->p, *p = ps->p, *end = ps->end;
  bool neg = *p == '-';
  if (neg) p++;
  if (p >= end || !is_digit(*p)) return fail(ps, p, "digit expected");
  const unsigned char *ip = p;
  uint64_t m = 0; /* significant digits, while they fit */
  int sig = 0;    /* significant digits seen (leading zeros are not) */
  if (*p == '0') {
    p++;
    if (p < end && is_digit(*p)) return fail(ps, p, "leading zero in a number");
  } else {
    for (; p < end && is_digit(*p); p++) {
      if (sig < 19) m = m * 10 + (uint64_t)(*p - '0');
      sig++;
    }
  }
  size_t int_digits = (size_t)(p - ip);
  const unsigned char *frac = p, *frac_end = p;
  bool real = false;
  long exp = 0, frac_used = 0;
  if (p < end && *p == '.') {
    real = true;
    frac = ++p;
    if (p >= end || !is_digit(*p)) return fail(ps, p, "digit expected after '.'");
    for (; p < end && is_digit(*p); p++) {
      if (sig == 0 && *p == '0') {
        frac_used++;
        continue;
      }
      if (sig < 19) {
        m = m * 10 + (uint64_t)(*p - '0');
        frac_used++;
      }
      sig++;
    }
    frac_end = p;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    real = true;
    p++;
    bool eneg = false;
    if (p < end && (*p == '+' || *p == '-')) eneg = *p++ == '-';
    if (p >= end || !is_digit(*p)) return fail(ps, p, "digit expected in exponent");
    for (; p < end && is_digit(*p); p++)
      if (exp < 100000) exp = exp * 10 + (*p - '0');
    if (eneg) exp = -exp;
  }
  ps->p = p;
  if (!real) {
    if (int_digits > 19 ||
        (int_digits == 19 &&
         memcmp(ip, neg ? "9223372036854775808" : "9223372036854775807", 19) > 0))
      return fail(ps, start, neg ? "too big negative integer" : "too big integer");
    if (out) {
      out->type = JDOM_INT;
      out->n = 0;
      out->u.i = neg ? (int64_t)(0 - m) : (int64_t)m; /* 0 - 2^63 wraps to INT64_MIN */
    }
    return 0;
  }
  /* The decimal exponent of the leading significant digit decides all but the edge case. */
  long lead;
  if (*ip != '0') {
    lead = (long)int_digits - 1;
  } else {
    const unsigned char *q = frac;
    while (q < frac_end && *q == '0') q++;
    lead = q == frac_end ? LONG_MIN : -(long)(q - frac) - 1; /* LONG_MIN: zero */
  }
  if (lead != LONG_MIN && lead + exp > 308) return fail(ps, start, "real number overflow");
  long e10 = exp - frac_used;
  if (sig <= 19 && (lead == LONG_MIN || (m <= (1ULL << 53) && e10 >= -22 && e10 <= 22))) {
    if (!out) return 0;
    double d = lead == LONG_MIN ? 0.0 : (double)m;
    if (e10 > 0 && d != 0)
      d *= pow10_exact[e10];
    else if (e10 < 0 && d != 0)
      d /= pow10_exact[-e10];
    out->type = JDOM_REAL;
    out->n = 0;
    out->u.d = neg ? -d : d;
    return 0;
  }
  if (!out && lead + exp < 308) return 0;
  size_t n = (size_t)(p - start);
  char stack[NUM_COPY_MAX], *copy = n < sizeof stack ? stack : malloc(n + 1);
  if (!copy) return fail_nomem(ps);
  memcpy(copy, start, n);
  copy[n] = '\0';
  errno = 0;
  double d = strtod(copy, NULL);
  bool overflow = errno == ERANGE && isinf(d);
  if (copy != stack) free(copy);
  if (overflow) return fail(ps, start, "real number overflow");
  if (out) {
    out->type = JDOM_REAL;
    out->n = 0;
    out->u.d = d;
  }
  return 0;
}

/* ---- objects: keys, repeats, the index -------------------------------------------------- */

static int key_cmp(const char *a, size_t alen, const char *b, size_t blen) {
  if (alen != blen) return alen < blen ? -1 : 1;
  return memcmp(a, b, alen);
}

/* Equal keys; the first byte is compared inline since most keys differ there. */
static inline bool key_eq(const char *a, size_t alen, const char *b, size_t blen) {
  return alen == blen && (alen == 0 || (a[0] == b[0] && memcmp(a, b, alen) == 0));
}

/* A 6-bit digest of a key for an object's filter of keys seen: equal keys always collide, so
 * only a hit needs the comparison with every key before it. */
static inline unsigned key_hash(const char *k, size_t n) {
  unsigned h = (unsigned)n * 0x9e37u;
  if (n) h += (unsigned char)k[0] * 31u + (unsigned char)k[n - 1] * 7u + (unsigned char)k[n / 2];
  return (h ^ h >> 6) & 63;
}

/* Index of the table entry for key[0..n) (whose key_hash is hash), or -1. */
static int match_key(const parser *ps, const char *key, size_t n, unsigned hash) {
  if (!(ps->table_mask >> hash & 1)) return -1;
  for (size_t i = 0; i < ps->n_keys; i++)
    if (ps->table_hash[i] == hash && key_eq(ps->keys[i].name, ps->keys[i].len, key, n))
      return (int)i;
  return -1;
}

/* Order of the index: by key (length first), then by position, so equal keys are adjacent
 * and the last one in the document comes last. */
static bool idx_less(const jdom_member *e, uint32_t a, uint32_t b) {
  int c = key_cmp(e[a].key, e[a].key_len, e[b].key, e[b].key_len);
  return c < 0 || (c == 0 && a < b);
}

static void sift_down(const jdom_member *e, uint32_t *idx, size_t root, size_t n) {
  for (;;) {
    size_t child = 2 * root + 1;
    if (child >= n) return;
    if (child + 1 < n && idx_less(e, idx[child], idx[child + 1])) child++;
    if (!idx_less(e, idx[root], idx[child])) return;
    uint32_t t = idx[root];
    idx[root] = idx[child];
    idx[child] = t;
    root = child;
  }
}

/* Heapsort: O(n log n) whatever the keys, and no extra memory. */
static void sort_index(const jdom_member *e, uint32_t *idx, size_t n) {
  for (size_t i = 0; i < n; i++) idx[i] = (uint32_t)i;
  for (size_t i = n / 2; i-- > 0;) sift_down(e, idx, i, n);
  for (size_t i = n; i-- > 1;) {
    uint32_t t = idx[0];
    idx[0] = idx[i];
    idx[i] = t;
    sift_down(e, idx, 0, i);
  }
}

/* Moves the members on top of the stacks (from vbase / kbase) into the arena as an object
 * (with the sorted index after them when it is large) and checks a large object for repeats. */
static int close_object(parser *ps, size_t vbase, size_t kbase, jdom_val *out) {
  size_t n = ps->n_vals - vbase;
  size_t bytes = n * sizeof(jdom_member) + (n > JDOM_SMALL ? n * sizeof(uint32_t) : 0);
  jdom_member *mem = n ? arena_alloc(ps, bytes, 8) : NULL;
  if (n && !mem) return fail_nomem(ps);
  for (size_t i = 0; i < n; i++) {
    const pkey *k = &ps->pkeys[kbase + i];
    mem[i].key = k->key;
    mem[i].key_len = k->len;
    mem[i].val = ps->vals[vbase + i];
  }
  if (n > JDOM_SMALL) {
    uint32_t *idx = (uint32_t *)(mem + n);
    sort_index(mem, idx, n);
    if (!(ps->flags & JDOM_ALLOW_DUPLICATES)) {
      size_t first = SIZE_MAX; /* the earliest key that repeats one before it */
      for (size_t i = 1; i < n; i++) {
        const jdom_member *a = &mem[idx[i - 1]], *b = &mem[idx[i]];
        size_t pos = ps->pkeys[kbase + idx[i]].pos;
        if (key_cmp(a->key, a->key_len, b->key, b->key_len) == 0 && pos < first) first = pos;
      }
      if (first != SIZE_MAX) return fail(ps, ps->start + first, "duplicate object key");
    }
  }
  ps->n_vals = vbase;
  ps->n_pkeys = kbase;
  out->type = JDOM_OBJECT;
  out->n = (uint32_t)n;
  out->u.members = mem;
  return 0;
}

static int parse_value(parser *ps, size_t depth, int mode, jdom_val *out);

static int parse_object(parser *ps, size_t depth, int mode, jdom_val *out) {
  size_t vbase = ps->n_vals, kbase = ps->n_pkeys;
  uint64_t seen = 0;   /* table keys met in this object */
  uint64_t filter = 0; /* key_hash bits of the keys built so far */
  ps->p++;
  skip_ws(ps);
  if (ps->p < ps->end && *ps->p == '}') {
    ps->p++;
    return mode == M_SKIP ? 0 : close_object(ps, vbase, kbase, out);
  }
  for (;;) {
    const unsigned char *kp = ps->p;
    if (kp >= ps->end || *kp != '"') return fail(ps, kp, "string or '}' expected");
    struct jdom_block *mark_b = ps->doc->blocks;
    size_t mark_used = mark_b ? mark_b->used : 0;
    const char *key = NULL;
    size_t key_len = 0;
    int flags = read_string(ps, mode == M_SKIP ? NULL : &key, &key_len);
    if (flags < 0) return -1;
    if (flags & STR_NUL) return fail(ps, kp, "NUL byte in object key not supported");
    int child = mode;
    unsigned hash = mode == M_SKIP ? 0 : key_hash(key, key_len);
    if (mode == M_BUILD) {
      int i = match_key(ps, key, key_len, hash);
      if (i >= 0) {
        if ((seen >> i & 1) && !(ps->flags & JDOM_ALLOW_DUPLICATES))
          return fail(ps, kp, "duplicate object key");
        seen |= 1ULL << i;
        child = ps->keys[i].action == JDOM_KEY_SKIP ? M_SKIP : M_WHOLE;
      }
    }
    if (mode != M_SKIP && child == M_SKIP) { /* give the key's bytes back */
      if (ps->doc->blocks == mark_b)
        mark_b->used = mark_used;
      else
        ps->doc->blocks->used = 0;
    }
    if (child != M_SKIP && !(ps->flags & JDOM_ALLOW_DUPLICATES) &&
        ps->n_pkeys - kbase < JDOM_SMALL) {
      uint64_t bit = 1ULL << hash;
      if (filter & bit) {
        for (size_t i = kbase; i < ps->n_pkeys; i++)
          if (key_eq(ps->pkeys[i].key, ps->pkeys[i].len, key, key_len))
            return fail(ps, kp, "duplicate object key");
      }
      filter |= bit;
    }
    skip_ws(ps);
    if (ps->p >= ps->end || *ps->p != ':') return fail(ps, ps->p, "':' expected");
    ps->p++;
    skip_ws(ps);
    if (child == M_SKIP) {
      if (parse_value(ps, depth + 1, M_SKIP, NULL) < 0) return -1;
    } else {
      jdom_val v;
      if (push_key(ps, key, key_len, (size_t)(kp - ps->start)) < 0 ||
          parse_value(ps, depth + 1, child, &v) < 0 || push_val(ps, &v) < 0)
        return -1;
    }
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ',') {
      ps->p++;
      skip_ws(ps);
    } else if (ps->p < ps->end && *ps->p == '}') {
      ps->p++;
      return mode == M_SKIP ? 0 : close_object(ps, vbase, kbase, out);
    } else {
      return fail(ps, ps->p, "',' or '}' expected");
    }
  }
}

static int close_array(parser *ps, size_t base, jdom_val *out) {
  size_t n = ps->n_vals - base;
  jdom_val *items = n ? arena_alloc(ps, n * sizeof *items, 8) : NULL;
  if (n && !items) return fail_nomem(ps);
  if (n) memcpy(items, ps->vals + base, n * sizeof *items);
  ps->n_vals = base;
  out->type = JDOM_ARRAY;
  out->n = (uint32_t)n;
  out->u.items = items;
  return 0;
}

static int parse_array(parser *ps, size_t depth, int mode, jdom_val *out) {
  size_t base = ps->n_vals;
  ps->p++;
  skip_ws(ps);
  if (ps->p < ps->end && *ps->p == ']') {
    ps->p++;
    return mode == M_SKIP ? 0 : close_array(ps, base, out);
  }
  for (;;) {
    if (mode == M_SKIP) {
      if (parse_value(ps, depth + 1, M_SKIP, NULL) < 0) return -1;
    } else {
      jdom_val v;
      if (parse_value(ps, depth + 1, mode, &v) < 0 || push_val(ps, &v) < 0) return -1;
    }
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ',') {
      ps->p++;
      skip_ws(ps);
    } else if (ps->p < ps->end && *ps->p == ']') {
      ps->p++;
      return mode == M_SKIP ? 0 : close_array(ps, base, out);
    } else {
      return fail(ps, ps->p, "',' or ']' expected");
    }
  }
}

/* depth counts values the way jansson does: the top-level value is 1. out is NULL in M_SKIP. */
static int parse_value(parser *ps, size_t depth, int mode, jdom_val *out) {
  const unsigned char *v = ps->p;
  if (depth > JANSSON_DEPTH_MAX) return fail(ps, v, "maximum parsing depth reached");
  if (v >= ps->end) return fail(ps, v, "premature end of input");
  switch (*v) {
  case '{':
  case '[':
    if (depth > ps->max_depth) {
      ps->too_deep = true;
      return fail(ps, v, "nested too deep");
    }
    return *v == '{' ? parse_object(ps, depth, mode, out) : parse_array(ps, depth, mode, out);
  case '"': {
    const char *s = NULL;
    size_t n = 0;
    int flags = read_string(ps, out ? &s : NULL, &n);
    if (flags < 0) return -1;
    if ((flags & STR_NUL) && !(ps->flags & JDOM_ALLOW_NUL))
      return fail(ps, v, "\\u0000 is not allowed without JSON_ALLOW_NUL");
    if (out) {
      out->type = JDOM_STRING;
      out->n = (uint32_t)n;
      out->u.s = s;
    }
    return 0;
  }
  case 't':
  case 'f':
  case 'n': {
    const char *lit = *v == 't' ? "true" : *v == 'f' ? "false" : "null";
    size_t n = *v == 'f' ? 5 : 4;
    if ((size_t)(ps->end - v) < n || memcmp(v, lit, n) != 0) return fail(ps, v, "invalid token");
    ps->p += n;
    if (out) {
      out->type = *v == 't' ? JDOM_TRUE : *v == 'f' ? JDOM_FALSE : JDOM_NULL;
      out->n = 0;
      out->u.i = 0;
    }
    return 0;
  }
  default:
    if (*v != '-' && !is_digit(*v)) return fail(ps, v, "invalid token");
    return scan_number(ps, out);
  }
}

/* ---- entry points ----------------------------------------------------------------------- */

int jdom_parse(jdom_doc *doc, const char *in, size_t len, const jdom_opts *opts,
               const jdom_val **root, char *err, size_t errlen) {
  static const jdom_opts defaults = {JANSSON_DEPTH_MAX, 0, NULL, 0};
  parser st, *ps = &st; /* on the C stack, with the first STACK_INLINE scratch entries */
  int rc = JDOM_OK;
  *root = NULL;
  doc->err_at = 0;
  doc->err_why = NULL;
  if (err && errlen) err[0] = '\0';
  if (!opts) opts = &defaults;
  if ((opts->n_keys && !opts->keys) || opts->n_keys > JDOM_KEYS_MAX || len >= UINT32_MAX ||
      (!in && len)) {
    doc->err_why = "bad arguments";
    if (err && errlen) snprintf(err, errlen, "jdom: bad key table or input");
    return JDOM_INVALID;
  }
  memset(ps, 0, offsetof(parser, inline_vals));
  ps->start = ps->p = (const unsigned char *)(in ? in : "");
  ps->end = ps->start + len;
  ps->doc = doc;
  ps->block_size = len * 2 + BLOCK_MIN;
  ps->keys = opts->keys;
  ps->n_keys = opts->n_keys;
  for (size_t i = 0; i < opts->n_keys; i++) {
    ps->table_hash[i] = (uint8_t)key_hash(opts->keys[i].name, opts->keys[i].len);
    ps->table_mask |= 1ULL << ps->table_hash[i];
  }
  ps->max_depth = opts->max_depth < JANSSON_DEPTH_MAX ? opts->max_depth : JANSSON_DEPTH_MAX;
  ps->flags = opts->flags;
  ps->vals = ps->inline_vals;
  ps->cap_vals = VALS_INLINE;
  ps->pkeys = ps->inline_keys;
  ps->cap_pkeys = KEYS_INLINE;

  jdom_val top;
  skip_ws(ps);
  int r = parse_value(ps, 1, M_BUILD, &top);
  if (r == 0) {
    skip_ws(ps);
    if (ps->p != ps->end) r = fail(ps, ps->p, "end of file expected");
  }
  jdom_val *node = r == 0 ? arena_alloc(ps, sizeof *node, 8) : NULL;
  if (r == 0 && !node) r = fail_nomem(ps);
  if (r == 0) {
    *node = top;
    *root = node;
  } else {
    doc->err_at = ps->at;
    doc->err_why = ps->why;
    rc = ps->nomem ? JDOM_NOMEM : ps->too_deep ? JDOM_TOO_DEEP : JDOM_MALFORMED;
    if (err && errlen) {
      if (rc == JDOM_NOMEM)
        snprintf(err, errlen, "out of memory");
      else if (rc == JDOM_TOO_DEEP)
        snprintf(err, errlen, "JSON nested deeper than %zu levels", ps->max_depth);
      else
        snprintf(err, errlen, "malformed JSON at byte %zu: %s", ps->at, ps->why);
    }
  }
  if (ps->vals != ps->inline_vals) free(ps->vals);
  if (ps->pkeys != ps->inline_keys) free(ps->pkeys);
  return rc;
}

const jdom_val *jdom_getn(const jdom_val *obj, const char *key, size_t len) {
  if (!jdom_is_object(obj)) return NULL;
  const jdom_member *m = obj->u.members;
  size_t n = obj->n;
  if (n <= JDOM_SMALL) {
    for (size_t i = n; i-- > 0;)
      if (key_eq(m[i].key, m[i].key_len, key, len)) return &m[i].val;
    return NULL;
  }
  /* The last index position whose key is <= key; equal keys sit in document order. */
  const uint32_t *idx = (const uint32_t *)(m + n);
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (key_cmp(m[idx[mid]].key, m[idx[mid]].key_len, key, len) <= 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo > 0 && key_cmp(m[idx[lo - 1]].key, m[idx[lo - 1]].key_len, key, len) == 0)
    return &m[idx[lo - 1]].val;
  return NULL;
}
