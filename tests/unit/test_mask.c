/* Password masking and scrubbing (src/inventory/mask.c): the dsn forms libpq misreads, whole-
 * token scrubbing, and a property over generated passwords. (test_inventory.c pins the
 * ordinary forms.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/mem.h"
#include "inventory/inventory.h"
#include "pg/dsn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void assert_masked(const char *dsn, const char *want)
{
    char *m = inv_mask_dsn(dsn);
    if (strcmp(m, want) != 0)
        fail_msg("mask of [%s]\n  want [%s]\n  got  [%s]", dsn, want, m);
    free(m);
}

static bool secrets_have(const char *dsn, const char *want)
{
    size_t n;
    char **s = inv_dsn_secrets(dsn, &n);
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        found = found || strcmp(s[i], want) == 0;
        free(s[i]);
    }
    free(s);
    return found;
}

static void assert_scrubbed(const char *text, const char *dsn, const char *want)
{
    char *got = inv_dsn_scrub(text, dsn);
    if (strcmp(got, want) != 0)
        fail_msg("scrub of [%s] for [%s]\n  want [%s]\n  got  [%s]", text, dsn ? dsn : "(none)",
                 want, got);
    free(got);
}

static char *kv_escape(const char *s, bool quoted)
{
    PfBuf b = PF_BUF_INIT;
    for (; *s; s++) {
        if (*s == '\'' || *s == '\\' || (!quoted && *s == ' '))
            pf_buf_putc(&b, '\\');
        pf_buf_putc(&b, *s);
    }
    return pf_buf_take(&b);
}

/* ---- what libpq reads ------------------------------------------------------------------ */

static void test_libpq_reading(void **state)
{
    PgDsnOption *o;
    size_t n;
    assert_true(pg_dsn_options("postgresql://u:SecAt?Pw_Q17@h/db", &o, &n));
    assert_string_equal(pg_dsn_option(o, n, "password"), "SecAt?Pw_Q17");
    assert_string_equal(pg_dsn_option(o, n, "host"), "h");
    pg_dsn_options_free(o, n);
    /* an unencoded '/' ends libpq's userinfo look-ahead: the "password" becomes a port */
    assert_true(pg_dsn_options("postgresql://u:abc/def1234@h", &o, &n));
    assert_null(pg_dsn_option(o, n, "password"));
    assert_string_equal(pg_dsn_option(o, n, "port"), "abc");
    pg_dsn_options_free(o, n);
    assert_true(pg_dsn_options("host=h password='a \\'b' dbname=d", &o, &n));
    assert_string_equal(pg_dsn_option(o, n, "password"), "a 'b");
    pg_dsn_options_free(o, n);
    assert_false(pg_dsn_options("host=h password=se cret", &o, &n));
    assert_null(o);
    assert_int_equal(n, 0);
    assert_true(pg_dsn_keyword("sslpassword"));
    assert_false(pg_dsn_keyword("PASSWORD"));
    assert_false(pg_dsn_keyword("cret"));
}

/* ---- masking: the forms that once leaked ------------------------------------------------ */

