/* Unit tests of src/config.c: the sample file, defaults, derived topics,
 * every error class with its exact "file:line: message", environment
 * overrides, password files, secrets kept out of output and errors, printing
 * and the reference.
 *
 * A plain program: each failed check prints what it expected and what it
 * got; the exit status is 1 when any failed. The sample file is found under
 * MOKA_TEST_SOURCE_DIR (set by ctest), else from this file's path. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Distinctive, so finding it anywhere it must not be is unambiguous. */
#define SECRET "Zebra-7f3c-S3cr3t-Quokka"

#define ACCOUNT_ONLY                                                          \
        "MOKA_BRIDGE_MOKA_DEALER_CODE=1731",                                  \
                "MOKA_BRIDGE_MOKA_USERNAME=TestMoka2"
#define ACCOUNT ACCOUNT_ONLY, "MOKA_BRIDGE_MOKA_PASSWORD=" SECRET
/* A NULL-terminated environment for config_load. */
#define ENV(...) ((char *[]){__VA_ARGS__, NULL})

static int checks;
static int failures;

static void fail_header(const char *file, int line, const char *what)
{
        failures++;
        fprintf(stderr, "%s:%d: FAILED %s\n", file, line, what);
}

#define CHECK(cond) check_true(__FILE__, __LINE__, (cond), #cond)
static void check_true(const char *file, int line, int ok, const char *what)
{
        checks++;
        if (!ok)
                fail_header(file, line, what);
}

