/* Outage detection: evidence from outcomes, suspicion by threshold or by
 * an unproven exhaustion, the probe's verdict, and the end at the first
 * Moka answer. */
#include "check.h"
#include "outage.h"

static void test_evidence_of_outcomes(void)
{
        struct moka_outcome o = {0};
        o.moka_answered = true;
        o.kind = MOKA_OUTCOME_RETRY; /* EX: Moka answered */
        CHECK_INT_EQ(outage_evidence_of(&o), OUTAGE_EVIDENCE_UP);
        o.kind = MOKA_OUTCOME_BUSINESS;
        CHECK_INT_EQ(outage_evidence_of(&o), OUTAGE_EVIDENCE_UP);
        o.moka_answered = false;
        o.kind = MOKA_OUTCOME_RETRY;
        o.http_status = 503;
        CHECK_INT_EQ(outage_evidence_of(&o), OUTAGE_EVIDENCE_DOWN);
        o.http_status = 0; /* connection error, timeout */
        CHECK_INT_EQ(outage_evidence_of(&o), OUTAGE_EVIDENCE_DOWN);
        o.kind = MOKA_OUTCOME_OUTAGE;
        o.http_status = 401;
        CHECK_INT_EQ(outage_evidence_of(&o), OUTAGE_EVIDENCE_DOWN);
        o.kind = MOKA_OUTCOME_RETRY;
        o.http_status = 429;
        CHECK_INT_EQ(outage_evidence_of(&o), OUTAGE_EVIDENCE_NEUTRAL);
        o.http_status = 200; /* non-JSON body */
        CHECK_INT_EQ(outage_evidence_of(&o), OUTAGE_EVIDENCE_DOWN);
}

static void test_threshold_probe_and_end(void)
{
        struct outage o;
        outage_init(&o, 3);
        CHECK_INT_EQ(outage_record(&o, OUTAGE_EVIDENCE_DOWN, 10), 0);
        CHECK_INT_EQ(outage_record(&o, OUTAGE_EVIDENCE_DOWN, 20), 0);
        /* an answer in between resets the streak */
        CHECK_INT_EQ(outage_record(&o, OUTAGE_EVIDENCE_UP, 30), 0);
        CHECK_INT_EQ(outage_record(&o, OUTAGE_EVIDENCE_DOWN, 40), 0);
        CHECK_INT_EQ(outage_record(&o, OUTAGE_EVIDENCE_DOWN, 50), 0);
        /* 429 neither proves nor breaks anything */
        CHECK_INT_EQ(outage_record(&o, OUTAGE_EVIDENCE_NEUTRAL, 55), 0);
        CHECK_INT_EQ(o.state, OUTAGE_NONE);
        CHECK_INT_EQ(outage_record(&o, OUTAGE_EVIDENCE_DOWN, 60),
                     OUTAGE_SUSPECTED);
        CHECK(!outage_active(&o));
        /* more failures while suspected change nothing; the probe decides */
        CHECK_INT_EQ(outage_record(&o, OUTAGE_EVIDENCE_DOWN, 65), 0);
        CHECK_INT_EQ(outage_probe_result(&o, OUTAGE_EVIDENCE_DOWN, 70),
                     OUTAGE_STARTED);
        CHECK(outage_active(&o));
        CHECK_UINT_EQ(o.active_since_us, 70);
        CHECK_UINT_EQ(o.count, 1);
        CHECK_INT_EQ(outage_probe_result(&o, OUTAGE_EVIDENCE_DOWN, 75), 0);
        CHECK_INT_EQ(outage_record(&o, OUTAGE_EVIDENCE_DOWN, 78), 0);
        CHECK(outage_active(&o));
        CHECK_INT_EQ(outage_probe_result(&o, OUTAGE_EVIDENCE_UP, 80),
                     OUTAGE_ENDED);
        CHECK(!outage_active(&o));
        CHECK_INT_EQ(o.consecutive_down, 0);
        CHECK_INT_EQ(outage_record(&o, OUTAGE_EVIDENCE_UP, 90), 0);
}

static void test_suspicion_cleared_by_any_answer(void)
{
        struct outage o;
        outage_init(&o, 100);
        CHECK_INT_EQ(outage_suspect(&o), OUTAGE_SUSPECTED);
        CHECK_INT_EQ(outage_suspect(&o), OUTAGE_UNCHANGED);
        CHECK_INT_EQ(outage_probe_result(&o, OUTAGE_EVIDENCE_UP, 5),
                     OUTAGE_CLEARED);
        CHECK_INT_EQ(o.state, OUTAGE_NONE);
        CHECK_INT_EQ(outage_suspect(&o), OUTAGE_SUSPECTED);
        /* an event's envelope settles it as well as the probe's */
        CHECK_INT_EQ(outage_record(&o, OUTAGE_EVIDENCE_UP, 6),
                     OUTAGE_CLEARED);
        /* a stale probe failure with no suspicion starts nothing */
        CHECK_INT_EQ(outage_probe_result(&o, OUTAGE_EVIDENCE_DOWN, 7), 0);
        CHECK(!outage_active(&o));
        struct outage z;
        outage_init(&z, 0); /* a threshold below 1 means 1 */
        CHECK_INT_EQ(outage_record(&z, OUTAGE_EVIDENCE_DOWN, 1),
                     OUTAGE_SUSPECTED);
}

static void test_up_since(void)
{
        struct outage o;
        outage_init(&o, 5);
        CHECK(!outage_up_since(&o, 0)); /* never answered */
        outage_record(&o, OUTAGE_EVIDENCE_UP, 500);
        CHECK(outage_up_since(&o, 500));
        CHECK(outage_up_since(&o, 400));
        CHECK(!outage_up_since(&o, 501));
}

int main(void)
{
        test_evidence_of_outcomes();
        test_threshold_probe_and_end();
        test_suspicion_cleared_by_any_answer();
        test_up_since();
        CHECK_DONE();
}
