/*
 * sim_calls: the call log. Every Moka request is recorded at arrival,
 * before faults, under its customer key, so tests can check per-customer
 * order and see retries as repeated entries.
 */
#ifndef SIM_CALLS_H
#define SIM_CALLS_H

#include <stddef.h>

#include "sim_buf.h"

/* The key GetSaleList calls are recorded (and fault rules matched) under. */
#define SIM_CALLS_SALE_LIST_KEY "*sale-list*"

struct sim_calls;

/*
 * Creates a log keeping at most max entries in total (over all keys);
 * later calls are counted as dropped. max 0 disables recording.
 */
struct sim_calls *sim_calls_create(size_t max);

/* Accepts NULL. */
void sim_calls_destroy(struct sim_calls *c);

/*
 * Appends one call (json: the request object as received, without the
 * authentication block) under key. Copies both. Any thread.
 */
void sim_calls_record(struct sim_calls *c, const char *key, const char *json,
                      size_t len);

/* Forgets every entry. */
void sim_calls_reset(struct sim_calls *c);

/* {"customer":key,"calls":[...]} */
void sim_calls_render_customer(struct sim_calls *c, const char *key,
                               struct sim_buf *b);

/* {"customers":{key:count,...},"entries":N,"dropped":N,"max":N} */
void sim_calls_render_summary(struct sim_calls *c, struct sim_buf *b);

#endif
