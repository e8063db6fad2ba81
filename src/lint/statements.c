/*
 * Lint's statement checks. Each migration is split as drizzle-orm splits it (on
 * "--> statement-breakpoint"), each chunk is lexed (sqllex.c) and cut into statements at
 * top-level semicolons, and each statement is matched against the few shapes that matter:
 * DROP TABLE, ALTER TABLE actions, CREATE TABLE, ALTER TYPE ... ADD VALUE and the statements
 * that refuse to run inside a transaction block.
 *
 * A small model of the schema is carried across migrations, built from what the folder
 * itself creates: tables, their columns and the (unqualified) name of each column's type. It
 * tells a rename generated as drop+create (same columns under a new name) from a plain drop,
 * and which tables hold a column of an enum whose new value is used. What is created outside
 * the folder is unknown to it, and the checks then assume the less alarming answer.
 */
#include "codebase/internal.h"
#include "lint/internal.h"
#include "codebase/sqllex.h"
#include "sql/sql.h"

#include "core/mem.h"
#include "core/strset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct Column {
    char *name;
    char *type;    /* last component of the type's name ("user_role"), NULL when unknown */
    char *spelled; /* the type with its modifiers ("varchar(20)[]") when the parser read it */
} Column;

typedef struct Table {
    char *schema; /* NULL for public or unqualified */
    char *name;
    Column *cols;
    size_t n, cap;
} Table;

/* A value added by ALTER TYPE ... ADD VALUE: unusable until the transaction commits. */
typedef struct EnumValue {
    char *type; /* last component of the enum's name */
    char *value;
    char *migration; /* the migration that adds it: its name, and index in run order */
    size_t mig;
    int line;
} EnumValue;

struct LintSql {
    Table *tables;
    size_t n_tables, cap_tables;
    size_t *slots; /* the tables by name (table_find) */
    size_t cap_slots, used_slots;
    PfStrSet added; /* every value of s->values: a string equal to none is no use */
    EnumValue *values;
    size_t n_values, cap_values;
    size_t mig; /* index of the migration being checked */
};

/* A table or column dropped or created in the migration being checked; pairs of them are
 * matched when the migration ends. */
typedef struct Event {
    bool is_table;
    char *schema, *name; /* the table */
    char *column;        /* column events: the column */
    char *type;          /* column events: its type when known */
    char **cols;         /* table events: the column names (drops: as known before) */
    size_t n_cols;
    size_t off; /* where the statement or action starts */
    bool paired;
    bool written; /* column creates: a row write of this migration fills it (a backfill) */
} Event;

/* A column that a row write (UPDATE, INSERT, MERGE) of the migration fills. */
typedef struct Written {
    char *schema, *name, *column;
} Written;

/* The migration being checked. */
typedef struct Mig {
    LintSql *s;
    LintOut *o;
    const char *file, *migration, *text;
    Table *created; /* tables created earlier in this migration (names only) */
    size_t n_created, cap_created;
    Event *drops;
    size_t n_drops, cap_drops;
    Event *creates;
    size_t n_creates, cap_creates;
    Written *written;
    size_t n_written, cap_written;
    size_t *lines; /* offset of each line's start in text, for positions */
    size_t n_lines;
    bool bom;     /* text starts with a BOM: not counted as a column of line 1 */
    bool escaped; /* an earlier statement ended drizzle's transaction */
} Mig;

/* One statement: its tokens, whose offsets point into the migration's text. */
typedef SqlStmt Stmt;

/* ---- tokens ----------------------------------------------------------------------------- */

/* A possibly qualified name at *i; the public schema counts as unqualified (NULL). */
static bool qname(const Stmt *st, size_t *i, char **schema, char **name)
{
    if (!sqlstmt_qname(st, i, schema, name))
        return false;
    if (*schema && strcmp(*schema, "public") == 0) {
        free(*schema);
        *schema = NULL;
    }
    return true;
}

/* The last component of a type name at i ("public"."user_role" -> user_role), or NULL. */
static char *type_name(const Stmt *st, size_t i)
{
    char *schema, *name;
    if (!qname(st, &i, &schema, &name))
        return NULL;
    free(schema);
    return name;
}

static char *display(const char *schema, const char *name)
{
    return schema ? pf_asprintf("%s.%s", schema, name) : pf_strdup(name);
}

static bool same_table(const char *s1, const char *n1, const char *s2, const char *n2)
{
    return strcmp(n1, n2) == 0 && (s1 && s2 ? strcmp(s1, s2) == 0 : s1 == s2);
}

static bool streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* ---- the schema model ------------------------------------------------------------------- */

static void columns_free(Column *cols, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(cols[i].name);
        free(cols[i].type);
        free(cols[i].spelled);
    }
    free(cols);
}

/* The tables by name: open addressing over s->tables, so that finding one costs the same
 * however many the folder has created. A slot holds a table's index + 1; 0 is empty,
 * SLOT_GONE a removed entry that probes go past. */
#define SLOT_GONE SIZE_MAX

