/* test_retry: the webhook retry schedule (delivery_retry_delay). With the 5 s default base the
 * delays after each failed attempt are 5 s, 30 s, 2 min, 10 min, 30 min, 2 h, 6 h, 12 h, and 12 h
 * from then on; the base and the jitter factor scale every step, and a negative attempt count
 * (never expected) reads as the first step rather than indexing outside the table. */
#include <math.h>

#include "alerts/delivery.h"
#include "testutil.h"

#define CHECK_NEAR(a, b) CHECK(fabs((a) - (b)) < 1e-9 * (fabs(b) + 1))

TEST(the_default_schedule) {
  static const double want[] = {5, 30, 120, 600, 1800, 7200, 21600, 43200};
  for (int i = 0; i < (int)(sizeof want / sizeof want[0]); i++) {
    double got = delivery_retry_delay(5.0, i, 1.0);
    if (fabs(got - want[i]) > 1e-9) fprintf(stderr, "attempts=%d: %g, want %g\n", i, got, want[i]);
    CHECK_NEAR(got, want[i]);
  }
}

TEST(the_last_step_holds) {
  for (int i = 8; i < 40; i++) CHECK_NEAR(delivery_retry_delay(5.0, i, 1.0), 43200.0);
  CHECK_NEAR(delivery_retry_delay(5.0, 1 << 30, 1.0), 43200.0);
}

TEST(base_and_jitter_scale_every_step) {
  CHECK_NEAR(delivery_retry_delay(5.0, 0, 0.8), 4.0);
  CHECK_NEAR(delivery_retry_delay(5.0, 0, 1.2), 6.0);
  CHECK_NEAR(delivery_retry_delay(5.0, 3, 1.2), 720.0);
  CHECK_NEAR(delivery_retry_delay(5.0, 100, 0.8), 34560.0);
  CHECK_NEAR(delivery_retry_delay(0.5, 1, 1.0), 3.0);
  CHECK_NEAR(delivery_retry_delay(0.5, 7, 1.0), 4320.0);
}

TEST(negative_attempts_read_as_the_first_step) {
  CHECK_NEAR(delivery_retry_delay(5.0, -1, 1.0), 5.0);
  CHECK_NEAR(delivery_retry_delay(5.0, -1000000, 1.0), 5.0);
}

int main(void) {
  RUN(the_default_schedule);
  RUN(the_last_step_holds);
  RUN(base_and_jitter_scale_every_step);
  RUN(negative_attempts_read_as_the_first_step);
  TEST_EXIT();
}
