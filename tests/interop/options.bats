#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# One case per rsync option (or family) that oc-rsync carries out: the same
# command with oc-rsync and with rsync 3.5.0 (run_pair from common.bash), and
# the trees, the -i or --out-format output and the exit codes compared. The
# tree is small, so the many cases stay quick. Every case runs all four
# directions; the compress choices also run with OC_RSYNC_ASYNC=0 (the
# token stream crosses files, and the modes pipeline them differently),
# the rest in the default async mode only (engine.bats covers both modes on
# the big tree). Options that only matter on an update prepare both
# destinations with a PREP function.
# Last: --version and -VV, which transfer nothing.

load common

setup_file() {
	common_setup_file
	export RUN_TIMEOUT=10
	mk_small_tree "$T/src"
	printf 'outside\n' >"$T/outside.txt"
	touch -d '2024-03-04 05:06:07' "$T/outside.txt"
}

# mk_small_tree DIR: a few files of each kind the options below look at.
mk_small_tree() {
	local d=$1 i
	mkdir -p "$d/sub/deep" "$d/empty"
	printf 'hello\n' >"$d/small"
	for i in $(seq 1 6000); do printf 'line %05d of a text that compresses well\n' "$i"; done >"$d/text.txt"
	head -c 100000 /dev/urandom >"$d/rand.bin"
	printf 'scratch\n' >"$d/a.tmp"
	printf 'scratch\n' >"$d/sub/b.tmp"
	printf 'c\n' >"$d/sub/c.txt"
	head -c 3000 /dev/urandom >"$d/sub/deep/d.dat"
	ln -s small "$d/rel_link"
	ln -s /etc/hostname "$d/abs_link"
	ln -s ../outside.txt "$d/up_link"
	ln -s nowhere "$d/dangling"
	if [ "$(id -u)" = 0 ]; then
		chown 1234:5678 "$d/rand.bin"
		chown -h 4321:8765 "$d/rel_link"
	fi
	find "$d" -mindepth 1 -exec touch -h -d '2024-03-04 05:06:07.123456789' {} +
}

# prep_update DEST: an older copy of the tree, for the update cases.
prep_update() {
	cp -a "$T/src" "$1"
	# missing on the receiver: created (not with --existing)
	rm -f "$1/small"
	# extraneous: deleted with --delete
	printf 'extra\n' >"$1/extra.txt"
	mkdir -p "$1/olddir/x"
	printf 'old\n' >"$1/olddir/x/y.tmp"
	printf 'old\n' >"$1/old.tmp"
	# 1000 bytes rewritten in the middle and an older mtime: a delta
	# transfer, or a skip with --size-only / --ignore-existing
	printf '%01000d' 0 | dd of="$1/text.txt" bs=1 seek=100000 conv=notrunc 2>/dev/null
	touch -d '2020-01-01' "$1/text.txt"
	# other content, same size and mtime: only -c and -I see it
	printf '%01000d' 0 | dd of="$1/rand.bin" bs=1 seek=5000 conv=notrunc 2>/dev/null
	touch -r "$T/src/rand.bin" "$1/rand.bin"
	# newer on the receiver: kept with -u
	printf 'C\n' >"$1/sub/c.txt"
	touch -d '2030-01-01' "$1/sub/c.txt"
	# both destinations must start equal, to the nanosecond
	touch -h -d '2022-02-02 02:02:02' "$1/extra.txt" "$1/olddir/x/y.tmp" "$1/old.tmp" \
		"$1/olddir/x" "$1/olddir" "$1"
}

# --- compression and checksum choices: four directions, both modes -----------

@test "options: -az with each --compress-choice and a --compress-level" {
	local c failed=
	for c in zlib:9 zlibx:1 zstd:5 lz4:1 none:0; do
		PREP=prep_update run_pair -azi --compress-choice="${c%:*}" --compress-level="${c#*:}" ||
			failed+=" ${c%:*}"
	done
	[ -z "$failed" ] || { echo "failed:$failed"; return 1; }
}

