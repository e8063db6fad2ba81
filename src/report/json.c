/* The JSON report (docs/report.md), built with cJSON. */
#include "report/report.h"

#include "core/mem.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *str_or_null(const char *s)
{
    return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/* Schema drift (docs/drift.md): null when not checked for this target. */
static cJSON *drift_json(const Codebase *cb, const TargetDrift *d)
{
    if (!d)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "head", cb->migrations[d->head - 1].tag);
    cJSON_AddBoolToObject(o, "checked", d->checked);
    cJSON *diffs = cJSON_AddArrayToObject(o, "differences");
    for (size_t i = 0; d->checked && i < d->n_lines; i++)
        cJSON_AddItemToArray(diffs, cJSON_CreateString(d->lines[i]));
    cJSON_AddItemToObject(o, "error", d->error ? cJSON_CreateString(d->error) : cJSON_CreateNull());
    /* The line the other formats print for it; read back by pgfleet merge. */
    cJSON_AddItemToObject(o, "summary", str_or_null(d->summary));
    return o;
}

static cJSON *target_json(const Codebase *cb, const FleetResult *fr, const TargetResult *r)
{
    const InvTarget *t = r->target;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", t->name);
    cJSON *labels = cJSON_AddObjectToObject(o, "labels");
    for (size_t i = 0; i < t->n_labels; i++)
        cJSON_AddStringToObject(labels, t->labels[i].key, t->labels[i].value);
    cJSON_AddStringToObject(o, "dsn", t->dsn_masked);
    cJSON_AddItemToObject(o, "route", str_or_null(t->route));
    cJSON_AddBoolToObject(o, "started", r->started);
    cJSON_AddItemToObject(o, "status",
                          r->started ? cJSON_CreateString(plan_status_name(r->status))
                                     : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "outcome",
                          fleet_mode_writes(fr->mode)
                              ? cJSON_CreateString(fleet_outcome_name(r->outcome))
                              : cJSON_CreateNull());
    cJSON *problems = cJSON_AddArrayToObject(o, "problems");
    for (size_t i = 0; i < r->plan.n_problems; i++) {
        const PlanProblem *p = &r->plan.problems[i];
        cJSON *po = cJSON_CreateObject();
        cJSON_AddStringToObject(po, "kind", plan_status_name(p->kind));
        cJSON_AddItemToObject(po, "migration", str_or_null(p->tag));
        if (p->ledger_id)
            cJSON_AddNumberToObject(po, "ledger_id", (double)p->ledger_id);
        else
            cJSON_AddNullToObject(po, "ledger_id");
        cJSON_AddStringToObject(po, "message", p->message);
        cJSON_AddItemToArray(problems, po);
    }
    cJSON *pending = cJSON_AddArrayToObject(o, "pending");
    for (size_t i = 0; i < r->plan.n_pending; i++)
        cJSON_AddItemToArray(pending, cJSON_CreateString(cb->migrations[r->plan.pending[i]].tag));
    cJSON *warnings = cJSON_AddArrayToObject(o, "warnings");
    for (size_t i = 0; i < r->plan.n_warnings; i++) {
        const PlanWarning *w = &r->plan.warnings[i];
        cJSON *wo = cJSON_CreateObject();
        cJSON_AddStringToObject(wo, "kind", w->kind);
        cJSON_AddItemToObject(wo, "migration", str_or_null(w->migration));
        if (w->statement > 0)
            cJSON_AddNumberToObject(wo, "statement", w->statement);
        else
            cJSON_AddNullToObject(wo, "statement");
        cJSON_AddStringToObject(wo, "message", w->message);
        cJSON_AddItemToObject(wo, "hint", str_or_null(w->hint));
        cJSON *pids = cJSON_AddArrayToObject(wo, "pids");
        for (size_t k = 0; k < w->n_pids; k++)
            cJSON_AddItemToArray(pids, cJSON_CreateNumber(w->pids[k]));
        cJSON_AddItemToArray(warnings, wo);
    }
    cJSON *applied = cJSON_AddArrayToObject(o, "applied");
    for (size_t i = 0; i < r->n_applied_now; i++)
        cJSON_AddItemToArray(applied, cJSON_CreateString(cb->migrations[r->applied_now[i]].tag));
    cJSON_AddBoolToObject(o, "ledger_unknown", r->ledger_unknown);
    cJSON_AddNumberToObject(o, "applied_before", (double)r->plan.n_applied);

    cJSON *ledger = cJSON_AddObjectToObject(o, "ledger");
    cJSON_AddStringToObject(ledger, "schema", t->schema);
    cJSON_AddStringToObject(ledger, "table", t->table);
    cJSON *lock = cJSON_AddObjectToObject(o, "lock");
    char key[32];
    snprintf(key, sizeof key, "%lld", (long long)r->lock_key);
    cJSON_AddStringToObject(lock, "key", key);
    if (r->has_holder) {
        cJSON *h = cJSON_AddObjectToObject(lock, "holder");
        cJSON_AddNumberToObject(h, "pid", r->holder.pid);
        cJSON_AddStringToObject(h, "application_name", r->holder.application_name);
        cJSON_AddStringToObject(h, "client_addr", r->holder.client_addr);
        cJSON_AddStringToObject(h, "user", r->holder.user);
        cJSON_AddNumberToObject(h, "session_age_s", (double)r->holder.session_age_s);
    } else {
        cJSON_AddNullToObject(lock, "holder");
    }
    if (r->identity.database) {
        cJSON *s = cJSON_AddObjectToObject(o, "server");
        cJSON_AddStringToObject(s, "database", r->identity.database);
        cJSON_AddStringToObject(s, "user", r->identity.user);
        cJSON_AddStringToObject(s, "version", r->identity.server_version);
        cJSON_AddItemToObject(s, "system_identifier", str_or_null(r->identity.system_identifier));
    } else {
        cJSON_AddNullToObject(o, "server");
    }
    if (r->error) {
        cJSON *e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(e, "message", r->error);
        if (r->has_failure) {
            cJSON_AddItemToObject(e, "migration", str_or_null(r->failure.tag));
            cJSON_AddNumberToObject(e, "statement", r->failure.statement);
            cJSON_AddItemToObject(e, "sqlstate",
                                  str_or_null(r->failure.sqlstate[0] ? r->failure.sqlstate : NULL));
            cJSON_AddItemToObject(e, "server_message", str_or_null(r->failure.message));
            cJSON_AddItemToObject(e, "detail", str_or_null(r->failure.detail));
            cJSON_AddItemToObject(e, "hint", str_or_null(r->failure.hint));
        }
    } else {
        cJSON_AddNullToObject(o, "error");
    }
    cJSON *timings = cJSON_AddObjectToObject(o, "timings");
    cJSON_AddNumberToObject(timings, "connect_ms", (double)r->connect_ms);
    if (t->via)
        cJSON_AddNumberToObject(timings, "tunnel_ms", (double)r->tunnel_ms);
    else
        cJSON_AddNullToObject(timings, "tunnel_ms");
    cJSON_AddNumberToObject(timings, "total_ms", (double)r->total_ms);
    cJSON_AddNumberToObject(o, "round_trips", r->round_trips);
    cJSON_AddItemToObject(o, "wave", str_or_null(r->wave ? r->wave->name : NULL));
    if (fr->mode == FLEET_ROLLBACK || (fr->mode == FLEET_PLAN && r->n_changes)) {
        /* rollback (or plan --rollback): the migrations undone, newest first (docs/rollback.md) */
        cJSON *rb = cJSON_AddArrayToObject(o, "rollback");
        for (size_t i = 0; i < r->n_changes; i++)
            cJSON_AddItemToArray(rb,
                                 cJSON_CreateString(cb->migrations[r->changes[i].migration].tag));
    }
    if (r->has_backup) {
        /* docs/backups.md */
        cJSON *bk = cJSON_AddObjectToObject(o, "backup");
        cJSON_AddStringToObject(bk, "path", r->backup.path);
        cJSON_AddStringToObject(bk, "format", r->backup.format);
        cJSON_AddNumberToObject(bk, "bytes", (double)r->backup.bytes);
        cJSON_AddNumberToObject(bk, "duration_ms", (double)r->backup.duration_ms);
        cJSON_AddStringToObject(bk, "pg_dump", r->backup.tool);
        cJSON_AddNumberToObject(bk, "pruned", r->backup.pruned);
        cJSON_AddNullToObject(bk, "skipped");
    } else if (r->backup_skipped) {
        cJSON *bk = cJSON_AddObjectToObject(o, "backup");
        cJSON_AddStringToObject(bk, "skipped", r->backup_skipped);
    } else {
        cJSON_AddNullToObject(o, "backup");
    }
    if (r->check_ran) {
        cJSON *check = cJSON_AddObjectToObject(o, "check");
        cJSON_AddBoolToObject(check, "passed", r->check_passed);
    } else {
        cJSON_AddNullToObject(o, "check");
    }
    cJSON_AddItemToObject(o, "drift", drift_json(cb, r->drift));
    return o;
}

