/*
 * Forwards and links (the loop's own; see loop.c for the design). A forward is a listener on
 * 127.0.0.1 for one destination of one tunnel; before it is handed out, a channel to the
 * destination is opened (the probe), and that channel serves its first connection. A link is
 * one direct-tcpip channel and the local socket paired with it, with a byte queue each way:
 * ssh_link_step opens the channel (one open at a time per session), pumps bytes both ways with
 * bounded buffers, passes end-of-file each way, and frees the channel once both sides are done.
 * A link may also carry another tunnel's session (a tunnel with `via`).
 */
#define _GNU_SOURCE /* accept4 */
#include "ssh/internal.h"

#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- links ---- */

Link *ssh_link_new(Tunnel *t, SshForward *f, Tunnel *carries, int fd, const char *host, int port)
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
void ssh_link_finish(Link *l)
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

void ssh_forward_kill(SshForward *f, const char *msg)
{
    if (f->state == FWD_DEAD)
        return;
    forward_set_error(f, msg, false);
    f->state = FWD_DEAD;
    if (f->listen_fd >= 0)
        close(f->listen_fd);
    f->listen_fd = -1;
    if (f->spare)
        ssh_link_finish(f->spare);
}

void ssh_links_sweep(SshHub *h)
{
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
    char *why = ssh_lower_first(raw);
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
            ssh_forward_kill(f, msg); /* the probe: the forward is no use */
        else
            forward_set_error(f, msg, true);
    }
    l->carries = NULL;
    if (inner) {
        inner->carrier = NULL;
        ssh_tunnel_fail(inner, msg);
    }
    ssh_link_finish(l);
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
            ssh_tunnel_broke(t);
            return false;
        }
        ssh_link_finish(l); /* the channel was closed by the other side */
        return false;
    }
    if (l->fd_eof && !l->to_ch.len && !l->eof_sent) {
        int rc = libssh2_channel_send_eof(l->ch);
        if (rc == 0 || !ssh_session_failed(rc))
            l->eof_sent = rc != LIBSSH2_ERROR_EAGAIN;
        else {
            ssh_tunnel_broke(t);
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
            ssh_tunnel_broke(t);
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
        ssh_link_finish(l); /* the local side went away */
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
            ssh_link_finish(l);
            inner->peer_closed = true;
            if (inner->state == TUN_READY)
                ssh_tunnel_broke(inner);
            else {
                char *msg = pf_asprintf("%s: the connection through %s was closed",
                                        inner->cfg->name, t->cfg->name);
                ssh_tunnel_fail(inner, msg);
                free(msg);
            }
            return false;
        }
        ssh_link_finish(l);
        return false;
    }
    if (l->fd < 0 && !spare && !l->carries) {
        ssh_link_finish(l); /* abandoned */
        return false;
    }
    return true;
}

void ssh_link_step(Link *l)
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
                ssh_tunnel_broke(t);
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
            ssh_link_finish(l); /* abandoned while opening */
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
            ssh_tunnel_broke(t);
        return;
    }
    }
}

/* ---- forwards ---- */

SshForward *ssh_forward_new(Tunnel *t, const char *host, int port, PfErr *err)
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
    f->spare = ssh_link_new(t, f, NULL, -1, f->host, port);
    f->spare->deadline_ms =
        t->cfg->connect_timeout_ms > 0 ? pf_now_ms() + t->cfg->connect_timeout_ms : 0;
    pf_log(PF_LOG_DEBUG, t->cfg->name, "forwarding 127.0.0.1:%d to %s:%d", f->local_port, host,
           port);
    return f;
}

void ssh_forward_step(SshForward *f)
{
    if (f->state == FWD_PROBING && f->spare && f->spare->deadline_ms &&
        pf_now_ms() >= f->spare->deadline_ms) {
        char d[32];
        ssh_duration_text(f->tun->cfg->connect_timeout_ms, d, sizeof d);
        char *msg = pf_asprintf("%s: timed out after %s waiting for the bastion to connect to "
                                "%s:%d",
                                f->tun->cfg->name, d, f->host, f->port);
        ssh_forward_kill(f, msg);
        free(msg);
        return;
    }
    if (f->state != FWD_READY)
        return;
    pthread_mutex_lock(&f->hub->mutex);
    int refs = f->refs;
    pthread_mutex_unlock(&f->hub->mutex);
    if (refs == 0) {
        ssh_forward_kill(f, "closed");
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
            ssh_link_new(f->tun, f, NULL, fd, f->host, f->port);
        }
        f->hub->progress++;
    }
}

/* ---- the API for workers ---- */

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
    ssh_hub_wake(h);
}
