/*
 * What query_to_xml(query, nulls, true, '') returns, taken apart: one <row> element per row of
 * the query, in the query's order, each column an element named after it (a NULL column has
 * none when nulls is false, and an empty <name xsi:nil="true"/> when it is true), the text
 * escaped as PostgreSQL escapes it (escape_xml: &, <, > and carriage return; any character
 * reference is read). The survey reads the ledger, which
 * may not exist, this way (src/pg/ledger.c): query_to_xml is the one way plain SQL reads a
 * table named at run time without failing when it is missing, and taking its text apart here
 * spares a new server session the functions that would do it there.
 */
#ifndef PF_PG_XMLFOREST_H
#define PF_PG_XMLFOREST_H

#include <stdbool.h>
#include <stddef.h>

typedef struct PgXmlRow {
    const char *start; /* the row's content, after its start tag */
    size_t len;        /* up to its end tag */
} PgXmlRow;

/* The next row of the forest at or after *at (which it moves past it); false when there is
 * none, or the text is cut short. */
bool pg_xml_next_row(const char **at, PgXmlRow *row);

/* The text of column name in row, unescaped (caller frees), or NULL when the row has no such
 * element (the column is NULL). */
char *pg_xml_column(const PgXmlRow *row, const char *name);

/* Whether row has an element for column name, its value NULL (xsi:nil, nulls true) or not. */
bool pg_xml_has_column(const PgXmlRow *row, const char *name);

#endif
