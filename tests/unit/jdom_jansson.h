/* jdom_jansson: compares a jdom tree with jansson's tree of the same text, for the unit test
 * and the fuzz target that hold jdom to jansson. Header-only, test code. */
#ifndef SLUICE_JDOM_JANSSON_H
#define SLUICE_JDOM_JANSSON_H
#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "util/jdom.h"

static const jdom_key *jj_table_key(const jdom_opts *o, const char *k) {
  for (size_t i = 0; o && i < o->n_keys; i++)
    if (o->keys[i].len == strlen(k) && memcmp(o->keys[i].name, k, o->keys[i].len) == 0)
      return &o->keys[i];
  return NULL;
}

static bool jj_same(const jdom_val *d, const json_t *j, const jdom_opts *o, bool skipping) {
  if (!d || !j) return false;
  switch (json_typeof(j)) {
  case JSON_NULL:
    return d->type == JDOM_NULL;
  case JSON_TRUE:
    return d->type == JDOM_TRUE;
  case JSON_FALSE:
    return d->type == JDOM_FALSE;
  case JSON_INTEGER:
    return d->type == JDOM_INT && d->u.i == json_integer_value(j);
  case JSON_REAL: {
    double a = json_real_value(j);
    return d->type == JDOM_REAL && memcmp(&a, &d->u.d, sizeof a) == 0;
  }
  case JSON_STRING:
    return d->type == JDOM_STRING && d->n == json_string_length(j) &&
           memcmp(d->u.s, json_string_value(j), d->n) == 0 && d->u.s[d->n] == '\0';
  case JSON_ARRAY:
    if (d->type != JDOM_ARRAY || d->n != json_array_size(j)) return false;
    for (size_t i = 0; i < d->n; i++)
      if (!jj_same(jdom_at(d, i), json_array_get(j, i), o, skipping)) return false;
    return true;
  case JSON_OBJECT: {
    if (d->type != JDOM_OBJECT) return false;
    size_t want = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)j, k, v) {
      const jdom_key *t = skipping ? jj_table_key(o, k) : NULL;
      if (t && t->action == JDOM_KEY_SKIP) {
        if (jdom_get(d, k)) return false;
        continue;
      }
      want++;
      if (!jj_same(jdom_get(d, k), v, o, skipping && !t)) return false;
    }
    bool dups = o && (o->flags & JDOM_ALLOW_DUPLICATES);
    for (size_t i = 0; dups && i < d->n; i++)
      if (!json_object_getn(j, d->u.members[i].key, d->u.members[i].key_len)) return false;
    return dups ? d->n >= want : d->n == want;
  }
  }
  return false;
}

/* True when d is the tree jansson built as j: the same types, int64s, strings byte for byte,
 * reals bit for bit (so -0.0 and rounding count), arrays in order, objects with the same
 * members (and, without JDOM_ALLOW_DUPLICATES, no others). o (may be NULL) are the options d
 * was parsed with: members whose key the table skips are left out of d, at any depth outside
 * a member the table keeps whole. */
static bool jdom_same_as_jansson(const jdom_val *d, const json_t *j, const jdom_opts *o) {
  return jj_same(d, j, o, o && o->n_keys);
}

#endif
