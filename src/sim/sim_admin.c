/*
 * sim_admin: /_sim/ control API, see sim_admin.h.
 */
#include "sim_admin.h"

#include <stdio.h>
#include <string.h>

#include "sim_calls.h"
#include "sim_faults.h"
#include "sim_ip.h"
#include "sim_json.h"
#include "sim_stats.h"
#include "sim_store.h"
#include "sim_timer.h"

static void reply_error(struct sim_reply *r, unsigned status,
                        const char *msg)
{
        struct sim_buf b = { 0 };

        sim_buf_puts(&b, "{\"error\":");
        sim_buf_json_str(&b, msg);
        sim_buf_puts(&b, "}");
        sim_reply_json(r, status, &b);
        sim_buf_free(&b);
}

static void method_not_allowed(struct sim_reply *r, const char *allow)
{
        sim_reply_status(r, 405);
        r->allow = allow;
}

static void admin_faults(struct sim_app *app, const char *method,
                         const char *body, size_t len, struct sim_reply *r)
{
        struct sim_buf b = { 0 };
        char err[256];

        if (strcmp(method, "POST") == 0) {
                if (sim_faults_apply_json(app->faults, body, len, err,
                                          sizeof(err)) != 0) {
                        reply_error(r, 400, err);
                        return;
                }
        } else if (strcmp(method, "GET") != 0) {
                method_not_allowed(r, "GET, POST");
                return;
        }
        sim_faults_render(app->faults, &b);
        sim_reply_json(r, 200, &b);
        sim_buf_free(&b);
}

/* Reads a non-empty string value of key k into *out. */
static int dealer_str(struct json_object *v, const char *k, const char **out,
                      char *err, size_t errlen)
{
        if (!json_object_is_type(v, json_type_string) ||
            json_object_get_string_len(v) == 0) {
                snprintf(err, errlen, "%s: expected a non-empty string", k);
                return -1;
        }
        *out = json_object_get_string(v);
        return 0;
}

/* null: no list (*out NULL); else an array of address literals. */
static int dealer_ip_allow(struct json_object *v, struct sim_ip_list **out,
                           char *err, size_t errlen)
{
        struct sim_ip_list *l;
        struct sim_ip ip;
        size_t i;
        size_t n;

        *out = NULL;
        if (!v)
                return 0;
        if (!json_object_is_type(v, json_type_array)) {
                snprintf(err, errlen, "ip_allow: expected an array of "
                         "addresses or null");
                return -1;
        }
        l = sim_ip_list_create();
        if (!l) {
                snprintf(err, errlen, "out of memory");
                return -1;
        }
        n = json_object_array_length(v);
        for (i = 0; i < n; i++) {
                struct json_object *e = json_object_array_get_idx(v, i);

                if (!json_object_is_type(e, json_type_string) ||
                    !sim_ip_parse(json_object_get_string(e), &ip)) {
                        snprintf(err, errlen, "ip_allow[%zu]: expected an "
                                 "IPv4 or IPv6 address", i);
                        goto fail;
                }
                if (sim_ip_list_add(l, &ip) != 0) {
                        snprintf(err, errlen, "out of memory");
                        goto fail;
                }
        }
        *out = l;
        return 0;
fail:
        sim_ip_list_destroy(l);
        return -1;
}

