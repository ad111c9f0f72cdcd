# SPDX-License-Identifier: GPL-3.0-or-later
"""Decodes the joined MSG_DATA of one direction into records (wiredemux.py).

Protocol 30 to 32 without incremental recursion, as rsync 3.5.0 writes it
(upstream exclude.c send_filter_list, flist.c send_file_entry and
send_file_list, uidlist.c send_id_lists, sender.c send_files,
generator.c generate_files and write_sum_head, token.c, main.c
handle_stats and read_final_goodbye). Each direction carries one of two
streams:

  sender stream:    [filter list, from a client], file list, id lists,
                    then per file: index, item flags, sum head, tokens,
                    whole-file checksum; NDX_DONE per phase; from a server,
                    the transfer stats; the goodbye NDX_DONE.
  generator stream: [filter list, from a client], then per file: index,
                    item flags, sum head and block sums; NDX_DONE per
                    phase, delete stats, goodbye.

A record is (offset, raw bytes, text, volatile). Records cover every byte,
so comparing their raw bytes compares the stream; `volatile` marks values
that depend on timing (byte counts that include multiplex headers, elapsed
times) and are left out of comparisons.
"""

import hashlib

XMIT = ["TOP_DIR", "SAME_MODE", "EXTENDED_FLAGS", "SAME_UID", "SAME_GID",
        "SAME_NAME", "LONG_NAME", "SAME_TIME", "SAME_RDEV_MAJOR|NO_CONTENT_DIR",
        "HLINKED", "USER_NAME_FOLLOWS", "GROUP_NAME_FOLLOWS",
        "HLINK_FIRST|IO_ERROR_ENDLIST", "MOD_NSEC", "SAME_ATIME", "UNUSED_15",
        "RESERVED_16", "CRTIME_EQ_MTIME"]
ITEM = ["REPORT_ATIME", "REPORT_CHANGE", "REPORT_SIZE", "REPORT_TIME",
        "REPORT_PERMS", "REPORT_OWNER", "REPORT_GROUP", "REPORT_ACL",
        "REPORT_XATTR", "9", "REPORT_CRTIME", "BASIS_TYPE_FOLLOWS",
        "XNAME_FOLLOWS", "IS_NEW", "LOCAL_CHANGE", "TRANSFER"]
SUM_LEN = {"xxh128": 16, "xxh3": 8, "xxh64": 8, "md5": 16, "md4": 16,
           "sha1": 20, "none": 1}
S_IFMT, S_IFDIR, S_IFREG, S_IFLNK = 0o170000, 0o040000, 0o100000, 0o120000
S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK = 0o020000, 0o060000, 0o010000, 0o140000


def bits(value, names):
    out = [names[i] if i < len(names) else str(i)
           for i in range(32) if value & (1 << i)]
    return "0x%x(%s)" % (value, "|".join(out))


class Undecodable(Exception):
    pass


