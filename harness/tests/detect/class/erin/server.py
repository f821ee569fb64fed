"""Erin's server: no ws.conf, the port is its first argument, the site is ./www."""
import http.server
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **k):
        super().__init__(*a, directory="www", **k)


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
