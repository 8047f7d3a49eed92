/* The HTTP layer: libcurl multi handles (shards of at most 64 transfers,
 * see http.c), keep-alive connections to Moka, a cap on concurrent
 * requests.
 *
 * Requests are started by the bridge and complete in http_perform(), which
 * hands each finished transfer to a callback as a struct moka_transport.
 * Easy handles are pooled so their connections and TLS sessions are reused.
 * Single-threaded: everything runs on the bridge's loop. */
#ifndef MOKA_BRIDGE_HTTP_H
#define MOKA_BRIDGE_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "moka_request.h"
#include "moka_response.h"

struct http;
struct http_request;

struct http_options {
        const char *base_url;
        int max_inflight;
        int connect_timeout_ms;
        int request_timeout_ms;
        bool tls_verify;
        const char *ca_file; /* "" or NULL: the system's CA store */
        const char *proxy;   /* "" or NULL: none (never the environment's) */
};

/* Returns NULL with a message in errstr on failure. */
struct http *http_create(const struct http_options *opts, char *errstr,
                         size_t errstr_size);
/* Aborts whatever is in flight (without callbacks) and frees; accepts NULL. */
void http_destroy(struct http *h);

/* True while fewer than max_inflight requests are running. */
bool http_has_slot(const struct http *h);
int http_inflight(const struct http *h);
/* The most requests that were in flight at once since http_create. */
int http_inflight_high(const struct http *h);

/* POSTs `body` (borrowed: must stay valid until the request completes or
 * is aborted) to the operation's path. `owner` comes back in the callback.
 * Returns the request, or NULL when no slot is free or on error. */
struct http_request *http_start(struct http *h, enum moka_operation op,
                                const char *body, size_t len, void *owner);

/* Cancels a running request; its callback will not be called. */
void http_abort(struct http *h, struct http_request *req);

/* Waits up to timeout_ms for socket activity or for `wake_fd` to become
 * readable (-1: none). Returns 1 when wake_fd is readable. */
int http_wait(struct http *h, int wake_fd, int timeout_ms);

typedef void (*http_done_cb)(void *owner, const struct moka_transport *t,
                             void *arg);

/* Drives transfers and calls `cb` for each completed one; the transport's
 * body is valid only during the call. */
void http_perform(struct http *h, http_done_cb cb, void *arg);

#endif