/* One wave of the rollout (docs/waves.md); failures, halting and timings are apply's. */
static cJSON *wave_json(const FleetResult *fr, const WaveResult *w)
{
    const InvWave *iw = w->wave;
    bool apply = fleet_mode_writes(fr->mode);
    bool ran = apply && (w->state == WAVE_DONE || w->state == WAVE_INTERRUPTED);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", iw->name);
    cJSON_AddStringToObject(o, "state", fleet_wave_state_name(w->state));
    cJSON *names = cJSON_AddArrayToObject(o, "targets");
    size_t outcomes[OUTCOME_COUNT] = {0}, checks_failed = 0;
    for (size_t i = 0; i < w->n; i++) {
        const TargetResult *r = &fr->targets[w->targets[i]];
        cJSON_AddItemToArray(names, cJSON_CreateString(r->target->name));
        outcomes[r->outcome]++;
        if (r->check_ran && !r->check_passed)
            checks_failed++;
    }
    if (apply) {
        cJSON *oc = cJSON_AddObjectToObject(o, "outcomes");
        for (int k = OUTCOME_APPLIED; k < OUTCOME_COUNT; k++)
            cJSON_AddNumberToObject(oc, fleet_outcome_name((TargetOutcome)k), (double)outcomes[k]);
    } else {
        cJSON_AddNullToObject(o, "outcomes");
    }
    if (iw->parallel > 0)
        cJSON_AddNumberToObject(o, "parallel", iw->parallel);
    else
        cJSON_AddNullToObject(o, "parallel");
    cJSON_AddStringToObject(o, "max_failures", iw->max_failures_text);
    cJSON_AddNumberToObject(o, "allowed_failures", (double)w->allowed);
    if (ran)
        cJSON_AddNumberToObject(o, "failures", (double)w->failures);
    else
        cJSON_AddNullToObject(o, "failures");
    cJSON_AddBoolToObject(o, "halted", w->halted);
    cJSON_AddItemToObject(o, "reason", str_or_null(w->reason));
    cJSON_AddItemToObject(o, "check", str_or_null(iw->check));
    if (ran)
        cJSON_AddNumberToObject(o, "checks_failed", (double)checks_failed);
    else
        cJSON_AddNullToObject(o, "checks_failed");
    cJSON_AddItemToObject(o, "started_at", str_or_null(ran ? w->started_at : NULL));
    if (ran)
        cJSON_AddNumberToObject(o, "duration_ms", (double)w->duration_ms);
    else
        cJSON_AddNullToObject(o, "duration_ms");
    cJSON_AddNumberToObject(o, "pause_ms", (double)iw->pause_ms);
    cJSON_AddNumberToObject(o, "paused_ms", (double)w->paused_ms);
    cJSON_AddBoolToObject(o, "confirm", iw->confirm);
    cJSON_AddItemToObject(o, "confirmed", str_or_null(fleet_wave_confirm_name(w->confirm)));
    return o;
}

