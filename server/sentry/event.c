/* event: turns one parsed Sentry event into the fields sluice indexes (id, time, level, release,
 * environment, message) and its issue identity: grouping fingerprint, title and culprit.
 * Pure; runs on the event loop thread; never modifies the JSON and keeps no state between calls.
 * The fingerprint is a streaming SHA-256 over "components": byte strings each ended by 0x00,
 * with 0x00 and 0x01 inside a component escaped (0x01 0x01, 0x01 0x02), so any sequence of
 * components has exactly one encoding. Every component list starts with a version and a
 * strategy tag, so a custom fingerprint can never collide with a default one.
 * Work is linear in the size of the event; the only allocations are the five output strings.
 * Threads stack traces are deliberately not used when the event has a message (see
 * emit_default): python's attach_stacktrace and logging put the capture site there, and the
 * message is what the user means by "the same event". */
#include "sentry/event.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/crypto.h"
#include "util/hex.h"
#include "util/timefmt.h"

#define TITLE_MAX        256  /* bytes of title/culprit text before "..." is appended */
#define MESSAGE_MAX      8192 /* bytes kept of the formatted message for search */
#define TAG_MAX          200  /* bytes kept of release / environment */
#define FILENAME_MAX_G   1024 /* bytes of a frame's file name that take part in grouping */
#define GROUPING_VERSION "sluice-grouping-1"

/* ---- small helpers ---------------------------------------------------------------------- */

