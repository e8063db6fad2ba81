/*
 * Unit tests for the rollout of apply (src/fleet/rollout.c), fed by hand as pool.c feeds it
 * from its threads: waves run in order with min(parallel, -j) workers; a wave that changed
 * something pauses before the next, one that changed nothing does not; a confirm asks unless
 * --yes; a failure past max_failures or a "no" skips every later wave with the reason on the
 * wave and its targets; an interrupt marks what had not started; waves outside --wave are
 * left alone.
 */
#include "core/mem.h"
#include "fleet/internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Three waves: canary (1 target, parallel 1, max_failures 0), early (2), rest (2). */
enum { N_WAVES = 3, N_TARGETS = 5 };
static const size_t WAVE_OF[N_TARGETS] = {0, 1, 1, 2, 2};

static InvWave iws[N_WAVES];
static InvTarget targets[N_TARGETS];
static TargetResult results[N_TARGETS];
static WaveResult waves[N_WAVES];
static FleetResult out;
static FleetRun run;
static Rollout r;

static int setup(void **state)
{
    static char *names[N_WAVES] = {"canary", "early", "rest"};
    static char *tnames[N_TARGETS] = {"c1", "e1", "e2", "r1", "r2"};
    memset(iws, 0, sizeof iws);
    memset(waves, 0, sizeof waves);
    for (size_t i = 0; i < N_WAVES; i++) {
        iws[i].name = names[i];
        iws[i].max_failures_text = i == 0 ? "0" : "10";
        waves[i].wave = &iws[i];
        waves[i].state = WAVE_SKIPPED; /* in the run, not started: as fleet_waves_prepare */
        waves[i].targets = pf_calloc(N_TARGETS, sizeof *waves[i].targets);
        waves[i].allowed = i == 0 ? 0 : 10;
    }
    iws[0].parallel = 1;
    for (size_t t = 0; t < N_TARGETS; t++) {
        targets[t] = (InvTarget){.name = tnames[t]};
        results[t] = (TargetResult){.target = &targets[t], .outcome = OUTCOME_SKIPPED};
        WaveResult *w = &waves[WAVE_OF[t]];
        results[t].wave = w->wave;
        w->targets[w->n++] = t;
    }
    out = (FleetResult){.mode = FLEET_APPLY, .targets = results, .n = N_TARGETS};
    run = (FleetRun){.mode = FLEET_APPLY, .jobs = 8, .n = N_TARGETS};
    fleet_rollout_init(&r, &run, &out, waves, N_WAVES);
    return 0;
}

static int teardown(void **state)
{
    for (size_t t = 0; t < N_TARGETS; t++)
        free(results[t].error);
    for (size_t i = 0; i < N_WAVES; i++) {
        free(waves[i].targets);
        free(waves[i].reason);
    }
    return 0;
}

/* What a worker leaves behind: every target of w ran, applying n_applied migrations each (0:
 * unchanged), or failed. */
static void targets_ran(const WaveResult *w, size_t n_applied, bool failed)
{
    for (size_t k = 0; k < w->n; k++) {
        TargetResult *res = &results[w->targets[k]];
        res->started = true;
        res->status = TARGET_BEHIND;
        res->outcome = failed ? OUTCOME_FAILED : n_applied ? OUTCOME_APPLIED : OUTCOME_UNCHANGED;
        res->n_applied_now = n_applied;
    }
}

/* Expect RUN of wave i, and run it. */
static void run_wave(size_t i, int workers, size_t n_applied, bool failed)
{
    assert_int_equal(fleet_rollout_next(&r, false), ROLLOUT_RUN);
    assert_ptr_equal(r.wave, &waves[i]);
    assert_int_equal(r.workers, workers);
    assert_true(waves[i].started_at[0] != '\0');
    targets_ran(&waves[i], n_applied, failed);
    fleet_rollout_ran(&r, false, 10 + (int64_t)i);
}

static void test_waves_run_in_order(void **state)
{
    run_wave(0, 1, 1, false); /* parallel 1 */
    run_wave(1, 8, 1, false); /* -j 8 */
    run_wave(2, 8, 1, false);
    assert_int_equal(fleet_rollout_next(&r, false), ROLLOUT_END);
    assert_int_equal(fleet_rollout_next(&r, false), ROLLOUT_END);
    for (size_t i = 0; i < N_WAVES; i++) {
        assert_int_equal(waves[i].state, WAVE_DONE);
        assert_int_equal(waves[i].duration_ms, 10 + (int64_t)i);
        assert_int_equal(waves[i].failures, 0);
        assert_false(waves[i].halted);
        assert_null(waves[i].reason);
        assert_int_equal(waves[i].confirm, WAVE_CONFIRM_NONE);
    }
}

