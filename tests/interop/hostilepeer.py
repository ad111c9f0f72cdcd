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
    """io.c write_varlong for values below 2**56: min_bytes - 1 low
    bytes, then as many more as the value needs, counted by the leading
    one bits of the first byte (which holds no value bits here)."""
    assert 0 <= v < 1 << 56
    b = v.to_bytes(8, "little")
    cnt = 8
    while cnt > min_bytes - 1 and b[cnt - 1] == 0:
        cnt -= 1
    extra = cnt - (min_bytes - 1)
    return bytes([(0xFF00 >> extra) & 0xFF]) + b[:cnt]


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


# -- compressed token streams (token.c send_deflated_token,
#    send_zstd_token, send_compressed_token) -----------------------------

END_FLAG, TOKEN_LONG, TOKENRUN_LONG = 0x00, 0x20, 0x21
DEFLATED_DATA, TOKEN_REL, TOKENRUN_REL = 0x40, 0x80, 0xC0
MAX_DATA_COUNT = 16383


def codec_of(cmd):
    """The codec the client asked for in its server arguments (options.c
    server_options: --old-compress for an explicit zlib, --new-compress
    for zlibx, --compress-choice=NAME otherwise); plain -z is zlib here,
    since a protocol-30 peer without negotiated strings gets no list."""
    for a in cmd:
        if a.startswith("--compress-choice="):
            return a.split("=", 1)[1]
        if a == "--new-compress":
            return "zlibx"
    return "zlib"


def _lib(name):
    import ctypes
    import ctypes.util
    return ctypes.CDLL(ctypes.util.find_library(name) or "lib%s.so.1" % name)


def compressed(codec, content):
    """content as one compressor's output: raw deflate flushed with
    Z_SYNC_FLUSH minus its 00 00 ff ff trailer (the receiver puts it back),
    one zstd frame, or lz4 blocks of at most MAX_DATA_COUNT input bytes
    (each lz4 block is its own unit; returned as a list then)."""
    import ctypes
    if codec in ("zlib", "zlibx"):
        import zlib
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        out = c.compress(content) + c.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(b"\0\0\xff\xff")
        return out[:-4]
    if codec == "zstd":
        z = _lib("zstd")
        z.ZSTD_compressBound.restype = ctypes.c_size_t
        cap = z.ZSTD_compressBound(ctypes.c_size_t(len(content)))
        buf = ctypes.create_string_buffer(cap)
        z.ZSTD_compress.restype = ctypes.c_size_t
        n = z.ZSTD_compress(buf, ctypes.c_size_t(cap), content,
                            ctypes.c_size_t(len(content)), 3)
        return buf.raw[:n]
    if codec in ("lz4", "lz4-one"):
        # "lz4-one": all of content in one block, past what a unit may be
        z = _lib("lz4")
        units = []
        step = MAX_DATA_COUNT if codec == "lz4" else max(len(content), 1)
        for i in range(0, len(content), step):
            piece = content[i:i + step]
            cap = z.LZ4_compressBound(len(piece))
            buf = ctypes.create_string_buffer(cap)
            n = z.LZ4_compress_default(piece, buf, len(piece), cap)
            units.append(buf.raw[:n])
        return units
    sys.exit("hostilepeer: unknown codec " + codec)


def deflated(payload):
    """payload as DEFLATED_DATA units of at most MAX_DATA_COUNT bytes (a
    list: each element is one unit, as lz4 needs)."""
    if isinstance(payload, list):
        return b"".join(deflated(p) for p in payload)
    out = b""
    for i in range(0, max(len(payload), 1), MAX_DATA_COUNT):
        p = payload[i:i + MAX_DATA_COUNT]
        out += bytes([DEFLATED_DATA | (len(p) >> 8), len(p) & 0xFF]) + p
    return out


def run16(n):
    return bytes([n & 0xFF, (n >> 8) & 0xFF])


