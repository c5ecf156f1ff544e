/* test_captures: replays every request captured from real SDKs (fixtures/sdk-captures/<sdk>/
 * NN.head + NN.body) through the ingest-path modules: auth finds and checks the key, decode
 * undoes Content-Encoding, and envelope splits /envelope/ bodies, whose items must be of known
 * types, with event and transaction payloads that are JSON objects carrying the event_id.
 * /store/ bodies must be JSON objects. The directories are listed at run time, so a new capture
 * is covered without code changes; finding no capture at all is a failure. */
#include <dirent.h>
#include <jansson.h>
#include <strings.h>

#include "sentry/auth.h"
#include "http/decode.h"
#include "sentry/envelope.h"
#include "testutil.h"

#define CAPTURE_MAX_BODY (20u << 20) /* decoded body bound used here, bytes */

/* What each SDK's capture script used: directories starting with prefix. */
static const struct {
  const char *prefix;
  const char *key;
  long long project;
} sdks[] = {
    {"sentry-python-", "abc123publickey", 7},
    {"sentry-node-", "def456publickey", 8},
};

/* Item types expected in known captures ("store" for /store/); newer captures only need to
 * pass the generic checks. Every entry must be seen, so a lost fixture is noticed. */
static struct {
  const char *capture;
  const char *types;
  int seen;
} expected[] = {
    {"sentry-node-11.12.0/01", "session", 0},
    {"sentry-node-11.12.0/02", "event", 0},
    {"sentry-node-11.12.0/03", "event", 0},
    {"sentry-node-11.12.0/04", "session", 0},
    {"sentry-node-11.12.0/05", "event", 0},
    {"sentry-node-11.12.0/06", "event", 0},
    {"sentry-node-11.12.0/07", "event", 0},
    {"sentry-node-11.12.0/08", "event", 0},
    {"sentry-python-1.9.10/01", "store", 0},
    {"sentry-python-1.9.10/02", "store", 0},
    {"sentry-python-1.9.10/03", "transaction", 0},
    {"sentry-python-1.9.10/04", "store", 0},
    {"sentry-python-1.9.10/05", "store", 0},
    {"sentry-python-1.9.10/06", "store", 0},
    {"sentry-python-1.9.10/07", "store", 0},
    {"sentry-python-1.9.10/08", "store", 0},
    {"sentry-python-1.9.10/09", "event attachment", 0},
};

/* Item types Sentry defines that an SDK may send. */
static const char *const known_types[] = {
    "event",
    "transaction",
    "session",
    "sessions",
    "attachment",
    "user_report",
    "client_report",
    "profile",
    "profile_chunk",
    "replay_event",
    "replay_recording",
    "replay_video",
    "check_in",
    "span",
    "log",
    "statsd",
    "metric_buckets",
    "feedback",
    "otel_log",
    "security",
};

static int n_captures, n_envelopes, n_store, n_items;

/* A request head: the request line and headers, pointing into a NUL-terminated copy. */
typedef struct head {
  char *method, *target;
  char *names[64], *values[64];
  int n;
} head;

/* Splits text in place. Lines end in "\n" or "\r\n"; the head ends at the first empty line. */
static int parse_head(char *text, head *h) {
  memset(h, 0, sizeof(*h));
  char *save = NULL, *line = strtok_r(text, "\n", &save);
  if (!line) return -1;
  line[strcspn(line, "\r")] = '\0';
  h->method = line;
  char *sp = strchr(line, ' ');
  if (!sp) return -1;
  *sp = '\0';
  h->target = sp + 1;
  sp = strchr(h->target, ' ');
  if (!sp || strncmp(sp + 1, "HTTP/1.", 7) != 0) return -1;
  *sp = '\0';
  while ((line = strtok_r(NULL, "\n", &save))) {
    line[strcspn(line, "\r")] = '\0';
    if (!*line) break;
    char *colon = strchr(line, ':');
    if (!colon || h->n == 64) return -1;
    *colon = '\0';
    char *v = colon + 1;
    while (*v == ' ' || *v == '\t') v++;
    h->names[h->n] = line;
    h->values[h->n++] = v;
  }
  return 0;
}

static const char *header_get(const head *h, const char *name) {
  for (int i = 0; i < h->n; i++)
    if (strcasecmp(h->names[i], name) == 0) return h->values[i];
  return NULL;
}

static bool is_hex32(const char *s) {
  if (!s || strlen(s) != 32) return false;
  for (int i = 0; i < 32; i++)
    if (!strchr("0123456789abcdef", s[i])) return false;
  return true;
}

