/*
 * Unit tests for the requests worker threads make of the SSH hub's loop (src/ssh/requests.c),
 * without the loop's thread: what is posted is taken oldest first, after nothing and before
 * what was already waiting; completing a request hands its worker the forward (with a
 * reference) or the error text; once the hub is asked to stop, nothing more is posted, and
 * what was posted but not taken is left for the loop to fail. Last, a worker thread posts and
 * waits while this thread plays the loop (run under ThreadSanitizer by scripts/test.sh).
 */
#include "ssh/internal.h"
#include "ssh/ssh.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static SshHub *hub_new(void)
{
    static Inventory inv; /* no tunnels */
    SshHub *h = NULL;
    PfErr err = {0};
    assert_int_equal(ssh_hub_new(&inv, &h, &err), PF_OK);
    return h;
}

static void test_taken_oldest_first(void **state)
{
    SshHub *h = hub_new();
    Request a = {.host = "a"}, b = {.host = "b"}, c = {.host = "c"}, old = {.host = "old"};
    Request *waiting = NULL;
    ssh_requests_take(h, &waiting);
    assert_null(waiting); /* nothing posted */

    assert_true(ssh_requests_post(h, &a));
    ssh_requests_take(h, &waiting);
    assert_ptr_equal(waiting, &a);
    assert_null(a.next);

    /* old is waiting (the loop is working on it); three more are posted. */
    waiting = &old;
    old.next = NULL;
    assert_true(ssh_requests_post(h, &a));
    assert_true(ssh_requests_post(h, &b));
    assert_true(ssh_requests_post(h, &c));
    ssh_requests_take(h, &waiting);
    assert_ptr_equal(waiting, &a);
    assert_ptr_equal(a.next, &b);
    assert_ptr_equal(b.next, &c);
    assert_ptr_equal(c.next, &old);
    assert_null(old.next);
    ssh_requests_take(h, &waiting); /* taken once only */
    assert_ptr_equal(waiting, &a);
    ssh_hub_free(h);
}

static void test_completed_with_a_forward_or_an_error(void **state)
{
    SshHub *h = hub_new();
    SshForward f = {.hub = h, .refs = 1}; /* another worker holds it already */
    Request r = {0};
    assert_true(ssh_requests_post(h, &r));
    Request *waiting = NULL;
    ssh_requests_take(h, &waiting);
    ssh_requests_complete(h, &r, &f, NULL);
    ssh_requests_wait(h, &r); /* done: returns at once */
    assert_true(r.done);
    assert_int_equal(r.rc, PF_OK);
    assert_ptr_equal(r.result, &f);
    assert_int_equal(f.refs, 2);

    Request e = {0};
    ssh_requests_complete(h, &e, NULL, "eu: cannot connect to bastion port 22: connection refused");
    ssh_requests_wait(h, &e);
    assert_int_equal(e.rc, PF_ERR_UNREACHABLE);
    assert_string_equal(e.msg, "eu: cannot connect to bastion port 22: connection refused");
    assert_null(e.result);

    Request none = {0};
    ssh_requests_complete(h, &none, NULL, NULL);
    assert_string_equal(none.msg, "the tunnel failed");

    /* A message longer than the request holds is cut, never overflows. */
    char longer[2000];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    Request cut = {0};
    ssh_requests_complete(h, &cut, NULL, longer);
    assert_int_equal(strlen(cut.msg), sizeof cut.msg - 1);
    ssh_hub_free(h);
}

static void test_stop_refuses_posts(void **state)
{
    SshHub *h = hub_new();
    assert_false(ssh_requests_stopping(h));
    Request before = {0}, after = {0};
    assert_true(ssh_requests_post(h, &before));
    ssh_requests_stop(h);
    assert_true(ssh_requests_stopping(h));
    assert_false(ssh_requests_post(h, &after));
    assert_false(after.done);

    /* The loop, stopping: what was posted but never taken is its to fail. */
    Request *waiting = NULL;
    ssh_requests_close(h, &waiting);
    assert_ptr_equal(waiting, &before);
    assert_null(before.next);
    assert_false(ssh_requests_post(h, &after));
    ssh_requests_take(h, &waiting);
    assert_ptr_equal(waiting, &before); /* nothing more came */
    ssh_hub_free(h);
}

static void test_closed_without_a_stop(void **state)
{
    /* The loop returned (poll failed): posting fails as after a stop. */
    SshHub *h = hub_new();
    Request *waiting = NULL;
    ssh_requests_close(h, &waiting);
    assert_null(waiting);
    Request r = {0};
    assert_false(ssh_requests_post(h, &r));
    ssh_hub_free(h);
}

typedef struct Asker {
    SshHub *hub;
    Request r;
    bool posted;
} Asker;

static void *ask(void *arg)
{
    Asker *a = arg;
    a->posted = ssh_requests_post(a->hub, &a->r);
    if (a->posted)
        ssh_requests_wait(a->hub, &a->r);
    return NULL;
}

static void test_worker_threads_and_a_loop(void **state)
{
    enum { N = 8 };
    SshHub *h = hub_new();
    SshForward f = {.hub = h};
    Asker askers[N];
    pthread_t threads[N];
    for (int i = 0; i < N; i++) {
        askers[i] = (Asker){.hub = h};
        assert_int_equal(pthread_create(&threads[i], NULL, ask, &askers[i]), 0);
    }
    /* This thread is the loop: take and complete until every worker was answered. */
    int answered = 0;
    Request *waiting = NULL;
    while (answered < N) {
        ssh_requests_take(h, &waiting);
        while (waiting) {
            Request *r = waiting;
            waiting = r->next;
            if (answered % 2)
                ssh_requests_complete(h, r, &f, NULL);
            else
                ssh_requests_complete(h, r, NULL, "refused");
            answered++;
        }
    }
    for (int i = 0; i < N; i++)
        pthread_join(threads[i], NULL);
    int ok = 0;
    for (int i = 0; i < N; i++) {
        assert_true(askers[i].posted);
        assert_true(askers[i].r.done);
        ok += askers[i].r.rc == PF_OK;
    }
    assert_int_equal(ok, N / 2);
    assert_int_equal(f.refs, N / 2);
    ssh_hub_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_taken_oldest_first),
        cmocka_unit_test(test_completed_with_a_forward_or_an_error),
        cmocka_unit_test(test_stop_refuses_posts),
        cmocka_unit_test(test_closed_without_a_stop),
        cmocka_unit_test(test_worker_threads_and_a_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
