#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Listing files: one path (no destination) or --list-only. oc-rsync's
# output and exit code against rsync 3.5.0's for the same command: locally,
# over a remote shell in both roles (oc-rsync client with rsync --server,
# rsync client with oc-rsync --server), and from a daemon module.

load common

setup_file() {
	common_setup_file
	mk_tree "$T/src"
	# as root the daemon would become nobody, who may not read $T
	local ids=""
	[ "$(id -u)" = 0 ] && ids=$'uid = 0\ngid = 0\n'
	printf '%s[m]\n path = %s\n use chroot = false\n' "$ids" "$T/src" >"$T/rsyncd.conf"
}

# lpair NAME ARGS...: `rsync ARGS` against `oc-rsync ARGS` (as client; in
# both async modes) and, when a path is remote (_R_ marks it), also rsync
# as the client with oc-rsync as the server. Output and exit code equal.
lpair() {
	local name=$1 mode a rrc orc
	local -a rargs=() oargs=() sargs=()
	shift
	for a in "$@"; do
		rargs+=("${a//_R_/h:}")
	done
	cd "$T"
	timeout 60 rsync --no-i-r -e "$RSH" "${rargs[@]}" >"$T/ref.$name.log" 2>&1 && rrc=0 || rrc=$?
	[ -z "${WANT:-}" ] || [ "$rrc" = "$WANT" ] || {
		echo "setup: rsync gave $rrc, not $WANT: $*"
		cat "$T/ref.$name.log"
		return 1
	}
	for mode in 1 0; do
		OC_RSYNC_ASYNC=$mode timeout 60 "$OC" -e "$RSH" "${rargs[@]}" \
			>"$T/oc.$name.$mode.log" 2>&1 && orc=0 || orc=$?
		cmp_out "$name" "$T/oc.$name.$mode.log" "$rrc" "$orc" "oc-rsync client, async=$mode" ||
			return 1
	done
	case "$*" in
	*_R_*)
		timeout 60 rsync --no-i-r -e "$RSH" --rsync-path="$OC" "${rargs[@]}" \
			>"$T/srv.$name.log" 2>&1 && orc=0 || orc=$?
		cmp_out "$name" "$T/srv.$name.log" "$rrc" "$orc" "oc-rsync server" || return 1
		;;
	esac
}

cmp_out() {
	diff <(sed -e "$ERRLINE" "$T/ref.$1.log") <(sed -e "$ERRLINE" "$2") || {
		echo "output differs (< rsync, > $5): $1"
		return 1
	}
	[ "$3" = "$4" ] || {
		echo "exit code differs ($5): rsync $3, oc-rsync $4"
		cat "$2"
		return 1
	}
}

@test "listing: a local directory's contents, one level" {
	WANT=0 lpair l1 src/
	grep -q '^drwx' "$T/ref.l1.log"
}

@test "listing: -r, -rl (link targets), -h, --no-h" {
	WANT=0 lpair l2 -r src/
	WANT=0 lpair l3 -rl src/
	grep -q ' -> ' "$T/ref.l3.log"
	WANT=0 lpair l4 -rh src/
	WANT=0 lpair l5 -r --no-h src/
}

@test "listing: a directory named without a slash, -d, a single file" {
	WANT=0 lpair l6 src
	WANT=0 lpair l7 -d src/sub
	WANT=0 lpair l8 src/small
}

@test "listing: --list-only with a destination leaves it alone" {
	WANT=0 lpair l9 -a --list-only src/ "$T/nodst/"
	[ ! -e "$T/nodst" ]
}

@test "listing: filters and -R" {
	WANT=0 lpair l10 -r --exclude='*.tmp' --exclude=deep src/
	WANT=0 lpair l11 -rR src/sub
}

@test "listing: over a remote shell, both roles" {
	WANT=0 lpair r1 "_R_$T/src/"
	WANT=0 lpair r2 -rl "_R_$T/src/"
	WANT=0 lpair r3 -a --list-only "_R_$T/src/sub" "$T/nodst2/"
	[ ! -e "$T/nodst2" ]
}

@test "listing: a path that is not there (code 23)" {
	WANT=23 lpair e1 nosuch/
	WANT=23 lpair e2 "_R_$T/nosuch/"
}

@test "listing: files of a daemon module (RSYNC_CONNECT_PROG)" {
	local rrc orc
	export RSYNC_CONNECT_PROG="rsync --daemon --config=$T/rsyncd.conf"
	rsync -r rsync://x/m/sub/ >"$T/ref.d1.log" 2>&1 && rrc=0 || rrc=$?
	"$OC" -r rsync://x/m/sub/ >"$T/oc.d1.log" 2>&1 && orc=0 || orc=$?
	unset RSYNC_CONNECT_PROG
	[ "$rrc" = 0 ] || { cat "$T/ref.d1.log"; return 1; }
	cmp_out d1 "$T/oc.d1.log" "$rrc" "$orc" "oc-rsync daemon client"
}
