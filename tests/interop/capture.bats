#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# The bytes on the wire, oc-rsync against rsync 3.5.0. Each case runs the
# same command on the same trees several times through wiretap.py (a
# recording remote shell) and compares the recordings with wiredemux.py:
#
#   client: oc-rsync (OC_RSYNC_ASYNC=1 and =0) against `rsync --server`,
#           and `rsync --no-i-r` against `rsync --server`;
#   server: `rsync --no-i-r` with --rsync-path=oc-rsync (both async modes),
#           and the same client with the real rsync as server.
#
# Compared: the remote command line (everything from `--server` on), the
# unmultiplexed preamble each way, the MSG_DATA payloads joined (where frames
# are cut depends on timing, even between two rsync runs), and the other
# messages in order except MSG_NOOP (keep-alives depend on timing). In the
# joined data, only a server sender's closing stats are partly left out:
# total_read and total_written count multiplex headers, and the two file
# list times are elapsed milliseconds. Both directions are compared in every
# case: what the program under test sends comes first in a failure report,
# what its peer sent back follows from it. --checksum-seed is fixed, so the
# strong sums are the same in every run, and the trees must end up equal.
#
# The reference client runs with --no-i-r because oc-rsync has no
# incremental recursion yet: with it, rsync would offer `i` in its capability
# string (`-e.iLsfxCIvu`) and the server would send its file list in
# sub-lists. Everything else in the capability string must match.
#
# To look at a failure: bats --no-tempdir-cleanup ..., then
#   tests/interop/wiredemux.py --decode DIR/NAME   (NAME: ref, oc1, oc0)
# To see that the cases can fail, give the program under test one more
# option: CAPTURE_PERTURB=--protocol=31 fails every case, and
# CAPTURE_PERTURB=--block-size=2048 the delta cases where oc-rsync generates
# the sums. oc-rsync gets it as client, and as server on its command line.

bats_require_minimum_version 1.5.0

setup_file() {
	export OC="$BATS_TEST_DIRNAME/../../${OC_BUILD:-build}/bin/oc-rsync"
	export TAP="$BATS_TEST_DIRNAME/wiretap.py"
	export DEMUX="$BATS_TEST_DIRNAME/wiredemux.py"
	export SIG="$BATS_TEST_DIRNAME/treesig.sh"
	export T="$BATS_FILE_TMPDIR"
	mk_src "$T/w/src"
	mk_old "$T/w/src" "$T/old"
}

setup() {
	C="$BATS_TEST_TMPDIR"
}

# mk_src DIR: the source tree. Content comes from a seeded generator, so
# every run of the suite sends the same bytes; times are fixed too.
mk_src() {
	local d=$1
	mkdir -p "$d/empty" "$d/deep/a/b/c" "$d/sub" "$d/with space" "$d/ünï"
	python3 - "$d" <<'EOF'
import random, sys
d = sys.argv[1]
r = random.Random(20240304)
def put(name, data):
    with open(d + "/" + name, "wb") as f:
        f.write(data)
put("zero", b"")
put("small", b"hello\n")
put("mid", r.randbytes(70000))
# Text compresses, so -z cases see real deflate output and token runs.
words = [b"rsync", b"wire", b"block", b"sum", b"token", b"literal", b"match"]
put("text", b"".join(b" ".join(r.choice(words) for _ in range(12)) + b"\n"
                     for _ in range(40000)))
put("sub/big", r.randbytes(6 << 20))
put("deep/a/b/c/leaf", b"deep\n")
put("with space/file name", b"x\n")
put("\u00fcn\u00ef/f\u00efl\u00e9", b"u\n")
EOF
	ln -s small "$d/rel_link"
	ln -s /etc/hostname "$d/abs_link"
	ln -s nowhere "$d/dangling"
	ln "$d/small" "$d/hard1"
	mkfifo "$d/fifo"
	chmod 600 "$d/mid"
	chmod 751 "$d/sub"
	find "$d" -exec touch -h -d '2024-03-04 05:06:07.123456789' {} +
	touch -d '2023-01-02 03:04:05.987654321' "$d/sub/big"
}

