#!/usr/bin/env bash
# Replication benchmarks: Tandem against a real Redis 7.0 on this machine.
#
#   bench/repl.sh
#
# 1. Full-sync time for KEYS keys (64-byte values), every direction:
#    tandem->tandem, redis->tandem, tandem->redis, redis->redis. Measured from
#    REPLICAOF to master_link_status:up on the replica (Redis masters with
#    repl-diskless-sync-delay 0 so neither side waits for more replicas).
# 2. Replication lag under the SET pipeline load (redis-benchmark -P 16): the
#    master's offset minus the replica's, sampled every 100 ms; max and median.
# 3. Throughput of SET at pipeline 16 on a Tandem master with one Tandem replica:
#    replication-mode async vs sync (target ratio >= 0.7), and Redis async with
#    `WAIT 1 0` after each write (redis-benchmark runs "SET; WAIT 1 0" per request).
#
# Environment (defaults): KEYS (1000000), CLIENTS (50), REQUESTS (500000),
# ROUNDS (3), SECTIONS ("fullsync lag throughput"), TANDEM_BIN (use this binary
# instead of building one).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=bench/lib.sh
source bench/lib.sh

KEYS=${KEYS:-1000000}
CLIENTS=${CLIENTS:-50}
REQUESTS=${REQUESTS:-500000}
ROUNDS=${ROUNDS:-3}
SECTIONS=${SECTIONS:-"fullsync lag throughput"}
want() { [[ " $SECTIONS " == *" $1 "* ]]; }

build_tools

field() { redis-cli -p "$1" info "$2" | tr -d '\r' | awk -F: -v f="$3" '$1 == f { print $2 }'; }

# start KIND -> PORT, PID (Redis masters stream at once: no diskless delay)
start() {
    PORT=$(free_port)
    start_server "$1" "$PORT"
    PID=$STARTED_PID
    if [ "$1" = redis ]; then redis-cli -p "$PORT" config set repl-diskless-sync-delay 0 >/dev/null; fi
}

now_ms() { date +%s%3N; }

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

