/*
 * Unit tests for the work queue of a fleet run (src/fleet/queue.c), driven without threads as
 * the pool's workers and supervisor drive it: a batch hands out each target once, in order,
 * and nothing once interrupted; counts add up across batches; the progress line says them,
 * with the phase; a prompt keeps the progress line off the terminal. Last, workers on threads
 * take from one batch while a supervisor reads the counts (run under ThreadSanitizer by
 * scripts/test.sh): each target still goes to exactly one of them.
 */
#include "fleet/internal.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void test_batch_hands_out_each_target_once(void **state)
{
    FleetQueue q;
    fleet_queue_init(&q);
    atomic_int interrupted;
    atomic_init(&interrupted, 0);
    size_t t = 99;
    assert_false(fleet_queue_take(&q, &interrupted, &t)); /* no batch yet */
    assert_int_equal(t, 99);

    const size_t items[] = {4, 0, 7};
    fleet_queue_batch(&q, items, 3);
    assert_true(fleet_queue_take(&q, &interrupted, &t));
    assert_int_equal(t, 4);
    assert_true(fleet_queue_take(&q, &interrupted, &t));
    assert_int_equal(t, 0);
    assert_true(fleet_queue_take(&q, &interrupted, &t));
    assert_int_equal(t, 7);
    assert_false(fleet_queue_take(&q, &interrupted, &t));
    assert_false(fleet_queue_take(&q, &interrupted, &t)); /* stays exhausted */

    /* The next batch (the next wave) starts from its own first target. */
    const size_t wave2[] = {2};
    fleet_queue_batch(&q, wave2, 1);
    assert_true(fleet_queue_take(&q, &interrupted, &t));
    assert_int_equal(t, 2);
    assert_false(fleet_queue_take(&q, &interrupted, &t));
    fleet_queue_destroy(&q);
}

static void test_interrupted_takes_nothing(void **state)
{
    FleetQueue q;
    fleet_queue_init(&q);
    atomic_int interrupted;
    atomic_init(&interrupted, 0);
    const size_t items[] = {0, 1, 2};
    fleet_queue_batch(&q, items, 3);
    size_t t;
    assert_true(fleet_queue_take(&q, &interrupted, &t));
    atomic_store(&interrupted, 1);
    assert_false(fleet_queue_take(&q, &interrupted, &t));
    assert_int_equal(t, 0);
    fleet_queue_destroy(&q);
}

static void test_progress_counts_and_phase(void **state)
{
    FleetQueue q;
    fleet_queue_init(&q);
    char line[128];
    int n = fleet_queue_progress(&q, 5, line, sizeof line);
    assert_string_equal(line, "[0/5] 0 failed");
    assert_int_equal(n, (int)strlen(line));

    fleet_queue_done(&q, false);
    fleet_queue_done(&q, true);
    fleet_queue_done(&q, false);
    fleet_queue_progress(&q, 5, line, sizeof line);
    assert_string_equal(line, "[3/5] 1 failed");

    fleet_queue_set_phase(&q, "wave %s", "canary");
    fleet_queue_progress(&q, 5, line, sizeof line);
    assert_string_equal(line, "wave canary [3/5] 1 failed");

    /* Counts carry over from one batch to the next: the line is about the whole run. */
    const size_t items[] = {3, 4};
    fleet_queue_batch(&q, items, 2);
    fleet_queue_done(&q, true);
    fleet_queue_set_phase(&q, "wave %s done, pause before wave %s", "canary", "rest");
    fleet_queue_progress(&q, 5, line, sizeof line);
    assert_string_equal(line, "wave canary done, pause before wave rest [4/5] 2 failed");

    /* A phase longer than its room is cut, never overflows. */
    char long_name[300];
    memset(long_name, 'w', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    fleet_queue_set_phase(&q, "wave %s", long_name);
    assert_int_equal(strlen(q.phase), sizeof q.phase - 1);
    fleet_queue_destroy(&q);
}

static void test_prompt_keeps_the_line_off(void **state)
{
    FleetQueue q;
    fleet_queue_init(&q);
    assert_true(fleet_queue_show(&q, "")); /* an empty line: nothing shows on the terminal */
    fleet_queue_hush(&q, true, false);
    assert_false(fleet_queue_show(&q, "[1/2] 0 failed"));
    fleet_queue_hush(&q, false, false);
    assert_true(fleet_queue_show(&q, ""));
    fleet_queue_destroy(&q);
}

enum { N_ITEMS = 2000, N_TAKERS = 4 };

typedef struct Shared {
    FleetQueue q;
    atomic_int interrupted;
    atomic_int taken[N_ITEMS];
} Shared;

static void *taker(void *arg)
{
    Shared *s = arg;
    size_t t;
    while (fleet_queue_take(&s->q, &s->interrupted, &t)) {
        atomic_fetch_add(&s->taken[t], 1);
        fleet_queue_done(&s->q, t % 10 == 0);
    }
    return NULL;
}

static void test_concurrent_takers(void **state)
{
    static Shared s;
    static size_t items[N_ITEMS];
    fleet_queue_init(&s.q);
    atomic_init(&s.interrupted, 0);
    for (size_t i = 0; i < N_ITEMS; i++) {
        items[i] = i;
        atomic_init(&s.taken[i], 0);
    }
    fleet_queue_batch(&s.q, items, N_ITEMS);
    pthread_t threads[N_TAKERS];
    for (int i = 0; i < N_TAKERS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, taker, &s), 0);
    char line[128];
    for (int i = 0; i < 100; i++) { /* the supervisor's view, meanwhile */
        fleet_queue_progress(&s.q, N_ITEMS, line, sizeof line);
        fleet_queue_set_phase(&s.q, "tick %d", i);
    }
    for (int i = 0; i < N_TAKERS; i++)
        pthread_join(threads[i], NULL);
    for (size_t i = 0; i < N_ITEMS; i++)
        assert_int_equal(atomic_load(&s.taken[i]), 1);
    fleet_queue_set_phase(&s.q, "%s", "");
    fleet_queue_progress(&s.q, N_ITEMS, line, sizeof line);
    assert_string_equal(line, "[2000/2000] 200 failed");
    fleet_queue_destroy(&s.q);
}

