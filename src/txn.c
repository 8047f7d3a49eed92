#include "txn.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "timer.h"

/* Pause between retries of a retriable call (the loop is blocked anyway). */
#define TXN_RETRY_PAUSE_MS 100
/* One send_offsets_to_transaction attempt. */
#define TXN_SEND_OFFSETS_TIMEOUT_MS 10000

bool txn_is_fenced(rd_kafka_resp_err_t code)
{
        return code == RD_KAFKA_RESP_ERR__FENCED ||
               code == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
               code == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH;
}

enum txn_verdict txn_verdict_of(const rd_kafka_error_t *error)
{
        if (!error)
                return TXN_OK;
        if (rd_kafka_error_is_fatal(error) ||
            txn_is_fenced(rd_kafka_error_code(error)))
                return TXN_FATAL;
        if (rd_kafka_error_txn_requires_abort(error))
                return TXN_ABORT;
        if (rd_kafka_error_is_retriable(error))
                return TXN_RETRY;
        return TXN_FATAL;
}

bool txn_due(const struct txn_policy *p, uint64_t opened_ms, size_t events,
             uint64_t now_ms)
{
        return events >= p->max_events || now_ms >= opened_ms + p->interval_ms;
}

uint64_t txn_due_in_ms(const struct txn_policy *p, uint64_t opened_ms,
                       uint64_t now_ms)
{
        uint64_t due = opened_ms + p->interval_ms;
        return due > now_ms ? due - now_ms : 0;
}

void txn_setup(struct txn *t, rd_kafka_t *producer, const char *id,
               const struct txn_policy *policy)
{
        memset(t, 0, sizeof(*t));
        t->producer = producer;
        t->id = id;
        t->policy = *policy;
}

static void txn_pause(void)
{
        struct timespec ts = {0, TXN_RETRY_PAUSE_MS * 1000000L};
        nanosleep(&ts, NULL);
}

/* Keeps the error's text for the caller, logs it, destroys it and returns
 * its verdict. */
static enum txn_verdict txn_take(struct txn *t, const char *call,
                                 rd_kafka_error_t *error)
{
        enum txn_verdict v = txn_verdict_of(error);
        if (!error)
                return v;
        t->error_code = rd_kafka_error_code(error);
        snprintf(t->error, sizeof(t->error), "%s: %s", call,
                 rd_kafka_error_string(error));
        if (v == TXN_RETRY)
                log_debug("transactional call failed, retrying",
                          "\"call\":\"%s\",\"code\":%s,\"error\":%s", call,
                          log_json_escape(rd_kafka_error_name(error)),
                          log_json_escape(rd_kafka_error_string(error)));
        else
                log_warn(v == TXN_ABORT ? "transaction must be aborted"
                                        : "transactional call failed",
                         "\"call\":\"%s\",\"code\":%s,\"error\":%s,"
                         "\"transactional_id\":%s",
                         call, log_json_escape(rd_kafka_error_name(error)),
                         log_json_escape(rd_kafka_error_string(error)),
                         log_json_escape(t->id));
        rd_kafka_error_destroy(error);
        return v;
}

enum txn_verdict txn_init(struct txn *t, int timeout_ms)
{
        return txn_take(t, "init_transactions",
                        rd_kafka_init_transactions(t->producer, timeout_ms));
}

enum txn_verdict txn_begin(struct txn *t, uint64_t now_ms)
{
        if (t->open)
                return TXN_OK;
        enum txn_verdict v = txn_take(
                t, "begin_transaction", rd_kafka_begin_transaction(t->producer));
        if (v != TXN_OK)
                return TXN_FATAL; /* nothing retriable or abortable here */
        t->open = true;
        t->opened_ms = now_ms;
        t->events = 0;
        return TXN_OK;
}

static void txn_closed(struct txn *t)
{
        t->open = false;
        t->events = 0;
}

enum txn_verdict txn_commit(struct txn *t,
                            const rd_kafka_topic_partition_list_t *offsets,
                            const rd_kafka_consumer_group_metadata_t *cgmd,
                            int retry_ms)
{
        if (!t->open)
                return TXN_OK;
        uint64_t deadline = timer_now_ms() + (uint64_t)retry_ms;
        enum txn_verdict v = TXN_OK;
        if (offsets && offsets->cnt > 0) {
                /* Retried with the same offsets and metadata, as
                 * librdkafka asks. */
                while ((v = txn_take(t, "send_offsets_to_transaction",
                                     rd_kafka_send_offsets_to_transaction(
                                             t->producer, offsets, cgmd,
                                             TXN_SEND_OFFSETS_TIMEOUT_MS))) ==
                               TXN_RETRY &&
                       timer_now_ms() < deadline)
                        txn_pause();
                if (v == TXN_RETRY)
                        v = TXN_ABORT;
                if (v != TXN_OK)
                        return v;
        }
        /* -1: the remaining transaction time, as librdkafka recommends; a
         * timeout is resumable by calling again. */
        while ((v = txn_take(t, "commit_transaction",
                             rd_kafka_commit_transaction(t->producer, -1))) ==
                       TXN_RETRY &&
               timer_now_ms() < deadline)
                txn_pause();
        if (v == TXN_RETRY)
                v = TXN_ABORT;
        if (v == TXN_OK) {
                txn_closed(t);
                t->committed++;
        }
        return v;
}

enum txn_verdict txn_abort(struct txn *t, int retry_ms)
{
        if (!t->open)
                return TXN_OK;
        uint64_t deadline = timer_now_ms() + (uint64_t)retry_ms;
        enum txn_verdict v;
        while ((v = txn_take(t, "abort_transaction",
                             rd_kafka_abort_transaction(t->producer, -1))) ==
                       TXN_RETRY &&
               timer_now_ms() < deadline)
                txn_pause();
        if (v != TXN_OK)
                return TXN_FATAL; /* cannot get back to a clean state */
        txn_closed(t);
        t->aborted++;
        return TXN_OK;
}
