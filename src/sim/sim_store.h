/*
 * sim_store: the simulator's data, seeded from a fixture file (or a
 * built-in data set): dealers and their credentials, customers (shared
 * by all dealers) and each dealer's sale list. It implements the business
 * rules of UpdateCustomer and GetSaleList. One mutex guards everything;
 * sale lists are rendered once, at load, into shared blobs.
 */
#ifndef SIM_STORE_H
#define SIM_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "sim_buf.h"
#include "sim_ip.h"

#define SIM_UC_PREFIX "DealerCustomer.UpdateCustomer."
#define SIM_UC_INVALID_REQUEST SIM_UC_PREFIX "InvalidRequest"
#define SIM_SL_INVALID_REQUEST "DealerSale.GetSale.InvalidRequest"
/*
 * The caller's address is not on the dealer's allow-list: the only
 * spelling Moka documents (its CheckPaymentDealerAuthentication codes),
 * answered by both endpoints.
 */
#define SIM_IP_NOT_ALLOWED \
        "PaymentDealer.CheckPaymentDealerAuthentication.IpAddressNotAllowed"
#define SIM_EX_MESSAGE "Beklenmeyen bir hata olu\xc5\x9ftu"

/* Customer codes starting so are created by their first update. */
#define SIM_AUTO_PREFIX "auto-"

struct sim_store_options {
        const char *fixture_path;       /* NULL: built-in data set */
        const char *const *dealers;     /* "CODE:USER:PASS" strings */
        size_t ndealers;
        bool count_key_quirk;           /* " DealerSaleListCount" */
        const struct sim_ip_list *ip_allow;     /* every dealer's; NULL: none */
};

/*
 * The authentication block; a field is NULL when absent or not a string.
 * peer is the caller's address (NULL: unknown, allowed by no list).
 */
struct sim_auth {
        const char *dealer_code;
        const char *username;
        const char *password;
        const char *check_key;
        const struct sim_ip *peer;
};

/*
 * A run-time change of a dealer (POST /_sim/dealers). NULL strings stay
 * unchanged; ip_allow replaces the allow-list only if set_ip_allow (NULL:
 * no list). An unknown dealer_code is created, and then needs username
 * and password.
 */
struct sim_dealer_change {
        const char *dealer_code;
        const char *username;
        const char *password;
        bool set_ip_allow;
        const struct sim_ip_list *ip_allow;
};

/* A parsed DealerCustomerRequest; NULL / false = not given. */
struct sim_customer_req {
        bool has_id;
        long long id;
        const char *code;
        const char *password;
        const char *first_name;
        const char *last_name;
        bool has_gender;
        long long gender;
        const char *birth_date;
        const char *gsm_number;
        const char *email;
        const char *address;
};

/* What a Moka operation answered; release with sim_result_release(). */
struct sim_result {
        char code[128];                 /* ResultCode */
        char message[256];              /* ResultMessage */
        bool exception;                 /* copy message to Exception */
        struct sim_buf data;            /* Data object; empty: null */
        struct sim_blob *body;          /* or: the whole pre-rendered body */
};

struct sim_store;

/*
 * Loads the fixture. On error returns NULL and err says
 * "file: where: what".
 */
struct sim_store *sim_store_create(const struct sim_store_options *o,
                                   char *err, size_t errlen);

/* Accepts NULL. */
void sim_store_destroy(struct sim_store *s);

/*
 * Reloads the fixture (POST /_sim/reset), dropping every update and
 * auto-created customer. On error the old data stays and -1 is returned.
 */
int sim_store_reload(struct sim_store *s, char *err, size_t errlen);

/* Sizes of the current data, for the start-up line. */
void sim_store_counts(struct sim_store *s, size_t *dealers,
                      size_t *customers, size_t *sales);

/*
 * UpdateCustomer's rules and effect. empty_invalid: a request naming no
 * customer is InvalidRequest instead of
 * CustomerCodeOrDealerCustomerIdMustBeGiven. Any thread.
 */
void sim_store_update_customer(struct sim_store *s,
                               const struct sim_auth *auth,
                               const struct sim_customer_req *req,
                               bool empty_invalid, struct sim_result *out);

/* GetSaleList; on Success out->body holds the cached answer. */
void sim_store_sale_list(struct sim_store *s, const struct sim_auth *auth,
                         struct sim_result *out);

/*
 * Changes (or creates) a dealer until the next reload. Every dealer with
 * that code changes (--dealer may have added several). -1 with err
 * filled when a new dealer lacks credentials or memory runs out.
 */
int sim_store_set_dealer(struct sim_store *s,
                         const struct sim_dealer_change *c, char *err,
                         size_t errlen);

/*
 * Appends {"dealers": [{"dealer_code", "username", "ip_allow"}...]}:
 * never a password or CheckKey.
 */
void sim_store_render_dealers(struct sim_store *s, struct sim_buf *b);

/* Lowercase hex SHA-256 of code+"MK"+user+"PD"+pass into out[65]. */
int sim_check_key(const char *code, const char *user, const char *pass,
                  char out[65]);

/* Frees what a result holds. */
void sim_result_release(struct sim_result *r);

#endif
