/* libFuzzer target: json_scan.c, differentially against json-c's strict
 * mode (JSON_TOKENER_STRICT, the same depth limit).
 *
 * Input: the document, in a heap buffer of exactly its length.
 *
 * Invariants (docs/fuzzing.md):
 *   - json_scan_validate() is a subset of json-c strict: what it accepts,
 *     json-c accepts, as the same type at the root. Where json-c accepts
 *     and the scanner does not, the byte the scanner stopped at must be
 *     one of the intentional differences:
 *       a control character (< 0x20) inside a string (json-c takes it raw),
 *       a byte >= 0x80 (the scanner checks UTF-8; json-c does not),
 *       json-c's numbers: it reads "01", "-01", "1.", "1.e5" and "-.5"
 *       as numbers even in strict mode (the scanner stops at the digit
 *       after the leading "0", right after a "." without digits, or at
 *       the "." after "-"), NaN, Infinity, -Infinity and 'single-quoted'
 *       strings and keys (the scanner stops at the 'N', 'I' or quote);
 *   - err_off is within the input; a rejected document gives no root;
 *   - every string decodes as the reference decoder (ref_decode: escapes,
 *     surrogate pairs, lone surrogates as U+FFFD, NUL inside) reads it,
 *     and json-c reads it as the same decoder with json-c's surrogate bug
 *     (pairs for U+xD800..U+xDFFF, e.g. U+1DA00) does: the scanner agrees
 *     with json-c wherever that bug does not show, and the model of the bug
 *     is checked too; json_scan_string_decode into
 *     a short buffer gives a prefix of it and the full length;
 *   - arrays: as many elements as json-c sees, strings among them decoded
 *     alike; objects: every key, read as a C string, is one json-c has,
 *     json_scan_key_eq() agrees with it, and the value of the last member
 *     with that key in json-c's reading (cut at a NUL, with its bug: keys
 *     the scanner tells apart can be one to json-c) has json-c's type. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fuzz_check.h"
#include "fuzz_json.h"
#include "json_scan.h"

/* json-c strict at our own depth limit: the two should agree on depth. */
static json_object *jc_parse(const uint8_t *data, size_t size, bool *ok)
{
        return fuzz_json_parse_strict_depth((const char *)data, size,
                                            JSON_SCAN_MAX_DEPTH, ok);
}

static bool same_type(enum json_scan_type t, json_object *o)
{
        switch (t) {
        case JSON_SCAN_NULL:
                return o == NULL;
        case JSON_SCAN_TRUE:
        case JSON_SCAN_FALSE:
                return json_object_is_type(o, json_type_boolean) &&
                       json_object_get_boolean(o) == (t == JSON_SCAN_TRUE);
        case JSON_SCAN_NUMBER:
                return json_object_is_type(o, json_type_int) ||
                       json_object_is_type(o, json_type_double);
        case JSON_SCAN_STRING:
                return json_object_is_type(o, json_type_string);
        case JSON_SCAN_ARRAY:
                return json_object_is_type(o, json_type_array);
        case JSON_SCAN_OBJECT:
                return json_object_is_type(o, json_type_object);
        case JSON_SCAN_NONE:
                break;
        }
        return false;
}

/* A reference decoder of a string's escapes, written from RFC 8259, with
 * json-c 0.16's surrogate bug as an option. json-c tests "high/low
 * surrogate" on the whole code point with a 0xFC00 mask, also after a pair
 * was combined: a pair whose code point has its low 16 bits in D800..DBFF
 * (U+1D800, U+1DA00, ...) is then held as if it were a high surrogate
 * (U+FFFD, unless a low surrogate escape follows and combines with it:
 * "\ud836\ude00\ude00" reads as U+90200), one in DC00..DFFF reads as a lone
 * low surrogate (U+FFFD). With jsonc_bugs the result must be json-c's bytes
 * (checked on every string, which also checks the model); without, the
 * scanner's: the two agree wherever no such pair occurs. The span is a
 * string the scanner accepted, so its escapes are well formed. Caller
 * frees; *len excludes the NUL added after it. */
static size_t put_utf8(char *o, unsigned long c)
{
        if (c < 0x80) {
                o[0] = (char)c;
                return 1;
        }
        if (c < 0x800) {
                o[0] = (char)(0xc0 | c >> 6);
                o[1] = (char)(0x80 | (c & 0x3f));
                return 2;
        }
        if (c < 0x10000) {
                o[0] = (char)(0xe0 | c >> 12);
                o[1] = (char)(0x80 | (c >> 6 & 0x3f));
                o[2] = (char)(0x80 | (c & 0x3f));
                return 3;
        }
        o[0] = (char)(0xf0 | c >> 18);
        o[1] = (char)(0x80 | (c >> 12 & 0x3f));
        o[2] = (char)(0x80 | (c >> 6 & 0x3f));
        o[3] = (char)(0x80 | (c & 0x3f));
        return 4;
}