static size_t name_hash(const char *schema, const char *name)
{
    size_t h = 1469598103934665603u; /* FNV-1a */
    for (const char *p = schema ? schema : ""; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    h = (h ^ '.') * 1099511628211u;
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    return h;
}

/* The slot of the table named so, or of where it would go (the first empty one). */
static size_t *slot_of(LintSql *s, const char *schema, const char *name)
{
    size_t mask = s->cap_slots - 1, i = name_hash(schema, name) & mask;
    size_t *gone = NULL;
    for (;; i = (i + 1) & mask) {
        size_t v = s->slots[i];
        if (v == 0)
            return gone ? gone : &s->slots[i];
        if (v == SLOT_GONE) {
            if (!gone)
                gone = &s->slots[i];
            continue;
        }
        const Table *t = &s->tables[v - 1];
        if (same_table(t->schema, t->name, schema, name))
            return &s->slots[i];
    }
}

/* Room for one more: the slots at most half used (removed ones included), else rebuilt. */
static void slots_reserve(LintSql *s)
{
    if (s->cap_slots && 2 * (s->used_slots + 1) <= s->cap_slots)
        return;
    size_t cap = 16;
    while (cap < 4 * (s->n_tables + 1))
        cap *= 2;
    free(s->slots);
    s->slots = pf_calloc(cap, sizeof *s->slots);
    s->cap_slots = cap;
    s->used_slots = s->n_tables;
    for (size_t i = 0; i < s->n_tables; i++)
        *slot_of(s, s->tables[i].schema, s->tables[i].name) = i + 1;
}

static Table *table_find(LintSql *s, const char *schema, const char *name)
{
    if (!s->cap_slots)
        return NULL;
    size_t v = *slot_of(s, schema, name);
    return v && v != SLOT_GONE ? &s->tables[v - 1] : NULL;
}

static void table_drop(LintSql *s, const char *schema, const char *name)
{
    Table *t = table_find(s, schema, name);
    if (!t)
        return;
    *slot_of(s, schema, name) = SLOT_GONE;
    free(t->schema);
    free(t->name);
    columns_free(t->cols, t->n);
    size_t last = --s->n_tables;
    if (t != &s->tables[last]) {
        const Table *moved = &s->tables[last];
        *slot_of(s, moved->schema, moved->name) = (size_t)(t - s->tables) + 1;
        *t = *moved;
    }
}

/* Replace (or add) the table; cols are taken over. */
static void table_put(LintSql *s, const char *schema, const char *name, Column *cols, size_t n)
{
    table_drop(s, schema, name);
    slots_reserve(s);
    PF_GROW(s->tables, s->cap_tables, s->n_tables + 1);
    s->tables[s->n_tables++] = (Table){pf_strdup(schema), pf_strdup(name), cols, n, n};
    size_t *slot = slot_of(s, schema, name);
    if (*slot == 0)
        s->used_slots++;
    *slot = s->n_tables;
}

/* Give table t (one of s->tables) its new name. */
static void table_rename(LintSql *s, Table *t, const char *to)
{
    if (table_find(s, t->schema, to))
        return; /* the server refuses it: the model stays as it was */
    *slot_of(s, t->schema, t->name) = SLOT_GONE;
    free(t->name);
    t->name = pf_strdup(to);
    slots_reserve(s);
    size_t *slot = slot_of(s, t->schema, t->name);
    if (*slot == 0)
        s->used_slots++;
    *slot = (size_t)(t - s->tables) + 1;
}

static Column *column_find(Table *t, const char *name)
{
    for (size_t i = 0; t && i < t->n; i++) {
        if (strcmp(t->cols[i].name, name) == 0)
            return &t->cols[i];
    }
    return NULL;
}

static void column_add(Table *t, const char *name, const char *type)
{
    if (!t || column_find(t, name))
        return;
    PF_GROW(t->cols, t->cap, t->n + 1);
    t->cols[t->n++] = (Column){pf_strdup(name), pf_strdup(type), NULL};
}

static void column_drop(Table *t, const char *name)
{
    Column *c = column_find(t, name);
    if (!c)
        return;
    free(c->name);
    free(c->type);
    free(c->spelled);
    *c = t->cols[--t->n];
}

/* ---- the migration being checked -------------------------------------------------------- */

static bool created_here(const Mig *m, const char *schema, const char *name)
{
    for (size_t i = 0; i < m->n_created; i++) {
        if (same_table(m->created[i].schema, m->created[i].name, schema, name))
            return true;
    }
    return false;
}

static void created_add(Mig *m, const char *schema, const char *name)
{
    if (created_here(m, schema, name))
        return;
    PF_GROW(m->created, m->cap_created, m->n_created + 1);
    m->created[m->n_created++] = (Table){pf_strdup(schema), pf_strdup(name), NULL, 0, 0};
}

static void created_remove(Mig *m, const char *schema, const char *name)
{
    for (size_t i = 0; i < m->n_created; i++) {
        if (same_table(m->created[i].schema, m->created[i].name, schema, name)) {
            free(m->created[i].schema);
            free(m->created[i].name);
            m->created[i] = m->created[--m->n_created];
            return;
        }
    }
}

static Event *event_push(Event **arr, size_t *n, size_t *cap, bool is_table, const char *schema,
                         const char *name, size_t off)
{
    PF_GROW(*arr, *cap, *n + 1);
    Event *e = &(*arr)[(*n)++];
    memset(e, 0, sizeof *e);
    e->is_table = is_table;
    e->schema = pf_strdup(schema);
    e->name = pf_strdup(name);
    e->off = off;
    return e;
}

/* The column names of a table, as an event keeps them. */
static void event_columns(Event *e, const Column *cols, size_t n)
{
    e->cols = pf_malloc((n ? n : 1) * sizeof *e->cols);
    for (size_t i = 0; i < n; i++)
        e->cols[i] = pf_strdup(cols[i].name);
    e->n_cols = n;
}

static void events_free(Event *arr, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(arr[i].schema);
        free(arr[i].name);
        free(arr[i].column);
        free(arr[i].type);
        for (size_t j = 0; j < arr[i].n_cols; j++)
            free(arr[i].cols[j]);
        free(arr[i].cols);
    }
    free(arr);
}

/* Line and column of offset off: the line found by bisection in m->lines, the column counted
 * from the line's start, so that a position costs the length of its line, not of the file. */
static void position(const Mig *m, size_t off, int *line, int *col)
{
    size_t lo = 0, hi = m->n_lines;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->lines[mid] <= off)
            lo = mid;
        else
            hi = mid;
    }
    size_t l, c;
    cb_text_position(m->text + m->lines[lo], off - m->lines[lo], &l, &c);
    if (lo == 0 && m->bom && off >= 3)
        c--;
    *line = (int)(lo + 1);
    *col = (int)c;
}

static void emit_at(Mig *m, const char *rule, size_t off, char *message, char *hint)
{
    int line, col;
    position(m, off, &line, &col);
    lint_emit(m->o, rule, m->file, m->migration, line, col, message, hint);
}

/* ---- the rules -------------------------------------------------------------------------- */

static void non_transactional(Mig *m, const Stmt *st, const char *what, const char *hint)
{
    if (m->escaped)
        return; /* drizzle's transaction has ended (model_nontx says more of a parsed chunk) */
    emit_at(m, "non-transactional", st->t[0].start,
            pf_asprintf("%s cannot run inside a transaction block, and drizzle-orm runs all "
                        "pending migrations in one: this migration fails and the whole run is "
                        "rolled back",
                        what),
            pf_strdup(hint));
}

static const char HINT_ADMIN[] =
    "do it outside the migrations: it is server administration, not schema";

/* A string literal cast to a type other than the enum ('x'::text) is no use of its value. */
static bool cast_elsewhere(const Stmt *st, size_t i, const char *type)
{
    if (!(sqlstmt_op(st, i + 1, ':') && sqlstmt_op(st, i + 2, ':')))
        return false;
    char *t = type_name(st, i + 3);
    bool other = t && strcmp(t, type) != 0;
    free(t);
    return other;
}

/* Does the statement name the enum type, or a table with a column of that type? */
static bool mentions_enum(const LintSql *s, const Stmt *st, const char *type)
{
    for (size_t i = 0; i < st->n; i++) {
        char *name = sqlstmt_ident(st, i);
        if (!name)
            continue;
        bool hit = strcmp(name, type) == 0;
        for (size_t t = 0; !hit && t < s->n_tables; t++) {
            if (strcmp(s->tables[t].name, name) != 0)
                continue;
            for (size_t c = 0; !hit && c < s->tables[t].n; c++)
                hit = streq(s->tables[t].cols[c].type, type);
        }
        free(name);
        if (hit)
            return true;
    }
    return false;
}

/* A value added by ALTER TYPE ... ADD VALUE earlier in the run, used by this statement: a
 * string literal equal to it in a statement that names the enum or a table using it. */
static void check_enum_use(Mig *m, const Stmt *st)
{
    if ((sqlstmt_kw(st, 0, "create") || sqlstmt_kw(st, 0, "alter")) && sqlstmt_kw(st, 1, "type"))
        return;
    if (sqlstmt_kw(st, 0, "comment"))
        return;
    for (size_t v = 0; v < m->s->n_values; v++) {
        const EnumValue *ev = &m->s->values[v];
        if (!mentions_enum(m->s, st, ev->type))
            continue;
        for (size_t i = 0; i < st->n; i++) {
            if (st->t[i].kind != SQL_TOK_STRING)
                continue;
            char *value = sqllex_string(st->text, &st->t[i]);
            bool use = strcmp(value, ev->value) == 0 && !cast_elsewhere(st, i, ev->type);
            free(value);
            if (!use)
                continue;
            bool same = ev->mig == m->s->mig;
            emit_at(
                m, "enum-value-use", st->t[i].start,
                same ? pf_asprintf("'%s' is added to enum %s at line %d of this migration and "
                                   "used here in the same transaction: PostgreSQL fails with "
                                   "\"unsafe use of new value\"",
                                   ev->value, ev->type, ev->line)
                     : pf_asprintf("'%s' is added to enum %s by migration %s (line %d), and "
                                   "drizzle-orm runs all pending migrations in one transaction: "
                                   "wherever both are pending (every new database) PostgreSQL "
                                   "fails with \"unsafe use of new value\"",
                                   ev->value, ev->type, ev->migration, ev->line),
                same ? pf_strdup("add the value in one migration and use it in a later one, "
                                 "applied in a separate run (or with pgfleet's transaction: "
                                 "per-migration)")
                     : pf_strdup("apply the migration that adds the value everywhere before this "
                                 "one ships, or use pgfleet's transaction: per-migration"));
            break;
        }
    }
}