static bool is_digit(unsigned char c) {
  return c >= '0' && c <= '9';
}
static bool is_alpha(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
/* Bytes >= 0x80 count as word characters so a digit inside a non-ASCII word stays put. */
static bool is_word(unsigned char c) {
  return is_digit(c) || is_alpha(c) || c == '_' || c >= 0x80;
}
static char lower(char c) {
  return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static void set_err(char *err, size_t errlen, const char *field, const char *why) {
  if (err && errlen) snprintf(err, errlen, "%s: %s", field, why);
}

/* A JSON string as pointer + length (strings may hold NUL bytes). */
typedef struct str {
  const char *p;
  size_t n;
} str;

/* Never yields a NULL pointer: absent or non-string values read as "". */
static str jstr(const jdom_val *v) {
  str s = {"", 0};
  if (jdom_is_string(v)) {
    s.p = v->u.s;
    s.n = v->n;
  }
  return s;
}

/* Length of the longest prefix of s[0..n) not longer than max that does not split a UTF-8
 * sequence. */
static size_t utf8_cut(const char *s, size_t n, size_t max) {
  if (n <= max) return n;
  size_t k = max;
  while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80) k--;
  return k;
}

/* Growable string with a hard size bound; past the bound it silently truncates (at a UTF-8
 * boundary) and records that it did. Amortised linear appends. */
typedef struct sbuf {
  char *p;
  size_t len, cap, max;
  bool truncated, oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
  if (b->truncated || b->oom || n == 0) return;
  if (b->len + n > b->max) {
    n = utf8_cut(s, n, b->max - b->len);
    b->truncated = true;
  }
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + n + 1) cap *= 2;
    if (cap > b->max + 1) cap = b->max + 1;
    char *np = realloc(b->p, cap);
    if (!np) {
      b->oom = true;
      return;
    }
    b->p = np;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

/* Returns the buffer (never NULL on success, "" when empty) and resets b; NULL on OOM. */
static char *sb_take(sbuf *b) {
  char *p = b->p;
  if (b->oom) {
    free(p);
    p = NULL;
  } else if (!p) {
    p = calloc(1, 1);
  }
  memset(b, 0, sizeof *b);
  return p;
}

static char *dup_cut(const char *s, size_t n, size_t max) {
  n = utf8_cut(s, n, max);
  char *p = malloc(n + 1);
  if (!p) return NULL;
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

/* A JSON scalar as text: strings as-is, numbers in their shortest round-trip form, booleans
 * and null as in JSON. Returns -1 for objects and arrays. */
static int scalar_text(const jdom_val *v, char *tmp, size_t tmpcap, str *out) {
  if (jdom_is_string(v)) {
    *out = jstr(v);
    return 0;
  }
  if (jdom_is(v, JDOM_INT)) {
    snprintf(tmp, tmpcap, "%" PRId64, v->u.i);
  } else if (jdom_is(v, JDOM_REAL)) {
    double d = v->u.d;
    snprintf(tmp, tmpcap, "%.15g", d);
    if (strtod(tmp, NULL) != d) snprintf(tmp, tmpcap, "%.17g", d);
  } else if (jdom_is_true(v)) {
    snprintf(tmp, tmpcap, "true");
  } else if (jdom_is(v, JDOM_FALSE)) {
    snprintf(tmp, tmpcap, "false");
  } else if (jdom_is_null(v)) {
    snprintf(tmp, tmpcap, "null");
  } else {
    return -1;
  }
  out->p = tmp;
  out->n = strlen(tmp);
  return 0;
}

/* ---- the grouping hasher ---------------------------------------------------------------- */

typedef struct grouper {
  sha256_ctx sha;
  size_t n;         /* bytes staged in buf */
  uint8_t buf[512]; /* staging so sha256_update sees large chunks */
} grouper;

static void g_byte(grouper *g, uint8_t b) {
  if (g->n == sizeof g->buf) {
    sha256_update(&g->sha, g->buf, g->n);
    g->n = 0;
  }
  g->buf[g->n++] = b;
}

/* Appends bytes to the current component, escaping the separator and the escape byte. */
static void g_bytes(grouper *g, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint8_t b = (uint8_t)s[i];
    if (b <= 1) {
      g_byte(g, 1);
      b = (uint8_t)(b + 1);
    }
    g_byte(g, b);
  }
}

static void g_end(grouper *g) {
  g_byte(g, 0);
}

static void g_comp(grouper *g, const char *s, size_t n) {
  g_bytes(g, s, n);
  g_end(g);
}

static void g_lit(grouper *g, const char *s) {
  g_comp(g, s, strlen(s));
}

static void g_finish(grouper *g, char out[65]) {
  uint8_t d[32];
  if (g->n) sha256_update(&g->sha, g->buf, g->n);
  g->n = 0;
  sha256_final(&g->sha, d);
  hex_encode(d, 32, out);
}

/* If a variable part (UUID, 0x-hex, long hex id, number) starts at s[0..n), returns its
 * placeholder and sets *len to the bytes it covers; otherwise NULL. The caller guarantees the
 * byte before s is not a word character. */
static const char *match_variable(const char *s, size_t n, size_t *len) {
  const unsigned char *u = (const unsigned char *)s;
  if (hex_value(u[0]) < 0) return NULL;
  /* UUID: 8-4-4-4-12 hex digits. */
  if (n >= 36) {
    bool ok = true;
    for (size_t i = 0; i < 36 && ok; i++)
      ok = (i == 8 || i == 13 || i == 18 || i == 23) ? u[i] == '-' : hex_value(u[i]) >= 0;
    if (ok && (n == 36 || !is_word(u[36]))) {
      *len = 36;
      return "<uuid>";
    }
  }
  /* 0x-prefixed hex. */
  if (u[0] == '0' && n > 2 && (u[1] == 'x' || u[1] == 'X') && hex_value(u[2]) >= 0) {
    size_t i = 2;
    while (i < n && hex_value(u[i]) >= 0) i++;
    *len = i;
    return "<hex>";
  }
  /* A whole word of 8+ hex digits mixing letters and digits: hashes, object ids. */
  size_t i = 0;
  bool letter = false, digit = false;
  while (i < n && hex_value(u[i]) >= 0) {
    if (is_digit(u[i]))
      digit = true;
    else
      letter = true;
    i++;
  }
  if (i >= 8 && letter && digit && (i == n || !is_word(u[i]))) {
    *len = i;
    return "<hex>";
  }
  /* Integers and decimals (and dotted runs such as IPv4 addresses or versions). */
  if (is_digit(u[0])) {
    i = 0;
    while (i < n && is_digit(u[i])) i++;
    while (i + 1 < n && u[i] == '.' && is_digit(u[i + 1])) {
      i++;
      while (i < n && is_digit(u[i])) i++;
    }
    *len = i;
    return "<num>";
  }
  return NULL;
}

/* Appends s with its variable parts replaced by placeholders, as one component. */
static void g_normalized(grouper *g, const char *s, size_t n) {
  size_t i = 0, lit = 0;
  while (i < n) {
    if (i == 0 || !is_word((unsigned char)s[i - 1])) {
      size_t len;
      const char *ph = match_variable(s + i, n - i, &len);
      if (ph) {
        g_bytes(g, s + lit, i - lit);
        g_bytes(g, ph, strlen(ph));
        i += len;
        lit = i;
        continue;
      }
    }
    i++;
  }
  g_bytes(g, s + lit, n - lit);
  g_end(g);
}

/* A frame's file name made stable across deploys: no scheme://host, no ?query or #fragment,
 * no trailing :line[:col], and build hashes replaced. */
static void g_filename(grouper *g, const char *s, size_t n) {
  const char *sep = n > 3 ? memmem(s, n < 24 ? n : 24, "://", 3) : NULL;
  if (sep) {
    bool scheme = sep > s;
    for (const char *q = s; q < sep && scheme; q++) scheme = is_alpha((unsigned char)*q);
    if (scheme) {
      const char *path = memchr(sep + 3, '/', n - (size_t)(sep + 3 - s));
      size_t skip = path ? (size_t)(path - s) : n;
      s += skip;
      n -= skip;
    }
  }
  for (size_t i = 0; i < n; i++)
    if (s[i] == '?' || s[i] == '#') n = i;
  for (;;) { /* strip ":123" suffixes, at most line and column */
    size_t k = n;
    while (k > 0 && is_digit((unsigned char)s[k - 1])) k--;
    if (k == n || k == 0 || s[k - 1] != ':') break;
    n = k - 1;
  }
  if (n > FILENAME_MAX_G) n = FILENAME_MAX_G;
  size_t i = 0, lit = 0;
  while (i < n) {
    if (i == 0 || !is_word((unsigned char)s[i - 1])) {
      size_t j = i;
      bool letter = false, digit = false;
      while (j < n && hex_value((unsigned char)s[j]) >= 0) {
        if (is_digit((unsigned char)s[j]))
          digit = true;
        else
          letter = true;
        j++;
      }
      if (j - i >= 8 && letter && digit && (j == n || !is_word((unsigned char)s[j]))) {
        g_bytes(g, s + lit, i - lit);
        g_bytes(g, "<hash>", 6);
        i = lit = j;
        continue;
      }
    }
    i++;
  }
  g_bytes(g, s + lit, n - lit);
  g_end(g);
}

/* ---- reading the event ------------------------------------------------------------------ */

/* One frame's fields, borrowed from the JSON. */
typedef struct frame {
  str module, filename, function;
  bool in_app;
} frame;

/* The exception list: either an array of values or one legacy single exception object. */
typedef struct excs {
  const jdom_val *arr;    /* array of values, or NULL */
  const jdom_val *single; /* {"type":...} given directly as "exception", or NULL */
} excs;

static size_t excs_count(const excs *x) {
  return x->arr ? jdom_size(x->arr) : x->single ? 1 : 0;
}
static const jdom_val *excs_get(const excs *x, size_t i) {
  return x->arr ? jdom_at(x->arr, i) : x->single;
}

/* One exception value, borrowed. Only valid for values that passed check_exceptions. */
typedef struct exc {
  str type, value;
  const jdom_val *frames; /* array or NULL */
  bool synthetic;         /* mechanism.synthetic: type/value carry no meaning */
} exc;

static const jdom_val *get(const jdom_val *obj, const char *key) {
  const jdom_val *v = jdom_get(obj, key);
  return jdom_is_null(v) ? NULL : v;
}

static const jdom_val *stack_frames(const jdom_val *st) {
  const jdom_val *f = st ? get(st, "frames") : NULL;
  return jdom_is_array(f) ? f : NULL;
}

static bool exc_read(const jdom_val *v, exc *e) {
  memset(e, 0, sizeof *e);
  if (!jdom_is_object(v)) return false;
  e->type = jstr(get(v, "type"));
  e->value = jstr(get(v, "value"));
  e->frames = stack_frames(get(v, "stacktrace"));
  const jdom_val *mech = get(v, "mechanism");
  e->synthetic = mech && jdom_is_true(jdom_get(mech, "synthetic"));
  return true;
}

static bool frame_read(const jdom_val *f, frame *fr) {
  memset(fr, 0, sizeof *fr);
  if (!jdom_is_object(f)) return false;
  fr->module = jstr(get(f, "module"));
  fr->filename = jstr(get(f, "filename"));
  if (!fr->filename.n) fr->filename = jstr(get(f, "abs_path"));
  fr->function = jstr(get(f, "function"));
  fr->in_app = jdom_is_true(jdom_get(f, "in_app"));
  return fr->module.n || fr->filename.n || fr->function.n;
}

/* Type-checks a stack trace object; adds its frame counts to *frames / *in_app. */
static int check_stack(const jdom_val *st, const char *field, size_t *frames, size_t *in_app,
                       char *err, size_t errlen) {
  static const char *const str_keys[] = {"module", "filename", "abs_path", "function"};
  if (!st) return 0;
  if (!jdom_is_object(st)) {
    set_err(err, errlen, field, "stacktrace must be an object");
    return -1;
  }
  const jdom_val *fr = get(st, "frames");
  if (!fr) return 0;
  if (!jdom_is_array(fr)) {
    set_err(err, errlen, field, "stacktrace.frames must be an array");
    return -1;
  }
  size_t i;
  const jdom_val *f;
  jdom_array_foreach(fr, i, f) {
    if (jdom_is_null(f)) continue;
    if (!jdom_is_object(f)) {
      set_err(err, errlen, field, "each stack frame must be an object");
      return -1;
    }
    for (size_t k = 0; k < sizeof str_keys / sizeof str_keys[0]; k++) {
      const jdom_val *v = get(f, str_keys[k]);
      if (v && !jdom_is_string(v)) {
        set_err(err, errlen, field, "frame module/filename/function must be strings");
        return -1;
      }
    }
    frame fm;
    if (frame_read(f, &fm)) {
      (*frames)++;
      if (fm.in_app) (*in_app)++;
    }
  }
  return 0;
}

/* What the event says, gathered and type-checked once. */
typedef struct facts {
  excs exc;
  size_t n_exc_frames, n_exc_in_app; /* over all exception values */
  bool exc_usable;                   /* some value has a type, value or frame */
  bool all_synthetic;                /* every usable value is synthetic */
  const jdom_val *stack;             /* top-level "stacktrace" frames array, or NULL */
  size_t n_stack_in_app;
  str tmpl;                /* logentry.message / message.message: the template */
  str formatted;           /* logentry.formatted / message.formatted / message string */
  const jdom_val *params;  /* array or object, or NULL */
  bool has_message;        /* tmpl or formatted non-empty */
  const jdom_val *threads; /* threads.values (or bare array), or NULL */
} facts;

static int check_exceptions(const jdom_val *ev, facts *fx, char *err, size_t errlen) {
  const jdom_val *x = get(ev, "exception");
  if (!x) return 0;
  if (jdom_is_array(x)) {
    fx->exc.arr = x;
  } else if (jdom_is_object(x)) {
    const jdom_val *vals = jdom_get(x, "values");
    if (vals && !jdom_is_null(vals) && !jdom_is_array(vals)) {
      set_err(err, errlen, "exception", "values must be an array");
      return -1;
    }
    if (jdom_is_array(vals))
      fx->exc.arr = vals;
    else if (!vals && (get(x, "type") || get(x, "value") || get(x, "stacktrace")))
      fx->exc.single = x;
  } else {
    set_err(err, errlen, "exception", "must be an object with values or an array");
    return -1;
  }
  fx->all_synthetic = true;
  size_t n = excs_count(&fx->exc);
  for (size_t i = 0; i < n; i++) {
    const jdom_val *v = excs_get(&fx->exc, i);
    if (jdom_is_null(v)) continue;
    if (!jdom_is_object(v)) {
      set_err(err, errlen, "exception", "each value must be an object");
      return -1;
    }
    const jdom_val *t = get(v, "type"), *val = get(v, "value"), *mech = get(v, "mechanism");
    if ((t && !jdom_is_string(t)) || (val && !jdom_is_string(val))) {
      set_err(err, errlen, "exception", "type and value must be strings");
      return -1;
    }
    if (mech && !jdom_is_object(mech)) {
      set_err(err, errlen, "exception", "mechanism must be an object");
      return -1;
    }
    size_t frames = 0;
    if (check_stack(get(v, "stacktrace"), "exception", &frames, &fx->n_exc_in_app, err, errlen) < 0)
      return -1;
    fx->n_exc_frames += frames;
    exc e;
    exc_read(v, &e);
    if (e.type.n || e.value.n || frames) {
      fx->exc_usable = true;
      if (!e.synthetic) fx->all_synthetic = false;
    }
  }
  return 0;
}

/* logentry (or the legacy interface name) and message, which SDKs send as a string or as an
 * object shaped like logentry. The first non-empty template / formatted text wins. */
static int check_message(const jdom_val *ev, facts *fx, char *err, size_t errlen) {
  static const char *const keys[] = {"logentry", "sentry.interfaces.Message", "message"};
  for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
    const jdom_val *m = get(ev, keys[k]);
    const char *field = k == 2 ? "message" : "logentry";
    if (!m) continue;
    if (jdom_is_string(m) && k == 2) {
      if (!fx->formatted.n) fx->formatted = jstr(m);
      continue;
    }
    if (!jdom_is_object(m)) {
      set_err(err, errlen, field, k == 2 ? "must be a string or an object" : "must be an object");
      return -1;
    }
    const jdom_val *t = get(m, "message"), *f = get(m, "formatted"), *p = get(m, "params");
    if ((t && !jdom_is_string(t)) || (f && !jdom_is_string(f))) {
      set_err(err, errlen, field, "message and formatted must be strings");
      return -1;
    }
    if (p && !jdom_is_array(p) && !jdom_is_object(p)) {
      set_err(err, errlen, field, "params must be an array or object");
      return -1;
    }
    if (!fx->tmpl.n && t && t->n) {
      fx->tmpl = jstr(t);
      fx->params = p;
    }
    if (!fx->formatted.n) fx->formatted = jstr(f);
  }
  fx->has_message = fx->tmpl.n || fx->formatted.n;
  return 0;
}

