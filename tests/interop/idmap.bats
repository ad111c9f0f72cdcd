#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Owners and groups by name, as rsync maps them (upstream uidlist.c): the
# far side (nsrsh) sees a passwd where "daemon" is uid 1234 and a group
# file where "mail" is gid 5678, while this side has daemon 1 and mail 8.
# A file owned 1234:5678 over there arrives here as 1:8, and one owned
# 1:8 here arrives there as 1234:5678; ids without a name on the sending
# side stay as they are; --numeric-ids maps nothing. Each case compares
# with rsync on both ends, in all four directions. Needs root.

load common

setup_file() {
	common_setup_file
	[ "$(id -u)" = 0 ] || return 0
	export FAKE_ETC="$T/etc"
	mkdir -p "$FAKE_ETC"
	printf 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1234:5678::/:/bin/false\n' >"$FAKE_ETC/passwd"
	printf 'root:x:0:\nmail:x:5678:\n' >"$FAKE_ETC/group"
	mkdir -p "$T/src"
	for f in far near nameless; do printf '%s\n' "$f" >"$T/src/$f"; done
	chown 1234:5678 "$T/src/far"      # named on the far side only
	chown daemon:mail "$T/src/near"   # named on this side only
	chown 4242:4343 "$T/src/nameless" # named nowhere
	touch -d '2024-03-04 05:06:07' "$T/src"/* "$T/src"
}

setup() {
	[ "$(id -u)" = 0 ] || skip "needs root (unshare -m, chown)"
	unshare -m true 2>/dev/null || skip "no mount namespaces here"
	export RSH="$BATS_TEST_DIRNAME/nsrsh"
}

@test "idmap: -a maps owners and groups by name" {
	run_pair -ai
}

@test "idmap: --numeric-ids keeps the numbers" {
	run_pair -ai --numeric-ids
}

@test "idmap: the mapping shows: far's 1234:5678 arrives here as daemon:mail" {
	rm -rf "$T/pulled"
	"$OC" -a -e "$RSH" "h:$T/src/" "$T/pulled/"
	[ "$(stat -c %u:%g "$T/pulled/far")" = 1:8 ]
	[ "$(stat -c %u:%g "$T/pulled/nameless")" = 4242:4343 ]
}
