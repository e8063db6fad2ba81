/*
 * DESIGN: every SSH tunnel of a run, driven by one event loop on one thread.
 *
 * - One thread (created by src/fleet/pool.c) runs ssh_hub_run. It makes every libssh2 call of
 *   the process, so each LIBSSH2_SESSION (and its channels, agent and known-hosts handles) is
 *   only ever touched by that thread. Sessions are non-blocking; the loop polls their sockets,
 *   the loopback listeners and connections, and a wake-up pipe.
 * - Worker threads never touch libssh2. ssh_hub_forward queues a Request (hub->incoming, under
 *   hub->mutex: requests.c, which a unit test drives without this thread), writes a byte to
 *   the wake-up pipe and waits on hub->cond until the loop has completed the request.
 *   hub->mutex also guards each forward's refs and error, which workers read and release;
 *   everything else (tunnels, forwards' listeners, links) is the loop's own.
 * - One SSH session per tunnel, opened when a request first needs it (TCP connect, handshake,
 *   host key check, authentication: each a state, each step non-blocking, all under the
 *   tunnel's connect_timeout) and shared by every target behind it. A tunnel with `via` has no
 *   socket of its own: its session runs over one end of a socketpair whose other end the loop
 *   pumps into a direct-tcpip channel of the outer session (OpenSSH's ProxyJump).
 * - A forward is a listener on 127.0.0.1 (ephemeral port) for one destination of one tunnel.
 *   Before a forward is handed out, a channel to the destination is opened (so a refused
 *   forwarding or an unreachable destination is reported before libpq connects); that channel
 *   serves the first accepted connection, later ones open their own. Each accepted connection
 *   is a Link: a socket and a channel, with a buffer each way (a ByteQ, bytequeue.c: the
 *   loop's own, like every buffer here, and unit-tested apart from it).
 * - libssh2's non-blocking writes must be retried with the same data before any other packet
 *   is sent on the session (LIBSSH2_ERROR_BAD_USE otherwise). To send from many channels
 *   freely, a session's socket writes go through on_send, which queues them (Tunnel.out) for
 *   the loop to flush: libssh2 never sees EAGAIN on send. Reading a session only when some link
 *   can take data, and not reading local sockets while Tunnel.out is long, bound the memory.
 *   libssh2 runs one channel open at a time per session (Tunnel.opening).
 * - When a session fails (socket error, peer closed), the tunnel's forwards get the cause as
 *   their error (first) and their connections are closed (then), so that a worker whose
 *   connection broke finds the reason in ssh_forward_error. Tunnels via it fail with it.
 *
 * The parts, each driven by the loop and each drivable by a test without the loop's thread:
 * session.c (a tunnel's session: setup steps, I/O callbacks, flush, failure), forward.c
 * (forwards and links: probe, accept, channel open, pumping), requests.c (workers' requests),
 * bytequeue.c (buffers), and this file: the loop itself, one turn at a time (ssh_hub_turn:
 * step everything until nothing moves, then poll), ssh_hub_run (turns until stopped) and the
 * workers' API.
 */
#define _GNU_SOURCE /* POLLRDHUP, pipe2 */
#include "ssh/internal.h"

#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POLL_MAX_MS 1000

void ssh_hub_wake(SshHub *h)
{
    char c = 1;
    ssize_t w = write(h->wake[1], &c, 1);
    (void)w; /* a full pipe already wakes the loop */
}

/* ---- requests ---- */

static void request_done(SshHub *h, Request *r, SshForward *f, const char *msg)
{
    ssh_requests_complete(h, r, f, msg);
    h->progress++;
}