/* The stack of the crashed thread, else the current one, else the only one with frames.
 * Threads are optional context: anything malformed is ignored, not an error. */
static const jdom_val *threads_frames(const jdom_val *ev) {
  const jdom_val *t = get(ev, "threads");
  if (jdom_is_object(t)) t = jdom_get(t, "values");
  if (!jdom_is_array(t)) return NULL;
  const jdom_val *crashed = NULL, *current = NULL, *only = NULL;
  size_t i, with_frames = 0;
  const jdom_val *th;
  jdom_array_foreach(t, i, th) {
    if (!jdom_is_object(th)) continue;
    const jdom_val *st = get(th, "stacktrace");
    const jdom_val *fr = jdom_is_object(st) ? stack_frames(st) : NULL;
    if (!fr || !jdom_size(fr)) continue;
    with_frames++;
    only = fr;
    if (!crashed && jdom_is_true(jdom_get(th, "crashed"))) crashed = fr;
    if (!current && jdom_is_true(jdom_get(th, "current"))) current = fr;
  }
  if (crashed) return crashed;
  if (current) return current;
  return with_frames == 1 ? only : NULL;
}

/* ---- grouping --------------------------------------------------------------------------- */

/* Frames of one stack, in order, as ("f", module-or-file, function) components. With in_app_only
 * set only in-app frames count. Returns the number of frames emitted. */
