/*
 * The requests worker threads make of the hub's loop (ssh_hub_forward), and the hub's stop:
 * where a worker and the loop meet. A worker posts a Request and waits on hub->cond; the loop
 * takes what was posted, works on it (request_step in loop.c) and completes it, and once it
 * has, the Request is its worker's again. Every function holds hub->mutex; a unit test drives
 * them without the loop's thread.
 */
#include "ssh/internal.h"

#include <stdio.h>

bool ssh_requests_post(SshHub *h, Request *r)
{
    pthread_mutex_lock(&h->mutex);
    bool open = !h->stopping && !h->stopped;
    if (open) {
        r->next = h->incoming;
        h->incoming = r;
    }
    pthread_mutex_unlock(&h->mutex);
    return open;
}

void ssh_requests_wait(SshHub *h, Request *r)
{
    pthread_mutex_lock(&h->mutex);
    while (!r->done)
        pthread_cond_wait(&h->cond, &h->mutex);
    pthread_mutex_unlock(&h->mutex);
}

/* incoming is newest first: put it before *waiting oldest first. */
static void put_before(Request **waiting, Request *in)
{
    while (in) {
        Request *next = in->next;
        in->next = *waiting;
        *waiting = in;
        in = next;
    }
}

void ssh_requests_take(SshHub *h, Request **waiting)
{
    pthread_mutex_lock(&h->mutex);
    Request *in = h->incoming;
    h->incoming = NULL;
    pthread_mutex_unlock(&h->mutex);
    put_before(waiting, in);
}

void ssh_requests_complete(SshHub *h, Request *r, SshForward *f, const char *msg)
{
    pthread_mutex_lock(&h->mutex);
    if (f) {
        f->refs++;
        r->rc = PF_OK;
        r->result = f;
    } else {
        r->rc = PF_ERR_UNREACHABLE;
        snprintf(r->msg, sizeof r->msg, "%s", msg ? msg : "the tunnel failed");
    }
    r->done = true;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->mutex);
}

void ssh_requests_stop(SshHub *h)
{
    pthread_mutex_lock(&h->mutex);
    h->stopping = true;
    pthread_mutex_unlock(&h->mutex);
}

bool ssh_requests_stopping(SshHub *h)
{
    pthread_mutex_lock(&h->mutex);
    bool stopping = h->stopping;
    pthread_mutex_unlock(&h->mutex);
    return stopping;
}

void ssh_requests_close(SshHub *h, Request **waiting)
{
    pthread_mutex_lock(&h->mutex);
    h->stopped = true;
    Request *rest = h->incoming;
    h->incoming = NULL;
    pthread_mutex_unlock(&h->mutex);
    put_before(waiting, rest);
}
