/* fuzz_event: an event payload as ingest sees it: jdom with the event key table, then
 * event_normalize (fields, grouping fingerprint, title, culprit). Invariants: the ones event.h
 * documents for *out; jdom without the table accepts what jansson accepts (bar jansson's
 * NUL-after-token quirk, see test_jdom.c) and builds the same tree; with the table it accepts
 * that too, and more only through a repeated key inside a skipped value; and the tree without
 * the skipped members normalises exactly like the whole one. */
#undef NDEBUG /* the invariants below are the point, in every build type */
#include <assert.h>
#include <jansson.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/jdom_jansson.h"
#include "sentry/event.h"
#include "util/jdom.h"

#define FLAGS     (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)
#define MAX_DEPTH 64

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
  jdom_opts whole_opts = {MAX_DEPTH, JDOM_ALLOW_NUL, NULL, 0};
  jdom_opts skip_opts = {MAX_DEPTH, JDOM_ALLOW_NUL, event_skip_keys, event_skip_keys_n};
  jdom_doc arena;
  jdom_init(&arena);
  const jdom_val *whole, *skipped;
  char werr[200], serr[200];
  int wrc = jdom_parse(&arena, buf, size, &whole_opts, &whole, werr, sizeof werr);
  int src = jdom_parse(&arena, buf, size, &skip_opts, &skipped, serr, sizeof serr);
  assert(wrc == JDOM_OK || wrc == JDOM_MALFORMED || wrc == JDOM_TOO_DEEP);
  assert((wrc == JDOM_OK) == (whole != NULL) && (src == JDOM_OK) == (skipped != NULL));

  /* Without the table, jdom is jansson (within the depth limit). */
  if (wrc != JDOM_TOO_DEEP) {
    json_t *doc = json_loadb(buf, size, FLAGS | JSON_DECODE_ANY, NULL);
    if (doc && wrc == JDOM_OK) {
      assert(jdom_same_as_jansson(whole, doc, &whole_opts));
    } else if (doc) {
      size_t at = 0;
      assert(sscanf(werr, "malformed JSON at byte %zu", &at) == 1);
      assert(at > 0 && at < size && buf[at] == '\0'); /* jansson's NUL-after-token quirk */
    } else {
      assert(wrc != JDOM_OK);
    }
    json_decref(doc);
  }
  /* The table only skips: a text refused whole is refused with it, bar repeated keys. */
  if (wrc == JDOM_OK) assert(src == JDOM_OK);
  if (src == JDOM_OK && wrc != JDOM_OK) assert(strstr(werr, "duplicate object key") != NULL);

  if (wrc == JDOM_OK && jdom_is_object(whole)) {
    event_info info, sinfo;
    char err[200], err2[200];
    int rc = event_normalize(whole, NULL, 1700000000.0, &info, err, sizeof err);
    if (rc == 0)
      check_info(&info);
    else
      assert(err[0]);
    int rc2 = event_normalize(skipped, NULL, 1700000000.0, &sinfo, err2, sizeof err2);
    assert(rc2 == rc);
    if (rc == 0) {
      check_info(&sinfo);
      /* without an event_id both get a random one */
      if (jdom_is_string(jdom_get(whole, "event_id")))
        assert(strcmp(info.event_id, sinfo.event_id) == 0);
      assert(strcmp(info.fingerprint, sinfo.fingerprint) == 0);
      assert(strcmp(info.level, sinfo.level) == 0);
      assert(info.timestamp == sinfo.timestamp);
      assert(same_str(info.title, sinfo.title) && same_str(info.culprit, sinfo.culprit));
      assert(same_str(info.message, sinfo.message));
      assert(same_str(info.release, sinfo.release));
      assert(same_str(info.environment, sinfo.environment));
      event_info_free(&sinfo);
      event_info_free(&info);
      event_info_free(&info);
    } else {
      assert(strcmp(err, err2) == 0);
    }
  }
  jdom_free(&arena);
  return 0;
}
