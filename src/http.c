#include "http.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

/* Largest Moka answer we buffer; a sale list of 50,000 sales is ~25 MB. */
#define HTTP_MAX_BODY (256u * 1024u * 1024u)

struct http_request {
        struct http_request *pool_next;
        struct http_request *all_next; /* every request ever created */
        bool running;
        CURL *easy;
        void *owner;
        char *body;
        size_t len;
        size_t cap;
        char error[CURL_ERROR_SIZE];
};

struct http {
        CURLM *multi;
        struct curl_slist *headers;
        char *url[MOKA_OP_COUNT];
        int inflight;
        int max_inflight;
        struct http_request *pool; /* idle requests with their handles */
        struct http_request *all;
        struct http_options opts;
};

static size_t http_on_body(char *ptr, size_t size, size_t nmemb, void *userp)
{
        struct http_request *req = userp;
        size_t n = size * nmemb;
        if (req->len + n + 1 > req->cap) {
                size_t cap = req->cap ? req->cap : 4096;
                while (cap < req->len + n + 1)
                        cap *= 2;
                if (cap > HTTP_MAX_BODY)
                        return 0; /* aborts with CURLE_WRITE_ERROR */
                char *body = realloc(req->body, cap);
                if (!body)
                        return 0;
                req->body = body;
                req->cap = cap;
        }
        memcpy(req->body + req->len, ptr, n);
        req->len += n;
        req->body[req->len] = '\0';
        return n;
}

static struct http_request *http_request_new(struct http *h)
{
        struct http_request *req = calloc(1, sizeof(*req));
        if (!req)
                return NULL;
        req->easy = curl_easy_init();
        if (!req->easy) {
                free(req);
                return NULL;
        }
        CURL *e = req->easy;
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_on_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, req);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->error);
        curl_easy_setopt(e, CURLOPT_PRIVATE, req);
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                         (long)h->opts.connect_timeout_ms);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                         (long)h->opts.request_timeout_ms);
        curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER,
                         h->opts.tls_verify ? 1L : 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST,
                         h->opts.tls_verify ? 2L : 0L);
        curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ""); /* gzip if offered */
        curl_easy_setopt(e, CURLOPT_USERAGENT, "moka-bridge/" MOKA_BRIDGE_VERSION);
        return req;
}

static void http_request_free(struct http_request *req)
{
        if (!req)
                return;
        curl_easy_cleanup(req->easy);
        free(req->body);
        free(req);
}

struct http *http_create(const struct http_options *opts, char *errstr,
                         size_t errstr_size)
{
        static int curl_ready;
        if (!curl_ready) {
                if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                        snprintf(errstr, errstr_size,
                                 "curl_global_init failed");
                        return NULL;
                }
                curl_ready = 1;
        }
        struct http *h = calloc(1, sizeof(*h));
        if (!h)
                goto oom;
        h->opts = *opts;
        h->max_inflight = opts->max_inflight;
        h->multi = curl_multi_init();
        if (!h->multi)
                goto oom;
        /* Keep one idle connection per possible request so a burst after a
         * quiet moment does not reconnect. */
        curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS,
                          (long)opts->max_inflight);
        curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                          (long)opts->max_inflight);
        h->headers = curl_slist_append(NULL, "Content-Type: application/json");
        /* No "Expect: 100-continue" round trip for larger bodies. */
        struct curl_slist *more = h->headers
                                          ? curl_slist_append(h->headers,
                                                              "Expect:")
                                          : NULL;
        if (!more)
                goto oom;
        h->headers = more;
        size_t base_len = strlen(opts->base_url);
        while (base_len > 0 && opts->base_url[base_len - 1] == '/')
                base_len--;
        for (int op = 0; op < MOKA_OP_COUNT; op++) {
                const char *path = moka_operation_path(op);
                h->url[op] = malloc(base_len + strlen(path) + 1);
                if (!h->url[op])
                        goto oom;
                memcpy(h->url[op], opts->base_url, base_len);
                strcpy(h->url[op] + base_len, path);
        }
        return h;
