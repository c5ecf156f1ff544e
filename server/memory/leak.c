/* leak: per-worker memory-leak detector (see leak.h for the contract, tests/leak/METHOD.md for
 * the reasoning). Runs on whatever thread owns the detector (the storage writer); never reads a
 * clock or does I/O. Invariants: the bucket ring holds only the current life, oldest first, with
 * strictly increasing bucket indexes; the newest bucket is still filling and is never analysed;
 * every decision is a function of the fed samples alone, so save/load and replay are exact.
 * Memory is fixed per worker: LEAK_NB buckets (and their series cache) plus LEAK_NL life
 * summaries. An evaluation blocks each window once and computes its statistics in stages, only
 * as far as its tests need them; only the passing window of largest z matters, so a window is
 * tested through only while it could still be that one (exact bounds, never approximations). */
#include "memory/leak.h"

#include <assert.h>
#include <math.h>
#ifdef LEAK_DEBUG
#include <stdio.h>
#endif
#include <stdlib.h>
#include <string.h>

#define LEAK_BUCKET_S 120.0  /* bucket width: averages the sawtooth, keeps short lives visible */
#define LEAK_NB       1440   /* 48 h of buckets for the current life */
#define LEAK_NL       16     /* summaries of past lives kept for the cross-life test */
#define LEAK_EVAL_S   300.0  /* evaluate at most every 5 min of event time */
#define LEAK_SEG      15     /* 30-min segments for levels and new-high checks */
#define R_MIN         0.004  /* smallest leak rate worth an alert: 0.4 % of the level per hour */
#define Z_MIN         6.0    /* significance of a within-life trend (autocorrelation-corrected) */
#define Z_LIVES       6.0    /* pooled significance over recycled lives */
#define AGE_MIN_H     2.5    /* growth since process start needs this age: warm-up otherwise */
#define WIN_MIN_N     15     /* a window needs 30 min of buckets */
#define HALF_RATIO    0.65   /* late-half slope must keep this share of the early-half slope */
#define LIFE_RATIO    0.75   /* second half of the life vs. the first, and late lives' halves */
#define LIFE_MIN_S    1200.0 /* shorter lives carry no per-life evidence */
#define SAT_BIC       6.0    /* strong evidence (Kass-Raftery) that growth saturates */
#define LIN_BIC       0.0    /* ...that growth since birth is linear, not a warm-up */
#define RUN_SHARE     0.67   /* the running life joins the lives once this share of their median */
#define ENTER_EVALS   2      /* consecutive evaluations with evidence before firing */
#define RESOLVE_S     7200.0 /* flat this long (event time) before an alert resolves */
#define LEARN_H       1.0    /* a life is judged once its closed buckets span this (hours) */
#define VERSION       1u
#define MAGIC         0x314b4c53u /* "SLK1" */

typedef struct {
  int32_t idx; /* bucket number since the life's first sample */
  uint32_t n;  /* samples in it */
  double sum;  /* sum of their rss */
} bucket;

typedef struct {
  double start, end; /* first and last sample of the life */
  double s, s1, s2;  /* slope of its late two thirds, and of that part's halves (bytes/h) */
  double z;          /* significance of s */
  double level;      /* median level of its late two thirds */
} life_sum;

struct leak_detector {
  int32_t has_life;         /* a sample has been fed */
  int64_t pid;              /* current life */
  double started_at;        /* as reported for the current life */
  double t0;                /* first sample of the current life */
  double last_ts;           /* newest sample fed */
  double limit;             /* newest memory limit (0 unknown) */
  int32_t nb;               /* buckets in use */
  int32_t head;             /* ring slot of the oldest bucket */
  bucket ring[LEAK_NB];     /* current life, oldest first from head */
  int32_t nlives;           /* life summaries in use */
  life_sum lives[LEAK_NL];  /* oldest first */
  double last_eval;         /* event time of the last evaluation */
  int32_t state;            /* LEAK_* state */
  int32_t pending;          /* consecutive evaluations with leak evidence */
  double flat_since;        /* event time flat evidence began while leaking; 0 none */
  double slope, conf, proj; /* last reported status */
  double ct[LEAK_NB];       /* by ring slot, closed buckets only: t of the bucket (hours since
                               t0) and mean rss; derived from ring, not saved */
  double cy[LEAK_NB];
  int32_t hint; /* window that was last evidence, tested first; -1 none. Changes
                   only the work done, never a result, so it is not saved */
};

typedef struct {
  double s, s1, s2; /* lag-pair median slopes of the window and of its halves (bytes/h) */
  double z;         /* s over its autocorrelation-corrected standard error */
  double level;     /* median level of the window */
  double qr;        /* end-to-start slope ratio of a quadratic fit; < 1 means slowing */
  int mk;           /* Mann-Kendall score over 6 segment medians (-15..15) */
} wstat;

/* ---- small robust statistics ---- */

/* k-th smallest of a[0..n) (reorders a; afterwards a[0..k) holds the k smaller ones).
 * Quickselect with a median-of-three pivot and a branch-free partition, since the compares are
 * unpredictable; insertion sort for the last few. Values equal to the pivot are gathered beside
 * it in a second pass when there are any, so ties (a noise-free series) cost no more than
 * distinct values. The k-th smallest is unique, so any order of work gives the same value. */
static double select_k(double *a, int n, int k) {
  int lo = 0, hi = n - 1;
  while (hi - lo > 4) {
    int mid = lo + (hi - lo) / 2;
    double x = a[lo], y = a[mid], z = a[hi], p;
    int pi;
    if (x < y)
      pi = y < z ? mid : x < z ? hi : lo;
    else
      pi = x < z ? lo : y < z ? hi : mid;
    p = a[pi];
    a[pi] = a[hi];
    a[hi] = p;
    int s = lo, le = lo; /* a[lo..s) < p <= a[s..i); le - lo values <= p */
    for (int i = lo; i < hi; i++) {
      double v = a[i];
      a[i] = a[s];
      a[s] = v;
      s += v < p;
      le += v <= p;
    }
    a[hi] = a[s];
    a[s] = p;
    if (k == s) return p;
    if (k < s) {
      hi = s - 1;
      continue;
    }
    lo = s + 1;
    if (le > s) { /* a[s + 1..e) == p < a[e..hi] */
      int e = lo;
      for (int i = lo; i <= hi; i++) {
        double v = a[i];
        a[i] = a[e];
        a[e] = v;
        e += v == p;
      }
      if (k < e) return p;
      lo = e;
    }
  }
  for (int i = lo + 1; i <= hi; i++) {
    double v = a[i];
    int j = i - 1;
    while (j >= lo && a[j] > v) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = v;
  }
  return a[k];
}

