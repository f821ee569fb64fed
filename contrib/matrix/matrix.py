#!/usr/bin/env python3
"""The RFC 9110/9112 results matrix: run the RFC corpus at real servers and write
docs/matrix.md and docs/matrix.html.

    make matrix                                     # install the servers, build, run, write
    python3 contrib/matrix/matrix.py [--only nginx,apache] [--jobs 8] [--keep-json DIR]
    python3 contrib/matrix/matrix.py --from-json DIR  # rewrite the docs from kept reports
    python3 contrib/matrix/matrix.py serve --until FILE   # start them, print ports, wait for FILE

Every server is started on a free loopback port with a config written to a temp dir, serving
the bundled site (www/); every process started is stopped by PID at the end, also on failure
or Ctrl-C. Every fail must be explained by a line of `notes.tsv` (`server-glob<TAB>case-id
glob<TAB>text`, the first match wins), shown beside the harness's own message: the docs are
written either way, and the exit code is 3 when a fail has no note (each is listed), so a
regeneration says what still needs a word. Notes that explain no fail are listed as stale.
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
from report import fails, note_for, write_html, write_markdown  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
HARNESS = REPO / "target" / "release" / "harness"
NOTES = Path(__file__).resolve().parent / "notes.tsv"
EXIT_UNEXPLAINED = 3


def missing_programs(only):
    """The servers whose program is not installed, with the Debian package to install."""
    out = []
    for name, _, need, _ in SERVERS:
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
    """The server's own version line (python: the interpreter's, whose http.server it is)."""
    probes = {
        "nginx": ["nginx", "-v"], "apache": ["apache2", "-v"], "lighttpd": ["lighttpd", "-v"],
        "busybox": ["busybox"], "mini_httpd": ["mini_httpd", "-V"],
        "python": ["python3", "--version"],
    }
    probe = probes.get(name.split("-")[0])
    if probe is None:
        return f"this repository's server/ at {commit()}"
    try:
        p = subprocess.run(probe, capture_output=True, timeout=5)
    except OSError:
        return "?"
    text = (p.stdout + p.stderr).decode(errors="replace").strip().splitlines()
    line = text[0][:80] if text else "?"
    return f"{line}, http.server" if name.startswith("python") else line


def commit():
    """The commit the reference server was built from, and whether server/ has local edits."""
    def git(*args):
        try:
            p = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, timeout=5)
        except OSError:
            return ""
        return p.stdout.decode().strip()
    head = git("rev-parse", "--short", "HEAD") or "?"
    return head + (" with local edits to server/" if git("status", "--porcelain", "--", "server") else "")


def load_notes():
    """notes.tsv as [(server glob, case-id glob, text)], in file order (the first match wins)."""
    notes = []
    for n, line in enumerate(NOTES.read_text().splitlines(), 1):
        if line.strip() and not line.startswith("#"):
            parts = line.split("\t")
            if len(parts) != 3:
                sys.exit(f"{NOTES}:{n}: expected server-glob<TAB>case-id glob<TAB>text")
            notes.append(tuple(parts))
    return notes


def serve(only, until):
    """Starts the servers, prints their ports, and keeps them until the file `until` exists
    (or two hours pass)."""
    with tempfile.TemporaryDirectory(prefix="matrix-") as tmp, \
            Servers(tmp, REPO / "www", REPO) as srv:
        for name, configure, _, _ in SERVERS:
            if name in only:
                print(f"{name} 127.0.0.1:{srv.start(name, configure)}", flush=True)
        print(f"serving until {until} exists", flush=True)
        deadline = time.monotonic() + 7200
        while not until.exists() and time.monotonic() < deadline:
            time.sleep(0.5)


def run_all(only, jobs, keep):
    """Runs the corpus at each server in turn; {name: {"report", "wall", "version", "mode"}}.
    With `keep`, each report and its facts are also written there (for --from-json)."""
    results = {}
    with tempfile.TemporaryDirectory(prefix="matrix-") as tmp, \
            Servers(tmp, REPO / "www", REPO) as srv:
        for name, configure, _, mode in SERVERS:
            if name not in only:
                continue
            port = srv.start(name, configure)
            report, wall = run_corpus(port, jobs, Path(tmp) / f"{name}.json")
            results[name] = {"report": report, "wall": wall, "version": version_of(name),
                             "mode": mode}
            counts = {}
            for c in report["cases"]:
                counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
            print(f"{name:<11} {wall:5.1f}s  {counts}", flush=True)
            if keep:
                keep.mkdir(parents=True, exist_ok=True)
                (keep / f"{name}.json").write_text(json.dumps(results[name]))
    return results


def from_json(folder, only):
    """The results kept by an earlier --keep-json run, in the order of SERVERS."""
    results = {}
    for name, _, _, _ in SERVERS:
        path = folder / f"{name}.json"
        if name in only and path.exists():
            results[name] = json.loads(path.read_text())
    if not results:
        sys.exit(f"--from-json {folder}: no <server>.json there (written by --keep-json)")
    return results


def check_notes(results, notes):
    """Lists the fails no note explains and the notes that explain no fail; returns the number
    of unexplained fails."""
    unexplained = [(s, cid, msg) for s, cid, note, msg in fails(results, notes) if note is None]
    for s, cid, msg in unexplained:
        print(f"no note for a fail: {s}\t{cid}\t{msg[:200]}", file=sys.stderr)
    failed = [(s, cid) for s, cid, _, _ in fails(results, notes)]
    for glob_s, glob_c, text in notes:
        if not any(note_for([(glob_s, glob_c, text)], s, cid) for s, cid in failed):
            print(f"stale note (explains no fail): {glob_s}\t{glob_c}", file=sys.stderr)
    return len(unexplained)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", nargs="?", default="run", choices=["run", "serve"])
    ap.add_argument("--only", default=",".join(n for n, _, _, _ in SERVERS))
    ap.add_argument("--jobs", type=int, default=8)
    ap.add_argument("--keep-json", type=Path, help="also keep each server's JSON report here")
    ap.add_argument("--from-json", type=Path,
                    help="write the docs from the reports an earlier --keep-json kept there")
    ap.add_argument("--until", type=Path, default=Path("/tmp/matrix-stop"),
                    help="serve: stop when this file exists")
    a = ap.parse_args()
    only = a.only.split(",")
    if a.from_json:
        results = from_json(a.from_json, only)
    else:
        missing = missing_programs(only)
        if missing:
            pkgs = " ".join(p for _, p in missing if p)
            sys.exit(f"not installed: {', '.join(n for n, _ in missing)}; "
                     f"run `apt-get install {pkgs}`")
        if a.mode == "serve":
            return serve(only, a.until)
        results = run_all(only, a.jobs, a.keep_json)
    notes = load_notes()
    docs = REPO / "docs"
    docs.mkdir(exist_ok=True)
    write_markdown(results, notes, docs / "matrix.md")
    write_html(results, notes, docs / "matrix.html")
    print(f"wrote {docs / 'matrix.md'} and {docs / 'matrix.html'}")
    unexplained = check_notes(results, notes)
    if unexplained:
        print(f"{unexplained} fail(s) without a note in {NOTES}: add one line each "
              "(server-glob<TAB>case-id glob<TAB>why it is the server's deviation)",
              file=sys.stderr)
        sys.exit(EXIT_UNEXPLAINED)


if __name__ == "__main__":
    main()
