/*
 * The enums' names (for messages, reports and tests) and the small questions sql.h answers
 * about a statement. One table per enum, indexed by its values.
 */
#include "sql/internal.h"

#define NAME(table, i) ((size_t)(i) < sizeof table / sizeof table[0] && table[i] ? table[i] : "")

bool sql_ends_transaction(const SqlStatement *st)
{
    return st && (st->tx == SQL_TX_COMMIT || st->tx == SQL_TX_ROLLBACK || st->tx == SQL_TX_PREPARE);
}

bool sql_nontx_refused(SqlNonTx why, int server_version_num)
{
    if (why == SQL_NONTX_ALTER_TYPE_ADD_VALUE)
        return server_version_num < 120000;
    return why != SQL_NONTX_NONE;
}

const char *sql_kind_name(SqlKind kind)
{
    static const char *const names[] = {
        [SQL_KIND_UNPARSED] = "unparsed",
        [SQL_KIND_TRANSACTION] = "transaction",
        [SQL_KIND_CREATE_TABLE] = "create_table",
        [SQL_KIND_CREATE_VIEW] = "create_view",
        [SQL_KIND_CREATE_SEQUENCE] = "create_sequence",
        [SQL_KIND_CREATE_INDEX] = "create_index",
        [SQL_KIND_CREATE_TYPE] = "create_type",
        [SQL_KIND_CREATE_SCHEMA] = "create_schema",
        [SQL_KIND_CREATE_EXTENSION] = "create_extension",
        [SQL_KIND_CREATE_FUNCTION] = "create_function",
        [SQL_KIND_CREATE_TRIGGER] = "create_trigger",
        [SQL_KIND_CREATE_POLICY] = "create_policy",
        [SQL_KIND_ALTER_TABLE] = "alter_table",
        [SQL_KIND_ALTER_TYPE] = "alter_type",
        [SQL_KIND_ALTER_POLICY] = "alter_policy",
        [SQL_KIND_ALTER_OTHER] = "alter_other",
        [SQL_KIND_RENAME] = "rename",
        [SQL_KIND_DROP] = "drop",
        [SQL_KIND_SELECT] = "select",
        [SQL_KIND_INSERT] = "insert",
        [SQL_KIND_UPDATE] = "update",
        [SQL_KIND_DELETE] = "delete",
        [SQL_KIND_MERGE] = "merge",
        [SQL_KIND_TRUNCATE] = "truncate",
        [SQL_KIND_LOCK] = "lock",
        [SQL_KIND_COPY] = "copy",
        [SQL_KIND_CALL] = "call",
        [SQL_KIND_DO] = "do",
        [SQL_KIND_MAINTENANCE] = "maintenance",
        [SQL_KIND_OTHER] = "other",
    };
    return NAME(names, kind);
}

const char *sql_nontx_name(SqlNonTx why)
{
    static const char *const names[] = {
        [SQL_NONTX_CREATE_INDEX_CONCURRENTLY] = "CREATE INDEX CONCURRENTLY",
        [SQL_NONTX_DROP_INDEX_CONCURRENTLY] = "DROP INDEX CONCURRENTLY",
        [SQL_NONTX_REINDEX_CONCURRENTLY] = "REINDEX ... CONCURRENTLY",
        [SQL_NONTX_REINDEX_SCHEMA] = "REINDEX SCHEMA",
        [SQL_NONTX_REINDEX_DATABASE] = "REINDEX DATABASE",
        [SQL_NONTX_REINDEX_SYSTEM] = "REINDEX SYSTEM",
        [SQL_NONTX_VACUUM] = "VACUUM",
        [SQL_NONTX_CLUSTER] = "CLUSTER",
        [SQL_NONTX_CREATE_DATABASE] = "CREATE DATABASE",
        [SQL_NONTX_DROP_DATABASE] = "DROP DATABASE",
        [SQL_NONTX_ALTER_DATABASE_SET_TABLESPACE] = "ALTER DATABASE ... SET TABLESPACE",
        [SQL_NONTX_CREATE_TABLESPACE] = "CREATE TABLESPACE",
        [SQL_NONTX_DROP_TABLESPACE] = "DROP TABLESPACE",
        [SQL_NONTX_ALTER_SYSTEM] = "ALTER SYSTEM",
        [SQL_NONTX_DETACH_PARTITION_CONCURRENTLY] =
            "ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY",
        [SQL_NONTX_DISCARD_ALL] = "DISCARD ALL",
        [SQL_NONTX_COMMIT_PREPARED] = "COMMIT PREPARED",
        [SQL_NONTX_ROLLBACK_PREPARED] = "ROLLBACK PREPARED",
        [SQL_NONTX_CREATE_SUBSCRIPTION] = "CREATE SUBSCRIPTION",
        [SQL_NONTX_ALTER_SUBSCRIPTION] = "ALTER SUBSCRIPTION ... REFRESH",
        [SQL_NONTX_DROP_SUBSCRIPTION] = "DROP SUBSCRIPTION",
        [SQL_NONTX_ALTER_TYPE_ADD_VALUE] = "ALTER TYPE ... ADD VALUE",
    };
    return NAME(names, why);
}

