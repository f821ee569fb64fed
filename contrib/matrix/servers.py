"""Starting real HTTP servers on loopback ports, each serving the bundled site (www/), with its
configuration written to a temp dir; and stopping them again, by PID, whatever happens.

Each server is described by a function that writes its config into a folder and returns the
command that runs it in the foreground. `Servers` starts them, waits until each port accepts
connections, and stops every process it started (TERM to its process group, then KILL).
"""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

# KeepaliveTime given to every server that has one (seconds), and {keepalive} of the cases.
KEEPALIVE = 5

MIME = {
    "html": "text/html", "htm": "text/html", "txt": "text/plain", "css": "text/css",
    "js": "application/javascript", "png": "image/png", "gif": "image/gif",
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "ico": "image/x-icon",
    "json": "application/json", "bin": "application/octet-stream",
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginx(d, port, www, repo):
    types = "".join(f"    {t} {e};\n" for e, t in MIME.items())
    (d / "nginx.conf").write_text(f"""daemon off;
user root root;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 256; }}
http {{
  types {{
{types}  }}
  access_log off;
  client_body_temp_path {d}/body;
  keepalive_timeout {KEEPALIVE};
  server {{
    listen 127.0.0.1:{port};
    root {www};
    index index.html index.htm;
  }}
}}
""")
    return ["nginx", "-c", str(d / "nginx.conf"), "-p", str(d)]


def lighttpd(d, port, www, repo):
    types = ", ".join(f'".{e}" => "{t}"' for e, t in MIME.items())
    (d / "lighttpd.conf").write_text(f"""server.document-root = "{www}"
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{d}/error.log"
server.max-keep-alive-idle = {KEEPALIVE}
server.modules = ("mod_indexfile", "mod_staticfile")
index-file.names = ("index.html", "index.htm")
mimetype.assign = ({types})
""")
    return ["lighttpd", "-D", "-f", str(d / "lighttpd.conf")]


def apache(d, port, www, repo):
    mods = ["mpm_event", "authz_core", "mime", "dir"]
    load = "".join(
        f"LoadModule {m}_module /usr/lib/apache2/modules/mod_{m}.so\n" for m in mods)
    types = "".join(f"AddType {t} .{e}\n" for e, t in MIME.items())
    (d / "logs").mkdir()
    (d / "apache2.conf").write_text(f"""{load}ServerRoot {d}
ServerName localhost
Listen 127.0.0.1:{port}
PidFile {d}/apache2.pid
ErrorLog {d}/error.log
User www-data
Group www-data
KeepAlive On
KeepAliveTimeout {KEEPALIVE}
DocumentRoot {www}
DirectoryIndex index.html index.htm
TypesConfig /dev/null
{types}<Directory />
  Require all granted
</Directory>
""")
    env = "APACHE_RUN_DIR={0} APACHE_LOCK_DIR={0} APACHE_LOG_DIR={0}".format(d)
    return ["env", *env.split(), "apache2", "-f", str(d / "apache2.conf"), "-DFOREGROUND"]


def busybox(d, port, www, repo):
    (d / "httpd.conf").write_text(
        "".join(f".{e}:{t}\n" for e, t in MIME.items()))
    return ["busybox", "httpd", "-f", "-p", f"127.0.0.1:{port}", "-h", str(www),
            "-c", str(d / "httpd.conf")]


def mini_httpd(d, port, www, repo):
    return ["mini_httpd", "-D", "-h", "127.0.0.1", "-p", str(port), "-d", str(www),
            "-u", "root", "-l", str(d / "access.log"), "-T", "utf-8"]


def python_as(protocol):
    """python's http.server (ThreadingHTTPServer, SimpleHTTPRequestHandler) answering as
    `protocol`: its `protocol_version`, which decides everything about its connections. As
    HTTP/1.0 (the default) it closes after every response; as HTTP/1.1 it keeps the connection
    open and reads the next request from it, bodies it never read included."""
    def python(d, port, www, repo):
        return ["python3", "-m", "http.server", str(port), "--bind", "127.0.0.1",
                "--directory", str(www), "--protocol", protocol]
    return python


def reference(d, port, www, repo):
    conf = (repo / "ws.conf").read_text()
    lines = []
    for line in conf.splitlines():
        if line.startswith("DocumentRoot"):
            line = f'DocumentRoot "{www}"'
        elif line.startswith("KeepaliveTime"):
            line = f"KeepaliveTime {KEEPALIVE}"
        elif line.startswith("Listen"):
            line = f"Listen {port}"
        lines.append(line)
    (d / "ws.conf").write_text("\n".join(lines) + "\n")
    server = repo / "target" / "release" / "server"
    return [str(server), "--config", str(d / "ws.conf"), "--listen", f"127.0.0.1:{port}"]


# name, how to configure it, the program that must exist (the Debian package that has it), and
# the mode it runs in, as the matrix states it.
SERVERS = [
    ("reference", reference, None,
     f"this repository's ws.conf, KeepaliveTime {KEEPALIVE}"),
    ("nginx", nginx, ("nginx", "nginx"),
     f"static files, 1 worker, keepalive_timeout {KEEPALIVE}"),
    ("apache", apache, ("apache2", "apache2"),
     f"mpm_event, mod_mime/mod_dir only, KeepAlive On, KeepAliveTimeout {KEEPALIVE}"),
    ("lighttpd", lighttpd, ("lighttpd", "lighttpd"),
     f"mod_staticfile, max-keep-alive-idle {KEEPALIVE}"),
    ("busybox", busybox, ("busybox", "busybox"), "busybox httpd -f (foreground)"),
    ("mini_httpd", mini_httpd, ("mini_httpd", "mini-httpd"), "mini_httpd -D (foreground)"),
    ("python-1.0", python_as("HTTP/1.0"), ("python3", None),
     "python3 -m http.server --protocol HTTP/1.0 (its default protocol_version)"),
    ("python-1.1", python_as("HTTP/1.1"), ("python3", None),
     "python3 -m http.server --protocol HTTP/1.1 (protocol_version HTTP/1.1: persistent connections)"),
]


def wait_listening(port, proc, seconds=10.0):
    """True once 127.0.0.1:port accepts a connection; False if proc exits or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Servers:
    """Starts servers in their own process groups; `stop()` (also on `with` exit) stops them."""

    def __init__(self, tmp, www, repo):
        self.tmp, self.www, self.repo = Path(tmp), Path(www), Path(repo)
        self.procs = []  # (name, Popen)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self, name, configure):
        d = self.tmp / name
        d.mkdir(parents=True)
        port = free_port()
        cmd = configure(d, port, self.www, self.repo)
        log = open(d / "output.log", "wb")
        proc = subprocess.Popen(cmd, cwd=d, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append((name, proc))
        if not wait_listening(port, proc):
            tail = (d / "output.log").read_bytes()[-2000:].decode(errors="replace")
            raise RuntimeError(f"{name} did not listen on {port}: {' '.join(cmd)}\n{tail}")
        return port

    def stop(self):
        for name, proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for name, proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs = []
