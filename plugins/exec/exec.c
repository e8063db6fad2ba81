/*
 * exec: run a shell command on chosen events (docs/plugins.md), with the event's data in
 * PGFLEET_* environment variables. A webhook (curl), a snapshot script, a chat notifier.
 *
 *   config:
 *     command: "curl -fsS -d \"$PGFLEET_EVENT $PGFLEET_WAVE\" https://chat.example/hook"
 *     events: [wave_end, run_end]   # default: every event
 *     timeout: 30s                  # default 60s; ms, s, m
 *
 * The command runs as `/bin/sh -c COMMAND` in a child process (fork + execve) in its own
 * process group, stdin from /dev/null, stdout sent to stderr (stdout carries the report). A
 * non-zero exit is an error of the event, except on wave_end, where it vetoes the next wave.
 * Past the timeout the group gets SIGTERM, then SIGKILL a second later, and that counts as a
 * non-zero exit.
 */
#include <pgfleet/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

typedef struct Exec {
    char *command;
    char *events; /* ",a,b," or NULL for every event */
    int64_t timeout_ms;
} Exec;

static int parse_timeout(const char *s, int64_t *ms)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return -1;
    double mult = strcmp(end, "ms") == 0           ? 1
                  : strcmp(end, "s") == 0 || !*end ? 1000
                  : strcmp(end, "m") == 0          ? 60000
                                                   : -1;
    if (mult < 0)
        return -1;
    *ms = (int64_t)(v * mult);
    return 0;
}

static void exec_free(Exec *x)
{
    if (!x)
        return;
    free(x->command);
    free(x->events);
    free(x);
}

static int exec_init(const PgfleetKV *config, size_t n, void **state, char *err, size_t err_size)
{
    Exec *x = calloc(1, sizeof *x);
    if (!x)
        return PGFLEET_ERROR;
    x->timeout_ms = 60000;
    for (size_t i = 0; i < n; i++) {
        const char *k = config[i].key, *v = config[i].value;
        if (strcmp(k, "command") == 0) {
            free(x->command);
            x->command = strdup(v);
        } else if (strcmp(k, "events") == 0) {
            free(x->events);
            size_t len = strlen(v);
            x->events = malloc(len + 3);
            if (x->events)
                snprintf(x->events, len + 3, ",%s,", v);
        } else if (strcmp(k, "timeout") == 0) {
            if (parse_timeout(v, &x->timeout_ms) != 0) {
                snprintf(err, err_size, "timeout '%s' is not a duration (e.g. 500ms, 30s, 2m)", v);
                exec_free(x);
                return PGFLEET_ERROR;
            }
        } else {
            snprintf(err, err_size, "unknown config key '%s' (expected command, events, timeout)",
                     k);
            exec_free(x);
            return PGFLEET_ERROR;
        }
    }
    if (!x->command || !*x->command) {
        snprintf(err, err_size, "config 'command' is required");
        exec_free(x);
        return PGFLEET_ERROR;
    }
    *state = x;
    return PGFLEET_OK;
}

static void exec_fini(void *state)
{
    exec_free(state);
}

static int wants(const Exec *x, const char *event)
{
    if (!x->events)
        return 1;
    char needle[64];
    snprintf(needle, sizeof needle, ",%s,", event);
    return strstr(x->events, needle) != NULL;
}

/* A growing NULL-terminated array of "KEY=VALUE" strings. */
typedef struct Env {
    char **v;
    size_t n, cap;
} Env;

/* Take s (a malloc'd "KEY=VALUE"). */
static void env_take(Env *e, char *s)
{
    if (!s)
        return;
    if (e->n + 2 > e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 64;
        char **v = realloc(e->v, cap * sizeof *v);
        if (!v) {
            free(s);
            return;
        }
        e->v = v;
        e->cap = cap;
    }
    e->v[e->n++] = s;
    e->v[e->n] = NULL;
}

static void env_put(Env *e, const char *key, const char *value)
{
    if (!value)
        return;
    size_t len = strlen(key) + strlen(value) + 2;
    char *s = malloc(len);
    if (s)
        snprintf(s, len, "%s=%s", key, value);
    env_take(e, s);
}

static void env_putn(Env *e, const char *key, long long value)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", value);
    env_put(e, key, buf);
}

static void env_free(Env *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i]);
    free(e->v);
}

/* a,b,c of n strings (caller frees). */
static char *join(const char *const *items, size_t n, const PgfleetKV *kv)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += (kv ? strlen(kv[i].key) + strlen(kv[i].value) + 1 : strlen(items[i])) + 1;
    char *s = malloc(len), *p = s;
    if (!s)
        return NULL;
    *p = '\0';
    for (size_t i = 0; i < n; i++) {
        int w =
            kv ? snprintf(p, len - (size_t)(p - s), "%s%s=%s", i ? "," : "", kv[i].key, kv[i].value)
               : snprintf(p, len - (size_t)(p - s), "%s%s", i ? "," : "", items[i]);
        p += w;
    }
    return s;
}

