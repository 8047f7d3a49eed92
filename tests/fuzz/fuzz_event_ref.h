/* The reference for fuzz_event: event.c's validators as they were before
 * they read values with json_scan.c, on json-c 0.16's strict parser and a
 * json-c tree (copied unchanged from src/event.c, names prefixed ref_).
 * fuzz_event checks the scanner-based validators against these: same
 * verdict, same message, the same normalized request, wherever json-c and
 * the scanner read the JSON alike (docs/fuzzing.md). Header-only, one
 * translation unit.
 *
 * Since the input-forms rules (U+0000 refused, calendar BirthDate, GsmNumber
 * as a number, 0 = not given, Moka's spelling for a wrong-case name,
 * DealerSaleRequest null or {}), the same rules are written here again on
 * the json-c tree, so the differential still covers them. */
#ifndef MOKA_BRIDGE_FUZZ_EVENT_REF_H
#define MOKA_BRIDGE_FUZZ_EVENT_REF_H

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

enum ref_field_kind { REF_INT, REF_STRING, REF_DATE, REF_DIGITS };

struct ref_field {
        const char *name;
        enum ref_field_kind kind;
        size_t max_chars; /* strings: limit in characters; 0 = none */
        int64_t min, max; /* integers */
        int zero_unset;   /* integers: 0 = not given */
};

/* DealerCustomerRequest (moka-api.md); limits from Moka's AddCustomer
 * page. */
static const struct ref_field ref_customer_fields[] = {
        /* INT64_MAX itself is excluded: json-c clamps larger numbers to it */
        {"DealerCustomerId", REF_INT, 0, 1, INT64_MAX - 1, 1},
        {"CustomerCode", REF_STRING, 100, 0, 0, 0},
        {"Password", REF_STRING, 50, 0, 0, 0},
        {"FirstName", REF_STRING, 50, 0, 0, 0},
        {"LastName", REF_STRING, 50, 0, 0, 0},
        {"Gender", REF_INT, 0, 1, 2, 1},
        {"BirthDate", REF_DATE, 8, 0, 0, 0},
        {"GsmNumber", REF_DIGITS, 20, 0, 0, 0},
        {"Email", REF_STRING, 100, 0, 0, 0},
        {"Address", REF_STRING, 200, 0, 0, 0},
};

static const char *ref_json_type_name(json_object *v)
{
        switch (json_object_get_type(v)) {
        case json_type_null:
                return "null";
        case json_type_boolean:
                return "a boolean";
        case json_type_double:
                return "a decimal number";
        case json_type_int:
                return "an integer";
        case json_type_object:
                return "an object";
        case json_type_array:
                return "an array";
        case json_type_string:
                return "a string";
        }
        return "?";
}

/* Parses the whole buffer as one JSON value; NULL with a reason otherwise. */
static json_object *ref_parse_json(const void *value, size_t len,
                                     char *errbuf, size_t errbuf_size)
{
        json_object *obj = NULL;
        /* A fresh tokener per value: json-c 0.16's json_tokener_reset()
         * keeps a pending UTF-16 high surrogate, so a reused tokener can
         * corrupt the next value after a malformed one (found by
         * tests/fuzz/fuzz_event). */
        json_tokener *tok = json_tokener_new();
        if (!tok) {
                snprintf(errbuf, errbuf_size, "value: out of memory");
                return NULL;
        }
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        obj = json_tokener_parse_ex(tok, value, (int)len);
        enum json_tokener_error err = json_tokener_get_error(tok);
        size_t end = json_tokener_get_parse_end(tok);
        if (err == json_tokener_continue) {
                /* A bare number, true or null may go on: end the input. */
                obj = json_tokener_parse_ex(tok, " ", 1);
                err = json_tokener_get_error(tok);
                end = len;
        }
        if (err == json_tokener_continue) {
                snprintf(errbuf, errbuf_size,
                         "value: not valid JSON (unexpected end of input)");
        } else if (err != json_tokener_success) {
                snprintf(errbuf, errbuf_size,
                         "value: not valid JSON (%s at byte %zu)",
                         json_tokener_error_desc(err),
                         json_tokener_get_parse_end(tok));
        } else {
                const char *p = value;
                while (end < len && isspace((unsigned char)p[end]))
                        end++;
                if (end == len && !obj) {
                        snprintf(errbuf, errbuf_size,
                                 "value: expected a JSON object, got null");
                } else if (end == len) {
                        json_tokener_free(tok);
                        return obj;
                } else {
                snprintf(errbuf, errbuf_size,
                         "value: not valid JSON (trailing data at byte %zu)",
                         end);
                }
        }
        json_object_put(obj);
        json_tokener_free(tok);
        return NULL;
}

