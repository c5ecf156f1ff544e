/* test_outbox: the durable webhook outbox on a real database file, driven through the neutral
 * operations and alerts_fire as the writer does. An alert becomes one row per enabled webhook of
 * its project subscribed to its kind; a claim takes at most one due row per webhook (skipping
 * the excluded ones) and marks it 'sending'; two never-tried new_issue rows of a webhook go out
 * as one new_issue_digest row; a row in flight is not claimed again until the start-up reset; a
 * delivered row is never claimed again; a 410 disables its webhook and cancels the rest of its
 * rows; a new_issue within the digest window waits for it. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alerts/alerts.h"
#include "alerts/outbox.h"
#include "util/log.h"
#include "util/timefmt.h"
#include "testdb.h"
#include "testutil.h"

#define REGRESSION_ONLY 8u /* the "regression" bit of STORE_WEBHOOK_EVENTS */
#define LATER           60.0

static char dir[] = "/tmp/sluice-test-outbox.XXXXXX";

typedef tdb_fixture fixture;

static int setup(fixture *f, const char *name) {
  return tdb_fixture_open(f, dir, name, time_wall());
}

static void teardown(fixture *f) {
  tdb_fixture_done(f);
}

static int64_t webhook(fixture *f, int64_t project, unsigned events) {
  store_webhook w = {0};
  w.project_id = project;
  snprintf(w.url, sizeof w.url, "http://127.0.0.1:9/hook");
  snprintf(w.kind, sizeof w.kind, "generic");
  snprintf(w.secret, sizeof w.secret, "whsec_test");
  w.events = events;
  w.created_at = time_wall();
  CHECK_EQ_INT(f->tx->ops->webhook_create(f->tx, &w, OUTBOX_WEBHOOKS_MAX), STORE_OK);
  return w.id;
}

static int64_t fire(fixture *f, const char *kind, int64_t issue_id) {
  store_alert a = {f->project,
                   kind,
                   issue_id ? NULL : "web-1/gunicorn-0",
                   issue_id,
                   time_wall(),
                   "summary",
                   "{\"title\":\"boom\"}",
                   NULL};
  int64_t id = 0;
  CHECK_EQ_INT(alerts_fire(f->tx, NULL, &a, &id), STORE_OK);
  CHECK(id > 0);
  return id;
}

/* The first column of sql with ?1 bound to arg, or -1. */
static int64_t count(fixture *f, const char *sql, int64_t arg) {
  sqlite3_stmt *s;
  int64_t v = -1;
  if (sqlite3_prepare_v2(db_handle(f->d), sql, -1, &s, NULL) != SQLITE_OK) return -1;
  sqlite3_bind_int64(s, 1, arg);
  if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  return v;
}

/* What a claim returned (the items themselves are released at once). */
typedef struct claimed {
  int64_t delivery_id[8], webhook_id[8];
  char event[8][32];
  size_t n;
} claimed;

static claimed claim(fixture *f, double now, const int64_t *exclude, size_t n_exclude, size_t max) {
  store_item items[8];
  claimed c = {0};
  CHECK(max <= 8);
  CHECK_EQ_INT(outbox_claim(f->tx, now, exclude, n_exclude, max, items, &c.n), STORE_OK);
  for (size_t i = 0; i < c.n; i++) {
    c.delivery_id[i] = items[i].delivery_id;
    c.webhook_id[i] = items[i].webhook_id;
    snprintf(c.event[i], sizeof c.event[i], "%s", items[i].event);
    store_item_clear(&items[i]);
  }
  return c;
}

static void record(fixture *f, int64_t delivery_id, int64_t webhook_id, long status, int delivered,
                   int gone, double next) {
  store_attempt a = {0};
  a.delivery_id = delivery_id;
  a.webhook_id = webhook_id;
  a.at = time_wall();
  a.duration_ms = 12;
  a.status_code = status;
  a.outcome = delivered ? "delivered" : gone ? "gone" : next > 0 ? "retry" : "gave_up";
  a.delivered = delivered;
  a.gone = gone;
  a.next_attempt_at = next;
  CHECK_EQ_INT(f->tx->ops->delivery_record(f->tx, &a), STORE_OK);
}

