#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Failures: each case runs the same command once with rsync 3.5.0 and once
# with oc-rsync (as client, or as the server under an rsync client, or fed
# directly in --server mode), each in a fresh work dir, and compares the
# exit codes and the messages. Messages are compared after three
# allowances: our program name, the " at FILE(LINE) [role=VERSION]" tail of
# the closing "error:" line (our own file, line and version), and the random
# part of temp-file names. Lines are sorted, since several processes write
# to the same stderr. Each case also checks that rsync gives the exit code
# the case is about, so a changed setup cannot pass by accident.
#
# Peers that misbehave: killrsh (a remote shell that SIGKILLs the server
# after N bytes) and fakepeer.py (a server or client that breaks the
# protocol after a correct version exchange).

load common

setup_file() {
	common_setup_file
	export FAKE="$PY $BATS_TEST_DIRNAME/fakepeer.py"
	export KILLRSH="$PY $BATS_TEST_DIRNAME/killrsh"
	# The read-only cases run as nobody, who cannot enter bats' private
	# temp dir, so the work dirs live in a world-readable one.
	W=$(mktemp -d /tmp/oc-errors.XXXXXX)
	chmod 755 "$W"
	export W
	mkdir "$W/big"
	head -c $((8 << 20)) /dev/urandom >"$W/big/file"
	chmod -R a+rX "$W/big"
	# Permissions do not stop root: the read-only cases drop to nobody.
	export AS_USER=env
	[ "$(id -u)" = 0 ] && AS_USER="setpriv --reuid=65534 --regid=65534 --clear-groups"
}

teardown_file() {
	rm -rf "$W"
}

# Fixtures, run inside the fresh work dir.
fix_src() {
	mkdir -p src/sub
	printf 'hello\n' >src/f
	printf 'sub\n' >src/sub/g
	chmod -R a+rX src
}

fix_file_as_dir() {
	fix_src
	printf 'plain\n' >afile
}

fix_readonly() {
	fix_src
	mkdir ro
	chmod 555 ro
}

# both FIX ARG...: run ARG... with rsync, then with oc-rsync, each in a fresh
# work dir ($W/ref, $W/out) prepared by the function FIX. "@P@" inside any
# argument becomes the program under test: rsync, then $OC. Sets RRC, ORC.
both() {
	local fix=$1 side prog a rc
	shift
	for side in ref out; do
		prog=rsync
		[ $side = out ] && prog=$OC
		local argv=()
		for a; do argv+=("${a//@P@/$prog}"); done
		rm -rf "$W/$side"
		mkdir "$W/$side"
		chmod 755 "$W/$side"
		(cd "$W/$side" && $fix) || return 1
		rc=0
		(cd "$W/$side" && exec timeout 60 "${argv[@]}") >"$W/$side.log" 2>&1 || rc=$?
		if [ $side = ref ]; then RRC=$rc; else ORC=$rc; fi
	done
}

# norm SIDE: the messages of one run, comparable across programs.
# With MASK_COUNT set, "(N bytes received so far)" loses its number.
norm() {
	sed -e "s|$W/$1|WD|g" -e "$ERRLINE" \
		-e 's/\(\.[^/" ]*\)\.[A-Za-z0-9]\{6\}"/\1.XXXXXX"/g' \
		${MASK_COUNT:+-e 's/([0-9]* bytes received so far)/(N bytes received so far)/'} \
		"$W/$1.log" | LC_ALL=C sort
}

# same_outcome CODE: rsync exited CODE, and oc-rsync did the same with the
# same messages.
same_outcome() {
	local bad=0
	if [ "$RRC" != "$1" ]; then
		echo "setup: rsync exited $RRC, the case expects $1"
		cat "$W/ref.log"
		return 1
	fi
	[ "$ORC" = "$RRC" ] || { echo "exit code: rsync $RRC, oc-rsync $ORC"; bad=1; }
	diff <(norm ref) <(norm out) >"$W/msg.diff" || {
		echo "messages differ (< rsync, > oc-rsync, normalized):"
		cat "$W/msg.diff"
		bad=1
	}
	if [ $bad = 1 ]; then
		echo "--- rsync said:"
		cat "$W/ref.log"
		echo "--- oc-rsync said:"
		cat "$W/out.log"
	fi
	return $bad
}

# same_tree DIR: DIR ends up the same in both work dirs (temp names masked).
same_tree() {
	diff <(cd "$W/ref" && find "$1" | sed 's/\.[A-Za-z0-9]\{6\}$/.XXXXXX/' | LC_ALL=C sort) \
		<(cd "$W/out" && find "$1" | sed 's/\.[A-Za-z0-9]\{6\}$/.XXXXXX/' | LC_ALL=C sort)
}

