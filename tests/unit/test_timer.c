/* Unit tests of timer.c: the intrusive min-heap of retry timers, against a
 * plain array model under random arm / re-arm / cancel / pop. */
#include "timer.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

#define N 10000

struct item {
        int id;
        struct timer_entry timer;
};

static struct item items[N];
static uint64_t model_due[N]; /* UINT64_MAX = not armed */

static struct item *item_of(struct timer_entry *e)
{
        return (struct item *)((char *)e - offsetof(struct item, timer));
}

static uint64_t rng_state = 0x1234567887654321ULL;
static uint64_t rnd(uint64_t n)
{
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return rng_state % n;
}

static void test_basics(void)
{
        struct timer_heap h;
        timer_heap_init(&h);
        struct timer_entry a, b, c;
        timer_entry_init(&a);
        timer_entry_init(&b);
        timer_entry_init(&c);
        CHECK(a.index == TIMER_IDLE);

        /* empty */
        CHECK_UINT_EQ(timer_next_due(&h), UINT64_MAX);
        CHECK(timer_pop_due(&h, UINT64_MAX) == NULL);

        /* cancel of an unarmed entry is a no-op, also on an empty heap */
        timer_cancel(&h, &a);
        CHECK(a.index == TIMER_IDLE);
        CHECK_UINT_EQ(h.len, 0);

        CHECK_INT_EQ(timer_arm(&h, &a, 300), 0);
        CHECK_INT_EQ(timer_arm(&h, &b, 100), 0);
        CHECK_INT_EQ(timer_arm(&h, &c, 200), 0);
        CHECK_UINT_EQ(h.len, 3);
        CHECK_UINT_EQ(timer_next_due(&h), 100);
        timer_cancel(&h, &a);
        timer_cancel(&h, &a); /* twice: still a no-op */
        CHECK_UINT_EQ(h.len, 2);
        CHECK(a.index == TIMER_IDLE);

        /* only what is due */
        CHECK(timer_pop_due(&h, 99) == NULL);
        CHECK(timer_pop_due(&h, 100) == &b);
        CHECK(b.index == TIMER_IDLE);
        CHECK(timer_pop_due(&h, 100) == NULL);
        CHECK_UINT_EQ(timer_next_due(&h), 200);

        /* re-arming an armed entry moves it, it is not added twice */
        timer_arm(&h, &a, 500);
        timer_arm(&h, &c, 600); /* later */
        CHECK_UINT_EQ(h.len, 2);
        CHECK_UINT_EQ(timer_next_due(&h), 500);
        timer_arm(&h, &c, 50); /* earlier */
        CHECK_UINT_EQ(h.len, 2);
        CHECK_UINT_EQ(timer_next_due(&h), 50);
        CHECK(timer_pop_due(&h, 1000) == &c);
        CHECK(timer_pop_due(&h, 1000) == &a);
        CHECK(timer_pop_due(&h, 1000) == NULL);
        CHECK_UINT_EQ(timer_next_due(&h), UINT64_MAX);

        /* equal due times: all come out; 0 and UINT64_MAX-1 are times */
        timer_arm(&h, &a, 7);
        timer_arm(&h, &b, 7);
        timer_arm(&h, &c, 0);
        CHECK(timer_pop_due(&h, 0) == &c);
        struct timer_entry *x = timer_pop_due(&h, 7);
        struct timer_entry *y = timer_pop_due(&h, 7);
        CHECK((x == &a && y == &b) || (x == &b && y == &a));
        timer_arm(&h, &a, UINT64_MAX - 1);
        CHECK(timer_pop_due(&h, UINT64_MAX - 2) == NULL);
        CHECK(timer_pop_due(&h, UINT64_MAX - 1) == &a);

        /* destroy disarms what is left */
        timer_arm(&h, &a, 1);
        timer_arm(&h, &b, 2);
        timer_heap_destroy(&h);
        CHECK(a.index == TIMER_IDLE && b.index == TIMER_IDLE);
        CHECK_UINT_EQ(h.len, 0);
        CHECK_UINT_EQ(timer_next_due(&h), UINT64_MAX);
        /* and the heap is usable again */
        CHECK_INT_EQ(timer_arm(&h, &a, 5), 0);
        CHECK(timer_pop_due(&h, 5) == &a);
        timer_heap_destroy(&h);
}

/* The heap agrees with the model: the armed set, each entry's position,
 * the heap property, and the earliest due time. */
