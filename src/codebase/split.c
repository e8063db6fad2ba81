/*
 * Splitting a migration into the statements drizzle-orm executes one by one: JavaScript's
 * sql.split("--> statement-breakpoint"), so nothing is trimmed and empty chunks are kept.
 */
#include "codebase/internal.h"

#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

#define MARKER "--> statement-breakpoint"
#define MARKER_LEN (sizeof MARKER - 1)

void cb_split_spans(const char *sql, size_t len, CbSpan **spans, size_t *n)
{
    CbSpan *out = NULL;
    size_t count = 0, cap = 0;
    size_t start = 0, i = 0;

    /* memcmp at every offset rather than strstr: the text may contain NUL bytes. */
    while (len >= MARKER_LEN && i <= len - MARKER_LEN) {
        if (memcmp(sql + i, MARKER, MARKER_LEN) == 0) {
            PF_GROW(out, cap, count + 1);
            out[count++] = (CbSpan){start, i - start};
            i += MARKER_LEN;
            start = i;
        } else {
            i++;
        }
    }
    PF_GROW(out, cap, count + 1);
    out[count++] = (CbSpan){start, len - start};
    *spans = out;
    *n = count;
}

void cb_split(const char *sql, size_t len, char ***chunks, size_t *n)
{
    CbSpan *spans;
    cb_split_spans(sql, len, &spans, n);
    char **out = pf_malloc(*n * sizeof *out);
    for (size_t i = 0; i < *n; i++)
        out[i] = pf_strndup(sql + spans[i].start, spans[i].len);
    free(spans);
    *chunks = out;
}
