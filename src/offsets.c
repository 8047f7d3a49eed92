#include "offsets.h"

#include <stdlib.h>
#include <string.h>

void offsets_init(struct offsets *o)
{
        memset(o, 0, sizeof(*o));
        o->committable = -1;
}

void offsets_destroy(struct offsets *o)
{
        free(o->ring);
        offsets_init(o);
}

static struct offsets_slot *offsets_slot(const struct offsets *o, uint64_t seq)
{
        return &o->ring[seq & (o->cap - 1)];
}

static int offsets_grow(struct offsets *o)
{
        size_t cap = o->cap ? o->cap * 2 : 256;
        struct offsets_slot *ring = malloc(cap * sizeof(*ring));
        if (!ring)
                return -1;
        /* Re-lay the live window so that seq & (cap-1) still indexes it. */
        for (uint64_t s = o->head; s < o->tail; s++)
                ring[s & (cap - 1)] = *offsets_slot(o, s);
        free(o->ring);
        o->ring = ring;
        o->cap = cap;
        return 0;
}

int offsets_add(struct offsets *o, int64_t offset, void *owner,
                uint64_t *seq)
{
        if (o->tail > o->head &&
            offsets_slot(o, o->tail - 1)->offset >= offset)
                return -1;
        if (o->committable > offset)
                return -1;
        if (o->tail - o->head == o->cap && offsets_grow(o) != 0)
                return -1;
        struct offsets_slot *slot = offsets_slot(o, o->tail);
        slot->offset = offset;
        slot->owner = owner;
        *seq = o->tail++;
        return 0;
}

bool offsets_done(struct offsets *o, uint64_t seq)
{
        if (seq < o->head || seq >= o->tail)
                return false;
        offsets_slot(o, seq)->owner = NULL;
        bool advanced = false;
        while (o->head < o->tail && offsets_slot(o, o->head)->owner == NULL) {
                o->committable = offsets_slot(o, o->head)->offset + 1;
                o->head++;
                advanced = true;
        }
        return advanced;
}

void *offsets_head_owner(const struct offsets *o)
{
        if (o->head == o->tail)
                return NULL;
        return offsets_slot(o, o->head)->owner;
}

size_t offsets_pending(const struct offsets *o)
{
        return (size_t)(o->tail - o->head);
}

void offsets_foreach_pending(struct offsets *o,
                             void (*fn)(void *owner, void *arg), void *arg)
{
        for (uint64_t s = o->head; s < o->tail; s++) {
                void *owner = offsets_slot(o, s)->owner;
                if (owner)
                        fn(owner, arg);
        }
}
