#!/usr/bin/env bash
# Lua scripts: EVAL throughput of Tandem against a real Redis 7.0, side by side.
#
# Four script shapes, each with its own key: one INCR (the per-EVAL overhead),
# five HINCRBY collected into a table (per redis.call cost and a table reply),
# SET then GET (a write and a read), LRANGE of 10 (a reply of 10 strings); and
# two functions of a library (FCALL of an INCR and of SET then GET); at 50
# clients, pipeline 1 and 16; ROUNDS interleaved rounds (who goes first
# alternates), medians of ops/s and of the per-round ratio.
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
LIB=$(printf '%s\n' '#!lua name=bench' \
    "redis.register_function('f_incr', function(keys) return redis.call('incr', keys[1]) end)" \
    "redis.register_function('f_setget', function(keys, args) redis.call('set', keys[1], args[1]) return redis.call('get', keys[1]) end)")
for p in "$T_PORT" "$R_PORT"; do
    redis-cli -p "$p" rpush L 1 2 3 4 5 6 7 8 9 10 >/dev/null
    [ "$(redis-cli -p "$p" function load "$LIB")" = bench ] || die "FUNCTION LOAD failed on port $p"
done
SCRIPTS=(
    "incr|return redis.call('incr', KEYS[1])|c"
    "5x hincrby|local t = {} for i = 1, 5 do t[i] = redis.call('hincrby', KEYS[1], 'f' .. i, 1) end return t|h"
    "set+get|redis.call('set', KEYS[1], ARGV[1]) return redis.call('get', KEYS[1])|s"
    "lrange 10|return redis.call('lrange', KEYS[1], 0, 9)|L"
    "fcall incr|FCALL:f_incr|fc"
    "fcall set+get|FCALL:f_setget|fs"
)
RESULTS=$BENCH_TMP/scripts.csv
: >"$RESULTS"
run_one() { # SIDE PORT ROUND P NAME BODY KEY
    local n=100000
    [ "$4" -gt 1 ] && n=300000
    local v
    local call=(EVAL "$6")
    [[ $6 == FCALL:* ]] && call=(FCALL "${6#FCALL:}")
    v=$(redis-benchmark -p "$2" -c "$CLIENTS" -n "$n" -P "$4" -q "${call[@]}" 1 "$7" vvvvvvvvvvvvvvvv \
        | tr '\r' '\n' | grep 'requests per second' | tail -1 | sed 's/.*: \([0-9.]*\) requests.*/\1/')
    echo "$1,$3,$4,$5,$v" >>"$RESULTS"
}
for round in $(seq "$ROUNDS"); do
    echo "round $round/$ROUNDS"
    for p in 1 16; do
        for s in "${SCRIPTS[@]}"; do
            IFS='|' read -r name body key <<<"$s"
            if [ $((round % 2)) = 1 ]; then
                run_one tandem "$T_PORT" "$round" "$p" "$name" "$body" "$key"
                run_one redis "$R_PORT" "$round" "$p" "$name" "$body" "$key"
            else
                run_one redis "$R_PORT" "$round" "$p" "$name" "$body" "$key"
                run_one tandem "$T_PORT" "$round" "$p" "$name" "$body" "$key"
            fi
        done
    done
done
echo
python3 - "$RESULTS" <<'PY'
import csv, statistics as st, sys, collections
d = collections.defaultdict(dict)
for side, rnd, p, name, v in csv.reader(open(sys.argv[1])):
    d[(int(p), name)].setdefault(rnd, {})[side] = float(v)
print(f"{'script':12} {'P':>3} | {'tandem/s':>10} {'redis/s':>10} | {'T/R':>5} {'paired':>6}")
print("-" * 56)
for (p, name), rounds in sorted(d.items(), key=lambda kv: (kv[0][0], kv[0][1])):
    t = st.median(r["tandem"] for r in rounds.values())
    r = st.median(r["redis"] for r in rounds.values())
    paired = st.median(x["tandem"] / x["redis"] for x in rounds.values())
    print(f"{name:12} {p:>3} | {t:10.0f} {r:10.0f} | {t / r:5.2f} {paired:6.2f}")
PY
