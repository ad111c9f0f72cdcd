#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# oc-rsync as the client of a real `rsync --daemon` (rsync 3.5.0) on
# 127.0.0.1, against rsync as the client of the same daemon: module
# listings, pulls and pushes over TCP, authentication, the daemon's @ERROR
# refusals, RSYNC_CONNECT_PROG, and the daemon reached over a remote shell
# (`-e lrsh host::module`). Each case runs the same command with both
# clients and compares the outputs (the timing-dependent lines of common's
# MASK left out), the exit codes and, for transfers, the trees (treesig.sh).
# The references run with --no-i-r, as run_pair's do.
#
# The daemon is started once per file on a free port and stops by itself
# (timeout) if teardown_file does not run. Its modules:
#   rw   read-write, listed          ro   the sample tree, read-only
#   sec  read-write, auth users = alice (secrets file, mode 600)
#   hid  the sample tree, not listed (list = false)
#   chr  (as root) chrooted, uid nobody, gid nogroup, read-write
# and a two-line motd.

load common

setup_file() {
	common_setup_file
	export D="$T/d"
	export TAP="$BATS_TEST_DIRNAME/wiretap.py"
	export FAKED="$BATS_TEST_DIRNAME/fakedaemon.py"
	export PROXY="$BATS_TEST_DIRNAME/httpproxy.py"
	mkdir -p "$D/rw" "$D/sec"
	mk_tree "$T/src"
	printf 'Welcome to the test daemon\nsecond motd line\n' >"$D/motd"
	printf 'alice:s3cret\n' >"$D/secrets"
	printf 's3cret\n' >"$D/pw"
	printf 'wrong\n' >"$D/badpw"
	printf 's3cret\n' >"$D/openpw"
	chmod 600 "$D/secrets" "$D/pw" "$D/badpw"
	chmod 644 "$D/openpw"
	# As root the daemon would become nobody; others cannot change ids at all.
	local ids=""
	[ "$(id -u)" = 0 ] && ids=$'uid = 0\ngid = 0'
	cat >"$D/rsyncd.conf" <<-EOF
		$ids
		use chroot = false
		munge symlinks = false
		motd file = $D/motd
		log file = $D/rsyncd.log
		[rw]
		 path = $D/rw
		 comment = read-write module
		 read only = false
		[ro]
		 path = $T/src
		 comment = the sample tree
		[sec]
		 path = $D/sec
		 comment = needs a password
		 read only = false
		 auth users = alice
		 secrets file = $D/secrets
		[hid]
		 path = $T/src
		 list = false
	EOF
	# as root: a chrooted module whose sessions run as nobody:nogroup
	if [ "$(id -u)" = 0 ]; then
		mkdir -p "$D/chr/pub/sub" "$D/chr/locked" "$D/chr/up"
		printf 'pub\n' >"$D/chr/pub/a"
		printf 'pub sub\n' >"$D/chr/pub/sub/b"
		printf 'only root\n' >"$D/chr/secret"
		chmod 600 "$D/chr/secret"
		chmod 755 "$D/chr/locked"
		ln -s /etc/hostname "$D/chr/absf"
		find "$D/chr" -exec touch -h -d '2024-03-04 05:06:07' {} +
		chown nobody:nogroup "$D/chr/up"
		printf '[chr]\n path = %s\n use chroot = yes\n uid = nobody\n gid = nogroup\n read only = false\n' \
			"$D/chr" >>"$D/rsyncd.conf"
	fi
	export DPORT
	DPORT=$(free_port)
	timeout -k 10 900 rsync --daemon --no-detach --address=127.0.0.1 --port="$DPORT" \
		--config="$D/rsyncd.conf" >"$D/daemon.out" 2>&1 3>&- &
	echo $! >"$D/daemon.pid"
	wait_port "$DPORT"
	export H="127.0.0.1"
	# The daemon over a remote shell: lrsh runs this with --server --daemon .
	export DRSH="rsync --config=$D/rsyncd.conf"
}

teardown_file() {
	stop_servers "$D/daemon.pid" "$D/daemon6.pid" "$D/proxy.pid" "$D/proxyd.pid"
}

