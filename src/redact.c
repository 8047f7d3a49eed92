#include "redact.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void redact_secrets(char *text, const char *const *secrets, size_t n)
{
        if (!text || !*text)
                return;
        /* Mark every match of every secret on the original text first, so
         * overlapping matches and secrets inside other secrets are all
         * covered whatever their order. */
        size_t len = strlen(text);
        unsigned char *mask = NULL;
        for (size_t i = 0; i < n; i++) {
                const char *secret = secrets[i];
                if (!secret || !*secret)
                        continue;
                size_t slen = strlen(secret);
                for (const char *p = strstr(text, secret); p;
                     p = strstr(p + 1, secret)) {
                        if (!mask && !(mask = calloc(len, 1))) {
                                /* Out of memory: blank the whole text
                                 * rather than risk leaking a secret. */
                                memset(text, '*', len);
                                return;
                        }
                        memset(mask + (p - text), 1, slen);
                }
        }
        if (!mask)
                return;
        for (size_t i = 0; i < len; i++)
                if (mask[i])
                        text[i] = '*';
        free(mask);
}

void redact_password_fields(json_object *obj)
{
        if (json_object_is_type(obj, json_type_array)) {
                size_t n = json_object_array_length(obj);
                for (size_t i = 0; i < n; i++)
                        redact_password_fields(
                                json_object_array_get_idx(obj, i));
                return;
        }
        if (!json_object_is_type(obj, json_type_object))
                return;
        json_object_object_foreach(obj, name, value)
        {
                if (strcasecmp(name, "Password") == 0) {
                        if (value && !json_object_is_type(value, json_type_null))
                                json_object_object_add(
                                        obj, name,
                                        json_object_new_string(REDACTED));
                } else {
                        redact_password_fields(value);
                }
        }
}