static unsigned long hex4(const char *p)
{
        unsigned long v = 0;
        for (int i = 0; i < 4; i++) {
                char c = p[i];
                v = v << 4 | (unsigned long)(c <= '9'   ? c - '0'
                                             : c <= 'F' ? c - 'A' + 10
                                                        : c - 'a' + 10);
        }
        return v;
}

static char unescape(char c)
{
        switch (c) {
        case 'b': return '\b';
        case 'f': return '\f';
        case 'n': return '\n';
        case 'r': return '\r';
        case 't': return '\t';
        default: return c; /* " \\ / */
        }
}

#define REPLACEMENT "\xef\xbf\xbd"

static char *ref_decode(const struct json_scan_span *s, bool jsonc_bugs,
                        size_t *len)
{
        const char *p = s->p + 1, *end = s->p + s->len - 1;
        /* an escape of k bytes never gives more than k bytes */
        char *out = malloc(s->len);
        FUZZ_CHECK(out, "out of memory");
        size_t n = 0;
        unsigned long high = 0; /* a held (pseudo-)high surrogate */
        while (p < end) {
                if (*p != '\\' || p[1] != 'u') {
                        if (high) {
                                memcpy(out + n, REPLACEMENT, 3);
                                n += 3;
                                high = 0;
                        }
                        if (*p == '\\') {
                                out[n++] = unescape(p[1]);
                                p += 2;
                        } else {
                                out[n++] = *p++;
                        }
                        continue;
                }
                unsigned long c = hex4(p + 2);
                p += 6;
                if (high) {
                        bool low = (c & 0xfc00) == 0xdc00;
                        if (low)
                                c = ((high & 0x3ff) << 10 | (c & 0x3ff)) +
                                    0x10000;
                        high = 0;
                        if (!low) {
                                memcpy(out + n, REPLACEMENT, 3);
                                n += 3;
                        } else if (!jsonc_bugs) {
                                n += put_utf8(out + n, c);
                                continue;
                        }
                }
                if ((c & 0xfc00) == 0xd800) {
                        high = c;
                } else if ((c & 0xfc00) == 0xdc00) {
                        memcpy(out + n, REPLACEMENT, 3);
                        n += 3;
                } else {
                        n += put_utf8(out + n, c);
                }
        }
        if (high) {
                memcpy(out + n, REPLACEMENT, 3);
                n += 3;
        }
        FUZZ_CHECK(n < s->len, "reference decode overran");
        out[n] = '\0';
        *len = n;
        return out;
}

/* A key as json-c stores it: a C string (cut at an escaped NUL), read with
 * its bug. Keys the scanner tells apart can be one to json-c
 * ("\ud837\ude00" and "\ud837\ude01" both read as U+FFFD), and json-c
 * keeps the last member of such a group. Caller frees. */
static char *jc_key(const struct json_scan_span *key)
{
        size_t n;
        return ref_decode(key, true, &n);
}

static void check_string(const struct json_scan_span *s, json_object *o)
{
        size_t n = 0;
        char *d = json_scan_string_dup(s, &n);
        FUZZ_CHECK(d, "out of memory");
        FUZZ_CHECK(d[n] == '\0', "decoded string not terminated");
        char small[5];
        size_t sn = json_scan_string_decode(s, small, sizeof(small));
        FUZZ_CHECK(sn == n, "decode length %zu, dup %zu", sn, n);
        size_t kept = n < sizeof(small) ? n : sizeof(small) - 1;
        FUZZ_CHECK(memcmp(small, d, kept) == 0 && small[kept] == '\0',
                   "short decode is not a prefix");
        size_t rn, jn = (size_t)json_object_get_string_len(o);
        char *r = ref_decode(s, false, &rn);
        FUZZ_CHECK(n == rn && memcmp(d, r, n) == 0,
                   "string %.*s decodes to %zu bytes, the reference %zu",
                   (int)(s->len > 200 ? 200 : s->len), s->p, n, rn);
        free(r);
        r = ref_decode(s, true, &rn);
        FUZZ_CHECK(rn == jn && memcmp(r, json_object_get_string(o), jn) == 0,
                   "string %.*s: json-c reads %zu bytes, its model %zu",
                   (int)(s->len > 200 ? 200 : s->len), s->p, jn, rn);
        free(r);
        free(d);
}

