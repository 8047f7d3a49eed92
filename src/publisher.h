/* The publisher: the idempotent producer that writes replies and DLQ
 * records, and routes delivery reports back to their events. In
 * exactly-once mode it is transactional (transactional.id =
 * kafka.transactional_id) and records may only be produced while the
 * bridge holds a transaction open (txn.c).
 *
 * Records are produced without copying the value (the event keeps it until
 * acknowledged), so a failed delivery can be produced again. Delivery
 * reports are served on the caller's thread by publisher_poll(). */
#ifndef MOKA_BRIDGE_PUBLISHER_H
#define MOKA_BRIDGE_PUBLISHER_H

#include <stdbool.h>
#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "config.h"
#include "event.h"

struct publisher;

/* Called from publisher_poll() for each delivery report. */
typedef void (*publisher_delivery_cb)(struct event_record *rec,
                                      rd_kafka_resp_err_t err, void *arg);

/* Creates the producer. `wake_fd` (or -1) is written to when delivery
 * reports are waiting, to wake the bridge's loop. Returns NULL with a
 * message in errstr. */
struct publisher *publisher_create(const struct config *conf,
                                   publisher_delivery_cb cb, void *arg,
                                   int wake_fd, char *errstr,
                                   size_t errstr_size);

/* Flushes for up to timeout_ms and destroys; accepts NULL. */
void publisher_destroy(struct publisher *p, int timeout_ms);

/* Produces one record of `rec->ev`: the reply (value = ev->reply_value,
 * headers = a copy of ev->reply_hdrs) or the DLQ record (the input's key,
 * value bytes and a copy of ev->dlq_hdrs). Returns 0 or the error. */
rd_kafka_resp_err_t publisher_produce(struct publisher *p,
                                      struct event_record *rec);

/* The producer, for the transactional calls of exactly-once mode (txn.c);
 * the publisher keeps owning it. */
rd_kafka_t *publisher_handle(struct publisher *p);

/* Serves delivery reports; non-blocking. */
void publisher_poll(struct publisher *p);

/* Waits up to timeout_ms for outstanding records. Returns the number still
 * outstanding. */
int publisher_flush(struct publisher *p, int timeout_ms);

/* True after a fatal producer error; `reason` (may be NULL) gets the text. */
bool publisher_fatal(struct publisher *p, char *reason, size_t reason_size);

#endif
