#include "bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "backoff.h"
#include "consumer.h"
#include "dealer.h"
#include "event.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "moka_request.h"
#include "moka_response.h"
#include "offsets.h"
#include "outage.h"
#include "publisher.h"
#include "ratelimit.h"
#include "redact.h"
#include "reply.h"
#include "scheduler.h"
#include "timer.h"
#include "exactly_once.h"
#include "partition.h"
#include "password_watch.h"

#define container_of(ptr, type, member)                                       \
        ((type *)((char *)(ptr)-offsetof(type, member)))

/* How many records one loop turn takes from the consumer before it serves
 * HTTP and delivery reports again. */
#define BRIDGE_CONSUME_BATCH 500
/* How long the bridge holds at the pending-event limit before it pauses
 * its partitions (bridge_consume). */
#define BRIDGE_HOLD_MAX_MS 500
/* Longest sleep of an idle loop turn; signals also wake it. */
#define BRIDGE_IDLE_WAIT_MS 100
/* /healthz fails when the loop has not turned for this long. */
#define BRIDGE_STALL_MS 30000
/* A reply rejected as too large below this size was rejected with its
 * batch (librdkafka does not split batches): produce it again instead. */
#define BRIDGE_SMALL_REPLY (64 * 1024)
/* How often the password files are checked for a change. */
#define BRIDGE_PASSWORD_CHECK_MS 2000
/* How often partition high watermarks are read for the lag gauge. */
#define BRIDGE_WATERMARK_EVERY_MS 1000

struct bridge_stats {
        uint64_t consumed;
        uint64_t succeeded;
        uint64_t failed;
        uint64_t retries;
        uint64_t abandoned;
};

struct bridge {
        const struct config *conf;
        struct moka_auth *auth;
        struct http *http;
        struct publisher *pub;
        struct consumer *cons;
        struct metrics *metrics;
        struct admin *admin;
        uint64_t watermarks_at_ms;
        struct scheduler sched;
        struct timer_heap timers;
        struct event *all;               /* every live event */
        struct partition_state *parts;
        size_t pending;                  /* live events */
        size_t pending_high;             /* most live events at once */
        size_t max_pending;
        bool fetch_paused;               /* backpressure */
        uint64_t hold_since_ms; /* at the pending limit, not polling; 0: no */
        bool consumer_paused;            /* what the consumer was told */
        uint64_t repause_at_ms;          /* re-apply a pause after assign */
        struct dealer_env dealer_env;    /* what the dealers borrow */
        struct dealer **dealers;         /* owned; [0] is moka.* */
        size_t dealer_cnt;
        struct dealer *default_dealer;   /* when no moka-dealer header */
        size_t dispatch_rr;              /* round robin over dealers */
        bool outage_paused;              /* every dealer is out */
        struct event *invalid_head, *invalid_tail; /* answer without Moka */
        bool draining;                   /* no new records are taken */
        bool fatal;
        /* exactly-once (kafka.delivery): see docs/exactly-once.md */
        bool eos;
        struct exactly_once xo;
        int wake[2];                     /* self-pipe: signals, librdkafka */
        volatile sig_atomic_t stop;
        volatile sig_atomic_t reload;    /* SIGHUP: re-read password files */
        struct password_watch *passwords;
        uint64_t passwords_checked_ms;
        uint64_t rng;
        struct bridge_stats stats;
};

static void bridge_apply_pause(struct bridge *b);

/* ---- events: life and death ------------------------------------------ */

static void bridge_link_event(struct bridge *b, struct event *ev)
{
        ev->all_prev = NULL;
        ev->all_next = b->all;
        if (b->all)
                b->all->all_prev = ev;
        b->all = ev;
        /* Taken here, not from the gauge once a turn: an overshoot that
         * lasts less than a turn still shows. */
        if (++b->pending > b->pending_high)
                b->pending_high = b->pending;
}

static void bridge_free_event(struct bridge *b, struct event *ev)
{
        if (ev->all_prev)
                ev->all_prev->all_next = ev->all_next;
        else
                b->all = ev->all_next;
        if (ev->all_next)
                ev->all_next->all_prev = ev->all_prev;
        b->pending--;
        timer_cancel(&b->timers, &ev->timer);
        event_destroy(ev);
}

static uint64_t bridge_epoch_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Scrubs the secrets an event's text could carry: the Moka password, the
 * CheckKey and the customer's password. */
static void bridge_scrub(struct bridge *b, struct event *ev, char *text)
{
        const struct moka_auth *a = ev->dealer ? ev->dealer->auth : NULL;
        const struct moka_auth *old = ev->body_auth; /* before a rotation */
        const char *secrets[5] = {a ? a->password : NULL,
                                  a ? a->checkkey : NULL,
                                  ev->customer_password,
                                  old ? old->password : NULL,
                                  old ? old->checkkey : NULL};
        redact_secrets(text, secrets, 5);
}

/* ---- scheduling --------------------------------------------------------- */

#define BRIDGE_CAUSE_MAX 256

/* The event's last failure cause; "" before any. */
static const char *bridge_cause(const struct event *ev)
{
        return ev->last_cause ? ev->last_cause : "";
}

/* Records why this call failed, scrubbed of secrets, for the retry log and
 * the RetriesExhausted message. Only failures that are retried need it, so
 * the buffer is allocated on the first (out of memory: it stays ""). */
static void bridge_note_cause(struct bridge *b, struct event *ev,
                              const struct moka_outcome *o)
{
        if (!ev->last_cause && !(ev->last_cause = malloc(BRIDGE_CAUSE_MAX)))
                return;
        snprintf(ev->last_cause, BRIDGE_CAUSE_MAX, "%s",
                 o->cause[0] ? o->cause
                             : (o->result_code ? o->result_code : ""));
        bridge_scrub(b, ev, ev->last_cause);
}

static void bridge_make_ready(struct bridge *b, struct event *ev)
{
        ev->stage = EVENT_READY;
        ev->ready_next = NULL;
        if (!ev->invalid) {
                dealer_push_ready(ev->dealer, ev);
                return;
        }
        if (b->invalid_tail)
                b->invalid_tail->ready_next = ev;
        else
                b->invalid_head = ev;
        b->invalid_tail = ev;
}

/* The event's key is free for its next event once this one's records are
 * acknowledged (bridge_finish), not merely produced: a record whose delivery
 * fails is produced again by the bridge 1 s later (bridge_on_delivery), and
 * a later event of the key produced meanwhile would be written before it.
 * Releasing on produce answered a key's events out of order after the reply
 * topic refused records for a while (tests/integration/test_faults.py,
 * test_reply_topic_unwritable_then_writable: replies 0..4, 7, 5, 32, 30, ...). */
static void bridge_release_key(struct bridge *b, struct event *ev)
{
        if (!ev->sched.key)
                return;
        struct scheduler_node *next = scheduler_remove(&b->sched, &ev->sched);
        if (next)
                bridge_make_ready(b, container_of(next, struct event, sched));
}

static void bridge_arm_timer(struct bridge *b, struct timer_entry *te,
                             uint64_t delay_ms)
{
        if (timer_arm(&b->timers, te, timer_now_ms() + delay_ms)) {
                log_error("out of memory arming a timer", NULL);
                b->fatal = true;
        }
}