TEST(one_row_per_subscribed_enabled_webhook) {
  fixture f;
  if (setup(&f, "subscribed.db")) return;
  int64_t other = 0;
  CHECK_EQ_INT(f.tx->ops->project_create(f.tx, "other", "fedcba9876543210fedcba9876543210",
                                         time_wall(), &other),
               STORE_OK);
  int64_t all = webhook(&f, f.project, STORE_WEBHOOK_EVENTS_ALL);
  int64_t regression = webhook(&f, f.project, REGRESSION_ONLY);
  int64_t disabled = webhook(&f, f.project, STORE_WEBHOOK_EVENTS_ALL);
  int64_t elsewhere = webhook(&f, other, STORE_WEBHOOK_EVENTS_ALL);
  CHECK_EQ_INT(count(&f, "UPDATE webhooks SET disabled_at=1 WHERE id=?1 RETURNING 1", disabled), 1);

  int64_t alert = fire(&f, "new_issue", 7);
  CHECK_EQ_INT(tdb_count(f.d, "SELECT count(*) FROM deliveries"), 1);
  CHECK_EQ_INT(count(&f, "SELECT count(*) FROM deliveries WHERE webhook_id=?1", all), 1);
  CHECK_EQ_INT(count(&f, "SELECT alert_id FROM deliveries WHERE webhook_id=?1", all), alert);
  CHECK_EQ_INT(count(&f, "SELECT count(*) FROM deliveries WHERE webhook_id=?1", regression), 0);

  fire(&f, "regression", 7);
  CHECK_EQ_INT(tdb_count(f.d, "SELECT count(*) FROM deliveries"), 3);
  CHECK_EQ_INT(count(&f,
                     "SELECT count(*) FROM deliveries WHERE webhook_id=?1"
                     " AND event='regression' AND status='pending'",
                     regression),
               1);
  CHECK_EQ_INT(count(&f, "SELECT count(*) FROM deliveries WHERE webhook_id=?1", disabled), 0);
  CHECK_EQ_INT(count(&f, "SELECT count(*) FROM deliveries WHERE webhook_id=?1", elsewhere), 0);

  /* a kind no webhook event names writes no delivery (the alert itself is stored) */
  fire(&f, "something_else", 7);
  CHECK_EQ_INT(tdb_count(f.d, "SELECT count(*) FROM deliveries"), 3);
  CHECK_EQ_INT(tdb_count(f.d, "SELECT count(*) FROM alerts"), 3);
  teardown(&f);
}

TEST(a_claim_takes_one_row_per_webhook_and_respects_exclude) {
  fixture f;
  if (setup(&f, "claim.db")) return;
  int64_t a = webhook(&f, f.project, STORE_WEBHOOK_EVENTS_ALL);
  int64_t b = webhook(&f, f.project, STORE_WEBHOOK_EVENTS_ALL);
  fire(&f, "memory_leak", 0);
  fire(&f, "memory_leak", 0);
  CHECK_EQ_INT(tdb_count(f.d, "SELECT count(*) FROM deliveries WHERE status='pending'"), 4);
  int64_t first_a = count(&f, "SELECT min(id) FROM deliveries WHERE webhook_id=?1", a);
  int64_t first_b = count(&f, "SELECT min(id) FROM deliveries WHERE webhook_id=?1", b);

  /* nothing is due before it was created */
  claimed c = claim(&f, time_wall() - 3600, NULL, 0, 8);
  CHECK_EQ_INT(c.n, 0);

  c = claim(&f, time_wall() + LATER, NULL, 0, 8);
  CHECK_EQ_INT(c.n, 2);
  CHECK(c.webhook_id[0] != c.webhook_id[1]);
  for (size_t i = 0; i < c.n; i++) {
    CHECK(c.delivery_id[i] == first_a || c.delivery_id[i] == first_b);
    CHECK_EQ_STR(c.event[i], "memory_leak");
  }
  CHECK_EQ_INT(tdb_count(f.d, "SELECT count(*) FROM deliveries WHERE status='sending'"), 2);
  CHECK_EQ_INT(count(&f, "SELECT status='sending' FROM deliveries WHERE id=?1", first_a), 1);

  /* a busy webhook is skipped; max bounds the claim */
  c = claim(&f, time_wall() + LATER, &a, 1, 8);
  CHECK_EQ_INT(c.n, 1);
  CHECK_EQ_INT(c.webhook_id[0], b);
  CHECK(c.delivery_id[0] != first_b);
  c = claim(&f, time_wall() + LATER, NULL, 0, 8);
  CHECK_EQ_INT(c.n, 1);
  CHECK_EQ_INT(c.webhook_id[0], a);
  CHECK_EQ_INT(tdb_count(f.d, "SELECT count(*) FROM deliveries WHERE status='sending'"), 4);

  /* rows in flight are not claimed again... */
  c = claim(&f, time_wall() + LATER, NULL, 0, 8);
  CHECK_EQ_INT(c.n, 0);
  /* ...until a start-up turns them back into pending */
  CHECK_EQ_INT(f.tx->ops->deliveries_reset_sending(f.tx), STORE_OK);
  CHECK_EQ_INT(tdb_count(f.d, "SELECT count(*) FROM deliveries WHERE status='pending'"), 4);
  c = claim(&f, time_wall() + LATER, NULL, 0, 1);
  CHECK_EQ_INT(c.n, 1);
  CHECK(c.delivery_id[0] == first_a || c.delivery_id[0] == first_b);
  teardown(&f);
}

