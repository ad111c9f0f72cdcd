#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A broken rsync server, used as the remote shell: -e "fakepeer.py MODE".

The client starts it as `fakepeer.py MODE HOST rsync --server ...`; the
rest of the command line is ignored. It answers the version exchange the
way a protocol-30 server with no compat flags does (no negotiated strings,
no incremental recursion), then misbehaves according to MODE:

  eof        closes its output right after the version exchange
  badversion announces protocol 999 (out of every implementation's range)
  badtag     sends a multiplex header whose tag is no message code
  badmode    sends a file-list entry whose mode has no valid file type
             (only meaningful when the client receives, as in a pull)

Afterwards it reads its input until the client closes it, so the client
never sees a broken pipe: what it reports is its answer to the bad data.

`fakepeer.py feed MODE` instead prints what a broken protocol-30 client
sends, for a server's standard input (options -re.Lsfx: no negotiated
strings, no incremental recursion):

  badtag     a multiplex header whose tag is no message code
  badmode    the bad file-list entry above (a receiver with neither
             --delete nor -m reads no filter list first)
"""
import os
import struct
import sys

MPLEX_BASE = 7
MSG_DATA = 0
XMIT_SAME_UID = 1 << 3
XMIT_SAME_GID = 1 << 4


def frame(tag, payload):
    """One multiplexed frame: 3-byte length and a tag byte, little-endian."""
    return struct.pack("<I", ((MPLEX_BASE + tag) << 24) | len(payload)) + payload


def bad_entry():
    """A file-list entry for "x" (as sent without -o/-g/-t) with mode 0170644."""
    return (bytes([XMIT_SAME_UID | XMIT_SAME_GID, 1]) + b"x"
            + b"\0" * 3            # length: varlong, 3 bytes minimum
            + b"\0" * 4            # mtime: varlong, 4 bytes minimum
            + struct.pack("<I", 0o170644))


def read_exact(n):
    buf = b""
    while len(buf) < n:
        chunk = os.read(0, n - len(buf))
        if not chunk:
            sys.exit(0)
        buf += chunk
    return buf


def feed(mode):
    out = struct.pack("<i", 30)
    if mode == "badtag":
        out += struct.pack("<I", (MPLEX_BASE + 50) << 24)
    elif mode == "badmode":
        out += frame(MSG_DATA, bad_entry())
    else:
        sys.exit("fakepeer: unknown mode " + mode)
    sys.stdout.buffer.write(out)


def main():
    if sys.argv[1] == "feed":
        feed(sys.argv[2])
        return
    mode = sys.argv[1]
    out = bytearray()
    read_exact(4)  # the client's protocol version
    if mode == "badversion":
        out += struct.pack("<i", 999)
    else:
        out += struct.pack("<i", 30)
        if mode != "eof":
            out += b"\0"  # compat flags (varint 0)
            out += struct.pack("<i", 0x5eed)  # checksum seed
            if mode == "badtag":
                out += struct.pack("<I", ((MPLEX_BASE + 50) << 24) | 4) + b"\0" * 4
            elif mode == "badmode":
                out += frame(MSG_DATA, bad_entry())
            else:
                sys.exit("fakepeer: unknown mode " + mode)
    while out:
        out = out[os.write(1, out):]
    os.close(1)
    while os.read(0, 65536):
        pass


if __name__ == "__main__":
    main()
