/* test_router: the route matcher (literal segments, ":name" segments, the "*" catch-all, the
 * optional trailing slash, the parameter cap), the table lookup behind dispatch (which route
 * answers, 405 for a known path with another method, 404 otherwise, CORS for the preflight;
 * every row reachable by its own pattern), endpoint names, and the parameter parsers: positive
 * int64 without overflow, percent-decoding within the segment and within the buffer. Dispatch
 * itself needs an app and a connection and is left to the black-box tests. */
#include "http/router.h"
#include "testutil.h"

/* Params holding one raw segment of len bytes (not NUL-terminated where it ends). */
static route_params one(const char *seg, size_t len) {
  route_params p;
  memset(&p, 0, sizeof p);
  p.n = 1;
  p.seg[0] = seg;
  p.len[0] = len;
  return p;
}

static int seg_is(const route_params *p, int i, const char *want) {
  return i < p->n && p->len[i] == strlen(want) && memcmp(p->seg[i], want, p->len[i]) == 0;
}

/* --- matcher -------------------------------------------------------------------------------- */

TEST(match_literal_paths) {
  route_params p;
  CHECK_EQ_INT(router_match("/healthz", "/healthz", &p), 1);
  CHECK_EQ_INT(p.n, 0);
  CHECK_EQ_INT(router_match("/healthz", "/healthz/", &p), 1); /* optional trailing slash */
  CHECK_EQ_INT(router_match("/healthz", "/healthz//", &p), 0);
  CHECK_EQ_INT(router_match("/healthz", "/healthzz", &p), 0);
  CHECK_EQ_INT(router_match("/healthz", "/health", &p), 0);
  CHECK_EQ_INT(router_match("/healthz", "/HEALTHZ", &p), 0);
  CHECK_EQ_INT(router_match("/healthz", "/healthz/x", &p), 0);
  CHECK_EQ_INT(router_match("/healthz", "//healthz", &p), 0);
  CHECK_EQ_INT(router_match("/healthz", "/", &p), 0);
  CHECK_EQ_INT(router_match("/healthz", "", &p), 0);
  CHECK_EQ_INT(router_match("/api/v1/projects", "/api/v1/projects", &p), 1);
  CHECK_EQ_INT(router_match("/api/v1/projects", "/api/v1/projects/", &p), 1);
  CHECK_EQ_INT(router_match("/api/v1/projects", "/api/v1/project", &p), 0);
  CHECK_EQ_INT(router_match("/api/v1/projects", "/api/v1", &p), 0);
  CHECK_EQ_INT(router_match("/api/v1/projects", "/api/v1/", &p), 0);
}

TEST(match_named_segments) {
  route_params p;
  const char *path = "/api/42/envelope";
  CHECK_EQ_INT(router_match("/api/:project/envelope", path, &p), 1);
  CHECK_EQ_INT(p.n, 1);
  CHECK(seg_is(&p, 0, "42"));
  CHECK(p.seg[0] == path + 5); /* points into the path, not copied */
  CHECK_EQ_INT(router_match("/api/:project/envelope", "/api/42/envelope/", &p), 1);
  CHECK(seg_is(&p, 0, "42"));
  /* the segment is taken raw; decoding is route_param_str's job */
  CHECK_EQ_INT(router_match("/api/:project/envelope", "/api/a%2Fb/envelope", &p), 1);
  CHECK(seg_is(&p, 0, "a%2Fb"));

  CHECK_EQ_INT(router_match("/api/:project/envelope", "/api//envelope", &p), 0); /* empty */
  CHECK_EQ_INT(router_match("/api/:project/envelope", "/api/42", &p), 0);
  CHECK_EQ_INT(router_match("/api/:project/envelope", "/api/42/", &p), 0);
  CHECK_EQ_INT(router_match("/api/:project/envelope", "/api/42/store", &p), 0);
  CHECK_EQ_INT(router_match("/api/:project/envelope", "/api/42/envelope/x", &p), 0);
  CHECK_EQ_INT(router_match("/api/:project/envelope", "/api/4/2/envelope", &p), 0);

  /* a named segment at the end */
  CHECK_EQ_INT(router_match("/api/v1/projects/:project", "/api/v1/projects/7", &p), 1);
  CHECK(seg_is(&p, 0, "7"));
  CHECK_EQ_INT(router_match("/api/v1/projects/:project", "/api/v1/projects/7/", &p), 1);
  CHECK(seg_is(&p, 0, "7"));
  CHECK_EQ_INT(router_match("/api/v1/projects/:project", "/api/v1/projects/", &p), 0);
  CHECK_EQ_INT(router_match("/api/v1/projects/:project", "/api/v1/projects", &p), 0);
  CHECK_EQ_INT(router_match("/api/v1/projects/:project", "/api/v1/projects/7/x", &p), 0);

  /* two of them */
  CHECK_EQ_INT(router_match("/api/v1/projects/:project/events/:event",
                            "/api/v1/projects/7/events/9ec79c33ec9942ab", &p),
               1);
  CHECK_EQ_INT(p.n, 2);
  CHECK(seg_is(&p, 0, "7"));
  CHECK(seg_is(&p, 1, "9ec79c33ec9942ab"));
}

