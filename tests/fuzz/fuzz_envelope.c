/* fuzz_envelope: envelope_parse on arbitrary bytes, then each item's payload parsed into the
 * envelope's arena as ingest does. Invariants: a parse either fails with a message and an empty
 * envelope, or every item's header is an object whose "type" is the item's type, and every
 * payload lies inside the input. */
#undef NDEBUG /* the invariants below are the point, in every build type */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sentry/envelope.h"
#include "util/jdom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *buf = (const char *)data;
  envelope env;
  char err[256];
  if (envelope_parse(buf, size, 100, &env, err, sizeof err) != 0) {
    assert(env.n_items == 0 && env.items == NULL && env.header == NULL);
    assert(err[0] != '\0');
    return 0;
  }
  assert(env.n_items <= 100 && jdom_is_object(env.header));
  for (size_t i = 0; i < env.n_items; i++) {
    const envelope_item *it = &env.items[i];
    assert(it->type != NULL);
    assert(it->payload >= buf && it->payload + it->len <= buf + size);
    assert(jdom_is_object(it->header) && jdom_str(jdom_get(it->header, "type")) == it->type);
    (void)strlen(it->type);
    jdom_opts opts = {64, JDOM_ALLOW_NUL, NULL, 0};
    const jdom_val *doc;
    int rc = jdom_parse(&env.arena, it->payload, it->len, &opts, &doc, NULL, 0);
    assert((rc == JDOM_OK) == (doc != NULL));
  }
  envelope_free(&env);
  return 0;
}
