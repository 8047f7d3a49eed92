/* Token bucket: unlimited, steady rate, burst cap, wait times. */
#include "check.h"
#include "ratelimit.h"

static int take_during(struct ratelimit *rl, uint64_t from_us, uint64_t to_us,
                       uint64_t step_us)
{
        int n = 0;
        for (uint64_t t = from_us; t < to_us; t += step_us)
                while (ratelimit_take(rl, t))
                        n++;
        return n;
}

int main(void)
{
        struct ratelimit rl;
        ratelimit_init(&rl, 0, 0, 0);
        int taken = 0;
        for (int i = 0; i < 100000; i++)
                taken += ratelimit_take(&rl, 0);
        CHECK_INT_EQ(taken, 100000);
        CHECK_UINT_EQ(ratelimit_wait_us(&rl, 0), 0);

        /* 100/s over 30 s, polled every ms: 1 initial + 3000 refilled */
        ratelimit_init(&rl, 100, 10, 0);
        int n = take_during(&rl, 0, 30000000, 1000);
        CHECK(n >= 2999 && n <= 3001);

        /* idle for 10 s: at most `burst` at once, then the rate again */
        ratelimit_init(&rl, 100, 10, 0);
        CHECK(ratelimit_take(&rl, 0));
        CHECK(!ratelimit_take(&rl, 0));
        CHECK_UINT_EQ(ratelimit_wait_us(&rl, 0), 10001);
        n = 0;
        while (ratelimit_take(&rl, 10000000))
                n++;
        CHECK_INT_EQ(n, 10);
        CHECK(ratelimit_wait_us(&rl, 10000000) > 9000);
        CHECK(ratelimit_take(&rl, 10010001));

        /* burst 0 = one second's worth */
        ratelimit_init(&rl, 50, 0, 0);
        n = 0;
        while (ratelimit_take(&rl, 5000000))
                n++;
        CHECK_INT_EQ(n, 50);
        /* a clock going backwards refills nothing */
        CHECK(!ratelimit_take(&rl, 4000000));
        CHECK_DONE();
}