/* Checks an event or transaction payload; returns its event_id (borrowed from *doc). */
static const char *check_event_payload(const char *where, const envelope_item *it, json_t **doc) {
  json_error_t jerr;
  *doc = json_loadb(it->payload, it->len, 0, &jerr);
  if (!*doc) fprintf(stderr, "  %s: %s payload: %s\n", where, it->type, jerr.text);
  CHECK(json_is_object(*doc));
  const char *id = json_string_value(json_object_get(*doc, "event_id"));
  if (!is_hex32(id)) fprintf(stderr, "  %s: %s payload has no valid event_id\n", where, it->type);
  CHECK(is_hex32(id));
  return id;
}

static bool known_type(const char *t) {
  for (size_t i = 0; i < sizeof(known_types) / sizeof(known_types[0]); i++)
    if (strcmp(known_types[i], t) == 0) return true;
  return false;
}

/* Checks a decoded /envelope/ body and writes its item types, space-separated, into types. */
static void check_envelope(const char *where, const char *body, size_t len, const char *key,
                           char *types, size_t typeslen) {
  envelope env;
  char err[256];
  int rc = envelope_parse(body, len, 100, &env, err, sizeof(err));
  if (rc != 0) fprintf(stderr, "  %s: %s\n", where, err);
  CHECK_EQ_INT(rc, 0);
  if (rc != 0) return;
  n_envelopes++;
  CHECK(env.n_items > 0);

  /* The header may repeat the key: in "dsn" or in the trace context. */
  const char *dsn = jdom_str(jdom_get(env.header, "dsn"));
  if (dsn) {
    char dkey[AUTH_KEY_MAX + 1];
    long long pid;
    CHECK_EQ_INT(auth_parse_dsn(dsn, dkey, &pid), 0);
    CHECK_EQ_STR(dkey, key);
  }
  const jdom_val *trace = jdom_get(env.header, "trace");
  const char *tkey = jdom_str(jdom_get(trace, "public_key"));
  if (tkey) CHECK_EQ_STR(tkey, key);
  const char *env_id = jdom_str(jdom_get(env.header, "event_id"));
  if (env_id) CHECK(is_hex32(env_id));

  size_t tl = 0;
  types[0] = '\0';
  for (size_t i = 0; i < env.n_items; i++) {
    const envelope_item *it = &env.items[i];
    n_items++;
    if (!known_type(it->type)) fprintf(stderr, "  %s: unknown item type \"%s\"\n", where, it->type);
    CHECK(known_type(it->type));
    if (tl < typeslen)
      tl += (size_t)snprintf(types + tl, typeslen - tl, "%s%s", i ? " " : "", it->type);
    const jdom_val *len_j = jdom_get(it->header, "length");
    if (len_j) CHECK(jdom_is(len_j, JDOM_INT) && len_j->u.i == (int64_t)it->len);

    if (strcmp(it->type, "event") == 0 || strcmp(it->type, "transaction") == 0) {
      json_t *doc;
      const char *id = check_event_payload(where, it, &doc);
      if (env_id && id) CHECK_EQ_STR(id, env_id);
      json_decref(doc);
    } else if (strcmp(it->type, "session") == 0) {
      json_t *doc = json_loadb(it->payload, it->len, 0, NULL);
      CHECK(json_is_object(doc));
      CHECK(json_is_string(json_object_get(doc, "sid")));
      json_decref(doc);
    } else if (strcmp(it->type, "attachment") == 0) {
      CHECK(jdom_is_string(jdom_get(it->header, "filename")));
    }
  }
  envelope_free(&env);
}

static void check_store(const char *where, const char *body, size_t len) {
  json_error_t jerr;
  json_t *doc = json_loadb(body, len, 0, &jerr);
  if (!doc) fprintf(stderr, "  %s: store body: %s\n", where, jerr.text);
  CHECK(json_is_object(doc));
  CHECK(is_hex32(json_string_value(json_object_get(doc, "event_id"))));
  json_decref(doc);
  n_store++;
}

