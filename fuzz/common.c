/*
 * Scratch files and the folder builder of the harnesses (common.h).
 */
#include "common.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_NAME 64

static char scratch[4096];
static unsigned long serial;

static void die(const char *what, const char *path)
{
    fprintf(stderr, "fuzz: %s %s: %s\n", what, path, strerror(errno));
    abort();
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void fz_rmtree(const char *path)
{
    nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void remove_scratch(void)
{
    if (scratch[0])
        fz_rmtree(scratch);
}

const char *fz_scratch(void)
{
    if (scratch[0])
        return scratch;
    /* Memory rather than disk where there is some: the folder harnesses write on every run. */
    const char *parent = getenv("FUZZ_SCRATCH");
    if (!parent || !*parent)
        parent = access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/pgfleet-fuzz.XXXXXX",
             parent && *parent ? parent : "/tmp");
    if (!mkdtemp(scratch))
        die("cannot make", scratch);
    atexit(remove_scratch);
    return scratch;
}

void fz_write(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        die("cannot write", path);
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0)
            die("cannot write", path);
        p += w;
        len -= (size_t)w;
    }
    close(fd);
}

char *fz_strndup(const uint8_t *data, size_t len)
{
    char *s = malloc(len + 1);
    if (!s)
        abort();
    if (len)
        memcpy(s, data, len);
    s[len] = '\0';
    return s;
}

size_t fz_sections(const uint8_t *data, size_t size, const uint8_t **starts, size_t *lens,
                   size_t max)
{
    const size_t sep_len = strlen(FZ_SEPARATOR);
    size_t n = 0;
    while (n + 1 < max) {
        const uint8_t *sep = memmem(data, size, FZ_SEPARATOR, sep_len);
        if (!sep)
            break;
        starts[n] = data;
        lens[n++] = (size_t)(sep - data);
        size -= (size_t)(sep - data) + sep_len;
        data = sep + sep_len;
    }
    starts[n] = data;
    lens[n++] = size;
    return n;
}

static bool name_ok(const uint8_t *s, size_t len)
{
    if (len == 0 || len > MAX_NAME || memchr(s, '/', len) || memchr(s, '\0', len))
        return false;
    return !(len == 1 && s[0] == '.') && !(len == 2 && s[0] == '.' && s[1] == '.');
}

static void join(char *out, size_t cap, const char *dir, const char *name)
{
    if ((size_t)snprintf(out, cap, "%s/%s", dir, name) >= cap) {
        fprintf(stderr, "fuzz: path too long: %s/%s\n", dir, name);
        abort();
    }
}

static void make_dir(const char *path)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        die("cannot make", path);
}

bool fz_folder_journal(const uint8_t *data, size_t size, const uint8_t **text, size_t *len)
{
    if (size == 0 || !(data[0] & FZ_JOURNAL))
        return false;
    const uint8_t *starts[2];
    size_t lens[2];
    fz_sections(data + 1, size - 1, starts, lens, 2);
    *text = starts[0];
    *len = lens[0];
    return true;
}

char *fz_folder(const uint8_t *data, size_t size)
{
    char dir[4096], path[4096 + 2 * MAX_NAME];
    snprintf(dir, sizeof dir, "%s/drizzle-%lu", fz_scratch(), serial++);
    fz_rmtree(dir);
    make_dir(dir);
    uint8_t flags = size ? data[0] : 0;
    if (size) {
        data++;
        size--;
    }
    const uint8_t *starts[FZ_MAX_SECTIONS];
    size_t lens[FZ_MAX_SECTIONS];
    size_t n = fz_sections(data, size, starts, lens, FZ_MAX_SECTIONS);
    size_t first = 0;

    join(path, sizeof path, dir, "meta");
    if (flags & FZ_JOURNAL) {
        make_dir(path);
        join(path, sizeof path, dir, "meta/_journal.json");
        fz_write(path, starts[0], lens[0]);
        first = 1;
    }

    char journal[512 * FZ_MAX_SECTIONS + 128];
    size_t listed = 0;
    size_t jlen = (size_t)snprintf(journal, sizeof journal,
                                   "{\"version\":\"7\",\"dialect\":\"postgresql\",\"entries\":[");
    for (size_t i = first; i < n; i++) {
        const uint8_t *body = starts[i];
        size_t body_len = lens[i];
        char name[MAX_NAME + 1];
        size_t k = i - first;
        if (flags & FZ_V1)
            snprintf(name, sizeof name, "20250101%02zu%02zu00_m%zu", k / 60, k % 60, k);
        else
            snprintf(name, sizeof name, "%04zu_m%zu", k, k);
        if (flags & FZ_NAMED) {
            const uint8_t *nl = memchr(body, '\n', body_len);
            size_t name_len = nl ? (size_t)(nl - body) : body_len;
            if (name_ok(body, name_len)) {
                memcpy(name, body, name_len);
                name[name_len] = '\0';
            }
            body_len -= name_len + (nl != NULL);
            body += name_len + (nl != NULL);
        }
        if (flags & FZ_V1) {
            join(path, sizeof path, dir, name);
            make_dir(path);
            join(path, sizeof path, dir, name);
            strcat(path, "/migration.sql");
        } else {
            char file[MAX_NAME + 8];
            snprintf(file, sizeof file, "%s.sql", name);
            join(path, sizeof path, dir, file);
        }
        /* A name that is a folder already (meta, or the same name twice in v1) stays one. */
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            continue;
        fz_write(path, body, body_len);
        if (!(flags & (FZ_JOURNAL | FZ_V1))) {
            /* The name is JSON-safe only when made up or plain: escape the rest. */
            jlen += (size_t)snprintf(journal + jlen, sizeof journal - jlen,
                                     "%s{\"idx\":%zu,\"version\":\"7\",\"when\":%lld,\"tag\":\"",
                                     listed++ ? "," : "", k, 1735689600000LL + (long long)k * 1000);
            for (const char *c = name; *c; c++)
                jlen += (size_t)snprintf(
                    journal + jlen, sizeof journal - jlen,
                    (unsigned char)*c < 0x20 || *c == '"' || *c == '\\' ? "\\u%04x" : "%c",
                    (unsigned char)*c);
            jlen +=
                (size_t)snprintf(journal + jlen, sizeof journal - jlen, "\",\"breakpoints\":true}");
        }
    }
    if (!(flags & (FZ_JOURNAL | FZ_V1))) {
        jlen += (size_t)snprintf(journal + jlen, sizeof journal - jlen, "]}");
        join(path, sizeof path, dir, "meta");
        make_dir(path);
        join(path, sizeof path, dir, "meta/_journal.json");
        fz_write(path, journal, jlen);
    }
    char *out = strdup(dir);
    if (!out)
        abort();
    return out;
}

