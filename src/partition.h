/* One assigned input partition as the bridge tracks it: its offsets and,
 * in exactly-once mode, where an abort rewinds to. Created on its first
 * record (bridge.c), destroyed when the assignment is revoked; the
 * exactly-once module walks the same list. */
#ifndef MOKA_BRIDGE_PARTITION_H
#define MOKA_BRIDGE_PARTITION_H

#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "moka_request.h"
#include "offsets.h"

struct partition_state {
        struct partition_state *next;
        enum moka_operation op;
        int32_t partition;
        struct offsets offsets;
        rd_kafka_topic_partition_list_t *store; /* just this partition */
        /* Exactly-once: the offset the last transaction committed (or the
         * first one read since the assignment or the last rewind). */
        int64_t rewind_to;
};

#endif