TEST(two_new_issue_rows_become_one_digest) {
  fixture f;
  if (setup(&f, "digest.db")) return;
  int64_t a = webhook(&f, f.project, STORE_WEBHOOK_EVENTS_ALL);
  int64_t n1 = fire(&f, "new_issue", 1);
  int64_t n2 = fire(&f, "new_issue", 2);
  (void)n1;
  (void)n2;
  CHECK_EQ_INT(count(&f, "SELECT count(*) FROM deliveries WHERE webhook_id=?1", a), 2);

  claimed c = claim(&f, time_wall() + LATER, NULL, 0, 8);
  CHECK_EQ_INT(c.n, 1);
  CHECK_EQ_STR(c.event[0], "new_issue_digest");
  int64_t digest = c.delivery_id[0];
  CHECK_EQ_INT(count(&f, "SELECT count(*) FROM deliveries WHERE webhook_id=?1", a), 3);
  CHECK_EQ_INT(count(&f,
                     "SELECT count(*) FROM deliveries WHERE event='new_issue'"
                     " AND status='digested' AND digest_id=?1",
                     digest),
               2);
  CHECK_EQ_INT(count(&f, "SELECT status='sending' FROM deliveries WHERE id=?1", digest), 1);
  CHECK_EQ_INT(
      count(&f, "SELECT json_extract(data, '$.count') FROM deliveries WHERE id=?1", digest), 2);
  CHECK_EQ_INT(
      count(&f, "SELECT json_array_length(data, '$.issues') FROM deliveries WHERE id=?1", digest),
      2);
  /* the digested rows are never claimed on their own */
  CHECK_EQ_INT(f.tx->ops->deliveries_reset_sending(f.tx), STORE_OK);
  c = claim(&f, time_wall() + LATER, NULL, 0, 8);
  CHECK_EQ_INT(c.n, 1);
  CHECK_EQ_INT(c.delivery_id[0], digest);
  teardown(&f);
}

TEST(a_single_new_issue_row_goes_out_as_itself) {
  fixture f;
  if (setup(&f, "single.db")) return;
  webhook(&f, f.project, STORE_WEBHOOK_EVENTS_ALL);
  fire(&f, "new_issue", 1);
  claimed c = claim(&f, time_wall() + LATER, NULL, 0, 8);
  CHECK_EQ_INT(c.n, 1);
  CHECK_EQ_STR(c.event[0], "new_issue");
  CHECK_EQ_INT(tdb_count(f.d, "SELECT count(*) FROM deliveries"), 1);
  teardown(&f);
}

