/* log: logfmt lines on stderr ("ts=... level=info msg=\"...\" key=value"), filtered by level.
 * Safe from any thread (one fputs per line under a mutex). One line per notable thing, never
 * one per event at the default level. */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

typedef enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

void log_set_level(log_level level);
/* Parses "debug|info|warn|error"; returns 0 or -1. */
int log_level_parse(const char *s, log_level *out);
int log_enabled(log_level level);

/* msg is quoted; fmt (may be NULL) appends pre-formatted logfmt pairs: "key=%s n=%d". */
void log_write(log_level level, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(msg, ...) log_write(LOG_DEBUG, msg, __VA_ARGS__)
#define log_info(msg, ...)  log_write(LOG_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...)  log_write(LOG_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) log_write(LOG_ERROR, msg, __VA_ARGS__)

#endif
