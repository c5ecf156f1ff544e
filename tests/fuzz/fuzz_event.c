/* fuzz_event: an event payload as ingest sees it: json_prune (validation and the event key
 * table), jansson on the pruned copy, then event_normalize (fields, grouping fingerprint,
 * title, culprit). Invariants: the ones event.h documents for *out; json_prune accepts what
 * jansson accepts on the whole text (bar jansson's NUL-after-token quirk, see
 * test_json_prune.c); and the pruned copy normalises exactly like the whole text. */
#undef NDEBUG /* the invariants below are the point, in every build type */
#include <assert.h>
#include <jansson.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "json_depth.h"
#include "json_prune.h"

#define FLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_info(const event_info *info) {
  assert(strlen(info->event_id) == 32);
  assert(strlen(info->fingerprint) == 64);
  assert(info->title && strlen(info->title) <= 1024);
  assert(info->culprit && strlen(info->culprit) <= 1024);
  assert(info->message && strlen(info->message) <= 8192);
  assert(!info->release || strlen(info->release) <= 200);
  assert(!info->environment || strlen(info->environment) <= 200);
  assert(info->level[0]);
}

static int same_str(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *buf = (const char *)data;
  if (json_depth(buf, size, 64) > 64) return 0;
  json_error_t jerr;
  json_t *doc = json_loadb(buf, size, FLAGS, &jerr);

  json_prune_opts opts = {json_prune_event_keys, json_prune_event_keys_n, 64};
  char *copy = malloc(size ? size : 1), perr[200];
  size_t clen = 0, at = 0;
  assert(copy);
  int prc = json_prune(buf, size, &opts, copy, &clen, perr, sizeof perr);
  json_t *pruned = NULL;
  if (prc == JSON_PRUNE_OK) {
    assert(clen <= size);
    pruned = json_loadb(copy, clen, FLAGS, NULL);
  } else {
    assert(prc == JSON_PRUNE_MALFORMED && sscanf(perr, "malformed JSON at byte %zu", &at) == 1);
    assert(at <= size);
    /* jansson on the whole text may accept only through its NUL-after-token quirk */
    if (doc) assert(at < size && buf[at] == '\0' && at > 0);
  }
  /* The copy is part of the text: what jansson refuses in it, it refuses in the text. */
  if (prc == JSON_PRUNE_OK && !pruned) assert(!doc);

  if (doc && json_is_object(doc)) {
    event_info info, pinfo;
    char err[200], perr2[200];
    int rc = event_normalize(doc, 1700000000.0, &info, err, sizeof err);
    if (rc == 0) {
      check_info(&info);
    } else {
      assert(err[0]);
    }
    if (pruned) {
      int prc2 = event_normalize(pruned, 1700000000.0, &pinfo, perr2, sizeof perr2);
      assert(prc2 == rc);
      if (rc == 0) {
        /* without an event_id both get a random one */
        if (json_is_string(json_object_get(doc, "event_id")))
          assert(strcmp(info.event_id, pinfo.event_id) == 0);
        assert(strcmp(info.fingerprint, pinfo.fingerprint) == 0);
        assert(strcmp(info.level, pinfo.level) == 0);
        assert(info.timestamp == pinfo.timestamp);
        assert(same_str(info.title, pinfo.title) && same_str(info.culprit, pinfo.culprit));
        assert(same_str(info.message, pinfo.message));
        assert(same_str(info.release, pinfo.release));
        assert(same_str(info.environment, pinfo.environment));
        event_info_free(&pinfo);
      } else {
        assert(strcmp(err, perr2) == 0);
      }
    }
    if (rc == 0) {
      event_info_free(&info);
      event_info_free(&info);
    }
  }
  json_decref(pruned);
  json_decref(doc);
  free(copy);
  return 0;
}
