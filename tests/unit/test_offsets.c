/* Unit tests of offsets.c: the committable offset advances only over the
 * done prefix of a partition; non-contiguous offsets; ring growth with
 * wrap-around; offsets that go backwards; offsets_foreach_pending; and a
 * randomized comparison with a simple model. */
#include "offsets.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(uint64_t n)
{
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return rng_state % n;
}

/* Owners are addresses inside this array; owner i is &owners[i]. */
static char owners[100000];

struct visit {
        size_t n;
        int ids[4096];
};

static void collect(void *owner, void *arg)
{
        struct visit *v = arg;
        if (v->n < sizeof(v->ids) / sizeof(v->ids[0]))
                v->ids[v->n] = (int)((char *)owner - owners);
        v->n++;
}

static void test_example(void)
{
        struct offsets o;
        offsets_init(&o);
        CHECK_INT_EQ(o.committable, -1);
        CHECK_UINT_EQ(offsets_pending(&o), 0);

        uint64_t seq[4];
        const int64_t offs[4] = {10, 11, 12, 15};
        for (int i = 0; i < 4; i++)
                CHECK_INT_EQ(offsets_add(&o, offs[i], &owners[i], &seq[i]), 0);
        CHECK_UINT_EQ(offsets_pending(&o), 4);
        for (int i = 1; i < 4; i++)
                CHECK_UINT_EQ(seq[i], seq[i - 1] + 1);

        CHECK(!offsets_done(&o, seq[1])); /* 11: 10 still pending */
        CHECK_INT_EQ(o.committable, -1);
        CHECK_UINT_EQ(offsets_pending(&o), 4);

        CHECK(offsets_done(&o, seq[0])); /* 10: 10 and 11 done */
        CHECK_INT_EQ(o.committable, 12);
        CHECK_UINT_EQ(offsets_pending(&o), 2);

        CHECK(!offsets_done(&o, seq[3])); /* 15: 12 still pending */
        CHECK_INT_EQ(o.committable, 12);

        CHECK(offsets_done(&o, seq[2])); /* 12: all done */
        CHECK_INT_EQ(o.committable, 16);
        CHECK_UINT_EQ(offsets_pending(&o), 0);

        /* done twice, or for a sequence never given: no change */
        CHECK(!offsets_done(&o, seq[2]));
        CHECK(!offsets_done(&o, seq[3] + 1));
        CHECK(!offsets_done(&o, seq[3] + 1000));
        CHECK_INT_EQ(o.committable, 16);
        offsets_destroy(&o);
}

static void test_backwards(void)
{
        struct offsets o;
        offsets_init(&o);
        uint64_t s, s2;
        CHECK_INT_EQ(offsets_add(&o, 100, &owners[0], &s), 0);
        CHECK_INT_EQ(offsets_add(&o, 99, &owners[1], &s2), -1);
        CHECK_INT_EQ(offsets_add(&o, 100, &owners[1], &s2), -1);
        CHECK_UINT_EQ(offsets_pending(&o), 1);
        /* a failed add does not disturb the next */
        CHECK_INT_EQ(offsets_add(&o, 105, &owners[1], &s2), 0);
        CHECK_UINT_EQ(s2, s + 1);
        CHECK(offsets_done(&o, s));
        CHECK(offsets_done(&o, s2));
        CHECK_INT_EQ(o.committable, 106);

        /* nothing pending: still not below the committed position */
        CHECK_INT_EQ(offsets_add(&o, 105, &owners[2], &s), -1);
        CHECK_INT_EQ(offsets_add(&o, 50, &owners[2], &s), -1);
        CHECK_UINT_EQ(offsets_pending(&o), 0);
        CHECK_INT_EQ(offsets_add(&o, 106, &owners[2], &s), 0);
        CHECK_UINT_EQ(s, s2 + 1);
        CHECK(offsets_done(&o, s));
        CHECK_INT_EQ(o.committable, 107);

        /* offset 0 is an offset */
        offsets_destroy(&o);
        CHECK_INT_EQ(o.committable, -1);
        CHECK_INT_EQ(offsets_add(&o, 0, &owners[0], &s), 0);
        CHECK(offsets_done(&o, s));
        CHECK_INT_EQ(o.committable, 1);
        offsets_destroy(&o);
}

