#include "outage.h"

void outage_init(struct outage *o, int threshold)
{
        *o = (struct outage){.threshold = threshold > 0 ? threshold : 1};
}

enum outage_evidence outage_evidence_of(const struct moka_outcome *oc)
{
        if (oc->moka_answered)
                return OUTAGE_EVIDENCE_UP;
        if (oc->http_status == 429)
                return OUTAGE_EVIDENCE_NEUTRAL;
        return OUTAGE_EVIDENCE_DOWN;
}

static enum outage_change outage_up(struct outage *o, uint64_t now_us)
{
        enum outage_state was = o->state;
        o->consecutive_down = 0;
        o->last_up_us = now_us;
        o->state = OUTAGE_NONE;
        return was == OUTAGE_ACTIVE    ? OUTAGE_ENDED
               : was == OUTAGE_SUSPECT ? OUTAGE_CLEARED
                                       : OUTAGE_UNCHANGED;
}

enum outage_change outage_record(struct outage *o, enum outage_evidence e,
                                 uint64_t now_us)
{
        switch (e) {
        case OUTAGE_EVIDENCE_UP:
                return outage_up(o, now_us);
        case OUTAGE_EVIDENCE_DOWN:
                o->consecutive_down++;
                if (o->consecutive_down >= o->threshold)
                        return outage_suspect(o);
                break;
        case OUTAGE_EVIDENCE_NEUTRAL:
                break;
        }
        return OUTAGE_UNCHANGED;
}

enum outage_change outage_probe_result(struct outage *o,
                                       enum outage_evidence e,
                                       uint64_t now_us)
{
        if (e == OUTAGE_EVIDENCE_UP)
                return outage_up(o, now_us);
        if (e == OUTAGE_EVIDENCE_DOWN && o->state == OUTAGE_SUSPECT) {
                o->state = OUTAGE_ACTIVE;
                o->active_since_us = now_us;
                o->count++;
                return OUTAGE_STARTED;
        }
        return OUTAGE_UNCHANGED;
}

enum outage_change outage_suspect(struct outage *o)
{
        if (o->state != OUTAGE_NONE)
                return OUTAGE_UNCHANGED;
        o->state = OUTAGE_SUSPECT;
        return OUTAGE_SUSPECTED;
}

bool outage_active(const struct outage *o)
{
        return o->state == OUTAGE_ACTIVE;
}

bool outage_up_since(const struct outage *o, uint64_t since_us)
{
        return o->last_up_us != 0 && o->last_up_us >= since_us;
}