/* Returns true when the request is complete (and must not be touched again). */
static bool request_step(SshHub *h, Request *r)
{
    Tunnel *t = r->tun;
    if (t->state == TUN_FAILED) {
        request_done(h, r, NULL, t->error);
        return true;
    }
    if (t->state == TUN_IDLE) {
        if (r->started) {
            request_done(h, r, NULL, t->error ? t->error : "the tunnel closed");
            return true;
        }
        r->started = true;
        ssh_tunnel_start(t);
        return false;
    }
    r->started = true;
    if (t->state != TUN_READY)
        return false;
    if (!r->fwd) {
        for (SshForward *f = h->forwards; f; f = f->next) {
            if (f->tun == t && f->generation == t->generation && f->state != FWD_DEAD &&
                f->port == r->port && strcmp(f->host, r->host) == 0) {
                r->fwd = f;
                break;
            }
        }
        if (!r->fwd) {
            PfErr err;
            r->fwd = ssh_forward_new(t, r->host, r->port, &err);
            if (!r->fwd) {
                request_done(h, r, NULL, err.msg);
                return true;
            }
        }
    }
    if (r->fwd->state == FWD_READY) {
        request_done(h, r, r->fwd, NULL);
        return true;
    }
    if (r->fwd->state == FWD_DEAD) {
        pthread_mutex_lock(&h->mutex);
        char *msg = pf_strdup(r->fwd->error);
        pthread_mutex_unlock(&h->mutex);
        request_done(h, r, NULL, msg ? msg : "the forward failed");
        free(msg);
        return true;
    }
    return false;
}

/* ---- the loop ---- */

static bool tunnel_wants_read(const Tunnel *t)
{
    if (t->state == TUN_HANDSHAKE || t->state == TUN_AUTH)
        return true;
    if (t->state != TUN_READY)
        return false;
    for (const Link *l = t->hub->links; l; l = l->next) {
        if (l->tun != t)
            continue;
        if (l->state == LINK_OPENING || l->state == LINK_CLOSING ||
            (l->state == LINK_OPEN && (l->to_fd.len < LINK_BUF_MAX || l->to_ch.len)))
            return true;
    }
    return false;
}

static void pass(SshHub *h, const short *tunnel_revents)
{
    ssh_requests_take(h, &h->waiting);
    for (size_t i = 0; i < h->n; i++)
        ssh_tunnel_step(&h->tunnels[i], tunnel_revents ? tunnel_revents[i] : 0);
    for (Link *l = h->links; l; l = l->next)
        ssh_link_step(l);
    for (Request **rp = &h->waiting; *rp;) {
        Request *r = *rp;
        Request *next = r->next;
        if (request_step(h, r))
            *rp = next; /* r belongs to its worker again */
        else
            rp = &r->next;
    }
    for (SshForward *f = h->forwards; f; f = f->next)
        ssh_forward_step(f);
    for (size_t i = 0; i < h->n; i++)
        ssh_tunnel_flush(&h->tunnels[i]);
    ssh_links_sweep(h);
}

static int64_t next_timeout(SshHub *h)
{
    int64_t now = pf_now_ms(), wait = POLL_MAX_MS;
    for (size_t i = 0; i < h->n; i++) {
        const Tunnel *t = &h->tunnels[i];
        if (t->deadline_ms && t->state != TUN_READY && t->deadline_ms - now < wait)
            wait = t->deadline_ms - now;
        if (t->state == TUN_READY && t->keepalive_at && t->keepalive_at - now < wait)
            wait = t->keepalive_at - now;
    }
    for (const SshForward *f = h->forwards; f; f = f->next) {
        if (f->state == FWD_PROBING && f->spare && f->spare->deadline_ms &&
            f->spare->deadline_ms - now < wait)
            wait = f->spare->deadline_ms - now;
    }
    return wait < 0 ? 0 : wait;
}

