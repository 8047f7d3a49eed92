/* Unit tests of event.c: validation of customer-update and sale-list values
 * (every rule of the contract, with a message naming the field and never
 * the customer's Password), and event_create on real consumed messages
 * from librdkafka's mock cluster (correlation id, ordering key, invalid
 * events, the customer password pointer). */
#include "event.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "check.h"
#include "test_kafka_mock.h"

/* Distinctive, so finding it in a message is unambiguous. */
#define PW "Zq7-Parola-Gizli"

static char err[512];

/* Validates exactly `len` bytes, from a heap copy without a trailing NUL
 * so that a read past the end shows up under valgrind and ASan. */
static int has_member(json_object *obj, const char *name);
static const char *member_string(json_object *obj, const char *name);

/* The normalized request of an accepted value, read back with json-c
 * (NULL when rejected); what the validation keeps besides the text must
 * agree with it. */
static json_object *validate_n(const char *text, size_t len)
{
        char *copy = malloc(len ? len : 1);
        memcpy(copy, text, len);
        memset(err, 0, sizeof(err));
        struct event_request req;
        json_object *r = NULL;
        if (event_validate_customer_update(copy, len, &req, err,
                                           sizeof(err)) == 0) {
                CHECK(req.json != NULL && strlen(req.json) == req.len);
                r = json_tokener_parse(req.json);
                if (!CHECK(json_object_is_type(r, json_type_object)))
                        fprintf(stderr, "  normalized: %s\n", req.json);
                CHECK((req.password != NULL) == has_member(r, "Password"));
                if (req.password)
                        CHECK_STR_EQ(req.password, member_string(r, "Password"));
                CHECK(req.has_id == has_member(r, "DealerCustomerId"));
                if (req.customer_code)
                        CHECK_MEM_EQ(req.customer_code, req.customer_code_len,
                                     member_string(r, "CustomerCode"),
                                     strlen(member_string(r, "CustomerCode")));
        } else {
                CHECK(req.json == NULL && req.password == NULL);
        }
        event_request_clear(&req);
        free(copy);
        return r;
}

static json_object *validate(const char *text)
{
        return validate_n(text, strlen(text));
}

