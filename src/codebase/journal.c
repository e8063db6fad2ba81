/*
 * The drizzle-kit 0.x layout: meta/_journal.json lists the migrations, each <tag>.sql beside
 * meta/. drizzle-orm runs the entries in list order and trusts the journal blindly; the reader
 * records what it would mishandle as problems (CbProblem, lint's rules), each at its place in
 * the journal's text: malformed JSON or entries, a duplicate tag (drizzle would run the file
 * twice), an entry without its file, a .sql file in no entry, two migrations with the same
 * number. A `when` that does not increase is read as drizzle reads it, because real journals
 * keep such entries for good: fresh databases get every entry in list order, and the entry gets
 * a note on the codebase, since drizzle's high-water mark skips it on any database already
 * past its `when` (plan.c calls it out_of_order there).
 */
#include "codebase/internal.h"

#include "core/mem.h"
#include "core/strset.h"
#include "core/util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Integers a double holds exactly (what JSON.parse gives drizzle). */
#define MAX_SAFE_INTEGER 9007199254740991.0
#define NO_POS SIZE_MAX

void cb_text_position(const char *text, size_t pos, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < pos; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n') {
            (*line)++;
            *col = 1;
        } else if ((c & 0xC0) != 0x80) {
            (*col)++;
        }
    }
}

