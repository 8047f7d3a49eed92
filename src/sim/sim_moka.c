/*
 * sim_moka: UpdateCustomer and GetSaleList, see sim_moka.h.
 */
#include "sim_moka.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "sim_calls.h"
#include "sim_faults.h"
#include "sim_json.h"
#include "sim_store.h"

#define JSON_OUT_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static struct json_object *field(struct json_object *o, const char *key)
{
        struct json_object *v = NULL;

        if (o && json_object_is_type(o, json_type_object))
                json_object_object_get_ex(o, key, &v);
        return v;
}

static const char *auth_str(struct json_object *a, const char *key)
{
        struct json_object *v = field(a, key);

        return v && json_object_is_type(v, json_type_string) ?
               json_object_get_string(v) : NULL;
}

/* Returns false if the block is missing or not an object. */
static bool parse_auth(struct json_object *a, struct sim_auth *auth)
{
        memset(auth, 0, sizeof(*auth));
        if (!a || !json_object_is_type(a, json_type_object))
                return false;
        auth->dealer_code = auth_str(a, "DealerCode");
        auth->username = auth_str(a, "Username");
        auth->password = auth_str(a, "Password");
        auth->check_key = auth_str(a, "CheckKey");
        return true;
}

/* Returns false when a field has a type Moka could not bind. */
static bool parse_customer_req(struct json_object *o,
                               struct sim_customer_req *r)
{
        static const struct {
                const char *name;
                size_t off;
        } strs[] = {
                { "CustomerCode", offsetof(struct sim_customer_req, code) },
                { "Password", offsetof(struct sim_customer_req, password) },
                { "FirstName",
                  offsetof(struct sim_customer_req, first_name) },
                { "LastName", offsetof(struct sim_customer_req, last_name) },
                { "BirthDate",
                  offsetof(struct sim_customer_req, birth_date) },
                { "GsmNumber",
                  offsetof(struct sim_customer_req, gsm_number) },
                { "Email", offsetof(struct sim_customer_req, email) },
                { "Address", offsetof(struct sim_customer_req, address) },
        };
        enum sim_json_rc rc;
        size_t i;

        memset(r, 0, sizeof(*r));
        for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
                const char **dst = (const char **)((char *)r + strs[i].off);

                if (sim_json_get_str(field(o, strs[i].name), dst) ==
                    SIM_JSON_BAD)
                        return false;
        }
        rc = sim_json_get_int(field(o, "DealerCustomerId"), &r->id);
        if (rc == SIM_JSON_BAD)
                return false;
        r->has_id = rc == SIM_JSON_OK && r->id != 0;
        rc = sim_json_get_int(field(o, "Gender"), &r->gender);
        if (rc == SIM_JSON_BAD)
                return false;
        r->has_gender = rc == SIM_JSON_OK;
        return true;
}

static void render_envelope(struct sim_buf *b, const struct sim_result *res)
{
        sim_buf_puts(b, "{\"Data\":");
        if (res->data.len)
                sim_buf_append(b, res->data.data, res->data.len);
        else
                sim_buf_puts(b, "null");
        sim_buf_puts(b, ",\"ResultCode\":");
        sim_buf_json_str(b, res->code);
        sim_buf_puts(b, ",\"ResultMessage\":");
        sim_buf_json_str(b, res->message);
        sim_buf_puts(b, ",\"Exception\":");
        sim_buf_json_str(b, res->exception ? res->message : NULL);
        sim_buf_puts(b, "}");
}

/* Records a GetSaleList call: its body without the auth block. */
static void record_sale_list(struct sim_app *app, struct json_object *root)
{
        struct sim_buf b = { 0 };
        struct json_object *auth = field(root, "DealerSaleAuthentication");
        const char *code = auth_str(auth, "DealerCode");
        bool first = true;

        sim_buf_puts(&b, "{");
        if (code) {
                sim_buf_puts(&b, "\"DealerCode\":");
                sim_buf_json_str(&b, code);
                first = false;
        }
        if (root && json_object_is_type(root, json_type_object)) {
                json_object_object_foreach(root, key, val) {
                        if (strcmp(key, "DealerSaleAuthentication") == 0)
                                continue;
                        if (!first)
                                sim_buf_puts(&b, ",");
                        first = false;
                        sim_buf_json_str(&b, key);
                        sim_buf_puts(&b, ":");
                        sim_buf_puts(&b, val ? json_object_to_json_string_ext(
                                        val, JSON_OUT_FLAGS) : "null");
                }
        }
        sim_buf_puts(&b, "}");
        if (!b.oom)
                sim_calls_record(app->calls, SIM_CALLS_SALE_LIST_KEY, b.data,
                                 b.len);
        sim_buf_free(&b);
}

static void count_plan(struct sim_app *app, const struct sim_fault_plan *p)
{
        if (p->outage)
                sim_stats_count_fault(app->stats, "outage");
        if (p->from_rule)
                sim_stats_count_fault(app->stats, "rule");
        if (p->kind == SIM_FAULT_HANG)
                sim_stats_count_fault(app->stats, "hang");
        else if (p->delay_ms)
                sim_stats_count_fault(app->stats, "latency");
}

/*
 * Whether an UpdateCustomer body names no customer: its request object is
 * absent, null, or has neither a non-empty CustomerCode nor a non-zero
 * DealerCustomerId. Broken JSON names nothing we can tell: not counted.
 */