static const char *member_string(json_object *obj, const char *name)
{
        json_object *v;
        if (!json_object_object_get_ex(obj, name, &v) ||
            !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

/* The member `name` is an integer (not a string) equal to `want`. */
static int member_int_is(json_object *obj, const char *name, int64_t want)
{
        json_object *v;
        return json_object_object_get_ex(obj, name, &v) &&
               json_object_is_type(v, json_type_int) &&
               json_object_get_int64(v) == want;
}

static int has_member(json_object *obj, const char *name)
{
        return json_object_object_get_ex(obj, name, NULL);
}

/* `text` is rejected; the message contains each of the needles (up to 2,
 * NULL for none) and never the Password value. */
static void reject_n(const char *what, const char *text, size_t len,
                     const char *needle1, const char *needle2)
{
        json_object *r = validate_n(text, len);
        int ok = CHECK(r == NULL);
        ok &= CHECK(err[0] != '\0');
        if (needle1)
                ok &= CHECK_CONTAINS(err, needle1);
        if (needle2)
                ok &= CHECK_CONTAINS(err, needle2);
        ok &= CHECK_NOT_CONTAINS(err, PW);
        if (!ok)
                fprintf(stderr, "  for %s\n", what);
        json_object_put(r);
}

#define REJECT(what, text, n1, n2)                                            \
        reject_n((what), (text), strlen(text), (n1), (n2))

/* `unit` repeated `count` times, malloc'd. */
static char *repeat(const char *unit, size_t count)
{
        size_t ulen = strlen(unit);
        char *s = malloc(ulen * count + 1);
        for (size_t i = 0; i < count; i++)
                memcpy(s + i * ulen, unit, ulen);
        s[ulen * count] = '\0';
        return s;
}

/* {"<name>":"<unit x count>"}, malloc'd */
static char *string_field(const char *name, const char *unit, size_t count)
{
        char *v = repeat(unit, count);
        char *s = malloc(strlen(name) + strlen(v) + 8);
        sprintf(s, "{\"%s\":\"%s\"}", name, v);
        free(v);
        return s;
}

static void test_seed_sample(void)
{
        /* the DealerCustomerRequest of Moka's own UpdateCustomer sample */
        const char *seed = "{\n"
                           "\t\"DealerCustomerId\": \"\",\n"
                           "\t\"CustomerCode\": \"Customer\",\n"
                           "\t\"Password\": \"Elif1234\",\n"
                           "\t\"FirstName\": \"Elif\",\n"
                           "\t\"LastName\": \"Y\",\n"
                           "\t\"Gender\": \"2\",\n"
                           "\t\"BirthDate\": \"19850710\",\n"
                           "\t\"GsmNumber\": \"5301111111\",\n"
                           "\t\"Email\": \"elif.y@moka.com\"\n"
                           "}";
        json_object *r = validate(seed);
        if (!CHECK(r != NULL)) {
                fprintf(stderr, "  error: %s\n", err);
                return;
        }
        CHECK(json_object_is_type(r, json_type_object));
        /* "DealerCustomerId": "" is dropped, the 8 others kept */
        CHECK_INT_EQ(json_object_object_length(r), 8);
        CHECK(!has_member(r, "DealerCustomerId"));
        CHECK(member_int_is(r, "Gender", 2));
        CHECK_STR_EQ(member_string(r, "CustomerCode"), "Customer");
        CHECK_STR_EQ(member_string(r, "Password"), "Elif1234");
        CHECK_STR_EQ(member_string(r, "FirstName"), "Elif");
        CHECK_STR_EQ(member_string(r, "LastName"), "Y");
        CHECK_STR_EQ(member_string(r, "BirthDate"), "19850710");
        CHECK_STR_EQ(member_string(r, "GsmNumber"), "5301111111");
        CHECK_STR_EQ(member_string(r, "Email"), "elif.y@moka.com");
        json_object_put(r);
}

static void test_normalization(void)
{
        json_object *r;

        /* numbers as numbers or numeric strings, both become integers */
        r = validate("{\"DealerCustomerId\":\"12345\",\"Gender\":1}");
        if (CHECK(r != NULL)) {
                CHECK(member_int_is(r, "DealerCustomerId", 12345));
                CHECK(member_int_is(r, "Gender", 1));
        }
        json_object_put(r);
        r = validate("{\"DealerCustomerId\":12345,\"Gender\":\"1\"}");
        if (CHECK(r != NULL)) {
                CHECK(member_int_is(r, "DealerCustomerId", 12345));
                CHECK(member_int_is(r, "Gender", 1));
        }
        json_object_put(r);
        r = validate("{\"DealerCustomerId\":\"9007199254740993\"}");
        CHECK(r && member_int_is(r, "DealerCustomerId", 9007199254740993LL));
        json_object_put(r);

        /* null and "" integers are unset, as SDKs and Moka's samples send */
        r = validate("{\"CustomerCode\":\"C\",\"DealerCustomerId\":null,"
                     "\"Gender\":\"\"}");
        if (CHECK(r != NULL)) {
                CHECK_INT_EQ(json_object_object_length(r), 1);
                CHECK(!has_member(r, "DealerCustomerId"));
                CHECK(!has_member(r, "Gender"));
        }
        json_object_put(r);
        /* null strings too */
        r = validate("{\"CustomerCode\":\"C\",\"Password\":null,"
                     "\"Email\":null}");
        if (CHECK(r != NULL)) {
                CHECK(!has_member(r, "Password"));
                CHECK(!has_member(r, "Email"));
                CHECK_STR_EQ(member_string(r, "CustomerCode"), "C");
        }
        json_object_put(r);

        /* the empty object is a valid (if useless) request */
        r = validate("{}");
        CHECK(r && json_object_object_length(r) == 0);
        json_object_put(r);

        /* whitespace around the value is fine */
        r = validate(" \r\n\t{\"CustomerCode\":\"C\"}\n\n ");
        if (!CHECK(r != NULL))
                fprintf(stderr, "  error: %s\n", err);
        json_object_put(r);

        /* the value's length is the truth: bytes after it are not read */
        static const char buf[] = "{\"CustomerCode\":\"C\"}GARBAGE";
        r = validate_n(buf, strlen(buf) - strlen("GARBAGE"));
        CHECK(r != NULL);
        json_object_put(r);

        /* every field at once, at its limits */
        char *all = malloc(2000);
        char *p = all;
        p += sprintf(p, "{\"DealerCustomerId\":1,\"CustomerCode\":\"");
        memset(p, 'c', 100), p += 100;
        p += sprintf(p, "\",\"Password\":\"");
        memset(p, 'p', 50), p += 50;
        p += sprintf(p, "\",\"FirstName\":\"");
        memset(p, 'f', 50), p += 50;
        p += sprintf(p, "\",\"LastName\":\"");
        memset(p, 'l', 50), p += 50;
        p += sprintf(p, "\",\"Gender\":2,\"BirthDate\":\"20000229\","
                        "\"GsmNumber\":\"");
        memset(p, '5', 20), p += 20;
        p += sprintf(p, "\",\"Email\":\"");
        memset(p, 'e', 100), p += 100;
        p += sprintf(p, "\",\"Address\":\"");
        memset(p, 'a', 200), p += 200;
        sprintf(p, "\"}");
        r = validate(all);
        if (!CHECK(r && json_object_object_length(r) == 10))
                fprintf(stderr, "  error: %s\n", err);
        json_object_put(r);
        free(all);
}

static void test_not_an_object(void)
{
        reject_n("empty value", "", 0, "empty", NULL);
        memset(err, 0, sizeof(err));
        struct event_request req;
        CHECK(event_validate_customer_update(NULL, 0, &req, err, sizeof(err)) ==
              -1);
        CHECK_CONTAINS(err, "empty");

        REJECT("not JSON", "hello", "JSON", NULL);
        REJECT("not JSON: XML", "<Customer/>", "JSON", NULL);
        REJECT("truncated JSON", "{\"CustomerCode\":\"C\"", "JSON", NULL);
        REJECT("trailing garbage", "{\"CustomerCode\":\"C\"}x", "JSON",
               NULL);
        REJECT("two objects", "{\"CustomerCode\":\"C\"} {}", "JSON", NULL);
        reject_n("NUL after the object", "{\"CustomerCode\":\"C\"}\0", 21,
                 "JSON", NULL);
        REJECT("JSON array", "[{\"CustomerCode\":\"C\"}]",
               "expected a JSON object", NULL);
        REJECT("JSON string", "\"C\"", "expected a JSON object", NULL);
        REJECT("JSON null", "null", "expected a JSON object", NULL);
        REJECT("JSON true", "true", "expected a JSON object", NULL);
        REJECT("JSON number with a space", "42 ", "expected a JSON object",
               NULL);
        /* a bare number is valid JSON, just not an object */
        REJECT("JSON number", "42", "expected a JSON object", NULL);

        /* a tiny error buffer is filled, not overflowed */
        char small[8];
        memset(small, 'Z', sizeof(small));
        CHECK(event_validate_customer_update("[1]", 3, &req, small,
                                             sizeof(small)) == -1);
        CHECK(memchr(small, '\0', sizeof(small)) != NULL);
}

static void test_fields(void)
{
        /* unknown fields are named */
        REJECT("unknown field",
               "{\"CustomerCode\":\"C\",\"Password\":\"" PW
               "\",\"Nickname\":\"x\"}",
               "Nickname", "unknown");
        REJECT("misspelt field", "{\"Customercode\":\"C\"}", "Customercode",
               NULL);
        REJECT("the auth block is not a field",
               "{\"DealerCustomerAuthentication\":{}}",
               "DealerCustomerAuthentication", NULL);

        /* wrong types */
        REJECT("FirstName 5", "{\"FirstName\":5}", "FirstName", NULL);
        REJECT("FirstName object", "{\"FirstName\":{}}", "FirstName", NULL);
        REJECT("Gender \"x\"", "{\"Gender\":\"x\"}", "Gender", NULL);
        REJECT("Gender \"2x\"", "{\"Gender\":\"2x\"}", "Gender", NULL);
        REJECT("Gender \" 2\"", "{\"Gender\":\" 2\"}", "Gender", NULL);
        REJECT("Gender true", "{\"Gender\":true}", "Gender", NULL);
        REJECT("Gender array", "{\"Gender\":[2]}", "Gender", NULL);
        REJECT("DealerCustomerId 1.5", "{\"DealerCustomerId\":1.5}",
               "DealerCustomerId", NULL);
        REJECT("DealerCustomerId \"1.5\"", "{\"DealerCustomerId\":\"1.5\"}",
               "DealerCustomerId", NULL);
        REJECT("CustomerCode number", "{\"CustomerCode\":123}",
               "CustomerCode", NULL);
        REJECT("Password number", "{\"Password\":987654321}", "Password",
               NULL);
        REJECT("Password object", "{\"Password\":{\"v\":\"" PW "\"}}",
               "Password", NULL);

        /* out of range */
        REJECT("Gender 3", "{\"Gender\":3}", "Gender", NULL);
        REJECT("Gender \"3\"", "{\"Gender\":\"3\"}", "Gender", NULL);
        REJECT("DealerCustomerId -1", "{\"DealerCustomerId\":-1}",
               "DealerCustomerId", NULL);
        REJECT("DealerCustomerId too large for a string",
               "{\"DealerCustomerId\":\"99999999999999999999\"}",
               "DealerCustomerId", NULL);
        /* json-c saturates integers beyond int64 at INT64_MAX: accepting
         * them would send Moka another customer's id */
        REJECT("DealerCustomerId too large",
               "{\"DealerCustomerId\":18446744073709551615}",
               "DealerCustomerId", NULL);

        /* dates */
        json_object *r = validate("{\"BirthDate\":\"19850710\"}");
        CHECK(r != NULL);
        json_object_put(r);
        r = validate("{\"BirthDate\":\"\"}");
        CHECK(r != NULL);
        json_object_put(r);
        REJECT("BirthDate ISO", "{\"BirthDate\":\"1985-07-10\"}",
               "BirthDate", NULL);
        REJECT("BirthDate 7 digits", "{\"BirthDate\":\"1985071\"}",
               "BirthDate", NULL);
        REJECT("BirthDate letters", "{\"BirthDate\":\"1985O710\"}",
               "BirthDate", NULL);
        REJECT("BirthDate month 13", "{\"BirthDate\":\"19851310\"}",
               "BirthDate", NULL);
        REJECT("BirthDate day 00", "{\"BirthDate\":\"19850700\"}",
               "BirthDate", NULL);
        REJECT("BirthDate day 32", "{\"BirthDate\":\"19850732\"}",
               "BirthDate", NULL);
        REJECT("BirthDate number", "{\"BirthDate\":19850710}", "BirthDate",
               NULL);
}

/* A string field of `count` units is accepted up to `max`, rejected with
 * the field named beyond it. */
static void check_length(const char *name, const char *unit, size_t max)
{
        char *ok = string_field(name, unit, max);
        char *want = repeat(unit, max);
        json_object *r = validate(ok);
        if (!CHECK(r != NULL))
                fprintf(stderr, "  for %s of %zu: %s\n", name, max, err);
        CHECK_STR_EQ(member_string(r, name), want);
        json_object_put(r);
        free(want);
        free(ok);

        char *bad = string_field(name, unit, max + 1);
        reject_n(name, bad, strlen(bad), name, NULL);
        free(bad);
}

static void test_lengths(void)
{
        check_length("CustomerCode", "c", 100);
        check_length("Email", "e", 100);
        check_length("Address", "a", 200);
        check_length("FirstName", "f", 50);
        check_length("LastName", "l", 50);
        check_length("GsmNumber", "5", 20);
        check_length("Password", "p", 50);

        /* characters, not bytes: "ş" is 2 bytes, "😀" is 4 */
        check_length("FirstName", "\xc5\x9f", 50);
        check_length("Address", "\xc5\x9f", 200);
        check_length("LastName", "\xf0\x9f\x98\x80", 50);
        /* and escaped in JSON: \u015f is one character too */
        char *esc = string_field("FirstName", "\\u015f", 50);
        json_object *r = validate(esc);
        CHECK(r != NULL);
        json_object_put(r);
        free(esc);

        /* the Password value never shows in the message */
        char *pw = malloc(200);
        sprintf(pw, "{\"Password\":\"%s%s%s%s\"}", PW, PW, PW, PW);
        REJECT("Password of 64 characters", pw, "Password", NULL);
        sprintf(pw, "{\"Password\":\"%s\",\"Gender\":7}", PW);
        REJECT("Password with a bad Gender", pw, "Gender", NULL);
        sprintf(pw, "{\"Password\":\"%s\",\"Nick\":1}", PW);
        REJECT("Password and an unknown field", pw, "Nick", NULL);
        sprintf(pw, "{\"Password\":\"%s", PW);
        REJECT("Password in truncated JSON", pw, "JSON", NULL);
        sprintf(pw, "{\"Password\":\"%s\"}trailing", PW);
        REJECT("Password and trailing data", pw, "JSON", NULL);
        free(pw);
}

/* The normalized text of an accepted value ("" when rejected). */
static void check_normalized_text(const char *what, const char *text,
                                  const char *want)
{
        struct event_request req;
        memset(err, 0, sizeof(err));
        int rc = event_validate_customer_update(text, strlen(text), &req, err,
                                                sizeof(err));
        if (!CHECK(rc == 0) ||
            !CHECK_MEM_EQ(req.json, req.len, want, strlen(want)))
                fprintf(stderr, "  for %s (error: %s)\n", what, err);
        event_request_clear(&req);
}

static void test_normalized_text(void)
{
        /* known fields only, in the order they first appear, a repeated
         * member's last value, unset ones dropped, numbers as integers */
        check_normalized_text("order and repeats",
                              "{\"FirstName\":\"x\",\"CustomerCode\":\"A\","
                              "\"Gender\":\"\",\"CustomerCode\":\"B\","
                              "\"DealerCustomerId\":\"007\"}",
                              "{\"FirstName\":\"x\",\"CustomerCode\":\"B\","
                              "\"DealerCustomerId\":7}");
        check_normalized_text("a repeat that unsets",
                              "{\"Gender\":1,\"Gender\":null,\"Email\":\"\"}",
                              "{\"Email\":\"\"}");
        check_normalized_text("empty", " {  } ", "{}");
        /* strings decoded, then escaped as json-c wrote them: Moka gets
         * the bytes it got before the scanner */
        check_normalized_text("escapes",
                              "{\"FirstName\":\"a\\u00e7\\/\\\"\\n\\u0001\\t\x7f\"}",
                              "{\"FirstName\":\"a\xc3\xa7/\\\"\\n\\u0001\\t\x7f\"}");
        check_normalized_text("a surrogate pair and a lone one",
                              "{\"LastName\":\"\\ud83d\\ude00\\ud83d\"}",
                              "{\"LastName\":\"\xf0\x9f\x98\x80\xef\xbf\xbd\"}");
        /* a member name with U+0000 is no field's name (Moka reads the
         * whole name), and is shown whole */
        REJECT("name with U+0000", "{\"Email\\u0000x\":\"e\"}",
               "\"Email?x\": unknown field", NULL);

        /* the first problem in the order of first appearance is reported */
        REJECT("bad field before an unknown one",
               "{\"Gender\":3,\"Nick\":1}", "Gender", NULL);
        REJECT("unknown field before a bad one",
               "{\"Nick\":1,\"Gender\":3}", "Nick", NULL);
        REJECT("the last value of a repeated field counts",
               "{\"Gender\":1,\"Nick\":1,\"Gender\":9}", "Gender", NULL);

        /* strict JSON: what json-c let through is not valid JSON here */
        REJECT("invalid UTF-8", "{\"FirstName\":\"\xff\"}", "not valid JSON",
               NULL);
        REJECT("raw control character", "{\"FirstName\":\"a\x01\"}",
               "not valid JSON", NULL);
        REJECT("leading zero", "{\"Gender\":01}", "not valid JSON", NULL);
        REJECT("single quotes", "{'Gender':1}", "not valid JSON", NULL);
        REJECT("NaN", "{\"Gender\":NaN}", "not valid JSON", NULL);
        REJECT("truncated", "{\"Gender\":1", "unexpected end", NULL);
        /* decimal numbers are not integers, even when whole */
        REJECT("Gender 2.0", "{\"Gender\":2.0}", "decimal number", NULL);
        REJECT("Gender 1e0", "{\"Gender\":1e0}", "decimal number", NULL);
        REJECT("Gender -1", "{\"Gender\":-1}", "between 1 and 2", NULL);
        REJECT("DealerCustomerId below int64",
               "{\"DealerCustomerId\":-99999999999999999999}",
               "got -9223372036854775808", NULL);
}

static void test_sale_list(void)
{
        memset(err, 0, sizeof(err));
        CHECK_INT_EQ(event_validate_sale_list(NULL, 0, err, sizeof(err)), 0);
        CHECK_INT_EQ(event_validate_sale_list("", 0, err, sizeof(err)), 0);
        CHECK_INT_EQ(event_validate_sale_list("{}", 2, err, sizeof(err)), 0);
        CHECK_INT_EQ(event_validate_sale_list(" { }\n", 5, err, sizeof(err)),
                     0);
        /* the length is the truth */
        CHECK_INT_EQ(event_validate_sale_list("{}xyz", 2, err, sizeof(err)),
                     0);

        memset(err, 0, sizeof(err));
        CHECK_INT_EQ(event_validate_sale_list("[]", 2, err, sizeof(err)), -1);
        CHECK_CONTAINS(err, "expected a JSON object");
        memset(err, 0, sizeof(err));
        CHECK_INT_EQ(event_validate_sale_list("{\"x\":1}", 7, err,
                                              sizeof(err)),
                     -1);
        CHECK_CONTAINS(err, "\"x\"");
        CHECK_CONTAINS(err, "unknown");
        memset(err, 0, sizeof(err));
        CHECK_INT_EQ(event_validate_sale_list("not json", 8, err,
                                              sizeof(err)),
                     -1);
        CHECK_CONTAINS(err, "JSON");
        memset(err, 0, sizeof(err));
        CHECK_INT_EQ(event_validate_sale_list("{}x", 3, err, sizeof(err)),
                     -1);
        CHECK_CONTAINS(err, "JSON");
        memset(err, 0, sizeof(err));
        CHECK_INT_EQ(event_validate_sale_list("{", 1, err, sizeof(err)), -1);
        CHECK_CONTAINS(err, "JSON");
        memset(err, 0, sizeof(err));
        CHECK_INT_EQ(event_validate_sale_list("\"{}\"", 4, err, sizeof(err)),
                     -1);
        CHECK_CONTAINS(err, "expected a JSON object");
}

/* ---- inputs Moka accepts in several forms, and what it cannot take ------- */

/* A \u0000 escape in any field is refused naming the field: the bridge
 * reads values as C strings after validation (lengths, the kept Password
 * that redaction masks, numbers), which would stop at it. */
static void test_nul_in_strings(void)
{
        static const char *const fields[] = {
                "CustomerCode", "Password", "FirstName", "LastName",
                "BirthDate",    "GsmNumber", "Email",    "Address",
        };
        char buf[256];
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
                snprintf(buf, sizeof(buf), "{\"%s\":\"1\\u0000\"}", fields[i]);
                REJECT(fields[i], buf, fields[i], "U+0000");
                snprintf(buf, sizeof(buf), "{\"%s\":\"\\u0000\"}", fields[i]);
                REJECT(fields[i], buf, fields[i], "U+0000");
        }
        /* numeric strings: "1\u0000x" is not 1 */
        REJECT("Gender \"1\\u0000x\"", "{\"Gender\":\"1\\u0000x\"}", "Gender",
               "U+0000");
        REJECT("DealerCustomerId \"5\\u0000\"",
               "{\"DealerCustomerId\":\"5\\u0000\"}", "DealerCustomerId",
               "U+0000");

        /* "a\u0000" and 2 KB after it: not 1 character under the limit */
        char *big = malloc(4096);
        int n = sprintf(big, "{\"FirstName\":\"a\\u0000");
        memset(big + n, 'x', 2048);
        strcpy(big + n + 2048, "\"}");
        REJECT("U+0000 before 2 KB", big, "FirstName", "U+0000");
        free(big);

        /* the password past its U+0000 is never kept, sent or shown */
        REJECT("Password with U+0000",
               "{\"CustomerCode\":\"C\",\"Password\":\"ab\\u0000" PW "\"}",
               "Password", "U+0000");
        REJECT("Password with U+0000 first",
               "{\"Password\":\"" PW "\\u0000\"}", "Password", NULL);

        /* lengths count the decoded characters: 50 escaped ones pass, 51
         * do not */
        char *esc = string_field("LastName", "\\u00e7", 51);
        REJECT("51 escaped characters", esc, "LastName", "(51)");
        free(esc);
}

static void test_birth_dates(void)
{
        static const char *const good[] = {
                "20240229", "20000229", "19000101", "19001231",
                "21001231", "20231231", "20230131", "20230430",
        };
        static const char *const bad[] = {
                "20230231", "20230229", "19000229", "21000229", "18991231",
                "21010101", "00000101", "20230431", "20230631", "20230931",
                "20231131", "20230132", "20230001", "20231301", "20230100",
        };
        char buf[64], want[64];
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                snprintf(buf, sizeof(buf), "{\"BirthDate\":\"%s\"}", good[i]);
                check_normalized_text(good[i], buf, buf);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                snprintf(buf, sizeof(buf), "{\"BirthDate\":\"%s\"}", bad[i]);
                REJECT(bad[i], buf, "BirthDate", "calendar date");
        }
        snprintf(want, sizeof(want), "{\"BirthDate\":\"\"}");
        check_normalized_text("empty BirthDate", want, want);
}

