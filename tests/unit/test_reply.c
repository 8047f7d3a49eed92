/* Unit tests of reply.c (the reply value, reply headers, DLQ headers, the
 * time format) on events made from real consumed messages (librdkafka's
 * mock cluster), and of redact.c (secrets in text, Password members in
 * JSON). */
#include "reply.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "check.h"
#include "redact.h"
#include "test_kafka_mock.h"

#define TOPIC "moka.customer.update"
#define COMPLETED "2024-02-29T23:59:59.123Z"

/* ---- redact -------------------------------------------------------------- */

static void redact_one(const char *text, const char *secret, const char *want)
{
        char *buf = strdup(text);
        const char *secrets[] = {secret};
        redact_secrets(buf, secrets, 1);
        if (!CHECK_STR_EQ(buf, want))
                fprintf(stderr, "  redacting \"%s\" in \"%s\"\n", secret,
                        text);
        free(buf);
}

static void test_redact_secrets(void)
{
        redact_one("password is hunter2.", "hunter2", "password is *******.");
        redact_one("hunter2 and hunter2 and hunter2", "hunter2",
                   "******* and ******* and *******");
        /* adjacent occurrences */
        redact_one("hunter2hunter2", "hunter2", "**************");
        redact_one("<aa>", "a", "<**>");
        /* at both ends, and the whole text */
        redact_one("s3cretXs3cret", "s3cret", "******X******");
        redact_one("s3cret", "s3cret", "******");
        /* no occurrence: unchanged, also for a longer secret */
        redact_one("nothing here", "hunter2", "nothing here");
        redact_one("hunt", "hunter2", "hunt");
        /* overlapping occurrences: every byte of every occurrence */
        redact_one("xaaay", "aa", "x***y");
        redact_one("xabababy", "abab", "x******y");
        /* UTF-8 secrets: bytes are replaced, length kept */
        redact_one("parola \xc5\x9fifre!", "\xc5\x9fifre", "parola ******!");

        /* NULL and empty secrets are skipped, the others applied */
        char buf[] = "a-key-b-pw-c";
        const char *secrets[] = {NULL, "", "key", NULL, "pw", ""};
        redact_secrets(buf, secrets, 6);
        CHECK_STR_EQ(buf, "a-***-b-**-c");

        /* n counts the entries: later ones are not read */
        char buf2[] = "key pw";
        redact_secrets(buf2, secrets, 3);
        CHECK_STR_EQ(buf2, "*** pw");

        /* no secrets, or no text */
        char buf3[] = "keep";
        redact_secrets(buf3, NULL, 0);
        CHECK_STR_EQ(buf3, "keep");
        redact_secrets(NULL, secrets, 6);

        /* one secret inside another (the Moka password and a customer's
         * password, say): neither leaves any of its bytes behind */
        char buf4[] = "Moka said: password1 is wrong";
        const char *nested[] = {"pass", "password1"};
        redact_secrets(buf4, nested, 2);
        CHECK_STR_EQ(buf4, "Moka said: ********* is wrong");
        char buf5[] = "Moka said: password1 is wrong";
        const char *nested2[] = {"password1", "pass"};
        redact_secrets(buf5, nested2, 2);
        CHECK_STR_EQ(buf5, "Moka said: ********* is wrong");
}

/* `text` through redact_password_json, read back by json-c. */
static json_object *redacted(const char *text)
{
        struct json_scan_span v;
        if (!CHECK(json_scan_validate(text, strlen(text), &v, NULL) == 0))
                return NULL;
        size_t len = 0;
        char *out = redact_password_json(&v, &len);
        if (!CHECK(out != NULL))
                return NULL;
        CHECK_UINT_EQ(strlen(out), len);
        json_object *obj = json_tokener_parse(out);
        CHECK(obj != NULL);
        free(out);
        return obj;
}

/* The JSON text of `obj` equals `want` (compared as parsed JSON). */
static void check_json(json_object *obj, const char *want)
{
        json_object *w = json_tokener_parse(want);
        if (!CHECK(w != NULL && json_object_equal(obj, w)))
                fprintf(stderr, "  expected %s\n  got      %s\n", want,
                        json_object_to_json_string(obj));
        json_object_put(w);
}

