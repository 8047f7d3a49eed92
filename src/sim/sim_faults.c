/*
 * sim_faults: fault settings, scripted rules and the per-request
 * decision, see sim_faults.h.
 */
#include "sim_faults.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim_json.h"

#define FAULT_RULES_MAX 10000

struct fault_rule {
        char *customer;                 /* exactly one of customer */
        char *customer_prefix;          /* and customer_prefix is set */
        char *result_code;              /* SIM_FAULT_RESULT */
        enum sim_fault_kind kind;
        unsigned status;                /* SIM_FAULT_HTTP */
        long long remaining;            /* < 0: forever */
        long long retry_after;          /* < 0: global setting */
        long long hang_ms;              /* < 0: global setting */
};

struct sim_faults {
        pthread_mutex_t lock;
        struct sim_fault_settings defaults;
        struct sim_fault_settings cur;
        struct fault_rule *rules;
        size_t nrules;
};

static const struct {
        const char *name;
        enum sim_fault_kind kind;
        unsigned status;
} fault_kinds[] = {
        { "http_500", SIM_FAULT_HTTP, 500 },
        { "http_502", SIM_FAULT_HTTP, 502 },
        { "http_503", SIM_FAULT_HTTP, 503 },
        { "http_504", SIM_FAULT_HTTP, 504 },
        { "http_408", SIM_FAULT_HTTP, 408 },
        { "http_429", SIM_FAULT_HTTP, 429 },
        { "http_401", SIM_FAULT_HTTP, 401 },
        { "http_403", SIM_FAULT_HTTP, 403 },
        { "http_404", SIM_FAULT_HTTP, 404 },
        { "ex", SIM_FAULT_EX, 0 },
        { "hang", SIM_FAULT_HANG, 0 },
        { "reset", SIM_FAULT_RESET, 0 },
        { "malformed", SIM_FAULT_MALFORMED, 0 },
        { "result", SIM_FAULT_RESULT, 0 },
};

#define N_FAULT_KINDS (sizeof(fault_kinds) / sizeof(fault_kinds[0]))

static const char *kind_name(enum sim_fault_kind kind, unsigned status)
{
        size_t i;

        for (i = 0; i < N_FAULT_KINDS; i++)
                if (fault_kinds[i].kind == kind &&
                    fault_kinds[i].status == status)
                        return fault_kinds[i].name;
        return "?";
}

double sim_random(void)
{
        static _Thread_local uint64_t state;
        uint64_t x;

        if (state == 0) {
                struct timespec ts;

                clock_gettime(CLOCK_MONOTONIC, &ts);
                state = ((uint64_t)ts.tv_nsec << 20) ^
                        (uint64_t)(uintptr_t)&state ^
                        (uint64_t)ts.tv_sec;
                state |= 1;
        }
        x = state;                      /* xorshift64* */
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state = x;
        return (double)((x * 2685821657736338717ULL) >> 11) /
               9007199254740992.0;
}

void sim_fault_settings_default(struct sim_fault_settings *s)
{
        memset(s, 0, sizeof(*s));
        s->error_status = 503;
        s->hang_ms = 60000;
}

static void rules_free(struct fault_rule *rules, size_t n)
{
        size_t i;

        for (i = 0; i < n; i++) {
                free(rules[i].customer);
                free(rules[i].customer_prefix);
                free(rules[i].result_code);
        }
        free(rules);
}

struct sim_faults *sim_faults_create(const struct sim_fault_settings *defaults)
{
        struct sim_faults *f = calloc(1, sizeof(*f));

        if (!f)
                return NULL;
        pthread_mutex_init(&f->lock, NULL);
        f->defaults = *defaults;
        f->cur = *defaults;
        return f;
}

void sim_faults_destroy(struct sim_faults *f)
{
        if (!f)
                return;
        rules_free(f->rules, f->nrules);
        pthread_mutex_destroy(&f->lock);
        free(f);
}

void sim_faults_reset(struct sim_faults *f)
{
        struct fault_rule *old;
        size_t nold;

        pthread_mutex_lock(&f->lock);
        f->cur = f->defaults;
        old = f->rules;
        nold = f->nrules;
        f->rules = NULL;
        f->nrules = 0;
        pthread_mutex_unlock(&f->lock);
        rules_free(old, nold);
}

static int read_rate(struct json_object *v, const char *key, double *out,
                     char *err, size_t errlen)
{
        double d;

        if (sim_json_get_double(v, &d) != SIM_JSON_OK || d < 0 || d > 1) {
                snprintf(err, errlen, "%s: expected a number in [0, 1]", key);
                return -1;
        }
        *out = d;
        return 0;
}

