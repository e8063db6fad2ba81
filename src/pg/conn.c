/*
 * Connections: open with pgfleet's settings (retrying a server out of connections or starting
 * up, connect.h), run multi-statement queries, cancel from another thread, and translate libpq
 * errors into PfErr at this edge.
 */
#include "pg/internal.h"

#include "pg/connect.h"

#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void notice_to_log(void *arg, const char *message)
{
    PgConn *c = arg;
    size_t len = strlen(message);
    while (len && message[len - 1] == '\n')
        len--;
    pf_log(PF_LOG_DEBUG, c->name, "server: %.*s", (int)len, message);
}

/* libpq messages end with a newline and may span lines: make them one line. */
char *pg_one_line(const char *msg)
{
    char *s = pf_strdup(msg ? msg : "");
    size_t len = strlen(s);
    while (len && (s[len - 1] == '\n' || s[len - 1] == ' '))
        s[--len] = '\0';
    for (char *p = s; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    return s;
}

/* ---- why a connection failed --------------------------------------------------------------- */

/* The server's primary messages for 53300 and 57P03 (PostgreSQL 12 to 17), as libpq quotes
 * them, and the SQLSTATE as verbose errors put it ("FATAL:  53300: ..."). */
static const char *const BUSY_TEXTS[] = {
    "  53300: ",
    "sorry, too many clients already",
    "too many connections for role",
    "too many connections for database",
    "remaining connection slots are reserved for",
};
static const char *const STARTING_TEXTS[] = {
    "  57P03: ",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "the database system is not yet accepting connections",
    "the database system is not accepting connections",
};

static bool says_any(const char *msg, const char *const *texts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strstr(msg, texts[i]))
            return true;
    return false;
}

PgConnectError pg_connect_error_kind(const char *msg)
{
    if (!msg)
        return PG_CONNECT_OTHER;
    if (says_any(msg, BUSY_TEXTS, sizeof BUSY_TEXTS / sizeof *BUSY_TEXTS))
        return PG_CONNECT_BUSY;
    if (says_any(msg, STARTING_TEXTS, sizeof STARTING_TEXTS / sizeof *STARTING_TEXTS))
        return PG_CONNECT_STARTING;
    if (strstr(msg, "Connection refused") ||
        (strstr(msg, "on socket") && strstr(msg, "No such file or directory")))
        return PG_CONNECT_REFUSED;
    return PG_CONNECT_OTHER;
}

/* ---- retries and the per-server limit ------------------------------------------------------ */

enum {
    RETRY_FIRST_MS = 20,
    RETRY_MAX_MS = 1000,
    RETRY_BUDGET_NO_TIMEOUT_MS = 60000, /* the retries' deadline when connect_timeout is 0 */
    WAIT_FIRST_MS = 100,
    WAIT_MAX_MS = 2000,
    RETRY_TICK_MS = 50, /* how often a sleeping retry looks at pg_conn_retry_cancel */
};

static atomic_bool retry_cancelled;

/* One per server this process connects to (never freed: a run has few). The counts are
 * guarded by gates_mutex; cond is signalled whenever they change. */
struct PgGate {
    char *key;
    int open;   /* connections of this process to the server, open now */
    int trying; /* attempts in progress */
    int limit;  /* most open + trying at once; 0 = no limit (the server never refused) */
    int ok;     /* connections made at the limit since it was last set */
    /* The server answered a connection whose sslmode (gssencmode) was prefer without the
     * encryption: later ones whose mode is prefer too skip the question (skip_requests). */
    bool no_ssl, no_gssenc;
    pthread_cond_t cond;
    struct PgGate *next;
};

static pthread_mutex_t gates_mutex = PTHREAD_MUTEX_INITIALIZER;
static PgGate *gates;

/* The server a dsn reaches, as a key: its host (or hostaddr) and port as libpq reads them,
 * PGHOST/PGHOSTADDR/PGPORT when it has none. */
static char *gate_key(const char *dsn)
{
    const char *host = NULL, *port = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, NULL);
    for (PQconninfoOption *o = opts; o && o->keyword; o++) {
        if (!o->val || !*o->val)
            continue;
        if (strcmp(o->keyword, "host") == 0 || (strcmp(o->keyword, "hostaddr") == 0 && !host))
            host = o->val;
        else if (strcmp(o->keyword, "port") == 0)
            port = o->val;
    }
    if (!host)
        host = getenv("PGHOST") ? getenv("PGHOST") : getenv("PGHOSTADDR");
    if (!port)
        port = getenv("PGPORT");
    char *key = pf_asprintf("%s\n%s", host ? host : "", port ? port : "");
    PQconninfoFree(opts);
    return key;
}

