/* Redaction of secrets before anything leaves the process.
 *
 * Two kinds: known secret strings (the Moka password, the CheckKey, an
 * event's customer Password) scrubbed from free text such as Moka's error
 * messages, and "Password" members scrubbed from JSON that Moka echoes. */
#ifndef MOKA_BRIDGE_REDACT_H
#define MOKA_BRIDGE_REDACT_H

#include <stddef.h>

#include "json_scan.h"

#define REDACTED "***"

/* Overwrites every occurrence of each non-empty secret in `text` with '*'
 * of the same length (in place, so no allocation). NULL entries skipped. */
void redact_secrets(char *text, const char *const *secrets, size_t n);

/* A copy of the JSON value `value` (a span of text json_scan_validate()
 * accepted) in which the value of every member named "Password" (any
 * ASCII case, escapes decoded, the key read as a C string as json-c does),
 * at any depth and in objects inside arrays, is "***" when it is not null.
 * Every other byte is copied as it is (numbers keep their text, strings
 * their escapes). One pass, one malloc'd NUL-terminated buffer (caller
 * frees), its length in *len; NULL when out of memory. */
char *redact_password_json(const struct json_scan_span *value, size_t *len);

#endif