# For this tree's update, seed 40105 makes the sender match a 700-byte
# window of the new text.txt at offset 101360 to basis block 242: their weak
# sums collide and their 2-byte xxh128 sums agree (found by scanning seeds
# with ocp_csum1()/ocp_csum2() over the window the sender rolls through).
@test "options: a false block match (--checksum-seed=40105): the warning and the redo, as rsync" {
	local log mode
	for mode in 1 0; do
		# OC_RSYNC_ASYNC=0 receives each file before it asks for the next, so
		# in a push the warning comes before the next request where rsync's
		# generator has run ahead: the same lines, in another order
		if [ "$mode" = 1 ]; then
			MODES=1 PREP=prep_update run_pair -azi --checksum-seed=40105 || return 1
		else
			MODES=0 ORDER=sort PREP=prep_update run_pair -azi --checksum-seed=40105 || return 1
		fi
		# the case must stay a false match: every run, both programs, says so
		for log in "$T"/out.*."$mode".log "$T"/ref.*."$mode".log; do
			grep -qx 'WARNING: text.txt failed verification -- update discarded (will try again).' "$log" ||
				{ echo "no false match in $log:"; cat "$log"; return 1; }
			[ "$(grep -c 'text\.txt$' "$log")" = 2 ] || { echo "not redone once in $log:"; cat "$log"; return 1; }
		done
	done
}

@test "options: each --checksum-choice, without -c" {
	local c failed=
	for c in md4 md5 sha1 xxh64 xxh3 xxh128; do
		MODES=1 PREP=prep_update run_pair -ai --checksum-choice="$c" || failed+=" $c"
	done
	[ -z "$failed" ] || { echo "failed:$failed"; return 1; }
}

@test "options: each --checksum-choice, with -c" {
	local c failed=
	for c in md4 md5 sha1 xxh64 xxh3 xxh128; do
		MODES=1 PREP=prep_update run_pair -aci --checksum-choice="$c" || failed+=" $c"
	done
	[ -z "$failed" ] || { echo "failed:$failed"; return 1; }
}

# --- sparse files ------------------------------------------------------------

# sparse_blocks: after run_pair, each destination's file "holes" takes as
# many blocks as rsync's, and few.
sparse_blocks() {
	local out ref
	for out in "$T"/out.*[01]; do
		ref=${out/\/out./\/ref.}
		echo "${out##*/}: rsync $(stat -c %b "$ref/holes") blocks, oc-rsync $(stat -c %b "$out/holes")"
		[ "$(stat -c %b "$out/holes")" = "$(stat -c %b "$ref/holes")" ] || return 1
		[ "$(stat -c %b "$out/holes")" -lt 64 ] || return 1
	done
}

@test "options: -S writes holes as rsync does" {
	mkdir -p "$T/sparse"
	truncate -s $((4 << 20)) "$T/sparse/holes"
	head -c 4096 /dev/urandom | dd of="$T/sparse/holes" bs=4096 seek=256 conv=notrunc 2>/dev/null
	head -c 4096 /dev/urandom | dd of="$T/sparse/holes" bs=4096 seek=1023 conv=notrunc 2>/dev/null
	touch -d '2024-03-04 05:06:07' "$T/sparse/holes"
	[ "$(stat -c %b "$T/sparse/holes")" -lt 64 ] || skip "no holes on this file system"
	SRC="$T/sparse" run_pair -aSi
	sparse_blocks
	# an update: the last block differs, so most of the file is matched
	prep_sparse() {
		mkdir -p "$1"
		cp --sparse=always "$T/sparse/holes" "$1/holes"
		printf 'changed' | dd of="$1/holes" bs=1 seek=$(((4 << 20) - 100)) conv=notrunc 2>/dev/null
		touch -d '2020-01-01' "$1/holes" "$1"
	}
	SRC="$T/sparse" PREP=prep_sparse run_pair -aSi --no-whole-file --stats
	sparse_blocks
	grep -q '^Matched data: [1-9]' "$T/ref.pull.1.log"
}

# --- filters -----------------------------------------------------------------

@test "options: --exclude" {
	MODES=1 run_pair -ai --exclude='*.tmp' --exclude=deep
}

@test "options: --include then --exclude" {
	MODES=1 run_pair -ai --include='*/' --include='*.txt' --exclude='*'
}

@test "options: -f '- *.tmp'" {
	MODES=1 run_pair -ai -f '- *.tmp' -f '- /sub/deep/'
}

@test "options: --exclude-from FILE" {
	printf '# comment\n*.tmp\n\n/empty\n' >"$T/excl"
	MODES=1 run_pair -ai --exclude-from="$T/excl"
}

@test "options: --include-from FILE" {
	printf '*/\n*.txt\n*.dat\n' >"$T/incl"
	MODES=1 run_pair -ai --include-from="$T/incl" --exclude='*'
}