const cJSON *cb_json_member(const cJSON *obj, const char *key)
{
    const cJSON *found = NULL, *item;
    cJSON_ArrayForEach(item, obj)
    {
        if (item->string && strcmp(item->string, key) == 0)
            found = item;
    }
    return found;
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

/* A journal entry as the reader finds it. */
typedef struct Entry {
    char *tag; /* NULL: the entry has no tag (a problem) */
    bool has_when;
    int64_t when;
    size_t tag_off, when_off; /* where the entry's "tag" and "when" keys (or the entry) start */
    char *file;               /* <dir>/<tag>.sql */
    bool duplicate;           /* its tag is an earlier entry's */
} Entry;

typedef struct Journal {
    CbReader *rd;
    const char *text;
    /* The last position found in it: problems come mostly in text order, so each is counted
     * on from the one before (one before it counts from the start again). */
    size_t pos_off, pos_line, pos_col;
    Entry *entries;
    size_t n_entries, cap_entries;
} Journal;

/* A problem of the journal at offset off of its text (NO_POS: the file as a whole). */
static void problem_at(Journal *J, const char *rule, CbSeverity severity, const char *migration,
                       size_t off, char *message, char *hint)
{
    size_t line = 0, col = 0;
    if (off != NO_POS) {
        if (off < J->pos_off || J->pos_line == 0) {
            J->pos_off = 0;
            J->pos_line = J->pos_col = 1;
        }
        cb_text_position(J->text + J->pos_off, off - J->pos_off, &line, &col);
        col = line == 1 ? J->pos_col + col - 1 : col;
        line += J->pos_line - 1;
        J->pos_off = off;
        J->pos_line = line;
        J->pos_col = col;
    }
    cb_problem(J->rd, rule, severity, J->rd->journal, migration, line, col, message, hint);
}

/* A malformed journal: drizzle-orm cannot read it, cb_read refuses it. */
static void malformed(Journal *J, const char *migration, size_t off, char *message, char *hint)
{
    problem_at(J, "journal-malformed", CB_PROBLEM_REFUSED, migration, off, message, hint);
}

static bool has_conflict_markers(const char *text)
{
    return strncmp(text, "<<<<<<<", 7) == 0 || strstr(text, "\n<<<<<<<") ||
           strstr(text, "\n>>>>>>>");
}

/* Read one entry (index k) of the journal; malformed parts are problems. */
static void read_entry(Journal *J, const cJSON *e, size_t k, const JsonPos *jp)
{
    size_t obj = k < jp->n ? jp->e[k].obj : NO_POS;
    size_t tag_off = k < jp->n && jp->e[k].tag != NO_POS ? jp->e[k].tag : obj;
    size_t when_off = k < jp->n && jp->e[k].when != NO_POS ? jp->e[k].when : tag_off;
    if (!cJSON_IsObject(e)) {
        malformed(J, NULL, obj, pf_asprintf("entry %zu is not an object", k),
                  pf_strdup("each entry is {\"idx\", \"version\", \"when\", \"tag\", "
                            "\"breakpoints\"}, as drizzle-kit generate writes it"));
        return;
    }
    const cJSON *tag = cb_json_member(e, "tag");
    if (!cJSON_IsString(tag)) {
        malformed(J, NULL, tag_off,
                  pf_asprintf("entry %zu has no \"tag\" string: drizzle-orm cannot tell which "
                              "file it runs",
                              k),
                  pf_strdup("set \"tag\" to the name of the migration's .sql file, without "
                            ".sql"));
        return;
    }
    const char *t = tag->valuestring;
    PF_GROW(J->entries, J->cap_entries, J->n_entries + 1);
    Entry *en = &J->entries[J->n_entries++];
    *en = (Entry){.tag = pf_strdup(t), .tag_off = tag_off, .when_off = when_off};
    char *name = pf_asprintf("%s.sql", t);
    en->file = cb_join(J->rd->cb->dir, name);
    free(name);

    const cJSON *when = cb_json_member(e, "when");
    double w = cJSON_IsNumber(when) ? when->valuedouble : 0;
    const char *problem = !cJSON_IsNumber(when) ? "has no \"when\" number"
                          : !(w >= -MAX_SAFE_INTEGER && w <= MAX_SAFE_INTEGER)
                              ? "has a \"when\" out of range"
                          : (double)(int64_t)w != w ? "has a \"when\" that is not a whole number"
                                                    : NULL;
    if (problem) {
        malformed(J, t, when_off,
                  pf_asprintf("entry %zu (tag %s) %s: drizzle-orm cannot order it", k, t, problem),
                  pf_strdup("\"when\" is the generation time in milliseconds since the epoch, "
                            "greater than the previous entry's"));
        return;
    }
    en->has_when = true;
    en->when = (int64_t)w;
}

/* Parse the journal's text into J->entries, recording what is malformed. */
static void parse_journal(Journal *J, const char *text, size_t len)
{
    size_t skip = 0;
    /* cJSON would skip a byte order mark; drizzle's JSON.parse(readFileSync().toString())
     * fails on it. The rest is read all the same, for the other problems. */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        malformed(J, NULL, 0,
                  pf_strdup("the journal starts with a byte order mark, which drizzle-orm's "
                            "JSON.parse rejects"),
                  pf_strdup("save meta/_journal.json as UTF-8 without a BOM"));
        skip = 3;
    }
    /* The length includes pf_read_file's NUL so that cJSON insists the text ends there
     * (JSON.parse rejects trailing garbage too); end then points at that NUL. cJSON points at
     * or just past the offending character; near enough for a person to find the mistake. */
    const char *end = NULL;
    size_t bad_at = 0;
    bool strict = cb_json_strict(text + skip, len - skip, &bad_at);
    cJSON *root = strict ? cJSON_ParseWithLengthOpts(text + skip, len - skip + 1, &end, 1) : NULL;
    if (!root || end != text + len) {
        size_t pos = !strict ? skip + bad_at : end && end >= text ? (size_t)(end - text) : 0;
        bool conflict = has_conflict_markers(text);
        malformed(J, NULL, pos > len ? len : pos,
                  pf_strdup(conflict ? "malformed JSON: merge conflict markers; drizzle-orm "
                                       "cannot read the journal"
                                     : "malformed JSON: drizzle-orm cannot read the journal"),
                  pf_strdup(conflict ? "resolve the conflict keeping both sides' entries in "
                                       "`when` order, then lint again"
                                     : "fix the JSON near this position"));
        cJSON_Delete(root);
        return;
    }
    JsonPos jp = {.s = text, .len = len, .i = skip, .dialect = NO_POS};
    jp_value(&jp, 0, false, false);
    if (!cJSON_IsObject(root)) {
        malformed(J, NULL, skip, pf_strdup("the journal is not a JSON object"),
                  pf_strdup("restore meta/_journal.json as drizzle-kit generate wrote it"));
        goto out;
    }
    /* drizzle-orm never reads "dialect"; "pg" is what drizzle-kit wrote before it said
     * "postgresql" (journal version 5). */
    const cJSON *dialect = cb_json_member(root, "dialect");
    if (dialect && (!cJSON_IsString(dialect) || (strcmp(dialect->valuestring, "postgresql") != 0 &&
                                                 strcmp(dialect->valuestring, "pg") != 0)))
        malformed(J, NULL, jp.dialect,
                  cJSON_IsString(dialect)
                      ? pf_asprintf("dialect \"%s\" is not postgresql: pgfleet applies "
                                    "PostgreSQL migrations only",
                                    dialect->valuestring)
                      : pf_strdup("\"dialect\" is not a string"),
                  pf_strdup("point pgfleet at the PostgreSQL migrations folder"));
    const cJSON *entries = cb_json_member(root, "entries");
    if (!cJSON_IsArray(entries)) {
        malformed(J, NULL, skip, pf_strdup("\"entries\" is missing or not an array"),
                  pf_strdup("restore meta/_journal.json as drizzle-kit generate wrote it"));
        goto out;
    }
    size_t k = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, entries)
    {
        read_entry(J, e, k, &jp);
        k++;
    }
out:
    free(jp.e);
    cJSON_Delete(root);
}

/* ---- numbers ---------------------------------------------------------------------------- */

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

/* Two migrations with the same number (names: the entries' tags, or the stems of the .sql
 * files of a folder without a journal): reported on the later one, naming the first one with
 * that number. offs: each entry's offset in the journal, NULL for files. drizzle-orm runs both;
 * the problem is lint's to report. */
static void check_numbers(Journal *J, char *const *names, const size_t *offs, size_t n)
{
    PfStrSet first = {0}; /* number -> the first name with it */
    char **nums = pf_calloc(n ? n : 1, sizeof *nums);
    for (size_t i = 0; i < n; i++) {
        size_t j;
        if (!names[i] || !(nums[i] = number_of(names[i])) || pf_strset_add(&first, nums[i], i, &j))
            continue;
        size_t digits = strspn(names[i], "0123456789");
        char *msg = pf_asprintf("%s has the same number %.*s as %s: two branches each "
                                "generated a migration %.*s",
                                names[i], (int)digits, names[i], names[j], (int)digits, names[i]);
        char *hint = pf_asprintf("keep the migration merged first; delete %s (its .sql, "
                                 "journal entry and snapshot) and run drizzle-kit generate "
                                 "again",
                                 names[i]);
        if (offs) {
            problem_at(J, "duplicate-number", CB_PROBLEM_READ, names[i], offs[i], msg, hint);
        } else {
            char *file = pf_asprintf("%s.sql", names[i]);
            char *path = cb_join(J->rd->cb->dir, file);
            cb_problem(J->rd, "duplicate-number", CB_PROBLEM_READ, path, names[i], 0, 0, msg, hint);
            free(path);
            free(file);
        }
    }
    pf_strset_free(&first);
    for (size_t i = 0; i < n; i++)
        free(nums[i]);
    free(nums);
}

/* ---- the entries and the files ---------------------------------------------------------- */

/* A note for an entry whose `when` is not above high's, the greatest of the earlier ones. */
static void note_when(CbReader *rd, const Entry *en, const Entry *high)
{
    Codebase *cb = rd->cb;
    PF_GROW(cb->notes, rd->cap_notes, cb->n_notes + 1);
    cb->notes[cb->n_notes++] = (CbNote){
        .kind = "when_not_increasing",
        .migration = pf_strdup(en->tag),
        .message = pf_asprintf(
            "%s (when %lld) is listed after %s (when %lld): fresh databases get it in journal "
            "order, as drizzle-orm does, but a database that already has a newer migration "
            "(such as %s) never gets it from drizzle-orm, and is out_of_order for it; hint: "
            "review it, then apply it there with --allow-out-of-order",
            en->tag, (long long)en->when, high->tag, (long long)high->when, high->tag),
    };
}

