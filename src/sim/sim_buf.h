/*
 * sim_buf: a growable byte buffer for rendering JSON answers, and
 * sim_blob, an immutable reference-counted byte string shared between
 * threads (cached GetSaleList bodies).
 */
#ifndef SIM_BUF_H
#define SIM_BUF_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct sim_buf {
        char *data;
        size_t len;
        size_t cap;
        bool oom;               /* an append failed; contents are partial */
};

struct sim_blob {
        atomic_int refs;
        size_t len;
        char *data;             /* NUL-terminated, owned */
};

/* Zero-initialised buffers are valid too; this only documents intent. */
void sim_buf_init(struct sim_buf *b);

/* Releases the storage; the buffer is empty and reusable afterwards. */
void sim_buf_free(struct sim_buf *b);

/*
 * Appenders. On allocation failure they set b->oom and drop the data, so
 * a renderer checks once at the end instead of after every call.
 */
void sim_buf_append(struct sim_buf *b, const char *s, size_t n);

/* Appends a C string. */
void sim_buf_puts(struct sim_buf *b, const char *s);

/* Appends printf-formatted text. */
void sim_buf_printf(struct sim_buf *b, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* Appends s as a quoted JSON string, or `null` when s is NULL. */
void sim_buf_json_str(struct sim_buf *b, const char *s);

/*
 * Hands the NUL-terminated contents to the caller (free() them) and
 * leaves the buffer empty. Returns NULL if the buffer ran out of memory.
 */
char *sim_buf_steal(struct sim_buf *b, size_t *len);

/*
 * Moves a buffer's contents (no copy) into a new blob holding one
 * reference; the buffer is left empty. NULL on allocation failure.
 */
struct sim_blob *sim_blob_from_buf(struct sim_buf *b);

/* Takes one more reference (any thread); returns blob. */
struct sim_blob *sim_blob_ref(struct sim_blob *blob);

/* Drops a reference and frees on the last one (any thread); takes NULL. */
void sim_blob_unref(struct sim_blob *blob);

#endif