/* Median of a[0..n) (reorders a); 0 for n == 0. Input already in order (a noise-free series)
 * is answered without selecting. */
static double median(double *a, int n) {
  if (n <= 0) return 0;
  int sorted = 1;
  while (sorted < n && a[sorted - 1] <= a[sorted]) sorted++;
  if (sorted == n) return n % 2 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
  double hi = select_k(a, n, n / 2);
  if (n % 2) return hi;
  double lo = a[0];
  for (int i = 1; i < n / 2; i++)
    if (a[i] > lo) lo = a[i];
  return (lo + hi) / 2;
}

/* The slopes between points half the window apart into tmp; returns how many. */
static int lag_pairs(const double *t, const double *y, int n, double *tmp) {
  if (n < 4) return 0;
  int h = n / 2, m = 0;
  for (int i = 0; i + h < n; i++) {
    double dt = t[i + h] - t[i];
    if (dt > 0) tmp[m++] = (y[i + h] - y[i]) / dt;
  }
  return m;
}

/* Median of the slopes between points half the window apart: Sen's estimator restricted to
 * disjoint-ish pairs, O(n), robust to spikes and to a step in either end. */
static double lag_slope(const double *t, const double *y, int n, double *tmp) {
  return median(tmp, lag_pairs(t, y, n, tmp));
}

static double median_of(const double *y, int n, double *tmp) {
  memcpy(tmp, y, (size_t)n * sizeof *tmp);
  return median(tmp, n);
}

/* Least-squares quadratic through the points (residuals beyond 3 sigma of the robust line are
 * clipped, so spikes do not bend it); returns slope at the end over slope at the start, or a
 * large value when the start is flat or falling (accelerating growth). */
static double quad_ratio(const double *t, const double *y, int n, double s, double c,
                         double sigma) {
  double t0 = t[0], half = (t[n - 1] - t[0]) / 2;
  if (n < 6 || half <= 0) return 1;
  /* the normal equations' distinct sums over (1, x, x^2): products with 1 are exact and
   * x * x is x^2, so each sum is the one the full 3x3 accumulation would give */
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, r0 = 0, r1 = 0, r2 = 0;
  for (int i = 0; i < n; i++) {
    double x = (t[i] - t0) / half - 1, r = y[i] - s * t[i] - c;
    if (r > 3 * sigma) r = 3 * sigma;
    if (r < -3 * sigma) r = -3 * sigma;
    double x2 = x * x;
    s0 += 1;
    s1 += x;
    s2 += x2;
    s3 += x * x2;
    s4 += x2 * x2;
    r0 += r;
    r1 += x * r;
    r2 += x2 * r;
  }
  double m[3][4] = {{s0, s1, s2, r0}, {s1, s2, s3, r1}, {s2, s3, s4, r2}};
  for (int a = 0; a < 3; a++) { /* Gauss-Jordan; the normal matrix is positive definite */
    double p = m[a][a];
    if (fabs(p) < 1e-12) return 1;
    for (int b = 0; b < 4; b++) m[a][b] /= p;
    for (int r = 0; r < 3; r++)
      if (r != a) {
        double f = m[r][a];
        for (int b = 0; b < 4; b++) m[r][b] -= f * m[a][b];
      }
  }
  /* residual model + the robust line: slope in y per unit x is s*half + b1 + 2*b2*x */
  double b1 = m[1][3] + s * half, b2 = m[2][3];
  double start = b1 - 2 * b2, end = b1 + 2 * b2;
  if (start <= 0) return 1e9;
  return end / start;
}

