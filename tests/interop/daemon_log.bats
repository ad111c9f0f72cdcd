#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# The daemon's log file (issue 6): `rsync --daemon` (3.5.0) and oc-rsyncd
# run with the same rsyncd.conf, each with its own "log file" (not
# --log-file: with it, upstream's session stops logging once it has parsed
# the client's options, which name no log file); every case runs
# the same rsync client commands against both and compares what the
# sessions logged: the module access and request lines, "building file
# list" / "receiving file list", "transfer logging" lines in the module's
# "log format" (send, recv, del.), errors, and "total size" of the closing
# line. Left out: the date and [pid] of every line, where an error line says
# it comes from (common's ERRLINE), the start-up lines and oc-rsyncd's own
# (its event loop, lookup helper and session processes), and the sent and
# received byte counts (they count the greeting differently). Both name the
# client in "connect from" ("reverse lookup" is on by default).
#
# Modules: m (read-write, transfer logging, default log format), f (the
# same with log format "%i %o %f %l"), q (no transfer logging), ro (read
# only), sec (auth users = alice, transfer logging).

load common

setup_file() {
	common_setup_file
	export OCD="$BATS_TEST_DIRNAME/../../${OC_BUILD:-build}/bin/oc-rsyncd"
	export D="$T/d"
	mkdir -p "$D"
	mk_tree "$T/src"
	printf 'alice:s3cret\n' >"$D/secrets"
	printf 's3cret\n' >"$D/pw"
	chmod 600 "$D/secrets" "$D/pw"
	local ids=""
	[ "$(id -u)" = 0 ] && ids=$'uid = 0\ngid = 0'
	cat >"$D/rsyncd.conf" <<-EOF
		$ids
		use chroot = false
		log file = $D/ROOT.log
		[m]
		 path = $D/ROOT/m
		 read only = false
		 transfer logging = yes
		[f]
		 path = $D/ROOT/f
		 read only = false
		 transfer logging = yes
		 log format = %i %o %f %l
		[q]
		 path = $D/ROOT/q
		 read only = false
		[ro]
		 path = $T/src
		 transfer logging = yes
		[sec]
		 path = $D/ROOT/sec
		 read only = false
		 transfer logging = yes
		 auth users = alice
		 secrets file = $D/secrets
		[weak]
		 path = $T/src
		 auth users = alice
		 secrets file = $D/secrets
		 auth digest = sha256
		[nodig]
		 path = $T/src
		 auth users = alice
		 secrets file = $D/secrets
		 auth digest = sha3
	EOF
	export RPORT OPORT
	RPORT=$(free_port)
	OPORT=$(free_port)
	# each daemon serves its own copy of the writable modules
	sed "s|$D/ROOT|$D/ref|" "$D/rsyncd.conf" >"$D/ref.conf"
	sed "s|$D/ROOT|$D/oc|" "$D/rsyncd.conf" >"$D/oc.conf"
	timeout -k 10 900 rsync --daemon --no-detach --address=127.0.0.1 --port="$RPORT" \
		--config="$D/ref.conf" >"$D/rsyncd.out" 2>&1 3>&- &
	echo $! >"$D/rsyncd.pid"
	env $SERVER_ENV timeout -k 10 900 "$OCD" --no-detach --address=127.0.0.1 --port="$OPORT" \
		--config="$D/oc.conf" >"$D/ocd.out" 2>&1 3>&- &
	echo $! >"$D/ocd.pid"
	wait_port "$RPORT"
	wait_port "$OPORT"
}

teardown_file() {
	stop_servers "$D/rsyncd.pid" "$D/ocd.pid"
}

setup() {
	local w
	for w in ref oc; do
		rm -rf "${D:?}/$w"
		mkdir -p "$D/$w/m/old/dir" "$D/$w/f" "$D/$w/q" "$D/$w/sec"
		printf 'stale\n' >"$D/$w/m/stale"
		printf 'o\n' >"$D/$w/m/old/dir/o"
	done
}

# until the daemon behind the pid file (the timeout's pid) has no session
# left, at most 5 s; oc-rsyncd's lookup helper (oc-rsyncd-names) is a child
# of the daemon that stays
sessions_done() {
	local t k i kids
	t=$(cat "$1")
	for i in $(seq 50); do
		k=$(pgrep -P "$t" || true)
		[ -z "$k" ] && return 0
		kids=$(pgrep -P "$k" | while read -r p; do
			[ "$(cat "/proc/$p/comm" 2>/dev/null)" = oc-rsyncd-names ] || echo "$p"
		done)
		[ -z "$kids" ] && return 0
		sleep 0.1
	done
}

# the session lines a log holds from line $2 on, as compared here
session_lines() {
	tail -n +"$2" "$1" | sed -E 's|^[0-9/]+ [0-9:]+ \[[0-9]+\] ||' |
		grep -Ev '^(rsyncd version |oc-rsync version |event loop|transfer pool|lookup helper|open files limit|session for module |sent 0 bytes  received 0 bytes  total size 0$)' |
		sed -E 's/^sent [0-9]+ bytes  received [0-9]+ bytes  /sent N bytes  received N bytes  /' |
		sed -e "$ERRLINE"
}

