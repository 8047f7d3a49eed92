#include "kafka_conf.h"

#include <stdio.h>

#include "log.h"

/* librdkafka's own log lines, as JSON lines like ours (syslog levels). */
static void kafka_conf_on_log(const rd_kafka_t *rk, int level, const char *fac,
                              const char *buf)
{
        enum log_level l = level <= 3   ? LOG_ERROR
                           : level <= 4 ? LOG_WARN
                           : level <= 6 ? LOG_INFO
                                        : LOG_DEBUG;
        if (!log_enabled(l))
                return;
        log_write(l, "librdkafka", "\"client\":%s,\"facility\":%s,\"detail\":%s",
                  log_json_escape(rd_kafka_name(rk)), log_json_escape(fac),
                  log_json_escape(buf));
}

static int kafka_conf_apply(rd_kafka_conf_t *kc,
                            const struct kafka_setting *settings,
                            const char *origin, char *errstr,
                            size_t errstr_size)
{
        char err[512];
        for (const struct kafka_setting *s = settings; s && s->name; s++) {
                if (rd_kafka_conf_set(kc, s->name, s->value, err,
                                      sizeof(err)) != RD_KAFKA_CONF_OK) {
                        snprintf(errstr, errstr_size, "%s: %s: %s", origin,
                                 s->name, err);
                        return -1;
                }
        }
        return 0;
}

rd_kafka_conf_t *kafka_conf_build(const struct config *conf,
                                  const struct kafka_setting *defaults,
                                  const struct kafka_setting *forced,
                                  char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *kc = rd_kafka_conf_new();
        rd_kafka_conf_set_log_cb(kc, kafka_conf_on_log);
        const struct kafka_setting brokers[] = {
                {"bootstrap.servers", conf->kafka_brokers},
                {NULL, NULL},
        };
        if (kafka_conf_apply(kc, brokers, "kafka.brokers", errstr,
                             errstr_size) ||
            kafka_conf_apply(kc, defaults, "built-in default", errstr,
                             errstr_size))
                goto fail;
        char err[512];
        for (size_t i = 0; i < conf->kafka_properties_cnt; i++) {
                const struct config_property *p = &conf->kafka_properties[i];
                if (rd_kafka_conf_set(kc, p->name, p->value, err,
                                      sizeof(err)) != RD_KAFKA_CONF_OK) {
                        snprintf(errstr, errstr_size,
                                 "kafka.properties: %s: %s", p->name, err);
                        goto fail;
                }
        }
        if (kafka_conf_apply(kc, forced, "required setting", errstr,
                             errstr_size))
                goto fail;
        return kc;
fail:
        rd_kafka_conf_destroy(kc);
        return NULL;
}
