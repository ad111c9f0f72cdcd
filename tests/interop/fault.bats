#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# File-system faults on the receiving side, against rsync 3.5.0 under the
# same fault. oc-rsync gets the fault from OC_RSYNC_FAULT (its system call
# table, apps/engine/fsfault.c); rsync gets it from faultshim.c, built here
# and put in with LD_PRELOAD, with the same spec. Each case runs as a local
# copy, a pull over lrsh (oc-rsync as the client) and a push from an rsync
# client to oc-rsync --server, in both OC_RSYNC_ASYNC modes, and checks:
#   * the exit code and the messages are rsync's (temp names masked; the
#     lines are sorted, since the two sides of a transfer write to the same
#     stderr from different processes or threads),
#   * every destination file holds its old content or its new one, and no
#     temp file is left (with --partial: what rsync keeps, checked by
#     comparing the trees),
#   * where the fault hits the same call in both (no after=), the trees
#     are equal.
# A real full disk (a 1 MiB tmpfs, root only) is compared the same way.

load common

setup_file() {
	common_setup_file
	cc -O1 -shared -fPIC -o "$T/faultshim.so" "$BATS_TEST_DIRNAME/faultshim.c" -ldl
	export SHIM="$T/faultshim.so"
	mkdir -p "$T/src/sub" "$T/old/sub"
	head -c 300000 /dev/urandom >"$T/src/big"
	head -c 20000 /dev/urandom >"$T/src/small"
	head -c 5000 /dev/urandom >"$T/src/sub/c"
	# longer than the new one, so that --inplace has to cut it
	head -c 400000 /dev/urandom >"$T/old/big"
	head -c 100 /dev/urandom >"$T/old/small"
	# whole seconds apart: rsync compares a directory's time in seconds
	# when it meets it, and so reports a time it could not set only then
	touch -d 2020-01-01 "$T/old/big" "$T/old/small" "$T/old/sub" "$T/old"
	touch -d 2021-01-01 "$T/src"/* "$T/src/sub/c"
	(cd "$T/old" && find . -type f -exec sha256sum {} +) >"$T/allowed"
	(cd "$T/src" && find . -type f -exec sha256sum {} +) >>"$T/allowed"
}

# check_dest DIR: 1 on a file that is neither old nor new, or a temp file left
check_dest() {
	local d=$1 f sum
	while IFS= read -r f; do
		sum=$(sha256sum <"$d/$f" | cut -d' ' -f1)
		grep -q "^$sum  ./$f\$" "$T/allowed" || {
			echo "torn file: $d/$f"
			return 1
		}
	done < <(cd "$d" && find . -path ./.pd -prune -o -type f ! -name '.*' -printf '%P\n')
	if [ -n "$(find "$d" -name '.*.??????' -print -quit)" ]; then
		echo "temp files left in $d:"
		find "$d" -name '.*.??????'
		return 1
	fi
}

# Messages as compared: destinations and temp names masked, rsync's name.
# rsync's sender answers a receiver's MSG_ERROR_EXIT into a pipe that is
# usually gone by then ("[sender] write error: Broken pipe"), but not
# always: that line, and in a pull the server's closing line for it
# (code 10), come and go between runs of rsync itself.
norm() {
	sed -e "s|$2|DEST|g" -e "$ERRLINE" -e 's/\(\/\.[^/"]*\)\.[A-Za-z0-9]\{6\}"/\1.XXXXXX"/g' "$1" |
		grep -v -e '^rsync: \[sender\] write error: Broken pipe (32)$' \
			-e '^rsync error: error in socket IO (code 10)$' | sort
}

# Tree signatures as compared: a directory's time depends on how far the
# generator got before the receiver failed (in rsync too), and what lands
# in --partial-dir=.pd is made at run time. TIMES=no: no time is compared
# (a time that could not be set is the time of the run).
tsig() {
	"$SIG" "$1" | awk -F'\t' -v OFS='\t' -v all="${TIMES:-yes}" '$2 ~ /^d / || $1 ~ /^\.pd(\/|$)/ || all == "no" {
		n = split($2, a, " "); a[5] = "T"; t = a[1]
		for (i = 2; i <= n; i++) t = t " " a[i]
		$2 = t } 1'
}

# fault_pair WAY SPEC OPTS...: the transfer with the fault, by rsync and
# then by oc-rsync in each async mode, each from a copy of the old tree.
# CHECK=no skips check_dest (--partial keeps partial data by design);
# TREES=no skips the tree comparison.
fault_pair() {
	local way=$1 spec=$2 ref="$T/ref" out="$T/out" mode orc rrc bad=0
	shift 2
	rm -rf "$ref" && cp -a "$T/old" "$ref"
	case $way in
	local)
		OC_RSYNC_FAULT=$spec LD_PRELOAD=$SHIM timeout 60 rsync "$@" "$T/src/" "$ref/" \
			>"$ref.log" 2>&1 && rrc=0 || rrc=$? ;;
	pull)
		OC_RSYNC_FAULT=$spec LD_PRELOAD=$SHIM timeout 60 rsync --no-i-r -e "$RSH" "$@" \
			"h:$T/src/" "$ref/" >"$ref.log" 2>&1 && rrc=0 || rrc=$? ;;
	rpush)
		timeout 60 rsync --no-i-r -e "$RSH" \
			--rsync-path="env OC_RSYNC_FAULT=$spec LD_PRELOAD=$SHIM rsync" "$@" \
			"$T/src/" "h:$ref/" >"$ref.log" 2>&1 && rrc=0 || rrc=$? ;;
	esac
	for mode in 1 0; do
		rm -rf "$out" && cp -a "$T/old" "$out"
		case $way in
		local)
			OC_RSYNC_FAULT=$spec OC_RSYNC_ASYNC=$mode timeout 60 "$OC" "$@" "$T/src/" "$out/" \
				>"$out.log" 2>&1 && orc=0 || orc=$? ;;
		pull)
			OC_RSYNC_FAULT=$spec OC_RSYNC_ASYNC=$mode timeout 60 "$OC" -e "$RSH" "$@" \
				"h:$T/src/" "$out/" >"$out.log" 2>&1 && orc=0 || orc=$? ;;
		rpush)
			timeout 60 rsync -e "$RSH" \
				--rsync-path="env OC_RSYNC_FAULT=$spec OC_RSYNC_ASYNC=$mode $OC" "$@" \
				"$T/src/" "h:$out/" >"$out.log" 2>&1 && orc=0 || orc=$? ;;
		esac
		local what="$way async=$mode OC_RSYNC_FAULT=$spec $*"
		[ "$orc" = "$rrc" ] || { echo "exit code differs: $what: rsync $rrc, oc-rsync $orc"; bad=1; }
		diff <(norm "$ref.log" "$ref") <(norm "$out.log" "$out") ||
			{ echo "output differs (< rsync, > oc-rsync): $what"; bad=1; }
		if [ "${CHECK:-yes}" = yes ]; then
			check_dest "$out" || { echo "($what)"; bad=1; }
		fi
		if [ "${TREES:-yes}" = yes ]; then
			diff <(tsig "$ref") <(tsig "$out") ||
				{ echo "tree differs (< rsync, > oc-rsync): $what"; bad=1; }
		fi
		[ $bad = 0 ] || { show_logs "$ref" "$out"; return 1; }
	done
}

ways() {
	local w
	for w in local pull rpush; do
		fault_pair "$w" "$@" || return 1
	done
}

@test "fault: ENOSPC on the first write (code 11, old file kept)" {
	ways write:ENOSPC -a
}

@test "fault: EIO writing one file below a directory (code 11)" {
	ways write:EIO:path=/sub/ -a
}

@test "fault: EIO renaming one temp file into place (code 23)" {
	ways renameat:EIO:path=small -a
}

@test "fault: EXDEV on a rename: the copy fallback puts the file in place" {
	ways renameat:EXDEV:times=1 -a
}

@test "fault: EMFILE creating one temp file (mkstemp failed, code 23)" {
	ways openat:EMFILE:path=.big. -a
}

@test "fault: EACCES creating every temp file (code 23)" {
	ways openat:EACCES:path=/. -a
}

@test "fault: ENOSPC with --partial keeps what rsync keeps" {
	CHECK=no ways write:ENOSPC -a --partial
}

@test "fault: ENOSPC with --partial-dir (code 11, destination untouched)" {
	ways write:ENOSPC -a --partial-dir=.pd
}

@test "fault: ENOSPC with --inplace (code 11)" {
	# in place the file is written over: old content is not kept, by design
	CHECK=no ways write:ENOSPC -a --inplace
}

@test "fault: --fsync, and an fsync that fails (code 11, old file kept)" {
	# a rule that matches no file: --fsync itself, the trees equal rsync's
	ways fsync:EIO:path=/no-such-name/ -a --fsync
	ways fsync:EIO -a --fsync
}

@test "fault: ftruncate fails after --inplace (reported, code 23)" {
	CHECK=no ways ftruncate:EIO -a --inplace
}

@test "fault: setting times fails (reported for every file and directory, code 23)" {
	TIMES=no ways utimensat:EIO -a
}

@test "fault: setting the time of one file fails (code 23)" {
	TIMES=no ways utimensat:EIO:path=.small. -a
}

@test "fault: setting times fails with --inplace (code 23)" {
	CHECK=no TIMES=no ways utimensat:EIO:path=big -a --inplace
}

# Faults that rsync's own loops handle: no reference fault, only the
# result, which must be the clean transfer's.
@test "fault: short writes and EINTR are retried (oc-rsync only)" {
	local spec mode out="$T/out"
	rm -rf "$T/clean" && cp -a "$T/old" "$T/clean"
	rsync -a "$T/src/" "$T/clean/"
	for spec in write:short write:EINTR:times=40 write:short,write:EINTR:after=3:times=5; do
		for mode in 1 0; do
			rm -rf "$out" && cp -a "$T/old" "$out"
			OC_RSYNC_FAULT=$spec OC_RSYNC_ASYNC=$mode timeout 60 "$OC" -a "$T/src/" "$out/" \
				>"$out.log" 2>&1 || { echo "$spec async=$mode"; cat "$out.log"; false; }
			[ ! -s "$out.log" ] || { echo "$spec async=$mode said:"; cat "$out.log"; false; }
			diff <("$SIG" "$T/clean") <("$SIG" "$out") || { echo "$spec async=$mode"; false; }
		done
	done
}

@test "fault: a spec that does not parse is refused (exit 1)" {
	run env OC_RSYNC_FAULT=write:ENOSPACE "$OC" -a "$T/src/" "$T/never/"
	[ "$status" != 0 ]
	[[ "$output" == *'bad OC_RSYNC_FAULT "write:ENOSPACE": unknown error'* ]]
	[ ! -e "$T/never/big" ]
}

# A real full disk: a 1 MiB tmpfs per destination, a 3 MB file.
@test "fault: a real full disk (tmpfs), local, pull and push" {
	[ "$(id -u)" = 0 ] || skip "needs root to mount a tmpfs"
	mkdir -p "$T/full_src" "$T/m_ref" "$T/m_out"
	head -c 3000000 /dev/urandom >"$T/full_src/huge"
	printf 'tiny\n' >"$T/full_src/tiny"
	mount -t tmpfs -o size=1m tmpfs "$T/m_ref" || skip "tmpfs mount refused"
	mount -t tmpfs -o size=1m tmpfs "$T/m_out" || { umount "$T/m_ref"; skip "tmpfs mount refused"; }
	local way mode rrc orc ref="$T/m_ref" out="$T/m_out" bad=0
	for way in local pull rpush; do
		for mode in 1 0; do
			find "$ref" "$out" -mindepth 1 -delete
			printf 'old\n' >"$ref/huge"
			printf 'old\n' >"$out/huge"
			case $way in
			local)
				rsync -a "$T/full_src/" "$ref/" >"$T/full.ref" 2>&1 && rrc=0 || rrc=$?
				OC_RSYNC_ASYNC=$mode "$OC" -a "$T/full_src/" "$out/" >"$T/full.out" 2>&1 &&
					orc=0 || orc=$? ;;
			pull)
				rsync --no-i-r -e "$RSH" -a "h:$T/full_src/" "$ref/" >"$T/full.ref" 2>&1 &&
					rrc=0 || rrc=$?
				OC_RSYNC_ASYNC=$mode "$OC" -e "$RSH" -a "h:$T/full_src/" "$out/" >"$T/full.out" 2>&1 &&
					orc=0 || orc=$? ;;
			rpush)
				rsync --no-i-r -e "$RSH" -a "$T/full_src/" "h:$ref/" >"$T/full.ref" 2>&1 &&
					rrc=0 || rrc=$?
				rsync -e "$RSH" --rsync-path="env OC_RSYNC_ASYNC=$mode $OC" -a "$T/full_src/" \
					"h:$out/" >"$T/full.out" 2>&1 && orc=0 || orc=$? ;;
			esac
			[ "$rrc" = 11 ] || { echo "rsync did not fill the disk ($way): $rrc"; bad=1; }
			[ "$orc" = "$rrc" ] || { echo "$way async=$mode: rsync $rrc, oc-rsync $orc"; bad=1; }
			diff <(norm "$T/full.ref" "$ref") <(norm "$T/full.out" "$out") ||
				{ echo "output differs: $way async=$mode"; bad=1; }
			[ "$(cat "$out/huge")" = old ] || { echo "huge is not the old file: $way"; bad=1; }
			[ -z "$(ls -A "$out" | grep -v '^huge$')" ] || { echo "left in $out:"; ls -A "$out"; bad=1; }
			[ $bad = 0 ] || { cat "$T/full.ref" "$T/full.out"; break 2; }
		done
	done
	umount "$T/m_ref" "$T/m_out"
	[ $bad = 0 ]
}
