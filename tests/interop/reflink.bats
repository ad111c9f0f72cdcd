#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# --reflink[=WHEN] (ours; rsync has none): how a local copy writes data.
# Whatever WHEN, the tree must be the one `rsync -a` makes. On a file
# system that clones (XFS on a loop device, made by the test as root:
# skipped when that cannot be done), filefrag must show the copies' extents
# shared with auto and always and not shared with never; on tmpfs, which
# cannot clone, always fails each file (code 23) and the others copy.

load common

setup_file() {
	common_setup_file
	mk_tree "$T/src"
	mkdir -p "$T/src/more"
	head -c 300000 /dev/urandom >"$T/src/more/blob"
	touch -d '2024-03-04 05:06:07.123456789' "$T/src/more/blob" "$T/src/more"
	rsync -a "$T/src/" "$T/ref/"
	"$SIG" "$T/ref" >"$T/ref.sig"
}

# same_tree DIR: DIR holds what rsync -a made of the source
same_tree() {
	diff "$T/ref.sig" <("$SIG" "$1")
}

# shared FILE: 0 if one of FILE's extents is shared with another file
shared() {
	filefrag -v "$1" | grep -q 'shared'
}

@test "reflink: auto and never on tmpfs copy what rsync -a copies" {
	local m
	for m in auto never; do
		for a in 1 0; do
			rm -rf "$T/d"
			OC_RSYNC_ASYNC=$a run "$OC" -a --reflink=$m "$T/src/" "$T/d/"
			[ "$status" = 0 ] || { echo "$m async=$a: $output"; false; }
			same_tree "$T/d"
		done
	done
	rm -rf "$T/d"
	run "$OC" -a --reflink "$T/src/" "$T/d/"
	[ "$status" = 0 ]
	same_tree "$T/d"
}

@test "reflink: always on tmpfs fails each non-empty file (code 23), copies the rest" {
	rm -rf "$T/d"
	run "$OC" -a --reflink=always "$T/src/" "$T/d/"
	echo "$output"
	[ "$status" = 23 ]
	[[ "$output" == *'failed to clone "'"$T"'/d/mid" (--reflink=always): Operation not supported (95)'* ]]
	[ ! -e "$T/d/mid" ] && [ ! -e "$T/d/sub/big" ]
	# an empty file has no data to clone; links, directories and the fifo are made
	[ -f "$T/d/zero" ] && [ -L "$T/d/rel_link" ] && [ -p "$T/d/fifo" ] && [ -d "$T/d/deep/a/b/c/d/e/f" ]
	[ -z "$(find "$T/d" -name '.*.??????')" ]
}

@test "reflink: always where only the protocol path can go is refused (exit 1)" {
	run "$OC" -a --reflink=always --inplace "$T/src/" "$T/d2/"
	[ "$status" = 1 ]
	[[ "$output" == *"--reflink=always is not supported with these options"* ]]
	run "$OC" -a --reflink=always -e "$RSH" "$T/src/" "h:$T/d3/"
	[ "$status" = 1 ]
	[[ "$output" == *"--reflink=always is not supported for a remote transfer"* ]]
	[ ! -e "$T/d2" ] && [ ! -e "$T/d3" ]
	run "$OC" -a --reflink=sometimes "$T/src/" "$T/d2/"
	[ "$status" = 1 ]
	[[ "$output" == *'--reflink: WHEN is auto, always or never, not "sometimes"'* ]]
}

@test "reflink: on XFS, auto and always share extents, never does not" {
	[ "$(id -u)" = 0 ] || skip "needs root to mount a loop device"
	command -v mkfs.xfs >/dev/null || skip "mkfs.xfs missing (xfsprogs)"
	truncate -s 320M "$T/xfs.img"
	mkfs.xfs -q -f "$T/xfs.img" || skip "mkfs.xfs failed"
	mkdir -p "$T/x"
	mount -o loop "$T/xfs.img" "$T/x" || skip "loop mount refused here"
	local m a bad=0
	cp -a "$T/src" "$T/x/src"
	for m in auto always never; do
		for a in 1 0; do
			rm -rf "$T/x/d"
			OC_RSYNC_ASYNC=$a "$OC" -a --reflink=$m "$T/x/src/" "$T/x/d/" >"$T/x.out" 2>&1 ||
				{ echo "$m async=$a failed:"; cat "$T/x.out"; bad=1; }
			diff "$T/ref.sig" <("$SIG" "$T/x/d") || { echo "tree differs: $m"; bad=1; }
			for f in mid sub/big more/blob; do
				cmp "$T/src/$f" "$T/x/d/$f" || bad=1
				if [ $m = never ]; then
					! shared "$T/x/d/$f" || { echo "$f shared with never"; bad=1; }
				else
					shared "$T/x/d/$f" || { echo "$f not shared with $m"; bad=1; }
				fi
			done
		done
	done
	rm -rf "$T/x/d" "$T/x/src"
	umount "$T/x"
	[ $bad = 0 ]
}
