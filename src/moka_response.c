#include "moka_response.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "credentials.h"
#include "json_scan.h"
#include "redact.h"

const char *moka_outcome_kind_name(enum moka_outcome_kind kind)
{
        switch (kind) {
        case MOKA_OUTCOME_SUCCESS:
                return "success";
        case MOKA_OUTCOME_BUSINESS:
                return "business";
        case MOKA_OUTCOME_RETRY:
                return "retry";
        case MOKA_OUTCOME_OUTAGE:
                return "outage";
        }
        return "?";
}

void moka_outcome_clear(struct moka_outcome *out)
{
        free(out->result_code);
        free(out->result_message);
        free(out->data_json);
        memset(out, 0, sizeof(*out));
}

static int moka_tls_verification_error(int code)
{
        return code == CURLE_PEER_FAILED_VERIFICATION ||
               code == CURLE_SSL_CACERT_BADFILE ||
               code == CURLE_SSL_ISSUER_ERROR ||
               code == CURLE_SSL_PINNEDPUBKEYNOTMATCH ||
               code == CURLE_SSL_INVALIDCERTSTATUS;
}

static char *moka_dup_string(const struct json_scan_span *v)
{
        if (v->type != JSON_SCAN_STRING)
                return NULL;
        return json_scan_string_dup(v, NULL);
}

/* GetSaleList's "no sales" codes: the documented spelling and the seed
 * example's. */
static bool moka_is_no_sales(const char *rc)
{
        return strcmp(rc, "DealerSale.GetSaleList.DealerSaleNotFund") == 0 ||
               strcmp(rc, "DealerSale.GetSaleList.DealerSaleNotFound") == 0;
}

void moka_classify(const struct moka_transport *t, struct moka_outcome *out)
{
        memset(out, 0, sizeof(*out));
        out->data_list_len = -1;
        out->retry_after_s = t->retry_after_s > 0 ? t->retry_after_s : 0;
        out->http_status = t->curl_code == CURLE_OK ? t->http_status : 0;

        if (t->curl_code != CURLE_OK) {
                out->kind = moka_tls_verification_error(t->curl_code)
                                    ? MOKA_OUTCOME_OUTAGE
                                    : MOKA_OUTCOME_RETRY;
                const char *what =
                        t->curl_code == CURLE_OPERATION_TIMEDOUT ? "timeout"
                        : out->kind == MOKA_OUTCOME_OUTAGE
                                ? "TLS verification failed"
                                : "transport error";
                snprintf(out->cause, sizeof(out->cause), "%s: %s", what,
                         t->curl_error && *t->curl_error
                                 ? t->curl_error
                                 : curl_easy_strerror(t->curl_code));
                return;
        }

        long st = t->http_status;
        if (st < 200 || st > 299) {
        snprintf(out->cause, sizeof(out->cause), "HTTP %ld", st);
                if (st == 401 || st == 403 || st == 404)
                        out->kind = MOKA_OUTCOME_OUTAGE;
                else
                        /* 408, 429, 5xx per the contract; any other
                         * unexpected status (a proxy's 400, a 3xx) is
                         * treated as transient too, within the budget. */
                        out->kind = MOKA_OUTCOME_RETRY;
                return;
        }

        out->kind = MOKA_OUTCOME_RETRY;
        /* One strict pass validates the whole body (trailing garbage and
         * truncation included); the envelope's members are then spans of
         * it, and only what the outcome keeps is copied. */
        struct json_scan_span env, code = {0}, msg = {0}, exc = {0},
                                   data = {0}, key, val;
        bool envelope = json_scan_validate(t->body, t->body_len, &env,
                                           NULL) == 0 &&
                        env.type == JSON_SCAN_OBJECT;
        if (envelope) {
                struct json_scan_iter it;
                json_scan_iter_init(&it, &env);
                while (json_scan_object_next(&it, &key, &val)) {
                        /* later duplicates win, as they did with json-c */
                        if (json_scan_key_eq(&key, "ResultCode"))
                                code = val;
                        else if (json_scan_key_eq(&key, "ResultMessage"))
                                msg = val;
                        else if (json_scan_key_eq(&key, "Exception"))
                                exc = val;
                        else if (json_scan_key_eq(&key, "Data"))
                                data = val;
                }
        }
        char *rc = envelope ? moka_dup_string(&code) : NULL;
        if (!rc) {
                /* not JSON, not an object, no string ResultCode (or no
                 * memory for it: a transient failure too) */
                snprintf(out->cause, sizeof(out->cause),
                         "malformed response: HTTP %ld body is not a Moka "
                         "envelope (%zu bytes)",
                         st, t->body_len);
                return;
        }

        out->moka_answered = true;
        out->result_code = rc;
        out->result_message = moka_dup_string(&msg);
        if (!out->result_message || !*out->result_message) {
                free(out->result_message);
                out->result_message = moka_dup_string(&exc);
        }
        if (!out->result_message)
                out->result_message = strdup("");

        if (strcasecmp(rc, "Success") == 0) {
                out->kind = MOKA_OUTCOME_SUCCESS;
                if (data.type != JSON_SCAN_NONE &&
                    data.type != JSON_SCAN_NULL) {
                        out->data_json =
                                redact_password_json(&data, &out->data_len);
                        if (!out->data_json)
                                goto oom;
                }
                if (data.type == JSON_SCAN_OBJECT) {
                        struct json_scan_span list = {0};
                        struct json_scan_iter it;
                        json_scan_iter_init(&it, &data);
                        while (json_scan_object_next(&it, &key, &val))
                                if (json_scan_key_eq(&key, "DealerSaleList"))
                                        list = val;
                        out->data_list_len = json_scan_array_count(&list);
                }
        } else if (moka_is_no_sales(rc)) {
                /* "The dealer has no sales" is an answer, not a failure. */
                static const char empty[] =
                        "{\"DealerSaleListCount\":0,\"DealerSaleList\":[]}";
                out->kind = MOKA_OUTCOME_SUCCESS;
                out->no_sales = true;
                out->data_json = strdup(empty);
                if (!out->data_json)
                        goto oom;
                out->data_len = sizeof(empty) - 1;
                out->data_list_len = 0;
        } else if (strcmp(rc, "EX") == 0) {
                out->kind = MOKA_OUTCOME_RETRY;
                snprintf(out->cause, sizeof(out->cause), "Moka EX: %s",
                         out->result_message ? out->result_message : "");
        } else {
                out->kind = MOKA_OUTCOME_BUSINESS;
                out->credentials_suspect = credentials_code_is_suspect(rc);
        }
        return;
oom:
        /* Without its Data a success cannot be replied: try again later,
         * as for any transient failure. */
        free(out->result_code);
        free(out->result_message);
        out->result_code = out->result_message = NULL;
        out->moka_answered = false;
        out->kind = MOKA_OUTCOME_RETRY;
        snprintf(out->cause, sizeof(out->cause),
                 "out of memory copying Moka's Data (%zu bytes)", data.len);
}
