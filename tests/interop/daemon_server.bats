#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# oc-rsyncd against `rsync --daemon` (rsync 3.5.0): both are started once
# per file on free 127.0.0.1 ports with the same rsyncd.conf, and each case
# runs the same client command against both and compares the outputs (the
# timing-dependent lines of common's MASK left out), the exit codes and, for
# transfers, the trees (treesig.sh). The client is the real rsync 3.5.0
# (with --no-i-r: oc-rsyncd has no incremental recursion), and oc-rsync for
# the oc-rsync -> oc-rsyncd cases.
#
# Modules:
#   rw    read-write, listed         ro    the sample tree, read-only
#   sec   read-write, auth users = alice (secrets file, mode 600)
#   hid   the sample tree, not listed     deny  hosts deny = 127.0.0.1
#   one   max connections = 1             nodel refuse options = delete
#   mg    read-write, munge symlinks = yes   later name converter (refused)
#   allow hosts allow = 10.0.0.0/8            hdeny unlisted, hosts deny = 127/8
#   gone  a path that does not exist
#   xpull the sample tree behind module filter/include/exclude rules
#   xpush read-write, with include from/exclude from files and excludes
#   xmiss an "exclude from" file that is missing   xmrg  excludes the .rules merge files
#   cout  the sample tree with "outgoing chmod"   cin  read-write, "incoming chmod"
#   cbad  an "outgoing chmod" that does not parse
#   xe    the sample tree, auth alice, pre-/post-xfer exec writing their RSYNC_* to $D/env
#   xew   read-write, the same hooks     xefail  a pre-xfer exec that fails
#   xearly an early exec and a pre-xfer exec   xearlyf  an early exec that fails
#   chr   (root) use chroot = yes, uid nobody, gid nogroup, read-write (mk_uidmod)
#   nochr (root) use chroot = no, a throwaway uid and gid, read-write (mk_uidmod)
# and a two-line motd. The global "timeout = 3" bounds the handshake of a
# client that has not chosen a module yet; modules set "timeout = 0".

load common

# The mode this file runs oc-rsyncd in comes from its name: the other two
# suites are links to this file, so every case runs in all three.
#   daemon_server.bats        the default: one event loop on io_uring
#   daemon_server_epoll.bats  OC_RSYNC_IO_BACKEND=epoll
#   daemon_server_fork.bats   OC_RSYNC_DAEMON_ASYNC=0: a thread per connection
# MODE_ENV goes into SERVER_ENV, which every oc-rsyncd here is started with
# (the inetd and remote-shell wrappers too).
daemon_mode() {
	case $(basename "$BATS_TEST_FILENAME" .bats) in
	*_epoll) DMODE=epoll MODE_ENV=OC_RSYNC_IO_BACKEND=epoll ;;
	*_fork) DMODE=fork MODE_ENV=OC_RSYNC_DAEMON_ASYNC=0 ;;
	*) DMODE=uring MODE_ENV= ;;
	esac
	export DMODE MODE_ENV
	SERVER_ENV="$SERVER_ENV $MODE_ENV"
}
# (at the top: common.bash sets SERVER_ENV again for each case)
daemon_mode

setup_file() {
	common_setup_file
	export OCD="$BATS_TEST_DIRNAME/../../${OC_BUILD:-build}/bin/oc-rsyncd"
	export D="$T/d"
	mkdir -p "$D/rw" "$D/sec" "$D/mg"
	mk_tree "$T/src"
	printf 'Welcome to the test daemon\nsecond motd line\n' >"$D/motd"
	printf 'alice:s3cret\n' >"$D/secrets"
	printf 's3cret\n' >"$D/pw"
	printf 'wrong\n' >"$D/badpw"
	chmod 600 "$D/secrets" "$D/pw" "$D/badpw"
	# chr and nochr change to these ids (as root; see "uid" below): nobody
	# by name, and a throwaway uid and gid by number that no file has yet
	export XUID=4242 XGID=4343
	# As root the daemons would become nobody; others cannot change ids at all.
	local ids=""
	[ "$(id -u)" = 0 ] && ids=$'uid = 0\ngid = 0'
	cat >"$D/rsyncd.conf" <<-EOF
		$ids
		use chroot = false
		lock file = $D/rsyncd.lock
		munge symlinks = false
		motd file = $D/motd
		timeout = 3
		[rw]
		 path = $D/rw
		 comment = read-write module
		 read only = false
		 timeout = 0
		[ro]
		 path = $T/src
		 comment = the sample tree
		 timeout = 0
		[sec]
		 path = $D/sec
		 comment = needs a password
		 read only = false
		 auth users = alice
		 secrets file = $D/secrets
		 timeout = 0
		[hid]
		 path = $T/src
		 list = false
		 timeout = 0
		[deny]
		 path = $T/src
		 comment = nobody from here
		 hosts deny = 127.0.0.1
		 timeout = 0
		[one]
		 path = $T/src
		 max connections = 1
		 timeout = 0
		[nolock]
		 path = $T/src
		 max connections = 1
		 lock file = $D/nodir/x.lock
		 timeout = 0
		[mg]
		 path = $D/mg
		 read only = false
		 munge symlinks = yes
		 timeout = 0
		[allow]
		 path = $T/src
		 hosts allow = 10.0.0.0/8
		 timeout = 0
		[hdeny]
		 path = $T/src
		 list = false
		 hosts deny = 127.0.0.0/255.0.0.0
		 timeout = 0
		[gone]
		 path = $T/nosuchdir
		 timeout = 0
		[later]
		 path = $T/src
		 name converter = /bin/cat
		 timeout = 0
		[nodel]
		 path = $D/rw
		 read only = false
		 refuse options = delete
		 timeout = 0
		[xpull]
		 path = $T/src
		 filter = - zero
		 include = small
		 exclude = mid sub/big deep/a/b/c/ *mall
		 timeout = 0
		[xpush]
		 path = $D/xp
		 read only = false
		 include from = $D/xinc
		 exclude from = $D/xexc
		 exclude = mid secret/
		 timeout = 0
		[xmiss]
		 path = $T/src
		 exclude from = $D/nosuch
		 timeout = 0
		[xmrg]
		 path = $D/mrg
		 exclude = .rules
		 timeout = 0
		[cout]
		 path = $T/src
		 outgoing chmod = Fgo-w,Do=,F+X,g=u,a+t
		 timeout = 0
		[cin]
		 path = $D/ci
		 read only = false
		 incoming chmod = Dg+s,Fu+x,go-w,o=g,-X
		 timeout = 0
		[cbad]
		 path = $T/src
		 outgoing chmod = Fq+w
		 timeout = 0
		[xe]
		 path = $T/src
		 auth users = alice
		 secrets file = $D/secrets
		 pre-xfer exec = $D/hook.sh pre
		 post-xfer exec = $D/hook.sh post
		 timeout = 0
		[xew]
		 path = $D/xp
		 read only = false
		 pre-xfer exec = $D/hook.sh pre
		 post-xfer exec = $D/hook.sh post
		 timeout = 0
		[xearly]
		 path = $T/src
		 early exec = $D/hook.sh early
		 pre-xfer exec = $D/hook.sh pre
		 timeout = 0
		[xearlyf]
		 path = $T/src
		 early exec = exit 1
		 timeout = 0
		[chr]
		 path = $D/chr
		 use chroot = yes
		 uid = nobody
		 gid = nogroup
		 read only = false
		 pre-xfer exec = $D/idhook.sh chr
		 timeout = 0
		[nochr]
		 path = $D/nochr
		 use chroot = no
		 uid = $XUID
		 gid = $XGID
		 read only = false
		 pre-xfer exec = $D/idhook.sh nochr
		 timeout = 0
		[dz]
		 path = $D/dz
		 dont compress = *.gz *
		 timeout = 0
		[nid]
		 path = $D/nid
		 numeric ids = yes
		 timeout = 0
		[byname]
		 path = $D/nid
		 timeout = 0
		[rw3]
		 path = $D/rw
		 read only = false
		 max verbosity = 3
		 timeout = 0
		[xefail]
		 path = $T/src
		 pre-xfer exec = echo "not today:"; echo "\$RSYNC_REQUEST"; exit 3
		 post-xfer exec = $D/hook.sh post
		 timeout = 0
	EOF
	# the hooks' RSYNC_* variables, the pid's value left out, for each daemon apart
	mkdir -p "$D/env"
	cat >"$D/hook.sh" <<-'EOF'
		#!/bin/sh
		# and the soft open-files limit and directory it runs with
		{ env | grep '^RSYNC_' | sed 's/^RSYNC_PID=[0-9]*$/RSYNC_PID=N/'
		  echo "NOFILE=$(ulimit -Sn)"; echo "CWD=$(pwd)"; } | sort >"$(dirname "$0")/env/$OCTAG.$1.tmp"
		mv "$(dirname "$0")/env/$OCTAG.$1.tmp" "$(dirname "$0")/env/$OCTAG.$1"
		echo "hook $1 said this"
	EOF
	chmod +x "$D/hook.sh"
	mkdir -p "$D/xp/secret" "$D/ci"
	[ "$(id -u)" = 0 ] && mk_uidmod "$D/chr" nobody:nogroup && mk_uidmod "$D/nochr" "$XUID:$XGID"
	# the ids a pre-xfer exec runs with (as root, before the chroot: upstream's order)
	cat >"$D/idhook.sh" <<-'EOF'
		#!/bin/sh
		echo "$(id -u):$(id -g) $(pwd)" >"$(dirname "$0")/env/$OCTAG.id.$1"
	EOF
	chmod +x "$D/idhook.sh"
	# dz: text that compresses well; nid: owned by a user with a name (as root)
	mkdir -p "$D/dz" "$D/nid"
	for i in $(seq 3000); do echo "line $i of a file that compresses well"; done >"$D/dz/text"
	printf 'bin\n' >"$D/nid/f"
	[ "$(id -u)" = 0 ] && chown bin:bin "$D/nid/f"
	printf 'keep.tmp\n' >"$D/xinc"
	mkdir -p "$D/mrg/sub"
	printf -- '- hidden\n' >"$D/mrg/sub/.rules"
	echo h >"$D/mrg/sub/hidden"
	echo s >"$D/mrg/sub/shown"
	find "$D/mrg" -exec touch -d '2024-03-04 05:06:07' {} +
	printf '# module excludes\n*.tmp\n- /*.xpush/sub/hard2\n' >"$D/xexc"
	export RPORT OPORT
	RPORT=$(free_port)
	OPORT=$(free_port)
	# OCTAG tells the exec hooks of the two daemons apart
	OCTAG=ref timeout -k 10 900 rsync --daemon --no-detach --address=127.0.0.1 --port="$RPORT" \
		--config="$D/rsyncd.conf" >"$D/rsyncd.out" 2>&1 3>&- &
	echo $! >"$D/rsyncd.pid"
	OCTAG=oc env $SERVER_ENV timeout -k 10 900 "$OCD" --no-detach --address=127.0.0.1 --port="$OPORT" \
		--config="$D/rsyncd.conf" --log-file="$D/ocd.log" >"$D/ocd.out" 2>&1 3>&- &
	echo $! >"$D/ocd.pid"
	wait_port "$RPORT"
	wait_port "$OPORT"
}