static int read_uint(struct json_object *v, const char *key, long long max,
                     unsigned *out, char *err, size_t errlen)
{
        long long n;

        if (sim_json_get_int(v, &n) != SIM_JSON_OK || n < 0 || n > max) {
                snprintf(err, errlen, "%s: expected an integer in [0, %lld]",
                         key, max);
                return -1;
        }
        *out = (unsigned)n;
        return 0;
}

static int parse_rule(struct json_object *o, size_t idx,
                      struct fault_rule *r, char *err, size_t errlen)
{
        const char *s;
        long long n;
        size_t i;

        memset(r, 0, sizeof(*r));
        r->remaining = 1;
        r->retry_after = -1;
        r->hang_ms = -1;
        if (!json_object_is_type(o, json_type_object)) {
                snprintf(err, errlen, "rules[%zu]: expected an object", idx);
                return -1;
        }
        json_object_object_foreach(o, key, v) {
                if (strcmp(key, "customer") == 0) {
                        if (sim_json_get_str(v, &s) != SIM_JSON_OK)
                                goto bad;
                        free(r->customer);
                        r->customer = strdup(s);
                        if (!r->customer)
                                goto bad;
                } else if (strcmp(key, "customer_prefix") == 0) {
                        if (sim_json_get_str(v, &s) != SIM_JSON_OK)
                                goto bad;
                        free(r->customer_prefix);
                        r->customer_prefix = strdup(s);
                        if (!r->customer_prefix)
                                goto bad;
                } else if (strcmp(key, "result_code") == 0) {
                        if (sim_json_get_str(v, &s) != SIM_JSON_OK ||
                            strlen(s) >= SIM_RESULT_CODE_MAX)
                                goto bad;
                        free(r->result_code);
                        r->result_code = strdup(s);
                        if (!r->result_code)
                                goto bad;
                } else if (strcmp(key, "kind") == 0) {
                        if (sim_json_get_str(v, &s) != SIM_JSON_OK)
                                goto bad;
                        for (i = 0; i < N_FAULT_KINDS; i++)
                                if (strcmp(s, fault_kinds[i].name) == 0)
                                        break;
                        if (i == N_FAULT_KINDS) {
                                snprintf(err, errlen,
                                         "rules[%zu].kind: unknown kind "
                                         "\"%.40s\"", idx, s);
                                return -1;
                        }
                        r->kind = fault_kinds[i].kind;
                        r->status = fault_kinds[i].status;
                } else if (strcmp(key, "count") == 0) {
                        if (sim_json_get_int(v, &n) != SIM_JSON_OK ||
                            n < -1 || n == 0)
                                goto bad;
                        r->remaining = n;
                } else if (strcmp(key, "retry_after") == 0) {
                        if (sim_json_get_int(v, &n) != SIM_JSON_OK ||
                            n < 0 || n > 86400)
                                goto bad;
                        r->retry_after = n;
                } else if (strcmp(key, "hang_ms") == 0) {
                        if (sim_json_get_int(v, &n) != SIM_JSON_OK ||
                            n < 0 || n > 3600000)
                                goto bad;
                        r->hang_ms = n;
                } else {
                        snprintf(err, errlen, "rules[%zu]: unknown key "
                                 "\"%.40s\"", idx, key);
                        return -1;
                }
                continue;
bad:
                snprintf(err, errlen, "rules[%zu].%s: invalid value", idx,
                         key);
                return -1;
        }
        if (!r->customer == !r->customer_prefix ||
            r->kind == SIM_FAULT_NONE) {
                snprintf(err, errlen, "rules[%zu]: \"kind\" and one of "
                         "\"customer\" and \"customer_prefix\" are required",
                         idx);
                return -1;
        }
        if ((r->kind == SIM_FAULT_RESULT) != (r->result_code != NULL)) {
                snprintf(err, errlen, "rules[%zu]: \"result_code\" goes "
                         "with (and only with) kind \"result\"", idx);
                return -1;
        }
        return 0;
}

static int parse_rules(struct json_object *v, struct fault_rule **out,
                       size_t *nout, char *err, size_t errlen)
{
        struct fault_rule *rules = NULL;
        size_t n;
        size_t i;

        *out = NULL;
        *nout = 0;
        if (!v)
                return 0;               /* null clears the rules */
        if (!json_object_is_type(v, json_type_array)) {
                snprintf(err, errlen, "rules: expected an array");
                return -1;
        }
        n = json_object_array_length(v);
        if (n > FAULT_RULES_MAX) {
                snprintf(err, errlen, "rules: at most %d rules",
                         FAULT_RULES_MAX);
                return -1;
        }
        if (n == 0)
                return 0;
        rules = calloc(n, sizeof(*rules));
        if (!rules) {
                snprintf(err, errlen, "out of memory");
                return -1;
        }
        for (i = 0; i < n; i++) {
                if (parse_rule(json_object_array_get_idx(v, i), i,
                               &rules[i], err, errlen) != 0) {
                        rules_free(rules, i + 1);
                        return -1;
                }
        }
        *out = rules;
        *nout = n;
        return 0;
}