/* `when` must increase: drizzle-orm applies a migration only when its `when` is greater than
 * the newest created_at in the ledger. */
static void check_when(Journal *J)
{
    const Entry *high = NULL;
    for (size_t k = 0; k < J->n_entries; k++) {
        const Entry *en = &J->entries[k];
        if (!en->has_when)
            continue;
        if (!high || en->when > high->when) {
            high = en;
            continue;
        }
        problem_at(J, "when-not-increasing", CB_PROBLEM_READ, en->tag, en->when_off,
                   pf_asprintf("entry %s has \"when\" %lld, %s entry %s's %lld: drizzle-orm "
                               "skips %s on every database where %s is applied, and reports "
                               "success",
                               en->tag, (long long)en->when,
                               en->when == high->when ? "equal to" : "before", high->tag,
                               (long long)high->when, en->tag, high->tag),
                   pf_asprintf("give %s a \"when\" above %lld (entries in run order), or "
                               "generate it again on top of %s",
                               en->tag, (long long)high->when, high->tag));
        if (!en->duplicate)
            note_when(J->rd, en, high);
    }
}

/* Each entry's file must be a regular file (drizzle reads it whole): the migrations, in list
 * order. */
static PfErrCode check_files(Journal *J, PfErr *err)
{
    for (size_t k = 0; k < J->n_entries; k++) {
        const Entry *en = &J->entries[k];
        if (en->duplicate)
            continue;
        struct stat st;
        bool found = stat(en->file, &st) == 0;
        if (!found && errno != ENOENT && errno != ENOTDIR)
            return pf_err_set(err, PF_ERR_IO, "%s: %s", en->file, strerror(errno));
        if (found && S_ISREG(st.st_mode)) {
            cb_add(J->rd, en->tag, en->when, en->file, false);
            continue;
        }
        problem_at(J, "missing-file", CB_PROBLEM_REFUSED, en->tag, en->tag_off,
                   pf_asprintf("%s.sql %s: drizzle-orm fails every run (\"No file ... found\")",
                               en->tag, found ? "is not a regular file" : "not found"),
                   pf_asprintf("commit %s.sql, or remove its entry if the migration was "
                               "abandoned before it ran anywhere",
                               en->tag));
    }
    return PF_OK;
}

/* A .sql file in no entry is reported once, as an orphan: when an entry has its number, the
 * file is most likely a branch's migration that lost to that entry, not a second one to run.
 * drizzle-orm never runs it; lint still checks it (an unlisted migration). */
static void check_orphans(Journal *J, const PfStrSet *tags)
{
    CbReader *rd = J->rd;
    PfStrSet numbered = {0}; /* number -> the first entry with it */
    char **entry_nums = pf_calloc(J->n_entries ? J->n_entries : 1, sizeof *entry_nums);
    for (size_t k = 0; k < J->n_entries; k++)
        if ((entry_nums[k] = number_of(J->entries[k].tag)) != NULL)
            pf_strset_add(&numbered, entry_nums[k], k, NULL);
    for (size_t i = 0; i < rd->n_sql; i++) {
        const char *file = rd->sql[i];
        char *stem = pf_strndup(file, strlen(file) - 4); /* without .sql */
        if (pf_strset_get(tags, stem, NULL)) {
            free(stem);
            continue;
        }
        char *path = cb_join(rd->cb->dir, file);
        char *num = number_of(stem);
        size_t k;
        char *hint =
            num && pf_strset_get(&numbered, num, &k)
                ? pf_asprintf("the journal runs %s under the same number: if %s was abandoned "
                              "(a branch's migration that lost the merge), delete it; if its "
                              "change is still wanted, delete it and run drizzle-kit generate "
                              "again on top of the journal",
                              J->entries[k].tag, file)
                : pf_strdup("add its journal entry (drizzle-kit generate writes both: was the "
                            "journal left out of a commit or lost in a merge?)");
        cb_problem(rd, "orphan-sql", CB_PROBLEM_READ, path, stem, 0, 0,
                   pf_asprintf("%s is not in meta/_journal.json: drizzle-orm never runs it", file),
                   hint);
        cb_add(rd, stem, 0, path, true);
        free(num);
        free(path);
        free(stem);
    }
    for (size_t k = 0; k < J->n_entries; k++)
        free(entry_nums[k]);
    free(entry_nums);
    pf_strset_free(&numbered);
}

