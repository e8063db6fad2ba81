/*
 * pg_dump before apply (backup.h): choosing the binary, the connection it gets, the file it
 * writes, and pruning the older ones.
 */
#define _GNU_SOURCE /* nftw's FTW_DEPTH and FTW_PHYS */
#include "backup/backup.h"

#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/proc.h"
#include "core/util.h"
#include "pg/dsn.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *backup_dir(const InvTarget *t, const char *override)
{
    if (t->settings.backup.when == INV_BACKUP_NEVER)
        return NULL;
    return override ? override : t->settings.backup.dir;
}

int backup_server_major(const char *server_version)
{
    return server_version ? atoi(server_version) : 0;
}

static const char *libdir(void)
{
    const char *d = getenv("PGFLEET_POSTGRESQL_LIBDIR");
    return d && *d ? d : BACKUP_LIBDIR_DEFAULT;
}

PfErrCode backup_find_tool(const char *tool, int major, char **path, PfErr *err)
{
    *path = NULL;
    const char *root = libdir();
    DIR *d = opendir(root);
    PfBuf found = PF_BUF_INIT;
    int best = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        char *end;
        long v = strtol(e->d_name, &end, 10);
        if (end == e->d_name || *end || v <= 0 || v > 1000)
            continue;
        char *bin = pf_asprintf("%s/%s/bin/%s", root, e->d_name, tool);
        if (access(bin, X_OK) == 0) {
            pf_buf_printf(&found, "%s%ld", found.len ? ", " : "", v);
            if (major > 0 ? v >= major && (!best || v < best) : v > best) {
                best = (int)v;
                free(*path);
                *path = bin;
                bin = NULL;
            }
        }
        free(bin);
    }
    if (d)
        closedir(d);
    PfErrCode rc = PF_OK;
    if (!*path)
        rc = pf_err_set(err, PF_ERR_INPUT,
                        "no %s for PostgreSQL %d or newer in %s (%s%s); hint: install "
                        "postgresql-client-%d, or set PGFLEET_POSTGRESQL_LIBDIR",
                        tool, major > 0 ? major : 0, root, found.len ? "it has: " : "none there",
                        found.len ? found.data : "", major > 0 ? major : 15);
    pf_buf_free(&found);
    return rc;
}

static bool overridden(const char *kw, const InvTarget *t, const char *hostaddr, const char *dbname)
{
    if (strcmp(kw, "password") == 0 || strcmp(kw, "application_name") == 0)
        return true;
    if (hostaddr && (strcmp(kw, "hostaddr") == 0 || strcmp(kw, "port") == 0))
        return true;
    if (dbname && strcmp(kw, "dbname") == 0)
        return true;
    if (t->settings.sslmode && strcmp(kw, "sslmode") == 0)
        return true;
    return t->settings.connect_timeout_ms > 0 && strcmp(kw, "connect_timeout") == 0;
}

static void put(PfBuf *b, const char *kw, const char *value)
{
    pf_buf_printf(b, "%s%s=", b->len ? " " : "", kw);
    pg_dsn_put_value(b, value);
}

PfErrCode backup_conninfo(const InvTarget *t, const char *hostaddr, int port, const char *dbname,
                          char **conninfo, char **password, PfErr *err)
{
    *conninfo = *password = NULL;
    PgDsnOption *opts;
    size_t n;
    if (!pg_dsn_options(t->dsn, &opts, &n))
        return pf_err_set(err, PF_ERR_INPUT, "%s: the dsn is not a connection string libpq reads",
                          t->name);
    if (pg_dsn_option(opts, n, "sslpassword")) {
        pg_dsn_options_free(opts, n);
        return pf_err_set(err, PF_ERR_INPUT,
                          "%s: the dsn has an sslpassword, which pg_dump could only be given on "
                          "its command line; hint: use a key without a passphrase for backups",
                          t->name);
    }
    PfBuf b = PF_BUF_INIT;
    for (size_t i = 0; i < n; i++)
        if (!overridden(opts[i].keyword, t, hostaddr, dbname))
            put(&b, opts[i].keyword, opts[i].value);
    if (dbname)
        put(&b, "dbname", dbname);
    put(&b, "application_name",
        t->settings.application_name ? t->settings.application_name : "pgfleet");
    if (t->settings.sslmode)
        put(&b, "sslmode", t->settings.sslmode);
    if (t->settings.connect_timeout_ms > 0) {
        char s[32];
        snprintf(s, sizeof s, "%lld", (long long)((t->settings.connect_timeout_ms + 999) / 1000));
        put(&b, "connect_timeout", s);
    }
    if (hostaddr) {
        char s[16];
        snprintf(s, sizeof s, "%d", port);
        put(&b, "hostaddr", hostaddr);
        put(&b, "port", s);
    }
    const char *pw = pg_dsn_option(opts, n, "password");
    *password = pw ? pf_strdup(pw) : NULL;
    *conninfo = pf_buf_take(&b);
    pg_dsn_options_free(opts, n);
    return PF_OK;
}

