/* Unit tests of backoff.c: the ceiling min(cap, base * 2^attempt) for
 * attempts 0..70 against a reference that cannot overflow, and the
 * distribution of full-jitter delays in [0, ceiling]. */
#include "backoff.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

/* min(cap, base * 2^attempt) without overflow. */
static uint64_t reference_ceiling(uint64_t base, uint64_t cap, int attempt)
{
        if (attempt < 0)
                attempt = 0;
        if (base == 0)
                return 0;
        if (attempt >= 64 || base > (cap >> attempt))
                return cap; /* base * 2^attempt > cap */
        uint64_t v = base << attempt;
        return v < cap ? v : cap;
}

static void check_ceilings(uint64_t base, uint64_t cap)
{
        uint64_t prev = 0;
        int ok = 1;
        for (int a = 0; a <= 70; a++) {
                uint64_t got = backoff_ceiling_ms(base, cap, a);
                uint64_t want = reference_ceiling(base, cap, a);
                if (!CHECK_UINT_EQ(got, want)) {
                        fprintf(stderr, "  base %" PRIu64 " cap %" PRIu64
                                        " attempt %d\n",
                                base, cap, a);
                        ok = 0;
                        break;
                }
                if (!CHECK(got >= prev && got <= cap)) {
                        ok = 0;
                        break;
                }
                prev = got;
        }
        /* saturated at the cap (unless base is 0) */
        if (ok && base)
                CHECK_UINT_EQ(backoff_ceiling_ms(base, cap, 70), cap);
}

static void test_ceiling(void)
{
        /* the defaults and the configuration limits */
        CHECK_UINT_EQ(backoff_ceiling_ms(200, 10000, 0), 200);
        CHECK_UINT_EQ(backoff_ceiling_ms(200, 10000, 1), 400);
        CHECK_UINT_EQ(backoff_ceiling_ms(200, 10000, 5), 6400);
        CHECK_UINT_EQ(backoff_ceiling_ms(200, 10000, 6), 10000);
        CHECK_UINT_EQ(backoff_ceiling_ms(200, 10000, 1000000), 10000);
        CHECK_UINT_EQ(backoff_ceiling_ms(200, 10000, 2147483647), 10000);
        CHECK_UINT_EQ(backoff_ceiling_ms(200, 10000, -3), 200);
        check_ceilings(200, 10000);
        check_ceilings(1, 3600000);
        check_ceilings(600000, 3600000);
        check_ceilings(100, 100);
        check_ceilings(7, 1000);
        check_ceilings(1000, 500); /* base above cap: cap from the start */
        check_ceilings(0, 1000);   /* base 0: always 0 */
        /* large caps: doubling must saturate, not wrap around */
        check_ceilings(1, UINT64_MAX);
        check_ceilings(5, UINT64_MAX - 1);
        check_ceilings(3, (uint64_t)1 << 63);
}

static void check_draws(uint64_t base, uint64_t cap, int attempt,
                        uint64_t seed)
{
        const int n = 100000;
        uint64_t ceiling = backoff_ceiling_ms(base, cap, attempt);
        uint64_t rng = seed, lo = UINT64_MAX, hi = 0;
        double sum = 0;
        int out_of_range = 0;
        for (int i = 0; i < n; i++) {
                uint64_t d = backoff_delay_ms(base, cap, attempt, &rng);
                if (d > ceiling)
                        out_of_range++;
                lo = d < lo ? d : lo;
                hi = d > hi ? d : hi;
                sum += (double)d;
        }
        double mean = sum / n;
        CHECK_INT_EQ(out_of_range, 0);
        CHECK(rng != 0);
        /* covers [0, ceiling]: both ends within 1 %, mean within 5 % */
        if (!CHECK((double)lo <= ceiling * 0.01) ||
            !CHECK((double)hi >= ceiling * 0.99) ||
            !CHECK(mean >= ceiling / 2.0 * 0.95 &&
                   mean <= ceiling / 2.0 * 1.05))
                fprintf(stderr,
                        "  ceiling %" PRIu64 ": min %" PRIu64 " max %" PRIu64
                        " mean %.1f\n",
                        ceiling, lo, hi, mean);
}

static void test_delay(void)
{
        check_draws(200, 10000, 0, 1);      /* ceiling 200 */
        check_draws(200, 10000, 3, 42);     /* ceiling 1600 */
        check_draws(200, 10000, 20, 7);     /* ceiling = cap */
        check_draws(1, 3600000, 40, 0x9e3779b97f4a7c15ULL);

        /* the bound is inclusive and every value comes up */
        uint64_t rng = 12345;
        int seen[8] = {0};
        int bad = 0;
        for (int i = 0; i < 10000; i++) {
                uint64_t d = backoff_delay_ms(7, 100, 0, &rng);
                if (d > 7)
                        bad++;
                else
                        seen[d]++;
        }
        CHECK_INT_EQ(bad, 0);
        for (int v = 0; v < 8; v++)
                if (!CHECK(seen[v] > 0))
                        fprintf(stderr, "  delay %d never drawn\n", v);

        /* a zero ceiling gives zero */
        rng = 99;
        CHECK_UINT_EQ(backoff_delay_ms(0, 100, 5, &rng), 0);

        /* the generator: deterministic per seed, advancing the state */
        uint64_t a = 2024, b = 2024;
        int same = 1, distinct = 0;
        uint64_t prev = 0;
        for (int i = 0; i < 1000; i++) {
                uint64_t x = backoff_random(&a), y = backoff_random(&b);
                same &= x == y;
                distinct += x != prev;
                prev = x;
        }
        CHECK(same);
        CHECK_INT_EQ(distinct, 1000);
        CHECK(a != 2024);

        /* different attempts of different events: different seeds give
         * different sequences */
        uint64_t s1 = 1, s2 = 2;
        CHECK(backoff_random(&s1) != backoff_random(&s2));
}

/* A ceiling of UINT64_MAX must not divide by zero (ceiling + 1 wraps). */
static void test_no_crash_at_max(void)
{
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
                uint64_t rng = 1;
                uint64_t d = backoff_delay_ms(UINT64_MAX, UINT64_MAX, 0, &rng);
                (void)d;
                _exit(0);
        }
        int status = 0;
        CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
        if (!CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0))
                fprintf(stderr,
                        "  backoff_delay_ms(UINT64_MAX, UINT64_MAX, 0) "
                        "killed by signal %d\n",
                        WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

int main(void)
{
        test_ceiling();
        test_delay();
        test_no_crash_at_max();
        CHECK_DONE();
}
