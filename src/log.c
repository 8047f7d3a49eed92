#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

static enum log_level log_threshold = LOG_INFO;
static const char *const log_names[] = {"error", "warn", "info", "debug"};

int log_set_level(const char *name)
{
        for (int i = 0; i < 4; i++) {
                if (strcmp(name, log_names[i]) == 0) {
                        log_threshold = (enum log_level)i;
                        return 0;
                }
        }
        return -1;
}

int log_enabled(enum log_level level)
{
        return level <= log_threshold;
}

void log_write(enum log_level level, const char *msg, const char *fields_fmt,
               ...)
{
        if (!log_enabled(level))
                return;

        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        char when[40];
        size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(when + n, sizeof(when) - n, ".%03ldZ", ts.tv_nsec / 1000000);

        char fields[2048] = "";
        if (fields_fmt) {
                va_list ap;
                va_start(ap, fields_fmt);
                vsnprintf(fields, sizeof(fields), fields_fmt, ap);
                va_end(ap);
        }
        /* One fprintf per line: stderr is unbuffered, so lines from the
         * librdkafka threads' callbacks cannot interleave within a line. */
        fprintf(stderr, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":%s%s%s}\n",
                when, log_names[level], log_json_escape(msg),
                fields[0] ? "," : "", fields);
}

const char *log_json_escape(const char *s)
{
        /* Input is cut at LOG_MAX_VALUE bytes (on a UTF-8 boundary) before
         * escaping; the worst case expansion (\u00XX) then fits the slot. */
        enum { LOG_MAX_VALUE = 300 };
        static __thread char bufs[4][LOG_MAX_VALUE * 6 + 8];
        static __thread int next;
        char *buf = bufs[next];
        next = (next + 1) % 4;

        char cut[LOG_MAX_VALUE + 4];
        size_t len = s ? strlen(s) : 0;
        if (len > LOG_MAX_VALUE) {
                len = LOG_MAX_VALUE;
                while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
                        len--;
                memcpy(cut, s, len);
                memcpy(cut + len, "...", 4);
                s = cut;
        }
        json_object *str = json_object_new_string(s ? s : "");
        const char *out = json_object_to_json_string_ext(
                str, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        snprintf(buf, sizeof(bufs[0]), "%s", out);
        json_object_put(str);
        return buf;
}
