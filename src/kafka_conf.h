/* librdkafka configuration shared by the consumer and the publisher:
 * brokers, kafka.properties verbatim, then the settings the delivery
 * guarantee depends on (which properties may not override). */
#ifndef MOKA_BRIDGE_KAFKA_CONF_H
#define MOKA_BRIDGE_KAFKA_CONF_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "config.h"

/* One "name=value" librdkafka setting. */
struct kafka_setting {
        const char *name;
        const char *value;
};

/* Builds a conf from the bridge configuration: bootstrap servers, then
 * `defaults` (overridable), then kafka.properties, then `forced` (not
 * overridable). Returns NULL with "kafka.properties: <name>: <error>" in
 * errstr. The caller owns the conf (rd_kafka_new takes it over). */
rd_kafka_conf_t *kafka_conf_build(const struct config *conf,
                                  const struct kafka_setting *defaults,
                                  const struct kafka_setting *forced,
                                  char *errstr, size_t errstr_size);

#endif
