/*
 * The lint lexer (see sqllex.h). It follows PostgreSQL's scan.l where that decides what is
 * code and what is not: nested block comments, standard_conforming_strings (a backslash
 * escapes only in E'...'), identifiers that may hold '$', and dollar-quote tags that may not
 * start with a digit ($1 is a parameter).
 */
#include "codebase/sqllex.h"

#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

void sqllex_init(SqlLexer *lx, const char *text, size_t len)
{
    lx->text = text;
    lx->len = len;
    lx->pos = 0;
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* May start an identifier or keyword: letters, underscore and any non-ASCII byte. */
static bool ident_start(unsigned char c)
{
    return is_alpha(c) || c == '_' || c >= 0x80;
}

static bool ident_cont(unsigned char c)
{
    return ident_start(c) || is_digit(c) || c == '$';
}

static unsigned char at(const SqlLexer *lx, size_t i)
{
    return i < lx->len ? (unsigned char)lx->text[i] : 0;
}

/* Skip whitespace and comments. */
static void skip_blank(SqlLexer *lx)
{
    for (;;) {
        while (lx->pos < lx->len && is_space(at(lx, lx->pos)))
            lx->pos++;
        if (at(lx, lx->pos) == '-' && at(lx, lx->pos + 1) == '-' && lx->pos + 1 < lx->len) {
            while (lx->pos < lx->len && at(lx, lx->pos) != '\n')
                lx->pos++;
            continue;
        }
        if (at(lx, lx->pos) == '/' && at(lx, lx->pos + 1) == '*' && lx->pos + 1 < lx->len) {
            size_t depth = 1;
            lx->pos += 2;
            while (lx->pos < lx->len && depth > 0) {
                if (at(lx, lx->pos) == '/' && at(lx, lx->pos + 1) == '*' && lx->pos + 1 < lx->len) {
                    depth++;
                    lx->pos += 2;
                } else if (at(lx, lx->pos) == '*' && at(lx, lx->pos + 1) == '/' &&
                           lx->pos + 1 < lx->len) {
                    depth--;
                    lx->pos += 2;
                } else {
                    lx->pos++;
                }
            }
            continue;
        }
        return;
    }
}

/* A quoted run starting at the opening quote q: the doubled quote stands for itself and, when
 * backslash is set (E'...'), a backslash escapes the next character. Returns false when the
 * closing quote is missing (the run then ends with the text). */
static bool scan_quoted(SqlLexer *lx, char q, bool backslash)
{
    lx->pos++;
    while (lx->pos < lx->len) {
        unsigned char c = at(lx, lx->pos);
        if (backslash && c == '\\') {
            lx->pos += lx->pos + 1 < lx->len ? 2 : 1;
        } else if (c == (unsigned char)q) {
            if (lx->pos + 1 < lx->len && at(lx, lx->pos + 1) == (unsigned char)q) {
                lx->pos += 2;
            } else {
                lx->pos++;
                return true;
            }
        } else {
            lx->pos++;
        }
    }
    return false;
}

/* At '$': length of a dollar-quote delimiter ($$ or $tag$) starting here, or 0. */
static size_t dollar_tag_len(const SqlLexer *lx, size_t i)
{
    size_t j = i + 1;
    if (j < lx->len && ident_start(at(lx, j))) {
        j++;
        while (j < lx->len && (ident_start(at(lx, j)) || is_digit(at(lx, j))))
            j++;
    }
    return j < lx->len && at(lx, j) == '$' ? j - i + 1 : 0;
}

/* A dollar-quoted constant whose delimiter (of tag_len bytes) starts at lx->pos. */
static bool scan_dollar(SqlLexer *lx, size_t tag_len)
{
    const char *tag = lx->text + lx->pos;
    lx->pos += tag_len;
    while (lx->pos + tag_len <= lx->len) {
        if (at(lx, lx->pos) == '$' && memcmp(lx->text + lx->pos, tag, tag_len) == 0) {
            lx->pos += tag_len;
            return true;
        }
        lx->pos++;
    }
    lx->pos = lx->len;
    return false;
}

static void scan_number(SqlLexer *lx)
{
    while (lx->pos < lx->len) {
        unsigned char c = at(lx, lx->pos);
        if ((c == 'e' || c == 'E') && (at(lx, lx->pos + 1) == '+' || at(lx, lx->pos + 1) == '-'))
            lx->pos += 2;
        else if (is_digit(c) || is_alpha(c) || c == '_' || c == '.')
            lx->pos++;
        else
            break;
    }
}

SqlTokKind sqllex_next(SqlLexer *lx, SqlToken *tok)
{
    skip_blank(lx);
    tok->start = lx->pos;
    tok->unterminated = false;
    if (lx->pos >= lx->len) {
        tok->kind = SQL_TOK_END;
        tok->len = 0;
        return tok->kind;
    }
    unsigned char c = at(lx, lx->pos), c1 = at(lx, lx->pos + 1);
    bool has1 = lx->pos + 1 < lx->len;

    if (c == '\'') {
        tok->kind = SQL_TOK_STRING;
        tok->unterminated = !scan_quoted(lx, '\'', false);
    } else if (c == '"') {
        tok->kind = SQL_TOK_IDENT;
        tok->unterminated = !scan_quoted(lx, '"', false);
    } else if (has1 && c1 == '\'' && c && strchr("eEbBxXnN", c)) {
        /* A one-letter prefix glued to a quote makes a string constant: E'' escapes. */
        lx->pos++;
        tok->kind = SQL_TOK_STRING;
        tok->unterminated = !scan_quoted(lx, '\'', c == 'e' || c == 'E');
    } else if ((c == 'u' || c == 'U') && c1 == '&' &&
               (at(lx, lx->pos + 2) == '\'' || at(lx, lx->pos + 2) == '"') &&
               lx->pos + 2 < lx->len) {
        char q = (char)at(lx, lx->pos + 2);
        lx->pos += 2;
        tok->kind = q == '\'' ? SQL_TOK_STRING : SQL_TOK_IDENT;
        tok->unterminated = !scan_quoted(lx, q, false);
    } else if (ident_start(c)) {
        tok->kind = SQL_TOK_WORD;
        while (lx->pos < lx->len && ident_cont(at(lx, lx->pos)))
            lx->pos++;
    } else if (c == '$' && is_digit(c1)) {
        tok->kind = SQL_TOK_PARAM;
        lx->pos++;
        while (lx->pos < lx->len && is_digit(at(lx, lx->pos)))
            lx->pos++;
    } else if (c == '$' && dollar_tag_len(lx, lx->pos) > 0) {
        tok->kind = SQL_TOK_DOLLAR;
        tok->unterminated = !scan_dollar(lx, dollar_tag_len(lx, lx->pos));
    } else if (is_digit(c) || (c == '.' && is_digit(c1))) {
        tok->kind = SQL_TOK_NUMBER;
        scan_number(lx);
    } else {
        tok->kind = c == ';' ? SQL_TOK_SEMI : SQL_TOK_OP;
        lx->pos++;
    }
    tok->len = lx->pos - tok->start;
    return tok->kind;
}

bool sqllex_is(const char *text, const SqlToken *tok, const char *kw)
{
    if (tok->kind != SQL_TOK_WORD || strlen(kw) != tok->len)
        return false;
    for (size_t i = 0; i < tok->len; i++) {
        unsigned char c = (unsigned char)text[tok->start + i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if (c != (unsigned char)kw[i])
            return false;
    }
    return true;
}

/* The body of a quoted token between its opening quote (after any prefix) and its closing
 * one, which an unterminated token lacks. */
static void quoted_body(const char *text, const SqlToken *tok, char q, const char **body,
                        size_t *len)
{
    const char *s = text + tok->start;
    const char *open = memchr(s, q, tok->len);
    size_t skip = (size_t)(open - s) + 1;
    *body = open + 1;
    *len = tok->len - skip - (tok->unterminated ? 0 : 1);
}

char *sqllex_ident(const char *text, const SqlToken *tok)
{
    if (tok->kind == SQL_TOK_WORD) {
        char *out = pf_strndup(text + tok->start, tok->len);
        for (char *p = out; *p; p++) {
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        }
        return out;
    }
    if (tok->kind != SQL_TOK_IDENT)
        return NULL;
    const char *body;
    size_t len;
    quoted_body(text, tok, '"', &body, &len);
    char *out = pf_malloc(len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        out[o++] = body[i];
        if (body[i] == '"' && i + 1 < len && body[i + 1] == '"')
            i++;
    }
    out[o] = '\0';
    return out;
}

static char unescape(char c)
{
    switch (c) {
    case 'n':
        return '\n';
    case 't':
        return '\t';
    case 'r':
        return '\r';
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    default:
        return c;
    }
}

char *sqllex_string(const char *text, const SqlToken *tok)
{
    if (tok->kind != SQL_TOK_STRING)
        return NULL;
    char first = text[tok->start];
    bool backslash = first == 'e' || first == 'E';
    const char *body;
    size_t len;
    quoted_body(text, tok, '\'', &body, &len);
    char *out = pf_malloc(len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (backslash && body[i] == '\\' && i + 1 < len) {
            out[o++] = unescape(body[++i]);
        } else {
            out[o++] = body[i];
            if (body[i] == '\'' && i + 1 < len && body[i + 1] == '\'')
                i++;
        }
    }
    out[o] = '\0';
    return out;
}

bool sqlstmt_kw(const SqlStmt *st, size_t i, const char *k)
{
    return i < st->n && sqllex_is(st->text, &st->t[i], k);
}

bool sqlstmt_op(const SqlStmt *st, size_t i, char c)
{
    return i < st->n && st->t[i].kind == SQL_TOK_OP && st->text[st->t[i].start] == c;
}

bool sqlstmt_is_name(const SqlStmt *st, size_t i)
{
    return i < st->n && (st->t[i].kind == SQL_TOK_WORD || st->t[i].kind == SQL_TOK_IDENT);
}

char *sqlstmt_ident(const SqlStmt *st, size_t i)
{
    return sqlstmt_is_name(st, i) ? sqllex_ident(st->text, &st->t[i]) : NULL;
}

void sqlstmt_skip_if_exists(const SqlStmt *st, size_t *i)
{
    if (sqlstmt_kw(st, *i, "if") && sqlstmt_kw(st, *i + 1, "exists"))
        *i += 2;
    else if (sqlstmt_kw(st, *i, "if") && sqlstmt_kw(st, *i + 1, "not") &&
             sqlstmt_kw(st, *i + 2, "exists"))
        *i += 3;
}

bool sqlstmt_qname(const SqlStmt *st, size_t *i, char **schema, char **name)
{
    if (!sqlstmt_is_name(st, *i))
        return false;
    char *parts[3] = {sqlstmt_ident(st, *i), NULL, NULL};
    size_t n = 1;
    (*i)++;
    while (n < 3 && sqlstmt_op(st, *i, '.') && sqlstmt_is_name(st, *i + 1)) {
        parts[n++] = sqlstmt_ident(st, *i + 1);
        *i += 2;
    }
    if (sqlstmt_op(st, *i, '*'))
        (*i)++;
    *name = parts[n - 1];
    *schema = n >= 2 ? parts[n - 2] : NULL;
    if (n == 3)
        free(parts[0]);
    return true;
}

void sqlstmt_each(const char *text, size_t len, void (*fn)(const SqlStmt *st, void *arg), void *arg)
{
    SqlLexer lx;
    sqllex_init(&lx, text, len);
    SqlToken *toks = NULL, t;
    size_t n = 0, cap = 0;
    int atomic = 0; /* inside BEGIN ATOMIC ... END: semicolons do not end the statement */
    for (;;) {
        SqlTokKind k = sqllex_next(&lx, &t);
        if (k == SQL_TOK_END || (k == SQL_TOK_SEMI && atomic == 0)) {
            if (n > 0)
                fn(&(SqlStmt){text, toks, n}, arg);
            n = 0;
            if (k == SQL_TOK_END)
                break;
            continue;
        }
        PF_GROW(toks, cap, n + 1);
        toks[n++] = t;
        SqlStmt st = {text, toks, n};
        if (atomic == 0 && n >= 2 && sqlstmt_kw(&st, 0, "create") &&
            sqlstmt_kw(&st, n - 2, "begin") && sqlstmt_kw(&st, n - 1, "atomic"))
            atomic = 1;
        else if (atomic > 0 && sqlstmt_kw(&st, n - 1, "case"))
            atomic++;
        else if (atomic > 0 && sqlstmt_kw(&st, n - 1, "end"))
            atomic--;
    }
    free(toks);
}
