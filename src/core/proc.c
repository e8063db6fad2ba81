/*
 * Child processes (proc.h): posix_spawn with a clean signal state and no inherited
 * descriptors, both output streams read through pipes with poll, the wait polled so that an
 * interrupted run stops its child.
 */
#define _GNU_SOURCE /* pipe2, posix_spawn_file_actions_addclosefrom_np */
#include "core/proc.h"

#include "core/mem.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum { POLL_MS = 100, KILL_AFTER_MS = 5000 };

/* A stream's last PF_PROC_KEEP bytes. */
typedef struct Tail {
    char *data;
    size_t len;
} Tail;

static void tail_add(Tail *t, const char *buf, size_t n)
{
    if (n >= PF_PROC_KEEP) {
        buf += n - PF_PROC_KEEP;
        n = PF_PROC_KEEP;
    }
    if (t->len + n > PF_PROC_KEEP) {
        size_t drop = t->len + n - PF_PROC_KEEP;
        memmove(t->data, t->data + drop, t->len - drop);
        t->len -= drop;
    }
    memcpy(t->data + t->len, buf, n);
    t->len += n;
    t->data[t->len] = '\0';
}

/* environ with env's variables added (replacing the same names): a NULL-terminated array of
 * borrowed strings; free the array only. */
static char **child_environ(const char *const *env)
{
    size_t n_env = 0, n_own = 0;
    while (env && env[n_env])
        n_env++;
    while (environ && environ[n_own])
        n_own++;
    char **v = pf_calloc(n_env + n_own + 1, sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < n_own; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t name = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        bool replaced = false;
        for (size_t j = 0; j < n_env && !replaced; j++)
            replaced = strncmp(env[j], environ[i], name) == 0 && env[j][name] == '=';
        if (!replaced)
            v[k++] = environ[i];
    }
    for (size_t j = 0; j < n_env; j++)
        v[k++] = (char *)env[j];
    v[k] = NULL;
    return v;
}

static PfErrCode spawn(const char *const *argv, char **envp, int out_fd, int err_fd, pid_t *pid,
                       PfErr *err)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
    /* Whatever a library opened without close-on-exec stays out of the child. */
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGUSR1);
    sigaddset(&defaults, SIGCHLD);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                        POSIX_SPAWN_SETPGROUP);
    char *const *args = (char *const *)argv;
    int rc = strchr(argv[0], '/') ? posix_spawn(pid, argv[0], &fa, &attr, args, envp)
                                  : posix_spawnp(pid, argv[0], &fa, &attr, args, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0)
        return pf_err_set(err, PF_ERR_IO, "cannot run %s: %s", argv[0], strerror(rc));
    return PF_OK;
}

PfErrCode pf_proc_start(const char *const *argv, const char *const *env, PfProc *p, PfErr *err)
{
    memset(p, 0, sizeof *p);
    p->out_fd = p->err_fd = -1;
    int out_pipe[2], err_pipe[2];
    if (pipe2(out_pipe, O_CLOEXEC) != 0)
        return pf_err_set(err, PF_ERR_IO, "cannot run %s: pipe: %s", argv[0], strerror(errno));
    if (pipe2(err_pipe, O_CLOEXEC) != 0) {
        close(out_pipe[0]);
        close(out_pipe[1]);
        return pf_err_set(err, PF_ERR_IO, "cannot run %s: pipe: %s", argv[0], strerror(errno));
    }
    char **envp = child_environ(env);
    PfErrCode rc = spawn(argv, envp, out_pipe[1], err_pipe[1], &p->pid, err);
    free(envp);
    close(out_pipe[1]);
    close(err_pipe[1]);
    if (rc != PF_OK) {
        close(out_pipe[0]);
        close(err_pipe[0]);
        return rc;
    }
    p->out_fd = out_pipe[0];
    p->err_fd = err_pipe[0];
    return PF_OK;
}

void pf_proc_wait(PfProc *p, const atomic_int *interrupted, PfProcResult *out)
{
    memset(out, 0, sizeof *out);
    Tail tails[2] = {{pf_malloc(PF_PROC_KEEP + 1), 0}, {pf_malloc(PF_PROC_KEEP + 1), 0}};
    tails[0].data[0] = tails[1].data[0] = '\0';
    struct pollfd fds[2] = {{p->out_fd, POLLIN, 0}, {p->err_fd, POLLIN, 0}};
    int open_fds = 2, status = 0;
    bool exited = false;
    int64_t term_at = 0;
    /* Once the pipes are closed the child is usually exiting: look again after 1 ms, doubling
     * up to POLL_MS, so that a quick command is not charged a whole POLL_MS. */
    long wait_ms = 1;
    char buf[4096];
    while (open_fds > 0 || !exited) {
        if (open_fds > 0) {
            int n = poll(fds, 2, POLL_MS);
            for (int i = 0; n > 0 && i < 2; i++) {
                if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
                ssize_t got = read(fds[i].fd, buf, sizeof buf);
                if (got > 0) {
                    tail_add(&tails[i], buf, (size_t)got);
                } else if (got == 0 || errno != EINTR) {
                    close(fds[i].fd);
                    fds[i].fd = -1;
                    open_fds--;
                }
            }
        } else {
            struct timespec ts = {0, wait_ms * 1000000L};
            nanosleep(&ts, NULL);
            wait_ms = wait_ms * 2 > POLL_MS ? POLL_MS : wait_ms * 2;
        }
        if (!exited) {
            pid_t w = waitpid(p->pid, &status, WNOHANG);
            exited = w == p->pid || (w < 0 && errno != EINTR);
        }
        if (!exited && interrupted && atomic_load(interrupted)) {
            int64_t now = pf_now_ms();
            if (!term_at) {
                out->interrupted = true;
                term_at = now;
                kill(p->pid, SIGTERM);
            } else if (now - term_at > KILL_AFTER_MS) {
                kill(p->pid, SIGKILL);
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    memset(p, 0, sizeof *p);
    p->out_fd = p->err_fd = -1;
    out->out = tails[0].data;
    out->err = tails[1].data;
    out->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    out->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

PfErrCode pf_proc_run(const char *const *argv, const char *const *env,
                      const atomic_int *interrupted, PfProcResult *out, PfErr *err)
{
    PfProc p;
    PfErrCode rc = pf_proc_start(argv, env, &p, err);
    if (rc != PF_OK) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    pf_proc_wait(&p, interrupted, out);
    return PF_OK;
}

void pf_proc_result_clear(PfProcResult *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof *r);
}

char *pf_proc_last_line(const char *text)
{
    const char *end = text + strlen(text);
    while (end > text && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
        end--;
    const char *start = end;
    while (start > text && start[-1] != '\n')
        start--;
    return pf_strndup(start, (size_t)(end - start));
}
