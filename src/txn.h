/* Transactions of exactly-once mode (kafka.delivery = "exactly-once").
 *
 * One transaction per batch: begin (lazily, when the first record of the
 * batch is produced) -> the records of completed events -> the input
 * offsets (send_offsets_to_transaction with the consumer's group metadata)
 * -> commit. This module wraps librdkafka's transactional calls: it retries
 * what librdkafka calls retriable, and tells the bridge what to do with
 * anything else (abort and rewind, or stop). The bridge decides what goes
 * into a transaction and when it is due (txn_due).
 *
 * Every call runs on the bridge's thread and blocks: init at start-up (a
 * broker round trip), send_offsets and commit at each batch (a few round
 * trips), abort after a failure. */
#ifndef MOKA_BRIDGE_TXN_H
#define MOKA_BRIDGE_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

/* What a transactional call's error asks for. */
enum txn_verdict {
        TXN_OK,    /* done */
        TXN_RETRY, /* retriable: the same call again */
        TXN_ABORT, /* abortable: abort the transaction, redo its inputs */
        TXN_FATAL, /* fenced or fatal: stop without committing anything */
};

/* Pure: the verdict for `error` (NULL = TXN_OK). Fenced producers
 * (ERR__FENCED, PRODUCER_FENCED, INVALID_PRODUCER_EPOCH) and fatal errors
 * are TXN_FATAL even when also flagged otherwise; errors with no flag at all
 * are TXN_FATAL too, as librdkafka recommends. */
enum txn_verdict txn_verdict_of(const rd_kafka_error_t *error);

/* Pure: whether `code` means another producer took over our
 * transactional.id. */
bool txn_is_fenced(rd_kafka_resp_err_t code);

/* When a batch is committed. */
struct txn_policy {
        uint64_t interval_ms; /* after the transaction began */
        size_t max_events;    /* events whose records it holds */
};

/* Pure: whether a transaction opened at `opened_ms` holding `events`
 * events is due for commit at `now_ms`. */
bool txn_due(const struct txn_policy *p, uint64_t opened_ms, size_t events,
             uint64_t now_ms);

/* Milliseconds until a transaction opened at `opened_ms` is due by time
 * (0 when it is due). */
uint64_t txn_due_in_ms(const struct txn_policy *p, uint64_t opened_ms,
                       uint64_t now_ms);

/* The transaction state of one transactional producer. */
struct txn {
        rd_kafka_t *producer; /* borrowed from the publisher */
        const char *id;       /* transactional.id, borrowed (for logs) */
        struct txn_policy policy;
        bool open;            /* begun, not yet committed or aborted */
        uint64_t opened_ms;
        size_t events;        /* events whose records are in it */
        /* The last failure, for the caller's log line. */
        rd_kafka_resp_err_t error_code;
        char error[512];
        /* Totals, for logs. */
        uint64_t committed;
        uint64_t aborted;
};

/* Sets up `t` for `producer` (which must have transactional.id = id). */
void txn_setup(struct txn *t, rd_kafka_t *producer, const char *id,
               const struct txn_policy *policy);

/* init_transactions, once, at start-up: fences an older producer of the
 * same id and aborts what it left open. TXN_RETRY after `timeout_ms`
 * (the call may be repeated); TXN_FATAL otherwise. */
enum txn_verdict txn_init(struct txn *t, int timeout_ms);

/* Begins a transaction unless one is open. TXN_OK or TXN_FATAL. */
enum txn_verdict txn_begin(struct txn *t, uint64_t now_ms);

/* Adds `offsets` (next offset to read per partition; may be NULL or
 * empty) to the open transaction with the consumer's group metadata, then
 * commits it. Retriable errors are retried for up to `retry_ms`. Returns
 * TXN_OK (committed, or nothing was open), TXN_ABORT (the caller must
 * txn_abort) or TXN_FATAL. */
enum txn_verdict txn_commit(struct txn *t,
                            const rd_kafka_topic_partition_list_t *offsets,
                            const rd_kafka_consumer_group_metadata_t *cgmd,
                            int retry_ms);

/* Aborts the open transaction (its records are purged; readers with
 * read_committed never see them). TXN_OK or TXN_FATAL. */
enum txn_verdict txn_abort(struct txn *t, int retry_ms);

#endif
