#include "metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

/* Moka latency buckets, seconds: loopback simulator to a slow gateway. */
static const double metrics_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                         0.05,  0.1,    0.25,  0.5,  1,
                                         2.5,   5,      10,    30};
#define METRICS_BUCKETS (sizeof(metrics_buckets) / sizeof(metrics_buckets[0]))
#define METRICS_KINDS 4
#define METRICS_REASONS 4

struct metrics_completion {
        enum moka_operation op;
        bool success;
        char *result_code;
        uint64_t count;
};

struct metrics_partition {
        char *topic;
        int32_t partition;
        int64_t committed; /* -1 until the first commit */
        int64_t high;      /* -1 until known */
};

struct metrics_dealer {
        char *name;
        bool credentials_rejected;
};

struct metrics {
        pthread_mutex_t lock;
        uint64_t consumed[MOKA_OP_COUNT];
        uint64_t retries[MOKA_OP_COUNT];
        uint64_t requests[MOKA_OP_COUNT][METRICS_KINDS];
        uint64_t latency_buckets[MOKA_OP_COUNT][METRICS_BUCKETS];
        uint64_t latency_count[MOKA_OP_COUNT];
        double latency_sum[MOKA_OP_COUNT];
        uint64_t dlq[METRICS_REASONS];
        uint64_t delivery_failures;
        struct metrics_completion *completions;
        size_t completions_len, completions_cap;
        struct metrics_partition *parts;
        size_t parts_len, parts_cap;
        int inflight, inflight_high;
        size_t pending, pending_high;
        bool outage;
        struct metrics_dealer *dealers;
        size_t dealers_len;
        bool in_group;
        uint64_t alive_ms;
};

struct metrics *metrics_create(void)
{
        struct metrics *m = calloc(1, sizeof(*m));
        if (!m)
                return NULL;
        pthread_mutex_init(&m->lock, NULL);
        return m;
}

void metrics_destroy(struct metrics *m)
{
        if (!m)
                return;
        for (size_t i = 0; i < m->completions_len; i++)
                free(m->completions[i].result_code);
        free(m->completions);
        for (size_t i = 0; i < m->parts_len; i++)
                free(m->parts[i].topic);
        free(m->parts);
        for (size_t i = 0; i < m->dealers_len; i++)
                free(m->dealers[i].name);
        free(m->dealers);
        pthread_mutex_destroy(&m->lock);
        free(m);
}

#define METRICS_LOCKED(m, stmt)                                               \
        do {                                                                  \
                pthread_mutex_lock(&(m)->lock);                               \
                stmt;                                                         \
                pthread_mutex_unlock(&(m)->lock);                             \
        } while (0)

void metrics_event_consumed(struct metrics *m, enum moka_operation op)
{
        METRICS_LOCKED(m, m->consumed[op]++);
}

void metrics_event_completed(struct metrics *m, enum moka_operation op,
                             bool success, const char *result_code)
{
        pthread_mutex_lock(&m->lock);
        size_t i = 0;
        while (i < m->completions_len &&
               !(m->completions[i].op == op &&
                 m->completions[i].success == success &&
                 strcmp(m->completions[i].result_code, result_code) == 0))
                i++;
        if (i == m->completions_len) {
                if (m->completions_len == m->completions_cap) {
                        size_t cap = m->completions_cap ? 2 * m->completions_cap
                                                        : 16;
                        struct metrics_completion *c = realloc(
                                m->completions, cap * sizeof(*c));
                        if (!c)
                                goto out;
                        m->completions = c;
                        m->completions_cap = cap;
                }
                char *code = strdup(result_code);
                if (!code)
                        goto out;
                m->completions[i] = (struct metrics_completion){
                        .op = op, .success = success, .result_code = code};
                m->completions_len++;
        }
        m->completions[i].count++;
out:
        pthread_mutex_unlock(&m->lock);
}

void metrics_moka_request(struct metrics *m, enum moka_operation op,
                          enum moka_outcome_kind kind, double seconds)
{
        pthread_mutex_lock(&m->lock);
        m->requests[op][kind]++;
        for (size_t b = 0; b < METRICS_BUCKETS; b++)
                if (seconds <= metrics_buckets[b])
                        m->latency_buckets[op][b]++;
        m->latency_count[op]++;
        m->latency_sum[op] += seconds;
        pthread_mutex_unlock(&m->lock);
}

void metrics_retry_scheduled(struct metrics *m, enum moka_operation op)
{
        METRICS_LOCKED(m, m->retries[op]++);
}

void metrics_dlq_record(struct metrics *m, enum reply_dlq_reason reason)
{
        METRICS_LOCKED(m, m->dlq[reason]++);
}

