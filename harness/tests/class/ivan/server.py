# Ivan P. -- programming assignment 2 -- HTTP server with threads
import os
import socket
import sys
import threading

QUIET = 0.15  # the handout's requests end in "\r\n\n": a request is also over after this much silence
KNOWN_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH"]

port = 8888
root = "www"
indexes = []
types = {}
keepalive = 10
broken = False
with open("ws.conf") as conf:
    for line in conf:
        line = line.strip()
        if line == "" or line[0] == "#":
            continue
        if line[0] == ".":
            fields = line.split()
            if len(fields) != 2:
                broken = True
                continue
            types[fields[0]] = fields[1]
        elif line.startswith("Listen"):
            port = int(line.split()[1])
        elif line.startswith("DocumentRoot"):
            root = line.split(" ", 1)[1].strip().strip('"')
        elif line.startswith("DirectoryIndex"):
            indexes = line.split()[1:]
        elif line.startswith("Keep-Alive time"):
            keepalive = int(line.split()[-1])


def read_request(conn):
    """Waits up to keepalive seconds for a request, then reads until the empty line, or until
    the client goes quiet."""
    conn.settimeout(keepalive)
    data = conn.recv(4096)
    if not data:
        return None
    conn.settimeout(QUIET)
    while b"\r\n\r\n" not in data:
        try:
            more = conn.recv(4096)
        except socket.timeout:
            break
        if not more:
            break
        data += more
    return data


def respond(conn, status, content_type, body, keep_alive, head=False):
    header = "HTTP/1.1 " + status + "\r\n"
    header += "Content-Type: " + content_type + "\r\n"
    header += "Content-Length: " + str(len(body)) + "\r\n"
    header += "Connection: " + ("keep-alive" if keep_alive else "close") + "\r\n\r\n"
    conn.sendall(header.encode() + (b"" if head else body))


def error(conn, status, reason, keep_alive):
    body = "<html><body><h1>" + status + "</h1><p>Reason: " + reason + "</p></body></html>"
    respond(conn, status, "text/html", body.encode(), keep_alive)
    return keep_alive


def handle(conn, data):
    lines = data.decode("latin-1").split("\n")
    words = lines[0].split()
    keep_alive = False
    for l in lines[1:]:
        if l.lower().startswith("connection:") and "keep-alive" in l.lower():
            keep_alive = True
    if len(words) < 1 or words[0] not in KNOWN_METHODS:
        return error(conn, "400 Bad Request", "Invalid Method", False)
    if len(words) < 2 or not words[1].startswith("/"):
        return error(conn, "400 Bad Request", "Invalid URL", False)
    if len(words) < 3 or words[2] not in ("HTTP/1.0", "HTTP/1.1"):
        return error(conn, "400 Bad Request", "Invalid HTTP-Version", False)
    method, url = words[0], words[1].split("?")[0]
    if broken:
        return error(conn, "500 Internal Server Error", "cannot allocate memory", False)
    if method != "GET" and method != "HEAD":
        return error(conn, "501 Not Implemented", method, keep_alive)
    if ".." in url:
        return error(conn, "403 Forbidden", "Forbidden", keep_alive)
    path = root + url
    if os.path.isdir(path):
        for name in indexes:
            if os.path.exists(os.path.join(path, name)):
                path = os.path.join(path, name)
                break
    if not os.path.isfile(path):
        return error(conn, "404 Not Found", "URL does not exist", keep_alive)
    ext = "." + path.rsplit(".", 1)[-1] if "." in os.path.basename(path) else ""
    if ext not in types:
        return error(conn, "501 Not Implemented", "File type not supported", keep_alive)
    with open(path, "rb") as f:
        respond(conn, "200 OK", types[ext], f.read(), keep_alive, method == "HEAD")
    return keep_alive


def client(conn):
    try:
        while True:
            data = read_request(conn)
            if data is None or not handle(conn, data):
                break
    except OSError:
        pass
    conn.close()


def main():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(100)
    print("server started on port", port)
    sys.stdout.flush()
    while True:
        conn, addr = s.accept()
        t = threading.Thread(target=client, args=(conn,))
        t.daemon = True
        t.start()


main()
