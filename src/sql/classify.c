/*
 * One statement's parse tree -> the model (sql.h). The tree is libpg_query's JSON: a node is
 * an object with one key, its type ({"CreateStmt": {...}}); fields left at their zero value
 * are omitted. Each statement type that matters has a handler (the table at the end) that
 * fills the kind, the objects, ALTER TABLE's subcommands and the rest; then one walk over the
 * whole tree collects the string constants and the rows written (DML), wherever they stand.
 * A routine's BEGIN ATOMIC body is classified as statements of its own, and a LANGUAGE sql
 * string body is parsed as text of its own (sql_parse_body).
 *
 * Everything kept lives in the chunk's arena; lists are gathered in pf_malloc'd arrays and
 * moved there at their final size when the statement is done.
 */
#include "sql/internal.h"

#include "core/buf.h"
#include "core/mem.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct Build {
    SqlParser *p;
    SqlArena *a;
    const SqlSource *src;
    size_t first, last; /* the statement's tokens */
    SqlStatement *st;
    SqlObject *obj;
    size_t n_obj, cap_obj;
    SqlAlter *alt;
    size_t n_alt, cap_alt;
    SqlEnumValue *ev;
    size_t n_ev, cap_ev;
    SqlString *str;
    size_t n_str, cap_str;
    SqlDml *dml;
    size_t n_dml, cap_dml;
} Build;

/* ---- reading the JSON tree -------------------------------------------------------------- */

