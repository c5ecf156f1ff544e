/* capture_events: walks tests/fixtures/sdk-captures (every NN.head/NN.body pair, SDK folders
 * and files in sorted order), undoes gzip with the server's decoder and splits envelopes with
 * the server's parser (both tested on their own), and calls fn for every event payload:
 * the /store/ body or each envelope "event" item. Failures count in tu_failed_checks. */
#ifndef SLUICE_CAPTURE_EVENTS_H
#define SLUICE_CAPTURE_EVENTS_H
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/decode.h"
#include "sentry/envelope.h"
#include "testutil.h"

typedef void (*tu_event_fn)(const char *name, const char *payload, size_t len);

static int tu_cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void tu_capture_one(const char *root, const char *sdk, const char *stem, tu_event_fn fn) {
  char hpath[2048], bpath[2048], name[64];
  snprintf(name, sizeof name, "%.30s/%.20s", sdk, stem);
  snprintf(hpath, sizeof hpath, "%s/%s/%s.head", root, sdk, stem);
  snprintf(bpath, sizeof bpath, "%s/%s/%s.body", root, sdk, stem);
  size_t hlen, blen, dlen = 0;
  char *head = tu_read_file(hpath, &hlen), *body = tu_read_file(bpath, &blen), *plain = NULL;
  if (!head || !body) {
    fprintf(stderr, "%s: cannot read\n", name);
    tu_failed_checks++;
    goto out;
  }
  decode_encoding enc =
      blen >= 2 && (unsigned char)body[0] == 0x1f && (unsigned char)body[1] == 0x8b
          ? DECODE_GZIP
          : DECODE_IDENTITY;
  if (decode_body(enc, body, blen, 16 << 20, &plain, &dlen, NULL, 0) != DECODE_OK) {
    fprintf(stderr, "%s: cannot decode the body\n", name);
    tu_failed_checks++;
    goto out;
  }
  if (!strstr(head, "/envelope/")) {
    fn(name, plain, dlen);
    goto out;
  }
  envelope env;
  char err[256];
  if (envelope_parse(plain, dlen, 1000, &env, err, sizeof err) != 0) {
    fprintf(stderr, "%s: %s\n", name, err);
    tu_failed_checks++;
    goto out;
  }
  for (size_t i = 0; i < env.n_items; i++) {
    if (strcmp(env.items[i].type, "event") == 0) fn(name, env.items[i].payload, env.items[i].len);
  }
  envelope_free(&env);
out:
  free(plain);
  free(head);
  free(body);
}

static void tu_capture_events(tu_event_fn fn) {
  char root[768];
  snprintf(root, sizeof root, "%s/sdk-captures", SLUICE_FIXTURES);
  DIR *d = opendir(root);
  if (!d) {
    fprintf(stderr, "cannot open %s\n", root);
    tu_failed_checks++;
    return;
  }
  char *sdks[64];
  size_t ns = 0;
  struct dirent *de;
  while ((de = readdir(d)) && ns < 64) {
    if (de->d_name[0] != '.') sdks[ns++] = strdup(de->d_name);
  }
  closedir(d);
  qsort(sdks, ns, sizeof sdks[0], tu_cmp_str);
  for (size_t k = 0; k < ns; k++) {
    char sub[1024];
    snprintf(sub, sizeof sub, "%s/%s", root, sdks[k]);
    DIR *s = opendir(sub);
    char *stems[256];
    size_t n = 0;
    struct dirent *fe;
    while (s && (fe = readdir(s)) && n < 256) {
      size_t l = strlen(fe->d_name);
      if (l > 5 && strcmp(fe->d_name + l - 5, ".body") == 0)
        stems[n++] = strndup(fe->d_name, l - 5);
    }
    if (s) closedir(s);
    qsort(stems, n, sizeof stems[0], tu_cmp_str);
    for (size_t i = 0; i < n; i++) {
      tu_capture_one(root, sdks[k], stems[i], fn);
      free(stems[i]);
    }
    free(sdks[k]);
  }
}

#endif