/* Characters in a UTF-8 string (json-c has validated the encoding). */
static size_t ref_utf8_chars(const char *s)
{
        size_t n = 0;
        for (; *s; s++)
                if (((unsigned char)*s & 0xC0) != 0x80)
                        n++;
        return n;
}

static int ref_parse_int(const char *s, int64_t *out)
{
        if (!*s)
                return -1;
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno || *end || isspace((unsigned char)*s))
                return -1;
        *out = v;
        return 0;
}

static int ref_valid_date(const char *s)
{
        if (strlen(s) != 8)
                return 0;
        for (int i = 0; i < 8; i++)
                if (!isdigit((unsigned char)s[i]))
                        return 0;
        int year = atoi((char[5]){s[0], s[1], s[2], s[3], 0});
        int month = (s[4] - '0') * 10 + (s[5] - '0');
        int day = (s[6] - '0') * 10 + (s[7] - '0');
        if (year < 1900 || year > 2100 || month < 1 || month > 12 || day < 1)
                return 0;
        /* days in the month: the first of the next month minus one day */
        int mdays = month == 2 ? ((year % 4 == 0 && year % 100 != 0) ||
                                                  year % 400 == 0
                                          ? 29
                                          : 28)
                    : (month == 4 || month == 6 || month == 9 || month == 11)
                            ? 30
                            : 31;
        return day <= mdays;
}

/* Checks one member and adds its normalized form to `out`. */
static int ref_check_field(const struct ref_field *f, json_object *v,
                             json_object *out, char *errbuf, size_t errsz)
{
        if (!v || json_object_is_type(v, json_type_null))
                return 0; /* unset, as SDKs send */
        if (json_object_is_type(v, json_type_string) &&
            strlen(json_object_get_string(v)) !=
                    (size_t)json_object_get_string_len(v)) {
                snprintf(errbuf, errsz,
                         "field \"%s\": contains U+0000 (a \\u0000 escape)",
                         f->name);
                return -1;
        }

        if (f->kind == REF_INT) {
                int64_t n;
                if (json_object_is_type(v, json_type_int)) {
                        n = json_object_get_int64(v);
                } else if (json_object_is_type(v, json_type_string)) {
                        const char *s = json_object_get_string(v);
                        if (!*s)
                                return 0; /* Moka's samples send "" */
                        if (ref_parse_int(s, &n)) {
                                snprintf(errbuf, errsz,
                                         "field \"%s\": expected an integer "
                                         "or a numeric string, got a "
                                         "non-numeric string",
                                         f->name);
                                return -1;
                        }
                } else {
                        snprintf(errbuf, errsz,
                                 "field \"%s\": expected an integer or a "
                                 "numeric string, got %s",
                                 f->name, ref_json_type_name(v));
                        return -1;
                }
                if (n == 0 && f->zero_unset)
                        return 0;
                if (n < f->min || n > f->max) {
                        snprintf(errbuf, errsz,
                                 "field \"%s\": must be between %" PRId64
                                 " and %" PRId64 ", got %" PRId64,
                                 f->name, f->min, f->max, n);
                        return -1;
                }
                json_object_object_add(out, f->name, json_object_new_int64(n));
                return 0;
        }

        if (f->kind == REF_DIGITS && (json_object_is_type(v, json_type_int) ||
                                      json_object_is_type(v, json_type_double))) {
                /* json-c keeps a parsed double's text, prints an int's */
                const char *t = json_object_to_json_string_ext(
                        v, JSON_C_TO_STRING_PLAIN);
                if (json_object_is_type(v, json_type_double) ||
                    strpbrk(t, ".eE")) {
                        snprintf(errbuf, errsz,
                                 "field \"%s\": expected a string or a "
                                 "non-negative integer, got a decimal number",
                                 f->name);
                        return -1;
                }
                if (t[0] == '-') {
                        snprintf(errbuf, errsz,
                                 "field \"%s\": expected a string or a "
                                 "non-negative integer, got a negative number",
                                 f->name);
                        return -1;
                }
                if (strlen(t) > f->max_chars) {
                        snprintf(errbuf, errsz,
                                 "field \"%s\": longer than %zu characters "
                                 "(%zu)",
                                 f->name, f->max_chars, strlen(t));
                        return -1;
                }
                json_object_object_add(out, f->name, json_object_new_string(t));
                return 0;
        }
        if (!json_object_is_type(v, json_type_string)) {
                snprintf(errbuf, errsz, "field \"%s\": expected a string%s, got %s",
                         f->name,
                         f->kind == REF_DIGITS ? " or a non-negative integer"
                                               : "",
                         ref_json_type_name(v));
                return -1;
        }
        const char *s = json_object_get_string(v);
        size_t chars = ref_utf8_chars(s);
        if (f->max_chars && chars > f->max_chars) {
                snprintf(errbuf, errsz,
                         "field \"%s\": longer than %zu characters (%zu)",
                         f->name, f->max_chars, chars);
                return -1;
        }
        if (f->kind == REF_DATE && *s && !ref_valid_date(s)) {
                snprintf(errbuf, errsz,
                         "field \"%s\": expected a calendar date as "
                         "YYYYMMDD, year 1900 to 2100",
                         f->name);
                return -1;
        }
        json_object_object_add(out, f->name, json_object_get(v));
        return 0;
}

