/*
 * PostgreSQL's scanner, through libpg_query's pg_query_scan: the tokens of a text, each with
 * where it starts and its kind, comments included. The parser itself says where statements
 * start and end; the tokens put a statement's position on its first token (not on the
 * comments before it) and its end on its last, find the statements of a BEGIN ATOMIC body,
 * and cut a chunk that does not parse into pieces that may.
 *
 * pg_query_scan answers in protobuf (ScanResult in pg_query.proto). Its two messages are read
 * here with a few lines of wire-format decoding rather than through protobuf-c, whose headers
 * Debian's libpg-query-dev does not bring.
 */
#include "sql/internal.h"

#include "core/mem.h"

#include <pg_query.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A varint at *p (advanced past it); false when the buffer ends inside one. */
static bool varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

/* Skip a field of wire type wt at *p; false when the message is malformed. */
static bool skip_field(const uint8_t **p, const uint8_t *end, unsigned wt)
{
    uint64_t v;
    switch (wt) {
    case 0:
        return varint(p, end, &v);
    case 1:
        if (end - *p < 8)
            return false;
        *p += 8;
        return true;
    case 2:
        if (!varint(p, end, &v) || v > (uint64_t)(end - *p))
            return false;
        *p += v;
        return true;
    case 5:
        if (end - *p < 4)
            return false;
        *p += 4;
        return true;
    default:
        return false;
    }
}

/* ScanToken { int32 start = 1; int32 end = 2; Token token = 4; KeywordKind keyword_kind = 5 } */
static bool read_token(const uint8_t *p, const uint8_t *end, SqlTok *tok)
{
    tok->start = 0;
    tok->kind = 0;
    while (p < end) {
        uint64_t key, v;
        if (!varint(&p, end, &key))
            return false;
        unsigned field = (unsigned)(key >> 3), wt = (unsigned)(key & 7);
        if (wt == 0 && (field == 1 || field == 4)) {
            if (!varint(&p, end, &v))
                return false;
            if (field == 1)
                tok->start = (size_t)v;
            else
                tok->kind = (int)v;
        } else if (!skip_field(&p, end, wt)) {
            return false;
        }
    }
    return true;
}

/* ScanResult { int32 version = 1; repeated ScanToken tokens = 2 } */
static void read_tokens(const uint8_t *p, size_t len, SqlToks *out)
{
    const uint8_t *end = p + len;
    size_t cap = 0;
    while (p < end) {
        uint64_t key, n;
        if (!varint(&p, end, &key))
            return;
        unsigned field = (unsigned)(key >> 3), wt = (unsigned)(key & 7);
        if (field == 2 && wt == 2) {
            if (!varint(&p, end, &n) || n > (uint64_t)(end - p))
                return;
            PF_GROW(out->t, cap, out->n + 1);
            if (read_token(p, p + n, &out->t[out->n]))
                out->n++;
            p += n;
        } else if (!skip_field(&p, end, wt)) {
            return;
        }
    }
}

size_t sql_char_to_byte(const char *text, size_t len, int cursorpos)
{
    if (cursorpos <= 1)
        return 0;
    size_t chars = 0, i = 0;
    for (; i < len; i++) {
        if (((unsigned char)text[i] & 0xC0) != 0x80 && chars++ == (size_t)(cursorpos - 1))
            return i;
    }
    return len;
}

void sql_scan(char *text, size_t len, SqlToks *out, char **err_msg, size_t *err_at)
{
    memset(out, 0, sizeof *out);
    out->text = text;
    *err_msg = NULL;
    *err_at = 0;
    /* After an error, scan the text before it: once is enough unless the cut falls inside a
     * token (an invalid escape reported within a string), so a few rounds at most. */
    size_t cut = len;
    for (int round = 0; round < 8; round++) {
        char saved = text[cut];
        text[cut] = '\0';
        PgQueryScanResult r = pg_query_scan(text);
        text[cut] = saved;
        if (!r.error) {
            read_tokens((const uint8_t *)r.pbuf.data, r.pbuf.len, out);
            out->len = cut;
            pg_query_free_scan_result(r);
            return;
        }
        size_t at = sql_char_to_byte(text, cut, r.error->cursorpos);
        if (!*err_msg) {
            *err_msg = pf_strdup(r.error->message);
            *err_at = at;
        }
        pg_query_free_scan_result(r);
        if (at == 0 || at >= cut)
            break;
        cut = at;
    }
    out->len = 0; /* nothing scanned cleanly */
}

