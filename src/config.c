/* Configuration: one table (config_keys[]) describes every key, and loading,
 * environment overrides, validation, printing and the reference all walk it.
 *
 * config_load() runs once at start-up, on the main thread:
 *   1. table defaults,
 *   2. the libconfig file (syntax, unknown groups and keys, types, ranges),
 *   3. MOKA_BRIDGE_<GROUP>_<KEY> environment overrides,
 *   4. moka.password_file,
 *   5. derived topic names and checks across keys (like librdkafka's
 *      rd_kafka_conf_finalize).
 * The first error stops it; messages name the file and line of the key when
 * its value came from the file, and never contain a secret's value. */

#include "config.h"

/* config.h maps config_destroy to moka_config_destroy; from here on the name
 * is libconfig's. */
#undef config_destroy

#include <libconfig.h>

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
 * (never the value of a secret) and returns false. */
struct config_check {
        bool (*valid)(const char *value, char *msg, size_t size);
        const char *allowed; /* what it accepts, for the reference */
};

struct config_key {
        const char *group;
        const char *name;
        enum config_key_type type;
        size_t offset; /* of the field in struct config */
        const char *def_str;
        int def_int; /* ints, and bools as 0/1 */
        int min, max;
        bool secret;
        const struct config_check *check;
        /* An empty value becomes <group>.<derive_from> + derive_suffix. */
        const char *derive_from;
        const char *derive_suffix;
        const char *desc; /* Markdown, no '|' */
};

static bool config_valid_required(const char *value, char *msg, size_t size);
static bool config_valid_password(const char *value, char *msg, size_t size);
static bool config_valid_url(const char *value, char *msg, size_t size);
static bool config_valid_topic(const char *value, char *msg, size_t size);
static bool config_valid_level(const char *value, char *msg, size_t size);

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
                   "API password (e.g. a Kubernetes secret mount)."),
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
        CONFIG_INT("moka", "max_inflight_requests",
                   moka_max_inflight_requests, 256, 1, 4096,
                   "Cap on concurrent HTTP requests to Moka."),
        CONFIG_BOOL("moka", "tls_verify", moka_tls_verify, 1,
                    "Verify the server's TLS certificate (only disable "
                    "against a test host)."),

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
                   "partitions); when reached, fetching pauses until half "
                   "of them are done."),
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
                   "Time between outage probes, milliseconds."),

        CONFIG_STR("admin", "listen", admin_listen, "", NULL,
                   "Admin HTTP listener (`/metrics`, `/healthz`, `/readyz`), "
                   "`host:port`; empty = disabled."),

        CONFIG_STR("log", "level", log_level, "info", &config_check_level,
                   "Log threshold."),
};

#define CONFIG_KEY_CNT (sizeof(config_keys) / sizeof(config_keys[0]))

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

