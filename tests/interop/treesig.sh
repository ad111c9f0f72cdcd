#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Print a canonical description of a tree: per entry its path, type, mode,
# owner, group, size, mtime to the nanosecond, symlink target, content hash,
# and for hard links the first path of its link group. Two trees with equal
# output are equal for every attribute rsync -aH preserves.
#   treesig.sh DIR
# One process for the whole tree (the suites call this twice per transfer);
# fields are formatted as find -printf '%y %m %U %G %T@ %l' prints them.
# Debian's python3 directly: a version manager's shim can cost more than
# the work itself.
py=/usr/bin/python3
[ -x "$py" ] || py=python3
exec "$py" - "$1" <<'EOF'
import hashlib, os, stat, sys

TYPES = {stat.S_IFREG: "f", stat.S_IFDIR: "d", stat.S_IFLNK: "l", stat.S_IFIFO: "p",
         stat.S_IFSOCK: "s", stat.S_IFCHR: "c", stat.S_IFBLK: "b"}
top = os.fsencode(sys.argv[1])
paths = []
for root, dirs, files in os.walk(top):
    for name in dirs + files:
        paths.append(os.path.relpath(os.path.join(root, name), top))
first = {}
out = sys.stdout.buffer
for path in sorted(paths):
    st = os.lstat(os.path.join(top, path))
    first.setdefault(st.st_ino, path)
    kind = TYPES.get(stat.S_IFMT(st.st_mode), "U")
    ns = st.st_mtime_ns
    attrs = b"%s %o %d %d %d.%09d0" % (kind.encode(), st.st_mode & 0o7777, st.st_uid,
                                       st.st_gid, ns // 10**9, ns % 10**9)
    if kind != "d":
        target = os.readlink(os.path.join(top, path)) if kind == "l" else b""
        attrs += b" " + target
    size = digest = b"-"
    if kind == "f":
        size = b"%d" % st.st_size
        h = hashlib.md5()
        with open(os.path.join(top, path), "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        digest = h.hexdigest().encode()
    group = first[st.st_ino] if first[st.st_ino] != path else b"-"
    out.write(b"\t".join((path, attrs, size, digest, group)) + b"\n")
EOF
