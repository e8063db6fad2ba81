# SSH tunnel failures, each confined to the targets behind the tunnel while a direct target in
# the same run is applied: a key the server refuses (named by path, no key material printed), a
# missing key file, a bastion that is not listening, forwarding disabled on the server, a
# destination port closed as the bastion sees it, sshd killed in the middle of an apply (the
# transaction is rolled back, the report says the tunnel broke). And the other key types: rsa,
# ecdsa, and an ed25519 key protected by a passphrase read from passphrase_env (the passphrase
# never appears in any output).
source "$PF_TESTS_DIR/integration/lib.sh"
pg_start
source "$PF_TESTS_DIR/lib/sshd.sh"

MIG=$PF_TMP/drizzle
mig_add "$MIG" 0000_users $((PF_WHEN0 + 1000)) \
    'CREATE TABLE "users" ("id" serial PRIMARY KEY NOT NULL);'

KEY=$PF_TMP/id_ed25519
ssh_key ed25519 "$KEY"
WRONG=$PF_TMP/id_wrong
ssh_key ed25519 "$WRONG"
KH=$PF_TMP/known_hosts
: >"$KH"

sshd_start main
sshd_authorize main "$KEY.pub"
sshd_start nofwd "AllowTcpForwarding no"
sshd_authorize nofwd "$KEY.pub"
sshd_known_hosts_line main >>"$KH"
sshd_known_hosts_line nofwd >>"$KH"

# tunnel NAME PORT [EXTRA_YAML_LINES...]
tunnel() {
    local name=$1 port=$2 line
    shift 2
    echo "  $name:"
    echo "    host: 127.0.0.1"
    echo "    port: $port"
    echo "    user: $PF_SSH_USER"
    echo "    known_hosts: $KH"
    echo "    connect_timeout: 5s"
    for line in "$@"; do echo "    $line"; done
}
target() { # NAME DSN [VIA]
    echo "  - name: $1"
    echo "    dsn: \"$2\""
    [ -z "${3:-}" ] || echo "    via: $3"
}
# Everything pgfleet printed for run NAME (report, logs).
all_output() { cat "$PF_TMP/$1.out" "$PF_TMP/$1.err"; }

# --- failures, one per tunnel, beside a direct target -------------------------------------------
pg_createdb direct wrongkey nokey down nofwd closed
CLOSED_PORT=$(pf_free_port)
DOWN_PORT=$(pf_free_port)
INV=$PF_TMP/failures.yaml
{
    echo "migrations: {dir: \"$MIG\"}"
    echo "tunnels:"
    tunnel wrongkey "$(sshd_port main)" "identity: $WRONG"
    tunnel nokey "$(sshd_port main)" "identity: [$PF_TMP/id_missing, $WRONG]"
    tunnel down "$DOWN_PORT" "identity: $KEY"
    tunnel nofwd "$(sshd_port nofwd)" "identity: $KEY"
    tunnel main "$(sshd_port main)" "identity: $KEY"
    echo "targets:"
    target direct "$(pf_dsn direct)"
    target wrongkey "$(pf_dsn wrongkey)" wrongkey
    target nokey "$(pf_dsn nokey)" nokey
    target down "$(pf_dsn down)" down
    target nofwd "$(pf_dsn nofwd)" nofwd
    target closed "postgresql://postgres@127.0.0.1:$CLOSED_PORT/closed" main
} >"$INV"

pf fail1 apply -i "$INV" -j 3 -v -f json
R=$PF_TMP/fail1.out
assert_eq 2 "$RC" "a run with failing tunnels exits 2"
assert_lines "direct in_sync applied
wrongkey unreachable failed
nokey unreachable failed
down unreachable failed
nofwd unreachable failed
closed unreachable failed" \
    "$(jtargets "$R" 't["status"] if t["outcome"] != "applied" else "in_sync"' | paste -d' ' - <(jtargets "$R" 't["outcome"]' | cut -d' ' -f2))" \
    "each tunnel failure marks its own target unreachable; the direct target is applied"
