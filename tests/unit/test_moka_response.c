/* Unit tests of moka_classify (moka_response.c): every row of the
 * contract's "Outcome of a Moka call" table, envelope parsing of bodies
 * that are not NUL-terminated, and moka_outcome_clear.
 *
 * Each body is copied into a heap buffer of exactly its length (no NUL
 * after it), so a read past body_len shows up under valgrind and ASan. */
#include "moka_response.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "check.h"
#include "json_scan.h"

struct run {
        struct moka_outcome out;
        char *buf;
        size_t len;
        json_object *data; /* out.data_json read back with json-c */
};

/* json-c's strict reading of the outcome's Data text; NULL when there is
 * none. Text that json-c cannot read is a failed check. */
static json_object *parse_data(const struct moka_outcome *o)
{
        if (!o->data_json)
                return NULL;
        CHECK_UINT_EQ(strlen(o->data_json), o->data_len);
        json_tokener *tok = json_tokener_new_ex(JSON_SCAN_MAX_DEPTH + 1);
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        json_object *d = json_tokener_parse_ex(tok, o->data_json,
                                               (int)o->data_len + 1);
        if (!CHECK(json_tokener_get_error(tok) == json_tokener_success &&
                   d != NULL))
                fprintf(stderr, "  data text: %s\n", o->data_json);
        json_tokener_free(tok);
        return d;
}

/* Classifies an HTTP response with `len` body bytes. */
static void classify(struct run *r, long status, const char *body,
                     size_t len, long retry_after)
{
        r->buf = malloc(len ? len : 1);
        r->len = len;
        if (len)
                memcpy(r->buf, body, len);
        struct moka_transport t = {
                .curl_code = CURLE_OK,
                .http_status = status,
                .body = r->buf,
                .body_len = len,
                .retry_after_s = retry_after,
        };
        /* garbage in `out`: classify must set every field */
        memset(&r->out, 0x5a, sizeof(r->out));
        moka_classify(&t, &r->out);
        r->data = parse_data(&r->out);
}

#define CLASSIFY(r, status, lit) classify((r), (status), (lit), \
                                          sizeof(lit) - 1, 0)

static void done(struct run *r)
{
        moka_outcome_clear(&r->out);
        json_object_put(r->data);
        r->data = NULL;
        free(r->buf);
}

static const char *member_string(json_object *obj, const char *name)
{
        json_object *v;
        if (!json_object_object_get_ex(obj, name, &v) ||
            !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static void test_success(void)
{
        struct run r;
        CLASSIFY(&r, 200,
                 "{\"Data\":{\"DealerCustomer\":{\"CustomerCode\":\"C1\"},"
                 "\"CardListCount\":0,\"CardList\":[]},"
                 "\"ResultCode\":\"Success\",\"ResultMessage\":\"\","
                 "\"Exception\":null}");
        /* the outcome must not point into the body buffer */
        memset(r.buf, '#', r.len);
        json_object_put(r.data);
        r.data = parse_data(&r.out);
        CHECK_STR_EQ(r.out.data_json,
                     "{\"DealerCustomer\":{\"CustomerCode\":\"C1\"},"
                     "\"CardListCount\":0,\"CardList\":[]}");
        CHECK_INT_EQ(r.out.data_list_len, -1); /* no DealerSaleList */
        CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_SUCCESS);
        CHECK_STR_EQ(r.out.result_code, "Success");
        CHECK_STR_EQ(r.out.result_message, "");
        CHECK_INT_EQ(r.out.retry_after_s, 0);
        if (CHECK(r.data != NULL)) {
                json_object *dc = NULL;
                CHECK(json_object_object_get_ex(r.data, "DealerCustomer",
                                                &dc));
                CHECK_STR_EQ(member_string(dc, "CustomerCode"), "C1");
                json_object *list = NULL;
                CHECK(json_object_object_get_ex(r.data, "CardList",
                                                &list));
                CHECK(json_object_is_type(list, json_type_array));
        }
        done(&r);

        /* "Success" compares case-insensitively; the code stays verbatim */
        CLASSIFY(&r, 200,
                 "{\"Data\":{\"x\":1},\"ResultCode\":\"success\","
                 "\"ResultMessage\":\"ok\"}");
        CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_SUCCESS);
        CHECK_STR_EQ(r.out.result_code, "success");
        CHECK_STR_EQ(r.out.result_message, "ok");
        if (CHECK(r.data != NULL)) {
                json_object *x = NULL;
                CHECK(json_object_object_get_ex(r.data, "x", &x));
                CHECK_INT_EQ(json_object_get_int(x), 1);
        }
        done(&r);

        CLASSIFY(&r, 200, "{\"Data\":null,\"ResultCode\":\"SUCCESS\"}");
        CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_SUCCESS);
        CHECK(r.data == NULL);
        CHECK_STR_EQ(r.out.result_message, ""); /* never NULL */
        done(&r);

        /* any 2xx */
        CLASSIFY(&r, 201, "{\"Data\":{},\"ResultCode\":\"Success\"}");
        CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_SUCCESS);
        done(&r);

        /* Data may be a big list (GetSaleList) */
        CLASSIFY(&r, 200,
                 "{\"Data\":{\" DealerSaleListCount\":2,\"DealerSaleList\":"
                 "[{\"Amount\":25.45},{\"Amount\":1}]},"
                 "\"ResultCode\":\"Success\",\"ResultMessage\":null,"
                 "\"Exception\":null}");
        CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_SUCCESS);
        json_object *list = NULL;
        CHECK(r.data &&
              json_object_object_get_ex(r.data, "DealerSaleList", &list) &&
              json_object_array_length(list) == 2);
        CHECK_STR_EQ(r.out.result_message, "");
        done(&r);
}

