/*
 * sim_moka: the Moka endpoints. Parses a request, records it in the call
 * log, asks sim_faults for a plan and builds the answer in Moka's
 * envelope from the store's result (or the injected fault).
 */
#ifndef SIM_MOKA_H
#define SIM_MOKA_H

#include <stddef.h>

#include "sim_app.h"
#include "sim_ip.h"
#include "sim_stats.h"

/*
 * Handles one POST to a Moka endpoint; fills reply (including its delay).
 * peer is the caller's address (NULL: unknown), checked against the
 * dealer's allow-list. Runs on an MHD worker thread.
 */
void sim_moka_handle(struct sim_app *app, enum sim_endpoint ep,
                     const char *body, size_t len, const struct sim_ip *peer,
                     struct sim_reply *reply);

#endif