static void test_redact_password_json(void)
{
        json_object *o;

        /* Moka's UpdateCustomer success Data echoes the Password */
        o = redacted("{\"DealerCustomer\":{\"DealerCustomerId\":1,"
                     "\"CustomerCode\":\"C\",\"Password\":\"Elif1234\","
                     "\"FirstName\":\"Elif\"},\"CardListCount\":0,"
                     "\"CardList\":[]}");
        check_json(o, "{\"DealerCustomer\":{\"DealerCustomerId\":1,"
                      "\"CustomerCode\":\"C\",\"Password\":\"***\","
                      "\"FirstName\":\"Elif\"},\"CardListCount\":0,"
                      "\"CardList\":[]}");
        CHECK_NOT_CONTAINS(json_object_to_json_string(o), "Elif1234");
        json_object_put(o);

        /* any depth, inside arrays, any case, any non-null type; null and
         * other members are kept */
        o = redacted("{\"Password\":null,\"password\":\"a\","
                     "\"list\":[{\"PASSWORD\":\"b\"},[{\"PassWord\":7}],"
                     "\"Password\",{\"x\":{\"pAsSwOrD\":{\"v\":\"c\"}}}],"
                     "\"Pwd\":\"keep\",\"PasswordHint\":\"keep2\","
                     "\"nested\":{\"Password\":null,\"Password2\":\"k\"}}");
        check_json(o, "{\"Password\":null,\"password\":\"***\","
                      "\"list\":[{\"PASSWORD\":\"***\"},[{\"PassWord\":"
                      "\"***\"}],\"Password\",{\"x\":{\"pAsSwOrD\":"
                      "\"***\"}}],\"Pwd\":\"keep\",\"PasswordHint\":"
                      "\"keep2\",\"nested\":{\"Password\":null,"
                      "\"Password2\":\"k\"}}");
        json_object_put(o);

        /* a list of many records, as GetSaleList would have */
        size_t cap = 32 + 500 * 40, n = 0;
        char *text = malloc(cap);
        n += (size_t)sprintf(text, "[");
        for (int i = 0; i < 500; i++)
                n += (size_t)sprintf(text + n,
                                     "%s{\"Password\":\"secret\",\"Id\":%d}",
                                     i ? "," : "", i);
        sprintf(text + n, "]");
        json_object *list = redacted(text);
        free(text);
        CHECK_NOT_CONTAINS(json_object_to_json_string(list), "secret");
        json_object *last = json_object_array_get_idx(list, 499), *id = NULL;
        CHECK(json_object_object_get_ex(last, "Id", &id) &&
              json_object_get_int(id) == 499);
        json_object_put(list);

        /* not an object: nothing to do */
        o = redacted("\"Password\"");
        CHECK_STR_EQ(json_object_get_string(o), "Password");
        json_object_put(o);
        struct json_scan_span v;
        CHECK(json_scan_validate(" null ", 6, &v, NULL) == 0);
        char *null_text = redact_password_json(&v, NULL);
        CHECK_STR_EQ(null_text, "null");
        free(null_text);
}

/* ---- reply values and headers -------------------------------------------- */

static const char bin_header[5] = {0x00, (char)0xff, 0x10, 'a', 0x00};

enum { R_FULL, R_PLAIN, R_SALE, R_CNT };

