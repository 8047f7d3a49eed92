/* Credentials verdicts: which codes are suspect, what a probe's answer
 * says in each mode, and what an event answered with an auth code does in
 * each state. */
#include "check.h"
#include "credentials.h"

static struct moka_outcome answer(const char *code)
{
        struct moka_outcome o = {0};
        o.moka_answered = code != NULL;
        o.result_code = (char *)code;
        o.kind = MOKA_OUTCOME_BUSINESS;
        return o;
}

static void test_suspect_codes(void)
{
        CHECK(credentials_code_is_suspect(
                "DealerCustomer.UpdateCustomer.InvalidRequest"));
        CHECK(credentials_code_is_suspect("DealerSale.GetSale.InvalidRequest"));
        CHECK(credentials_code_is_suspect(
                "PaymentDealer.CheckPaymentDealerAuthentication.InvalidAccount"));
        CHECK(credentials_code_is_suspect("PaymentDealer."
                                          "CheckPaymentDealerAuthentication."
                                          "IpAddressNotAllowed"));
        CHECK(!credentials_code_is_suspect(
                "DealerCustomer.UpdateCustomer.DealerCustomerNotFound"));
        CHECK(!credentials_code_is_suspect(
                "DealerCustomer.UpdateCustomer.InvalidRequestX"));
        CHECK(!credentials_code_is_suspect("Success"));
        CHECK(!credentials_code_is_suspect(NULL));
}

static void test_probe_answers(void)
{
        const enum credentials_probe_mode both =
                CREDENTIALS_PROBE_UPDATE_THEN_SALE_LIST;
        struct moka_outcome o;

        /* good credentials: any code but an auth code */
        o = answer("DealerCustomer.UpdateCustomer."
                   "CustomerCodeOrDealerCustomerIdMustBeGiven");
        CHECK_INT_EQ(credentials_probe_answer(both, CREDENTIALS_STEP_UPDATE,
                                              &o),
                     CREDENTIALS_ANSWER_ACCEPTED);
        o = answer("DealerSale.GetSaleList.PermissionDenied");
        CHECK_INT_EQ(credentials_probe_answer(both,
                                              CREDENTIALS_STEP_SALE_LIST, &o),
                     CREDENTIALS_ANSWER_ACCEPTED);
        o = answer("DealerSale.GetSaleList.DealerSaleNotFund");
        CHECK_INT_EQ(credentials_probe_answer(both,
                                              CREDENTIALS_STEP_SALE_LIST, &o),
                     CREDENTIALS_ANSWER_ACCEPTED);
        o = answer("Success");
        o.kind = MOKA_OUTCOME_SUCCESS;
        CHECK_INT_EQ(credentials_probe_answer(both,
                                              CREDENTIALS_STEP_SALE_LIST, &o),
                     CREDENTIALS_ANSWER_ACCEPTED);

        /* InvalidRequest to the small probe: Moka may call its object
         * empty, so the sale list confirms; alone, it is a rejection */
        o = answer("DealerCustomer.UpdateCustomer.InvalidRequest");
        CHECK_INT_EQ(credentials_probe_answer(both, CREDENTIALS_STEP_UPDATE,
                                              &o),
                     CREDENTIALS_ANSWER_CONFIRM);
        CHECK_INT_EQ(credentials_probe_answer(CREDENTIALS_PROBE_UPDATE,
                                              CREDENTIALS_STEP_UPDATE, &o),
                     CREDENTIALS_ANSWER_REJECTED);
        o = answer("DealerSale.GetSale.InvalidRequest");
        CHECK_INT_EQ(credentials_probe_answer(both,
                                              CREDENTIALS_STEP_SALE_LIST, &o),
                     CREDENTIALS_ANSWER_REJECTED);
        /* account codes are never the object's fault */
        o = answer("PaymentDealer.CheckPaymentDealerAuthentication."
                   "IpAddressNotAllowed");
        CHECK_INT_EQ(credentials_probe_answer(both, CREDENTIALS_STEP_UPDATE,
                                              &o),
                     CREDENTIALS_ANSWER_REJECTED);

        /* no envelope, or Moka's own error: no verdict */
        o = answer(NULL);
        o.kind = MOKA_OUTCOME_RETRY;
        CHECK_INT_EQ(credentials_probe_answer(both, CREDENTIALS_STEP_UPDATE,
                                              &o),
                     CREDENTIALS_ANSWER_NONE);
        o = answer("EX");
        o.kind = MOKA_OUTCOME_RETRY;
        CHECK_INT_EQ(credentials_probe_answer(both,
                                              CREDENTIALS_STEP_SALE_LIST, &o),
                     CREDENTIALS_ANSWER_NONE);

        CHECK_INT_EQ(credentials_first_step(CREDENTIALS_PROBE_SALE_LIST),
                     CREDENTIALS_STEP_SALE_LIST);
        CHECK_INT_EQ(credentials_first_step(both), CREDENTIALS_STEP_UPDATE);
}

