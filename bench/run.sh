#!/usr/bin/env bash
# Loads our server, lighttpd, nginx and `python3 -m http.server` with wrk on the same files of
# www/, one server at a time, and prints req/s, throughput, p99 latency, peak RSS, the
# server's CPU time per request, and each one's req/s relative to ours.
#
#   bench/run.sh                 # everything: 3 rounds x 4 servers x 3 loads x 5 s, about 4 minutes
#   BENCH_SERVERS="ours lighttpd" BENCH_MODES="pin whole" bench/run.sh
#                                # ours beside lighttpd, pinned then on the whole machine
#
#   BENCH_SERVERS   servers to load, in order (default: ours lighttpd nginx python)
#   BENCH_MODES     "whole" (default: every server and wrk share all CPUs), "pin" (server on
#                   CPU 0, wrk on CPU 1: a per-core comparison), or both, one table each
#   BENCH_PIN=1     the same as BENCH_MODES=pin
#   BENCH_ROUNDS    rounds interleaving the servers (default 3); figures are medians
#   BENCH_DURATION, BENCH_CONNECTIONS, BENCH_THREADS, BENCH_PORT: wrk -d, -c, -t; the port
#   BENCH_OURS      a server binary to load as "ours" instead of building this one
#
# Installs wrk and the servers asked for with apt-get if they are missing. Every server it
# starts is killed when it exits, however it exits.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${BENCH_DURATION:-5s}
ROUNDS=${BENCH_ROUNDS:-3}
SERVERS=${BENCH_SERVERS:-"ours lighttpd nginx python"}
if [ "${BENCH_PIN:-0}" = 1 ]; then
    MODES=${BENCH_MODES:-pin}
else
    MODES=${BENCH_MODES:-whole}
fi
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

for mode in $MODES; do
    case "$mode" in
        pin | whole) ;;
        *) echo "BENCH_MODES: unknown mode '$mode' (pin, whole)" >&2; exit 2 ;;
    esac
done
need_servers
build_ours
write_configs

# CPU time (utime + stime, clock ticks) of a process and its children (nginx's workers);
# a process's figures include its threads that have exited.
cpu_ticks() {
    local total=0 pid
    for pid in "$1" $(pgrep -P "$1" 2>/dev/null || true); do
        local t
        t=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
        total=$((total + ${t:-0}))
    done
    echo "$total"
}

# Peak resident memory (VmHWM, KiB) of a process and its children (nginx's workers).
peak_rss_kib() {
    local total=0 pid
    for pid in "$1" $(pgrep -P "$1" 2>/dev/null || true); do
        local kb
        kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        total=$((total + ${kb:-0}))
    done
    echo "$total"
}

# wrk's "1.23MB" / "456.78KB" → MB
to_mb() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "B") n /= 1048576; else if (u == "KB") n /= 1024; else if (u == "GB") n *= 1024
        printf "%.1f", n }'
}
# wrk's "850.00us" / "1.23ms" / "1.2s" → ms
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        printf "%.2f", n }'
}

