/*
 * The drizzle-kit v1 layout: one <YYYYMMDDHHMMSS>_<name>/migration.sql folder per migration
 * and no journal. drizzle-orm keeps every subfolder that holds a migration.sql, sorts the
 * folder names with JavaScript's a.localeCompare(b) and takes `when` from Date.UTC of the
 * first 14 characters.
 */
#include "codebase/internal.h"

#include "core/mem.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define PREFIX_LEN 14

static int cmp_bytes(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

PfErrCode cb_scan_folders(const char *dir, char ***names, size_t *n, PfErr *err)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return pf_err_set(err, PF_ERR_IO, "%s: %s", dir, strerror(errno));
    char **out = NULL;
    size_t count = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        /* As drizzle's existsSync(join(dir, name, "migration.sql")): anything that exists
         * (through symlinks) counts, and plain files fail the test on their own. */
        char *sub = cb_join(dir, de->d_name);
        char *sql = cb_join(sub, "migration.sql");
        struct stat st;
        bool found = stat(sql, &st) == 0;
        free(sql);
        free(sub);
        if (!found)
            continue;
        PF_GROW(out, cap, count + 1);
        out[count++] = pf_strdup(de->d_name);
    }
    closedir(d);
    /* readdir's order is arbitrary: sort so that errors and ties are reproducible. */
    if (count > 1)
        qsort(out, count, sizeof *out, cmp_bytes);
    *names = out;
    *n = count;
    return PF_OK;
}

