#!/usr/bin/env bash
# Failover: Tandem vs Redis Sentinel, side by side, interleaved rounds.
#
#   bench/failover.sh            # ROUNDS=3, 8 clients, Sentinel down-after 1000 ms
#
# Tandem:   `tandem up` (master, replica, monitor, proxy), then `tandem drill`:
#           8 clients INCR through the proxy, SIGKILL the master, measure.
# Sentinel: redis-server master + replica + three Sentinels (quorum 2,
#           down-after-milliseconds $SENTINEL_DOWN_AFTER (default 1000),
#           failover-timeout 3000), then `tandem drill --sentinel`: the same
#           clients, Sentinel-aware (they ask the Sentinel for the master on
#           every reconnect, as redis clients' Sentinel support does); the killed
#           redis-server is restarted after each round, as a supervisor would.
# Tandem runs in sync mode (TANDEM_MODE=async to compare like for like with
# Redis's only mode, async replication). Printed per round and as medians: downtime (the longest gap
# between acknowledgements of any client), errors seen by clients, and
# acknowledged writes lost.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. bench/lib.sh

ROUNDS=${ROUNDS:-3}
CLIENTS=${CLIENTS:-8}
SENTINEL_DOWN_AFTER=${SENTINEL_DOWN_AFTER:-1000}
build_tools
command -v jq >/dev/null || die "jq missing (apt-get install jq)"

wait_until() { # seconds what cmd...
    local secs=$1 what=$2
    shift 2
    for _ in $(seq $((secs * 10))); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    die "timed out waiting for $what"
}

# --- Tandem -------------------------------------------------------------------
T_DATA="$BENCH_TMP/tandem"
T_PORT=$(free_port)
"$TANDEM_BIN" up --port "$T_PORT" --data "$T_DATA" --replication-mode "${TANDEM_MODE:-sync}" >"$BENCH_TMP/up.out" 2>"$BENCH_TMP/up.err" &
SERVER_PIDS+=($!)
wait_until 60 "tandem up" grep -q "Tandem is up" "$BENCH_TMP/up.out"
tandem_ready() { # one replica with its link up and no lag
    "$TANDEM_BIN" status --data "$T_DATA" --json \
        | jq -e '[.nodes[] | select(.role == "replica" and .link == "up" and .lag_bytes == 0)] | length >= 1'
}

# --- Sentinel -----------------------------------------------------------------
R1=$(free_port); R2=$(free_port)
start_redis() { # port [replicaof-port]
    local dir="$BENCH_TMP/redis-$1"
    mkdir -p "$dir"
    local extra=()
    [ -n "${2:-}" ] && extra=(--replicaof 127.0.0.1 "$2")
    redis-server --port "$1" --dir "$dir" --save '' --appendonly no "${extra[@]}" >>"$dir/log" 2>&1 &
    SERVER_PIDS+=($!)
    wait_until 10 "redis on $1" redis-cli -p "$1" ping
}
start_redis "$R1"
start_redis "$R2" "$R1"
SENTINELS=()
for i in 1 2 3; do
    sp=$(free_port)
    SENTINELS+=("$sp")
    cat >"$BENCH_TMP/sentinel-$i.conf" <<EOF
port $sp
sentinel monitor mymaster 127.0.0.1 $R1 2
sentinel down-after-milliseconds mymaster $SENTINEL_DOWN_AFTER
sentinel failover-timeout mymaster 3000
EOF
    redis-server "$BENCH_TMP/sentinel-$i.conf" --sentinel >"$BENCH_TMP/sentinel-$i.log" 2>&1 &
    SERVER_PIDS+=($!)
