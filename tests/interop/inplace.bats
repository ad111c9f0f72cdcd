#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# --inplace, --append and --append-verify, oc-rsync against Debian's rsync
# 3.5.0: each case runs in the four directions (oc-rsync as client pushing
# and pulling with rsync --server on the far side, and an rsync client with
# --rsync-path=oc-rsync both ways) and both async modes, over a destination
# that holds older versions of the files, and compares the destination tree
# (hard links and backups included), the -i and --stats output and the exit
# codes with the same command run with rsync on both ends.

load common

setup_file() {
	common_setup_file
	local s="$T/src"
	mkdir -p "$s/sub" "$s/indir"
	head -c 300000 /dev/urandom >"$s/changed"
	head -c 250000 /dev/urandom >"$s/grown"
	head -c 50000 /dev/urandom >"$s/shrunk"
	printf 'same\n' >"$s/same"
	head -c 20000 /dev/urandom >"$s/new"
	head -c 120000 /dev/urandom >"$s/sub/moved"
	head -c 90000 /dev/urandom >"$s/hl"
	head -c 100000 /dev/urandom >"$s/vprefix"
	head -c 70000 /dev/urandom >"$s/ro"
	printf 'file now\n' >"$s/wasdir"
	printf 'file now\n' >"$s/waslink"
	head -c 30000 /dev/urandom >"$s/indir/pair1"
	ln "$s/indir/pair1" "$s/indir/pair2"
	find "$s" -exec touch -h -d '2024-01-01 00:00:00.5' {} +
}

# Older versions of the files at the destination: a patch in the middle,
# a prefix, a longer file, blocks in another order, a hard link to a file
# the transfer changes, an append prefix that differs from the source.
prep_old() {
	local d=$1 s="$T/src" i
	mkdir -p "$d/sub" "$d/indir"
	cp "$s/changed" "$d/changed"
	for i in 1 2 3 4 5 6 7 8; do printf 'PATCHED-'; done |
		dd of="$d/changed" bs=1 seek=150000 conv=notrunc status=none
	head -c 100000 "$s/grown" >"$d/grown"
	{ cat "$s/shrunk"; head -c 80000 "$s/changed"; } >"$d/shrunk"
	{ tail -c 60000 "$s/sub/moved"; head -c 60000 "$s/sub/moved"; } >"$d/sub/moved"
	head -c 40000 "$s/hl" >"$d/hl"
	ln "$d/hl" "$d/hl.twin"
	head -c 60000 "$s/vprefix" >"$d/vprefix"
	printf 'Z' | dd of="$d/vprefix" bs=1 seek=100 conv=notrunc status=none
	head -c 35000 "$s/ro" >"$d/ro"
	find "$d" -exec touch -h -d '2023-05-05' {} +
	cp -p "$s/same" "$d/same"
}

# prep_old with a read-only file to update.
prep_ro() {
	prep_old "$1"
	chmod 444 "$1/ro"
}

# prep_old, plus a directory and a symlink where the source has files.
prep_odd() {
	prep_old "$1"
	mkdir "$1/wasdir"
	ln -s same "$1/waslink"
	touch -h -d '2023-05-05' "$1/wasdir" "$1/waslink"
}

# -b implies --omit-dir-times, and backups land in the directories after
# their times were set: directory times are left out.
no_dir_times() {
	awk -F '\t' -v OFS='\t' '$2 ~ /^d/ { sub(/ [0-9.]+$/, " T", $2) } { print }'
}

no_times() {
	awk -F '\t' -v OFS='\t' '{ n = split($2, a, " "); $2 = a[1]
		for (i = 2; i <= n; i++) $2 = $2 " " (i == 5 ? "T" : a[i]) } { print }'
}

# A server receiver's verification warning goes to the client beside the
# sender's own lines, in an order that depends on timing: compared last.
warn_last() {
	local all
	all=$(cat)
	grep -v '^WARNING: ' <<<"$all" || true
	grep '^WARNING: ' <<<"$all" || true
}

@test "inplace: changed, grown, shrunk, moved and new files, -i --stats" {
	PREP=prep_old run_pair -ai --inplace --stats
}

