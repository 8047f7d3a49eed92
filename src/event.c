#include "event.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_scan.h"
#include "textbuf.h"

enum event_field_kind {
        FIELD_INT,
        FIELD_STRING,
        FIELD_DATE,
        FIELD_DIGITS, /* a string, or a non-negative JSON integer sent to
                       * Moka as the string of its digits */
};

struct event_field {
        const char *name;
        enum event_field_kind kind;
        size_t max_chars; /* strings: limit in characters; 0 = none */
        int64_t min, max; /* integers */
        bool zero_unset;  /* integers: 0 means "not given" (.NET SDKs send
                           * 0 for an unset int): left out like null */
};

/* DealerCustomerRequest (moka-api.md); limits from Moka's AddCustomer
 * page. */
static const struct event_field event_customer_fields[] = {
        /* INT64_MAX itself is excluded: a larger number reads as INT64_MAX
         * (event_number), which must not pass for an id */
        {"DealerCustomerId", FIELD_INT, 0, 1, INT64_MAX - 1, true},
        {"CustomerCode", FIELD_STRING, 100, 0, 0, false},
        {"Password", FIELD_STRING, 50, 0, 0, false},
        {"FirstName", FIELD_STRING, 50, 0, 0, false},
        {"LastName", FIELD_STRING, 50, 0, 0, false},
        {"Gender", FIELD_INT, 0, 1, 2, true},
        {"BirthDate", FIELD_DATE, 8, 0, 0, false},
        /* Moka's response table calls it an integer, the request a string */
        {"GsmNumber", FIELD_DIGITS, 20, 0, 0, false},
        {"Email", FIELD_STRING, 100, 0, 0, false},
        {"Address", FIELD_STRING, 200, 0, 0, false},
};

#define EVENT_FIELD_COUNT \
        (sizeof(event_customer_fields) / sizeof(event_customer_fields[0]))

/* A NUMBER span without fraction or exponent. */
static bool event_number_is_integer(const struct json_scan_span *v)
{
        for (size_t i = 0; i < v->len; i++)
                if (v->p[i] == '.' || v->p[i] == 'e' || v->p[i] == 'E')
                        return false;
        return true;
}

/* What a value is, for messages ("got an array"). */
static const char *event_json_type_name(const struct json_scan_span *v)
{
        switch (v->type) {
        case JSON_SCAN_NULL:
                return "null";
        case JSON_SCAN_TRUE:
        case JSON_SCAN_FALSE:
                return "a boolean";
        case JSON_SCAN_NUMBER:
                return event_number_is_integer(v) ? "an integer"
                                                  : "a decimal number";
        case JSON_SCAN_OBJECT:
                return "an object";
        case JSON_SCAN_ARRAY:
                return "an array";
        case JSON_SCAN_STRING:
                return "a string";
        case JSON_SCAN_NONE:
                break;
        }
        return "?";
}

/* Checks that the whole buffer is one JSON value (json_scan.c: strict RFC
 * 8259 and valid UTF-8); 0 with *root, or -1 with a reason. */
static int event_parse_json(const void *value, size_t len,
                            struct json_scan_span *root, char *errbuf,
                            size_t errbuf_size)
{
        size_t off = 0;
        if (json_scan_validate(value, len, root, &off) == 0)
                return 0;
        if (off >= len)
                snprintf(errbuf, errbuf_size,
                         "value: not valid JSON (unexpected end of input)");
        else
                snprintf(errbuf, errbuf_size,
                         "value: not valid JSON (unexpected character at "
                         "byte %zu)",
                         off);
        return -1;
}

/* An integer NUMBER span as int64, beyond its range saturated at INT64_MIN
 * or INT64_MAX (as json-c, which the bridge used before, read them). */
static int64_t event_number(const struct json_scan_span *v)
{
        char buf[32];
        if (v->len >= sizeof(buf))
                return v->p[0] == '-' ? INT64_MIN : INT64_MAX;
        memcpy(buf, v->p, v->len);
        buf[v->len] = '\0';
        return strtoll(buf, NULL, 10); /* saturates on overflow */
}

