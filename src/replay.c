#include "replay.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "kafka_conf.h"
#include "log.h"

enum {
        REPLAY_TIMEOUT_MS = 10000,   /* metadata, watermarks, committed */
        REPLAY_MAX_INFLIGHT = 10000, /* produced, not yet acknowledged */
        REPLAY_TICK_MS = 1000,       /* progress line and commit */
        REPLAY_MAX_TOPIC = 249,      /* Kafka's limit on a topic name */
};

static const char *const replay_reason_names[] = {
        "moka-result", "invalid-event", "retries-exhausted", NULL};

/* ------------------------------------------------------------------ */
/* Command line                                                        */

void replay_usage(FILE *out)
{
        fprintf(out,
                "replay --config FILE --dlq TOPIC [options]:\n"
                "  --from-beginning | --from-offset N | --from-time T\n"
                "                         where to start (default: the "
                "replay group's\n"
                "                         position, else the beginning); "
                "T is RFC 3339\n"
                "                         (2024-05-01T10:00:00Z) or epoch "
                "milliseconds\n"
                "  --reason R             moka-result | invalid-event | "
                "retries-exhausted\n"
                "                         (repeatable: any of them)\n"
                "  --result-code C        exact dlq.result-code "
                "(repeatable)\n"
                "  --to TOPIC             republish to TOPIC instead of "
                "dlq.original-topic\n"
                "  --max-replay-count N   refuse records already replayed "
                "N times (3)\n"
                "  --rate N               at most N records per second\n"
                "  --dry-run              print what would be done; "
                "produce and commit\n"
                "                         nothing\n"
                "  --group G              replay group (default "
                "<kafka.group_id>.replay)\n"
                "Reads up to the end offsets seen at start. See "
                "docs/replay.md.\n");
}

static int replay_push(const char ***list, size_t *cnt, const char *v)
{
        const char **n = realloc(*list, (*cnt + 1) * sizeof(*n));
        if (!n)
                return -1;
        n[(*cnt)++] = v;
        *list = n;
        return 0;
}

static bool replay_topic_name_ok(const char *s, size_t len)
{
        if (len == 0 || len > REPLAY_MAX_TOPIC ||
            (len == 1 && s[0] == '.') ||
            (len == 2 && s[0] == '.' && s[1] == '.'))
                return false;
        for (size_t i = 0; i < len; i++)
                if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
                    s[i] != '_' && s[i] != '-')
                        return false;
        return true;
}

/* A decimal integer in [min, max]: no sign but '-', no spaces. */
static int replay_parse_int(const char *s, int64_t min, int64_t max,
                            int64_t *out)
{
        if (!s || !(isdigit((unsigned char)s[0]) ||
                    (s[0] == '-' && isdigit((unsigned char)s[1]))))
                return -1;
        errno = 0;
        char *end;
        long long v = strtoll(s, &end, 10);
        if (errno || *end || v < min || v > max)
                return -1;
        *out = v;
        return 0;
}

/* Reads exactly n digits. */
static int replay_digits(const char **p, int n, int *out)
{
        int v = 0;
        for (int i = 0; i < n; i++) {
                if (!isdigit((unsigned char)(*p)[i]))
                        return -1;
                v = v * 10 + ((*p)[i] - '0');
        }
        *p += n;
        *out = v;
        return 0;
}

static int replay_days_in_month(int y, int m)
{
        static const int days[] = {31, 28, 31, 30, 31, 30,
                                   31, 31, 30, 31, 30, 31};
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        return m == 2 && leap ? 29 : days[m - 1];
}

int replay_parse_time(const char *s, int64_t *ms)
{
        if (!s || !*s)
                return -1;
        if (strspn(s, "0123456789") == strlen(s))
                return replay_parse_int(s, 0, INT64_MAX / 2, ms);

        const char *p = s;
        int y, mo, d, h, mi, sec;
        if (replay_digits(&p, 4, &y) || *p++ != '-' ||
            replay_digits(&p, 2, &mo) || *p++ != '-' ||
            replay_digits(&p, 2, &d))
                return -1;
        if (*p != 'T' && *p != 't' && *p != ' ')
                return -1;
        p++;
        if (replay_digits(&p, 2, &h) || *p++ != ':' ||
            replay_digits(&p, 2, &mi) || *p++ != ':' ||
            replay_digits(&p, 2, &sec))
                return -1;
        if (mo < 1 || mo > 12 || d < 1 || d > replay_days_in_month(y, mo) ||
            h > 23 || mi > 59 || sec > 60)
                return -1;
        int frac_ms = 0;
        if (*p == '.') {
                int n = 0;
                for (p++; isdigit((unsigned char)*p); p++, n++)
                        if (n < 3) /* sub-millisecond digits are cut */
                                frac_ms = frac_ms * 10 + (*p - '0');
                if (n == 0)
                        return -1;
                for (; n < 3; n++) /* ".5" is 500 ms */
                        frac_ms *= 10;
        }
        int offset_min = 0;
        if (*p == 'Z' || *p == 'z') {
                p++;
        } else if (*p == '+' || *p == '-') {
                int sign = *p++ == '-' ? -1 : 1;
                int oh, om;
                if (replay_digits(&p, 2, &oh) || *p++ != ':' ||
                    replay_digits(&p, 2, &om) || oh > 23 || om > 59)
                        return -1;
                offset_min = sign * (oh * 60 + om);
        } else {
                return -1; /* RFC 3339 requires the offset */
        }
        if (*p)
                return -1;
        struct tm tm = {
                .tm_year = y - 1900,
                .tm_mon = mo - 1,
                .tm_mday = d,
                .tm_hour = h,
                .tm_min = mi,
                .tm_sec = sec,
        };
        time_t t = timegm(&tm);
        if (t == (time_t)-1)
                return -1; /* before the epoch, or an error: both refused */
        int64_t v = (int64_t)t * 1000 + frac_ms -
                    (int64_t)offset_min * 60 * 1000;
        if (v < 0)
                return -1; /* Kafka timestamps start at the epoch */
        *ms = v;
        return 0;
}