static const char *member_string(json_object *obj, const char *name)
{
        json_object *v;
        if (!json_object_object_get_ex(obj, name, &v) ||
            !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static int member_int_is(json_object *obj, const char *name, int64_t want)
{
        json_object *v;
        return json_object_object_get_ex(obj, name, &v) &&
               json_object_is_type(v, json_type_int) &&
               json_object_get_int64(v) == want;
}

static json_object *parse_exact(const char *s, size_t len)
{
        json_tokener *tok = json_tokener_new();
        json_object *obj = json_tokener_parse_ex(tok, s, (int)len);
        int ok = json_tokener_get_error(tok) == json_tokener_success &&
                 json_tokener_get_parse_end(tok) == len;
        json_tokener_free(tok);
        if (!ok) {
                json_object_put(obj);
                return NULL;
        }
        return obj;
}

/* Renders and checks a reply value against the outcome and the source. */
static void check_value(const struct event *ev, const struct reply_outcome *o,
                        const char *operation, const char *correlation_id,
                        int32_t partition, int64_t offset)
{
        size_t len = 0;
        char *value = reply_render_value(ev, o, COMPLETED, &len);
        if (!CHECK(value != NULL))
                return;
        CHECK_UINT_EQ(len, strlen(value));
        json_object *r = parse_exact(value, len);
        if (!CHECK(json_object_is_type(r, json_type_object))) {
                free(value);
                json_object_put(r);
                return;
        }
        CHECK_INT_EQ(json_object_object_length(r), 10);
        CHECK_STR_EQ(member_string(r, "schema"), "moka-bridge.reply/1");
        CHECK_STR_EQ(member_string(r, "operation"), operation);
        CHECK_STR_EQ(member_string(r, "correlation_id"), correlation_id);
        CHECK_STR_EQ(member_string(r, "status"),
                     o->success ? "success" : "failure");
        CHECK_STR_EQ(member_string(r, "result_code"), o->result_code);
        CHECK_STR_EQ(member_string(r, "result_message"),
                     o->result_message ? o->result_message : "");
        CHECK(member_int_is(r, "attempts", o->attempts));
        CHECK_STR_EQ(member_string(r, "completed_at"), COMPLETED);

        json_object *src = NULL;
        CHECK(json_object_object_get_ex(r, "source", &src));
        if (CHECK(json_object_is_type(src, json_type_object))) {
                CHECK_INT_EQ(json_object_object_length(src), 3);
                CHECK_STR_EQ(member_string(src, "topic"), TOPIC);
                CHECK(member_int_is(src, "partition", partition));
                CHECK(member_int_is(src, "offset", offset));
        }

        json_object *data = (json_object *)1;
        CHECK(json_object_object_get_ex(r, "data", &data));
        if (o->data_json) {
                char *text = strndup(o->data_json, o->data_len);
                json_object *want = json_tokener_parse(text);
                free(text);
                CHECK(want && json_object_equal(data, want));
                json_object_put(want);
        }
        else
                CHECK(data == NULL); /* present, and null */
        json_object_put(r);
        free(value);
}

static void test_values(struct event **ev)
{
        /* Data is Moka's text, copied as it is (spacing, escapes, number
         * text), exactly data_len bytes of it */
        static const char data[] =
                "{\"DealerCustomer\":{\"CustomerCode\":\"C1\","
                "\"Password\":\"***\",\"FirstName\":\"\xc5\x9e\xc3\xbckr\xc3"
                "\xbc\", \"Esc\":\"\\u00e7\\/\"},\"CardListCount\":0,"
                "\"Big\":123456789012345678901234567890,\"CardList\":[]}"
                "NOT-DATA";
        struct reply_outcome ok = {
                .success = true,
                .result_code = "Success",
                .result_message = "",
                .attempts = 2,
                .data_json = data,
                .data_len = sizeof(data) - 1 - strlen("NOT-DATA"),
                .dlq_reason = REPLY_DLQ_NONE,
        };
        check_value(ev[R_FULL], &ok, "customer.update", "corr-r0", 0, 0);
        size_t vlen = 0;
        char *value = reply_render_value(ev[R_FULL], &ok, COMPLETED, &vlen);
        char want[sizeof(data) + 64];
        snprintf(want, sizeof(want), ",\"data\":%.*s,\"completed_at\"",
                 (int)ok.data_len, data);
        CHECK_CONTAINS(value, want);
        CHECK_NOT_CONTAINS(value, "NOT-DATA");
        free(value);

        struct reply_outcome fail = {
                .success = false,
                .result_code = "Bridge.RetriesExhausted",
                .result_message = "HTTP 503 after 5 attempts: \"quoted\" "
                                  "a/b \\ \xc3\xa7\n",
                .attempts = 5,
                .data_json = NULL,
                .dlq_reason = REPLY_DLQ_RETRIES_EXHAUSTED,
        };
        check_value(ev[R_SALE], &fail, "sale.list", TOPIC "/1/1", 1, 1);

        struct reply_outcome biz = {
                .success = false,
                .result_code =
                        "DealerCustomer.UpdateCustomer.DealerCustomerNotFound",
                .result_message = NULL, /* rendered as "" */
                .attempts = 1,
                .dlq_reason = REPLY_DLQ_MOKA_RESULT,
        };
        check_value(ev[R_PLAIN], &biz, "customer.update", TOPIC "/1/0", 1,
                    0);

        /* every control character must come back from the JSON intact */
        char controls[40];
        size_t n = 0;
        for (int c = 1; c < 0x20; c++)
                controls[n++] = (char)c;
        controls[n++] = 0x7f;
        controls[n++] = '"';
        controls[n++] = '\\';
        controls[n] = '\0';
        biz.result_message = controls;
        check_value(ev[R_PLAIN], &biz, "customer.update", TOPIC "/1/0", 1,
                    0);
}

static int header_count(const rd_kafka_headers_t *h)
{
        return h ? (int)rd_kafka_header_cnt(h) : 0;
}

static void check_reply_headers(const struct event *ev,
                                const struct reply_outcome *o,
                                const char *correlation_id)
{
        rd_kafka_headers_t *h = reply_render_headers(ev, o);
        if (!CHECK(h != NULL))
                return;
        static const char *names[] = {"correlation-id", "moka-result-code",
                                      "moka-status"};
        const char *want[] = {correlation_id, o->result_code,
                              o->success ? "success" : "failure"};
        CHECK_INT_EQ(header_count(h), 3);
        for (size_t i = 0; i < 3; i++) {
                const char *name;
                const void *val;
                size_t size;
                if (!CHECK(rd_kafka_header_get_all(h, i, &name, &val,
                                                   &size) == 0))
                        break;
                CHECK_STR_EQ(name, names[i]);
                CHECK_MEM_EQ((const char *)val, size, want[i],
                             strlen(want[i]));
        }
        rd_kafka_headers_destroy(h);
}

static void test_reply_headers(struct event **ev)
{
        struct reply_outcome ok = {.success = true,
                                   .result_code = "Success",
                                   .attempts = 1};
        check_reply_headers(ev[R_FULL], &ok, "corr-r0");
        struct reply_outcome bad = {.success = false,
                                    .result_code = "Bridge.InvalidEvent",
                                    .attempts = 0,
                                    .dlq_reason = REPLY_DLQ_INVALID_EVENT};
        check_reply_headers(ev[R_SALE], &bad, TOPIC "/1/1");
}

struct want_dlq {
        const char *reason, *result_code, *error, *partition, *offset,
                *timestamp, *attempts, *replay_count;
};

static void check_dlq(const struct event *ev, const struct reply_outcome *o,
                      const char *error, const struct want_dlq *w)
{
        rd_kafka_headers_t *h = reply_render_dlq_headers(
                ev, o, error, "moka-bridge", "2024-03-01T00:00:00.001Z");
        if (!CHECK(h != NULL))
                return;

        /* the original headers, minus dlq.*, in order, byte for byte */
        const rd_kafka_headers_t *in = ev->src.headers;
        size_t out_i = 0;
        const char *name, *oname;
        const void *val, *oval;
        size_t size, osize;
        for (size_t i = 0;
             in && rd_kafka_header_get_all(in, i, &name, &val, &size) == 0;
             i++) {
                if (strncmp(name, "dlq.", 4) == 0)
                        continue;
                if (!CHECK(rd_kafka_header_get_all(h, out_i++, &oname, &oval,
                                                   &osize) == 0))
                        break;
                CHECK_STR_EQ(oname, name);
                CHECK((oval == NULL) == (val == NULL));
                CHECK_MEM_EQ((const char *)oval, osize, (const char *)val,
                             size);
        }
        /* then exactly the 11 dlq.* headers, each once */
        static const char *names[] = {
                "dlq.reason",          "dlq.result-code",
                "dlq.error",           "dlq.original-topic",
                "dlq.original-partition", "dlq.original-offset",
                "dlq.original-timestamp", "dlq.attempts",
                "dlq.failed-at",       "dlq.consumer-group",
                "dlq.replay-count"};
        const char *want[] = {w->reason,      w->result_code, w->error,
                              TOPIC,          w->partition,   w->offset,
                              w->timestamp,   w->attempts,
                              "2024-03-01T00:00:00.001Z", "moka-bridge",
                              w->replay_count};
        CHECK_INT_EQ(header_count(h), (int)out_i + 11);
        int seen[11] = {0};
        for (size_t i = out_i;
             rd_kafka_header_get_all(h, i, &name, &val, &size) == 0; i++) {
                size_t k = 0;
                while (k < 11 && strcmp(names[k], name) != 0)
                        k++;
                if (!CHECK(k < 11)) {
                        fprintf(stderr, "  unexpected header %s\n", name);
                        continue;
                }
                seen[k]++;
                if (!CHECK_MEM_EQ((const char *)val, size, want[k],
                                  strlen(want[k])))
                        fprintf(stderr, "  for header %s\n", name);
        }
        for (size_t k = 0; k < 11; k++)
                if (!CHECK_INT_EQ(seen[k], 1))
                        fprintf(stderr, "  for header %s\n", names[k]);
        rd_kafka_headers_destroy(h);
}

static void test_dlq_headers(struct event **ev)
{
        /* the input really carries what the DLQ must keep and drop */
        const rd_kafka_headers_t *in = ev[R_FULL]->src.headers;
        CHECK(in != NULL);
        const void *val = NULL;
        size_t size = 0;
        CHECK(in && rd_kafka_header_get_last(in, "bin", &val, &size) == 0);
        CHECK_MEM_EQ((const char *)val, size, bin_header, sizeof(bin_header));
        CHECK_INT_EQ(header_count(in), 10);

        struct reply_outcome biz = {
                .success = false,
                .result_code = "DealerCustomer.UpdateCustomer."
                               "InvalidEmailFormat",
                .result_message = "bad email",
                .attempts = 1,
                .dlq_reason = REPLY_DLQ_MOKA_RESULT,
        };
        struct want_dlq w = {
                .reason = "moka-result",
                .result_code =
                        "DealerCustomer.UpdateCustomer.InvalidEmailFormat",
                .error = "bad email",
                .partition = "0",
                .offset = "0",
                .timestamp = "1700000000123",
                .attempts = "1",
                .replay_count = "2", /* carried from the input */
        };
        check_dlq(ev[R_FULL], &biz, "bad email", &w);

        struct reply_outcome inv = {
                .success = false,
                .result_code = "Bridge.InvalidEvent",
                .attempts = 0,
                .dlq_reason = REPLY_DLQ_INVALID_EVENT,
        };
        struct want_dlq wi = {
                .reason = "invalid-event",
                .result_code = "Bridge.InvalidEvent",
                .error = "", /* no text given */
                .partition = "1",
                .offset = "0",
                .timestamp = "1600000000000",
                .attempts = "0",
                .replay_count = "0",
        };
        check_dlq(ev[R_PLAIN], &inv, NULL, &wi);

        struct reply_outcome ex = {
                .success = false,
                .result_code = "Bridge.RetriesExhausted",
                .attempts = 12,
                .dlq_reason = REPLY_DLQ_RETRIES_EXHAUSTED,
        };
        struct want_dlq we = {
                .reason = "retries-exhausted",
                .result_code = "Bridge.RetriesExhausted",
                .error = "HTTP 503",
                .partition = "1",
                .offset = "1",
                .timestamp = "1600000000001",
                .attempts = "12",
                .replay_count = "0",
        };
        check_dlq(ev[R_SALE], &ex, "HTTP 503", &we);

        CHECK_STR_EQ(reply_dlq_reason_name(REPLY_DLQ_MOKA_RESULT),
                     "moka-result");
        CHECK_STR_EQ(reply_dlq_reason_name(REPLY_DLQ_INVALID_EVENT),
                     "invalid-event");
        CHECK_STR_EQ(reply_dlq_reason_name(REPLY_DLQ_RETRIES_EXHAUSTED),
                     "retries-exhausted");
        CHECK_STR_EQ(reply_dlq_reason_name(REPLY_DLQ_NONE), "");
}

static void test_format_time(void)
{
        char out[32];
        reply_format_time(1709251199123LL, out);
        CHECK_STR_EQ(out, "2024-02-29T23:59:59.123Z");
        reply_format_time(0, out);
        CHECK_STR_EQ(out, "1970-01-01T00:00:00.000Z");
        reply_format_time(1709251199005LL, out);
        CHECK_STR_EQ(out, "2024-02-29T23:59:59.005Z");
        reply_format_time(1709251199050LL, out);
        CHECK_STR_EQ(out, "2024-02-29T23:59:59.050Z");
        reply_format_time(951782400000LL, out);
        CHECK_STR_EQ(out, "2000-02-29T00:00:00.000Z");
        reply_format_time(253402300799999LL, out);
        CHECK_STR_EQ(out, "9999-12-31T23:59:59.999Z");
        /* the date part is kept for its second: the next second, and the
         * one before, are written anew */
        reply_format_time(1709251199998LL, out);
        reply_format_time(1709251199999LL, out);
        CHECK_STR_EQ(out, "2024-02-29T23:59:59.999Z");
        reply_format_time(1709251200000LL, out);
        CHECK_STR_EQ(out, "2024-03-01T00:00:00.000Z");
        reply_format_time(1709251199999LL, out);
        CHECK_STR_EQ(out, "2024-02-29T23:59:59.999Z");
        reply_format_time(-5, out);
        CHECK_STR_EQ(out, "1970-01-01T00:00:00.000Z");
}

static void test_reply_topic_allowed(void)
{
        const char *allow = "team-a.replies, team-b.* ,exact,";
        CHECK(reply_topic_allowed(allow, "team-a.replies"));
        CHECK(reply_topic_allowed(allow, "team-b.x"));
        CHECK(reply_topic_allowed(allow, "team-b."));
        CHECK(reply_topic_allowed(allow, "exact"));
        CHECK(!reply_topic_allowed(allow, "team-a.replies2"));
        CHECK(!reply_topic_allowed(allow, "team-a"));
        CHECK(!reply_topic_allowed(allow, "team-b"));
        CHECK(!reply_topic_allowed(allow, "exac"));
        CHECK(!reply_topic_allowed(allow, ""));
        CHECK(!reply_topic_allowed("", "anything"));
        CHECK(!reply_topic_allowed(NULL, "anything"));
        CHECK(reply_topic_allowed("*", "anything"));
}

int main(void)
{
        test_reply_topic_allowed();
        test_redact_secrets();
        test_redact_password_json();
        test_format_time();

        static const char v_full[] =
                "{\"CustomerCode\":\"C1\",\"Password\":\"pw\"}";
        struct kmock_record recs[R_CNT] = {
                [R_FULL] = {.partition = 0,
                            .key = "k0",
                            .key_len = 2,
                            .value = v_full,
                            .value_len = sizeof(v_full) - 1,
                            .timestamp_ms = 1700000000123LL,
                            .headers =
                                    {
                                            {"correlation-id", "corr-r0", 7},
                                            {"trace", "abc", 3},
                                            {"bin", bin_header,
                                             sizeof(bin_header)},
                                            {"dlq.reason", "old-reason", 10},
                                            {"dlq.replay-count", "2", 1},
                                            {"dlq.error", "old error", 9},
                                            {"empty", "", 0},
                                            {"nullhdr", NULL, 0},
                                            {"dlq.original-topic", "x.y", 3},
                                            {"trace", "second", 6},
                                    },
                            .header_cnt = 10},
                [R_PLAIN] = {.partition = 1,
                             .value = "{\"Gender\":9}",
                             .value_len = 12,
                             .timestamp_ms = 1600000000000LL},
                [R_SALE] = {.partition = 1,
                            .key = "sale-key",
                            .key_len = 8,
                            .value = "{}",
                            .value_len = 2,
                            .timestamp_ms = 1600000000001LL},
        };
        rd_kafka_message_t *msgs[R_CNT];
        struct kmock km;
        if (!CHECK(kmock_fetch(&km, TOPIC, 2, recs, R_CNT, msgs) == 0))
                CHECK_DONE();
        struct event *ev[R_CNT];
        int all = 1;
        for (int i = 0; i < R_CNT; i++) {
                ev[i] = event_create(msgs[i], TOPIC,
                                     i == R_SALE ? MOKA_OP_SALE_LIST
                                                 : MOKA_OP_CUSTOMER_UPDATE,
                                     65536);
                all &= CHECK(ev[i] != NULL);
        }
        if (all) {
                test_values(ev);
                test_reply_headers(ev);
                test_dlq_headers(ev);
        }
        for (int i = 0; i < R_CNT; i++)
                event_destroy(ev[i]);
        kmock_close(&km);
        CHECK_DONE();
}
