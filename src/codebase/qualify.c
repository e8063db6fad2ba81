/*
 * Tenant schemas: where a folder's SQL names the schemas a schema-per-tenant target maps, and
 * the chunks rewritten for one tenant (docs/tenants.md).
 *
 * drizzle-kit qualifies what it generates with the schema it was written for ("public"."orgs"
 * in every foreign key, "public"."role" for enums). Applied as they are inside a tenant schema,
 * such statements reach public's objects. Each chunk is lexed exactly as the server lexes it
 * (src/codebase/sqllex.h): an identifier followed by '.' is a qualifier, and the name after
 * CREATE / ALTER / DROP SCHEMA, SET SCHEMA, ON SCHEMA and IN SCHEMA is a schema; dollar-quoted
 * bodies are lexed the same way (DO blocks and function bodies are SQL or PL/pgSQL, which
 * share the lexer's rules). Strings and comments are never rewritten: a schema named inside a
 * string (EXECUTE 'ALTER TABLE public.t ...', 'public.t'::regclass) is a problem to report,
 * as is CREATE EXTENSION, whose objects belong to the database.
 *
 * The references are found once per fleet; each tenant's chunks are then spliced from them.
 */
#include "codebase/codebase.h"
#include "codebase/internal.h"
#include "codebase/sqllex.h"

#include "core/buf.h"
#include "core/mem.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef struct Finder {
    const CbSchemaRefs *r;
    CbSchemaRef *refs;
    size_t n, cap;
    size_t chunk;
    /* problems of the migration being read, as chunk offsets, turned into lines at the end */
    struct Pending {
        size_t chunk, offset;
        char *message;
        const char *hint;
    } * pending;
    size_t n_pending, cap_pending;
} Finder;

static void add_problem(Finder *f, size_t offset, char *message, const char *hint)
{
    PF_GROW(f->pending, f->cap_pending, f->n_pending + 1);
    f->pending[f->n_pending++] = (struct Pending){f->chunk, offset, message, hint};
}

/* Which looked-for schema a name token stands for, or -1. */
static long schema_of(const Finder *f, const char *text, const SqlToken *tok)
{
    if (tok->kind != SQL_TOK_WORD && tok->kind != SQL_TOK_IDENT)
        return -1;
    if (tok->unterminated)
        return -1;
    char *name = sqllex_ident(text, tok);
    long found = -1;
    for (size_t k = 0; name && k < f->r->n_schemas && found < 0; k++)
        if (strcmp(name, f->r->schemas[k]) == 0)
            found = (long)k;
    free(name);
    return found;
}

/* Whether the string value names a looked-for schema as a qualifier: "public.x", "\"public\".x"
 * (ASCII case-insensitive for the unquoted form, as an unquoted name folds). */
static const char *string_names_schema(const Finder *f, const char *v)
{
    for (size_t k = 0; k < f->r->n_schemas; k++) {
        const char *s = f->r->schemas[k];
        size_t len = strlen(s);
        for (const char *p = v; *p; p++) {
            bool boundary = p == v || !(isalnum((unsigned char)p[-1]) || p[-1] == '_' ||
                                        p[-1] == '$' || p[-1] == '"');
            if (!boundary)
                continue;
            if (strncasecmp(p, s, len) == 0 && p[len] == '.')
                return s;
            if (p[0] == '"' && strncmp(p + 1, s, len) == 0 && p[1 + len] == '"' &&
                p[2 + len] == '.')
                return s;
        }
    }
    return NULL;
}

static void scan(Finder *f, const char *text, size_t len, size_t base, bool top);

/* The text between a dollar-quoted token's tags, scanned as SQL. */
static void scan_dollar(Finder *f, const char *text, const SqlToken *tok, size_t base)
{
    if (tok->unterminated)
        return;
    const char *s = text + tok->start;
    const char *close = memchr(s + 1, '$', tok->len - 1);
    if (!close)
        return;
    size_t tag = (size_t)(close - s) + 1;
    if (tok->len < 2 * tag)
        return;
    scan(f, s + tag, tok->len - 2 * tag, base + tok->start + tag, false);
}

