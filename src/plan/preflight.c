/*
 * Preflight's pure halves (preflight.h). preflight_prepare reads each migration once, chunk by
 * chunk (the chunks are the "statements" reports number), from the statement models the
 * codebase reader made (src/sql/sql.h), into steps (preflight_internal.h): tables touched,
 * changed, backfilled, columns added, and the checks the statements call for. A chunk the
 * parser refuses is read with the token rules instead (preflight_tokens.c), and says so.
 * preflight_analyze replays the steps of a target's pending migrations in run order with the
 * target's schema names, remembering what earlier statements did to a table, so that a check
 * about the table as it is now is left out when the migrations change it first.
 */
#include "plan/preflight_internal.h"

#include "core/buf.h"
#include "core/mem.h"
#include "core/strset.h"
#include "sql/sql.h"

#include <stdlib.h>
#include <string.h>

void preflight_step(StepList *l, StepKind kind, int statement, const char *schema, const char *name,
                    const char *column)
{
    PF_GROW(l->steps, l->cap, l->n + 1);
    l->steps[l->n++] =
        (Step){kind, statement, pf_strdup(schema), pf_strdup(name), pf_strdup(column)};
}

static void steps_free(StepList *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->steps[i].schema);
        free(l->steps[i].name);
        free(l->steps[i].column);
    }
    free(l->steps);
    memset(l, 0, sizeof *l);
}

/* Two references to a table: the same when the names match and, if both are qualified, the
 * schemas too (an unqualified name may be any schema of the search_path: assume it is). */
static bool same_name(const char *s1, const char *n1, const char *s2, const char *n2)
{
    return n1 && n2 && strcmp(n1, n2) == 0 && (!s1 || !s2 || strcmp(s1, s2) == 0);
}

/* "schema.name", or the name alone when unqualified. */
static char *display(const char *schema, const char *name)
{
    return schema ? pf_asprintf("%s.%s", schema, name) : pf_strdup(name);
}

/* ---- reading the models: migrations -> steps (once per run) ------------------------------ */

/* A routine with a body read as statements (BEGIN ATOMIC, LANGUAGE sql): what running it
 * does, for a CALL of it by a later statement. */
typedef struct Routine {
    char *schema, *name;
    StepList run;
} Routine;

struct PreflightPrep {
    size_t n;
    StepList *steps; /* per migration */
    Routine *routines;
    size_t n_routines, cap_routines;
};

typedef struct Reader {
    PreflightPrep *prep;
    StepList *out;
    int statement;
    bool in_block; /* the chunk runs inside a transaction block (see preflight_prepare) */
} Reader;

static void add(Reader *r, StepKind kind, SqlName name, const char *column)
{
    preflight_step(r->out, kind, r->statement, name.schema, name.name, column);
}

static bool is_table(SqlObjKind k)
{
    return k == SQL_OBJ_TABLE || k == SQL_OBJ_FOREIGN_TABLE;
}

/* ADD COLUMN: fails on a table with rows when NOT NULL and nothing fills it. */
static bool needs_value(const SqlColumn *c)
{
    return c->not_null &&
           (c->default_kind == SQL_DEFAULT_NONE || c->default_kind == SQL_DEFAULT_NULL) &&
           !c->serial && !c->identity && !c->generated;
}

static const Routine *routine_find(const PreflightPrep *p, SqlName name)
{
    for (size_t i = p->n_routines; i-- > 0;)
        if (same_name(p->routines[i].schema, p->routines[i].name, name.schema, name.name))
            return &p->routines[i];
    return NULL;
}

static void statement(Reader *r, const SqlStatement *st, bool runs);

/* CREATE FUNCTION / PROCEDURE with a body read as statements: defining it names the body's
 * tables (the server analyzes the body, locking them) but runs nothing; what running it
 * would do is kept for a CALL. */
static void routine(Reader *r, const SqlStatement *st)
{
    const SqlRoutine *rt = st->routine;
    if (!rt || rt->kind == SQL_ROUTINE_DO || !rt->body_parsed || !rt->name.name)
        return;
    PreflightPrep *p = r->prep;
    Routine def = {pf_strdup(rt->name.schema), pf_strdup(rt->name.name), {0}};
    Reader body = {p, &def.run, r->statement, false};
    for (size_t i = 0; i < rt->n_body; i++)
        statement(&body, &rt->body[i], true);
    for (size_t i = 0; i < def.run.n; i++)
        if (def.run.steps[i].kind == STEP_TOUCH)
            preflight_step(r->out, STEP_TOUCH, r->statement, def.run.steps[i].schema,
                           def.run.steps[i].name, NULL);
    PF_GROW(p->routines, p->cap_routines, p->n_routines + 1);
    p->routines[p->n_routines++] = def;
}

