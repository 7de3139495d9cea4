#!/usr/bin/env bash
# Throughput and p99 of `tandem proxy` against twemproxy (nutcracker) in front of
# the same redis-server, with direct access to that server as the ceiling; then
# the proxy's memory per idle client. See BENCHMARKS.md for the method.
#
#   bench/proxy.sh
#
# Method: one redis-server (no persistence); tandem proxy (release build,
# `--master` static topology) and nutcracker (one pool, one server, redis: true)
# both in front of it. Each round runs redis-benchmark (-c CLIENTS, -d 64, SET and
# GET) against the three endpoints for every pipeline depth, rotating which goes
# first; the table shows the median over ROUNDS of ops/s and of p99, and the
# ratios tandem/twemproxy and each/direct. Memory: RSS of a fresh proxy, then with
# IDLE idle clients connected (each sent one PING) while CLIENTS busy clients run
# redis-benchmark; reported as KiB per idle client.
#
# Environment (defaults): ROUNDS (3), CLIENTS (50), REQUESTS (100000 at pipeline
# 1; 5x that when pipelining), PIPELINES ("1 16"), IDLE (1000), POOL (1, the
# proxy's --pool-size), THREADS (1, the proxy's runtime threads), TANDEM_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=bench/lib.sh
source bench/lib.sh

ROUNDS=${ROUNDS:-3}
CLIENTS=${CLIENTS:-50}
REQUESTS=${REQUESTS:-100000}
PIPELINES=${PIPELINES:-"1 16"}
IDLE=${IDLE:-1000}
POOL=${POOL:-1}
THREADS=${THREADS:-1}

command -v nutcracker >/dev/null || die "nutcracker missing (apt-get install nutcracker)"
build_tools

R_PORT=$(free_port); start_server redis "$R_PORT"
start_proxy() { # PORT -> STARTED_PID
    "$TANDEM_BIN" proxy --port "$1" --master "127.0.0.1:$R_PORT" --pool-size "$POOL" \
        --threads "$THREADS" >"$BENCH_TMP/proxy-$1.log" 2>&1 &
    STARTED_PID=$!
    SERVER_PIDS+=("$STARTED_PID")
    for _ in $(seq 500); do
        kill -0 "$STARTED_PID" 2>/dev/null || { cat "$BENCH_TMP/proxy-$1.log" >&2; die "proxy exited"; }
        [ "$(redis-cli -p "$1" set bench:ready 1 2>/dev/null)" = OK ] && return
        sleep 0.02
    done
    die "proxy on $1 not ready"
}
T_PORT=$(free_port); start_proxy "$T_PORT"; T_PID=$STARTED_PID
# A port that looked free can be taken before nutcracker binds it (it then
# exits at once): retry on new listen and stats ports.
for attempt in 1 2 3 4 5; do
    N_PORT=$(free_port)
    cat >"$BENCH_TMP/nutcracker.yml" <<EOF
bench:
  listen: 127.0.0.1:$N_PORT
  hash: fnv1a_64
  distribution: ketama
  redis: true
  preconnect: true
  servers:
   - 127.0.0.1:$R_PORT:1
EOF
    nutcracker -c "$BENCH_TMP/nutcracker.yml" -a 127.0.0.1 -s "$(free_port)" -o "$BENCH_TMP/nutcracker.log" &
    N_PID=$!
    SERVER_PIDS+=("$N_PID")
    for _ in $(seq 1500); do
        kill -0 "$N_PID" 2>/dev/null || break
        [ "$(redis-cli -p "$N_PORT" set bench:ready 1 2>/dev/null)" = OK ] && break 2
        sleep 0.02
    done
    [ "$attempt" = 5 ] && { cat "$BENCH_TMP/nutcracker.log" >&2; die "nutcracker did not start"; }
done
echo "redis $R_PORT, tandem proxy $T_PORT (pid $T_PID, pool $POOL, threads $THREADS), twemproxy $N_PORT (pid $N_PID)"
echo "rounds=$ROUNDS clients=$CLIENTS requests=$REQUESTS pipelines=[$PIPELINES] value 64 bytes"

RESULTS=$BENCH_TMP/results.csv
: >"$RESULTS"
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # utime + stime, 1/100 s
CPU=$BENCH_TMP/cpu.csv
: >"$CPU"
run_one() { # SIDE PORT ROUND PIPELINE [PID]
    local n=$REQUESTS t0=0
    [ "$4" -gt 1 ] && n=$((REQUESTS * 5))
    [ -n "${5:-}" ] && t0=$(cpu_ticks "$5")
    redis-benchmark -p "$2" -c "$CLIENTS" -n "$n" -r 100000 -P "$4" -d 64 -t set,get --csv -q 2>/dev/null \
        | tr -d '"\r' | awk -F, -v pre="$1,$3,$4" 'NR > 1 && NF >= 8 { print pre "," $0 }' >>"$RESULTS"
    # The proxy's own CPU time per request (SET and GET runs together): unlike
    # ops/s, this hardly depends on what else the machine is doing.
    [ -n "${5:-}" ] && echo "$1,$3,$4,$(( $(cpu_ticks "$5") - t0 )),$((2 * n))" >>"$CPU"
    return 0
}

