#include "backoff.h"

uint64_t backoff_ceiling_ms(uint64_t base_ms, uint64_t cap_ms, int attempt)
{
        if (attempt < 0)
                attempt = 0;
        uint64_t ceiling = base_ms;
        for (int i = 0; i < attempt && ceiling < cap_ms; i++) {
                if (ceiling > cap_ms / 2)
                        return cap_ms; /* doubling would pass the cap */
                ceiling *= 2;
        }
        return ceiling < cap_ms ? ceiling : cap_ms;
}

uint64_t backoff_random(uint64_t *rng_state)
{
        uint64_t x = *rng_state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *rng_state = x;
        return x * 0x2545F4914F6CDD1DULL;
}

uint64_t backoff_delay_ms(uint64_t base_ms, uint64_t cap_ms, int attempt,
                          uint64_t *rng_state)
{
        uint64_t ceiling = backoff_ceiling_ms(base_ms, cap_ms, attempt);
        uint64_t r = backoff_random(rng_state);
        return ceiling == UINT64_MAX ? r : r % (ceiling + 1);
}