/* CALL of a procedure defined earlier in the folder with a body read as statements: its
 * statements run here. */
static void call(Reader *r, const SqlStatement *st)
{
    const Routine *rt = routine_find(r->prep, st->call);
    for (size_t i = 0; rt && i < rt->run.n; i++) {
        const Step *s = &rt->run.steps[i];
        preflight_step(r->out, s->kind, r->statement, s->schema, s->name, s->column);
    }
}

static void alter_table(Reader *r, const SqlStatement *st)
{
    if (st->n_objects == 0 || !is_table(st->objects[0].kind) || !st->relation.name)
        return;
    add(r, STEP_TOUCH, st->relation, NULL);
    for (size_t i = 0; i < st->n_alters; i++) {
        const SqlAlter *a = &st->alters[i];
        if (a->kind == SQL_ALTER_ADD_COLUMN && a->def) {
            if (needs_value(a->def))
                add(r, STEP_ADD_NOT_NULL, st->relation, a->def->name);
            add(r, STEP_COLUMN, st->relation, a->def->name);
        } else if (a->kind == SQL_ALTER_SET_NOT_NULL && a->column) {
            add(r, STEP_SET_NOT_NULL, st->relation, a->column);
        }
    }
}

/* One statement. runs: it runs now (false: the body of a routine being defined, which only
 * names its tables). */
static void statement(Reader *r, const SqlStatement *st, bool runs)
{
    switch (st->kind) {
    case SQL_KIND_CREATE_TABLE:
        if (st->relation.name)
            add(r, STEP_CHANGED, st->relation, NULL);
        break;
    case SQL_KIND_CREATE_EXTENSION:
        if (st->n_objects && st->objects[0].name.name)
            add(r, STEP_EXTENSION, (SqlName){NULL, st->objects[0].name.name}, NULL);
        break;
    case SQL_KIND_ALTER_TABLE:
        alter_table(r, st);
        break;
    case SQL_KIND_RENAME:
    case SQL_KIND_ALTER_OTHER:
        for (size_t i = 0; i < st->n_objects; i++) {
            const SqlObject *o = &st->objects[i];
            if (o->action == SQL_ACT_RENAME && is_table(o->kind) && o->name.name) {
                add(r, STEP_TOUCH, o->name, NULL);
                add(r, STEP_CHANGED, o->name, NULL);
                add(r, STEP_CHANGED, (SqlName){o->name.schema, o->new_name}, NULL);
            } else if (o->action == SQL_ACT_RENAME && st->relation.name) {
                add(r, STEP_TOUCH, st->relation, NULL); /* a column, constraint... of it */
            } else if (o->action == SQL_ACT_SET_SCHEMA && is_table(o->kind) && o->name.name) {
                add(r, STEP_TOUCH, o->name, NULL);
                add(r, STEP_CHANGED, o->name, NULL);
            }
        }
        break;
    case SQL_KIND_DROP:
    case SQL_KIND_TRUNCATE:
    case SQL_KIND_LOCK:
        for (size_t i = 0; i < st->n_objects; i++) {
            const SqlObject *o = &st->objects[i];
            if (!is_table(o->kind) || !o->name.name ||
                (o->action != SQL_ACT_DROP && o->action != SQL_ACT_TRUNCATE &&
                 o->action != SQL_ACT_LOCK))
                continue;
            add(r, STEP_TOUCH, o->name, NULL);
            if (o->action != SQL_ACT_LOCK)
                add(r, STEP_CHANGED, o->name, NULL);
        }
        break;
    case SQL_KIND_ALTER_TYPE:
        for (size_t i = 0; runs && r->in_block && i < st->n_enum_values; i++) {
            const SqlEnumValue *v = &st->enum_values[i];
            if (!v->old_value && v->type.name && v->value)
                add(r, STEP_ADD_VALUE, v->type, v->value);
        }
        break;
    case SQL_KIND_CREATE_FUNCTION:
        routine(r, st);
        break;
    case SQL_KIND_CALL:
        if (runs)
            call(r, st);
        break;
    default:
        break;
    }
    /* Tables named without being changed: an index's, trigger's or policy's table, a foreign
     * key's, PARTITION OF's, an attached partition. */
    for (size_t i = 0; i < st->n_objects; i++) {
        const SqlObject *o = &st->objects[i];
        if (o->action == SQL_ACT_REFERENCE && is_table(o->kind) && o->name.name)
            add(r, STEP_TOUCH, o->name, NULL);
    }
    /* Rows written, by the statement or a WITH clause of it. */
    for (size_t i = 0; i < st->n_dml; i++) {
        const SqlDml *d = &st->dml[i];
        if (!d->table.name)
            continue;
        add(r, STEP_TOUCH, d->table, NULL);
        if (d->kind == SQL_DML_INSERT)
            continue;
        if (d->kind == SQL_DML_DELETE && !d->has_where)
            add(r, STEP_CHANGED, d->table, NULL);
        else
            add(r, STEP_UPDATED, d->table, NULL);
    }
    add(r, STEP_DONE, (SqlName){0}, NULL);
}

