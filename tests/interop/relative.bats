#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# -R/--relative (with '/./' and --no-implied-dirs) and --files-from (a
# local list, stdin, --from0, HOST:LIST) against Debian's rsync 3.5.0, in
# the four directions of engine.bats and both OC_RSYNC_ASYNC modes: the
# same command runs with rsync on both ends into a reference tree, then the
# trees (treesig.sh), the -i output and the exit codes are compared. The
# reference runs with --no-i-r, as in engine.bats.

setup_file() {
	export OC="$BATS_TEST_DIRNAME/../../${OC_BUILD:-build}/bin/oc-rsync"
	export RSH="$BATS_TEST_DIRNAME/lrsh"
	export SIG="$BATS_TEST_DIRNAME/treesig.sh"
	export T="$BATS_FILE_TMPDIR"
	mk_tree "$T/src"
	# Names as they may come in a list: nested files whose parents are
	# not listed, a parent listed after its children, the same parents
	# again, a "/./" marker, a leading "./", an empty line.
	printf '%s\n' 'a/b/f' 'a/b/c/g' 'd' 'top' 'with space/file name' 'a' \
		'a/b/c/h' 'x/./y/z' './e/k' '' 'a/b/c/g' >"$T/list"
	tr '\n' '\0' <"$T/list" >"$T/list0"
}

mk_tree() {
	local d=$1
	mkdir -p "$d/a/b/c" "$d/d/sub" "$d/with space" "$d/x/y" "$d/e" "$d/empty"
	printf 'f\n' >"$d/a/b/f"
	printf 'g\n' >"$d/a/b/c/g"
	printf 'h\n' >"$d/a/b/c/h"
	printf 'a\n' >"$d/a/file"
	head -c 70000 /dev/urandom >"$d/d/mid"
	printf 's\n' >"$d/d/sub/deep"
	printf 't\n' >"$d/top"
	printf 'n\n' >"$d/with space/file name"
	printf 'z\n' >"$d/x/y/z"
	printf 'k\n' >"$d/e/k"
	ln -s ../top "$d/a/link"
	ln -s a "$d/alink"
	chmod 700 "$d/a"
	chmod 750 "$d/a/b"
	chmod 711 "$d/x"
	# The top too: "src" is an implied directory in some cases, and one
	# made less than a second before the run came out with the time of
	# its creation in both rsync's and our destination, so the two trees
	# differed by when each run made it (seen on a fast host).
	find "$d" -exec touch -h -d '2024-03-04 05:06:07.123456789' {} +
}

MASK='^sent \|^total size\|^Total bytes \|^File list generation time\|^File list transfer time'

# Mask the mtime of the listed paths in a tree signature: directories that
# --no-implied-dirs makes on the fly get the time of the run.
sig() {
	"$SIG" "$1" | awk -F '\t' -v dirs=" ${MASKDIRS:-} " 'BEGIN { OFS = "\t" }
		index(dirs, " " $1 " ") { split($2, a, " "); a[5] = "-"
			$2 = a[1] " " a[2] " " a[3] " " a[4] " " a[5] } { print }'
}

# logrun LOG CMD...: run CMD with stdin from $in, its output and then its
# exit code ("exit N") in LOG. A run that hangs is stopped (exit 124).
logrun() {
	local log=$1
	shift
	if timeout 60 "$@" >"$log" 2>&1 <"$in"; then
		echo "exit 0" >>"$log"
	else
		echo "exit $?" >>"$log"
	fi
}