@test "options: --delete-excluded" {
	local rc=0
	MODES=1 PREP=prep_update DIRS="push rpush" \
		run_pair -ai --delete --delete-excluded --exclude='*.tmp' || rc=1
	# On a pull, rsync's generator (a second process) logs the deletion in
	# sub/ before or after the receiver's "./" line, as timing has it.
	MODES=1 PREP=prep_update DIRS="pull rpull" ORDER="env LC_ALL=C sort" \
		run_pair -ai --delete --delete-excluded --exclude='*.tmp' || rc=1
	[ "$rc" = 0 ]
}

# --- deletion ----------------------------------------------------------------

@test "options: --delete-before" {
	MODES=1 PREP=prep_update run_pair -ai --delete-before
}

@test "options: --delete-during" {
	MODES=1 PREP=prep_update run_pair -ai --delete-during
}

@test "options: --delete-delay" {
	MODES=1 PREP=prep_update run_pair -ai --delete-delay
}

@test "options: --delete-after" {
	MODES=1 PREP=prep_update run_pair -ai --delete-after
}

# The late deletions come after the receiver's last phase: in the
# sequential mode the receiver's end must not wait for the sender's
# goodbye, which only comes after them (a hang, caught by RUN_TIMEOUT).
@test "options: --delete-after and --delete-delay, OC_RSYNC_ASYNC=0" {
	local rc=0
	MODES=0 PREP=prep_update run_pair -ai --delete-after || rc=1
	MODES=0 PREP=prep_update run_pair -ai --delete-delay || rc=1
	[ "$rc" = 0 ]
}

# --- type changes: what is removed to make room -------------------------------

# mk_type_src DIR: each entry of another type than prep_types puts there.
mk_type_src() {
	local d=$1
	mkdir -p "$d/f2d" "$d/l2d"
	printf 'x\n' >"$d/f2d/in"
	printf 'z\n' >"$d/l2d/in"
	printf 'y\n' >"$d/d2f"
	printf 'e\n' >"$d/ed2f"
	printf 'q\n' >"$d/l2f"
	ln -s target "$d/f2l"
	ln -s t2 "$d/d2l"
	ln -s e "$d/ed2l"
	mkfifo "$d/d2fifo"
	find "$d" -exec touch -h -d '2024-03-04 05:06:07' {} +
}

# prep_types DEST: file where a dir comes, dirs (full and empty) where a
# file, a symlink or a FIFO comes, symlinks where a file and a dir come.
prep_types() {
	local d=$1
	mkdir -p "$d/d2f/sub" "$d/d2l" "$d/ed2f" "$d/ed2l" "$d/d2fifo/s"
	printf 'old\n' >"$d/f2d"
	printf 'old\n' >"$d/f2l"
	printf 'a\n' >"$d/d2f/sub/x"
	printf 'b\n' >"$d/d2f/y"
	printf 'c\n' >"$d/d2l/z"
	printf 'c\n' >"$d/d2fifo/s/w"
	ln -s nowhere "$d/l2d"
	ln -s foo "$d/l2f"
	find "$d" -exec touch -h -d '2023-01-02 03:04:05' {} +
}

# rsync logs the contents of a directory it removes to make room (with
# --delete, else it cannot: "could not make way", code 23), never the entry
# replaced itself; a dry run lists the same. Errors and the generator's
# lines interleave as timing has it: the outputs are compared sorted.
@test "options: type changes (file, dir, symlink, FIFO) with -i, --delete, -n" {
	local rc=0 o
	mk_type_src "$T/types"
	for o in "-ai --stats" "-ai --delete --stats" "-ani --delete" "-av --delete-after"; do
		SRC="$T/types" MODES=1 PREP=prep_types ORDER="env LC_ALL=C sort" \
			run_pair $o || rc=1
	done
	# and a local copy
	for o in "-ai --stats" "-ai --delete --stats" "-ani --delete"; do
		rm -rf "$T/lo" "$T/lr"
		prep_types "$T/lo"
		prep_types "$T/lr"
		rsync $o "$T/types/" "$T/lr/" >"$T/lr.log" 2>&1 || true
		"$OC" $o "$T/types/" "$T/lo/" >"$T/lo.log" 2>&1 || true
		diff <(grep -v "$MASK" "$T/lr.log" | sed -e "s|$T/lr|DEST|" -e "$ERRLINE" | LC_ALL=C sort) \
			<(grep -v "$MASK" "$T/lo.log" | sed -e "s|$T/lo|DEST|" -e "$ERRLINE" | LC_ALL=C sort) ||
			{ echo "local differs: $o"; rc=1; }
		diff <("$SIG" "$T/lr") <("$SIG" "$T/lo") || { echo "local tree differs: $o"; rc=1; }
	done
	grep -q '^\*deleting   d2f/sub/x' "$T/lr.log" || rc=1
	[ "$rc" = 0 ]
}

