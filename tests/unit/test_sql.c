/*
 * The statement model (src/sql/): chunks as drizzle-kit writes them and as people write them
 * by hand, read by PostgreSQL's parser. Each test renders the whole model of a chunk as text
 * (render, below) and compares it with what it must be, so every field is pinned.
 */
#include "sql/sql.h"

#include "codebase/codebase.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ---- rendering the model ---------------------------------------------------------------- */

typedef struct Out {
    char *s;
    size_t len, cap;
} Out;

static void put(Out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(Out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (o->len + (size_t)n + 1 > o->cap) {
        o->cap = (o->len + (size_t)n + 1) * 2;
        o->s = realloc(o->s, o->cap);
    }
    va_start(ap, fmt);
    vsnprintf(o->s + o->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    o->len += (size_t)n;
}

static void name(Out *o, SqlName n)
{
    if (n.schema)
        put(o, "%s.", n.schema);
    put(o, "%s", n.name ? n.name : "?");
}

static void pos(Out *o, SqlPos p)
{
    put(o, "@%zu:%zu", p.line, p.column);
}

static void column(Out *o, const SqlColumn *c)
{
    static const char *const defaults[] = {"", " default=null", " default=constant",
                                           " default=expression"};
    put(o, " type=%s", c->type.text ? c->type.text : "?");
    put(o, "%s%s%s%s%s%s%s", c->not_null ? " not_null" : "", c->primary_key ? " pk" : "",
        defaults[c->default_kind], c->volatile_default ? " volatile" : "",
        c->serial ? " serial" : "", c->identity ? " identity" : "",
        c->generated ? " generated" : "");
}

static void constraint(Out *o, const SqlConstraint *c)
{
    static const char *const kinds[] = {"check", "not_null",  "pk",   "unique",
                                        "fk",    "exclusion", "other"};
    put(o, " con=%s", kinds[c->kind]);
    if (c->column)
        put(o, " of=%s", c->column);
    if (c->not_valid)
        put(o, " not_valid");
    if (c->kind == SQL_CON_FOREIGN_KEY) {
        put(o, " refs=");
        name(o, c->references);
    }
}

static void statements(Out *o, const SqlStatement *st, size_t n, const char *indent);

static void statement(Out *o, const SqlStatement *st, const char *indent)
{
    put(o, "%s", indent);
    pos(o, st->pos);
    put(o, "+%zu %s", st->len, sql_kind_name(st->kind));
    if (st->node)
        put(o, " %s", st->node);
    if (st->in_body)
        put(o, " in_body");
    if (st->tx != SQL_TX_NONE)
        put(o, " tx=%s%s", sql_tx_name(st->tx), st->tx_chain ? "+chain" : "");
    if (sql_ends_transaction(st))
        put(o, " ends_tx");
    if (st->nontx != SQL_NONTX_NONE)
        put(o, " nontx=\"%s\"", sql_nontx_name(st->nontx));
    if (st->relation.name) {
        put(o, " rel=");
        name(o, st->relation);
    }
    put(o, "\n");
    if (st->error) {
        put(o, "%s  error: %s ", indent, st->error->message);
        pos(o, st->error->pos);
        put(o, "\n");
    }
    for (size_t i = 0; i < st->n_objects; i++) {
        const SqlObject *ob = &st->objects[i];
        put(o, "%s  %s %s ", indent, sql_action_name(ob->action), ob->what);
        name(o, ob->name);
        if (ob->table.name) {
            put(o, " on ");
            name(o, ob->table);
        }
        if (ob->new_name)
            put(o, " -> %s", ob->new_name);
        put(o, "%s%s%s%s%s%s%s", ob->if_not_exists ? " if_not_exists" : "",
            ob->or_replace ? " or_replace" : "", ob->if_exists ? " if_exists" : "",
            ob->cascade ? " cascade" : "", ob->temporary ? " temp" : "",
            ob->unlogged ? " unlogged" : "", ob->concurrently ? " concurrently" : "");
        static const char *const forms[] = {"", " form=enum", " form=composite", " form=range",
                                            " form=base"};
        put(o, "%s", forms[ob->type_form]);
        for (size_t k = 0; k < ob->n_labels; k++)
            put(o, "%s'%s'", k ? "," : " labels=", ob->labels[k]);
        if (ob->column)
            column(o, ob->column);
        if (ob->constraint)
            constraint(o, ob->constraint);
        put(o, "\n");
    }
    for (size_t i = 0; i < st->n_alters; i++) {
        const SqlAlter *a = &st->alters[i];
        put(o, "%s  alter %s (%s)", indent, sql_alter_name(a->kind), a->subtype);
        if (a->column)
            put(o, " col=%s", a->column);
        if (a->kind == SQL_ALTER_COLUMN_TYPE && a->def)
            put(o, " to=%s", a->def->type.text);
        if (a->using_expr)
            put(o, " using");
        if (a->kind == SQL_ALTER_SET_DEFAULT)
            put(o, " default=%s",
                a->default_kind == SQL_DEFAULT_CONSTANT ? "constant"
                : a->default_kind == SQL_DEFAULT_NULL   ? "null"
                                                        : "expression");
        if (a->name)
            put(o, " name=%s", a->name);
        if (a->partition.name) {
            put(o, " partition=");
            name(o, a->partition);
        }
        put(o, "%s%s%s", a->missing_ok ? " missing_ok" : "", a->cascade ? " cascade" : "",
            a->concurrently ? " concurrently" : "");
        put(o, "\n");
    }
    for (size_t i = 0; i < st->n_enum_values; i++) {
        const SqlEnumValue *v = &st->enum_values[i];
        put(o, "%s  enum ", indent);
        name(o, v->type);
        if (v->old_value)
            put(o, " rename '%s' -> '%s'", v->old_value, v->value);
        else
            put(o, " add '%s'", v->value);
        if (v->neighbor)
            put(o, " %s '%s'", v->after ? "after" : "before", v->neighbor);
        put(o, "%s\n", v->if_not_exists ? " if_not_exists" : "");
    }
    for (size_t i = 0; i < st->n_strings; i++) {
        const SqlString *s = &st->strings[i];
        put(o, "%s  str '%s' %s", indent, s->value, sql_str_use_name(s->use));
        if (s->type.text)
            put(o, " type=%s", s->type.text);
        if (s->column)
            put(o, " col=%s", s->column);
        put(o, " ");
        pos(o, s->pos);
        put(o, "\n");
    }
    for (size_t i = 0; i < st->n_dml; i++) {
        static const char *const kinds[] = {"insert", "update", "delete", "merge"};
        const SqlDml *d = &st->dml[i];
        put(o, "%s  dml %s ", indent, kinds[d->kind]);
        name(o, d->table);
        for (size_t k = 0; k < d->n_columns; k++)
            put(o, "%s%s", k ? "," : " cols=", d->columns[k]);
        put(o, "%s\n", d->has_where ? " where" : "");
    }
    if (st->call.name) {
        put(o, "%s  call ", indent);
        name(o, st->call);
        put(o, "\n");
    }
    const SqlRoutine *r = st->routine;
    if (r) {
        static const char *const kinds[] = {"function", "procedure", "do"};
        static const char *const forms[] = {"none", "atomic", "string"};
        put(o, "%s  routine %s ", indent, kinds[r->kind]);
        if (r->kind != SQL_ROUTINE_DO)
            name(o, r->name);
        else
            put(o, "-");
        put(o, " lang=%s body=%s ", r->language ? r->language : "?", forms[r->body_form]);
        pos(o, r->body_pos);
        put(o, " %s\n", r->body_parsed ? "parsed" : "not_parsed");
        if (r->body_error) {
            put(o, "%s    body error: %s ", indent, r->body_error->message);
            pos(o, r->body_error->pos);
            put(o, "\n");
        }
        char deeper[64];
        snprintf(deeper, sizeof deeper, "%s    ", indent);
        statements(o, r->body, r->n_body, deeper);
    }
}

static void statements(Out *o, const SqlStatement *st, size_t n, const char *indent)
{
    for (size_t i = 0; i < n; i++)
        statement(o, &st[i], indent);
}

/* The model of chunk as text: a first line for the chunk, then each statement. */
static char *render(const char *chunk)
{
    SqlChunk *c = sql_parse(chunk, strlen(chunk));
    Out o = {0};
    put(&o, "%s", c->parsed ? "parsed" : "not parsed");
    if (c->error) {
        put(&o, ": %s ", c->error->message);
        pos(&o, c->error->pos);
    }
    put(&o, "\n");
    statements(&o, c->stmts, c->n, "");
    sql_chunk_free(c);
    if (!o.s)
        put(&o, "%s", "");
    return o.s;
}

#define ASSERT_MODEL(chunk, want)                                                                  \
    do {                                                                                           \
        char *got_ = render(chunk);                                                                \
        if (strcmp(got_, want) != 0)                                                               \
            printf("---- got:\n%s---- want:\n%s----\n", got_, want);                               \
        assert_string_equal(got_, want);                                                           \
        free(got_);                                                                                \
    } while (0)

/* What drizzle-kit generate writes, one statement per chunk: an enum type, a table with
 * column and table constraints, a foreign key added afterwards, an index. */
static void test_drizzle_kit_tables(void **state)
{
    (void)state;
    ASSERT_MODEL("CREATE TYPE \"public\".\"user_role\" AS ENUM('admin', 'member');",
                 "parsed\n"
                 "@1:1+59 create_type CreateEnumStmt\n"
                 "  create type public.user_role form=enum labels='admin','member'\n");
    ASSERT_MODEL("CREATE TABLE \"users\" (\n"
                 "\t\"id\" serial PRIMARY KEY NOT NULL,\n"
                 "\t\"email\" varchar(255) NOT NULL,\n"
                 "\t\"role\" \"user_role\" DEFAULT 'member' NOT NULL,\n"
                 "\t\"created_at\" timestamp DEFAULT now() NOT NULL,\n"
                 "\tCONSTRAINT \"users_email_unique\" UNIQUE(\"email\")\n"
                 ");\n",
                 "parsed\n"
                 "@1:1+235 create_table CreateStmt rel=users\n"
                 "  create table users\n"
                 "  create column id on users type=serial not_null pk volatile serial\n"
                 "  create constraint ? on users con=pk of=id\n"
                 "  create column email on users type=varchar(255) not_null\n"
                 "  create column role on users type=user_role not_null default=constant\n"
                 "  create column created_at on users type=timestamp not_null default=expression\n"
                 "  create constraint users_email_unique on users con=unique\n"
                 "  str 'member' default type=user_role col=role @4:29\n");
    ASSERT_MODEL(
        "\n"
        "ALTER TABLE \"posts\" ADD CONSTRAINT \"posts_author_id_users_id_fk\" FOREIGN KEY "
        "(\"author_id\") REFERENCES \"public\".\"users\"(\"id\") ON DELETE cascade ON UPDATE no "
        "action;",
        "parsed\n"
        "@2:1+162 alter_table AlterTableStmt rel=posts\n"
        "  alter table posts\n"
        "  create constraint posts_author_id_users_id_fk on posts con=fk refs=public.users\n"
        "  reference table public.users\n"
        "  alter add_constraint (AT_AddConstraint)\n");
    ASSERT_MODEL("\n"
                 "CREATE INDEX \"posts_author_idx\" ON \"posts\" USING btree (\"author_id\");",
                 "parsed\n"
                 "@2:1+68 create_index IndexStmt rel=posts\n"
                 "  create index posts_author_idx on posts\n"
                 "  reference table posts\n");
}

/* Older drizzle-kit wraps CREATE TYPE in a DO block that ignores duplicate_object: a
 * plpgsql body, kept as a string and not parsed. */
static void test_drizzle_kit_do_block(void **state)
{
    (void)state;
    ASSERT_MODEL("DO $$ BEGIN\n"
                 " CREATE TYPE \"public\".\"status\" AS ENUM('draft', 'live');\n"
                 "EXCEPTION\n"
                 " WHEN duplicate_object THEN null;\n"
                 "END $$;\n",
                 "parsed\n"
                 "@1:1+119 do DoStmt\n"
                 "  routine do - lang=plpgsql body=string @1:4 not_parsed\n");
}

/* A value added to an enum, then used: assigned, compared with an enum column, cast to the
 * enum, and compared with the column cast to text (no use of the enum). */
static void test_enum_value_added_and_used(void **state)
{
    (void)state;
    ASSERT_MODEL(
        "ALTER TYPE \"public\".\"user_role\" ADD VALUE 'guest' AFTER 'member';\n"
        "UPDATE \"users\" SET \"role\" = 'guest' WHERE \"role\" = 'member';\n"
        "SELECT count(*) FROM users WHERE role::text <> 'guest' OR role = 'guest'::user_role;",
        "parsed\n"
        "@1:1+64 alter_type AlterEnumStmt nontx=\"ALTER TYPE ... ADD VALUE\"\n"
        "  alter type public.user_role form=enum\n"
        "  enum public.user_role add 'guest' after 'member'\n"
        "@2:1+59 update UpdateStmt rel=users\n"
        "  str 'guest' assigned col=role @2:29\n"
        "  str 'member' compared_column col=role @2:52\n"
        "  dml update users cols=role where\n"
        "@3:1+83 select SelectStmt\n"
        "  str 'guest' compared_cast type=text @3:48\n"
        "  str 'guest' cast type=user_role @3:66\n");
    ASSERT_MODEL("ALTER TYPE \"public\".\"user_role\" ADD VALUE IF NOT EXISTS 'guest' BEFORE "
                 "'member'; ALTER TYPE r RENAME VALUE 'a' TO 'b'",
                 "parsed\n"
                 "@1:1+79 alter_type AlterEnumStmt nontx=\"ALTER TYPE ... ADD VALUE\"\n"
                 "  alter type public.user_role form=enum\n"
                 "  enum public.user_role add 'guest' before 'member' if_not_exists\n"
                 "@1:82+36 alter_type AlterEnumStmt\n"
                 "  alter type r form=enum\n"
                 "  enum r rename 'a' -> 'b'\n");
}

/* Row level security as drizzle-kit writes it for Supabase-style policies. */
static void test_rls_policies(void **state)
{
    (void)state;
    ASSERT_MODEL("ALTER TABLE \"users\" ENABLE ROW LEVEL SECURITY;\n"
                 "CREATE POLICY \"own_rows\" ON \"users\" AS PERMISSIVE FOR SELECT TO "
                 "\"authenticated\" USING ((select auth.uid()) = \"id\");\n"
                 "ALTER POLICY \"own_rows\" ON \"users\" TO public;\n"
                 "DROP POLICY IF EXISTS \"old\" ON \"public\".\"users\";",
                 "parsed\n"
                 "@1:1+45 alter_table AlterTableStmt rel=users\n"
                 "  alter table users\n"
                 "  alter enable_rls (AT_EnableRowSecurity)\n"
                 "@2:1+114 create_policy CreatePolicyStmt rel=users\n"
                 "  create policy own_rows on users\n"
                 "  reference table users\n"
                 "@3:1+44 alter_policy AlterPolicyStmt rel=users\n"
                 "  alter policy own_rows on users\n"
                 "  reference table users\n"
                 "@4:1+47 drop DropStmt\n"
                 "  drop policy old on public.users if_exists\n");
}

/* A plpgsql trigger function: its body is a string, not parsed (plpgsql is not SQL). */
static void test_plpgsql_function_and_trigger(void **state)
{
    (void)state;
    ASSERT_MODEL(
        "CREATE OR REPLACE FUNCTION \"public\".\"touch\"() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "  NEW.updated_at := now();\n"
        "  RETURN NEW;\n"
        "END;\n"
        "$$;\n"
        "CREATE TRIGGER \"users_touch\" BEFORE UPDATE ON \"users\" FOR EACH ROW EXECUTE FUNCTION "
        "\"public\".\"touch\"();",
        "parsed\n"
        "@1:1+139 create_function CreateFunctionStmt\n"
        "  create function public.touch or_replace\n"
        "  routine function public.touch lang=plpgsql body=string @1:83 not_parsed\n"
        "@7:1+102 create_trigger CreateTrigStmt rel=users\n"
        "  create trigger users_touch on users\n"
        "  reference table users\n");
}

/* BEGIN ATOMIC bodies are in the parse tree: their statements are classified, at their
 * exact places; the semicolons inside do not end the CREATE FUNCTION; RETURN expr is one. */
static void test_begin_atomic_bodies(void **state)
{
    (void)state;
    ASSERT_MODEL("CREATE FUNCTION active_users() RETURNS bigint LANGUAGE sql\n"
                 "BEGIN ATOMIC\n"
                 "  SELECT count(*) FROM users WHERE status = 'active';\n"
                 "  UPDATE stats SET n = CASE WHEN n > 0 THEN n ELSE 0 END;\n"
                 "END;\n"
                 "CREATE FUNCTION add_one(a int) RETURNS int LANGUAGE sql IMMUTABLE RETURN a + 1;",
                 "parsed\n"
                 "@1:1+187 create_function CreateFunctionStmt\n"
                 "  create function active_users\n"
                 "  routine function active_users lang=sql body=atomic @2:1 parsed\n"
                 "    @3:3+50 select SelectStmt in_body\n"
                 "      str 'active' compared_column col=status @3:45\n"
                 "    @4:3+54 update UpdateStmt in_body rel=stats\n"
                 "      dml update stats cols=n\n"
                 "@6:1+78 create_function CreateFunctionStmt\n"
                 "  create function add_one\n"
                 "  routine function add_one lang=sql body=atomic @6:67 parsed\n"
                 "    @6:67+12 other ReturnStmt in_body\n");
    ASSERT_MODEL("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC END",
                 "parsed\n"
                 "@1:1+61 create_function CreateFunctionStmt\n"
                 "  create function f\n"
                 "  routine function f lang=sql body=atomic @1:46 parsed\n");
}

/* A LANGUAGE sql body in dollar quotes is parsed as SQL, at its exact places (a COMMIT in a
 * procedure body ends no transaction of the chunk); in '...' quotes its statements all sit at
 * the string; a body the parser refuses says so; a C function has no body here. */
static void test_sql_string_bodies(void **state)
{
    (void)state;
    ASSERT_MODEL("CREATE PROCEDURE backfill() LANGUAGE sql AS $body$\n"
                 "  UPDATE users SET role = 'member' WHERE role IS NULL;\n"
                 "  COMMIT;\n"
                 "$body$;\n"
                 "CALL backfill();",
                 "parsed\n"
                 "@1:1+122 create_function CreateFunctionStmt\n"
                 "  create procedure backfill\n"
                 "  routine procedure backfill lang=sql body=string @1:45 parsed\n"
                 "    @2:3+51 update UpdateStmt in_body rel=users\n"
                 "      str 'member' assigned col=role @2:27\n"
                 "      dml update users cols=role where\n"
                 "    @3:3+6 transaction TransactionStmt in_body tx=commit ends_tx\n"
                 "@5:1+15 call CallStmt\n"
                 "  call backfill\n");
    ASSERT_MODEL(
        "CREATE FUNCTION one() RETURNS int LANGUAGE sql AS 'SELECT ''one''::text; SELECT 1';\n"
        "CREATE FUNCTION broken() RETURNS int LANGUAGE sql AS $$ SELEC 1 $$;\n"
        "CREATE FUNCTION c_func() RETURNS int AS 'lib', 'sym' LANGUAGE C;",
        "parsed\n"
        "@1:1+82 create_function CreateFunctionStmt\n"
        "  create function one\n"
        "  routine function one lang=sql body=string @1:51 parsed\n"
        "    @1:51+0 select SelectStmt in_body\n"
        "      str 'one' cast type=text @1:51\n"
        "    @1:51+0 select SelectStmt in_body\n"
        "@2:1+66 create_function CreateFunctionStmt\n"
        "  create function broken\n"
        "  routine function broken lang=sql body=string @2:54 not_parsed\n"
        "    body error: syntax error at or near \"SELEC\" @2:57\n"
        "    @2:57+7 unparsed in_body\n"
        "      error: syntax error at or near \"SELEC\" @2:57\n"
        "@3:1+63 create_function CreateFunctionStmt\n"
        "  create function c_func\n"
        "  routine function c_func lang=c body=none @3:1 not_parsed\n");
}

/* A hand-written migration that leaves drizzle's transaction on purpose: a DO block and a
 * plpgsql procedure whose COMMITs are in plpgsql (strings, not the chunk's: no ends_tx), the
 * CALL of it, FORCE RLS, an INSERT policy's WITH CHECK, a value added, the chunk's own COMMIT,
 * then the new value used and an index dropped CONCURRENTLY (fine once outside). */
static void test_hand_written_escape(void **state)
{
    (void)state;
    ASSERT_MODEL("DO $$ BEGIN\n"
                 "  UPDATE \"users\" SET \"plan\" = 'free' WHERE \"plan\" IS NULL;\n"
                 "  COMMIT;\n"
                 "END $$;\n"
                 "CREATE PROCEDURE \"batch\"() LANGUAGE plpgsql AS $$ BEGIN UPDATE t SET x = 1; "
                 "COMMIT; END $$;\n"
                 "CALL \"batch\"();\n"
                 "ALTER TABLE \"users\" FORCE ROW LEVEL SECURITY;\n"
                 "CREATE POLICY \"ins\" ON \"users\" FOR INSERT TO \"app\" WITH CHECK (\"org\" = "
                 "current_setting('app.org'));\n"
                 "ALTER TYPE \"plan\" ADD VALUE 'team';\n"
                 "COMMIT;\n"
                 "INSERT INTO \"users\" (\"plan\") VALUES ('team');\n"
                 "DROP INDEX CONCURRENTLY IF EXISTS \"users_plan_idx\";",
                 "parsed\n"
                 "@1:1+87 do DoStmt\n"
                 "  routine do - lang=plpgsql body=string @1:4 not_parsed\n"
                 "@5:1+90 create_function CreateFunctionStmt\n"
                 "  create procedure batch\n"
                 "  routine procedure batch lang=plpgsql body=string @5:48 not_parsed\n"
                 "@6:1+14 call CallStmt\n"
                 "  call batch\n"
                 "@7:1+44 alter_table AlterTableStmt rel=users\n"
                 "  alter table users\n"
                 "  alter enable_rls (AT_ForceRowSecurity)\n"
                 "@8:1+98 create_policy CreatePolicyStmt rel=users\n"
                 "  create policy ins on users\n"
                 "  reference table users\n"
                 "  str 'app.org' other @8:88\n"
                 "@9:1+34 alter_type AlterEnumStmt nontx=\"ALTER TYPE ... ADD VALUE\"\n"
                 "  alter type plan form=enum\n"
                 "  enum plan add 'team'\n"
                 "@10:1+6 transaction TransactionStmt tx=commit ends_tx\n"
                 "@11:1+44 insert InsertStmt rel=users\n"
                 "  str 'team' assigned col=plan @11:38\n"
                 "  dml insert users cols=plan\n"
                 "@12:1+50 drop DropStmt nontx=\"DROP INDEX CONCURRENTLY\"\n"
                 "  drop index users_plan_idx if_exists concurrently\n");
}

/* Every form of transaction control; which ones end the transaction they run in. */
static void test_transaction_control(void **state)
{
    (void)state;
    ASSERT_MODEL(
        "BEGIN; START TRANSACTION; COMMIT AND CHAIN; ROLLBACK TO s; ROLLBACK TO SAVEPOINT s; "
        "SAVEPOINT s; RELEASE s; PREPARE TRANSACTION 'x'; COMMIT PREPARED 'x'; ROLLBACK PREPARED "
        "'y'; END; ABORT; ROLLBACK AND CHAIN",
        "parsed\n"
        "@1:1+5 transaction TransactionStmt tx=begin\n"
        "@1:8+17 transaction TransactionStmt tx=begin\n"
        "@1:27+16 transaction TransactionStmt tx=commit+chain ends_tx\n"
        "@1:45+13 transaction TransactionStmt tx=rollback_to\n"
        "@1:60+23 transaction TransactionStmt tx=rollback_to\n"
        "@1:85+11 transaction TransactionStmt tx=savepoint\n"
        "@1:98+9 transaction TransactionStmt tx=release\n"
        "@1:109+23 transaction TransactionStmt tx=prepare ends_tx\n"
        "@1:134+19 transaction TransactionStmt tx=commit_prepared nontx=\"COMMIT PREPARED\"\n"
        "@1:155+21 transaction TransactionStmt tx=rollback_prepared nontx=\"ROLLBACK PREPARED\"\n"
        "@1:178+3 transaction TransactionStmt tx=commit ends_tx\n"
        "@1:183+5 transaction TransactionStmt tx=rollback ends_tx\n"
        "@1:190+18 transaction TransactionStmt tx=rollback+chain ends_tx\n");
    ASSERT_MODEL("COMMIT;\n"
                 "CALL \"fill_in_batches\"(1000);",
                 "parsed\n"
                 "@1:1+6 transaction TransactionStmt tx=commit ends_tx\n"
                 "@2:1+28 call CallStmt\n"
                 "  call fill_in_batches\n");
}

/* The statements PostgreSQL refuses inside a transaction block, and their neighbours that
 * it accepts (ANALYZE, REINDEX without CONCURRENTLY, CLUSTER of one table, subscriptions
 * that create no slot or refresh nothing). */
static void test_non_transactional(void **state)
{
    (void)state;
    ASSERT_MODEL(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"i\" ON \"t\" (\"a\"); DROP INDEX CONCURRENTLY "
        "i; VACUUM (ANALYZE) t; ANALYZE t; REINDEX (CONCURRENTLY false) TABLE t; REINDEX TABLE "
        "CONCURRENTLY t; REINDEX SCHEMA s; REINDEX SYSTEM d; CLUSTER; CLUSTER t USING i",
        "parsed\n"
        "@1:1+56 create_index IndexStmt nontx=\"CREATE INDEX CONCURRENTLY\" rel=t\n"
        "  create index i on t if_not_exists concurrently\n"
        "  reference table t\n"
        "@1:59+25 drop DropStmt nontx=\"DROP INDEX CONCURRENTLY\"\n"
        "  drop index i concurrently\n"
        "@1:86+18 maintenance VacuumStmt nontx=\"VACUUM\"\n"
        "@1:106+9 maintenance VacuumStmt\n"
        "@1:117+36 maintenance ReindexStmt rel=t\n"
        "@1:155+28 maintenance ReindexStmt nontx=\"REINDEX ... CONCURRENTLY\" rel=t\n"
        "@1:185+16 maintenance ReindexStmt nontx=\"REINDEX SCHEMA\"\n"
        "@1:203+16 maintenance ReindexStmt nontx=\"REINDEX SYSTEM\"\n"
        "@1:221+7 maintenance ClusterStmt nontx=\"CLUSTER\"\n"
        "@1:230+17 maintenance ClusterStmt rel=t\n");
    ASSERT_MODEL(
        "CREATE DATABASE d; DROP DATABASE IF EXISTS d; CREATE TABLESPACE ts LOCATION '/x'; DROP "
        "TABLESPACE ts; ALTER SYSTEM SET work_mem = 1; ALTER TABLE p DETACH PARTITION c "
        "CONCURRENTLY; ALTER DATABASE d SET TABLESPACE x; DISCARD ALL",
        "parsed\n"
        "@1:1+17 other CreatedbStmt nontx=\"CREATE DATABASE\"\n"
        "  create database d\n"
        "@1:20+25 drop DropdbStmt nontx=\"DROP DATABASE\"\n"
        "  drop database d if_exists\n"
        "@1:47+34 other CreateTableSpaceStmt nontx=\"CREATE TABLESPACE\"\n"
        "  create tablespace ts\n"
        "@1:83+18 drop DropTableSpaceStmt nontx=\"DROP TABLESPACE\"\n"
        "  drop tablespace ts\n"
        "@1:103+29 other AlterSystemStmt nontx=\"ALTER SYSTEM\"\n"
        "@1:134+45 alter_table AlterTableStmt nontx=\"ALTER TABLE ... DETACH PARTITION ... "
        "CONCURRENTLY\" rel=p\n"
        "  alter table p\n"
        "  reference table c\n"
        "  alter detach_partition (AT_DetachPartition) partition=c concurrently\n"
        "@1:181+33 alter_other AlterDatabaseStmt nontx=\"ALTER DATABASE ... SET TABLESPACE\"\n"
        "  alter database d\n"
        "@1:216+11 other DiscardStmt nontx=\"DISCARD ALL\"\n");
    ASSERT_MODEL(
        "CREATE SUBSCRIPTION s CONNECTION 'x' PUBLICATION p; CREATE SUBSCRIPTION s2 CONNECTION 'x' "
        "PUBLICATION p WITH (connect = off); ALTER SUBSCRIPTION s REFRESH PUBLICATION; ALTER "
        "SUBSCRIPTION s SET PUBLICATION p WITH (refresh = false); DROP SUBSCRIPTION s",
        "parsed\n"
        "@1:1+50 other CreateSubscriptionStmt nontx=\"CREATE SUBSCRIPTION\"\n"
        "@1:53+72 other CreateSubscriptionStmt\n"
        "@1:127+40 alter_other AlterSubscriptionStmt nontx=\"ALTER SUBSCRIPTION ... REFRESH\"\n"
        "@1:169+61 alter_other AlterSubscriptionStmt\n"
        "@1:232+19 drop DropSubscriptionStmt nontx=\"DROP SUBSCRIPTION\"\n");
}

/* varchar -> text as drizzle-kit writes it, with USING, and to an array type. */
static void test_alter_column_type(void **state)
{
    (void)state;
    ASSERT_MODEL(
        "ALTER TABLE \"t\" ALTER COLUMN \"name\" SET DATA TYPE text;\n"
        "ALTER TABLE \"t\" ALTER COLUMN \"n\" SET DATA TYPE integer USING \"n\"::integer;\n"
        "ALTER TABLE t ALTER c TYPE varchar(20)[];",
        "parsed\n"
        "@1:1+54 alter_table AlterTableStmt rel=t\n"
        "  alter table t\n"
        "  alter column name on t\n"
        "  alter column_type (AT_AlterColumnType) col=name to=text\n"
        "@2:1+73 alter_table AlterTableStmt rel=t\n"
        "  alter table t\n"
        "  alter column n on t\n"
        "  alter column_type (AT_AlterColumnType) col=n to=int4 using\n"
        "@3:1+40 alter_table AlterTableStmt rel=t\n"
        "  alter table t\n"
        "  alter column c on t\n"
        "  alter column_type (AT_AlterColumnType) col=c to=varchar(20)[]\n");
}

/* A column added, backfilled by an UPDATE, set NOT NULL, and the old columns dropped. */
static void test_backfill_between_add_and_drop(void **state)
{
    (void)state;
    ASSERT_MODEL("ALTER TABLE \"users\" ADD COLUMN \"full_name\" text;\n"
                 "UPDATE \"users\" SET \"full_name\" = \"first\" || ' ' || \"last\" WHERE "
                 "\"full_name\" IS NULL;\n"
                 "ALTER TABLE \"users\" ALTER COLUMN \"full_name\" SET NOT NULL;\n"
                 "ALTER TABLE \"users\" DROP COLUMN \"first\", DROP COLUMN \"last\";",
                 "parsed\n"
                 "@1:1+47 alter_table AlterTableStmt rel=users\n"
                 "  alter table users\n"
                 "  create column full_name on users type=text\n"
                 "  alter add_column (AT_AddColumn) col=full_name\n"
                 "@2:1+83 update UpdateStmt rel=users\n"
                 "  str ' ' other @2:45\n"
                 "  dml update users cols=full_name where\n"
                 "@3:1+57 alter_table AlterTableStmt rel=users\n"
                 "  alter table users\n"
                 "  alter column full_name on users\n"
                 "  alter set_not_null (AT_SetNotNull) col=full_name\n"
                 "@4:1+59 alter_table AlterTableStmt rel=users\n"
                 "  alter table users\n"
                 "  drop column first on users\n"
                 "  drop column last on users\n"
                 "  alter drop_column (AT_DropColumn) col=first\n"
                 "  alter drop_column (AT_DropColumn) col=last\n");
}

/* Every ALTER TABLE subcommand the model names, with defaults constant, NULL, volatile
 * and not known to be volatile, identity and generated columns. */
static void test_alter_table_subcommands(void **state)
{
    (void)state;
    ASSERT_MODEL("ALTER TABLE IF EXISTS ONLY s.t ADD COLUMN IF NOT EXISTS c int NOT NULL DEFAULT "
                 "0, DROP COLUMN IF EXISTS d CASCADE, ALTER COLUMN h SET DEFAULT 'x', ALTER COLUMN "
                 "h DROP DEFAULT, ALTER COLUMN g DROP NOT NULL, VALIDATE CONSTRAINT c, DROP "
                 "CONSTRAINT IF EXISTS k, ADD CONSTRAINT ck CHECK (c > 0) NOT VALID, ADD PRIMARY "
                 "KEY (c), SET (fillfactor = 70), DISABLE ROW LEVEL SECURITY",
                 "parsed\n"
                 "@1:1+371 alter_table AlterTableStmt rel=s.t\n"
                 "  alter table s.t if_exists\n"
                 "  create column c on s.t if_not_exists type=int4 not_null default=constant\n"
                 "  drop column d on s.t if_exists cascade\n"
                 "  alter column h on s.t\n"
                 "  alter column h on s.t\n"
                 "  alter column g on s.t\n"
                 "  alter constraint c on s.t\n"
                 "  drop constraint k on s.t if_exists\n"
                 "  create constraint ck on s.t con=check not_valid\n"
                 "  create constraint ? on s.t con=pk\n"
                 "  alter add_column (AT_AddColumn) col=c missing_ok\n"
                 "  alter drop_column (AT_DropColumn) col=d missing_ok cascade\n"
                 "  alter set_default (AT_ColumnDefault) col=h default=constant\n"
                 "  alter drop_default (AT_ColumnDefault) col=h\n"
                 "  alter drop_not_null (AT_DropNotNull) col=g\n"
                 "  alter validate_constraint (AT_ValidateConstraint) name=c\n"
                 "  alter drop_constraint (AT_DropConstraint) name=k missing_ok\n"
                 "  alter add_constraint (AT_AddConstraint)\n"
                 "  alter add_constraint (AT_AddConstraint)\n"
                 "  alter other (AT_SetRelOptions)\n"
                 "  alter disable_rls (AT_DisableRowSecurity)\n"
                 "  str 'x' default col=h @1:143\n");
    ASSERT_MODEL(
        "ALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid(), ADD COLUMN n int DEFAULT NULL, "
        "ADD COLUMN at timestamptz DEFAULT now(), ADD COLUMN m int DEFAULT -1, ADD COLUMN id "
        "bigint GENERATED ALWAYS AS IDENTITY, ADD COLUMN g int GENERATED ALWAYS AS (c * 2) STORED, "
        "ADD COLUMN s bigserial, ADD COLUMN r int REFERENCES o (id);\n"
        "ALTER TABLE p ATTACH PARTITION p2 FOR VALUES IN (2);",
        "parsed\n"
        "@1:1+322 alter_table AlterTableStmt rel=t\n"
        "  alter table t\n"
        "  create column u on t type=uuid default=expression volatile\n"
        "  create column n on t type=int4 default=null\n"
        "  create column at on t type=timestamptz default=expression\n"
        "  create column m on t type=int4 default=constant\n"
        "  create column id on t type=int8 volatile identity\n"
        "  create column g on t type=int4 volatile generated\n"
        "  create column s on t type=bigserial volatile serial\n"
        "  create column r on t type=int4\n"
        "  create constraint ? on t con=fk of=r refs=o\n"
        "  reference table o\n"
        "  alter add_column (AT_AddColumn) col=u\n"
        "  alter add_column (AT_AddColumn) col=n\n"
        "  alter add_column (AT_AddColumn) col=at\n"
        "  alter add_column (AT_AddColumn) col=m\n"
        "  alter add_column (AT_AddColumn) col=id\n"
        "  alter add_column (AT_AddColumn) col=g\n"
        "  alter add_column (AT_AddColumn) col=s\n"
        "  alter add_column (AT_AddColumn) col=r\n"
        "@2:1+51 alter_table AlterTableStmt rel=p\n"
        "  alter table p\n"
        "  reference table p2\n"
        "  alter attach_partition (AT_AttachPartition) partition=p2\n");
}

/* Where each subcommand of an ALTER TABLE with several starts (the parse tree keeps no
 * location for them): after the relation's name (qualified, with *), then after each comma
 * outside parentheses and brackets, whatever a string or a comment holds; with one
 * subcommand, the statement's position. */
static void test_alter_subcommand_positions(void **state)
{
    (void)state;
    const char *text = "ALTER TABLE \"s\".\"t\" *\n"
                       "  ADD COLUMN c text DEFAULT 'a,b', -- x, y\n"
                       "  ADD COLUMN d int[] DEFAULT ARRAY[1, 2],\n"
                       "  ALTER COLUMN y TYPE int USING (y::int), ALTER COLUMN x SET NOT NULL;\n"
                       "ALTER TABLE t ALTER COLUMN x SET NOT NULL;";
    SqlChunk *c = sql_parse(text, strlen(text));
    assert_true(c->parsed);
    assert_int_equal(c->n, 2);
    static const size_t want[][2] = {{2, 3}, {3, 3}, {4, 3}, {4, 43}};
    assert_int_equal(c->stmts[0].n_alters, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(c->stmts[0].alters[i].pos.line, want[i][0]);
        assert_int_equal(c->stmts[0].alters[i].pos.column, want[i][1]);
    }
    assert_int_equal(c->stmts[1].n_alters, 1);
    assert_int_equal(c->stmts[1].alters[0].pos.line, 5);
    assert_int_equal(c->stmts[1].alters[0].pos.column, 1);
    sql_chunk_free(c);
}

/* String constants and what they stand against: casts (the outermost one), comparisons
 * with a column or a cast, IN lists, assignments by UPDATE, INSERT and MERGE, defaults,
 * anything else. */
static void test_strings(void **state)
{
    (void)state;
    ASSERT_MODEL("DELETE FROM ONLY t WHERE role::text <> 'guest' AND role = 'admin'::user_role AND "
                 "r IN ('a', lower('b')) AND 'c' = x.r;\n"
                 "SELECT 'x'::text::my_enum, CAST('y' AS public.my_enum[]);\n"
                 "INSERT INTO s.t (a, b) VALUES ('x', 'y'), ('z', 1);\n"
                 "WITH w AS (UPDATE t SET a = 1 RETURNING *) SELECT * FROM w;\n"
                 "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = 'x' WHEN "
                 "NOT MATCHED THEN INSERT (a) VALUES ('y');",
                 "parsed\n"
                 "@1:1+117 delete DeleteStmt rel=t\n"
                 "  str 'guest' compared_cast type=text @1:40\n"
                 "  str 'admin' cast type=user_role @1:59\n"
                 "  str 'a' compared_column col=r @1:88\n"
                 "  str 'b' other @1:99\n"
                 "  str 'c' compared_column col=r @1:109\n"
                 "  dml delete t where\n"
                 "@2:1+56 select SelectStmt\n"
                 "  str 'x' cast type=my_enum @2:8\n"
                 "  str 'y' cast type=public.my_enum[] @2:33\n"
                 "@3:1+50 insert InsertStmt rel=s.t\n"
                 "  str 'x' assigned col=a @3:32\n"
                 "  str 'y' assigned col=b @3:37\n"
                 "  str 'z' assigned col=a @3:44\n"
                 "  dml insert s.t cols=a,b\n"
                 "@4:1+58 select SelectStmt\n"
                 "  dml update t cols=a\n"
                 "@5:1+118 merge MergeStmt rel=t\n"
                 "  str 'x' assigned col=a @5:70\n"
                 "  str 'y' assigned col=a @5:115\n"
                 "  dml merge t\n");
}

/* What each CREATE creates, and the forms that cannot fail on an existing object (IF NOT
 * EXISTS, OR REPLACE, TEMP). */
static void test_objects_created(void **state)
{
    (void)state;
    ASSERT_MODEL("CREATE TABLE IF NOT EXISTS \"a\" (id int);\n"
                 "CREATE UNLOGGED TABLE u (id int);\n"
                 "CREATE TEMP TABLE tmp (id int);\n"
                 "CREATE TABLE p1 PARTITION OF p FOR VALUES IN (1);\n"
                 "CREATE FOREIGN TABLE ft (id int) SERVER s;\n"
                 "CREATE TABLE db.sch.tbl (id int, LIKE tpl);\n"
                 "CREATE TABLE copy AS SELECT 1;\n"
                 "SELECT 1 INTO newt;\n"
                 "CREATE MATERIALIZED VIEW IF NOT EXISTS mv AS SELECT 1;\n"
                 "CREATE OR REPLACE VIEW v AS SELECT 1;\n"
                 "CREATE SEQUENCE \"public\".\"seq\";\n"
                 "CREATE EXTENSION IF NOT EXISTS \"pgcrypto\";\n"
                 "CREATE DOMAIN d AS int CHECK (VALUE > 0);\n"
                 "CREATE TYPE pair AS (x int, y text);\n"
                 "CREATE TYPE shell;\n"
                 "CREATE SCHEMA AUTHORIZATION joe;\n"
                 "CREATE SCHEMA AUTHORIZATION CURRENT_USER;",
                 "parsed\n"
                 "@1:1+39 create_table CreateStmt rel=a\n"
                 "  create table a if_not_exists\n"
                 "  create column id on a type=int4\n"
                 "@2:1+32 create_table CreateStmt rel=u\n"
                 "  create table u unlogged\n"
                 "  create column id on u type=int4\n"
                 "@3:1+30 create_table CreateStmt rel=tmp\n"
                 "  create table tmp temp\n"
                 "  create column id on tmp type=int4\n"
                 "@4:1+48 create_table CreateStmt rel=p1\n"
                 "  create table p1\n"
                 "  reference table p\n"
                 "@5:1+41 create_table CreateForeignTableStmt rel=ft\n"
                 "  create foreign table ft\n"
                 "  create column id on ft type=int4\n"
                 "@6:1+42 create_table CreateStmt rel=sch.tbl\n"
                 "  create table sch.tbl\n"
                 "  create column id on sch.tbl type=int4\n"
                 "  reference table tpl\n"
                 "@7:1+29 create_table CreateTableAsStmt rel=copy\n"
                 "  create table copy\n"
                 "@8:1+18 select SelectStmt\n"
                 "  create table newt\n"
                 "@9:1+53 create_view CreateTableAsStmt rel=mv\n"
                 "  create materialized view mv if_not_exists\n"
                 "@10:1+36 create_view ViewStmt rel=v\n"
                 "  create view v or_replace\n"
                 "@11:1+30 create_sequence CreateSeqStmt\n"
                 "  create sequence public.seq\n"
                 "@12:1+41 create_extension CreateExtensionStmt\n"
                 "  create extension pgcrypto if_not_exists\n"
                 "@13:1+40 create_type CreateDomainStmt\n"
                 "  create domain d\n"
                 "  create constraint ? on d con=check\n"
                 "@14:1+35 create_type CompositeTypeStmt\n"
                 "  create type pair form=composite\n"
                 "  create column x on pair type=int4\n"
                 "  create column y on pair type=text\n"
                 "@15:1+17 create_type DefineStmt\n"
                 "  create type shell form=base\n"
                 "@16:1+31 create_schema CreateSchemaStmt\n"
                 "  create schema joe\n"
                 "@17:1+40 create_schema CreateSchemaStmt\n"
                 "  create schema ?\n");
    ASSERT_MODEL("CREATE SCHEMA s AUTHORIZATION joe CREATE TABLE t (a int REFERENCES o (id)) "
                 "CREATE VIEW v AS SELECT 1 CREATE INDEX ON t (a);",
                 "parsed\n"
                 "@1:1+122 create_schema CreateSchemaStmt\n"
                 "  create schema s\n"
                 "  create table s.t\n"
                 "  create column a on s.t type=int4\n"
                 "  create constraint ? on s.t con=fk of=a refs=o\n"
                 "  reference table o\n"
                 "  create view s.v\n"
                 "  create index s.? on s.t\n"
                 "  reference table s.t\n");
}

/* DROP of each kind (lists, IF EXISTS, CASCADE), renames, SET SCHEMA, TRUNCATE, LOCK. */
static void test_objects_dropped_renamed(void **state)
{
    (void)state;
    ASSERT_MODEL("DROP TABLE IF EXISTS \"public\".\"b\", c CASCADE;\n"
                 "DROP VIEW v; DROP MATERIALIZED VIEW m; DROP SEQUENCE q; DROP DOMAIN d; DROP "
                 "FOREIGN TABLE f;\n"
                 "DROP TYPE IF EXISTS \"e\"; DROP SCHEMA s1, s2; DROP FUNCTION f(int), g;\n"
                 "DROP TRIGGER tr ON s.t; DROP EXTENSION x; DROP RULE r ON t;\n"
                 "ALTER TABLE a RENAME TO b; ALTER TABLE s.a RENAME COLUMN x TO y;\n"
                 "ALTER TABLE a RENAME CONSTRAINT x TO y; ALTER TYPE e RENAME TO f;\n"
                 "ALTER SCHEMA s RENAME TO t; ALTER TABLE a SET SCHEMA b; ALTER DOMAIN d RENAME "
                 "CONSTRAINT c TO k;\n"
                 "TRUNCATE t, s.u; LOCK TABLE t IN ACCESS EXCLUSIVE MODE;",
                 "parsed\n"
                 "@1:1+44 drop DropStmt\n"
                 "  drop table public.b if_exists cascade\n"
                 "  drop table c if_exists cascade\n"
                 "@2:1+11 drop DropStmt\n"
                 "  drop view v\n"
                 "@2:14+24 drop DropStmt\n"
                 "  drop materialized view m\n"
                 "@2:40+15 drop DropStmt\n"
                 "  drop sequence q\n"
                 "@2:57+13 drop DropStmt\n"
                 "  drop domain d\n"
                 "@2:72+20 drop DropStmt\n"
                 "  drop foreign table f\n"
                 "@3:1+23 drop DropStmt\n"
                 "  drop type e if_exists\n"
                 "@3:26+18 drop DropStmt\n"
                 "  drop schema s1\n"
                 "  drop schema s2\n"
                 "@3:46+23 drop DropStmt\n"
                 "  drop function f\n"
                 "  drop function g\n"
                 "@4:1+22 drop DropStmt\n"
                 "  drop trigger tr on s.t\n"
                 "@4:25+16 drop DropStmt\n"
                 "  drop extension x\n"
                 "@4:43+16 drop DropStmt\n"
                 "  drop rule r on t\n"
                 "@5:1+25 rename RenameStmt rel=a\n"
                 "  rename table a -> b\n"
                 "@5:28+36 rename RenameStmt rel=s.a\n"
                 "  rename column x on s.a -> y\n"
                 "@6:1+38 rename RenameStmt rel=a\n"
                 "  rename constraint x on a -> y\n"
                 "@6:41+24 rename RenameStmt\n"
                 "  rename type e -> f\n"
                 "@7:1+26 rename RenameStmt\n"
                 "  rename schema s -> t\n"
                 "@7:29+26 alter_other AlterObjectSchemaStmt\n"
                 "  set_schema table a -> b\n"
                 "@7:57+39 rename RenameStmt\n"
                 "  rename constraint c on d -> k\n"
                 "@8:1+15 truncate TruncateStmt\n"
                 "  truncate table t\n"
                 "  truncate table s.u\n"
                 "@8:18+37 lock LockStmt\n"
                 "  lock table t\n");
}

/* What the parser refuses: a psql meta-command, garbage, syntax newer than PostgreSQL 15's
 * (SET EXPRESSION is 17), a string never closed. The chunk is not parsed and says where;
 * the statements around the bad ones still get their model. */
static void test_unparsable(void **state)
{
    (void)state;
    ASSERT_MODEL("\\c otherdb", "not parsed: syntax error at or near \"\\\" @1:1\n"
                                "@1:1+10 unparsed\n"
                                "  error: syntax error at or near \"\\\" @1:1\n");
    ASSERT_MODEL("this is not sql", "not parsed: syntax error at or near \"this\" @1:1\n"
                                    "@1:1+15 unparsed\n"
                                    "  error: syntax error at or near \"this\" @1:1\n");
    ASSERT_MODEL("CREATE TABLE a (id int);\n"
                 "\\c otherdb\n"
                 "CREATE TABLE b (id int);\n"
                 "ALTER TABLE a ALTER COLUMN id SET EXPRESSION AS (1);\n"
                 "CREATE TABLE c (id int);\n"
                 "SELECT 'never closed;\n"
                 "CREATE TABLE d (id int);",
                 "not parsed: syntax error at or near \"\\\" @2:1\n"
                 "@1:1+23 create_table CreateStmt rel=a\n"
                 "  create table a\n"
                 "  create column id on a type=int4\n"
                 "@2:1+34 unparsed\n"
                 "  error: syntax error at or near \"\\\" @2:1\n"
                 "@4:1+51 unparsed\n"
                 "  error: syntax error at or near \"EXPRESSION\" @4:35\n"
                 "@5:1+23 create_table CreateStmt rel=c\n"
                 "  create table c\n"
                 "  create column id on c type=int4\n"
                 "@6:1+46 unparsed\n"
                 "  error: unterminated quoted string at or near \"'never closed;\n"
                 "CREATE TABLE d (id int);\" @6:8\n");
    ASSERT_MODEL("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELEC 2; "
                 "END; CREATE TABLE after (a int)",
                 "not parsed: syntax error at or near \"SELEC\" @1:69\n"
                 "@1:1+80 unparsed\n"
                 "  error: syntax error at or near \"SELEC\" @1:69\n"
                 "@1:83+26 create_table CreateStmt rel=after\n"
                 "  create table after\n"
                 "  create column a on after type=int4\n");
    ASSERT_MODEL("SELECT U&'\\zzzz'; SELECT 2", "not parsed: invalid Unicode escape @1:11\n"
                                                "@1:1+16 unparsed\n"
                                                "  error: invalid Unicode escape @1:11\n"
                                                "@1:19+8 select SelectStmt\n");
}

/* Chunks with no statement at all: empty, blanks, comments, lone semicolons. Comments
 * before a statement and after it are not part of it. */
static void test_comments_and_empty(void **state)
{
    (void)state;
    ASSERT_MODEL("", "parsed\n");
    ASSERT_MODEL("   \n"
                 "\t",
                 "parsed\n");
    ASSERT_MODEL("-- a comment only", "parsed\n");
    ASSERT_MODEL("/* one /* nested */ */ ; ;; -- two\n", "parsed\n");
    ASSERT_MODEL("-- add the column\n"
                 "/* see #42 */ ALTER TABLE t ADD COLUMN c int -- trailing\n"
                 "; -- after\n",
                 "parsed\n"
                 "@2:15+30 alter_table AlterTableStmt rel=t\n"
                 "  alter table t\n"
                 "  create column c on t type=int4\n"
                 "  alter add_column (AT_AddColumn) col=c\n");
}

/* UTF-8 identifiers, comments and strings: offsets in bytes, columns in characters. */
static void test_non_ascii(void **state)
{
    (void)state;
    ASSERT_MODEL("CREATE TABLE \"Café\" (\"naïve\" text);\n"
                 "-- ünïcödé comment\n"
                 "CREATE INDEX \"idx_ü\" ON \"Café\" (\"naïve\") WHERE \"naïve\" <> 'é';",
                 "parsed\n"
                 "@1:1+36 create_table CreateStmt rel=Café\n"
                 "  create table Café\n"
                 "  create column naïve on Café type=text\n"
                 "@3:1+66 create_index IndexStmt rel=Café\n"
                 "  create index idx_ü on Café\n"
                 "  reference table Café\n"
                 "  str 'é' compared_column col=naïve @3:59\n");
    ASSERT_MODEL("CREATE TABLE é.\"Ünïcode\" (ß int); SELEC x",
                 "not parsed: syntax error at or near \"SELEC\" @1:35\n"
                 "@1:1+36 create_table CreateStmt rel=é.Ünïcode\n"
                 "  create table é.Ünïcode\n"
                 "  create column ß on é.Ünïcode type=int4\n"
                 "@1:35+7 unparsed\n"
                 "  error: syntax error at or near \"SELEC\" @1:35\n");
}

/* A NUL byte ends what the server can receive: the rest of the chunk is one statement the
 * parser did not take, and the chunk is not parsed. */
static void test_nul_byte(void **state)
{
    (void)state;
    static const char text[] = "CREATE TABLE a (id int);\nSELECT 1\0; DROP TABLE a;";
    SqlChunk *c = sql_parse(text, sizeof text - 1);
    assert_false(c->parsed);
    assert_string_equal(c->error->message, "a NUL byte: nothing after it can be sent");
    assert_int_equal(c->error->pos.offset, 33);
    assert_int_equal(c->error->pos.line, 2);
    assert_int_equal(c->error->pos.column, 9);
    assert_int_equal(c->n, 3);
    assert_int_equal(c->stmts[0].kind, SQL_KIND_CREATE_TABLE);
    assert_int_equal(c->stmts[1].kind, SQL_KIND_SELECT);
    assert_int_equal(c->stmts[2].kind, SQL_KIND_UNPARSED);
    assert_int_equal(c->stmts[2].pos.offset, 33);
    assert_int_equal(c->stmts[2].len, sizeof text - 1 - 33);
    sql_chunk_free(c);
    sql_chunk_free(NULL);
}

/* The text need not be NUL-terminated: only len bytes are read. */
static void test_length_not_terminator(void **state)
{
    (void)state;
    const char text[] = "COMMIT; SELECT garbage garbage";
    SqlChunk *c = sql_parse(text, 7);
    assert_true(c->parsed);
    assert_int_equal(c->n, 1);
    assert_int_equal(c->stmts[0].tx, SQL_TX_COMMIT);
    assert_int_equal(c->stmts[0].len, 6);
    sql_chunk_free(c);
}

/* A long chunk whose first statement is refused: every other statement still gets its
 * model, each piece parsed once. */
static void test_long_chunk_after_an_error(void **state)
{
    (void)state;
    enum { N = 3000 };
    size_t cap = 64 + (size_t)N * 64, len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text + len, cap - len, "SELEC 1;\n");
    for (int i = 0; i < N; i++)
        len +=
            (size_t)snprintf(text + len, cap - len, "UPDATE t SET a = 'v%d' WHERE b <> 'w';\n", i);
    SqlChunk *c = sql_parse(text, len);
    assert_false(c->parsed);
    assert_int_equal(c->n, N + 1);
    assert_int_equal(c->stmts[0].kind, SQL_KIND_UNPARSED);
    assert_int_equal(c->stmts[N].kind, SQL_KIND_UPDATE);
    assert_int_equal(c->stmts[N].pos.line, N + 1);
    assert_string_equal(c->stmts[N].strings[0].value, "v2999");
    assert_int_equal(c->stmts[N].strings[1].use, SQL_STR_COMPARED_COLUMN);
    sql_chunk_free(c);
    free(text);
}

/* A statement nested deeper than the tree reader goes is one the parser did not take. */
static void test_nested_too_deeply(void **state)
{
    (void)state;
    enum { DEPTH = 2000 };
    char *text = malloc(16 + DEPTH * 3);
    size_t len = (size_t)sprintf(text, "SELECT ");
    for (int i = 0; i < DEPTH; i++)
        len += (size_t)sprintf(text + len, "f(");
    text[len++] = '1';
    for (int i = 0; i < DEPTH; i++)
        text[len++] = ')';
    SqlChunk *c = sql_parse(text, len);
    assert_false(c->parsed);
    assert_string_equal(c->error->message, "statement nested too deeply to be read");
    assert_int_equal(c->n, 1);
    assert_int_equal(c->stmts[0].kind, SQL_KIND_UNPARSED);
    sql_chunk_free(c);
    free(text);
}

static void *parse_on_thread(void *arg)
{
    SqlChunk *c = sql_parse(arg, strlen(arg));
    bool ok = c->parsed && c->n == 1 && c->stmts[0].nontx == SQL_NONTX_VACUUM;
    sql_chunk_free(c);
    return ok ? arg : NULL;
}

/* libpg_query keeps its state per thread: a parse on another thread gives the same model. */
static void test_other_thread(void **state)
{
    (void)state;
    pthread_t t;
    char text[] = "VACUUM t";
    assert_int_equal(pthread_create(&t, NULL, parse_on_thread, text), 0);
    void *res;
    assert_int_equal(pthread_join(t, &res), 0);
    assert_ptr_equal(res, text);
}

static void test_names(void **state)
{
    (void)state;
    assert_true(sql_nontx_refused(SQL_NONTX_CREATE_INDEX_CONCURRENTLY, 170000));
    assert_true(sql_nontx_refused(SQL_NONTX_ALTER_TYPE_ADD_VALUE, 110022));
    assert_false(sql_nontx_refused(SQL_NONTX_ALTER_TYPE_ADD_VALUE, 120000));
    assert_false(sql_nontx_refused(SQL_NONTX_NONE, 90600));
    assert_string_equal(sql_nontx_name(SQL_NONTX_NONE), "");
    assert_string_equal(sql_nontx_name(SQL_NONTX_DETACH_PARTITION_CONCURRENTLY),
                        "ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY");
    assert_string_equal(sql_tx_name(SQL_TX_NONE), "");
    assert_string_equal(sql_kind_name(SQL_KIND_OTHER), "other");
    assert_string_equal(sql_kind_name((SqlKind)999), "");
    assert_false(sql_ends_transaction(NULL));
}

/* ---- drizzle-kit's own output (tests/fixtures/sql-model, regenerate.sh) ---------------- */

#define SQL_MODEL_DIR PF_TEST_DATA "/../fixtures/sql-model/drizzle"

/* Every chunk of migration `tag` of the fixture, as the reader splits it: "-- statement N"
 * and the chunk's model. */
static char *render_migration(const char *tag)
{
    Codebase *cb = NULL;
    PfErr err;
    if (cb_read(SQL_MODEL_DIR, &cb, &err) != PF_OK)
        fail_msg("%s", err.msg);
    Out o = {0};
    for (size_t m = 0; m < cb->n; m++) {
        if (strcmp(cb->migrations[m].tag, tag) != 0)
            continue;
        for (size_t k = 0; k < cb->migrations[m].n_chunks; k++) {
            char *chunk = render(cb->migrations[m].chunks[k]);
            put(&o, "-- statement %zu: %s", k + 1, chunk);
            free(chunk);
        }
    }
    cb_free(cb);
    if (!o.s)
        put(&o, "%s", "");
    return o.s;
}

#define ASSERT_MIGRATION(tag, want)                                                                \
    do {                                                                                           \
        char *got_ = render_migration(tag);                                                        \
        if (strcmp(got_, want) != 0)                                                               \
            printf("---- got:\n%s---- want:\n%s----\n", got_, want);                               \
        assert_string_equal(got_, want);                                                           \
        free(got_);                                                                                \
    } while (0)

/* A new schema: a schema, enums and a sequence qualified with theirs, serial / identity / uuid
 * keys (volatile defaults: each row gets its own), a jsonb default cast, a CHECK, a composite
 * key, foreign keys added afterwards (each naming the referenced table), an expression index,
 * a partial index, RLS enabled, a view, a policy. */
static void test_drizzle_kit_create(void **state)
{
    (void)state;
    ASSERT_MIGRATION(
        "0000_create",
        "-- statement 1: parsed\n"
        "@1:1+23 create_schema CreateSchemaStmt\n"
        "  create schema billing\n"
        "-- statement 2: parsed\n"
        "@2:1+69 create_type CreateEnumStmt\n"
        "  create type billing.invoice_state form=enum labels='open','paid','void'\n"
        "-- statement 3: parsed\n"
        "@2:1+50 create_type CreateEnumStmt\n"
        "  create type public.plan form=enum labels='free','pro'\n"
        "-- statement 4: parsed\n"
        "@2:1+120 create_sequence CreateSeqStmt\n"
        "  create sequence public.ticket_numbers\n"
        "-- statement 5: parsed\n"
        "@2:1+314 create_table CreateStmt rel=accounts\n"
        "  create table accounts\n"
        "  create column id on accounts type=serial not_null pk volatile serial\n"
        "  create constraint ? on accounts con=pk of=id\n"
        "  create column name on accounts type=varchar(120) not_null\n"
        "  create column plan on accounts type=plan not_null default=constant\n"
        "  create column settings on accounts type=jsonb not_null default=constant\n"
        "  create column created_at on accounts type=timestamptz not_null default=expression\n"
        "  create constraint accounts_name_not_blank on accounts con=check\n"
        "  str 'free' default type=plan col=plan @5:24\n"
        "  str '{}' cast type=jsonb @6:27\n"
        "  str '' compared_column col=name @8:67\n"
        "-- statement 6: parsed\n"
        "@2:1+214 create_table CreateStmt rel=billing.invoices\n"
        "  create table billing.invoices\n"
        "  create column id on billing.invoices type=uuid not_null pk default=expression volatile\n"
        "  create constraint ? on billing.invoices con=pk of=id\n"
        "  create column account_id on billing.invoices type=int4 not_null\n"
        "  create column state on billing.invoices type=billing.invoice_state not_null "
        "default=constant\n"
        "  create column cents on billing.invoices type=int4 not_null\n"
        "  str 'open' default type=billing.invoice_state col=state @5:44\n"
        "-- statement 7: parsed\n"
        "@2:1+290 create_table CreateStmt rel=members\n"
        "  create table members\n"
        "  create column id on members type=int4 not_null pk volatile identity\n"
        "  create constraint ? on members con=pk of=id\n"
        "  create column account_id on members type=int4 not_null\n"
        "  create column email on members type=text not_null\n"
        "  create column nickname on members type=text default=constant\n"
        "  create column legacy_code on members type=text\n"
        "  str 'new' default type=text col=nickname @6:26\n"
        "-- statement 8: parsed\n"
        "@2:1+47 alter_table AlterTableStmt rel=members\n"
        "  alter table members\n"
        "  alter enable_rls (AT_EnableRowSecurity)\n"
        "-- statement 9: parsed\n"
        "@2:1+181 create_table CreateStmt rel=memberships\n"
        "  create table memberships\n"
        "  create column member_id on memberships type=int4 not_null\n"
        "  create column account_id on memberships type=int4 not_null\n"
        "  create constraint memberships_member_id_account_id_pk on memberships con=pk\n"
        "-- statement 10: parsed\n"
        "@2:1+188 alter_table AlterTableStmt rel=billing.invoices\n"
        "  alter table billing.invoices\n"
        "  create constraint invoices_account_id_accounts_id_fk on billing.invoices con=fk "
        "refs=public.accounts\n"
        "  reference table public.accounts\n"
        "  alter add_constraint (AT_AddConstraint)\n"
        "-- statement 11: parsed\n"
        "@2:1+174 alter_table AlterTableStmt rel=members\n"
        "  alter table members\n"
        "  create constraint members_account_id_accounts_id_fk on members con=fk "
        "refs=public.accounts\n"
        "  reference table public.accounts\n"
        "  alter add_constraint (AT_AddConstraint)\n"
        "-- statement 12: parsed\n"
        "@2:1+180 alter_table AlterTableStmt rel=memberships\n"
        "  alter table memberships\n"
        "  create constraint memberships_member_id_members_id_fk on memberships con=fk "
        "refs=public.members\n"
        "  reference table public.members\n"
        "  alter add_constraint (AT_AddConstraint)\n"
        "-- statement 13: parsed\n"
        "@2:1+184 alter_table AlterTableStmt rel=memberships\n"
        "  alter table memberships\n"
        "  create constraint memberships_account_id_accounts_id_fk on memberships con=fk "
        "refs=public.accounts\n"
        "  reference table public.accounts\n"
        "  alter add_constraint (AT_AddConstraint)\n"
        "-- statement 14: parsed\n"
        "@2:1+81 create_index IndexStmt rel=accounts\n"
        "  create index accounts_name_idx on accounts\n"
        "  reference table accounts\n"
        "-- statement 15: parsed\n"
        "@2:1+111 create_index IndexStmt rel=members\n"
        "  create index members_active_idx on members\n"
        "  reference table members\n"
        "-- statement 16: parsed\n"
        "@2:1+89 create_view ViewStmt rel=public.pro_accounts\n"
        "  create view public.pro_accounts\n"
        "  str 'pro' compared_column col=plan @2:84\n"
        "-- statement 17: parsed\n"
        "@2:1+160 create_policy CreatePolicyStmt rel=members\n"
        "  create policy members_same_account on members\n"
        "  reference table members\n"
        "  str 'app.account_id' other @2:134\n");
}

/* Changes: ADD VALUE (refused in a transaction before PostgreSQL 12), varchar -> text, SET
 * NOT NULL, a NOT NULL column with a constant default, a nullable one, CREATE INDEX
 * CONCURRENTLY (which drizzle-kit writes although drizzle's migrator runs it in a transaction:
 * interop/check-fixtures.sh shows the server refusing it), DROP COLUMN, ALTER POLICY. */
static void test_drizzle_kit_alter(void **state)
{
    (void)state;
    ASSERT_MIGRATION(
        "0001_alter",
        "-- statement 1: parsed\n"
        "@1:1+43 alter_type AlterEnumStmt nontx=\"ALTER TYPE ... ADD VALUE\"\n"
        "  alter type public.plan form=enum\n"
        "  enum public.plan add 'team'\n"
        "-- statement 2: parsed\n"
        "@2:1+61 alter_table AlterTableStmt rel=accounts\n"
        "  alter table accounts\n"
        "  alter column name on accounts\n"
        "  alter column_type (AT_AlterColumnType) col=name to=text\n"
        "-- statement 3: parsed\n"
        "@2:1+61 alter_table AlterTableStmt rel=members\n"
        "  alter table members\n"
        "  alter column legacy_code on members\n"
        "  alter set_not_null (AT_SetNotNull) col=legacy_code\n"
        "-- statement 4: parsed\n"
        "@2:1+68 alter_table AlterTableStmt rel=accounts\n"
        "  alter table accounts\n"
        "  create column seats on accounts type=int4 not_null default=constant\n"
        "  alter add_column (AT_AddColumn) col=seats\n"
        "-- statement 5: parsed\n"
        "@2:1+47 alter_table AlterTableStmt rel=accounts\n"
        "  alter table accounts\n"
        "  create column region on accounts type=text\n"
        "  alter add_column (AT_AddColumn) col=region\n"
        "-- statement 6: parsed\n"
        "@2:1+102 create_index IndexStmt nontx=\"CREATE INDEX CONCURRENTLY\" rel=billing.invoices\n"
        "  create index billing.invoices_account_id_idx on billing.invoices concurrently\n"
        "  reference table billing.invoices\n"
        "-- statement 7: parsed\n"
        "@2:1+44 alter_table AlterTableStmt rel=members\n"
        "  alter table members\n"
        "  drop column nickname on members\n"
        "  alter drop_column (AT_DropColumn) col=nickname\n"
        "-- statement 8: parsed\n"
        "@2:1+140 alter_policy AlterPolicyStmt rel=members\n"
        "  alter policy members_same_account on members\n"
        "  reference table members\n"
        "  str 'app.account_id' other @2:108\n");
}

/* An enum value removed: drizzle-kit moves the column to text, drops and recreates the type,
 * and casts back with USING; the defaults are casts to text, then to the new type. */
static void test_drizzle_kit_recreate(void **state)
{
    (void)state;
    ASSERT_MIGRATION(
        "0002_recreate",
        "-- statement 1: parsed\n"
        "@1:1+32 drop DropStmt\n"
        "  drop table memberships cascade\n"
        "-- statement 2: parsed\n"
        "@2:1+72 alter_table AlterTableStmt rel=billing.invoices\n"
        "  alter table billing.invoices\n"
        "  alter column state on billing.invoices\n"
        "  alter column_type (AT_AlterColumnType) col=state to=text\n"
        "-- statement 3: parsed\n"
        "@2:1+78 alter_table AlterTableStmt rel=billing.invoices\n"
        "  alter table billing.invoices\n"
        "  alter column state on billing.invoices\n"
        "  alter set_default (AT_ColumnDefault) col=state default=constant\n"
        "  str 'open' cast type=text @2:67\n"
        "-- statement 4: parsed\n"
        "@2:1+35 drop DropStmt\n"
        "  drop type billing.invoice_state\n"
        "-- statement 5: parsed\n"
        "@2:1+61 create_type CreateEnumStmt\n"
        "  create type billing.invoice_state form=enum labels='open','paid'\n"
        "-- statement 6: parsed\n"
        "@2:1+99 alter_table AlterTableStmt rel=billing.invoices\n"
        "  alter table billing.invoices\n"
        "  alter column state on billing.invoices\n"
        "  alter set_default (AT_ColumnDefault) col=state default=constant\n"
        "  str 'open' cast type=billing.invoice_state @2:67\n"
        "-- statement 7: parsed\n"
        "@2:1+134 alter_table AlterTableStmt rel=billing.invoices\n"
        "  alter table billing.invoices\n"
        "  alter column state on billing.invoices\n"
        "  alter column_type (AT_AlterColumnType) col=state to=billing.invoice_state using\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drizzle_kit_tables),
        cmocka_unit_test(test_drizzle_kit_create),
        cmocka_unit_test(test_drizzle_kit_alter),
        cmocka_unit_test(test_drizzle_kit_recreate),
        cmocka_unit_test(test_drizzle_kit_do_block),
        cmocka_unit_test(test_enum_value_added_and_used),
        cmocka_unit_test(test_rls_policies),
        cmocka_unit_test(test_plpgsql_function_and_trigger),
        cmocka_unit_test(test_begin_atomic_bodies),
        cmocka_unit_test(test_sql_string_bodies),
        cmocka_unit_test(test_hand_written_escape),
        cmocka_unit_test(test_transaction_control),
        cmocka_unit_test(test_non_transactional),
        cmocka_unit_test(test_alter_column_type),
        cmocka_unit_test(test_backfill_between_add_and_drop),
        cmocka_unit_test(test_alter_table_subcommands),
        cmocka_unit_test(test_alter_subcommand_positions),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_objects_created),
        cmocka_unit_test(test_objects_dropped_renamed),
        cmocka_unit_test(test_unparsable),
        cmocka_unit_test(test_comments_and_empty),
        cmocka_unit_test(test_non_ascii),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_length_not_terminator),
        cmocka_unit_test(test_long_chunk_after_an_error),
        cmocka_unit_test(test_nested_too_deeply),
        cmocka_unit_test(test_other_thread),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
