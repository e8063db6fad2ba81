/*
 * Preflight's pure halves (preflight.h). Each pending migration is split as drizzle splits it
 * (its chunks are the "statements" reports number), each chunk is lexed and cut at top-level
 * semicolons, and each statement is matched against the few shapes that matter here. What
 * earlier pending statements do to a table (create, drop, rename, truncate, update, delete,
 * add a column) is remembered, so that a check about the table as it is now is not made when
 * the migrations change it first.
 */
#include "plan/preflight.h"

#include "codebase/sqllex.h"
#include "core/buf.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

typedef SqlStmt Stmt; /* tokens and cursor helpers are the lexer's (codebase/sqllex.h) */

/* ---- what earlier pending statements did ------------------------------------------------- */

typedef enum {
    EV_CHANGED, /* created, dropped, renamed, truncated, emptied: not the table it is now */
    EV_UPDATED, /* rows updated or deleted: NULLs may have been backfilled */
    EV_COLUMN,  /* a column added */
    EV_EXTENSION,
} EventKind;

typedef struct Event {
    EventKind kind;
    char *schema, *name, *column;
} Event;

typedef struct Ctx {
    Preflight *out;
    size_t cap_checks, cap_tables;
    Event *events; /* of statements before the current one */
    size_t n_events, cap_events;
    Event *fresh; /* of the current statement: they count from the next one on */
    size_t n_fresh, cap_fresh;
    const char *migration;
    int statement;
} Ctx;

/* Two references to a table: the same when the names match and, if both are qualified, the
 * schemas too (an unqualified name may be any schema of the search_path: assume it is). */
static bool same_table(const char *s1, const char *n1, const char *s2, const char *n2)
{
    return strcmp(n1, n2) == 0 && (!s1 || !s2 || strcmp(s1, s2) == 0);
}

static void event(Ctx *c, EventKind kind, const char *schema, const char *name, const char *column)
{
    PF_GROW(c->fresh, c->cap_fresh, c->n_fresh + 1);
    c->fresh[c->n_fresh++] = (Event){kind, pf_strdup(schema), pf_strdup(name), pf_strdup(column)};
}

static bool happened(const Ctx *c, EventKind kind, const char *schema, const char *name,
                     const char *column)
{
    for (size_t i = 0; i < c->n_events; i++) {
        const Event *e = &c->events[i];
        if (e->kind == kind && same_table(e->schema, e->name, schema, name) &&
            (!column || (e->column && strcmp(e->column, column) == 0)))
            return true;
    }
    return false;
}

/* The current statement is done: what it did counts for the statements after it. */
static void statement_done(Ctx *c)
{
    for (size_t i = 0; i < c->n_fresh; i++) {
        PF_GROW(c->events, c->cap_events, c->n_events + 1);
        c->events[c->n_events++] = c->fresh[i];
    }
    c->n_fresh = 0;
}

static void events_free(Event *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(e[i].schema);
        free(e[i].name);
        free(e[i].column);
    }
    free(e);
}

/* ---- what the statement asks of the server ----------------------------------------------- */

static void touch(Ctx *c, const char *schema, const char *name)
{
    Preflight *p = c->out;
    for (size_t i = 0; i < p->n_tables; i++) {
        const PreflightTable *t = &p->tables[i];
        if (strcmp(t->name, name) == 0 &&
            (t->schema && schema ? strcmp(t->schema, schema) == 0 : t->schema == schema))
            return;
    }
    PF_GROW(p->tables, c->cap_tables, p->n_tables + 1);
    p->tables[p->n_tables++] =
        (PreflightTable){pf_strdup(schema), pf_strdup(name), c->migration, c->statement};
}

static void check(Ctx *c, PreflightCheckKind kind, const char *schema, const char *name,
                  const char *column)
{
    Preflight *p = c->out;
    PF_GROW(p->checks, c->cap_checks, p->n_checks + 1);
    p->checks[p->n_checks++] = (PreflightCheck){
        kind, c->migration, c->statement, pf_strdup(schema), pf_strdup(name), pf_strdup(column)};
}

/* Touch the table named at *i (advancing past it); changed: the statement replaces or empties it
 * (checks after it are not about the table there now). */