TEST(a_delivered_row_is_never_claimed_again) {
  fixture f;
  if (setup(&f, "delivered.db")) return;
  int64_t a = webhook(&f, f.project, STORE_WEBHOOK_EVENTS_ALL);
  fire(&f, "memory_leak", 0);
  claimed c = claim(&f, time_wall() + LATER, NULL, 0, 8);
  CHECK_EQ_INT(c.n, 1);
  int64_t id = c.delivery_id[0];
  record(&f, id, a, 200, 1, 0, 0);
  CHECK_EQ_INT(count(&f, "SELECT status='delivered' FROM deliveries WHERE id=?1", id), 1);
  CHECK_EQ_INT(count(&f, "SELECT delivered_at IS NOT NULL FROM deliveries WHERE id=?1", id), 1);
  CHECK_EQ_INT(count(&f, "SELECT attempts FROM deliveries WHERE id=?1", id), 1);
  CHECK_EQ_INT(count(&f, "SELECT count(*) FROM delivery_attempts WHERE delivery_id=?1", id), 1);

  /* a second record of the same attempt (a resubmission) changes nothing */
  record(&f, id, a, 500, 0, 0, time_wall() + 5);
  CHECK_EQ_INT(count(&f, "SELECT status='delivered' FROM deliveries WHERE id=?1", id), 1);
  CHECK_EQ_INT(count(&f, "SELECT count(*) FROM delivery_attempts WHERE delivery_id=?1", id), 1);

  CHECK_EQ_INT(f.tx->ops->deliveries_reset_sending(f.tx), STORE_OK);
  c = claim(&f, time_wall() + 86400 * 30, NULL, 0, 8);
  CHECK_EQ_INT(c.n, 0);
  teardown(&f);
}

TEST(a_retry_waits_for_its_time) {
  fixture f;
  if (setup(&f, "retry.db")) return;
  int64_t a = webhook(&f, f.project, STORE_WEBHOOK_EVENTS_ALL);
  fire(&f, "memory_leak", 0);
  double now = time_wall() + LATER;
  claimed c = claim(&f, now, NULL, 0, 8);
  CHECK_EQ_INT(c.n, 1);
  int64_t id = c.delivery_id[0];
  record(&f, id, a, 500, 0, 0, now + 30);
  CHECK_EQ_INT(count(&f, "SELECT status='pending' FROM deliveries WHERE id=?1", id), 1);
  CHECK_EQ_INT(claim(&f, now + 29, NULL, 0, 8).n, 0);
  c = claim(&f, now + 31, NULL, 0, 8);
  CHECK_EQ_INT(c.n, 1);
  CHECK_EQ_INT(c.delivery_id[0], id);
  /* giving up (no next attempt) fails the row for good */
  record(&f, id, a, 500, 0, 0, 0);
  CHECK_EQ_INT(count(&f, "SELECT status='failed' FROM deliveries WHERE id=?1", id), 1);
  CHECK_EQ_INT(claim(&f, now + 86400 * 30, NULL, 0, 8).n, 0);
  teardown(&f);
}

TEST(gone_disables_the_webhook_and_cancels_its_rows) {
  fixture f;
  if (setup(&f, "gone.db")) return;
  int64_t a = webhook(&f, f.project, STORE_WEBHOOK_EVENTS_ALL);
  int64_t b = webhook(&f, f.project, STORE_WEBHOOK_EVENTS_ALL);
  fire(&f, "memory_leak", 0);
  fire(&f, "memory_leak", 0);
  fire(&f, "memory_leak", 0);
  claimed c = claim(&f, time_wall() + LATER, &b, 1, 8);
  CHECK_EQ_INT(c.n, 1);
  CHECK_EQ_INT(c.webhook_id[0], a);
  int64_t id = c.delivery_id[0];
  record(&f, id, a, 410, 0, 1, 0);
  CHECK_EQ_INT(count(&f, "SELECT disabled_at IS NOT NULL FROM webhooks WHERE id=?1", a), 1);
  CHECK_EQ_INT(count(&f, "SELECT status='failed' FROM deliveries WHERE id=?1", id), 1);
  CHECK_EQ_INT(count(&f,
                     "SELECT count(*) FROM deliveries WHERE webhook_id=?1"
                     " AND status='cancelled'",
                     a),
               2);
  CHECK_EQ_INT(count(&f,
                     "SELECT count(*) FROM deliveries WHERE webhook_id=?1"
                     " AND status='pending'",
                     b),
               3);
  /* nothing of the disabled webhook is claimed, and new alerts skip it */
  c = claim(&f, time_wall() + LATER, NULL, 0, 8);
  CHECK_EQ_INT(c.n, 1);
  CHECK_EQ_INT(c.webhook_id[0], b);
  fire(&f, "memory_leak", 0);
  CHECK_EQ_INT(count(&f, "SELECT count(*) FROM deliveries WHERE webhook_id=?1", a), 3);

  /* a test message: not to a disabled webhook, not to a missing one */
  int64_t delivery = 0;
  char msg[STORE_MSGID_MAX];
  CHECK_EQ_INT(outbox_enqueue_test(f.tx, a, time_wall(), &delivery, msg), STORE_ECONFLICT);
  CHECK_EQ_INT(outbox_enqueue_test(f.tx, 999999, time_wall(), &delivery, msg), STORE_ENOTFOUND);
  CHECK_EQ_INT(outbox_enqueue_test(f.tx, b, time_wall(), &delivery, msg), STORE_OK);
  CHECK(delivery > 0);
  CHECK(strncmp(msg, "msg_", 4) == 0 && strlen(msg) == 36);
  CHECK_EQ_INT(
      count(&f, "SELECT event='test' AND status='pending' FROM deliveries WHERE id=?1", delivery),
      1);
  teardown(&f);
}

