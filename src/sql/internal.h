/*
 * Shared by the files of src/sql/; not part of the module's interface (sql.h is).
 *
 *   arena.c     the chunk's arena: everything a SqlChunk holds
 *   scan.c      PostgreSQL's scanner (pg_query_scan) as token starts and kinds; the cut of a
 *               chunk that does not parse into pieces, and of BEGIN ATOMIC bodies
 *   parse.c     sql_parse: parse, fall back to pieces, parse LANGUAGE sql bodies, positions
 *   classify.c  one statement's parse tree (libpg_query's JSON, read with cJSON) -> the model
 *   names.c     the enums' names and the small questions of sql.h
 */
#ifndef PF_SQL_INTERNAL_H
#define PF_SQL_INTERNAL_H

#include "sql/sql.h"

#include <cjson/cJSON.h>

#include <stdbool.h>
#include <stddef.h>

/* ---- arena.c ---------------------------------------------------------------------------- */

typedef struct SqlArena SqlArena;

SqlArena *sql_arena_new(void);
void sql_arena_free(SqlArena *a); /* accepts NULL */
/* n zeroed bytes, aligned for any type; lives until sql_arena_free. */
void *sql_arena_alloc(SqlArena *a, size_t n);
char *sql_arena_strdup(SqlArena *a, const char *s); /* NULL gives NULL */
char *sql_arena_strndup(SqlArena *a, const char *s, size_t n);
/* Move a temporary array (pf_malloc'd, n elements of size elem) into the arena at its exact
 * size and free it. Returns NULL when n is 0. */
void *sql_arena_keep(SqlArena *a, void *tmp, size_t n, size_t elem);

/* ---- scan.c ----------------------------------------------------------------------------- */

/* Token kinds of libpg_query's scanner that the cut looks at: the values of the Token enum
 * in /usr/include/pg_query/pg_query.proto (libpg-query-dev 15-4.0.0). */
enum {
    SQL_T_LPAREN = 40,
    SQL_T_RPAREN = 41,
    SQL_T_STAR = 42,
    SQL_T_COMMA = 44,
    SQL_T_DOT = 46,
    SQL_T_SEMI = 59,
    SQL_T_LBRACKET = 91,
    SQL_T_RBRACKET = 93,
    SQL_T_SCONST = 261,
    SQL_T_SQL_COMMENT = 275,
    SQL_T_C_COMMENT = 276,
    SQL_T_ATOMIC = 300,
    SQL_T_BEGIN = 307,
    SQL_T_CASE = 321,
    SQL_T_END = 401,
    SQL_T_RETURN = 605,
};

/* A token of the scanned text: where it starts, and its kind. Where it ends is where the next
 * token starts, less the whitespace between them (libpg_query 15-4.0.0 gives a wrong end for
 * U&'...' constants, so its ends are not used). */
typedef struct SqlTok {
    size_t start;
    int kind;
} SqlTok;

typedef struct SqlToks {
    SqlTok *t; /* pf_malloc'd; comments included */
    size_t n;
    const char *text; /* the scanned text, and its length */
    size_t len;
} SqlToks;

/* Scan text[0..len) (text[len] must be NUL and text writable: a prefix is NUL-terminated in
 * place while scanning, then restored). On a scanner error (a string, quoted identifier,
 * dollar body or comment never closed), the tokens before it, *err_msg (pf_malloc'd, caller
 * frees) and *err_at (its byte offset); otherwise *err_msg is NULL. */
void sql_scan(char *text, size_t len, SqlToks *out, char **err_msg, size_t *err_at);
void sql_toks_free(SqlToks *t);

/* The byte offset of PostgreSQL's error cursor (1-based, in characters; 0 when unknown, which
 * gives 0) in text[0..len). */
size_t sql_char_to_byte(const char *text, size_t len, int cursorpos);

/* Where token i ends: the next token's start (or the text's end) less whitespace. */
size_t sql_tok_end(const SqlToks *t, size_t i);
/* Index of the first token starting at or after offset (t->n when none). */
size_t sql_tok_at(const SqlToks *t, size_t offset);
/* Whether token i is a comment. */
bool sql_tok_comment(const SqlToks *t, size_t i);

/* A run of tokens [first, last] holding one statement (no comment at either end). */
typedef struct SqlPiece {
    size_t first, last;
} SqlPiece;

/* Cut tokens [from, to) at the semicolons outside parentheses and outside BEGIN ATOMIC ... END
 * bodies (CASE ... END counted inside them), leaving out empty pieces. When open_tail is not
 * NULL, the tokens after the last semicolon are reported there instead of as a piece
 * (*has_tail false when none). *out is pf_malloc'd. */
void sql_cut(const SqlToks *t, size_t from, size_t to, SqlPiece **out, size_t *n,
             SqlPiece *open_tail, bool *has_tail);

/* The statements of the BEGIN ATOMIC ... END body in tokens [first, last]: false when there
 * is no such body. */
bool sql_atomic_body(const SqlToks *t, size_t first, size_t last, SqlPiece **out, size_t *n);

/* ---- parse.c ---------------------------------------------------------------------------- */

/* How offsets in the text being parsed map into the chunk: a LANGUAGE sql body is parsed as
 * text of its own. */
typedef struct SqlFrame {
    size_t base; /* chunk offset of the text's first byte */
    bool exact;  /* false: every position is base (a '...' body, shifted by quotes and escapes) */
} SqlFrame;

static inline size_t sql_frame_map(SqlFrame f, size_t offset)
{
    return f.exact ? f.base + offset : f.base;
}

typedef struct SqlParser SqlParser;

/* A growable list of statements (pf_malloc'd until kept in the arena). */
typedef struct SqlStmtVec {
    SqlStatement *v;
    size_t n, cap;
} SqlStmtVec;

SqlStatement *sql_stmt_push(SqlStmtVec *vec);

/* Parse a LANGUAGE sql body (text: the body, unescaped) as statements of its own into out,
 * in_body set. Returns the first error, or NULL when all of it parsed. Past a nesting depth
 * nothing is parsed and *parsed is false with no error. */
const SqlError *sql_parse_body(SqlParser *p, const char *body, SqlFrame frame, SqlStmtVec *out,
                               bool *parsed);

SqlArena *sql_parser_arena(SqlParser *p);

/* A new error of the chunk, at chunk offset `at`. */
const SqlError *sql_error_new(SqlParser *p, const char *message, size_t at);

/* ---- classify.c ------------------------------------------------------------------------- */

/* The text a statement was parsed from. */
typedef struct SqlSource {
    const SqlToks *toks; /* the text's tokens (positions in the text) */
    SqlFrame frame;      /* text offsets -> chunk offsets */
    bool in_body;
} SqlSource;

/* Fill st from one parse tree statement (the value of "stmt" in libpg_query's JSON) that
 * covers tokens [first, last] of src (SIZE_MAX for both when not known). Its extent
 * (sql_stmt_extent) is set first: positions the tree lacks fall back on it. */
void sql_classify(SqlParser *p, const SqlSource *src, const cJSON *stmt, size_t first, size_t last,
                  SqlStatement *st);

/* Set st's pos.offset and len from tokens [first, last] of src (mapped into the chunk). */
void sql_stmt_extent(const SqlSource *src, size_t first, size_t last, SqlStatement *st);

#endif
