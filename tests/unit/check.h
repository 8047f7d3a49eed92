/* A tiny check library for the unit tests: one plain C program per module.
 *
 *   CHECK(cond)              cond must be true
 *   CHECK_INT_EQ(got, want)  signed integers (intmax_t)
 *   CHECK_UINT_EQ(got, want) unsigned integers (uintmax_t)
 *   CHECK_STR_EQ(got, want)  NUL-terminated strings; NULL only equals NULL
 *   CHECK_MEM_EQ(got, got_len, want, want_len)  byte strings
 *   CHECK_CONTAINS(text, needle) / CHECK_NOT_CONTAINS(text, needle)
 *   CHECK_DONE()             prints "N passed, M failed" and returns from
 *                            main: 0 when nothing failed, 1 otherwise
 *
 * The first argument is what the code computed, the second what it should
 * be. A failure prints "file:line: expected X, got Y" (non-printable bytes
 * escaped) and is counted; the program goes on. Every macro evaluates to
 * non-zero when the check passed, so a test can skip what depends on it:
 *     if (!CHECK(obj != NULL)) return;
 * Each test is a single translation unit, so the counters are static. */
#ifndef MOKA_BRIDGE_TEST_CHECK_H
#define MOKA_BRIDGE_TEST_CHECK_H

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int check_passed;
static int check_failed;

/* Prints `len` bytes of `p` in double quotes, escaping what is not
 * printable ASCII, at most 200 bytes. */
static void check_print_bytes(FILE *f, const void *p, size_t len)
{
        const unsigned char *s = p;
        size_t shown = len < 200 ? len : 200;
        fputc('"', f);
        for (size_t i = 0; i < shown; i++) {
                if (s[i] == '"' || s[i] == '\\')
                        fprintf(f, "\\%c", s[i]);
                else if (s[i] >= 0x20 && s[i] < 0x7f)
                        fputc(s[i], f);
                else
                        fprintf(f, "\\x%02x", s[i]);
        }
        fputc('"', f);
        if (shown < len)
                fprintf(f, "...(%zu bytes)", len);
}

static int check_record(int ok)
{
        if (ok)
                check_passed++;
        else
                check_failed++;
        return ok;
}

static int check_true_(const char *file, int line, int ok, const char *expr)
{
        if (!ok)
                fprintf(stderr, "%s:%d: expected %s, got false\n", file, line,
                        expr);
        return check_record(ok);
}

static int check_int_eq_(const char *file, int line, const char *expr,
                         intmax_t got, intmax_t want)
{
        int ok = got == want;
        if (!ok)
                fprintf(stderr,
                        "%s:%d: expected %s == %" PRIdMAX ", got %" PRIdMAX
                        "\n",
                        file, line, expr, want, got);
        return check_record(ok);
}

static int check_uint_eq_(const char *file, int line, const char *expr,
                          uintmax_t got, uintmax_t want)
{
        int ok = got == want;
        if (!ok)
                fprintf(stderr,
                        "%s:%d: expected %s == %" PRIuMAX ", got %" PRIuMAX
                        "\n",
                        file, line, expr, want, got);
        return check_record(ok);
}

static int check_mem_eq_(const char *file, int line, const char *expr,
                         const void *got, size_t got_len, const void *want,
                         size_t want_len)
{
        int ok;
        if (!got || !want)
                ok = !got && !want;
        else
                ok = got_len == want_len &&
                     (got_len == 0 || memcmp(got, want, got_len) == 0);
        if (!ok) {
                fprintf(stderr, "%s:%d: expected %s == ", file, line, expr);
                if (want)
                        check_print_bytes(stderr, want, want_len);
                else
                        fputs("NULL", stderr);
                fputs(", got ", stderr);
                if (got)
                        check_print_bytes(stderr, got, got_len);
                else
                        fputs("NULL", stderr);
                fputc('\n', stderr);
        }
        return check_record(ok);
}

static int check_str_eq_(const char *file, int line, const char *expr,
                         const char *got, const char *want)
{
        return check_mem_eq_(file, line, expr, got, got ? strlen(got) : 0,
                             want, want ? strlen(want) : 0);
}

static int check_contains_(const char *file, int line, const char *expr,
                           const char *text, const char *needle, int want)
{
        int found = text && strstr(text, needle) != NULL;
        int ok = text && found == want;
        if (!ok) {
                fprintf(stderr, "%s:%d: expected %s %s \"%s\", got ", file,
                        line, expr, want ? "to contain" : "not to contain",
                        needle);
                if (text)
                        check_print_bytes(stderr, text, strlen(text));
                else
                        fputs("NULL", stderr);
                fputc('\n', stderr);
        }
        return check_record(ok);
}

static int check_done_(void)
{
        printf("%d passed, %d failed\n", check_passed, check_failed);
        return check_failed ? 1 : 0;
}

#define CHECK(cond) check_true_(__FILE__, __LINE__, !!(cond), #cond)
#define CHECK_INT_EQ(got, want)                                               \
        check_int_eq_(__FILE__, __LINE__, #got, (intmax_t)(got),             \
                      (intmax_t)(want))
#define CHECK_UINT_EQ(got, want)                                              \
        check_uint_eq_(__FILE__, __LINE__, #got, (uintmax_t)(got),           \
                       (uintmax_t)(want))
#define CHECK_STR_EQ(got, want)                                               \
        check_str_eq_(__FILE__, __LINE__, #got, (got), (want))
#define CHECK_MEM_EQ(got, got_len, want, want_len)                            \
        check_mem_eq_(__FILE__, __LINE__, #got, (got), (got_len), (want),    \
                      (want_len))
#define CHECK_CONTAINS(text, needle)                                          \
        check_contains_(__FILE__, __LINE__, #text, (text), (needle), 1)
#define CHECK_NOT_CONTAINS(text, needle)                                      \
        check_contains_(__FILE__, __LINE__, #text, (text), (needle), 0)
#define CHECK_DONE() return check_done_()

/* Silences "defined but not used" for the helpers a test does not need. */
static inline void check_unused_(void)
{
        (void)check_true_;
        (void)check_int_eq_;
        (void)check_uint_eq_;
        (void)check_str_eq_;
        (void)check_mem_eq_;
        (void)check_contains_;
        (void)check_done_;
        (void)check_print_bytes;
}

#endif
