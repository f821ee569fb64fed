# shellcheck shell=bash disable=SC2034
# Shared by bench/run.sh and bench/profile.sh (sourced, not run): the servers' configurations
# on www/, starting and stopping them (every server started is killed on exit, however the
# script exits), the three loads, and the tools they need.
#
# Expects ROOT (the repository) and SERVERS (a list of: ours lighttpd nginx python) to be set.

WWW="$ROOT/www"
PORT=${BENCH_PORT:-18480}
CONNECTIONS=${BENCH_CONNECTIONS:-50}
THREADS=${BENCH_THREADS:-2}
SCENARIOS=("1k-keepalive" "1k-close" "1m-keepalive")

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

# Installs (apt-get) the Debian packages named, each given as COMMAND:PACKAGE, whose command
# is missing.
need_tools() {
    local need=() spec
    for spec in "$@"; do
        command -v "${spec%%:*}" >/dev/null || [ -x "/usr/sbin/${spec%%:*}" ] || need+=("${spec#*:}")
    done
    [ ${#need[@]} -eq 0 ] && return 0
    say "installing ${need[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"; then
        $sudo apt-get update
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
    fi
}

# wrk and curl, and the servers of SERVERS that are not ours.
need_servers() {
    local tools=(wrk:wrk curl:curl) s
    for s in $SERVERS; do
        case "$s" in
            lighttpd) tools+=(lighttpd:lighttpd) ;;
            nginx) tools+=(nginx:nginx) ;;
            python) tools+=(python3:python3) ;;
        esac
    done
    need_tools "${tools[@]}" "$@"
    export PATH="$PATH:/usr/sbin:/sbin"
}

# Our server: BENCH_OURS if set (e.g. an older build to compare with), else the release build.
build_ours() {
    if [ -n "${BENCH_OURS:-}" ]; then
        OURS=$BENCH_OURS
        return
    fi
    say "building our server (release)"
    (cd "$ROOT" && cargo build --release -p server --quiet)
    OURS="$ROOT/target/release/server"
}

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

write_configs() {
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
}

# The command line of a server: our server with --no-access-log, lighttpd and nginx with
# their access logs off (lighttpd: one event loop; nginx: one worker per CPU), python3's
# http.server (a thread per connection).
server_command() { # name → SERVER_CMD (array)
    case "$1" in
        ours) SERVER_CMD=("$OURS" --config "$WORK/ws.conf" --no-access-log) ;;
        lighttpd) SERVER_CMD=(lighttpd -D -f "$WORK/lighttpd.conf") ;;
        nginx) SERVER_CMD=(nginx -c "$WORK/nginx.conf") ;;
        python) SERVER_CMD=(python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$WWW") ;;
        *) echo "unknown server: $1 (ours, lighttpd, nginx, python)" >&2; exit 2 ;;
    esac
}

# Starts `$@` (a server, maybe behind taskset, perf or strace) and waits until it answers.
# Sets SERVER_PID.
start_cmd() {
    local log="$WORK/server.log"
    "$@" >"$log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$PORT/files/1k.html" && return 0
        sleep 0.1
    done
    echo "the server did not start: $*" >&2
    cat "$log" >&2
    return 1
}

# Stops the server started by start_cmd (TERM to `pid`, default SERVER_PID, then KILL), and
# waits until SERVER_PID has exited and the port is free.
stop_server() {
    local pid=${1:-$SERVER_PID}
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$pid" "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do
        curl -s -o /dev/null "http://127.0.0.1:$PORT/" || break
        sleep 0.1
    done
}

# The URL and extra wrk arguments of a scenario. wrk sends no Connection header; the
# assignment (and so our server) keeps a connection open only when asked, so every server
# gets an explicit header.
scenario_args() { # scenario → URL, WRK_EXTRA (array)
    URL="http://127.0.0.1:$PORT/files/1k.html"
    WRK_EXTRA=(-H "Connection: keep-alive")
    case "$1" in
        1k-close) WRK_EXTRA=(-H "Connection: close") ;;
        1m-keepalive) URL="http://127.0.0.1:$PORT/files/big.bin" ;;
    esac
}

# Requests wrk completed, from its output.
wrk_requests() { awk '/requests in/ {print $1}'; }