/* Characters in n bytes of UTF-8 (json_scan has validated the encoding). */
static size_t event_utf8_chars(const char *s, size_t n)
{
        size_t chars = 0;
        for (size_t i = 0; i < n; i++)
                if (((unsigned char)s[i] & 0xC0) != 0x80)
                        chars++;
        return chars;
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

/* A calendar date YYYYMMDD (Gregorian, leap years included) with the year
 * in 1900..2100: Moka does not document a range; a birth date before 1900
 * is a typo, not a customer, and the bridge does not compare with today
 * (the verdict must not depend on when an event is read or replayed), so
 * the upper bound only stops the absurd (docs/decisions.md). */
#define EVENT_DATE_MIN_YEAR 1900
#define EVENT_DATE_MAX_YEAR 2100

static int event_valid_date(const char *s, size_t n)
{
        if (n != 8)
                return 0;
        for (int i = 0; i < 8; i++)
                if (!isdigit((unsigned char)s[i]))
                        return 0;
        int year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 +
                   (s[2] - '0') * 10 + (s[3] - '0');
        int month = (s[4] - '0') * 10 + (s[5] - '0');
        int day = (s[6] - '0') * 10 + (s[7] - '0');
        static const int days[12] = {31, 28, 31, 30, 31, 30,
                                     31, 31, 30, 31, 30, 31};
        if (year < EVENT_DATE_MIN_YEAR || year > EVENT_DATE_MAX_YEAR ||
            month < 1 || month > 12 || day < 1)
                return 0;
        bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        return day <= days[month - 1] + (month == 2 && leap);
}

/* The fields kept of one member, for the result. */
struct event_kept {
        char *password;      /* decoded Password, a C string, or NULL */
        char *customer_code; /* decoded CustomerCode, or NULL */
        size_t customer_code_len;
        bool has_id;
        int64_t id;
};

/* Checks one member (the field's last value in the object) and appends its
 * normalized form to `out`. */
static int event_check_field(const struct event_field *f,
                             const struct json_scan_span *v,
                             struct textbuf *out, struct event_kept *kept,
                             char *errbuf, size_t errsz)
{
        if (v->type == JSON_SCAN_NULL)
                return 0; /* unset, as SDKs send */

        char small[256];
        char *s = NULL; /* decoded string value, `small` or malloc'd */
        size_t slen = 0;
        int rc = -1;
        if (v->type == JSON_SCAN_STRING) {
                slen = json_scan_string_decode(v, small, sizeof(small));
                s = small;
                if (slen >= sizeof(small) &&
                    !(s = json_scan_string_dup(v, &slen))) {
                        snprintf(errbuf, errsz, "value: out of memory");
                        return -1;
                }
                /* Refused in every field: everything after the value
                 * reads it as a C string (numbers, the kept Password that
                 * redaction masks, logs), which would end at the U+0000
                 * while Moka got the whole text: a password only partly
                 * redacted, "1\u0000x" read as 1. */
                if (memchr(s, '\0', slen)) {
                        snprintf(errbuf, errsz,
                                 "field \"%s\": contains U+0000 (a \\u0000 "
                                 "escape)",
                                 f->name);
                        goto out;
                }
        }

        if (f->kind == FIELD_INT) {
                int64_t n;
                if (v->type == JSON_SCAN_NUMBER && event_number_is_integer(v)) {
                        n = event_number(v);
                } else if (v->type == JSON_SCAN_STRING) {
                        if (!*s) {
                                rc = 0; /* Moka's samples send "" */
                                goto out;
                        }
                        if (event_parse_int(s, &n)) {
                                snprintf(errbuf, errsz,
                                         "field \"%s\": expected an integer "
                                         "or a numeric string, got a "
                                         "non-numeric string",
                                         f->name);
                                goto out;
                        }
                } else {
                        snprintf(errbuf, errsz,
                                 "field \"%s\": expected an integer or a "
                                 "numeric string, got %s",
                                 f->name, event_json_type_name(v));
                        goto out;
                }
                if (n == 0 && f->zero_unset) {
                        rc = 0; /* "not given", as .NET SDKs send it */
                        goto out;
                }
                if (n < f->min || n > f->max) {
                        snprintf(errbuf, errsz,
                                 "field \"%s\": must be between %" PRId64
                                 " and %" PRId64 ", got %" PRId64,
                                 f->name, f->min, f->max, n);
                        goto out;
                }
                char num[24];
                int k = snprintf(num, sizeof(num), "%" PRId64, n);
                textbuf_put(out, num, (size_t)k);
                if (strcmp(f->name, "DealerCustomerId") == 0) {
                        kept->has_id = true;
                        kept->id = n;
                }
                rc = 0;
                goto out;
        }

        if (f->kind == FIELD_DIGITS && v->type == JSON_SCAN_NUMBER) {
                /* a JSON integer has no sign but '-', no leading zero: its
                 * text is the digits Moka gets as the string */
                const char *why = !event_number_is_integer(v)
                                          ? "a decimal number"
                                  : v->p[0] == '-' ? "a negative number"
                                                   : NULL;
                if (why) {
                        snprintf(errbuf, errsz,
                                 "field \"%s\": expected a string or a "
                                 "non-negative integer, got %s",
                                 f->name, why);
                        goto out;
                }
                if (f->max_chars && v->len > f->max_chars) {
                        snprintf(errbuf, errsz,
                                 "field \"%s\": longer than %zu characters "
                                 "(%zu)",
                                 f->name, f->max_chars, v->len);
                        goto out;
                }
                textbuf_put(out, "\"", 1);
                textbuf_put(out, v->p, v->len);
                textbuf_put(out, "\"", 1);
                rc = 0;
                goto out;
        }
        if (v->type != JSON_SCAN_STRING) {
                snprintf(errbuf, errsz, "field \"%s\": expected a string%s, got %s",
                         f->name,
                         f->kind == FIELD_DIGITS ? " or a non-negative integer"
                                                 : "",
                         event_json_type_name(v));
                goto out;
        }
        size_t chars = event_utf8_chars(s, slen);
        if (f->max_chars && chars > f->max_chars) {
                snprintf(errbuf, errsz,
                         "field \"%s\": longer than %zu characters (%zu)",
                         f->name, f->max_chars, chars);
                goto out;
        }
        if (f->kind == FIELD_DATE && slen && !event_valid_date(s, slen)) {
                snprintf(errbuf, errsz,
                         "field \"%s\": expected a calendar date as "
                         "YYYYMMDD, year %d to %d",
                         f->name, EVENT_DATE_MIN_YEAR, EVENT_DATE_MAX_YEAR);
                goto out;
        }
        textbuf_put_json_string(out, s, slen);
        if (strcmp(f->name, "Password") == 0) {
                free(kept->password);
                if (!(kept->password = strdup(s)))
                        out->oom = true;
        } else if (strcmp(f->name, "CustomerCode") == 0) {
                free(kept->customer_code);
                if ((kept->customer_code = malloc(slen + 1))) {
                        memcpy(kept->customer_code, s, slen + 1);
                        kept->customer_code_len = slen;
                } else {
                        out->oom = true;
                }
        }
        rc = 0;
out:
        if (strcmp(f->name, "Password") == 0 && s)
                explicit_bzero(s, slen); /* not left in freed memory */
        if (s && s != small)
                free(s);
        return rc;
}

/* A member's name for a message: decoded, at most 63 bytes, control
 * characters (U+0000 too: the name is shown whole) and quotes as '?' so
 * the message stays printable. */
static void event_shown_name(const struct json_scan_span *key, char shown[64])
{
        size_t n = json_scan_string_decode(key, shown, 64);
        if (n > 63)
                n = 63;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)shown[i] < 0x20 || shown[i] == '"')
                        shown[i] = '?';
}