int sim_faults_apply_json(struct sim_faults *f, const char *body, size_t len,
                          char *err, size_t errlen)
{
        struct json_object *root;
        struct sim_fault_settings s;
        struct fault_rule *rules = NULL;
        struct fault_rule *old = NULL;
        size_t nrules = 0;
        size_t nold = 0;
        bool have_rules = false;
        int outage;
        int rc = -1;

        root = sim_json_parse(body, len, err, errlen);
        if (!root)
                return -1;
        if (!json_object_is_type(root, json_type_object)) {
                snprintf(err, errlen, "expected a JSON object");
                goto cleanup;
        }
        pthread_mutex_lock(&f->lock);
        s = f->cur;
        pthread_mutex_unlock(&f->lock);
        json_object_object_foreach(root, key, v) {
                int r = 0;

                if (strcmp(key, "latency_ms") == 0)
                        r = read_uint(v, key, 3600000, &s.latency_ms, err,
                                      errlen);
                else if (strcmp(key, "latency_jitter_ms") == 0)
                        r = read_uint(v, key, 3600000, &s.latency_jitter_ms,
                                      err, errlen);
                else if (strcmp(key, "error_rate") == 0)
                        r = read_rate(v, key, &s.error_rate, err, errlen);
                else if (strcmp(key, "error_status") == 0) {
                        r = read_uint(v, key, 599, &s.error_status, err,
                                      errlen);
                        if (r == 0 && s.error_status < 400) {
                                snprintf(err, errlen, "error_status: "
                                         "expected 400..599");
                                r = -1;
                        }
                } else if (strcmp(key, "retry_after") == 0)
                        r = read_uint(v, key, 86400, &s.retry_after, err,
                                      errlen);
                else if (strcmp(key, "ex_rate") == 0)
                        r = read_rate(v, key, &s.ex_rate, err, errlen);
                else if (strcmp(key, "hang_rate") == 0)
                        r = read_rate(v, key, &s.hang_rate, err, errlen);
                else if (strcmp(key, "hang_ms") == 0)
                        r = read_uint(v, key, 3600000, &s.hang_ms, err,
                                      errlen);
                else if (strcmp(key, "reset_rate") == 0)
                        r = read_rate(v, key, &s.reset_rate, err, errlen);
                else if (strcmp(key, "malformed_rate") == 0)
                        r = read_rate(v, key, &s.malformed_rate, err,
                                      errlen);
                else if (strcmp(key, "outage") == 0) {
                        if (sim_json_get_bool(v, &outage) != SIM_JSON_OK) {
                                snprintf(err, errlen,
                                         "outage: expected true or false");
                                r = -1;
                        }
                        s.outage = outage;
                } else if (strcmp(key, "empty_customer_request") == 0) {
                        const char *mode = NULL;

                        sim_json_get_str(v, &mode);
                        if (mode && strcmp(mode, "invalid") == 0) {
                                s.empty_invalid = true;
                        } else if (mode &&
                                   strcmp(mode, "must-be-given") == 0) {
                                s.empty_invalid = false;
                        } else {
                                snprintf(err, errlen, "empty_customer_request:"
                                         " expected \"invalid\" or "
                                         "\"must-be-given\"");
                                r = -1;
                        }
                } else if (strcmp(key, "rules") == 0) {
                        rules_free(rules, nrules);
                        r = parse_rules(v, &rules, &nrules, err, errlen);
                        have_rules = true;
                } else {
                        snprintf(err, errlen, "unknown key \"%.40s\"", key);
                        r = -1;
                }
                if (r != 0)
                        goto cleanup;
        }
        pthread_mutex_lock(&f->lock);
        f->cur = s;
        if (have_rules) {
                old = f->rules;
                nold = f->nrules;
                f->rules = rules;
                f->nrules = nrules;
                rules = NULL;
                nrules = 0;
        }
        pthread_mutex_unlock(&f->lock);
        rc = 0;
cleanup:
        rules_free(rules, nrules);
        rules_free(old, nold);
        json_object_put(root);
        return rc;
}

