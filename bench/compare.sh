#!/usr/bin/env bash
# Throughput, p99 latency and memory of Tandem against a real Redis 7.0, side by
# side on this machine. See BENCHMARKS.md for the method.
#
#   bench/compare.sh               tandem vs redis
#   bench/compare.sh --self-check  redis vs redis: the noise floor of this machine
#
# Method: both servers run at once on free ports (Redis without persistence);
# each round runs redis-benchmark against one and then the other, alternating who
# goes first, for every (pipeline, value size) combination; the table shows the
# median over ROUNDS of ops/s and of p99 latency, the ratio A/B of those medians
# and "paired", the median of the per-round ratios (A and B ran back to back in
# a round, so slow drifts of the machine cancel out). Then both are
# restarted fresh and loaded with MEM_KEYS distinct keys to compare memory.
#
# Environment (defaults): ROUNDS (5), CLIENTS (50), REQUESTS (100000 at pipeline 1;
# 5x that when pipelining), PIPELINES ("1 16"), SIZES ("64 1024"),
# TESTS (set,get,incr,lpush,lpop,sadd,hset,zadd,mset), MEM_KEYS (1000000),
# TANDEM_BIN (use this binary instead of building one), RESULTS_OUT (keep the
# per-run CSV there).
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
ROUNDS=${ROUNDS:-5}
CLIENTS=${CLIENTS:-50}
REQUESTS=${REQUESTS:-100000}
PIPELINES=${PIPELINES:-"1 16"}
SIZES=${SIZES:-"64 1024"}
TESTS=${TESTS:-set,get,incr,lpush,lpop,sadd,hset,zadd,mset}
MEM_KEYS=${MEM_KEYS:-1000000}

build_tools
if [ "$SELF_CHECK" = 1 ]; then A_KIND=redis; A_NAME=redis-A; B_NAME=redis-B; else A_KIND=tandem; A_NAME=tandem; B_NAME=redis; fi

A_PORT=$(free_port); start_server "$A_KIND" "$A_PORT"; A_PID=$STARTED_PID
B_PORT=$(free_port); start_server redis "$B_PORT"; B_PID=$STARTED_PID
echo "A = $A_NAME (port $A_PORT, pid $A_PID), B = $B_NAME (port $B_PORT, pid $B_PID)"
echo "rounds=$ROUNDS clients=$CLIENTS requests=$REQUESTS pipelines=[$PIPELINES] sizes=[$SIZES]"

RESULTS=$BENCH_TMP/results.csv
: >"$RESULTS"

# run_one SIDE PORT ROUND PIPELINE SIZE: appends "side,round,P,d,test,rps,...,p99,max".
run_one() {
    local n=$REQUESTS
    [ "$4" -gt 1 ] && n=$((REQUESTS * 5))
    redis-benchmark -p "$2" -c "$CLIENTS" -n "$n" -r 100000 -P "$4" -d "$5" -t "$TESTS" --csv -q \
        | tr -d '"\r' | awk -F, -v pre="$1,$3,$4,$5" 'NR > 1 && NF >= 8 { print pre "," $0 }' >>"$RESULTS"
}

START=$(date +%s)
for round in $(seq "$ROUNDS"); do
    for p in $PIPELINES; do
        for d in $SIZES; do
            echo "round $round/$ROUNDS: pipeline $p, value $d bytes"
            if [ $((round % 2)) = 1 ]; then
                run_one A "$A_PORT" "$round" "$p" "$d"
                run_one B "$B_PORT" "$round" "$p" "$d"
            else
                run_one B "$B_PORT" "$round" "$p" "$d"
                run_one A "$A_PORT" "$round" "$p" "$d"
            fi
        done
    done
done
echo "throughput runs took $(( $(date +%s) - START ))s"
[ -n "${RESULTS_OUT:-}" ] && cp "$RESULTS" "$RESULTS_OUT"

