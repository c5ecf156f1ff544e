/* fuzz_event: an event payload as ingest sees it: the JSON depth guard, jansson, then
 * event_normalize (fields, grouping fingerprint, title, culprit). Invariants are the ones
 * event.h documents for *out. */
#undef NDEBUG /* the invariants below are the point, in every build type */
#include <assert.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "event.h"
#include "json_depth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *buf = (const char *)data;
  if (json_depth(buf, size, 64) > 64) return 0;
  json_error_t jerr;
  json_t *doc = json_loadb(buf, size, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
  if (!doc) return 0;
  if (json_is_object(doc)) {
    event_info info;
    char err[200];
    if (event_normalize(doc, 1700000000.0, &info, err, sizeof err) == 0) {
      assert(strlen(info.event_id) == 32);
      assert(strlen(info.fingerprint) == 64);
      assert(info.title && strlen(info.title) <= 1024);
      assert(info.culprit && strlen(info.culprit) <= 1024);
      assert(info.message && strlen(info.message) <= 8192);
      assert(!info.release || strlen(info.release) <= 200);
      assert(!info.environment || strlen(info.environment) <= 200);
      assert(info.level[0]);
      event_info_free(&info);
      event_info_free(&info);
    } else {
      assert(err[0]);
    }
  }
  json_decref(doc);
  return 0;
}
