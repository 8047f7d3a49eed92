/* Configuration: one table (config_keys[]) describes every key, and loading,
 * environment overrides, validation, printing and the reference all walk it.
 *
 * The top-level `dealers` list has a second table (config_dealer_keys[])
 * for the keys of its entries.
 *
 * config_load() runs once at start-up, on the main thread:
 *   1. table defaults,
 *   2. the libconfig file (syntax, unknown groups and keys, types, ranges),
 *      and the `dealers` list,
 *   3. MOKA_BRIDGE_<GROUP>_<KEY> and MOKA_BRIDGE_DEALERS_<NAME>_<KEY>
 *      environment overrides,
 *   4. moka.password_file and the dealers' password_file,
 *   5. derived topic names, dealers[0] from moka.*, and checks across keys
 *      (like librdkafka's rd_kafka_conf_finalize).
 * The first error stops it; messages name the file and line of the key when
 * its value came from the file, and never contain a secret's value. */

#include "config.h"

/* config.h maps config_destroy to moka_config_destroy; from here on the name
 * is libconfig's. */
#undef config_destroy

#include <libconfig.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

#define CONFIG_ENV_PREFIX "MOKA_BRIDGE_"
#define CONFIG_TOPIC_MAX 249
/* A password file is a small secret; anything bigger is a wrong path. */
#define CONFIG_SECRET_FILE_MAX 65536

enum config_key_type {
        CONFIG_KEY_STRING,
        CONFIG_KEY_INT,
        CONFIG_KEY_BOOL,
        CONFIG_KEY_PROPERTIES, /* kafka.properties: a group of strings */
};

/* A check of one key's final value. Writes why `value` is wrong into `msg`
 * (never the value of a secret) and returns false. `where` is the group
 * ("moka", "dealers[2]") for messages that name a sibling key. NULL `valid`:
 * checked across keys, `allowed` is only for the reference. */
struct config_check {
        bool (*valid)(const char *value, const char *where, char *msg,
                      size_t size);
        const char *allowed; /* what it accepts, for the reference */
};

struct config_key {
        const char *group;
        const char *name;
        enum config_key_type type;
        size_t offset; /* of the field in struct config (config_dealer) */
        const char *def_str;
        int def_int; /* ints, and bools as 0/1 */
        int min, max;
        bool secret;
        bool url_secret; /* a URL whose user:password@ is secret */
        const struct config_check *check;
        /* An empty value becomes <group>.<derive_from> + derive_suffix. */
        const char *derive_from;
        const char *derive_suffix;
        const char *desc; /* Markdown, no '|' */
};

static bool config_valid_required(const char *value, const char *where,
                                  char *msg, size_t size);
static bool config_valid_password(const char *value, const char *where,
                                  char *msg, size_t size);
static bool config_valid_url(const char *value, const char *where, char *msg,
                             size_t size);
static bool config_valid_topic(const char *value, const char *where,
                               char *msg, size_t size);
static bool config_valid_level(const char *value, const char *where,
                               char *msg, size_t size);
static bool config_valid_dealer_name(const char *value, const char *where,
                                     char *msg, size_t size);
static bool config_valid_delivery(const char *value, const char *where,
                                  char *msg, size_t size);
static bool config_valid_probe(const char *value, const char *where,
                               char *msg, size_t size);
static bool config_valid_ca_file(const char *value, const char *where,
                                 char *msg, size_t size);
static bool config_valid_proxy(const char *value, const char *where,
                               char *msg, size_t size);

static const struct config_check config_check_required = {
        config_valid_required, "non-empty"};
static const struct config_check config_check_password = {
        config_valid_password,
        "non-empty (from `password` or `password_file`)"};
static const struct config_check config_check_url = {
        config_valid_url, "`http://...` or `https://...`"};
static const struct config_check config_check_topic = {
        config_valid_topic, "Kafka topic name: `[A-Za-z0-9._-]`, 1 .. 249"};
static const struct config_check config_check_level = {
        config_valid_level, "`error`, `warn`, `info`, `debug`"};
static const struct config_check config_check_dealer_name = {
        config_valid_dealer_name, "`[A-Za-z0-9._-]`, unique among dealers"};
static const struct config_check config_check_delivery = {
        config_valid_delivery, "`at-least-once`, `exactly-once`"};
static const struct config_check config_check_probe = {
        config_valid_probe,
        "`customer-update-then-sale-list`, `customer-update`, `sale-list`"};
static const struct config_check config_check_default_dealer = {
        NULL, "`\"\"` or the `name` of a dealer"};
static const struct config_check config_check_ca_file = {
        config_valid_ca_file, "`\"\"` or a readable file"};
static const struct config_check config_check_proxy = {
        config_valid_proxy,
        "`\"\"` or `http://`, `https://`, `socks4://`, `socks4a://`, "
        "`socks5://`, `socks5h://` `[user:password@]host[:port]`"};

#define CONFIG_STR(g, n, field, def, chk, text)                               \
        {.group = g, .name = n, .type = CONFIG_KEY_STRING,                    \
         .offset = offsetof(struct config, field), .def_str = def,            \
         .check = chk, .desc = text}
#define CONFIG_SECRET(g, n, field, chk, text)                                 \
        {.group = g, .name = n, .type = CONFIG_KEY_STRING,                    \
         .offset = offsetof(struct config, field), .def_str = "",             \
         .secret = true, .check = chk, .desc = text}
#define CONFIG_TOPIC_OUT(n, field, from, suffix, text)                        \
        {.group = "topics", .name = n, .type = CONFIG_KEY_STRING,             \
         .offset = offsetof(struct config, field), .def_str = "",             \
         .check = &config_check_topic, .derive_from = from,                   \
         .derive_suffix = suffix, .desc = text}
#define CONFIG_INT(g, n, field, def, lo, hi, text)                            \
        {.group = g, .name = n, .type = CONFIG_KEY_INT,                       \
         .offset = offsetof(struct config, field), .def_int = def,            \
         .min = lo, .max = hi, .desc = text}
#define CONFIG_BOOL(g, n, field, def, text)                                   \
        {.group = g, .name = n, .type = CONFIG_KEY_BOOL,                      \
         .offset = offsetof(struct config, field), .def_int = def,            \
         .desc = text}

