/* json_depth: one pass over the bytes, tracking only whether we are inside a string. */
#include "json_depth.h"

#include <stdbool.h>

size_t json_depth(const char *s, size_t len, size_t stop_after) {
  size_t depth = 0, deepest = 0;
  bool in_str = false, esc = false;
  for (size_t i = 0; i < len && deepest <= stop_after; i++) {
    char c = s[i];
    if (in_str) {
      if (esc)
        esc = false;
      else if (c == '\\')
        esc = true;
      else if (c == '"')
        in_str = false;
    } else if (c == '"') {
      in_str = true;
    } else if (c == '{' || c == '[') {
      if (++depth > deepest) deepest = depth;
    } else if ((c == '}' || c == ']') && depth > 0) {
      depth--;
    }
  }
  return deepest;
}