static const cJSON *get(const cJSON *o, const char *key)
{
    return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = get(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool str_is(const cJSON *o, const char *key, const char *value)
{
    const char *s = str(o, key);
    return s && strcmp(s, value) == 0;
}

static bool flag(const cJSON *o, const char *key)
{
    return cJSON_IsTrue(get(o, key));
}

static long num(const cJSON *o, const char *key)
{
    const cJSON *v = get(o, key);
    return cJSON_IsNumber(v) ? (long)v->valuedouble : 0;
}

/* The type of a node ({"Tag": {...}}), or NULL for a plain object or anything else. */
static const char *tag_of(const cJSON *n)
{
    if (!cJSON_IsObject(n) || !n->child || n->child->next || !n->child->string)
        return NULL;
    return isupper((unsigned char)n->child->string[0]) ? n->child->string : NULL;
}

/* The fields of node n when it is of type tag, else NULL. */
static const cJSON *body_of(const cJSON *n, const char *tag)
{
    const char *t = tag_of(n);
    return t && strcmp(t, tag) == 0 ? n->child : NULL;
}

/* A field that holds a node of type tag inline or wrapped, as the output varies by field. */
static const cJSON *unwrap(const cJSON *n, const char *tag)
{
    const cJSON *b = body_of(n, tag);
    return b ? b : n;
}

/* The elements of a JSON array or of a {"List": {"items": [...]}} node. */
static const cJSON *items(const cJSON *n)
{
    if (cJSON_IsArray(n))
        return n;
    return get(body_of(n, "List"), "items");
}

/* The value of a String node ("" when empty), or NULL. */
static const char *sval(const cJSON *n)
{
    const cJSON *b = body_of(n, "String");
    if (!b)
        return NULL;
    const char *s = str(b, "sval");
    return s ? s : "";
}

static const char *dup(Build *b, const char *s)
{
    return sql_arena_strdup(b->a, s);
}

/* A qualified name from a list of String nodes: the last is the name, the one before it the
 * schema (a database before that is dropped). */
static SqlName names(Build *b, const cJSON *list)
{
    const cJSON *arr = items(list);
    int n = cJSON_GetArraySize(arr);
    SqlName nm = {0};
    if (n >= 1)
        nm.name = dup(b, sval(cJSON_GetArrayItem(arr, n - 1)));
    if (n >= 2)
        nm.schema = dup(b, sval(cJSON_GetArrayItem(arr, n - 2)));
    return nm;
}

static SqlName rv(Build *b, const cJSON *n)
{
    n = unwrap(n, "RangeVar");
    return (SqlName){dup(b, str(n, "schemaname")), dup(b, str(n, "relname"))};
}

static SqlType type_of(Build *b, const cJSON *tn)
{
    SqlType t = {0};
    tn = unwrap(tn, "TypeName");
    if (!get(tn, "names"))
        return t;
    SqlName nm = names(b, get(tn, "names"));
    t.schema = nm.schema;
    t.name = nm.name;
    t.array = get(tn, "arrayBounds") != NULL;
    PfBuf text = PF_BUF_INIT;
    if (t.schema && strcmp(t.schema, "pg_catalog") != 0)
        pf_buf_printf(&text, "%s.", t.schema);
    pf_buf_puts(&text, t.name);
    const cJSON *mod;
    const char *sep = "(";
    cJSON_ArrayForEach(mod, get(tn, "typmods"))
    {
        const cJSON *c = body_of(mod, "A_Const");
        if (get(c, "ival"))
            pf_buf_printf(&text, "%s%ld", sep, num(get(c, "ival"), "ival"));
        else
            pf_buf_printf(&text, "%s?", sep);
        sep = ",";
    }
    if (*sep == ',')
        pf_buf_putc(&text, ')');
    if (t.array)
        pf_buf_puts(&text, "[]");
    char *s = pf_buf_take(&text);
    t.text = dup(b, s);
    free(s);
    return t;
}

/* The A_Const fields of a string constant, its value in *value; NULL for anything else. */
static const cJSON *string_const(const cJSON *n, const char **value)
{
    const cJSON *c = body_of(n, "A_Const");
    const cJSON *sv = get(c, "sval");
    if (!sv)
        return NULL;
    const char *s = str(sv, "sval");
    *value = s ? s : "";
    return c;
}

/* The string constant at the bottom of a chain of casts (TypeCast fields), or NULL. */
static const cJSON *cast_const(const cJSON *cast, const char **value)
{
    const cJSON *arg = get(cast, "arg"), *inner;
    while ((inner = body_of(arg, "TypeCast")))
        arg = get(inner, "arg");
    return string_const(arg, value);
}

/* The DefElem of a list of options with this defname, or NULL. */
static const cJSON *option(const cJSON *list, const char *name)
{
    const cJSON *o;
    cJSON_ArrayForEach(o, items(list))
    {
        const cJSON *de = body_of(o, "DefElem");
        if (str_is(de, "defname", name))
            return de;
    }
    return NULL;
}

/* An option's boolean value as PostgreSQL's defGetBoolean reads it (no value is true). */
static bool option_bool(const cJSON *de)
{
    const cJSON *arg = get(de, "arg"), *x;
    if (!arg)
        return true;
    if ((x = body_of(arg, "Integer")))
        return num(x, "ival") != 0;
    if ((x = body_of(arg, "Boolean")))
        return flag(x, "boolval");
    const char *s = sval(arg);
    if (!s && (x = body_of(arg, "TypeName"))) {
        const cJSON *arr = items(get(x, "names"));
        s = sval(cJSON_GetArrayItem(arr, cJSON_GetArraySize(arr) - 1));
    }
    static const char *const no[] = {"false", "off", "no", "0", "f", "n"};
    for (size_t i = 0; s && i < sizeof no / sizeof no[0]; i++)
        if (strcasecmp(s, no[i]) == 0)
            return false;
    return true;
}

/* ---- building the model ----------------------------------------------------------------- */

static size_t where(Build *b, const cJSON *fields)
{
    long loc = num(fields, "location");
    return get(fields, "location") && loc >= 0 ? sql_frame_map(b->src->frame, (size_t)loc)
                                               : b->st->pos.offset;
}

static const char *const what_names[] = {
    [SQL_OBJ_TABLE] = "table",         [SQL_OBJ_FOREIGN_TABLE] = "foreign table",
    [SQL_OBJ_VIEW] = "view",           [SQL_OBJ_MATVIEW] = "materialized view",
    [SQL_OBJ_SEQUENCE] = "sequence",   [SQL_OBJ_INDEX] = "index",
    [SQL_OBJ_COLUMN] = "column",       [SQL_OBJ_CONSTRAINT] = "constraint",
    [SQL_OBJ_TYPE] = "type",           [SQL_OBJ_DOMAIN] = "domain",
    [SQL_OBJ_SCHEMA] = "schema",       [SQL_OBJ_FUNCTION] = "function",
    [SQL_OBJ_PROCEDURE] = "procedure", [SQL_OBJ_TRIGGER] = "trigger",
    [SQL_OBJ_POLICY] = "policy",       [SQL_OBJ_EXTENSION] = "extension",
    [SQL_OBJ_DATABASE] = "database",   [SQL_OBJ_TABLESPACE] = "tablespace",
    [SQL_OBJ_OTHER] = "object",
};

static SqlObject *add_obj(Build *b, SqlAction action, SqlObjKind kind, SqlName name)
{
    PF_GROW(b->obj, b->cap_obj, b->n_obj + 1);
    SqlObject *o = &b->obj[b->n_obj++];
    memset(o, 0, sizeof *o);
    o->action = action;
    o->kind = kind;
    o->what = what_names[kind];
    o->name = name;
    return o;
}

/* The parse tree's ObjectType -> the model's kind; *what names the others ("rule"). */
static SqlObjKind obj_kind(Build *b, const char *objtype, const char **what)
{
    static const struct {
        const char *objtype;
        SqlObjKind kind;
    } map[] = {
        {"OBJECT_TABLE", SQL_OBJ_TABLE},
        {"OBJECT_FOREIGN_TABLE", SQL_OBJ_FOREIGN_TABLE},
        {"OBJECT_VIEW", SQL_OBJ_VIEW},
        {"OBJECT_MATVIEW", SQL_OBJ_MATVIEW},
        {"OBJECT_SEQUENCE", SQL_OBJ_SEQUENCE},
        {"OBJECT_INDEX", SQL_OBJ_INDEX},
        {"OBJECT_COLUMN", SQL_OBJ_COLUMN},
        {"OBJECT_ATTRIBUTE", SQL_OBJ_COLUMN},
        {"OBJECT_TABCONSTRAINT", SQL_OBJ_CONSTRAINT},
        {"OBJECT_DOMCONSTRAINT", SQL_OBJ_CONSTRAINT},
        {"OBJECT_TYPE", SQL_OBJ_TYPE},
        {"OBJECT_DOMAIN", SQL_OBJ_DOMAIN},
        {"OBJECT_SCHEMA", SQL_OBJ_SCHEMA},
        {"OBJECT_FUNCTION", SQL_OBJ_FUNCTION},
        {"OBJECT_ROUTINE", SQL_OBJ_FUNCTION},
        {"OBJECT_PROCEDURE", SQL_OBJ_PROCEDURE},
        {"OBJECT_TRIGGER", SQL_OBJ_TRIGGER},
        {"OBJECT_POLICY", SQL_OBJ_POLICY},
        {"OBJECT_EXTENSION", SQL_OBJ_EXTENSION},
        {"OBJECT_DATABASE", SQL_OBJ_DATABASE},
        {"OBJECT_TABLESPACE", SQL_OBJ_TABLESPACE},
    };
    for (size_t i = 0; objtype && i < sizeof map / sizeof map[0]; i++) {
        if (strcmp(objtype, map[i].objtype) == 0) {
            *what = what_names[map[i].kind];
            return map[i].kind;
        }
    }
    /* "OBJECT_TSCONFIGURATION" -> "tsconfiguration" */
    const char *w = objtype && strncmp(objtype, "OBJECT_", 7) == 0 ? objtype + 7 : "object";
    char *lower = sql_arena_strdup(b->a, w);
    for (char *c = lower; *c; c++)
        *c = *c == '_' ? ' ' : (char)tolower((unsigned char)*c);
    *what = lower;
    return SQL_OBJ_OTHER;
}

static SqlObject *add_obj_type(Build *b, SqlAction action, const char *objtype, SqlName name)
{
    const char *what;
    SqlObjKind kind = obj_kind(b, objtype, &what);
    SqlObject *o = add_obj(b, action, kind, name);
    o->what = what;
    return o;
}

static void persistence(SqlObject *o, const cJSON *rangevar)
{
    const char *p = str(unwrap(rangevar, "RangeVar"), "relpersistence");
    o->temporary = p && strcmp(p, "t") == 0;
    o->unlogged = p && strcmp(p, "u") == 0;
}

static void add_string(Build *b, const char *value, SqlStrUse use, const SqlType *type,
                       const char *column, const cJSON *at)
{
    PF_GROW(b->str, b->cap_str, b->n_str + 1);
    SqlString *s = &b->str[b->n_str++];
    memset(s, 0, sizeof *s);
    s->value = dup(b, value);
    s->use = use;
    if (type)
        s->type = *type;
    s->column = dup(b, column);
    s->pos.offset = where(b, at);
}

/* ---- columns, constraints, defaults ----------------------------------------------------- */

static bool is_constant(const cJSON *n)
{
    const cJSON *x;
    if (body_of(n, "A_Const"))
        return true;
    if ((x = body_of(n, "TypeCast")))
        return is_constant(get(x, "arg"));
    if ((x = body_of(n, "A_Expr")) && str_is(x, "kind", "AEXPR_OP") && !get(x, "lexpr"))
        return is_constant(get(x, "rexpr")); /* -1, +1 */
    return false;
}

static bool is_null(const cJSON *n)
{
    const cJSON *x;
    if ((x = body_of(n, "TypeCast")))
        return is_null(get(x, "arg"));
    return flag(body_of(n, "A_Const"), "isnull");
}

static SqlDefault default_kind(const cJSON *expr)
{
    return is_null(expr)       ? SQL_DEFAULT_NULL
           : is_constant(expr) ? SQL_DEFAULT_CONSTANT
                               : SQL_DEFAULT_EXPRESSION;
}

/* Whether expr calls a function that gives each row its own value. */
static bool calls_volatile(const cJSON *n)
{
    static const char *const volatile_funcs[] = {
        "random",           "gen_random_uuid", "uuid_generate_v1", "uuid_generate_v1mc",
        "uuid_generate_v4", "clock_timestamp", "timeofday",        "nextval",
        "setseed",          "uuidv4",          "uuidv7",
    };
    const cJSON *call = body_of(n, "FuncCall");
    if (call) {
        const cJSON *fn = items(get(call, "funcname"));
        const char *name = sval(cJSON_GetArrayItem(fn, cJSON_GetArraySize(fn) - 1));
        for (size_t i = 0; name && i < sizeof volatile_funcs / sizeof volatile_funcs[0]; i++)
            if (strcmp(name, volatile_funcs[i]) == 0)
                return true;
    }
    const cJSON *child;
    cJSON_ArrayForEach(child, n)
    {
        if ((cJSON_IsObject(child) || cJSON_IsArray(child)) && calls_volatile(child))
            return true;
    }
    return false;
}

static bool is_serial(const SqlType *t)
{
    static const char *const serials[] = {"serial",    "serial4",     "serial2", "serial8",
                                          "bigserial", "smallserial", NULL};
    if (!t->name || (t->schema && strcmp(t->schema, "pg_catalog") != 0) || t->array)
        return false;
    for (const char *const *s = serials; *s; s++)
        if (strcmp(t->name, *s) == 0)
            return true;
    return false;
}

/* A ColumnDef's fields -> a column. */
static const SqlColumn *make_column(Build *b, const cJSON *cd)
{
    SqlColumn *c = sql_arena_alloc(b->a, sizeof *c);
    c->name = dup(b, str(cd, "colname"));
    c->type = type_of(b, get(cd, "typeName"));
    c->serial = is_serial(&c->type);
    c->volatile_default = c->serial;
    const cJSON *con;
    cJSON_ArrayForEach(con, get(cd, "constraints"))
    {
        const cJSON *k = body_of(con, "Constraint");
        const char *type = str(k, "contype");
        if (!type)
            continue;
        if (strcmp(type, "CONSTR_NOTNULL") == 0) {
            c->not_null = true;
        } else if (strcmp(type, "CONSTR_PRIMARY") == 0) {
            c->not_null = c->primary_key = true;
        } else if (strcmp(type, "CONSTR_DEFAULT") == 0) {
            c->default_kind = default_kind(get(k, "raw_expr"));
            c->volatile_default = c->volatile_default || calls_volatile(get(k, "raw_expr"));
        } else if (strcmp(type, "CONSTR_IDENTITY") == 0) {
            c->identity = c->volatile_default = true;
        } else if (strcmp(type, "CONSTR_GENERATED") == 0) {
            c->generated = c->volatile_default = true;
        }
    }
    return c;
}

static const SqlConstraint *make_constraint(Build *b, const cJSON *k, const char *column)
{
    static const struct {
        const char *contype;
        SqlConKind kind;
    } map[] = {
        {"CONSTR_CHECK", SQL_CON_CHECK},         {"CONSTR_NOTNULL", SQL_CON_NOT_NULL},
        {"CONSTR_PRIMARY", SQL_CON_PRIMARY_KEY}, {"CONSTR_UNIQUE", SQL_CON_UNIQUE},
        {"CONSTR_FOREIGN", SQL_CON_FOREIGN_KEY}, {"CONSTR_EXCLUSION", SQL_CON_EXCLUSION},
    };
    SqlConstraint *c = sql_arena_alloc(b->a, sizeof *c);
    c->kind = SQL_CON_OTHER;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (str_is(k, "contype", map[i].contype))
            c->kind = map[i].kind;
    c->name = dup(b, str(k, "conname"));
    c->not_valid = flag(k, "skip_validation");
    if (c->kind == SQL_CON_FOREIGN_KEY)
        c->references = rv(b, get(k, "pktable"));
    c->column = dup(b, column);
    return c;
}

/* A constraint created on table: its object, and a REFERENCE to a foreign key's table. */
static const SqlConstraint *add_constraint(Build *b, const cJSON *k, const char *column,
                                           SqlName table)
{
    const SqlConstraint *c = make_constraint(b, k, column);
    SqlObject *o = add_obj(b, SQL_ACT_CREATE, SQL_OBJ_CONSTRAINT, (SqlName){NULL, c->name});
    o->table = table;
    o->constraint = c;
    if (c->kind == SQL_CON_FOREIGN_KEY)
        add_obj(b, SQL_ACT_REFERENCE, SQL_OBJ_TABLE, c->references);
    return c;
}

/* The constraints of a column that are objects of their own (CHECK, UNIQUE, PRIMARY KEY,
 * REFERENCES, EXCLUDE): NOT NULL, DEFAULT and the like are the column's flags. */
static void column_constraints(Build *b, const cJSON *cd, SqlName table)
{
    static const char *const own[] = {"CONSTR_CHECK", "CONSTR_PRIMARY", "CONSTR_UNIQUE",
                                      "CONSTR_FOREIGN", "CONSTR_EXCLUSION"};
    const cJSON *con;
    cJSON_ArrayForEach(con, get(cd, "constraints"))
    {
        const cJSON *k = body_of(con, "Constraint");
        for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
            if (str_is(k, "contype", own[i]))
                add_constraint(b, k, str(cd, "colname"), table);
    }
}

/* A column created on table (CREATE TABLE, ADD COLUMN, CREATE TYPE ... AS). */
static const SqlColumn *add_column(Build *b, const cJSON *cd, SqlName table, bool if_not_exists)
{
    const SqlColumn *col = make_column(b, cd);
    SqlObject *o = add_obj(b, SQL_ACT_CREATE, SQL_OBJ_COLUMN, (SqlName){NULL, col->name});
    o->table = table;
    o->column = col;
    o->if_not_exists = if_not_exists;
    column_constraints(b, cd, table);
    return col;
}

/* ---- the walk: strings and rows written, anywhere in the tree --------------------------- */

static void walk(Build *b, const cJSON *n);

/* Walk a node's fields but those named skip (and a routine's BEGIN ATOMIC body, which is
 * classified as statements of its own). */
static void walk_fields(Build *b, const cJSON *fields, const char *skip1, const char *skip2)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, fields)
    {
        const char *k = f->string;
        if (k && ((skip1 && strcmp(k, skip1) == 0) || (skip2 && strcmp(k, skip2) == 0) ||
                  strcmp(k, "sql_body") == 0))
            continue;
        walk(b, f);
    }
}

