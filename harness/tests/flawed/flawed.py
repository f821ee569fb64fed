#!/usr/bin/env python3
"""A small web server, written the way a student writes the ws.conf assignment, with exactly one
deliberate mistake chosen by --flaw. `--flaw none` is a correct server (different from the
reference one), so the corpus must give it full marks.

    python3 flawed.py --flaw NAME --root DIR --keepalive SECONDS [--port 0]

It prints `listening on 127.0.0.1:PORT` first, then serves DIR until SIGTERM or SIGINT.
Standard library only. The content types and index files are those of the repository's ws.conf.
"""
import argparse
import os
import re
import signal
import socket
import sys
import threading
import urllib.parse

FLAWS = {
    "none": "a correct server",
    "single-threaded": "serves one connection at a time",
    "never-closes": "ignores Connection and the keep-alive timeout: never closes a connection",
    "closes-always": "ignores keep-alive: closes after every response",
    "accepts-http2": "accepts any HTTP/x.y version and echoes it in the status line",
    "missing-is-200": "answers a missing file with 200 and an error page",
    "no-bare-lf": "only \\r\\n\\r\\n ends a request head, so `\\r\\n\\n` requests hang",
    "short-body": "reads files into a fixed 64 KiB buffer: big files are cut short",
    "leaks-dotdot": "serves paths containing .. without checking",
    "lf-only": "ends the status line and headers with a bare LF",
    "no-content-length": "sends no Content-Length, so it closes after every response to end the body",
}

TYPES = {
    ".html": "text/html", ".htm": "text/html", ".txt": "text/plain", ".css": "text/css",
    ".js": "application/javascript", ".png": "image/png", ".gif": "image/gif",
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".ico": "image/x-icon",
    ".json": "application/json", ".pdf": "application/pdf", ".bin": "application/octet-stream",
}
INDEX = ["index.html", "index.htm"]
KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH"}
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 501: "Not Implemented"}
BUF = 65536

flaw = "none"
root = "."
keepalive = 10.0


def end_of_head(buf):
    """Where the request head ends: (end of head, start of what follows), or None."""
    if flaw == "no-bare-lf":
        i = buf.find(b"\r\n\r\n")
        return (i, i + 4) if i >= 0 else None
    m = re.search(rb"\r?\n\r?\n", buf)
    return (m.start(), m.end()) if m else None


def respond(conn, status, version, ctype, body, keep, send_body=True, length=None):
    nl = "\n" if flaw == "lf-only" else "\r\n"
    head = f"{version} {status} {REASONS[status]}{nl}"
    if ctype:
        head += f"Content-Type: {ctype}{nl}"
    if flaw != "no-content-length":
        head += f"Content-Length: {len(body) if length is None else length}{nl}"
    head += f"Connection: {'keep-alive' if keep else 'close'}{nl}{nl}"
    conn.sendall(head.encode() + (body if send_body else b""))


def error(conn, status, version, reason, keep=False):
    body = f"<html><body>{status} {REASONS[status]} Reason: {reason}</body></html>".encode()
    respond(conn, status, version, "text/html", body, keep)


def find_file(url):
    """The file a URL names, or None when it does not exist."""
    path = urllib.parse.unquote(url.split("?", 1)[0])
    full = os.path.join(root, path.lstrip("/"))
    if os.path.isdir(full):
        for name in INDEX:
            if os.path.isfile(os.path.join(full, name)):
                return os.path.join(full, name)
        return None
    return full if os.path.isfile(full) else None


def handle_request(conn, head):
    """Answers one request; returns whether to keep the connection open."""
    lines = head.decode("latin-1").replace("\r\n", "\n").split("\n")
    parts = lines[0].split(" ")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    method = parts[0]
    url = parts[1] if len(parts) > 1 else ""
    version = parts[2] if len(parts) > 2 else ""
    reply_version = version if flaw == "accepts-http2" else "HTTP/1.1"
    if len(parts) != 3 or method not in KNOWN_METHODS:
        error(conn, 400, "HTTP/1.1", f"Invalid Method: {method}")
        return False
    if not url.startswith("/") or re.search(r"[\x00-\x20\x7f]", url):
        error(conn, 400, "HTTP/1.1", f"Invalid URL: {url}")
        return False
    valid = re.fullmatch(r"HTTP/\d\.\d", version) if flaw == "accepts-http2" else version in ("HTTP/1.0", "HTTP/1.1")
    if not valid:
        error(conn, 400, "HTTP/1.1", f"Invalid HTTP-Version: {version}")
        return False

    connection = headers.get("connection", "").lower()
    keep = "keep-alive" in connection
    if flaw == "never-closes":
        keep = True
    if flaw in ("closes-always", "no-content-length"):
        keep = False

    if method not in ("GET", "HEAD"):
        error(conn, 501, reply_version, f"method {method}", keep)
        return keep
    if flaw != "leaks-dotdot" and ".." in urllib.parse.unquote(url).split("/"):
        error(conn, 400, reply_version, f"Invalid URL: {url}", keep)
        return keep
    path = find_file(url)
    if path is None:
        if flaw == "missing-is-200":
            respond(conn, 200, reply_version, "text/html", b"<html><body>File not found</body></html>", keep)
        else:
            error(conn, 404, reply_version, f"URL does not exist: {url}", keep)
        return keep
    ctype = TYPES.get(os.path.splitext(path)[1].lower())
    if ctype is None:
        error(conn, 501, reply_version, f"file type of {url}", keep)
        return keep
    with open(path, "rb") as f:
        body = f.read(BUF) if flaw == "short-body" else f.read()
    respond(conn, 200, reply_version, ctype, body, keep, method == "GET", os.path.getsize(path))
    return keep


def serve_connection(conn):
    buf = b""
    try:
        # Wait at most KeepaliveTime for each request (the whole wait restarts after each answer).
        conn.settimeout(None if flaw == "never-closes" else keepalive)
        while True:
            end = end_of_head(buf)
            while end is None:
                data = conn.recv(BUF)
                if not data:
                    return
                buf += data
                end = end_of_head(buf)
            head, buf = buf[:end[0]], buf[end[1]:]
            m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            if m:  # a request body (POST): read it and drop it
                need = int(m.group(1))
                while len(buf) < need:
                    data = conn.recv(BUF)
                    if not data:
                        return
                    buf += data
                buf = buf[need:]
            if not handle_request(conn, head):
                return
    except (socket.timeout, ConnectionError, OSError):
        pass
    finally:
        conn.close()


def main():
    global flaw, root, keepalive
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="flaws:\n" + "\n".join(f"  {k:<18} {v}" for k, v in FLAWS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--flaw", required=True, choices=sorted(FLAWS))
    p.add_argument("--root", required=True)
    p.add_argument("--keepalive", type=float, default=10)
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args()
    flaw, root, keepalive = args.flaw, os.path.abspath(args.root), args.keepalive

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(128)
    print(f"listening on 127.0.0.1:{listener.getsockname()[1]}", flush=True)
    while True:
        conn, _ = listener.accept()
        if flaw == "single-threaded":
            serve_connection(conn)
        else:
            threading.Thread(target=serve_connection, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
