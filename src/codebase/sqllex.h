/*
 * A small PostgreSQL lexer for lint: enough of the server's scanner to tell keywords and
 * identifiers from what must never be read as SQL here — comments (-- and nested slash-star),
 * string constants ('...' with '' doubled, E'...' with backslash escapes, B'', X'', N'', U&''),
 * quoted identifiers ("..." with "" doubled, U&"...") and dollar-quoted bodies ($$...$$,
 * $tag$...$tag$). It does not parse: lint.c matches keyword sequences on its tokens.
 *
 * Tokens point into the caller's text (offsets, no copies); the lexer allocates nothing.
 */
#ifndef PF_CODEBASE_SQLLEX_H
#define PF_CODEBASE_SQLLEX_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    SQL_TOK_END,    /* end of the text */
    SQL_TOK_WORD,   /* keyword or unquoted identifier (letters, digits, _, $, non-ASCII) */
    SQL_TOK_IDENT,  /* "quoted identifier" or U&"..." */
    SQL_TOK_STRING, /* '...', E'...', B'...', X'...', N'...', U&'...' */
    SQL_TOK_DOLLAR, /* a dollar-quoted constant: $$...$$ or $tag$...$tag$ */
    SQL_TOK_NUMBER, /* 42, 1.5e3, .5, 0x1F, 1_000 */
    SQL_TOK_PARAM,  /* $1 */
    SQL_TOK_SEMI,   /* ; */
    SQL_TOK_OP,     /* any other character: ( ) , . : = and operators, one character each */
} SqlTokKind;

typedef struct SqlToken {
    SqlTokKind kind;
    size_t start; /* byte offset of the token in the text */
    size_t len;
    bool unterminated; /* a string, identifier or dollar body that runs to the end of the text */
} SqlToken;

typedef struct SqlLexer {
    const char *text;
    size_t len;
    size_t pos;
} SqlLexer;

/* Start lexing text[0..len) (NUL bytes inside are allowed). */
void sqllex_init(SqlLexer *lx, const char *text, size_t len);

/* The next token, skipping whitespace and comments (an unterminated comment runs to the end).
 * Returns the token's kind; SQL_TOK_END at the end, and again on every later call. */
SqlTokKind sqllex_next(SqlLexer *lx, SqlToken *tok);

/* True when tok is the WORD kw (ASCII case-insensitive; kw in lowercase). */
bool sqllex_is(const char *text, const SqlToken *tok, const char *kw);

/* The name an identifier token stands for: a WORD folded to lowercase as PostgreSQL folds
 * unquoted names, an IDENT without its quotes and with "" undoubled. NULL for other kinds.
 * Caller frees. */
char *sqllex_ident(const char *text, const SqlToken *tok);

/* The value of a STRING token: '' undoubled, and for E'...' the backslash escapes \\ \' \n \t
 * \r \b \f (others keep the escaped character). The quotes and any prefix are removed.
 * NULL for other kinds. Caller frees. */
char *sqllex_string(const char *text, const SqlToken *tok);

/* A statement as a run of tokens over its text, and the cursor helpers the analyses built on
 * the lexer (lint, plan preflight) share. Every index may be past the end: the helpers then
 * answer false or NULL. */
typedef struct SqlStmt {
    const char *text;
    const SqlToken *t;
    size_t n;
} SqlStmt;

/* Token i is the keyword k (case-insensitive, unquoted). */
bool sqlstmt_kw(const SqlStmt *st, size_t i, const char *k);
/* Token i is the one-character operator c. */
bool sqlstmt_op(const SqlStmt *st, size_t i, char c);
/* Token i is a word or a quoted identifier. */
bool sqlstmt_is_name(const SqlStmt *st, size_t i);
/* Token i as an identifier (folded or unquoted), or NULL when it is no name; caller frees. */
char *sqlstmt_ident(const SqlStmt *st, size_t i);
/* Skip "IF EXISTS" / "IF NOT EXISTS" at *i. */
void sqlstmt_skip_if_exists(const SqlStmt *st, size_t *i);
/* A possibly qualified name at *i (name, schema.name or db.schema.name), advancing *i past it
 * and a trailing '*'. *schema is NULL when unqualified. Caller frees both. False when *i holds
 * no name. */
bool sqlstmt_qname(const SqlStmt *st, size_t *i, char **schema, char **name);

/* Call fn on each top-level statement of text[0..len), as its run of tokens (comments left
 * out); a statement ends at a semicolon outside BEGIN ATOMIC ... END bodies, or at the end of
 * the text; empty statements are skipped. The tokens live until fn returns. */
void sqlstmt_each(const char *text, size_t len, void (*fn)(const SqlStmt *st, void *arg),
                  void *arg);

#endif
