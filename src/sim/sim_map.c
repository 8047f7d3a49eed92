/*
 * sim_map: string-keyed hash map, see sim_map.h.
 */
#include "sim_map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct map_entry {
        struct map_entry *next;
        uint64_t hash;
        void *value;
        char key[];
};

struct sim_map {
        struct map_entry **slots;
        size_t nslots;          /* power of two */
        size_t count;
};

static uint64_t map_hash(const char *key)
{
        uint64_t h = 1469598103934665603ULL;    /* FNV-1a */

        for (; *key; key++) {
                h ^= (unsigned char)*key;
                h *= 1099511628211ULL;
        }
        return h;
}

struct sim_map *sim_map_create(void)
{
        struct sim_map *m = calloc(1, sizeof(*m));

        if (!m)
                return NULL;
        m->nslots = 64;
        m->slots = calloc(m->nslots, sizeof(*m->slots));
        if (!m->slots) {
                free(m);
                return NULL;
        }
        return m;
}

void sim_map_clear(struct sim_map *m, void (*free_value)(void *))
{
        size_t i;

        if (!m)
                return;
        for (i = 0; i < m->nslots; i++) {
                struct map_entry *e = m->slots[i];

                while (e) {
                        struct map_entry *next = e->next;

                        if (free_value)
                                free_value(e->value);
                        free(e);
                        e = next;
                }
                m->slots[i] = NULL;
        }
        m->count = 0;
}

void sim_map_destroy(struct sim_map *m, void (*free_value)(void *))
{
        if (!m)
                return;
        sim_map_clear(m, free_value);
        free(m->slots);
        free(m);
}

static struct map_entry **map_find(const struct sim_map *m, const char *key,
                                   uint64_t hash)
{
        struct map_entry **pe = &m->slots[hash & (m->nslots - 1)];

        for (; *pe; pe = &(*pe)->next)
                if ((*pe)->hash == hash && strcmp((*pe)->key, key) == 0)
                        return pe;
        return pe;
}

void *sim_map_get(const struct sim_map *m, const char *key)
{
        struct map_entry **pe = map_find(m, key, map_hash(key));

        return *pe ? (*pe)->value : NULL;
}

static void map_grow(struct sim_map *m)
{
        size_t nslots = m->nslots * 2;
        struct map_entry **slots = calloc(nslots, sizeof(*slots));
        size_t i;

        if (!slots)
                return;         /* keep working with longer chains */
        for (i = 0; i < m->nslots; i++) {
                struct map_entry *e = m->slots[i];

                while (e) {
                        struct map_entry *next = e->next;
                        size_t j = e->hash & (nslots - 1);

                        e->next = slots[j];
                        slots[j] = e;
                        e = next;
                }
        }
        free(m->slots);
        m->slots = slots;
        m->nslots = nslots;
}

int sim_map_put(struct sim_map *m, const char *key, void *value)
{
        uint64_t hash = map_hash(key);
        struct map_entry **pe = map_find(m, key, hash);
        struct map_entry *e;
        size_t klen;

        if (*pe) {
                (*pe)->value = value;
                return 0;
        }
        klen = strlen(key);
        e = malloc(sizeof(*e) + klen + 1);
        if (!e)
                return -1;
        memcpy(e->key, key, klen + 1);
        e->hash = hash;
        e->value = value;
        e->next = NULL;
        *pe = e;
        m->count++;
        if (m->count > m->nslots)
                map_grow(m);
        return 0;
}

void *sim_map_remove(struct sim_map *m, const char *key)
{
        struct map_entry **pe = map_find(m, key, map_hash(key));
        struct map_entry *e = *pe;
        void *value;

        if (!e)
                return NULL;
        *pe = e->next;
        value = e->value;
        free(e);
        m->count--;
        return value;
}

size_t sim_map_count(const struct sim_map *m)
{
        return m->count;
}

void sim_map_foreach(const struct sim_map *m,
                     void (*fn)(const char *key, void *value, void *arg),
                     void *arg)
{
        size_t i;
        struct map_entry *e;

        for (i = 0; i < m->nslots; i++)
                for (e = m->slots[i]; e; e = e->next)
                        fn(e->key, e->value, arg);
}
