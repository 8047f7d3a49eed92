#include "redact.h"

#include <string.h>
#include <strings.h>

void redact_secrets(char *text, const char *const *secrets, size_t n)
{
        if (!text)
                return;
        for (size_t i = 0; i < n; i++) {
                const char *secret = secrets[i];
                if (!secret || !*secret)
                        continue;
                size_t len = strlen(secret);
                for (char *p = strstr(text, secret); p;
                     p = strstr(p + len, secret))
                        memset(p, '*', len);
        }
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
