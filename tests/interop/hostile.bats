#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Hostile peers: hostilepeer.py plays an rsync server (or client) that
# breaks one protocol rule per scenario, aimed at the attack classes of
# CVE-2024-12084 to 12088 and their kin: sum heads out of range, indexes
# past the file list, basis files and names steered outside the
# destination, unsafe names, hard-link flags without -H, bad tokens, a
# symlinked parent, bad MSG_IO_TIMEOUT frames. Each scenario runs against
# rsync 3.5.0 and against oc-rsync in the same role; both must fail the
# same way (exit code), oc-rsync must say why on stderr, and nothing may
# appear outside the destination ($OUT, a directory beside it, stays
# empty; the destination trees must be the same).
#
# Where rsync 3.5.0 itself has no answer (it accepts the bad data, hangs
# waiting for more, or dies of a broken pipe before its own error code
# lands), the case sets EXPECT to the code upstream gives that class of
# error (2, RERR_PROTOCOL, for a bad stream; 30 for a timeout) and runs
# only oc-rsync; the comment on each such case says what rsync does.

load common

setup_file() {
	common_setup_file
	export PEER="$BATS_TEST_DIRNAME/hostilepeer.py"
	export OCD="$BATS_TEST_DIRNAME/../../${OC_BUILD:-build}/bin/oc-rsyncd"
	mkdir -p "$T/one"
	printf 'hello\n' >"$T/one/x"
	touch -d '2024-03-04 05:06:07' "$T/one/x" "$T/one"
}

setup() {
	export OUT="$BATS_TEST_TMPDIR/outside"
	export HOSTILE_OUTSIDE="$OUT"
	mkdir -p "$OUT"
}

teardown() {
	[ -z "${DPIDS:-}" ] || stop_servers $DPIDS
}

# start_daemons: rsync --daemon and oc-rsyncd on free ports ($RPORT,
# $OPORT) with one module "ro" holding a file x; oc-rsyncd logs to $DLOG
start_daemons() {
	local d="$BATS_TEST_TMPDIR/dm"
	mkdir -p "$d/ro"
	echo hi >"$d/ro/x"
	local ids=""
	[ "$(id -u)" = 0 ] && ids=$'uid = 0\ngid = 0'
	cat >"$d/rsyncd.conf" <<-EOF
		$ids
		use chroot = false
		lock file = $d/rsyncd.lock
		timeout = 3
		[ro]
		 path = $d/ro
		 timeout = 0
	EOF
	RPORT=$(free_port)
	OPORT=$(free_port)
	DLOG="$d/ocd.log"
	timeout -k 10 300 rsync --daemon --no-detach --address=127.0.0.1 --port="$RPORT" \
		--config="$d/rsyncd.conf" >"$d/rsyncd.out" 2>&1 3>&- &
	echo $! >"$d/rsyncd.pid"
	env $SERVER_ENV timeout -k 10 300 "$OCD" --no-detach --address=127.0.0.1 --port="$OPORT" \
		--config="$d/rsyncd.conf" --log-file="$DLOG" >"$d/ocd.out" 2>&1 3>&- &
	echo $! >"$d/ocd.pid"
	DPIDS="$d/rsyncd.pid $d/ocd.pid"
	wait_port "$RPORT"
	wait_port "$OPORT"
}

# hostile_dclient SCENARIO: hostilepeer.py dclient against both daemons;
# what each said (and whether the transfer began) must be the same
hostile_dclient() {
	local d="$BATS_TEST_TMPDIR"
	timeout 60 "$PY" "$PEER" dclient "$RPORT" ro "$1" >"$d/dref.out" 2>&1
	timeout 60 "$PY" "$PEER" dclient "$OPORT" ro "$1" >"$d/doc.out" 2>&1
	if ! diff "$d/dref.out" "$d/doc.out"; then
		echo "the daemons answered differently (< rsync, > oc-rsyncd)"
		return 1
	fi
	cat "$d/doc.out"
}

