/* Outage detection: tells a Moka outage apart from failures of single
 * events.
 *
 * Every call's result is recorded: a Moka envelope (any ResultCode, EX
 * included) proves Moka answers; a transport-level failure (connection
 * error, timeout, 5xx, 401/403/404, TLS, non-JSON body) does not. An outage
 * starts after `threshold` such failures in a row, or when an event would
 * exhaust its retry budget while nothing proved Moka up since its first
 * failure; it ends at the first envelope (from a probe or any call). Pure
 * state, no I/O: the bridge pauses, probes and resumes. */
#ifndef MOKA_BRIDGE_OUTAGE_H
#define MOKA_BRIDGE_OUTAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "moka_response.h"

enum outage_evidence {
        OUTAGE_EVIDENCE_UP,      /* a Moka envelope */
        OUTAGE_EVIDENCE_DOWN,    /* a transport-level failure */
        OUTAGE_EVIDENCE_NEUTRAL, /* 429: something answers, rate-limited */
};

struct outage {
        int threshold;
        int consecutive_down;   /* failures since the last envelope */
        uint64_t last_up_us;    /* time of the last envelope, 0 = never */
        bool active;
        uint64_t active_since_us;
        uint64_t count;         /* outages so far */
};

void outage_init(struct outage *o, int threshold);

/* What one classified call says about Moka. */
enum outage_evidence outage_evidence_of(const struct moka_outcome *oc);

/* Records one call's evidence at now_us. Returns +1 when this started an
 * outage, -1 when it ended one, 0 otherwise. */
int outage_record(struct outage *o, enum outage_evidence e, uint64_t now_us);

/* Starts an outage (no-op when active). Returns true when it started. */
bool outage_start(struct outage *o, uint64_t now_us);

/* True when a Moka envelope arrived at or after `since_us`. */
bool outage_up_since(const struct outage *o, uint64_t since_us);

#endif
