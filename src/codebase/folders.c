/*
 * The drizzle-kit v1 layout: one <YYYYMMDDHHMMSS>_<name>/migration.sql folder per migration
 * and no journal. drizzle-orm keeps every subfolder that holds a migration.sql, sorts the
 * folder names with JavaScript's a.localeCompare(b) and takes `when` from Date.UTC of the
 * first 14 characters.
 */
#include "codebase/internal.h"

#include "core/mem.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define PREFIX_LEN 14

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

/* The subfolders in byte order: those that hold a migration.sql are the migrations, ordered
 * as drizzle orders them; a v1-named one without is ignored by drizzle-orm (a problem), a badly
 * named one is refused (drizzle derives no `when` from it) and kept apart for lint. The
 * top-level .sql files are in no migration folder: drizzle's v1 migrator never runs them. */
void cb_read_folders(CbReader *rd)
{
    const char *dir = rd->cb->dir;
    char **good = pf_calloc(rd->n_subdirs ? rd->n_subdirs : 1, sizeof *good);
    size_t n_good = 0;
    for (size_t i = 0; i < rd->n_subdirs; i++) {
        const char *name = rd->subdirs[i];
        char *sub = cb_join(dir, name);
        char *sql = cb_join(sub, "migration.sql");
        bool v1 = cb_folder_name_ok(name);
        struct stat st;
        PfErr e;
        int64_t when;
        if (stat(sql, &st) != 0) {
            if (v1)
                cb_problem(
                    rd, "v1-missing-sql", CB_PROBLEM_READ, sub, name, 0, 0,
                    pf_asprintf("%s has no migration.sql: drizzle-orm ignores the folder", name),
                    pf_strdup("restore migration.sql, or delete the folder if the migration was "
                              "abandoned"));
        } else if (!S_ISREG(st.st_mode)) {
            cb_problem(rd, "v1-missing-sql", CB_PROBLEM_REFUSED, sql, name, 0, 0,
                       pf_strdup("migration.sql is not a regular file"),
                       pf_strdup("make migration.sql a file holding the migration"));
        } else if (!v1) {
            cb_problem(rd, "v1-bad-name", CB_PROBLEM_REFUSED, sub, name, 0, 0,
                       pf_asprintf("%s is not named <YYYYMMDDHHMMSS>_<name>: drizzle-orm "
                                   "derives no timestamp from it",
                                   name),
                       pf_strdup("name the folder as drizzle-kit generate does, e.g. "
                                 "20250101120000_add_users"));
            cb_add(rd, name, 0, sql, true);
        } else {
            if (cb_folder_when(dir, name, &when, &e) != PF_OK) {
                /* The message repeats "<dir>/<name>: "; the problem names the folder already. */
                char *prefix = pf_asprintf("%s/%s: ", dir, name);
                const char *msg = e.msg;
                if (strncmp(msg, prefix, strlen(prefix)) == 0)
                    msg += strlen(prefix);
                cb_problem(rd, "v1-bad-name", CB_PROBLEM_REFUSED, sub, name, 0, 0,
                           pf_asprintf("%s: drizzle-orm derives no valid timestamp from it", msg),
                           pf_strdup("fix the 14-digit UTC timestamp at the start of the name"));
                free(prefix);
            }
            good[n_good++] = rd->subdirs[i];
        }
        free(sql);
        free(sub);
    }
    for (size_t i = 0; i < rd->n_sql; i++) {
        char *path = cb_join(dir, rd->sql[i]);
        char *stem = pf_strndup(rd->sql[i], strlen(rd->sql[i]) - 4);
        cb_problem(rd, "orphan-sql", CB_PROBLEM_READ, path, stem, 0, 0,
                   pf_asprintf("%s is not in a migration folder: drizzle-orm's v1 migrator never "
                               "runs it",
                               rd->sql[i]),
                   pf_strdup("move it to <YYYYMMDDHHMMSS>_<name>/migration.sql, as drizzle-kit "
                             "generate writes migrations"));
        free(stem);
        free(path);
    }
    if (n_good > 1)
        qsort(good, n_good, sizeof *good, cmp_folders);
    for (size_t i = 0; i < n_good; i++) {
        PfErr e;
        int64_t when = 0;
        cb_folder_when(dir, good[i], &when, &e); /* 0 for a date refused above */
        char *sub = cb_join(dir, good[i]);
        char *sql = cb_join(sub, "migration.sql");
        cb_add(rd, good[i], when, sql, false);
        free(sql);
        free(sub);
    }
    free(good);
}