static bool touch_at(Ctx *c, const Stmt *st, size_t *i, bool changed)
{
    char *schema, *name;
    if (!sqlstmt_qname(st, i, &schema, &name))
        return false;
    touch(c, schema, name);
    if (changed)
        event(c, EV_CHANGED, schema, name, NULL);
    free(schema);
    free(name);
    return true;
}

/* Every "REFERENCES table" in tokens [from, to): foreign keys lock the referenced table. */
static void touch_references(Ctx *c, const Stmt *st, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        if (sqlstmt_kw(st, i, "references")) {
            size_t j = i + 1;
            touch_at(c, st, &j, false);
        }
    }
}

/* Index of the next top-level ',' (or the end) from i. */
static size_t action_end(const Stmt *st, size_t i)
{
    int depth = 0;
    for (; i < st->n; i++) {
        if (sqlstmt_op(st, i, '('))
            depth++;
        else if (sqlstmt_op(st, i, ')'))
            depth--;
        else if (depth == 0 && sqlstmt_op(st, i, ','))
            break;
    }
    return i;
}

static bool is_serial(const char *type)
{
    static const char *const serials[] = {"serial",    "serial2",     "serial4", "serial8",
                                          "bigserial", "smallserial", NULL};
    for (const char *const *s = serials; *s; s++)
        if (strcmp(type, *s) == 0)
            return true;
    return false;
}

/* ADD [COLUMN] [IF NOT EXISTS] c type constraints...: tokens [i, end) after ADD. No check
 * when the table is not the one there now (may_check false). */
static void add_column(Ctx *c, const Stmt *st, size_t i, size_t end, const char *schema,
                       const char *table, bool may_check)
{
    static const char *const table_constraints[] = {"constraint", "primary", "unique", "check",
                                                    "foreign",    "exclude", NULL};
    bool explicit_column = sqlstmt_kw(st, i, "column");
    if (explicit_column) {
        i++;
    } else {
        for (const char *const *k = table_constraints; *k; k++)
            if (sqlstmt_kw(st, i, *k))
                return;
    }
    sqlstmt_skip_if_exists(st, &i);
    char *column = i < end ? sqlstmt_ident(st, i) : NULL;
    if (!column)
        return;
    i++;
    char *type = i < end ? sqlstmt_ident(st, i) : NULL;
    bool not_null = false, has_default = type && is_serial(type), generated = false;
    free(type);
    int depth = 0;
    for (; i < end; i++) {
        if (sqlstmt_op(st, i, '('))
            depth++;
        else if (sqlstmt_op(st, i, ')'))
            depth--;
        if (depth != 0)
            continue;
        if ((sqlstmt_kw(st, i, "not") && sqlstmt_kw(st, i + 1, "null")) ||
            (sqlstmt_kw(st, i, "primary") && sqlstmt_kw(st, i + 1, "key")))
            not_null = true;
        else if (sqlstmt_kw(st, i, "default") && !sqlstmt_kw(st, i + 1, "null"))
            has_default = true;
        else if (sqlstmt_kw(st, i, "generated"))
            generated = true;
    }
    if (not_null && !has_default && !generated && may_check)
        check(c, PREFLIGHT_ADD_NOT_NULL, schema, table, column);
    event(c, EV_COLUMN, schema, table, column);
    free(column);
}

/* ALTER [COLUMN] c SET NOT NULL: tokens [i, end) after ALTER. */
static void alter_column(Ctx *c, const Stmt *st, size_t i, size_t end, const char *schema,
                         const char *table)
{
    if (sqlstmt_kw(st, i, "column"))
        i++;
    if (i + 3 >= end || !sqlstmt_kw(st, i + 1, "set") || !sqlstmt_kw(st, i + 2, "not") ||
        !sqlstmt_kw(st, i + 3, "null"))
        return;
    char *column = sqlstmt_ident(st, i);
    if (!column)
        return;
    if (!happened(c, EV_CHANGED, schema, table, NULL) &&
        !happened(c, EV_UPDATED, schema, table, NULL) &&
        !happened(c, EV_COLUMN, schema, table, column))
        check(c, PREFLIGHT_SET_NOT_NULL, schema, table, column);
    free(column);
}