void backup_dump_clear(BackupDump *d)
{
    if (!d)
        return;
    free(d->path);
    free(d->tool);
    memset(d, 0, sizeof *d);
}

/* ---- files --------------------------------------------------------------------------------- */

static PfErrCode mkdir_p(const char *path, PfErr *err)
{
    char *p = pf_strdup(path);
    PfErrCode rc = PF_OK;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s)
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            rc = pf_err_set(err, PF_ERR_IO, "cannot create %s: %s", p, strerror(errno));
            break;
        }
        *s = c;
        if (!c)
            break;
    }
    struct stat st;
    if (rc == PF_OK && (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)))
        rc = pf_err_set(err, PF_ERR_IO, "cannot create %s: not a directory", path);
    free(p);
    return rc;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* rm -r, without following symbolic links. */
static int remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path);
    return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int64_t size_one_total;
static pthread_mutex_t size_mutex = PTHREAD_MUTEX_INITIALIZER;

static int size_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (flag == FTW_F)
        size_one_total += (int64_t)st->st_size;
    return 0;
}

/* A file's size, or a directory's files' sizes summed. */
static int64_t tree_size(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode))
        return (int64_t)st.st_size;
    /* nftw's callback has no argument of its own: one sum at a time. */
    pthread_mutex_lock(&size_mutex);
    size_one_total = 0;
    nftw(path, size_one, 16, FTW_PHYS);
    int64_t total = size_one_total;
    pthread_mutex_unlock(&size_mutex);
    return total;
}

char *backup_target_folder(const char *dir, const char *target)
{
    char *name = pf_strdup(target);
    for (char *p = name; *p; p++)
        if (*p == '/' || (p == name && *p == '.'))
            *p = '_';
    char *out = pf_asprintf("%s/%s", dir, name);
    free(name);
    return out;
}

static bool is_dump_name(const char *name)
{
    size_t len = strlen(name);
    return name[0] != '.' && len > 5 && strcmp(name + len - 5, ".dump") == 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int backup_prune(const char *folder, int keep, const char *target)
{
    if (keep <= 0)
        return 0;
    DIR *d = opendir(folder);
    if (!d)
        return 0;
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!is_dump_name(e->d_name))
            continue;
        PF_GROW(names, cap, n + 1);
        names[n++] = pf_strdup(e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_names);
    int removed = 0;
    for (size_t i = 0; i < n; i++) {
        if (i + (size_t)keep < n) {
            char *path = pf_asprintf("%s/%s", folder, names[i]);
            if (remove_tree(path) == 0) {
                removed++;
                pf_log(PF_LOG_INFO, target, "backup.keep %d: removed %s", keep, path);
            } else {
                pf_log(PF_LOG_WARN, target, "backup.keep %d: cannot remove %s: %s", keep, path,
                       strerror(errno));
            }
            free(path);
        }
        free(names[i]);
    }
    free(names);
    return removed;
}

/* ---- the dump ------------------------------------------------------------------------------ */

/* "20261201T101500Z": the UTC time of the file name. */
static void name_time(char out[32])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 32, "%Y%m%dT%H%M%SZ", &tm);
}

