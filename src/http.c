#include "http.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <curl/curl.h>

#include "timer.h"

/* Largest Moka answer we buffer; a sale list of 50,000 sales is ~25 MB. */
#define HTTP_MAX_BODY (256u * 1024u * 1024u)

/* libcurl's receive buffer, per handle (it keeps one per pooled handle, so
 * 256 of them): an UpdateCustomer answer is about 1 KB, so 4 KB instead of
 * the default 16 KB saves 3 MB; sale lists, up to megabytes, read in
 * 64 KB chunks. */
#define HTTP_RECV_BUFFER_SMALL 4096L
#define HTTP_RECV_BUFFER_LARGE 65536L

/* The smallest body for which some libcurl sends "Expect: 100-continue"
 * (1024 bytes before 7.69, 1 MiB since). */
#define HTTP_EXPECT_MIN 1024

struct http_shard;

struct http_request {
        struct http_request *pool_next;
        struct http_request *all_next; /* every request ever created */
        bool running;
        CURL *easy;
        struct http_shard *shard; /* whose multi runs it, while running */
        long recv_buffer; /* CURLOPT_BUFFERSIZE set on `easy` */
        void *owner;
        char *body;
        size_t len;
        size_t cap;
        char error[CURL_ERROR_SIZE];
};

/* Requests run in several multi handles of at most HTTP_SHARD_MAX
 * transfers each. libcurl looks for an idle connection by walking every
 * connection of the host in its multi's cache (ConnectionExists), busy ones
 * included: with 256 requests in one multi that walk cost ~3 us per request
 * on the benchmark machine (30.1 us of CPU an event at 256 in flight, 26.9
 * at 64). Each shard has its own cache, so the walk is at most
 * HTTP_SHARD_MAX long. */
#define HTTP_SHARD_MAX 64

struct http_shard {
        struct http *h;
        CURLM *multi;
        uint32_t index;
        int inflight;
        uint64_t timer_due_ms; /* libcurl's timeout, UINT64_MAX: none */
};

struct http {
        struct http_shard *shards;
        int shard_cnt;
        int shard_cap; /* transfers per shard */
        /* Request headers: `headers` for bodies up to HTTP_EXPECT_MIN,
         * `headers_large` adds the "Expect:" that turns off libcurl's
         * 100-continue round trip, which it only uses above that size. */
        struct curl_slist *headers;
        struct curl_slist *headers_large;
        CURLU *curlu[MOKA_OP_COUNT]; /* each operation's URL, parsed once */
        int inflight;
        int inflight_high; /* most transfers at once */
        int max_inflight;
        struct http_request *pool; /* idle requests with their handles */
        struct http_request *all;
        struct http_options opts;
        /* Event-driven libcurl (curl_multi_socket_action): only sockets with
         * activity are serviced, instead of walking every transfer and
         * polling every connection on each turn of the loop. An epoll
         * entry's data is the socket and the index of its shard
         * (HTTP_EPOLL_WAKE for wake_fd). */
        int epfd;
        int wake_fd;           /* registered in epfd, or -1 */
        struct epoll_event ready[256];
        int ready_cnt;
};

#define HTTP_EPOLL_WAKE UINT32_MAX

static uint64_t http_epoll_data(uint32_t shard, int fd)
{
        return (uint64_t)shard << 32 | (uint32_t)fd;
}

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

/* CURLMOPT_SOCKETFUNCTION: mirror libcurl's interest in a socket in epoll. */
static int http_on_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
                          void *socketp)
{
        (void)easy;
        struct http_shard *sh = userp;
        struct http *h = sh->h;
        if (what == CURL_POLL_REMOVE) {
                /* The socket may already be closed; ENOENT/EBADF are fine. */
                epoll_ctl(h->epfd, EPOLL_CTL_DEL, fd, NULL);
                curl_multi_assign(sh->multi, fd, NULL);
                return 0;
        }
        struct epoll_event ev = {.data.u64 = http_epoll_data(sh->index, fd)};
        if (what & CURL_POLL_IN)
                ev.events |= EPOLLIN;
        if (what & CURL_POLL_OUT)
                ev.events |= EPOLLOUT;
        /* socketp marks a socket already in the set: MOD, else ADD (a
         * number another shard closed without telling may still be there:
         * EEXIST, then MOD, which also gives it this shard's index). */
        if (socketp) {
                if (epoll_ctl(h->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
                        return 0;
        }
        if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev) != 0 &&
            (errno != EEXIST ||
             epoll_ctl(h->epfd, EPOLL_CTL_MOD, fd, &ev) != 0))
                return -1;
        curl_multi_assign(sh->multi, fd, sh);
        return 0;
}

