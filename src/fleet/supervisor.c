/*
 * What the supervisor thread of a run (pool.c) decides, apart from the thread: what a signal
 * does to the run, and the in-flight part of the progress line. The thread waits for signals
 * and ticks, and feeds them here; a unit test calls the same functions directly.
 */
#include "fleet/internal.h"

#include <signal.h>
#include <stdio.h>

FleetSignalAction fleet_signal_action(int sig, bool interrupted)
{
    if (sig != SIGINT && sig != SIGTERM)
        return FLEET_SIGNAL_NONE;
    return interrupted ? FLEET_SIGNAL_EXIT : FLEET_SIGNAL_INTERRUPT;
}

int fleet_progress_in_flight(char *line, size_t size, int n, const JobSlot *slots, int n_slots)
{
    const char *sep = " | in flight: ";
    for (int i = 0; i < n_slots && n > 0 && (size_t)n + 64 < size; i++) {
        if (!slots[i].target)
            continue;
        n += snprintf(line + n, size - (size_t)n, "%s%s", sep, slots[i].target);
        sep = ", ";
    }
    return n;
}
