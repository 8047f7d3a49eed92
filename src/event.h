/* Events: one consumed input record, from parsing to its last delivery
 * report.
 *
 * event_create() copies the record out of the rdkafka message (struct
 * event_source: the DLQ record reuses its key, value and headers byte for
 * byte) and destroys the message, parses and validates the value (the
 * validation rules of the contract live here), and derives the ordering key
 * and correlation id. The bridge owns events; an event is destroyed only
 * when it is neither in the HTTP layer nor waiting for delivery reports. */
#ifndef MOKA_BRIDGE_EVENT_H
#define MOKA_BRIDGE_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "moka_request.h"
#include "scheduler.h"
#include "timer.h"

struct partition_state; /* bridge.c */
struct http_request;    /* http.c */
struct dealer;          /* dealer.c */

enum event_stage {
        EVENT_QUEUED,     /* behind an earlier event of its key */
        EVENT_READY,      /* waiting for an HTTP slot */
        EVENT_IN_HTTP,    /* request in flight */
        EVENT_BACKOFF,    /* waiting for its retry timer */
        EVENT_PUBLISHING, /* reply/DLQ produced, waiting for acks */
        EVENT_DONE,
};

/* One output record of an event; its address is the delivery report's
 * opaque, so the report finds both the event and which record it was. */
struct event_record {
        struct event *ev;
        bool is_dlq;
        bool wanted;    /* this outcome produces the record */
        bool in_flight; /* produced, no delivery report yet */
        bool acked;     /* the broker acknowledged it */
};

/* The consumed record, copied out of librdkafka's message, which
 * event_create() destroys at once: a message pins its whole fetch response
 * (up to max.partition.fetch.bytes of other records) for as long as it
 * lives, so events waiting behind their key held many responses and memory
 * grew with the backlog's spread, not with the pending-event limit. */
struct event_source {
        const char *topic; /* the input topic, borrowed from the caller: it
                            * must outlive the event (the configuration) */
        int32_t partition;
        int64_t offset;
        int64_t timestamp_ms; /* -1 when the record has none */
        const char *key;      /* NULL: the record has no key (not "") */
        size_t key_len;
        const char *value;    /* NULL: null value; else NUL after len */
        size_t len;
        rd_kafka_headers_t *headers; /* detached from the message: owned,
                                      * or NULL when it had none */
        char *data;                  /* owns key and value */
};

struct event {
        struct event_source src;
        enum moka_operation op;
        enum event_stage stage;

        /* validation */
        /* the normalized DealerCustomerRequest as JSON text, owned (not a
         * json-c tree: a pending event keeps it, and a tree is ~1 KB) */
        char *request_json;
        size_t request_len;
        char *invalid;        /* why the event is invalid, or NULL */
        const char *invalid_code; /* its result code, Bridge.InvalidEvent
                                   * unless set otherwise */
        char *reply_topic;    /* the reply-topic header, owned, or NULL */
        char *dealer_name;    /* the moka-dealer header, owned, or NULL */
        struct dealer *dealer; /* whose credentials call Moka */
        bool reply_topic_ok;  /* it is on the allow-list: replies go there */
        long sale_count;      /* GetSaleList: sales in Moka's answer */
        char *customer_password; /* copy, for redaction; owned or NULL */

        /* ordering and identity */
        const void *order_key; /* into src.key, order_key_owned or
                                * order_key_buf */
        size_t order_key_len;  /* 0 = no ordering constraint */
        char *order_key_owned; /* a copy of CustomerCode, or NULL */
        char order_key_buf[32];
        char *correlation_id; /* owned */

        /* scheduling, owned by the bridge */
        struct event *all_prev, *all_next; /* every live event */
        struct partition_state *part;
        uint64_t offset_seq;
        struct scheduler_node sched;
        struct timer_entry timer;
        struct event *ready_next;
        struct event *verdict_next; /* waiting for a probe's verdict */
        struct http_request *http;

        /* the Moka request body: owned for UpdateCustomer, shared (the
         * prebuilt GetSaleList body) otherwise */
        char *body_owned;
        const char *body;
        size_t body_len;
        struct moka_auth *body_auth; /* the credentials in `body`, a
                                      * reference: a rotated password's
                                      * body is built again */

        /* attempts */
        int calls;           /* Moka calls made, reported as "attempts" */
        int attempts;        /* Moka calls that counted against the budget */
        int outage_attempts; /* calls that failed with an outage-class error */
        uint64_t first_attempt_ms;
        uint64_t call_started_us; /* of the call in flight, for metrics */
        uint64_t first_failure_us; /* first transient failure, 0 = none */
        uint64_t outage_epoch;     /* outages ended before its budget began */
        char *last_cause; /* why the last call failed; allocated on the
                           * first failure (most events have none) */
        /* Moka's answer that may mean bad credentials, owned, kept while
         * the dealer's probe decides whose fault it is (dealer.h) */
        char *suspect_code;
        char *suspect_message;

        /* publishing: the rendered records are kept until acknowledged so a
         * failed delivery can be produced again */
        struct event_record reply_rec, dlq_rec;
        char *reply_value; /* owned */
        size_t reply_len;
        rd_kafka_headers_t *reply_hdrs; /* owned templates, copied per */
        rd_kafka_headers_t *dlq_hdrs;   /* produce call */
        int pending_deliveries;
        bool abandoned; /* partition revoked / shutdown deadline passed */
};

/* Takes ownership of `msg` and destroys it before returning (also on
 * failure); `topic` is its topic's name, borrowed for the event's life.
 * Never fails for bad input: an invalid value yields an event with
 * `invalid` set. Returns NULL only when out of memory. */
struct event *event_create(rd_kafka_message_t *msg, const char *topic,
                           enum moka_operation op, size_t max_event_bytes);

/* Frees the event and its copy of the record; accepts NULL. */
void event_destroy(struct event *ev);

/* What validating a customer update keeps: the normalized
 * DealerCustomerRequest as JSON text (known fields only, in the order they
 * first appear, a repeated member's last value, integers as integers,
 * unset ones dropped, strings escaped as json-c writes them), and the
 * decoded values the event needs. All owned; event_request_clear frees. */
struct event_request {
        char *json; /* NUL-terminated */
        size_t len;
        char *password;      /* Password, a C string, or NULL */
        char *customer_code; /* CustomerCode (may hold U+0000), or NULL */
        size_t customer_code_len;
        bool has_id; /* DealerCustomerId was given */
        int64_t id;
};

/* Validates a customer-update value (json_scan.c: strict JSON, valid
 * UTF-8) into *req and returns 0, or returns -1 with a message naming the
 * field (or "value: ...") in errbuf and *req empty. Also for the fuzzer
 * and the unit tests. */
int event_validate_customer_update(const void *value, size_t len,
                                   struct event_request *req, char *errbuf,
                                   size_t errbuf_size);

/* Frees what *req holds (wiping the password and the text that holds it);
 * accepts an empty one. */
void event_request_clear(struct event_request *req);

/* Validates a sale-list request value: empty, or a JSON object whose only
 * member may be DealerSaleRequest, null or {} (GetSaleList has no request
 * fields; nothing of the value is sent). Returns 0, or -1 with a message
 * naming the field in errbuf. */
int event_validate_sale_list(const void *value, size_t len, char *errbuf,
                             size_t errbuf_size);

#endif