# dpair NAME ARG...: the command with oc-rsync (OC_RSYNC_ASYNC in $MODES,
# default "1 0") and with rsync --no-i-r. "_DST_" in an argument becomes
# "oc.NAME.MODE" or "ref.NAME.MODE": a fresh destination below $DROOT
# ($T by default; "$D/rw" for a push into the rw module), whose trees are
# compared when DROOT is set or TREES=1. FILTER (a sed script) is applied
# to both outputs; WANT, when set, is the exit code rsync must give, so
# that a broken setup cannot pass by both clients failing alike.
dpair() {
	local name=$1 mode oc ref orc rrc bad=0 root=${DROOT:-$T}
	shift
	for mode in ${MODES:-1 0}; do
		oc="oc.$name.$mode"
		ref="ref.$name.$mode"
		rm -rf "${root:?}/$oc" "${root:?}/$ref"
		OC_RSYNC_ASYNC=$mode timeout 120 "$OC" "${@//_DST_/$oc}" >"$T/$oc.log" 2>&1 &&
			orc=0 || orc=$?
		timeout 120 rsync --no-i-r "${@//_DST_/$ref}" >"$T/$ref.log" 2>&1 && rrc=0 || rrc=$?
		if [ -n "${WANT:-}" ] && [ "$rrc" != "$WANT" ]; then
			echo "setup: rsync gave exit code $rrc, not $WANT: $*"
			cat "$T/$ref.log"
			return 1
		fi
		if [ -n "${DROOT:-}" ] || [ -n "${TREES:-}" ]; then
			diff <("$SIG" "$root/$ref") <("$SIG" "$root/$oc") || {
				echo "tree differs (< rsync, > oc-rsync): async=$mode: $*"
				show_logs "$T/$ref" "$T/$oc"
				bad=1
				continue
			}
		fi
		diff <(grep -v "$MASK" "$T/$ref.log" | sed -e "s|$ref|DEST|g" -e "$ERRLINE" -e "${FILTER:-}") \
			<(grep -v "$MASK" "$T/$oc.log" | sed -e "s|$oc|DEST|g" -e "$ERRLINE" -e "${FILTER:-}") || {
			echo "output differs (< rsync, > oc-rsync): async=$mode: $*"
			bad=1
			continue
		}
		[ "$orc" = "$rrc" ] || {
			echo "exit code differs: async=$mode: $*: rsync $rrc, oc-rsync $orc"
			show_logs "$T/$ref" "$T/$oc"
			bad=1
		}
	done
	return $bad
}

# --- listings ----------------------------------------------------------------

@test "daemon client: module listing, host:: and rsync://" {
	WANT=0 MODES=1 dpair list1 --port="$DPORT" "$H::"
	WANT=0 MODES=1 dpair list2 "rsync://$H:$DPORT/"
	WANT=0 MODES=1 dpair list3 --port="$DPORT" "rsync://$H/"
	WANT=0 MODES=1 dpair list4 --no-motd "rsync://$H:$DPORT"
	# the listing text itself: rsync's, not just equal to it
	grep -q '^ro *	the sample tree$' "$T/oc.list1.1.log"
	! grep -q '^hid' "$T/oc.list1.1.log"
	! grep -q 'Welcome' "$T/oc.list4.1.log"
}

# --- transfers over TCP --------------------------------------------------------

@test "daemon client: a chrooted module whose sessions run as nobody (root only)" {
	[ "$(id -u)" = 0 ] || skip "the daemon changes ids only as root"
	local u="rsync://$H:$DPORT/chr" ids
	ids="$(id -u nobody):$(getent group nogroup | cut -d: -f3)"
	WANT=0 TREES=1 dpair chrpull -ai "$u/pub/" "$T/_DST_/"
	WANT=0 DROOT="$D/chr/up" dpair chrpush -ai "$T/src/deep" "$T/src/small" "$u/up/_DST_/"
	[ "$(stat -c %u:%g "$D/chr/up/oc.chrpush.1/small")" = "$ids" ]
	# what nobody may not do; mkstemp's random part masked
	WANT=23 FILTER='s/\(\.[a-z]*\.\)[A-Za-z0-9]\{6\}"/\1XXXXXX"/' \
		dpair chrlocked -a "$T/src/small" "$u/locked/"
	[ ! -e "$D/chr/locked/small" ]
	WANT=23 dpair chrsecret -a "$u/secret" "$T/_DST_"
	# an absolute link has no referent inside the chroot (whether the client
	# sees the daemon's socket reset after the error depends on timing)
	WANT=23 MODES=1 FILTER='/read error: Connection reset by peer/d' dpair chrabsf -aL "$u/absf" "$T/_DST_"
}

