/* plan_classify: every status, several problems at once, v1 name matching, apply gating. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "plan/plan.h"

#include <string.h>

static CbMigration migs[3] = {
    {.tag = "0000_init", .when = 1000, .hash = "aaaa"},
    {.tag = "0001_users", .when = 2000, .hash = "bbbb"},
    {.tag = "0002_orgs", .when = 3000, .hash = "cccc"},
};
static Codebase cb = {.dir = "x", .layout = CB_LAYOUT_JOURNAL, .migrations = migs, .n = 3};

static LedgerRow row(int64_t id, const char *hash, int64_t created_at)
{
    return (LedgerRow){
        .id = id, .hash = (char *)hash, .has_created_at = true, .created_at = created_at};
}

static Plan classify(LedgerRow *rows, size_t n, bool exists)
{
    Ledger l = {.exists = exists, .rows = rows, .n = n};
    Plan p;
    plan_classify(&cb, &l, &p);
    return p;
}

static void test_uninitialized(void **state)
{
    Plan p = classify(NULL, 0, false);
    assert_int_equal(p.status, TARGET_UNINITIALIZED);
    assert_int_equal(p.n_pending, 3);
    assert_int_equal(p.n_problems, 0);
    plan_clear(&p);
}

static void test_empty_ledger_is_behind(void **state)
{
    Plan p = classify(NULL, 0, true);
    assert_int_equal(p.status, TARGET_BEHIND);
    assert_int_equal(p.n_pending, 3);
    plan_clear(&p);
}

static void test_in_sync(void **state)
{
    LedgerRow rows[] = {row(1, "aaaa", 1000), row(2, "bbbb", 2000), row(3, "cccc", 3000)};
    Plan p = classify(rows, 3, true);
    assert_int_equal(p.status, TARGET_IN_SYNC);
    assert_int_equal(p.n_pending, 0);
    assert_int_equal(p.n_applied, 3);
    const char *why = NULL;
    assert_true(plan_can_apply(&p, false, &why));
    plan_clear(&p);
}

static void test_behind_lists_pending_in_order(void **state)
{
    LedgerRow rows[] = {row(1, "aaaa", 1000)};
    Plan p = classify(rows, 1, true);
    assert_int_equal(p.status, TARGET_BEHIND);
    assert_int_equal(p.n_pending, 2);
    assert_int_equal(p.pending[0], 1);
    assert_int_equal(p.pending[1], 2);
    assert_int_equal(p.n_problems, 0);
    plan_clear(&p);
}

static void test_out_of_order(void **state)
{
    /* 0001 was merged late: 0002 is applied, 0001 is not. */
    LedgerRow rows[] = {row(1, "aaaa", 1000), row(2, "cccc", 3000)};
    Plan p = classify(rows, 2, true);
    assert_int_equal(p.status, TARGET_OUT_OF_ORDER);
    assert_int_equal(p.n_pending, 1);
    assert_int_equal(p.pending[0], 1);
    assert_int_equal(p.n_problems, 1);
    assert_int_equal(p.problems[0].kind, TARGET_OUT_OF_ORDER);
    assert_string_equal(p.problems[0].tag, "0001_users");
    assert_non_null(strstr(p.problems[0].message, "drizzle's migrator would skip it"));
    const char *why = NULL;
    assert_false(plan_can_apply(&p, false, &why));
    assert_non_null(strstr(why, "--allow-out-of-order"));
    assert_true(plan_can_apply(&p, true, &why));
    plan_clear(&p);
}

/* What `apply --allow-out-of-order` leaves behind: 0001 applied last, so the row with the
 * largest id is not the newest. A migration merged later still older than the newest created_at
 * is out_of_order (judged against 3000, not against the last row's 2000); one newer than every
 * row is plainly pending. */
