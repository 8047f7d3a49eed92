/* Retry delays: exponential backoff with full jitter.
 *
 * delay = random(0, min(cap, base * 2^attempt)), as in the AWS Architecture
 * blog's "Exponential Backoff And Jitter". Pure functions plus a small
 * xorshift generator, so the bounds are unit-testable. */
#ifndef MOKA_BRIDGE_BACKOFF_H
#define MOKA_BRIDGE_BACKOFF_H

#include <stdint.h>

/* The upper bound min(cap_ms, base_ms * 2^attempt), without overflow.
 * `attempt` counts the attempts already made (1 after the first failure). */
uint64_t backoff_ceiling_ms(uint64_t base_ms, uint64_t cap_ms, int attempt);

/* A uniformly random delay in [0, backoff_ceiling_ms(...)], drawn from
 * *rng_state (xorshift64*, must be non-zero). */
uint64_t backoff_delay_ms(uint64_t base_ms, uint64_t cap_ms, int attempt,
                          uint64_t *rng_state);

/* Next value of the xorshift64* generator. */
uint64_t backoff_random(uint64_t *rng_state);

#endif
