/*
 * sim_buf: growable buffer and shared blobs, see sim_buf.h.
 */
#include "sim_buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sim_buf_init(struct sim_buf *b)
{
        memset(b, 0, sizeof(*b));
}

void sim_buf_free(struct sim_buf *b)
{
        free(b->data);
        memset(b, 0, sizeof(*b));
}

static bool buf_reserve(struct sim_buf *b, size_t extra)
{
        size_t need;
        size_t cap;
        char *p;

        if (b->oom)
                return false;
        need = b->len + extra + 1;
        if (need <= b->cap)
                return true;
        cap = b->cap ? b->cap : 256;
        while (cap < need)
                cap *= 2;
        p = realloc(b->data, cap);
        if (!p) {
                b->oom = true;
                return false;
        }
        b->data = p;
        b->cap = cap;
        return true;
}

void sim_buf_append(struct sim_buf *b, const char *s, size_t n)
{
        if (!buf_reserve(b, n))
                return;
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
}

void sim_buf_puts(struct sim_buf *b, const char *s)
{
        sim_buf_append(b, s, strlen(s));
}

void sim_buf_printf(struct sim_buf *b, const char *fmt, ...)
{
        va_list ap;
        int n;

        if (!buf_reserve(b, 64))
                return;
        va_start(ap, fmt);
        n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
                b->oom = true;
                return;
        }
        if ((size_t)n >= b->cap - b->len) {
                if (!buf_reserve(b, (size_t)n))
                        return;
                va_start(ap, fmt);
                vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
                va_end(ap);
        }
        b->len += (size_t)n;
}

void sim_buf_json_str(struct sim_buf *b, const char *s)
{
        static const char hex[] = "0123456789abcdef";
        const unsigned char *p;
        const unsigned char *run;

        if (!s) {
                sim_buf_append(b, "null", 4);
                return;
        }
        sim_buf_append(b, "\"", 1);
        run = (const unsigned char *)s;
        for (p = run; *p; p++) {
                char esc[6];
                size_t n = 2;

                if (*p >= 0x20 && *p != '"' && *p != '\\')
                        continue;
                sim_buf_append(b, (const char *)run, (size_t)(p - run));
                esc[0] = '\\';
                switch (*p) {
                case '"': esc[1] = '"'; break;
                case '\\': esc[1] = '\\'; break;
                case '\n': esc[1] = 'n'; break;
                case '\r': esc[1] = 'r'; break;
                case '\t': esc[1] = 't'; break;
                default:
                        esc[1] = 'u';
                        esc[2] = '0';
                        esc[3] = '0';
                        esc[4] = hex[*p >> 4];
                        esc[5] = hex[*p & 15];
                        n = 6;
                }
                sim_buf_append(b, esc, n);
                run = p + 1;
        }
        sim_buf_append(b, (const char *)run, (size_t)(p - run));
        sim_buf_append(b, "\"", 1);
}

char *sim_buf_steal(struct sim_buf *b, size_t *len)
{
        char *out;

        if (b->oom) {
                sim_buf_free(b);
                return NULL;
        }
        if (!b->data && !buf_reserve(b, 0))
                return NULL;
        out = b->data;
        if (len)
                *len = b->len;
        memset(b, 0, sizeof(*b));
        return out;
}

struct sim_blob *sim_blob_from_buf(struct sim_buf *b)
{
        struct sim_blob *blob;

        if (b->oom)
                return NULL;
        blob = malloc(sizeof(*blob));
        if (!blob)
                return NULL;
        atomic_init(&blob->refs, 1);
        blob->data = sim_buf_steal(b, &blob->len);
        if (!blob->data) {
                free(blob);
                return NULL;
        }
        return blob;
}

struct sim_blob *sim_blob_ref(struct sim_blob *blob)
{
        if (blob)
                atomic_fetch_add_explicit(&blob->refs, 1,
                                          memory_order_relaxed);
        return blob;
}

void sim_blob_unref(struct sim_blob *blob)
{
        if (!blob)
                return;
        if (atomic_fetch_sub_explicit(&blob->refs, 1,
                                      memory_order_acq_rel) == 1) {
                free(blob->data);
                free(blob);
        }
}
