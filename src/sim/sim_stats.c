/*
 * sim_stats: request counters, see sim_stats.h.
 */
#include "sim_stats.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "sim_map.h"

struct sim_stats {
        atomic_ullong requests[SIM_EP_COUNT];
        atomic_ullong not_found;
        atomic_llong in_flight;
        atomic_llong in_flight_max;     /* since start or the last reset */
        atomic_ullong expect_seen;      /* Moka requests with Expect */
        atomic_ullong unnamed_updates;
        pthread_mutex_t lock;   /* guards the maps */
        struct sim_map *by_result;      /* label -> unsigned long long * */
        struct sim_map *by_fault;
        struct sim_map *by_user_agent;
        struct sim_map *by_content_type;
        struct sim_map *sale_list_by_dealer;
        char *last_content_type;        /* owned; NULL: none seen */
        char *last_accept;
};

static const char *const endpoint_paths[SIM_EP_COUNT] = {
        [SIM_EP_UPDATE_CUSTOMER] = "/DealerCustomer/UpdateCustomer",
        [SIM_EP_SALE_LIST] = "/DealerSale/GetSaleList",
};

const char *sim_endpoint_path(enum sim_endpoint ep)
{
        return endpoint_paths[ep];
}

struct sim_stats *sim_stats_create(void)
{
        struct sim_stats *s = calloc(1, sizeof(*s));

        if (!s)
                return NULL;
        pthread_mutex_init(&s->lock, NULL);
        s->by_result = sim_map_create();
        s->by_fault = sim_map_create();
        s->by_user_agent = sim_map_create();
        s->by_content_type = sim_map_create();
        s->sale_list_by_dealer = sim_map_create();
        if (!s->by_result || !s->by_fault || !s->by_user_agent ||
            !s->by_content_type || !s->sale_list_by_dealer) {
                sim_stats_destroy(s);
                return NULL;
        }
        return s;
}

void sim_stats_destroy(struct sim_stats *s)
{
        if (!s)
                return;
        sim_map_destroy(s->by_result, free);
        sim_map_destroy(s->by_fault, free);
        sim_map_destroy(s->by_user_agent, free);
        sim_map_destroy(s->by_content_type, free);
        sim_map_destroy(s->sale_list_by_dealer, free);
        free(s->last_content_type);
        free(s->last_accept);
        pthread_mutex_destroy(&s->lock);
        free(s);
}

void sim_stats_count_request(struct sim_stats *s, enum sim_endpoint ep)
{
        atomic_fetch_add_explicit(&s->requests[ep], 1, memory_order_relaxed);
}

void sim_stats_count_not_found(struct sim_stats *s)
{
        atomic_fetch_add_explicit(&s->not_found, 1, memory_order_relaxed);
}

/* Caller holds s->lock. */
static void stats_bump_locked(struct sim_map *m, const char *label)
{
        unsigned long long *n = sim_map_get(m, label);
        if (!n) {
                n = calloc(1, sizeof(*n));
                if (n && sim_map_put(m, label, n) != 0) {
                        free(n);
                        n = NULL;
                }
        }
        if (n)
                (*n)++;
}

static void stats_bump(struct sim_stats *s, struct sim_map *m,
                       const char *label)
{
        pthread_mutex_lock(&s->lock);
        stats_bump_locked(m, label);
        pthread_mutex_unlock(&s->lock);
}

/* A client controls these values: their number is capped. */
static void stats_bump_capped(struct sim_map *m, const char *value,
                              size_t cap)
{
        const char *label = value ? value : "(none)";

        if (!sim_map_get(m, label) && sim_map_count(m) >= cap)
                label = "(other)";
        stats_bump_locked(m, label);
}

/*
 * Replaces *last with a copy of value (at most SIM_STATS_HEADER_LAST
 * bytes: a client controls it). On allocation failure the old value
 * stays: a counter is not worth failing a request for.
 */
static void stats_set_last(char **last, const char *value)
{
        char *copy = NULL;
        size_t n;

        /* Clients send the same headers every time: no copy then. */
        if (value && *last && strcmp(*last, value) == 0)
                return;
        if (value) {
                n = strnlen(value, SIM_STATS_HEADER_LAST + 1);
                if (n > SIM_STATS_HEADER_LAST) {
                        /* Cut on a UTF-8 character boundary. */
                        n = SIM_STATS_HEADER_LAST;
                        while (n > 0 &&
                               ((unsigned char)value[n] & 0xc0) == 0x80)
                                n--;
                }
                copy = strndup(value, n);
                if (!copy)
                        return;
        }
        free(*last);
        *last = copy;
}

void sim_stats_count_headers(struct sim_stats *s,
                             const struct sim_req_headers *h)
{
        if (h->expect)
                atomic_fetch_add_explicit(&s->expect_seen, 1,
                                          memory_order_relaxed);
        pthread_mutex_lock(&s->lock);
        stats_bump_capped(s->by_user_agent, h->user_agent,
                          SIM_STATS_HEADER_VALUES);
        stats_bump_capped(s->by_content_type, h->content_type,
                          SIM_STATS_HEADER_VALUES);
        stats_set_last(&s->last_content_type, h->content_type);
        stats_set_last(&s->last_accept, h->accept);
        pthread_mutex_unlock(&s->lock);
}