bool cb_folder_name_ok(const char *name)
{
    for (int i = 0; i < PREFIX_LEN; i++) {
        if (name[i] < '0' || name[i] > '9')
            return false;
    }
    return name[PREFIX_LEN] == '_';
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

PfErrCode cb_folder_when(const char *dir, const char *name, int64_t *when, PfErr *err)
{
    int year = digits(name, 4), month = digits(name + 4, 2), day = digits(name + 6, 2);
    int hour = digits(name + 8, 2), minute = digits(name + 10, 2), second = digits(name + 12, 2);
    const struct {
        const char *field;
        int value, min, max;
    } range[] = {
        {"year", year, 1970, 9999},
        {"month", month, 1, 12},
        {"day", day, 1, month >= 1 && month <= 12 ? days_in_month(year, month) : 31},
        {"hour", hour, 0, 23},
        {"minute", minute, 0, 59},
        {"second", second, 0, 59},
    };

    /* Date.UTC would roll an out-of-range field over into the next one (month 13 is January
     * of the next year) and read years 0-99 as 1900-1999: refuse rather than guess. Years
     * before 1970 would give a negative `when`, which drizzle-kit never writes. */
    for (size_t i = 0; i < sizeof range / sizeof range[0]; i++) {
        if (range[i].value < range[i].min || range[i].value > range[i].max)
            return pf_err_set(err, PF_ERR_INPUT,
                              "%s/%s: invalid timestamp prefix %.14s (%s %d out of range)", dir,
                              name, name, range[i].field, range[i].value);
    }

    struct tm tm = {0};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    *when = (int64_t)timegm(&tm) * 1000;
    return PF_OK;
}

/*
 * ICU root collation (what Node's localeCompare uses with the default locale), restricted to
 * ASCII. Characters in primary order, letters case-folded; a control character not listed
 * here is completely ignorable. Read off real Node 20 / ICU 78:
 *   [...all printable ASCII].sort((x, y) => x.localeCompare(y))
 */
static const char primary_order[] = "\t\n\v\f\r _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$"
                                    "0123456789abcdefghijklmnopqrstuvwxyz";

/* Primary weight of a byte, 0 for an ignorable one. Bytes of non-ASCII characters are
 * weighted after every ASCII character, in byte order: an approximation (ICU would, for
 * instance, put "é" with "e"), see cb_folder_cmp. */
static int primary(unsigned char c)
{
    if (c >= 0x80)
        return 0x100 + c;
    if (c >= 'A' && c <= 'Z')
        c = (unsigned char)(c - 'A' + 'a');
    const char *p = c ? strchr(primary_order, c) : NULL;
    return p ? (int)(p - primary_order) + 1 : 0;
}

/* Next non-ignorable byte of s at or after *i (advancing *i), or 0 at the end. */
static unsigned char next_weighted(const char *s, size_t *i)
{
    while (s[*i] && primary((unsigned char)s[*i]) == 0)
        (*i)++;
    return (unsigned char)s[*i];
}

/*
 * Two-level comparison as ICU does it: first the primary weights of the whole strings (case
 * ignored, punctuation before digits before letters, a proper prefix first); only when those
 * are all equal, the case of the first position where they differ, lowercase before
 * uppercase ("a" < "A", "aB" < "Ab"). ASCII has no secondary (accent) differences.
 */
static int collate(const char *a, const char *b)
{
    size_t i = 0, j = 0;
    for (;;) {
        unsigned char ca = next_weighted(a, &i), cb = next_weighted(b, &j);
        if (!ca || !cb) {
            if (ca != cb)
                return ca ? 1 : -1;
            break;
        }
        int wa = primary(ca), wb = primary(cb);
        if (wa != wb)
            return wa < wb ? -1 : 1;
        i++;
        j++;
    }
    i = j = 0;
    for (;;) {
        unsigned char ca = next_weighted(a, &i), cb = next_weighted(b, &j);
        if (!ca)
            return 0;
        bool ua = ca >= 'A' && ca <= 'Z', ub = cb >= 'A' && cb <= 'Z';
        if (ua != ub)
            return ua ? 1 : -1;
        i++;
        j++;
    }
}

/*
 * drizzle sorts v1 folder names with a.localeCompare(b), i.e. ICU root collation. Both names
 * start with 14 digits, which collate in byte order, so the prefix decides first; only names
 * of the same second reach collate(). This matches localeCompare exactly for the names
 * drizzle-kit generates (lowercase letters, digits, underscores) and for any printable ASCII
 * (checked against Node: see tests/unit/test_codebase.c); names with non-ASCII characters are
 * ordered approximately. Names ICU finds equal (they differ only in ignorable control
 * characters) fall back to byte order, where drizzle would keep readdir's order.
 */
int cb_folder_cmp(const char *a, const char *b)
{
    int c = memcmp(a, b, PREFIX_LEN);
    if (c != 0)
        return c < 0 ? -1 : 1;
    c = collate(a + PREFIX_LEN, b + PREFIX_LEN);
    if (c != 0)
        return c;
    c = strcmp(a, b);
    return c < 0 ? -1 : c > 0;
}

static int cmp_folders(const void *a, const void *b)
{
    return cb_folder_cmp(*(char *const *)a, *(char *const *)b);
}

PfErrCode cb_read_folders(Codebase *cb, char **names, size_t n, PfErr *err)
{
    /* Validate every name before reading any file; names come in byte order. */
    for (size_t i = 0; i < n; i++) {
        int64_t when;
        if (!cb_folder_name_ok(names[i]))
            return pf_err_set(err, PF_ERR_INPUT,
                              "%s/%s: migration folder name is not <YYYYMMDDHHMMSS>_<name>; "
                              "drizzle-orm would derive no valid timestamp from it",
                              cb->dir, names[i]);
        PfErrCode rc = cb_folder_when(cb->dir, names[i], &when, err);
        if (rc != PF_OK)
            return rc;
    }

    qsort(names, n, sizeof *names, cmp_folders);
    size_t cap = 0;
    for (size_t i = 0; i < n; i++) {
        CbMigration *m = cb_push(cb, &cap);
        m->tag = pf_strdup(names[i]);
        /* Cannot fail: validated above. */
        cb_folder_when(cb->dir, names[i], &m->when, err);
        char *sub = cb_join(cb->dir, names[i]);
        m->path = cb_join(sub, "migration.sql");
        free(sub);
        struct stat st;
        if (stat(m->path, &st) == 0 && !S_ISREG(st.st_mode))
            return pf_err_set(err, PF_ERR_INPUT, "%s: not a regular file", m->path);
        PfErrCode rc = cb_load(m, err);
        if (rc != PF_OK)
            return rc;
    }
    return PF_OK;
}
