/* memchunk: encoder and validating decoder of a chunk of raw samples.
 *
 * Format, version 1 (all multi-byte values little-endian):
 *   u8      version (1)
 *   varint  n, the number of samples, 1..MEMCHUNK_MAX_SAMPLES
 *   n times, in strictly increasing timestamp order:
 *     u8      flags: bit 0 heap, bit 1 pss, bit 2 uss, bit 3 requests present; bit 4 the
 *             timestamp is a raw double; bits 5-7 zero
 *     ts      bit 4 set: 8 bytes, the IEEE-754 double; clear: varint d, 1..MAX_SPAN*1000,
 *             ts = previous ts + d / 1000.0 (the encoder uses it only when that gives back the
 *             exact double: whole and millisecond timestamps take 2-3 bytes, others 8). The
 *             first sample always has bit 4 set.
 *     varint  rss, then heap, pss, uss, requests when their bit is set; each 0..2^53
 *   nothing after the last sample.
 * varint: unsigned LEB128, 7 bits per byte, low group first, at most 9 bytes (63 bits). */
#include "memchunk.h"

#include <math.h>
#include <string.h>

#define F_RAW_TS     0x10
#define F_RESERVED   0xe0
#define MAX_DELTA_MS ((uint64_t)(MEMCHUNK_MAX_SPAN * 1000.0))

/* The one expression both sides use to rebuild a delta-coded timestamp: the encoder keeps a
 * delta only when this returns the exact double it was given. */
static double delta_ts(double prev, uint64_t ms) {
  return prev + (double)ms / 1000.0;
}

static int value_ok(int64_t v) {
  return v >= 0 && v <= MEMCHUNK_VALUE_MAX;
}

size_t memchunk_fit(const memchunk_sample *s, size_t n) {
  size_t k = 1;
  while (k < n && k < MEMCHUNK_MAX_SAMPLES && s[k].ts - s[0].ts <= MEMCHUNK_MAX_SPAN) k++;
  return k;
}

typedef struct wbuf {
  unsigned char *p;
  size_t len, cap;
  int overflow;
} wbuf;

static void put_u8(wbuf *w, unsigned v) {
  if (w->len >= w->cap) {
    w->overflow = 1;
    return;
  }
  w->p[w->len++] = (unsigned char)v;
}

static void put_varint(wbuf *w, uint64_t v) {
  do {
    unsigned b = v & 0x7f;
    v >>= 7;
    put_u8(w, v ? b | 0x80 : b);
  } while (v);
}

static void put_double(wbuf *w, double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  for (int i = 0; i < 8; i++) put_u8(w, (unsigned)(u >> (8 * i)) & 0xff);
}

int memchunk_encode(const memchunk_sample *s, size_t n, unsigned char *out, size_t cap,
                    size_t *len) {
  *len = 0;
  if (n < 1 || n > MEMCHUNK_MAX_SAMPLES) return -1;
  wbuf w = {out, 0, cap, 0};
  put_u8(&w, MEMCHUNK_VERSION);
  put_varint(&w, n);
  for (size_t i = 0; i < n; i++) {
    const memchunk_sample *x = &s[i];
    if (!isfinite(x->ts) || (i && !(x->ts > s[i - 1].ts)) || x->ts - s[0].ts > MEMCHUNK_MAX_SPAN ||
        !value_ok(x->rss))
      return -1;
    unsigned flags = 0;
    const int64_t opt[4] = {x->heap, x->pss, x->uss, x->requests};
    for (int k = 0; k < 4; k++) {
      if (opt[k] < 0) continue; /* absent */
      if (!value_ok(opt[k])) return -1;
      flags |= 1u << k;
    }
    uint64_t ms = 0;
    if (i) {
      double d = nearbyint((x->ts - s[i - 1].ts) * 1000.0);
      if (d >= 1 && d <= (double)MAX_DELTA_MS) ms = (uint64_t)d;
      if (ms && delta_ts(s[i - 1].ts, ms) != x->ts) ms = 0;
    }
    if (!ms) flags |= F_RAW_TS;
    put_u8(&w, flags);
    if (ms)
      put_varint(&w, ms);
    else
      put_double(&w, x->ts);
    put_varint(&w, (uint64_t)x->rss);
    for (int k = 0; k < 4; k++) {
      if (flags & (1u << k)) put_varint(&w, (uint64_t)opt[k]);
    }
  }
  if (w.overflow) return -1;
  *len = w.len;
  return 0;
}

typedef struct rbuf {
  const unsigned char *p, *end;
} rbuf;

static int get_u8(rbuf *r, unsigned *v) {
  if (r->p >= r->end) return -1;
  *v = *r->p++;
  return 0;
}

/* At most 9 bytes (63 bits), so the value always fits in an int64_t. */
static int get_varint(rbuf *r, uint64_t *v) {
  *v = 0;
  for (int i = 0; i < 9; i++) {
    unsigned b;
    if (get_u8(r, &b)) return -1;
    *v |= (uint64_t)(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) return 0;
  }
  return -1;
}

static int get_value(rbuf *r, int64_t *v) {
  uint64_t u;
  if (get_varint(r, &u) || u > (uint64_t)MEMCHUNK_VALUE_MAX) return -1;
  *v = (int64_t)u;
  return 0;
}

int memchunk_decode(const void *blob, size_t len, memchunk_sample *out, size_t cap, size_t *n) {
  *n = 0;
  if (!blob) return -1;
  rbuf r = {blob, (const unsigned char *)blob + len};
  unsigned version, flags;
  uint64_t count;
  if (get_u8(&r, &version) || version != MEMCHUNK_VERSION || get_varint(&r, &count) || count < 1 ||
      count > MEMCHUNK_MAX_SAMPLES || count > cap)
    return -1;
  for (size_t i = 0; i < count; i++) {
    memchunk_sample *x = &out[i];
    if (get_u8(&r, &flags) || (flags & F_RESERVED) || (i == 0 && !(flags & F_RAW_TS))) return -1;
    if (flags & F_RAW_TS) {
      if (r.end - r.p < 8) return -1;
      uint64_t u = 0;
      for (int k = 0; k < 8; k++) u |= (uint64_t)r.p[k] << (8 * k);
      r.p += 8;
      memcpy(&x->ts, &u, sizeof x->ts);
    } else {
      uint64_t ms;
      if (get_varint(&r, &ms) || ms < 1 || ms > MAX_DELTA_MS) return -1;
      x->ts = delta_ts(out[i - 1].ts, ms);
    }
    if (!isfinite(x->ts) || (i && !(x->ts > out[i - 1].ts)) ||
        x->ts - out[0].ts > MEMCHUNK_MAX_SPAN)
      return -1;
    int64_t *opt[4] = {&x->heap, &x->pss, &x->uss, &x->requests};
    if (get_value(&r, &x->rss)) return -1;
    for (int k = 0; k < 4; k++) {
      *opt[k] = -1;
      if ((flags & (1u << k)) && get_value(&r, opt[k])) return -1;
    }
  }
  if (r.p != r.end) return -1;
  *n = (size_t)count;
  return 0;
}