#define CHECK_STR(got, want)                                                  \
        check_str(__FILE__, __LINE__, #got, (got), (want))
static void check_str(const char *file, int line, const char *what,
                      const char *got, const char *want)
{
        checks++;
        if (got && want && !strcmp(got, want))
                return;
        fail_header(file, line, what);
        fprintf(stderr, "  expected: \"%s\"\n  got:      \"%s\"\n",
                want ? want : "(null)", got ? got : "(null)");
}

#define CHECK_INT(got, want)                                                  \
        check_int(__FILE__, __LINE__, #got, (long long)(got), (long long)(want))
static void check_int(const char *file, int line, const char *what,
                      long long got, long long want)
{
        checks++;
        if (got == want)
                return;
        fail_header(file, line, what);
        fprintf(stderr, "  expected: %lld\n  got:      %lld\n", want, got);
}

/* `text` must not contain `needle`. */
#define CHECK_ABSENT(text, needle)                                            \
        check_absent(__FILE__, __LINE__, #text, (text), (needle))
static void check_absent(const char *file, int line, const char *what,
                         const char *text, const char *needle)
{
        checks++;
        if (text && !strstr(text, needle))
                return;
        fail_header(file, line, what);
        fprintf(stderr, "  expected no \"%s\" in:\n%s\n", needle,
                text ? text : "(null)");
}

#define CHECK_CONTAINS(text, needle)                                          \
        check_contains(__FILE__, __LINE__, #text, (text), (needle))
static void check_contains(const char *file, int line, const char *what,
                           const char *text, const char *needle)
{
        checks++;
        if (text && strstr(text, needle))
                return;
        fail_header(file, line, what);
        fprintf(stderr, "  expected \"%s\" in:\n%s\n", needle,
                text ? text : "(null)");
}

/* ---- temporary files --------------------------------------------------- */

static char tmpdir[] = "/tmp/moka-config-test-XXXXXX";
static char *tmp_paths[256];
static int tmp_cnt;

static char *xstrdup(const char *s)
{
        char *d = strdup(s);

        if (!d) {
                perror("strdup");
                exit(2);
        }
        return d;
}

/* Writes `len` bytes of `data` to a new file in tmpdir; returns its path
 * (freed at exit). */
static const char *tmp_file_n(const char *data, size_t len)
{
        char path[sizeof(tmpdir) + 32];
        int fd;

        snprintf(path, sizeof(path), "%s/conf-XXXXXX", tmpdir);
        fd = mkstemp(path);
        if (fd < 0 || write(fd, data, len) != (ssize_t)len || close(fd)) {
                perror(path);
                exit(2);
        }
        if (tmp_cnt == (int)(sizeof(tmp_paths) / sizeof(tmp_paths[0]))) {
                fprintf(stderr, "too many temporary files\n");
                exit(2);
        }
        tmp_paths[tmp_cnt] = xstrdup(path);
        return tmp_paths[tmp_cnt++];
}

static const char *tmp_file(const char *text)
{
        return tmp_file_n(text, strlen(text));
}

static void tmp_cleanup(void)
{
        int i;

        for (i = 0; i < tmp_cnt; i++) {
                unlink(tmp_paths[i]);
                free(tmp_paths[i]);
        }
        rmdir(tmpdir);
}

static char *source_dir(void)
{
        const char *env = getenv("MOKA_TEST_SOURCE_DIR");
        const char *suffix = "tests/unit/test_config.c";
        size_t len = strlen(__FILE__), slen = strlen(suffix);
        char *dir;

        if (env && *env)
                return xstrdup(env);
        /* Compiled from the source tree: __FILE__ ends with the suffix. */
        if (len >= slen && !strcmp(__FILE__ + len - slen, suffix)) {
                if (len == slen)
                        return xstrdup(".");
                dir = xstrdup(__FILE__);
                dir[len - slen] = '\0';
                return dir;
        }
        return xstrdup(".");
}

/* Line number (1-based) of the first line of `path` that starts with
 * `prefix`, or 0. */
static int line_of(const char *path, const char *prefix)
{
        char buf[1024];
        FILE *f = fopen(path, "r");
        int n = 0;

        if (!f)
                return 0;
        while (fgets(buf, sizeof(buf), f)) {
                n++;
                if (!strncmp(buf, prefix, strlen(prefix))) {
                        fclose(f);
                        return n;
                }
        }
        fclose(f);
        return 0;
}

static char *print_to_string(const struct config *conf)
{
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f) {
                perror("open_memstream");
                exit(2);
        }
        config_print(conf, f);
        fclose(f);
        return buf;
}

static char *reference_to_string(void)
{
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f) {
                perror("open_memstream");
                exit(2);
        }
        config_print_reference(f);
        fclose(f);
        return buf;
}

static char *read_whole(const char *path)
{
        FILE *f = fopen(path, "r");
        char *buf = NULL;
        size_t size = 0;
        long len;

        if (!f)
                return NULL;
        if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 &&
            fseek(f, 0, SEEK_SET) == 0) {
                size = (size_t)len;
                buf = malloc(size + 1);
                if (buf && fread(buf, 1, size, f) == size) {
                        buf[size] = '\0';
                } else {
                        free(buf);
                        buf = NULL;
                }
        }
        fclose(f);
        return buf;
}

/* ---- load helpers ------------------------------------------------------ */

static struct config *load_text(const char *text, char **env, char *err,
                                size_t size)
{
        return config_load(tmp_file(text), env, err, size);
}

/* Loading `path` with `env` fails with "<path>:<line>: <msg>"; line 0
 * means no location ("<msg>"), line -1 the file alone ("<path>: <msg>").
 * The message must not contain the secret. */
#define CHECK_PATH_ERROR(path, env, line, msg)                                \
        check_path_error(__FILE__, __LINE__, (path), (env), (line), (msg))
static void check_path_error(const char *file, int line, const char *path,
                             char **env, int want_line, const char *msg)
{
        char err[1024], want[1024];
        struct config *conf;

        if (want_line > 0)
                snprintf(want, sizeof(want), "%s:%d: %s", path, want_line,
                         msg);
        else if (want_line < 0)
                snprintf(want, sizeof(want), "%s: %s", path, msg);
        else
                snprintf(want, sizeof(want), "%s", msg);
        memset(err, 'x', sizeof(err));
        conf = config_load(path, env, err, sizeof(err));
        check_true(file, line, conf == NULL, "config_load() == NULL");
        config_destroy(conf);
        check_str(file, line, "error message", err, want);
        check_absent(file, line, "error message", err, SECRET);
}

#define CHECK_LOAD_ERROR(text, env, line, msg)                                \
        check_path_error(__FILE__, __LINE__, tmp_file(text), (env), (line),   \
                         (msg))

/* Loading `text` succeeds; the caller destroys the result. */
#define LOAD_OK(text, env) load_ok(__FILE__, __LINE__, (text), (env))
static struct config *load_ok(const char *file, int line, const char *text,
                              char **env)
{
        char err[1024] = "";
        struct config *conf = load_text(text, env, err, sizeof(err));

        checks++;
        if (!conf) {
                fail_header(file, line, "config_load() != NULL");
                fprintf(stderr, "  error: \"%s\"\n", err);
        }
        return conf;
}

/* ---- tests ------------------------------------------------------------- */

static char *sample_path;

static void test_sample_config_loads_with_password_from_env(void)
{
        char err[1024] = "";
        struct config *conf = config_load(
                sample_path, ENV("MOKA_BRIDGE_MOKA_PASSWORD=" SECRET), err,
                sizeof(err));

        CHECK_STR(err, "");
        CHECK(conf != NULL);
        if (!conf)
                return;
        CHECK_STR(conf->path, sample_path);
        CHECK_STR(conf->kafka_brokers, "127.0.0.1:9092");
        CHECK_STR(conf->kafka_group_id, "moka-bridge");
        CHECK_STR(conf->kafka_group_instance_id, "");
        CHECK_INT(conf->kafka_properties_cnt, 0);
        CHECK_STR(conf->moka_base_url, "https://service.refmokaunited.com");
        CHECK_STR(conf->moka_dealer_code, "1731");
        CHECK_STR(conf->moka_username, "TestMoka2");
        CHECK_STR(conf->moka_password, SECRET);
        CHECK_STR(conf->moka_password_file, "");
        CHECK_INT(conf->moka_connect_timeout_ms, 5000);
        CHECK_INT(conf->moka_request_timeout_ms, 15000);
        CHECK_INT(conf->moka_max_inflight_requests, 256);
        CHECK(conf->moka_tls_verify);
        CHECK_STR(conf->topic_customer_update, "moka.customer.update");
        CHECK_STR(conf->topic_customer_update_reply,
                  "moka.customer.update.reply");
        CHECK_STR(conf->topic_customer_update_dlq, "moka.customer.update.dlq");
        CHECK_STR(conf->topic_sale_list, "moka.sale-list.request");
        CHECK_STR(conf->topic_sale_list_reply, "moka.sale-list.request.reply");
        CHECK_STR(conf->topic_sale_list_dlq, "moka.sale-list.request.dlq");
        CHECK_INT(conf->retry_max_attempts, 5);
        CHECK_INT(conf->retry_base_ms, 200);
        CHECK_INT(conf->retry_cap_ms, 10000);
        CHECK_INT(conf->retry_max_elapsed_ms, 60000);
        CHECK_INT(conf->limits_max_pending_events, 10000);
        CHECK_INT(conf->limits_shutdown_timeout_ms, 30000);
        CHECK_INT(conf->limits_max_event_bytes, 1048576);
        CHECK_STR(conf->admin_listen, "");
        CHECK_STR(conf->log_level, "info");
        /* One dealer: the moka.* keys. */
        CHECK_STR(conf->moka_dealer_name, "default");
        CHECK_STR(conf->moka_default_dealer, "");
        CHECK_INT(conf->dealers_cnt, 1);
        if (conf->dealers_cnt >= 1) {
                CHECK_STR(conf->dealers[0].name, "default");
                CHECK_STR(conf->dealers[0].dealer_code, "1731");
                CHECK_STR(conf->dealers[0].username, "TestMoka2");
                CHECK_STR(conf->dealers[0].password, SECRET);
                CHECK_STR(conf->dealers[0].password_file, "");
                CHECK_INT(conf->dealers[0].rate_limit, 0);
                CHECK_INT(conf->dealers[0].rate_burst, 0);
        }
        config_destroy(conf);
}

static void test_sample_config_without_password_names_its_line(void)
{
        int line = line_of(sample_path, "  password = ");

        CHECK(line > 0);
        CHECK_PATH_ERROR(sample_path, ENV("HOME=/root"), line,
                         "moka.password: required (set moka.password or "
                         "moka.password_file)");
}

/* The table defaults are the sample's values: loading an empty file gives
 * the same effective configuration as loading the sample. */
static void test_defaults_equal_the_sample(void)
{
        char err[1024] = "";
        struct config *sample =
                config_load(sample_path, ENV(ACCOUNT), err, sizeof(err));
        struct config *empty = LOAD_OK("", ENV(ACCOUNT));
        char *a, *b;

        CHECK_STR(err, "");
        if (!sample || !empty)
                goto out;
        a = print_to_string(sample);
        b = print_to_string(empty);
        CHECK_STR(b, a);
        free(a);
        free(b);
out:
        config_destroy(sample);
        config_destroy(empty);
}

static void test_missing_keys_take_defaults(void)
{
        struct config *conf = LOAD_OK("retry: {\n"
                                      "  max_attempts = 3;\n"
                                      "};\n",
                                      ENV(ACCOUNT));

        if (!conf)
                return;
        CHECK_INT(conf->retry_max_attempts, 3);
        CHECK_INT(conf->retry_base_ms, 200);
        CHECK_INT(conf->retry_cap_ms, 10000);
        CHECK_INT(conf->moka_request_timeout_ms, 15000);
        CHECK(conf->moka_tls_verify);
        CHECK_STR(conf->log_level, "info");
        CHECK_STR(conf->kafka_group_id, "moka-bridge");
        config_destroy(conf);
}

static void test_empty_output_topics_are_derived_from_inputs(void)
{
        struct config *conf = LOAD_OK("topics: {\n"
                                      "  customer_update = \"cu\";\n"
                                      "  sale_list = \"sl\";\n"
                                      "  customer_update_dlq = \"all.dlq\";\n"
                                      "  sale_list_dlq = \"all.dlq\";\n"
                                      "};\n",
                                      ENV(ACCOUNT));

        if (!conf)
                return;
        CHECK_STR(conf->topic_customer_update_reply, "cu.reply");
        CHECK_STR(conf->topic_customer_update_dlq, "all.dlq");
        CHECK_STR(conf->topic_sale_list_reply, "sl.reply");
        CHECK_STR(conf->topic_sale_list_dlq, "all.dlq");
        config_destroy(conf);
}

static void test_boundary_values_are_accepted(void)
{
        char name[256];
        struct config *conf;
        char *text;

        memset(name, 'a', 249);
        name[249] = '\0';
        if (asprintf(&text,
                     "retry: {\n"
                     "  max_attempts = 100;\n"
                     "  max_elapsed_ms = 0;\n"
                     "  base_ms = 0x10;\n"
                     "  cap_ms = 16;\n"
                     "};\n"
                     "limits: {\n"
                     "  max_event_bytes = 67108864L;\n"
                     "  shutdown_timeout_ms = 0;\n"
                     "};\n"
                     "topics: {\n"
                     "  sale_list = \"%s\";\n"
                     "  sale_list_reply = \"r\";\n"
                     "  sale_list_dlq = \"d\";\n"
                     "};\n",
                     name) < 0)
                exit(2);
        conf = LOAD_OK(text, ENV(ACCOUNT));
        free(text);
        if (!conf)
                return;
        CHECK_INT(conf->retry_max_attempts, 100);
        CHECK_INT(conf->retry_max_elapsed_ms, 0);
        CHECK_INT(conf->retry_base_ms, 16);
        CHECK_INT(conf->limits_max_event_bytes, 67108864);
        CHECK_INT(conf->limits_shutdown_timeout_ms, 0);
        CHECK_INT(strlen(conf->topic_sale_list), 249);
        config_destroy(conf);
}

static void test_kafka_properties_are_strings_with_dotted_names(void)
{
        struct config *conf = LOAD_OK("kafka: {\n"
                                      "  properties: {\n"
                                      "    security_protocol = \"ssl\";\n"
                                      "    fetch_wait_max_ms = 50;\n"
                                      "    enable_auto_commit = false;\n"
                                      "    big = 5000000000L;\n"
                                      "  };\n"
                                      "};\n",
                                      ENV(ACCOUNT));
        char *out;

        if (!conf)
                return;
        CHECK_INT(conf->kafka_properties_cnt, 4);
        if (conf->kafka_properties_cnt == 4) {
                CHECK_STR(conf->kafka_properties[0].name, "security.protocol");
                CHECK_STR(conf->kafka_properties[0].value, "ssl");
                CHECK_STR(conf->kafka_properties[1].name, "fetch.wait.max.ms");
                CHECK_STR(conf->kafka_properties[1].value, "50");
                CHECK_STR(conf->kafka_properties[2].name,
                          "enable.auto.commit");
                CHECK_STR(conf->kafka_properties[2].value, "false");
                CHECK_STR(conf->kafka_properties[3].value, "5000000000");
        }
        out = print_to_string(conf);
        CHECK_CONTAINS(out, "  properties: {\n"
                            "    security_protocol = \"ssl\";\n"
                            "    fetch_wait_max_ms = \"50\";\n");
        free(out);
        config_destroy(conf);
}

static void test_syntax_error_gives_libconfig_text_and_line(void)
{
        CHECK_LOAD_ERROR("retry: {\n"
                         "  max_attempts = ;\n"
                         "};\n",
                         ENV(ACCOUNT), 2, "syntax error");
        CHECK_LOAD_ERROR("log: {\n"
                         "  level = \"info\";\n"
                         "  level = \"debug\";\n"
                         "};\n",
                         ENV(ACCOUNT), 3, "duplicate setting name");
}

static void test_unreadable_file_is_named(void)
{
        char missing[sizeof(tmpdir) + 32];

        snprintf(missing, sizeof(missing), "%s/missing.conf", tmpdir);
        CHECK_PATH_ERROR(missing, ENV(ACCOUNT), -1,
                         "No such file or directory");
        CHECK_PATH_ERROR(tmpdir, ENV(ACCOUNT), -1, "Is a directory");
}

static void test_unknown_group_and_key(void)
{
        CHECK_LOAD_ERROR("log: {\n"
                         "};\n"
                         "foo: {\n"
                         "};\n",
                         ENV(ACCOUNT), 3, "foo: unknown group");
        CHECK_LOAD_ERROR("topics: {\n"
                         "  customer_update = \"a\";\n"
                         "  foo = \"b\";\n"
                         "};\n",
                         ENV(ACCOUNT), 3, "topics.foo: unknown key");
        CHECK_LOAD_ERROR("\n"
                         "log = \"info\";\n",
                         ENV(ACCOUNT), 2,
                         "log: expected a group, got a string");
}

static void test_wrong_types_are_rejected_strictly(void)
{
        CHECK_LOAD_ERROR("retry: {\n"
                         "  max_attempts = \"5\";\n"
                         "};\n",
                         ENV(ACCOUNT), 2,
                         "retry.max_attempts: expected an integer, got a "
                         "string");
        CHECK_LOAD_ERROR("retry: {\n"
                         "  base_ms = 2.5;\n"
                         "};\n",
                         ENV(ACCOUNT), 2,
                         "retry.base_ms: expected an integer, got a float");
        CHECK_LOAD_ERROR("moka: {\n"
                         "  tls_verify = 1;\n"
                         "};\n",
                         ENV(ACCOUNT), 2,
                         "moka.tls_verify: expected a boolean (true or "
                         "false), got an integer");
        CHECK_LOAD_ERROR("moka: {\n"
                         "  tls_verify = \"true\";\n"
                         "};\n",
                         ENV(ACCOUNT), 2,
                         "moka.tls_verify: expected a boolean (true or "
                         "false), got a string");
        CHECK_LOAD_ERROR("moka: {\n"
                         "\n"
                         "  dealer_code = 1731;\n"
                         "};\n",
                         ENV(ACCOUNT), 3,
                         "moka.dealer_code: expected a string, got an "
                         "integer");
        CHECK_LOAD_ERROR("kafka: {\n"
                         "  brokers = [\"a:9092\", \"b:9092\"];\n"
                         "};\n",
                         ENV(ACCOUNT), 2,
                         "kafka.brokers: expected a string, got an array");
        CHECK_LOAD_ERROR("moka: {\n"
                         "  password: {\n"
                         "    value = \"" SECRET "\";\n"
                         "  };\n"
                         "};\n",
                         ENV(ACCOUNT), 2,
                         "moka.password: expected a string, got a group");
}

static void test_out_of_range_integers(void)
{
        CHECK_LOAD_ERROR("moka: {\n"
                         "  request_timeout_ms = 5;\n"
                         "};\n",
                         ENV(ACCOUNT), 2,
                         "moka.request_timeout_ms: must be between 100 and "
                         "600000, got 5");
        CHECK_LOAD_ERROR("retry: {\n"
                         "  max_attempts = 101;\n"
                         "};\n",
                         ENV(ACCOUNT), 2,
                         "retry.max_attempts: must be between 1 and 100, "
                         "got 101");
        CHECK_LOAD_ERROR("limits: {\n"
                         "  shutdown_timeout_ms = -1;\n"
                         "};\n",
                         ENV(ACCOUNT), 2,
                         "limits.shutdown_timeout_ms: must be between 0 and "
                         "600000, got -1");
        CHECK_LOAD_ERROR("limits: {\n"
                         "  max_event_bytes = 100000000000L;\n"
                         "};\n",
                         ENV(ACCOUNT), 2,
                         "limits.max_event_bytes: must be between 1 and "
                         "67108864, got 100000000000");
        CHECK_LOAD_ERROR("moka: {\n"
                         "  max_inflight_requests = 0;\n"
                         "};\n",
                         ENV(ACCOUNT), 2,
                         "moka.max_inflight_requests: must be between 1 and "
                         "4096, got 0");
}

static void test_kafka_properties_errors(void)
{
        CHECK_LOAD_ERROR("kafka: {\n"
                         "  properties = \"security.protocol=ssl\";\n"
                         "};\n",
                         ENV(ACCOUNT), 2,
                         "kafka.properties: expected a group, got a string");
        CHECK_LOAD_ERROR("kafka: {\n"
                         "  properties: {\n"
                         "    security: {\n"
                         "      protocol = \"ssl\";\n"
                         "    };\n"
                         "  };\n"
                         "};\n",
                         ENV(ACCOUNT), 3,
                         "kafka.properties.security: expected a string, an "
                         "integer or a boolean, got a group");
        CHECK_LOAD_ERROR("kafka: {\n"
                         "  properties: {\n"
                         "    sasl_password = \"" SECRET "\";\n"
                         "    linger_ms = 0.5;\n"
                         "  };\n"
                         "};\n",
                         ENV(ACCOUNT), 4,
                         "kafka.properties.linger_ms: expected a string, an "
                         "integer or a boolean, got a float");
}

static void test_required_keys(void)
{
        CHECK_LOAD_ERROR("kafka: {\n"
                         "  brokers = \"\";\n"
                         "};\n",
                         ENV(ACCOUNT), 2, "kafka.brokers: must not be empty");
        CHECK_LOAD_ERROR("kafka: {\n"
                         "  group_id = \"\";\n"
                         "};\n",
                         ENV(ACCOUNT), 2, "kafka.group_id: must not be empty");
        /* Account identity has no default: not in the file, no line. */
        CHECK_LOAD_ERROR("", ENV("MOKA_BRIDGE_MOKA_PASSWORD=" SECRET), 0,
                         "moka.dealer_code: must not be empty");
        CHECK_LOAD_ERROR("", ENV("MOKA_BRIDGE_MOKA_DEALER_CODE=1"), 0,
                         "moka.username: must not be empty");
        CHECK_LOAD_ERROR("", ENV(ACCOUNT_ONLY), 0,
                         "moka.password: required (set moka.password or "
                         "moka.password_file)");
        CHECK_LOAD_ERROR("moka: {\n"
                         "  password = \"\";\n"
                         "};\n",
                         ENV(ACCOUNT_ONLY), 2,
                         "moka.password: required (set moka.password or "
                         "moka.password_file)");
}

static void test_value_checks_name_the_line(void)
{
        CHECK_LOAD_ERROR("moka: {\n"
                         "  base_url = \"service.mokaunited.com\";\n"
                         "};\n",
                         ENV(ACCOUNT), 2,
                         "moka.base_url: must start with http:// or "
                         "https://, got \"service.mokaunited.com\"");
        CHECK_LOAD_ERROR("moka: {\n"
                         "  base_url = \"https://\";\n"
                         "};\n",
                         ENV(ACCOUNT), 2,
                         "moka.base_url: must start with http:// or "
                         "https://, got \"https://\"");
        CHECK_LOAD_ERROR("log: {\n"
                         "  level = \"verbose\";\n"
                         "};\n",
                         ENV(ACCOUNT), 2,
                         "log.level: must be one of error, warn, info, "
                         "debug, got \"verbose\"");
        CHECK_LOAD_ERROR("topics: {\n"
                         "  sale_list = \"sale list\";\n"
                         "};\n",
                         ENV(ACCOUNT), 2,
                         "topics.sale_list: invalid topic name \"sale "
                         "list\": only letters, digits, '.', '_' and '-' "
                         "are allowed");
        CHECK_LOAD_ERROR("topics: {\n"
                         "  customer_update = \"\";\n"
                         "};\n",
                         ENV(ACCOUNT), 2,
                         "topics.customer_update: must not be empty");
        CHECK_LOAD_ERROR("topics: {\n"
                         "  customer_update_dlq = \"..\";\n"
                         "};\n",
                         ENV(ACCOUNT), 2,
                         "topics.customer_update_dlq: \"..\" is not a valid "
                         "topic name");
}

/* kafka.delivery: at-least-once by default; exactly-once derives a
 * transactional id; a bad value stops start-up with file:line. */
static void test_delivery_modes(void)
{
        struct config *conf;
        char host[256], want[512];

        conf = LOAD_OK("", ENV(ACCOUNT));
        if (conf) {
                CHECK_STR(conf->kafka_delivery, "at-least-once");
                CHECK(!conf->exactly_once);
                CHECK_STR(conf->kafka_transactional_id, "");
                CHECK_INT(conf->kafka_transaction_interval_ms, 100);
                CHECK_INT(conf->kafka_transaction_max_events, 10000);
        }
        config_destroy(conf);

        CHECK_LOAD_ERROR("kafka: {\n"
                         "  group_id = \"g\";\n"
                         "  delivery = \"exactly_once\";\n"
                         "};\n",
                         ENV(ACCOUNT), 3,
                         "kafka.delivery: must be at-least-once or "
                         "exactly-once, got \"exactly_once\"");
        CHECK_LOAD_ERROR("kafka: {\n"
                         "  delivery = 1;\n"
                         "};\n",
                         ENV(ACCOUNT), 2,
                         "kafka.delivery: expected a string, got an integer");
        CHECK_LOAD_ERROR("kafka: {\n"
                         "  transaction_interval_ms = 0;\n"
                         "};\n",
                         ENV(ACCOUNT), 2,
                         "kafka.transaction_interval_ms: must be between 1 "
                         "and 30000, got 0");
        CHECK_LOAD_ERROR("", ENV(ACCOUNT, "MOKA_BRIDGE_KAFKA_DELIVERY=once"),
                         0,
                         "kafka.delivery: must be at-least-once or "
                         "exactly-once, got \"once\"");

        /* From a static member's instance id. */
        conf = LOAD_OK("kafka: {\n"
                       "  group_id = \"bridges\";\n"
                       "  group_instance_id = \"moka-bridge-2\";\n"
                       "  delivery = \"exactly-once\";\n"
                       "};\n",
                       ENV(ACCOUNT));
        if (conf) {
                CHECK(conf->exactly_once);
                CHECK_STR(conf->kafka_transactional_id,
                          "bridges-moka-bridge-2");
        }
        config_destroy(conf);

        /* From the host name, through the environment. */
        conf = LOAD_OK("kafka: {\n  group_id = \"bridges\";\n};\n",
                       ENV(ACCOUNT, "MOKA_BRIDGE_KAFKA_DELIVERY=exactly-once",
                           "MOKA_BRIDGE_KAFKA_TRANSACTION_INTERVAL_MS=250"));
        if (conf && gethostname(host, sizeof(host)) == 0) {
                host[sizeof(host) - 1] = '\0';
                snprintf(want, sizeof(want), "bridges-%s", host);
                CHECK(conf->exactly_once);
                CHECK_STR(conf->kafka_transactional_id, want);
                CHECK_INT(conf->kafka_transaction_interval_ms, 250);
        }
        config_destroy(conf);

        /* An explicit id is kept, from the file or the environment. */
        conf = LOAD_OK("kafka: {\n"
                       "  delivery = \"exactly-once\";\n"
                       "  transactional_id = \"eos-a\";\n"
                       "};\n",
                       ENV(ACCOUNT,
                           "MOKA_BRIDGE_KAFKA_TRANSACTIONAL_ID=eos-b"));
        if (conf)
                CHECK_STR(conf->kafka_transactional_id, "eos-b");
        config_destroy(conf);

        /* At-least-once leaves an empty id alone. */
        conf = LOAD_OK("kafka: {\n  delivery = \"at-least-once\";\n};\n",
                       ENV(ACCOUNT));
        if (conf) {
                CHECK(!conf->exactly_once);
                CHECK_STR(conf->kafka_transactional_id, "");
        }
        config_destroy(conf);
}

static void test_topic_name_longer_than_249_is_rejected(void)
{
        char name[251];
        char *text;

        memset(name, 't', 250);
        name[250] = '\0';
        if (asprintf(&text, "topics: {\n  sale_list_reply = \"%s\";\n};\n",
                     name) < 0)
                exit(2);
        CHECK_LOAD_ERROR(text, ENV(ACCOUNT), 2,
                         "topics.sale_list_reply: topic name is 250 "
                         "characters long, at most 249 are allowed");
        free(text);
}

static void test_input_topic_must_differ_from_other_topics(void)
{
        CHECK_LOAD_ERROR("topics: {\n"
                         "  customer_update = \"a\";\n"
                         "  customer_update_reply = \"a\";\n"
                         "};\n",
                         ENV(ACCOUNT), 3,
                         "topics.customer_update_reply: \"a\" is also "
                         "topics.customer_update; an input topic must "
                         "differ from every other topic");
        CHECK_LOAD_ERROR("topics: {\n"
                         "  customer_update = \"a\";\n"
                         "  sale_list_dlq = \"a\";\n"
                         "};\n",
                         ENV(ACCOUNT), 3,
                         "topics.sale_list_dlq: \"a\" is also "
                         "topics.customer_update; an input topic must "
                         "differ from every other topic");
        CHECK_LOAD_ERROR("topics: {\n"
                         "  customer_update = \"a\";\n"
                         "  sale_list = \"a\";\n"
                         "};\n",
                         ENV(ACCOUNT), 3,
                         "topics.sale_list: \"a\" is also "
                         "topics.customer_update; an input topic must "
                         "differ from every other topic");
        /* A derived name has no line: the input that collides is blamed. */
        CHECK_LOAD_ERROR("topics: {\n"
                         "  customer_update = \"x\";\n"
                         "  sale_list = \"x.reply\";\n"
                         "};\n",
                         ENV(ACCOUNT), 3,
                         "topics.sale_list: \"x.reply\" is also "
                         "topics.customer_update_reply; an input topic must "
                         "differ from every other topic");
}

static void test_backoff_base_must_not_exceed_cap(void)
{
        CHECK_LOAD_ERROR("retry: {\n"
                         "  base_ms = 20000;\n"
                         "};\n",
                         ENV(ACCOUNT), 2,
                         "retry.base_ms: must not exceed retry.cap_ms "
                         "(10000), got 20000");
        CHECK_LOAD_ERROR("retry: {\n"
                         "  base_ms = 200;\n"
                         "  cap_ms = 100;\n"
                         "};\n",
                         ENV(ACCOUNT), 2,
                         "retry.base_ms: must not exceed retry.cap_ms "
                         "(100), got 200");
        CHECK_LOAD_ERROR("\n"
                         "retry: {\n"
                         "  cap_ms = 100;\n"
                         "};\n",
                         ENV(ACCOUNT), 3,
                         "retry.cap_ms: must not be less than retry.base_ms "
                         "(200), got 100");
        CHECK_LOAD_ERROR("", ENV(ACCOUNT, "MOKA_BRIDGE_RETRY_BASE_MS=20000"),
                         0,
                         "retry.base_ms: must not exceed retry.cap_ms "
                         "(10000), got 20000");
}

static void test_only_the_first_error_is_reported(void)
{
        CHECK_LOAD_ERROR("retry: {\n"
                         "  max_attempts = 0;\n"
                         "  base_ms = \"x\";\n"
                         "};\n"
                         "bogus: {\n"
                         "};\n",
                         ENV(ACCOUNT, "MOKA_BRIDGE_NOPE=1"), 2,
                         "retry.max_attempts: must be between 1 and 100, "
                         "got 0");
}

static void test_env_overrides_string_int_and_bool(void)
{
        struct config *conf =
                LOAD_OK("kafka: {\n"
                        "  brokers = \"file:9092\";\n"
                        "};\n"
                        "retry: {\n"
                        "  max_attempts = 3;\n"
                        "};\n",
                        ENV(ACCOUNT, "MOKA_BRIDGE_KAFKA_BROKERS=env:9092",
                            "MOKA_BRIDGE_RETRY_MAX_ATTEMPTS=7",
                            "MOKA_BRIDGE_MOKA_TLS_VERIFY=no",
                            "MOKA_BRIDGE_MOKA_ALLOW_INSECURE=yes",
                            "MOKA_BRIDGE_LOG_LEVEL=debug",
                            "MOKA_BRIDGE_ADMIN_LISTEN=127.0.0.1:9100",
                            "MOKA_BRIDGEX=ignored", "PATH=/usr/bin"));

        if (!conf)
                return;
        CHECK_STR(conf->kafka_brokers, "env:9092");
        CHECK_INT(conf->retry_max_attempts, 7);
        CHECK(!conf->moka_tls_verify);
        CHECK(conf->moka_allow_insecure);
        CHECK_STR(conf->log_level, "debug");
        CHECK_STR(conf->admin_listen, "127.0.0.1:9100");
        CHECK_STR(conf->moka_dealer_code, "1731");
        CHECK_STR(conf->moka_password, SECRET);
        config_destroy(conf);
}

static void test_env_bool_spellings(void)
{
        static const struct {
                const char *var;
                bool want;
        } cases[] = {
                {"MOKA_BRIDGE_MOKA_TLS_VERIFY=true", true},
                {"MOKA_BRIDGE_MOKA_TLS_VERIFY=YES", true},
                {"MOKA_BRIDGE_MOKA_TLS_VERIFY=1", true},
                {"MOKA_BRIDGE_MOKA_TLS_VERIFY=False", false},
                {"MOKA_BRIDGE_MOKA_TLS_VERIFY=no", false},
                {"MOKA_BRIDGE_MOKA_TLS_VERIFY=0", false},
        };
        size_t i;

        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct config *conf = LOAD_OK(
                        "moka: {\n  tls_verify = true;\n"
                        "  allow_insecure = true;\n};\n",
                        ENV(ACCOUNT, (char *)cases[i].var));

                if (!conf)
                        continue;
                CHECK_INT(conf->moka_tls_verify, cases[i].want);
                config_destroy(conf);
        }
}