/* Same order as config/moka-bridge.conf, which config_print follows. */
static const struct config_key config_keys[] = {
        CONFIG_STR("kafka", "brokers", kafka_brokers, "127.0.0.1:9092",
                   &config_check_required,
                   "Bootstrap servers, comma separated."),
        CONFIG_STR("kafka", "group_id", kafka_group_id, "moka-bridge",
                   &config_check_required,
                   "Consumer group shared by all replicas."),
        CONFIG_STR("kafka", "group_instance_id", kafka_group_instance_id, "",
                   NULL,
                   "Static membership id (e.g. the pod name); empty = "
                   "dynamic membership."),
        CONFIG_STR("kafka", "delivery", kafka_delivery, "at-least-once",
                   &config_check_delivery,
                   "Delivery guarantee. `at-least-once`: offsets are "
                   "committed once replies are acknowledged (a crash can "
                   "answer an event twice). `exactly-once`: replies, DLQ "
                   "records and input offsets are committed in one Kafka "
                   "transaction per batch; readers must use "
                   "`isolation.level=read_committed` (docs/exactly-once.md)."),
        CONFIG_STR("kafka", "transactional_id", kafka_transactional_id, "",
                   NULL,
                   "Exactly-once only: the producer's `transactional.id`. "
                   "Must be unique across running instances and stable "
                   "across restarts of one instance (e.g. the StatefulSet "
                   "pod name). Empty = `<group_id>-<group_instance_id>`, or "
                   "`<group_id>-<hostname>` without static membership."),
        CONFIG_INT("kafka", "transaction_interval_ms",
                   kafka_transaction_interval_ms, 100, 1, 30000,
                   "Exactly-once only: a transaction is committed this long "
                   "after it began (milliseconds), or earlier when it holds "
                   "`transaction_max_events` events."),
        CONFIG_INT("kafka", "transaction_max_events",
                   kafka_transaction_max_events, 10000, 1, 1000000,
                   "Exactly-once only: most events answered in one "
                   "transaction."),
        {.group = "kafka", .name = "properties",
         .type = CONFIG_KEY_PROPERTIES,
         .offset = offsetof(struct config, kafka_properties),
         .desc = "librdkafka properties for both the consumer and the "
                 "producer, passed verbatim. libconfig names cannot "
                 "contain dots: write `security_protocol = \"ssl\";` for "
                 "`security.protocol`. Values: strings, integers or "
                 "booleans. File only."},

        CONFIG_STR("moka", "base_url", moka_base_url,
                   "https://service.refmokaunited.com", &config_check_url,
                   "Moka API base URL. The default is Moka's test host; "
                   "live is `https://service.mokaunited.com`."),
        CONFIG_STR("moka", "dealer_name", moka_dealer_name, "default",
                   &config_check_dealer_name,
                   "Name of the dealer made of the `moka.*` keys (the "
                   "`moka-dealer` header value that selects it)."),
        CONFIG_STR("moka", "dealer_code", moka_dealer_code, "",
                   &config_check_required, "Dealer code of the Moka account."),
        CONFIG_STR("moka", "username", moka_username, "",
                   &config_check_required, "API user of the Moka account."),
        CONFIG_SECRET("moka", "password", moka_password,
                      &config_check_password,
                      "API password. Give either `password` or "
                      "`password_file`."),
        CONFIG_STR("moka", "password_file", moka_password_file, "", NULL,
                   "File whose content, trailing newlines stripped, is the "
                   "API password (e.g. a Kubernetes secret mount). Re-read "
                   "when it changes (checked every 2 s) and on SIGHUP: a "
                   "rotated password needs no restart."),
        CONFIG_INT("moka", "connect_timeout_ms", moka_connect_timeout_ms,
                   5000, 100, 120000,
                   "TCP/TLS connect timeout, milliseconds."),
        CONFIG_INT("moka", "request_timeout_ms", moka_request_timeout_ms,
                   15000, 100, 600000,
                   "Whole-request timeout, milliseconds."),
        CONFIG_INT("moka", "rate_limit", moka_rate_limit, 0, 0, 1000000,
                   "Most Moka requests per second (token bucket); 0 = no "
                   "limit."),
        CONFIG_INT("moka", "rate_burst", moka_rate_burst, 0, 0, 1000000,
                   "Requests that may go at once above the rate; 0 = one "
                   "second's worth of `rate_limit`."),
        CONFIG_STR("moka", "default_dealer", moka_default_dealer, "",
                   &config_check_default_dealer,
                   "Dealer used for events without a `moka-dealer` header; "
                   "empty = the `moka.*` dealer."),
        CONFIG_INT("moka", "max_inflight_requests",
                   moka_max_inflight_requests, 256, 1, 4096,
                   "Cap on concurrent HTTP requests to Moka."),
        CONFIG_BOOL("moka", "tls_verify", moka_tls_verify, 1,
                    "Verify the server's TLS certificate. `false` is refused "
                    "unless `allow_insecure` is `true`."),
        CONFIG_STR("moka", "ca_file", moka_ca_file, "", &config_check_ca_file,
                   "PEM bundle of the CA certificates that verify Moka's "
                   "certificate (a private CA, a TLS-inspecting proxy); "
                   "empty = the system's store."),
        {.group = "moka", .name = "proxy", .type = CONFIG_KEY_STRING,
         .offset = offsetof(struct config, moka_proxy), .def_str = "",
         .url_secret = true, .check = &config_check_proxy,
         .desc = "Egress proxy for every Moka request; empty = none. The "
                 "`http_proxy`, `HTTPS_PROXY`, `ALL_PROXY` and `no_proxy` "
                 "environment variables are always ignored. Credentials in "
                 "it are masked like a password."},
        CONFIG_BOOL("moka", "allow_insecure", moka_allow_insecure, 0,
                    "Allow `tls_verify = false` and a plain `http://` "
                    "`base_url` to a host that is not loopback (a "
                    "simulator, a test host); each start then logs a "
                    "warning."),

        CONFIG_STR("topics", "customer_update", topic_customer_update,
                   "moka.customer.update", &config_check_topic,
                   "Input topic of customer updates."),
        CONFIG_STR("topics", "sale_list", topic_sale_list,
                   "moka.sale-list.request", &config_check_topic,
                   "Input topic of sale-list requests."),
        CONFIG_TOPIC_OUT("customer_update_reply", topic_customer_update_reply,
                         "customer_update", ".reply",
                         "Replies to customer updates."),
        CONFIG_TOPIC_OUT("customer_update_dlq", topic_customer_update_dlq,
                         "customer_update", ".dlq",
                         "Dead letters of customer updates."),
        CONFIG_TOPIC_OUT("sale_list_reply", topic_sale_list_reply,
                         "sale_list", ".reply",
                         "Replies to sale-list requests."),
        CONFIG_TOPIC_OUT("sale_list_dlq", topic_sale_list_dlq, "sale_list",
                         ".dlq", "Dead letters of sale-list requests."),
        CONFIG_STR("topics", "reply_topic_allow", topic_reply_allow, "", NULL,
                   "Topics an event's `reply-topic` header may name, comma "
                   "separated; an entry ending in `*` is a prefix. Empty = "
                   "the header is never honoured (such events are answered "
                   "`Bridge.ReplyTopicNotAllowed`)."),

        CONFIG_INT("retry", "max_attempts", retry_max_attempts, 5, 1, 100,
                   "Total attempts per event for transient failures, first "
                   "call included."),
        CONFIG_INT("retry", "base_ms", retry_base_ms, 200, 1, 600000,
                   "Full-jitter backoff base: delay = random(0, min(cap_ms, "
                   "base_ms * 2^attempt)). At most `cap_ms`."),
        CONFIG_INT("retry", "cap_ms", retry_cap_ms, 10000, 1, 3600000,
                   "Largest backoff delay, milliseconds."),
        CONFIG_INT("retry", "max_elapsed_ms", retry_max_elapsed_ms, 60000, 0,
                   86400000,
                   "Stop retrying once this much time has passed since the "
                   "first attempt; 0 = unbounded."),

        CONFIG_INT("limits", "max_pending_events", limits_max_pending_events,
                   10000, 1, 1000000,
                   "Events consumed but not yet committable (all "
                   "partitions). At the limit the bridge stops taking "
                   "records (librdkafka's prefetched queue waits); after "
                   "500 ms at the limit it pauses fetching until half of "
                   "them are done."),
        CONFIG_INT("limits", "shutdown_timeout_ms",
                   limits_shutdown_timeout_ms, 30000, 0, 600000,
                   "On SIGTERM, how long in-flight work may take before it "
                   "is left to the next owner, milliseconds."),
        CONFIG_INT("limits", "max_event_bytes", limits_max_event_bytes,
                   1048576, 1, 67108864,
                   "Largest accepted input value, bytes."),

        CONFIG_INT("outage", "failure_threshold", outage_failure_threshold, 5,
                   1, 10000,
                   "Consecutive transport-level failures (connection "
                   "errors, timeouts, 5xx, 401/403/404, TLS, non-JSON "
                   "answers) across all events, with no Moka answer in "
                   "between, that declare an outage: partitions pause and "
                   "one probe at a time checks Moka."),
        CONFIG_INT("outage", "probe_interval_ms", outage_probe_interval_ms,
                   1000, 50, 60000,
                   "Time between outage probes, milliseconds; also between "
                   "the probes of a dealer whose credentials Moka refuses."),
        CONFIG_STR("outage", "credentials_probe", outage_credentials_probe,
                   "customer-update-then-sale-list", &config_check_probe,
                   "What checks a dealer's credentials after Moka answered "
                   "an event `…InvalidRequest` or an account code "
                   "(docs/decisions.md, \"Credentials probe\"): "
                   "`customer-update` (an UpdateCustomer naming no customer, "
                   "small), `sale-list` (GetSaleList: reliable, answers "
                   "with the dealer's sale list), or the first confirmed by "
                   "the second when it answers InvalidRequest."),
        CONFIG_INT("outage", "credentials_verdict_ms",
                   outage_credentials_verdict_ms, 10000, 0, 3600000,
                   "Least time between two credentials probes of a dealer "
                   "whose credentials were accepted: an event answered "
                   "`…InvalidRequest` after a probe waits for the next one "
                   "(at most one probe per dealer per this interval), "
                   "milliseconds."),

        CONFIG_STR("admin", "listen", admin_listen, "", NULL,
                   "Admin HTTP listener (`/metrics`, `/healthz`, `/readyz`), "
                   "`host:port`; empty = disabled."),

        CONFIG_STR("log", "level", log_level, "info", &config_check_level,
                   "Log threshold."),
};

#define CONFIG_KEY_CNT (sizeof(config_keys) / sizeof(config_keys[0]))

#define CONFIG_DEALER_STR(n, field, chk, text)                                \
        {.group = "dealers", .name = n, .type = CONFIG_KEY_STRING,            \
         .offset = offsetof(struct config_dealer, field), .def_str = "",      \
         .check = chk, .desc = text}
#define CONFIG_DEALER_INT(n, field, lo, hi, text)                             \
        {.group = "dealers", .name = n, .type = CONFIG_KEY_INT,               \
         .offset = offsetof(struct config_dealer, field), .def_int = 0,       \
         .min = lo, .max = hi, .desc = text}

/* The keys of an entry of the top-level `dealers` list. "name" must stay
 * first: it picks the entry of a MOKA_BRIDGE_DEALERS_<NAME>_<KEY> variable
 * and so has none of its own. Ranges are those of moka.*. */
static const struct config_key config_dealer_keys[] = {
        CONFIG_DEALER_STR("name", name, &config_check_dealer_name,
                          "Required. The `moka-dealer` header value that "
                          "selects this dealer; unique, `moka.dealer_name` "
                          "included."),
        CONFIG_DEALER_STR("dealer_code", dealer_code, &config_check_required,
                          "Required. Dealer code of this Moka account."),
        CONFIG_DEALER_STR("username", username, &config_check_required,
                          "Required. API user of this Moka account."),
        {.group = "dealers", .name = "password", .type = CONFIG_KEY_STRING,
         .offset = offsetof(struct config_dealer, password), .def_str = "",
         .secret = true, .check = &config_check_password,
         .desc = "API password. Give either `password` or "
                 "`password_file`."},
        CONFIG_DEALER_STR("password_file", password_file, NULL,
                          "File whose content, trailing newlines stripped, "
                          "is the API password; re-read when it changes "
                          "and on SIGHUP."),
        CONFIG_DEALER_INT("rate_limit", rate_limit, 0, 1000000,
                          "Most requests per second to Moka for this "
                          "dealer; 0 = no limit."),
        CONFIG_DEALER_INT("rate_burst", rate_burst, 0, 1000000,
                          "Requests that may go at once above the rate; 0 = "
                          "one second's worth of `rate_limit`."),
};

#define CONFIG_DEALER_KEY_CNT                                                 \
        (sizeof(config_dealer_keys) / sizeof(config_dealer_keys[0]))
#define CONFIG_DEALERS_ENV_PREFIX CONFIG_ENV_PREFIX "DEALERS_"

