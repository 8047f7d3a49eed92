/* Real rd_kafka_message_t values for unit tests, from librdkafka's mock
 * cluster: no broker, no network beyond loopback.
 *
 * event_create() takes ownership of a consumed message and destroys it with
 * rd_kafka_message_destroy(), so tests cannot fake one. kmock_fetch()
 * starts a producer with "test.mock.num.brokers" (which creates an
 * in-process mock cluster), creates the topic, produces the given records,
 * then reads them back with a consumer bootstrapped from the same cluster
 * and returns the messages in the order of the records.
 *
 * Destroy every returned message (or the events that own them) before
 * kmock_close(). */
#ifndef MOKA_BRIDGE_TEST_KAFKA_MOCK_H
#define MOKA_BRIDGE_TEST_KAFKA_MOCK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define KMOCK_MAX_HEADERS 16

struct kmock_header {
        const char *name;
        const void *value; /* NULL for a null header value */
        size_t size;
};

struct kmock_record {
        int32_t partition;
        const void *key; /* NULL or key_len 0: no key */
        size_t key_len;
        const void *value; /* NULL: null value */
        size_t value_len;
        int64_t timestamp_ms; /* 0: the producer's clock */
        struct kmock_header headers[KMOCK_MAX_HEADERS];
        size_t header_cnt;
};

struct kmock {
        rd_kafka_t *producer; /* owns the mock cluster */
        rd_kafka_t *consumer;
};

static void kmock_log(const rd_kafka_t *rk, int level, const char *fac,
                      const char *buf)
{
        (void)rk;
        if (level <= 3)
                fprintf(stderr, "rdkafka %s: %s\n", fac, buf);
}

static rd_kafka_conf_t *kmock_conf(const char *const *kv)
{
        char err[256];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_conf_set_log_cb(conf, kmock_log);
        for (; kv[0]; kv += 2) {
                if (rd_kafka_conf_set(conf, kv[0], kv[1], err, sizeof(err)) !=
                    RD_KAFKA_CONF_OK) {
                        fprintf(stderr, "kmock: %s=%s: %s\n", kv[0], kv[1],
                                err);
                        rd_kafka_conf_destroy(conf);
                        return NULL;
                }
        }
        return conf;
}

