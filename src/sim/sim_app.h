/*
 * sim_app: what every request handler needs (the modules of one running
 * simulator), and the reply a handler prepares for the HTTP layer.
 */
#ifndef SIM_APP_H
#define SIM_APP_H

#include <stdbool.h>
#include <stddef.h>

#include "sim_buf.h"

struct sim_store;
struct sim_faults;
struct sim_stats;
struct sim_calls;
struct sim_timer;

struct sim_app {
        struct sim_store *store;
        struct sim_faults *faults;
        struct sim_stats *stats;
        struct sim_calls *calls;
        struct sim_timer *timer;
};

/*
 * An answer waiting to be sent. Exactly one of body (malloc'd, owned)
 * and blob (one reference owned) carries the bytes.
 */
struct sim_reply {
        unsigned status;
        char *body;
        size_t len;
        struct sim_blob *blob;
        size_t blob_len;                /* bytes of blob to send */
        const char *content_type;       /* static string */
        const char *allow;              /* Allow header, for 405 */
        unsigned retry_after;           /* Retry-After header, 0 = none */
        unsigned delay_ms;              /* hold the answer this long */
        bool reset;                     /* close the connection instead */
};

/* Makes b (JSON) the reply body; b is left empty. */
void sim_reply_json(struct sim_reply *r, unsigned status, struct sim_buf *b);

/* A text/plain reply with the status's reason phrase as body. */
void sim_reply_status(struct sim_reply *r, unsigned status);

/* Frees what the reply holds. */
void sim_reply_release(struct sim_reply *r);

#endif