TEST(match_param_cap_and_reset) {
  route_params p;
  CHECK_EQ_INT(router_match("/:a/:b/:c/:d", "/1/2/3/4", &p), 1);
  CHECK_EQ_INT(p.n, ROUTE_MAX_PARAMS);
  CHECK(seg_is(&p, 3, "4"));
  CHECK_EQ_INT(router_match("/:a/:b/:c/:d/:e", "/1/2/3/4/5", &p), 0);
  /* n is reset by every call, match or not */
  p.n = 3;
  CHECK_EQ_INT(router_match("/healthz", "/healthz", &p), 1);
  CHECK_EQ_INT(p.n, 0);
  p.n = 3;
  CHECK_EQ_INT(router_match("/x", "/y", &p), 0);
  CHECK_EQ_INT(p.n, 0);
}

TEST(match_catch_all) {
  route_params p;
  CHECK_EQ_INT(router_match("/*", "/", &p), 1);
  CHECK_EQ_INT(router_match("/*", "/index.html", &p), 1);
  CHECK_EQ_INT(router_match("/*", "/assets/app.3f2a.js", &p), 1);
  CHECK_EQ_INT(router_match("/*", "/a/b/c/", &p), 1);
  CHECK_EQ_INT(router_match("/*", "", &p), 0);
  CHECK_EQ_INT(router_match("/static/*", "/static/", &p), 1);
  CHECK_EQ_INT(router_match("/static/*", "/static/x/y", &p), 1);
  CHECK_EQ_INT(router_match("/static/*", "/stati/x", &p), 0);
  CHECK_EQ_INT(router_match("/:p/*", "/7/anything/else", &p), 1);
  CHECK(seg_is(&p, 0, "7"));
}

/* --- the table -------------------------------------------------------------------------------- */

/* router_find, checking the answer is the route named want ("METHOD pattern"). */
static void expect_route(int method, const char *path, const char *want, int want_cors) {
  route_params p;
  int status = -1, cors = -1;
  int ep = router_find(method, path, &p, &status, &cors);
  const char *name = ep ? router_endpoint_name(ep) : "(none)";
  if (!name || strcmp(name, want) != 0)
    fprintf(stderr, "  %s %s: routed to %s, expected %s\n", llhttp_method_name(method), path,
            name ? name : "(null)", want);
  CHECK(ep > 0);
  CHECK_EQ_STR(name, want);
  CHECK_EQ_INT(status, 0);
  CHECK_EQ_INT(cors, want_cors);
}

static void expect_miss(int method, const char *path, int want_status, int want_cors) {
  route_params p;
  int status = -1, cors = -1;
  int ep = router_find(method, path, &p, &status, &cors);
  if (ep != 0 || status != want_status)
    fprintf(stderr, "  %s %s: endpoint %d status %d, expected none and %d\n",
            llhttp_method_name(method), path, ep, status, want_status);
  CHECK_EQ_INT(ep, 0);
  CHECK_EQ_INT(status, want_status);
  CHECK_EQ_INT(cors, want_cors);
}