const char *sql_tx_name(SqlTx tx)
{
    static const char *const names[] = {
        [SQL_TX_BEGIN] = "begin",
        [SQL_TX_COMMIT] = "commit",
        [SQL_TX_ROLLBACK] = "rollback",
        [SQL_TX_SAVEPOINT] = "savepoint",
        [SQL_TX_RELEASE] = "release",
        [SQL_TX_ROLLBACK_TO] = "rollback_to",
        [SQL_TX_PREPARE] = "prepare",
        [SQL_TX_COMMIT_PREPARED] = "commit_prepared",
        [SQL_TX_ROLLBACK_PREPARED] = "rollback_prepared",
    };
    return NAME(names, tx);
}

const char *sql_action_name(SqlAction a)
{
    static const char *const names[] = {
        [SQL_ACT_CREATE] = "create", [SQL_ACT_DROP] = "drop",
        [SQL_ACT_RENAME] = "rename", [SQL_ACT_SET_SCHEMA] = "set_schema",
        [SQL_ACT_ALTER] = "alter",   [SQL_ACT_TRUNCATE] = "truncate",
        [SQL_ACT_LOCK] = "lock",     [SQL_ACT_REFERENCE] = "reference",
    };
    return NAME(names, a);
}

const char *sql_alter_name(SqlAlterKind k)
{
    static const char *const names[] = {
        [SQL_ALTER_ADD_COLUMN] = "add_column",
        [SQL_ALTER_DROP_COLUMN] = "drop_column",
        [SQL_ALTER_COLUMN_TYPE] = "column_type",
        [SQL_ALTER_SET_NOT_NULL] = "set_not_null",
        [SQL_ALTER_DROP_NOT_NULL] = "drop_not_null",
        [SQL_ALTER_SET_DEFAULT] = "set_default",
        [SQL_ALTER_DROP_DEFAULT] = "drop_default",
        [SQL_ALTER_ADD_CONSTRAINT] = "add_constraint",
        [SQL_ALTER_DROP_CONSTRAINT] = "drop_constraint",
        [SQL_ALTER_VALIDATE_CONSTRAINT] = "validate_constraint",
        [SQL_ALTER_ATTACH_PARTITION] = "attach_partition",
        [SQL_ALTER_DETACH_PARTITION] = "detach_partition",
        [SQL_ALTER_ENABLE_RLS] = "enable_rls",
        [SQL_ALTER_DISABLE_RLS] = "disable_rls",
        [SQL_ALTER_OTHER] = "other",
    };
    return NAME(names, k);
}

const char *sql_str_use_name(SqlStrUse u)
{
    static const char *const names[] = {
        [SQL_STR_CAST] = "cast",
        [SQL_STR_COMPARED_CAST] = "compared_cast",
        [SQL_STR_COMPARED_COLUMN] = "compared_column",
        [SQL_STR_ASSIGNED] = "assigned",
        [SQL_STR_DEFAULT] = "default",
        [SQL_STR_OTHER] = "other",
    };
    return NAME(names, u);
}