static PgGate *gate_for(const char *dsn)
{
    char *key = gate_key(dsn);
    pthread_mutex_lock(&gates_mutex);
    PgGate *g = gates;
    while (g && strcmp(g->key, key) != 0)
        g = g->next;
    if (!g) {
        g = pf_calloc(1, sizeof *g);
        g->key = key;
        key = NULL;
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&g->cond, &attr);
        pthread_condattr_destroy(&attr);
        g->next = gates;
        gates = g;
    }
    pthread_mutex_unlock(&gates_mutex);
    free(key);
    return g;
}

/* Take a slot for an attempt: at once when the server has no limit, else when one is free
 * under it. False when deadline passed (or retries were cancelled) first. */
static bool gate_enter(PgGate *g, int64_t deadline)
{
    pthread_mutex_lock(&gates_mutex);
    while (g->limit > 0 && g->open + g->trying >= g->limit) {
        int64_t now = pf_now_ms();
        if (now >= deadline || atomic_load(&retry_cancelled)) {
            pthread_mutex_unlock(&gates_mutex);
            return false;
        }
        int64_t until = now + RETRY_TICK_MS * 4 < deadline ? now + RETRY_TICK_MS * 4 : deadline;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t ns = (int64_t)ts.tv_nsec + (until - now) * 1000000;
        ts.tv_sec += (time_t)(ns / 1000000000);
        ts.tv_nsec = (long)(ns % 1000000000);
        pthread_cond_timedwait(&g->cond, &gates_mutex, &ts);
    }
    g->trying++;
    pthread_mutex_unlock(&gates_mutex);
    return true;
}

typedef enum { GATE_CONNECTED, GATE_FAILED, GATE_REFUSED } GateOutcome;

static void gate_leave(PgGate *g, GateOutcome outcome)
{
    pthread_mutex_lock(&gates_mutex);
    g->trying--;
    if (outcome == GATE_CONNECTED) {
        g->open++;
        if (g->limit > 0 && ++g->ok >= g->limit) {
            g->limit++; /* as many connections as the limit went through: try one more */
            g->ok = 0;
        }
    } else if (outcome == GATE_REFUSED) {
        g->limit = g->open > 0 ? g->open : 1;
        g->ok = 0;
    }
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&gates_mutex);
}

static void gate_close(PgGate *g)
{
    pthread_mutex_lock(&gates_mutex);
    g->open--;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&gates_mutex);
}

/* ---- encryption requests a server is known to refuse ---------------------------------------- */

/* Whether libpq will use "prefer" for kw (sslmode or gssencmode) on a connection to dsn: the
 * value settings give, else the dsn's, else the environment's (env), else libpq's default. A
 * dsn or environment that names a service file (which may set it), or requiressl, is not
 * counted on. */
static bool mode_is_prefer(const char *dsn, const char *kw, const char *env, const char *set)
{
    if (set)
        return strcmp(set, "prefer") == 0;
    const char *v = NULL;
    bool unknown = getenv("PGSERVICE") || (strcmp(kw, "sslmode") == 0 && getenv("PGREQUIRESSL"));
    PQconninfoOption *opts = PQconninfoParse(dsn, NULL);
    for (PQconninfoOption *o = opts; o && o->keyword; o++) {
        if (!o->val || !*o->val)
            continue;
        if (strcmp(o->keyword, kw) == 0)
            v = o->val;
        else if (strcmp(o->keyword, "service") == 0 || strcmp(o->keyword, "requiressl") == 0)
            unknown = true;
    }
    bool prefer =
        v ? strcmp(v, "prefer") == 0
          : !unknown && (!getenv(env) || !*getenv(env) || strcmp(getenv(env), "prefer") == 0);
    PQconninfoFree(opts);
    return prefer;
}

/* Note what a new connection says of its server's encryption: asked in prefer mode, and
 * answered without it. */