/* Everything but the targets, whose array is left empty: "targets": []. */
static cJSON *root_json(const ReportContext *ctx)
{
    const FleetResult *fr = ctx->result;
    const Codebase *cb = ctx->cb;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "report_version", 1);
    cJSON_AddStringToObject(root, "pgfleet_version", PGFLEET_VERSION);
    cJSON_AddStringToObject(root, "command", fleet_mode_name(fr->mode));
    cJSON_AddStringToObject(root, "started_at", fr->started_at);
    if (*fr->run_id)
        cJSON_AddStringToObject(root, "run_id", fr->run_id);
    cJSON_AddNumberToObject(root, "duration_ms", (double)fr->duration_ms);
    cJSON_AddNumberToObject(root, "connections", (double)fr->connections);
    cJSON_AddBoolToObject(root, "interrupted", fr->interrupted);
    cJSON_AddNumberToObject(root, "exit_code", ctx->exit_code);
    cJSON_AddItemToObject(root, "inventory", str_or_null(ctx->inventory_path));
    if (ctx->shard.count) { /* pgfleet merge collates the shards' reports (docs/scale.md) */
        cJSON *sh = cJSON_AddObjectToObject(root, "shard");
        cJSON_AddNumberToObject(sh, "index", ctx->shard.index);
        cJSON_AddNumberToObject(sh, "count", ctx->shard.count);
        cJSON_AddNumberToObject(sh, "selected", (double)ctx->shard_selected);
        cJSON *pos = cJSON_AddArrayToObject(sh, "positions");
        for (size_t i = 0; ctx->shard_positions && i < fr->n; i++)
            cJSON_AddItemToArray(pos, cJSON_CreateNumber((double)ctx->shard_positions[i]));
    }

    cJSON *c = cJSON_AddObjectToObject(root, "codebase");
    cJSON_AddStringToObject(c, "dir", cb->dir);
    cJSON_AddStringToObject(c, "layout", cb->layout == CB_LAYOUT_JOURNAL ? "journal" : "folders");
    cJSON_AddNumberToObject(c, "migrations", (double)cb->n);
    const CbMigration *head = cb_head(cb);
    if (head) {
        cJSON *h = cJSON_AddObjectToObject(c, "head");
        cJSON_AddStringToObject(h, "tag", head->tag);
        cJSON_AddNumberToObject(h, "when", (double)head->when);
        cJSON_AddStringToObject(h, "hash", head->hash);
    } else {
        cJSON_AddNullToObject(c, "head");
    }
    if (ctx->revision) {
        /* Which image the fleet was migrated from (docs/report.md). */
        cJSON *rev = cJSON_AddObjectToObject(c, "revision");
        cJSON_AddStringToObject(rev, "source", ctx->revision->source);
        cJSON_AddStringToObject(rev, "id", ctx->revision->id);
    } else {
        cJSON_AddNullToObject(c, "revision");
    }
    cJSON *notes = cJSON_AddArrayToObject(c, "notes");
    for (size_t i = 0; i < cb->n_notes; i++) {
        cJSON *no = cJSON_CreateObject();
        cJSON_AddStringToObject(no, "kind", cb->notes[i].kind);
        cJSON_AddStringToObject(no, "migration", cb->notes[i].migration);
        cJSON_AddStringToObject(no, "message", cb->notes[i].message);
        cJSON_AddItemToArray(notes, no);
    }

    size_t counts[TARGET_STATUS_COUNT] = {0};
    size_t outcomes[OUTCOME_COUNT] = {0};
    size_t not_started = 0;
    for (size_t i = 0; i < fr->n; i++) {
        if (fr->targets[i].started)
            counts[fr->targets[i].status]++;
        else
            not_started++;
        outcomes[fr->targets[i].outcome]++;
    }
    cJSON *cnt = cJSON_AddObjectToObject(root, "counts");
    cJSON_AddNumberToObject(cnt, "targets", (double)fr->n);
    for (int s = 0; s < TARGET_STATUS_COUNT; s++)
        cJSON_AddNumberToObject(cnt, plan_status_name((TargetStatus)s), (double)counts[s]);
    cJSON_AddNumberToObject(cnt, "not_started", (double)not_started);
    if (fleet_mode_writes(fr->mode)) {
        cJSON *oc = cJSON_AddObjectToObject(root, "outcomes");
        for (int o = OUTCOME_APPLIED; o < OUTCOME_COUNT; o++)
            cJSON_AddNumberToObject(oc, fleet_outcome_name((TargetOutcome)o), (double)outcomes[o]);
    } else {
        cJSON_AddNullToObject(root, "outcomes");
    }
    if (fr->n_waves) {
        cJSON *waves = cJSON_AddArrayToObject(root, "waves");
        for (size_t i = 0; i < fr->n_waves; i++)
            cJSON_AddItemToArray(waves, wave_json(fr, &fr->waves[i]));
    } else {
        cJSON_AddNullToObject(root, "waves");
    }
    cJSON_AddArrayToObject(root, "targets");
    /* Plugin callbacks that failed (docs/plugins.md); present only when there were some. */
    if (fr->n_plugin_errors) {
        cJSON *pe = cJSON_AddArrayToObject(root, "plugin_errors");
        for (size_t i = 0; i < fr->n_plugin_errors; i++)
            cJSON_AddItemToArray(pe, cJSON_CreateString(fr->plugin_errors[i]));
    }
    return root;
}

