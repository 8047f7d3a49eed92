/* A Moka dealer account as the bridge uses it: its authentication block,
 * its outage state and probe, its rate limit and its queue of events ready
 * to call Moka. Several dealers share one HTTP layer; a dealer that is out
 * or rate-limited holds only its own events. */
#ifndef MOKA_BRIDGE_DEALER_H
#define MOKA_BRIDGE_DEALER_H

#include <stddef.h>
#include <stdint.h>

#include "moka_request.h"
#include "outage.h"
#include "ratelimit.h"
#include "timer.h"

struct event;
struct http_request;

struct dealer_options {
        const char *name;
        const char *dealer_code;
        const char *username;
        const char *password;
        int rate_limit;
        int rate_burst;
        int outage_threshold;
};

struct dealer {
        char *name;
        struct moka_auth *auth;
        char *probe_body; /* UpdateCustomer with {}: Moka answers it with a
                           * business code and changes nothing */
        size_t probe_len;
        struct ratelimit rate;
        struct timer_entry rate_timer;  /* wakes dispatch for a token */
        struct outage outage;
        uint64_t outage_epoch;          /* outages ended so far */
        struct timer_entry probe_timer;
        struct http_request *probe;     /* the probe in flight */
        struct event *verdict_waiters;  /* wait for the probe's verdict */
        struct event *ready_head, *ready_tail; /* waiting for a slot */
};

/* Returns NULL with a message in errstr. The password is copied into the
 * authentication block only. */
struct dealer *dealer_create(const struct dealer_options *opts, char *errstr,
                             size_t errstr_size);

/* Wipes the secrets and frees; accepts NULL. The caller has cancelled the
 * timers and the probe. */
void dealer_destroy(struct dealer *d);

/* Appends an event to the ready queue (linked through ev->ready_next). */
void dealer_push_ready(struct dealer *d, struct event *ev);
/* Puts an event back at the head of the ready queue. */
void dealer_unshift_ready(struct dealer *d, struct event *ev);
/* Removes and returns the head of the ready queue, or NULL. */
struct event *dealer_pop_ready(struct dealer *d);

#endif
