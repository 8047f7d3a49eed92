/* Offset tracking for one input partition.
 *
 * Events of a partition complete out of order (different ordering keys run
 * concurrently), but an offset may be stored for commit only when the event
 * and every earlier event of the partition are done (reply and DLQ records
 * acknowledged). The tracker keeps the consumed offsets in a ring, in
 * consumption order, and reports the next offset to commit whenever the
 * done prefix grows. Offsets need not be contiguous (compaction, transaction
 * markers); only their order matters. */
#ifndef MOKA_BRIDGE_OFFSETS_H
#define MOKA_BRIDGE_OFFSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct offsets_slot {
        int64_t offset;
        void *owner; /* the event while pending; NULL once done */
};

struct offsets {
        struct offsets_slot *ring;
        size_t cap;          /* power of two */
        uint64_t head;       /* sequence number of the oldest pending slot */
        uint64_t tail;       /* sequence number the next add gets */
        int64_t committable; /* next offset to commit, -1 before any */
};

void offsets_init(struct offsets *o);
void offsets_destroy(struct offsets *o);

/* Records a consumed offset (must be greater than every earlier one) owned
 * by `owner` (non-NULL). Returns its sequence number through *seq.
 * Returns 0, or -1 when out of memory or the offset goes backwards. */
int offsets_add(struct offsets *o, int64_t offset, void *owner,
                uint64_t *seq);

/* Marks sequence `seq` done. Returns true when this advanced the committable
 * offset (read it from o->committable). */
bool offsets_done(struct offsets *o, uint64_t seq);

/* The owner of the oldest pending offset, or NULL when none is pending.
 * Exactly-once mode marks offsets done strictly in this order: it produces
 * an event's records only when every earlier event of the partition has
 * its records in the transaction too. */
void *offsets_head_owner(const struct offsets *o);

/* Number of offsets added but not yet passed by the committable offset. */
size_t offsets_pending(const struct offsets *o);

/* Calls fn(owner, arg) for every still-pending slot, oldest first. */
void offsets_foreach_pending(struct offsets *o,
                             void (*fn)(void *owner, void *arg), void *arg);

#endif