/* A string constant compared with other: what other is decides what the comparison says. */
static void compared(Build *b, const char *value, const cJSON *at, const cJSON *other)
{
    const cJSON *x;
    const char *v;
    if ((x = body_of(other, "ColumnRef"))) {
        const cJSON *fields = get(x, "fields");
        const char *col = sval(cJSON_GetArrayItem(fields, cJSON_GetArraySize(fields) - 1));
        add_string(b, value, col ? SQL_STR_COMPARED_COLUMN : SQL_STR_OTHER, NULL, col, at);
    } else if ((x = body_of(other, "TypeCast")) && !cast_const(x, &v)) {
        SqlType t = type_of(b, get(x, "typeName"));
        add_string(b, value, SQL_STR_COMPARED_CAST, &t, NULL, at);
    } else {
        add_string(b, value, SQL_STR_OTHER, NULL, NULL, at);
    }
}

/* One side of a comparison (a constant, an IN list, or anything else) against the other. */
static void side(Build *b, const cJSON *mine, const cJSON *other)
{
    const char *v;
    const cJSON *c, *list = body_of(mine, "List") ? items(mine) : NULL, *item;
    if ((c = string_const(mine, &v))) {
        compared(b, v, c, other);
    } else if (list) {
        cJSON_ArrayForEach(item, list)
        {
            if ((c = string_const(item, &v)))
                compared(b, v, c, other);
            else
                walk(b, item);
        }
    } else {
        walk(b, mine);
    }
}

static void a_expr(Build *b, const cJSON *e)
{
    static const char *const comparing[] = {
        "AEXPR_IN",           "AEXPR_OP_ANY", "AEXPR_OP_ALL", "AEXPR_DISTINCT",
        "AEXPR_NOT_DISTINCT", "AEXPR_NULLIF", "AEXPR_LIKE",   "AEXPR_ILIKE",
    };
    static const char *const operators[] = {"=", "<>", "!=", "<", ">", "<=", ">="};
    const char *kind = str(e, "kind");
    bool compare = false;
    for (size_t i = 0; kind && i < sizeof comparing / sizeof comparing[0]; i++)
        compare = compare || strcmp(kind, comparing[i]) == 0;
    if (kind && strcmp(kind, "AEXPR_OP") == 0) {
        const cJSON *name = items(get(e, "name"));
        const char *op = sval(cJSON_GetArrayItem(name, cJSON_GetArraySize(name) - 1));
        for (size_t i = 0; op && i < sizeof operators / sizeof operators[0]; i++)
            compare = compare || strcmp(op, operators[i]) == 0;
    }
    const cJSON *l = get(e, "lexpr"), *r = get(e, "rexpr");
    if (!compare || !l || !r) {
        walk_fields(b, e, NULL, NULL);
        return;
    }
    side(b, l, r);
    side(b, r, l);
}

/* SET col = 'x' (UPDATE, MERGE ... UPDATE): the ResTargets of a target list. */
static void assignments(Build *b, const cJSON *targets)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, targets)
    {
        const cJSON *rt = body_of(t, "ResTarget"), *c;
        const char *v;
        if ((c = string_const(get(rt, "val"), &v)))
            add_string(b, v, SQL_STR_ASSIGNED, NULL, str(rt, "name"), c);
        else
            walk(b, t);
    }
}

/* VALUES rows written to the columns named by cols (ResTargets): the i-th value goes to the
 * i-th column. */
static void values_into(Build *b, const cJSON *cols, const cJSON *row)
{
    const cJSON *col = cJSON_IsArray(cols) ? cols->child : NULL, *item;
    cJSON_ArrayForEach(item, items(row))
    {
        const cJSON *c;
        const char *v;
        const char *name = str(body_of(col, "ResTarget"), "name");
        if ((c = string_const(item, &v)))
            add_string(b, v, name ? SQL_STR_ASSIGNED : SQL_STR_OTHER, NULL, name, c);
        else
            walk(b, item);
        col = col ? col->next : NULL;
    }
}

static void add_dml(Build *b, SqlDmlKind kind, const cJSON *s, const cJSON *cols)
{
    PF_GROW(b->dml, b->cap_dml, b->n_dml + 1);
    SqlDml *d = &b->dml[b->n_dml++];
    memset(d, 0, sizeof *d);
    d->kind = kind;
    d->table = rv(b, get(s, "relation"));
    d->has_where = get(s, "whereClause") != NULL;
    int n = cJSON_GetArraySize(cols);
    if (n > 0) {
        const char **names = sql_arena_alloc(b->a, (size_t)n * sizeof *names);
        const cJSON *c;
        cJSON_ArrayForEach(c, cols)
        {
            const char *name = str(body_of(c, "ResTarget"), "name");
            if (name)
                names[d->n_columns++] = dup(b, name);
        }
        d->columns = names;
    }
}

/* A node met by the walk: n is {"Tag": fields}. */
static void node(Build *b, const cJSON *n, const char *tag, const cJSON *f)
{
    const cJSON *c;
    const char *v;
    if (strcmp(tag, "A_Const") == 0) {
        if ((c = string_const(n, &v)))
            add_string(b, v, SQL_STR_OTHER, NULL, NULL, c);
    } else if (strcmp(tag, "TypeCast") == 0) {
        if ((c = cast_const(f, &v))) {
            SqlType t = type_of(b, get(f, "typeName"));
            add_string(b, v, SQL_STR_CAST, &t, NULL, c);
        } else {
            walk(b, get(f, "arg"));
        }
    } else if (strcmp(tag, "A_Expr") == 0) {
        a_expr(b, f);
    } else if (strcmp(tag, "ColumnDef") == 0) {
        const cJSON *con;
        cJSON_ArrayForEach(con, get(f, "constraints"))
        {
            const cJSON *k = body_of(con, "Constraint");
            if (str_is(k, "contype", "CONSTR_DEFAULT") &&
                (c = string_const(get(k, "raw_expr"), &v))) {
                SqlType t = type_of(b, get(f, "typeName"));
                add_string(b, v, SQL_STR_DEFAULT, &t, str(f, "colname"), c);
            } else {
                walk(b, con);
            }
        }
        walk_fields(b, f, "constraints", NULL);
    } else if (strcmp(tag, "AlterTableCmd") == 0 && str_is(f, "subtype", "AT_ColumnDefault") &&
               (c = string_const(get(f, "def"), &v))) {
        add_string(b, v, SQL_STR_DEFAULT, NULL, str(f, "name"), c);
    } else if (strcmp(tag, "UpdateStmt") == 0) {
        add_dml(b, SQL_DML_UPDATE, f, get(f, "targetList"));
        assignments(b, get(f, "targetList"));
        walk_fields(b, f, "targetList", NULL);
    } else if (strcmp(tag, "InsertStmt") == 0) {
        add_dml(b, SQL_DML_INSERT, f, get(f, "cols"));
        const cJSON *sel = body_of(get(f, "selectStmt"), "SelectStmt"), *row;
        if (get(sel, "valuesLists")) {
            cJSON_ArrayForEach(row, get(sel, "valuesLists")) values_into(b, get(f, "cols"), row);
            walk_fields(b, sel, "valuesLists", NULL);
            walk_fields(b, f, "selectStmt", NULL);
        } else {
            walk_fields(b, f, NULL, NULL);
        }
    } else if (strcmp(tag, "DeleteStmt") == 0) {
        add_dml(b, SQL_DML_DELETE, f, NULL);
        walk_fields(b, f, NULL, NULL);
    } else if (strcmp(tag, "MergeStmt") == 0) {
        add_dml(b, SQL_DML_MERGE, f, NULL);
        walk_fields(b, f, NULL, NULL);
    } else if (strcmp(tag, "MergeWhenClause") == 0) {
        if (str_is(f, "commandType", "CMD_UPDATE")) {
            assignments(b, get(f, "targetList"));
            walk_fields(b, f, "targetList", NULL);
        } else if (str_is(f, "commandType", "CMD_INSERT")) {
            values_into(b, get(f, "targetList"), get(f, "values"));
            walk_fields(b, f, "targetList", "values");
        } else {
            walk_fields(b, f, NULL, NULL);
        }
    } else {
        walk_fields(b, f, NULL, NULL);
    }
}

