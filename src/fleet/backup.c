/*
 * The backup step of apply's job (docs/backups.md): decide whether the target is dumped, and
 * dump it with pg_dump (src/backup/) while the job holds the lock, before anything changes.
 * pg_dump is a child process of the worker thread (src/core/proc.h says how it is started);
 * for a tunnelled target it connects to the tunnel's loopback listener, as libpq does.
 */
#include "fleet/internal.h"

#include "core/log.h"
#include "core/mem.h"

#include <stdlib.h>

/* The tag of the newest codebase migration the ledger holds, or NULL. */
static const char *ledger_head(const Codebase *cb, const Plan *p)
{
    size_t best = 0;
    bool any = false;
    for (size_t i = 0; i < p->n_matches; i++) {
        if (!any || p->matches[i].migration > best)
            best = p->matches[i].migration;
        any = true;
    }
    return any ? cb->migrations[best].tag : NULL;
}

bool fleet_job_backup(const FleetRun *run, PgConn *conn, SshForward *fwd, const Ledger *ledger,
                      TargetResult *res, const atomic_int *interrupted)
{
    const InvTarget *t = res->target;
    const char *dir = backup_dir(t, run->backup_dir);
    if (!dir)
        return true;
    PfErr err;
    if (t->settings.backup.when == INV_BACKUP_NON_EMPTY && !ledger->exists) {
        bool empty = false;
        if (pg_database_empty(conn, t->tenant_schema, &empty, &err) != PF_OK) {
            res->outcome = atomic_load(interrupted) ? OUTCOME_INTERRUPTED : OUTCOME_FAILED;
            res->error = pf_asprintf("backup: cannot tell whether the database is empty: %s; "
                                     "nothing was applied",
                                     err.msg);
            pf_log(PF_LOG_ERROR, t->name, "%s", res->error);
            return false;
        }
        if (empty) {
            res->backup_skipped = "empty";
            pf_log(PF_LOG_INFO, t->name, "backup: skipped, the database is empty");
            return true;
        }
    }
    BackupRequest req = {
        .target = t,
        .dir = dir,
        .hostaddr = fwd ? "127.0.0.1" : NULL,
        .port = fwd ? ssh_forward_port(fwd) : 0,
        .server_version = res->identity.server_version,
        .head = ledger_head(run->cb, &res->plan),
        .interrupted = interrupted,
    };
    if (backup_run(&req, &res->backup, &err) != PF_OK) {
        res->outcome = atomic_load(interrupted) ? OUTCOME_INTERRUPTED : OUTCOME_FAILED;
        res->error = pf_asprintf("backup failed: %s; nothing was applied", err.msg);
        pf_log(PF_LOG_ERROR, t->name, "%s", res->error);
        return false;
    }
    res->has_backup = true;
    pf_log(PF_LOG_NOTICE, t->name, "backup: %s (%lld bytes, %lld ms)", res->backup.path,
           (long long)res->backup.bytes, (long long)res->backup.duration_ms);
    return true;
}