static void test_business(void)
{
        struct run r;
        /* verbatim code and message (UTF-8), Data null */
        CLASSIFY(&r, 200,
                 "{\"Data\":null,\"ResultCode\":"
                 "\"DealerCustomer.UpdateCustomer.DealerCustomerNotFound\","
                 "\"ResultMessage\":\"M\xc3\xbc\xc5\x9fteri bulunamad\xc4\xb1"
                 " \\\"x\\\"\",\"Exception\":null}");
        CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_BUSINESS);
        CHECK_STR_EQ(r.out.result_code,
                     "DealerCustomer.UpdateCustomer.DealerCustomerNotFound");
        CHECK_STR_EQ(r.out.result_message,
                     "M\xc3\xbc\xc5\x9fteri bulunamad\xc4\xb1 \"x\"");
        CHECK(r.data == NULL);
        done(&r);

        /* "no sales" is an answer: success with an empty list, Moka's code
         * kept (both spellings: the documented one and the seed's) */
        static const char *const no_sales[] = {
                "DealerSale.GetSaleList.DealerSaleNotFund",
                "DealerSale.GetSaleList.DealerSaleNotFound"};
        for (int i = 0; i < 2; i++) {
                char body[256];
                snprintf(body, sizeof(body),
                         "{\"Data\":null,\"ResultCode\":\"%s\","
                         "\"ResultMessage\":\"\",\"Exception\":null}",
                         no_sales[i]);
                classify(&r, 200, body, strlen(body), 0);
                CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_SUCCESS);
                CHECK(r.out.no_sales);
                CHECK(!r.out.credentials_suspect);
                CHECK_STR_EQ(r.out.result_code, no_sales[i]);
                CHECK_STR_EQ(r.out.data_json,
                             "{\"DealerSaleListCount\":0,"
                             "\"DealerSaleList\":[]}");
                CHECK_INT_EQ(r.out.data_list_len, 0);
                done(&r);
        }
        /* another operation's NotFund is a failure like any other */
        CLASSIFY(&r, 200,
                 "{\"Data\":null,\"ResultCode\":"
                 "\"DealerSale.DeleteDealer.DealerSaleNotFund\"}");
        CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_BUSINESS);
        CHECK(!r.out.no_sales);
        done(&r);

        /* codes that may mean bad credentials: a failure, marked suspect
         * (the dealer's probe decides, credentials.h) */
        static const char *const suspect[] = {
                "DealerCustomer.UpdateCustomer.InvalidRequest",
                "DealerSale.GetSale.InvalidRequest",
                "PaymentDealer.CheckPaymentDealerAuthentication."
                "InvalidAccount",
                "PaymentDealer.CheckPaymentDealerAuthentication."
                "IpAddressNotAllowed"};
        for (int i = 0; i < 4; i++) {
                char body[256];
                snprintf(body, sizeof(body),
                         "{\"Data\":null,\"ResultCode\":\"%s\","
                         "\"ResultMessage\":\"m\"}",
                         suspect[i]);
                classify(&r, 200, body, strlen(body), 0);
                CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_BUSINESS);
                CHECK(r.out.credentials_suspect);
                CHECK_STR_EQ(r.out.result_code, suspect[i]);
                done(&r);
        }
        /* ... and codes that merely contain the words are not */
        CLASSIFY(&r, 200,
                 "{\"ResultCode\":\"DealerCustomer.UpdateCustomer."
                 "InvalidRequestFormat\"}");
        CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_BUSINESS);
        CHECK(!r.out.credentials_suspect);
        done(&r);

        /* a failure never carries Data, even if Moka sent some */
        CLASSIFY(&r, 200,
                 "{\"Data\":{\"DealerCustomer\":{\"Password\":\"pw\"}},"
                 "\"ResultCode\":\"DealerCustomer.UpdateCustomer."
                 "InvalidEmailFormat\",\"ResultMessage\":\"bad email\"}");
        CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_BUSINESS);
        CHECK(r.data == NULL);
        CHECK_STR_EQ(r.out.result_message, "bad email");
        done(&r);

        /* "ex" is not EX: only the exact code means Moka's own error */
        CLASSIFY(&r, 200, "{\"ResultCode\":\"Exx\",\"ResultMessage\":\"m\"}");
        CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_BUSINESS);
        done(&r);
}

