#include "exactly_once.h"

#include <inttypes.h>
#include <stdio.h>

#include "consumer.h"
#include "event.h"
#include "log.h"
#include "metrics.h"
#include "partition.h"
#include "publisher.h"
#include "timer.h"

/* How long retriable transactional errors are retried before the
 * transaction is aborted instead; how long one init_transactions attempt
 * may take at start-up; how long a seek back may take. */
#define EXACTLY_ONCE_RETRY_MS 30000
#define EXACTLY_ONCE_INIT_MS 10000
#define EXACTLY_ONCE_SEEK_MS 10000
/* A reply refused as too large below this size was refused with its batch
 * (librdkafka does not split batches): it is not remembered. */
#define EXACTLY_ONCE_SMALL_REPLY (64 * 1024)

void exactly_once_setup(struct exactly_once *e, struct publisher *pub,
                        struct metrics *metrics,
                        struct partition_state **parts,
                        const struct exactly_once_host *host,
                        const char *transactional_id,
                        const struct txn_policy *policy)
{
        e->pub = pub;
        e->metrics = metrics;
        e->parts = parts;
        e->host = *host;
        txn_setup(&e->txn, publisher_handle(pub), transactional_id, policy);
}

int exactly_once_init(struct exactly_once *e, const volatile sig_atomic_t *stop)
{
        for (;;) {
                enum txn_verdict v = txn_init(&e->txn, EXACTLY_ONCE_INIT_MS);
                if (v == TXN_OK) {
                        log_info("exactly-once: transactions initialised",
                                 "\"transactional_id\":%s,"
                                 "\"transaction_interval_ms\":%" PRIu64 ","
                                 "\"transaction_max_events\":%zu",
                                 log_json_escape(e->txn.id),
                                 e->txn.policy.interval_ms,
                                 e->txn.policy.max_events);
                        return 0;
                }
                if (v != TXN_RETRY) {
                        e->fatal = true;
                        return -1;
                }
                if (*stop)
                        return -1;
                log_warn("init_transactions: the transaction coordinator "
                         "does not answer yet, retrying",
                         "\"transactional_id\":%s,\"error\":%s",
                         log_json_escape(e->txn.id),
                         log_json_escape(e->txn.error));
        }
}

static bool exactly_once_same_position(const struct exactly_once_position *p,
                                       const struct event *ev)
{
        return p->op == (int)ev->op && p->partition == ev->src.partition &&
               p->offset == ev->src.offset;
}

bool exactly_once_too_large_known(const struct exactly_once *e,
                                  const struct event *ev)
{
        for (size_t i = 0; i < EXACTLY_ONCE_TOO_LARGE_MEMORY; i++)
                if (e->too_large[i].used &&
                    exactly_once_same_position(&e->too_large[i], ev))
                        return true;
        return false;
}

static void exactly_once_remember_too_large(struct exactly_once *e,
                                            const struct event *ev)
{
        if (exactly_once_too_large_known(e, ev))
                return;
        struct exactly_once_position *p =
                &e->too_large[e->too_large_next++ %
                              EXACTLY_ONCE_TOO_LARGE_MEMORY];
        p->used = true;
        p->op = (int)ev->op;
        p->partition = ev->src.partition;
        p->offset = ev->src.offset;
}

void exactly_once_produce_failed(struct exactly_once *e,
                                 const struct event_record *rec,
                                 rd_kafka_resp_err_t err)
{
        log_error("produce failed, aborting the transaction",
                  "\"correlation_id\":%s,\"dlq\":%s,\"error\":%s",
                  log_json_escape(rec->ev->correlation_id),
                  rec->is_dlq ? "true" : "false",
                  log_json_escape(rd_kafka_err2str(err)));
        e->record_failed = true;
}

/* The event's offset is already in the open transaction (exactly_once_pump);
 * a failed record fails the transaction, which is then aborted and its
 * events redone. */
void exactly_once_on_delivery(struct exactly_once *e,
                              struct event_record *rec,
                              rd_kafka_resp_err_t err)
{
        struct event *ev = rec->ev;
        if (err && !ev->abandoned) {
                if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE &&
                    !rec->is_dlq && ev->reply_len > EXACTLY_ONCE_SMALL_REPLY)
                        exactly_once_remember_too_large(e, ev);
                metrics_delivery_failed(e->metrics);
                /* The first failure says it; the rest of the batch usually
                 * fails with it. */
                if (!e->record_failed && !e->fatal)
                        log_error("delivery failed, aborting the transaction",
                                  "\"correlation_id\":%s,\"dlq\":%s,"
                                  "\"error\":%s",
                                  log_json_escape(ev->correlation_id),
                                  rec->is_dlq ? "true" : "false",
                                  log_json_escape(rd_kafka_err2str(err)));
                e->record_failed = true;
                if (publisher_fatal(e->pub, NULL, 0))
                        e->fatal = true;
        }
        if (!err)
                rec->acked = true;
        if (--ev->pending_deliveries == 0)
                e->host.free_event(e->host.arg, ev);
}

/* Produces, partition by partition and in offset order, the records of the
 * completed events at the head of each partition, inside the open
 * transaction (begun here when none is). An event completed after an
 * unfinished one of its partition waits: a transaction holds the records
 * of exactly the events whose offsets it commits, the contiguous prefix. */
