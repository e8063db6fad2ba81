/*
 * The SSH loop's parts against a real OpenSSH server, driven turn by turn from this thread
 * (ssh_hub_turn; no loop thread): tests/integration/test_ssh_drive.sh starts sshd and runs this
 * program with PF_SSHD_PORT, PF_SSH_USER, PF_SSH_KEY, PF_KNOWN_HOSTS, and two FIFOs
 * (PF_KILL_REQUEST, PF_KILL_DONE) through which it asks the script to kill sshd.
 *
 * The destination of the forwards is an echo server in this process, served between turns.
 * Pinned: the session's states in order; the probe channel serving the first connection and
 * later connections opening their own; 24 MiB each way through one connection with every
 * buffer within its bound, also while the local side does not read; end-of-file each way; a
 * destination the bastion cannot reach; and when sshd dies, the cause reaching the forward
 * before its connection closes, then the tunnel failing to reopen.
 */
#define _GNU_SOURCE /* accept4 */
#include "core/mem.h"
#include "core/util.h"
#include "ssh/internal.h"
#include "ssh/ssh.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
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

#define TURN_LIMIT_MS 20000
#define MIB (1024 * 1024)

/* ---- an echo server, served between turns ---- */

typedef struct EchoConn {
    int fd;
    ByteQ pending;
    bool eof;
} EchoConn;

typedef struct Echo {
    int listen_fd;
    int port;
    EchoConn conns[8];
    size_t n;
    size_t accepted;
} Echo;

static void echo_open(Echo *e)
{
    memset(e, 0, sizeof *e);
    e->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(e->listen_fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(e->listen_fd, 16), 0);
    assert_int_equal(getsockname(e->listen_fd, (struct sockaddr *)&sa, &sl), 0);
    e->port = ntohs(sa.sin_port);
}

static void echo_serve(Echo *e)
{
    int fd;
    while (e->n < 8 &&
           (fd = accept4(e->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        e->conns[e->n++] = (EchoConn){.fd = fd};
        e->accepted++;
    }
    for (size_t i = 0; i < e->n; i++) {
        EchoConn *c = &e->conns[i];
        if (c->fd < 0)
            continue;
        char buf[16384];
        while (!c->eof && c->pending.len < MIB) {
            ssize_t n = recv(c->fd, buf, sizeof buf, 0);
            if (n > 0)
                byteq_push(&c->pending, buf, (size_t)n);
            else if (n == 0 || (errno != EAGAIN && errno != EINTR))
                c->eof = true;
            else
                break;
        }
        while (c->pending.len) {
            ssize_t n =
                send(c->fd, c->pending.data + c->pending.start, c->pending.len, MSG_NOSIGNAL);
            if (n <= 0)
                break;
            byteq_drop(&c->pending, (size_t)n);
        }
        if (c->eof && !c->pending.len) {
            close(c->fd);
            c->fd = -1;
            byteq_free(&c->pending);
        }
    }
}

static void echo_close(Echo *e)
{
    for (size_t i = 0; i < e->n; i++) {
        if (e->conns[i].fd >= 0)
            close(e->conns[i].fd);
        byteq_free(&e->conns[i].pending);
    }
    close(e->listen_fd);
}

/* ---- the hub under test ---- */

static InvTunnel cfg;
static Inventory inv;
static SshHub *hub;
static Tunnel *tun;
static Echo echo;
static SshForward *fwd;
static size_t max_to_fd, max_to_ch, max_out;

static const char *env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "ssh_drive: %s is not set (run by tests/integration/test_ssh_drive.sh)\n",
                name);
        exit(2);
    }
    return v;
}

/* One turn, then the echo server; records the largest buffers seen. */
static void turn(void)
{
    assert_true(ssh_hub_turn(hub, 10));
    for (const Link *l = hub->links; l; l = l->next) {
        if (l->to_fd.len > max_to_fd)
            max_to_fd = l->to_fd.len;
        if (l->to_ch.len > max_to_ch)
            max_to_ch = l->to_ch.len;
    }
    if (tun->out.len > max_out)
        max_out = tun->out.len;
    echo_serve(&echo);
}

static bool request_is_done(Request *r)
{
    pthread_mutex_lock(&hub->mutex);
    bool done = r->done;
    pthread_mutex_unlock(&hub->mutex);
    return done;
}

static void request(Request *r, const char *host, int port)
{
    memset(r, 0, sizeof *r);
    r->tun = tun;
    r->host = host;
    r->port = port;
    assert_true(ssh_requests_post(hub, r));
    int64_t limit = pf_now_ms() + TURN_LIMIT_MS;
    while (!request_is_done(r)) {
        assert_true(pf_now_ms() < limit);
        turn();
    }
}

static size_t count_links(LinkState state)
{
    size_t n = 0;
    for (const Link *l = hub->links; l; l = l->next)
        n += l->state == state;
    return n;
}

/* A connection to the forward. rcvbuf > 0: that small a receive buffer, so that what we do
 * not read backs up into the link instead of the kernel. */