@test "daemon client: pull -a of the sample tree, with -i and --stats" {
	WANT=0 TREES=1 dpair pull -ai --stats --port="$DPORT" "$H::ro/" "$T/_DST_/"
	# the connection and the daemon arguments (-vv's debug lines)
	WANT=0 MODES=1 dpair pulldebug -a --debug=cmd,connect --port="$DPORT" "$H::ro/sub" "$T/_DST_/"
}

@test "daemon client: pull from an unlisted module, rsync:// with a port" {
	WANT=0 TREES=1 MODES=1 dpair pullurl -a "rsync://$H:$DPORT/hid/sub" "$T/_DST_/"
}

@test "daemon client: pull of several sources (host::a ::b)" {
	WANT=0 TREES=1 MODES=1 dpair pullmulti -a --port="$DPORT" "$H::ro/small" "::ro/deep" \
		"$H::ro/with space" "$T/_DST_/"
}

@test "daemon client: --files-from with the list here, pull and push" {
	printf 'small\ndeep/a/b/c/d/e/f/leaf\nwith space/file name\n' >"$T/ff.list"
	WANT=0 TREES=1 dpair ffpull -ai --files-from="$T/ff.list" --port="$DPORT" "$H::ro/" \
		"$T/_DST_/"
	WANT=0 DROOT="$D/rw" MODES=1 dpair ffpush -ai --files-from="$T/ff.list" "$T/src/" \
		"rsync://$H:$DPORT/rw/_DST_/"
	# a name the daemon cannot find: code 23
	printf 'small\nnosuch\n' >"$T/ff2.list"
	WANT=23 MODES=1 dpair ffmissing -a --files-from="$T/ff2.list" --port="$DPORT" "$H::ro/" \
		"$T/_DST_/"
	# below a module's subdirectory rsync 3.5.0's daemon looks the names up
	# from the module root ("file has vanished"): code 24, only a warning
	printf 'big\n' >"$T/ff3.list"
	WANT=24 MODES=1 dpair ffvanish -a --files-from="$T/ff3.list" --port="$DPORT" "$H::ro/sub/" \
		"$T/_DST_/"
	grep -q '^rsync warning: some files vanished' "$T/ref.ffvanish.1.log"
}

@test "daemon client: push -a into a read-write module" {
	WANT=0 DROOT="$D/rw" dpair push -ai --stats "$T/src/" "rsync://$H:$DPORT/rw/_DST_/"
}

@test "daemon client: a delta update pushed and pulled (Literal/Matched data compared)" {
	local side mode
	rm -rf "$T/src2"
	cp -a "$T/src" "$T/src2"
	for mode in 1 0; do
		for side in oc ref; do
			rm -rf "$D/rw/$side.delta.$mode" "$T/$side.delta.$mode"
			rsync -a "$T/src2/" "$D/rw/$side.delta.$mode/"
			rsync -a "$T/src2/" "$T/$side.delta.$mode/"
		done
	done
	# 4 KiB rewritten inside the 16 MiB file, one small file edited
	printf 'edited\n' >>"$T/src2/mid"
	dd if=/dev/urandom of="$T/src2/sub/big" bs=4096 seek=1000 count=1 conv=notrunc 2>/dev/null
	touch -d '2025-01-01 00:00:00' "$T/src2/mid" "$T/src2/sub/big"
	# no rm: the destinations hold the old tree
	run_delta() {
		local name=$1 mode oc ref orc rrc
		shift
		for mode in 1 0; do
			oc="oc.delta.$mode"
			ref="ref.delta.$mode"
			OC_RSYNC_ASYNC=$mode "$OC" "${@//_DST_/$oc}" >"$T/$oc.$name.log" 2>&1 && orc=0 || orc=$?
			rsync --no-i-r "${@//_DST_/$ref}" >"$T/$ref.$name.log" 2>&1 && rrc=0 || rrc=$?
			[ "$rrc" = 0 ] || { echo "rsync: $rrc"; cat "$T/$ref.$name.log"; false; }
			[ "$orc" = 0 ] || { echo "oc-rsync: $orc"; cat "$T/$oc.$name.log"; false; }
			grep -q '^Matched data: [1-9]' "$T/$ref.$name.log"
			diff <(grep -v "$MASK" "$T/$ref.$name.log" | sed "s|$ref|DEST|g") \
				<(grep -v "$MASK" "$T/$oc.$name.log" | sed "s|$oc|DEST|g")
		done
	}
	run_delta push -ai --stats --no-W "$T/src2/" "rsync://$H:$DPORT/rw/_DST_/"
	for mode in 1 0; do
		diff <("$SIG" "$D/rw/ref.delta.$mode") <("$SIG" "$D/rw/oc.delta.$mode")
	done
	# the local copies get the edited tree, and are pulled back to the sample
	for mode in 1 0; do
		for side in oc ref; do
			rsync -a --delete "$T/src2/" "$T/$side.delta.$mode/"
		done
	done
	run_delta pull -ai --stats --no-W --port="$DPORT" "$H::ro/" "$T/_DST_/"
	for mode in 1 0; do
		diff <("$SIG" "$T/ref.delta.$mode") <("$SIG" "$T/oc.delta.$mode")
	done
}

