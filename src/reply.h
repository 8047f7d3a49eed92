/* Replies and dead-letter records: what an outcome looks like on Kafka.
 *
 * Renders the reply value (schema moka-bridge.reply/1), the reply headers
 * and the DLQ headers from an event and its outcome. Pure: no producing,
 * no clock (times are passed in), so every field is unit-testable. */
#ifndef MOKA_BRIDGE_REPLY_H
#define MOKA_BRIDGE_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "event.h"

#define REPLY_SCHEMA "moka-bridge.reply/1"

enum reply_dlq_reason {
        REPLY_DLQ_NONE,              /* success: no DLQ record */
        REPLY_DLQ_MOKA_RESULT,       /* "moka-result" */
        REPLY_DLQ_INVALID_EVENT,     /* "invalid-event" */
        REPLY_DLQ_RETRIES_EXHAUSTED, /* "retries-exhausted" */
};

struct reply_outcome {
        bool success;
        const char *result_code;    /* "Success", Moka's code, "Bridge.*" */
        const char *result_message; /* already free of secrets */
        int attempts;
        const char *data_json;      /* Moka's Data as JSON text, borrowed,
                                     * already redacted; NULL: "data":null */
        size_t data_len;
        enum reply_dlq_reason dlq_reason;
};

const char *reply_dlq_reason_name(enum reply_dlq_reason reason);

/* Formats epoch milliseconds as RFC 3339 UTC with milliseconds. */
void reply_format_time(int64_t epoch_ms, char out[32]);

/* The reply value as a malloc'd JSON string (caller frees), length in
 * *len; NULL when out of memory. */
char *reply_render_value(const struct event *ev, const struct reply_outcome *o,
                         const char *completed_at, size_t *len);

/* Reply headers: correlation-id, moka-result-code, moka-status. */
rd_kafka_headers_t *reply_render_headers(const struct event *ev,
                                         const struct reply_outcome *o);

/* DLQ headers: the original headers (minus any earlier dlq.* ones) plus
 * the dlq.* set of the contract. dlq.replay-count carries the input's own
 * dlq.replay-count (set by replay), else "0". */
rd_kafka_headers_t *reply_render_dlq_headers(const struct event *ev,
                                             const struct reply_outcome *o,
                                             const char *error_text,
                                             const char *consumer_group,
                                             const char *failed_at);

/* True when `topic` is on `allow_list` (comma-separated names; an entry
 * ending in '*' matches by prefix; spaces around entries ignored). */
bool reply_topic_allowed(const char *allow_list, const char *topic);

#endif
