/* A Moka dealer account as the bridge uses it: its authentication block,
 * its two outage state machines and their probe, its rate limit and its
 * queue of events ready to call Moka. Several dealers share one HTTP
 * layer; a dealer that is out or rate-limited holds only its own events.
 *
 * A dealer is out when Moka does not answer it (outage.c: transport
 * failures in a row, a probe decides) or when Moka refuses its credentials
 * (credentials.c: an auth code, a probe decides). Both share one probe in
 * flight per dealer. The dealer decides what happens to the events that
 * wait for a verdict and hands them back to the bridge in a
 * `struct dealer_news`; the bridge answers or re-queues them. */
#ifndef MOKA_BRIDGE_DEALER_H
#define MOKA_BRIDGE_DEALER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "credentials.h"
#include "moka_request.h"
#include "outage.h"
#include "ratelimit.h"
#include "timer.h"

struct event;
struct http;
struct http_request;
struct metrics;
struct moka_transport;

/* What every dealer borrows from the bridge. */
struct dealer_env {
        struct timer_heap *timers;
        struct http *http;
        struct metrics *metrics;
        uint64_t probe_interval_ms;     /* outage.probe_interval_ms */
        enum credentials_probe_mode probe_mode;
};

struct dealer_options {
        const char *name;
        const char *dealer_code;
        const char *username;
        const char *password;
        int rate_limit;
        int rate_burst;
        int outage_threshold;
        uint64_t credentials_verdict_ms; /* outage.credentials_verdict_ms */
};

struct dealer {
        char *name;
        char *dealer_code;
        char *username;
        struct moka_auth *auth;         /* a reference (moka_auth_ref) */
        const struct dealer_env *env;
        char *probe_body;               /* UpdateCustomer naming no
                                         * customer: changes nothing */
        size_t probe_len;
        struct ratelimit rate;
        struct timer_entry rate_timer;  /* wakes dispatch for a token */
        struct outage outage;
        uint64_t outage_epoch;          /* transport outages ended so far */
        struct credentials creds;
        char rejected_code[128];        /* what the refused probe got */
        struct timer_entry probe_timer;
        struct http_request *probe;     /* the probe step in flight */
        enum credentials_probe_step probe_step;
        bool probe_for_credentials;     /* its answer is a verdict */
        uint64_t probe_sent_us;         /* its first step's start */
        struct event *verdict_waiters;  /* transport: wait for a probe */
        struct event *auth_waiters;     /* credentials: wait for a probe */
        struct event *ready_head, *ready_tail; /* waiting for a slot */
};

/* Events a dealer's state change hands back to the bridge, each list
 * linked through ev->verdict_next. */
struct dealer_news {
        bool availability_changed; /* out or back: pause, /readyz */
        struct event *exhaust;     /* Moka answers: their transport
                                    * failures were their own */
        struct event *retry;       /* the dealer is out: retry later,
                                    * unbudgeted */
        struct event *answer;      /* credentials accepted: their own
                                    * ResultCode stands */
};

/* Returns NULL with a message in errstr. The password is copied into the
 * authentication block only. */
struct dealer *dealer_create(const struct dealer_options *opts,
                             const struct dealer_env *env, char *errstr,
                             size_t errstr_size);

/* Cancels the timers and the probe, wipes the secrets and frees; accepts
 * NULL. */
void dealer_destroy(struct dealer *d);

/* Moka takes this dealer's calls: neither out nor refusing it. */
bool dealer_can_call(const struct dealer *d);
bool dealer_out(const struct dealer *d);

/* Appends an event to the ready queue (linked through ev->ready_next). */
void dealer_push_ready(struct dealer *d, struct event *ev);
/* Puts an event back at the head of the ready queue. */
void dealer_unshift_ready(struct dealer *d, struct event *ev);
/* Removes and returns the head of the ready queue, or NULL. */
struct event *dealer_pop_ready(struct dealer *d);
/* Forgets every queued and waiting event (the bridge drops them). */
void dealer_forget_events(struct dealer *d);

/* Every call of an event: what it says about Moka being up. */
void dealer_record_call(struct dealer *d, const struct moka_outcome *o,
                        struct dealer_news *news);

/* An event's call was answered with an auth code (kept in the event's
 * suspect_code/suspect_message). Returns true when the event's own code
 * stands now; otherwise the dealer keeps the event (waiting for a probe)
 * or puts it into news->retry. */
bool dealer_on_auth_code(struct dealer *d, struct event *ev,
                         struct dealer_news *news);

/* An event would give up after transport failures while nothing proved
 * Moka up since its first failure: it waits for a probe's verdict. */
void dealer_await_transport_verdict(struct dealer *d, struct event *ev,
                                    struct dealer_news *news);

/* True when `owner` (an HTTP request's owner) is this dealer's probe. */
bool dealer_owns(const struct dealer *d, const void *owner);
void dealer_on_probe_done(struct dealer *d, const struct moka_transport *t,
                          struct dealer_news *news);

/* A due timer: returns true when it was one of this dealer's. */
bool dealer_on_timer(struct dealer *d, struct timer_entry *te);

/* The dealer's password changed (password_file): new requests use
 * `password`; requests in flight finish with the old one. A dealer whose
 * credentials were refused probes at once. Returns 0, or -1 when out of
 * memory (the old password stays). */
int dealer_set_password(struct dealer *d, const char *password,
                        struct dealer_news *news);

#endif
