/*
 * What the harnesses share: a scratch directory per fuzzing process, and the migrations folder
 * that the codebase and lint harnesses build from one input.
 *
 * A folder input is one flags byte, then sections separated by the line "%%":
 *
 *   flags & FZ_NAMED    each migration section starts with its name line ("0001_users");
 *                       without it the names are made up (0000_m0, or 20250101000000_m0 in v1)
 *   flags & FZ_V1       migrations go to NAME/migration.sql (drizzle-kit v1) and not NAME.sql
 *   flags & FZ_JOURNAL  the first section is meta/_journal.json, verbatim; without it a journal
 *                       listing every migration in order is written (none in v1)
 *
 * A name that is empty, too long, "." or "..", or holds a '/' or NUL is replaced by a made-up
 * one, so that nothing is ever written outside the folder.
 */
#ifndef PF_FUZZ_COMMON_H
#define PF_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { FZ_NAMED = 1, FZ_V1 = 2, FZ_JOURNAL = 4 };

#define FZ_SEPARATOR "\n%%\n"
#define FZ_MAX_SECTIONS 24

/* The process's scratch directory, made on first use under $FUZZ_SCRATCH, else /dev/shm, else
 * $TMPDIR or /tmp; removed at a normal exit (scripts/fuzz.sh removes what a crash leaves). */
const char *fz_scratch(void);

/* Write len bytes to path, creating or truncating it; aborts on failure (the harness is
 * broken, not pgfleet). */
void fz_write(const char *path, const void *data, size_t len);

/* Remove path and everything below it (symbolic links are not followed). */
void fz_rmtree(const char *path);

/* Build a fresh migrations folder from a folder input (above) and return its path, inside
 * fz_scratch(); the caller frees it and removes the folder with fz_rmtree. */
char *fz_folder(const uint8_t *data, size_t size);

/* The journal text a folder input writes verbatim (FZ_JOURNAL), or false when it has none. */
bool fz_folder_journal(const uint8_t *data, size_t size, const uint8_t **text, size_t *len);

/* Split data at FZ_SEPARATOR into at most max pieces (the last keeps any further separators):
 * starts[i] and lens[i]. Returns the number of pieces (at least 1). */
size_t fz_sections(const uint8_t *data, size_t size, const uint8_t **starts, size_t *lens,
                   size_t max);

/* Whether text is JSON as drizzle-orm's JSON.parse(readFileSync(path).toString()) accepts it:
 * RFC 8259 exactly (whitespace is space, tab, CR, LF only; no leading zeros, '+', bare '.'; no
 * control characters in strings), bytes past 0x7F inside strings only. Nesting deeper than
 * FZ_JSON_DEPTH is not judged: true. */
#define FZ_JSON_DEPTH 512
bool fz_json_strict(const uint8_t *text, size_t len);

/* A NUL-terminated copy of data[0..len); caller frees. */
char *fz_strndup(const uint8_t *data, size_t len);

#endif
