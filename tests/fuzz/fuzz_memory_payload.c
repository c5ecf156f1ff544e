/* fuzz_memory_payload: memory_payload_parse on arbitrary bytes with the default limits and a
 * fixed clock (the seeds' timestamps are from late 2023). Invariants: failure leaves *out
 * zeroed with a message; success respects every limit. */
#undef NDEBUG /* the invariants below are the point, in every build type */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "memory/memory_payload.h"

#define FUZZ_NOW 1699800000.0

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  memory_payload p;
  char err[256];
  const memory_limits *lim = &memory_limits_default;
  int rc = memory_payload_parse((const char *)data, size, FUZZ_NOW, NULL, &p, err, sizeof err);
  if (rc != MEMORY_PAYLOAD_OK) {
    assert(p.samples == NULL && p.n_samples == 0 && p.worker.id == NULL);
    assert(err[0] != '\0');
    return 0;
  }
  assert(p.worker.id && p.worker.id[0] && strlen(p.worker.id) <= lim->max_worker_id);
  assert(p.n_samples >= 1 && p.n_samples <= lim->max_samples);
  for (size_t i = 0; i < p.n_samples; i++) {
    const memory_sample *s = &p.samples[i];
    assert(s->rss_bytes >= 0);
    assert(s->n_top_allocations <= lim->max_top_allocations);
    for (size_t k = 0; k < s->n_top_allocations; k++) {
      assert(s->top_allocations[k].site && s->top_allocations[k].site[0]);
      assert(strlen(s->top_allocations[k].site) <= lim->max_site);
    }
  }
  memory_payload_free(&p);
  memory_payload_free(&p); /* documented as safe */
  return 0;
}