# mk_old SRC DIR: an older destination for delta updates: big, mid and text
# edited (bytes overwritten, inserted, removed, tail cut), files added and
# removed, older times, so sums and tokens go both ways.
mk_old() {
	cp -a "$1" "$2"
	python3 - "$2" <<'EOF'
import random, sys
d = sys.argv[1]
r = random.Random(7)
def edit(name, *edits):
    with open(d + "/" + name, "rb") as f:
        b = bytearray(f.read())
    for off, cut, new in edits:
        b[off:off + cut] = new
    with open(d + "/" + name, "wb") as f:
        f.write(b)
edit("sub/big", (5000000, 1000, r.randbytes(1000)), (3000000, 100, b""),
     (1000000, 0, r.randbytes(333)), (6 << 20, 0, b""))
with open(d + "/sub/big", "r+b") as f:
    f.truncate((6 << 20) - 20000)
edit("mid", (35000, 10, b"0123456789"))
edit("text", (100000, 0, b"an inserted line\n"), (200000, 5000, b""))
EOF
	rm -f "$2/small" "$2/hard1"
	printf 'extra\n' >"$2/extra"
	mkdir -p "$2/olddir/x"
	touch -d '2020-01-01' "$2/sub/big" "$2/mid" "$2/text"
}

# cap NAME PREP DIR CLIENT...: one run, recorded to $C/NAME.{args,c2s,s2c}.
# PREP is "fresh" (no destination) or "old" (a copy of the older tree); DIR
# is push or pull. The paths are the same in every run, so the command lines
# can be compared byte for byte.
# CAP_W and CAP_OLD: another source (CAP_W/src) and old destination.
cap() {
	local name=$1 prep=$2 dir=$3 w=${CAP_W:-$T/w}
	shift 3
	rm -rf "$w/dst"
	[ "$prep" = old ] && cp -a "${CAP_OLD:-$T/old}" "$w/dst"
	case $dir in
	push) "$@" -e "$TAP $C/$name" --checksum-seed=12345 "$w/src/" "h:$w/dst/" ;;
	pull) "$@" -e "$TAP $C/$name" --checksum-seed=12345 "h:$w/src/" "$w/dst/" ;;
	esac >"$C/$name.log" 2>&1 || {
		echo "cap $name failed ($dir): $*"
		cat "$C/$name.log"
		return 1
	}
	"$SIG" "$w/dst" >"$C/$name.tree"
}

# server_args NAME: the remote command line from --server on.
server_args() {
	sed 's/^.* --server /--server /' "$C/$1.args"
}

# same_wire A B DIR: A and B sent the same in direction DIR (c2s or s2c).
same_wire() {
	"$DEMUX" --cmp --dir "$3" "$C/$1" "$C/$2" || {
		echo "--- $3 differs between $1 and $2"
		return 1
	}
}

# same_run A B FIRST: same command line, same trees, same bytes both ways
# (the direction FIRST, sent by the program under test, checked first).
same_run() {
	local a=$1 b=$2 first=$3 second=s2c rc=0
	[ "$first" = s2c ] && second=c2s
	diff <(server_args "$a") <(server_args "$b") || {
		echo "--- server arguments differ between $a and $b"
		rc=1
	}
	same_wire "$a" "$b" "$first" || rc=1
	same_wire "$a" "$b" "$second" || rc=1
	diff "$C/$a.tree" "$C/$b.tree" || {
		echo "--- trees differ between $a and $b"
		rc=1
	}
	return $rc
}

# client_case DIR PREP OPTS...: oc-rsync as client against rsync as client.
client_case() {
	local dir=$1 prep=$2 rc=0
	shift 2
	cap ref "$prep" "$dir" rsync --no-i-r "$@"
	cap oc1 "$prep" "$dir" env OC_RSYNC_ASYNC=1 "$OC" "$@" ${CAPTURE_PERTURB:-}
	cap oc0 "$prep" "$dir" env OC_RSYNC_ASYNC=0 "$OC" "$@" ${CAPTURE_PERTURB:-}
	diff "$C/ref.args" "$C/oc1.args" || {
		echo "--- remote command lines differ"
		rc=1
	}
	same_run ref oc1 c2s || rc=1
	same_run oc1 oc0 c2s || rc=1
	return $rc
}

# server_case DIR PREP OPTS...: rsync as client, oc-rsync against rsync as
# server.
server_case() {
	local dir=$1 prep=$2 rc=0
	shift 2
	cap ref "$prep" "$dir" rsync --no-i-r "$@"
	local p=${CAPTURE_PERTURB:-}
	cap oc1 "$prep" "$dir" rsync --no-i-r --rsync-path="env OC_RSYNC_ASYNC=1 $OC${p:+ $p}" "$@"
	cap oc0 "$prep" "$dir" rsync --no-i-r --rsync-path="env OC_RSYNC_ASYNC=0 $OC${p:+ $p}" "$@"
	same_run ref oc1 s2c || rc=1
	same_run oc1 oc0 s2c || rc=1
	return $rc
}

