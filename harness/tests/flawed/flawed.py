#!/usr/bin/env python3
"""A small web server, written the way a student writes the ws.conf assignment, with exactly one
deliberate mistake chosen by --flaw. `--flaw none` is a correct server (different from the
reference one), so the corpus must give it full marks.

    python3 flawed.py --flaw NAME --root DIR [--keepalive SECONDS] [--conf WS_CONF] [--port 0]

It prints `listening on 127.0.0.1:PORT` first, then serves DIR until SIGTERM or SIGINT.
Standard library only. Without --conf it reads no ws.conf and uses the types and index names of
the repository's ws.conf, with RequestMethodSupport GET HEAD. With --conf it reads that file's
types, DirectoryIndex, RequestMethodSupport and KeepaliveTime (--keepalive still wins), and a
file it cannot read makes it answer every request with 500, as the assignment asks.
"""
import argparse
import os
import re
import signal
import socket
import threading
import time
import urllib.parse

FLAWS = {
    "none": "a correct server",
    # concurrency
    "single-threaded": "serves one connection at a time",
    "first-recv-in-accept": "reads a connection's first bytes on the accept loop, so a silent client blocks everyone",
    # keep-alive
    "never-closes": "ignores Connection and the keep-alive timeout: never closes a connection",
    "closes-always": "ignores keep-alive: closes after every response",
    "timer-from-start": "counts the keep-alive timeout from the connection's start, not from the last request",
    "no-keepalive-header": "never sends a Connection header (keeps the connection as asked)",
    "close-case-sensitive": "keeps connections open by default and looks for `Connection: close` with that exact capitalization",
    "http10-keeps": "keeps an HTTP/1.0 connection open as if it were HTTP/1.1",
    # request line
    "accepts-http2": "accepts any HTTP/x.y version and echoes it in the status line",
    "any-version-1x": "accepts any version that starts with HTTP/1.",
    "unknown-method-501": "answers a method it does not know (GRT, GE@T) with 501 instead of 400",
    "any-method-200": "serves every real method (POST, PUT, DELETE) like GET",
    "head-when-unsupported": "answers HEAD even when RequestMethodSupport leaves it out",
    "url-no-slash": "serves a URL that does not start with / as if it did",
    # files and types
    "missing-is-200": "answers a missing file with 200 and an error page",
    "unmapped-200": "serves a file whose extension ws.conf does not map as application/octet-stream",
    "html-as-plain": "sends .html files as text/plain",
    "octet-stream": "sends every type but HTML as application/octet-stream",
    "jpg-type": "sends .jpg as image/jpg although its ws.conf maps it to image/jpeg",
    "strlen-body": "ends a file's body at its first NUL byte (a strlen() on binary data)",
    "short-body": "reads files into a fixed 64 KiB buffer: big files are cut short",
    "no-directory-index": "answers a folder with 404 instead of its DirectoryIndex",
    "only-index-html": "tries only index.html, not the other DirectoryIndex names",
    "head-body": "sends the body after a HEAD response",
    # reading requests
    "no-bare-lf": "only \\r\\n\\r\\n ends a request head, so `\\r\\n\\n` requests hang",
    "lf-head-at-timeout": "only \\r\\n\\r\\n ends a head, but a partial head is answered when the keep-alive timer fires",
    "first-recv-line": "takes the request line from the first packet of a request",
    "answers-early": "answers as soon as the request line is complete, before the head ends",
    "drops-pipelined": "drops whatever follows a request head in the same read",
    # traversal
    "leaks-dotdot": "serves paths containing .. without checking",
    "leaks-encoded": "checks for .. before percent-decoding the path",
    "leaks-config": "serves paths containing .. without checking, and maps .conf to text/plain",
    # form
    "lf-only": "ends the status line and headers with a bare LF",
    "no-reason": "sends no reason phrase (`HTTP/1.1 200`)",
    "no-content-length": "sends no Content-Length, so it closes after every response to end the body",
    "error-no-length": "sends error pages without Content-Length, even on a kept-alive connection",
    "pads-files": "sends a file from a fixed 4 KiB-multiple buffer: NUL padding after the body",
    # configuration
    "ignores-broken-config": "skips the lines of ws.conf it cannot read and serves as usual",
}

DEFAULT_TYPES = {
    ".html": "text/html", ".htm": "text/html", ".txt": "text/plain", ".css": "text/css",
    ".js": "application/javascript", ".png": "image/png", ".gif": "image/gif",
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".ico": "image/x-icon",
    ".json": "application/json", ".pdf": "application/pdf", ".bin": "application/octet-stream",
}
KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH"}
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error",
           501: "Not Implemented"}
BUF = 65536

flaw = "none"
root = "."
keepalive = 10.0
types = dict(DEFAULT_TYPES)
index_names = ["index.html", "index.htm"]
methods = {"GET", "HEAD"}
broken = None  # why ws.conf could not be read, if it could not
current = threading.local()  # the method of the request being answered


