/*
 * What plan and apply refuse before they connect to any target: lint's statement rules run
 * over the folder cb_read has read, on the models it keeps (CbMigration.parsed), and only the
 * findings that predict a failure of every run are kept (LintFinding.certain).
 *
 * The structure of the folder is cb_read's to judge (it refuses what drizzle-orm would
 * mishandle), and what depends on a target is preflight's (src/plan/preflight.h): ALTER TYPE
 * ... ADD VALUE inside a transaction fails only before PostgreSQL 12, and the server's version
 * is known only once the target is surveyed.
 */
#include "lint/internal.h"

#include "core/mem.h"

#include <stdlib.h>

void lint_certain_failures(const Codebase *cb, LintResult **out)
{
    LintResult *all;
    lint_codebase(cb, &(CbProblems){0}, &all);

    /* Keep the certain ones, in the order found; free the rest. */
    size_t kept = 0;
    for (size_t i = 0; i < all->n; i++) {
        LintFinding *f = &all->findings[i];
        if (f->certain) {
            all->findings[kept++] = *f;
            continue;
        }
        free(f->file);
        free(f->migration);
        free(f->message);
        free(f->hint);
    }
    all->n = kept;
    *out = all;
}
