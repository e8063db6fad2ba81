/* --report-dir: each run's JSON report kept under a name that sorts by time. */
#include "report/history.h"

#include "core/mem.h"
#include "core/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

PfErrCode report_history_prepare(const char *dir, PfErr *err)
{
    if (!*dir)
        return pf_err_set(err, PF_ERR_IO, "--report-dir: an empty path");
    /* mkdir -p: each prefix ending before a '/', then the whole path. */
    char *path = pf_strdup(dir);
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            pf_err_set(err, PF_ERR_IO, "%s: cannot create the report directory: %s", path,
                       strerror(errno));
            free(path);
            return PF_ERR_IO;
        }
        *p = saved;
        if (!saved)
            break;
    }
    free(path);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return pf_err_set(err, PF_ERR_IO, "%s: not a directory", dir);
    if (access(dir, W_OK | X_OK) != 0)
        return pf_err_set(err, PF_ERR_IO, "%s: cannot write in the report directory: %s", dir,
                          strerror(errno));
    return PF_OK;
}

char *report_history_name(const char *command, const char *started_at, long pid)
{
    /* "2026-11-22T18:43:20Z" -> "20261122T184320Z": digits, the T and the Z kept. */
    char stamp[32];
    size_t n = 0;
    for (const char *p = started_at; *p && n + 1 < sizeof stamp; p++)
        if ((*p >= '0' && *p <= '9') || *p == 'T' || *p == 'Z')
            stamp[n++] = *p;
    stamp[n] = '\0';
    return pf_asprintf("pgfleet-%s-%s-%ld.json", command, stamp, pid);
}

PfErrCode report_history_keep(const ReportContext *ctx, const char *dir, char **path_out,
                              PfErr *err)
{
    char *name = report_history_name(fleet_mode_name(ctx->result->mode), ctx->result->started_at,
                                     (long)getpid());
    char *path = pf_path_join(dir, name);
    free(name);
    PfOut o;
    PfErrCode rc = pf_out_open(&o, path, err);
    if (rc == PF_OK) {
        report_json_stream(ctx, o.f);
        rc = pf_out_close(&o, "the report", err);
    }
    if (rc == PF_OK && path_out)
        *path_out = path;
    else
        free(path);
    return rc;
}
