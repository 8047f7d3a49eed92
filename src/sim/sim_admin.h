/*
 * sim_admin: the control API under /_sim/ (faults, reset, stats, call
 * log, health). Never delayed, never faulted.
 */
#ifndef SIM_ADMIN_H
#define SIM_ADMIN_H

#include <stddef.h>

#include "sim_app.h"

/*
 * Handles one request to a path starting with "/_sim". customer is the
 * decoded ?customer= argument or NULL. Runs on an MHD worker thread.
 */
void sim_admin_handle(struct sim_app *app, const char *method,
                      const char *path, const char *customer,
                      const char *body, size_t len, struct sim_reply *reply);

#endif