static void gate_learn(PgGate *g, PGconn *conn)
{
    bool ssl_prefer = false, gss_prefer = false;
    PQconninfoOption *opts = PQconninfo(conn);
    for (PQconninfoOption *o = opts; o && o->keyword; o++) {
        if (o->val && strcmp(o->keyword, "sslmode") == 0)
            ssl_prefer = strcmp(o->val, "prefer") == 0;
        else if (o->val && strcmp(o->keyword, "gssencmode") == 0)
            gss_prefer = strcmp(o->val, "prefer") == 0;
    }
    PQconninfoFree(opts);
    bool gss = PQgssEncInUse(conn) != 0;
    pthread_mutex_lock(&gates_mutex);
    if (ssl_prefer && !gss && !PQsslInUse(conn))
        g->no_ssl = true;
    if (gss_prefer && !gss)
        g->no_gssenc = true;
    pthread_mutex_unlock(&gates_mutex);
}

/* Which requests the next connection to g's server skips: the SSL request (sslmode=disable
 * instead of prefer) and the GSS encryption request (gssencmode=disable), each only when the
 * server refused it before and the target's mode is prefer, so the answer would be no again
 * and libpq would carry on without it. Each is a round trip of the start-up. */
static void skip_requests(PgGate *g, const char *dsn, const InvSettings *settings, bool *ssl,
                          bool *gss)
{
    pthread_mutex_lock(&gates_mutex);
    bool no_ssl = g->no_ssl, no_gssenc = g->no_gssenc;
    pthread_mutex_unlock(&gates_mutex);
    *ssl = no_ssl && mode_is_prefer(dsn, "sslmode", "PGSSLMODE", settings->sslmode);
    *gss = no_gssenc && mode_is_prefer(dsn, "gssencmode", "PGGSSENCMODE", NULL);
}

/* A connection that skipped requests failed: the server may have changed (it offers
 * encryption now, and requires it), so the next attempt asks again. */
static void gate_forget(PgGate *g)
{
    pthread_mutex_lock(&gates_mutex);
    g->no_ssl = g->no_gssenc = false;
    pthread_mutex_unlock(&gates_mutex);
}

void pg_conn_retry_cancel(bool cancel)
{
    atomic_store(&retry_cancelled, cancel);
    pthread_mutex_lock(&gates_mutex);
    for (PgGate *g = gates; g; g = g->next)
        pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&gates_mutex);
}

/* delay/2 plus a random part up to delay/2, so that workers refused together spread out. */
static int64_t jittered(int64_t delay)
{
    static _Thread_local uint64_t state;
    if (!state)
        state = ((uint64_t)pf_now_ms() * 0x9E3779B97F4A7C15u) ^ (uint64_t)(uintptr_t)&state;
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return delay / 2 + (int64_t)(state % (uint64_t)(delay / 2 + 1));
}

/* Sleep ms, returning early once the retries are cancelled. */
static void retry_sleep(int64_t ms)
{
    int64_t until = pf_now_ms() + ms;
    for (int64_t left = ms; left > 0 && !atomic_load(&retry_cancelled);
         left = until - pf_now_ms()) {
        int64_t step = left < RETRY_TICK_MS ? left : RETRY_TICK_MS;
        struct timespec ts = {(time_t)(step / 1000), (long)(step % 1000) * 1000000};
        nanosleep(&ts, NULL);
    }
}

/* libpq's message for a failed connection, on one line, without the dsn's password. */
static char *connect_message(PGconn *conn, const char *dsn)
{
    /* libpq and the server quote parts of a dsn they cannot use (a host name, a database
     * name), and with a mistyped dsn those parts can hold the password. */
    char *line = pg_one_line(conn ? PQerrorMessage(conn) : "out of memory creating a connection");
    char *msg = inv_dsn_scrub(line, dsn);
    free(line);
    return msg;
}

static const char *retry_hint(PgConnectError kind, bool waiting)
{
    switch (kind) {
    case PG_CONNECT_BUSY:
        return "the server is out of connections: lower -j, raise its max_connections (or the "
               "role's CONNECTION LIMIT), or raise connect_timeout to wait longer";
    case PG_CONNECT_STARTING:
        return waiting ? "the server is still not accepting connections: wait longer"
                       : "the server is not accepting connections yet: raise connect_timeout "
                         "to wait longer";
    default:
        return "nothing accepted the connection: check that the server runs, or wait longer";
    }
}

/* Connect, retrying as connect.h says until deadline; with waiting, a refused connection is
 * retried too (slower: a server starting from scratch). */