def z_tokens(scenario, codec):
    """The token stream of a compressed scenario, after the sum head it
    returns too: (sum head, tokens, whole content or None, eof)."""
    import hashlib
    lit = deflated(compressed(codec, b"hello"))
    none = sum_head()
    if scenario == "z_token_negative":
        return none, lit + bytes([TOKEN_LONG]) + int32(-5), None, False
    if scenario == "z_token_past_count":
        return none, lit + bytes([TOKEN_LONG]) + int32(3), None, False
    if scenario == "z_token_int_max":
        # one past upstream's MAX_TOKEN_INDEX (0x7ffffffe)
        return none, lit + bytes([TOKEN_LONG]) + int32(0x7FFFFFFF), None, False
    if scenario == "z_run_overflow":
        # a run whose last token would pass INT32_MAX
        return (none, lit + bytes([TOKENRUN_LONG]) + int32(0x7FFFFFF0)
                + run16(0xFFFF), None, False)
    if scenario == "z_run_past_count":
        # block 0 exists (one 5-byte block), the run's next 3 do not
        return (sum_head(1, 700, 16, 5), lit + bytes([TOKENRUN_LONG])
                + int32(0) + run16(3), None, False)
    if scenario == "z_rel_past_count":
        # TOKEN_REL: a relative step of 9 from block 0
        return (sum_head(1, 700, 16, 5), lit + bytes([TOKEN_LONG]) + int32(0)
                + bytes([TOKEN_REL | 9]), None, False)
    if scenario == "z_corrupt":
        # a unit that no decompressor takes
        return none, deflated(b"\xff" * 64) + bytes([END_FLAG]), None, False
    if scenario == "z_no_end_eof":
        # literal data, then the stream ends without END_FLAG
        return none, lit, None, True
    if scenario == "z_big_unit":
        # one small unit that inflates far past CHUNK_SIZE (32 KiB) and
        # past AVAIL_OUT_SIZE(CHUNK_SIZE): a legal stream, both sides must
        # take it (lz4's units are bounded by the format and split)
        content = b"\0" * int(os.environ.get("HOSTILE_BIG", 4 << 20))
        body = deflated(compressed(codec, content)) + bytes([END_FLAG])
        return none, body + hashlib.md5(content).digest(), content, False
    if scenario == "z_lz4_bomb":
        # an lz4 unit that decompresses to 1 MiB, past the block size
        # both sides decompress into (LZ4_compressBound(CHUNK_SIZE))
        big = compressed("lz4-one", b"\0" * (1 << 20))
        return none, deflated(big[0]) + bytes([END_FLAG]), None, False
    sys.exit("hostilepeer: unknown scenario " + scenario)