static void test_env_bad_values(void)
{
        CHECK_LOAD_ERROR("", ENV(ACCOUNT, "MOKA_BRIDGE_RETRY_MAX_ATTEMPTS=0"),
                         0,
                         "MOKA_BRIDGE_RETRY_MAX_ATTEMPTS: must be between 1 "
                         "and 100, got 0");
        CHECK_LOAD_ERROR("",
                         ENV(ACCOUNT, "MOKA_BRIDGE_RETRY_MAX_ATTEMPTS=abc"),
                         0,
                         "MOKA_BRIDGE_RETRY_MAX_ATTEMPTS: expected an "
                         "integer, got \"abc\"");
        CHECK_LOAD_ERROR("",
                         ENV(ACCOUNT, "MOKA_BRIDGE_RETRY_MAX_ATTEMPTS=5 "),
                         0,
                         "MOKA_BRIDGE_RETRY_MAX_ATTEMPTS: expected an "
                         "integer, got \"5 \"");
        CHECK_LOAD_ERROR("", ENV(ACCOUNT, "MOKA_BRIDGE_RETRY_MAX_ATTEMPTS="),
                         0,
                         "MOKA_BRIDGE_RETRY_MAX_ATTEMPTS: expected an "
                         "integer, got \"\"");
        CHECK_LOAD_ERROR("",
                         ENV(ACCOUNT, "MOKA_BRIDGE_LIMITS_MAX_EVENT_BYTES="
                                      "99999999999999999999"),
                         0,
                         "MOKA_BRIDGE_LIMITS_MAX_EVENT_BYTES: must be "
                         "between 1 and 67108864, got 99999999999999999999");
        CHECK_LOAD_ERROR("", ENV(ACCOUNT, "MOKA_BRIDGE_MOKA_TLS_VERIFY=maybe"),
                         0,
                         "MOKA_BRIDGE_MOKA_TLS_VERIFY: expected true, false, "
                         "yes, no, 1 or 0, got \"maybe\"");
}