enum config_origin_kind {
        CONFIG_ORIGIN_DEFAULT, /* table default, or derived */
        CONFIG_ORIGIN_FILE,
        CONFIG_ORIGIN_ENV,
};

/* Where a key's value came from, so that checks across keys can point at
 * the line to fix. */
struct config_origin {
        enum config_origin_kind kind;
        const char *file; /* owned by the config_t, alive during the load */
        int line;
};

/* The origins of the keys of one dealer. */
struct config_dealer_origin {
        struct config_origin key[CONFIG_DEALER_KEY_CNT];
};

struct config_loader {
        struct config *conf;
        const char *path;
        struct config_origin origin[CONFIG_KEY_CNT];
        /* [d] for conf->dealers[d]; [0] unused (moka.* has origin[]). */
        struct config_dealer_origin *dealer_origin;
        char *errstr;
        size_t errstr_size;
        bool failed;
};

/* Records the first error only: later ones are usually consequences. */
static void config_fail(struct config_loader *ld, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static void config_fail(struct config_loader *ld, const char *fmt, ...)
{
        va_list ap;

        if (ld->failed)
                return;
        ld->failed = true;
        if (!ld->errstr || ld->errstr_size == 0)
                return;
        va_start(ap, fmt);
        vsnprintf(ld->errstr, ld->errstr_size, fmt, ap);
        va_end(ap);
}

/* "FILE:LINE: <name>: <message>" at the place of setting `s`. */
static void config_fail_at(struct config_loader *ld, const config_setting_t *s,
                           const char *name, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void config_fail_at(struct config_loader *ld, const config_setting_t *s,
                           const char *name, const char *fmt, ...)
{
        const char *file = config_setting_source_file(s);
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        config_fail(ld, "%s:%u: %s: %s", file ? file : ld->path,
                    config_setting_source_line(s), name, msg);
}

/* "FILE:LINE: <where>.<key>: message" when the value came from the file,
 * otherwise "<where>.<key>: message". */
static void config_vfail_origin(struct config_loader *ld,
                                const struct config_origin *o,
                                const char *where, const char *key,
                                const char *fmt, va_list ap)
{
        char msg[512];

        vsnprintf(msg, sizeof(msg), fmt, ap);
        if (o->kind == CONFIG_ORIGIN_FILE)
                config_fail(ld, "%s:%d: %s.%s: %s", o->file, o->line, where,
                            key, msg);
        else
                config_fail(ld, "%s.%s: %s", where, key, msg);
}

static void config_fail_origin(struct config_loader *ld,
                               const struct config_origin *o,
                               const char *where, const char *key,
                               const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
static void config_fail_origin(struct config_loader *ld,
                               const struct config_origin *o,
                               const char *where, const char *key,
                               const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        config_vfail_origin(ld, o, where, key, fmt, ap);
        va_end(ap);
}

/* Of table key `k`: "FILE:LINE: group.key: message" when its value came
 * from the file, otherwise "group.key: message". */
static void config_fail_key(struct config_loader *ld, size_t k,
                            const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void config_fail_key(struct config_loader *ld, size_t k,
                            const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        config_vfail_origin(ld, &ld->origin[k], config_keys[k].group,
                            config_keys[k].name, fmt, ap);
        va_end(ap);
}

/* "dealers[d]": entries are numbered as in conf->dealers, so the first
 * entry of the list is dealers[1]. */
static void config_dealer_where(size_t d, char *buf, size_t size)
{
        snprintf(buf, size, "dealers[%zu]", d);
}

/* Of key `k` of dealer `d`, like config_fail_key. */
static void config_fail_dealer(struct config_loader *ld, size_t d, size_t k,
                               const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void config_fail_dealer(struct config_loader *ld, size_t d, size_t k,
                               const char *fmt, ...)
{
        char where[32];
        va_list ap;

        config_dealer_where(d, where, sizeof(where));
        va_start(ap, fmt);
        config_vfail_origin(ld, &ld->dealer_origin[d].key[k], where,
                            config_dealer_keys[k].name, fmt, ap);
        va_end(ap);
}

static void config_fail_oom(struct config_loader *ld)
{
        config_fail(ld, "out of memory");
}

/* `base` is the struct config, or the struct config_dealer for the keys of
 * config_dealer_keys[]. */
static char **config_str_field(void *base, const struct config_key *k)
{
        return (char **)((char *)base + k->offset);
}

static const char *config_str_value(const void *base,
                                    const struct config_key *k)
{
        return *(char *const *)((const char *)base + k->offset);
}

static int *config_int_field(void *base, const struct config_key *k)
{
        return (int *)((char *)base + k->offset);
}

static bool *config_bool_field(void *base, const struct config_key *k)
{
        return (bool *)((char *)base + k->offset);
}

/* Frees a string that may hold a secret, wiping it first so it does not
 * linger in freed heap memory. */
static void config_free_secret(char *s)
{
        if (!s)
                return;
        explicit_bzero(s, strlen(s));
        free(s);
}

/* Replaces the string field of `key` in `base` with a copy of `value`. */
static int config_str_replace(struct config_loader *ld, void *base,
                              const struct config_key *key, const char *value)
{
        char **field = config_str_field(base, key);
        char *copy = strdup(value);

        if (!copy) {
                config_fail_oom(ld);
                return -1;
        }
        config_free_secret(*field);
        *field = copy;
        return 0;
}

static int config_key_find(const char *group, const char *name)
{
        size_t k;

        for (k = 0; k < CONFIG_KEY_CNT; k++)
                if (!strcmp(config_keys[k].group, group) &&
                    !strcmp(config_keys[k].name, name))
                        return (int)k;
        return -1;
}

static bool config_group_known(const char *group)
{
        size_t k;

        for (k = 0; k < CONFIG_KEY_CNT; k++)
                if (!strcmp(config_keys[k].group, group))
                        return true;
        return false;
}

/* MOKA_BRIDGE_<GROUP>_<KEY> in upper case. */
static void config_key_env_name(const struct config_key *key, char *buf,
                                size_t size)
{
        char *p;

        snprintf(buf, size, CONFIG_ENV_PREFIX "%s_%s", key->group, key->name);
        for (p = buf; *p; p++)
                *p = (char)toupper((unsigned char)*p);
}

bool config_property_is_secret(const char *name)
{
        /* librdkafka's sensitive properties: sasl.password,
         * ssl.key.password, ssl.keystore.password,
         * sasl.oauthbearer.client.secret, and these two. */
        return strstr(name, "password") || strstr(name, "secret") ||
               !strcmp(name, "ssl.key.pem") ||
               !strcmp(name, "sasl.oauthbearer.config");
}

static const char *config_type_name(int type)
{
        switch (type) {
        case CONFIG_TYPE_GROUP:
                return "a group";
        case CONFIG_TYPE_INT:
        case CONFIG_TYPE_INT64:
                return "an integer";
        case CONFIG_TYPE_FLOAT:
                return "a float";
        case CONFIG_TYPE_STRING:
                return "a string";
        case CONFIG_TYPE_BOOL:
                return "a boolean";
        case CONFIG_TYPE_ARRAY:
                return "an array";
        case CONFIG_TYPE_LIST:
                return "a list";
        }
        return "an unknown type";
}

static int config_apply_defaults(struct config_loader *ld)
{
        size_t k;

        for (k = 0; k < CONFIG_KEY_CNT; k++) {
                const struct config_key *key = &config_keys[k];

                switch (key->type) {
                case CONFIG_KEY_STRING:
                        if (config_str_replace(ld, ld->conf, key,
                                               key->def_str))
                                return -1;
                        break;
                case CONFIG_KEY_INT:
                        *config_int_field(ld->conf, key) = key->def_int;
                        break;
                case CONFIG_KEY_BOOL:
                        *config_bool_field(ld->conf, key) = key->def_int;
                        break;
                case CONFIG_KEY_PROPERTIES:
                        break;
                }
        }
        return 0;
}

static void config_fail_property(struct config_loader *ld,
                                 const config_setting_t *s)
{
        char name[256];

        snprintf(name, sizeof(name), "kafka.properties.%s",
                 config_setting_name(s));
        config_fail_at(ld, s, name,
                       "expected a string, an integer or a boolean, got %s",
                       config_type_name(config_setting_type(s)));
}

/* kafka.properties: libconfig names cannot contain '.', so each '_' of a
 * name stands for a '.' of the librdkafka property. */
static int config_load_properties(struct config_loader *ld,
                                  const config_setting_t *group)
{
        struct config *conf = ld->conf;
        int n = config_setting_length(group);
        int i;

        if (!config_setting_is_group(group)) {
                config_fail_at(ld, group, "kafka.properties",
                               "expected a group, got %s",
                               config_type_name(config_setting_type(group)));
                return -1;
        }
        if (n == 0)
                return 0;
        conf->kafka_properties =
                calloc((size_t)n, sizeof(*conf->kafka_properties));
        if (!conf->kafka_properties) {
                config_fail_oom(ld);
                return -1;
        }
        for (i = 0; i < n; i++) {
                const config_setting_t *s = config_setting_get_elem(group, i);
                struct config_property *p =
                        &conf->kafka_properties[conf->kafka_properties_cnt];
                char num[32];
                const char *value;
                char *c;

                switch (config_setting_type(s)) {
                case CONFIG_TYPE_STRING:
                        value = config_setting_get_string(s);
                        break;
                case CONFIG_TYPE_INT:
                case CONFIG_TYPE_INT64:
                        snprintf(num, sizeof(num), "%lld",
                                 config_setting_get_int64(s));
                        value = num;
                        break;
                case CONFIG_TYPE_BOOL:
                        value = config_setting_get_bool(s) ? "true" : "false";
                        break;
                default:
                        config_fail_property(ld, s);
                        return -1;
                }
                p->name = strdup(config_setting_name(s));
                p->value = strdup(value);
                if (!p->name || !p->value) {
                        free(p->name);
                        config_free_secret(p->value);
                        p->name = p->value = NULL;
                        config_fail_oom(ld);
                        return -1;
                }
                conf->kafka_properties_cnt++;
                for (c = p->name; *c; c++)
                        if (*c == '_')
                                *c = '.';
        }
        return 0;
}

/* Sets `key` of `base` from the file's setting `s`; `name` is how errors
 * call the key. */
static int config_set_from_file(struct config_loader *ld, void *base,
                                const struct config_key *key,
                                const char *name, const config_setting_t *s)
{
        int type = config_setting_type(s);
        long long v;

        switch (key->type) {
        case CONFIG_KEY_STRING:
                if (type != CONFIG_TYPE_STRING) {
                        config_fail_at(ld, s, name, "expected a string, got %s",
                                       config_type_name(type));
                        return -1;
                }
                if (config_str_replace(ld, base, key,
                                       config_setting_get_string(s)))
                        return -1;
                break;
        case CONFIG_KEY_INT:
                if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64) {
                        config_fail_at(ld, s, name,
                                       "expected an integer, got %s",
                                       config_type_name(type));
                        return -1;
                }
                v = config_setting_get_int64(s);
                if (v < key->min || v > key->max) {
                        config_fail_at(ld, s, name,
                                       "must be between %d and %d, got %lld",
                                       key->min, key->max, v);
                        return -1;
                }
                *config_int_field(base, key) = (int)v;
                break;
        case CONFIG_KEY_BOOL:
                if (type != CONFIG_TYPE_BOOL) {
                        config_fail_at(ld, s, name,
                                       "expected a boolean (true or false), "
                                       "got %s",
                                       config_type_name(type));
                        return -1;
                }
                *config_bool_field(base, key) = config_setting_get_bool(s);
                break;
        case CONFIG_KEY_PROPERTIES:
                if (config_load_properties(ld, s))
                        return -1;
                break;
        }
        return 0;
}

static void config_origin_at(struct config_loader *ld,
                             struct config_origin *o,
                             const config_setting_t *s)
{
        o->kind = CONFIG_ORIGIN_FILE;
        o->file = config_setting_source_file(s) ? config_setting_source_file(s)
                                                : ld->path;
        o->line = (int)config_setting_source_line(s);
}

/* One "key = value" of the file, for table key `k`. */
static int config_load_setting(struct config_loader *ld, size_t k,
                               const config_setting_t *s)
{
        const struct config_key *key = &config_keys[k];
        char name[128];

        snprintf(name, sizeof(name), "%s.%s", key->group, key->name);
        if (config_set_from_file(ld, ld->conf, key, name, s))
                return -1;
        config_origin_at(ld, &ld->origin[k], s);
        return 0;
}

static int config_dealer_key_find(const char *name)
{
        size_t k;

        for (k = 0; k < CONFIG_DEALER_KEY_CNT; k++)
                if (!strcmp(config_dealer_keys[k].name, name))
                        return (int)k;
        return -1;
}

/* The character of a dealer name in its environment variables. */
static char config_dealer_env_char(char c)
{
        return c == '-' || c == '.' ? '_' : (char)toupper((unsigned char)c);
}

/* Whether names `a` and `b` give the same MOKA_BRIDGE_DEALERS_<NAME>_*
 * variables ("a-b", "A_B" and "a.b" all do). */
static bool config_dealer_env_same(const char *a, const char *b)
{
        for (; *a && *b; a++, b++)
                if (config_dealer_env_char(*a) != config_dealer_env_char(*b))
                        return false;
        return *a == *b;
}

/* The names of the list's entries are checked as soon as they are read:
 * they cannot be overridden, and the environment overrides that follow
 * find their dealer by name. Uniqueness against moka.dealer_name waits for
 * the environment (config_check_dealers). */
static int config_check_dealer_entry_name(struct config_loader *ld, size_t d)
{
        const struct config_dealer *dealers = ld->conf->dealers;
        const char *name = dealers[d].name;
        char where[32], msg[512];
        size_t o;

        config_dealer_where(d, where, sizeof(where));
        if (!config_valid_dealer_name(name, where, msg, sizeof(msg))) {
                config_fail_dealer(ld, d, 0, "%s", msg);
                return -1;
        }
        for (o = 1; o < d; o++) {
                if (!strcmp(dealers[o].name, name)) {
                        config_fail_dealer(ld, d, 0, "\"%s\" is already used",
                                           name);
                        return -1;
                }
                if (config_dealer_env_same(dealers[o].name, name)) {
                        char env[512], *p;

                        snprintf(env, sizeof(env), "%s", name);
                        for (p = env; *p; p++)
                                *p = config_dealer_env_char(*p);
                        config_fail_dealer(ld, d, 0,
                                           "\"%s\" and \"%s\" (dealers[%zu]) "
                                           "would share the variables "
                                           CONFIG_DEALERS_ENV_PREFIX "%s_*",
                                           name, dealers[o].name, o, env);
                        return -1;
                }
        }
        return 0;
}

/* One entry of the `dealers` list, conf->dealers[d]. */
static int config_load_dealer(struct config_loader *ld, size_t d,
                              const config_setting_t *entry)
{
        struct config_dealer *dealer = &ld->conf->dealers[d];
        struct config_dealer_origin *origin = &ld->dealer_origin[d];
        char where[32];
        size_t k;
        int i, n;

        config_dealer_where(d, where, sizeof(where));
        if (!config_setting_is_group(entry)) {
                config_fail_at(ld, entry, where, "expected a group, got %s",
                               config_type_name(config_setting_type(entry)));
                return -1;
        }
        /* A missing key is blamed on the entry. */
        for (k = 0; k < CONFIG_DEALER_KEY_CNT; k++) {
                const struct config_key *key = &config_dealer_keys[k];

                config_origin_at(ld, &origin->key[k], entry);
                if (key->type == CONFIG_KEY_STRING) {
                        if (config_str_replace(ld, dealer, key, key->def_str))
                                return -1;
                } else {
                        *config_int_field(dealer, key) = key->def_int;
                }
        }
        n = config_setting_length(entry);
        for (i = 0; i < n; i++) {
                const config_setting_t *s = config_setting_get_elem(entry, i);
                int kf = config_dealer_key_find(config_setting_name(s));
                char name[128];

                snprintf(name, sizeof(name), "%s.%s", where,
                         config_setting_name(s));
                if (kf < 0) {
                        config_fail_at(ld, s, name, "unknown key");
                        return -1;
                }
                if (config_set_from_file(ld, dealer, &config_dealer_keys[kf],
                                         name, s))
                        return -1;
                config_origin_at(ld, &origin->key[kf], s);
        }
        return config_check_dealer_entry_name(ld, d);
}

/* The top-level `dealers = ( { ... }, ... );` list: conf->dealers[1..]. */
static int config_load_dealers(struct config_loader *ld,
                               const config_setting_t *list)
{
        struct config *conf = ld->conf;
        size_t i, n;

        if (config_setting_type(list) != CONFIG_TYPE_LIST) {
                config_fail_at(ld, list, "dealers",
                               "expected a list of groups, got %s",
                               config_type_name(config_setting_type(list)));
                return -1;
        }
        n = (size_t)config_setting_length(list);
        /* Zeroed, so that config_destroy copes with a half-loaded list. */
        conf->dealers = calloc(n + 1, sizeof(*conf->dealers));
        ld->dealer_origin = calloc(n + 1, sizeof(*ld->dealer_origin));
        if (!conf->dealers || !ld->dealer_origin) {
                config_fail_oom(ld);
                return -1;
        }
        conf->dealers_cnt = n + 1;
        for (i = 0; i < n; i++)
                if (config_load_dealer(ld, i + 1,
                                       config_setting_get_elem(
                                               list, (unsigned int)i)))
                        return -1;
        return 0;
}

static int config_load_file(struct config_loader *ld, config_t *lc)
{
        const config_setting_t *root;
        struct stat st;
        FILE *f;
        bool is_dir;
        int i, j, n;

        /* libconfig says only "file I/O error"; find out why first. */
        f = fopen(ld->path, "r");
        if (!f) {
                config_fail(ld, "%s: %s", ld->path, strerror(errno));
                return -1;
        }
        is_dir = fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode);
        fclose(f);
        if (is_dir) {
                config_fail(ld, "%s: %s", ld->path, strerror(EISDIR));
                return -1;
        }

        if (!config_read_file(lc, ld->path)) {
                if (config_error_type(lc) == CONFIG_ERR_FILE_IO)
                        config_fail(ld, "%s: %s", ld->path,
                                    config_error_text(lc));
                else
                        config_fail(ld, "%s:%d: %s",
                                    config_error_file(lc)
                                            ? config_error_file(lc)
                                            : ld->path,
                                    config_error_line(lc),
                                    config_error_text(lc));
                return -1;
        }

        root = config_root_setting(lc);
        n = config_setting_length(root);
        for (i = 0; i < n; i++) {
                const config_setting_t *g = config_setting_get_elem(root, i);
                const char *gname = config_setting_name(g);
                int m;

                if (!strcmp(gname, "dealers")) {
                        if (config_load_dealers(ld, g))
                                return -1;
                        continue;
                }
                if (!config_group_known(gname)) {
                        config_fail_at(ld, g, gname, "unknown group");
                        return -1;
                }
                if (!config_setting_is_group(g)) {
                        config_fail_at(ld, g, gname, "expected a group, got %s",
                                       config_type_name(
                                               config_setting_type(g)));
                        return -1;
                }
                m = config_setting_length(g);
                for (j = 0; j < m; j++) {
                        const config_setting_t *s =
                                config_setting_get_elem(g, j);
                        int k = config_key_find(gname, config_setting_name(s));

                        if (k < 0) {
                                char name[256];

                                snprintf(name, sizeof(name), "%s.%s", gname,
                                         config_setting_name(s));
                                config_fail_at(ld, s, name, "unknown key");
                                return -1;
                        }
                        if (config_load_setting(ld, (size_t)k, s))
                                return -1;
                }
        }
        return 0;
}

/* A whole decimal number, nothing around it. */
static bool config_parse_int(const char *s, long long *out)
{
        char *end;

        errno = 0; /* the caller tells "too big" from "not a number" */
        if (!*s || isspace((unsigned char)*s))
                return false;
        *out = strtoll(s, &end, 10);
        return errno == 0 && *end == '\0';
}

static bool config_parse_bool(const char *s, bool *out)
{
        if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") ||
            !strcmp(s, "1")) {
                *out = true;
                return true;
        }
        if (!strcasecmp(s, "false") || !strcasecmp(s, "no") ||
            !strcmp(s, "0")) {
                *out = false;
                return true;
        }
        return false;
}

/* Sets `key` of `base` from environment variable `var`. */
static int config_set_from_env(struct config_loader *ld, void *base,
                               const struct config_key *key, const char *var,
                               const char *value)
{
        long long v;
        bool b;

        switch (key->type) {
        case CONFIG_KEY_STRING:
                if (config_str_replace(ld, base, key, value))
                        return -1;
                break;
        case CONFIG_KEY_INT:
                /* An out-of-range number is shown as written. */
                if (!config_parse_int(value, &v)) {
                        if (errno == ERANGE)
                                config_fail(ld,
                                            "%s: must be between %d and %d, "
                                            "got %s",
                                            var, key->min, key->max, value);
                        else
                                config_fail(ld,
                                            "%s: expected an integer, got "
                                            "\"%s\"",
                                            var, value);
                        return -1;
                }
                if (v < key->min || v > key->max) {
                        config_fail(ld, "%s: must be between %d and %d, got %s",
                                    var, key->min, key->max, value);
                        return -1;
                }
                *config_int_field(base, key) = (int)v;
                break;
        case CONFIG_KEY_BOOL:
                if (!config_parse_bool(value, &b)) {
                        config_fail(ld,
                                    "%s: expected true, false, yes, no, 1 or "
                                    "0, got \"%s\"",
                                    var, value);
                        return -1;
                }
                *config_bool_field(base, key) = b;
                break;
        case CONFIG_KEY_PROPERTIES:
                break; /* never matched: it has no variable */
        }
        return 0;
}

static void config_origin_env(struct config_origin *o)
{
        o->kind = CONFIG_ORIGIN_ENV;
        o->file = NULL;
        o->line = 0;
}

/* The value of environment variable `var` for table key `k`. */
static int config_env_setting(struct config_loader *ld, size_t k,
                              const char *var, const char *value)
{
        if (config_set_from_env(ld, ld->conf, &config_keys[k], var, value))
                return -1;
        config_origin_env(&ld->origin[k]);
        return 0;
}

/* Whether `rest` (`len` bytes) is "<KEY>" of dealer key `k`, upper case. */
static bool config_dealer_env_key_is(const char *rest, size_t len, size_t k)
{
        const char *name = config_dealer_keys[k].name;
        size_t i;

        if (strlen(name) != len)
                return false;
        for (i = 0; i < len; i++)
                if (rest[i] != toupper((unsigned char)name[i]))
                        return false;
        return true;
}

/* The longest dealer key (not "name") that `s` (`len` bytes) ends with as
 * "_<KEY>" after at least one character, or -1. */
static int config_dealer_env_key_suffix(const char *s, size_t len)
{
        size_t k, best_len = 0;
        int best = -1;

        for (k = 1; k < CONFIG_DEALER_KEY_CNT; k++) {
                size_t klen = strlen(config_dealer_keys[k].name);

                if (klen + 2 > len || s[len - klen - 1] != '_' ||
                    !config_dealer_env_key_is(s + len - klen, klen, k) ||
                    klen <= best_len)
                        continue;
                best = (int)k;
                best_len = klen;
        }
        return best;
}

/* MOKA_BRIDGE_DEALERS_<NAME>_<KEY>=value: `env` is the variable, `len` the
 * length of its name, `var` its name for messages. <NAME> is an entry's name
 * upper-cased with '-' and '.' as '_'. Names that would share variables
 * were refused when the list was read, so at most one entry matches. */
static int config_dealer_env(struct config_loader *ld, const char *var,
                             const char *env, size_t len, const char *value)
{
        static const char prefix[] = CONFIG_DEALERS_ENV_PREFIX;
        const struct config *conf = ld->conf;
        const char *rest = env + sizeof(prefix) - 1;
        size_t rlen = len - (sizeof(prefix) - 1);
        char keys[256] = "";
        size_t d, k;
        int kf;

        for (d = 1; d < conf->dealers_cnt; d++) {
                const char *n = conf->dealers[d].name;
                size_t i, nlen = strlen(n);

                if (nlen + 2 > rlen || rest[nlen] != '_')
                        continue;
                for (i = 0; i < nlen; i++)
                        if (rest[i] != config_dealer_env_char(n[i]))
                                break;
                if (i < nlen)
                        continue;
                for (k = 1; k < CONFIG_DEALER_KEY_CNT; k++) {
                        if (!config_dealer_env_key_is(rest + nlen + 1,
                                                      rlen - nlen - 1, k))
                                continue;
                        if (config_set_from_env(ld, &conf->dealers[d],
                                                &config_dealer_keys[k], var,
                                                value))
                                return -1;
                        config_origin_env(&ld->dealer_origin[d].key[k]);
                        return 0;
                }
        }
        kf = config_dealer_env_key_suffix(rest, rlen);
        if (kf >= 0) {
                config_fail(ld, "%s: no dealer named %.*s in the dealers list",
                            var,
                            (int)(rlen -
                                  strlen(config_dealer_keys[kf].name) - 1),
                            rest);
                return -1;
        }
        for (k = 1; k < CONFIG_DEALER_KEY_CNT; k++) {
                size_t at = strlen(keys);
                char *p;

                snprintf(keys + at, sizeof(keys) - at, "%s%s",
                         k > 1 ? ", " : "", config_dealer_keys[k].name);
                for (p = keys + at; *p; p++)
                        *p = (char)toupper((unsigned char)*p);
        }
        config_fail(ld,
                    "%s: unknown variable, expected "
                    CONFIG_DEALERS_ENV_PREFIX "<NAME>_<KEY> with <KEY> one "
                    "of %s",
                    var, keys);
        return -1;
}

/* Every MOKA_BRIDGE_* variable must name a key: an unknown one is most
 * likely a typo that would otherwise be silently ignored. */
static int config_load_env(struct config_loader *ld, char *const *envp)
{
        static const char props[] = CONFIG_ENV_PREFIX "KAFKA_PROPERTIES";
        static const char dealers[] = CONFIG_DEALERS_ENV_PREFIX;
        char *const *e;

        for (e = envp ? envp : environ; *e; e++) {
                const char *eq = strchr(*e, '=');
                char var[256];
                size_t len, k;
                bool found = false;

                if (strncmp(*e, CONFIG_ENV_PREFIX,
                            sizeof(CONFIG_ENV_PREFIX) - 1) ||
                    !eq)
                        continue;
                len = (size_t)(eq - *e);
                snprintf(var, sizeof(var), "%.*s", (int)len, *e);
                if (!strncmp(var, dealers, sizeof(dealers) - 1)) {
                        if (config_dealer_env(ld, var, *e, len, eq + 1))
                                return -1;
                        continue;
                }
                for (k = 0; k < CONFIG_KEY_CNT && !found; k++) {
                        char name[128];

                        if (config_keys[k].type == CONFIG_KEY_PROPERTIES)
                                continue;
                        config_key_env_name(&config_keys[k], name,
                                            sizeof(name));
                        if (strlen(name) != len || strncmp(name, *e, len))
                                continue;
                        found = true;
                        if (config_env_setting(ld, k, var, eq + 1))
                                return -1;
                }
                if (found)
                        continue;
                if (!strncmp(var, props, sizeof(props) - 1))
                        config_fail(ld,
                                    "%s: kafka.properties can only be set in "
                                    "the configuration file",
                                    var);
                else
                        config_fail(ld,
                                    "%s: unknown variable, no configuration "
                                    "key has this name",
                                    var);
                return -1;
        }
        return 0;
}

int config_read_secret_file(const char *path, char **out, char *msg,
                            size_t size)
{
        char *buf = NULL;
        size_t len = 0;
        int fd = -1;
        int rc = -1;

        *out = NULL;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                snprintf(msg, size, "cannot read \"%s\": %s", path,
                         strerror(errno));
                goto cleanup;
        }
        buf = malloc(CONFIG_SECRET_FILE_MAX + 1);
        if (!buf) {
                snprintf(msg, size, "out of memory");
                goto cleanup;
        }
        for (;;) {
                ssize_t r = read(fd, buf + len,
                                 CONFIG_SECRET_FILE_MAX + 1 - len);

                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0) {
                        snprintf(msg, size, "cannot read \"%s\": %s", path,
                                 strerror(errno));
                        goto cleanup;
                }
                if (r == 0)
                        break;
                len += (size_t)r;
                if (len > CONFIG_SECRET_FILE_MAX) {
                        snprintf(msg, size, "\"%s\" is larger than %d bytes",
                                 path, CONFIG_SECRET_FILE_MAX);
                        goto cleanup;
                }
        }
        if (memchr(buf, '\0', len)) {
                snprintf(msg, size, "\"%s\" contains a NUL byte", path);
                goto cleanup;
        }
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
                len--;
        if (len == 0) {
                snprintf(msg, size, "\"%s\" is empty", path);
                goto cleanup;
        }
        buf[len] = '\0';
        *out = strdup(buf);
        if (!*out) {
                snprintf(msg, size, "out of memory");
                goto cleanup;
        }
        rc = 0;
cleanup:
        if (buf) {
                explicit_bzero(buf, CONFIG_SECRET_FILE_MAX + 1);
                free(buf);
        }
        if (fd >= 0)
                close(fd);
        return rc;
}