void sim_stats_count_unnamed_update(struct sim_stats *s)
{
        atomic_fetch_add_explicit(&s->unnamed_updates, 1,
                                  memory_order_relaxed);
}

void sim_stats_count_sale_list_dealer(struct sim_stats *s,
                                      const char *dealer_code)
{
        pthread_mutex_lock(&s->lock);
        stats_bump_capped(s->sale_list_by_dealer, dealer_code,
                          SIM_STATS_DEALER_VALUES);
        pthread_mutex_unlock(&s->lock);
}

void sim_stats_count_result(struct sim_stats *s, const char *label)
{
        stats_bump(s, s->by_result, label);
}

void sim_stats_count_fault(struct sim_stats *s, const char *label)
{
        stats_bump(s, s->by_fault, label);
}

void sim_stats_in_flight_add(struct sim_stats *s, int delta)
{
        long long now = atomic_fetch_add_explicit(&s->in_flight, delta,
                                                  memory_order_relaxed) +
                        delta;
        long long max = atomic_load_explicit(&s->in_flight_max,
                                             memory_order_relaxed);
        /* Kept where the count grows: a reader sampling in_flight misses a
         * peak that lasts less than its interval. */
        while (now > max &&
               !atomic_compare_exchange_weak_explicit(
                       &s->in_flight_max, &max, now, memory_order_relaxed,
                       memory_order_relaxed))
                ;
}

void sim_stats_reset(struct sim_stats *s)
{
        int i;

        for (i = 0; i < SIM_EP_COUNT; i++)
                atomic_store(&s->requests[i], 0);
        atomic_store(&s->not_found, 0);
        atomic_store(&s->expect_seen, 0);
        atomic_store(&s->unnamed_updates, 0);
        atomic_store(&s->in_flight_max, atomic_load(&s->in_flight));
        pthread_mutex_lock(&s->lock);
        sim_map_clear(s->sale_list_by_dealer, free);
        stats_set_last(&s->last_content_type, NULL);
        stats_set_last(&s->last_accept, NULL);
        sim_map_clear(s->by_result, free);
        sim_map_clear(s->by_fault, free);
        sim_map_clear(s->by_user_agent, free);
        sim_map_clear(s->by_content_type, free);
        pthread_mutex_unlock(&s->lock);
}

struct render_ctx {
        struct sim_buf *b;
        bool first;
};

static void render_counter(const char *key, void *value, void *arg)
{
        struct render_ctx *rc = arg;

        if (!rc->first)
                sim_buf_puts(rc->b, ",");
        rc->first = false;
        sim_buf_json_str(rc->b, key);
        sim_buf_printf(rc->b, ":%llu", *(unsigned long long *)value);
}

void sim_stats_render(struct sim_stats *s, struct sim_buf *b,
                      unsigned long long timers_pending)
{
        struct render_ctx rc = { .b = b, .first = true };
        unsigned long long total = 0;
        int i;

        for (i = 0; i < SIM_EP_COUNT; i++)
                total += atomic_load(&s->requests[i]);
        sim_buf_printf(b, "{\"requests_total\":%llu,\"by_endpoint\":{",
                       total);
        for (i = 0; i < SIM_EP_COUNT; i++) {
                sim_buf_printf(b, "%s", i ? "," : "");
                sim_buf_json_str(b, endpoint_paths[i]);
                sim_buf_printf(b, ":%llu", atomic_load(&s->requests[i]));
        }
        sim_buf_puts(b, "},\"by_result\":{");
        pthread_mutex_lock(&s->lock);
        sim_map_foreach(s->by_result, render_counter, &rc);
        sim_buf_puts(b, "},\"faults\":{");
        rc.first = true;
        sim_map_foreach(s->by_fault, render_counter, &rc);
        sim_buf_puts(b, "},\"user_agents\":{");
        rc.first = true;
        sim_map_foreach(s->by_user_agent, render_counter, &rc);
        sim_buf_puts(b, "},\"content_types\":{");
        rc.first = true;
        sim_map_foreach(s->by_content_type, render_counter, &rc);
        sim_buf_puts(b, "},\"sale_list_calls_by_dealer\":{");
        rc.first = true;
        sim_map_foreach(s->sale_list_by_dealer, render_counter, &rc);
        sim_buf_puts(b, "},\"request_headers\":{\"content_type\":");
        sim_buf_json_str(b, s->last_content_type);
        sim_buf_puts(b, ",\"accept\":");
        sim_buf_json_str(b, s->last_accept);
        pthread_mutex_unlock(&s->lock);
        sim_buf_printf(b, ",\"expect_seen\":%llu},"
                       "\"unnamed_customer_updates\":%llu,"
                       "\"not_found\":%llu,\"in_flight\":%lld,"
                       "\"in_flight_max\":%lld,\"timers_pending\":%llu}",
                       atomic_load(&s->expect_seen),
                       atomic_load(&s->unnamed_updates),
                       atomic_load(&s->not_found),
                       atomic_load(&s->in_flight),
                       atomic_load(&s->in_flight_max), timers_pending);
}