static void test_env_unknown_variables_are_errors(void)
{
        CHECK_LOAD_ERROR("", ENV(ACCOUNT, "MOKA_BRIDGE_RETRY_MAX_ATTEMPT=5"),
                         0,
                         "MOKA_BRIDGE_RETRY_MAX_ATTEMPT: unknown variable, no "
                         "configuration key has this name");
        CHECK_LOAD_ERROR("",
                         ENV(ACCOUNT, "MOKA_BRIDGE_KAFKA_PROPERTIES_SECURITY_"
                                      "PROTOCOL=ssl"),
                         0,
                         "MOKA_BRIDGE_KAFKA_PROPERTIES_SECURITY_PROTOCOL: "
                         "kafka.properties can only be set in the "
                         "configuration file");
}

/* An overridden key is not the file's any more: its errors have no line. */
static void test_env_values_are_checked_without_file_line(void)
{
        CHECK_LOAD_ERROR("log: {\n"
                         "  level = \"info\";\n"
                         "};\n",
                         ENV(ACCOUNT, "MOKA_BRIDGE_LOG_LEVEL=verbose"), 0,
                         "log.level: must be one of error, warn, info, "
                         "debug, got \"verbose\"");
        CHECK_LOAD_ERROR("", ENV(ACCOUNT, "MOKA_BRIDGE_MOKA_BASE_URL=ftp://x"),
                         0,
                         "moka.base_url: must start with http:// or "
                         "https://, got \"ftp://x\"");
}

static void test_null_envp_reads_environ(void)
{
        struct config *conf;

        setenv("MOKA_BRIDGE_MOKA_DEALER_CODE", "42", 1);
        setenv("MOKA_BRIDGE_MOKA_USERNAME", "u", 1);
        setenv("MOKA_BRIDGE_MOKA_PASSWORD", SECRET, 1);
        setenv("MOKA_BRIDGE_RETRY_CAP_MS", "12345", 1);
        conf = LOAD_OK("", NULL);
        if (conf) {
                CHECK_STR(conf->moka_dealer_code, "42");
                CHECK_INT(conf->retry_cap_ms, 12345);
                config_destroy(conf);
        }
        unsetenv("MOKA_BRIDGE_MOKA_DEALER_CODE");
        unsetenv("MOKA_BRIDGE_MOKA_USERNAME");
        unsetenv("MOKA_BRIDGE_MOKA_PASSWORD");
        unsetenv("MOKA_BRIDGE_RETRY_CAP_MS");
}

static void test_password_file_with_trailing_newline(void)
{
        const char *pw = tmp_file(SECRET "\r\n\n");
        struct config *conf;
        char *text, *out, *want;

        if (asprintf(&text, "moka: {\n  password_file = \"%s\";\n};\n", pw) <
            0)
                exit(2);
        /* An empty MOKA_BRIDGE_MOKA_PASSWORD does not count as given. */
        conf = LOAD_OK(text, ENV(ACCOUNT_ONLY, "MOKA_BRIDGE_MOKA_PASSWORD="));
        free(text);
        if (!conf)
                return;
        CHECK_STR(conf->moka_password, SECRET);
        CHECK_STR(conf->moka_password_file, pw);
        out = print_to_string(conf);
        CHECK_ABSENT(out, SECRET);
        CHECK_CONTAINS(out, "  password = \"***\";\n");
        if (asprintf(&want, "  password_file = \"%s\";\n", pw) < 0)
                exit(2);
        CHECK_CONTAINS(out, want);
        free(want);
        free(out);
        config_destroy(conf);
}

static void test_password_file_from_env(void)
{
        const char *pw = tmp_file(SECRET "\n");
        char *var;
        struct config *conf;

        if (asprintf(&var, "MOKA_BRIDGE_MOKA_PASSWORD_FILE=%s", pw) < 0)
                exit(2);
        conf = LOAD_OK("", ENV(ACCOUNT_ONLY, var));
        if (conf)
                CHECK_STR(conf->moka_password, SECRET);
        config_destroy(conf);
        free(var);
}

static void test_password_and_password_file_together_is_an_error(void)
{
        const char *pw = tmp_file(SECRET "\n");
        char *text;

        if (asprintf(&text,
                     "moka: {\n"
                     "  password = \"" SECRET "\";\n"
                     "  password_file = \"%s\";\n"
                     "};\n",
                     pw) < 0)
                exit(2);
        CHECK_LOAD_ERROR(text, ENV(ACCOUNT_ONLY), 3,
                         "moka.password_file: give either moka.password or "
                         "moka.password_file, not both");
        free(text);

        /* The password from the environment counts too. */
        if (asprintf(&text, "moka: {\n  password_file = \"%s\";\n};\n", pw) <
            0)
                exit(2);
        CHECK_LOAD_ERROR(text, ENV(ACCOUNT), 2,
                         "moka.password_file: give either moka.password or "
                         "moka.password_file, not both");
        free(text);
}

static void test_unreadable_password_file_names_the_path(void)
{
        char missing[sizeof(tmpdir) + 32], *text, *want;

        snprintf(missing, sizeof(missing), "%s/no-such-secret", tmpdir);
        if (asprintf(&text, "moka: {\n  password_file = \"%s\";\n};\n",
                     missing) < 0 ||
            asprintf(&want,
                     "moka.password_file: cannot read \"%s\": No such file "
                     "or directory",
                     missing) < 0)
                exit(2);
        CHECK_LOAD_ERROR(text, ENV(ACCOUNT_ONLY), 2, want);
        free(text);
        free(want);

        if (asprintf(&text, "moka: {\n  password_file = \"%s\";\n};\n",
                     tmpdir) < 0 ||
            asprintf(&want,
                     "moka.password_file: cannot read \"%s\": Is a directory",
                     tmpdir) < 0)
                exit(2);
        CHECK_LOAD_ERROR(text, ENV(ACCOUNT_ONLY), 2, want);
        free(text);
        free(want);
}

static void test_bad_password_file_contents(void)
{
        const char *empty = tmp_file("\r\n");
        const char *nul = tmp_file_n(SECRET "\0x\n", sizeof(SECRET) + 2);
        char *text, *want;

        if (asprintf(&text, "moka: {\n  password_file = \"%s\";\n};\n",
                     empty) < 0 ||
            asprintf(&want, "moka.password_file: \"%s\" is empty", empty) < 0)
                exit(2);
        CHECK_LOAD_ERROR(text, ENV(ACCOUNT_ONLY), 2, want);
        free(text);
        free(want);

        if (asprintf(&text, "moka: {\n  password_file = \"%s\";\n};\n", nul) <
                    0 ||
            asprintf(&want, "moka.password_file: \"%s\" contains a NUL byte",
                     nul) < 0)
                exit(2);
        CHECK_LOAD_ERROR(text, ENV(ACCOUNT_ONLY), 2, want);
        free(text);
        free(want);
}

/* Errors after a secret was read, from the file or the environment, and
 * errors about the secret's own key never show it. */
static void test_secret_never_in_error_messages(void)
{
        CHECK_LOAD_ERROR("moka: {\n"
                         "  password = \"" SECRET "\";\n"
                         "  request_timeout_ms = 1;\n"
                         "};\n",
                         ENV(ACCOUNT_ONLY), 3,
                         "moka.request_timeout_ms: must be between 100 and "
                         "600000, got 1");
        CHECK_LOAD_ERROR("moka: {\n"
                         "  password = \"" SECRET "\";\n"
                         "  surname = \"" SECRET "\";\n"
                         "};\n",
                         ENV(ACCOUNT_ONLY), 3, "moka.surname: unknown key");
        CHECK_LOAD_ERROR("moka: {\n"
                         "  password = [\"" SECRET "\"];\n"
                         "};\n",
                         ENV(ACCOUNT_ONLY), 2,
                         "moka.password: expected a string, got an array");
        CHECK_LOAD_ERROR("", ENV(ACCOUNT, "MOKA_BRIDGE_MOKA_PASWORD=" SECRET),
                         0,
                         "MOKA_BRIDGE_MOKA_PASWORD: unknown variable, no "
                         "configuration key has this name");
}