static size_t emit_frames(grouper *g, const jdom_val *frames, bool in_app_only) {
  size_t i, n = 0;
  const jdom_val *f;
  if (!frames) return 0;
  jdom_array_foreach(frames, i, f) {
    frame fr;
    if (!frame_read(f, &fr) || (in_app_only && !fr.in_app)) continue;
    g_lit(g, "f");
    if (fr.module.n)
      g_comp(g, fr.module.p, fr.module.n);
    else
      g_filename(g, fr.filename.p, fr.filename.n);
    g_comp(g, fr.function.p, fr.function.n);
    n++;
  }
  return n;
}

static bool stack_has_in_app(const jdom_val *frames) {
  size_t i;
  const jdom_val *f;
  frame fr;
  jdom_array_foreach(frames, i, f) if (frame_read(f, &fr) && fr.in_app) return true;
  return false;
}

/* Message text for grouping: a template that came with parameters is used verbatim (the SDK
 * already split the variable parts out); anything else is normalised. */
static void emit_message(grouper *g, const facts *fx) {
  g_lit(g, "message");
  bool has_params =
      fx->params && (jdom_is_array(fx->params) ? jdom_size(fx->params) : jdom_size(fx->params));
  if (fx->tmpl.n && has_params)
    g_comp(g, fx->tmpl.p, fx->tmpl.n);
  else if (fx->tmpl.n)
    g_normalized(g, fx->tmpl.p, fx->tmpl.n);
  else
    g_normalized(g, fx->formatted.p, fx->formatted.n);
}

