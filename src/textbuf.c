/*
 * textbuf: see textbuf.h.
 */
#include "textbuf.h"

#include <stdlib.h>
#include <string.h>

void textbuf_put(struct textbuf *b, const char *s, size_t n)
{
        if (b->oom)
                return;
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 512;
                while (cap < b->len + n + 1)
                        cap *= 2;
                char *p = realloc(b->p, cap);
                if (!p) {
                        b->oom = true;
                        return;
                }
                b->p = p;
                b->cap = cap;
        }
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = '\0';
}

void textbuf_puts(struct textbuf *b, const char *s)
{
        textbuf_put(b, s, strlen(s));
}

void textbuf_put_json_string(struct textbuf *b, const char *s, size_t n)
{
        static const char hex[] = "0123456789abcdef";
        textbuf_put(b, "\"", 1);
        size_t run = 0;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                char esc[6];
                size_t k = 0;
                switch (c) {
                case '"': esc[0] = '\\', esc[1] = '"', k = 2; break;
                case '\\': esc[0] = '\\', esc[1] = '\\', k = 2; break;
                case '\b': esc[0] = '\\', esc[1] = 'b', k = 2; break;
                case '\f': esc[0] = '\\', esc[1] = 'f', k = 2; break;
                case '\n': esc[0] = '\\', esc[1] = 'n', k = 2; break;
                case '\r': esc[0] = '\\', esc[1] = 'r', k = 2; break;
                case '\t': esc[0] = '\\', esc[1] = 't', k = 2; break;
                default:
                        if (c < 0x20) {
                                memcpy(esc, "\\u00", 4);
                                esc[4] = hex[c >> 4];
                                esc[5] = hex[c & 0xf];
                                k = 6;
                        }
                }
                if (k) {
                        textbuf_put(b, s + run, i - run);
                        textbuf_put(b, esc, k);
                        run = i + 1;
                }
        }
        textbuf_put(b, s + run, n - run);
        textbuf_put(b, "\"", 1);
}

void textbuf_puts_json(struct textbuf *b, const char *s)
{
        textbuf_put_json_string(b, s, strlen(s));
}
