#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A hostile rsync peer for the attack tests in hostile.bats.

As a server, used as the remote shell:  -e "hostilepeer.py SCENARIO"
  The client runs `hostilepeer.py SCENARIO HOST rsync --server ...`; the
  command line after SCENARIO is ignored. The peer answers the version
  exchange as a protocol-30 server with no compat flags (so no negotiated
  strings: MD5 sums, zlib), then writes the scenario's whole stream at
  once and reads its input until the client closes it, so the client
  reports its answer to the bad data and never a broken pipe.

As a client:  hostilepeer.py feed SCENARIO | rsync --server ... -re.Lsfx ...
  prints what a hostile protocol-30 client sends to a server.

Every stream is built field by field here (upstream io.c write_varint,
write_varlong, write_ndx; flist.c send_file_entry; match.c/io.c sum
heads; token.c simple_send_token), so each scenario breaks exactly one
rule and is valid up to it. The tests run the same scenario against rsync
3.5.0 and against oc-rsync and compare what each does.
"""
import os
import struct
import sys

MPLEX_BASE = 7
MSG_DATA, MSG_ERROR_XFER, MSG_INFO, MSG_ERROR = 0, 1, 2, 3
MSG_IO_TIMEOUT = 33
XMIT_TOP_DIR, XMIT_SAME_MODE, XMIT_EXTENDED = 1 << 0, 1 << 1, 1 << 2
XMIT_SAME_UID, XMIT_SAME_GID, XMIT_SAME_NAME = 1 << 3, 1 << 4, 1 << 5
XMIT_LONG_NAME, XMIT_SAME_TIME = 1 << 6, 1 << 7
XMIT_HLINKED, XMIT_HLINK_FIRST = 1 << 9, 1 << 12
ITEM_BASIS_TYPE_FOLLOWS, ITEM_XNAME_FOLLOWS = 1 << 11, 1 << 12
ITEM_IS_NEW, ITEM_TRANSFER = 1 << 13, 1 << 15
S_IFDIR, S_IFREG, S_IFLNK = 0o040000, 0o100000, 0o120000
MTIME = 1000000


# -- primitives ----------------------------------------------------------

def int32(v):
    return struct.pack("<i", v)


def shortint(v):
    return struct.pack("<H", v)


def varint(v):
    """io.c write_varint: the count of extra bytes in the first byte's
    leading ones, the rest little-endian."""
    b = struct.pack("<I", v & 0xFFFFFFFF)
    cnt = 4
    while cnt > 1 and b[cnt - 1] == 0:
        cnt -= 1
    bit = 1 << (7 - cnt + 1)
    if b[cnt - 1] >= bit:
        return bytes([(~(bit - 1)) & 0xFF]) + b[:cnt]
    if cnt > 1:
        return bytes([b[cnt - 1] | ((~(bit * 2 - 1)) & 0xFF)]) + b[:cnt - 1]
    return b[:1]


def varlong(v, min_bytes):
    """io.c write_varlong for values that fit in min_bytes - 1 bytes."""
    assert 0 <= v < 1 << (8 * (min_bytes - 1))
    return b"\0" + v.to_bytes(min_bytes - 1, "little")


class Ndx:
    """io.c write_ndx for protocol 30 and later: a difference from the
    previous index of the same sign, in 1, 3 or 5 bytes."""

    def __init__(self):
        self.prev = [-1, 1]

    def __call__(self, ndx):
        if ndx == -1:
            return b"\0"
        neg = 1 if ndx < 0 else 0
        num = -ndx if neg else ndx
        diff = num - self.prev[neg]
        self.prev[neg] = num
        out = b"\xff" if neg else b""
        if 0 < diff < 0xFE:
            return out + bytes([diff])
        if diff < 0 or diff > 0x7FFF:
            return out + bytes([0xFE, (num >> 24) | 0x80, num & 0xFF,
                                (num >> 8) & 0xFF, (num >> 16) & 0xFF])
        return out + bytes([0xFE, diff >> 8, diff & 0xFF])


def frame(tag, payload):
    """One multiplexed frame: 3-byte length and a tag byte, little-endian."""
    return struct.pack("<I", ((MPLEX_BASE + tag) << 24) | len(payload)) + payload


def data(payload):
    """Payload as MSG_DATA frames of at most 32 KiB."""
    out = b""
    for i in range(0, max(len(payload), 1), 32768):
        out += frame(MSG_DATA, payload[i:i + 32768])
    return out


def entry(name, mode, size=0, link=None, flags=0):
    """flist.c send_file_entry for -r -l -t (no -o -g -D -H), protocol 30,
    no varint flags: every field spelled out, so no SAME_* state."""
    flags |= XMIT_SAME_UID | XMIT_SAME_GID  # uid/gid are not sent anyway
    out = bytes([flags & 0xFF])
    if flags & XMIT_EXTENDED:
        out += bytes([flags >> 8])
    out += bytes([len(name)]) + name
    if flags & XMIT_HLINKED and not flags & XMIT_HLINK_FIRST:
        return out + varint(0)  # abbreviated: a hard link to entry 0
    out += varlong(size, 3) + varlong(MTIME, 4) + int32(mode)
    if link is not None:
        out += varint(len(link)) + link
    return out


def sum_head(count=0, blength=0, s2length=2, remainder=0):
    return int32(count) + int32(blength) + int32(s2length) + int32(remainder)


def whole_file(content):
    """A whole-file transfer's tokens and MD5 file sum (seed prepended to
    nothing: protocol 30 file sums are plain MD5 of the data)."""
    import hashlib
    out = b""
    if content:
        out += int32(len(content)) + content
    return out + int32(0) + hashlib.md5(content).digest()


# -- scenarios: the peer as a sender (the client pulls, with -rlt) --------

def pull_list(*entries):
    """A file list of "." and the entries, sorted by the caller."""
    out = entry(b".", S_IFDIR | 0o755, flags=XMIT_TOP_DIR)
    for e in entries:
        out += e
    return out + b"\0"


def pull(scenario):
    n = Ndx()
    x = entry(b"x", S_IFREG | 0o644, size=5)
    if scenario == "ndx_range":
        # CVE-2024-12087: an index past the end of the list
        return data(pull_list(x) + n(7) + shortint(ITEM_TRANSFER))
    if scenario == "ndx_negative":
        # a negative index that is no NDX_* code (a sub-list without -i-r)
        return data(pull_list(x) + n(-7) + shortint(ITEM_TRANSFER))
    if scenario == "name_dotdot":
        return data(pull_list(entry(b"../evil", S_IFREG | 0o644, size=5)))
    if scenario == "name_inner_dotdot":
        return data(pull_list(entry(b"a/../../evil", S_IFREG | 0o644, size=5)))
    if scenario == "name_absolute":
        return data(pull_list(entry(b"/tmp/evil", S_IFREG | 0o644, size=5)))
    if scenario == "hlink_without_H":
        # hard-link flags although the client did not ask for -H; the
        # abbreviated form points at entry 0
        return data(pull_list(x, entry(b"y", S_IFREG | 0o644, size=5,
                                       flags=XMIT_EXTENDED | XMIT_HLINKED)))
    if scenario == "hlink_first_without_H":
        return data(pull_list(x, entry(b"y", S_IFREG | 0o644, size=5,
                                       flags=XMIT_EXTENDED | XMIT_HLINKED
                                       | XMIT_HLINK_FIRST)))
    if scenario == "basis_alt":
        # CVE-2024-12086: steer the basis to alternate dir 5 (none given)
        return data(pull_list(x) + n(1)
                    + shortint(ITEM_TRANSFER | ITEM_BASIS_TYPE_FOLLOWS)
                    + bytes([5]) + sum_head() + whole_file(b"hello"))
    if scenario == "basis_partial":
        # the partial dir's basis type without --partial-dir
        return data(pull_list(x) + n(1)
                    + shortint(ITEM_TRANSFER | ITEM_BASIS_TYPE_FOLLOWS)
                    + bytes([0x81]) + sum_head() + whole_file(b"hello"))
    if scenario == "xname":
        # an alternate name for the basis, outside the destination
        name = b"../../../../../../etc/passwd"
        return data(pull_list(x) + n(1)
                    + shortint(ITEM_TRANSFER | ITEM_BASIS_TYPE_FOLLOWS
                               | ITEM_XNAME_FOLLOWS)
                    + bytes([0x83, len(name)]) + name
                    + sum_head() + whole_file(b"hello"))
    if scenario == "sumhead_s2length":
        # CVE-2024-12084/12085: a strong sum longer than MD5's 16 bytes
        return data(pull_list(x) + n(1) + shortint(ITEM_TRANSFER)
                    + sum_head(1, 700, 99, 5) + whole_file(b"hello"))
    if scenario == "sumhead_count":
        return data(pull_list(x) + n(1) + shortint(ITEM_TRANSFER)
                    + sum_head(-5, 700, 16, 5) + whole_file(b"hello"))
    if scenario == "sumhead_blength":
        return data(pull_list(x) + n(1) + shortint(ITEM_TRANSFER)
                    + sum_head(1, 1 << 30, 16, 5) + whole_file(b"hello"))
    if scenario == "sumhead_remainder":
        return data(pull_list(x) + n(1) + shortint(ITEM_TRANSFER)
                    + sum_head(1, 700, 16, 900) + whole_file(b"hello"))
    if scenario == "token_block":
        # a block reference although the sum head has no blocks
        return data(pull_list(x) + n(1) + shortint(ITEM_TRANSFER)
                    + sum_head() + int32(-1000) + int32(0) + b"\0" * 16)
    if scenario == "token_literal_huge":
        # a literal run far past any buffer, then the stream just stops
        return data(pull_list(x) + n(1) + shortint(ITEM_TRANSFER)
                    + sum_head() + int32(0x7FFFFFF0) + b"abc")
    if scenario == "symlink_parent":
        # "d" is a symlink out of the destination, then "d/x" is sent:
        # the file must not land where d points
        target = os.environ["HOSTILE_OUTSIDE"].encode()
        return data(pull_list(entry(b"d", S_IFLNK | 0o777, link=target),
                              entry(b"d/x", S_IFREG | 0o644, size=5))
                    + n(2) + shortint(ITEM_TRANSFER)
                    + sum_head() + whole_file(b"owned"))
    if scenario == "msg_timeout_len":
        # MSG_IO_TIMEOUT must carry exactly 4 bytes
        return frame(MSG_IO_TIMEOUT, b"\1\0") + data(pull_list(x))
    if scenario == "msg_timeout_value":
        # a timeout of 0 or a negative one must not disable --timeout
        return frame(MSG_IO_TIMEOUT, int32(-1)) + data(pull_list(x))
    sys.exit("hostilepeer: unknown scenario " + scenario)


# -- the peer as a receiver (the client pushes a one-file tree "x") -------

def push(scenario):
    n = Ndx()
    # the generator's request for "x", index 1 after "."
    heads = {
        "push_sumhead_s2length": sum_head(1, 700, 99, 5),
        "push_sumhead_count": sum_head(-5, 700, 16, 5),
        "push_sumhead_blength": sum_head(1, 1 << 30, 16, 5),
        "push_sumhead_remainder": sum_head(1, 700, 16, 900),
        "push_sumhead_zero_blength": sum_head(3, 0, 16, 0),
    }
    if scenario == "push_ndx_range":
        return data(n(9) + shortint(ITEM_TRANSFER) + sum_head())
    if scenario not in heads:
        sys.exit("hostilepeer: unknown scenario " + scenario)
    return data(n(1) + shortint(ITEM_TRANSFER) + heads[scenario]
                + int32(0x12345678) + b"\0" * 16)


def feed(scenario):
    """A hostile client for `rsync --server --sender -re.Lsfx . DIR/`
    whose DIR holds one file: version, the filter list, then the
    generator's request for index 1."""
    body = push("push_" + scenario)
    out = int32(30) + data(int32(0)) + body
    sys.stdout.buffer.write(out)


def read_exact(n):
    buf = b""
    while len(buf) < n:
        chunk = os.read(0, n - len(buf))
        if not chunk:
            sys.exit(0)
        buf += chunk
    return buf


def main():
    if sys.argv[1] == "feed":
        feed(sys.argv[2])
        return
    scenario = sys.argv[1]
    cmd = " ".join(sys.argv[3:]).split()
    read_exact(4)  # the client's protocol version
    out = int32(30) + b"\0" + int32(0x5EED)
    out += push(scenario) if "--sender" not in cmd else pull(scenario)
    while out:
        out = out[os.write(1, out):]
    # keep the pipe open until the client is done with us
    while os.read(0, 65536):
        pass


if __name__ == "__main__":
    main()