void replay_opts_free(struct replay_opts *o)
{
        if (!o)
                return;
        free(o->reasons);
        free(o->result_codes);
        o->reasons = NULL;
        o->result_codes = NULL;
        o->reasons_cnt = 0;
        o->result_codes_cnt = 0;
}

static bool replay_is_reason(const char *v)
{
        for (int i = 0; replay_reason_names[i]; i++)
                if (strcmp(v, replay_reason_names[i]) == 0)
                        return true;
        return false;
}

/* Handles one option with its value; `name` is "--x". */
static int replay_option(struct replay_opts *o, const char *name,
                         const char *val, const char **start_opt,
                         char *errstr, size_t errstr_size)
{
        int64_t n;
        /* Options that take one value may not repeat. */
        const char **single = NULL;
        if (strcmp(name, "--config") == 0)
                single = &o->config_path;
        else if (strcmp(name, "--dlq") == 0)
                single = &o->dlq;
        else if (strcmp(name, "--to") == 0)
                single = &o->to;
        else if (strcmp(name, "--group") == 0)
                single = &o->group;
        if (single) {
                if (*single) {
                        snprintf(errstr, errstr_size, "%s given twice", name);
                        return -1;
                }
                if (!*val) {
                        snprintf(errstr, errstr_size, "%s: empty value",
                                 name);
                        return -1;
                }
                if ((single == &o->dlq || single == &o->to) &&
                    !replay_topic_name_ok(val, strlen(val))) {
                        snprintf(errstr, errstr_size,
                                 "%s: \"%s\" is not a valid topic name", name,
                                 val);
                        return -1;
                }
                *single = val;
                return 0;
        }
        if (strcmp(name, "--from-offset") == 0 ||
            strcmp(name, "--from-time") == 0) {
                if (*start_opt) {
                        snprintf(errstr, errstr_size,
                                 "%s and %s cannot be combined", *start_opt,
                                 name);
                        return -1;
                }
                *start_opt = name;
                if (strcmp(name, "--from-offset") == 0) {
                        if (replay_parse_int(val, 0, INT64_MAX / 2,
                                             &o->from_offset)) {
                                snprintf(errstr, errstr_size,
                                         "--from-offset: \"%s\" is not an "
                                         "offset (an integer >= 0)",
                                         val);
                                return -1;
                        }
                        o->start = REPLAY_START_OFFSET;
                } else {
                        if (replay_parse_time(val, &o->from_time_ms)) {
                                snprintf(errstr, errstr_size,
                                         "--from-time: \"%s\" is neither "
                                         "RFC 3339 (2024-05-01T10:00:00Z) "
                                         "nor epoch milliseconds",
                                         val);
                                return -1;
                        }
                        o->start = REPLAY_START_TIME;
                }
                return 0;
        }
        if (strcmp(name, "--reason") == 0) {
                if (!replay_is_reason(val)) {
                        snprintf(errstr, errstr_size,
                                 "--reason: \"%s\" is not one of "
                                 "moka-result, invalid-event, "
                                 "retries-exhausted",
                                 val);
                        return -1;
                }
                return replay_push(&o->reasons, &o->reasons_cnt, val);
        }
        if (strcmp(name, "--result-code") == 0) {
                if (!*val) {
                        snprintf(errstr, errstr_size,
                                 "--result-code: empty value");
                        return -1;
                }
                return replay_push(&o->result_codes, &o->result_codes_cnt,
                                   val);
        }
        if (strcmp(name, "--max-replay-count") == 0) {
                if (replay_parse_int(val, 1, 1000000, &n)) {
                        snprintf(errstr, errstr_size,
                                 "--max-replay-count: \"%s\" is not an "
                                 "integer from 1 to 1000000",
                                 val);
                        return -1;
                }
                o->max_replay_count = (int)n;
                return 0;
        }
        if (strcmp(name, "--rate") == 0) {
                char *end;
                errno = 0;
                double r = strtod(val, &end);
                if (errno || end == val || *end || !isfinite(r) || r <= 0 ||
                    r > 1e9 || isspace((unsigned char)val[0])) {
                        snprintf(errstr, errstr_size,
                                 "--rate: \"%s\" is not a positive number "
                                 "of records per second",
                                 val);
                        return -1;
                }
                o->rate = r;
                return 0;
        }
        snprintf(errstr, errstr_size, "unknown option \"%s\"", name);
        return -1;
}

int replay_parse_args(int argc, char **argv, struct replay_opts *o,
                      char *errstr, size_t errstr_size)
{
        static const char *const with_value[] = {
                "--config", "--dlq",  "--from-offset", "--from-time",
                "--reason", "--result-code", "--to", "--max-replay-count",
                "--rate",   "--group", NULL};
        memset(o, 0, sizeof(*o));
        o->max_replay_count = 3;
        const char *start_opt = NULL;
        bool seen_max = false, seen_rate = false;

        for (int i = 0; i < argc; i++) {
                const char *arg = argv[i];
                if (strncmp(arg, "--", 2) != 0) {
                        snprintf(errstr, errstr_size,
                                 "unexpected argument \"%s\"", arg);
                        goto fail;
                }
                char name[40];
                const char *eq = strchr(arg, '=');
                size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
                if (len >= sizeof(name)) {
                        snprintf(errstr, errstr_size,
                                 "unknown option \"%.60s\"", arg);
                        goto fail;
                }
                memcpy(name, arg, len);
                name[len] = '\0';

                if (strcmp(name, "--from-beginning") == 0 ||
                    strcmp(name, "--dry-run") == 0) {
                        if (eq) {
                                snprintf(errstr, errstr_size,
                                         "%s takes no value", name);
                                goto fail;
                        }
                        if (name[2] == 'd') {
                                o->dry_run = true;
                                continue;
                        }
                        if (start_opt) {
                                snprintf(errstr, errstr_size,
                                         "%s and %s cannot be combined",
                                         start_opt, argv[i]);
                                goto fail;
                        }
                        start_opt = "--from-beginning";
                        o->start = REPLAY_START_BEGINNING;
                        continue;
                }
                bool known = false;
                for (int k = 0; with_value[k]; k++)
                        known = known || strcmp(name, with_value[k]) == 0;
                if (!known) {
                        snprintf(errstr, errstr_size,
                                 "unknown option \"%s\"", name);
                        goto fail;
                }
                const char *val = eq ? eq + 1 : NULL;
                if (!val && i + 1 < argc && strncmp(argv[i + 1], "--", 2))
                        val = argv[++i];
                if (!val) {
                        snprintf(errstr, errstr_size, "%s needs a value",
                                 name);
                        goto fail;
                }
                if ((strcmp(name, "--max-replay-count") == 0 &&
                     seen_max) ||
                    (strcmp(name, "--rate") == 0 && seen_rate)) {
                        snprintf(errstr, errstr_size, "%s given twice", name);
                        goto fail;
                }
                seen_max = seen_max || strcmp(name, "--max-replay-count") == 0;
                seen_rate = seen_rate || strcmp(name, "--rate") == 0;
                if (replay_option(o, name, val, &start_opt, errstr,
                                  errstr_size))
                        goto fail;
        }
        if (!o->config_path) {
                snprintf(errstr, errstr_size, "--config FILE is required");
                goto fail;
        }
        if (!o->dlq) {
                snprintf(errstr, errstr_size, "--dlq TOPIC is required");
                goto fail;
        }
        return 0;
fail:
        replay_opts_free(o);
        return -1;
}

