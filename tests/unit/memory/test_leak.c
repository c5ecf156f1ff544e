/* test_leak: unit tests of the leak detector on small synthetic series, one per must-not-fire
 * and must-catch class, plus determinism, save/load mid-stream (also with a wrapped bucket
 * ring), out-of-order samples and corrupt blobs. Series come from a seeded generator so every
 * run sees the same samples. */
#include <math.h>
#include <stdint.h>

#include "memory/leak.h"
#include "testutil.h"

#define T0 1700000000.0
#define MB 1e6

typedef enum { SHAPE_FLAT, SHAPE_SAW, SHAPE_WARM, SHAPE_LEAK, SHAPE_SAWLEAK } shape;

typedef struct {
  shape kind;
  double hours, dt;   /* length and sampling interval (s) */
  double base, noise; /* bytes */
  double rate;        /* leak, bytes per hour */
  double leak_at;     /* hours since start */
  double warm, tau;   /* warm-up amplitude (bytes) and time constant (s), per life */
  double life_h;      /* restart every life_h hours (0: never) */
  double step_at;     /* restart into base * 1.4 at this hour (0: never) */
  double fix_at;      /* restart without the leak at this hour (0: never) */
  double spikes;      /* add a 2-min +50% spike every `spikes` hours (0: none) */
  double gap_at;      /* 3-hour outage starting here (0: none) */
} spec;

typedef struct {
  int started, stopped;
  double first_start, first_stop;
  int seen_insufficient;
  leak_status last;
} result;

static uint64_t rng_state;
static double urand(void) {
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return ((rng_state >> 11) + 0.5) / 9007199254740992.0;
}
static double gauss(void) {
  return sqrt(-2 * log(urand())) * cos(2 * M_PI * urand());
}

/* Feeds one series into d: samples [skip, stop_after) (stop_after < 0: to the end). */
static void run(const spec *sp, leak_detector *d, uint64_t seed, long skip, long stop_after,
                result *r) {
  rng_state = seed;
  memset(r, 0, sizeof *r);
  double t = T0, life_start = T0 - 600;
  int64_t pid = 100;
  int leaking = 1;
  double level = sp->base;
  long i = 0;
  while (t < T0 + sp->hours * 3600) {
    double h = (t - T0) / 3600;
    if (sp->life_h > 0 && t - life_start >= sp->life_h * 3600) {
      life_start = t;
      pid++;
    }
    if (sp->step_at > 0 && h >= sp->step_at && level == sp->base) {
      level = sp->base * 1.4;
      life_start = t;
      pid++;
    }
    if (sp->fix_at > 0 && h >= sp->fix_at && leaking) {
      leaking = 0;
      life_start = t;
      pid++;
    }
    double age = t - life_start, v = level + sp->noise * gauss();
    if (sp->tau > 0) v += sp->warm * (1 - exp(-age / sp->tau));
    if (sp->kind == SHAPE_SAW || sp->kind == SHAPE_SAWLEAK) v += 0.15 * sp->base * fmod(t / 420, 1);
    if ((sp->kind == SHAPE_LEAK || sp->kind == SHAPE_SAWLEAK) && leaking) {
      double since = sp->life_h > 0 ? age : t - (T0 + sp->leak_at * 3600);
      if (since > 0) v += sp->rate * since / 3600;
    }
    if (sp->spikes > 0 && fmod(h, sp->spikes) < 2.0 / 60) v += 0.5 * sp->base;
    int down = sp->gap_at > 0 && h >= sp->gap_at && h < sp->gap_at + 3;
    if (!down) {
      if (stop_after >= 0 && i == stop_after) return;
      if (i++ < skip) goto next;
      leak_sample s = {t, v, pid, life_start, sp->base * 3};
      leak_status st;
      if (leak_feed(d, &s, &st) == 0) {
        if (st.state == LEAK_INSUFFICIENT) r->seen_insufficient = 1;
        if (st.transition == LEAK_TR_STARTED && r->started++ == 0) r->first_start = h;
        if (st.transition == LEAK_TR_STOPPED && r->stopped++ == 0) r->first_stop = h;
        r->last = st;
      }
    }
  next:
    t += sp->dt * (0.8 + 0.4 * urand());
  }
}

static result run_fresh(const spec *sp, uint64_t seed) {
  result r;
  leak_detector *d = leak_new();
  run(sp, d, seed, 0, -1, &r);
  leak_free(d);
  return r;
}

