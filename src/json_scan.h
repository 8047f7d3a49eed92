/* A strict, allocation-free JSON scanner (RFC 8259) over (pointer, length).
 *
 * Used on the response path instead of a json-c tree: moka_response.c
 * validates Moka's body once, walks the envelope's members as spans of the
 * body, decodes only the few strings it keeps, and hands Data on as text.
 * Nothing here allocates except json_scan_string_dup; nothing needs a NUL
 * after the input; every function is reentrant (no state but its
 * arguments), so any thread may call it.
 *
 * Two levels:
 *   - json_scan_validate() checks a whole document byte by byte;
 *   - everything else (iteration, spans, comparisons, decoding) trusts
 *     text that json_scan_validate() accepted, so it can skip values
 *     without re-checking them. On any other text it stays within the
 *     bounds it was given but its results mean nothing.
 *
 * Intentional choices (docs/decisions.md, "JSON scanner"):
 *   - strict grammar: no comments, trailing commas, NaN/Infinity, single
 *     quotes, leading zeros ("01", "-01"), "1." or ".5"; whitespace is
 *     only space, tab, CR and LF; raw control characters (< 0x20) inside
 *     strings are rejected; the text must be valid UTF-8 (no overlong
 *     forms, no encoded surrogates, nothing above U+10FFFF);
 *   - \u escapes of a lone or reversed UTF-16 surrogate are grammatically
 *     valid JSON and are accepted; decoding turns each into U+FFFD, as
 *     json-c does;
 *   - a decoded string may contain U+0000. Key comparisons treat a key as
 *     a C string ending at its first U+0000, as json-c does (its keys are
 *     C strings), so a lookup finds what json-c would find;
 *   - nesting deeper than JSON_SCAN_MAX_DEPTH is rejected. */
#ifndef MOKA_BRIDGE_JSON_SCAN_H
#define MOKA_BRIDGE_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>

/* 64 levels of arrays/objects: Moka's deepest answer is 4 (envelope, Data,
 * DealerSaleList, a sale), so 64 leaves room for anything legitimate while
 * bounding the work on hostile input: the validator keeps its container
 * stack in one 64-bit word, and recursive walkers (redact.c) use at most
 * 64 stack frames. json-c's default is 32. */
#define JSON_SCAN_MAX_DEPTH 64

enum json_scan_type {
        JSON_SCAN_NONE, /* no value: the end of an iteration, bad text */
        JSON_SCAN_NULL,
        JSON_SCAN_FALSE,
        JSON_SCAN_TRUE,
        JSON_SCAN_NUMBER,
        JSON_SCAN_STRING,
        JSON_SCAN_ARRAY,
        JSON_SCAN_OBJECT,
};

/* A value inside validated text: its raw bytes (a string's include the
 * quotes and escapes as they are) and its type. Borrowed from the text. */
struct json_scan_span {
        const char *p;
        size_t len;
        enum json_scan_type type;
};

/* Checks that text[0..len) is exactly one JSON value with optional
 * whitespace around it. Returns 0 and fills *root (the value without the
 * whitespace; may be NULL) when it is; -1 otherwise, with *err_off (may be
 * NULL) the offset of the first byte that cannot be part of a valid
 * document (len when the text ends too early). */
int json_scan_validate(const char *text, size_t len,
                       struct json_scan_span *root, size_t *err_off);

/* Iteration over the members of an object or the elements of an array of
 * validated text. Initialise with json_scan_iter_init(&it, container);
 * the container must be a span of type OBJECT or ARRAY. */
struct json_scan_iter {
        const char *p;   /* next byte to read */
        const char *end; /* the container's closing bracket */
};

void json_scan_iter_init(struct json_scan_iter *it,
                         const struct json_scan_span *container);

/* The next member of an object: its key (a STRING span, quotes included)
 * and its value. Returns false at the end of the object. */
bool json_scan_object_next(struct json_scan_iter *it,
                           struct json_scan_span *key,
                           struct json_scan_span *value);

/* The next element of an array; false at the end. */
bool json_scan_array_next(struct json_scan_iter *it,
                          struct json_scan_span *value);

/* Number of elements of an ARRAY span (-1 if the span is not an array). */
long json_scan_array_count(const struct json_scan_span *array);

/* The span of the value starting at p (no leading whitespace) in validated
 * text ending at end. Returns false when p does not start a value. */
bool json_scan_value_at(const char *p, const char *end,
                        struct json_scan_span *value);

/* First byte at or after p that is not JSON whitespace (end if none). */
const char *json_scan_skip_ws(const char *p, const char *end);

/* True when the decoded STRING span `key`, read as a C string (it ends at
 * its first U+0000), equals `name`; _ci ignores ASCII case, like
 * strcasecmp. No allocation: the escapes are decoded as they are compared. */
bool json_scan_key_eq(const struct json_scan_span *key, const char *name);
bool json_scan_key_eq_ci(const struct json_scan_span *key, const char *name);

/* Decodes a STRING span (escapes, \uXXXX and surrogate pairs to UTF-8,
 * lone surrogates to U+FFFD) into buf, NUL-terminated, at most cap - 1
 * bytes. Returns the full decoded length, as snprintf does: a result >= cap
 * means buf holds a truncated copy (possibly cut inside a UTF-8
 * sequence). The decoded text may contain NUL bytes. */
size_t json_scan_string_decode(const struct json_scan_span *str, char *buf,
                               size_t cap);

/* The decoded string in a malloc'd NUL-terminated buffer (caller frees),
 * its length in *len when len is not NULL; NULL when out of memory. */
char *json_scan_string_dup(const struct json_scan_span *str, size_t *len);

const char *json_scan_type_name(enum json_scan_type type);

#endif
