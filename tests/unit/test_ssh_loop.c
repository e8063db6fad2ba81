/*
 * Unit tests of the SSH loop's parts (src/ssh/session.c, forward.c, loop.c) without an SSH
 * server: a hub driven turn by turn from the test's own thread (ssh_hub_turn, no loop thread)
 * against plain loopback sockets that play a bastion that refuses, never answers, hangs up or
 * does not speak SSH; a tunnel's failure reaching its forwards, their connections and the
 * tunnels via it, in that order; a forward's probe deadline, its release and its connections;
 * requests completed by the loop. tests/integration/test_ssh_drive.sh drives the same parts
 * against a real sshd.
 */
#define _GNU_SOURCE /* accept4 */
#include "core/mem.h"
#include "core/util.h"
#include "ssh/internal.h"
#include "ssh/ssh.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#define TURN_LIMIT_MS 10000

/* A listening socket on 127.0.0.1 (non-blocking); *port is its port. */
static int listen_local(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* A port nothing listens on: one that was just listened on and closed. */
static int closed_port(void)
{
    int port;
    close(listen_local(&port));
    return port;
}

static int connect_local(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

typedef struct Fixture {
    InvTunnel cfg[2];
    Inventory inv;
    SshHub *hub;
} Fixture;

static InvTunnel tunnel_cfg(const char *name, int port, int64_t timeout_ms)
{
    InvTunnel t = {0};
    t.name = (char *)name;
    t.host = "127.0.0.1";
    t.port = port;
    t.user = "nobody";
    t.connect_timeout_ms = timeout_ms;
    t.host_key_policy = INV_HOST_KEY_STRICT;
    return t;
}

static void hub_open(Fixture *fx, size_t n)
{
    fx->inv.tunnels = fx->cfg;
    fx->inv.n_tunnels = n;
    PfErr err = {0};
    assert_int_equal(ssh_hub_new(&fx->inv, &fx->hub, &err), PF_OK);
}

static bool request_is_done(SshHub *h, Request *r)
{
    pthread_mutex_lock(&h->mutex);
    bool done = r->done;
    pthread_mutex_unlock(&h->mutex);
    return done;
}

/* Post a request for host:port through tunnel t. */
static void post(SshHub *h, Request *r, Tunnel *t, const char *host, int port)
{
    memset(r, 0, sizeof *r);
    r->tun = t;
    r->host = host;
    r->port = port;
    assert_true(ssh_requests_post(h, r));
}

/* States a tunnel went through while the test turned the loop, each once in order. */
typedef struct Seen {
    TunState states[16];
    size_t n;
} Seen;

static void see(Seen *s, const Tunnel *t)
{
    if ((s->n == 0 || s->states[s->n - 1] != t->state) && s->n < 16)
        s->states[s->n++] = t->state;
}

/* Turn the loop until r is done, recording t's states; each turn also runs serve(arg). */
static void turn_until_done(SshHub *h, Request *r, const Tunnel *t, Seen *seen,
                            void (*serve)(void *), void *arg)
{
    int64_t limit = pf_now_ms() + TURN_LIMIT_MS;
    while (!request_is_done(h, r)) {
        assert_true(pf_now_ms() < limit);
        if (seen)
            see(seen, t);
        assert_true(ssh_hub_turn(h, 20));
        if (serve)
            serve(arg);
    }
    if (seen)
        see(seen, t);
}

static void assert_seen(const Seen *s, const TunState *want, size_t n)
{
    if (s->n != n) {
        for (size_t i = 0; i < s->n; i++)
            print_message("seen[%zu] = %d\n", i, (int)s->states[i]);
    }
    assert_int_equal(s->n, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(s->states[i], want[i]);
}

/* A pretend bastion: accepts connections, then answers each as told. */
typedef enum { SERVE_SILENT, SERVE_HANG_UP, SERVE_HTTP } ServeMode;
typedef struct Server {
    int listen_fd;
    int port;
    ServeMode mode;
    int conns[8];
    size_t n_conns;
} Server;

static void server_open(Server *s, ServeMode mode)
{
    memset(s, 0, sizeof *s);
    s->listen_fd = listen_local(&s->port);
    s->mode = mode;
}

static void server_serve(void *arg)
{
    Server *s = arg;
    int fd;
    while ((fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
        if (s->mode == SERVE_HTTP) {
            const char reply[] = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";
            assert_int_equal(send(fd, reply, sizeof reply - 1, MSG_NOSIGNAL), sizeof reply - 1);
        }
        if (s->mode == SERVE_SILENT && s->n_conns < 8) {
            s->conns[s->n_conns++] = fd;
        } else {
            s->n_conns++;
            close(fd);
        }
    }
}

static void server_close(Server *s)
{
    for (size_t i = 0; i < s->n_conns && i < 8; i++) {
        if (s->mode == SERVE_SILENT)
            close(s->conns[i]);
    }
    close(s->listen_fd);
}

/* A refused connection fails the tunnel for good: the request gets the cause, and the next
 * request is answered from the failed state without connecting again. */
static void test_refused(void **state)
{
    (void)state;
    Fixture fx = {0};
    int port = closed_port();
    fx.cfg[0] = tunnel_cfg("down", port, 5000);
    hub_open(&fx, 1);
    Tunnel *t = &fx.hub->tunnels[0];
    assert_int_equal(t->state, TUN_IDLE);

    Request r;
    post(fx.hub, &r, t, "db", 5432);
    turn_until_done(fx.hub, &r, t, NULL, NULL, NULL);
    char want[256];
    snprintf(want, sizeof want, "down: cannot connect to 127.0.0.1 port %d: connection refused",
             port);
    assert_int_equal(r.rc, PF_ERR_UNREACHABLE);
    assert_string_equal(r.msg, want);
    assert_int_equal(t->state, TUN_FAILED);
    assert_string_equal(t->error, want);
    assert_int_equal(t->fd, -1);
    assert_null(r.result);

    unsigned generation = t->generation;
    post(fx.hub, &r, t, "db2", 5432);
    turn_until_done(fx.hub, &r, t, NULL, NULL, NULL);
    assert_string_equal(r.msg, want);
    assert_int_equal(t->generation, generation); /* not opened again */
    ssh_hub_free(fx.hub);
}

/* A bastion that accepts and never speaks: connect, then the handshake, then the tunnel's
 * connect_timeout names the phase it was in. */
static void test_handshake_timeout(void **state)
{
    (void)state;
    Fixture fx = {0};
    Server srv;
    server_open(&srv, SERVE_SILENT);
    fx.cfg[0] = tunnel_cfg("silent", srv.port, 300);
    hub_open(&fx, 1);
    Tunnel *t = &fx.hub->tunnels[0];

    Request r;
    Seen seen = {0};
    post(fx.hub, &r, t, "db", 5432);
    int64_t start = pf_now_ms();
    turn_until_done(fx.hub, &r, t, &seen, server_serve, &srv);
    int64_t took = pf_now_ms() - start;
    char want[512];
    snprintf(want, sizeof want,
             "silent: timed out after 300ms in the ssh handshake (127.0.0.1 port %d); hint: "
             "raise the tunnel's connect_timeout, or check that the bastion is reachable",
             srv.port);
    assert_string_equal(r.msg, want);
    assert_true(took >= 300);
    const TunState path[] = {TUN_IDLE, TUN_CONNECTING, TUN_HANDSHAKE, TUN_FAILED};
    /* A loopback connect may complete at once: CONNECTING is then never seen by a turn. */
    if (seen.n == 3) {
        const TunState quick[] = {TUN_IDLE, TUN_HANDSHAKE, TUN_FAILED};
        assert_seen(&seen, quick, 3);
    } else {
        assert_seen(&seen, path, 4);
    }
    assert_int_equal(srv.n_conns, 1);
    assert_int_equal(t->fd, -1);
    assert_null(t->session);

    /* Failed stays failed: no second connection. */
    post(fx.hub, &r, t, "db", 5432);
    turn_until_done(fx.hub, &r, t, NULL, server_serve, &srv);
    assert_string_equal(r.msg, want);
    assert_int_equal(srv.n_conns, 1);
    ssh_hub_free(fx.hub);
    server_close(&srv);
}

/* A server that hangs up, and one that answers in HTTP: the handshake fails, saying so. */
static void test_handshake_refused(void **state)
{
    (void)state;
    const struct {
        ServeMode mode;
        const char *name, *cause;
    } cases[] = {
        {SERVE_HANG_UP, "hangs-up", "connection closed by the server"},
        {SERVE_HTTP, "web",
         "the server did not answer with an SSH banner; hint: check the tunnel's host and port"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Fixture fx = {0};
        Server srv;
        server_open(&srv, cases[i].mode);
        fx.cfg[0] = tunnel_cfg(cases[i].name, srv.port, 5000);
        hub_open(&fx, 1);
        Tunnel *t = &fx.hub->tunnels[0];
        Request r;
        post(fx.hub, &r, t, "db", 5432);
        turn_until_done(fx.hub, &r, t, NULL, server_serve, &srv);
        char want[512];
        snprintf(want, sizeof want, "%s: ssh handshake with 127.0.0.1 port %d failed: %s",
                 cases[i].name, srv.port, cases[i].cause);
        assert_string_equal(r.msg, want);
        assert_int_equal(t->state, TUN_FAILED);
        assert_int_equal(srv.n_conns, 1);
        ssh_hub_free(fx.hub);
        server_close(&srv);
    }
}

/* A tunnel via another waits for it, and fails with its message when it cannot open. */
static void test_via_fails_with_outer(void **state)
{
    (void)state;
    Fixture fx = {0};
    int port = closed_port();
    fx.cfg[0] = tunnel_cfg("jump", port, 5000);
    fx.cfg[1] = tunnel_cfg("inner", 22, 5000);
    fx.cfg[1].via = "jump";
    hub_open(&fx, 2);
    Tunnel *outer = &fx.hub->tunnels[0], *inner = &fx.hub->tunnels[1];
    assert_ptr_equal(inner->via, outer);

    Request r;
    post(fx.hub, &r, inner, "db", 5432);
    turn_until_done(fx.hub, &r, inner, NULL, NULL, NULL);
    char want[256];
    snprintf(want, sizeof want, "jump: cannot connect to 127.0.0.1 port %d: connection refused",
             port);
    assert_string_equal(r.msg, want);
    assert_int_equal(outer->state, TUN_FAILED);
    assert_int_equal(inner->state, TUN_FAILED);
    assert_string_equal(inner->error, want);
    ssh_hub_free(fx.hub);
}

/* A tunnel that pretends to be open (no session: the test drives the steps that need none). */
static Tunnel *pretend_open(Fixture *fx, size_t i)
{
    Tunnel *t = &fx->hub->tunnels[i];
    t->state = TUN_READY;
    t->generation++;
    return t;
}

/* One tunnel "b" (connect_timeout timeout_ms) that pretends to be open, and a forward through
 * it to db:5432, probing. */
static SshForward *pretend_forward(Fixture *fx, int64_t timeout_ms)
{
    fx->cfg[0] = tunnel_cfg("b", 22, timeout_ms);
    hub_open(fx, 1);
    Tunnel *t = pretend_open(fx, 0);
    PfErr err = {0};
    SshForward *f = ssh_forward_new(t, "db", 5432, &err);
    assert_non_null(f);
    return f;
}

/* When an open tunnel breaks, each forward through it gets the cause before its connections
 * close, the listener goes, the tunnel may open again (IDLE), and tunnels via it fail with it. */
static void test_break_reaches_forwards_first(void **state)
{
    (void)state;
    Fixture fx = {0};
    fx.cfg[0] = tunnel_cfg("eu-bastion", 22, 5000);
    fx.cfg[1] = tunnel_cfg("inner", 22, 5000);
    fx.cfg[1].via = "eu-bastion";
    hub_open(&fx, 2);
    Tunnel *t = pretend_open(&fx, 0);
    Tunnel *inner = &fx.hub->tunnels[1];
    inner->state = TUN_WAIT_VIA;

    PfErr err = {0};
    SshForward *f = ssh_forward_new(t, "db", 5432, &err);
    assert_non_null(f);
    int listener_port = ssh_forward_port(f);
    assert_true(listener_port > 0);
    assert_int_equal(f->state, FWD_PROBING);
    assert_non_null(f->spare);
    assert_int_equal(f->spare->state, LINK_QUEUED);
    int sp[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
    f->spare->fd = sp[1];
    f->state = FWD_READY;
    f->refs = 1;
    assert_null(ssh_forward_error(f));

    t->peer_closed = true;
    ssh_tunnel_broke(t);
    const char *want = "tunnel eu-bastion broke: connection closed by the server";
    assert_int_equal(t->state, TUN_IDLE);
    assert_string_equal(t->error, want);
    assert_int_equal(f->state, FWD_DEAD);
    char *e = ssh_forward_error(f);
    assert_string_equal(e, want);
    free(e);
    char c;
    assert_int_equal(recv(sp[0], &c, 1, 0), 0); /* the connection was closed */
    close(sp[0]);
    int fd = connect_local(listener_port);
    assert_int_equal(fd, -1); /* the listener is gone */
    assert_int_equal(inner->state, TUN_FAILED);
    assert_string_equal(inner->error, want);

    /* The closed links go at the next sweep; the worker's release is the last touch. */
    ssh_links_sweep(fx.hub);
    assert_null(fx.hub->links);
    ssh_forward_close(f);
    ssh_hub_free(fx.hub);
}

/* A forward whose probe outlasts connect_timeout fails naming the destination. */
static void test_probe_deadline(void **state)
{
    (void)state;
    Fixture fx = {0};
    SshForward *f = pretend_forward(&fx, 50);
    ssh_forward_step(f);
    assert_int_equal(f->state, FWD_PROBING); /* not yet */
    usleep(80 * 1000);
    ssh_forward_step(f);
    assert_int_equal(f->state, FWD_DEAD);
    char *e = ssh_forward_error(f);
    assert_string_equal(e, "b: timed out after 50ms waiting for the bastion to connect to db:5432");
    free(e);
    ssh_links_sweep(fx.hub);
    assert_null(fx.hub->links);
    ssh_hub_free(fx.hub);
}

/* A ready forward: its first connection takes the probe's channel, the next ones get links of
 * their own; once nobody holds it, it closes quietly ("closed" is not an error). */
static void test_forward_accepts_then_closes(void **state)
{
    (void)state;
    Fixture fx = {0};
    SshForward *f = pretend_forward(&fx, 5000);
    Link *spare = f->spare;
    f->state = FWD_READY;
    f->refs = 1;

    int c1 = connect_local(ssh_forward_port(f));
    assert_true(c1 >= 0);
    ssh_forward_step(f);
    assert_null(f->spare);
    assert_true(spare->fd >= 0);
    assert_ptr_equal(fx.hub->links, spare);

    int c2 = connect_local(ssh_forward_port(f));
    int c3 = connect_local(ssh_forward_port(f));
    ssh_forward_step(f);
    size_t n = 0;
    for (Link *l = fx.hub->links; l; l = l->next) {
        n++;
        assert_ptr_equal(l->fwd, f);
        assert_string_equal(l->host, "db");
        assert_int_equal(l->port, 5432);
        assert_true(l->fd >= 0);
        if (l != spare)
            assert_int_equal(l->state, LINK_QUEUED);
    }
    assert_int_equal(n, 3);

    f->refs = 0;
    ssh_forward_step(f);
    assert_int_equal(f->state, FWD_DEAD);
    assert_null(ssh_forward_error(f));
    assert_int_equal(connect_local(ssh_forward_port(f)), -1);
    for (Link *l = fx.hub->links; l; l = l->next)
        ssh_link_finish(l);
    ssh_links_sweep(fx.hub);
    assert_null(fx.hub->links);
    close(c1);
    close(c2);
    close(c3);
    ssh_hub_free(fx.hub);
}

/* A request for a destination that already has a ready forward on the tunnel's current
 * session gets that forward (one more reference) in one turn. */
static void test_request_shares_forward(void **state)
{
    (void)state;
    Fixture fx = {0};
    SshForward *f = pretend_forward(&fx, 5000);
    ssh_link_finish(f->spare); /* no session to open its channel on */
    f->state = FWD_READY;
    f->refs = 1;

    Request r;
    post(fx.hub, &r, f->tun, "db", 5432);
    turn_until_done(fx.hub, &r, f->tun, NULL, NULL, NULL);
    assert_int_equal(r.rc, PF_OK);
    assert_ptr_equal(r.result, f);
    assert_int_equal(f->refs, 2);
    ssh_forward_close(f);
    ssh_forward_close(f);
    ssh_hub_free(fx.hub);
}

/* Stopping: a turn after ssh_hub_stop still works, and posting fails from then on. */
static void test_stop_refuses_posts(void **state)
{
    (void)state;
    Fixture fx = {0};
    fx.cfg[0] = tunnel_cfg("b", 22, 5000);
    hub_open(&fx, 1);
    ssh_hub_stop(fx.hub);
    assert_true(ssh_hub_turn(fx.hub, 0));
    Request r;
    memset(&r, 0, sizeof r);
    r.tun = &fx.hub->tunnels[0];
    assert_false(ssh_requests_post(fx.hub, &r));
    ssh_hub_run(fx.hub); /* returns at once */
    ssh_hub_free(fx.hub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_handshake_timeout),
        cmocka_unit_test(test_handshake_refused),
        cmocka_unit_test(test_via_fails_with_outer),
        cmocka_unit_test(test_break_reaches_forwards_first),
        cmocka_unit_test(test_probe_deadline),
        cmocka_unit_test(test_forward_accepts_then_closes),
        cmocka_unit_test(test_request_shares_forward),
        cmocka_unit_test(test_stop_refuses_posts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
