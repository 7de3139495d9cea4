#!/usr/bin/env bash
# Streams: throughput and memory of Tandem against a real Redis 7.0, side by side.
#
# XADD with an auto ID (one field, a 16-byte value), XADD with MAXLEN ~ 1000 (the
# approximate trim on every add), XRANGE and XREVRANGE of 10 entries, XREAD of 10
# after a fixed ID, XREADGROUP `>` with NOACK (a group read that advances the
# group); at 50 clients, pipeline 1 and 16; ROUNDS interleaved rounds (who goes
# first alternates), medians of ops/s and of the per-round ratio. Then the memory
# of one stream of 1M entries on each (used_memory before and after).
#
# Environment: ROUNDS (5), CLIENTS (50), TANDEM_BIN (use this binary instead of
# building one).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=bench/lib.sh
source bench/lib.sh
ROUNDS=${ROUNDS:-5}
CLIENTS=${CLIENTS:-50}
build_tools
T_PORT=$(free_port); start_server tandem "$T_PORT"
R_PORT=$(free_port); start_server redis "$R_PORT"
for p in "$T_PORT" "$R_PORT"; do
    for i in $(seq 1 2000); do echo "XADD r $i-0 field vvvvvvvvvvvvvvvv"; done | redis-cli -p "$p" >/dev/null
    redis-cli -p "$p" XGROUP CREATE r g 0 >/dev/null
done
CASES=(
    "xadd|XADD s * field vvvvvvvvvvvvvvvv"
    "xadd maxlen~|XADD t MAXLEN ~ 1000 * field vvvvvvvvvvvvvvvv"
    "xrange 10|XRANGE r 500 + COUNT 10"
    "xrevrange 10|XREVRANGE r + - COUNT 10"
    "xread 10|XREAD COUNT 10 STREAMS r 1000-0"
    "xreadgroup|XREADGROUP GROUP g c COUNT 1 NOACK STREAMS r >"
)
RESULTS=$BENCH_TMP/streams.csv
: >"$RESULTS"
run_one() { # SIDE PORT ROUND P NAME CMD
    local n=100000
    [ "$4" -gt 1 ] && n=300000
    local v
    # shellcheck disable=SC2086
    v=$(redis-benchmark -p "$2" -c "$CLIENTS" -n "$n" -P "$4" -q $6 \
        | tr '\r' '\n' | grep 'requests per second' | tail -1 | sed 's/.*: \([0-9.]*\) requests.*/\1/')
    echo "$1,$3,$4,$5,$v" >>"$RESULTS"
}
set -f # the commands hold `*` and `+`
for round in $(seq "$ROUNDS"); do
    echo "round $round/$ROUNDS"
    for p in 1 16; do
        for c in "${CASES[@]}"; do
            IFS='|' read -r name cmd <<<"$c"
            if [ $((round % 2)) = 1 ]; then
                run_one tandem "$T_PORT" "$round" "$p" "$name" "$cmd"
                run_one redis "$R_PORT" "$round" "$p" "$name" "$cmd"
            else
                run_one redis "$R_PORT" "$round" "$p" "$name" "$cmd"
                run_one tandem "$T_PORT" "$round" "$p" "$name" "$cmd"
            fi
        done
    done
done
set +f
echo
python3 - "$RESULTS" <<'PY'
import csv, statistics as st, sys, collections
d = collections.defaultdict(dict)
for side, rnd, p, name, v in csv.reader(open(sys.argv[1])):
    d[(int(p), name)].setdefault(rnd, {})[side] = float(v)
print(f"{'command':13} {'P':>3} | {'tandem/s':>10} {'redis/s':>10} | {'T/R':>5} {'paired':>6}")
print("-" * 57)
for (p, name), rounds in sorted(d.items(), key=lambda kv: (kv[0][0], kv[0][1])):
    t = st.median(r["tandem"] for r in rounds.values())
    r = st.median(r["redis"] for r in rounds.values())
    paired = st.median(x["tandem"] / x["redis"] for x in rounds.values())
    print(f"{name:13} {p:>3} | {t:10.0f} {r:10.0f} | {t / r:5.2f} {paired:6.2f}")
PY
echo
echo "memory of one stream of 1M entries (field + 16-byte value):"
for side in tandem redis; do
    port=$T_PORT; [ $side = redis ] && port=$R_PORT
    before=$(redis-cli -p "$port" INFO memory | tr -d '\r' | sed -n 's/^used_memory://p')
    redis-benchmark -p "$port" -c 20 -n 1000000 -P 32 -q XADD big '*' field vvvvvvvvvvvvvvvv >/dev/null 2>&1
    after=$(redis-cli -p "$port" INFO memory | tr -d '\r' | sed -n 's/^used_memory://p')
    echo "  $side: $(( (after - before) / 1000000 )) bytes/entry ($(redis-cli -p "$port" XLEN big) entries)"
done
