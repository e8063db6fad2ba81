/*
 * drizzle-kit's config file, read without running it (drizzle_config.h).
 *
 * The file is cut into JavaScript tokens once (strings decoded, brackets matched); everything
 * after that walks the token array: finding the config object, finding a key in an object, and
 * evaluating the few value forms that can be known without running the file. Values are
 * evaluated only when asked for, so an unreadable value pgfleet does not need (a `schema` path
 * computed with path.join) is never an error.
 */
#include "codebase/drizzle_config.h"

#include "core/buf.h"
#include "core/mem.h"
#include "core/util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CONFIG_MAX_BYTES (1024 * 1024)
#define EVAL_MAX_DEPTH 8 /* const -> const -> ... chains followed at most this far */

typedef enum { TK_IDENT, TK_STRING, TK_TEMPLATE, TK_NUMBER, TK_PUNCT } TokKind;

typedef struct Tok {
    TokKind kind;
    size_t start, len; /* in the text; a string or template includes its quotes */
    int line;
    bool nl_before; /* a line break stands between this token and the one before */
    size_t match;   /* ( [ { : the index of the closing token */
    char *str;      /* TK_STRING: the decoded value */
} Tok;

struct DrizzleConfig {
    char *path;
    char *text;
    Tok *toks;
    size_t n;
    size_t root; /* the `{` of the config object */
    bool dotenv; /* the file loads a .env file (dotenv), which is not read here */
};

/* ---- tokens -------------------------------------------------------------------------------- */

typedef struct Lexer {
    const char *path;
    const char *s;
    size_t len, pos;
    int line;
    Tok *toks;
    size_t n, cap;
    PfErr *err;
} Lexer;

