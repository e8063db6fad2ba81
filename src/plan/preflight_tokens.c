/*
 * Preflight's fallback for a chunk that PostgreSQL's parser refuses (newer syntax, psql
 * meta-commands): the chunk is lexed (codebase/sqllex.h; comments, strings, quoted
 * identifiers and dollar-quoted bodies are never read as SQL), cut at top-level semicolons,
 * and each statement is matched against the few shapes that matter to preflight. A statement
 * of another shape is simply not looked at; the plan says the chunk was read this way.
 */
#include "plan/preflight_internal.h"

#include "codebase/sqllex.h"

#include <stdlib.h>
#include <string.h>

typedef SqlStmt Stmt;

typedef struct Tok {
    StepList *steps;
    int statement;
} Tok;

static void step(Tok *c, StepKind kind, const char *schema, const char *name, const char *column)
{
    preflight_step(c->steps, kind, c->statement, schema, name, column);
}

/* Touch the table named at *i (advancing past it); changed: the statement replaces or empties it
 * (checks after it are not about the table there now). */
static bool touch_at(Tok *c, const Stmt *st, size_t *i, bool changed)
{
    char *schema, *name;
    if (!sqlstmt_qname(st, i, &schema, &name))
        return false;
    step(c, STEP_TOUCH, schema, name, NULL);
    if (changed)
        step(c, STEP_CHANGED, schema, name, NULL);
    free(schema);
    free(name);
    return true;
}

/* Every "REFERENCES table" in tokens [from, to): foreign keys lock the referenced table. */
static void touch_references(Tok *c, const Stmt *st, size_t from, size_t to)
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

/* ADD [COLUMN] [IF NOT EXISTS] c type constraints...: tokens [i, end) after ADD. */
static void add_column(Tok *c, const Stmt *st, size_t i, size_t end, const char *schema,
                       const char *table)
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
    if (not_null && !has_default && !generated)
        step(c, STEP_ADD_NOT_NULL, schema, table, column);
    step(c, STEP_COLUMN, schema, table, column);
    free(column);
}

/* ALTER [COLUMN] c SET NOT NULL: tokens [i, end) after ALTER. */
static void alter_column(Tok *c, const Stmt *st, size_t i, size_t end, const char *schema,
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
    step(c, STEP_SET_NOT_NULL, schema, table, column);
    free(column);
}

static void alter_table(Tok *c, const Stmt *st, size_t i)
{
    sqlstmt_skip_if_exists(st, &i);
    if (sqlstmt_kw(st, i, "only"))
        i++;
    char *schema, *table;
    if (!sqlstmt_qname(st, &i, &schema, &table))
        return;
    step(c, STEP_TOUCH, schema, table, NULL);
    if (sqlstmt_kw(st, i, "rename") && sqlstmt_kw(st, i + 1, "to")) {
        step(c, STEP_CHANGED, schema, table, NULL);
        char *to = sqlstmt_ident(st, i + 2);
        if (to)
            step(c, STEP_CHANGED, schema, to, NULL);
        free(to);
    } else if (sqlstmt_kw(st, i, "set") && sqlstmt_kw(st, i + 1, "schema")) {
        step(c, STEP_CHANGED, schema, table, NULL);
    } else {
        while (i < st->n) {
            size_t end = action_end(st, i);
            if (sqlstmt_kw(st, i, "add"))
                add_column(c, st, i + 1, end, schema, table);
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
static void table_list(Tok *c, const Stmt *st, size_t i, bool changed)
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
static void on_table(Tok *c, const Stmt *st, size_t i)
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

static void create(Tok *c, const Stmt *st, size_t i)
{
    if (sqlstmt_kw(st, i, "or") && sqlstmt_kw(st, i + 1, "replace"))
        i += 2;
    if (sqlstmt_kw(st, i, "extension")) {
        i++;
        sqlstmt_skip_if_exists(st, &i);
        char *name = sqlstmt_ident(st, i);
        if (!name)
            return;
        step(c, STEP_EXTENSION, NULL, name, NULL);
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
    step(c, STEP_CHANGED, schema, name, NULL);
    free(schema);
    free(name);
    if (sqlstmt_kw(st, i, "partition") && sqlstmt_kw(st, i + 1, "of")) {
        i += 2;
        touch_at(c, st, &i, false);
    }
    touch_references(c, st, i, st->n);
}

static void statement(Tok *c, const Stmt *st)
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
            step(c, STEP_TOUCH, schema, name, NULL);
            step(c, STEP_UPDATED, schema, name, NULL);
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
            step(c, STEP_TOUCH, schema, name, NULL);
            step(c, where ? STEP_UPDATED : STEP_CHANGED, schema, name, NULL);
            free(schema);
            free(name);
        }
    }
    step(c, STEP_DONE, NULL, NULL, NULL);
}

static void on_statement(const SqlStmt *st, void *c)
{
    statement(c, st);
}

void preflight_tokens(StepList *l, int statement, const char *text, size_t len)
{
    Tok c = {l, statement};
    sqlstmt_each(text, len, on_statement, &c);
}
