/*
 * src/codebase/: reading Drizzle folders (journal and v1 layouts), the UTF-8 decoding and hash
 * drizzle-orm uses, statement splitting and the v1 folder order. Expected values that depend
 * on drizzle or Node were computed with the real thing (noted at each table).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "codebase/codebase.h"
#include "codebase/internal.h"
#include "core/mem.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DATA PF_TEST_DATA "/codebase/"
#define MARKER "--> statement-breakpoint"

#define assert_contains(hay, needle)                                                               \
    do {                                                                                           \
        if (!strstr((hay), (needle)))                                                              \
            fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle));                           \
    } while (0)

/* ---- helpers ---------------------------------------------------------------------------- */

static size_t unhex(const char *hex, char *out)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned int v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (char)v;
    }
    return n;
}

static char *make_tmp(void)
{
    char tmpl[] = "/tmp/pgfleet-test-codebase-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return pf_strdup(d);
}

/* Write dir/rel (creating the folders on the way). */
static void put(const char *dir, const char *rel, const void *data, size_t len)
{
    char *path = pf_asprintf("%s/%s", dir, rel);
    for (char *p = path + strlen(dir) + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    free(path);
}

static void put_str(const char *dir, const char *rel, const char *text)
{
    put(dir, rel, text, strlen(text));
}

static void rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            char *sub = pf_asprintf("%s/%s", path, de->d_name);
            rm_rf(sub);
            free(sub);
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* cb_read that must fail: checks the code, that *out stays NULL, and the exact message. */
static void expect_error(const char *dir, PfErrCode code, const char *msg)
{
    Codebase *cb = (Codebase *)&cb; /* any non-NULL value: cb_read must reset it */
    PfErr err = {0};
    PfErrCode rc = cb_read(dir, &cb, &err);
    if (rc != code)
        fail_msg("cb_read(%s) returned %d, want %d with \"%s\"", dir, rc, code, msg);
    assert_null(cb);
    assert_int_equal(err.code, code);
    assert_string_equal(err.msg, msg);
}

static Codebase *expect_ok(const char *dir)
{
    Codebase *cb = NULL;
    PfErr err = {0};
    PfErrCode rc = cb_read(dir, &cb, &err);
    if (rc != PF_OK)
        fail_msg("cb_read(%s): %s", dir, err.msg);
    assert_non_null(cb);
    return cb;
}

static void expect_chunks(const CbMigration *m, size_t n, const char *const *want)
{
    assert_int_equal(m->n_chunks, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(m->chunks[i], want[i]);
}

/* ---- UTF-8 decoding and hashing ---------------------------------------------------------- */

/*
 * Computed by Node 20's Buffer.toString() (the WHATWG UTF-8 decoder):
 *   const b = Buffer.from(IN, 'hex'), s = b.toString();
 *   OUT  = Buffer.from(s).toString('hex');
 *   HASH = crypto.createHash('sha256').update(s).digest('hex');
 */
static const struct {
    const char *in, *out, *hash;
} utf8_vectors[] = {
    /* empty */
    {"", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    /* ASCII "select 1;" */
    {"73656c65637420313b", "73656c65637420313b",
     "354b7196c9ba5fb4b21cf615bb6ec4cd5c07503c34229feef033fc081a8c03f4"},
    /* 2-, 3- and 4-byte sequences: "héllo €😀" */
    {"68c3a96c6c6f20e282acf09f9880", "68c3a96c6c6f20e282acf09f9880",
     "5350f147c6ff4293fd01390ef97e6cdb1cf3ad691d5c47f77246262f59dd1003"},
    /* BOM kept */
    {"efbbbf73656c", "efbbbf73656c",
     "12bd2bafb11531fe22542f333cf7624581d1a3d51f8a446137f909817aae6938"},
    /* CRLF kept */
    {"610d0a620d0a", "610d0a620d0a",
     "58055bdcc73787eb88c78d36f0b4939e9c5dc1c3ad17e25cc85a6833cf1a0cab"},
    /* truncated 4-byte sequence mid-text: one U+FFFD, then 'A' decoded afresh */
    {"f09f984162", "efbfbd4162",
     "4cb165744a2133644c7579d66cbb7f836834452f874c284e7ee33eb9b74baf71"},
    /* overlong NUL C0 80: C0 never starts a sequence, 80 is stray: two */
    {"c080", "efbfbdefbfbd", "52793f8dc1d85e409f8c88be99d8b31d58f676246340150f406289e04a11151e"},
    /* overlong C1 BF: two */
    {"c1bf", "efbfbdefbfbd", "52793f8dc1d85e409f8c88be99d8b31d58f676246340150f406289e04a11151e"},
    /* surrogate ED A0 80: A0 is outside ED's 80..9F, so three */
    {"eda080", "efbfbdefbfbdefbfbd",
     "a73f4cb996ceb6ee097888d897ae1004c9b1faab6c97629214139b9639aaf1af"},
    /* surrogate ED BF BF: three */
    {"edbfbf", "efbfbdefbfbdefbfbd",
     "a73f4cb996ceb6ee097888d897ae1004c9b1faab6c97629214139b9639aaf1af"},
    /* overlong 3-byte E0 80 AF: three */
    {"e080af", "efbfbdefbfbdefbfbd",
     "a73f4cb996ceb6ee097888d897ae1004c9b1faab6c97629214139b9639aaf1af"},
    /* overlong 4-byte F0 8F 80 80: four */
    {"f08f8080", "efbfbdefbfbdefbfbdefbfbd",
     "c22917d19a6656769f72fb7090d6590cb857aa735ef9e646a4ef15d78e7d2317"},
    /* lone continuation byte: one */
    {"80", "efbfbd", "83d544ccc223c057d2bf80d3f2a32982c32c3c0db8e2674820da5064783fb097"},
    /* above U+10FFFF, F4 90 80 80: four */
    {"f4908080", "efbfbdefbfbdefbfbdefbfbd",
     "c22917d19a6656769f72fb7090d6590cb857aa735ef9e646a4ef15d78e7d2317"},
    /* U+10FFFF itself is valid */
    {"f48fbfbf", "f48fbfbf", "708b8add9f6b5b556a07b72973b10ff9a3ec30e002034ef24aa076fab4b40e50"},
    /* U+E000, just past the surrogates, is valid */
    {"eeb080", "eeb080", "223ab30d020a6c4e14482495f1cde1297444a92c62df034d1f942471ff5648d2"},
    /* truncated at end of file: one */
    {"41e282", "41efbfbd", "d6f2163ef6b7400f2e7c67c952d32ca8f3e96cad49340bc2236a09c533cfce28"},
    /* lone lead byte at end of file: one */
    {"df", "efbfbd", "83d544ccc223c057d2bf80d3f2a32982c32c3c0db8e2674820da5064783fb097"},
    /* F5 and FF never start a sequence: one each */
    {"f5ff", "efbfbdefbfbd", "52793f8dc1d85e409f8c88be99d8b31d58f676246340150f406289e04a11151e"},
    /* lead without its continuation: one, then 'A' */
    {"c241", "efbfbd41", "1b6d8a78363cf390895eba876b9fefb99d73506bb40fe31c4efeb2b58f7fe1fc"},
    /* old 5-byte form: five */
    {"f888808080", "efbfbdefbfbdefbfbdefbfbdefbfbd",
     "cf7f18b3357e0c3ce1b92f1d169ceb68364e747dc146576cb23d00a874a4638d"},
    /* valid € then two stray continuations: two */
    {"e282ac8080", "e282acefbfbdefbfbd",
     "bb392a516871f3e630ac86f8ece0bc9ae23dd483bc11fd47fe827d4b0d43661f"},
    /* invalid bytes between ASCII */
    {"78fe79ff", "78efbfbd79efbfbd",
     "59fdeb23852e7bf51aac417e12e4be4e3d3feaa89c362a01c90810808704c74b"},
    /* truncated 3-byte sequence followed by a valid one */
    {"e180e282ac", "efbfbde282ac",
     "4d844829af5a0da2a93be49c882a612ce2604a22b4819bee8c9d7e197fa6d671"},
};

static void test_utf8_vectors(void **state)
{
    for (size_t i = 0; i < sizeof utf8_vectors / sizeof utf8_vectors[0]; i++) {
        char in[64], want[64], hash[65];
        size_t in_len = unhex(utf8_vectors[i].in, in);
        size_t want_len = unhex(utf8_vectors[i].out, want);
        size_t out_len = 12345;
        char *out = cb_utf8_decode(in, in_len, &out_len);
        if (out_len != want_len || memcmp(out, want, want_len) != 0)
            fail_msg("decode %s: wrong bytes (want %s)", utf8_vectors[i].in, utf8_vectors[i].out);
        assert_int_equal(out[out_len], '\0');
        free(out);
        /* The function the reader runs: the same text, and the hash of it. */
        out_len = 12345;
        out = cb_drizzle_hash(in, in_len, &out_len, hash);
        if (out_len != want_len || memcmp(out, want, want_len) != 0)
            fail_msg("drizzle text %s: wrong bytes (want %s)", utf8_vectors[i].in,
                     utf8_vectors[i].out);
        free(out);
        assert_string_equal(hash, utf8_vectors[i].hash);
    }
}

static char *journal_dir(const char *journal);

/* Each vector as a migration file, read by cb_read: the ledger hash pgfleet writes is the
 * vector's. */
static void test_utf8_vectors_read(void **state)
{
    for (size_t i = 0; i < sizeof utf8_vectors / sizeof utf8_vectors[0]; i++) {
        char in[64], want[64];
        size_t in_len = unhex(utf8_vectors[i].in, in);
        size_t want_len = unhex(utf8_vectors[i].out, want);
        char *dir = journal_dir("{\"entries\": [{\"tag\": \"0000_v\", \"when\": 1}]}");
        put(dir, "0000_v.sql", in, in_len);
        Codebase *cb = expect_ok(dir);
        assert_int_equal(cb->n, 1);
        if (strcmp(cb->migrations[0].hash, utf8_vectors[i].hash) != 0)
            fail_msg("read %s: hash %s, want %s", utf8_vectors[i].in, cb->migrations[0].hash,
                     utf8_vectors[i].hash);
        assert_int_equal(cb->migrations[0].sql_len, want_len);
        assert_memory_equal(cb->migrations[0].sql, want, want_len);
        cb_free(cb);
        rm_rf(dir);
        free(dir);
    }
}

/* 8192 pseudo-random bytes (an LCG both sides can generate), whole bytes or bytes drawn from
 * the decoder's boundary values. Decoded length and hash computed by Node's Buffer.toString():
 *   s = (Math.imul(s, 1103515245) + 12345) >>> 0; byte = s >>> 24 (or alpha[(s >>> 24) % 16]) */
static void lcg_bytes(char *buf, size_t n, bool boundary)
{
    static const unsigned char alpha[16] = {0x61, 0x80, 0xBF, 0xC2, 0xDF, 0xE0, 0xED, 0xEF,
                                            0xF0, 0xF4, 0x9F, 0xA0, 0x90, 0x8F, 0xC0, 0xF5};
    uint32_t s = 12345;
    for (size_t i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        unsigned r = s >> 24;
        buf[i] = (char)(boundary ? alpha[r % 16] : r);
    }
}

static void test_utf8_pseudo_random(void **state)
{
    static const struct {
        bool boundary;
        size_t out_len;
        const char *hash;
    } cases[] = {
        {false, 14788, "cd0b9d85f0cdf14c08c736033d0352cd6fc4e91ebc9dabafb434f39638022311"},
        {true, 19743, "55862ac1a3c7a5049856a0c7f35519679980197b00d2bad470d06c13dac781ac"},
    };
    for (size_t i = 0; i < 2; i++) {
        char *buf = pf_malloc(8192);
        lcg_bytes(buf, 8192, cases[i].boundary);
        size_t out_len;
        char *out = cb_utf8_decode(buf, 8192, &out_len);
        assert_int_equal(out_len, cases[i].out_len);
        char hash[65];
        cb_sha256_hex(out, out_len, hash);
        assert_string_equal(hash, cases[i].hash);
        free(out);
        out = cb_drizzle_hash(buf, 8192, &out_len, hash);
        assert_int_equal(out_len, cases[i].out_len);
        assert_string_equal(hash, cases[i].hash);
        free(out);
        free(buf);
    }
}

/* Long valid runs around one invalid sequence (Node decodes long buffers on a faster path):
 * 1000 x 'a', F0 9F 98, 1000 x 'b'. Computed by Node's Buffer.toString(). */
static void test_utf8_long_runs(void **state)
{
    char buf[2003];
    memset(buf, 'a', 1000);
    memcpy(buf + 1000, "\xF0\x9F\x98", 3);
    memset(buf + 1003, 'b', 1000);
    size_t out_len;
    char *out = cb_utf8_decode(buf, sizeof buf, &out_len);
    assert_int_equal(out_len, 2003);
    assert_memory_equal(out + 1000, "\xEF\xBF\xBD", 3);
    free(out);
    char hash[65];
    free(cb_drizzle_hash(buf, sizeof buf, NULL, hash));
    assert_string_equal(hash, "a0144746d39b46b299aa0117f10681ae5e6b1aa840d408b91725fee22b8ef5ff");
}

static void test_utf8_null_out_len(void **state)
{
    char *out = cb_utf8_decode("\x80x", 2, NULL);
    assert_string_equal(out, "\xEF\xBF\xBDx");
    free(out);
}

static void test_sha256_hex(void **state)
{
    char hash[65];
    cb_sha256_hex("abc", 3, hash);
    assert_string_equal(hash, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    cb_sha256_hex("", 0, hash);
    assert_string_equal(hash, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* ---- splitting ------------------------------------------------------------------------- */

/* Expected chunks are what JavaScript's text.split("--> statement-breakpoint") returns. */
static void expect_split(const char *text, size_t len, size_t n, const char *const *want)
{
    char **chunks;
    size_t got;
    cb_split(text, len, &chunks, &got);
    assert_int_equal(got, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(chunks[i], want[i]);
        free(chunks[i]);
    }
    free(chunks);
}

#define SPLIT(text, ...)                                                                           \
    do {                                                                                           \
        static const char *const want_[] = {__VA_ARGS__};                                          \
        expect_split((text), strlen(text), sizeof want_ / sizeof want_[0], want_);                 \
    } while (0)

static void test_split(void **state)
{
    SPLIT("", "");
    SPLIT("SELECT 1;", "SELECT 1;");
    SPLIT("a;\n" MARKER "\nb;", "a;\n", "\nb;");
    SPLIT(MARKER, "", "");
    SPLIT("a;" MARKER, "a;", "");
    SPLIT(MARKER "a;", "", "a;");
    SPLIT("a;" MARKER MARKER "b;", "a;", "", "b;");
    SPLIT("  a; \n" MARKER "  \n\n b; ", "  a; \n", "  \n\n b; ");
    SPLIT("-" MARKER, "-", "");                                  /* "---> ..." */
    SPLIT("--> statement-breakpoin", "--> statement-breakpoin"); /* truncated marker */
    SPLIT("-->  statement-breakpoint", "-->  statement-breakpoint");
    SPLIT("--> Statement-Breakpoint", "--> Statement-Breakpoint"); /* case-sensitive */
    SPLIT("a\r\n" MARKER "\r\nb", "a\r\n", "\r\nb");

    /* Only len bytes count, not the NUL. */
    const char *want[] = {"ab"};
    expect_split("ab" MARKER, 2, 1, want);
}

/* ---- journal layout -------------------------------------------------------------------- */

/* Hashes, `when` and chunks as drizzle-orm 0.45.4's readMigrationFiles returns them for this
 * folder (run in tests/interop/node_modules). */
static void test_journal_ok(void **state)
{
    Codebase *cb = expect_ok(DATA "journal_ok");
    assert_int_equal(cb->layout, CB_LAYOUT_JOURNAL);
    assert_string_equal(cb->dir, DATA "journal_ok");
    assert_int_equal(cb->n, 3);

    /* List order, not idx order (idx 0, 2, 1). */
    const CbMigration *m = &cb->migrations[0];
    assert_string_equal(m->tag, "0000_init");
    assert_int_equal(m->when, 1700000000000);
    assert_string_equal(m->path, DATA "journal_ok/0000_init.sql");
    assert_string_equal(m->hash,
                        "1e74cbfc44854171daa1e0e48796493e6747ca1dabf54522d47d81433feba66d");
    static const char *const c0[] = {"CREATE TABLE \"a\" (\n\t\"id\" serial PRIMARY KEY NOT "
                                     "NULL\n);\n",
                                     "\nCREATE INDEX \"a_idx\" ON \"a\" (\"id\");"};
    expect_chunks(m, 2, c0);
    assert_int_equal(m->sql_len, strlen(m->sql));
    assert_string_equal(m->sql,
                        "CREATE TABLE \"a\" (\n\t\"id\" serial PRIMARY KEY NOT NULL\n);\n" MARKER
                        "\nCREATE INDEX \"a_idx\" ON \"a\" (\"id\");");

    m = &cb->migrations[1];
    assert_string_equal(m->tag, "0002_crlf_bom");
    assert_int_equal(m->when, 1700000100000);
    assert_string_equal(m->path, DATA "journal_ok/0002_crlf_bom.sql");
    assert_string_equal(m->hash,
                        "f19df5230b8ddb58cc1cad7fcca96b8b5070ecd3923974e8f9433ab039d23b41");
    static const char *const c1[] = {"\xEF\xBB\xBF"
                                     "CREATE TABLE b (id int);\r\n",
                                     ""};
    expect_chunks(m, 2, c1);

    m = &cb->migrations[2];
    assert_string_equal(m->tag, "0001_empty");
    assert_int_equal(m->when, 1700000200000);
    assert_string_equal(m->hash,
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(m->sql_len, 0);
    assert_string_equal(m->sql, "");
    static const char *const c2[] = {""};
    expect_chunks(m, 1, c2);

    assert_ptr_equal(cb_head(cb), &cb->migrations[2]);
    cb_free(cb);
}

static void test_journal_trailing_slash(void **state)
{
    Codebase *cb = expect_ok(DATA "journal_ok//");
    assert_string_equal(cb->dir, DATA "journal_ok");
    assert_string_equal(cb->migrations[0].path, DATA "journal_ok/0000_init.sql");
    cb_free(cb);
}

/* The problems cb_read refuses a journal for, in lint's words (docs/lint.md), each at its
 * line:column with lint's hint. */
#define RESTORE "restore meta/_journal.json as drizzle-kit generate wrote it"
#define NO_TAG                                                                                     \
    "has no \"tag\" string: drizzle-orm cannot tell which file it runs; hint: set \"tag\" to the " \
    "name of the migration's .sql file, without .sql"
#define BAD_WHEN                                                                                   \
    ": drizzle-orm cannot order it; hint: \"when\" is the generation time in milliseconds since "  \
    "the epoch, greater than the previous entry's"
#define MALFORMED                                                                                  \
    "malformed JSON: drizzle-orm cannot read the journal; hint: fix the JSON near this position"

static void test_journal_missing_file(void **state)
{
    expect_error(DATA "journal_missing_file", PF_ERR_INPUT,
                 DATA "journal_missing_file/meta/_journal.json:6:56: 0001_gone.sql not found: "
                      "drizzle-orm fails every run (\"No file ... found\"); hint: commit "
                      "0001_gone.sql, or remove its entry if the migration was abandoned before "
                      "it ran anywhere");
}

static void test_journal_bad_json(void **state)
{
    /* The missing comma after "when" on line 7: the error is where "tag" starts. */
    expect_error(DATA "journal_bad_json", PF_ERR_INPUT,
                 DATA "journal_bad_json/meta/_journal.json:8:7: " MALFORMED);
}

/* In lint's words (its duplicate-tag finding), at the later entry's tag. */
static void test_journal_dup_tag(void **state)
{
    expect_error(DATA "journal_dup_tag", PF_ERR_INPUT,
                 DATA "journal_dup_tag/meta/_journal.json:7:56: tag 0000_a "
                      "appears twice in the journal: drizzle-orm runs 0000_a.sql once per entry; "
                      "hint: remove the duplicate entry");
}

/* A `when` that goes back is read as drizzle-orm reads it: list order, one note per entry
 * concerned (real journals keep such entries for good). */
static void test_journal_when_not_increasing(void **state)
{
    Codebase *cb = expect_ok(DATA "journal_when_not_increasing");
    assert_int_equal(cb->n, 4);
    static const struct {
        const char *tag;
        int64_t when;
    } want[] = {{"0000_a", 1700000000000},
                {"0001_b", 1700000005000},
                {"0002_merged_late", 1690000000000},
                {"0003_c", 1700000009000}};
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(cb->migrations[i].tag, want[i].tag);
        assert_int_equal(cb->migrations[i].when, want[i].when);
    }
    assert_string_equal(cb_head(cb)->tag, "0003_c");
    assert_int_equal(cb->n_notes, 1);
    assert_string_equal(cb->notes[0].kind, "when_not_increasing");
    assert_string_equal(cb->notes[0].migration, "0002_merged_late");
    assert_string_equal(cb->notes[0].message,
                        "0002_merged_late (when 1690000000000) is listed after 0001_b (when "
                        "1700000005000): fresh databases get it in journal order, as drizzle-orm "
                        "does, but a database that already has a newer migration (such as "
                        "0001_b) never gets it from drizzle-orm, and is out_of_order for it; "
                        "hint: review it, then apply it there with --allow-out-of-order");
    cb_free(cb);
}

/* Every entry concerned gets its note, each against the greatest earlier `when`; an equal
 * `when` is not above it. */
static void test_journal_when_notes(void **state)
{
    static const struct {
        const char *journal, *notes; /* notes: "migration<high" per note */
    } cases[] = {
        {"{\"entries\": [{\"tag\": \"0000_a\", \"when\": 5}, {\"tag\": \"0001_b\", \"when\": 5}]}",
         "0001_b<0000_a "},
        {"{\"entries\": [{\"tag\": \"0000_a\", \"when\": 1}, {\"tag\": \"0001_b\", \"when\": 2}]}",
         ""},
        {"{\"entries\": [{\"tag\": \"0000_a\", \"when\": 9}, {\"tag\": \"0001_b\", \"when\": 2}, "
         "{\"tag\": \"0002_c\", \"when\": 3}, {\"tag\": \"0003_d\", \"when\": 10}, "
         "{\"tag\": \"0004_e\", \"when\": 4}]}",
         "0001_b<0000_a 0002_c<0000_a 0004_e<0003_d "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *dir = journal_dir(cases[i].journal);
        for (const char *t = "0002_c\0"
                             "0003_d\0"
                             "0004_e\0";
             *t; t += strlen(t) + 1) {
            char *name = pf_asprintf("%s.sql", t);
            put_str(dir, name, "SELECT 1;");
            free(name);
        }
        Codebase *cb = expect_ok(dir);
        char got[256] = "";
        for (size_t k = 0; k < cb->n_notes; k++) {
            const char *after = strstr(cb->notes[k].message, " is listed after ");
            assert_non_null(after);
            after += strlen(" is listed after ");
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s<%.*s ",
                     cb->notes[k].migration, (int)strcspn(after, " "), after);
        }
        assert_string_equal(got, cases[i].notes);
        cb_free(cb);
        rm_rf(dir);
        free(dir);
    }
}

/* A tmp folder with the given journal and files 0000_a.sql, 0001_b.sql. */
static char *journal_dir(const char *journal)
{
    char *dir = make_tmp();
    put_str(dir, "meta/_journal.json", journal);
    put_str(dir, "0000_a.sql", "SELECT 'a';");
    put_str(dir, "0001_b.sql", "SELECT 'b';");
    return dir;
}

static void test_journal_errors(void **state)
{
    static const struct {
        const char *journal, *msg; /* msg follows "<journal path>" */
    } cases[] = {
        {"[]", ":1:1: the journal is not a JSON object; hint: " RESTORE},
        {"{\"dialect\": \"postgresql\"}",
         ":1:1: \"entries\" is missing or not an array; hint: " RESTORE},
        {"{\"entries\": {}}", ":1:1: \"entries\" is missing or not an array; hint: " RESTORE},
        {"{\"entries\": null}", ":1:1: \"entries\" is missing or not an array; hint: " RESTORE},
        {"{\"entries\": [1]}",
         ":1:14: entry 0 is not an object; hint: each entry is {\"idx\", \"version\", \"when\", "
         "\"tag\", \"breakpoints\"}, as drizzle-kit generate writes it"},
        {"{\"entries\": [{\"when\": 1}]}", ":1:14: entry 0 " NO_TAG},
        {"{\"entries\": [{\"tag\": 7, \"when\": 1}]}", ":1:15: entry 0 " NO_TAG},
        {"{\"entries\": [{\"tag\": \"0000_a\"}]}",
         ":1:15: entry 0 (tag 0000_a) has no \"when\" number" BAD_WHEN},
        {"{\"entries\": [{\"tag\": \"0000_a\", \"when\": \"1700000000000\"}]}",
         ":1:32: entry 0 (tag 0000_a) has no \"when\" number" BAD_WHEN},
        {"{\"entries\": [{\"tag\": \"0000_a\", \"when\": 1.5}]}",
         ":1:32: entry 0 (tag 0000_a) has a \"when\" that is not a whole number" BAD_WHEN},
        {"{\"entries\": [{\"tag\": \"0000_a\", \"when\": -1e999}]}",
         ":1:32: entry 0 (tag 0000_a) has a \"when\" out of range" BAD_WHEN},
        {"{\"entries\": [{\"tag\": \"0000_a\", \"when\": 9007199254740993}]}",
         ":1:32: entry 0 (tag 0000_a) has a \"when\" out of range" BAD_WHEN},
        {"{\"entries\": [{\"tag\": \"0000_a\", \"when\": 1e300}]}",
         ":1:32: entry 0 (tag 0000_a) has a \"when\" out of range" BAD_WHEN},
        /* keys are case-sensitive, as in JavaScript */
        {"{\"Entries\": []}", ":1:1: \"entries\" is missing or not an array; hint: " RESTORE},
        {"{\"entries\": [{\"Tag\": \"0000_a\", \"when\": 1}]}", ":1:14: entry 0 " NO_TAG},
        {"{\"dialect\": \"mysql\", \"entries\": []}",
         ":1:2: dialect \"mysql\" is not postgresql: pgfleet applies PostgreSQL migrations only; "
         "hint: point pgfleet at the PostgreSQL migrations folder"},
        {"{\"dialect\": 1, \"entries\": []}",
         ":1:2: \"dialect\" is not a string; hint: point pgfleet at the PostgreSQL migrations "
         "folder"},
        {"{\"entries\": [{\"tag\": \"0000_a\", \"when\": 1}, {\"tag\": \"0002_c\", \"when\": 2}]}",
         ":1:45: 0002_c.sql not found: drizzle-orm fails every run (\"No file ... found\"); hint: "
         "commit 0002_c.sql, or remove its entry if the migration was abandoned before it ran "
         "anywhere"},
        /* positions: line:column, columns in characters */
        {"", ":1:1: " MALFORMED},
        {"{\"entries\": [", ":1:14: " MALFORMED},
        {"{\"entries\": []} x", ":1:17: " MALFORMED},
        {"{\n  \"entries\": [],\n}", ":3:1: " MALFORMED}, /* the byte JSON.parse rejects */
        /* what cJSON takes and JSON.parse does not */
        {"{\"entries\":\v[]}", ":1:12: " MALFORMED},
        {"{\"entries\": [], \"x\": 01}", ":1:23: " MALFORMED},
        {"{\"entries\": [], \"x\": 1.}", ":1:24: " MALFORMED},
        {"{\"entries\": [], \"x\": \"a\tb\"}", ":1:24: " MALFORMED},
        {"{\"entries\": [{\"tag\": \"0000_a\\u0000x\", \"when\": 1}]}", ":1:29: " MALFORMED},
        {"{\"é\": \"éé\" x}", ":1:12: " MALFORMED},
        /* cJSON would skip the BOM; JSON.parse does not */
        {"\xEF\xBB\xBF{\"entries\": []}",
         ":1:1: the journal starts with a byte order mark, which drizzle-orm's JSON.parse rejects; "
         "hint: save meta/_journal.json as UTF-8 without a BOM"},
        /* the last of duplicate keys wins, as in JSON.parse */
        {"{\"entries\": [], \"entries\": 5}",
         ":1:1: \"entries\" is missing or not an array; hint: " RESTORE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *dir = journal_dir(cases[i].journal);
        char *msg = pf_asprintf("%s/meta/_journal.json%s", dir, cases[i].msg);
        expect_error(dir, PF_ERR_INPUT, msg);
        free(msg);
        rm_rf(dir);
        free(dir);
    }
}

static void test_journal_accepted_variants(void **state)
{
    static const char *const journals[] = {
        "{\"version\": \"5\", \"dialect\": \"pg\", \"entries\": []}", /* drizzle-kit before 0.21 */
        "{\"entries\": []}",                                          /* no dialect */
        "{\"version\": \"7\", \"dialect\": \"postgresql\", \"entries\": []}\n\n",
        "{\"entries\": 5, \"entries\": []}",
    };
    for (size_t i = 0; i < sizeof journals / sizeof journals[0]; i++) {
        char *dir = journal_dir(journals[i]);
        Codebase *cb = expect_ok(dir);
        assert_int_equal(cb->layout, CB_LAYOUT_JOURNAL);
        assert_int_equal(cb->n, 0);
        assert_null(cb_head(cb));
        cb_free(cb);
        rm_rf(dir);
        free(dir);
    }
}

/* Invalid UTF-8 in a migration: sql, chunks and hash are Node's. Computed with
 * Buffer.toString() on the same bytes; the raw-byte sha256 (f5498292...) must NOT come out. */
static void test_journal_invalid_utf8(void **state)
{
    static const char bytes[] = "SELECT 1;\xF0\x9F\x98\n" MARKER "\n\xC0\x80SELECT 2;\xE2\x82";
    char *dir = journal_dir("{\"entries\": [{\"tag\": \"0000_a\", \"when\": 1700000000000}]}");
    put(dir, "0000_a.sql", bytes, sizeof bytes - 1);
    Codebase *cb = expect_ok(dir);
    assert_int_equal(cb->n, 1);
    const CbMigration *m = cb_head(cb);
    assert_string_equal(m->hash,
                        "d3471240db253fd9dde7e08a7dd39a77b941b9a130ed9eff8e446d99fd07bb75");
    char want[128];
    size_t want_len = unhex("53454c45435420313befbfbd0a2d2d3e2073746174656d656e742d627265616b706f"
                            "696e740aefbfbdefbfbd53454c45435420323befbfbd",
                            want);
    assert_int_equal(m->sql_len, want_len);
    assert_memory_equal(m->sql, want, want_len);
    static const char *const chunks[] = {"SELECT 1;\xEF\xBF\xBD\n",
                                         "\n\xEF\xBF\xBD\xEF\xBF\xBDSELECT 2;\xEF\xBF\xBD"};
    expect_chunks(m, 2, chunks);
    cb_free(cb);
    rm_rf(dir);
    free(dir);
}

/* A NUL byte cannot reach the server (a query string ends there): the folder is refused at
 * read time, naming file:line:column (columns in characters of the decoded text). */
static void test_journal_nul_byte(void **state)
{
    static const struct {
        const char *bytes;
        size_t len;
        const char *pos;
    } cases[] = {
#define BYTES(s) s, sizeof s - 1
        {BYTES("SELECT 1;\0SELECT 2;"), ":1:10"},
        {BYTES("\0"), ":1:1"},
        /* é counts one, the invalid FF one (its U+FFFD) */
        {BYTES("SELECT 1;\n" MARKER "\n'\xC3\xA9\xFF' \0"), ":3:6"},
        {BYTES("SELECT 1;\r\nSELECT 2;\0"), ":2:10"},
        /* UTF-16LE: the first NUL is the second byte */
        {BYTES("S\0E\0"), ":1:2"},
#undef BYTES
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *dir = journal_dir("{\"entries\": [{\"tag\": \"0000_a\", \"when\": 1}, "
                                "{\"tag\": \"0001_b\", \"when\": 2}]}");
        put(dir, "0001_b.sql", cases[i].bytes, cases[i].len);
        char *msg = pf_asprintf("%s/0001_b.sql%s: a NUL byte: PostgreSQL cannot receive it in a "
                                "query, and nothing after it would run; hint: delete it (a file "
                                "saved as UTF-16 is full of them: save it as UTF-8)",
                                dir, cases[i].pos);
        expect_error(dir, PF_ERR_INPUT, msg);
        free(msg);
        rm_rf(dir);
        free(dir);
    }
}

/* cb_read works out each migration's escape chunk once (m->escape), for the workers that
 * apply it; the note names the same chunk. */
static void test_escape_read_once(void **state)
{
    char *dir = journal_dir("{\"entries\": [{\"tag\": \"0000_a\", \"when\": 1}, "
                            "{\"tag\": \"0001_b\", \"when\": 2}]}");
    put_str(dir, "0000_a.sql", "CREATE TABLE a (id int);");
    put_str(dir, "0001_b.sql",
            "ALTER TABLE a ADD COLUMN b int;" MARKER "\nCOMMIT;" MARKER
            "\nCREATE INDEX CONCURRENTLY a_b ON a (b);");
    Codebase *cb = expect_ok(dir);
    assert_int_equal(cb->migrations[0].escape, 0);
    assert_int_equal(cb->migrations[1].escape, 2);
    assert_int_equal(cb->n_notes, 1);
    assert_string_equal(cb->notes[0].kind, "ends_transaction");
    assert_non_null(strstr(cb->notes[0].message, "at statement 2 of 3"));
    cb_free(cb);
    rm_rf(dir);
    free(dir);
}

static void test_v1_nul_byte(void **state)
{
    char *dir = make_tmp();
    put(dir, "20240101000000_x/migration.sql", "SELECT 1;\n\0", 11);
    char *msg = pf_asprintf("%s/20240101000000_x/migration.sql:2:1: a NUL byte: PostgreSQL cannot "
                            "receive it in a query, and nothing after it would run; hint: delete "
                            "it (a file saved as UTF-16 is full of them: save it as UTF-8)",
                            dir);
    expect_error(dir, PF_ERR_INPUT, msg);
    free(msg);
    rm_rf(dir);
    free(dir);
}

static void test_journal_sql_is_a_folder(void **state)
{
    char *dir = journal_dir("{\"entries\": [{\"tag\": \"0002_c\", \"when\": 1}]}");
    put_str(dir, "0002_c.sql/x", "");
    char *msg = pf_asprintf("%s/meta/_journal.json:1:15: 0002_c.sql is not a regular file: "
                            "drizzle-orm fails every run (\"No file ... found\"); hint: commit "
                            "0002_c.sql, or remove its entry if the migration was abandoned "
                            "before it ran anywhere",
                            dir);
    expect_error(dir, PF_ERR_INPUT, msg);
    free(msg);
    rm_rf(dir);
    free(dir);
}

/* ---- v1 folders layout ----------------------------------------------------------------- */

/* Order, `when`, hashes and chunks as drizzle-orm 1.0.0-rc.5's readMigrationFiles returns them
 * for this folder (run in tests/interop/v1/node_modules). A byte sort would give Z, a1, a_z. */
static void test_v1_ok(void **state)
{
    Codebase *cb = expect_ok(DATA "v1_ok");
    assert_int_equal(cb->layout, CB_LAYOUT_FOLDERS);
    assert_int_equal(cb->n, 5);
    static const struct {
        const char *tag;
        int64_t when;
        const char *hash;
    } want[] = {
        {"20240101000000_init", 1704067200000,
         "d46e43314dd39c6c64e341288e151f14291530f27c35f6500b1197971548c1c3"},
        {"20240315123045_a_z", 1710505845000,
         "60fb36a11ec9cd2a52af5142e21b9e18f6ed1c1a161746dc93d0f55f22a6d314"},
        {"20240315123045_a1", 1710505845000,
         "eb277e3c4435cbcc7ea2eac4c431fee8e68a22a48956002ad8185e819c1a6f19"},
        {"20240315123045_b_x", 1710505845000,
         "effc9e54a8ca413a18752b445aa4289a79d136324857a5d0ce91645e9fc54cfc"},
        {"20240315123045_Z", 1710505845000,
         "fa4bd08011b0fc384b765b3afdb7fa3e9299aa4630f81c3088d7aedb773a5be5"},
    };
    for (size_t i = 0; i < 5; i++) {
        const CbMigration *m = &cb->migrations[i];
        assert_string_equal(m->tag, want[i].tag);
        assert_int_equal(m->when, want[i].when);
        assert_string_equal(m->hash, want[i].hash);
        char *path = pf_asprintf("%s%s/migration.sql", DATA "v1_ok/", want[i].tag);
        assert_string_equal(m->path, path);
        free(path);
    }
    static const char *const c0[] = {"CREATE TABLE t (id int);\n", "\nALTER TABLE t ADD c int;"};
    expect_chunks(&cb->migrations[0], 2, c0);
    static const char *const c2[] = {"SELECT 'a1';"};
    expect_chunks(&cb->migrations[2], 1, c2);
    static const char *const c4[] = {"SELECT 'Z';\n", "\n"};
    expect_chunks(&cb->migrations[4], 2, c4);
    assert_string_equal(cb_head(cb)->tag, "20240315123045_Z");
    cb_free(cb);
}

static void test_v1_no_sql_folder(void **state)
{
    Codebase *cb = expect_ok(DATA "v1_no_sql_folder");
    assert_int_equal(cb->layout, CB_LAYOUT_FOLDERS);
    assert_int_equal(cb->n, 1);
    assert_string_equal(cb->migrations[0].tag, "20250601080910_only");
    assert_int_equal(cb->migrations[0].when, 1748765350000);
    assert_string_equal(cb->migrations[0].hash,
                        "17db4fd369edb9244b9f91d9aeed145c3d04ad8ba6e95d06247f07a63527d11a");
    cb_free(cb);
}

static void test_v1_bad_date(void **state)
{
    /* drizzle would silently read month 13 as January 2025 (1735689600000). */
    expect_error(DATA "v1_bad_date", PF_ERR_INPUT,
                 DATA "v1_bad_date/20241301000000_month13: invalid timestamp prefix "
                      "20241301000000 (month 13 out of range): drizzle-orm derives no valid "
                      "timestamp from it; hint: fix the 14-digit UTC timestamp at the start of "
                      "the name");
}

static void test_v1_bad_name(void **state)
{
    /* drizzle would run "seed" last with a NaN `when`. */
    expect_error(DATA "v1_bad_name", PF_ERR_INPUT,
                 DATA "v1_bad_name/seed: seed is not named <YYYYMMDDHHMMSS>_<name>: drizzle-orm "
                      "derives no timestamp from it; hint: name the folder as drizzle-kit "
                      "generate does, e.g. 20250101120000_add_users");
}

static void test_v1_invalid_utf8(void **state)
{
    static const char bytes[] = "SELECT 1;\xF0\x9F\x98\n" MARKER "\n\xC0\x80SELECT 2;\xE2\x82";
    char *dir = make_tmp();
    put(dir, "20240101000000_x/migration.sql", bytes, sizeof bytes - 1);
    Codebase *cb = expect_ok(dir);
    assert_int_equal(cb->layout, CB_LAYOUT_FOLDERS);
    assert_string_equal(cb->migrations[0].hash,
                        "d3471240db253fd9dde7e08a7dd39a77b941b9a130ed9eff8e446d99fd07bb75");
    cb_free(cb);
    rm_rf(dir);
    free(dir);
}

static void test_v1_sql_is_a_folder(void **state)
{
    char *dir = make_tmp();
    put_str(dir, "20240101000000_x/migration.sql/y", "");
    char *msg = pf_asprintf("%s/20240101000000_x/migration.sql: migration.sql is not a regular "
                            "file; hint: make migration.sql a file holding the migration",
                            dir);
    expect_error(dir, PF_ERR_INPUT, msg);
    free(msg);
    rm_rf(dir);
    free(dir);
}

/* Expected values from Node: Date.UTC(2024, 1, 29, 0, 0, 0) etc. */
static void test_folder_when(void **state)
{
    static const struct {
        const char *name;
        int64_t when;
    } ok[] = {
        {"20240229000000_leap", 1709164800000}, {"20240315123045_x", 1710505845000},
        {"20250601080910_x", 1748765350000},    {"19700101000000_x", 0},
        {"99991231235959_x", 253402300799000},  {"20000229000000_x", 951782400000},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t when = -1;
        PfErr err = {0};
        assert_int_equal(cb_folder_when("d", ok[i].name, &when, &err), PF_OK);
        assert_int_equal(when, ok[i].when);
    }
    static const struct {
        const char *name, *why;
    } bad[] = {
        {"20230229000000_x", "day 29"},    {"21000229000000_x", "day 29"},
        {"20240100000000_x", "day 0"},     {"20240132000000_x", "day 32"},
        {"20240431000000_x", "day 31"},    {"20240001000000_x", "month 0"},
        {"20240101240000_x", "hour 24"},   {"20240101006000_x", "minute 60"},
        {"20240101000060_x", "second 60"}, {"19691231235959_x", "year 1969"},
        {"00990101000000_x", "year 99"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t when;
        PfErr err = {0};
        assert_int_equal(cb_folder_when("d", bad[i].name, &when, &err), PF_ERR_INPUT);
        char *msg = pf_asprintf("d/%s: invalid timestamp prefix %.14s (%s out of range)",
                                bad[i].name, bad[i].name, bad[i].why);
        assert_string_equal(err.msg, msg);
        free(msg);
    }
}

static void test_folder_name_ok(void **state)
{
    assert_true(cb_folder_name_ok("20240101000000_init"));
    assert_true(cb_folder_name_ok("20240101000000_"));
    assert_false(cb_folder_name_ok("20240101000000"));
    assert_false(cb_folder_name_ok("2024010100000_init"));
    assert_false(cb_folder_name_ok("20240101000000-init"));
    assert_false(cb_folder_name_ok("2024o101000000_init"));
    assert_false(cb_folder_name_ok("meta"));
    assert_false(cb_folder_name_ok(""));
}

/*
 * The order Node 20 (ICU 78) gives with names.sort((x, y) => x.localeCompare(y)), printed by
 *   node -e 'console.log([...].sort((x,y)=>x.localeCompare(y)))'
 */
static const char *const node_order[] = {
    "20241231235959_zzz",         "20250101000000_",           "20250101000000__x",
    "20250101000000_-x",          "20250101000000_0000",       "20250101000000_9x",
    "20250101000000_a",           "20250101000000_A",          "20250101000000_a__b",
    "20250101000000_a_1",         "20250101000000_a_b",        "20250101000000_a-b",
    "20250101000000_a.b",         "20250101000000_a~b",        "20250101000000_a$b",
    "20250101000000_a1",          "20250101000000_ab",         "20250101000000_aB",
    "20250101000000_Ab",          "20250101000000_AB",         "20250101000000_add_user_s",
    "20250101000000_add_users",   "20250101000000_add_Users",  "20250101000000_ADD_users",
    "20250101000000_add_users_2", "20250101000000_add_users2", "20250101000000_alpha",
    "20250101000000_b",           "20250101000000_B",          "20250101000000_init",
    "20250101000000_Init",        "20250101000000_INIT",       "20250101000000_init b",
    "20250101000000_init_2",      "20250101000000_init-b",     "20250101000000_init.b",
    "20250101000000_init2",       "20250101000000_initb",      "20250101000000_x9",
    "20250101000000_zeta",        "20250101000000_Zeta",       "20250101000001_a",
    "20250101000001_A",
};

static int cmp_ptr(const void *a, const void *b)
{
    return cb_folder_cmp(*(const char *const *)a, *(const char *const *)b);
}

static void test_folder_cmp_matches_node(void **state)
{
    size_t n = sizeof node_order / sizeof node_order[0];
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(cb_folder_cmp(node_order[i], node_order[i]), 0);
        for (size_t j = i + 1; j < n; j++) {
            if (cb_folder_cmp(node_order[i], node_order[j]) >= 0 ||
                cb_folder_cmp(node_order[j], node_order[i]) <= 0)
                fail_msg("%s should sort before %s", node_order[i], node_order[j]);
        }
    }
    /* And a sort of the reversed list gives Node's order back. */
    const char **names = pf_malloc(n * sizeof *names);
    for (size_t i = 0; i < n; i++)
        names[i] = node_order[n - 1 - i];
    qsort(names, n, sizeof *names, cmp_ptr);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(names[i], node_order[i]);
    free(names);
}

static void test_folder_cmp_ties(void **state)
{
    /* ICU ignores control characters entirely, so localeCompare calls these equal and
     * drizzle keeps readdir's order; we fall back to byte order to stay deterministic. */
    static const char with_ctrl[] = "20250101000000_a\001b";
    assert_true(cb_folder_cmp(with_ctrl, "20250101000000_ab") < 0);
    assert_true(cb_folder_cmp("20250101000000_ab", with_ctrl) > 0);
}

/* ---- layout detection ------------------------------------------------------------------ */

static void test_both_layouts(void **state)
{
    expect_error(DATA "both_layouts", PF_ERR_INPUT,
                 DATA "both_layouts/meta/_journal.json: meta/_journal.json beside 1 v1 "
                      "migration folder: drizzle-orm's v1 migrator refuses the folder, and the "
                      "0.x one ignores the folders; hint: finish the move with drizzle-kit up, "
                      "then delete meta/ (the journal's migrations were read, not the "
                      "folders')");
}

static void test_not_drizzle(void **state)
{
    expect_error(DATA "not_drizzle", PF_ERR_INPUT,
                 DATA "not_drizzle: no meta/_journal.json, no <YYYYMMDDHHMMSS>_<name>/"
                      "migration.sql folders and no .sql files; is this a drizzle migrations "
                      "folder?");
}

static void test_missing_dir(void **state)
{
    expect_error(DATA "does_not_exist", PF_ERR_IO,
                 DATA "does_not_exist: migrations folder not found");
    expect_error(DATA "v1_ok/README.md/x", PF_ERR_IO,
                 DATA "v1_ok/README.md/x: migrations folder not found");
}

static void test_not_a_dir(void **state)
{
    expect_error(DATA "v1_ok/README.md", PF_ERR_INPUT, DATA "v1_ok/README.md: not a directory");
}

static void test_empty_dir(void **state)
{
    char *dir = make_tmp();
    char *msg = pf_asprintf("%s: no meta/_journal.json, no <YYYYMMDDHHMMSS>_<name>/"
                            "migration.sql folders and no .sql files; is this a drizzle "
                            "migrations folder?",
                            dir);
    expect_error(dir, PF_ERR_INPUT, msg);
    free(msg);
    rm_rf(dir);
    free(dir);
}

/* A journal next to a folder holding migration.sql under a name drizzle-kit v1 would never
 * write is still a journal codebase (drizzle-orm 0.x ignores the folder). */
static void test_journal_with_stray_folder(void **state)
{
    char *dir = journal_dir("{\"entries\": [{\"tag\": \"0000_a\", \"when\": 1}]}");
    put_str(dir, "seeds/migration.sql", "INSERT INTO t VALUES (1);");
    Codebase *cb = expect_ok(dir);
    assert_int_equal(cb->layout, CB_LAYOUT_JOURNAL);
    assert_int_equal(cb->n, 1);
    cb_free(cb);
    rm_rf(dir);
    free(dir);
}

static void test_free_and_head_null(void **state)
{
    cb_free(NULL);
    assert_null(cb_head(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_vectors),
        cmocka_unit_test(test_utf8_vectors_read),
        cmocka_unit_test(test_utf8_pseudo_random),
        cmocka_unit_test(test_utf8_long_runs),
        cmocka_unit_test(test_utf8_null_out_len),
        cmocka_unit_test(test_sha256_hex),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_journal_ok),
        cmocka_unit_test(test_journal_trailing_slash),
        cmocka_unit_test(test_journal_missing_file),
        cmocka_unit_test(test_journal_bad_json),
        cmocka_unit_test(test_journal_dup_tag),
        cmocka_unit_test(test_journal_when_not_increasing),
        cmocka_unit_test(test_journal_when_notes),
        cmocka_unit_test(test_journal_nul_byte),
        cmocka_unit_test(test_escape_read_once),
        cmocka_unit_test(test_v1_nul_byte),
        cmocka_unit_test(test_journal_errors),
        cmocka_unit_test(test_journal_accepted_variants),
        cmocka_unit_test(test_journal_invalid_utf8),
        cmocka_unit_test(test_journal_sql_is_a_folder),
        cmocka_unit_test(test_v1_ok),
        cmocka_unit_test(test_v1_no_sql_folder),
        cmocka_unit_test(test_v1_bad_date),
        cmocka_unit_test(test_v1_bad_name),
        cmocka_unit_test(test_v1_invalid_utf8),
        cmocka_unit_test(test_v1_sql_is_a_folder),
        cmocka_unit_test(test_folder_when),
        cmocka_unit_test(test_folder_name_ok),
        cmocka_unit_test(test_folder_cmp_matches_node),
        cmocka_unit_test(test_folder_cmp_ties),
        cmocka_unit_test(test_both_layouts),
        cmocka_unit_test(test_not_drizzle),
        cmocka_unit_test(test_missing_dir),
        cmocka_unit_test(test_not_a_dir),
        cmocka_unit_test(test_empty_dir),
        cmocka_unit_test(test_journal_with_stray_folder),
        cmocka_unit_test(test_free_and_head_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
