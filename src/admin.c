#include "admin.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "timer.h"

#if MHD_VERSION < 0x00097002
typedef int MHD_RESULT;
#else
typedef enum MHD_Result MHD_RESULT;
#endif

struct admin {
        struct MHD_Daemon *daemon;
        struct metrics *metrics;
        unsigned stall_ms;
        unsigned port;
};

static MHD_RESULT admin_send(struct MHD_Connection *conn, unsigned status,
                             const char *type, char *body, size_t len,
                             enum MHD_ResponseMemoryMode mode)
{
        struct MHD_Response *r =
                MHD_create_response_from_buffer(len, body, mode);
        if (!r)
                return MHD_NO;
        MHD_add_response_header(r, "Content-Type", type);
        MHD_RESULT ret = MHD_queue_response(conn, status, r);
        MHD_destroy_response(r);
        return ret;
}

static MHD_RESULT admin_text(struct MHD_Connection *conn, unsigned status,
                             const char *text)
{
        return admin_send(conn, status, "text/plain", (char *)text,
                          strlen(text), MHD_RESPMEM_PERSISTENT);
}

static MHD_RESULT admin_on_request(void *cls, struct MHD_Connection *conn,
                                   const char *url, const char *method,
                                   const char *version, const char *upload,
                                   size_t *upload_size, void **state)
{
        struct admin *a = cls;
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
                return admin_text(conn, 405, "GET only\n");
        if (strcmp(url, "/metrics") == 0) {
                size_t len = 0;
                char *body = metrics_render(a->metrics, &len);
                if (!body)
                        return admin_text(conn, 500, "out of memory\n");
                return admin_send(conn, 200,
                                  "text/plain; version=0.0.4; charset=utf-8",
                                  body, len, MHD_RESPMEM_MUST_FREE);
        }
        if (strcmp(url, "/healthz") == 0) {
                if (metrics_healthy(a->metrics, timer_now_ms(), a->stall_ms))
                        return admin_text(conn, 200, "ok\n");
                return admin_text(conn, 503, "event loop stalled\n");
        }
        if (strcmp(url, "/readyz") == 0) {
                if (metrics_ready(a->metrics))
                        return admin_text(conn, 200, "ready\n");
                return admin_text(conn, 503,
                                  "not ready: not in the group or paused for "
                                  "a Moka outage\n");
        }
        return admin_text(conn, 404, "not found\n");
}

static int admin_parse_listen(const char *listen, struct sockaddr_in *sa,
                              char *errstr, size_t errstr_size)
{
        const char *colon = strrchr(listen, ':');
        if (!colon || colon == listen) {
                snprintf(errstr, errstr_size,
                         "admin.listen: expected HOST:PORT, got \"%s\"",
                         listen);
                return -1;
        }
        char host[256];
        snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
        char *end;
        long port = strtol(colon + 1, &end, 10);
        if (*end || port < 0 || port > 65535 || end == colon + 1) {
                snprintf(errstr, errstr_size,
                         "admin.listen: bad port in \"%s\"", listen);
                return -1;
        }
        memset(sa, 0, sizeof(*sa));
        sa->sin_family = AF_INET;
        sa->sin_port = htons((uint16_t)port);
        if (strcmp(host, "*") == 0 || strcmp(host, "0.0.0.0") == 0) {
                sa->sin_addr.s_addr = htonl(INADDR_ANY);
                return 0;
        }
        if (inet_pton(AF_INET, host, &sa->sin_addr) == 1)
                return 0;
        struct addrinfo hints = {.ai_family = AF_INET}, *res = NULL;
        if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res) {
                snprintf(errstr, errstr_size,
                         "admin.listen: cannot resolve \"%s\"", host);
                return -1;
        }
        sa->sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
        freeaddrinfo(res);
        return 0;
}

struct admin *admin_create(const char *listen, struct metrics *metrics,
                           unsigned stall_ms, char *errstr,
                           size_t errstr_size)
{
        struct sockaddr_in sa;
        if (admin_parse_listen(listen, &sa, errstr, errstr_size))
                return NULL;
        struct admin *a = calloc(1, sizeof(*a));
        if (!a) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        a->metrics = metrics;
        a->stall_ms = stall_ms;
        a->daemon = MHD_start_daemon(
                MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
                NULL, admin_on_request, a, MHD_OPTION_SOCK_ADDR, &sa,
                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
        if (!a->daemon) {
                snprintf(errstr, errstr_size,
                         "admin.listen: cannot listen on %s", listen);
                free(a);
                return NULL;
        }
        const union MHD_DaemonInfo *info =
                MHD_get_daemon_info(a->daemon, MHD_DAEMON_INFO_BIND_PORT);
        a->port = info ? info->port : ntohs(sa.sin_port);
        return a;
}

unsigned admin_port(const struct admin *a)
{
        return a->port;
}

void admin_destroy(struct admin *a)
{
        if (!a)
                return;
        if (a->daemon)
                MHD_stop_daemon(a->daemon);
        free(a);
}
