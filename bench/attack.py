#!/usr/bin/env python3
"""Measures the reference server under two attacks, on loopback, and prints the figures.

    bench/attack.py bodies     # 500 clients each send 1 MiB - 1 byte of a 1 MiB body and stall:
                               # the server's RSS (VmRSS, VmHWM) while they hold
    bench/attack.py slowloris  # 1000 clients trickle header bytes (and reconnect when dropped);
                               # a probe asks for /index.html every 0.2 s: how many got it in 1 s

Options: --server PATH (default target/release/server), --clients N, --seconds S,
--max-connections N (passed to the server). The server is started on a free port with a
temporary ws.conf serving www/, and killed (by its own PID) at the end, however the script ends.
"""

import argparse
import os
import resource
import selectors
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start_server(binary, extra):
    conf_dir = tempfile.mkdtemp(prefix="ws-attack.")
    conf = os.path.join(conf_dir, "ws.conf")
    with open(conf, "w") as f:
        f.write(
            f'Listen 8888\nDocumentRoot "{ROOT}/www"\nDirectoryIndex index.html\n'
            ".html text/html\n.txt text/plain\nKeepaliveTime 10\nRequestMethodSupport GET HEAD\n"
        )
    proc = subprocess.Popen(
        [binary, "--config", conf, "--listen", "127.0.0.1:0", "--no-access-log", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = proc.stdout.readline().strip()
    if not line.startswith("listening on "):
        proc.kill()
        sys.exit(f"error: the server did not start (first line: {line!r})")
    host, port = line.removeprefix("listening on ").rsplit(":", 1)
    return proc, (host, int(port))


def memory(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads"):
                fields[key] = value.strip()
    return fields


def bodies(addr, proc, args):
    size = 1 << 20
    head = f"POST /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n\r\n".encode()
    chunk = b"x" * 65536
    socks = []
    start = time.monotonic()
    for _ in range(args.clients):
        s = socket.create_connection(addr, timeout=30)
        s.sendall(head)
        left = size - 1
        while left:
            n = min(left, len(chunk))
            s.sendall(chunk[:n])
            left -= n
        socks.append(s)
    took = time.monotonic() - start
    time.sleep(1)
    mem = memory(proc.pid)
    print(
        f"{args.clients} clients each sent {size - 1} of a {size}-byte body and stalled "
        f"(in {took:.1f} s); server: VmRSS {mem['VmRSS']}, peak VmHWM {mem['VmHWM']}, "
        f"{mem['Threads']} threads"
    )
    for s in socks:
        s.close()


def trickler(addr, count, stop, counters):
    """`count` connections trickling one header line each `interval`; reconnects when dropped."""
    sel = selectors.DefaultSelector()
    next_byte = {}
    started = set()

    def connect():
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(addr)
        sel.register(s, selectors.EVENT_READ)
        next_byte[s] = time.monotonic() + 0.05
        counters["connects"] += 1

    for _ in range(count):
        connect()
    interval = 1.0
    while not stop.is_set():
        for key, _ in sel.select(timeout=0.05):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                del next_byte[s]
                started.discard(s)
                s.close()
                counters["dropped"] += 1
                connect()
        now = time.monotonic()
        for s, due in list(next_byte.items()):
            if now >= due:
                payload = b"X: y\r\n" if s in started else b"GET / HTTP/1.1\r\nHost: x\r\n"
                started.add(s)
                try:
                    s.send(payload)
                except OSError:
                    pass
                next_byte[s] = now + interval
    for s in next_byte:
        s.close()


def probe(addr):
    start = time.monotonic()
    try:
        s = socket.create_connection(addr, timeout=5)
        s.settimeout(5)
        s.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
        s.close()
    except OSError:
        return None, time.monotonic() - start
    status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/") else "none"
    return status, time.monotonic() - start


def slowloris(addr, proc, args):
    stop = threading.Event()
    counters = {"connects": 0, "dropped": 0}
    t = threading.Thread(target=trickler, args=(addr, args.clients, stop, counters))
    t.start()
    time.sleep(3)  # let every attacker connect and start trickling
    results = []
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        results.append(probe(addr))
        time.sleep(0.2)
    threads = memory(proc.pid)
    stop.set()
    t.join()
    ok = sum(1 for st, dt in results if st == "200" and dt <= 1.0)
    worst = max(dt for _, dt in results)
    statuses = {}
    for st, _ in results:
        statuses[st] = statuses.get(st, 0) + 1
    print(
        f"{args.clients} trickling clients ({counters['connects']} connections opened, "
        f"{counters['dropped']} dropped by the server) for {args.seconds} s: "
        f"{ok}/{len(results)} probes got /index.html within 1 s "
        f"({100.0 * ok / len(results):.1f}%), slowest {worst * 1000:.0f} ms, statuses {statuses}; "
        f"server: {threads['Threads']} threads, VmRSS {threads['VmRSS']}"
    )


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("attack", choices=["bodies", "slowloris"])
    p.add_argument("--server", default=os.path.join(ROOT, "target/release/server"))
    p.add_argument("--clients", type=int)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--max-connections", type=int)
    args = p.parse_args()
    args.clients = args.clients or (500 if args.attack == "bodies" else 1000)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 4 * args.clients + 256))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    extra = []
    if args.max_connections:
        extra = ["--max-connections", str(args.max_connections)]
    proc, addr = start_server(args.server, extra)
    try:
        (bodies if args.attack == "bodies" else slowloris)(addr, proc, args)
    finally:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    main()
