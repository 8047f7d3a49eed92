/*
 * sim_http: libmicrohttpd glue, see sim_http.h.
 *
 * A request lives in a struct sim_request from MHD's first call of the
 * access handler to the completion callback. Latency and hangs suspend
 * the connection (MHD_suspend_connection) and give it to sim_timer, which
 * resumes it when due; MHD then calls the handler again and the prepared
 * reply is queued. A worker thread is never blocked.
 */
#include "sim_http.h"

#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <microhttpd.h>

#include "sim_admin.h"
#include "sim_moka.h"
#include "sim_stats.h"
#include "sim_timer.h"

#define BODY_MAX (8u << 20)

/*
 * MHD zeroes a connection's memory pool after every request; bodies are
 * streamed into our own buffer, so 16 KiB (headers, small replies' head)
 * is plenty and halves that cost against the 32 KiB default.
 */
#define CONN_POOL_BYTES ((size_t)16384)

struct sim_http {
        struct MHD_Daemon *daemon;
        struct sim_app *app;
        unsigned port;
};

enum req_state {
        REQ_READING,            /* collecting the body */
        REQ_READY,              /* reply prepared (maybe suspended) */
};

struct sim_request {
        struct sim_app *app;
        struct MHD_Connection *conn;
        enum req_state state;
        struct sim_buf body;
        bool too_large;
        struct sim_reply reply;
};

/* ---- replies ----------------------------------------------------------- */

void sim_reply_json(struct sim_reply *r, unsigned status, struct sim_buf *b)
{
        free(r->body);
        r->status = status;
        r->content_type = "application/json; charset=utf-8";
        r->body = sim_buf_steal(b, &r->len);
        if (!r->body) {
                r->status = 500;
                r->len = 0;
        }
}

void sim_reply_status(struct sim_reply *r, unsigned status)
{
        const char *phrase = MHD_get_reason_phrase_for(status);

        free(r->body);
        r->status = status;
        r->content_type = "text/plain";
        r->body = strdup(phrase && *phrase ? phrase : "Error");
        r->len = r->body ? strlen(r->body) : 0;
}

void sim_reply_release(struct sim_reply *r)
{
        free(r->body);
        r->body = NULL;
        sim_blob_unref(r->blob);
        r->blob = NULL;
}

static void cb_blob_free(void *cls)
{
        sim_blob_unref(cls);
}

/* Closes with RST rather than FIN: what a reset looks like on the wire. */
static void set_abortive_close(struct MHD_Connection *conn)
{
        const union MHD_ConnectionInfo *ci;
        struct linger lg = { .l_onoff = 1, .l_linger = 0 };

        ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci)
                setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &lg,
                           sizeof(lg));
}

static enum MHD_Result send_reply(struct sim_request *rq)
{
        struct sim_reply *r = &rq->reply;
        struct MHD_Response *resp;
        enum MHD_Result ret;
        char num[16];

        if (r->reset) {
                set_abortive_close(rq->conn);
                return MHD_NO;
        }
        if (r->blob) {
                /* MHD owns the reference once the response exists. */
                resp = MHD_create_response_from_buffer_with_free_callback_cls(
                        r->blob_len, r->blob->data, cb_blob_free, r->blob);
                if (resp)
                        r->blob = NULL;
        } else {
                resp = MHD_create_response_from_buffer(r->len, r->body,
                                                       MHD_RESPMEM_MUST_FREE);
                if (resp)
                        r->body = NULL;
        }
        if (!resp)
                return MHD_NO;
        if (r->content_type)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                        r->content_type);
        if (r->allow)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
                                        r->allow);
        if (r->retry_after) {
                snprintf(num, sizeof(num), "%u", r->retry_after);
                MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER,
                                        num);
        }
        ret = MHD_queue_response(rq->conn, r->status, resp);
        MHD_destroy_response(resp);
        return ret;
}

/* ---- routing ----------------------------------------------------------- */

static bool moka_endpoint(const char *url, enum sim_endpoint *ep)
{
        int i;

        /* ASP.NET routing, which Moka runs on, ignores case. */
        for (i = 0; i < SIM_EP_COUNT; i++) {
                if (strcasecmp(url, sim_endpoint_path(i)) == 0) {
                        *ep = i;
                        return true;
                }
        }
        return false;
}

