/*
 * history-pg: a central fleet history in PostgreSQL (docs/plugins.md). At run end it writes
 * one row per target that ran into a table, creating the table if it is missing.
 *
 *   config:
 *     dsn: postgresql://pgfleet@ops-db/ops        # required
 *     table: pgfleet_history                       # default; may be schema-qualified
 *
 *   create table if not exists pgfleet_history (
 *     run_id text not null, command text not null, target text not null, wave text,
 *     status text not null, outcome text not null, pending integer not null,
 *     applied text[] not null, error text, started_at timestamptz not null,
 *     duration_ms bigint not null, recorded_at timestamptz not null default now());
 *
 * The rows of one run go in one transaction. A failure (server down, no permission) is an
 * error of run_end: reported, the run's result unchanged.
 */
#include <pgfleet/plugin.h>

#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct Row {
    char *target, *wave, *status, *outcome, *error, *applied;
    size_t pending;
    char started_at[40];
    int64_t duration_ms;
} Row;

typedef struct History {
    char *dsn;
    char *table;
    Row *rows;
    size_t n, cap;
} History;

static void rows_clear(History *h)
{
    for (size_t i = 0; i < h->n; i++) {
        Row *r = &h->rows[i];
        free(r->target);
        free(r->wave);
        free(r->status);
        free(r->outcome);
        free(r->error);
        free(r->applied);
    }
    h->n = 0;
}

static void history_free(History *h)
{
    if (!h)
        return;
    rows_clear(h);
    free(h->rows);
    free(h->dsn);
    free(h->table);
    free(h);
}

static int history_init(const PgfleetKV *config, size_t n, void **state, char *err, size_t err_size)
{
    History *h = calloc(1, sizeof *h);
    if (!h)
        return PGFLEET_ERROR;
    for (size_t i = 0; i < n; i++) {
        char **slot = strcmp(config[i].key, "dsn") == 0     ? &h->dsn
                      : strcmp(config[i].key, "table") == 0 ? &h->table
                                                            : NULL;
        if (!slot) {
            snprintf(err, err_size, "unknown config key '%s' (expected dsn, table)", config[i].key);
            history_free(h);
            return PGFLEET_ERROR;
        }
        free(*slot);
        *slot = strdup(config[i].value);
    }
    if (!h->dsn || !*h->dsn) {
        snprintf(err, err_size, "config 'dsn' is required");
        history_free(h);
        return PGFLEET_ERROR;
    }
    if (!h->table || !*h->table) {
        free(h->table);
        h->table = strdup("pgfleet_history");
    }
    *state = h;
    return PGFLEET_OK;
}

static void history_fini(void *state)
{
    history_free(state);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* A text[] literal of the applied tags: {"a","b"} (tags hold no quotes or backslashes). */
static char *array_literal(const char *const *items, size_t n)
{
    size_t len = 3;
    for (size_t i = 0; i < n; i++)
        len += strlen(items[i]) + 3;
    char *s = malloc(len), *p = s;
    if (!s)
        return NULL;
    *p++ = '{';
    for (size_t i = 0; i < n; i++)
        p += snprintf(p, len - (size_t)(p - s), "%s\"%s\"", i ? "," : "", items[i]);
    *p++ = '}';
    *p = '\0';
    return s;
}

static void utc_now(char out[40])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char base[24];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 40, "%.19s.%03dZ", base, (int)(ts.tv_nsec / 1000000L) % 1000);
}

/* Quote one identifier into a malloc'd string. */
static char *ident(PGconn *conn, const char *s, size_t len)
{
    char *q = PQescapeIdentifier(conn, s, len);
    char *out = q ? strdup(q) : NULL;
    PQfreemem(q);
    return out;
}

/* The table's name quoted, schema and table apart when dotted (caller frees). */
static char *quoted_table(PGconn *conn, const char *table)
{
    const char *dot = strchr(table, '.');
    if (!dot)
        return ident(conn, table, strlen(table));
    char *schema = ident(conn, table, (size_t)(dot - table));
    char *name = ident(conn, dot + 1, strlen(dot + 1));
    char *out = NULL;
    if (schema && name) {
        size_t len = strlen(schema) + strlen(name) + 2;
        out = malloc(len);
        if (out)
            snprintf(out, len, "%s.%s", schema, name);
    }
    free(schema);
    free(name);
    return out;
}

static int exec_ok(PGconn *conn, PGresult *res, const char *what, char *err, size_t err_size)
{
    ExecStatusType st = PQresultStatus(res);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok) {
        const char *msg = PQresultErrorMessage(res);
        size_t len = strlen(msg);
        while (len && msg[len - 1] == '\n')
            len--;
        snprintf(err, err_size, "%s: %.*s", what, (int)len, msg);
    }
    PQclear(res);
    (void)conn;
    return ok;
}

