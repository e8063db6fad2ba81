/*
 * The codebase's revision, for reports and history files: which image (which commit of the
 * application) a fleet was migrated from. `git describe --tags --always --dirty` of the
 * migrations folder when it is inside a git checkout; else a hash of the journal (the v1
 * layout, without a journal: of every migration's folder name and hash, in run order).
 */
#ifndef PF_CODEBASE_REVISION_H
#define PF_CODEBASE_REVISION_H

#include "codebase/codebase.h"
#include "core/proc.h"

typedef struct CbRevision {
    const char *source; /* "git", "journal" or "migrations" (static) */
    char *id;           /* git describe's answer ("v1.4.0-3-g1a2b3c4-dirty"), or "sha256:<hex>" */
} CbRevision;

/* Work out cb's revision in two steps, so that git (when there is one on PATH) runs as a child
 * process while the caller works: cb_revision_start starts it, cb_revision_finish (which must
 * follow every start, from the same thread or another) waits for it. Never fails: without git
 * the hash is the answer. cb must outlive the ask; free the revision with cb_revision_clear. */
typedef struct CbRevisionAsk {
    const Codebase *cb;
    PfProc git; /* pid 0: git did not start, or has been waited for */
} CbRevisionAsk;
void cb_revision_start(const Codebase *cb, CbRevisionAsk *ask);
void cb_revision_finish(CbRevisionAsk *ask, CbRevision *out);
void cb_revision_clear(CbRevision *r);

#endif
