/* Unit tests of moka_classify (moka_response.c): every row of the
 * contract's "Outcome of a Moka call" table, envelope parsing of bodies
 * that are not NUL-terminated, and moka_outcome_clear.
 *
 * Each body is copied into a heap buffer of exactly its length (no NUL
 * after it), so a read past body_len shows up under valgrind and ASan. */
#include "moka_response.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "check.h"

struct run {
        struct moka_outcome out;
        char *buf;
        size_t len;
};

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
}

#define CLASSIFY(r, status, lit) classify((r), (status), (lit), \
                                          sizeof(lit) - 1, 0)

static void done(struct run *r)
{
        moka_outcome_clear(&r->out);
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
        CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_SUCCESS);
        CHECK_STR_EQ(r.out.result_code, "Success");
        CHECK_STR_EQ(r.out.result_message, "");
        CHECK_INT_EQ(r.out.retry_after_s, 0);
        if (CHECK(r.out.data != NULL)) {
                json_object *dc = NULL;
                CHECK(json_object_object_get_ex(r.out.data, "DealerCustomer",
                                                &dc));
                CHECK_STR_EQ(member_string(dc, "CustomerCode"), "C1");
                json_object *list = NULL;
                CHECK(json_object_object_get_ex(r.out.data, "CardList",
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
        if (CHECK(r.out.data != NULL)) {
                json_object *x = NULL;
                CHECK(json_object_object_get_ex(r.out.data, "x", &x));
                CHECK_INT_EQ(json_object_get_int(x), 1);
        }
        done(&r);

        CLASSIFY(&r, 200, "{\"Data\":null,\"ResultCode\":\"SUCCESS\"}");
        CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_SUCCESS);
        CHECK(r.out.data == NULL);
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
        CHECK(r.out.data &&
              json_object_object_get_ex(r.out.data, "DealerSaleList", &list) &&
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
        CHECK(r.out.data == NULL);
        done(&r);

        /* codes not in any table, and the seed's misspelt one */
        CLASSIFY(&r, 200,
                 "{\"Data\":null,\"ResultCode\":"
                 "\"DealerSale.GetSaleList.DealerSaleNotFund\","
                 "\"ResultMessage\":\"\",\"Exception\":null}");
        CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_BUSINESS);
        CHECK_STR_EQ(r.out.result_code,
                     "DealerSale.GetSaleList.DealerSaleNotFund");
        CHECK_STR_EQ(r.out.result_message, "");
        done(&r);

        /* a failure never carries Data, even if Moka sent some */
        CLASSIFY(&r, 200,
                 "{\"Data\":{\"DealerCustomer\":{\"Password\":\"pw\"}},"
                 "\"ResultCode\":\"DealerCustomer.UpdateCustomer."
                 "InvalidEmailFormat\",\"ResultMessage\":\"bad email\"}");
        CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_BUSINESS);
        CHECK(r.out.data == NULL);
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
        CHECK(r.out.data == NULL);
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
                CHECK(r.out.data == NULL);
                done(&r);
        }
        /* a 5xx with a Success envelope is still not a success */
        struct run r;
        CLASSIFY(&r, 503, "{\"Data\":{},\"ResultCode\":\"Success\"}");
        CHECK_INT_EQ(r.out.kind, MOKA_OUTCOME_RETRY);
        CHECK(r.out.data == NULL);
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
                CHECK(r.out.data == NULL);
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
        CHECK(out.data == NULL);
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
                CHECK(out.data == NULL);
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
        CHECK(out.data == NULL);
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
        CHECK(r.out.data == NULL);
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
        CHECK(r.out.data != NULL);
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

static void test_clear(void)
{
        struct run r;
        CLASSIFY(&r, 200,
                 "{\"Data\":{\"a\":[1,2,3]},\"ResultCode\":\"Success\","
                 "\"ResultMessage\":\"fine\"}");
        CHECK(r.out.data != NULL);
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
        test_clear();
        CHECK_DONE();
}
