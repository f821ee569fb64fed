#!/usr/bin/env bash
# contrib/flips.sh N TARGET [harness run args...]: run the cases N times at a running server and
# list every case whose verdict changed between runs (same bytes should give the same verdict).
#
#   cargo build --release -p harness
#   contrib/flips.sh 5 127.0.0.1:8080 cases --tag rfc
#
# Prints, per changed case, its verdict in each run and each run's first message, then
# `flips: K of M`. Exit 0 when nothing changed, 1 when something did, 2 on a usage error.
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: $0 N HOST:PORT [harness run args...]" >&2; exit 2; }
n=$1; target=$2; shift 2
harness=${HARNESS:-target/release/harness}
[ -x "$harness" ] || harness=target/debug/harness
[ -x "$harness" ] || { echo "$0: build the harness first (cargo build --release -p harness)" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for i in $(seq 1 "$n"); do
  "$harness" run --target "$target" --format json "$@" > "$out/$i.json" 2> "$out/$i.err"
  if [ ! -s "$out/$i.json" ]; then
    echo "$0: $harness wrote no report (is it up to date? cargo build --release -p harness):" >&2
    head -n 20 "$out/$i.err" >&2
    exit 2
  fi
done
python3 - "$out" "$n" <<'PY'
import json, sys
d, n = sys.argv[1], int(sys.argv[2])
runs = []
for i in range(1, n + 1):
    cases = json.load(open(f"{d}/{i}.json"))["cases"]
    runs.append({c["id"]: (c["verdict"], (c["messages"] or [""])[0][:160]) for c in cases})
flips = 0
for cid in runs[0]:
    got = [r.get(cid, ("missing", "")) for r in runs]
    if len({v for v, _ in got}) > 1:
        flips += 1
        print(cid, [v for v, _ in got])
        for i, (v, m) in enumerate(got, 1):
            print(f"    run {i}: {v}  {m}")
print(f"flips: {flips} of {len(runs[0])}")
sys.exit(1 if flips else 0)
PY