static void test_ex(void)
{
        struct run r;
        CLASSIFY(&r, 200,
                 "{\"Data\":null,\"ResultCode\":\"EX\",\"ResultMessage\":"
                 "\"Beklenmeyen hata\",\"Exception\":\"ignored\"}");
        CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_RETRY);
        CHECK_STR_EQ(r.out.result_code, "EX");
        CHECK_STR_EQ(r.out.result_message, "Beklenmeyen hata");
        CHECK_CONTAINS(r.out.cause, "EX");
        CHECK_CONTAINS(r.out.cause, "Beklenmeyen hata");
        CHECK(r.data == NULL);
        done(&r);

        /* the text only in Exception */
        CLASSIFY(&r, 200,
                 "{\"Data\":null,\"ResultCode\":\"EX\",\"ResultMessage\":\"\","
                 "\"Exception\":\"System.NullReferenceException\"}");
        CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_RETRY);
        CHECK_STR_EQ(r.out.result_message, "System.NullReferenceException");
        CHECK_CONTAINS(r.out.cause, "System.NullReferenceException");
        done(&r);

        CLASSIFY(&r, 200,
                 "{\"Data\":null,\"ResultCode\":\"EX\",\"ResultMessage\":null,"
                 "\"Exception\":\"timeout in db\"}");
        CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_RETRY);
        CHECK_STR_EQ(r.out.result_message, "timeout in db");
        done(&r);

        /* neither: an empty message, still a retry */
        CLASSIFY(&r, 200, "{\"ResultCode\":\"EX\"}");
        CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_RETRY);
        CHECK_STR_EQ(r.out.result_message, "");
        CHECK(r.out.cause[0] != '\0');
        done(&r);
}

static void test_http_status(void)
{
        static const long retry[] = {500, 502, 503, 504, 408, 429};
        for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++) {
                struct run r;
                const char *html = "<html><body>Bad Gateway</body></html>";
                classify(&r, retry[i], html, strlen(html), 7);
                char want[32];
                snprintf(want, sizeof(want), "HTTP %ld", retry[i]);
                if (!CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_RETRY))
                        fprintf(stderr, "  for HTTP %ld\n", retry[i]);
                CHECK_INT_EQ(r.out.retry_after_s, 7);
                CHECK_CONTAINS(r.out.cause, want);
                CHECK(r.out.result_code == NULL);
                CHECK(r.data == NULL);
                done(&r);
        }
        /* a 5xx with a Success envelope is still not a success */
        struct run r;
        CLASSIFY(&r, 503, "{\"Data\":{},\"ResultCode\":\"Success\"}");
        CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_RETRY);
        CHECK(r.data == NULL);
        done(&r);

        /* 429 without Retry-After; a negative value means none */
        CLASSIFY(&r, 429, "");
        CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_RETRY);
        CHECK_INT_EQ(r.out.retry_after_s, 0);
        done(&r);
        classify(&r, 429, "", 0, -5);
        CHECK_INT_EQ(r.out.retry_after_s, 0);
        done(&r);

        static const long outage[] = {401, 403, 404};
        for (size_t i = 0; i < sizeof(outage) / sizeof(outage[0]); i++) {
                const char *ok = "{\"ResultCode\":\"Success\"}";
                classify(&r, outage[i], ok, strlen(ok), 0);
                char want[32];
                snprintf(want, sizeof(want), "HTTP %ld", outage[i]);
                if (!CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_OUTAGE))
                        fprintf(stderr, "  for HTTP %ld\n", outage[i]);
                CHECK_CONTAINS(r.out.cause, want);
                CHECK(r.data == NULL);
                done(&r);
        }
}

static void transport(struct moka_outcome *out, int code, const char *msg)
{
        struct moka_transport t = {
                .curl_code = code,
                .curl_error = msg,
                .http_status = 0,
                .body = NULL,
                .body_len = 0,
                .retry_after_s = 0,
        };
        memset(out, 0x5a, sizeof(*out));
        moka_classify(&t, out);
}