static void alter_table(Ctx *c, const Stmt *st, size_t i)
{
    sqlstmt_skip_if_exists(st, &i);
    if (sqlstmt_kw(st, i, "only"))
        i++;
    char *schema, *table;
    if (!sqlstmt_qname(st, &i, &schema, &table))
        return;
    touch(c, schema, table);
    if (sqlstmt_kw(st, i, "rename") && sqlstmt_kw(st, i + 1, "to")) {
        event(c, EV_CHANGED, schema, table, NULL);
        char *to = sqlstmt_ident(st, i + 2);
        if (to)
            event(c, EV_CHANGED, schema, to, NULL);
        free(to);
    } else if (sqlstmt_kw(st, i, "set") && sqlstmt_kw(st, i + 1, "schema")) {
        event(c, EV_CHANGED, schema, table, NULL);
    } else {
        bool changed = happened(c, EV_CHANGED, schema, table, NULL);
        while (i < st->n) {
            size_t end = action_end(st, i);
            if (sqlstmt_kw(st, i, "add"))
                add_column(c, st, i + 1, end, schema, table, !changed);
            else if (sqlstmt_kw(st, i, "alter"))
                alter_column(c, st, i + 1, end, schema, table);
            touch_references(c, st, i, end);
            i = end + 1;
        }
    }
    free(schema);
    free(table);
}

/* DROP TABLE / TRUNCATE [TABLE] / LOCK [TABLE]: a list of tables from i. */
static void table_list(Ctx *c, const Stmt *st, size_t i, bool changed)
{
    sqlstmt_skip_if_exists(st, &i);
    for (;;) {
        if (sqlstmt_kw(st, i, "only"))
            i++;
        if (!touch_at(c, st, &i, changed) || !sqlstmt_op(st, i, ','))
            return;
        i++;
    }
}

/* The first top-level ON after i, then the table. */
static void on_table(Ctx *c, const Stmt *st, size_t i)
{
    for (; i < st->n && !sqlstmt_kw(st, i, "on"); i++)
        if (sqlstmt_op(st, i, '('))
            return;
    if (!sqlstmt_kw(st, i, "on"))
        return;
    i++;
    if (sqlstmt_kw(st, i, "only"))
        i++;
    touch_at(c, st, &i, false);
}

static void create(Ctx *c, const Stmt *st, size_t i)
{
    if (sqlstmt_kw(st, i, "or") && sqlstmt_kw(st, i + 1, "replace"))
        i += 2;
    if (sqlstmt_kw(st, i, "extension")) {
        i++;
        sqlstmt_skip_if_exists(st, &i);
        char *name = sqlstmt_ident(st, i);
        if (!name)
            return;
        if (!happened(c, EV_EXTENSION, NULL, name, NULL))
            check(c, PREFLIGHT_CREATE_EXTENSION, NULL, name, NULL);
        event(c, EV_EXTENSION, NULL, name, NULL);
        free(name);
        return;
    }
    if (sqlstmt_kw(st, i, "unique"))
        i++;
    if (sqlstmt_kw(st, i, "index") || sqlstmt_kw(st, i, "trigger") || sqlstmt_kw(st, i, "policy") ||
        (sqlstmt_kw(st, i, "constraint") && sqlstmt_kw(st, i + 1, "trigger"))) {
        on_table(c, st, i + 1);
        return;
    }
    while (sqlstmt_kw(st, i, "global") || sqlstmt_kw(st, i, "local") || sqlstmt_kw(st, i, "temp") ||
           sqlstmt_kw(st, i, "temporary") || sqlstmt_kw(st, i, "unlogged"))
        i++;
    if (!sqlstmt_kw(st, i, "table"))
        return;
    i++;
    sqlstmt_skip_if_exists(st, &i);
    char *schema, *name;
    if (!sqlstmt_qname(st, &i, &schema, &name))
        return;
    event(c, EV_CHANGED, schema, name, NULL);
    free(schema);
    free(name);
    if (sqlstmt_kw(st, i, "partition") && sqlstmt_kw(st, i + 1, "of")) {
        i += 2;
        touch_at(c, st, &i, false);
    }
    touch_references(c, st, i, st->n);
}