# Medians per (side, pipeline, size, test) of rps ($6) and p99 ($11).
median() { # FIELD
    sort -t, -k1,1 -k3,3n -k4,4n -k5,5 -k"$1","$1"g "$RESULTS" | awk -F, -v f="$1" '
        function flush() { if (n) print key "," v[int((n + 1) / 2)] }
        { k = $1 "," $3 "," $4 "," $5; if (k != key) { flush(); key = k; n = 0 } v[++n] = $f }
        END { flush() }'
}
median 6 >"$BENCH_TMP/rps"
median 11 >"$BENCH_TMP/p99"
# The ratio within each round (A and B ran back to back, under the same
# machine state): its median over rounds drifts less than a ratio of medians.
awk -F, '{ rps[$1 "," $2 "," $3 "," $4 "," $5] = $6; keys[$2 "," $3 "," $4 "," $5] = 1 }
    END {
        for (k in keys) {
            a = rps["A," k]; b = rps["B," k]
            if (b > 0) { split(k, f, ","); print f[2] "," f[3] "," f[4] "," a / b }
        }
    }' "$RESULTS" | sort -t, -k1,1n -k2,2n -k3,3 -k4,4g | awk -F, '
    function flush() { if (n) print key "," v[int((n + 1) / 2)] }
    { k = $1 "," $2 "," $3; if (k != key) { flush(); key = k; n = 0 } v[++n] = $4 }
    END { flush() }' >"$BENCH_TMP/paired"

echo
printf '%-16s %4s %6s | %12s %12s %7s %7s | %9s %9s\n' test P bytes "$A_NAME ops/s" "$B_NAME ops/s" "A/B" "paired" "A p99 ms" "B p99 ms"
printf -- '-%.0s' $(seq 98); echo
awk -F, '
    FILENAME == ARGV[1] { rps[$1 "," $2 "," $3 "," $4] = $5; next }
    FILENAME == ARGV[2] { paired[$1 "," $2 "," $3] = $4; next }
    { p99[$1 "," $2 "," $3 "," $4] = $5; if ($1 == "A") rows[++n] = $2 "," $3 "," $4 }
    END {
        for (i = 1; i <= n; i++) {
            split(rows[i], r, ",")
            a = rps["A," rows[i]]; b = rps["B," rows[i]]
            ratio = (b > 0) ? a / b : 0
            pr = paired[rows[i]]
            if (pr >= 1) npaired++
            printf "%-16s %4s %6s | %12.0f %12.0f %7.2f %7.2f | %9.3f %9.3f\n", r[3], r[1], r[2], a, b, ratio, pr, p99["A," rows[i]], p99["B," rows[i]]
            if (ratio > 0) {
                lsum += log(ratio); cnt++
                dev = (ratio > 1) ? ratio - 1 : 1 - ratio
                if (dev > maxdev) maxdev = dev
                # insertion sort (mawk has no asort) for the median deviation
                for (j = cnt; j > 1 && devs[j - 1] > dev; j--) devs[j] = devs[j - 1]
                devs[j] = dev
            }
        }
        if (cnt) printf "\nthroughput ratio A/B: geometric mean %.3f; deviation from 1: median %.1f%%, largest %.1f%% (%d tests)\n", exp(lsum / cnt), devs[int((cnt + 1) / 2)] * 100, maxdev * 100, cnt
        if (cnt) printf "paired (median of the per-round ratios): %d of %d at 1.0 or more\n", npaired, cnt
    }' "$BENCH_TMP/rps" "$BENCH_TMP/paired" "$BENCH_TMP/p99"

# ---------------------------------------------------------------- memory
stop_server "$A_PID"
stop_server "$B_PID"
echo
echo "memory: fresh servers, $MEM_KEYS distinct keys (key:NNNNNNNNNNNN), 64-byte values"
printf '%-10s %10s %10s %14s %14s %12s\n' server "RSS0 MB" "RSS MB" "used_mem MB" "bytes/key RSS" "load secs"
for side in A B; do
    if [ $side = A ]; then kind=$A_KIND; name=$A_NAME; else kind=redis; name=$B_NAME; fi
    port=$(free_port)
    start_server "$kind" "$port"
    pid=$STARTED_PID
    rss0=$(rss_mb "$pid")
    out=$("$BENCHTOOLS" load --port "$port" --keys "$MEM_KEYS" --value-size 64) || die "loading $name failed"
    [ "$(redis-cli -p "$port" dbsize)" = "$MEM_KEYS" ] || die "$name: DBSIZE is not $MEM_KEYS after loading"
    rss=$(rss_mb "$pid")
    used=$(used_memory_mb "$port"); used=${used:-n/a}
    secs=$(echo "$out" | sed -n 's/.*load_secs=\([0-9.]*\).*/\1/p')
    per_key=$(awk -v a="$rss" -v b="$rss0" -v n="$MEM_KEYS" 'BEGIN { printf "%.0f", (a - b) * 1048576 / n }')
    printf '%-10s %10s %10s %14s %14s %12s\n' "$name" "$rss0" "$rss" "$used" "$per_key" "$secs"
    stop_server "$pid"
done
echo
echo "total $(( $(date +%s) - START ))s"
