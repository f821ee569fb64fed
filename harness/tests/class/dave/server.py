# Dave - PA2 web server in Python (sockets + threads)
# run: python3 server.py
import os
import socket
import sys
import threading

METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH"]


def read_config():
    # the config has the same layout as the handout: line 2 is the port, line 4 the root,
    # line 6 the index files, the types from line 8 to the "#connection timeout" comment,
    # and the timeout on the line after it
    with open("ws.conf") as f:
        lines = [l.rstrip("\r\n") for l in f]
    conf = {"error": False, "types": {}}
    conf["port"] = int(lines[1].split()[1])
    conf["root"] = lines[3].split(None, 1)[1].strip('"')
    conf["index"] = lines[5].split()[1:]
    i = 7
    while not lines[i].startswith("#"):
        parts = lines[i].split()
        if len(parts) != 2:
            conf["error"] = True
        else:
            conf["types"][parts[0]] = parts[1]
        i += 1
    conf["timeout"] = float(lines[i + 1].split()[-1])
    return conf


CONF = read_config()


def send_response(conn, status, ctype, body, head_only=False):
    # no keep-alive: every response is the last one on its connection
    header = "HTTP/1.1 %s\r\nContent-Type: %s\r\nConnection: close\r\n\r\n" % (status, ctype)
    conn.sendall(header.encode() + (b"" if head_only else body))


def error(conn, status, reason):
    body = "<html><body><h1>%s</h1><p>Reason: %s</p></body></html>" % (status, reason)
    send_response(conn, status, "text/html", body.encode())


def handle(conn):
    data = b""
    conn.settimeout(CONF["timeout"])
    while b"\r\n\r\n" not in data and b"\n\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk
    request_line = data.split(b"\n")[0].decode("latin-1").strip()
    parts = request_line.split()
    if len(parts) != 3:
        return error(conn, "400 Bad Request", "Invalid Method")
    method, url, version = parts
    if method not in METHODS:
        return error(conn, "400 Bad Request", "Invalid Method")
    if not url.startswith("/"):
        return error(conn, "400 Bad Request", "Invalid URL")
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        return error(conn, "400 Bad Request", "Invalid HTTP-Version")
    if CONF["error"]:
        return error(conn, "500 Internal Server Error", "cannot allocate memory")
    if method not in ("GET", "HEAD"):
        return error(conn, "501 Not Implemented", method)
    url = url.split("?")[0]
    if ".." in url:
        return error(conn, "403 Forbidden", "Forbidden")
    path = CONF["root"] + url
    if os.path.isdir(path):
        for name in CONF["index"]:
            if os.path.isfile(os.path.join(path, name)):
                path = os.path.join(path, name)
                break
        else:
            return error(conn, "404 Not Found", "URL does not exist")
    if not os.path.isfile(path):
        return error(conn, "404 Not Found", "URL does not exist")
    ext = os.path.splitext(path)[1]
    if ext not in CONF["types"]:
        return error(conn, "501 Not Implemented", "File type not supported")
    with open(path, "rb") as f:
        body = f.read()
    send_response(conn, "200 OK", CONF["types"][ext], body, method == "HEAD")


def worker(conn):
    try:
        handle(conn)
    except (socket.timeout, OSError):
        pass
    finally:
        conn.close()


def main():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", CONF["port"]))
    s.listen(50)
    print("serving", CONF["root"], "on port", CONF["port"], flush=True)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=worker, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
