/*
 * sim_http: the libmicrohttpd server. Collects request bodies, routes
 * them to sim_moka / sim_admin, and sends the reply - at once, or after
 * suspending the connection until sim_timer resumes it.
 */
#ifndef SIM_HTTP_H
#define SIM_HTTP_H

#include <stddef.h>
#include <sys/socket.h>

#include "sim_app.h"

struct sim_http_options {
        struct sockaddr_storage addr;   /* port 0: any free port */
        socklen_t addrlen;
        unsigned threads;               /* MHD thread pool size */
        unsigned max_connections;
};

struct sim_http;

/*
 * Starts listening and serving on internal threads. app must outlive
 * the server. NULL with err filled on failure.
 */
struct sim_http *sim_http_start(struct sim_app *app,
                                const struct sim_http_options *o, char *err,
                                size_t errlen);

/* The port actually bound. */
unsigned sim_http_port(const struct sim_http *h);

/*
 * Stops the server: first fires every pending timer (MHD must not be
 * stopped with suspended connections), then stops MHD and frees.
 * Accepts NULL.
 */
void sim_http_stop(struct sim_http *h);

#endif
