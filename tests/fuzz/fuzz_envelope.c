/* fuzz_envelope: envelope_parse on arbitrary bytes, then the per-item JSON depth check that
 * ingest runs before parsing a payload. Invariants: a parse either fails with a message and an
 * empty envelope, or every item's payload lies inside the input. */
#undef NDEBUG /* the invariants below are the point, in every build type */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "envelope.h"
#include "json_depth.h"

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
  assert(env.n_items <= 100);
  for (size_t i = 0; i < env.n_items; i++) {
    const envelope_item *it = &env.items[i];
    assert(it->type != NULL);
    assert(it->payload >= buf && it->payload + it->len <= buf + size);
    (void)strlen(it->type);
    (void)json_depth(it->payload, it->len, 64);
  }
  envelope_free(&env);
  return 0;
}
