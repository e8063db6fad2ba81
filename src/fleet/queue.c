/*
 * The work queue of a fleet run: which target a worker takes next, how many have finished and
 * failed, and the state of the progress line (its phase, and whether a prompt keeps it off the
 * terminal). Every function takes the queue's own mutex, so pool.c's threads only call them,
 * and a unit test drives the same state without any thread.
 *
 * With servers (max_per_server), the next target is the first in batch order whose server has
 * room: each server's targets wait in their own list, in batch order, and a heap of the
 * servers with room, keyed by the position of their next target, gives the earliest in
 * O(log servers). A worker that keeps a tenant's connection holds its server until it closes
 * it, and a target of that server may follow on the same hold.
 */
#include "fleet/internal.h"

#include "core/log.h"
#include "core/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void fleet_queue_init(FleetQueue *q)
{
    memset(q, 0, sizeof *q);
    pthread_mutex_init(&q->mutex, NULL);
    pthread_cond_init(&q->room, NULL);
}

static void servers_clear(FleetQueue *q)
{
    free(q->busy);
    free(q->first);
    free(q->head);
    free(q->end);
    free(q->by_server);
    free(q->ready);
    q->busy = NULL;
    q->first = q->head = q->end = q->by_server = NULL;
    q->ready = NULL;
    q->n_ready = q->ready_cap = 0;
}

void fleet_queue_destroy(FleetQueue *q)
{
    servers_clear(q);
    pthread_cond_destroy(&q->room);
    pthread_mutex_destroy(&q->mutex);
}

void fleet_queue_servers(FleetQueue *q, const size_t *server_of, const int *cap, size_t n)
{
    pthread_mutex_lock(&q->mutex);
    q->server_of = server_of;
    q->cap = cap;
    q->n_servers = n;
    pthread_mutex_unlock(&q->mutex);
}

/* ---- the ready heap: (position of a server's next item, server), smallest first ---- */

static bool entry_less(const struct FleetQueueEntry *a, const struct FleetQueueEntry *b)
{
    return a->pos < b->pos;
}

