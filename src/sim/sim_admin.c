/*
 * sim_admin: /_sim/ control API, see sim_admin.h.
 */
#include "sim_admin.h"

#include <stdio.h>
#include <string.h>

#include "sim_calls.h"
#include "sim_faults.h"
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
