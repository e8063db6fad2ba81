/* Shared between the files of src/ssh/ only (loop.c, session.c, forward.c, requests.c,
 * bytequeue.c, auth.c, hostkey.c) and its tests. Everything here but requests.c's functions
 * and the forwards' refs and error (under hub->mutex) belongs to the loop's thread. */
#ifndef PF_SSH_INTERNAL_H
#define PF_SSH_INTERNAL_H

#include "core/buf.h"
#include "ssh/ssh.h"

#include <libssh2.h>
#include <netdb.h>
#include <pthread.h>
#include <stdint.h>

#define LINK_BUF_MAX (64 * 1024)      /* per direction, per connection */
#define SESSION_OUT_MAX (1024 * 1024) /* stop reading local sockets above this */

/* A byte queue: data[start, start + len) is pending. */
typedef struct ByteQ {
    char *data;
    size_t start, len, cap;
} ByteQ;

typedef enum {
    TUN_IDLE,       /* not open (never opened, or closed after it broke) */
    TUN_WAIT_VIA,   /* waiting for the tunnel it goes via to open */
    TUN_CARRIER,    /* the channel of the via tunnel that carries this session is opening */
    TUN_CONNECTING, /* TCP connect in progress */
    TUN_HANDSHAKE,  /* SSH banner and key exchange, then the host key check */
    TUN_AUTH,       /* user authentication */
    TUN_READY,
    TUN_FAILED, /* could not be opened: stays so, every forward through it fails */
} TunState;

typedef struct Link Link;

/* Progress of user authentication: ssh-agent first (agent: true), then the identity files. */
typedef struct Auth {
    bool agent_done;
    LIBSSH2_AGENT *agent;
    struct libssh2_agent_publickey *agent_id;
    int agent_refused;
    size_t key;  /* next identity file */
    PfBuf tried; /* what was tried and why it failed: paths and reasons, never key material */
} Auth;

typedef struct Tunnel {
    SshHub *hub;
    const InvTunnel *cfg;
    struct Tunnel *via;
    TunState state;
    int fd; /* TCP socket, or for a tunnel via another one, our end of a socketpair */
    LIBSSH2_SESSION *session;
    struct addrinfo *addrs, *addr; /* TCP: the resolved addresses and the one being tried */
    int64_t deadline_ms;           /* setup must be done by then; 0 = no limit */
    const char *phase;             /* what the setup is doing, for a timeout message */
    char *error;                   /* why it failed or last broke */
    ByteQ out;                     /* what libssh2 sent, waiting for the socket */
    int sock_errno;                /* the last socket error, recorded by the I/O callbacks */
    bool peer_closed;
    bool hup;          /* poll saw the peer close */
    bool tcp;          /* fd is a TCP socket (not a socketpair) */
    uint64_t rx_bytes; /* received since the session began */
    Link *carrier;     /* via: the channel of the outer session that carries this one */
    Link *opening;     /* the link whose channel open libssh2 is running (one at a time) */
    Auth auth;
    int64_t keepalive_at;
    unsigned generation; /* bumped on each (re)open: forwards belong to one */
} Tunnel;

typedef enum { LINK_QUEUED, LINK_OPENING, LINK_OPEN, LINK_CLOSING, LINK_DONE } LinkState;

/* One direct-tcpip channel and the local socket it is paired with. */
struct Link {
    Link *next;
    Tunnel *tun;     /* the session the channel belongs to */
    SshForward *fwd; /* the forward it serves, or NULL for a carrier */
    Tunnel *carries; /* the tunnel whose session goes through this channel, or NULL */
    int fd;          /* local socket; -1 for a forward's spare channel not yet handed out */
    LIBSSH2_CHANNEL *ch;
    const char *host; /* destination (borrowed from the forward or the carried tunnel) */
    int port;
    LinkState state;
    ByteQ to_ch, to_fd;
    bool fd_eof, ch_eof, eof_sent, fd_shut;
    char *error; /* why the channel could not be opened */
    int64_t deadline_ms;
};

