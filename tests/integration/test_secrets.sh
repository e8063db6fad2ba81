# Output hygiene: a password given in a URL dsn, in a key=value dsn, in a URL query parameter
# and through ${VAR} expansion never appears in anything pgfleet prints or writes: inventory,
# plan, apply and audit, every report format, stdout, stderr, -o and --report-dir files, with
# -v and -vv, with a failing target and with a failing migration, nor in any plugin's event
# data. The cluster asks every role but postgres for its password (scram-sha-256), so a target
# said to log in with a password really does.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start

PW='S3cr3t-pw'
pg_psql postgres "set password_encryption = default; create role app login password '$PW'" >/dev/null
cat >"$PF_TMP/cluster/pgdata/pg_hba.conf" <<'HBA'
local all all trust
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
HBA
pg_psql postgres "select pg_reload_conf()" >/dev/null
for _ in $(seq 1 50); do
    PGPASSWORD=not-it psql -X -q -U app -d postgres -c 'select 1' >/dev/null 2>&1 || break
    sleep 0.1
done
assert_contains "$(PGPASSWORD=not-it psql -X -q -U app -d postgres -c 'select 1' 2>&1 || true)" \
    'password authentication failed for user "app"' "the cluster checks passwords"
for db in sec_url sec_kv sec_kvq sec_env sec_envkv sec_query; do
    psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "create database $db owner app" >/dev/null
done
CLOSED_PORT=$(pf_free_port)
export PGFLEET_TEST_PW=$PW

W=$PF_WHEN0
MIG=$PF_TMP/drizzle
mig_add "$MIG" 0000_init $((W + 1000)) 'CREATE TABLE "secrets_ok" ("id" integer);'
BROKEN=$PF_TMP/broken # for a failing migration
cp -r "$MIG" "$BROKEN"
mig_add "$BROKEN" 0001_fail $((W + 2000)) 'SELECT * FROM "no_such_table";'

INV=$PF_TMP/fleet.yaml
cat >"$INV" <<EOF
migrations: {dir: "$MIG"}
defaults: {connect_timeout: 5s}
targets:
  - name: sec-url
    dsn: "postgresql://app:$PW@127.0.0.1:$PGPORT/sec_url"
    labels: {kind: url}
  - name: sec-kv
    dsn: "host=127.0.0.1 port=$PGPORT user=app password=$PW dbname=sec_kv"
    labels: {kind: kv}
  - name: sec-kv-quoted
    dsn: "host=127.0.0.1 port=$PGPORT user=app password='$PW' dbname=sec_kvq"
    labels: {kind: kv}
  - name: sec-env
    dsn: "postgresql://app:\${PGFLEET_TEST_PW}@127.0.0.1:$PGPORT/sec_env"
    labels: {kind: env}
  - name: sec-env-kv
    dsn: "user=app password=\${PGFLEET_TEST_PW} host=127.0.0.1 port=$PGPORT dbname=sec_envkv"
    labels: {kind: env}
  - name: sec-query
    dsn: "postgresql://app@127.0.0.1:$PGPORT/sec_query?password=$PW&connect_timeout=5"
    labels: {kind: query}
  - name: sec-closed-port
    dsn: "postgresql://app:$PW@127.0.0.1:$CLOSED_PORT/sec_fail"
    labels: {kind: broken}
  - name: sec-closed-port-kv
    dsn: "host=127.0.0.1 port=$CLOSED_PORT user=app password=$PW dbname=sec_fail"
    labels: {kind: broken}
  - name: sec-no-db
    dsn: "postgresql://app:$PW@127.0.0.1:$PGPORT/sec_missing"
    labels: {kind: broken}
EOF

N=0
run() { # run ARGS...: one pgfleet run whose every output is checked later
    N=$((N + 1))
    pf "run$N" "$@"
    echo "$* -> exit $RC, $(wc -l <"$PF_TMP/run$N.out") stdout / $(wc -l <"$PF_TMP/run$N.err") stderr lines" >>"$PF_TMP/runs.log"
}

run inventory -i "$INV"
run inventory -i "$INV" -f json
run inventory -i "$INV" -s kind=env
for fmt in text json; do
    for cmd in plan audit; do
        run "$cmd" -i "$INV" -f "$fmt"
        run "$cmd" -i "$INV" -f "$fmt" -v
        run "$cmd" -i "$INV" -f "$fmt" -v -v -o "$PF_TMP/report-$cmd-$fmt.out"
    done