static void test_gsm_number(void)
{
        check_normalized_text("GsmNumber as a number",
                              "{\"CustomerCode\":\"C\",\"GsmNumber\":5551234567}",
                              "{\"CustomerCode\":\"C\",\"GsmNumber\":"
                              "\"5551234567\"}");
        check_normalized_text("GsmNumber as a string",
                              "{\"GsmNumber\":\"5551234567\"}",
                              "{\"GsmNumber\":\"5551234567\"}");
        check_normalized_text("GsmNumber 0", "{\"GsmNumber\":0}",
                              "{\"GsmNumber\":\"0\"}");
        check_normalized_text("GsmNumber of 20 digits",
                              "{\"GsmNumber\":12345678901234567890}",
                              "{\"GsmNumber\":\"12345678901234567890\"}");
        REJECT("GsmNumber of 21 digits",
               "{\"GsmNumber\":123456789012345678901}", "GsmNumber",
               "longer than 20");
        REJECT("GsmNumber negative", "{\"GsmNumber\":-5551234567}",
               "GsmNumber", "negative");
        REJECT("GsmNumber -0", "{\"GsmNumber\":-0}", "GsmNumber", "negative");
        REJECT("GsmNumber fractional", "{\"GsmNumber\":5551234567.5}",
               "GsmNumber", "decimal");
        REJECT("GsmNumber exponent", "{\"GsmNumber\":5.551234567e9}",
               "GsmNumber", "decimal");
        REJECT("GsmNumber 5e9", "{\"GsmNumber\":5e9}", "GsmNumber",
               "decimal");
        REJECT("GsmNumber true", "{\"GsmNumber\":true}", "GsmNumber",
               "a boolean");
        REJECT("GsmNumber array", "{\"GsmNumber\":[5]}", "GsmNumber", NULL);
        /* the other strings still take no numbers */
        REJECT("Email number", "{\"Email\":5}", "Email", "expected a string");
}

