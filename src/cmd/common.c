/* Inventory loading, target selection and output checks shared by the subcommands. */
#include "cmd/common.h"

#include "core/mem.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void cmd_selection_add_glob(CmdSelection *s, const char *glob)
{
    s->globs = pf_realloc(s->globs, (s->n_globs + 1) * sizeof *s->globs);
    s->globs[s->n_globs++] = glob;
}

void cmd_selection_add_selector(CmdSelection *s, const char *sel)
{
    s->selectors = pf_realloc(s->selectors, (s->n_selectors + 1) * sizeof *s->selectors);
    s->selectors[s->n_selectors++] = sel;
}

void cmd_selection_free(CmdSelection *s)
{
    free(s->globs);
    free(s->selectors);
}

void cmd_error(const PfErr *err)
{
    fprintf(stderr, "pgfleet: %s\n", err->msg);
}

Inventory *cmd_load_selection(const CmdSelection *s, size_t **idx, size_t *n_idx)
{
    PluginHost *host = NULL;
    Inventory *inv = cmd_load_selection_plugins(s, idx, n_idx, &host);
    plugin_host_free(host); /* loaded for discovery only */
    return inv;
}

Inventory *cmd_load_selection_plugins(const CmdSelection *s, size_t **idx, size_t *n_idx,
                                      PluginHost **host)
{
    *host = NULL;
    const char *path = s->inventory_path;
    if (!path)
        path = getenv("PGFLEET_INVENTORY");
    if (!path || !*path)
        path = "pgfleet.yaml";
    PfErr err;
    Inventory *inv = NULL;
    if (inv_load_discover(path, plugin_host_inv_discover, host, &inv, &err) != PF_OK) {
        cmd_error(&err);
        return NULL;
    }
    if (inv_select(inv, s->globs, s->n_globs, s->selectors, s->n_selectors, idx, n_idx, &err) !=
        PF_OK) {
        cmd_error(&err);
        plugin_host_free(*host);
        *host = NULL;
        inv_free(inv);
        return NULL;
    }
    return inv;
}

PfErrCode cmd_check_output(const char *path, PfErr *err)
{
    if (!*path || strcmp(path, "+") == 0)
        return pf_err_set(err, PF_ERR_IO, "-o: an empty path");
    if (*path == '+') { /* -o +FILE appends: open it as the append will, leaving it as it is */
        int afd = open(path + 1, O_WRONLY | O_APPEND | O_CREAT, 0644);
        if (afd < 0)
            return pf_err_set(err, PF_ERR_IO, "%s: cannot append the report there: %s", path + 1,
                              strerror(errno));
        close(afd);
        return PF_OK;
    }
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return pf_err_set(err, PF_ERR_IO, "%s: cannot write the report there: is a directory",
                          path);
    /* Where the report will go (pf_out_place), so that what is checked is what happens: a device
     * or a pipe written in place must be writable; a file is written through a temporary file
     * beside the one a link points to. */
    bool direct;
    char *place = pf_out_place(path, &direct);
    if (direct) {
        PfErrCode rc = access(place, W_OK) == 0
                           ? PF_OK
                           : pf_err_set(err, PF_ERR_IO, "%s: cannot write the report there: %s",
                                        path, strerror(errno));
        free(place);
        return rc;
    }
    char *tmp = pf_tmp_beside(place);
    free(place);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
    PfErrCode rc = PF_OK;
    if (fd < 0)
        rc = pf_err_set(err, PF_ERR_IO, "%s: cannot write the report there: %s", path,
                        strerror(errno));
    else {
        close(fd);
        unlink(tmp);
    }
    free(tmp);
    return rc;
}