/* Applies a POST /_sim/dealers body; -1 with err filled when bad. */
static int dealers_apply(struct sim_app *app, const char *body, size_t len,
                         char *err, size_t errlen)
{
        struct sim_dealer_change c = { 0 };
        struct sim_ip_list *allow = NULL;
        struct json_object *root;
        int rc = -1;

        root = sim_json_parse(body, len, err, errlen);
        if (!root)
                return -1;
        if (!json_object_is_type(root, json_type_object)) {
                snprintf(err, errlen, "expected a JSON object");
                goto cleanup;
        }
        json_object_object_foreach(root, key, v) {
                int r;

                if (strcmp(key, "dealer_code") == 0) {
                        r = dealer_str(v, key, &c.dealer_code, err, errlen);
                } else if (strcmp(key, "username") == 0) {
                        r = dealer_str(v, key, &c.username, err, errlen);
                } else if (strcmp(key, "password") == 0) {
                        r = dealer_str(v, key, &c.password, err, errlen);
                } else if (strcmp(key, "ip_allow") == 0) {
                        sim_ip_list_destroy(allow);
                        r = dealer_ip_allow(v, &allow, err, errlen);
                        c.set_ip_allow = true;
                } else {
                        snprintf(err, errlen, "unknown key \"%.40s\"", key);
                        r = -1;
                }
                if (r != 0)
                        goto cleanup;
        }
        if (!c.dealer_code) {
                snprintf(err, errlen, "dealer_code is required");
                goto cleanup;
        }
        c.ip_allow = allow;
        rc = sim_store_set_dealer(app->store, &c, err, errlen);
cleanup:
        sim_ip_list_destroy(allow);
        json_object_put(root);         /* the password's only copy here */
        return rc;
}

static void admin_dealers(struct sim_app *app, const char *method,
                          const char *body, size_t len, struct sim_reply *r)
{
        struct sim_buf b = { 0 };
        char err[256];

        if (strcmp(method, "POST") == 0) {
                if (dealers_apply(app, body, len, err, sizeof(err)) != 0) {
                        reply_error(r, 400, err);
                        return;
                }
        } else if (strcmp(method, "GET") != 0) {
                method_not_allowed(r, "GET, POST");
                return;
        }
        sim_store_render_dealers(app->store, &b);
        sim_reply_json(r, 200, &b);
        sim_buf_free(&b);
}

static void admin_reset(struct sim_app *app, const char *method,
                        struct sim_reply *r)
{
        struct sim_buf b = { 0 };
        char err[512];

        if (strcmp(method, "POST") != 0) {
                method_not_allowed(r, "POST");
                return;
        }
        sim_faults_reset(app->faults);
        sim_calls_reset(app->calls);
        sim_stats_reset(app->stats);
        if (sim_store_reload(app->store, err, sizeof(err)) != 0) {
                reply_error(r, 500, err);
                return;
        }
        sim_buf_puts(&b, "{\"reset\":true}");
        sim_reply_json(r, 200, &b);
        sim_buf_free(&b);
}

void sim_admin_handle(struct sim_app *app, const char *method,
                      const char *path, const char *customer,
                      const char *body, size_t len, struct sim_reply *reply)
{
        struct sim_buf b = { 0 };
        bool get = strcmp(method, "GET") == 0;

        if (strcmp(path, "/_sim/faults") == 0) {
                admin_faults(app, method, body, len, reply);
        } else if (strcmp(path, "/_sim/dealers") == 0) {
                admin_dealers(app, method, body, len, reply);
        } else if (strcmp(path, "/_sim/reset") == 0) {
                admin_reset(app, method, reply);
        } else if (strcmp(path, "/_sim/stats") == 0) {
                if (!get) {
                        method_not_allowed(reply, "GET");
                        return;
                }
                sim_stats_render(app->stats, &b,
                                 sim_timer_pending(app->timer));
                sim_reply_json(reply, 200, &b);
        } else if (strcmp(path, "/_sim/calls") == 0) {
                if (!get) {
                        method_not_allowed(reply, "GET");
                        return;
                }
                if (customer)
                        sim_calls_render_customer(app->calls, customer, &b);
                else
                        sim_calls_render_summary(app->calls, &b);
                sim_reply_json(reply, 200, &b);
        } else if (strcmp(path, "/_sim/health") == 0) {
                sim_buf_puts(&b, "{\"status\":\"ok\"}");
                sim_reply_json(reply, 200, &b);
        } else {
                sim_reply_status(reply, 404);
        }
        sim_buf_free(&b);
}
