/*
 * One SSH session per tunnel (the loop's own; see loop.c for the design): its setup as a state
 * machine of non-blocking steps (resolve, TCP connect or a carrier channel through the tunnel
 * it goes via, handshake, host key check, authentication), each bounded by the tunnel's
 * connect_timeout; its socket I/O, which libssh2 does through on_send and on_recv so that
 * writes are queued (Tunnel.out) and flushed by ssh_tunnel_flush; keepalives; and what happens
 * when it fails or breaks: the forwards through it get the cause first, their connections are
 * closed after, and tunnels via it fail with it.
 */
#define _GNU_SOURCE /* TCP_USER_TIMEOUT */
#include "ssh/internal.h"

#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"

#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

bool ssh_session_failed(int rc)
{
    return rc == LIBSSH2_ERROR_SOCKET_SEND || rc == LIBSSH2_ERROR_SOCKET_RECV ||
           rc == LIBSSH2_ERROR_SOCKET_DISCONNECT || rc == LIBSSH2_ERROR_SOCKET_TIMEOUT ||
           rc == LIBSSH2_ERROR_TIMEOUT || rc == LIBSSH2_ERROR_DECRYPT ||
           rc == LIBSSH2_ERROR_INVALID_MAC || rc == LIBSSH2_ERROR_PROTO ||
           rc == LIBSSH2_ERROR_KEX_FAILURE || rc == LIBSSH2_ERROR_BAD_SOCKET ||
           rc == LIBSSH2_ERROR_BAD_USE;
}

/* ---- words ---- */

char *ssh_lower_first(const char *s)
{
    char *c = pf_strdup(s ? s : "unknown error");
    if (c[0] && isupper((unsigned char)c[0]) && !isupper((unsigned char)c[1]))
        c[0] = (char)tolower((unsigned char)c[0]);
    return c;
}

static char *os_error(int e)
{
    return ssh_lower_first(strerror(e));
}

void ssh_duration_text(int64_t ms, char *out, size_t size)
{
    if (ms % 1000 == 0)
        snprintf(out, size, "%llds", (long long)(ms / 1000));
    else
        snprintf(out, size, "%lldms", (long long)ms);
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
        t->rx_bytes += (uint64_t)n;
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
    return ssh_lower_first(msg);
}

/* ---- tunnels ---- */

void ssh_session_close(Tunnel *t)
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
void ssh_tunnel_fail(Tunnel *t, const char *msg)
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
            ssh_forward_kill(f, copy);
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
            ssh_tunnel_fail(inner, copy);
    }
    if (t->carrier) {
        Link *c = t->carrier;
        t->carrier = NULL;
        ssh_link_finish(c);
    }
    ssh_session_close(t);
    for (size_t i = 0; i < h->n; i++) {
        Tunnel *u = &h->tunnels[i];
        if (u->via == t && u->state != TUN_READY)
            ssh_tunnel_fail(u, copy);
    }
    h->progress++;
}

void ssh_tunnel_broke(Tunnel *t)
{
    char *cause = transport_cause(t);
    char *msg = pf_asprintf("tunnel %s broke: %s", t->cfg->name, cause);
    ssh_tunnel_fail(t, msg);
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
        ssh_tunnel_fail(t, msg);
        free(msg);
        return;
    }
    libssh2_session_callback_set(t->session, LIBSSH2_CALLBACK_SEND, (void *)on_send);
    libssh2_session_callback_set(t->session, LIBSSH2_CALLBACK_RECV, (void *)on_recv);
    libssh2_session_set_blocking(t->session, 0);
    t->hup = t->peer_closed = false;
    t->rx_bytes = 0;
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
    ssh_tunnel_fail(t, msg);
    free(msg);
    free(why);
}

void ssh_tunnel_start(Tunnel *t)
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
            ssh_tunnel_start(t->via);
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
        ssh_tunnel_fail(t, msg);
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
void ssh_tunnel_step(Tunnel *t, short revents)
{
    const InvTunnel *c = t->cfg;
    PfErr err;
    if (t->deadline_ms && t->state != TUN_READY && t->state != TUN_IDLE && t->state != TUN_FAILED &&
        t->state != TUN_WAIT_VIA && pf_now_ms() >= t->deadline_ms) {
        char d[32];
        ssh_duration_text(c->connect_timeout_ms, d, sizeof d);
        char *msg =
            pf_asprintf("%s: timed out after %s %s (%s port %d); hint: raise the tunnel's "
                        "connect_timeout, or check that the bastion is reachable",
                        c->name, d, t->phase ? t->phase : "opening the tunnel", c->host, c->port);
        ssh_tunnel_fail(t, msg);
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
            ssh_tunnel_fail(t, v->error ? v->error : "the tunnel it goes via is closed");
            return;
        }
        if (v->state != TUN_READY)
            return;
        int sp[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) != 0) {
            char *msg = pf_asprintf("%s: socketpair: %s", c->name, strerror(errno));
            ssh_tunnel_fail(t, msg);
            free(msg);
            return;
        }
        t->fd = sp[0];
        t->carrier = ssh_link_new(v, NULL, t, sp[1], c->host, c->port);
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
            /* Bytes came, but no "SSH-" line: something else listens there. */
            char *cause = rc == LIBSSH2_ERROR_BANNER_RECV && t->rx_bytes > 0 && !t->sock_errno
                              ? pf_strdup("the server did not answer with an SSH banner; hint: "
                                          "check the tunnel's host and port")
                              : transport_cause(t);
            char *msg = pf_asprintf("%s: ssh handshake with %s port %d failed: %s", c->name,
                                    c->host, c->port, cause);
            ssh_tunnel_fail(t, msg);
            free(msg);
            free(cause);
            return;
        }
        if (ssh_check_host_key(t, &err) != PF_OK) {
            ssh_tunnel_fail(t, err.msg);
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
            ssh_tunnel_fail(t, err.msg);
        } else if (rc == -2) {
            char *cause = transport_cause(t);
            char *msg = pf_asprintf("%s: authentication failed: %s", c->name, cause);
            ssh_tunnel_fail(t, msg);
            free(msg);
            free(cause);
        }
        return;
    }
    case TUN_READY:
        if (t->keepalive_at && pf_now_ms() >= t->keepalive_at) {
            int next = 0;
            if (libssh2_keepalive_send(t->session, &next) != 0) {
                ssh_tunnel_broke(t);
                return;
            }
            t->keepalive_at = pf_now_ms() + (next > 0 ? next : 1) * 1000;
        }
        return;
    }
}

/* Send what libssh2 queued. */
void ssh_tunnel_flush(Tunnel *t)
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
                ssh_tunnel_broke(t);
            } else {
                char *cause = transport_cause(t);
                char *msg = pf_asprintf("%s: connection to %s port %d lost %s: %s", t->cfg->name,
                                        t->cfg->host, t->cfg->port,
                                        t->phase ? t->phase : "while opening", cause);
                ssh_tunnel_fail(t, msg);
                free(msg);
                free(cause);
            }
            return;
        }
    }
}