static void test_transport(void)
{
        struct moka_outcome out;

        transport(&out, CURLE_OPERATION_TIMEDOUT,
                  "Operation timed out after 10001 milliseconds");
        CHECK_INT_EQ(out.kind, MOKA_OUTCOME_RETRY);
        CHECK_CONTAINS(out.cause, "timeout");
        CHECK_CONTAINS(out.cause, "10001 milliseconds");
        CHECK(out.result_code == NULL);
        CHECK(out.result_message == NULL);
        CHECK(out.data_json == NULL);
        CHECK_INT_EQ(out.retry_after_s, 0);
        moka_outcome_clear(&out);

        static const int conn[] = {CURLE_COULDNT_CONNECT, CURLE_RECV_ERROR,
                                   CURLE_GOT_NOTHING, CURLE_SEND_ERROR,
                                   CURLE_COULDNT_RESOLVE_HOST};
        for (size_t i = 0; i < sizeof(conn) / sizeof(conn[0]); i++) {
                transport(&out, conn[i], "Connection refused");
                if (!CHECK_INT_EQ(out.kind, MOKA_OUTCOME_RETRY))
                        fprintf(stderr, "  for CURLcode %d\n", conn[i]);
                CHECK_CONTAINS(out.cause, "transport");
                CHECK_CONTAINS(out.cause, "Connection refused");
                CHECK(out.result_code == NULL);
                CHECK(out.data_json == NULL);
                moka_outcome_clear(&out);
        }

        /* without curl's message, curl's description of the code */
        transport(&out, CURLE_GOT_NOTHING, NULL);
        CHECK_INT_EQ(out.kind, MOKA_OUTCOME_RETRY);
        CHECK_CONTAINS(out.cause, curl_easy_strerror(CURLE_GOT_NOTHING));
        moka_outcome_clear(&out);
        transport(&out, CURLE_OPERATION_TIMEDOUT, "");
        CHECK_CONTAINS(out.cause, "timeout");
        CHECK_CONTAINS(out.cause,
                       curl_easy_strerror(CURLE_OPERATION_TIMEDOUT));
        moka_outcome_clear(&out);

        /* TLS verification: configuration/outage, not a retry budget */
        transport(&out, CURLE_PEER_FAILED_VERIFICATION,
                  "SSL certificate problem: self-signed certificate");
        CHECK_INT_EQ(out.kind, MOKA_OUTCOME_OUTAGE);
        CHECK_CONTAINS(out.cause, "self-signed certificate");
        CHECK(out.data_json == NULL);
        moka_outcome_clear(&out);

        /* a very long curl message is cut, not overflowed */
        char longmsg[1000];
        memset(longmsg, 'm', sizeof(longmsg) - 1);
        longmsg[sizeof(longmsg) - 1] = '\0';
        transport(&out, CURLE_RECV_ERROR, longmsg);
        CHECK(strlen(out.cause) < sizeof(out.cause));
        CHECK_CONTAINS(out.cause, "transport");
        moka_outcome_clear(&out);
}

/* A 2xx whose body is not a Moka envelope: a transient retry. */
static void check_malformed(const char *what, const char *body, size_t len)
{
        struct run r;
        classify(&r, 200, body, len, 0);
        if (!CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_RETRY) ||
            !CHECK_CONTAINS(r.out.cause, "malformed"))
                fprintf(stderr, "  for %s\n", what);
        CHECK(strncmp(r.out.cause, "malformed", 9) == 0);
        CHECK(r.out.result_code == NULL);
        CHECK(r.data == NULL);
        done(&r);
}

#define MALFORMED(what, lit) check_malformed((what), (lit), sizeof(lit) - 1)

static void test_malformed(void)
{
        MALFORMED("HTML", "<html><body>Service Unavailable</body></html>");
        MALFORMED("plain text", "Success");
        MALFORMED("empty body", "");
        MALFORMED("truncated object",
                  "{\"Data\":null,\"ResultCode\":\"Succ");
        MALFORMED("truncated after value",
                  "{\"Data\":null,\"ResultCode\":\"Success\"");
        MALFORMED("array", "[{\"ResultCode\":\"Success\"}]");
        MALFORMED("string", "\"Success\"");
        MALFORMED("number", "200");
        MALFORMED("null", "null");
        MALFORMED("no ResultCode", "{\"Data\":{},\"ResultMessage\":\"ok\"}");
        MALFORMED("ResultCode not a string",
                  "{\"Data\":{},\"ResultCode\":0}");
        MALFORMED("ResultCode null", "{\"Data\":{},\"ResultCode\":null}");
        MALFORMED("garbage after JSON",
                  "{\"Data\":{},\"ResultCode\":\"Success\"}garbage");
        MALFORMED("second object after JSON",
                  "{\"ResultCode\":\"Success\"} {\"ResultCode\":\"EX\"}");
        MALFORMED("garbage after whitespace",
                  "{\"ResultCode\":\"Success\"}\n\nx");
        /* a NUL byte is not JSON whitespace */
        MALFORMED("NUL after JSON", "{\"ResultCode\":\"Success\"}\0");
        MALFORMED("NUL inside the body",
                  "{\"ResultCode\":\"Success\"}\0{\"x\":1}");

        /* whitespace after the envelope is fine */
        struct run r;
        CLASSIFY(&r, 200,
                 "{\"Data\":{\"a\":1},\"ResultCode\":\"Success\"} \r\n\t\n");
        CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_SUCCESS);
        CHECK(r.data != NULL);
        done(&r);
        CLASSIFY(&r, 200, "\n  {\"ResultCode\":\"Success\"}");
        CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_SUCCESS);
        done(&r);
}

