#include "consumer.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafka_conf.h"
#include "log.h"
#include "timer.h"

struct consumer {
        rd_kafka_t *rk;
        rd_kafka_queue_t *queue;
        struct consumer_hooks hooks;
        const char *group_id;
        /* Exactly-once: offsets go into the producer's transactions, the
         * consumer never stores or commits any itself. */
        bool eos;
};

/* One line per run of a topic's partitions in the list, at most
 * CONSUMER_LOG_PER_LINE each: a whole assignment can be longer than a log
 * line, and a list cut short would tell an operator (and test_scaling)
 * less than the bridge owns. */
enum { CONSUMER_LOG_PER_LINE = 100 };

static void consumer_log_partitions(const char *what,
                                    const rd_kafka_topic_partition_list_t *l)
{
        for (int i = 0; i < l->cnt;) {
                const char *topic = l->elems[i].topic;
                char nums[CONSUMER_LOG_PER_LINE * 12 + 1];
                size_t off = 0;
                nums[0] = '\0';
                for (int n = 0; i < l->cnt && n < CONSUMER_LOG_PER_LINE &&
                                strcmp(l->elems[i].topic, topic) == 0;
                     i++, n++)
                        off += (size_t)snprintf(nums + off, sizeof(nums) - off,
                                                "%s%d", n ? "," : "",
                                                (int)l->elems[i].partition);
                log_info(what, "\"topic\":%s,\"partitions\":[%s]",
                         log_json_escape(topic), nums);
        }
}

static void consumer_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                  rd_kafka_topic_partition_list_t *parts,
                                  void *opaque)
{
        struct consumer *c = opaque;
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
                consumer_log_partitions("partitions assigned", parts);
                rd_kafka_assign(rk, parts);
                if (c->hooks.on_assign)
                        c->hooks.on_assign(parts, c->hooks.arg);
                return;
        }
        consumer_log_partitions("partitions revoked", parts);
        if (c->hooks.on_revoke)
                c->hooks.on_revoke(parts, c->hooks.arg);
        consumer_commit(c);
        rd_kafka_assign(rk, NULL);
}

static void consumer_on_commit(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                               rd_kafka_topic_partition_list_t *offsets,
                               void *opaque)
{
        struct consumer *c = opaque;
        if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
                log_warn("commit failed", "\"error\":%s",
                         log_json_escape(rd_kafka_err2str(err)));
        if (offsets && c->hooks.on_commit)
                c->hooks.on_commit(offsets, c->hooks.arg);
}

static void consumer_on_error(rd_kafka_t *rk, int err, const char *reason,
                              void *opaque)
{
        log_warn("consumer error", "\"code\":%s,\"error\":%s",
                 log_json_escape(rd_kafka_err2name(err)),
                 log_json_escape(reason));
}