static void test_non_contiguous(void)
{
        struct offsets o;
        offsets_init(&o);
        const int64_t offs[] = {0, 7, 8, 1000, 1001, 5000000000LL};
        uint64_t seq[6];
        for (int i = 0; i < 6; i++)
                CHECK_INT_EQ(offsets_add(&o, offs[i], &owners[i], &seq[i]), 0);
        CHECK(!offsets_done(&o, seq[2]));
        CHECK(offsets_done(&o, seq[0]));
        CHECK_INT_EQ(o.committable, 1); /* 0 done; 7 pending */
        CHECK(offsets_done(&o, seq[1]));
        CHECK_INT_EQ(o.committable, 9); /* 7, 8 done: commit 9, not 1000 */
        CHECK(!offsets_done(&o, seq[4]));
        CHECK(!offsets_done(&o, seq[5]));
        CHECK_INT_EQ(o.committable, 9);
        CHECK(offsets_done(&o, seq[3]));
        CHECK_INT_EQ(o.committable, 5000000001LL);
        offsets_destroy(&o);
}

static void test_foreach(void)
{
        struct offsets o;
        offsets_init(&o);
        uint64_t seq[6];
        for (int i = 0; i < 6; i++)
                offsets_add(&o, 20 + i, &owners[i], &seq[i]);
        offsets_done(&o, seq[1]);
        offsets_done(&o, seq[3]);
        offsets_done(&o, seq[4]);

        struct visit v = {0};
        offsets_foreach_pending(&o, collect, &v);
        CHECK_UINT_EQ(v.n, 3);
        CHECK(v.ids[0] == 0 && v.ids[1] == 2 && v.ids[2] == 5);

        offsets_done(&o, seq[0]); /* passes 0 and 1 */
        CHECK_INT_EQ(o.committable, 22);
        memset(&v, 0, sizeof(v));
        offsets_foreach_pending(&o, collect, &v);
        CHECK_UINT_EQ(v.n, 2);
        CHECK(v.ids[0] == 2 && v.ids[1] == 5);

        offsets_done(&o, seq[2]);
        offsets_done(&o, seq[5]);
        memset(&v, 0, sizeof(v));
        offsets_foreach_pending(&o, collect, &v);
        CHECK_UINT_EQ(v.n, 0);
        offsets_destroy(&o);

        /* on an empty tracker */
        offsets_init(&o);
        offsets_foreach_pending(&o, collect, &v);
        CHECK_UINT_EQ(v.n, 0);
        offsets_destroy(&o);
}

/* The ring grows past 256 while its live window wraps around the end. */
static void test_growth_wrap(void)
{
        struct offsets o;
        offsets_init(&o);
        enum { FIRST = 200, DONE = 150, MORE = 3000 };
        uint64_t *seq = malloc((FIRST + MORE) * sizeof(*seq));
        int64_t off = 1000;
        int i;
        for (i = 0; i < FIRST; i++)
                CHECK_INT_EQ(offsets_add(&o, off + 2 * i, &owners[i], &seq[i]),
                             0);
        for (i = 0; i < DONE; i++)
                offsets_done(&o, seq[i]);
        CHECK_INT_EQ(o.committable, off + 2 * (DONE - 1) + 1);
        /* the window [150, 200) now wraps once more slots are added */
        int add_ok = 1;
        for (i = FIRST; i < FIRST + MORE; i++)
                add_ok &= offsets_add(&o, off + 2 * i, &owners[i], &seq[i]) ==
                          0;
        CHECK(add_ok);
        CHECK(o.cap >= FIRST + MORE - DONE);
        CHECK_UINT_EQ(offsets_pending(&o), FIRST + MORE - DONE);

        /* all pending owners, oldest first, survived the moves */
        struct visit v = {0};
        offsets_foreach_pending(&o, collect, &v);
        CHECK_UINT_EQ(v.n, FIRST + MORE - DONE);
        int order_ok = 1;
        for (size_t k = 0; k < v.n && k < 4096; k++)
                order_ok &= v.ids[k] == DONE + (int)k;
        CHECK(order_ok);

        /* finish in reverse: nothing moves until the oldest is done */
        int reverse_ok = 1;
        for (i = FIRST + MORE - 1; i > DONE; i--)
                reverse_ok &= !offsets_done(&o, seq[i]);
        CHECK(reverse_ok);
        CHECK_INT_EQ(o.committable, off + 2 * (DONE - 1) + 1);
        CHECK(offsets_done(&o, seq[DONE]));
        CHECK_INT_EQ(o.committable, off + 2 * (FIRST + MORE - 1) + 1);
        CHECK_UINT_EQ(offsets_pending(&o), 0);
        free(seq);
        offsets_destroy(&o);
}

