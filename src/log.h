/* Logging: one JSON object per line on stderr.
 *
 * Callers pass the message and optional pre-rendered JSON fields; values that
 * come from events or Moka go through log_json_escape (json-c) so a log line
 * is always valid JSON. Secrets are never handed to the logger: the modules
 * that hold them (config, moka_request) log only their names. */
#ifndef MOKA_BRIDGE_LOG_H
#define MOKA_BRIDGE_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Sets the threshold from "error" | "warn" | "info" | "debug".
 * Returns 0, or -1 for an unknown name (threshold unchanged). */
int log_set_level(const char *name);

/* 1 when lines of `level` are written. */
int log_enabled(enum log_level level);

/* Writes {"ts":..,"level":..,"msg":<msg>, <fields>}. `fields` is NULL or a
 * comma-separated list of already valid JSON members, e.g.
 * "\"topic\":\"t\",\"partition\":3". printf-style formatting applies to
 * `fields_fmt` only: the message is a constant describing the event. */
void log_write(enum log_level level, const char *msg, const char *fields_fmt,
               ...) __attribute__((format(printf, 3, 4)));

#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                        \
        do {                                                                  \
                if (log_enabled(LOG_DEBUG))                                   \
                        log_write(LOG_DEBUG, __VA_ARGS__);                    \
        } while (0)

/* Returns `s` as a JSON string literal (with quotes) in a thread-local
 * buffer rotated over 4 slots, so up to 4 may appear in one log call. */
const char *log_json_escape(const char *s);

#endif
