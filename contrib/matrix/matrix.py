#!/usr/bin/env python3
"""The RFC 9110/9112 results matrix: run the RFC corpus at real servers and write
docs/matrix.md and docs/matrix.html.

    python3 contrib/matrix/matrix.py [--only nginx,apache] [--jobs 8] [--keep-json DIR]
    python3 contrib/matrix/matrix.py serve --until FILE   # start them, print ports, wait for FILE

Every server is started on a free loopback port with a config written to a temp dir, serving
the bundled site (www/); every process started is stopped by PID at the end, also on failure
or Ctrl-C. Explanations of fails (`notes.tsv`, one `server<TAB>case id<TAB>text` a line) are
shown beside the harness's own message.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import KEEPALIVE, SERVERS, Servers  # noqa: E402
from report import write_html, write_markdown  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
HARNESS = REPO / "target" / "release" / "harness"


def missing_programs(only):
    """The servers whose program is not installed, with the Debian package to install."""
    out = []
    for name, _, need in SERVERS:
        if need and name in only and shutil.which(need[0]) is None:
            out.append((name, need[1]))
    return out


def run_corpus(port, jobs, out):
    """Runs the RFC corpus at 127.0.0.1:port; returns (parsed JSON report, wall seconds)."""
    cmd = [str(HARNESS), "run", "cases", "--tag", "rfc", "--target", f"127.0.0.1:{port}",
           "--var", f"keepalive={KEEPALIVE}", "--jobs", str(jobs), "--format", "json",
           "--output", str(out), "--color", "never"]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.monotonic() - t0
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"harness failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    return json.loads(out.read_text()), wall


def version_of(name):
    probes = {
        "nginx": ["nginx", "-v"], "apache": ["apache2", "-v"], "lighttpd": ["lighttpd", "-v"],
        "busybox": ["busybox"], "mini_httpd": ["mini_httpd", "-V"],
        "python": ["python3", "--version"],
    }
    if name not in probes:
        return "this repository's server/"
    try:
        p = subprocess.run(probes[name], capture_output=True, timeout=5)
    except OSError:
        return "?"
    text = (p.stdout + p.stderr).decode(errors="replace").strip().splitlines()
    return text[0][:80] if text else "?"


def load_notes():
    """notes.tsv as [(server, case-id glob, text)], in file order (the first match wins)."""
    notes = []
    path = Path(__file__).resolve().parent / "notes.tsv"
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip() and not line.startswith("#"):
            parts = line.split("\t")
            if len(parts) != 3:
                sys.exit(f"{path}:{n}: expected server<TAB>case-id glob<TAB>text")
            notes.append(tuple(parts))
    return notes


def serve(only, until):
    """Starts the servers, prints their ports, and keeps them until the file `until` exists
    (or two hours pass)."""
    with tempfile.TemporaryDirectory(prefix="matrix-") as tmp, \
            Servers(tmp, REPO / "www", REPO) as srv:
        for name, configure, _ in SERVERS:
            if name in only:
                print(f"{name} 127.0.0.1:{srv.start(name, configure)}", flush=True)
        print(f"serving until {until} exists", flush=True)
        deadline = time.monotonic() + 7200
        while not until.exists() and time.monotonic() < deadline:
            time.sleep(0.5)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", nargs="?", default="run", choices=["run", "serve"])
    ap.add_argument("--only", default=",".join(n for n, _, _ in SERVERS))
    ap.add_argument("--jobs", type=int, default=8)
    ap.add_argument("--keep-json", type=Path, help="also keep each server's JSON report here")
    ap.add_argument("--until", type=Path, default=Path("/tmp/matrix-stop"),
                    help="serve: stop when this file exists")
    a = ap.parse_args()
    only = a.only.split(",")
    missing = missing_programs(only)
    if missing:
        pkgs = " ".join(p for _, p in missing if p)
        sys.exit(f"not installed: {', '.join(n for n, _ in missing)}; run `apt-get install {pkgs}`")
    if a.mode == "serve":
        return serve(only, a.until)
    results = {}
    with tempfile.TemporaryDirectory(prefix="matrix-") as tmp, \
            Servers(tmp, REPO / "www", REPO) as srv:
        for name, configure, _ in SERVERS:
            if name not in only:
                continue
            port = srv.start(name, configure)
            report, wall = run_corpus(port, a.jobs, Path(tmp) / f"{name}.json")
            results[name] = {"report": report, "wall": wall, "version": version_of(name)}
            counts = {}
            for c in report["cases"]:
                counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
            print(f"{name:<11} {wall:5.1f}s  {counts}", flush=True)
            if a.keep_json:
                a.keep_json.mkdir(parents=True, exist_ok=True)
                shutil.copy(Path(tmp) / f"{name}.json", a.keep_json / f"{name}.json")
    notes = load_notes()
    docs = REPO / "docs"
    docs.mkdir(exist_ok=True)
    write_markdown(results, notes, docs / "matrix.md")
    write_html(results, notes, docs / "matrix.html")
    print(f"wrote {docs / 'matrix.md'} and {docs / 'matrix.html'}")


if __name__ == "__main__":
    main()
