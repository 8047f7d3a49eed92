/* libFuzzer target: redaction (redact.c) and the reply-topic allow-list
 * (reply_topic_allowed of reply.c), the string handling that stands
 * between untrusted input and what the bridge writes out.
 *
 * Input layout: pieces separated by NUL bytes. The last piece is the text,
 * the ones before it (at most 16) are the secrets; a piece that is the
 * single byte 0x01 stands for a NULL entry, an empty piece for an empty
 * secret (both must be skipped). The first piece is also used as a
 * reply-topic allow-list and the text as a topic.
 *
 * Invariants (docs/fuzzing.md):
 *   - redact_secrets() turns into '*' exactly the bytes covered by an
 *     occurrence of a secret in the original text and leaves the others
 *     and the length alone; so afterwards no secret occurs in the text
 *     (checked for secrets without '*', the mask character: a secret of
 *     stars is "found" in its own mask);
 *   - if the text is JSON (json_scan_validate), redact_password_json()
 *     gives text that json-c reads (strict), in which the value of every
 *     non-null member named Password (any case), at any depth, is "***"
 *     and nothing else changed: compared with json-c's reading of the
 *     input, member by member, and with json-c's tree redacted by the
 *     reference rule (fuzz_json.h); the output is not longer than the
 *     input by more than a third (each redaction grows a value by at most
 *     4 bytes and needs at least 12: "Password":1);
 *   - reply_topic_allowed() agrees with a model written from reply.h. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "fuzz_check.h"
#include "fuzz_json.h"
#include "json_scan.h"
#include "redact.h"
#include "reply.h"

#define MAX_SECRETS 16

/* reply.h: comma-separated names; an entry ending in '*' matches by
 * prefix; spaces around entries ignored. */
static bool model_topic_allowed(const char *list, const char *topic)
{
        if (!*topic)
                return false;
        size_t tlen = strlen(topic);
        for (const char *seg = list;; seg++) {
                const char *end = strchr(seg, ',');
                if (!end)
                        end = seg + strlen(seg);
                const char *a = seg, *b = end;
                while (a < b && *a == ' ')
                        a++;
                while (b > a && b[-1] == ' ')
                        b--;
                size_t n = (size_t)(b - a);
                if (n > 0 && a[n - 1] == '*') {
                        if (tlen >= n - 1 && memcmp(a, topic, n - 1) == 0)
                                return true;
                } else if (n > 0 && n == tlen && memcmp(a, topic, n) == 0) {
                        return true;
                }
                if (!*end)
                        return false;
                seg = end;
        }
}

