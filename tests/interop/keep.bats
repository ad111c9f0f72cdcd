#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# What happens to the files already at the destination, oc-rsync against
# Debian's rsync 3.5.0: backups (-b, --backup-dir, --suffix), the alternate
# destination directories (--link-dest, --copy-dest, --compare-dest),
# --temp-dir, and --partial / --partial-dir with an interrupted transfer
# resumed. Each case runs in the four directions (oc-rsync as client both
# ways, rsync as client with --rsync-path=oc-rsync both ways) and in both
# async modes, and compares the whole work folder (destination, backups,
# partial dirs) and the output with the same command run with rsync on
# both ends.

setup_file() {
	export OC="$BATS_TEST_DIRNAME/../../${OC_BUILD:-build}/bin/oc-rsync"
	export RSH="$BATS_TEST_DIRNAME/lrsh"
	export CUTRSH="$BATS_TEST_DIRNAME/cutrsh"
	export SIG="$BATS_TEST_DIRNAME/treesig.sh"
	export T="$BATS_FILE_TMPDIR"
	local s="$T/src"
	mkdir -p "$s/sub" "$s/d2"
	printf 'hello\n' >"$s/a"
	head -c 300000 /dev/urandom >"$s/big"
	printf 'x\n' >"$s/sub/f"
	printf 'y\n' >"$s/d2/g"
	find "$s" -exec touch -d '2024-01-01 00:00:00.5' {} +
	mkdir -p "$T/psrc"
	head -c 20000000 /dev/urandom >"$T/psrc/big"
	touch -d '2024-01-01' "$T/psrc/big" "$T/psrc"
}

# An older copy of the tree in ./dst, and ./prev for the alternate dirs.
prep_old() {
	mkdir -p dst/sub dst/old
	printf 'old\n' >dst/a
	printf 'oldf\n' >dst/sub/f
	printf 'gone\n' >dst/gone
	printf 'z\n' >dst/old/z
	head -c 300000 /dev/zero >dst/big
	find dst -exec touch -d '2023-05-05' {} +
}
prep_prev() {
	mkdir prev
	cp -a "$T/src/." prev/
	printf 'changed\n' >prev/sub/f
	touch -d '2023-05-05' prev/sub/f
	chmod 600 prev/a
}

# Directory times are left out where -b implies --omit-dir-times, and
# where a backup or partial directory is made at run time.
sig() {
	(cd "$1" && "$SIG" .) | awk -F '\t' -v OFS='\t' '$2 ~ /^d/ { sub(/ [0-9.]+$/, " T", $2) } { print }'
}

MASK='^sent \|^total size\|^Total bytes \|^File list generation time\|^File list transfer time'

# run_case PREP OPTS...: the four directions in both async modes, in work
# folders where PREP has run; the destination is always ./dst.
run_case() {
	local prep=$1 mode dir out ref
	shift
	for mode in 1 0; do
		for dir in push pull rpush rpull; do
			out="$T/out.$dir.$mode"
			ref="$T/ref.$dir.$mode"
			rm -rf "$out" "$ref"
			mkdir -p "$out" "$ref"
			[ -n "$prep" ] && { (cd "$out" && $prep); (cd "$ref" && $prep); }
			case $dir in
			push)
				OC_RSYNC_ASYNC=$mode "$OC" -e "$RSH" "$@" "$T/src/" "h:$out/dst/" >"$out.log" 2>&1
				rsync --no-i-r -e "$RSH" "$@" "$T/src/" "h:$ref/dst/" >"$ref.log" 2>&1 ;;
			pull)
				OC_RSYNC_ASYNC=$mode "$OC" -e "$RSH" "$@" "h:$T/src/" "$out/dst/" >"$out.log" 2>&1
				rsync --no-i-r -e "$RSH" "$@" "h:$T/src/" "$ref/dst/" >"$ref.log" 2>&1 ;;
			rpush)
				rsync -e "$RSH" --rsync-path="env OC_RSYNC_ASYNC=$mode $OC" \
					"$@" "$T/src/" "h:$out/dst/" >"$out.log" 2>&1
				rsync --no-i-r -e "$RSH" "$@" "$T/src/" "h:$ref/dst/" >"$ref.log" 2>&1 ;;
			rpull)
				rsync -e "$RSH" --rsync-path="env OC_RSYNC_ASYNC=$mode $OC" \
					"$@" "h:$T/src/" "$out/dst/" >"$out.log" 2>&1
				rsync --no-i-r -e "$RSH" "$@" "h:$T/src/" "$ref/dst/" >"$ref.log" 2>&1 ;;
			esac
			diff <(sig "$ref") <(sig "$out") || {
				echo "tree differs: $dir async=$mode opts: $*"; cat "$out.log"; return 1; }
			# Warnings (stderr) and names (stdout) may interleave either way.
			diff <(grep -v "$MASK" "$ref.log" | sed "s|$ref|W|g" | LC_ALL=C sort) \
				<(grep -v "$MASK" "$out.log" | sed "s|$out|W|g" | LC_ALL=C sort) || {
				echo "output differs: $dir async=$mode opts: $*"; return 1; }
			[ -z "${CHECK:-}" ] || (cd "$out" && $CHECK) || {
				echo "check failed: $dir async=$mode opts: $*"; return 1; }
		done
	done
}

