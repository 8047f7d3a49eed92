#include "reply.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "textbuf.h"

const char *reply_dlq_reason_name(enum reply_dlq_reason reason)
{
        switch (reason) {
        case REPLY_DLQ_MOKA_RESULT:
                return "moka-result";
        case REPLY_DLQ_INVALID_EVENT:
                return "invalid-event";
        case REPLY_DLQ_RETRIES_EXHAUSTED:
                return "retries-exhausted";
        case REPLY_DLQ_NONE:
                break;
        }
        return "";
}

void reply_format_time(int64_t epoch_ms, char out[32])
{
        /* Every reply and DLQ record carries a time: gmtime_r and strftime
         * once a second (per thread), not per call (~2,000 instructions). */
        static __thread int64_t cached_sec = -1;
        static __thread char cached[24];
        static __thread size_t cached_len;
        if (epoch_ms < 0)
                epoch_ms = 0; /* only the clock's time is passed in */
        int64_t sec = epoch_ms / 1000;
        if (sec != cached_sec) {
                time_t secs = (time_t)sec;
                struct tm tm;
                gmtime_r(&secs, &tm);
                cached_len = strftime(cached, sizeof(cached),
                                      "%Y-%m-%dT%H:%M:%S", &tm);
                cached_sec = sec;
        }
        int ms = (int)(epoch_ms % 1000);
        memcpy(out, cached, cached_len);
        char *w = out + cached_len;
        *w++ = '.';
        *w++ = (char)('0' + ms / 100);
        *w++ = (char)('0' + ms / 10 % 10);
        *w++ = (char)('0' + ms % 10);
        *w++ = 'Z';
        *w = '\0';
}

/* Written directly rather than through a json-c tree: this runs for every
 * event. `data` is Moka's own text (validated and redacted by
 * moka_classify), copied as it is. */
char *reply_render_value(const struct event *ev, const struct reply_outcome *o,
                         const char *completed_at, size_t *len)
{
        const struct event_source *src = &ev->src;
        struct textbuf b = {0};
        char num[64];
        textbuf_puts(&b, "{\"schema\":\"" REPLY_SCHEMA "\",\"operation\":");
        textbuf_puts_json(&b, moka_operation_name(ev->op));
        textbuf_puts(&b, ",\"correlation_id\":");
        textbuf_puts_json(&b, ev->correlation_id);
        textbuf_puts(&b, o->success ? ",\"status\":\"success\""
                                    : ",\"status\":\"failure\"");
        textbuf_puts(&b, ",\"result_code\":");
        textbuf_puts_json(&b, o->result_code);
        textbuf_puts(&b, ",\"result_message\":");
        textbuf_puts_json(&b, o->result_message ? o->result_message : "");
        snprintf(num, sizeof(num), ",\"attempts\":%d", o->attempts);
        textbuf_puts(&b, num);
        textbuf_puts(&b, ",\"source\":{\"topic\":");
        textbuf_puts_json(&b, src->topic);
        snprintf(num, sizeof(num), ",\"partition\":%d,\"offset\":%lld}",
                 (int)src->partition, (long long)src->offset);
        textbuf_puts(&b, num);
        textbuf_puts(&b, ",\"data\":");
        if (o->data_json)
                textbuf_put(&b, o->data_json, o->data_len);
        else
                textbuf_puts(&b, "null");
        textbuf_puts(&b, ",\"completed_at\":");
        textbuf_puts_json(&b, completed_at);
        textbuf_puts(&b, "}");
        if (b.oom) {
                free(b.p);
                return NULL;
        }
        *len = b.len;
        return b.p;
}

static void reply_add(rd_kafka_headers_t *h, const char *name,
                      const char *value)
{
        rd_kafka_header_add(h, name, -1, value, -1);
}

rd_kafka_headers_t *reply_render_headers(const struct event *ev,
                                         const struct reply_outcome *o)
{
        rd_kafka_headers_t *h = rd_kafka_headers_new(3);
        reply_add(h, "correlation-id", ev->correlation_id);
        reply_add(h, "moka-result-code", o->result_code);
        reply_add(h, "moka-status", o->success ? "success" : "failure");
        return h;
}

rd_kafka_headers_t *reply_render_dlq_headers(const struct event *ev,
                                             const struct reply_outcome *o,
                                             const char *error_text,
                                             const char *consumer_group,
                                             const char *failed_at)
{
        const struct event_source *src = &ev->src;
        const rd_kafka_headers_t *orig = src->headers;
        rd_kafka_headers_t *h = rd_kafka_headers_new(
                (orig ? rd_kafka_header_cnt(orig) : 0) + 11);

        char replay_count[24] = "0";
        const char *name;
        const void *val;
        size_t size;
        for (size_t i = 0;
             orig && rd_kafka_header_get_all(orig, i, &name, &val, &size) ==
                             RD_KAFKA_RESP_ERR_NO_ERROR;
             i++) {
                if (strncmp(name, "dlq.", 4) != 0) {
                        rd_kafka_header_add(h, name, -1, val, (ssize_t)size);
                } else if (strcmp(name, "dlq.replay-count") == 0 && val &&
                           size < sizeof(replay_count)) {
                        memcpy(replay_count, val, size);
                        replay_count[size] = '\0';
                }
        }

        char buf[64];
        reply_add(h, "dlq.reason", reply_dlq_reason_name(o->dlq_reason));
        reply_add(h, "dlq.result-code", o->result_code);
        reply_add(h, "dlq.error", error_text ? error_text : "");
        reply_add(h, "dlq.original-topic", src->topic);
        snprintf(buf, sizeof(buf), "%" PRId32, src->partition);
        reply_add(h, "dlq.original-partition", buf);
        snprintf(buf, sizeof(buf), "%" PRId64, src->offset);
        reply_add(h, "dlq.original-offset", buf);
        snprintf(buf, sizeof(buf), "%" PRId64, src->timestamp_ms);
        reply_add(h, "dlq.original-timestamp", buf);
        snprintf(buf, sizeof(buf), "%d", o->attempts);
        reply_add(h, "dlq.attempts", buf);
        reply_add(h, "dlq.failed-at", failed_at);
        reply_add(h, "dlq.consumer-group", consumer_group);
        reply_add(h, "dlq.replay-count", replay_count);
        return h;
}

bool reply_topic_allowed(const char *allow_list, const char *topic)
{
        if (!allow_list || !topic || !*topic)
                return false;
        size_t tlen = strlen(topic);
        const char *p = allow_list;
        while (*p) {
                while (*p == ' ' || *p == ',')
                        p++;
                const char *end = p;
                while (*end && *end != ',')
                        end++;
                const char *last = end;
                while (last > p && last[-1] == ' ')
                        last--;
                size_t len = (size_t)(last - p);
                if (len > 0 && p[len - 1] == '*') {
                        if (tlen >= len - 1 && memcmp(p, topic, len - 1) == 0)
                                return true;
                } else if (len > 0 && len == tlen &&
                           memcmp(p, topic, len) == 0) {
                        return true;
                }
                p = end;
        }
        return false;
}