/* 0 is "not given" for Gender and DealerCustomerId (.NET SDKs), in every
 * form, and never becomes an ordering key (test_event_create) */
static void test_zero_is_unset(void)
{
        check_normalized_text("zeros as numbers",
                              "{\"DealerCustomerId\":0,\"CustomerCode\":\"C\","
                              "\"Gender\":0}",
                              "{\"CustomerCode\":\"C\"}");
        check_normalized_text("zeros as strings",
                              "{\"DealerCustomerId\":\"0\",\"Gender\":\"0\","
                              "\"FirstName\":\"F\"}",
                              "{\"FirstName\":\"F\"}");
        check_normalized_text("Moka's sample forms",
                              "{\"DealerCustomerId\":\"\",\"Gender\":\"2\","
                              "\"CustomerCode\":\"C\"}",
                              "{\"Gender\":2,\"CustomerCode\":\"C\"}");
        check_normalized_text("SDK nulls",
                              "{\"DealerCustomerId\":null,\"CustomerCode\":"
                              "\"C\",\"Password\":null,\"FirstName\":null,"
                              "\"LastName\":null,\"Gender\":null,"
                              "\"BirthDate\":null,\"GsmNumber\":null,"
                              "\"Email\":null,\"Address\":null}",
                              "{\"CustomerCode\":\"C\"}");
        check_normalized_text("only a zero id: names no customer",
                              "{\"DealerCustomerId\":0}", "{}");
        check_normalized_text("a zero after a real id unsets it",
                              "{\"DealerCustomerId\":5,\"DealerCustomerId\":0}",
                              "{}");
        struct event_request req;
        CHECK(event_validate_customer_update("{\"DealerCustomerId\":0}", 22,
                                             &req, err, sizeof(err)) == 0);
        CHECK(!req.has_id);
        event_request_clear(&req);
        REJECT("Gender 3", "{\"Gender\":3}", "Gender", "between 1 and 2");
        REJECT("DealerCustomerId -1", "{\"DealerCustomerId\":-1}",
               "DealerCustomerId", NULL);
}