/* The columns between the parentheses of CREATE TABLE at i (the '('). */
static void read_columns(const Stmt *st, size_t i, Column **out, size_t *n_out)
{
    static const char *const not_columns[] = {"constraint", "primary", "unique", "check",
                                              "foreign",    "exclude", "like",   NULL};
    Column *cols = NULL;
    size_t n = 0, cap = 0;
    int depth = 0;
    bool at_start = true;
    for (; i < st->n; i++) {
        if (sqlstmt_op(st, i, '(')) {
            depth++;
            continue;
        }
        if (sqlstmt_op(st, i, ')') && --depth == 0)
            break;
        if (depth == 1 && sqlstmt_op(st, i, ',')) {
            at_start = true;
            continue;
        }
        if (depth != 1 || !at_start)
            continue;
        at_start = false;
        bool skip = false;
        for (size_t k = 0; not_columns[k] && !skip; k++)
            skip = sqlstmt_kw(st, i, not_columns[k]);
        if (skip || !sqlstmt_is_name(st, i))
            continue;
        PF_GROW(cols, cap, n + 1);
        cols[n++] = (Column){sqlstmt_ident(st, i), type_name(st, i + 1), NULL};
    }
    *out = cols;
    *n_out = n;
}

static void on_create(Mig *m, const Stmt *st)
{
    size_t i = 1;
    if (sqlstmt_kw(st, i, "or") && sqlstmt_kw(st, i + 1, "replace"))
        i += 2;
    if (sqlstmt_kw(st, i, "unique"))
        i++;
    if (sqlstmt_kw(st, i, "index")) {
        if (sqlstmt_kw(st, i + 1, "concurrently"))
            non_transactional(m, st, "CREATE INDEX CONCURRENTLY",
                              "drop CONCURRENTLY (writes to the table wait while the index "
                              "builds), or build the index outside drizzle's migrations");
        return;
    }
    if (sqlstmt_kw(st, i, "database") || sqlstmt_kw(st, i, "tablespace")) {
        non_transactional(m, st,
                          sqlstmt_kw(st, i, "database") ? "CREATE DATABASE" : "CREATE TABLESPACE",
                          HINT_ADMIN);
        return;
    }
    if (sqlstmt_kw(st, i, "global") || sqlstmt_kw(st, i, "local"))
        i++;
    if (sqlstmt_kw(st, i, "temporary") || sqlstmt_kw(st, i, "temp") ||
        sqlstmt_kw(st, i, "unlogged"))
        i++;
    if (!sqlstmt_kw(st, i, "table"))
        return;
    i++;
    sqlstmt_skip_if_exists(st, &i);
    char *schema, *name;
    if (!qname(st, &i, &schema, &name))
        return;
    Column *cols = NULL;
    size_t n = 0;
    if (sqlstmt_op(st, i, '('))
        read_columns(st, i, &cols, &n);
    Event *e =
        event_push(&m->creates, &m->n_creates, &m->cap_creates, true, schema, name, st->t[0].start);
    event_columns(e, cols, n);
    created_add(m, schema, name);
    table_put(m->s, schema, name, cols, n);
    free(schema);
    free(name);
}

static void on_drop(Mig *m, const Stmt *st)
{
    if (sqlstmt_kw(st, 1, "index") && sqlstmt_kw(st, 2, "concurrently")) {
        non_transactional(m, st, "DROP INDEX CONCURRENTLY",
                          "drop CONCURRENTLY (the table is locked while the index goes), or drop "
                          "the index outside drizzle's migrations");
        return;
    }
    if (sqlstmt_kw(st, 1, "database") || sqlstmt_kw(st, 1, "tablespace")) {
        non_transactional(
            m, st, sqlstmt_kw(st, 1, "database") ? "DROP DATABASE" : "DROP TABLESPACE", HINT_ADMIN);
        return;
    }
    if (!sqlstmt_kw(st, 1, "table"))
        return;
    size_t i = 2;
    sqlstmt_skip_if_exists(st, &i);
    char *schema, *name;
    while (qname(st, &i, &schema, &name)) {
        if (created_here(m, schema, name)) {
            created_remove(m, schema, name);
        } else {
            Event *e = event_push(&m->drops, &m->n_drops, &m->cap_drops, true, schema, name,
                                  st->t[0].start);
            Table *t = table_find(m->s, schema, name);
            event_columns(e, t ? t->cols : NULL, t ? t->n : 0);
        }
        table_drop(m->s, schema, name);
        free(schema);
        free(name);
        if (!sqlstmt_op(st, i, ','))
            break;
        i++;
    }
}

/* One action of ALTER TABLE, tokens [a, b). */
static void alter_action(Mig *m, const Stmt *st, const char *schema, const char *name, size_t a,
                         size_t b)
{
    static const char *const constraints[] = {"constraint", "primary", "unique", "check",
                                              "foreign",    "exclude", NULL};
    bool created = created_here(m, schema, name);
    Table *t = table_find(m->s, schema, name);
    char *shown = display(schema, name);
    size_t j = a + 1;
    if (sqlstmt_kw(st, a, "add")) {
        if (sqlstmt_kw(st, j, "column")) {
            j++;
        } else {
            for (size_t k = 0; constraints[k]; k++) {
                if (sqlstmt_kw(st, j, constraints[k]))
                    goto out;
            }
        }
        sqlstmt_skip_if_exists(st, &j);
        char *col = sqlstmt_ident(st, j);
        if (!col)
            goto out;
        char *type = type_name(st, j + 1);
        column_add(t, col, type);
        if (!created) {
            Event *e = event_push(&m->creates, &m->n_creates, &m->cap_creates, false, schema, name,
                                  st->t[a].start);
            e->column = col;
            e->type = type;
        } else {
            free(col);
            free(type);
        }
    } else if (sqlstmt_kw(st, a, "drop")) {
        if (sqlstmt_kw(st, j, "constraint"))
            goto out;
        if (sqlstmt_kw(st, j, "column"))
            j++;
        sqlstmt_skip_if_exists(st, &j);
        char *col = sqlstmt_ident(st, j);
        if (!col)
            goto out;
        if (!created) {
            Event *e = event_push(&m->drops, &m->n_drops, &m->cap_drops, false, schema, name,
                                  st->t[a].start);
            Column *c = column_find(t, col);
            e->type = c ? pf_strdup(c->type) : NULL;
            e->column = pf_strdup(col);
        }
        column_drop(t, col);
        free(col);
    } else if (sqlstmt_kw(st, a, "alter")) {
        if (sqlstmt_kw(st, j, "constraint"))
            goto out;
        if (sqlstmt_kw(st, j, "column"))
            j++;
        char *col = sqlstmt_ident(st, j);
        if (!col)
            goto out;
        j++;
        if (sqlstmt_kw(st, j, "type") ||
            (sqlstmt_kw(st, j, "set") && sqlstmt_kw(st, j + 1, "data") &&
             sqlstmt_kw(st, j + 2, "type"))) {
            Column *c = column_find(t, col);
            if (c) {
                free(c->type);
                free(c->spelled);
                c->type = type_name(st, sqlstmt_kw(st, j, "type") ? j + 1 : j + 3);
                c->spelled = NULL;
            }
            if (!created)
                emit_at(m, "alter-column-type", st->t[a].start,
                        pf_asprintf("changing the type of %s.%s can rewrite the table under an "
                                    "ACCESS EXCLUSIVE lock; values that do not convert fail the "
                                    "migration, and a narrower type can round or cut them",
                                    shown, col),
                        pf_strdup("check that the data converts as intended (USING for a "
                                  "non-trivial cast); on a large table prefer a new column, a "
                                  "backfill and a switch"));
        } else if (sqlstmt_kw(st, j, "set") && sqlstmt_kw(st, j + 1, "not") &&
                   sqlstmt_kw(st, j + 2, "null")) {
            if (!created)
                emit_at(m, "set-not-null", st->t[a].start,
                        pf_asprintf("SET NOT NULL on %s.%s, an existing column: PostgreSQL scans "
                                    "the whole table under an ACCESS EXCLUSIVE lock, and the "
                                    "migration fails if any row holds NULL",
                                    shown, col),
                        pf_asprintf("fill the NULLs first (UPDATE %s SET %s = ... WHERE %s IS "
                                    "NULL); on a large table validate a CHECK (%s IS NOT NULL) "
                                    "NOT VALID constraint beforehand",
                                    shown, col, col, col));
        }
        free(col);
    } else if (sqlstmt_kw(st, a, "rename")) {
        if (sqlstmt_kw(st, j, "to")) {
            char *to = sqlstmt_ident(st, j + 1);
            if (!to)
                goto out;
            if (t)
                table_rename(m->s, t, to);
            if (created) {
                created_remove(m, schema, name);
                created_add(m, schema, to);
            }
            free(to);
            goto out;
        }
        if (sqlstmt_kw(st, j, "constraint"))
            goto out;
        if (sqlstmt_kw(st, j, "column"))
            j++;
        char *from = sqlstmt_ident(st, j);
        char *to = sqlstmt_kw(st, j + 1, "to") ? sqlstmt_ident(st, j + 2) : NULL;
        Column *c = from && to && !column_find(t, to) ? column_find(t, from) : NULL;
        if (c) {
            free(c->name);
            c->name = to;
            to = NULL;
        }
        free(from);
        free(to);
    } else if (sqlstmt_kw(st, a, "detach") && sqlstmt_kw(st, j, "partition")) {
        for (size_t k = j; k < b; k++) {
            if (sqlstmt_kw(st, k, "concurrently")) {
                non_transactional(m, st, "ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY",
                                  "detach without CONCURRENTLY, or outside drizzle's migrations");
                break;
            }
        }
    }
out:
    free(shown);
}