@test "inplace: -I (every file), and a hard-linked destination written through" {
	PREP=prep_old run_pair -ai -I --inplace --stats
	# rsync writes into the file: its other name sees the new data.
	cmp "$T/src/hl" "$T/out.push.1/hl.twin"
	cmp "$T/src/hl" "$T/out.rpull.0/hl.twin"
}

@test "inplace: -H with linked source files" {
	PREP=prep_old run_pair -aiH --inplace --stats
}

@test "inplace: whole files (-W)" {
	PREP=prep_old run_pair -ai -W --inplace --stats
}

@test "inplace: -b copies the old file first, --backup-dir too" {
	PREP=prep_old TREE_FILTER=no_dir_times run_pair -ai -b --inplace --stats
	# The backup is a copy with the old data, not a link to the new.
	cmp "$T/out.pull.1/hl~" <(head -c 40000 "$T/src/hl")
	# The generator's backup lines and the receiver's item lines are
	# printed by two processes in rsync: their interleaving is timing.
	PREP=prep_old TREE_FILTER=no_dir_times ORDER="sort" \
		run_pair -ai --inplace --backup-dir=bak --info=backup
	PREP=prep_old TREE_FILTER=no_dir_times run_pair -ai -W -b --inplace
}

@test "inplace: a read-only destination file" {
	PREP=prep_ro run_pair -ai --inplace --stats
	# Without -t the files get the time of the transfer: times left out.
	PREP=prep_ro TREE_FILTER=no_times run_pair -ri --inplace --size-only
}

@test "inplace: a directory and a symlink where the source has files" {
	skip "oc-rsync's generator reports and counts the removal of an entry in a file's way as a deletion (upstream's DEL_MAKE_ROOM does not); not specific to --inplace"
	PREP=prep_odd run_pair -ai --inplace --stats
}

@test "inplace: compressed (-z, zstd) and --sparse" {
	PREP=prep_old run_pair -ai -I --inplace -z --stats
	PREP=prep_old run_pair -ai --inplace --compress-choice=zstd --stats
	PREP=prep_old run_pair -ai --inplace --sparse --stats
	PREP=prep_old ORDER=warn_last run_pair -ai --append-verify -z --stats
}

# Protocol 30 has no nanoseconds: an unchanged file whose time has them
# keeps them with rsync, while oc-rsync sets the whole second (not a matter
# of --inplace): that file is left out.
p30_filter() {
	grep -v '^same	' | no_dir_times
}

# sparse_same: after run_pair, each destination's file "holes" takes as many
# blocks as rsync's.
sparse_same() {
	local out ref
	for out in "$T"/out.*[01]; do
		ref=${out/\/out./\/ref.}
		[ "$(stat -c %b "$out/holes")" = "$(stat -c %b "$ref/holes")" ] || {
			echo "${out##*/}: rsync $(stat -c %b "$ref/holes") blocks, oc-rsync $(stat -c %b "$out/holes")"
			return 1
		}
	done
}

@test "inplace: --sparse punches holes where old data was" {
	mkdir -p "$T/sparse"
	truncate -s $((4 << 20)) "$T/sparse/holes"
	head -c 4096 /dev/urandom | dd of="$T/sparse/holes" bs=4096 seek=256 conv=notrunc 2>/dev/null
	head -c 4096 /dev/urandom | dd of="$T/sparse/holes" bs=4096 seek=1023 conv=notrunc 2>/dev/null
	touch -d '2024-03-04 05:06:07' "$T/sparse/holes"
	[ "$(stat -c %b "$T/sparse/holes")" -lt 64 ] || skip "no holes on this file system"
	# Old data everywhere: literal zeros over it become holes.
	prep_full() {
		mkdir -p "$1"
		head -c $((4 << 20)) /dev/urandom >"$1/holes"
		touch -d '2020-01-01' "$1/holes" "$1"
	}
	# A sparse old version: matched blocks at their own offset keep their holes.
	prep_sparse() {
		mkdir -p "$1"
		cp --sparse=always "$T/sparse/holes" "$1/holes"
		printf 'changed' | dd of="$1/holes" bs=1 seek=$(((4 << 20) - 100)) conv=notrunc 2>/dev/null
		touch -d '2020-01-01' "$1/holes" "$1"
	}
	# (--append --sparse is left out: rsync 3.5.0's receiver fails on it,
	# "write failed ...: Success (0)", code 11.)
	SRC="$T/sparse" PREP=prep_full run_pair -ai --inplace --sparse --stats
	sparse_same
	SRC="$T/sparse" PREP=prep_full run_pair -ai -W --inplace --sparse
	sparse_same
	SRC="$T/sparse" PREP=prep_sparse run_pair -ai -I --inplace --sparse --stats
	sparse_same
}

