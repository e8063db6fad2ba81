/*
 * The floor of bench/wan.sh: the least a client can do for each database of a fleet. Connect,
 * send one query string (every statement of it in one simple-query message), wait for its
 * answers, disconnect; JOBS databases at a time, one thread each. No lock, no ledger read, no
 * check of what the server holds: what pgfleet does beyond this is its overhead.
 *
 *   floor JOBS SQL_FILE DSN...    prints the wall-clock seconds, exits 1 if any database failed
 *
 * SQL_FILE "-" means `select 1`. Built by bench/wan.sh (cc ... -lpq -lpthread); not part of
 * pgfleet.
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char **dsns;
static int n_dsns;
static const char *sql;
static atomic_int next;
static atomic_int failed;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run_one(const char *dsn)
{
    PGconn *conn = PQconnectdb(dsn);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "floor: connect: %s", PQerrorMessage(conn));
        atomic_fetch_add(&failed, 1);
        PQfinish(conn);
        return;
    }
    if (!PQsendQuery(conn, sql)) {
        fprintf(stderr, "floor: send: %s", PQerrorMessage(conn));
        atomic_fetch_add(&failed, 1);
    }
    PGresult *res;
    while ((res = PQgetResult(conn)) != NULL) {
        if (PQresultStatus(res) == PGRES_FATAL_ERROR) {
            fprintf(stderr, "floor: %s", PQresultErrorMessage(res));
            atomic_fetch_add(&failed, 1);
        }
        PQclear(res);
    }
    PQfinish(conn);
}

static void *worker(void *arg)
{
    (void)arg;
    for (int i; (i = atomic_fetch_add(&next, 1)) < n_dsns;)
        run_one(dsns[i]);
    return NULL;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: floor JOBS SQL_FILE DSN...\n");
        return 2;
    }
    int jobs = atoi(argv[1]);
    sql = strcmp(argv[2], "-") == 0 ? "select 1" : read_file(argv[2]);
    if (jobs < 1 || !sql) {
        fprintf(stderr, "floor: bad JOBS or unreadable %s\n", argv[2]);
        return 2;
    }
    dsns = argv + 3;
    n_dsns = argc - 3;
    pthread_t *threads = calloc((size_t)jobs, sizeof *threads);
    double t0 = now_s();
    for (int i = 0; i < jobs; i++)
        pthread_create(&threads[i], NULL, worker, NULL);
    for (int i = 0; i < jobs; i++)
        pthread_join(threads[i], NULL);
    printf("%.3f\n", now_s() - t0);
    free(threads);
    return atomic_load(&failed) ? 1 : 0;
}
