/* Timers: a binary min-heap of intrusive entries ordered by due time.
 *
 * An event waiting for its retry sits here, not in the HTTP layer, so it
 * holds no connection slot. Entries are embedded in their owners
 * (container_of style); the heap never allocates per entry. */
#ifndef MOKA_BRIDGE_TIMER_H
#define MOKA_BRIDGE_TIMER_H

#include <stddef.h>
#include <stdint.h>

struct timer_entry {
        uint64_t due_ms;
        size_t index; /* position in the heap; TIMER_IDLE when not armed */
};

#define TIMER_IDLE ((size_t)-1)

struct timer_heap {
        struct timer_entry **items;
        size_t len;
        size_t cap;
};

void timer_heap_init(struct timer_heap *heap);
void timer_heap_destroy(struct timer_heap *heap);

/* Initialises an entry as not armed. */
void timer_entry_init(struct timer_entry *entry);

/* Arms `entry` to fire at `due_ms` (re-arms when already armed).
 * Returns 0, or -1 when out of memory. */
int timer_arm(struct timer_heap *heap, struct timer_entry *entry,
              uint64_t due_ms);

/* Disarms `entry`; no-op when not armed. */
void timer_cancel(struct timer_heap *heap, struct timer_entry *entry);

/* Removes and returns the earliest entry due at or before `now_ms`,
 * or NULL when none is due. */
struct timer_entry *timer_pop_due(struct timer_heap *heap, uint64_t now_ms);

/* Due time of the earliest entry, or UINT64_MAX when the heap is empty. */
uint64_t timer_next_due(const struct timer_heap *heap);

/* Monotonic clock in milliseconds. */
uint64_t timer_now_ms(void);
/* Monotonic clock in microseconds. */
uint64_t timer_now_us(void);

#endif