static void test_mask_url_special_chars(void **state)
{
    /* '?' in the userinfo: libpq reads it all as the password (and logs in with it) */
    assert_masked("postgresql://u:SecAt?Pw_Q17@h/db", "postgresql://u:****@h/db");
    assert_masked("postgresql://u:SecAt?Pw_Q17@h/db?sslmode=disable",
                  "postgresql://u:****@h/db?sslmode=disable");
    assert_true(secrets_have("postgresql://u:SecAt?Pw_Q17@h/db", "SecAt?Pw_Q17"));
    /* '/' in the userinfo: libpq misreads it; the whole userinfo after the user is hidden */
    assert_masked("postgresql://u:abc/def1234@h", "postgresql://u:****@h");
    assert_masked("postgresql://u:abc/def1234@h:5432/db?sslmode=disable",
                  "postgresql://u:****@h:5432/db?sslmode=disable");
    assert_true(secrets_have("postgresql://u:abc/def1234@h", "abc/def1234"));
    assert_masked("postgresql://a/b@h/db", "postgresql://****@h/db");
    /* '@' in the userinfo: libpq cuts at the first, the password ends at the last */
    assert_masked("postgresql://u:p@ss@h/db", "postgresql://u:****@h/db");
    assert_masked("postgresql://u:pa@ss/x@h/db", "postgresql://u:****@h/db");
    assert_masked("postgresql://u@x:pw@h/db", "postgresql://u@x:****@h/db");
    /* libpq reads a host or a port out of the password: nothing of it is shown */
    assert_masked("postgresql://u:1/y?host=z@h:5432/db", "postgresql://u:****@h:5432/db");
    assert_masked("postgresql://u:1/y?application_name=z@h/db", "postgresql://u:****@h/db");
    assert_masked("postgresql://u:pa@ss/x?host=y@h/db", "postgresql://u:****@h/db");
    /* percent-encoding: hidden as written, known decoded; a bad escape (libpq refuses) too */
    assert_masked("postgresql://u:p%3Fw%2Fd%40x%25@h/db", "postgresql://u:****@h/db");
    assert_true(secrets_have("postgresql://u:p%3Fw%2Fd%40x%25@h/db", "p?w/d@x%"));
    assert_true(secrets_have("postgresql://u:p%3Fw%2Fd%40x%25@h/db", "p%3Fw%2Fd%40x%25"));
    assert_masked("postgresql://u:a%zz@h/db", "postgresql://u:****@h/db");
    assert_masked("postgresql://u:a%00b@h/db", "postgresql://u:****@h/db");
    /* a query password libpq cannot split: every value from it on */
    assert_masked("postgresql://h/db?password=a&b&sslmode=disable",
                  "postgresql://h/db?password=****");
    assert_masked("postgresql://h/db?sslmode=disable&password=a=b",
                  "postgresql://h/db?sslmode=disable&password=****");
    /* a password parameter inside what may be the userinfo, or after it */
    assert_masked("postgresql://h/db?password=a@b", "postgresql://****");
    assert_masked("postgresql://u:x/y@h/db?password=a@b", "postgresql://u:****");
    assert_masked("postgresql://srv.example/db?user=me@srv&password=pw",
                  "postgresql://****@srv&password=****");
    assert_masked("postgresql://u:a/b@h/db?sslmode=disable&password=c",
                  "postgresql://u:****@h/db?sslmode=disable&password=****");
    /* a scheme libpq does not recognise: it takes the dsn for a database name */
    assert_masked("postgresql:/u:pw@h/db", "postgresql:****@h/db");
    assert_masked("Postgresql://u:pw@h/db", "Postgresql://u:****@h/db");
}

static void test_mask_url_left_alone(void **state)
{
    /* what is not a password stays as written */
    assert_masked("postgresql://me%40srv:pw@srv.example/db",
                  "postgresql://me%40srv:****@srv.example/db");
    assert_masked("postgresql://u:pw@h/db?application_name=me@x",
                  "postgresql://u:****@h/db?application_name=me@x");
    assert_masked("postgresql://u:pw@[::1]:5432,h2:5433/db?ssl=true",
                  "postgresql://u:****@[::1]:5432,h2:5433/db?ssl=true");
    assert_masked("postgresql://u:pw@h/db?password=q&sslpassword=k&sslmode=require",
                  "postgresql://u:****@h/db?password=****&sslpassword=****&sslmode=require");
    assert_masked("postgresql://u@h:5432/db", "postgresql://u@h:5432/db");
    assert_masked("postgresql://u:e@h/db", "postgresql://u:****@h/db");
    assert_masked("host=h dbname=me@home password=x", "host=h dbname=me@home password=****");
    assert_masked("mydb", "mydb");
}

