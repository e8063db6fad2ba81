/*
 * Unit tests for the SSH hub's byte queues (src/ssh/bytequeue.c): bytes come out in the order
 * they went in, whatever mix of pushes and drops; the room freed at the front is reused before
 * the buffer grows; an emptied queue starts again at the front; a freed queue is usable again.
 */
#include "ssh/internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_fifo(void **state)
{
    ByteQ q = {0};
    assert_int_equal(q.len, 0);
    byteq_push(&q, "abc", 3);
    byteq_push(&q, "", 0);
    byteq_push(&q, "defg", 4);
    assert_int_equal(q.len, 7);
    assert_memory_equal(q.data + q.start, "abcdefg", 7);
    byteq_drop(&q, 2);
    assert_int_equal(q.start, 2);
    assert_memory_equal(q.data + q.start, "cdefg", 5);
    byteq_drop(&q, 0);
    assert_int_equal(q.len, 5);
    byteq_drop(&q, 5);
    assert_int_equal(q.len, 0);
    assert_int_equal(q.start, 0); /* empty: the next push starts at the front */
    byteq_push(&q, "h", 1);
    assert_int_equal(q.start, 0);
    assert_memory_equal(q.data, "h", 1);
    byteq_free(&q);
}

static void test_front_room_is_reused(void **state)
{
    ByteQ q = {0};
    char block[100];
    memset(block, 'a', sizeof block);
    byteq_push(&q, block, sizeof block);
    size_t cap = q.cap;
    byteq_drop(&q, 90);
    /* 10 pending at start 90: a push that fits in the whole buffer moves them to the front
     * instead of growing it. */
    char more[4096];
    assert_true(cap - 10 <= sizeof more);
    memset(more, 'b', sizeof more);
    byteq_push(&q, more, cap - 10);
    assert_int_equal(q.cap, cap);
    assert_int_equal(q.start, 0);
    assert_int_equal(q.len, cap);
    assert_memory_equal(q.data, "aaaaaaaaaab", 11);
    byteq_free(&q);
}

static void test_push_that_fits_after_start_stays(void **state)
{
    ByteQ q = {0};
    byteq_push(&q, "0123456789", 10);
    byteq_drop(&q, 4);
    size_t cap = q.cap;
    if (q.start + q.len + 1 <= cap) {
        byteq_push(&q, "x", 1);
        assert_int_equal(q.start, 4); /* no move needed */
        assert_memory_equal(q.data + q.start, "456789x", 7);
    }
    byteq_free(&q);
}

static void test_free_then_reuse(void **state)
{
    ByteQ q = {0};
    byteq_free(&q); /* an empty queue too */
    byteq_push(&q, "abc", 3);
    byteq_free(&q);
    assert_null(q.data);
    assert_int_equal(q.len, 0);
    assert_int_equal(q.cap, 0);
    byteq_push(&q, "xyz", 3);
    assert_memory_equal(q.data + q.start, "xyz", 3);
    byteq_free(&q);
}

/* Random pushes and drops, as a link sees them, against a plain array. */
static void test_against_a_model(void **state)
{
    enum { MODEL_MAX = 1 << 20 };
    unsigned char *model = malloc(MODEL_MAX);
    assert_non_null(model);
    size_t head = 0, tail = 0; /* model[head, tail) is pending */
    unsigned char next = 0;
    unsigned seed = 12345;
    ByteQ q = {0};
    for (int step = 0; step < 20000; step++) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = (seed >> 8) & 0xffff;
        if (r % 3 != 0 && tail + 4096 < MODEL_MAX) {
            unsigned char chunk[4096];
            size_t n = r % sizeof chunk;
            for (size_t i = 0; i < n; i++)
                chunk[i] = next++;
            byteq_push(&q, chunk, n);
            memcpy(model + tail, chunk, n);
            tail += n;
        } else {
            size_t pending = tail - head;
            size_t n = pending ? r % (pending + 1) : 0;
            byteq_drop(&q, n);
            head += n;
        }
        assert_int_equal(q.len, tail - head);
        assert_true(q.start + q.len <= q.cap || q.len == 0);
        if (q.len)
            assert_memory_equal(q.data + q.start, model + head, q.len);
        if (tail + 4096 >= MODEL_MAX && head == tail)
            head = tail = 0;
    }
    byteq_free(&q);
    free(model);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo),
        cmocka_unit_test(test_front_room_is_reused),
        cmocka_unit_test(test_push_that_fits_after_start_stays),
        cmocka_unit_test(test_free_then_reuse),
        cmocka_unit_test(test_against_a_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
