#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reads what wiretap.py recorded and prints it in a form two runs can diff.

    wiredemux.py [--dir c2s|s2c] [--hex] [--decode] PREFIX...
    wiredemux.py --cmp [--dir c2s|s2c] [--ignore TAG]... PREFIX_A PREFIX_B
    wiredemux.py --keepalives [--dir c2s|s2c] PREFIX

PREFIX.c2s and PREFIX.s2c are the raw bytes each way over a remote shell,
PREFIX.args the remote command line. Each direction is split as rsync
protocol 30 to 32 does (upstream main.c, compat.c setup_protocol and
negotiate_the_strings, io.c):

  client to server: [secluded arguments, NUL-ended, when -s is on]
                    int32 protocol version,
                    [checksum names vstring] [compression names vstring]
  server to client: int32 protocol version, varint compat flags,
                    [checksum names vstring] [compression names vstring],
                    int32 checksum seed

The name lists go only when both sides negotiate strings (`v` among the
capability letters after `-e.`), the checksum list only without
--checksum-choice, the compression list only with -z (or a compression
level) and no explicit choice (--compress-choice, --old-compress,
--new-compress). All of that is read from PREFIX.args. Everything after the
preamble is multiplexed both ways: a 4-byte little-endian header,
tag = (hdr >> 24) - 7, length = hdr & 0xffffff. MSG_DATA payloads are joined
into one stream, since where frames are cut depends on timing; every other
message is listed with its payload and the joined-data offset it came at.

The joined data is then decoded into records (wiredecode.py: file list,
indexes, sum heads, block sums, tokens, stats) that cover every byte.

Without --cmp, prints the canonical form of each direction (--hex adds a
full hex dump of the joined data, --decode the records). With --cmp,
compares two captures: preamble fields, the joined data record by record
(every differing pair while the structure agrees, with the first differing
byte offset; the stats' byte counts and times are left out, they depend on
timing), and the other messages in order (tags in --ignore skipped; NOOP by
default, because keep-alives depend on timing). Exits 0 when equal, 1 when
not.

