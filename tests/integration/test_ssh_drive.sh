# The SSH loop's parts against a real OpenSSH server, driven turn by turn by a C program
# (tests/drive/ssh_drive.c, which says what it pins): this script starts sshd, runs the
# program, and kills sshd when the program asks through a FIFO. No PostgreSQL: the program's
# destination is an echo server of its own.
source "$PF_TESTS_DIR/lib/pg.sh"
PF_TMP=$(mktemp -d /tmp/pgfleet-test.XXXXXX)
export PF_TMP
source "$PF_TESTS_DIR/lib/sshd.sh"

DRIVE=${PF_DRIVE_DIR:?PF_DRIVE_DIR is set by ctest}/ssh_drive
[ -x "$DRIVE" ] || {
    fail "no driver at $DRIVE (built with the tests)"
    pf_done
}

KEY=$PF_TMP/id_ed25519
ssh_key ed25519 "$KEY"
sshd_start bastion
sshd_authorize bastion "$KEY.pub"
sshd_known_hosts_line bastion >"$PF_TMP/known_hosts"
mkfifo "$PF_TMP/kill.request" "$PF_TMP/kill.done"

PF_SSHD_PORT=$(sshd_port bastion) PF_SSH_USER=$PF_SSH_USER PF_SSH_KEY=$KEY \
    PF_KNOWN_HOSTS=$PF_TMP/known_hosts PF_KILL_REQUEST=$PF_TMP/kill.request \
    PF_KILL_DONE=$PF_TMP/kill.done "$DRIVE" >"$PF_TMP/drive.out" 2>&1 &
DRIVE_PID=$!

# The driver asks once; it may also end (pass or fail) without asking.
exec 7<>"$PF_TMP/kill.request" # held open both ways: reading does not wait for a writer
asked=""
while kill -0 "$DRIVE_PID" 2>/dev/null; do
    if read -r -t 1 -u 7 asked; then
        sshd_kill bastion
        echo done >"$PF_TMP/kill.done"
        break
    fi
done
RC=0
wait "$DRIVE_PID" || RC=$?
exec 7<&-
cat "$PF_TMP/drive.out"
assert_eq 0 "$RC" "the driver's tests pass against sshd"
assert_eq "kill" "$asked" "the driver asked for sshd to be killed"
assert_contains "$(cat "$PF_TMP/drive.out")" "[  PASSED  ] 5 test(s)." "all five driver tests ran"

pf_done
