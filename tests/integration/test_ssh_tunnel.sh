# SSH tunnels against real OpenSSH servers on loopback: a fleet of 12 databases applied through
# one tunnel (one SSH session for all of them) beside direct targets; a two-hop chain (a tunnel
# via another, two sshds); host keys: strict refuses an unknown and a changed key with
# OpenSSH's fingerprints, accept-new records an unknown key (then strict accepts it) and still
# refuses a changed one.
source "$PF_TESTS_DIR/integration/lib.sh"
pg_start
source "$PF_TESTS_DIR/lib/sshd.sh"

MIG=$PF_TMP/drizzle
W=$PF_WHEN0
mig_add "$MIG" 0000_users $((W + 1000)) \
    'CREATE TABLE "users" ("id" serial PRIMARY KEY NOT NULL, "email" text NOT NULL);'
mig_add "$MIG" 0001_posts $((W + 2000)) \
    'CREATE TABLE "posts" ("id" serial PRIMARY KEY NOT NULL, "body" text);'
WANT_TABLES="tables: posts users"

KEY=$PF_TMP/id_ed25519
ssh_key ed25519 "$KEY"
KH=$PF_TMP/known_hosts

# tunnel NAME SERVER [EXTRA_YAML_LINES...]: a tunnels entry (user, key, known_hosts) for SERVER.
tunnel() {
    local name=$1 server=$2 line
    shift 2
    echo "  $name:"
    echo "    host: 127.0.0.1"
    echo "    port: $(sshd_port "$server")"
    echo "    user: $PF_SSH_USER"
    echo "    identity: $KEY"
    echo "    known_hosts: $KH"
    for line in "$@"; do echo "    $line"; done
}
# target NAME DB [VIA]
target() {
    echo "  - name: $1"
    echo "    dsn: \"$(pf_dsn "$2")\""
    [ -z "${3:-}" ] || echo "    via: $3"
}

# --- a fleet through one tunnel, beside direct targets ----------------------------------------
sshd_start bastion
sshd_authorize bastion "$KEY.pub"
sshd_known_hosts_line bastion >"$KH"

TDBS=()
for i in $(seq -w 1 12); do TDBS+=("tun$i"); done
pg_createdb "${TDBS[@]}" direct1 direct2
INV=$PF_TMP/fleet.yaml
{
    echo "migrations: {dir: \"$MIG\"}"
    echo "tunnels:"
    tunnel bastion bastion
    echo "targets:"
    for db in "${TDBS[@]}"; do target "$db" "$db" bastion; done
    target direct1 direct1
    target direct2 direct2
} >"$INV"

pf apply1 apply -i "$INV" -j 6 -f json -o "$PF_TMP/apply1.json"
R=$PF_TMP/apply1.json
assert_eq 0 "$RC" "apply through the tunnel exits 0 (stderr: $(pf_err apply1))"
assert_eq 14 "$(jget "$R" 'd["outcomes"]["applied"]')" "12 tunnelled and 2 direct targets applied"
want=""
for db in "${TDBS[@]}"; do want+="$db applied via bastion"$'\n'; done
want+="direct1 applied null"$'\n'"direct2 applied null"
assert_lines "$want" "$(jtargets "$R" 't["outcome"] + " " + show(t["route"])')" \
    "the report gives each target's route: via bastion, or null when direct"
assert_eq "" "$(jtargets "$R" 't["timings"]["tunnel_ms"]' | awk '
    $1 ~ /^tun/ && $2 !~ /^[0-9]+$/ {print $1}
    $1 ~ /^direct/ && $2 != "null" {print $1}')" \
    "timings.tunnel_ms is a number through the tunnel, null when direct"
bad=""
for db in "${TDBS[@]}" direct1 direct2; do
    [ "$(has_table "$db" users)$(has_table "$db" posts)" = tt ] || bad+=" $db"
    [ "$(pg_psql "$db" 'select count(*) from drizzle.__drizzle_migrations')" = 2 ] || bad+=" $db"