def z_pull(scenario, codec):
    """A pull of "x" whose data comes as a compressed token stream, and
    for a legal stream the rest of a good run (the three NDX_DONE of the
    phases and the sender's stats, sender.c send_files, main.c report)."""
    n = Ndx()
    x = entry(b"x", S_IFREG | 0o644, size=5)
    head, toks, content, eof = z_tokens(scenario, codec)
    if content is not None:
        x = entry(b"x", S_IFREG | 0o644, size=len(content))
    out = n(1) + shortint(ITEM_TRANSFER) + head + toks
    if content is not None:
        out += n(-1) * 3 + varlong(0, 3) * 5
    return data(pull_list(x)), data(out), eof, content is not None


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
    # out-of-band messages whose length does not fit their type (io.c
    # read_a_msg), each before an otherwise good file list
    bad = {
        "msg_info_overflow": (MSG_INFO, b"i" * 6000),  # past BIGPATHBUFLEN
        "msg_error_overflow": (MSG_ERROR, b"e" * 0xFFFF),
        "msg_error_exit_len": (86, b"\1\2\3"),  # MSG_ERROR_EXIT: 0 or 4
        "msg_noop_len": (42, b"\0\0"),  # MSG_NOOP: 0
        "msg_io_error_len": (22, b"\1\0\0"),  # MSG_IO_ERROR: 4
        "msg_success_len": (100, b"\1\0"),  # MSG_SUCCESS: 4
        "msg_no_send_len": (102, b"\1\0\0\0\0"),  # MSG_NO_SEND: 4
        "msg_redo_receiver": (9, int32(1)),  # MSG_REDO: to a generator only
        "msg_stats_receiver": (10, b"\0" * 8),  # MSG_STATS: the same
    }
    if scenario in bad:
        tag, payload = bad[scenario]
        return frame(tag, payload) + data(pull_list(x))
    if scenario == "msg_data_empty":
        # MSG_DATA frames of length 0 are legal (and skipped), so this is
        # ndx_range with empty frames between the real ones
        return (frame(MSG_DATA, b"") + data(pull_list(x)) + frame(MSG_DATA, b"")
                + data(n(7) + shortint(ITEM_TRANSFER)))
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
    generator's request for index 1. A msg_* scenario instead sends its
    bad out-of-band message first (see pull())."""
    if scenario.startswith("msg_"):
        msg = pull(scenario)
        body = msg[:len(msg) - len(data(pull_list(entry(
            b"x", S_IFREG | 0o644, size=5))))]
        sys.stdout.buffer.write(int32(30) + body + data(int32(0)))
        return
    body = push("push_" + scenario)
    out = int32(30) + data(int32(0)) + body
    sys.stdout.buffer.write(out)


def client(scenario, cmd):
    """A hostile client pushing "x" to a receiving server it starts
    (cmd, e.g. `rsync --server -rlze.Lsfx . DIR/`), with a compressed
    token stream: the version exchange, the file list, then, once the
    server's generator asked for "x", the scenario's tokens. Exits with
    the server's exit code; the server's stderr passes through."""
    import select
    import subprocess
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    fin, fout = p.stdin.fileno(), p.stdout.fileno()
    n = Ndx()
    head, toks, content, eof = z_tokens(scenario, codec_of(cmd))
    x = entry(b"x", S_IFREG | 0o644,
              size=len(content) if content is not None else 5)
    body = n(1) + shortint(ITEM_TRANSFER) + head + toks
    if content is not None:
        body += n(-1) * 3  # the sender's phase ends (no stats to a server)

    def write(b):
        try:
            while b:
                b = b[os.write(fin, b):]
        except BrokenPipeError:
            pass

    # a receiver with neither --delete nor -m reads no filter list
    write(int32(30) + data(pull_list(x)))
    got = b""
    # the server's version, compat flags (one varint byte) and seed,
    # then any byte of its generator's first request
    while len(got) <= 9:
        if not select.select([fout], [], [], 30)[0]:
            break
        chunk = os.read(fout, 65536)
        if not chunk:
            break
        got += chunk
    write(data(body))
    if eof:
        p.stdin.close()
    while os.read(fout, 65536):
        pass
    sys.exit(p.wait())


def dclient(port, module, scenario):
    """A hostile daemon client (clientserver.c start_inband_exchange):
    greet as protocol 30, pick module, then send the scenario's argument
    list, NUL-terminated as protocol 30 does. Prints what the daemon says,
    one line each: its text lines as they are, then "<N binary bytes>" if
    the transfer began, and "<closed>" or "<open>" (still open after 3 s
    of silence). Scenarios: args_N (N file arguments after ".") and
    longarg_N (one file argument of N bytes)."""
    import socket
    s = socket.create_connection(("127.0.0.1", int(port)), 10)
    s.settimeout(3)
    f = s.makefile("rb")
    s.sendall(b"@RSYNCD: 30.0\n")
    line = f.readline()
    out = [line.decode(errors="replace").rstrip("\n")]
    s.sendall(module.encode() + b"\n")
    while True:
        line = f.readline()
        if not line:
            break
        out.append(line.decode(errors="replace").rstrip("\n"))
        if line.startswith(b"@RSYNCD: OK") or line.startswith(b"@ERROR"):
            break
    kind, num = scenario.rsplit("_", 1)
    args = [b"--server", b"--sender", b"-re.Lsfx", b"."]
    if kind == "args":
        args += [module.encode() + b"/x"] * int(num)
    elif kind == "longarg":
        args += [module.encode() + b"/" + b"a" * int(num)]
    else:
        sys.exit("hostilepeer: unknown scenario " + scenario)
    try:
        s.sendall(b"".join(a + b"\0" for a in args) + b"\0")
    except OSError:
        pass  # the daemon stopped reading: what it said comes next
    rest = b""
    state = "<closed>"
    try:
        while True:
            chunk = f.read1(65536)
            if not chunk:
                break
            rest += chunk
    except socket.timeout:
        state = "<open>"
    except ConnectionResetError:
        pass  # a daemon that leaves input unread resets: closed all the same
    except OSError as e:
        state = "<%s>" % e.strerror
    # Text lines only when the daemon answered in text: once the transfer
    # began, the stream is binary (a random checksum seed first), and any
    # piece of it that looks like a line differs between two runs.
    if rest.startswith(b"@"):
        for t in rest.split(b"\n")[:-1]:
            if t.startswith(b"@ERROR") or t.isascii() and t.strip():
                out.append(t.decode(errors="replace"))
    elif rest:
        out.append("<binary>")
    out.append(state)
    print("\n".join(out))


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
    if sys.argv[1] == "dclient":
        dclient(sys.argv[2], sys.argv[3], sys.argv[4])
        return
    if sys.argv[1] == "client":
        client(sys.argv[2], sys.argv[3:])
        return
    scenario = sys.argv[1]
    cmd = " ".join(sys.argv[3:]).split()
    read_exact(4)  # the client's protocol version
    out = int32(30) + b"\0" + int32(0x5EED)
    eof = good = False
    if "--sender" not in cmd:
        out += push(scenario)
    elif scenario.startswith("z_"):
        head, body, eof, good = z_pull(scenario, codec_of(cmd))
        out += head
        while out:
            out = out[os.write(1, out):]
        # only once the client's generator asked for the file (its filter
        # list, at most 12 bytes framed, then any byte of the request):
        # a sender that answers early is refused by oc-rsync as
        # unrequested, and the scenario would test that instead
        got = 0
        while got <= 12:
            chunk = os.read(0, 65536)
            if not chunk:
                sys.exit(0)
            got += len(chunk)
        out = body
    else:
        out += pull(scenario)
    while out:
        out = out[os.write(1, out):]
    if eof:
        os.close(1)  # the stream just ends
    if good:
        # a whole good run: the client's last word is its goodbye, then
        # it waits for us to exit; a second of silence means it is done
        import select
        while select.select([0], [], [], 1.0)[0]:
            if not os.read(0, 65536):
                break
        return
    # keep the pipe open until the client is done with us
    while os.read(0, 65536):
        pass


if __name__ == "__main__":
    try:
        main()
    except (BrokenPipeError, ConnectionResetError):
        sys.exit(0)  # the other side gave up on us first: its answer counts
