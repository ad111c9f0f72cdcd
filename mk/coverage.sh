#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Coverage report for `make coverage`, in two steps around the test run:
#
#   mk/coverage.sh reset  OBJDIR   before: zero the counters
#   mk/coverage.sh report OBJDIR OUTDIR   after: table, HTML, thresholds
#
# reset deletes every .gcda (counters of earlier runs) and creates an empty
# one, writable by all, next to every .gcno: some interop tests run the
# programs as nobody (setpriv), and gcov cannot create a file in a folder
# of root's, but it writes into an empty one (it takes it for new).
#
# report runs gcovr once over OBJDIR for ocq/, ocpool/, ocproto/ and apps/
# (the header-only ocq/ and ocpool/ are counted wherever tests or programs
# compile them in), writes HTML to OUTDIR/index.html, prints lines and
# branches per library with MET or NOT MET against its threshold, and exits
# 1 when one is not met.
#
# What no counter records: a process killed by SIGKILL (kill.bats,
# killrsh), one that ends in oc-rsync's SIGINT/SIGTERM/SIGHUP handler
# (apps/engine/finish.c keeps plain _exit() there: writing the counters
# allocates and could deadlock), and one that cannot open its .gcda files
# (after a chroot); gcov's complaints about those go to GCOV_ERROR_FILE.
set -u

cmd=${1:?reset or report}
obj=${2:?object dir}

# library:threshold (line coverage, percent); the issue's numbers
LIBS="ocq:90 ocpool:90 ocproto:90 apps:75"

case $cmd in
reset)
	find "$obj" -name '*.gcda' -delete
	find "$obj" -name '*.gcno' | while read -r f; do
		: >"${f%.gcno}.gcda"
		chmod 666 "${f%.gcno}.gcda"
	done
	;;
report)
	out=${3:?output dir}
	mkdir -p "$out"
	# files nobody ran stay empty; gcov would call them corrupt
	find "$obj" -name '*.gcda' -empty -delete
	filters=()
	for l in $LIBS; do
		filters+=(--filter "${l%%:*}/")
	done
	gcovr -r . -j 2 "${filters[@]}" \
		--exclude-unreachable-branches --exclude-throw-branches \
		--html-details "$out/index.html" --json-summary "$out/summary.json" \
		"$obj" >/dev/null || exit 1
	python3 - "$out/summary.json" $LIBS <<'PY'
import json, sys

files = json.load(open(sys.argv[1]))["files"]
bad = 0
row = "%-8s  %-19s  %-19s  %-5s  %s"
print(row % ("library", "lines", "branches", "need", "status"))
for spec in sys.argv[2:]:
	lib, need = spec.split(":")
	lc = lt = bc = bt = 0
	for f in files:
		if f["filename"].startswith(lib + "/"):
			lc += f["line_covered"]; lt += f["line_total"]
			bc += f["branch_covered"]; bt += f["branch_total"]
	lp = 100.0 * lc / lt if lt else 0.0
	bp = 100.0 * bc / bt if bt else 0.0
	ok = lt and lp >= float(need)
	bad += not ok
	print(row % (lib, "%5.1f%% %d/%d" % (lp, lc, lt), "%5.1f%% %d/%d" % (bp, bc, bt),
		     need + "%", "MET" if ok else "NOT MET"))
sys.exit(1 if bad else 0)
PY
	;;
*)
	echo "usage: $0 reset OBJDIR | report OBJDIR OUTDIR" >&2
	exit 2
	;;
esac