bool ssh_hub_turn(SshHub *h, int max_wait_ms)
{
    /* Passes until nothing moves: libssh2 may hold data read for another channel. */
    for (int i = 0; i < 64; i++) {
        uint64_t before = h->progress;
        pass(h, i == 0 ? h->revents : NULL);
        if (h->progress == before)
            break;
    }
    for (size_t i = 0; i < h->n; i++) {
        Tunnel *t = &h->tunnels[i];
        if (t->state == TUN_READY && t->hup) {
            ssh_tunnel_broke(t);
            pass(h, NULL);
        }
    }

    size_t n_links = 0, n_fwd = 0;
    for (Link *l = h->links; l; l = l->next)
        n_links++;
    for (SshForward *f = h->forwards; f; f = f->next)
        n_fwd++;
    size_t need = 1 + h->n + n_fwd + n_links;
    if (need > h->fds_cap) {
        h->fds_cap = need;
        h->fds = pf_realloc(h->fds, need * sizeof *h->fds);
    }
    struct pollfd *fds = h->fds;
    size_t n = 0;
    fds[n++] = (struct pollfd){h->wake[0], POLLIN, 0};
    for (size_t i = 0; i < h->n; i++) {
        Tunnel *t = &h->tunnels[i];
        short ev = 0;
        if (t->fd >= 0) {
            if (t->state == TUN_CONNECTING)
                ev |= POLLOUT;
            else if (t->state >= TUN_HANDSHAKE && t->state <= TUN_READY)
                ev |= POLLRDHUP;
            if (t->out.len)
                ev |= POLLOUT;
            if (tunnel_wants_read(t))
                ev |= POLLIN;
        }
        fds[n++] = (struct pollfd){ev ? t->fd : -1, ev, 0};
    }
    for (SshForward *f = h->forwards; f; f = f->next)
        fds[n++] = (struct pollfd){f->state == FWD_READY ? f->listen_fd : -1, POLLIN, 0};
    for (Link *l = h->links; l; l = l->next) {
        short ev = 0;
        if (l->state == LINK_OPEN && l->fd >= 0) {
            if (!l->fd_eof && l->to_ch.len < LINK_BUF_MAX && l->tun->out.len < SESSION_OUT_MAX)
                ev |= POLLIN;
            if (l->to_fd.len)
                ev |= POLLOUT;
        }
        fds[n++] = (struct pollfd){ev ? l->fd : -1, ev, 0};
    }
    int64_t wait = next_timeout(h);
    if (max_wait_ms >= 0 && max_wait_ms < wait)
        wait = max_wait_ms;
    int rc = poll(fds, (nfds_t)n, (int)wait);
    if (rc < 0 && errno != EINTR) {
        pf_log(PF_LOG_ERROR, NULL, "ssh: poll: %s", strerror(errno));
        return false;
    }
    if (rc > 0 && (fds[0].revents & POLLIN)) {
        char drain[64];
        while (read(h->wake[0], drain, sizeof drain) > 0)
            ;
    }
    for (size_t i = 0; i < h->n; i++) {
        Tunnel *t = &h->tunnels[i];
        h->revents[i] = rc > 0 ? fds[1 + i].revents : 0;
        if ((h->revents[i] & (POLLRDHUP | POLLHUP | POLLERR)) && t->state >= TUN_HANDSHAKE &&
            t->state <= TUN_READY)
            t->hup = true;
    }
    return true;
}

void ssh_hub_run(SshHub *h)
{
    while (!ssh_requests_stopping(h) && ssh_hub_turn(h, -1))
        ;

    /* Close everything; fail what is still waiting. */
    for (size_t i = 0; i < h->n; i++) {
        Tunnel *t = &h->tunnels[i];
        if (t->state == TUN_IDLE || t->state == TUN_FAILED)
            continue;
        t->state = TUN_READY; /* so that ssh_tunnel_fail closes it as a break */
        char *msg = pf_asprintf("tunnel %s closed: pgfleet is stopping", t->cfg->name);
        ssh_tunnel_fail(t, msg);
        free(msg);
    }
    ssh_requests_close(h, &h->waiting);
    while (h->waiting) {
        Request *r = h->waiting;
        h->waiting = r->next;
        request_done(h, r, NULL, "interrupted: the tunnels are closing");
    }
    for (SshForward *f = h->forwards; f; f = f->next)
        ssh_forward_kill(f, "closed");
    pass(h, NULL); /* sweeps the links */
}