static void test_mask_keyvalue_special(void **state)
{
    assert_masked("host=h password='Sec At?/@:%#&=\\'\"\\\\' dbname=db",
                  "host=h password=**** dbname=db");
    assert_true(
        secrets_have("host=h password='Sec At?/@:%#&=\\'\"\\\\' dbname=db", "Sec At?/@:%#&='\"\\"));
    assert_masked("host=h password=a\\ b\\'c dbname=db", "host=h password=**** dbname=db");
    assert_masked("host=h password=e dbname=db", "host=h password=**** dbname=db");
    /* libpq rejects: an unquoted password with a space, before an option libpq does not know */
    assert_masked("host=h password=x y=b", "host=h password=**** ****");
    assert_true(secrets_have("host=h password=x y=b", "y=b"));
    /* libpq rejects for another reason: an option it knows after the password stays */
    assert_masked("host=h password=x user=b stray", "host=h password=**** user=b stray");
    /* a dbname holding a connection string, inside a URL: shown as libpq read it */
    assert_masked("postgresql://h/db?dbname=host%3Dx%20password%3Dpw",
                  "dbname='host=x password=****' host=h");
    assert_true(secrets_have("postgresql://h/db?dbname=host%3Dx%20password%3Dpw", "pw"));
    /* nested deeper than masking follows: the inner string is hidden whole */
    char *dsn = pf_strdup("host=h password=Deep-pw1");
    for (int level = 0; level < 8; level++) {
        char *q = kv_escape(dsn, true);
        free(dsn);
        dsn = pf_asprintf("dbname='%s' user=u%d", q, level);
        free(q);
    }
    char *m = inv_mask_dsn(dsn);
    assert_null(strstr(m, "Deep-pw1"));
    assert_non_null(strstr(m, "****"));
    assert_non_null(strstr(m, "user=u7"));
    assert_scrubbed("database \"Deep-pw1\"", dsn, "database \"****\"");
    free(m);
    free(dsn);
}

/* ---- scrubbing ------------------------------------------------------------------------- */

static void test_scrub_whole_tokens(void **state)
{
    const char *refused =
        "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password "
        "authentication failed for user \"app\"";
    /* a one-character password garbles nothing (not conn****ction to s****rv****r) */
    assert_scrubbed(refused, "postgresql://app:e@127.0.0.1:5432/db", refused);
    assert_scrubbed(refused, "host=127.0.0.1 user=app password=e", refused);
    assert_scrubbed("password e rejected", "postgresql://app:e@h/db", "password **** rejected");
    assert_scrubbed("\"e\"", "postgresql://app:e@h/db", "\"****\"");
    /* a password made of punctuation only counts where it stands alone */
    assert_scrubbed("value \"?!\" x?! y", "host=h password='?!'", "value \"****\" x?! y");
    assert_scrubbed("a b c", "host=h password=' '", "a b c");
    /* whole: neither a word that contains it nor one it is part of */
    assert_scrubbed("S3cr3t-pw S3cr3t-pwx xS3cr3t-pw", "postgresql://u:S3cr3t-pw@h",
                    "**** S3cr3t-pwx xS3cr3t-pw");
    /* decoded and as written */
    assert_scrubbed("[p@ss] [p%40ss]", "postgresql://u:p%40ss@h", "[****] [****]");
    /* libpq's messages about a misread URL quote pieces of the password */
    assert_scrubbed("invalid integer value \"abc\" for connection option \"port\"",
                    "postgresql://u:abc/def1234@h",
                    "invalid integer value \"****\" for connection option \"port\"");
    assert_scrubbed("could not translate host name \"Rgt-Zk7w@127.0.0.1\" to address",
                    "postgresql://app:Lft-Xq9k@Rgt-Zk7w@127.0.0.1:5432/db",
                    "could not translate host name \"****@127.0.0.1\" to address");
    assert_scrubbed("missing \"=\" after \"Rgt-Vb8n\" in connection info string",
                    "host=h password=Lft-Wm4p Rgt-Vb8n dbname=x",
                    "missing \"=\" after \"****\" in connection info string");
    /* a piece that names a connection option is left to libpq's own wording */
    assert_scrubbed("could not translate host name \"z@h\"", "postgresql://u:1/y?host=zz@h/db",
                    "could not translate host name \"z@h\"");
    /* a server message quoting a dbname that holds a connection string */
    assert_scrubbed("database \"postgres://u:Nst-pw1@h/db\" does not exist",
                    "host=h dbname='postgres://u:Nst-pw1@h/db'",
                    "database \"postgres://u:****@h/db\" does not exist");
    assert_scrubbed("nothing to hide", NULL, "nothing to hide");
    assert_scrubbed("nothing to hide", "postgresql://u@h/db", "nothing to hide");
}

/* ---- property: generated passwords ---------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

/* Printable ASCII, with the characters that matter to libpq's parsers more likely. */
static void gen_password(char *pw, size_t len)
{
    static const char special[] = "?/@:%#&= '\"\\[],";
    for (size_t i = 0; i < len; i++)
        pw[i] = rng() % 3 == 0 ? special[rng() % (sizeof special - 1)] : (char)(' ' + rng() % 95);
    pw[len] = '\0';
}