/* Runs all checks on one capture; name is "<sdk dir>/NN". */
static void check_capture(const char *dir, const char *sdk, const char *nn) {
  char where[520], path[1300]; /* dir is under 1024 bytes, nn and sdk under 256 */
  snprintf(where, sizeof(where), "%s/%s", sdk, nn);
  snprintf(path, sizeof(path), "%s/%s.head", dir, nn);
  char *head_text = tu_read_file(path, NULL);
  snprintf(path, sizeof(path), "%s/%s.body", dir, nn);
  size_t raw_len = 0;
  char *raw = tu_read_file(path, &raw_len);
  if (!head_text || !raw) fprintf(stderr, "  %s: cannot read head or body\n", where);
  CHECK(head_text && raw);
  if (!head_text || !raw) goto out;
  n_captures++;

  head h;
  CHECK_EQ_INT(parse_head(head_text, &h), 0);
  CHECK_EQ_STR(h.method, "POST");

  /* /api/<project>/<endpoint>/[?query] */
  char *query = strchr(h.target, '?');
  if (query) *query++ = '\0';
  long long project = -1;
  char endpoint[16] = "";
  int consumed = 0;
  if (sscanf(h.target, "/api/%lld/%15[a-z]/%n", &project, endpoint, &consumed) != 2 ||
      h.target[consumed] != '\0')
    fprintf(stderr, "  %s: unexpected path %s\n", where, h.target);
  CHECK(strcmp(endpoint, "envelope") == 0 || strcmp(endpoint, "store") == 0);

  /* The key: auth header first, then the query string, as the server does. */
  char key[AUTH_KEY_MAX + 1] = "";
  const char *auth = header_get(&h, "X-Sentry-Auth");
  if (!auth) auth = header_get(&h, "Authorization");
  int rc = auth    ? auth_parse_header(auth, strlen(auth), key)
           : query ? auth_parse_query(query, strlen(query), key)
                   : -1;
  if (rc != 0) fprintf(stderr, "  %s: no key found\n", where);
  CHECK_EQ_INT(rc, 0);
  for (size_t i = 0; i < sizeof(sdks) / sizeof(sdks[0]); i++) {
    if (strncmp(sdk, sdks[i].prefix, strlen(sdks[i].prefix)) != 0) continue;
    CHECK_EQ_STR(key, sdks[i].key);
    CHECK(auth_equal_ct(key, strlen(key), sdks[i].key, strlen(sdks[i].key)));
    CHECK_EQ_INT(project, sdks[i].project);
  }

  const char *clen = header_get(&h, "Content-Length");
  if (clen) CHECK_EQ_INT(strtoll(clen, NULL, 10), raw_len);

  decode_encoding enc;
  const char *ce = header_get(&h, "Content-Encoding");
  CHECK_EQ_INT(decode_encoding_parse(ce, ce ? strlen(ce) : 0, &enc), DECODE_OK);
  char *body = NULL, err[256];
  size_t len = 0;
  rc = decode_body(enc, raw, raw_len, CAPTURE_MAX_BODY, &body, &len, err, sizeof(err));
  if (rc != DECODE_OK) fprintf(stderr, "  %s: decode: %s\n", where, err);
  CHECK_EQ_INT(rc, DECODE_OK);
  if (rc != DECODE_OK) goto out;

  char types[256] = "store";
  if (strcmp(endpoint, "envelope") == 0)
    check_envelope(where, body, len, key, types, sizeof(types));
  else
    check_store(where, body, len);
  for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
    if (strcmp(expected[i].capture, where) != 0) continue;
    expected[i].seen = 1;
    if (strcmp(types, expected[i].types) != 0) fprintf(stderr, "  %s\n", where);
    CHECK_EQ_STR(types, expected[i].types);
  }
  free(body);
out:
  free(head_text);
  free(raw);
}

static int only_dirs(const struct dirent *de) {
  return de->d_name[0] != '.' && (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN);
}

static int only_heads(const struct dirent *de) {
  size_t n = strlen(de->d_name);
  return n > 5 && strcmp(de->d_name + n - 5, ".head") == 0;
}

TEST(every_capture) {
  char root[512];
  snprintf(root, sizeof(root), "%s/sdk-captures", SLUICE_FIXTURES);
  struct dirent **sdk_list;
  int n_sdks = scandir(root, &sdk_list, only_dirs, alphasort);
  CHECK(n_sdks > 0);
  for (int s = 0; s < n_sdks; s++) {
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/%s", root, sdk_list[s]->d_name);
    struct dirent **heads;
    int n_heads = scandir(dir, &heads, only_heads, alphasort);
    for (int i = 0; i < n_heads; i++) {
      char nn[256];
      snprintf(nn, sizeof(nn), "%.*s", (int)(strlen(heads[i]->d_name) - 5), heads[i]->d_name);
      check_capture(dir, sdk_list[s]->d_name, nn);
      free(heads[i]);
    }
    if (n_heads >= 0) free(heads);
    free(sdk_list[s]);
  }
  if (n_sdks >= 0) free(sdk_list);
  if (n_captures == 0) fprintf(stderr, "  no captures found under %s\n", root);
  CHECK(n_captures > 0);
  for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
    if (!expected[i].seen) fprintf(stderr, "  capture %s is missing\n", expected[i].capture);
    CHECK(expected[i].seen);
  }
  printf("checked %d captures: %d envelopes with %d items, %d store bodies\n", n_captures,
         n_envelopes, n_items, n_store);
}

int main(void) {
  RUN(every_capture);
  TEST_EXIT();
}