static void test_out_of_order_after_allowed_apply(void **state)
{
    CbMigration late[5] = {
        {.tag = "0000_init", .when = 1000, .hash = "aaaa"},
        {.tag = "0001_users", .when = 2000, .hash = "bbbb"},
        {.tag = "0002_late", .when = 2500, .hash = "dddd"},
        {.tag = "0003_orgs", .when = 3000, .hash = "cccc"},
        {.tag = "0004_next", .when = 4000, .hash = "eeee"},
    };
    Codebase lcb = {.dir = "x", .layout = CB_LAYOUT_JOURNAL, .migrations = late, .n = 4};
    LedgerRow rows[] = {row(1, "aaaa", 1000), row(2, "cccc", 3000), row(3, "bbbb", 2000)};
    Ledger l = {.exists = true, .rows = rows, .n = 3};
    Plan p;
    plan_classify(&lcb, &l, &p);
    assert_int_equal(p.status, TARGET_OUT_OF_ORDER);
    assert_int_equal(p.n_applied, 3);
    assert_int_equal(p.n_pending, 1);
    assert_int_equal(p.pending[0], 2);
    assert_int_equal(p.n_problems, 1);
    assert_int_equal(p.problems[0].kind, TARGET_OUT_OF_ORDER);
    assert_string_equal(p.problems[0].tag, "0002_late");
    assert_non_null(strstr(p.problems[0].message, "(created_at 3000)"));
    plan_clear(&p);

    /* Without 0002_late, 0004_next (newer than every row) is behind. */
    late[2] = late[3];
    late[3] = late[4];
    plan_classify(&lcb, &l, &p);
    assert_int_equal(p.status, TARGET_BEHIND);
    assert_int_equal(p.n_pending, 1);
    assert_int_equal(p.pending[0], 3);
    assert_int_equal(p.n_problems, 0);
    plan_clear(&p);
}

/* "Older than, or as old as": two journal entries with the same `when`, the ledger holding the
 * first. drizzle 0.x runs a migration only when its `when` is above the newest created_at, so it
 * skips the second: out_of_order, not behind. */
static void test_out_of_order_as_old_as(void **state)
{
    CbMigration same[3] = {
        {.tag = "0000_init", .when = 1000, .hash = "aaaa"},
        {.tag = "0001_users", .when = 2000, .hash = "bbbb"},
        {.tag = "0002_twin", .when = 2000, .hash = "dddd"},
    };
    Codebase scb = {.dir = "x", .layout = CB_LAYOUT_JOURNAL, .migrations = same, .n = 3};
    LedgerRow rows[] = {row(1, "aaaa", 1000), row(2, "bbbb", 2000)};
    Ledger l = {.exists = true, .rows = rows, .n = 2};
    Plan p;
    plan_classify(&scb, &l, &p);
    assert_int_equal(p.status, TARGET_OUT_OF_ORDER);
    assert_int_equal(p.n_pending, 1);
    assert_int_equal(p.pending[0], 2);
    assert_int_equal(p.n_problems, 1);
    assert_string_equal(p.problems[0].tag, "0002_twin");
    plan_clear(&p);
}

static void test_modified(void **state)
{
    LedgerRow rows[] = {row(1, "aaaa", 1000), row(2, "ffff", 2000)};
    Plan p = classify(rows, 2, true);
    assert_int_equal(p.status, TARGET_MODIFIED);
    assert_int_equal(p.n_problems, 1);
    assert_string_equal(p.problems[0].tag, "0001_users");
    assert_int_equal(p.problems[0].ledger_id, 2);
    assert_int_equal(p.n_pending, 1); /* 0002 is still pending */
    const char *why = NULL;
    assert_false(plan_can_apply(&p, true, &why));
    plan_clear(&p);
}

static void test_ahead(void **state)
{
    LedgerRow rows[] = {row(1, "aaaa", 1000), row(2, "bbbb", 2000), row(3, "cccc", 3000),
                        row(4, "dddd", 4000)};
    Plan p = classify(rows, 4, true);
    assert_int_equal(p.status, TARGET_AHEAD);
    assert_int_equal(p.n_problems, 1);
    assert_null(p.problems[0].tag);
    assert_int_equal(p.problems[0].ledger_id, 4);
    assert_int_equal(p.n_pending, 0);
    plan_clear(&p);
}

