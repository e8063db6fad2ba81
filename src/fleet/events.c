/*
 * The run's plugin events (docs/plugins.md): turning fleet state into the plain data of
 * <pgfleet/plugin.h> and handing it to the plugin host. Called by pool.c (run, wave and target
 * events) and job.c (migration events), on the thread where the event happens.
 */
#include "fleet/internal.h"

#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

static const char *const EVENT_NAMES[] = {NULL,         "run_start",        "run_end",
                                          "wave_start", "wave_end",         "target_start",
                                          "target_end", "migration_before", "migration_after"};

static PgfleetEvent event_new(const FleetRun *run, PgfleetEventKind kind)
{
    PgfleetEvent ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.name = EVENT_NAMES[kind];
    ev.run_id = run->run_id;
    ev.command = fleet_mode_name(run->mode);
    ev.n_targets = run->n;
    return ev;
}

void fleet_event_run(const FleetRun *run, const FleetResult *res, PgfleetEventKind kind)
{
    if (!run->plugins)
        return;
    PgfleetEvent ev = event_new(run, kind);
    ev.started_at = res->started_at;
    if (kind == PGFLEET_EVENT_RUN_END) {
        ev.exit_code = fleet_exit_code(res);
        ev.duration_ms = res->duration_ms;
    }
    plugin_host_emit(run->plugins, &ev, NULL);
}

char *fleet_event_wave(const FleetRun *run, const WaveResult *w, const WaveResult *next,
                       PgfleetEventKind kind)
{
    if (!run->plugins || !w->wave)
        return NULL;
    PgfleetEvent ev = event_new(run, kind);
    ev.wave = w->wave->name;
    ev.wave_targets = w->n;
    char *veto = NULL;
    if (kind == PGFLEET_EVENT_WAVE_END) {
        ev.duration_ms = w->duration_ms;
        ev.wave_failures = w->failures;
        ev.wave_halted = w->halted;
        ev.wave_state = fleet_wave_state_name(w->state);
        ev.wave_reason = w->reason;
        ev.next_wave = next && next->wave ? next->wave->name : NULL;
    }
    plugin_host_emit(run->plugins, &ev, kind == PGFLEET_EVENT_WAVE_END ? &veto : NULL);
    return veto;
}

/* The target's fields of an event; *labels is the caller's to free. */
static void event_target(PgfleetEvent *ev, const TargetResult *res, PgfleetKV **labels)
{
    const InvTarget *t = res->target;
    *labels = pf_calloc(t->n_labels ? t->n_labels : 1, sizeof **labels);
    for (size_t i = 0; i < t->n_labels; i++)
        (*labels)[i] = (PgfleetKV){t->labels[i].key, t->labels[i].value};
    ev->target = t->name;
    ev->dsn_masked = t->dsn_masked;
    ev->labels = *labels;
    ev->n_labels = t->n_labels;
    ev->wave = res->wave ? res->wave->name : NULL;
}

void fleet_event_target(const FleetRun *run, const TargetResult *res, PgfleetEventKind kind)
{
    if (!run->plugins)
        return;
    PgfleetEvent ev = event_new(run, kind);
    PgfleetKV *labels;
    event_target(&ev, res, &labels);
    const char **applied = NULL;
    if (kind == PGFLEET_EVENT_TARGET_END) {
        ev.status = plan_status_name(res->status);
        ev.outcome = fleet_outcome_name(res->outcome);
        ev.error = res->error;
        ev.n_pending = res->plan.n_pending;
        ev.duration_ms = res->total_ms;
        size_t n = res->n_applied_now;
        applied = pf_calloc(n ? n : 1, sizeof *applied);
        for (size_t i = 0; i < n; i++)
            applied[i] = run->cb->migrations[res->applied_now[i]].tag;
        ev.applied = applied;
        ev.n_applied = n;
    }
    plugin_host_emit(run->plugins, &ev, NULL);
    free(applied);
    free(labels);
}

void fleet_event_migration(const FleetRun *run, const TargetResult *res, PgfleetEventKind kind,
                           const char *tag, size_t i, size_t n, const char *result)
{
    if (!run->plugins)
        return;
    PgfleetEvent ev = event_new(run, kind);
    PgfleetKV *labels;
    event_target(&ev, res, &labels);
    ev.migration = tag;
    ev.migration_index = i;
    ev.migration_count = n;
    ev.migration_result = result;
    plugin_host_emit(run->plugins, &ev, NULL);
    free(labels);
}