/* The default grouping components, in precedence order:
 *  1. exceptions with frames: every value's type (unless synthetic) and its frames, in-app
 *     frames only when any exception frame is in-app;
 *  2. exceptions without frames: every value's type and normalised value;
 *     (exceptions that are all synthetic - node's captureMessage with attachStacktrace - on an
 *     event that has a message are treated as a message event, like python's threads case)
 *  3. the message (template verbatim when it has params, else normalised);
 *  4. with neither exception nor message: the top-level or thread stack trace;
 *  5. otherwise a fixed "empty" marker: such events share one group. */
static void emit_default(grouper *g, const facts *fx) {
  size_t n = excs_count(&fx->exc);
  if (fx->exc_usable && !(fx->all_synthetic && fx->has_message)) {
    bool stack = fx->n_exc_frames > 0;
    bool in_app_only = fx->n_exc_in_app > 0;
    g_lit(g, stack ? "stack" : "exception");
    for (size_t i = 0; i < n; i++) {
      exc e;
      if (!exc_read(excs_get(&fx->exc, i), &e)) continue;
      g_lit(g, "exc");
      if (e.synthetic)
        g_comp(g, "", 0);
      else
        g_comp(g, e.type.p, e.type.n);
      if (stack)
        emit_frames(g, e.frames, in_app_only);
      else if (e.synthetic)
        g_comp(g, "", 0);
      else
        g_normalized(g, e.value.p, e.value.n);
    }
    return;
  }
  if (fx->has_message) {
    emit_message(g, fx);
    return;
  }
  const jdom_val *frames = fx->stack ? fx->stack : fx->threads;
  if (frames) {
    g_lit(g, "stack");
    g_lit(g, "exc");
    g_comp(g, "", 0);
    if (emit_frames(g, frames, stack_has_in_app(frames)) > 0) return;
  }
  g_lit(g, "empty");
}

static bool is_default_token(str s) {
  size_t i = 0, n = s.n;
  if (n < 11 || memcmp(s.p, "{{", 2) != 0 || memcmp(s.p + n - 2, "}}", 2) != 0) return false;
  i = 2;
  n -= 2;
  while (i < n && (s.p[i] == ' ' || s.p[i] == '\t')) i++;
  while (n > i && (s.p[n - 1] == ' ' || s.p[n - 1] == '\t')) n--;
  if (n - i != 7) return false;
  for (size_t k = 0; k < 7; k++)
    if (lower(s.p[i + k]) != "default"[k]) return false;
  return true;
}

/* Hashes the custom fingerprint, expanding {{ default }}; a fingerprint that is empty or only
 * {{ default }} is the default grouping. */
static int compute_fingerprint(const jdom_val *ev, const facts *fx, char out[65], char *err,
                               size_t errlen) {
  grouper g;
  char tmp[64];
  str s;
  size_t i, literals = 0;
  const jdom_val *v;
  const jdom_val *fp = get(ev, "fingerprint");

  if (fp && !jdom_is_array(fp)) {
    set_err(err, errlen, "fingerprint", "must be an array of strings");
    return -1;
  }
  if (fp) {
    jdom_array_foreach(fp, i, v) {
      if (jdom_is_null(v)) continue;
      if (scalar_text(v, tmp, sizeof tmp, &s) < 0) {
        set_err(err, errlen, "fingerprint", "entries must be strings or numbers");
        return -1;
      }
      if (!is_default_token(s)) literals++;
    }
  }

  g.n = 0;
  sha256_init(&g.sha);
  g_lit(&g, GROUPING_VERSION);
  if (!literals) {
    g_lit(&g, "default");
    emit_default(&g, fx);
  } else {
    g_lit(&g, "custom");
    jdom_array_foreach(fp, i, v) {
      if (jdom_is_null(v)) continue;
      scalar_text(v, tmp, sizeof tmp, &s);
      if (is_default_token(s)) {
        g_lit(&g, "{{default}}");
        emit_default(&g, fx);
      } else {
        g_lit(&g, "lit");
        g_comp(&g, s.p, s.n);
      }
    }
  }
  g_finish(&g, out);
  return 0;
}

/* ---- display text ----------------------------------------------------------------------- */