run_wrk() { # scenario → prints "reqs mb p99 errors cpu_us_per_request"
    scenario_args "$1"
    local out t0 t1
    t0=$(cpu_ticks "$SERVER_PID")
    out=$("${PIN_WRK[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "${WRK_EXTRA[@]}" "$URL" 2>&1)
    t1=$(cpu_ticks "$SERVER_PID")
    echo "$out" >>"$WORK/wrk.log"
    local reqs mb p99 errs
    reqs=$(echo "$out" | awk '/^Requests\/sec:/ {printf "%.0f", $2}')
    mb=$(to_mb "$(echo "$out" | awk '/^Transfer\/sec:/ {print $2}')")
    p99=$(to_ms "$(echo "$out" | awk '$1 == "99%" {print $2}')")
    # Socket errors (connect, read, write, timeout) plus non-2xx/3xx answers.
    errs=$(echo "$out" | awk '/Socket errors:/ {gsub(",", ""); n += $4 + $6 + $8 + $10} /Non-2xx/ {n += $NF} END {print n + 0}')
    # Server CPU per request: unlike req/s, barely moved by other jobs on a shared machine.
    local n cpu
    n=$(echo "$out" | wrk_requests)
    cpu=$(awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v n="${n:-0}" \
        'BEGIN { if (n > 0) printf "%.1f", t / hz * 1e6 / n; else print 0 }')
    echo "${reqs:-0} ${mb:-0} ${p99:-0} ${errs:-0} ${cpu:-0}"
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maximum() { tr ' ' '\n' | grep -v '^$' | sort -g | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# One table: every round, server and scenario in MODE ("pin" or "whole").
bench_mode() {
    local mode=$1
    PIN_SERVER=()
    PIN_WRK=()
    if [ "$mode" = pin ]; then
        if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
            PIN_SERVER=(taskset -c 0)
            PIN_WRK=(taskset -c 1)
        else
            say "cannot pin (no taskset, or one CPU): running on the whole machine"
        fi
    fi
    # Rounds interleave the servers, so that a change in the machine's load (other jobs) hits
    # every server alike; each figure is the median over the rounds (peak RSS: the maximum).
    local -A REQS MB P99 RSS ERRS CPU
    local round server sc r m p e c key
    for round in $(seq "$ROUNDS"); do
        for server in $SERVERS; do
            for sc in "${SCENARIOS[@]}"; do
                say "$mode, round $round/$ROUNDS, $server: $sc ($DURATION, $CONNECTIONS connections)"
                server_command "$server"
                start_cmd "${PIN_SERVER[@]}" "${SERVER_CMD[@]}"
                read -r r m p e c <<<"$(run_wrk "$sc")"
                REQS[$server,$sc]+="$r " MB[$server,$sc]+="$m " P99[$server,$sc]+="$p " CPU[$server,$sc]+="$c "
                ERRS[$server,$sc]=$((${ERRS[$server,$sc]:-0} + ${e:-0}))
                RSS[$server,$sc]+="$(peak_rss_kib "$SERVER_PID") "
                stop_server
            done
        done
    done
    for key in "${!REQS[@]}"; do
        REQS[$key]=$(echo "${REQS[$key]}" | median)
        MB[$key]=$(echo "${MB[$key]}" | median)
        P99[$key]=$(echo "${P99[$key]}" | median)
        CPU[$key]=$(echo "${CPU[$key]}" | median)
        RSS[$key]=$(echo "${RSS[$key]}" | maximum)
    done

    echo
    if [ "$mode" = pin ]; then
        echo "Pinned: server on CPU 0, wrk on CPU 1 (${PIN_SERVER[*]:-not pinned})"
    else
        echo "Whole machine: every server and wrk share the $(nproc) CPUs"
    fi
    echo
    printf '| scenario | server | req/s | MB/s | p99 ms | peak RSS MiB | server CPU µs/req | req/s vs ours | errors (all rounds) |\n'
    printf '|---|---|---:|---:|---:|---:|---:|---:|---|\n'
    for sc in "${SCENARIOS[@]}"; do
        for server in $SERVERS; do
            local rss
            rss=$(awk -v k="${RSS[$server,$sc]}" 'BEGIN { printf "%.1f", k / 1024 }')
            printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$sc" "$server" "${REQS[$server,$sc]}" \
                "${MB[$server,$sc]}" "${P99[$server,$sc]}" "$rss" "${CPU[$server,$sc]}" \
                "$(ratio "${REQS[$server,$sc]}" "${REQS[ours,$sc]:-0}")" "${ERRS[$server,$sc]}"
        done
    done
    echo
    echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, median of $ROUNDS interleaved rounds; $(nproc) CPUs; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
}

for mode in $MODES; do
    bench_mode "$mode"
done
echo "1k = www/files/1k.html (1024 bytes), 1m = www/files/big.bin (1 MiB); requests carry 'Connection: keep-alive' (keepalive) or 'Connection: close' (close)"
