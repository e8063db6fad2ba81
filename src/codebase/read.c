/*
 * Reading a Drizzle migrations folder: detect the layout (0.x journal or v1 folders), hand it
 * to journal.c or folders.c, and turn each migration file into what drizzle-orm executes
 * (decoded text, its hash, its statement chunks).
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

CbMigration *cb_push(Codebase *cb, size_t *cap)
{
    PF_GROW(cb->migrations, *cap, cb->n + 1);
    CbMigration *m = &cb->migrations[cb->n++];
    memset(m, 0, sizeof *m);
    return m;
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

const char cb_journal_missing_message[] =
    "no meta/_journal.json beside the .sql files: drizzle-orm refuses the folder (\"Can't find "
    "meta/_journal.json file\")";
const char cb_journal_missing_hint[] =
    "commit meta/ too: drizzle-kit generate writes the journal and the snapshots there";

char *cb_duplicate_tag_message(const char *tag)
{
    return pf_asprintf("tag %s appears twice in the journal: drizzle-orm runs %s.sql once per "
                       "entry",
                       tag, tag);
}
const char cb_duplicate_tag_hint[] = "remove the duplicate entry";

/* Whether dir holds a regular file named *.sql at its top. */
static bool has_sql_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool found = false;
    struct dirent *de;
    while (!found && (de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n <= 4 || strcmp(de->d_name + n - 4, ".sql") != 0)
            continue;
        char *path = cb_join(dir, de->d_name);
        struct stat st;
        found = stat(path, &st) == 0 && S_ISREG(st.st_mode);
        free(path);
    }
    closedir(d);
    return found;
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

static PfErrCode read_layout(Codebase *cb, PfErr *err)
{
    struct stat st;
    if (stat(cb->dir, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return pf_err_set(err, PF_ERR_IO, "%s: migrations folder not found", cb->dir);
        return pf_err_set(err, PF_ERR_IO, "%s: %s", cb->dir, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode))
        return pf_err_set(err, PF_ERR_INPUT, "%s: not a directory", cb->dir);

    char *journal = cb_join(cb->dir, "meta/_journal.json");
    bool has_journal = stat(journal, &st) == 0;
    char **names;
    size_t n;
    PfErrCode rc = cb_scan_folders(cb->dir, &names, &n, err);
    if (rc != PF_OK)
        goto out;

    /* Only names drizzle-kit v1 would write count against a journal: a stray folder that
     * happens to hold a migration.sql is no sign of a half-done `drizzle-kit up`. */
    size_t n_v1 = 0;
    for (size_t i = 0; i < n; i++)
        n_v1 += cb_folder_name_ok(names[i]);

    if (has_journal && n_v1 > 0) {
        rc = pf_err_set(err, PF_ERR_INPUT,
                        "%s: both meta/_journal.json and v1 migration folders found; "
                        "hint: run drizzle-kit up",
                        cb->dir);
    } else if (has_journal) {
        cb->layout = CB_LAYOUT_JOURNAL;
        rc = cb_read_journal(cb, journal, err);
    } else if (n > 0) {
        cb->layout = CB_LAYOUT_FOLDERS;
        rc = cb_read_folders(cb, names, n, err);
    } else if (has_sql_files(cb->dir)) {
        rc = pf_err_set(err, PF_ERR_INPUT, "%s: %s; hint: %s", cb->dir, cb_journal_missing_message,
                        cb_journal_missing_hint);
    } else {
        rc = pf_err_set(err, PF_ERR_INPUT,
                        "%s: no meta/_journal.json and no <YYYYMMDDHHMMSS>_<name>/migration.sql "
                        "folders; is this a drizzle migrations folder?",
                        cb->dir);
    }
    free_names(names, n);
out:
    free(journal);
    return rc;
}

/* Every chunk's model, once, here on the reading thread (CbMigration.parsed). */
static void parse_chunks(Codebase *cb)
{
    for (size_t i = 0; i < cb->n; i++) {
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

PfErrCode cb_read(const char *dir, Codebase **out, PfErr *err)
{
    *out = NULL;
    Codebase *cb = pf_calloc(1, sizeof *cb);
    cb->dir = normalize_dir(dir);
    PfErrCode rc = read_layout(cb, err);
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

void cb_free(Codebase *cb)
{
    if (!cb)
        return;
    for (size_t i = 0; i < cb->n; i++) {
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