@test "inplace: protocol 30" {
	PREP=prep_old TREE_FILTER=p30_filter run_pair -ai --inplace --protocol=30 --stats
	PREP=prep_old ORDER=warn_last TREE_FILTER=p30_filter \
		run_pair -ai -b --append-verify --protocol=30 --stats
}

@test "inplace: with --link-dest and --copy-dest" {
	# An alternate dir with some files current, some older.
	rm -rf "$T/prev"
	prep_old "$T/prev"
	cp -p "$T/src/new" "$T/src/changed" "$T/prev/"
	prep_part() { mkdir -p "$1"; cp -p "$T/src/same" "$1/"; }
	PREP=prep_part run_pair -ai --inplace --link-dest=../prev --stats
	PREP=prep_part run_pair -ai --inplace --copy-dest=../prev --stats
	PREP=prep_part ORDER=warn_last run_pair -ai --append-verify --compare-dest=../prev --stats
}

@test "inplace: -v and dry runs" {
	PREP=prep_old run_pair -av --inplace
	PREP=prep_old run_pair -ain --inplace --stats
	PREP=prep_old run_pair -ain --append-verify --stats
}

@test "append: grown files get the rest, longer and equal ones are left alone" {
	PREP=prep_old run_pair -ai --append --stats
	# The differing prefix is kept: --append does not look at it.
	cmp -s "$T/src/vprefix" "$T/out.pull.1/vprefix" && false
	PREP=prep_old run_pair -av --append
}

@test "append-verify: a prefix that differs fails verification and is resent" {
	PREP=prep_old ORDER=warn_last run_pair -ai --append-verify --stats
	cmp "$T/src/vprefix" "$T/out.pull.1/vprefix"
	cmp "$T/src/vprefix" "$T/out.rpush.0/vprefix"
	PREP=prep_old ORDER=warn_last run_pair -av --append-verify
}

@test "append: with -b, -I and -H" {
	PREP=prep_old ORDER=warn_last TREE_FILTER=no_dir_times run_pair -ai -b --append-verify --stats
	PREP=prep_old run_pair -ai -I --append --stats
	PREP=prep_old ORDER=warn_last run_pair -aiH --append-verify --stats
}

# as_nobody DIR-IN-WORK ARG...: run ARG... ("@P@" is the program under test)
# as nobody in fresh copies of a work dir holding src/ and dst/, where dst
# has a read-only file in a read-only directory; then compare with rsync.
# Only --inplace can update them: it needs no temp file, and a read-only
# file gets owner write access just long enough to be opened.
as_nobody() {
	local W side prog a rc rrc orc argv
	W=$(mktemp -d /tmp/oc-inplace.XXXXXX)
	chmod 755 "$W"
	for side in ref out; do
		prog=rsync
		[ $side = out ] && prog=$OC
		argv=()
		for a; do argv+=("${a//@P@/$prog}"); done
		mkdir -p "$W/$side/src/sub" "$W/$side/dst/sub"
		cp -p "$T/src/ro" "$T/src/grown" "$W/$side/src/"
		cp -p "$T/src/sub/moved" "$W/$side/src/sub/"
		head -c 35000 "$T/src/ro" >"$W/$side/dst/ro"
		head -c 1000 "$T/src/grown" >"$W/$side/dst/grown"
		{ tail -c 60000 "$T/src/sub/moved"; head -c 60000 "$T/src/sub/moved"; } >"$W/$side/dst/sub/moved"
		chown -R 65534:65534 "$W/$side"
		chmod 444 "$W/$side/dst/ro" "$W/$side/dst/sub/moved"
		chmod 555 "$W/$side/dst" "$W/$side/dst/sub"
		rc=0
		(cd "$W/$side" && exec timeout 60 $AS_NOBODY "${argv[@]}") >"$W/$side.log" 2>&1 || rc=$?
		[ $side = ref ] && rrc=$rc || orc=$rc
	done
	local bad=0
	diff <("$SIG" "$W/ref/dst" | no_times) <("$SIG" "$W/out/dst" | no_times) || {
		echo "tree differs (< rsync, > oc-rsync): $*"; bad=1; }
	diff <(grep -v "$MASK" "$W/ref.log" | sed -e "$ERRLINE") \
		<(grep -v "$MASK" "$W/out.log" | sed -e "$ERRLINE") || {
		echo "output differs (< rsync, > oc-rsync): $*"; bad=1; }
	[ "$rrc" = "$orc" ] || { echo "exit code: rsync $rrc, oc-rsync $orc: $*"; bad=1; }
	[ $bad = 0 ] || { cat "$W/ref.log" "$W/out.log"; }
	chmod -R u+w "$W"
	rm -rf "$W"
	return $bad
}