assert_eq "t" "$(has_table direct users)" "the direct target was migrated"
msg() { jt "$R" "$1" 't["error"]["message"]'; }
assert_eq "wrongkey: authentication as $PF_SSH_USER refused; tried: $WRONG (refused by the server); hint: the public key must be in ~$PF_SSH_USER/.ssh/authorized_keys on 127.0.0.1" \
    "$(msg wrongkey)" "a refused key: the error names the key file and says the server refused it"
assert_eq "nokey: authentication as $PF_SSH_USER refused; tried: $PF_TMP/id_missing (not found), $WRONG (refused by the server); hint: the public key must be in ~$PF_SSH_USER/.ssh/authorized_keys on 127.0.0.1" \
    "$(msg nokey)" "a missing key file is named as not found, then the next key is tried"
assert_eq "down: cannot connect to 127.0.0.1 port $DOWN_PORT: connection refused" "$(msg down)" \
    "bastion not listening: cannot connect"
assert_eq "nofwd: the bastion refused to forward to 127.0.0.1:$PGPORT (channel open failure: administratively prohibited); hint: its sshd needs AllowTcpForwarding yes (or local) for user $PF_SSH_USER" \
    "$(msg nofwd)" "AllowTcpForwarding no: forwarding refused"
assert_eq "main: 127.0.0.1:$CLOSED_PORT is unreachable from the bastion (channel open failure: connect failed); hint: check the host and port as the bastion sees them" \
    "$(msg closed)" "destination port closed: unreachable from the bastion"
KEY_BODY=$(sed -n 2p "$WRONG")
assert_not_contains "$(all_output fail1)" "PRIVATE KEY" "no key material in the output"
assert_not_contains "$(all_output fail1)" "${KEY_BODY:10:40}" "no part of the private key in the output"

# --- other key types ----------------------------------------------------------------------------
RSA=$PF_TMP/id_rsa
ECDSA=$PF_TMP/id_ecdsa
ssh_key rsa "$RSA"
ssh_key ecdsa "$ECDSA"
PASSKEY=$PF_TMP/id_pass
PASSPHRASE="correct-horse-$RANDOM-battery"
ssh_key ed25519 "$PASSKEY" "$PASSPHRASE"
# libssh2 1.10 signs with ssh-rsa (SHA-1): OpenSSH 8.8+ accepts it only when told to.
sshd_start legacy "PubkeyAcceptedAlgorithms +ssh-rsa"
sshd_known_hosts_line legacy >>"$KH"
sshd_authorize legacy "$RSA.pub"
sshd_authorize main "$RSA.pub"
sshd_authorize main "$ECDSA.pub"
sshd_authorize main "$PASSKEY.pub"
pg_createdb k_rsa k_ecdsa k_pass
INV2=$PF_TMP/keys.yaml
{
    echo "migrations: {dir: \"$MIG\"}"
    echo "tunnels:"
    tunnel rsa "$(sshd_port legacy)" "identity: $RSA"
    tunnel rsa_default "$(sshd_port main)" "identity: $RSA"
    tunnel ecdsa "$(sshd_port main)" "identity: $ECDSA"
    tunnel pass "$(sshd_port main)" "identity: $PASSKEY" "passphrase_env: PF_TEST_KEY_PASS"
    echo "targets:"
    target k_rsa "$(pf_dsn k_rsa)" rsa
    target k_rsa_default "$(pf_dsn k_rsa)" rsa_default
    target k_ecdsa "$(pf_dsn k_ecdsa)" ecdsa
    target k_pass "$(pf_dsn k_pass)" pass
} >"$INV2"
pf nopass apply -i "$INV2" -t k_pass -v -f json
assert_eq 2 "$RC" "passphrase_env unset: the key cannot be used"
assert_contains "$(jt "$PF_TMP/nopass.out" k_pass 't["error"]["message"]')" \
    "tried: $PASSKEY (cannot be read: passphrase_env PF_TEST_KEY_PASS is not set)" \
    "the error says which variable is missing"
PF_TEST_KEY_PASS=wrong-passphrase pf badpass apply -i "$INV2" -t k_pass -v -f json
assert_contains "$(jt "$PF_TMP/badpass.out" k_pass 't["error"]["message"]')" \
    "tried: $PASSKEY (cannot be read: a wrong or missing passphrase, or not a private key)" \
    "a wrong passphrase: the key cannot be read"