/* Where a chunk starts in its file: the lines before it, and the characters before it on
 * its first line (drizzle's marker included). */
typedef struct Origin {
    size_t lines, columns;
} Origin;

#define BREAKPOINT_CHARS 24 /* "--> statement-breakpoint" */

/* Move past text (a chunk) and the marker after it. */
static void origin_advance(Origin *o, const char *text)
{
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c == '\n') {
            o->lines++;
            o->columns = 0;
        } else if ((*c & 0xC0) != 0x80) {
            o->columns++;
        }
    }
    o->columns += BREAKPOINT_CHARS;
}

static void chunk(Reader *r, const SqlChunk *ck, const char *text, Origin at)
{
    if (ck && ck->parsed) {
        for (size_t i = 0; i < ck->n; i++)
            statement(r, &ck->stmts[i], true);
        return;
    }
    /* The parser refused some of it: the whole chunk by the token rules (sql.h: a chunk that
     * is not parsed as a whole may be cut wrongly). */
    char *why = NULL;
    if (ck && ck->error) {
        const SqlPos *pos = &ck->error->pos;
        why = pf_asprintf("%s, line %zu, column %zu of the file", ck->error->message,
                          at.lines + pos->line,
                          pos->line == 1 ? at.columns + pos->column : pos->column);
    }
    preflight_step(r->out, STEP_UNPARSED, r->statement, NULL, why ? why : "not parsed", NULL);
    free(why);
    preflight_tokens(r->out, r->statement, text, strlen(text));
}

PreflightPrep *preflight_prepare(const CbMigration *migrations, size_t n)
{
    PreflightPrep *p = pf_calloc(1, sizeof *p);
    p->n = n;
    p->steps = pf_calloc(n ? n : 1, sizeof *p->steps);
    for (size_t m = 0; m < n; m++) {
        const CbMigration *mig = &migrations[m];
        Reader r = {p, &p->steps[m], 0, true};
        Origin at = {0, 0};
        for (size_t k = 0; k < mig->n_chunks; k++) {
            r.statement = (int)k + 1;
            SqlChunk *own = mig->parsed ? NULL : sql_parse(mig->chunks[k], strlen(mig->chunks[k]));
            const SqlChunk *ck = mig->parsed ? mig->parsed[k] : own;
            /* Up to the chunk that ends drizzle's transaction, a chunk runs inside it; after
             * it, a chunk runs on its own, in an implicit transaction block only when it
             * holds several statements. */
            r.in_block = !mig->escape || k + 1 <= mig->escape || !ck->parsed || ck->n > 1;
            chunk(&r, ck, mig->chunks[k], at);
            sql_chunk_free(own);
            origin_advance(&at, mig->chunks[k]);
        }
    }
    return p;
}

void preflight_prep_free(PreflightPrep *p)
{
    if (!p)
        return;
    for (size_t m = 0; m < p->n; m++)
        steps_free(&p->steps[m]);
    free(p->steps);
    for (size_t i = 0; i < p->n_routines; i++) {
        free(p->routines[i].schema);
        free(p->routines[i].name);
        steps_free(&p->routines[i].run);
    }
    free(p->routines);
    free(p);
}

/* ---- replaying them for a target --------------------------------------------------------- */