/* `red` is `orig` with its Password members redacted. */
static void check_redacted_json(json_object *orig, json_object *red)
{
        FUZZ_CHECK(json_object_get_type(orig) == json_object_get_type(red),
                   "type changed");
        if (json_object_is_type(orig, json_type_array)) {
                size_t n = json_object_array_length(orig);
                FUZZ_CHECK(json_object_array_length(red) == n,
                           "array length changed");
                for (size_t i = 0; i < n; i++)
                        check_redacted_json(json_object_array_get_idx(orig, i),
                                            json_object_array_get_idx(red, i));
                return;
        }
        if (json_object_is_type(orig, json_type_double)) {
                /* json_tokener_parse reads NaN, which equals nothing */
                double a = json_object_get_double(orig);
                double b = json_object_get_double(red);
                FUZZ_CHECK(a == b || (isnan(a) && isnan(b)),
                           "a number changed");
                return;
        }
        if (!json_object_is_type(orig, json_type_object)) {
                FUZZ_CHECK(json_object_equal(orig, red), "a value changed");
                return;
        }
        FUZZ_CHECK(json_object_object_length(orig) ==
                           json_object_object_length(red),
                   "member count changed");
        json_object_object_foreach(orig, name, v)
        {
                json_object *r = NULL;
                FUZZ_CHECK(json_object_object_get_ex(red, name, &r),
                           "member %s lost", name);
                if (strcasecmp(name, "Password") == 0 && v &&
                    !json_object_is_type(v, json_type_null)) {
                        FUZZ_CHECK(json_object_is_type(r, json_type_string) &&
                                           strcmp(json_object_get_string(r),
                                                  REDACTED) == 0,
                                   "member %s not redacted", name);
                } else if (!v) {
                        FUZZ_CHECK(!r, "null member %s changed", name);
                } else {
                        check_redacted_json(v, r);
                }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* pieces: a NUL-terminated copy, split in place */
        char *buf = malloc(size + 1);
        FUZZ_CHECK(buf, "out of memory");
        memcpy(buf, data, size);
        buf[size] = '\0';
        const char *pieces[MAX_SECRETS + 1];
        size_t npieces = 0;
        for (char *p = buf;;) {
                pieces[npieces++] = p;
                size_t l = strlen(p);
                if (p + l == buf + size || npieces == MAX_SECRETS + 1)
                        break;
                p += l + 1;
        }
        const char *text_in = pieces[npieces - 1];
        size_t nsecrets = npieces - 1;
        const char *secrets[MAX_SECRETS];
        for (size_t i = 0; i < nsecrets; i++)
                secrets[i] = strcmp(pieces[i], "\x01") == 0 ? NULL : pieces[i];

        /* redact_secrets, against a mask computed here */
        size_t len = strlen(text_in);
        char *text = strdup(text_in);
        unsigned char *mask = calloc(len + 1, 1);
        FUZZ_CHECK(text && mask, "out of memory");
        for (size_t i = 0; i < nsecrets; i++) {
                if (!secrets[i] || !*secrets[i])
                        continue;
                size_t sl = strlen(secrets[i]);
                for (const char *p = strstr(text_in, secrets[i]); p;
                     p = strstr(p + 1, secrets[i]))
                        memset(mask + (p - text_in), 1, sl);
        }
        redact_secrets(text, secrets, nsecrets);
        FUZZ_CHECK(strlen(text) == len, "length changed");
        for (size_t i = 0; i < len; i++)
                FUZZ_CHECK(mask[i] ? text[i] == '*' : text[i] == text_in[i],
                           "byte %zu: %s", i,
                           mask[i] ? "secret byte kept" : "other byte changed");
        for (size_t i = 0; i < nsecrets; i++)
                if (secrets[i] && *secrets[i] && !strchr(secrets[i], '*'))
                        FUZZ_CHECK(!strstr(text, secrets[i]),
                                   "secret %zu still in the text", i);
        redact_secrets(NULL, secrets, nsecrets); /* accepted */

        /* redact_password_json on the text as JSON */
        struct json_scan_span root;
        if (json_scan_validate(text_in, len, &root, NULL) == 0) {
                bool ok_in, ok_out;
                json_object *orig = fuzz_json_parse_strict(text_in, len,
                                                           &ok_in);
                FUZZ_CHECK(ok_in, "json_scan accepts, json-c does not");
                size_t rlen = 0;
                char *rtext = redact_password_json(&root, &rlen);
                FUZZ_CHECK(rtext && strlen(rtext) == rlen,
                           "redacted text missing or length wrong");
                FUZZ_CHECK(rlen <= root.len + root.len / 3,
                           "redacted text %zu bytes from %zu", rlen,
                           root.len);
                json_object *red = fuzz_json_parse_strict(rtext, rlen,
                                                          &ok_out);
                FUZZ_CHECK(ok_out, "redacted text is not JSON: %s", rtext);
                if (orig && red) {
                        check_redacted_json(orig, red);
                        fuzz_json_tree_redact(orig);
                        FUZZ_CHECK(json_object_equal(orig, red),
                                   "differs from the json-c redaction: %s",
                                   rtext);
                } else {
                        FUZZ_CHECK(!orig && !red, "null changed");
                }
                json_object_put(red);
                json_object_put(orig);
                free(rtext);
        }

        /* the reply-topic allow-list */
        const char *list = nsecrets ? pieces[0] : "";
        bool got = reply_topic_allowed(list, text_in);
        FUZZ_CHECK(got == model_topic_allowed(list, text_in),
                   "reply_topic_allowed(\"%s\", \"%s\") = %d", list, text_in,
                   got);
        FUZZ_CHECK(!reply_topic_allowed(NULL, text_in) &&
                           !reply_topic_allowed(list, NULL),
                   "NULL allowed");

        free(mask);
        free(text);
        free(buf);
        return 0;
}