/* The decoded key is exactly `name`, or (ci) `name` in another case. A key
 * holding U+0000 is no field's name: json_scan_key_eq reads keys as C
 * strings, but Moka reads the whole name, so "Email\u0000x" is not its
 * Email (and would be sent as one). */
static bool event_key_is(const struct json_scan_span *key, const char *name,
                         bool ci)
{
        if (json_scan_string_decode(key, NULL, 0) != strlen(name))
                return false;
        return ci ? json_scan_key_eq_ci(key, name)
                  : json_scan_key_eq(key, name);
}

/* The unknown field's message: Moka's spelling when the name is one of
 * `names` in another case (a producer's customerCode would otherwise look
 * like a field Moka lacks). */
static void event_unknown_field(const struct json_scan_span *key,
                                const char *const *names, size_t count,
                                const char *note, char *errbuf,
                                size_t errsz)
{
        char shown[64];
        event_shown_name(key, shown);
        for (size_t i = 0; i < count; i++) {
                if (event_key_is(key, names[i], true)) {
                        snprintf(errbuf, errsz,
                                 "field \"%s\": unknown field (Moka's name "
                                 "is \"%s\")",
                                 shown, names[i]);
                        return;
                }
        }
        snprintf(errbuf, errsz, "field \"%s\": unknown field%s", shown, note);
}