static void on_alter_type(Mig *m, const Stmt *st)
{
    size_t i = 2;
    char *schema, *name;
    if (!qname(st, &i, &schema, &name))
        return;
    free(schema);
    if (sqlstmt_kw(st, i, "add") && sqlstmt_kw(st, i + 1, "value")) {
        i += 2;
        sqlstmt_skip_if_exists(st, &i);
        if (i < st->n && st->t[i].kind == SQL_TOK_STRING) {
            LintSql *s = m->s;
            int line, col;
            position(m, st->t[0].start, &line, &col);
            PF_GROW(s->values, s->cap_values, s->n_values + 1);
            s->values[s->n_values++] = (EnumValue){name, sqllex_string(st->text, &st->t[i]),
                                                   pf_strdup(m->migration), s->mig, line};
            pf_strset_add(&s->added, s->values[s->n_values - 1].value, s->n_values - 1, NULL);
            return;
        }
    }
    free(name);
}

static void on_alter(Mig *m, const Stmt *st)
{
    if (sqlstmt_kw(st, 1, "system")) {
        non_transactional(m, st, "ALTER SYSTEM", HINT_ADMIN);
        return;
    }
    if (sqlstmt_kw(st, 1, "type")) {
        on_alter_type(m, st);
        return;
    }
    if (!sqlstmt_kw(st, 1, "table"))
        return;
    size_t i = 2;
    sqlstmt_skip_if_exists(st, &i);
    if (sqlstmt_kw(st, i, "only"))
        i++;
    if (sqlstmt_kw(st, i, "all") && sqlstmt_kw(st, i + 1, "in"))
        return;
    char *schema, *name;
    if (!qname(st, &i, &schema, &name))
        return;
    if (sqlstmt_op(st, i, '*'))
        i++;
    /* Actions are separated by commas outside parentheses. */
    while (i < st->n) {
        size_t b = i;
        int depth = 0;
        for (; b < st->n; b++) {
            if (sqlstmt_op(st, b, '('))
                depth++;
            else if (sqlstmt_op(st, b, ')'))
                depth--;
            else if (depth == 0 && sqlstmt_op(st, b, ','))
                break;
        }
        alter_action(m, st, schema, name, i, b);
        i = b + 1;
    }
    free(schema);
    free(name);
}

static void on_reindex(Mig *m, const Stmt *st)
{
    bool concurrently = false;
    for (size_t k = 1; k < st->n; k++)
        concurrently = concurrently || sqlstmt_kw(st, k, "concurrently");
    size_t i = 1;
    if (sqlstmt_op(st, i, '(')) {
        while (i < st->n && !sqlstmt_op(st, i, ')'))
            i++;
        i++;
    }
    const char *what = sqlstmt_kw(st, i, "schema")     ? "REINDEX SCHEMA"
                       : sqlstmt_kw(st, i, "database") ? "REINDEX DATABASE"
                       : sqlstmt_kw(st, i, "system")   ? "REINDEX SYSTEM"
                                                       : NULL;
    if (concurrently)
        what = "REINDEX ... CONCURRENTLY";
    if (what)
        non_transactional(m, st, what, "run REINDEX outside the migrations: it changes no schema");
}

static void statement(Mig *m, const Stmt *st)
{
    if (st->n == 0)
        return;
    check_enum_use(m, st);
    if (sqlstmt_kw(st, 0, "create"))
        on_create(m, st);
    else if (sqlstmt_kw(st, 0, "drop"))
        on_drop(m, st);
    else if (sqlstmt_kw(st, 0, "alter"))
        on_alter(m, st);
    else if (sqlstmt_kw(st, 0, "reindex"))
        on_reindex(m, st);
    else if (sqlstmt_kw(st, 0, "vacuum"))
        non_transactional(m, st, "VACUUM",
                          "run VACUUM outside the migrations (autovacuum usually does it)");
}

/* A quoted token that runs to the end of its chunk: cut by the breakpoint at cut_at (offset
 * of the marker), or never closed when cut_at is SIZE_MAX. */
static void unterminated(Mig *m, const SqlToken *t, size_t cut_at)
{
    const char *what = t->kind == SQL_TOK_STRING  ? "string constant"
                       : t->kind == SQL_TOK_IDENT ? "quoted identifier"
                                                  : "dollar-quoted body";
    if (cut_at == SIZE_MAX) {
        emit_at(m, "unterminated", t->start,
                pf_asprintf("this %s is never closed: the statement fails", what),
                pf_strdup("close it"));
        return;
    }
    int line, col;
    position(m, cut_at, &line, &col);
    emit_at(m, "unterminated", t->start,
            pf_asprintf("this %s is cut by the statement-breakpoint at line %d: drizzle-orm runs "
                        "the two parts as separate statements, and both fail",
                        what, line),
            pf_strdup("remove that --> statement-breakpoint: it belongs between statements, "
                      "never inside one"));
}

