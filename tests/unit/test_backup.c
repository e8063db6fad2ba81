/* Backups (src/backup/backup.h): pg_dump's connection string without the password, the
 * version-matched binary, pruning, names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "backup/backup.h"
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[] = "/tmp/pf-backup-XXXXXX";

static void conninfo(const char *dsn, const InvSettings *s, const char *hostaddr, int port,
                     const char *dbname, const char *want, const char *want_pw)
{
    InvTarget t = {.name = "t", .dsn = (char *)dsn};
    if (s)
        t.settings = *s;
    char *ci = NULL, *pw = NULL;
    PfErr err = {0};
    assert_int_equal(backup_conninfo(&t, hostaddr, port, dbname, &ci, &pw, &err), PF_OK);
    assert_string_equal(ci, want);
    if (want_pw)
        assert_string_equal(pw, want_pw);
    else
        assert_null(pw);
    free(ci);
    free(pw);
}

static void test_conninfo(void **state)
{
    (void)state;
    conninfo("postgresql://app:s3cr%20t@db.internal:6432/shop?sslmode=require", NULL, NULL, 0, NULL,
             "user=app dbname=shop host=db.internal port=6432 sslmode=require "
             "application_name=pgfleet",
             "s3cr t");
    conninfo("host=db user=app password='a b' dbname=x", NULL, NULL, 0, NULL,
             "user=app dbname=x host=db application_name=pgfleet", "a b");
    /* libpq's order of options. Through a tunnel: the dsn's host stays (TLS, .pgpass), the loopback
     * end is dialled. */
    InvSettings s = {
        .application_name = "deploy", .sslmode = "verify-full", .connect_timeout_ms = 2500};
    conninfo("postgresql://app@db.internal/shop?sslmode=disable&port=5433", &s, "127.0.0.1", 40111,
             NULL,
             "user=app dbname=shop host=db.internal application_name=deploy "
             "sslmode=verify-full connect_timeout=3 hostaddr=127.0.0.1 port=40111",
             NULL);
    conninfo("postgresql://app@db/shop", NULL, NULL, 0, "copy of it",
             "user=app host=db dbname='copy of it' application_name=pgfleet", NULL);
}

static void test_conninfo_refused(void **state)
{
    (void)state;
    InvTarget t = {.name = "t", .dsn = "host=db sslpassword=x"};
    char *ci = NULL, *pw = NULL;
    PfErr err = {0};
    assert_int_equal(backup_conninfo(&t, NULL, 0, NULL, &ci, &pw, &err), PF_ERR_INPUT);
    assert_non_null(strstr(err.msg, "sslpassword"));
    assert_null(ci);
    t.dsn = "host=db port";
    assert_int_equal(backup_conninfo(&t, NULL, 0, NULL, &ci, &pw, &err), PF_ERR_INPUT);
    assert_string_equal(err.msg, "t: the dsn is not a connection string libpq reads");
}

static void fake_tool(const char *major, const char *tool)
{
    char *dir = pf_asprintf("%s/lib/%s/bin", g_dir, major);
    char *cmd = pf_asprintf("mkdir -p '%s' && printf '#!/bin/sh\\n' > '%s/%s' && chmod +x '%s/%s'",
                            dir, dir, tool, dir, tool);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(dir);
}

