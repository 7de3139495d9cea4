#!/usr/bin/env bash
# A/B of two Tandem binaries (a change against its parent): both run at once,
# and each round runs redis-benchmark against one then the other (alternating
# who goes first); prints the median ops/s of each and the ratio new/old.
#
#   bench/ab.sh OLD_BINARY NEW_BINARY
#
# Environment: ROUNDS (5), PIPELINE (1), SIZE (1024), CLIENTS (50),
# REQUESTS (100000), TESTS ("incr get set lpush sadd hset zadd").
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

[ $# = 2 ] || die "usage: $0 OLD_BINARY NEW_BINARY"
OLD=$1
NEW=$2
ROUNDS=${ROUNDS:-5}
PIPELINE=${PIPELINE:-1}
SIZE=${SIZE:-1024}
CLIENTS=${CLIENTS:-50}
REQUESTS=${REQUESTS:-100000}
TESTS=${TESTS:-"incr get set lpush sadd hset zadd"}

pta=$(free_port)
TANDEM_BIN=$OLD start_server tandem "$pta"
ptb=$(free_port)
TANDEM_BIN=$NEW start_server tandem "$ptb"

declare -A RESULTS
for r in $(seq "$ROUNDS"); do
    for t in $TESTS; do
        if [ $((r % 2)) = 1 ]; then order="$pta $ptb"; else order="$ptb $pta"; fi
        for p in $order; do
            v=$(redis-benchmark -p "$p" -c "$CLIENTS" -n "$REQUESTS" -P "$PIPELINE" -d "$SIZE" \
                -r 100000 -t "$t" --csv -q 2>/dev/null | tail -1 | cut -d, -f2 | tr -d '"')
            RESULTS[$t,$p]="${RESULTS[$t,$p]:-} $v"
        done
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
printf '%-6s %10s %10s %8s\n' test "old ops/s" "new ops/s" new/old
for t in $TESTS; do
    a=$(echo "${RESULTS[$t,$pta]}" | median)
    b=$(echo "${RESULTS[$t,$ptb]}" | median)
    printf '%-6s %10.0f %10.0f %8.3f\n' "$t" "$a" "$b" "$(echo "$b / $a" | bc -l)"
done
echo "pipeline $PIPELINE, $SIZE-byte values, $CLIENTS clients, median of $ROUNDS rounds"
