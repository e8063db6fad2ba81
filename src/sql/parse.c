/*
 * sql_parse: a chunk through libpg_query's parser, whole first. The parser reads the chunk at
 * once and stops at its first error, so when it refuses something the chunk is cut at the
 * scanner's semicolons (sql_cut) and each piece is parsed on its own: the statements around
 * the bad one still get their model, the bad one becomes SQL_KIND_UNPARSED with its own
 * error, and the chunk keeps the parser's first error. Each piece is parsed once, so the
 * work stays linear in the chunk.
 *
 * Pieces are parsed in place: the chunk is copied once, and a piece's end is NUL-terminated
 * for the parser and restored after. LANGUAGE sql bodies go through the same steps as text of
 * their own (sql_parse_body), with their offsets mapped back into the chunk. Lines and columns
 * are filled last, in one pass over the chunk for every position of the model.
 */
#include "sql/internal.h"

#include "core/mem.h"

#include <pg_query.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Function bodies that create functions with bodies...: deeper ones are not parsed. */
#define MAX_BODY_DEPTH 4

struct SqlParser {
    SqlArena *arena;
    int depth; /* LANGUAGE sql bodies being parsed */
};

SqlArena *sql_parser_arena(SqlParser *p)
{
    return p->arena;
}

const SqlError *sql_error_new(SqlParser *p, const char *message, size_t at)
{
    SqlError *e = sql_arena_alloc(p->arena, sizeof *e);
    e->message = sql_arena_strdup(p->arena, message);
    e->pos.offset = at;
    return e;
}

SqlStatement *sql_stmt_push(SqlStmtVec *vec)
{
    PF_GROW(vec->v, vec->cap, vec->n + 1);
    SqlStatement *st = &vec->v[vec->n++];
    memset(st, 0, sizeof *st);
    return st;
}

void sql_stmt_extent(const SqlSource *src, size_t first, size_t last, SqlStatement *st)
{
    size_t start = src->toks->t[first].start, end = sql_tok_end(src->toks, last);
    st->pos.offset = sql_frame_map(src->frame, start);
    st->len = src->frame.exact ? end - start : 0;
}

static void push_unparsed(SqlStmtVec *out, SqlFrame frame, bool in_body, size_t start, size_t end,
                          const SqlError *err)
{
    SqlStatement *st = sql_stmt_push(out);
    st->kind = SQL_KIND_UNPARSED;
    st->pos.offset = sql_frame_map(frame, start);
    st->len = frame.exact && end > start ? end - start : 0;
    st->error = err;
    st->in_body = in_body;
}

/* Parse buf[start, end) and, when the parser takes all of it, classify its statements into
 * out. Otherwise nothing is added and *err says why. */
static bool try_parse(SqlParser *p, const SqlSource *src, char *buf, size_t start, size_t end,
                      SqlStmtVec *out, const SqlError **err)
{
    char saved = buf[end];
    buf[end] = '\0';
    PgQueryParseResult r = pg_query_parse(buf + start);
    buf[end] = saved;
    if (r.error) {
        size_t at = start + sql_char_to_byte(buf + start, end - start, r.error->cursorpos);
        *err = sql_error_new(p, r.error->message, sql_frame_map(src->frame, at));
        pg_query_free_parse_result(r);
        return false;
    }
    /* cJSON refuses nesting deeper than CJSON_NESTING_LIMIT (1000): such a statement is read
     * as one the parser refused. */
    cJSON *tree = cJSON_Parse(r.parse_tree);
    pg_query_free_parse_result(r);
    if (!tree) {
        *err = sql_error_new(p, "statement nested too deeply to be read",
                             sql_frame_map(src->frame, start));
        return false;
    }
    const SqlToks *toks = src->toks;
    const cJSON *raw;
    cJSON_ArrayForEach(raw, cJSON_GetObjectItemCaseSensitive(tree, "stmts"))
    {
        const cJSON *loc = cJSON_GetObjectItemCaseSensitive(raw, "stmt_location");
        const cJSON *len = cJSON_GetObjectItemCaseSensitive(raw, "stmt_len");
        size_t s = start + (cJSON_IsNumber(loc) ? (size_t)loc->valuedouble : 0);
        size_t e = cJSON_IsNumber(len) && len->valuedouble > 0 ? s + (size_t)len->valuedouble : end;
        if (e > end)
            e = end;
        size_t first = sql_tok_at(toks, s);
        while (first < toks->n && toks->t[first].start < e && sql_tok_comment(toks, first))
            first++;
        if (first >= toks->n || toks->t[first].start >= e)
            continue; /* no token: nothing the server would run */
        size_t last = sql_tok_at(toks, e) - 1;
        while (last > first && sql_tok_comment(toks, last))
            last--;
        SqlStatement *st = sql_stmt_push(out);
        st->in_body = src->in_body;
        sql_stmt_extent(src, first, last, st);
        sql_classify(p, src, cJSON_GetObjectItemCaseSensitive(raw, "stmt"), first, last, st);
    }
    cJSON_Delete(tree);
    return true;
}

static size_t trim_end(const char *text, size_t start, size_t end)
{
    for (; end > start; end--) {
        char ch = text[end - 1];
        if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r' && ch != '\f' && ch != '\v')
            break;
    }
    return end;
}