static void test_secrets_are_masked_in_print(void)
{
        struct config *conf = LOAD_OK("kafka: {\n"
                                      "  properties: {\n"
                                      "    sasl_password = \"" SECRET "\";\n"
                                      "    ssl_key_password = \"" SECRET "\";\n"
                                      "    sasl_username = \"bridge\";\n"
                                      "  };\n"
                                      "};\n",
                                      ENV(ACCOUNT));
        char *out;

        if (!conf)
                return;
        out = print_to_string(conf);
        CHECK_ABSENT(out, SECRET);
        CHECK_CONTAINS(out, "  password = \"***\";\n");
        CHECK_CONTAINS(out, "    sasl_password = \"***\";\n");
        CHECK_CONTAINS(out, "    ssl_key_password = \"***\";\n");
        CHECK_CONTAINS(out, "    sasl_username = \"bridge\";\n");
        free(out);

        /* An empty secret prints as "" rather than hiding that it is. */
        free(conf->moka_password);
        conf->moka_password = xstrdup("");
        out = print_to_string(conf);
        CHECK_CONTAINS(out, "  password = \"\";\n");
        free(out);
        config_destroy(conf);
}

/* The printed configuration loads back to the same configuration. */
static void test_print_round_trips(void)
{
        struct config *conf = LOAD_OK(
                "kafka: {\n"
                "  group_instance_id = \"pod-\\\"0\\\"\\\\x\";\n"
                "  properties: {\n"
                "    client_id = \"bridge\";\n"
                "  };\n"
                "};\n"
                "moka: {\n"
                "  tls_verify = false;\n"
                "  allow_insecure = true;\n"
                "};\n"
                "topics: {\n"
                "  sale_list_dlq = \"shared.dlq\";\n"
                "};\n",
                ENV(ACCOUNT));
        struct config *again;
        char *a, *b;

        if (!conf)
                return;
        CHECK_STR(conf->kafka_group_instance_id, "pod-\"0\"\\x");
        a = print_to_string(conf);
        again = LOAD_OK(a, ENV(ACCOUNT_ONLY, "MOKA_BRIDGE_MOKA_PASSWORD=x"));
        if (again) {
                b = print_to_string(again);
                CHECK_STR(b, a);
                CHECK_STR(again->kafka_group_instance_id, "pod-\"0\"\\x");
                free(b);
        }
        free(a);
        config_destroy(again);
        config_destroy(conf);
}

/* ---- transport security ----------------------------------------------- */

/* tls_verify = false and plain http:// to a host that is not loopback stop
 * start-up at the key's line, unless allow_insecure = true. */
static void test_insecure_transport_needs_allow_insecure(void)
{
        static const char *const remote_http[] = {
                "http://moka-sim:8080",
                "http://service.mokaunited.com",
                "http://128.0.0.1:8080",
                "http://10.0.0.1/",
                "http://localhost.example.com:80",
                "http://127.0.0.1.nip.io",
                "http://[::2]:8080",
                "http://[::ffff:127.0.0.1]:8080",
                /* the userinfo is not the host */
                "http://127.0.0.1@evil.example:8080",
        };
        static const char *const loopback_http[] = {
                "http://127.0.0.1:8080",
                "http://127.9.8.7",
                "http://localhost:1/",
                "http://LocalHost",
                "http://[::1]:8080/x",
                "http://user:pw@127.0.0.1:9",
                "http://evil.example@127.0.0.1:9",
        };
        struct config *conf;
        char text[512];
        size_t i;

        CHECK_LOAD_ERROR("moka: {\n"
                         "  tls_verify = false;\n"
                         "};\n",
                         ENV(ACCOUNT), 2,
                         "moka.tls_verify: false is refused unless "
                         "moka.allow_insecure = true (a simulator or test "
                         "host only)");
        CHECK_LOAD_ERROR("", ENV(ACCOUNT, "MOKA_BRIDGE_MOKA_TLS_VERIFY=false"),
                         0,
                         "moka.tls_verify: false is refused unless "
                         "moka.allow_insecure = true (a simulator or test "
                         "host only)");
        /* Loopback does not excuse an unverified certificate. */
        CHECK_LOAD_ERROR("moka: {\n"
                         "  base_url = \"https://127.0.0.1:8443\";\n"
                         "  tls_verify = false;\n"
                         "};\n",
                         ENV(ACCOUNT), 3,
                         "moka.tls_verify: false is refused unless "
                         "moka.allow_insecure = true (a simulator or test "
                         "host only)");
        for (i = 0; i < sizeof(remote_http) / sizeof(remote_http[0]); i++) {
                snprintf(text, sizeof(text),
                         "moka: {\n  base_url = \"%s\";\n};\n",
                         remote_http[i]);
                CHECK_LOAD_ERROR(text, ENV(ACCOUNT), 2,
                                 "moka.base_url: plain http:// to a host "
                                 "that is not loopback (127.0.0.0/8, ::1, "
                                 "localhost) is refused: use https://, or "
                                 "set moka.allow_insecure = true (a "
                                 "simulator or test host only)");
                snprintf(text, sizeof(text),
                         "moka: {\n  base_url = \"%s\";\n"
                         "  allow_insecure = true;\n};\n",
                         remote_http[i]);
                conf = LOAD_OK(text, ENV(ACCOUNT));
                if (conf)
                        CHECK(conf->moka_plain_http_remote);
                config_destroy(conf);
        }
        for (i = 0; i < sizeof(loopback_http) / sizeof(loopback_http[0]);
             i++) {
                snprintf(text, sizeof(text),
                         "moka: {\n  base_url = \"%s\";\n};\n",
                         loopback_http[i]);
                conf = LOAD_OK(text, ENV(ACCOUNT));
                if (conf)
                        CHECK(!conf->moka_plain_http_remote);
                config_destroy(conf);
        }
        /* Both at once, the environment's spelling of the key. */
        conf = LOAD_OK("moka: {\n"
                       "  base_url = \"http://moka-sim:8080\";\n"
                       "  tls_verify = false;\n"
                       "};\n",
                       ENV(ACCOUNT, "MOKA_BRIDGE_MOKA_ALLOW_INSECURE=true"));
        if (conf) {
                CHECK(conf->moka_allow_insecure);
                CHECK(!conf->moka_tls_verify);
                CHECK(conf->moka_plain_http_remote);
        }
        config_destroy(conf);
        /* The defaults: https, verified, nothing to allow. */
        conf = LOAD_OK("", ENV(ACCOUNT));
        if (conf) {
                CHECK(!conf->moka_allow_insecure);
                CHECK(!conf->moka_plain_http_remote);
        }
        config_destroy(conf);
}

static void test_ca_file_must_be_readable(void)
{
        const char *pem = tmp_file("-----BEGIN CERTIFICATE-----\n");
        struct config *conf;
        char text[512];

        CHECK_LOAD_ERROR("moka: {\n"
                         "  ca_file = \"/nonexistent/ca.pem\";\n"
                         "};\n",
                         ENV(ACCOUNT), 2,
                         "moka.ca_file: cannot read \"/nonexistent/ca.pem\": "
                         "No such file or directory");
        snprintf(text, sizeof(text), "moka: {\n  ca_file = \"%s\";\n};\n",
                 tmpdir);
        {
                char want[512];

                snprintf(want, sizeof(want),
                         "moka.ca_file: \"%s\" is a directory, not a PEM "
                         "file",
                         tmpdir);
                CHECK_LOAD_ERROR(text, ENV(ACCOUNT), 2, want);
        }
        CHECK_LOAD_ERROR("", ENV(ACCOUNT, "MOKA_BRIDGE_MOKA_CA_FILE=/nope.pem"),
                         0,
                         "moka.ca_file: cannot read \"/nope.pem\": No such "
                         "file or directory");
        snprintf(text, sizeof(text), "moka: {\n  ca_file = \"%s\";\n};\n",
                 pem);
        conf = LOAD_OK(text, ENV(ACCOUNT));
        if (conf)
                CHECK_STR(conf->moka_ca_file, pem);
        config_destroy(conf);
        conf = LOAD_OK("", ENV(ACCOUNT));
        if (conf)
                CHECK_STR(conf->moka_ca_file, "");
        config_destroy(conf);
}

/* moka.proxy: a URL with a scheme; its credentials are masked when printed
 * and never appear in an error. */
static void test_proxy(void)
{
        static const struct {
                const char *url, *masked;
        } masks[] = {
                {"http://u:p@h:1/x", "http://***@h:1/x"},
                {"http://h:1", "http://h:1"},
                {"socks5h://tok@h", "socks5h://***@h"},
                {"http://a@b:c@h:3128", "http://***@h:3128"},
                {"http://h/p@x", "http://h/p@x"},
                {"", ""},
        };
        struct config *conf;
        char buf[64], *out;
        size_t i;

        for (i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
                config_url_mask(masks[i].url, buf, sizeof(buf));
                CHECK_STR(buf, masks[i].masked);
        }
        conf = LOAD_OK("moka: {\n"
                       "  proxy = \"http://bridge:" SECRET
                       "@proxy.internal:3128\";\n"
                       "};\n",
                       ENV(ACCOUNT));
        if (conf) {
                CHECK_STR(conf->moka_proxy,
                          "http://bridge:" SECRET "@proxy.internal:3128");
                out = print_to_string(conf);
                CHECK_CONTAINS(out, "  proxy = \"http://***@proxy.internal:"
                                    "3128\";\n");
                CHECK_ABSENT(out, SECRET);
                free(out);
        }
        config_destroy(conf);
        conf = LOAD_OK("", ENV(ACCOUNT, "MOKA_BRIDGE_MOKA_PROXY="
                                        "socks5h://127.0.0.1:1080"));
        if (conf)
                CHECK_STR(conf->moka_proxy, "socks5h://127.0.0.1:1080");
        config_destroy(conf);
        /* No scheme, another scheme, no host: the value is not repeated,
         * it may hold a password (CHECK_LOAD_ERROR looks for SECRET). */
        CHECK_LOAD_ERROR("moka: {\n"
                         "  proxy = \"bridge:" SECRET "@proxy:3128\";\n"
                         "};\n",
                         ENV(ACCOUNT), 2,
                         "moka.proxy: must be empty or a URL starting with "
                         "http://, https://, socks4://, socks4a://, "
                         "socks5:// or socks5h://");
        CHECK_LOAD_ERROR("", ENV(ACCOUNT, "MOKA_BRIDGE_MOKA_PROXY=ftp://u:"
                                          SECRET "@p"),
                         0,
                         "moka.proxy: must be empty or a URL starting with "
                         "http://, https://, socks4://, socks4a://, "
                         "socks5:// or socks5h://");
        CHECK_LOAD_ERROR("moka: {\n  proxy = \"http://\";\n};\n",
                         ENV(ACCOUNT), 2,
                         "moka.proxy: must be empty or a URL starting with "
                         "http://, https://, socks4://, socks4a://, "
                         "socks5:// or socks5h://");
}

/* ---- several dealers --------------------------------------------------- */

/* The four required keys of a `dealers` entry named "b", four lines. */
#define DEALER_B                                                              \
        "    name = \"b\";\n"                                                 \
        "    dealer_code = \"1732\";\n"                                       \
        "    username = \"ub\";\n"                                            \
        "    password = \"" SECRET "\";\n"