static void walk(Build *b, const cJSON *n)
{
    if (cJSON_IsArray(n)) {
        const cJSON *e;
        cJSON_ArrayForEach(e, n) walk(b, e);
        return;
    }
    if (!cJSON_IsObject(n))
        return;
    const char *tag = tag_of(n);
    if (tag)
        node(b, n, tag, n->child);
    else
        walk_fields(b, n, NULL, NULL);
}

/* ---- statement handlers ----------------------------------------------------------------- */

static void create_table(Build *b, const cJSON *cs, SqlObjKind kind)
{
    SqlName name = rv(b, get(cs, "relation"));
    b->st->relation = name;
    SqlObject *o = add_obj(b, SQL_ACT_CREATE, kind, name);
    o->if_not_exists = flag(cs, "if_not_exists");
    persistence(o, get(cs, "relation"));
    const cJSON *e, *x;
    cJSON_ArrayForEach(e, get(cs, "tableElts"))
    {
        if ((x = body_of(e, "ColumnDef")))
            add_column(b, x, name, false);
        else if ((x = body_of(e, "Constraint")))
            add_constraint(b, x, NULL, name);
        else if ((x = body_of(e, "TableLikeClause")))
            add_obj(b, SQL_ACT_REFERENCE, SQL_OBJ_TABLE, rv(b, get(x, "relation")));
    }
    cJSON_ArrayForEach(e, get(cs, "inhRelations"))
        add_obj(b, SQL_ACT_REFERENCE, SQL_OBJ_TABLE, rv(b, e));
}

static void h_create_table(Build *b, const cJSON *f)
{
    create_table(b, f, SQL_OBJ_TABLE);
}

static void h_create_foreign_table(Build *b, const cJSON *f)
{
    create_table(b, get(f, "base"), SQL_OBJ_FOREIGN_TABLE);
}

static void h_create_table_as(Build *b, const cJSON *f)
{
    bool matview = str_is(f, "objtype", "OBJECT_MATVIEW");
    const cJSON *rel = get(get(f, "into"), "rel");
    b->st->kind = matview ? SQL_KIND_CREATE_VIEW : SQL_KIND_CREATE_TABLE;
    b->st->relation = rv(b, rel);
    SqlObject *o =
        add_obj(b, SQL_ACT_CREATE, matview ? SQL_OBJ_MATVIEW : SQL_OBJ_TABLE, b->st->relation);
    o->if_not_exists = flag(f, "if_not_exists");
    persistence(o, rel);
}

static void h_select(Build *b, const cJSON *f)
{
    const cJSON *rel = get(get(f, "intoClause"), "rel");
    if (!rel)
        return;
    SqlObject *o = add_obj(b, SQL_ACT_CREATE, SQL_OBJ_TABLE, rv(b, rel));
    persistence(o, rel);
}

static void h_view(Build *b, const cJSON *f)
{
    b->st->relation = rv(b, get(f, "view"));
    SqlObject *o = add_obj(b, SQL_ACT_CREATE, SQL_OBJ_VIEW, b->st->relation);
    o->or_replace = flag(f, "replace");
    persistence(o, get(f, "view"));
}

static void h_sequence(Build *b, const cJSON *f)
{
    SqlObject *o = add_obj(b, SQL_ACT_CREATE, SQL_OBJ_SEQUENCE, rv(b, get(f, "sequence")));
    o->if_not_exists = flag(f, "if_not_exists");
    persistence(o, get(f, "sequence"));
}

static void h_index(Build *b, const cJSON *f)
{
    SqlName table = rv(b, get(f, "relation"));
    b->st->relation = table;
    /* An index lives in its table's schema. */
    SqlObject *o = add_obj(b, SQL_ACT_CREATE, SQL_OBJ_INDEX,
                           (SqlName){table.schema, dup(b, str(f, "idxname"))});
    o->table = table;
    o->if_not_exists = flag(f, "if_not_exists");
    o->concurrently = flag(f, "concurrent");
    if (o->concurrently)
        b->st->nontx = SQL_NONTX_CREATE_INDEX_CONCURRENTLY;
    add_obj(b, SQL_ACT_REFERENCE, SQL_OBJ_TABLE, table);
}

static void h_enum(Build *b, const cJSON *f)
{
    SqlObject *o = add_obj(b, SQL_ACT_CREATE, SQL_OBJ_TYPE, names(b, get(f, "typeName")));
    o->type_form = SQL_TYPE_ENUM;
    int n = cJSON_GetArraySize(get(f, "vals"));
    const char **labels = sql_arena_alloc(b->a, (size_t)(n > 0 ? n : 1) * sizeof *labels);
    const cJSON *v;
    cJSON_ArrayForEach(v, get(f, "vals")) labels[o->n_labels++] = dup(b, sval(v));
    o->labels = labels;
}

static void h_composite(Build *b, const cJSON *f)
{
    SqlName name = rv(b, get(f, "typevar"));
    add_obj(b, SQL_ACT_CREATE, SQL_OBJ_TYPE, name)->type_form = SQL_TYPE_COMPOSITE;
    const cJSON *e, *x;
    cJSON_ArrayForEach(e, get(f, "coldeflist")) if ((x = body_of(e, "ColumnDef")))
        add_column(b, x, name, false);
}

static void h_range(Build *b, const cJSON *f)
{
    add_obj(b, SQL_ACT_CREATE, SQL_OBJ_TYPE, names(b, get(f, "typeName")))->type_form =
        SQL_TYPE_RANGE;
}

static void h_define(Build *b, const cJSON *f)
{
    SqlName name = names(b, get(f, "defnames"));
    if (str_is(f, "kind", "OBJECT_TYPE")) {
        add_obj(b, SQL_ACT_CREATE, SQL_OBJ_TYPE, name)->type_form = SQL_TYPE_BASE;
        return;
    }
    b->st->kind = SQL_KIND_OTHER; /* CREATE AGGREGATE, OPERATOR, COLLATION, TEXT SEARCH ... */
    add_obj_type(b, SQL_ACT_CREATE, str(f, "kind"), name);
}

static void h_domain(Build *b, const cJSON *f)
{
    SqlName name = names(b, get(f, "domainname"));
    add_obj(b, SQL_ACT_CREATE, SQL_OBJ_DOMAIN, name);
    const cJSON *e, *x;
    cJSON_ArrayForEach(e, get(f, "constraints"))
    {
        x = body_of(e, "Constraint");
        if (x && !str_is(x, "contype", "CONSTR_NOTNULL") && !str_is(x, "contype", "CONSTR_NULL"))
            add_constraint(b, x, NULL, name);
    }
}

static void dispatch(Build *b, const char *tag, const cJSON *f);

