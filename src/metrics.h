/* Metrics: the counters, gauges and the Moka latency histogram that the
 * admin listener serves in the Prometheus text format, plus the liveness
 * and readiness facts behind /healthz and /readyz.
 *
 * Written by the bridge's loop, read by the admin listener's thread: one
 * mutex guards everything (uncontended, a few updates per event). Label
 * values that come from outside (Moka's ResultCode, topic names) are
 * escaped when rendered. */
#ifndef MOKA_BRIDGE_METRICS_H
#define MOKA_BRIDGE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "moka_request.h"
#include "moka_response.h"
#include "reply.h"

struct metrics;

struct metrics *metrics_create(void);
/* Accepts NULL. */
void metrics_destroy(struct metrics *m);

void metrics_event_consumed(struct metrics *m, enum moka_operation op);
/* One reply produced: `result_code` is "Success", Moka's code or Bridge.*. */
void metrics_event_completed(struct metrics *m, enum moka_operation op,
                             bool success, const char *result_code);
/* One Moka call finished with `kind` after `seconds`. */
void metrics_moka_request(struct metrics *m, enum moka_operation op,
                          enum moka_outcome_kind kind, double seconds);
void metrics_retry_scheduled(struct metrics *m, enum moka_operation op);
void metrics_dlq_record(struct metrics *m, enum reply_dlq_reason reason);
void metrics_delivery_failed(struct metrics *m);

/* Gauges with their high-water marks: the most there ever were at once,
 * counted where the number grows (an overshoot shorter than a scrape
 * interval still shows). */
void metrics_set_inflight_requests(struct metrics *m, int n, int high);
void metrics_set_pending_events(struct metrics *m, size_t n, size_t high);
void metrics_set_outage(struct metrics *m, bool outage);
/* Registers a dealer for the per-dealer gauges (at start-up). Returns 0,
 * or -1 when out of memory. */
int metrics_add_dealer(struct metrics *m, const char *name);
void metrics_set_dealer_credentials_rejected(struct metrics *m,
                                             const char *name, bool rejected);

/* Per-partition offsets: the last committed offset (from the commit
 * callback) and the high watermark, whose difference is the lag. */
void metrics_partition_committed(struct metrics *m, const char *topic,
                                 int32_t partition, int64_t offset);
void metrics_partition_high_watermark(struct metrics *m, const char *topic,
                                      int32_t partition, int64_t high);
/* Forgets every partition (after a revoke). */
void metrics_partitions_clear(struct metrics *m);

/* Health: the loop calls metrics_loop_alive() every turn; in_group is set
 * on assignment (even an empty one) and cleared on revoke and stop. */
void metrics_loop_alive(struct metrics *m, uint64_t now_ms);
void metrics_set_in_group(struct metrics *m, bool in_group);
/* 1 when the loop turned within `max_age_ms` of now_ms. */
bool metrics_healthy(struct metrics *m, uint64_t now_ms, uint64_t max_age_ms);
/* In the group and not paused for an outage. */
bool metrics_ready(struct metrics *m);

/* Renders everything in the Prometheus text format (version 0.0.4).
 * Returns a malloc'd string the caller frees, length in *len; NULL when
 * out of memory. */
char *metrics_render(struct metrics *m, size_t *len);

#endif
