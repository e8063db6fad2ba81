/*
 * Reading a Drizzle migrations folder, the one reader of it: list the folder, detect the
 * layout (0.x journal or v1 folders), hand it to journal.c or folders.c, which record every
 * problem they find (CbProblem, in lint's words), then turn each migration file into what
 * drizzle-orm executes (decoded text, its hash, its statement chunks). cb_read refuses the
 * folder on the first problem lint prints that it refuses, before any migration file is
 * read; cb_read_all keeps them all, for lint.
 */
#include "codebase/internal.h"

#include "core/mem.h"
#include "core/strset.h"
#include "core/util.h"
#include "sql/sql.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

char *cb_join(const char *dir, const char *name)
{
    size_t len = strlen(dir);
    if (len > 0 && dir[len - 1] == '/')
        return pf_asprintf("%s%s", dir, name);
    return pf_asprintf("%s/%s", dir, name);
}

void cb_add(CbReader *rd, const char *tag, int64_t when, const char *path, bool unlisted)
{
    Codebase *cb = rd->cb;
    CbMigration *m;
    if (unlisted && !rd->all)
        return; /* cb_read reads what drizzle-orm runs, nothing else */
    if (unlisted) {
        PF_GROW(rd->unlisted, rd->cap_unlisted, rd->n_unlisted + 1);
        m = &rd->unlisted[rd->n_unlisted++];
    } else {
        PF_GROW(cb->migrations, rd->cap_migrations, cb->n + 1);
        m = &cb->migrations[cb->n++];
    }
    *m = (CbMigration){.tag = pf_strdup(tag), .when = when, .path = pf_strdup(path)};
}

void cb_problem(CbReader *rd, const char *rule, CbSeverity severity, const char *file,
                const char *migration, size_t line, size_t column, char *message, char *hint)
{
    CbProblems *p = rd->problems;
    PF_GROW(p->v, rd->cap_problems, p->n + 1);
    p->v[p->n++] = (CbProblem){
        .rule = rule,
        .severity = severity,
        .file = pf_strdup(file),
        .migration = migration ? pf_strdup(migration) : NULL,
        .line = line,
        .column = line > 0 ? column : 0,
        .message = message,
        .hint = hint,
    };
}

PfErrCode cb_problem_error(const CbProblem *p, PfErr *err)
{
    if (p->line > 0)
        return pf_err_set(err, PF_ERR_INPUT, "%s:%zu:%zu: %s; hint: %s", p->file, p->line,
                          p->column, p->message, p->hint);
    return pf_err_set(err, PF_ERR_INPUT, "%s: %s; hint: %s", p->file, p->message, p->hint);
}

bool cb_problems_refused(const CbProblems *p)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].severity == CB_PROBLEM_REFUSED)
            return true;
    return false;
}

void cb_problems_free(CbProblems *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].file);
        free(p->v[i].migration);
        free(p->v[i].message);
        free(p->v[i].hint);
    }
    free(p->v);
    p->v = NULL;
    p->n = 0;
}

PfErrCode cb_load(CbMigration *m, PfErr *err)
{
    char *raw;
    size_t len;
    PfErrCode rc = pf_read_file(m->path, &raw, &len, err);
    if (rc != PF_OK)
        return rc;
    m->sql = cb_drizzle_hash(raw, len, &m->sql_len, m->hash);
    free(raw);
    rc = cb_check_text(m->path, m->sql, m->sql_len, err);
    if (rc != PF_OK)
        return rc;
    cb_split(m->sql, m->sql_len, &m->chunks, &m->n_chunks);
    return PF_OK;
}

/* Decoding leaves valid UTF-8 (U+FFFD for each invalid sequence), which a UTF-8 connection
 * carries byte for byte; only a NUL cannot pass: libpq and the protocol end a query string at
 * it, so the statements after it would silently never run. */