/* body_len is the truth: bytes after it are not the body. */
static void test_body_length(void)
{
        static const char buf[] =
                "{\"Data\":{\"a\":1},\"ResultCode\":\"Success\"}TRAILING";
        size_t json_len = strlen(buf) - strlen("TRAILING");
        struct moka_outcome out;
        struct moka_transport t = {.http_status = 200,
                                   .body = buf,
                                   .body_len = json_len};
        moka_classify(&t, &out);
        CHECK_INT_EQ(out.kind, MOKA_OUTCOME_SUCCESS);
        moka_outcome_clear(&out);

        /* the same buffer cut short is truncated JSON */
        t.body_len = json_len - 1;
        moka_classify(&t, &out);
        CHECK_INT_EQ(out.kind, MOKA_OUTCOME_RETRY);
        CHECK_CONTAINS(out.cause, "malformed");
        moka_outcome_clear(&out);

        /* a complete envelope, then NUL padding inside body_len */
        static const char nul[] = "{\"ResultCode\":\"Success\"}\0\0\0";
        t.body = nul;
        t.body_len = sizeof(nul) - 1;
        moka_classify(&t, &out);
        CHECK_INT_EQ(out.kind, MOKA_OUTCOME_RETRY);
        moka_outcome_clear(&out);
}

/* Data is handed on as Moka's own text: every byte but a redacted
 * Password value is kept (spacing, escapes, the exact text of numbers). */
static void test_data_text(void)
{
        struct run r;
        CLASSIFY(&r, 200,
                 "{\"ResultCode\":\"Success\",\"Data\": {\"n\": -0, \"big\":"
                 "123456789012345678901234567890,\"f\":1.50E+3,\"s\":"
                 "\"\\u00e7\\/\\\"\\n\\ud83d\\ude00\",\"u\":\"\xc3\xa7\"}  }");
        CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_SUCCESS);
        CHECK_STR_EQ(r.out.data_json,
                     "{\"n\": -0, \"big\":123456789012345678901234567890,"
                     "\"f\":1.50E+3,\"s\":\"\\u00e7\\/\\\"\\n\\ud83d\\ude00\","
                     "\"u\":\"\xc3\xa7\"}");
        json_object *s = NULL;
        if (CHECK(r.data && json_object_object_get_ex(r.data, "s", &s)))
                CHECK_STR_EQ(json_object_get_string(s),
                             "\xc3\xa7/\"\n\xf0\x9f\x98\x80");
        done(&r);

        /* Data of any type; null and absent are "no data" */
        CLASSIFY(&r, 200, "{\"ResultCode\":\"Success\",\"Data\":[1,{}]}");
        CHECK_STR_EQ(r.out.data_json, "[1,{}]");
        CHECK_INT_EQ(r.out.data_list_len, -1);
        done(&r);
        CLASSIFY(&r, 200, "{\"ResultCode\":\"Success\",\"Data\":\"x\"}");
        CHECK_STR_EQ(r.out.data_json, "\"x\"");
        done(&r);
        CLASSIFY(&r, 200, "{\"ResultCode\":\"Success\",\"Data\":0}");
        CHECK_STR_EQ(r.out.data_json, "0");
        done(&r);
        CLASSIFY(&r, 200, "{\"ResultCode\":\"Success\"}");
        CHECK(r.out.data_json == NULL);
        CHECK_UINT_EQ(r.out.data_len, 0);
        CHECK_INT_EQ(r.out.data_list_len, -1);
        done(&r);

        /* duplicate members: the last one counts, as json-c did */
        CLASSIFY(&r, 200,
                 "{\"ResultCode\":\"EX\",\"Data\":{\"a\":1},\"ResultMessage\":"
                 "\"first\",\"ResultCode\":\"Success\",\"Data\":{\"b\":2},"
                 "\"ResultMessage\":\"second\"}");
        CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_SUCCESS);
        CHECK_STR_EQ(r.out.data_json, "{\"b\":2}");
        CHECK_STR_EQ(r.out.result_message, "second");
        done(&r);
        CLASSIFY(&r, 200,
                 "{\"ResultCode\":\"Success\",\"Data\":{\"a\":1},"
                 "\"Data\":null}");
        CHECK(r.out.data_json == NULL);
        done(&r);

        /* member names compare decoded; escaped strings are decoded */
        CLASSIFY(&r, 200,
                 "{\"Result\\u0043ode\":\"\\u0053uccess\",\"D\\u0061ta\":"
                 "{\"k\":true},\"ResultMessage\":\"Ge\\u00e7ersiz \\\"x\\\"\"}");
        CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_SUCCESS);
        CHECK_STR_EQ(r.out.result_code, "Success");
        CHECK_STR_EQ(r.out.result_message, "Ge\xc3\xa7" "ersiz \"x\"");
        CHECK_STR_EQ(r.out.data_json, "{\"k\":true}");
        done(&r);
        /* names compare case-sensitively, as json-c's lookup did */
        CLASSIFY(&r, 200, "{\"resultcode\":\"Success\"}");
        CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_RETRY);
        done(&r);
}

