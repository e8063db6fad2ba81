/*
 * The work queue of a fleet run: which target a worker takes next, how many have finished and
 * failed, and the state of the progress line (its phase, and whether a prompt keeps it off the
 * terminal). Every function takes the queue's own mutex, so pool.c's threads only call them,
 * and a unit test drives the same state without any thread.
 */
#include "fleet/internal.h"

#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void fleet_queue_init(FleetQueue *q)
{
    memset(q, 0, sizeof *q);
    pthread_mutex_init(&q->mutex, NULL);
}

void fleet_queue_destroy(FleetQueue *q)
{
    pthread_mutex_destroy(&q->mutex);
}

void fleet_queue_batch(FleetQueue *q, const size_t *items, size_t n)
{
    pthread_mutex_lock(&q->mutex);
    q->items = items;
    q->n_items = n;
    q->next = 0;
    pthread_mutex_unlock(&q->mutex);
}

bool fleet_queue_take(FleetQueue *q, const atomic_int *interrupted, size_t *target)
{
    pthread_mutex_lock(&q->mutex);
    bool take = q->next < q->n_items && !atomic_load(interrupted);
    if (take)
        *target = q->items[q->next++];
    pthread_mutex_unlock(&q->mutex);
    return take;
}

void fleet_queue_done(FleetQueue *q, bool failed)
{
    pthread_mutex_lock(&q->mutex);
    q->finished++;
    if (failed)
        q->failed++;
    pthread_mutex_unlock(&q->mutex);
}

void fleet_queue_set_phase(FleetQueue *q, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&q->mutex);
    vsnprintf(q->phase, sizeof q->phase, fmt, ap);
    pthread_mutex_unlock(&q->mutex);
    va_end(ap);
}

int fleet_queue_progress(FleetQueue *q, size_t total, char *line, size_t size)
{
    pthread_mutex_lock(&q->mutex);
    int n = snprintf(line, size, "%s%s[%zu/%zu] %zu failed", q->phase, *q->phase ? " " : "",
                     q->finished, total, q->failed);
    pthread_mutex_unlock(&q->mutex);
    return n;
}

bool fleet_queue_show(FleetQueue *q, const char *line)
{
    pthread_mutex_lock(&q->mutex);
    bool show = !q->quiet;
    if (show)
        pf_log_progress(line);
    pthread_mutex_unlock(&q->mutex);
    return show;
}

void fleet_queue_hush(FleetQueue *q, bool quiet, bool erase)
{
    pthread_mutex_lock(&q->mutex);
    q->quiet = quiet;
    if (quiet && erase)
        pf_log_progress("");
    pthread_mutex_unlock(&q->mutex);
}
