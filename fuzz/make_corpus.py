#!/usr/bin/env python3
"""Write the seed corpora of the fuzz harnesses (fuzz/corpus/<harness>/) from the repository's
own inputs: the inventories of the docs and the demo, the migrations folders of tests/fixtures and
tests/data, the dsns and drizzle configs the unit tests pin, and a few written here.

Run from anywhere: python3 fuzz/make_corpus.py. It replaces the corpora; commit the result. The
folder inputs follow fuzz/common.h (a flags byte, sections separated by "\\n%%\\n").
"""
import hashlib
import os
import re
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "corpus")
SEP = b"\n%%\n"
NAMED, V1, JOURNAL = 1, 2, 4
MAX_SEED = 16384  # the harnesses' -max_len for folders (scripts/fuzz.sh)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def put(harness, name, data):
    d = os.path.join(OUT, harness)
    os.makedirs(d, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")[:80] or "seed"
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def c_literals(src, call):
    """The string arguments of each call(...) in C source src: adjacent literals joined."""
    out = []
    lit = r'"((?:[^"\\\n]|\\.)*)"'
    for m in re.finditer(re.escape(call) + r"\(\s*((?:" + lit + r"\s*)+)", src):
        parts = re.findall(lit, m.group(1))
        text = "".join(parts)
        text = re.sub(r"\\(.)", lambda e: {"n": "\n", "t": "\t", "0": "\0"}.get(e.group(1),
                                                                              e.group(1)), text)
        out.append(text.encode())
    return out


def rel(path):
    return os.path.relpath(path, ROOT)


# ---- inventories ---------------------------------------------------------------------------

def inventories():
    put("inventory", "demo.yaml", read(os.path.join(ROOT, "inventory", "demo.yaml")))
    for doc in ["README.md"] + ["docs/" + f for f in sorted(os.listdir(os.path.join(ROOT, "docs")))
                                if f.endswith(".md")]:
        text = read(os.path.join(ROOT, doc)).decode()
        for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", text, re.S)):
            if "targets" in block or "waves" in block or "tunnels" in block:
                put("inventory", "%s-%d.yaml" % (os.path.basename(doc)[:-3], i), block.encode())
    data = os.path.join(ROOT, "tests", "data", "inventory")
    for f in sorted(os.listdir(data)):
        put("inventory", "data-" + f, read(os.path.join(data, f)))
    seen = set()
    for test in ("test_inventory.c", "test_waves.c", "test_expect.c", "test_plugin.c"):
        src = read(os.path.join(ROOT, "tests", "unit", test)).decode()
        for call in ("load_ok", "load_fails", "load", "assert_load_error"):
            for lit in c_literals(src, call):
                if lit not in seen and b"targets" in lit:
                    seen.add(lit)
                    put("inventory", test[:-2] + "-" + hashlib.sha1(lit).hexdigest()[:10], lit)
    put("inventory", "plugins-discover.yaml", b"""plugins:
  - path: ./plugins/inventory_file.so
    config: {tenant-a: "postgresql://app:pw-a@db/a", tenant-b: "host=db dbname=b password='x y'"}
targets:
  - name: staging
    dsn: postgresql://app@db/staging
""")
    put("inventory", "waves-limits.yaml", b"""max_targets: 50
defaults: {lock_wait: 2147483s, statement_timeout: 600h, via: null}
targets:
  - name: t-${each.n}
    for_each: [{n: 1, e: prod}, {n: 2, e: staging}]
    dsn: "host=db${each.n} password='${each.e}-pw' dbname=app"
    labels: {env: "${each.e}"}
waves:
  - {name: canary, targets: [t-1], max_failures: 0, pause: 5m}
  - {name: rest, select: all, parallel: 8, max_failures: 12.5%, check: "select true"}
""")
    put("inventory", "aliases.yaml", b"""defaults: &d {lock_wait: 1s}
targets:
  - &t {name: a, dsn: "postgres://u:p@h/db", labels: &l {env: x}}
  - {<<: *t, name: b}
  - {name: c, dsn: "host=h", labels: *l}
""")


# ---- dsns ----------------------------------------------------------------------------------

DSNS = [
    "postgresql://app:s3cr3t@db.example.com:5432/app",
    "postgres://app:s3cr3t@db/app?sslmode=require&application_name=x",
    "postgresql://u:SecAt?Pw_Q17@h/db",
    "postgresql://u:abc/def1234@h",
    "postgresql://u:p@ss@h/db",
    "postgresql://u:p%3Fw%2Fd%40x%25@h/db",
    "postgresql://u:pw@[::1]:5432,h2:5433/db?ssl=true",
    "postgresql://h/db?password=q&sslpassword=k&sslmode=require",
    "postgresql://h/db?dbname=host%3Dx%20password%3Dpw",
    "postgresql:///db?host=/var/run/postgresql&password=abc",
    "postgresql://%61pp:%70w%21@h/db",
    "POSTGRESQL://u:pw@h/db",
    "host=h port=5432 dbname=app user=app password=s3cr3t",
    "host=h password='a \\'b c' dbname=d",
    "host=h password=a\\ b\\'c dbname=db",
    "host=h password=se cret",
    "host=h password=x user=b stray",
    "dbname='postgresql://u:inner-pw@h/db' password=outer-pw",
    "dbname='host=x password=nested-pw' host=h",
    "service=prod sslpassword=keypass sslmode=verify-full",
    "requiressl=1 password=abc",
    "host = h  password =  'spaced pw'  ",
    "user@host:5432/db",
    "",
]


def dsns():
    for i, d in enumerate(DSNS):
        put("mask", "dsn-%02d" % i, d.encode())
    src = read(os.path.join(ROOT, "tests", "unit", "test_mask.c")).decode()
    seen = set(DSNS)
    for call in ("assert_masked", "secrets_have", "pg_dsn_options"):
        for lit in c_literals(src, call):
            if lit.decode() not in seen:
                seen.add(lit.decode())
                put("mask", "test_mask-" + hashlib.sha1(lit).hexdigest()[:10], lit)
    # a dsn and, after a NUL, a message to scrub with it
    put("mask", "scrub-message",
        b"postgresql://app:Deep-pw1@127.0.0.1:5432/db\0connection to server at \"127.0.0.1\", "
        b"port 5432 failed: FATAL:  password authentication failed for user \"app\" Deep-pw1")


# ---- migrations folders --------------------------------------------------------------------

def folder_input(path):
    """A folder of tests as a folder input, or None when it does not fit one."""
    journal = os.path.join(path, "meta", "_journal.json")
    entries = sorted(os.listdir(path))
    flags, sections = NAMED, []
    if os.path.isfile(journal):
        flags |= JOURNAL
        sections.append(read(journal))
    for e in entries:
        p = os.path.join(path, e)
        if e.endswith(".sql") and os.path.isfile(p):
            sections.append(e[:-4].encode() + b"\n" + read(p))
    v1 = [e for e in entries if os.path.isfile(os.path.join(path, e, "migration.sql"))]
    if v1:
        if len(sections) > (1 if flags & JOURNAL else 0):
            return None  # both .sql files and v1 folders: not one folder input
        flags |= V1
        for e in v1:
            sections.append(e.encode() + b"\n" + read(os.path.join(path, e, "migration.sql")))
    data = bytes([flags]) + SEP.join(sections)
    return data if len(data) <= MAX_SEED and len(sections) > 0 else None


def folders():
    roots = [os.path.join(ROOT, "tests", "fixtures", f, "drizzle")
             for f in ("app", "app-v1", "app-up")]
    for kind in ("codebase", "lint"):
        d = os.path.join(ROOT, "tests", "data", kind)
        roots += [os.path.join(d, f) for f in sorted(os.listdir(d))
                  if os.path.isdir(os.path.join(d, f))]
    sql_files = []
    for r in roots:
        data = folder_input(r)
        name = rel(r).replace("tests/", "").replace("/drizzle", "")
        if data:
            put("codebase", name, data)
            put("lint", name, data)
        for dirpath, _, files in os.walk(r):
            sql_files += [os.path.join(dirpath, f) for f in sorted(files) if f.endswith(".sql")]
    # SQL only, in a folder made to hold it (flags 0): each file alone, and each folder's files
    # in one run so that lint's checks across migrations see them together
    for f in sql_files:
        data = read(f)
        if len(data) < MAX_SEED:
            put("lint", "sql-" + rel(f).replace("tests/", ""), b"\0" + data)
            if "/fixtures/app/" in f:
                put("codebase", "sql-" + rel(f).replace("tests/", ""), b"\0" + data)
    put("codebase", "utf8-edges",
        b"\0select '\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80' -- \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 "
        b"\xe0\x80 \xff\n--> statement-breakpoint\ncommit;\n--> statement-breakpoint")
    put("lint", "enum-then-use",
        b"\0CREATE TYPE \"mood\" AS ENUM('a');" + SEP +
        b"ALTER TYPE \"mood\" ADD VALUE 'b';--> statement-breakpoint\n"
        b"UPDATE \"t\" SET \"m\" = 'b';" + SEP +
        b"CREATE INDEX CONCURRENTLY \"i\" ON \"t\" (\"m\");\nALTER TABLE \"t\" DROP COLUMN \"x\";")


# ---- drizzle configs -----------------------------------------------------------------------

def configs():
    for f in ("app", "app-v1"):
        put("drizzle_config", "fixture-" + f,
            read(os.path.join(ROOT, "tests", "fixtures", f, "drizzle.config.ts")))
    src = read(os.path.join(ROOT, "tests", "unit", "test_drizzle_config.c")).decode()
    for call in ("parse", "parse_fails"):
        for lit in c_literals(src, call):
            put("drizzle_config", "test-" + hashlib.sha1(lit).hexdigest()[:10], lit)
    put("drizzle_config", "json", b'{"dialect": "postgresql", "out": "./drizzle", '
        b'"dbCredentials": {"url": "postgresql://u:pw@h/db"}, '
        b'"migrations": {"table": "t", "schema": "s"}}')


def main():
    for h in ("inventory", "mask", "codebase", "lint", "drizzle_config"):
        shutil.rmtree(os.path.join(OUT, h), ignore_errors=True)
    inventories()
    dsns()
    folders()
    configs()
    for h in sorted(os.listdir(OUT)):
        files = os.listdir(os.path.join(OUT, h))
        size = sum(os.path.getsize(os.path.join(OUT, h, f)) for f in files)
        print("%-15s %4d seeds, %7d bytes" % (h, len(files), size))


main()
