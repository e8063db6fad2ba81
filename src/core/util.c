/* Files, durations, clocks and globs. */
#include "core/util.h"

#include "core/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *file_kind(mode_t mode)
{
    return S_ISDIR(mode)    ? "a directory"
           : S_ISFIFO(mode) ? "a named pipe"
           : S_ISCHR(mode)  ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
           : S_ISSOCK(mode) ? "a socket"
                            : "not a file";
}

static PfErrCode too_large(const char *path, PfErr *err)
{
    return pf_err_set(err, PF_ERR_INPUT, "%s: too large: pgfleet reads files of at most %d MiB",
                      path, PF_READ_FILE_MAX >> 20);
}

PfErrCode pf_read_file(const char *path, char **out, size_t *len, PfErr *err)
{
    /* O_NONBLOCK: opening a named pipe must not wait for a writer (it is refused below). */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return pf_err_set(err, PF_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        pf_err_set(err, PF_ERR_IO, "%s: %s", path, strerror(errno));
        close(fd);
        return PF_ERR_IO;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return pf_err_set(err, PF_ERR_INPUT, "%s: not a regular file (it is %s)", path,
                          file_kind(st.st_mode));
    }
    if (st.st_size > PF_READ_FILE_MAX) {
        close(fd);
        return too_large(path, err);
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    /* The size is a hint: the file may grow or shrink while it is read. */
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *data = pf_malloc(cap + 1);
    for (;;) {
        if (n == cap) {
            if (cap > PF_READ_FILE_MAX) {
                free(data);
                close(fd);
                return too_large(path, err);
            }
            cap = cap * 2 > PF_READ_FILE_MAX + 1 ? PF_READ_FILE_MAX + 1 : cap * 2;
            data = pf_realloc(data, cap + 1);
        }
        ssize_t r = read(fd, data + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            pf_err_set(err, PF_ERR_IO, "%s: %s", path, strerror(errno));
            free(data);
            close(fd);
            return PF_ERR_IO;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (n > PF_READ_FILE_MAX) {
        free(data);
        return too_large(path, err);
    }
    data[n] = '\0';
    *out = data;
    if (len)
        *len = n;
    return PF_OK;
}

char *pf_tmp_beside(const char *path)
{
    return pf_asprintf("%s.tmp.%ld", path, (long)getpid());
}

PfErrCode pf_write_file_atomic(const char *path, const char *data, size_t len, PfErr *err)
{
    char *tmp = pf_tmp_beside(path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        pf_err_set(err, PF_ERR_IO, "%s: %s", path, strerror(errno));
        free(tmp);
        return PF_ERR_IO;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            pf_err_set(err, PF_ERR_IO, "%s: %s", path, strerror(errno));
            close(fd);
            unlink(tmp);
            free(tmp);
            return PF_ERR_IO;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        pf_err_set(err, PF_ERR_IO, "%s: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return PF_ERR_IO;
    }
    free(tmp);
    return PF_OK;
}

/* Where a chain of symbolic links from path ends when its last target does not exist yet (a
 * dangling link: the shell's > creates that target), or NULL when path is no link or the chain
 * is too long. Caller frees. */
static char *dangling_target(const char *path)
{
    char *at = pf_strdup(path);
    struct stat st;
    for (int depth = 0; depth < 40; depth++) {
        if (lstat(at, &st) != 0 || !S_ISLNK(st.st_mode)) {
            if (depth > 0)
                return at;
            free(at);
            return NULL;
        }
        char buf[4096];
        ssize_t n = readlink(at, buf, sizeof buf - 1);
        if (n < 0) {
            free(at);
            return NULL;
        }
        buf[n] = '\0';
        const char *slash = strrchr(at, '/');
        char *next = buf[0] == '/' || !slash ? pf_strdup(buf)
                                             : pf_asprintf("%.*s/%s", (int)(slash - at), at, buf);
        free(at);
        at = next;
    }
    free(at);
    return NULL;
}

char *pf_out_place(const char *path, bool *direct)
{
    struct stat st;
    *direct = stat(path, &st) == 0 && !S_ISREG(st.st_mode);
    char *real = *direct ? NULL : realpath(path, NULL); /* NULL when missing */
    if (!real && !*direct)
        real = dangling_target(path);
    char *place = pf_strdup(real ? real : path);
    free(real);
    return place;
}

/* data written to path as it is, opened with flags (O_APPEND, O_TRUNC). */
static PfErrCode write_in_place(const char *path, int flags, const char *data, size_t len,
                                PfErr *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | flags, 0644);
    if (fd < 0)
        return pf_err_set(err, PF_ERR_IO, "%s: %s", path, strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            pf_err_set(err, PF_ERR_IO, "%s: %s", path, strerror(errno));
            close(fd);
            return PF_ERR_IO;
        }
        off += (size_t)w;
    }
    if (close(fd) != 0)
        return pf_err_set(err, PF_ERR_IO, "%s: %s", path, strerror(errno));
    return PF_OK;
}

PfErrCode pf_write_output(const char *path, const char *doc, const char *what, PfErr *err)
{
    if (path && path[0] == '+')
        return write_in_place(path + 1, O_APPEND, doc, strlen(doc), err);
    if (path) {
        bool direct;
        char *place = pf_out_place(path, &direct);
        PfErrCode rc = direct ? write_in_place(place, O_TRUNC, doc, strlen(doc), err)
                              : pf_write_file_atomic(place, doc, strlen(doc), err);
        free(place);
        return rc;
    }
    fputs(doc, stdout);
    if (fflush(stdout) != 0)
        return pf_err_set(err, PF_ERR_IO, "writing %s to stdout failed", what);
    return PF_OK;
}

PfErrCode pf_out_open(PfOut *o, const char *path, PfErr *err)
{
    memset(o, 0, sizeof *o);
    o->path = path;
    if (!path) {
        o->f = stdout;
        return PF_OK;
    }
    bool direct;
    o->place = pf_out_place(path, &direct);
    if (!direct)
        o->tmp = pf_tmp_beside(o->place);
    o->f = fopen(direct ? o->place : o->tmp, "w");
    if (!o->f) {
        pf_err_set(err, PF_ERR_IO, "%s: %s", path, strerror(errno));
        free(o->tmp);
        free(o->place);
        memset(o, 0, sizeof *o);
        return PF_ERR_IO;
    }
    return PF_OK;
}

PfErrCode pf_out_close(PfOut *o, const char *what, PfErr *err)
{
    if (!o->place) {
        if (fflush(stdout) != 0 || ferror(stdout))
            return pf_err_set(err, PF_ERR_IO, "writing %s to stdout failed", what);
        return PF_OK;
    }
    /* A device or a pipe is not synced (fsync fails on them); a file is, before its rename. */
    bool ok = fflush(o->f) == 0 && !ferror(o->f) && (!o->tmp || fsync(fileno(o->f)) == 0);
    int saved = errno;
    ok = fclose(o->f) == 0 && ok;
    if (ok && o->tmp && rename(o->tmp, o->place) != 0) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        pf_err_set(err, PF_ERR_IO, "%s: %s", o->path, strerror(saved ? saved : EIO));
        if (o->tmp)
            unlink(o->tmp);
    }
    free(o->tmp);
    free(o->place);
    memset(o, 0, sizeof *o);
    return ok ? PF_OK : PF_ERR_IO;
}

bool pf_parse_duration_ms(const char *s, int64_t *ms)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return false;
    double mult;
    if (*end == '\0' || strcmp(end, "s") == 0)
        mult = 1000;
    else if (strcmp(end, "ms") == 0)
        mult = 1;
    else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
        mult = 60000;
    else if (strcmp(end, "h") == 0)
        mult = 3600000;
    else
        return false;
    double r = v * mult;
    if (r > 9.0e15)
        return false;
    *ms = (int64_t)(r + 0.5);
    return true;
}

int64_t pf_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void pf_utc_iso8601(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

bool pf_glob_match(const char *pattern, const char *name)
{
    return fnmatch(pattern, name, 0) == 0;
}

char *pf_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return pf_strdup(".");
    if (slash == path)
        return pf_strdup("/");
    return pf_strndup(path, (size_t)(slash - path));
}

char *pf_path_join(const char *dir, const char *rel)
{
    if (rel[0] == '/' || !dir || !*dir || strcmp(dir, ".") == 0)
        return pf_strdup(rel);
    return pf_asprintf("%s/%s", dir, rel);
}

int pf_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