static void test_dealers_list_loads_in_file_order(void)
{
        const char *pw = tmp_file(SECRET "-c\r\n");
        struct config *conf;
        char *text, *out, *want;

        if (asprintf(&text,
                     "moka: {\n"
                     "  dealer_name = \"main\";\n"
                     "  rate_limit = 5;\n"
                     "  rate_burst = 7;\n"
                     "  default_dealer = \"c.3_x\";\n"
                     "};\n"
                     "dealers = (\n"
                     "  {\n"
                     "    name = \"b-2\";\n"
                     "    dealer_code = \"1732\";\n"
                     "    username = \"ub\";\n"
                     "    password = \"" SECRET "-b\";\n"
                     "    rate_limit = 10;\n"
                     "  },\n"
                     "  {\n"
                     "    rate_burst = 3;\n"
                     "    password_file = \"%s\";\n"
                     "    username = \"uc\";\n"
                     "    dealer_code = \"1733\";\n"
                     "    name = \"c.3_x\";\n"
                     "  }\n"
                     ");\n",
                     pw) < 0)
                exit(2);
        conf = LOAD_OK(text, ENV(ACCOUNT));
        free(text);
        if (!conf)
                return;
        CHECK_STR(conf->moka_dealer_name, "main");
        CHECK_STR(conf->moka_default_dealer, "c.3_x");
        CHECK_INT(conf->dealers_cnt, 3);
        if (conf->dealers_cnt != 3)
                goto out;
        /* dealers[0] is the moka.* dealer. */
        CHECK_STR(conf->dealers[0].name, "main");
        CHECK_STR(conf->dealers[0].dealer_code, "1731");
        CHECK_STR(conf->dealers[0].username, "TestMoka2");
        CHECK_STR(conf->dealers[0].password, SECRET);
        CHECK_STR(conf->dealers[0].password_file, "");
        CHECK_INT(conf->dealers[0].rate_limit, 5);
        CHECK_INT(conf->dealers[0].rate_burst, 7);
        CHECK_STR(conf->dealers[1].name, "b-2");
        CHECK_STR(conf->dealers[1].dealer_code, "1732");
        CHECK_STR(conf->dealers[1].username, "ub");
        CHECK_STR(conf->dealers[1].password, SECRET "-b");
        CHECK_STR(conf->dealers[1].password_file, "");
        CHECK_INT(conf->dealers[1].rate_limit, 10);
        CHECK_INT(conf->dealers[1].rate_burst, 0);
        CHECK_STR(conf->dealers[2].name, "c.3_x");
        CHECK_STR(conf->dealers[2].dealer_code, "1733");
        CHECK_STR(conf->dealers[2].username, "uc");
        CHECK_STR(conf->dealers[2].password, SECRET "-c");
        CHECK_STR(conf->dealers[2].password_file, pw);
        CHECK_INT(conf->dealers[2].rate_limit, 0);
        CHECK_INT(conf->dealers[2].rate_burst, 3);

        out = print_to_string(conf);
        CHECK_ABSENT(out, SECRET);
        CHECK_CONTAINS(out, "  dealer_name = \"main\";\n");
        CHECK_CONTAINS(out, "  default_dealer = \"c.3_x\";\n");
        if (asprintf(&want,
                     "};\n"
                     "\n"
                     "dealers = (\n"
                     "  {\n"
                     "    name = \"b-2\";\n"
                     "    dealer_code = \"1732\";\n"
                     "    username = \"ub\";\n"
                     "    password = \"***\";\n"
                     "    password_file = \"\";\n"
                     "    rate_limit = 10;\n"
                     "    rate_burst = 0;\n"
                     "  },\n"
                     "  {\n"
                     "    name = \"c.3_x\";\n"
                     "    dealer_code = \"1733\";\n"
                     "    username = \"uc\";\n"
                     "    password = \"***\";\n"
                     "    password_file = \"%s\";\n"
                     "    rate_limit = 0;\n"
                     "    rate_burst = 3;\n"
                     "  }\n"
                     ");\n",
                     pw) < 0)
                exit(2);
        /* The list comes last. */
        CHECK(out && strlen(out) >= strlen(want) &&
              !strcmp(out + strlen(out) - strlen(want), want));
        CHECK_CONTAINS(out, want);
        free(want);
        free(out);

        /* An empty secret prints as "", like moka.password. */
        free(conf->dealers[1].password);
        conf->dealers[1].password = xstrdup("");
        out = print_to_string(conf);
        CHECK_CONTAINS(out, "    name = \"b-2\";\n"
                            "    dealer_code = \"1732\";\n"
                            "    username = \"ub\";\n"
                            "    password = \"\";\n");
        free(out);
out:
        config_destroy(conf);
}

static void test_dealers_without_a_list(void)
{
        static const char tail[] = "};\n\ndealers = ();\n";
        struct config *conf = LOAD_OK("", ENV(ACCOUNT));
        char *out;

        if (!conf)
                return;
        CHECK_INT(conf->dealers_cnt, 1);
        if (conf->dealers_cnt == 1) {
                CHECK_STR(conf->dealers[0].name, "default");
                CHECK_STR(conf->dealers[0].dealer_code, "1731");
                CHECK_STR(conf->dealers[0].password, SECRET);
        }
        out = print_to_string(conf);
        /* The list comes last. */
        CHECK(out && strlen(out) > strlen(tail) &&
              !strcmp(out + strlen(out) - strlen(tail), tail));
        CHECK_ABSENT(out, SECRET);
        free(out);
        config_destroy(conf);

        /* An empty list is no list. */
        conf = LOAD_OK("dealers = ();\n", ENV(ACCOUNT));
        if (conf)
                CHECK_INT(conf->dealers_cnt, 1);
        config_destroy(conf);
}

static void test_dealers_print_round_trips(void)
{
        struct config *conf = LOAD_OK("dealers = (\n"
                                      "  {\n" DEALER_B "  },\n"
                                      "  {\n"
                                      "    name = \"c\";\n"
                                      "    dealer_code = \"17\\\"33\";\n"
                                      "    username = \"uc\";\n"
                                      "    password = \"" SECRET "\";\n"
                                      "    rate_limit = 1000000;\n"
                                      "    rate_burst = 1000000;\n"
                                      "  }\n"
                                      ");\n",
                                      ENV(ACCOUNT));
        struct config *again;
        char *a, *b;

        if (!conf)
                return;
        a = print_to_string(conf);
        again = LOAD_OK(a, ENV(ACCOUNT_ONLY, "MOKA_BRIDGE_MOKA_PASSWORD=x"));
        if (again) {
                b = print_to_string(again);
                CHECK_STR(b, a);
                CHECK_INT(again->dealers_cnt, 3);
                if (again->dealers_cnt == 3)
                        CHECK_STR(again->dealers[2].dealer_code, "17\"33");
                free(b);
        }
        free(a);
        config_destroy(again);
        config_destroy(conf);
}

static void test_dealers_must_be_a_list_of_groups(void)
{
        CHECK_LOAD_ERROR("dealers: {\n"
                         "  name = \"b\";\n"
                         "};\n",
                         ENV(ACCOUNT), 1,
                         "dealers: expected a list of groups, got a group");
        CHECK_LOAD_ERROR("\n"
                         "dealers = [\"b\"];\n",
                         ENV(ACCOUNT), 2,
                         "dealers: expected a list of groups, got an array");
        CHECK_LOAD_ERROR("log: {\n"
                         "};\n"
                         "dealers = \"b\";\n",
                         ENV(ACCOUNT), 3,
                         "dealers: expected a list of groups, got a string");
        CHECK_LOAD_ERROR("dealers = (\n"
                         "  {\n" DEALER_B "  },\n"
                         "  \"c\", {\n"
                         "  }\n"
                         ");\n",
                         ENV(ACCOUNT), 8,
                         "dealers[2]: expected a group, got a string");
        CHECK_LOAD_ERROR("dealers = (\n"
                         "\n"
                         "  ( \"b\" )\n"
                         ");\n",
                         ENV(ACCOUNT), 3,
                         "dealers[1]: expected a group, got a list");
}

static void test_dealers_unknown_keys_types_and_ranges(void)
{
        CHECK_LOAD_ERROR("dealers = (\n"
                         "  {\n" DEALER_B
                         "    foo = 1;\n"
                         "  }\n"
                         ");\n",
                         ENV(ACCOUNT), 7, "dealers[1].foo: unknown key");
        CHECK_LOAD_ERROR("dealers = (\n"
                         "  {\n" DEALER_B "  },\n"
                         "  {\n"
                         "    name = \"c\";\n"
                         "    surname = \"" SECRET "\";\n"
                         "  }\n"
                         ");\n",
                         ENV(ACCOUNT), 10, "dealers[2].surname: unknown key");
        CHECK_LOAD_ERROR("dealers = (\n"
                         "  {\n" DEALER_B
                         "    rate_limit = \"10\";\n"
                         "  }\n"
                         ");\n",
                         ENV(ACCOUNT), 7,
                         "dealers[1].rate_limit: expected an integer, got a "
                         "string");
        CHECK_LOAD_ERROR("dealers = (\n"
                         "  {\n" DEALER_B
                         "    rate_burst = 1.5;\n"
                         "  }\n"
                         ");\n",
                         ENV(ACCOUNT), 7,
                         "dealers[1].rate_burst: expected an integer, got a "
                         "float");
        CHECK_LOAD_ERROR("dealers = (\n"
                         "  {\n" DEALER_B
                         "    rate_limit = -1;\n"
                         "  }\n"
                         ");\n",
                         ENV(ACCOUNT), 7,
                         "dealers[1].rate_limit: must be between 0 and "
                         "1000000, got -1");
        CHECK_LOAD_ERROR("dealers = (\n"
                         "  {\n" DEALER_B "  },\n"
                         "  {\n"
                         "    rate_burst = 1000001;\n"
                         "  }\n"
                         ");\n",
                         ENV(ACCOUNT), 9,
                         "dealers[2].rate_burst: must be between 0 and "
                         "1000000, got 1000001");
        CHECK_LOAD_ERROR("dealers = (\n"
                         "  {\n"
                         "    name = \"b\";\n"
                         "    dealer_code = 1732;\n"
                         "  }\n"
                         ");\n",
                         ENV(ACCOUNT), 4,
                         "dealers[1].dealer_code: expected a string, got an "
                         "integer");
        CHECK_LOAD_ERROR("dealers = (\n"
                         "  {\n"
                         "    name = \"b\";\n"
                         "    password = [\"" SECRET "\"];\n"
                         "  }\n"
                         ");\n",
                         ENV(ACCOUNT), 4,
                         "dealers[1].password: expected a string, got an "
                         "array");
}

/* A required key missing from an entry is blamed on the entry's line, an
 * empty one on its own line. */