#define NO_STEP ((size_t)-1)

/* Indexes of an array, chained by name: the newest index of each name, and each index's
 * previous one of the same name (NO_STEP: none). */
typedef struct NameChains {
    PfStrSet newest;
    size_t *prev;
    size_t cap;
} NameChains;

/* Index i (the next one, in order) has name. */
static void chains_add(NameChains *ch, const char *name, size_t i)
{
    PF_GROW(ch->prev, ch->cap, i + 1);
    ch->prev[i] = NO_STEP;
    size_t newest;
    if (!pf_strset_put(&ch->newest, name, i, &newest))
        ch->prev[i] = newest;
}

/* The newest index of name, or NO_STEP; the ones before it follow ch->prev. */
static size_t chains_first(const NameChains *ch, const char *name)
{
    size_t i;
    return pf_strset_get(&ch->newest, name, &i) ? i : NO_STEP;
}

static void chains_free(NameChains *ch)
{
    pf_strset_free(&ch->newest);
    free(ch->prev);
}

typedef struct Replay {
    Preflight *out;
    size_t cap_checks, cap_tables, cap_unparsed;
    const PreflightRename *renames;
    size_t n_renames;
    const Step **done; /* steps of statements before the current one */
    size_t n_done, cap_done;
    /* By name, so that a check looks only at the steps of its table, and touch only at the
     * tables of its name. */
    NameChains done_by_name;   /* indexes into done */
    NameChains tables_by_name; /* indexes into out->tables */
    size_t fresh;              /* steps of the current statement start at done[fresh] */
    const char *migration;
    size_t cap_add_values;
    bool outside; /* an earlier migration ended the one transaction they all run in */
} Replay;

static const char *mapped(const Replay *c, const char *schema)
{
    for (size_t i = 0; schema && i < c->n_renames; i++)
        if (strcmp(c->renames[i].from, schema) == 0)
            return c->renames[i].to;
    return schema;
}

/* Whether a statement before the current one did kind to s's table (and column). */
static bool happened(const Replay *c, StepKind kind, const Step *s, bool column)
{
    if (!s->name)
        return false;
    for (size_t i = chains_first(&c->done_by_name, s->name); i != NO_STEP;
         i = c->done_by_name.prev[i]) {
        const Step *e = c->done[i];
        if (i < c->fresh && e->kind == kind && same_name(e->schema, e->name, s->schema, s->name) &&
            (!column || (e->column && s->column && strcmp(e->column, s->column) == 0)))
            return true;
    }
    return false;
}

static void done_add(Replay *c, const Step *s)
{
    PF_GROW(c->done, c->cap_done, c->n_done + 1);
    size_t i = c->n_done++;
    c->done[i] = s;
    if (s->name)
        chains_add(&c->done_by_name, s->name, i);
}

static void touch(Replay *c, const Step *s)
{
    Preflight *p = c->out;
    const char *schema = mapped(c, s->schema);
    for (size_t k = chains_first(&c->tables_by_name, s->name); k != NO_STEP;
         k = c->tables_by_name.prev[k]) {
        const PreflightTable *t = &p->tables[k];
        if (t->schema && schema ? strcmp(t->schema, schema) == 0 : t->schema == schema)
            return;
    }
    PF_GROW(p->tables, c->cap_tables, p->n_tables + 1);
    size_t n = p->n_tables++;
    p->tables[n] =
        (PreflightTable){pf_strdup(schema), pf_strdup(s->name), c->migration, s->statement};
    chains_add(&c->tables_by_name, p->tables[n].name, n);
}

static void check(Replay *c, PreflightCheckKind kind, const Step *s)
{
    Preflight *p = c->out;
    PF_GROW(p->checks, c->cap_checks, p->n_checks + 1);
    p->checks[p->n_checks++] = (PreflightCheck){
        kind,
        c->migration,
        s->statement,
        pf_strdup(kind == PREFLIGHT_CREATE_EXTENSION ? NULL : mapped(c, s->schema)),
        pf_strdup(s->name),
        pf_strdup(s->column)};
}