void metrics_delivery_failed(struct metrics *m)
{
        METRICS_LOCKED(m, m->delivery_failures++);
}

void metrics_set_inflight_requests(struct metrics *m, int n, int high)
{
        METRICS_LOCKED(m, m->inflight = n; m->inflight_high = high);
}

void metrics_set_pending_events(struct metrics *m, size_t n, size_t high)
{
        METRICS_LOCKED(m, m->pending = n; m->pending_high = high);
}

int metrics_add_dealer(struct metrics *m, const char *name)
{
        char *copy = strdup(name);
        if (!copy)
                return -1;
        /* Under the lock: the admin thread may be rendering the list. */
        pthread_mutex_lock(&m->lock);
        struct metrics_dealer *list =
                realloc(m->dealers, (m->dealers_len + 1) * sizeof(*list));
        if (list) {
                m->dealers = list;
                m->dealers[m->dealers_len++] =
                        (struct metrics_dealer){.name = copy};
        }
        pthread_mutex_unlock(&m->lock);
        if (!list) {
                free(copy);
                return -1;
        }
        return 0;
}

void metrics_set_dealer_credentials_rejected(struct metrics *m,
                                             const char *name, bool rejected)
{
        pthread_mutex_lock(&m->lock);
        for (size_t i = 0; i < m->dealers_len; i++)
                if (strcmp(m->dealers[i].name, name) == 0)
                        m->dealers[i].credentials_rejected = rejected;
        pthread_mutex_unlock(&m->lock);
}

void metrics_set_outage(struct metrics *m, bool outage)
{
        METRICS_LOCKED(m, m->outage = outage);
}

static struct metrics_partition *metrics_partition(struct metrics *m,
                                                   const char *topic,
                                                   int32_t partition)
{
        for (size_t i = 0; i < m->parts_len; i++)
                if (m->parts[i].partition == partition &&
                    strcmp(m->parts[i].topic, topic) == 0)
                        return &m->parts[i];
        if (m->parts_len == m->parts_cap) {
                size_t cap = m->parts_cap ? 2 * m->parts_cap : 16;
                struct metrics_partition *p =
                        realloc(m->parts, cap * sizeof(*p));
                if (!p)
                        return NULL;
                m->parts = p;
                m->parts_cap = cap;
        }
        char *t = strdup(topic);
        if (!t)
                return NULL;
        struct metrics_partition *p = &m->parts[m->parts_len++];
        *p = (struct metrics_partition){
                .topic = t, .partition = partition, .committed = -1,
                .high = -1};
        return p;
}

void metrics_partition_committed(struct metrics *m, const char *topic,
                                 int32_t partition, int64_t offset)
{
        pthread_mutex_lock(&m->lock);
        struct metrics_partition *p = metrics_partition(m, topic, partition);
        if (p)
                p->committed = offset;
        pthread_mutex_unlock(&m->lock);
}

void metrics_partition_high_watermark(struct metrics *m, const char *topic,
                                      int32_t partition, int64_t high)
{
        pthread_mutex_lock(&m->lock);
        struct metrics_partition *p = metrics_partition(m, topic, partition);
        if (p)
                p->high = high;
        pthread_mutex_unlock(&m->lock);
}

void metrics_partitions_clear(struct metrics *m)
{
        pthread_mutex_lock(&m->lock);
        for (size_t i = 0; i < m->parts_len; i++)
                free(m->parts[i].topic);
        m->parts_len = 0;
        pthread_mutex_unlock(&m->lock);
}

void metrics_loop_alive(struct metrics *m, uint64_t now_ms)
{
        METRICS_LOCKED(m, m->alive_ms = now_ms);
}

void metrics_set_in_group(struct metrics *m, bool in_group)
{
        METRICS_LOCKED(m, m->in_group = in_group);
}

bool metrics_healthy(struct metrics *m, uint64_t now_ms, uint64_t max_age_ms)
{
        pthread_mutex_lock(&m->lock);
        bool ok = m->alive_ms != 0 && now_ms - m->alive_ms <= max_age_ms;
        pthread_mutex_unlock(&m->lock);
        return ok;
}

bool metrics_ready(struct metrics *m)
{
        pthread_mutex_lock(&m->lock);
        bool ok = m->in_group && !m->outage;
        pthread_mutex_unlock(&m->lock);
        return ok;
}

/* ---- rendering ---------------------------------------------------------- */

struct metrics_out {
        char *buf;
        size_t len, cap;
        bool failed;
};