static int check_consistent(struct timer_heap *h)
{
        size_t armed = 0;
        uint64_t min = UINT64_MAX;
        int ok = 1;
        for (int i = 0; i < N; i++) {
                struct timer_entry *e = &items[i].timer;
                if (model_due[i] == UINT64_MAX) {
                        ok &= e->index == TIMER_IDLE;
                        continue;
                }
                armed++;
                min = model_due[i] < min ? model_due[i] : min;
                ok &= e->index < h->len && h->items[e->index] == e &&
                      e->due_ms == model_due[i];
        }
        for (size_t i = 1; i < h->len; i++)
                ok &= h->items[(i - 1) / 2]->due_ms <= h->items[i]->due_ms;
        ok &= armed == h->len;
        ok &= timer_next_due(h) == min;
        return ok;
}

static void test_random(void)
{
        struct timer_heap h;
        timer_heap_init(&h);
        for (int i = 0; i < N; i++) {
                items[i].id = i;
                timer_entry_init(&items[i].timer);
                model_due[i] = UINT64_MAX;
        }

        uint64_t now = 0;
        int consistent = 1, order_ok = 1, only_due = 1, all_due = 1;
        int popped_total = 0;
        for (int op = 0; op < 200000; op++) {
                int i = (int)rnd(N);
                uint64_t r = rnd(100);
                if (r < 45) {
                        /* arm or re-arm, mostly in the future */
                        uint64_t due = now + rnd(20000);
                        if (timer_arm(&h, &items[i].timer, due) == 0)
                                model_due[i] = due;
                } else if (r < 65) {
                        timer_cancel(&h, &items[i].timer);
                        model_due[i] = UINT64_MAX;
                } else if (r < 66) {
                        /* time passes; pop everything due */
                        now += rnd(3000);
                        uint64_t prev = 0;
                        struct timer_entry *e;
                        while ((e = timer_pop_due(&h, now)) != NULL) {
                                struct item *it = item_of(e);
                                popped_total++;
                                only_due &= e->due_ms <= now &&
                                            model_due[it->id] == e->due_ms;
                                order_ok &= e->due_ms >= prev;
                                prev = e->due_ms;
                                only_due &= e->index == TIMER_IDLE;
                                model_due[it->id] = UINT64_MAX;
                        }
                        for (int k = 0; k < N; k++)
                                all_due &= model_due[k] == UINT64_MAX ||
                                           model_due[k] > now;
                }
                if (op % 1000 == 0)
                        consistent &= check_consistent(&h);
        }
        consistent &= check_consistent(&h);
        CHECK(consistent);
        CHECK(order_ok);
        CHECK(only_due);
        CHECK(all_due);
        CHECK(popped_total > 10000);

        /* drain: everything comes out in order */
        uint64_t prev = 0;
        size_t left = h.len, drained = 0;
        struct timer_entry *e;
        int drain_order = 1;
        while ((e = timer_pop_due(&h, UINT64_MAX)) != NULL) {
                drain_order &= e->due_ms >= prev;
                prev = e->due_ms;
                model_due[item_of(e)->id] = UINT64_MAX;
                drained++;
        }
        CHECK(drain_order);
        CHECK_UINT_EQ(drained, left);
        CHECK(check_consistent(&h));
        timer_heap_destroy(&h);
}

/* Every entry armed, then cancelled in random order: the heap stays
 * ordered when holes are filled from the end. */
static void test_cancel_everything(void)
{
        struct timer_heap h;
        timer_heap_init(&h);
        for (int i = 0; i < N; i++) {
                timer_entry_init(&items[i].timer);
                model_due[i] = rnd(1000);
                timer_arm(&h, &items[i].timer, model_due[i]);
        }
        int *perm = malloc(N * sizeof(*perm));
        for (int i = 0; i < N; i++)
                perm[i] = i;
        for (int i = N - 1; i > 0; i--) {
                int j = (int)rnd((uint64_t)i + 1), t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
        }
        int ok = 1;
        for (int k = 0; k < N; k++) {
                timer_cancel(&h, &items[perm[k]].timer);
                model_due[perm[k]] = UINT64_MAX;
                if (k % 500 == 0)
                        ok &= check_consistent(&h);
        }
        CHECK(ok);
        CHECK_UINT_EQ(h.len, 0);
        free(perm);
        timer_heap_destroy(&h);
}

static void test_clock(void)
{
        uint64_t a = timer_now_ms();
        uint64_t b = timer_now_ms();
        CHECK(a > 0);
        CHECK(b >= a);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        uint64_t c = timer_now_ms();
        CHECK(c >= b + 19 && c < b + 5000);
}

int main(void)
{
        test_basics();
        test_random();
        test_cancel_everything();
        test_clock();
        CHECK_DONE();
}
