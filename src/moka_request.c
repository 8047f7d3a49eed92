#include "moka_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

const char *moka_operation_path(enum moka_operation op)
{
        return op == MOKA_OP_CUSTOMER_UPDATE ? "/DealerCustomer/UpdateCustomer"
                                             : "/DealerSale/GetSaleList";
}

const char *moka_operation_name(enum moka_operation op)
{
        return op == MOKA_OP_CUSTOMER_UPDATE ? "customer.update" : "sale.list";
}

int moka_checkkey(const char *dealer_code, const char *username,
                  const char *password, char out[65])
{
        unsigned char digest[32];
        unsigned int digest_len = 0;
        int rc = -1;
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -1;
        if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
            EVP_DigestUpdate(ctx, dealer_code, strlen(dealer_code)) != 1 ||
            EVP_DigestUpdate(ctx, "MK", 2) != 1 ||
            EVP_DigestUpdate(ctx, username, strlen(username)) != 1 ||
            EVP_DigestUpdate(ctx, "PD", 2) != 1 ||
            EVP_DigestUpdate(ctx, password, strlen(password)) != 1 ||
            EVP_DigestFinal_ex(ctx, digest, &digest_len) != 1 ||
            digest_len != sizeof(digest))
                goto cleanup;
        static const char hex[] = "0123456789abcdef";
        for (int i = 0; i < 32; i++) {
                out[2 * i] = hex[digest[i] >> 4];
                out[2 * i + 1] = hex[digest[i] & 15];
        }
        out[64] = '\0';
        rc = 0;
cleanup:
        EVP_MD_CTX_free(ctx);
        return rc;
}

static void moka_wipe_free(char *s)
{
        if (!s)
                return;
        explicit_bzero(s, strlen(s));
        free(s);
}

struct moka_auth *moka_auth_create(const char *dealer_code,
                                   const char *username, const char *password)
{
        json_object *block = NULL;
        struct moka_auth *auth = calloc(1, sizeof(*auth));
        if (!auth)
                return NULL;
        auth->refs = 1;
        if (moka_checkkey(dealer_code, username, password, auth->checkkey))
                goto fail;
        auth->password = strdup(password);
        block = json_object_new_object();
        if (!auth->password || !block)
                goto fail;
        json_object_object_add(block, "DealerCode",
                               json_object_new_string(dealer_code));
        json_object_object_add(block, "Username",
                               json_object_new_string(username));
        json_object_object_add(block, "Password",
                               json_object_new_string(password));
        json_object_object_add(block, "CheckKey",
                               json_object_new_string(auth->checkkey));
        auth->block = strdup(json_object_to_json_string_ext(
                block, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        if (!auth->block)
                goto fail;

        size_t cap = strlen(auth->block) + 64;
        auth->sale_list_body = malloc(cap);
        if (!auth->sale_list_body)
                goto fail;
        auth->sale_list_len =
                (size_t)snprintf(auth->sale_list_body, cap,
                                 "{\"DealerSaleAuthentication\":%s}",
                                 auth->block);
        /* json-c keeps its own copies of the password in `block`. */
        json_object_put(block);
        return auth;
fail:
        json_object_put(block);
        moka_auth_destroy(auth);
        return NULL;
}

struct moka_auth *moka_auth_ref(struct moka_auth *auth)
{
        auth->refs++;
        return auth;
}

void moka_auth_destroy(struct moka_auth *auth)
{
        if (!auth || --auth->refs > 0)
                return;
        moka_wipe_free(auth->block);
        moka_wipe_free(auth->sale_list_body);
        moka_wipe_free(auth->password);
        explicit_bzero(auth->checkkey, sizeof(auth->checkkey));
        free(auth);
}

char *moka_request_customer_update(const struct moka_auth *auth,
                                   const char *request_json,
                                   size_t request_len, size_t *len)
{
        static const char head[] = "{\"DealerCustomerAuthentication\":";
        static const char mid[] = ",\"DealerCustomerRequest\":";
        size_t block_len = strlen(auth->block);
        size_t n = sizeof(head) - 1 + block_len + sizeof(mid) - 1 +
                   request_len + 1;
        char *body = malloc(n + 1);
        if (!body)
                return NULL;
        char *w = body;
        memcpy(w, head, sizeof(head) - 1);
        w += sizeof(head) - 1;
        memcpy(w, auth->block, block_len);
        w += block_len;
        memcpy(w, mid, sizeof(mid) - 1);
        w += sizeof(mid) - 1;
        memcpy(w, request_json, request_len);
        w += request_len;
        *w++ = '}';
        *w = '\0';
        *len = n;
        return body;
}
