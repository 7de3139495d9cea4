# Shared helpers for bench/*.sh (sourced, not run).
# Servers run in the foreground as our children (never --daemonize), so we know
# their PIDs, read their RSS, and stop exactly them.

BENCH_TMP=$(mktemp -d)
SERVER_PIDS=()

cleanup() {
    for pid in "${SERVER_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$BENCH_TMP"
}
trap cleanup EXIT

die() { echo "FAIL: $*" >&2; exit 1; }

# A TCP port nobody listens on (checked, then used at once).
free_port() {
    local p
    for _ in $(seq 100); do
        p=$((20000 + RANDOM % 30000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
    die "no free port found"
}

# start_server KIND PORT [DIR] -> sets STARTED_PID. KIND: tandem | redis. Data
# in DIR (default a fresh folder); returns once PING answers PONG, which a
# server loading a big DIR/dump.rdb does only when the load is done.
start_server() {
    local kind=$1 port=$2 dir=${3:-"$BENCH_TMP/$1-$2"}
    mkdir -p "$dir"
    case $kind in
        tandem) "$TANDEM_BIN" server --port "$port" --dir "$dir" --save "" --appendonly no >"$dir/$kind.log" 2>&1 & ;;
        redis) redis-server --port "$port" --dir "$dir" --save '' --appendonly no >"$dir/$kind.log" 2>&1 & ;;
        *) die "unknown server kind $kind" ;;
    esac
    STARTED_PID=$!
    SERVER_PIDS+=("$STARTED_PID")
    # If the port was taken meanwhile, our process exits: caught here.
    local deadline=$((SECONDS + 600))
    until [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ]; do
        if ! kill -0 "$STARTED_PID" 2>/dev/null; then
            # A port taken between free_port and the bind: the caller may retry.
            if [ "${RETRY_IN_USE:-0}" = 1 ] && grep -qi "in use" "$dir/$kind.log"; then
                return 2
            fi
            cat "$dir/$kind.log" >&2
            die "$kind on $port exited at start"
        fi
        [ "$SECONDS" -lt "$deadline" ] || die "$kind on $port did not answer PING within 600 s"
        sleep 0.005
    done
}

# start_on_free_port KIND [DIR] -> sets STARTED_PORT and STARTED_PID; picks
# another port when the one chosen was taken before the server bound it.
start_on_free_port() {
    local rc
    for _ in 1 2 3 4 5; do
        STARTED_PORT=$(free_port)
        rc=0
        RETRY_IN_USE=1 start_server "$1" "$STARTED_PORT" "${2:-"$BENCH_TMP/$1-$STARTED_PORT"}" || rc=$?
        [ "$rc" = 0 ] && return 0
    done
    die "$1: no free port after 5 tries"
}

stop_server() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

used_memory_mb() {
    redis-cli -p "$1" info memory 2>/dev/null | tr -d '\r' \
        | awk -F: '$1 == "used_memory" { printf "%.1f", $2 / 1048576 }'
}

# Builds what the benchmarks need; sets TANDEM_BIN (unless given) and BENCHTOOLS.
build_tools() {
    command -v redis-benchmark >/dev/null || die "redis-benchmark missing (apt-get install redis-tools)"
    command -v redis-server >/dev/null || die "redis-server missing (apt-get install redis-server)"
    local target=${CARGO_TARGET_DIR:-$ROOT/target}
    if [ "${SELF_CHECK:-0}" = 1 ] || [ -n "${TANDEM_BIN:-}" ]; then
        cargo build --release -q -p benchtools || die "build failed"
    else
        cargo build --release -q -p tandem -p benchtools || die "build failed"
        TANDEM_BIN=${TANDEM_BIN:-$target/release/tandem}
    fi
    BENCHTOOLS=$target/release/benchtools
}