static void bridge_arm(struct bridge *b, struct event *ev, uint64_t delay_ms)
{
        bridge_arm_timer(b, &ev->timer, delay_ms);
}

/* ---- publishing --------------------------------------------------------- */

static void bridge_reply_too_large(struct bridge *b, struct event *ev);

static void bridge_produce(struct bridge *b, struct event_record *rec)
{
        rec->in_flight = true;
        rd_kafka_resp_err_t err = publisher_produce(b->pub, rec);
        if (!err)
                return;
        rec->in_flight = false;
        if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE && !rec->is_dlq) {
                bridge_reply_too_large(b, rec->ev);
                return;
        }
        if (b->eos) {
                /* Its transaction cannot hold all of the event's records:
                 * it is aborted and its events redone. */
                exactly_once_produce_failed(&b->xo, rec, err);
                return;
        }
        log_error("produce failed, will retry",
                  "\"correlation_id\":%s,\"dlq\":%s,\"error\":%s",
                  log_json_escape(rec->ev->correlation_id),
                  rec->is_dlq ? "true" : "false",
                  log_json_escape(rd_kafka_err2str(err)));
        bridge_arm(b, rec->ev, 1000);
}

static void bridge_produce_missing(struct bridge *b, struct event *ev)
{
        struct event_record *recs[2] = {&ev->reply_rec, &ev->dlq_rec};
        for (int i = 0; i < 2; i++)
                if (recs[i]->wanted && !recs[i]->acked && !recs[i]->in_flight)
                        bridge_produce(b, recs[i]);
}

/* Renders the reply (and the DLQ record on failure) into the event. */
static bool bridge_render(struct bridge *b, struct event *ev,
                          const struct reply_outcome *o,
                          const char *error_text)
{
        char when[32];
        reply_format_time((int64_t)bridge_epoch_ms(), when);
        ev->reply_value = reply_render_value(ev, o, when, &ev->reply_len);
        ev->reply_hdrs = reply_render_headers(ev, o);
        ev->reply_rec.wanted = true;
        ev->reply_rec.acked = false;
        ev->pending_deliveries = 1;
        if (!o->success) {
                ev->dlq_hdrs = reply_render_dlq_headers(
                        ev, o, error_text, b->conf->kafka_group_id, when);
                ev->dlq_rec.wanted = true;
                ev->pending_deliveries = 2;
        }
        if (!ev->reply_value) {
                log_error("out of memory rendering a reply", NULL);
                b->fatal = true;
                return false;
        }
        metrics_event_completed(b->metrics, ev->op, o->success,
                                o->result_code);
        if (!o->success)
                metrics_dlq_record(b->metrics, o->dlq_reason);
        if (o->success) {
                b->stats.succeeded++;
                log_debug("event answered",
                          "\"correlation_id\":%s,\"result_code\":\"Success\","
                          "\"attempts\":%d",
                          log_json_escape(ev->correlation_id), o->attempts);
        } else {
                b->stats.failed++;
                log_info("event failed, dead-lettered",
                         "\"correlation_id\":%s,\"result_code\":%s,"
                         "\"reason\":\"%s\",\"attempts\":%d,\"error\":%s",
                         log_json_escape(ev->correlation_id),
                         log_json_escape(o->result_code),
                         reply_dlq_reason_name(o->dlq_reason), o->attempts,
                         log_json_escape(error_text));
        }
        return true;
}

static bool bridge_rerender_too_large(struct bridge *b, struct event *ev);

/* Renders and produces the event's records (at-least-once: the key is
 * freed when they are acknowledged, bridge_finish). In exactly-once mode the records wait for exactly_once_pump,
 * which produces them in offset order inside a transaction (exactly_once.c). */
static void bridge_complete(struct bridge *b, struct event *ev,
                            const struct reply_outcome *o,
                            const char *error_text)
{
        if (!bridge_render(b, ev, o, error_text))
                return;
        ev->stage = EVENT_PUBLISHING;
        if (!b->eos) {
                /* The key is released in bridge_finish, once acknowledged. */
                bridge_produce_missing(b, ev);
                return;
        }
        if (exactly_once_too_large_known(&b->xo, ev) &&
            !bridge_rerender_too_large(b, ev))
                return;
        /* Exactly-once: the pump produces in offset order, so the key's
         * successor may run now. */
        bridge_release_key(b, ev);
}

/* The broker refused the reply as too large even compressed: answer with
 * Bridge.ReplyTooLarge and dead-letter the request instead of retrying a
 * record that can never be written. */
static void bridge_reply_too_large(struct bridge *b, struct event *ev)
{
        if (bridge_rerender_too_large(b, ev))
                bridge_produce_missing(b, ev);
}

/* Renders the Bridge.ReplyTooLarge reply and DLQ record in place of the
 * rendered reply. */
static bool bridge_rerender_too_large(struct bridge *b, struct event *ev)
{
        char msg[256];
        if (ev->sale_count >= 0)
                snprintf(msg, sizeof(msg),
                         "the reply (%zu bytes, %ld sales) exceeds the reply "
                         "topic's maximum message size",
                         ev->reply_len, ev->sale_count);
        else
                snprintf(msg, sizeof(msg),
                         "the reply (%zu bytes) exceeds the reply topic's "
                         "maximum message size",
                         ev->reply_len);
        free(ev->reply_value);
        ev->reply_value = NULL;
        rd_kafka_headers_destroy(ev->reply_hdrs);
        ev->reply_hdrs = NULL;
        struct reply_outcome r = {
                .success = false,
                .result_code = "Bridge.ReplyTooLarge",
                .result_message = msg,
                .attempts = ev->calls,
                .dlq_reason = REPLY_DLQ_MOKA_RESULT,
        };
        return bridge_render(b, ev, &r, msg);
}

static void bridge_complete_invalid(struct bridge *b, struct event *ev)
{
        struct reply_outcome o = {
                .success = false,
                .result_code = ev->invalid_code,
                .result_message = ev->invalid,
                .attempts = 0,
                .dlq_reason = REPLY_DLQ_INVALID_EVENT,
        };
        bridge_complete(b, ev, &o, ev->invalid);
}

/* The event and all its records are done: advance its partition's
 * committable offset and free it. */
static void bridge_finish(struct bridge *b, struct event *ev)
{
        ev->stage = EVENT_DONE;
        bridge_release_key(b, ev); /* acknowledged: the key's next may go */
        struct partition_state *ps = ev->part;
        if (!ev->abandoned && ps && b->cons &&
            offsets_done(&ps->offsets, ev->offset_seq))
                consumer_store_offset(b->cons, ps->store,
                                      ps->offsets.committable);
        bridge_free_event(b, ev);
}