# --- authentication ------------------------------------------------------------

@test "daemon client: auth with RSYNC_PASSWORD (push) and --password-file (pull)" {
	RSYNC_PASSWORD=s3cret WANT=0 DROOT="$D/sec" dpair authpush -a "$T/src/" \
		"alice@$H::sec/_DST_/" --port="$DPORT"
	WANT=0 TREES=1 MODES=1 dpair authpull -a --password-file="$D/pw" \
		"rsync://alice@$H:$DPORT/sec/oc.authpush.1/" "$T/_DST_/"
	# the user from $USER when the spec names none
	USER=alice RSYNC_PASSWORD=s3cret WANT=0 TREES=1 MODES=1 dpair authuser -a \
		"rsync://$H:$DPORT/sec/oc.authpush.1/sub/" "$T/_DST_/"
}

@test "daemon client: auth failure gives @ERROR and exit code 5" {
	WANT=5 MODES=1 dpair authbad -a --password-file="$D/badpw" "alice@$H::sec/" "$T/_DST_/" \
		--port="$DPORT"
	RSYNC_PASSWORD=s3cret WANT=5 MODES=1 dpair authuser2 -a "bob@$H::sec/" "$T/_DST_/" \
		--port="$DPORT"
	grep -q '^@ERROR: auth failed on module sec$' "$T/oc.authbad.1.log"
}

@test "daemon client: password file errors (other-accessible, missing, planted symlink)" {
	WANT=1 MODES=1 dpair pwopen -a --password-file="$D/openpw" "alice@$H::sec/" "$T/_DST_/" \
		--port="$DPORT"
	WANT=1 MODES=1 dpair pwmissing -a --password-file="$D/nonexistent" "alice@$H::sec/" \
		"$T/_DST_/" --port="$DPORT"
	# a symlink to it owned by someone else (root only: chown)
	if [ "$(id -u)" = 0 ]; then
		ln -sf pw "$D/pwlink"
		chown -h 65534 "$D/pwlink"
		WANT=1 MODES=1 dpair pwlink -a --password-file="$D/pwlink" "alice@$H::sec/" \
			"$T/_DST_/" --port="$DPORT"
	fi
}