done
S=${SENTINELS[0]}
sentinel_ready() { # the master has a replica in sync and every Sentinel sees it and its peers
    local m
    m=$(redis-cli -p "$S" sentinel get-master-addr-by-name mymaster | tail -1)
    [ -n "$m" ] && redis-cli -p "$m" info replication | grep -q "state=online" || return 1
    for sp in "${SENTINELS[@]}"; do
        [ "$(redis-cli -p "$sp" sentinel replicas mymaster | grep -c '^flags$')" -ge 1 ] || return 1
        redis-cli -p "$sp" sentinel replicas mymaster | grep -q "s_down" && return 1
        [ "$(redis-cli -p "$sp" sentinel master mymaster | grep -A1 '^num-other-sentinels$' | tail -1)" -ge 2 ] || return 1
    done
    return 0
}

printf "%-9s %-6s %12s %12s %8s %10s %8s %8s\n" system round downtime_ms first_write errors after_kill lost acked
T_DOWN=(); S_DOWN=(); T_LOST=(); S_LOST=(); T_ERR=(); S_ERR=(); T_FIRST=(); S_FIRST=()
for r in $(seq "$ROUNDS"); do
    wait_until 60 "tandem replica in sync" tandem_ready
    out=$("$TANDEM_BIN" drill --data "$T_DATA" --clients "$CLIENTS" --warmup 1 --after 4 --json || true)
    d=$(jq .downtime_ms <<<"$out"); f=$(jq .first_write_after_kill_ms <<<"$out"); k=$(jq .errors_after_kill <<<"$out")
    e=$(jq .errors <<<"$out"); l=$(jq .lost_writes <<<"$out"); a=$(jq .acknowledged_writes <<<"$out")
    printf "%-9s %-6s %12s %12s %8s %10s %8s %8s\n" tandem "$r" "$d" "$f" "$e" "$k" "$l" "$a"
    T_DOWN+=("$d"); T_LOST+=("$l"); T_ERR+=("$e"); T_FIRST+=("$f")

    wait_until 60 "sentinel replica in sync" sentinel_ready
    out=$("$TANDEM_BIN" drill --sentinel "127.0.0.1:$S" --clients "$CLIENTS" --warmup 1 --after 4 --json || true)
    d=$(jq .downtime_ms <<<"$out"); f=$(jq .first_write_after_kill_ms <<<"$out"); k=$(jq .errors_after_kill <<<"$out")
    e=$(jq .errors <<<"$out"); l=$(jq .lost_writes <<<"$out"); a=$(jq .acknowledged_writes <<<"$out")
    printf "%-9s %-6s %12s %12s %8s %10s %8s %8s\n" sentinel "$r" "$d" "$f" "$e" "$k" "$l" "$a"
    S_DOWN+=("$d"); S_LOST+=("$l"); S_ERR+=("$e"); S_FIRST+=("$f")
    # Restart the killed redis-server; the Sentinel turns it into a replica.
    killed=$(jq -r .killed_master <<<"$out" | cut -d: -f2)
    new=$(jq -r .new_master <<<"$out" | cut -d: -f2)
    [ -n "$killed" ] && [ "$killed" != null ] && start_redis "$killed" "$new"
done

median() { printf "%s\n" "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
td=$(median "${T_DOWN[@]}"); sd=$(median "${S_DOWN[@]}")
echo
echo "medians over $ROUNDS rounds ($CLIENTS clients; 3 Sentinels, quorum 2, down-after ${SENTINEL_DOWN_AFTER} ms, failover-timeout 3000 ms):"
echo "  downtime  tandem ${td} ms   sentinel ${sd} ms   ratio sentinel/tandem $(awk -v a="$sd" -v b="$td" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "inf" }')"
tf=$(median "${T_FIRST[@]}"); sf=$(median "${S_FIRST[@]}")
echo "  kill -> first write  tandem ${tf} ms   sentinel ${sf} ms"
echo "  errors    tandem $(median "${T_ERR[@]}")   sentinel $(median "${S_ERR[@]}")"
echo "  lost      tandem $(median "${T_LOST[@]}")   sentinel $(median "${S_LOST[@]}")"