done
assert_eq "" "$bad" "every database has both tables and both ledger rows"
assert_eq 1 "$(sshd_log bastion | grep -c 'Accepted publickey')" \
    "one ssh session carried all 12 targets"

pf text1 plan -i "$INV"
assert_eq 0 "$RC" "plan through the tunnel: in sync"
assert_contains "$(pf_out text1)" "ROUTE" "the text report has a ROUTE column"
assert_eq "tun01 in_sync 0 via bastion" "$(pf_out text1 | awk '$1 == "tun01" {print $1, $2, $3, $4, $5}')" \
    "text report row: name, status, pending, route"
assert_eq "direct1 in_sync 0 direct" "$(pf_out text1 | awk '$1 == "direct1" {print $1, $2, $3, $4}')" \
    "a direct target's route is shown as direct"

# diff-schema reaches a tunnelled target through its tunnel, as the fleet commands do.
pf ds1 diff-schema -i "$INV" tun01 direct1
assert_eq 0 "$RC" "diff-schema of a tunnelled and a direct target: exit 0: $(pf_err ds1)"
assert_lines "--- tun01
+++ direct1
no differences" "$(pf_out ds1)" "diff-schema through the tunnel: no differences"
pg_psql tun02 'CREATE INDEX users_by_id ON users (id)' >/dev/null
pf ds2 diff-schema -i "$INV" direct1 tun02
assert_eq 1 "$RC" "diff-schema with an index added behind the tunnel: exit 1: $(pf_err ds2)"
assert_lines "--- direct1
+++ tun02
+ index public.users_by_id" "$(pf_out ds2)" "diff-schema through the tunnel: the index"
pg_psql tun02 'DROP INDEX users_by_id' >/dev/null

# --- a two-hop chain: inner via jump -----------------------------------------------------------
sshd_start jump
sshd_authorize jump "$KEY.pub"
sshd_start inner
sshd_authorize inner "$KEY.pub"
{
    sshd_known_hosts_line jump
    sshd_known_hosts_line inner
} >>"$KH"
pg_createdb chain1 chain2
INV2=$PF_TMP/chain.yaml
{
    echo "migrations: {dir: \"$MIG\"}"
    echo "tunnels:"
    tunnel inner inner "via: jump"
    tunnel jump jump
    echo "targets:"
    target chain1 chain1 inner
    target chain2 chain2 inner
} >"$INV2"
pf chain apply -i "$INV2" -j 2 -f json
R=$PF_TMP/chain.out
assert_eq 0 "$RC" "apply through a two-hop chain exits 0 (stderr: $(pf_err chain))"
assert_lines "chain1 applied via jump > inner"$'\n'"chain2 applied via jump > inner" \
    "$(jtargets "$R" 't["outcome"] + " " + show(t["route"])')" \
    "both targets applied, route via jump > inner"
assert_eq "tt" "$(has_table chain1 posts)$(has_table chain2 posts)" "the chain reached the databases"
assert_eq 1 "$(sshd_log jump | grep -c 'Accepted publickey')" "one session on the jump host"
assert_eq 1 "$(sshd_log inner | grep -c 'Accepted publickey')" "one session on the inner host"
assert_contains "$(sshd_log inner)" "Accepted publickey for $PF_SSH_USER from 127.0.0.1" \
    "the inner session came in through the jump host"

# --- host keys ---------------------------------------------------------------------------------
sshd_start hk
sshd_authorize hk "$KEY.pub"
HKPORT=$(sshd_port hk)
pg_createdb hk1
KH2=$PF_TMP/known_hosts_hk
: >"$KH2"
hk_inv() { # POLICY
    {
        echo "migrations: {dir: \"$MIG\"}"
        echo "tunnels:"
        echo "  hk:"
        echo "    host: 127.0.0.1"
        echo "    port: $HKPORT"
        echo "    user: $PF_SSH_USER"
        echo "    identity: $KEY"
        echo "    known_hosts: $KH2"
        echo "    host_key_policy: $1"
        echo "targets:"
        target hk1 hk1 hk
        target direct1 direct1
    } >"$PF_TMP/hk.yaml"
}
FP_OLD=$(sshd_fingerprint hk)