static void statement(Ctx *c, const Stmt *st)
{
    size_t i = 0;
    if (sqlstmt_kw(st, 0, "alter") && sqlstmt_kw(st, 1, "table")) {
        alter_table(c, st, 2);
    } else if (sqlstmt_kw(st, 0, "create")) {
        create(c, st, 1);
    } else if (sqlstmt_kw(st, 0, "drop") && sqlstmt_kw(st, 1, "table")) {
        table_list(c, st, 2, true);
    } else if (sqlstmt_kw(st, 0, "truncate")) {
        table_list(c, st, sqlstmt_kw(st, 1, "table") ? 2 : 1, true);
    } else if (sqlstmt_kw(st, 0, "lock")) {
        table_list(c, st, sqlstmt_kw(st, 1, "table") ? 2 : 1, false);
    } else if (sqlstmt_kw(st, 0, "insert") && sqlstmt_kw(st, 1, "into")) {
        i = 2;
        touch_at(c, st, &i, false);
    } else if (sqlstmt_kw(st, 0, "update")) {
        i = sqlstmt_kw(st, 1, "only") ? 2 : 1;
        char *schema, *name;
        if (sqlstmt_qname(st, &i, &schema, &name)) {
            touch(c, schema, name);
            event(c, EV_UPDATED, schema, name, NULL);
            free(schema);
            free(name);
        }
    } else if (sqlstmt_kw(st, 0, "delete") && sqlstmt_kw(st, 1, "from")) {
        i = sqlstmt_kw(st, 2, "only") ? 3 : 2;
        char *schema, *name;
        if (sqlstmt_qname(st, &i, &schema, &name)) {
            bool where = false;
            for (size_t j = i; j < st->n; j++)
                where = where || sqlstmt_kw(st, j, "where");
            touch(c, schema, name);
            event(c, where ? EV_UPDATED : EV_CHANGED, schema, name, NULL);
            free(schema);
            free(name);
        }
    }
    statement_done(c);
}

static void on_statement(const SqlStmt *st, void *c)
{
    statement(c, st);
}

static void chunk(Ctx *c, const char *text)
{
    sqlstmt_each(text, strlen(text), on_statement, c);
}

void preflight_analyze(const CbMigration *const *pending, size_t n, Preflight *out)
{
    memset(out, 0, sizeof *out);
    Ctx c = {.out = out};
    for (size_t m = 0; m < n; m++) {
        c.migration = pending[m]->tag;
        for (size_t k = 0; k < pending[m]->n_chunks; k++) {
            c.statement = (int)k + 1;
            chunk(&c, pending[m]->chunks[k]);
        }
    }
    events_free(c.events, c.n_events);
    events_free(c.fresh, c.n_fresh);
}

void preflight_clear(Preflight *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_checks; i++) {
        free(p->checks[i].schema);
        free(p->checks[i].name);
        free(p->checks[i].column);
    }
    free(p->checks);
    for (size_t i = 0; i < p->n_tables; i++) {
        free(p->tables[i].schema);
        free(p->tables[i].name);
    }
    free(p->tables);
    memset(p, 0, sizeof *p);
}

static void session_clear(PreflightSession *s)
{
    free(s->user);
    free(s->application_name);
    free(s->client_addr);
    free(s->state);
    free(s->mode);
}

void preflight_facts_clear(PreflightFacts *f)
{
    if (!f)
        return;
    free(f->user);
    free(f->database);
    free(f->facts);
    for (size_t i = 0; i < f->n_long_xacts; i++)
        session_clear(&f->long_xacts[i]);
    free(f->long_xacts);
    for (size_t i = 0; i < f->n_locks; i++)
        session_clear(&f->locks[i]);
    free(f->locks);
    memset(f, 0, sizeof *f);
}

/* ---- warnings --------------------------------------------------------------------------- */

#define MAX_SESSIONS_LISTED 10

static PlanWarning *warning(Plan *plan, const char *kind, const char *migration, int statement)
{
    plan->warnings = pf_realloc(plan->warnings, (plan->n_warnings + 1) * sizeof *plan->warnings);
    PlanWarning *w = &plan->warnings[plan->n_warnings++];
    memset(w, 0, sizeof *w);
    w->kind = kind;
    w->migration = pf_strdup(migration);
    w->statement = statement;
    return w;
}

static char *display(const char *schema, const char *name)
{
    return schema ? pf_asprintf("%s.%s", schema, name) : pf_strdup(name);
}

static void duration(PfBuf *b, int64_t ms)
{
    if (ms % 1000 == 0)
        pf_buf_printf(b, "%llds", (long long)(ms / 1000));
    else
        pf_buf_printf(b, "%lldms", (long long)ms);
}

