/* Metrics: values, label escaping, histogram shape, health and readiness.
 * The Prometheus format itself is validated with promtool in
 * tests/integration/test_admin.py. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "metrics.h"

static char *render(struct metrics *m)
{
        size_t len = 0;
        char *s = metrics_render(m, &len);
        CHECK(s != NULL);
        if (s)
                CHECK_UINT_EQ(strlen(s), len);
        return s;
}

static void test_counters_and_labels(void)
{
        struct metrics *m = metrics_create();
        metrics_event_consumed(m, MOKA_OP_CUSTOMER_UPDATE);
        metrics_event_consumed(m, MOKA_OP_CUSTOMER_UPDATE);
        metrics_event_consumed(m, MOKA_OP_SALE_LIST);
        metrics_event_completed(m, MOKA_OP_CUSTOMER_UPDATE, true, "Success");
        metrics_event_completed(m, MOKA_OP_CUSTOMER_UPDATE, true, "Success");
        metrics_event_completed(m, MOKA_OP_CUSTOMER_UPDATE, false,
                                "Weird\"Code\\x\ny");
        metrics_dlq_record(m, REPLY_DLQ_INVALID_EVENT);
        metrics_retry_scheduled(m, MOKA_OP_SALE_LIST);
        metrics_set_outage(m, true);
        metrics_set_inflight_requests(m, 7, 9);
        metrics_set_pending_events(m, 3, 40);
        char *s = render(m);
        CHECK_CONTAINS(s, "moka_bridge_events_consumed_total{operation="
                          "\"customer.update\"} 2\n");
        CHECK_CONTAINS(s, "moka_bridge_events_consumed_total{operation="
                          "\"sale.list\"} 1\n");
        CHECK_CONTAINS(s, "moka_bridge_events_completed_total{operation="
                          "\"customer.update\",status=\"success\","
                          "result_code=\"Success\"} 2\n");
        /* quote, backslash and newline escaped in the label value */
        CHECK_CONTAINS(s, "result_code=\"Weird\\\"Code\\\\x\\ny\"} 1\n");
        CHECK_CONTAINS(s, "moka_bridge_dlq_records_total{reason="
                          "\"invalid-event\"} 1\n");
        CHECK_CONTAINS(s, "moka_bridge_dlq_records_total{reason="
                          "\"moka-result\"} 0\n");
        CHECK_CONTAINS(s, "moka_bridge_retries_total{operation="
                          "\"sale.list\"} 1\n");
        CHECK_CONTAINS(s, "moka_bridge_outage 1\n");
        CHECK_CONTAINS(s, "moka_bridge_inflight_requests 7\n");
        CHECK_CONTAINS(s, "moka_bridge_inflight_requests_max 9\n");
        CHECK_CONTAINS(s, "moka_bridge_pending_events 3\n");
        CHECK_CONTAINS(s, "moka_bridge_pending_events_max 40\n");
        CHECK_CONTAINS(s, "# TYPE moka_bridge_pending_events_max gauge\n");
        CHECK_CONTAINS(s, "# TYPE moka_bridge_events_consumed_total counter\n");
        free(s);
        metrics_destroy(m);
}

static void test_histogram_is_cumulative(void)
{
        struct metrics *m = metrics_create();
        metrics_moka_request(m, MOKA_OP_CUSTOMER_UPDATE, MOKA_OUTCOME_SUCCESS,
                             0.0004);
        metrics_moka_request(m, MOKA_OP_CUSTOMER_UPDATE, MOKA_OUTCOME_RETRY,
                             0.07);
        metrics_moka_request(m, MOKA_OP_CUSTOMER_UPDATE, MOKA_OUTCOME_OUTAGE,
                             100.0);
        char *s = render(m);
        const char *p = "moka_bridge_moka_request_duration_seconds_bucket"
                        "{endpoint=\"/DealerCustomer/UpdateCustomer\",";
        char want[256];
        snprintf(want, sizeof(want), "%sle=\"0.001\"} 1\n", p);
        CHECK_CONTAINS(s, want);
        snprintf(want, sizeof(want), "%sle=\"0.05\"} 1\n", p);
        CHECK_CONTAINS(s, want);
        snprintf(want, sizeof(want), "%sle=\"0.1\"} 2\n", p);
        CHECK_CONTAINS(s, want);
        snprintf(want, sizeof(want), "%sle=\"30\"} 2\n", p);
        CHECK_CONTAINS(s, want);
        snprintf(want, sizeof(want), "%sle=\"+Inf\"} 3\n", p);
        CHECK_CONTAINS(s, want);
        CHECK_CONTAINS(s, "moka_bridge_moka_request_duration_seconds_count{"
                          "endpoint=\"/DealerCustomer/UpdateCustomer\"} 3\n");
        CHECK_CONTAINS(s, "moka_bridge_moka_requests_total{endpoint="
                          "\"/DealerCustomer/UpdateCustomer\",outcome="
                          "\"outage_error\"} 1\n");
        CHECK_CONTAINS(s, "moka_bridge_moka_requests_total{endpoint="
                          "\"/DealerSale/GetSaleList\",outcome="
                          "\"success\"} 0\n");
        free(s);
        metrics_destroy(m);
}

static void test_partitions_and_lag(void)
{
        struct metrics *m = metrics_create();
        metrics_partition_high_watermark(m, "in", 3, 100);
        metrics_partition_committed(m, "in", 3, 60);
        metrics_partition_high_watermark(m, "in", 4, 10);
        char *s = render(m);
        CHECK_CONTAINS(s, "moka_bridge_partition_committed_offset{topic="
                          "\"in\",partition=\"3\"} 60\n");
        CHECK_CONTAINS(s, "moka_bridge_partition_lag{topic=\"in\","
                          "partition=\"3\"} 40\n");
        /* nothing committed yet: the whole partition is lag */
        CHECK_CONTAINS(s, "moka_bridge_partition_lag{topic=\"in\","
                          "partition=\"4\"} 10\n");
        CHECK_NOT_CONTAINS(s, "partition_committed_offset{topic=\"in\","
                              "partition=\"4\"}");
        free(s);
        metrics_partitions_clear(m);
        s = render(m);
        CHECK_NOT_CONTAINS(s, "topic=\"in\"");
        free(s);
        metrics_destroy(m);
}

static void test_health_and_readiness(void)
{
        struct metrics *m = metrics_create();
        CHECK(!metrics_healthy(m, 1000, 30000)); /* the loop never turned */
        metrics_loop_alive(m, 1000);
        CHECK(metrics_healthy(m, 1000 + 30000, 30000));
        CHECK(!metrics_healthy(m, 1000 + 30001, 30000));

        CHECK(!metrics_ready(m)); /* not in the group yet */
        metrics_set_in_group(m, true);
        CHECK(metrics_ready(m));
        metrics_set_outage(m, true);
        CHECK(!metrics_ready(m));
        metrics_set_outage(m, false);
        CHECK(metrics_ready(m));
        metrics_set_in_group(m, false);
        CHECK(!metrics_ready(m));
        metrics_destroy(m);
}

int main(void)
{
        test_counters_and_labels();
        test_histogram_is_cumulative();
        test_partitions_and_lag();
        test_health_and_readiness();
        CHECK_DONE();
}
