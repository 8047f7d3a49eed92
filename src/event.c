#include "event.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum event_field_kind { FIELD_INT, FIELD_STRING, FIELD_DATE };

struct event_field {
        const char *name;
        enum event_field_kind kind;
        size_t max_chars; /* strings: limit in characters; 0 = none */
        int64_t min, max; /* integers */
};

/* DealerCustomerRequest (moka-api.md); limits from Moka's AddCustomer
 * page. */
static const struct event_field event_customer_fields[] = {
        /* INT64_MAX itself is excluded: json-c clamps larger numbers to it */
        {"DealerCustomerId", FIELD_INT, 0, 0, INT64_MAX - 1},
        {"CustomerCode", FIELD_STRING, 100, 0, 0},
        {"Password", FIELD_STRING, 50, 0, 0},
        {"FirstName", FIELD_STRING, 50, 0, 0},
        {"LastName", FIELD_STRING, 50, 0, 0},
        {"Gender", FIELD_INT, 0, 1, 2},
        {"BirthDate", FIELD_DATE, 8, 0, 0},
        {"GsmNumber", FIELD_STRING, 20, 0, 0},
        {"Email", FIELD_STRING, 100, 0, 0},
        {"Address", FIELD_STRING, 200, 0, 0},
};

static const char *event_json_type_name(json_object *v)
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
static json_object *event_parse_json(const void *value, size_t len,
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
static size_t event_utf8_chars(const char *s)
{
        size_t n = 0;
        for (; *s; s++)
                if (((unsigned char)*s & 0xC0) != 0x80)
                        n++;
        return n;
}

static int event_parse_int(const char *s, int64_t *out)
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

static int event_valid_date(const char *s)
{
        if (strlen(s) != 8)
                return 0;
        for (int i = 0; i < 8; i++)
                if (!isdigit((unsigned char)s[i]))
                        return 0;
        int month = (s[4] - '0') * 10 + (s[5] - '0');
        int day = (s[6] - '0') * 10 + (s[7] - '0');
        return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

/* Checks one member and adds its normalized form to `out`. */
static int event_check_field(const struct event_field *f, json_object *v,
                             json_object *out, char *errbuf, size_t errsz)
{
        if (!v || json_object_is_type(v, json_type_null))
                return 0; /* unset, as SDKs send */

        if (f->kind == FIELD_INT) {
                int64_t n;
                if (json_object_is_type(v, json_type_int)) {
                        n = json_object_get_int64(v);
                } else if (json_object_is_type(v, json_type_string)) {
                        const char *s = json_object_get_string(v);
                        if (!*s)
                                return 0; /* Moka's samples send "" */
                        if (event_parse_int(s, &n)) {
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
                                 f->name, event_json_type_name(v));
                        return -1;
                }
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

        if (!json_object_is_type(v, json_type_string)) {
                snprintf(errbuf, errsz, "field \"%s\": expected a string, got %s",
                         f->name, event_json_type_name(v));
                return -1;
        }
        const char *s = json_object_get_string(v);
        size_t chars = event_utf8_chars(s);
        if (f->max_chars && chars > f->max_chars) {
                snprintf(errbuf, errsz,
                         "field \"%s\": longer than %zu characters (%zu)",
                         f->name, f->max_chars, chars);
                return -1;
        }
        if (f->kind == FIELD_DATE && *s && !event_valid_date(s)) {
                snprintf(errbuf, errsz,
                         "field \"%s\": expected a date as YYYYMMDD",
                         f->name);
                return -1;
        }
        json_object_object_add(out, f->name, json_object_get(v));
        return 0;
}

json_object *event_validate_customer_update(const void *value, size_t len,
                                            char *errbuf, size_t errbuf_size)
{
        if (!value || len == 0) {
                snprintf(errbuf, errbuf_size,
                         "value: empty, expected a JSON object");
                return NULL;
        }
        json_object *in = event_parse_json(value, len, errbuf, errbuf_size);
        if (!in)
                return NULL;
        json_object *out = NULL;
        if (!json_object_is_type(in, json_type_object)) {
                snprintf(errbuf, errbuf_size,
                         "value: expected a JSON object, got %s",
                         event_json_type_name(in));
                goto fail;
        }
        out = json_object_new_object();
        if (!out) {
                snprintf(errbuf, errbuf_size, "value: out of memory");
                goto fail;
        }
        const size_t nfields =
                sizeof(event_customer_fields) / sizeof(event_customer_fields[0]);
        json_object_object_foreach(in, name, v)
        {
                size_t i = 0;
                while (i < nfields &&
                       strcmp(event_customer_fields[i].name, name) != 0)
                        i++;
                if (i == nfields) {
                        /* json-c's escaping keeps the name printable */
                        char shown[64];
                        snprintf(shown, sizeof(shown), "%s", name);
                        for (char *p = shown; *p; p++)
                                if ((unsigned char)*p < 0x20 || *p == '"')
                                        *p = '?';
                        snprintf(errbuf, errbuf_size,
                                 "field \"%s\": unknown field", shown);
                        goto fail;
                }
                if (event_check_field(&event_customer_fields[i], v, out,
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

int event_validate_sale_list(const void *value, size_t len, char *errbuf,
                             size_t errbuf_size)
{
        if (!value || len == 0)
                return 0;
        json_object *in = event_parse_json(value, len, errbuf, errbuf_size);
        if (!in)
                return -1;
        int rc = -1;
        if (!json_object_is_type(in, json_type_object)) {
                snprintf(errbuf, errbuf_size,
                         "value: expected a JSON object, got %s",
                         event_json_type_name(in));
        } else if (json_object_object_length(in) > 0) {
                json_object_object_foreach(in, name, v)
                {
                        (void)v;
                        char shown[64];
                        snprintf(shown, sizeof(shown), "%s", name);
                        for (char *p = shown; *p; p++)
                                if ((unsigned char)*p < 0x20 || *p == '"')
                                        *p = '?';
                        snprintf(errbuf, errbuf_size,
                                 "field \"%s\": unknown field (a sale-list "
                                 "request takes no fields)",
                                 shown);
                        break;
                }
        } else {
                rc = 0;
        }
        json_object_put(in);
        return rc;
}

static char *event_header_dup(const struct event *ev, const char *name)
{
        const void *val;
        size_t size;
        if (!ev->src.headers ||
            rd_kafka_header_get_last(ev->src.headers, name, &val, &size) !=
                    RD_KAFKA_RESP_ERR_NO_ERROR ||
            !val)
                return NULL;
        return strndup(val, size);
}

/* Copies what the event keeps of `msg` into ev->src (one allocation for
 * key and value; the headers are detached, not copied). */
static int event_take_source(struct event *ev, rd_kafka_message_t *msg,
                             const char *topic)
{
        struct event_source *s = &ev->src;
        s->topic = topic;
        s->partition = msg->partition;
        s->offset = msg->offset;
        rd_kafka_timestamp_type_t tstype;
        s->timestamp_ms = rd_kafka_message_timestamp(msg, &tstype);
        size_t key_len = msg->key ? msg->key_len : 0;
        s->data = malloc(key_len + msg->len + 1);
        if (!s->data)
                return -1;
        if (msg->key) {
                memcpy(s->data, msg->key, key_len);
                s->key = s->data;
                s->key_len = key_len;
        }
        char *value = s->data + key_len;
        if (msg->len)
                memcpy(value, msg->payload, msg->len);
        value[msg->len] = '\0';
        s->value = msg->payload ? value : NULL;
        s->len = msg->payload ? msg->len : 0;
        rd_kafka_headers_t *hdrs = NULL;
        if (rd_kafka_message_detach_headers(msg, &hdrs) ==
            RD_KAFKA_RESP_ERR_NO_ERROR)
                s->headers = hdrs;
        return 0;
}

static int event_derive_order_key(struct event *ev, json_object *request)
{
        if (ev->src.key_len > 0) {
                ev->order_key = ev->src.key;
                ev->order_key_len = ev->src.key_len;
                return 0;
        }
        json_object *v;
        if (!request)
                return 0;
        if (json_object_object_get_ex(request, "CustomerCode", &v) &&
            json_object_get_string_len(v) > 0) {
                size_t n = (size_t)json_object_get_string_len(v);
                ev->order_key_owned = malloc(n);
                if (!ev->order_key_owned)
                        return -1;
                memcpy(ev->order_key_owned, json_object_get_string(v), n);
                ev->order_key = ev->order_key_owned;
                ev->order_key_len = n;
        } else if (json_object_object_get_ex(request, "DealerCustomerId",
                                             &v)) {
                int n = snprintf(ev->order_key_buf, sizeof(ev->order_key_buf),
                                 "id:%" PRId64, json_object_get_int64(v));
                ev->order_key = ev->order_key_buf;
                ev->order_key_len = (size_t)n;
        }
        return 0;
}

/* Keeps what the event needs of the validated request: its text (the
 * Moka call's DealerCustomerRequest) and the customer's password, which
 * replies must not echo. */
static int event_keep_request(struct event *ev, json_object *request)
{
        size_t len = 0;
        const char *text = json_object_to_json_string_length(
                request, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
                &len);
        if (!text || !(ev->request_json = malloc(len + 1)))
                return -1;
        memcpy(ev->request_json, text, len + 1);
        ev->request_len = len;
        json_object *pw;
        if (json_object_object_get_ex(request, "Password", &pw) &&
            !(ev->customer_password = strdup(json_object_get_string(pw))))
                return -1;
        return 0;
}

struct event *event_create(rd_kafka_message_t *msg, const char *topic,
                           enum moka_operation op, size_t max_event_bytes)
{
        json_object *request = NULL; /* dropped before returning */
        struct event *ev = calloc(1, sizeof(*ev));
        if (!ev || event_take_source(ev, msg, topic) != 0) {
                rd_kafka_message_destroy(msg);
                free(ev);
                return NULL;
        }
        rd_kafka_message_destroy(msg);
        const struct event_source *src = &ev->src;
        ev->op = op;
        timer_entry_init(&ev->timer);
        ev->reply_rec.ev = ev;
        ev->dlq_rec.ev = ev;
        ev->dlq_rec.is_dlq = true;

        ev->reply_topic = event_header_dup(ev, "reply-topic");
        ev->dealer_name = event_header_dup(ev, "moka-dealer");
        ev->invalid_code = "Bridge.InvalidEvent";
        ev->sale_count = -1;
        ev->correlation_id = event_header_dup(ev, "correlation-id");
        if (!ev->correlation_id) {
                /* a topic name is at most 249 characters */
                char id[320];
                snprintf(id, sizeof(id), "%s/%" PRId32 "/%" PRId64, topic,
                         src->partition, src->offset);
                ev->correlation_id = strdup(id);
        }
        if (!ev->correlation_id)
                goto oom;

        char err[512];
        if (src->len > max_event_bytes) {
                snprintf(err, sizeof(err),
                         "value: %zu bytes, more than limits.max_event_bytes "
                         "(%zu)",
                         src->len, max_event_bytes);
        } else if (op == MOKA_OP_CUSTOMER_UPDATE) {
                request = event_validate_customer_update(
                        src->value, src->len, err, sizeof(err));
        } else if (event_validate_sale_list(src->value, src->len, err,
                                            sizeof(err)) == 0) {
                err[0] = '\0';
        }
        if (op == MOKA_OP_CUSTOMER_UPDATE ? !request : err[0] != '\0') {
                ev->invalid = strdup(err);
                if (!ev->invalid)
                        goto oom;
        }
        if (request && event_keep_request(ev, request) != 0)
                goto oom;
        if (event_derive_order_key(ev, request) != 0)
                goto oom;
        json_object_put(request);
        return ev;
oom:
        json_object_put(request);
        event_destroy(ev);
        return NULL;
}

void event_destroy(struct event *ev)
{
        if (!ev)
                return;
        /* Secrets do not linger in freed memory: the body holds the
         * dealer's password and CheckKey, the request the customer's. */
        if (ev->customer_password) {
                explicit_bzero(ev->customer_password,
                               strlen(ev->customer_password));
                explicit_bzero(ev->request_json, ev->request_len);
        }
        if (ev->body_owned)
                explicit_bzero(ev->body_owned, ev->body_len);
        free(ev->request_json);
        free(ev->customer_password);
        free(ev->order_key_owned);
        free(ev->last_cause);
        free(ev->invalid);
        free(ev->correlation_id);
        free(ev->reply_topic);
        free(ev->dealer_name);
        free(ev->reply_value);
        free(ev->body_owned);
        if (ev->reply_hdrs)
                rd_kafka_headers_destroy(ev->reply_hdrs);
        if (ev->dlq_hdrs)
                rd_kafka_headers_destroy(ev->dlq_hdrs);
        if (ev->src.headers)
                rd_kafka_headers_destroy(ev->src.headers);
        free(ev->src.data);
        free(ev);
}
