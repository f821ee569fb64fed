"""Erin's web server for PA2.

Multi-threaded (one thread per client), persistent connections with the KeepaliveTime of
ws.conf, and only the methods listed in RequestMethodSupport.
"""
import os
import socket
import threading

ALL_METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH"}


class Config:
    def __init__(self, path="ws.conf"):
        self.port = 8888
        self.root = "www"
        self.index = ["index.html"]
        self.types = {}
        self.keepalive = 10.0
        self.methods = {"GET"}
        self.broken = False
        with open(path) as f:
            for raw in f:
                line = raw.strip()
                if not line or line.startswith("#"):
                    continue
                words = line.split()
                key = words[0]
                if key.startswith("."):
                    if len(words) < 2:
                        self.broken = True
                    else:
                        self.types[key.lower()] = words[1]
                elif key == "Listen":
                    self.port = int(words[1])
                elif key == "DocumentRoot":
                    self.root = line[len(key):].strip().strip('"')
                elif key == "DirectoryIndex":
                    self.index = words[1:]
                elif key == "KeepaliveTime":
                    self.keepalive = float(words[1])
                elif key == "RequestMethodSupport":
                    self.methods = set(words[1:])
        # a relative DocumentRoot is relative to where the server runs
        self.root = os.path.abspath(self.root)


conf = Config()


def page(status, reason):
    return ("<html><head><title>%s</title></head><body><h1>%s</h1><p>%s</p></body></html>\n"
            % (status, status, reason)).encode()


def respond(sock, status, ctype, body, keep, send_body=True):
    head = ["HTTP/1.1 " + status,
            "Content-Type: " + ctype,
            "Content-Length: %d" % len(body),
            "Connection: " + ("keep-alive" if keep else "close")]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + (body if send_body else b""))


def answer(sock, head):
    """Answers one request head; returns True to keep the connection."""
    lines = head.decode("latin-1").replace("\r\n", "\n").split("\n")
    parts = lines[0].split(" ")
    headers = {}
    for l in lines[1:]:
        if ":" in l:
            k, v = l.split(":", 1)
            headers[k.strip().lower()] = v.strip().lower()
    if len(parts) != 3 or parts[0] not in ALL_METHODS:
        respond(sock, "400 Bad Request", "text/html", page("400 Bad Request", "Invalid Method"), False)
        return False
    method, url, version = parts
    if not url.startswith("/"):
        respond(sock, "400 Bad Request", "text/html", page("400 Bad Request", "Invalid URL"), False)
        return False
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        respond(sock, "400 Bad Request", "text/html", page("400 Bad Request", "Invalid HTTP-Version"), False)
        return False
    keep = headers.get("connection", "") == "keep-alive"
    if conf.broken:
        respond(sock, "500 Internal Server Error", "text/html", page("500 Internal Server Error", "bad ws.conf"), False)
        return False
    if method not in conf.methods:
        respond(sock, "501 Not Implemented", "text/html", page("501 Not Implemented", method), keep)
        return keep
    url = url.split("?", 1)[0]
    path = os.path.realpath(conf.root + url)
    if path != conf.root and not path.startswith(conf.root + os.sep):
        respond(sock, "403 Forbidden", "text/html", page("403 Forbidden", "outside the document root"), keep)
        return keep
    if os.path.isdir(path):
        for name in conf.index:
            if os.path.isfile(os.path.join(path, name)):
                path = os.path.join(path, name)
                break
    if not os.path.isfile(path):
        respond(sock, "404 Not Found", "text/html", page("404 Not Found", "URL does not exist: " + url), keep)
        return keep
    ext = os.path.splitext(path)[1].lower()
    if ext not in conf.types:
        respond(sock, "501 Not Implemented", "text/html", page("501 Not Implemented", "File type " + ext), keep)
        return keep
    with open(path, "rb") as f:
        data = f.read()
    respond(sock, "200 OK", conf.types[ext], data, keep)
    return keep


def client(sock):
    buf = b""
    try:
        while True:
            sock.settimeout(conf.keepalive if not buf else 10)
            while b"\r\n\r\n" not in buf and b"\n\n" not in buf:
                chunk = sock.recv(8192)
                if not chunk:
                    return
                buf += chunk
            a, b = buf.find(b"\r\n\r\n"), buf.find(b"\n\n")
            end = a + 4 if a >= 0 and (b < 0 or a < b) else b + 2
            head, buf = buf[:end], buf[end:]
            if not answer(sock, head):
                return
    except (socket.timeout, OSError):
        pass
    finally:
        sock.close()


def main():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", conf.port))
    server.listen(64)
    print("Erin's server: http://127.0.0.1:%d/ serving %s" % (conf.port, conf.root), flush=True)
    while True:
        sock, _ = server.accept()
        threading.Thread(target=client, args=(sock,), daemon=True).start()


if __name__ == "__main__":
    main()
