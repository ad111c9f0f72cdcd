#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# The same comparisons as engine.bats, over a real ssh: Debian's sshd is
# started on 127.0.0.1 (a free port) with a throwaway host key and a
# throwaway user key, and oc-rsync and rsync reach the far side through
# `ssh -F CONFIG h`. This is the transport users run, with its own pipe
# and half-close behaviour, which the local remote shell (lrsh) does not
# have. sshd runs under `timeout`, so it stops by itself even if teardown
# never runs. Needs root (sshd's privilege separation); skipped otherwise.

load common

setup_file() {
	common_setup_file
	[ "$(id -u)" = 0 ] || return 0
	[ -x /usr/sbin/sshd ] || return 0
	mk_tree "$T/src"
	local d="$T/ssh" port
	mkdir -p "$d" /run/sshd
	chmod 700 "$d"
	ssh-keygen -q -t ed25519 -N '' -f "$d/host_key"
	ssh-keygen -q -t ed25519 -N '' -f "$d/user_key"
	cp "$d/user_key.pub" "$d/authorized_keys"
	# a free port: bind to 0, read it back, release it
	port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	cat >"$d/sshd_config" <<-EOF
		ListenAddress 127.0.0.1
		Port $port
		HostKey $d/host_key
		AuthorizedKeysFile $d/authorized_keys
		PidFile $d/sshd.pid
		PermitRootLogin prohibit-password
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
		StrictModes no
		PrintMotd no
		AcceptEnv OC_RSYNC_*
	EOF
	cat >"$d/ssh_config" <<-EOF
		Host h
		HostName 127.0.0.1
		Port $port
		User root
		IdentityFile $d/user_key
		IdentitiesOnly yes
		BatchMode yes
		StrictHostKeyChecking no
		UserKnownHostsFile /dev/null
		LogLevel ERROR
	EOF
	timeout -k 10 1800 /usr/sbin/sshd -D -e -f "$d/sshd_config" 2>"$d/sshd.log" &
	echo $! >"$d/timeout.pid"
	# wait until it answers (at most 10 s)
	local i
	for i in $(seq 100); do
		ssh -F "$d/ssh_config" h true 2>/dev/null && break
		sleep 0.1
	done
}

teardown_file() {
	stop_servers "$T/ssh/timeout.pid"
}

setup() {
	[ "$(id -u)" = 0 ] || skip "sshd needs root"
	[ -x /usr/sbin/sshd ] || skip "openssh-server is not installed"
	ssh -F "$T/ssh/ssh_config" h true || {
		cat "$T/ssh/sshd.log"
		false
	}
	export RSH="ssh -F $T/ssh/ssh_config"
}

@test "sshd: the far side really is a login through sshd" {
	# the remote command runs in root's home with sshd's environment
	run ssh -F "$T/ssh/ssh_config" h 'echo "$SSH_CONNECTION"'
	[ "$status" -eq 0 ]
	[[ "$output" == 127.0.0.1\ *\ 127.0.0.1\ * ]]
}

@test "sshd: -ai" {
	run_pair -ai
}

@test "sshd: -aHi --stats" {
	ORDER="env LC_ALL=C sort" run_pair -aHi --stats
}

@test "sshd: -az" {
	run_pair -az
}

@test "sshd: update of a changed tree with --delete -i (delta transfer)" {
	prep() {
		cp -a "$T/src" "$1"
		rm -f "$1/small" "$1/hard1"
		printf 'extra\n' >"$1/extra"
		mkdir -p "$1/olddir/x"
		head -c 1000 /dev/zero | dd of="$1/sub/big" bs=1 seek=5000000 conv=notrunc 2>/dev/null
		touch -d '2020-01-01' "$1/sub/big"
	}
	PREP=prep run_pair -ai --delete
}
