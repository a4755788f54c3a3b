#!/usr/bin/env python3
"""A box server for Caravan's tests and benchmarks, on 127.0.0.1 only.

Serves the files under ROOT with HTTP range support, plus paths that misbehave
on purpose:
  /cut/FILE          the first request gets half the body, then the connection drops
  /cut-norange/FILE  the same, and later requests ignore Range (a full 200 again)
  /redirect/PATH     302 to /PATH
  /goto/PORT/PATH    302 to http://127.0.0.1:PORT/PATH (another origin: another server)
  /private/FILE      needs "Authorization: Bearer TOKEN" (else 401)
  /slow/FILE         1 MiB at once, then 64 KiB every second (a download that is slow to end)
It is also an HTTP proxy for plain http: a request for http://ANY-HOST/PATH is
answered as /PATH (and logged with its full URL), to test http_proxy/no_proxy.
Every request is logged as a JSON line to --log, with its Range and Authorization
headers. Prints "READY PORT" when listening.
"""
import argparse, json, os, signal, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = None
cut_done = set()
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def record(self, status):
        if args.log:
            with lock, open(args.log, "a") as f:
                f.write(json.dumps({"path": self.path, "status": status, "range": self.headers.get("Range"),
                                    "auth": self.headers.get("Authorization")}) + "\n")

    def do_HEAD(self):
        self.serve(head=True)

    def do_GET(self):
        self.serve(head=False)

    def fail(self, status, text=""):
        # Logged before the answer: a client that goes on at once finds it in the log.
        self.record(status)
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def serve(self, head):
        path = self.path.split("?", 1)[0]
        if path.startswith("http://"):  # absolute form: we are being used as a proxy
            path = "/" + path[len("http://"):].split("/", 1)[-1]
        if path.startswith("/goto/"):
            port, _, rest = path[len("/goto/"):].partition("/")
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:%d/%s" % (int(port), rest))
            self.send_header("Content-Length", "0")
            self.record(302)
            self.end_headers()
            return
        mode = None
        for prefix in ("/cut-norange/", "/cut/", "/redirect/", "/private/", "/slow/"):
            if path.startswith(prefix):
                mode, path = prefix.strip("/"), "/" + path[len(prefix):]
                break
        if mode == "redirect":
            self.send_response(302)
            self.send_header("Location", path)
            self.send_header("Content-Length", "0")
            self.record(302)
            self.end_headers()
            return
        if mode == "private" and self.headers.get("Authorization") != "Bearer " + (args.token or ""):
            return self.fail(401, "token needed")
        full = os.path.realpath(os.path.join(args.root, path.lstrip("/")))
        if not full.startswith(os.path.realpath(args.root) + os.sep) or not os.path.isfile(full):
            return self.fail(404, "not found")
        size = os.path.getsize(full)
        start, status = 0, 200
        rng = self.headers.get("Range")
        if rng and mode != "cut-norange" and rng.startswith("bytes="):
            first = rng[6:].split("-", 1)[0]
            start, status = int(first or 0), 206
            if start >= size:
                return self.fail(416)
        cut = False
        if mode in ("cut", "cut-norange"):
            with lock:
                if self.path not in cut_done:
                    cut_done.add(self.path)
                    cut = True
        self.send_response(status)
        self.send_header("Content-Length", str(size - start))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/json" if full.endswith(".json") else "application/octet-stream")
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, size - 1, size))
        self.record(status)
        self.end_headers()
        if head:
            return
        stop = start + (size - start) // 2 if cut else size
        with open(full, "rb") as f:
            f.seek(start)
            left = stop - start
            sent = 0
            while left > 0:
                chunk = f.read(min(64 << 10 if mode == "slow" and sent >= 1 << 20 else 1 << 20, left))
                if not chunk:
                    break
                self.wfile.write(chunk)
                left -= len(chunk)
                sent += len(chunk)
                if mode == "slow" and sent > 1 << 20:
                    self.wfile.flush()
                    time.sleep(1)
        if cut:
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)


def main():
    global args
    # A parent may have blocked these (a test runner's threads do); stopping must work.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
    p = argparse.ArgumentParser()
    p.add_argument("root")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--token")
    p.add_argument("--log")
    args = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print("READY %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