/* ---- the API for workers ---- */

PfErrCode ssh_hub_new(const Inventory *inv, SshHub **out, PfErr *err)
{
    *out = NULL;
    if (libssh2_init(0) != 0)
        return pf_err_set(err, PF_ERR_INTERNAL, "cannot initialise libssh2");
    SshHub *h = pf_calloc(1, sizeof *h);
    h->inv = inv;
    h->n = inv->n_tunnels;
    h->tunnels = pf_calloc(h->n ? h->n : 1, sizeof *h->tunnels);
    h->revents = pf_calloc(h->n ? h->n : 1, sizeof *h->revents);
    for (size_t i = 0; i < h->n; i++) {
        Tunnel *t = &h->tunnels[i];
        t->hub = h;
        t->cfg = &inv->tunnels[i];
        t->fd = -1;
        t->state = TUN_IDLE;
    }
    for (size_t i = 0; i < h->n; i++) {
        const InvTunnel *v = inv_tunnel(inv, inv->tunnels[i].via);
        h->tunnels[i].via = v ? &h->tunnels[v - inv->tunnels] : NULL;
    }
    if (pipe2(h->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        int e = errno;
        free(h->tunnels);
        free(h->revents);
        free(h);
        libssh2_exit();
        return pf_err_set(err, PF_ERR_INTERNAL, "cannot create a pipe: %s", strerror(e));
    }
    pthread_mutex_init(&h->mutex, NULL);
    pthread_cond_init(&h->cond, NULL);
    *out = h;
    return PF_OK;
}

void ssh_hub_free(SshHub *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n; i++) {
        Tunnel *t = &h->tunnels[i];
        ssh_session_close(t);
        free(t->error);
    }
    while (h->links) {
        Link *l = h->links;
        h->links = l->next;
        if (l->fd >= 0)
            close(l->fd);
        byteq_free(&l->to_ch);
        byteq_free(&l->to_fd);
        free(l->error);
        free(l);
    }
    while (h->forwards) {
        SshForward *f = h->forwards;
        h->forwards = f->next;
        if (f->listen_fd >= 0)
            close(f->listen_fd);
        free(f->host);
        free(f->error);
        free(f);
    }
    close(h->wake[0]);
    close(h->wake[1]);
    pthread_mutex_destroy(&h->mutex);
    pthread_cond_destroy(&h->cond);
    free(h->tunnels);
    free(h->revents);
    free(h->fds);
    free(h);
    libssh2_exit();
}

void ssh_hub_stop(SshHub *h)
{
    ssh_requests_stop(h);
    ssh_hub_wake(h);
}

PfErrCode ssh_hub_forward(SshHub *h, const char *via, const char *dest_host, int dest_port,
                          SshForward **out, PfErr *err)
{
    *out = NULL;
    Tunnel *t = NULL;
    for (size_t i = 0; i < h->n; i++) {
        if (strcmp(h->tunnels[i].cfg->name, via) == 0)
            t = &h->tunnels[i];
    }
    if (!t)
        return pf_err_set(err, PF_ERR_INTERNAL, "unknown tunnel '%s'", via);
    Request r;
    memset(&r, 0, sizeof r);
    r.tun = t;
    r.host = dest_host;
    r.port = dest_port;
    if (!ssh_requests_post(h, &r))
        return pf_err_set(err, PF_ERR_UNREACHABLE, "interrupted: the tunnels are closing");
    ssh_hub_wake(h);
    ssh_requests_wait(h, &r);
    if (r.rc != PF_OK)
        return pf_err_set(err, r.rc, "%s", r.msg);
    *out = r.result;
    return PF_OK;
}