struct consumer *consumer_create(const struct config *conf,
                                 const struct consumer_hooks *hooks,
                                 int wake_fd, char *errstr,
                                 size_t errstr_size)
{
        static const struct kafka_setting defaults[] = {
                {"auto.offset.reset", "earliest"},
                {"partition.assignment.strategy", "range,roundrobin"},
                {"auto.commit.interval.ms", "1000"},
                {"socket.nagle.disable", "true"},
                /* The prefetch queue. With the high-level consumer both
                 * limits apply to the one queue all partitions share (the
                 * partitions' queues forward to it), whichever is reached
                 * first. When it is full, librdkafka 2.0.2 stops fetching
                 * and decides again only when its broker thread wakes (at
                 * the latest after a second), so the queue must hold more
                 * than a second of work or the bridge starves: 2,000
                 * messages held scenario a of the benchmark to ~16,000
                 * events/s, 30,000 (or 2 MB) lets it run at ~33,000. The
                 * bridge holds at its pending-event limit instead of
                 * pausing (bridge_consume), so this queue is kept, not
                 * dropped and fetched again. Events copy their record out
                 * of the message (event.c), so a waiting event pins no
                 * fetch response. */
                {"queued.min.messages", "30000"},
                {"queued.max.messages.kbytes", "2048"},
                {"fetch.max.bytes", "1048576"},
                {"max.partition.fetch.bytes", "524288"},
                {"client.id", "moka-bridge"},
                {NULL, NULL},
        };
        /* At-least-once depends on storing offsets ourselves. */
        static const struct kafka_setting forced_alo[] = {
                {"enable.auto.offset.store", "false"},
                {"enable.auto.commit", "true"},
                {"enable.partition.eof", "false"},
                {NULL, NULL},
        };
        /* Exactly-once: offsets are committed by the transactions only. */
        static const struct kafka_setting forced_eos[] = {
                {"enable.auto.offset.store", "false"},
                {"enable.auto.commit", "false"},
                {"enable.partition.eof", "false"},
                {NULL, NULL},
        };
        const struct kafka_setting *forced =
                conf->exactly_once ? forced_eos : forced_alo;
        struct consumer *c = calloc(1, sizeof(*c));
        if (!c) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        c->hooks = *hooks;
        c->group_id = conf->kafka_group_id;
        c->eos = conf->exactly_once;
        rd_kafka_conf_t *kc =
                kafka_conf_build(conf, defaults, forced, errstr, errstr_size);
        if (!kc)
                goto fail;
        char err[512];
        if (rd_kafka_conf_set(kc, "group.id", conf->kafka_group_id, err,
                              sizeof(err)) != RD_KAFKA_CONF_OK ||
            (conf->kafka_group_instance_id[0] &&
             rd_kafka_conf_set(kc, "group.instance.id",
                               conf->kafka_group_instance_id, err,
                               sizeof(err)) != RD_KAFKA_CONF_OK)) {
                snprintf(errstr, errstr_size, "kafka.group_id: %s", err);
                rd_kafka_conf_destroy(kc);
                goto fail;
        }
        rd_kafka_conf_set_opaque(kc, c);
        rd_kafka_conf_set_rebalance_cb(kc, consumer_on_rebalance);
        rd_kafka_conf_set_error_cb(kc, consumer_on_error);
        rd_kafka_conf_set_offset_commit_cb(kc, consumer_on_commit);
        c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, err, sizeof(err));
        if (!c->rk) {
                rd_kafka_conf_destroy(kc);
                snprintf(errstr, errstr_size, "consumer: %s", err);
                goto fail;
        }
        /* rd_kafka_new() took ownership of kc */
        rd_kafka_poll_set_consumer(c->rk);
        c->queue = rd_kafka_queue_get_consumer(c->rk);
        if (wake_fd >= 0)
                rd_kafka_queue_io_event_enable(c->queue, wake_fd, "c", 1);

        rd_kafka_topic_partition_list_t *topics =
                rd_kafka_topic_partition_list_new(2);
        rd_kafka_topic_partition_list_add(topics, conf->topic_customer_update,
                                          RD_KAFKA_PARTITION_UA);
        rd_kafka_topic_partition_list_add(topics, conf->topic_sale_list,
                                          RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, topics);
        rd_kafka_topic_partition_list_destroy(topics);
        if (e) {
                snprintf(errstr, errstr_size, "subscribe: %s",
                         rd_kafka_err2str(e));
                goto fail;
        }
        return c;
fail:
        consumer_destroy(c);
        return NULL;
}

void consumer_destroy(struct consumer *c)
{
        if (!c)
                return;
        if (c->queue) {
                rd_kafka_queue_io_event_enable(c->queue, -1, NULL, 0);
                rd_kafka_queue_destroy(c->queue);
        }
        if (c->rk) {
                /* Runs the revoke hook (the bridge has drained by now),
                 * commits and leaves the group. */
                rd_kafka_consumer_close(c->rk);
                rd_kafka_destroy(c->rk);
        }
        free(c);
}

rd_kafka_message_t *consumer_poll(struct consumer *c)
{
        return rd_kafka_consumer_poll(c->rk, 0);
}

void consumer_store_offset(struct consumer *c,
                           rd_kafka_topic_partition_list_t *one,
                           int64_t next_offset)
{
        one->elems[0].offset = next_offset;
        rd_kafka_resp_err_t err = rd_kafka_offsets_store(c->rk, one);
        if (!err)
                err = one->elems[0].err;
        /* ERR__STATE: the partition was just revoked; its next owner
         * re-reads from the last commit, as at-least-once allows. */
        if (err)
                log_debug("offset not stored",
                          "\"topic\":%s,\"partition\":%d,\"error\":%s",
                          log_json_escape(one->elems[0].topic),
                          one->elems[0].partition,
                          log_json_escape(rd_kafka_err2str(err)));
}