/* CURLMOPT_TIMERFUNCTION: remember when libcurl wants to be called. */
static int http_on_timer(CURLM *multi, long timeout_ms, void *userp)
{
        (void)multi;
        struct http_shard *sh = userp;
        sh->timer_due_ms = timeout_ms < 0
                                   ? UINT64_MAX
                                   : timer_now_ms() + (uint64_t)timeout_ms;
        return 0;
}

/* Appends `line` to *list; false (and *list unchanged) when out of memory. */
static bool http_header_add(struct curl_slist **list, const char *line)
{
        struct curl_slist *more = curl_slist_append(*list, line);
        if (!more)
                return false;
        *list = more;
        return true;
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
        if (h->opts.ca_file && h->opts.ca_file[0])
                curl_easy_setopt(e, CURLOPT_CAINFO, h->opts.ca_file);
        curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
        /* Only moka.proxy, never the environment: libcurl reads
         * http_proxy, HTTPS_PROXY and ALL_PROXY unless CURLOPT_PROXY is set
         * (an empty string: no proxy), and no_proxy, which would bypass
         * moka.proxy, unless CURLOPT_NOPROXY is. */
        curl_easy_setopt(e, CURLOPT_PROXY,
                         h->opts.proxy ? h->opts.proxy : "");
        curl_easy_setopt(e, CURLOPT_NOPROXY, "");
        curl_easy_setopt(e, CURLOPT_CURLU, h->curlu[0]);
        curl_easy_setopt(e, CURLOPT_BUFFERSIZE, HTTP_RECV_BUFFER_SMALL);
        req->recv_buffer = HTTP_RECV_BUFFER_SMALL;
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
        h->wake_fd = -1;
        h->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (h->epfd < 0) {
                snprintf(errstr, errstr_size, "epoll_create1: %s",
                         strerror(errno));
                http_destroy(h);
                return NULL;
        }
        h->shard_cnt = (opts->max_inflight + HTTP_SHARD_MAX - 1) /
                       HTTP_SHARD_MAX;
        if (h->shard_cnt < 1)
                h->shard_cnt = 1;
        h->shard_cap = (opts->max_inflight + h->shard_cnt - 1) / h->shard_cnt;
        h->shards = calloc((size_t)h->shard_cnt, sizeof(*h->shards));
        if (!h->shards)
                goto oom;
        for (int i = 0; i < h->shard_cnt; i++) {
                struct http_shard *sh = &h->shards[i];
                sh->h = h;
                sh->index = (uint32_t)i;
                sh->timer_due_ms = UINT64_MAX;
                sh->multi = curl_multi_init();
                if (!sh->multi)
                        goto oom;
                curl_multi_setopt(sh->multi, CURLMOPT_SOCKETFUNCTION,
                                  http_on_socket);
                curl_multi_setopt(sh->multi, CURLMOPT_SOCKETDATA, sh);
                curl_multi_setopt(sh->multi, CURLMOPT_TIMERFUNCTION,
                                  http_on_timer);
                curl_multi_setopt(sh->multi, CURLMOPT_TIMERDATA, sh);
                /* Keep one idle connection per possible request so a burst
                 * after a quiet moment does not reconnect. */
                curl_multi_setopt(sh->multi, CURLMOPT_MAXCONNECTS,
                                  (long)h->shard_cap);
                curl_multi_setopt(sh->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                                  (long)h->shard_cap);
        }
        /* The User-Agent as a header of the list, not CURLOPT_USERAGENT:
         * libcurl formats its request headers a byte at a time (~87
         * instructions a byte), and CURLOPT_USERAGENT is formatted twice
         * a request, a custom header once. */
        /* As Moka's SDKs send them (without an Accept of ours libcurl
         * sends its catch-all one). "Expect:" is in headers_large only. */
        static const char *const header_lines[] = {
                "Content-Type: application/json; charset=utf-8",
                "Accept: application/json",
                "User-Agent: moka-bridge/" MOKA_BRIDGE_VERSION,
        };
        for (size_t i = 0; i < sizeof(header_lines) / sizeof(*header_lines);
             i++) {
                if (!http_header_add(&h->headers, header_lines[i]) ||
                    !http_header_add(&h->headers_large, header_lines[i]))
                        goto oom;
        }
        if (!http_header_add(&h->headers_large, "Expect:"))
                goto oom;
        size_t base_len = strlen(opts->base_url);
        while (base_len > 0 && opts->base_url[base_len - 1] == '/')
                base_len--;
        for (int op = 0; op < MOKA_OP_COUNT; op++) {
                const char *path = moka_operation_path(op);
                /* the text is only needed until libcurl has parsed it */
                char *url = malloc(base_len + strlen(path) + 1);
                if (!url)
                        goto oom;
                memcpy(url, opts->base_url, base_len);
                strcpy(url + base_len, path);
                h->curlu[op] = curl_url();
                CURLUcode uc = h->curlu[op]
                                       ? curl_url_set(h->curlu[op],
                                                      CURLUPART_URL, url, 0)
                                       : CURLUE_OUT_OF_MEMORY;
                free(url);
                if (uc == CURLUE_OUT_OF_MEMORY)
                        goto oom;
                if (uc != CURLUE_OK) {
                        snprintf(errstr, errstr_size,
                                 "moka.base_url: libcurl cannot use it (%s)",
                                 curl_url_strerror(uc));
                        http_destroy(h);
                        return NULL;
                }
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
                        curl_multi_remove_handle(h->all->shard->multi,
                                                 h->all->easy);
                http_request_free(h->all);
                h->all = next;
        }
        for (int i = 0; h->shards && i < h->shard_cnt; i++)
                if (h->shards[i].multi)
                        curl_multi_cleanup(h->shards[i].multi);
        free(h->shards);
        if (h->epfd >= 0)
                close(h->epfd);
        curl_slist_free_all(h->headers);
        curl_slist_free_all(h->headers_large);
        for (int op = 0; op < MOKA_OP_COUNT; op++)
                curl_url_cleanup(h->curlu[op]);
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

int http_inflight_high(const struct http *h)
{
        return h->inflight_high;
}

/* Takes a finished or aborted request off the multi handle; the slot is
 * free from here on. */
static void http_detach(struct http *h, struct http_request *req)
{
        curl_multi_remove_handle(req->shard->multi, req->easy);
        req->shard->inflight--;
        req->shard = NULL;
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
        /* A parsed URL (CURLOPT_CURLU, kept alive by us until
         * http_destroy): libcurl copies it instead of parsing the string
         * and writing it back out on every transfer (~12,000 instructions
         * a request by callgrind). */
        curl_easy_setopt(req->easy, CURLOPT_CURLU, h->curlu[op]);
        /* Only a sale list can be large enough for compression to pay;
         * decoding costs every small UpdateCustomer answer CPU. */
        curl_easy_setopt(req->easy, CURLOPT_ACCEPT_ENCODING,
                         op == MOKA_OP_SALE_LIST ? "" : NULL);
        /* changing it makes libcurl reallocate the buffer: only on a
         * change of operation */
        long recv_buffer = op == MOKA_OP_SALE_LIST ? HTTP_RECV_BUFFER_LARGE
                                                   : HTTP_RECV_BUFFER_SMALL;
        if (req->recv_buffer != recv_buffer) {
                curl_easy_setopt(req->easy, CURLOPT_BUFFERSIZE, recv_buffer);
                req->recv_buffer = recv_buffer;
        }
        curl_easy_setopt(req->easy, CURLOPT_HTTPHEADER,
                         len > HTTP_EXPECT_MIN ? h->headers_large : h->headers);
        curl_easy_setopt(req->easy, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(req->easy, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)len);
        /* The shard with the fewest transfers has the most idle
         * connections to reuse. */
        struct http_shard *sh = &h->shards[0];
        for (int i = 1; i < h->shard_cnt; i++)
                if (h->shards[i].inflight < sh->inflight)
                        sh = &h->shards[i];
        if (curl_multi_add_handle(sh->multi, req->easy) != CURLM_OK) {
                http_pool_put(h, req);
                return NULL;
        }
        req->shard = sh;
        sh->inflight++;
        if (++h->inflight > h->inflight_high)
                h->inflight_high = h->inflight;
        req->running = true;
        return req;
}

void http_abort(struct http *h, struct http_request *req)
{
        http_detach(h, req);
        http_pool_put(h, req);
}

/* The earliest libcurl timeout of any shard, UINT64_MAX: none. */
static uint64_t http_timer_due(const struct http *h)
{
        uint64_t due = UINT64_MAX;
        for (int i = 0; i < h->shard_cnt; i++)
                if (h->shards[i].timer_due_ms < due)
                        due = h->shards[i].timer_due_ms;
        return due;
}

int http_wait(struct http *h, int wake_fd, int timeout_ms)
{
        if (wake_fd != h->wake_fd) {
                if (h->wake_fd >= 0)
                        epoll_ctl(h->epfd, EPOLL_CTL_DEL, h->wake_fd, NULL);
                struct epoll_event ev = {
                        .events = EPOLLIN,
                        .data.u64 = http_epoll_data(HTTP_EPOLL_WAKE, wake_fd)};
                if (wake_fd >= 0 &&
                    epoll_ctl(h->epfd, EPOLL_CTL_ADD, wake_fd, &ev) != 0)
                        wake_fd = -1;
                h->wake_fd = wake_fd;
        }
        uint64_t due = http_timer_due(h);
        if (due != UINT64_MAX) {
                uint64_t now = timer_now_ms();
                uint64_t until = due > now ? due - now : 0;
                if (until < (uint64_t)timeout_ms)
                        timeout_ms = (int)until;
        }
        int n = epoll_wait(h->epfd, h->ready,
                           (int)(sizeof(h->ready) / sizeof(h->ready[0])),
                           timeout_ms);
        h->ready_cnt = n > 0 ? n : 0;
        int woken = 0;
        for (int i = 0; i < h->ready_cnt; i++)
                if (h->ready[i].data.u64 >> 32 == HTTP_EPOLL_WAKE)
                        woken = 1;
        return woken;
}

static void http_collect(struct http *h, struct http_shard *sh,
                         http_done_cb cb, void *arg)
{
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(sh->multi, &left))) {
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

void http_perform(struct http *h, http_done_cb cb, void *arg)
{
        int running;
        for (int i = 0; i < h->ready_cnt; i++) {
                const struct epoll_event *ev = &h->ready[i];
                uint32_t shard = (uint32_t)(ev->data.u64 >> 32);
                if (shard >= (uint32_t)h->shard_cnt)
                        continue; /* the wake fd */
                int flags = 0;
                if (ev->events & EPOLLIN)
                        flags |= CURL_CSELECT_IN;
                if (ev->events & EPOLLOUT)
                        flags |= CURL_CSELECT_OUT;
                if (ev->events & (EPOLLERR | EPOLLHUP))
                        flags |= CURL_CSELECT_ERR;
                curl_multi_socket_action(h->shards[shard].multi,
                                         (curl_socket_t)(uint32_t)ev->data.u64,
                                         flags, &running);
        }
        h->ready_cnt = 0;
        uint64_t now = timer_now_ms();
        for (int i = 0; i < h->shard_cnt; i++) {
                struct http_shard *sh = &h->shards[i];
                if (sh->timer_due_ms != UINT64_MAX && now >= sh->timer_due_ms) {
                        sh->timer_due_ms = UINT64_MAX;
                        curl_multi_socket_action(sh->multi, CURL_SOCKET_TIMEOUT,
                                                 0, &running);
                }
        }
        for (int i = 0; i < h->shard_cnt; i++)
                http_collect(h, &h->shards[i], cb, arg);
}
