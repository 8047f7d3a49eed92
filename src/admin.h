/* The admin listener: /metrics, /healthz and /readyz over HTTP
 * (libmicrohttpd, its own thread), reading the bridge's struct metrics. */
#ifndef MOKA_BRIDGE_ADMIN_H
#define MOKA_BRIDGE_ADMIN_H

#include <stddef.h>

#include "metrics.h"

struct admin;

/* Listens on `listen` ("HOST:PORT"; port 0 picks a free one). `metrics` is
 * borrowed and must outlive the listener. /healthz fails once the loop has
 * not turned for `stall_ms`. Returns NULL with a message in errstr. */
struct admin *admin_create(const char *listen, struct metrics *metrics,
                           unsigned stall_ms, char *errstr,
                           size_t errstr_size);

/* The port actually bound. */
unsigned admin_port(const struct admin *a);

/* Stops the listener; accepts NULL. */
void admin_destroy(struct admin *a);

#endif