struct config_loader {
        struct config *conf;
        const char *path;
        struct config_origin origin[CONFIG_KEY_CNT];
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

/* "FILE:LINE: group.key: message" when the key's value came from the file,
 * otherwise "group.key: message". */
static void config_fail_key(struct config_loader *ld, size_t k,
                            const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void config_fail_key(struct config_loader *ld, size_t k,
                            const char *fmt, ...)
{
        const struct config_key *key = &config_keys[k];
        const struct config_origin *o = &ld->origin[k];
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (o->kind == CONFIG_ORIGIN_FILE)
                config_fail(ld, "%s:%d: %s.%s: %s", o->file, o->line,
                            key->group, key->name, msg);
        else
                config_fail(ld, "%s.%s: %s", key->group, key->name, msg);
}

static void config_fail_oom(struct config_loader *ld)
{
        config_fail(ld, "out of memory");
}

static char **config_str_field(struct config *conf, const struct config_key *k)
{
        return (char **)((char *)conf + k->offset);
}

static const char *config_str_value(const struct config *conf,
                                    const struct config_key *k)
{
        return *(char *const *)((const char *)conf + k->offset);
}

static int *config_int_field(struct config *conf, const struct config_key *k)
{
        return (int *)((char *)conf + k->offset);
}

static bool *config_bool_field(struct config *conf, const struct config_key *k)
{
        return (bool *)((char *)conf + k->offset);
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

/* Replaces the string field of key `k` with a copy of `value`. */
static int config_str_replace(struct config_loader *ld, size_t k,
                              const char *value)
{
        char **field = config_str_field(ld->conf, &config_keys[k]);
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
                        if (config_str_replace(ld, k, key->def_str))
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

/* One "key = value" of the file, for table key `k`. */
static int config_load_setting(struct config_loader *ld, size_t k,
                               const config_setting_t *s)
{
        const struct config_key *key = &config_keys[k];
        int type = config_setting_type(s);
        char name[128];
        long long v;

        snprintf(name, sizeof(name), "%s.%s", key->group, key->name);
        switch (key->type) {
        case CONFIG_KEY_STRING:
                if (type != CONFIG_TYPE_STRING) {
                        config_fail_at(ld, s, name, "expected a string, got %s",
                                       config_type_name(type));
                        return -1;
                }
                if (config_str_replace(ld, k, config_setting_get_string(s)))
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
                *config_int_field(ld->conf, key) = (int)v;
                break;
        case CONFIG_KEY_BOOL:
                if (type != CONFIG_TYPE_BOOL) {
                        config_fail_at(ld, s, name,
                                       "expected a boolean (true or false), "
                                       "got %s",
                                       config_type_name(type));
                        return -1;
                }
                *config_bool_field(ld->conf, key) = config_setting_get_bool(s);
                break;
        case CONFIG_KEY_PROPERTIES:
                if (config_load_properties(ld, s))
                        return -1;
                break;
        }
        ld->origin[k].kind = CONFIG_ORIGIN_FILE;
        ld->origin[k].file = config_setting_source_file(s)
                                     ? config_setting_source_file(s)
                                     : ld->path;
        ld->origin[k].line = (int)config_setting_source_line(s);
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

/* The value of environment variable `var` for table key `k`. */
static int config_env_setting(struct config_loader *ld, size_t k,
                              const char *var, const char *value)
{
        const struct config_key *key = &config_keys[k];
        long long v;
        bool b;

        switch (key->type) {
        case CONFIG_KEY_STRING:
                if (config_str_replace(ld, k, value))
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
                *config_int_field(ld->conf, key) = (int)v;
                break;
        case CONFIG_KEY_BOOL:
                if (!config_parse_bool(value, &b)) {
                        config_fail(ld,
                                    "%s: expected true, false, yes, no, 1 or "
                                    "0, got \"%s\"",
                                    var, value);
                        return -1;
                }
                *config_bool_field(ld->conf, key) = b;
                break;
        case CONFIG_KEY_PROPERTIES:
                break; /* never matched: it has no variable */
        }
        ld->origin[k].kind = CONFIG_ORIGIN_ENV;
        ld->origin[k].file = NULL;
        ld->origin[k].line = 0;
        return 0;
}

/* Every MOKA_BRIDGE_* variable must name a key: an unknown one is most
 * likely a typo that would otherwise be silently ignored. */
static int config_load_env(struct config_loader *ld, char *const *envp)
{
        static const char props[] = CONFIG_ENV_PREFIX "KAFKA_PROPERTIES";
        char *const *e;

        for (e = envp ? envp : environ; *e; e++) {
                const char *eq = strchr(*e, '=');
                char var[128];
                size_t len, k;
                bool found = false;

                if (strncmp(*e, CONFIG_ENV_PREFIX,
                            sizeof(CONFIG_ENV_PREFIX) - 1) ||
                    !eq)
                        continue;
                len = (size_t)(eq - *e);
                snprintf(var, sizeof(var), "%.*s", (int)len, *e);
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

/* moka.password_file: its content, trailing newlines stripped, becomes
 * moka.password. Errors name the path, never the content. */
static int config_resolve_password(struct config_loader *ld)
{
        struct config *conf = ld->conf;
        const char *path = conf->moka_password_file;
        size_t kf = (size_t)config_key_find("moka", "password_file");
        char *buf = NULL;
        size_t len = 0;
        int fd = -1;
        int rc = -1;

        if (path[0] == '\0')
                return 0;
        if (conf->moka_password[0] != '\0') {
                config_fail_key(ld, kf,
                                "give either moka.password or "
                                "moka.password_file, not both");
                return -1;
        }

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                config_fail_key(ld, kf, "cannot read \"%s\": %s", path,
                                strerror(errno));
                goto cleanup;
        }
        buf = malloc(CONFIG_SECRET_FILE_MAX + 1);
        if (!buf) {
                config_fail_oom(ld);
                goto cleanup;
        }
        for (;;) {
                ssize_t r = read(fd, buf + len,
                                 CONFIG_SECRET_FILE_MAX + 1 - len);

                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0) {
                        config_fail_key(ld, kf, "cannot read \"%s\": %s", path,
                                        strerror(errno));
                        goto cleanup;
                }
                if (r == 0)
                        break;
                len += (size_t)r;
                if (len > CONFIG_SECRET_FILE_MAX) {
                        config_fail_key(ld, kf,
                                        "\"%s\" is larger than %d bytes", path,
                                        CONFIG_SECRET_FILE_MAX);
                        goto cleanup;
                }
        }
        if (memchr(buf, '\0', len)) {
                config_fail_key(ld, kf, "\"%s\" contains a NUL byte", path);
                goto cleanup;
        }
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
                len--;
        if (len == 0) {
                config_fail_key(ld, kf, "\"%s\" is empty", path);
                goto cleanup;
        }
        buf[len] = '\0';
        free(conf->moka_password); /* empty: nothing to wipe */
        conf->moka_password = strdup(buf);
        if (!conf->moka_password) {
                config_fail_oom(ld);
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

static bool config_valid_required(const char *value, char *msg, size_t size)
{
        if (value[0] != '\0')
                return true;
        snprintf(msg, size, "must not be empty");
        return false;
}

static bool config_valid_password(const char *value, char *msg, size_t size)
{
        if (value[0] != '\0')
                return true;
        snprintf(msg, size,
                 "required (set moka.password or moka.password_file)");
        return false;
}

static bool config_valid_url(const char *value, char *msg, size_t size)
{
        if ((!strncmp(value, "http://", 7) && value[7] != '\0') ||
            (!strncmp(value, "https://", 8) && value[8] != '\0'))
                return true;
        snprintf(msg, size, "must start with http:// or https://, got \"%s\"",
                 value);
        return false;
}

/* Kafka's own rule (Topic.validate): [A-Za-z0-9._-]{1,249}, not "." or
 * "..". */
static bool config_valid_topic(const char *value, char *msg, size_t size)
{
        size_t len = strlen(value);
        const char *p;

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

static bool config_valid_level(const char *value, char *msg, size_t size)
{
        if (!strcmp(value, "error") || !strcmp(value, "warn") ||
            !strcmp(value, "info") || !strcmp(value, "debug"))
                return true;
        snprintf(msg, size,
                 "must be one of error, warn, info, debug, got \"%s\"", value);
        return false;
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

static int config_validate(struct config_loader *ld)
{
        struct config *conf = ld->conf;
        char msg[512];
        size_t k, base, cap;

        if (config_derive(ld))
                return -1;
        for (k = 0; k < CONFIG_KEY_CNT; k++) {
                const struct config_key *key = &config_keys[k];

                if (!key->check ||
                    key->check->valid(config_str_value(conf, key), msg,
                                      sizeof(msg)))
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
        return config_check_topics(ld);
}

/* libconfig frees its strings without wiping them: wipe the secrets in the
 * parsed file before config_destroy. */
static void config_scrub_file(config_t *lc)
{
        config_setting_t *s = config_lookup(lc, "moka.password");
        int i, n;

        if (s && config_setting_type(s) == CONFIG_TYPE_STRING) {
                char *v = (char *)config_setting_get_string(s);

                explicit_bzero(v, strlen(v));
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
            config_resolve_password(&ld) || config_validate(&ld))
                goto cleanup;
        rc = 0;
cleanup:
        /* The origins point into lc: it lives until validation is done. */
        if (lc_init) {
                config_scrub_file(&lc);
                config_destroy(&lc);
        }
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

                        fprintf(out, "  %s = ", key->name);
                        config_print_string(out,
                                            key->secret && v[0] ? "***" : v);
                        fputs(";\n", out);
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
                fputs("};\n", out);
}

void config_print_reference(FILE *out)
{
        size_t k;

        fputs("| Key | Type | Default | Allowed | Environment variable | "
              "Description |\n"
              "|---|---|---|---|---|---|\n",
              out);
        for (k = 0; k < CONFIG_KEY_CNT; k++) {
                const struct config_key *key = &config_keys[k];
                char env[128];

                fprintf(out, "| `%s.%s` | ", key->group, key->name);
                switch (key->type) {
                case CONFIG_KEY_STRING:
                        fprintf(out, "%s | `\"%s\"`",
                                key->secret ? "string, secret" : "string",
                                key->def_str);
                        if (key->derive_from)
                                fprintf(out, " = `<%s>%s`", key->derive_from,
                                        key->derive_suffix);
                        fprintf(out, " | %s",
                                key->check ? key->check->allowed : "any");
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
                if (key->type == CONFIG_KEY_PROPERTIES) {
                        fputs(" | (file only)", out);
                } else {
                        config_key_env_name(key, env, sizeof(env));
                        fprintf(out, " | `%s`", env);
                }
                fprintf(out, " | %s |\n", key->desc);
        }
}
