#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# oc-rsync against Debian's rsync 3.5.0 over a local remote shell, both
# ways: oc-rsync as client with `rsync --server` on the far side, and rsync
# as client with --rsync-path=oc-rsync. Each case runs the same command with
# rsync on both ends into a reference tree, then compares the trees (content,
# type, mode, owner, mtime to the nanosecond, link targets, hard-link groups)
# and the -i output. Every case also runs with OC_RSYNC_ASYNC=0. The
# reference runs with --no-i-r: oc-rsync has no incremental recursion yet,
# and rsync prints and orders some lines differently with it.

setup_file() {
	export OC="$BATS_TEST_DIRNAME/../../${OC_BUILD:-build}/bin/oc-rsync"
	export RSH="$BATS_TEST_DIRNAME/lrsh"
	export SIG="$BATS_TEST_DIRNAME/treesig.sh"
	export T="$BATS_FILE_TMPDIR"
	mk_tree "$T/src"
}

mk_tree() {
	local d=$1
	mkdir -p "$d/empty" "$d/deep/a/b/c/d/e/f" "$d/sub" "$d/with space" "$d/ünï"
	: >"$d/zero"
	printf 'hello\n' >"$d/small"
	head -c 70000 /dev/urandom >"$d/mid"
	head -c $((16 << 20)) /dev/urandom >"$d/sub/big"
	printf 'deep\n' >"$d/deep/a/b/c/d/e/f/leaf"
	printf 'x\n' >"$d/with space/file name"
	printf 'u\n' >"$d/ünï/fïlé"
	ln -s small "$d/rel_link"
	ln -s /etc/hostname "$d/abs_link"
	ln -s nowhere "$d/dangling"
	ln "$d/small" "$d/hard1"
	ln "$d/small" "$d/sub/hard2"
	mkfifo "$d/fifo"
	chmod 600 "$d/mid"
	chmod 751 "$d/sub"
	chmod 4755 "$d/zero" 2>/dev/null || true
	if [ "$(id -u)" = 0 ]; then
		chown 1234:5678 "$d/mid"
		chown -h 4321:8765 "$d/rel_link"
	fi
	find "$d" -mindepth 1 -exec touch -h -d '2024-03-04 05:06:07.123456789' {} +
	touch -d '2023-01-02 03:04:05.987654321' "$d/sub/big"
}

# Lines that depend on timing: byte counts include multiplex frame headers,
# and where frames are cut depends on when each side flushes, in rsync too.
MASK='^sent \|^total size\|^Total bytes \|^File list generation time\|^File list transfer time'

# run_pair OPTS...: the four directions, oc-rsync against rsync, in both async modes.
run_pair() {
	local mode dir out ref
	for mode in 1 0; do
		for dir in push pull rpush rpull; do
			out="$T/out.$dir.$mode"
			ref="$T/ref.$dir.$mode"
			rm -rf "$out" "$ref" "$out.log" "$ref.log"
			[ -n "${PREP:-}" ] && { $PREP "$out"; $PREP "$ref"; }
			case $dir in
			push)
				OC_RSYNC_ASYNC=$mode "$OC" -e "$RSH" "$@" "$T/src/" "h:$out/" >"$out.log" 2>&1
				rsync --no-i-r -e "$RSH" "$@" "$T/src/" "h:$ref/" >"$ref.log" 2>&1 ;;
			pull)
				OC_RSYNC_ASYNC=$mode "$OC" -e "$RSH" "$@" "h:$T/src/" "$out/" >"$out.log" 2>&1
				rsync --no-i-r -e "$RSH" "$@" "h:$T/src/" "$ref/" >"$ref.log" 2>&1 ;;
			rpush)
				OC_RSYNC_ASYNC=$mode rsync -e "$RSH" --rsync-path="env OC_RSYNC_ASYNC=$mode $OC" \
					"$@" "$T/src/" "h:$out/" >"$out.log" 2>&1
				rsync --no-i-r -e "$RSH" "$@" "$T/src/" "h:$ref/" >"$ref.log" 2>&1 ;;
			rpull)
				rsync -e "$RSH" --rsync-path="env OC_RSYNC_ASYNC=$mode $OC" \
					"$@" "h:$T/src/" "$out/" >"$out.log" 2>&1
				rsync --no-i-r -e "$RSH" "$@" "h:$T/src/" "$ref/" >"$ref.log" 2>&1 ;;
			esac
			diff <("$SIG" "$ref") <("$SIG" "$out") || {
				echo "tree differs: $dir async=$mode opts: $*"; cat "$out.log"; return 1; }
			diff <(grep -v "$MASK" "$ref.log" | sed "s|$ref|DEST|" | ${ORDER:-cat}) \
				<(grep -v "$MASK" "$out.log" | sed "s|$out|DEST|" | ${ORDER:-cat}) || {
				echo "output differs: $dir async=$mode opts: $*"; return 1; }
		done
	done
}

@test "interop: -a" {
	run_pair -a
}

@test "interop: -ai" {
	run_pair -ai
}

@test "interop: -aH -i" {
	# When a hard link is reported depends on timing, in rsync too.
	ORDER="env LC_ALL=C sort" run_pair -aHi
}

@test "interop: -ac -i" {
	run_pair -aci
}

@test "interop: -avz" {
	run_pair -avz
}

@test "interop: update of a changed tree with --delete -i (delta transfer)" {
	prep() {
		cp -a "$T/src" "$1"
		rm -f "$1/small" "$1/hard1"
		printf 'extra\n' >"$1/extra"
		mkdir -p "$1/olddir/x"
		head -c 1000 /dev/zero | dd of="$1/sub/big" bs=1 seek=5000000 conv=notrunc 2>/dev/null
		touch -d '2020-01-01' "$1/sub/big"
	}
	PREP=prep run_pair -ai --delete
}

@test "interop: --stats -i" {
	run_pair -ai --stats
}
