#include "dealer.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "moka_response.h"

/* A probe that could not start (no free HTTP slot) is tried again after
 * this long. */
#define DEALER_PROBE_RETRY_MS 100

/* An UpdateCustomer naming no customer: Moka answers it without a side
 * effect (docs/decisions.md, "Credentials probe"). */
static char *dealer_probe_body(const struct moka_auth *auth, size_t *len)
{
        return moka_request_customer_update(auth, "{}", 2, len);
}

static void dealer_free_probe_body(struct dealer *d)
{
        if (d->probe_body) {
                explicit_bzero(d->probe_body, d->probe_len);
                free(d->probe_body);
        }
        d->probe_body = NULL;
        d->probe_len = 0;
}

struct dealer *dealer_create(const struct dealer_options *opts,
                             const struct dealer_env *env, char *errstr,
                             size_t errstr_size)
{
        struct dealer *d = calloc(1, sizeof(*d));
        if (!d)
                goto oom;
        d->env = env;
        d->name = strdup(opts->name);
        d->dealer_code = strdup(opts->dealer_code);
        d->username = strdup(opts->username);
        d->auth = moka_auth_create(opts->dealer_code, opts->username,
                                   opts->password);
        if (!d->name || !d->dealer_code || !d->username || !d->auth)
                goto oom;
        d->probe_body = dealer_probe_body(d->auth, &d->probe_len);
        if (!d->probe_body)
                goto oom;
        ratelimit_init(&d->rate, opts->rate_limit, opts->rate_burst,
                       timer_now_us());
        outage_init(&d->outage, opts->outage_threshold);
        credentials_init(&d->creds, opts->credentials_verdict_ms * 1000u);
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
        /* The HTTP layer is gone by now, and with it the probe. */
        if (d->env) {
                timer_cancel(d->env->timers, &d->probe_timer);
                timer_cancel(d->env->timers, &d->rate_timer);
        }
        dealer_free_probe_body(d);
        moka_auth_destroy(d->auth);
        free(d->username);
        free(d->dealer_code);
        free(d->name);
        free(d);
}

bool dealer_out(const struct dealer *d)
{
        return outage_active(&d->outage) || credentials_rejected(&d->creds);
}

bool dealer_can_call(const struct dealer *d)
{
        return !dealer_out(d);
}

/* ---- queues ------------------------------------------------------------- */

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

void dealer_forget_events(struct dealer *d)
{
        d->ready_head = d->ready_tail = NULL;
        d->verdict_waiters = NULL;
        d->auth_waiters = NULL;
}

static void dealer_push(struct event **list, struct event *ev)
{
        ev->verdict_next = *list;
        *list = ev;
}

/* Moves a whole waiter list onto a news list. */
static void dealer_move_all(struct event **from, struct event **to)
{
        while (*from) {
                struct event *ev = *from;
                *from = ev->verdict_next;
                dealer_push(to, ev);
        }
}

/* ---- the probe ---------------------------------------------------------- */

static void dealer_arm_probe(struct dealer *d, uint64_t delay_ms)
{
        if (timer_arm(d->env->timers, &d->probe_timer,
                      timer_now_ms() + delay_ms))
                log_error("out of memory arming a probe timer",
                          "\"dealer\":%s", log_json_escape(d->name));
}

static enum moka_operation dealer_probe_op(enum credentials_probe_step s)
{
        return s == CREDENTIALS_STEP_SALE_LIST ? MOKA_OP_SALE_LIST
                                               : MOKA_OP_CUSTOMER_UPDATE;
}

static void dealer_start_probe_step(struct dealer *d)
{
        bool sale_list = d->probe_step == CREDENTIALS_STEP_SALE_LIST;
        d->probe = http_start(d->env->http, dealer_probe_op(d->probe_step),
                              sale_list ? d->auth->sale_list_body
                                        : d->probe_body,
                              sale_list ? d->auth->sale_list_len
                                        : d->probe_len,
                              d);
        if (!d->probe)
                dealer_arm_probe(d, DEALER_PROBE_RETRY_MS);
}

/* Sends a probe when a suspicion or an outage needs one and none is in
 * flight. While the credentials are trusted, probes for them are spaced
 * by outage.credentials_verdict_ms (credentials.h). */
static void dealer_send_probe(struct dealer *d)
{
        if (d->probe)
                return;
        bool creds = d->creds.state != CREDENTIALS_TRUSTED || d->auth_waiters;
        bool transport = d->outage.state != OUTAGE_NONE;
        if (!creds && !transport)
                return;
        uint64_t now = timer_now_us();
        if (!transport) {
                uint64_t wait = credentials_probe_wait_us(&d->creds, now);
                if (wait > 0) {
                        dealer_arm_probe(d, wait / 1000u + 1);
                        return;
                }
        }
        timer_cancel(d->env->timers, &d->probe_timer);
        d->probe_for_credentials = creds;
        d->probe_step = creds ? credentials_first_step(d->env->probe_mode)
                              : CREDENTIALS_STEP_UPDATE;
        d->probe_sent_us = now;
        if (creds)
                credentials_probe_sent(&d->creds, now);
        dealer_start_probe_step(d);
}

