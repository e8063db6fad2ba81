/*
 * What the migrations create that must not exist yet (codebase.h, cb_created): the objects of
 * CREATE TABLE / VIEW / MATERIALIZED VIEW / SEQUENCE / INDEX / TYPE / DOMAIN / SCHEMA statements
 * that fail when the object exists. A database without the ledger that holds one of them was not
 * made by these migrations, and applying them would fail on it (docs/statuses.md, unmanaged).
 *
 * Each chunk is read with the statement model (src/sql/, PostgreSQL's parser): the objects
 * its top-level statements create without IF NOT EXISTS, OR REPLACE or TEMP (CREATE TABLE AS
 * and SELECT ... INTO included, and what CREATE SCHEMA's own elements create), and those they
 * drop. A chunk the parser refuses falls back to the lexer: its statements cut at top-level
 * semicolons, and only their first words read. A DROP of an object before its CREATE (the
 * DROP ... IF EXISTS, CREATE idiom) means that CREATE cannot fail, so the object is left out;
 * so does ALTER TABLE ... DROP CONSTRAINT for an index of the constraint's name (a unique or
 * primary key constraint's index is named after it, and goes with it).
 */
#include "codebase/codebase.h"

#include "codebase/sqllex.h"
#include "core/mem.h"
#include "core/strset.h"
#include "sql/sql.h"

#include <stdlib.h>
#include <string.h>

/* The object words of CREATE and DROP: `first [second]`. */
static const struct {
    const char *first, *second;
    CbObjectSpace space;
    const char *kind;
} kinds[] = {
    {"table", NULL, CB_OBJECT_RELATION, "table"},
    {"view", NULL, CB_OBJECT_RELATION, "view"},
    {"materialized", "view", CB_OBJECT_RELATION, "materialized view"},
    {"sequence", NULL, CB_OBJECT_RELATION, "sequence"},
    {"index", NULL, CB_OBJECT_RELATION, "index"},
    {"type", NULL, CB_OBJECT_TYPE, "type"},
    {"domain", NULL, CB_OBJECT_TYPE, "domain"},
    {"schema", NULL, CB_OBJECT_SCHEMA, "schema"},
};

typedef struct Ctx {
    CbObject *out; /* created, in order */
    size_t n, cap;
    CbObject *dropped; /* dropped before being created (kind and migration unused) */
    size_t n_dropped, cap_dropped;
    size_t migration;
    /* Each object of out and dropped by its key (object_key), so that checking a statement's
     * objects against every earlier one costs the same however long the folder is. */
    PfStrSet in_out, in_dropped;
    char **keys; /* the sets' strings */
    size_t n_keys, cap_keys;
} Ctx;

/* One string per object as `same` tells them apart: namespace, schema (an unqualified name
 * standing for "public"; none for a schema), name; lengths keep any name apart from any
 * other. Caller frees. */
static char *object_key(CbObjectSpace space, const char *schema, const char *name)
{
    const char *sc = space == CB_OBJECT_SCHEMA ? "" : schema ? schema : "public";
    return pf_asprintf("%d:%zu:%s%s", (int)space, strlen(sc), sc, name);
}

/* The object words at *i (advanced past them), or -1. */
static int object_kind(const SqlStmt *st, size_t *i)
{
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        if (!sqlstmt_kw(st, *i, kinds[k].first))
            continue;
        if (kinds[k].second && !sqlstmt_kw(st, *i + 1, kinds[k].second))
            continue;
        *i += kinds[k].second ? 2 : 1;
        return (int)k;
    }
    return -1;
}

/* Takes schema and name over. */
static void add(Ctx *c, bool drop, int k, char *schema, char *name)
{
    CbObjectSpace space = kinds[k].space;
    char *key = object_key(space, schema, name);
    if (pf_strset_get(&c->in_out, key, NULL) ||
        (!drop && pf_strset_get(&c->in_dropped, key, NULL))) {
        free(key);
        free(schema);
        free(name);
        return;
    }
    PF_GROW(c->keys, c->cap_keys, c->n_keys + 1);
    c->keys[c->n_keys++] = key;
    pf_strset_add(drop ? &c->in_dropped : &c->in_out, key, 0, NULL);
    CbObject o = {space, kinds[k].kind, schema, name, c->migration};
    if (drop) {
        PF_GROW(c->dropped, c->cap_dropped, c->n_dropped + 1);
        c->dropped[c->n_dropped++] = o;
    } else {
        PF_GROW(c->out, c->cap, c->n + 1);
        c->out[c->n++] = o;
    }
}