static void test_foreign(void **state)
{
    LedgerRow rows[] = {row(1, "zzzz", 1500)};
    Plan p = classify(rows, 1, true);
    assert_int_equal(p.status, TARGET_FOREIGN);
    /* 0000 (when 1000) is older than the foreign row: out of order too, and listed. */
    assert_int_equal(p.n_problems, 2);
    assert_int_equal(p.problems[0].kind, TARGET_FOREIGN);
    assert_int_equal(p.problems[1].kind, TARGET_OUT_OF_ORDER);
    assert_string_equal(p.problems[1].tag, "0000_init");
    plan_clear(&p);
}

static void test_null_created_at_is_foreign(void **state)
{
    LedgerRow r = {.id = 7, .hash = "aaaa", .has_created_at = false};
    Plan p = classify(&r, 1, true);
    assert_int_equal(p.status, TARGET_FOREIGN);
    assert_int_equal(p.problems[0].ledger_id, 7);
    plan_clear(&p);
}

static void test_several_problems_all_listed(void **state)
{
    /* modified 0000, 0001 skipped (out of order), foreign row, and a row from the future. */
    LedgerRow rows[] = {row(1, "xxxx", 1000), row(2, "cccc", 3000), row(3, "qqqq", 2500),
                        row(4, "dddd", 9000)};
    Plan p = classify(rows, 4, true);
    assert_int_equal(p.status, TARGET_FOREIGN); /* the most serious */
    bool seen[TARGET_STATUS_COUNT] = {false};
    for (size_t i = 0; i < p.n_problems; i++)
        seen[p.problems[i].kind] = true;
    assert_true(seen[TARGET_MODIFIED]);
    assert_true(seen[TARGET_OUT_OF_ORDER]);
    assert_true(seen[TARGET_FOREIGN]);
    assert_true(seen[TARGET_AHEAD]);
    assert_int_equal(p.n_problems, 4);
    plan_clear(&p);
}

static void test_v1_matches_by_name_first(void **state)
{
    CbMigration v1[2] = {
        {.tag = "20250101000000_a", .when = 1735689600000, .hash = "h1"},
        {.tag = "20250101000000_b", .when = 1735689600000, .hash = "h2"},
    };
    Codebase cb1 = {.dir = "x", .layout = CB_LAYOUT_FOLDERS, .migrations = v1, .n = 2};
    LedgerRow rows[2] = {row(1, "h2", 1735689600000), row(2, "h1", 1735689600000)};
    rows[0].name = "20250101000000_b";
    rows[1].name = "20250101000000_a";
    Ledger l = {.exists = true, .has_name_column = true, .rows = rows, .n = 2};
    Plan p;
    plan_classify(&cb1, &l, &p);
    assert_int_equal(p.status, TARGET_IN_SYNC);
    assert_int_equal(p.n_applied, 2);
    plan_clear(&p);

    /* An old ledger without names: two folders in the same second, told apart by hash. */
    LedgerRow old = row(1, "h2", 1735689600000);
    Ledger l2 = {.exists = true, .rows = &old, .n = 1};
    plan_classify(&cb1, &l2, &p);
    assert_int_equal(p.n_applied, 1);
    assert_int_equal(p.n_pending, 1);
    assert_int_equal(p.pending[0], 0);
    /* drizzle v1 applies any folder missing from the ledger: pending, not out of order. */
    assert_int_equal(p.status, TARGET_BEHIND);
    assert_int_equal(p.n_problems, 0);
    plan_clear(&p);
}

/* A database without the ledger: what the survey found there (plan_no_ledger). */
static PlanObject obj(const char *kind, const char *schema, const char *name, size_t migration)
{
    return (PlanObject){kind, (char *)schema, (char *)name, migration};
}

