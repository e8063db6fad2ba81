/*
 * Running a program as a child process (pg_dump, pg_restore, git), from any thread.
 *
 * posix_spawn, never fork: a worker thread of a run may start a child while other threads hold
 * locks (the allocator's, the log's), and a forked copy of the process would inherit them
 * taken. The child gets what a program started from a shell expects, not what the run's
 * threads have: no blocked signals (the run blocks SIGINT and SIGTERM in every thread), default
 * dispositions, no file descriptor but 0, 1 and 2 (nothing of pgfleet's sockets or pipes), and
 * a process group of its own, so a Ctrl-C on the terminal reaches pgfleet only, which then
 * stops the child itself (pf_proc_run's interrupted).
 */
#ifndef PF_CORE_PROC_H
#define PF_CORE_PROC_H

#include "core/err.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* How a child ended, and what it wrote (each stream's last PF_PROC_KEEP bytes, NUL-terminated,
 * never NULL after pf_proc_run returned PF_OK). Free with pf_proc_result_clear. */
#define PF_PROC_KEEP 65536
typedef struct PfProcResult {
    int exit_code;    /* its exit status, or -1 when a signal ended it */
    int signal;       /* the signal that ended it, or 0 */
    bool interrupted; /* *interrupted was set while it ran: it was sent SIGTERM */
    char *out;        /* its standard output */
    char *err;        /* its standard error */
} PfProcResult;

/* A child started and not yet waited for: its pid and the read ends of its output pipes. */
typedef struct PfProc {
    pid_t pid;
    int out_fd, err_fd;
} PfProc;

/* Start argv as pf_proc_run does, without waiting: on PF_OK, *p must be waited for with
 * pf_proc_wait (which reaps it and sets its pid to 0), from this thread or another; otherwise
 * its pid is 0. A child that writes more than a pipe holds waits until then. */
PfErrCode pf_proc_start(const char *const *argv, const char *const *env, PfProc *p, PfErr *err);
/* Read what the child p writes until it exits, and how it ended, into *out (as pf_proc_run). */
void pf_proc_wait(PfProc *p, const atomic_int *interrupted, PfProcResult *out);

/* Run argv[0] (a path; searched on PATH when it has no '/') with argv (NULL-terminated), its
 * standard input /dev/null, and wait for it. env (NULL-terminated "NAME=value" strings, may be
 * NULL) is added to a copy of this process's environment, replacing a variable of the same
 * name: a secret given there never appears in argv (ps shows argv to every user; a process's
 * environment only to its owner). interrupted (may be NULL) is polled every 100 ms: once it is
 * set the child gets SIGTERM, and SIGKILL 5 s later. PF_ERR_IO when the child cannot be
 * started (err says why); otherwise PF_OK, whatever its exit status. Thread-safe. */
PfErrCode pf_proc_run(const char *const *argv, const char *const *env,
                      const atomic_int *interrupted, PfProcResult *out, PfErr *err);
void pf_proc_result_clear(PfProcResult *r);

/* The last non-empty line of text (a program's stderr), without its newline; a copy. */
char *pf_proc_last_line(const char *text);

#endif
