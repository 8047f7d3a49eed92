#include "redact.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void redact_secrets(char *text, const char *const *secrets, size_t n)
{
        if (!text || !*text)
                return;
        /* Mark every match of every secret on the original text first, so
         * overlapping matches and secrets inside other secrets are all
         * covered whatever their order. */
        size_t len = strlen(text);
        unsigned char *mask = NULL;
        for (size_t i = 0; i < n; i++) {
                const char *secret = secrets[i];
                if (!secret || !*secret)
                        continue;
                size_t slen = strlen(secret);
                for (const char *p = strstr(text, secret); p;
                     p = strstr(p + 1, secret)) {
                        if (!mask && !(mask = calloc(len, 1))) {
                                /* Out of memory: blank the whole text
                                 * rather than risk leaking a secret. */
                                memset(text, '*', len);
                                return;
                        }
                        memset(mask + (p - text), 1, slen);
                }
        }
        if (!mask)
                return;
        for (size_t i = 0; i < len; i++)
                if (mask[i])
                        text[i] = '*';
        free(mask);
}

/* The copy under way: `done` is how far the input has been copied. */
struct redact_copy {
        char *buf;
        size_t len, cap;
        const char *done;
        bool oom;
};

static void redact_put(struct redact_copy *c, const char *s, size_t n)
{
        if (c->oom)
                return;
        if (c->len + n + 1 > c->cap) {
                /* only when redactions lengthened the text ("***" is
                 * longer than 1, true, "") */
                size_t cap = c->cap * 2 > c->len + n + 1 ? c->cap * 2
                                                         : c->len + n + 1;
                char *b = realloc(c->buf, cap);
                if (!b) {
                        c->oom = true;
                        return;
                }
                c->buf = b;
                c->cap = cap;
        }
        memcpy(c->buf + c->len, s, n);
        c->len += n;
}

/* Copies the input up to `upto`. */
static void redact_flush(struct redact_copy *c, const char *upto)
{
        redact_put(c, c->done, (size_t)(upto - c->done));
        c->done = upto;
}

/* Walks the value at p (validated text, so depth <= JSON_SCAN_MAX_DEPTH
 * bounds the recursion) and returns the byte after it. Each byte is read
 * once: containers are entered, not skipped and then entered. */
static const char *redact_walk(struct redact_copy *c, const char *p,
                               const char *end)
{
        struct json_scan_span v;
        if (p < end && (*p == '{' || *p == '[')) {
                bool obj = *p == '{';
                char close = obj ? '}' : ']';
                p = json_scan_skip_ws(p + 1, end);
                while (p < end && *p != close) {
                        if (obj) {
                                struct json_scan_span key;
                                if (!json_scan_value_at(p, end, &key))
                                        return end;
                                p = json_scan_skip_ws(key.p + key.len, end);
                                p = json_scan_skip_ws(p + 1, end); /* ':' */
                                if (p < end && *p != 'n' &&
                                    json_scan_key_eq_ci(&key, "Password")) {
                                        if (!json_scan_value_at(p, end, &v))
                                                return end;
                                        redact_flush(c, p);
                                        redact_put(c, "\"" REDACTED "\"",
                                                   sizeof(REDACTED) + 1);
                                        p = c->done = v.p + v.len;
                                } else {
                                        p = redact_walk(c, p, end);
                                }
                        } else {
                                p = redact_walk(c, p, end);
                        }
                        p = json_scan_skip_ws(p, end);
                        if (p < end && *p == ',')
                                p = json_scan_skip_ws(p + 1, end);
                }
                return p < end ? p + 1 : end;
        }
        if (!json_scan_value_at(p, end, &v))
                return end;
        return v.p + v.len;
}

char *redact_password_json(const struct json_scan_span *value, size_t *len)
{
        struct redact_copy c = {
                .cap = value->len + 16,
                .done = value->p,
        };
        if (!(c.buf = malloc(c.cap)))
                return NULL;
        const char *end = value->p + value->len;
        redact_walk(&c, value->p, end);
        redact_flush(&c, end);
        if (c.oom) {
                free(c.buf);
                return NULL;
        }
        c.buf[c.len] = '\0';
        if (len)
                *len = c.len;
        return c.buf;
}