/* <where>.password_file (`path`, from origin `o`): its content, trailing
 * newlines stripped, becomes <where>.password (`*password`). Errors name the
 * path, never the content. */
static int config_resolve_password(struct config_loader *ld,
                                   const char *where,
                                   const struct config_origin *o,
                                   const char *path, char **password)
{
        static const char kf[] = "password_file";
        char msg[512];
        char *secret;

        if (path[0] == '\0')
                return 0;
        if ((*password)[0] != '\0') {
                config_fail_origin(ld, o, where, kf,
                                   "give either %s.password or "
                                   "%s.password_file, not both",
                                   where, where);
                return -1;
        }
        if (config_read_secret_file(path, &secret, msg, sizeof(msg))) {
                config_fail_origin(ld, o, where, kf, "%s", msg);
                return -1;
        }
        free(*password); /* empty: nothing to wipe */
        *password = secret;
        return 0;
}

/* moka.password_file, then each entry's of the `dealers` list. */
static int config_resolve_passwords(struct config_loader *ld)
{
        struct config *conf = ld->conf;
        int kf = config_key_find("moka", "password_file");
        int dkf = config_dealer_key_find("password_file");
        char where[32];
        size_t d;

        if (config_resolve_password(ld, "moka", &ld->origin[kf],
                                    conf->moka_password_file,
                                    &conf->moka_password))
                return -1;
        for (d = 1; d < conf->dealers_cnt; d++) {
                config_dealer_where(d, where, sizeof(where));
                if (config_resolve_password(ld, where,
                                            &ld->dealer_origin[d].key[dkf],
                                            conf->dealers[d].password_file,
                                            &conf->dealers[d].password))
                        return -1;
        }
        return 0;
}

