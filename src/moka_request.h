/* Moka requests: CheckKey, the authentication block, request bodies.
 *
 * The authentication block is rendered once per password (moka_auth_create:
 * at start-up and when a password file changes) and spliced into every body; the password and CheckKey live only in that
 * struct and are wiped when it is destroyed. Nothing here logs. */
#ifndef MOKA_BRIDGE_MOKA_REQUEST_H
#define MOKA_BRIDGE_MOKA_REQUEST_H

#include <stddef.h>


enum moka_operation {
        MOKA_OP_CUSTOMER_UPDATE = 0,
        MOKA_OP_SALE_LIST = 1,
};
#define MOKA_OP_COUNT 2

/* "/DealerCustomer/UpdateCustomer" or "/DealerSale/GetSaleList". */
const char *moka_operation_path(enum moka_operation op);
/* "customer.update" or "sale.list", as in replies. */
const char *moka_operation_name(enum moka_operation op);

/* CheckKey: lowercase hex SHA-256 of dealer + "MK" + username + "PD" +
 * password (UTF-8 bytes). `out` receives 64 hex digits and a NUL.
 * Returns 0, or -1 if hashing failed. */
int moka_checkkey(const char *dealer_code, const char *username,
                  const char *password, char out[65]);

struct moka_auth {
        char *block;          /* {"DealerCode":..,"CheckKey":..} */
        char *sale_list_body; /* the whole GetSaleList body */
        size_t sale_list_len;
        char checkkey[65];
        char *password;       /* copy, for redaction of echoed text */
        int refs;             /* the dealer's, and each request body's
                               * built from it: a rotated password's
                               * block lives until its last body is gone */
};

/* Builds the authentication block once. Returns NULL when out of memory
 * or hashing failed. The caller owns the result (moka_auth_destroy). */
struct moka_auth *moka_auth_create(const char *dealer_code,
                                   const char *username, const char *password);

/* Takes one more reference; returns `auth`. */
struct moka_auth *moka_auth_ref(struct moka_auth *auth);

/* Drops a reference; the last one wipes the secrets and frees. Accepts
 * NULL. */
void moka_auth_destroy(struct moka_auth *auth);

/* The UpdateCustomer body around a validated DealerCustomerRequest given
 * as JSON text (event.c keeps it so; the text is spliced in as it is).
 * Returns a malloc'd string (caller frees) and its length in *len. */
char *moka_request_customer_update(const struct moka_auth *auth,
                                   const char *request_json,
                                   size_t request_len, size_t *len);

#endif
