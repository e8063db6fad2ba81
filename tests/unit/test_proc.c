/* Child processes (src/core/proc.h): what a child gets from a threaded run, and what comes
 * back from it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/mem.h"
#include "core/proc.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static PfProcResult run(const char *script, const char *const *env)
{
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    PfProcResult r;
    PfErr err = {0};
    assert_int_equal(pf_proc_run(argv, env, NULL, &r, &err), PF_OK);
    return r;
}

static void test_output_and_status(void **state)
{
    (void)state;
    PfProcResult r = run("echo out; echo err >&2; exit 3", NULL);
    assert_string_equal(r.out, "out\n");
    assert_string_equal(r.err, "err\n");
    assert_int_equal(r.exit_code, 3);
    assert_int_equal(r.signal, 0);
    assert_false(r.interrupted);
    pf_proc_result_clear(&r);
}

/* env replaces a variable of the same name and adds the others; the rest is inherited. */
static void test_environment(void **state)
{
    (void)state;
    setenv("PF_PROC_KEEP_ME", "kept", 1);
    setenv("PF_PROC_SECRET", "old", 1);
    const char *env[] = {"PF_PROC_SECRET=new", "PF_PROC_ADDED=added", NULL};
    PfProcResult r = run("echo \"$PF_PROC_KEEP_ME $PF_PROC_SECRET $PF_PROC_ADDED\"; "
                         "env | grep -c '^PF_PROC_SECRET='",
                         env);
    assert_string_equal(r.out, "kept new added\n1\n");
    pf_proc_result_clear(&r);
}

/* The run blocks SIGINT and SIGTERM in every thread: the child must not inherit that. */
static void test_signals_not_blocked(void **state)
{
    (void)state;
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    PfProcResult r = run("kill -TERM $$; sleep 5; echo survived", NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    assert_int_equal(r.signal, SIGTERM);
    assert_int_equal(r.exit_code, -1);
    assert_string_equal(r.out, "");
    pf_proc_result_clear(&r);
}

/* A descriptor opened without close-on-exec stays out of the child. */
static void test_no_inherited_descriptors(void **state)
{
    (void)state;
    int fd = open("/dev/null", O_RDONLY); /* no O_CLOEXEC on purpose */
    assert_true(fd > 2);
    char script[64];
    snprintf(script, sizeof script, "[ -e /proc/self/fd/%d ] && echo open || echo closed", fd);
    PfProcResult r = run(script, NULL);
    close(fd);
    assert_string_equal(r.out, "closed\n");
    pf_proc_result_clear(&r);
}

/* A process group of its own: a terminal's Ctrl-C reaches pgfleet, not the child. */
static void test_own_process_group(void **state)
{
    (void)state;
    PfProcResult r = run("cut -d' ' -f5 /proc/$$/stat", NULL);
    char mine[32];
    snprintf(mine, sizeof mine, "%d\n", (int)getpgrp());
    assert_string_not_equal(r.out, mine);
    assert_int_equal(r.exit_code, 0);
    pf_proc_result_clear(&r);
}

static void test_interrupted(void **state)
{
    (void)state;
    atomic_int stop;
    atomic_init(&stop, 1);
    const char *argv[] = {"/bin/sh", "-c", "sleep 30", NULL};
    PfProcResult r;
    PfErr err = {0};
    assert_int_equal(pf_proc_run(argv, NULL, &stop, &r, &err), PF_OK);
    assert_true(r.interrupted);
    assert_int_equal(r.signal, SIGTERM);
    pf_proc_result_clear(&r);
}

static void test_cannot_start(void **state)
{
    (void)state;
    const char *argv[] = {"/nonexistent/pg_dump", NULL};
    PfProcResult r;
    PfErr err = {0};
    assert_int_equal(pf_proc_run(argv, NULL, NULL, &r, &err), PF_ERR_IO);
    assert_string_equal(err.msg, "cannot run /nonexistent/pg_dump: No such file or directory");
}

/* Started, then waited for later from another thread: the child ran meanwhile (its file is
 * there before the wait), and the wait still has all it wrote and how it ended. */
static void *wait_thread(void *arg)
{
    PfProcResult *r = pf_malloc(sizeof *r);
    pf_proc_wait(arg, NULL, r);
    return r;
}

static void test_start_then_wait(void **state)
{
    (void)state;
    char dir[] = "/tmp/pgfleet-proc.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char script[256];
    snprintf(script, sizeof script, "echo out; echo err >&2; touch %s/ran; exit 4", dir);
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    PfProc p;
    PfErr err = {0};
    assert_int_equal(pf_proc_start(argv, NULL, &p, &err), PF_OK);
    char ran[64];
    snprintf(ran, sizeof ran, "%s/ran", dir);
    int i = 0;
    while (access(ran, F_OK) != 0 && i++ < 1000)
        usleep(10000);
    assert_int_equal(access(ran, F_OK), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, wait_thread, &p), 0);
    void *res;
    assert_int_equal(pthread_join(t, &res), 0);
    PfProcResult *r = res;
    assert_string_equal(r->out, "out\n");
    assert_string_equal(r->err, "err\n");
    assert_int_equal(r->exit_code, 4);
    assert_int_equal(p.out_fd, -1);
    assert_int_equal(p.pid, 0);
    pf_proc_result_clear(r);
    free(r);
    unlink(ran);
    rmdir(dir);

    const char *missing[] = {"/nonexistent/git", NULL};
    assert_int_equal(pf_proc_start(missing, NULL, &p, &err), PF_ERR_IO);
    assert_string_equal(err.msg, "cannot run /nonexistent/git: No such file or directory");
    assert_int_equal(p.pid, 0);
}

static void test_last_line(void **state)
{
    (void)state;
    char *s = pf_proc_last_line("pg_dump: error: x\npg_dump: detail: y\n\n");
    assert_string_equal(s, "pg_dump: detail: y");
    free(s);
    s = pf_proc_last_line("");
    assert_string_equal(s, "");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_and_status),   cmocka_unit_test(test_environment),
        cmocka_unit_test(test_signals_not_blocked), cmocka_unit_test(test_no_inherited_descriptors),
        cmocka_unit_test(test_own_process_group),   cmocka_unit_test(test_interrupted),
        cmocka_unit_test(test_cannot_start),        cmocka_unit_test(test_start_then_wait),
        cmocka_unit_test(test_last_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
