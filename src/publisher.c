#include "publisher.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_conf.h"
#include "log.h"

struct publisher {
        rd_kafka_t *rk;
        rd_kafka_queue_t *main_queue;
        rd_kafka_topic_t *reply_rkt[MOKA_OP_COUNT];
        rd_kafka_topic_t *dlq_rkt[MOKA_OP_COUNT];
        publisher_delivery_cb cb;
        void *cb_arg;
        volatile sig_atomic_t fatal;
};

static void publisher_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                                  void *opaque)
{
        struct publisher *p = opaque;
        p->cb(m->_private, m->err, p->cb_arg);
}

static void publisher_on_error(rd_kafka_t *rk, int err, const char *reason,
                               void *opaque)
{
        struct publisher *p = opaque;
        if (err == RD_KAFKA_RESP_ERR__FATAL) {
                /* Only flag it: the loop stops without committing past the
                 * last acknowledged record. */
                p->fatal = 1;
                char why[512];
                rd_kafka_fatal_error(rk, why, sizeof(why));
                log_error("producer fatal error", "\"error\":%s",
                          log_json_escape(why));
                return;
        }
        log_warn("producer error", "\"code\":%s,\"error\":%s",
                 log_json_escape(rd_kafka_err2name(err)),
                 log_json_escape(reason));
}

/* The settings the delivery guarantee and the reply sizes rest on, read
 * back from the running producer (not from our configuration): what
 * librdkafka actually uses, after defaults, kafka.properties and the
 * forced settings. Only these names: kafka.properties may hold secrets. */
static void publisher_log_settings(rd_kafka_t *rk)
{
        static const char *const names[] = {
                "enable.idempotence", "acks", "compression.codec",
                "max.in.flight.requests.per.connection", "linger.ms",
                "message.max.bytes"};
        const rd_kafka_conf_t *c = rd_kafka_conf(rk);
        char fields[1024];
        size_t off = 0;
        fields[0] = '\0';
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                char v[64];
                size_t n = sizeof(v);
                if (rd_kafka_conf_get(c, names[i], v, &n) !=
                    RD_KAFKA_CONF_OK)
                        snprintf(v, sizeof(v), "?");
                off += (size_t)snprintf(fields + off, sizeof(fields) - off,
                                        "%s\"%s\":%s", i ? "," : "",
                                        names[i], log_json_escape(v));
                if (off >= sizeof(fields))
                        return; /* cannot happen with these names */
        }
        log_info("producer settings", "%s", fields);
}

struct publisher *publisher_create(const struct config *conf,
                                   publisher_delivery_cb cb, void *arg,
                                   int wake_fd, char *errstr,
                                   size_t errstr_size)
{
        static const struct kafka_setting defaults[] = {
                {"linger.ms", "5"},
                /* Checked before compression: let lz4 shrink a large sale
                 * list and the broker judge the compressed size. */
                {"message.max.bytes", "100000000"},
                {"compression.type", "lz4"},
                {"socket.nagle.disable", "true"},
                {"queue.buffering.max.messages", "2000000"},
                {"queue.buffering.max.kbytes", "2097151"},
                {"client.id", "moka-bridge"},
                {NULL, NULL},
        };
        /* The delivery guarantee depends on these. */
        static const struct kafka_setting forced_alo[] = {
                {"enable.idempotence", "true"},
                {"acks", "all"},
                {NULL, NULL},
        };
        /* Exactly-once: a transactional producer (txn.c drives it). */
        const struct kafka_setting forced_eos[] = {
                {"enable.idempotence", "true"},
                {"acks", "all"},
                {"transactional.id", conf->kafka_transactional_id},
                {NULL, NULL},
        };
        const struct kafka_setting *forced =
                conf->exactly_once ? forced_eos : forced_alo;
        struct publisher *p = calloc(1, sizeof(*p));
        if (!p) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        p->cb = cb;
        p->cb_arg = arg;
        rd_kafka_conf_t *kc =
                kafka_conf_build(conf, defaults, forced, errstr, errstr_size);
        if (!kc)
                goto fail;
        rd_kafka_conf_set_opaque(kc, p);
        rd_kafka_conf_set_dr_msg_cb(kc, publisher_on_delivery);
        rd_kafka_conf_set_error_cb(kc, publisher_on_error);
        char err[512];
        p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, err, sizeof(err));
        if (!p->rk) {
                rd_kafka_conf_destroy(kc);
                snprintf(errstr, errstr_size, "producer: %s", err);
                goto fail;
        }
        /* rd_kafka_new() took ownership of kc */
        publisher_log_settings(p->rk);

        const char *reply[MOKA_OP_COUNT] = {conf->topic_customer_update_reply,
                                            conf->topic_sale_list_reply};
        const char *dlq[MOKA_OP_COUNT] = {conf->topic_customer_update_dlq,
                                          conf->topic_sale_list_dlq};
        for (int op = 0; op < MOKA_OP_COUNT; op++) {
                p->reply_rkt[op] = rd_kafka_topic_new(p->rk, reply[op], NULL);
                p->dlq_rkt[op] = rd_kafka_topic_new(p->rk, dlq[op], NULL);
                if (!p->reply_rkt[op] || !p->dlq_rkt[op]) {
                        snprintf(errstr, errstr_size, "producer topic: %s",
                                 rd_kafka_err2str(rd_kafka_last_error()));
                        goto fail;
                }
        }
        p->main_queue = rd_kafka_queue_get_main(p->rk);
        if (wake_fd >= 0)
                rd_kafka_queue_io_event_enable(p->main_queue, wake_fd, "p", 1);
        return p;
