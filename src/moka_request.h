/* Moka requests: CheckKey, the authentication block, request bodies.
 *
 * The authentication block is rendered once at start-up (moka_auth_create)
 * and spliced into every body; the password and CheckKey live only in that
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
};

/* Builds the authentication block once. Returns NULL when out of memory
 * or hashing failed. The caller owns the result (moka_auth_destroy). */
struct moka_auth *moka_auth_create(const char *dealer_code,
                                   const char *username, const char *password);

/* Wipes the secrets and frees; accepts NULL. */
void moka_auth_destroy(struct moka_auth *auth);

/* The UpdateCustomer body around a validated DealerCustomerRequest given
 * as JSON text (event.c keeps it so; the text is spliced in as it is).
 * Returns a malloc'd string (caller frees) and its length in *len. */
char *moka_request_customer_update(const struct moka_auth *auth,
                                   const char *request_json,
                                   size_t request_len, size_t *len);

#endif
