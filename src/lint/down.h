/*
 * Lint of down migrations (docs/rollback.md, docs/lint.md): a rule set of its own, kept apart
 * from the folder's and the statements' rules. It plugs in after lint_codebase, on the
 * migrations drizzle-orm runs, of a folder cb_read would accept (src/cmd/lint.c calls it, as it
 * calls lint_tenant_schemas).
 *
 *   down-orphan    warning  a down file whose migration is not in the folder
 *   down-missing   info     a migration without a down file, once the folder has any down file
 *                           (a folder without down files does not use the convention)
 *   down-invalid   error    a down file that cannot be read or holds a NUL byte
 */
#ifndef PF_LINT_DOWN_H
#define PF_LINT_DOWN_H

#include "codebase/codebase.h"
#include "lint/lint.h"

/* The three rules above, ending with an entry whose id is NULL. */
extern const LintRule lint_down_rules[];

/* Append the findings of the rules above about cb's down files to r. */
void lint_down_files(LintResult *r, const Codebase *cb);

#endif
