#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A scripted rsync daemon, run as RSYNC_CONNECT_PROG (talks on stdin/stdout).

    fakedaemon.py GREETING OUT

Sends "@RSYNCD: GREETING", reads the client's greeting line and module line,
asks for a password with a fixed challenge, reads the answer, then refuses
with "@ERROR: auth failed on module M". The three lines the client sent are
written to OUT, so two clients' bytes can be compared: with the challenge
fixed, the answer depends only on the password and the digest chosen.
"""

import sys

CHALLENGE = "MTIzNDU2Nzg5MGFiY2RlZg"


def read_line(f):
    """One line without its newline, or None at EOF (byte by byte, as rsync)."""
    out = bytearray()
    while True:
        b = f.read(1)
        if not b:
            return None
        if b == b"\n":
            return bytes(out)
        out += b


def main():
    greeting, path = sys.argv[1], sys.argv[2]
    rd, wr = sys.stdin.buffer, sys.stdout.buffer
    got = []
    wr.write(b"@RSYNCD: " + greeting.encode() + b"\n")
    wr.flush()
    for _ in range(2):
        line = read_line(rd)
        if line is None:
            break
        got.append(line)
    if len(got) == 2:
        wr.write(b"@RSYNCD: AUTHREQD " + CHALLENGE.encode() + b"\n")
        wr.flush()
        line = read_line(rd)
        if line is not None:
            got.append(line)
    # the record first: the client may be gone (and the test reading it)
    # as soon as it has the refusal
    with open(path, "wb") as f:
        f.write(b"\n".join(got) + b"\n")
    if len(got) >= 2:
        mod = got[1].decode(errors="replace")
        wr.write(b"@ERROR: auth failed on module " + mod.encode() + b"\n")
        wr.flush()


if __name__ == "__main__":
    main()