/* Formats a printf-style template ("%s", "%d", "%(name)s", "%%") with params the way python's
 * logging does, into b. Placeholders without a matching parameter are kept as written. */
static void format_template(sbuf *b, str t, const jdom_val *params) {
  size_t next = 0, i = 0, lit = 0;
  char tmp[64];
  while (i < t.n && !b->truncated) {
    if (t.p[i] != '%') {
      i++;
      continue;
    }
    sb_put(b, t.p + lit, i - lit);
    size_t j = i + 1;
    if (j < t.n && t.p[j] == '%') {
      sb_put(b, "%", 1);
      i = lit = j + 1;
      continue;
    }
    const jdom_val *arg = NULL;
    if (j < t.n && t.p[j] == '(' && jdom_is_object(params)) {
      const char *close = memchr(t.p + j, ')', t.n - j);
      if (close) {
        char key[128];
        size_t kn = (size_t)(close - (t.p + j + 1));
        if (kn < sizeof key) {
          memcpy(key, t.p + j + 1, kn);
          key[kn] = '\0';
          arg = jdom_get(params, key);
        }
        j = (size_t)(close - t.p) + 1;
      }
    } else if (jdom_is_array(params) && next < jdom_size(params)) {
      arg = jdom_at(params, next);
    }
    while (j < t.n && t.p[j] != '\0' && strchr("-+ #0123456789.*hlLqjzt", t.p[j])) j++;
    str s;
    if (arg && j < t.n && t.p[j] != '\0' && strchr("diouxXeEfFgGcrsa", t.p[j]) &&
        scalar_text(arg, tmp, sizeof tmp, &s) == 0) {
      if (jdom_is_array(params)) next++;
      sb_put(b, s.p, s.n);
      i = lit = j + 1;
    } else {
      lit = i;
      i++;
    }
  }
  sb_put(b, t.p + lit, t.n - lit);
}

/* First non-blank line of s, trimmed, at most TITLE_MAX bytes plus "..." when cut. */
static void put_first_line(sbuf *b, str s) {
  size_t i = 0, n = s.n;
  if (!n) return;
  while (i < n && (s.p[i] == ' ' || s.p[i] == '\t' || s.p[i] == '\r' || s.p[i] == '\n')) i++;
  const char *nl = memchr(s.p + i, '\n', n - i);
  size_t end = nl ? (size_t)(nl - s.p) : n;
  while (end > i && (s.p[end - 1] == ' ' || s.p[end - 1] == '\t' || s.p[end - 1] == '\r')) end--;
  sb_put(b, s.p + i, end - i);
}

static char *finish_title(sbuf *b) {
  if (b->truncated) {
    b->truncated = false;
    b->max += 3;
    sb_put(b, "...", 3);
  }
  return sb_take(b);
}

/* Title: "Type: value" of the last (raised) exception that has either; otherwise the first
 * line of the formatted message; otherwise "<unlabeled event>". */
static char *make_title(const facts *fx, const char *display) {
  sbuf b = {.max = TITLE_MAX};
  if (fx->exc_usable && !(fx->all_synthetic && fx->has_message)) {
    for (size_t i = excs_count(&fx->exc); i-- > 0;) {
      exc e;
      if (!exc_read(excs_get(&fx->exc, i), &e) || (!e.type.n && !e.value.n)) continue;
      if (e.type.n) sb_put(&b, e.type.p, e.type.n);
      if (e.type.n && e.value.n) sb_put(&b, ": ", 2);
      if (e.value.n) put_first_line(&b, e.value);
      break;
    }
  }
  if (!b.len && !b.truncated && display && *display)
    put_first_line(&b, (str){display, strlen(display)});
  if (!b.len && !b.truncated) sb_put(&b, "<unlabeled event>", 17);
  return finish_title(&b);
}

/* Picks the culprit frame: the last in-app frame of the last exception that has one, else the
 * last frame of the last stack with frames; then the top-level stacktrace the same way. */
static bool pick_culprit_frame(const facts *fx, frame *out) {
  const jdom_val *fallback = NULL;
  for (size_t i = excs_count(&fx->exc); i-- > 0;) {
    exc e;
    if (!exc_read(excs_get(&fx->exc, i), &e) || !e.frames) continue;
    for (size_t k = jdom_size(e.frames); k-- > 0;) {
      frame fr;
      if (!frame_read(jdom_at(e.frames, k), &fr)) continue;
      if (fr.in_app) {
        *out = fr;
        return true;
      }
      if (!fallback) fallback = jdom_at(e.frames, k);
    }
  }
  if (!fallback && fx->stack) {
    for (size_t k = jdom_size(fx->stack); k-- > 0;) {
      frame fr;
      if (!frame_read(jdom_at(fx->stack, k), &fr)) continue;
      if (fr.in_app) {
        *out = fr;
        return true;
      }
      if (!fallback) fallback = jdom_at(fx->stack, k);
    }
  }
  return fallback && frame_read(fallback, out);
}

/* The names JavaScript engines give code that has no function name (node's module top level
 * is "Object.<anonymous>", shortened to "Object.?" by the SDK): they say nothing to a reader. */
