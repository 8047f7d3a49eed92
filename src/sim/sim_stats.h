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

/* The headers of a Moka request that tests look at (NULL: absent). */
struct sim_req_headers {
        const char *user_agent;
        const char *content_type;
        const char *accept;
        const char *expect;
};

/*
 * Counts the headers of a Moka request, so tests can see what a client
 * sends: User-Agent and Content-Type by value (at most
 * SIM_STATS_HEADER_VALUES distinct values of each; later ones count as
 * "(other)"), the last Content-Type and Accept (at most
 * SIM_STATS_HEADER_LAST bytes kept), and how many carried Expect.
 */
#define SIM_STATS_HEADER_VALUES 32
#define SIM_STATS_HEADER_LAST 256
void sim_stats_count_headers(struct sim_stats *s,
                             const struct sim_req_headers *h);

/*
 * An UpdateCustomer whose DealerCustomerRequest names no customer (the
 * probe a client may send to test its credentials). Any thread.
 */
void sim_stats_count_unnamed_update(struct sim_stats *s);

/*
 * A GetSaleList of the DealerCode of its auth block (NULL: none), with
 * any credentials. At most SIM_STATS_DEALER_VALUES distinct codes are
 * kept; later ones count as "(other)". Any thread.
 */
#define SIM_STATS_DEALER_VALUES 1024
void sim_stats_count_sale_list_dealer(struct sim_stats *s,
                                      const char *dealer_code);

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