With --keepalives, lists the frames that carry nothing, one per line:
"DIR DATA0 @OFFSET" for an empty MSG_DATA frame (rsync 3.1+'s keep-alive)
and "DIR NOOP @OFFSET" for a MSG_NOOP, OFFSET being the joined data sent
before it. The joined form above cannot show an empty data frame.
"""

import argparse
import hashlib
import os
import shlex
import sys

sys.dont_write_bytecode = True  # no __pycache__ next to the tests
import wiredecode  # noqa: E402

MPLEX_BASE = 7
MAX_SHOWN = 40
MSG_NAMES = {
    0: "DATA", 1: "ERROR_XFER", 2: "INFO", 3: "ERROR", 4: "WARNING",
    5: "ERROR_SOCKET", 6: "LOG", 7: "CLIENT", 8: "ERROR_UTF8", 9: "REDO",
    10: "STATS", 22: "IO_ERROR", 33: "IO_TIMEOUT", 42: "NOOP",
    86: "ERROR_EXIT", 100: "SUCCESS", 101: "DELETED", 102: "NO_SEND",
}
TEXT_MSGS = {1, 2, 3, 4, 5, 6, 7, 8, 101}
CF_NAMES = ["INC_RECURSE", "SYMLINK_TIMES", "SYMLINK_ICONV", "SAFE_FLIST",
            "AVOID_XATTR_OPTIM", "CHKSUM_SEED_FIX", "INPLACE_PARTIAL_DIR",
            "VARINT_FLIST_FLAGS", "ID0_NAMES"]


class Short(Exception):
    """The recording ends inside a field."""


class Reader:
    def __init__(self, data, pos=0):
        self.data, self.pos = data, pos

    def take(self, n):
        if self.pos + n > len(self.data):
            raise Short()
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def int32(self):
        return int.from_bytes(self.take(4), "little", signed=True)

    def varint(self):
        """io.c read_varint: leading 1-bits of the first byte count the
        extra bytes, which hold the value little-endian; the first byte's
        remaining bits are the top byte."""
        ch = self.take(1)[0]
        extra = 0
        while extra < 8 and ch & (0x80 >> extra):
            extra += 1
        if extra > 4:
            raise ValueError("varint overflow")
        rest = self.take(extra)
        if extra < 4:
            rest += bytes([ch & ((1 << (8 - extra)) - 1)])
        return int.from_bytes(rest, "little")

    def vstring(self):
        """io.c read_vstring: one length byte, or 0x80|hi then lo."""
        n = self.take(1)[0]
        if n & 0x80:
            n = ((n & 0x7F) << 8) | self.take(1)[0]
        return self.take(n).decode("utf-8", "replace")


class Options:
    """What the streams carry, read from the remote command line (upstream
    options.c server_options writes it)."""

    def __init__(self, args_line):
        argv = shlex.split(args_line) if args_line else []
        self.secluded = False
        self.caps = ""
        self.csum_choice = None
        self.compress = False
        self.compress_choice = None
        self.sender_is_server = "--sender" in argv
        self.delete = self.prune = False
        self.numeric_ids = False
        short = ""
        if "--server" in argv:
            for a in argv[argv.index("--server") + 1:]:
                name, _, value = a[2:].partition("=")
                if not a.startswith("-"):
                    continue
                if not a.startswith("--"):
                    group, e, caps = a[1:].partition("e")
                    short += group
                    if e:
                        self.caps = caps
                elif name in ("checksum-choice", "cc"):
                    self.csum_choice = value
                elif name in ("compress-choice", "zc"):
                    self.compress_choice = value
                elif name in ("old-compress", "new-compress"):
                    self.compress_choice = "zlib" if name[0] == "o" \
                        else "zlibx"
                elif name in ("compress", "compress-level", "zl"):
                    self.compress = True
                elif name.startswith("delete"):
                    self.delete = True
                elif name == "numeric-ids":
                    self.numeric_ids = True
                elif name == "devices":
                    short += "\x01"
                elif name == "specials":
                    short += "\x02"
        self.secluded = "s" in short
        if "z" in short:
            self.compress = True
        if self.csum_choice and self.csum_choice.lower() in ("auto",
                                                             "auto,auto"):
            self.csum_choice = None
        if self.compress_choice:
            self.compress = self.compress_choice.lower() != "none"
        self.prune = "m" in short
        self.receiver_wants_list = self.prune or self.delete
        self.links = "l" in short
        self.uid, self.gid = "o" in short, "g" in short
        self.devices = "D" in short or "\x01" in short
        self.specials = "D" in short or "\x02" in short
        self.hard_links = "H" in short
        self.checksum = "c" in short
        self.dry_run = "n" in short
        self.atimes, self.crtimes = "U" in short, "N" in short
        self.acls, self.xattrs = "A" in short, "X" in short
        self.negotiate = "v" in self.caps
        self.csum_list = self.negotiate and not self.csum_choice
        self.compress_list = (self.negotiate and self.compress
                              and not self.compress_choice)


def parse_preamble(data, direction, opts):
    """Returns (fields, end offset, error); fields are (name, value) pairs."""
    r = Reader(data)
    fields = []
    try:
        if direction == "c2s" and opts.secluded:
            args = []
            while True:
                end = data.find(b"\0", r.pos)
                if end < 0:
                    raise Short()
                arg = r.take(end - r.pos + 1)[:-1]
                if not arg:
                    break
                args.append(arg.decode("utf-8", "replace"))
            fields.append(("secluded-args", " ".join(args)))
        version = r.int32()
        fields.append(("protocol", version))
        if version < 30:
            return fields, r.pos, "protocol %d: not demultiplexed" % version
        if direction == "s2c":
            cf = r.varint()
            names = [n for i, n in enumerate(CF_NAMES) if cf & (1 << i)]
            fields.append(("compat-flags", "0x%x %s" % (cf, "|".join(names))))
        if opts.csum_list:
            fields.append(("checksum-names", r.vstring()))
        if opts.compress_list:
            fields.append(("compress-names", r.vstring()))
        if direction == "s2c":
            fields.append(("checksum-seed", r.int32()))
    except Short:
        return fields, r.pos, "recording ends inside the preamble"
    return fields, r.pos, None


def demux(data, pos):
    """Returns (joined data, [(tag, payload, data offset)], error)."""
    joined = bytearray()
    msgs = []
    while pos < len(data):
        if pos + 4 > len(data):
            return bytes(joined), msgs, "%d stray bytes at the end" % (
                len(data) - pos)
        hdr = int.from_bytes(data[pos:pos + 4], "little")
        tag, length = (hdr >> 24) - MPLEX_BASE, hdr & 0xFFFFFF
        if tag < 0:
            return bytes(joined), msgs, "bad header 0x%08x at %d" % (hdr, pos)
        payload = data[pos + 4:pos + 4 + length]
        if len(payload) < length:
            return bytes(joined), msgs, "frame at %d cut short" % pos
        if tag == 0:
            joined += payload
        else:
            msgs.append((tag, payload, len(joined)))
        pos += 4 + length
    return bytes(joined), msgs, None


def keepalive_frames(data, pos):
    """[(kind, joined data offset)] of the empty MSG_DATA and the MSG_NOOP frames."""
    out, joined = [], 0
    while pos + 4 <= len(data):
        hdr = int.from_bytes(data[pos:pos + 4], "little")
        tag, length = (hdr >> 24) - MPLEX_BASE, hdr & 0xFFFFFF
        if tag < 0:
            break
        if tag == 0 and length == 0:
            out.append(("DATA0", joined))
        elif tag == 42:
            out.append(("NOOP", joined))
        if tag == 0:
            joined += length
        pos += 4 + length
    return out


class Direction:
    """One direction of a recording, split into its parts."""

    def __init__(self, name, raw, opts):
        self.name = name
        self.preamble, end, self.error = parse_preamble(raw, name, opts)
        self.preamble_raw = raw[:end]
        self.data, self.msgs = b"", []
        self.keepalives = []
        self.records, self.decode_error = [], None
        if self.error is None:
            self.data, self.msgs, self.error = demux(raw, end)
            self.keepalives = keepalive_frames(raw, end)
        else:
            self.data = raw[end:]

    def field(self, name, default=None):
        return dict(self.preamble).get(name, default)


def pick_checksum(opts, client, server, protocol):
    """compat.c negotiate_the_strings: each side takes its first name that
    the peer lists; the whole-file sum is the sender's pick."""
    if opts.csum_choice:
        return opts.csum_choice.split(",")[0].lower()
    if not opts.negotiate:
        return "md5" if protocol >= 30 else "md4"
    mine = (server if opts.sender_is_server else client).split()
    peer = (client if opts.sender_is_server else server).split()
    return next((n for n in mine if n in peer), "none")


class Recording:
    """Both directions of PREFIX, demultiplexed and decoded."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.args = ""
        if os.path.exists(prefix + ".args"):
            with open(prefix + ".args") as f:
                self.args = f.read().strip()
        opts = Options(self.args)
        self.dirs = {}
        for name in ("c2s", "s2c"):
            with open(prefix + "." + name, "rb") as f:
                self.dirs[name] = Direction(name, f.read(), opts)
        c2s, s2c = self.dirs["c2s"], self.dirs["s2c"]
        if c2s.error or s2c.error:
            return
        version = min(c2s.field("protocol"), s2c.field("protocol"))
        compat = int(s2c.field("compat-flags", "0").split()[0], 16)
        sum_name = pick_checksum(opts, c2s.field("checksum-names", ""),
                                 s2c.field("checksum-names", ""), version)
        sess = wiredecode.Session(opts, version, compat, sum_name)
        client_is_sender = not opts.sender_is_server
        first = "c2s" if client_is_sender else "s2c"
        second = "s2c" if first == "c2s" else "c2s"
        names = None
        for name in (first, second):
            dr = self.dirs[name]
            dr.records, got, dr.decode_error = wiredecode.decode(
                dr.data, sess, name, client_is_sender, names)
            names = names or got


def msg_text(tag, payload):
    name = MSG_NAMES.get(tag, "TAG%d" % tag)
    if tag in TEXT_MSGS:
        return "%s %r" % (name, payload.decode("utf-8", "replace"))
    if len(payload) == 4:
        return "%s %d" % (name, int.from_bytes(payload, "little",
                                                 signed=True))
    return "%s %s" % (name, payload.hex())


def hexdump(data, start=0, end=None, out=sys.stdout, mark=None):
    end = len(data) if end is None else min(end, len(data))
    start -= start % 16
    for off in range(start, end, 16):
        row = data[off:min(off + 16, end)]
        hx = " ".join("%02x" % b for b in row)
        asc = "".join(chr(b) if 32 <= b < 127 else "." for b in row)
        flag = " <" if mark is not None and off <= mark < off + 16 else ""
        out.write("  %08x  %-47s  %s%s\n" % (off, hx, asc, flag))


def record_line(rec):
    off, raw, text, volatile = rec
    hx = raw[:24].hex(" ") + (" ..." if len(raw) > 24 else "")
    return "@%d %s%s  [%s]" % (off, text, " (timing)" if volatile else "",
                               hx)


def show(rec, dirs, with_hex, decoded):
    for d in dirs:
        dr = rec.dirs[d]
        print("== %s %s (%s)" % (rec.prefix, d,
                                "client to server" if d == "c2s"
                                else "server to client"))
        print("args: %s" % rec.args)
        print("preamble: %s" % dr.preamble_raw.hex())
        for name, value in dr.preamble:
            print("  %s: %s" % (name, value))
        print("data: %d bytes sha256 %s" % (
            len(dr.data), hashlib.sha256(dr.data).hexdigest()))
        if with_hex:
            hexdump(dr.data)
        print("messages: %d" % len(dr.msgs))
        for tag, payload, at in dr.msgs:
            print("  @%d %s" % (at, msg_text(tag, payload)))
        if dr.error:
            print("error: %s" % dr.error)
        if decoded:
            print("records: %d" % len(dr.records))
            for r in dr.records:
                print("  " + record_line(r))
            if dr.decode_error:
                print("decode stopped: %s" % dr.decode_error)


def first_difference(a, b):
    """Offset of the first byte where a and b differ (or the shorter length)."""
    n = min(len(a), len(b))
    step = 4096
    base = 0
    while base < n and a[base:base + step] == b[base:base + step]:
        base += step
    return next((j for j in range(base, min(n, base + step))
                 if a[j] != b[j]), min(n, base + step))


def record_key(rec):
    off, raw, text, volatile = rec
    return text.split("=")[0] + "=*" if volatile else raw


def compare(a, b, d, ignore):
    """Prints every difference in direction d; returns True if none."""
    same = True
    da, db = a.dirs[d], b.dirs[d]
    if da.error or db.error:
        print("%s: capture damaged: A: %s, B: %s" % (d, da.error, db.error))
        same = False
    pa, pb = dict(da.preamble), dict(db.preamble)
    for name in dict.fromkeys([n for n, _ in da.preamble + db.preamble]):
        if pa.get(name) != pb.get(name):
            print("%s preamble %s: A %r, B %r" % (d, name, pa.get(name),
                                                 pb.get(name)))
            same = False
    ka = [record_key(r) for r in da.records]
    kb = [record_key(r) for r in db.records]
    if ka != kb or (not da.records and da.data != db.data):
        same = False
        off = first_difference(da.data, db.data)
        print("%s data differs: first at byte %d (0x%x); A has %d bytes, "
              "B %d, %d and %d records" % (d, off, off, len(da.data),
                                           len(db.data), len(ka), len(kb)))
        # Records pair up while both streams have the same structure, so
        # list each pair that differs; stop where the structure parts.
        shown = 0
        for i in range(min(len(ka), len(kb))):
            if ka[i] == kb[i]:
                continue
            ra, rb = da.records[i], db.records[i]
            if shown == 0:
                for r in da.records[max(0, i - 2):i]:
                    print("    " + record_line(r))
            print("  record #%d" % i)
            print("  A " + record_line(ra))
            print("  B " + record_line(rb))
            shown += 1
            if shown == MAX_SHOWN or ra[2].split()[0] != rb[2].split()[0]:
                print("  (stopped listing)")
                break
        for label, dr in (("A", da), ("B", db)):
            if dr.decode_error:
                print("  %s decode stopped: %s" % (label, dr.decode_error))
        for label, rec in (("A", a), ("B", b)):
            print(" %s %s:" % (label, rec.prefix))
            hexdump(rec.dirs[d].data, max(0, off - 32), off + 32, mark=off)
    else:
        vol = [(ra, rb) for ra, rb in zip(da.records, db.records)
               if ra[3] and ra[1] != rb[1]]
        for ra, rb in vol:
            print("%s note: timing-dependent %s / %s" % (d, ra[2], rb[2]))
    ma = [(t, p) for t, p, _ in da.msgs if MSG_NAMES.get(t) not in ignore]
    mb = [(t, p) for t, p, _ in db.msgs if MSG_NAMES.get(t) not in ignore]
    if ma != mb:
        same = False
        print("%s messages differ (%s ignored):" % (d, ",".join(ignore)))
        for label, ms in (("A", ma), ("B", mb)):
            for t, p in ms:
                print("  %s %s" % (label, msg_text(t, p)))
    return same


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", choices=("c2s", "s2c"),
                    help="one direction only (default: both)")
    ap.add_argument("--hex", action="store_true",
                    help="hex dump of the joined data")
    ap.add_argument("--decode", action="store_true",
                    help="list the decoded records of the joined data")
    ap.add_argument("--cmp", action="store_true",
                    help="compare two captures")
    ap.add_argument("--keepalives", action="store_true",
                    help="list the empty data frames and MSG_NOOPs")
    ap.add_argument("--ignore", action="append", metavar="TAG",
                    help="message name left out of --cmp (default NOOP)")
    ap.add_argument("prefix", nargs="+")
    o = ap.parse_args()
    dirs = [o.dir] if o.dir else ["c2s", "s2c"]
    if o.cmp:
        if len(o.prefix) != 2:
            ap.error("--cmp takes two prefixes")
        ignore = set(o.ignore) if o.ignore else {"NOOP"}
        a, b = Recording(o.prefix[0]), Recording(o.prefix[1])
        ok = True
        for d in dirs:
            ok &= compare(a, b, d, ignore)
        sys.exit(0 if ok else 1)
    if o.keepalives:
        for p in o.prefix:
            rec = Recording(p)
            for d in dirs:
                for kind, off in rec.dirs[d].keepalives:
                    print("%s %s @%d" % (d, kind, off))
        return
    for p in o.prefix:
        show(Recording(p), dirs, o.hex, o.decode)


if __name__ == "__main__":
    main()