static void bridge_on_delivery(struct event_record *rec,
                               rd_kafka_resp_err_t err, void *arg)
{
        struct bridge *b = arg;
        struct event *ev = rec->ev;
        rec->in_flight = false;
        if (b->eos) {
                exactly_once_on_delivery(&b->xo, rec, err);
                return;
        }
        if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE && !rec->is_dlq &&
            !ev->abandoned && ev->reply_len > BRIDGE_SMALL_REPLY) {
                bridge_reply_too_large(b, ev);
                return;
        }
        if (err) {
                if (publisher_fatal(b->pub, NULL, 0)) {
                        b->fatal = true;
                        return;
                }
                /* Never advance past an unacknowledged record: produce it
                 * again after a pause, for as long as it takes. */
                metrics_delivery_failed(b->metrics);
                log_error("delivery failed, will retry",
                          "\"correlation_id\":%s,\"dlq\":%s,\"error\":%s",
                          log_json_escape(ev->correlation_id),
                          rec->is_dlq ? "true" : "false",
                          log_json_escape(rd_kafka_err2str(err)));
                if (ev->abandoned) {
                        if (--ev->pending_deliveries == 0)
                                bridge_free_event(b, ev);
                        return;
                }
                bridge_arm(b, ev, 1000);
                return;
        }
        rec->acked = true;
        if (--ev->pending_deliveries == 0)
                bridge_finish(b, ev);
}

/* ---- dealers: outages and credentials ------------------------------- */

static struct dealer *bridge_dealer_named(struct bridge *b, const char *name)
{
        for (size_t i = 0; i < b->dealer_cnt; i++)
                if (strcmp(b->dealers[i]->name, name) == 0)
                        return b->dealers[i];
        return NULL;
}

static bool bridge_all_dealers_out(const struct bridge *b)
{
        for (size_t i = 0; i < b->dealer_cnt; i++)
                if (!dealer_out(b->dealers[i]))
                        return false;
        return b->dealer_cnt > 0;
}

/* Partitions pause only when every dealer is out: one dealer's outage
 * holds its own events, and the pending-event limit bounds the rest. */
static void bridge_update_outage_pause(struct bridge *b)
{
        b->outage_paused = bridge_all_dealers_out(b);
        metrics_set_outage(b->metrics, b->outage_paused);
        bridge_apply_pause(b);
}

static void bridge_exhaust(struct bridge *b, struct event *ev,
                           bool out_of_time);
static void bridge_retry_later(struct bridge *b, struct event *ev,
                               uint64_t delay_ms);

/* Answers an event whose ResultCode could have meant bad credentials, now
 * that a probe showed the credentials good. */
static void bridge_complete_own_code(struct bridge *b, struct event *ev)
{
        char err[512];
        snprintf(err, sizeof(err),
                 "Moka answered %s%s%s (the dealer's credentials were "
                 "checked and accepted)",
                 ev->suspect_code,
                 ev->suspect_message && *ev->suspect_message ? ": " : "",
                 ev->suspect_message ? ev->suspect_message : "");
        struct reply_outcome r = {
                .success = false,
                .result_code = ev->suspect_code,
                .result_message = ev->suspect_message,
                .attempts = ev->calls,
                .dlq_reason = REPLY_DLQ_MOKA_RESULT,
        };
        bridge_complete(b, ev, &r, err);
}

/* Carries out what a dealer's state change asks for its events. */
static void bridge_apply_news(struct bridge *b, struct dealer_news *n)
{
        if (n->availability_changed)
                bridge_update_outage_pause(b);
        struct event *ev;
        while ((ev = n->exhaust)) {
                n->exhaust = ev->verdict_next;
                ev->verdict_next = NULL;
                bridge_exhaust(b, ev, false);
        }
        while ((ev = n->retry)) {
                /* Not budgeted; dispatch holds it while the dealer is
                 * out. */
                n->retry = ev->verdict_next;
                ev->verdict_next = NULL;
                bridge_retry_later(b, ev, (uint64_t)b->conf->retry_base_ms);
        }
        while ((ev = n->answer)) {
                n->answer = ev->verdict_next;
                ev->verdict_next = NULL;
                bridge_complete_own_code(b, ev);
        }
}

/* ---- Moka calls --------------------------------------------------------- */

static void bridge_retry_later(struct bridge *b, struct event *ev,
                               uint64_t delay_ms)
{
        ev->stage = EVENT_BACKOFF;
        bridge_arm(b, ev, delay_ms);
}

static void bridge_exhaust(struct bridge *b, struct event *ev,
                           bool out_of_time)
{
        ev->attempts++;
        char msg[512];
        snprintf(msg, sizeof(msg), "gave up after %d attempts%s: %s",
                 ev->attempts,
                 out_of_time ? " (retry.max_elapsed_ms reached)" : "",
                 bridge_cause(ev));
        struct reply_outcome r = {
                .success = false,
                .result_code = "Bridge.RetriesExhausted",
                .result_message = msg,
                .attempts = ev->calls,
                .dlq_reason = REPLY_DLQ_RETRIES_EXHAUSTED,
        };
        bridge_complete(b, ev, &r, msg);
}

static void bridge_on_transient(struct bridge *b, struct event *ev,
                                const struct moka_outcome *o,
                                enum outage_evidence evidence)
{
        const struct config *c = b->conf;
        struct dealer *d = ev->dealer;
        uint64_t now = timer_now_ms();
        if (ev->outage_epoch != d->outage_epoch) {
                /* An outage ended since this event's clock started: the
                 * time it waited was the outage's, not the event's. */
                ev->outage_epoch = d->outage_epoch;
                ev->first_attempt_ms = now;
        }
        if (ev->first_failure_us == 0)
                ev->first_failure_us = now * 1000u;

        uint64_t delay = backoff_delay_ms(c->retry_base_ms, c->retry_cap_ms,
                                          ev->attempts + 1, &b->rng);
        if ((uint64_t)o->retry_after_s * 1000u > delay)
                delay = (uint64_t)o->retry_after_s * 1000u;
        if (dealer_out(d)) {
                /* Not budgeted; dispatch holds it until the outage ends. */
                bridge_retry_later(b, ev, delay);
                return;
        }
        bool out_of_time = c->retry_max_elapsed_ms > 0 &&
                           now - ev->first_attempt_ms + delay >
                                   (uint64_t)c->retry_max_elapsed_ms;
        bool last = ev->attempts + 1 >= c->retry_max_attempts || out_of_time;
        if (last && evidence == OUTAGE_EVIDENCE_DOWN &&
            !outage_up_since(&d->outage, ev->first_failure_us)) {
                /* Giving up needs proof that Moka answers anyone: nothing
                 * did since this event first failed, so a probe decides
                 * whether this is the event's failure or an outage. */
                ev->stage = EVENT_BACKOFF;
                struct dealer_news news = {0};
                dealer_await_transport_verdict(d, ev, &news);
                bridge_apply_news(b, &news);
                return;
        }
        if (last) {
                bridge_exhaust(b, ev, out_of_time);
                return;
        }
        ev->attempts++;
        b->stats.retries++;
        log_debug("retrying",
                  "\"correlation_id\":%s,\"attempt\":%d,"
                  "\"delay_ms\":%" PRIu64 ",\"cause\":%s",
                  log_json_escape(ev->correlation_id), ev->attempts, delay,
                  log_json_escape(bridge_cause(ev)));
        metrics_retry_scheduled(b->metrics, ev->op);
        bridge_retry_later(b, ev, delay);
}

