#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# --progress, -P and --info=progress2 against Debian's rsync 3.5.0 in the
# four directions of run_pair (common.bash). The lines a transfer prints
# while it runs depend on timing, and so do rates and times: the outputs
# are compared with every "\r" made a line break, the interim lines (those
# left open with two blanks) dropped, and rates and times masked. What is
# left must match: the file list lines, each file's name and final line
# with (xfr#N, to-chk=R/T), and progress2's whole-run lines.

load common

setup_file() {
	common_setup_file
	local d=$T/src
	mkdir -p "$d/d/e" "$d/empty"
	head -c 2000000 /dev/urandom >"$d/big"
	printf 'hi\n' >"$d/d/small"
	printf 'e\n' >"$d/d/e/f"
	: >"$d/zero"
	ln -s big "$d/link"
	for i in $(seq 1 150); do printf '%s\n' "$i" >"$d/d/e/n$i"; done
	find "$d" -mindepth 1 -exec touch -h -d '2024-03-04 05:06:07' {} +
}

# The comparable part of a progress output (see above).
final_lines() {
	tr '\r' '\n' | grep -v '[^)]  $' |
		sed -E 's/ *[0-9.]+[kMG]B\/s/ RATE/; s/ +[0-9]+:[0-9]{2}:[0-9]{2}/ TIME/'
}

# An update: some files there already, one changed.
prep_some() {
	mkdir -p "$1/d"
	printf 'hi\n' >"$1/d/small"
	head -c 1000000 /dev/urandom >"$1/big"
	touch -d '2024-03-04 05:06:07' "$1/d/small"
}

@test "--progress: per-file lines" {
	ORDER=final_lines run_pair -a --progress
}

@test "--progress with -i, and -P, on an update" {
	PREP=prep_some ORDER=final_lines run_pair -ai --progress
	PREP=prep_some ORDER=final_lines run_pair -aP
}

@test "--info=progress2: the whole-transfer line" {
	ORDER=final_lines run_pair -a --info=progress2
	ORDER=final_lines run_pair -av --info=progress2
}

@test "--progress with --stats and -v" {
	ORDER=final_lines run_pair -av --progress --stats
}

@test "-q silences --progress and the names" {
	run_pair -aq --progress
	run_pair -aqv
}
