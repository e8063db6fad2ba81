/*
 * Shared by src/plan/preflight*.c only. What a migration's statements mean to preflight is
 * read once per run (preflight_prepare) into a list of steps, the same for every target; each
 * target then replays the steps of its pending migrations (preflight_analyze), with its own
 * schema names, and decides there which checks still apply.
 */
#ifndef PF_PLAN_PREFLIGHT_INTERNAL_H
#define PF_PLAN_PREFLIGHT_INTERNAL_H

#include "plan/preflight.h"

typedef enum {
    STEP_TOUCH,        /* the statement touches the table (locks it) */
    STEP_CHANGED,      /* ... creates, drops, renames, truncates or empties it */
    STEP_UPDATED,      /* ... writes or deletes some of its rows (a backfill) */
    STEP_COLUMN,       /* ... adds its column */
    STEP_ADD_NOT_NULL, /* ... adds a NOT NULL column without a default (a check) */
    STEP_SET_NOT_NULL, /* ... sets a column NOT NULL (a check) */
    STEP_EXTENSION,    /* ... creates an extension: name (a check, once per extension) */
    STEP_DONE,         /* the statement ends: what it did counts from the next one on */
    STEP_UNPARSED,     /* the chunk was read with token rules: name is why (parser's error) */
    STEP_ADD_VALUE,    /* ... adds enum value column (!) to type name, inside a transaction
                          block unless an earlier migration left drizzle's (a check of the
                          server's version) */
} StepKind;

typedef struct Step {
    StepKind kind;
    int statement; /* 1-based chunk of the migration */
    char *schema;  /* as written; NULL when unqualified */
    char *name;    /* the table or extension (the message for STEP_UNPARSED) */
    char *column;  /* column steps: the column */
} Step;

typedef struct StepList {
    Step *steps;
    size_t n, cap;
} StepList;

/* Append a step (the strings are copied). */
void preflight_step(StepList *l, StepKind kind, int statement, const char *schema, const char *name,
                    const char *column);

/* The fallback for a chunk PostgreSQL's parser refuses: its statements found with the lexer
 * (codebase/sqllex.h) and matched against the few shapes that matter, as steps of statement
 * number `statement`. */
void preflight_tokens(StepList *l, int statement, const char *text, size_t len);

#endif
