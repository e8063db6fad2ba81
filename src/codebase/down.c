/* Down migrations (down.h): where they are, reading them as migrations are read, orphans. */
#include "codebase/down.h"

#include "codebase/internal.h"
#include "core/mem.h"
#include "core/util.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *cb_down_path(const Codebase *cb, size_t i)
{
    const char *tag = cb->migrations[i].tag;
    return cb->layout == CB_LAYOUT_FOLDERS ? pf_asprintf("%s/%s/down.sql", cb->dir, tag)
                                           : pf_asprintf("%s/down/%s.sql", cb->dir, tag);
}

PfErrCode cb_downs_read(const Codebase *cb, CbDown **out, PfErr *err)
{
    CbDown *d = pf_calloc(cb->n ? cb->n : 1, sizeof *d);
    for (size_t i = 0; i < cb->n; i++) {
        d[i].path = cb_down_path(cb, i);
        struct stat st;
        if (stat(d[i].path, &st) != 0 && errno == ENOENT)
            continue;
        CbMigration m = {.path = d[i].path};
        PfErrCode rc = cb_load(&m, err);
        if (rc != PF_OK) {
            free(m.sql);
            for (size_t k = 0; k < m.n_chunks; k++)
                free(m.chunks[k]);
            free(m.chunks);
            cb_downs_free(d, cb->n);
            *out = NULL;
            return rc;
        }
        d[i].present = true;
        memcpy(d[i].hash, m.hash, sizeof d[i].hash);
        d[i].sql = m.sql;
        d[i].sql_len = m.sql_len;
        d[i].chunks = m.chunks;
        d[i].n_chunks = m.n_chunks;
    }
    *out = d;
    return PF_OK;
}

void cb_downs_free(CbDown *d, size_t n)
{
    if (!d)
        return;
    for (size_t i = 0; i < n; i++) {
        free(d[i].path);
        free(d[i].sql);
        for (size_t k = 0; k < d[i].n_chunks; k++)
            free(d[i].chunks[k]);
        free(d[i].chunks);
    }
    free(d);
}

static bool has_tag(const Codebase *cb, const char *tag, size_t len)
{
    for (size_t i = 0; i < cb->n; i++)
        if (strlen(cb->migrations[i].tag) == len && strncmp(cb->migrations[i].tag, tag, len) == 0)
            return true;
    return false;
}

static int cmp_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void cb_down_orphans(const Codebase *cb, char ***paths, size_t *n)
{
    *paths = NULL;
    *n = 0;
    size_t cap = 0;
    bool folders = cb->layout == CB_LAYOUT_FOLDERS;
    char *where = folders ? pf_strdup(cb->dir) : pf_asprintf("%s/down", cb->dir);
    DIR *d = opendir(where);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        const char *name = e->d_name;
        size_t len = strlen(name);
        char *path = NULL;
        if (folders) {
            if (name[0] == '.' || has_tag(cb, name, len))
                continue;
            path = pf_asprintf("%s/%s/down.sql", where, name);
            if (access(path, F_OK) != 0) {
                free(path);
                continue;
            }
        } else {
            if (len <= 4 || strcmp(name + len - 4, ".sql") != 0 || has_tag(cb, name, len - 4))
                continue;
            path = pf_asprintf("%s/%s", where, name);
        }
        PF_GROW(*paths, cap, *n + 1);
        (*paths)[(*n)++] = path;
    }
    if (d)
        closedir(d);
    free(where);
    if (*n)
        qsort(*paths, *n, sizeof **paths, cmp_paths);
}
