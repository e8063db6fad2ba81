/* Small helpers shared by every module: files, durations, time. */
#ifndef PF_CORE_UTIL_H
#define PF_CORE_UTIL_H

#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The largest file pf_read_file reads. */
#define PF_READ_FILE_MAX (16 << 20)

/* Read a whole file; *out is NUL-terminated (caller frees), *len excludes the NUL. Only a
 * regular file of at most PF_READ_FILE_MAX bytes is read: a directory, a named pipe (never
 * waited on), a device or a larger file is PF_ERR_INPUT "PATH: ..." naming what it is. */
PfErrCode pf_read_file(const char *path, char **out, size_t *len, PfErr *err);

/* The temporary file beside path that an atomic write of path goes through (caller frees). */
char *pf_tmp_beside(const char *path);

/* Write a file atomically (temp file + rename in the same directory). */
PfErrCode pf_write_file_atomic(const char *path, const char *data, size_t len, PfErr *err);

/* Where a document for path goes. A path that names something other than a regular file
 * (/dev/null, /dev/stdout, a FIFO, a process substitution's /dev/fd/N) is written to in place
 * (*direct true): a rename would replace the device or the pipe with a file. Otherwise the
 * regular file path names, through any symbolic links (which stay), is replaced atomically: the
 * path returned (caller frees); a link to a file that does not exist yet has that file created,
 * as the shell's > would. */
char *pf_out_place(const char *path, bool *direct);

/* Write a finished document to path (atomically, as above, or in place: pf_out_place) or,
 * when path is NULL, to stdout.
 * A path "+FILE" appends the document to FILE instead (created when missing; one write(2) with
 * O_APPEND, as $GITHUB_STEP_SUMMARY wants): -o +FILE. what names the document in the error
 * ("the report"). */
PfErrCode pf_write_output(const char *path, const char *doc, const char *what, PfErr *err);

/* A document written piece by piece (a report too large to hold whole): to path atomically, or
 * in place, as above, or to stdout when path is NULL. pf_out_open gives o->f to write to;
 * pf_out_close checks every write, and renames the file into place only when all went well
 * (what names the document in the error). */
typedef struct PfOut {
    FILE *f;
    char *tmp;   /* the temporary file; NULL for stdout or a place written in place */
    char *place; /* what is written (pf_out_place); NULL for stdout */
    const char *path;
} PfOut;
PfErrCode pf_out_open(PfOut *o, const char *path, PfErr *err);
PfErrCode pf_out_close(PfOut *o, const char *what, PfErr *err);

/* Parse "30s", "500ms", "2m", "1h", or a bare number of seconds, into milliseconds.
 * "0" means no limit. Returns false on malformed input. */
bool pf_parse_duration_ms(const char *s, int64_t *ms);

/* Monotonic milliseconds, and wall-clock ISO-8601 UTC ("2026-11-22T18:34:17Z"). */
int64_t pf_now_ms(void);
void pf_utc_iso8601(char out[32]);

/* fnmatch-style glob on names ('*', '?', '[...]'). */
bool pf_glob_match(const char *pattern, const char *name);

/* Directory part of path ("." when none); caller frees. */
char *pf_dirname(const char *path);
/* Join dir and rel unless rel is absolute; caller frees. */
char *pf_path_join(const char *dir, const char *rel);

/* The value of a hexadecimal digit (either case), or -1 when c is none. */
int pf_hex_digit(char c);

#endif
