#!/usr/bin/env python3
"""A TCP proxy on 127.0.0.1 for the registry fault tests: forwards LISTEN to TARGET
byte for byte (TLS passes through untouched), at most RATE bytes a second each way,
and, with CUT, closes a connection once it has carried CUT bytes from the server, as a
registry or a network that drops mid-blob does.
usage: tcp-proxy.py LISTEN_PORT TARGET_PORT [RATE_BYTES_PER_S|0] [CUT_BYTES|0]"""
import os, socket, sys, threading, time

# Descriptors a test's process let through (Foundation's own): held open here, they hide
# the exit of the shell that started this from the test.
os.closerange(3, os.sysconf("SC_OPEN_MAX"))

listen, target = int(sys.argv[1]), int(sys.argv[2])
rate = int(sys.argv[3]) if len(sys.argv) > 3 else 0
cut = int(sys.argv[4]) if len(sys.argv) > 4 else 0


def pipe(source, sink, counted):
    sent = 0
    started = time.monotonic()
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            if counted and cut and sent + len(data) > cut:
                sink.sendall(data[: max(0, cut - sent)])
                break
            sink.sendall(data)
            sent += len(data)
            if rate:
                ahead = sent / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
    except OSError:
        pass
    for end in (source, sink):
        try:
            end.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve(client):
    server = socket.create_connection(("127.0.0.1", target))
    threading.Thread(target=pipe, args=(client, server, False), daemon=True).start()
    threading.Thread(target=pipe, args=(server, client, True), daemon=True).start()


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", listen))
listener.listen(16)
print("ready", os.getpid(), flush=True)
while True:
    connection, _ = listener.accept()
    serve(connection)