# The answer to a fixed challenge, for every digest a daemon may offer:
# fakedaemon.py records the lines each client sends, byte for byte.
@test "daemon client: auth answers for each digest, byte for byte" {
	local g
	for g in "32.0 sha512 sha256 sha1 md5 md4" "32.0 sha256" "32.0 sha1 md4" "32.0 md5" \
		"32.0 md4" "31.0" "30.0" "32.0 md5 sha1" "32.0 bogus sha1"; do
		rm -f "$T/fd.oc" "$T/fd.ref"
		RSYNC_PASSWORD=pw RSYNC_CONNECT_PROG="$PY $FAKED '$g' $T/fd.oc" \
			"$OC" -a "alice@x::mod/" "$T/fdo/" >"$T/fd.oc.log" 2>&1 && orc=0 || orc=$?
		RSYNC_PASSWORD=pw RSYNC_CONNECT_PROG="$PY $FAKED '$g' $T/fd.ref" \
			rsync -a "alice@x::mod/" "$T/fdr/" >"$T/fd.ref.log" 2>&1 && rrc=0 || rrc=$?
		[ "$rrc" = 5 ] || { echo "setup: rsync gave $rrc for '$g'"; cat "$T/fd.ref.log"; false; }
		[ "$orc" = "$rrc" ] || { echo "'$g': exit $orc, rsync $rrc"; cat "$T/fd.oc.log"; false; }
		# the fake daemon may still be writing its record when the client is done
		for _ in $(seq 50); do [ -s "$T/fd.ref" ] && [ -s "$T/fd.oc" ] && break; sleep 0.1; done
		cmp "$T/fd.ref" "$T/fd.oc" || { echo "'$g':"; cat "$T/fd.ref" "$T/fd.oc"; false; }
		diff <(sed -e "$ERRLINE" "$T/fd.ref.log") <(sed -e "$ERRLINE" "$T/fd.oc.log")
	done
}

@test "daemon client: a server greeting without the digest list (protocol 32)" {
	local orc rrc
	RSYNC_CONNECT_PROG="$PY $FAKED '32.0' $T/fd.oc" "$OC" -a "x::mod/" "$T/fdo/" \
		>"$T/fdl.oc.log" 2>&1 && orc=0 || orc=$?
	RSYNC_CONNECT_PROG="$PY $FAKED '32.0' $T/fd.ref" rsync -a "x::mod/" "$T/fdr/" \
		>"$T/fdl.ref.log" 2>&1 && rrc=0 || rrc=$?
	[ "$rrc" = 5 ] && [ "$orc" = 5 ]
	diff <(sed -e "$ERRLINE" "$T/fdl.ref.log") <(sed -e "$ERRLINE" "$T/fdl.oc.log")
}

# --- refusals --------------------------------------------------------------------

@test "daemon client: unknown module, and a path with no module" {
	WANT=5 MODES=1 dpair nomod -a --port="$DPORT" "$H::nosuch/" "$T/_DST_/"
	grep -q "^@ERROR: Unknown module 'nosuch'$" "$T/oc.nomod.1.log"
	WANT=5 MODES=1 dpair abspath -a --port="$DPORT" "$H::/etc/" "$T/_DST_/"
	WANT=5 MODES=1 dpair nomodrsh -a -e "$RSH" --rsync-path="$DRSH" "$H::nosuch/" "$T/_DST_/"
	# The client stops the far rsync with SIGUSR1 before any greeting; what
	# that rsync says then depends on how far it got (in rsync's runs too),
	# and its "received SIGUSR1 (code 19)" may come before the client's
	# lines: only the client's own two lines (@ERROR, code 5) are compared.
	FILTER='/^@ERROR\|(code 5)/!d' WANT=5 MODES=1 dpair abspathrsh -a -e "$RSH" \
		--rsync-path="$DRSH" "$H::/etc/" "$T/_DST_/"
}

# rsync's sender also reports the reset of the connection the daemon closed
# on it ("read error: Connection reset by peer"); oc-rsync stops reading
# at the daemon's MSG_ERROR_EXIT, so that one line is left out.
@test "daemon client: push to a read-only module" {
	FILTER='/read error: Connection reset by peer/d' WANT=1 MODES=1 \
		dpair rofail -a "$T/src/" "$H::ro/" --port="$DPORT"
	grep -q '^ERROR: module is read only$' "$T/oc.rofail.1.log"
}

# The daemon refuses the arguments after the protocol set-up (here a
# --files-from list it cannot open): its message, then it closes with the
# client's filter list unread, which the client sees as a reset (code 10).
@test "daemon client: the daemon refuses the arguments (remote --files-from missing)" {
	WANT=10 MODES="1 0" dpair ffmissing -a --files-from=:nosuch --port="$DPORT" "$H::ro/" \
		"$T/_DST_/"
	grep -q 'failed to open files-from file nosuch' "$T/oc.ffmissing.1.log"
}

