/*
 * Unit tests for the supervisor's decisions (src/fleet/supervisor.c), without its thread: the
 * first SIGINT or SIGTERM interrupts the run, the second exits, anything else (a tick, the
 * SIGUSR1 that ends the run) does nothing; the progress line lists the targets in flight and
 * never outgrows its buffer.
 */
#include "fleet/internal.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void test_signal_actions(void **state)
{
    assert_int_equal(fleet_signal_action(SIGINT, false), FLEET_SIGNAL_INTERRUPT);
    assert_int_equal(fleet_signal_action(SIGTERM, false), FLEET_SIGNAL_INTERRUPT);
    assert_int_equal(fleet_signal_action(SIGINT, true), FLEET_SIGNAL_EXIT);
    assert_int_equal(fleet_signal_action(SIGTERM, true), FLEET_SIGNAL_EXIT);
    assert_int_equal(fleet_signal_action(-1, false), FLEET_SIGNAL_NONE); /* a tick */
    assert_int_equal(fleet_signal_action(-1, true), FLEET_SIGNAL_NONE);
    assert_int_equal(fleet_signal_action(SIGUSR1, true), FLEET_SIGNAL_NONE);
}

static void test_in_flight(void **state)
{
    JobSlot slots[4] = {{.target = "eu-1"}, {.target = NULL}, {.target = "us-2"}, {0}};
    char line[512];
    int n = snprintf(line, sizeof line, "[1/9] 0 failed");
    n = fleet_progress_in_flight(line, sizeof line, n, slots, 4);
    assert_string_equal(line, "[1/9] 0 failed | in flight: eu-1, us-2");
    assert_int_equal(n, (int)strlen(line));

    /* Nobody in flight: the counts alone. */
    JobSlot idle[2] = {{0}, {0}};
    n = snprintf(line, sizeof line, "[9/9] 0 failed");
    fleet_progress_in_flight(line, sizeof line, n, idle, 2);
    assert_string_equal(line, "[9/9] 0 failed");
}

static void test_in_flight_stays_in_its_buffer(void **state)
{
    char name[200];
    memset(name, 'x', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    JobSlot slots[8];
    for (int i = 0; i < 8; i++)
        slots[i] = (JobSlot){.target = name};
    char line[256];
    int n = snprintf(line, sizeof line, "[0/8] 0 failed");
    fleet_progress_in_flight(line, sizeof line, n, slots, 8);
    assert_true(strlen(line) < sizeof line);
    assert_memory_equal(line, "[0/8] 0 failed | in flight: xxx", 31);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signal_actions),
        cmocka_unit_test(test_in_flight),
        cmocka_unit_test(test_in_flight_stays_in_its_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