# lpair ARG...: the same rsync client command against both daemons
# ("_PORT_" is the daemon's port, "_DST_" a fresh local destination);
# their exit codes and session lines must agree.
lpair() {
	local w port a rc out bad=0
	local -A from code
	for w in ref oc; do
		local f=$D/$w.log
		[ -f "$f" ] || : >"$f"
		from[$w]=$(($(wc -l <"$f") + 1))
	done
	for w in ref oc; do
		port=$RPORT
		[ $w = oc ] && port=$OPORT
		local -a args=()
		for a; do
			a=${a//_PORT_/$port}
			a=${a//_DST_/$T/out.$w}
			args+=("$a")
		done
		rm -rf "$T/out.$w"
		RSYNC_PASSWORD= timeout 60 rsync --no-i-r "${args[@]}" >"$T/client.$w" 2>&1 && rc=0 || rc=$?
		code[$w]=$rc
		sessions_done "$D/$([ $w = ref ] && echo rsyncd || echo ocd).pid"
	done
	[ "${code[ref]}" = "${code[oc]}" ] || {
		echo "exit code differs: rsync --daemon ${code[ref]}, oc-rsyncd ${code[oc]}: $*"
		cat "$T/client.ref" "$T/client.oc"
		bad=1
	}
	diff <(session_lines "$D/ref.log" "${from[ref]}") <(session_lines "$D/oc.log" "${from[oc]}") || {
		echo "log differs (< rsync --daemon, > oc-rsyncd): $*"
		bad=1
	}
	return $bad
}

@test "daemon log: pulls log each file sent, with the module path" {
	lpair -a rsync://127.0.0.1:_PORT_/ro/ _DST_/
	lpair -a rsync://127.0.0.1:_PORT_/ro/sub/ _DST_/
	lpair -a rsync://127.0.0.1:_PORT_/ro/sub _DST_/
	lpair -a rsync://127.0.0.1:_PORT_/ro/small rsync://127.0.0.1:_PORT_/ro/deep/a/b/c/d/e/f/leaf _DST_/
}

@test "daemon log: pushes log each file received and each deletion" {
	lpair -a --delete "$T/src/" rsync://127.0.0.1:_PORT_/m/
	# nothing to do: only the request lines
	lpair -a --delete "$T/src/" rsync://127.0.0.1:_PORT_/m/
	lpair -a "$T/src/sub/" rsync://127.0.0.1:_PORT_/m/into/
}

@test "daemon log: the module's log format, and none without transfer logging" {
	lpair -a --delete "$T/src/" rsync://127.0.0.1:_PORT_/f/
	lpair -a rsync://127.0.0.1:_PORT_/f/ _DST_/
	lpair -a --delete "$T/src/" rsync://127.0.0.1:_PORT_/q/
}

@test "daemon log: an authenticated user, a read-only module, a missing file" {
	lpair -a --password-file="$D/pw" "$T/src/sub/" rsync://alice@127.0.0.1:_PORT_/sec/
	lpair -a "$T/src/sub/" rsync://127.0.0.1:_PORT_/ro/
	lpair -a rsync://127.0.0.1:_PORT_/ro/nosuchfile _DST_/
}

@test "daemon log: refusals in the handshake (wrong password, unknown module, listing)" {
	printf 'wrong\n' >"$T/badpw"
	chmod 600 "$T/badpw"
	# "allowed access" comes before the auth, and the failure names the user
	lpair -a --password-file="$T/badpw" rsync://alice@127.0.0.1:_PORT_/sec/ _DST_/
	lpair -a rsync://127.0.0.1:_PORT_/nosuchmodule/ _DST_/
	lpair rsync://127.0.0.1:_PORT_/
}

@test "daemon log: an auth digest floor the client's digest does not meet, or no digest of the build" {
	# rsync 3.5.0 clients always offer sha512: a raw client offers md5 only
	local w port f from mod
	for w in ref oc; do
		f=$D/$w.log
		[ -f "$f" ] || : >"$f"
		from=$(($(wc -l <"$f") + 1))
		port=$RPORT
		[ $w = oc ] && port=$OPORT
		for mod in weak nodig; do
			"$PY" - "$port" "$mod" >"$T/raw.$w.$mod" <<-'EOF'
				import socket, sys
				s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
				s.settimeout(10)
				f = s.makefile("rb")
				f.readline()
				s.sendall(b"@RSYNCD: 32.0 md5\n" + sys.argv[2].encode() + b"\n")
				for line in f:
				    sys.stdout.write(line.decode())
			EOF
			grep -qx "@ERROR: auth failed on module $mod" "$T/raw.$w.$mod"
		done
		sessions_done "$D/$([ $w = ref ] && echo rsyncd || echo ocd).pid"
		session_lines "$f" "$from" >"$T/lines.$w"
	done
	cat "$T/lines.oc"
	diff "$T/lines.ref" "$T/lines.oc"
	grep -q "negotiated auth digest md5 is weaker than the required 'auth digest = sha256'" "$T/lines.oc"
	grep -q "the configured 'auth digest = sha3' is not a supported digest on this build" "$T/lines.oc"
}

@test "daemon log: a daemon over a remote shell logs no access line" {
	# upstream writes "rsync allowed access" only for a listening daemon
	local w f from rp
	for w in ref oc; do
		f=$D/$w.log
		[ -f "$f" ] || : >"$f"
		from=$(($(wc -l <"$f") + 1))
		rp="rsync --config=$D/ref.conf"
		[ $w = oc ] && rp="$OCD --config=$D/oc.conf"
		rm -rf "$T/out.$w"
		env $SERVER_ENV rsync --no-i-r -e "$RSH" --rsync-path="$rp" h::ro/small "$T/out.$w"
		cmp "$T/src/small" "$T/out.$w"
		session_lines "$f" "$from" >"$T/lines.$w"
	done
	cat "$T/lines.oc"
	diff "$T/lines.ref" "$T/lines.oc"
	grep -q '^connect from ' "$T/lines.oc"
	! grep -q 'allowed access' "$T/lines.oc"
}
