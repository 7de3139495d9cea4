#!/usr/bin/env bash
# Restart time: how long a node takes from its start until it serves again
# (PING answers PONG, not -LOADING) on the same snapshot, Tandem and Redis,
# interleaved over ROUNDS rounds. The snapshot is written by redis-server:
# STRINGS strings of 64 bytes, SMALL each of small hashes, sets, sorted sets and
# lists (8 elements: listpack/intset encodings), and one big collection of each
# type with BIG elements (hashtable/skiplist/quicklist encodings).
#
#   bench/restart.sh
#
# Environment: ROUNDS (5), STRINGS (1000000), SMALL (100000), BIG (200000),
# TANDEM_BIN (skip the build).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=bench/lib.sh
source bench/lib.sh

ROUNDS=${ROUNDS:-5}
STRINGS=${STRINGS:-1000000}
SMALL=${SMALL:-100000}
BIG=${BIG:-200000}
build_tools

# The dataset, written once by redis-server.
port=$(free_port)
start_server redis "$port"
pid=$STARTED_PID
"$BENCHTOOLS" load --port "$port" --keys "$STRINGS" --value-size 64 >/dev/null \
    || die "loading strings failed"
redis-cli -p "$port" eval "
for i = 1, tonumber(ARGV[1]) do
  redis.call('hset', 'h:'..i, 'f1', i, 'f2', 'v2', 'f3', 'v3', 'f4', 'v4', 'f5', 'v5', 'f6', 'v6', 'f7', 'v7', 'f8', 'v8')
  redis.call('sadd', 's:'..i, 1, 2, 3, 4, 5, 6, 7, i + 8)
  redis.call('zadd', 'z:'..i, 1, 'a', 2, 'b', 3, 'c', 4, 'd', 5, 'e', 6, 'f', 7, 'g', 8, 'm'..i)
  redis.call('rpush', 'l:'..i, 'a', 'b', 'c', 'd', 'e', 'f', 'g', i)
end
for i = 1, tonumber(ARGV[2]) do
  redis.call('hset', 'bighash', 'field:'..i, i)
  redis.call('sadd', 'bigset', 'member:'..i)
  redis.call('zadd', 'bigzset', i, 'member:'..i)
  redis.call('rpush', 'biglist', 'item:'..i)
end
return 1" 0 "$SMALL" "$BIG" >/dev/null || die "building collections failed"
keys=$(redis-cli -p "$port" dbsize)
redis-cli -p "$port" save >/dev/null || die "SAVE failed"
RDB="$BENCH_TMP/dataset.rdb"
cp "$BENCH_TMP/redis-$port/dump.rdb" "$RDB"
stop_server "$pid"
printf 'dataset: %s keys, snapshot %.1f MB\n' "$keys" "$(echo "$(stat -c %s "$RDB") / 1048576" | bc -l)"

# restart KIND -> prints "secs rss_mb"
restart() {
    local kind=$1 dir t0 t1
    dir="$BENCH_TMP/restart-$kind"
    mkdir -p "$dir"
    cp "$RDB" "$dir/dump.rdb"
    sync
    t0=$(date +%s.%N)
    start_on_free_port "$kind" "$dir"
    t1=$(date +%s.%N)
    [ "$(redis-cli -p "$STARTED_PORT" dbsize)" = "$keys" ] || die "$kind: DBSIZE is not $keys after the load"
    printf '%s %s\n' "$(echo "$t1 - $t0" | bc -l)" "$(rss_mb "$STARTED_PID")"
    stop_server "$STARTED_PID"
    rm -rf "$dir"
}

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

declare -a T_SECS R_SECS T_RSS R_RSS RATIOS
printf '%-6s %12s %12s %10s %10s %8s\n' round "tandem s" "redis s" "tandem MB" "redis MB" "R/T"
for r in $(seq "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then order="tandem redis"; else order="redis tandem"; fi
    for kind in $order; do
        read -r secs rss < <(restart "$kind")
        if [ "$kind" = tandem ]; then ts=$secs; tr=$rss; else rs=$secs; rr=$rss; fi
    done
    ratio=$(echo "$rs / $ts" | bc -l)
    T_SECS+=("$ts"); R_SECS+=("$rs"); T_RSS+=("$tr"); R_RSS+=("$rr"); RATIOS+=("$ratio")
    printf '%-6s %12.3f %12.3f %10s %10s %8.2f\n' "$r" "$ts" "$rs" "$tr" "$rr" "$ratio"
done
printf '%-6s %12.3f %12.3f %10s %10s %8.2f\n' median \
    "$(printf '%s\n' "${T_SECS[@]}" | median)" "$(printf '%s\n' "${R_SECS[@]}" | median)" \
    "$(printf '%s\n' "${T_RSS[@]}" | median)" "$(printf '%s\n' "${R_RSS[@]}" | median)" \
    "$(printf '%s\n' "${RATIOS[@]}" | median)"
echo "R/T: Redis's restart time over Tandem's in the same round (above 1: Tandem serves sooner)"
