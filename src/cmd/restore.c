/* pgfleet restore: the pg_restore command that puts a backup of apply back (docs/backups.md). */
#include "cmd/cmd.h"
#include "cmd/common.h"

#include "backup/backup.h"
#include "core/buf.h"
#include "core/mem.h"
#include "core/proc.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] =
    "usage: pgfleet restore TARGET --backup PATH [OPTIONS]\n\n"
    "Print the pg_restore command that restores PATH, a dump `pgfleet apply` took of TARGET\n"
    "(docs/backups.md), into TARGET's database, or with --into into another database of the\n"
    "same server; with --yes, run it. The restore runs in one transaction and drops each object\n"
    "of the dump before creating it again (--clean --if-exists): objects that later migrations\n"
    "added and the dump does not hold stay. The password is never printed: the command reads it\n"
    "from PGPASSWORD or ~/.pgpass; run with --yes, it gets the dsn's in its environment.\n\n"
    "Options:\n"
    "  -i, --inventory FILE   the inventory (default: $PGFLEET_INVENTORY, else pgfleet.yaml)\n"
    "      --backup PATH      the dump (DIR/<target>/<time>-<head>.dump)\n"
    "      --into DB          restore into database DB (it must exist) instead of TARGET's\n"
    "      --yes              run the command instead of printing it (direct targets only)\n"
    "  -h, --help             show this help\n"
    "\nExit codes: 0 printed or restored, 2 pg_restore failed, 3 invalid input.\n";

/* arg as a POSIX shell reads it back: bare when safe, else single-quoted. */
static void put_shell(PfBuf *b, const char *arg)
{
    if (*arg && strspn(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                            "-_./=:,@%+") == strlen(arg)) {
        pf_buf_puts(b, arg);
        return;
    }
    pf_buf_putc(b, '\'');
    for (const char *p = arg; *p; p++) {
        if (*p == '\'')
            pf_buf_puts(b, "'\\''");
        else
            pf_buf_putc(b, *p);
    }
    pf_buf_putc(b, '\'');
}

int cmd_restore(int argc, char **argv)
{
    static const struct option long_opts[] = {
        {"inventory", required_argument, NULL, 'i'},
        {"backup", required_argument, NULL, 'b'},
        {"into", required_argument, NULL, 'd'},
        {"yes", no_argument, NULL, 'y'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    CmdSelection sel = {0};
    const char *backup = NULL, *into = NULL;
    bool yes = false;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "i:h", long_opts, NULL)) != -1) {
        switch (opt) {
        case 'i':
            sel.inventory_path = optarg;
            break;
        case 'b':
            backup = optarg;
            break;
        case 'd':
            into = optarg;
            break;
        case 'y':
            yes = true;
            break;
        case 'h':
            fputs(usage, stdout);
            return PF_EXIT_OK;
        default:
            fprintf(stderr, "Run 'pgfleet restore --help' for the options.\n");
            return PF_EXIT_INVALID;
        }
    }
    if (optind != argc - 1 || !backup) {
        fprintf(stderr, "pgfleet restore: name one target and the dump: pgfleet restore TARGET "
                        "--backup PATH\n");
        return PF_EXIT_INVALID;
    }
    const char *name = argv[optind];
    struct stat st;
    if (stat(backup, &st) != 0) {
        fprintf(stderr, "pgfleet restore: %s: no such dump\n", backup);
        return PF_EXIT_INVALID;
    }
    cmd_selection_add_glob(&sel, name);
    size_t *idx = NULL, n_idx = 0;
    Inventory *inv = cmd_load_selection(&sel, &idx, &n_idx);
    cmd_selection_free(&sel);
    if (!inv)
        return PF_EXIT_INVALID;
    int code = PF_EXIT_INVALID;
    const InvTarget *t = NULL;
    for (size_t i = 0; i < n_idx; i++)
        if (strcmp(inv->targets[idx[i]].name, name) == 0)
            t = &inv->targets[idx[i]];
    char *tool = NULL, *conninfo = NULL, *password = NULL;
    PfErr err;
    if (!t) {
        fprintf(stderr, "pgfleet restore: %s: no target %s\n", inv->path, name);
        goto out;
    }
    if (yes && t->via) {
        fprintf(stderr,
                "pgfleet restore: %s is reached via %s: pgfleet prints the command but does not "
                "run it; hint: run it through a tunnel of your own (ssh -L), with its host and "
                "port\n",
                t->name, t->via);
        goto out;
    }
    if (backup_find_tool("pg_restore", 0, &tool, &err) != PF_OK ||
        backup_conninfo(t, NULL, 0, into, &conninfo, &password, &err) != PF_OK) {
        cmd_error(&err);
        goto out;
    }
    char *dbname = pf_asprintf("--dbname=%s", conninfo);
    const char *args[] = {tool,
                          "--clean",
                          "--if-exists",
                          "--single-transaction",
                          "--exit-on-error",
                          "--no-password",
                          dbname,
                          backup,
                          NULL};
    if (!yes) {
        PfBuf b = PF_BUF_INIT;
        for (size_t i = 0; args[i]; i++) {
            if (i)
                pf_buf_putc(&b, ' ');
            put_shell(&b, args[i]);
        }
        printf("%s\n", b.data);
        if (password)
            printf("# the dsn's password is not shown: set PGPASSWORD, or use ~/.pgpass\n");
        if (t->via)
            printf("# %s is reached via %s: run it through a tunnel to that host and port\n",
                   t->name, t->via);
        pf_buf_free(&b);
        code = PF_EXIT_OK;
    } else {
        char *pwenv = password ? pf_asprintf("PGPASSWORD=%s", password) : NULL;
        const char *env[] = {pwenv, NULL};
        PfProcResult r;
        if (pf_proc_run(args, pwenv ? env : NULL, NULL, &r, &err) != PF_OK) {
            cmd_error(&err);
            code = PF_EXIT_FAILED;
        } else if (r.exit_code != 0) {
            char *line = pf_proc_last_line(r.err);
            char *clean = inv_dsn_scrub(line, t->dsn);
            fprintf(stderr, "pgfleet restore: %s: pg_restore failed: %s\n", t->name, clean);
            free(clean);
            free(line);
            code = PF_EXIT_FAILED;
        } else {
            fprintf(stderr, "pgfleet restore: %s: restored %s into %s\n", t->name, backup,
                    into ? into : "its database");
            code = PF_EXIT_OK;
        }
        pf_proc_result_clear(&r);
        free(pwenv);
    }
    free(dbname);
out:
    free(tool);
    free(conninfo);
    free(password);
    inv_free(inv);
    free(idx);
    return code;
}