/* ---- transport outages -------------------------------------------------- */

static void dealer_outage_change(struct dealer *d, enum outage_change c,
                                 struct dealer_news *news)
{
        switch (c) {
        case OUTAGE_SUSPECTED:
                log_info("Moka suspected down: probing",
                         "\"dealer\":%s,\"failures_in_a_row\":%d",
                         log_json_escape(d->name),
                         d->outage.consecutive_down);
                dealer_send_probe(d);
                break;
        case OUTAGE_STARTED:
                log_warn("Moka outage: holding the dealer's events, probing "
                         "Moka",
                         "\"dealer\":%s,\"failures_in_a_row\":%d,"
                         "\"probe_interval_ms\":%" PRIu64,
                         log_json_escape(d->name),
                         d->outage.consecutive_down,
                         d->env->probe_interval_ms);
                news->availability_changed = true;
                dealer_arm_probe(d, d->env->probe_interval_ms);
                dealer_move_all(&d->verdict_waiters, &news->retry);
                break;
        case OUTAGE_CLEARED:
                dealer_move_all(&d->verdict_waiters, &news->exhaust);
                break;
        case OUTAGE_ENDED:
                log_info("Moka answers again: outage over, resuming",
                         "\"dealer\":%s,\"outage_ms\":%" PRIu64,
                         log_json_escape(d->name),
                         (timer_now_us() - d->outage.active_since_us) /
                                 1000u);
                /* The elapsed-time budgets restart (bridge_on_transient). */
                d->outage_epoch++;
                news->availability_changed = true;
                dealer_move_all(&d->verdict_waiters, &news->exhaust);
                break;
        case OUTAGE_UNCHANGED:
                break;
        }
}

void dealer_record_call(struct dealer *d, const struct moka_outcome *o,
                        struct dealer_news *news)
{
        dealer_outage_change(d,
                             outage_record(&d->outage, outage_evidence_of(o),
                                           timer_now_us()),
                             news);
}

void dealer_await_transport_verdict(struct dealer *d, struct event *ev,
                                    struct dealer_news *news)
{
        dealer_push(&d->verdict_waiters, ev);
        dealer_outage_change(d, outage_suspect(&d->outage), news);
        dealer_send_probe(d);
}

/* ---- credentials -------------------------------------------------------- */

static void dealer_credentials_change(struct dealer *d,
                                      enum credentials_change c,
                                      const char *code,
                                      struct dealer_news *news)
{
        switch (c) {
        case CREDENTIALS_REFUSED:
                snprintf(d->rejected_code, sizeof(d->rejected_code), "%s",
                         code ? code : "");
                log_error("Moka refuses the dealer's credentials: holding "
                          "its events, probing",
                          "\"dealer\":%s,\"result_code\":%s,"
                          "\"probe_interval_ms\":%" PRIu64,
                          log_json_escape(d->name), log_json_escape(code),
                          d->env->probe_interval_ms);
                metrics_set_dealer_credentials_rejected(d->env->metrics,
                                                        d->name, true);
                news->availability_changed = true;
                break;
        case CREDENTIALS_RESTORED:
                log_error("Moka accepts the dealer's credentials again: "
                          "resuming",
                          "\"dealer\":%s,\"result_code\":%s,"
                          "\"rejected_ms\":%" PRIu64,
                          log_json_escape(d->name), log_json_escape(code),
                          (timer_now_us() - d->creds.rejected_since_us) /
                                  1000u);
                metrics_set_dealer_credentials_rejected(d->env->metrics,
                                                        d->name, false);
                /* The elapsed-time budgets restart, as after an outage. */
                d->outage_epoch++;
                news->availability_changed = true;
                break;
        case CREDENTIALS_CLEARED:
                log_info("the dealer's credentials are good: the events' "
                         "own result codes stand",
                         "\"dealer\":%s,\"result_code\":%s",
                         log_json_escape(d->name), log_json_escape(code));
                break;
        case CREDENTIALS_SUSPECTED:
        case CREDENTIALS_UNCHANGED:
                break;
        }
}

/* A probe's verdict for the events waiting on the credentials. */
static void dealer_settle_auth_waiters(struct dealer *d,
                                       enum credentials_probe_answer a,
                                       struct dealer_news *news)
{
        if (a == CREDENTIALS_ANSWER_REJECTED) {
                dealer_move_all(&d->auth_waiters, &news->retry);
                return;
        }
        /* Accepted: only failures of calls made before the probe was sent
         * are the events' own; a later one waits for the next probe (the
         * password may have been rotated at Moka in between). */
        struct event **p = &d->auth_waiters;
        while (*p) {
                struct event *ev = *p;
                if (ev->call_started_us <= d->probe_sent_us) {
                        *p = ev->verdict_next;
                        dealer_push(&news->answer, ev);
                } else {
                        p = &ev->verdict_next;
                }
        }
        if (d->auth_waiters)
                d->creds.state = CREDENTIALS_SUSPECT;
}

