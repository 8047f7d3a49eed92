/* A token bucket: at most `rate` Moka requests per second, with bursts of
 * up to `burst`. Pure arithmetic on a caller-supplied clock, so it is
 * unit-testable and costs nothing when the rate is 0 (unlimited). */
#ifndef MOKA_BRIDGE_RATELIMIT_H
#define MOKA_BRIDGE_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit {
        double rate;   /* tokens per second; 0 = unlimited */
        double burst;  /* bucket size */
        double tokens;
        uint64_t last_us;
};

/* burst 0 means one second's worth of rate (at least 1). */
void ratelimit_init(struct ratelimit *rl, int rate, int burst,
                    uint64_t now_us);

/* Takes one token if there is one. */
bool ratelimit_take(struct ratelimit *rl, uint64_t now_us);

/* Microseconds until a token is available (0 when one is). */
uint64_t ratelimit_wait_us(struct ratelimit *rl, uint64_t now_us);

#endif