if want fullsync; then
echo "## Full sync of $KEYS keys (ms from REPLICAOF to link up; median of $ROUNDS)"
echo
echo "| master -> replica | ms |"
echo "|---|---|"
for pair in tandem:tandem redis:tandem tandem:redis redis:redis; do
    mk=${pair%%:*}; rk=${pair##*:}
    start "$mk"; MP=$PORT; MPID=$PID
    "$BENCHTOOLS" load --port "$MP" --keys "$KEYS" >/dev/null
    times=()
    for _ in $(seq "$ROUNDS"); do
        start "$rk"; RP=$PORT; RPID=$PID
        t0=$(now_ms)
        redis-cli -p "$RP" replicaof 127.0.0.1 "$MP" >/dev/null
        until [ "$(field "$RP" replication master_link_status)" = up ]; do sleep 0.02; done
        t1=$(now_ms)
        [ "$(redis-cli -p "$RP" dbsize)" = "$(redis-cli -p "$MP" dbsize)" ] || die "$pair: dbsize differs"
        times+=($((t1 - t0)))
        stop_server "$RPID"
    done
    echo "| $mk -> $rk | $(printf '%s\n' "${times[@]}" | median) |"
    stop_server "$MPID"
done

fi

if want lag; then
echo
echo "## Replication lag under SET -P 16 load (bytes; max / median of 100 ms samples)"
echo
echo "| master -> replica | SET ops/s | max lag | median lag |"
echo "|---|---|---|---|"
for pair in tandem:tandem redis:redis; do
    mk=${pair%%:*}; rk=${pair##*:}
    start "$mk"; MP=$PORT; MPID=$PID
    start "$rk"; RP=$PORT; RPID=$PID
    redis-cli -p "$RP" replicaof 127.0.0.1 "$MP" >/dev/null
    until [ "$(field "$RP" replication master_link_status)" = up ]; do sleep 0.02; done
    out="$BENCH_TMP/lag-$mk"
    redis-benchmark -p "$MP" -t set -n "$REQUESTS" -c "$CLIENTS" -P 16 -r 100000 -q >"$out" 2>&1 &
    BPID=$!
    lags=()
    while kill -0 "$BPID" 2>/dev/null; do
        # Replica first: the master's offset read after it can only be ahead.
        ro=$(field "$RP" replication slave_repl_offset)
        mo=$(field "$MP" replication master_repl_offset)
        [ -n "$mo" ] && [ -n "$ro" ] && lags+=($((mo - ro)))
        sleep 0.1
    done
    wait "$BPID" || true
    ops=$(tr '\r' '\n' <"$out" | awk '/requests per second/ { print $2 }' | tail -1)
    max=$(printf '%s\n' "${lags[@]:-0}" | sort -n | tail -1)
    med=$(printf '%s\n' "${lags[@]:-0}" | median)
    echo "| $mk -> $rk | $ops | $max | $med |"
    stop_server "$RPID"; stop_server "$MPID"
done

fi

want throughput || exit 0
echo
echo "## SET throughput at pipeline 16 with one replica (median ops/s of $ROUNDS)"
echo
# SET then WAIT 1 0 for every write: CLIENTS redis-cli --pipe processes, each
# sending REQUESTS/CLIENTS (SET, WAIT) pairs; a blocked WAIT holds its client's
# next SET, so each write is acknowledged by the replica before the next.
set_wait() { # PORT -> SET ops/s
    local p=$1 per=$((REQUESTS / CLIENTS)) f="$BENCH_TMP/setwait.resp" pids=()
    if [ ! -f "$f" ]; then
        for i in $(seq "$per"); do
            printf '*3\r\n$3\r\nSET\r\n$%d\r\nk:%d\r\n$1\r\nv\r\n*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$1\r\n0\r\n' "$(( ${#i} + 2 ))" "$i"
        done >"$f"
    fi
    local t0 t1
    t0=$(now_ms)
    for _ in $(seq "$CLIENTS"); do
        redis-cli -p "$p" --pipe <"$f" >/dev/null 2>&1 &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid"; done
    t1=$(now_ms)
    echo $(( per * CLIENTS * 1000 / (t1 - t0 + 1) ))
}
bench_set() { # PORT [extra redis-benchmark args...]
    local p=$1; shift
    redis-benchmark -p "$p" -c "$CLIENTS" -n "$REQUESTS" -P 16 -r 100000 -q "$@" 2>/dev/null \
        | tr '\r' '\n' | awk '/requests per second/ { print $2 }' | tail -1
}
start tandem; MP=$PORT; MPID=$PID
start tandem; RP=$PORT; RPID=$PID
redis-cli -p "$RP" replicaof 127.0.0.1 "$MP" >/dev/null
until [ "$(field "$RP" replication master_link_status)" = up ]; do sleep 0.02; done
async=(); sync=()
for _ in $(seq "$ROUNDS"); do
    redis-cli -p "$MP" config set replication-mode async >/dev/null
    async+=("$(bench_set "$MP" -t set)")
    redis-cli -p "$MP" config set replication-mode sync >/dev/null
    until [ "$(field "$MP" replication tandem_sync_state)" = ok ]; do sleep 0.02; done
    sync+=("$(bench_set "$MP" -t set)")
done
[ "$(field "$MP" replication tandem_sync_state)" = ok ] || die "sync mode degraded during the run"
stop_server "$RPID"; stop_server "$MPID"
start redis; MP=$PORT; MPID=$PID
start redis; RP=$PORT; RPID=$PID
redis-cli -p "$RP" replicaof 127.0.0.1 "$MP" >/dev/null
until [ "$(field "$RP" replication master_link_status)" = up ]; do sleep 0.02; done
rasync=(); rwait=()
for _ in $(seq "$ROUNDS"); do
    rasync+=("$(bench_set "$MP" -t set)")
    # One request = SET then WAIT 1 0 (the write is acknowledged by the replica).
    rwait+=("$(set_wait "$MP")")
done
stop_server "$RPID"; stop_server "$MPID"
A=$(printf '%s\n' "${async[@]}" | median)
S=$(printf '%s\n' "${sync[@]}" | median)
RA=$(printf '%s\n' "${rasync[@]}" | median)
RW=$(printf '%s\n' "${rwait[@]}" | median)
echo "| setup | SET ops/s |"
echo "|---|---|"
echo "| tandem async | $A |"
echo "| tandem sync (min-sync-replicas 1) | $S |"
echo "| redis async | $RA |"
echo "| redis async + WAIT 1 0 per write | $RW |"
echo
awk -v s="$S" -v a="$A" -v rw="$RW" 'BEGIN { printf "sync/async = %.2f (target >= 0.70); tandem sync / redis SET+WAIT = %.2f\n", s / a, s / rw }'
