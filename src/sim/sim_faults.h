/*
 * sim_faults: fault injection. Global settings (rates, latency, outage)
 * change at run time through POST /_sim/faults; scripted rules give the
 * next N requests of one customer a given fault, for deterministic tests.
 * Every Moka request asks sim_faults_decide() for a plan.
 */
#ifndef SIM_FAULTS_H
#define SIM_FAULTS_H

#include <stdbool.h>
#include <stddef.h>

#include "sim_buf.h"

struct sim_fault_settings {
        unsigned latency_ms;            /* added to every answer */
        unsigned latency_jitter_ms;     /* plus uniform 0..N */
        double error_rate;              /* answer HTTP error_status */
        unsigned error_status;
        unsigned retry_after;           /* seconds, on 503/429; 0 = none */
        double ex_rate;                 /* 200 + ResultCode EX */
        double hang_rate;               /* hold hang_ms, then answer */
        unsigned hang_ms;
        double reset_rate;              /* close without an answer */
        double malformed_rate;          /* 200 + truncated body */
        bool outage;                    /* every call: 503 at once */
        bool empty_invalid;             /* UpdateCustomer naming no customer:
                                           InvalidRequest, not ...MustBeGiven */
};

enum sim_fault_kind {
        SIM_FAULT_NONE,
        SIM_FAULT_HTTP,                 /* plan.status, no business effect */
        SIM_FAULT_EX,                   /* no business effect */
        SIM_FAULT_RESET,                /* no business effect */
        SIM_FAULT_HANG,                 /* normal answer after hang_ms */
        SIM_FAULT_MALFORMED,            /* normal effect, truncated body */
        SIM_FAULT_RESULT,               /* 200 + plan.result_code, no effect */
};

#define SIM_RESULT_CODE_MAX 128

struct sim_fault_plan {
        enum sim_fault_kind kind;
        unsigned status;                /* SIM_FAULT_HTTP */
        unsigned retry_after;           /* Retry-After header, 0 = none */
        unsigned delay_ms;              /* hold the answer this long */
        bool outage;
        bool from_rule;
        bool empty_invalid;             /* the setting, when decided */
        char result_code[SIM_RESULT_CODE_MAX];  /* SIM_FAULT_RESULT */
};

struct sim_faults;

/* Fills the settings a fresh simulator starts with. */
void sim_fault_settings_default(struct sim_fault_settings *s);

/*
 * Creates the fault state; defaults are what /_sim/reset restores
 * (command-line latency included).
 */
struct sim_faults *sim_faults_create(const struct sim_fault_settings *defaults);

/* Accepts NULL. */
void sim_faults_destroy(struct sim_faults *f);

/* Back to the defaults, no rules. */
void sim_faults_reset(struct sim_faults *f);

/*
 * Applies a POST /_sim/faults body: only the keys given change; "rules"
 * replaces the rule list. All or nothing: on error nothing changes, -1
 * is returned and err says why.
 */
int sim_faults_apply_json(struct sim_faults *f, const char *body, size_t len,
                          char *err, size_t errlen);

/* Appends the current settings and remaining rules as JSON. */
void sim_faults_render(struct sim_faults *f, struct sim_buf *b);

/*
 * Decides the fate of one request. key and alt_key (either may be NULL)
 * are matched against rule "customer" (equal) and "customer_prefix"
 * (starts with) values; a matching rule is consumed. Any thread.
 */
void sim_faults_decide(struct sim_faults *f, const char *key,
                       const char *alt_key, struct sim_fault_plan *plan);

/* Per-thread uniform random number in [0, 1). */
double sim_random(void);

#endif