/* max_per_server: run targets 0..7 on servers 0, 1, 2 with caps 2, 1, 1. */
static const size_t server_of[8] = {0, 0, 0, 1, 1, 0, 2, 1};
static const int caps[3] = {2, 1, 1};

static size_t take_one(FleetQueue *q, atomic_int *interrupted, size_t held)
{
    size_t t = 99;
    assert_int_equal(fleet_queue_try_take(q, interrupted, held, &t), QUEUE_TAKEN);
    return t;
}

static void test_first_target_whose_server_has_room(void **state)
{
    FleetQueue q;
    fleet_queue_init(&q);
    atomic_int interrupted;
    atomic_init(&interrupted, 0);
    fleet_queue_servers(&q, server_of, caps, 3);
    const size_t items[] = {0, 1, 2, 3, 4, 5, 6, 7};
    fleet_queue_batch(&q, items, 8);
    size_t t = 99;
    assert_int_equal(take_one(&q, &interrupted, FLEET_NO_SERVER), 0);
    assert_int_equal(take_one(&q, &interrupted, FLEET_NO_SERVER), 1); /* server 0 now full */
    assert_int_equal(take_one(&q, &interrupted, FLEET_NO_SERVER), 3); /* 2 waits for server 0 */
    assert_int_equal(take_one(&q, &interrupted, FLEET_NO_SERVER), 6); /* 4 waits for server 1 */
    /* 2, 4, 5 and 7 are left, each on a full server. */
    assert_int_equal(fleet_queue_try_take(&q, &interrupted, FLEET_NO_SERVER, &t), QUEUE_WAIT);
    assert_int_equal(t, 99);
    fleet_queue_release(&q, 2); /* server 2 has room, but nothing left: still waiting */
    assert_int_equal(fleet_queue_try_take(&q, &interrupted, FLEET_NO_SERVER, &t), QUEUE_WAIT);
    fleet_queue_release(&q, 1);
    fleet_queue_release(&q, 0);
    /* Both have room: the earlier target first, whichever server got room first. */
    assert_int_equal(take_one(&q, &interrupted, FLEET_NO_SERVER), 2);
    assert_int_equal(take_one(&q, &interrupted, FLEET_NO_SERVER), 4);
    assert_int_equal(fleet_queue_try_take(&q, &interrupted, FLEET_NO_SERVER, &t), QUEUE_WAIT);
    /* A worker holding server 0 (a kept connection) takes its next target on the same hold,
     * though server 0 is full for everyone else. */
    assert_int_equal(take_one(&q, &interrupted, 0), 5);
    assert_int_equal(fleet_queue_try_take(&q, &interrupted, 0, &t), QUEUE_WAIT); /* 7: server 1 */
    fleet_queue_release(&q, 1);
    assert_int_equal(take_one(&q, &interrupted, 0), 7); /* not on the hold: server 1 counts it */
    assert_int_equal(fleet_queue_try_take(&q, &interrupted, 0, &t), QUEUE_EMPTY);
    /* Interrupted: nothing more, even with room. */
    fleet_queue_batch(&q, items, 8);
    atomic_store(&interrupted, 1);
    assert_int_equal(fleet_queue_try_take(&q, &interrupted, FLEET_NO_SERVER, &t), QUEUE_EMPTY);
    fleet_queue_destroy(&q);
}

