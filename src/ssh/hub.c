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
 */
#define _GNU_SOURCE /* POLLRDHUP, accept4, pipe2 */
#include "ssh/internal.h"

#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LINK_BUF_MAX (64 * 1024)      /* per direction, per connection */
#define SESSION_OUT_MAX (1024 * 1024) /* stop reading local sockets above this */
#define POLL_MAX_MS 1000

bool ssh_session_failed(int rc)
{
    return rc == LIBSSH2_ERROR_SOCKET_SEND || rc == LIBSSH2_ERROR_SOCKET_RECV ||
           rc == LIBSSH2_ERROR_SOCKET_DISCONNECT || rc == LIBSSH2_ERROR_SOCKET_TIMEOUT ||
           rc == LIBSSH2_ERROR_TIMEOUT || rc == LIBSSH2_ERROR_DECRYPT ||
           rc == LIBSSH2_ERROR_INVALID_MAC || rc == LIBSSH2_ERROR_PROTO ||
           rc == LIBSSH2_ERROR_KEX_FAILURE || rc == LIBSSH2_ERROR_BAD_SOCKET ||
           rc == LIBSSH2_ERROR_BAD_USE;
}

/* ---- small helpers ---- */

static char *lower_first(const char *s)
{
    char *c = pf_strdup(s ? s : "unknown error");
    if (c[0] && isupper((unsigned char)c[0]) && !isupper((unsigned char)c[1]))
        c[0] = (char)tolower((unsigned char)c[0]);
    return c;
}

static char *os_error(int e)
{
    return lower_first(strerror(e));
}

static void duration_text(int64_t ms, char *out, size_t size)
{
    if (ms % 1000 == 0)
        snprintf(out, size, "%llds", (long long)(ms / 1000));
    else
        snprintf(out, size, "%lldms", (long long)ms);
}

static void wake(SshHub *h)
{
    char c = 1;
    ssize_t w = write(h->wake[1], &c, 1);
    (void)w; /* a full pipe already wakes the loop */
}

/* ---- session I/O callbacks (loop thread) ---- */

static LIBSSH2_SEND_FUNC(on_send)
{
    Tunnel *t = *abstract;
    if (t->sock_errno)
        return -t->sock_errno;
    byteq_push(&t->out, buffer, length);
    return (ssize_t)length;
}