static void test_wrong_case(void)
{
        REJECT("customerCode", "{\"customerCode\":\"C\"}",
               "field \"customerCode\": unknown field (Moka's name is "
               "\"CustomerCode\")",
               NULL);
        REJECT("CUSTOMERCODE", "{\"CUSTOMERCODE\":\"C\"}", "\"CUSTOMERCODE\"",
               "Moka's name is \"CustomerCode\"");
        REJECT("dealerCustomerId", "{\"dealerCustomerId\":5}",
               "\"dealerCustomerId\"", "Moka's name is \"DealerCustomerId\"");
        REJECT("gsmnumber", "{\"CustomerCode\":\"C\",\"gsmnumber\":\"5\"}",
               "\"gsmnumber\"", "Moka's name is \"GsmNumber\"");
        REJECT("password", "{\"password\":\"" PW "\"}", "\"password\"",
               "Moka's name is \"Password\"");
        REJECT("escaped lower case",
               "{\"\\u0065mail\":\"e\"}", "\"email\"",
               "Moka's name is \"Email\"");
        /* truly unknown names get no suggestion */
        REJECT("CustomerCodes", "{\"CustomerCodes\":\"C\"}",
               "\"CustomerCodes\": unknown field", NULL);
        json_object *r = validate("{\"Nickname\":\"x\"}");
        CHECK(r == NULL);
        CHECK_NOT_CONTAINS(err, "Moka's name");
        /* a name with U+0000 is not a case variant either */
        REJECT("customercode with U+0000",
               "{\"customercode\\u0000\":\"C\"}", "unknown field", NULL);
        CHECK_NOT_CONTAINS(err, "Moka's name");
}