static json_object *ref_validate_customer_update(const void *value, size_t len,
                                            char *errbuf, size_t errbuf_size)
{
        if (!value || len == 0) {
                snprintf(errbuf, errbuf_size,
                         "value: empty, expected a JSON object");
                return NULL;
        }
        json_object *in = ref_parse_json(value, len, errbuf, errbuf_size);
        if (!in)
                return NULL;
        json_object *out = NULL;
        if (!json_object_is_type(in, json_type_object)) {
                snprintf(errbuf, errbuf_size,
                         "value: expected a JSON object, got %s",
                         ref_json_type_name(in));
                goto fail;
        }
        out = json_object_new_object();
        if (!out) {
                snprintf(errbuf, errbuf_size, "value: out of memory");
                goto fail;
        }
        const size_t nfields =
                sizeof(ref_customer_fields) / sizeof(ref_customer_fields[0]);
        json_object_object_foreach(in, name, v)
        {
                size_t i = 0;
                while (i < nfields &&
                       strcmp(ref_customer_fields[i].name, name) != 0)
                        i++;
                if (i == nfields) {
                        /* json-c's escaping keeps the name printable */
                        char shown[64];
                        snprintf(shown, sizeof(shown), "%s", name);
                        for (char *p = shown; *p; p++)
                                if ((unsigned char)*p < 0x20 || *p == '"')
                                        *p = '?';
                        const char *moka = NULL;
                        for (size_t k = 0; k < nfields; k++)
                                if (strcasecmp(ref_customer_fields[k].name,
                                               name) == 0)
                                        moka = ref_customer_fields[k].name;
                        if (moka)
                                snprintf(errbuf, errbuf_size,
                                         "field \"%s\": unknown field (Moka's "
                                         "name is \"%s\")",
                                         shown, moka);
                        else
                                snprintf(errbuf, errbuf_size,
                                         "field \"%s\": unknown field", shown);
                        goto fail;
                }
                if (ref_check_field(&ref_customer_fields[i], v, out,
                                      errbuf, errbuf_size))
                        goto fail;
        }
        json_object_put(in);
        return out;
fail:
        json_object_put(out);
        json_object_put(in);
        return NULL;
}

static int ref_validate_sale_list(const void *value, size_t len, char *errbuf,
                             size_t errbuf_size)
{
        if (!value || len == 0)
                return 0;
        json_object *in = ref_parse_json(value, len, errbuf, errbuf_size);
        if (!in)
                return -1;
        int rc = -1;
        if (!json_object_is_type(in, json_type_object)) {
                snprintf(errbuf, errbuf_size,
                         "value: expected a JSON object, got %s",
                         ref_json_type_name(in));
        } else {
                rc = 0;
                json_object_object_foreach(in, name, v)
                {
                        if (strcmp(name, "DealerSaleRequest") == 0) {
                                if (!v || (json_object_is_type(
                                                   v, json_type_object) &&
                                           json_object_object_length(v) == 0))
                                        continue;
                                snprintf(errbuf, errbuf_size,
                                         "field \"DealerSaleRequest\": "
                                         "expected null or an empty object "
                                         "(GetSaleList takes no request "
                                         "fields), got %s",
                                         json_object_is_type(v,
                                                             json_type_object)
                                                 ? "an object with members"
                                                 : ref_json_type_name(v));
                                rc = -1;
                                break;
                        }
                        rc = -1;
                        char shown[64];
                        snprintf(shown, sizeof(shown), "%s", name);
                        for (char *p = shown; *p; p++)
                                if ((unsigned char)*p < 0x20 || *p == '"')
                                        *p = '?';
                        if (strcasecmp(name, "DealerSaleRequest") == 0)
                                snprintf(errbuf, errbuf_size,
                                         "field \"%s\": unknown field (Moka's "
                                         "name is \"DealerSaleRequest\")",
                                         shown);
                        else
                                snprintf(errbuf, errbuf_size,
                                         "field \"%s\": unknown field (a "
                                         "sale-list request takes only "
                                         "DealerSaleRequest, null or {})",
                                         shown);
                        break;
                }
        }
        json_object_put(in);
        return rc;
}


#endif