void sim_faults_render(struct sim_faults *f, struct sim_buf *b)
{
        struct sim_fault_settings s;
        size_t i;

        pthread_mutex_lock(&f->lock);
        s = f->cur;
        sim_buf_printf(b,
                "{\"latency_ms\":%u,\"latency_jitter_ms\":%u,"
                "\"error_rate\":%g,\"error_status\":%u,\"retry_after\":%u,"
                "\"ex_rate\":%g,\"hang_rate\":%g,\"hang_ms\":%u,"
                "\"reset_rate\":%g,\"malformed_rate\":%g,\"outage\":%s,"
                "\"empty_customer_request\":\"%s\",\"rules\":[",
                s.latency_ms, s.latency_jitter_ms, s.error_rate,
                s.error_status, s.retry_after, s.ex_rate, s.hang_rate,
                s.hang_ms, s.reset_rate, s.malformed_rate,
                s.outage ? "true" : "false",
                s.empty_invalid ? "invalid" : "must-be-given");
        for (i = 0; i < f->nrules; i++) {
                const struct fault_rule *r = &f->rules[i];

                sim_buf_puts(b, i ? ",{" : "{");
                sim_buf_puts(b, r->customer ? "\"customer\":" :
                             "\"customer_prefix\":");
                sim_buf_json_str(b, r->customer ? r->customer :
                                 r->customer_prefix);
                sim_buf_printf(b, ",\"kind\":\"%s\",\"count\":%lld",
                               kind_name(r->kind, r->status), r->remaining);
                if (r->result_code) {
                        sim_buf_puts(b, ",\"result_code\":");
                        sim_buf_json_str(b, r->result_code);
                }
                if (r->retry_after >= 0)
                        sim_buf_printf(b, ",\"retry_after\":%lld",
                                       r->retry_after);
                if (r->hang_ms >= 0)
                        sim_buf_printf(b, ",\"hang_ms\":%lld", r->hang_ms);
                sim_buf_puts(b, "}");
        }
        pthread_mutex_unlock(&f->lock);
        sim_buf_puts(b, "]}");
}

static bool rule_matches(const struct fault_rule *r, const char *key,
                         const char *alt_key)
{
        size_t n;

        if (r->remaining == 0)
                return false;
        if (r->customer_prefix) {
                n = strlen(r->customer_prefix);
                return (key && strncmp(key, r->customer_prefix, n) == 0) ||
                       (alt_key &&
                        strncmp(alt_key, r->customer_prefix, n) == 0);
        }
        if (strcmp(r->customer, "*") == 0)
                return true;
        return (key && strcmp(r->customer, key) == 0) ||
               (alt_key && strcmp(r->customer, alt_key) == 0);
}

static unsigned status_retry_after(unsigned status, unsigned retry_after)
{
        return (status == 503 || status == 429) ? retry_after : 0;
}

void sim_faults_decide(struct sim_faults *f, const char *key,
                       const char *alt_key, struct sim_fault_plan *plan)
{
        struct sim_fault_settings s;
        size_t i;
        double r;

        memset(plan, 0, sizeof(*plan));
        pthread_mutex_lock(&f->lock);
        s = f->cur;
        plan->empty_invalid = s.empty_invalid;
        if (s.outage) {
                pthread_mutex_unlock(&f->lock);
                plan->kind = SIM_FAULT_HTTP;
                plan->status = 503;
                plan->retry_after = s.retry_after;
                plan->outage = true;
                return;
        }
        plan->delay_ms = s.latency_ms;
        if (s.latency_jitter_ms)
                plan->delay_ms += (unsigned)(sim_random() *
                                             (s.latency_jitter_ms + 1.0));
        for (i = 0; i < f->nrules; i++) {
                struct fault_rule *rule = &f->rules[i];

                if (!rule_matches(rule, key, alt_key))
                        continue;
                if (rule->remaining > 0)
                        rule->remaining--;
                plan->kind = rule->kind;
                plan->status = rule->status;
                plan->from_rule = true;
                plan->retry_after = status_retry_after(rule->status,
                        rule->retry_after >= 0 ?
                        (unsigned)rule->retry_after : s.retry_after);
                if (rule->kind == SIM_FAULT_HANG)
                        plan->delay_ms = rule->hang_ms >= 0 ?
                                (unsigned)rule->hang_ms : s.hang_ms;
                if (rule->result_code)
                        snprintf(plan->result_code,
                                 sizeof(plan->result_code), "%s",
                                 rule->result_code);
                pthread_mutex_unlock(&f->lock);
                return;
        }
        pthread_mutex_unlock(&f->lock);

        /* One draw; the rates stack in this order. */
        r = sim_random();
        if (r < s.reset_rate) {
                plan->kind = SIM_FAULT_RESET;
                return;
        }
        r -= s.reset_rate;
        if (r < s.hang_rate) {
                plan->kind = SIM_FAULT_HANG;
                plan->delay_ms = s.hang_ms;
                return;
        }
        r -= s.hang_rate;
        if (r < s.error_rate) {
                plan->kind = SIM_FAULT_HTTP;
                plan->status = s.error_status;
                plan->retry_after = status_retry_after(s.error_status,
                                                       s.retry_after);
                return;
        }
        r -= s.error_rate;
        if (r < s.ex_rate) {
                plan->kind = SIM_FAULT_EX;
                return;
        }
        r -= s.ex_rate;
        if (r < s.malformed_rate)
                plan->kind = SIM_FAULT_MALFORMED;
}