@test "daemon client: nothing listening (exit 10), both ends remote, bad host for %H, daemon-only options" {
	local p
	p=$(free_port)
	WANT=10 MODES=1 dpair refused -a --port="$p" "$H::ro/" "$T/_DST_/"
	WANT=1 MODES=1 dpair bothremote -a --port="$DPORT" "$H::ro/" "$H::rw/x/"
	RSYNC_CONNECT_PROG="echo %H" WANT=10 MODES=1 dpair unsafehost -a "~x::ro/" "$T/_DST_/"
	WANT=1 MODES=1 dpair contimeout --contimeout=5 -e "$RSH" --rsync-path="$DRSH" "$H::"
	# the daemon-only options, given to a remote-shell and a local transfer
	WANT=1 MODES=1 dpair pwrsh --password-file="$D/pw" -a -e "$RSH" "$T/src/small" "h:$T/_DST_"
	WANT=1 MODES=1 dpair ctlocal --contimeout=5 -a "$T/src/small" "$T/_DST_"
}

# --- other transports --------------------------------------------------------------

@test "daemon client: RSYNC_CONNECT_PROG with %H" {
	# The program checks the host it was given, quoted, then is the daemon.
	RSYNC_CONNECT_PROG="test %H = localhost && exec $DRSH --server --daemon ." \
		WANT=0 TREES=1 dpair connprog -ai "localhost::ro/" "$T/_DST_/"
	RSYNC_CONNECT_PROG="test %H = localhost && exec $DRSH --server --daemon ." \
		WANT=0 MODES=1 dpair connproglist "localhost::"
	# a host that is not the one expected: the program reads the greeting
	# (so that its exit does not reset the connection before or after the
	# client's write, a race) and fails; the client sees no greeting
	RSYNC_CONNECT_PROG="read g; test %H = localhost && exec $DRSH --server --daemon ." \
		WANT=5 MODES=1 dpair connprogfail -a "otherhost::ro/" "$T/_DST_/"
}

@test "daemon client: daemon over a remote shell (-e lrsh host::module), pull, push, listing" {
	WANT=0 TREES=1 dpair rshpull -ai -e "$RSH" --rsync-path="$DRSH" "$H::ro/" "$T/_DST_/"
	WANT=0 DROOT="$D/rw" dpair rshpush -ai -e "$RSH" --rsync-path="$DRSH" "$T/src/" \
		"bob@$H::rw/_DST_/"
	WANT=0 MODES=1 dpair rshlist -e "$RSH" --rsync-path="$DRSH" "$H::"
	RSYNC_PASSWORD=s3cret WANT=0 DROOT="$D/sec" MODES=1 dpair rshauth -a -e "$RSH" \
		--rsync-path="$DRSH" "$T/src/small" "alice@$H::sec/_DST_/"
	# the remote shell's command line and the daemon arguments (-vv's debug lines)
	WANT=0 MODES=1 dpair rshcmd --debug=cmd -e "$RSH" --rsync-path="$DRSH" "$H::ro/small" "$T/_DST_"
}

# The text phase on the wire: greeting, module, auth answer and the server
# arguments, identical to rsync's; the answer is checked against the
# daemon's (random) challenge, the one line that differs between two runs.
@test "daemon client: the text phase byte for byte (wiretap over the remote shell)" {
	mkdir -p "$T/cap"
	rm -rf "$D/sec/tapo" "$D/sec/tapr"
	RSYNC_PASSWORD=s3cret "$OC" -a -e "$TAP $T/cap/oc" --rsync-path="$DRSH" "$T/src/" \
		"alice@$H::sec/tap/" >/dev/null
	RSYNC_PASSWORD=s3cret rsync --no-i-r -a -e "$TAP $T/cap/ref" --rsync-path="$DRSH" \
		"$T/src/" "alice@$H::sec/tap/" >/dev/null
	"$PY" - "$T/cap/oc" "$T/cap/ref" <<-'EOF'
		import base64, hashlib, sys

		def text(prefix):
		    c2s = open(prefix + ".c2s", "rb").read()
		    s2c = open(prefix + ".s2c", "rb").read()
		    end = c2s.index(b"\0\0") + 2
		    lines = c2s[:end].split(b"\n")
		    chal = next(l for l in s2c.split(b"\n") if l.startswith(b"@RSYNCD: AUTHREQD "))[18:]
		    want = base64.b64encode(hashlib.sha512(b"s3cret" + chal).digest()).rstrip(b"=")
		    assert lines[2] == b"alice " + want, (prefix, lines[2], want)
		    lines[2] = b"alice HASH"
		    return b"\n".join(lines)

		oc, ref = text(sys.argv[1]), text(sys.argv[2])
		if oc != ref:
		    print("oc-rsync:", oc)
		    print("rsync:   ", ref)
		    sys.exit(1)
	EOF
}

