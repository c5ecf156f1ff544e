/* test_auth: unit tests for finding the Sentry public key in the auth header (any pair order,
 * optional blanks, case-insensitive scheme, quoted values), in a query string (percent-decoded),
 * and in DSNs (secret, port, IPv6, path prefix), with the malformed inputs each must refuse,
 * and for the constant-time comparison. */
#include "sentry/auth.h"
#include "testutil.h"

/* Parses a header literal and returns the key, or NULL when parsing failed. */
static char keybuf[AUTH_KEY_MAX + 1];

static const char *hdr(const char *v) {
  memset(keybuf, 'Z', sizeof(keybuf));
  if (auth_parse_header(v, strlen(v), keybuf) == 0) return keybuf;
  CHECK_EQ_STR(keybuf, ""); /* cleared on failure */
  return NULL;
}

static const char *query(const char *q) {
  memset(keybuf, 'Z', sizeof(keybuf));
  if (auth_parse_query(q, strlen(q), keybuf) == 0) return keybuf;
  CHECK_EQ_STR(keybuf, "");
  return NULL;
}

static long long dsn_project;
static const char *dsn(const char *d) {
  memset(keybuf, 'Z', sizeof(keybuf));
  dsn_project = -1;
  if (auth_parse_dsn(d, keybuf, &dsn_project) == 0) return keybuf;
  CHECK_EQ_STR(keybuf, "");
  CHECK_EQ_INT(dsn_project, -1); /* untouched on failure */
  return NULL;
}

/* 64 and 65 character keys */
#define K64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define K65 K64 "x"

TEST(header_sdk_forms) {
  CHECK_EQ_STR(hdr("Sentry sentry_key=abc123publickey, sentry_version=7, "
                   "sentry_client=sentry.python/1.9.10"),
               "abc123publickey");
  CHECK_EQ_STR(hdr("Sentry sentry_version=7,sentry_client=raven-js/3.0,sentry_key=k1"), "k1");
  CHECK_EQ_STR(hdr("Sentry sentry_version=7, sentry_key=mid-key_1, sentry_secret=s3cr3t"),
               "mid-key_1");
  CHECK_EQ_STR(hdr("Sentry sentry_key=onlykey"), "onlykey");
  CHECK_EQ_STR(hdr("Sentry sentry_key=trailingcomma,"), "trailingcomma");
  CHECK_EQ_STR(
      hdr("Sentry sentry_timestamp=1329096377, sentry_key=b70a31b3510c4cf793964a185cfe1fd0"),
      "b70a31b3510c4cf793964a185cfe1fd0");
}

TEST(header_case_and_blanks) {
  CHECK_EQ_STR(hdr("sentry sentry_key=a"), "a");
  CHECK_EQ_STR(hdr("SENTRY sentry_key=a"), "a");
  CHECK_EQ_STR(hdr("  \tSentry\t sentry_key=a  "), "a");
  CHECK_EQ_STR(hdr("Sentry sentry_key = a , sentry_version = 7"), "a");
  CHECK_EQ_STR(hdr("Sentry ,, sentry_version=7 ,,sentry_key=a"), "a");
  CHECK_EQ_STR(hdr("Sentry sentry_key=\"quoted\", sentry_version=\"7\""), "quoted");
  CHECK_EQ_STR(hdr("Sentry sentry_version=\"a,b\", sentry_key=k"), "k");
  /* a bare word without '=' is skipped */
  CHECK_EQ_STR(hdr("Sentry junk, sentry_key=k"), "k");
  /* the first sentry_key decides */
  CHECK_EQ_STR(hdr("Sentry sentry_key=first, sentry_key=second"), "first");
  /* parameter names are exact */
  CHECK_EQ_STR(hdr("Sentry xsentry_key=no, sentry_keyx=no, sentry_key=yes"), "yes");
}

TEST(header_key_length_bound) {
  CHECK_EQ_STR(hdr("Sentry sentry_key=" K64), K64);
  CHECK(hdr("Sentry sentry_key=" K65) == NULL);
  CHECK(hdr("Sentry sentry_key=") == NULL);
  CHECK(hdr("Sentry sentry_key=, sentry_version=7") == NULL);
  CHECK(hdr("Sentry sentry_key=\"\"") == NULL);
}

TEST(header_only_len_bytes_are_read) {
  static const char v[] = "Sentry sentry_key=abcdef, sentry_version=7";
  char key[AUTH_KEY_MAX + 1];
  CHECK_EQ_INT(auth_parse_header(v, 21, key), 0); /* stops after "abc" */
  CHECK_EQ_STR(key, "abc");
  CHECK_EQ_INT(auth_parse_header(v, 6, key), -1); /* just "Sentry" */
  CHECK_EQ_INT(auth_parse_header(NULL, 0, key), -1);
  CHECK_EQ_STR(key, "");
}

