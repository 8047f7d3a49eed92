/*
 * sim_timer: one thread that fires callbacks at a deadline, ordered by a
 * binary min-heap. The HTTP layer uses it to resume suspended MHD
 * connections, so that latency and hung requests cost a heap slot each
 * and never a worker thread.
 */
#ifndef SIM_TIMER_H
#define SIM_TIMER_H

#include <stddef.h>
#include <stdint.h>

struct sim_timer;

/* Starts the timer thread; NULL (with errno) on failure. */
struct sim_timer *sim_timer_create(void);

/*
 * Schedules fn(arg) on the timer thread in delay_ms milliseconds. Any
 * thread. Returns -1 once sim_timer_stop() has begun: the caller then
 * does the work itself.
 */
int sim_timer_add(struct sim_timer *t, uint64_t delay_ms,
                  void (*fn)(void *arg), void *arg);

/* Number of callbacks waiting. Any thread. */
size_t sim_timer_pending(struct sim_timer *t);

/*
 * Fires every pending callback at once, refuses new ones and joins the
 * thread. Called before MHD_stop_daemon(), which must not find a
 * suspended connection. Idempotent.
 */
void sim_timer_stop(struct sim_timer *t);

/* Stops (if needed) and frees the timer. Accepts NULL. */
void sim_timer_destroy(struct sim_timer *t);

/* Monotonic clock in nanoseconds. */
uint64_t sim_timer_now_ns(void);

#endif