static void test_sale_list_length(void)
{
        struct run r;
        CLASSIFY(&r, 200,
                 "{\"Data\":{\" DealerSaleListCount\":3,\"DealerSaleList\":"
                 "[{\"Amount\":1,\"L\":[1,2,[3,4]]},{\"s\":\"],[,\"},{}]},"
                 "\"ResultCode\":\"Success\"}");
        CHECK_INT_EQ(r.out.data_list_len, 3);
        done(&r);
        CLASSIFY(&r, 200,
                 "{\"Data\":{\"DealerSaleList\":[ ]},\"ResultCode\":"
                 "\"Success\"}");
        CHECK_INT_EQ(r.out.data_list_len, 0);
        done(&r);
        CLASSIFY(&r, 200,
                 "{\"Data\":{\"DealerSaleList\":{}},\"ResultCode\":"
                 "\"Success\"}");
        CHECK_INT_EQ(r.out.data_list_len, -1); /* not an array */
        done(&r);
        CLASSIFY(&r, 200,
                 "{\"Data\":{\"DealerSaleList\":[1],\"DealerSaleList\":"
                 "[1,2]},\"ResultCode\":\"Success\"}");
        CHECK_INT_EQ(r.out.data_list_len, 2); /* last one wins */
        done(&r);
        /* only the top level of Data counts */
        CLASSIFY(&r, 200,
                 "{\"Data\":{\"x\":{\"DealerSaleList\":[1]}},\"ResultCode\":"
                 "\"Success\"}");
        CHECK_INT_EQ(r.out.data_list_len, -1);
        done(&r);
        /* not on a business failure */
        CLASSIFY(&r, 200,
                 "{\"Data\":{\"DealerSaleList\":[1]},\"ResultCode\":\"X\"}");
        CHECK_INT_EQ(r.out.data_list_len, -1);
        done(&r);

        /* a big list: 50,000 sales, as test_sale_list.py asks for */
        size_t cap = 64 + 50000 * 40, n = 0;
        char *body = malloc(cap);
        n += (size_t)sprintf(body + n, "{\"Data\":{\"DealerSaleList\":[");
        for (int i = 0; i < 50000; i++)
                n += (size_t)sprintf(body + n,
                                     "%s{\"Id\":%d,\"Password\":\"p%d\"}",
                                     i ? "," : "", i, i);
        n += (size_t)sprintf(body + n, "]},\"ResultCode\":\"Success\"}");
        classify(&r, 200, body, n, 0);
        CHECK_INT_EQ(r.out.data_list_len, 50000);
        CHECK_NOT_CONTAINS(r.out.data_json, "\"p");
        json_object *list = NULL;
        CHECK(r.data &&
              json_object_object_get_ex(r.data, "DealerSaleList", &list) &&
              json_object_array_length(list) == 50000);
        done(&r);
        free(body);
}

/* The reference the scanner's redaction must agree with: json-c's tree
 * and the rule redact_password_fields() applied before this change. */
static void tree_redact(json_object *obj)
{
        if (json_object_is_type(obj, json_type_array)) {
                size_t n = json_object_array_length(obj);
                for (size_t i = 0; i < n; i++)
                        tree_redact(json_object_array_get_idx(obj, i));
                return;
        }
        if (!json_object_is_type(obj, json_type_object))
                return;
        json_object_object_foreach(obj, name, value)
        {
                if (strcasecmp(name, "Password") == 0) {
                        if (value && !json_object_is_type(value, json_type_null))
                                json_object_object_add(
                                        obj, name,
                                        json_object_new_string("***"));
                } else {
                        tree_redact(value);
                }
        }
}

static json_object *strict_parse(const char *s, size_t len)
{
        char *copy = malloc(len + 1);
        memcpy(copy, s, len);
        copy[len] = '\0';
        json_tokener *tok = json_tokener_new_ex(JSON_SCAN_MAX_DEPTH + 1);
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        json_object *o = json_tokener_parse_ex(tok, copy, (int)len + 1);
        if (json_tokener_get_error(tok) != json_tokener_success) {
                json_object_put(o);
                o = NULL;
        }
        json_tokener_free(tok);
        free(copy);
        return o;
}

