/*
 * discover-pg: targets from a PostgreSQL server (docs/plugins.md). Every database whose name
 * matches a pattern, every schema of one database whose name matches a pattern (a tenant per
 * schema), or the rows of a control-plane query.
 *
 *   config:
 *     dsn: postgresql://discover@db-host/postgres      # where to look (required)
 *     database_pattern: "tenant_%"                     # LIKE; or database_regex: "^tenant_"
 *     dsn_template: postgresql://app@db-host/{database}
 *     name_template: "{database}"                      # default
 *     labels: [tier=tenants, region=eu]                # added to every target (optional)
 *   or
 *     dsn: postgresql://app@db-host/app                # its database's schemas
 *     schema_pattern: 'tenant\_%'                      # LIKE
 *     name_template: "{schema}"                        # default; {database} too
 *     dsn_template: postgresql://app@db-host/{database} # default: dsn itself; no {schema}
 *   or
 *     query: select name, dsn, labels from fleet.tenants where active
 *
 * A query returns rows of (name, dsn[, labels[, schema[, table[, tenant_schema]]]]): labels a
 * JSON object of strings (json, jsonb or text; null = none), schema and table the ledger's
 * (null = the inventory's), tenant_schema the schema the folder is applied in (null = not a
 * tenant). Database mode skips templates and databases that refuse connections (datallowconn
 * false); schema mode skips the system schemas (pg_*, information_schema); both order by name.
 * The server is asked once, when the inventory loads.
 */
#include <pgfleet/plugin.h>

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Discover {
    char *dsn;
    char *pattern; /* LIKE */
    char *regex;
    char *schema_pattern; /* LIKE */
    char *query;
    char *dsn_template;
    char *name_template;
    PgfleetKV *labels;
    size_t n_labels;
    char *labels_text; /* owns the strings labels point into */
} Discover;

static void discover_free(Discover *d)
{
    if (!d)
        return;
    free(d->dsn);
    free(d->pattern);
    free(d->regex);
    free(d->schema_pattern);
    free(d->query);
    free(d->dsn_template);
    free(d->name_template);
    free(d->labels);
    free(d->labels_text);
    free(d);
}