/* CREATE SCHEMA [IF NOT EXISTS] { name [AUTHORIZATION role] | AUTHORIZATION role }: the schema
 * is named after the role in the second form (unless the role is CURRENT_USER and the like,
 * unknown here). */
static char *schema_name(const SqlStmt *st, size_t i)
{
    if (!sqlstmt_kw(st, i, "authorization"))
        return sqlstmt_ident(st, i);
    static const char *const special[] = {"current_user", "current_role", "session_user"};
    for (size_t k = 0; k < sizeof special / sizeof special[0]; k++)
        if (sqlstmt_kw(st, i + 1, special[k]))
            return NULL;
    return sqlstmt_ident(st, i + 1);
}

/* CREATE [UNIQUE] INDEX [CONCURRENTLY] name ON [ONLY] table, from i after INDEX: the index
 * lives in its table's schema (its own name cannot be qualified); one the server names, or
 * IF NOT EXISTS, is not looked for. */
static void index_create(Ctx *c, const SqlStmt *st, size_t i, int k)
{
    if (sqlstmt_kw(st, i, "concurrently"))
        i++;
    if (sqlstmt_kw(st, i, "on") || sqlstmt_kw(st, i, "if"))
        return;
    char *name = sqlstmt_ident(st, i++);
    if (!name)
        return;
    char *schema = NULL, *table = NULL;
    if (!sqlstmt_kw(st, i++, "on")) {
        free(name);
        return;
    }
    if (sqlstmt_kw(st, i, "only"))
        i++;
    if (!sqlstmt_qname(st, &i, &schema, &table)) {
        free(name);
        return;
    }
    free(table);
    add(c, false, k, schema, name);
}

static void create(Ctx *c, const SqlStmt *st)
{
    size_t i = 1;
    /* Temporary objects go with the session; OR REPLACE does not fail on an existing one. */
    while (sqlstmt_kw(st, i, "global") || sqlstmt_kw(st, i, "local") ||
           sqlstmt_kw(st, i, "unlogged") || sqlstmt_kw(st, i, "foreign") ||
           sqlstmt_kw(st, i, "recursive")) {
        i++;
    }
    if (sqlstmt_kw(st, i, "temp") || sqlstmt_kw(st, i, "temporary") || sqlstmt_kw(st, i, "or"))
        return;
    if (sqlstmt_kw(st, i, "unique"))
        i++;
    int k = object_kind(st, &i);
    if (k < 0 || sqlstmt_kw(st, i, "if"))
        return;
    if (kinds[k].space == CB_OBJECT_SCHEMA) {
        char *name = schema_name(st, i);
        if (name)
            add(c, false, k, NULL, name);
        return;
    }
    if (strcmp(kinds[k].first, "index") == 0) {
        index_create(c, st, i, k);
        return;
    }
    char *schema, *name;
    if (sqlstmt_qname(st, &i, &schema, &name))
        add(c, false, k, schema, name);
}

/* DROP kind [IF EXISTS] name [, name ...] */
static void drop(Ctx *c, const SqlStmt *st)
{
    size_t i = 1;
    if (sqlstmt_kw(st, i, "foreign"))
        i++;
    int k = object_kind(st, &i);
    if (k < 0)
        return;
    if (strcmp(kinds[k].first, "index") == 0 && sqlstmt_kw(st, i, "concurrently"))
        i++;
    sqlstmt_skip_if_exists(st, &i);
    for (;;) {
        char *schema = NULL, *name;
        if (kinds[k].space == CB_OBJECT_SCHEMA) {
            if (!(name = sqlstmt_ident(st, i)))
                return;
            i++;
        } else if (!sqlstmt_qname(st, &i, &schema, &name)) {
            return;
        }
        add(c, true, k, schema, name);
        if (!sqlstmt_op(st, i, ','))
            return;
        i++;
    }
}

