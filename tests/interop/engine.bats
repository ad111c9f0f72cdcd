#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# oc-rsync against Debian's rsync 3.5.0 over a local remote shell, both
# ways: oc-rsync as client with `rsync --server` on the far side, and rsync
# as client with --rsync-path=oc-rsync. Each case runs the same command with
# rsync on both ends into a reference tree, then compares the trees (content,
# type, mode, owner, mtime to the nanosecond, link targets, hard-link groups)
# and the -i output. Every case also runs with OC_RSYNC_ASYNC=0. The
# helpers (mk_tree, run_pair) are in common.bash.

load common

setup_file() {
	common_setup_file
	mk_tree "$T/src"
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
