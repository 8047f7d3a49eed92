#include "ratelimit.h"

void ratelimit_init(struct ratelimit *rl, int rate, int burst,
                    uint64_t now_us)
{
        rl->rate = rate > 0 ? rate : 0;
        rl->burst = burst > 0 ? burst : (rate > 0 ? rate : 1);
        /* Start with one token, not a full bucket: a restart should not
         * send a burst at a Moka that limits us. */
        rl->tokens = 1;
        rl->last_us = now_us;
}

static void ratelimit_refill(struct ratelimit *rl, uint64_t now_us)
{
        if (now_us > rl->last_us) {
                rl->tokens += (double)(now_us - rl->last_us) * rl->rate / 1e6;
                if (rl->tokens > rl->burst)
                        rl->tokens = rl->burst;
        }
        rl->last_us = now_us;
}

bool ratelimit_take(struct ratelimit *rl, uint64_t now_us)
{
        if (rl->rate == 0)
                return true;
        ratelimit_refill(rl, now_us);
        if (rl->tokens < 1)
                return false;
        rl->tokens -= 1;
        return true;
}

uint64_t ratelimit_wait_us(struct ratelimit *rl, uint64_t now_us)
{
        if (rl->rate == 0)
                return 0;
        ratelimit_refill(rl, now_us);
        if (rl->tokens >= 1)
                return 0;
        return (uint64_t)((1 - rl->tokens) * 1e6 / rl->rate) + 1;
}
