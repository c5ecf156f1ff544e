/* fuzz_jdom: jdom on arbitrary bytes, held to jansson in both of the ways the server parses:
 * strict (repeated keys refused, "\u0000" allowed: events and other ingest items) against
 * json_loadb(JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL), and lenient (a repeated key's last value
 * counts, "\u0000" refused: memory batches, envelope headers) against json_loadb(0). Both trees
 * go into one arena. Invariants: the same answer (bar jansson's NUL-after-token quirk, see
 * test_jdom.c), the same tree, an error inside the input, and the arena's bound. */
#undef NDEBUG /* the invariants below are the point, in every build type */
#include <assert.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../unit/jdom_jansson.h"
#include "util/jdom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(jdom_doc *arena, const char *buf, size_t size, const jdom_opts *o, size_t flags) {
  const jdom_val *root;
  char err[200];
  int rc = jdom_parse(arena, buf, size, o, &root, err, sizeof err);
  assert(rc == JDOM_OK || rc == JDOM_MALFORMED || rc == JDOM_TOO_DEEP);
  assert((rc == JDOM_OK) == (root != NULL));
  if (rc != JDOM_OK) assert(arena->err_why && arena->err_at <= size && err[0]);
  if (rc == JDOM_TOO_DEEP) return; /* jansson's own limit is deeper */
  json_t *j = json_loadb(buf, size, flags | JSON_DECODE_ANY, NULL);
  if (j && rc == JDOM_OK) {
    assert(jdom_same_as_jansson(root, j, o));
  } else if (j) {
    size_t at = arena->err_at; /* jansson's NUL-after-token quirk */
    assert(at > 0 && at < size && buf[at] == '\0');
  } else {
    assert(rc != JDOM_OK);
  }
  json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *buf = (const char *)data;
  jdom_opts strict = {64, JDOM_ALLOW_NUL, NULL, 0};
  jdom_opts lenient = {64, JDOM_ALLOW_DUPLICATES, NULL, 0};
  jdom_doc arena;
  jdom_init(&arena);
  check(&arena, buf, size, &strict, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL);
  check(&arena, buf, size, &lenient, 0);
  assert(jdom_arena_bytes(&arena) <= 2 * (16 * size + 4096)); /* see jdom.h */
  jdom_free(&arena);
  assert(jdom_arena_bytes(&arena) == 0);
  return 0;
}
