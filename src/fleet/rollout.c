/*
 * The rollout of apply (docs/waves.md) as a state machine: which wave runs next, which waves
 * will not start and why, and between two waves the pause and the confirm. pool.c feeds it
 * (the wave's targets ran, the pause was waited, the person answered) and does what it says
 * with its threads; a unit test feeds it by hand. It runs on the main thread only.
 */
#include "fleet/internal.h"

#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"

#include <stdlib.h>

enum { AT_WAVE, AFTER_RUN, AFTER_PAUSE };

void fleet_rollout_init(Rollout *r, const FleetRun *run, FleetResult *out, WaveResult *waves,
                        size_t n)
{
    *r = (Rollout){.run = run, .out = out, .waves = waves, .n = n, .at = AT_WAVE};
}

/* The wave r->i is over (ran, or not started): on to the next one. */
static void advance(Rollout *r)
{
    r->i++;
    r->at = AT_WAVE;
}

/* The next wave to start from r->i on, marking those that will not start. */
static RolloutStep next_wave(Rollout *r, bool interrupted)
{
    for (; r->i < r->n; r->i++) {
        WaveResult *w = &r->waves[r->i];
        if (w->state == WAVE_NOT_SELECTED)
            continue;
        const InvWave *iw = w->wave; /* NULL: the implicit wave of an inventory without waves */
        if (interrupted) {
            char *why = pf_asprintf("interrupted before wave %s started", iw ? iw->name : "");
            fleet_wave_skip(r->out, w, WAVE_INTERRUPTED, why);
            free(why);
            continue;
        }
        if (r->stop) {
            fleet_wave_skip(r->out, w, WAVE_SKIPPED, r->stop);
            continue;
        }
        r->wave = w;
        r->next = NULL;
        r->workers = r->run->jobs;
        if (iw) {
            if (iw->parallel > 0 && iw->parallel < r->workers)
                r->workers = iw->parallel;
            pf_log(PF_LOG_INFO, NULL, "wave %s: %zu target%s, at most %d at once", iw->name, w->n,
                   w->n == 1 ? "" : "s", r->workers);
        }
        pf_utc_iso8601(w->started_at);
        fleet_event_wave(r->run, w, NULL, PGFLEET_EVENT_WAVE_START);
        return ROLLOUT_RUN;
    }
    r->wave = r->next = NULL;
    return ROLLOUT_END;
}

RolloutStep fleet_rollout_next(Rollout *r, bool interrupted)
{
    if (r->at == AFTER_RUN) {
        WaveResult *w = r->wave;
        const InvWave *iw = w->wave;
        r->at = AFTER_PAUSE;
        /* Nothing applied (all in sync, as when re-running): nothing to let settle. */
        bool changed = false;
        for (size_t k = 0; k < w->n; k++)
            changed = changed || r->out->targets[w->targets[k]].n_applied_now > 0;
        if (iw->pause_ms > 0 && changed && !interrupted) {
            r->pause_ms = iw->pause_ms;
            pf_log(PF_LOG_INFO, NULL, "wave %s done; pausing %lld ms before wave %s", iw->name,
                   (long long)iw->pause_ms, r->next->wave->name);
            return ROLLOUT_PAUSE;
        }
    }
    if (r->at == AFTER_PAUSE) {
        WaveResult *w = r->wave;
        const InvWave *iw = w->wave;
        if (iw->confirm && !interrupted) {
            if (!r->run->assume_yes)
                return ROLLOUT_CONFIRM;
            w->confirm = WAVE_CONFIRM_ASSUMED;
            pf_log(PF_LOG_INFO, NULL, "wave %s done; starting wave %s without asking (--yes)",
                   iw->name, r->next->wave->name);
        }
        advance(r);
    }
    return next_wave(r, interrupted);
}

void fleet_rollout_ran(Rollout *r, bool interrupted, int64_t duration_ms)
{
    WaveResult *w = r->wave;
    const InvWave *iw = w->wave;
    w->duration_ms = duration_ms;
    w->state = interrupted ? WAVE_INTERRUPTED : WAVE_DONE;
    fleet_wave_tally(r->run, r->out, w);
    if (interrupted) {
        free(w->reason);
        w->reason = pf_strdup("interrupted while its targets ran");
    }
    WaveResult *next = fleet_wave_next(r->waves, r->n, r->i);
    char *veto = fleet_event_wave(r->run, w, next, PGFLEET_EVENT_WAVE_END);
    if (veto && next && !w->halted && !interrupted) {
        /* A plugin stopped the rollout here, as max_failures would. */
        w->halted = true;
        free(w->reason);
        w->reason = pf_asprintf("wave %s halted the rollout: %s", iw ? iw->name : "", veto);
        pf_log(PF_LOG_WARN, NULL, "%s", w->reason);
    }
    free(veto);
    if (interrupted) {
        advance(r);
        return;
    }
    if (w->halted) {
        r->stop = w->reason;
        advance(r);
        return;
    }
    if (!iw || w->n == 0 || !next) {
        advance(r);
        return;
    }
    r->next = next;
    r->at = AFTER_RUN;
}

void fleet_rollout_paused(Rollout *r, int64_t waited_ms)
{
    r->wave->paused_ms = waited_ms;
}

void fleet_rollout_answered(Rollout *r, WaveConfirm answer)
{
    WaveResult *w = r->wave;
    w->confirm = answer;
    if (answer == WAVE_CONFIRM_NO) {
        w->halted = true;
        free(w->reason);
        w->reason = pf_asprintf("the rollout stopped after wave %s: starting wave %s was "
                                "not confirmed",
                                w->wave->name, r->next->wave->name);
        pf_log(PF_LOG_WARN, NULL, "%s", w->reason);
        r->stop = w->reason;
    }
    advance(r);
}
