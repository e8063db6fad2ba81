/*
 * Schema drift (docs/drift.md): a database's catalog as a list of normalised objects, and the
 * differences between two such lists, as lines a person reads at once. Pure logic, no I/O:
 * src/pg/catalog.c reads a snapshot in one query, src/fleet/drift.c builds the expected one.
 */
#ifndef PF_PLAN_DRIFT_H
#define PF_PLAN_DRIFT_H

#include <stdbool.h>
#include <stddef.h>

/* One object of a catalog. kind: "schema", "table", "view", "materialized view", "foreign
 * table", "column", "constraint", "index", "enum", "domain", "sequence", "function",
 * "procedure", "aggregate", "trigger", "policy", "grant", "extension". schema: where it is
 * ("" for an extension, the schema itself for a schema). name: within the schema ("" for a
 * schema; "table.column" for what belongs to a relation, whose name is then relation). def:
 * what it is, normalised (no OIDs, whitespace collapsed, names visible on the search_path
 * unqualified). All owned. */
typedef struct DriftObject {
    char *kind;
    char *schema;
    char *name;
    char *relation; /* the relation it belongs to (in schema; a serial its table), or NULL */
    char *def;
} DriftObject;

typedef struct DriftSnapshot {
    DriftObject *objs; /* sorted by (schema, kind, name) once drift_snapshot_sort ran */
    size_t n;
} DriftSnapshot;

/* Add one object (copies every string; relation may be NULL). */
void drift_snapshot_add(DriftSnapshot *s, const char *kind, const char *schema, const char *name,
                        const char *relation, const char *def);
void drift_snapshot_sort(DriftSnapshot *s);
void drift_snapshot_clear(DriftSnapshot *s);

/* A copy of in (sorted) with the schemas from[i] renamed to[i] (a tenant's schema_map). */
void drift_snapshot_map(const DriftSnapshot *in, const char *const *from, const char *const *to,
                        size_t n, DriftSnapshot *out);

/* Drop every object whose schema is not one of keep[0..n) (extensions, schema "", stay). */
void drift_snapshot_keep(DriftSnapshot *s, const char *const *keep, size_t n);

/* A copy of the objects of in (sorted) whose schema is one of schemas[0..n), and of those of
 * schema "" (extensions), sorted: one tenant's part of a catalog read for many. */
void drift_snapshot_slice(const DriftSnapshot *in, const char *const *schemas, size_t n,
                          DriftSnapshot *out);

/* The schemas s holds (its "schema" objects), in order; borrowed from s, array caller-freed. */
const char **drift_snapshot_schemas(const DriftSnapshot *s, size_t *n);

/* The differences from expected to actual, one line each, in (schema, kind, name) order:
 *   "+ index public.users_email2_idx"       in actual only
 *   "- column public.users.display_name"   in expected only
 *   "~ column public.users.role: DEF -> DEF"
 * What belongs to a relation or schema that is itself added or missing is not listed again.
 * Both snapshots must be sorted. Lines are owned by *lines (free with drift_lines_free). */
void drift_compare(const DriftSnapshot *expected, const DriftSnapshot *actual, char ***lines,
                   size_t *n);
void drift_lines_free(char **lines, size_t n);

#endif
