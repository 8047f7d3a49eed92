/*
 * moka-sim: a local simulator of the Moka dealer API (UpdateCustomer,
 * GetSaleList) with fault injection, for development, tests and
 * benchmarks of moka-bridge. This file only parses the command line and
 * wires the modules; see docs/moka-sim.md.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sim_app.h"
#include "sim_calls.h"
#include "sim_faults.h"
#include "sim_http.h"
#include "sim_ip.h"
#include "sim_stats.h"
#include "sim_store.h"
#include "sim_timer.h"

#define DEFAULT_LISTEN "127.0.0.1:8080"
#define DEFAULT_DEALER "1731:TestMoka2:HYSYHDS8DU8HU"
#define DEALERS_MAX 64

struct sim_options {
        const char *listen;
        const char *port_file;
        const char *fixture;
        const char *dealers[DEALERS_MAX];
        size_t ndealers;
        unsigned threads;
        unsigned max_connections;
        bool count_key_quirk;
        unsigned latency_ms;
        unsigned latency_jitter_ms;
        unsigned long call_log_max;
        struct sim_ip_list *ip_allow;   /* owned; NULL: every address */
        bool empty_invalid;             /* --empty-customer-request invalid */
};

static void usage(FILE *out)
{
        fputs(
"Usage: moka-sim [OPTIONS]\n"
"A local simulator of the Moka dealer API with fault injection.\n"
"\n"
"  --listen HOST:PORT        address to listen on (default " DEFAULT_LISTEN
")\n"
"                            port 0 picks a free port\n"
"  --port-file FILE          write the bound port to FILE once listening\n"
"  --fixture FILE            JSON fixture (default: built-in data set)\n"
"  --dealer CODE:USER:PASS   accepted credentials, repeatable\n"
"                            (default " DEFAULT_DEALER ")\n"
"  --threads N               HTTP worker threads (default 2)\n"
"  --max-connections N       concurrent connections (default 10000)\n"
"  --count-key-quirk         GetSaleList writes \" DealerSaleListCount\"\n"
"                            with a leading space, as Moka's page shows\n"
"  --latency-ms N            default fixed latency of every answer\n"
"  --latency-jitter-ms N     default extra uniform latency 0..N\n"
"  --call-log-max N          call log entries kept (default 1000000,\n"
"                            0 disables the call log)\n"
"  --ip-allow ADDR[,ADDR...] IPv4/IPv6 addresses every dealer accepts\n"
"                            requests from (default: any); others get\n"
"                            ...CheckPaymentDealerAuthentication.\n"
"                            IpAddressNotAllowed; repeatable\n"
"  --empty-customer-request MODE\n"
"                            answer to an UpdateCustomer naming no\n"
"                            customer: must-be-given (default,\n"
"                            ...CustomerCodeOrDealerCustomerIdMustBeGiven)\n"
"                            or invalid (...InvalidRequest)\n"
"  -h, --help                this text\n"
"\n"
"Endpoints: POST /DealerCustomer/UpdateCustomer, POST /DealerSale/"
"GetSaleList;\n"
"control: /_sim/faults (GET, POST), /_sim/dealers (GET, POST),\n"
"/_sim/reset (POST), /_sim/stats, /_sim/calls[?customer=X], /_sim/health.\n"
"See docs/moka-sim.md.\n",
              out);
}

static int parse_uint(const char *opt, const char *s, unsigned long max,
                      unsigned long *out)
{
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || end == s || *end != '\0' || s[0] == '-' || v > max) {
                fprintf(stderr, "moka-sim: %s: expected an integer in "
                        "[0, %lu], got \"%s\"\n", opt, max, s);
                return -1;
        }
        *out = v;
        return 0;
}

