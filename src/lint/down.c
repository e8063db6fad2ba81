/* Lint of down migrations (down.h). */
#include "lint/down.h"

#include "codebase/down.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

const LintRule lint_down_rules[] = {
    {"down-invalid", LINT_ERROR, "a down file that cannot be read or holds a NUL byte"},
    {"down-orphan", LINT_WARNING, "a down file whose migration is not in the folder"},
    {"down-missing", LINT_INFO, "a migration without a down file (once the folder has any)"},
    {NULL, LINT_INFO, NULL},
};

static void emit(LintResult *r, const char *rule, const char *file, const char *migration,
                 char *message, char *hint)
{
    const LintRule *k = lint_down_rules;
    while (k->id && strcmp(k->id, rule) != 0)
        k++;
    r->findings = pf_realloc(r->findings, (r->n + 1) * sizeof *r->findings);
    r->findings[r->n++] = (LintFinding){
        .rule = k->id,
        .severity = k->severity,
        .file = pf_strdup(file),
        .migration = pf_strdup(migration),
        .message = message,
        .hint = hint,
    };
}

void lint_down_files(LintResult *r, const Codebase *cb)
{
    char **orphans;
    size_t n_orphans;
    cb_down_orphans(cb, &orphans, &n_orphans);
    for (size_t i = 0; i < n_orphans; i++) {
        emit(
            r, "down-orphan", orphans[i], NULL,
            pf_asprintf("%s undoes no migration of the folder: rollback never runs it", orphans[i]),
            pf_strdup(cb->layout == CB_LAYOUT_FOLDERS
                          ? "name the folder of the migration it undoes, or delete it"
                          : "name it down/<tag>.sql after the journal tag it undoes, or "
                            "delete it"));
        free(orphans[i]);
    }
    free(orphans);
    size_t present = 0;
    char **paths = pf_calloc(cb->n ? cb->n : 1, sizeof *paths);
    for (size_t i = 0; i < cb->n; i++) {
        paths[i] = cb_down_path(cb, i);
        CbMigration one = {.tag = cb->migrations[i].tag};
        Codebase single = {.dir = cb->dir, .layout = cb->layout, .migrations = &one, .n = 1};
        CbDown *d = NULL;
        PfErr err;
        if (cb_downs_read(&single, &d, &err) != PF_OK) {
            emit(r, "down-invalid", paths[i], cb->migrations[i].tag, pf_strdup(err.msg),
                 pf_strdup("save it as UTF-8 text, readable by pgfleet"));
            present++;
            free(paths[i]);
            paths[i] = NULL;
        } else if (d[0].present) {
            present++;
            free(paths[i]);
            paths[i] = NULL;
        }
        cb_downs_free(d, d ? 1 : 0);
    }
    for (size_t i = 0; i < cb->n; i++) {
        if (present && paths[i])
            emit(r, "down-missing", paths[i], cb->migrations[i].tag,
                 pf_asprintf("migration %s has no down file: rollback past it is refused",
                             cb->migrations[i].tag),
                 pf_asprintf("write %s (the SQL that undoes it)", paths[i]));
        free(paths[i]);
    }
    free(paths);
}
