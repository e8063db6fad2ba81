/* core helpers: formatting into buffers, durations, globs, paths; and the secrets a dsn holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/mem.h"
#include "core/strset.h"
#include "core/util.h"
#include "inventory/inventory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool has_secret(char **s, size_t n, const char *want)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s[i], want) == 0)
            return true;
    return false;
}

static void free_secrets(char **s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

/* pf_buf_printf formats into the room the buffer has and, when that is too little, grows it and
 * formats again; pf_asprintf formats in one pass however long the text. Either way the text is
 * whole and terminated. */
static void test_formatting(void **state)
{
    (void)state;
    PfBuf b = PF_BUF_INIT;
    PfBuf want = PF_BUF_INIT;
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    for (int i = 0; i < 200; i++) { /* lengths that land on and across every capacity */
        pf_buf_printf(&b, "%d:%.*s;", i, i % 97, big);
        char n[16];
        snprintf(n, sizeof n, "%d:", i);
        pf_buf_puts(&want, n);
        pf_buf_append(&want, big, (size_t)(i % 97));
        pf_buf_putc(&want, ';');
        assert_int_equal(b.len, want.len);
        assert_string_equal(b.data, want.data);
    }
    pf_buf_printf(&b, "%s", big); /* more than the buffer has room for */
    pf_buf_puts(&want, big);
    assert_int_equal(b.len, want.len);
    assert_string_equal(b.data, want.data);
    pf_buf_printf(&b, "%s", ""); /* nothing: the text stays as it was */
    assert_int_equal(b.len, want.len);
    assert_string_equal(b.data, want.data);
    pf_buf_free(&b);
    pf_buf_free(&want);

    PfBuf empty = PF_BUF_INIT;
    pf_buf_printf(&empty, "%s", "");
    assert_int_equal(empty.len, 0);
    assert_string_equal(empty.data, "");
    pf_buf_free(&empty);

    char *s = pf_asprintf("<%s|%d>", big, 42);
    assert_int_equal(strlen(s), sizeof big - 1 + 5);
    assert_memory_equal(s + 1, big, sizeof big - 1);
    assert_string_equal(s + sizeof big, "|42>");
    free(s);
    s = pf_asprintf("%s", "");
    assert_string_equal(s, "");
    free(s);
}

static void test_dsn_secrets(void **state)
{
    size_t n;
    char **s =
        inv_dsn_secrets("postgresql://app:p%40ss@db/x?sslpassword=k%20y&sslmode=require", &n);
    assert_true(has_secret(s, n, "p%40ss"));
    assert_true(has_secret(s, n, "p@ss"));
    assert_true(has_secret(s, n, "k%20y"));
    assert_true(has_secret(s, n, "k y"));
    assert_false(has_secret(s, n, "require"));
    free_secrets(s, n);

    s = inv_dsn_secrets("host=a password='se cr\\'et' user=b", &n);
    assert_true(has_secret(s, n, "se cr'et"));
    free_secrets(s, n);

    s = inv_dsn_secrets("host=a dbname='postgresql://u:Nested-pw@h/db'", &n);
    assert_true(has_secret(s, n, "Nested-pw"));
    free_secrets(s, n);

    s = inv_dsn_secrets("host=a user=b", &n);
    assert_int_equal(n, 0);
    free_secrets(s, n);
}

static void test_durations(void **state)
{
    int64_t ms = -1;
    assert_true(pf_parse_duration_ms("30s", &ms));
    assert_int_equal(ms, 30000);
    assert_true(pf_parse_duration_ms("500ms", &ms));
    assert_int_equal(ms, 500);
    assert_true(pf_parse_duration_ms("2m", &ms));
    assert_int_equal(ms, 120000);
    assert_true(pf_parse_duration_ms("1h", &ms));
    assert_int_equal(ms, 3600000);
    assert_true(pf_parse_duration_ms("7", &ms));
    assert_int_equal(ms, 7000);
    assert_false(pf_parse_duration_ms("30x", &ms));
    assert_false(pf_parse_duration_ms("", &ms));
    assert_false(pf_parse_duration_ms("-1s", &ms));
}

static void test_glob_and_paths(void **state)
{
    assert_true(pf_glob_match("tenant-*", "tenant-acme"));
    assert_false(pf_glob_match("tenant-*", "staging"));
    assert_true(pf_glob_match("db-?", "db-1"));
    char *d = pf_dirname("inv/fleet.yaml");
    assert_string_equal(d, "inv");
    free(d);
    d = pf_dirname("fleet.yaml");
    assert_string_equal(d, ".");
    free(d);
    char *j = pf_path_join("inv", "drizzle");
    assert_string_equal(j, "inv/drizzle");
    free(j);
    j = pf_path_join("inv", "/abs/drizzle");
    assert_string_equal(j, "/abs/drizzle");
    free(j);
}

/* A string set: add refuses a repeat and says its value; put replaces it; both survive the
 * table growing (200 names). */
static void test_strset(void **state)
{
    (void)state;
    PfStrSet set = {0};
    char names[200][8];
    for (size_t i = 0; i < 200; i++) {
        snprintf(names[i], sizeof names[i], "n%zu", i);
        assert_true(pf_strset_add(&set, names[i], i, NULL));
    }
    size_t v = 0;
    assert_false(pf_strset_add(&set, "n7", 99, &v));
    assert_int_equal(v, 7);
    assert_false(pf_strset_put(&set, "n7", 1007, &v));
    assert_int_equal(v, 7);
    assert_true(pf_strset_get(&set, "n7", &v));
    assert_int_equal(v, 1007);
    assert_true(pf_strset_put(&set, "new", 5, NULL));
    assert_true(pf_strset_get(&set, "new", &v));
    assert_int_equal(v, 5);
    assert_true(pf_strset_get(&set, "n199", &v));
    assert_int_equal(v, 199);
    assert_false(pf_strset_get(&set, "n200", NULL));
    assert_int_equal(set.n, 201);
    pf_strset_free(&set);
    assert_false(pf_strset_get(&set, "n7", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formatting), cmocka_unit_test(test_dsn_secrets),
        cmocka_unit_test(test_durations),  cmocka_unit_test(test_glob_and_paths),
        cmocka_unit_test(test_strset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