/* The ledger head as a file-name part: letters, digits, '-', '_' and '.' kept. */
static char *name_head(const char *head)
{
    char *s = pf_strdup(head ? head : "empty");
    for (char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            *p = '_';
    return s;
}

/* pg_dump's message: its first "error:" line (the cause; "detail:" lines follow it), else its
 * last line, with the password scrubbed. */
static char *dump_message(const PfProcResult *r, const char *dsn)
{
    const char *e = strstr(r->err, "error: ");
    char *line;
    if (e) {
        const char *start = e;
        while (start > r->err && start[-1] != '\n')
            start--;
        const char *end = strchr(e, '\n');
        line = end ? pf_strndup(start, (size_t)(end - start)) : pf_strdup(start);
    } else {
        line = pf_proc_last_line(r->err);
    }
    if (!*line) {
        free(line);
        line = r->signal ? pf_asprintf("pg_dump was ended by signal %d", r->signal)
                         : pf_asprintf("pg_dump exited with status %d", r->exit_code);
    }
    char *clean = inv_dsn_scrub(line, dsn);
    free(line);
    return clean;
}

/* --schema="name": quoted, so that it names the schema rather than a pattern. */
static char *schema_arg(const char *schema)
{
    PfBuf q = PF_BUF_INIT;
    pf_buf_puts(&q, "--schema=\"");
    for (const char *p = schema; *p; p++) {
        if (*p == '"')
            pf_buf_putc(&q, '"');
        pf_buf_putc(&q, *p);
    }
    pf_buf_putc(&q, '"');
    return pf_buf_take(&q);
}

PfErrCode backup_run(const BackupRequest *req, BackupDump *out, PfErr *err)
{
    memset(out, 0, sizeof *out);
    const InvTarget *t = req->target;
    const InvBackup *b = &t->settings.backup;
    int major = backup_server_major(req->server_version);
    char *tool = NULL;
    if (backup_find_tool("pg_dump", major, &tool, err) != PF_OK)
        return err->code;
    char *conninfo = NULL, *password = NULL;
    if (backup_conninfo(t, req->hostaddr, req->port, NULL, &conninfo, &password, err) != PF_OK) {
        free(tool);
        return err->code;
    }
    char *folder = backup_target_folder(req->dir, t->name);
    PfErrCode rc = mkdir_p(folder, err);
    char *path = NULL, *tmp = NULL;
    if (rc == PF_OK) {
        char when[32];
        name_time(when);
        char *head = name_head(req->head);
        for (int i = 1; !path || access(path, F_OK) == 0; i++) {
            free(path);
            path = i == 1 ? pf_asprintf("%s/%s-%s.dump", folder, when, head)
                          : pf_asprintf("%s/%s-%s-%d.dump", folder, when, head, i);
        }
        const char *base = strrchr(path, '/') + 1;
        tmp = pf_asprintf("%s/.%s.partial", folder, base);
        free(head);
        remove_tree(tmp);
    }
    PfProcResult pr = {0};
    int64_t t0 = pf_now_ms();
    if (rc == PF_OK) {
        const bool directory = b->format == INV_BACKUP_DIRECTORY;
        const char *argv[16];
        size_t n = 0;
        char *file = pf_asprintf("--file=%s", tmp);
        char *jobs = directory && b->jobs > 1 ? pf_asprintf("--jobs=%d", b->jobs) : NULL;
        char *schema = NULL, *ledger = NULL;
        if (t->tenant_schema) {
            schema = schema_arg(t->tenant_schema);
            if (strcmp(t->schema, t->tenant_schema) != 0)
                ledger = schema_arg(t->schema);
        }
        char *dbname = pf_asprintf("--dbname=%s", conninfo);
        argv[n++] = tool;
        argv[n++] = directory ? "--format=directory" : "--format=custom";
        argv[n++] = file;
        argv[n++] = "--no-password";
        if (jobs)
            argv[n++] = jobs;
        if (schema)
            argv[n++] = schema;
        if (ledger)
            argv[n++] = ledger;
        argv[n++] = dbname;
        argv[n] = NULL;
        char *pwenv = password ? pf_asprintf("PGPASSWORD=%s", password) : NULL;
        const char *env[] = {pwenv, NULL};
        pf_log(PF_LOG_INFO, t->name, "backup: %s into %s", tool, path);
        rc = pf_proc_run(argv, pwenv ? env : NULL, req->interrupted, &pr, err);
        if (pwenv) {
            memset(pwenv, 0, strlen(pwenv));
            free(pwenv);
        }
        if (rc == PF_OK && (pr.exit_code != 0 || pr.interrupted)) {
            char *msg = dump_message(&pr, t->dsn);
            rc = pf_err_set(err, PF_ERR_IO, "%s%s", pr.interrupted ? "interrupted: " : "", msg);
            free(msg);
        }
        free(file);
        free(jobs);
        free(schema);
        free(ledger);
        free(dbname);
    }
    out->duration_ms = pf_now_ms() - t0;
    if (rc == PF_OK && rename(tmp, path) != 0)
        rc = pf_err_set(err, PF_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (rc != PF_OK && tmp)
        remove_tree(tmp);
    if (rc == PF_OK) {
        out->path = path;
        path = NULL;
        out->tool = tool;
        tool = NULL;
        out->format = b->format == INV_BACKUP_DIRECTORY ? "directory" : "custom";
        out->bytes = tree_size(out->path);
        out->pruned = backup_prune(folder, b->keep, t->name);
    }
    pf_proc_result_clear(&pr);
    if (password) {
        memset(password, 0, strlen(password));
        free(password);
    }
    free(conninfo);
    free(folder);
    free(path);
    free(tmp);
    free(tool);
    return rc;
}