static bool config_valid_required(const char *value, const char *where,
                                  char *msg, size_t size)
{
        (void)where;
        if (value[0] != '\0')
                return true;
        snprintf(msg, size, "must not be empty");
        return false;
}

static bool config_valid_password(const char *value, const char *where,
                                  char *msg, size_t size)
{
        if (value[0] != '\0')
                return true;
        snprintf(msg, size, "required (set %s.password or %s.password_file)",
                 where, where);
        return false;
}

static bool config_valid_url(const char *value, const char *where, char *msg,
                             size_t size)
{
        (void)where;
        if ((!strncmp(value, "http://", 7) && value[7] != '\0') ||
            (!strncmp(value, "https://", 8) && value[8] != '\0'))
                return true;
        snprintf(msg, size, "must start with http:// or https://, got \"%s\"",
                 value);
        return false;
}

/* Kafka's own rule (Topic.validate): [A-Za-z0-9._-]{1,249}, not "." or
 * "..". */
static bool config_valid_topic(const char *value, const char *where,
                               char *msg, size_t size)
{
        size_t len = strlen(value);
        const char *p;

        (void)where;
        if (len == 0) {
                snprintf(msg, size, "must not be empty");
                return false;
        }
        if (len > CONFIG_TOPIC_MAX) {
                snprintf(msg, size,
                         "topic name is %zu characters long, at most %d are "
                         "allowed",
                         len, CONFIG_TOPIC_MAX);
                return false;
        }
        if (!strcmp(value, ".") || !strcmp(value, "..")) {
                snprintf(msg, size, "\"%s\" is not a valid topic name", value);
                return false;
        }
        for (p = value; *p; p++) {
                if (isalnum((unsigned char)*p) || *p == '.' || *p == '_' ||
                    *p == '-')
                        continue;
                snprintf(msg, size,
                         "invalid topic name \"%s\": only letters, digits, "
                         "'.', '_' and '-' are allowed",
                         value);
                return false;
        }
        return true;
}