class Decoder:
    """Reads one joined data stream; `records` collects what was read."""

    def __init__(self, data):
        self.data, self.pos = data, 0
        self.records = []
        self.mark = 0
        self.prev_ndx = [-1, 1]     # io.c read_ndx: positive, negative

    # -- primitives ------------------------------------------------------
    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise Undecodable("stream ends inside a field")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def byte(self):
        return self.take(1)[0]

    def int32(self):
        return int.from_bytes(self.take(4), "little", signed=True)

    def shortint(self):
        return int.from_bytes(self.take(2), "little")

    def varint(self):
        ch = self.byte()
        extra = 0
        while extra < 8 and ch & (0x80 >> extra):
            extra += 1
        if extra > 4:
            raise Undecodable("varint overflow")
        rest = self.take(extra)
        if extra < 4:
            rest += bytes([ch & ((1 << (8 - extra)) - 1)])
        return int.from_bytes(rest, "little", signed=extra == 4)

    def varlong(self, min_bytes):
        head = self.take(min_bytes)
        ch = head[0]
        extra = 0
        while extra < 8 and ch & (0x80 >> extra):
            extra += 1
        if min_bytes + extra > 9:
            raise Undecodable("varlong overflow")
        body = head[1:] + self.take(extra)
        if extra < 8:
            body += bytes([ch & ((1 << (8 - extra)) - 1)])
        return int.from_bytes(body[:8], "little", signed=True)

    def vstring(self):
        n = self.byte()
        if n & 0x80:
            n = ((n & 0x7F) << 8) | self.byte()
        return self.take(n)

    def ndx(self):
        """io.c read_ndx for protocol 30 and later."""
        b = self.byte()
        neg = 0
        if b == 0xFF:
            b = self.byte()
            neg = 1
        elif b == 0:
            return -1
        if b == 0xFE:
            b0, b1 = self.take(2)
            if b0 & 0x80:
                c0, c1 = self.take(2)
                num = b1 | c0 << 8 | c1 << 16 | (b0 & 0x7F) << 24
            else:
                num = (b0 << 8) + b1 + self.prev_ndx[neg]
        else:
            num = b + self.prev_ndx[neg]
        self.prev_ndx[neg] = num
        return -num if neg else num

    # -- records ---------------------------------------------------------
    def emit(self, text, volatile=False):
        self.records.append((self.mark, self.data[self.mark:self.pos], text,
                             volatile))
        self.mark = self.pos


def short_hash(b):
    return hashlib.sha256(b).hexdigest()[:16]


class Session:
    """What decoding needs from the command line and the preambles."""

    def __init__(self, opts, version, compat, sum_name):
        self.o = opts
        self.protocol = version
        self.compat = compat
        self.varint_flags = bool(compat & 128)
        self.id0_names = bool(compat & 256)
        self.inc_recurse = bool(compat & 1)
        self.sum_len = SUM_LEN.get(sum_name, 16)
        self.sum_name = sum_name


# -- pieces ------------------------------------------------------------------

def filter_list(d):
    while True:
        n = d.int32()
        if n == 0:
            d.emit("filter list end")
            return
        if n < 0 or n > 8192:
            raise Undecodable("filter rule length %d" % n)
        rule = d.take(n)
        d.emit("filter rule %r" % rule.decode("utf-8", "replace"))


def file_list(d, s):
    """flist.c recv_file_entry, with the sender's SAME_* state."""
    o = s.o
    st = {"name": b"", "mode": 0, "mtime": 0, "uid": 0, "gid": 0,
          "rdev_major": 0}
    entries = []
    while True:
        if s.varint_flags:
            flags = d.varint()
            if flags == 0:
                err = d.varint()
                d.emit("flist end, io_error=%d" % err)
                break
        else:
            flags = d.byte()
            if flags == 0:
                d.emit("flist end")
                break
            if flags & 4:
                flags |= d.byte() << 8
            if flags == (4 | 1 << 12):
                err = d.varint()
                d.emit("flist end, io_error=%d" % err)
                break
        f = ["#%d flags=%s" % (len(entries), bits(flags, XMIT))]
        l1 = d.byte() if flags & 1 << 5 else 0
        l2 = d.varint() if flags & 1 << 6 else d.byte()
        name = st["name"][:l1] + d.take(l2)
        st["name"] = name
        f.append("name=%r" % name.decode("utf-8", "replace"))
        hl_abbrev = flags & 1 << 9 and not flags & 1 << 12
        if hl_abbrev:
            first = d.varint()
            f.append("hlink-to=#%d" % first)
            mode = entries[first][1] if 0 <= first < len(entries) else 0
            st["mode"] = mode
        else:
            size = d.varlong(3)
            f.append("size=%d" % size)
            if not flags & 1 << 7:
                st["mtime"] = d.varlong(4)
                f.append("mtime=%d" % st["mtime"])
            if flags & 1 << 13:
                f.append("nsec=%d" % d.varint())
            if o.crtimes or o.atimes or o.acls or o.xattrs:
                raise Undecodable("crtimes, atimes, ACLs, xattrs not decoded")
            if not flags & 1 << 1:
                st["mode"] = d.int32() & 0xFFFFFFFF
                f.append("mode=0%o" % st["mode"])
            mode = st["mode"]
            if o.uid and not flags & 1 << 3:
                st["uid"] = d.varint()
                f.append("uid=%d" % st["uid"])
                if flags & 1 << 10:
                    f.append("user=%r" % d.take(d.byte()).decode())
            if o.gid and not flags & 1 << 4:
                st["gid"] = d.varint()
                f.append("gid=%d" % st["gid"])
                if flags & 1 << 11:
                    f.append("group=%r" % d.take(d.byte()).decode())
            ftype = mode & S_IFMT
            device = ftype in (S_IFCHR, S_IFBLK)
            special = ftype in (S_IFIFO, S_IFSOCK)
            if (o.devices and device) or (o.specials and special
                                          and s.protocol < 31):
                if not flags & 1 << 8:
                    st["rdev_major"] = d.varint()
                f.append("rdev=%d,%d" % (st["rdev_major"], d.varint()))
            if o.links and ftype == S_IFLNK:
                f.append("link=%r" % d.take(d.varint()).decode(
                    "utf-8", "replace"))
            if o.checksum and ftype == S_IFREG:
                f.append("sum=%s" % d.take(s.sum_len).hex())
        entries.append((name, st["mode"]))
        d.emit(" ".join(f))
    return entries


