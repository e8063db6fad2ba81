/*
 * Connections: open with pgfleet's settings, run multi-statement queries, cancel from another
 * thread, and translate libpq errors into PfErr at this edge.
 */
#include "pg/internal.h"

#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

PfErrCode pg_conn_open(const char *name, const char *dsn, const InvSettings *settings, PgConn **out,
                       PfErr *err)
{
    return pg_conn_open_at(name, dsn, settings, NULL, 0, out, err);
}

PfErrCode pg_conn_open_at(const char *name, const char *dsn, const InvSettings *settings,
                          const char *hostaddr, int port, PgConn **out, PfErr *err)
{
    *out = NULL;
    const char *keys[10];
    const char *vals[10];
    int n = 0;
    char timeout[32], port_text[16];
    keys[n] = "dbname";
    vals[n++] = dsn;
    keys[n] = "application_name";
    vals[n++] = settings->application_name ? settings->application_name : "pgfleet";
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
    keys[n] = NULL;
    vals[n] = NULL;

    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (!conn)
        return pf_err_set(err, PF_ERR_UNREACHABLE, "out of memory creating a connection");
    if (PQstatus(conn) != CONNECTION_OK) {
        /* libpq and the server quote parts of a dsn they cannot use (a host name, a database
         * name), and with a mistyped dsn those parts can hold the password. */
        char *line = pg_one_line(PQerrorMessage(conn));
        size_t n_secrets;
        char **secrets = inv_dsn_secrets(dsn, &n_secrets);
        char *msg = pf_scrub_secrets(line, secrets, n_secrets);
        for (size_t i = 0; i < n_secrets; i++)
            free(secrets[i]);
        free(secrets);
        free(line);
        pf_err_set(err, PF_ERR_UNREACHABLE, "%s", msg);
        free(msg);
        PQfinish(conn);
        return PF_ERR_UNREACHABLE;
    }
    PgConn *c = pf_calloc(1, sizeof *c);
    c->conn = conn;
    c->name = pf_strdup(name);
    c->cancel = PQgetCancel(conn);
    pthread_mutex_init(&c->cancel_mutex, NULL);
    PQsetNoticeProcessor(conn, notice_to_log, c);
    *out = c;
    return PF_OK;
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

char *pg_quote_ident(const char *ident)
{
    PfBuf b = PF_BUF_INIT;
    pf_buf_putc(&b, '"');
    for (const char *p = ident; *p; p++) {
        if (*p == '"')
            pf_buf_putc(&b, '"');
        pf_buf_putc(&b, *p);
    }
    pf_buf_putc(&b, '"');
    return pf_buf_take(&b);
}

char *pg_quote_literal(const char *s)
{
    PfBuf b = PF_BUF_INIT;
    pf_buf_putc(&b, '\'');
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            pf_buf_putc(&b, '\'');
        pf_buf_putc(&b, *p);
    }
    pf_buf_putc(&b, '\'');
    return pf_buf_take(&b);
}

char *pg_value(const PGresult *res, int row, int col)
{
    if (row >= PQntuples(res) || col >= PQnfields(res) || PQgetisnull(res, row, col))
        return NULL;
    return pf_strdup(PQgetvalue(res, row, col));
}
