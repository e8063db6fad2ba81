/* The codebase's revision (revision.h): git describe, else a hash of what the folder says. */
#include "codebase/revision.h"

#include "core/buf.h"
#include "core/mem.h"
#include "core/proc.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

/* git describe, started; *git's pid is 0 when it cannot be (git is not there). */
static void git_describe_start(const char *dir, PfProc *git)
{
    const char *argv[] = {"git", "-C", dir, "describe", "--tags", "--always", "--dirty", NULL};
    const char *env[] = {"GIT_OPTIONAL_LOCKS=0", "LC_ALL=C", NULL};
    PfErr err;
    pf_proc_start(argv, env, git, &err);
}

/* Its one line, or NULL when the folder is not in a git checkout. */
static char *git_describe_finish(PfProc *git)
{
    PfProcResult r;
    pf_proc_wait(git, NULL, &r);
    char *line = r.exit_code == 0 ? pf_proc_last_line(r.out) : NULL;
    pf_proc_result_clear(&r);
    if (line && (!*line || strchr(line, '\n'))) {
        free(line);
        line = NULL;
    }
    return line;
}

void cb_revision_start(const Codebase *cb, CbRevisionAsk *ask)
{
    ask->cb = cb;
    git_describe_start(cb->dir, &ask->git); /* its pid stays 0 when it cannot start */
}

void cb_revision_finish(CbRevisionAsk *ask, CbRevision *out)
{
    memset(out, 0, sizeof *out);
    const Codebase *cb = ask->cb;
    if (ask->git.pid > 0) /* started, and not yet waited for (the wait clears it) */
        out->id = git_describe_finish(&ask->git);
    if (out->id) {
        out->source = "git";
        return;
    }
    char hex[65];
    char *journal = NULL;
    size_t len = 0;
    PfErr err;
    char *path = pf_path_join(cb->dir, "meta/_journal.json");
    if (cb->layout == CB_LAYOUT_JOURNAL && pf_read_file(path, &journal, &len, &err) == PF_OK) {
        cb_sha256_hex(journal, len, hex);
        out->source = "journal";
    } else {
        PfBuf b = PF_BUF_INIT;
        for (size_t i = 0; i < cb->n; i++)
            pf_buf_printf(&b, "%s %s\n", cb->migrations[i].tag, cb->migrations[i].hash);
        cb_sha256_hex(b.data ? b.data : "", b.len, hex);
        pf_buf_free(&b);
        out->source = "migrations";
    }
    free(journal);
    free(path);
    out->id = pf_asprintf("sha256:%s", hex);
}

void cb_revision_clear(CbRevision *r)
{
    if (!r)
        return;
    free(r->id);
    memset(r, 0, sizeof *r);
}