void exactly_once_pump(struct exactly_once *e)
{
        for (struct partition_state *ps = *e->parts; ps; ps = ps->next) {
                struct event *ev;
                while ((ev = offsets_head_owner(&ps->offsets)) &&
                       ev->stage == EVENT_PUBLISHING) {
                        if (e->fatal || e->record_failed)
                                return;
                        if (!e->txn.open &&
                            txn_begin(&e->txn, timer_now_ms()) != TXN_OK) {
                                e->fatal = true;
                                return;
                        }
                        uint64_t seq = ev->offset_seq;
                        e->host.produce_missing(e->host.arg, ev);
                        if (e->record_failed)
                                return;
                        offsets_done(&ps->offsets, seq);
                        e->txn.events++;
                }
        }
}

/* Aborts the open transaction and drops every in-memory event: nothing of
 * them was committed. With `rewind`, every partition read so far is sought
 * back to its last committed offset, so its events are read and answered
 * again (their Moka calls repeat). Without (revoke, stop), the next owner
 * or the next start redoes them. */
static void exactly_once_abort(struct exactly_once *e, bool rewind,
                               const char *cause)
{
        size_t in_txn = e->txn.events;
        if (txn_abort(&e->txn, EXACTLY_ONCE_RETRY_MS) != TXN_OK) {
                e->fatal = true;
                return;
        }
        rd_kafka_topic_partition_list_t *seek = NULL;
        if (rewind) {
                seek = rd_kafka_topic_partition_list_new(8);
                for (struct partition_state *ps = *e->parts; ps;
                     ps = ps->next)
                        rd_kafka_topic_partition_list_add(
                                seek, ps->store->elems[0].topic,
                                ps->partition)
                                ->offset = ps->rewind_to;
        }
        size_t dropped = e->host.live_events(e->host.arg);
        log_warn("transaction aborted: in-memory events dropped, to be "
                 "answered again from the last committed offsets (their "
                 "Moka calls may repeat)",
                 "\"transactional_id\":%s,\"events_in_transaction\":%zu,"
                 "\"dropped\":%zu,\"rewind\":%s,\"cause\":%s",
                 log_json_escape(e->txn.id), in_txn, dropped,
                 rewind ? "true" : "false", log_json_escape(cause));
        e->host.drop_all(e->host.arg);
        e->record_failed = false;
        if (seek) {
                if (consumer_seek(e->cons, seek, EXACTLY_ONCE_SEEK_MS)) {
                        /* Reading on from here could skip events: stop,
                         * the restart reads from the committed offsets. */
                        log_error("could not rewind after an abort", NULL);
                        e->fatal = true;
                }
                rd_kafka_topic_partition_list_destroy(seek);
        }
}

void exactly_once_commit(struct exactly_once *e, bool rewind)
{
        if (!e->txn.open || e->fatal)
                return;
        uint64_t t0 = timer_now_us();
        size_t events = e->txn.events;
        /* Delivery reports are served here: a failed record sets
         * record_failed before any offset goes into the transaction. */
        publisher_flush(e->pub, EXACTLY_ONCE_RETRY_MS);
        if (publisher_fatal(e->pub, NULL, 0))
                e->fatal = true;
        if (e->fatal)
                return;
        if (e->record_failed) {
                exactly_once_abort(e, rewind, "a record of the transaction "
                                              "could not be written");
                return;
        }
        rd_kafka_topic_partition_list_t *offsets =
                rd_kafka_topic_partition_list_new(8);
        for (struct partition_state *ps = *e->parts; ps; ps = ps->next)
                if (ps->offsets.committable > ps->rewind_to)
                        rd_kafka_topic_partition_list_add(
                                offsets, ps->store->elems[0].topic,
                                ps->partition)
                                ->offset = ps->offsets.committable;
        rd_kafka_consumer_group_metadata_t *cgmd =
                consumer_group_metadata(e->cons);
        enum txn_verdict v =
                txn_commit(&e->txn, offsets, cgmd, EXACTLY_ONCE_RETRY_MS);
        rd_kafka_consumer_group_metadata_destroy(cgmd);
        if (v == TXN_OK) {
                for (struct partition_state *ps = *e->parts; ps;
                     ps = ps->next)
                        if (ps->offsets.committable > ps->rewind_to)
                                ps->rewind_to = ps->offsets.committable;
                for (int i = 0; i < offsets->cnt; i++)
                        metrics_partition_committed(e->metrics,
                                                    offsets->elems[i].topic,
                                                    offsets->elems[i].partition,
                                                    offsets->elems[i].offset);
                log_debug("transaction committed",
                          "\"events\":%zu,\"partitions\":%d,\"us\":%" PRIu64,
                          events, offsets->cnt, timer_now_us() - t0);
        } else if (v == TXN_ABORT) {
                exactly_once_abort(e, rewind, e->txn.error);
        } else {
                e->fatal = true;
        }
        rd_kafka_topic_partition_list_destroy(offsets);
}

void exactly_once_step(struct exactly_once *e, bool draining)
{
        if (e->fatal)
                return;
        exactly_once_pump(e);
        if (e->fatal)
                return;
        if (!e->txn.open) {
                e->record_failed = false;
                return;
        }
        if (e->record_failed || txn_due(&e->txn.policy, e->txn.opened_ms,
                                        e->txn.events, timer_now_ms()))
                exactly_once_commit(e, !draining);
}

uint64_t exactly_once_due_in_ms(const struct exactly_once *e, uint64_t now_ms)
{
        if (!e->txn.open)
                return UINT64_MAX;
        return txn_due_in_ms(&e->txn.policy, e->txn.opened_ms, now_ms);
}