oom:
        snprintf(errstr, errstr_size, "out of memory creating the HTTP layer");
        http_destroy(h);
        return NULL;
}

void http_destroy(struct http *h)
{
        if (!h)
                return;
        while (h->all) {
                struct http_request *next = h->all->all_next;
                if (h->all->running)
                        curl_multi_remove_handle(h->multi, h->all->easy);
                http_request_free(h->all);
                h->all = next;
        }
        if (h->multi)
                curl_multi_cleanup(h->multi);
        curl_slist_free_all(h->headers);
        for (int op = 0; op < MOKA_OP_COUNT; op++)
                free(h->url[op]);
        free(h);
}

bool http_has_slot(const struct http *h)
{
        return h->inflight < h->max_inflight;
}

int http_inflight(const struct http *h)
{
        return h->inflight;
}

/* Takes a finished or aborted request off the multi handle; the slot is
 * free from here on. */
static void http_detach(struct http *h, struct http_request *req)
{
        curl_multi_remove_handle(h->multi, req->easy);
        h->inflight--;
        req->owner = NULL;
        req->running = false;
}

static void http_pool_put(struct http *h, struct http_request *req)
{
        req->pool_next = h->pool;
        h->pool = req;
}

struct http_request *http_start(struct http *h, enum moka_operation op,
                                const char *body, size_t len, void *owner)
{
        if (!http_has_slot(h))
                return NULL;
        struct http_request *req = h->pool;
        if (req)
                h->pool = req->pool_next;
        else if ((req = http_request_new(h))) {
                req->all_next = h->all;
                h->all = req;
        } else {
                return NULL;
        }
        req->pool_next = NULL;
        /* Big answers (sale lists) should not pin memory in the pool. */
        if (req->cap > 1024 * 1024) {
                free(req->body);
                req->body = NULL;
                req->cap = 0;
        }
        req->owner = owner;
        req->len = 0;
        req->error[0] = '\0';
        curl_easy_setopt(req->easy, CURLOPT_URL, h->url[op]);
        curl_easy_setopt(req->easy, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(req->easy, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)len);
        if (curl_multi_add_handle(h->multi, req->easy) != CURLM_OK) {
                http_pool_put(h, req);
                return NULL;
        }
        h->inflight++;
        req->running = true;
        return req;
}

void http_abort(struct http *h, struct http_request *req)
{
        http_detach(h, req);
        http_pool_put(h, req);
}

int http_wait(struct http *h, int wake_fd, int timeout_ms)
{
        struct curl_waitfd extra = {.fd = wake_fd, .events = CURL_WAIT_POLLIN};
        curl_multi_poll(h->multi, wake_fd >= 0 ? &extra : NULL,
                        wake_fd >= 0 ? 1 : 0, timeout_ms, NULL);
        return wake_fd >= 0 && (extra.revents & CURL_WAIT_POLLIN);
}

void http_perform(struct http *h, http_done_cb cb, void *arg)
{
        int running;
        curl_multi_perform(h->multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(h->multi, &left))) {
                if (msg->msg != CURLMSG_DONE)
                        continue;
                struct http_request *req = NULL;
                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &req);
                struct moka_transport t = {.curl_code = msg->data.result};
                curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE,
                                  &t.http_status);
                curl_off_t retry_after = 0;
                curl_easy_getinfo(req->easy, CURLINFO_RETRY_AFTER,
                                  &retry_after);
                t.retry_after_s = (long)retry_after;
                t.curl_error = req->error;
                t.body = req->body;
                t.body_len = req->len;
                void *owner = req->owner;
                /* Detach first so the callback may start a new request in
                 * the freed slot; the body goes back to the pool after. */
                http_detach(h, req);
                cb(owner, &t, arg);
                http_pool_put(h, req);
        }
}