# run_pair SRCS OPTS...: SRCS (paths separated by spaces; "h:" is added
# to each for a remote source) copied in the four directions, oc-rsync
# against rsync, in both async modes. Stdin comes from $STDIN (default
# /dev/null). CMP_OUT=0 compares trees and exit codes only (error lines
# name the program).
run_pair() {
	local mode dir out ref in=${STDIN:-/dev/null} p src=() rsrc=()
	for p in $1; do
		src+=("$p")
		rsrc+=("h:$p")
	done
	shift
	for mode in 1 0; do
		for dir in push pull rpush rpull; do
			out="$T/out.$dir.$mode"
			ref="$T/ref.$dir.$mode"
			rm -rf "$out" "$ref" "$out.log" "$ref.log"
			[ -n "${PREP:-}" ] && { $PREP "$out"; $PREP "$ref"; }
			case $dir in
			push)
				logrun "$out.log" env OC_RSYNC_ASYNC=$mode "$OC" -e "$RSH" "$@" "${src[@]}" "h:$out/"
				logrun "$ref.log" rsync --no-i-r -e "$RSH" "$@" "${src[@]}" "h:$ref/" ;;
			pull)
				logrun "$out.log" env OC_RSYNC_ASYNC=$mode "$OC" -e "$RSH" "$@" "${rsrc[@]}" "$out/"
				logrun "$ref.log" rsync --no-i-r -e "$RSH" "$@" "${rsrc[@]}" "$ref/" ;;
			rpush)
				logrun "$out.log" env OC_RSYNC_ASYNC=$mode rsync -e "$RSH" \
					--rsync-path="env OC_RSYNC_ASYNC=$mode $OC" "$@" "${src[@]}" "h:$out/"
				logrun "$ref.log" rsync --no-i-r -e "$RSH" "$@" "${src[@]}" "h:$ref/" ;;
			rpull)
				logrun "$out.log" rsync -e "$RSH" --rsync-path="env OC_RSYNC_ASYNC=$mode $OC" \
					"$@" "${rsrc[@]}" "$out/"
				logrun "$ref.log" rsync --no-i-r -e "$RSH" "$@" "${rsrc[@]}" "$ref/" ;;
			esac
			[ -d "$ref" ] || { echo "no reference tree: $dir opts: $*"; cat "$ref.log"; return 1; }
			diff <(sig "$ref") <(sig "$out") || {
				echo "tree differs: $dir async=$mode opts: $*"; cat "$out.log"; return 1; }
			if [ "${CMP_OUT:-1}" = 1 ]; then
				diff <(grep -v "$MASK" "$ref.log" | sed "s|$ref|DEST|") \
					<(grep -v "$MASK" "$out.log" | sed "s|$out|DEST|") || {
					echo "output differs: $dir async=$mode opts: $*"; return 1; }
			else
				diff <(tail -n 1 "$ref.log") <(tail -n 1 "$out.log") || {
					echo "exit code differs: $dir async=$mode opts: $*"; cat "$out.log"; return 1; }
			fi
		done
	done
}

@test "relative: -aR src/./a/b (implied parent a, top dir a/b)" {
	run_pair "$T/src/./a/b" -aRi
	# The implied parent kept its own mode, not the default one.
	[ "$(stat -c %a "$T/out.push.1/a")" = 700 ]
	[ ! -e "$T/out.push.1/src" ]
}

@test "relative: -aR without '/./' sends the whole relative path" {
	cd "$T"
	run_pair src/a/b/c -aRi
	[ -f "$T/out.rpull.0/src/a/b/c/g" ]
}

@test "relative: -aR of files and a leading './', several roots" {
	cd "$T"
	run_pair "src/./a/b/f src/././x/y src/./a/b/c/g" -aRi
	[ -f "$T/out.pull.1/x/y/z" ]
}

@test "relative: a symlinked directory named 'dir/', or with -k, is followed" {
	run_pair "$T/src/./alink/" -aRi
	run_pair "$T/src/./alink" -aRik
	run_pair "$T/src/./alink/b/f" -aRi
	[ -f "$T/out.pull.1/alink/b/f" ]
	[ -d "$T/out.pull.1/alink" ] && [ ! -L "$T/out.pull.1/alink" ]
}

@test "relative: -aR --delete leaves an implied parent's other entries alone" {
	prep() {
		mkdir -p "$1/a/b"
		printf 'keep\n' >"$1/a/keep"
		printf 'gone\n' >"$1/a/b/gone"
		touch -d '2020-01-01' "$1/a/keep"
		# a and a/b as in the source, so only the deletion is reported:
		# when a deletion prints next to another directory's line
		# depends on timing in rsync.
		chmod 700 "$1/a"
		chmod 750 "$1/a/b"
		touch -d '2024-03-04 05:06:07.123456789' "$1/a" "$1/a/b"
	}
	PREP=prep run_pair "$T/src/./a/b" -aRi --delete
	[ -f "$T/out.rpush.1/a/keep" ]
	[ ! -e "$T/out.rpush.1/a/b/gone" ]
}