static PfErrCode conn_open(const char *name, const char *dsn, const InvSettings *settings,
                           const char *hostaddr, int port, int64_t deadline, bool waiting,
                           const char *dbname, PgConn **out, PfErr *err)
{
    *out = NULL;
    const char *keys[12];
    const char *vals[12];
    int n = 0;
    char timeout[32], port_text[16];
    keys[n] = "dbname";
    vals[n++] = dsn;
    keys[n] = "application_name";
    vals[n++] = settings->application_name ? settings->application_name : "pgfleet";
    /* The migrations are UTF-8 text (decoded as drizzle decodes them), and node-postgres
     * always speaks UTF8: whatever the dsn or PGCLIENTENCODING say, so does pgfleet, so that a
     * LATIN1 database stores 'é' as drizzle stores it. */
    keys[n] = "client_encoding";
    vals[n++] = "UTF8";
    if (settings->connect_timeout_ms > 0) {
        /* libpq takes whole seconds; round up so "500ms" does not become "no limit". */
        snprintf(timeout, sizeof timeout, "%lld",
                 (long long)((settings->connect_timeout_ms + 999) / 1000));
        keys[n] = "connect_timeout";
        vals[n++] = timeout;
    }
    if (settings->sslmode) {
        keys[n] = "sslmode";
        vals[n++] = settings->sslmode;
    }
    if (hostaddr) {
        /* After dbname, so they override the dsn's; its host stays for TLS and .pgpass. */
        snprintf(port_text, sizeof port_text, "%d", port);
        keys[n] = "hostaddr";
        vals[n++] = hostaddr;
        keys[n] = "port";
        vals[n++] = port_text;
    }
    if (dbname) {
        /* A later dbname overrides the one the dsn names. */
        keys[n] = "dbname";
        vals[n++] = dbname;
    }
    keys[n] = NULL;
    vals[n] = NULL;
    int n_own = n; /* the skipped requests come after, set per attempt */

    PgGate *gate = gate_for(dsn);
    int64_t start = pf_now_ms();
    int64_t delay = waiting ? WAIT_FIRST_MS : RETRY_FIRST_MS;
    int attempts = 0;
    char *last = NULL;
    PgConnectError kind = PG_CONNECT_OTHER;
    for (;;) {
        if (!gate_enter(gate, deadline))
            break;
        bool skip_ssl, skip_gss;
        skip_requests(gate, dsn, settings, &skip_ssl, &skip_gss);
        n = n_own;
        if (skip_ssl) {
            keys[n] = "sslmode";
            vals[n++] = "disable";
        }
        if (skip_gss) {
            keys[n] = "gssencmode";
            vals[n++] = "disable";
        }
        keys[n] = NULL;
        vals[n] = NULL;
        PGconn *conn = PQconnectdbParams(keys, vals, 1);
        attempts++;
        if (conn && PQstatus(conn) == CONNECTION_OK) {
            if (!skip_ssl || !skip_gss)
                gate_learn(gate, conn);
            gate_leave(gate, GATE_CONNECTED);
            if (attempts > 1)
                pf_log(PF_LOG_INFO, name, "connected at attempt %d, after %lld ms", attempts,
                       (long long)(pf_now_ms() - start));
            free(last);
            PgConn *c = pf_calloc(1, sizeof *c);
            c->conn = conn;
            c->name = pf_strdup(name);
            c->gate = gate;
            c->cancel = PQgetCancel(conn);
            pthread_mutex_init(&c->cancel_mutex, NULL);
            PQsetNoticeProcessor(conn, notice_to_log, c);
            *out = c;
            return PF_OK;
        }
        free(last);
        last = connect_message(conn, dsn);
        kind = conn ? pg_connect_error_kind(last) : PG_CONNECT_OTHER;
        PQfinish(conn);
        gate_leave(gate, kind == PG_CONNECT_BUSY ? GATE_REFUSED : GATE_FAILED);
        if ((skip_ssl || skip_gss) && kind == PG_CONNECT_OTHER) {
            gate_forget(gate); /* asked as the target says, at once: its own answer counts */
            attempts--;
            continue;
        }
        bool again = kind == PG_CONNECT_BUSY || kind == PG_CONNECT_STARTING ||
                     (waiting && kind == PG_CONNECT_REFUSED);
        if (!again)
            break;
        int64_t now = pf_now_ms();
        if (atomic_load(&retry_cancelled) || now >= deadline)
            break;
        /* The last attempt is made at the deadline, not a pause before it. */
        int64_t pause = jittered(delay);
        if (pause > deadline - now)
            pause = deadline - now;
        int64_t max = waiting ? WAIT_MAX_MS : RETRY_MAX_MS;
        delay = delay * 2 > max ? max : delay * 2;
        pf_log(waiting ? PF_LOG_INFO : PF_LOG_DEBUG, name, "%s; trying again in %lld ms", last,
               (long long)pause);
        retry_sleep(pause);
    }
    double secs = (double)(pf_now_ms() - start) / 1000.0;
    if (!last)
        pf_err_set(err, PF_ERR_UNREACHABLE,
                   "no connection to the server freed up within %.1f s (it refused connections "
                   "to other targets: out of connections); hint: %s",
                   secs, retry_hint(PG_CONNECT_BUSY, waiting));
    else if (attempts > 1 || (waiting && kind != PG_CONNECT_OTHER))
        pf_err_set(err, PF_ERR_UNREACHABLE, "%s (%d attempt%s in %.1f s); hint: %s", last, attempts,
                   attempts == 1 ? "" : "s", secs, retry_hint(kind, waiting));
    else
        pf_err_set(err, PF_ERR_UNREACHABLE, "%s", last);
    free(last);
    return PF_ERR_UNREACHABLE;
}