static int kmock_cmp(const void *a, const void *b)
{
        const rd_kafka_message_t *x = *(rd_kafka_message_t *const *)a;
        const rd_kafka_message_t *y = *(rd_kafka_message_t *const *)b;
        if (x->partition != y->partition)
                return x->partition < y->partition ? -1 : 1;
        return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static void kmock_close(struct kmock *km)
{
        if (km->consumer) {
                rd_kafka_consumer_close(km->consumer);
                rd_kafka_destroy(km->consumer);
        }
        if (km->producer)
                rd_kafka_destroy(km->producer);
        km->consumer = km->producer = NULL;
}

/* Produces `n` records to `topic` (created with `partitions` partitions)
 * and stores the consumed messages in out[0..n-1], out[i] being record i.
 * Returns 0, or -1 (with a message on stderr) on failure or after 10 s. */
static int kmock_fetch(struct kmock *km, const char *topic, int partitions,
                       const struct kmock_record *recs, size_t n,
                       rd_kafka_message_t **out)
{
        char err[256];
        memset(km, 0, sizeof(*km));
        memset(out, 0, n * sizeof(*out));

        const char *pkv[] = {"test.mock.num.brokers", "1",
                             "enable.idempotence", "true",
                             "linger.ms", "0", NULL};
        rd_kafka_conf_t *pconf = kmock_conf(pkv);
        if (!pconf)
                return -1;
        km->producer = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, err,
                                    sizeof(err));
        if (!km->producer) {
                fprintf(stderr, "kmock: producer: %s\n", err);
                rd_kafka_conf_destroy(pconf);
                return -1;
        }
        rd_kafka_mock_cluster_t *mc =
                rd_kafka_handle_mock_cluster(km->producer);
        if (!mc ||
            rd_kafka_mock_topic_create(mc, topic, partitions, 1) !=
                    RD_KAFKA_RESP_ERR_NO_ERROR) {
                fprintf(stderr, "kmock: no mock cluster or topic\n");
                goto fail;
        }

        for (size_t i = 0; i < n; i++) {
                const struct kmock_record *r = &recs[i];
                rd_kafka_headers_t *h = rd_kafka_headers_new(8);
                for (size_t j = 0; j < r->header_cnt; j++)
                        rd_kafka_header_add(h, r->headers[j].name, -1,
                                            r->headers[j].value,
                                            (ssize_t)r->headers[j].size);
                rd_kafka_resp_err_t e = rd_kafka_producev(
                        km->producer, RD_KAFKA_V_TOPIC(topic),
                        RD_KAFKA_V_PARTITION(r->partition),
                        RD_KAFKA_V_KEY(r->key_len ? r->key : NULL,
                                       r->key_len),
                        RD_KAFKA_V_VALUE((void *)r->value, r->value_len),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                        RD_KAFKA_V_TIMESTAMP(r->timestamp_ms),
                        RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
                if (e) {
                        rd_kafka_headers_destroy(h);
                        fprintf(stderr, "kmock: produce %zu: %s\n", i,
                                rd_kafka_err2str(e));
                        goto fail;
                }
        }
        if (rd_kafka_flush(km->producer, 10000) !=
            RD_KAFKA_RESP_ERR_NO_ERROR) {
                fprintf(stderr, "kmock: flush timed out\n");
                goto fail;
        }

        const char *ckv[] = {
                "bootstrap.servers", rd_kafka_mock_cluster_bootstraps(mc),
                "group.id", "moka-bridge-unit",
                "auto.offset.reset", "earliest",
                "enable.auto.commit", "false",
                "enable.partition.eof", "false", NULL};
        rd_kafka_conf_t *cconf = kmock_conf(ckv);
        if (!cconf)
                goto fail;
        km->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cconf, err,
                                    sizeof(err));
        if (!km->consumer) {
                fprintf(stderr, "kmock: consumer: %s\n", err);
                rd_kafka_conf_destroy(cconf);
                goto fail;
        }
        /* A plain assignment: no group rebalance to wait for. */
        rd_kafka_topic_partition_list_t *parts =
                rd_kafka_topic_partition_list_new(partitions);
        for (int p = 0; p < partitions; p++)
                rd_kafka_topic_partition_list_add(parts, topic, p)->offset =
                        RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_resp_err_t ae = rd_kafka_assign(km->consumer, parts);
        rd_kafka_topic_partition_list_destroy(parts);
        if (ae) {
                fprintf(stderr, "kmock: assign: %s\n", rd_kafka_err2str(ae));
                goto fail;
        }

        rd_kafka_message_t **got = calloc(n ? n : 1, sizeof(*got));
        size_t cnt = 0;
        time_t deadline = time(NULL) + 10;
        while (cnt < n && time(NULL) < deadline) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(km->consumer,
                                                               100);
                if (!m)
                        continue;
                if (m->err) {
                        fprintf(stderr, "kmock: consume: %s\n",
                                rd_kafka_message_errstr(m));
                        rd_kafka_message_destroy(m);
                        continue;
                }
                got[cnt++] = m;
        }
        if (cnt < n) {
                fprintf(stderr, "kmock: consumed %zu of %zu records\n", cnt,
                        n);
                for (size_t i = 0; i < cnt; i++)
                        rd_kafka_message_destroy(got[i]);
                free(got);
                goto fail;
        }
        /* Per partition, offsets follow the order of production. */
        qsort(got, n, sizeof(*got), kmock_cmp);
        for (size_t i = 0; i < n; i++) {
                size_t rank = 0; /* record i is the rank-th of its partition */
                for (size_t j = 0; j < i; j++)
                        if (recs[j].partition == recs[i].partition)
                                rank++;
                for (size_t j = 0; j < n; j++) {
                        if (got[j] && got[j]->partition == recs[i].partition) {
                                if (rank-- == 0) {
                                        out[i] = got[j];
                                        break;
                                }
                        }
                }
        }
        free(got);
        return 0;
fail:
        kmock_close(km);
        return -1;
}

#endif