# mk_uidmod DIR OWNER: a module for a session that changes its ids: DIR
# and "up" (where a push lands) belong to OWNER; "locked" (root's, 755)
# and "secret" (root's, 600) are for what OWNER may not do; "pub" is a
# readable tree; "absdir", "absf" and "updir" are symlinks that point
# outside the module (absolute, and climbing with ..), and beside DIR lies
# "outside", which none of them may reach through a chroot.
mk_uidmod() {
	local d=$1
	mkdir -p "$d/locked" "$d/pub/sub" "$d/up"
	printf 'pub\n' >"$d/pub/a"
	printf 'pub sub\n' >"$d/pub/sub/b"
	printf 'only root\n' >"$d/secret"
	chmod 600 "$d/secret"
	printf 'old\n' >"$d/locked/old"
	ln -s /etc "$d/absdir"
	ln -s /etc/hostname "$d/absf"
	ln -s ../.. "$d/updir"
	ln -s pub "$d/inl"
	ln -s pub/sub/../a "$d/inf"
	printf 'outside the module\n' >"$d/../outside"
	chmod 755 "$d/locked" "$d/pub" "$d/pub/sub"
	chmod 644 "$d/pub/a" "$d/pub/sub/b" "$d/../outside"
	find "$d" -exec touch -h -d '2024-03-04 05:06:07' {} +
	chown "$2" "$d" "$d/up"
}

teardown_file() {
	stop_servers "$D/rsyncd.pid" "$D/ocd.pid"
}

# Lines that depend on how the daemon closes its socket (a reset seen by
# the client or not): upstream's daemon leaves unread input behind.
RESET='Connection reset by peer'