/* ------------------------------------------------------------------ */
/* The replay                                                          */

/* A record handed to the producer (or waiting for the rate limit),
 * in its DLQ partition's read order until acknowledged. */
struct replay_pending {
        struct replay_pending *next;
        struct replay_part *part;
        int64_t offset;
        bool acked;
};

struct replay_part {
        int32_t id;
        int64_t end;       /* high watermark at start: read below it */
        int64_t next;      /* offset after the last record read */
        int64_t committed; /* the group's (RD_KAFKA_OFFSET_INVALID: none) */
        bool done;
        bool moved; /* read in this run: the position is ours to commit */
        struct replay_pending *head, *tail;
};

struct replay_target {
        char *name;
        rd_kafka_topic_t *rkt; /* on the producer; NULL in a dry run */
        int partition_cnt;
};

/* The record waiting for its turn under --rate. */
struct replay_held {
        rd_kafka_message_t *msg;
        rd_kafka_headers_t *hdrs;
        struct replay_pending *pending;
        size_t target; /* index: targets may be reallocated */
        int32_t partition;
};

struct replay {
        const struct config *conf;
        const struct replay_opts *o;
        char *group;
        rd_kafka_t *consumer;
        rd_kafka_t *producer;
        struct replay_part *parts;
        int parts_cnt;
        struct replay_target *targets;
        size_t targets_cnt;
        struct replay_held held;
        size_t inflight;
        double next_at; /* monotonic seconds: the next record may go then */
        uint64_t read, republished, skipped, refused;
        bool failed; /* an error was logged: stop, exit 1 */
};

static volatile sig_atomic_t replay_signals;

static void replay_on_signal(int sig)
{
        /* First signal: stop reading, deliver, commit. Second: leave. */
        if (replay_signals++ > 0)
                _exit(2);
}

static double replay_now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void replay_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                               void *opaque)
{
        struct replay *r = opaque;
        struct replay_pending *pd = m->_private;
        r->inflight--;
        if (m->err) {
                /* It stays unacknowledged: nothing from it on is committed
                 * in its DLQ partition, so the next run retries it. */
                log_error("republish failed",
                          "\"partition\":%" PRId32 ",\"offset\":%" PRId64
                          ",\"topic\":%s,\"error\":%s",
                          pd->part->id, pd->offset,
                          log_json_escape(rd_kafka_topic_name(m->rkt)),
                          log_json_escape(rd_kafka_err2str(m->err)));
                r->failed = true;
                return;
        }
        pd->acked = true;
        r->republished++;
        struct replay_part *p = pd->part;
        while (p->head && p->head->acked) {
                struct replay_pending *done = p->head;
                p->head = done->next;
                if (!p->head)
                        p->tail = NULL;
                free(done);
        }
}

static void replay_on_error(rd_kafka_t *rk, int err, const char *reason,
                            void *opaque)
{
        struct replay *r = opaque;
        if (err == RD_KAFKA_RESP_ERR__FATAL) {
                char why[512];
                rd_kafka_fatal_error(rk, why, sizeof(why));
                log_error("producer fatal error", "\"error\":%s",
                          log_json_escape(why));
                r->failed = true;
                return;
        }
        log_warn("kafka error", "\"client\":%s,\"code\":%s,\"error\":%s",
                 log_json_escape(rd_kafka_name(rk)),
                 log_json_escape(rd_kafka_err2name(err)),
                 log_json_escape(reason));
}

static int replay_create_clients(struct replay *r, char *errstr,
                                 size_t errstr_size)
{
        static const struct kafka_setting consumer_defaults[] = {
                {"client.id", "moka-bridge-replay"},
                {"socket.nagle.disable", "true"},
                {"queued.max.messages.kbytes", "16384"},
                {NULL, NULL},
        };
        /* Offsets are committed by hand, only past acknowledged copies;
         * partition EOF tells a partition ending in non-data offsets
         * (transaction markers) is done. */
        static const struct kafka_setting consumer_forced[] = {
                {"enable.auto.commit", "false"},
                {"enable.auto.offset.store", "false"},
                {"enable.partition.eof", "true"},
                {"auto.offset.reset", "earliest"},
                {NULL, NULL},
        };
        static const struct kafka_setting producer_defaults[] = {
                {"client.id", "moka-bridge-replay"},
                {"linger.ms", "5"},
                {"compression.type", "lz4"},
                {"socket.nagle.disable", "true"},
                {NULL, NULL},
        };
        static const struct kafka_setting producer_forced[] = {
                {"enable.idempotence", "true"},
                {"acks", "all"},
                {NULL, NULL},
        };
        char err[512];
        rd_kafka_conf_t *kc = kafka_conf_build(r->conf, consumer_defaults,
                                               consumer_forced, errstr,
                                               errstr_size);
        if (!kc)
                return -1;
        if (rd_kafka_conf_set(kc, "group.id", r->group, err, sizeof(err)) !=
            RD_KAFKA_CONF_OK) {
                snprintf(errstr, errstr_size, "--group: %s", err);
                rd_kafka_conf_destroy(kc);
                return -1;
        }
        rd_kafka_conf_set_opaque(kc, r);
        rd_kafka_conf_set_error_cb(kc, replay_on_error);
        r->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, kc, err, sizeof(err));
        if (!r->consumer) {
                rd_kafka_conf_destroy(kc);
                snprintf(errstr, errstr_size, "consumer: %s", err);
                return -1;
        }
        rd_kafka_poll_set_consumer(r->consumer);
        if (r->o->dry_run)
                return 0; /* a dry run produces nothing */

        kc = kafka_conf_build(r->conf, producer_defaults, producer_forced,
                              errstr, errstr_size);
        if (!kc)
                return -1;
        rd_kafka_conf_set_opaque(kc, r);
        rd_kafka_conf_set_dr_msg_cb(kc, replay_on_delivery);
        rd_kafka_conf_set_error_cb(kc, replay_on_error);
        r->producer = rd_kafka_new(RD_KAFKA_PRODUCER, kc, err, sizeof(err));
        if (!r->producer) {
                rd_kafka_conf_destroy(kc);
                snprintf(errstr, errstr_size, "producer: %s", err);
                return -1;
        }
        return 0;
}