/* Random adds (with gaps) and dones against a model; the window wraps and
 * grows many times. */
static void test_model(void)
{
        enum { OPS = 200000, MAXN = 100000 };
        struct offsets o;
        offsets_init(&o);
        int64_t *off = malloc(MAXN * sizeof(*off));
        uint64_t *seq = malloc(MAXN * sizeof(*seq));
        char *done = calloc(MAXN, 1);
        int *pending = malloc(MAXN * sizeof(*pending));
        int pending_cnt = 0;
        int n = 0, head = 0;
        int64_t next = 0, committable = -1;
        int ok = 1, foreach_ok = 1;

        for (int op = 0; op < OPS; op++) {
                int add = pending_cnt == 0 ||
                          (n < MAXN && (int)rnd(100) < 52);
                if (add && n < MAXN) {
                        next += 1 + (int64_t)rnd(3);
                        ok &= offsets_add(&o, next, &owners[n], &seq[n]) == 0;
                        off[n] = next;
                        pending[pending_cnt++] = n;
                        n++;
                        /* an offset that does not grow is refused */
                        uint64_t dummy;
                        if (rnd(50) == 0)
                                ok &= offsets_add(&o, next - (int64_t)rnd(2),
                                                  &owners[0], &dummy) == -1;
                } else if (pending_cnt > 0) {
                        int pi = (int)rnd((uint64_t)pending_cnt);
                        int i = pending[pi];
                        pending[pi] = pending[--pending_cnt];
                        done[i] = 1;
                        int old_head = head;
                        while (head < n && done[head]) {
                                committable = off[head] + 1;
                                head++;
                        }
                        ok &= offsets_done(&o, seq[i]) == (head != old_head);
                }
                ok &= o.committable == committable;
                ok &= offsets_pending(&o) == (size_t)(n - head);
                if (op % 5000 == 0) {
                        struct visit *v = calloc(1, sizeof(*v));
                        offsets_foreach_pending(&o, collect, v);
                        size_t k = 0;
                        for (int i = head; i < n; i++) {
                                if (done[i])
                                        continue;
                                if (k < 4096)
                                        foreach_ok &= v->ids[k] == i;
                                k++;
                        }
                        foreach_ok &= v->n == k;
                        free(v);
                }
        }
        CHECK(ok);
        CHECK(foreach_ok);
        CHECK(n > 1000);
        free(off);
        free(seq);
        free(done);
        free(pending);
        offsets_destroy(&o);
}

/* Exactly-once walks the head: the oldest pending owner, in order. */
static void test_head_owner(void)
{
        struct offsets o;
        uint64_t seq[3];
        offsets_init(&o);
        CHECK(offsets_head_owner(&o) == NULL);
        for (int i = 0; i < 3; i++)
                CHECK_INT_EQ(offsets_add(&o, 20 + i, &owners[i], &seq[i]), 0);
        CHECK(offsets_head_owner(&o) == &owners[0]);
        CHECK(offsets_done(&o, seq[0]));
        CHECK(offsets_head_owner(&o) == &owners[1]);
        CHECK_INT_EQ(o.committable, 21);
        CHECK(offsets_done(&o, seq[1]));
        CHECK(offsets_done(&o, seq[2]));
        CHECK(offsets_head_owner(&o) == NULL);
        CHECK_INT_EQ(o.committable, 23);
        offsets_destroy(&o);
}

int main(void)
{
        test_head_owner();
        test_example();
        test_backwards();
        test_non_contiguous();
        test_foreach();
        test_growth_wrap();
        test_model();
        CHECK_DONE();
}