START=$(date +%s)
for round in $(seq "$ROUNDS"); do
    for p in $PIPELINES; do
        echo "round $round/$ROUNDS: pipeline $p"
        case $((round % 3)) in
            1) order="tandem twemproxy direct" ;;
            2) order="twemproxy direct tandem" ;;
            *) order="direct tandem twemproxy" ;;
        esac
        for side in $order; do
            case $side in
                tandem) run_one tandem "$T_PORT" "$round" "$p" "$T_PID" ;;
                twemproxy) run_one twemproxy "$N_PORT" "$round" "$p" "$N_PID" ;;
                direct) run_one direct "$R_PORT" "$round" "$p" ;;
            esac
        done
    done
done
echo "throughput runs took $(( $(date +%s) - START ))s"

# Medians per (side, pipeline, test) of rps ($5) and p99 ($10).
median() { # FIELD
    sort -t, -k1,1 -k3,3n -k4,4 -k"$1","$1"g "$RESULTS" | awk -F, -v f="$1" '
        function flush() { if (n) print key "," v[int((n + 1) / 2)] }
        { k = $1 "," $3 "," $4; if (k != key) { flush(); key = k; n = 0 } v[++n] = $f }
        END { flush() }'
}
median 5 >"$BENCH_TMP/rps"
median 10 >"$BENCH_TMP/p99"

echo
printf '%-4s %3s | %10s %10s %10s | %8s %8s %8s | %8s %8s %8s\n' test P "tandem/s" "twemp/s" "direct/s" "T/twemp" "T/direct" "tw/dir" "T p99" "tw p99" "dir p99"
printf -- '-%.0s' $(seq 104); echo
awk -F, '
    FILENAME == ARGV[1] { rps[$1 "," $2 "," $3] = $4; next }
    { p99[$1 "," $2 "," $3] = $4; if ($1 == "direct") rows[++n] = $2 "," $3 }
    END {
        for (i = 1; i <= n; i++) {
            split(rows[i], r, ",")
            t = rps["tandem," rows[i]]; w = rps["twemproxy," rows[i]]; d = rps["direct," rows[i]]
            printf "%-4s %3s | %10.0f %10.0f %10.0f | %8.2f %8.2f %8.2f | %8.3f %8.3f %8.3f\n", r[2], r[1], t, w, d,
                (w > 0 ? t / w : 0), (d > 0 ? t / d : 0), (d > 0 ? w / d : 0),
                p99["tandem," rows[i]], p99["twemproxy," rows[i]], p99["direct," rows[i]]
        }
    }' "$BENCH_TMP/rps" "$BENCH_TMP/p99"

# The ratio within each round (the two proxies ran back to back, under the same
# load) varies less than the ratio of medians on a shared machine.
echo
echo "tandem/twemproxy throughput within each round: median (min-max) over rounds"
awk -F, '$1 == "tandem" || $1 == "twemproxy" { rps[$1 "," $2 "," $3 "," $4] = $5; keys[$2 "," $3 "," $4] = 1 }
    END {
        for (k in keys) {
            t = rps["tandem," k]; w = rps["twemproxy," k]
            if (w > 0) { split(k, f, ","); print f[2] "," f[3] "," t / w }
        }
    }' "$RESULTS" | sort -t, -k1,1n -k2,2 -k3,3g | awk -F, '
    function flush() { if (n) printf "  %-4s P%-3s %5.2f (%.2f-%.2f)\n", t, p, v[int((n + 1) / 2)], v[1], v[n] }
    { k = $1 "," $2; if (k != key) { flush(); key = k; p = $1; t = $2; n = 0 } v[++n] = $3 }
    END { flush() }'

echo
echo "proxy CPU per request (median over rounds, microseconds of user+system time):"
sort -t, -k1,1 -k3,3n "$CPU" | awk -F, '
    function flush() { if (n) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
                                printf "  %-10s P%-3s %6.2f us/request\n", side, p, v[int((n + 1) / 2)] } }
    { k = $1 "," $3; if (k != key) { flush(); key = k; side = $1; p = $3; n = 0 } v[++n] = $4 * 10000 / $5 }
    END { flush() }'

# ---------------------------------------------------------------- memory
stop_server "$T_PID"
M_PORT=$(free_port); start_proxy "$M_PORT"; M_PID=$STARTED_PID
sleep 0.5
rss0=$(rss_mb "$M_PID")
python3 - "$M_PORT" "$IDLE" "$BENCH_TMP/idle.ready" <<'PY' &
import socket, sys, time
port, n, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
socks = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"PING\r\n")
    socks.append(s)
for s in socks:
    s.recv(16)
open(ready, "w").close()
time.sleep(120)
PY
IDLE_PID=$!
for _ in $(seq 1500); do [ -e "$BENCH_TMP/idle.ready" ] && break; sleep 0.02; done
[ -e "$BENCH_TMP/idle.ready" ] || die "idle clients did not connect"
redis-benchmark -p "$M_PORT" -c "$CLIENTS" -n $((REQUESTS * 5)) -r 100000 -P 16 -d 64 -t set,get -q >/dev/null 2>&1
rss1=$(rss_mb "$M_PID")
connected=$(redis-cli -p "$M_PORT" info clients | tr -d '\r' | awk -F: '$1 == "connected_clients" { print $2 }')
kill "$IDLE_PID" 2>/dev/null || true
echo
echo "memory: tandem proxy RSS ${rss0} MB fresh, ${rss1} MB with $IDLE idle clients after $CLIENTS busy ones (connected_clients=$connected)"
awk -v a="$rss1" -v b="$rss0" -v n="$IDLE" 'BEGIN { printf "  %.1f KiB per idle client (upper bound: includes what the busy run left allocated)\n", (a - b) * 1024 / n }'
echo
echo "total $(( $(date +%s) - START ))s"