static void route(struct sim_request *rq, const char *url,
                  const char *method)
{
        struct sim_app *app = rq->app;
        const union MHD_ConnectionInfo *ci;
        struct sim_req_headers hdrs;
        struct sim_ip peer;
        bool have_peer;
        enum sim_endpoint ep;

        if (strncmp(url, "/_sim/", 6) == 0) {
                if (rq->too_large) {
                        sim_reply_status(&rq->reply, 413);
                        return;
                }
                sim_admin_handle(app, method, url,
                                 MHD_lookup_connection_value(
                                         rq->conn, MHD_GET_ARGUMENT_KIND,
                                         "customer"),
                                 rq->body.data ? rq->body.data : "",
                                 rq->body.len, &rq->reply);
                return;
        }
        if (!moka_endpoint(url, &ep)) {
                sim_stats_count_not_found(app->stats);
                sim_reply_status(&rq->reply, 404);
                return;
        }
        hdrs.user_agent = MHD_lookup_connection_value(
                rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_USER_AGENT);
        hdrs.content_type = MHD_lookup_connection_value(
                rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        hdrs.accept = MHD_lookup_connection_value(
                rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
        hdrs.expect = MHD_lookup_connection_value(
                rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
        sim_stats_count_headers(app->stats, &hdrs);
        if (strcmp(method, "POST") != 0) {
                sim_stats_count_request(app->stats, ep);
                sim_stats_count_result(app->stats, "http_405");
                sim_reply_status(&rq->reply, 405);
                rq->reply.allow = "POST";
                return;
        }
        if (rq->too_large) {
                sim_stats_count_request(app->stats, ep);
                sim_stats_count_result(app->stats, "http_413");
                sim_reply_status(&rq->reply, 413);
                return;
        }
        ci = MHD_get_connection_info(rq->conn,
                                     MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        have_peer = ci && sim_ip_from_sockaddr(ci->client_addr, &peer);
        sim_moka_handle(app, ep, rq->body.data ? rq->body.data : "",
                        rq->body.len, have_peer ? &peer : NULL, &rq->reply);
}

/* ---- MHD callbacks ----------------------------------------------------- */

/* Timer thread: the delay is over. */
static void on_timer_resume(void *arg)
{
        struct sim_request *rq = arg;

        MHD_resume_connection(rq->conn);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version,
                                  const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
        struct sim_app *app = cls;
        struct sim_request *rq = *con_cls;

        if (!rq) {
                rq = calloc(1, sizeof(*rq));
                if (!rq)
                        return MHD_NO;
                rq->app = app;
                rq->conn = conn;
                sim_stats_in_flight_add(app->stats, 1);
                *con_cls = rq;
                return MHD_YES;
        }
        if (rq->state == REQ_READING && *upload_data_size) {
                if (rq->body.len + *upload_data_size > BODY_MAX)
                        rq->too_large = true;
                else
                        sim_buf_append(&rq->body, upload_data,
                                       *upload_data_size);
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (rq->state == REQ_READING) {
                if (rq->body.oom)
                        return MHD_NO;
                route(rq, url, method);
                sim_buf_free(&rq->body);
                rq->state = REQ_READY;
                if (rq->reply.delay_ms > 0) {
                        /*
                         * Suspend first, then arm the timer, so the resume
                         * can never come before the suspend.
                         */
                        MHD_suspend_connection(conn);
                        if (sim_timer_add(app->timer, rq->reply.delay_ms,
                                          on_timer_resume, rq) != 0)
                                MHD_resume_connection(conn);    /* stopping */
                        return MHD_YES;
                }
        }
        return send_reply(rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
                         void **con_cls, enum MHD_RequestTerminationCode toe)
{
        struct sim_app *app = cls;
        struct sim_request *rq = *con_cls;

        if (!rq)
                return;
        sim_reply_release(&rq->reply);
        sim_buf_free(&rq->body);
        free(rq);
        *con_cls = NULL;
        sim_stats_in_flight_add(app->stats, -1);
}

/*
 * MHD's messages, minus two that are not errors here: the one logged for
 * every injected reset (the handler returned MHD_NO on purpose), and a
 * spurious complaint of MHD 0.9.75 about this very logger's position.
 */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
        char msg[512];

        vsnprintf(msg, sizeof(msg), fmt, ap);
        if (strstr(msg, "Application reported internal error") ||
            strstr(msg, "MHD_OPTION_EXTERNAL_LOGGER"))
                return;
        fprintf(stderr, "moka-sim: mhd: %s%s", msg,
                strchr(msg, '\n') ? "" : "\n");
}

/* ---- life cycle -------------------------------------------------------- */

struct sim_http *sim_http_start(struct sim_app *app,
                                const struct sim_http_options *o, char *err,
                                size_t errlen)
{
        struct sim_http *h = calloc(1, sizeof(*h));
        const union MHD_DaemonInfo *info;
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                         MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;

        if (!h) {
                snprintf(err, errlen, "out of memory");
                return NULL;
        }
        h->app = app;
        if (o->addr.ss_family == AF_INET6)
                flags |= MHD_USE_IPv6;
        h->daemon = MHD_start_daemon(
                flags, 0, NULL, NULL, on_request, app,
                MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
                MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&o->addr,
                MHD_OPTION_THREAD_POOL_SIZE,
                (unsigned int)(o->threads > 1 ? o->threads : 0),
                MHD_OPTION_CONNECTION_LIMIT, o->max_connections,
                MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
                MHD_OPTION_CONNECTION_TIMEOUT, 0u,
                MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONN_POOL_BYTES,
                MHD_OPTION_NOTIFY_COMPLETED, on_completed, app,
                MHD_OPTION_END);
        if (!h->daemon) {
                snprintf(err, errlen, "cannot start the HTTP server "
                         "(address in use or not available?)");
                free(h);
                return NULL;
        }
        info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
        h->port = info ? info->port : 0;
        return h;
}

unsigned sim_http_port(const struct sim_http *h)
{
        return h->port;
}

void sim_http_stop(struct sim_http *h)
{
        if (!h)
                return;
        sim_timer_stop(h->app->timer);
        MHD_stop_daemon(h->daemon);
        free(h);
}
