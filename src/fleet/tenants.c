/*
 * Schema-per-tenant targets (docs/tenants.md): before a plan or an apply, where the folder
 * names the schemas the selected tenants map, found once for the run (src/codebase/qualify.c);
 * then, per tenant, its pending migrations with those names rewritten. The hashes stay the
 * files' own: the ledger reads as if the files had been written for the tenant's schema.
 * rollback rewrites the down files the same way (docs/rollback.md).
 */
#include "fleet/internal.h"

#include "codebase/down.h"
#include "core/log.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

/* What each of the schemas r looks for becomes in tenant t (NULL: kept); caller frees. */
static const char **tenant_renames(const CbSchemaRefs *r, const InvTarget *t)
{
    const char **to = pf_calloc(r->n_schemas ? r->n_schemas : 1, sizeof *to);
    for (size_t k = 0; k < r->n_schemas; k++)
        for (size_t j = 0; j < t->n_schema_map; j++)
            if (strcmp(t->schema_map[j].key, r->schemas[k]) == 0)
                to[k] = t->schema_map[j].value;
    return to;
}

/* Every place of cb that r found cannot be rewritten, as file:line:column, at level. */
static void log_problems(const CbSchemaRefs *r, const Codebase *cb, PfLogLevel level)
{
    for (size_t i = 0; i < r->n_problems; i++) {
        const CbTenantProblem *p = &r->problems[i];
        pf_log(level, NULL, "%s:%zu:%zu: %s; hint: %s", cb->migrations[p->migration].path, p->line,
               p->column, p->message, p->hint);
    }
}

PfErrCode fleet_tenants_prepare(const FleetRun *run, CbSchemaRefs **out, PfErr *err)
{
    *out = NULL;
    size_t n;
    const char **schemas = inv_tenant_schemas(run->inv, run->selected, run->n, &n);
    if (n == 0) {
        free(schemas);
        return PF_OK;
    }
    CbSchemaRefs *r = pf_calloc(1, sizeof *r);
    cb_schema_refs_find(run->cb, schemas, n, r);
    free(schemas);
    *out = r;
    /* plan --rollback runs no migration: its down files are checked by
     * fleet_tenant_downs_prepare. */
    bool refuse = (run->mode == FLEET_APPLY || (run->mode == FLEET_PLAN && !run->rollback_plan)) &&
                  r->n_problems;
    log_problems(r, run->cb, refuse ? PF_LOG_ERROR : PF_LOG_WARN);
    if (refuse)
        return pf_err_set(err, PF_ERR_INPUT,
                          "%zu place(s) of the migrations folder cannot be rewritten for the "
                          "tenant schemas (listed above); nothing was run",
                          r->n_problems);
    return PF_OK;
}

void fleet_tenants_free(CbSchemaRefs *r)
{
    cb_schema_refs_clear(r);
    free(r);
}

CbMigration *fleet_tenant_migrations(const FleetRun *run, const InvTarget *t, const size_t *idx,
                                     size_t n)
{
    const CbSchemaRefs *r = run->tenant_refs;
    const char **to = tenant_renames(r, t);
    CbMigration *out = pf_calloc(n ? n : 1, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        /* Shares the codebase's parsed models (borrowed, not freed here): they read the text
         * before the schemas are mapped, which changes no statement's kind. */
        out[i] = run->cb->migrations[idx[i]];
        out[i].chunks = cb_schema_refs_apply(r, run->cb, idx[i], to);
    }
    free(to);
    return out;
}

void fleet_tenant_migrations_free(CbMigration *m, size_t n)
{
    if (!m)
        return;
    for (size_t i = 0; i < n; i++)
        cb_chunks_free(m[i].chunks, m[i].n_chunks);
    free(m);
}

void fleet_tenant_codebase(const FleetRun *run, const InvTarget *t, Codebase *out)
{
    *out = *run->cb;
    out->created = pf_calloc(out->n_created ? out->n_created : 1, sizeof *out->created);
    for (size_t i = 0; i < out->n_created; i++) {
        CbObject o = run->cb->created[i];
        const char *from = o.space == CB_OBJECT_SCHEMA ? o.name : o.schema;
        const char *to = NULL;
        for (size_t j = 0; from && j < t->n_schema_map && !to; j++)
            if (strcmp(t->schema_map[j].key, from) == 0)
                to = t->schema_map[j].value;
        /* The copy owns its names: cb_objects_free frees them. */
        o.schema = pf_strdup(o.space != CB_OBJECT_SCHEMA && to ? to : o.schema);
        o.name = pf_strdup(o.space == CB_OBJECT_SCHEMA && to ? to : o.name);
        out->created[i] = o;
    }
}

void fleet_tenant_codebase_clear(Codebase *cb)
{
    cb_objects_free(cb->created, cb->n_created);
    cb->created = NULL;
    cb->n_created = 0;
}

/* The down files as a codebase of their own, entry m the down file of migration m (an absent
 * one without text or chunks): qualify.c finds their references as it finds the migrations'.
 * The entries borrow the downs' texts. */
static void downs_codebase(const FleetRun *run, Codebase *out)
{
    memset(out, 0, sizeof *out);
    out->dir = run->cb->dir;
    out->layout = run->cb->layout;
    out->n = run->cb->n;
    out->migrations = pf_calloc(out->n ? out->n : 1, sizeof *out->migrations);
    for (size_t m = 0; m < out->n; m++) {
        const CbDown *d = &run->downs[m];
        out->migrations[m] = (CbMigration){.tag = run->cb->migrations[m].tag,
                                           .path = d->path,
                                           .sql = d->present ? d->sql : NULL,
                                           .sql_len = d->present ? d->sql_len : 0,
                                           .chunks = d->present ? d->chunks : NULL,
                                           .n_chunks = d->present ? d->n_chunks : 0};
    }
}

PfErrCode fleet_tenant_downs_prepare(const FleetRun *run, FleetTenantDowns **out, PfErr *err)
{
    *out = NULL;
    if (!run->downs)
        return PF_OK;
    size_t n;
    const char **schemas = inv_tenant_schemas(run->inv, run->selected, run->n, &n);
    if (n == 0) {
        free(schemas);
        return PF_OK;
    }
    FleetTenantDowns *d = pf_calloc(1, sizeof *d);
    downs_codebase(run, &d->cb);
    cb_schema_refs_find(&d->cb, schemas, n, &d->refs);
    free(schemas);
    *out = d;
    log_problems(&d->refs, &d->cb, PF_LOG_ERROR);
    if (d->refs.n_problems)
        return pf_err_set(err, PF_ERR_INPUT,
                          "%zu place(s) of the down files cannot be rewritten for the tenant "
                          "schemas (listed above); nothing was run",
                          d->refs.n_problems);
    return PF_OK;
}

void fleet_tenant_downs_free(FleetTenantDowns *d)
{
    if (!d)
        return;
    cb_schema_refs_clear(&d->refs);
    free(d->cb.migrations);
    free(d);
}

char **fleet_tenant_down_chunks(const FleetRun *run, const InvTarget *t, size_t m)
{
    const FleetTenantDowns *d = run->tenant_downs;
    const char **to = tenant_renames(&d->refs, t);
    char **chunks = cb_schema_refs_apply(&d->refs, &d->cb, m, to);
    free(to);
    return chunks;
}