static void test_dealers_required_keys(void)
{
        CHECK_LOAD_ERROR("dealers = (\n"
                         "  {\n"
                         "    dealer_code = \"1732\";\n"
                         "    username = \"ub\";\n"
                         "    password = \"" SECRET "\";\n"
                         "  }\n"
                         ");\n",
                         ENV(ACCOUNT), 2, "dealers[1].name: must not be empty");
        CHECK_LOAD_ERROR("dealers = (\n"
                         "  {\n"
                         "    name = \"\";\n"
                         "  }\n"
                         ");\n",
                         ENV(ACCOUNT), 3, "dealers[1].name: must not be empty");
        CHECK_LOAD_ERROR("dealers = (\n"
                         "  {\n" DEALER_B "  },\n"
                         "  {\n"
                         "    password = \"" SECRET "\";\n"
                         "    name = \"c\";\n"
                         "  }\n"
                         ");\n",
                         ENV(ACCOUNT), 8,
                         "dealers[2].dealer_code: must not be empty");
        CHECK_LOAD_ERROR("dealers = (\n"
                         "  {\n"
                         "    name = \"b\";\n"
                         "    dealer_code = \"1732\";\n"
                         "    username = \"\";\n"
                         "    password = \"" SECRET "\";\n"
                         "  }\n"
                         ");\n",
                         ENV(ACCOUNT), 5,
                         "dealers[1].username: must not be empty");
        CHECK_LOAD_ERROR("dealers = (\n"
                         "\n"
                         "  { name = \"b\"; dealer_code = \"1\"; "
                         "username = \"u\"; }\n"
                         ");\n",
                         ENV(ACCOUNT), 3,
                         "dealers[1].password: required (set "
                         "dealers[1].password or dealers[1].password_file)");
        CHECK_LOAD_ERROR("dealers = (\n"
                         "  {\n"
                         "    name = \"b\";\n"
                         "    dealer_code = \"1732\";\n"
                         "    username = \"ub\";\n"
                         "    password = \"\";\n"
                         "  }\n"
                         ");\n",
                         ENV(ACCOUNT), 6,
                         "dealers[1].password: required (set "
                         "dealers[1].password or dealers[1].password_file)");
}

static void test_dealer_names(void)
{
        CHECK_LOAD_ERROR("dealers = (\n"
                         "  {\n"
                         "    name = \"a b\";\n"
                         "  }\n"
                         ");\n",
                         ENV(ACCOUNT), 3,
                         "dealers[1].name: invalid dealer name \"a b\": only "
                         "letters, digits, '.', '_' and '-' are allowed");
        CHECK_LOAD_ERROR("dealers = (\n"
                         "  {\n" DEALER_B "  },\n"
                         "  {\n"
                         "    dealer_code = \"1733\";\n"
                         "    name = \"b\";\n"
                         "  }\n"
                         ");\n",
                         ENV(ACCOUNT), 10,
                         "dealers[2].name: \"b\" is already used");
        /* dealers[0] is called "default" unless moka.dealer_name says. */
        CHECK_LOAD_ERROR("dealers = (\n"
                         "  {\n"
                         "    name = \"default\";\n"
                         "    dealer_code = \"1732\";\n"
                         "    username = \"ub\";\n"
                         "    password = \"" SECRET "\";\n"
                         "  }\n"
                         ");\n",
                         ENV(ACCOUNT), 3,
                         "dealers[1].name: \"default\" is already used");
        CHECK_LOAD_ERROR("dealers = (\n"
                         "  {\n" DEALER_B "  }\n"
                         ");\n"
                         "moka: {\n"
                         "  dealer_name = \"b\";\n"
                         "};\n",
                         ENV(ACCOUNT), 3,
                         "dealers[1].name: \"b\" is already used");
        CHECK_LOAD_ERROR("dealers = (\n"
                         "  {\n" DEALER_B "  }\n"
                         ");\n",
                         ENV(ACCOUNT, "MOKA_BRIDGE_MOKA_DEALER_NAME=b"), 3,
                         "dealers[1].name: \"b\" is already used");
        /* Both would be MOKA_BRIDGE_DEALERS_B_X_*. */
        CHECK_LOAD_ERROR("dealers = (\n"
                         "  { name = \"b-x\"; },\n"
                         "  { name = \"B.x\"; }\n"
                         ");\n",
                         ENV(ACCOUNT), 3,
                         "dealers[2].name: \"B.x\" and \"b-x\" (dealers[1]) "
                         "would share the variables "
                         "MOKA_BRIDGE_DEALERS_B_X_*");
        CHECK_LOAD_ERROR("moka: {\n"
                         "  dealer_name = \"a/b\";\n"
                         "};\n",
                         ENV(ACCOUNT), 2,
                         "moka.dealer_name: invalid dealer name \"a/b\": only "
                         "letters, digits, '.', '_' and '-' are allowed");
        CHECK_LOAD_ERROR("", ENV(ACCOUNT, "MOKA_BRIDGE_MOKA_DEALER_NAME="), 0,
                         "moka.dealer_name: must not be empty");
}

static void test_default_dealer_must_name_a_dealer(void)
{
        struct config *conf;

        CHECK_LOAD_ERROR("dealers = (\n"
                         "  {\n" DEALER_B "  }\n"
                         ");\n"
                         "moka: {\n"
                         "  default_dealer = \"c\";\n"
                         "};\n",
                         ENV(ACCOUNT), 10,
                         "moka.default_dealer: no dealer named \"c\"");
        CHECK_LOAD_ERROR("", ENV(ACCOUNT, "MOKA_BRIDGE_MOKA_DEFAULT_DEALER=b"),
                         0, "moka.default_dealer: no dealer named \"b\"");

        conf = LOAD_OK("moka: {\n  default_dealer = \"default\";\n};\n",
                       ENV(ACCOUNT));
        if (conf)
                CHECK_STR(conf->moka_default_dealer, "default");
        config_destroy(conf);
        conf = LOAD_OK("dealers = (\n"
                       "  {\n" DEALER_B "  }\n"
                       ");\n",
                       ENV(ACCOUNT, "MOKA_BRIDGE_MOKA_DEFAULT_DEALER=b",
                           "MOKA_BRIDGE_MOKA_DEALER_NAME=main"));
        if (conf) {
                CHECK_STR(conf->moka_default_dealer, "b");
                CHECK_STR(conf->dealers[0].name, "main");
        }
        config_destroy(conf);
}

static void test_dealer_password_files(void)
{
        const char *pw = tmp_file(SECRET "\n");
        const char *empty = tmp_file("\n");
        const char *nul = tmp_file_n(SECRET "\0x\n", sizeof(SECRET) + 2);
        char missing[sizeof(tmpdir) + 32], *text, *want;

        snprintf(missing, sizeof(missing), "%s/no-such-secret", tmpdir);
        if (asprintf(&text,
                     "dealers = (\n"
                     "  {\n" DEALER_B
                     "    password_file = \"%s\";\n"
                     "  }\n"
                     ");\n",
                     pw) < 0)
                exit(2);
        CHECK_LOAD_ERROR(text, ENV(ACCOUNT), 7,
                         "dealers[1].password_file: give either "
                         "dealers[1].password or dealers[1].password_file, "
                         "not both");
        free(text);

        /* The password from the environment counts too. */
        if (asprintf(&text,
                     "dealers = (\n"
                     "  {\n"
                     "    name = \"b\";\n"
                     "    dealer_code = \"1732\";\n"
                     "    username = \"ub\";\n"
                     "    password_file = \"%s\";\n"
                     "  }\n"
                     ");\n",
                     pw) < 0)
                exit(2);
        CHECK_LOAD_ERROR(text,
                         ENV(ACCOUNT,
                             "MOKA_BRIDGE_DEALERS_B_PASSWORD=" SECRET),
                         6,
                         "dealers[1].password_file: give either "
                         "dealers[1].password or dealers[1].password_file, "
                         "not both");
        free(text);

        if (asprintf(&text,
                     "dealers = (\n"
                     "  { name = \"b\"; dealer_code = \"1\"; username = "
                     "\"u\";\n"
                     "    password_file = \"%s\"; }\n"
                     ");\n",
                     missing) < 0 ||
            asprintf(&want,
                     "dealers[1].password_file: cannot read \"%s\": No such "
                     "file or directory",
                     missing) < 0)
                exit(2);
        CHECK_LOAD_ERROR(text, ENV(ACCOUNT), 3, want);
        free(text);
        free(want);

        if (asprintf(&text,
                     "dealers = (\n"
                     "  { name = \"b\"; dealer_code = \"1\"; username = "
                     "\"u\";\n"
                     "    password_file = \"%s\"; }\n"
                     ");\n",
                     empty) < 0 ||
            asprintf(&want, "dealers[1].password_file: \"%s\" is empty",
                     empty) < 0)
                exit(2);
        CHECK_LOAD_ERROR(text, ENV(ACCOUNT), 3, want);
        free(text);
        free(want);

        if (asprintf(&text,
                     "dealers = (\n"
                     "  { name = \"b\"; dealer_code = \"1\"; username = "
                     "\"u\";\n"
                     "    password_file = \"%s\"; }\n"
                     ");\n",
                     nul) < 0 ||
            asprintf(&want,
                     "dealers[1].password_file: \"%s\" contains a NUL byte",
                     nul) < 0)
                exit(2);
        CHECK_LOAD_ERROR(text, ENV(ACCOUNT), 3, want);
        free(text);
        free(want);
}

static void test_dealers_env_overrides(void)
{
        const char *pw = tmp_file(SECRET "-file\n");
        struct config *conf;
        char *var;

        /* "b" and "b_2" are told apart by the key that follows. */
        conf = LOAD_OK("dealers = (\n"
                       "  {\n"
                       "    name = \"b\";\n"
                       "    dealer_code = \"1732\";\n"
                       "    username = \"ub\";\n"
                       "    rate_limit = 1;\n"
                       "  },\n"
                       "  {\n"
                       "    name = \"b_2\";\n"
                       "    dealer_code = \"1733\";\n"
                       "    username = \"u2\";\n"
                       "    password = \"file\";\n"
                       "  },\n"
                       "  {\n"
                       "    name = \"c-3.x\";\n"
                       "  }\n"
                       ");\n",
                       ENV(ACCOUNT, "MOKA_BRIDGE_DEALERS_B_PASSWORD=" SECRET,
                           "MOKA_BRIDGE_DEALERS_B_RATE_LIMIT=20",
                           "MOKA_BRIDGE_DEALERS_B_RATE_BURST=40",
                           "MOKA_BRIDGE_DEALERS_B_2_PASSWORD=" SECRET "-2",
                           "MOKA_BRIDGE_DEALERS_C_3_X_DEALER_CODE=1734",
                           "MOKA_BRIDGE_DEALERS_C_3_X_USERNAME=u3",
                           "MOKA_BRIDGE_DEALERS_C_3_X_PASSWORD=" SECRET "-3"));
        if (conf && conf->dealers_cnt == 4) {
                CHECK_STR(conf->dealers[1].password, SECRET);
                CHECK_STR(conf->dealers[1].dealer_code, "1732");
                CHECK_INT(conf->dealers[1].rate_limit, 20);
                CHECK_INT(conf->dealers[1].rate_burst, 40);
                CHECK_STR(conf->dealers[2].password, SECRET "-2");
                CHECK_STR(conf->dealers[2].dealer_code, "1733");
                CHECK_INT(conf->dealers[2].rate_limit, 0);
                CHECK_STR(conf->dealers[3].name, "c-3.x");
                CHECK_STR(conf->dealers[3].dealer_code, "1734");
                CHECK_STR(conf->dealers[3].username, "u3");
                CHECK_STR(conf->dealers[3].password, SECRET "-3");
                /* moka.* untouched */
                CHECK_STR(conf->dealers[0].password, SECRET);
                CHECK_STR(conf->dealers[0].dealer_code, "1731");
        } else {
                CHECK(conf && conf->dealers_cnt == 4);
        }
        config_destroy(conf);

        if (asprintf(&var, "MOKA_BRIDGE_DEALERS_B_PASSWORD_FILE=%s", pw) < 0)
                exit(2);
        conf = LOAD_OK("dealers = (\n"
                       "  { name = \"b\"; dealer_code = \"1\"; "
                       "username = \"u\"; }\n"
                       ");\n",
                       ENV(ACCOUNT, var));
        if (conf && conf->dealers_cnt == 2) {
                CHECK_STR(conf->dealers[1].password, SECRET "-file");
                CHECK_STR(conf->dealers[1].password_file, pw);
        }
        config_destroy(conf);
        free(var);

        /* An overridden value has no line. */
        CHECK_LOAD_ERROR("dealers = (\n"
                         "  {\n" DEALER_B "  }\n"
                         ");\n",
                         ENV(ACCOUNT, "MOKA_BRIDGE_DEALERS_B_PASSWORD="), 0,
                         "dealers[1].password: required (set "
                         "dealers[1].password or dealers[1].password_file)");
}