/* Lex the chunk text[base, base + len) and check each of its statements. */
static void lint_chunk(Mig *m, size_t base, size_t len, size_t cut_at)
{
    SqlLexer lx;
    sqllex_init(&lx, m->text + base, len);
    SqlToken *toks = NULL, t;
    size_t n = 0, cap = 0;
    int atomic = 0; /* inside BEGIN ATOMIC ... END: semicolons do not end the statement */
    while (sqllex_next(&lx, &t) != SQL_TOK_END) {
        if (n == 0 && t.kind == SQL_TOK_OP && m->text[base + t.start] == '\\') {
            /* A psql meta-command (\set, \connect) runs to the end of its line. */
            const char *nl = memchr(m->text + base + t.start, '\n', len - t.start);
            lx.pos = nl ? (size_t)(nl - (m->text + base)) : len;
            continue;
        }
        t.start += base;
        if (t.unterminated)
            unterminated(m, &t, cut_at);
        if (t.kind == SQL_TOK_SEMI && atomic == 0) {
            statement(m, &(Stmt){m->text, toks, n});
            n = 0;
            continue;
        }
        PF_GROW(toks, cap, n + 1);
        toks[n++] = t;
        Stmt st = {m->text, toks, n};
        if (atomic == 0 && n >= 2 && sqlstmt_kw(&st, 0, "create") &&
            sqlstmt_kw(&st, n - 2, "begin") && sqlstmt_kw(&st, n - 1, "atomic"))
            atomic = 1;
        else if (atomic > 0 && sqlstmt_kw(&st, n - 1, "case"))
            atomic++;
        else if (atomic > 0 && sqlstmt_kw(&st, n - 1, "end"))
            atomic--;
    }
    statement(m, &(Stmt){m->text, toks, n});
    free(toks);
}

/* ---- the rules on the statement model ---------------------------------------------------- */

/* A name from the model, the public schema counting as unqualified (as qname does). */
static const char *schema_of(SqlName n)
{
    return n.schema && strcmp(n.schema, "public") == 0 ? NULL : n.schema;
}

/* Where a model position lies in the file: chunk base plus its offset. */
static size_t at(size_t base, SqlPos p)
{
    return base + p.offset;
}

static const char *nontx_hint(SqlNonTx why)
{
    switch (why) {
    case SQL_NONTX_CREATE_INDEX_CONCURRENTLY:
        return "put COMMIT; in a chunk of its own before it (a migration that ends drizzle's "
               "transaction, see escapes-transaction), drop CONCURRENTLY (writes to the table "
               "wait while the index builds), or build the index outside drizzle's migrations";
    case SQL_NONTX_DROP_INDEX_CONCURRENTLY:
        return "drop CONCURRENTLY (the table is locked while the index goes), or drop the index "
               "outside drizzle's migrations";
    case SQL_NONTX_REINDEX_CONCURRENTLY:
    case SQL_NONTX_REINDEX_SCHEMA:
    case SQL_NONTX_REINDEX_DATABASE:
    case SQL_NONTX_REINDEX_SYSTEM:
        return "run REINDEX outside the migrations: it changes no schema";
    case SQL_NONTX_VACUUM:
    case SQL_NONTX_CLUSTER:
        return "run it outside the migrations (autovacuum usually does VACUUM's work)";
    case SQL_NONTX_DETACH_PARTITION_CONCURRENTLY:
        return "detach without CONCURRENTLY, or outside drizzle's migrations";
    default:
        return HINT_ADMIN;
    }
}

/* The words non-transactional uses for a statement kind the token rules also name. */
static const char *nontx_what(SqlNonTx why)
{
    switch (why) {
    case SQL_NONTX_REINDEX_CONCURRENTLY:
        return "REINDEX ... CONCURRENTLY";
    case SQL_NONTX_DETACH_PARTITION_CONCURRENTLY:
        return "ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY";
    default:
        return sql_nontx_name(why);
    }
}

/* A statement that cannot run in a transaction block. Fine when drizzle's transaction has
 * ended (an earlier COMMIT) and it is the only statement of its chunk: drizzle sends each
 * chunk as one query, and a query of several statements is one implicit transaction block. */
static void model_nontx(Mig *m, const SqlStatement *st, size_t base, size_t n_in_chunk)
{
    if (st->nontx == SQL_NONTX_NONE || st->nontx == SQL_NONTX_ALTER_TYPE_ADD_VALUE)
        return;
    const char *what = nontx_what(st->nontx);
    if (m->escaped && n_in_chunk == 1)
        return;
    if (m->escaped) {
        emit_at(m, "non-transactional", at(base, st->pos),
                pf_asprintf("%s shares its chunk with other statements: drizzle-orm sends a "
                            "chunk as one query, which PostgreSQL runs as one transaction "
                            "block, and refuses %s in it",
                            what, what),
                pf_strdup("give it a chunk of its own: --> statement-breakpoint before and "
                          "after it"));
        m->o->r->findings[m->o->r->n - 1].certain = true;
        return;
    }
    emit_at(m, "non-transactional", at(base, st->pos),
            pf_asprintf("%s cannot run inside a transaction block, and drizzle-orm runs all "
                        "pending migrations in one: this migration fails and the whole run is "
                        "rolled back",
                        what),
            pf_strdup(nontx_hint(st->nontx)));
    m->o->r->findings[m->o->r->n - 1].certain = true;
}

/* The first statement that ends drizzle's transaction in this migration. */
static void model_escape(Mig *m, const SqlStatement *st, size_t base, size_t chunk, size_t n_chunks)
{
    if (m->escaped || !sql_ends_transaction(st))
        return;
    m->escaped = true;
    const char *word = sql_tx_name(st->tx);
    emit_at(m, "escapes-transaction", at(base, st->pos),
            pf_asprintf("this %s ends drizzle's transaction in chunk %zu of %zu: the statements "
                        "after it, and every later migration of the same run, run one by one "
                        "outside any transaction; if one of them fails, what ran before it "
                        "stays applied and the migration gets no ledger row, so the next run "
                        "starts it over",
                        word[0] ? word : "statement", chunk + 1, n_chunks),
            pf_strdup("make every statement after it safe to run again (IF NOT EXISTS, "
                      "CREATE INDEX CONCURRENTLY IF NOT EXISTS), or keep such statements in a "
                      "migration of their own"));
}

/* The model's table and column, when the folder created them. */
static Column *model_column(Mig *m, SqlName table, const char *column)
{
    if (!table.name || !column)
        return NULL;
    return column_find(table_find(m->s, schema_of(table), table.name), column);
}

/* Is string constant str of statement st a use of new enum value ev? Only where PostgreSQL
 * reads it as a value of that enum: cast to it, compared with or written to a column of it,
 * a default of such a column. 'x' compared with role::text, or written to a text column, is
 * text. */
static bool enum_use(Mig *m, const SqlStatement *st, const SqlString *str, const EnumValue *ev)
{
    if (strcmp(str->value, ev->value) != 0)
        return false;
    switch (str->use) {
    case SQL_STR_CAST:
    case SQL_STR_COMPARED_CAST:
        return streq(str->type.name, ev->type);
    case SQL_STR_DEFAULT:
        if (str->type.name)
            return streq(str->type.name, ev->type);
        __attribute__((fallthrough)); /* ALTER COLUMN ... SET DEFAULT names no type */
    case SQL_STR_COMPARED_COLUMN:
    case SQL_STR_ASSIGNED: {
        Column *c = model_column(m, st->relation, str->column);
        for (size_t d = 0; !c && d < st->n_dml; d++)
            c = model_column(m, st->dml[d].table, str->column);
        return c && streq(c->type, ev->type);
    }
    default:
        return false;
    }
}

static void model_enum_use(Mig *m, const SqlStatement *st, size_t base)
{
    if (st->kind == SQL_KIND_CREATE_TYPE || st->kind == SQL_KIND_ALTER_TYPE)
        return;
    bool candidate = false;
    for (size_t i = 0; i < st->n_strings && !candidate; i++)
        candidate = pf_strset_get(&m->s->added, st->strings[i].value, NULL);
    for (size_t v = 0; candidate && v < m->s->n_values; v++) {
        const EnumValue *ev = &m->s->values[v];
        for (size_t i = 0; i < st->n_strings; i++) {
            if (!enum_use(m, st, &st->strings[i], ev))
                continue;
            bool same = ev->mig == m->s->mig;
            emit_at(
                m, "enum-value-use", at(base, st->strings[i].pos),
                same ? pf_asprintf("'%s' is added to enum %s at line %d of this migration and "
                                   "used here in the same transaction: PostgreSQL fails with "
                                   "\"unsafe use of new value\"",
                                   ev->value, ev->type, ev->line)
                     : pf_asprintf("'%s' is added to enum %s by migration %s (line %d), and "
                                   "drizzle-orm runs all pending migrations in one transaction: "
                                   "wherever both are pending (every new database) PostgreSQL "
                                   "fails with \"unsafe use of new value\"",
                                   ev->value, ev->type, ev->migration, ev->line),
                same ? pf_strdup("add the value in one migration and use it in a later one, "
                                 "applied in a separate run (or with pgfleet's transaction: "
                                 "per-migration)")
                     : pf_strdup("apply the migration that adds the value everywhere before this "
                                 "one ships, or use pgfleet's transaction: per-migration"));
            m->o->r->findings[m->o->r->n - 1].certain = same;
            break;
        }
    }
}