static void scan(Finder *f, const char *text, size_t len, size_t base, bool top)
{
    SqlLexer lx;
    sqllex_init(&lx, text, len);
    SqlToken *toks = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        PF_GROW(toks, cap, n + 1);
        if (sqllex_next(&lx, &toks[n]) == SQL_TOK_END)
            break;
        n++;
    }
    for (size_t i = 0; i < n; i++) {
        const SqlToken *t = &toks[i];
        if (t->kind == SQL_TOK_DOLLAR) {
            scan_dollar(f, text, t, base);
            continue;
        }
        if (t->kind == SQL_TOK_STRING) {
            char *v = sqllex_string(text, t);
            const char *s = v ? string_names_schema(f, v) : NULL;
            if (s)
                add_problem(f, base + t->start,
                            pf_asprintf("a string names schema \"%s\" (dynamic SQL or a "
                                        "'%s.name'::regclass): it is not rewritten for the "
                                        "tenant",
                                        s, s),
                            "leave the schema out of the string (the tenant's search_path "
                            "finds the object)");
            free(v);
            continue;
        }
        bool stmt_start = i == 0 || (toks[i - 1].kind == SQL_TOK_SEMI);
        if (top && stmt_start && sqllex_is(text, t, "create") && i + 1 < n &&
            sqllex_is(text, &toks[i + 1], "extension")) {
            add_problem(f, base + t->start,
                        pf_strdup("CREATE EXTENSION in a tenant folder: an extension belongs "
                                  "to the database, and a tenant's search_path does not see "
                                  "another tenant's schema"),
                        "create the extension once per database (in a schema outside the "
                        "tenants) before applying");
            continue;
        }
        long k = schema_of(f, text, t);
        if (k < 0)
            continue;
        bool qualifier =
            i + 1 < n && toks[i + 1].kind == SQL_TOK_OP && text[toks[i + 1].start] == '.';
        bool after_schema = false;
        size_t j = i;
        /* SCHEMA [IF [NOT] EXISTS] name, and the list of DROP SCHEMA a, b */
        while (j >= 2 && toks[j - 1].kind == SQL_TOK_OP && text[toks[j - 1].start] == ',' &&
               (toks[j - 2].kind == SQL_TOK_WORD || toks[j - 2].kind == SQL_TOK_IDENT))
            j -= 2;
        if (j >= 1 && sqllex_is(text, &toks[j - 1], "exists"))
            j -= (j >= 3 && sqllex_is(text, &toks[j - 2], "not")) ? 3 : 2;
        if (j >= 2 && sqllex_is(text, &toks[j - 1], "schema")) {
            const SqlToken *before = &toks[j - 2];
            after_schema = sqllex_is(text, before, "create") || sqllex_is(text, before, "alter") ||
                           sqllex_is(text, before, "drop") || sqllex_is(text, before, "set") ||
                           sqllex_is(text, before, "on") || sqllex_is(text, before, "in");
        }
        if (!qualifier && !after_schema)
            continue;
        /* x.public.t: "public" is not the first part of the name; left as it is. */
        if (qualifier && i >= 1 && toks[i - 1].kind == SQL_TOK_OP && text[toks[i - 1].start] == '.')
            continue;
        PF_GROW(f->refs, f->cap, f->n + 1);
        f->refs[f->n++] = (CbSchemaRef){f->chunk, base + t->start, t->len, (size_t)k};
    }
    free(toks);
}

void cb_schema_refs_find(const Codebase *cb, const char *const *schemas, size_t n,
                         CbSchemaRefs *out)
{
    memset(out, 0, sizeof *out);
    out->schemas = pf_calloc(n ? n : 1, sizeof *out->schemas);
    for (size_t k = 0; k < n; k++)
        out->schemas[k] = pf_strdup(schemas[k]);
    out->n_schemas = n;
    out->n_migrations = cb->n;
    out->refs = pf_calloc(cb->n ? cb->n : 1, sizeof *out->refs);
    out->n_refs = pf_calloc(cb->n ? cb->n : 1, sizeof *out->n_refs);
    size_t cap_problems = 0;
    for (size_t m = 0; m < cb->n; m++) {
        const CbMigration *mig = &cb->migrations[m];
        Finder f = {.r = out};
        for (size_t c = 0; c < mig->n_chunks; c++) {
            f.chunk = c;
            scan(&f, mig->chunks[c], strlen(mig->chunks[c]), 0, true);
        }
        out->refs[m] = f.refs;
        out->n_refs[m] = f.n;
        if (!f.n_pending)
            continue;
        CbSpan *spans;
        size_t n_spans;
        cb_split_spans(mig->sql, mig->sql_len, &spans, &n_spans);
        for (size_t i = 0; i < f.n_pending; i++) {
            size_t pos = f.pending[i].offset;
            if (f.pending[i].chunk < n_spans)
                pos += spans[f.pending[i].chunk].start;
            CbTenantProblem p = {
                .migration = m, .message = f.pending[i].message, .hint = f.pending[i].hint};
            cb_text_position(mig->sql, pos, &p.line, &p.column);
            PF_GROW(out->problems, cap_problems, out->n_problems + 1);
            out->problems[out->n_problems++] = p;
        }
        free(spans);
        free(f.pending);
    }
}

void cb_schema_refs_clear(CbSchemaRefs *r)
{
    if (!r)
        return;
    for (size_t k = 0; k < r->n_schemas; k++)
        free(r->schemas[k]);
    free(r->schemas);
    for (size_t m = 0; r->refs && m < r->n_migrations; m++)
        free(r->refs[m]);
    free(r->refs);
    free(r->n_refs);
    for (size_t i = 0; i < r->n_problems; i++)
        free(r->problems[i].message);
    free(r->problems);
    memset(r, 0, sizeof *r);
}

static void put_quoted(PfBuf *b, const char *name)
{
    pf_buf_putc(b, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            pf_buf_putc(b, '"');
        pf_buf_putc(b, *p);
    }
    pf_buf_putc(b, '"');
}

char **cb_schema_refs_apply(const CbSchemaRefs *r, const Codebase *cb, size_t m,
                            const char *const *to)
{
    const CbMigration *mig = &cb->migrations[m];
    char **out = pf_calloc(mig->n_chunks ? mig->n_chunks : 1, sizeof *out);
    const CbSchemaRef *refs = r->refs[m];
    size_t n = r->n_refs[m], i = 0;
    for (size_t c = 0; c < mig->n_chunks; c++) {
        const char *chunk = mig->chunks[c];
        PfBuf b = PF_BUF_INIT;
        size_t at = 0;
        for (; i < n && refs[i].chunk == c; i++) {
            const char *name = to[refs[i].schema];
            if (!name)
                continue;
            pf_buf_append(&b, chunk + at, refs[i].offset - at);
            put_quoted(&b, name);
            at = refs[i].offset + refs[i].len;
        }
        pf_buf_puts(&b, chunk + at);
        out[c] = pf_buf_take(&b);
    }
    return out;
}

void cb_chunks_free(char **chunks, size_t n)
{
    if (!chunks)
        return;
    for (size_t i = 0; i < n; i++)
        free(chunks[i]);
    free(chunks);
}
