#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Killed mid-transfer, $KILL_RUNS times per case (default 100): the other
# side is SIGKILLed (or its connection cut) at a random point, and
# afterwards every destination file must hold its old content or its new
# one, never a torn mix; no temporary file may be left where an oc-rsync
# process survived to clean up; and the exit code must say what happened
# (success only when the kill came too late to matter; killrsh itself
# exits 255 as ssh does, so that is 124 then; where both ends survive a
# cut, the code and the messages must be the ones rsync 3.5.0 gives at the
# same cut).
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
#
# Daemon transfers, one daemon per case on a free port, stopped at the
# end; it must still be up then, with every session ended (oc-rsyncd's
# --metrics-file, written on SIGUSR1: no connection active, started =
# completed + failed). killtcp is the RSYNC_CONNECT_PROG that relays to
# the daemon and cuts after N bytes: a reset for the daemon, an end of
# file for the client. Where a case compares exit codes, an rsync client
# runs beside ours through the same cut to rsync --daemon.
#
#   dpull     oc-rsync pulls from rsync --daemon, cut after N bytes of
#             the daemon's output (exit 5 before its greeting is whole,
#             12 after, 0 past the end: the same as rsync's, and the same
#             messages, "N bytes received so far" included)
#   ocpull    the same from oc-rsyncd, whose sending session must end
#   dpush     an rsync client, and an oc-rsync client, push into a module
#             of oc-rsyncd and are SIGKILLed after a random delay (within
#             1.2 times what one push takes, more of them early): the
#             session must remove its temp file and end, leaving old or
#             new files, and the client exits 0 only when not killed
#   cpush     oc-rsync pushes to oc-rsyncd, cut after N bytes of the
#             client's output: both ends survive; exit code and messages
#             as rsync's (the byte count left out: how much of the
#             daemon's output came before the cut is timing)

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
	export KILLTCP="$BATS_TEST_DIRNAME/killtcp"
	export OCD="$BATS_TEST_DIRNAME/../../${OC_BUILD:-build}/bin/oc-rsyncd"
	# the daemons' modules: "new" to pull from, "dst" to push into: $T/dd
	# for oc-rsyncd, $T/dd.ref for rsync --daemon, the same name for both
	# so that the clients send the same bytes. As root the daemons would
	# become nobody, who cannot write there.
	local ids="" dst
	[ "$(id -u)" = 0 ] && ids=$'uid = 0\ngid = 0'
	for dst in dd dd.ref; do
		cat >"$T/rsyncd.$dst.conf" <<-EOF
			$ids
			use chroot = false
			lock file = $T/rsyncd.lock
			[new]
			 path = $T/new
			[dst]
			 path = $T/$dst
			 read only = false
		EOF
	done
}