static void test_dealers_env_errors(void)
{
        const char *one = "dealers = (\n"
                          "  {\n" DEALER_B "  }\n"
                          ");\n";

        CHECK_LOAD_ERROR(one,
                         ENV(ACCOUNT,
                             "MOKA_BRIDGE_DEALERS_NOPE_PASSWORD=" SECRET),
                         0,
                         "MOKA_BRIDGE_DEALERS_NOPE_PASSWORD: no dealer named "
                         "NOPE in the dealers list");
        CHECK_LOAD_ERROR("",
                         ENV(ACCOUNT, "MOKA_BRIDGE_DEALERS_B_PASSWORD_FILE="
                                      "/x"),
                         0,
                         "MOKA_BRIDGE_DEALERS_B_PASSWORD_FILE: no dealer "
                         "named B in the dealers list");
        /* dealers[0] is set with MOKA_BRIDGE_MOKA_*, not through the list. */
        CHECK_LOAD_ERROR(one,
                         ENV(ACCOUNT,
                             "MOKA_BRIDGE_DEALERS_DEFAULT_PASSWORD=" SECRET),
                         0,
                         "MOKA_BRIDGE_DEALERS_DEFAULT_PASSWORD: no dealer "
                         "named DEFAULT in the dealers list");
        CHECK_LOAD_ERROR(one,
                         ENV(ACCOUNT,
                             "MOKA_BRIDGE_DEALERS_B_PASWORD=" SECRET),
                         0,
                         "MOKA_BRIDGE_DEALERS_B_PASWORD: unknown variable, "
                         "expected MOKA_BRIDGE_DEALERS_<NAME>_<KEY> with "
                         "<KEY> one of DEALER_CODE, USERNAME, PASSWORD, "
                         "PASSWORD_FILE, RATE_LIMIT, RATE_BURST");
        CHECK_LOAD_ERROR(one, ENV(ACCOUNT, "MOKA_BRIDGE_DEALERS_B_NAME=c"), 0,
                         "MOKA_BRIDGE_DEALERS_B_NAME: unknown variable, "
                         "expected MOKA_BRIDGE_DEALERS_<NAME>_<KEY> with "
                         "<KEY> one of DEALER_CODE, USERNAME, PASSWORD, "
                         "PASSWORD_FILE, RATE_LIMIT, RATE_BURST");
        CHECK_LOAD_ERROR(one,
                         ENV(ACCOUNT, "MOKA_BRIDGE_DEALERS_B_RATE_LIMIT=abc"),
                         0,
                         "MOKA_BRIDGE_DEALERS_B_RATE_LIMIT: expected an "
                         "integer, got \"abc\"");
        CHECK_LOAD_ERROR(one,
                         ENV(ACCOUNT,
                             "MOKA_BRIDGE_DEALERS_B_RATE_BURST=1000001"),
                         0,
                         "MOKA_BRIDGE_DEALERS_B_RATE_BURST: must be between 0 "
                         "and 1000000, got 1000001");
}

static int count_char(const char *s, size_t len, char c)
{
        int n = 0;
        size_t i;

        for (i = 0; i < len; i++)
                n += s[i] == c;
        return n;
}

static void test_reference_has_a_row_per_key(void)
{
        char *ref = reference_to_string();
        const char *line, *nl;
        int rows = 0, bad = 0;

        for (line = ref; *line; line = nl + 1) {
                nl = strchr(line, '\n');
                if (!nl)
                        break;
                rows++;
                /* 6 columns: 7 pipes, so no description breaks the table */
                if (count_char(line, (size_t)(nl - line), '|') != 7)
                        bad++;
        }
        CHECK_INT(bad, 0);
        /* header rows + one per key + one per key of a dealers entry */
        CHECK_INT(rows, 2 + 44 + 7);
        CHECK_CONTAINS(ref, "| `retry.max_attempts` | integer | `5` | "
                            "1 .. 100 | `MOKA_BRIDGE_RETRY_MAX_ATTEMPTS` |");
        CHECK_CONTAINS(ref, "| `moka.password` | string, secret | `\"\"` |");
        CHECK_CONTAINS(ref, "| `kafka.properties` | group |");
        CHECK_CONTAINS(ref, "| `kafka.delivery` | string | "
                            "`\"at-least-once\"` | `at-least-once`, "
                            "`exactly-once` | `MOKA_BRIDGE_KAFKA_DELIVERY` |");
        CHECK_CONTAINS(ref, "`MOKA_BRIDGE_MOKA_PASSWORD_FILE`");
        CHECK_CONTAINS(ref, "| `moka.dealer_name` | string | `\"default\"` |");
        CHECK_CONTAINS(ref, "`MOKA_BRIDGE_MOKA_DEFAULT_DEALER`");
        CHECK_CONTAINS(ref, "| `dealers[].name` | string | `\"\"` | "
                            "`[A-Za-z0-9._-]`, unique among dealers | "
                            "(file only) |");
        CHECK_CONTAINS(ref, "| `dealers[].password` | string, secret | "
                            "`\"\"` | non-empty (from `password` or "
                            "`password_file`) | "
                            "`MOKA_BRIDGE_DEALERS_<NAME>_PASSWORD` |");
        CHECK_CONTAINS(ref, "| `dealers[].rate_burst` | integer | `0` | "
                            "0 .. 1000000 | "
                            "`MOKA_BRIDGE_DEALERS_<NAME>_RATE_BURST` |");
        free(ref);
}

/* docs/configuration.md carries the reference as printed, so it cannot
 * drift from the table. */
static void test_docs_contain_the_reference(const char *dir)
{
        char *path, *doc, *ref = reference_to_string();

        if (asprintf(&path, "%s/docs/configuration.md", dir) < 0)
                exit(2);
        doc = read_whole(path);
        CHECK(doc != NULL);
        if (doc) {
                /* CHECK_CONTAINS would print the whole document. */
                checks++;
                if (!strstr(doc, ref)) {
                        fail_header(__FILE__, __LINE__,
                                    "docs/configuration.md contains the "
                                    "output of config_print_reference()");
                        fprintf(stderr, "  expected, verbatim:\n%s\n", ref);
                }
        }
        free(doc);
        free(path);
        free(ref);
}

static void test_error_buffer_handling(void)
{
        char small[16];
        struct config *conf;

        memset(small, 'x', sizeof(small));
        conf = load_text("retry: {\n  max_attempts = 0;\n};\n", ENV(ACCOUNT),
                         small, sizeof(small));
        CHECK(conf == NULL);
        CHECK_INT(strlen(small), sizeof(small) - 1);
        CHECK(!strncmp(small, tmpdir, sizeof(small) - 1));

        conf = load_text("retry: {\n  max_attempts = 0;\n};\n", ENV(ACCOUNT),
                         NULL, 0);
        CHECK(conf == NULL);

        conf = config_load(NULL, ENV(ACCOUNT), small, sizeof(small));
        CHECK(conf == NULL);
        CHECK_STR(small, "no configuratio");

        config_destroy(NULL); /* must be a no-op, not a crash */
}

/* Drops MOKA_BRIDGE_* variables of the calling shell so that the one test
 * that reads environ sees only its own. */
static void clear_bridge_environment(void)
{
        extern char **environ;
        char name[256];
        int i;

        for (i = 0; environ[i];) {
                const char *eq = strchr(environ[i], '=');

                if (strncmp(environ[i], "MOKA_BRIDGE_", 12) || !eq ||
                    (size_t)(eq - environ[i]) >= sizeof(name)) {
                        i++;
                        continue;
                }
                snprintf(name, sizeof(name), "%.*s",
                         (int)(eq - environ[i]), environ[i]);
                unsetenv(name); /* environ shifts: same index again */
        }
}

int main(void)
{
        char *dir = source_dir();

        clear_bridge_environment();
        if (!mkdtemp(tmpdir)) {
                perror("mkdtemp");
                return 2;
        }
        if (asprintf(&sample_path, "%s/config/moka-bridge.conf", dir) < 0)
                return 2;

        test_sample_config_loads_with_password_from_env();
        test_sample_config_without_password_names_its_line();
        test_defaults_equal_the_sample();
        test_missing_keys_take_defaults();
        test_empty_output_topics_are_derived_from_inputs();
        test_boundary_values_are_accepted();
        test_kafka_properties_are_strings_with_dotted_names();
        test_syntax_error_gives_libconfig_text_and_line();
        test_unreadable_file_is_named();
        test_unknown_group_and_key();
        test_wrong_types_are_rejected_strictly();
        test_out_of_range_integers();
        test_kafka_properties_errors();
        test_required_keys();
        test_value_checks_name_the_line();
        test_delivery_modes();
        test_topic_name_longer_than_249_is_rejected();
        test_input_topic_must_differ_from_other_topics();
        test_backoff_base_must_not_exceed_cap();
        test_only_the_first_error_is_reported();
        test_env_overrides_string_int_and_bool();
        test_env_bool_spellings();
        test_env_bad_values();
        test_env_unknown_variables_are_errors();
        test_env_values_are_checked_without_file_line();
        test_null_envp_reads_environ();
        test_password_file_with_trailing_newline();
        test_password_file_from_env();
        test_password_and_password_file_together_is_an_error();
        test_unreadable_password_file_names_the_path();
        test_bad_password_file_contents();
        test_secret_never_in_error_messages();
        test_secrets_are_masked_in_print();
        test_print_round_trips();
        test_insecure_transport_needs_allow_insecure();
        test_ca_file_must_be_readable();
        test_proxy();
        test_dealers_list_loads_in_file_order();
        test_dealers_without_a_list();
        test_dealers_print_round_trips();
        test_dealers_must_be_a_list_of_groups();
        test_dealers_unknown_keys_types_and_ranges();
        test_dealers_required_keys();
        test_dealer_names();
        test_default_dealer_must_name_a_dealer();
        test_dealer_password_files();
        test_dealers_env_overrides();
        test_dealers_env_errors();
        test_reference_has_a_row_per_key();
        test_docs_contain_the_reference(dir);
        test_error_buffer_handling();

        tmp_cleanup();
        free(sample_path);
        free(dir);
        printf("test_config: %d checks, %d failed\n", checks, failures);
        return failures ? 1 : 0;
}