static const spec flat = {
    .kind = SHAPE_FLAT, .hours = 24, .dt = 30, .base = 500 * MB, .noise = 8 * MB};

TEST(quiet_on_flat_noise_and_uneven_sampling) {
  spec s = flat;
  for (int k = 0; k < 3; k++) {
    s.dt = 10 + 25 * k;
    result r = run_fresh(&s, 11 + k);
    CHECK_EQ_INT(r.started, 0);
    CHECK(r.seen_insufficient);
    CHECK_EQ_INT(r.last.state, LEAK_OK);
  }
}

TEST(quiet_on_sawtooth_spikes_and_gaps) {
  spec s = flat;
  s.kind = SHAPE_SAW;
  CHECK_EQ_INT(run_fresh(&s, 21).started, 0);
  s = flat;
  s.spikes = 0.5;
  s.gap_at = 8;
  CHECK_EQ_INT(run_fresh(&s, 22).started, 0);
}

TEST(quiet_on_warmup_and_deploy_step) {
  spec s = flat;
  s.warm = 250 * MB;
  s.tau = 2400;
  CHECK_EQ_INT(run_fresh(&s, 31).started, 0);
  s.tau = 5400; /* slow warm-up, 1.5 h */
  CHECK_EQ_INT(run_fresh(&s, 32).started, 0);
  s = flat;
  s.step_at = 9;
  s.warm = 50 * MB;
  s.tau = 300;
  CHECK_EQ_INT(run_fresh(&s, 33).started, 0);
}

TEST(quiet_on_recycling_with_warmup) {
  spec s = flat;
  s.life_h = 1.5;
  s.warm = 150 * MB;
  s.tau = 600;
  CHECK_EQ_INT(run_fresh(&s, 41).started, 0);
}

/* A deploy after a long life, into a warm-up that lasts an hour or more: the young life must
 * not pass for "every life grows" beside the long one before it. */
TEST(quiet_on_deploy_into_slow_warmup) {
  spec s = flat;
  s.step_at = 4;
  s.warm = 150 * MB;
  s.noise = 3 * MB;
  for (int k = 0; k < 4; k++) {
    s.tau = 3600 + 1200 * k;
    CHECK_EQ_INT(run_fresh(&s, 35 + k).started, 0);
  }
}

TEST(catches_linear_leak_after_onset) {
  spec s = flat;
  s.kind = SHAPE_LEAK;
  s.rate = 25 * MB; /* 5 %/h */
  s.leak_at = 6;
  result r = run_fresh(&s, 51);
  CHECK_EQ_INT(r.started, 1);
  CHECK(r.first_start >= 6 && r.first_start <= 9);
  CHECK_EQ_INT(r.last.state, LEAK_LEAKING);
  CHECK(r.last.slope_bytes_per_hour > 15 * MB && r.last.slope_bytes_per_hour < 35 * MB);
  CHECK(r.last.confidence > 0.5 && r.last.confidence <= 1);
  CHECK(r.last.projected_limit_at > T0);
}

TEST(catches_slow_leak_given_hours) {
  spec s = flat;
  s.kind = SHAPE_LEAK;
  s.noise = 3 * MB;
  s.rate = 5 * MB; /* 1 %/h */
  s.leak_at = 2;
  s.hours = 30;
  result r = run_fresh(&s, 52);
  CHECK_EQ_INT(r.started, 1);
  CHECK(r.first_start >= 2);
}

TEST(catches_leak_under_sawtooth) {
  spec s = flat;
  s.kind = SHAPE_SAWLEAK;
  s.rate = 20 * MB;
  s.leak_at = 5;
  result r = run_fresh(&s, 61);
  CHECK_EQ_INT(r.started, 1);
  CHECK(r.first_start >= 5 && r.first_start <= 10);
}

TEST(catches_leak_hidden_by_recycling) {
  spec s = flat;
  s.kind = SHAPE_LEAK;
  s.life_h = 1.5;
  s.warm = 100 * MB;
  s.tau = 300;
  s.rate = 40 * MB;
  result r = run_fresh(&s, 71);
  CHECK_EQ_INT(r.started, 1);
  CHECK(r.first_start <= 8);
}

