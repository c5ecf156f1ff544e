/* envelope: splits a decoded Sentry envelope body into its header and items, following the
 * framing Relay accepts (see envelope.h). Runs on the event loop thread; pure, no I/O.
 * It must not copy payloads: items point into the caller's buffer. It never reads past
 * buf[len) and never scans more than ENVELOPE_HEADER_MAX bytes looking for a header's end,
 * so a hostile body costs at most one pass. Only header lines are parsed as JSON (jdom, all
 * into one arena); payloads are left to the caller. Every failure leaves *out empty and
 * explains itself in err. */
#include "sentry/envelope.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/errmsg.h"

static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Finds the header line starting at buf[*pos]: it ends at the next '\n' or at the end of the
 * body. Parses it as a JSON object into *obj (in arena) and moves *pos past the '\n'. what
 * names the line in error messages ("envelope header", "item 3 header"). */
static int parse_header_line(jdom_doc *arena, const char *buf, size_t len, size_t *pos,
                             const char *what, const jdom_val **obj, char *err, size_t errlen) {
  size_t start = *pos, avail = len - start;
  size_t scan = avail < ENVELOPE_HEADER_MAX + 1 ? avail : ENVELOPE_HEADER_MAX + 1;
  const char *nl = memchr(buf + start, '\n', scan);
  size_t line_len = nl ? (size_t)(nl - (buf + start)) : scan;
  if (line_len > ENVELOPE_HEADER_MAX) {
    errmsg_set(err, errlen, "%s is longer than %d bytes", what, ENVELOPE_HEADER_MAX);
    return ENVELOPE_EINVAL;
  }
  jdom_opts opts = {ENVELOPE_DEPTH_MAX, JDOM_ALLOW_DUPLICATES, NULL, 0};
  const jdom_val *j;
  int rc = jdom_parse(arena, buf + start, line_len, &opts, &j, NULL, 0);
  if (rc == JDOM_TOO_DEEP) {
    errmsg_set(err, errlen, "%s nests deeper than %d levels", what, ENVELOPE_DEPTH_MAX);
    return ENVELOPE_EINVAL;
  }
  if (rc == JDOM_NOMEM) {
    errmsg_set(err, errlen, "out of memory parsing the %s", what);
    return ENVELOPE_ENOMEM;
  }
  if (rc != JDOM_OK) {
    errmsg_set(err, errlen, "%s is not valid JSON: %s at byte %zu", what, arena->err_why,
               arena->err_at);
    return ENVELOPE_EINVAL;
  }
  if (!jdom_is_object(j)) {
    errmsg_set(err, errlen, "%s is not a JSON object", what);
    return ENVELOPE_EINVAL;
  }
  *obj = j;
  *pos = start + line_len + (nl ? 1 : 0);
  return 0;
}

/* Reads the optional "length" of item n. Returns 0 with *has_len false when it is absent or
 * null, 0 with *has_len true and *out set when it is a non-negative integer, -1 otherwise. */
static int item_length(const jdom_val *hdr, size_t n, bool *has_len, unsigned long long *out,
                       char *err, size_t errlen) {
  const jdom_val *l = jdom_get(hdr, "length");
  *has_len = false;
  if (!l || jdom_is_null(l)) return 0;
  if (!jdom_is(l, JDOM_INT) || l->u.i < 0) {
    errmsg_set(err, errlen, "item %zu: \"length\" is not a non-negative integer", n);
    return ENVELOPE_EINVAL;
  }
  *has_len = true;
  *out = (unsigned long long)l->u.i;
  return 0;
}

/* Appends one item slot to env, growing the array geometrically but never past max_items. */
static envelope_item *push_item(envelope *env, size_t *cap, size_t max_items) {
  if (env->n_items == *cap) {
    size_t ncap = *cap ? *cap * 2 : 4;
    if (ncap > max_items) ncap = max_items;
    envelope_item *ni = realloc(env->items, ncap * sizeof(*ni));
    if (!ni) return NULL;
    env->items = ni;
    *cap = ncap;
  }
  envelope_item *it = &env->items[env->n_items++];
  memset(it, 0, sizeof(*it));
  return it;
}

