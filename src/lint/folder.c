/*
 * Lint: the folder's structure, and the order in which its migrations are handed to the
 * statement checks (statements.c).
 *
 * cb_read stops at the first problem; lint reads tolerantly and reports them all: it lists
 * the folder itself instead of trusting the journal, parses the journal with cJSON and finds
 * where each entry stands in the text (cJSON keeps no positions), and keeps going past a
 * malformed entry. Layout detection follows read.c: a journal means the 0.x layout (with v1
 * folders beside it reported, not read), v1 folders without a journal mean the v1 layout, and
 * bare .sql files without either are a 0.x folder whose journal is missing.
 */
#include "codebase/internal.h"
#include "lint/internal.h"

#include "core/mem.h"
#include "core/strset.h"
#include "core/util.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Integers a double holds exactly (what JSON.parse gives drizzle). */
#define MAX_SAFE_INTEGER 9007199254740991.0
#define NO_POS SIZE_MAX

const LintRule lint_rules[] = {
    {"journal-missing", LINT_ERROR, "no meta/_journal.json beside the .sql files"},
    {"journal-malformed", LINT_ERROR, "meta/_journal.json is not valid JSON or not a journal"},
    {"mixed-layout", LINT_ERROR, "meta/_journal.json beside v1 migration folders"},
    {"missing-file", LINT_ERROR, "a journal entry whose .sql file does not exist"},
    {"duplicate-tag", LINT_ERROR, "two journal entries with the same tag"},
    {"when-not-increasing", LINT_ERROR, "a `when` not above an earlier one: drizzle-orm skips it"},
    {"duplicate-number", LINT_ERROR, "two migrations with the same number prefix"},
    {"orphan-sql", LINT_ERROR, "a .sql file in no journal entry (or no v1 folder): never run"},
    {"v1-missing-sql", LINT_ERROR, "a v1 migration folder without migration.sql"},
    {"v1-bad-name", LINT_ERROR, "a migration folder not named <YYYYMMDDHHMMSS>_<name>"},
    {"non-transactional", LINT_ERROR, "a statement that cannot run inside a transaction block"},
    {"enum-value-use", LINT_ERROR, "a new enum value used in the transaction that adds it"},
    {"unterminated", LINT_ERROR, "a quote never closed, or cut by a statement-breakpoint"},
    {"byte-order-mark", LINT_ERROR, "a migration starting with a byte order mark"},
    {"tenant-unmappable", LINT_ERROR,
     "a schema tenants map, named where it cannot be rewritten (with -i)"},
    {"escapes-transaction", LINT_WARNING,
     "a COMMIT (or ROLLBACK) that ends drizzle's transaction: what follows is not atomic"},
    {"unparsed", LINT_WARNING, "a chunk PostgreSQL's parser refuses: checked by keywords only"},
    {"drop-table", LINT_WARNING, "DROP TABLE"},
    {"drop-column", LINT_WARNING, "ALTER TABLE ... DROP COLUMN"},
    {"drop-create", LINT_WARNING, "a rename generated as drop+create (table or column)"},
    {"alter-column-type", LINT_WARNING, "ALTER COLUMN ... TYPE on an existing table"},
    {"set-not-null", LINT_INFO, "ALTER COLUMN ... SET NOT NULL on an existing table"},
    {NULL, LINT_INFO, NULL},
};

void lint_tenant_schemas(LintResult *r, const Codebase *cb, const char *const *schemas, size_t n)
{
    CbSchemaRefs refs;
    cb_schema_refs_find(cb, schemas, n, &refs);
    LintOut o = {r, r->n};
    for (size_t i = 0; i < refs.n_problems; i++) {
        const CbTenantProblem *p = &refs.problems[i];
        const CbMigration *m = &cb->migrations[p->migration];
        lint_emit(&o, "tenant-unmappable", m->path, m->tag, (int)p->line, (int)p->column,
                  pf_strdup(p->message), pf_strdup(p->hint));
    }
    cb_schema_refs_clear(&refs);
}

const char *lint_severity_name(LintSeverity s)
{
    return s == LINT_ERROR ? "error" : s == LINT_WARNING ? "warning" : "info";
}