static void h_schema(Build *b, const cJSON *f)
{
    const cJSON *role = get(f, "authrole");
    const char *name = str(f, "schemaname");
    /* CREATE SCHEMA AUTHORIZATION joe is named after the role; CURRENT_USER and the like are
     * known to the server only. */
    if (!name && str_is(role, "roletype", "ROLESPEC_CSTRING"))
        name = str(role, "rolename");
    SqlObject *o = add_obj(b, SQL_ACT_CREATE, SQL_OBJ_SCHEMA, (SqlName){NULL, dup(b, name)});
    o->if_not_exists = flag(f, "if_not_exists");
    const char *schema = o->name.name;
    /* Its elements (CREATE SCHEMA s CREATE TABLE t ...) are created in it. */
    SqlKind kind = b->st->kind;
    size_t from = b->n_obj;
    const cJSON *e;
    cJSON_ArrayForEach(e, get(f, "schemaElts"))
    {
        if (tag_of(e))
            dispatch(b, tag_of(e), e->child);
    }
    b->st->kind = kind;
    b->st->relation = (SqlName){0};
    for (size_t i = from; i < b->n_obj; i++) {
        SqlObject *x = &b->obj[i];
        if (x->action != SQL_ACT_CREATE && x->kind != SQL_OBJ_INDEX && x->kind != SQL_OBJ_TRIGGER)
            continue;
        if (!x->name.schema && x->kind != SQL_OBJ_TRIGGER && x->kind != SQL_OBJ_COLUMN &&
            x->kind != SQL_OBJ_CONSTRAINT)
            x->name.schema = schema;
        if (!x->table.schema && x->table.name)
            x->table.schema = schema;
    }
    /* An index's or trigger's table is its REFERENCE too (the same name, the same string);
     * a foreign key's table is left as written, as PostgreSQL leaves it. */
    for (size_t i = from; i < b->n_obj; i++) {
        SqlObject *x = &b->obj[i];
        for (size_t k = from; x->action == SQL_ACT_REFERENCE && !x->name.schema && k < b->n_obj;
             k++) {
            const SqlObject *y = &b->obj[k];
            if ((y->kind == SQL_OBJ_INDEX || y->kind == SQL_OBJ_TRIGGER) &&
                y->table.name == x->name.name)
                x->name.schema = schema;
        }
    }
}

static void h_extension(Build *b, const cJSON *f)
{
    SqlObject *o =
        add_obj(b, SQL_ACT_CREATE, SQL_OBJ_EXTENSION, (SqlName){NULL, dup(b, str(f, "extname"))});
    o->if_not_exists = flag(f, "if_not_exists");
}

/* The first non-comment token of kind from token i on, within the statement; SIZE_MAX. */
static size_t find_tok(const Build *b, size_t i, int kind, int next_kind)
{
    const SqlToks *t = b->src->toks;
    if (b->first == SIZE_MAX)
        return SIZE_MAX;
    for (; i <= b->last && i < t->n; i++) {
        if (t->t[i].kind != kind)
            continue;
        if (!next_kind)
            return i;
        size_t j = i + 1;
        while (j <= b->last && j < t->n && sql_tok_comment(t, j))
            j++;
        if (j <= b->last && j < t->n && t->t[j].kind == next_kind)
            return i;
    }
    return SIZE_MAX;
}

static SqlPos tok_pos(const Build *b, size_t i)
{
    SqlPos pos = {0};
    pos.offset =
        i == SIZE_MAX ? b->st->pos.offset : sql_frame_map(b->src->frame, b->src->toks->t[i].start);
    return pos;
}

/* BEGIN ATOMIC ... END (a list of statements) or RETURN expr: statements of the tree. */
static void atomic_body(Build *b, SqlRoutine *r, const cJSON *sql_body)
{
    const cJSON *list = NULL, *single = NULL;
    bool atomic = body_of(sql_body, "List") != NULL;
    if (atomic)
        list = items(cJSON_GetArrayItem(items(sql_body), 0)); /* NULL for an empty body */
    else
        single = sql_body; /* RETURN expr */
    SqlPiece *pieces = NULL, ret;
    size_t n_pieces = 0, at;
    if (atomic) {
        at = find_tok(b, b->first, SQL_T_BEGIN, SQL_T_ATOMIC);
        if (at != SIZE_MAX)
            sql_atomic_body(b->src->toks, at, b->last, &pieces, &n_pieces);
    } else {
        at = find_tok(b, b->first, SQL_T_RETURN, 0);
        if (!single || at == SIZE_MAX) {
            n_pieces = 0;
        } else {
            ret = (SqlPiece){at, b->last};
            pieces = pf_malloc(sizeof *pieces);
            pieces[0] = ret;
            n_pieces = 1;
        }
    }
    r->body_pos = tok_pos(b, at);
    SqlSource src = {b->src->toks, b->src->frame, true};
    SqlStmtVec vec = {0};
    size_t n = list ? (size_t)cJSON_GetArraySize(list) : single ? 1 : 0, k = 0;
    const cJSON *s = list ? list->child : single;
    for (; k < n && s; k++, s = s->next) {
        SqlStatement *st = sql_stmt_push(&vec);
        st->in_body = true;
        bool exact = n_pieces == n;
        if (exact)
            sql_stmt_extent(&src, pieces[k].first, pieces[k].last, st);
        else
            st->pos = r->body_pos;
        sql_classify(b->p, &src, s, exact ? pieces[k].first : SIZE_MAX,
                     exact ? pieces[k].last : SIZE_MAX, st);
    }
    free(pieces);
    r->body = sql_arena_keep(b->a, vec.v, vec.n, sizeof *vec.v);
    r->n_body = vec.n;
    r->body_parsed = true;
}

/* AS '...' / $$...$$: where it stands (the first string token from the option on), and for
 * LANGUAGE sql its statements. */
static void string_body(Build *b, SqlRoutine *r, const cJSON *as, const char *text, bool parse)
{
    const SqlToks *t = b->src->toks;
    size_t i = b->first == SIZE_MAX ? SIZE_MAX : sql_tok_at(t, (size_t)num(as, "location"));
    while (i != SIZE_MAX && i <= b->last && i < t->n && t->t[i].kind != SQL_T_SCONST)
        i++;
    if (i != SIZE_MAX && (i > b->last || i >= t->n))
        i = SIZE_MAX;
    r->body_pos = tok_pos(b, i);
    if (!parse)
        return;
    SqlFrame frame = {r->body_pos.offset, false};
    if (i != SIZE_MAX && t->text[t->t[i].start] == '$') {
        /* A dollar-quoted body is the text itself: its statements' positions are exact. */
        const char *open = strchr(t->text + t->t[i].start + 1, '$');
        if (open) {
            size_t content = (size_t)(open + 1 - t->text);
            frame = (SqlFrame){sql_frame_map(b->src->frame, content), b->src->frame.exact};
        }
    }
    SqlStmtVec vec = {0};
    bool parsed;
    r->body_error = sql_parse_body(b->p, text, frame, &vec, &parsed);
    r->body_parsed = parsed;
    r->body = sql_arena_keep(b->a, vec.v, vec.n, sizeof *vec.v);
    r->n_body = vec.n;
}

