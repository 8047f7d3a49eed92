/*
 * textbuf: a growing, NUL-terminated text buffer for output built piece by
 * piece (normalized event requests, replies). Allocation failure sticks in
 * `oom`: writers go on calling and check once at the end.
 */
#ifndef MOKA_BRIDGE_TEXTBUF_H
#define MOKA_BRIDGE_TEXTBUF_H

#include <stdbool.h>
#include <stddef.h>

/* Zero-initialised is empty. `p` is malloc'd, owned by whoever holds the
 * struct: free(p) when done or hand it on. */
struct textbuf {
        char *p;
        size_t len, cap;
        bool oom;
};

/* Appends s[0..n). */
void textbuf_put(struct textbuf *b, const char *s, size_t n);

/* Appends a C string. */
void textbuf_puts(struct textbuf *b, const char *s);

/* Appends s[0..n) as a JSON string the way json-c writes it (PLAIN,
 * NOSLASHESCAPE): \" \\ \b \f \n \r \t, other bytes below 0x20 as \u00xx,
 * everything else (UTF-8) as it is. */
void textbuf_put_json_string(struct textbuf *b, const char *s, size_t n);

/* The same for a C string. */
void textbuf_puts_json(struct textbuf *b, const char *s);

#endif