static void test_sale_list_request_member(void)
{
        static const char *const good[] = {
                "{\"DealerSaleRequest\":null}",
                "{\"DealerSaleRequest\":{}}",
                " { \"DealerSaleRequest\" : { } } ",
                "{\"DealerSaleRequest\":null,\"DealerSaleRequest\":{}}",
                /* a repeated member's last value counts */
                "{\"DealerSaleRequest\":{\"x\":1},\"DealerSaleRequest\":null}",
        };
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                memset(err, 0, sizeof(err));
                if (!CHECK_INT_EQ(event_validate_sale_list(
                                          good[i], strlen(good[i]), err,
                                          sizeof(err)),
                                  0))
                        fprintf(stderr, "  for %s: %s\n", good[i], err);
        }
        static const struct {
                const char *value, *needle1, *needle2;
        } bad[] = {
                {"{\"DealerSaleRequest\":{\"x\":1}}", "\"DealerSaleRequest\"",
                 "empty object"},
                {"{\"DealerSaleRequest\":[]}", "\"DealerSaleRequest\"",
                 "an array"},
                {"{\"DealerSaleRequest\":\"\"}", "\"DealerSaleRequest\"",
                 "a string"},
                {"{\"DealerSaleRequest\":0}", "\"DealerSaleRequest\"",
                 "an integer"},
                {"{\"dealerSaleRequest\":null}", "\"dealerSaleRequest\"",
                 "Moka's name is \"DealerSaleRequest\""},
                {"{\"DealerSaleRequest\\u0000\":null}", "unknown field",
                 NULL},
                {"{\"DealerSaleRequest\":null,\"x\":1}", "\"x\"",
                 "unknown field"},
                {"{\"DealerSaleRequest\":null,\"DealerSaleRequest\":[1]}",
                 "\"DealerSaleRequest\"", "an array"},
                /* the first problem in the order of first appearance */
                {"{\"DealerSaleRequest\":1,\"x\":1}", "\"DealerSaleRequest\"",
                 "an integer"},
                {"{\"x\":1,\"DealerSaleRequest\":1}", "\"x\"",
                 "unknown field"},
                {"{\"DealerSaleAuthentication\":{}}",
                 "\"DealerSaleAuthentication\"", "unknown field"},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                memset(err, 0, sizeof(err));
                int ok = CHECK_INT_EQ(event_validate_sale_list(
                                              bad[i].value,
                                              strlen(bad[i].value), err,
                                              sizeof(err)),
                                      -1);
                ok &= CHECK_CONTAINS(err, bad[i].needle1);
                if (bad[i].needle2)
                        ok &= CHECK_CONTAINS(err, bad[i].needle2);
                if (!ok)
                        fprintf(stderr, "  for %s\n", bad[i].value);
        }
}

/* ---- event_create on consumed messages ---------------------------------- */

#define TOPIC "moka.customer.update"

enum {
        R_KEYED,         /* p0/0: key, correlation-id header */
        R_CODE,          /* p0/1: no key, CustomerCode, Password */
        R_ID,            /* p0/2: empty key, DealerCustomerId only */
        R_NONE,          /* p0/3: no key, no id */
        R_NOT_JSON,      /* p0/4: no key, not JSON */
        R_BAD_KEYED,     /* p1/0: key, Gender 3, a Password */
        R_EMPTY_CODE,    /* p1/1: CustomerCode "", DealerCustomerId 5 */
        R_TOO_BIG,       /* p1/2: over max_event_bytes */
        R_SALE_EMPTY,    /* p1/3: sale list, empty value */
        R_SALE_BAD,      /* p1/4: sale list, [] */
        R_SALE_KEYED,    /* p1/5: sale list, {} with key */
        R_ZERO_ID,       /* p0/5: no key, DealerCustomerId 0 only */
        R_ZERO_ID_CODE,  /* p0/6: no key, DealerCustomerId 0, CustomerCode */
        R_NUL_PW,        /* p0/7: no key, a Password with U+0000 */
        R_CNT
};