TEST(find_routes) {
  expect_route(HTTP_GET, "/healthz", "GET /healthz", 0);
  expect_route(HTTP_GET, "/healthz/", "GET /healthz", 0);
  expect_route(HTTP_POST, "/api/1/envelope", "POST /api/:project/envelope", 1);
  expect_route(HTTP_POST, "/api/1/envelope/", "POST /api/:project/envelope", 1);
  expect_route(HTTP_POST, "/api/1/store/", "POST /api/:project/store", 1);
  expect_route(HTTP_POST, "/api/v1/session", "POST /api/v1/session", 0);
  expect_route(HTTP_DELETE, "/api/v1/session", "DELETE /api/v1/session", 0);
  expect_route(HTTP_GET, "/api/v1/projects", "GET /api/v1/projects", 0);
  expect_route(HTTP_GET, "/api/v1/projects/5", "GET /api/v1/projects/:project", 0);
  expect_route(HTTP_PATCH, "/api/v1/projects/5", "PATCH /api/v1/projects/:project", 0);
  expect_route(HTTP_GET, "/api/v1/projects/5/issues/", "GET /api/v1/projects/:project/issues", 0);
  expect_route(HTTP_GET, "/api/v1/projects/5/workers/web%2F1/memory",
               "GET /api/v1/projects/:project/workers/:worker/memory", 0);
  expect_route(HTTP_POST, "/api/v1/webhooks/3/test", "POST /api/v1/webhooks/:webhook/test", 0);
  /* everything else that is GET or HEAD belongs to the dashboard files */
  expect_route(HTTP_GET, "/", "GET /*", 0);
  expect_route(HTTP_GET, "/index.html", "GET /*", 0);
  expect_route(HTTP_GET, "/api/v1/nothing", "GET /*", 0);
  expect_route(HTTP_HEAD, "/assets/app.js", "HEAD /*", 0);
  /* ... even an API path that only has a POST route: the catch-all takes it before a 405 (and
   * static_files answers 404 for anything under /api/) */
  expect_route(HTTP_GET, "/api/v1/webhooks/3/test", "GET /*", 0);
  expect_route(HTTP_GET, "/api/1/envelope", "GET /*", 0);

  /* The parameters come back with the route. */
  route_params p;
  int status, cors;
  int ep = router_find(HTTP_GET, "/api/v1/projects/12/events/abc", &p, &status, &cors);
  CHECK_EQ_STR(router_endpoint_name(ep), "GET /api/v1/projects/:project/events/:event");
  CHECK_EQ_INT(p.n, 2);
  CHECK(seg_is(&p, 0, "12"));
  CHECK(seg_is(&p, 1, "abc"));
}

TEST(find_method_not_allowed_vs_not_found) {
  /* a path some route has, with another method: 405 */
  expect_miss(HTTP_POST, "/healthz", 405, 0);
  expect_miss(HTTP_PUT, "/api/v1/projects/5", 405, 0);
  expect_miss(HTTP_DELETE, "/api/v1/projects", 405, 0);
  /* the ingest paths are CORS routes: OPTIONS must learn that, for the preflight */
  expect_miss(HTTP_OPTIONS, "/api/1/envelope", 405, 1);
  expect_miss(HTTP_OPTIONS, "/api/1/memory/", 405, 1);
  expect_miss(HTTP_OPTIONS, "/api/v1/projects", 405, 0);
  /* no route at all (the GET and HEAD catch-alls do not make a path known): 404 */
  expect_miss(HTTP_POST, "/nope", 404, 0);
  expect_miss(HTTP_DELETE, "/", 404, 0);
  expect_miss(HTTP_OPTIONS, "/index.html", 404, 0);
  expect_miss(HTTP_POST, "/api/1/envelope/extra", 404, 0);
  expect_miss(HTTP_POST, "/api//envelope", 404, 0);
}

static int method_by_name(const char *name, size_t len) {
  static const int methods[] = {HTTP_GET,    HTTP_HEAD,  HTTP_POST,   HTTP_PUT,
                                HTTP_DELETE, HTTP_PATCH, HTTP_OPTIONS};
  for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
    const char *m = llhttp_method_name((llhttp_method_t)methods[i]);
    if (strlen(m) == len && memcmp(m, name, len) == 0) return methods[i];
  }
  return -1;
}

/* Every row is reachable: a path built from its own pattern (":name" -> "1", "*" -> "x")
 * routes to it, so no earlier row shadows it. */
