#!/usr/bin/env bash
# Loads our server, lighttpd, nginx and `python3 -m http.server` with wrk on the same files of
# www/, one server at a time, and prints req/s, throughput, p99 latency, peak RSS and each
# one's ratio to ours.
#
#   bench/run.sh                 # everything: 3 rounds x 4 servers x 3 loads x 5 s, about 4 minutes
#   BENCH_DURATION=5s bench/run.sh
#   BENCH_SERVERS="ours lighttpd" bench/run.sh
#
# Installs wrk, lighttpd and nginx with apt-get if they are missing. Every server it starts is
# killed when it exits, however it exits.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WWW="$ROOT/www"
DURATION=${BENCH_DURATION:-5s}
ROUNDS=${BENCH_ROUNDS:-3}
CONNECTIONS=${BENCH_CONNECTIONS:-50}
THREADS=${BENCH_THREADS:-2}
PORT=${BENCH_PORT:-18480}
SERVERS=${BENCH_SERVERS:-"ours lighttpd nginx python"}
# By default every server runs as designed on the whole machine (lighttpd: one event loop;
# nginx: one worker per CPU; ours: one thread per connection), sharing the CPUs with wrk.
# BENCH_PIN=1 pins the server to CPU 0 and wrk to CPU 1: a per-core comparison.
PIN=${BENCH_PIN:-0}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ws-bench.XXXXXX")
PIDS=()
cleanup() {
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    done
    sleep 0.3
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# --- tools -------------------------------------------------------------------------------
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v lighttpd >/dev/null || [ -x /usr/sbin/lighttpd ] || need+=(lighttpd)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v python3 >/dev/null || need+=(python3)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"; then
        $SUDO apt-get update
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
    fi
fi
export PATH="$PATH:/usr/sbin:/sbin"

say "building our server (release)"
(cd "$ROOT" && cargo build --release -p server --quiet)
OURS="$ROOT/target/release/server"

PIN_SERVER=()
PIN_WRK=()
if [ "$PIN" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    PIN_SERVER=(taskset -c 0)
    PIN_WRK=(taskset -c 1)
fi

# --- server configurations ---------------------------------------------------------------
TYPES_WS=".html text/html
.htm text/html
.txt text/plain
.css text/css
.js application/javascript
.png image/png
.gif image/gif
.jpg image/jpeg
.ico image/x-icon
.json application/json
.bin application/octet-stream"

cat >"$WORK/ws.conf" <<EOF
Listen 127.0.0.1:$PORT
DocumentRoot "$WWW"
DirectoryIndex index.html
$TYPES_WS
KeepaliveTime 10
RequestMethodSupport GET HEAD
EOF

cat >"$WORK/lighttpd.conf" <<EOF
server.document-root = "$WWW"
server.bind = "127.0.0.1"
server.port = $PORT
server.errorlog = "$WORK/lighttpd.err"
server.max-keep-alive-requests = 1000000
server.max-keep-alive-idle = 10
index-file.names = ( "index.html" )
mimetype.assign = (
$(echo "$TYPES_WS" | awk '{printf "  \"%s\" => \"%s\",\n", $1, $2}')
)
EOF

mkdir -p "$WORK/nginx-tmp"
cat >"$WORK/nginx.conf" <<EOF
daemon off;
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/nginx.err;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 10;
    keepalive_requests 1000000;
    client_body_temp_path $WORK/nginx-tmp/body;
    proxy_temp_path $WORK/nginx-tmp/proxy;
    fastcgi_temp_path $WORK/nginx-tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx-tmp/uwsgi;
    scgi_temp_path $WORK/nginx-tmp/scgi;
    types {
$(echo "$TYPES_WS" | awk '{printf "        %s %s;\n", $2, substr($1, 2)}')
    }
    server {
        listen 127.0.0.1:$PORT;
        root $WWW;
        index index.html;
    }
}
EOF

start_server() { # name → sets SERVER_PID
    local log="$WORK/$1.log"
    case "$1" in
        ours) "${PIN_SERVER[@]}" "$OURS" --config "$WORK/ws.conf" --no-access-log >"$log" 2>&1 & ;;
        lighttpd) "${PIN_SERVER[@]}" lighttpd -D -f "$WORK/lighttpd.conf" >"$log" 2>&1 & ;;
        nginx) "${PIN_SERVER[@]}" nginx -c "$WORK/nginx.conf" >"$log" 2>&1 & ;;
        python) (cd "$WWW" && exec "${PIN_SERVER[@]}" python3 -m http.server "$PORT" --bind 127.0.0.1) >"$log" 2>&1 & ;;
    esac
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$PORT/files/1k.html" && return 0
        sleep 0.1
    done
    echo "$1 did not start:" >&2
    cat "$log" >&2
    return 1
}