static void model_add_value(Mig *m, const SqlStatement *st, size_t base)
{
    for (size_t i = 0; i < st->n_enum_values; i++) {
        const SqlEnumValue *e = &st->enum_values[i];
        if (e->old_value || !e->type.name)
            continue;
        int line, col;
        position(m, at(base, st->pos), &line, &col);
        LintSql *s = m->s;
        PF_GROW(s->values, s->cap_values, s->n_values + 1);
        s->values[s->n_values++] = (EnumValue){pf_strdup(e->type.name), pf_strdup(e->value),
                                               pf_strdup(m->migration), s->mig, line};
        pf_strset_add(&s->added, s->values[s->n_values - 1].value, s->n_values - 1, NULL);
    }
}

static Column column_of(const SqlColumn *c)
{
    return (Column){pf_strdup(c->name), pf_strdup(c->type.name), pf_strdup(c->type.text)};
}

static void model_create_table(Mig *m, const SqlStatement *st, size_t base)
{
    const SqlObject *t = st->n_objects ? &st->objects[0] : NULL;
    if (!t || t->action != SQL_ACT_CREATE || t->kind != SQL_OBJ_TABLE || !t->name.name ||
        t->temporary)
        return;
    const char *schema = schema_of(t->name);
    Column *cols = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 1; i < st->n_objects; i++) {
        const SqlObject *o = &st->objects[i];
        if (o->action != SQL_ACT_CREATE || o->kind != SQL_OBJ_COLUMN || !o->column)
            continue;
        PF_GROW(cols, cap, n + 1);
        cols[n++] = column_of(o->column);
    }
    Event *e = event_push(&m->creates, &m->n_creates, &m->cap_creates, true, schema, t->name.name,
                          at(base, st->pos));
    event_columns(e, cols, n);
    created_add(m, schema, t->name.name);
    table_put(m->s, schema, t->name.name, cols, n);
}

static void model_drop(Mig *m, const SqlStatement *st, size_t base)
{
    for (size_t i = 0; i < st->n_objects; i++) {
        const SqlObject *o = &st->objects[i];
        if (o->action != SQL_ACT_DROP || o->kind != SQL_OBJ_TABLE || !o->name.name)
            continue;
        const char *schema = schema_of(o->name);
        if (created_here(m, schema, o->name.name)) {
            created_remove(m, schema, o->name.name);
        } else {
            Event *e = event_push(&m->drops, &m->n_drops, &m->cap_drops, true, schema, o->name.name,
                                  at(base, st->pos));
            Table *t = table_find(m->s, schema, o->name.name);
            event_columns(e, t ? t->cols : NULL, t ? t->n : 0);
        }
        table_drop(m->s, schema, o->name.name);
    }
}

static void model_rename(Mig *m, const SqlStatement *st)
{
    const SqlObject *o = st->n_objects ? &st->objects[0] : NULL;
    if (!o || o->action != SQL_ACT_RENAME || !o->new_name)
        return;
    if (o->kind == SQL_OBJ_TABLE && o->name.name) {
        const char *schema = schema_of(o->name);
        Table *t = table_find(m->s, schema, o->name.name);
        if (t)
            table_rename(m->s, t, o->new_name);
        if (created_here(m, schema, o->name.name)) {
            created_remove(m, schema, o->name.name);
            created_add(m, schema, o->new_name);
        }
    } else if (o->kind == SQL_OBJ_COLUMN && o->name.name) {
        Table *t = table_find(m->s, schema_of(o->table), o->table.name);
        Column *c = !column_find(t, o->new_name) ? column_find(t, o->name.name) : NULL;
        if (c) {
            free(c->name);
            c->name = pf_strdup(o->new_name);
        }
    }
}

/* Modifiers of a spelled type: "varchar(20)" gives 1 and {20}; "numeric(10,2)" 2 and
 * {10, 2}; none gives 0. */
static int type_mods(const char *spelled, long mods[2])
{
    const char *p = spelled ? strchr(spelled, '(') : NULL;
    int n = 0;
    while (p && n < 2 && (*p == '(' || *p == ',')) {
        char *end;
        mods[n++] = strtol(p + 1, &end, 10);
        p = end;
    }
    return n;
}

typedef enum { TYPE_CHANGE_RISKY, TYPE_CHANGE_FREE, TYPE_CHANGE_REWRITE } TypeChange;

/* What changing a column from type old to type new does, where lint can tell: FREE when
 * PostgreSQL neither rewrites the table nor can lose a value (varchar(n) to text, to a longer
 * varchar or to varchar; numeric(p,s) to numeric or to a larger precision of the same scale),
 * REWRITE when every value converts but the table is rewritten (int2 to int4 to int8, real to
 * double precision), RISKY otherwise or when the old type is unknown. */
static TypeChange type_change(const Column *old, const SqlType *to)
{
    if (!old || !old->type || !old->spelled || !to->name)
        return TYPE_CHANGE_RISKY;
    bool old_array = strchr(old->spelled, '[') != NULL;
    if (old_array != to->array)
        return TYPE_CHANGE_RISKY;
    const char *a = old->type, *b = to->name;
    long ma[2], mb[2];
    int na = type_mods(old->spelled, ma), nb = type_mods(to->text, mb);
    bool a_str = strcmp(a, "varchar") == 0 || strcmp(a, "text") == 0;
    if (a_str && strcmp(b, "text") == 0)
        return TYPE_CHANGE_FREE;
    if (a_str && strcmp(b, "varchar") == 0)
        return nb == 0 || (strcmp(a, "varchar") == 0 && na == 1 && mb[0] >= ma[0])
                   ? TYPE_CHANGE_FREE
                   : TYPE_CHANGE_RISKY;
    if (strcmp(a, "numeric") == 0 && strcmp(b, "numeric") == 0) {
        long sa = na == 2 ? ma[1] : 0, sb = nb == 2 ? mb[1] : 0;
        return nb == 0 || (na > 0 && sa == sb && mb[0] >= ma[0]) ? TYPE_CHANGE_FREE
                                                                 : TYPE_CHANGE_RISKY;
    }
    static const char *const widen[][2] = {
        {"int2", "int4"},    {"int2", "int8"},    {"int4", "int8"},    {"float4", "float8"},
        {"int2", "numeric"}, {"int4", "numeric"}, {"int8", "numeric"},
    };
    for (size_t i = 0; i < sizeof widen / sizeof widen[0]; i++)
        if (strcmp(a, widen[i][0]) == 0 && strcmp(b, widen[i][1]) == 0 &&
            (strcmp(b, "numeric") != 0 || nb == 0))
            return TYPE_CHANGE_REWRITE;
    return TYPE_CHANGE_RISKY;
}

