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

bool outage_start(struct outage *o, uint64_t now_us)
{
        if (o->active)
                return false;
        o->active = true;
        o->active_since_us = now_us;
        o->count++;
        return true;
}

int outage_record(struct outage *o, enum outage_evidence e, uint64_t now_us)
{
        switch (e) {
        case OUTAGE_EVIDENCE_UP:
                o->consecutive_down = 0;
                o->last_up_us = now_us;
                if (o->active) {
                        o->active = false;
                        return -1;
                }
                return 0;
        case OUTAGE_EVIDENCE_DOWN:
                o->consecutive_down++;
                if (o->consecutive_down >= o->threshold &&
                    outage_start(o, now_us))
                        return 1;
                return 0;
        case OUTAGE_EVIDENCE_NEUTRAL:
                break;
        }
        return 0;
}

bool outage_up_since(const struct outage *o, uint64_t since_us)
{
        return o->last_up_us != 0 && o->last_up_us >= since_us;
}