static void bridge_on_outage_error(struct bridge *b, struct event *ev)
{
        ev->outage_attempts++;
        /* Loud at first, then at powers of two: one line per event per
         * doubling, not one per retry. */
        if ((ev->outage_attempts & (ev->outage_attempts - 1)) == 0)
                log_warn("Moka refuses the bridge (auth, TLS or path); "
                         "retrying without spending the event's budget",
                         "\"correlation_id\":%s,\"calls\":%d,\"cause\":%s",
                         log_json_escape(ev->correlation_id), ev->calls,
                         log_json_escape(bridge_cause(ev)));
        int step = ev->outage_attempts < 16 ? ev->outage_attempts : 16;
        bridge_retry_later(b, ev,
                           backoff_delay_ms(b->conf->retry_base_ms,
                                            b->conf->retry_cap_ms, step,
                                            &b->rng));
}

static void bridge_on_http_done(void *owner, const struct moka_transport *t,
                                void *arg)
{
        struct bridge *b = arg;
        struct dealer_news news = {0};
        for (size_t i = 0; i < b->dealer_cnt; i++) {
                if (dealer_owns(b->dealers[i], owner)) {
                        dealer_on_probe_done(b->dealers[i], t, &news);
                        bridge_apply_news(b, &news);
                        return;
                }
        }
        struct event *ev = owner;
        ev->http = NULL;
        ev->calls++;

        struct moka_outcome o;
        moka_classify(t, &o);
        metrics_moka_request(b->metrics, ev->op, o.kind,
                             (double)(timer_now_us() - ev->call_started_us) /
                                     1e6);
        if (o.kind == MOKA_OUTCOME_RETRY || o.kind == MOKA_OUTCOME_OUTAGE)
                bridge_note_cause(b, ev, &o);
        if (o.result_message)
                bridge_scrub(b, ev, o.result_message);
        enum outage_evidence evidence = outage_evidence_of(&o);
        dealer_record_call(ev->dealer, &o, &news);

        switch (o.kind) {
        case MOKA_OUTCOME_SUCCESS: {
                /* o.data_json is redacted already (moka_classify) */
                if (ev->op == MOKA_OP_SALE_LIST && o.data_list_len >= 0)
                        ev->sale_count = o.data_list_len;
                struct reply_outcome r = {
                        .success = true,
                        /* "no sales" keeps Moka's code */
                        .result_code = o.no_sales ? o.result_code
                                                  : "Success",
                        .result_message = o.result_message,
                        .attempts = ev->calls,
                        .data_json = o.data_json,
                        .data_len = o.data_len,
                };
                bridge_complete(b, ev, &r, NULL);
                break;
        }
        case MOKA_OUTCOME_BUSINESS: {
                if (o.credentials_suspect) {
                        /* Kept for the verdict; the outcome gives them up. */
                        free(ev->suspect_code);
                        free(ev->suspect_message);
                        ev->suspect_code = o.result_code;
                        ev->suspect_message = o.result_message;
                        o.result_code = o.result_message = NULL;
                        ev->stage = EVENT_BACKOFF;
                        if (dealer_on_auth_code(ev->dealer, ev, &news))
                                bridge_complete_own_code(b, ev);
                        break;
                }
                char err[512];
                snprintf(err, sizeof(err), "Moka answered %s%s%s",
                         o.result_code,
                         o.result_message && *o.result_message ? ": " : "",
                         o.result_message ? o.result_message : "");
                struct reply_outcome r = {
                        .success = false,
                        .result_code = o.result_code,
                        .result_message = o.result_message,
                        .attempts = ev->calls,
                        .dlq_reason = REPLY_DLQ_MOKA_RESULT,
                };
                bridge_complete(b, ev, &r, err);
                break;
        }
        case MOKA_OUTCOME_RETRY:
                bridge_on_transient(b, ev, &o, evidence);
                break;
        case MOKA_OUTCOME_OUTAGE:
                bridge_on_outage_error(b, ev);
                break;
        }
        moka_outcome_clear(&o);
        bridge_apply_news(b, &news);
}

/* The request body with the dealer's current credentials: built once,
 * and again after a password rotation (a retry then uses the new one). */
static bool bridge_prepare_body(struct event *ev, struct moka_auth *auth)
{
        if (ev->body && ev->body_auth == auth)
                return true;
        if (ev->body_owned) {
                explicit_bzero(ev->body_owned, ev->body_len);
                free(ev->body_owned);
                ev->body_owned = NULL;
        }
        ev->body = NULL;
        moka_auth_destroy(ev->body_auth);
        ev->body_auth = NULL;
        if (ev->op == MOKA_OP_SALE_LIST) {
                ev->body = auth->sale_list_body;
                ev->body_len = auth->sale_list_len;
        } else {
                ev->body_owned = moka_request_customer_update(
                        auth, ev->request_json, ev->request_len,
                        &ev->body_len);
                ev->body = ev->body_owned;
        }
        if (!ev->body)
                return false;
        ev->body_auth = moka_auth_ref(auth);
        return true;
}

/* Starts one ready event of `d`. Returns false when it could not (no
 * token, nothing ready, or the HTTP layer refused). */
static bool bridge_start_one(struct bridge *b, struct dealer *d)
{
        if (!d->ready_head || !dealer_can_call(d))
                return false; /* only the probe calls Moka when it is out */
        uint64_t now_us = timer_now_us();
        if (!ratelimit_take(&d->rate, now_us)) {
                bridge_arm_timer(b, &d->rate_timer,
                                 ratelimit_wait_us(&d->rate, now_us) / 1000u +
                                         1);
                return false;
        }
        struct event *ev = dealer_pop_ready(d);
        if (!bridge_prepare_body(ev, d->auth)) {
                log_error("out of memory building a request", NULL);
                b->fatal = true;
                dealer_unshift_ready(d, ev);
                return false;
        }
        ev->http = http_start(b->http, ev->op, ev->body, ev->body_len, ev);
        if (!ev->http) {
                /* Could not start (out of memory): next turn, same order. */
                dealer_unshift_ready(d, ev);
                return false;
        }
        ev->call_started_us = now_us;
        if (ev->first_attempt_ms == 0)
                ev->first_attempt_ms = now_us / 1000u;
        ev->stage = EVENT_IN_HTTP;
        return true;
}

/* Answers invalid events (no Moka call, no slot), then starts ready events
 * while HTTP slots are free, taking turns among the dealers. */
static void bridge_dispatch(struct bridge *b)
{
        while (b->invalid_head) {
                struct event *ev = b->invalid_head;
                b->invalid_head = ev->ready_next;
                if (!b->invalid_head)
                        b->invalid_tail = NULL;
                ev->ready_next = NULL;
                bridge_complete_invalid(b, ev);
        }
        bool progress = true;
        while (progress && http_has_slot(b->http) && !b->fatal) {
                progress = false;
                for (size_t i = 0; i < b->dealer_cnt && http_has_slot(b->http);
                     i++) {
                        struct dealer *d =
                                b->dealers[(b->dispatch_rr + i) % b->dealer_cnt];
                        if (bridge_start_one(b, d))
                                progress = true;
                }
                b->dispatch_rr++;
        }
}

