/*
 * Preflight in a plan job (docs/preflight.md): once a target is classified and has pending
 * migrations, find what they will meet on the server (src/plan/preflight.h), in one more
 * round trip, and keep the warnings in the target's plan. Runs on the job's worker thread,
 * on its connection, from what fleet_run read of the folder once (run->preflight): nothing
 * is parsed here. A preflight that cannot run is itself a warning: it never changes the
 * target's status.
 */
#include "fleet/internal.h"

#include "core/log.h"
#include "core/mem.h"
#include "plan/preflight.h"

#include <stdlib.h>

void fleet_job_preflight(const FleetRun *run, PgConn *conn, TargetResult *res)
{
    const InvTarget *t = res->target;
    size_t n = res->plan.n_pending;
    if (n == 0 || !run->preflight)
        return;
    /* A tenant's migrations as it will run them: named in its schemas (docs/tenants.md). */
    size_t n_renames = t->tenant_schema ? t->n_schema_map : 0;
    PreflightRename *renames = pf_calloc(n_renames ? n_renames : 1, sizeof *renames);
    for (size_t i = 0; i < n_renames; i++)
        renames[i] = (PreflightRename){t->schema_map[i].key, t->schema_map[i].value};
    Preflight p;
    preflight_analyze(run->preflight, run->cb->migrations, res->plan.pending, n,
                      t->settings.transaction == INV_TX_ALL, renames, n_renames, &p);
    free(renames);
    int major = res->identity.server_version ? atoi(res->identity.server_version) : 0;
    preflight_notes(&p, major, &res->plan);

    int64_t long_xact_ms = t->settings.preflight_long_xact_ms;
    PreflightFacts facts;
    PfErr err;
    if (pg_preflight(conn, &p, long_xact_ms, major, &facts, &err) == PF_OK)
        preflight_warnings(&p, &facts, long_xact_ms, &res->plan);
    else
        preflight_failed(&res->plan, err.msg);
    for (size_t i = 0; i < res->plan.n_warnings; i++)
        pf_log(PF_LOG_INFO, t->name, "warning: %s", res->plan.warnings[i].message);
    preflight_facts_clear(&facts);
    preflight_clear(&p);
}
