/* The consumer: group membership, assignment, pause/resume, offsets.
 *
 * Offsets are stored explicitly (enable.auto.offset.store=false) by the
 * bridge once an event and everything before it is answered; librdkafka's
 * auto-commit then commits what was stored, and consumer_commit() commits
 * synchronously on revoke and on close. In exactly-once mode nothing is
 * stored or committed here: offsets go into the producer's transactions
 * (enable.auto.commit=false). Rebalances use an eager assignor;
 * the bridge's hooks run inside consumer_poll(). */
#ifndef MOKA_BRIDGE_CONSUMER_H
#define MOKA_BRIDGE_CONSUMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "config.h"

struct consumer;

struct consumer_hooks {
        /* After the partitions were assigned. */
        void (*on_assign)(const rd_kafka_topic_partition_list_t *parts,
                          void *arg);
        /* Before the partitions are taken away: finish their work, the
         * consumer then commits and unassigns. */
        void (*on_revoke)(const rd_kafka_topic_partition_list_t *parts,
                          void *arg);
        /* After a commit: the partitions with their committed offsets
         * (per-partition err set on failure). */
        void (*on_commit)(const rd_kafka_topic_partition_list_t *offsets,
                          void *arg);
        void *arg;
};

/* Creates the consumer and subscribes to both input topics. `wake_fd`
 * (or -1) is written to when messages or events are waiting. */
struct consumer *consumer_create(const struct config *conf,
                                 const struct consumer_hooks *hooks,
                                 int wake_fd, char *errstr,
                                 size_t errstr_size);

/* Commits, leaves the group and frees; accepts NULL. */
void consumer_destroy(struct consumer *c);

/* The next message or NULL; never blocks. The caller owns the message. */
rd_kafka_message_t *consumer_poll(struct consumer *c);

/* Stores `next_offset` (the next one to read) for commit. `one` is a
 * caller-kept list holding just the partition, so storing allocates
 * nothing. */
void consumer_store_offset(struct consumer *c,
                           rd_kafka_topic_partition_list_t *one,
                           int64_t next_offset);

/* Commits stored offsets synchronously. A no-op in exactly-once mode,
 * where only the producer's transactions commit offsets. */
void consumer_commit(struct consumer *c);

/* The group metadata (group, generation, member) that
 * send_offsets_to_transaction needs; the caller destroys it with
 * rd_kafka_consumer_group_metadata_destroy(). */
rd_kafka_consumer_group_metadata_t *
consumer_group_metadata(struct consumer *c);

/* Moves the fetch position of each partition of `parts` to its offset
 * (exactly-once: back to the last committed offsets after an abort);
 * records fetched before are dropped. Blocks up to timeout_ms, retrying a
 * seek that failed (a partition still settling an earlier one). Returns 0,
 * or -1 (logged) when a partition could not be sought by then. */
int consumer_seek(struct consumer *c, rd_kafka_topic_partition_list_t *parts,
                  int timeout_ms);

/* Calls fn for every assigned partition with its cached high watermark
 * (-1 when not known yet); never blocks. */
void consumer_foreach_watermark(struct consumer *c,
                                void (*fn)(const char *topic,
                                           int32_t partition, int64_t high,
                                           void *arg),
                                void *arg);

/* Pauses or resumes fetching on every assigned partition. */
void consumer_set_paused(struct consumer *c, bool paused);

#endif