fail:
        publisher_destroy(p, 0);
        return NULL;
}

void publisher_destroy(struct publisher *p, int timeout_ms)
{
        if (!p)
                return;
        if (p->rk && timeout_ms > 0)
                rd_kafka_flush(p->rk, timeout_ms);
        if (p->main_queue) {
                rd_kafka_queue_io_event_enable(p->main_queue, -1, NULL, 0);
                rd_kafka_queue_destroy(p->main_queue);
        }
        for (int op = 0; op < MOKA_OP_COUNT; op++) {
                if (p->reply_rkt[op])
                        rd_kafka_topic_destroy(p->reply_rkt[op]);
                if (p->dlq_rkt[op])
                        rd_kafka_topic_destroy(p->dlq_rkt[op]);
        }
        if (p->rk)
                rd_kafka_destroy(p->rk);
        free(p);
}

rd_kafka_resp_err_t publisher_produce(struct publisher *p,
                                      struct event_record *rec)
{
        struct event *ev = rec->ev;
        const struct event_source *in = &ev->src;
        rd_kafka_topic_t *rkt =
                rec->is_dlq ? p->dlq_rkt[ev->op] : p->reply_rkt[ev->op];
        /* librdkafka does not write through a value or key given
         * without RD_KAFKA_MSG_F_FREE/COPY; the casts drop const only */
        void *value = rec->is_dlq ? (void *)in->value : ev->reply_value;
        size_t len = rec->is_dlq ? in->len : ev->reply_len;
        rd_kafka_headers_t *hdrs = rd_kafka_headers_copy(
                rec->is_dlq ? ev->dlq_hdrs : ev->reply_hdrs);

        rd_kafka_resp_err_t err;
        /* An allowed reply-topic header names the topic; librdkafka keeps
         * a handle per name, so this costs a lookup, not a new topic. */
        rd_kafka_topic_t *own = NULL;
        if (!rec->is_dlq && ev->reply_topic_ok) {
                own = rd_kafka_topic_new(p->rk, ev->reply_topic, NULL);
                if (!own) {
                        rd_kafka_headers_destroy(hdrs);
                        return rd_kafka_last_error();
                }
                rkt = own;
        }
        for (int tries = 0;; tries++) {
                /* Flags 0: librdkafka references `value`, which the event
                 * keeps until the delivery report. */
                err = rd_kafka_producev(
                        p->rk, RD_KAFKA_V_RKT(rkt),
                        RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
                        RD_KAFKA_V_MSGFLAGS(0), RD_KAFKA_V_VALUE(value, len),
                        RD_KAFKA_V_KEY((void *)in->key, in->key_len),
                        RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(rec),
                        RD_KAFKA_V_END);
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || tries >= 100)
                        break;
                /* The local queue is bounded far above the pending-event
                 * limit; if it fills anyway, let deliveries drain. */
                rd_kafka_poll(p->rk, 10);
        }
        if (err)
                rd_kafka_headers_destroy(hdrs); /* not taken over */
        if (own)
                rd_kafka_topic_destroy(own);
        return err;
}

rd_kafka_t *publisher_handle(struct publisher *p)
{
        return p->rk;
}

void publisher_poll(struct publisher *p)
{
        rd_kafka_poll(p->rk, 0);
}

int publisher_flush(struct publisher *p, int timeout_ms)
{
        rd_kafka_flush(p->rk, timeout_ms);
        return rd_kafka_outq_len(p->rk);
}

bool publisher_fatal(struct publisher *p, char *reason, size_t reason_size)
{
        if (!p->fatal)
                return false;
        if (reason)
                rd_kafka_fatal_error(p->rk, reason, reason_size);
        return true;
}
