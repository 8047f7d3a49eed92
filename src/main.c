/* moka-bridge: command line and wiring; the work happens in bridge.c. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <librdkafka/rdkafka.h>

#include "bridge.h"
#include "config.h"
#include "log.h"
#include "replay.h"

static struct bridge *main_bridge;
static volatile sig_atomic_t main_signals;

static void main_on_signal(int sig)
{
        if (sig == SIGHUP) {
                /* Re-read the password files (secrets rotate without a
                 * restart). */
                if (main_bridge)
                        bridge_request_reload(main_bridge);
                return;
        }
        /* First signal: drain and stop. Second: leave at once. */
        if (main_signals++ > 0)
                _exit(2);
        if (main_bridge)
                bridge_request_stop(main_bridge);
}

static void main_usage(FILE *out)
{
        fprintf(out,
                "usage: moka-bridge <command> [options]\n"
                "\n"
                "commands:\n"
                "  run --config FILE           consume events, call Moka, "
                "publish replies\n"
                "  check-config --config FILE  validate FILE, print the "
                "effective\n"
                "                              configuration (secrets "
                "masked)\n"
                "  check-config --reference    print every configuration "
                "key\n"
                "  replay --config FILE --dlq TOPIC [options]\n"
                "                              republish dead-letter records "
                "(below)\n"
                "  version                     print the version\n"
                "\n"
                "Every key can be overridden with MOKA_BRIDGE_<GROUP>_<KEY>, "
                "e.g.\n"
                "MOKA_BRIDGE_KAFKA_BROKERS. See docs/configuration.md.\n"
                "\n"
                "run: SIGTERM or SIGINT stops fetching, finishes in-flight "
                "events\n"
                "within limits.shutdown_timeout_ms, commits and exits 0; a "
                "second\n"
                "signal exits at once with status 2.\n"
                "\n");
        replay_usage(out);
}

static const char *main_config_arg(int argc, char **argv)
{
        for (int i = 2; i < argc; i++) {
                if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
                        return argv[i + 1];
                if (strncmp(argv[i], "--config=", 9) == 0)
                        return argv[i] + 9;
        }
        return NULL;
}

static int main_has_flag(int argc, char **argv, const char *flag)
{
        for (int i = 1; i < argc; i++)
                if (strcmp(argv[i], flag) == 0)
                        return 1;
        return 0;
}

static struct config *main_load(const char *cmd, int argc, char **argv)
{
        const char *path = main_config_arg(argc, argv);
        if (!path) {
                fprintf(stderr, "moka-bridge %s: --config FILE is required\n",
                        cmd);
                return NULL;
        }
        char err[1024];
        struct config *conf = config_load(path, NULL, err, sizeof(err));
        if (!conf)
                fprintf(stderr, "%s\n", err);
        return conf;
}

static int main_run(int argc, char **argv)
{
        struct config *conf = main_load("run", argc, argv);
        if (!conf)
                return 1;
        log_set_level(conf->log_level);

        char err[1024];
        struct bridge *b = bridge_create(conf, err, sizeof(err));
        if (!b) {
                log_error("start-up failed", "\"error\":%s",
                          log_json_escape(err));
                config_destroy(conf);
                return 1;
        }
        main_bridge = b;
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = main_on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        int rc = bridge_run(b);
        bridge_destroy(b);
        main_bridge = NULL;
        config_destroy(conf);
        curl_global_cleanup();
        return rc;
}

static int main_check_config(int argc, char **argv)
{
        if (main_has_flag(argc, argv, "--reference")) {
                config_print_reference(stdout);
                return 0;
        }
        struct config *conf = main_load("check-config", argc, argv);
        if (!conf)
                return 1;
        config_print(conf, stdout);
        config_destroy(conf);
        return 0;
}

int main(int argc, char **argv)
{
        if (argc < 2) {
                main_usage(stderr);
                return 1;
        }
        const char *cmd = argv[1];
        if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
            strcmp(cmd, "help") == 0) {
                main_usage(stdout);
                return 0;
        }
        if (main_has_flag(argc, argv, "--help") ||
            main_has_flag(argc, argv, "-h")) {
                main_usage(stdout);
                return 0;
        }
        if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
                printf("moka-bridge %s (librdkafka %s, %s)\n",
                       MOKA_BRIDGE_VERSION, rd_kafka_version_str(),
                       curl_version());
                return 0;
        }
        if (strcmp(cmd, "run") == 0)
                return main_run(argc, argv);
        if (strcmp(cmd, "check-config") == 0)
                return main_check_config(argc, argv);
        if (strcmp(cmd, "replay") == 0)
                return replay_main(argc - 1, argv + 1);
        fprintf(stderr, "moka-bridge: unknown command \"%s\"\n\n", cmd);
        main_usage(stderr);
        return 1;
}