/* "psql on 10.0.0.7, user app, idle in transaction" (what is known of it). */
static void who(PfBuf *b, const PreflightSession *s)
{
    const char *sep = "";
    if (s->pid == 0) {
        pf_buf_puts(b, "a prepared transaction");
        return;
    }
    if (s->application_name && *s->application_name) {
        pf_buf_puts(b, s->application_name);
        sep = ", ";
    }
    if (s->client_addr && *s->client_addr) {
        pf_buf_printf(b, "%s%s", *sep ? " on " : "on ", s->client_addr);
        sep = ", ";
    }
    if (s->user && *s->user) {
        pf_buf_printf(b, "%suser %s", sep, s->user);
        sep = ", ";
    }
    if (s->state && *s->state)
        pf_buf_printf(b, "%s%s", sep, s->state);
}

static void add_pid(PlanWarning *w, int pid)
{
    if (pid <= 0)
        return;
    for (size_t i = 0; i < w->n_pids; i++)
        if (w->pids[i] == pid)
            return;
    w->pids = pf_realloc(w->pids, (w->n_pids + 1) * sizeof *w->pids);
    w->pids[w->n_pids++] = pid;
}

static void check_warning(const PreflightCheck *k, const PreflightFact *f,
                          const PreflightFacts *facts, Plan *plan)
{
    char *table = k->kind == PREFLIGHT_CREATE_EXTENSION ? NULL : display(k->schema, k->name);
    const char *user = facts->user ? facts->user : "the connecting role";
    PlanWarning *w = NULL;
    switch (k->kind) {
    case PREFLIGHT_ADD_NOT_NULL:
        if (!f->exists || f->column_exists || !f->readable || !f->hit)
            break;
        w = warning(plan, "add_not_null", k->migration, k->statement);
        w->message = pf_asprintf("migration %s statement %d adds NOT NULL column %s to %s, which "
                                 "has rows: it will fail",
                                 k->migration, k->statement, k->column, table);
        w->hint = pf_strdup("add a default, or add the column nullable, backfill it, then set "
                            "it NOT NULL");
        break;
    case PREFLIGHT_SET_NOT_NULL:
        if (!f->exists || !f->column_exists || f->not_null || !f->readable || !f->hit)
            break;
        w = warning(plan, "set_not_null", k->migration, k->statement);
        w->message = pf_asprintf("migration %s statement %d sets column %s of %s NOT NULL, but "
                                 "it holds NULLs: it will fail",
                                 k->migration, k->statement, k->column, table);
        w->hint = pf_asprintf("backfill first (UPDATE %s SET %s = ... WHERE %s IS NULL) in an "
                              "earlier statement, or give the column a default",
                              table, k->column, k->column);
        break;
    case PREFLIGHT_CREATE_EXTENSION:
        if (f->installed)
            break;
        if (!f->exists) {
            w = warning(plan, "create_extension", k->migration, k->statement);
            w->message = pf_asprintf("migration %s statement %d creates extension %s, which is "
                                     "not available on this server: it will fail",
                                     k->migration, k->statement, k->name);
            w->hint = pf_asprintf("install the package that provides %s on the server "
                                  "(pg_available_extensions lists what is there)",
                                  k->name);
            break;
        }
        if (f->superuser || !f->needs_superuser || (f->trusted && f->can_create))
            break;
        w = warning(plan, "create_extension", k->migration, k->statement);
        if (f->trusted)
            w->message = pf_asprintf("migration %s statement %d creates extension %s, which %s "
                                     "cannot: %s is trusted but %s has no CREATE privilege on "
                                     "database %s; it will fail",
                                     k->migration, k->statement, k->name, user, k->name, user,
                                     facts->database ? facts->database : "(unknown)");
        else
            w->message = pf_asprintf("migration %s statement %d creates extension %s, which %s "
                                     "cannot: %s is not trusted and %s is not a superuser; it "
                                     "will fail",
                                     k->migration, k->statement, k->name, user, k->name, user);
        w->hint = f->trusted ? pf_asprintf("GRANT CREATE ON DATABASE %s TO %s, or create the "
                                           "extension beforehand as a superuser",
                                           facts->database ? facts->database : "...", user)
                             : pf_asprintf("have a superuser run CREATE EXTENSION %s on this "
                                           "database before the migration",
                                           k->name);
        break;
    }
    free(table);
}

