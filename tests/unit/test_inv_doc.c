/*
 * Unit tests for the inventory's compact document (src/inventory/doc.c): for each input, the
 * nodes it composes are libyaml's own (yaml_parser_load) node for node — numbers, types,
 * marks, scalar texts, lengths and styles, pairs and items, aliases as their anchor's node —
 * and so are the errors (undefined alias, repeated anchor, syntax) and the documents after
 * the first. The loader reads the document only through these fields.
 */
#include "inventory/inv_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* Compose every document of text both ways (up to 3) and compare them. */
static void same_as_libyaml(const char *text)
{
    yaml_parser_t a, b;
    assert_true(yaml_parser_initialize(&a));
    assert_true(yaml_parser_initialize(&b));
    yaml_parser_set_input_string(&a, (const unsigned char *)text, strlen(text));
    yaml_parser_set_input_string(&b, (const unsigned char *)text, strlen(text));
    for (int k = 0; k < 3; k++) {
        yaml_document_t doc;
        InvYaml *mine = NULL;
        int ok_a = yaml_parser_load(&a, &doc);
        bool ok_b = inv_yaml_load(&b, &mine);
        assert_int_equal(ok_a != 0, ok_b);
        if (!ok_a) {
            assert_null(mine);
            assert_int_equal(a.error, b.error);
            assert_string_equal(a.problem, b.problem);
            assert_int_equal(a.problem_mark.line, b.problem_mark.line);
            assert_int_equal(a.problem_mark.column, b.problem_mark.column);
            assert_int_equal(a.context != NULL, b.context != NULL);
            if (a.context) {
                assert_string_equal(a.context, b.context);
                assert_int_equal(a.context_mark.line, b.context_mark.line);
                assert_int_equal(a.context_mark.column, b.context_mark.column);
            }
            break;
        }
        int count = (int)(doc.nodes.top - doc.nodes.start);
        assert_int_equal(yaml_document_get_root_node(&doc) != NULL, inv_yaml_root(mine) != NULL);
        assert_null(inv_yaml_node(mine, count + 1));
        assert_null(inv_yaml_node(mine, 0));
        for (int i = 1; i <= count; i++) {
            const yaml_node_t *x = yaml_document_get_node(&doc, i);
            const InvNode *y = inv_yaml_node(mine, i);
            assert_non_null(y);
            assert_int_equal(x->type, y->type);
            assert_int_equal(x->start_mark.line, y->start_mark.line);
            assert_int_equal(x->start_mark.column, y->start_mark.column);
            if (x->type == YAML_SCALAR_NODE) {
                assert_int_equal(x->data.scalar.length, y->data.scalar.length);
                assert_memory_equal(x->data.scalar.value, y->data.scalar.value,
                                    x->data.scalar.length + 1);
                assert_int_equal(x->data.scalar.style, y->data.scalar.style);
            } else if (x->type == YAML_MAPPING_NODE) {
                long n = x->data.mapping.pairs.top - x->data.mapping.pairs.start;
                assert_int_equal(n, y->data.mapping.pairs.top - y->data.mapping.pairs.start);
                for (long j = 0; j < n; j++) {
                    assert_int_equal(x->data.mapping.pairs.start[j].key,
                                     y->data.mapping.pairs.start[j].key);
                    assert_int_equal(x->data.mapping.pairs.start[j].value,
                                     y->data.mapping.pairs.start[j].value);
                }
            } else {
                long n = x->data.sequence.items.top - x->data.sequence.items.start;
                assert_int_equal(n, y->data.sequence.items.top - y->data.sequence.items.start);
                for (long j = 0; j < n; j++)
                    assert_int_equal(x->data.sequence.items.start[j],
                                     y->data.sequence.items.start[j]);
            }
        }
        yaml_document_delete(&doc);
        inv_yaml_free(mine);
    }
    yaml_parser_delete(&a);
    yaml_parser_delete(&b);
}

static void test_documents(void **state)
{
    static const char *const inputs[] = {
        "",
        "---\n",
        "~\n",
        "targets:\n  - name: a\n    dsn: host=x\n    labels: {env: prod, n: '1'}\n",
        "defaults: &d {lock_wait: 30s}\nx: *d\ny: [*d, *d]\n",
        "a: &x [*x, 1]\n", /* an alias inside its own anchor: the same node */
        "k: {x: 1, y: [1, 2]}\nz: !!str 3\n'q': \"w\"\n? c\n: |\n  block\n  text\n",
        "a: \"nul\\0inside\"\n", /* a NUL before the end of the text */
        "a: 1\n---\nb\n",        /* a second document */
        "- []\n- {}\n- ''\n- >\n  folded\n",
        "a: *nowhere\n",      /* undefined alias */
        "a: &x 1\nb: &x 2\n", /* repeated anchor */
        "a: [1, 2\n",         /* syntax error */
        "a: 1\n--- [\n",      /* syntax error in the second document */
        "\xef\xbb\xbf"
        "a: \xff\n", /* reader error */
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
        same_as_libyaml(inputs[i]);
}

static void test_many_nodes_and_long_texts(void **state)
{
    /* More nodes than a block holds, and texts longer than an arena block. */
    size_t n = 5000, cap = n * 64 + 200000;
    char *text = test_malloc(cap);
    size_t len = 0;
    len += (size_t)snprintf(text + len, cap - len, "long: '");
    for (int i = 0; i < 100000; i++)
        text[len++] = (char)('a' + i % 26);
    len += (size_t)snprintf(text + len, cap - len, "'\nitems:\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, cap - len, "  - {name: t%zu, n: %zu}\n", i, i);
    same_as_libyaml(text);
    test_free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_documents),
        cmocka_unit_test(test_many_nodes_and_long_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