static void check_value(const struct json_scan_span *v, json_object *o)
{
        FUZZ_CHECK(same_type(v->type, o), "type %s, json-c %s",
                   json_scan_type_name(v->type),
                   o ? json_type_to_name(json_object_get_type(o)) : "null");
        struct json_scan_iter it;
        struct json_scan_span key, val;
        if (v->type == JSON_SCAN_STRING) {
                check_string(v, o);
        } else if (v->type == JSON_SCAN_ARRAY) {
                size_t n = json_object_array_length(o), i = 0;
                FUZZ_CHECK(json_scan_array_count(v) == (long)n,
                           "array count %ld, json-c %zu",
                           json_scan_array_count(v), n);
                json_scan_iter_init(&it, v);
                while (json_scan_array_next(&it, &val)) {
                        FUZZ_CHECK(i < n, "more elements than json-c");
                        json_object *e = json_object_array_get_idx(o, i++);
                        FUZZ_CHECK(same_type(val.type, e), "element type");
                        if (val.type == JSON_SCAN_STRING)
                                check_string(&val, e);
                }
                FUZZ_CHECK(i == n, "%zu elements, json-c %zu", i, n);
        } else if (v->type == JSON_SCAN_OBJECT) {
                json_scan_iter_init(&it, v);
                while (json_scan_object_next(&it, &key, &val)) {
                        size_t name_len = 0;
                        char *name = json_scan_string_dup(&key, &name_len);
                        FUZZ_CHECK(name, "out of memory");
                        char *jc_name = jc_key(&key);
                        json_object *m = NULL;
                        FUZZ_CHECK(json_object_object_get_ex(o, jc_name, &m),
                                   "key \"%s\" unknown to json-c", name);
                        FUZZ_CHECK(json_scan_key_eq(&key, name) &&
                                           json_scan_key_eq_ci(&key, name),
                                   "key_eq(\"%s\") false", name);
                        /* the last member with that name is json-c's */
                        struct json_scan_iter rest = it;
                        struct json_scan_span k2, v2, last = val;
                        while (json_scan_object_next(&rest, &k2, &v2)) {
                                char *k2_name = jc_key(&k2);
                                if (strcmp(k2_name, jc_name) == 0)
                                        last = v2;
                                free(k2_name);
                        }
                        FUZZ_CHECK(same_type(last.type, m),
                                   "member \"%s\": %s, json-c %s", name,
                                   json_scan_type_name(last.type),
                                   m ? json_type_to_name(
                                               json_object_get_type(m))
                                     : "null");
                        if (last.type == JSON_SCAN_STRING)
                                check_string(&last, m);
                        free(jc_name);
                        free(name);
                }
        }
}

/* An intentional difference: the byte json_scan stopped at. */
static bool known_difference(const uint8_t *d, size_t size, size_t off)
{
        if (off < size && (d[off] < 0x20 || d[off] >= 0x80))
                return true;
        /* json-c reads NaN, Infinity, -Infinity and single-quoted
         * strings even in strict mode */
        if (off < size && (d[off] == 'N' || d[off] == 'I' || d[off] == '\''))
                return true;
        if (off == 0)
                return false;
        /* json-c's numbers: a leading zero ("01", "-01"), a fraction
         * without digits ("1.", "1.e5") or without an integer part
         * ("-.5"; ".5" it rejects) */
        if (d[off - 1] == '0' && off < size && d[off] >= '0' && d[off] <= '9')
                return true;
        if (d[off - 1] == '-' && off < size && d[off] == '.')
                return true;
        return d[off - 1] == '.' &&
               (off == size || d[off] < '0' || d[off] > '9');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = malloc(size ? size : 1);
        FUZZ_CHECK(text, "out of memory");
        memcpy(text, data, size);

        struct json_scan_span root;
        size_t off = (size_t)-1;
        int rc = json_scan_validate(text, size, &root, &off);
        FUZZ_CHECK(off <= size, "err_off %zu past %zu", off, size);
        bool jc_ok;
        json_object *jc = jc_parse(data, size, &jc_ok);
        if (rc == 0) {
                FUZZ_CHECK(jc_ok, "json_scan accepts, json-c does not");
                FUZZ_CHECK(root.p >= text && root.p + root.len <= text + size &&
                                   root.len > 0,
                           "root span outside the text");
                check_value(&root, jc);
        } else {
                FUZZ_CHECK(rc == -1 && root.p == NULL &&
                                   root.type == JSON_SCAN_NONE,
                           "rejected with a root");
                if (jc_ok)
                        FUZZ_CHECK(known_difference(data, size, off),
                                   "json-c accepts, json_scan stops at "
                                   "offset %zu (byte 0x%02x)",
                                   off, off < size ? data[off] : 0);
        }
        json_object_put(jc);
        free(text);
        return 0;
}
