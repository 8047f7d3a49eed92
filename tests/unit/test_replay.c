/* Replay command line and time parsing; the replay itself runs against the
 * real broker in tests/integration/test_replay.py. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "replay.h"

static int parse(struct replay_opts *o, char *err, size_t errsz, ...)
{
        char *argv[32];
        int argc = 0;
        va_list ap;
        va_start(ap, errsz);
        for (char *a; (a = va_arg(ap, char *)) && argc < 31;)
                argv[argc++] = a;
        va_end(ap);
        argv[argc] = NULL;
        memset(o, 0, sizeof(*o));
        err[0] = '\0';
        return replay_parse_args(argc, argv, o, err, errsz);
}

static void test_args(void)
{
        struct replay_opts o;
        char err[512];
        CHECK_INT_EQ(parse(&o, err, sizeof(err), "--config", "c.conf", "--dlq",
                           "in.dlq", NULL),
                     0);
        CHECK_STR_EQ(o.config_path, "c.conf");
        CHECK_STR_EQ(o.dlq, "in.dlq");
        CHECK_INT_EQ(o.start, REPLAY_START_COMMITTED);
        CHECK_INT_EQ(o.max_replay_count, 3);
        CHECK(!o.dry_run);
        CHECK(o.to == NULL);
        replay_opts_free(&o);

        CHECK_INT_EQ(parse(&o, err, sizeof(err), "--config", "c", "--dlq", "d",
                           "--from-offset", "42", "--reason", "moka-result",
                           "--reason", "invalid-event", "--result-code", "EX",
                           "--to", "t", "--max-replay-count", "5", "--rate",
                           "2.5", "--dry-run", "--group", "g", NULL),
                     0);
        CHECK_INT_EQ(o.start, REPLAY_START_OFFSET);
        CHECK_INT_EQ(o.from_offset, 42);
        CHECK_UINT_EQ(o.reasons_cnt, 2);
        if (o.reasons_cnt == 2) {
                CHECK_STR_EQ(o.reasons[0], "moka-result");
                CHECK_STR_EQ(o.reasons[1], "invalid-event");
        }
        CHECK_UINT_EQ(o.result_codes_cnt, 1);
        CHECK_STR_EQ(o.to, "t");
        CHECK_INT_EQ(o.max_replay_count, 5);
        CHECK(o.rate > 2.49 && o.rate < 2.51);
        CHECK(o.dry_run);
        CHECK_STR_EQ(o.group, "g");
        replay_opts_free(&o);

        /* errors name the argument */
        CHECK_INT_EQ(parse(&o, err, sizeof(err), "--config", "c", NULL), -1);
        CHECK_CONTAINS(err, "--dlq");
        CHECK_INT_EQ(parse(&o, err, sizeof(err), "--config", "c", "--dlq", "d",
                           "--from-offset", "x", NULL),
                     -1);
        CHECK_CONTAINS(err, "--from-offset");
        CHECK_INT_EQ(parse(&o, err, sizeof(err), "--config", "c", "--dlq", "d",
                           "--reason", "bogus", NULL),
                     -1);
        CHECK_CONTAINS(err, "--reason");
        CHECK_INT_EQ(parse(&o, err, sizeof(err), "--config", "c", "--dlq", "d",
                           "--from-beginning", "--from-offset", "1", NULL),
                     -1);
        CHECK_INT_EQ(parse(&o, err, sizeof(err), "--config", "c", "--dlq", "d",
                           "--nope", NULL),
                     -1);
        CHECK_CONTAINS(err, "--nope");
}

static void test_time(void)
{
        int64_t ms = 0;
        CHECK_INT_EQ(replay_parse_time("2024-05-01T10:00:00Z", &ms), 0);
        CHECK_INT_EQ(ms, 1714557600000LL);
        CHECK_INT_EQ(replay_parse_time("2024-05-01T13:00:00.250+03:00", &ms),
                     0);
        CHECK_INT_EQ(ms, 1714557600250LL);
        CHECK_INT_EQ(replay_parse_time("1714557600000", &ms), 0);
        CHECK_INT_EQ(ms, 1714557600000LL);
        CHECK_INT_EQ(replay_parse_time("2024-05-01 10:00", &ms), -1);
        CHECK_INT_EQ(replay_parse_time("", &ms), -1);
        CHECK_INT_EQ(replay_parse_time("2024-13-01T10:00:00Z", &ms), -1);
}

int main(void)
{
        test_args();
        test_time();
        CHECK_DONE();
}
