/*
 * Fuzzing the codebase reader: cb_read on a migrations folder built from the input (the folder
 * input of common.h: a journal and .sql files, or v1 folders), and the functions it is made
 * of, called directly on the input's bytes.
 *
 * Checked on every input, beyond the sanitizers:
 *  - cb_utf8_decode gives valid UTF-8 (no overlong form, surrogate or code point past
 *    U+10FFFF), keeps valid UTF-8 byte for byte, and decoding its output again changes nothing;
 *  - cb_drizzle_hash gives that same text and the sha256 of it;
 *  - the chunks of cb_split, joined with "--> statement-breakpoint", give the text back;
 *  - what cb_read returns holds together: text without NUL bytes whose hash is the one recorded,
 *    chunks as long as it, unique tags, notes that name a migration of the folder; a journal it
 *    accepts is JSON that drizzle-orm's JSON.parse accepts too (fz_json_strict); and a failure
 *    always says why.
 */
#include "common.h"

#include "codebase/codebase.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MARKER "--> statement-breakpoint"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "\n==== codebase: %s\n", what);
    abort();
}

/* Strict UTF-8 (RFC 3629): what the WHATWG decoder lets through. */
static bool valid_utf8(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char b = s[i];
        size_t need;
        unsigned char lo = 0x80, hi = 0xBF;
        if (b < 0x80) {
            i++;
            continue;
        } else if (b >= 0xC2 && b <= 0xDF) {
            need = 1;
        } else if (b >= 0xE0 && b <= 0xEF) {
            need = 2;
            lo = b == 0xE0 ? 0xA0 : 0x80;
            hi = b == 0xED ? 0x9F : 0xBF;
        } else if (b >= 0xF0 && b <= 0xF4) {
            need = 3;
            lo = b == 0xF0 ? 0x90 : 0x80;
            hi = b == 0xF4 ? 0x8F : 0xBF;
        } else {
            return false;
        }
        for (size_t k = 1; k <= need; k++) {
            if (i + k >= len)
                return false;
            unsigned char c = s[i + k];
            if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF))
                return false;
        }
        i += need + 1;
    }
    return true;
}

static void check_functions(const uint8_t *data, size_t size)
{
    size_t len;
    char *text = cb_utf8_decode((const char *)data, size, &len);
    if (text[len] != '\0' || !valid_utf8((const unsigned char *)text, len))
        fail("cb_utf8_decode gave invalid UTF-8");
    if (valid_utf8(data, size) && (len != size || memcmp(text, data, size) != 0))
        fail("cb_utf8_decode changed valid UTF-8");
    size_t again_len;
    char *again = cb_utf8_decode(text, len, &again_len);
    if (again_len != len || memcmp(again, text, len) != 0)
        fail("decoding cb_utf8_decode's output changed it");
    free(again);

    char hash[65], expect[65];
    size_t hashed_len;
    char *hashed = cb_drizzle_hash((const char *)data, size, &hashed_len, hash);
    cb_sha256_hex(text, len, expect);
    if (hashed_len != len || memcmp(hashed, text, len) != 0 || strcmp(hash, expect) != 0)
        fail("cb_drizzle_hash differs from cb_utf8_decode and cb_sha256_hex");
    free(hashed);

    char **chunks;
    size_t n;
    cb_split(text, len, &chunks, &n);
    if (n == 0)
        fail("cb_split gave no chunk");
    /* Chunks are C strings: a NUL in the text ends its chunk early, so only a text without
     * one is compared with its chunks. */
    bool compare = memchr(text, '\0', len) == NULL;
    size_t at = 0, marker = strlen(MARKER);
    for (size_t i = 0; i < n; i++) {
        size_t clen = strlen(chunks[i]);
        cb_chunk_escapes(chunks[i], clen);
        if (compare) {
            if (i > 0) {
                if (len - at < marker || memcmp(text + at, MARKER, marker) != 0)
                    fail("cb_split's chunks are not separated by the marker");
                at += marker;
            }
            if (len - at < clen || memcmp(text + at, chunks[i], clen) != 0 ||
                strstr(chunks[i], MARKER))
                fail("cb_split's chunks do not give the text back");
            at += clen;
        }
        free(chunks[i]);
    }
    if (compare && at != len)
        fail("cb_split's chunks do not cover the text");
    free(chunks);
    free(text);
}

static void check_codebase(const Codebase *cb)
{
    for (size_t i = 0; i < cb->n; i++) {
        const CbMigration *m = &cb->migrations[i];
        char hash[65];
        if (!m->tag || !m->path || !m->sql || strlen(m->sql) != m->sql_len)
            fail("a migration without tag, path, or with a NUL in its text");
        cb_sha256_hex(m->sql, m->sql_len, hash);
        if (strcmp(hash, m->hash) != 0)
            fail("a migration's hash is not the sha256 of its text");
        if (m->n_chunks == 0)
            fail("a migration without chunks");
        size_t total = 0;
        for (size_t c = 0; c < m->n_chunks; c++)
            total += strlen(m->chunks[c]) + (c ? strlen(MARKER) : 0);
        if (total != m->sql_len)
            fail("a migration's chunks do not give its text back");
        for (size_t k = 0; k < i; k++)
            if (strcmp(cb->migrations[k].tag, m->tag) == 0)
                fail("two migrations with one tag");
        if (m->escape != cb_escape_chunk(m))
            fail("a migration's escape is not cb_escape_chunk's");
    }
    for (size_t i = 0; i < cb->n_notes; i++) {
        bool named = false;
        for (size_t k = 0; k < cb->n && !named; k++)
            named = strcmp(cb->notes[i].migration, cb->migrations[k].tag) == 0;
        if (!named || !cb->notes[i].kind || !cb->notes[i].message)
            fail("a note that names no migration of the folder");
    }
    if (cb->n > 0 && cb_head(cb) != &cb->migrations[cb->n - 1])
        fail("cb_head is not the last migration");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_functions(data, size);

    char *dir = fz_folder(data, size);
    Codebase *cb = NULL;
    PfErr err = {0};
    if (cb_read(dir, &cb, &err) == PF_OK) {
        check_codebase(cb);
        const uint8_t *journal;
        size_t journal_len;
        if (cb->layout == CB_LAYOUT_JOURNAL &&
            fz_folder_journal(data, size, &journal, &journal_len) &&
            !fz_json_strict(journal, journal_len))
            fail(
                "cb_read accepted a journal that is not JSON: drizzle-orm's JSON.parse rejects it");
        cb_free(cb);
    } else if (cb || !err.msg[0]) {
        fail("cb_read failed without a message, or left a codebase");
    }
    fz_rmtree(dir);
    free(dir);
    return 0;
}