static void test_event_create(void)
{
        static const char v_keyed[] = "{\"CustomerCode\":\"C1\"}";
        static const char v_code[] =
                "{\"CustomerCode\":\"C2\",\"Password\":\"" PW "\"}";
        static const char v_id[] = "{\"DealerCustomerId\":\"77\"}";
        static const char v_none[] = "{\"FirstName\":\"x\"}";
        static const char v_bad[] =
                "{\"CustomerCode\":\"C6\",\"Password\":\"" PW
                "\",\"Gender\":3}";
        static const char v_empty_code[] =
                "{\"CustomerCode\":\"\",\"DealerCustomerId\":5}";
        static const char v_zero_id[] =
                "{\"DealerCustomerId\":0,\"Gender\":0}";
        static const char v_zero_id_code[] =
                "{\"DealerCustomerId\":\"0\",\"CustomerCode\":\"C10\"}";
        static const char v_nul_pw[] =
                "{\"CustomerCode\":\"C11\",\"Password\":\"ab\\u0000" PW
                "\"}";
        static const char v_big[] =
                "{\"CustomerCode\":\"C8\",\"Address\":\"a long address\"}";
        struct kmock_record recs[R_CNT] = {
                [R_KEYED] = {.partition = 0,
                             .key = "cust-key",
                             .key_len = 8,
                             .value = v_keyed,
                             .value_len = sizeof(v_keyed) - 1,
                             .headers = {{"trace", "t1", 2},
                                         {"correlation-id", "corr-123", 8}},
                             .header_cnt = 2},
                [R_CODE] = {.partition = 0,
                            .value = v_code,
                            .value_len = sizeof(v_code) - 1},
                [R_ID] = {.partition = 0,
                          .key = "",
                          .key_len = 0,
                          .value = v_id,
                          .value_len = sizeof(v_id) - 1},
                [R_NONE] = {.partition = 0,
                            .value = v_none,
                            .value_len = sizeof(v_none) - 1},
                [R_NOT_JSON] = {.partition = 0,
                                .value = "not json",
                                .value_len = 8},
                [R_BAD_KEYED] = {.partition = 1,
                                 .key = "k-bad",
                                 .key_len = 5,
                                 .value = v_bad,
                                 .value_len = sizeof(v_bad) - 1},
                [R_EMPTY_CODE] = {.partition = 1,
                                  .value = v_empty_code,
                                  .value_len = sizeof(v_empty_code) - 1},
                [R_TOO_BIG] = {.partition = 1,
                               .value = v_big,
                               .value_len = sizeof(v_big) - 1},
                [R_SALE_EMPTY] = {.partition = 1},
                [R_SALE_BAD] = {.partition = 1,
                                .value = "[]",
                                .value_len = 2},
                [R_ZERO_ID] = {.partition = 0,
                               .value = v_zero_id,
                               .value_len = sizeof(v_zero_id) - 1},
                [R_ZERO_ID_CODE] = {.partition = 0,
                                    .value = v_zero_id_code,
                                    .value_len = sizeof(v_zero_id_code) - 1},
                [R_NUL_PW] = {.partition = 0,
                              .value = v_nul_pw,
                              .value_len = sizeof(v_nul_pw) - 1},
                [R_SALE_KEYED] = {.partition = 1,
                                  .key = "sk",
                                  .key_len = 2,
                                  .value = "{}",
                                  .value_len = 2},
        };
        rd_kafka_message_t *msgs[R_CNT];
        struct kmock km;
        if (!CHECK(kmock_fetch(&km, TOPIC, 2, recs, R_CNT, msgs) == 0))
                return;

        struct event *ev[R_CNT];
        /* what the messages carried, to compare with the events' copies
         * once event_create() has destroyed the messages */
        const void *keyed_key = msgs[R_KEYED]->key;
        int64_t keyed_ts = rd_kafka_message_timestamp(msgs[R_KEYED], NULL);
        char topic[] = TOPIC; /* borrowed by the events */
        for (int i = 0; i < R_CNT; i++) {
                enum moka_operation op = i >= R_SALE_EMPTY &&
                                                         i <= R_SALE_KEYED
                                                 ? MOKA_OP_SALE_LIST
                                                 : MOKA_OP_CUSTOMER_UPDATE;
                ev[i] = event_create(msgs[i], topic, op,
                                     i == R_TOO_BIG ? 20 : 65536);
                CHECK(ev[i] != NULL);
        }
        for (int i = 0; i < R_CNT; i++)
                if (!ev[i])
                        goto out;

        struct event *e;

        e = ev[R_KEYED];
        /* the record is the event's own copy: the message (and the fetch
         * response it pinned) is gone */
        CHECK(e->src.topic == topic);
        CHECK_INT_EQ(e->src.partition, 0);
        CHECK_INT_EQ((int)e->src.offset, 0);
        CHECK(e->src.timestamp_ms == keyed_ts && keyed_ts > 0);
        CHECK(e->src.key != NULL && (const void *)e->src.key != keyed_key);
        CHECK_MEM_EQ(e->src.key, e->src.key_len, "cust-key", 8);
        CHECK_MEM_EQ(e->src.value, e->src.len, v_keyed, sizeof(v_keyed) - 1);
        CHECK(e->src.value[e->src.len] == '\0');
        CHECK(e->src.headers != NULL &&
              rd_kafka_header_cnt(e->src.headers) == 2);
        CHECK_INT_EQ(e->op, MOKA_OP_CUSTOMER_UPDATE);
        CHECK_STR_EQ(e->correlation_id, "corr-123");
        CHECK_MEM_EQ((const char *)e->order_key, e->order_key_len, "cust-key",
                     8);
        CHECK(e->invalid == NULL);
        /* the request is kept as its text, the Moka call's
         * DealerCustomerRequest: exactly the normalized object */
        CHECK_MEM_EQ(e->request_json, e->request_len,
                     "{\"CustomerCode\":\"C1\"}", 21);
        CHECK(e->request_json != NULL &&
              e->request_json[e->request_len] == '\0');
        CHECK(e->customer_password == NULL);
        CHECK(e->timer.index == TIMER_IDLE);
        CHECK(e->dlq_rec.ev == e && e->dlq_rec.is_dlq);
        CHECK(e->reply_rec.ev == e && !e->reply_rec.is_dlq);

        /* no header: <topic>/<partition>/<offset>; no key: CustomerCode */
        e = ev[R_CODE];
        CHECK(e->src.key == NULL && e->src.key_len == 0);
        CHECK(e->src.headers == NULL);
        CHECK_STR_EQ(e->correlation_id, TOPIC "/0/1");
        CHECK_MEM_EQ((const char *)e->order_key, e->order_key_len, "C2", 2);
        CHECK(e->invalid == NULL);
        CHECK_STR_EQ(e->customer_password, PW);
        if (CHECK(e->request_json != NULL)) {
                json_object *r = json_tokener_parse(e->request_json);
                CHECK_STR_EQ(member_string(r, "CustomerCode"), "C2");
                CHECK_STR_EQ(member_string(r, "Password"), PW);
                json_object_put(r);
        }
        /* the ordering key is the event's own copy of CustomerCode */
        CHECK((const char *)e->order_key == e->order_key_owned);

        e = ev[R_ID];
        CHECK_STR_EQ(e->correlation_id, TOPIC "/0/2");
        CHECK_MEM_EQ((const char *)e->order_key, e->order_key_len, "id:77",
                     5);
        CHECK(e->invalid == NULL);

        e = ev[R_NONE];
        CHECK_STR_EQ(e->correlation_id, TOPIC "/0/3");
        CHECK_UINT_EQ(e->order_key_len, 0);
        CHECK(e->invalid == NULL);

        e = ev[R_NOT_JSON];
        CHECK_STR_EQ(e->correlation_id, TOPIC "/0/4");
        CHECK(e->invalid != NULL);
        CHECK_CONTAINS(e->invalid, "JSON");
        CHECK(e->request_json == NULL);
        CHECK_UINT_EQ(e->order_key_len, 0);

        /* an invalid event keeps its key (its reply is ordered too) and
         * its message names the field, not the password */
        e = ev[R_BAD_KEYED];
        CHECK_STR_EQ(e->correlation_id, TOPIC "/1/0");
        CHECK(e->invalid != NULL);
        CHECK_CONTAINS(e->invalid, "Gender");
        CHECK_NOT_CONTAINS(e->invalid, PW);
        CHECK(e->request_json == NULL);
        CHECK_MEM_EQ((const char *)e->order_key, e->order_key_len, "k-bad",
                     5);

        /* an empty CustomerCode falls through to DealerCustomerId */
        e = ev[R_EMPTY_CODE];
        CHECK_STR_EQ(e->correlation_id, TOPIC "/1/1");
        CHECK(e->invalid == NULL);
        CHECK_MEM_EQ((const char *)e->order_key, e->order_key_len, "id:5", 4);

        e = ev[R_TOO_BIG];
        CHECK(e->invalid != NULL);
        CHECK_CONTAINS(e->invalid, "max_event_bytes");
        CHECK(e->request_json == NULL);

        e = ev[R_SALE_EMPTY];
        CHECK(e->src.value == NULL && e->src.len == 0); /* a null value */
        CHECK_INT_EQ(e->op, MOKA_OP_SALE_LIST);
        CHECK(e->invalid == NULL);
        CHECK(e->request_json == NULL);
        CHECK_STR_EQ(e->correlation_id, TOPIC "/1/3");
        CHECK_UINT_EQ(e->order_key_len, 0);

        e = ev[R_SALE_BAD];
        CHECK(e->invalid != NULL);
        CHECK_CONTAINS(e->invalid, "expected a JSON object");

        e = ev[R_SALE_KEYED];
        CHECK(e->invalid == NULL);
        CHECK_MEM_EQ((const char *)e->order_key, e->order_key_len, "sk", 2);
        CHECK_STR_EQ(e->correlation_id, TOPIC "/1/5");

        /* DealerCustomerId 0 is "not given": never an "id:0" key; without
         * a CustomerCode the event names no customer and is sent as such
         * (Moka answers CustomerCodeOrDealerCustomerIdMustBeGiven) */
        e = ev[R_ZERO_ID];
        CHECK(e->invalid == NULL);
        CHECK_UINT_EQ(e->order_key_len, 0);
        CHECK_MEM_EQ(e->request_json, e->request_len, "{}", 2);
        e = ev[R_ZERO_ID_CODE];
        CHECK(e->invalid == NULL);
        CHECK_MEM_EQ((const char *)e->order_key, e->order_key_len, "C10", 3);
        CHECK_MEM_EQ(e->request_json, e->request_len,
                     "{\"CustomerCode\":\"C10\"}", 22);

        /* a Password with U+0000 is refused: nothing of it is kept for a
         * partial redaction, the message names the field only */
        e = ev[R_NUL_PW];
        CHECK(e->invalid != NULL);
        CHECK_CONTAINS(e->invalid, "Password");
        CHECK_CONTAINS(e->invalid, "U+0000");
        CHECK_NOT_CONTAINS(e->invalid, PW);
        CHECK(e->customer_password == NULL && e->request_json == NULL);
        CHECK_UINT_EQ(e->order_key_len, 0); /* invalid: nothing read */

out:
        for (int i = 0; i < R_CNT; i++)
                event_destroy(ev[i]);
        event_destroy(NULL);
        kmock_close(&km);
}

int main(void)
{
        test_seed_sample();
        test_normalization();
        test_not_an_object();
        test_fields();
        test_lengths();
        test_normalized_text();
        test_sale_list();
        test_nul_in_strings();
        test_birth_dates();
        test_gsm_number();
        test_zero_is_unset();
        test_wrong_case();
        test_sale_list_request_member();
        test_event_create();
        CHECK_DONE();
}
