/*
 * sim_calls: per-customer call log, see sim_calls.h.
 */
#include "sim_calls.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sim_map.h"

struct call_list {
        char **items;           /* NUL-terminated JSON texts */
        size_t n;
        size_t cap;
};

struct sim_calls {
        pthread_mutex_t lock;
        struct sim_map *by_key;         /* key -> struct call_list * */
        size_t max;
        size_t entries;
        unsigned long long dropped;
};

static void call_list_free(void *p)
{
        struct call_list *l = p;
        size_t i;

        if (!l)
                return;
        for (i = 0; i < l->n; i++)
                free(l->items[i]);
        free(l->items);
        free(l);
}

struct sim_calls *sim_calls_create(size_t max)
{
        struct sim_calls *c = calloc(1, sizeof(*c));

        if (!c)
                return NULL;
        pthread_mutex_init(&c->lock, NULL);
        c->max = max;
        c->by_key = sim_map_create();
        if (!c->by_key) {
                sim_calls_destroy(c);
                return NULL;
        }
        return c;
}

void sim_calls_destroy(struct sim_calls *c)
{
        if (!c)
                return;
        sim_map_destroy(c->by_key, call_list_free);
        pthread_mutex_destroy(&c->lock);
        free(c);
}

void sim_calls_record(struct sim_calls *c, const char *key, const char *json,
                      size_t len)
{
        struct call_list *l;
        char *copy;

        if (c->max == 0)
                return;
        copy = malloc(len + 1);         /* outside the lock */
        if (!copy)
                return;
        memcpy(copy, json, len);
        copy[len] = '\0';
        pthread_mutex_lock(&c->lock);
        if (c->entries >= c->max)
                goto drop;
        l = sim_map_get(c->by_key, key);
        if (!l) {
                l = calloc(1, sizeof(*l));
                if (!l)
                        goto drop;
                if (sim_map_put(c->by_key, key, l) != 0) {
                        free(l);
                        goto drop;
                }
        }
        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 4;
                char **items = realloc(l->items, cap * sizeof(*items));

                if (!items)
                        goto drop;
                l->items = items;
                l->cap = cap;
        }
        l->items[l->n++] = copy;
        c->entries++;
        pthread_mutex_unlock(&c->lock);
        return;
drop:
        c->dropped++;
        pthread_mutex_unlock(&c->lock);
        free(copy);
}

void sim_calls_reset(struct sim_calls *c)
{
        pthread_mutex_lock(&c->lock);
        sim_map_clear(c->by_key, call_list_free);
        c->entries = 0;
        c->dropped = 0;
        pthread_mutex_unlock(&c->lock);
}

void sim_calls_render_customer(struct sim_calls *c, const char *key,
                               struct sim_buf *b)
{
        struct call_list *l;
        size_t i;

        sim_buf_puts(b, "{\"customer\":");
        sim_buf_json_str(b, key);
        sim_buf_puts(b, ",\"calls\":[");
        pthread_mutex_lock(&c->lock);
        l = sim_map_get(c->by_key, key);
        for (i = 0; l && i < l->n; i++) {
                if (i)
                        sim_buf_puts(b, ",");
                sim_buf_puts(b, l->items[i]);
        }
        pthread_mutex_unlock(&c->lock);
        sim_buf_puts(b, "]}");
}

struct summary_ctx {
        struct sim_buf *b;
        bool first;
};

static void render_count(const char *key, void *value, void *arg)
{
        struct summary_ctx *sc = arg;
        struct call_list *l = value;

        if (!sc->first)
                sim_buf_puts(sc->b, ",");
        sc->first = false;
        sim_buf_json_str(sc->b, key);
        sim_buf_printf(sc->b, ":%zu", l->n);
}

void sim_calls_render_summary(struct sim_calls *c, struct sim_buf *b)
{
        struct summary_ctx sc = { .b = b, .first = true };

        sim_buf_puts(b, "{\"customers\":{");
        pthread_mutex_lock(&c->lock);
        sim_map_foreach(c->by_key, render_count, &sc);
        sim_buf_printf(b, "},\"entries\":%zu,\"dropped\":%llu,\"max\":%zu}",
                       c->entries, c->dropped, c->max);
        pthread_mutex_unlock(&c->lock);
}
