/* Unit tests of the CheckKey and the authentication block (moka_request.c):
 * the two test vectors of moka-api.md, lowercase hex, the block's members,
 * JSON escaping of credentials, and the prebuilt GetSaleList body. */
#include "moka_request.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/sha.h>

#include "check.h"

static void test_vectors(void)
{
        char out[65];

        memset(out, 'X', sizeof(out));
        CHECK_INT_EQ(moka_checkkey("1731", "TestMoka2", "HYSYHDS8DU8HU", out),
                     0);
        CHECK_STR_EQ(out, "1c1cccfe19b782415c207f1d66f97889"
                          "cf11ed6d1e1ad6f585e5fe70b6f5da90");

        /* UTF-8: "BAYİ1", "kullanıcı", "şifre" */
        memset(out, 'X', sizeof(out));
        CHECK_INT_EQ(moka_checkkey("BAY\xc4\xb0"
                                   "1",
                                   "kullan\xc4\xb1"
                                   "c\xc4\xb1",
                                   "\xc5\x9f"
                                   "ifre",
                                   out),
                     0);
        CHECK_STR_EQ(out, "99ea3e6587303dc8f34614f2d98e1fe1"
                          "2e7c3b1e8a440b825c26d28a342fb9ce");

        /* sha256("MKPD"): empty parts still get the separators */
        memset(out, 'X', sizeof(out));
        CHECK_INT_EQ(moka_checkkey("", "", "", out), 0);
        CHECK_STR_EQ(out, "6db846dd35db141e9935799c70b68340"
                          "f1689b525b7dc3df4814af9e778fba97");
}

/* Recomputes a CheckKey by the definition, with OpenSSL's one-shot API,
 * for inputs that have no published vector. */
static void reference_checkkey(const char *d, const char *u, const char *p,
                               char out[65])
{
        size_t len = strlen(d) + strlen(u) + strlen(p) + 4;
        char *s = malloc(len + 1);
        snprintf(s, len + 1, "%sMK%sPD%s", d, u, p);
        unsigned char md[SHA256_DIGEST_LENGTH];
        SHA256((const unsigned char *)s, len, md);
        for (int i = 0; i < 32; i++)
                sprintf(out + 2 * i, "%02x", md[i]);
        free(s);
}

static void test_separators_and_hex(void)
{
        char got[65], want[65];

        /* The separators sit between the parts, in this order: moving text
         * across them changes the key. */
        moka_checkkey("AB", "CD", "EF", got);
        reference_checkkey("AB", "CD", "EF", want);
        CHECK_STR_EQ(got, want);
        char other[65];
        moka_checkkey("A", "BCD", "EF", other);
        CHECK(strcmp(got, other) != 0);
        moka_checkkey("", "", "", got);
        reference_checkkey("", "", "", want);
        CHECK_STR_EQ(got, want);

        /* 64 lowercase hex digits, for many inputs */
        int all_lower_hex = 1;
        for (int i = 0; i < 200; i++) {
                char pw[16];
                snprintf(pw, sizeof(pw), "pw%d", i);
                moka_checkkey("1731", "TestMoka2", pw, got);
                reference_checkkey("1731", "TestMoka2", pw, want);
                if (strlen(got) != 64 || strcmp(got, want) != 0)
                        all_lower_hex = 0;
                for (int j = 0; j < 64; j++)
                        if (!isxdigit((unsigned char)got[j]) ||
                            isupper((unsigned char)got[j]))
                                all_lower_hex = 0;
        }
        CHECK(all_lower_hex);
}

static const char *member_string(json_object *obj, const char *name)
{
        json_object *v;
        if (!json_object_object_get_ex(obj, name, &v) ||
            !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

/* The block is exactly {DealerCode, Username, Password, CheckKey}. */
static void check_block(json_object *block, const char *dealer,
                        const char *user, const char *pass,
                        const char *checkkey)
{
        if (!CHECK(json_object_is_type(block, json_type_object)))
                return;
        CHECK_INT_EQ(json_object_object_length(block), 4);
        CHECK_STR_EQ(member_string(block, "DealerCode"), dealer);
        CHECK_STR_EQ(member_string(block, "Username"), user);
        CHECK_STR_EQ(member_string(block, "Password"), pass);
        CHECK_STR_EQ(member_string(block, "CheckKey"), checkkey);
}

static void test_auth(const char *dealer, const char *user, const char *pass,
                      const char *expected_key)
{
        struct moka_auth *auth = moka_auth_create(dealer, user, pass);
        if (!CHECK(auth != NULL))
                return;
        CHECK_STR_EQ(auth->checkkey, expected_key);
        CHECK_STR_EQ(auth->password, pass);

        json_object *block = json_tokener_parse(auth->block);
        check_block(block, dealer, user, pass, expected_key);
        json_object_put(block);

        /* The GetSaleList body: {"DealerSaleAuthentication": <block>} */
        CHECK(auth->sale_list_body != NULL);
        CHECK_UINT_EQ(auth->sale_list_len, strlen(auth->sale_list_body));
        json_tokener *tok = json_tokener_new();
        json_object *body = json_tokener_parse_ex(
                tok, auth->sale_list_body, (int)auth->sale_list_len);
        CHECK_INT_EQ(json_tokener_get_error(tok), json_tokener_success);
        CHECK_UINT_EQ(json_tokener_get_parse_end(tok), auth->sale_list_len);
        json_tokener_free(tok);
        if (CHECK(json_object_is_type(body, json_type_object))) {
                CHECK_INT_EQ(json_object_object_length(body), 1);
                json_object *inner = NULL;
                CHECK(json_object_object_get_ex(
                        body, "DealerSaleAuthentication", &inner));
                check_block(inner, dealer, user, pass, expected_key);
        }
        json_object_put(body);
        moka_auth_destroy(auth);
}

int main(void)
{
        test_vectors();
        test_separators_and_hex();

        test_auth("1731", "TestMoka2", "HYSYHDS8DU8HU",
                  "1c1cccfe19b782415c207f1d66f97889"
                  "cf11ed6d1e1ad6f585e5fe70b6f5da90");
        test_auth("BAY\xc4\xb0"
                  "1",
                  "kullan\xc4\xb1"
                  "c\xc4\xb1",
                  "\xc5\x9f"
                  "ifre",
                  "99ea3e6587303dc8f34614f2d98e1fe1"
                  "2e7c3b1e8a440b825c26d28a342fb9ce");

        /* Credentials that need JSON escaping stay one string each, and
         * the CheckKey is over the raw bytes, not the escaped text. */
        const char *pw = "p\"a\\s/s\tw{}rd";
        char key[65];
        reference_checkkey("D\"1", "u/ser", pw, key);
        test_auth("D\"1", "u/ser", pw, key);

        moka_auth_destroy(NULL); /* accepted */
        CHECK_DONE();
}