PfErrCode cb_check_text(const char *path, const char *text, size_t len, PfErr *err)
{
    const char *nul = memchr(text, '\0', len);
    if (!nul)
        return PF_OK;
    size_t line, col;
    cb_text_position(text, (size_t)(nul - text), &line, &col);
    return pf_err_set(err, PF_ERR_INPUT,
                      "%s:%zu:%zu: a NUL byte: PostgreSQL cannot receive it in a query, and "
                      "nothing after it would run; hint: delete it (a file saved as UTF-16 is "
                      "full of them: save it as UTF-8)",
                      path, line, col);
}

/* The folder as given, less trailing slashes ("/" stays "/"). */
static char *normalize_dir(const char *dir)
{
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    return pf_strndup(dir, len);
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static int cmp_bytes(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_name(char ***names, size_t *n, size_t *cap, const char *name)
{
    PF_GROW(*names, *cap, *n + 1);
    (*names)[(*n)++] = pf_strdup(name);
}

/* The folder's top-level .sql files and subfolders, each in byte order (readdir's order is
 * arbitrary: sorted, problems and ties are reproducible). */
static PfErrCode list_folder(CbReader *rd, PfErr *err)
{
    const char *dir = rd->cb->dir;
    DIR *d = opendir(dir);
    if (!d)
        return pf_err_set(err, PF_ERR_IO, "%s: %s", dir, strerror(errno));
    size_t cap_sql = 0, cap_sub = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char *path = cb_join(dir, de->d_name);
        size_t n = strlen(de->d_name);
        struct stat st;
        if (stat(path, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                add_name(&rd->subdirs, &rd->n_subdirs, &cap_sub, de->d_name);
            else if (S_ISREG(st.st_mode) && n > 4 && strcmp(de->d_name + n - 4, ".sql") == 0)
                add_name(&rd->sql, &rd->n_sql, &cap_sql, de->d_name);
        }
        free(path);
    }
    closedir(d);
    if (rd->n_sql > 1)
        qsort(rd->sql, rd->n_sql, sizeof *rd->sql, cmp_bytes);
    if (rd->n_subdirs > 1)
        qsort(rd->subdirs, rd->n_subdirs, sizeof *rd->subdirs, cmp_bytes);
    return PF_OK;
}

static PfErrCode read_layout(CbReader *rd, PfErr *err)
{
    Codebase *cb = rd->cb;
    struct stat st;
    if (stat(cb->dir, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return pf_err_set(err, PF_ERR_IO, "%s: migrations folder not found", cb->dir);
        return pf_err_set(err, PF_ERR_IO, "%s: %s", cb->dir, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode))
        return pf_err_set(err, PF_ERR_INPUT, "%s: not a directory", cb->dir);
    PfErrCode rc = list_folder(rd, err);
    if (rc != PF_OK)
        return rc;

    /* As drizzle's existsSync(join(dir, name, "migration.sql")): a subfolder holding anything
     * of that name is a migration folder. Only names drizzle-kit v1 would write count against
     * a journal: a stray folder that happens to hold a migration.sql is no sign of a half-done
     * `drizzle-kit up`. */
    size_t n_v1 = 0, n_folders = 0;
    for (size_t i = 0; i < rd->n_subdirs; i++) {
        char *sub = cb_join(cb->dir, rd->subdirs[i]);
        char *sql = cb_join(sub, "migration.sql");
        bool has_sql = stat(sql, &st) == 0;
        n_v1 += has_sql && cb_folder_name_ok(rd->subdirs[i]);
        n_folders += has_sql;
        free(sql);
        free(sub);
    }

    cb->layout = CB_LAYOUT_JOURNAL;
    if (stat(rd->journal, &st) == 0) {
        if (n_v1 > 0)
            cb_problem(rd, "mixed-layout", CB_PROBLEM_REFUSED, rd->journal, NULL, 0, 0,
                       pf_asprintf("meta/_journal.json beside %zu v1 migration folder%s: "
                                   "drizzle-orm's v1 migrator refuses the folder, and the 0.x "
                                   "one ignores the folders",
                                   n_v1, n_v1 == 1 ? "" : "s"),
                       pf_strdup("finish the move with drizzle-kit up, then delete meta/ (the "
                                 "journal's migrations were read, not the folders')"));
        return cb_read_journal(rd, err);
    }
    if (n_folders > 0) {
        cb->layout = CB_LAYOUT_FOLDERS;
        cb_read_folders(rd);
        return PF_OK;
    }
    if (rd->n_sql > 0) {
        cb_read_journal_missing(rd);
        return PF_OK;
    }
    return pf_err_set(err, PF_ERR_INPUT,
                      "%s: no meta/_journal.json, no <YYYYMMDDHHMMSS>_<name>/migration.sql "
                      "folders and no .sql files; is this a drizzle migrations folder?",
                      cb->dir);
}

/* The problems as lint prints them: the journal's first, then by file and line; problems
 * that compare equal keep the order found (a stable sort, by rank). */
typedef struct Ranked {
    CbProblem p;
    size_t rank;
    const char *journal;
} Ranked;

static int cmp_ranked(const void *a, const void *b)
{
    const Ranked *x = a, *y = b;
    bool jx = strcmp(x->p.file, x->journal) == 0, jy = strcmp(y->p.file, y->journal) == 0;
    if (jx != jy)
        return jx ? -1 : 1;
    int c = strcmp(x->p.file, y->p.file);
    if (c != 0)
        return c;
    if (x->p.line != y->p.line)
        return x->p.line < y->p.line ? -1 : 1;
    return (x->rank > y->rank) - (x->rank < y->rank);
}

static void sort_problems(CbProblems *p, const char *journal)
{
    if (p->n < 2)
        return;
    Ranked *v = pf_malloc(p->n * sizeof *v);
    for (size_t i = 0; i < p->n; i++)
        v[i] = (Ranked){p->v[i], i, journal};
    qsort(v, p->n, sizeof *v, cmp_ranked);
    for (size_t i = 0; i < p->n; i++)
        p->v[i] = v[i].p;
    free(v);
}

/* Every chunk's model, once, here on the reading thread (CbMigration.parsed). */
static void parse_chunks(Codebase *cb)
{
    for (size_t i = 0; i < cb->n + cb->n_unlisted; i++) {
        CbMigration *m = &cb->migrations[i];
        m->parsed = pf_calloc(m->n_chunks ? m->n_chunks : 1, sizeof *m->parsed);
        for (size_t c = 0; c < m->n_chunks; c++)
            m->parsed[c] = sql_parse(m->chunks[c], strlen(m->chunks[c]));
    }
}

/* Each migration's escape chunk (kept in m->escape), a note for each one that has one, then
 * every note in the run order of its migration (the layout readers add theirs as they go). */
static void note_escapes(Codebase *cb)
{
    size_t cap = cb->n_notes;
    for (size_t i = 0; i < cb->n; i++) {
        CbMigration *m = &cb->migrations[i];
        size_t esc = m->escape = cb_escape_chunk(m);
        if (!esc)
            continue;
        PF_GROW(cb->notes, cap, cb->n_notes + 1);
        cb->notes[cb->n_notes++] = (CbNote){
            .kind = "ends_transaction",
            .migration = pf_strdup(m->tag),
            .message = pf_asprintf(
                "%s ends drizzle's transaction at statement %zu of %zu: its later statements, "
                "and (transaction: all) every later migration's, run one by one outside a "
                "transaction, as drizzle-orm runs them; a failure there leaves what ran before "
                "it applied and no ledger row for the migration; hint: make those statements "
                "safe to run again (IF NOT EXISTS), since a new attempt starts the migration "
                "over",
                m->tag, esc, m->n_chunks),
        };
    }
    /* Every note names a migration of the run, and tags are unique: each lands once. A
     * counting sort on the migration's index (found by tag in a hash set) keeps the notes of
     * one migration in the order they were added, in time linear in the folder. */
    PfStrSet index = {0};
    for (size_t i = 0; i < cb->n; i++)
        pf_strset_add(&index, cb->migrations[i].tag, i, NULL);
    size_t *start = pf_calloc(cb->n + 1, sizeof *start), *of = NULL;
    of = pf_calloc(cb->n_notes ? cb->n_notes : 1, sizeof *of);
    for (size_t k = 0; k < cb->n_notes; k++) {
        if (!pf_strset_get(&index, cb->notes[k].migration, &of[k]))
            of[k] = cb->n; /* names no migration: dropped, as before */
        start[of[k]]++;
    }
    for (size_t i = 0, sum = 0; i <= cb->n; i++) {
        size_t c = start[i];
        start[i] = sum;
        sum += c;
    }
    CbNote *sorted = pf_calloc(cb->n_notes ? cb->n_notes : 1, sizeof *sorted);
    size_t n = 0;
    for (size_t k = 0; k < cb->n_notes; k++) {
        if (of[k] == cb->n) {
            free(cb->notes[k].migration);
            free(cb->notes[k].message);
            continue;
        }
        sorted[start[of[k]]++] = cb->notes[k];
        n++;
    }
    free(start);
    free(of);
    pf_strset_free(&index);
    free(cb->notes);
    cb->notes = sorted;
    cb->n_notes = n;
}

/* The one read of the folder: its structure, with every problem; then, unless a problem is
 * one cb_read refuses (and all is false), every migration file. */
static PfErrCode read_folder(const char *dir, bool all, Codebase **out, CbProblems *problems,
                             PfErr *err)
{
    *out = NULL;
    *problems = (CbProblems){0};
    Codebase *cb = pf_calloc(1, sizeof *cb);
    cb->dir = normalize_dir(dir);
    CbReader rd = {.cb = cb, .all = all, .problems = problems};
    rd.journal = cb_join(cb->dir, "meta/_journal.json");
    PfErrCode rc = read_layout(&rd, err);
    if (rc == PF_OK) {
        sort_problems(problems, rd.journal);
        for (size_t i = 0; i < problems->n && !all; i++) {
            if (problems->v[i].severity == CB_PROBLEM_REFUSED) {
                rc = cb_problem_error(&problems->v[i], err);
                break;
            }
        }
    }
    /* Unlisted files go after the listed ones; the statement checks read them in turn. */
    if (rd.n_unlisted) {
        cb->migrations =
            pf_realloc(cb->migrations, (cb->n + rd.n_unlisted) * sizeof *cb->migrations);
        memcpy(cb->migrations + cb->n, rd.unlisted, rd.n_unlisted * sizeof *rd.unlisted);
        cb->n_unlisted = rd.n_unlisted;
    }
    free(rd.unlisted);
    for (size_t i = 0; i < cb->n + cb->n_unlisted && rc == PF_OK; i++)
        rc = cb_load(&cb->migrations[i], err);
    free(rd.journal);
    free_names(rd.sql, rd.n_sql);
    free_names(rd.subdirs, rd.n_subdirs);
    if (rc != PF_OK) {
        cb_free(cb);
        return rc;
    }
    parse_chunks(cb);
    note_escapes(cb);
    cb_created(cb, &cb->created, &cb->n_created);
    *out = cb;
    return PF_OK;
}

PfErrCode cb_read(const char *dir, Codebase **out, PfErr *err)
{
    CbProblems problems;
    PfErrCode rc = read_folder(dir, false, out, &problems, err);
    cb_problems_free(&problems);
    return rc;
}

PfErrCode cb_read_all(const char *dir, Codebase **out, CbProblems *problems, PfErr *err)
{
    return read_folder(dir, true, out, problems, err);
}

void cb_free(Codebase *cb)
{
    if (!cb)
        return;
    for (size_t i = 0; i < cb->n + cb->n_unlisted; i++) {
        CbMigration *m = &cb->migrations[i];
        free(m->tag);
        free(m->path);
        free(m->sql);
        for (size_t j = 0; j < m->n_chunks; j++) {
            free(m->chunks[j]);
            if (m->parsed)
                sql_chunk_free(m->parsed[j]);
        }
        free(m->chunks);
        free(m->parsed);
    }
    free(cb->migrations);
    for (size_t i = 0; i < cb->n_notes; i++) {
        free(cb->notes[i].migration);
        free(cb->notes[i].message);
    }
    free(cb->notes);
    cb_objects_free(cb->created, cb->n_created);
    free(cb->dir);
    free(cb);
}

const CbMigration *cb_head(const Codebase *cb)
{
    return cb && cb->n > 0 ? &cb->migrations[cb->n - 1] : NULL;
}