static void model_alter_table(Mig *m, const SqlStatement *st, size_t base)
{
    if (!st->relation.name)
        return;
    const char *schema = schema_of(st->relation), *name = st->relation.name;
    bool created = created_here(m, schema, name);
    char *shown = display(schema, name);
    for (size_t i = 0; i < st->n_alters; i++) {
        const SqlAlter *a = &st->alters[i];
        size_t off = at(base, a->pos); /* the subcommand's, when the statement has several */
        Table *t = table_find(m->s, schema, name);
        switch (a->kind) {
        case SQL_ALTER_ADD_COLUMN:
            if (!a->def || column_find(t, a->def->name))
                break;
            if (t) {
                PF_GROW(t->cols, t->cap, t->n + 1);
                t->cols[t->n++] = column_of(a->def);
            }
            if (!created) {
                Event *e = event_push(&m->creates, &m->n_creates, &m->cap_creates, false, schema,
                                      name, off);
                e->column = pf_strdup(a->def->name);
                e->type = pf_strdup(a->def->type.name);
            }
            break;
        case SQL_ALTER_DROP_COLUMN: {
            if (!a->column)
                break;
            if (!created) {
                Event *e =
                    event_push(&m->drops, &m->n_drops, &m->cap_drops, false, schema, name, off);
                Column *c = column_find(t, a->column);
                e->type = c ? pf_strdup(c->type) : NULL;
                e->column = pf_strdup(a->column);
            }
            column_drop(t, a->column);
            break;
        }
        case SQL_ALTER_COLUMN_TYPE: {
            Column *c = column_find(t, a->column);
            TypeChange change = a->def ? type_change(c, &a->def->type) : TYPE_CHANGE_RISKY;
            if (!created && change == TYPE_CHANGE_REWRITE)
                emit_at(m, "alter-column-type", off,
                        pf_asprintf("changing %s.%s from %s to %s converts every value, but "
                                    "rewrites the table and its indexes under an ACCESS "
                                    "EXCLUSIVE lock",
                                    shown, a->column, c->spelled, a->def->type.text),
                        pf_strdup("on a large table, add a new column, backfill it in batches "
                                  "and switch over, or run it in a quiet window"));
            else if (!created && change == TYPE_CHANGE_RISKY)
                emit_at(m, "alter-column-type", off,
                        pf_asprintf("changing the type of %s.%s can rewrite the table under an "
                                    "ACCESS EXCLUSIVE lock; values that do not convert fail the "
                                    "migration, and a narrower type can round or cut them",
                                    shown, a->column),
                        pf_strdup("check that the data converts as intended (USING for a "
                                  "non-trivial cast); on a large table prefer a new column, a "
                                  "backfill and a switch"));
            if (c && a->def) {
                free(c->type);
                free(c->spelled);
                c->type = pf_strdup(a->def->type.name);
                c->spelled = pf_strdup(a->def->type.text);
            }
            break;
        }
        case SQL_ALTER_SET_NOT_NULL:
            if (!created)
                emit_at(m, "set-not-null", off,
                        pf_asprintf("SET NOT NULL on %s.%s, an existing column: PostgreSQL scans "
                                    "the whole table under an ACCESS EXCLUSIVE lock, and the "
                                    "migration fails if any row holds NULL",
                                    shown, a->column),
                        pf_asprintf("fill the NULLs first (UPDATE %s SET %s = ... WHERE %s IS "
                                    "NULL); on a large table validate a CHECK (%s IS NOT NULL) "
                                    "NOT VALID constraint beforehand",
                                    shown, a->column, a->column, a->column));
            break;
        default:
            break;
        }
    }
    free(shown);
}

/* Remember the columns this statement's row writes fill: a column added and then filled is
 * a backfill, never half of a rename. */
static void model_writes(Mig *m, const SqlStatement *st)
{
    for (size_t d = 0; d < st->n_dml; d++) {
        const SqlDml *w = &st->dml[d];
        if (!w->table.name || w->kind == SQL_DML_DELETE)
            continue;
        for (size_t c = 0; c < w->n_columns; c++) {
            PF_GROW(m->written, m->cap_written, m->n_written + 1);
            m->written[m->n_written++] = (Written){
                pf_strdup(schema_of(w->table)), pf_strdup(w->table.name), pf_strdup(w->columns[c])};
        }
    }
}

/* One top-level statement of a parsed chunk; base is the chunk's offset in the file. */
static void model_statement(Mig *m, const SqlStatement *st, size_t base, size_t n_in_chunk)
{
    model_enum_use(m, st, base);
    model_nontx(m, st, base, n_in_chunk);
    model_writes(m, st);
    switch (st->kind) {
    case SQL_KIND_CREATE_TABLE:
        model_create_table(m, st, base);
        break;
    case SQL_KIND_DROP:
        model_drop(m, st, base);
        break;
    case SQL_KIND_ALTER_TABLE:
        model_alter_table(m, st, base);
        break;
    case SQL_KIND_ALTER_TYPE:
        model_add_value(m, st, base);
        break;
    case SQL_KIND_RENAME:
        model_rename(m, st);
        break;
    default:
        break;
    }
}

/* A chunk the parser refused: say so, and read it with the token rules instead. */
static void unparsed(Mig *m, const SqlChunk *c, size_t base, size_t len, size_t cut_at)
{
    size_t before = m->o->r->n;
    lint_chunk(m, base, len, cut_at);
    for (size_t i = before; i < m->o->r->n; i++)
        if (strcmp(m->o->r->findings[i].rule, "unterminated") == 0)
            return; /* that finding says why already */
    emit_at(m, "unparsed", base + c->error->pos.offset,
            pf_asprintf("PostgreSQL's parser (the PostgreSQL 15 grammar) refuses this chunk: %s; "
                        "lint checked it by its keywords only",
                        c->error->message),
            pf_strdup("fix the statement if it is wrong; syntax newer than PostgreSQL 15, or a "
                      "psql command (\\connect, \\i), fails on servers that do not know it"));
}

/* Check one chunk, text[base, base + len), from its model. */
static void model_chunk(Mig *m, size_t chunk, size_t n_chunks, size_t base, size_t len,
                        size_t cut_at, const SqlChunk *given)
{
    SqlChunk *own = given ? NULL : sql_parse(m->text + base, len);
    const SqlChunk *c = given ? given : own;
    if (!c->parsed) {
        unparsed(m, c, base, len, cut_at);
        /* The escape as cb_escape_chunk sees such a chunk: by its first words. */
        if (!m->escaped && cb_chunk_escapes(m->text + base, len))
            m->escaped = true;
    } else {
        for (size_t i = 0; i < c->n; i++) {
            model_statement(m, &c->stmts[i], base, c->n);
            model_escape(m, &c->stmts[i], base, chunk, n_chunks);
        }
    }
    sql_chunk_free(own);
}

/* After a migration: the column creates that a row write filled. */
static void mark_written(Mig *m)
{
    for (size_t i = 0; i < m->n_creates; i++) {
        Event *e = &m->creates[i];
        for (size_t w = 0; !e->is_table && w < m->n_written && !e->written; w++)
            e->written = same_table(e->schema, e->name, m->written[w].schema, m->written[w].name) &&
                         strcmp(e->column, m->written[w].column) == 0;
    }
}

static bool same_columns(const Event *a, const Event *b)
{
    if (a->n_cols == 0 || a->n_cols != b->n_cols)
        return false;
    for (size_t i = 0; i < a->n_cols; i++) {
        bool found = false;
        for (size_t j = 0; j < b->n_cols && !found; j++)
            found = strcmp(a->cols[i], b->cols[j]) == 0;
        if (!found)
            return false;
    }
    return true;
}

/* Whether the migration fills a column it adds to drop's table from the rows: then the
 * columns it drops there were carried over by that backfill, not renamed. */
static bool backfilled(const Mig *m, const Event *drop)
{
    for (size_t c = 0; c < m->n_creates; c++) {
        const Event *cr = &m->creates[c];
        if (!cr->is_table && cr->written &&
            same_table(drop->schema, drop->name, cr->schema, cr->name))
            return true;
    }
    return false;
}