/* Data as text, redacted by the scanner, read by json-c, equals Data read
 * by json-c and redacted as a tree. */
static void check_differential(const char *data)
{
        char *body = NULL;
        if (asprintf(&body, "{\"ResultCode\":\"Success\",\"Data\":%s}",
                     data) < 0)
                return;
        struct run r;
        classify(&r, 200, body, strlen(body), 0);
        json_object *want = strict_parse(data, strlen(data));
        if (want)
                tree_redact(want);
        /* json-c reads null as no object: Data null is no data */
        bool is_null = strcmp(data, "null") == 0;
        if (!CHECK(is_null ? !r.data && !want && !r.out.data_json
                           : r.data && want && json_object_equal(r.data, want)))
                fprintf(stderr, "  for Data %s\n  got %s\n  want %s\n", data,
                        r.out.data_json ? r.out.data_json : "(none)",
                        want ? json_object_to_json_string(want) : "(none)");
        json_object_put(want);
        done(&r);
        free(body);
}

static void test_redaction(void)
{
        struct run r;
        /* UpdateCustomer's echo */
        CLASSIFY(&r, 200,
                 "{\"Data\":{\"DealerCustomer\":{\"DealerCustomerId\":1,"
                 "\"CustomerCode\":\"C\",\"Password\":\"Elif1234\","
                 "\"FirstName\":\"Elif\"},\"CardListCount\":0,"
                 "\"CardList\":[]},\"ResultCode\":\"Success\"}");
        CHECK_STR_EQ(r.out.data_json,
                     "{\"DealerCustomer\":{\"DealerCustomerId\":1,"
                     "\"CustomerCode\":\"C\",\"Password\":\"***\","
                     "\"FirstName\":\"Elif\"},\"CardListCount\":0,"
                     "\"CardList\":[]}");
        done(&r);

        /* any depth, in arrays, any case, any non-null type, escaped
         * names; null, look-alikes and the text around are kept */
        CLASSIFY(&r, 200,
                 "{\"ResultCode\":\"Success\",\"Data\":{\"Password\":null,"
                 "\"password\" : \"a\",\"list\":[{\"PASSWORD\":\"b\"},"
                 "[{\"PassWord\":7}],\"Password\",{\"x\":{\"pAsSwOrD\":"
                 "{\"v\":\"c\"}}}],\"Pass\\u0077ord\":\"d\",\"\\u0050ASS"
                 "WORD\":[\"e\"],\"Pwd\":\"keep\",\"PasswordHint\":\"keep2\","
                 "\"nested\":{\"Password\":null,\"Password2\":\"k\"},"
                 "\"Password\":true,\"Password\":\"\"}}");
        CHECK_STR_EQ(r.out.data_json,
                     "{\"Password\":null,\"password\" : \"***\",\"list\":"
                     "[{\"PASSWORD\":\"***\"},[{\"PassWord\":\"***\"}],"
                     "\"Password\",{\"x\":{\"pAsSwOrD\":\"***\"}}],"
                     "\"Pass\\u0077ord\":\"***\",\"\\u0050ASSWORD\":\"***\","
                     "\"Pwd\":\"keep\",\"PasswordHint\":\"keep2\","
                     "\"nested\":{\"Password\":null,\"Password2\":\"k\"},"
                     "\"Password\":\"***\",\"Password\":\"***\"}");
        done(&r);

        /* a key is a C string to json-c: "Password\u0000x" is "Password"
         * to it, so it is redacted too */
        CLASSIFY(&r, 200,
                 "{\"ResultCode\":\"Success\",\"Data\":{\"Password\\u0000x\":"
                 "\"s\",\"Pass\\u0000word\":\"t\"}}");
        CHECK_STR_EQ(r.out.data_json,
                     "{\"Password\\u0000x\":\"***\",\"Pass\\u0000word\":"
                     "\"t\"}");
        done(&r);

        /* many short values grow the text: the buffer follows */
        char body[4096], want[4096];
        size_t n = (size_t)sprintf(body, "{\"ResultCode\":\"Success\","
                                         "\"Data\":[");
        size_t w = (size_t)sprintf(want, "[");
        for (int i = 0; i < 100; i++) {
                n += (size_t)sprintf(body + n, "%s{\"Password\":1}",
                                     i ? "," : "");
                w += (size_t)sprintf(want + w, "%s{\"Password\":\"***\"}",
                                     i ? "," : "");
        }
        sprintf(body + n, "]}");
        sprintf(want + w, "]");
        classify(&r, 200, body, strlen(body), 0);
        CHECK_STR_EQ(r.out.data_json, want);
        done(&r);

        static const char *const docs[] = {
                "{}",
                "[]",
                "null",
                "\"Password\"",
                "{\"Password\":\"x\"}",
                "{\"a\":{\"b\":{\"c\":[{\"password\":{\"deep\":[1,2]}}]}}}",
                "[[[[{\"Password\":[null]}]]]]",
                "{\"Password\":null,\"x\":{\"PASSWORD\":false}}",
                "{\"Pass\\u0077ord\":\"s\",\"P\\u0061ssword\":null}",
                "{\"Password\":\"a\",\"Password\":\"b\"}",
                "{\"Password\":\"a\",\"Password\":null}",
                "{\"Password\":null,\"Password\":\"a\"}",
                "{\"Password\\u0000tail\":\"s\"}",
                "{\"\\ud83d\\ude00\":\"\\ud800\",\"k\":\"\\udc00x\"}",
                "{\"n\":[-0,0.5,1e5,-1E-7,123456789012345678901234567890]}",
                "{\"s\":\"\\\"Password\\\":\\\"x\\\"\",\"t\":\"\\\\\"}",
                "{\"DealerSaleList\":[{\"Password\":\"1\",\"Amount\":2.5},"
                "{\"Nested\":{\"Password\":\"2\"}},{\"password\":3}]}",
                " { \"Password\" : \"spaced\" , \"b\" : [ 1 , 2 ] } ",
        };
        for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
                check_differential(docs[i]);
}