static Plan classify_no_ledger(PlanObject *existing, size_t n_existing, PlanLedgerLike *lookalikes,
                               size_t n_lookalikes)
{
    Plan p = classify(NULL, 0, false);
    PlanNoLedger f = {existing, n_existing, lookalikes, n_lookalikes};
    plan_no_ledger(&p, &cb, "drizzle", "__drizzle_migrations", &f);
    return p;
}

static void test_no_ledger_nothing_found(void **state)
{
    Plan p = classify_no_ledger(NULL, 0, NULL, 0);
    assert_int_equal(p.status, TARGET_UNINITIALIZED);
    assert_int_equal(p.n_problems, 0);
    const char *why = NULL;
    assert_true(plan_can_apply(&p, false, &why));
    plan_clear(&p);
}

static void test_unmanaged(void **state)
{
    PlanObject o[] = {obj("type", "public", "user_role", 0), obj("table", "public", "users", 0),
                      obj("schema", NULL, "billing", 1), obj("table", "billing", "invoices", 1),
                      obj("sequence", "public", "seq", 1)};
    Plan p = classify_no_ledger(o, 5, NULL, 0);
    assert_int_equal(p.status, TARGET_UNMANAGED);
    assert_int_equal(p.n_pending, 3); /* still every migration */
    assert_int_equal(p.n_problems, 1);
    assert_int_equal(p.problems[0].kind, TARGET_UNMANAGED);
    assert_null(p.problems[0].tag);
    assert_string_equal(p.problems[0].message,
                        "no ledger, but 5 objects its migrations create already exist: type "
                        "public.user_role, table public.users, schema billing and 2 more (the "
                        "newest from 0001_users); hint: adopt it with pgfleet mark-applied "
                        "--through TAG (the last migration it already holds), then apply");
    const char *why = NULL;
    assert_false(plan_can_apply(&p, false, &why));
    assert_false(plan_can_apply(&p, true, &why));
    assert_string_equal(why, "unmanaged: no ledger, but 5 objects its migrations create already "
                             "exist: type public.user_role, table public.users, schema billing "
                             "and 2 more (the newest from 0001_users); hint: adopt it with "
                             "pgfleet mark-applied --through TAG (the last migration it already "
                             "holds), then apply");
    plan_clear(&p);

    PlanObject one[] = {obj("table", "public", "users", 2)};
    p = classify_no_ledger(one, 1, NULL, 0);
    assert_string_equal(p.problems[0].message,
                        "no ledger, but 1 object its migrations create already exists: table "
                        "public.users (the newest from 0002_orgs); hint: adopt it with pgfleet "
                        "mark-applied --through TAG (the last migration it already holds), then "
                        "apply");
    plan_clear(&p);
}

/* unmanaged is more serious than uninitialized, less than any status read from ledger rows. */
static void test_unmanaged_severity(void **state)
{
    assert_true(TARGET_UNMANAGED > TARGET_UNINITIALIZED);
    assert_true(TARGET_UNMANAGED < TARGET_AHEAD);
    assert_string_equal(plan_status_name(TARGET_UNMANAGED), "unmanaged");
    /* Without the survey's facts (a plan made by hand), apply still refuses with the hint. */
    Plan p = {.status = TARGET_UNMANAGED};
    const char *why = NULL;
    assert_false(plan_can_apply(&p, false, &why));
    assert_non_null(strstr(why, "hint: adopt it with pgfleet mark-applied --through TAG"));
}