static void test_pause_only_after_a_change(void **state)
{
    iws[0].pause_ms = 500;
    iws[1].pause_ms = 500;
    iws[2].pause_ms = 500; /* the last wave: nothing to pause before */
    run_wave(0, 1, 2, false);
    assert_int_equal(fleet_rollout_next(&r, false), ROLLOUT_PAUSE);
    assert_int_equal(r.pause_ms, 500);
    assert_ptr_equal(r.wave, &waves[0]);
    assert_ptr_equal(r.next, &waves[1]);
    fleet_rollout_paused(&r, 480);
    assert_int_equal(waves[0].paused_ms, 480);
    run_wave(1, 8, 0, false); /* all in sync: nothing to let settle */
    run_wave(2, 8, 1, false);
    assert_int_equal(fleet_rollout_next(&r, false), ROLLOUT_END);
    assert_int_equal(waves[1].paused_ms, 0);
    assert_int_equal(waves[2].paused_ms, 0);
}

static void test_confirm_yes(void **state)
{
    iws[0].confirm = true;
    iws[2].confirm = true; /* the last wave: nothing to confirm */
    run_wave(0, 1, 1, false);
    assert_int_equal(fleet_rollout_next(&r, false), ROLLOUT_CONFIRM);
    assert_ptr_equal(r.wave, &waves[0]);
    assert_ptr_equal(r.next, &waves[1]);
    fleet_rollout_answered(&r, WAVE_CONFIRM_YES);
    run_wave(1, 8, 1, false);
    run_wave(2, 8, 1, false);
    assert_int_equal(fleet_rollout_next(&r, false), ROLLOUT_END);
    assert_int_equal(waves[0].confirm, WAVE_CONFIRM_YES);
    assert_int_equal(waves[2].confirm, WAVE_CONFIRM_NONE);
}

static void test_pause_then_confirm(void **state)
{
    iws[0].pause_ms = 100;
    iws[0].confirm = true;
    run_wave(0, 1, 1, false);
    assert_int_equal(fleet_rollout_next(&r, false), ROLLOUT_PAUSE);
    fleet_rollout_paused(&r, 100);
    assert_int_equal(fleet_rollout_next(&r, false), ROLLOUT_CONFIRM);
    fleet_rollout_answered(&r, WAVE_CONFIRM_YES);
    run_wave(1, 8, 1, false);
}

static void test_confirm_assumed_with_yes(void **state)
{
    iws[0].confirm = true;
    run.assume_yes = true;
    run_wave(0, 1, 1, false);
    run_wave(1, 8, 1, false); /* no CONFIRM step */
    assert_int_equal(waves[0].confirm, WAVE_CONFIRM_ASSUMED);
}

static void test_confirm_no_skips_the_rest(void **state)
{
    iws[1].confirm = true;
    run_wave(0, 1, 1, false);
    run_wave(1, 8, 1, false);
    assert_int_equal(fleet_rollout_next(&r, false), ROLLOUT_CONFIRM);
    assert_ptr_equal(r.next, &waves[2]);
    fleet_rollout_answered(&r, WAVE_CONFIRM_NO);
    assert_int_equal(fleet_rollout_next(&r, false), ROLLOUT_END);
    const char *why = "the rollout stopped after wave early: starting wave rest was not confirmed";
    assert_int_equal(waves[1].state, WAVE_DONE);
    assert_true(waves[1].halted);
    assert_int_equal(waves[1].confirm, WAVE_CONFIRM_NO);
    assert_string_equal(waves[1].reason, why);
    assert_int_equal(waves[2].state, WAVE_SKIPPED);
    assert_string_equal(waves[2].reason, why);
    assert_string_equal(results[3].error, why);
    assert_string_equal(results[4].error, why);
    assert_false(results[3].started);
    assert_true(waves[2].started_at[0] == '\0');
}

static void test_failed_canary_halts(void **state)
{
    iws[0].confirm = true; /* a halted wave asks nothing */
    run_wave(0, 1, 0, true);
    assert_int_equal(fleet_rollout_next(&r, false), ROLLOUT_END);
    const char *why = "wave canary halted the rollout: 1 failure > max_failures 0";
    assert_int_equal(waves[0].state, WAVE_DONE);
    assert_int_equal(waves[0].failures, 1);
    assert_true(waves[0].halted);
    assert_string_equal(waves[0].reason, why);
    assert_int_equal(waves[0].confirm, WAVE_CONFIRM_NONE);
    for (size_t i = 1; i < N_WAVES; i++) {
        assert_int_equal(waves[i].state, WAVE_SKIPPED);
        assert_string_equal(waves[i].reason, why);
    }
    for (size_t t = 1; t < N_TARGETS; t++)
        assert_string_equal(results[t].error, why);
    assert_null(results[0].error); /* the canary's own target keeps its own error */
}