hk_inv strict
pf unknown plan -i "$PF_TMP/hk.yaml" -f json
R=$PF_TMP/unknown.out
assert_eq 2 "$RC" "strict policy, unknown host key: exit 2"
assert_eq "unreachable" "$(jt "$R" hk1 't["status"]')" "the target is unreachable"
assert_eq "hk: host key for [127.0.0.1]:$HKPORT is not known (ED25519 key $FP_OLD); hint:" \
    "$(jt "$R" hk1 't["error"]["message"]' | sed 's/; hint:.*/; hint:/')" \
    "the error gives the key's SHA256 fingerprint exactly as ssh-keygen -lf prints it"
assert_eq "in_sync" "$(jt "$R" direct1 't["status"]')" "the direct target still works"
assert_eq "" "$(cat "$KH2")" "strict does not write known_hosts"

hk_inv accept-new
pf acceptnew plan -i "$PF_TMP/hk.yaml" -f json
assert_eq 0 "$RC" "accept-new: the unknown key is recorded and the target planned"
assert_eq "uninitialized" "$(jt "$PF_TMP/acceptnew.out" hk1 't["status"]')" "accept-new: target reached"
assert_eq "$(sshd_known_hosts_line hk)" "$(cat "$KH2")" \
    "known_hosts gained the OpenSSH line [127.0.0.1]:PORT ssh-ed25519 KEY"
assert_contains "$(pf_err acceptnew)" "host key for [127.0.0.1]:$HKPORT (ED25519 key $FP_OLD) added to $KH2" \
    "accept-new says which key it recorded"

hk_inv strict
pf strict2 apply -i "$PF_TMP/hk.yaml" -f json
assert_eq 0 "$RC" "then strict accepts the recorded key and applies (stderr: $(pf_err strict2))"
assert_eq "applied" "$(jt "$PF_TMP/strict2.out" hk1 't["outcome"]')" "applied under strict"

# The server gets a new host key.
sshd_new_hostkey hk
FP_NEW=$(sshd_fingerprint hk)
pf changed plan -i "$PF_TMP/hk.yaml" -f json
R=$PF_TMP/changed.out
assert_eq 2 "$RC" "strict policy, changed host key: exit 2"
assert_eq "hk: HOST KEY CHANGED for [127.0.0.1]:$HKPORT: expected ED25519 key $FP_OLD (in $KH2), got ED25519 key $FP_NEW;" \
    "$(jt "$R" hk1 't["error"]["message"]' | sed 's/; refusing.*/;/')" \
    "the error names the expected and the offered fingerprints"
assert_contains "$(jt "$R" hk1 't["error"]["message"]')" "ssh-keygen -R '[127.0.0.1]:$HKPORT' -f $KH2" \
    "the hint says how to remove the old key"
hk_inv accept-new
pf changed2 plan -i "$PF_TMP/hk.yaml" -f json
assert_eq 2 "$RC" "accept-new still refuses a changed key"
assert_contains "$(jt "$PF_TMP/changed2.out" hk1 't["error"]["message"]')" "HOST KEY CHANGED" \
    "accept-new: HOST KEY CHANGED"
assert_eq 1 "$(wc -l <"$KH2" | tr -d ' ')" \
    "known_hosts was not touched"

# Hashed entries (ssh-keygen -H) work too.
sshd_known_hosts_line hk >"$KH2"
ssh-keygen -q -H -f "$KH2" >/dev/null 2>&1
rm -f "$KH2.old"
assert_contains "$(cat "$KH2")" "|1|" "known_hosts is hashed"
hk_inv strict
pf hashed plan -i "$PF_TMP/hk.yaml" -f json
assert_eq 0 "$RC" "a hashed known_hosts entry is recognised (stderr: $(pf_err hashed))"

pf_done