static void long_xacts_warning(const PreflightFacts *f, int64_t long_xact_ms, Plan *plan)
{
    if (f->n_long_xacts == 0)
        return;
    PlanWarning *w = warning(plan, "long_transaction", NULL, 0);
    PfBuf b = PF_BUF_INIT;
    pf_buf_printf(&b, "%zu transaction%s open for more than ", f->n_long_xacts,
                  f->n_long_xacts == 1 ? "" : "s");
    duration(&b, long_xact_ms);
    pf_buf_printf(&b, " in database %s: ", f->database ? f->database : "(unknown)");
    for (size_t i = 0; i < f->n_long_xacts; i++) {
        const PreflightSession *s = &f->long_xacts[i];
        add_pid(w, s->pid);
        if (i == MAX_SESSIONS_LISTED) {
            pf_buf_printf(&b, ", and %zu more", f->n_long_xacts - i);
            continue;
        }
        if (i > MAX_SESSIONS_LISTED)
            continue;
        PfBuf about = PF_BUF_INIT;
        who(&about, s);
        pf_buf_printf(&b, "%spid %d%s%s%s for %llds", i ? ", " : "", s->pid, about.len ? " (" : "",
                      about.len ? about.data : "", about.len ? ")" : "", (long long)s->xact_age_s);
        pf_buf_free(&about);
    }
    w->message = pf_buf_take(&b);
    w->hint = pf_strdup("the migration's locks will queue behind them, and every query on the "
                        "tables it alters will queue behind the migration: let them finish, or "
                        "end them (pg_terminate_backend)");
}

static void lock_warnings(const Preflight *p, const PreflightFacts *f, Plan *plan)
{
    for (size_t i = 0; i < f->n_locks;) {
        size_t t = f->locks[i].table, end = i;
        while (end < f->n_locks && f->locks[end].table == t)
            end++;
        if (t >= p->n_tables) {
            i = end;
            continue;
        }
        const PreflightTable *tab = &p->tables[t];
        char *name = display(tab->schema, tab->name);
        PlanWarning *w = warning(plan, "lock", tab->migration, tab->statement);
        PfBuf b = PF_BUF_INIT;
        pf_buf_printf(&b, "table %s, which migration %s statement %d touches, is locked by ", name,
                      tab->migration, tab->statement);
        for (size_t j = i; j < end; j++) {
            const PreflightSession *s = &f->locks[j];
            add_pid(w, s->pid);
            if (j - i == MAX_SESSIONS_LISTED) {
                pf_buf_printf(&b, ", and %zu more", end - j);
                continue;
            }
            if (j - i > MAX_SESSIONS_LISTED)
                continue;
            pf_buf_printf(&b, "%spid %d %s %s (", j > i ? ", " : "", s->pid,
                          s->granted ? "holding" : "waiting for", s->mode ? s->mode : "a lock");
            who(&b, s);
            if (s->xact_age_s >= 0)
                pf_buf_printf(&b, "%stransaction open %llds", b.data[b.len - 1] == '(' ? "" : ", ",
                              (long long)s->xact_age_s);
            pf_buf_putc(&b, ')');
        }
        w->message = pf_buf_take(&b);
        w->hint = pf_asprintf("the migration will wait for them (up to lock_timeout) while "
                              "every other query on %s waits behind it: let them finish, or "
                              "end them (pg_terminate_backend)",
                              name);
        free(name);
        i = end;
    }
}

void preflight_warnings(const Preflight *p, const PreflightFacts *f, int64_t long_xact_ms,
                        Plan *plan)
{
    for (size_t i = 0; f->facts && i < p->n_checks; i++)
        check_warning(&p->checks[i], &f->facts[i], f, plan);
    long_xacts_warning(f, long_xact_ms, plan);
    lock_warnings(p, f, plan);
}

void preflight_failed(Plan *plan, const char *why)
{
    PlanWarning *w = warning(plan, "preflight", NULL, 0);
    w->message = pf_asprintf("preflight checks could not run: %s", why);
    w->hint = pf_strdup("the pending migrations were not checked against the server; run plan "
                        "again, or check the role's privileges");
}
