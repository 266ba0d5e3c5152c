#!/usr/bin/env python3
"""bomb-server.py PORTFILE — an upstream whose event streams are gzip
bombs: "data: {}" events, then a last event with usage, gzip-encoded with
its Content-Length. Path /small: 1,000 events (about 10 KiB decoded);
any other path: 10,000,000 (100 MB decoded from about 100 KB)."""
import gzip, http.server, os, sys

USAGE = b'data: {"id":"b","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":9}}\n\ndata: [DONE]\n\n'
BODIES = {n: gzip.compress(b"data: {}\n\n" * n + USAGE, 6) for n in (1000, 10000000)}

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = BODIES[1000 if self.path.endswith("/small") else 10000000]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass

s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
tmp = sys.argv[1] + ".tmp"
with open(tmp, "w") as f:
    f.write(str(s.server_address[1]))
os.rename(tmp, sys.argv[1])
s.serve_forever()
