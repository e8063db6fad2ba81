/*
 * Shared by the files of src/codebase/ (and its unit test); not part of the module's interface.
 */
#ifndef PF_CODEBASE_INTERNAL_H
#define PF_CODEBASE_INTERNAL_H

#include "codebase/codebase.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "<dir>/<name>" without doubling a trailing slash of dir; caller frees. */
char *cb_join(const char *dir, const char *name);

/* Append a zeroed migration to cb->migrations; *cap tracks the allocation. */
CbMigration *cb_push(Codebase *cb, size_t *cap);

/* Read m->path and fill sql, sql_len, chunks and hash. Errors name the file. */
PfErrCode cb_load(CbMigration *m, PfErr *err);

/* Whether the decoded text of the migration file at path can reach the server intact: it
 * must hold no NUL byte (a query string ends at the first one). The error names
 * path:line:column of the first NUL (PF_ERR_INPUT). Called by every reader, lint included. */
PfErrCode cb_check_text(const char *path, const char *text, size_t len, PfErr *err);

/* split.c: where cb_split's chunks lie in sql (offset and length of each, in order; the
 * markers are between them). *spans is the caller's to free. */
typedef struct CbSpan {
    size_t start, len;
} CbSpan;
void cb_split_spans(const char *sql, size_t len, CbSpan **spans, size_t *n);

/* journal.c: 1-based line and column (in characters, not bytes) of offset pos in text. */
void cb_text_position(const char *text, size_t pos, size_t *line, size_t *col);

/* journal.c: a member of a JSON object as JSON.parse sees it (keys case-sensitive, the last
 * duplicate wins), or NULL. */
struct cJSON;
const struct cJSON *cb_json_member(const struct cJSON *obj, const char *key);

/* Whether text[0..len) is JSON that JavaScript's JSON.parse accepts (json_strict.c: stricter
 * than cJSON about whitespace, control characters and numbers). When not, *bad_at is the
 * offset of the first byte it rejects. */
bool cb_json_strict(const char *text, size_t len, size_t *bad_at);

/* journal.c: append the journal's migrations to cb in list order. */
PfErrCode cb_read_journal(Codebase *cb, const char *journal_path, PfErr *err);

/* folders.c: the names of cb->dir's subfolders that hold a migration.sql (byte order). The
 * caller frees each name and the array. */
PfErrCode cb_scan_folders(const char *dir, char ***names, size_t *n, PfErr *err);
/* True when name starts with 14 ASCII digits and '_'. */
bool cb_folder_name_ok(const char *name);
/* `when` of a v1 folder: UTC milliseconds of its 14-digit prefix. Errors name the folder. */
PfErrCode cb_folder_when(const char *dir, const char *name, int64_t *when, PfErr *err);
/* Order of v1 folder names as drizzle's a.localeCompare(b) sorts them (see folders.c). */
int cb_folder_cmp(const char *a, const char *b);
/* Append the v1 migrations named by names (from cb_scan_folders) to cb in run order. */
PfErrCode cb_read_folders(Codebase *cb, char **names, size_t n, PfErr *err);

#endif
