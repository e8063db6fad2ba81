/*
 * What the supervisor thread of a run (pool.c) decides, apart from the thread: what a signal
 * does to the run, and the in-flight part of the progress line. The thread waits for signals
 * and ticks, and feeds them here; a unit test calls the same functions directly.
 */
#include "fleet/internal.h"

#include "core/log.h"

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

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

static volatile sig_atomic_t late_signal;

static void late_signal_handler(int sig)
{
    (void)sig;
    if (late_signal)
        _exit(PF_EXIT_INTERRUPTED); /* a second one: at once, as during a run */
    late_signal = 1;
}

static void signals_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
}

void fleet_signals_hold(void)
{
    sigset_t set;
    signals_set(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

void fleet_signals_open(void)
{
    sigset_t set;
    signals_set(&set);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

void fleet_signals_defer(void)
{
    struct sigaction sa = {.sa_handler = late_signal_handler, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigset_t set;
    signals_set(&set);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL); /* one held since the run ended comes now */
}

void fleet_signals_report_late(int exit_code)
{
    if (late_signal)
        pf_log(PF_LOG_WARN, NULL,
               "a signal arrived after the run had ended: its report stands, exit %d", exit_code);
}