/* Where the root's empty targets array stands in its print: a key of the root is indented by
 * one tab (those of waves by more). */
#define TARGETS_AT "\n\t\"targets\":\t[]"

/* The report as cJSON_Print prints the whole tree, one target at a time: a target is printed
 * on its own and indented by the two levels it stands at in the tree (cJSON prints no raw
 * newline inside a string), so a fleet of 100,000 never has its tree in memory at once. */
void report_json_stream(const ReportContext *ctx, FILE *out)
{
    const FleetResult *fr = ctx->result;
    cJSON *root = root_json(ctx);
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    char *at = strstr(s, TARGETS_AT);
    if (!at || fr->n == 0) {
        fputs(s, out);
    } else {
        size_t head = (size_t)(at - s) + strlen(TARGETS_AT) - 1; /* up to the '[' */
        fwrite(s, 1, head, out);
        for (size_t i = 0; i < fr->n; i++) {
            cJSON *t = target_json(ctx->cb, fr, &fr->targets[i]);
            char *ts = cJSON_Print(t);
            cJSON_Delete(t);
            if (i)
                fputs(", ", out);
            for (const char *p = ts; *p; p++) {
                fputc(*p, out);
                if (*p == '\n')
                    fputs("\t\t", out);
            }
            cJSON_free(ts);
        }
        fputs(s + head, out); /* "]" and what follows */
    }
    fputc('\n', out);
    cJSON_free(s);
}

char *report_json(const ReportContext *ctx)
{
    char *doc = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&doc, &len);
    if (!f) {
        fprintf(stderr, "pgfleet: out of memory writing the JSON report\n");
        abort();
    }
    report_json_stream(ctx, f);
    fclose(f);
    return doc;
}