static const char *lower(Build *b, const char *s)
{
    char *d = sql_arena_strdup(b->a, s);
    for (char *c = d; c && *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return d;
}

static void h_function(Build *b, const cJSON *f)
{
    SqlRoutine *r = sql_arena_alloc(b->a, sizeof *r);
    b->st->routine = r;
    bool procedure = flag(f, "is_procedure");
    r->kind = procedure ? SQL_ROUTINE_PROCEDURE : SQL_ROUTINE_FUNCTION;
    r->name = names(b, get(f, "funcname"));
    r->or_replace = flag(f, "replace");
    SqlObject *o =
        add_obj(b, SQL_ACT_CREATE, procedure ? SQL_OBJ_PROCEDURE : SQL_OBJ_FUNCTION, r->name);
    o->or_replace = r->or_replace;
    const cJSON *as = option(get(f, "options"), "as");
    const cJSON *language = option(get(f, "options"), "language");
    r->language = language ? lower(b, sval(get(language, "arg"))) : NULL;
    const cJSON *sql_body = get(f, "sql_body");
    if (sql_body) {
        r->body_form = SQL_BODY_ATOMIC;
        if (!r->language)
            r->language = "sql";
        atomic_body(b, r, sql_body);
        return;
    }
    const cJSON *parts = items(get(as, "arg"));
    if (cJSON_GetArraySize(parts) != 1) {
        r->body_form = SQL_BODY_NONE; /* AS 'obj_file', 'link_symbol', or none */
        r->body_pos = b->st->pos;
        return;
    }
    r->body_form = SQL_BODY_STRING;
    bool sql = r->language && strcmp(r->language, "sql") == 0;
    string_body(b, r, as, sval(parts->child), sql);
}

static void h_do(Build *b, const cJSON *f)
{
    SqlRoutine *r = sql_arena_alloc(b->a, sizeof *r);
    b->st->routine = r;
    r->kind = SQL_ROUTINE_DO;
    const cJSON *language = option(get(f, "args"), "language");
    r->language = language ? lower(b, sval(get(language, "arg"))) : "plpgsql";
    r->body_form = SQL_BODY_STRING;
    const cJSON *as = option(get(f, "args"), "as");
    string_body(b, r, as, sval(get(as, "arg")), false);
}

static void h_trigger(Build *b, const cJSON *f)
{
    SqlName table = rv(b, get(f, "relation"));
    b->st->relation = table;
    SqlObject *o =
        add_obj(b, SQL_ACT_CREATE, SQL_OBJ_TRIGGER, (SqlName){NULL, dup(b, str(f, "trigname"))});
    o->table = table;
    o->or_replace = flag(f, "replace");
    add_obj(b, SQL_ACT_REFERENCE, SQL_OBJ_TABLE, table);
}

static void policy(Build *b, const cJSON *f, SqlAction action)
{
    SqlName table = rv(b, get(f, "table"));
    b->st->relation = table;
    SqlObject *o =
        add_obj(b, action, SQL_OBJ_POLICY, (SqlName){NULL, dup(b, str(f, "policy_name"))});
    o->table = table;
    add_obj(b, SQL_ACT_REFERENCE, SQL_OBJ_TABLE, table);
}

static void h_policy(Build *b, const cJSON *f)
{
    policy(b, f, SQL_ACT_CREATE);
}

static void h_alter_policy(Build *b, const cJSON *f)
{
    policy(b, f, SQL_ACT_ALTER);
}

static SqlAlter *add_alter(Build *b, SqlAlterKind kind, const cJSON *cmd)
{
    PF_GROW(b->alt, b->cap_alt, b->n_alt + 1);
    SqlAlter *a = &b->alt[b->n_alt++];
    memset(a, 0, sizeof *a);
    a->kind = kind;
    a->subtype = dup(b, str(cmd, "subtype"));
    a->missing_ok = flag(cmd, "missing_ok");
    a->cascade = str_is(cmd, "behavior", "DROP_CASCADE");
    return a;
}

/* One AlterTableCmd on table. */
static void alter_cmd(Build *b, const cJSON *cmd, SqlName table)
{
    static const struct {
        const char *subtype;
        SqlAlterKind kind;
    } map[] = {
        {"AT_AddColumn", SQL_ALTER_ADD_COLUMN},
        {"AT_AddColumnToView", SQL_ALTER_ADD_COLUMN},
        {"AT_DropColumn", SQL_ALTER_DROP_COLUMN},
        {"AT_AlterColumnType", SQL_ALTER_COLUMN_TYPE},
        {"AT_SetNotNull", SQL_ALTER_SET_NOT_NULL},
        {"AT_DropNotNull", SQL_ALTER_DROP_NOT_NULL},
        {"AT_ColumnDefault", SQL_ALTER_SET_DEFAULT}, /* DROP DEFAULT: without a def */
        {"AT_AddConstraint", SQL_ALTER_ADD_CONSTRAINT},
        {"AT_DropConstraint", SQL_ALTER_DROP_CONSTRAINT},
        {"AT_ValidateConstraint", SQL_ALTER_VALIDATE_CONSTRAINT},
        {"AT_AttachPartition", SQL_ALTER_ATTACH_PARTITION},
        {"AT_DetachPartition", SQL_ALTER_DETACH_PARTITION},
        {"AT_DetachPartitionFinalize", SQL_ALTER_DETACH_PARTITION},
        {"AT_EnableRowSecurity", SQL_ALTER_ENABLE_RLS},
        {"AT_ForceRowSecurity", SQL_ALTER_ENABLE_RLS},
        {"AT_DisableRowSecurity", SQL_ALTER_DISABLE_RLS},
        {"AT_NoForceRowSecurity", SQL_ALTER_DISABLE_RLS},
    };
    SqlAlterKind kind = SQL_ALTER_OTHER;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (str_is(cmd, "subtype", map[i].subtype))
            kind = map[i].kind;
    const cJSON *def = get(cmd, "def"), *x;
    if (kind == SQL_ALTER_SET_DEFAULT && !def)
        kind = SQL_ALTER_DROP_DEFAULT;
    SqlAlter *a = add_alter(b, kind, cmd);
    a->column = dup(b, str(cmd, "name"));
    SqlObject *o = NULL;
    switch (kind) {
    case SQL_ALTER_ADD_COLUMN:
        if ((x = body_of(def, "ColumnDef"))) {
            a->def = add_column(b, x, table, a->missing_ok);
            a->column = a->def->name;
        }
        break;
    case SQL_ALTER_DROP_COLUMN:
        o = add_obj(b, SQL_ACT_DROP, SQL_OBJ_COLUMN, (SqlName){NULL, a->column});
        o->if_exists = a->missing_ok;
        o->cascade = a->cascade;
        break;
    case SQL_ALTER_COLUMN_TYPE:
        if ((x = body_of(def, "ColumnDef"))) {
            a->def = make_column(b, x);
            a->using_expr = get(x, "raw_default") != NULL;
        }
        o = add_obj(b, SQL_ACT_ALTER, SQL_OBJ_COLUMN, (SqlName){NULL, a->column});
        break;
    case SQL_ALTER_SET_DEFAULT:
        a->default_kind = default_kind(def);
        o = add_obj(b, SQL_ACT_ALTER, SQL_OBJ_COLUMN, (SqlName){NULL, a->column});
        break;
    case SQL_ALTER_SET_NOT_NULL:
    case SQL_ALTER_DROP_NOT_NULL:
    case SQL_ALTER_DROP_DEFAULT:
        o = add_obj(b, SQL_ACT_ALTER, SQL_OBJ_COLUMN, (SqlName){NULL, a->column});
        break;
    case SQL_ALTER_ADD_CONSTRAINT:
        a->column = NULL;
        if ((x = body_of(def, "Constraint")))
            a->constraint = add_constraint(b, x, NULL, table);
        break;
    case SQL_ALTER_DROP_CONSTRAINT:
    case SQL_ALTER_VALIDATE_CONSTRAINT:
        a->name = a->column;
        a->column = NULL;
        o = add_obj(b, kind == SQL_ALTER_DROP_CONSTRAINT ? SQL_ACT_DROP : SQL_ACT_ALTER,
                    SQL_OBJ_CONSTRAINT, (SqlName){NULL, a->name});
        o->if_exists = a->missing_ok;
        o->cascade = a->cascade;
        break;
    case SQL_ALTER_ATTACH_PARTITION:
    case SQL_ALTER_DETACH_PARTITION:
        x = body_of(def, "PartitionCmd");
        a->partition = rv(b, get(x, "name"));
        a->concurrently = flag(x, "concurrent");
        if (a->concurrently)
            b->st->nontx = SQL_NONTX_DETACH_PARTITION_CONCURRENTLY;
        add_obj(b, SQL_ACT_REFERENCE, SQL_OBJ_TABLE, a->partition);
        break;
    default:
        break;
    }
    if (o)
        o->table = table;
}

/* The next non-comment token after i within the statement, or SIZE_MAX. */
static size_t next_tok(const Build *b, size_t i)
{
    const SqlToks *t = b->src->toks;
    for (i++; i <= b->last && i < t->n; i++)
        if (!sql_tok_comment(t, i))
            return i;
    return SIZE_MAX;
}

/* Where each of the n subcommands of ALTER TABLE starts: the parse tree keeps no location for
 * an AlterTableCmd, so the tokens say it. The first starts after the relation's name (at
 * name_loc: name, .name, .name, and an inheritance '*'), the others after each comma outside
 * parentheses and brackets. false when the tokens do not give n starts. */
static bool alter_starts(const Build *b, long name_loc, size_t *starts, size_t n)
{
    const SqlToks *t = b->src->toks;
    if (b->first == SIZE_MAX || name_loc < 0 || !b->src->frame.exact)
        return false;
    size_t i = sql_tok_at(t, (size_t)name_loc);
    if (i < b->first || i > b->last)
        return false;
    i = next_tok(b, i);
    while (i != SIZE_MAX && t->t[i].kind == SQL_T_DOT)
        i = next_tok(b, next_tok(b, i));
    if (i != SIZE_MAX && t->t[i].kind == SQL_T_STAR)
        i = next_tok(b, i);
    size_t k = 0;
    int depth = 0;
    for (bool start = true; i != SIZE_MAX; i = next_tok(b, i)) {
        int kind = t->t[i].kind;
        if (start && k < n)
            starts[k] = i;
        k += start;
        start = false;
        if (kind == SQL_T_LPAREN || kind == SQL_T_LBRACKET)
            depth++;
        else if (kind == SQL_T_RPAREN || kind == SQL_T_RBRACKET)
            depth--;
        else if (kind == SQL_T_COMMA && depth == 0)
            start = true;
        else if (kind == SQL_T_SEMI && depth == 0)
            break;
    }
    return k == n;
}

static void h_alter_table(Build *b, const cJSON *f)
{
    SqlName table = rv(b, get(f, "relation"));
    b->st->relation = table;
    add_obj_type(b, SQL_ACT_ALTER, str(f, "objtype"), table)->if_exists = flag(f, "missing_ok");
    size_t first = b->n_alt;
    const cJSON *c;
    cJSON_ArrayForEach(c, get(f, "cmds"))
    {
        const cJSON *cmd = body_of(c, "AlterTableCmd");
        if (cmd)
            alter_cmd(b, cmd, table);
    }
    size_t n = b->n_alt - first;
    size_t *starts = pf_calloc(n ? n : 1, sizeof *starts);
    bool known =
        n > 1 && (size_t)cJSON_GetArraySize(get(f, "cmds")) == n &&
        alter_starts(b, num(unwrap(get(f, "relation"), "RangeVar"), "location"), starts, n);
    for (size_t k = 0; k < n; k++)
        b->alt[first + k].pos = tok_pos(b, known ? starts[k] : SIZE_MAX);
    free(starts);
}

static void h_alter_enum(Build *b, const cJSON *f)
{
    SqlName type = names(b, get(f, "typeName"));
    add_obj(b, SQL_ACT_ALTER, SQL_OBJ_TYPE, type)->type_form = SQL_TYPE_ENUM;
    PF_GROW(b->ev, b->cap_ev, b->n_ev + 1);
    SqlEnumValue *v = &b->ev[b->n_ev++];
    memset(v, 0, sizeof *v);
    v->type = type;
    v->value = dup(b, str(f, "newVal"));
    v->old_value = dup(b, str(f, "oldVal"));
    v->neighbor = dup(b, str(f, "newValNeighbor"));
    v->after = flag(f, "newValIsAfter");
    v->if_not_exists = flag(f, "skipIfNewValExists");
    if (!v->old_value)
        b->st->nontx = SQL_NONTX_ALTER_TYPE_ADD_VALUE;
}

/* An object named the way DROP, COMMENT and ALTER ... SET SCHEMA name them. Triggers,
 * policies and rules are [schema, table, name]. */
static SqlName object_name(Build *b, const cJSON *n, SqlObjKind kind, const char *what,
                           SqlName *table)
{
    const cJSON *x;
    if (sval(n))
        return (SqlName){NULL, dup(b, sval(n))};
    if ((x = body_of(n, "TypeName")))
        return names(b, get(x, "names"));
    if ((x = body_of(n, "ObjectWithArgs")))
        return names(b, get(x, "objname"));
    const cJSON *arr = items(n);
    int len = cJSON_GetArraySize(arr);
    if (len >= 2 && (kind == SQL_OBJ_TRIGGER || kind == SQL_OBJ_POLICY ||
                     (kind == SQL_OBJ_OTHER && strcmp(what, "rule") == 0))) {
        table->name = dup(b, sval(cJSON_GetArrayItem(arr, len - 2)));
        table->schema = len >= 3 ? dup(b, sval(cJSON_GetArrayItem(arr, len - 3))) : NULL;
        return (SqlName){NULL, dup(b, sval(cJSON_GetArrayItem(arr, len - 1)))};
    }
    return names(b, n);
}

static void h_drop(Build *b, const cJSON *f)
{
    const char *what;
    SqlObjKind kind = obj_kind(b, str(f, "removeType"), &what);
    bool concurrent = flag(f, "concurrent");
    if (kind == SQL_OBJ_INDEX && concurrent)
        b->st->nontx = SQL_NONTX_DROP_INDEX_CONCURRENTLY;
    const cJSON *e;
    cJSON_ArrayForEach(e, get(f, "objects"))
    {
        SqlName table = {0};
        SqlName name = object_name(b, e, kind, what, &table);
        SqlObject *o = add_obj(b, SQL_ACT_DROP, kind, name);
        o->what = what;
        o->table = table;
        o->if_exists = flag(f, "missing_ok");
        o->cascade = str_is(f, "behavior", "DROP_CASCADE");
        o->concurrently = concurrent;
    }
}

static void h_rename(Build *b, const cJSON *f)
{
    const char *type = str(f, "renameType");
    const char *what;
    SqlObjKind kind = obj_kind(b, type, &what);
    const cJSON *rel = get(f, "relation");
    SqlName table = {0}, name;
    if (rel)
        b->st->relation = rv(b, rel);
    const char *sub = str(f, "subname");
    if (kind == SQL_OBJ_COLUMN || kind == SQL_OBJ_TRIGGER || kind == SQL_OBJ_POLICY ||
        (kind == SQL_OBJ_CONSTRAINT && rel) || (kind == SQL_OBJ_OTHER && rel && sub)) {
        name = (SqlName){NULL, dup(b, sub)};
        table = b->st->relation;
    } else if (kind == SQL_OBJ_CONSTRAINT) { /* ALTER DOMAIN d RENAME CONSTRAINT */
        name = (SqlName){NULL, dup(b, sub)};
        table = object_name(b, get(f, "object"), SQL_OBJ_DOMAIN, "domain", &table);
    } else if (rel) {
        name = b->st->relation;
    } else if (sub) {
        name = (SqlName){NULL, dup(b, sub)};
    } else {
        name = object_name(b, get(f, "object"), kind, what, &table);
    }
    SqlObject *o = add_obj(b, SQL_ACT_RENAME, kind, name);
    o->what = what;
    o->table = table;
    o->new_name = dup(b, str(f, "newname"));
    o->if_exists = flag(f, "missing_ok");
}

static void h_set_schema(Build *b, const cJSON *f)
{
    const char *what;
    SqlObjKind kind = obj_kind(b, str(f, "objectType"), &what);
    SqlName table = {0};
    const cJSON *rel = get(f, "relation");
    SqlName name = rel ? rv(b, rel) : object_name(b, get(f, "object"), kind, what, &table);
    SqlObject *o = add_obj(b, SQL_ACT_SET_SCHEMA, kind, name);
    o->what = what;
    o->new_name = dup(b, str(f, "newschema"));
    o->if_exists = flag(f, "missing_ok");
}

static void h_transaction(Build *b, const cJSON *f)
{
    static const struct {
        const char *kind;
        SqlTx tx;
    } map[] = {
        {"TRANS_STMT_BEGIN", SQL_TX_BEGIN},
        {"TRANS_STMT_START", SQL_TX_BEGIN},
        {"TRANS_STMT_COMMIT", SQL_TX_COMMIT},
        {"TRANS_STMT_ROLLBACK", SQL_TX_ROLLBACK},
        {"TRANS_STMT_SAVEPOINT", SQL_TX_SAVEPOINT},
        {"TRANS_STMT_RELEASE", SQL_TX_RELEASE},
        {"TRANS_STMT_ROLLBACK_TO", SQL_TX_ROLLBACK_TO},
        {"TRANS_STMT_PREPARE", SQL_TX_PREPARE},
        {"TRANS_STMT_COMMIT_PREPARED", SQL_TX_COMMIT_PREPARED},
        {"TRANS_STMT_ROLLBACK_PREPARED", SQL_TX_ROLLBACK_PREPARED},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (str_is(f, "kind", map[i].kind))
            b->st->tx = map[i].tx;
    b->st->tx_chain = flag(f, "chain");
    if (b->st->tx == SQL_TX_COMMIT_PREPARED)
        b->st->nontx = SQL_NONTX_COMMIT_PREPARED;
    else if (b->st->tx == SQL_TX_ROLLBACK_PREPARED)
        b->st->nontx = SQL_NONTX_ROLLBACK_PREPARED;
}

static void database(Build *b, const cJSON *f, SqlAction action, SqlNonTx nontx)
{
    add_obj(b, action, SQL_OBJ_DATABASE, (SqlName){NULL, dup(b, str(f, "dbname"))})->if_exists =
        flag(f, "missing_ok");
    b->st->nontx = nontx;
}

static void h_createdb(Build *b, const cJSON *f)
{
    database(b, f, SQL_ACT_CREATE, SQL_NONTX_CREATE_DATABASE);
}

static void h_dropdb(Build *b, const cJSON *f)
{
    database(b, f, SQL_ACT_DROP, SQL_NONTX_DROP_DATABASE);
}

static void h_alterdb(Build *b, const cJSON *f)
{
    database(b, f, SQL_ACT_ALTER,
             option(get(f, "options"), "tablespace") ? SQL_NONTX_ALTER_DATABASE_SET_TABLESPACE
                                                     : SQL_NONTX_NONE);
}

static void tablespace(Build *b, const cJSON *f, SqlAction action, SqlNonTx nontx)
{
    add_obj(b, action, SQL_OBJ_TABLESPACE, (SqlName){NULL, dup(b, str(f, "tablespacename"))})
        ->if_exists = flag(f, "missing_ok");
    b->st->nontx = nontx;
}

static void h_create_tablespace(Build *b, const cJSON *f)
{
    tablespace(b, f, SQL_ACT_CREATE, SQL_NONTX_CREATE_TABLESPACE);
}

static void h_drop_tablespace(Build *b, const cJSON *f)
{
    tablespace(b, f, SQL_ACT_DROP, SQL_NONTX_DROP_TABLESPACE);
}

static void h_alter_system(Build *b, const cJSON *f)
{
    b->st->nontx = SQL_NONTX_ALTER_SYSTEM;
}

static void h_vacuum(Build *b, const cJSON *f)
{
    if (flag(f, "is_vacuumcmd"))
        b->st->nontx = SQL_NONTX_VACUUM;
}

static void h_reindex(Build *b, const cJSON *f)
{
    const cJSON *concurrently = option(get(f, "params"), "concurrently");
    if (concurrently && option_bool(concurrently))
        b->st->nontx = SQL_NONTX_REINDEX_CONCURRENTLY;
    else if (str_is(f, "kind", "REINDEX_OBJECT_SCHEMA"))
        b->st->nontx = SQL_NONTX_REINDEX_SCHEMA;
    else if (str_is(f, "kind", "REINDEX_OBJECT_SYSTEM"))
        b->st->nontx = SQL_NONTX_REINDEX_SYSTEM;
    else if (str_is(f, "kind", "REINDEX_OBJECT_DATABASE"))
        b->st->nontx = SQL_NONTX_REINDEX_DATABASE;
    b->st->relation = rv(b, get(f, "relation"));
}

static void h_cluster(Build *b, const cJSON *f)
{
    if (!get(f, "relation"))
        b->st->nontx = SQL_NONTX_CLUSTER;
    b->st->relation = rv(b, get(f, "relation"));
}

static void h_discard(Build *b, const cJSON *f)
{
    if (str_is(f, "target", "DISCARD_ALL"))
        b->st->nontx = SQL_NONTX_DISCARD_ALL;
}

static bool option_false(const cJSON *options, const char *name)
{
    const cJSON *de = option(options, name);
    return de && !option_bool(de);
}

static void h_create_subscription(Build *b, const cJSON *f)
{
    const cJSON *o = get(f, "options");
    if (!option_false(o, "create_slot") && !option_false(o, "connect"))
        b->st->nontx = SQL_NONTX_CREATE_SUBSCRIPTION;
}

static void h_alter_subscription(Build *b, const cJSON *f)
{
    const char *kind = str(f, "kind");
    bool refresh = kind && strcmp(kind, "ALTER_SUBSCRIPTION_REFRESH") == 0;
    bool publication = kind && strstr(kind, "_PUBLICATION") != NULL;
    if (refresh || (publication && !option_false(get(f, "options"), "refresh")))
        b->st->nontx = SQL_NONTX_ALTER_SUBSCRIPTION;
}

static void h_drop_subscription(Build *b, const cJSON *f)
{
    b->st->nontx = SQL_NONTX_DROP_SUBSCRIPTION;
}

static void h_relation(Build *b, const cJSON *f)
{
    b->st->relation = rv(b, get(f, "relation"));
}

static void table_list(Build *b, const cJSON *f, SqlAction action)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, get(f, "relations")) add_obj(b, action, SQL_OBJ_TABLE, rv(b, e));
}