@test "daemon client: IPv6 literal in rsync://[::1]:PORT/" {
	local p6
	"$PY" -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null ||
		skip "no IPv6 loopback"
	p6=$(free_port)
	timeout -k 10 300 rsync --daemon --no-detach --address=::1 --port="$p6" \
		--config="$D/rsyncd.conf" >"$D/daemon6.out" 2>&1 3>&- &
	echo $! >"$D/daemon6.pid"
	wait_port "$p6" ::1
	WANT=0 MODES=1 dpair v6list "rsync://[::1]:$p6/"
	WANT=0 TREES=1 MODES=1 dpair v6pull -a "rsync://[::1]:$p6/ro/deep" "$T/_DST_/"
	# -6 / -4: the family asked for, or getaddrinfo's refusal
	WANT=0 MODES=1 dpair v6only -6 --port="$p6" "[::1]::"
	WANT=10 MODES=1 dpair v4only -4 --port="$p6" "[::1]::"
	WANT=10 MODES=1 dpair v6no -6 --port="$DPORT" "$H::"
	stop_servers "$D/daemon6.pid"
	rm -f "$D/daemon6.pid"
}

# Start httpproxy.py (NAME: its files in $D, MODE: "" or deny); sets $PPORT.
start_proxy() {
	rm -f "$D/$1.port" "$D/$1.log"
	timeout -k 10 300 "$PY" "$PROXY" "$D/$1.port" "$D/$1.log" $2 >/dev/null 2>&1 3>&- &
	echo $! >"$D/$1.pid"
	for _ in $(seq 100); do
		[ -s "$D/$1.port" ] && break
		sleep 0.1
	done
	PPORT=$(cat "$D/$1.port")
}

@test "daemon client: RSYNC_PROXY (HTTP CONNECT), with and without a user" {
	start_proxy proxy ""
	RSYNC_PROXY="127.0.0.1:$PPORT" WANT=0 MODES=1 dpair proxylist --debug=connect \
		--port="$DPORT" "$H::"
	RSYNC_PROXY="pu:pp@127.0.0.1:$PPORT" WANT=0 TREES=1 MODES=1 dpair proxypull -ai \
		"rsync://$H:$DPORT/ro/sub/" "$T/_DST_/"
	# the requests (oc-rsync's then rsync's, for each case) are the same lines
	[ "$(wc -l <"$D/proxy.log")" = 6 ]
	diff <(sed -n 1p "$D/proxy.log") <(sed -n 2p "$D/proxy.log")
	diff <(sed -n 3,4p "$D/proxy.log") <(sed -n 5,6p "$D/proxy.log")
	grep -qx "CONNECT $H:$DPORT HTTP/1.0" "$D/proxy.log"
	grep -qx "Proxy-Authorization: Basic cHU6cHA=" "$D/proxy.log"
	stop_servers "$D/proxy.pid"
	rm -f "$D/proxy.pid"
}

@test "daemon client: RSYNC_PROXY errors (proxy refuses, bad spec)" {
	start_proxy proxyd deny
	RSYNC_PROXY="127.0.0.1:$PPORT" WANT=10 MODES=1 dpair proxydeny --port="$DPORT" "$H::"
	grep -q '^bad response from proxy -- HTTP/1.0 403 Forbidden$' "$T/oc.proxydeny.1.log"
	RSYNC_PROXY="127.0.0.1" WANT=10 MODES=1 dpair proxyspec --port="$DPORT" "$H::"
	RSYNC_PROXY="user@127.0.0.1:$PPORT" WANT=10 MODES=1 dpair proxyspec2 --port="$DPORT" "$H::"
	stop_servers "$D/proxyd.pid"
	rm -f "$D/proxyd.pid"
}
