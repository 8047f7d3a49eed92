/* Configuration: loading, validation, environment overrides, printing.
 *
 * One table in config.c describes every key (group, name, type, default,
 * range, description, whether it is a secret). Loading is done once at
 * start-up; after that the struct is read-only and shared by all modules. */
#ifndef MOKA_BRIDGE_CONFIG_H
#define MOKA_BRIDGE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "credentials.h"

/* libconfig exports a config_destroy(config_t *) of its own: two functions
 * of that name cannot be linked into one program, so ours is linked as
 * moka_config_destroy and callers still write config_destroy(conf). A file
 * that also needs <libconfig.h> must include it before this header, or
 * #undef config_destroy before including it (config.c does the latter). */
#define config_destroy moka_config_destroy

/* One "key = value" pair of kafka.properties, passed verbatim to librdkafka. */
struct config_property {
        char *name;
        char *value;
};

/* One Moka dealer account. dealers[0] is made of the moka.* keys, the
 * others come from the top-level `dealers` list, in file order. */
struct config_dealer {
        char *name;          /* [A-Za-z0-9._-]+, unique among the dealers */
        char *dealer_code;
        char *username;
        char *password;      /* secret: from password or password_file */
        char *password_file;
        int rate_limit;      /* requests/s, 0 = none */
        int rate_burst;      /* 0 = one second's worth */
};

struct config {
        char *path; /* the file it was loaded from */

        /* kafka */
        char *kafka_brokers;
        char *kafka_group_id;
        char *kafka_group_instance_id; /* "" = dynamic membership */
        char *kafka_delivery; /* "at-least-once" | "exactly-once" */
        bool exactly_once;    /* kafka_delivery is "exactly-once" */
        /* exactly-once only; when left empty it is derived at load as
         * "<group_id>-<group_instance_id>", else "<group_id>-<hostname>" */
        char *kafka_transactional_id;
        int kafka_transaction_interval_ms;
        int kafka_transaction_max_events;
        struct config_property *kafka_properties;
        size_t kafka_properties_cnt;

        /* moka */
        char *moka_base_url;
        char *moka_dealer_code;
        char *moka_username;
        char *moka_password; /* secret: resolved from password or password_file */
        char *moka_password_file;
        int moka_connect_timeout_ms;
        int moka_request_timeout_ms;
        int moka_max_inflight_requests;
        int moka_rate_limit; /* requests per second, 0 = none */
        int moka_rate_burst;
        bool moka_tls_verify;
        char *moka_ca_file; /* "" = the system's CA store */
        char *moka_proxy;   /* "" = none; may hold user:password@ */
        bool moka_allow_insecure;
        bool moka_plain_http_remote; /* derived: http:// to a non-loopback
                                      * host */
        char *moka_dealer_name;    /* the name of the moka.* dealer */
        char *moka_default_dealer; /* for events without a moka-dealer
                                    * header; "" = dealers[0] */

        /* dealers[0] is always the moka.* dealer; the `dealers` list of the
         * file follows. */
        struct config_dealer *dealers;
        size_t dealers_cnt;

        /* topics: the *_reply / *_dlq names are filled in with
         * "<input>.reply" / "<input>.dlq" when left empty. */
        char *topic_customer_update;
        char *topic_customer_update_reply;
        char *topic_customer_update_dlq;
        char *topic_sale_list;
        char *topic_sale_list_reply;
        char *topic_sale_list_dlq;
        char *topic_reply_allow; /* comma-separated names or prefixes* */

        /* retry */
        int retry_max_attempts;
        int retry_base_ms;
        int retry_cap_ms;
        int retry_max_elapsed_ms;

        /* limits */
        int limits_max_pending_events;
        int limits_shutdown_timeout_ms;
        int limits_max_event_bytes;

        /* outage */
        int outage_failure_threshold;
        int outage_probe_interval_ms;
        char *outage_credentials_probe;
        enum credentials_probe_mode outage_credentials_probe_mode; /* parsed */
        int outage_credentials_verdict_ms;

        /* admin */
        char *admin_listen;

        /* log */
        char *log_level; /* error | warn | info | debug */
};

/* Loads and validates `path`, then applies MOKA_BRIDGE_<GROUP>_<KEY> and
 * MOKA_BRIDGE_DEALERS_<NAME>_<KEY> environment overrides (taken from `envp`,
 * NULL-terminated, or from `environ` when envp is NULL), then reads secret
 * files and fills derived defaults and conf->dealers. Returns a new config owned by the caller (config_destroy), or
 * NULL with a "file:line: message" (or "ENVVAR: message") in errstr.
 * Messages never contain a secret's value. */
struct config *config_load(const char *path, char *const *envp,
                           char *errstr, size_t errstr_size);

/* Frees everything; accepts NULL. */
void config_destroy(struct config *conf);

/* Prints the effective configuration in libconfig syntax with secrets
 * replaced by "***" (empty secrets print as ""): the groups, then the
 * `dealers` list (dealers[0] is printed as the moka.* keys). */
void config_print(const struct config *conf, FILE *out);

/* True when the librdkafka property `name` (dotted form) holds a secret
 * (sasl.password, ssl.key.password, ...): config_print masks its value and
 * callers must not log it. */
bool config_property_is_secret(const char *name);

/* Writes `url` into `buf` with its userinfo ("user:password@") shown as
 * "***@", for logs and printing; strlen(url) + 5 bytes always suffice. */
void config_url_mask(const char *url, char *buf, size_t size);

/* Prints the reference of every key (name, type, default, range,
 * description), used by `moka-bridge check-config --reference` and docs. */
void config_print_reference(FILE *out);

/* Reads a secret file (a password_file): its content, trailing newlines
 * stripped, as a malloc'd C string in *out. Returns 0, or -1 with a
 * message naming the path, never the content, in `msg`: unreadable, empty,
 * larger than 64 KiB or holding a NUL byte. */
int config_read_secret_file(const char *path, char **out, char *msg,
                            size_t size);

#endif