static int64_t retry_deadline(const InvSettings *settings)
{
    return pf_now_ms() + (settings->connect_timeout_ms > 0 ? settings->connect_timeout_ms
                                                           : RETRY_BUDGET_NO_TIMEOUT_MS);
}

PfErrCode pg_conn_open(const char *name, const char *dsn, const InvSettings *settings, PgConn **out,
                       PfErr *err)
{
    return conn_open(name, dsn, settings, NULL, 0, retry_deadline(settings), false, NULL, out, err);
}

PfErrCode pg_conn_open_at(const char *name, const char *dsn, const InvSettings *settings,
                          const char *hostaddr, int port, PgConn **out, PfErr *err)
{
    return conn_open(name, dsn, settings, hostaddr, port, retry_deadline(settings), false, NULL,
                     out, err);
}

PfErrCode pg_conn_open_db(const char *name, const char *dsn, const char *dbname,
                          const InvSettings *settings, PgConn **out, PfErr *err)
{
    return conn_open(name, dsn, settings, NULL, 0, retry_deadline(settings), false, dbname, out,
                     err);
}

PfErrCode pg_conn_wait(const char *name, const char *dsn, const InvSettings *settings,
                       int64_t wait_ms, PgConn **out, PfErr *err)
{
    return conn_open(name, dsn, settings, NULL, 0, pf_now_ms() + wait_ms, true, NULL, out, err);
}

PfErrCode pg_dsn_label(const char *dsn, char **label, PfErr *err)
{
    *label = NULL;
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &why);
    PfErrCode rc = PF_OK;
    if (!opts) {
        char *line = pg_one_line(why ? why : "out of memory");
        char *msg = inv_dsn_scrub(line, dsn);
        rc = pf_err_set(err, PF_ERR_INPUT, "invalid connection string: %s", msg);
        free(msg);
        free(line);
    } else {
        const char *host = NULL, *port = NULL, *db = NULL;
        for (PQconninfoOption *o = opts; o->keyword; o++) {
            if (!o->val || !*o->val)
                continue;
            if (strcmp(o->keyword, "host") == 0 || (strcmp(o->keyword, "hostaddr") == 0 && !host))
                host = o->val;
            else if (strcmp(o->keyword, "port") == 0)
                port = o->val;
            else if (strcmp(o->keyword, "dbname") == 0)
                db = o->val;
        }
        if (port && strspn(port, ",") == strlen(port))
            port = NULL; /* "," : no port for either host of "db1,db2" */
        bool local = !host || host[0] == '/' || host[0] == '@';
        char *text = pf_asprintf("%s%s%s%s%s", local ? "local" : host, port ? ":" : "",
                                 port ? port : "", db ? "/" : "", db ? db : "");
        *label = inv_dsn_scrub(text, dsn);
        free(text);
    }
    PQconninfoFree(opts);
    PQfreemem(why);
    return rc;
}

void pg_conn_free(PgConn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->cancel_mutex);
    PQfreeCancel(c->cancel);
    c->cancel = NULL;
    pthread_mutex_unlock(&c->cancel_mutex);
    PQfinish(c->conn);
    if (c->gate)
        gate_close(c->gate);
    pthread_mutex_destroy(&c->cancel_mutex);
    free(c->name);
    free(c);
}