# spair NAME ARG...: the same client command (CLIENT, default rsync
# --no-i-r) against rsync --daemon and against oc-rsyncd. "_PORT_" in an
# argument becomes the daemon's port, "_DST_" "ref.NAME" or "oc.NAME": a
# fresh destination below $DROOT ($T by default; "$D/rw" for a push into
# the rw module), whose trees are compared when DROOT is set or TREES=1.
# OCCLIENT, when set, is the client used against oc-rsyncd instead. WANT,
# when set, is the exit code rsync must give, so that a broken setup
# cannot pass by both daemons failing alike.
spair() {
	local name=$1 oc ref orc rrc root=${DROOT:-$T} a
	local -a rargs=() oargs=()
	shift
	oc="oc.$name"
	ref="ref.$name"
	for a in "$@"; do
		a=${a//_DST_/$ref}
		rargs+=("${a//_PORT_/$RPORT}")
	done
	for a in "$@"; do
		a=${a//_DST_/$oc}
		oargs+=("${a//_PORT_/$OPORT}")
	done
	rm -rf "${root:?}/$oc" "${root:?}/$ref"
	timeout 120 ${CLIENT:-rsync --no-i-r} "${rargs[@]}" >"$T/$ref.log" 2>&1 && rrc=0 || rrc=$?
	timeout 120 ${OCCLIENT:-${CLIENT:-rsync --no-i-r}} "${oargs[@]}" >"$T/$oc.log" 2>&1 &&
		orc=0 || orc=$?
	if [ -n "${WANT:-}" ] && [ "$rrc" != "$WANT" ]; then
		echo "setup: rsync --daemon gave exit code $rrc, not $WANT: $*"
		cat "$T/$ref.log"
		return 1
	fi
	if [ -n "${DROOT:-}" ] || [ -n "${TREES:-}" ]; then
		diff <("$SIG" "$root/$ref") <("$SIG" "$root/$oc") || {
			echo "tree differs (< rsync --daemon, > oc-rsyncd): $*"
			show_logs "$T/$ref" "$T/$oc"
			return 1
		}
	fi
	diff <(grep -v "$MASK" "$T/$ref.log" | grep -v "$RESET" |
		sed -e "s|$ref|DEST|g" -e "s|$RPORT|PORT|g" -e "$ERRLINE" -e "${FILTER:-}") \
		<(grep -v "$MASK" "$T/$oc.log" | grep -v "$RESET" |
			sed -e "s|$oc|DEST|g" -e "s|$OPORT|PORT|g" -e "$ERRLINE" -e "${FILTER:-}") || {
		echo "output differs (< rsync --daemon, > oc-rsyncd): $*"
		return 1
	}
	[ "$orc" = "$rrc" ] || {
		echo "exit code differs: $*: rsync --daemon $rrc, oc-rsyncd $orc"
		show_logs "$T/$ref" "$T/$oc"
		return 1
	}
}

# --- listings ----------------------------------------------------------------

@test "daemon server: module listing (motd, hidden module, @RSYNCD: EXIT)" {
	WANT=0 spair list1 "rsync://127.0.0.1:_PORT_/"
	WANT=0 spair list2 --port=_PORT_ "127.0.0.1::"
	WANT=0 spair list3 --no-motd "rsync://127.0.0.1:_PORT_"
	grep -q '^ro *	the sample tree$' "$T/oc.list1.log"
	grep -q '^Welcome to the test daemon$' "$T/oc.list1.log"
	! grep -q '^hid' "$T/oc.list1.log"
}

@test "daemon server: the raw listing bytes equal rsync's" {
	local p
	for p in "$RPORT" "$OPORT"; do
		"$PY" - "$p" >"$T/raw.$p" <<-'EOF'
			import socket, sys
			s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
			s.sendall(b"@RSYNCD: 32.0 sha512 sha256 sha1 md5 md4\n\n")
			data = b""
			while True:
			    b = s.recv(65536)
			    if not b:
			        break
			    data += b
			sys.stdout.write(repr(data))
		EOF
	done
	diff "$T/raw.$RPORT" "$T/raw.$OPORT"
}

# --- transfers ----------------------------------------------------------------

@test "daemon server: pull -a of the sample tree, with -i and --stats" {
	WANT=0 TREES=1 spair pull -ai --stats "rsync://127.0.0.1:_PORT_/ro/" "$T/_DST_/"
	WANT=0 TREES=1 spair pullsub -a --port=_PORT_ "127.0.0.1::ro/sub" "$T/_DST_/"
	WANT=0 TREES=1 spair pullhid -ai "rsync://127.0.0.1:_PORT_/hid/deep/" "$T/_DST_/"
}

@test "daemon server: push -a into a read-write module, with -i and --stats" {
	WANT=0 DROOT="$D/rw" spair push -ai --stats "$T/src/" "rsync://127.0.0.1:_PORT_/rw/_DST_/"
}

@test "daemon server: a delta update pulled and pushed" {
	rm -rf "$T/src2"
	cp -a "$T/src" "$T/src2"
	printf 'changed\n' >>"$T/src2/mid"
	WANT=0 spair pull0 -a "rsync://127.0.0.1:_PORT_/ro/" "$T/_DST_/"
	cp -a "$T/src2/mid" "$T/ref.pull0/mid"
	cp -a "$T/src2/mid" "$T/oc.pull0/mid"
	rm -rf "$T/ref.upd" "$T/oc.upd"
	cp -a "$T/ref.pull0" "$T/ref.upd"
	cp -a "$T/oc.pull0" "$T/oc.upd"
	# the same destinations, updated from the module: Literal/Matched compared
	local rrc orc
	rsync --no-i-r -ai --stats "rsync://127.0.0.1:$RPORT/ro/" "$T/ref.upd/" >"$T/ref.upd.log" 2>&1 &&
		rrc=0 || rrc=$?
	rsync --no-i-r -ai --stats "rsync://127.0.0.1:$OPORT/ro/" "$T/oc.upd/" >"$T/oc.upd.log" 2>&1 &&
		orc=0 || orc=$?
	[ "$rrc" = 0 ] && [ "$orc" = 0 ]
	diff <("$SIG" "$T/ref.upd") <("$SIG" "$T/oc.upd")
	diff <(grep -v "$MASK" "$T/ref.upd.log") <(grep -v "$MASK" "$T/oc.upd.log")
	grep -q '^Matched data: [1-9]' "$T/oc.upd.log"
}

@test "daemon server: symlinks munged on the way in, restored on the way out" {
	WANT=0 DROOT="$D/mg" spair mgpush -a "$T/src/" "rsync://127.0.0.1:_PORT_/mg/_DST_/"
	[ "$(readlink "$D/mg/oc.mgpush/rel_link")" = /rsyncd-munged/small ]
	WANT=0 TREES=1 spair mgpull -a "rsync://127.0.0.1:_PORT_/mg/ref.mgpush/" "$T/_DST_/"
	[ "$(readlink "$T/oc.mgpull/rel_link")" = small ]
	[ "$(readlink "$T/oc.mgpull/abs_link")" = /etc/hostname ]
}

@test "daemon server: a client's paths stay inside the module" {
	WANT=23 spair escape1 -a "rsync://127.0.0.1:_PORT_/ro/../../../../etc/hostname" "$T/_DST_/"
	WANT=23 spair escape2 -a "rsync://127.0.0.1:_PORT_/ro//etc/hostname" "$T/_DST_/"
	WANT=0 TREES=1 spair escape3 -a "rsync://127.0.0.1:_PORT_/ro/sub/../deep/" "$T/_DST_/"
	# an absolute --backup-dir lands inside the module
	mkdir -p "$D/rw/ref.bk" "$D/rw/oc.bk"
	echo old >"$D/rw/ref.bk/small"
	echo old >"$D/rw/oc.bk/small"
	local p n
	for p in "$RPORT" "$OPORT"; do
		[ "$p" = "$RPORT" ] && n=ref.bk || n=oc.bk
		rsync -a -b --backup-dir="/$n.saved" "$T/src/small" "rsync://127.0.0.1:$p/rw/$n/"
	done
	[ -f "$D/rw/ref.bk.saved/small" ]
	[ -f "$D/rw/oc.bk.saved/small" ]
}

# --- the mode of this file ------------------------------------------------------------

# The rest of the file runs in whichever mode daemon_mode() chose; this
# proves the daemon is in it (the log of the shared daemon, and of a
# session served already by the cases before, whose order bats keeps).
@test "daemon server: the daemon runs in this file's mode (io_uring, epoll, a thread per connection)" {
	WANT=0 TREES=1 spair modepull -a "rsync://127.0.0.1:_PORT_/ro/deep/" "$T/_DST_/"
	echo "mode $DMODE"
	grep 'event loop:\|in process' "$D/ocd.log" | head -5
	case $DMODE in
	uring)
		# io_uring unless this kernel has it switched off
		if [ "$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo 0)" = 0 ]; then
			grep -q 'event loop: io_uring$' "$D/ocd.log"
		fi
		! grep -q 'connection from .* in process' "$D/ocd.log"
		# a module that changes no ids runs in a thread of the transfer pool
		grep -q 'transfer pool: adaptive, 2 to [0-9]* worker threads$' "$D/ocd.log"
		grep -q 'session for module ro from .* in a thread$' "$D/ocd.log" ;;
	epoll)
		grep -q 'event loop: epoll$' "$D/ocd.log"
		! grep -q 'connection from .* in process' "$D/ocd.log"
		grep -q 'session for module ro from .* in a thread$' "$D/ocd.log" ;;
	fork)
		# a thread per connection from accept on; the handshake and session are its
		grep -q 'connection from 127.0.0.1 in a thread$' "$D/ocd.log"
		! grep -q 'transfer pool:' "$D/ocd.log"
		grep -q 'session for module ro from .* in a thread$' "$D/ocd.log" ;;
	*)
		false ;;
	esac
}

# --- inetd mode ---------------------------------------------------------------------

@test "daemon server: inetd mode, through the client's RSYNC_CONNECT_PROG" {
	printf '#!/bin/sh\nexec rsync --daemon --config=%s\n' "$D/rsyncd.conf" >"$D/cp-rsync"
	printf '#!/bin/sh\nexec env %s %s --config=%s\n' "$SERVER_ENV" "$OCD" "$D/rsyncd.conf" >"$D/cp-oc"
	chmod +x "$D/cp-rsync" "$D/cp-oc"
	local CLIENT="env RSYNC_CONNECT_PROG=$D/cp-rsync rsync --no-i-r"
	local OCCLIENT="env RSYNC_CONNECT_PROG=$D/cp-oc rsync --no-i-r"
	WANT=0 spair ilist "rsync://somehost/"
	WANT=0 TREES=1 spair ipull -ai --stats "rsync://somehost/ro/" "$T/_DST_/"
	WANT=0 DROOT="$D/rw" spair ipush -ai --stats "$T/src/" "rsync://somehost/rw/_DST_/"
	WANT=5 spair iauthbad -a --password-file="$D/badpw" "rsync://alice@somehost/sec/" "$T/_DST_/"
	WANT=5 spair inomod "rsync://somehost/nosuch/"
	# rsync's connect program talks over a loopback TCP pair: 127.0.0.1 is denied
	WANT=5 spair ideny "rsync://somehost/deny/"
	grep -q '^@ERROR: access denied to deny from localhost (127.0.0.1)$' "$T/oc.ideny.log"
	grep -q '^@ERROR: Unknown module' "$T/oc.inomod.log"
}

# --- daemon over a remote shell ------------------------------------------------------

@test "daemon server: --server --daemon over a remote shell (host::module with -e)" {
	printf '#!/bin/sh\nexec rsync --config=%s "$@"\n' "$D/rsyncd.conf" >"$D/rp-rsync"
	printf '#!/bin/sh\nexec env %s %s --config=%s "$@"\n' "$SERVER_ENV" "$OC" "$D/rsyncd.conf" >"$D/rp-oc"
	chmod +x "$D/rp-rsync" "$D/rp-oc"
	local CLIENT="rsync --no-i-r -e $RSH --rsync-path=$D/rp-rsync"
	local OCCLIENT="rsync --no-i-r -e $RSH --rsync-path=$D/rp-oc"
	WANT=0 spair rlist "h::"
	WANT=0 TREES=1 spair rpull -ai --stats "h::ro/" "$T/_DST_/"
	WANT=0 DROOT="$D/rw" spair rpush -ai --stats "$T/src/" "h::rw/_DST_/"
	WANT=5 spair rauthbad -a --password-file="$D/badpw" "alice@h::sec/" "$T/_DST_/"
	WANT=0 DROOT="$D/sec" spair rauthok -ai --password-file="$D/pw" "$T/src/small" "alice@h::sec/_DST_/"
	WANT=5 spair rnomod "h::nosuch/"
	# no address in the environment: 0.0.0.0, which hosts deny 127.0.0.1 lets in
	WANT=0 spair rdeny "h::deny/"
	# the address a remote shell leaves in the environment is the client's
	SSH_CONNECTION="127.0.0.1 40000 127.0.0.1 22" WANT=5 spair rdeny2 "h::deny/"
	grep -q '^@ERROR: access denied to deny from localhost (127.0.0.1)$' "$T/oc.rdeny2.log"
}

# --- authentication -------------------------------------------------------------

