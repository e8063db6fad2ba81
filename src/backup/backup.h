/*
 * Backups before apply (docs/backups.md): the real pg_dump of the server's major version or
 * newer, run as a child process (src/core/proc.h) from the worker that holds the target's
 * lock; dumps named by time and ledger head, written under a temporary name and renamed when
 * complete; pruning to backup.keep; and the pg_restore command that puts one back.
 *
 * Secrets: the dsn's password goes to pg_dump and pg_restore in their environment (PGPASSWORD),
 * never in argv, and is scrubbed from anything they print before it is logged or reported.
 */
#ifndef PF_BACKUP_H
#define PF_BACKUP_H

#include "core/err.h"
#include "inventory/inventory.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Where PostgreSQL's versioned binaries are looked for: $PGFLEET_POSTGRESQL_LIBDIR, else
 * Debian's /usr/lib/postgresql (<major>/bin/pg_dump). */
#define BACKUP_LIBDIR_DEFAULT "/usr/lib/postgresql"

/* The folder t's dumps go to: override (apply --backup-dir) when given, else backup.dir;
 * NULL when t takes no backups (no folder, or when: never). Borrowed. */
const char *backup_dir(const InvTarget *t, const char *override);

/* The server's major version from its server_version text ("15.4 (Debian ...)", "9.6.24"):
 * 15, 9; 0 when unreadable. */
int backup_server_major(const char *server_version);

/* The path of tool ("pg_dump", "pg_restore") for a server of major version major: the lowest
 * <major>/bin/<tool> at or above it under the library folder (major 0: the highest there is;
 * caller frees). PF_ERR_INPUT
 * naming the folder, what it has, and the package to install when there is none. */
PfErrCode backup_find_tool(const char *tool, int major, char **path, PfErr *err);

/* A key=value conninfo for t without its password (it goes to *password, or NULL when the
 * dsn has none; caller frees both), with the settings' application_name, sslmode and
 * connect_timeout; hostaddr (may be NULL) and port reach the server instead (a tunnel's
 * loopback end), the dsn's host staying for TLS and .pgpass. dbname (may be NULL) replaces
 * the dsn's database. PF_ERR_INPUT for a dsn libpq rejects or one with an sslpassword (it
 * cannot be handed over but in argv). */
PfErrCode backup_conninfo(const InvTarget *t, const char *hostaddr, int port, const char *dbname,
                          char **conninfo, char **password, PfErr *err);

/* A dump as the report shows it. */
typedef struct BackupDump {
    char *path;          /* the dump, renamed into place */
    char *tool;          /* the pg_dump that wrote it */
    const char *format;  /* "custom" or "directory" (static) */
    int64_t bytes;       /* its size (a directory: the sum of its files) */
    int64_t duration_ms; /* pg_dump's run */
    int pruned;          /* older dumps of the target removed for backup.keep */
} BackupDump;

void backup_dump_clear(BackupDump *d);

typedef struct BackupRequest {
    const InvTarget *target;
    const char *dir;               /* backup_dir's answer */
    const char *hostaddr;          /* the tunnel's loopback address, or NULL (direct) */
    int port;                      /* with hostaddr */
    const char *server_version;    /* the identity's */
    const char *head;              /* the ledger's newest applied tag, or NULL (empty ledger) */
    const atomic_int *interrupted; /* stops pg_dump once set (the run's flag) */
} BackupRequest;

/* Dump req->target into DIR/<target>/<UTC time>-<head>.dump: pg_dump into a temporary name
 * beside it (".<name>.partial"), renamed once pg_dump succeeded, then prune to backup.keep
 * (a failure to prune is logged, not returned). A tenant target dumps its schemas only. On
 * failure nothing is left behind and err (PF_ERR_IO) says why: pg_dump's own message (its
 * first "error:" line, scrubbed of the password), no pg_dump for the server, a folder that
 * cannot be made. Called from a worker thread. */
PfErrCode backup_run(const BackupRequest *req, BackupDump *out, PfErr *err);

/* Remove all but the keep newest dumps in folder (names sort by time); returns how many went.
 * keep 0 removes nothing. Temporary names are left alone. */
int backup_prune(const char *folder, int keep, const char *target);

/* The file-system name of a target's folder: its name with '/' and a leading '.' made '_'. */
char *backup_target_folder(const char *dir, const char *target);

#endif
