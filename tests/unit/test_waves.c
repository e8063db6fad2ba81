/*
 * Unit tests for the inventory's waves (src/inventory/waves.c): each target goes to the first
 * wave that selects it, a target in no wave is an error naming it with its position, every
 * wave key is checked with the exact message users see, max_failures parses as a count or a
 * percentage, and --wave / --from-wave keep and order the selected targets.
 */
#include "core/mem.h"
#include "inventory/inventory.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static char g_dir[] = "/tmp/pf-waves-XXXXXX";

static char *write_file(const char *name, const char *yaml)
{
    char *path = pf_asprintf("%s/%s", g_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(yaml, f);
    fclose(f);
    return path;
}

static Inventory *load_ok(const char *yaml)
{
    char *path = write_file("inv.yaml", yaml);
    Inventory *inv = NULL;
    PfErr err = {0};
    PfErrCode rc = inv_load(path, &inv, &err);
    if (rc != PF_OK)
        print_error("unexpected error: %s\n", err.msg);
    assert_int_equal(rc, PF_OK);
    free(path);
    return inv;
}

/* Load yaml and check the error is PF_ERR_INPUT with "PATH:" + expected. */
static void load_fails(const char *yaml, const char *expected)
{
    char *path = write_file("bad.yaml", yaml);
    Inventory *inv = (Inventory *)&inv;
    PfErr err = {0};
    PfErrCode rc = inv_load(path, &inv, &err);
    char *want = pf_asprintf("%s:%s", path, expected);
    assert_int_equal(rc, PF_ERR_INPUT);
    assert_null(inv);
    assert_string_equal(err.msg, want);
    free(want);
    free(path);
}

static int setup(void **state)
{
    assert_non_null(mkdtemp(g_dir));
    return 0;
}

static int teardown(void **state)
{
    char *cmd = pf_asprintf("rm -rf '%s'", g_dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    return 0;
}

/* Five targets: staging, internal (a prod tenant used as canary), three prod tenants. */
#define FLEET                                                                                      \
    "targets:\n"                                                                                   \
    "  - name: staging\n"                                                                          \
    "    dsn: x\n"                                                                                 \
    "    labels: {env: staging}\n"                                                                 \
    "  - name: tenant-${each}\n"                                                                   \
    "    for_each: [internal, acme, globex, initech]\n"                                            \
    "    dsn: x\n"                                                                                 \
    "    labels: {env: prod, tier: \"${each}\"}\n"

static const char *wave_target(const Inventory *inv, const InvWave *w, size_t i)
{
    assert_true(i < w->n_targets);
    return inv->targets[w->targets[i]].name;
}

/* ---- assignment ---- */

static void test_first_wave_wins(void **state)
{
    Inventory *inv = load_ok(FLEET "waves:\n"
                                   "  - name: canary\n"
                                   "    targets: [staging, tenant-internal]\n"
                                   "  - name: prod-early\n"
                                   "    select: env=prod\n"
                                   "    targets: [tenant-internal, tenant-acme]\n"
                                   "  - name: rest\n"
                                   "    select: all\n");
    assert_int_equal(inv->n_waves, 3);
    const InvWave *canary = &inv->waves[0], *early = &inv->waves[1], *rest = &inv->waves[2];
    assert_string_equal(canary->name, "canary");
    assert_int_equal(canary->n_targets, 2);
    assert_string_equal(wave_target(inv, canary, 0), "staging");
    assert_string_equal(wave_target(inv, canary, 1), "tenant-internal");
    /* tenant-internal is selected by prod-early too, but canary came first */
    assert_int_equal(early->n_targets, 1);
    assert_string_equal(wave_target(inv, early, 0), "tenant-acme");
    assert_int_equal(rest->n_targets, 2);
    assert_true(rest->select_all);
    assert_string_equal(wave_target(inv, rest, 0), "tenant-globex");
    assert_string_equal(wave_target(inv, rest, 1), "tenant-initech");
    static const size_t want[] = {0, 0, 1, 2, 2};
    for (size_t i = 0; i < inv->n; i++)
        assert_int_equal(inv->wave_of[i], want[i]);
    assert_ptr_equal(inv_wave(inv, "rest"), rest);
    assert_null(inv_wave(inv, "nope"));
    inv_free(inv);
}

static void test_select_forms(void **state)
{
    /* select: a list of selectors (all must hold); targets: one glob as a string */
    Inventory *inv = load_ok(FLEET "waves:\n"
                                   "  - name: one\n"
                                   "    select: [env=prod, \"tier!=internal,tier=a*\"]\n"
                                   "  - name: two\n"
                                   "    targets: tenant-*\n"
                                   "  - name: three\n"
                                   "    targets: ['*']\n");
    assert_int_equal(inv->waves[0].n_selectors, 2);
    assert_int_equal(inv->waves[0].n_targets, 1);
    assert_string_equal(wave_target(inv, &inv->waves[0], 0), "tenant-acme");
    assert_int_equal(inv->waves[1].n_globs, 1);
    assert_int_equal(inv->waves[1].n_targets, 3);
    assert_int_equal(inv->waves[2].n_targets, 1);
    assert_string_equal(wave_target(inv, &inv->waves[2], 0), "staging");
    inv_free(inv);
}

static void test_settings(void **state)
{
    setenv("PF_WAVE_CHECK_TABLE", "users", 1);
    Inventory *inv =
        load_ok(FLEET "waves:\n"
                      "  - name: canary\n"
                      "    targets: staging\n"
                      "    parallel: 1\n"
                      "    max_failures: 0\n"
                      "    pause: 1.5s\n"
                      "    confirm: true\n"
                      "    check: select count(*) > 0 from ${PF_WAVE_CHECK_TABLE}\n"
                      "  - {name: rest, select: all, max_failures: 2.5%, pause: 2m}\n");
    const InvWave *c = &inv->waves[0], *r = &inv->waves[1];
    assert_int_equal(c->parallel, 1);
    assert_false(c->max_failures_pct);
    assert_int_equal(c->max_failures, 0);
    assert_string_equal(c->max_failures_text, "0");
    assert_int_equal(c->pause_ms, 1500);
    assert_true(c->confirm);
    assert_string_equal(c->check, "select count(*) > 0 from users");
    assert_int_equal(c->line, 10);
    assert_int_equal(c->column, 5);
    /* defaults: no parallel limit, max_failures 0, no pause, no confirm, no check */
    assert_int_equal(r->parallel, 0);
    assert_true(r->max_failures_pct);
    assert_int_equal(r->max_failures, 250);
    assert_string_equal(r->max_failures_text, "2.5%");
    assert_int_equal(r->pause_ms, 120000);
    assert_false(r->confirm);
    assert_null(r->check);
    inv_free(inv);

    inv = load_ok(FLEET "waves:\n  - {name: all, select: all}\n");
    assert_int_equal(inv->waves[0].max_failures, 0);
    assert_string_equal(inv->waves[0].max_failures_text, "0");
    inv_free(inv);
    unsetenv("PF_WAVE_CHECK_TABLE");
}

static void test_no_waves(void **state)
{
    Inventory *inv = load_ok(FLEET);
    assert_int_equal(inv->n_waves, 0);
    assert_null(inv->wave_of);
    inv_free(inv);
    inv = load_ok(FLEET "waves: []\n");
    assert_int_equal(inv->n_waves, 0);
    inv_free(inv);
    inv = load_ok(FLEET "waves:\n");
    assert_int_equal(inv->n_waves, 0);
    inv_free(inv);
}

static void test_target_in_no_wave(void **state)
{
    /* The error points at the target's entry, and names it and the waves' line. */
    load_fails(FLEET "waves:\n"
                     "  - {name: canary, targets: [staging]}\n"
                     "  - {name: prod, select: \"env=prod,tier!=initech\"}\n",
               "5:5: target 'tenant-initech' is in no wave; hint: select it in one of the waves "
               "(line 10), or end them with a wave that has select: all");
    load_fails(FLEET "waves:\n  - {name: prod, select: env=prod}\n",
               "2:5: target 'staging' is in no wave; hint: select it in one of the waves (line "
               "10), or end them with a wave that has select: all");
    /* a wave that selects everything covers every target */
    Inventory *inv = load_ok(FLEET "waves:\n  - {name: prod, select: env=prod}\n"
                                   "  - {name: all, targets: '*'}\n");
    assert_int_equal(inv->waves[1].n_targets, 1);
    inv_free(inv);
}

/* ---- errors ---- */

static void test_wave_errors(void **state)
{
    load_fails(FLEET "waves: {canary: x}\n", "9:8: waves must be a sequence, not a mapping");
    load_fails(FLEET "waves:\n  - canary\n", "10:5: each wave must be a mapping, not a scalar");
    load_fails(FLEET "waves:\n  - {select: all}\n", "10:5: missing key 'name' in wave");
    load_fails(FLEET "waves:\n  - {name: a, select: all, paralel: 2}\n",
               "10:28: unknown key 'paralel' in wave; expected one of: name, select, targets, "
               "parallel, max_failures, pause, confirm, check; hint: did you mean 'parallel'?");
    load_fails(FLEET "waves:\n  - {name: a, select: all, speed: 2}\n",
               "10:28: unknown key 'speed' in wave; expected one of: name, select, targets, "
               "parallel, max_failures, pause, confirm, check");
    load_fails(FLEET "waves:\n  - {name: a, select: all, name: b}\n",
               "10:28: duplicate key 'name' (first at line 10)");
    load_fails(FLEET "waves:\n  - {name: a}\n",
               "10:5: wave 'a' selects no target; hint: add select (label selectors, or all) "
               "and/or targets (name globs)");
    load_fails(FLEET "waves:\n  - {name: a, select: all}\n  - {name: a, select: all}\n",
               "11:12: duplicate wave name 'a' (first at line 10)");
    load_fails(FLEET "waves:\n  - {name: 'a b', select: all}\n",
               "10:12: bad wave name 'a b': use letters, digits, '-', '_' and '.' (it is named "
               "by --wave and in reports)");
    load_fails(FLEET "waves:\n  - {name: a, select: all, parallel: 0}\n",
               "10:38: bad parallel '0'; expected a number of targets from 1 to 100000");
    load_fails(FLEET "waves:\n  - {name: a, select: all, parallel: two}\n",
               "10:38: bad parallel 'two'; expected a number of targets from 1 to 100000");
    load_fails(FLEET "waves:\n  - {name: a, select: all, max_failures: 120%}\n",
               "10:42: bad max_failures '120%'; expected a count of targets (0, 3) or a "
               "percentage of the wave from 0% to 100% (10%, 2.5%)");
    load_fails(FLEET "waves:\n  - {name: a, select: all, max_failures: -1}\n",
               "10:42: bad max_failures '-1'; expected a count of targets (0, 3) or a "
               "percentage of the wave from 0% to 100% (10%, 2.5%)");
    load_fails(FLEET "waves:\n  - name: a\n    select: all\n    max_failures:\n",
               "12:18: missing value for max_failures");
    load_fails(FLEET "waves:\n  - {name: a, select: all, pause: 5x}\n",
               "10:35: bad duration '5x' for pause; expected e.g. 30s, 500ms, 2m, 1h or a "
               "number of seconds (0 = none)");
    load_fails(FLEET "waves:\n  - {name: a, select: all, confirm: yes}\n",
               "10:37: bad confirm 'yes'; expected true or false");
    load_fails(FLEET "waves:\n  - {name: a, select: all, check: ''}\n",
               "10:35: check must not be empty (after expansion)");
    load_fails(FLEET "waves:\n  - {name: a, select: all, check: [x]}\n",
               "10:35: check must be a string, not a sequence");
    load_fails(FLEET "waves:\n  - {name: a, select: prod}\n",
               "10:23: bad selector 'prod': expected key=value or key!=value; hint: select takes "
               "label selectors as -s does (env=prod,region!=eu), or all");
    load_fails(FLEET "waves:\n  - {name: a, select: [env=prod, '=x']}\n",
               "10:34: bad selector '=x': expected key=value or key!=value; hint: select takes "
               "label selectors as -s does (env=prod,region!=eu), or all");
    load_fails(FLEET "waves:\n  - {name: a, select: []}\n", "10:23: select must not be empty");
    load_fails(FLEET "waves:\n  - {name: a, targets: {x: y}}\n",
               "10:24: targets must be a string or a sequence of strings, not a mapping");
    load_fails(FLEET "waves:\n  - {name: a, select: all, targets: staging}\n",
               "10:23: select: all takes every remaining target: it cannot be combined with "
               "other selectors or with targets");
    load_fails(FLEET "waves:\n  - {name: a, select: [all, env=prod]}\n",
               "10:23: select: all takes every remaining target: it cannot be combined with "
               "other selectors or with targets");
    load_fails(FLEET "waves:\n  - {name: a, select: all, check: \"${PF_NOT_SET_ANYWHERE}\"}\n",
               "10:35: environment variable PF_NOT_SET_ANYWHERE is not set (and has no "
               "default)");
}

/* ---- max_failures ---- */

static void test_parse_max_failures(void **state)
{
    static const struct {
        const char *text;
        int64_t value;
        bool pct;
    } good[] = {
        {"0", 0, false},       {"3", 3, false},       {"10%", 1000, true},
        {"0%", 0, true},       {"2.5%", 250, true},   {"0.25%", 25, true},
        {"100%", 10000, true}, {"50.0%", 5000, true}, {"007", 7, false},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t v = -1;
        bool pct = !good[i].pct;
        assert_true(inv_parse_max_failures(good[i].text, &v, &pct));
        assert_int_equal(v, good[i].value);
        assert_int_equal(pct, good[i].pct);
    }
    static const char *const bad[] = {"",     "-1",  "+1",  "1.5",    "101%", "100.01%",
                                      "5 %",  "%",   ".5%", "1.234%", "abc",  "1e3",
                                      "10%%", "5.%", " 5",  "3 "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v;
        bool pct;
        if (inv_parse_max_failures(bad[i], &v, &pct))
            fail_msg("'%s' should not parse", bad[i]);
    }
}

static void test_allowed_failures(void **state)
{
    InvWave w = {0};
    w.max_failures_pct = true;
    w.max_failures = 5000;                                 /* 50% */
    assert_int_equal(inv_wave_allowed_failures(&w, 5), 2); /* 2.5 rounds down: 3 of 5 halts */
    assert_int_equal(inv_wave_allowed_failures(&w, 4), 2);
    assert_int_equal(inv_wave_allowed_failures(&w, 0), 0);
    w.max_failures = 250; /* 2.5% */
    assert_int_equal(inv_wave_allowed_failures(&w, 400), 10);
    assert_int_equal(inv_wave_allowed_failures(&w, 39), 0);
    w.max_failures = 10000;
    assert_int_equal(inv_wave_allowed_failures(&w, 7), 7);
    w.max_failures_pct = false;
    w.max_failures = 3;
    assert_int_equal(inv_wave_allowed_failures(&w, 1), 3);
}

/* ---- --wave / --from-wave ---- */

static void test_waves_select(void **state)
{
    /* In the file, rest's targets come before canary's: the run goes wave by wave. */
    Inventory *inv = load_ok(FLEET "waves:\n"
                                   "  - {name: canary, targets: [tenant-globex]}\n"
                                   "  - {name: early, targets: [staging, tenant-acme]}\n"
                                   "  - {name: rest, select: all}\n");
    size_t idx[5], n = 5, first = 9, end = 9;
    PfErr err = {0};
    for (size_t i = 0; i < 5; i++)
        idx[i] = i;
    assert_int_equal(inv_waves_select(inv, NULL, NULL, idx, &n, &first, &end, &err), PF_OK);
    assert_int_equal(first, 0);
    assert_int_equal(end, 3);
    assert_int_equal(n, 5);
    static const size_t all[] = {3, 0, 2, 1, 4};
    for (size_t i = 0; i < n; i++)
        assert_int_equal(idx[i], all[i]);

    for (size_t i = 0; i < 5; i++)
        idx[i] = i;
    n = 5;
    assert_int_equal(inv_waves_select(inv, NULL, "early", idx, &n, &first, &end, &err), PF_OK);
    assert_int_equal(first, 1);
    assert_int_equal(end, 3);
    assert_int_equal(n, 4);
    static const size_t from[] = {0, 2, 1, 4};
    for (size_t i = 0; i < n; i++)
        assert_int_equal(idx[i], from[i]);

    /* --wave early, with staging not selected (-t tenant-*) */
    size_t some[] = {1, 2, 3, 4};
    n = 4;
    assert_int_equal(inv_waves_select(inv, "early", NULL, some, &n, &first, &end, &err), PF_OK);
    assert_int_equal(first, 1);
    assert_int_equal(end, 2);
    assert_int_equal(n, 1);
    assert_int_equal(some[0], 2);

    n = 5;
    assert_int_equal(inv_waves_select(inv, "nope", NULL, idx, &n, &first, &end, &err),
                     PF_ERR_INPUT);
    char *want = pf_asprintf("%s: unknown wave 'nope' in --wave; expected one of: canary, early, "
                             "rest",
                             inv->path);
    assert_string_equal(err.msg, want);
    free(want);
    assert_int_equal(inv_waves_select(inv, "rest", "canary", idx, &n, &first, &end, &err),
                     PF_ERR_INPUT);
    assert_string_equal(err.msg, "--wave and --from-wave cannot be combined: --wave runs one "
                                 "wave, --from-wave that wave and the ones after it");
    inv_free(inv);

    inv = load_ok(FLEET);
    n = 5;
    for (size_t i = 0; i < 5; i++)
        idx[i] = 4 - i;
    assert_int_equal(inv_waves_select(inv, NULL, NULL, idx, &n, &first, &end, &err), PF_OK);
    assert_int_equal(n, 5);
    assert_int_equal(idx[0], 4); /* unchanged without waves */
    assert_int_equal(end, 0);
    assert_int_equal(inv_waves_select(inv, NULL, "canary", idx, &n, &first, &end, &err),
                     PF_ERR_INPUT);
    want = pf_asprintf("%s: --from-wave canary: the inventory defines no waves; hint: see "
                       "docs/waves.md",
                       inv->path);
    assert_string_equal(err.msg, want);
    free(want);
    inv_free(inv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_wave_wins),    cmocka_unit_test(test_select_forms),
        cmocka_unit_test(test_settings),           cmocka_unit_test(test_no_waves),
        cmocka_unit_test(test_target_in_no_wave),  cmocka_unit_test(test_wave_errors),
        cmocka_unit_test(test_parse_max_failures), cmocka_unit_test(test_allowed_failures),
        cmocka_unit_test(test_waves_select),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
