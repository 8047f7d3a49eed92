/* Unit tests of scheduler.c: per-(scope, key) FIFOs where only the head
 * runs. Fixed cases for the rules, then a randomized comparison with a
 * simple reference model (1,000 keys in 4 scopes, 100,000 operations, the
 * table growing past its initial size). */
#include "scheduler.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"

struct item {
        int id;
        struct scheduler_node node;
};

static struct item *item_of(struct scheduler_node *n)
{
        return n ? (struct item *)((char *)n - offsetof(struct item, node))
                 : NULL;
}

static int id_of(struct scheduler_node *n)
{
        return n ? item_of(n)->id : -1;
}

static uint64_t rng_state = 0x243f6a8885a308d3ULL;
static uint64_t rnd(uint64_t n)
{
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return rng_state % n;
}

static int enq(struct scheduler *s, struct item *it, const void *scope,
               const char *key)
{
        return scheduler_enqueue(s, &it->node, scope, key, strlen(key));
}

static void test_fifo(void)
{
        struct scheduler s;
        CHECK_INT_EQ(scheduler_init(&s), 0);
        int scope_a, scope_b;
        struct item it[8];
        for (int i = 0; i < 8; i++)
                it[i].id = i;

        /* same key, same scope: one at a time, in order */
        CHECK_INT_EQ(enq(&s, &it[0], &scope_a, "cust-1"), 1);
        CHECK_INT_EQ(enq(&s, &it[1], &scope_a, "cust-1"), 0);
        CHECK_INT_EQ(enq(&s, &it[2], &scope_a, "cust-1"), 0);
        CHECK_UINT_EQ(scheduler_key_count(&s), 1);
        /* other keys, and the same key in another scope, run at once */
        CHECK_INT_EQ(enq(&s, &it[3], &scope_a, "cust-2"), 1);
        CHECK_INT_EQ(enq(&s, &it[4], &scope_b, "cust-1"), 1);
        CHECK_INT_EQ(enq(&s, &it[5], &scope_a, "cust-10"), 1);
        CHECK_INT_EQ(enq(&s, &it[6], &scope_a, "cust-"), 1);
        CHECK_UINT_EQ(scheduler_key_count(&s), 5);

        /* removing the head hands over to the next, in FIFO order */
        CHECK_INT_EQ(id_of(scheduler_remove(&s, &it[0].node)), 1);
        CHECK(it[0].node.key == NULL);
        CHECK_INT_EQ(id_of(scheduler_remove(&s, &it[1].node)), 2);
        CHECK_INT_EQ(id_of(scheduler_remove(&s, &it[2].node)), -1);
        CHECK_UINT_EQ(scheduler_key_count(&s), 4);
        /* removing a node that is not queued does nothing */
        CHECK_INT_EQ(id_of(scheduler_remove(&s, &it[2].node)), -1);
        CHECK_UINT_EQ(scheduler_key_count(&s), 4);

        /* the key is free again: a new node runs at once */
        CHECK_INT_EQ(enq(&s, &it[0], &scope_a, "cust-1"), 1);
        CHECK_UINT_EQ(scheduler_key_count(&s), 5);

        for (int i = 0; i < 7; i++)
                if (i != 1 && i != 2)
                        CHECK_INT_EQ(id_of(scheduler_remove(&s, &it[i].node)),
                                     -1);
        CHECK_UINT_EQ(scheduler_key_count(&s), 0);
        scheduler_destroy(&s);
}

static void test_remove_middle_and_tail(void)
{
        struct scheduler s;
        scheduler_init(&s);
        int scope;
        struct item it[8];
        for (int i = 0; i < 8; i++)
                it[i].id = i;
        for (int i = 0; i < 5; i++)
                CHECK_INT_EQ(enq(&s, &it[i], &scope, "k"), i == 0);

        /* middle: no one new runs, order kept */
        CHECK(scheduler_remove(&s, &it[2].node) == NULL);
        /* tail: later appends go after the new tail */
        CHECK(scheduler_remove(&s, &it[4].node) == NULL);
        CHECK_INT_EQ(enq(&s, &it[5], &scope, "k"), 0);
        CHECK_INT_EQ(enq(&s, &it[6], &scope, "k"), 0);
        /* the one after the head */
        CHECK(scheduler_remove(&s, &it[1].node) == NULL);
        CHECK_UINT_EQ(scheduler_key_count(&s), 1);

        /* left: 0 3 5 6 */
        CHECK_INT_EQ(id_of(scheduler_remove(&s, &it[0].node)), 3);
        CHECK_INT_EQ(id_of(scheduler_remove(&s, &it[3].node)), 5);
        /* remove the tail while two are left, then append */
        CHECK(scheduler_remove(&s, &it[6].node) == NULL);
        CHECK_INT_EQ(enq(&s, &it[7], &scope, "k"), 0);
        CHECK_INT_EQ(id_of(scheduler_remove(&s, &it[5].node)), 7);
        CHECK_INT_EQ(id_of(scheduler_remove(&s, &it[7].node)), -1);
        CHECK_UINT_EQ(scheduler_key_count(&s), 0);

        /* a single node that is head and tail */
        CHECK_INT_EQ(enq(&s, &it[0], &scope, "solo"), 1);
        CHECK(scheduler_remove(&s, &it[0].node) == NULL);
        CHECK_INT_EQ(enq(&s, &it[1], &scope, "solo"), 1);
        CHECK(scheduler_remove(&s, &it[1].node) == NULL);
        CHECK_UINT_EQ(scheduler_key_count(&s), 0);
        scheduler_destroy(&s);
}

