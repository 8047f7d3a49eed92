#include "credentials.h"

#include <string.h>

void credentials_init(struct credentials *c, uint64_t verdict_us)
{
        memset(c, 0, sizeof(*c));
        c->state = CREDENTIALS_TRUSTED;
        c->verdict_us = verdict_us;
}

/* The last dot-separated segment of a ResultCode. */
static const char *credentials_code_tail(const char *code)
{
        const char *dot = strrchr(code, '.');
        return dot ? dot + 1 : code;
}

bool credentials_code_is_suspect(const char *code)
{
        if (!code)
                return false;
        const char *t = credentials_code_tail(code);
        return strcmp(t, "InvalidRequest") == 0 ||
               strcmp(t, "InvalidAccount") == 0 ||
               strcmp(t, "IpAddressNotAllowed") == 0;
}

/* Account codes: never the object's fault, whichever request drew them. */
static bool credentials_code_is_account(const char *code)
{
        const char *t = credentials_code_tail(code);
        return strcmp(t, "InvalidAccount") == 0 ||
               strcmp(t, "IpAddressNotAllowed") == 0;
}

enum credentials_event_verdict
credentials_on_event(struct credentials *c, uint64_t call_started_us,
                     enum credentials_change *change)
{
        *change = CREDENTIALS_UNCHANGED;
        if (c->state == CREDENTIALS_REJECTED)
                return CREDENTIALS_EVENT_HELD;
        if (c->accepted_probe_sent_us &&
            c->accepted_probe_sent_us >= call_started_us)
                return CREDENTIALS_EVENT_STANDS;
        if (c->state == CREDENTIALS_TRUSTED) {
                c->state = CREDENTIALS_SUSPECT;
                *change = CREDENTIALS_SUSPECTED;
        }
        return CREDENTIALS_EVENT_WAITS;
}

uint64_t credentials_probe_wait_us(const struct credentials *c,
                                   uint64_t now_us)
{
        if (c->state == CREDENTIALS_REJECTED || c->last_probe_sent_us == 0)
                return 0;
        uint64_t at = c->last_probe_sent_us + c->verdict_us;
        return at > now_us ? at - now_us : 0;
}

void credentials_probe_sent(struct credentials *c, uint64_t now_us)
{
        c->last_probe_sent_us = now_us;
}

enum credentials_probe_step
credentials_first_step(enum credentials_probe_mode mode)
{
        return mode == CREDENTIALS_PROBE_SALE_LIST ? CREDENTIALS_STEP_SALE_LIST
                                                   : CREDENTIALS_STEP_UPDATE;
}

enum credentials_probe_answer
credentials_probe_answer(enum credentials_probe_mode mode,
                         enum credentials_probe_step step,
                         const struct moka_outcome *o)
{
        if (!o->moka_answered || !o->result_code ||
            strcmp(o->result_code, "EX") == 0)
                return CREDENTIALS_ANSWER_NONE;
        if (!credentials_code_is_suspect(o->result_code))
                return CREDENTIALS_ANSWER_ACCEPTED;
        if (credentials_code_is_account(o->result_code))
                return CREDENTIALS_ANSWER_REJECTED;
        /* InvalidRequest: GetSaleList has no object that could be wrong;
         * an UpdateCustomer naming no customer may be "empty" to Moka. */
        if (step == CREDENTIALS_STEP_UPDATE &&
            mode == CREDENTIALS_PROBE_UPDATE_THEN_SALE_LIST)
                return CREDENTIALS_ANSWER_CONFIRM;
        return CREDENTIALS_ANSWER_REJECTED;
}

enum credentials_change credentials_on_verdict(struct credentials *c,
                                               enum credentials_probe_answer a,
                                               uint64_t sent_us,
                                               uint64_t now_us)
{
        enum credentials_state was = c->state;
        if (a == CREDENTIALS_ANSWER_ACCEPTED) {
                c->probes++;
                c->accepted_probe_sent_us = sent_us;
                c->state = CREDENTIALS_TRUSTED;
                return was == CREDENTIALS_REJECTED  ? CREDENTIALS_RESTORED
                       : was == CREDENTIALS_SUSPECT ? CREDENTIALS_CLEARED
                                                    : CREDENTIALS_UNCHANGED;
        }
        if (a == CREDENTIALS_ANSWER_REJECTED) {
                c->probes++;
                c->accepted_probe_sent_us = 0;
                if (was == CREDENTIALS_REJECTED)
                        return CREDENTIALS_UNCHANGED;
                c->state = CREDENTIALS_REJECTED;
                c->rejected_since_us = now_us;
                return CREDENTIALS_REFUSED;
        }
        return CREDENTIALS_UNCHANGED;
}

void credentials_rotated(struct credentials *c)
{
        c->accepted_probe_sent_us = 0;
        c->last_probe_sent_us = 0;
}

bool credentials_rejected(const struct credentials *c)
{
        return c->state == CREDENTIALS_REJECTED;
}

static const char *const credentials_mode_names[] = {
        [CREDENTIALS_PROBE_UPDATE_THEN_SALE_LIST] =
                "customer-update-then-sale-list",
        [CREDENTIALS_PROBE_UPDATE] = "customer-update",
        [CREDENTIALS_PROBE_SALE_LIST] = "sale-list",
};

const char *credentials_mode_name(enum credentials_probe_mode mode)
{
        return credentials_mode_names[mode];
}

int credentials_mode_parse(const char *name,
                           enum credentials_probe_mode *mode)
{
        for (size_t i = 0; i < sizeof(credentials_mode_names) /
                                       sizeof(credentials_mode_names[0]);
             i++)
                if (strcmp(name, credentials_mode_names[i]) == 0) {
                        *mode = (enum credentials_probe_mode)i;
                        return 0;
                }
        return -1;
}