static int connect_forward_rcvbuf(int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (rcvbuf > 0)
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)ssh_forward_port(fwd));
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
    return fd;
}

static int connect_forward(void)
{
    return connect_forward_rcvbuf(0);
}

static int setup(void **state)
{
    (void)state;
    static char *identity[1];
    identity[0] = (char *)env("PF_SSH_KEY");
    cfg.name = "bastion";
    cfg.host = "127.0.0.1";
    cfg.port = atoi(env("PF_SSHD_PORT"));
    cfg.user = (char *)env("PF_SSH_USER");
    cfg.identity = identity;
    cfg.n_identity = 1;
    cfg.known_hosts = (char *)env("PF_KNOWN_HOSTS");
    cfg.host_key_policy = INV_HOST_KEY_STRICT;
    cfg.keepalive_ms = 15000;
    cfg.connect_timeout_ms = 10000;
    inv.tunnels = &cfg;
    inv.n_tunnels = 1;
    PfErr err = {0};
    assert_int_equal(ssh_hub_new(&inv, &hub, &err), PF_OK);
    tun = &hub->tunnels[0];
    echo_open(&echo);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ssh_hub_stop(hub);
    ssh_hub_run(hub); /* closes everything */
    ssh_hub_free(hub);
    echo_close(&echo);
    return 0;
}

/* The first request opens the session through its states, in order, and gets a forward whose
 * probe channel to the destination is open. */
static void test_session_opens_in_order(void **state)
{
    (void)state;
    Request r;
    memset(&r, 0, sizeof r);
    r.tun = tun;
    r.host = "127.0.0.1";
    r.port = echo.port;
    assert_true(ssh_requests_post(hub, &r));
    TunState seen[16];
    size_t n = 0;
    seen[n++] = tun->state;
    int64_t limit = pf_now_ms() + TURN_LIMIT_MS;
    while (!request_is_done(&r)) {
        assert_true(pf_now_ms() < limit);
        turn();
        if (tun->state != seen[n - 1] && n < 16)
            seen[n++] = tun->state;
    }
    assert_int_equal(r.rc, PF_OK);
    fwd = r.result;
    assert_non_null(fwd);
    assert_int_equal(fwd->state, FWD_READY);
    assert_non_null(fwd->spare);
    assert_int_equal(fwd->spare->state, LINK_OPEN);
    assert_int_equal(echo.accepted, 1); /* the probe reached the destination */

    /* CONNECTING, and AUTH too, may pass within one turn on loopback. */
    size_t k = 0;
    assert_int_equal(seen[k++], TUN_IDLE);
    if (seen[k] == TUN_CONNECTING)
        k++;
    assert_int_equal(seen[k++], TUN_HANDSHAKE);
    if (seen[k] == TUN_AUTH)
        k++;
    assert_int_equal(seen[k++], TUN_READY);
    assert_int_equal(k, n);
}

/* 24 MiB each way through one connection with every buffer within its bound, also while the
 * local side stops reading until the link's buffer toward it is full; then end-of-file each way.
 * The first connection is served by the probe's channel. */
static void test_pump_bounded(void **state)
{
    (void)state;
    Link *spare = fwd->spare;
    int c = connect_forward_rcvbuf(8192);
    for (int i = 0; i < 20 && fwd->spare; i++)
        turn();
    assert_null(fwd->spare);
    assert_true(spare->fd >= 0);
    assert_int_equal(echo.accepted, 1); /* no second channel */

    size_t total = 24 * MIB; /* more than every socket buffer and window on the way hold */
    unsigned char *out = pf_malloc(total), *in = pf_malloc(total);
    for (size_t i = 0; i < total; i++)
        out[i] = (unsigned char)(i * 7 + i / 251);
    size_t sent = 0, got = 0;
    int64_t limit = pf_now_ms() + 300000; /* a guard against hanging, not a timing */
    enum { BEFORE, PAUSED, AFTER } phase = BEFORE;
    max_to_fd = max_to_ch = max_out = 0;
    while (got < total) {
        assert_true(pf_now_ms() < limit);
        if (sent < total) {
            ssize_t n =
                send(c, out + sent, total - sent > 65536 ? 65536 : total - sent, MSG_NOSIGNAL);
            if (n > 0)
                sent += (size_t)n;
        }
        /* Once a megabyte is sent, stop reading until the link's buffer toward us is full:
         * it must stop there while the rest waits in windows and sockets upstream. */
        if (phase == BEFORE && sent > MIB)
            phase = PAUSED;
        if (phase == PAUSED && max_to_fd >= LINK_BUF_MAX)
            phase = AFTER;
        if (phase != PAUSED) {
            ssize_t n = recv(c, in + got, total - got, 0);
            if (n > 0)
                got += (size_t)n;
            assert_true(n != 0);
        }
        turn();
    }
    assert_memory_equal(in, out, total);
    assert_int_equal(phase, AFTER); /* the pause filled the link's buffer */
    assert_true(max_to_fd <= LINK_BUF_MAX + 16384);
    assert_true(max_to_ch <= LINK_BUF_MAX + 16384);
    assert_true(max_out <= SESSION_OUT_MAX + LINK_BUF_MAX + 65536);
    print_message("largest buffers: to the socket %zu, to the channel %zu, session out %zu\n",
                  max_to_fd, max_to_ch, max_out);

    /* End-of-file: ours reaches the echo server, which closes; its close reaches us. */
    assert_int_equal(shutdown(c, SHUT_WR), 0);
    char b;
    ssize_t n;
    limit = pf_now_ms() + TURN_LIMIT_MS;
    while ((n = recv(c, &b, 1, 0)) < 0 && errno == EAGAIN) {
        assert_true(pf_now_ms() < limit);
        turn();
    }
    assert_int_equal(n, 0);
    close(c);
    for (int i = 0; i < 50 && hub->links; i++)
        turn();
    assert_null(hub->links); /* channel freed, link swept */
    free(out);
    free(in);
}

