#include "timer.h"

#include <stdlib.h>
#include <time.h>

void timer_heap_init(struct timer_heap *heap)
{
        heap->items = NULL;
        heap->len = 0;
        heap->cap = 0;
}

void timer_heap_destroy(struct timer_heap *heap)
{
        for (size_t i = 0; i < heap->len; i++)
                heap->items[i]->index = TIMER_IDLE;
        free(heap->items);
        timer_heap_init(heap);
}

void timer_entry_init(struct timer_entry *entry)
{
        entry->due_ms = 0;
        entry->index = TIMER_IDLE;
}

static void timer_place(struct timer_heap *heap, size_t i,
                        struct timer_entry *entry)
{
        heap->items[i] = entry;
        entry->index = i;
}

static void timer_sift_up(struct timer_heap *heap, size_t i)
{
        struct timer_entry *entry = heap->items[i];
        while (i > 0) {
                size_t parent = (i - 1) / 2;
                if (heap->items[parent]->due_ms <= entry->due_ms)
                        break;
                timer_place(heap, i, heap->items[parent]);
                i = parent;
        }
        timer_place(heap, i, entry);
}

static void timer_sift_down(struct timer_heap *heap, size_t i)
{
        struct timer_entry *entry = heap->items[i];
        for (;;) {
                size_t child = 2 * i + 1;
                if (child >= heap->len)
                        break;
                if (child + 1 < heap->len &&
                    heap->items[child + 1]->due_ms < heap->items[child]->due_ms)
                        child++;
                if (entry->due_ms <= heap->items[child]->due_ms)
                        break;
                timer_place(heap, i, heap->items[child]);
                i = child;
        }
        timer_place(heap, i, entry);
}

int timer_arm(struct timer_heap *heap, struct timer_entry *entry,
              uint64_t due_ms)
{
        if (entry->index != TIMER_IDLE)
                timer_cancel(heap, entry);
        if (heap->len == heap->cap) {
                size_t cap = heap->cap ? heap->cap * 2 : 64;
                struct timer_entry **items =
                        realloc(heap->items, cap * sizeof(*items));
                if (!items)
                        return -1;
                heap->items = items;
                heap->cap = cap;
        }
        entry->due_ms = due_ms;
        heap->items[heap->len] = entry;
        entry->index = heap->len++;
        timer_sift_up(heap, entry->index);
        return 0;
}

void timer_cancel(struct timer_heap *heap, struct timer_entry *entry)
{
        size_t i = entry->index;
        if (i == TIMER_IDLE)
                return;
        entry->index = TIMER_IDLE;
        heap->len--;
        if (i == heap->len)
                return;
        /* Move the last entry into the hole, then restore heap order. */
        struct timer_entry *moved = heap->items[heap->len];
        timer_place(heap, i, moved);
        timer_sift_down(heap, i);
        timer_sift_up(heap, moved->index);
}

struct timer_entry *timer_pop_due(struct timer_heap *heap, uint64_t now_ms)
{
        if (heap->len == 0 || heap->items[0]->due_ms > now_ms)
                return NULL;
        struct timer_entry *entry = heap->items[0];
        timer_cancel(heap, entry);
        return entry;
}

uint64_t timer_next_due(const struct timer_heap *heap)
{
        return heap->len ? heap->items[0]->due_ms : UINT64_MAX;
}

uint64_t timer_now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t timer_now_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