static bool is_placeholder_function(str f) {
  static const char *const names[] = {"?", "<anonymous>", "Object.?", "Object.<anonymous>"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (f.n == strlen(names[i]) && memcmp(f.p, names[i], f.n) == 0) return true;
  return false;
}

/* A frame's file name without its query or fragment. */
static str file_without_query(str f) {
  for (size_t i = 0; i < f.n; i++)
    if (f.p[i] == '?' || f.p[i] == '#') f.n = i;
  return f;
}

/* Culprit: "module in function" (file name without query or :line when there is no module),
 * from the frame above; a frame whose function is only a placeholder ("Object.?") gives its
 * file name alone (else its module); else the culprit or transaction the SDK sent; else "". */
static char *make_culprit(const jdom_val *ev, const facts *fx) {
  sbuf b = {.max = TITLE_MAX};
  frame fr;
  bool framed = pick_culprit_frame(fx, &fr);
  if (framed && is_placeholder_function(fr.function)) {
    str where = file_without_query(fr.filename);
    if (!where.n) where = fr.module;
    sb_put(&b, where.p, where.n);
    framed = where.n > 0;
  } else if (framed) {
    str where = fr.module;
    if (!where.n) where = file_without_query(fr.filename);
    sb_put(&b, where.p, where.n);
    if (where.n && fr.function.n) sb_put(&b, " in ", 4);
    sb_put(&b, fr.function.p, fr.function.n);
  }
  if (!framed) {
    str s = jstr(get(ev, "culprit"));
    if (!s.n) s = jstr(get(ev, "transaction"));
    put_first_line(&b, s);
  }
  return finish_title(&b);
}

/* Message for search: the formatted message, else the template with its params substituted,
 * else the raised exception's value (or type). */
static char *make_message(const facts *fx) {
  sbuf b = {.max = MESSAGE_MAX};
  if (fx->formatted.n) {
    sb_put(&b, fx->formatted.p, fx->formatted.n);
  } else if (fx->tmpl.n) {
    format_template(&b, fx->tmpl, fx->params);
  } else {
    for (size_t i = excs_count(&fx->exc); i-- > 0;) {
      exc e;
      if (!exc_read(excs_get(&fx->exc, i), &e) || (!e.type.n && !e.value.n)) continue;
      if (e.value.n)
        sb_put(&b, e.value.p, e.value.n);
      else
        sb_put(&b, e.type.p, e.type.n);
      break;
    }
  }
  return sb_take(&b);
}

/* ---- scalar fields ---------------------------------------------------------------------- */

static int parse_event_id(const jdom_val *v, char out[33], char *err, size_t errlen) {
  if (!v) {
    uint8_t r[16];
    if (random_bytes(r, sizeof r) < 0) {
      set_err(err, errlen, "event_id", "cannot generate a random id");
      return EVENT_ENOMEM;
    }
    r[6] = (uint8_t)((r[6] & 0x0f) | 0x40); /* a version-4 UUID, like the SDKs make */
    r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);
    hex_encode(r, sizeof r, out);
    return 0;
  }
  str s = jstr(v);
  if (jdom_is_string(v) && hex_event_id(s.p, s.n, out, NULL) == 0) return 0;
  set_err(err, errlen, "event_id", "must be 32 hex digits or a UUID");
  return -1;
}

static int parse_timestamp(const jdom_val *v, double received_at, double *out, char *err,
                           size_t errlen) {
  double t;
  if (!v) {
    *out = received_at;
    return 0;
  }
  if (jdom_is_number(v)) {
    t = jdom_number(v);
  } else if (jdom_is_string(v)) {
    str s = jstr(v);
    char *endp = NULL;
    if (time_parse_rfc3339(s.p, s.n, &t) < 0) {
      /* A few SDKs send Unix seconds as a string. */
      t = strtod(s.p, &endp);
      if (s.n == 0 || endp != s.p + s.n || !is_digit((unsigned char)s.p[0])) goto bad;
    }
  } else {
    goto bad;
  }
  if (!isfinite(t) || t < 0 || t >= (double)TIME_MAX_UNIX) goto bad; /* 1970 .. 9999 */
  *out = t;
  return 0;
bad:
  set_err(err, errlen, "timestamp", "must be an RFC 3339 string or Unix seconds");
  return -1;
}

/* Known levels and the aliases Sentry accepts; other short alphanumeric names are kept
 * (lowercased), anything else becomes "error". */
static int parse_level(const jdom_val *v, char out[EVENT_LEVEL_MAX], char *err, size_t errlen) {
  static const char *const alias[][2] = {
      {"warn", "warning"}, {"critical", "fatal"}, {"log", "info"}, {"err", "error"}};
  snprintf(out, EVENT_LEVEL_MAX, "error");
  if (!v) return 0;
  if (!jdom_is_string(v)) {
    set_err(err, errlen, "level", "must be a string");
    return -1;
  }
  str s = jstr(v);
  if (s.n == 0 || s.n >= EVENT_LEVEL_MAX) return 0;
  char buf[EVENT_LEVEL_MAX];
  for (size_t i = 0; i < s.n; i++) {
    if (!is_digit((unsigned char)s.p[i]) && !is_alpha((unsigned char)s.p[i])) return 0;
    buf[i] = lower(s.p[i]);
  }
  buf[s.n] = '\0';
  for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++) {
    if (strcmp(buf, alias[i][0]) == 0) {
      snprintf(out, EVENT_LEVEL_MAX, "%s", alias[i][1]);
      return 0;
    }
  }
  memcpy(out, buf, s.n + 1);
  return 0;
}

