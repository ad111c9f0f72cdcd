# SPDX-License-Identifier: GPL-3.0-or-later
# Helpers shared by the interop suites; `load common` from a .bats file.
#
#   common_setup_file     exports OC, RSH, SIG, T and PY (call it in setup_file)
#   mk_tree DIR           the full sample tree (every file type, a 16 MiB file)
#   run_pair OPTS...      the same command with oc-rsync and with rsync, then
#                         compares the trees, the output and the exit codes
#
# run_pair reads these variables:
#   SRC    source tree (default $T/src)
#   DIRS   directions to run (default "push pull rpush rpull")
#   MODES  OC_RSYNC_ASYNC values (default "1 0")
#   PREP   a function run on each destination before the transfer
#   ORDER  a filter for both outputs before they are compared (e.g. sort)
#   TREE_FILTER  a filter for both tree signatures before they are compared
#   DSUB   a path below each destination to name as the destination
#          (e.g. "a/b/" with --mkpath); the trees compared stay the same
#   RUN_TIMEOUT  seconds one transfer may take (default 120): a hang fails
#          the case instead of the whole run
#
# For suites that start servers:
#   free_port             a free TCP port on 127.0.0.1
#   wait_port PORT [HOST] wait (bounded) until something accepts there
#   SERVER_ENV            env words for our servers (no leak check at exit)
#   stop_servers PIDFILE...  stop servers started as `timeout N server &`
#                         (each file holds the timeout's pid); a server still
#                         there after 10 s is shown with its stack, killed,
#                         and the call fails

common_setup_file() {
	export OC="$BATS_TEST_DIRNAME/../../${OC_BUILD:-build}/bin/oc-rsync"
	# Debian's python3 directly: a version manager's shim on PATH can
	# cost more than the helper it starts.
	PY=/usr/bin/python3
	[ -x "$PY" ] || PY=python3
	export PY
	export RSH="$BATS_TEST_DIRNAME/lrsh"
	export SIG="$BATS_TEST_DIRNAME/treesig.sh"
	export T="$BATS_FILE_TMPDIR"
}

mk_tree() {
	local d=$1
	mkdir -p "$d/empty" "$d/deep/a/b/c/d/e/f" "$d/sub" "$d/with space" "$d/ünï"
	: >"$d/zero"
	printf 'hello\n' >"$d/small"
	head -c 70000 /dev/urandom >"$d/mid"
	head -c $((16 << 20)) /dev/urandom >"$d/sub/big"
	printf 'deep\n' >"$d/deep/a/b/c/d/e/f/leaf"
	printf 'x\n' >"$d/with space/file name"
	printf 'u\n' >"$d/ünï/fïlé"
	ln -s small "$d/rel_link"
	ln -s /etc/hostname "$d/abs_link"
	ln -s nowhere "$d/dangling"
	ln "$d/small" "$d/hard1"
	ln "$d/small" "$d/sub/hard2"
	mkfifo "$d/fifo"
	chmod 600 "$d/mid"
	chmod 751 "$d/sub"
	chmod 4755 "$d/zero" 2>/dev/null || true
	if [ "$(id -u)" = 0 ]; then
		chown 1234:5678 "$d/mid"
		chown -h 4321:8765 "$d/rel_link"
	fi
	find "$d" -mindepth 1 -exec touch -h -d '2024-03-04 05:06:07.123456789' {} +
	touch -d '2023-01-02 03:04:05.987654321' "$d/sub/big"
}

# Lines that depend on timing: byte counts include multiplex frame headers,
# and where frames are cut depends on when each side flushes, in rsync too.
free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
	"$PY" - "$1" "${2:-127.0.0.1}" <<-'EOF'
		import socket, sys, time
		for _ in range(100):
		    try:
		        socket.create_connection((sys.argv[2], int(sys.argv[1])), 1).close()
		        sys.exit(0)
		    except OSError:
		        time.sleep(0.1)
		sys.exit(1)
	EOF
}