def id_lists(d, s):
    """uidlist.c recv_id_list: ids with names, 0 ends, then id 0's name."""
    for kind, on in (("uid", s.o.uid), ("gid", s.o.gid)):
        if not on or s.o.numeric_ids:
            continue
        while True:
            i = d.varint()
            if i == 0:
                break
            d.emit("%s %d name %r" % (kind, i, d.take(d.byte()).decode()))
        if s.id0_names:
            d.emit("%s 0 name %r (list end)" % (kind, d.take(d.byte())
                                               .decode()))
        else:
            d.emit("%s list end" % kind)


def sorted_names(entries):
    """Indexes refer to the sorted list, duplicates dropped (flist.c
    f_name_cmp for protocol 29+: name by name; where two paths part, a
    file sorts before a directory, else the bytes decide)."""
    def key(e):
        name, mode = e
        if name == b".":
            return []
        parts = name.split(b"/")
        last = 1 if mode & S_IFMT == S_IFDIR else 0
        return [(1, p) for p in parts[:-1]] + [(last, parts[-1])]
    names = []
    for e in sorted(entries, key=key):
        if not names or names[-1] != e[0]:
            names.append(e[0])
    return names


def label(names, ndx):
    if names and 0 <= ndx < len(names):
        return "%d %r" % (ndx, names[ndx].decode("utf-8", "replace"))
    return str(ndx)


def ndx_attrs(d, names, ndx):
    """rsync.c read_ndx_and_attrs after the index."""
    iflags = d.shortint()
    text = "ndx %s iflags=%s" % (label(names, ndx), bits(iflags, ITEM))
    if iflags & 1 << 11:
        text += " basis=0x%02x" % d.byte()
    if iflags & 1 << 12:
        text += " xname=%r" % d.vstring().decode("utf-8", "replace")
    d.emit(text)
    return iflags


def sum_head(d):
    count, blength, s2length, remainder = (d.int32() for _ in range(4))
    d.emit("sum head count=%d blength=%d s2length=%d remainder=%d" % (
        count, blength, s2length, remainder))
    if count < 0 or not 0 <= s2length <= 64:
        raise Undecodable("implausible sum head")
    return count, s2length


def del_stats(d):
    v = [d.varint() for _ in range(5)]
    d.emit("NDX_DEL_STATS files=%d dirs=%d symlinks=%d devices=%d "
           "specials=%d" % tuple(v))


def plain_tokens(d):
    """token.c simple_recv_token: >0 literal, <0 block, 0 end."""
    while True:
        t = d.int32()
        if t == 0:
            d.emit("token end")
            return
        if t > 0:
            lit = d.take(t)
            d.emit("literal %d sha256:%s" % (t, short_hash(lit)))
        else:
            d.emit("block %d" % (-t - 1))