static void h_truncate(Build *b, const cJSON *f)
{
    table_list(b, f, SQL_ACT_TRUNCATE);
}

static void h_lock(Build *b, const cJSON *f)
{
    table_list(b, f, SQL_ACT_LOCK);
}

static void h_call(Build *b, const cJSON *f)
{
    b->st->call = names(b, get(get(f, "funccall"), "funcname"));
}

/* Statement node -> kind and handler. Nodes not listed are SQL_KIND_OTHER, or ALTER_OTHER /
 * DROP when their name starts so (AlterOwnerStmt, DropRoleStmt...). */
static const struct {
    const char *tag;
    SqlKind kind;
    void (*fn)(Build *b, const cJSON *fields);
} handlers[] = {
    {"TransactionStmt", SQL_KIND_TRANSACTION, h_transaction},
    {"CreateStmt", SQL_KIND_CREATE_TABLE, h_create_table},
    {"CreateForeignTableStmt", SQL_KIND_CREATE_TABLE, h_create_foreign_table},
    {"CreateTableAsStmt", SQL_KIND_CREATE_TABLE, h_create_table_as},
    {"ViewStmt", SQL_KIND_CREATE_VIEW, h_view},
    {"CreateSeqStmt", SQL_KIND_CREATE_SEQUENCE, h_sequence},
    {"IndexStmt", SQL_KIND_CREATE_INDEX, h_index},
    {"CreateEnumStmt", SQL_KIND_CREATE_TYPE, h_enum},
    {"CompositeTypeStmt", SQL_KIND_CREATE_TYPE, h_composite},
    {"CreateRangeStmt", SQL_KIND_CREATE_TYPE, h_range},
    {"DefineStmt", SQL_KIND_CREATE_TYPE, h_define},
    {"CreateDomainStmt", SQL_KIND_CREATE_TYPE, h_domain},
    {"CreateSchemaStmt", SQL_KIND_CREATE_SCHEMA, h_schema},
    {"CreateExtensionStmt", SQL_KIND_CREATE_EXTENSION, h_extension},
    {"CreateFunctionStmt", SQL_KIND_CREATE_FUNCTION, h_function},
    {"CreateTrigStmt", SQL_KIND_CREATE_TRIGGER, h_trigger},
    {"CreatePolicyStmt", SQL_KIND_CREATE_POLICY, h_policy},
    {"AlterTableStmt", SQL_KIND_ALTER_TABLE, h_alter_table},
    {"AlterEnumStmt", SQL_KIND_ALTER_TYPE, h_alter_enum},
    {"AlterPolicyStmt", SQL_KIND_ALTER_POLICY, h_alter_policy},
    {"AlterObjectSchemaStmt", SQL_KIND_ALTER_OTHER, h_set_schema},
    {"AlterDatabaseStmt", SQL_KIND_ALTER_OTHER, h_alterdb},
    {"AlterSubscriptionStmt", SQL_KIND_ALTER_OTHER, h_alter_subscription},
    {"AlterSystemStmt", SQL_KIND_OTHER, h_alter_system},
    {"RenameStmt", SQL_KIND_RENAME, h_rename},
    {"DropStmt", SQL_KIND_DROP, h_drop},
    {"DropdbStmt", SQL_KIND_DROP, h_dropdb},
    {"DropTableSpaceStmt", SQL_KIND_DROP, h_drop_tablespace},
    {"DropSubscriptionStmt", SQL_KIND_DROP, h_drop_subscription},
    {"CreatedbStmt", SQL_KIND_OTHER, h_createdb},
    {"CreateTableSpaceStmt", SQL_KIND_OTHER, h_create_tablespace},
    {"CreateSubscriptionStmt", SQL_KIND_OTHER, h_create_subscription},
    {"SelectStmt", SQL_KIND_SELECT, h_select},
    {"InsertStmt", SQL_KIND_INSERT, h_relation},
    {"UpdateStmt", SQL_KIND_UPDATE, h_relation},
    {"DeleteStmt", SQL_KIND_DELETE, h_relation},
    {"MergeStmt", SQL_KIND_MERGE, h_relation},
    {"CopyStmt", SQL_KIND_COPY, h_relation},
    {"TruncateStmt", SQL_KIND_TRUNCATE, h_truncate},
    {"LockStmt", SQL_KIND_LOCK, h_lock},
    {"CallStmt", SQL_KIND_CALL, h_call},
    {"DoStmt", SQL_KIND_DO, h_do},
    {"VacuumStmt", SQL_KIND_MAINTENANCE, h_vacuum},
    {"ReindexStmt", SQL_KIND_MAINTENANCE, h_reindex},
    {"ClusterStmt", SQL_KIND_MAINTENANCE, h_cluster},
    {"CheckPointStmt", SQL_KIND_MAINTENANCE, NULL},
    {"RefreshMatViewStmt", SQL_KIND_MAINTENANCE, NULL},
    {"DiscardStmt", SQL_KIND_OTHER, h_discard},
};