@test "daemon server: auth success and wrong password (code 5)" {
	WANT=0 DROOT="$D/sec" spair authok -ai --password-file="$D/pw" "$T/src/small" \
		"rsync://alice@127.0.0.1:_PORT_/sec/_DST_/"
	WANT=5 spair authbad -a --password-file="$D/badpw" \
		"rsync://alice@127.0.0.1:_PORT_/sec/" "$T/_DST_/"
	grep -q '^@ERROR: auth failed on module sec$' "$T/oc.authbad.log"
	WANT=5 spair authuser -a --password-file="$D/pw" \
		"rsync://bob@127.0.0.1:_PORT_/sec/" "$T/_DST_/"
}

# --- refusals -------------------------------------------------------------------

@test "daemon server: unknown module, hosts deny, read-only push, refuse options" {
	WANT=5 spair unknown -a "rsync://127.0.0.1:_PORT_/nosuch/" "$T/_DST_/"
	grep -q "^@ERROR: Unknown module 'nosuch'$" "$T/oc.unknown.log"
	WANT=5 spair denied -a "rsync://127.0.0.1:_PORT_/deny/" "$T/_DST_/"
	grep -q '^@ERROR: access denied to deny from ' "$T/oc.denied.log"
	WANT=5 spair notallowed -a "rsync://127.0.0.1:_PORT_/allow/" "$T/_DST_/"
	grep -q '^@ERROR: access denied to allow from ' "$T/oc.notallowed.log"
	# an unlisted module does not give itself away
	WANT=5 spair hdenied -a "rsync://127.0.0.1:_PORT_/hdeny/" "$T/_DST_/"
	grep -q "^@ERROR: Unknown module 'hdeny'$" "$T/oc.hdenied.log"
	WANT=5 spair gone -a "rsync://127.0.0.1:_PORT_/gone/" "$T/_DST_/"
	grep -q '^@ERROR: chdir failed$' "$T/oc.gone.log"
	WANT=1 spair rodeny -a "$T/src/" "rsync://127.0.0.1:_PORT_/ro/x/"
	grep -q '^ERROR: module is read only$' "$T/oc.rodeny.log"
	WANT=4 spair refused -r --delete "$T/src/deep/" "rsync://127.0.0.1:_PORT_/nodel/_DST_/"
	grep -q 'The server is configured to refuse --delete' "$T/oc.refused.log"
}

# "dont compress = *" (upstream 3.5.0 reads the list once a session: only
# the word "*" changes anything, zlib's level to none), "numeric ids"
# (the id lists go without names, as rsync's do) and "max verbosity" (the
# daemon says no more than that many -v would, whatever the client asks).
@test "daemon server: dont compress = *, numeric ids, max verbosity" {
	local p n sz
	for p in "$RPORT" "$OPORT"; do
		rm -rf "$T/dz.$p"
		rsync --no-i-r -az --compress-choice=zlib --stats "rsync://127.0.0.1:$p/dz/" "$T/dz.$p/" \
			>"$T/dz.$p.log" 2>&1
		n=$(sed -n 's/^Total bytes received: //p' "$T/dz.$p.log" | tr -d ,)
		sz=$(stat -c %s "$D/dz/text")
		# stored, not deflated: at least the file's size comes over (zstd, the
		# default choice, keeps its level)
		[ "$n" -ge "$sz" ] || { echo "port $p: $n bytes received for $sz"; cat "$T/dz.$p.log"; return 1; }
		rm -rf "$T/dz.$p"
		rsync --no-i-r -az --compress-choice=zstd --stats "rsync://127.0.0.1:$p/dz/" "$T/dz.$p/" \
			>"$T/dz.$p.log" 2>&1
		n=$(sed -n 's/^Total bytes received: //p' "$T/dz.$p.log" | tr -d ,)
		[ "$n" -lt $((sz / 4)) ] || { echo "port $p, zstd: $n bytes received for $sz"; return 1; }
	done
	WANT=0 TREES=1 spair dzpull -az --compress-choice=zlib --stats "rsync://127.0.0.1:_PORT_/dz/" "$T/_DST_/"
	if [ "$(id -u)" = 0 ]; then
		# the client prints the names it received: none from "nid", bin's from "byname"
		WANT=0 TREES=1 FILTER='s/^\(set [ug]id of \.f\)\.[A-Za-z0-9]*/\1/' \
			spair nid -a --debug=own2 "rsync://127.0.0.1:_PORT_/nid/" "$T/_DST_/"
		grep -q '^uid 2() maps to 2$' "$T/oc.nid.log"
		WANT=0 TREES=1 FILTER='s/^\(set [ug]id of \.f\)\.[A-Za-z0-9]*/\1/' \
			spair byname -a --debug=own2 "rsync://127.0.0.1:_PORT_/byname/" "$T/_DST_/"
		grep -q '^uid 2(bin) maps to 2$' "$T/oc.byname.log"
	fi
	# an up-to-date push at -vvv: "is uptodate" is the daemon's (NAME2), which
	# max verbosity 1 (the default, "rw") keeps back and 3 ("rw3") lets through
	WANT=0 DROOT="$D/rw" spair vpush -a "$T/src/" "rsync://127.0.0.1:_PORT_/rw/_DST_/"
	for p in "$RPORT" "$OPORT"; do
		rsync --no-i-r -a -vvv "$T/src/" "rsync://127.0.0.1:$p/rw/$([ $p = "$RPORT" ] && echo ref || echo oc).vpush/" \
			>"$T/v1.$p.log" 2>&1
		rsync --no-i-r -a -vvv "$T/src/" "rsync://127.0.0.1:$p/rw3/$([ $p = "$RPORT" ] && echo ref || echo oc).vpush/" \
			>"$T/v3.$p.log" 2>&1
		! grep -q 'is uptodate' "$T/v1.$p.log"
		grep -q 'is uptodate' "$T/v3.$p.log"
	done
	diff <(grep -v "$MASK" "$T/v1.$RPORT.log" | sed -e "s|$RPORT|PORT|g" -e 's/ref\.vpush/DEST/g') \
		<(grep -v "$MASK" "$T/v1.$OPORT.log" | sed -e "s|$OPORT|PORT|g" -e 's/oc\.vpush/DEST/g')
}

@test "daemon server: module settings not carried out yet are refused, not ignored" {
	local rc
	# oc-rsyncd has no "name converter" yet: it must not serve the module without it
	rsync --no-i-r -a "rsync://127.0.0.1:$OPORT/later/" "$T/oc.later/" >"$T/oc.later.log" 2>&1 &&
		rc=0 || rc=$?
	cat "$T/oc.later.log"
	[ "$rc" != 0 ]
	grep -q 'module later: "name converter" is not supported yet' "$T/oc.later.log"
	[ ! -e "$T/oc.later/mid" ]
}

# A client holds the only slot of "one" (module chosen, then silent).
hold_slot() {
	"$PY" - "$1" <<-'EOF' &
		import socket, sys, time
		s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
		s.sendall(b"@RSYNCD: 32.0 md5\none\n")
		time.sleep(2)
	EOF
	HOLDER=$!
	sleep 0.5
}

@test "daemon server: max connections refusal text" {
	local rrc orc
	hold_slot "$RPORT"
	rsync --no-motd "rsync://127.0.0.1:$RPORT/one/" >"$T/ref.maxc.log" 2>&1 && rrc=0 || rrc=$?
	wait "$HOLDER"
	hold_slot "$OPORT"
	rsync --no-motd "rsync://127.0.0.1:$OPORT/one/" >"$T/oc.maxc.log" 2>&1 && orc=0 || orc=$?
	wait "$HOLDER"
	[ "$rrc" = 5 ]
	[ "$orc" = 5 ]
	diff "$T/ref.maxc.log" "$T/oc.maxc.log"
	grep -q '^@ERROR: max connections (1) reached -- try again later$' "$T/oc.maxc.log"
	# the slot is free again once the holder is gone
	WANT=0 spair maxcok -a "rsync://127.0.0.1:_PORT_/one/small" "$T/_DST_"
}

@test "daemon server: one lock file, one limit: rsync --daemon and oc-rsyncd share it" {
	local orc rrc
	# a slot held in one daemon fills module one in the other
	hold_slot "$RPORT"
	rsync --no-motd "rsync://127.0.0.1:$OPORT/one/" >"$T/oc.share1.log" 2>&1 && orc=0 || orc=$?
	wait "$HOLDER"
	[ "$orc" = 5 ]
	grep -q '^@ERROR: max connections (1) reached -- try again later$' "$T/oc.share1.log"
	hold_slot "$OPORT"
	rsync --no-motd "rsync://127.0.0.1:$RPORT/one/" >"$T/ref.share2.log" 2>&1 && rrc=0 || rrc=$?
	wait "$HOLDER"
	[ "$rrc" = 5 ]
	grep -q '^@ERROR: max connections (1) reached -- try again later$' "$T/ref.share2.log"
	# and once free, both serve again
	WANT=0 spair shareok -a "rsync://127.0.0.1:_PORT_/one/small" "$T/_DST_"
	# a lock file that cannot be opened
	WANT=5 spair nolock -a "rsync://127.0.0.1:_PORT_/nolock/small" "$T/_DST_"
	grep -q '^@ERROR: failed to open lock file$' "$T/oc.nolock.log"
}