static void bridge_fire_timers(struct bridge *b)
{
        uint64_t now = timer_now_ms();
        struct timer_entry *te;
        while ((te = timer_pop_due(&b->timers, now))) {
                bool dealer_timer = false;
                for (size_t i = 0; i < b->dealer_cnt && !dealer_timer; i++)
                        dealer_timer = dealer_on_timer(b->dealers[i], te);
                if (dealer_timer)
                        continue;
                struct event *ev = container_of(te, struct event, timer);
                if (ev->stage == EVENT_BACKOFF)
                        bridge_make_ready(b, ev);
                else if (ev->stage == EVENT_PUBLISHING && !b->eos)
                        bridge_produce_missing(b, ev);
        }
}

/* ---- consuming ---------------------------------------------------------- */

static struct partition_state *bridge_partition(struct bridge *b,
                                                enum moka_operation op,
                                                const char *topic,
                                                int32_t partition,
                                                int64_t first_offset)
{
        for (struct partition_state *ps = b->parts; ps; ps = ps->next)
                if (ps->op == op && ps->partition == partition)
                        return ps;
        struct partition_state *ps = calloc(1, sizeof(*ps));
        if (!ps)
                return NULL;
        ps->store = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(ps->store, topic, partition);
        ps->op = op;
        ps->partition = partition;
        /* The first record read since the assignment (or the last
         * rewind) is where the group's committed offset points. */
        ps->rewind_to = first_offset;
        offsets_init(&ps->offsets);
        ps->next = b->parts;
        b->parts = ps;
        return ps;
}

static void bridge_on_message(struct bridge *b, rd_kafka_message_t *msg)
{
        if (msg->err) {
                log_warn("consume error", "\"error\":%s",
                         log_json_escape(rd_kafka_message_errstr(msg)));
                rd_kafka_message_destroy(msg);
                return;
        }
        /* The configuration's names: they outlive the events that borrow
         * them, the message's does not. */
        const char *topic =
                strcmp(rd_kafka_topic_name(msg->rkt),
                       b->conf->topic_customer_update) == 0
                        ? b->conf->topic_customer_update
                        : b->conf->topic_sale_list;
        enum moka_operation op = topic == b->conf->topic_customer_update
                                         ? MOKA_OP_CUSTOMER_UPDATE
                                         : MOKA_OP_SALE_LIST;
        int32_t partition = msg->partition;
        int64_t offset = msg->offset;
        struct partition_state *ps =
                bridge_partition(b, op, topic, partition, offset);
        struct event *ev = ps ? event_create(msg, topic, op,
                                             (size_t)b->conf
                                                     ->limits_max_event_bytes)
                              : NULL;
        if (!ev) {
                if (!ps)
                        rd_kafka_message_destroy(msg);
                /* Not stored, so not committed: it is read again after the
                 * restart this forces. */
                log_error("out of memory taking an event", NULL);
                b->fatal = true;
                return;
        }
        if (offsets_add(&ps->offsets, offset, ev, &ev->offset_seq)) {
                log_warn("record seen twice or out of order, skipped",
                         "\"topic\":%s,\"partition\":%" PRId32
                         ",\"offset\":%" PRId64,
                         log_json_escape(topic), partition, offset);
                event_destroy(ev);
                return;
        }
        ev->dealer = b->default_dealer;
        if (ev->dealer_name) {
                struct dealer *d = bridge_dealer_named(b, ev->dealer_name);
                if (d) {
                        ev->dealer = d;
                } else if (!ev->invalid) {
                        if (asprintf(&ev->invalid,
                                     "header \"moka-dealer\": no dealer "
                                     "named \"%.100s\" is configured",
                                     ev->dealer_name) < 0)
                                ev->invalid = NULL;
                        ev->invalid_code = "Bridge.UnknownDealer";
                }
        }
        if (ev->reply_topic) {
                if (reply_topic_allowed(b->conf->topic_reply_allow,
                                        ev->reply_topic)) {
                        ev->reply_topic_ok = true;
                } else if (!ev->invalid) {
                        if (asprintf(&ev->invalid,
                                     "header \"reply-topic\": topic \"%.200s\" "
                                     "is not in topics.reply_topic_allow",
                                     ev->reply_topic) < 0)
                                ev->invalid = NULL;
                        ev->invalid_code = "Bridge.ReplyTopicNotAllowed";
                }
        }
        ev->part = ps;
        bridge_link_event(b, ev);
        b->stats.consumed++;
        metrics_event_consumed(b->metrics, op);

        if (ev->order_key_len == 0) {
                bridge_make_ready(b, ev);
                return;
        }
        int r = scheduler_enqueue(&b->sched, &ev->sched, ps, ev->order_key,
                                  ev->order_key_len);
        if (r == 1)
                bridge_make_ready(b, ev);
        else if (r == 0)
                ev->stage = EVENT_QUEUED;
        else {
                log_error("out of memory queueing an event", NULL);
                b->fatal = true;
        }
}

/* The consumer is paused while the pending-event limit is reached or Moka
 * is out. */
static void bridge_apply_pause(struct bridge *b)
{
        bool want = b->fetch_paused || b->outage_paused;
        if (want == b->consumer_paused)
                return;
        b->consumer_paused = want;
        consumer_set_paused(b->cons, want);
        log_debug(want ? "fetching paused" : "fetching resumed",
                  "\"pending\":%zu,\"outage\":%s", b->pending,
                  b->outage_paused ? "true" : "false");
}

static void bridge_set_fetch_paused(struct bridge *b, bool paused)
{
        b->fetch_paused = paused;
        bridge_apply_pause(b);
}

/* At the pending-event limit the bridge first holds: it stops taking
 * records, and librdkafka's prefetched queue (bounded by
 * queued.min.messages / queued.max.messages.kbytes) waits for it. Pausing
 * at once, as before, made librdkafka drop that queue and fetch it again
 * on resume, with up to a second without records in between (librdkafka
 * 2.0.2 re-decides fetching only when its broker thread wakes): scenario a
 * of the benchmark ran at ~16,000 instead of ~26,000 events/s. A hold that
 * lasts BRIDGE_HOLD_MAX_MS (a stuck key, a slow Moka) becomes a pause, so
 * that the consumer is polled again: rebalances and errors wait at most
 * that long. */
static void bridge_consume(struct bridge *b, bool *more)
{
        *more = false;
        for (int i = 0; i < BRIDGE_CONSUME_BATCH; i++) {
                if (b->draining || b->stop || b->fatal)
                        return;
                if (b->pending >= b->max_pending && !b->fetch_paused) {
                        uint64_t now = timer_now_ms();
                        if (!b->hold_since_ms)
                                b->hold_since_ms = now;
                        if (now - b->hold_since_ms < BRIDGE_HOLD_MAX_MS)
                                return;
                        b->hold_since_ms = 0;
                        bridge_set_fetch_paused(b, true);
                } else if (b->pending < b->max_pending) {
                        b->hold_since_ms = 0;
                }
                rd_kafka_message_t *msg = consumer_poll(b->cons);
                if (!msg)
                        return;
                bridge_on_message(b, msg);
        }
        *more = true;
}

