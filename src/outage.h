/* Outage detection: tells a Moka outage apart from failures of single
 * events.
 *
 * Every call's result is evidence: a Moka envelope (any ResultCode, EX
 * included) proves Moka answers; a transport-level failure (connection
 * error, timeout, 5xx, 401/403/404, TLS, non-JSON body) does not; a 429 says
 * nothing. Moka is suspected down after `threshold` failures in a row, or
 * when an event would exhaust its retry budget while nothing proved Moka up
 * since its first failure. A suspicion is settled by one probe: a failed
 * probe starts the outage, any envelope (probe or call) ends it. Pure state;
 * the bridge pauses, probes and resumes. */
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

enum outage_state {
        OUTAGE_NONE,
        OUTAGE_SUSPECT, /* a probe decides */
        OUTAGE_ACTIVE,  /* partitions paused, probing */
};

enum outage_change {
        OUTAGE_UNCHANGED,
        OUTAGE_SUSPECTED, /* NONE -> SUSPECT: send a probe now */
        OUTAGE_STARTED,   /* SUSPECT -> ACTIVE */
        OUTAGE_CLEARED,   /* SUSPECT -> NONE: Moka answers */
        OUTAGE_ENDED,     /* ACTIVE -> NONE */
};

struct outage {
        int threshold;
        int consecutive_down; /* failures since the last envelope */
        uint64_t last_up_us;  /* time of the last envelope, 0 = never */
        enum outage_state state;
        uint64_t active_since_us;
        uint64_t count; /* outages started so far */
};

void outage_init(struct outage *o, int threshold);

/* What one classified call says about Moka. */
enum outage_evidence outage_evidence_of(const struct moka_outcome *oc);

/* Records the evidence of an event's call. */
enum outage_change outage_record(struct outage *o, enum outage_evidence e,
                                 uint64_t now_us);

/* Records the evidence of a probe: like outage_record, but a failure while
 * suspected starts the outage. */
enum outage_change outage_probe_result(struct outage *o,
                                       enum outage_evidence e,
                                       uint64_t now_us);

/* Suspects an outage (NONE -> SUSPECT); returns OUTAGE_SUSPECTED or
 * OUTAGE_UNCHANGED. */
enum outage_change outage_suspect(struct outage *o);

bool outage_active(const struct outage *o);

/* True when a Moka envelope arrived at or after `since_us`. */
bool outage_up_since(const struct outage *o, uint64_t since_us);

#endif