TEST(resolves_once_after_fix_without_flapping) {
  spec s = flat;
  s.kind = SHAPE_LEAK;
  s.rate = 30 * MB;
  s.leak_at = 3;
  s.fix_at = 12;
  s.hours = 30;
  result r = run_fresh(&s, 81);
  CHECK_EQ_INT(r.started, 1);
  CHECK_EQ_INT(r.stopped, 1);
  CHECK(r.first_stop > 12 && r.first_stop < 20);
  CHECK_EQ_INT(r.last.state, LEAK_OK);
}

TEST(same_series_same_transitions) {
  spec s = flat;
  s.kind = SHAPE_LEAK;
  s.rate = 25 * MB;
  s.leak_at = 6;
  result a = run_fresh(&s, 91), b = run_fresh(&s, 91);
  CHECK_EQ_INT(a.started, b.started);
  CHECK(a.first_start == b.first_start);
  CHECK(memcmp(&a.last, &b.last, sizeof a.last) == 0);
}

TEST(save_load_mid_stream_continues_identically) {
  spec s = flat;
  s.kind = SHAPE_LEAK;
  s.rate = 25 * MB;
  s.leak_at = 6;
  s.fix_at = 14;
  result whole = run_fresh(&s, 101);
  /* replay the first 1500 samples, save, load, and continue from the same generator state */
  leak_detector *d = leak_new();
  result part;
  run(&s, d, 101, 0, 1500, &part);
  unsigned char *blob = NULL;
  size_t len = 0;
  CHECK_EQ_INT(leak_save(d, &blob, &len), 0);
  CHECK(len > 0 && len <= LEAK_SAVE_MAX);
  leak_detector *e = leak_load(blob, len);
  CHECK(e != NULL);
  unsigned char *blob2 = NULL;
  size_t len2 = 0;
  if (e) {
    CHECK_EQ_INT(leak_save(e, &blob2, &len2), 0);
    CHECK(len2 == len && memcmp(blob, blob2, len) == 0);
    /* continue both from the sample after the save point */
    result rest_a, rest_b;
    run(&s, d, 101, 1500, -1, &rest_a);
    run(&s, e, 101, 1500, -1, &rest_b);
    CHECK_EQ_INT(rest_a.started + part.started, whole.started);
    CHECK_EQ_INT(rest_a.started, rest_b.started);
    CHECK_EQ_INT(rest_a.stopped, rest_b.stopped);
    CHECK(rest_a.first_start == rest_b.first_start && rest_a.first_stop == rest_b.first_stop);
    CHECK(memcmp(&rest_a.last, &rest_b.last, sizeof rest_a.last) == 0);
    CHECK(memcmp(&rest_a.last, &whole.last, sizeof whole.last) == 0);
  }
  free(blob);
  free(blob2);
  leak_free(d);
  leak_free(e);
}

TEST(save_load_after_ring_wraps_continues_identically) {
  /* a life longer than the 48 h bucket ring: the saved blob holds a wrapped ring, whose series
   * cache the loaded detector rebuilds */
  spec s = flat;
  s.kind = SHAPE_LEAK;
  s.dt = 60;
  s.rate = 25 * MB;
  s.leak_at = 52;
  s.hours = 60;
  result whole = run_fresh(&s, 111);
  CHECK_EQ_INT(whole.started, 1);
  leak_detector *d = leak_new();
  result part, rest;
  run(&s, d, 111, 0, 3050, &part); /* ~51 h: the ring has wrapped */
  unsigned char *blob = NULL;
  size_t len = 0;
  CHECK_EQ_INT(leak_save(d, &blob, &len), 0);
  leak_detector *e = leak_load(blob, len);
  CHECK(e != NULL);
  if (e) {
    run(&s, e, 111, 3050, -1, &rest);
    CHECK_EQ_INT(part.started + rest.started, whole.started);
    CHECK(rest.first_start == whole.first_start);
    CHECK(memcmp(&rest.last, &whole.last, sizeof whole.last) == 0);
  }
  free(blob);
  leak_free(d);
  leak_free(e);
}