# --- options ---------------------------------------------------------------

@test "errors: unknown option (code 1)" {
	both fix_src @P@ --no-such-option src/ dst/
	same_outcome 1
}

@test "errors: unknown option given to --server (code 1)" {
	both fix_src sh -c '@P@ --server --no-such-option . dst/ </dev/null'
	same_outcome 1
}

# --- missing source --------------------------------------------------------

@test "errors: missing source, local copy (code 23)" {
	both fix_src @P@ -a nosuch dst/
	same_outcome 23
	grep -q 'link_stat ".*nosuch" failed: No such file or directory (2)' "$W/out.log"
}

@test "errors: missing source, push (code 23)" {
	both fix_src @P@ -a -e "$RSH" nosuch h:dst/
	same_outcome 23
}

@test "errors: missing source, pull (code 23)" {
	both fix_src @P@ -a -e "$RSH" h:nosuch dst/
	same_outcome 23
}

@test "errors: missing source, pull from --server (code 23)" {
	both fix_src rsync -a -e "$RSH" --rsync-path=@P@ h:nosuch dst/
	same_outcome 23
	grep -q '^oc-rsync: \[sender\] link_stat ".*nosuch" failed' "$W/out.log"
}

# --- destination that cannot be written ------------------------------------

@test "errors: destination below a regular file, local copy (code 3)" {
	both fix_file_as_dir @P@ -a src/ afile/sub/
	same_outcome 3
}

@test "errors: destination below a regular file, push (code 3)" {
	both fix_file_as_dir @P@ -a -e "$RSH" src/ h:afile/sub/
	same_outcome 3
}

@test "errors: destination below a regular file, pull (code 3)" {
	both fix_file_as_dir @P@ -a -e "$RSH" h:src/ afile/sub/
	same_outcome 3
}

@test "errors: destination below a regular file, push to --server (code 3)" {
	both fix_file_as_dir rsync -a -e "$RSH" --rsync-path=@P@ src/ h:afile/sub/
	same_outcome 3
}

@test "errors: destination dir cannot be made in a read-only dir, local copy (code 11)" {
	both fix_readonly $AS_USER @P@ -a src/ ro/new/
	same_outcome 11
	same_tree ro
}

@test "errors: destination dir cannot be made in a read-only dir, push to --server (code 11)" {
	both fix_readonly $AS_USER rsync -a -e "$RSH" --rsync-path=@P@ src/ h:ro/new/
	same_outcome 11
	same_tree ro
}

# A destination the user may write in but does not own (times cannot be
# set: "failed to set times", which rsync reports for EPERM too), with a
# read-only directory inside (its subdirectory and files cannot be made;
# rsync still lists the files, which its sender sent). Messages and item
# lines compared sorted: where the receiver's lines fall among the
# generator's is timing in rsync.
fix_ro_inside() {
	fix_src
	mkdir -p src/sub/deep
	printf 'deep\n' >src/sub/deep/h
	chmod -R a+rX src
	touch -d 2020-01-01 src src/sub
	mkdir -p dst/sub
	chmod 777 dst
	chmod 555 dst/sub
}

@test "errors: not the destination's owner, a read-only directory inside, local copy -ai (code 23)" {
	local o m
	for o in "" --no-i-r; do
		for m in 1 0; do
			both fix_ro_inside $AS_USER env OC_RSYNC_LOCAL=$m @P@ -ai $o src/ dst/
			same_outcome 23
			same_tree dst
		done
	done
}

# A source directory the sender cannot read: it is listed without its
# contents, so the receiving side must not take what the destination has
# there (or anywhere) as extraneous. rsync says "IO error encountered --
# skipping file deletion" and deletes nothing. (With incremental recursion
# rsync still deletes in directories it handled before the sender's error
# reached it; oc-rsync reads the whole list first and deletes nothing:
# compared without it.)
fix_unreadable_src() {
	fix_src
	mkdir -p src/locked dst/locked dst/sub
	printf 'in locked\n' >src/locked/x
	printf 'x\n' >dst/locked/x
	printf 'kept\n' >dst/locked/only_in_dst
	printf 'stale\n' >dst/sub/stale
	# fixed times, so that whether a directory's time is to be set does
	# not depend on the second each run made it in
	touch -d '2020-01-01 00:00:00' src src/sub src/locked
	touch -d '2021-01-01 00:00:00' dst dst/sub dst/locked
	chmod 000 src/locked
	chmod -R a+rwX dst
	chmod 777 dst
}