static bool is_ident_start(unsigned char c)
{
    return c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

static bool is_ident_char(unsigned char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

static void put_utf8(PfBuf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    pf_buf_append(b, u, n);
}

/* Decode the escape at s[*i] (just after the backslash) into b; advances *i past it. */
static void decode_escape(const char *s, size_t end, size_t *i, PfBuf *b)
{
    char c = s[*i];
    (*i)++;
    switch (c) {
    case 'n':
        pf_buf_putc(b, '\n');
        return;
    case 'r':
        pf_buf_putc(b, '\r');
        return;
    case 't':
        pf_buf_putc(b, '\t');
        return;
    case 'b':
        pf_buf_putc(b, '\b');
        return;
    case 'f':
        pf_buf_putc(b, '\f');
        return;
    case 'v':
        pf_buf_putc(b, '\v');
        return;
    case '\r':
        if (*i < end && s[*i] == '\n')
            (*i)++;
        return; /* a line continuation */
    case '\n':
        return;
    case 'x':
        if (*i + 1 < end && pf_hex_digit(s[*i]) >= 0 && pf_hex_digit(s[*i + 1]) >= 0) {
            put_utf8(b, (uint32_t)(pf_hex_digit(s[*i]) * 16 + pf_hex_digit(s[*i + 1])));
            *i += 2;
            return;
        }
        break;
    case 'u': {
        uint32_t cp = 0;
        if (*i < end && s[*i] == '{') {
            size_t j = *i + 1;
            while (j < end && pf_hex_digit(s[j]) >= 0 && cp <= 0x10FFFF)
                cp = cp * 16 + (uint32_t)pf_hex_digit(s[j++]);
            if (j < end && s[j] == '}' && cp <= 0x10FFFF) {
                put_utf8(b, cp);
                *i = j + 1;
                return;
            }
            break;
        }
        if (*i + 3 < end) {
            int ok = 1;
            for (size_t k = 0; k < 4; k++) {
                int d = pf_hex_digit(s[*i + k]);
                ok = ok && d >= 0;
                cp = cp * 16 + (uint32_t)(d < 0 ? 0 : d);
            }
            if (ok) {
                put_utf8(b, cp);
                *i += 4;
                return;
            }
        }
        break;
    }
    case '0':
        pf_buf_putc(b, '\0'); /* JavaScript's \0: the value ends there for pgfleet */
        return;
    default:
        break;
    }
    pf_buf_putc(b, c);
}

static PfErrCode lex_fail(Lexer *L, int line, const char *what)
{
    return pf_err_set(L->err, PF_ERR_INPUT, "%s:%d: %s", L->path, line, what);
}

/* A quoted string from L->pos (at the quote); decoded into *out. */
static PfErrCode lex_string(Lexer *L, char **out)
{
    char q = L->s[L->pos];
    int line = L->line;
    size_t i = L->pos + 1;
    PfBuf b = PF_BUF_INIT;
    while (i < L->len && L->s[i] != q) {
        if (L->s[i] == '\n') {
            pf_buf_free(&b);
            return lex_fail(L, line, "unterminated string");
        }
        if (L->s[i] == '\\' && i + 1 < L->len) {
            i++;
            if (L->s[i] == '\n')
                L->line++;
            decode_escape(L->s, L->len, &i, &b);
            continue;
        }
        pf_buf_putc(&b, L->s[i++]);
    }
    if (i >= L->len) {
        pf_buf_free(&b);
        return lex_fail(L, line, "unterminated string");
    }
    L->pos = i + 1;
    *out = pf_buf_take(&b);
    return PF_OK;
}

/* Skip a template literal from s[i] (at the backquote); returns the index after it, or len. Line
 * breaks inside are counted into *line. */
static size_t skip_template(const char *s, size_t len, size_t i, int *line);

/* Skip a `${...}` substitution from s[i] (just after the `{`); returns the index of its `}`. */
static size_t skip_substitution(const char *s, size_t len, size_t i, int *line)
{
    int depth = 0;
    while (i < len) {
        char c = s[i];
        if (c == '\n')
            (*line)++;
        if (c == '`') {
            i = skip_template(s, len, i, line);
            continue;
        }
        if (c == '\'' || c == '"') {
            for (i++; i < len && s[i] != c && s[i] != '\n'; i++)
                if (s[i] == '\\')
                    i++;
            i++;
            continue;
        }
        if (c == '{')
            depth++;
        if (c == '}' && depth-- == 0)
            return i;
        i++;
    }
    return len;
}

static size_t skip_template(const char *s, size_t len, size_t i, int *line)
{
    for (i++; i < len; i++) {
        char c = s[i];
        if (c == '\n')
            (*line)++;
        if (c == '\\') {
            if (i + 1 < len && s[i + 1] == '\n')
                (*line)++;
            i++;
        } else if (c == '`') {
            return i + 1;
        } else if (c == '$' && i + 1 < len && s[i + 1] == '{') {
            i = skip_substitution(s, len, i + 2, line);
        }
    }
    return len;
}

static void push_tok(Lexer *L, TokKind kind, size_t start, size_t len, int line, bool nl, char *str)
{
    PF_GROW(L->toks, L->cap, L->n + 1);
    L->toks[L->n++] = (Tok){kind, start, len, line, nl, 0, str};
}

static const char *const PUNCT3[] = {"...", "===", "!==", "?\?=", "||=", "&&=", ">>>"};
static const char *const PUNCT2[] = {
    "??", "||", "&&", "?.", "=>", "==", "!=", "<=", ">=", "++", "--", "+=", "-="};

/* Cut s[0, len) into tokens. line is the line s starts on. Brackets are matched. */
static PfErrCode lex(const char *path, const char *s, size_t len, int line, Tok **toks, size_t *n,
                     PfErr *err)
{
    Lexer L = {.path = path, .s = s, .len = len, .line = line, .err = err};
    size_t stack[256];
    size_t depth = 0;
    bool nl = true;
    PfErrCode rc = PF_OK;
    while (rc == PF_OK && L.pos < len) {
        char c = s[L.pos];
        if (c == '\n') {
            L.line++;
            nl = true;
            L.pos++;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            L.pos++;
            continue;
        }
        if (c == '/' && L.pos + 1 < len && s[L.pos + 1] == '/') {
            while (L.pos < len && s[L.pos] != '\n')
                L.pos++;
            continue;
        }
        if (c == '/' && L.pos + 1 < len && s[L.pos + 1] == '*') {
            int at = L.line;
            size_t i = L.pos + 2;
            while (i + 1 < len && !(s[i] == '*' && s[i + 1] == '/')) {
                if (s[i] == '\n') {
                    L.line++;
                    nl = true;
                }
                i++;
            }
            if (i + 1 >= len) {
                rc = lex_fail(&L, at, "unterminated comment");
                break;
            }
            L.pos = i + 2;
            continue;
        }
        size_t start = L.pos;
        int at = L.line;
        if (c == '\'' || c == '"') {
            char *str = NULL;
            rc = lex_string(&L, &str);
            if (rc == PF_OK)
                push_tok(&L, TK_STRING, start, L.pos - start, at, nl, str);
        } else if (c == '`') {
            size_t end = skip_template(s, len, start, &L.line);
            if (end >= len && (end == start + 1 || s[end - 1] != '`'))
                rc = lex_fail(&L, at, "unterminated template literal");
            else {
                L.pos = end;
                push_tok(&L, TK_TEMPLATE, start, end - start, at, nl, NULL);
            }
        } else if (is_ident_start((unsigned char)c)) {
            while (L.pos < len && is_ident_char((unsigned char)s[L.pos]))
                L.pos++;
            push_tok(&L, TK_IDENT, start, L.pos - start, at, nl, NULL);
        } else if (c >= '0' && c <= '9') {
            while (L.pos < len && (is_ident_char((unsigned char)s[L.pos]) || s[L.pos] == '.'))
                L.pos++;
            push_tok(&L, TK_NUMBER, start, L.pos - start, at, nl, NULL);
        } else {
            size_t plen = 1;
            for (size_t k = 0; k < sizeof PUNCT3 / sizeof *PUNCT3 && plen == 1; k++)
                if (start + 3 <= len && strncmp(s + start, PUNCT3[k], 3) == 0)
                    plen = 3;
            for (size_t k = 0; k < sizeof PUNCT2 / sizeof *PUNCT2 && plen == 1; k++)
                if (start + 2 <= len && strncmp(s + start, PUNCT2[k], 2) == 0)
                    plen = 2;
            L.pos += plen;
            push_tok(&L, TK_PUNCT, start, plen, at, nl, NULL);
            if (plen == 1 && (c == '(' || c == '[' || c == '{')) {
                if (depth == sizeof stack / sizeof *stack) {
                    rc = lex_fail(&L, at, "brackets nested too deeply");
                    break;
                }
                stack[depth++] = L.n - 1;
            } else if (plen == 1 && (c == ')' || c == ']' || c == '}')) {
                char open = c == ')' ? '(' : c == ']' ? '[' : '{';
                if (depth == 0 || s[L.toks[stack[depth - 1]].start] != open) {
                    char what[64];
                    snprintf(what, sizeof what, "unbalanced '%c'", c);
                    rc = lex_fail(&L, at, what);
                    break;
                }
                L.toks[stack[--depth]].match = L.n - 1;
            }
        }
        nl = false;
    }
    if (rc == PF_OK && depth > 0) {
        char what[64];
        snprintf(what, sizeof what, "'%c' is never closed", s[L.toks[stack[depth - 1]].start]);
        rc = lex_fail(&L, L.toks[stack[depth - 1]].line, what);
    }
    if (rc != PF_OK) {
        for (size_t i = 0; i < L.n; i++)
            free(L.toks[i].str);
        free(L.toks);
        return rc;
    }
    *toks = L.toks;
    *n = L.n;
    return PF_OK;
}

static void toks_free(Tok *toks, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(toks[i].str);
    free(toks);
}

/* ---- walking the tokens -------------------------------------------------------------------- */

/* The tokens an evaluation works on: the file's, or those of a template's `${...}`. */
typedef struct Span {
    const DrizzleConfig *c;
    const char *text;
    const Tok *toks;
    size_t n;
} Span;

static bool tok_is(const Span *sp, size_t i, TokKind kind, const char *s)
{
    if (i >= sp->n || sp->toks[i].kind != kind)
        return false;
    size_t len = strlen(s);
    return sp->toks[i].len == len && memcmp(sp->text + sp->toks[i].start, s, len) == 0;
}

static bool punct(const Span *sp, size_t i, const char *s)
{
    return tok_is(sp, i, TK_PUNCT, s);
}

static bool ident(const Span *sp, size_t i, const char *s)
{
    return tok_is(sp, i, TK_IDENT, s);
}

static bool is_open(const Span *sp, size_t i)
{
    return punct(sp, i, "(") || punct(sp, i, "[") || punct(sp, i, "{");
}

/* The next index at or after i at the same bracket depth: i itself, or past a bracket group. */
static size_t skip_group(const Span *sp, size_t i)
{
    return is_open(sp, i) ? sp->toks[i].match + 1 : i + 1;
}

/* The source text of tokens [a, b) on one line, shortened to about 60 characters. */
static char *excerpt(const Span *sp, size_t a, size_t b)
{
    if (a >= b || a >= sp->n)
        return pf_strdup("");
    size_t from = sp->toks[a].start, to = sp->toks[b - 1].start + sp->toks[b - 1].len;
    PfBuf out = PF_BUF_INIT;
    bool space = false;
    for (size_t i = from; i < to; i++) {
        char ch = sp->text[i];
        if (ch == '\n' || ch == '\r' || ch == '\t' || ch == ' ') {
            space = out.len > 0;
            continue;
        }
        if (space)
            pf_buf_putc(&out, ' ');
        space = false;
        if (out.len >= 60) {
            pf_buf_puts(&out, "...");
            break;
        }
        pf_buf_putc(&out, ch);
    }
    return pf_buf_take(&out);
}

/* A continuation of an expression on a new line (JavaScript would not end the statement). */
static bool continues(const Span *sp, size_t i)
{
    static const char *const ops[] = {"??", "||", "&&", ".", "?.", "+", "-", "*", "?", ":",
                                      "=",  "(",  "[",  ")", "]",  "}", ",", ">", "<"};
    if (ident(sp, i, "as") || ident(sp, i, "satisfies"))
        return true;
    for (size_t k = 0; k < sizeof ops / sizeof *ops; k++)
        if (punct(sp, i, ops[k]))
            return true;
    return false;
}

/* The initializer of a top-level `const|let|var NAME [: Type] = ...;` as [*a, *b). */
static bool find_const(const Span *sp, const char *name, size_t *a, size_t *b)
{
    size_t nlen = strlen(name);
    bool found = false;
    for (size_t i = 0; i < sp->n; i = skip_group(sp, i)) {
        if (!(ident(sp, i, "const") || ident(sp, i, "let") || ident(sp, i, "var")))
            continue;
        size_t k = i + 1;
        if (k >= sp->n || sp->toks[k].kind != TK_IDENT || sp->toks[k].len != nlen ||
            memcmp(sp->text + sp->toks[k].start, name, nlen) != 0)
            continue;
        /* past an optional type annotation to the `=` */
        for (k++; k < sp->n && !punct(sp, k, "=") && !punct(sp, k, ";"); k = skip_group(sp, k))
            ;
        if (!punct(sp, k, "="))
            continue;
        size_t from = ++k;
        while (k < sp->n && !punct(sp, k, ";") && !punct(sp, k, ",") &&
               !(k > from && sp->toks[k].nl_before && !continues(sp, k)))
            k = skip_group(sp, k);
        if (k > sp->n)
            k = sp->n;
        *a = from;
        *b = k;
        found = true; /* the last declaration wins, as a redeclaration would */
    }
    return found;
}

/* The `{` of the object literal an expression starting at i evaluates to: `{...}`, `(...)`,
 * `defineConfig({...})`, or a constant holding one. SIZE_MAX when it is none of these. */
static size_t object_at(const Span *sp, size_t i, int depth)
{
    if (depth > EVAL_MAX_DEPTH || i >= sp->n)
        return SIZE_MAX;
    if (punct(sp, i, "{"))
        return i;
    if (punct(sp, i, "("))
        return object_at(sp, i + 1, depth + 1);
    if (sp->toks[i].kind == TK_IDENT && punct(sp, i + 1, "("))
        return object_at(sp, i + 2, depth + 1);
    if (sp->toks[i].kind == TK_IDENT) {
        char *name = pf_strndup(sp->text + sp->toks[i].start, sp->toks[i].len);
        size_t a, b;
        bool found = find_const(sp, name, &a, &b);
        free(name);
        if (found && a < b)
            return object_at(sp, a, depth + 1);
    }
    return SIZE_MAX;
}

/* ---- values -------------------------------------------------------------------------------- */

typedef enum { V_STRING, V_UNDEFINED, V_UNREADABLE } ValKind;

typedef struct Val {
    ValKind kind;
    char *s;   /* V_STRING */
    char *why; /* V_UNDEFINED (the variable that is not set) and V_UNREADABLE: for people */
} Val;

static void val_clear(Val *v)
{
    free(v->s);
    free(v->why);
    memset(v, 0, sizeof *v);
}

static Val val_unreadable(const Span *sp, size_t a, size_t b)
{
    char *text = excerpt(sp, a, b);
    Val v = {V_UNREADABLE, NULL,
             pf_asprintf("`%s` cannot be read without running the file (pgfleet reads string "
                         "literals, process.env.NAME and constants of the file holding them)",
                         text)};
    free(text);
    return v;
}

static Val eval_expr(const Span *sp, size_t a, size_t b, int depth);

static Val eval_env(const char *name)
{
    const char *v = getenv(name);
    if (v)
        return (Val){V_STRING, pf_strdup(v), NULL};
    return (Val){V_UNDEFINED, NULL, pf_asprintf("process.env.%s is not set", name)};
}

/* A template literal: its text with each `${...}` evaluated. */
static Val eval_template(const Span *sp, size_t i, int depth)
{
    const Tok *t = &sp->toks[i];
    const char *s = sp->text;
    size_t pos = t->start + 1, end = t->start + t->len - 1; /* inside the backquotes */
    int line = t->line;
    PfBuf b = PF_BUF_INIT;
    while (pos < end) {
        if (s[pos] == '\\' && pos + 1 < end) {
            pos++;
            decode_escape(s, end, &pos, &b);
            continue;
        }
        if (s[pos] == '$' && pos + 1 < end && s[pos + 1] == '{') {
            int sub_line = line;
            size_t close = skip_substitution(s, end, pos + 2, &line);
            Tok *sub = NULL;
            size_t n_sub = 0;
            PfErr ignored;
            Val v;
            if (close >= end || lex(sp->c->path, s + pos + 2, close - pos - 2, sub_line, &sub,
                                    &n_sub, &ignored) != PF_OK) {
                v = val_unreadable(sp, i, i + 1);
            } else {
                /* The substitution's tokens point into s + pos + 2: shift them to s. */
                for (size_t k = 0; k < n_sub; k++)
                    sub[k].start += pos + 2;
                Span inner = {sp->c, sp->text, sub, n_sub};
                v = n_sub ? eval_expr(&inner, 0, n_sub, depth + 1) : val_unreadable(sp, i, i + 1);
                toks_free(sub, n_sub);
            }
            if (v.kind != V_STRING) {
                pf_buf_free(&b);
                return v;
            }
            pf_buf_puts(&b, v.s);
            val_clear(&v);
            pos = close + 1;
            continue;
        }
        if (s[pos] == '\n')
            line++;
        pf_buf_putc(&b, s[pos++]);
    }
    return (Val){V_STRING, pf_buf_take(&b), NULL};
}

/* One operand of ?? and ||: [a, b) without TypeScript's `!` and `as T` / `satisfies T`. */
static Val eval_operand(const Span *sp, size_t a, size_t b, int depth)
{
    for (size_t k = a; k < b; k = skip_group(sp, k))
        if (k > a && (ident(sp, k, "as") || ident(sp, k, "satisfies"))) {
            b = k;
            break;
        }
    while (b > a && punct(sp, b - 1, "!"))
        b--;
    if (b > a && punct(sp, a, "(") && sp->toks[a].match == b - 1)
        return eval_expr(sp, a + 1, b - 1, depth + 1);
    if (b == a + 1 && sp->toks[a].kind == TK_STRING)
        return (Val){V_STRING, pf_strdup(sp->toks[a].str), NULL};
    if (b == a + 1 && sp->toks[a].kind == TK_TEMPLATE)
        return eval_template(sp, a, depth);
    if (ident(sp, a, "process") && (punct(sp, a + 1, ".") || punct(sp, a + 1, "?.")) &&
        ident(sp, a + 2, "env")) {
        char *name = NULL;
        if (b == a + 5 && (punct(sp, a + 3, ".") || punct(sp, a + 3, "?.")) &&
            sp->toks[a + 4].kind == TK_IDENT)
            name = pf_strndup(sp->text + sp->toks[a + 4].start, sp->toks[a + 4].len);
        else if (b == a + 6 && punct(sp, a + 3, "[") && sp->toks[a + 4].kind == TK_STRING &&
                 punct(sp, a + 5, "]"))
            name = pf_strdup(sp->toks[a + 4].str);
        if (name) {
            Val v = eval_env(name);
            free(name);
            return v;
        }
    }
    if (b == a + 1 && ident(sp, a, "undefined"))
        return (Val){V_UNDEFINED, NULL, pf_strdup("it is undefined")};
    if (b == a + 1 && sp->toks[a].kind == TK_IDENT && depth < EVAL_MAX_DEPTH) {
        /* a constant of the file (also when named inside a template's ${...}) */
        Span file = {sp->c, sp->c->text, sp->c->toks, sp->c->n};
        char *name = pf_strndup(sp->text + sp->toks[a].start, sp->toks[a].len);
        size_t ca, cb;
        bool found = find_const(&file, name, &ca, &cb);
        free(name);
        if (found && ca < cb)
            return eval_expr(&file, ca, cb, depth + 1);
    }
    return val_unreadable(sp, a, b);
}

/* Operands joined by ?? and ||, evaluated left to right as JavaScript does. */
static Val eval_expr(const Span *sp, size_t a, size_t b, int depth)
{
    if (a >= b || depth > EVAL_MAX_DEPTH)
        return val_unreadable(sp, a, b);
    size_t from = a;
    Val v = {V_UNDEFINED, NULL, NULL};
    const char *op = NULL; /* the operator before the operand at from */
    for (size_t k = a;; k = skip_group(sp, k)) {
        bool at_op = k < b && (punct(sp, k, "??") || punct(sp, k, "||"));
        if (k < b && !at_op)
            continue;
        bool needed =
            !op || (strcmp(op, "??") == 0 ? v.kind == V_UNDEFINED
                                          : v.kind == V_UNDEFINED || (v.kind == V_STRING && !*v.s));
        if (needed) {
            val_clear(&v);
            v = eval_operand(sp, from, k, depth);
            if (v.kind == V_UNREADABLE)
                return v;
        }
        if (k >= b)
            break;
        op = punct(sp, k, "??") ? "??" : "||";
        from = k + 1;
    }
    return v;
}

/* ---- keys ---------------------------------------------------------------------------------- */

typedef enum { KEY_ABSENT, KEY_FOUND, KEY_SPREAD } KeyLookup;

/* Find key in the object literal whose `{` is at o: the value's tokens [*a, *b) and the key's
 * token *at. KEY_SPREAD when a spread (`...base`) after the last mention may set it. */
static KeyLookup find_key(const Span *sp, size_t o, const char *key, size_t *a, size_t *b,
                          size_t *at)
{
    size_t end = sp->toks[o].match, klen = strlen(key);
    KeyLookup found = KEY_ABSENT;
    for (size_t j = o + 1; j < end;) {
        size_t k = j;
        while (k < end && !punct(sp, k, ","))
            k = skip_group(sp, k);
        if (punct(sp, j, "...")) {
            found = KEY_SPREAD;
            *a = j;
            *b = k;
            *at = j;
        } else if (j < k) {
            const Tok *t = &sp->toks[j];
            bool match = false;
            if (t->kind == TK_IDENT || t->kind == TK_NUMBER)
                match = t->len == klen && memcmp(sp->text + t->start, key, klen) == 0;
            else if (t->kind == TK_STRING)
                match = strcmp(t->str, key) == 0;
            if (match) {
                found = KEY_FOUND;
                *at = j;
                if (punct(sp, j + 1, ":")) {
                    *a = j + 2;
                    *b = k;
                } else { /* shorthand `{ out }`, or a method */
                    *a = j;
                    *b = k;
                }
            }
        }
        j = k + 1;
    }
    return found;
}

/* ---- the file ------------------------------------------------------------------------------ */

/* The config object: `export default X`, `module.exports = X` or a JSON document. */
static PfErrCode find_root(DrizzleConfig *c, PfErr *err)
{
    Span sp = {c, c->text, c->toks, c->n};
    size_t start = SIZE_MAX, via = SIZE_MAX; /* the expression, and the token naming it */
    for (size_t i = 0; i < c->n; i = skip_group(&sp, i)) {
        if (ident(&sp, i, "export") && ident(&sp, i + 1, "default")) {
            start = i + 2;
            via = i;
        } else if (ident(&sp, i, "module") && punct(&sp, i + 1, ".") &&
                   ident(&sp, i + 2, "exports") && punct(&sp, i + 3, "=")) {
            start = i + 4;
            via = i;
        }
    }
    if (start == SIZE_MAX && c->n > 0 && punct(&sp, 0, "{") && c->toks[0].match == c->n - 1) {
        c->root = 0; /* JSON */
        return PF_OK;
    }
    if (start == SIZE_MAX)
        return pf_err_set(err, PF_ERR_INPUT,
                          "%s: no config object found (looked for `export default "
                          "defineConfig({...})`, `export default {...}`, `module.exports = "
                          "{...}` or a JSON object)",
                          c->path);
    size_t o = object_at(&sp, start, 0);
    if (o == SIZE_MAX) {
        size_t end = start;
        while (end < c->n && !punct(&sp, end, ";") &&
               !(end > start && c->toks[end].nl_before && !continues(&sp, end)))
            end = skip_group(&sp, end);
        char *text = excerpt(&sp, start, end > c->n ? c->n : end);
        pf_err_set(err, PF_ERR_INPUT,
                   "%s:%d: the config object `%s` cannot be read without running the file", c->path,
                   c->toks[via].line, text);
        free(text);
        return PF_ERR_INPUT;
    }
    c->root = o;
    return PF_OK;
}

PfErrCode drizzle_config_parse(const char *path, const char *text, DrizzleConfig **out, PfErr *err)
{
    *out = NULL;
    DrizzleConfig *c = pf_calloc(1, sizeof *c);
    c->path = pf_strdup(path);
    c->text = pf_strdup(text);
    PfErrCode rc = lex(c->path, c->text, strlen(c->text), 1, &c->toks, &c->n, err);
    if (rc == PF_OK)
        rc = find_root(c, err);
    if (rc != PF_OK) {
        drizzle_config_free(c);
        return rc;
    }
    c->dotenv = strstr(c->text, "dotenv") != NULL;
    *out = c;
    return PF_OK;
}

PfErrCode drizzle_config_read(const char *path, DrizzleConfig **out, PfErr *err)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return pf_err_set(err, PF_ERR_IO, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return pf_err_set(err, PF_ERR_IO, "%s: not a regular file", path);
    if (st.st_size > CONFIG_MAX_BYTES)
        return pf_err_set(err, PF_ERR_IO, "%s: %lld bytes: too large for a drizzle-kit config",
                          path, (long long)st.st_size);
    char *text;
    size_t len;
    PfErrCode rc = pf_read_file(path, &text, &len, err);
    if (rc != PF_OK)
        return rc;
    if (strlen(text) != len) {
        free(text);
        return pf_err_set(err, PF_ERR_INPUT, "%s: holds a NUL byte: not a drizzle-kit config",
                          path);
    }
    rc = drizzle_config_parse(path, text, out, err);
    free(text);
    return rc;
}

void drizzle_config_free(DrizzleConfig *c)
{
    if (!c)
        return;
    toks_free(c->toks, c->n);
    free(c->text);
    free(c->path);
    free(c);
}

const char *drizzle_config_path(const DrizzleConfig *c)
{
    return c->path;
}

static PfErrCode key_fail(const DrizzleConfig *c, int line, const char *key, const char *why,
                          const char *instead, PfErr *err)
{
    return pf_err_set(err, PF_ERR_INPUT, "%s:%d: %s: %s%s%s", c->path, line, key, why,
                      instead ? "; hint: " : "", instead ? instead : "");
}

PfErrCode drizzle_config_string(const DrizzleConfig *c, const char *key, const char *instead,
                                char **value, PfErr *err)
{
    *value = NULL;
    Span sp = {c, c->text, c->toks, c->n};
    size_t o = c->root;
    const char *seg = key;
    for (;;) {
        const char *dot = strchr(seg, '.');
        char *name = dot ? pf_strndup(seg, (size_t)(dot - seg)) : pf_strdup(seg);
        size_t a = 0, b = 0, at = 0;
        KeyLookup found = find_key(&sp, o, name, &a, &b, &at);
        free(name);
        if (found == KEY_ABSENT)
            return PF_OK;
        char *prefix = pf_strndup(key, dot ? (size_t)(dot - key) : strlen(key));
        if (found == KEY_SPREAD) {
            char *text = excerpt(&sp, a, b);
            char *why =
                pf_asprintf("cannot tell whether `%s` sets it without running the file", text);
            key_fail(c, c->toks[at].line, key, why, instead, err);
            free(why);
            free(text);
            free(prefix);
            return PF_ERR_INPUT;
        }
        if (!dot) {
            free(prefix);
            Val v = eval_expr(&sp, a, b, 0);
            if (v.kind == V_STRING) {
                *value = v.s;
                v.s = NULL;
                val_clear(&v);
                return PF_OK;
            }
            char *why = v.kind == V_UNDEFINED && c->dotenv
                            ? pf_asprintf("%s (the file loads a .env file with dotenv, which "
                                          "pgfleet does not read: export the variable)",
                                          v.why)
                            : pf_strdup(v.why);
            key_fail(c, c->toks[at].line, key, why, instead, err);
            free(why);
            val_clear(&v);
            return PF_ERR_INPUT;
        }
        size_t inner = a < b ? object_at(&sp, a, 0) : SIZE_MAX;
        if (inner == SIZE_MAX) {
            char *text = excerpt(&sp, a, b);
            char *why = pf_asprintf("%s is `%s`, which cannot be read without running the file",
                                    prefix, text);
            key_fail(c, c->toks[at].line, key, why, instead, err);
            free(why);
            free(text);
            free(prefix);
            return PF_ERR_INPUT;
        }
        free(prefix);
        o = inner;
        seg = dot + 1;
    }
}

void drizzle_config_migrations_clear(DrizzleConfigMigrations *m)
{
    free(m->dir);
    free(m->schema);
    free(m->table);
    memset(m, 0, sizeof *m);
}

/* A string of the config that pgfleet needs non-empty (a key set to process.env.X ?? "" with X
 * unset is empty). */
static PfErrCode nonempty_string(const DrizzleConfig *c, const char *key, const char *instead,
                                 char **value, PfErr *err)
{
    PfErrCode rc = drizzle_config_string(c, key, instead, value, err);
    if (rc == PF_OK && *value && !**value) {
        free(*value);
        *value = NULL;
        return pf_err_set(err, PF_ERR_INPUT, "%s: %s is empty; hint: %s", c->path, key, instead);
    }
    return rc;
}

PfErrCode drizzle_config_migrations(const DrizzleConfig *c, bool want_dir, const char *instead_dir,
                                    const char *instead_ledger, DrizzleConfigMigrations *out,
                                    PfErr *err)
{
    memset(out, 0, sizeof *out);
    /* A config for another database is a mistake worth naming; an unreadable dialect is not
     * pgfleet's business. */
    char *dialect = NULL;
    PfErr ignored;
    if (drizzle_config_string(c, "dialect", NULL, &dialect, &ignored) == PF_OK && dialect &&
        strcmp(dialect, "postgresql") != 0) {
        pf_err_set(err, PF_ERR_INPUT,
                   "%s: dialect is '%s': pgfleet migrates PostgreSQL databases only", c->path,
                   dialect);
        free(dialect);
        return PF_ERR_INPUT;
    }
    free(dialect);
    PfErrCode rc = PF_OK;
    if (want_dir) {
        char *dir = NULL;
        rc = nonempty_string(c, "out", instead_dir, &dir, err);
        if (rc == PF_OK) {
            /* drizzle-kit's default; relative to the config file */
            const char *rel = dir ? dir : "drizzle";
            while (rel[0] == '.' && rel[1] == '/' && rel[2]) /* "./db" reads better as "db" */
                rel += 2;
            char *base = pf_dirname(c->path);
            out->dir = pf_path_join(base, rel);
            free(base);
        }
        free(dir);
    }
    if (rc == PF_OK)
        rc = nonempty_string(c, "migrations.schema", instead_ledger, &out->schema, err);
    if (rc == PF_OK)
        rc = nonempty_string(c, "migrations.table", instead_ledger, &out->table, err);
    if (rc != PF_OK)
        drizzle_config_migrations_clear(out);
    return rc;
}