/* "k=v,k=v" into d->labels. */
static int parse_labels(Discover *d, const char *v, char *err, size_t err_size)
{
    d->labels_text = strdup(v);
    size_t cap = 1;
    for (const char *p = v; *p; p++)
        cap += *p == ',';
    d->labels = calloc(cap, sizeof *d->labels);
    if (!d->labels_text || !d->labels)
        return PGFLEET_ERROR;
    char *save = NULL;
    for (char *item = strtok_r(d->labels_text, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (!eq || eq == item) {
            snprintf(err, err_size, "labels: '%s' is not KEY=VALUE", item);
            return PGFLEET_ERROR;
        }
        *eq = '\0';
        d->labels[d->n_labels++] = (PgfleetKV){item, eq + 1};
    }
    return PGFLEET_OK;
}

static int discover_init(const PgfleetKV *config, size_t n, void **state, char *err,
                         size_t err_size)
{
    Discover *d = calloc(1, sizeof *d);
    if (!d)
        return PGFLEET_ERROR;
    int rc = PGFLEET_OK;
    for (size_t i = 0; i < n && rc == PGFLEET_OK; i++) {
        const char *k = config[i].key, *v = config[i].value;
        char **slot = strcmp(k, "dsn") == 0                ? &d->dsn
                      : strcmp(k, "database_pattern") == 0 ? &d->pattern
                      : strcmp(k, "database_regex") == 0   ? &d->regex
                      : strcmp(k, "schema_pattern") == 0   ? &d->schema_pattern
                      : strcmp(k, "query") == 0            ? &d->query
                      : strcmp(k, "dsn_template") == 0     ? &d->dsn_template
                      : strcmp(k, "name_template") == 0    ? &d->name_template
                                                           : NULL;
        if (strcmp(k, "labels") == 0) {
            rc = parse_labels(d, v, err, err_size);
        } else if (!slot) {
            snprintf(err, err_size,
                     "unknown config key '%s' (expected dsn, database_pattern, database_regex, "
                     "schema_pattern, query, dsn_template, name_template or labels)",
                     k);
            rc = PGFLEET_ERROR;
        } else {
            free(*slot);
            *slot = strdup(v);
        }
    }
    int modes = (d->pattern != NULL) + (d->regex != NULL) + (d->schema_pattern != NULL) +
                (d->query != NULL);
    bool databases = d->pattern || d->regex;
    if (rc == PGFLEET_OK && (!d->dsn || !*d->dsn)) {
        snprintf(err, err_size, "config 'dsn' is required");
        rc = PGFLEET_ERROR;
    } else if (rc == PGFLEET_OK && modes != 1) {
        snprintf(err, err_size,
                 "give exactly one of database_pattern, database_regex, schema_pattern or query");
        rc = PGFLEET_ERROR;
    } else if (rc == PGFLEET_OK && databases &&
               (!d->dsn_template || !strstr(d->dsn_template, "{database}"))) {
        snprintf(err, err_size, "a database pattern needs dsn_template holding {database}");
        rc = PGFLEET_ERROR;
    } else if (rc == PGFLEET_OK && d->schema_pattern && d->name_template &&
               !strstr(d->name_template, "{schema}")) {
        snprintf(err, err_size,
                 "a schema pattern needs name_template holding {schema} (one target per schema)");
        rc = PGFLEET_ERROR;
    } else if (rc == PGFLEET_OK && d->schema_pattern && d->dsn_template &&
               strstr(d->dsn_template, "{schema}")) {
        snprintf(err, err_size,
                 "dsn_template cannot hold {schema}: the tenants of one database share its dsn "
                 "(and its connections); pgfleet enters each tenant's schema itself");
        rc = PGFLEET_ERROR;
    }
    if (rc != PGFLEET_OK) {
        discover_free(d);
        return PGFLEET_ERROR;
    }
    *state = d;
    return PGFLEET_OK;
}

static void discover_fini(void *state)
{
    discover_free(state);
}

/* tmpl with every {database} replaced by db and, when schema is not NULL, every {schema} by
 * schema (caller frees; NULL when out of memory). */
static char *fill(const char *tmpl, const char *db, const char *schema)
{
    struct {
        const char *key, *value;
    } subst[] = {{"{database}", db}, {"{schema}", schema}};
    size_t n = sizeof subst / sizeof subst[0], cap = strlen(tmpl) + 1;
    for (size_t k = 0; k < n; k++)
        for (const char *p = subst[k].value ? strstr(tmpl, subst[k].key) : NULL; p;
             p = strstr(p + 1, subst[k].key))
            cap += strlen(subst[k].value);
    char *out = malloc(cap), *o = out;
    if (!out)
        return NULL;
    for (const char *p = tmpl; *p;) {
        size_t k = 0;
        while (k < n && !(subst[k].value && strncmp(p, subst[k].key, strlen(subst[k].key)) == 0))
            k++;
        if (k < n) {
            size_t vl = strlen(subst[k].value);
            memcpy(o, subst[k].value, vl);
            o += vl;
            p += strlen(subst[k].key);
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

static int from_databases(Discover *d, PGconn *conn, PgfleetAddTarget add, void *ctx, char *err,
                          size_t err_size)
{
    const char *sql = d->pattern ? "select datname from pg_database where datallowconn and not "
                                   "datistemplate and datname like $1 order by datname"
                                 : "select datname from pg_database where datallowconn and not "
                                   "datistemplate and datname ~ $1 order by datname";
    const char *param = d->pattern ? d->pattern : d->regex;
    PGresult *res = PQexecParams(conn, sql, 1, NULL, &param, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(err, err_size, "listing databases: %s", PQresultErrorMessage(res));
        PQclear(res);
        return PGFLEET_ERROR;
    }
    int rc = PGFLEET_OK;
    for (int i = 0; i < PQntuples(res) && rc == PGFLEET_OK; i++) {
        const char *db = PQgetvalue(res, i, 0);
        char *name = fill(d->name_template ? d->name_template : "{database}", db, NULL);
        char *dsn = fill(d->dsn_template, db, NULL);
        PgfleetTarget t = {.name = name, .dsn = dsn, .labels = d->labels, .n_labels = d->n_labels};
        rc = name && dsn ? add(ctx, &t, err, err_size) : PGFLEET_ERROR;
        free(name);
        free(dsn);
    }
    PQclear(res);
    return rc;
}

/* A tenant per schema of the connection's database. The system schemas are never tenants:
 * PostgreSQL reserves the pg_ prefix (pg_catalog, pg_toast, pg_temp_N, ...). */
static int from_schemas(Discover *d, PGconn *conn, PgfleetAddTarget add, void *ctx, char *err,
                        size_t err_size)
{
    const char *sql = "select nspname::text, current_database()::text from pg_namespace where "
                      "nspname like $1 and left(nspname, 3) <> 'pg_' and nspname <> "
                      "'information_schema' order by nspname";
    PGresult *res =
        PQexecParams(conn, sql, 1, NULL, (const char *const *)&d->schema_pattern, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(err, err_size, "listing schemas: %s", PQresultErrorMessage(res));
        PQclear(res);
        return PGFLEET_ERROR;
    }
    int rc = PGFLEET_OK;
    for (int i = 0; i < PQntuples(res) && rc == PGFLEET_OK; i++) {
        const char *schema = PQgetvalue(res, i, 0), *db = PQgetvalue(res, i, 1);
        char *name = fill(d->name_template ? d->name_template : "{schema}", db, schema);
        char *dsn = d->dsn_template ? fill(d->dsn_template, db, NULL) : strdup(d->dsn);
        PgfleetTarget t = {.name = name,
                           .dsn = dsn,
                           .labels = d->labels,
                           .n_labels = d->n_labels,
                           .tenant_schema = schema};
        rc = name && dsn ? add(ctx, &t, err, err_size) : PGFLEET_ERROR;
        free(name);
        free(dsn);
    }
    PQclear(res);
    return rc;
}

/* One query row's labels: the JSON object's members, then the config's labels. */
static int row_labels(Discover *d, const char *json, PgfleetKV **out, size_t *n, cJSON **doc,
                      char *err, size_t err_size)
{
    *out = NULL;
    *n = 0;
    *doc = NULL;
    size_t members = 0;
    if (json) {
        *doc = cJSON_Parse(json);
        if (!*doc || !cJSON_IsObject(*doc)) {
            snprintf(err, err_size, "labels '%s' is not a JSON object", json);
            return PGFLEET_ERROR;
        }
        members = (size_t)cJSON_GetArraySize(*doc);
    }
    *out = calloc(members + d->n_labels + 1, sizeof **out);
    if (!*out)
        return PGFLEET_ERROR;
    for (cJSON *m = *doc ? (*doc)->child : NULL; m; m = m->next) {
        if (!cJSON_IsString(m)) {
            snprintf(err, err_size, "label '%s' is not a string", m->string);
            return PGFLEET_ERROR;
        }
        (*out)[(*n)++] = (PgfleetKV){m->string, m->valuestring};
    }
    for (size_t i = 0; i < d->n_labels; i++)
        (*out)[(*n)++] = d->labels[i];
    return PGFLEET_OK;
}

static const char *col(PGresult *res, int row, int c)
{
    return c < PQnfields(res) && !PQgetisnull(res, row, c) ? PQgetvalue(res, row, c) : NULL;
}

static int from_query(Discover *d, PGconn *conn, PgfleetAddTarget add, void *ctx, char *err,
                      size_t err_size)
{
    PGresult *res = PQexecParams(conn, d->query, 0, NULL, NULL, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(err, err_size, "query: %s", PQresultErrorMessage(res));
        PQclear(res);
        return PGFLEET_ERROR;
    }
    if (PQnfields(res) < 2) {
        snprintf(err, err_size,
                 "query: it returns %d column(s); expected name, dsn[, labels[, "
                 "schema[, table[, tenant_schema]]]]",
                 PQnfields(res));
        PQclear(res);
        return PGFLEET_ERROR;
    }
    int rc = PGFLEET_OK;
    for (int i = 0; i < PQntuples(res) && rc == PGFLEET_OK; i++) {
        PgfleetKV *labels;
        size_t n_labels;
        cJSON *doc;
        rc = row_labels(d, col(res, i, 2), &labels, &n_labels, &doc, err, err_size);
        if (rc == PGFLEET_OK) {
            PgfleetTarget t = {.name = col(res, i, 0),
                               .dsn = col(res, i, 1),
                               .labels = labels,
                               .n_labels = n_labels,
                               .schema = col(res, i, 3),
                               .table = col(res, i, 4),
                               .tenant_schema = col(res, i, 5)};
            rc = add(ctx, &t, err, err_size);
        }
        free(labels);
        cJSON_Delete(doc);
    }
    PQclear(res);
    return rc;
}

static int discover_run(void *state, PgfleetAddTarget add, void *ctx, char *err, size_t err_size)
{
    Discover *d = state;
    PGconn *conn = PQconnectdb(d->dsn);
    if (PQstatus(conn) != CONNECTION_OK) {
        const char *msg = PQerrorMessage(conn);
        size_t len = strlen(msg);
        while (len && msg[len - 1] == '\n')
            len--;
        snprintf(err, err_size, "cannot connect to its dsn: %.*s", (int)len, msg);
        PQfinish(conn);
        return PGFLEET_ERROR;
    }
    int rc = d->query            ? from_query(d, conn, add, ctx, err, err_size)
             : d->schema_pattern ? from_schemas(d, conn, add, ctx, err, err_size)
                                 : from_databases(d, conn, add, ctx, err, err_size);
    PQfinish(conn);
    /* Messages from libpq end with a newline. */
    size_t len = strlen(err);
    while (len && err[len - 1] == '\n')
        err[--len] = '\0';
    return rc;
}

PGFLEET_PLUGIN_EXPORT const PgfleetPlugin pgfleet_plugin = {
    .abi_version = PGFLEET_PLUGIN_ABI_VERSION,
    .name = "discover-pg",
    .init = discover_init,
    .fini = discover_fini,
    .discover = discover_run,
};