/* Partition count of `topic`, 0 when it does not exist, -1 on error.
 * Asked through the consumer, which never auto-creates topics. */
static int replay_partition_cnt(struct replay *r, const char *topic,
                                int32_t **ids, char *errstr,
                                size_t errstr_size)
{
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(r->consumer, topic, NULL);
        const struct rd_kafka_metadata *md = NULL;
        int cnt = -1;
        if (!rkt) {
                snprintf(errstr, errstr_size, "topic %s: %s", topic,
                         rd_kafka_err2str(rd_kafka_last_error()));
                return -1;
        }
        rd_kafka_resp_err_t err =
                rd_kafka_metadata(r->consumer, 0, rkt, &md, REPLAY_TIMEOUT_MS);
        if (err) {
                snprintf(errstr, errstr_size, "metadata of %s: %s", topic,
                         rd_kafka_err2str(err));
                goto cleanup;
        }
        const struct rd_kafka_metadata_topic *t = &md->topics[0];
        if (md->topic_cnt < 1 ||
            t->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
            t->partition_cnt == 0) {
                cnt = 0;
                goto cleanup;
        }
        if (t->err && t->err != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE) {
                snprintf(errstr, errstr_size, "metadata of %s: %s", topic,
                         rd_kafka_err2str(t->err));
                goto cleanup;
        }
        if (ids) {
                *ids = calloc((size_t)t->partition_cnt, sizeof(**ids));
                if (!*ids) {
                        snprintf(errstr, errstr_size, "out of memory");
                        goto cleanup;
                }
                for (int i = 0; i < t->partition_cnt; i++)
                        (*ids)[i] = t->partitions[i].id;
        }
        cnt = t->partition_cnt;
cleanup:
        if (md)
                rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        return cnt;
}

static int replay_cmp_id(const void *a, const void *b)
{
        int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
        return x < y ? -1 : x > y;
}

static rd_kafka_topic_partition_list_t *replay_list(struct replay *r,
                                                    bool pending_only)
{
        rd_kafka_topic_partition_list_t *l =
                rd_kafka_topic_partition_list_new(r->parts_cnt);
        for (int i = 0; i < r->parts_cnt; i++)
                if (!pending_only || !r->parts[i].done)
                        rd_kafka_topic_partition_list_add(l, r->o->dlq,
                                                          r->parts[i].id)
                                ->offset = r->parts[i].next;
        return l;
}

/* Partitions, end offsets (the high watermarks now), the group's
 * position and the start of each partition. */
static int replay_setup(struct replay *r, int64_t *total, char *errstr,
                        size_t errstr_size)
{
        const struct replay_opts *o = r->o;
        int32_t *ids = NULL;
        rd_kafka_topic_partition_list_t *l = NULL;
        int64_t *low = NULL;
        int rc = -1;
        int cnt = replay_partition_cnt(r, o->dlq, &ids, errstr, errstr_size);
        if (cnt == 0)
                snprintf(errstr, errstr_size,
                         "DLQ topic \"%s\" does not exist", o->dlq);
        if (cnt <= 0)
                goto cleanup;
        qsort(ids, (size_t)cnt, sizeof(*ids), replay_cmp_id);
        r->parts = calloc((size_t)cnt, sizeof(*r->parts));
        low = calloc((size_t)cnt, sizeof(*low));
        if (!r->parts || !low) {
                snprintf(errstr, errstr_size, "out of memory");
                goto cleanup;
        }
        r->parts_cnt = cnt;
        for (int i = 0; i < cnt; i++) {
                struct replay_part *p = &r->parts[i];
                p->id = ids[i];
                rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
                        r->consumer, o->dlq, p->id, &low[i], &p->end,
                        REPLAY_TIMEOUT_MS);
                if (err) {
                        snprintf(errstr, errstr_size,
                                 "end offset of %s/%" PRId32 ": %s", o->dlq,
                                 p->id, rd_kafka_err2str(err));
                        goto cleanup;
                }
        }

        /* The group's position: the default start, and what a partition
         * left untouched keeps. */
        l = replay_list(r, false);
        rd_kafka_resp_err_t err =
                rd_kafka_committed(r->consumer, l, REPLAY_TIMEOUT_MS);
        if (err) {
                snprintf(errstr, errstr_size,
                         "committed offsets of group %s: %s", r->group,
                         rd_kafka_err2str(err));
                goto cleanup;
        }
        for (int i = 0; i < cnt; i++) {
                if (l->elems[i].err) {
                        snprintf(errstr, errstr_size,
                                 "committed offset of group %s on "
                                 "%s/%" PRId32 ": %s",
                                 r->group, o->dlq, r->parts[i].id,
                                 rd_kafka_err2str(l->elems[i].err));
                        goto cleanup;
                }
                r->parts[i].committed = l->elems[i].offset >= 0
                                                ? l->elems[i].offset
                                                : RD_KAFKA_OFFSET_INVALID;
        }
        rd_kafka_topic_partition_list_destroy(l);
        l = NULL;

        if (o->start == REPLAY_START_TIME) {
                l = replay_list(r, false);
                for (int i = 0; i < cnt; i++)
                        l->elems[i].offset = o->from_time_ms;
                err = rd_kafka_offsets_for_times(r->consumer, l,
                                                 REPLAY_TIMEOUT_MS);
                if (err) {
                        snprintf(errstr, errstr_size,
                                 "offsets for --from-time: %s",
                                 rd_kafka_err2str(err));
                        goto cleanup;
                }
        }
        *total = 0;
        for (int i = 0; i < cnt; i++) {
                struct replay_part *p = &r->parts[i];
                int64_t start = low[i];
                switch (o->start) {
                case REPLAY_START_COMMITTED:
                        if (p->committed >= 0)
                                start = p->committed;
                        break;
                case REPLAY_START_BEGINNING:
                        break;
                case REPLAY_START_OFFSET:
                        start = o->from_offset;
                        break;
                case REPLAY_START_TIME:
                        if (l->elems[i].err) {
                                snprintf(errstr, errstr_size,
                                         "offset for --from-time on "
                                         "%s/%" PRId32 ": %s",
                                         o->dlq, p->id,
                                         rd_kafka_err2str(l->elems[i].err));
                                goto cleanup;
                        }
                        /* -1: no record that late */
                        start = l->elems[i].offset >= 0 ? l->elems[i].offset
                                                        : p->end;
                        break;
                }
                /* Before the log start means the first record kept;
                 * past the end means nothing to read. */
                if (start < low[i])
                        start = low[i];
                if (start > p->end)
                        start = p->end;
                p->next = start;
                p->done = start >= p->end;
                *total += p->end - start;
        }
        rc = 0;