static void replay(Replay *c, const Step *s)
{
    Preflight *p = c->out;
    switch (s->kind) {
    case STEP_TOUCH:
        touch(c, s);
        break;
    case STEP_ADD_NOT_NULL:
        if (!happened(c, STEP_CHANGED, s, false))
            check(c, PREFLIGHT_ADD_NOT_NULL, s);
        break;
    case STEP_SET_NOT_NULL:
        if (!happened(c, STEP_CHANGED, s, false) && !happened(c, STEP_UPDATED, s, false) &&
            !happened(c, STEP_COLUMN, s, true))
            check(c, PREFLIGHT_SET_NOT_NULL, s);
        break;
    case STEP_EXTENSION:
        if (!happened(c, STEP_EXTENSION, s, false))
            check(c, PREFLIGHT_CREATE_EXTENSION, s);
        break;
    case STEP_ADD_VALUE:
        if (!c->outside) {
            const char *schema = mapped(c, s->schema);
            PF_GROW(p->add_values, c->cap_add_values, p->n_add_values + 1);
            p->add_values[p->n_add_values++] = (PreflightAddValue){
                c->migration, s->statement, display(schema, s->name), pf_strdup(s->column)};
        }
        return;
    case STEP_UNPARSED:
        PF_GROW(p->unparsed, c->cap_unparsed, p->n_unparsed + 1);
        p->unparsed[p->n_unparsed++] =
            (PreflightUnparsed){c->migration, s->statement, pf_strdup(s->name)};
        return;
    case STEP_DONE:
        c->fresh = c->n_done;
        return;
    default:
        break;
    }
    if (s->kind != STEP_TOUCH)
        done_add(c, s);
}

void preflight_analyze(const PreflightPrep *prep, const CbMigration *migrations,
                       const size_t *pending, size_t n, bool one_transaction,
                       const PreflightRename *renames, size_t n_renames, Preflight *out)
{
    memset(out, 0, sizeof *out);
    Replay c = {.out = out, .renames = renames, .n_renames = n_renames};
    for (size_t i = 0; i < n; i++) {
        if (pending[i] >= prep->n)
            continue;
        c.migration = migrations[pending[i]].tag;
        const StepList *l = &prep->steps[pending[i]];
        for (size_t k = 0; k < l->n; k++)
            replay(&c, &l->steps[k]);
        c.fresh = c.n_done;
        if (one_transaction && migrations[pending[i]].escape)
            c.outside = true;
    }
    free(c.done);
    chains_free(&c.done_by_name);
    chains_free(&c.tables_by_name);
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
    for (size_t i = 0; i < p->n_unparsed; i++)
        free(p->unparsed[i].why);
    free(p->unparsed);
    for (size_t i = 0; i < p->n_add_values; i++) {
        free(p->add_values[i].type);
        free(p->add_values[i].value);
    }
    free(p->add_values);
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

void preflight_notes(const Preflight *p, int server_major, Plan *plan)
{
    for (size_t i = 0; server_major > 0 && server_major < 12 && i < p->n_add_values; i++) {
        const PreflightAddValue *v = &p->add_values[i];
        PlanWarning *w = warning(plan, "add_value_in_transaction", v->migration, v->statement);
        w->message = pf_asprintf("migration %s statement %d adds value '%s' to enum %s inside a "
                                 "transaction block, which PostgreSQL %d refuses (12 and later "
                                 "allow it): it will fail",
                                 v->migration, v->statement, v->value, v->type, server_major);
        w->hint = pf_strdup("put COMMIT; in a chunk of its own before it, so that it runs "
                            "outside drizzle's transaction (see lint's escapes-transaction), "
                            "or upgrade the server to PostgreSQL 12 or later");
    }
    for (size_t i = 0; i < p->n_unparsed; i++) {
        const PreflightUnparsed *u = &p->unparsed[i];
        PlanWarning *w = warning(plan, "unparsed", u->migration, u->statement);
        w->message = pf_asprintf("migration %s statement %d is not SQL that PostgreSQL 15's "
                                 "parser reads (%s): preflight read it with token rules only",
                                 u->migration, u->statement, u->why);
        w->hint = pf_strdup("psql meta-commands and syntax newer than PostgreSQL 15 are not "
                            "understood; check this statement against the server by hand");
    }
}

void preflight_failed(Plan *plan, const char *why)
{
    PlanWarning *w = warning(plan, "preflight", NULL, 0);
    w->message = pf_asprintf("preflight checks could not run: %s", why);
    w->hint = pf_strdup("the pending migrations were not checked against the server; run plan "
                        "again, or check the role's privileges");
}