static char *percent_encode(const char *s)
{
    PfBuf b = PF_BUF_INIT;
    for (; *s; s++) {
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
            strchr("-._~", *s))
            pf_buf_putc(&b, *s);
        else
            pf_buf_printf(&b, "%%%02X", (unsigned char)*s);
    }
    return pf_buf_take(&b);
}

#define HOST "db-host.example"
#define REFUSED                                                                                    \
    "connection to server at \"" HOST "\" (10.0.0.7), port 5432 failed: FATAL:  password "         \
    "authentication failed for user \"user_p\""

/* The masked dsn is exactly want (host, port, database and options intact, the password gone),
 * inv_dsn_secrets knows the password, and a message quoting it loses it and nothing else. */
static void check_form(const char *dsn, const char *want, const char *pw)
{
    char *m = inv_mask_dsn(dsn);
    if (strcmp(m, want) != 0)
        fail_msg("password [%s]: mask of [%s]\n  want [%s]\n  got  [%s]", pw, dsn, want, m);
    if (strlen(pw) >= 4 && strstr(m, pw))
        fail_msg("password [%s] left in [%s]", pw, m);
    free(m);
    if (!secrets_have(dsn, pw))
        fail_msg("password [%s] not among the secrets of [%s]", pw, dsn);
    char *text = pf_asprintf(REFUSED " (\"%s\")", pw);
    char *got = inv_dsn_scrub(text, dsn);
    if (strcmp(got, REFUSED " (\"****\")") != 0)
        fail_msg("password [%s]: scrub of [%s] for [%s] gave [%s]", pw, text, dsn, got);
    free(got);
    free(text);
}

static void test_property_generated_passwords(void **state)
{
    char pw[24];
    for (int i = 0; i < 2000; i++) {
        gen_password(pw, 4 + rng() % 17);
        char *enc = percent_encode(pw);
        char *dsn = pf_asprintf("postgresql://user_p:%s@" HOST ":5432/app_db?sslmode=disable", pw);
        check_form(dsn, "postgresql://user_p:****@" HOST ":5432/app_db?sslmode=disable", pw);
        free(dsn);
        dsn = pf_asprintf("postgresql://user_p:%s@" HOST ":5432/app_db", enc);
        check_form(dsn, "postgresql://user_p:****@" HOST ":5432/app_db", pw);
        free(dsn);
        dsn = pf_asprintf("postgres://user_p@" HOST "/app_db?password=%s&sslmode=disable", enc);
        check_form(dsn, "postgres://user_p@" HOST "/app_db?password=****&sslmode=disable", pw);
        free(dsn);
        char *q = kv_escape(pw, true);
        dsn = pf_asprintf("host=" HOST " port=5432 user=user_p password='%s' dbname=app_db", q);
        check_form(dsn, "host=" HOST " port=5432 user=user_p password=**** dbname=app_db", pw);
        free(dsn);
        free(q);
        q = kv_escape(pw, false);
        dsn = pf_asprintf("host=" HOST " password=%s dbname=app_db", q);
        check_form(dsn, "host=" HOST " password=**** dbname=app_db", pw);
        free(dsn);
        free(q);
        free(enc);
    }
}

/* Every one-character password: masked, and no message is garbled by it. */
static void test_property_one_character(void **state)
{
    for (char c = ' '; c <= '~'; c++) {
        char pw[2] = {c, '\0'};
        char *enc = percent_encode(pw);
        char *dsn = pf_asprintf("postgresql://user_p:%s@" HOST ":5432/app_db", enc);
        char *m = inv_mask_dsn(dsn);
        assert_string_equal(m, "postgresql://user_p:****@" HOST ":5432/app_db");
        assert_true(secrets_have(dsn, pw));
        assert_scrubbed(REFUSED, dsn, REFUSED);
        free(m);
        free(dsn);
        free(enc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_libpq_reading),
        cmocka_unit_test(test_mask_url_special_chars),
        cmocka_unit_test(test_mask_url_left_alone),
        cmocka_unit_test(test_mask_keyvalue_special),
        cmocka_unit_test(test_scrub_whole_tokens),
        cmocka_unit_test(test_property_generated_passwords),
        cmocka_unit_test(test_property_one_character),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