static bool config_valid_delivery(const char *value, const char *where,
                                  char *msg, size_t size)
{
        (void)where;
        if (!strcmp(value, "at-least-once") || !strcmp(value, "exactly-once"))
                return true;
        snprintf(msg, size,
                 "must be at-least-once or exactly-once, got \"%s\"", value);
        return false;
}

static bool config_valid_probe(const char *value, const char *where,
                               char *msg, size_t size)
{
        (void)where;
        enum credentials_probe_mode mode;
        if (credentials_mode_parse(value, &mode) == 0)
                return true;
        snprintf(msg, size,
                 "must be customer-update-then-sale-list, customer-update or "
                 "sale-list, got \"%s\"", value);
        return false;
}

static bool config_valid_level(const char *value, const char *where,
                               char *msg, size_t size)
{
        (void)where;
        if (!strcmp(value, "error") || !strcmp(value, "warn") ||
            !strcmp(value, "info") || !strcmp(value, "debug"))
                return true;
        snprintf(msg, size,
                 "must be one of error, warn, info, debug, got \"%s\"", value);
        return false;
}

/* A dealer's name is a header value and part of environment variable
 * names: keep it to characters that are safe in both. */
static bool config_valid_dealer_name(const char *value, const char *where,
                                     char *msg, size_t size)
{
        const char *p;

        (void)where;
        if (value[0] == '\0') {
                snprintf(msg, size, "must not be empty");
                return false;
        }
        for (p = value; *p; p++) {
                if (isalnum((unsigned char)*p) || *p == '.' || *p == '_' ||
                    *p == '-')
                        continue;
                snprintf(msg, size,
                         "invalid dealer name \"%s\": only letters, digits, "
                         "'.', '_' and '-' are allowed",
                         value);
                return false;
        }
        return true;
}

/* Read once here so that a wrong path stops start-up with the key's line
 * instead of failing every TLS handshake later. */
static bool config_valid_ca_file(const char *value, const char *where,
                                 char *msg, size_t size)
{
        struct stat st;
        int fd;

        (void)where;
        if (value[0] == '\0')
                return true;
        fd = open(value, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                snprintf(msg, size, "cannot read \"%s\": %s", value,
                         strerror(errno));
                return false;
        }
        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
                close(fd);
                snprintf(msg, size, "\"%s\" is a directory, not a PEM file",
                         value);
                return false;
        }
        close(fd);
        return true;
}

/* The schemes libcurl takes for CURLOPT_PROXY. The value is never shown:
 * it may carry the proxy's password. */
static bool config_valid_proxy(const char *value, const char *where,
                               char *msg, size_t size)
{
        static const char *const schemes[] = {
                "http://",   "https://",  "socks4://",
                "socks4a://", "socks5://", "socks5h://"};
        size_t i, n;

        (void)where;
        if (value[0] == '\0')
                return true;
        for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
                n = strlen(schemes[i]);
                if (!strncasecmp(value, schemes[i], n) && value[n] != '\0' &&
                    value[n] != '/')
                        return true;
        }
        snprintf(msg, size,
                 "must be empty or a URL starting with http://, https://, "
                 "socks4://, socks4a://, socks5:// or socks5h://");
        return false;
}

/* Where the host of `url` starts (after "scheme://" and any userinfo), and
 * in *len how long the authority is from there. */
static const char *config_url_host(const char *url, size_t *len)
{
        const char *host = strstr(url, "://");
        const char *end, *p;

        host = host ? host + 3 : url;
        end = host + strcspn(host, "/?#");
        for (p = end; p > host; p--)
                if (p[-1] == '@') {
                        host = p;
                        break;
                }
        *len = (size_t)(end - host);
        return host;
}

void config_url_mask(const char *url, char *buf, size_t size)
{
        size_t len;
        const char *host = config_url_host(url, &len);
        const char *start = strstr(url, "://");

        start = start ? start + 3 : url;
        if (host == start)
                snprintf(buf, size, "%s", url);
        else
                snprintf(buf, size, "%.*s***@%s", (int)(start - url), url,
                         host);
}

/* Whether the host of `url` is 127.0.0.0/8, ::1 or localhost: plain HTTP to
 * it never leaves the machine. */
static bool config_url_is_loopback(const char *url)
{
        char name[256];
        struct in_addr a4;
        struct in6_addr a6;
        size_t len;
        const char *host = config_url_host(url, &len);

        if (host[0] == '[') {
                const char *close = memchr(host, ']', len);

                if (!close || (size_t)(close - host) > sizeof(name))
                        return false;
                snprintf(name, sizeof(name), "%.*s", (int)(close - host - 1),
                         host + 1);
                return inet_pton(AF_INET6, name, &a6) == 1 &&
                       IN6_IS_ADDR_LOOPBACK(&a6);
        }
        len = strcspn(host, ":/?#") < len ? strcspn(host, ":/?#") : len;
        if (len >= sizeof(name))
                return false;
        snprintf(name, sizeof(name), "%.*s", (int)len, host);
        if (!strcasecmp(name, "localhost"))
                return true;
        return inet_pton(AF_INET, name, &a4) == 1 &&
               (ntohl(a4.s_addr) >> 24) == 127;
}

/* An unverified certificate or plain HTTP across a network hands the
 * dealer password and CheckKey to whoever is on the path: refused unless
 * moka.allow_insecure says it is a simulator or a test host. */
