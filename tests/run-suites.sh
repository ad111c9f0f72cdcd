#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Run test suites and print one closing line "N passed, N failed".
#
#   tests/run-suites.sh BUILD_DIR SUITE...
#
# SUITE is unit, stress, cli or interop. Every test program speaks TAP
# (cmocka through CMOCKA_MESSAGE_OUTPUT=TAP, bats through --tap, our stress
# programs natively); each "ok" / "not ok" line counts once. A program that
# exits non-zero or prints no result at all counts as one failure, so a crash
# can never pass silently. Exits 1 when anything failed.
set -u

B=${1:?build dir}
shift
passed=0
failed=0
log_dir="$B/test-logs"
mkdir -p "$log_dir"

# count_tap NAME LOGFILE RC: add the TAP results in LOGFILE to the totals.
count_tap()
{
	local name=$1 log=$2 rc=$3 ok nok
	ok=$(grep -cE '^ok ' "$log")
	nok=$(grep -cE '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ "$nok" -eq 0 ]; then
		nok=1
		echo "not ok - $name exited with status $rc"
	fi
	if [ "$ok" -eq 0 ] && [ "$nok" -eq 0 ] && [ "$rc" -ne 77 ]; then
		nok=1
		echo "not ok - $name reported no result"
	fi
	passed=$((passed + ok))
	failed=$((failed + nok))
	if [ "$nok" -ne 0 ]; then
		echo "--- $name: $nok failed (log: $log)"
		grep -E -A5 '^not ok |^# |ERROR|error' "$log" | head -40
	else
		echo "--- $name: $ok passed"
	fi
}

run_prog()
{
	local prog=$1 name log rc
	shift
	name=$(basename "$prog")
	log="$log_dir/$name.log"
	CMOCKA_MESSAGE_OUTPUT=TAP "$prog" "$@" >"$log" 2>&1
	rc=$?
	count_tap "$name" "$log" "$rc"
}

run_bats()
{
	local dir=$1 f name log rc
	for f in "$dir"/*.bats; do
		[ -e "$f" ] || continue
		name=$(basename "$f")
		log="$log_dir/$name.log"
		OC_BUILD="$B" bats --tap "$f" >"$log" 2>&1
		rc=$?
		count_tap "$name" "$log" "$rc"
	done
}

for suite in "$@"; do
	case $suite in
	unit)
		for t in "$B"/tests/unit/test_*; do
			[ -x "$t" ] && run_prog "$t"
		done
		;;
	stress)
		for t in "$B"/tests/stress/stress_*; do
			[ -x "$t" ] && run_prog "$t"
		done
		;;
	cli) run_bats tests/cli ;;
	interop) run_bats tests/interop ;;
	*)
		echo "unknown suite: $suite" >&2
		exit 2
		;;
	esac
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