TEST(header_rejects) {
  CHECK(hdr("") == NULL);
  CHECK(hdr("Sentry") == NULL);
  CHECK(hdr("Sentry ") == NULL);
  CHECK(hdr("Bearer sentry_key=abc") == NULL);
  CHECK(hdr("Basic c2VudHJ5") == NULL);
  CHECK(hdr("Sentrysentry_key=abc") == NULL);
  CHECK(hdr("Sentry,sentry_key=abc") == NULL);
  CHECK(hdr("sentry_key=abc") == NULL);
  CHECK(hdr("Sentry sentry_version=7, sentry_client=x") == NULL);
  CHECK(hdr("Sentry sentry_key") == NULL);
  CHECK(hdr("Sentry sentry_key=abc def") == NULL);
  CHECK(hdr("Sentry sentry_key=abc;x") == NULL);
  CHECK(hdr("Sentry sentry_key=abc/def") == NULL);
  CHECK(hdr("Sentry sentry_key=\xc3\xa9t\xc3\xa9") == NULL);
  CHECK(hdr("Sentry sentry_key=\"unterminated") == NULL);
}

TEST(query_forms) {
  CHECK_EQ_STR(query("sentry_version=7&sentry_key=def456publickey&sentry_client="
                     "sentry.javascript.node%2F11.12.0"),
               "def456publickey");
  CHECK_EQ_STR(query("sentry_key=first&sentry_version=7"), "first");
  CHECK_EQ_STR(query("sentry_key=only"), "only");
  CHECK_EQ_STR(query("sentry_key=abc%2Ddef%5f1"), "abc-def_1");
  CHECK_EQ_STR(query("sentry%5Fkey=encodedname"), "encodedname");
  CHECK_EQ_STR(query("a&b=&=c&&sentry_key=k"), "k");
  CHECK_EQ_STR(query("xsentry_key=no&sentry_keyx=no&sentry_key=yes"), "yes");
  CHECK_EQ_STR(query("sentry_key=one&sentry_key=two"), "one");
  CHECK_EQ_STR(query("sentry_key=" K64), K64);
  /* a key of 64 bytes that is longer encoded */
  CHECK_EQ_STR(
      query("sentry_key=%30123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), K64);
}

TEST(query_rejects) {
  CHECK(query("") == NULL);
  CHECK(query("sentry_version=7") == NULL);
  CHECK(query("sentry_key") == NULL);
  CHECK(query("sentry_key=") == NULL);
  CHECK(query("sentry_key=" K65) == NULL);
  CHECK(query("sentry_key=" K64 "%41") == NULL);
  CHECK(query("sentry_key=a+b") == NULL);   /* '+' is a space */
  CHECK(query("sentry_key=a%20b") == NULL); /* so is %20 */
  CHECK(query("sentry_key=a%00") == NULL);
  CHECK(query("sentry_key=a%zz") == NULL);
  CHECK(query("sentry_key=a%4") == NULL);
  CHECK(query("sentry_key=a%") == NULL);
  CHECK(query("sentry_key=%2") == NULL);
  CHECK(query("sentry_key=a/b") == NULL);
  /* a sentry_key hidden behind a malformed name is not found */
  CHECK(query("sentry%zzkey=a") == NULL);
  char key[AUTH_KEY_MAX + 1];
  CHECK_EQ_INT(auth_parse_query(NULL, 0, key), -1);
  /* only len bytes count */
  CHECK_EQ_INT(auth_parse_query("sentry_key=abcdef", 14, key), 0);
  CHECK_EQ_STR(key, "abc");
}

TEST(dsn_forms) {
  CHECK_EQ_STR(dsn("http://abc123publickey@127.0.0.1:9000/7"), "abc123publickey");
  CHECK_EQ_INT(dsn_project, 7);
  CHECK_EQ_STR(dsn("https://e12d836b15bb49d7bbf99e64295d995b:@sentry.io/42"),
               "e12d836b15bb49d7bbf99e64295d995b");
  CHECK_EQ_INT(dsn_project, 42);
  CHECK_EQ_STR(dsn("https://pub:secret@o1.ingest.sentry.io/4505"), "pub");
  CHECK_EQ_INT(dsn_project, 4505);
  CHECK_EQ_STR(dsn("http://k@host/prefix/deeper/123"), "k");
  CHECK_EQ_INT(dsn_project, 123);
  CHECK_EQ_STR(dsn("http://k@host:80/sentry/9/"), "k");
  CHECK_EQ_INT(dsn_project, 9);
  CHECK_EQ_STR(dsn("http://k@[::1]:9000/3"), "k");
  CHECK_EQ_INT(dsn_project, 3);
  CHECK_EQ_STR(dsn("http://k@[::1]/4"), "k");
  CHECK_EQ_INT(dsn_project, 4);
  CHECK_EQ_STR(dsn("http://" K64 "@h/999999999999999999"), K64);
  CHECK_EQ_INT(dsn_project, 999999999999999999LL);
  char key[AUTH_KEY_MAX + 1];
  CHECK_EQ_INT(auth_parse_dsn("http://k@h/1", key, NULL), 0); /* project_id may be NULL */
  CHECK_EQ_STR(key, "k");
}

TEST(dsn_rejects) {
  CHECK(dsn("") == NULL);
  CHECK(dsn("abc@host/1") == NULL);       /* no scheme */
  CHECK(dsn("://k@host/1") == NULL);      /* empty scheme */
  CHECK(dsn("1http://k@host/1") == NULL); /* scheme must start with a letter */
  CHECK(dsn("http:/k@host/1") == NULL);   /* one slash */
  CHECK(dsn("http://host/1") == NULL);    /* no key */
  CHECK(dsn("http://@host/1") == NULL);   /* empty key */
  CHECK(dsn("http://:secret@host/1") == NULL);
  CHECK(dsn("http://k@/1") == NULL); /* empty host */
  CHECK(dsn("http://k@:9000/1") == NULL);
  CHECK(dsn("http://k@host:/1") == NULL); /* empty port */
  CHECK(dsn("http://k@host:0/1") == NULL);
  CHECK(dsn("http://k@host:65536/1") == NULL);
  CHECK(dsn("http://k@host:123456/1") == NULL);
  CHECK(dsn("http://k@host:8a/1") == NULL);
  CHECK(dsn("http://k@[::1/1") == NULL); /* unclosed IPv6 literal */
  CHECK(dsn("http://k@[::1]x/1") == NULL);
  CHECK(dsn("http://k@host") == NULL);  /* no path */
  CHECK(dsn("http://k@host/") == NULL); /* no project */
  CHECK(dsn("http://k@host//") == NULL);
  CHECK(dsn("http://k@host/abc") == NULL);
  CHECK(dsn("http://k@host/12a") == NULL);
  CHECK(dsn("http://k@host/-1") == NULL);
  CHECK(dsn("http://k@host/1234567890123456789") == NULL); /* too many digits */
  CHECK(dsn("http://k@host/1?x=y") == NULL);
  CHECK(dsn("http://k@host/1#frag") == NULL);
  CHECK(dsn("http://bad key@host/1") == NULL);
  CHECK(dsn("http://" K65 "@host/1") == NULL);
  CHECK(dsn("http://a/b@host/1") == NULL); /* '@' after the first '/' is not userinfo */
  char key[AUTH_KEY_MAX + 1];
  long long pid = -1;
  CHECK_EQ_INT(auth_parse_dsn(NULL, key, &pid), -1);
  /* a DSN longer than the 2048-byte cap is refused without reading it all */
  char *big = malloc(4000);
  int n = snprintf(big, 4000, "http://k@host/");
  memset(big + n, 'p', 3000);
  memcpy(big + n + 3000, "/1", 3);
  CHECK(dsn(big) == NULL);
  free(big);
}

TEST(equal_ct) {
  CHECK(auth_equal_ct("abc", 3, "abc", 3));
  CHECK(!auth_equal_ct("abc", 3, "abd", 3));
  CHECK(!auth_equal_ct("abc", 3, "xbc", 3));
  CHECK(!auth_equal_ct("abc", 3, "ab", 2));
  CHECK(!auth_equal_ct("ab", 2, "abc", 3));
  CHECK(!auth_equal_ct("ab\0", 3, "ab", 2)); /* a NUL is not padding */
  CHECK(!auth_equal_ct("", 0, "a", 1));
  CHECK(auth_equal_ct("", 0, "", 0));
  CHECK(auth_equal_ct(NULL, 0, NULL, 0));
  CHECK(auth_equal_ct("a\0b", 3, "a\0b", 3));
  CHECK(!auth_equal_ct("a\0b", 3, "a\0c", 3));
  CHECK(auth_equal_ct(K64, 64, K64, 64));
  CHECK(!auth_equal_ct(K64, 64, K65, 64 + 1));
}

int main(void) {
  RUN(header_sdk_forms);
  RUN(header_case_and_blanks);
  RUN(header_key_length_bound);
  RUN(header_only_len_bytes_are_read);
  RUN(header_rejects);
  RUN(query_forms);
  RUN(query_rejects);
  RUN(dsn_forms);
  RUN(dsn_rejects);
  RUN(equal_ct);
  TEST_EXIT();
}