@test "keep: -b keeps replaced files as NAME~" {
	CHECK='test -f dst/a~ -a -f dst/big~' run_case prep_old -ai -b
}

@test "keep: --delete --backup-dir with --suffix keeps replaced and deleted files" {
	CHECK='test -f bak/gone.old -a -f bak/old/z.old -a -f bak/sub/f.old' \
		run_case prep_old -ai --delete --backup-dir=../bak --suffix=.old --info=backup
}

@test "keep: -v --info=backup lines with -b" {
	run_case prep_old -av -b --info=backup
}

@test "keep: --link-dest hard-links unchanged files, -i and -ii" {
	# big is unchanged in prev: it must be the same inode, not a copy.
	check() { [ "$(stat -c %i dst/big)" = "$(stat -c %i prev/big)" ]; }
	CHECK=check run_case prep_prev -ai --link-dest=../prev
	CHECK=check run_case prep_prev -aii --link-dest=../prev
}

@test "keep: --copy-dest and --compare-dest, -i and -ii" {
	run_case prep_prev -ai --copy-dest=../prev
	run_case prep_prev -aii --copy-dest=../prev
	run_case prep_prev -ai --compare-dest=../prev
	run_case prep_prev -aii --compare-dest=../prev
}

@test "keep: a missing --link-dest is reported and skipped" {
	run_case prep_prev -ai --link-dest=nowhere --link-dest=../prev
}

@test "keep: -T on another filesystem (copied into place, no temp file left)" {
	mkdir -p /dev/shm/oc-keep-tmp.$$
	run_case prep_old -ai -T /dev/shm/oc-keep-tmp.$$
	run rmdir /dev/shm/oc-keep-tmp.$$
	[ "$status" -eq 0 ]
}

# interrupted DIR WHO OPTS...: cut a 20 MB transfer after 5 MB; the partial
# file must be kept, then a second run must use it as its basis.
interrupted() {
	local dir=$1 who=$2 w="$T/int.$1.$2" b rc
	shift 2
	[ "$who" = oc ] && b=$OC || b=rsync
	rm -rf "$w"
	mkdir -p "$w/dst"
	if [ "$dir" = pull ]; then
		CUT=5000000 "$b" -a "$@" -e "$CUTRSH" "h:$T/psrc/" "$w/dst/" >"$w.log" 2>&1 && rc=0 || rc=$?
	else
		CUTDIR=push CUT=5000000 "$b" -a "$@" -e "$CUTRSH" --rsync-path="$b" "$T/psrc/" "h:$w/dst/" \
			>"$w.log" 2>&1 && rc=0 || rc=$?
	fi
	echo "rc=$rc" >>"$w.log"
	# Only the kept partial file: no temp file in the destination.
	(cd "$w/dst" && find . -type f | LC_ALL=C sort) >"$w.files"
	find "$w/dst" -type f -printf '%s %TY\n' >"$w.kept"
	"$b" -a "$@" --stats -e "$RSH" "h:$T/psrc/" "$w/dst/" >"$w.log2" 2>&1
	cmp "$T/psrc/big" "$w/dst/big"
}

@test "keep: --partial and --partial-dir after a cut connection, pull and push" {
	local dir p
	for dir in pull push; do
		for p in --partial --partial-dir=.rp; do
			interrupted $dir oc $p
			interrupted $dir rsync $p
			# A stream error (rsync itself gives 10 or 12, depending on which
			# side notices first) and the same files kept (sizes depend on timing).
			grep -qx 'rc=1[02]' "$T/int.$dir.rsync.log"
			grep -qx 'rc=1[02]' "$T/int.$dir.oc.log"
			diff "$T/int.$dir.rsync.files" "$T/int.$dir.oc.files"
			read -r size year <"$T/int.$dir.oc.kept"
			[ "$size" -gt 0 ] && [ "$size" -lt 20000000 ]
			# --partial alone gives the kept file time 0, as upstream does.
			if [ "$p" = --partial ]; then [ "$year" = 1970 ]; fi
			# The resumed run matched the kept data instead of sending it again.
			matched=$(sed -n 's/^Matched data: \([0-9,]*\) bytes/\1/p' "$T/int.$dir.oc.log2" | tr -d ,)
			[ "$matched" -gt 0 ]
			[ ! -e "$T/int.$dir.oc/dst/.rp" ]
		done
	done
}