static void metrics_printf(struct metrics_out *o, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void metrics_printf(struct metrics_out *o, const char *fmt, ...)
{
        if (o->failed)
                return;
        for (;;) {
                va_list ap;
                va_start(ap, fmt);
                int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
                va_end(ap);
                if (n < 0) {
                        o->failed = true;
                        return;
                }
                if ((size_t)n < o->cap - o->len) {
                        o->len += (size_t)n;
                        return;
                }
                size_t cap = o->cap * 2 + (size_t)n;
                char *b = realloc(o->buf, cap);
                if (!b) {
                        o->failed = true;
                        return;
                }
                o->buf = b;
                o->cap = cap;
        }
}

/* A label value with \, " and newline escaped, into a static buffer of the
 * caller's. */
static const char *metrics_escape(const char *s, char *out, size_t size)
{
        size_t j = 0;
        for (; *s && j + 3 < size; s++) {
                if (*s == '\\' || *s == '"') {
                        out[j++] = '\\';
                        out[j++] = *s;
                } else if (*s == '\n') {
                        out[j++] = '\\';
                        out[j++] = 'n';
                } else {
                        out[j++] = *s;
                }
        }
        out[j] = '\0';
        return out;
}

static void metrics_family(struct metrics_out *o, const char *name,
                           const char *type, const char *help)
{
        metrics_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                       type);
}

static const char *const metrics_kind_names[METRICS_KINDS] = {
        "success", "business_error", "transient_error", "outage_error"};