static int config_check_insecure(struct config_loader *ld)
{
        struct config *conf = ld->conf;

        conf->moka_plain_http_remote =
                !strncasecmp(conf->moka_base_url, "http://", 7) &&
                !config_url_is_loopback(conf->moka_base_url);
        if (conf->moka_allow_insecure)
                return 0;
        if (!conf->moka_tls_verify) {
                config_fail_key(ld,
                                (size_t)config_key_find("moka", "tls_verify"),
                                "false is refused unless moka.allow_insecure "
                                "= true (a simulator or test host only)");
                return -1;
        }
        if (conf->moka_plain_http_remote) {
                config_fail_key(ld,
                                (size_t)config_key_find("moka", "base_url"),
                                "plain http:// to a host that is not loopback "
                                "(127.0.0.0/8, ::1, localhost) is refused: "
                                "use https://, or set moka.allow_insecure = "
                                "true (a simulator or test host only)");
                return -1;
        }
        return 0;
}

/* Empty reply/DLQ topics become "<input>.reply" / "<input>.dlq". */
static int config_derive(struct config_loader *ld)
{
        size_t k;

        for (k = 0; k < CONFIG_KEY_CNT; k++) {
                const struct config_key *key = &config_keys[k];
                const char *from;
                char *v;
                int f;

                if (!key->derive_from ||
                    config_str_value(ld->conf, key)[0] != '\0')
                        continue;
                f = config_key_find(key->group, key->derive_from);
                from = config_str_value(ld->conf, &config_keys[f]);
                if (asprintf(&v, "%s%s", from, key->derive_suffix) < 0) {
                        config_fail_oom(ld);
                        return -1;
                }
                free(*config_str_field(ld->conf, key));
                *config_str_field(ld->conf, key) = v;
                /* The value is not the file's any more. */
                ld->origin[k].kind = CONFIG_ORIGIN_DEFAULT;
        }
        return 0;
}

/* Of two keys in conflict, blames the one the user set, preferring `b`. */
static size_t config_blame(const struct config_loader *ld, size_t a, size_t b)
{
        if (ld->origin[b].kind != CONFIG_ORIGIN_DEFAULT ||
            ld->origin[a].kind == CONFIG_ORIGIN_DEFAULT)
                return b;
        return a;
}

/* An input topic that is also another input or an output would make the
 * bridge consume its own replies or split one topic between two handlers.
 * Outputs may share a topic (e.g. one DLQ for both). */
static int config_check_topics(struct config_loader *ld)
{
        size_t a, b;

        for (a = 0; a < CONFIG_KEY_CNT; a++) {
                const struct config_key *ka = &config_keys[a];

                if (strcmp(ka->group, "topics"))
                        continue;
                for (b = a + 1; b < CONFIG_KEY_CNT; b++) {
                        const struct config_key *kb = &config_keys[b];
                        const char *v;
                        size_t at, other;

                        if (strcmp(kb->group, "topics") ||
                            (ka->derive_from && kb->derive_from))
                                continue;
                        v = config_str_value(ld->conf, kb);
                        if (strcmp(config_str_value(ld->conf, ka), v))
                                continue;
                        at = config_blame(ld, a, b);
                        other = at == a ? b : a;
                        config_fail_key(ld, at,
                                        "\"%s\" is also topics.%s; an input "
                                        "topic must differ from every other "
                                        "topic",
                                        v, config_keys[other].name);
                        return -1;
                }
        }
        return 0;
}

/* dealers[0] is a copy of the moka.* dealer, so that users of the list need
 * not tell it apart. */
static int config_make_dealer0(struct config_loader *ld)
{
        struct config *conf = ld->conf;
        struct config_dealer *d0;

        if (!conf->dealers) {
                conf->dealers = calloc(1, sizeof(*conf->dealers));
                if (!conf->dealers) {
                        config_fail_oom(ld);
                        return -1;
                }
                conf->dealers_cnt = 1;
        }
        d0 = &conf->dealers[0];
        d0->name = strdup(conf->moka_dealer_name);
        d0->dealer_code = strdup(conf->moka_dealer_code);
        d0->username = strdup(conf->moka_username);
        d0->password = strdup(conf->moka_password);
        d0->password_file = strdup(conf->moka_password_file);
        d0->rate_limit = conf->moka_rate_limit;
        d0->rate_burst = conf->moka_rate_burst;
        if (!d0->name || !d0->dealer_code || !d0->username ||
            !d0->password || !d0->password_file) {
                config_fail_oom(ld);
                return -1;
        }
        return 0;
}

/* The list's entries (their names were checked when read), then
 * moka.default_dealer. */
static int config_check_dealers(struct config_loader *ld)
{
        const struct config *conf = ld->conf;
        const char *def = conf->moka_default_dealer;
        char where[32], msg[512];
        size_t d, k;

        if (config_make_dealer0(ld))
                return -1;
        for (d = 1; d < conf->dealers_cnt; d++) {
                const struct config_dealer *dealer = &conf->dealers[d];

                config_dealer_where(d, where, sizeof(where));
                /* The list's own duplicates were refused when read. */
                if (!strcmp(dealer->name, conf->dealers[0].name)) {
                        config_fail_dealer(ld, d, 0, "\"%s\" is already used",
                                           dealer->name);
                        return -1;
                }
                for (k = 1; k < CONFIG_DEALER_KEY_CNT; k++) {
                        const struct config_key *key = &config_dealer_keys[k];

                        if (!key->check || !key->check->valid ||
                            key->check->valid(config_str_value(dealer, key),
                                              where, msg, sizeof(msg)))
                                continue;
                        config_fail_dealer(ld, d, k, "%s", msg);
                        return -1;
                }
        }
        if (def[0] == '\0')
                return 0;
        for (d = 0; d < conf->dealers_cnt; d++)
                if (!strcmp(conf->dealers[d].name, def))
                        return 0;
        config_fail_key(ld, (size_t)config_key_find("moka", "default_dealer"),
                        "no dealer named \"%s\"", def);
        return -1;
}

/* kafka.delivery and, in exactly-once mode, the default transactional id:
 * "<group_id>-<group_instance_id>" (stable when the instance id is, e.g. a
 * StatefulSet pod name), else "<group_id>-<hostname>". */
static int config_derive_delivery(struct config_loader *ld)
{
        struct config *conf = ld->conf;
        char host[256];
        const char *instance = conf->kafka_group_instance_id;
        char *v;

        conf->exactly_once = !strcmp(conf->kafka_delivery, "exactly-once");
        if (credentials_mode_parse(conf->outage_credentials_probe,
                                   &conf->outage_credentials_probe_mode))
                conf->outage_credentials_probe_mode =
                        CREDENTIALS_PROBE_UPDATE_THEN_SALE_LIST;
        if (!conf->exactly_once || conf->kafka_transactional_id[0])
                return 0;
        if (!instance[0]) {
                if (gethostname(host, sizeof(host)) || !host[0]) {
                        config_fail_key(ld,
                                        (size_t)config_key_find(
                                                "kafka", "transactional_id"),
                                        "no hostname to derive it from: set "
                                        "it, or kafka.group_instance_id");
                        return -1;
                }
                host[sizeof(host) - 1] = '\0';
                instance = host;
        }
        if (asprintf(&v, "%s-%s", conf->kafka_group_id, instance) < 0) {
                config_fail_oom(ld);
                return -1;
        }
        free(conf->kafka_transactional_id);
        conf->kafka_transactional_id = v;
        return 0;
}

static int config_validate(struct config_loader *ld)
{
        struct config *conf = ld->conf;
        char msg[512];
        size_t k, base, cap;

        if (config_derive(ld))
                return -1;
        for (k = 0; k < CONFIG_KEY_CNT; k++) {
                const struct config_key *key = &config_keys[k];

                if (!key->check || !key->check->valid ||
                    key->check->valid(config_str_value(conf, key),
                                      key->group, msg, sizeof(msg)))
                        continue;
                config_fail_key(ld, k, "%s", msg);
                return -1;
        }

        base = (size_t)config_key_find("retry", "base_ms");
        cap = (size_t)config_key_find("retry", "cap_ms");
        if (conf->retry_base_ms > conf->retry_cap_ms) {
                if (config_blame(ld, cap, base) == base)
                        config_fail_key(ld, base,
                                        "must not exceed retry.cap_ms (%d), "
                                        "got %d",
                                        conf->retry_cap_ms,
                                        conf->retry_base_ms);
                else
                        config_fail_key(ld, cap,
                                        "must not be less than retry.base_ms "
                                        "(%d), got %d",
                                        conf->retry_base_ms,
                                        conf->retry_cap_ms);
                return -1;
        }
        if (config_check_insecure(ld) || config_check_topics(ld) ||
            config_derive_delivery(ld))
                return -1;
        return config_check_dealers(ld);
}

static void config_scrub_setting(config_setting_t *s)
{
        char *v;

        if (!s || config_setting_type(s) != CONFIG_TYPE_STRING)
                return;
        v = (char *)config_setting_get_string(s);
        explicit_bzero(v, strlen(v));
}

/* libconfig frees its strings without wiping them: wipe the secrets in the
 * parsed file before config_destroy. */
static void config_scrub_file(config_t *lc)
{
        config_setting_t *s = config_lookup(lc, "moka.password");
        int i, n;

        config_scrub_setting(s);
        config_scrub_setting(config_lookup(lc, "moka.proxy"));
        s = config_lookup(lc, "dealers");
        if (s && config_setting_type(s) == CONFIG_TYPE_LIST) {
                n = config_setting_length(s);
                for (i = 0; i < n; i++) {
                        config_setting_t *e = config_setting_get_elem(s, i);

                        if (config_setting_is_group(e))
                                config_scrub_setting(config_setting_get_member(
                                        e, "password"));
                }
        }
        s = config_lookup(lc, "kafka.properties");
        if (!s || !config_setting_is_group(s))
                return;
        n = config_setting_length(s);
        for (i = 0; i < n; i++) {
                config_setting_t *p = config_setting_get_elem(s, i);
                char *v;

                if (config_setting_type(p) != CONFIG_TYPE_STRING)
                        continue;
                v = (char *)config_setting_get_string(p);
                explicit_bzero(v, strlen(v));
        }
}