/* Stricter than json-c's default (non-strict) mode, on purpose: what
 * Moka sends is standard JSON. */
static void test_strict(void)
{
        MALFORMED("trailing comma", "{\"ResultCode\":\"Success\",}");
        MALFORMED("comment", "/* c */{\"ResultCode\":\"Success\"}");
        MALFORMED("single quotes", "{'ResultCode':'Success'}");
        MALFORMED("NaN in Data", "{\"ResultCode\":\"Success\",\"Data\":NaN}");
        MALFORMED("leading zero",
                  "{\"ResultCode\":\"Success\",\"Data\":01}");
        MALFORMED("control character in a string",
                  "{\"ResultCode\":\"Success\",\"Data\":\"a\tb\"}");
        MALFORMED("invalid UTF-8",
                  "{\"ResultCode\":\"Success\",\"Data\":\"\xff\"}");
        /* 64 levels are accepted (the envelope is the first), 65 not */
        for (int levels = 63; levels <= 64; levels++) {
                char deep[256];
                size_t n = (size_t)sprintf(deep, "{\"ResultCode\":"
                                                 "\"Success\",\"Data\":");
                for (int i = 0; i < levels; i++)
                        deep[n++] = '[';
                for (int i = 0; i < levels; i++)
                        deep[n++] = ']';
                deep[n++] = '}';
                struct run r;
                classify(&r, 200, deep, n, 0);
                if (levels == 63) {
                        CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_SUCCESS);
                        CHECK_UINT_EQ(r.out.data_len, 126);
                } else {
                        CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_RETRY);
                        CHECK_CONTAINS(r.out.cause, "malformed");
                }
                done(&r);
        }
}

static void test_clear(void)
{
        struct run r;
        CLASSIFY(&r, 200,
                 "{\"Data\":{\"a\":[1,2,3]},\"ResultCode\":\"Success\","
                 "\"ResultMessage\":\"fine\"}");
        CHECK(r.data != NULL);
        json_object_put(r.data);
        moka_outcome_clear(&r.out);
        struct moka_outcome zero;
        memset(&zero, 0, sizeof(zero));
        CHECK(memcmp(&r.out, &zero, sizeof(zero)) == 0);
        /* an already cleared one is accepted */
        moka_outcome_clear(&r.out);
        CHECK(memcmp(&r.out, &zero, sizeof(zero)) == 0);
        free(r.buf);

        /* clearing after a failure and a transport error */
        CLASSIFY(&r, 200, "{\"ResultCode\":\"X.Y.Z\",\"ResultMessage\":\"m\"}");
        moka_outcome_clear(&r.out);
        CHECK(memcmp(&r.out, &zero, sizeof(zero)) == 0);
        free(r.buf);

        CHECK_STR_EQ(moka_outcome_kind_name(MOKA_OUTCOME_SUCCESS), "success");
        CHECK_STR_EQ(moka_outcome_kind_name(MOKA_OUTCOME_BUSINESS),
                     "business");
        CHECK_STR_EQ(moka_outcome_kind_name(MOKA_OUTCOME_RETRY), "retry");
        CHECK_STR_EQ(moka_outcome_kind_name(MOKA_OUTCOME_OUTAGE), "outage");
}

int main(void)
{
        test_success();
        test_business();
        test_ex();
        test_http_status();
        test_transport();
        test_malformed();
        test_body_length();
        test_data_text();
        test_sale_list_length();
        test_redaction();
        test_strict();
        test_clear();
        CHECK_DONE();
}
