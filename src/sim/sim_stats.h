/*
 * sim_stats: request counters served by GET /_sim/stats. Counters by
 * endpoint are atomics; counters by result and by injected fault are
 * small string maps under one mutex.
 */
#ifndef SIM_STATS_H
#define SIM_STATS_H

#include "sim_buf.h"

enum sim_endpoint {
        SIM_EP_UPDATE_CUSTOMER,
        SIM_EP_SALE_LIST,
        SIM_EP_COUNT,
};

struct sim_stats;

/* The URL path of an endpoint ("/DealerCustomer/UpdateCustomer"). */
const char *sim_endpoint_path(enum sim_endpoint ep);

/* All counters at zero; NULL on allocation failure. */
struct sim_stats *sim_stats_create(void);

/* Accepts NULL. */
void sim_stats_destroy(struct sim_stats *s);

/* One request arrived at a Moka endpoint. Any thread. */
void sim_stats_count_request(struct sim_stats *s, enum sim_endpoint ep);

/* A request to an unknown path (answered 404). Any thread. */
void sim_stats_count_not_found(struct sim_stats *s);

/*
 * The outcome of a Moka request: its ResultCode, "http_503", "reset",
 * "malformed"... Any thread.
 */
void sim_stats_count_result(struct sim_stats *s, const char *label);

/*
 * The User-Agent and Content-Type headers of a Moka request (NULL: absent),
 * so tests can see what a client sends. At most SIM_STATS_HEADER_VALUES
 * distinct values of each are kept; later ones count as "(other)".
 */
#define SIM_STATS_HEADER_VALUES 32
void sim_stats_count_headers(struct sim_stats *s, const char *user_agent,
                             const char *content_type);

/* A fault was injected ("latency", "hang", "outage", "rule"). */
void sim_stats_count_fault(struct sim_stats *s, const char *label);

/* Requests being served (including suspended ones). Any thread. */
void sim_stats_in_flight_add(struct sim_stats *s, int delta);

/* Zeroes every counter but in_flight, which is a gauge. */
void sim_stats_reset(struct sim_stats *s);

/* Appends the JSON document of GET /_sim/stats. */
void sim_stats_render(struct sim_stats *s, struct sim_buf *b,
                      unsigned long long timers_pending);

#endif
