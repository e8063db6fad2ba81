/*
 * Down migrations (docs/rollback.md): the SQL that undoes a migration, beside the folder
 * drizzle-kit writes, where drizzle's migrators never look:
 *
 *   journal layout (0.x)   <dir>/down/<tag>.sql        beside <dir>/<tag>.sql
 *   folder layout (v1)     <dir>/<folder>/down.sql     beside <dir>/<folder>/migration.sql
 *
 * A down file is read as a migration is (decoded and hashed as drizzle hashes, split on
 * "--> statement-breakpoint"), so that one written like a migration runs like one.
 */
#ifndef PF_CODEBASE_DOWN_H
#define PF_CODEBASE_DOWN_H

#include "codebase/codebase.h"

typedef struct CbDown {
    char *path;    /* where it is (or would be) */
    bool present;  /* the file exists and was read */
    char hash[65]; /* as drizzle would hash it ("" when absent) */
    char *sql;     /* decoded text, or NULL */
    size_t sql_len;
    char **chunks; /* statements, as cb_split gives them */
    size_t n_chunks;
} CbDown;

/* Where migration i's down file is, by the convention above (caller frees). */
char *cb_down_path(const Codebase *cb, size_t i);

/* Read the down file of every migration of cb: *out has cb->n entries, absent ones with
 * present false. PF_ERR_IO naming the file when one exists but cannot be read, PF_ERR_INPUT
 * when it holds a NUL byte. Free with cb_downs_free(*out, cb->n). */
PfErrCode cb_downs_read(const Codebase *cb, CbDown **out, PfErr *err);
void cb_downs_free(CbDown *d, size_t n);

/* Down files that belong to no migration of cb: down/<x>.sql without a journal entry x, or a
 * down.sql in a v1 folder without migration.sql. Paths in *paths (caller frees each and the
 * array), sorted. */
void cb_down_orphans(const Codebase *cb, char ***paths, size_t *n);

#endif
