/*
 * Waves of a rolling apply (docs/waves.md): grouping the run's targets by wave, counting a
 * wave's failures against its max_failures, marking the waves that will not start, the pause
 * and the confirm prompt between waves, and the per-target check query. pool.c decides when
 * each is called; nothing here creates a thread. Everything but fleet_wave_check runs on the
 * main thread while no worker is running.
 */
#include "fleet/internal.h"

#include "core/log.h"
#include "core/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

const char *fleet_wave_state_name(WaveState s)
{
    static const char *const names[] = {"not_selected", "done", "skipped", "interrupted"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

const char *fleet_wave_confirm_name(WaveConfirm c)
{
    static const char *const names[] = {NULL, "yes", "no", "assumed_yes", "interrupted"};
    return (unsigned)c < sizeof names / sizeof names[0] ? names[c] : NULL;
}

static const char *plural(size_t n)
{
    return n == 1 ? "" : "s";
}

size_t fleet_waves_prepare(const FleetRun *run, FleetResult *out, WaveResult **waves_out)
{
    const Inventory *inv = run->inv;
    size_t n_waves = inv->n_waves ? inv->n_waves : 1;
    size_t end = run->wave_end ? run->wave_end : inv->n_waves;
    WaveResult *waves = pf_calloc(n_waves, sizeof *waves);
    for (size_t i = 0; i < n_waves; i++) {
        WaveResult *w = &waves[i];
        w->wave = inv->n_waves ? &inv->waves[i] : NULL;
        /* Not started yet; the run sets done, or skipped with a reason. */
        bool in_run = !inv->n_waves || (i >= run->wave_first && i < end);
        w->state = in_run ? WAVE_SKIPPED : WAVE_NOT_SELECTED;
        w->targets = pf_malloc((out->n ? out->n : 1) * sizeof *w->targets);
    }
    for (size_t t = 0; t < out->n; t++) {
        TargetResult *res = &out->targets[t];
        size_t wi = inv->n_waves ? inv->wave_of[res->target - inv->targets] : 0;
        res->wave = waves[wi].wave;
        waves[wi].targets[waves[wi].n++] = t;
    }
    for (size_t i = 0; i < n_waves; i++)
        waves[i].allowed =
            waves[i].wave ? inv_wave_allowed_failures(waves[i].wave, waves[i].n) : SIZE_MAX;
    *waves_out = waves;
    return n_waves;
}

void fleet_waves_free(WaveResult *waves, size_t n)
{
    for (size_t i = 0; waves && i < n; i++) {
        free(waves[i].targets);
        free(waves[i].reason);
    }
    free(waves);
}

WaveResult *fleet_wave_next(WaveResult *waves, size_t n, size_t i)
{
    for (size_t j = i + 1; j < n; j++) {
        if (waves[j].state != WAVE_NOT_SELECTED && waves[j].n > 0)
            return &waves[j];
    }
    return NULL;
}

/* The terminal to ask on: /dev/tty, else stdin (answers) and stderr (question) when stdin is a
 * terminal. *owned: in == out was opened here and must be closed. */
static bool terminal_open(int *in, int *out, bool *owned)
{
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd >= 0) {
        *in = *out = fd;
        *owned = true;
        return true;
    }
    *owned = false;
    if (!isatty(STDIN_FILENO))
        return false;
    *in = STDIN_FILENO;
    *out = STDERR_FILENO;
    return true;
}

PfErrCode fleet_waves_check_terminal(const FleetRun *run, WaveResult *waves, size_t n, PfErr *err)
{
    if ((run->mode != FLEET_APPLY && run->mode != FLEET_ROLLBACK) || run->assume_yes)
        return PF_OK;
    for (size_t i = 0; i < n; i++) {
        const WaveResult *w = &waves[i];
        if (!w->wave || !w->wave->confirm || w->state == WAVE_NOT_SELECTED || w->n == 0 ||
            !fleet_wave_next(waves, n, i))
            continue;
        int in, out;
        bool owned;
        if (terminal_open(&in, &out, &owned)) {
            if (owned)
                close(in);
            return PF_OK;
        }
        return pf_err_set(err, PF_ERR_INPUT,
                          "wave %s has confirm: true, but there is no terminal to ask on (no "
                          "/dev/tty, and stdin is not a terminal); nothing was run; hint: pass "
                          "--yes to start each next wave without asking",
                          w->wave->name);
    }
    return PF_OK;
}

static bool result_failed(const TargetResult *r)
{
    return r->status == TARGET_UNREACHABLE || r->outcome == OUTCOME_FAILED ||
           r->outcome == OUTCOME_REFUSED || r->outcome == OUTCOME_INTERRUPTED;
}

void fleet_wave_tally(const FleetRun *run, const FleetResult *res, WaveResult *w)
{
    w->failures = 0;
    for (size_t i = 0; i < w->n; i++)
        if (res->targets[w->targets[i]].started && result_failed(&res->targets[w->targets[i]]))
            w->failures++;
    if ((run->mode != FLEET_APPLY && run->mode != FLEET_ROLLBACK) || !w->wave ||
        w->failures <= w->allowed)
        return;
    w->halted = true;
    free(w->reason);
    if (w->wave->max_failures_pct)
        w->reason = pf_asprintf(
            "wave %s halted the rollout: %zu failure%s > max_failures %s (%zu of %zu target%s)",
            w->wave->name, w->failures, plural(w->failures), w->wave->max_failures_text, w->allowed,
            w->n, plural(w->n));
    else
        w->reason = pf_asprintf("wave %s halted the rollout: %zu failure%s > max_failures %s",
                                w->wave->name, w->failures, plural(w->failures),
                                w->wave->max_failures_text);
    pf_log(PF_LOG_WARN, NULL, "%s", w->reason);
}

void fleet_wave_skip(FleetResult *res, WaveResult *w, WaveState state, const char *reason)
{
    w->state = state;
    free(w->reason);
    w->reason = pf_strdup(reason);
    for (size_t i = 0; i < w->n; i++) {
        TargetResult *t = &res->targets[w->targets[i]];
        if (t->started)
            continue;
        free(t->error);
        t->error = pf_strdup(reason);
    }
}

int64_t fleet_wave_pause(int64_t ms, const atomic_int *interrupted)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int64_t waited = 0;
    while (waited < ms && !atomic_load(interrupted)) {
        int64_t step = ms - waited < 100 ? ms - waited : 100;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        clock_gettime(CLOCK_MONOTONIC, &now);
        waited = (int64_t)(now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
    }
    return waited;
}

static void put(int fd, const char *s)
{
    for (size_t len = strlen(s); len > 0;) {
        ssize_t n = write(fd, s, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        s += n;
        len -= (size_t)n;
    }
}

static bool is_yes(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t len = strlen(s);
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
        len--;
    return (len == 1 && (s[0] == 'y' || s[0] == 'Y')) ||
           (len == 3 && strncasecmp(s, "yes", 3) == 0);
}

WaveConfirm fleet_wave_ask(const WaveResult *done, const WaveResult *next,
                           const atomic_int *interrupted)
{
    char *question = pf_asprintf("pgfleet: wave %s done: %zu target%s, %zu failure%s "
                                 "(max_failures %s).\npgfleet: start wave %s (%zu target%s)? "
                                 "[y/N] ",
                                 done->wave->name, done->n, plural(done->n), done->failures,
                                 plural(done->failures), done->wave->max_failures_text,
                                 next->wave->name, next->n, plural(next->n));
    WaveConfirm answer = fleet_ask(question, interrupted);
    free(question);
    return answer;
}

bool fleet_terminal_available(void)
{
    int in, out;
    bool owned;
    if (!terminal_open(&in, &out, &owned))
        return false;
    if (owned)
        close(in);
    return true;
}

WaveConfirm fleet_ask(const char *question, const atomic_int *interrupted)
{
    int in, out;
    bool owned;
    if (!terminal_open(&in, &out, &owned))
        return WAVE_CONFIRM_NO; /* the caller checked that there was one */
    put(out, question);
    char line[64];
    size_t len = 0;
    WaveConfirm answer = WAVE_CONFIRM_NO;
    for (;;) {
        if (interrupted && atomic_load(interrupted)) {
            answer = WAVE_CONFIRM_INTERRUPTED;
            put(out, "\n");
            break;
        }
        /* Signals go to the supervisor thread, so poll in short steps to notice them. */
        struct pollfd pfd = {.fd = in, .events = POLLIN};
        int r = poll(&pfd, 1, 100);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r < 0)
                break;
            continue;
        }
        char c;
        ssize_t got = read(in, &c, 1);
        if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (got <= 0) { /* end of input: no */
            put(out, "\n");
            break;
        }
        if (c == '\n') {
            line[len] = '\0';
            answer = is_yes(line) ? WAVE_CONFIRM_YES : WAVE_CONFIRM_NO;
            break;
        }
        if (len < sizeof line - 1)
            line[len++] = c;
    }
    if (owned)
        close(in);
    return answer;
}

void fleet_wave_check(PgConn *conn, TargetResult *res, const atomic_int *interrupted)
{
    const InvWave *w = res->wave;
    if (!w || !w->check || atomic_load(interrupted) ||
        (res->outcome != OUTCOME_APPLIED && res->outcome != OUTCOME_UNCHANGED))
        return;
    const InvTarget *t = res->target;
    bool ok = false;
    PfErr err;
    PfErrCode rc = pg_check_query(conn, w->check, t->settings.statement_timeout_ms, &ok, &err);
    res->check_ran = true;
    res->check_passed = rc == PF_OK && ok;
    if (res->check_passed) {
        pf_log(PF_LOG_INFO, t->name, "wave %s check passed", w->name);
        return;
    }
    res->outcome = atomic_load(interrupted) ? OUTCOME_INTERRUPTED : OUTCOME_FAILED;
    free(res->error);
    res->error = rc == PF_OK ? pf_asprintf("wave %s check failed: it returned false", w->name)
                             : pf_asprintf("wave %s check failed: %s", w->name, err.msg);
    pf_log(PF_LOG_ERROR, t->name, "%s", res->error);
}
