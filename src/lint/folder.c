/*
 * Lint: the rules, the folder's structure and the order in which its migrations are handed to
 * the statement checks (statements.c).
 *
 * The folder is read once, by the codebase reader (cb_read_all): it records every problem of
 * the folder's structure in the words plan and apply refuse it with, and reads every migration
 * file, unlisted ones included, into the models the statement checks run on. Each problem
 * becomes a finding of the rule of the same name.
 */
#include "lint/internal.h"

#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

const LintRule lint_rules[] = {
    {"journal-missing", LINT_ERROR, "no meta/_journal.json beside the .sql files"},
    {"journal-malformed", LINT_ERROR, "meta/_journal.json is not valid JSON or not a journal"},
    {"mixed-layout", LINT_ERROR, "meta/_journal.json beside v1 migration folders"},
    {"missing-file", LINT_ERROR, "a journal entry whose .sql file does not exist"},
    {"duplicate-tag", LINT_ERROR, "two journal entries with the same tag"},
    {"when-not-increasing", LINT_ERROR, "a `when` not above an earlier one: drizzle-orm skips it"},
    {"duplicate-number", LINT_ERROR, "two migrations with the same number prefix"},
    {"orphan-sql", LINT_ERROR, "a .sql file in no journal entry (or no v1 folder): never run"},
    {"v1-missing-sql", LINT_ERROR, "a v1 migration folder without migration.sql"},
    {"v1-bad-name", LINT_ERROR, "a migration folder not named <YYYYMMDDHHMMSS>_<name>"},
    {"non-transactional", LINT_ERROR, "a statement that cannot run inside a transaction block"},
    {"enum-value-use", LINT_ERROR, "a new enum value used in the transaction that adds it"},
    {"unterminated", LINT_ERROR, "a quote never closed, or cut by a statement-breakpoint"},
    {"byte-order-mark", LINT_ERROR, "a migration starting with a byte order mark"},
    {"tenant-unmappable", LINT_ERROR,
     "a schema tenants map, named where it cannot be rewritten (with -i)"},
    {"escapes-transaction", LINT_WARNING,
     "a COMMIT (or ROLLBACK) that ends drizzle's transaction: what follows is not atomic"},
    {"unparsed", LINT_WARNING, "a chunk PostgreSQL's parser refuses: checked by keywords only"},
    {"drop-table", LINT_WARNING, "DROP TABLE"},
    {"drop-column", LINT_WARNING, "ALTER TABLE ... DROP COLUMN"},
    {"drop-create", LINT_WARNING, "a rename generated as drop+create (table or column)"},
    {"alter-column-type", LINT_WARNING, "ALTER COLUMN ... TYPE on an existing table"},
    {"set-not-null", LINT_INFO, "ALTER COLUMN ... SET NOT NULL on an existing table"},
    {NULL, LINT_INFO, NULL},
};

void lint_tenant_schemas(LintResult *r, const Codebase *cb, const char *const *schemas, size_t n)
{
    CbSchemaRefs refs;
    cb_schema_refs_find(cb, schemas, n, &refs);
    LintOut o = {r, r->n};
    for (size_t i = 0; i < refs.n_problems; i++) {
        const CbTenantProblem *p = &refs.problems[i];
        const CbMigration *m = &cb->migrations[p->migration];
        lint_emit(&o, "tenant-unmappable", m->path, m->tag, (int)p->line, (int)p->column,
                  pf_strdup(p->message), pf_strdup(p->hint));
    }
    cb_schema_refs_clear(&refs);
}

const char *lint_severity_name(LintSeverity s)
{
    return s == LINT_ERROR ? "error" : s == LINT_WARNING ? "warning" : "info";
}

void lint_emit(LintOut *o, const char *rule, const char *file, const char *migration, int line,
               int column, char *message, char *hint)
{
    const LintRule *r = lint_rules;
    while (r->id && strcmp(r->id, rule) != 0)
        r++;
    PF_GROW(o->r->findings, o->cap, o->r->n + 1);
    o->r->findings[o->r->n++] = (LintFinding){
        .rule = r->id ? r->id : "unknown",
        .severity = r->id ? r->severity : LINT_ERROR,
        .file = pf_strdup(file),
        .migration = pf_strdup(migration),
        .line = line,
        .column = line > 0 ? column : 0,
        .message = message,
        .hint = hint,
    };
}

void lint_counts(const LintResult *r, size_t counts[3])
{
    counts[LINT_INFO] = counts[LINT_WARNING] = counts[LINT_ERROR] = 0;
    for (size_t i = 0; i < r->n; i++)
        counts[r->findings[i].severity]++;
}

void lint_result_free(LintResult *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->findings[i].file);
        free(r->findings[i].migration);
        free(r->findings[i].message);
        free(r->findings[i].hint);
    }
    free(r->findings);
    free(r->dir);
    free(r);
}

/* ---- putting it together ---------------------------------------------------------------- */

void lint_codebase(const Codebase *cb, const CbProblems *problems, LintResult **out)
{
    LintResult *r = pf_calloc(1, sizeof *r);
    r->dir = pf_strdup(cb->dir);
    r->layout = cb->layout;
    LintOut o = {r, 0};
    for (size_t i = 0; i < problems->n; i++) {
        const CbProblem *p = &problems->v[i];
        lint_emit(&o, p->rule, p->file, p->migration, (int)p->line, (int)p->column,
                  pf_strdup(p->message), pf_strdup(p->hint));
    }
    LintSql *s = lint_sql_new();
    for (size_t i = 0; i < cb->n + cb->n_unlisted; i++) {
        const CbMigration *m = &cb->migrations[i];
        lint_sql_migration(s, &o, m->path, m->tag, m->sql, m->sql_len, m->parsed);
        r->migrations++;
    }
    lint_sql_free(s);
    *out = r;
}

PfErrCode lint_folder(const char *dir, LintResult **out, PfErr *err)
{
    *out = NULL;
    Codebase *cb;
    CbProblems problems;
    PfErrCode rc = cb_read_all(dir, &cb, &problems, err);
    if (rc == PF_OK)
        lint_codebase(cb, &problems, out);
    cb_problems_free(&problems);
    cb_free(cb);
    return rc;
}