void lint_emit(LintOut *o, const char *rule, const char *file, const char *migration, int line,
               int column, char *message, char *hint)
{
    const LintRule *r = lint_rules;
    while (r->id && strcmp(r->id, rule) != 0)
        r++;
    PF_GROW(o->r->findings, o->cap, o->r->n + 1);
    o->r->findings[o->r->n++] = (LintFinding){
        .rule = r->id ? r->id : "unknown",
        .severity = r->id ? r->severity : LINT_ERROR,
        .file = pf_strdup(file),
        .migration = pf_strdup(migration),
        .line = line,
        .column = line > 0 ? column : 0,
        .message = message,
        .hint = hint,
    };
}

void lint_counts(const LintResult *r, size_t counts[3])
{
    counts[LINT_INFO] = counts[LINT_WARNING] = counts[LINT_ERROR] = 0;
    for (size_t i = 0; i < r->n; i++)
        counts[r->findings[i].severity]++;
}

void lint_result_free(LintResult *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->findings[i].file);
        free(r->findings[i].migration);
        free(r->findings[i].message);
        free(r->findings[i].hint);
    }
    free(r->findings);
    free(r->dir);
    free(r);
}

/* ---- the folder's contents -------------------------------------------------------------- */

typedef struct Names {
    char **v;
    size_t n, cap;
} Names;

static void names_add(Names *ns, const char *name)
{
    PF_GROW(ns->v, ns->cap, ns->n + 1);
    ns->v[ns->n++] = pf_strdup(name);
}

static void names_free(Names *ns)
{
    for (size_t i = 0; i < ns->n; i++)
        free(ns->v[i]);
    free(ns->v);
}