@test "daemon server: a client that stalls in the greeting is dropped at the deadline" {
	local p
	for p in "$RPORT" "$OPORT"; do
		"$PY" - "$p" >"$T/stall.$p" <<-'EOF'
			import socket, sys, time
			t = time.time()
			s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
			s.settimeout(20)
			data = b""
			while True:
			    b = s.recv(4096)
			    if not b:
			        break
			    data += b
			took = time.time() - t
			print("dropped" if 2.5 < took < 10 else "took %.1f s" % took)
		EOF
	done
	cat "$T/stall.$RPORT" "$T/stall.$OPORT"
	[ "$(cat "$T/stall.$RPORT")" = dropped ]
	[ "$(cat "$T/stall.$OPORT")" = dropped ]
	# and the daemon still serves
	WANT=0 spair afterstall --no-motd "rsync://127.0.0.1:_PORT_/"
}

@test "daemon server: out of descriptors, accepting pauses instead of spinning" {
	local port pid
	port=$(free_port)
	(
		ulimit -n 24
		exec env $SERVER_ENV timeout -k 10 60 "$OCD" --no-detach --address=127.0.0.1 --port="$port" \
			--config="$D/rsyncd.conf" >"$D/emfile.out" 2>&1 3>&-
	) &
	wait_port "$port"
	# the daemon itself, not the timeout that runs it
	for pid in $(pgrep -f -- "--port=$port --config"); do
		[ "$(cat "/proc/$pid/comm")" = oc-rsyncd ] && break
	done
	[ "$(cat "/proc/$pid/comm")" = oc-rsyncd ]
	"$PY" - "$port" "$pid" <<-'EOF'
		import socket, sys, time
		port, pid = int(sys.argv[1]), sys.argv[2]
		def cpu():
		    f = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
		    return int(f[11]) + int(f[12])
		held = [socket.create_connection(("127.0.0.1", port), 5) for _ in range(60)]
		c0 = cpu()
		time.sleep(2)
		used = cpu() - c0
		print("held", len(held), "cpu ticks", used)
		assert used < 50, "the daemon spins"
		for s in held:
		    s.close()
	EOF
	sleep 0.5
	rsync "rsync://127.0.0.1:$port/" | grep -q '^ro '
	stop_pids "$pid"
}

@test "daemon server: a low soft open-files limit is raised; 200 idle clients are greeted" {
	# rsync forks per connection, so its soft limit never matters; ours holds
	# every handshake in one process and raises the soft limit to the hard one.
	# A session's hooks get what rsync 3.5.0's child would: raised toward
	# 4096 only (hook.sh's NOFILE, compared with rsync's in the hook cases).
	local port pid
	port=$(free_port)
	(
		ulimit -Sn 64
		ulimit -Hn 8192
		exec env $SERVER_ENV timeout -k 10 60 "$OCD" --no-detach --address=127.0.0.1 --port="$port" \
			--config="$D/rsyncd.conf" --log-file="$D/nofile.log" >"$D/nofile.out" 2>&1 3>&-
	) &
	wait_port "$port"
	for pid in $(pgrep -f -- "--port=$port --config"); do
		[ "$(cat "/proc/$pid/comm")" = oc-rsyncd ] && break
	done
	[ "$(cat "/proc/$pid/comm")" = oc-rsyncd ]
	grep -q 'open files limit raised from 64 to 8192' "$D/nofile.log"
	[ "$(awk '/^Max open files/ {print $4}' "/proc/$pid/limits")" = 8192 ]
	"$PY" - "$port" "$pid" "$DMODE" <<-'EOF'
		import os, socket, sys, time
		port, pid, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
		held = []
		for _ in range(200):
		    s = socket.create_connection(("127.0.0.1", port), 5)
		    s.settimeout(5)
		    assert s.recv(64).startswith(b"@RSYNCD: "), "no greeting"
		    held.append(s)
		for s in held:
		    s.close()
		# a session that stops after its arguments: its child's limit
		s = socket.create_connection(("127.0.0.1", port), 5)
		s.settimeout(5)
		f = s.makefile("rb")
		f.readline()
		s.sendall(b"@RSYNCD: 32.0 sha512 sha256 sha1 md5 md4\nro\n")
		while not f.readline().startswith(b"@RSYNCD: OK"):
		    pass
		s.sendall(b"--server\0--sender\0-r\0.\0ro/\0\0")
		# a thread of the daemon (its hooks get 4096: hook.sh's NOFILE)
		s.settimeout(10)
		assert s.recv(4), "no session"
		s.close()
	EOF
	grep -q 'session for module ro from .* in a thread' "$D/nofile.log"
	# the loop's own limit is what it raised it to
	[ "$(awk '/^Max open files/ {print $4}' "/proc/$pid/limits")" = 8192 ]
	stop_pids "$pid"
}

# --- oc-rsync as the client ----------------------------------------------------------

@test "daemon server: oc-rsync pulls from and pushes to oc-rsyncd" {
	WANT=0 TREES=1 OCCLIENT="$OC" spair ocpull -ai --stats "rsync://127.0.0.1:_PORT_/ro/" \
		"$T/_DST_/"
	WANT=0 DROOT="$D/rw" OCCLIENT="$OC" spair ocpush -ai --stats "$T/src/" \
		"rsync://127.0.0.1:_PORT_/rw/_DST_/"
	WANT=0 OCCLIENT="$OC" spair oclist "rsync://127.0.0.1:_PORT_/"
	WANT=0 DROOT="$D/sec" OCCLIENT="$OC" spair ocauthok -ai --password-file="$D/pw" "$T/src/small" \
		"rsync://alice@127.0.0.1:_PORT_/sec/_DST_/"
	WANT=5 OCCLIENT="$OC" spair ocauthbad -a --password-file="$D/badpw" \
		"rsync://alice@127.0.0.1:_PORT_/sec/" "$T/_DST_/"
}

# --- module filters, chmod and exec ---------------------------------------------------

@test "daemon server: module excludes in a pull: not sent, not named, not overridden" {
	WANT=0 TREES=1 spair xpull -ai "rsync://127.0.0.1:_PORT_/xpull/" "$T/_DST_/"
	[ ! -e "$T/oc.xpull/mid" ] && [ ! -e "$T/oc.xpull/sub/big" ] && [ ! -e "$T/oc.xpull/zero" ]
	[ -e "$T/oc.xpull/small" ] && [ -e "$T/oc.xpull/deep/a/b" ] && [ ! -e "$T/oc.xpull/deep/a/b/c" ]
	# the client's own rules come after the module's
	WANT=0 TREES=1 spair xpullinc -ai --include=mid --include='c/***' "rsync://127.0.0.1:_PORT_/xpull/" \
		"$T/_DST_/"
	[ ! -e "$T/oc.xpullinc/mid" ]
	WANT=0 TREES=1 spair xpullexc -a --exclude=deep "rsync://127.0.0.1:_PORT_/xpull/" "$T/_DST_/"
	# named directly: not there
	WANT=23 spair xpullname -a "rsync://127.0.0.1:_PORT_/xpull/mid" "$T/_DST_/"
	WANT=23 spair xpullsub -a "rsync://127.0.0.1:_PORT_/xpull/sub/big" "$T/_DST_/"
	WANT=23 spair xpulldir -a "rsync://127.0.0.1:_PORT_/xpull/deep/a/b/c/d/e/f/leaf" "$T/_DST_/"
	WANT=23 spair xpullrel -aR "rsync://127.0.0.1:_PORT_/xpull/deep/a/b/c/d/" "$T/_DST_/"
	WANT=0 TREES=1 spair xpullsubdir -a "rsync://127.0.0.1:_PORT_/xpull/sub/" "$T/_DST_/"
	# a merge file the module excludes is not read: "hidden" comes too
	WANT=0 TREES=1 spair xmrg -ai --filter=': .rules' "rsync://127.0.0.1:_PORT_/xmrg/" "$T/_DST_/"
	[ -e "$T/oc.xmrg/sub/hidden" ]
	# a missing "exclude from": upstream closes before "@RSYNCD: OK"
	WANT=5 spair xmiss -a "rsync://127.0.0.1:_PORT_/xmiss/" "$T/_DST_/"
}

