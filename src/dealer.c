#include "dealer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "event.h"

struct dealer *dealer_create(const struct dealer_options *opts, char *errstr,
                             size_t errstr_size)
{
        struct dealer *d = calloc(1, sizeof(*d));
        if (!d)
                goto oom;
        d->name = strdup(opts->name);
        d->auth = moka_auth_create(opts->dealer_code, opts->username,
                                   opts->password);
        if (!d->name || !d->auth)
                goto oom;
        /* UpdateCustomer with an empty request: Moka answers it without a
         * side effect */
        d->probe_body = moka_request_customer_update(d->auth, "{}", 2,
                                                     &d->probe_len);
        if (!d->probe_body)
                goto oom;
        ratelimit_init(&d->rate, opts->rate_limit, opts->rate_burst,
                       timer_now_us());
        outage_init(&d->outage, opts->outage_threshold);
        timer_entry_init(&d->rate_timer);
        timer_entry_init(&d->probe_timer);
        return d;
oom:
        dealer_destroy(d);
        snprintf(errstr, errstr_size, "dealer %s: out of memory",
                 opts->name);
        return NULL;
}

void dealer_destroy(struct dealer *d)
{
        if (!d)
                return;
        if (d->probe_body) {
                explicit_bzero(d->probe_body, d->probe_len);
                free(d->probe_body);
        }
        moka_auth_destroy(d->auth);
        free(d->name);
        free(d);
}

void dealer_push_ready(struct dealer *d, struct event *ev)
{
        ev->ready_next = NULL;
        if (d->ready_tail)
                d->ready_tail->ready_next = ev;
        else
                d->ready_head = ev;
        d->ready_tail = ev;
}

void dealer_unshift_ready(struct dealer *d, struct event *ev)
{
        ev->ready_next = d->ready_head;
        d->ready_head = ev;
        if (!d->ready_tail)
                d->ready_tail = ev;
}

struct event *dealer_pop_ready(struct dealer *d)
{
        struct event *ev = d->ready_head;
        if (!ev)
                return NULL;
        d->ready_head = ev->ready_next;
        if (!d->ready_head)
                d->ready_tail = NULL;
        ev->ready_next = NULL;
        return ev;
}
