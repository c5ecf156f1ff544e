/* hex: hex and percent encodings (see hex.h). Pure, any thread. Every decoder checks all of its
 * input before it reports success and never writes past the capacity it was given; an event
 * id is validated completely before any output is written. */
#include "util/hex.h"

static const char lower_digits[] = "0123456789abcdef";

int hex_value(int ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

void hex_encode(const uint8_t *in, size_t len, char *out) {
  for (size_t i = 0; i < len; i++) {
    out[2 * i] = lower_digits[in[i] >> 4];
    out[2 * i + 1] = lower_digits[in[i] & 15];
  }
  out[2 * len] = '\0';
}

long hex_decode(const char *in, size_t len, uint8_t *out, size_t outcap) {
  if (len % 2 || len / 2 > outcap) return -1;
  for (size_t i = 0; i < len; i += 2) {
    int hi = hex_value((unsigned char)in[i]), lo = hex_value((unsigned char)in[i + 1]);
    if (hi < 0 || lo < 0) return -1;
    out[i / 2] = (uint8_t)(hi << 4 | lo);
  }
  return (long)(len / 2);
}

int hex_event_id(const char *in, size_t len, char hex[33], uint8_t raw[16]) {
  uint8_t nib[32];
  size_t n = 0;
  if (!in || (len != 32 && len != 36)) return -1;
  for (size_t i = 0; i < len; i++) {
    if (len == 36 && (i == 8 || i == 13 || i == 18 || i == 23)) {
      if (in[i] != '-') return -1;
      continue;
    }
    int v = hex_value((unsigned char)in[i]);
    if (v < 0) return -1;
    nib[n++] = (uint8_t)v;
  }
  for (size_t i = 0; hex && i < 32; i++) hex[i] = lower_digits[nib[i]];
  if (hex) hex[32] = '\0';
  for (size_t i = 0; raw && i < 16; i++) raw[i] = (uint8_t)(nib[2 * i] << 4 | nib[2 * i + 1]);
  return 0;
}

long hex_percent_decode(const char *in, size_t len, char *out, size_t cap, bool form) {
  size_t n = 0;
  if (cap == 0) return -1;
  for (size_t i = 0; i < len; i++) {
    int ch = (unsigned char)in[i];
    if (ch == '%') {
      if (len - i < 3) return -1;
      int hi = hex_value((unsigned char)in[i + 1]), lo = hex_value((unsigned char)in[i + 2]);
      if (hi < 0 || lo < 0 || (hi | lo) == 0) return -1; /* a NUL would cut the string short */
      ch = hi << 4 | lo;
      i += 2;
    } else if (ch == '+' && form) {
      ch = ' ';
    }
    if (n + 1 >= cap) return -1;
    out[n++] = (char)ch;
  }
  out[n] = '\0';
  return (long)n;
}