static void test_key_bytes(void)
{
        struct scheduler s;
        scheduler_init(&s);
        int scope;
        struct item it[8];
        for (int i = 0; i < 8; i++)
                it[i].id = i;

        /* the key is copied: the caller's buffer may change */
        char buf[16] = "C-100";
        CHECK_INT_EQ(scheduler_enqueue(&s, &it[0].node, &scope, buf, 5), 1);
        memcpy(buf, "XXXXX", 5);
        CHECK_INT_EQ(scheduler_enqueue(&s, &it[1].node, &scope, "C-100", 5),
                     0);
        CHECK_INT_EQ(scheduler_enqueue(&s, &it[2].node, &scope, buf, 5), 1);

        /* binary keys: the length counts, NUL bytes included */
        CHECK_INT_EQ(scheduler_enqueue(&s, &it[3].node, &scope, "a\0b", 3), 1);
        CHECK_INT_EQ(scheduler_enqueue(&s, &it[4].node, &scope, "a\0c", 3), 1);
        CHECK_INT_EQ(scheduler_enqueue(&s, &it[5].node, &scope, "a", 1), 1);
        CHECK_INT_EQ(scheduler_enqueue(&s, &it[6].node, &scope, "a\0", 2), 1);
        CHECK_INT_EQ(scheduler_enqueue(&s, &it[7].node, &scope, "a\0b", 3), 0);
        CHECK_UINT_EQ(scheduler_key_count(&s), 6);

        /* destroy detaches the queued nodes */
        scheduler_destroy(&s);
        for (int i = 0; i < 8; i++)
                CHECK(it[i].node.key == NULL);
}

/* 10,000 keys at once: the table grows and every key is still found. */
static void test_growth(void)
{
        enum { K = 10000 };
        struct scheduler s;
        scheduler_init(&s);
        size_t initial = s.bucket_cnt;
        int scope;
        struct item *a = calloc(K, sizeof(*a)), *b = calloc(K, sizeof(*b));
        char key[32];
        int ok_first = 1, ok_second = 1, ok_handover = 1, ok_last = 1;
        for (int i = 0; i < K; i++) {
                a[i].id = i;
                b[i].id = K + i;
                snprintf(key, sizeof(key), "customer-%d", i);
                ok_first &= enq(&s, &a[i], &scope, key) == 1;
        }
        CHECK(ok_first);
        CHECK_UINT_EQ(scheduler_key_count(&s), K);
        CHECK(s.bucket_cnt > initial);
        CHECK(s.bucket_cnt >= K / 2);
        for (int i = 0; i < K; i++) {
                snprintf(key, sizeof(key), "customer-%d", i);
                ok_second &= enq(&s, &b[i], &scope, key) == 0;
        }
        CHECK(ok_second);
        CHECK_UINT_EQ(scheduler_key_count(&s), K);
        for (int i = 0; i < K; i++)
                ok_handover &= scheduler_remove(&s, &a[i].node) == &b[i].node;
        CHECK(ok_handover);
        for (int i = K - 1; i >= 0; i--)
                ok_last &= scheduler_remove(&s, &b[i].node) == NULL;
        CHECK(ok_last);
        CHECK_UINT_EQ(scheduler_key_count(&s), 0);
        scheduler_destroy(&s);
        free(a);
        free(b);
}

/* ---- randomized model test ---------------------------------------------- */

enum { KEYS = 1000, SCOPES = 4, PAIRS = KEYS * SCOPES, NODES = 20000 };

struct fifo {
        int *ids;
        size_t len, cap;
};

static struct fifo model[PAIRS];
static int node_pair[NODES]; /* -1 when not queued */
static int queued[NODES], queued_cnt;
static int free_ids[NODES], free_cnt;
static int scopes[SCOPES];