@test "errors: an unreadable source directory stops --delete, local copy and push (code 23)" {
	local m
	for m in 1 0; do
		both fix_unreadable_src $AS_USER env OC_RSYNC_LOCAL=$m @P@ -ai --delete --no-i-r src/ dst/
		same_outcome 23
		same_tree dst
		[ -e "$W/out/dst/locked/only_in_dst" ] && [ -e "$W/out/dst/sub/stale" ]
		grep -q '^IO error encountered -- skipping file deletion$' "$W/out.log"
	done
	both fix_unreadable_src $AS_USER rsync -ai --delete --no-i-r -e "$RSH" --rsync-path=@P@ src/ h:dst/
	same_outcome 23
	same_tree dst
	# with incremental recursion oc-rsync deletes nothing either
	both fix_unreadable_src $AS_USER @P@ -ai --delete src/ dst/
	[ -e "$W/out/dst/locked/only_in_dst" ] && [ -e "$W/out/dst/sub/stale" ]
	[ "$ORC" = 23 ]
}

# A file the sender can list but not open (mode 000, the sender not root):
# "send_files failed to open", MSG_NO_SEND, and no itemized line for it.
# One small file and one big enough for the sender's match stage.
fix_unopenable_file() {
	fix_src
	head -c 100000 /dev/zero | tr '\0' 'm' >src/mid
	printf 'locked\n' >src/locked
	touch -d '2020-01-01 00:00:00' src src/sub src/f src/mid src/locked
	chmod -R a+rX src
	chmod 000 src/locked
	mkdir dst
	touch -d '2021-01-01 00:00:00' dst
	chmod 777 dst
	[ "$(id -u)" != 0 ] || chown 65534:65534 dst
}

@test "errors: a listed source file that cannot be opened, push and pull from --server -i (code 23)" {
	both fix_unopenable_file $AS_USER @P@ -ai -e "$RSH" --rsync-path=@P@ src/ h:dst/
	same_outcome 23
	same_tree dst
	! grep -q 'f+++++++++ locked' "$W/out.log"
	both fix_unopenable_file $AS_USER rsync -ai -e "$RSH" --rsync-path=@P@ h:src/ dst/
	same_outcome 23
	same_tree dst
}

# A 40 MB source and, beside it, run_shrinking: runs its arguments while a
# watcher cuts src/big to 1,000,000 bytes once 2 MB of it have reached the
# temp file in dst (the transfer is slowed with --bwlimit to leave time).
fix_shrinking() {
	mkdir src
	head -c 40000000 /dev/urandom >src/big
	cat >run_shrinking <<'SH'
#!/bin/bash
(
	for _ in $(seq 600); do
		if [ -n "$(find dst -name '.big.*' -size +2M 2>/dev/null)" ]; then
			truncate -s 1000000 src/big
			exit 0
		fi
		sleep 0.05
	done
	echo "run_shrinking: the transfer never got going" >&2
) &
"$@"
rc=$?
wait
exit $rc
SH
	chmod +x run_shrinking
}

@test "errors: a source file that shrinks while it is sent, push, pull and local (code 23)" {
	both fix_shrinking ./run_shrinking @P@ -a --bwlimit=8000 -e "$RSH" --rsync-path=@P@ src/ h:dst/
	same_outcome 23
	grep -q 'read errors mapping' "$W/out.log"
	# sent again whole once the receiver found the sum wrong: the short file
	cmp "$W/out/src/big" "$W/out/dst/big"
	both fix_shrinking ./run_shrinking rsync -a --bwlimit=8000 -e "$RSH" --rsync-path=@P@ h:src/ dst/
	same_outcome 23
	cmp "$W/out/src/big" "$W/out/dst/big"
	both fix_shrinking ./run_shrinking @P@ -a --bwlimit=8000 src/ dst/
	same_outcome 23
	cmp "$W/out/src/big" "$W/out/dst/big"
}

# The local copy without the protocol copies too fast for --bwlimit's
# trick: src/big is 1 MB of data and a hole to 2 GB (no disk), cut to its
# 1 MB once 2 MB have reached the temp file. rsync's sender sends the rest
# as zeros (its receiver writes them: 2 GB), finds the file short, and
# sends it again.
fix_shrinking_sparse() {
	mkdir src
	head -c 1000000 /dev/urandom >src/big
	truncate -s 2G src/big
	cat >run_shrinking <<'SH'
#!/bin/bash
(
	for _ in $(seq 1500); do
		if [ -n "$(find dst -name '.big.*' -size +2M 2>/dev/null)" ]; then
			truncate -s 1000000 src/big
			exit 0
		fi
		sleep 0.02
	done
	echo "run_shrinking: the copy never got going" >&2
) &
"$@"
rc=$?
wait
exit $rc
SH
	chmod +x run_shrinking
}