typedef enum { FWD_PROBING, FWD_READY, FWD_DEAD } FwdState;

struct SshForward {
    SshForward *next;
    SshHub *hub;
    Tunnel *tun;
    unsigned generation;
    char *host;
    int port;
    int listen_fd;
    int local_port;
    FwdState state; /* loop thread only */
    Link *spare;    /* the channel opened to check the destination, for the first connection */
    int refs;       /* guarded by hub->mutex */
    char *error;    /* guarded by hub->mutex */
};

typedef struct Request {
    struct Request *next;
    Tunnel *tun;
    const char *host;
    int port;
    SshForward *fwd; /* the forward being probed for it */
    bool started;
    bool done; /* guarded by hub->mutex, with rc, msg and result */
    PfErrCode rc;
    char msg[1024];
    SshForward *result;
} Request;

struct SshHub {
    const Inventory *inv;
    Tunnel *tunnels; /* one per inventory tunnel, same order */
    size_t n;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    Request *incoming; /* guarded by mutex */
    bool stopping;     /* guarded by mutex */
    bool stopped;      /* guarded by mutex: the loop has returned */
    int wake[2];       /* a pipe: writing a byte wakes the loop */
    /* Loop thread only: */
    Request *waiting;
    SshForward *forwards;
    Link *links;
    uint64_t progress; /* bumped by every step that changed something */
    short *revents;    /* per tunnel: what the last poll saw on its socket */
    struct pollfd *fds;
    size_t fds_cap;
};

/* ---- byte queues (bytequeue.c) ---- */

/* Append len bytes (copied). Reuses the room before start before it grows the buffer. */
void byteq_push(ByteQ *q, const void *data, size_t len);
/* Forget the first n pending bytes (n <= len). */
void byteq_drop(ByteQ *q, size_t n);
/* Free the buffer; the queue is empty and usable again. */
void byteq_free(ByteQ *q);

/* ---- requests of worker threads to the loop (requests.c); each holds hub->mutex ---- */

/* Worker: queue r for the loop. False when the hub is stopping or has stopped. */
bool ssh_requests_post(SshHub *h, Request *r);
/* Worker: wait until the loop has completed r; then r is the worker's again. */
void ssh_requests_wait(SshHub *h, Request *r);
/* Loop: what was posted since the last call goes before *waiting, oldest first. */
void ssh_requests_take(SshHub *h, Request **waiting);
/* Loop: r is done: with f (one more reference to it, for the worker) or with msg (copied, cut
 * to fit; NULL: "the tunnel failed"). The loop must not touch r afterwards. */
void ssh_requests_complete(SshHub *h, Request *r, SshForward *f, const char *msg);
/* Any thread: ask the loop to stop; from then on, posting fails. */
void ssh_requests_stop(SshHub *h);
bool ssh_requests_stopping(SshHub *h);
/* Loop, once it has stopped: posting fails for good, and what was posted but not taken goes
 * before *waiting, for the loop to complete. */
void ssh_requests_close(SshHub *h, Request **waiting);

/* ---- the loop (loop.c) ---- */

/* One turn of the loop: step every tunnel, link, request and forward until nothing moves,
 * then poll their sockets for at most max_wait_ms (-1: until the next deadline, at most 1 s).
 * False when poll itself failed (the loop must end). ssh_hub_run is turns until stopped;
 * a test may call it from its own thread instead, while no loop thread runs. */
bool ssh_hub_turn(SshHub *h, int max_wait_ms);
/* Wake the loop from its poll. Any thread. */
void ssh_hub_wake(SshHub *h);

/* ---- a tunnel's session (session.c) ---- */

/* Whether a libssh2 error ends the session (as opposed to a refused key or channel). */
bool ssh_session_failed(int rc);
/* Open t (from TUN_IDLE): resolve and connect, or wait for the tunnel it goes via. */
void ssh_tunnel_start(Tunnel *t);
/* Advance t's setup by what can be done without blocking (revents: what poll saw on its
 * socket), fail it past its connect_timeout, or send a due keepalive. */
