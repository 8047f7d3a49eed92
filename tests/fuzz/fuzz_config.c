/* libFuzzer target: config_load() of config.c on a fuzzed file.
 *
 * The input is written to a memfd (no disk, no leftovers) and loaded by its
 * /proc/self/fd path with an empty environment, so no MOKA_BRIDGE_* variable
 * of the machine running the fuzzer changes the outcome.
 *
 * Invariants (docs/fuzzing.md):
 *   - no crash, no leak, and either a config or an error message;
 *   - an error message is non-empty and starts with the file path
 *     ("PATH: ..." / "PATH:LINE: ...") or with the key it is about
 *     ("moka.default_dealer: ...", "dealers[1].name: ..."), or is
 *     "out of memory";
 *   - a loaded config is consistent: reply/DLQ topics filled in,
 *     retry.base_ms <= retry.cap_ms, dealers[0] is the moka.* dealer;
 *   - config_print() of a loaded config without password files is a file
 *     config_load() accepts again, and printing that gives the same text
 *     (the printer's quoting is what the loader reads).
 * LeakSanitizer ignores one known leak of libconfig 1.5 (see below).
 * Inputs containing "@include" are skipped: libconfig would read other
 * files of the machine, which is not the code under test. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_check.h"

static const char *const groups[] = {
        "kafka.", "moka.",  "topics.", "retry.", "limits.",
        "outage.", "admin.", "log.",    "dealers[",
};

/* LeakSanitizer: libconfig 1.5's scanner leaks the string token it was
 * reading when a syntax error ends the parse (reproduced with libconfig
 * alone, config_read_file + config_destroy, on `""""""""` + newline and on
 * `m"x"; }; "x\xdf }` + newline). Its frames are libconfig_yylex, or only
 * strbuf_append (the scanner's string buffer) when the unwinder stops in
 * libconfig, which has no frame pointers. Not moka-bridge's leak. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
        return "leak:libconfig_yylex\n"
               "leak:strbuf_append\n";
}

struct memfile {
        int fd;
        char path[64];
};

static void memfile_open(struct memfile *m, const char *name)
{
        m->fd = memfd_create(name, MFD_CLOEXEC);
        FUZZ_CHECK(m->fd >= 0, "memfd_create: %s", strerror(errno));
        snprintf(m->path, sizeof(m->path), "/proc/self/fd/%d", m->fd);
}

static void memfile_set(struct memfile *m, const void *data, size_t size)
{
        FUZZ_CHECK(ftruncate(m->fd, 0) == 0, "ftruncate: %s", strerror(errno));
        size_t done = 0;
        while (done < size) {
                ssize_t w = pwrite(m->fd, (const char *)data + done,
                                   size - done, (off_t)done);
                FUZZ_CHECK(w > 0, "pwrite: %s", strerror(errno));
                done += (size_t)w;
        }
}

static void check_error(const char *err, size_t errsz, const char *path)
{
        size_t n = strnlen(err, errsz);
        FUZZ_CHECK(n > 0 && n < errsz, "empty or unterminated error");
        size_t plen = strlen(path);
        if (strncmp(err, path, plen) == 0 && err[plen] == ':')
                return;
        if (strcmp(err, "out of memory") == 0)
                return;
        for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
                if (strncmp(err, groups[i], strlen(groups[i])) == 0)
                        return;
        FUZZ_CHECK(0, "error names neither the file nor a key: %s", err);
}

static bool has_password_file(const struct config *conf)
{
        if (conf->moka_password_file[0])
                return true;
        for (size_t d = 0; d < conf->dealers_cnt; d++)
                if (conf->dealers[d].password_file[0])
                        return true;
        return false;
}

static void check_config(const struct config *conf, const char *path)
{
        FUZZ_CHECK(conf->path && strcmp(conf->path, path) == 0, "path");
        FUZZ_CHECK(conf->topic_customer_update_reply[0] &&
                           conf->topic_customer_update_dlq[0] &&
                           conf->topic_sale_list_reply[0] &&
                           conf->topic_sale_list_dlq[0],
                   "an output topic is empty");
        FUZZ_CHECK(conf->retry_base_ms <= conf->retry_cap_ms,
                   "retry.base_ms %d > retry.cap_ms %d", conf->retry_base_ms,
                   conf->retry_cap_ms);
        FUZZ_CHECK(conf->dealers && conf->dealers_cnt >= 1, "no dealers[0]");
        FUZZ_CHECK(strcmp(conf->dealers[0].name, conf->moka_dealer_name) ==
                                   0 &&
                           strcmp(conf->dealers[0].dealer_code,
                                  conf->moka_dealer_code) == 0 &&
                           strcmp(conf->dealers[0].password,
                                  conf->moka_password) == 0,
                   "dealers[0] is not the moka.* dealer");
        for (size_t i = 0; i < conf->kafka_properties_cnt; i++)
                FUZZ_CHECK(conf->kafka_properties[i].name &&
                                   conf->kafka_properties[i].value,
                           "kafka property %zu incomplete", i);
}

static char *print_config(const struct config *conf, size_t *len)
{
        char *text = NULL;
        FILE *f = open_memstream(&text, len);
        FUZZ_CHECK(f, "open_memstream: %s", strerror(errno));
        config_print(conf, f);
        FUZZ_CHECK(fclose(f) == 0, "fclose");
        return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct memfile in, printed;
        static char *const empty_env[] = {NULL};
        char err[1024];

        if (memmem(data, size, "@include", 8))
                return 0;
        if (in.path[0] == '\0') {
                memfile_open(&in, "fuzz_config");
                memfile_open(&printed, "fuzz_config_printed");
        }
        memfile_set(&in, data, size);

        memset(err, 0x5a, sizeof(err));
        struct config *conf = config_load(in.path, empty_env, err, sizeof(err));
        if (!conf) {
                check_error(err, sizeof(err), in.path);
                return 0;
        }
        check_config(conf, in.path);

        if (!has_password_file(conf)) {
                size_t len1 = 0, len2 = 0;
                char *text1 = print_config(conf, &len1);
                memfile_set(&printed, text1, len1);
                char err2[1024];
                struct config *again =
                        config_load(printed.path, empty_env, err2,
                                    sizeof(err2));
                FUZZ_CHECK(again, "config_print output is not loadable: %s\n"
                                  "--- printed:\n%s",
                           err2, text1);
                char *text2 = print_config(again, &len2);
                FUZZ_CHECK(len1 == len2 && memcmp(text1, text2, len1) == 0,
                           "printing the reloaded config differs:\n%s\n"
                           "--- then:\n%s",
                           text1, text2);
                free(text2);
                free(text1);
                config_destroy(again);
        }
        config_destroy(conf);
        return 0;
}