static void test_rejected_then_restored(void)
{
        struct credentials c;
        enum credentials_change ch;
        credentials_init(&c, 10000000);

        /* the first auth code makes the dealer suspect; the event waits */
        CHECK_INT_EQ(credentials_on_event(&c, 1000, &ch),
                     CREDENTIALS_EVENT_WAITS);
        CHECK_INT_EQ(ch, CREDENTIALS_SUSPECTED);
        CHECK_UINT_EQ(credentials_probe_wait_us(&c, 1100), 0);
        credentials_probe_sent(&c, 1100);
        CHECK_INT_EQ(credentials_on_event(&c, 1050, &ch),
                     CREDENTIALS_EVENT_WAITS);
        CHECK_INT_EQ(ch, CREDENTIALS_UNCHANGED);

        /* the probe is refused: out; later events are held */
        CHECK_INT_EQ(credentials_on_verdict(&c, CREDENTIALS_ANSWER_REJECTED,
                                            1100, 1200),
                     CREDENTIALS_REFUSED);
        CHECK(credentials_rejected(&c));
        CHECK_INT_EQ(credentials_on_event(&c, 1300, &ch),
                     CREDENTIALS_EVENT_HELD);
        /* probes while out are not spaced by the verdict time */
        CHECK_UINT_EQ(credentials_probe_wait_us(&c, 1300), 0);
        CHECK_INT_EQ(credentials_on_verdict(&c, CREDENTIALS_ANSWER_REJECTED,
                                            2000, 2100),
                     CREDENTIALS_UNCHANGED);
        /* no verdict changes nothing */
        CHECK_INT_EQ(credentials_on_verdict(&c, CREDENTIALS_ANSWER_NONE,
                                            3000, 3100),
                     CREDENTIALS_UNCHANGED);
        CHECK(credentials_rejected(&c));
        CHECK_INT_EQ(credentials_on_verdict(&c, CREDENTIALS_ANSWER_ACCEPTED,
                                            4000, 4100),
                     CREDENTIALS_RESTORED);
        CHECK(!credentials_rejected(&c));
        CHECK_UINT_EQ(c.probes, 3);
}

static void test_accepted_verdict(void)
{
        struct credentials c;
        enum credentials_change ch;
        credentials_init(&c, 10000000); /* 10 s */

        CHECK_INT_EQ(credentials_on_event(&c, 1000, &ch),
                     CREDENTIALS_EVENT_WAITS);
        credentials_probe_sent(&c, 2000);
        CHECK_INT_EQ(credentials_on_verdict(&c, CREDENTIALS_ANSWER_ACCEPTED,
                                            2000, 2500),
                     CREDENTIALS_CLEARED);
        /* a call made before the accepted probe was sent: its own code */
        CHECK_INT_EQ(credentials_on_event(&c, 1900, &ch),
                     CREDENTIALS_EVENT_STANDS);
        CHECK_INT_EQ(ch, CREDENTIALS_UNCHANGED);
        /* a later one waits for the next probe, not sooner than 10 s
         * after the last: one probe per interval */
        CHECK_INT_EQ(credentials_on_event(&c, 2100, &ch),
                     CREDENTIALS_EVENT_WAITS);
        CHECK_INT_EQ(ch, CREDENTIALS_SUSPECTED);
        CHECK_UINT_EQ(credentials_probe_wait_us(&c, 3000), 9999000);
        CHECK_UINT_EQ(credentials_probe_wait_us(&c, 12000000), 0);

        /* a rotation voids the verdict and the spacing */
        credentials_rotated(&c);
        CHECK_UINT_EQ(credentials_probe_wait_us(&c, 3000), 0);
        CHECK_INT_EQ(credentials_on_event(&c, 1900, &ch),
                     CREDENTIALS_EVENT_WAITS);
}

static void test_mode_names(void)
{
        enum credentials_probe_mode m;
        CHECK_INT_EQ(credentials_mode_parse("sale-list", &m), 0);
        CHECK_INT_EQ(m, CREDENTIALS_PROBE_SALE_LIST);
        CHECK_INT_EQ(credentials_mode_parse("customer-update", &m), 0);
        CHECK_INT_EQ(m, CREDENTIALS_PROBE_UPDATE);
        CHECK_INT_EQ(credentials_mode_parse("customer-update-then-sale-list",
                                            &m),
                     0);
        CHECK_INT_EQ(m, CREDENTIALS_PROBE_UPDATE_THEN_SALE_LIST);
        CHECK_INT_EQ(credentials_mode_parse("Sale-List", &m), -1);
        CHECK_STR_EQ(credentials_mode_name(CREDENTIALS_PROBE_UPDATE),
                     "customer-update");
}

int main(void)
{
        test_suspect_codes();
        test_probe_answers();
        test_rejected_then_restored();
        test_accepted_verdict();
        test_mode_names();
        CHECK_DONE();
}