static PfErrCode check_entries(Journal *J, PfErr *err)
{
    /* Duplicate tags: drizzle-orm runs the file once per entry. */
    PfStrSet tags = {0};
    for (size_t k = 0; k < J->n_entries; k++) {
        Entry *en = &J->entries[k];
        if (pf_strset_add(&tags, en->tag, k, NULL))
            continue;
        en->duplicate = true;
        problem_at(J, "duplicate-tag", CB_PROBLEM_REFUSED, en->tag, en->tag_off,
                   pf_asprintf("tag %s appears twice in the journal: drizzle-orm runs %s.sql "
                               "once per entry",
                               en->tag, en->tag),
                   pf_strdup("remove the duplicate entry"));
    }
    PfErrCode rc = check_files(J, err);
    if (rc == PF_OK) {
        check_when(J);
        check_orphans(J, &tags);
        char **names = pf_calloc(J->n_entries ? J->n_entries : 1, sizeof *names);
        size_t *offs = pf_calloc(J->n_entries ? J->n_entries : 1, sizeof *offs);
        for (size_t k = 0; k < J->n_entries; k++) {
            names[k] = J->entries[k].duplicate ? NULL : J->entries[k].tag;
            offs[k] = J->entries[k].tag_off;
        }
        check_numbers(J, names, offs, J->n_entries);
        free(names);
        free(offs);
    }
    pf_strset_free(&tags);
    return rc;
}

PfErrCode cb_read_journal(CbReader *rd, PfErr *err)
{
    char *text;
    size_t len;
    PfErrCode rc = pf_read_file(rd->journal, &text, &len, err);
    if (rc != PF_OK)
        return rc;
    Journal J = {.rd = rd, .text = text};
    parse_journal(&J, text, len);
    rc = check_entries(&J, err);
    for (size_t k = 0; k < J.n_entries; k++) {
        free(J.entries[k].tag);
        free(J.entries[k].file);
    }
    free(J.entries);
    free(text);
    return rc;
}

void cb_read_journal_missing(CbReader *rd)
{
    cb_problem(rd, "journal-missing", CB_PROBLEM_REFUSED, rd->journal, NULL, 0, 0,
               pf_strdup("no meta/_journal.json beside the .sql files: drizzle-orm refuses the "
                         "folder (\"Can't find meta/_journal.json file\")"),
               pf_strdup("commit meta/ too: drizzle-kit generate writes the journal and the "
                         "snapshots there"));
    /* The files stand for themselves, in name order: their numbers are still compared. */
    char **stems = pf_calloc(rd->n_sql ? rd->n_sql : 1, sizeof *stems);
    for (size_t i = 0; i < rd->n_sql; i++) {
        stems[i] = pf_strndup(rd->sql[i], strlen(rd->sql[i]) - 4);
        char *path = cb_join(rd->cb->dir, rd->sql[i]);
        cb_add(rd, stems[i], 0, path, false);
        free(path);
    }
    Journal J = {.rd = rd};
    check_numbers(&J, stems, NULL, rd->n_sql);
    for (size_t i = 0; i < rd->n_sql; i++)
        free(stems[i]);
    free(stems);
}
