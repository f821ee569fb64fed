#!/usr/bin/env bash
# What one request costs each server, per load: CPU time, context switches and system calls,
# with the server on CPU 0 and wrk on CPU 1 (the per-core comparison of bench/run.sh), or
# with PROFILE_MODE=whole, both on every CPU (the whole-machine mode of bench/run.sh).
#
#   bench/profile.sh                          # ours and lighttpd, the three loads
#   PROFILE_SERVERS="ours nginx" PROFILE_DURATION=10s bench/profile.sh
#   PROFILE_RECORD=1 bench/profile.sh         # also `perf record -g` each run (kept in ./perf-*.data)
#   BENCH_OURS=path/to/server bench/profile.sh  # another build of ours (e.g. an older one)
#   PROFILE_MODE=whole bench/profile.sh       # unpinned: server and wrk share every CPU
#   PROFILE_SCENARIOS="1m-keepalive" bench/profile.sh  # only some of the loads
#   PROFILE_STRACE=0 bench/profile.sh         # perf stat only (quicker; no system call counts)
#
# Two runs per server and load:
# - under `perf stat` (software events: task-clock, context-switches; they work in VMs without
#   hardware counters): CPU µs and context switches per request, over the server's whole
#   life (start-up and the readiness probe are a few requests more, out of 10^4..10^6);
# - under `strace -c -f`: system calls per request, by name. strace slows the server down
#   several times, which changes how many requests share an `epoll_wait`, so counts of
#   epoll_wait are an upper bound; every other call is counted per request as it happens.
#
# Installs wrk, perf (linux-perf), strace and the servers with apt-get if missing.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SERVERS=${PROFILE_SERVERS:-"ours lighttpd"}
DURATION=${PROFILE_DURATION:-5s}
STRACE_DURATION=${PROFILE_STRACE_DURATION:-3s}
MODE=${PROFILE_MODE:-pin}
case "$MODE" in
    pin) PIN_SERVER=(taskset -c 0) PIN_WRK=(taskset -c 1) ;;
    whole) PIN_SERVER=() PIN_WRK=() ;;
    *) echo "PROFILE_MODE must be pin or whole, not $MODE" >&2; exit 2 ;;
esac
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

need_servers perf:linux-perf strace:strace taskset:util-linux
build_ours
write_configs
if [ "$MODE" = pin ] && [ "$(nproc)" -lt 2 ]; then
    echo "profile.sh pins the server and wrk to two different CPUs; this machine has one" >&2
    exit 2
fi

# The server's own process: the child of perf or strace.
server_child() {
    local child
    for _ in $(seq 50); do
        child=$(pgrep -P "$SERVER_PID" | head -1 || true)
        [ -n "$child" ] && { echo "$child"; return; }
        sleep 0.1
    done
    echo "$SERVER_PID"
}

load() { # scenario duration → wrk's output
    scenario_args "$1"
    "${PIN_WRK[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$2" "${WRK_EXTRA[@]}" "$URL" 2>&1
}

# CPU µs, context switches per request: "cpu cs reqs req/s"
measure_perf() { # server scenario
    local stat="$WORK/perf.stat" out n
    server_command "$1"
    start_cmd "${PIN_SERVER[@]}" perf stat -x, -e task-clock,context-switches -o "$stat" -- "${SERVER_CMD[@]}"
    local child
    child=$(server_child)
    local record=""
    if [ "${PROFILE_RECORD:-0}" = 1 ]; then
        perf record -q -g -e cpu-clock -F 2000 -p "$child" -o "$ROOT/perf-$1-$2.data" -- sleep 3 >/dev/null 2>&1 &
        record=$!
    fi
    out=$(load "$2" "$DURATION")
    [ -n "$record" ] && wait "$record" 2>/dev/null || true
    local tasks
    tasks=$(thread_switches "$child")
    stop_server "$child"
    n=$(echo "$out" | wrk_requests)
    awk -F, -v n="$n" -v rps="$(echo "$out" | awk '/^Requests\/sec:/ {printf "%.0f", $2}')" '
        $3 == "task-clock" { ms = $1 } $3 == "context-switches" { cs = $1 }
        END { printf "%.2f %.3f %d %d", ms * 1000 / n, cs / n, n, rps }' "$stat"
    echo "$tasks" | awk -v n="$n" '{ printf " %d %.3f %.3f\n", $1, $2 / n, $3 / n }'
}

# The server's threads now, and their voluntary and involuntary context switches so far
# (threads that exited are not counted): "threads voluntary involuntary"
thread_switches() { # pid
    cat /proc/"$1"/task/*/status 2>/dev/null | awk '
        /^voluntary_ctxt_switches/ { v += $2; t++ } /^nonvoluntary_ctxt_switches/ { i += $2 }
        END { printf "%d %d %d", t, v, i }'

}

# System calls per request: "total name×count ..." (the calls made at least 0.05 times per request)
measure_strace() { # server scenario
    local trace="$WORK/strace.txt" out n
    server_command "$1"
    start_cmd "${PIN_SERVER[@]}" strace -c -f -o "$trace" -- "${SERVER_CMD[@]}"
    local child
    child=$(server_child)
    out=$(load "$2" "$STRACE_DURATION")
    stop_server "$child"
    n=$(echo "$out" | wrk_requests)
    awk -v n="$n" '
        $1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" {
            name = $NF; per[name] = $4 / n; total += $4 / n; order[++k] = name
        }
        END {
            printf "%.2f", total
            for (i = 1; i <= k; i++) if (per[order[i]] >= 0.05) printf " %s×%.2f", order[i], per[order[i]]
            printf "\n"
        }' "$trace"
}

echo
echo "| load | server | req/s (under perf) | CPU µs/req | context switches/req | voluntary, involuntary/req | threads | system calls/req | of which (per request) |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---|"
read -r -a LOADS <<<"${PROFILE_SCENARIOS:-${SCENARIOS[*]}}"
for sc in "${LOADS[@]}"; do
    for server in $SERVERS; do
        say "$server: $sc under perf stat ($DURATION)"
        read -r cpu cs _ rps threads vol invol <<<"$(measure_perf "$server" "$sc")"
        total="-" calls="(PROFILE_STRACE=0)"
        if [ "${PROFILE_STRACE:-1}" != 0 ]; then
            say "$server: $sc under strace -c ($STRACE_DURATION)"
            read -r total calls <<<"$(measure_strace "$server" "$sc")"
        fi
        printf '| %s | %s | %s | %s | %s | %s, %s | %s | %s | %s |\n' "$sc" "$server" "$rps" "$cpu" "$cs" "$vol" "$invol" "$threads" "$total" "$calls"
    done
done
echo
where="server on CPU 0, wrk -t$THREADS -c$CONNECTIONS on CPU 1"
[ "$MODE" = whole ] && where="server and wrk -t$THREADS -c$CONNECTIONS on every CPU"
echo "$where; $(nproc) CPUs; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