void ssh_tunnel_step(Tunnel *t, short revents);
/* Send what libssh2 queued in t->out, as far as the socket takes it; a send error fails t. */
void ssh_tunnel_flush(Tunnel *t);
/* t could not be opened (it stays TUN_FAILED) or broke (TUN_IDLE: the next request opens it
 * again). msg (copied) becomes t->error and the error of each forward through t, before their
 * connections are closed; tunnels via t fail with the same message. */
void ssh_tunnel_fail(Tunnel *t, const char *msg);
/* t's transport failed: ssh_tunnel_fail with "tunnel NAME broke: CAUSE". */
void ssh_tunnel_broke(Tunnel *t);
/* Free t's session, socket, queued output and addresses (no message, no state change). */
void ssh_session_close(Tunnel *t);
/* s (NULL: "unknown error") with a capitalised first word lowered, as messages here read.
 * Caller frees. */
char *ssh_lower_first(const char *s);
/* "5s" or "250ms". */
void ssh_duration_text(int64_t ms, char *out, size_t size);

/* ---- forwards and links (forward.c) ---- */

/* A link of t for host:port on local socket fd (-1: not yet accepted), serving forward f or
 * carrying tunnel carries (or neither); queued for its channel to be opened. The hub owns it. */
Link *ssh_link_new(Tunnel *t, SshForward *f, Tunnel *carries, int fd, const char *host, int port);
/* Close the link's local side and let go of its channel (freed by later steps). */
void ssh_link_finish(Link *l);
/* Open the link's channel when its session is ready (one open at a time per session), pump
 * bytes both ways, or free the channel of a finished link. */
void ssh_link_step(Link *l);
/* Free the links that are done. */
void ssh_links_sweep(SshHub *h);
/* A listener on 127.0.0.1 for host:port through t (ready tunnel), probing the destination
 * with its first channel. The hub owns it. NULL with err when no socket can listen. */
SshForward *ssh_forward_new(Tunnel *t, const char *host, int port, PfErr *err);
/* Fail a probe past its deadline, close a forward nobody holds, accept connections. */
void ssh_forward_step(SshForward *f);
/* The forward is of no more use: msg becomes its error unless it has one; listener closed. */
void ssh_forward_kill(SshForward *f, const char *msg);

/* ---- auth.c ---- */

/* One step of authentication. Returns 1 when authenticated, 0 to be called again (libssh2 is
 * waiting for the server), -1 when every key was refused (err says which were tried), -2 when
 * the session itself failed (err says how). */
int ssh_auth_step(Tunnel *t, PfErr *err);
void ssh_auth_clear(Auth *a);

/* ---- hostkey.c ---- */

/* Check the session's host key against the tunnel's known_hosts under its policy (and append
 * it under accept-new when unknown). PF_ERR_UNREACHABLE with the message users see. */
PfErrCode ssh_check_host_key(Tunnel *t, PfErr *err);

/* How known_hosts names a host: "host" on port 22, "[host]:port" otherwise. Caller frees. */
char *ssh_host_pattern(const char *host, int port);

/* The known_hosts line for a key blob: "PATTERN KEYTYPE BASE64\n", or NULL when the blob is
 * malformed. Caller frees. */
char *ssh_known_hosts_line(const char *pattern, const unsigned char *blob, size_t len);

/* The fingerprint of a key given as base64 (as in known_hosts); false when not base64. */
bool ssh_fingerprint_b64(const char *b64, char out[SSH_FINGERPRINT_LEN]);

/* The key type as OpenSSH names it in fingerprints ("ED25519", "ECDSA", "RSA"), from a key blob
 * ("UNKNOWN" when unreadable). */
const char *ssh_key_type_label(const unsigned char *blob, size_t len);

#endif
