#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# --bwlimit against Debian's rsync 3.5.0: the transfers must give the same
# trees, output and exit codes (run_pair, common.bash), and where oc-rsync
# writes the file data (as the pushing client, and as the sending server
# under an rsync client) the run must last at least size/rate, as upstream's
# sleep_for_bwlimit() makes it.

load common

SIZE=300000

setup_file() {
	common_setup_file
	mkdir -p "$T/src/d"
	head -c "$SIZE" /dev/urandom >"$T/src/f"
	printf 'x\n' >"$T/src/d/small"
	find "$T/src" -mindepth 1 -exec touch -h -d '2024-03-04 05:06:07' {} +
}

# elapsed CMD...: run CMD, print its wall time in milliseconds.
elapsed() {
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1 || return 1
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

@test "--bwlimit: same result as rsync, K and M suffixes" {
	MODES=1 run_pair -ai --bwlimit=100
	MODES=1 run_pair -ai --bwlimit=0.1M
	MODES=1 run_pair -ai --bwlimit=0
}

@test "--bwlimit=100: pushing takes at least size/rate" {
	local ms min=$((SIZE * 1000 / (100 * 1024)))
	rm -rf "$T/dst"
	ms=$(elapsed "$OC" -e "$RSH" -a --bwlimit=100 "$T/src/" "h:$T/dst/")
	echo "took ${ms} ms, at least ${min} ms expected"
	[ "$ms" -ge "$min" ]
	cmp "$T/src/f" "$T/dst/f"
}

@test "--bwlimit=100K: the sending server keeps the rate too" {
	local ms min=$((SIZE * 1000 / (100 * 1024)))
	rm -rf "$T/dst"
	ms=$(elapsed rsync -e "$RSH" --rsync-path="$OC" -a --bwlimit=100K "h:$T/src/" "$T/dst/")
	echo "took ${ms} ms, at least ${min} ms expected"
	[ "$ms" -ge "$min" ]
	cmp "$T/src/f" "$T/dst/f"
}

@test "no --bwlimit: the same push is much faster" {
	local ms
	rm -rf "$T/dst"
	ms=$(elapsed "$OC" -e "$RSH" -a "$T/src/" "h:$T/dst/")
	echo "took ${ms} ms"
	[ "$ms" -lt 1500 ]
}