@test "inplace: read-only files in read-only directories, as an unprivileged user" {
	[ "$(id -u)" = 0 ] || skip "needs root to drop to nobody"
	AS_NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
	as_nobody @P@ -ri --inplace --stats src/ dst/
	as_nobody @P@ -ri --inplace -e "$RSH" src/ h:dst/
	as_nobody @P@ -ri --inplace -e "$RSH" h:src/ dst/
	as_nobody rsync -ri --inplace -e "$RSH" --rsync-path=@P@ src/ h:dst/
	as_nobody @P@ -ri --append-verify --stats src/ dst/
}

# cut_then DIR WHO OPTS...: a 20 MB new file, the connection cut after 5 MB
# with --inplace (the data so far stays in the destination file itself, as
# --partial would keep it), then a second run with OPTS... finishes it.
cut_then() {
	local dir=$1 who=$2 w="$T/cut.$1.$2" b rc
	shift 2
	[ "$who" = oc ] && b=$OC || b=rsync
	rm -rf "$w"
	mkdir -p "$w/dst" "$T/csrc"
	[ -f "$T/csrc/big" ] || { head -c 20000000 /dev/urandom >"$T/csrc/big"; touch -d 2024-01-01 "$T/csrc/big"; }
	if [ "$dir" = pull ]; then
		CUT=5000000 "$b" -a --inplace -e "$CUTRSH" "h:$T/csrc/" "$w/dst/" >"$w.log" 2>&1 && rc=0 || rc=$?
	else
		CUTDIR=push CUT=5000000 "$b" -a --inplace -e "$CUTRSH" --rsync-path="$b" "$T/csrc/" "h:$w/dst/" \
			>"$w.log" 2>&1 && rc=0 || rc=$?
	fi
	echo "rc=$rc" >>"$w.log"
	(cd "$w/dst" && find . -type f | LC_ALL=C sort) >"$w.files"
	find "$w/dst" -type f -name big -printf '%s\n' >"$w.kept"
	"$b" -a "$@" --stats -e "$RSH" "h:$T/csrc/" "$w/dst/" >"$w.log2" 2>&1
	cmp "$T/csrc/big" "$w/dst/big"
}

@test "inplace: a cut connection leaves the data so far; --append or --inplace finishes it" {
	export CUTRSH="$BATS_TEST_DIRNAME/cutrsh"
	local dir opt size lit
	for dir in pull push; do
		for opt in --append --inplace; do
			cut_then $dir oc $opt
			cut_then $dir rsync $opt
			grep -qx 'rc=1[02]' "$T/cut.$dir.rsync.log"
			grep -qx 'rc=1[02]' "$T/cut.$dir.oc.log"
			# Only the file itself: no temp file.
			diff "$T/cut.$dir.rsync.files" "$T/cut.$dir.oc.files"
			read -r size <"$T/cut.$dir.oc.kept"
			[ "$size" -gt 0 ] && [ "$size" -lt 20000000 ]
			# The second run sent only what was missing (--append exactly,
			# --inplace up to the block the cut fell in).
			lit=$(sed -n 's/^Literal data: \([0-9,]*\) bytes/\1/p' "$T/cut.$dir.oc.log2" | tr -d ,)
			if [ $opt = --append ]; then
				[ "$lit" -eq $((20000000 - size)) ]
			else
				[ "$lit" -lt $((20000000 - size + 131072)) ]
			fi
		done
	done
}