stop_server() {
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    # Wait for the port to be free again.
    for _ in $(seq 50); do
        curl -s -o /dev/null "http://127.0.0.1:$PORT/" || break
        sleep 0.1
    done
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

# CPU time (utime + stime, clock ticks) of a process and its children (nginx's workers).
cpu_ticks() {
    local total=0 pid
    for pid in "$1" $(pgrep -P "$1" 2>/dev/null || true); do
        local t
        t=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
        total=$((total + ${t:-0}))
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

SCENARIOS=("1k-keepalive" "1k-close" "1m-keepalive")
run_wrk() { # scenario → prints "reqs mb p99 errors cpu_us_per_request"
    # wrk sends no Connection header; the assignment (and so our server) keeps a connection
    # open only when asked, so every server gets an explicit header.
    local url="http://127.0.0.1:$PORT/files/1k.html" extra=(-H "Connection: keep-alive")
    case "$1" in
        1k-close) extra=(-H "Connection: close") ;;
        1m-keepalive) url="http://127.0.0.1:$PORT/files/big.bin" ;;
    esac
    local out t0 t1
    t0=$(cpu_ticks "$SERVER_PID")
    out=$("${PIN_WRK[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "${extra[@]}" "$url" 2>&1)
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
    n=$(echo "$out" | awk '/requests in/ {print $1}')
    cpu=$(awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v n="${n:-0}" \
        'BEGIN { if (n > 0) printf "%.1f", t / hz * 1e6 / n; else print 0 }')
    echo "${reqs:-0} ${mb:-0} ${p99:-0} ${errs:-0} ${cpu:-0}"
}

# Rounds interleave the servers, so that a change in the machine's load (other jobs) hits
# every server alike; each figure is the median over the rounds (peak RSS: the maximum).
declare -A REQS MB P99 RSS ERRS CPU
for round in $(seq "$ROUNDS"); do
    for server in $SERVERS; do
        for sc in "${SCENARIOS[@]}"; do
            say "round $round/$ROUNDS, $server: $sc ($DURATION, $CONNECTIONS connections)"
            start_server "$server"
            read -r r m p e c <<<"$(run_wrk "$sc")"
            REQS[$server,$sc]+="$r " MB[$server,$sc]+="$m " P99[$server,$sc]+="$p " CPU[$server,$sc]+="$c "
            ERRS[$server,$sc]=$(( ${ERRS[$server,$sc]:-0} + ${e:-0} ))
            RSS[$server,$sc]+="$(peak_rss_kib "$SERVER_PID") "
            stop_server
        done
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maximum() { tr ' ' '\n' | grep -v '^$' | sort -g | tail -1; }
for key in "${!REQS[@]}"; do
    REQS[$key]=$(echo "${REQS[$key]}" | median)
    MB[$key]=$(echo "${MB[$key]}" | median)
    P99[$key]=$(echo "${P99[$key]}" | median)
    CPU[$key]=$(echo "${CPU[$key]}" | median)
    RSS[$key]=$(echo "${RSS[$key]}" | maximum)
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

echo
printf '| scenario | server | req/s | MB/s | p99 ms | peak RSS MiB | server CPU µs/req | req/s vs ours | errors (all rounds) |\n'
printf '|---|---|---:|---:|---:|---:|---:|---:|---|\n'
for sc in "${SCENARIOS[@]}"; do
    for server in $SERVERS; do
        rss=$(awk -v k="${RSS[$server,$sc]}" 'BEGIN { printf "%.1f", k / 1024 }')
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$sc" "$server" "${REQS[$server,$sc]}" \
            "${MB[$server,$sc]}" "${P99[$server,$sc]}" "$rss" "${CPU[$server,$sc]}" \
            "$(ratio "${REQS[$server,$sc]}" "${REQS[ours,$sc]:-0}")" "${ERRS[$server,$sc]}"
    done
done
echo
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, median of $ROUNDS interleaved rounds; $(nproc) CPUs; pinned: ${PIN_SERVER[*]:-no} / ${PIN_WRK[*]:-no}"
echo "1k = www/files/1k.html (1024 bytes), 1m = www/files/big.bin (1 MiB); requests carry 'Connection: keep-alive' (keepalive) or 'Connection: close' (close)"
