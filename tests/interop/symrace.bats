#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Symlink races on the receiving side (the CVE-2024-12747 class): while
# oc-rsync receives into a tree, a local attacker (swapper.py) keeps
# swapping a destination subdirectory for a symlink that points outside
# the destination, and back, with rename(2). Whatever the transfer makes
# of that (errors and any exit code are fine, a crash or a hang is not),
# nothing may be written outside the destination: the outside directory
# must still hold exactly its sentinel file, unchanged. Each case runs
# $RACE_RUNS times (default 10) as a local copy, a pull over lrsh and a
# push from an rsync client to oc-rsync --server; with and without
# --inplace (which writes into existing files instead of renaming). Every
# other run sets OC_RSYNC_FAULT to a rule that never fires: a fault table
# turns off the parent directory the engine keeps open between lookups,
# so lookups made from the root each time are raced too.

load common

setup_file() {
	common_setup_file
	export RACE_RUNS=${RACE_RUNS:-10}
	export SWAP="$BATS_TEST_DIRNAME/swapper.py"
	local i
	mkdir -p "$T/src/d/e"
	# many small files: many lookups below d while the swaps go on
	for i in $(seq 1 150); do
		head -c 3000 /dev/urandom >"$T/src/d/f$i"
		head -c 1000 /dev/urandom >"$T/src/d/e/g$i"
	done
	head -c 2000000 /dev/urandom >"$T/src/d/big"
	mkdir -p "$T/outside"
	printf 'sentinel\n' >"$T/outside/sentinel"
	(cd "$T/outside" && find . | sort && sha256sum sentinel) >"$T/outside.sig"
}

teardown() {
	[ -z "${SWPID:-}" ] || { touch "$T/stop"; wait "$SWPID" 2>/dev/null || true; }
}

outside_intact() {
	diff "$T/outside.sig" <(cd "$T/outside" && find . | sort && sha256sum sentinel)
}

# race WAY OPTS...: $RACE_RUNS transfers into $T/dst under attack
race() {
	local way=$1 run rc d="$T/dst" swaps=0 n
	shift
	for run in $(seq "$RACE_RUNS"); do
		rm -rf "$d" "$T/stop"
		mkdir -p "$d/d/e"
		# half the runs update older copies (in place with --inplace)
		[ $((run % 2)) = 0 ] && cp -a "$T/src/d" "$d/" && find "$d" -type f -exec truncate -s 10 {} +
		"$PY" "$SWAP" "$d" d "$T/outside" "$T/stop" >"$T/swaps" &
		SWPID=$!
		local fault=
		[ $((run % 4)) -ge 2 ] && fault=readlinkat:EIO:path=/never-such-name
		case $way in
		local)
			OC_RSYNC_FAULT=$fault OC_RSYNC_ASYNC=$((run % 2)) timeout 120 "$OC" -a "$@" \
				"$T/src/" "$d/" >"$T/race.log" 2>&1 && rc=0 || rc=$? ;;
		pull)
			OC_RSYNC_FAULT=$fault OC_RSYNC_ASYNC=$((run % 2)) timeout 120 "$OC" -a -e "$RSH" \
				"$@" "h:$T/src/" "$d/" >"$T/race.log" 2>&1 && rc=0 || rc=$? ;;
		rpush)
			timeout 120 rsync -a -e "$RSH" \
				--rsync-path="env OC_RSYNC_FAULT=$fault OC_RSYNC_ASYNC=$((run % 2)) $OC" \
				"$@" "$T/src/" "h:$d/" >"$T/race.log" 2>&1 && rc=0 || rc=$? ;;
		esac
		touch "$T/stop"
		wait "$SWPID" || true
		SWPID=
		n=$(cat "$T/swaps")
		swaps=$((swaps + ${n:-0}))
		outside_intact || {
			echo "run $run ($way $*): written outside the destination (exit $rc):"
			ls -laR "$T/outside"
			cat "$T/race.log"
			return 1
		}
		# errors are expected; a crash, a hang or a signal is not
		if [ "$rc" -ge 124 ] || [ "$rc" -eq 15 ] || [ "$rc" -eq 20 ]; then
			echo "run $run ($way $*): exit $rc"
			cat "$T/race.log"
			return 1
		fi
	done
	echo "# $way $*: $RACE_RUNS runs, $swaps renames by the attacker" >&3
	# the attack must have run
	[ "$swaps" -gt 0 ]
}

@test "symrace: local copy, a subdirectory swapped for a symlink outside" {
	race local
}

@test "symrace: local copy --inplace" {
	race local --inplace
}

@test "symrace: pull over lrsh" {
	race pull
}

@test "symrace: pull --inplace" {
	race pull --inplace
}

@test "symrace: rsync client pushing to oc-rsync --server" {
	race rpush
}

@test "symrace: push to oc-rsync --server --inplace" {
	race rpush --inplace
}

# The control: the same attack on a writer that opens each file by its
# path (as a receiver without *at() confinement would) does write outside,
# so the checks above can fail.
@test "symrace: control, a path-following writer is caught" {
	local run i d="$T/dst" caught=0
	for run in 1 2 3; do
		rm -rf "$d" "$T/stop" "$T/outside_ctl"
		cp -a "$T/outside" "$T/outside_ctl"
		mkdir -p "$d/d"
		"$PY" "$SWAP" "$d" d "$T/outside_ctl" "$T/stop" >/dev/null &
		SWPID=$!
		for i in $(seq 1 150); do
			cat "$T/src/d/f$i" >"$d/d/f$i" 2>/dev/null || true
		done
		touch "$T/stop"
		wait "$SWPID" || true
		SWPID=
		[ "$(ls "$T/outside_ctl" | wc -l)" -gt 1 ] && caught=$((caught + 1))
	done
	echo "# caught in $caught of 3 runs" >&3
	[ "$caught" -gt 0 ]
}