static LIBSSH2_RECV_FUNC(on_recv)
{
    Tunnel *t = *abstract;
    ssize_t n = recv(socket, buffer, length, flags | MSG_DONTWAIT);
    if (n > 0) {
        t->hub->progress++;
        /* ACK at once: sshd does not disable Nagle on its side, so a delayed ACK from us
         * would hold its next small packet (a channel confirmation) for ~40 ms. */
        if (t->tcp) {
            int one = 1;
            setsockopt(socket, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
        }
        return n;
    }
    if (n == 0) {
        t->peer_closed = true;
        return 0;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return -EAGAIN;
    t->sock_errno = errno;
    return -errno;
}

/* Why the session's transport failed, in words. */
static char *transport_cause(Tunnel *t)
{
    if (t->sock_errno)
        return os_error(t->sock_errno);
    if (t->peer_closed || t->hup)
        return pf_strdup("connection closed by the server");
    char *msg = NULL;
    if (t->session)
        libssh2_session_last_error(t->session, &msg, NULL, 0);
    return lower_first(msg);
}

/* ---- links ---- */

static Link *link_new(Tunnel *t, SshForward *f, Tunnel *carries, int fd, const char *host, int port)
{
    Link *l = pf_calloc(1, sizeof *l);
    l->tun = t;
    l->fwd = f;
    l->carries = carries;
    l->fd = fd;
    l->host = host;
    l->port = port;
    l->state = LINK_QUEUED;
    l->next = t->hub->links;
    t->hub->links = l;
    return l;
}

/* Close the local side and let go of the channel (freed in later passes). */
static void link_finish(Link *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    if (l->fwd && l->fwd->spare == l)
        l->fwd->spare = NULL;
    l->fwd = NULL;
    l->carries = NULL;
    if (l->tun->opening == l && l->state == LINK_OPENING)
        return; /* libssh2 is opening it: finished once the open is over */
    if (l->state == LINK_QUEUED || !l->ch)
        l->state = LINK_DONE;
    else if (l->state == LINK_OPEN)
        l->state = LINK_CLOSING;
    l->tun->hub->progress++;
}

static void forward_set_error(SshForward *f, const char *msg, bool replace)
{
    SshHub *h = f->hub;
    pthread_mutex_lock(&h->mutex);
    if (replace || !f->error) {
        free(f->error);
        f->error = pf_strdup(msg);
    }
    pthread_mutex_unlock(&h->mutex);
}

static void forward_kill(SshForward *f, const char *msg)
{
    if (f->state == FWD_DEAD)
        return;
    forward_set_error(f, msg, false);
    f->state = FWD_DEAD;
    if (f->listen_fd >= 0)
        close(f->listen_fd);
    f->listen_fd = -1;
    if (f->spare)
        link_finish(f->spare);
}

/* ---- tunnels ---- */

static void tunnel_fail(Tunnel *t, const char *msg);

static void session_close(Tunnel *t)
{
    ssh_auth_clear(&t->auth);
    if (t->session) {
        if (t->state == TUN_READY && !t->sock_errno && !t->peer_closed) {
            libssh2_session_disconnect(t->session, "pgfleet is done");
            if (t->fd >= 0 && t->out.len) {
                ssize_t w = send(t->fd, t->out.data + t->out.start, t->out.len,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                (void)w; /* best effort */
            }
        }
        /* With the socket shut, libssh2 stops waiting for replies at once. */
        if (t->fd >= 0)
            shutdown(t->fd, SHUT_RDWR);
        for (int i = 0; i < 100 && libssh2_session_free(t->session) == LIBSSH2_ERROR_EAGAIN; i++)
            ;
        t->session = NULL;
    }
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
    byteq_free(&t->out);
    if (t->addrs)
        freeaddrinfo(t->addrs);
    t->addrs = t->addr = NULL;
    t->opening = NULL;
}

/* The tunnel failed to open (it stays failed) or broke (it may be opened again). msg is what
 * targets behind it will say. */
static void tunnel_fail(Tunnel *t, const char *msg)
{
    SshHub *h = t->hub;
    if (t->state == TUN_IDLE || t->state == TUN_FAILED)
        return;
    bool broke = t->state == TUN_READY;
    char *copy = pf_strdup(msg);
    free(t->error);
    t->error = copy;
    pf_log(PF_LOG_DEBUG, t->cfg->name, "%s", msg);
    t->state = broke ? TUN_IDLE : TUN_FAILED;
    /* Errors first, then closed sockets: a worker whose connection drops finds the cause. */
    for (SshForward *f = h->forwards; f; f = f->next) {
        if (f->tun == t)
            forward_kill(f, copy);
    }
    for (Link *l = h->links; l; l = l->next) {
        if (l->tun != t || l->state == LINK_DONE)
            continue;
        Tunnel *inner = l->carries;
        l->ch = NULL; /* freed with the session */
        if (l->fd >= 0)
            close(l->fd);
        l->fd = -1;
        l->fwd = NULL;
        l->carries = NULL;
        l->state = LINK_DONE;
        if (inner)
            tunnel_fail(inner, copy);
    }
    if (t->carrier) {
        Link *c = t->carrier;
        t->carrier = NULL;
        link_finish(c);
    }
    session_close(t);
    for (size_t i = 0; i < h->n; i++) {
        Tunnel *u = &h->tunnels[i];
        if (u->via == t && u->state != TUN_READY)
            tunnel_fail(u, copy);
    }
    h->progress++;
}

static void tunnel_broke(Tunnel *t)
{
    char *cause = transport_cause(t);
    char *msg = pf_asprintf("tunnel %s broke: %s", t->cfg->name, cause);
    tunnel_fail(t, msg);
    free(msg);
    free(cause);
}

static void begin_session(Tunnel *t)
{
    int one = 1;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    t->tcp = getsockname(t->fd, (struct sockaddr *)&ss, &sl) == 0 && ss.ss_family != AF_UNIX;
    if (t->tcp) {
        setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (t->cfg->keepalive_ms > 0) {
            /* Unacknowledged data (our keepalives) for this long fails the socket. */
            unsigned timeout = (unsigned)(t->cfg->keepalive_ms * 3);
            setsockopt(t->fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout, sizeof timeout);
        }
    }
    t->session = libssh2_session_init_ex(NULL, NULL, NULL, t);
    if (!t->session) {
        char *msg = pf_asprintf("%s: cannot create an ssh session", t->cfg->name);
        tunnel_fail(t, msg);
        free(msg);
        return;
    }
    libssh2_session_callback_set(t->session, LIBSSH2_CALLBACK_SEND, (void *)on_send);
    libssh2_session_callback_set(t->session, LIBSSH2_CALLBACK_RECV, (void *)on_recv);
    libssh2_session_set_blocking(t->session, 0);
    t->hup = t->peer_closed = false;
    t->state = TUN_HANDSHAKE;
    t->phase = "in the ssh handshake";
    t->hub->progress++;
}

static void connect_next(Tunnel *t)
{
    const InvTunnel *c = t->cfg;
    for (; t->addr; t->addr = t->addr->ai_next) {
        int fd = socket(t->addr->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            t->sock_errno = errno;
            continue;
        }
        if (connect(fd, t->addr->ai_addr, t->addr->ai_addrlen) == 0) {
            t->fd = fd;
            t->addr = t->addr->ai_next;
            begin_session(t);
            return;
        }
        if (errno == EINPROGRESS) {
            t->fd = fd;
            t->state = TUN_CONNECTING;
            t->phase = "connecting";
            return;
        }
        t->sock_errno = errno;
        close(fd);
    }
    char *why = os_error(t->sock_errno ? t->sock_errno : ECONNREFUSED);
    char *msg = pf_asprintf("%s: cannot connect to %s port %d: %s", c->name, c->host, c->port, why);
    t->sock_errno = 0;
    tunnel_fail(t, msg);
    free(msg);
    free(why);
}

static void tunnel_start(Tunnel *t)
{
    const InvTunnel *c = t->cfg;
    t->generation++;
    t->sock_errno = 0;
    t->peer_closed = t->hup = false;
    t->deadline_ms = c->connect_timeout_ms > 0 ? pf_now_ms() + c->connect_timeout_ms : 0;
    t->hub->progress++;
    if (t->via) {
        t->state = TUN_WAIT_VIA;
        t->phase = "waiting for the tunnel it goes via";
        if (t->via->state == TUN_IDLE)
            tunnel_start(t->via);
        return;
    }
    t->state = TUN_CONNECTING;
    pf_log(PF_LOG_DEBUG, c->name, "connecting to %s port %d", c->host, c->port);
    struct addrinfo hints = {0};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    char port[16];
    snprintf(port, sizeof port, "%d", c->port);
    int rc = getaddrinfo(c->host, port, &hints, &t->addrs);
    if (rc != 0) {
        char *msg = pf_asprintf("%s: cannot resolve host '%s': %s", c->name, c->host,
                                rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        t->addrs = NULL;
        tunnel_fail(t, msg);
        free(msg);
        return;
    }
    t->addr = t->addrs;
    connect_next(t);
}

static void tunnel_ready(Tunnel *t)
{
    const InvTunnel *c = t->cfg;
    ssh_auth_clear(&t->auth);
    t->state = TUN_READY;
    t->phase = NULL;
    t->deadline_ms = 0;
    if (c->keepalive_ms > 0) {
        libssh2_keepalive_config(t->session, 0, (unsigned)((c->keepalive_ms + 999) / 1000));
        t->keepalive_at = pf_now_ms() + c->keepalive_ms;
    }
    pf_log(PF_LOG_DEBUG, c->name, "tunnel open (%s@%s port %d)", c->user, c->host, c->port);
    t->hub->progress++;
}

/* Advance a tunnel's setup, or keep an open one alive. */
static void tunnel_step(Tunnel *t, short revents)
{
    const InvTunnel *c = t->cfg;
    PfErr err;
    if (t->deadline_ms && t->state != TUN_READY && t->state != TUN_IDLE && t->state != TUN_FAILED &&
        t->state != TUN_WAIT_VIA && pf_now_ms() >= t->deadline_ms) {
        char d[32];
        duration_text(c->connect_timeout_ms, d, sizeof d);
        char *msg =
            pf_asprintf("%s: timed out after %s %s (%s port %d); hint: raise the tunnel's "
                        "connect_timeout, or check that the bastion is reachable",
                        c->name, d, t->phase ? t->phase : "opening the tunnel", c->host, c->port);
        tunnel_fail(t, msg);
        free(msg);
        return;
    }
    switch (t->state) {
    case TUN_IDLE:
    case TUN_FAILED:
        return;
    case TUN_WAIT_VIA: {
        Tunnel *v = t->via;
        if (v->state == TUN_FAILED || v->state == TUN_IDLE) {
            tunnel_fail(t, v->error ? v->error : "the tunnel it goes via is closed");
            return;
        }
        if (v->state != TUN_READY)
            return;
        int sp[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) != 0) {
            char *msg = pf_asprintf("%s: socketpair: %s", c->name, strerror(errno));
            tunnel_fail(t, msg);
            free(msg);
            return;
        }
        t->fd = sp[0];
        t->carrier = link_new(v, NULL, t, sp[1], c->host, c->port);
        t->state = TUN_CARRIER;
        t->phase = "opening a channel to it through the tunnel it goes via";
        t->deadline_ms = c->connect_timeout_ms > 0 ? pf_now_ms() + c->connect_timeout_ms : 0;
        t->hub->progress++;
        return;
    }
    case TUN_CARRIER:
        if (t->carrier && t->carrier->state == LINK_OPEN)
            begin_session(t);
        return;
    case TUN_CONNECTING: {
        if (!(revents & (POLLOUT | POLLERR | POLLHUP)))
            return;
        int e = 0;
        socklen_t el = sizeof e;
        if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0)
            e = errno;
        if (e == 0) {
            t->addr = t->addr ? t->addr->ai_next : NULL;
            begin_session(t);
            return;
        }
        close(t->fd);
        t->fd = -1;
        t->sock_errno = e;
        t->addr = t->addr ? t->addr->ai_next : NULL;
        connect_next(t);
        return;
    }
    case TUN_HANDSHAKE: {
        int rc = libssh2_session_handshake(t->session, t->fd);
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return;
        if (rc != 0) {
            char *cause = transport_cause(t);
            char *msg = pf_asprintf("%s: ssh handshake with %s port %d failed: %s", c->name,
                                    c->host, c->port, cause);
            tunnel_fail(t, msg);
            free(msg);
            free(cause);
            return;
        }
        if (ssh_check_host_key(t, &err) != PF_OK) {
            tunnel_fail(t, err.msg);
            return;
        }
        t->state = TUN_AUTH;
        t->phase = "authenticating";
        t->hub->progress++;
    }
        /* fall through */
    case TUN_AUTH: {
        int rc = ssh_auth_step(t, &err);
        if (rc == 1) {
            tunnel_ready(t);
        } else if (rc == -1) {
            tunnel_fail(t, err.msg);
        } else if (rc == -2) {
            char *cause = transport_cause(t);
            char *msg = pf_asprintf("%s: authentication failed: %s", c->name, cause);
            tunnel_fail(t, msg);
            free(msg);
            free(cause);
        }
        return;
    }
    case TUN_READY:
        if (t->keepalive_at && pf_now_ms() >= t->keepalive_at) {
            int next = 0;
            if (libssh2_keepalive_send(t->session, &next) != 0) {
                tunnel_broke(t);
                return;
            }
            t->keepalive_at = pf_now_ms() + (next > 0 ? next : 1) * 1000;
        }
        return;
    }
}

/* Send what libssh2 queued. */
static void tunnel_flush(Tunnel *t)
{
    while (t->out.len && t->fd >= 0 && t->state >= TUN_HANDSHAKE && t->state <= TUN_READY) {
        ssize_t n =
            send(t->fd, t->out.data + t->out.start, t->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            byteq_drop(&t->out, (size_t)n);
            t->hub->progress++;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        } else {
            t->sock_errno = n < 0 ? errno : EPIPE;
            if (t->state == TUN_READY) {
                tunnel_broke(t);
            } else {
                char *cause = transport_cause(t);
                char *msg = pf_asprintf("%s: connection to %s port %d lost %s: %s", t->cfg->name,
                                        t->cfg->host, t->cfg->port,
                                        t->phase ? t->phase : "while opening", cause);
                tunnel_fail(t, msg);
                free(msg);
                free(cause);
            }
            return;
        }
    }
}

/* ---- channels ---- */

static char *channel_open_error(Tunnel *t, const char *host, int port)
{
    char *raw = NULL;
    libssh2_session_last_error(t->session, &raw, NULL, 0);
    const char *name = t->cfg->name;
    if (raw && strstr(raw, "administratively prohibited"))
        return pf_asprintf("%s: the bastion refused to forward to %s:%d (channel open failure: "
                           "administratively prohibited); hint: its sshd needs "
                           "AllowTcpForwarding yes (or local) for user %s",
                           name, host, port, t->cfg->user);
    if (raw && strstr(raw, "connect failed"))
        return pf_asprintf("%s: %s:%d is unreachable from the bastion (channel open failure: "
                           "connect failed); hint: check the host and port as the bastion sees "
                           "them",
                           name, host, port);
    char *why = lower_first(raw);
    char *msg = pf_asprintf("%s: cannot open a channel to %s:%d: %s", name, host, port, why);
    free(why);
    return msg;
}

static void link_open_failed(Link *l, const char *msg)
{
    SshForward *f = l->fwd;
    Tunnel *inner = l->carries;
    free(l->error);
    l->error = pf_strdup(msg);
    if (f) {
        if (f->spare == l)
            forward_kill(f, msg); /* the probe: the forward is no use */
        else
            forward_set_error(f, msg, true);
    }
    l->carries = NULL;
    if (inner) {
        inner->carrier = NULL;
        tunnel_fail(inner, msg);
    }
    link_finish(l);
}

/* Move bytes both ways. Returns false when the link or its session went away. */
static bool link_pump(Link *l)
{
    Tunnel *t = l->tun;
    char buf[16384];
    if (l->fd >= 0 && !l->fd_eof && l->to_ch.len < LINK_BUF_MAX && t->out.len < SESSION_OUT_MAX) {
        ssize_t n = recv(l->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            byteq_push(&l->to_ch, buf, (size_t)n);
            t->hub->progress++;
        } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            l->fd_eof = true;
            t->hub->progress++;
        }
    }
    while (l->to_ch.len) {
        ssize_t n = libssh2_channel_write(l->ch, l->to_ch.data + l->to_ch.start, l->to_ch.len);
        if (n > 0) {
            byteq_drop(&l->to_ch, (size_t)n);
            t->hub->progress++;
            continue;
        }
        if (n == LIBSSH2_ERROR_EAGAIN)
            break;
        if (ssh_session_failed((int)n)) {
            tunnel_broke(t);
            return false;
        }
        link_finish(l); /* the channel was closed by the other side */
        return false;
    }
    if (l->fd_eof && !l->to_ch.len && !l->eof_sent) {
        int rc = libssh2_channel_send_eof(l->ch);
        if (rc == 0 || !ssh_session_failed(rc))
            l->eof_sent = rc != LIBSSH2_ERROR_EAGAIN;
        else {
            tunnel_broke(t);
            return false;
        }
    }
    while (!l->ch_eof && l->to_fd.len < LINK_BUF_MAX) {
        ssize_t n = libssh2_channel_read(l->ch, buf, sizeof buf);
        if (n > 0) {
            byteq_push(&l->to_fd, buf, (size_t)n);
            t->hub->progress++;
            continue;
        }
        if (n == LIBSSH2_ERROR_EAGAIN) {
            if (libssh2_channel_eof(l->ch)) {
                l->ch_eof = true;
                t->hub->progress++;
            }
            break;
        }
        if (n < 0 && ssh_session_failed((int)n)) {
            tunnel_broke(t);
            return false;
        }
        if (n == 0 && !libssh2_channel_eof(l->ch))
            break;
        l->ch_eof = true;
        t->hub->progress++;
    }
    while (l->fd >= 0 && l->to_fd.len) {
        ssize_t n =
            send(l->fd, l->to_fd.data + l->to_fd.start, l->to_fd.len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            byteq_drop(&l->to_fd, (size_t)n);
            t->hub->progress++;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            break;
        link_finish(l); /* the local side went away */
        return false;
    }
    if (l->ch_eof && !l->to_fd.len && l->fd >= 0 && !l->fd_shut) {
        shutdown(l->fd, SHUT_WR);
        l->fd_shut = true;
    }
    bool spare = l->fwd && l->fwd->spare == l;
    if ((l->fd_eof && l->eof_sent) || (l->ch_eof && (l->fd_shut || l->fd < 0))) {
        if (l->carries) {
            Tunnel *inner = l->carries;
            l->carries = NULL;
            inner->carrier = NULL;
            link_finish(l);
            inner->peer_closed = true;
            if (inner->state == TUN_READY)
                tunnel_broke(inner);
            else {
                char *msg = pf_asprintf("%s: the connection through %s was closed",
                                        inner->cfg->name, t->cfg->name);
                tunnel_fail(inner, msg);
                free(msg);
            }
            return false;
        }
        link_finish(l);
        return false;
    }
    if (l->fd < 0 && !spare && !l->carries) {
        link_finish(l); /* abandoned */
        return false;
    }
    return true;
}

static void link_step(Link *l)
{
    Tunnel *t = l->tun;
    switch (l->state) {
    case LINK_DONE:
        return;
    case LINK_QUEUED:
        if (t->state != TUN_READY || t->opening)
            return;
        t->opening = l;
        l->state = LINK_OPENING;
        /* fall through */
    case LINK_OPENING: {
        LIBSSH2_CHANNEL *ch =
            libssh2_channel_direct_tcpip_ex(t->session, l->host, l->port, "127.0.0.1", 0);
        if (!ch) {
            int rc = libssh2_session_last_errno(t->session);
            if (rc == LIBSSH2_ERROR_EAGAIN)
                return;
            t->opening = NULL;
            if (ssh_session_failed(rc)) {
                tunnel_broke(t);
                return;
            }
            char *msg = channel_open_error(t, l->host, l->port);
            l->state = LINK_DONE;
            link_open_failed(l, msg);
            free(msg);
            return;
        }
        t->opening = NULL;
        l->ch = ch;
        l->state = LINK_OPEN;
        t->hub->progress++;
        if (l->fwd && l->fwd->spare == l && l->fwd->state == FWD_PROBING)
            l->fwd->state = FWD_READY;
        if (l->fd < 0 && !l->carries && !(l->fwd && l->fwd->spare == l)) {
            link_finish(l); /* abandoned while opening */
            return;
        }
    }
        /* fall through */
    case LINK_OPEN:
        link_pump(l);
        return;
    case LINK_CLOSING: {
        int rc = libssh2_channel_free(l->ch);
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return;
        l->ch = NULL;
        l->state = LINK_DONE;
        t->hub->progress++;
        if (ssh_session_failed(rc))
            tunnel_broke(t);
        return;
    }
    }
}

/* ---- forwards ---- */

static SshForward *forward_new(Tunnel *t, const char *host, int port, PfErr *err)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        pf_err_set(err, PF_ERR_UNREACHABLE, "%s: cannot listen on 127.0.0.1: %s", t->cfg->name,
                   strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    SshForward *f = pf_calloc(1, sizeof *f);
    f->hub = t->hub;
    f->tun = t;
    f->generation = t->generation;
    f->host = pf_strdup(host);
    f->port = port;
    f->listen_fd = fd;
    f->local_port = ntohs(sa.sin_port);
    f->state = FWD_PROBING;
    f->next = t->hub->forwards;
    t->hub->forwards = f;
    f->spare = link_new(t, f, NULL, -1, f->host, port);
    f->spare->deadline_ms =
        t->cfg->connect_timeout_ms > 0 ? pf_now_ms() + t->cfg->connect_timeout_ms : 0;
    pf_log(PF_LOG_DEBUG, t->cfg->name, "forwarding 127.0.0.1:%d to %s:%d", f->local_port, host,
           port);
    return f;
}

static void forward_step(SshForward *f)
{
    if (f->state == FWD_PROBING && f->spare && f->spare->deadline_ms &&
        pf_now_ms() >= f->spare->deadline_ms) {
        char d[32];
        duration_text(f->tun->cfg->connect_timeout_ms, d, sizeof d);
        char *msg = pf_asprintf("%s: timed out after %s waiting for the bastion to connect to "
                                "%s:%d",
                                f->tun->cfg->name, d, f->host, f->port);
        forward_kill(f, msg);
        free(msg);
        return;
    }
    if (f->state != FWD_READY)
        return;
    pthread_mutex_lock(&f->hub->mutex);
    int refs = f->refs;
    pthread_mutex_unlock(&f->hub->mutex);
    if (refs == 0) {
        forward_kill(f, "closed");
        return;
    }
    for (;;) {
        int fd = accept4(f->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (f->spare) {
            f->spare->fd = fd;
            f->spare = NULL;
        } else {
            link_new(f->tun, f, NULL, fd, f->host, f->port);
        }
        f->hub->progress++;
    }
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
        tunnel_start(t);
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
            r->fwd = forward_new(t, r->host, r->port, &err);
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
        tunnel_step(&h->tunnels[i], tunnel_revents ? tunnel_revents[i] : 0);
    for (Link *l = h->links; l; l = l->next)
        link_step(l);
    for (Request **rp = &h->waiting; *rp;) {
        Request *r = *rp;
        Request *next = r->next;
        if (request_step(h, r))
            *rp = next; /* r belongs to its worker again */
        else
            rp = &r->next;
    }
    for (SshForward *f = h->forwards; f; f = f->next)
        forward_step(f);
    for (size_t i = 0; i < h->n; i++)
        tunnel_flush(&h->tunnels[i]);
    for (Link **lp = &h->links; *lp;) {
        Link *l = *lp;
        if (l->state == LINK_DONE) {
            *lp = l->next;
            byteq_free(&l->to_ch);
            byteq_free(&l->to_fd);
            free(l->error);
            free(l);
        } else {
            lp = &l->next;
        }
    }
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

void ssh_hub_run(SshHub *h)
{
    struct pollfd *fds = NULL;
    size_t cap = 0;
    short *trev = pf_calloc(h->n ? h->n : 1, sizeof *trev);
    for (;;) {
        if (ssh_requests_stopping(h))
            break;
        /* Passes until nothing moves: libssh2 may hold data read for another channel. */
        for (int i = 0; i < 64; i++) {
            uint64_t before = h->progress;
            pass(h, i == 0 ? trev : NULL);
            if (h->progress == before)
                break;
        }
        for (size_t i = 0; i < h->n; i++) {
            Tunnel *t = &h->tunnels[i];
            if (t->state == TUN_READY && t->hup) {
                tunnel_broke(t);
                pass(h, NULL);
            }
        }

        size_t n_links = 0, n_fwd = 0;
        for (Link *l = h->links; l; l = l->next)
            n_links++;
        for (SshForward *f = h->forwards; f; f = f->next)
            n_fwd++;
        size_t need = 1 + h->n + n_fwd + n_links;
        if (need > cap) {
            cap = need;
            fds = pf_realloc(fds, cap * sizeof *fds);
        }
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
        int rc = poll(fds, (nfds_t)n, (int)next_timeout(h));
        if (rc < 0 && errno != EINTR) {
            pf_log(PF_LOG_ERROR, NULL, "ssh: poll: %s", strerror(errno));
            break;
        }
        if (fds[0].revents & POLLIN) {
            char drain[64];
            while (read(h->wake[0], drain, sizeof drain) > 0)
                ;
        }
        for (size_t i = 0; i < h->n; i++) {
            Tunnel *t = &h->tunnels[i];
            trev[i] = fds[1 + i].revents;
            if ((trev[i] & (POLLRDHUP | POLLHUP | POLLERR)) && t->state >= TUN_HANDSHAKE &&
                t->state <= TUN_READY)
                t->hup = true;
        }
    }
    free(fds);
    free(trev);

    /* Close everything; fail what is still waiting. */
    for (size_t i = 0; i < h->n; i++) {
        Tunnel *t = &h->tunnels[i];
        if (t->state == TUN_IDLE || t->state == TUN_FAILED)
            continue;
        t->state = TUN_READY; /* so that tunnel_fail closes it as a break */
        char *msg = pf_asprintf("tunnel %s closed: pgfleet is stopping", t->cfg->name);
        tunnel_fail(t, msg);
        free(msg);
    }
    ssh_requests_close(h, &h->waiting);
    while (h->waiting) {
        Request *r = h->waiting;
        h->waiting = r->next;
        request_done(h, r, NULL, "interrupted: the tunnels are closing");
    }
    for (SshForward *f = h->forwards; f; f = f->next)
        forward_kill(f, "closed");
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
        session_close(t);
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
    free(h);
    libssh2_exit();
}

void ssh_hub_stop(SshHub *h)
{
    ssh_requests_stop(h);
    wake(h);
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
    wake(h);
    ssh_requests_wait(h, &r);
    if (r.rc != PF_OK)
        return pf_err_set(err, r.rc, "%s", r.msg);
    *out = r.result;
    return PF_OK;
}

int ssh_forward_port(const SshForward *f)
{
    return f->local_port;
}

char *ssh_forward_error(SshForward *f)
{
    pthread_mutex_lock(&f->hub->mutex);
    char *e = f->error && strcmp(f->error, "closed") != 0 ? pf_strdup(f->error) : NULL;
    pthread_mutex_unlock(&f->hub->mutex);
    return e;
}

void ssh_forward_close(SshForward *f)
{
    if (!f)
        return;
    SshHub *h = f->hub;
    pthread_mutex_lock(&h->mutex);
    f->refs--;
    pthread_mutex_unlock(&h->mutex);
    wake(h);
}