/* ---- the loop ----------------------------------------------------------- */

static void bridge_drain_wake_pipe(struct bridge *b)
{
        char buf[256];
        while (read(b->wake[0], buf, sizeof(buf)) > 0)
                ;
}

static void bridge_on_watermark(const char *topic, int32_t partition,
                                int64_t high, void *arg)
{
        struct bridge *b = arg;
        if (high >= 0)
                metrics_partition_high_watermark(b->metrics, topic, partition,
                                                 high);
}

static void bridge_update_gauges(struct bridge *b)
{
        uint64_t now = timer_now_ms();
        metrics_loop_alive(b->metrics, now);
        metrics_set_inflight_requests(b->metrics, http_inflight(b->http),
                                      http_inflight_high(b->http));
        metrics_set_pending_events(b->metrics, b->pending, b->pending_high);
        if (now - b->watermarks_at_ms >= BRIDGE_WATERMARK_EVERY_MS) {
                b->watermarks_at_ms = now;
                consumer_foreach_watermark(b->cons, bridge_on_watermark, b);
        }
}

/* ---- secrets ---------------------------------------------------------- */

static int bridge_on_password(const char *dealer, const char *password,
                              void *arg)
{
        struct bridge *b = arg;
        struct dealer *d = bridge_dealer_named(b, dealer);
        if (!d)
                return 0; /* cannot happen: the watch has the same names */
        struct dealer_news news = {0};
        int rc = dealer_set_password(d, password, &news);
        bridge_apply_news(b, &news);
        return rc;
}

/* A changed password file (or SIGHUP): the dealer's new requests use the
 * new password; those in flight finish with the old one. */
static void bridge_check_passwords(struct bridge *b)
{
        uint64_t now = timer_now_ms();
        bool force = b->reload;
        if (!force && now - b->passwords_checked_ms < BRIDGE_PASSWORD_CHECK_MS)
                return;
        b->reload = 0;
        b->passwords_checked_ms = now;
        if (force)
                log_info("SIGHUP: re-reading the password files", NULL);
        password_watch_check(b->passwords, force, bridge_on_password, b);
}

/* One turn: timers, new records (when `consume`), HTTP, delivery reports.
 * Sleeps at most `max_wait_ms` when there is nothing to do. */
static void bridge_step(struct bridge *b, bool consume, int max_wait_ms)
{
        bridge_check_passwords(b);
        bridge_fire_timers(b);
        bool more = false;
        if (consume)
                bridge_consume(b, &more);
        bridge_dispatch(b);

        int wait = more ? 0 : max_wait_ms;
        uint64_t next = timer_next_due(&b->timers);
        if (next != UINT64_MAX) {
                uint64_t now = timer_now_ms();
                uint64_t until = next > now ? next - now : 0;
                if (until < (uint64_t)wait)
                        wait = (int)until;
        }
        if (b->eos) {
                uint64_t until = exactly_once_due_in_ms(&b->xo,
                                                        timer_now_ms());
                if (until < (uint64_t)wait)
                        wait = (int)until;
        }
        if (b->stop && !b->draining)
                wait = 0;
        if (http_wait(b->http, b->wake[0], wait))
                bridge_drain_wake_pipe(b);
        http_perform(b->http, bridge_on_http_done, b);
        bridge_dispatch(b);
        publisher_poll(b->pub);
        if (publisher_fatal(b->pub, NULL, 0))
                b->fatal = true;
        if (b->eos) {
                exactly_once_step(&b->xo, b->draining);
                if (b->xo.fatal)
                        b->fatal = true;
        }
        if (b->fetch_paused && b->pending <= b->max_pending / 2)
                bridge_set_fetch_paused(b, false);
        if (b->repause_at_ms && timer_now_ms() >= b->repause_at_ms) {
                b->repause_at_ms = 0;
                b->consumer_paused = false;
                bridge_apply_pause(b);
        }
        bridge_update_gauges(b);
}

/* Drops an event whose work will be redone by the partition's next owner:
 * nothing of it is committed. */
static void bridge_abandon_event(struct bridge *b, struct event *ev)
{
        ev->abandoned = true;
        ev->part = NULL;
        b->stats.abandoned++;
        if (ev->sched.key)
                scheduler_remove(&b->sched, &ev->sched);
        timer_cancel(&b->timers, &ev->timer);
        if (ev->http) {
                http_abort(b->http, ev->http);
                ev->http = NULL;
        }
        /* Records already handed to the producer finish on their own; the
         * delivery report frees the event. */
        bool producing = ev->reply_rec.in_flight || ev->dlq_rec.in_flight;
        if (!producing)
                bridge_free_event(b, ev);
        else
                ev->pending_deliveries = (ev->reply_rec.in_flight ? 1 : 0) +
                                         (ev->dlq_rec.in_flight ? 1 : 0);
}

static void bridge_drop_partitions(struct bridge *b)
{
        /* Abandon whatever is still pending, then forget the partitions. */
        b->invalid_head = b->invalid_tail = NULL;
        for (size_t i = 0; i < b->dealer_cnt; i++)
                dealer_forget_events(b->dealers[i]);
        struct event *ev = b->all;
        while (ev) {
                struct event *next = ev->all_next;
                if (!ev->abandoned)
                        bridge_abandon_event(b, ev);
                ev = next;
        }
        while (b->parts) {
                struct partition_state *next = b->parts->next;
                offsets_destroy(&b->parts->offsets);
                rd_kafka_topic_partition_list_destroy(b->parts->store);
                free(b->parts);
                b->parts = next;
        }
}

static size_t bridge_live_events(const struct bridge *b)
{
        size_t n = 0;
        for (const struct event *ev = b->all; ev; ev = ev->all_next)
                if (!ev->abandoned)
                        n++;
        return n;
}

/* Finishes every consumed event (retries included) until `deadline_ms`,
 * then abandons what is left, so that only answered events are committed. */
static void bridge_drain(struct bridge *b, uint64_t deadline_ms)
{
        bool was_draining = b->draining;
        b->draining = true;
        size_t at_start = bridge_live_events(b);
        while (!b->fatal && bridge_live_events(b) > 0 &&
               timer_now_ms() < deadline_ms)
                bridge_step(b, false, BRIDGE_IDLE_WAIT_MS);
        size_t left = bridge_live_events(b);
        if (left > 0)
                log_warn("drain deadline passed: abandoning unfinished "
                         "events, their next owner will process them",
                         "\"abandoned\":%zu", left);
        if (b->eos && !b->fatal) {
                /* The last transaction: what is answered by now. */
                exactly_once_pump(&b->xo);
                exactly_once_commit(&b->xo, false);
                if (b->xo.fatal)
                        b->fatal = true;
        }
        bridge_drop_partitions(b);
        uint64_t now = timer_now_ms();
        int flush_ms = deadline_ms > now + 1000 ? (int)(deadline_ms - now)
                                                : 1000;
        publisher_flush(b->pub, flush_ms);
        log_info("drained", "\"events\":%zu,\"abandoned\":%zu", at_start,
                 left);
        b->draining = was_draining;
}

