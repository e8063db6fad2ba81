/*
 * Errors as values. Every fallible function returns a PfErrCode and, on failure, fills a
 * caller-owned PfErr with a lowercase message that names the file or target concerned.
 */
#ifndef PF_CORE_ERR_H
#define PF_CORE_ERR_H

#include <stddef.h>

typedef enum {
    PF_OK = 0,
    PF_ERR_INPUT,       /* malformed inventory, journal, option: nothing was run */
    PF_ERR_IO,          /* a file could not be read or written */
    PF_ERR_PG,          /* the server refused or failed something */
    PF_ERR_UNREACHABLE, /* no connection could be made */
    PF_ERR_LOCKED,      /* another migrator holds the advisory lock */
    PF_ERR_INTERRUPTED, /* SIGINT/SIGTERM arrived */
    PF_ERR_INTERNAL,
} PfErrCode;

typedef struct PfErr {
    PfErrCode code;
    char msg[1024];
} PfErr;

/* Fill err (which may be NULL) and return code. */
PfErrCode pf_err_set(PfErr *err, PfErrCode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix an existing message: "<prefix>: <old message>". */
void pf_err_prefix(PfErr *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void pf_err_clear(PfErr *err);

#endif