cleanup:
        if (l)
                rd_kafka_topic_partition_list_destroy(l);
        free(ids);
        free(low);
        return rc;
}

static struct replay_part *replay_part_of(struct replay *r, int32_t id)
{
        if (id >= 0 && id < r->parts_cnt && r->parts[id].id == id)
                return &r->parts[id];
        for (int i = 0; i < r->parts_cnt; i++)
                if (r->parts[i].id == id)
                        return &r->parts[i];
        return NULL;
}

/* Everything below the end offset is read: what is left up to it is not
 * data (transaction markers, aborted records). Stop fetching it. */
static void replay_part_done(struct replay *r, struct replay_part *p)
{
        p->done = true;
        if (p->next < p->end) {
                p->next = p->end;
                p->moved = true;
        }
        rd_kafka_topic_partition_list_t *l =
                rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, r->o->dlq, p->id);
        rd_kafka_pause_partitions(r->consumer, l);
        rd_kafka_topic_partition_list_destroy(l);
}

static bool replay_all_done(const struct replay *r)
{
        for (int i = 0; i < r->parts_cnt; i++)
                if (!r->parts[i].done)
                        return false;
        return true;
}

static int64_t replay_remaining(const struct replay *r)
{
        int64_t n = 0;
        for (int i = 0; i < r->parts_cnt; i++)
                if (!r->parts[i].done && r->parts[i].end > r->parts[i].next)
                        n += r->parts[i].end - r->parts[i].next;
        return n;
}

/* Copies header `name` (the last one) into buf as a C string.
 * Returns 1 when present, 0 when absent, -1 when too long or not text. */
static int replay_header(const rd_kafka_headers_t *h, const char *name,
                         char *buf, size_t size)
{
        const void *val;
        size_t len;
        buf[0] = '\0';
        if (!h || rd_kafka_header_get_last(h, name, &val, &len) !=
                          RD_KAFKA_RESP_ERR_NO_ERROR)
                return 0;
        if (!val)
                len = 0;
        if (len >= size || (len && memchr(val, '\0', len)))
                return -1;
        if (len)
                memcpy(buf, val, len);
        buf[len] = '\0';
        return 1;
}

static bool replay_matches(const char **list, size_t cnt, int have,
                           const char *value)
{
        if (!list)
                return true;
        for (size_t i = 0; have == 1 && i < cnt; i++)
                if (strcmp(list[i], value) == 0)
                        return true;
        return false;
}

/* The target topic, looked up on first use: it must exist (replay
 * creates no topics). NULL with r->failed set otherwise. */
static struct replay_target *replay_target(struct replay *r, const char *name,
                                           size_t *index)
{
        for (size_t i = 0; i < r->targets_cnt; i++) {
                if (strcmp(r->targets[i].name, name) == 0) {
                        *index = i;
                        return &r->targets[i];
                }
        }
        char err[512];
        int cnt = replay_partition_cnt(r, name, NULL, err, sizeof(err));
        if (cnt <= 0) {
                if (cnt == 0)
                        log_error("target topic does not exist",
                                  "\"topic\":%s", log_json_escape(name));
                else
                        log_error("target topic lookup failed",
                                  "\"topic\":%s,\"error\":%s",
                                  log_json_escape(name),
                                  log_json_escape(err));
                r->failed = true;
                return NULL;
        }
        struct replay_target *n =
                realloc(r->targets, (r->targets_cnt + 1) * sizeof(*n));
        if (!n)
                goto oom;
        r->targets = n;
        struct replay_target *t = &r->targets[r->targets_cnt];
        memset(t, 0, sizeof(*t));
        t->partition_cnt = cnt;
        t->name = strdup(name);
        if (!t->name)
                goto oom;
        if (r->producer) {
                t->rkt = rd_kafka_topic_new(r->producer, name, NULL);
                if (!t->rkt) {
                        log_error("target topic", "\"topic\":%s,\"error\":%s",
                                  log_json_escape(name),
                                  log_json_escape(rd_kafka_err2str(
                                          rd_kafka_last_error())));
                        free(t->name);
                        r->failed = true;
                        return NULL;
                }
        }
        *index = r->targets_cnt++;
        return t;
oom:
        log_error("out of memory", NULL);
        r->failed = true;
        return NULL;
}

/* A JSON string, or null when the header was absent or unreadable. */
static const char *replay_json_or_null(int have, const char *s)
{
        return have == 1 ? log_json_escape(s) : "null";
}

