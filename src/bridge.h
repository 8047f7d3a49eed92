/* The bridge: the single-threaded loop that moves each event from the
 * consumer through the scheduler, the HTTP layer and the publisher, and
 * stores its offset once it and everything before it is answered.
 * See docs/architecture.md for the flow. */
#ifndef MOKA_BRIDGE_BRIDGE_H
#define MOKA_BRIDGE_BRIDGE_H

#include <stddef.h>

#include "config.h"

struct bridge;

/* Builds every module from `conf` (borrowed; must outlive the bridge).
 * Returns NULL with a message in errstr. */
struct bridge *bridge_create(const struct config *conf, char *errstr,
                             size_t errstr_size);

/* Runs until bridge_request_stop() and the drain that follows, or a fatal
 * error. Returns the process exit code: 0 after a clean stop. */
int bridge_run(struct bridge *b);

/* Async-signal-safe: asks the running bridge to stop (drain, commit,
 * leave the group). */
void bridge_request_stop(struct bridge *b);

/* Async-signal-safe: asks the running bridge to re-read every password
 * file now (SIGHUP); changed files are also noticed on their own within a
 * few seconds (password_watch.h). */
void bridge_request_reload(struct bridge *b);

/* Frees; accepts NULL. */
void bridge_destroy(struct bridge *b);

#endif