static int parse_args(int argc, char **argv, struct sim_options *o)
{
        enum {
                OPT_LISTEN = 256, OPT_PORT_FILE, OPT_FIXTURE, OPT_DEALER,
                OPT_THREADS, OPT_MAX_CONN, OPT_QUIRK, OPT_LATENCY,
                OPT_JITTER, OPT_CALL_LOG_MAX, OPT_IP_ALLOW, OPT_EMPTY,
        };
        static const struct option longopts[] = {
                { "listen", required_argument, NULL, OPT_LISTEN },
                { "port-file", required_argument, NULL, OPT_PORT_FILE },
                { "fixture", required_argument, NULL, OPT_FIXTURE },
                { "dealer", required_argument, NULL, OPT_DEALER },
                { "threads", required_argument, NULL, OPT_THREADS },
                { "max-connections", required_argument, NULL,
                  OPT_MAX_CONN },
                { "count-key-quirk", no_argument, NULL, OPT_QUIRK },
                { "latency-ms", required_argument, NULL, OPT_LATENCY },
                { "latency-jitter-ms", required_argument, NULL, OPT_JITTER },
                { "call-log-max", required_argument, NULL,
                  OPT_CALL_LOG_MAX },
                { "ip-allow", required_argument, NULL, OPT_IP_ALLOW },
                { "empty-customer-request", required_argument, NULL,
                  OPT_EMPTY },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        char err[160];
        unsigned long v;
        int c;

        memset(o, 0, sizeof(*o));
        o->listen = DEFAULT_LISTEN;
        o->threads = 2;
        o->max_connections = 10000;
        o->call_log_max = 1000000;
        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
                switch (c) {
                case OPT_LISTEN:
                        o->listen = optarg;
                        break;
                case OPT_PORT_FILE:
                        o->port_file = optarg;
                        break;
                case OPT_FIXTURE:
                        o->fixture = optarg;
                        break;
                case OPT_DEALER:
                        if (o->ndealers == DEALERS_MAX) {
                                fprintf(stderr, "moka-sim: at most %d "
                                        "--dealer options\n", DEALERS_MAX);
                                return -1;
                        }
                        o->dealers[o->ndealers++] = optarg;
                        break;
                case OPT_THREADS:
                        if (parse_uint("--threads", optarg, 256, &v))
                                return -1;
                        o->threads = v ? (unsigned)v : 1;
                        break;
                case OPT_MAX_CONN:
                        if (parse_uint("--max-connections", optarg, 1000000,
                                       &v))
                                return -1;
                        o->max_connections = v ? (unsigned)v : 1;
                        break;
                case OPT_QUIRK:
                        o->count_key_quirk = true;
                        break;
                case OPT_LATENCY:
                        if (parse_uint("--latency-ms", optarg, 3600000, &v))
                                return -1;
                        o->latency_ms = (unsigned)v;
                        break;
                case OPT_JITTER:
                        if (parse_uint("--latency-jitter-ms", optarg,
                                       3600000, &v))
                                return -1;
                        o->latency_jitter_ms = (unsigned)v;
                        break;
                case OPT_CALL_LOG_MAX:
                        if (parse_uint("--call-log-max", optarg, ULONG_MAX,
                                       &v))
                                return -1;
                        o->call_log_max = v;
                        break;
                case OPT_IP_ALLOW:
                        /* Repeated options add up to one list. */
                        if (!o->ip_allow &&
                            !(o->ip_allow = sim_ip_list_create())) {
                                fprintf(stderr, "moka-sim: out of memory\n");
                                return -1;
                        }
                        if (sim_ip_list_add_csv(o->ip_allow, optarg, err,
                                                sizeof(err)) != 0) {
                                fprintf(stderr, "moka-sim: --ip-allow: %s\n",
                                        err);
                                return -1;
                        }
                        break;
                case OPT_EMPTY:
                        if (strcmp(optarg, "invalid") == 0) {
                                o->empty_invalid = true;
                        } else if (strcmp(optarg, "must-be-given") == 0) {
                                o->empty_invalid = false;
                        } else {
                                fprintf(stderr, "moka-sim: "
                                        "--empty-customer-request: expected "
                                        "must-be-given or invalid, got "
                                        "\"%s\"\n", optarg);
                                return -1;
                        }
                        break;
                case 'h':
                        usage(stdout);
                        exit(0);
                default:
                        usage(stderr);
                        return -1;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "moka-sim: unexpected argument \"%s\"\n",
                        argv[optind]);
                return -1;
        }
        if (o->ndealers == 0)
                o->dealers[o->ndealers++] = DEFAULT_DEALER;
        return 0;
}

/* Resolves "HOST:PORT", "[V6]:PORT" or ":PORT" (= 127.0.0.1). */
static int parse_listen(const char *s, struct sim_http_options *ho)
{
        struct addrinfo hints = { 0 };
        struct addrinfo *res = NULL;
        char host[256];
        const char *colon;
        const char *port;
        size_t hlen;
        unsigned long pv;
        int rc;

        if (s[0] == '[') {
                const char *close = strchr(s, ']');

                if (!close || close[1] != ':')
                        goto bad;
                hlen = (size_t)(close - s - 1);
                memcpy(host, s + 1, hlen < sizeof(host) ? hlen : 0);
                colon = close + 1;
        } else {
                colon = strrchr(s, ':');
                if (!colon)
                        goto bad;
                hlen = (size_t)(colon - s);
                memcpy(host, s, hlen < sizeof(host) ? hlen : 0);
        }
        if (hlen >= sizeof(host))
                goto bad;
        host[hlen] = '\0';
        if (hlen == 0)
                strcpy(host, "127.0.0.1");
        port = colon + 1;
        if (parse_uint("--listen", port, 65535, &pv) != 0)
                return -1;
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE;
        rc = getaddrinfo(host, port, &hints, &res);
        if (rc != 0 || !res) {
                fprintf(stderr, "moka-sim: --listen %s: %s\n", s,
                        gai_strerror(rc));
                return -1;
        }
        memcpy(&ho->addr, res->ai_addr, res->ai_addrlen);
        ho->addrlen = res->ai_addrlen;
        freeaddrinfo(res);
        return 0;
bad:
        fprintf(stderr, "moka-sim: --listen: expected HOST:PORT, got "
                "\"%s\"\n", s);
        return -1;
}

