/*
 * sim_json: lenient json-c readers, see sim_json.h.
 */
#include "sim_json.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned json_line_of(const char *s, size_t off)
{
        unsigned line = 1;
        size_t i;

        for (i = 0; i < off; i++)
                if (s[i] == '\n')
                        line++;
        return line;
}

struct json_object *sim_json_parse(const char *s, size_t len, char *err,
                                   size_t errlen)
{
        struct json_tokener *tok;
        struct json_object *obj = NULL;
        enum json_tokener_error jerr;
        size_t off;

        if (len > INT32_MAX) {
                snprintf(err, errlen, "document too large");
                return NULL;
        }
        tok = json_tokener_new();
        if (!tok) {
                snprintf(err, errlen, "out of memory");
                return NULL;
        }
        obj = json_tokener_parse_ex(tok, s, (int)len);
        jerr = json_tokener_get_error(tok);
        off = json_tokener_get_parse_end(tok);
        if (jerr == json_tokener_continue) {
                snprintf(err, errlen, "line %u: unexpected end of input",
                         json_line_of(s, len));
                goto fail;
        }
        if (jerr != json_tokener_success) {
                snprintf(err, errlen, "line %u: %s", json_line_of(s, off),
                         json_tokener_error_desc(jerr));
                goto fail;
        }
        for (; off < len; off++) {
                if (!strchr(" \t\r\n", s[off])) {
                        snprintf(err, errlen,
                                 "line %u: trailing data after JSON value",
                                 json_line_of(s, off));
                        goto fail;
                }
        }
        json_tokener_free(tok);
        return obj;
fail:
        json_object_put(obj);
        json_tokener_free(tok);
        return NULL;
}

enum sim_json_rc sim_json_get_int(struct json_object *o, long long *out)
{
        const char *s;
        char *end;
        double d;
        long long v;

        if (!o)
                return SIM_JSON_UNSET;
        switch (json_object_get_type(o)) {
        case json_type_int:
                *out = (long long)json_object_get_int64(o);
                return SIM_JSON_OK;
        case json_type_double:
                d = json_object_get_double(o);
                if (d != floor(d) || fabs(d) > 9e15)
                        return SIM_JSON_BAD;
                *out = (long long)d;
                return SIM_JSON_OK;
        case json_type_string:
                s = json_object_get_string(o);
                while (*s == ' ')
                        s++;
                if (*s == '\0')
                        return SIM_JSON_UNSET;
                errno = 0;
                v = strtoll(s, &end, 10);
                while (*end == ' ')
                        end++;
                if (errno || *end != '\0')
                        return SIM_JSON_BAD;
                *out = v;
                return SIM_JSON_OK;
        default:
                return SIM_JSON_BAD;
        }
}

enum sim_json_rc sim_json_get_str(struct json_object *o, const char **out)
{
        const char *s;

        if (!o)
                return SIM_JSON_UNSET;
        switch (json_object_get_type(o)) {
        case json_type_string:
        case json_type_int:
        case json_type_double:
                s = json_object_get_string(o);
                if (!s || *s == '\0')
                        return SIM_JSON_UNSET;
                *out = s;
                return SIM_JSON_OK;
        default:
                return SIM_JSON_BAD;
        }
}

enum sim_json_rc sim_json_get_double(struct json_object *o, double *out)
{
        const char *s;
        char *end;
        double d;

        if (!o)
                return SIM_JSON_UNSET;
        switch (json_object_get_type(o)) {
        case json_type_int:
        case json_type_double:
                *out = json_object_get_double(o);
                return SIM_JSON_OK;
        case json_type_string:
                s = json_object_get_string(o);
                if (*s == '\0')
                        return SIM_JSON_UNSET;
                errno = 0;
                d = strtod(s, &end);
                if (errno || *end != '\0' || !isfinite(d))
                        return SIM_JSON_BAD;
                *out = d;
                return SIM_JSON_OK;
        default:
                return SIM_JSON_BAD;
        }
}

enum sim_json_rc sim_json_get_bool(struct json_object *o, int *out)
{
        long long v;

        if (!o)
                return SIM_JSON_UNSET;
        switch (json_object_get_type(o)) {
        case json_type_boolean:
                *out = json_object_get_boolean(o) ? 1 : 0;
                return SIM_JSON_OK;
        case json_type_int:
                v = json_object_get_int64(o);
                if (v != 0 && v != 1)
                        return SIM_JSON_BAD;
                *out = (int)v;
                return SIM_JSON_OK;
        default:
                return SIM_JSON_BAD;
        }
}
