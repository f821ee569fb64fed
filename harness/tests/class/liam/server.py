"""Liam -- PA2 -- a threaded web server on raw sockets."""
import os
import socket
import threading

# what to do for each method: serve it, or answer 501
METHOD_ACTION = {
    "GET": "serve", "HEAD": "serve",
    "POST": "501", "PUT": "501", "DELETE": "501", "OPTIONS": "501",
    "TRACE": "501", "CONNECT": "501", "PATCH": "501",
}


def load_conf():
    c = {"types": {}, "index": ["index.html"], "error": False, "keepalive": 10}
    for line in open("ws.conf"):
        if line.startswith("#") or not line.strip():
            continue
        if "Listen" in line:
            c["port"] = int(line.split()[-1])
        elif "DocumentRoot" in line:
            c["root"] = line.split(None, 1)[1].strip().strip('"')
        elif "DirectoryIndex" in line:
            c["index"] = line.split()[1:]
        elif "Keepalive" in line:
            c["keepalive"] = int(line.split()[-1])
        elif line.startswith("."):
            f = line.split()
            if len(f) == 2:
                c["types"][f[0]] = f[1]
            else:
                c["error"] = True
    return c


CONF = load_conf()


def build(status, headers, body):
    text = "HTTP/1.1 " + status + "\n"
    for k, v in headers:
        text += k + ": " + v + "\n"
    return (text + "\n").encode() + body


def error_response(status, reason, keep):
    body = ("<html><body><h1>%s</h1><p>Reason: %s</p></body></html>" % (status, reason)).encode()
    return build(status, [("Content-Type", "text/html"), ("Content-Length", str(len(body))),
                          ("Connection", "keep-alive" if keep else "close")], body)


def process(request):
    """Returns (bytes to send, keep the connection open)."""
    lines = request.decode("latin-1").splitlines()
    method, url, version = (lines[0].split() + ["", "", ""])[:3]
    keep = any(l.lower().replace(" ", "") == "connection:keep-alive" for l in lines[1:])
    if METHOD_ACTION[method] == "501":
        return error_response("501 Not Implemented", method, keep), keep
    if not url.startswith("/"):
        return error_response("400 Bad Request", "Invalid URL", False), False
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        return error_response("400 Bad Request", "Invalid HTTP-Version", False), False
    if CONF["error"]:
        return error_response("500 Internal Server Error", "cannot allocate memory", False), False
    if ".." in url:
        return error_response("403 Forbidden", "Forbidden", keep), keep
    path = CONF["root"] + url.split("?")[0]
    if os.path.isdir(path):
        for name in CONF["index"]:
            if os.path.isfile(os.path.join(path, name)):
                path = os.path.join(path, name)
                break
    if not os.path.isfile(path):
        return error_response("404 Not Found", "URL does not exist", keep), keep
    ext = os.path.splitext(path)[1]
    if ext not in CONF["types"]:
        return error_response("501 Not Implemented", "File type not supported", keep), keep
    with open(path, "rb") as f:
        body = f.read()
    headers = [("Content-Type", CONF["types"][ext]), ("Content-Length", str(len(body))),
               ("Connection", "keep-alive" if keep else "close")]
    return build("200 OK", headers, b"" if method == "HEAD" else body), keep


def handle_client(conn):
    conn.settimeout(CONF["keepalive"])
    pending = b""
    while True:
        while b"\r\n\r\n" not in pending and b"\n\n" not in pending:
            try:
                data = conn.recv(4096)
            except socket.timeout:
                data = b""
            if not data:
                conn.close()
                return
            pending += data
        a, b = pending.find(b"\r\n\r\n"), pending.find(b"\n\n")
        cut = a + 4 if a != -1 and (b == -1 or a < b) else b + 2
        response, keep = process(pending[:cut])
        pending = pending[cut:]
        conn.sendall(response)
        if not keep:
            conn.close()
            return


def main():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", CONF["port"]))
    listener.listen(32)
    print("Listening on 127.0.0.1:%d" % CONF["port"], flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle_client, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