/* Parse buf[0, len) (writable, NUL at len) into out; the first error, or NULL. */
static const SqlError *parse_text(SqlParser *p, char *buf, size_t len, SqlFrame frame, bool in_body,
                                  SqlStmtVec *out)
{
    SqlToks toks;
    char *scan_msg;
    size_t scan_at;
    sql_scan(buf, len, &toks, &scan_msg, &scan_at);
    SqlSource src = {&toks, frame, in_body};
    const SqlError *first = NULL;
    if (try_parse(p, &src, buf, 0, len, out, &first)) {
        sql_toks_free(&toks);
        free(scan_msg);
        return NULL;
    }
    SqlPiece *pieces, tail;
    size_t n;
    bool has_tail = false;
    sql_cut(&toks, 0, toks.n, &pieces, &n, scan_msg ? &tail : NULL, &has_tail);
    for (size_t i = 0; i < n; i++) {
        size_t s = toks.t[pieces[i].first].start, e = sql_tok_end(&toks, pieces[i].last);
        const SqlError *err;
        if (!try_parse(p, &src, buf, s, e, out, &err))
            push_unparsed(out, frame, in_body, s, e, err);
    }
    if (scan_msg) {
        /* Nothing after an unterminated string or comment can be cut: the rest is one. */
        size_t s = has_tail ? toks.t[tail.first].start : scan_at;
        const SqlError *err = sql_error_new(p, scan_msg, sql_frame_map(frame, scan_at));
        push_unparsed(out, frame, in_body, s, trim_end(buf, s, len), err);
    }
    free(pieces);
    free(scan_msg);
    sql_toks_free(&toks);
    return first;
}

const SqlError *sql_parse_body(SqlParser *p, const char *body, SqlFrame frame, SqlStmtVec *out,
                               bool *parsed)
{
    if (p->depth >= MAX_BODY_DEPTH) {
        *parsed = false;
        return NULL;
    }
    p->depth++;
    char *buf = pf_strdup(body);
    const SqlError *err = parse_text(p, buf, strlen(buf), frame, true, out);
    free(buf);
    p->depth--;
    *parsed = err == NULL;
    return err;
}

/* ---- lines and columns ------------------------------------------------------------------ */

typedef struct PosList {
    SqlPos **v;
    size_t n, cap;
} PosList;

static void pos_add(PosList *l, const SqlPos *pos)
{
    PF_GROW(l->v, l->cap, l->n + 1);
    l->v[l->n++] = (SqlPos *)pos; /* arena memory, written once more here */
}

static void collect(PosList *l, const SqlStatement *stmts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const SqlStatement *st = &stmts[i];
        pos_add(l, &st->pos);
        if (st->error)
            pos_add(l, &st->error->pos);
        for (size_t k = 0; k < st->n_strings; k++)
            pos_add(l, &st->strings[k].pos);
        for (size_t k = 0; k < st->n_alters; k++)
            pos_add(l, &st->alters[k].pos);
        if (st->routine) {
            pos_add(l, &st->routine->body_pos);
            if (st->routine->body_error)
                pos_add(l, &st->routine->body_error->pos);
            collect(l, st->routine->body, st->routine->n_body);
        }
    }
}

static int by_offset(const void *a, const void *b)
{
    size_t x = (*(SqlPos *const *)a)->offset, y = (*(SqlPos *const *)b)->offset;
    return x < y ? -1 : x > y;
}

static void fill_lines(const SqlChunk *c, const char *text, size_t len)
{
    PosList l = {0};
    collect(&l, c->stmts, c->n);
    if (c->error)
        pos_add(&l, &c->error->pos);
    if (l.n > 1)
        qsort(l.v, l.n, sizeof *l.v, by_offset);
    size_t at = 0, line = 1, col = 1;
    for (size_t i = 0; i < l.n; i++) {
        size_t to = l.v[i]->offset < len ? l.v[i]->offset : len;
        for (; at < to; at++) {
            unsigned char ch = (unsigned char)text[at];
            if (ch == '\n') {
                line++;
                col = 1;
            } else if ((ch & 0xC0) != 0x80) {
                col++;
            }
        }
        l.v[i]->line = line;
        l.v[i]->column = col;
    }
    free(l.v);
}

/* ---- the interface ---------------------------------------------------------------------- */

SqlChunk *sql_parse(const char *text, size_t len)
{
    SqlChunk *c = pf_calloc(1, sizeof *c);
    c->arena = sql_arena_new();
    SqlParser p = {c->arena, 0};
    SqlStmtVec out = {0};
    const SqlError *first;
    SqlFrame top = {0, true};
    if (len > INT_MAX / 2) {
        /* libpg_query counts in int; no migration comes near. */
        first = sql_error_new(&p, "chunk too large to parse", 0);
        push_unparsed(&out, top, false, 0, len, first);
    } else {
        char *buf = pf_malloc(len + 1);
        memcpy(buf, text, len);
        buf[len] = '\0';
        const char *nul = memchr(buf, '\0', len);
        size_t until = nul ? (size_t)(nul - buf) : len;
        first = parse_text(&p, buf, until, top, false, &out);
        if (nul) {
            /* The server reads a query string up to its first NUL byte. */
            const SqlError *err =
                sql_error_new(&p, "a NUL byte: nothing after it can be sent", until);
            push_unparsed(&out, top, false, until, trim_end(buf, until, len), err);
            if (!first)
                first = err;
        }
        free(buf);
    }
    c->stmts = sql_arena_keep(c->arena, out.v, out.n, sizeof *out.v);
    c->n = out.n;
    c->error = first;
    c->parsed = first == NULL;
    fill_lines(c, text, len);
    return c;
}

void sql_chunk_free(SqlChunk *chunk)
{
    if (!chunk)
        return;
    sql_arena_free(chunk->arena);
    free(chunk);
}