static void bridge_on_assign(const rd_kafka_topic_partition_list_t *parts,
                             void *arg)
{
        struct bridge *b = arg;
        /* Pause state can outlive a rebalance (librdkafka #1849): start
         * from resumed partitions. A pause still wanted (an outage) is
         * re-applied shortly after, not right after assign(), which can
         * lose the assign offset (librdkafka #2190). */
        b->fetch_paused = false;
        b->consumer_paused = false;
        consumer_set_paused(b->cons, false);
        if (b->outage_paused)
                b->repause_at_ms = timer_now_ms() + 500;
        metrics_set_in_group(b->metrics, true);
}

static void bridge_on_commit(const rd_kafka_topic_partition_list_t *offsets,
                             void *arg)
{
        struct bridge *b = arg;
        for (int i = 0; i < offsets->cnt; i++) {
                const rd_kafka_topic_partition_t *p = &offsets->elems[i];
                if (!p->err && p->offset >= 0)
                        metrics_partition_committed(b->metrics, p->topic,
                                                    p->partition, p->offset);
        }
}

static void bridge_on_revoke(const rd_kafka_topic_partition_list_t *parts,
                             void *arg)
{
        struct bridge *b = arg;
        if (b->fatal) {
                bridge_drop_partitions(b);
                return;
        }
        bridge_drain(b, timer_now_ms() +
                                (uint64_t)b->conf->limits_shutdown_timeout_ms);
        metrics_partitions_clear(b->metrics);
}

/* ---- public ------------------------------------------------------------- */