static int write_port_file(const char *path, unsigned port)
{
        char tmp[PATH_MAX];
        FILE *f;

        if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path,
                     (long)getpid()) >= (int)sizeof(tmp))
                return -1;
        f = fopen(tmp, "w");
        if (!f)
                return -1;
        fprintf(f, "%u\n", port);
        if (fclose(f) != 0) {
                unlink(tmp);
                return -1;
        }
        /* Rename, so a reader never sees a half-written file. */
        if (rename(tmp, path) != 0) {
                unlink(tmp);
                return -1;
        }
        return 0;
}

static void raise_fd_limit(void)
{
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                setrlimit(RLIMIT_NOFILE, &rl);
        }
}

int main(int argc, char **argv)
{
        struct sim_options o;
        struct sim_http_options ho = { 0 };
        struct sim_store_options so = { 0 };
        struct sim_fault_settings fs;
        struct sim_app app = { 0 };
        struct sim_http *http = NULL;
        char host[NI_MAXHOST];
        char err[512];
        sigset_t sigs;
        size_t ndealers, ncustomers, nsales;
        int sig = 0;
        int rc = 1;

        if (parse_args(argc, argv, &o) != 0 ||
            parse_listen(o.listen, &ho) != 0) {
                sim_ip_list_destroy(o.ip_allow);
                return 2;
        }
        ho.threads = o.threads;
        ho.max_connections = o.max_connections;

        /* Threads inherit this mask; only sigwait() below sees them. */
        sigemptyset(&sigs);
        sigaddset(&sigs, SIGINT);
        sigaddset(&sigs, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &sigs, NULL);
        signal(SIGPIPE, SIG_IGN);
        raise_fd_limit();

        so.fixture_path = o.fixture;
        so.dealers = o.dealers;
        so.ndealers = o.ndealers;
        so.count_key_quirk = o.count_key_quirk;
        so.ip_allow = o.ip_allow;       /* the store keeps its own copy */
        app.store = sim_store_create(&so, err, sizeof(err));
        if (!app.store) {
                fprintf(stderr, "moka-sim: %s\n", err);
                goto cleanup;
        }
        sim_fault_settings_default(&fs);
        fs.latency_ms = o.latency_ms;
        fs.latency_jitter_ms = o.latency_jitter_ms;
        fs.empty_invalid = o.empty_invalid;
        app.faults = sim_faults_create(&fs);
        app.stats = sim_stats_create();
        app.calls = sim_calls_create(o.call_log_max);
        app.timer = sim_timer_create();
        if (!app.faults || !app.stats || !app.calls || !app.timer) {
                fprintf(stderr, "moka-sim: out of memory or threads\n");
                goto cleanup;
        }
        http = sim_http_start(&app, &ho, err, sizeof(err));
        if (!http) {
                fprintf(stderr, "moka-sim: --listen %s: %s\n", o.listen,
                        err);
                goto cleanup;
        }
        if (getnameinfo((struct sockaddr *)&ho.addr, ho.addrlen, host,
                        sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
                strcpy(host, "?");
        if (o.port_file && write_port_file(o.port_file, sim_http_port(http))) {
                fprintf(stderr, "moka-sim: --port-file %s: %s\n",
                        o.port_file, strerror(errno));
                goto cleanup;
        }
        sim_store_counts(app.store, &ndealers, &ncustomers, &nsales);
        fprintf(stderr, "moka-sim: %zu dealers, %zu customers, %zu sales "
                "from %s; %u threads\n", ndealers, ncustomers, nsales,
                o.fixture ? o.fixture : "the built-in data set", o.threads);
        printf("moka-sim listening on %s%s%s:%u\n",
               ho.addr.ss_family == AF_INET6 ? "[" : "", host,
               ho.addr.ss_family == AF_INET6 ? "]" : "",
               sim_http_port(http));
        fflush(stdout);

        while (sigwait(&sigs, &sig) != 0)
                ;
        fprintf(stderr, "moka-sim: signal %d, stopping\n", sig);
        rc = 0;
cleanup:
        sim_http_stop(http);
        sim_timer_destroy(app.timer);
        sim_calls_destroy(app.calls);
        sim_stats_destroy(app.stats);
        sim_faults_destroy(app.faults);
        sim_store_destroy(app.store);
        sim_ip_list_destroy(o.ip_allow);
        return rc;
}