static bool names_no_customer(struct json_object *root)
{
        struct json_object *req;
        const char *code;
        long long id;

        if (!root || !json_object_is_type(root, json_type_object))
                return false;
        req = field(root, "DealerCustomerRequest");
        if (!req)
                return true;
        if (!json_object_is_type(req, json_type_object))
                return false;
        if (sim_json_get_str(field(req, "CustomerCode"), &code) ==
            SIM_JSON_OK)
                return false;
        return !(sim_json_get_int(field(req, "DealerCustomerId"), &id) ==
                 SIM_JSON_OK && id != 0);
}

/* Runs the operation itself (no fault, hang or malformed). */
static void run_business(struct sim_app *app, enum sim_endpoint ep,
                         struct json_object *root,
                         const struct sim_fault_plan *plan,
                         const struct sim_ip *peer, struct sim_result *res)
{
        struct json_object *req;
        struct sim_auth auth;
        struct sim_customer_req creq;

        if (ep == SIM_EP_SALE_LIST) {
                if (!parse_auth(field(root, "DealerSaleAuthentication"),
                                &auth)) {
                        snprintf(res->code, sizeof(res->code), "%s",
                                 SIM_SL_INVALID_REQUEST);
                        return;
                }
                auth.peer = peer;
                sim_store_sale_list(app->store, &auth, res);
                return;
        }
        req = field(root, "DealerCustomerRequest");
        if (!parse_auth(field(root, "DealerCustomerAuthentication"),
                        &auth) ||
            !req || !json_object_is_type(req, json_type_object) ||
            !parse_customer_req(req, &creq)) {
                snprintf(res->code, sizeof(res->code), "%s",
                         SIM_UC_INVALID_REQUEST);
                return;
        }
        auth.peer = peer;
        sim_store_update_customer(app->store, &auth, &creq,
                                  plan->empty_invalid, res);
}

void sim_moka_handle(struct sim_app *app, enum sim_endpoint ep,
                     const char *body, size_t len, const struct sim_ip *peer,
                     struct sim_reply *reply)
{
        struct json_object *root;
        struct json_object *req;
        struct sim_fault_plan plan;
        struct sim_result res;
        struct sim_buf out = { 0 };
        const char *key = NULL;
        const char *alt_key = NULL;
        char label[32];
        char perr[128];

        memset(&res, 0, sizeof(res));
        sim_stats_count_request(app->stats, ep);
        root = sim_json_parse(body, len, perr, sizeof(perr));

        /* Record at arrival, before any fault: retries show up twice. */
        if (ep == SIM_EP_SALE_LIST) {
                key = SIM_CALLS_SALE_LIST_KEY;
                record_sale_list(app, root);
                sim_stats_count_sale_list_dealer(app->stats, auth_str(
                        field(root, "DealerSaleAuthentication"),
                        "DealerCode"));
        } else {
                if (names_no_customer(root))
                        sim_stats_count_unnamed_update(app->stats);
                req = field(root, "DealerCustomerRequest");
                if (req && json_object_is_type(req, json_type_object)) {
                        const char *text;
                        size_t tlen;

                        if (sim_json_get_str(field(req, "CustomerCode"),
                                             &key) != SIM_JSON_OK)
                                key = NULL;
                        if (sim_json_get_str(field(req, "DealerCustomerId"),
                                             &alt_key) != SIM_JSON_OK)
                                alt_key = NULL;
                        text = json_object_to_json_string_length(
                                req, JSON_OUT_FLAGS, &tlen);
                        if ((key || alt_key) && text)
                                sim_calls_record(app->calls,
                                                 key ? key : alt_key, text,
                                                 tlen);
                }
        }

        sim_faults_decide(app->faults, key, alt_key, &plan);
        count_plan(app, &plan);
        reply->delay_ms = plan.delay_ms;
        switch (plan.kind) {
        case SIM_FAULT_HTTP:
                sim_reply_status(reply, plan.status);
                reply->retry_after = plan.retry_after;
                snprintf(label, sizeof(label), "http_%u", plan.status);
                sim_stats_count_result(app->stats, label);
                goto cleanup;
        case SIM_FAULT_RESET:
                reply->reset = true;
                sim_stats_count_result(app->stats, "reset");
                goto cleanup;
        case SIM_FAULT_RESULT:
                /* As a business failure, but without touching the data. */
                snprintf(res.code, sizeof(res.code), "%s", plan.result_code);
                break;
        case SIM_FAULT_EX:
                snprintf(res.code, sizeof(res.code), "EX");
                res.exception = true;
                snprintf(res.message, sizeof(res.message),
                         "%s (moka-sim injected fault)", SIM_EX_MESSAGE);
                break;
        default:
                run_business(app, ep, root, &plan, peer, &res);
                break;
        }

        if (res.body) {
                reply->status = 200;
                reply->content_type = "application/json; charset=utf-8";
                reply->blob_len = res.body->len;
                reply->blob = res.body;
                res.body = NULL;        /* the reply owns the reference */
        } else {
                render_envelope(&out, &res);
                sim_reply_json(reply, 200, &out);
        }
        if (plan.kind == SIM_FAULT_MALFORMED) {
                /* Half a JSON document is never a JSON document. */
                if (reply->blob)
                        reply->blob_len = reply->blob_len / 2;
                else if (reply->body)
                        reply->len = reply->len / 2;
                sim_stats_count_result(app->stats, "malformed");
        } else {
                sim_stats_count_result(app->stats, res.code);
        }
cleanup:
        sim_result_release(&res);
        sim_buf_free(&out);
        json_object_put(root);
}