@test "errors: a source file that shrinks while it is copied, local copy without the protocol (code 23)" {
	local a
	for a in 1 0; do
		both fix_shrinking_sparse ./run_shrinking env OC_RSYNC_ASYNC=$a @P@ -ai src/ dst/
		same_outcome 23
		grep -q 'read errors mapping' "$W/out.log"
		grep -q '^WARNING: big failed verification' "$W/out.log"
		# the item line again for the second copy, which has the size the file has now
		[ "$(grep -c '^>f+++++++++ big$' "$W/out.log")" = 2 ]
		cmp "$W/out/src/big" "$W/out/dst/big"
	done
}

@test "errors: files cannot be made in a read-only destination, local copy (code 23)" {
	both fix_readonly $AS_USER @P@ -r src/ ro/
	same_outcome 23
	same_tree ro
}

@test "errors: files cannot be made in a read-only destination, push to --server (code 23)" {
	both fix_readonly $AS_USER rsync -r -e "$RSH" --rsync-path=@P@ src/ h:ro/
	same_outcome 23
	same_tree ro
}

# --- a peer that dies mid-transfer -----------------------------------------
# killrsh SIGKILLs the server after 300000 bytes of the 8 MiB file. The
# byte count in "connection unexpectedly closed" is masked here: how much
# each side has read when the pipe ends is checked exactly by the fake-peer
# "eof" cases below.

@test "errors: server killed mid-transfer, pull (code 12)" {
	MASK_COUNT=1
	both true @P@ -a -e "$KILLRSH out:300000" h:"$W/big/" dst/
	same_outcome 12
	same_tree dst
}

@test "errors: server killed mid-transfer, push (code 12)" {
	MASK_COUNT=1
	both true @P@ -a -e "$KILLRSH in:300000" "$W/big/" h:dst/
	same_outcome 12
	same_tree dst
}

# --- a peer that breaks the protocol (fakepeer.py as the remote shell) -----

@test "errors: server closes after the version exchange, pull (code 12)" {
	both fix_src @P@ -r -e "$FAKE eof" h:src/ dst/
	same_outcome 12
}

@test "errors: server closes after the version exchange, push (code 12)" {
	both fix_src @P@ -r -e "$FAKE eof" src/ h:dst/
	same_outcome 12
}

@test "errors: server announces protocol 999 (code 2)" {
	both fix_src @P@ -r -e "$FAKE badversion" h:src/ dst/
	same_outcome 2
}

@test "errors: server sends an unknown multiplex tag, pull (code 12)" {
	both fix_src @P@ -r -e "$FAKE badtag" h:src/ dst/
	same_outcome 12
}

@test "errors: server sends an unknown multiplex tag, push (code 12)" {
	both fix_src @P@ -r -e "$FAKE badtag" src/ h:dst/
	same_outcome 12
}

@test "errors: server sends a file list entry with an invalid mode, pull (code 2)" {
	both fix_src @P@ -r -e "$FAKE badmode" h:src/ dst/
	same_outcome 2
	[ ! -e "$W/out/dst/x" ]
}

@test "errors: server sends garbage where a file index belongs, push (code 2)" {
	both fix_src @P@ -r -e "$FAKE badmode" src/ h:dst/
	same_outcome 2
}

# --- --server mode fed directly (stdout is the wire; stderr is compared) ---

@test "errors: --server with no client at all (code 12)" {
	both fix_src sh -c '@P@ --server -re.Lsfx . dst/ </dev/null >/dev/null'
	same_outcome 12
}

@test "errors: --server fed a bad version (code 2)" {
	both fix_src sh -c 'printf "garbage!garbage!" | @P@ --server -re.Lsfx . dst/ >/dev/null'
	same_outcome 2
}

@test "errors: --server --sender fed an unknown multiplex tag (code 12)" {
	both fix_src sh -c '$FAKE feed badtag | @P@ --server --sender -re.Lsfx . src/ >/dev/null'
	same_outcome 12
}

@test "errors: --server receiver fed an unknown multiplex tag (code 12)" {
	both fix_src sh -c '$FAKE feed badtag | @P@ --server -re.Lsfx . dst/ >/dev/null'
	same_outcome 12
}

@test "errors: --server receiver fed a file list entry with an invalid mode (code 2)" {
	both fix_src sh -c '$FAKE feed badmode | @P@ --server -re.Lsfx . dst/ >/dev/null'
	same_outcome 2
	[ ! -e "$W/out/dst/x" ]
}