# check RC_RSYNC RC_OC LOG_RSYNC LOG_OC DEST_RSYNC DEST_OC
check() {
	local bad=0 rr=$1
	# rsync's receiver says code 2 (or 12), but its generator, writing to
	# the receiver that just died, often exits first with 10 (broken
	# pipe): the receiver's code is the answer to the bad data
	if [ "$rr" = 10 ] && grep -qE '\(code (2|12)\) .*\[[Rr]eceiver=' "$3"; then
		rr=$(grep -oE '\(code (2|12)\) .*\[[Rr]eceiver=' "$3" | head -1 | grep -oE '[0-9]+' | head -1)
	fi
	if [ -n "${EXPECT:-}" ]; then
		[[ "$2" =~ ^($EXPECT)$ ]] || { echo "oc-rsync exited $2, expected $EXPECT"; bad=1; }
	elif [ "$rr" != "$2" ]; then
		echo "exit codes differ: rsync $1, oc-rsync $2"
		bad=1
	fi
	if [ "$2" = 0 ] || ! grep -q . "$4"; then
		echo "oc-rsync did not fail with a message"
		bad=1
	fi
	if grep -qE 'Sanitizer|runtime error|Segmentation|core dumped|Traceback' "$4"; then
		echo "oc-rsync crashed (or the peer did)"
		bad=1
	fi
	if [ -n "$(ls -A "$OUT")" ]; then
		echo "something appeared outside the destination:"
		ls -lR "$OUT"
		bad=1
	fi
	if [ -z "${EXPECT:-}" ] && [ -n "${5:-}" ] && ! diff <("$SIG" "$5") <("$SIG" "$6"); then
		echo "destination trees differ (< rsync, > oc-rsync)"
		bad=1
	fi
	if [ $bad = 1 ]; then
		echo "--- rsync said:"; cat "$3"
		echo "--- oc-rsync said:"; cat "$4"
	fi
	return $bad
}

# hostile_pull SCENARIO [OPTS...]: the client pulls from the hostile server
hostile_pull() {
	local scen=$1 d="$BATS_TEST_TMPDIR" rr ro
	shift
	mkdir -p "$d/ref" "$d/oc"
	rr=-
	: >"$d/ref.log"
	[ -n "${EXPECT:-}" ] ||
		{ timeout 60 rsync -rlt "$@" -e "$PY $PEER $scen" h:/src/ "$d/ref/" >"$d/ref.log" 2>&1 && rr=0 || rr=$?; }
	timeout 60 "$OC" -rlt "$@" -e "$PY $PEER $scen" h:/src/ "$d/oc/" >"$d/oc.log" 2>&1 && ro=0 || ro=$?
	check "$rr" "$ro" "$d/ref.log" "$d/oc.log" "$d/ref" "$d/oc"
}

# hostile_push SCENARIO: the client pushes $T/one to the hostile server
hostile_push() {
	local scen=$1 d="$BATS_TEST_TMPDIR" rr ro
	rr=-
	: >"$d/ref.log"
	[ -n "${EXPECT:-}" ] ||
		{ timeout 60 rsync -rlt -e "$PY $PEER $scen" "$T/one/" h:/dst/ >"$d/ref.log" 2>&1 && rr=0 || rr=$?; }
	timeout 60 "$OC" -rlt -e "$PY $PEER $scen" "$T/one/" h:/dst/ >"$d/oc.log" 2>&1 && ro=0 || ro=$?
	check "$rr" "$ro" "$d/ref.log" "$d/oc.log"
}