/* Parses item number n (1-based) whose header starts at buf[*pos]; moves *pos past it. */
static int parse_item(jdom_doc *arena, const char *buf, size_t len, size_t *pos, size_t n,
                      envelope_item *it, char *err, size_t errlen) {
  char what[48];
  snprintf(what, sizeof(what), "item %zu header", n);
  int rc = parse_header_line(arena, buf, len, pos, what, &it->header, err, errlen);
  if (rc < 0) return rc;

  /* The protocol requires a type; an item without one would be silently skipped, so the SDK
   * would believe an event was delivered that was not. */
  const jdom_val *type = jdom_get(it->header, "type");
  if (!type) {
    errmsg_set(err, errlen, "item %zu: header has no \"type\"", n);
    return ENVELOPE_EINVAL;
  }
  if (!jdom_is_string(type)) {
    errmsg_set(err, errlen, "item %zu: \"type\" is not a string", n);
    return ENVELOPE_EINVAL;
  }
  it->type = type->u.s;

  bool has_len;
  unsigned long long want = 0;
  if (item_length(it->header, n, &has_len, &want, err, errlen) < 0) return ENVELOPE_EINVAL;

  size_t start = *pos, avail = len - start;
  it->payload = buf + start;
  if (has_len) {
    if (want > avail) {
      errmsg_set(err, errlen, "item %zu: length %llu runs past the end of the body", n, want);
      return ENVELOPE_EINVAL;
    }
    size_t plen = (size_t)want;
    if (plen < avail && buf[start + plen] != '\n') {
      errmsg_set(err, errlen, "item %zu: payload of length %zu is not followed by a newline", n,
                 plen);
      return ENVELOPE_EINVAL;
    }
    it->len = plen;
    *pos = start + plen + (plen < avail ? 1 : 0);
  } else {
    const char *nl = memchr(buf + start, '\n', avail);
    it->len = nl ? (size_t)(nl - (buf + start)) : avail;
    *pos = start + it->len + (nl ? 1 : 0);
  }
  return 0;
}

/* Moves pos past spaces, tabs and line ends. */
static size_t skip_space(const char *buf, size_t len, size_t pos) {
  while (pos < len && is_space(buf[pos])) pos++;
  return pos;
}

int envelope_parse(const char *buf, size_t len, size_t max_items, envelope *out, char *err,
                   size_t errlen) {
  envelope env = {0};
  size_t cap = 0, pos;
  int rc;
  errmsg_set(err, errlen, "%s", "");
  memset(out, 0, sizeof(*out));
  if (!buf) len = 0;

  pos = skip_space(buf, len, 0);
  if (pos == len) {
    errmsg_set(err, errlen, "empty body: an envelope needs at least a header line");
    return ENVELOPE_EINVAL;
  }
  rc = parse_header_line(&env.arena, buf, len, &pos, "envelope header", &env.header, err, errlen);
  if (rc < 0) goto fail;

  for (;;) {
    pos = skip_space(buf, len, pos);
    if (pos == len) break;
    if (env.n_items == max_items) {
      errmsg_set(err, errlen, "more than %zu items in the envelope", max_items);
      rc = ENVELOPE_EINVAL;
      goto fail;
    }
    envelope_item *it = push_item(&env, &cap, max_items);
    if (!it) {
      errmsg_set(err, errlen, "out of memory after %zu items", env.n_items);
      rc = ENVELOPE_ENOMEM;
      goto fail;
    }
    rc = parse_item(&env.arena, buf, len, &pos, env.n_items, it, err, errlen);
    if (rc < 0) goto fail;
  }
  *out = env;
  return ENVELOPE_OK;

fail:
  envelope_free(&env);
  return rc;
}

void envelope_free(envelope *env) {
  if (!env) return;
  free(env->items);
  jdom_free(&env->arena);
  memset(env, 0, sizeof(*env));
}