TEST(every_route_reachable) {
  int n = 0;
  for (int ep = 1; router_endpoint_name(ep); ep++) {
    const char *name = router_endpoint_name(ep);
    const char *sp = strchr(name, ' ');
    CHECK(sp != NULL);
    if (!sp) continue;
    int method = method_by_name(name, (size_t)(sp - name));
    CHECK(method >= 0);
    char path[256];
    size_t k = 0;
    for (const char *q = sp + 1; *q && k + 2 < sizeof path;) {
      if (*q == ':') {
        path[k++] = '1';
        while (*q && *q != '/') q++;
      } else if (*q == '*') {
        path[k++] = 'x';
        q++;
      } else {
        path[k++] = *q++;
      }
    }
    path[k] = '\0';
    route_params p;
    int status, cors;
    int got = router_find(method, path, &p, &status, &cors);
    if (got != ep) fprintf(stderr, "  %s (%s) routed to endpoint %d\n", name, path, got);
    CHECK_EQ_INT(got, ep);
    n++;
  }
  CHECK(n >= 20);
  CHECK(n < HTTP_ENDPOINTS);
}

TEST(endpoint_names) {
  CHECK_EQ_STR(router_endpoint_name(0), "other");
  CHECK_EQ_STR(router_endpoint_name(1), "GET /healthz");
  CHECK(router_endpoint_name(-1) == NULL);
  int last = 1;
  while (router_endpoint_name(last + 1)) last++;
  CHECK(router_endpoint_name(last + 1) == NULL);
  CHECK(router_endpoint_name(HTTP_ENDPOINTS) == NULL);
  CHECK_EQ_STR(router_endpoint_name(last), "HEAD /*");
  /* names are built once and kept */
  CHECK(router_endpoint_name(2) == router_endpoint_name(2));
  for (int ep = 1; ep < last; ep++) {
    for (int other = ep + 1; other <= last; other++) {
      if (!strcmp(router_endpoint_name(ep), router_endpoint_name(other)))
        fprintf(stderr, "  endpoints %d and %d share a name\n", ep, other);
      CHECK(strcmp(router_endpoint_name(ep), router_endpoint_name(other)) != 0);
    }
  }
}

/* --- parameters ------------------------------------------------------------------------------- */

static void expect_i64(const char *seg, int want_rc, int64_t want) {
  route_params p = one(seg, strlen(seg));
  int64_t v = -7;
  int rc = route_param_i64(&p, 0, &v);
  if (rc != want_rc) fprintf(stderr, "  route_param_i64(\"%s\") = %d\n", seg, rc);
  CHECK_EQ_INT(rc, want_rc);
  CHECK_EQ_INT(v, want_rc == 0 ? want : -7); /* untouched on failure */
}

TEST(param_i64) {
  expect_i64("1", 0, 1);
  expect_i64("42", 0, 42);
  expect_i64("007", 0, 7);
  expect_i64("999999999999999999", 0, 999999999999999999LL); /* 18 digits: the most taken */
  expect_i64("1000000000000000000", -1, 0);                  /* 19 digits */
  expect_i64("9223372036854775807", -1, 0);
  expect_i64("9223372036854775808", -1, 0);
  expect_i64("99999999999999999999999", -1, 0);
  expect_i64("0", -1, 0);
  expect_i64("000", -1, 0);
  expect_i64("-1", -1, 0);
  expect_i64("+1", -1, 0);
  expect_i64(" 1", -1, 0);
  expect_i64("1 ", -1, 0);
  expect_i64("1a", -1, 0);
  expect_i64("0x10", -1, 0);
  expect_i64("1e3", -1, 0);
  expect_i64("%31", -1, 0); /* no decoding for numbers */
  expect_i64("1/", -1, 0);  /* characters just below '0' */
  expect_i64("10.5", -1, 0);
  expect_i64("9-1", -1, 0);
  expect_i64("1:", -1, 0); /* and just above '9' */
  expect_i64("", -1, 0);

  /* only len bytes are read */
  route_params p = one("12/34", 2);
  int64_t v = 0;
  CHECK_EQ_INT(route_param_i64(&p, 0, &v), 0);
  CHECK_EQ_INT(v, 12);
  /* an index past n */
  CHECK_EQ_INT(route_param_i64(&p, 1, &v), -1);
  p.n = 0;
  CHECK_EQ_INT(route_param_i64(&p, 0, &v), -1);
  /* through the matcher */
  CHECK_EQ_INT(router_match("/api/v1/issues/:issue", "/api/v1/issues/123/", &p), 1);
  CHECK_EQ_INT(route_param_i64(&p, 0, &v), 0);
  CHECK_EQ_INT(v, 123);
}

