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

/* What read.c, journal.c and folders.c share while the folder is read once: the listing of
 * the folder, the migrations found (listed in cb, unlisted ones apart), the problems. */
typedef struct CbReader {
    Codebase *cb;
    bool all;      /* cb_read_all: keep unlisted files too */
    char *journal; /* <dir>/meta/_journal.json */
    char **sql;    /* the folder's top-level *.sql regular files, byte order */
    size_t n_sql;
    char **subdirs; /* its subfolders, byte order */
    size_t n_subdirs;
    size_t cap_migrations, cap_notes;
    CbMigration *unlisted;
    size_t n_unlisted, cap_unlisted;
    CbProblems *problems;
    size_t cap_problems;
} CbReader;

/* read.c: record a problem; file and migration are copied, message and hint taken over. */
void cb_problem(CbReader *rd, const char *rule, CbSeverity severity, const char *file,
                const char *migration, size_t line, size_t column, char *message, char *hint);

/* read.c: a migration to read (tag and path copied), listed in run order or kept apart. */
void cb_add(CbReader *rd, const char *tag, int64_t when, const char *path, bool unlisted);

/* journal.c: the 0.x layout: the journal's entries, in list order, and the folder's .sql
 * files none of them names. Fails only when the journal cannot be read (PF_ERR_IO). */
PfErrCode cb_read_journal(CbReader *rd, PfErr *err);

/* journal.c: .sql files and no journal: every file is a problem's (journal-missing), read in
 * name order all the same, and their numbers compared. */
void cb_read_journal_missing(CbReader *rd);

/* folders.c: the v1 layout, from rd's listing. */
void cb_read_folders(CbReader *rd);
/* True when name starts with 14 ASCII digits and '_'. */
bool cb_folder_name_ok(const char *name);
/* `when` of a v1 folder: UTC milliseconds of its 14-digit prefix. Errors name the folder. */
PfErrCode cb_folder_when(const char *dir, const char *name, int64_t *when, PfErr *err);
/* Order of v1 folder names as drizzle's a.localeCompare(b) sorts them (see folders.c). */
int cb_folder_cmp(const char *a, const char *b);

#endif