static void dispatch(Build *b, const char *tag, const cJSON *f)
{
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++) {
        if (strcmp(tag, handlers[i].tag) == 0) {
            b->st->kind = handlers[i].kind;
            if (handlers[i].fn)
                handlers[i].fn(b, f);
            return;
        }
    }
    b->st->kind = strncmp(tag, "Alter", 5) == 0  ? SQL_KIND_ALTER_OTHER
                  : strncmp(tag, "Drop", 4) == 0 ? SQL_KIND_DROP
                                                 : SQL_KIND_OTHER;
}

void sql_classify(SqlParser *p, const SqlSource *src, const cJSON *stmt, size_t first, size_t last,
                  SqlStatement *st)
{
    Build b = {
        .p = p, .a = sql_parser_arena(p), .src = src, .first = first, .last = last, .st = st};
    const char *tag = tag_of(stmt);
    st->kind = SQL_KIND_OTHER;
    if (!tag)
        return;
    st->node = dup(&b, tag);
    dispatch(&b, tag, stmt->child);
    walk(&b, stmt);
    st->objects = sql_arena_keep(b.a, b.obj, b.n_obj, sizeof *b.obj);
    st->n_objects = b.n_obj;
    st->alters = sql_arena_keep(b.a, b.alt, b.n_alt, sizeof *b.alt);
    st->n_alters = b.n_alt;
    st->enum_values = sql_arena_keep(b.a, b.ev, b.n_ev, sizeof *b.ev);
    st->n_enum_values = b.n_ev;
    st->strings = sql_arena_keep(b.a, b.str, b.n_str, sizeof *b.str);
    st->n_strings = b.n_str;
    st->dml = sql_arena_keep(b.a, b.dml, b.n_dml, sizeof *b.dml);
    st->n_dml = b.n_dml;
}