/* ---- strict JSON ---------------------------------------------------------------------------- */

typedef struct Json {
    const uint8_t *s;
    size_t len, i;
    bool deep; /* nested past FZ_JSON_DEPTH: not judged */
} Json;

static void json_ws(Json *j)
{
    while (j->i < j->len &&
           (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' || j->s[j->i] == '\r'))
        j->i++;
}

static bool json_lit(Json *j, const char *word)
{
    size_t n = strlen(word);
    if (j->len - j->i < n || memcmp(j->s + j->i, word, n) != 0)
        return false;
    j->i += n;
    return true;
}

static bool json_digits(Json *j)
{
    size_t start = j->i;
    while (j->i < j->len && j->s[j->i] >= '0' && j->s[j->i] <= '9')
        j->i++;
    return j->i > start;
}

static bool json_number(Json *j)
{
    if (j->i < j->len && j->s[j->i] == '-')
        j->i++;
    if (j->i < j->len && j->s[j->i] == '0')
        j->i++;
    else if (!(j->i < j->len && j->s[j->i] >= '1' && j->s[j->i] <= '9') || !json_digits(j))
        return false;
    if (j->i < j->len && j->s[j->i] == '.') {
        j->i++;
        if (!json_digits(j))
            return false;
    }
    if (j->i < j->len && (j->s[j->i] == 'e' || j->s[j->i] == 'E')) {
        j->i++;
        if (j->i < j->len && (j->s[j->i] == '+' || j->s[j->i] == '-'))
            j->i++;
        if (!json_digits(j))
            return false;
    }
    return true;
}

static bool json_string(Json *j)
{
    j->i++; /* '"' */
    while (j->i < j->len) {
        uint8_t c = j->s[j->i++];
        if (c == '"')
            return true;
        if (c < 0x20)
            return false;
        if (c != '\\')
            continue;
        if (j->i >= j->len)
            return false;
        c = j->s[j->i++];
        if (c == 'u') {
            for (int k = 0; k < 4; k++, j->i++)
                if (j->i >= j->len || !isxdigit(j->s[j->i]))
                    return false;
        } else if (!strchr("\"\\/bfnrt", c) || c == '\0') {
            return false;
        }
    }
    return false;
}

static bool json_value(Json *j, int depth)
{
    json_ws(j);
    if (j->i >= j->len)
        return false;
    uint8_t c = j->s[j->i];
    if (c == '{' || c == '[') {
        if (depth >= FZ_JSON_DEPTH) {
            j->deep = true;
            return false;
        }
        uint8_t close = c == '{' ? '}' : ']';
        j->i++;
        json_ws(j);
        if (j->i < j->len && j->s[j->i] == close) {
            j->i++;
            return true;
        }
        for (;;) {
            if (c == '{') {
                json_ws(j);
                if (j->i >= j->len || j->s[j->i] != '"' || !json_string(j))
                    return false;
                json_ws(j);
                if (j->i >= j->len || j->s[j->i++] != ':')
                    return false;
            }
            if (!json_value(j, depth + 1))
                return false;
            json_ws(j);
            if (j->i >= j->len)
                return false;
            uint8_t next = j->s[j->i++];
            if (next == close)
                return true;
            if (next != ',')
                return false;
        }
    }
    if (c == '"')
        return json_string(j);
    if (c == '-' || (c >= '0' && c <= '9'))
        return json_number(j);
    return json_lit(j, "true") || json_lit(j, "false") || json_lit(j, "null");
}

bool fz_json_strict(const uint8_t *text, size_t len)
{
    Json j = {text, len, 0, false};
    bool ok = json_value(&j, 0);
    json_ws(&j);
    return j.deep || (ok && j.i == len);
}