# The one deletion allowed empties olddir/x, whose mtime then says when the
# run happened: it is left out of the comparison.
olddir_x_any_mtime() {
	sed 's|^\(olddir/x\t[a-z]* [0-9]* [0-9]* [0-9]*\) [0-9.]*|\1 MTIME|'
}

@test "options: --delete --max-delete=1 (code 25)" {
	MODES=1 PREP=prep_update TREE_FILTER=olddir_x_any_mtime run_pair -ai --delete --max-delete=1
	grep -q 'max-delete' "$T/ref.push.1.log"
}

# --- what is transferred -----------------------------------------------------

@test "options: --size-only" {
	MODES=1 PREP=prep_update run_pair -ai --size-only
}

@test "options: -u" {
	MODES=1 PREP=prep_update run_pair -aiu
}

@test "options: --existing" {
	MODES=1 PREP=prep_update run_pair -ai --existing
}

@test "options: --ignore-existing" {
	MODES=1 PREP=prep_update run_pair -ai --ignore-existing
}

@test "options: --max-size" {
	MODES=1 run_pair -ai --max-size=4K
}

@test "options: --min-size" {
	MODES=1 run_pair -ai --min-size=4K
}

@test "options: -I" {
	MODES=1 PREP=prep_update run_pair -aiI
}

@test "options: -W on an update" {
	MODES=1 PREP=prep_update run_pair -aiW --stats
}

@test "options: -B 2048 --no-whole-file on an update" {
	MODES=1 PREP=prep_update run_pair -ai -B 2048 --no-whole-file --stats
}

@test "options: --modify-window" {
	prep_window() {
		cp -a "$T/src" "$1"
		printf 'HELLO\n' >"$1/small"
		touch -d '2024-03-04 05:06:08.5' "$1/small"
	}
	local rc=0
	MODES=1 PREP=prep_window run_pair -ai --modify-window=2 || rc=1
	# and without the window the same tree is updated
	MODES=1 PREP=prep_window run_pair -ai || rc=1
	[ "$rc" = 0 ]
}

# --- links, devices, owners --------------------------------------------------

@test "options: --safe-links" {
	local rc=0
	MODES=1 DIRS="push rpush" run_pair -aiv --safe-links || rc=1
	# On a pull, rsync's generator prints "ignoring unsafe symlink" while
	# its receiver (another process) logs "./": the two lines come in
	# either order, in rsync against rsync too.
	MODES=1 DIRS="pull rpull" ORDER="env LC_ALL=C sort" run_pair -aiv --safe-links || rc=1
	[ "$rc" = 0 ]
}

@test "options: --copy-unsafe-links" {
	MODES=1 run_pair -ai --copy-unsafe-links
}

# Without -l and -D the sender still lists symlinks, devices and specials
# (rsync 3.5.0 does); the receiver says it skips them, and --stats counts them.
@test "options: -r --stats without -l or -D: non-regular files listed, then skipped" {
	MODES=1 ORDER="env LC_ALL=C sort" run_pair -rti --stats
}

# The directories --mkpath makes get the time of the run: left out.
mkpath_tree() {
	grep -v -P '^(a|a/b)\t'
}

@test "options: --mkpath makes the destination's missing parents (-n makes none)" {
	DSUB=a/b/ TREE_FILTER=mkpath_tree run_pair -ai --mkpath
	DSUB=a/b TREE_FILTER=mkpath_tree run_pair -ai --mkpath
	DSUB=a/b/ MODES=1 TREE_FILTER=mkpath_tree run_pair -ain --mkpath
	# without it, rsync's mkdir error (code 11)
	DSUB=a/b/ MODES=1 TREE_FILTER=mkpath_tree run_pair -ai
}

@test "options: -n into a destination that is not there makes nothing" {
	local d
	MODES=1 run_pair -ain
	for d in push pull rpush rpull; do
		[ ! -e "$T/out.$d.1" ] || { echo "a dry run made $T/out.$d.1"; return 1; }
	done
}