static void test_find_tool(void **state)
{
    (void)state;
    char *lib = pf_asprintf("%s/lib", g_dir);
    setenv("PGFLEET_POSTGRESQL_LIBDIR", lib, 1);
    fake_tool("13", "pg_dump");
    fake_tool("15", "pg_dump");
    fake_tool("17", "pg_dump");
    fake_tool("16", "pg_restore"); /* no pg_dump there */
    char *path = NULL;
    PfErr err = {0};
    assert_int_equal(backup_find_tool("pg_dump", 14, &path, &err), PF_OK);
    char *want = pf_asprintf("%s/15/bin/pg_dump", lib);
    assert_string_equal(path, want); /* the lowest at or above 14 */
    free(want);
    free(path);
    assert_int_equal(backup_find_tool("pg_dump", 16, &path, &err), PF_OK);
    want = pf_asprintf("%s/17/bin/pg_dump", lib);
    assert_string_equal(path, want);
    free(want);
    free(path);
    assert_int_equal(backup_find_tool("pg_dump", 0, &path, &err), PF_OK);
    want = pf_asprintf("%s/17/bin/pg_dump", lib); /* no server version: the newest */
    assert_string_equal(path, want);
    free(want);
    free(path);
    assert_int_equal(backup_find_tool("pg_dump", 18, &path, &err), PF_ERR_INPUT);
    assert_null(path);
    want = pf_asprintf("no pg_dump for PostgreSQL 18 or newer in %s (it has: 13, 15, 17); hint: "
                       "install postgresql-client-18, or set PGFLEET_POSTGRESQL_LIBDIR",
                       lib);
    /* readdir's order is the file system's: compare the parts. */
    assert_non_null(strstr(err.msg, "no pg_dump for PostgreSQL 18 or newer in "));
    assert_non_null(strstr(err.msg, "hint: install postgresql-client-18"));
    assert_int_equal(strlen(err.msg), strlen(want));
    free(want);
    unsetenv("PGFLEET_POSTGRESQL_LIBDIR");
    free(lib);
}

static void touch(const char *folder, const char *name)
{
    char *p = pf_asprintf("%s/%s", folder, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fclose(f);
    free(p);
}

static bool exists(const char *folder, const char *name)
{
    char *p = pf_asprintf("%s/%s", folder, name);
    bool ok = access(p, F_OK) == 0;
    free(p);
    return ok;
}

static void test_prune(void **state)
{
    (void)state;
    char *folder = pf_asprintf("%s/prune", g_dir);
    assert_int_equal(mkdir(folder, 0700), 0);
    touch(folder, "20261201T100000Z-0001_a.dump");
    touch(folder, "20261201T090000Z-empty.dump");
    touch(folder, "20261202T080000Z-0002_b.dump");
    touch(folder, ".20261203T000000Z-0003_c.dump.partial");
    touch(folder, "notes.txt");
    char *dir = pf_asprintf("%s/20261201T110000Z-0001_a.dump", folder); /* directory format */
    assert_int_equal(mkdir(dir, 0700), 0);
    touch(dir, "toc.dat");
    assert_int_equal(backup_prune(folder, 0, "t"), 0);
    assert_int_equal(backup_prune(folder, 2, "t"), 2);
    assert_false(exists(folder, "20261201T090000Z-empty.dump"));
    assert_false(exists(folder, "20261201T100000Z-0001_a.dump"));
    assert_true(exists(folder, "20261201T110000Z-0001_a.dump/toc.dat"));
    assert_true(exists(folder, "20261202T080000Z-0002_b.dump"));
    assert_true(exists(folder, ".20261203T000000Z-0003_c.dump.partial"));
    assert_true(exists(folder, "notes.txt"));
    assert_int_equal(backup_prune(folder, 1, "t"), 1);
    assert_false(exists(folder, "20261201T110000Z-0001_a.dump"));
    free(dir);
    free(folder);
}

static void test_names(void **state)
{
    (void)state;
    char *f = backup_target_folder("/b", "../etc/x");
    assert_string_equal(f, "/b/_._etc_x");
    free(f);
    assert_int_equal(backup_server_major("15.18 (Debian 15.18-0+deb12u1)"), 15);
    assert_int_equal(backup_server_major("9.6.24"), 9);
    assert_int_equal(backup_server_major(NULL), 0);
    InvTarget t = {.name = "t"};
    assert_null(backup_dir(&t, NULL));
    assert_string_equal(backup_dir(&t, "/over"), "/over");
    t.settings.backup.dir = "/mine";
    assert_string_equal(backup_dir(&t, NULL), "/mine");
    t.settings.backup.when = INV_BACKUP_NEVER;
    assert_null(backup_dir(&t, "/over"));
}

static int setup(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(g_dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char *cmd = pf_asprintf("rm -rf '%s'", g_dir);
    int rc = system(cmd);
    free(cmd);
    return rc;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conninfo),  cmocka_unit_test(test_conninfo_refused),
        cmocka_unit_test(test_find_tool), cmocka_unit_test(test_prune),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
