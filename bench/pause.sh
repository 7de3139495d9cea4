#!/usr/bin/env bash
# The "no stall" check: loads KEYS (default 10,000,000) distinct keys into a fresh
# server while another connection PINGs in a tight loop, and reports the longest
# PING round trip seen (plus p99.9 and the load rate), for Tandem and for Redis.
# A server that grows its keyspace table in one go, or blocks on anything else,
# shows a long pause here; Redis rehashes incrementally and should not.
#
#   bench/pause.sh                 tandem, then redis
#   bench/pause.sh --self-check    redis twice (noise of the figure)
#
# Then the same probe while one set, sorted set, hash and list each grow to MEMBERS
# members (SADD / ZADD / HSET / RPUSH on one key): a collection that rehashes or copies
# its arrays in one go stalls here.
#
# Environment: KEYS (10000000), MEMBERS (4000000), TYPES ("set zset hash list"),
# VALUE_SIZE (64), TANDEM_BIN (skip the build).
# Needs about 1.5 GB of memory per 10M keys; servers run one at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=bench/lib.sh
source bench/lib.sh

SELF_CHECK=0
case "${1:-}" in
    --self-check) SELF_CHECK=1 ;;
    "") ;;
    *) die "usage: $0 [--self-check]" ;;
esac
KEYS=${KEYS:-10000000}
MEMBERS=${MEMBERS:-4000000}
TYPES=${TYPES:-"set zset hash list"}
VALUE_SIZE=${VALUE_SIZE:-64}
build_tools

if [ "$SELF_CHECK" = 1 ]; then SIDES="redis redis"; else SIDES="tandem redis"; fi
printf '%-8s %s\n' server result
for type in string $TYPES; do
    n=$KEYS
    [ "$type" = string ] || n=$MEMBERS
    for kind in $SIDES; do
        port=$(free_port)
        start_server "$kind" "$port"
        pid=$STARTED_PID
        out=$("$BENCHTOOLS" pause --port "$port" --keys "$n" --value-size "$VALUE_SIZE" \
            --type "$type") || die "$kind: $type load with PING probe failed"
        printf '%-8s %s rss_mb=%s\n' "$kind" "$out" "$(rss_mb "$pid")"
        stop_server "$pid"
    done
done