teardown() {
	stop_servers "$T"/*.pid
	rm -f "$T"/*.pid
}

# start_daemon NAME PROGRAM ARG...: a daemon on a free port of 127.0.0.1
# ($PORT), its log in $T/NAME.log, the timeout's pid in $T/NAME.pid; one
# per case, stopped by teardown. "rd" (rsync --daemon, the reference)
# pushes into $T/dd.ref, the others into $T/dd.
start_daemon() {
	local name=$1 conf=$T/rsyncd.dd.conf
	shift
	[ "$name" = rd ] && conf=$T/rsyncd.dd.ref.conf
	PORT=$(free_port)
	env $SERVER_ENV timeout -k 10 3600 "$@" --no-detach --address=127.0.0.1 --port="$PORT" \
		--config="$conf" --log-file="$T/$name.log" >"$T/$name.out" 2>&1 3>&- &
	echo $! >"$T/$name.pid"
	wait_port "$PORT"
}

# start_ocd NAME: start_daemon with oc-rsyncd, its metrics in $T/NAME.metrics
start_ocd() {
	start_daemon "$1" "$OCD" --metrics-file="$T/$1.metrics"
}

# ocd_metrics NAME: fresh metrics of a running oc-rsyncd (SIGUSR1) in
# $T/NAME.metrics; fails when the daemon is gone
ocd_metrics() {
	local pid
	pid=$(pgrep -P "$(cat "$T/$1.pid")") && alive "$pid" || {
		echo "daemon $1 is gone:"
		cat "$T/$1.out"
		return 1
	}
	rm -f "$T/$1.metrics"
	kill -USR1 "$pid"
	for _ in $(seq 100); do
		[ -s "$T/$1.metrics" ] && return 0
		sleep 0.02
	done
	echo "daemon $1 wrote no metrics"
	return 1
}

# ocd_idle NAME PORT: wait (at most 10 s) until oc-rsyncd has no connection
# left. A module listing goes first: the daemon accepts connections in
# order, so once it is answered every earlier one has been accepted, even
# one whose client died before the daemon saw it.
ocd_idle() {
	timeout 10 rsync "rsync://127.0.0.1:$2/" >/dev/null 2>&1 || {
		echo "daemon $1 does not answer a listing"
		return 1
	}
	for _ in $(seq 100); do
		ocd_metrics "$1" || return 1
		grep -qx 'oc_rsyncd_connections_active 0' "$T/$1.metrics" && return 0
		sleep 0.1
	done
	echo "daemon $1 still has connections after 10 s:"
	cat "$T/$1.metrics"
	return 1
}

# ocd_sessions NAME: every session the daemon started has ended, each
# counted once as completed or failed; prints "STARTED COMPLETED FAILED"
ocd_sessions() {
	local s c f
	s=$(sed -n 's/^oc_rsyncd_sessions_started_total //p' "$T/$1.metrics")
	c=$(sed -n 's/^oc_rsyncd_sessions_completed_total //p' "$T/$1.metrics")
	f=$(sed -n 's/^oc_rsyncd_sessions_failed_total //p' "$T/$1.metrics")
	grep -qx 'oc_rsyncd_session_processes 0' "$T/$1.metrics" && [ $((c + f)) = "$s" ] || {
		echo "daemon $1: sessions not all ended:"
		cat "$T/$1.metrics"
		return 1
	}
	echo "$s $c $f"
}

# check_dest DIR TEMPS_ALLOWED: 1 on a torn file or, unless allowed, a temp file
check_dest() {
	local d=$1 torn
	# one sha256sum for all the files: this runs after every one of the runs
	torn=$(cd "$d" && sha256sum f* 2>/dev/null | grep -vxFf "$T/allowed") && {
		echo "torn file in $d: $torn"
		return 1
	}
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

@test "kill: a local copy SIGKILLed, then SIGTERMed, $KILL_RUNS times each, and early SIGTERMs" {
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
	# The first milliseconds of the threaded pipeline, where pool workers
	# take their slots while the handler may be walking them: before the
	# handler marked free slots, 2 of 500 such runs left a temp file.
	for run in $(seq $((KILL_RUNS * 2))); do
		rm -rf "$d"
		cp -a "$T/old" "$d"
		ms=$((1 + RANDOM % 8))
		timeout --preserve-status -s TERM "0.00$ms" env OC_RSYNC_ASYNC=1 OC_RSYNC_LOCAL=1 \
			"$OC" -a "$T/new/" "$d/" >"$T/local.log" 2>&1 && rc=0 || rc=$?
		check_dest "$d" no || { echo "early run $run, SIGTERM after ${ms} ms"; cat "$T/local.log"; false; }
		case $rc in
		0 | 20 | 143) ;;
		*) echo "early run $run, SIGTERM after ${ms} ms: exit $rc"; cat "$T/local.log"; false ;;
		esac
	done
}

# pull_cut NAME REFPORT PORT: oc-rsync pulls module "new" through killtcp
# from the daemon on PORT, cut after N random bytes of the daemon's output,
# and an rsync client does the same through the same cut from rsync
# --daemon on REFPORT: the exit codes must be equal (5 before the daemon's
# greeting is complete, 12 later, 0 once the cut comes after the end)
pull_cut() {
	local rport=$2 port=$3 run n rc rrc ref total=$((12 * 100000 + 4000)) d="$T/$1" codes=""
	for run in $(seq "$KILL_RUNS"); do
		rm -rf "$d" "$d.ref"
		cp -a "$T/old" "$d"
		cp -a "$T/old" "$d.ref"
		n=$(((RANDOM * 32768 + RANDOM) % total))
		# the two run side by side: the cut counts bytes, not time
		RSYNC_CONNECT_PROG="$PY $KILLTCP $rport out:$n" \
			timeout 60 rsync --no-i-r -a rsync://h/new/ "$d.ref/" >"$d.ref.log" 2>&1 &
		ref=$!
		RSYNC_CONNECT_PROG="$PY $KILLTCP $port out:$n" OC_RSYNC_ASYNC=$((run % 2)) \
			timeout 60 "$OC" -a rsync://h/new/ "$d/" >"$d.log" 2>&1 && rc=0 || rc=$?
		wait $ref && rrc=0 || rrc=$?
		check_dest "$d" no || { echo "run $run, cut at $n (seed $KILL_SEED)"; cat "$d.log"; return 1; }
		[ "$rc" = "$rrc" ] || {
			echo "run $run, cut at $n (seed $KILL_SEED): oc-rsync $rc, rsync $rrc"
			show_logs "$d.ref" "$d"
			return 1
		}
		# the messages too: a cut in the daemon's output is the same
		# place in both streams, even the byte count
		diff <(sed -e "$ERRLINE" "$d.ref.log") <(sed -e "$ERRLINE" "$d.log") || {
			echo "run $run, cut at $n (seed $KILL_SEED): output differs (< rsync, > oc-rsync)"
			return 1
		}
		codes="$codes $rc"
	done
	# most cuts come before the end: the failure must have been seen
	[[ "$codes" == *12* ]]
}

@test "kill: the rsync --daemon connection dies mid-pull, $KILL_RUNS times" {
	RANDOM=$((KILL_SEED + 4))
	start_daemon rd rsync --daemon
	pull_cut dpull "$PORT" "$PORT"
	alive "$(pgrep -P "$(cat "$T/rd.pid")")"
}

@test "kill: the oc-rsyncd connection dies mid-pull, $KILL_RUNS times" {
	local rport
	RANDOM=$((KILL_SEED + 5))
	start_daemon rd rsync --daemon
	rport=$PORT
	start_ocd ocd
	pull_cut ocpull "$rport" "$PORT"
	ocd_idle ocd "$PORT"
	ocd_sessions ocd
}

# push_kill CLIENT...: CLIENT pushes $T/new into module "dst" of oc-rsyncd
# and is SIGKILLed after a random delay; the daemon's session must end, its
# temp file gone, no torn file left, and the daemon must stay up
push_kill() {
	local run ms rc d="$T/dd" done=0 t0 span counts
	start_ocd ocd
	# the kills spread over 1.2 times what one whole push takes here (a
	# sanitizer build is several times slower), 50 ms at least
	rm -rf "$d"
	cp -a "$T/old" "$d"
	t0=$(date +%s%N)
	"$@" -a "$T/new/" "rsync://127.0.0.1:$PORT/dst/" >"$T/push.log" 2>&1 || {
		echo "a push that nobody kills failed:"
		cat "$T/push.log"
		return 1
	}
	span=$((($(date +%s%N) - t0) * 12 / 10000000))
	[ "$span" -ge 50 ] || span=50
	[ "$span" -le 999 ] || span=999
	for run in $(seq "$KILL_RUNS"); do
		rm -rf "$d"
		cp -a "$T/old" "$d"
		# squared: half of the kills in the first quarter, where a
		# client that sends fast is still sending
		ms=$((RANDOM % span))
		ms=$((1 + ms * ms / span))
		timeout -s KILL "0.$(printf %03d "$ms")" env OC_RSYNC_ASYNC=$((run % 2)) \
			"$@" -a "$T/new/" "rsync://127.0.0.1:$PORT/dst/" >"$T/push.log" 2>&1 && rc=0 || rc=$?
		case $rc in
		0) done=$((done + 1)) ;;
		137) ;; # killed; a client that finished first exits 0
		*) echo "run $run, killed after ${ms} ms: exit $rc"; cat "$T/push.log"; return 1 ;;
		esac
		ocd_idle ocd "$PORT" || { echo "run $run, killed after ${ms} ms"; return 1; }
		check_dest "$d" no || { echo "run $run, killed after ${ms} ms"; cat "$T/push.log"; return 1; }
	done
	counts=$(ocd_sessions ocd) || { echo "$counts"; return 1; }
	set -- $counts
	echo "# kills within $span ms: $done of $KILL_RUNS pushes finished first;" \
		"sessions: $1 started, $2 completed, $3 failed" >&3
	# every client that finished had a session that did, and the one
	# that nobody killed
	[ "$2" -ge $((done + 1)) ]
}

@test "kill: an rsync client dies mid-push to oc-rsyncd, $KILL_RUNS times" {
	RANDOM=$((KILL_SEED + 6))
	push_kill rsync
}

@test "kill: an oc-rsync client dies mid-push to oc-rsyncd, $KILL_RUNS times" {
	RANDOM=$((KILL_SEED + 7))
	push_kill "$OC"
}

COUNT='s/([0-9,]* bytes received so far)/(N bytes received so far)/'

@test "kill: the connection to oc-rsyncd dies mid-push, $KILL_RUNS times" {
	local run n rc rrc ref rport total=$((12 * 100000 + 4000)) d="$T/dd" codes=""
	RANDOM=$((KILL_SEED + 8))
	start_daemon rd rsync --daemon
	rport=$PORT
	start_ocd ocd
	for run in $(seq "$KILL_RUNS"); do
		rm -rf "$d" "$d.ref"
		cp -a "$T/old" "$d"
		cp -a "$T/old" "$d.ref"
		n=$(((RANDOM * 32768 + RANDOM) % total))
		RSYNC_CONNECT_PROG="$PY $KILLTCP $rport in:$n" \
			timeout 60 rsync --no-i-r -a "$T/new/" rsync://h/dst/ >"$T/cpush.ref.log" 2>&1 &
		ref=$!
		RSYNC_CONNECT_PROG="$PY $KILLTCP $PORT in:$n" OC_RSYNC_ASYNC=$((run % 2)) \
			timeout 60 "$OC" -a "$T/new/" rsync://h/dst/ >"$T/cpush.log" 2>&1 && rc=0 || rc=$?
		wait $ref && rrc=0 || rrc=$?
		ocd_idle ocd "$PORT" || { echo "run $run, cut at $n"; return 1; }
		check_dest "$d" no || { echo "run $run, cut at $n (seed $KILL_SEED)"; cat "$T/cpush.log"; return 1; }
		[ "$rc" = "$rrc" ] || {
			echo "run $run, cut at $n (seed $KILL_SEED): oc-rsync $rc, rsync $rrc"
			show_logs "$T/cpush.ref" "$T/cpush"
			return 1
		}
		# how much of the daemon's output came before the cut is timing
		diff <(sed -e "$ERRLINE" -e "$COUNT" "$T/cpush.ref.log") \
			<(sed -e "$ERRLINE" -e "$COUNT" "$T/cpush.log") || {
			echo "run $run, cut at $n (seed $KILL_SEED): output differs (< rsync, > oc-rsync)"
			return 1
		}
		codes="$codes $rc"
	done
	ocd_sessions ocd
	[[ "$codes" == *12* ]]
}