@test "options: -L (a dangling link: code 23)" {
	MODES=1 run_pair -aiL
}

@test "options: -x does not cross into a mounted file system" {
	mkdir -p "$T/xsrc/mnt" "$T/xsrc/plain"
	printf 'p\n' >"$T/xsrc/plain/f"
	mount -t tmpfs oc-test "$T/xsrc/mnt" 2>/dev/null || skip "cannot mount a tmpfs here"
	printf 'm\n' >"$T/xsrc/mnt/inside"
	find "$T/xsrc" -exec touch -h -d '2024-03-04 05:06:07' {} +
	local rc=0
	MODES=1 SRC="$T/xsrc" run_pair -aix || rc=$?
	umount "$T/xsrc/mnt"
	[ "$rc" = 0 ]
	[ -d "$T/out.pull.1/mnt" ]
	[ ! -e "$T/out.pull.1/mnt/inside" ]
}

@test "options: --numeric-ids" {
	MODES=1 run_pair -ai --numeric-ids
}

# --- output --------------------------------------------------------------------

@test "options: -n -i (dry run of an update with --delete)" {
	MODES=1 PREP=prep_update run_pair -ani --delete
}

@test "options: --out-format='%n %l %o'" {
	MODES=1 PREP=prep_update run_pair -a --out-format='%n %l %o'
}

# %b and %c: the data bytes each file's transfer wrote and read (a delta,
# new files, compressed), as upstream counts them; both modes.
@test "options: --out-format='%n %b %c' (bytes per file)" {
	MODES="1 0" PREP=prep_update run_pair -a --out-format='%n %b %c %l'
	MODES="1 0" PREP=prep_update run_pair -az --out-format='%n %b %c'
}

@test "options: -h --stats" {
	MODES=1 PREP=prep_update run_pair -ah --stats
}

# mk_alarm_trees SRC BASIS: a source and an older basis whose delta has
# matches, hash hits and false alarms: some blocks of the source differ
# from the basis by +1, -2, +1 in three bytes in a row, which keeps the
# weak sum and changes the strong one; a run of zeros hits one hash chain.
mk_alarm_trees() {
	mkdir -p "$1" "$2"
	"$PY" - "$2/f" "$1/f" <<-'EOF'
		import random, sys
		random.seed(1)
		b = bytearray(random.randrange(0, 100) for _ in range(200000))
		open(sys.argv[1], 'wb').write(b)
		for off in range(1000, len(b) - 10, 7000):
		    b[off] += 1; b[off + 1] -= 2; b[off + 2] += 1
		open(sys.argv[2], 'wb').write(b)
	EOF
	head -c 100000 /dev/zero >"$1/z"
	{ head -c 3000 /dev/urandom; head -c 100000 /dev/zero; } >"$2/z"
	head -c 5000 /dev/urandom >"$1/new"
	touch -d '2020-01-01' "$2/f" "$2/z"
}

prep_alarm() {
	cp -a "$T/alarm_basis" "$1"
}

only_totals() {
	grep '^total: '
}

# -vv: the sender's "total: matches=  hash_hits=  false_alarms= data=" line
# (upstream's match_report()), counted as rsync counts them; only that line
# is compared here.
@test "options: -vv prints the sender's match totals" {
	local rc=0 a
	mk_alarm_trees "$T/alarm_src" "$T/alarm_basis"
	for a in "" --inplace; do
		SRC="$T/alarm_src" MODES=1 PREP=prep_alarm ORDER=only_totals \
			run_pair -avv $a || rc=1
		grep -q '^total: matches=[1-9].* false_alarms=[1-9]' "$T/ref.push.1.log" || rc=1
	done
	# a local copy, its delta forced
	rm -rf "$T/lo" "$T/lr"
	prep_alarm "$T/lo"
	prep_alarm "$T/lr"
	rsync -avv --no-W "$T/alarm_src/" "$T/lr/" >"$T/lr.log" 2>&1
	"$OC" -avv --no-W "$T/alarm_src/" "$T/lo/" >"$T/lo.log" 2>&1
	grep -q '^total: matches=[1-9]' "$T/lr.log" || rc=1
	diff <(only_totals <"$T/lr.log") <(only_totals <"$T/lo.log") || rc=1
	[ "$rc" = 0 ]
}

# -vv without %i: upstream's generator says "NAME is uptodate" for an entry
# left as it is, the bare name when only its attributes change, and which
# delta mode it uses (a server's generator sends these to the client).
vv_lines() {
	grep -E 'is uptodate$|^delta-transmission|^d/b$'
}