def read_conf(path):
    """Reads ws.conf: types, DirectoryIndex, RequestMethodSupport, KeepaliveTime. Returns what
    was wrong with it (None when it is fine); a bad line is skipped either way."""
    global types, index_names, methods
    found, wrong, ka = {}, None, None
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            key = words[0]
            if key.startswith("."):
                if len(words) != 2:
                    wrong = wrong or f"{path}:{n}: a type line needs `.ext type/subtype`"
                    continue
                found[key.lower()] = words[1]
            elif key == "DirectoryIndex" and len(words) > 1:
                index_names = words[1:]
            elif key == "RequestMethodSupport" and len(words) > 1:
                methods = set(words[1:])
            elif key == "KeepaliveTime" and len(words) == 2:
                ka = float(words[1])
            elif key not in ("Listen", "DocumentRoot"):
                wrong = wrong or f"{path}:{n}: unknown line {line.strip()!r}"
    types = found if flaw != "ignores-broken-config" else {**DEFAULT_TYPES, **found}
    return wrong, ka


def end_of_head(buf):
    """Where the request head ends: (end of head, start of what follows), or None."""
    if flaw in ("no-bare-lf", "lf-head-at-timeout"):
        i = buf.find(b"\r\n\r\n")
        return (i, i + 4) if i >= 0 else None
    m = re.search(rb"\r?\n\r?\n", buf)
    return (m.start(), m.end()) if m else None


def respond(conn, status, version, ctype, body, keep, send_body=True, length=None):
    nl = "\n" if flaw == "lf-only" else "\r\n"
    reason = "" if flaw == "no-reason" else f" {REASONS[status]}"
    head = f"{version} {status}{reason}{nl}"
    if ctype:
        head += f"Content-Type: {ctype}{nl}"
    no_length = flaw == "no-content-length" or (flaw == "error-no-length" and status >= 400)
    if not no_length:
        head += f"Content-Length: {len(body) if length is None else length}{nl}"
    if flaw != "no-keepalive-header":
        head += f"Connection: {'keep-alive' if keep else 'close'}{nl}"
    head += nl
    if flaw == "pads-files" and status == 200 and send_body:
        body += b"\0" * (-len(body) % 4096)
    conn.sendall(head.encode() + (body if send_body else b""))


def error(conn, status, version, reason, keep=False):
    body = f"<html><body>{status} {REASONS[status]} Reason: {reason}</body></html>".encode()
    # A response to HEAD has no body, an error page included (RFC 9110 §9.3.2).
    respond(conn, status, version, "text/html", body, keep, getattr(current, "method", "") != "HEAD")


def find_file(path):
    """The file a decoded path names, or None when it does not exist."""
    full = os.path.join(root, path.lstrip("/"))
    if os.path.isdir(full):
        if flaw == "no-directory-index":
            return None
        names = ["index.html"] if flaw == "only-index-html" else index_names
        for name in names:
            if os.path.isfile(os.path.join(full, name)):
                return os.path.join(full, name)
        return None
    return full if os.path.isfile(full) else None


def content_type(path):
    ext = os.path.splitext(path)[1].lower()
    if flaw == "leaks-config" and ext == ".conf":
        return "text/plain"
    ctype = types.get(ext)
    if ctype is None:
        return "application/octet-stream" if flaw == "unmapped-200" else None
    if flaw == "html-as-plain" and ext == ".html":
        return "text/plain"
    if flaw == "octet-stream" and ctype != "text/html":
        return "application/octet-stream"
    if flaw == "jpg-type" and ext == ".jpg":
        return "image/jpg"
    return ctype