static void expect_str(const char *seg, size_t cap, long want_rc, const char *want) {
  route_params p = one(seg, strlen(seg));
  char buf[64];
  memset(buf, 'X', sizeof buf);
  long rc = route_param_str(&p, 0, buf, cap);
  if (rc != want_rc) fprintf(stderr, "  route_param_str(\"%s\", cap %zu) = %ld\n", seg, cap, rc);
  CHECK_EQ_INT(rc, want_rc);
  if (rc >= 0 && want) CHECK(rc == (long)strlen(want) && memcmp(buf, want, strlen(want) + 1) == 0);
  for (size_t k = cap; k < sizeof buf; k++) {
    if (buf[k] != 'X') {
      fprintf(stderr, "  route_param_str(\"%s\", cap %zu) wrote byte %zu\n", seg, cap, k);
      CHECK(buf[k] == 'X');
      break;
    }
  }
}

TEST(param_str_decoding) {
  expect_str("abc", 64, 3, "abc");
  expect_str("web-1.host_a~b", 64, 14, "web-1.host_a~b");
  expect_str("a%20b", 64, 3, "a b");
  expect_str("a%2Fb", 64, 3, "a/b");
  expect_str("a%2fb", 64, 3, "a/b");
  expect_str("%41%42%43", 64, 3, "ABC");
  expect_str("a+b", 64, 3, "a+b"); /* '+' is literal in a path */
  expect_str("%2B", 64, 1, "+");
  expect_str("%25", 64, 1, "%");
  expect_str("%25zz", 64, 3, "%zz");
  expect_str("%E2%82%AC", 64, 3, "\xe2\x82\xac");
  /* bad escapes */
  expect_str("%zz", 64, -1, NULL);
  expect_str("%g0", 64, -1, NULL);
  expect_str("%0g", 64, -1, NULL);
  expect_str("%", 64, -1, NULL);
  expect_str("a%", 64, -1, NULL);
  expect_str("a%2", 64, -1, NULL);
  expect_str("%%41", 64, -1, NULL);
  expect_str("%00", 64, -1, NULL); /* a NUL would cut the string short */
  expect_str("a%00b", 64, -1, NULL);
}

TEST(param_str_stays_in_the_segment) {
  /* The segment "ab%2" ends where the next path segment starts; the "0" after it is not part
   * of the escape. */
  const char *path = "ab%20";
  route_params p = one(path, 4);
  char buf[16];
  CHECK_EQ_INT(route_param_str(&p, 0, buf, sizeof buf), -1);
  p = one("ab%41/cd", 5);
  CHECK_EQ_INT(route_param_str(&p, 0, buf, sizeof buf), 3);
  CHECK_EQ_STR(buf, "abA");
  CHECK_EQ_INT(route_param_str(&p, 1, buf, sizeof buf), -1);
  /* through the matcher: a param is one segment */
  CHECK_EQ_INT(router_match("/w/:worker/memory", "/w/a%2Fb%20c/memory", &p), 1);
  CHECK_EQ_INT(route_param_str(&p, 0, buf, sizeof buf), 5);
  CHECK_EQ_STR(buf, "a/b c");
}

TEST(param_str_buffer_bounds) {
  /* cap counts the NUL: "abc" needs 4 */
  expect_str("abc", 4, 3, "abc");
  expect_str("abc", 3, -1, NULL);
  expect_str("abc", 1, -1, NULL);
  expect_str("abc", 0, -1, NULL);
  /* an escape is one byte out */
  expect_str("a%20", 3, 2, "a ");
  expect_str("a%20", 2, -1, NULL);
  expect_str("%20", 2, 1, " ");
  expect_str("%20", 1, -1, NULL);
  expect_str("%20", 0, -1, NULL);
  expect_str("%20a", 3, 2, " a");
  expect_str("%20a", 2, -1, NULL);
  expect_str("%41%42", 3, 2, "AB");
  expect_str("%41%42", 2, -1, NULL);
}

int main(void) {
  RUN(match_literal_paths);
  RUN(match_named_segments);
  RUN(match_param_cap_and_reset);
  RUN(match_catch_all);
  RUN(find_routes);
  RUN(find_method_not_allowed_vs_not_found);
  RUN(every_route_reachable);
  RUN(endpoint_names);
  RUN(param_i64);
  RUN(param_str_decoding);
  RUN(param_str_stays_in_the_segment);
  RUN(param_str_buffer_bounds);
  TEST_EXIT();
}