assert_not_contains "$(all_output badpass)" "wrong-passphrase" "the wrong passphrase is not printed"

pf rsadefault plan -i "$INV2" -t k_rsa_default -f json
assert_contains "$(jt "$PF_TMP/rsadefault.out" k_rsa_default 't["error"]["message"]')" \
    "tried: $RSA (refused by the server; an RSA key: libssh2 1.10 signs with ssh-rsa (SHA-1), which OpenSSH 8.8 and later refuse unless PubkeyAcceptedAlgorithms +ssh-rsa;" \
    "an RSA key refused by a default OpenSSH: the error says why"

# In the sanitizer build: full stacks, so that tests/lsan.supp can name libssh2's ECDSA leak.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0 \
    PF_TEST_KEY_PASS=$PASSPHRASE pf keys apply -i "$INV2" -t 'k_[!r]*' -t k_rsa -j 3 -v -f json
R=$PF_TMP/keys.out
assert_eq 0 "$RC" "rsa, ecdsa and passphrase-protected ed25519 keys work (stderr: $(pf_err keys))"
assert_lines "k_rsa applied"$'\n'"k_ecdsa applied"$'\n'"k_pass applied" \
    "$(jtargets "$R" 't["outcome"]')" "every key type applied its target"
assert_not_contains "$(all_output keys)" "$PASSPHRASE" "the passphrase never appears in the output"
assert_not_contains "$(all_output nopass)$(all_output badpass)" "$PASSPHRASE" \
    "nor in failed runs"

# --- sshd killed in the middle of an apply ------------------------------------------------------
sshd_start killme
sshd_authorize killme "$KEY.pub"
sshd_known_hosts_line killme >>"$KH"
pg_createdb slow direct2
# Nothing is set on the server: pgfleet's own client_connection_check_interval makes the server
# abort the running statement once the tunnel is gone.
MIG2=$PF_TMP/drizzle_slow
mig_add "$MIG2" 0000_slow $((PF_WHEN0 + 1000)) \
    'CREATE TABLE "slow_t" ("id" serial PRIMARY KEY NOT NULL);' \
    'SELECT pg_sleep(20);'
INV3=$PF_TMP/kill.yaml
{
    echo "migrations: {dir: \"$MIG2\"}"
    echo "tunnels:"
    tunnel killme "$(sshd_port killme)" "identity: $KEY"
    echo "targets:"
    target slow "$(pf_dsn slow)" killme
    target direct2 "$(pf_dsn direct2)"
} >"$INV3"
"$PGFLEET" apply -i "$INV3" -j 2 -f json >"$PF_TMP/kill.out" 2>"$PF_TMP/kill.err" &
APPLY_PID=$!
PF_BG_PIDS+=("$APPLY_PID")
if wait_for "select count(*) from pg_stat_activity where datname = 'slow' and query like '%pg_sleep(20)%' and state = 'active'" 1 20; then
    pass "the migration is running through the tunnel"
else
    fail "the slow migration never started: $(cat "$PF_TMP/kill.err")"
fi
sshd_kill killme
RC=0
wait "$APPLY_PID" || RC=$?
pf_bg_reap "$APPLY_PID"
R=$PF_TMP/kill.out
assert_eq 2 "$RC" "the apply whose tunnel died exits 2"
assert_eq "unreachable failed" "$(jt "$R" slow 't["status"] + " " + t["outcome"]')" \
    "the target behind the killed sshd: unreachable, failed"
assert_contains "$(jt "$R" slow 't["error"]["message"]')" "tunnel killme broke: " \
    "the report says the tunnel broke"
assert_eq "applied" "$(jt "$R" direct2 't["outcome"]')" "the direct target was applied meanwhile"
wait_for "select count(*) from pg_stat_activity where datname = 'slow'" 0 10 ||
    fail "the server kept the dropped session"
assert_eq "f" "$(has_table slow slow_t)" "the server rolled the transaction back: no table"
assert_eq "0" "$(pg_psql slow "select count(*) from drizzle.__drizzle_migrations")" \
    "the ledger, created before the migrations' transaction as drizzle creates it, has no row"

pf_done
