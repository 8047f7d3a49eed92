/* Moka responses: parsing the envelope and classifying the outcome.
 *
 * This is where the contract's "Outcome of a Moka call" table lives. The
 * function is pure (no I/O, no clock) so the table is unit-tested row by
 * row. Transport facts come in as plain values from the HTTP layer. */
#ifndef MOKA_BRIDGE_MOKA_RESPONSE_H
#define MOKA_BRIDGE_MOKA_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

enum moka_outcome_kind {
        MOKA_OUTCOME_SUCCESS,  /* 2xx + ResultCode Success: reply success */
        MOKA_OUTCOME_BUSINESS, /* 2xx + other code (not EX): reply + DLQ */
        MOKA_OUTCOME_RETRY,    /* transient: retry with backoff, budgeted */
        MOKA_OUTCOME_OUTAGE,   /* 401/403/404/TLS: retry, not budgeted */
};

/* What the HTTP layer saw for one request. */
struct moka_transport {
        int curl_code;           /* CURLcode; 0 = a response arrived */
        const char *curl_error;  /* curl's message when curl_code != 0 */
        long http_status;
        const char *body;
        size_t body_len;
        long retry_after_s;      /* Retry-After header, 0 when absent */
};

struct moka_outcome {
        enum moka_outcome_kind kind;
        char *result_code;    /* Moka's code verbatim (kinds SUCCESS and
                               * BUSINESS, and EX), else NULL */
        char *result_message; /* Moka's ResultMessage (or Exception) */
        char *data_json;      /* Moka's Data on success as JSON text,
                               * its Password members already "***"
                               * (redact_password_json), NUL-terminated,
                               * owned; NULL when absent or null */
        size_t data_len;      /* bytes of data_json */
        long data_list_len;   /* elements of Data.DealerSaleList when it
                               * is an array (GetSaleList), else -1 */
        char cause[256];      /* one line for logs and result_message on
                               * retries: "HTTP 503", "timeout: ..." */
        long retry_after_s;
        long http_status;     /* 0 when no response arrived */
        bool moka_answered;   /* a Moka envelope came back (any code) */
        bool credentials_suspect; /* BUSINESS with `…InvalidRequest` or an
                                   * account code: the credentials may be
                                   * the cause (credentials.h) */
        bool no_sales;        /* SUCCESS from GetSaleList's "no sales"
                               * code (`…DealerSaleNotFund`, or the
                               * seed's `…NotFound`): result_code keeps
                               * it, data_json is an empty list */
};

/* Classifies one response into `out` (which the caller clears with
 * moka_outcome_clear). The body is read with json_scan (strict JSON, no
 * json-c tree); the outcome owns copies, nothing points into the body.
 * Duplicate envelope members: the last one counts, as with json-c. */
void moka_classify(const struct moka_transport *t, struct moka_outcome *out);

/* Frees what `out` holds and zeroes it; accepts an already cleared one. */
void moka_outcome_clear(struct moka_outcome *out);

const char *moka_outcome_kind_name(enum moka_outcome_kind kind);

#endif
