/*
 * The drizzle-kit 0.x layout: meta/_journal.json lists the migrations, each <tag>.sql beside
 * meta/. drizzle-orm runs the entries in list order and trusts the journal blindly; we refuse
 * a duplicate tag (drizzle would run the file twice). A `when` that does not increase is read
 * as drizzle reads it, because real journals keep such entries for good: fresh databases get
 * every entry in list order, and the entry gets a note on the codebase, since drizzle's
 * high-water mark skips it on any database already past its `when` (plan.c calls it
 * out_of_order there).
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

/* cJSON points at or just past the offending character (one past it when a string was
 * expected); near enough for a person to find the mistake. */
static PfErrCode syntax_error(const char *path, const char *text, size_t len, const char *at,
                              PfErr *err)
{
    size_t pos = at && at >= text ? (size_t)(at - text) : 0;
    if (pos > len)
        pos = len;
    size_t line, col;
    cb_text_position(text, pos, &line, &col);
    return pf_err_set(err, PF_ERR_INPUT, "%s:%zu:%zu: malformed JSON", path, line, col);
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

static PfErrCode check_dialect(const char *path, const cJSON *root, PfErr *err)
{
    const cJSON *d = cb_json_member(root, "dialect");
    if (!d)
        return PF_OK; /* drizzle-orm never reads it */
    if (!cJSON_IsString(d))
        return pf_err_set(err, PF_ERR_INPUT, "%s: \"dialect\" is not a string", path);
    /* "pg" is what drizzle-kit wrote before it said "postgresql" (journal version 5). */
    if (strcmp(d->valuestring, "postgresql") != 0 && strcmp(d->valuestring, "pg") != 0)
        return pf_err_set(err, PF_ERR_INPUT,
                          "%s: dialect \"%s\" is not postgresql; pgfleet applies PostgreSQL "
                          "migrations only",
                          path, d->valuestring);
    return PF_OK;
}

/* The file an entry names must be a readable regular file (drizzle reads it whole). */
static PfErrCode check_file(const char *journal, size_t i, const char *tag, const char *file,
                            PfErr *err)
{
    struct stat st;
    if (stat(file, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return pf_err_set(err, PF_ERR_INPUT, "%s: entry %zu (tag %s): file %s not found",
                              journal, i, tag, file);
        return pf_err_set(err, PF_ERR_IO, "%s: entry %zu (tag %s): %s: %s", journal, i, tag, file,
                          strerror(errno));
    }
    if (!S_ISREG(st.st_mode))
        return pf_err_set(err, PF_ERR_INPUT, "%s: entry %zu (tag %s): %s is not a regular file",
                          journal, i, tag, file);
    return PF_OK;
}

/* A note for an entry whose `when` is not above high's, the greatest of the earlier ones. */
static void note_when(Codebase *cb, size_t *cap, const CbMigration *m, const CbMigration *high)
{
    PF_GROW(cb->notes, *cap, cb->n_notes + 1);
    cb->notes[cb->n_notes++] = (CbNote){
        .kind = "when_not_increasing",
        .migration = pf_strdup(m->tag),
        .message = pf_asprintf(
            "%s (when %lld) is listed after %s (when %lld): fresh databases get it in journal "
            "order, as drizzle-orm does, but a database that already has a newer migration "
            "(such as %s) never gets it from drizzle-orm, and is out_of_order for it; hint: "
            "review it, then apply it there with --allow-out-of-order",
            m->tag, (long long)m->when, high->tag, (long long)high->when, high->tag),
    };
}

/* The first entry whose tag an earlier entry has (*dup, and that entry's index *first), found
 * with a hash set so that a long journal costs time in proportion to its length; false when
 * none. Entries without a tag string are skipped (read_entries refuses them). */
static bool first_duplicate(const cJSON *entries, size_t *dup, size_t *first)
{
    PfStrSet seen = {0};
    size_t i = 0;
    bool found = false;
    const cJSON *e;
    cJSON_ArrayForEach(e, entries)
    {
        const cJSON *tag = cJSON_IsObject(e) ? cb_json_member(e, "tag") : NULL;
        if (cJSON_IsString(tag) && !pf_strset_add(&seen, tag->valuestring, i, first)) {
            *dup = i;
            found = true;
            break;
        }
        i++;
    }
    pf_strset_free(&seen);
    return found;
}

static PfErrCode read_entries(Codebase *cb, const char *path, const cJSON *entries, PfErr *err)
{
    size_t cap = 0, notes_cap = 0, i = 0, high = 0, dup = SIZE_MAX, dup_of = 0;
    if (!first_duplicate(entries, &dup, &dup_of))
        dup = SIZE_MAX;
    const cJSON *e;
    cJSON_ArrayForEach(e, entries)
    {
        if (!cJSON_IsObject(e))
            return pf_err_set(err, PF_ERR_INPUT, "%s: entry %zu is not an object", path, i);
        const cJSON *tag = cb_json_member(e, "tag");
        if (!cJSON_IsString(tag))
            return pf_err_set(err, PF_ERR_INPUT, "%s: entry %zu has no \"tag\" string", path, i);
        const char *t = tag->valuestring;
        const cJSON *when = cb_json_member(e, "when");
        if (!cJSON_IsNumber(when))
            return pf_err_set(err, PF_ERR_INPUT, "%s: entry %zu (tag %s) has no \"when\" number",
                              path, i, t);
        double w = when->valuedouble;
        if (!(w >= -MAX_SAFE_INTEGER && w <= MAX_SAFE_INTEGER))
            return pf_err_set(err, PF_ERR_INPUT,
                              "%s: entry %zu (tag %s): \"when\" %.15g is out of range", path, i, t,
                              w);
        if ((double)(int64_t)w != w)
            return pf_err_set(err, PF_ERR_INPUT,
                              "%s: entry %zu (tag %s): \"when\" %.15g is not a whole number of "
                              "milliseconds",
                              path, i, t, w);
        if (i == dup) {
            char *msg = cb_duplicate_tag_message(t);
            pf_err_set(err, PF_ERR_INPUT, "%s: entry %zu (also entry %zu): %s; hint: %s", path, i,
                       dup_of, msg, cb_duplicate_tag_hint);
            free(msg);
            return PF_ERR_INPUT;
        }
        char *name = pf_asprintf("%s.sql", t);
        char *file = cb_join(cb->dir, name);
        free(name);
        PfErrCode rc = check_file(path, i, t, file, err);
        if (rc != PF_OK) {
            free(file);
            return rc;
        }
        CbMigration *m = cb_push(cb, &cap);
        m->tag = pf_strdup(t);
        m->when = (int64_t)w;
        m->path = file;
        rc = cb_load(m, err);
        if (rc != PF_OK)
            return rc;
        if (cb->n > 1 && m->when <= cb->migrations[high].when)
            note_when(cb, &notes_cap, m, &cb->migrations[high]);
        else
            high = cb->n - 1;
        i++;
    }
    return PF_OK;
}

PfErrCode cb_read_journal(Codebase *cb, const char *path, PfErr *err)
{
    char *text;
    size_t len;
    PfErrCode rc = pf_read_file(path, &text, &len, err);
    if (rc != PF_OK)
        return rc;

    /* cJSON skips a byte order mark; drizzle's JSON.parse(readFileSync().toString()) fails. */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        rc = pf_err_set(err, PF_ERR_INPUT,
                        "%s:1:1: malformed JSON (a byte order mark, which drizzle-orm rejects)",
                        path);
        free(text);
        return rc;
    }

    /* The length includes pf_read_file's NUL so that cJSON can insist the text ends there
     * (JSON.parse rejects trailing garbage too); end then points at that NUL. */
    const char *end = NULL;
    size_t bad_at = 0;
    cJSON *root = NULL;
    if (!cb_json_strict(text, len, &bad_at)) {
        rc = syntax_error(path, text, len, text + bad_at, err);
        goto out;
    }
    root = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1);
    if (!root || end != text + len) {
        rc = syntax_error(path, text, len, end, err);
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        rc = pf_err_set(err, PF_ERR_INPUT, "%s: the journal is not a JSON object", path);
        goto out;
    }
    rc = check_dialect(path, root, err);
    if (rc != PF_OK)
        goto out;
    const cJSON *entries = cb_json_member(root, "entries");
    if (!cJSON_IsArray(entries)) {
        rc = pf_err_set(err, PF_ERR_INPUT, "%s: \"entries\" is missing or not an array", path);
        goto out;
    }
    rc = read_entries(cb, path, entries, err);
out:
    cJSON_Delete(root);
    free(text);
    return rc;
}
