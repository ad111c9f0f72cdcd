#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A minimal HTTP CONNECT proxy on 127.0.0.1 for RSYNC_PROXY tests.

    httpproxy.py PORTFILE LOG [deny]

Listens on a free port of 127.0.0.1 and writes the port to PORTFILE. For each
connection it reads the request head, appends its lines to LOG, and either
answers "403 Forbidden" (deny) or connects to the named host:port, answers
"200 Connection established" with one extra header line, and relays both ways
until both sides are done. It serves at most 64 connections and stops by
itself after 600 seconds.
"""

import os
import select
import socket
import sys
import threading
import time


def relay(a, b):
    socks = [a, b]
    open_ = {a: True, b: True}
    while any(open_.values()):
        r, _, _ = select.select([s for s in socks if open_[s]], [], [], 60)
        if not r:
            break
        for s in r:
            other = b if s is a else a
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                open_[s] = False
                try:
                    other.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                continue
            try:
                other.sendall(data)
            except OSError:
                open_[s] = False
    a.close()
    b.close()


def serve(conn, log, deny):
    head = b""
    while b"\r\n\r\n" not in head:
        data = conn.recv(1)
        if not data:
            conn.close()
            return
        head += data
    lines = head.decode("latin-1").split("\r\n")
    with open(log, "a") as f:
        for line in lines:
            if line:
                f.write(line + "\n")
    if deny:
        conn.sendall(b"HTTP/1.0 403 Forbidden\r\n\r\n")
        conn.close()
        return
    host, _, port = lines[0].split(" ")[1].rpartition(":")
    try:
        up = socket.create_connection((host, int(port)), 10)
    except OSError:
        conn.sendall(b"HTTP/1.0 502 Bad Gateway\r\n\r\n")
        conn.close()
        return
    conn.sendall(b"HTTP/1.1 200 Connection established\r\nProxy-Agent: test\r\n\r\n")
    relay(conn, up)


def main():
    portfile, log = sys.argv[1], sys.argv[2]
    deny = len(sys.argv) > 3 and sys.argv[3] == "deny"
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    ls.settimeout(1)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(ls.getsockname()[1]) + "\n")
    os.rename(portfile + ".tmp", portfile)
    end = time.time() + 600
    served = 0
    while time.time() < end and served < 64:
        try:
            conn, _ = ls.accept()
        except socket.timeout:
            continue
        conn.settimeout(None)
        served += 1
        threading.Thread(target=serve, args=(conn, log, deny), daemon=True).start()


if __name__ == "__main__":
    main()