int event_validate_customer_update(const void *value, size_t len,
                                   struct event_request *req, char *errbuf,
                                   size_t errbuf_size)
{
        memset(req, 0, sizeof(*req));
        if (!value || len == 0) {
                snprintf(errbuf, errbuf_size,
                         "value: empty, expected a JSON object");
                return -1;
        }
        struct json_scan_span root;
        if (event_parse_json(value, len, &root, errbuf, errbuf_size))
                return -1;
        if (root.type != JSON_SCAN_OBJECT) {
                snprintf(errbuf, errbuf_size,
                         "value: expected a JSON object, got %s",
                         event_json_type_name(&root));
                return -1;
        }

        /* One pass over the members: each known field's last value counts
         * (a repeated member replaces the earlier one) and fields are
         * checked, and written, in the order of their first appearance;
         * the first unknown member stops the checks where it appears. */
        struct {
                struct json_scan_span value;
                size_t first; /* index of its first member */
                bool seen;
        } fields[EVENT_FIELD_COUNT] = {0};
        struct json_scan_span unknown = {0};
        size_t unknown_at = SIZE_MAX;
        struct json_scan_iter it;
        struct json_scan_span key, v;
        json_scan_iter_init(&it, &root);
        for (size_t m = 0; json_scan_object_next(&it, &key, &v); m++) {
                size_t i = 0;
                while (i < EVENT_FIELD_COUNT &&
                       !event_key_is(&key, event_customer_fields[i].name,
                                     false))
                        i++;
                if (i == EVENT_FIELD_COUNT) {
                        if (unknown_at == SIZE_MAX) {
                                unknown = key;
                                unknown_at = m;
                        }
                        continue;
                }
                if (!fields[i].seen) {
                        fields[i].seen = true;
                        fields[i].first = m;
                }
                fields[i].value = v;
        }

        struct textbuf out = {0};
        struct event_kept kept = {0};
        bool any = false;
        textbuf_put(&out, "{", 1);
        for (size_t done = 0;; done++) {
                /* the unchecked field that appeared first */
                size_t next = EVENT_FIELD_COUNT;
                for (size_t i = 0; i < EVENT_FIELD_COUNT; i++)
                        if (fields[i].seen &&
                            (next == EVENT_FIELD_COUNT ||
                             fields[i].first < fields[next].first))
                                next = i;
                if (next == EVENT_FIELD_COUNT ||
                    fields[next].first > unknown_at) {
                        if (unknown_at != SIZE_MAX) {
                                const char *names[EVENT_FIELD_COUNT];
                                for (size_t i = 0; i < EVENT_FIELD_COUNT; i++)
                                        names[i] = event_customer_fields[i].name;
                                event_unknown_field(&unknown, names,
                                                    EVENT_FIELD_COUNT, "",
                                                    errbuf, errbuf_size);
                                goto fail;
                        }
                        break;
                }
                fields[next].seen = false;
                const struct event_field *f = &event_customer_fields[next];
                size_t mark = out.len;
                if (any)
                        textbuf_put(&out, ",", 1);
                textbuf_put(&out, "\"", 1);
                textbuf_put(&out, f->name, strlen(f->name));
                textbuf_put(&out, "\":", 2);
                size_t value_at = out.len;
                if (event_check_field(f, &fields[next].value, &out, &kept,
                                      errbuf, errbuf_size))
                        goto fail;
                if (out.len == value_at && !out.oom) {
                        /* unset (null, ""): not written */
                        out.len = mark;
                        out.p[out.len] = '\0';
                } else {
                        any = true;
                }
        }
        textbuf_put(&out, "}", 1);
        if (out.oom) {
                snprintf(errbuf, errbuf_size, "value: out of memory");
                goto fail;
        }
        req->json = out.p;
        req->len = out.len;
        req->password = kept.password;
        req->customer_code = kept.customer_code;
        req->customer_code_len = kept.customer_code_len;
        req->has_id = kept.has_id;
        req->id = kept.id;
        return 0;
fail:
        if (out.p)
                explicit_bzero(out.p, out.len);
        free(out.p);
        if (kept.password)
                explicit_bzero(kept.password, strlen(kept.password));
        free(kept.password);
        free(kept.customer_code);
        memset(req, 0, sizeof(*req));
        return -1;
}

void event_request_clear(struct event_request *req)
{
        if (req->password) {
                explicit_bzero(req->password, strlen(req->password));
                explicit_bzero(req->json, req->len);
        }
        free(req->password);
        free(req->json);
        free(req->customer_code);
        memset(req, 0, sizeof(*req));
}

