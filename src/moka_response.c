#include "moka_response.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

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
        json_object_put(out->data);
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

static char *moka_dup_member(json_object *envelope, const char *name)
{
        json_object *v;
        if (!json_object_object_get_ex(envelope, name, &v) ||
            !json_object_is_type(v, json_type_string))
                return NULL;
        return strdup(json_object_get_string(v));
}

void moka_classify(const struct moka_transport *t, struct moka_outcome *out)
{
        memset(out, 0, sizeof(*out));
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
        /* A fresh tokener per body: see event_parse_json() in event.c */
        json_tokener *tok = json_tokener_new();
        json_object *env = NULL;
        if (tok) {
                env = json_tokener_parse_ex(tok, t->body ? t->body : "",
                                            (int)t->body_len);
                if (json_tokener_get_error(tok) != json_tokener_success ||
                    (size_t)json_tokener_get_parse_end(tok) != t->body_len) {
                        /* trailing garbage or truncated: not JSON */
                        size_t end = json_tokener_get_parse_end(tok);
                        int only_ws = 1;
                        for (size_t i = end; i < t->body_len; i++) {
                                char c = t->body[i];
                                if (c != ' ' && c != '\t' && c != '\r' &&
                                    c != '\n')
                                        only_ws = 0;
                        }
                        if (json_tokener_get_error(tok) !=
                                    json_tokener_success ||
                            !only_ws) {
                                json_object_put(env);
                                env = NULL;
                        }
                }
                json_tokener_free(tok);
        }
        json_object *code = NULL;
        if (!env || !json_object_is_type(env, json_type_object) ||
            !json_object_object_get_ex(env, "ResultCode", &code) ||
            !json_object_is_type(code, json_type_string)) {
                snprintf(out->cause, sizeof(out->cause),
                         "malformed response: HTTP %ld body is not a Moka "
                         "envelope (%zu bytes)",
                         st, t->body_len);
                json_object_put(env);
                return;
        }

        const char *rc = json_object_get_string(code);
        out->moka_answered = true;
        out->result_code = strdup(rc);
        out->result_message = moka_dup_member(env, "ResultMessage");
        if (!out->result_message || !*out->result_message) {
                free(out->result_message);
                out->result_message = moka_dup_member(env, "Exception");
        }
        if (!out->result_message)
                out->result_message = strdup("");

        if (strcasecmp(rc, "Success") == 0) {
                out->kind = MOKA_OUTCOME_SUCCESS;
                json_object *data = NULL;
                if (json_object_object_get_ex(env, "Data", &data) && data)
                        out->data = json_object_get(data);
        } else if (strcmp(rc, "EX") == 0) {
                out->kind = MOKA_OUTCOME_RETRY;
                snprintf(out->cause, sizeof(out->cause), "Moka EX: %s",
                         out->result_message ? out->result_message : "");
        } else {
                out->kind = MOKA_OUTCOME_BUSINESS;
        }
        json_object_put(env);
}
