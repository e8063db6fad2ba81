/*
 * Shared by folder.c (the folder's structure) and statements.c (the statements); not part
 * of the module's interface.
 */
#ifndef PF_LINT_INTERNAL_H
#define PF_LINT_INTERNAL_H

#include "lint/lint.h"

#include <stddef.h>

/* The result being built and its allocation. */
typedef struct LintOut {
    LintResult *r;
    size_t cap;
} LintOut;

/* Append a finding of the given rule (its severity comes from lint_rules). file and migration
 * are copied; message and hint are taken over (allocated by the caller). */
void lint_emit(LintOut *o, const char *rule, const char *file, const char *migration, int line,
               int column, char *message, char *hint);

/* The statement checks. They carry state from one migration to the next (the tables and
 * columns created so far, the enum values added and not yet committed), so the migrations
 * are fed in the order drizzle-orm runs them. */
typedef struct LintSql LintSql;
LintSql *lint_sql_new(void);
void lint_sql_free(LintSql *s);

/* Check one migration: text is its decoded SQL (text[len] == '\0'), file its path for
 * findings; parsed, when not NULL, the model of each of its chunks as cb_read keeps them
 * (CbMigration.parsed), else each chunk is parsed here. Findings are appended to o in line
 * order. */
void lint_sql_migration(LintSql *s, LintOut *o, const char *file, const char *migration,
                        const char *text, size_t len, struct SqlChunk *const *parsed);

#endif