static void replay_refuse(struct replay *r, const rd_kafka_message_t *m,
                          const char *topic, int have_reason,
                          const char *reason, int have_code,
                          const char *code, int64_t new_count,
                          const char *why)
{
        r->refused++;
        char count[24] = "null";
        if (new_count >= 0)
                snprintf(count, sizeof(count), "%" PRId64, new_count);
        if (r->o->dry_run) {
                printf("{\"action\":\"refuse\",\"partition\":%" PRId32
                       ",\"offset\":%" PRId64 ",\"topic\":%s,\"reason\":%s,"
                       "\"result_code\":%s,\"replay_count\":%s,"
                       "\"why\":%s}\n",
                       m->partition, m->offset,
                       replay_json_or_null(topic != NULL, topic),
                       replay_json_or_null(have_reason, reason),
                       replay_json_or_null(have_code, code), count,
                       log_json_escape(why));
                return;
        }
        log_warn("record refused",
                 "\"partition\":%" PRId32 ",\"offset\":%" PRId64
                 ",\"topic\":%s,\"reason\":%s,\"result_code\":%s,\"why\":%s",
                 m->partition, m->offset,
                 replay_json_or_null(topic != NULL, topic),
                 replay_json_or_null(have_reason, reason),
                 replay_json_or_null(have_code, code), log_json_escape(why));
}

/* One DLQ record below its partition's end: skip, refuse, or republish
 * (held for the rate limit; in a dry run, printed). Takes `m`. */
static void replay_record(struct replay *r, struct replay_part *p,
                          rd_kafka_message_t *m)
{
        const struct replay_opts *o = r->o;
        rd_kafka_headers_t *h = NULL;
        rd_kafka_message_headers(m, &h);
        char reason[64], code[512], origin[REPLAY_MAX_TOPIC + 1];
        char count_s[24], opart_s[24], why[160];
        int have_reason = replay_header(h, "dlq.reason", reason,
                                        sizeof(reason));
        int have_code = replay_header(h, "dlq.result-code", code,
                                      sizeof(code));
        r->read++;

        if (!replay_matches(o->reasons, o->reasons_cnt, have_reason,
                            reason) ||
            !replay_matches(o->result_codes, o->result_codes_cnt, have_code,
                            code)) {
                r->skipped++;
                goto moved;
        }

        /* Records written before the header existed count as 0. */
        int64_t count = 0;
        int have_count = replay_header(h, "dlq.replay-count", count_s,
                                       sizeof(count_s));
        if (have_count == -1 ||
            (have_count == 1 &&
             replay_parse_int(count_s, 0, INT64_MAX - 1, &count))) {
                replay_refuse(r, m, o->to, have_reason, reason, have_code,
                              code, -1, "dlq.replay-count is not a number");
                goto moved;
        }
        const char *topic = o->to;
        if (!topic) {
                int have = replay_header(h, "dlq.original-topic", origin,
                                         sizeof(origin));
                if (have != 1 || !origin[0]) {
                        replay_refuse(r, m, NULL, have_reason, reason,
                                      have_code, code, count + 1,
                                      "no dlq.original-topic header: "
                                      "use --to TOPIC");
                        goto moved;
                }
                if (!replay_topic_name_ok(origin, strlen(origin))) {
                        replay_refuse(r, m, NULL, have_reason, reason,
                                      have_code, code, count + 1,
                                      "dlq.original-topic is not a valid "
                                      "topic name");
                        goto moved;
                }
                topic = origin;
        }
        if (count >= o->max_replay_count) {
                snprintf(why, sizeof(why),
                         "replayed %" PRId64 " times already "
                         "(--max-replay-count %d)",
                         count, o->max_replay_count);
                replay_refuse(r, m, topic, have_reason, reason, have_code,
                              code, count + 1, why);
                goto moved;
        }

        size_t ti;
        struct replay_target *t = replay_target(r, topic, &ti);
        if (!t) {
                /* Not moved past: the next run starts at this record. */
                rd_kafka_message_destroy(m);
                return;
        }
        if (o->dry_run) {
                r->republished++;
                printf("{\"action\":\"republish\",\"partition\":%" PRId32
                       ",\"offset\":%" PRId64 ",\"topic\":%s,\"reason\":%s,"
                       "\"result_code\":%s,\"replay_count\":%" PRId64 "}\n",
                       m->partition, m->offset, log_json_escape(topic),
                       replay_json_or_null(have_reason, reason),
                       replay_json_or_null(have_code, code), count + 1);
                goto moved;
        }

        /* Back to the partition it was read from, so it stays in order
         * with its key's later events whatever partitioner the producer
         * used; with --to, the partitioner decides. */
        int32_t partition = RD_KAFKA_PARTITION_UA;
        int64_t opart;
        if (!o->to &&
            replay_header(h, "dlq.original-partition", opart_s,
                          sizeof(opart_s)) == 1 &&
            replay_parse_int(opart_s, 0, t->partition_cnt - 1, &opart) == 0)
                partition = (int32_t)opart;

        struct replay_pending *pd = calloc(1, sizeof(*pd));
        size_t hcnt = h ? rd_kafka_header_cnt(h) : 0;
        rd_kafka_headers_t *out = rd_kafka_headers_new(hcnt + 1);
        if (!pd) {
                rd_kafka_headers_destroy(out);
                log_error("out of memory", NULL);
                r->failed = true;
                rd_kafka_message_destroy(m);
                return;
        }
        const char *name;
        const void *val;
        size_t size;
        for (size_t i = 0; h && rd_kafka_header_get_all(h, i, &name, &val,
                                                         &size) ==
                                       RD_KAFKA_RESP_ERR_NO_ERROR;
             i++)
                if (strncmp(name, "dlq.", 4) != 0)
                        rd_kafka_header_add(out, name, -1, val,
                                            (ssize_t)size);
        snprintf(count_s, sizeof(count_s), "%" PRId64, count + 1);
        rd_kafka_header_add(out, "dlq.replay-count", -1, count_s, -1);

        /* Queued now, so that no commit passes it while it waits. */
        pd->part = p;
        pd->offset = m->offset;
        if (p->tail)
                p->tail->next = pd;
        else
                p->head = pd;
        p->tail = pd;
        p->next = m->offset + 1;
        p->moved = true;
        r->held = (struct replay_held){.msg = m,
                                       .hdrs = out,
                                       .pending = pd,
                                       .target = ti,
                                       .partition = partition};
        return;
moved:
        p->next = m->offset + 1;
        p->moved = true;
        rd_kafka_message_destroy(m);
}

