/* test_api_paging: the cursors api_paging accepts (api_cursor_parse). Only the forms the lists
 * give out pass: "<id>" and, for lists sorted by a value, "<value>:<id>" with a finite value,
 * as store_json_page writes them; everything else is refused, so a client never gets a page
 * of something it did not ask for. */
#include <math.h>
#include <stdint.h>

#include "api/api.h"
#include "store.h"
#include "testutil.h"

static int parse(const char *text, int with_key, store_page *p) {
  *p = (store_page){25, 0, 0, 0};
  return api_cursor_parse(text, with_key, p);
}

TEST(good_cursors) {
  store_page p;
  CHECK_EQ_INT(parse("1", 0, &p), 0);
  CHECK_EQ_INT(p.id, 1);
  CHECK_EQ_INT(p.has_cursor, 1);
  CHECK_EQ_INT(p.limit, 25);
  CHECK_EQ_INT(parse("9223372036854775807", 0, &p), 0);
  CHECK_EQ_INT(p.id, INT64_MAX);
  CHECK_EQ_INT(parse("1700000200:42", 1, &p), 0);
  CHECK(p.key == 1700000200.0);
  CHECK_EQ_INT(p.id, 42);
  CHECK_EQ_INT(parse("0:7", 1, &p), 0); /* a count or time of 0 is a value like any other */
  CHECK(p.key == 0.0);
  CHECK_EQ_INT(parse("-12.5:3", 1, &p), 0);
  CHECK(p.key == -12.5);
}

TEST(what_the_lists_give_out_reads_back_exactly) {
  static const double keys[] = {1700000123.4567891, 0.1, 3, 1e-300, 1.7976931348623157e308};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    json_t *doc = store_json_page("x", json_array(), 1, 1, keys[i], 99);
    const char *next = json_string_value(json_object_get(doc, "next_cursor"));
    store_page p;
    CHECK(next != NULL);
    CHECK_EQ_INT(next ? parse(next, 1, &p) : -1, 0);
    CHECK(p.key == keys[i]);
    CHECK_EQ_INT(p.id, 99);
    json_decref(doc);
  }
  json_t *doc = store_json_page("x", json_array(), 1, 0, 0, 12345);
  store_page p;
  CHECK_EQ_INT(parse(json_string_value(json_object_get(doc, "next_cursor")), 0, &p), 0);
  CHECK_EQ_INT(p.id, 12345);
  json_decref(doc);
}

TEST(bad_id_only_cursors_are_refused) {
  static const char *const bad[] = {"",
                                    "abc",
                                    "1.5",
                                    "0",
                                    "-3",
                                    "9999999999999999999999",
                                    "9223372036854775808",
                                    "1x",
                                    "1 ",
                                    " 1",
                                    "+1",
                                    "01",
                                    "1:2",
                                    "0x10",
                                    "1e3"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    store_page p;
    int rc = parse(bad[i], 0, &p);
    if (rc != -1) fprintf(stderr, "  id-only cursor \"%s\" was accepted\n", bad[i]);
    CHECK_EQ_INT(rc, -1);
  }
}

TEST(bad_keyed_cursors_are_refused) {
  static const char *const bad[] = {
      "",      "abc",   "1:",     ":5",    "5",       "1:0",  "1:-3",  "1:1.5",
      "nan:1", "inf:1", "-inf:1", "NAN:1", "1e999:1", "1:2x", "1:2:3", "1:9999999999999999999999",
      "1 :2",  "1: 2",  "1:2 ",   " 1:2",  "+1:2",    "1:+2", "1:01",  "1::2"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    store_page p;
    int rc = parse(bad[i], 1, &p);
    if (rc != -1) fprintf(stderr, "  keyed cursor \"%s\" was accepted\n", bad[i]);
    CHECK_EQ_INT(rc, -1);
  }
}

int main(void) {
  RUN(good_cursors);
  RUN(what_the_lists_give_out_reads_back_exactly);
  RUN(bad_id_only_cursors_are_refused);
  RUN(bad_keyed_cursors_are_refused);
  TEST_EXIT();
}