static void statement(Ctx *c, const SqlStmt *st)
{
    if (sqlstmt_kw(st, 0, "create"))
        create(c, st);
    else if (sqlstmt_kw(st, 0, "drop"))
        drop(c, st);
}

static void on_statement(const SqlStmt *st, void *c)
{
    statement(c, st);
}

/* The entry of kinds for an object of the model, or -1 for kinds that do not count. */
static int model_kind(SqlObjKind kind)
{
    static const struct {
        SqlObjKind kind;
        const char *name;
    } map[] = {
        {SQL_OBJ_TABLE, "table"},
        {SQL_OBJ_FOREIGN_TABLE, "table"},
        {SQL_OBJ_VIEW, "view"},
        {SQL_OBJ_MATVIEW, "materialized"},
        {SQL_OBJ_SEQUENCE, "sequence"},
        {SQL_OBJ_TYPE, "type"},
        {SQL_OBJ_DOMAIN, "domain"},
        {SQL_OBJ_SCHEMA, "schema"},
        {SQL_OBJ_INDEX, "index"},
        {SQL_OBJ_CONSTRAINT, "index"}, /* only as dropped: see model_statement */
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (map[i].kind != kind)
            continue;
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
            if (strcmp(kinds[k].first, map[i].name) == 0)
                return (int)k;
    }
    return -1;
}

static void model_statement(Ctx *c, const SqlStatement *st)
{
    for (size_t i = 0; i < st->n_objects; i++) {
        const SqlObject *o = &st->objects[i];
        int k = model_kind(o->kind);
        if (k < 0 || !o->name.name)
            continue;
        bool schema = kinds[k].space == CB_OBJECT_SCHEMA;
        if (o->kind == SQL_OBJ_CONSTRAINT) {
            /* ALTER TABLE t DROP CONSTRAINT x drops the index x of a unique or primary key
             * constraint with it: a later CREATE INDEX x cannot fail. */
            if (o->action == SQL_ACT_DROP && o->table.name)
                add(c, true, k, pf_strdup(o->table.schema), pf_strdup(o->name.name));
            continue;
        }
        if (o->action == SQL_ACT_CREATE && !o->if_not_exists && !o->or_replace && !o->temporary)
            add(c, false, k, schema ? NULL : pf_strdup(o->name.schema), pf_strdup(o->name.name));
        else if (o->action == SQL_ACT_DROP)
            add(c, true, k, schema ? NULL : pf_strdup(o->name.schema), pf_strdup(o->name.name));
    }
}

/* One chunk, from its model sc when the folder reader made one (else parsed here). */
static void chunk(Ctx *c, const char *text, const SqlChunk *sc)
{
    size_t len = strlen(text);
    SqlChunk *own = sc ? NULL : sql_parse(text, len);
    if (own)
        sc = own;
    if (sc->parsed) {
        for (size_t i = 0; i < sc->n; i++)
            model_statement(c, &sc->stmts[i]);
    } else {
        sqlstmt_each(text, len, on_statement, c);
    }
    sql_chunk_free(own);
}

void cb_created(const Codebase *cb, CbObject **out, size_t *n)
{
    Ctx c = {0};
    for (size_t m = 0; m < cb->n; m++) {
        c.migration = m;
        const CbMigration *mig = &cb->migrations[m];
        for (size_t k = 0; k < mig->n_chunks; k++)
            chunk(&c, mig->chunks[k], mig->parsed ? mig->parsed[k] : NULL);
    }
    cb_objects_free(c.dropped, c.n_dropped);
    pf_strset_free(&c.in_out);
    pf_strset_free(&c.in_dropped);
    for (size_t i = 0; i < c.n_keys; i++)
        free(c.keys[i]);
    free(c.keys);
    *out = c.out;
    *n = c.n;
}

void cb_objects_free(CbObject *objects, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(objects[i].schema);
        free(objects[i].name);
    }
    free(objects);
}
