/* Unit tests of the request bodies (moka_request.c): operation paths and
 * names, and the UpdateCustomer body {"DealerCustomerAuthentication": <auth
 * block>, "DealerCustomerRequest": <the validated request, unchanged>}. */
#include "moka_request.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "check.h"

#define KEY_1731                                                              \
        "1c1cccfe19b782415c207f1d66f97889cf11ed6d1e1ad6f585e5fe70b6f5da90"

static void test_operations(void)
{
        CHECK_STR_EQ(moka_operation_path(MOKA_OP_CUSTOMER_UPDATE),
                     "/DealerCustomer/UpdateCustomer");
        CHECK_STR_EQ(moka_operation_path(MOKA_OP_SALE_LIST),
                     "/DealerSale/GetSaleList");
        CHECK_STR_EQ(moka_operation_name(MOKA_OP_CUSTOMER_UPDATE),
                     "customer.update");
        CHECK_STR_EQ(moka_operation_name(MOKA_OP_SALE_LIST), "sale.list");
        CHECK_INT_EQ(MOKA_OP_COUNT, 2);
}

/* Parses exactly `len` bytes as one JSON value. */
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

static const char *member_string(json_object *obj, const char *name)
{
        json_object *v;
        if (!json_object_object_get_ex(obj, name, &v) ||
            !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

/* Builds the body for `request_text` and checks its structure. */
static void check_customer_update(const struct moka_auth *auth,
                                  const char *request_text)
{
        json_object *request = json_tokener_parse(request_text);
        if (!CHECK(request != NULL))
                return;
        json_object *request_copy = NULL;
        json_object_deep_copy(request, &request_copy, NULL);

        size_t len = 0;
        const char *text = json_object_to_json_string_ext(
                request, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        char *body = moka_request_customer_update(auth, text, strlen(text),
                                                  &len);
        if (!CHECK(body != NULL)) {
                json_object_put(request);
                json_object_put(request_copy);
                return;
        }
        CHECK_UINT_EQ(len, strlen(body));

        json_object *parsed = parse_exact(body, len);
        if (CHECK(json_object_is_type(parsed, json_type_object))) {
                CHECK_INT_EQ(json_object_object_length(parsed), 2);
                json_object *a = NULL, *r = NULL;
                CHECK(json_object_object_get_ex(
                        parsed, "DealerCustomerAuthentication", &a));
                CHECK(json_object_object_get_ex(parsed,
                                                "DealerCustomerRequest", &r));
                if (CHECK(json_object_is_type(a, json_type_object))) {
                        CHECK_INT_EQ(json_object_object_length(a), 4);
                        CHECK_STR_EQ(member_string(a, "DealerCode"), "1731");
                        CHECK_STR_EQ(member_string(a, "Username"),
                                     "TestMoka2");
                        CHECK_STR_EQ(member_string(a, "Password"),
                                     "HYSYHDS8DU8HU");
                        CHECK_STR_EQ(member_string(a, "CheckKey"), KEY_1731);
                }
                /* the request goes to Moka unchanged */
                CHECK(json_object_equal(r, request_copy));
                /* and the caller's object is not modified */
                CHECK(json_object_equal(request, request_copy));
        }
        json_object_put(parsed);
        free(body);
        json_object_put(request);
        json_object_put(request_copy);
}

int main(void)
{
        test_operations();

        struct moka_auth *auth =
                moka_auth_create("1731", "TestMoka2", "HYSYHDS8DU8HU");
        if (!CHECK(auth != NULL))
                CHECK_DONE();

        /* a normalized request as event_validate_customer_update makes */
        check_customer_update(
                auth, "{\"CustomerCode\":\"Customer\",\"Password\":"
                      "\"Elif1234\",\"FirstName\":\"Elif\",\"LastName\":"
                      "\"Y\",\"Gender\":2,\"BirthDate\":\"19850710\","
                      "\"GsmNumber\":\"5301111111\",\"Email\":"
                      "\"elif.y@moka.com\"}");
        /* numbers stay numbers, no field added */
        check_customer_update(auth, "{\"DealerCustomerId\":9007199254740993}");
        /* text that needs escaping: quotes, backslash, slash, control
         * characters, non-ASCII (Turkish) */
        check_customer_update(
                auth, "{\"CustomerCode\":\"a\\\"b\\\\c/d\",\"Address\":"
                      "\"line1\\nline2\\t\\u0001\",\"FirstName\":"
                      "\"\xc5\x9f\xc3\xbc\xc4\x9f\xc4\xb1\xc3\xb6\xc3\xa7\","
                      "\"Email\":\"</script>@x.com\"}");
        /* the empty object */
        check_customer_update(auth, "{}");

        /* a long request is not truncated */
        char big[6000];
        size_t n = (size_t)snprintf(big, sizeof(big), "{\"Address\":\"");
        memset(big + n, 'x', 5000);
        n += 5000;
        snprintf(big + n, sizeof(big) - n, "\"}");
        check_customer_update(auth, big);

        moka_auth_destroy(auth);
        CHECK_DONE();
}
