/* Unit tests of txn.c: the batching policy, the verdict of each kind of
 * transactional error, and the begin/commit/abort cycle against
 * librdkafka's mock cluster (which serves the transactional requests but
 * writes no transaction markers: what readers see is tested on the real
 * broker, tests/integration/test_exactly_once.py). */
#include "txn.h"

#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka_mock.h>

#include "check.h"
#include "log.h"

/* Kafka protocol ApiKey of EndTxn (librdkafka keeps its names private). */
#define KAFKA_API_END_TXN 26

static void test_due_by_time_or_count(void)
{
        struct txn_policy p = {.interval_ms = 100, .max_events = 3};
        CHECK(!txn_due(&p, 1000, 0, 1000));
        CHECK(!txn_due(&p, 1000, 2, 1099));
        CHECK(txn_due(&p, 1000, 2, 1100));
        CHECK(txn_due(&p, 1000, 3, 1001)); /* full before its time */
        CHECK_UINT_EQ(txn_due_in_ms(&p, 1000, 1000), 100);
        CHECK_UINT_EQ(txn_due_in_ms(&p, 1000, 1060), 40);
        CHECK_UINT_EQ(txn_due_in_ms(&p, 1000, 5000), 0);
}

static void test_verdicts(void)
{
        CHECK_INT_EQ(txn_verdict_of(NULL), TXN_OK);
        const rd_kafka_resp_err_t fenced[] = {
                RD_KAFKA_RESP_ERR__FENCED, RD_KAFKA_RESP_ERR_PRODUCER_FENCED,
                RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH};
        for (size_t i = 0; i < sizeof(fenced) / sizeof(fenced[0]); i++) {
                rd_kafka_error_t *e = rd_kafka_error_new(fenced[i], "x");
                CHECK_INT_EQ(txn_verdict_of(e), TXN_FATAL);
                CHECK(txn_is_fenced(fenced[i]));
                rd_kafka_error_destroy(e);
        }
        /* Neither retriable nor abortable nor fatal: treated as fatal, as
         * librdkafka recommends. */
        rd_kafka_error_t *e =
                rd_kafka_error_new(RD_KAFKA_RESP_ERR__INVALID_ARG, "bad");
        CHECK_INT_EQ(txn_verdict_of(e), TXN_FATAL);
        rd_kafka_error_destroy(e);
        CHECK(!txn_is_fenced(RD_KAFKA_RESP_ERR__TIMED_OUT));
        CHECK(!txn_is_fenced(RD_KAFKA_RESP_ERR_NO_ERROR));
}

/* ---- against the mock cluster ------------------------------------------ */

static int delivered, failed;

static void on_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
        (void)rk;
        (void)opaque;
        if (m->err)
                failed++;
        else
                delivered++;
}

static void quiet_log(const rd_kafka_t *rk, int level, const char *fac,
                      const char *buf)
{
        (void)rk;
        (void)level;
        (void)fac;
        (void)buf;
}

static rd_kafka_t *mock_producer(void)
{
        char err[256];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        const char *kv[] = {"test.mock.num.brokers", "1",
                            "transactional.id", "test-txn",
                            "linger.ms", "1",
                            NULL};
        rd_kafka_conf_set_log_cb(conf, quiet_log);
        for (int i = 0; kv[i]; i += 2)
                if (rd_kafka_conf_set(conf, kv[i], kv[i + 1], err,
                                      sizeof(err)) != RD_KAFKA_CONF_OK) {
                        fprintf(stderr, "%s: %s\n", kv[i], err);
                        exit(2);
                }
        rd_kafka_conf_set_dr_msg_cb(conf, on_dr);
        rd_kafka_t *rk =
                rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        if (!rk) {
                fprintf(stderr, "rd_kafka_new: %s\n", err);
                exit(2);
        }
        return rk;
}

static rd_kafka_resp_err_t produce(rd_kafka_t *rk, const char *value)
{
        return rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("replies"),
                                 RD_KAFKA_V_VALUE((void *)value,
                                                  strlen(value)),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_END);
}

static void test_cycle_on_the_mock_cluster(void)
{
        rd_kafka_t *rk = mock_producer();
        rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(rk);
        struct txn_policy p = {.interval_ms = 100, .max_events = 10};
        struct txn t;
        txn_setup(&t, rk, "test-txn", &p);
        if (!CHECK(mc != NULL))
                goto out;
        rd_kafka_mock_topic_create(mc, "replies", 1, 1);

        if (!CHECK_INT_EQ(txn_init(&t, 10000), TXN_OK))
                goto out;
        CHECK(!t.open);

        /* Committing with nothing open does nothing. */
        CHECK_INT_EQ(txn_commit(&t, NULL, NULL, 1000), TXN_OK);
        CHECK_UINT_EQ(t.committed, 0);

        CHECK_INT_EQ(txn_begin(&t, 500), TXN_OK);
        CHECK(t.open);
        CHECK_UINT_EQ(t.opened_ms, 500);
        CHECK_INT_EQ(txn_begin(&t, 900), TXN_OK); /* already open */
        CHECK_UINT_EQ(t.opened_ms, 500);
        CHECK_INT_EQ(produce(rk, "a"), 0);
        t.events = 1;
        CHECK_INT_EQ(txn_commit(&t, NULL, NULL, 10000), TXN_OK);
        CHECK(!t.open);
        CHECK_UINT_EQ(t.events, 0);
        CHECK_UINT_EQ(t.committed, 1);
        CHECK_INT_EQ(delivered, 1);

        /* A coordinator that is briefly unavailable: retried. */
        CHECK_INT_EQ(txn_begin(&t, 1000), TXN_OK);
        CHECK_INT_EQ(produce(rk, "b"), 0);
        rd_kafka_mock_push_request_errors(
                mc, KAFKA_API_END_TXN, 2,
                RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
                RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE);
        CHECK_INT_EQ(txn_commit(&t, NULL, NULL, 10000), TXN_OK);
        CHECK_UINT_EQ(t.committed, 2);

        /* Abort: the records are purged or aborted. */
        CHECK_INT_EQ(txn_begin(&t, 2000), TXN_OK);
        CHECK_INT_EQ(produce(rk, "c"), 0);
        CHECK_INT_EQ(txn_abort(&t, 10000), TXN_OK);
        CHECK(!t.open);
        CHECK_UINT_EQ(t.aborted, 1);
        CHECK_INT_EQ(txn_abort(&t, 10000), TXN_OK); /* nothing open */
        CHECK_UINT_EQ(t.aborted, 1);

        /* Fenced by a newer producer of the same id: fatal. */
        CHECK_INT_EQ(txn_begin(&t, 3000), TXN_OK);
        CHECK_INT_EQ(produce(rk, "d"), 0);
        rd_kafka_mock_push_request_errors(mc, KAFKA_API_END_TXN, 1,
                                          RD_KAFKA_RESP_ERR_PRODUCER_FENCED);
        CHECK_INT_EQ(txn_commit(&t, NULL, NULL, 10000), TXN_FATAL);
        CHECK(txn_is_fenced(t.error_code) ||
              t.error_code == RD_KAFKA_RESP_ERR__FATAL);
        CHECK_CONTAINS(t.error, "commit_transaction");
out:
        rd_kafka_poll(rk, 0);
        rd_kafka_destroy(rk);
}

int main(void)
{
        log_set_level("error");
        test_due_by_time_or_count();
        test_verdicts();
        test_cycle_on_the_mock_cluster();
        CHECK_DONE();
}