void consumer_commit(struct consumer *c)
{
        if (c->eos)
                return; /* the transactions commit the offsets */
        /* Outcome reported through consumer_on_commit */
        rd_kafka_commit(c->rk, NULL, 0);
}

rd_kafka_consumer_group_metadata_t *
consumer_group_metadata(struct consumer *c)
{
        return rd_kafka_consumer_group_metadata(c->rk);
}

int consumer_seek(struct consumer *c, rd_kafka_topic_partition_list_t *parts,
                  int timeout_ms)
{
        if (parts->cnt == 0)
                return 0;
        /* A seek can come back at once with "Operation in progress" or an
         * early "Timed out waiting for ... seek(s)" when the partition is
         * still settling an earlier seek (two aborts in a row, seen under
         * load in test_exactly_once): seeking to the same offsets again is
         * harmless, so it is retried until the deadline. */
        uint64_t deadline = timer_now_ms() + (uint64_t)timeout_ms;
        for (int attempt = 1;; attempt++) {
                uint64_t now = timer_now_ms();
                int left = now < deadline ? (int)(deadline - now) : 1;
                rd_kafka_error_t *error =
                        rd_kafka_seek_partitions(c->rk, parts, left);
                char why[256] = "";
                if (error) {
                        snprintf(why, sizeof(why), "%s",
                                 rd_kafka_error_string(error));
                        rd_kafka_error_destroy(error);
                }
                const rd_kafka_topic_partition_t *bad = NULL;
                for (int i = 0; i < parts->cnt; i++)
                        if (parts->elems[i].err)
                                bad = &parts->elems[i];
                if (!why[0] && !bad)
                        return 0;
                bool last = timer_now_ms() + 100 >= deadline;
                if (bad)
                        log_write(last ? LOG_ERROR : LOG_WARN, "seek failed",
                                "\"topic\":%s,\"partition\":%d,"
                                "\"offset\":%lld,\"error\":%s,"
                                "\"attempt\":%d,\"retrying\":%s",
                                log_json_escape(bad->topic), bad->partition,
                                (long long)bad->offset,
                                log_json_escape(rd_kafka_err2str(bad->err)),
                                attempt, last ? "false" : "true");
                else
                        log_write(last ? LOG_ERROR : LOG_WARN, "seek failed",
                                "\"error\":%s,\"attempt\":%d,"
                                "\"retrying\":%s",
                                log_json_escape(why), attempt,
                                last ? "false" : "true");
                if (last)
                        return -1;
                for (int i = 0; i < parts->cnt; i++)
                        parts->elems[i].err = RD_KAFKA_RESP_ERR_NO_ERROR;
                struct timespec pause = {.tv_nsec = 100 * 1000 * 1000};
                nanosleep(&pause, NULL);
        }
}

void consumer_foreach_watermark(struct consumer *c,
                                void (*fn)(const char *topic,
                                           int32_t partition, int64_t high,
                                           void *arg),
                                void *arg)
{
        rd_kafka_topic_partition_list_t *parts = NULL;
        if (rd_kafka_assignment(c->rk, &parts) || !parts)
                return;
        for (int i = 0; i < parts->cnt; i++) {
                int64_t lo = -1, hi = -1;
                if (rd_kafka_get_watermark_offsets(c->rk, parts->elems[i].topic,
                                                   parts->elems[i].partition,
                                                   &lo, &hi))
                        hi = -1;
                fn(parts->elems[i].topic, parts->elems[i].partition, hi, arg);
        }
        rd_kafka_topic_partition_list_destroy(parts);
}

void consumer_set_paused(struct consumer *c, bool paused)
{
        rd_kafka_topic_partition_list_t *parts = NULL;
        if (rd_kafka_assignment(c->rk, &parts) || !parts)
                return;
        if (parts->cnt > 0) {
                if (paused)
                        rd_kafka_pause_partitions(c->rk, parts);
                else
                        rd_kafka_resume_partitions(c->rk, parts);
        }
        rd_kafka_topic_partition_list_destroy(parts);
}