@test "daemon server: module excludes in a push: refused, and kept by --delete" {
	WANT=23 DROOT="$D/xp" spair xpush -ai "$T/src/" "rsync://127.0.0.1:_PORT_/xpush/_DST_/"
	[ ! -e "$D/xp/oc.xpush/mid" ] && [ ! -e "$D/xp/oc.xpush/sub/hard2" ]
	[ -e "$D/xp/oc.xpush/sub/big" ]
	# a source with excluded names, and destinations holding them already
	local n p rrc orc
	rm -rf "$T/xsrc"
	mkdir -p "$T/xsrc/secret" "$T/xsrc/d"
	echo a >"$T/xsrc/a.tmp"
	echo k >"$T/xsrc/keep.tmp"
	echo s >"$T/xsrc/secret/s"
	echo m >"$T/xsrc/d/mid"
	echo f >"$T/xsrc/d/f"
	for n in ref.xdel oc.xdel; do
		rm -rf "${D:?}/xp/$n"
		mkdir -p "$D/xp/$n/secret/in" "$D/xp/$n/d" "$D/xp/$n/gone"
		echo old >"$D/xp/$n/mid"
		echo old >"$D/xp/$n/d/mid"
		echo old >"$D/xp/$n/old.tmp"
		echo old >"$D/xp/$n/secret/in/x"
		echo old >"$D/xp/$n/gone/y"
		echo old >"$D/xp/$n/extra"
		find "$D/xp/$n" -exec touch -d '2024-03-04 05:06:07' {} +
	done
	find "$T/xsrc" -exec touch -d '2024-05-06 07:08:09' {} +
	for p in "$RPORT" "$OPORT"; do
		[ "$p" = "$RPORT" ] && n=ref.xdel || n=oc.xdel
		rsync --no-i-r -ai --delete "$T/xsrc/" "rsync://127.0.0.1:$p/xpush/$n/" \
			>"$T/$n.log" 2>&1 && echo 0 >"$T/$n.rc" || echo $? >"$T/$n.rc"
	done
	rrc=$(cat "$T/ref.xdel.rc")
	orc=$(cat "$T/oc.xdel.rc")
	cat "$T/oc.xdel.log"
	[ "$rrc" = 23 ] && [ "$orc" = "$rrc" ]
	diff <("$SIG" "$D/xp/ref.xdel") <("$SIG" "$D/xp/oc.xdel")
	diff <(grep -v "$MASK" "$T/ref.xdel.log" | sed -e "$ERRLINE" -e 's|ref.xdel|DEST|g') \
		<(grep -v "$MASK" "$T/oc.xdel.log" | sed -e "$ERRLINE" -e 's|oc.xdel|DEST|g')
	[ -e "$D/xp/oc.xdel/secret/in/x" ] && [ -e "$D/xp/oc.xdel/old.tmp" ] && [ ! -e "$D/xp/oc.xdel/extra" ]
	# a destination the module excludes
	WANT=3 spair xdest -a "$T/src/small" "rsync://127.0.0.1:_PORT_/xpush/secret/"
	WANT=3 spair xdest2 -a "$T/src/small" "rsync://127.0.0.1:_PORT_/xpush/x.tmp"
	# options naming excluded places on the daemon's side
	WANT=1 spair xlink -a --link-dest=/secret "$T/src/small" "rsync://127.0.0.1:_PORT_/xpush/_DST_/"
	WANT=1 spair xlinkrel -a --link-dest=../secret "$T/src/small" \
		"rsync://127.0.0.1:_PORT_/xpush/_DST_/"
	WANT=4 spair xtmp -a -T /secret "$T/src/small" "rsync://127.0.0.1:_PORT_/xpush/_DST_/"
}

@test "daemon server: incoming and outgoing chmod" {
	WANT=0 TREES=1 spair cout -ai "rsync://127.0.0.1:_PORT_/cout/" "$T/_DST_/"
	WANT=0 TREES=1 spair coutr -rtlDi "rsync://127.0.0.1:_PORT_/cout/" "$T/_DST_/"
	WANT=0 TREES=1 spair cbad -ai "rsync://127.0.0.1:_PORT_/cbad/" "$T/_DST_/"
	WANT=0 DROOT="$D/ci" spair cin -ai "$T/src/" "rsync://127.0.0.1:_PORT_/cin/_DST_/"
	WANT=0 DROOT="$D/ci" spair cinr -rtlDi "$T/src/" "rsync://127.0.0.1:_PORT_/cin/_DST_/"
	# the rules did change something (the trees above equal rsync's)
	[ "$(stat -c %a "$D/ci/oc.cin/sub")" != 751 ]
	[ "$(stat -c %a "$T/oc.cout/mid")" != 600 ]
}

# hook_env NAME: wait for both daemons' NAME ("pre", "post") variables and compare them.
hook_env() {
	local i
	for i in $(seq 100); do
		[ -e "$D/env/ref.$1" ] && [ -e "$D/env/oc.$1" ] && break
		sleep 0.1
	done
	cat "$D/env/oc.$1"
	diff <(sed 's/ref\.xe/DEST/' "$D/env/ref.$1") <(sed 's/oc\.xe/DEST/' "$D/env/oc.$1")
}

@test "daemon server: pre-xfer and post-xfer exec with upstream's RSYNC_* variables" {
	rm -f "$D"/env/*
	WANT=0 TREES=1 spair xe -a --password-file="$D/pw" "rsync://alice@127.0.0.1:_PORT_/xe/sub/" \
		"$T/_DST_/"
	hook_env pre
	hook_env post
	grep -qx 'RSYNC_EXIT_STATUS=0' "$D/env/oc.post"
	grep -qx 'RSYNC_USER_NAME=alice' "$D/env/oc.pre"
	grep -qx 'RSYNC_ARG0=rsyncd' "$D/env/oc.pre"
	# a push that fails: the exit status the post-xfer hook sees
	rm -f "$D"/env/*
	WANT=11 spair xew -a --exclude=mid "$T/src/" "rsync://127.0.0.1:_PORT_/xew/no/such/dir/x/"
	hook_env pre
	hook_env post
	grep -qx 'RSYNC_EXIT_STATUS=11' "$D/env/oc.post"
	rm -f "$D"/env/*
	WANT=0 DROOT="$D/xp" spair xewok -a "$T/src/deep" "rsync://127.0.0.1:_PORT_/xew/_DST_/"
	hook_env pre
	hook_env post
	# a failing pre-xfer exec refuses the session with its output
	rm -f "$D"/env/*
	WANT=4 spair xefail -a "$T/src/small" "rsync://127.0.0.1:_PORT_/xefail/x"
	grep -q '^pre-xfer exec returned failure (768):$' "$T/oc.xefail.log"
	hook_env post
	# early exec: before "@RSYNCD: OK", with no request yet
	rm -f "$D"/env/*
	WANT=0 TREES=1 spair xearly -a "rsync://127.0.0.1:_PORT_/xearly/deep/" "$T/_DST_/"
	hook_env early
	hook_env pre
	grep -qx 'RSYNC_REQUEST=(NONE)' "$D/env/oc.early"
	WANT=5 spair xearlyf -a "rsync://127.0.0.1:_PORT_/xearlyf/deep/" "$T/_DST_/"
	grep -q '^@ERROR: early exec failed$' "$T/oc.xearlyf.log"
}

# --- sessions under other ids (root only) -----------------------------------------------

# uidmod M IDS: module M (mk_uidmod) changes the session's ids to IDS
# (uid:gid, numbers): pulls and pushes by rsync and by oc-rsync, what
# those ids may not do, and symlinks pointing out of the module, each
# compared with rsync --daemon under the same config.
uidmod() {
	local m=$1 ids=$2 u="rsync://127.0.0.1:_PORT_/$1" bad=0
	# mkstemp's random part
	local FILTER='s/\(\.[a-z]*\.\)[A-Za-z0-9]\{6\}"/\1XXXXXX"/'
	rm -f "$D"/env/*.id."$m"
	WANT=0 TREES=1 spair "${m}pull" -ai "$u/pub/" "$T/_DST_/" || bad=1
	WANT=0 TREES=1 OCCLIENT="$OC" spair "${m}ocpull" -ai "$u/pub/" "$T/_DST_/" || bad=1
	# the pre-xfer exec: the daemon's ids, as upstream's (it starts before the ids change)
	cat "$D/env/oc.id.$m"
	diff "$D/env/ref.id.$m" "$D/env/oc.id.$m"
	# what a push creates belongs to the module's ids: the session runs as them
	WANT=0 DROOT="$D/$m/up" spair "${m}push" -ai "$T/src/deep" "$T/src/small" "$u/up/_DST_/" || bad=1
	WANT=0 DROOT="$D/$m/up" OCCLIENT="$OC" spair "${m}ocpush" -ai "$T/src/deep" "$T/src/small" \
		"$u/up/_DST_/" || bad=1
	[ "$(stat -c %u:%g "$D/$m/up/oc.${m}push/small")" = "$ids" ]
	[ "$(stat -c %u:%g "$D/$m/up/oc.${m}push/deep/a/b")" = "$ids" ]
	[ "$(stat -c %u:%g "$D/$m/up/oc.${m}ocpush/small")" = "$ids" ]
	# and nothing those ids may not do: write into root's 755 directory, read root's 600 file
	WANT=23 spair "${m}locked" -a "$T/src/small" "$u/locked/" || bad=1
	WANT=23 OCCLIENT="$OC" spair "${m}oclocked" -a "$T/src/small" "$u/locked/" || bad=1
	[ ! -e "$D/$m/locked/small" ]
	WANT=23 spair "${m}secret" -a "$u/secret" "$T/_DST_" || bad=1
	WANT=23 OCCLIENT="$OC" spair "${m}ocsecret" -a "$u/secret" "$T/_DST_" || bad=1
	[ ! -e "$T/oc.${m}secret" ]
	# symlinks pointing out, followed (-L) in a pull and as a push's destination
	WANT=0 TREES=1 spair "${m}links" -ai "$u/" "$T/_DST_/" --exclude=secret --exclude=locked || bad=1
	spair "${m}absf" -aL "$u/absf" "$T/_DST_" || bad=1
	spair "${m}absdir" -aL "$u/absdir/hostname" "$T/_DST_" || bad=1
	spair "${m}updir" -aL "$u/updir/d/outside" "$T/_DST_" || bad=1
	spair "${m}updirs" -aL "$u/updir/" "$T/_DST_/" --exclude=d --exclude='/*/' || bad=1
	# in-module links followed; without chroot the ones leading out are refused
	WANT=0 TREES=1 spair "${m}inl" -aL "$u/inl/" "$T/_DST_/" || bad=1
	WANT=0 TREES=1 spair "${m}inf" -aL "$u/inf" "$T/_DST_" || bad=1
	if [ "$m" = nochr ]; then
		# (chrooted, updir is the module root: -L would recurse without end in both)
		spair "${m}rl" -aL "$u/" "$T/_DST_/" --exclude=/secret --exclude=/locked --exclude=/up || bad=1
	fi
	spair "${m}pabs" -a "$T/src/small" "$u/absdir/" || bad=1
	spair "${m}pup" -a "$T/src/small" "$u/updir/d/" || bad=1
	spair "${m}pupf" -a "$T/src/small" "$u/updir/d/outside" || bad=1
	spair "${m}pmk" -a --mkpath "$T/src/small" "$u/updir/d/made/here/" || bad=1
	[ ! -e "$D/made" ]
	rm -rf "$D/$m/d"
	[ ! -e /etc/small ] && [ ! -e "$D/small" ]
	[ "$(cat "$D/outside")" = 'outside the module' ]
	return $bad
}

