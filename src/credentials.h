/* Credentials verdicts of one dealer: tells a rejected password, CheckKey
 * or IP address apart from an event Moka calls wrong.
 *
 * Moka answers bad credentials with HTTP 200 and the operation's
 * `InvalidRequest` (the same code as for a wrong or empty object), or an
 * account code (`…InvalidAccount`, `…IpAddressNotAllowed`): one such answer
 * does not say whose fault it is (docs/decisions.md, "Credentials
 * probe"). The first one makes the dealer SUSPECT and a probe decides: a
 * request whose object cannot be wrong. Accepted: the events that failed
 * before the probe was sent keep their own code (reply failure + DLQ);
 * rejected: the dealer is out (REJECTED) until a probe is accepted, and its
 * events wait, unanswered and unbudgeted.
 *
 * One probe per dealer per `verdict_us` at most while the credentials are
 * accepted: an event that fails after a probe was sent waits for the next
 * probe, which is sent no earlier than `verdict_us` after it. A verdict is
 * never reused for a failure that came after it (the password may have
 * been rotated at Moka since): that costs a bad object up to `verdict_us`
 * of delay, never a dead-lettered event of a rotation.
 *
 * Pure state and decisions; dealer.c sends the probes and moves events. */
#ifndef MOKA_BRIDGE_CREDENTIALS_H
#define MOKA_BRIDGE_CREDENTIALS_H

#include <stdbool.h>
#include <stdint.h>

#include "moka_response.h"

enum credentials_state {
        CREDENTIALS_TRUSTED,  /* nothing against them */
        CREDENTIALS_SUSPECT,  /* events failed with an auth code: probe */
        CREDENTIALS_REJECTED, /* a probe was refused: the dealer is out */
};

/* Which request probes the credentials (outage.credentials_probe). */
enum credentials_probe_mode {
        /* UpdateCustomer naming no customer; an InvalidRequest answer is
         * confirmed with GetSaleList (the default) */
        CREDENTIALS_PROBE_UPDATE_THEN_SALE_LIST,
        CREDENTIALS_PROBE_UPDATE,    /* UpdateCustomer naming no customer */
        CREDENTIALS_PROBE_SALE_LIST, /* GetSaleList */
};

/* One step of a probe. */
enum credentials_probe_step {
        CREDENTIALS_STEP_UPDATE,
        CREDENTIALS_STEP_SALE_LIST,
};

/* What one probe answer says. */
enum credentials_probe_answer {
        CREDENTIALS_ANSWER_ACCEPTED,  /* any envelope but an auth code */
        CREDENTIALS_ANSWER_REJECTED,  /* an auth code where none can be the
                                       * object's fault */
        CREDENTIALS_ANSWER_CONFIRM,   /* InvalidRequest to the small probe:
                                       * ask GetSaleList */
        CREDENTIALS_ANSWER_NONE,      /* no envelope, or EX: no verdict */
};

enum credentials_change {
        CREDENTIALS_UNCHANGED,
        CREDENTIALS_SUSPECTED, /* TRUSTED -> SUSPECT */
        CREDENTIALS_CLEARED,   /* SUSPECT -> TRUSTED: probe accepted */
        CREDENTIALS_REFUSED,   /* SUSPECT -> REJECTED: the dealer is out */
        CREDENTIALS_RESTORED,  /* REJECTED -> TRUSTED */
};

struct credentials {
        enum credentials_state state;
        uint64_t verdict_us;      /* least time between two probes while
                                   * the credentials are trusted */
        uint64_t last_probe_sent_us; /* 0: never */
        uint64_t accepted_probe_sent_us; /* when the last accepted probe
                                          * was sent, 0: none */
        uint64_t rejected_since_us;
        uint64_t probes;          /* probes answered with a verdict */
};

void credentials_init(struct credentials *c, uint64_t verdict_us);

/* True when `code` (a Moka ResultCode) may mean bad credentials:
 * `…InvalidRequest`, `…InvalidAccount`, `…IpAddressNotAllowed`. */
bool credentials_code_is_suspect(const char *code);

/* What an event's call answered with an auth code should do. */
enum credentials_event_verdict {
        /* an accepted probe was sent after this call started: the
         * event's own code stands (reply failure + DLQ) */
        CREDENTIALS_EVENT_STANDS,
        /* wait for the next probe's verdict */
        CREDENTIALS_EVENT_WAITS,
        /* the dealer is out: retry after the outage, unbudgeted */
        CREDENTIALS_EVENT_HELD,
};

/* An event's call that started at `call_started_us` was answered with an
 * auth code. May make the dealer SUSPECT (*change = SUSPECTED). */
enum credentials_event_verdict
credentials_on_event(struct credentials *c, uint64_t call_started_us,
                     enum credentials_change *change);

/* Microseconds until a probe may be sent (0: now). */
uint64_t credentials_probe_wait_us(const struct credentials *c,
                                   uint64_t now_us);

/* A probe was sent at `now_us`. */
void credentials_probe_sent(struct credentials *c, uint64_t now_us);

/* The first step of a probe in `mode`. */
enum credentials_probe_step
credentials_first_step(enum credentials_probe_mode mode);

/* What a probe step's classified answer says. */
enum credentials_probe_answer
credentials_probe_answer(enum credentials_probe_mode mode,
                         enum credentials_probe_step step,
                         const struct moka_outcome *o);

/* Records a probe's verdict (ACCEPTED or REJECTED) for the probe sent at
 * `sent_us`. */
enum credentials_change credentials_on_verdict(struct credentials *c,
                                               enum credentials_probe_answer a,
                                               uint64_t sent_us,
                                               uint64_t now_us);

/* The dealer's secrets changed: verdicts about the old ones are void. A
 * REJECTED dealer stays out until a probe with the new ones passes. */
void credentials_rotated(struct credentials *c);

bool credentials_rejected(const struct credentials *c);

const char *credentials_mode_name(enum credentials_probe_mode mode);
/* Returns 0 and sets *mode, or -1 for an unknown name. */
int credentials_mode_parse(const char *name,
                           enum credentials_probe_mode *mode);

#endif
