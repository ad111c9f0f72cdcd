#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Killed mid-transfer, $KILL_RUNS times per case (default 100): the other
# side is SIGKILLed at a random point, and afterwards every destination
# file must hold its old content or its new one, never a torn mix; no
# temporary file may be left where oc-rsync survived to clean up; and the
# exit code must say what happened (success only when the kill came too
# late to matter; killrsh itself exits 255 as ssh does, so that is 124 then).
# Each run starts from the same old destination; the random
# points come from $KILL_SEED (printed on failure) so a failure can be
# replayed.
#
#   pull      oc-rsync pulls; killrsh SIGKILLs the rsync server after N
#             bytes of its output
#   pull -p   the same with --partial-dir: partial data only there
#   rpush     an rsync client pushes to oc-rsync --server, and the client
#             is SIGKILLed after a random delay; our server must clean up
#   local     a local oc-rsync copy SIGKILLed after a random delay (no
#             survivor to clean up: only torn files count), and SIGTERMed
#             (the signal handler removes its temp file, exit 20)

load common

setup_file() {
	common_setup_file
	local i
	mkdir -p "$T/new" "$T/old"
	for i in $(seq -w 1 12); do
		head -c 100000 /dev/urandom >"$T/new/f$i"
		[ "$i" -le 10 ] && head -c 100000 /dev/urandom >"$T/old/f$i"
	done
	# the old files are older, so the quick check sends every file
	touch -d '2020-01-01' "$T/old"/f*
	# every name with each content it may have: old, new
	(cd "$T/old" && sha256sum f*) >"$T/allowed"
	(cd "$T/new" && sha256sum f*) >>"$T/allowed"
	export KILL_RUNS=${KILL_RUNS:-100}
	export KILL_SEED=${KILL_SEED:-$RANDOM}
	export KILLRSH="$BATS_TEST_DIRNAME/killrsh"
}

# check_dest DIR TEMPS_ALLOWED: 1 on a torn file or, unless allowed, a temp file
check_dest() {
	local d=$1 f sum
	for f in "$d"/f*; do
		[ -e "$f" ] || continue
		sum=$(sha256sum <"$f" | cut -d' ' -f1)
		grep -q "^$sum  $(basename "$f")\$" "$T/allowed" || {
			echo "torn file: $f"
			return 1
		}
	done
	if [ "$2" = no ] && [ -n "$(find "$d" -maxdepth 1 -name '.f*.*' -print -quit)" ]; then
		echo "temp files left in $d:"
		ls -la "$d"
		return 1
	fi
	return 0
}

# wait until no oc-rsync works on $1 any more (at most 10 s)
wait_gone() {
	local i
	for i in $(seq 100); do
		pgrep -f -- "$1" >/dev/null || return 0
		sleep 0.1
	done
	echo "an oc-rsync on $1 is still running"
	return 1
}

@test "kill: the rsync server dies mid-pull, $KILL_RUNS times" {
	local run n rc total=$((12 * 100000 + 4000)) d="$T/pull" codes=""
	RANDOM=$KILL_SEED
	for run in $(seq "$KILL_RUNS"); do
		rm -rf "$d"
		cp -a "$T/old" "$d"
		n=$(((RANDOM * 32768 + RANDOM) % total))
		OC_RSYNC_ASYNC=$((run % 2)) timeout 60 "$OC" -a -e "$PY $KILLRSH out:$n" "h:$T/new/" "$d/" \
			>"$T/pull.log" 2>&1 && rc=0 || rc=$?
		check_dest "$d" no || { echo "run $run, cut at $n (seed $KILL_SEED)"; cat "$T/pull.log"; false; }
		case $rc in
		12 | 124) ;; # 124: the cut came after the end, and killrsh exits 255
		*) echo "run $run, cut at $n: exit $rc"; cat "$T/pull.log"; false ;;
		esac
		codes="$codes $rc"
	done
	# most cuts come before the end: the failure must have been seen
	[[ "$codes" == *12* ]]
}

@test "kill: the rsync server dies mid-pull with --partial-dir, $KILL_RUNS times" {
	local run n rc total=$((12 * 100000 + 4000)) d="$T/pullp"
	RANDOM=$((KILL_SEED + 1))
	for run in $(seq "$KILL_RUNS"); do
		rm -rf "$d"
		cp -a "$T/old" "$d"
		n=$(((RANDOM * 32768 + RANDOM) % total))
		OC_RSYNC_ASYNC=$((run % 2)) timeout 60 "$OC" -a --partial-dir=.p -e "$PY $KILLRSH out:$n" \
			"h:$T/new/" "$d/" >"$T/pullp.log" 2>&1 && rc=0 || rc=$?
		check_dest "$d" no || { echo "run $run, cut at $n (seed $KILL_SEED)"; cat "$T/pullp.log"; false; }
		case $rc in
		12 | 124) ;;
		*) echo "run $run, cut at $n: exit $rc"; cat "$T/pullp.log"; false ;;
		esac
	done
}

@test "kill: the rsync client dies mid-push to oc-rsync --server, $KILL_RUNS times" {
	local run ms d="$T/rpush"
	RANDOM=$((KILL_SEED + 2))
	for run in $(seq "$KILL_RUNS"); do
		rm -rf "$d"
		cp -a "$T/old" "$d"
		ms=$((1 + RANDOM % 300))
		# only the client: timeout would kill its whole process group,
		# our server with it
		rsync -a -e "$RSH" --rsync-path="env OC_RSYNC_ASYNC=$((run % 2)) $OC" "$T/new/" "h:$d/" \
			>"$T/rpush.log" 2>&1 &
		sleep "0.$(printf %03d "$ms")"
		kill -KILL $! 2>/dev/null || true
		wait $! || true
		wait_gone "$d/" || false
		check_dest "$d" no || { echo "run $run, killed after ${ms} ms"; cat "$T/rpush.log"; false; }
	done
}

@test "kill: a local copy SIGKILLed, then SIGTERMed, $KILL_RUNS times each" {
	local run ms rc d="$T/local"
	RANDOM=$((KILL_SEED + 3))
	for run in $(seq "$KILL_RUNS"); do
		rm -rf "$d"
		cp -a "$T/old" "$d"
		ms=$((1 + RANDOM % 60))
		timeout -s KILL "0.$(printf %03d "$ms")" env OC_RSYNC_ASYNC=$((run % 2)) \
			OC_RSYNC_LOCAL=$((run / 2 % 2)) \
			"$OC" -a "$T/new/" "$d/" >"$T/local.log" 2>&1 || true
		# nobody is left to remove a temp file: only torn files count
		check_dest "$d" yes || { echo "run $run, SIGKILL after ${ms} ms"; false; }
	done
	for run in $(seq "$KILL_RUNS"); do
		rm -rf "$d"
		cp -a "$T/old" "$d"
		ms=$((1 + RANDOM % 60))
		timeout --preserve-status -s TERM "0.$(printf %03d "$ms")" env OC_RSYNC_ASYNC=$((run % 2)) \
			OC_RSYNC_LOCAL=$((run / 2 % 2)) \
			"$OC" -a "$T/new/" "$d/" >"$T/local.log" 2>&1 && rc=0 || rc=$?
		check_dest "$d" no || { echo "run $run, SIGTERM after ${ms} ms"; cat "$T/local.log"; false; }
		case $rc in
		0 | 20) ;;
		143) ;; # the signal came before main() installed the handler
		*) echo "run $run, SIGTERM after ${ms} ms: exit $rc"; cat "$T/local.log"; false ;;
		esac
	done
}