/* Key k's bytes; some have a NUL byte inside. */
static size_t key_bytes(int k, char *out)
{
        size_t n = (size_t)sprintf(out, "k%d", k);
        if (k % 7 == 0) {
                out[n++] = '\0';
                out[n++] = 'z';
        }
        return n;
}

static void fifo_push(struct fifo *f, int id)
{
        if (f->len == f->cap) {
                f->cap = f->cap ? f->cap * 2 : 4;
                f->ids = realloc(f->ids, f->cap * sizeof(*f->ids));
        }
        f->ids[f->len++] = id;
}

static void fifo_remove(struct fifo *f, int id)
{
        size_t i = 0;
        while (f->ids[i] != id)
                i++;
        memmove(f->ids + i, f->ids + i + 1, (f->len - i - 1) * sizeof(int));
        f->len--;
}

static void test_model(void)
{
        struct scheduler s;
        scheduler_init(&s);
        size_t initial = s.bucket_cnt, max_buckets = s.bucket_cnt;
        struct item *items = calloc(NODES, sizeof(*items));
        for (int i = 0; i < NODES; i++) {
                items[i].id = i;
                node_pair[i] = -1;
                free_ids[i] = NODES - 1 - i;
        }
        free_cnt = NODES;
        queued_cnt = 0;
        size_t live_keys = 0, max_live = 0;
        int enq_ok = 1, rem_ok = 1, count_ok = 1;
        char key[32];

        for (int op = 0; op < 100000; op++) {
                /* grow for the first half, shrink in the second */
                int p_enq = op < 50000 ? 70 : 35;
                if (free_cnt > 0 && (queued_cnt == 0 ||
                                     (int)rnd(100) < p_enq)) {
                        int id = free_ids[--free_cnt];
                        int pair = (int)rnd(PAIRS);
                        int k = pair % KEYS, sc = pair / KEYS;
                        size_t n = key_bytes(k, key);
                        int want = model[pair].len == 0;
                        int got = scheduler_enqueue(&s, &items[id].node,
                                                    &scopes[sc], key, n);
                        memset(key, '#', sizeof(key)); /* copied? */
                        if (got != want) {
                                if (enq_ok)
                                        fprintf(stderr,
                                                "  op %d: enqueue %d on "
                                                "pair %d: got %d want %d\n",
                                                op, id, pair, got, want);
                                enq_ok = 0;
                        }
                        if (want)
                                live_keys++;
                        fifo_push(&model[pair], id);
                        node_pair[id] = pair;
                        queued[queued_cnt++] = id;
                } else {
                        int qi = (int)rnd((uint64_t)queued_cnt);
                        int id = queued[qi];
                        int pair = node_pair[id];
                        struct fifo *f = &model[pair];
                        int want = f->ids[0] == id && f->len > 1 ? f->ids[1]
                                                                 : -1;
                        int got = id_of(
                                scheduler_remove(&s, &items[id].node));
                        if (got != want) {
                                if (rem_ok)
                                        fprintf(stderr,
                                                "  op %d: remove %d: got %d "
                                                "want %d\n",
                                                op, id, got, want);
                                rem_ok = 0;
                        }
                        fifo_remove(f, id);
                        if (f->len == 0)
                                live_keys--;
                        node_pair[id] = -1;
                        int last = queued[--queued_cnt];
                        queued[qi] = last;
                        free_ids[free_cnt++] = id;
                        rem_ok &= items[id].node.key == NULL;
                }
                count_ok &= scheduler_key_count(&s) == live_keys;
                max_live = live_keys > max_live ? live_keys : max_live;
                max_buckets = s.bucket_cnt > max_buckets ? s.bucket_cnt
                                                         : max_buckets;
        }
        CHECK(enq_ok);
        CHECK(rem_ok);
        CHECK(count_ok);
        /* the test did exercise growth */
        CHECK(max_live > initial);
        CHECK(max_buckets > initial);

        /* drain, always removing heads: each hands over to the next */
        int drain_ok = 1;
        for (int pair = 0; pair < PAIRS; pair++) {
                struct fifo *f = &model[pair];
                for (size_t i = 0; i < f->len; i++) {
                        int want = i + 1 < f->len ? f->ids[i + 1] : -1;
                        drain_ok &= id_of(scheduler_remove(
                                            &s, &items[f->ids[i]].node)) ==
                                    want;
                }
                free(f->ids);
                memset(f, 0, sizeof(*f));
        }
        CHECK(drain_ok);
        CHECK_UINT_EQ(scheduler_key_count(&s), 0);
        scheduler_destroy(&s);
        free(items);
}

int main(void)
{
        test_fifo();
        test_remove_middle_and_tail();
        test_key_bytes();
        test_growth();
        test_model();
        CHECK_DONE();
}
