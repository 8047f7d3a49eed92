/* Exactly-once mode (kafka.delivery = "exactly-once", docs/exactly-once.md):
 * which records go into which transaction, and what a failed transaction
 * does to the in-memory events.
 *
 * The bridge completes events in any order; each loop turn
 * exactly_once_pump walks every partition's offset ring from its head and
 * produces the records of completed events in offset order into the open
 * transaction (txn.c begins it lazily), stopping at the first event still
 * in flight, so a transaction holds the records of exactly the events whose
 * offsets it commits. exactly_once_step commits when the transaction is due
 * (transaction_interval_ms / transaction_max_events). An abortable error
 * aborts, drops every in-memory event (through the host) and seeks each
 * partition back to its last committed offset; a fatal one (fenced) makes
 * every call return -1 and the bridge stops. */
#ifndef MOKA_BRIDGE_EXACTLY_ONCE_H
#define MOKA_BRIDGE_EXACTLY_ONCE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "txn.h"

struct consumer;
struct event;
struct event_record;
struct metrics;
struct partition_state;
struct publisher;

/* Input positions whose reply the broker refused as too large, remembered
 * across an abort so that the redone event is answered
 * Bridge.ReplyTooLarge at once instead of failing its transaction again. */
#define EXACTLY_ONCE_TOO_LARGE_MEMORY 16

/* What the module asks of the bridge that owns the events. */
struct exactly_once_host {
        /* Produces the event's rendered records not yet produced. */
        void (*produce_missing)(void *arg, struct event *ev);
        /* Abandons every in-memory event and forgets every partition. */
        void (*drop_all)(void *arg);
        /* Events not yet answered or abandoned. */
        size_t (*live_events)(void *arg);
        /* Frees an event whose records are all reported on. */
        void (*free_event)(void *arg, struct event *ev);
        void *arg;
};

struct exactly_once_position {
        bool used;
        int op;
        int32_t partition;
        int64_t offset;
};

struct exactly_once {
        struct txn txn;
        bool record_failed; /* a record of the open transaction failed */
        bool fatal;         /* sticky: stop without committing more */
        struct publisher *pub;             /* borrowed */
        struct consumer *cons;             /* borrowed, set before use */
        struct metrics *metrics;           /* borrowed */
        struct partition_state **parts;    /* the bridge's list, borrowed */
        struct exactly_once_host host;
        struct exactly_once_position too_large[EXACTLY_ONCE_TOO_LARGE_MEMORY];
        size_t too_large_next;
};

/* Sets up `e`; the producer of `pub` must be transactional. */
void exactly_once_setup(struct exactly_once *e, struct publisher *pub,
                        struct metrics *metrics,
                        struct partition_state **parts,
                        const struct exactly_once_host *host,
                        const char *transactional_id,
                        const struct txn_policy *policy);

/* init_transactions, retried while the coordinator does not answer and
 * `*stop` is not set. Returns 0, or -1 (e->fatal set unless stopped). */
int exactly_once_init(struct exactly_once *e, const volatile sig_atomic_t *stop);

/* A produce call for one of the event's records failed at once: the open
 * transaction cannot hold all of its records and will be aborted. */
void exactly_once_produce_failed(struct exactly_once *e,
                                 const struct event_record *rec,
                                 rd_kafka_resp_err_t err);

/* A delivery report. Frees the event (through the host) once its last
 * record is reported on. May run inside publisher_flush(). */
void exactly_once_on_delivery(struct exactly_once *e,
                              struct event_record *rec,
                              rd_kafka_resp_err_t err);

/* Whether the broker refused this event's reply as too large before. */
bool exactly_once_too_large_known(const struct exactly_once *e,
                                  const struct event *ev);

/* Produces what became producible in offset order. */
void exactly_once_pump(struct exactly_once *e);

/* Commits the open transaction now (a failed record aborts it; with
 * `rewind` the partitions are sought back to their committed offsets). */
void exactly_once_commit(struct exactly_once *e, bool rewind);

/* Each loop turn: pump, then commit when due. While draining (revoke,
 * stop) an abort does not rewind. */
void exactly_once_step(struct exactly_once *e, bool draining);

/* Milliseconds until the open transaction is due, UINT64_MAX if none. */
uint64_t exactly_once_due_in_ms(const struct exactly_once *e,
                                uint64_t now_ms);

#endif