static void test_failures_within_max_failures_go_on(void **state)
{
    run_wave(0, 1, 1, false);
    run_wave(1, 8, 0, true); /* 2 failures, 10 allowed */
    assert_int_equal(waves[1].failures, 2);
    assert_false(waves[1].halted);
    run_wave(2, 8, 1, false);
}

static void test_interrupted_while_running(void **state)
{
    assert_int_equal(fleet_rollout_next(&r, false), ROLLOUT_RUN);
    targets_ran(&waves[0], 1, false);
    fleet_rollout_ran(&r, true, 5);
    assert_int_equal(waves[0].state, WAVE_INTERRUPTED);
    assert_string_equal(waves[0].reason, "interrupted while its targets ran");
    assert_int_equal(fleet_rollout_next(&r, true), ROLLOUT_END);
    assert_int_equal(waves[1].state, WAVE_INTERRUPTED);
    assert_string_equal(waves[1].reason, "interrupted before wave early started");
    assert_string_equal(results[1].error, "interrupted before wave early started");
    assert_int_equal(waves[2].state, WAVE_INTERRUPTED);
    assert_string_equal(waves[2].reason, "interrupted before wave rest started");
}

static void test_interrupted_at_a_pause_or_a_prompt(void **state)
{
    iws[0].pause_ms = 1000;
    iws[0].confirm = true;
    run_wave(0, 1, 1, false);
    assert_int_equal(fleet_rollout_next(&r, false), ROLLOUT_PAUSE);
    fleet_rollout_paused(&r, 120);                               /* SIGINT ended the pause */
    assert_int_equal(fleet_rollout_next(&r, true), ROLLOUT_END); /* and asks nothing */
    assert_int_equal(waves[0].state, WAVE_DONE);
    assert_int_equal(waves[0].confirm, WAVE_CONFIRM_NONE);
    assert_int_equal(waves[1].state, WAVE_INTERRUPTED);
    teardown(state);
    setup(state);

    iws[0].confirm = true;
    run_wave(0, 1, 1, false);
    assert_int_equal(fleet_rollout_next(&r, false), ROLLOUT_CONFIRM);
    fleet_rollout_answered(&r, WAVE_CONFIRM_INTERRUPTED);
    assert_int_equal(fleet_rollout_next(&r, true), ROLLOUT_END);
    assert_int_equal(waves[0].confirm, WAVE_CONFIRM_INTERRUPTED);
    assert_false(waves[0].halted);
    assert_int_equal(waves[1].state, WAVE_INTERRUPTED);
    assert_int_equal(waves[2].state, WAVE_INTERRUPTED);
}

static void test_waves_not_selected_are_left_alone(void **state)
{
    waves[0].state = WAVE_NOT_SELECTED; /* --from-wave early */
    run_wave(1, 8, 1, false);
    run_wave(2, 8, 1, false);
    assert_int_equal(fleet_rollout_next(&r, false), ROLLOUT_END);
    assert_int_equal(waves[0].state, WAVE_NOT_SELECTED);
    assert_true(waves[0].started_at[0] == '\0');
    assert_null(waves[0].reason);
    assert_null(results[0].error);
}

static void test_inventory_without_waves(void **state)
{
    /* One implicit wave (no InvWave) holding every target: -j workers, no pause, no confirm. */
    WaveResult all = {.state = WAVE_SKIPPED, .allowed = SIZE_MAX};
    all.targets = pf_calloc(N_TARGETS, sizeof *all.targets);
    for (size_t t = 0; t < N_TARGETS; t++)
        all.targets[all.n++] = t;
    fleet_rollout_init(&r, &run, &out, &all, 1);
    assert_int_equal(fleet_rollout_next(&r, false), ROLLOUT_RUN);
    assert_ptr_equal(r.wave, &all);
    assert_int_equal(r.workers, 8);
    targets_ran(&all, 0, true);
    fleet_rollout_ran(&r, false, 1);
    assert_int_equal(fleet_rollout_next(&r, false), ROLLOUT_END);
    assert_int_equal(all.state, WAVE_DONE);
    assert_int_equal(all.failures, N_TARGETS);
    assert_false(all.halted);
    free(all.targets);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_waves_run_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pause_only_after_a_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_confirm_yes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pause_then_confirm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_confirm_assumed_with_yes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_confirm_no_skips_the_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_canary_halts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures_within_max_failures_go_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupted_while_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupted_at_a_pause_or_a_prompt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_waves_not_selected_are_left_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inventory_without_waves, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
