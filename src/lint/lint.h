/*
 * Lint: check a Drizzle migrations folder without any database.
 *
 * Unlike cb_read, which refuses a folder drizzle-orm would mishandle at its first problem,
 * lint reads whatever is there (cb_read_all) and reports every problem it finds as a finding: the
 * folder's structure (journal, files, numbers, timestamps, v1 folders) and each migration's
 * statements (destructive ones, renames generated as drop+create, statements that cannot run inside
 * drizzle's single transaction, new enum values used in that same transaction). The rules, their
 * severities and the exit codes built on them are documented in docs/lint.md.
 */
#ifndef PF_LINT_H
#define PF_LINT_H

#include "codebase/codebase.h"
#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>

/* In increasing order of seriousness. */
typedef enum { LINT_INFO, LINT_WARNING, LINT_ERROR } LintSeverity;

typedef struct LintFinding {
    const char *rule; /* static rule id, e.g. "drop-table" */
    LintSeverity severity;
    char *file; /* the file (or folder) concerned: the migrations folder joined with its name */
    char *migration; /* tag or v1 folder name of the migration concerned; NULL when none */
    int line;        /* 1-based; 0 when the finding is about a file or folder as a whole */
    int column;      /* 1-based, in characters; 0 with line 0 */
    char *message;
    char *hint;   /* one line: what to do about it */
    bool certain; /* an error that fails every run applying the migration, on any server:
                     plan and apply refuse to start (lint_certain_failures) */
} LintFinding;

typedef struct LintResult {
    char *dir;             /* the folder as given, less trailing slashes */
    CbLayout layout;       /* the layout lint read the folder as */
    size_t migrations;     /* migration files whose statements were checked */
    LintFinding *findings; /* folder findings first, then each migration's in run order */
    size_t n;
} LintResult;

/* Lint the folder: read it once with cb_read_all, then lint_codebase. Fails only when there is
 * nothing to lint: the folder is missing or unreadable (PF_ERR_IO), or is not a directory or
 * holds neither meta/_journal.json, nor v1 migration folders, nor .sql files (PF_ERR_INPUT),
 * or a migration file holds a NUL byte (as for plan and apply). Everything else is a finding.
 * On success the caller owns *out and frees it with lint_result_free; on error *out is NULL. */
PfErrCode lint_folder(const char *dir, LintResult **out, PfErr *err);

/* The findings of a folder cb_read_all has read: each of its problems as a finding of the rule
 * of the same name, in the order given, then the statement checks on every migration of cb,
 * unlisted ones last, on the models cb keeps (nothing is read or parsed again). The caller
 * frees *out with lint_result_free. Call it where the folder is read. */
void lint_codebase(const Codebase *cb, const CbProblems *problems, LintResult **out);
void lint_result_free(LintResult *r);

/* Schema-per-tenant (docs/tenants.md): add a tenant-unmappable finding, after the others, for
 * each place of cb (the folder as read for lint_codebase; only its listed migrations count) naming
 * one of the n schemas the inventory's tenants map where it cannot be rewritten. */
void lint_tenant_schemas(LintResult *r, const Codebase *cb, const char *const *schemas, size_t n);

/* What will certainly fail, from the folder cb_read has read (its models: nothing is parsed
 * or read again): the findings whose `certain` is set, of the rules that predict a failure on
 * every server whatever its data: a statement that cannot run inside a transaction block
 * where drizzle's transaction still holds (non-transactional), and a new enum value used in
 * the migration that adds it (enum-value-use). plan and apply refuse to start on any of them
 * unless --force (docs/lint.md). The caller frees *out with lint_result_free; (*out)->n is 0
 * when nothing will certainly fail. Call it where the folder is read. */
void lint_certain_failures(const Codebase *cb, LintResult **out);

/* Findings of each severity (counts indexed by LintSeverity). */
void lint_counts(const LintResult *r, size_t counts[3]);

/* "info", "warning" or "error". */
const char *lint_severity_name(LintSeverity s);

/* The rules lint knows, for --help and documentation: id, severity and a summary. The array
 * ends with an entry whose id is NULL. */
typedef struct LintRule {
    const char *id;
    LintSeverity severity;
    const char *summary;
} LintRule;
extern const LintRule lint_rules[];

#endif