# hostile_feed SCENARIO: a hostile client drives a --server --sender
hostile_feed() {
	local scen=$1 d="$BATS_TEST_TMPDIR" rr ro
	"$PY" "$PEER" feed "$scen" >"$d/feed"
	timeout 60 rsync --server --sender -re.Lsfx . "$T/one/" <"$d/feed" >/dev/null 2>"$d/ref.log" && rr=0 || rr=$?
	timeout 60 "$OC" --server --sender -re.Lsfx . "$T/one/" <"$d/feed" >/dev/null 2>"$d/oc.log" && ro=0 || ro=$?
	check "$rr" "$ro" "$d/ref.log" "$d/oc.log"
}

# Compressed token streams (-z): each scenario runs with every codec we
# share with rsync 3.5.0. ZCODECS narrows the list.
ZCODECS=${ZCODECS:-zlib zlibx zstd lz4}

# hostile_zpull SCENARIO: hostile_pull with each codec in turn
hostile_zpull() {
	local c
	for c in $ZCODECS; do
		echo "# codec $c"
		rm -rf "$BATS_TEST_TMPDIR/ref" "$BATS_TEST_TMPDIR/oc"
		hostile_pull "$1" -z --compress-choice="$c" || return 1
	done
}

# hostile_zclient SCENARIO: hostilepeer.py as a client pushes "x" with
# the scenario's tokens to a receiving `--server` it starts, each codec
hostile_zclient() {
	local scen=$1 d="$BATS_TEST_TMPDIR" c rr ro
	for c in $ZCODECS; do
		echo "# codec $c"
		rm -rf "$d/ref" "$d/oc"
		mkdir -p "$d/ref" "$d/oc"
		timeout 60 "$PY" "$PEER" client "$scen" rsync --server -rlze.Lsfx \
			--compress-choice="$c" . "$d/ref/" >/dev/null 2>"$d/ref.log" && rr=0 || rr=$?
		timeout 60 "$PY" "$PEER" client "$scen" "$OC" --server -rlze.Lsfx \
			--compress-choice="$c" . "$d/oc/" >/dev/null 2>"$d/oc.log" && ro=0 || ro=$?
		if [ -n "${GOOD:-}" ]; then
			check_good "$rr" "$ro" "$d/ref.log" "$d/oc.log" "$d/ref" "$d/oc" || return 1
		else
			check "$rr" "$ro" "$d/ref.log" "$d/oc.log" || return 1
		fi
	done
}

# check_good RC_RSYNC RC_OC LOG_RSYNC LOG_OC DEST_RSYNC DEST_OC: a stream
# that is legal however odd: both must take it and write the same file
check_good() {
	local bad=0
	if [ "$1" != 0 ] || [ "$2" != 0 ]; then
		echo "exit codes: rsync $1, oc-rsync $2 (both should be 0)"
		bad=1
	fi
	if ! cmp "$5/x" "$6/x"; then
		echo "the files differ"
		bad=1
	fi
	if [ -n "$(ls -A "$OUT")" ]; then
		echo "something appeared outside the destination"
		bad=1
	fi
	if [ $bad = 1 ]; then
		echo "--- rsync said:"; cat "$3"
		echo "--- oc-rsync said:"; cat "$4"
	fi
	return $bad
}

@test "hostile server: file index past the list (CVE-2024-12087)" {
	hostile_pull ndx_range
}

@test "hostile server: negative file index, a sub-list without -i-r (CVE-2024-12087)" {
	hostile_pull ndx_negative
}

@test "hostile server: file name ../evil" {
	hostile_pull name_dotdot
}

@test "hostile server: file name a/../../evil" {
	hostile_pull name_inner_dotdot
}

@test "hostile server: absolute file name without -R" {
	hostile_pull name_absolute
}

@test "hostile server: hard-link flags without -H" {
	# rsync 3.5.0 takes the abbreviated entry without -H (making "y" a
	# copy of entry 0, a directory) and hangs: a clean error instead
	EXPECT=2 hostile_pull hlink_without_H
}

@test "hostile server: hard-link-first flags without -H" {
	# rsync 3.5.0 accepts the flag without -H and hangs
	EXPECT=2 hostile_pull hlink_first_without_H
}