/* release / environment: a string (numbers are accepted and printed), NULL when absent or
 * empty, cut to TAG_MAX bytes. */
static int parse_tag(const jdom_val *ev, const char *key, char **out, char *err, size_t errlen) {
  const jdom_val *v = get(ev, key);
  char tmp[64];
  str s;
  *out = NULL;
  if (!v) return 0;
  if (!jdom_is_string(v) && !jdom_is_number(v)) {
    set_err(err, errlen, key, "must be a string");
    return -1;
  }
  scalar_text(v, tmp, sizeof tmp, &s);
  if (!s.n) return 0;
  *out = dup_cut(s.p, s.n, TAG_MAX);
  if (!*out) {
    set_err(err, errlen, key, "out of memory");
    return EVENT_ENOMEM;
  }
  return 0;
}

/* ---- entry points ----------------------------------------------------------------------- */

/* None of these may share a name with a key this file reads (tests/unit/test_event.c lists
 * those and checks). "params" (logentry.params) is built whole: format_template looks its
 * members up by names taken from the message, and whether it is empty changes grouping, so
 * inside it any key may matter. */
const jdom_key event_skip_keys[] = {
    JDOM_SKIP_KEY("vars"),
    JDOM_SKIP_KEY("pre_context"),
    JDOM_SKIP_KEY("post_context"),
    JDOM_SKIP_KEY("context_line"),
    JDOM_SKIP_KEY("modules"),
    JDOM_SKIP_KEY("contexts"),
    JDOM_SKIP_KEY("breadcrumbs"),
    JDOM_SKIP_KEY("extra"),
    JDOM_SKIP_KEY("request"),
    JDOM_SKIP_KEY("user"),
    JDOM_SKIP_KEY("tags"),
    JDOM_SKIP_KEY("sdk"),
    JDOM_SKIP_KEY("spans"),
    JDOM_SKIP_KEY("debug_meta"),
    JDOM_SKIP_KEY("measurements"),
    JDOM_SKIP_KEY("_meta"),
    JDOM_SKIP_KEY("sdkProcessingMetadata"),
    JDOM_WHOLE_KEY("params"),
};
const size_t event_skip_keys_n = sizeof event_skip_keys / sizeof event_skip_keys[0];

int event_normalize(const jdom_val *event, const char *fallback_id, double received_at,
                    event_info *out, char *err, size_t errlen) {
  facts fx;
  int rc;
  memset(out, 0, sizeof *out);
  memset(&fx, 0, sizeof fx);
  if (err && errlen) err[0] = '\0';
  if (!jdom_is_object(event)) {
    set_err(err, errlen, "event", "must be a JSON object");
    return EVENT_EINVAL;
  }
  const jdom_val *id = jdom_get(event, "event_id");
  jdom_val fallback;
  if (!id && fallback_id) {
    fallback =
        (jdom_val){.type = JDOM_STRING, .n = (uint32_t)strlen(fallback_id), .u.s = fallback_id};
    id = &fallback;
  }
  const jdom_val *ts = get(event, "timestamp");
  if ((rc = parse_event_id(jdom_is_null(id) ? NULL : id, out->event_id, err, errlen)) < 0 ||
      (rc = parse_timestamp(ts, received_at, &out->timestamp, err, errlen)) < 0 ||
      (rc = parse_level(get(event, "level"), out->level, err, errlen)) < 0 ||
      (rc = check_exceptions(event, &fx, err, errlen)) < 0 ||
      (rc = check_message(event, &fx, err, errlen)) < 0)
    goto fail;

  const jdom_val *st = get(event, "stacktrace");
  size_t frames = 0;
  rc = check_stack(st, "stacktrace", &frames, &fx.n_stack_in_app, err, errlen);
  if (rc < 0) goto fail;
  fx.stack = frames ? stack_frames(st) : NULL;
  if (!fx.exc_usable && !fx.has_message && !fx.stack) fx.threads = threads_frames(event);

  if ((rc = compute_fingerprint(event, &fx, out->fingerprint, err, errlen)) < 0 ||
      (rc = parse_tag(event, "release", &out->release, err, errlen)) < 0 ||
      (rc = parse_tag(event, "environment", &out->environment, err, errlen)) < 0)
    goto fail;

  out->message = make_message(&fx);
  out->title = out->message ? make_title(&fx, out->message) : NULL;
  out->culprit = make_culprit(event, &fx);
  if (!out->message || !out->title || !out->culprit) {
    set_err(err, errlen, "event", "out of memory");
    rc = EVENT_ENOMEM;
    goto fail;
  }
  return EVENT_OK;
fail:
  event_info_free(out);
  return rc;
}

void event_info_free(event_info *info) {
  if (!info) return;
  free(info->title);
  free(info->culprit);
  free(info->release);
  free(info->environment);
  free(info->message);
  memset(info, 0, sizeof *info);
}