/* Residual sum of squares of the least-squares fit y = a + b*x; *b receives the slope. */
static double ols_rss(const double *x, const double *y, int n, double *b) {
  double mx = 0, my = 0, sxx = 0, sxy = 0, syy = 0;
  for (int i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  for (int i = 0; i < n; i++) {
    sxx += (x[i] - mx) * (x[i] - mx);
    sxy += (x[i] - mx) * (y[i] - my);
    syy += (y[i] - my) * (y[i] - my);
  }
  *b = sxx > 0 ? sxy / sxx : 0;
  double rss = syy - (sxx > 0 ? sxy * sxy / sxx : 0);
  return rss > 0 ? rss : 0;
}

/* The effective number of samples behind a fit whose residuals have lag-1 autocorrelation
 * num/den (clamped to 0..0.95): n (1 - rho) / (1 + rho), at least min. */
static double effective_n(double num, double den, int n, double min) {
  double rho = den > 0 ? num / den : 0;
  if (rho < 0) rho = 0;
  if (rho > 0.95) rho = 0.95;
  double neff = n * (1 - rho) / (1 + rho);
  return neff < min ? min : neff;
}

/* Linear growth against saturating growth, by an information criterion. Fits a line and, on a
 * grid of time scales, an exponential approach y = a + b(1 - e^-(t-o)/tau) and a log curve
 * y = a + b log(1 + (t-o)/c), both from each origin o in org[0..norg) (the window start, the
 * process birth). The effective sample size comes from the lag-1 autocorrelation of the best
 * curve's residuals, so wander does not pass for curvature. Returns the BIC by which the best
 * increasing saturating curve beats the line (it pays one parameter more: its scale); negative
 * when the line is better, -inf when nothing grows. */
static double saturates(const double *t, const double *y, int n, const double *org, int norg) {
  if (n < 12) return -INFINITY;
  double x[128], b, span = t[n - 1] - t[0];
  double rl = ols_rss(t, y, n, &b), best = INFINITY, bo = 0, bs = 0;
  int bk = 0;
  if (b <= 0 || span <= 0) return -INFINITY;
  static const double scale[] = {0.125, 0.25, 0.5, 1.0};
  for (int o = 0; o < norg; o++)
    for (int k = 0; k < 8; k++) {
      double sc = scale[k % 4] * (t[n - 1] - org[o]);
      if (sc <= 0 || org[o] > t[0]) continue;
      for (int i = 0; i < n; i++)
        x[i] = k < 4 ? 1 - exp(-(t[i] - org[o]) / sc) : log1p((t[i] - org[o]) / (0.5 * sc));
      double rs = ols_rss(x, y, n, &b);
      if (b > 0 && rs < best) {
        best = rs;
        bo = org[o];
        bs = sc;
        bk = k;
      }
    }
  if (!isfinite(best)) return -INFINITY;
  /* residual autocorrelation of the winning curve */
  for (int i = 0; i < n; i++)
    x[i] = bk < 4 ? 1 - exp(-(t[i] - bo) / bs) : log1p((t[i] - bo) / (0.5 * bs));
  double mx = 0, my = 0;
  ols_rss(x, y, n, &b);
  for (int i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  double num = 0, den = 0, prev = 0;
  for (int i = 0; i < n; i++) {
    double r = y[i] - my - b * (x[i] - mx);
    if (i) num += r * prev;
    den += r * r;
    prev = r;
  }
  double neff = effective_n(num, den, n, 4);
  if (best <= 0) return INFINITY;
#ifdef LEAK_DEBUG
  fprintf(stderr, "  sat n=%d span=%.2f o=%.2f sc=%.2f k=%d rho=%.2f neff=%.1f dbic=%.1f\n", n,
          span, bo, bs, bk, rho, neff, neff * log(rl / best) - log(neff));
#endif
  return neff * log(rl / best) - log(neff);
}

/* ---- windows: block means and their statistics, computed in stages on demand ---- */

#define WIN_MAXB 96 /* block means per window: n < 96 gives <= 95 blocks of 1, else < 73 */
#define WIN_MEMO 32 /* windows per evaluation: 13 + their 13 pre-windows + life, trail, summary */

enum { ST_S = 1, ST_L = 2, ST_V = 4, ST_C = 8, ST_Z = 16, ST_QR = 32, ST_HALF = 64, ST_MK = 128 };
enum { ST_ALL = 2 * ST_MK - 1 }; /* win.done: every stage */

/* One window of the closed series. Stages (win.done): ST_S fills s; ST_L level; ST_V vt; ST_C c;
 * ST_Z z and sigma; ST_QR qr; ST_HALF s1 and s2; ST_MK mk. Most windows are rejected on their slope
 * or z alone, so the dearer stages rarely run; every stage gives the same value whenever it runs.
 * The level lies in [ylo, yhi], which decides most of its uses without the median. */
typedef struct {
  int i0, n;                         /* closed buckets [i0, i0 + n) */
  int m;                             /* block means in tb/yb */
  int done;                          /* ST_* stages computed */
  double ylo, yhi;                   /* smallest and largest block mean (> 0) */
  double vt, c;                      /* spread of t (ST_V); robust line's intercept (ST_C) */
  double sigma;                      /* residual scale (ST_Z) */
  double tb[WIN_MAXB], yb[WIN_MAXB]; /* block means of t and y */
  wstat w;
} win;

/* The closed series of one evaluation (or of a closing life) and the windows taken from it. */
typedef struct {
  const double *t, *y; /* hours since t0 and mean rss of each bucket, oldest first */
  int n;               /* buckets */
  int nwin;            /* windows in use */
  double tmp[128];     /* scratch for medians, >= WIN_MAXB */
  win wins[WIN_MEMO];
} series;

/* Block means of ~48 blocks: averaging whole sawtooth periods removes their phase noise. Each
 * block is summed left to right as always; four blocks at a time only to overlap the adds. */
static void win_blocks(win *a, const double *t, const double *y, int n) {
  int bs = n / 48 > 1 ? n / 48 : 1, m = 0, i = 0;
  if (bs == 1) { /* blocks of one: the mean is the value */
    memcpy(a->tb, t, (size_t)n * sizeof *t);
    memcpy(a->yb, y, (size_t)n * sizeof *y);
    a->m = n;
    return;
  }
  for (; i + 4 * bs <= n; i += 4 * bs, m += 4) {
    const double *pt = t + i, *py = y + i;
    double t0 = 0, t1 = 0, t2 = 0, t3 = 0, y0 = 0, y1 = 0, y2 = 0, y3 = 0;
    for (int j = 0; j < bs; j++) {
      t0 += pt[j];
      t1 += pt[j + bs];
      t2 += pt[j + 2 * bs];
      t3 += pt[j + 3 * bs];
      y0 += py[j];
      y1 += py[j + bs];
      y2 += py[j + 2 * bs];
      y3 += py[j + 3 * bs];
    }
    a->tb[m] = t0 / bs;
    a->tb[m + 1] = t1 / bs;
    a->tb[m + 2] = t2 / bs;
    a->tb[m + 3] = t3 / bs;
    a->yb[m] = y0 / bs;
    a->yb[m + 1] = y1 / bs;
    a->yb[m + 2] = y2 / bs;
    a->yb[m + 3] = y3 / bs;
  }
  for (; i < n; i += bs) {
    int e = i + bs <= n ? i + bs : n;
    double st = 0, sy = 0;
    for (int j = i; j < e; j++) {
      st += t[j];
      sy += y[j];
    }
    a->tb[m] = st / (e - i);
    a->yb[m++] = sy / (e - i);
  }
  a->m = m;
}

/* The window of n buckets from i0, from this evaluation's memo or newly blocked (no stage
 * computed yet). Pointers stay valid for the life of the series. */
static win *series_win(series *e, int i0, int n) {
  for (int k = 0; k < e->nwin; k++)
    if (e->wins[k].i0 == i0 && e->wins[k].n == n) return &e->wins[k];
  assert(e->nwin < WIN_MEMO);
  win *a = &e->wins[e->nwin++];
  a->i0 = i0;
  a->n = n;
  a->done = 0;
  a->c = a->vt = a->sigma = 0;
  memset(&a->w, 0, sizeof a->w);
  win_blocks(a, e->t + i0, e->y + i0, n);
  double lo = a->m ? a->yb[0] : 0, hi = lo;
  for (int i = 1; i < a->m; i++) {
    lo = a->yb[i] < lo ? a->yb[i] : lo;
    hi = a->yb[i] > hi ? a->yb[i] : hi;
  }
  a->ylo = lo;
  a->yhi = hi;
  if (n < 4) a->done = ST_ALL; /* too short: every statistic is 0 */
  return a;
}

/* Computes the stages in need (and those they rest on) that a has not computed yet. */
static void win_need(series *e, win *a, int need) {
  if (need & ST_QR) need |= ST_Z;
  if (need & ST_Z) need |= ST_V | ST_C;
  if ((a->done & need) == need) return;
  const double *t = a->tb, *y = a->yb;
  double *tmp = e->tmp;
  int n = a->m;
  wstat *w = &a->w;
  if (!(a->done & ST_S)) {
    w->s = lag_slope(t, y, n, tmp);
    a->done |= ST_S;
  }
  if ((need & ST_L) && !(a->done & ST_L)) {
    w->level = median_of(y, n, tmp);
    a->done |= ST_L;
  }
  if ((need & ST_V) && !(a->done & ST_V)) {
    double mt = 0, vt = 0;
    for (int i = 0; i < n; i++) mt += t[i];
    mt /= n;
    for (int i = 0; i < n; i++) vt += (t[i] - mt) * (t[i] - mt);
    a->vt = vt;
    a->done |= ST_V;
  }
  if ((need & ST_C) && !(a->done & ST_C)) {
    for (int i = 0; i < n; i++) tmp[i] = y[i] - w->s * t[i];
    a->c = median(tmp, n);
    a->done |= ST_C;
  }
  if ((need & ST_Z) && !(a->done & ST_Z)) {
    double c = a->c;
    for (int i = 0; i < n; i++) tmp[i] = fabs(y[i] - w->s * t[i] - c);
    double sigma = 1.4826 * median(tmp, n);
    /* the floor 1e-6 * level + 1 is at most 1e-6 * yhi + 1 (rounding is monotone), so only a
     * sigma below that needs the level */
    if (sigma < 1e-6 * a->yhi + 1.0) {
      if (!(a->done & ST_L)) {
        w->level = median_of(y, n, tmp);
        a->done |= ST_L;
      }
      double floor_sigma = 1e-6 * fabs(w->level) + 1.0;
      if (sigma < floor_sigma) sigma = floor_sigma;
    }
    /* lag-1 autocorrelation of winsorised residuals: wander (OU, slow cycles) shrinks the
     * effective sample size so a short excursion is not mistaken for a trend */
    double num = 0, den = 0, prev = 0;
    for (int i = 0; i < n; i++) {
      double r = (y[i] - w->s * t[i] - c) / sigma;
      if (r > 3) r = 3;
      if (r < -3) r = -3;
      if (i) num += r * prev;
      den += r * r;
      prev = r;
    }
    double neff = effective_n(num, den, n, 2);
    double se = 1.2 * sigma / sqrt(a->vt / n * neff);
    w->z = se > 0 ? w->s / se : 0;
    a->sigma = sigma;
    a->done |= ST_Z;
  }
  if ((need & ST_QR) && !(a->done & ST_QR)) {
    w->qr = quad_ratio(t, y, n, w->s, a->c, a->sigma);
    a->done |= ST_QR;
  }
  if ((need & ST_HALF) && !(a->done & ST_HALF)) {
    w->s1 = lag_slope(t, y, n / 2, tmp);
    w->s2 = lag_slope(t + n / 2, y + n / 2, n - n / 2, tmp);
    a->done |= ST_HALF;
  }
  if ((need & ST_MK) && !(a->done & ST_MK)) {
    /* Mann-Kendall over 6 segment medians: the level must keep rising, not jump once */
    double m[6];
    int seg = n / 6;
    w->mk = 0;
    if (seg >= 2) {
      for (int k = 0; k < 6; k++) m[k] = median_of(y + k * seg, seg, tmp);
      for (int i = 0; i < 6; i++)
        for (int j = i + 1; j < 6; j++) w->mk += (m[j] > m[i]) - (m[j] < m[i]);
    }
    a->done |= ST_MK;
  }
}

/* Whether w.s < R_MIN * w.level (the window grows too slowly to matter), computing the level
 * only when its bounds do not decide: R_MIN * ylo <= R_MIN * level <= R_MIN * yhi, since the
 * level lies in [ylo, yhi] and rounding is monotone. A falling slope is always too slow. */
static int win_slow(series *e, win *a) {
  if (!(a->done & ST_S)) { /* most slopes below the bound put their median below it */
    double *tmp = e->tmp, lo = R_MIN * a->ylo;
    int m = lag_pairs(a->tb, a->yb, a->m, tmp), below = 0;
    for (int i = 0; i < m; i++) below += tmp[i] < lo;
    if (below > m / 2) return 1;
    a->w.s = median(tmp, m);
    a->done |= ST_S;
  }
  if (a->w.s < R_MIN * a->ylo) return 1;
  if (a->w.s >= R_MIN * a->yhi) return 0;
  win_need(e, a, ST_L);
  return a->w.s < R_MIN * a->w.level;
}

/* Whether window a (s > 0) surely has z < zcap, shown without its MAD where bounds suffice.
 * z = s / (1.2 sigma / sqrt(vt / n * neff)) falls as sigma grows and rises with neff, and every
 * step rounds monotonically, so the same expression at a lower bound of sigma and at neff's
 * upper bound max(n, 2) is an upper bound of z. sigma is at least its floor, 1e-6 * level + 1
 * >= 1e-6 * ylo + 1, and at least 1.4826 * L when at most (n - 1) / 2 residuals lie within L of
 * c (then both middle values of the MAD are >= L). Exact: never says yes when z >= zcap. */
static int win_z_below(series *e, win *a, double zcap) {
  win_need(e, a, ST_V);
  const double *t = a->tb, *y = a->yb;
  double s = a->w.s;
  int n = a->m, below = 0;
  double root = sqrt(a->vt / n * (n > 2 ? n : 2));
  if (s / (1.2 * (1e-6 * a->ylo + 1.0) / root) < zcap) return 1;
  double lim = s * root / (1.2 * zcap) / 1.4826 * (1 + 1e-9); /* the L that would do */
  if (!(s / (1.2 * (1.4826 * lim) / root) < zcap)) return 0;
  win_need(e, a, ST_C);
  double c = a->c;
  for (int i = 0; i < n; i++) below += fabs(y[i] - s * t[i] - c) < lim;
  return below <= (n - 1) / 2;
}

/* Whether window a's growth is better explained by a saturating curve that starts at the
 * window's start or at the process birth (hours, same clock as t): the BIC margin of
 * saturates() over the window's block means. Costs ~1000 exp/log, so it runs only on windows
 * that are otherwise evidence of a leak. */
static double window_saturates(const series *e, const win *a, double birth) {
  double org[2] = {e->t[a->i0] - 0.5 * LEAK_BUCKET_S / 3600.0, birth};
  return saturates(a->tb, a->yb, a->m, org, birth < org[0] ? 2 : 1);
}

/* Index of the first of t[0..n) (increasing) that is >= x; n if none. */
static int first_at(const double *t, int n, double x) {
  int lo = 0, hi = n;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (t[mid] < x)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* ---- ring access ---- */

static const bucket *bk(const leak_detector *d, int i) {
  return &d->ring[(d->head + i) % LEAK_NB];
}

/* Fills the series cache of the bucket in ring slot k, once it is closed. */
static void cache_bucket(leak_detector *d, int k) {
  const bucket *b = &d->ring[k];
  d->ct[k] = (b->idx + 0.5) * LEAK_BUCKET_S / 3600.0;
  d->cy[k] = b->sum / b->n;
}

/* The closed buckets of the current life as a series, from the cache: in place while the ring
 * does not wrap, else copied into tbuf/ybuf (LEAK_NB each). */
static void closed_series(const leak_detector *d, series *e, double *tbuf, double *ybuf) {
  int n = d->nb - 1 > 0 ? d->nb - 1 : 0, first = LEAK_NB - d->head;
  e->n = n;
  e->nwin = 0;
  if (n <= first) {
    e->t = d->ct + d->head;
    e->y = d->cy + d->head;
    return;
  }
  memcpy(tbuf, d->ct + d->head, (size_t)first * sizeof *tbuf);
  memcpy(tbuf + first, d->ct, (size_t)(n - first) * sizeof *tbuf);
  memcpy(ybuf, d->cy + d->head, (size_t)first * sizeof *ybuf);
  memcpy(ybuf + first, d->cy, (size_t)(n - first) * sizeof *ybuf);
  e->t = tbuf;
  e->y = ybuf;
}

/* ---- lives ---- */

/* Summary of a life from its series: the trend of its late two thirds, where a warm-up has
 * settled. Returns 0, or -1 if too short. */
static int summarize_life(const leak_detector *d, series *e, life_sum *ls) {
  int n = e->n;
  if (n < 2) return -1;
  int i0 = first_at(e->t, n, e->t[0] + (e->t[n - 1] - e->t[0]) / 3);
  if (n - i0 < 8) return -1;
  win *a = series_win(e, i0, n - i0);
  win_need(e, a, ST_L | ST_Z | ST_HALF);
  *ls = (life_sum){d->t0, d->last_ts, a->w.s, a->w.s1, a->w.s2, a->w.z, a->w.level};
  return 0;
}

static void close_life(leak_detector *d) {
  if (d->last_ts - d->t0 < LIFE_MIN_S) return;
  /* all buckets, the partial newest one too */
  series e;
  double t[LEAK_NB], y[LEAK_NB];
  for (int i = 0; i < d->nb; i++) {
    const bucket *b = bk(d, i);
    t[i] = (b->idx + 0.5) * LEAK_BUCKET_S / 3600.0;
    y[i] = b->sum / b->n;
  }
  e.t = t;
  e.y = y;
  e.n = d->nb;
  e.nwin = 0;
  life_sum ls;
  if (summarize_life(d, &e, &ls) != 0) return;
  if (d->nlives == LEAK_NL) {
    memmove(d->lives, d->lives + 1, (LEAK_NL - 1) * sizeof d->lives[0]);
    d->nlives--;
  }
  d->lives[d->nlives++] = ls;
}

/* Evidence from completed lives: every life grows the same way, linearly, in its late part
 * (a warm-up levels off there, a recycled leak does not). Returns 1 leak, 0 none; *flat is set
 * when the recent lives show no growth at all. */
static int cross_life(const leak_detector *d, series *e, double *slope, double *z, int *flat) {
  life_sum l[7];
  int k = d->nlives < 6 ? d->nlives : 6;
  memcpy(l, d->lives + d->nlives - k, (size_t)k * sizeof l[0]);
  /* the running life counts once it is comparable with the completed ones (and only beside
   * one: alone it decides nothing): its late two thirds must cover the same part of a life as
   * theirs, or a young life still in its warm-up passes for a growing one (a deploy or a
   * recycle right after a long life) */
  double len[6], age = d->last_ts - d->t0;
  for (int i = 0; i < k; i++) len[i] = l[i].end - l[i].start;
  double typical = k > 0 ? median(len, k) : 0;
  if (k > 0 && age >= LIFE_MIN_S * 2 && age >= RUN_SHARE * typical &&
      summarize_life(d, e, &l[k]) == 0)
    k++;
  *flat = 0;
  if (k < 2) return 0;
  if (k == 7) { /* keep the newest six */
    memmove(l, l + 1, 6 * sizeof l[0]);
    k = 6;
  }
  double zs = 0, rel[6], tmp[6], dec[6];
  int consistent = 0, still = 0;
  for (int i = 0; i < k; i++) {
    zs += l[i].z;
    dec[i] = l[i].level > 0 ? (l[i].s2 - LIFE_RATIO * l[i].s1) / l[i].level : 0;
    rel[i] = l[i].level > 0 ? l[i].s / l[i].level : 0;
    if (l[i].z >= 1.5 && rel[i] >= R_MIN) consistent++;
    if (i >= k - 3 && (l[i].z < 2 || rel[i] < R_MIN)) still++;
  }
  *flat = still == (k < 3 ? k : 3);
  memcpy(tmp, rel, sizeof rel);
  double rmed = median(tmp, k);
  double ss[6];
  for (int i = 0; i < k; i++) ss[i] = l[i].s;
  *slope = median(ss, k);
  *z = zs / sqrt(k);
  /* the median life keeps growing through its late part (a warm-up tail slows down) */
  return *z >= Z_LIVES && rmed >= R_MIN && consistent * 3 >= k * 2 && median(dec, k) >= 0;
}

/* ---- evaluation ---- */

static double conf_of(double z) {
  return z > 0 ? 1.0 - exp2(-(z / Z_MIN) * (z / Z_MIN)) : 0.0;
}

/* What one evaluation knows besides its windows, for the window tests; the -1 fields and the
 * segment levels are computed when first needed. */
typedef struct {
  const leak_detector *d;
  series *e;
  double tend;                    /* end of the closed series (hours since t0) */
  double age_h, birth_h;          /* process age now; its birth (hours since t0) */
  double level_now;               /* level of the last 30 min */
  int life_decel;                 /* the life's late two thirds slow down: a warm-up (-1) */
  int life_sat;                   /* ...or fit a saturating curve better than a line (-1) */
  int nseg;                       /* levels of the first nseg 30-min segments in seg */
  double seg[LEAK_NB / LEAK_SEG]; /* for the new-high check */
} evalctx;

/* Whether window a, whose z has passed its threshold, is evidence of a leak: the dear tests
 * (steady rise, no slowing, not a warm-up or a saturating curve, new highs). Depends on the
 * window alone, not on which others were tested before it. */
static int window_evidence(evalctx *x, win *a) {
  series *e = x->e;
  const double *t = e->t, *y = e->y;
  const wstat *w = &a->w;
  int n = e->n, i0 = a->i0, whole = i0 == 0;
  /* the cheapest and most often failing first */
  win_need(e, a, ST_QR);
  int ok = w->qr >= HALF_RATIO;
  if (ok) {
    win_need(e, a, ST_HALF);
    ok = w->s1 >= 0.5 * w->s && w->s2 >= 0.5 * w->s && w->s2 >= HALF_RATIO * w->s1;
  }
  if (ok) {
    win_need(e, a, ST_MK);
    ok = w->mk >= 11;
  }
  if (ok) {
    /* growth since the start of the life may be a warm-up unless the process is old enough
     * or the window follows a flat stretch of at least an hour */
    int pre_flat = 0, pre_hours = !whole && t[i0] - t[0] >= 1.0;
    if (pre_hours) {
      win *p = series_win(e, 0, i0);
      pre_flat = win_slow(e, p);
      if (!pre_flat) {
        win_need(e, p, ST_Z);
        pre_flat = p->w.z < 2;
      }
    }
    if (!pre_flat) {
      /* most processes warm up, few leak from birth: the line must beat every saturating
       * curve clearly before growth since birth counts */
      if (x->age_h >= AGE_MIN_H && x->life_decel < 0) {
        win *lw = series_win(e, n / 3, n - n / 3);
        win_need(e, lw, ST_S);
        x->life_decel = 0;
        if (lw->w.s > 0) {
          win_need(e, lw, ST_Z);
          if (lw->w.z >= 3) {
            win_need(e, lw, ST_QR);
            x->life_decel = lw->w.qr < LIFE_RATIO;
          }
        }
      }
      if (x->age_h < AGE_MIN_H || x->life_decel) ok = 0;
      if (ok && x->life_sat < 0 && x->d->state != LEAK_LEAKING)
        x->life_sat = window_saturates(e, series_win(e, n / 3, n - n / 3), x->birth_h) > -LIN_BIC;
      if (x->life_sat > 0) ok = 0;
    }
    /* a leak makes new highs; wander and slow cycles come back to where they were */
    if (ok && pre_hours) {
      int nseg = n / LEAK_SEG;
      for (; x->nseg < nseg && (x->nseg + 1) * LEAK_SEG <= i0; x->nseg++)
        x->seg[x->nseg] = median_of(y + x->nseg * LEAK_SEG, LEAK_SEG, e->tmp);
      double mx = -INFINITY;
      for (int j = 0; j < nseg && (j + 1) * LEAK_SEG <= i0; j++)
        if (x->seg[j] > mx) mx = x->seg[j];
      /* ...and rises clear of the wander seen before the window */
      double ps[LEAK_NB / LEAK_SEG], pd[LEAK_NB / LEAK_SEG];
      int np = 0;
      for (int j = 0; j < nseg && (j + 1) * LEAK_SEG <= i0; j++) ps[np++] = x->seg[j];
      double pmed = median_of(ps, np, e->tmp);
      for (int j = 0; j < np; j++) pd[j] = fabs(ps[j] - pmed);
      double wander = 1.4826 * median(pd, np);
      if (x->level_now <= mx + 0.3 * w->s * (x->tend - t[i0]) || x->level_now - pmed < 3 * wander)
        ok = 0;
    }
  }
  /* growth that levels off (a cache filling, a warm-up) fits a saturating curve better */
  if (ok && x->d->state != LEAK_LEAKING && window_saturates(e, a, x->birth_h) > SAT_BIC) ok = 0;
  return ok;
}

/* One evaluation at event time now. Returns the transition. */
static int evaluate(leak_detector *d, double now) {
  series e;
  double tbuf[LEAK_NB], ybuf[LEAK_NB];
  closed_series(d, &e, tbuf, ybuf);
  const double *t = e.t, *y = e.y;
  int n = e.n;
  d->last_eval = now;
  double birth = d->t0;
  if (d->started_at > 0 && d->started_at <= d->t0 && d->t0 - d->started_at < 30 * 86400.0)
    birth = d->started_at;
  double span_h = n > 0 ? t[n - 1] - t[0] + LEAK_BUCKET_S / 3600.0 : 0;
  double tend = n > 0 ? t[n - 1] + 0.5 * LEAK_BUCKET_S / 3600.0 : 0;

  int nl = n < LEAK_SEG ? n : LEAK_SEG;
  evalctx x = {.d = d,
               .e = &e,
               .tend = tend,
               .age_h = (now - birth) / 3600.0,
               .birth_h = (birth - d->t0) / 3600.0,
               .life_decel = -1,
               .life_sat = -1};
  x.level_now = nl > 0 ? median_of(y + n - nl, nl, e.tmp) : 0;

  static const double wins[] = {0.75, 1, 1.5, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48};
  enum { NWINS = sizeof wins / sizeof wins[0] };
  /* The evidence is the window of largest z that passes every test (the first such window on
   * a tie); no other window changes the outcome. So the slope test runs on every window first,
   * then z, and the dear tests on the survivors in order of falling z, until one passes. */
  win *elig[NWINS], *best = NULL;
  double zmin[NWINS];
  int ne = 0, nc = 0, kof[NWINS], cand[NWINS], kbest = -1;
  for (int k = 0; k < NWINS && n >= WIN_MIN_N; k++) {
    int i0 = first_at(t, n, tend - wins[k]);
    int whole = i0 == 0, nw = n - i0;
    if (nw < WIN_MIN_N || nw * LEAK_BUCKET_S / 3600.0 < 0.5 * (tend - t[i0])) {
      if (whole) break;
      continue;
    }
    win *a = series_win(&e, i0, nw);
    if (!win_slow(&e, a)) {
      /* urgency: a worker that reaches its limit soon is flagged on less evidence, one that
       * would take weeks must show more */
      double s = a->w.s, lv = x.level_now;
      double ttl_h = d->limit > lv && s > 0 ? (d->limit - lv) / s : INFINITY;
      double urg = ttl_h < 6 ? 0.67 : ttl_h < 24 ? 0.85 : ttl_h > 14 * 24 ? 1.25 : 1.0;
      zmin[ne] = (wins[k] < 1 ? 1.5 * Z_MIN : Z_MIN) * urg; /* short windows: strong effect */
      kof[ne] = k;
      elig[ne++] = a;
    }
    if (whole) break;
  }
  /* While leaking no curve is fitted, and the window that was evidence last time (else the
   * longest, which usually has the largest z) is tested through first: when it is evidence,
   * the others need only beat its z. A bound on z rules most windows out without their MAD. */
  int seed = -1;
  if (d->state == LEAK_LEAKING && ne > 0) {
    seed = ne - 1;
    for (int j = 0; j < ne; j++)
      if (kof[j] == d->hint) seed = j;
    win_need(&e, elig[seed], ST_Z);
    if (elig[seed]->w.z >= zmin[seed] && window_evidence(&x, elig[seed])) {
      best = elig[seed];
      kbest = kof[seed];
    }
  }
  for (int j = 0; j < ne; j++) {
    win *a = elig[j]; /* it matters only with z >= zmin and z >= the evidence's */
    if (j == seed || win_z_below(&e, a, best && best->w.z > zmin[j] ? best->w.z : zmin[j]))
      continue;
    win_need(&e, a, ST_Z);
    if (a->w.z < zmin[j] || (best && a->w.z < best->w.z)) continue;
    int i = nc++; /* stable insertion by falling z */
    for (; i > 0 && elig[cand[i - 1]]->w.z < a->w.z; i--) cand[i] = cand[i - 1];
    cand[i] = j;
  }
  for (int c = 0; c < nc; c++)
    if (window_evidence(&x, elig[cand[c]])) {
      best = elig[cand[c]];
      kbest = kof[cand[c]];
      break;
    }
  if (best) d->hint = kbest;
  int evid = best != NULL;
  double best_s = best ? best->w.s : 0, best_z = best ? best->w.z : 0;
  double cs = 0, cz = 0;
  int cflat = 0;
  if (cross_life(d, &e, &cs, &cz, &cflat) && cz > best_z) {
    evid = 1;
    best_z = cz;
    best_s = cs;
  }

  /* trailing trend for reporting and for deciding that a leak stopped */
  int life_flat = 0, have_trail = 0;
  wstat tr = {0};
  if (n >= WIN_MIN_N) {
    double len = span_h * 2 / 3 < 6 ? span_h * 2 / 3 : 6;
    int i0 = first_at(t, n, tend - len);
    if (n - i0 >= WIN_MIN_N) {
      win *a = series_win(&e, i0, n - i0);
      win_need(&e, a, ST_Z);
      tr = a->w;
      have_trail = 1;
      life_flat = len >= 1.5 && (tr.z < 2 || win_slow(&e, a));
    }
  }
  int flat = !evid && (life_flat || (cflat && span_h < 2.25));

  int tr_out = LEAK_TR_NONE;
  if (d->state != LEAK_LEAKING) {
    d->pending = evid ? d->pending + 1 : 0;
    if (d->pending >= ENTER_EVALS) {
      d->state = LEAK_LEAKING;
      d->flat_since = 0;
      tr_out = LEAK_TR_STARTED;
    } else {
      d->state = (span_h < LEARN_H && d->nlives < 3) ? LEAK_INSUFFICIENT : LEAK_OK;
    }
  } else if (!flat) {
    d->flat_since = 0;
  } else if (d->flat_since == 0) {
    d->flat_since = now;
  } else if (now - d->flat_since >= RESOLVE_S) {
    d->state = LEAK_OK;
    d->pending = 0;
    d->flat_since = 0;
    tr_out = LEAK_TR_STOPPED;
  }

  if (evid) {
    d->slope = best_s;
    d->conf = conf_of(best_z);
  } else if (have_trail) {
    d->slope = tr.s;
    d->conf = conf_of(tr.z);
  } else {
    d->slope = 0;
    d->conf = 0;
  }
  d->proj = 0;
  if (d->limit > 0 && d->slope > 0 && (d->state == LEAK_LEAKING || d->conf >= 0.5))
    d->proj = x.level_now >= d->limit ? now : now + (d->limit - x.level_now) / d->slope * 3600.0;
  return tr_out;
}

/* ---- public API ---- */

leak_detector *leak_new(void) {
  leak_detector *d = calloc(1, sizeof *d);
  if (d) {
    d->state = LEAK_INSUFFICIENT;
    d->hint = -1;
  }
  return d;
}

void leak_free(leak_detector *d) {
  free(d);
}

double leak_learning_left(double life_first_ts, double now) {
  double left = life_first_ts + LEARN_H * 3600.0 - now;
  return left > 0 ? left : 0;
}

void leak_current(const leak_detector *d, leak_status *out) {
  out->state = d->state;
  out->transition = LEAK_TR_NONE;
  out->slope_bytes_per_hour = d->slope;
  out->confidence = d->conf;
  out->projected_limit_at = d->proj;
}

int leak_feed(leak_detector *d, const leak_sample *s, leak_status *out) {
  if (!d) return LEAK_EINVAL;
  if (out) leak_current(d, out);
  if (!s || !isfinite(s->ts) || !isfinite(s->rss) || s->rss <= 0 || s->ts <= 0 ||
      !isfinite(s->started_at) || !isfinite(s->limit_bytes) || s->limit_bytes < 0)
    return LEAK_EINVAL;
  if (d->has_life && s->ts < d->last_ts) return LEAK_EOLD;
  if (!d->has_life || s->pid != d->pid || fabs(s->started_at - d->started_at) > 0.5) {
    if (d->has_life) close_life(d);
    d->has_life = 1;
    d->pid = s->pid;
    d->started_at = s->started_at;
    d->t0 = s->ts;
    d->nb = 0;
    d->head = 0;
    d->last_eval = 0; /* evaluate as soon as the new life closes a bucket */
  }
  double off = floor((s->ts - d->t0) / LEAK_BUCKET_S);
  if (off > 2e9) return LEAK_EINVAL; /* a life of 7000+ years */
  int32_t idx = (int32_t)off;
  int tr = LEAK_TR_NONE;
  bucket *newest = d->nb ? &d->ring[(d->head + d->nb - 1) % LEAK_NB] : NULL;
  d->last_ts = s->ts;
  d->limit = s->limit_bytes;
  if (newest && newest->idx == idx) {
    newest->n++;
    newest->sum += s->rss;
  } else {
    if (d->nb == LEAK_NB) {
      d->head = (d->head + 1) % LEAK_NB;
      d->nb--;
    }
    if (newest) cache_bucket(d, (int)(newest - d->ring)); /* it is closed now */
    d->ring[(d->head + d->nb) % LEAK_NB] = (bucket){idx, 1, s->rss};
    d->nb++;
    if (newest && s->ts - d->last_eval >= LEAK_EVAL_S) tr = evaluate(d, s->ts);
  }
  if (out) {
    leak_current(d, out);
    out->transition = tr;
  }
  return 0;
}

/* ---- persistence: little-endian fields, FNV-1a 64 checksum at the end ---- */

typedef struct {
  unsigned char *p;
  size_t n, cap;
} wbuf;

/* v as a little-endian integer of n bytes (what fits in the buffer). */
static void put_le(wbuf *w, uint64_t v, int n) {
  for (int i = 0; i < n && w->n < w->cap; i++) w->p[w->n++] = (unsigned char)(v >> (8 * i));
}
static void put_u64(wbuf *w, uint64_t v) {
  put_le(w, v, 8);
}
static void put_u32(wbuf *w, uint32_t v) {
  put_le(w, v, 4);
}
static void put_f64(wbuf *w, double v) {
  uint64_t u;
  memcpy(&u, &v, 8);
  put_u64(w, u);
}

static uint64_t fnv1a(const unsigned char *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

int leak_save(const leak_detector *d, unsigned char **buf, size_t *len) {
  wbuf w = {malloc(LEAK_SAVE_MAX), 0, LEAK_SAVE_MAX};
  if (!w.p) return LEAK_ENOMEM;
  put_u32(&w, MAGIC);
  put_u32(&w, VERSION);
  put_u32(&w, (uint32_t)d->has_life);
  put_u64(&w, (uint64_t)d->pid);
  double f[] = {d->started_at, d->t0,    d->last_ts, d->limit, d->last_eval,
                d->flat_since, d->slope, d->conf,    d->proj};
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) put_f64(&w, f[i]);
  put_u32(&w, (uint32_t)d->state);
  put_u32(&w, (uint32_t)d->pending);
  put_u32(&w, (uint32_t)d->nb);
  for (int i = 0; i < d->nb; i++) {
    const bucket *b = bk(d, i);
    put_u32(&w, (uint32_t)b->idx);
    put_u32(&w, b->n);
    put_f64(&w, b->sum);
  }
  put_u32(&w, (uint32_t)d->nlives);
  for (int i = 0; i < d->nlives; i++) {
    const life_sum *l = &d->lives[i];
    double g[] = {l->start, l->end, l->s, l->s1, l->s2, l->z, l->level};
    for (size_t j = 0; j < 7; j++) put_f64(&w, g[j]);
  }
  put_u64(&w, fnv1a(w.p, w.n));
  *buf = w.p;
  *len = w.n;
  return 0;
}

typedef struct {
  const unsigned char *p;
  size_t n, off;
  int bad;
} rbuf;

/* A little-endian integer of n bytes; 0 and r->bad when the blob ends first. */
static uint64_t get_le(rbuf *r, size_t n) {
  uint64_t v = 0;
  if (r->n - r->off < n) {
    r->bad = 1;
    return 0;
  }
  for (size_t i = 0; i < n; i++) v |= (uint64_t)r->p[r->off + i] << (8 * i);
  r->off += n;
  return v;
}
static uint64_t get_u64(rbuf *r) {
  return get_le(r, 8);
}
static uint32_t get_u32(rbuf *r) {
  return (uint32_t)get_le(r, 4);
}
static double get_f64(rbuf *r) {
  uint64_t u = get_u64(r);
  double v;
  memcpy(&v, &u, 8);
  if (!isfinite(v)) r->bad = 1;
  return v;
}

leak_detector *leak_load(const unsigned char *buf, size_t len) {
  if (!buf || len < 16 || len > LEAK_SAVE_MAX) return NULL;
  uint64_t sum = 0;
  for (int i = 0; i < 8; i++) sum |= (uint64_t)buf[len - 8 + i] << (8 * i);
  if (sum != fnv1a(buf, len - 8)) return NULL;
  rbuf r = {buf, len - 8, 0, 0};
  if (get_u32(&r) != MAGIC || get_u32(&r) != VERSION) return NULL;
  leak_detector *d = leak_new();
  if (!d) return NULL;
  d->has_life = (int32_t)get_u32(&r);
  d->pid = (int64_t)get_u64(&r);
  double *f[] = {&d->started_at, &d->t0,    &d->last_ts, &d->limit, &d->last_eval,
                 &d->flat_since, &d->slope, &d->conf,    &d->proj};
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) *f[i] = get_f64(&r);
  d->state = (int32_t)get_u32(&r);
  d->pending = (int32_t)get_u32(&r);
  uint32_t nb = get_u32(&r);
  if (r.bad || d->has_life < 0 || d->has_life > 1 || d->state < 0 || d->state > 2 ||
      d->pending < 0 || d->pending > ENTER_EVALS || nb > LEAK_NB || d->limit < 0)
    goto bad;
  d->nb = (int32_t)nb;
  for (uint32_t i = 0; i < nb; i++) {
    bucket *b = &d->ring[i];
    b->idx = (int32_t)get_u32(&r);
    b->n = get_u32(&r);
    b->sum = get_f64(&r);
    if (r.bad || b->n == 0 || b->idx < 0 || b->sum <= 0 || (i && b->idx <= d->ring[i - 1].idx))
      goto bad;
    if (i) cache_bucket(d, (int)i - 1);
  }
  uint32_t nl = get_u32(&r);
  if (r.bad || nl > LEAK_NL) goto bad;
  d->nlives = (int32_t)nl;
  for (uint32_t i = 0; i < nl; i++) {
    life_sum *l = &d->lives[i];
    double *g[] = {&l->start, &l->end, &l->s, &l->s1, &l->s2, &l->z, &l->level};
    for (size_t j = 0; j < 7; j++) *g[j] = get_f64(&r);
  }
  if (r.bad || r.off != r.n) goto bad;
  return d;
bad:
  leak_free(d);
  return NULL;
}
