/* `moka-bridge replay`: republishes dead-letter records.
 *
 * Reads a DLQ topic (every partition) from a start position up to the end
 * offsets seen at start, filters by dlq.reason / dlq.result-code, and
 * produces each record's original key, value and non-dlq.* headers, plus
 * dlq.replay-count + 1, to its dlq.original-topic (or --to). The replay
 * group's offsets are committed only up to records whose copy the broker
 * acknowledged. See docs/replay.md. */
#ifndef MOKA_BRIDGE_REPLAY_H
#define MOKA_BRIDGE_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

enum replay_start {
        REPLAY_START_COMMITTED = 0, /* the group's position, else beginning */
        REPLAY_START_BEGINNING,
        REPLAY_START_OFFSET,
        REPLAY_START_TIME,
};

/* The command line; strings point into argv. */
struct replay_opts {
        const char *config_path;
        const char *dlq;
        enum replay_start start;
        int64_t from_offset;  /* REPLAY_START_OFFSET */
        int64_t from_time_ms; /* REPLAY_START_TIME */
        const char **reasons; /* any of, NULL = every reason */
        size_t reasons_cnt;
        const char **result_codes; /* any of, NULL = every code */
        size_t result_codes_cnt;
        const char *to;       /* NULL = dlq.original-topic */
        int max_replay_count; /* refuse records already replayed this often */
        double rate;          /* records per second, 0 = unlimited */
        bool dry_run;
        const char *group; /* NULL = "<kafka.group_id>.replay" */
};

/* Parses the arguments after "replay" (argv[0] is the first option).
 * Returns 0, or -1 with a message naming the bad argument in errstr.
 * On success the caller frees `o` with replay_opts_free. */
int replay_parse_args(int argc, char **argv, struct replay_opts *o,
                      char *errstr, size_t errstr_size);

/* Frees the lists of `o`; accepts NULL. */
void replay_opts_free(struct replay_opts *o);

/* "2024-05-01T10:00:00Z", "2024-05-01T13:00:00.250+03:00" (RFC 3339) or
 * epoch milliseconds -> epoch milliseconds. Returns 0 or -1. */
int replay_parse_time(const char *s, int64_t *ms);

/* Runs a replay. Returns the exit status: 0 done, 1 error or
 * interrupted. */
int replay_run(const struct config *conf, const struct replay_opts *o);

/* The options, for usage messages. */
void replay_usage(FILE *out);

/* `moka-bridge replay ...`: argv[0] is "replay". Returns the exit status. */
int replay_main(int argc, char **argv);

#endif