static void build_env(Env *e, const PgfleetEvent *ev)
{
    /* pgfleet's environment, without any PGFLEET_* of an outer run. */
    for (char **p = environ; *p; p++)
        if (strncmp(*p, "PGFLEET_", 8) != 0)
            env_take(e, strdup(*p));
    env_put(e, "PGFLEET_EVENT", ev->name);
    env_put(e, "PGFLEET_RUN_ID", ev->run_id);
    env_put(e, "PGFLEET_COMMAND", ev->command);
    env_putn(e, "PGFLEET_TARGETS", (long long)ev->n_targets);
    env_put(e, "PGFLEET_WAVE", ev->wave);
    env_put(e, "PGFLEET_TARGET", ev->target);
    env_put(e, "PGFLEET_DSN", ev->dsn_masked);
    env_put(e, "PGFLEET_STATUS", ev->status);
    env_put(e, "PGFLEET_OUTCOME", ev->outcome);
    env_put(e, "PGFLEET_ERROR", ev->error);
    env_put(e, "PGFLEET_MIGRATION", ev->migration);
    env_put(e, "PGFLEET_MIGRATION_RESULT", ev->migration_result);
    env_put(e, "PGFLEET_NEXT_WAVE", ev->next_wave);
    env_put(e, "PGFLEET_WAVE_STATE", ev->wave_state);
    env_put(e, "PGFLEET_WAVE_REASON", ev->wave_reason);
    if (ev->kind == PGFLEET_EVENT_WAVE_END) {
        env_putn(e, "PGFLEET_WAVE_FAILURES", (long long)ev->wave_failures);
        env_putn(e, "PGFLEET_WAVE_HALTED", ev->wave_halted);
    }
    if (ev->kind == PGFLEET_EVENT_RUN_END)
        env_putn(e, "PGFLEET_EXIT_CODE", ev->exit_code);
    if (ev->kind == PGFLEET_EVENT_RUN_END || ev->kind == PGFLEET_EVENT_WAVE_END ||
        ev->kind == PGFLEET_EVENT_TARGET_END)
        env_putn(e, "PGFLEET_DURATION_MS", (long long)ev->duration_ms);
    if (ev->target) {
        char *labels = join(NULL, ev->n_labels, ev->labels);
        env_put(e, "PGFLEET_LABELS", labels);
        free(labels);
    }
    if (ev->kind == PGFLEET_EVENT_TARGET_END) {
        env_putn(e, "PGFLEET_PENDING", (long long)ev->n_pending);
        char *applied = join(ev->applied, ev->n_applied, NULL);
        env_put(e, "PGFLEET_APPLIED", applied);
        free(applied);
    }
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for pid up to ms; 1 when it ended (*status set), 0 on timeout. */
static int wait_for(pid_t pid, int64_t ms, int *status)
{
    int64_t deadline = now_ms() + ms;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            return 1;
        if (now_ms() >= deadline)
            return 0;
        struct timespec step = {0, 10 * 1000 * 1000};
        nanosleep(&step, NULL);
    }
}

static int exec_event(void *state, const PgfleetEvent *ev, char *err, size_t err_size)
{
    Exec *x = state;
    if (!wants(x, ev->name))
        return PGFLEET_OK;
    Env env = {0};
    build_env(&env, ev);
    if (!env.v) {
        snprintf(err, err_size, "out of memory");
        return PGFLEET_ERROR;
    }
    char *argv[] = {"sh", "-c", x->command, NULL};
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, err_size, "cannot fork: %s", strerror(errno));
        env_free(&env);
        return PGFLEET_ERROR;
    }
    if (pid == 0) {
        /* The child: only async-signal-safe calls until execve. pgfleet blocks SIGINT and
         * SIGTERM in its threads; the command gets the default mask. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        setpgid(0, 0);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        dup2(STDERR_FILENO, STDOUT_FILENO);
        execve("/bin/sh", argv, env.v);
        _exit(127);
    }
    env_free(&env);
    int status = 0;
    int timed_out = 0;
    if (!wait_for(pid, x->timeout_ms, &status)) {
        timed_out = 1;
        kill(-pid, SIGTERM);
        kill(pid, SIGTERM);
        if (!wait_for(pid, 1000, &status)) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            wait_for(pid, 5000, &status);
        }
    }
    int ok = !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (ok)
        return PGFLEET_OK;
    if (timed_out)
        snprintf(err, err_size, "command timed out after %lld ms and was killed",
                 (long long)x->timeout_ms);
    else if (WIFEXITED(status))
        snprintf(err, err_size, "command exited with %d", WEXITSTATUS(status));
    else
        snprintf(err, err_size, "command was killed by signal %d",
                 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return ev->kind == PGFLEET_EVENT_WAVE_END ? PGFLEET_VETO : PGFLEET_ERROR;
}

PGFLEET_PLUGIN_EXPORT const PgfleetPlugin pgfleet_plugin = {
    .abi_version = PGFLEET_PLUGIN_ABI_VERSION,
    .name = "exec",
    .init = exec_init,
    .fini = exec_fini,
    .on_event = exec_event,
};