@test "hostile server: basis steered to an alternate dir that was not given (CVE-2024-12086)" {
	hostile_pull basis_alt
}

@test "hostile server: basis steered to a partial dir that was not given (CVE-2024-12086)" {
	# rsync 3.5.0 has no partial dir to look in and hangs
	EXPECT=2 hostile_pull basis_partial
}

@test "hostile server: basis name outside the destination (CVE-2024-12086)" {
	hostile_pull xname
}

@test "hostile server: sum head with a 99-byte strong sum (CVE-2024-12084)" {
	hostile_pull sumhead_s2length
}

@test "hostile server: sum head with a negative count" {
	hostile_pull sumhead_count
}

@test "hostile server: sum head with a 1 GiB block length" {
	hostile_pull sumhead_blength
}

@test "hostile server: sum head remainder larger than the block" {
	hostile_pull sumhead_remainder
}

@test "hostile server: token for a block the basis does not have" {
	hostile_pull token_block
}

@test "hostile server: literal run of 2 GiB, then silence" {
	# rsync 3.5.0 waits forever despite --timeout; the timeout is the
	# answer (30), unless our receiver reads the data before its generator
	# asked for the file: then it is refused as not asked for (2)
	EXPECT='30|2' hostile_pull token_literal_huge --timeout=5
}

@test "hostile server: file written through a symlinked parent" {
	# rsync 3.5.0 aborts with code 2 too; how far each got before the
	# abort (d's mtime) depends on timing, so only the outside is checked
	EXPECT=2 hostile_pull symlink_parent
}

@test "hostile server: MSG_IO_TIMEOUT with 2 bytes" {
	hostile_pull msg_timeout_len
}

@test "hostile server: MSG_IO_TIMEOUT of -1 does not disable --timeout" {
	# rsync 3.5.0 waits forever despite --timeout
	EXPECT=30 hostile_pull msg_timeout_value --timeout=3
}

@test "hostile server: MSG_INFO of 6000 bytes, past upstream's 5120-byte buffer" {
	hostile_pull msg_info_overflow
}

@test "hostile server: MSG_ERROR of 65535 bytes" {
	hostile_pull msg_error_overflow
}

@test "hostile server: MSG_ERROR_EXIT with 3 bytes (0 or 4 allowed)" {
	hostile_pull msg_error_exit_len
}

@test "hostile server: MSG_NOOP with a payload" {
	hostile_pull msg_noop_len
}

@test "hostile server: MSG_IO_ERROR with 3 bytes" {
	hostile_pull msg_io_error_len
}

@test "hostile server: MSG_SUCCESS with 2 bytes" {
	hostile_pull msg_success_len
}

@test "hostile server: MSG_NO_SEND with 5 bytes" {
	hostile_pull msg_no_send_len
}

@test "hostile server: MSG_REDO to the receiver (a generator's message)" {
	hostile_pull msg_redo_receiver
}

@test "hostile server: MSG_STATS to the receiver (a generator's message)" {
	hostile_pull msg_stats_receiver
}

@test "hostile server: empty MSG_DATA frames are skipped, as upstream does" {
	# then an index past the list, so both stop the same known way
	hostile_pull msg_data_empty
}

@test "hostile receiver: file index past the list, push" {
	hostile_push push_ndx_range
}

@test "hostile receiver: sum head with a 99-byte strong sum, push (CVE-2024-12084)" {
	hostile_push push_sumhead_s2length
}

@test "hostile receiver: sum head with a negative count, push" {
	hostile_push push_sumhead_count
}

@test "hostile receiver: sum head with a 1 GiB block length, push" {
	hostile_push push_sumhead_blength
}

@test "hostile receiver: sum head remainder larger than the block, push" {
	hostile_push push_sumhead_remainder
}

@test "hostile receiver: blocks of length zero, push" {
	hostile_push push_sumhead_zero_blength
}