@test "capture: the method sees a change (rsync against rsync, one --block-size)" {
	# Two rsync runs of one command record the same bytes, and one option
	# changed on one side shows up as a difference in what each side sends.
	cap a old push rsync --no-i-r -a
	cap b old push rsync --no-i-r -a
	same_run a b c2s
	cap c old push rsync --no-i-r -a --block-size=2048
	run ! "$DEMUX" --cmp --dir s2c "$C/a" "$C/c"
	[[ $output == *"s2c data differs"* ]]
	run ! "$DEMUX" --cmp --dir c2s "$C/a" "$C/c"
	[[ $output == *"c2s data differs"* ]]
}

@test "capture: client pull -a" {
	client_case pull fresh -a
}

@test "capture: client push -a" {
	client_case push fresh -a
}

@test "capture: client delta push -ai --delete" {
	client_case push old -ai --delete
}

@test "capture: client delta pull -ai --delete" {
	client_case pull old -ai --delete
}

@test "capture: client delta push -az" {
	client_case push old -az
}

@test "capture: client delta push -a --zc=zlib" {
	client_case push old -a --zc=zlib
}

@test "capture: client push -aH, hard links in the file list" {
	client_case push fresh -aH
}

@test "capture: client delta pull -ac" {
	client_case pull old -ac
}

@test "capture: client delta push -ai --inplace" {
	client_case push old -ai --inplace
}

@test "capture: client delta pull -ai --inplace -I" {
	client_case pull old -ai --inplace -I
}

@test "capture: client delta push -ai --append-verify (a failed check, a redo)" {
	client_case push old -ai --append-verify
}

@test "capture: client delta pull -ai --append" {
	client_case pull old -ai --append
}

@test "capture: server pull -a" {
	server_case pull fresh -a
}

@test "capture: server push -a" {
	server_case push fresh -a
}

@test "capture: server delta push -ai --delete" {
	server_case push old -ai --delete
}

@test "capture: server delta push -ac" {
	server_case push old -ac
}

@test "capture: server delta pull -ai --delete" {
	server_case pull old -ai --delete
}

@test "capture: server delta pull -az" {
	server_case pull old -az
}

@test "capture: server delta pull -a --zc=zlib" {
	server_case pull old -a --zc=zlib
}

@test "capture: server delta pull -a --zc=lz4" {
	server_case pull old -a --zc=lz4
}

@test "capture: server delta pull -ai --inplace" {
	server_case pull old -ai --inplace
}

@test "capture: server delta push -ai --inplace -I" {
	server_case push old -ai --inplace -I
}

@test "capture: server delta push -ai --append-verify (a failed check, a redo)" {
	skip "an rsh server's warnings go to its stderr in rsync (rwrite() with msgs2stderr 2), oc-rsync sends them as MSG_WARNING"
	server_case push old -ai --append-verify
}

@test "capture: server delta pull -ai --append-verify" {
	server_case pull old -ai --append-verify
}

@test "capture: server pull -aHc" {
	server_case pull fresh -aHc
}

# Many middling files, each changed a little: the sender matches them on a
# pool and sends them in request order (sender.c, the match stage), between
# items that only report (-i: mode changes) and small files sent in turn.
mk_many() {
	python3 - "$1" "$2" <<'EOF'
import os, random, sys
src, old = sys.argv[1], sys.argv[2]
r = random.Random(99)
os.makedirs(src)
os.makedirs(old)
for i in range(14):
    size = [70000, 300000, 1 << 20, 3 << 20][i % 4] + r.randrange(5000)
    b = bytearray(r.randbytes(size))
    open("%s/f%02d" % (src, i), "wb").write(b)
    for _ in range(6):
        o = r.randrange(len(b) - 500)
        b[o:o + 200] = r.randbytes(200)
    open("%s/f%02d" % (old, i), "wb").write(b)
    open("%s/s%02d" % (src, i), "wb").write(r.randbytes(100 + i))
    open("%s/m%02d" % (src, i), "wb").write(b"same\n")
    open("%s/m%02d" % (old, i), "wb").write(b"same\n")
EOF
	chmod 600 "$1"/m0*
	find "$1" "$2" -exec touch -h -d '2024-03-04 05:06:07' {} +
	touch -d '2020-01-01' "$2"/f*
}

many_case() {
	local side=$1
	shift
	[ -d "$T/m/src" ] || mk_many "$T/m/src" "$T/m/old"
	CAP_W="$T/m" CAP_OLD="$T/m/old" "$side" "$@"
}

