#!/usr/bin/env bash
# Memory per data type: for each dataset, redis-server writes a snapshot, then
# Tandem and Redis each load it (side by side) and report what they hold over
# an empty start: used_memory and RSS, in bytes per key.
#
# Datasets (N keys each, written by a Lua loop on redis-server):
#   smallhash  HSET of 8 short fields        (listpack in both)
#   intset     SADD of 8 integers            (intset)
#   strset     SADD of 8 short strings       (hashtable in Redis 7.0)
#   smallzset  ZADD of 8 members, int scores (listpack)
#   smalllist  RPUSH of 8 short items        (quicklist)
#   string     SET of a 64-byte value
#   short      SET of a 20-byte value
#   counter    INCR (a small integer)
#   ttl        SET of a 20-byte value with EX
#
#   bench/memory.sh
#
# Environment: N (500000), TYPES (all of the above), TANDEM_BIN (skip the build).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=bench/lib.sh
source bench/lib.sh

N=${N:-500000}
TYPES=${TYPES:-"smallhash intset strset smallzset smalllist string short counter ttl"}
build_tools

script_for() {
    case $1 in
        smallhash) echo "redis.call('hset', 'h:'..i, 'f1', i, 'f2', 'v2', 'f3', 'v3', 'f4', 'v4', 'f5', 'v5', 'f6', 'v6', 'f7', 'v7', 'f8', 'v8')" ;;
        intset) echo "redis.call('sadd', 's:'..i, 1, 2, 3, 4, 5, 6, 7, i + 8)" ;;
        strset) echo "redis.call('sadd', 't:'..i, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'..i)" ;;
        smallzset) echo "redis.call('zadd', 'z:'..i, 1, 'a', 2, 'b', 3, 'c', 4, 'd', 5, 'e', 6, 'f', 7, 'g', 8, 'm'..i)" ;;
        smalllist) echo "redis.call('rpush', 'l:'..i, 'a', 'b', 'c', 'd', 'e', 'f', 'g', i)" ;;
        string) echo "redis.call('set', 'k:'..i, string.rep('x', 64))" ;;
        short) echo "redis.call('set', 'k:'..i, string.rep('x', 20))" ;;
        counter) echo "redis.call('incr', 'c:'..i)" ;;
        ttl) echo "redis.call('set', 'k:'..i, string.rep('x', 20), 'EX', 100000)" ;;
        *) die "unknown type $1" ;;
    esac
}

used_bytes() {
    redis-cli -p "$1" info memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }'
}
rss_bytes() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status"; }

# start_on KIND DIR -> sets PORT, PID (a server that loaded DIR/dump.rdb).
start_on() {
    start_on_free_port "$1" "$2"
    PORT=$STARTED_PORT
    PID=$STARTED_PID
}

# footprint KIND DIR -> "used rss" over an empty start, in bytes.
footprint() {
    local empty="$BENCH_TMP/empty-$1" u0 r0
    mkdir -p "$empty"
    start_on "$1" "$empty"
    u0=$(used_bytes "$PORT"); r0=$(rss_bytes "$PID")
    stop_server "$PID"
    start_on "$1" "$2"
    [ "$(redis-cli -p "$PORT" dbsize)" = "$N" ] || die "$1: DBSIZE is not $N after the load"
    echo "$(( $(used_bytes "$PORT") - u0 )) $(( $(rss_bytes "$PID") - r0 ))"
    stop_server "$PID"
}

printf '%-10s %14s %14s %14s %14s %8s\n' type "tandem used" "redis used" "tandem RSS" "redis RSS" "used T/R"
for type in $TYPES; do
    dir="$BENCH_TMP/$type"
    mkdir -p "$dir"
    start_on redis "$dir"
    redis-cli -p "$PORT" eval "for i = 1, tonumber(ARGV[1]) do $(script_for "$type") end return 1" 0 "$N" >/dev/null \
        || die "building $type failed"
    redis-cli -p "$PORT" save >/dev/null
    stop_server "$PID"
    read -r tu tr < <(footprint tandem "$dir")
    read -r ru rr < <(footprint redis "$dir")
    printf '%-10s %12.1f B %12.1f B %12.1f B %12.1f B %8.2f\n' "$type" \
        "$(echo "$tu / $N" | bc -l)" "$(echo "$ru / $N" | bc -l)" \
        "$(echo "$tr / $N" | bc -l)" "$(echo "$rr / $N" | bc -l)" "$(echo "$tu / $ru" | bc -l)"
    rm -rf "$dir"
done
echo "bytes per key over an empty server, after loading the same snapshot"
