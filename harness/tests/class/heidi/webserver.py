#!/usr/bin/env python3
# Heidi -- PA2 web server. python3 webserver.py
# Serves one client at a time, keeping its connection while it asks for keep-alive.
import os
import socket

VALID = ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH")

config = {"types": {}, "index": [], "bad": False}
for line in open("ws.conf"):
    words = line.split()
    if not words or words[0].startswith("#"):
        continue
    if words[0].startswith("."):
        if len(words) == 2:
            config["types"][words[0]] = words[1]
        else:
            config["bad"] = True
    elif words[0] == "Listen":
        config["port"] = int(words[1])
    elif words[0] == "DocumentRoot":
        config["root"] = words[1].strip('"')
    elif words[0] == "DirectoryIndex":
        config["index"] = words[1:]
    elif words[0] == "KeepaliveTime":
        config["keepalive"] = int(words[1])


def send(conn, code, text, ctype, body, keep, is_head=False):
    lines = "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: %s\r\n\r\n" % (
        code, text, ctype, len(body), "keep-alive" if keep else "close")
    conn.sendall(lines.encode() + (b"" if is_head else body))


def send_error(conn, code, text, reason, keep):
    body = "<html><body><h1>%d %s</h1><p>Reason: %s</p></body></html>" % (code, text, reason)
    send(conn, code, text, "text/html", body.encode(), keep)
    return keep


def do_request(conn, head):
    text = head.decode("latin-1")
    first, _, rest = text.partition("\n")
    parts = first.split()
    if len(parts) != 3 or parts[0] not in VALID:
        return send_error(conn, 400, "Bad Request", "Invalid Method", False)
    method, url, version = parts
    if url[0] != "/":
        return send_error(conn, 400, "Bad Request", "Invalid URL", False)
    if version != "HTTP/1.1" and version != "HTTP/1.0":
        return send_error(conn, 400, "Bad Request", "Invalid HTTP-Version", False)
    keep = version == "HTTP/1.1"
    for h in rest.split("\n"):
        name, _, value = h.partition(":")
        if name.strip().lower() == "connection":
            keep = value.strip().lower() == "keep-alive"
    if config["bad"]:
        return send_error(conn, 500, "Internal Server Error", "cannot allocate memory", False)
    if method not in ("GET", "HEAD"):
        return send_error(conn, 501, "Not Implemented", method, keep)
    if ".." in url:
        return send_error(conn, 403, "Forbidden", "Forbidden", keep)
    path = os.path.join(config["root"], url.split("?")[0].lstrip("/"))
    if os.path.isdir(path):
        found = [os.path.join(path, i) for i in config["index"] if os.path.isfile(os.path.join(path, i))]
        if not found:
            return send_error(conn, 404, "Not Found", "URL does not exist", keep)
        path = found[0]
    if not os.path.isfile(path):
        return send_error(conn, 404, "Not Found", "URL does not exist", keep)
    ext = os.path.splitext(path)[1]
    if ext not in config["types"]:
        return send_error(conn, 501, "Not Implemented", "File type not supported", keep)
    with open(path, "rb") as f:
        send(conn, 200, "OK", config["types"][ext], f.read(), keep, method == "HEAD")
    return keep


def serve_connection(conn):
    data = b""
    conn.settimeout(config["keepalive"])
    while True:
        while b"\r\n\r\n" not in data and b"\n\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        i, j = data.find(b"\r\n\r\n"), data.find(b"\n\n")
        end = i + 4 if i != -1 and (j == -1 or i < j) else j + 2
        head, data = data[:end], data[end:]
        if not do_request(conn, head):
            return


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", config["port"]))
server.listen(20)
print("Heidi's server listening on", config["port"], flush=True)
while True:
    conn, addr = server.accept()
    try:
        serve_connection(conn)
    except OSError:
        pass
    conn.close()
