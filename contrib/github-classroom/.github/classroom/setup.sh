#!/bin/sh
# The setup-command of every grader step of .github/workflows/classroom.yml (GitHub Classroom).
#
# The first step installs the httpcheck harness and the assignment's cases into ~/.httpcheck
# and builds the student's server; every step (re)writes ~/.httpcheck/start, the command that
# starts the server, from the repository's START file or START_CMD below. The steps' commands
# read only ~/.httpcheck: ~/.httpcheck/harness, ~/.httpcheck/cases, ~/.httpcheck/www and
# ~/.httpcheck/start.
#
# The grader action passes only PATH and HOME on to this script (not a workflow's `env:`), so
# what it needs is written below. The HTTPCHECK_* and *_CMD variables of the environment override
# it, to try the workflow outside GitHub (see contrib/github-classroom/README.md of httpcheck).
set -eu

# ---- Fill in ---------------------------------------------------------------------------------
# 1. httpcheck's repository: the harness, its releases and the cases come from there.
REPO=${HTTPCHECK_REPO:-https://github.com/OWNER/httpcheck}
# 2. The release (a tag) to use: its asset `harness-x86_64-linux` and its cases/ and www/.
VERSION=${HTTPCHECK_VERSION:-v0.1.0}
# 3. How to install the harness: `release` (download that asset: seconds), `cargo` (build it
#    with `cargo install --git REPO --rev <the commit of VERSION> harness`: about 2 minutes, no
#    release needed; VERSION may then be a branch), or `local:DIR` (a checkout of httpcheck on
#    this machine, with the binary HTTPCHECK_BIN or DIR/target/release/harness).
INSTALL=${HTTPCHECK_INSTALL:-release}
# 4. How a student's server starts when the repository has no START file (its first line that is
#    not blank or a # comment wins). It runs in a copy of the repository, with its ws.conf
#    patched for the run; {port}, {config} (the ws.conf's path), {root} and {dir} are filled in.
START_CMD=${START_CMD:-./server}
# 5. How it is built, once, before the first step, when the repository has no BUILD file
#    (same form as START). Empty: nothing to build (a Python server, or a START that builds).
BUILD_CMD=${BUILD_CMD:-}
# ----------------------------------------------------------------------------------------------

H=$HOME/.httpcheck

die() {
    echo "httpcheck setup: $*" >&2
    exit 1
}

# The first line of FILE that is not blank or a # comment.
first_line() {
    grep -v '^[[:space:]]*#' "$1" | grep -v '^[[:space:]]*$' | head -n 1 || true
}

# The harness, cases/ and www/ of VERSION into $H (from scratch: a failed attempt is retried by
# the next step).
install() {
    rm -rf "$H"
    mkdir -p "$H"
    case $INSTALL in
    local:*) install_local "${INSTALL#local:}" ;;
    release) fetch_cases && install_release ;;
    cargo) fetch_cases && install_cargo ;;
    *) die "INSTALL=$INSTALL: use release, cargo or local:DIR" ;;
    esac
    ln -s src/cases/assignment "$H/cases"
    ln -s src/www "$H/www"
    "$H/harness" --version >/dev/null || die "$H/harness does not run"
    touch "$H/installed"
    echo "httpcheck: $("$H/harness" --version) installed ($INSTALL), with the cases of $FROM"
}

# cases/assignment and www of VERSION: a shallow, sparse clone (nothing else is fetched).
fetch_cases() {
    case $REPO in
    *OWNER*) die "fill in REPO at the top of .github/classroom/setup.sh (httpcheck's repository URL)" ;;
    esac
    git clone --quiet --depth 1 --branch "$VERSION" --filter=blob:none --sparse "$REPO" "$H/src" ||
        die "cannot clone $REPO at $VERSION (a tag or branch): check REPO and VERSION"
    git -C "$H/src" sparse-checkout set cases/assignment www
    FROM="$REPO at $VERSION"
}

install_release() {
    url=$REPO/releases/download/$VERSION/harness-x86_64-linux
    curl -fsSL --retry 3 -o "$H/harness" "$url" ||
        die "cannot download $url: does release $VERSION have the asset harness-x86_64-linux? (or set INSTALL=cargo)"
    chmod +x "$H/harness"
}

install_cargo() {
    rev=$(git -C "$H/src" rev-parse HEAD)
    cargo install --quiet --locked --git "$REPO" --rev "$rev" --root "$H/cargo" harness ||
        die "cargo install --git $REPO --rev $rev harness failed"
    ln -s cargo/bin/harness "$H/harness"
}

install_local() {
    [ -d "$1/cases/assignment" ] || die "INSTALL=local:$1: no cases/assignment there"
    bin=${HTTPCHECK_BIN:-$1/target/release/harness}
    [ -x "$bin" ] || die "INSTALL=local:$1: no harness binary at $bin (set HTTPCHECK_BIN)"
    ln -s "$1" "$H/src"
    FROM=$1
    ln -s "$bin" "$H/harness"
}

# ~/.httpcheck/start: the START file's command, else START_CMD (replaced whole, never half written).
write_start() {
    if [ -f START ]; then
        cmd=$(first_line START)
        from="the START file"
    else
        cmd=$START_CMD
        from="START_CMD in .github/classroom/setup.sh"
    fi
    [ -n "$cmd" ] || die "no start command: add a START file whose first line starts the server"
    printf '%s\n' "$cmd" >"$H/start.$$"
    mv -f "$H/start.$$" "$H/start"
    echo "httpcheck: the server starts with: $cmd  ($from)"
}

# The build, once per job; a failed build fails every step, saying where its output is.
build_once() {
    if [ -f "$H/built" ]; then
        status=$(cat "$H/built")
        [ "$status" = 0 ] || die "the build failed (exit status $status): its output is in the first step's log"
        return 0
    fi
    if [ -f BUILD ]; then cmd=$(first_line BUILD); else cmd=$BUILD_CMD; fi
    status=0
    if [ -n "$cmd" ]; then
        echo "httpcheck: building: $cmd"
        timeout 600 sh -c "$cmd" || status=$?
    fi
    echo "$status" >"$H/built"
    [ "$status" = 0 ] || die "the build ($cmd) failed with exit status $status"
}

[ -f "$H/installed" ] || install
write_start
build_once
