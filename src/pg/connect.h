/*
 * Connecting when the server cannot take us yet (conn.c): what a failed connection's message
 * says, the retries pg_conn_open makes, waiting for a server that is starting, and a short
 * name for a dsn.
 *
 * pg_conn_open and pg_conn_open_at retry a connection the server refuses with SQLSTATE 53300
 * (too many connections: max_connections, a role's or a database's CONNECTION LIMIT) or 57P03
 * (starting up, shutting down, in recovery), with jittered exponential backoff (20 ms doubling
 * to 1 s), until connect_timeout has passed since the first attempt (60 s when connect_timeout
 * is 0). A server that answered 53300 also gets fewer connections from this process at once:
 * each server (the dsn's host and port) has a limit, lowered to the connections pgfleet holds
 * open to it when it refuses, raised by one after as many connections as the limit succeed;
 * an attempt waits for a free slot under the limit (within the same deadline). Other errors
 * are not retried.
 *
 * libpq 15 does not expose the SQLSTATE of a failed connection (PQresultErrorField needs a
 * result, and there is none): it is read from libpq's message, which holds the server's
 * primary message ("FATAL:  sorry, too many clients already") and, with newer libpq or verbose
 * errors, the SQLSTATE itself. A server whose lc_messages is not English says these in its
 * language, and its refusals are then not recognised (not retried).
 */
#ifndef PF_PG_CONNECT_H
#define PF_PG_CONNECT_H

#include "core/err.h"
#include "inventory/inventory.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct PgConn PgConn; /* pg.h */

typedef enum {
    PG_CONNECT_OTHER,    /* anything else: a wrong password, an unknown database, no route */
    PG_CONNECT_BUSY,     /* SQLSTATE 53300: the server or the role is out of connections */
    PG_CONNECT_STARTING, /* SQLSTATE 57P03: starting up, shutting down, in recovery */
    PG_CONNECT_REFUSED,  /* nothing listens (yet): connection refused, no socket file */
} PgConnectError;

/* What a failed connection's message (libpq's, or pg_conn_open's error) says. Pure. */
PgConnectError pg_connect_error_kind(const char *msg);

/* Stop every retry in progress, and all later ones (true), or allow them again (false): for a
 * run being interrupted. Thread-safe; pg_conn_open then fails with the last refusal at once. */
void pg_conn_retry_cancel(bool cancel);

/* Wait up to wait_ms for the server of dsn to accept a connection (docs/cli.md, --wait): try to
 * connect, retrying with backoff (100 ms doubling to 2 s) while it refuses (PG_CONNECT_REFUSED),
 * is starting (PG_CONNECT_STARTING) or is out of connections (PG_CONNECT_BUSY). The connection
 * made is *out, the caller's (pg_conn_free): the run uses it, so that the target is connected to
 * once. PF_ERR_UNREACHABLE (*out NULL) at once for any other error, or when wait_ms has passed,
 * with libpq's last reason and how long it waited. */
PfErrCode pg_conn_wait(const char *name, const char *dsn, const InvSettings *settings,
                       int64_t wait_ms, PgConn **out, PfErr *err);

/* A short name for a dsn, as libpq parses it (nothing from the environment): "HOST[:PORT]/DB",
 * HOST "local" for a Unix socket or no host, PORT only when the dsn gives one, DB only when the
 * dsn names it. Anything of a password in it is masked. PF_ERR_INPUT ("invalid connection
 * string: ...", masked) when libpq rejects the dsn. *label is the caller's to free. */
PfErrCode pg_dsn_label(const char *dsn, char **label, PfErr *err);

#endif