@test "relative: -aR --no-implied-dirs makes missing parents plainly" {
	MASKDIRS="a a/b" run_pair "$T/src/./a/b/c" -aRi --no-implied-dirs
	# Made with the default mode, not the source's 700 and 750.
	[ "$(stat -c %a "$T/out.rpull.1/a")" = 755 ]
	[ "$(stat -c %a "$T/out.pull.0/a/b")" = 755 ]
}

@test "relative: --no-implied-dirs with existing parents leaves them as they are" {
	prep() {
		mkdir -p "$1/a"
		chmod 701 "$1/a"
		touch -d '2001-01-01' "$1/a"
	}
	# a gets a new entry, so a new mtime, in both.
	MASKDIRS=a PREP=prep run_pair "$T/src/./a/b" -aRi --no-implied-dirs
	[ "$(stat -c %a "$T/out.push.0/a")" = 701 ]
}

@test "files-from: -a with a list of nested files and directories" {
	run_pair "$T/src" -ai --files-from="$T/list"
	# -a does not recurse with --files-from: d is sent without its contents.
	[ -d "$T/out.pull.1/d" ]
	[ ! -e "$T/out.pull.1/d/mid" ]
	[ -f "$T/out.pull.1/y/z" ]
}

@test "files-from: -r recurses into listed directories" {
	run_pair "$T/src" -rlpti --files-from="$T/list"
	[ -f "$T/out.rpush.0/d/sub/deep" ]
}

@test "files-from: --files-from=- reads the list from stdin" {
	STDIN="$T/list" run_pair "$T/src" -ai --files-from=-
	[ -f "$T/out.rpull.1/a/b/c/h" ]
}

@test "files-from: --from0" {
	run_pair "$T/src" -ai --from0 --files-from="$T/list0"
	STDIN="$T/list0" run_pair "$T/src" -ai -0 --files-from=-
	[ -f "$T/out.push.1/with space/file name" ]
}

@test "files-from: CR LF line ends, --no-relative" {
	printf 'top\r\na/b/f\r\n\r\nd/sub/\r\n' >"$T/crlf"
	run_pair "$T/src" -ai --files-from="$T/crlf"
	run_pair "$T/src" -ai --no-R --files-from="$T/crlf"
	[ -f "$T/out.pull.0/f" ]
}

@test "files-from: a list on the far side, HOST:LIST and :LIST" {
	run_pair "$T/src" -ai --files-from="h:$T/list"
	run_pair "$T/src" -ai --from0 --files-from=":$T/list0"
	[ -f "$T/out.rpush.1/e/k" ]
}

@test "files-from: a forwarded list is taken as it is, comments included" {
	printf '%s\n' '# not a comment when forwarded' top >"$T/clist"
	# Read where the sender is (push), '#' lines are comments; forwarded
	# to a sending server (pull), the line is a name that does not exist.
	CMP_OUT=0 run_pair "$T/src" -ai --files-from="$T/clist"
	grep -q '^exit 0$' "$T/out.push.1.log"
	grep -q '^exit 23$' "$T/out.pull.1.log"
	grep -q '^exit 23$' "$T/out.rpull.0.log"
}

@test "files-from: --no-implied-dirs with a list" {
	MASKDIRS="a/b a/b/c y e with space" run_pair "$T/src" -ai --no-implied-dirs --files-from="$T/list"
}

@test "files-from: errors as rsync's" {
	run "$OC" -a --files-from="$T/nolist" "$T/src" "$T/o"
	[ "$status" -eq 1 ]
	[[ "$output" == *"failed to open files-from file $T/nolist"* ]]
	run "$OC" -a --files-from="h:$T/list" "$T/src" "$T/o"
	[ "$status" -eq 1 ]
	[[ "$output" == *"--files-from cannot be remote when the transfer is local"* ]]
	run "$OC" -e "$RSH" -a --files-from="g:$T/list" "h:$T/src" "$T/o"
	[ "$status" -eq 1 ]
	[[ "$output" == *"--files-from hostname is not the same as the transfer hostname"* ]]
	run "$OC" -aR "$T/src/./a/../top" "$T/o"
	[ "$status" -eq 1 ]
	[[ "$output" == *'found ".." dir in relative path: a/../top'* ]]
}