bool dealer_on_auth_code(struct dealer *d, struct event *ev,
                         struct dealer_news *news)
{
        enum credentials_change c;
        switch (credentials_on_event(&d->creds, ev->call_started_us, &c)) {
        case CREDENTIALS_EVENT_STANDS:
                return true;
        case CREDENTIALS_EVENT_HELD:
                dealer_push(&news->retry, ev);
                return false;
        case CREDENTIALS_EVENT_WAITS:
                break;
        }
        dealer_push(&d->auth_waiters, ev);
        if (c == CREDENTIALS_SUSPECTED)
                log_info("Moka answered an auth code: probing the dealer's "
                         "credentials",
                         "\"dealer\":%s,\"result_code\":%s,"
                         "\"correlation_id\":%s",
                         log_json_escape(d->name),
                         log_json_escape(ev->suspect_code),
                         log_json_escape(ev->correlation_id));
        dealer_send_probe(d);
        return false;
}

void dealer_on_probe_done(struct dealer *d, const struct moka_transport *t,
                          struct dealer_news *news)
{
        d->probe = NULL;
        struct moka_outcome o;
        moka_classify(t, &o);
        enum credentials_probe_step step = d->probe_step;
        metrics_moka_request(d->env->metrics, dealer_probe_op(step), o.kind,
                             0);
        log_debug("probe",
                  "\"dealer\":%s,\"step\":\"%s\",\"answered\":%s,"
                  "\"cause\":%s",
                  log_json_escape(d->name),
                  step == CREDENTIALS_STEP_SALE_LIST ? "sale-list"
                                                     : "customer-update",
                  o.moka_answered ? "true" : "false",
                  log_json_escape(o.cause[0] ? o.cause
                                             : (o.result_code ? o.result_code
                                                              : "")));
        uint64_t now = timer_now_us();
        dealer_outage_change(d,
                             outage_probe_result(&d->outage,
                                                 outage_evidence_of(&o), now),
                             news);
        bool retry_soon = false;
        if (d->probe_for_credentials) {
                enum credentials_probe_answer a = credentials_probe_answer(
                        d->env->probe_mode, step, &o);
                if (a == CREDENTIALS_ANSWER_CONFIRM) {
                        d->probe_step = CREDENTIALS_STEP_SALE_LIST;
                        dealer_start_probe_step(d);
                        moka_outcome_clear(&o);
                        return;
                }
                if (a == CREDENTIALS_ANSWER_NONE) {
                        retry_soon = true; /* no verdict: ask again */
                } else {
                        enum credentials_change c = credentials_on_verdict(
                                &d->creds, a, d->probe_sent_us, now);
                        dealer_credentials_change(d, c, o.result_code, news);
                        dealer_settle_auth_waiters(d, a, news);
                }
        }
        if (dealer_out(d) || retry_soon)
                dealer_arm_probe(d, d->env->probe_interval_ms);
        else if (d->auth_waiters)
                dealer_send_probe(d); /* spaced by the verdict time */
        else
                timer_cancel(d->env->timers, &d->probe_timer);
        moka_outcome_clear(&o);
}

bool dealer_owns(const struct dealer *d, const void *owner)
{
        return owner == d;
}

bool dealer_on_timer(struct dealer *d, struct timer_entry *te)
{
        if (te == &d->probe_timer) {
                dealer_send_probe(d);
                return true;
        }
        return te == &d->rate_timer; /* only wakes the dispatch */
}

int dealer_set_password(struct dealer *d, const char *password,
                        struct dealer_news *news)
{
        struct moka_auth *auth =
                moka_auth_create(d->dealer_code, d->username, password);
        size_t probe_len = 0;
        char *probe_body = auth ? dealer_probe_body(auth, &probe_len) : NULL;
        if (!probe_body) {
                moka_auth_destroy(auth);
                return -1;
        }
        if (d->probe) {
                /* Its answer would be about the old password. */
                http_abort(d->env->http, d->probe);
                d->probe = NULL;
        }
        dealer_free_probe_body(d);
        d->probe_body = probe_body;
        d->probe_len = probe_len;
        moka_auth_destroy(d->auth); /* events still hold theirs */
        d->auth = auth;
        credentials_rotated(&d->creds);
        /* Their calls used the old password: call again with the new. */
        dealer_move_all(&d->auth_waiters, &news->retry);
        if (d->creds.state == CREDENTIALS_SUSPECT)
                d->creds.state = CREDENTIALS_TRUSTED;
        dealer_send_probe(d); /* refused before: ask at once */
        return 0;
}