@test "capture: client delta push -ai, files matched in parallel" {
	many_case client_case push old -ai
}

@test "capture: client delta push -az, files matched in parallel" {
	many_case client_case push old -az
}

@test "capture: server delta pull -ai --cc=md5, files matched in parallel" {
	many_case server_case pull old -ai --cc=md5
}

# The receiving side's generator has the same files' sums (and -c sums)
# made ahead on a pool (generator.c, the look-ahead).
@test "capture: client delta pull -ai, block sums made ahead" {
	many_case client_case pull old -ai
}

@test "capture: server delta push -aic --cc=md5, sums made ahead" {
	many_case server_case push old -aic --cc=md5
}

# The receiving side's socket writer (apps/engine/wout.h) changes which
# thread writes, not what is written: with the writer and without it
# (OC_RSYNC_WRITER_ASYNC=0, generator and receiver still two threads).
writer_case() {
	local side=$1 dir=$2 prep=$3
	shift 3
	if [ "$side" = client ]; then
		cap oc1 "$prep" "$dir" env OC_RSYNC_ASYNC=1 "$OC" "$@"
		cap ocw "$prep" "$dir" env OC_RSYNC_WRITER_ASYNC=0 "$OC" "$@"
		same_run oc1 ocw c2s
	else
		cap oc1 "$prep" "$dir" rsync --no-i-r --rsync-path="env OC_RSYNC_ASYNC=1 $OC" "$@"
		cap ocw "$prep" "$dir" rsync --no-i-r --rsync-path="env OC_RSYNC_WRITER_ASYNC=0 $OC" "$@"
		same_run oc1 ocw s2c
	fi
}

@test "capture: server delta push -ai --delete, with and without the socket writer" {
	writer_case server push old -ai --delete
}

@test "capture: client delta pull -ai, many files, with and without the socket writer" {
	[ -d "$T/m/src" ] || mk_many "$T/m/src" "$T/m/old"
	CAP_W="$T/m" CAP_OLD="$T/m/old" writer_case client pull old -ai
}

# keepalive_run NAME STALL CMD...: a pull of 3000 small files with
# --timeout=4 through wiretap, the server's output held 3 s once STALL bytes
# of it are through; prints the client's keep-alive frames (wiredemux.py
# --keepalives: "c2s DATA0 @OFFSET" or "c2s NOOP @OFFSET").
keepalive_run() {
	local name=$1 stall=$2
	shift 2
	rm -rf "$C/$name.dst" "$C/$name".*
	WIRETAP_STALL="$stall:3" "$@" -a --timeout=4 -e "python3 $TAP $C/$name" "h:$T/ka/" "$C/$name.dst/" \
		>"$C/$name.log" 2>&1 || { cat "$C/$name.log"; return 1; }
	diff -r "$T/ka" "$C/$name.dst" >/dev/null || { echo "$name: tree differs"; return 1; }
	python3 "$DEMUX" --keepalives --dir c2s "$C/$name"
}

# Upstream's receiving side sends no keep-alive until it has split into
# generator and receiver (a sender before 3.1.0 dies of one while it still
# sends the list), and from then on sends empty MSG_DATA frames, also while
# its generator only waits for its receiver. The first run stalls the list
# (the client's filter list ends at offset 4 of what it sends, its
# generator's requests come after), the second the file data.
@test "capture: keep-alives as rsync 3.5.0 sends them, none during the file list" {
	local m k ref
	if [ ! -d "$T/ka" ]; then
		mkdir -p "$T/ka/d"
		for k in $(seq -w 1 3000); do echo "$k" >"$T/ka/d/file_$k"; done
	fi
	for m in rsync 1 0; do
		if [ $m = rsync ]; then
			set -- rsync --no-i-r
		else
			set -- env OC_RSYNC_ASYNC=$m "$OC"
		fi
		k=$(keepalive_run list.$m 20000 "$@") || return 1
		if grep -q ' @4$' <<<"$k"; then
			echo "$*: keep-alive while the file list came in:"
			echo "$k"
			return 1
		fi
		k=$(keepalive_run data.$m 120000 "$@") || return 1
		# a generator idle for the 2 s lull of the 3 s stall: at least one
		grep -q '^c2s DATA0 ' <<<"$k" && ! grep -q NOOP <<<"$k" || {
			echo "$*: keep-alives during the stalled data: ${k:-none}"
			return 1
		}
	done
}
