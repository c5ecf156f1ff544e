/* json_depth: measures how deeply a text's brackets nest outside strings, so a document can be
 * refused before jansson recurses into it. The text need not be valid JSON. Pure; any thread. */
#ifndef SLUICE_JSON_DEPTH_H
#define SLUICE_JSON_DEPTH_H
#include <stddef.h>

/* Returns the deepest nesting of {} and [] in s[0..len), scanning no further once it passes
 * stop_after (so the answer is exact up to stop_after + 1). */
size_t json_depth(const char *s, size_t len, size_t stop_after);

#endif
