#!/usr/bin/env python3
"""Hostile servers for the harness's own tests: each mode misbehaves in one way a broken student
server can. Usage: hostile.py MODE PORT. Every mode but never-listen listens on 127.0.0.1:PORT.

never-listen     prints a line and sleeps, never listening
silent           accepts and reads, never answers, keeps every connection open
trickle          answers a valid response at 1 byte per second
flood            answers with an endless stream of bytes
endless-headers  a status line, then header lines forever
reset            accepts, then resets the connection (RST) without answering
lie-length       says Content-Length: 1000000, sends 10 bytes, keeps the connection open
endless-chunked  Transfer-Encoding: chunked, chunks forever
setsid-fork      forks; the child calls setsid and serves, the parent exits at once
ignore-term      ignores SIGTERM, answers 404
stdout-flood     writes 100 MB to stdout, then answers 404
head-body        answers HEAD with headers and then a 1 MB body anyway
"""
import os
import signal
import socket
import sys
import threading
import time

MODE, PORT = sys.argv[1], int(sys.argv[2])
OK_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"


def not_found(c):
    c.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


def handle(c):
    try:
        req = c.recv(65536)
        if MODE == "silent":
            while c.recv(65536):
                pass
        elif MODE == "trickle":
            for b in OK_HEAD + b"Content-Length: 2\r\n\r\nhi":
                c.sendall(bytes([b]))
                time.sleep(1)
        elif MODE == "flood":
            block = b"x" * 65536
            while True:
                c.sendall(block)
        elif MODE == "endless-headers":
            c.sendall(b"HTTP/1.1 200 OK\r\n")
            while True:
                c.sendall(b"X-Filler: " + b"y" * 1000 + b"\r\n")
        elif MODE == "reset":
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        elif MODE == "lie-length":
            c.sendall(OK_HEAD + b"Content-Length: 1000000\r\n\r\n0123456789")
            while c.recv(65536):
                pass
        elif MODE == "endless-chunked":
            c.sendall(OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n")
            chunk = b"10000\r\n" + b"z" * 65536 + b"\r\n"
            while True:
                c.sendall(chunk)
        elif MODE == "head-body":
            body = b"<html>" + b"b" * (1 << 20)
            head = OK_HEAD + b"Content-Length: %d\r\n\r\n" % len(body)
            c.sendall(head + body)
        else:
            not_found(c)
    except OSError:
        pass
    finally:
        c.close()


def serve():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", PORT))
    s.listen(64)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()


if MODE == "never-listen":
    print("starting up, any moment now", flush=True)
    time.sleep(3600)
elif MODE == "setsid-fork":
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            serve()
        os._exit(0)
    os._exit(0)
else:
    if MODE == "ignore-term":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if MODE == "stdout-flood":
        line = b"z" * 1023 + b"\n"
        for _ in range(100 * 1024):
            sys.stdout.buffer.write(line)
        sys.stdout.flush()
    serve()