void pg_conn_cancel(PgConn *c)
{
    if (!c)
        return;
    char buf[256];
    pthread_mutex_lock(&c->cancel_mutex);
    if (c->cancel && !PQcancel(c->cancel, buf, sizeof buf))
        pf_log(PF_LOG_DEBUG, c->name, "cancel request failed: %s", buf);
    pthread_mutex_unlock(&c->cancel_mutex);
}

int pg_conn_round_trips(const PgConn *c)
{
    return c ? c->round_trips : 0;
}

int pg_libpq_version(void)
{
    return PQlibVersion();
}

void pg_results_clear(PgResults *r)
{
    for (int i = 0; i < r->n; i++)
        PQclear(r->res[i]);
    free(r->res);
    memset(r, 0, sizeof *r);
}

PfErrCode pg_err_from_result(const PGresult *res, PfErr *err)
{
    char *msg = pg_one_line(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (!*msg) {
        free(msg);
        msg = pg_one_line(PQresultErrorMessage(res));
    }
    pf_err_set(err, PF_ERR_PG, "%s%s%s%s", msg, state ? " (SQLSTATE " : "", state ? state : "",
               state ? ")" : "");
    free(msg);
    return PF_ERR_PG;
}

PfErrCode pg_exec_all(PgConn *c, const char *sql, PgResults *out, PfErr *err)
{
    memset(out, 0, sizeof *out);
    out->error_index = -1;
    c->round_trips++;
    if (!PQsendQuery(c->conn, sql)) {
        char *msg = pg_one_line(PQerrorMessage(c->conn));
        pf_err_set(err, PF_ERR_UNREACHABLE, "connection lost: %s", msg);
        free(msg);
        return PF_ERR_UNREACHABLE;
    }
    int cap = 0;
    PGresult *res;
    while ((res = PQgetResult(c->conn)) != NULL) {
        if (out->n == cap) {
            cap = cap ? cap * 2 : 8;
            out->res = pf_realloc(out->res, (size_t)cap * sizeof *out->res);
        }
        if (PQresultStatus(res) == PGRES_FATAL_ERROR && out->error_index < 0)
            out->error_index = out->n;
        out->res[out->n++] = res;
    }
    if (out->error_index >= 0) {
        if (PQstatus(c->conn) == CONNECTION_BAD) {
            char *msg = pg_one_line(PQerrorMessage(c->conn));
            pf_err_set(err, PF_ERR_UNREACHABLE, "connection lost: %s", msg);
            free(msg);
            return PF_ERR_UNREACHABLE;
        }
        return pg_err_from_result(out->res[out->error_index], err);
    }
    if (PQstatus(c->conn) == CONNECTION_BAD) {
        char *msg = pg_one_line(PQerrorMessage(c->conn));
        pf_err_set(err, PF_ERR_UNREACHABLE, "connection lost: %s", msg);
        free(msg);
        return PF_ERR_UNREACHABLE;
    }
    return PF_OK;
}

/* s between two q, each q inside doubled: copied a run at a time, up to and with each q. */
static char *quote_doubling(const char *s, char q)
{
    PfBuf b = PF_BUF_INIT;
    pf_buf_putc(&b, q);
    for (const char *p = s;;) {
        const char *at = strchr(p, q);
        if (!at) {
            pf_buf_puts(&b, p);
            break;
        }
        pf_buf_append(&b, p, (size_t)(at - p + 1));
        pf_buf_putc(&b, q);
        p = at + 1;
    }
    pf_buf_putc(&b, q);
    return pf_buf_take(&b);
}

char *pg_quote_ident(const char *ident)
{
    return quote_doubling(ident, '"');
}

char *pg_quote_literal(const char *s)
{
    return quote_doubling(s, '\'');
}

char *pg_quote_qualified(const char *schema, const char *name)
{
    char *qn = pg_quote_ident(name);
    if (!schema)
        return qn;
    char *qs = pg_quote_ident(schema);
    char *rel = pf_asprintf("%s.%s", qs, qn);
    free(qs);
    free(qn);
    return rel;
}

char *pg_regclass_literal(const char *schema, const char *name)
{
    char *rel = pg_quote_qualified(schema, name);
    char *lit = pg_quote_literal(rel);
    free(rel);
    return lit;
}

char *pg_value(const PGresult *res, int row, int col)
{
    if (row >= PQntuples(res) || col >= PQnfields(res) || PQgetisnull(res, row, col))
        return NULL;
    return pf_strdup(PQgetvalue(res, row, col));
}