static void replay_message(struct replay *r, rd_kafka_message_t *m)
{
        struct replay_part *p = replay_part_of(r, m->partition);
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                if (p && !p->done && m->offset >= p->end)
                        replay_part_done(r, p);
        } else if (m->err) {
                /* These do not heal by waiting; the rest are retried. */
                rd_kafka_resp_err_t e = m->err;
                bool fatal =
                        e == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
                        e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                        e == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
                        e == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION;
                log_write(fatal ? LOG_ERROR : LOG_WARN, "consumer error",
                          "\"partition\":%" PRId32 ",\"error\":%s",
                          m->partition,
                          log_json_escape(rd_kafka_message_errstr(m)));
                r->failed = r->failed || fatal;
        } else if (p && !p->done && m->offset >= p->end) {
                /* Added after the start: not this run's. */
                replay_part_done(r, p);
        } else if (p && !p->done && m->offset >= p->next) {
                replay_record(r, p, m);
                if (p->next >= p->end)
                        replay_part_done(r, p);
                return;
        }
        rd_kafka_message_destroy(m);
}

/* Seconds until the held record may go: a smooth token bucket (one
 * record every 1/rate s, no credit saved while idle). */
static double replay_rate_wait(struct replay *r)
{
        if (r->o->rate <= 0)
                return 0;
        double now = replay_now();
        if (r->next_at < now - 1.0 / r->o->rate)
                r->next_at = now;
        return r->next_at > now ? r->next_at - now : 0;
}

static void replay_produce_held(struct replay *r)
{
        struct replay_held *hd = &r->held;
        rd_kafka_message_t *m = hd->msg;
        struct replay_target *t = &r->targets[hd->target];
        rd_kafka_resp_err_t err;
        for (;;) {
                err = rd_kafka_producev(
                        r->producer, RD_KAFKA_V_RKT(t->rkt),
                        RD_KAFKA_V_PARTITION(hd->partition),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                        RD_KAFKA_V_VALUE(m->payload, m->len),
                        RD_KAFKA_V_KEY(m->key, m->key_len),
                        RD_KAFKA_V_HEADERS(hd->hdrs),
                        RD_KAFKA_V_OPAQUE(hd->pending), RD_KAFKA_V_END);
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                        break;
                rd_kafka_poll(r->producer, 10);
        }
        if (err) {
                /* Left unacknowledged: no commit passes it. */
                log_error("republish failed",
                          "\"partition\":%" PRId32 ",\"offset\":%" PRId64
                          ",\"topic\":%s,\"error\":%s",
                          m->partition, m->offset, log_json_escape(t->name),
                          log_json_escape(rd_kafka_err2str(err)));
                rd_kafka_headers_destroy(hd->hdrs); /* not taken over */
                r->failed = true;
        } else {
                r->inflight++;
        }
        if (r->o->rate > 0)
                r->next_at += 1.0 / r->o->rate;
        rd_kafka_message_destroy(m);
        memset(hd, 0, sizeof(*hd));
}

/* Commits, per partition read in this run, the offset after the longest
 * prefix of records skipped, refused or acknowledged. */
static int replay_commit(struct replay *r)
{
        if (r->o->dry_run)
                return 0;
        rd_kafka_topic_partition_list_t *l =
                rd_kafka_topic_partition_list_new(r->parts_cnt);
        for (int i = 0; i < r->parts_cnt; i++) {
                struct replay_part *p = &r->parts[i];
                int64_t at = p->head ? p->head->offset : p->next;
                if (p->moved && at != p->committed)
                        rd_kafka_topic_partition_list_add(l, r->o->dlq, p->id)
                                ->offset = at;
        }
        int rc = 0;
        if (l->cnt > 0) {
                rd_kafka_resp_err_t err = rd_kafka_commit(r->consumer, l, 0);
                if (err) {
                        log_warn("commit failed", "\"group\":%s,\"error\":%s",
                                 log_json_escape(r->group),
                                 log_json_escape(rd_kafka_err2str(err)));
                        rc = -1;
                } else {
                        for (int i = 0; i < l->cnt; i++)
                                replay_part_of(r, l->elems[i].partition)
                                        ->committed = l->elems[i].offset;
                }
        }
        rd_kafka_topic_partition_list_destroy(l);
        return rc;
}

static void replay_log_counts(struct replay *r, enum log_level level,
                              const char *msg, const char *status,
                              double started)
{
        log_write(level, msg,
                  "\"dlq\":%s,\"group\":%s,\"dry_run\":%s%s%s%s"
                  ",\"read\":%" PRIu64 ",\"republished\":%" PRIu64
                  ",\"skipped\":%" PRIu64 ",\"refused\":%" PRIu64
                  ",\"in_flight\":%zu,\"remaining\":%" PRId64
                  ",\"elapsed_ms\":%.0f",
                  log_json_escape(r->o->dlq), log_json_escape(r->group),
                  r->o->dry_run ? "true" : "false",
                  status ? ",\"status\":\"" : "", status ? status : "",
                  status ? "\"" : "", r->read, r->republished, r->skipped,
                  r->refused, r->inflight, replay_remaining(r),
                  (replay_now() - started) * 1000);
}

/* Serves delivery reports for up to ms (or sleeps in a dry run). */
static void replay_wait(struct replay *r, int ms)
{
        if (r->producer)
                rd_kafka_poll(r->producer, ms);
        else if (ms > 0)
                usleep((useconds_t)ms * 1000);
}