int event_validate_sale_list(const void *value, size_t len, char *errbuf,
                             size_t errbuf_size)
{
        if (!value || len == 0)
                return 0;
        struct json_scan_span root;
        if (event_parse_json(value, len, &root, errbuf, errbuf_size))
                return -1;
        if (root.type != JSON_SCAN_OBJECT) {
                snprintf(errbuf, errbuf_size,
                         "value: expected a JSON object, got %s",
                         event_json_type_name(&root));
                return -1;
        }
        /* GetSaleList's only member besides the authentication block:
         * some SDKs send "DealerSaleRequest": null, an empty object says
         * the same. As for a customer update, a repeated member's last
         * value counts, and the first problem in the order of first
         * appearance is reported. */
        static const char *const names[] = {"DealerSaleRequest"};
        struct json_scan_iter it;
        struct json_scan_span key, v, request = {0}, unknown = {0};
        size_t request_at = SIZE_MAX, unknown_at = SIZE_MAX;
        json_scan_iter_init(&it, &root);
        for (size_t m = 0; json_scan_object_next(&it, &key, &v); m++) {
                if (event_key_is(&key, names[0], false)) {
                        if (request_at == SIZE_MAX)
                                request_at = m;
                        request = v;
                } else if (unknown_at == SIZE_MAX) {
                        unknown = key;
                        unknown_at = m;
                }
        }
        bool request_ok = true;
        if (request_at != SIZE_MAX && request.type != JSON_SCAN_NULL) {
                struct json_scan_iter inner;
                struct json_scan_span k2, v2;
                json_scan_iter_init(&inner, &request);
                request_ok = request.type == JSON_SCAN_OBJECT &&
                             !json_scan_object_next(&inner, &k2, &v2);
        }
        if (!request_ok && request_at < unknown_at) {
                snprintf(errbuf, errbuf_size,
                         "field \"%s\": expected null or an empty object "
                         "(GetSaleList takes no request fields), got %s",
                         names[0],
                         request.type == JSON_SCAN_OBJECT
                                 ? "an object with members"
                                 : event_json_type_name(&request));
                return -1;
        }
        if (unknown_at != SIZE_MAX) {
                event_unknown_field(&unknown, names, 1,
                                    " (a sale-list request takes only "
                                    "DealerSaleRequest, null or {})",
                                    errbuf, errbuf_size);
                return -1;
        }
        return 0;
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

static void event_derive_order_key(struct event *ev,
                                   struct event_request *req)
{
        if (ev->src.key_len > 0) {
                ev->order_key = ev->src.key;
                ev->order_key_len = ev->src.key_len;
        } else if (req->customer_code_len > 0) {
                ev->order_key_owned = req->customer_code; /* taken over */
                req->customer_code = NULL;
                ev->order_key = ev->order_key_owned;
                ev->order_key_len = req->customer_code_len;
        } else if (req->has_id) {
                int n = snprintf(ev->order_key_buf, sizeof(ev->order_key_buf),
                                 "id:%" PRId64, req->id);
                ev->order_key = ev->order_key_buf;
                ev->order_key_len = (size_t)n;
        }
}

struct event *event_create(rd_kafka_message_t *msg, const char *topic,
                           enum moka_operation op, size_t max_event_bytes)
{
        struct event_request req = {0}; /* what the validation kept */
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
                if (event_validate_customer_update(src->value, src->len, &req,
                                                   err, sizeof(err)) == 0)
                        err[0] = '\0';
        } else if (event_validate_sale_list(src->value, src->len, err,
                                            sizeof(err)) == 0) {
                err[0] = '\0';
        }
        if (err[0] != '\0') {
                ev->invalid = strdup(err);
                if (!ev->invalid)
                        goto oom;
        }
        /* the request's text and the customer's password are the event's
         * now; the rest of `req` goes */
        ev->request_json = req.json;
        ev->request_len = req.len;
        ev->customer_password = req.password;
        req.json = NULL;
        req.password = NULL;
        event_derive_order_key(ev, &req);
        event_request_clear(&req);
        return ev;
oom:
        event_request_clear(&req);
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
        moka_auth_destroy(ev->body_auth);
        free(ev->suspect_code);
        free(ev->suspect_message);
        if (ev->reply_hdrs)
                rd_kafka_headers_destroy(ev->reply_hdrs);
        if (ev->dlq_hdrs)
                rd_kafka_headers_destroy(ev->dlq_hdrs);
        if (ev->src.headers)
                rd_kafka_headers_destroy(ev->src.headers);
        free(ev->src.data);
        free(ev);
}