done
run apply -i "$INV" -s kind!=broken --dry-run -v
run apply -i "$INV" -f json -v -v -o "$PF_TMP/report-apply-json.out"
run apply -i "$INV" -v
run apply -i "$INV" -f json
run apply -i "$INV" -m "$BROKEN" -v -v -f json -o "$PF_TMP/report-apply-broken.out"
run apply -i "$INV" -m "$BROKEN" -v
# an invalid inventory whose error is about the line holding a password
sed 's/labels: {kind: query}/labels: {kind: query}\n    colour: red/' "$INV" >"$PF_TMP/invalid.yaml"
run plan -i "$PF_TMP/invalid.yaml"
cat >"$PF_TMP/invalid2.yaml" <<EOF
targets:
  - name: sec-bad
    dsn: ["host=127.0.0.1 user=app password=$PW dbname=sec_kv"
EOF
run plan -i "$PF_TMP/invalid2.yaml"

cat "$PF_TMP/runs.log"

# Sanity: the runs did what they should (so that the outputs are the interesting ones).
assert_eq 0 "$(grep -c . <<<"$(pf_err run1)" || true)" "inventory prints nothing on stderr"
assert_contains "$(pf_out run1)" "****" "inventory shows masked passwords"
assert_eq "sec-url sec-kv sec-kv-quoted sec-env sec-env-kv sec-query" \
    "$(jget "$PF_TMP/report-apply-json.out" '[t["name"] for t in d["targets"] if t["outcome"] == "applied"]')" \
    "apply migrated every reachable target (so the run went all the way)"
assert_eq "sec-closed-port sec-closed-port-kv sec-no-db" \
    "$(jget "$PF_TMP/report-apply-json.out" '[t["name"] for t in d["targets"] if t["status"] == "unreachable"]')" \
    "the broken targets are unreachable"
assert_contains "$(cat "$PF_TMP/report-apply-broken.out")" "no_such_table" "the failing migration failed"
assert_eq 2 "$(grep -c 'exit 3' "$PF_TMP/runs.log")" "the two invalid inventories (and only they) exit 3"

# The check itself: no output of any run contains the password.
leaks=""
for f in "$PF_TMP"/run*.out "$PF_TMP"/run*.err "$PF_TMP"/report-*.out; do
    if grep -qF -- "$PW" "$f"; then
        leaks+=" $(basename "$f"): $(grep -m 2 -F -- "$PW" "$f" | tr '\n' ' ')"
    fi
done
assert_eq "" "$leaks" "the password appears in no stdout, stderr or report file of $N runs"
assert_eq "$N" "$(ls "$PF_TMP"/run*.out | wc -l)" "every run's output was checked"

# Masking, as shown: every dsn is shown, with its password replaced.
assert_lines "sec-url postgresql://app:****@127.0.0.1:$PGPORT/sec_url
sec-kv host=127.0.0.1 port=$PGPORT user=app password=**** dbname=sec_kv
sec-kv-quoted host=127.0.0.1 port=$PGPORT user=app password=**** dbname=sec_kvq
sec-env postgresql://app:****@127.0.0.1:$PGPORT/sec_env
sec-env-kv user=app password=**** host=127.0.0.1 port=$PGPORT dbname=sec_envkv
sec-query postgresql://app@127.0.0.1:$PGPORT/sec_query?password=****&connect_timeout=5
sec-closed-port postgresql://app:****@127.0.0.1:$CLOSED_PORT/sec_fail
sec-closed-port-kv host=127.0.0.1 port=$CLOSED_PORT user=app password=**** dbname=sec_fail
sec-no-db postgresql://app:****@127.0.0.1:$PGPORT/sec_missing" \
    "$(jtargets "$PF_TMP/run2.out" 't["dsn"]')" "inventory --format json masks every password"

# --- dsns that libpq misreads or rejects ----------------------------------------------------------
# docs/inventory.md masks these forms too (an unencoded '@' in a URL password, an unquoted
# space in a key=value password, a dbname holding a connection string), and src/pg/pg.h
# promises that libpq's reason never carries the password. libpq's error messages quote parts
# of such dsns, so each password below is made of two distinctive halves; neither may appear.
PW_AT_L='Lft-Xq9k'; PW_AT_R='Rgt-Zk7w'
PW_SP_L='Lft-Wm4p'; PW_SP_R='Rgt-Vb8n'
PW_NEST='Nst-Qj5-S3cr3t'
cat >"$PF_TMP/odd.yaml" <<EOF
migrations: {dir: "$MIG"}
defaults: {connect_timeout: 5s}
targets:
  - name: odd-at
    dsn: "postgresql://app:$PW_AT_L@$PW_AT_R@127.0.0.1:$PGPORT/sec_url"
  - name: odd-space
    dsn: "host=127.0.0.1 port=$PGPORT user=app password=$PW_SP_L $PW_SP_R dbname=sec_url"
  - name: odd-nested
    dsn: "host=127.0.0.1 port=$PGPORT dbname='postgresql://app:$PW_NEST@127.0.0.1:$PGPORT/sec_url'"
EOF
M=0
for args in "inventory" "inventory -f json" "plan" "plan -f json" "audit -v" "apply -v -f json" "apply"; do
    M=$((M + 1))
    pf "odd$M" $args -i "$PF_TMP/odd.yaml"
    echo "odd: $args -> exit $RC" >>"$PF_TMP/odd.log"
done
cat "$PF_TMP/odd.log"
for piece in "$PW_AT_L" "$PW_AT_R" "$PW_SP_L" "$PW_SP_R" "$PW_NEST"; do
    leaks="" example=""
    for f in "$PF_TMP"/odd[0-9]*.out "$PF_TMP"/odd[0-9]*.err; do
        if grep -qF -- "$piece" "$f"; then
            leaks+=" $(basename "$f")"
            [ -n "$example" ] || example=$(grep -m 1 -F -- "$piece" "$f" | sed 's/^[[:space:]]*//')
        fi
    done
    assert_eq "" "$leaks${example:+; e.g. $example}" "misread dsns: [$piece] appears in no output"
done

# --- passwords with characters that matter to libpq's parsers --------------------------------------
# Each role below logs in with its password through pgfleet (outcome applied, server user the
# role), and no password, nor a piece of one that libpq splits off a mistyped dsn, appears in any
# report format, -o or --report-dir file, -vv log, or plugin's event data: the record test
# plugin, exec's PGFLEET_* environment, history-pg's table.
PW_Q='SecAt?Pw_Q17'     # '?' in a URL userinfo: libpq takes it all as the password
PW_WRONG='Wrong?Pw_Q17'
PW_S='Kwz/Slash9876'    # '/': must be %2F; unencoded, libpq reads "Kwz" as the port
PW_AT='Kq7@Vx2m'        # '@': must be %40; unencoded, libpq reads "Vx2m@127.0.0.1" as the host
PW_PCT='P%c7 #&=?/@:x9' # percent-encoded in the URL, userinfo and query alike
PW_KV="Kv9'Q \\ z=Tq#"  # key=value, quoted (the quote and the backslash escaped)
PW_1='e'                # one character
role_db() { # ROLE PASSWORD DB...
    local role=$1 pw=$2 db
    shift 2
    psql -X -q -v ON_ERROR_STOP=1 -d postgres -v role="$role" -v pw="$pw" >/dev/null <<'SQL'
create role :"role" login password :'pw';
SQL
    for db in "$@"; do
        psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "create database $db owner $role" >/dev/null
    done
}
role_db app_q "$PW_Q" sec_q sec_q2
role_db app_s "$PW_S" sec_s
role_db app_at "$PW_AT" sec_at
role_db app_p "$PW_PCT" sec_p sec_p2
role_db app_k "$PW_KV" sec_k
role_db app_1 "$PW_1" sec_1

EXEC_OUT=$PF_TMP/exec-events.txt REC_OUT=$PF_TMP/record-events.txt
INV2=$PF_TMP/special.yaml
"$PF_PY" - "$INV2" "$MIG" "$PGPORT" "$CLOSED_PORT" "$PF_PLUGINS_DIR" "$PF_TEST_PLUGINS_DIR" \
    "$REC_OUT" "$EXEC_OUT" "$PW_Q" "$PW_WRONG" "$PW_S" "$PW_AT" "$PW_PCT" "$PW_KV" "$PW_1" <<'PY'
import json, sys
from urllib.parse import quote
(path, mig, port, closed, plugins, test_plugins, rec, exec_out,
 pw_q, pw_wrong, pw_s, pw_at, pw_pct, pw_kv, pw_1) = sys.argv[1:]
enc = lambda s: quote(s, safe="")
kv = lambda s: "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"
url = lambda user, pw, db, p=port: f"postgresql://{user}:{pw}@127.0.0.1:{p}/{db}"
targets = [
    ("q-url", url("app_q", pw_q, "sec_q")),
    ("q-kv", f"host=127.0.0.1 port={port} user=app_q password={pw_q} dbname=sec_q2"),
    ("slash-enc", url("app_s", enc(pw_s), "sec_s")),
    ("at-enc", url("app_at", enc(pw_at), "sec_at")),
    ("pct-url", url("app_p", enc(pw_pct), "sec_p")),
    ("pct-query", f"postgresql://app_p@127.0.0.1:{port}/sec_p2?password={enc(pw_pct)}&sslmode=disable"),
    ("kv-quoted", f"host=127.0.0.1 port={port} user=app_k password={kv(pw_kv)} dbname=sec_k"),
    ("one-char", url("app_1", pw_1, "sec_1")),
    # these cannot log in
    ("slash-raw", url("app_s", pw_s, "sec_s")),
    ("at-raw", url("app_at", pw_at, "sec_at")),
    ("one-char-closed", url("app_1", pw_1, "sec_1", closed)),
    ("q-wrong", url("app_q", pw_wrong, "sec_q")),
    ("q-no-db", url("app_q", pw_q, "sec_missing")),
]
exec_cmd = ("env | grep '^PGFLEET_' | grep -v '^PGFLEET_TEST_PW=' >>" + exec_out
            + "; echo -- >>" + exec_out)
doc = {
    "migrations": {"dir": mig},
    "defaults": {"connect_timeout": "5s"},
    "plugins": [
        {"path": f"{test_plugins}/record.so", "config": {"file": rec}},
        {"path": f"{plugins}/exec.so", "config": {"command": exec_cmd}},
        {"path": f"{plugins}/history-pg.so",
         "config": {"dsn": f"postgresql://postgres@127.0.0.1:{port}/postgres",
                    "table": "pf_history"}},
    ],
    "targets": [{"name": n, "dsn": d} for n, d in targets],
}
with open(path, "w") as f:
    json.dump(doc, f, indent=1)  # JSON is YAML
PY
pct() { "$PF_PY" -c 'import sys; from urllib.parse import quote; print(quote(sys.argv[1], safe=""))' "$1"; }
ENC_S=$(pct "$PW_S") ENC_AT=$(pct "$PW_AT") ENC_PCT=$(pct "$PW_PCT")
KV_ESC="Kv9\\'Q \\\\ z=Tq#"

S=0
srun() { # WANT_EXIT ARGS...: one pgfleet run, its exit code asserted, its outputs checked below
    local want=$1
    shift
    S=$((S + 1))
    pf "special$S" "$@"
    assert_eq "$want" "$RC" "pgfleet $* exits $want$([ "$RC" = "$want" ] || echo ": $(head -c 600 "$PF_TMP/special$S.err")")"
}
RD=$PF_TMP/special-history
srun 0 inventory -i "$INV2"
srun 0 inventory -i "$INV2" -f json
INV_JSON=$PF_TMP/special$S.out
srun 2 apply -i "$INV2" -f json -o "$PF_TMP/special-first.json"
for fmt in text json junit prometheus markdown html; do
    srun 2 plan -i "$INV2" -f "$fmt" -v -v --report-dir "$RD"
    srun 2 apply -i "$INV2" -f "$fmt" -v -v -o "$PF_TMP/special-apply.$fmt" --report-dir "$RD"
    srun 2 audit -i "$INV2" -f "$fmt" -v -v -o "$PF_TMP/special-audit.$fmt" --report-dir "$RD"
done
pg_psql postgres "select * from pf_history order by target, run_id" >"$PF_TMP/special-history.txt"

# The runs did what they should, so that the outputs are the interesting ones.
assert_lines "q-url postgresql://app_q:****@127.0.0.1:$PGPORT/sec_q
q-kv host=127.0.0.1 port=$PGPORT user=app_q password=**** dbname=sec_q2
slash-enc postgresql://app_s:****@127.0.0.1:$PGPORT/sec_s
at-enc postgresql://app_at:****@127.0.0.1:$PGPORT/sec_at
pct-url postgresql://app_p:****@127.0.0.1:$PGPORT/sec_p
pct-query postgresql://app_p@127.0.0.1:$PGPORT/sec_p2?password=****&sslmode=disable
kv-quoted host=127.0.0.1 port=$PGPORT user=app_k password=**** dbname=sec_k
one-char postgresql://app_1:****@127.0.0.1:$PGPORT/sec_1
slash-raw postgresql://app_s:****@127.0.0.1:$PGPORT/sec_s
at-raw postgresql://app_at:****@127.0.0.1:$PGPORT/sec_at
one-char-closed postgresql://app_1:****@127.0.0.1:$CLOSED_PORT/sec_1
q-wrong postgresql://app_q:****@127.0.0.1:$PGPORT/sec_q
q-no-db postgresql://app_q:****@127.0.0.1:$PGPORT/sec_missing" \
    "$(jtargets "$INV_JSON" 't["dsn"]')" "special passwords: inventory masks each, the rest as written"
assert_lines "q-url applied app_q
q-kv applied app_q
slash-enc applied app_s
at-enc applied app_at
pct-url applied app_p
pct-query applied app_p
kv-quoted applied app_k
one-char applied app_1
slash-raw failed null
at-raw failed null
one-char-closed failed null
q-wrong failed null
q-no-db failed null" \
    "$(jtargets "$PF_TMP/special-first.json" 't["outcome"] + " " + show(t["server"] and t["server"]["user"])')" \
    "each role logs in with its password through pgfleet; the mistyped and wrong ones do not"
for db in sec_q sec_q2 sec_s sec_at sec_p sec_p2 sec_k sec_1; do
    assert_eq t "$(has_table "$db" secrets_ok)" "$db was migrated by its own role"
done
errors=$(jtargets "$PF_TMP/special-first.json" 't["error"] and t["error"]["message"]')
# libpq's messages about a misread dsn quote pieces of the password: those are hidden, not more
assert_contains "$errors" "slash-raw invalid integer value \"****\" for connection option \"port\"" \
    "the piece of a '/' password that libpq reads as the port is hidden"
assert_contains "$errors" "at-raw could not translate host name \"****@127.0.0.1\" to address" \
    "the piece of an '@' password that libpq reads as the host is hidden"
# a one-character password garbles no message (not "conn****ction to s****rv****r")
assert_contains "$errors" "one-char-closed connection to server at \"127.0.0.1\", port $CLOSED_PORT failed: Connection refused" \
    "a one-character password leaves libpq's message as it is"
assert_contains "$errors" "q-wrong connection to server at \"127.0.0.1\", port $PGPORT failed: FATAL:  password authentication failed for user \"app_q\"" \
    "a wrong password is refused (the password is checked)"
assert_contains "$errors" "q-no-db connection to server at \"127.0.0.1\", port $PGPORT failed: FATAL:  database \"sec_missing\" does not exist" \
    "the missing database is named"
# what is checked below holds the masked dsns and the errors, so a leak would show there
assert_contains "$(cat "$PF_TMP/special-apply.junit")" "dsn: postgresql://app_s:****@127.0.0.1:$PGPORT/sec_s" \
    "JUnit shows the dsn of a failed target, masked"
assert_contains "$(cat "$PF_TMP/special-apply.html")" "title=\"postgresql://app_q:****@127.0.0.1:$PGPORT/sec_q\"" \
    "HTML shows each dsn, masked"
assert_contains "$(cat "$EXEC_OUT")" "PGFLEET_DSN=postgresql://app_q:****@127.0.0.1:$PGPORT/sec_q" \
    "exec gets the masked dsn"
assert_contains "$(cat "$EXEC_OUT")" "PGFLEET_ERROR=connection to server at \"127.0.0.1\", port $PGPORT failed: FATAL:  password authentication failed for user \"app_q\"" \
    "exec gets the errors"
assert_contains "$(cat "$REC_OUT")" "target_end target=slash-raw wave=- labels= status=unreachable" \
    "record gets every target's events"
assert_contains "$(cat "$PF_TMP/special-history.txt")" "|q-wrong|" "history-pg wrote the runs"
assert_eq 18 "$(ls "$RD" | wc -l)" "--report-dir kept one JSON report per plan, apply and audit run"
assert_contains "$(pf_err special5)" "plugin exec" "-vv logs"

# The check itself.
leaks=""
for f in "$PF_TMP"/special[0-9]*.out "$PF_TMP"/special[0-9]*.err "$PF_TMP"/special-first.json \
    "$PF_TMP"/special-apply.* "$PF_TMP"/special-audit.* "$RD"/* "$EXEC_OUT" "$REC_OUT" \
    "$PF_TMP/special-history.txt"; do
    for secret in "$PW_Q" "$PW_WRONG" "$PW_S" "$ENC_S" Kwz Slash9876 "$PW_AT" "$ENC_AT" Kq7 Vx2m \
        "$PW_PCT" "$ENC_PCT" "$PW_KV" "$KV_ESC"; do
        if grep -qF -- "$secret" "$f"; then
            leaks+=" [$secret] in ${f#"$PF_TMP"/}: $(grep -m 1 -F -- "$secret" "$f" | cut -c 1-200);"
        fi
    done
done
assert_eq "" "${leaks:0:2000}" \
    "special passwords: none appears in any output, report, log or plugin's data"
assert_eq 21 "$S" "every run's output was checked"

pf_done