/* Later connections open channels of their own, side by side. */
static void test_connections_side_by_side(void **state)
{
    (void)state;
    int a = connect_forward(), b = connect_forward();
    int64_t limit = pf_now_ms() + TURN_LIMIT_MS;
    while (count_links(LINK_OPEN) < 2) {
        assert_true(pf_now_ms() < limit);
        turn();
    }
    assert_int_equal(echo.accepted, 3);
    assert_int_equal(send(a, "left", 4, MSG_NOSIGNAL), 4);
    assert_int_equal(send(b, "right", 5, MSG_NOSIGNAL), 5);
    char ba[8] = {0}, bb[8] = {0};
    size_t ga = 0, gb = 0;
    while (ga < 4 || gb < 5) {
        assert_true(pf_now_ms() < limit);
        turn();
        ssize_t n = recv(a, ba + ga, sizeof ba - 1 - ga, 0);
        if (n > 0)
            ga += (size_t)n;
        n = recv(b, bb + gb, sizeof bb - 1 - gb, 0);
        if (n > 0)
            gb += (size_t)n;
    }
    assert_string_equal(ba, "left");
    assert_string_equal(bb, "right");
    close(a);
    close(b);
    while (hub->links) {
        assert_true(pf_now_ms() < limit);
        turn();
    }
}

/* A destination the bastion cannot reach fails the request with the bastion's answer; the
 * session stays open. */
static void test_destination_unreachable(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    int port = ntohs(sa.sin_port);
    close(fd); /* nothing listens there now */
    Request r;
    request(&r, "127.0.0.1", port);
    char want[512];
    snprintf(want, sizeof want,
             "bastion: 127.0.0.1:%d is unreachable from the bastion (channel open failure: "
             "connect failed); hint: check the host and port as the bastion sees them",
             port);
    assert_int_equal(r.rc, PF_ERR_UNREACHABLE);
    assert_string_equal(r.msg, want);
    assert_int_equal(tun->state, TUN_READY);
}

/* Ask the script to kill sshd (every process of it), and wait until it has. */
static void kill_sshd(void)
{
    FILE *req = fopen(env("PF_KILL_REQUEST"), "w");
    assert_non_null(req);
    fputs("kill\n", req);
    fclose(req);
    FILE *done = fopen(env("PF_KILL_DONE"), "r");
    assert_non_null(done);
    char line[16] = {0};
    assert_non_null(fgets(line, sizeof line, done));
    fclose(done);
}

/* sshd dies under an open connection: the forward's error names the break before the local
 * connection is closed; the tunnel can be opened again (IDLE), and the next request, finding
 * no server, fails it for good. */
static void test_server_dies(void **state)
{
    (void)state;
    int c = connect_forward();
    int64_t limit = pf_now_ms() + TURN_LIMIT_MS;
    while (count_links(LINK_OPEN) < 1) {
        assert_true(pf_now_ms() < limit);
        turn();
    }
    kill_sshd();
    char b;
    ssize_t n;
    char *why = NULL;
    while ((n = recv(c, &b, 1, 0)) < 0 && errno == EAGAIN) {
        assert_true(pf_now_ms() < limit);
        why = ssh_forward_error(fwd);
        free(why);
        turn();
    }
    /* The connection is closed: by then the forward knew why. */
    assert_int_equal(n, 0);
    why = ssh_forward_error(fwd);
    assert_non_null(why);
    print_message("forward error: %s\n", why);
    assert_true(strncmp(why, "tunnel bastion broke: ", 22) == 0);
    assert_int_equal(tun->state, TUN_IDLE);
    assert_string_equal(tun->error, why);
    free(why);
    close(c);

    Request r;
    request(&r, "127.0.0.1", echo.port);
    char want[256];
    snprintf(want, sizeof want, "bastion: cannot connect to 127.0.0.1 port %d: connection refused",
             cfg.port);
    assert_string_equal(r.msg, want);
    assert_int_equal(tun->state, TUN_FAILED);
    ssh_forward_close(fwd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_opens_in_order),
        cmocka_unit_test(test_pump_bounded),
        cmocka_unit_test(test_connections_side_by_side),
        cmocka_unit_test(test_destination_unreachable),
        cmocka_unit_test(test_server_dies),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