# alive PID: the process exists and is not a zombie.
alive() {
	local st
	st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# stop_pids PID...: SIGTERM, then up to 10 s for each to go. One that
# ignores it is a bug: its stack goes to the TAP output, SIGKILL ends it, and
# the call fails, so a stuck server shows up as a failure instead of a hang.
stop_pids() {
	local p rc=0
	kill "$@" 2>/dev/null
	for _ in $(seq 100); do
		for p; do alive "$p" && break; p=; done
		[ -z "$p" ] && return 0
		sleep 0.1
	done
	for p; do
		alive "$p" || continue
		echo "# pid $p ($(cat "/proc/$p/comm" 2>/dev/null)) ignored SIGTERM for 10 s" >&3
		if command -v gdb >/dev/null; then
			gdb -p "$p" -batch -ex 'thread apply all bt' 2>&1 | sed 's/^/#   /' >&3
		fi
		kill -9 "$p" 2>/dev/null
		rc=1
	done
	return $rc
}

stop_servers() {
	local f t k pids=()
	for f; do
		[ -f "$f" ] || continue
		t=$(cat "$f")
		# the server is the timeout's child; its children go too
		for k in $(pgrep -P "$t"); do
			pids+=($(pgrep -P "$k" || true) "$k")
		done
		pids+=("$t")
	done
	[ ${#pids[@]} -eq 0 ] || stop_pids "${pids[@]}"
}

# For our own servers under timeout(1): no leak check at exit. timeout
# sends SIGCONT after the signal it forwards and waits for its child's
# stops; a sanitizer build's leak check at exit ptrace-stops the process,
# and the two together left an ASan oc-rsyncd spinning forever (its LSan
# tracer waiting for a stop that never came). Sessions end in _exit()
# and are not leak-checked anyway; unit and stress tests are.
export SERVER_ENV="ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

MASK='^sent \|^total size\|^Total bytes \|^File list generation time\|^File list transfer time'

show_logs() {
	echo "--- rsync said:"
	cat "$1.log"
	echo "--- oc-rsync said:"
	cat "$2.log"
}

# Where messages may differ: our program name, and the tail of the closing
# "error:" line (" at FILE(LINE) [role=VERSION]"), which names our own
# source file and version.
ERRLINE='s/\boc-rsync\b/rsync/g; s/ at [^ ]*([0-9]*) \[[^]]*\]$//'

# run_pair OPTS...: oc-rsync against rsync in each of $DIRS and $MODES; a
# difference is reported for every run it shows in, then the call fails.
# push and pull run oc-rsync as the client with `rsync --server` on the far
# side; rpush and rpull run an rsync client with oc-rsync as the server.
# The reference runs with --no-i-r because oc-rsync has no incremental
# recursion, and rsync prints and orders some lines differently with it.
run_pair() {
	local mode dir out ref src=${SRC:-$T/src} orc rrc bad=0 tmo=${RUN_TIMEOUT:-120}
	# A fixed checksum seed, unless the caller gives one (later, so it wins):
	# with rsync's random seed a short strong sum (2 bytes for a file under
	# about 500 KB) now and then passes a false block match, and that run
	# prints "failed verification" and redoes the file. rsync 3.5.0 does it
	# too (options.bats "a false block match"), but only one side of a pair
	# would, and the outputs would differ (CI on d61914b, text.txt).
	set -- "--checksum-seed=${PAIR_SEED:-1}" "$@"
	for mode in ${MODES:-1 0}; do
		for dir in ${DIRS:-push pull rpush rpull}; do
			out="$T/out.$dir.$mode"
			ref="$T/ref.$dir.$mode"
			rm -rf "$out" "$ref" "$out.log" "$ref.log"
			[ -n "${PREP:-}" ] && { $PREP "$out"; $PREP "$ref"; }
			case $dir in
			push)
				OC_RSYNC_ASYNC=$mode timeout "$tmo" "$OC" -e "$RSH" "$@" "$src/" "h:$out/${DSUB:-}" >"$out.log" 2>&1 &&
					orc=0 || orc=$?
				timeout "$tmo" rsync --no-i-r -e "$RSH" "$@" "$src/" "h:$ref/${DSUB:-}" >"$ref.log" 2>&1 &&
					rrc=0 || rrc=$? ;;
			pull)
				OC_RSYNC_ASYNC=$mode timeout "$tmo" "$OC" -e "$RSH" "$@" "h:$src/" "$out/${DSUB:-}" >"$out.log" 2>&1 &&
					orc=0 || orc=$?
				timeout "$tmo" rsync --no-i-r -e "$RSH" "$@" "h:$src/" "$ref/${DSUB:-}" >"$ref.log" 2>&1 &&
					rrc=0 || rrc=$? ;;
			rpush)
				timeout "$tmo" rsync -e "$RSH" --rsync-path="env OC_RSYNC_ASYNC=$mode $OC" \
					"$@" "$src/" "h:$out/${DSUB:-}" >"$out.log" 2>&1 &&
					orc=0 || orc=$?
				timeout "$tmo" rsync --no-i-r -e "$RSH" "$@" "$src/" "h:$ref/${DSUB:-}" >"$ref.log" 2>&1 &&
					rrc=0 || rrc=$? ;;
			rpull)
				timeout "$tmo" rsync -e "$RSH" --rsync-path="env OC_RSYNC_ASYNC=$mode $OC" \
					"$@" "h:$src/" "$out/${DSUB:-}" >"$out.log" 2>&1 &&
					orc=0 || orc=$?
				timeout "$tmo" rsync --no-i-r -e "$RSH" "$@" "h:$src/" "$ref/${DSUB:-}" >"$ref.log" 2>&1 &&
					rrc=0 || rrc=$? ;;
			esac
			diff <("$SIG" "$ref" | ${TREE_FILTER:-cat}) <("$SIG" "$out" | ${TREE_FILTER:-cat}) || {
				echo "tree differs (< rsync, > oc-rsync): $dir async=$mode opts: $*"
				show_logs "$ref" "$out"; bad=1; continue; }
			diff <(grep -v "$MASK" "$ref.log" | sed -e "s|$ref|DEST|" -e "$ERRLINE" | ${ORDER:-cat}) \
				<(grep -v "$MASK" "$out.log" | sed -e "s|$out|DEST|" -e "$ERRLINE" | ${ORDER:-cat}) || {
				echo "output differs (< rsync, > oc-rsync): $dir async=$mode opts: $*"
				bad=1; continue; }
			[ "$orc" = "$rrc" ] || {
				echo "exit code differs: $dir async=$mode opts: $*: rsync $rrc, oc-rsync $orc"
				show_logs "$ref" "$out"; bad=1; }
		done
	done
	return $bad
}