struct config *config_load(const char *path, char *const *envp, char *errstr,
                           size_t errstr_size)
{
        struct config_loader ld = {
                .path = path, .errstr = errstr, .errstr_size = errstr_size};
        struct config *conf = NULL;
        config_t lc;
        bool lc_init = false;
        int rc = -1;

        if (errstr && errstr_size)
                errstr[0] = '\0';
        if (!path) {
                config_fail(&ld, "no configuration file given");
                return NULL;
        }
        conf = calloc(1, sizeof(*conf));
        if (!conf || !(conf->path = strdup(path))) {
                config_fail_oom(&ld);
                goto cleanup;
        }
        ld.conf = conf;
        if (config_apply_defaults(&ld))
                goto cleanup;

        config_init(&lc);
        lc_init = true;
        if (config_load_file(&ld, &lc) || config_load_env(&ld, envp) ||
            config_resolve_passwords(&ld) || config_validate(&ld))
                goto cleanup;
        rc = 0;
cleanup:
        /* The origins point into lc: it lives until validation is done. */
        if (lc_init) {
                config_scrub_file(&lc);
                config_destroy(&lc);
        }
        free(ld.dealer_origin);
        if (rc) {
                moka_config_destroy(conf);
                conf = NULL;
        }
        return conf;
}

/* config_destroy() for callers; see config.h for the name. */
void moka_config_destroy(struct config *conf)
{
        size_t k, i;

        if (!conf)
                return;
        for (k = 0; k < CONFIG_KEY_CNT; k++)
                if (config_keys[k].type == CONFIG_KEY_STRING)
                        config_free_secret(
                                *config_str_field(conf, &config_keys[k]));
        /* Properties may carry SASL or TLS key passwords. */
        for (i = 0; i < conf->kafka_properties_cnt; i++) {
                free(conf->kafka_properties[i].name);
                config_free_secret(conf->kafka_properties[i].value);
        }
        free(conf->kafka_properties);
        for (i = 0; i < conf->dealers_cnt; i++) {
                struct config_dealer *d = &conf->dealers[i];

                for (k = 0; k < CONFIG_DEALER_KEY_CNT; k++)
                        if (config_dealer_keys[k].type == CONFIG_KEY_STRING)
                                config_free_secret(*config_str_field(
                                        d, &config_dealer_keys[k]));
        }
        free(conf->dealers);
        free(conf->path);
        free(conf);
}

/* A libconfig string literal: the escapes its scanner understands. */
static void config_print_string(FILE *out, const char *s)
{
        fputc('"', out);
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;

                switch (c) {
                case '"':
                        fputs("\\\"", out);
                        break;
                case '\\':
                        fputs("\\\\", out);
                        break;
                case '\n':
                        fputs("\\n", out);
                        break;
                case '\r':
                        fputs("\\r", out);
                        break;
                case '\t':
                        fputs("\\t", out);
                        break;
                case '\f':
                        fputs("\\f", out);
                        break;
                default:
                        if (c < 0x20 || c == 0x7f)
                                fprintf(out, "\\x%02x", c);
                        else
                                fputc(c, out);
                }
        }
        fputc('"', out);
}

static void config_print_properties(const struct config *conf, FILE *out)
{
        size_t i;

        fputs("  properties: {\n", out);
        for (i = 0; i < conf->kafka_properties_cnt; i++) {
                const struct config_property *p = &conf->kafka_properties[i];
                const char *c;

                fputs("    ", out);
                /* Back to the name as written in the file. */
                for (c = p->name; *c; c++)
                        fputc(*c == '.' ? '_' : *c, out);
                fputs(" = ", out);
                config_print_string(out, config_property_is_secret(p->name) &&
                                                         p->value[0]
                                                 ? "***"
                                                 : p->value);
                fputs(";\n", out);
        }
        fputs("  };\n", out);
}

/* The `dealers` list without dealers[0], which is printed as moka.*. */
static void config_print_dealers(const struct config *conf, FILE *out)
{
        size_t d, k;

        if (conf->dealers_cnt <= 1) {
                fputs("dealers = ();\n", out);
                return;
        }
        fputs("dealers = (\n", out);
        for (d = 1; d < conf->dealers_cnt; d++) {
                const struct config_dealer *dealer = &conf->dealers[d];

                fputs("  {\n", out);
                for (k = 0; k < CONFIG_DEALER_KEY_CNT; k++) {
                        const struct config_key *key = &config_dealer_keys[k];
                        const char *v;

                        fprintf(out, "    %s = ", key->name);
                        if (key->type == CONFIG_KEY_INT) {
                                fprintf(out, "%d;\n",
                                        *(const int *)((const char *)dealer +
                                                       key->offset));
                                continue;
                        }
                        v = config_str_value(dealer, key);
                        config_print_string(out,
                                            key->secret && v[0] ? "***" : v);
                        fputs(";\n", out);
                }
                fputs(d + 1 < conf->dealers_cnt ? "  },\n" : "  }\n", out);
        }
        fputs(");\n", out);
}

void config_print(const struct config *conf, FILE *out)
{
        const char *group = NULL;
        size_t k;

        fputs("# moka-bridge effective configuration; secrets are shown as "
              "\"***\".\n",
              out);
        for (k = 0; k < CONFIG_KEY_CNT; k++) {
                const struct config_key *key = &config_keys[k];
                const void *field = (const char *)conf + key->offset;

                if (!group || strcmp(group, key->group)) {
                        if (group)
                                fputs("};\n\n", out);
                        group = key->group;
                        fprintf(out, "%s: {\n", group);
                }
                switch (key->type) {
                case CONFIG_KEY_STRING: {
                        const char *v = config_str_value(conf, key);
                        char *masked = NULL;

                        if (key->url_secret &&
                            (masked = malloc(strlen(v) + 5))) {
                                config_url_mask(v, masked, strlen(v) + 5);
                                v = masked;
                        } else if (key->url_secret) {
                                v = "***"; /* out of memory: show nothing */
                        }
                        fprintf(out, "  %s = ", key->name);
                        config_print_string(out,
                                            key->secret && v[0] ? "***" : v);
                        fputs(";\n", out);
                        free(masked);
                        break;
                }
                case CONFIG_KEY_INT:
                        fprintf(out, "  %s = %d;\n", key->name,
                                *(const int *)field);
                        break;
                case CONFIG_KEY_BOOL:
                        fprintf(out, "  %s = %s;\n", key->name,
                                *(const bool *)field ? "true" : "false");
                        break;
                case CONFIG_KEY_PROPERTIES:
                        config_print_properties(conf, out);
                        break;
                }
        }
        if (group)
                fputs("};\n\n", out);
        config_print_dealers(conf, out);
}

/* One row of the reference table: `name` as shown, `env` its variable. */
static void config_print_reference_row(FILE *out, const struct config_key *key,
                                       const char *name, const char *env)
{
        fprintf(out, "| `%s` | ", name);
        switch (key->type) {
        case CONFIG_KEY_STRING:
                fprintf(out, "%s | `\"%s\"`",
                        key->secret ? "string, secret" : "string",
                        key->def_str);
                if (key->derive_from)
                        fprintf(out, " = `<%s>%s`", key->derive_from,
                                key->derive_suffix);
                fprintf(out, " | %s", key->check ? key->check->allowed : "any");
                break;
        case CONFIG_KEY_INT:
                fprintf(out, "integer | `%d` | %d .. %d", key->def_int,
                        key->min, key->max);
                break;
        case CONFIG_KEY_BOOL:
                fprintf(out, "boolean | `%s` | `true`, `false`",
                        key->def_int ? "true" : "false");
                break;
        case CONFIG_KEY_PROPERTIES:
                fputs("group | `{}` | librdkafka properties", out);
                break;
        }
        if (env)
                fprintf(out, " | `%s`", env);
        else
                fputs(" | (file only)", out);
        fprintf(out, " | %s |\n", key->desc);
}

void config_print_reference(FILE *out)
{
        char name[128], env[128], *p;
        size_t k;

        fputs("| Key | Type | Default | Allowed | Environment variable | "
              "Description |\n"
              "|---|---|---|---|---|---|\n",
              out);
        for (k = 0; k < CONFIG_KEY_CNT; k++) {
                const struct config_key *key = &config_keys[k];

                snprintf(name, sizeof(name), "%s.%s", key->group, key->name);
                config_key_env_name(key, env, sizeof(env));
                config_print_reference_row(
                        out, key, name,
                        key->type == CONFIG_KEY_PROPERTIES ? NULL : env);
        }
        /* The keys of each entry of the `dealers` list; "name" picks the
         * entry of a variable and has none of its own. */
        for (k = 0; k < CONFIG_DEALER_KEY_CNT; k++) {
                const struct config_key *key = &config_dealer_keys[k];

                snprintf(name, sizeof(name), "dealers[].%s", key->name);
                snprintf(env, sizeof(env),
                         CONFIG_DEALERS_ENV_PREFIX "<NAME>_%s", key->name);
                for (p = strrchr(env, '>') + 2; *p; p++)
                        *p = (char)toupper((unsigned char)*p);
                config_print_reference_row(out, key, name, k ? env : NULL);
        }
}
