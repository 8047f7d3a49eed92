/* Redaction of secrets before anything leaves the process.
 *
 * Two kinds: known secret strings (the Moka password, the CheckKey, an
 * event's customer Password) scrubbed from free text such as Moka's error
 * messages, and "Password" members scrubbed from JSON that Moka echoes. */
#ifndef MOKA_BRIDGE_REDACT_H
#define MOKA_BRIDGE_REDACT_H

#include <stddef.h>

#include <json-c/json.h>

#define REDACTED "***"

/* Overwrites every occurrence of each non-empty secret in `text` with '*'
 * of the same length (in place, so no allocation). NULL entries skipped. */
void redact_secrets(char *text, const char *const *secrets, size_t n);

/* Replaces the value of every member named "Password" (any case), at any
 * depth, with "***" when it is not null. */
void redact_password_fields(json_object *obj);

#endif