void sql_toks_free(SqlToks *t)
{
    free(t->t);
    memset(t, 0, sizeof *t);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

size_t sql_tok_end(const SqlToks *t, size_t i)
{
    size_t end = i + 1 < t->n ? t->t[i + 1].start : t->len;
    while (end > t->t[i].start + 1 && is_space(t->text[end - 1]))
        end--;
    return end;
}

size_t sql_tok_at(const SqlToks *t, size_t offset)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->t[mid].start < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool sql_tok_comment(const SqlToks *t, size_t i)
{
    return t->t[i].kind == SQL_T_SQL_COMMENT || t->t[i].kind == SQL_T_C_COMMENT;
}

static void push_piece(SqlPiece **out, size_t *n, size_t *cap, size_t first, size_t last)
{
    PF_GROW(*out, *cap, *n + 1);
    (*out)[(*n)++] = (SqlPiece){first, last};
}

void sql_cut(const SqlToks *t, size_t from, size_t to, SqlPiece **out, size_t *n,
             SqlPiece *open_tail, bool *has_tail)
{
    *out = NULL;
    *n = 0;
    size_t cap = 0, parens = 0, atomic = 0, first = 0, last = 0;
    bool open = false;
    int prev = 0;
    for (size_t i = from; i < to; i++) {
        if (sql_tok_comment(t, i))
            continue;
        int k = t->t[i].kind;
        if (k == SQL_T_SEMI && parens == 0 && atomic == 0) {
            if (open)
                push_piece(out, n, &cap, first, last);
            open = false;
            prev = k;
            continue;
        }
        if (!open)
            first = i;
        open = true;
        last = i;
        if (k == SQL_T_LPAREN)
            parens++;
        else if (k == SQL_T_RPAREN && parens > 0)
            parens--;
        else if (k == SQL_T_ATOMIC && prev == SQL_T_BEGIN && atomic == 0)
            atomic = 1;
        else if (k == SQL_T_CASE && atomic > 0)
            atomic++;
        else if (k == SQL_T_END && atomic > 0)
            atomic--;
        prev = k;
    }
    if (has_tail)
        *has_tail = open && open_tail;
    if (open && open_tail)
        *open_tail = (SqlPiece){first, last};
    else if (open)
        push_piece(out, n, &cap, first, last);
}

bool sql_atomic_body(const SqlToks *t, size_t first, size_t last, SqlPiece **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t i = first, cap = 0;
    int prev = 0;
    for (; i <= last && i < t->n; i++) {
        if (sql_tok_comment(t, i))
            continue;
        if (t->t[i].kind == SQL_T_ATOMIC && prev == SQL_T_BEGIN)
            break;
        prev = t->t[i].kind;
    }
    if (i > last || i >= t->n)
        return false;
    size_t parens = 0, cases = 0, start = 0, end = 0;
    bool open = false;
    for (i++; i <= last && i < t->n; i++) {
        if (sql_tok_comment(t, i))
            continue;
        int k = t->t[i].kind;
        if (k == SQL_T_END && cases == 0 && parens == 0)
            break;
        if (k == SQL_T_SEMI && parens == 0 && cases == 0) {
            if (open)
                push_piece(out, n, &cap, start, end);
            open = false;
            continue;
        }
        if (!open)
            start = i;
        open = true;
        end = i;
        if (k == SQL_T_LPAREN)
            parens++;
        else if (k == SQL_T_RPAREN && parens > 0)
            parens--;
        else if (k == SQL_T_CASE)
            cases++;
        else if (k == SQL_T_END && cases > 0)
            cases--;
    }
    if (open)
        push_piece(out, n, &cap, start, end);
    return true;
}
