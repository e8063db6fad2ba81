/*
 * A dsn as libpq reads it, for code outside src/pg/ that must agree with libpq about what a
 * connection string says (password masking, src/inventory/mask.c) without seeing libpq's types.
 */
#ifndef PF_PG_DSN_H
#define PF_PG_DSN_H

#include "core/buf.h"

#include <stdbool.h>
#include <stddef.h>

/* One option a dsn sets. */
typedef struct PgDsnOption {
    char *keyword; /* libpq's name for it: "host", "password", ... */
    char *value;   /* as libpq decodes it: percent-encoding and quoting removed; may be "" */
} PgDsnOption;

/* Read dsn (a postgres[ql]:// URL or key=value conninfo) with libpq's own parser
 * (PQconninfoParse): no connection, and nothing from the environment, service files or
 * .pgpass. True with *opts set to the *n options the dsn sets, in libpq's order (free with
 * pg_dsn_options_free); false when libpq rejects the dsn (*opts NULL, *n 0). libpq's reason is
 * not kept: it may quote the password. Thread-safe. */
bool pg_dsn_options(const char *dsn, PgDsnOption **opts, size_t *n);
void pg_dsn_options_free(PgDsnOption *opts, size_t n);

/* The value of keyword among opts, or NULL when the dsn does not set it. */
const char *pg_dsn_option(const PgDsnOption *opts, size_t n, const char *keyword);

/* Whether libpq knows keyword as a connection option (case-sensitive, as libpq is). */
bool pg_dsn_keyword(const char *keyword);

/* Append value to out as a key=value conninfo writes it, for libpq to read back as value:
 * bare when it is non-empty and holds no space, '=', quote or backslash; else single-quoted
 * with quotes and backslashes escaped. */
void pg_dsn_put_value(PfBuf *out, const char *value);

#endif
