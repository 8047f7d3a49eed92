#include "scheduler.h"

#include <stdlib.h>
#include <string.h>

struct scheduler_key {
        struct scheduler_key *bucket_next;
        uint64_t hash;
        const void *scope;
        struct scheduler_node *head;
        struct scheduler_node *tail;
        size_t len;
        char bytes[]; /* the key */
};

static uint64_t scheduler_hash(const void *scope, const void *key, size_t len)
{
        /* FNV-1a over the key, seeded with the scope pointer. */
        uint64_t h = 1469598103934665603ULL ^ (uint64_t)(uintptr_t)scope;
        const unsigned char *p = key;
        for (size_t i = 0; i < len; i++) {
                h ^= p[i];
                h *= 1099511628211ULL;
        }
        return h;
}

int scheduler_init(struct scheduler *s)
{
        s->bucket_cnt = 1024;
        s->key_cnt = 0;
        s->buckets = calloc(s->bucket_cnt, sizeof(*s->buckets));
        return s->buckets ? 0 : -1;
}

void scheduler_destroy(struct scheduler *s)
{
        for (size_t i = 0; s->buckets && i < s->bucket_cnt; i++) {
                struct scheduler_key *k = s->buckets[i];
                while (k) {
                        struct scheduler_key *next = k->bucket_next;
                        for (struct scheduler_node *n = k->head; n; n = n->next)
                                n->key = NULL;
                        free(k);
                        k = next;
                }
        }
        free(s->buckets);
        memset(s, 0, sizeof(*s));
}

static void scheduler_rehash(struct scheduler *s)
{
        size_t cnt = s->bucket_cnt * 2;
        struct scheduler_key **buckets = calloc(cnt, sizeof(*buckets));
        if (!buckets)
                return; /* keep working with longer chains */
        for (size_t i = 0; i < s->bucket_cnt; i++) {
                struct scheduler_key *k = s->buckets[i];
                while (k) {
                        struct scheduler_key *next = k->bucket_next;
                        size_t b = k->hash & (cnt - 1);
                        k->bucket_next = buckets[b];
                        buckets[b] = k;
                        k = next;
                }
        }
        free(s->buckets);
        s->buckets = buckets;
        s->bucket_cnt = cnt;
}

int scheduler_enqueue(struct scheduler *s, struct scheduler_node *node,
                      const void *scope, const void *key, size_t key_len)
{
        uint64_t h = scheduler_hash(scope, key, key_len);
        struct scheduler_key *k = s->buckets[h & (s->bucket_cnt - 1)];
        while (k && !(k->hash == h && k->scope == scope &&
                      k->len == key_len && memcmp(k->bytes, key, key_len) == 0))
                k = k->bucket_next;

        node->next = NULL;
        if (k) {
                node->key = k;
                k->tail->next = node;
                k->tail = node;
                return 0;
        }

        k = malloc(sizeof(*k) + key_len);
        if (!k)
                return -1;
        k->hash = h;
        k->scope = scope;
        k->len = key_len;
        memcpy(k->bytes, key, key_len);
        k->head = k->tail = node;
        node->key = k;
        size_t b = h & (s->bucket_cnt - 1);
        k->bucket_next = s->buckets[b];
        s->buckets[b] = k;
        if (++s->key_cnt > s->bucket_cnt)
                scheduler_rehash(s);
        return 1;
}

static void scheduler_unlink_key(struct scheduler *s, struct scheduler_key *k)
{
        struct scheduler_key **pp = &s->buckets[k->hash & (s->bucket_cnt - 1)];
        while (*pp != k)
                pp = &(*pp)->bucket_next;
        *pp = k->bucket_next;
        s->key_cnt--;
        free(k);
}

struct scheduler_node *scheduler_remove(struct scheduler *s,
                                        struct scheduler_node *node)
{
        struct scheduler_key *k = node->key;
        if (!k)
                return NULL;
        node->key = NULL;

        if (k->head == node) {
                k->head = node->next;
                node->next = NULL;
                if (!k->head) {
                        scheduler_unlink_key(s, k);
                        return NULL;
                }
                return k->head;
        }
        struct scheduler_node *prev = k->head;
        while (prev->next != node)
                prev = prev->next;
        prev->next = node->next;
        if (k->tail == node)
                k->tail = prev;
        node->next = NULL;
        return NULL;
}

size_t scheduler_key_count(const struct scheduler *s)
{
        return s->key_cnt;
}