static int write_rows(History *h, const PgfleetEvent *ev, char *err, size_t err_size)
{
    PGconn *conn = PQconnectdb(h->dsn);
    if (PQstatus(conn) != CONNECTION_OK) {
        const char *msg = PQerrorMessage(conn);
        size_t len = strlen(msg);
        while (len && msg[len - 1] == '\n')
            len--;
        snprintf(err, err_size, "cannot connect to its dsn: %.*s", (int)len, msg);
        PQfinish(conn);
        return PGFLEET_ERROR;
    }
    char *table = quoted_table(conn, h->table);
    if (!table) {
        snprintf(err, err_size, "bad table name '%s'", h->table);
        PQfinish(conn);
        return PGFLEET_ERROR;
    }
    size_t len = strlen(table) + 512;
    char *create = malloc(len), *insert = malloc(len);
    int ok = create && insert;
    if (ok) {
        snprintf(create, len,
                 "create table if not exists %s (run_id text not null, command text not null, "
                 "target text not null, wave text, status text not null, outcome text not null, "
                 "pending integer not null, applied text[] not null, error text, started_at "
                 "timestamptz not null, duration_ms bigint not null, recorded_at timestamptz "
                 "not null default now())",
                 table);
        snprintf(insert, len,
                 "insert into %s (run_id, command, target, wave, status, outcome, pending, "
                 "applied, error, started_at, duration_ms) values ($1, $2, $3, $4, $5, $6, $7, "
                 "$8, $9, $10, $11)",
                 table);
    }
    free(table);
    ok = ok && exec_ok(conn, PQexec(conn, "begin"), "begin", err, err_size) &&
         exec_ok(conn, PQexec(conn, create), "creating the table", err, err_size);
    for (size_t i = 0; ok && i < h->n; i++) {
        Row *r = &h->rows[i];
        char pending[32], duration[32];
        snprintf(pending, sizeof pending, "%zu", r->pending);
        snprintf(duration, sizeof duration, "%lld", (long long)r->duration_ms);
        const char *params[11] = {ev->run_id, ev->command,   r->target, r->wave,
                                  r->status,  r->outcome,    pending,   r->applied,
                                  r->error,   r->started_at, duration};
        ok = exec_ok(conn, PQexecParams(conn, insert, 11, NULL, params, NULL, NULL, 0),
                     "inserting a row", err, err_size);
    }
    ok = ok && exec_ok(conn, PQexec(conn, "commit"), "commit", err, err_size);
    free(create);
    free(insert);
    PQfinish(conn); /* an open transaction rolls back */
    return ok ? PGFLEET_OK : PGFLEET_ERROR;
}

static int history_event(void *state, const PgfleetEvent *ev, char *err, size_t err_size)
{
    History *h = state;
    switch (ev->kind) {
    case PGFLEET_EVENT_RUN_START:
        rows_clear(h);
        return PGFLEET_OK;
    case PGFLEET_EVENT_TARGET_START:
    case PGFLEET_EVENT_TARGET_END: {
        Row *r = NULL;
        for (size_t i = 0; i < h->n && !r; i++)
            if (strcmp(h->rows[i].target, ev->target) == 0)
                r = &h->rows[i];
        if (!r) {
            if (h->n == h->cap) {
                size_t cap = h->cap ? h->cap * 2 : 16;
                Row *rows = realloc(h->rows, cap * sizeof *rows);
                if (!rows) {
                    snprintf(err, err_size, "out of memory");
                    return PGFLEET_ERROR;
                }
                h->rows = rows;
                h->cap = cap;
            }
            r = &h->rows[h->n++];
            memset(r, 0, sizeof *r);
            r->target = strdup(ev->target);
            r->wave = dup_or_null(ev->wave);
            utc_now(r->started_at);
        }
        if (ev->kind == PGFLEET_EVENT_TARGET_END) {
            r->status = dup_or_null(ev->status);
            r->outcome = dup_or_null(ev->outcome);
            r->error = dup_or_null(ev->error);
            r->applied = array_literal(ev->applied, ev->n_applied);
            r->pending = ev->n_pending;
            r->duration_ms = ev->duration_ms;
        }
        return PGFLEET_OK;
    }
    case PGFLEET_EVENT_RUN_END: {
        /* Only targets that ended (every started one does). */
        size_t kept = 0;
        for (size_t i = 0; i < h->n; i++)
            if (h->rows[i].status)
                h->rows[kept++] = h->rows[i];
        h->n = kept;
        int rc = h->n ? write_rows(h, ev, err, err_size) : PGFLEET_OK;
        rows_clear(h);
        return rc;
    }
    default:
        return PGFLEET_OK;
    }
}

PGFLEET_PLUGIN_EXPORT const PgfleetPlugin pgfleet_plugin = {
    .abi_version = PGFLEET_PLUGIN_ABI_VERSION,
    .name = "history-pg",
    .init = history_init,
    .fini = history_fini,
    .on_event = history_event,
};