prep_vv() {
	rsync -a "$T/vv_src/" "$1/"
	printf 'changed\n' >"$1/a"
	chmod 600 "$1/d/b"
}

@test "options: -vv says what is up to date and whether deltas are used" {
	mkdir -p "$T/vv_src/d"
	printf 'a\n' >"$T/vv_src/a"
	printf 'b\n' >"$T/vv_src/d/b"
	printf 'c\n' >"$T/vv_src/c"
	ln -sfn c "$T/vv_src/l"
	touch -h -d '2024-01-02 03:04:05' "$T/vv_src/a" "$T/vv_src/c" "$T/vv_src/l" "$T/vv_src/d/b" \
		"$T/vv_src/d"
	SRC="$T/vv_src" PREP=prep_vv ORDER=vv_lines run_pair -avv
	# the reference runs say them, so the comparison is not of nothing
	grep -q '^c is uptodate$' "$T/ref.pull.1.log"
	grep -q '^delta-transmission enabled$' "$T/ref.pull.1.log"
	grep -q '^d/b$' "$T/ref.pull.1.log"
}

# --- programs that transfer nothing --------------------------------------------

@test "options: --version names protocol version 32" {
	run "$OC" --version
	[ "$status" = 0 ]
	[[ "${lines[0]}" == *"protocol version 32"* ]]
}

@test "options: -VV prints JSON with rsync's keys" {
	"$OC" -VV >"$T/oc.json"
	rsync -VV >"$T/rsync.json"
	"$PY" - "$T/rsync.json" "$T/oc.json" <<-'EOF'
		import json, sys

		def keys(v, path=""):
		    out = set()
		    if isinstance(v, dict):
		        for k, x in v.items():
		            out.add(path + "/" + k)
		            out |= keys(x, path + "/" + k)
		    return out

		ref, ours = (json.load(open(p)) for p in sys.argv[1:3])
		missing, extra = keys(ref) - keys(ours), keys(ours) - keys(ref)
		for k in sorted(missing):
		    print("missing key:", k)
		for k in sorted(extra):
		    print("extra key:", k)
		for k in ("checksum_list", "compress_list", "daemon_auth_list"):
		    if not isinstance(ours.get(k), list):
		        print(k, "is not a list")
		sys.exit(1 if missing or extra else 0)
	EOF
}

# An honest -VV: a capability it claims true is an option it accepts, and
# one it claims false is an option it refuses; each listed checksum and
# compressor is accepted by --checksum-choice / --compress-choice.
@test "options: -VV claims only what oc-rsync accepts" {
	"$OC" -VV >"$T/oc.json"
	mkdir -p "$T/vv"
	"$PY" - "$T/oc.json" "$OC" "$T/src/" "$T/vv/" <<-'EOF'
		import json, subprocess, sys

		vv, oc, src, dst = json.load(open(sys.argv[1])), *sys.argv[2:5]
		option = {
		    "hardlinks": "-H", "atimes": "--atimes", "crtimes": "--crtimes",
		    "inplace": "--inplace", "append": "--append", "ACLs": "-A",
		    "xattrs": "-X", "iconv": "--iconv=utf8,utf8", "prealloc": "--preallocate",
		    "batchfiles": "--only-write-batch=" + dst + "batch", "IPv6": "-6",
		    "stop_at": "--stop-after=10", "secluded_args": "-s",
		}

		def accepted(*args):
		    r = subprocess.run([oc, "-an", *args, src, dst + "x"], capture_output=True, text=True)
		    return r.returncode == 0, r.stderr.strip()

		bad = 0
		for cap, opt in option.items():
		    claim = vv["capabilities"].get(cap)
		    ok, err = accepted(opt)
		    if bool(claim) != ok:
		        print(f"capability {cap} = {claim!r}, but {opt} is {'accepted' if ok else 'refused: ' + err}")
		        bad = 1
		for name in vv["checksum_list"]:
		    ok, err = accepted("--checksum-choice=" + name)
		    if not ok:
		        print(f"checksum {name} listed but refused: {err}")
		        bad = 1
		for name in vv["compress_list"]:
		    ok, err = accepted("-z", "--compress-choice=" + name)
		    if not ok:
		        print(f"compressor {name} listed but refused: {err}")
		        bad = 1
		sys.exit(bad)
	EOF
}