def compressed_tokens(d):
    """token.c framing shared by zlib, zlibx, zstd, lz4."""
    token = -1
    while True:
        flag = d.byte()
        if flag == 0:
            d.emit("token end")
            return
        if flag & 0xC0 == 0x40:
            n = ((flag & 0x3F) << 8) | d.byte()
            blob = d.take(n)
            d.emit("compressed %d sha256:%s" % (n, short_hash(blob)))
            continue
        if flag & 0x80:
            token += flag & 0x3F
            run = flag & 0x40
            kind = "token rel +%d" % (flag & 0x3F)
        elif flag in (0x20, 0x21):
            token = d.int32()
            run = flag & 1
            kind = "token long"
        else:
            raise Undecodable("token flag 0x%02x" % flag)
        if run:
            n = d.shortint()
            d.emit("%s block %d run %d" % (kind, token, n))
            token += n
        else:
            d.emit("%s block %d" % (kind, token))


def sender_records(d, s, names, is_server):
    """sender.c send_files, then main.c handle_stats and the goodbye."""
    dones = 0
    while dones < 3:
        ndx = d.ndx()
        if ndx == -1:
            dones += 1
            d.emit("NDX_DONE (%d)" % dones)
            continue
        if ndx == -3:
            del_stats(d)
            continue
        if ndx < 0:
            raise Undecodable("index %d" % ndx)
        iflags = ndx_attrs(d, names, ndx)
        if iflags & 1 << 15 and not s.o.dry_run:
            sum_head(d)
            if s.o.compress:
                compressed_tokens(d)
            else:
                plain_tokens(d)
            d.emit("file sum %s" % d.take(s.sum_len).hex())
    if is_server:
        names_ = ("total_read", "total_written", "total_size",
                  "flist_buildtime", "flist_xfertime")
        for n in names_:
            v = d.varlong(3)
            # Byte counts include multiplex headers, and times are
            # elapsed times: both depend on timing. total_size does not.
            d.emit("stats %s=%d" % (n, v), volatile=n != "total_size")
    goodbye(d)


def generator_records(d, s, names):
    while d.pos < len(d.data):
        ndx = d.ndx()
        if ndx == -1:
            d.emit("NDX_DONE")
            continue
        if ndx == -3:
            del_stats(d)
            continue
        if ndx < 0:
            raise Undecodable("index %d" % ndx)
        iflags = ndx_attrs(d, names, ndx)
        if iflags & 1 << 15 and not s.o.dry_run:
            count, s2length = sum_head(d)
            for i in range(count):
                weak = d.int32() & 0xFFFFFFFF
                strong = d.take(s2length)
                d.emit("block %d weak=%08x strong=%s" % (i, weak,
                                                        strong.hex()))


def goodbye(d):
    """main.c read_final_goodbye; a server sender passes on the delete
    stats it reads there (rsync.c read_ndx_and_attrs)."""
    while d.pos < len(d.data):
        ndx = d.ndx()
        if ndx == -3:
            del_stats(d)
        elif ndx == -1:
            d.emit("NDX_DONE (goodbye)")
        else:
            raise Undecodable("index %d after the stats" % ndx)


def decode(data, s, direction, client_is_sender, names=None):
    """Returns (records, file names or None, error or None)."""
    d = Decoder(data)
    is_client = direction == "c2s"
    sender = is_client == client_is_sender
    try:
        if s.protocol < 30 or s.inc_recurse:
            raise Undecodable("only protocol 30+ without inc-recursion")
        if is_client and (not client_is_sender or s.o.receiver_wants_list):
            filter_list(d)
        if sender:
            entries = file_list(d, s)
            id_lists(d, s)
            names = sorted_names(entries)
            sender_records(d, s, names, not is_client)
        else:
            generator_records(d, s, names)
        if d.pos != len(d.data):
            raise Undecodable("trailing bytes")
        err = None
    except Undecodable as e:
        err = "%s at data offset %d" % (e, d.pos)
        d.pos = len(d.data)
        d.emit("undecoded %d bytes sha256:%s" % (
            len(d.data) - d.mark, short_hash(d.data[d.mark:])))
    return d.records, names if sender else None, err