static void test_ledger_elsewhere(void **state)
{
    PlanLedgerLike l[] = {{"public", "__drizzle_migrations", 12}};
    Plan p = classify_no_ledger(NULL, 0, l, 1);
    assert_int_equal(p.status, TARGET_UNINITIALIZED);
    assert_int_equal(p.n_problems, 1);
    assert_int_equal(p.problems[0].kind, TARGET_UNINITIALIZED);
    assert_string_equal(
        p.problems[0].message,
        "no ledger at drizzle.__drizzle_migrations, but public.__drizzle_migrations "
        "looks like one (12 rows); hint: set migrations: {schema: public, table: "
        "__drizzle_migrations} in the inventory, or -c drizzle.config.ts");
    const char *why = NULL;
    assert_false(plan_can_apply(&p, false, &why));
    assert_string_equal(why, "no ledger at drizzle.__drizzle_migrations, but "
                             "public.__drizzle_migrations looks like one (12 rows): a new ledger "
                             "here would start from zero beside it; hint: set migrations: {schema: "
                             "public, table: __drizzle_migrations} in the inventory, or -c "
                             "drizzle.config.ts");
    plan_clear(&p);
}

/* Both: unmanaged, and the hint points at the ledger found, not at adopting it anew; the one
 * with the most rows comes first. */
static void test_unmanaged_with_ledger_elsewhere(void **state)
{
    PlanObject o[] = {obj("table", "public", "users", 1)};
    PlanLedgerLike l[] = {{"drizzle", "old", 1}, {"public", "__drizzle_migrations", 2}};
    Plan p = classify_no_ledger(o, 1, l, 2);
    assert_int_equal(p.status, TARGET_UNMANAGED);
    assert_int_equal(p.n_problems, 2);
    assert_int_equal(p.problems[0].kind, TARGET_UNMANAGED);
    assert_string_equal(p.problems[0].message,
                        "no ledger, but 1 object its migrations create already exists: table "
                        "public.users (the newest from 0001_users); hint: its ledger looks to be "
                        "public.__drizzle_migrations: set migrations: {schema: public, table: "
                        "__drizzle_migrations} in the inventory, or -c drizzle.config.ts");
    assert_int_equal(p.problems[1].kind, TARGET_UNINITIALIZED);
    assert_string_equal(
        p.problems[1].message,
        "no ledger at drizzle.__drizzle_migrations, but public.__drizzle_migrations "
        "(2 rows) and drizzle.old (1 row) look like one; hint: set migrations: "
        "{schema: public, table: __drizzle_migrations} in the inventory, or -c "
        "drizzle.config.ts");
    const char *why = NULL;
    assert_false(plan_can_apply(&p, false, &why));
    assert_non_null(strstr(why, "a new ledger here would start from zero beside it"));
    plan_clear(&p);
}

static void test_status_names(void **state)
{
    assert_string_equal(plan_status_name(TARGET_IN_SYNC), "in_sync");
    assert_string_equal(plan_status_name(TARGET_OUT_OF_ORDER), "out_of_order");
    assert_string_equal(plan_status_name(TARGET_UNREACHABLE), "unreachable");
    assert_string_equal(plan_status_name((TargetStatus)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uninitialized),
        cmocka_unit_test(test_empty_ledger_is_behind),
        cmocka_unit_test(test_in_sync),
        cmocka_unit_test(test_behind_lists_pending_in_order),
        cmocka_unit_test(test_out_of_order),
        cmocka_unit_test(test_out_of_order_after_allowed_apply),
        cmocka_unit_test(test_out_of_order_as_old_as),
        cmocka_unit_test(test_modified),
        cmocka_unit_test(test_ahead),
        cmocka_unit_test(test_foreign),
        cmocka_unit_test(test_null_created_at_is_foreign),
        cmocka_unit_test(test_several_problems_all_listed),
        cmocka_unit_test(test_v1_matches_by_name_first),
        cmocka_unit_test(test_no_ledger_nothing_found),
        cmocka_unit_test(test_unmanaged),
        cmocka_unit_test(test_unmanaged_severity),
        cmocka_unit_test(test_ledger_elsewhere),
        cmocka_unit_test(test_unmanaged_with_ledger_elsewhere),
        cmocka_unit_test(test_status_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