TEST(a_new_issue_within_the_digest_window_waits_for_it) {
  fixture f;
  if (setup(&f, "window.db")) return;
  int64_t a = webhook(&f, f.project, STORE_WEBHOOK_EVENTS_ALL);
  alert_record r = {1, f.project, "new_issue", NULL, 5, time_wall(), "New issue: boom", "{}"};
  int n = 0;
  CHECK_EQ_INT(outbox_enqueue_alert(f.tx, &r, 10.0, &n), STORE_OK);
  CHECK_EQ_INT(n, 1);
  r.id = 2;
  r.issue_id = 6;
  CHECK_EQ_INT(outbox_enqueue_alert(f.tx, &r, 10.0, &n), STORE_OK);
  CHECK_EQ_INT(n, 1);
  /* the first is due at once, the second a window later */
  CHECK_EQ_INT(count(&f,
                     "SELECT round(next_attempt_at - created_at) FROM deliveries"
                     " WHERE webhook_id=?1 ORDER BY id LIMIT 1",
                     a),
               0);
  CHECK_EQ_INT(count(&f,
                     "SELECT round(next_attempt_at - created_at) FROM deliveries"
                     " WHERE webhook_id=?1 ORDER BY id DESC LIMIT 1",
                     a),
               10);
  /* other kinds never wait */
  r.kind = "regression";
  CHECK_EQ_INT(outbox_enqueue_alert(f.tx, &r, 10.0, &n), STORE_OK);
  CHECK_EQ_INT(count(&f,
                     "SELECT round(next_attempt_at - created_at) FROM deliveries"
                     " WHERE webhook_id=?1 ORDER BY id DESC LIMIT 1",
                     a),
               0);
  /* without a window nothing waits */
  r.kind = "new_issue";
  CHECK_EQ_INT(outbox_enqueue_alert(f.tx, &r, 0, &n), STORE_OK);
  CHECK_EQ_INT(count(&f,
                     "SELECT round(next_attempt_at - created_at) FROM deliveries"
                     " WHERE webhook_id=?1 ORDER BY id DESC LIMIT 1",
                     a),
               0);
  teardown(&f);
}

int main(void) {
  log_set_level(LOG_ERROR);
  CHECK(mkdtemp(dir) != NULL);
  RUN(one_row_per_subscribed_enabled_webhook);
  RUN(a_claim_takes_one_row_per_webhook_and_respects_exclude);
  RUN(two_new_issue_rows_become_one_digest);
  RUN(a_single_new_issue_row_goes_out_as_itself);
  RUN(a_delivered_row_is_never_claimed_again);
  RUN(a_retry_waits_for_its_time);
  RUN(gone_disables_the_webhook_and_cancels_its_rows);
  RUN(a_new_issue_within_the_digest_window_waits_for_it);
  tu_remove_dir(dir);
  TEST_EXIT();
}