def parse_head(head):
    """(method, url, version, headers by lower-case name, headers as written, request line parts)."""
    lines = head.decode("latin-1").replace("\r\n", "\n").split("\n")
    parts = lines[0].split(" ")
    headers, written = {}, {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
        written[name.strip()] = value.strip()
    return parts, headers, written


def keep_alive(version, headers, written):
    """Whether to keep the connection open after this request."""
    connection = headers.get("connection", "").lower()
    if flaw == "never-closes":
        return True
    if flaw in ("closes-always", "no-content-length"):
        return False
    if flaw == "http10-keeps":
        return "close" not in connection
    if flaw == "close-case-sensitive" and version == "HTTP/1.1":
        return written.get("Connection", "").lower() != "close"
    return "keep-alive" in connection


def handle_request(conn, head):
    """Answers one request; returns whether to keep the connection open."""
    parts, headers, written = parse_head(head)
    if broken is not None:
        error(conn, 500, "HTTP/1.1", "the server's ws.conf is broken")
        return False
    method = parts[0]
    current.method = method
    url = parts[1] if len(parts) > 1 else ""
    version = parts[2] if len(parts) > 2 else ""
    reply_version = version if flaw == "accepts-http2" else "HTTP/1.1"
    if len(parts) != 3 or (method not in KNOWN_METHODS and flaw != "unknown-method-501"):
        error(conn, 400, "HTTP/1.1", f"Invalid Method: {method}")
        return False
    if flaw == "url-no-slash" and not url.startswith("/"):
        url = "/" + url
    if not url.startswith("/") or re.search(r"[\x00-\x20\x7f]", url):
        error(conn, 400, "HTTP/1.1", f"Invalid URL: {url}")
        return False
    if flaw == "accepts-http2":
        valid = re.fullmatch(r"HTTP/\d\.\d", version)
    elif flaw == "any-version-1x":
        valid = version.startswith("HTTP/1.")
    else:
        valid = version in ("HTTP/1.0", "HTTP/1.1")
    if not valid:
        error(conn, 400, "HTTP/1.1", f"Invalid HTTP-Version: {version}")
        return False

    keep = keep_alive(version, headers, written)
    supported = method in methods
    if flaw == "any-method-200" or (flaw == "head-when-unsupported" and method == "HEAD"):
        supported = True
    if not supported or method not in ("GET", "HEAD", "POST", "PUT", "DELETE"):
        error(conn, 501, reply_version, f"method {method}", keep)
        return keep
    raw_path = url.split("?", 1)[0]
    path = urllib.parse.unquote(raw_path)
    checked = raw_path if flaw == "leaks-encoded" else path
    if flaw not in ("leaks-dotdot", "leaks-config") and ".." in checked.split("/"):
        error(conn, 400, reply_version, f"Invalid URL: {url}", keep)
        return keep
    found = find_file(path)
    if found is None:
        if flaw == "missing-is-200":
            respond(conn, 200, reply_version, "text/html", b"<html><body>File not found</body></html>", keep)
        else:
            error(conn, 404, reply_version, f"URL does not exist: {url}", keep)
        return keep
    ctype = content_type(found)
    if ctype is None:
        error(conn, 501, reply_version, f"file type of {url}", keep)
        return keep
    with open(found, "rb") as f:
        body = f.read(BUF) if flaw == "short-body" else f.read()
    length = os.path.getsize(found)
    if flaw == "strlen-body" and b"\0" in body:
        body = body[:body.index(b"\0")]
        length = len(body)
    send_body = method != "HEAD" or flaw == "head-body"
    respond(conn, 200, reply_version, ctype, body, keep, send_body, length)
    return keep


def receive(conn, started):
    """One recv: bytes, or b"" at the end. The wait is what is left of the keep-alive time."""
    if flaw == "timer-from-start":
        left = started + keepalive - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        conn.settimeout(left)
    return conn.recv(BUF)


def read_head(conn, buf, started):
    """Reads one request head: (head, what follows it), or None when the connection ends."""
    first = buf
    end = end_of_head(buf)
    while end is None:
        if flaw == "answers-early" and b"\r\n" in buf:
            # The request line alone, with no headers: answered, then the connection closed.
            return buf[:buf.index(b"\r\n")], b""
        try:
            data = receive(conn, started)
        except socket.timeout:
            if flaw == "lf-head-at-timeout" and buf.strip():
                return buf.strip(), b""
            raise
        if not data:
            return None
        if not first:
            first = data
        buf += data
        end = end_of_head(buf)
    head, rest = buf[:end[0]], buf[end[1]:]
    if flaw == "first-recv-line":
        line = re.split(rb"\r?\n", first)[0]
        head = line + b"\r\n" + b"\r\n".join(re.split(rb"\r?\n", head)[1:])
    if flaw == "drops-pipelined":
        rest = b""
    return head, rest


def serve_connection(conn, buf=b""):
    started = time.monotonic()
    try:
        # Wait at most KeepaliveTime for each request (the whole wait restarts after each answer).
        conn.settimeout(None if flaw == "never-closes" else keepalive)
        while True:
            got = read_head(conn, buf, started)
            if got is None:
                return
            head, buf = got
            m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            if m:  # a request body (POST): read it and drop it
                need = int(m.group(1))
                while len(buf) < need:
                    data = receive(conn, started)
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
    global flaw, root, keepalive, broken
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="flaws:\n" + "\n".join(f"  {k:<22} {v}" for k, v in FLAWS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--flaw", required=True, choices=sorted(FLAWS))
    p.add_argument("--root", required=True)
    p.add_argument("--keepalive", type=float, default=None)
    p.add_argument("--conf", help="the ws.conf to read (types, index names, methods)")
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args()
    flaw, root = args.flaw, os.path.abspath(args.root)
    conf_keepalive = None
    if args.conf:
        broken, conf_keepalive = read_conf(args.conf)
        if flaw == "ignores-broken-config":
            broken = None
    keepalive = args.keepalive or conf_keepalive or 10.0

    # Exit at once: no interpreter shutdown waiting on threads that serve connections.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(128)
    print(f"listening on 127.0.0.1:{listener.getsockname()[1]}", flush=True)
    while True:
        conn, _ = listener.accept()
        if flaw == "single-threaded":
            serve_connection(conn)
            continue
        first = b""
        if flaw == "first-recv-in-accept":
            try:
                first = conn.recv(BUF)
            except OSError:
                pass
        threading.Thread(target=serve_connection, args=(conn, first), daemon=True).start()


if __name__ == "__main__":
    main()