static void ready_push(FleetQueue *q, size_t s)
{
    PF_GROW(q->ready, q->ready_cap, q->n_ready + 1);
    size_t i = q->n_ready++;
    q->ready[i] = (struct FleetQueueEntry){q->by_server[q->head[s]], s};
    while (i > 0 && entry_less(&q->ready[i], &q->ready[(i - 1) / 2])) {
        struct FleetQueueEntry t = q->ready[i];
        q->ready[i] = q->ready[(i - 1) / 2];
        q->ready[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static void ready_pop(FleetQueue *q)
{
    q->ready[0] = q->ready[--q->n_ready];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->n_ready && entry_less(&q->ready[l], &q->ready[m]))
            m = l;
        if (r < q->n_ready && entry_less(&q->ready[r], &q->ready[m]))
            m = r;
        if (m == i)
            break;
        struct FleetQueueEntry t = q->ready[i];
        q->ready[i] = q->ready[m];
        q->ready[m] = t;
        i = m;
    }
}

static bool has_items(const FleetQueue *q, size_t s)
{
    return q->head[s] < q->end[s];
}

static bool has_room(const FleetQueue *q, size_t s)
{
    return q->busy[s] < q->cap[s];
}

/* The top entry once stale ones are dropped (its server has room, and this is its next item),
 * or NULL. */
static const struct FleetQueueEntry *ready_top(FleetQueue *q)
{
    while (q->n_ready) {
        const struct FleetQueueEntry *e = &q->ready[0];
        if (has_items(q, e->server) && has_room(q, e->server) &&
            q->by_server[q->head[e->server]] == e->pos)
            return e;
        ready_pop(q);
    }
    return NULL;
}

void fleet_queue_batch(FleetQueue *q, const size_t *items, size_t n)
{
    pthread_mutex_lock(&q->mutex);
    q->items = items;
    q->n_items = n;
    q->next = 0;
    if (q->server_of) {
        /* Each server's items in batch order (a counting sort), every server ready. */
        size_t ns = q->n_servers;
        servers_clear(q);
        q->busy = pf_calloc(ns ? ns : 1, sizeof *q->busy);
        q->first = pf_calloc(ns + 1, sizeof *q->first);
        q->head = pf_calloc(ns ? ns : 1, sizeof *q->head);
        q->end = pf_calloc(ns ? ns : 1, sizeof *q->end);
        q->by_server = pf_malloc((n ? n : 1) * sizeof *q->by_server);
        for (size_t i = 0; i < n; i++)
            q->first[q->server_of[items[i]] + 1]++;
        for (size_t s = 0; s < ns; s++)
            q->first[s + 1] += q->first[s];
        for (size_t s = 0; s < ns; s++)
            q->head[s] = q->end[s] = q->first[s];
        for (size_t i = 0; i < n; i++)
            q->by_server[q->end[q->server_of[items[i]]]++] = i;
        for (size_t s = 0; s < ns; s++)
            if (has_items(q, s) && has_room(q, s))
                ready_push(q, s);
    }
    pthread_mutex_unlock(&q->mutex);
}

QueueTake fleet_queue_try_take(FleetQueue *q, const atomic_int *interrupted, size_t held,
                               size_t *target)
{
    pthread_mutex_lock(&q->mutex);
    QueueTake got = QUEUE_EMPTY;
    if (atomic_load(interrupted)) {
        got = QUEUE_EMPTY;
    } else if (!q->server_of) {
        if (q->next < q->n_items) {
            *target = q->items[q->next++];
            got = QUEUE_TAKEN;
        }
    } else {
        const struct FleetQueueEntry *top = ready_top(q);
        size_t s = top ? top->server : FLEET_NO_SERVER;
        /* The held server's next item, when it comes first: the hold carries over. */
        bool keep = held != FLEET_NO_SERVER && has_items(q, held) &&
                    (!top || top->server == held || q->by_server[q->head[held]] < top->pos);
        if (keep)
            s = held;
        if (s != FLEET_NO_SERVER) {
            if (!keep)
                q->busy[s]++;
            *target = q->items[q->by_server[q->head[s]++]];
            q->next++; /* items taken */
            if (has_items(q, s) && has_room(q, s))
                ready_push(q, s);
            got = QUEUE_TAKEN;
        } else {
            got = q->next < q->n_items ? QUEUE_WAIT : QUEUE_EMPTY;
        }
    }
    pthread_mutex_unlock(&q->mutex);
    return got;
}

size_t fleet_queue_server(FleetQueue *q, size_t k)
{
    return q->server_of ? q->server_of[k] : FLEET_NO_SERVER; /* set before any batch */
}

void fleet_queue_release(FleetQueue *q, size_t s)
{
    if (s == FLEET_NO_SERVER)
        return;
    pthread_mutex_lock(&q->mutex);
    q->busy[s]--;
    if (has_items(q, s) && q->busy[s] == q->cap[s] - 1)
        ready_push(q, s); /* it had no room: it has now */
    pthread_cond_broadcast(&q->room);
    pthread_mutex_unlock(&q->mutex);
}

void fleet_queue_wait(FleetQueue *q, const atomic_int *interrupted)
{
    pthread_mutex_lock(&q->mutex);
    if (!atomic_load(interrupted) && q->server_of && !ready_top(q)) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&q->room, &q->mutex, &until);
    }
    pthread_mutex_unlock(&q->mutex);
}

bool fleet_queue_take(FleetQueue *q, const atomic_int *interrupted, size_t *target)
{
    for (;;) {
        QueueTake got = fleet_queue_try_take(q, interrupted, FLEET_NO_SERVER, target);
        if (got != QUEUE_WAIT)
            return got == QUEUE_TAKEN;
        fleet_queue_wait(q, interrupted);
    }
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
