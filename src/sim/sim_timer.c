/*
 * sim_timer: min-heap timer thread, see sim_timer.h.
 */
#include "sim_timer.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#define TIMER_BATCH 64

struct timer_entry {
        uint64_t due_ns;
        uint64_t seq;           /* FIFO among equal deadlines */
        void (*fn)(void *arg);
        void *arg;
};

struct sim_timer {
        pthread_mutex_t lock;
        pthread_cond_t cond;    /* CLOCK_MONOTONIC */
        pthread_t thread;
        bool running;           /* thread started and not yet joined */
        bool stopping;
        struct timer_entry *heap;
        size_t n;
        size_t cap;
        uint64_t seq;
};

uint64_t sim_timer_now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static bool entry_before(const struct timer_entry *a,
                         const struct timer_entry *b)
{
        if (a->due_ns != b->due_ns)
                return a->due_ns < b->due_ns;
        return a->seq < b->seq;
}

static void heap_up(struct timer_entry *h, size_t i)
{
        struct timer_entry e = h[i];

        while (i > 0) {
                size_t parent = (i - 1) / 2;

                if (!entry_before(&e, &h[parent]))
                        break;
                h[i] = h[parent];
                i = parent;
        }
        h[i] = e;
}

static void heap_down(struct timer_entry *h, size_t n, size_t i)
{
        struct timer_entry e = h[i];

        for (;;) {
                size_t c = 2 * i + 1;

                if (c >= n)
                        break;
                if (c + 1 < n && entry_before(&h[c + 1], &h[c]))
                        c++;
                if (!entry_before(&h[c], &e))
                        break;
                h[i] = h[c];
                i = c;
        }
        h[i] = e;
}

static struct timer_entry heap_pop(struct sim_timer *t)
{
        struct timer_entry top = t->heap[0];

        t->n--;
        if (t->n > 0) {
                t->heap[0] = t->heap[t->n];
                heap_down(t->heap, t->n, 0);
        }
        return top;
}

static void *timer_main(void *arg)
{
        struct sim_timer *t = arg;
        struct timer_entry batch[TIMER_BATCH];

        pthread_mutex_lock(&t->lock);
        for (;;) {
                uint64_t now = sim_timer_now_ns();
                size_t nb = 0;
                size_t i;

                while (t->n > 0 && nb < TIMER_BATCH &&
                       (t->stopping || t->heap[0].due_ns <= now))
                        batch[nb++] = heap_pop(t);
                if (nb > 0) {
                        /* Callbacks run unlocked: they may add timers. */
                        pthread_mutex_unlock(&t->lock);
                        for (i = 0; i < nb; i++)
                                batch[i].fn(batch[i].arg);
                        pthread_mutex_lock(&t->lock);
                        continue;
                }
                if (t->stopping)
                        break;
                if (t->n == 0) {
                        pthread_cond_wait(&t->cond, &t->lock);
                } else {
                        struct timespec ts;
                        uint64_t due = t->heap[0].due_ns;

                        ts.tv_sec = (time_t)(due / 1000000000ULL);
                        ts.tv_nsec = (long)(due % 1000000000ULL);
                        pthread_cond_timedwait(&t->cond, &t->lock, &ts);
                }
        }
        pthread_mutex_unlock(&t->lock);
        return NULL;
}

struct sim_timer *sim_timer_create(void)
{
        struct sim_timer *t = calloc(1, sizeof(*t));
        pthread_condattr_t attr;
        int rc;

        if (!t)
                return NULL;
        pthread_mutex_init(&t->lock, NULL);
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&t->cond, &attr);
        pthread_condattr_destroy(&attr);
        rc = pthread_create(&t->thread, NULL, timer_main, t);
        if (rc != 0) {
                sim_timer_destroy(t);
                errno = rc;
                return NULL;
        }
        t->running = true;
        return t;
}

int sim_timer_add(struct sim_timer *t, uint64_t delay_ms,
                  void (*fn)(void *arg), void *arg)
{
        struct timer_entry e;

        e.due_ns = sim_timer_now_ns() + delay_ms * 1000000ULL;
        e.fn = fn;
        e.arg = arg;
        pthread_mutex_lock(&t->lock);
        if (t->stopping)
                goto refuse;
        if (t->n == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 256;
                struct timer_entry *h = realloc(t->heap, cap * sizeof(*h));

                if (!h)
                        goto refuse;
                t->heap = h;
                t->cap = cap;
        }
        e.seq = t->seq++;
        t->heap[t->n] = e;
        heap_up(t->heap, t->n);
        t->n++;
        if (t->heap[0].seq == e.seq)
                pthread_cond_signal(&t->cond);  /* new earliest deadline */
        pthread_mutex_unlock(&t->lock);
        return 0;
refuse:
        pthread_mutex_unlock(&t->lock);
        return -1;
}

size_t sim_timer_pending(struct sim_timer *t)
{
        size_t n;

        pthread_mutex_lock(&t->lock);
        n = t->n;
        pthread_mutex_unlock(&t->lock);
        return n;
}

void sim_timer_stop(struct sim_timer *t)
{
        pthread_mutex_lock(&t->lock);
        t->stopping = true;
        pthread_cond_signal(&t->cond);
        pthread_mutex_unlock(&t->lock);
        if (t->running) {
                pthread_join(t->thread, NULL);
                t->running = false;
        }
}

void sim_timer_destroy(struct sim_timer *t)
{
        if (!t)
                return;
        sim_timer_stop(t);
        pthread_cond_destroy(&t->cond);
        pthread_mutex_destroy(&t->lock);
        free(t->heap);
        free(t);
}