static void replay_destroy(struct replay *r)
{
        if (r->held.msg) {
                rd_kafka_message_destroy(r->held.msg);
                rd_kafka_headers_destroy(r->held.hdrs);
        }
        for (size_t i = 0; i < r->targets_cnt; i++) {
                if (r->targets[i].rkt)
                        rd_kafka_topic_destroy(r->targets[i].rkt);
                free(r->targets[i].name);
        }
        free(r->targets);
        if (r->consumer) {
                rd_kafka_consumer_close(r->consumer);
                rd_kafka_destroy(r->consumer);
        }
        if (r->producer)
                rd_kafka_destroy(r->producer);
        for (int i = 0; i < r->parts_cnt; i++) {
                struct replay_pending *pd = r->parts[i].head;
                while (pd) {
                        struct replay_pending *next = pd->next;
                        free(pd);
                        pd = next;
                }
        }
        free(r->parts);
        free(r->group);
}

int replay_run(const struct config *conf, const struct replay_opts *o)
{
        struct replay r = {.conf = conf, .o = o};
        char err[1024];
        int rc = 1;
        double started = replay_now();
        if (o->group)
                r.group = strdup(o->group);
        else if (asprintf(&r.group, "%s.replay", conf->kafka_group_id) < 0)
                r.group = NULL;
        if (!r.group) {
                log_error("out of memory", NULL);
                return 1;
        }
        int64_t total = 0;
        if (replay_create_clients(&r, err, sizeof(err)) ||
            replay_setup(&r, &total, err, sizeof(err))) {
                log_error("replay start-up failed", "\"error\":%s",
                          log_json_escape(err));
                goto cleanup;
        }

        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = replay_on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        static const char *const start_names[] = {
                "committed", "beginning", "offset", "time"};
        log_info("replay started",
                 "\"dlq\":%s,\"group\":%s,\"start\":\"%s\",\"partitions\":%d"
                 ",\"records\":%" PRId64 ",\"to\":%s,\"rate\":%g"
                 ",\"max_replay_count\":%d,\"dry_run\":%s",
                 log_json_escape(o->dlq), log_json_escape(r.group),
                 start_names[o->start], r.parts_cnt, total,
                 o->to ? log_json_escape(o->to) : "null", o->rate,
                 o->max_replay_count, o->dry_run ? "true" : "false");

        rd_kafka_topic_partition_list_t *l = replay_list(&r, true);
        rd_kafka_resp_err_t e =
                l->cnt ? rd_kafka_assign(r.consumer, l) : 0;
        rd_kafka_topic_partition_list_destroy(l);
        if (e) {
                log_error("assign failed", "\"error\":%s",
                          log_json_escape(rd_kafka_err2str(e)));
                goto cleanup;
        }

        double tick = replay_now();
        while (!r.failed && !replay_signals &&
               (r.held.msg || !replay_all_done(&r))) {
                if (r.held.msg) {
                        double wait = replay_rate_wait(&r);
                        if (wait > 0)
                                replay_wait(&r, wait > 0.1 ? 100
                                                           : (int)ceil(
                                                                     wait *
                                                                     1000));
                        else
                                replay_produce_held(&r);
                } else if (r.inflight >= REPLAY_MAX_INFLIGHT) {
                        replay_wait(&r, 100);
                } else {
                        rd_kafka_message_t *m =
                                rd_kafka_consumer_poll(r.consumer, 100);
                        if (m)
                                replay_message(&r, m);
                }
                if (r.producer)
                        rd_kafka_poll(r.producer, 0);
                if (replay_now() - tick >= REPLAY_TICK_MS / 1000.0) {
                        tick = replay_now();
                        replay_commit(&r);
                        replay_log_counts(&r, LOG_INFO, "replay progress",
                                          NULL, started);
                }
        }
        bool interrupted = !r.failed && replay_signals;

        /* A record still waiting for the rate limit is not produced: it
         * stays pending, so no commit passes it, and counts as unread. */
        if (r.held.msg) {
                r.read--;
                r.held.pending->part->next = r.held.pending->offset;
                r.held.pending->part->done = false;
                rd_kafka_message_destroy(r.held.msg);
                rd_kafka_headers_destroy(r.held.hdrs);
                memset(&r.held, 0, sizeof(r.held));
        }
        /* Deliver what is in flight; the idempotent producer retries until
         * message.timeout.ms. */
        while (r.producer && rd_kafka_outq_len(r.producer) > 0 &&
               !rd_kafka_fatal_error(r.producer, NULL, 0)) {
                rd_kafka_poll(r.producer, 100);
                if (replay_now() - tick >= REPLAY_TICK_MS / 1000.0) {
                        tick = replay_now();
                        replay_commit(&r);
                        replay_log_counts(&r, LOG_INFO, "replay progress",
                                          NULL, started);
                }
        }
        bool committed = replay_commit(&r) == 0;
        if (!committed)
                log_error("final commit failed: the next run may replay "
                          "records again",
                          "\"group\":%s", log_json_escape(r.group));
        const char *status = r.failed      ? "failed"
                             : interrupted ? "interrupted"
                                           : "complete";
        if (o->dry_run) {
                printf("{\"action\":\"summary\",\"read\":%" PRIu64
                       ",\"republish\":%" PRIu64 ",\"skipped\":%" PRIu64
                       ",\"refuse\":%" PRIu64 ",\"status\":\"%s\"}\n",
                       r.read, r.republished, r.skipped, r.refused, status);
                fflush(stdout);
        }
        replay_log_counts(&r, r.failed ? LOG_ERROR : LOG_INFO,
                          "replay finished", status, started);
        rc = r.failed || interrupted || !committed ? 1 : 0;
cleanup:
        replay_destroy(&r);
        return rc;
}

int replay_main(int argc, char **argv)
{
        struct replay_opts o;
        char err[1024];
        if (replay_parse_args(argc - 1, argv + 1, &o, err, sizeof(err))) {
                fprintf(stderr, "moka-bridge replay: %s\n\n", err);
                replay_usage(stderr);
                return 1;
        }
        struct config *conf = config_load(o.config_path, NULL, err,
                                          sizeof(err));
        if (!conf) {
                fprintf(stderr, "%s\n", err);
                replay_opts_free(&o);
                return 1;
        }
        log_set_level(conf->log_level);
        int rc = replay_run(conf, &o);
        config_destroy(conf);
        replay_opts_free(&o);
        return rc;
}
