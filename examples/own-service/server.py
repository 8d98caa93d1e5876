"""A small service of one's own for Aviary's local platform (examples/own-service).

Listens on 127.0.0.1:$PORT. GET / answers which release runs, /healthz is the readiness probe,
/metrics gives Prometheus the `response_status` counter the `success-rate` template reads. A
release directory starts it with its own settings (releases/vN/server.py); FAILURE_RATE makes a
share of the answers 500s, which is how v3 is a bad release.
"""
import http.server
import os
import random
import threading

RELEASE = os.environ.get("RELEASE", "unknown")
FAILURE_RATE = float(os.environ.get("FAILURE_RATE", "0"))
counts = {}
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self, status, text, content_type="text/plain"):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/healthz":
            return self.answer(200, "ok\n")
        if self.path == "/metrics":
            with lock:
                lines = [f'response_status{{status="{s}"}} {n}' for s, n in sorted(counts.items())]
            return self.answer(200, "# TYPE response_status counter\n" + "\n".join(lines) + "\n",
                               "text/plain; version=0.0.4")
        status = 500 if random.random() < FAILURE_RATE else 200
        with lock:
            counts[str(status)] = counts.get(str(status), 0) + 1
        self.answer(status, f"own-service {RELEASE} ({os.environ.get('IMAGE', '?')}) on {os.environ.get('POD_NAME', '?')}\n")

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(os.environ["PORT"])
    http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
