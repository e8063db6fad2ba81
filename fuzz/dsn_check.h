/*
 * The property of password masking that the mask and inventory harnesses check on every dsn
 * they see (src/inventory/mask.c, src/pg/dsn.h).
 *
 * The password is what libpq reads: PQconninfoParse (through pg_dsn_options) gives the
 * password and sslpassword values. To know where the dsn writes them, the check reads the dsn
 * again with a copy of libpq's parser (PostgreSQL 15's conninfo_parse and
 * conninfo_uri_parse_options) that also notes where each password and sslpassword value is
 * written; when that copy and libpq disagree about any option, the dsn is not checked.
 *
 * Then, with M = inv_mask_dsn(dsn):
 *  1. M does not depend on the passwords: the twin dsn, in which every letter and digit of
 *     each written password value is replaced by another (a-z and A-Z rotated by 13, 0-9 by
 *     5; percent-escapes kept), masks to exactly M, provided libpq reads the twin as the dsn
 *     but for the passwords. Any piece of a password shown in M, whole, cut or decoded,
 *     breaks it.
 *  2. A password P of at least 3 characters, holding no '*' (the mask's own character),
 *     appears in M only where it is text that is not secret: a piece of the dsn between the
 *     written password values, a non-secret value as libpq reads it, or the key=value form of
 *     libpq's reading with the passwords hidden. (Needed where 1 cannot see: a password with
 *     no letter or digit, or a twin that libpq reads otherwise.)
 *  3. Each secret inv_dsn_secrets returns (at least 3 characters, no '*', not only spaces)
 *     is scrubbed by inv_dsn_scrub from a message where it stands alone on a line.
 * A dbname that is itself a connection string is checked the same way, on its own. A
 * violation prints the dsn and what was seen, and aborts.
 */
#ifndef PF_FUZZ_DSN_CHECK_H
#define PF_FUZZ_DSN_CHECK_H

/* Check dsn (NUL-terminated); abort() on a violation. */
void fz_check_dsn(const char *dsn);

#endif
