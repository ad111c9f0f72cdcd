#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A recording "remote shell" for interop tests.

    wiretap.py PREFIX [ssh-like options] HOST COMMAND...

Used as `-e "wiretap.py PREFIX"`: drops the ssh-style options and the host
name as lrsh does, writes the remote command line to PREFIX.args, runs it
through `sh -c`, and relays stdin to the command and the command's stdout to
our stdout, writing every byte delivered to PREFIX.c2s (client to server) and
PREFIX.s2c (server to client). stderr is inherited, not recorded.

It ends as ssh does: when the command has exited and closed its stdout, we
pass on what is buffered, then exit with the command's status; EOF on our
stdin only closes the command's stdin (half-close). Relaying uses
non-blocking descriptors and buffers both ways, so a peer that writes before
it reads cannot deadlock us. Bytes are never interpreted here: see
wiredemux.py for that.

WIRETAP_STALL=N:SECONDS holds the server's output for SECONDS once N bytes of
it have been delivered (keep-alive tests: a server that goes quiet in the
middle of its file list); the other direction goes on meanwhile.
"""

import errno
import fcntl
import os
import selectors
import signal
import socket
import stat
import subprocess
import sys
import time

CHUNK = 65536


def parse_argv(argv):
    """Returns (prefix, command string) from our argv, lrsh-style."""
    if len(argv) < 2:
        sys.exit("usage: wiretap.py PREFIX [options] HOST COMMAND...")
    prefix = argv[1]
    rest = argv[2:]
    while rest and rest[0].startswith("-"):
        rest = rest[2:] if rest[0] == "-l" else rest[1:]
    if len(rest) < 2:
        sys.exit("wiretap.py: no host and command given")
    return prefix, " ".join(rest[1:])


def set_nonblocking(fd):
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)


def close_write(fd):
    """Half-closes fd: shutdown(SHUT_WR) for a socket (rsync hands its remote
    shell one socket as both stdin and stdout, so closing our copy alone
    would not signal EOF while stdin stays open), close otherwise."""
    if stat.S_ISSOCK(os.fstat(fd).st_mode):
        sock = socket.socket(fileno=os.dup(fd))
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        sock.close()
    os.close(fd)


class Pipe:
    """One direction: read from src, buffer, write to dst, record to log."""

    def __init__(self, src, dst, log):
        self.src, self.dst, self.log = src, dst, log
        self.buf = bytearray()
        self.eof = False      # src said EOF (or failed)
        self.closed = False   # dst has been closed
        self.broken = False   # dst refused writes (EPIPE); drop the rest
        self.sent = 0         # bytes delivered to dst
        self.stall_at = None  # (bytes, seconds): hold once that many are sent
        self.held_until = 0.0

    def held(self):
        """Whether a stall holds dst now; starts it when its byte count is reached."""
        if self.stall_at and self.sent >= self.stall_at[0]:
            self.held_until = time.monotonic() + self.stall_at[1]
            self.stall_at = None
        return time.monotonic() < self.held_until

    def want_read(self):
        return not self.eof and len(self.buf) < 4 * CHUNK

    def want_write(self):
        return not self.closed and bool(self.buf) and not self.held()

    def do_read(self):
        try:
            data = os.read(self.src, CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.eof = True
        elif not self.broken:
            self.buf += data

    def do_write(self):
        room = len(self.buf)
        if self.stall_at:
            room = min(room, self.stall_at[0] - self.sent)
        try:
            n = os.write(self.dst, self.buf[:room])
        except BlockingIOError:
            return
        except OSError as e:
            if e.errno not in (errno.EPIPE, errno.ECONNRESET):
                raise
            self.broken = True
            self.buf.clear()
            return
        self.log.write(self.buf[:n])
        del self.buf[:n]
        self.sent += n

    def maybe_close(self):
        """Closes dst once src is done and everything has been passed on."""
        if self.eof and not self.buf and not self.closed:
            self.closed = True
            close_write(self.dst)


def main():
    prefix, command = parse_argv(sys.argv)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    with open(prefix + ".args", "w") as f:
        f.write(command + "\n")

    child_in, cin = os.pipe()
    cout, child_out = os.pipe()
    child = subprocess.Popen(["sh", "-c", command], stdin=child_in,
                             stdout=child_out)
    os.close(child_in)
    os.close(child_out)
    our_in, our_out = os.dup(0), os.dup(1)
    # Keep fds 0 and 1 open on /dev/null so nothing else writes to them.
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    for fd in (cin, cout, our_in, our_out):
        set_nonblocking(fd)

    c2s_log = open(prefix + ".c2s", "wb", buffering=0)
    s2c_log = open(prefix + ".s2c", "wb", buffering=0)
    up = Pipe(our_in, cin, c2s_log)
    down = Pipe(cout, our_out, s2c_log)
    if os.environ.get("WIRETAP_STALL"):
        n, secs = os.environ["WIRETAP_STALL"].split(":")
        down.stall_at = (int(n), float(secs))

    sel = selectors.DefaultSelector()
    while not down.closed:
        events = {}
        if up.want_read():
            events[up.src] = events.get(up.src, 0) | selectors.EVENT_READ
        if down.want_read():
            events[down.src] = events.get(down.src, 0) | selectors.EVENT_READ
        if up.want_write():
            events[up.dst] = events.get(up.dst, 0) | selectors.EVENT_WRITE
        if down.want_write():
            events[down.dst] = events.get(down.dst, 0) | selectors.EVENT_WRITE
        for fd, ev in events.items():
            sel.register(fd, ev)
        ready = sel.select(max(0.0, down.held_until - time.monotonic())
                           if down.held() else None)
        for fd in events:
            sel.unregister(fd)
        for key, ev in ready:
            fd = key.fd
            if ev & selectors.EVENT_READ:
                if fd == up.src:
                    up.do_read()
                if fd == down.src:
                    down.do_read()
            if ev & selectors.EVENT_WRITE:
                if fd == up.dst and up.want_write():
                    up.do_write()
                if fd == down.dst and down.want_write():
                    down.do_write()
        up.maybe_close()
        if not down.held():
            down.maybe_close()

    # The command closed its stdout: as ssh does, stop relaying stdin.
    if not up.closed:
        os.close(up.dst)
    os.close(up.src)
    os.close(down.src)
    status = child.wait()
    c2s_log.close()
    s2c_log.close()
    sys.exit(128 - status if status < 0 else status)


if __name__ == "__main__":
    main()
