/* The ordering-key scheduler.
 *
 * Events with the same ordering key in the same partition (the "scope") run
 * strictly one after another, in consumption order; different keys run
 * concurrently. Each key has a FIFO; only its head may be in flight, waiting
 * for a retry timer or waiting for its records to be acknowledged. Nodes are
 * embedded in their owners: the scheduler allocates only per key. */
#ifndef MOKA_BRIDGE_SCHEDULER_H
#define MOKA_BRIDGE_SCHEDULER_H

#include <stddef.h>
#include <stdint.h>

struct scheduler_key;

struct scheduler_node {
        struct scheduler_node *next;
        struct scheduler_key *key; /* NULL when not queued */
};

struct scheduler {
        struct scheduler_key **buckets;
        size_t bucket_cnt; /* power of two */
        size_t key_cnt;
};

int scheduler_init(struct scheduler *s);
/* Frees the keys; the nodes belong to their owners. */
void scheduler_destroy(struct scheduler *s);

/* Appends `node` to the FIFO of (scope, key). Returns 1 when the node is the
 * head and may run now, 0 when it waits behind earlier nodes, -1 when out of
 * memory. The key bytes are copied. */
int scheduler_enqueue(struct scheduler *s, struct scheduler_node *node,
                      const void *scope, const void *key, size_t key_len);

/* Removes `node` (any position) from its FIFO. Returns the node that became
 * the head because of this and may run now, or NULL. */
struct scheduler_node *scheduler_remove(struct scheduler *s,
                                        struct scheduler_node *node);

/* Number of distinct keys that have queued nodes. */
size_t scheduler_key_count(const struct scheduler *s);

#endif