static void test_held_server_goes_first_only_in_order(void **state)
{
    FleetQueue q;
    fleet_queue_init(&q);
    atomic_int interrupted;
    atomic_init(&interrupted, 0);
    const int wide[3] = {4, 4, 4};
    fleet_queue_servers(&q, server_of, wide, 3);
    const size_t items[] = {3, 0, 4, 1, 6};
    fleet_queue_batch(&q, items, 5);
    assert_int_equal(take_one(&q, &interrupted, FLEET_NO_SERVER), 3); /* server 1 */
    /* Holding server 1, whose next (4) comes after 0 (server 0, with room): 0 first. */
    assert_int_equal(take_one(&q, &interrupted, 1), 0);
    assert_int_equal(take_one(&q, &interrupted, 1), 4); /* on the hold */
    assert_int_equal(take_one(&q, &interrupted, 0), 1);
    assert_int_equal(take_one(&q, &interrupted, FLEET_NO_SERVER), 6);
    fleet_queue_destroy(&q);
}

#define N_CAPPED 600
static const int capped_caps[3] = {2, 3, 1};
static size_t capped_server_of[N_CAPPED];

typedef struct Capped {
    FleetQueue q;
    atomic_int interrupted;
    atomic_int taken[N_CAPPED];
    atomic_int in_flight[3];
    atomic_int most[3];
} Capped;

static void *capped_taker(void *arg)
{
    Capped *c = arg;
    size_t t;
    while (fleet_queue_take(&c->q, &c->interrupted, &t)) {
        size_t s = fleet_queue_server(&c->q, t);
        int now = atomic_fetch_add(&c->in_flight[s], 1) + 1;
        int most = atomic_load(&c->most[s]);
        while (now > most && !atomic_compare_exchange_weak(&c->most[s], &most, now))
            ;
        atomic_fetch_add(&c->taken[t], 1);
        atomic_fetch_sub(&c->in_flight[s], 1);
        fleet_queue_done(&c->q, false);
        fleet_queue_release(&c->q, s);
    }
    return NULL;
}

/* Workers on threads: no server ever has more targets in flight than its cap, and every target
 * goes to exactly one worker. */
static void test_concurrent_takers_within_caps(void **state)
{
    static Capped c;
    static size_t items[N_CAPPED];
    fleet_queue_init(&c.q);
    atomic_init(&c.interrupted, 0);
    for (size_t i = 0; i < N_CAPPED; i++) {
        items[i] = i;
        capped_server_of[i] = i % 7 == 0 ? 2 : i % 2;
        atomic_init(&c.taken[i], 0);
    }
    for (int s = 0; s < 3; s++) {
        atomic_init(&c.in_flight[s], 0);
        atomic_init(&c.most[s], 0);
    }
    fleet_queue_servers(&c.q, capped_server_of, capped_caps, 3);
    fleet_queue_batch(&c.q, items, N_CAPPED);
    pthread_t threads[N_TAKERS];
    for (int i = 0; i < N_TAKERS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, capped_taker, &c), 0);
    for (int i = 0; i < N_TAKERS; i++)
        pthread_join(threads[i], NULL);
    for (size_t i = 0; i < N_CAPPED; i++)
        assert_int_equal(atomic_load(&c.taken[i]), 1);
    for (int s = 0; s < 3; s++) {
        assert_true(atomic_load(&c.most[s]) >= 1);
        assert_true(atomic_load(&c.most[s]) <= capped_caps[s]);
    }
    fleet_queue_destroy(&c.q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_hands_out_each_target_once),
        cmocka_unit_test(test_interrupted_takes_nothing),
        cmocka_unit_test(test_progress_counts_and_phase),
        cmocka_unit_test(test_prompt_keeps_the_line_off),
        cmocka_unit_test(test_concurrent_takers),
        cmocka_unit_test(test_first_target_whose_server_has_room),
        cmocka_unit_test(test_held_server_goes_first_only_in_order),
        cmocka_unit_test(test_concurrent_takers_within_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