@test "daemon server: a chrooted module with uid and gid: pulls, pushes, limits, symlinks" {
	[ "$(id -u)" = 0 ] || skip "changing ids needs root"
	uidmod chr "$(id -u nobody):$(getent group nogroup | cut -d: -f3)"
}

@test "daemon server: uid and gid without chroot (use chroot = no): pulls, pushes, limits, symlinks" {
	[ "$(id -u)" = 0 ] || skip "changing ids needs root"
	uidmod nochr "$XUID:$XGID"
}

# --- process ---------------------------------------------------------------------

@test "daemon server: --daemon detaches and writes its pid file; oc-rsync --daemon" {
	local port pid
	port=$(free_port)
	sed "1i pid file = $D/ocd2.pid" "$D/rsyncd.conf" >"$D/pid.conf"
	# (fd 3 closed: bats waits for whoever holds it, and a detached daemon would)
	env $SERVER_ENV timeout 60 "$OCD" --address=127.0.0.1 --port="$port" --config="$D/pid.conf" 3>&-
	wait_port "$port"
	[ -s "$D/ocd2.pid" ]
	pid=$(cat "$D/ocd2.pid")
	kill -0 "$pid"
	rsync "rsync://127.0.0.1:$port/" | grep -q '^rw '
	stop_pids "$pid"
	[ ! -e "$D/ocd2.pid" ]
	# oc-rsync --daemon reaches the same code
	port=$(free_port)
	env $SERVER_ENV timeout -k 10 20 "$OC" --daemon --no-detach --address=127.0.0.1 --port="$port" \
		--config="$D/rsyncd.conf" >"$D/ocd3.out" 2>&1 3>&- &
	pid=$!
	wait_port "$port"
	rsync "rsync://127.0.0.1:$port/" | grep -q '^ro '
	echo "$pid" >"$D/ocd3.pid"
	stop_servers "$D/ocd3.pid"
}

@test "daemon server: --metrics-file counts what happened (SIGUSR1, and at exit)" {
	local port pid t
	port=$(free_port)
	env $SERVER_ENV timeout -k 10 120 "$OCD" --no-detach --address=127.0.0.1 --port="$port" \
		--config="$D/rsyncd.conf" --metrics-file="$D/metrics" >"$D/ocm.out" 2>&1 3>&- &
	t=$!
	echo "$t" >"$D/ocm.pid"
	wait_port "$port"
	pid=$(pgrep -P "$t")
	# one of each: listing, unknown module, auth failure, a pull (exit 0),
	# a push into a read-only module (a session that fails)
	rsync "rsync://127.0.0.1:$port/" >/dev/null
	! rsync "rsync://127.0.0.1:$port/nosuch/" >/dev/null 2>&1
	! rsync --password-file="$D/badpw" "rsync://alice@127.0.0.1:$port/sec/" >/dev/null 2>&1
	rsync -a "rsync://127.0.0.1:$port/ro/small" "$T/m.small"
	! rsync -a "$T/src/small" "rsync://127.0.0.1:$port/ro/x" >/dev/null 2>&1
	sleep 0.5
	kill -USR1 "$pid"
	for _ in $(seq 50); do [ -s "$D/metrics" ] && break; sleep 0.1; done
	cat "$D/metrics"
	# wait_port's probe is a connection too; it left before the greeting ended
	grep -qx 'oc_rsyncd_connections_accepted_total 6' "$D/metrics"
	grep -qx 'oc_rsyncd_listings_total 1' "$D/metrics"
	grep -qx 'oc_rsyncd_refused_total{reason="unknown_module"} 1' "$D/metrics"
	grep -qx 'oc_rsyncd_refused_total{reason="auth"} 1' "$D/metrics"
	grep -qx 'oc_rsyncd_refused_total{reason="client_gone"} 1' "$D/metrics"
	grep -qx 'oc_rsyncd_sessions_started_total 2' "$D/metrics"
	grep -qx 'oc_rsyncd_sessions_completed_total 1' "$D/metrics"
	grep -qx 'oc_rsyncd_sessions_failed_total 1' "$D/metrics"
	grep -qx 'oc_rsyncd_connections_active 0' "$D/metrics"
	grep -q '^oc_rsyncd_event_backend{name="' "$D/metrics"
	# at exit, once more
	rm -f "$D/metrics"
	stop_servers "$D/ocm.pid"
	grep -qx 'oc_rsyncd_connections_accepted_total 6' "$D/metrics"
}

# --- sessions in threads ---------------------------------------------------------------

# A daemon of this file's mode on a port of its own, config $1, log $2; sets
# XPORT and XPID (the daemon, not the timeout around it).
start_own() {
	XPORT=$(free_port)
	env $SERVER_ENV timeout -k 10 90 "$OCD" --no-detach --address=127.0.0.1 --port="$XPORT" \
		--config="$1" --log-file="$2" --metrics-file="$2.metrics" >"$2.out" 2>&1 3>&- &
	echo $! >"$2.pid"
	wait_port "$XPORT"
	XPID=$(pgrep -P "$(cat "$2.pid")")
}

# wait_log FILE PATTERN: up to 10 s for a line
wait_log() {
	for _ in $(seq 100); do grep -q "$2" "$1" && return 0; sleep 0.1; done
	cat "$1"
	return 1
}