/* The create that, with this drop, looks like a rename or a re-creation, or NULL. */
static Event *partner(Mig *m, const Event *drop)
{
    for (size_t c = 0; c < m->n_creates; c++) {
        Event *cr = &m->creates[c];
        if (cr->paired || cr->is_table != drop->is_table)
            continue;
        bool same_tab = same_table(drop->schema, drop->name, cr->schema, cr->name);
        if (drop->is_table) {
            if (same_tab ? cr->off > drop->off : same_columns(drop, cr))
                return cr;
            continue;
        }
        if (!same_tab)
            continue;
        /* A rename keeps the column's type: only columns whose types are both known and
         * equal look like one, and a column that the migration fills from rows (UPDATE ... SET
         * new = old) is a backfill, the data carried over on purpose. */
        bool same_col = strcmp(drop->column, cr->column) == 0;
        bool same_type = drop->type && cr->type && strcmp(drop->type, cr->type) == 0;
        if (same_col ? cr->off > drop->off : same_type && !backfilled(m, drop))
            return cr;
    }
    return NULL;
}

/* At the end of a migration: each drop is either half of a drop+create pair or a plain one. */
static void resolve_drops(Mig *m)
{
    for (size_t d = 0; d < m->n_drops; d++) {
        const Event *dr = &m->drops[d];
        Event *cr = partner(m, dr);
        char *shown = display(dr->schema, dr->name);
        int line = 0, col;
        if (cr) {
            cr->paired = true;
            position(m, cr->off, &line, &col);
        }
        if (dr->is_table && !cr) {
            emit_at(m, "drop-table", dr->off,
                    pf_asprintf("DROP TABLE %s deletes the table and every row in it", shown),
                    pf_asprintf("make sure no deployed code still uses %s, and that its data is "
                                "backed up or no longer needed",
                                shown));
        } else if (!dr->is_table && !cr) {
            emit_at(m, "drop-column", dr->off,
                    pf_asprintf("dropping column %s.%s deletes its data", shown, dr->column),
                    pf_asprintf("deploy code that no longer reads or writes %s before this "
                                "migration runs, and back the data up if it may be needed",
                                dr->column));
        } else if (dr->is_table && strcmp(dr->name, cr->name) == 0) {
            emit_at(m, "drop-create", dr->off,
                    pf_asprintf("table %s is dropped here and created again at line %d: every "
                                "row is lost",
                                shown, line),
                    pf_strdup("change the table with ALTER TABLE instead, or copy the rows out "
                              "and back"));
        } else if (dr->is_table) {
            char *other = display(cr->schema, cr->name);
            emit_at(m, "drop-create", dr->off,
                    pf_asprintf("table %s is dropped here and table %s, with the same columns, is "
                                "created at line %d: this looks like a rename generated as "
                                "drop+create, and every row of %s is lost",
                                shown, other, line, shown),
                    pf_asprintf("if it is a rename, use ALTER TABLE %s RENAME TO %s (answer "
                                "\"rename\" when drizzle-kit generate asks)",
                                shown, cr->name));
            free(other);
        } else if (strcmp(dr->column, cr->column) == 0) {
            emit_at(m, "drop-create", dr->off,
                    pf_asprintf("column %s.%s is dropped here and added again at line %d: its "
                                "data is lost",
                                shown, dr->column, line),
                    pf_asprintf("to change its type and keep the data, use ALTER TABLE %s ALTER "
                                "COLUMN %s TYPE ... USING ...",
                                shown, dr->column));
        } else {
            emit_at(m, "drop-create", dr->off,
                    pf_asprintf("column %s.%s is dropped here and column %s is added at line %d: "
                                "this looks like a rename generated as drop+create, and the "
                                "column's data is lost",
                                shown, dr->column, cr->column, line),
                    pf_asprintf("if it is a rename, use ALTER TABLE %s RENAME COLUMN %s TO %s "
                                "(answer \"rename\" when drizzle-kit generate asks)",
                                shown, dr->column, cr->column));
        }
        free(shown);
    }
}

/* A finding and where it was emitted, so that the sort keeps the order of equals. */
typedef struct Ranked {
    LintFinding f;
    size_t rank;
} Ranked;

static int cmp_position(const void *a, const void *b)
{
    const Ranked *x = a, *y = b;
    if (x->f.line != y->f.line)
        return x->f.line < y->f.line ? -1 : 1;
    if (x->f.column != y->f.column)
        return x->f.column < y->f.column ? -1 : 1;
    return (x->rank > y->rank) - (x->rank < y->rank);
}

/* Put findings [first, n) of o in (line, column) order, keeping the order of equals. */
static void sort_findings(LintOut *o, size_t first)
{
    size_t n = o->r->n - first;
    if (n < 2)
        return;
    Ranked *v = pf_malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = (Ranked){o->r->findings[first + i], i};
    qsort(v, n, sizeof *v, cmp_position);
    for (size_t i = 0; i < n; i++)
        o->r->findings[first + i] = v[i].f;
    free(v);
}

void lint_sql_migration(LintSql *s, LintOut *o, const char *file, const char *migration,
                        const char *text, size_t len, SqlChunk *const *parsed)
{
    Mig m = {.s = s, .o = o, .file = file, .migration = migration, .text = text};
    size_t first = o->r->n, cap_lines = 0;
    PF_GROW(m.lines, cap_lines, 1);
    m.lines[m.n_lines++] = 0;
    for (const char *p = text; (p = memchr(p, '\n', len - (size_t)(p - text))) != NULL; p++) {
        PF_GROW(m.lines, cap_lines, m.n_lines + 1);
        m.lines[m.n_lines++] = (size_t)(p - text) + 1;
    }
    CbSpan *spans;
    size_t n;
    cb_split_spans(text, len, &spans, &n);
    /* drizzle-orm keeps a BOM (Buffer.toString does) and sends it with the first statement;
     * the checks go on after it, and columns of line 1 are counted without it. */
    if (spans[0].len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        emit_at(&m, "byte-order-mark", 0,
                pf_strdup("the file starts with a UTF-8 byte order mark, which drizzle-orm sends "
                          "to PostgreSQL with the first statement: syntax error"),
                pf_strdup("save the file as UTF-8 without a BOM"));
        m.bom = true;
        spans[0].start += 3;
        spans[0].len -= 3;
    }
    /* The reader's models are of whole chunks: the first one's holds the BOM, so that chunk
     * is parsed again without it. */
    for (size_t k = 0; k < n; k++)
        model_chunk(&m, k, n, spans[k].start, spans[k].len,
                    k + 1 < n ? spans[k].start + spans[k].len : SIZE_MAX,
                    parsed && !(k == 0 && m.bom) ? parsed[k] : NULL);
    free(spans);
    mark_written(&m);
    resolve_drops(&m);
    sort_findings(o, first);
    for (size_t i = 0; i < m.n_created; i++) {
        free(m.created[i].schema);
        free(m.created[i].name);
    }
    free(m.created);
    for (size_t i = 0; i < m.n_written; i++) {
        free(m.written[i].schema);
        free(m.written[i].name);
        free(m.written[i].column);
    }
    free(m.written);
    free(m.lines);
    events_free(m.drops, m.n_drops);
    events_free(m.creates, m.n_creates);
    s->mig++;
}

LintSql *lint_sql_new(void)
{
    return pf_calloc(1, sizeof(LintSql));
}

void lint_sql_free(LintSql *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_tables; i++) {
        free(s->tables[i].schema);
        free(s->tables[i].name);
        columns_free(s->tables[i].cols, s->tables[i].n);
    }
    free(s->tables);
    free(s->slots);
    pf_strset_free(&s->added);
    for (size_t i = 0; i < s->n_values; i++) {
        free(s->values[i].type);
        free(s->values[i].value);
        free(s->values[i].migration);
    }
    free(s->values);
    free(s);
}
