#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Run every libFuzzer target for SECONDS seconds on its committed seed corpus
# (fuzz/corpus/<target>/, read-only) plus a scratch corpus under build/.
# Each target that ends without a crash, leak or timeout counts as passed.
#
#   tests/run-fuzz.sh SECONDS TARGET...
set -u

secs=${1:?seconds}
shift
passed=0
failed=0
for f in "$@"; do
	n=$(basename "$f")
	work="build/fuzz/corpus/$n"
	log="build/fuzz/$n.log"
	mkdir -p "$work"
	seeds=()
	[ -d "fuzz/corpus/$n" ] && seeds=("fuzz/corpus/$n")
	# artifacts (crash inputs) land in build/fuzz/, never in the tree
	if "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="build/fuzz/$n-" "$work" "${seeds[@]}" >"$log" 2>&1; then
		runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$')
		echo "ok - $n: ${runs:-?} runs in ${secs}s, nothing found"
		passed=$((passed + 1))
	else
		echo "not ok - $n: see $log"
		grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
