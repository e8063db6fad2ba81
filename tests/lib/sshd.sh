# Test harness: real OpenSSH servers (/usr/sbin/sshd -D -e) on free loopback ports, each with a
# throwaway ed25519 host key and its own authorized_keys in $PF_TMP/sshd-NAME, stopped when the
# sourcing script exits. Source it after tests/lib/pg.sh (or tests/integration/lib.sh) and after
# pg_start (it needs PF_TMP).
#
#   ssh_key TYPE FILE [PASSPHRASE]  a client key pair (ssh-keygen -t TYPE): FILE and FILE.pub
#   sshd_start NAME [LINE...]       start server NAME; LINEs are extra sshd_config lines (e.g.
#                                   "AllowTcpForwarding no"). Sets SSHD_PORT; see sshd_port.
#   sshd_authorize NAME PUBFILE     allow a client key to log in to NAME (works while running)
#   sshd_port NAME / sshd_pid NAME / sshd_hostkey NAME (the host key's .pub) / sshd_log NAME
#   sshd_fingerprint NAME           the host key's "SHA256:..." as `ssh-keygen -lf` prints it
#   sshd_known_hosts_line NAME      "[127.0.0.1]:PORT ssh-ed25519 AAAA..." for a known_hosts file
#   sshd_new_hostkey NAME           replace the host key and restart NAME on the same port
#   sshd_stop NAME                  stop NAME and every session process it forked
#   sshd_kill NAME                  SIGKILL NAME and its session processes (a crash)
#
# The login user is whoever runs the tests (root in CI: PermitRootLogin prohibit-password).

PF_SSHD_BIN=${PF_SSHD_BIN:-/usr/sbin/sshd}
PF_SSH_USER=$(id -un)
PF_SSHD_NAMES=()

sshd_cleanup_all() {
    local name
    for name in ${PF_SSHD_NAMES[@]+"${PF_SSHD_NAMES[@]}"}; do
        sshd_stop "$name"
    done
}
PF_CLEANUP_HOOK="${PF_CLEANUP_HOOK:+$PF_CLEANUP_HOOK; }sshd_cleanup_all"

ssh_key() {
    local type=$1 file=$2 pass=${3:-}
    rm -f "$file" "$file.pub"
    ssh-keygen -q -t "$type" -N "$pass" -C "pgfleet-test-$type" -f "$file" >/dev/null
}

sshd_dir() { echo "$PF_TMP/sshd-$1"; }
sshd_port() { cat "$(sshd_dir "$1")/port"; }
sshd_pid() { cat "$(sshd_dir "$1")/pid" 2>/dev/null || true; }
sshd_hostkey() { echo "$(sshd_dir "$1")/host_ed25519.pub"; }
sshd_log() { cat "$(sshd_dir "$1")/sshd.log" 2>/dev/null || true; }

sshd_fingerprint() {
    ssh-keygen -l -f "$(sshd_hostkey "$1")" | awk '{print $2}'
}

sshd_known_hosts_line() {
    echo "[127.0.0.1]:$(sshd_port "$1") $(cut -d' ' -f1,2 "$(sshd_hostkey "$1")")"
}

sshd_authorize() {
    cat "$2" >>"$(sshd_dir "$1")/authorized_keys"
}

# Start (or restart) NAME with the config already written; waits until it accepts connections.
sshd_launch() {
    local name=$1 dir port i
    dir=$(sshd_dir "$name")
    port=$(cat "$dir/port")
    "$PF_SSHD_BIN" -D -e -f "$dir/sshd_config" >>"$dir/sshd.log" 2>&1 &
    echo $! >"$dir/pid"
    for i in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        kill -0 "$(cat "$dir/pid")" 2>/dev/null || break
        sleep 0.05
    done
    echo "sshd $name did not start on port $port:" >&2
    cat "$dir/sshd.log" >&2
    return 1
}

sshd_write_config() {
    local name=$1 dir
    shift
    dir=$(sshd_dir "$name")
    {
        echo "ListenAddress 127.0.0.1"
        echo "Port $(cat "$dir/port")"
        echo "HostKey $dir/host_ed25519"
        echo "PidFile $dir/sshd.pid"
        echo "AuthorizedKeysFile $dir/authorized_keys"
        echo "PermitRootLogin prohibit-password"
        echo "StrictModes no"
        echo "UsePAM no"
        echo "PasswordAuthentication no"
        echo "KbdInteractiveAuthentication no"
        echo "PubkeyAuthentication yes"
        echo "LogLevel VERBOSE"
        echo "MaxStartups 100"
        local line
        for line in "$@"; do echo "$line"; done
    } >"$dir/sshd_config"
}

sshd_start() {
    local name=$1 dir tries
    shift
    dir=$(sshd_dir "$name")
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && mkdir -p /run/sshd
    [ -f "$dir/host_ed25519" ] ||
        ssh-keygen -q -t ed25519 -N "" -C "sshd-$name" -f "$dir/host_ed25519" >/dev/null
    touch "$dir/authorized_keys"
    PF_SSHD_NAMES+=("$name")
    for tries in 1 2 3 4 5; do
        pf_free_port >"$dir/port"
        sshd_write_config "$name" "$@"
        if "$PF_SSHD_BIN" -t -f "$dir/sshd_config" >"$dir/check.log" 2>&1; then
            if sshd_launch "$name"; then
                SSHD_PORT=$(cat "$dir/port")
                return 0
            fi
        else
            cat "$dir/check.log" >&2
            return 1
        fi
    done
    return 1
}

# Every process of server NAME: the listener and the session processes it forked.
sshd_pids() {
    local pid=$1 child
    [ -n "$pid" ] || return 0
    echo "$pid"
    for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do
        sshd_pids "$child"
    done
}

sshd_signal() {
    local name=$1 sig=$2 pids p
    pids=$(sshd_pids "$(sshd_pid "$name")")
    for p in $pids; do
        kill "-$sig" "$p" 2>/dev/null || true
    done
    wait "$(sshd_pid "$name")" 2>/dev/null || true
    local i
    for p in $pids; do
        for i in $(seq 1 100); do
            # gone, or a zombie waiting for its parent
            case "$(ps -o stat= -p "$p" 2>/dev/null)" in "" | Z*) break ;; esac
            sleep 0.05
        done
    done
    rm -f "$(sshd_dir "$name")/pid"
}

sshd_stop() { sshd_signal "$1" TERM; }
sshd_kill() { sshd_signal "$1" KILL; }

sshd_new_hostkey() {
    local name=$1 dir
    dir=$(sshd_dir "$name")
    sshd_stop "$name"
    rm -f "$dir/host_ed25519" "$dir/host_ed25519.pub"
    ssh-keygen -q -t ed25519 -N "" -C "sshd-$name-new" -f "$dir/host_ed25519" >/dev/null
    sshd_launch "$name"
}
