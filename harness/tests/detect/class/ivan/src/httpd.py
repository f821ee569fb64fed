"""Ivan's web server: it lives in src/ but reads ws.conf from the folder it runs in (tab
separated); DocumentRoot's leading / is stripped; the keep-alive key is spelled keep_alive."""
import os
import socket
import threading

CONF = {}
TYPES = {}
for raw in open("ws.conf"):
    parts = raw.split()
    if not parts or parts[0].startswith("#"):
        continue
    if parts[0].startswith("."):
        TYPES[parts[0]] = parts[1] if len(parts) > 1 else None
    else:
        CONF[parts[0]] = parts[1] if len(parts) > 1 else ""
ROOT = CONF["DocumentRoot"].strip('"').lstrip("/")


def serve(conn):
    with conn:
        req = conn.recv(4096).decode("latin-1")
        path = req.split(" ")[1] if req.count(" ") >= 2 else "/"
        if path.endswith("/"):
            path += "index.html"
        full = os.path.join(ROOT, path.lstrip("/"))
        ext = os.path.splitext(full)[1]
        if os.path.isfile(full):
            body = open(full, "rb").read()
            head = "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % (
                TYPES.get(ext) or "application/octet-stream", len(body))
            conn.sendall(head.encode() + body)
        else:
            conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


if __name__ == "__main__":
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(CONF["Listen"])))
    s.listen(16)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