static int cmp_bytes(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_folders(const void *a, const void *b)
{
    return cb_folder_cmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static bool is_regular(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* A migration to hand to the statement checks. */
typedef struct Mig {
    char *name; /* tag or folder name */
    char *path;
} Mig;

/* A journal entry as lint reads it. */
typedef struct Entry {
    char *tag; /* NULL: the entry has no tag (reported) */
    bool has_when;
    int64_t when;
    size_t tag_off, when_off; /* where the entry's "tag" and "when" keys (or the entry) start */
    char *file;               /* <dir>/<tag>.sql */
    bool duplicate;           /* its tag is an earlier entry's */
} Entry;

typedef struct Linter {
    LintOut out;
    char *dir;
    char *journal;     /* <dir>/meta/_journal.json */
    Names sql;         /* top-level *.sql files, byte order */
    Names subdirs;     /* subfolders, byte order */
    const char *jtext; /* the journal's text while it is read */
    /* The last position found in it: findings come mostly in text order, so each is counted
     * on from the one before (a finding before it counts from the start again). */
    size_t pos_off, pos_line, pos_col;
    Entry *entries;
    size_t n_entries, cap_entries;
    Mig *migs;
    size_t n_migs, cap_migs;
} Linter;

static PfErrCode list_folder(Linter *L, PfErr *err)
{
    DIR *d = opendir(L->dir);
    if (!d)
        return pf_err_set(err, PF_ERR_IO, "%s: %s", L->dir, strerror(errno));
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' &&
            (de->d_name[1] == '\0' || (de->d_name[1] == '.' && de->d_name[2] == '\0')))
            continue;
        char *path = cb_join(L->dir, de->d_name);
        struct stat st;
        if (stat(path, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                names_add(&L->subdirs, de->d_name);
            else if (S_ISREG(st.st_mode) && ends_with(de->d_name, ".sql"))
                names_add(&L->sql, de->d_name);
        }
        free(path);
    }
    closedir(d);
    if (L->sql.n > 1)
        qsort(L->sql.v, L->sql.n, sizeof *L->sql.v, cmp_bytes);
    if (L->subdirs.n > 1)
        qsort(L->subdirs.v, L->subdirs.n, sizeof *L->subdirs.v, cmp_bytes);
    return PF_OK;
}

static void mig_add(Linter *L, const char *name, char *path)
{
    PF_GROW(L->migs, L->cap_migs, L->n_migs + 1);
    L->migs[L->n_migs++] = (Mig){pf_strdup(name), path};
}

/* Emit a finding on the journal at offset off of its text (NO_POS: the file as a whole). */
static void journal_finding(Linter *L, const char *rule, const char *migration, size_t off,
                            char *message, char *hint)
{
    size_t line = 0, col = 0;
    if (off != NO_POS) {
        if (off < L->pos_off || L->pos_line == 0) {
            L->pos_off = 0;
            L->pos_line = L->pos_col = 1;
        }
        cb_text_position(L->jtext + L->pos_off, off - L->pos_off, &line, &col);
        col = line == 1 ? L->pos_col + col - 1 : col;
        line += L->pos_line - 1;
        L->pos_off = off;
        L->pos_line = line;
        L->pos_col = col;
    }
    lint_emit(&L->out, rule, L->journal, migration, (int)line, (int)col, message, hint);
}

/* ---- where things stand in the journal's text ------------------------------------------- */

/* A minimal walk over JSON that cJSON has already accepted, to find the offsets cJSON does
 * not keep: of each element of the top-level "entries" array (the last such key wins, as in
 * JSON.parse), of that element's "tag" and "when" keys, and of the top-level "dialect" key. */
typedef struct EntryPos {
    size_t obj, tag, when;
} EntryPos;

typedef struct JsonPos {
    const char *s;
    size_t len, i;
    size_t dialect;
    EntryPos *e; /* per element of entries */
    size_t n, cap;
} JsonPos;

static void jp_ws(JsonPos *p)
{
    while (p->i < p->len && p->s[p->i] && strchr(" \t\r\n", p->s[p->i]))
        p->i++;
}

/* At a '"': skip the string; true when its raw text equals key (when key is not NULL). */
static bool jp_string(JsonPos *p, const char *key)
{
    size_t start = ++p->i;
    while (p->i < p->len && p->s[p->i] != '"')
        p->i += p->s[p->i] == '\\' ? 2 : 1;
    size_t n = p->i - start;
    p->i++;
    return key && n == strlen(key) && memcmp(p->s + start, key, n) == 0;
}

static bool jp_key(JsonPos *p, size_t at, const char *key)
{
    p->i = at;
    return jp_string(p, key);
}

static void jp_value(JsonPos *p, int depth, bool entries, bool entry);

/* At '{' or '['. entries: this is the top-level "entries" array; entry: one of its objects. */
static void jp_container(JsonPos *p, int depth, bool entries, bool entry)
{
    char close = p->s[p->i] == '{' ? '}' : ']';
    p->i++;
    for (;;) {
        jp_ws(p);
        if (p->i >= p->len || p->s[p->i] == close) {
            p->i++;
            return;
        }
        if (p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (close == ']') {
            if (entries) {
                PF_GROW(p->e, p->cap, p->n + 1);
                p->e[p->n++] = (EntryPos){p->i, NO_POS, NO_POS};
            }
            jp_value(p, depth + 1, false, entries);
            continue;
        }
        size_t at = p->i;
        bool is_entries = depth == 0 && jp_key(p, at, "entries");
        if (depth == 0 && jp_key(p, at, "dialect"))
            p->dialect = at;
        if (entry && jp_key(p, at, "tag"))
            p->e[p->n - 1].tag = at;
        if (entry && jp_key(p, at, "when"))
            p->e[p->n - 1].when = at;
        jp_key(p, at, NULL);
        if (is_entries)
            p->n = 0;
        jp_ws(p);
        p->i++; /* ':' */
        jp_value(p, depth + 1, is_entries, false);
    }
}

static void jp_value(JsonPos *p, int depth, bool entries, bool entry)
{
    jp_ws(p);
    if (p->i >= p->len)
        return;
    char c = p->s[p->i];
    if (c == '{' || c == '[') {
        jp_container(p, depth, entries && c == '[', entry && c == '{');
    } else if (c == '"') {
        jp_string(p, NULL);
    } else {
        size_t start = p->i;
        while (p->i < p->len && p->s[p->i] && !strchr(",]} \t\r\n", p->s[p->i]))
            p->i++;
        if (p->i == start) /* a byte nothing else takes: step over it, never loop on it */
            p->i++;
    }
}

/* ---- the journal ------------------------------------------------------------------------ */

static bool has_conflict_markers(const char *text)
{
    return strncmp(text, "<<<<<<<", 7) == 0 || strstr(text, "\n<<<<<<<") ||
           strstr(text, "\n>>>>>>>");
}

/* Read one entry (index k) of the journal; malformed parts are reported. */
static void read_entry(Linter *L, const cJSON *e, size_t k, const JsonPos *jp)
{
    size_t obj = k < jp->n ? jp->e[k].obj : NO_POS;
    size_t tag_off = k < jp->n && jp->e[k].tag != NO_POS ? jp->e[k].tag : obj;
    size_t when_off = k < jp->n && jp->e[k].when != NO_POS ? jp->e[k].when : tag_off;
    if (!cJSON_IsObject(e)) {
        journal_finding(L, "journal-malformed", NULL, obj,
                        pf_asprintf("entry %zu is not an object", k),
                        pf_strdup("each entry is {\"idx\", \"version\", \"when\", \"tag\", "
                                  "\"breakpoints\"}, as drizzle-kit generate writes it"));
        return;
    }
    const cJSON *tag = cb_json_member(e, "tag");
    if (!cJSON_IsString(tag)) {
        journal_finding(L, "journal-malformed", NULL, tag_off,
                        pf_asprintf("entry %zu has no \"tag\" string: drizzle-orm cannot tell "
                                    "which file it runs",
                                    k),
                        pf_strdup("set \"tag\" to the name of the migration's .sql file, "
                                  "without .sql"));
        return;
    }
    const char *t = tag->valuestring;
    PF_GROW(L->entries, L->cap_entries, L->n_entries + 1);
    Entry *en = &L->entries[L->n_entries++];
    *en = (Entry){.tag = pf_strdup(t), .tag_off = tag_off, .when_off = when_off};
    char *name = pf_asprintf("%s.sql", t);
    en->file = cb_join(L->dir, name);
    free(name);

    const cJSON *when = cb_json_member(e, "when");
    double w = cJSON_IsNumber(when) ? when->valuedouble : 0;
    const char *problem = !cJSON_IsNumber(when) ? "has no \"when\" number"
                          : !(w >= -MAX_SAFE_INTEGER && w <= MAX_SAFE_INTEGER)
                              ? "has a \"when\" out of range"
                          : (double)(int64_t)w != w ? "has a \"when\" that is not a whole number"
                                                    : NULL;
    if (problem) {
        journal_finding(
            L, "journal-malformed", t, when_off,
            pf_asprintf("entry %zu (tag %s) %s: drizzle-orm cannot order it", k, t, problem),
            pf_strdup("\"when\" is the generation time in milliseconds since the "
                      "epoch, greater than the previous entry's"));
        return;
    }
    en->has_when = true;
    en->when = (int64_t)w;
}

/* Parse the journal into L->entries, reporting what is malformed. */
static PfErrCode read_journal(Linter *L, PfErr *err)
{
    char *text;
    size_t len;
    PfErrCode rc = pf_read_file(L->journal, &text, &len, err);
    if (rc != PF_OK)
        return rc;
    L->jtext = text;
    size_t skip = 0;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        journal_finding(L, "journal-malformed", NULL, 0,
                        pf_strdup("the journal starts with a byte order mark, which drizzle-orm's "
                                  "JSON.parse rejects"),
                        pf_strdup("save meta/_journal.json as UTF-8 without a BOM"));
        skip = 3;
    }
    /* The length includes pf_read_file's NUL so that cJSON insists the text ends there. */
    const char *end = NULL;
    size_t bad_at = 0;
    bool strict = cb_json_strict(text + skip, len - skip, &bad_at);
    cJSON *root = strict ? cJSON_ParseWithLengthOpts(text + skip, len - skip + 1, &end, 1) : NULL;
    if (!root || end != text + len) {
        size_t pos = !strict ? skip + bad_at : end && end >= text ? (size_t)(end - text) : 0;
        bool conflict = has_conflict_markers(text);
        journal_finding(L, "journal-malformed", NULL, pos > len ? len : pos,
                        pf_strdup(conflict ? "malformed JSON: merge conflict markers; "
                                             "drizzle-orm cannot read the journal"
                                           : "malformed JSON: drizzle-orm cannot read the journal"),
                        pf_strdup(conflict ? "resolve the conflict keeping both sides' entries "
                                             "in `when` order, then lint again"
                                           : "fix the JSON near this position"));
        goto out;
    }
    JsonPos jp = {.s = text, .len = len, .i = skip, .dialect = NO_POS};
    jp_value(&jp, 0, false, false);
    if (!cJSON_IsObject(root)) {
        journal_finding(L, "journal-malformed", NULL, skip,
                        pf_strdup("the journal is not a JSON object"),
                        pf_strdup("restore meta/_journal.json as drizzle-kit generate wrote it"));
        goto free_jp;
    }
    const cJSON *dialect = cb_json_member(root, "dialect");
    if (dialect && (!cJSON_IsString(dialect) || (strcmp(dialect->valuestring, "postgresql") != 0 &&
                                                 strcmp(dialect->valuestring, "pg") != 0)))
        journal_finding(L, "journal-malformed", NULL, jp.dialect,
                        pf_asprintf("dialect %s is not postgresql", cJSON_IsString(dialect)
                                                                        ? dialect->valuestring
                                                                        : "(not a string)"),
                        pf_strdup("point pgfleet at the PostgreSQL migrations folder"));
    const cJSON *entries = cb_json_member(root, "entries");
    if (!cJSON_IsArray(entries)) {
        journal_finding(L, "journal-malformed", NULL, skip,
                        pf_strdup("\"entries\" is missing or not an array"),
                        pf_strdup("restore meta/_journal.json as drizzle-kit generate wrote it"));
        goto free_jp;
    }
    size_t k = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, entries)
    {
        read_entry(L, e, k, &jp);
        k++;
    }
free_jp:
    free(jp.e);
out:
    cJSON_Delete(root);
    return PF_OK;
}

/* The number prefix of a name ("0003_add_x" -> "3"), or NULL when it has none. */
static char *number_of(const char *name)
{
    size_t n = strspn(name, "0123456789");
    if (n == 0 || name[n] != '_')
        return NULL;
    size_t z = 0;
    while (z + 1 < n && name[z] == '0')
        z++;
    return pf_strndup(name + z, n - z);
}

/* Two migrations with the same number: reported on the later one (journal order, then the
 * files that are in no entry), naming the first one with that number. */
static void check_numbers(Linter *L, const Names *orphans)
{
    size_t total = L->n_entries + orphans->n;
    char **names = pf_calloc(total ? total : 1, sizeof *names);
    char **nums = pf_calloc(total ? total : 1, sizeof *nums);
    PfStrSet first = {0}; /* number -> the first name with it */
    for (size_t i = 0; i < total; i++) {
        const Entry *en = i < L->n_entries ? &L->entries[i] : NULL;
        if (en && en->duplicate)
            continue;
        names[i] =
            en ? pf_strdup(en->tag)
               : pf_strndup(orphans->v[i - L->n_entries], strlen(orphans->v[i - L->n_entries]) - 4);
        nums[i] = number_of(names[i]);
        size_t j;
        if (!nums[i] || pf_strset_add(&first, nums[i], i, &j))
            continue;
        size_t digits = strspn(names[i], "0123456789");
        char *msg = pf_asprintf("%s has the same number %.*s as %s: two branches each "
                                "generated a migration %.*s",
                                names[i], (int)digits, names[i], names[j], (int)digits, names[i]);
        char *hint = pf_asprintf("keep the migration merged first; delete %s (its .sql, "
                                 "journal entry and snapshot) and run drizzle-kit generate "
                                 "again",
                                 names[i]);
        if (en) {
            journal_finding(L, "duplicate-number", names[i], en->tag_off, msg, hint);
        } else {
            char *path = cb_join(L->dir, orphans->v[i - L->n_entries]);
            lint_emit(&L->out, "duplicate-number", path, names[i], 0, 0, msg, hint);
            free(path);
        }
    }
    pf_strset_free(&first);
    for (size_t i = 0; i < total; i++) {
        free(names[i]);
        free(nums[i]);
    }
    free(names);
    free(nums);
}

static void lint_journal(Linter *L)
{
    /* Duplicate tags: drizzle-orm runs the file once per entry. */
    PfStrSet tags = {0};
    for (size_t k = 0; k < L->n_entries; k++) {
        Entry *en = &L->entries[k];
        if (pf_strset_add(&tags, en->tag, k, NULL))
            continue;
        en->duplicate = true;
        journal_finding(L, "duplicate-tag", en->tag, en->tag_off, cb_duplicate_tag_message(en->tag),
                        pf_strdup(cb_duplicate_tag_hint));
    }

    /* Files: each entry's must exist; each .sql must be some entry's. */
    for (size_t k = 0; k < L->n_entries; k++) {
        const Entry *en = &L->entries[k];
        if (en->duplicate)
            continue;
        if (is_regular(en->file)) {
            mig_add(L, en->tag, pf_strdup(en->file));
            continue;
        }
        journal_finding(L, "missing-file", en->tag, en->tag_off,
                        pf_asprintf("%s.sql %s: drizzle-orm fails every run (\"No file ... "
                                    "found\")",
                                    en->tag,
                                    exists(en->file) ? "is not a regular file" : "not found"),
                        pf_asprintf("commit %s.sql, or remove its entry if the migration was "
                                    "abandoned before it ran anywhere",
                                    en->tag));
    }
    Names orphans = {0};
    for (size_t i = 0; i < L->sql.n; i++) {
        char *stem = pf_strndup(L->sql.v[i], strlen(L->sql.v[i]) - 4); /* without .sql */
        if (!pf_strset_get(&tags, stem, NULL))
            names_add(&orphans, L->sql.v[i]);
        free(stem);
    }
    pf_strset_free(&tags);

    /* `when` must increase: drizzle-orm applies a migration only when its `when` is greater
     * than the newest created_at in the ledger. */
    const Entry *high = NULL;
    for (size_t k = 0; k < L->n_entries; k++) {
        const Entry *en = &L->entries[k];
        if (!en->has_when)
            continue;
        if (high && en->when <= high->when)
            journal_finding(L, "when-not-increasing", en->tag, en->when_off,
                            pf_asprintf("entry %s has \"when\" %lld, %s entry %s's %lld: "
                                        "drizzle-orm skips %s on every database where %s is "
                                        "applied, and reports success",
                                        en->tag, (long long)en->when,
                                        en->when == high->when ? "equal to" : "before", high->tag,
                                        (long long)high->when, en->tag, high->tag),
                            pf_asprintf("give %s a \"when\" above %lld (entries in run order), "
                                        "or generate it again on top of %s",
                                        en->tag, (long long)high->when, high->tag));
        else
            high = en;
    }

    /* An orphan is reported once, as an orphan: when an entry has its number, the file is
     * most likely a branch's migration that lost to that entry, not a second one to run. */
    PfStrSet numbered = {0}; /* number -> the first entry with it */
    char **entry_nums = pf_calloc(L->n_entries ? L->n_entries : 1, sizeof *entry_nums);
    for (size_t k = 0; k < L->n_entries; k++)
        if ((entry_nums[k] = number_of(L->entries[k].tag)) != NULL)
            pf_strset_add(&numbered, entry_nums[k], k, NULL);
    for (size_t i = 0; i < orphans.n; i++) {
        char *path = cb_join(L->dir, orphans.v[i]);
        char *stem = pf_strndup(orphans.v[i], strlen(orphans.v[i]) - 4);
        char *num = number_of(stem);
        size_t k;
        char *hint =
            num && pf_strset_get(&numbered, num, &k)
                ? pf_asprintf("the journal runs %s under the same number: if %s was abandoned "
                              "(a branch's migration that lost the merge), delete it; if its "
                              "change is still wanted, delete it and run drizzle-kit generate "
                              "again on top of the journal",
                              L->entries[k].tag, orphans.v[i])
                : pf_strdup("add its journal entry (drizzle-kit generate writes both: was the "
                            "journal left out of a commit or lost in a merge?)");
        lint_emit(
            &L->out, "orphan-sql", path, stem, 0, 0,
            pf_asprintf("%s is not in meta/_journal.json: drizzle-orm never runs it", orphans.v[i]),
            hint);
        mig_add(L, stem, path);
        free(num);
        free(stem);
    }
    for (size_t k = 0; k < L->n_entries; k++)
        free(entry_nums[k]);
    free(entry_nums);
    pf_strset_free(&numbered);
    check_numbers(L, &(Names){0});
    names_free(&orphans);
}

/* ---- the v1 layout ---------------------------------------------------------------------- */

static void lint_folders(Linter *L)
{
    Names good = {0}, bad = {0};
    for (size_t i = 0; i < L->subdirs.n; i++) {
        const char *name = L->subdirs.v[i];
        char *sub = cb_join(L->dir, name);
        char *sql = cb_join(sub, "migration.sql");
        bool v1 = cb_folder_name_ok(name);
        PfErr e;
        int64_t when;
        if (!exists(sql)) {
            if (v1)
                lint_emit(
                    &L->out, "v1-missing-sql", sub, name, 0, 0,
                    pf_asprintf("%s has no migration.sql: drizzle-orm ignores the folder", name),
                    pf_strdup("restore migration.sql, or delete the folder if the "
                              "migration was abandoned"));
        } else if (!is_regular(sql)) {
            lint_emit(&L->out, "v1-missing-sql", sql, name, 0, 0,
                      pf_strdup("migration.sql is not a regular file"),
                      pf_strdup("make migration.sql a file holding the migration"));
        } else if (!v1) {
            lint_emit(&L->out, "v1-bad-name", sub, name, 0, 0,
                      pf_asprintf("%s is not named <YYYYMMDDHHMMSS>_<name>: drizzle-orm derives "
                                  "no timestamp from it",
                                  name),
                      pf_strdup("name the folder as drizzle-kit generate does, e.g. "
                                "20250101120000_add_users"));
            names_add(&bad, name);
        } else if (cb_folder_when(L->dir, name, &when, &e) != PF_OK) {
            /* The message repeats "<dir>/<name>: "; the finding names the folder already. */
            char *prefix = pf_asprintf("%s/%s: ", L->dir, name);
            const char *msg = e.msg;
            if (strncmp(msg, prefix, strlen(prefix)) == 0)
                msg += strlen(prefix);
            lint_emit(&L->out, "v1-bad-name", sub, name, 0, 0,
                      pf_asprintf("%s: drizzle-orm derives no valid timestamp from it", msg),
                      pf_strdup("fix the 14-digit UTC timestamp at the start of the name"));
            free(prefix);
            names_add(&good, name);
        } else {
            names_add(&good, name);
        }
        free(sql);
        free(sub);
    }
    for (size_t i = 0; i < L->sql.n; i++) {
        char *path = cb_join(L->dir, L->sql.v[i]);
        char *stem = pf_strndup(L->sql.v[i], strlen(L->sql.v[i]) - 4);
        lint_emit(&L->out, "orphan-sql", path, stem, 0, 0,
                  pf_asprintf("%s is not in a migration folder: drizzle-orm's v1 migrator never "
                              "runs it",
                              L->sql.v[i]),
                  pf_strdup("move it to <YYYYMMDDHHMMSS>_<name>/migration.sql, as drizzle-kit "
                            "generate writes migrations"));
        free(stem);
        free(path);
    }
    if (good.n > 1)
        qsort(good.v, good.n, sizeof *good.v, cmp_folders);
    for (int pass = 0; pass < 2; pass++) {
        const Names *ns = pass ? &bad : &good;
        for (size_t i = 0; i < ns->n; i++) {
            char *sub = cb_join(L->dir, ns->v[i]);
            mig_add(L, ns->v[i], cb_join(sub, "migration.sql"));
            free(sub);
        }
    }
    names_free(&good);
    names_free(&bad);
}

/* ---- putting it together ---------------------------------------------------------------- */

/* Journal findings first, then the rest by file and line. */
static int cmp_structure(const LintFinding *a, const LintFinding *b, const char *journal)
{
    bool ja = strcmp(a->file, journal) == 0, jb = strcmp(b->file, journal) == 0;
    if (ja != jb)
        return ja ? -1 : 1;
    int c = strcmp(a->file, b->file);
    if (c != 0)
        return c;
    return a->line < b->line ? -1 : a->line > b->line;
}

/* A finding and where it was emitted: equal findings keep that order (a stable sort). */
typedef struct Ranked {
    LintFinding f;
    size_t rank;
    const char *journal;
} Ranked;

static int cmp_ranked(const void *a, const void *b)
{
    const Ranked *x = a, *y = b;
    int c = cmp_structure(&x->f, &y->f, x->journal);
    return c ? c : (x->rank > y->rank) - (x->rank < y->rank);
}

static void sort_structure(LintResult *r, const char *journal)
{
    if (r->n < 2)
        return;
    Ranked *v = pf_malloc(r->n * sizeof *v);
    for (size_t i = 0; i < r->n; i++)
        v[i] = (Ranked){r->findings[i], i, journal};
    qsort(v, r->n, sizeof *v, cmp_ranked);
    for (size_t i = 0; i < r->n; i++)
        r->findings[i] = v[i].f;
    free(v);
}

static PfErrCode lint_statements(Linter *L, PfErr *err)
{
    LintSql *s = lint_sql_new();
    PfErrCode rc = PF_OK;
    for (size_t i = 0; i < L->n_migs && rc == PF_OK; i++) {
        char *raw;
        size_t len;
        rc = pf_read_file(L->migs[i].path, &raw, &len, err);
        if (rc != PF_OK)
            break;
        size_t text_len;
        char *text = cb_utf8_decode(raw, len, &text_len);
        free(raw);
        /* As for plan and apply: a NUL is invalid input, not a finding to weigh. */
        rc = cb_check_text(L->migs[i].path, text, text_len, err);
        if (rc != PF_OK) {
            free(text);
            break;
        }
        lint_sql_migration(s, &L->out, L->migs[i].path, L->migs[i].name, text, text_len, NULL);
        free(text);
        L->out.r->migrations++;
    }
    lint_sql_free(s);
    return rc;
}

static PfErrCode run(Linter *L, PfErr *err)
{
    struct stat st;
    if (stat(L->dir, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return pf_err_set(err, PF_ERR_IO, "%s: migrations folder not found", L->dir);
        return pf_err_set(err, PF_ERR_IO, "%s: %s", L->dir, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode))
        return pf_err_set(err, PF_ERR_INPUT, "%s: not a directory", L->dir);
    PfErrCode rc = list_folder(L, err);
    if (rc != PF_OK)
        return rc;

    bool has_journal = exists(L->journal);
    size_t n_v1 = 0, n_folders = 0;
    for (size_t i = 0; i < L->subdirs.n; i++) {
        char *sub = cb_join(L->dir, L->subdirs.v[i]);
        char *sql = cb_join(sub, "migration.sql");
        bool has_sql = exists(sql);
        n_v1 += has_sql && cb_folder_name_ok(L->subdirs.v[i]);
        n_folders += has_sql;
        free(sql);
        free(sub);
    }

    if (has_journal) {
        L->out.r->layout = CB_LAYOUT_JOURNAL;
        rc = read_journal(L, err);
        if (rc != PF_OK)
            return rc;
        if (n_v1 > 0)
            journal_finding(L, "mixed-layout", NULL, NO_POS,
                            pf_asprintf("meta/_journal.json beside %zu v1 migration folder%s: "
                                        "drizzle-orm's v1 migrator refuses the folder, and the "
                                        "0.x one ignores the folders",
                                        n_v1, n_v1 == 1 ? "" : "s"),
                            pf_strdup("finish the move with drizzle-kit up, then delete meta/ "
                                      "(lint checked the journal's migrations only)"));
        lint_journal(L);
    } else if (n_folders > 0) {
        L->out.r->layout = CB_LAYOUT_FOLDERS;
        lint_folders(L);
    } else if (L->sql.n > 0) {
        L->out.r->layout = CB_LAYOUT_JOURNAL;
        journal_finding(L, "journal-missing", NULL, NO_POS, pf_strdup(cb_journal_missing_message),
                        pf_strdup(cb_journal_missing_hint));
        for (size_t i = 0; i < L->sql.n; i++) {
            char *stem = pf_strndup(L->sql.v[i], strlen(L->sql.v[i]) - 4);
            mig_add(L, stem, cb_join(L->dir, L->sql.v[i]));
            free(stem);
        }
        /* The files stand for themselves: their numbers are still compared. */
        check_numbers(L, &L->sql);
    } else {
        return pf_err_set(err, PF_ERR_INPUT,
                          "%s: no meta/_journal.json, no <YYYYMMDDHHMMSS>_<name>/migration.sql "
                          "folders and no .sql files; is this a drizzle migrations folder?",
                          L->dir);
    }
    sort_structure(L->out.r, L->journal);
    return lint_statements(L, err);
}

PfErrCode lint_folder(const char *dir, LintResult **out, PfErr *err)
{
    *out = NULL;
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    LintResult *r = pf_calloc(1, sizeof *r);
    r->dir = pf_strndup(dir, len);
    Linter L = {.out = {r, 0}, .dir = r->dir};
    L.journal = cb_join(L.dir, "meta/_journal.json");
    PfErrCode rc = run(&L, err);
    free((char *)L.jtext);
    free(L.journal);
    names_free(&L.sql);
    names_free(&L.subdirs);
    for (size_t i = 0; i < L.n_entries; i++) {
        free(L.entries[i].tag);
        free(L.entries[i].file);
    }
    free(L.entries);
    for (size_t i = 0; i < L.n_migs; i++) {
        free(L.migs[i].name);
        free(L.migs[i].path);
    }
    free(L.migs);
    if (rc != PF_OK) {
        lint_result_free(r);
        return rc;
    }
    *out = r;
    return PF_OK;
}
