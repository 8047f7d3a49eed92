#include "json_scan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const char *json_scan_type_name(enum json_scan_type type)
{
        switch (type) {
        case JSON_SCAN_NONE:
                return "none";
        case JSON_SCAN_NULL:
                return "null";
        case JSON_SCAN_FALSE:
                return "false";
        case JSON_SCAN_TRUE:
                return "true";
        case JSON_SCAN_NUMBER:
                return "number";
        case JSON_SCAN_STRING:
                return "string";
        case JSON_SCAN_ARRAY:
                return "array";
        case JSON_SCAN_OBJECT:
                return "object";
        }
        return "?";
}

static bool json_scan_is_ws(char c)
{
        return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

const char *json_scan_skip_ws(const char *p, const char *end)
{
        while (p < end && json_scan_is_ws(*p))
                p++;
        return p;
}

static int json_scan_hex(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Length of the valid UTF-8 sequence (2..4 bytes) at p, 0 if invalid
 * (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF). */
static size_t json_scan_utf8_len(const unsigned char *p,
                                 const unsigned char *end)
{
        unsigned char c = p[0];
        size_t n;
        unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */
        if (c >= 0xc2 && c <= 0xdf) {
                n = 2;
        } else if (c >= 0xe0 && c <= 0xef) {
                n = 3;
                if (c == 0xe0)
                        lo = 0xa0;
                else if (c == 0xed)
                        hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
                n = 4;
                if (c == 0xf0)
                        lo = 0x90;
                else if (c == 0xf4)
                        hi = 0x8f;
        } else {
                return 0;
        }
        if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
                return 0;
        for (size_t i = 2; i < n; i++)
                if (p[i] < 0x80 || p[i] > 0xbf)
                        return 0;
        return n;
}

/* Validates the string starting at the quote at p. Returns the byte after
 * its closing quote, or NULL with *bad at the offending byte. */
static const char *json_scan_check_string(const char *p, const char *end,
                                          const char **bad)
{
        p++;
        while (p < end) {
                unsigned char c = (unsigned char)*p;
                if (c == '"')
                        return p + 1;
                if (c == '\\') {
                        if (++p >= end)
                                break;
                        switch (*p) {
                        case '"':
                        case '\\':
                        case '/':
                        case 'b':
                        case 'f':
                        case 'n':
                        case 'r':
                        case 't':
                                p++;
                                continue;
                        case 'u':
                                for (int i = 1; i <= 4; i++) {
                                        if (p + i >= end) {
                                                *bad = end;
                                                return NULL;
                                        }
                                        if (json_scan_hex(p[i]) < 0) {
                                                *bad = p + i;
                                                return NULL;
                                        }
                                }
                                p += 5;
                                continue;
                        default:
                                *bad = p;
                                return NULL;
                        }
                }
                if (c < 0x20) {
                        *bad = p;
                        return NULL;
                }
                if (c < 0x80) {
                        p++;
                        continue;
                }
                size_t n = json_scan_utf8_len((const unsigned char *)p,
                                              (const unsigned char *)end);
                if (!n) {
                        *bad = p;
                        return NULL;
                }
                p += n;
        }
        *bad = end;
        return NULL;
}

static bool json_scan_is_digit(char c)
{
        return c >= '0' && c <= '9';
}

/* Validates the number at p: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
 * What follows it is checked by the caller (a delimiter or the end). */
static const char *json_scan_check_number(const char *p, const char *end,
                                          const char **bad)
{
        if (p < end && *p == '-')
                p++;
        if (p < end && *p == '0') {
                p++;
        } else if (p < end && json_scan_is_digit(*p)) {
                while (p < end && json_scan_is_digit(*p))
                        p++;
        } else {
                *bad = p;
                return NULL;
        }
        if (p < end && *p == '.') {
                p++;
                if (p >= end || !json_scan_is_digit(*p)) {
                        *bad = p;
                        return NULL;
                }
                while (p < end && json_scan_is_digit(*p))
                        p++;
        }
        if (p < end && (*p == 'e' || *p == 'E')) {
                p++;
                if (p < end && (*p == '+' || *p == '-'))
                        p++;
                if (p >= end || !json_scan_is_digit(*p)) {
                        *bad = p;
                        return NULL;
                }
                while (p < end && json_scan_is_digit(*p))
                        p++;
        }
        return p;
}

static const char *json_scan_check_literal(const char *p, const char *end,
                                           const char *lit, const char **bad)
{
        for (size_t i = 0; lit[i]; i++) {
                if (p + i >= end || p[i] != lit[i]) {
                        *bad = p + i;
                        return NULL;
                }
        }
        return p + strlen(lit);
}

static enum json_scan_type json_scan_type_at(char c)
{
        switch (c) {
        case '{':
                return JSON_SCAN_OBJECT;
        case '[':
                return JSON_SCAN_ARRAY;
        case '"':
                return JSON_SCAN_STRING;
        case 't':
                return JSON_SCAN_TRUE;
        case 'f':
                return JSON_SCAN_FALSE;
        case 'n':
                return JSON_SCAN_NULL;
        default:
                return c == '-' || json_scan_is_digit(c) ? JSON_SCAN_NUMBER
                                                         : JSON_SCAN_NONE;
        }
}

/* An iterative state machine, so hostile nesting costs no C stack: the
 * open containers are bits of one word (1 = object), which is what bounds
 * the depth to 64. */
int json_scan_validate(const char *text, size_t len,
                       struct json_scan_span *root, size_t *err_off)
{
        const char *p, *end, *bad = NULL;
        uint64_t objects = 0;
        int depth = 0;
        const char *root_start, *root_end = NULL;

        if (!text) {
                text = "";
                len = 0;
        }
        p = text;
        end = text + len;
        p = json_scan_skip_ws(p, end);
        root_start = p;
value:
        if (p >= end) {
                bad = end;
                goto fail;
        }
        switch (json_scan_type_at(*p)) {
        case JSON_SCAN_OBJECT:
        case JSON_SCAN_ARRAY: {
                bool obj = *p == '{';
                if (depth == JSON_SCAN_MAX_DEPTH) {
                        bad = p;
                        goto fail;
                }
                objects = objects << 1 | (obj ? 1u : 0u);
                depth++;
                p = json_scan_skip_ws(p + 1, end);
                if (p < end && *p == (obj ? '}' : ']')) {
                        objects >>= 1;
                        depth--;
                        p++;
                        goto after;
                }
                if (obj)
                        goto key;
                goto value;
        }
        case JSON_SCAN_STRING:
                p = json_scan_check_string(p, end, &bad);
                break;
        case JSON_SCAN_TRUE:
                p = json_scan_check_literal(p, end, "true", &bad);
                break;
        case JSON_SCAN_FALSE:
                p = json_scan_check_literal(p, end, "false", &bad);
                break;
        case JSON_SCAN_NULL:
                p = json_scan_check_literal(p, end, "null", &bad);
                break;
        case JSON_SCAN_NUMBER:
                p = json_scan_check_number(p, end, &bad);
                break;
        case JSON_SCAN_NONE:
                bad = p;
                p = NULL;
                break;
        }
        if (!p)
                goto fail;
        goto after;
key:
        if (p >= end || *p != '"') {
                bad = p;
                goto fail;
        }
        p = json_scan_check_string(p, end, &bad);
        if (!p)
                goto fail;
        p = json_scan_skip_ws(p, end);
        if (p >= end || *p != ':') {
                bad = p;
                goto fail;
        }
        p = json_scan_skip_ws(p + 1, end);
        goto value;
after:
        if (depth == 0) {
                root_end = p;
                p = json_scan_skip_ws(p, end);
                if (p != end) {
                        bad = p;
                        goto fail;
                }
                if (root) {
                        root->p = root_start;
                        root->len = (size_t)(root_end - root_start);
                        root->type = json_scan_type_at(*root_start);
                }
                if (err_off)
                        *err_off = len;
                return 0;
        }
        p = json_scan_skip_ws(p, end);
        if (p >= end) {
                bad = end;
                goto fail;
        }
        if (*p == ',') {
                p = json_scan_skip_ws(p + 1, end);
                if (objects & 1)
                        goto key;
                goto value;
        }
        if (*p == ((objects & 1) ? '}' : ']')) {
                objects >>= 1;
                depth--;
                p++;
                goto after;
        }
        bad = p;
fail:
        if (root)
                memset(root, 0, sizeof(*root));
        if (err_off)
                *err_off = (size_t)(bad - text);
        return -1;
}

/* ---- walking validated text ---------------------------------------------- */

/* The byte after the closing quote of the string whose opening quote is
 * at p. Escapes are two bytes at least ("\u" is followed by four hex
 * digits that cannot be a quote), so stepping over "\x" is enough. */
static const char *json_scan_string_end(const char *p, const char *end)
{
        p++;
        while (p < end) {
                const char *q = memchr(p, '"', (size_t)(end - p));
                if (!q)
                        return end;
                /* the quote ends the string unless an odd number of
                 * backslashes precedes it */
                size_t bs = 0;
                while (q - bs > p && q[-1 - (ptrdiff_t)bs] == '\\')
                        bs++;
                if (bs % 2 == 0)
                        return q + 1;
                p = q + 1;
        }
        return end;
}

static const char *json_scan_container_end(const char *p, const char *end)
{
        int depth = 0;
        while (p < end) {
                switch (*p) {
                case '"':
                        p = json_scan_string_end(p, end);
                        continue;
                case '{':
                case '[':
                        depth++;
                        break;
                case '}':
                case ']':
                        if (--depth == 0)
                                return p + 1;
                        break;
                default:
                        break;
                }
                p++;
        }
        return end;
}

bool json_scan_value_at(const char *p, const char *end,
                        struct json_scan_span *value)
{
        memset(value, 0, sizeof(*value));
        if (p >= end)
                return false;
        enum json_scan_type type = json_scan_type_at(*p);
        const char *q;
        switch (type) {
        case JSON_SCAN_NONE:
                return false;
        case JSON_SCAN_OBJECT:
        case JSON_SCAN_ARRAY:
                q = json_scan_container_end(p, end);
                break;
        case JSON_SCAN_STRING:
                q = json_scan_string_end(p, end);
                break;
        case JSON_SCAN_TRUE:
        case JSON_SCAN_NULL:
                q = (size_t)(end - p) >= 4 ? p + 4 : end;
                break;
        case JSON_SCAN_FALSE:
                q = (size_t)(end - p) >= 5 ? p + 5 : end;
                break;
        case JSON_SCAN_NUMBER:
        default:
                q = p;
                while (q < end && (json_scan_is_digit(*q) || *q == '-' ||
                                   *q == '+' || *q == '.' || *q == 'e' ||
                                   *q == 'E'))
                        q++;
                break;
        }
        value->p = p;
        value->len = (size_t)(q - p);
        value->type = type;
        return true;
}

void json_scan_iter_init(struct json_scan_iter *it,
                         const struct json_scan_span *container)
{
        if ((container->type != JSON_SCAN_OBJECT &&
             container->type != JSON_SCAN_ARRAY) ||
            container->len < 2) {
                it->p = it->end = NULL;
                return;
        }
        it->p = container->p + 1;
        it->end = container->p + container->len - 1;
}

/* Moves past the separator before the next item; false at the end. */
static bool json_scan_iter_advance(struct json_scan_iter *it)
{
        const char *p = json_scan_skip_ws(it->p, it->end);
        if (p < it->end && *p == ',')
                p = json_scan_skip_ws(p + 1, it->end);
        it->p = p;
        return p < it->end;
}

bool json_scan_object_next(struct json_scan_iter *it,
                           struct json_scan_span *key,
                           struct json_scan_span *value)
{
        if (!it->p || !json_scan_iter_advance(it) ||
            !json_scan_value_at(it->p, it->end, key) ||
            key->type != JSON_SCAN_STRING)
                goto end;
        const char *p = json_scan_skip_ws(key->p + key->len, it->end);
        if (p >= it->end || *p != ':')
                goto end;
        p = json_scan_skip_ws(p + 1, it->end);
        if (!json_scan_value_at(p, it->end, value))
                goto end;
        it->p = value->p + value->len;
        return true;
end:
        memset(key, 0, sizeof(*key));
        memset(value, 0, sizeof(*value));
        if (it->p)
                it->p = it->end;
        return false;
}

bool json_scan_array_next(struct json_scan_iter *it,
                          struct json_scan_span *value)
{
        if (!it->p || !json_scan_iter_advance(it) ||
            !json_scan_value_at(it->p, it->end, value)) {
                memset(value, 0, sizeof(*value));
                if (it->p)
                        it->p = it->end;
                return false;
        }
        it->p = value->p + value->len;
        return true;
}

long json_scan_array_count(const struct json_scan_span *array)
{
        if (array->type != JSON_SCAN_ARRAY)
                return -1;
        struct json_scan_iter it;
        struct json_scan_span v;
        long n = 0;
        json_scan_iter_init(&it, array);
        while (json_scan_array_next(&it, &v))
                n++;
        return n;
}

/* ---- decoding strings ----------------------------------------------------- */

static long json_scan_hex4(const char *p, const char *end)
{
        if (end - p < 4)
                return -1;
        long v = 0;
        for (int i = 0; i < 4; i++) {
                int h = json_scan_hex(p[i]);
                if (h < 0)
                        return -1;
                v = v << 4 | h;
        }
        return v;
}

static size_t json_scan_put_utf8(unsigned long cp, char out[4])
{
        if (cp < 0x80) {
                out[0] = (char)cp;
                return 1;
        }
        if (cp < 0x800) {
                out[0] = (char)(0xc0 | cp >> 6);
                out[1] = (char)(0x80 | (cp & 0x3f));
                return 2;
        }
        if (cp < 0x10000) {
                out[0] = (char)(0xe0 | cp >> 12);
                out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
                out[2] = (char)(0x80 | (cp & 0x3f));
                return 3;
        }
        out[0] = (char)(0xf0 | cp >> 18);
        out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[3] = (char)(0x80 | (cp & 0x3f));
        return 4;
}

/* Decodes the next character of a string body at *pp (< end) into out,
 * returns its number of bytes (1..4) and advances *pp. A raw byte is
 * passed through as it is (the text is valid UTF-8 already). */
static size_t json_scan_decode_one(const char **pp, const char *end,
                                   char out[4])
{
        const char *p = *pp;
        if (*p != '\\' || p + 1 >= end) {
                out[0] = *p;
                *pp = p + 1;
                return 1;
        }
        char e = p[1];
        *pp = p + 2;
        switch (e) {
        case 'b':
                out[0] = '\b';
                return 1;
        case 'f':
                out[0] = '\f';
                return 1;
        case 'n':
                out[0] = '\n';
                return 1;
        case 'r':
                out[0] = '\r';
                return 1;
        case 't':
                out[0] = '\t';
                return 1;
        case 'u':
                break;
        default: /* '"', '\\', '/' */
                out[0] = e;
                return 1;
        }
        long cp = json_scan_hex4(p + 2, end);
        if (cp < 0) { /* not validated text: pass the backslash on */
                out[0] = '\\';
                *pp = p + 1;
                return 1;
        }
        *pp = p + 6;
        if (cp >= 0xd800 && cp <= 0xdbff) {
                /* a high surrogate pairs only with an immediately
                 * following \u low surrogate; otherwise it is alone and
                 * whatever follows is read on its own */
                long lo = -1;
                if (end - *pp >= 6 && (*pp)[0] == '\\' && (*pp)[1] == 'u')
                        lo = json_scan_hex4(*pp + 2, end);
                if (lo >= 0xdc00 && lo <= 0xdfff) {
                        *pp += 6;
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                } else {
                        cp = 0xfffd;
                }
        } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                cp = 0xfffd;
        }
        return json_scan_put_utf8((unsigned long)cp, out);
}

static bool json_scan_string_body(const struct json_scan_span *str,
                                  const char **p, const char **end)
{
        if (str->type != JSON_SCAN_STRING || str->len < 2)
                return false;
        *p = str->p + 1;
        *end = str->p + str->len - 1;
        return true;
}

static char json_scan_lower(char c)
{
        return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool json_scan_key_cmp(const struct json_scan_span *key,
                              const char *name, bool ci)
{
        const char *p, *end;
        if (!json_scan_string_body(key, &p, &end))
                return false;
        while (p < end) {
                char buf[4];
                size_t n = json_scan_decode_one(&p, end, buf);
                for (size_t i = 0; i < n; i++, name++) {
                        if (buf[i] == '\0') /* a C string ends here */
                                return *name == '\0';
                        if (ci ? json_scan_lower(buf[i]) !=
                                         json_scan_lower(*name)
                               : buf[i] != *name)
                                return false; /* also when *name is NUL */
                }
        }
        return *name == '\0';
}

bool json_scan_key_eq(const struct json_scan_span *key, const char *name)
{
        return json_scan_key_cmp(key, name, false);
}

bool json_scan_key_eq_ci(const struct json_scan_span *key, const char *name)
{
        return json_scan_key_cmp(key, name, true);
}

size_t json_scan_string_decode(const struct json_scan_span *str, char *buf,
                               size_t cap)
{
        const char *p, *end;
        size_t n = 0;
        if (json_scan_string_body(str, &p, &end)) {
                while (p < end) {
                        char one[4];
                        size_t k = json_scan_decode_one(&p, end, one);
                        for (size_t i = 0; i < k; i++, n++)
                                if (n + 1 < cap)
                                        buf[n] = one[i];
                }
        }
        if (cap)
                buf[n < cap ? n : cap - 1] = '\0';
        return n;
}

char *json_scan_string_dup(const struct json_scan_span *str, size_t *len)
{
        /* decoding never lengthens: an escape of k bytes gives at most k
         * bytes (\uXXXX: 6 -> 3, a pair: 12 -> 4), raw bytes stay, and
         * the two quotes go: len - 1 bytes hold the text and its NUL */
        size_t cap = str->len >= 2 ? str->len - 1 : 1;
        char *s = malloc(cap);
        if (!s)
                return NULL;
        size_t n = json_scan_string_decode(str, s, cap);
        if (len)
                *len = n < cap ? n : cap - 1;
        return s;
}