@test "daemon server: concurrent sessions keep to their own modules and directories" {
	# in the event-loop modes these are threads of one process, each in its module
	local pids=() i sig
	for i in 1 2 3; do
		rsync -aH --bwlimit=4000 "rsync://127.0.0.1:$OPORT/ro/" "$T/thr.pull$i/" 2>"$T/thr.pull$i.err" &
		pids+=($!)
		rsync -a "$T/src/deep" "$T/src/mid" "rsync://127.0.0.1:$OPORT/rw/thr.push$i/" \
			2>"$T/thr.push$i.err" &
		pids+=($!)
		"$OC" -a "rsync://127.0.0.1:$OPORT/ro/deep/" "$T/thr.oc$i/" 2>"$T/thr.oc$i.err" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i"; done
	sig=$("$BATS_TEST_DIRNAME/treesig.sh" "$T/src")
	for i in 1 2 3; do
		diff <(echo "$sig") <("$BATS_TEST_DIRNAME/treesig.sh" "$T/thr.pull$i")
		cmp "$T/src/mid" "$D/rw/thr.push$i/mid"
		[ "$(cat "$D/rw/thr.push$i/deep/a/b/c/d/e/f/leaf")" = deep ]
		[ "$(cat "$T/thr.oc$i/a/b/c/d/e/f/leaf")" = deep ]
	done
	[ "$(grep -c 'session for module \(ro\|rw\) from .* in a thread$' "$D/ocd.log")" -ge 9 ]
}

@test "daemon server: transfer-worker-threads = 1: a second session waits for the worker" {
	[ "$DMODE" != fork ] || skip "a thread per connection has no transfer pool"
	local a b
	{ echo 'transfer-worker-threads = 1'; cat "$D/rsyncd.conf"
	  printf '[twmod]\n path = %s\n transfer-worker-threads = 4\n' "$T/src"; } >"$D/tw1.conf"
	start_own "$D/tw1.conf" "$D/tw1.log"
	grep -q 'transfer pool: 1 worker thread$' "$D/tw1.log"
	# the pool is the daemon's: a module's own value is not silently dropped
	grep -q 'transfer-worker-threads in module twmod ignored: set it in the global section$' "$D/tw1.log"
	rsync --bwlimit=25 "rsync://127.0.0.1:$XPORT/ro/mid" "$T/tw1.mid" &
	a=$!
	wait_log "$D/tw1.log" 'rsync on ro/mid from'
	rsync -a "rsync://127.0.0.1:$XPORT/ro/deep/" "$T/tw1.deep/" &
	b=$!
	wait_log "$D/tw1.log" 'session for module ro .* in a thread$'
	sleep 0.5
	# the second waits in the pool's queue, its client told nothing yet
	[ "$(grep -c 'session for module ro .* in a thread$' "$D/tw1.log")" = 2 ]
	! grep -q 'rsync on ro/deep/ from' "$D/tw1.log"
	kill -USR1 "$XPID"
	wait_log "$D/tw1.log.metrics" 'oc_rsyncd_transfer_queue'
	cat "$D/tw1.log.metrics"
	grep -qx 'oc_rsyncd_transfer_workers 1' "$D/tw1.log.metrics"
	grep -qx 'oc_rsyncd_transfer_queue 1' "$D/tw1.log.metrics"
	grep -qx 'oc_rsyncd_session_threads 2' "$D/tw1.log.metrics"
	wait "$a"
	wait "$b"
	cmp "$T/src/mid" "$T/tw1.mid"
	[ "$(cat "$T/tw1.deep/a/b/c/d/e/f/leaf")" = deep ]
	stop_servers "$D/tw1.log.pid"
	grep -qx 'oc_rsyncd_sessions_in_threads_total 2' "$D/tw1.log.metrics"
	grep -qx 'oc_rsyncd_sessions_completed_total 2' "$D/tw1.log.metrics"
}

@test "daemon server: SIGTERM during a transfer: it finishes, no new client is taken" {
	local c
	start_own "$D/rsyncd.conf" "$D/stop.log"
	rsync --bwlimit=25 "rsync://127.0.0.1:$XPORT/ro/mid" "$T/stop.mid" &
	c=$!
	wait_log "$D/stop.log" 'rsync on ro/mid from'
	kill "$XPID"
	sleep 0.3
	# the port is closed at once, the session goes on (rsync's session
	# processes also outlive their daemon)
	run rsync "rsync://127.0.0.1:$XPORT/"
	[ "$status" = 10 ]
	wait "$c"
	cmp "$T/src/mid" "$T/stop.mid"
	for _ in $(seq 50); do alive "$XPID" || break; sleep 0.1; done
	! alive "$XPID"
	grep -q 'stopping: waiting for 1 session in threads' "$D/stop.log"
}

@test "daemon server: a session process holds no descriptor of the sessions in threads" {
	[ "$(id -u)" = 0 ] || skip "the forked module changes ids: root only"
	local a b kid n
	rsync --bwlimit=25 "rsync://127.0.0.1:$OPORT/ro/mid" "$T/fdt.mid" &
	a=$!
	wait_log "$D/ocd.log" 'rsync on ro/mid from'
	n=$(grep -c 'session for module chr .* in process' "$D/ocd.log" || true)
	rsync --bwlimit=25 "$T/src/mid" "rsync://127.0.0.1:$OPORT/chr/up/fdt.mid" &
	b=$!
	for _ in $(seq 100); do
		[ "$(grep -c 'session for module chr .* in process' "$D/ocd.log")" -gt "$n" ] && break
		sleep 0.1
	done
	kid=$(grep 'session for module chr .* in process' "$D/ocd.log" | tail -1 | sed 's/.* in process //')
	ls -l "/proc/$kid/fd" || { wait "$b"; echo "push: $?"; tail "$D/ocd.log" "$D/ocd.out"; false; }
	# its own socket only, not the thread's (nor the loop's listener)
	n=$(ls -l "/proc/$kid/fd" | grep -c 'socket:')
	[ "$n" = 1 ]
	wait "$a"
	wait "$b"
	cmp "$T/src/mid" "$T/fdt.mid"
	cmp "$T/src/mid" "$D/chr/up/fdt.mid"
}

# Last: it changes the shared config.
@test "daemon server: a slow name look-up holds up no other client" {
	# The resolver takes 3 s to name 127.0.0.2 (slowdns.c); a client from
	# there waits for its name (for the log's "connect from", and for its
	# module), while clients from 127.0.0.1 come and go: the look-up runs in
	# the lookup helper, not in the loop (with a process per connection, in
	# that connection's own process).
	local port t slow i
	cc -O1 -shared -fPIC -o "$T/slowdns.so" "$BATS_TEST_DIRNAME/slowdns.c" -ldl
	local ids=""
	[ "$(id -u)" = 0 ] && ids=$'uid = 0\ngid = 0'
	cat >"$D/slow.conf" <<-EOF
		$ids
		use chroot = false
		log file = $D/slow.log
		[ro]
		 path = $T/src
	EOF
	# a sanitizer build's runtime must come first in LD_PRELOAD
	local pre
	pre=$(ldd "$OCD" | awk '/lib(a|ub|t)san/ {print $3}' | paste -sd: -)
	pre=${pre:+$pre:}$T/slowdns.so
	port=$(free_port)
	env $SERVER_ENV LD_PRELOAD="$pre" SLOWDNS_ADDR=127.0.0.2 SLOWDNS_MS=3000 \
		timeout -k 10 60 "$OCD" --no-detach --address=127.0.0.1 --port="$port" \
		--config="$D/slow.conf" >"$D/slow.out" 2>&1 3>&- &
	t=$!
	echo "$t" >"$D/slow.pid"
	wait_port "$port"
	timeout 30 rsync --no-i-r --address=127.0.0.2 -a "rsync://127.0.0.1:$port/ro/small" "$T/slow.small" &
	slow=$!
	sleep 0.2
	for i in 1 2; do
		timeout 30 rsync --no-i-r -a "rsync://127.0.0.1:$port/ro/small" "$T/fast.$i"
		cmp "$T/src/small" "$T/fast.$i"
	done
	rsync "rsync://127.0.0.1:$port/" | grep -q '^ro'
	# all of that while the slow one still waited for its name
	kill -0 "$slow" || {
		echo "the slow client was done before the others"
		cat "$D/slow.log"
		false
	}
	wait "$slow"
	cmp "$T/src/small" "$T/slow.small"
	cat "$D/slow.log"
	grep -q 'connect from localhost (127.0.0.1)$' "$D/slow.log"
	grep -q 'connect from [^ ]* (127.0.0.2)$' "$D/slow.log"
	stop_servers "$D/slow.pid"
}

@test "daemon server: SIGHUP loads the config again (rsync reads it per connection)" {
	printf '[late]\n path = %s\n comment = added later\n' "$T/src" >>"$D/rsyncd.conf"
	kill -HUP "$(cat "$D/ocd.pid")"
	sleep 0.5
	WANT=0 spair reload "rsync://127.0.0.1:_PORT_/"
	grep -q '^late *	added later$' "$T/oc.reload.log"
	WANT=0 TREES=1 spair reloadpull -a "rsync://127.0.0.1:_PORT_/late/deep/" "$T/_DST_/"
}

# Last in the file: everything above ran through this daemon.
@test "daemon server: the daemon printed no sanitizer report or crash" {
	if grep -nE 'Sanitizer|runtime error|Segmentation|core dumped' "$D/ocd.out"; then
		false
	fi
}