char *metrics_render(struct metrics *m, size_t *len)
{
        struct metrics_out o = {.cap = 8192};
        o.buf = malloc(o.cap);
        if (!o.buf)
                return NULL;
        o.buf[0] = '\0';
        char esc[512], esc2[512];

        pthread_mutex_lock(&m->lock);
        metrics_family(&o, "moka_bridge_build_info", "gauge",
                       "Version of moka-bridge and its libraries.");
        metrics_printf(&o,
                       "moka_bridge_build_info{version=\"%s\","
                       "librdkafka=\"%s\"} 1\n",
                       MOKA_BRIDGE_VERSION, rd_kafka_version_str());

        metrics_family(&o, "moka_bridge_events_consumed_total", "counter",
                       "Input events taken from Kafka.");
        for (int op = 0; op < MOKA_OP_COUNT; op++)
                metrics_printf(&o,
                               "moka_bridge_events_consumed_total"
                               "{operation=\"%s\"} %llu\n",
                               moka_operation_name(op),
                               (unsigned long long)m->consumed[op]);

        metrics_family(&o, "moka_bridge_events_completed_total", "counter",
                       "Events answered, by outcome and result code.");
        for (size_t i = 0; i < m->completions_len; i++) {
                struct metrics_completion *c = &m->completions[i];
                metrics_printf(&o,
                               "moka_bridge_events_completed_total{operation="
                               "\"%s\",status=\"%s\",result_code=\"%s\"} "
                               "%llu\n",
                               moka_operation_name(c->op),
                               c->success ? "success" : "failure",
                               metrics_escape(c->result_code, esc,
                                              sizeof(esc)),
                               (unsigned long long)c->count);
        }

        metrics_family(&o, "moka_bridge_moka_requests_total", "counter",
                       "Moka API calls, by endpoint and outcome.");
        for (int op = 0; op < MOKA_OP_COUNT; op++)
                for (int k = 0; k < METRICS_KINDS; k++)
                        metrics_printf(&o,
                                       "moka_bridge_moka_requests_total{"
                                       "endpoint=\"%s\",outcome=\"%s\"} "
                                       "%llu\n",
                                       moka_operation_path(op),
                                       metrics_kind_names[k],
                                       (unsigned long long)m->requests[op][k]);

        metrics_family(&o, "moka_bridge_moka_request_duration_seconds",
                       "histogram", "Latency of Moka API calls.");
        for (int op = 0; op < MOKA_OP_COUNT; op++) {
                const char *ep = moka_operation_path(op);
                for (size_t b = 0; b < METRICS_BUCKETS; b++)
                        metrics_printf(&o,
                                       "moka_bridge_moka_request_duration_"
                                       "seconds_bucket{endpoint=\"%s\","
                                       "le=\"%g\"} %llu\n",
                                       ep, metrics_buckets[b],
                                       (unsigned long long)
                                               m->latency_buckets[op][b]);
                metrics_printf(&o,
                               "moka_bridge_moka_request_duration_seconds_"
                               "bucket{endpoint=\"%s\",le=\"+Inf\"} %llu\n"
                               "moka_bridge_moka_request_duration_seconds_"
                               "sum{endpoint=\"%s\"} %.6f\n"
                               "moka_bridge_moka_request_duration_seconds_"
                               "count{endpoint=\"%s\"} %llu\n",
                               ep, (unsigned long long)m->latency_count[op],
                               ep, m->latency_sum[op], ep,
                               (unsigned long long)m->latency_count[op]);
        }

        metrics_family(&o, "moka_bridge_retries_total", "counter",
                       "Retries scheduled after a transient Moka failure.");
        for (int op = 0; op < MOKA_OP_COUNT; op++)
                metrics_printf(&o,
                               "moka_bridge_retries_total{operation=\"%s\"} "
                               "%llu\n",
                               moka_operation_name(op),
                               (unsigned long long)m->retries[op]);

        metrics_family(&o, "moka_bridge_dlq_records_total", "counter",
                       "Dead-letter records produced, by reason.");
        for (int r = REPLY_DLQ_MOKA_RESULT; r < METRICS_REASONS; r++)
                metrics_printf(&o,
                               "moka_bridge_dlq_records_total{reason=\"%s\"} "
                               "%llu\n",
                               reply_dlq_reason_name(r),
                               (unsigned long long)m->dlq[r]);

        metrics_family(&o, "moka_bridge_delivery_failures_total", "counter",
                       "Reply or DLQ records the broker did not take (they "
                       "are produced again).");
        metrics_printf(&o, "moka_bridge_delivery_failures_total %llu\n",
                       (unsigned long long)m->delivery_failures);

        metrics_family(&o, "moka_bridge_inflight_requests", "gauge",
                       "Moka requests in flight.");
        metrics_printf(&o, "moka_bridge_inflight_requests %d\n", m->inflight);
        metrics_family(&o, "moka_bridge_inflight_requests_max", "gauge",
                       "Most Moka requests in flight at once since start.");
        metrics_printf(&o, "moka_bridge_inflight_requests_max %d\n",
                       m->inflight_high);
        metrics_family(&o, "moka_bridge_pending_events", "gauge",
                       "Events consumed and not yet committable.");
        metrics_printf(&o, "moka_bridge_pending_events %zu\n", m->pending);
        metrics_family(&o, "moka_bridge_pending_events_max", "gauge",
                       "Most events pending at once since start.");
        metrics_printf(&o, "moka_bridge_pending_events_max %zu\n",
                       m->pending_high);
        metrics_family(&o, "moka_bridge_outage", "gauge",
                       "1 while partitions are paused for a Moka outage.");
        metrics_printf(&o, "moka_bridge_outage %d\n", m->outage ? 1 : 0);
        metrics_family(&o, "moka_bridge_dealer_credentials_rejected", "gauge",
                       "1 while Moka refuses the dealer's credentials (its "
                       "events wait, probed every outage.probe_interval_ms).");
        for (size_t i = 0; i < m->dealers_len; i++)
                metrics_printf(&o,
                               "moka_bridge_dealer_credentials_rejected{"
                               "dealer=\"%s\"} %d\n",
                               metrics_escape(m->dealers[i].name, esc,
                                              sizeof(esc)),
                               m->dealers[i].credentials_rejected ? 1 : 0);

        metrics_family(&o, "moka_bridge_partition_committed_offset", "gauge",
                       "Last committed offset of an assigned input "
                       "partition.");
        for (size_t i = 0; i < m->parts_len; i++)
                if (m->parts[i].committed >= 0)
                        metrics_printf(&o,
                                       "moka_bridge_partition_committed_"
                                       "offset{topic=\"%s\",partition=\"%d\"}"
                                       " %lld\n",
                                       metrics_escape(m->parts[i].topic, esc,
                                                      sizeof(esc)),
                                       m->parts[i].partition,
                                       (long long)m->parts[i].committed);
        metrics_family(&o, "moka_bridge_partition_lag", "gauge",
                       "High watermark minus committed offset of an "
                       "assigned input partition.");
        for (size_t i = 0; i < m->parts_len; i++) {
                struct metrics_partition *p = &m->parts[i];
                if (p->high < 0)
                        continue;
                int64_t lag = p->high - (p->committed >= 0 ? p->committed : 0);
                metrics_printf(&o,
                               "moka_bridge_partition_lag{topic=\"%s\","
                               "partition=\"%d\"} %lld\n",
                               metrics_escape(p->topic, esc2, sizeof(esc2)),
                               p->partition, (long long)(lag > 0 ? lag : 0));
        }
        pthread_mutex_unlock(&m->lock);

        if (o.failed) {
                free(o.buf);
                return NULL;
        }
        *len = o.len;
        return o.buf;
}