TEST(noise_free_leak_is_exact_and_survives_reloads) {
  /* the ingest benchmark's series: +4096 B every 10 s, no noise, for 3 days. Every window
   * passes and many medians see ties or sorted input; the slope is exact, and a detector saved
   * and reloaded every 1000 samples (dropping its derived caches) reports the same status at
   * every sample */
  leak_detector *d = leak_new(), *r = leak_new();
  leak_status a, b;
  int started = 0, same = 1;
  for (long i = 0; i < 3 * 8640 && d && r; i++) {
    leak_sample s = {T0 + 10.0 * i, 100 * MB + 4096.0 * i, 7, T0 - 3600, 0};
    CHECK_EQ_INT(leak_feed(d, &s, &a), 0);
    CHECK_EQ_INT(leak_feed(r, &s, &b), 0);
    started += a.transition == LEAK_TR_STARTED;
    same &= memcmp(&a, &b, sizeof a) == 0;
    if (i % 1000 == 999) {
      unsigned char *blob = NULL;
      size_t len = 0;
      CHECK_EQ_INT(leak_save(r, &blob, &len), 0);
      leak_free(r);
      r = leak_load(blob, len);
      free(blob);
      CHECK(r != NULL);
    }
  }
  CHECK_EQ_INT(started, 1);
  CHECK(same);
  CHECK_EQ_INT(a.state, LEAK_LEAKING);
  CHECK(a.slope_bytes_per_hour == 4096.0 * 360);
  leak_free(d);
  leak_free(r);
}

TEST(out_of_order_and_invalid_samples) {
  leak_detector *d = leak_new();
  leak_status st;
  leak_sample s = {T0, 100 * MB, 1, T0 - 10, 0};
  CHECK_EQ_INT(leak_feed(d, &s, &st), 0);
  CHECK_EQ_INT(st.state, LEAK_INSUFFICIENT);
  s.ts = T0 + 60;
  CHECK_EQ_INT(leak_feed(d, &s, &st), 0);
  s.ts = T0 + 30;
  CHECK_EQ_INT(leak_feed(d, &s, &st), LEAK_EOLD);
  CHECK_EQ_INT(st.transition, LEAK_TR_NONE);
  s.ts = T0 + 90;
  s.rss = NAN;
  CHECK_EQ_INT(leak_feed(d, &s, &st), LEAK_EINVAL);
  s.rss = -5;
  CHECK_EQ_INT(leak_feed(d, &s, &st), LEAK_EINVAL);
  CHECK_EQ_INT(leak_feed(NULL, &s, &st), LEAK_EINVAL);
  CHECK_EQ_INT(leak_feed(d, NULL, &st), LEAK_EINVAL);
  leak_free(d);
}

TEST(corrupt_blobs_are_rejected) {
  leak_detector *d = leak_new();
  leak_status st;
  for (int i = 0; i < 300; i++) {
    leak_sample s = {T0 + 30 * i, 100 * MB + i, 7, T0, 0};
    leak_feed(d, &s, &st);
  }
  unsigned char *blob = NULL;
  size_t len = 0;
  CHECK_EQ_INT(leak_save(d, &blob, &len), 0);
  leak_detector *ok = leak_load(blob, len);
  CHECK(ok != NULL);
  leak_free(ok);
  CHECK(leak_load(NULL, len) == NULL);
  CHECK(leak_load(blob, 0) == NULL);
  CHECK(leak_load(blob, len - 1) == NULL);
  for (size_t k = 0; k < len; k += len / 17 + 1) {
    blob[k] ^= 0x40;
    CHECK(leak_load(blob, len) == NULL);
    blob[k] ^= 0x40;
  }
  free(blob);
  leak_free(d);
}

int main(void) {
  RUN(quiet_on_flat_noise_and_uneven_sampling);
  RUN(quiet_on_sawtooth_spikes_and_gaps);
  RUN(quiet_on_warmup_and_deploy_step);
  RUN(quiet_on_recycling_with_warmup);
  RUN(quiet_on_deploy_into_slow_warmup);
  RUN(catches_linear_leak_after_onset);
  RUN(catches_slow_leak_given_hours);
  RUN(catches_leak_under_sawtooth);
  RUN(catches_leak_hidden_by_recycling);
  RUN(resolves_once_after_fix_without_flapping);
  RUN(same_series_same_transitions);
  RUN(save_load_mid_stream_continues_identically);
  RUN(save_load_after_ring_wraps_continues_identically);
  RUN(noise_free_leak_is_exact_and_survives_reloads);
  RUN(out_of_order_and_invalid_samples);
  RUN(corrupt_blobs_are_rejected);
  TEST_EXIT();
}