static int bridge_add_dealer(struct bridge *b, const struct dealer_options *o,
                             char *errstr, size_t errstr_size)
{
        struct dealer **list =
                realloc(b->dealers, (b->dealer_cnt + 1) * sizeof(*list));
        if (!list) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        b->dealers = list;
        struct dealer *d = dealer_create(o, &b->dealer_env, errstr,
                                         errstr_size);
        if (!d)
                return -1;
        if (metrics_add_dealer(b->metrics, d->name)) {
                dealer_destroy(d);
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        b->dealers[b->dealer_cnt++] = d;
        return 0;
}

static int bridge_create_dealers(struct bridge *b, char *errstr,
                                 size_t errstr_size)
{
        const struct config *c = b->conf;
        b->dealer_env = (struct dealer_env){
                .timers = &b->timers,
                .metrics = b->metrics,
                .probe_interval_ms = (uint64_t)c->outage_probe_interval_ms,
                .probe_mode = c->outage_credentials_probe_mode,
        };
        for (size_t i = 0; i < c->dealers_cnt; i++) {
                const struct config_dealer *cd = &c->dealers[i];
                struct dealer_options o = {
                        .name = cd->name,
                        .dealer_code = cd->dealer_code,
                        .username = cd->username,
                        .password = cd->password,
                        .rate_limit = cd->rate_limit,
                        .rate_burst = cd->rate_burst,
                        .outage_threshold = c->outage_failure_threshold,
                        .credentials_verdict_ms =
                                (uint64_t)c->outage_credentials_verdict_ms,
                };
                if (bridge_add_dealer(b, &o, errstr, errstr_size))
                        return -1;
        }
        b->default_dealer = c->moka_default_dealer[0]
                                    ? bridge_dealer_named(b,
                                                          c->moka_default_dealer)
                                    : b->dealers[0];
        if (!b->default_dealer) { /* config_load checked it already */
                snprintf(errstr, errstr_size,
                         "moka.default_dealer: no dealer named \"%s\"",
                         c->moka_default_dealer);
                return -1;
        }
        return 0;
}


/* What exactly_once.c asks of the bridge. */
static void bridge_xo_produce_missing(void *arg, struct event *ev)
{
        struct bridge *b = arg;
        bridge_produce_missing(b, ev);
        if (b->fatal) /* out of memory rendering a too-large reply */
                b->xo.fatal = true;
}

static void bridge_xo_drop_all(void *arg)
{
        bridge_drop_partitions(arg);
}

static size_t bridge_xo_live_events(void *arg)
{
        return bridge_live_events(arg);
}

static void bridge_xo_free_event(void *arg, struct event *ev)
{
        bridge_free_event(arg, ev);
}

/* What moka.allow_insecure let through, at every start, so that a test
 * setting carried into production shows in its logs; and the proxy, its
 * credentials masked. */
static void bridge_log_transport(const struct config *conf)
{
        if (!conf->moka_tls_verify || conf->moka_plain_http_remote)
                log_warn("insecure connection to Moka allowed by "
                         "moka.allow_insecure",
                         "\"tls_verify_off\":%s,"
                         "\"plain_http_non_loopback\":%s,\"base_url\":%s",
                         conf->moka_tls_verify ? "false" : "true",
                         conf->moka_plain_http_remote ? "true" : "false",
                         log_json_escape(conf->moka_base_url));
        if (conf->moka_proxy[0]) {
                size_t size = strlen(conf->moka_proxy) + 5;
                char *masked = malloc(size);

                if (masked)
                        config_url_mask(conf->moka_proxy, masked, size);
                log_info("Moka reached through moka.proxy", "\"proxy\":%s",
                         log_json_escape(masked ? masked : "***"));
                free(masked);
        }
}

struct bridge *bridge_create(const struct config *conf, char *errstr,
                             size_t errstr_size)
{
        struct bridge *b = calloc(1, sizeof(*b));
        if (!b) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        b->conf = conf;
        b->wake[0] = b->wake[1] = -1;
        b->max_pending = (size_t)conf->limits_max_pending_events;
        b->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^
                 0x9E3779B97F4A7C15ULL;
        timer_heap_init(&b->timers);
        if (scheduler_init(&b->sched)) {
                snprintf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        if (pipe2(b->wake, O_NONBLOCK | O_CLOEXEC)) {
                snprintf(errstr, errstr_size, "pipe: %s", strerror(errno));
                goto fail;
        }
        b->metrics = metrics_create();
        if (!b->metrics) {
                snprintf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        if (conf->admin_listen[0]) {
                b->admin = admin_create(conf->admin_listen, b->metrics,
                                        BRIDGE_STALL_MS, errstr, errstr_size);
                if (!b->admin)
                        goto fail;
                log_info("admin listener started",
                         "\"listen\":%s,\"port\":%u",
                         log_json_escape(conf->admin_listen),
                         admin_port(b->admin));
        }
        if (bridge_create_dealers(b, errstr, errstr_size))
                goto fail;
        b->passwords = password_watch_create(conf);
        if (!b->passwords) {
                snprintf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        b->passwords_checked_ms = timer_now_ms();
        struct http_options ho = {
                .base_url = conf->moka_base_url,
                .max_inflight = conf->moka_max_inflight_requests,
                .connect_timeout_ms = conf->moka_connect_timeout_ms,
                .request_timeout_ms = conf->moka_request_timeout_ms,
                .tls_verify = conf->moka_tls_verify,
                .ca_file = conf->moka_ca_file,
                .proxy = conf->moka_proxy,
        };
        b->http = http_create(&ho, errstr, errstr_size);
        if (!b->http)
                goto fail;
        b->dealer_env.http = b->http;
        bridge_log_transport(conf);
        b->pub = publisher_create(conf, bridge_on_delivery, b, b->wake[1],
                                  errstr, errstr_size);
        if (!b->pub)
                goto fail;
        b->eos = conf->exactly_once;
        if (b->eos) {
                struct txn_policy pol = {
                        .interval_ms =
                                (uint64_t)conf->kafka_transaction_interval_ms,
                        .max_events = (size_t)conf->kafka_transaction_max_events,
                };
                struct exactly_once_host host = {
                        .produce_missing = bridge_xo_produce_missing,
                        .drop_all = bridge_xo_drop_all,
                        .live_events = bridge_xo_live_events,
                        .free_event = bridge_xo_free_event,
                        .arg = b,
                };
                exactly_once_setup(&b->xo, b->pub, b->metrics, &b->parts,
                                   &host, conf->kafka_transactional_id, &pol);
        }
        struct consumer_hooks hooks = {
                .on_assign = bridge_on_assign,
                .on_revoke = bridge_on_revoke,
                .on_commit = bridge_on_commit,
                .arg = b,
        };
        b->cons = consumer_create(conf, &hooks, b->wake[1], errstr,
                                  errstr_size);
        if (!b->cons)
                goto fail;
        b->xo.cons = b->cons;
        return b;
fail:
        bridge_destroy(b);
        return NULL;
}

void bridge_request_reload(struct bridge *b)
{
        b->reload = 1;
        if (b->wake[1] >= 0) {
                ssize_t r = write(b->wake[1], "r", 1);
                (void)r;
        }
}

void bridge_request_stop(struct bridge *b)
{
        b->stop = 1;
        if (b->wake[1] >= 0) {
                ssize_t r = write(b->wake[1], "s", 1);
                (void)r;
        }
}

/* Says why the bridge stops after a fatal error; a fenced transactional
 * producer gets a line of its own, as an operator must act on it. */
static void bridge_log_fatal(struct bridge *b)
{
        char why[512] = "";
        rd_kafka_resp_err_t code = RD_KAFKA_RESP_ERR_NO_ERROR;
        if (publisher_fatal(b->pub, why, sizeof(why)))
                code = rd_kafka_fatal_error(publisher_handle(b->pub), why,
                                            sizeof(why));
        if (!b->eos) {
                log_error("stopping after a fatal error; nothing past the "
                          "last acknowledged reply is committed",
                          "\"error\":%s", log_json_escape(why));
                return;
        }
        if (!why[0] && b->xo.txn.error[0]) {
                code = b->xo.txn.error_code;
                snprintf(why, sizeof(why), "%s", b->xo.txn.error);
        }
        if (txn_is_fenced(code) || txn_is_fenced(b->xo.txn.error_code))
                log_error("fenced: another producer with this "
                          "transactional.id took over (a second instance "
                          "with the same kafka.transactional_id?); stopping "
                          "without committing, the open transaction is "
                          "aborted by the broker",
                          "\"transactional_id\":%s,\"error\":%s",
                          log_json_escape(b->xo.txn.id), log_json_escape(why));
        else
                log_error("stopping after a fatal error; nothing past the "
                          "last committed transaction is committed",
                          "\"transactional_id\":%s,\"error\":%s",
                          log_json_escape(b->xo.txn.id), log_json_escape(why));
}

int bridge_run(struct bridge *b)
{
        const struct config *c = b->conf;
        log_info("moka-bridge running",
                 "\"version\":\"%s\",\"group_id\":%s,\"inputs\":[%s,%s],"
                 "\"moka\":%s,\"max_inflight_requests\":%d,"
                 "\"delivery\":\"%s\"",
                 MOKA_BRIDGE_VERSION, log_json_escape(c->kafka_group_id),
                 log_json_escape(c->topic_customer_update),
                 log_json_escape(c->topic_sale_list),
                 log_json_escape(c->moka_base_url),
                 c->moka_max_inflight_requests,
                 /* validated: no escaping (log_json_escape has 4 slots) */
                 c->kafka_delivery);
        if (b->eos && exactly_once_init(&b->xo, &b->stop)) {
                if (b->xo.fatal) {
                        b->fatal = true; /* stops below, saying why */
                } else {
                        log_info("moka-bridge stopped before transactions "
                                 "were initialised", NULL);
                        return 0;
                }
        }
        while (!b->stop && !b->fatal)
                bridge_step(b, true, BRIDGE_IDLE_WAIT_MS);

        int rc = 0;
        if (b->fatal) {
                bridge_log_fatal(b);
                bridge_drop_partitions(b);
                rc = 1;
        } else {
                metrics_set_in_group(b->metrics, false);
                log_info("stop requested: finishing in-flight events",
                         "\"pending\":%zu,\"deadline_ms\":%d", b->pending,
                         c->limits_shutdown_timeout_ms);
                bridge_drain(b, timer_now_ms() +
                                        (uint64_t)c->limits_shutdown_timeout_ms);
        }
        consumer_commit(b->cons);
        log_info("moka-bridge stopped",
                 "\"consumed\":%" PRIu64 ",\"succeeded\":%" PRIu64
                 ",\"failed\":%" PRIu64 ",\"retries\":%" PRIu64
                 ",\"abandoned\":%" PRIu64,
                 b->stats.consumed, b->stats.succeeded, b->stats.failed,
                 b->stats.retries, b->stats.abandoned);
        return rc;
}

void bridge_destroy(struct bridge *b)
{
        if (!b)
                return;
        if (b->eos && b->fatal && b->pub) {
                /* A fenced or failed transactional producer may never
                 * report on its records, and the events waiting for those
                 * reports hold consumed messages, which the consumer needs
                 * back before rd_kafka_destroy() can finish. Its
                 * transaction is aborted anyway: destroy it first (it
                 * drops its records), then those events. */
                publisher_destroy(b->pub, 0);
                b->pub = NULL;
                bridge_drop_partitions(b);
                while (b->all)
                        bridge_free_event(b, b->all);
        }
        /* Leaving the group runs the revoke hook, which needs the rest. */
        if (b->cons) {
                consumer_destroy(b->cons);
                b->cons = NULL;
        }
        if (b->pub) {
                publisher_destroy(b->pub, 5000);
                b->pub = NULL;
        }
        /* Whatever the producer did not report on is gone with it. */
        b->fatal = true;
        bridge_drop_partitions(b);
        while (b->all)
                bridge_free_event(b, b->all);
        http_destroy(b->http);
        for (size_t i = 0; i < b->dealer_cnt; i++)
                dealer_destroy(b->dealers[i]);
        free(b->dealers);
        password_watch_destroy(b->passwords);
        admin_destroy(b->admin);
        metrics_destroy(b->metrics);
        scheduler_destroy(&b->sched);
        timer_heap_destroy(&b->timers);
        if (b->wake[0] >= 0)
                close(b->wake[0]);
        if (b->wake[1] >= 0)
                close(b->wake[1]);
        free(b);
}