@test "hostile client: sum head with a 99-byte strong sum, to --server --sender (CVE-2024-12084)" {
	hostile_feed sumhead_s2length
}

@test "hostile client: sum head with a negative count, to --server --sender" {
	hostile_feed sumhead_count
}

@test "hostile client: sum head with a 1 GiB block length, to --server --sender" {
	hostile_feed sumhead_blength
}

@test "hostile client: sum head remainder larger than the block, to --server --sender" {
	hostile_feed sumhead_remainder
}

@test "hostile client: MSG_INFO of 6000 bytes, to --server --sender" {
	hostile_feed msg_info_overflow
}

@test "hostile client: MSG_ERROR_EXIT with 3 bytes, to --server --sender" {
	hostile_feed msg_error_exit_len
}

@test "hostile client: MSG_NOOP with a payload, to --server --sender" {
	hostile_feed msg_noop_len
}

@test "hostile client: MSG_SUCCESS with 2 bytes, to --server --sender" {
	hostile_feed msg_success_len
}

@test "hostile client: MSG_REDO to a sender, to --server --sender" {
	hostile_feed msg_redo_receiver
}

@test "--safe-links: links that climb out through a/../.. are dropped, as rsync 3.5.0 does (CVE-2024-12088)" {
	local s="$BATS_TEST_TMPDIR/links"
	mkdir -p "$s/a/b"
	printf 'x\n' >"$s/a/x"
	ln -s ../../x "$s/a/up2"            # out by one
	ln -s ../x "$s/a/b/up1"             # a/x: inside
	ln -s b/../../x "$s/a/down_up2"     # a/b/../../x = x at the top: inside
	ln -s a/../../x "$s/climb"          # out, after going down first
	ln -s a/b/../../../x "$s/climb2"    # out by one, the long way
	ln -s ./a/./b/../x "$s/dots"        # a/x: inside
	ln -s /etc/passwd "$s/abs"          # absolute: unsafe
	ln -s a/b/../../a/x "$s/back_in"    # inside
	touch -h -d '2024-03-04 05:06:07' "$s"/* "$s"/a/* "$s"/a/b/*
	SRC="$s" ORDER="env LC_ALL=C sort" run_pair -ai --safe-links
}

# --- compressed token streams (token.c recv_deflated_token,
#     recv_zstd_token, recv_compressed_token; receiver.c receive_data) ---

@test "hostile server, -z: negative token number" {
	hostile_zpull z_token_negative
}

@test "hostile server, -z: token past the sum count" {
	hostile_zpull z_token_past_count
}

@test "hostile server, -z: token number 0x7fffffff, past upstream's MAX_TOKEN_INDEX" {
	hostile_zpull z_token_int_max
}

@test "hostile server, -z: token run that overflows int32" {
	hostile_zpull z_run_overflow
}

@test "hostile server, -z: token run past the sum count" {
	# rsync 3.5.0 takes block 0 (there is no basis) and then stops: "got
	# a block match with no basis file"; we refuse the run as a whole
	hostile_zpull z_run_past_count
}

@test "hostile server, -z: relative token past the sum count" {
	hostile_zpull z_rel_past_count
}

@test "hostile server, -z: corrupt compressed data" {
	hostile_zpull z_corrupt
}

@test "hostile server, -z: lz4 unit that decompresses to 1 MiB, past its block" {
	# lz4 only: both sides decompress a unit into one block of
	# LZ4_compressBound(CHUNK_SIZE); zlib and zstd units have no bound
	ZCODECS=lz4 hostile_zpull z_lz4_bomb
}

@test "hostile server, -z: stream ends without END_FLAG" {
	hostile_zpull z_no_end_eof
}

@test "hostile server, -z: one small unit that inflates to megabytes is legal" {
	# rsync 3.5.0 has no cap: zlib gives 4 MiB from 4 KiB, zstd 70 MiB
	# from 3 KiB (past the 64 MiB our codec caps a unit at by default)
	local c d="$BATS_TEST_TMPDIR" rr ro
	for c in $ZCODECS; do
		echo "# codec $c"
		rm -rf "$d/ref" "$d/oc"
		mkdir -p "$d/ref" "$d/oc"
		if [ "$c" = zstd ]; then export HOSTILE_BIG=$((70 << 20)); else export HOSTILE_BIG=$((4 << 20)); fi
		timeout 60 rsync -rlt -z --compress-choice="$c" -e "$PY $PEER z_big_unit" h:/src/ "$d/ref/" \
			>"$d/ref.log" 2>&1 && rr=0 || rr=$?
		timeout 60 "$OC" -rlt -z --compress-choice="$c" -e "$PY $PEER z_big_unit" h:/src/ "$d/oc/" \
			>"$d/oc.log" 2>&1 && ro=0 || ro=$?
		check_good "$rr" "$ro" "$d/ref.log" "$d/oc.log" "$d/ref" "$d/oc" || return 1
	done
	rm -rf "$d/ref" "$d/oc"
}

@test "hostile client, -z: negative token number, to a receiving --server" {
	hostile_zclient z_token_negative
}

@test "hostile client, -z: token past the sum count, to a receiving --server" {
	hostile_zclient z_token_past_count
}

@test "hostile client, -z: token number 0x7fffffff, to a receiving --server" {
	hostile_zclient z_token_int_max
}

@test "hostile client, -z: token run that overflows int32, to a receiving --server" {
	hostile_zclient z_run_overflow
}

@test "hostile client, -z: token run past the sum count, to a receiving --server" {
	hostile_zclient z_run_past_count
}

@test "hostile client, -z: corrupt compressed data, to a receiving --server" {
	hostile_zclient z_corrupt
}

@test "hostile client, -z: lz4 unit that decompresses to 1 MiB, to a receiving --server" {
	ZCODECS=lz4 hostile_zclient z_lz4_bomb
}

@test "hostile client, -z: stream ends without END_FLAG, to a receiving --server" {
	hostile_zclient z_no_end_eof
}

@test "hostile client, -z: one small unit that inflates to megabytes, to a receiving --server" {
	GOOD=1 HOSTILE_BIG=$((4 << 20)) hostile_zclient z_big_unit
	rm -rf "$BATS_TEST_TMPDIR/ref" "$BATS_TEST_TMPDIR/oc"
}

# --- daemon arguments (io.c read_args, MAX_DAEMON_ARGS = 16 * MAX_ARGS) ---
# rsync 3.5.0's daemon takes 15998 argument lines after the module
# (counting its own argv[0], refusing the line that would fill slot
# 16000) and cuts a line past its 5120-byte buffer. A real rsync client
# sends at most MAX_ARGS (1000), so only a hostile client gets here; its
# answer is the connection closed without a word (the daemon child exits
# with code 2, RERR_PROTOCOL, logging nothing; oc-rsyncd logs why).

@test "hostile daemon client: 15998 argument lines are still taken" {
	start_daemons
	run hostile_dclient args_15994
	echo "$output"
	[ "$status" = 0 ]
	[[ "$output" == *"<binary>"* ]]
}

@test "hostile daemon client: 15999 argument lines, one past upstream's limit" {
	start_daemons
	run hostile_dclient args_15995
	echo "$output"
	[ "$status" = 0 ]
	[[ "$output" == *"<closed>" ]]
	[[ "$output" != *"<binary>"* ]]
	grep -q "too many daemon arguments" "$DLOG"
}

@test "hostile daemon client: an argument of 6000 bytes is cut, not refused" {
	start_daemons
	run hostile_dclient longarg_6000
	echo "$output"
	[ "$status" = 0 ]
	[[ "$output" == *"<binary>"* ]]
}
