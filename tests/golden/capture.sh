#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Capture golden wire streams from the real rsync 3.5.0 for ocproto's tests.
#
#   sudo bash tests/golden/capture.sh OUTDIR        (run from the repo root)
#
# Needs: root (mknod for the device entries, chown to the test user, and a
# receiver that keeps ownership), rsync 3.5.0 as `rsync` on PATH, bash, cc.
# Creates, if missing, a user and group `ocgold` with uid/gid 4242 (and
# fails if that name exists with other ids), so that the file lists carry a
# named non-root owner with fixed numbers; remove them afterwards with
# `userdel ocgold; groupdel ocgold` if you like.
#
# How: every transfer runs through a fake remote shell (-e RSH, the approach
# of the earlier captures): RSH drops the host name, runs the `rsync
# --server ...` command locally and tees both pipes, so <scenario>.c2s is
# what the client wrote and <scenario>.s2c what the server wrote.
# <scenario>.args has the client command line (RSH for the shell) and the
# server's argv. Source trees are rebuilt for every scenario in a temporary
# directory with fixed contents (tests/golden/ocgen.h, a seeded generator
# the unit test shares), fixed modes, owners and mtimes, and all paths on
# the command lines are relative, so the bytes are the same on every run;
# see README.md for the few bytes that may still differ (timing stats).
set -euo pipefail
export LC_ALL=C TZ=UTC
umask 022

out=${1:?usage: capture.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)

[ "$(id -u)" = 0 ] || { echo "capture.sh: must run as root" >&2; exit 1; }
case $(rsync --version 2>/dev/null | sed -n 1p) in
*' version 3.5.0 '*) ;;
*) echo "capture.sh: needs rsync 3.5.0" >&2; exit 1 ;;
esac

# --- the test user and group, fixed numbers -----------------------------------
ID=4242
if getent group ocgold >/dev/null; then
	[ "$(getent group ocgold | cut -d: -f3)" = $ID ] || { echo "group ocgold is not gid $ID" >&2; exit 1; }
else
	groupadd -g $ID ocgold
fi
if getent passwd ocgold >/dev/null; then
	[ "$(id -u ocgold)" = $ID ] || { echo "user ocgold is not uid $ID" >&2; exit 1; }
else
	useradd -u $ID -g $ID -M -N -d /nonexistent -s /usr/sbin/nologin ocgold
fi

W=$(mktemp -d /tmp/ocgolden.XXXXXX)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$W"' EXIT # KEEP=1 keeps the trees
cd "$W"

# --- the content generator (same code as the unit test uses) -------------------
cat > ocgen.c <<EOF
#include <stdio.h>
#include <stdlib.h>
#include "$here/ocgen.h"
int main(int argc, char **argv)
{
	if (argc != 5) return 2;
	uint64_t seed = strtoull(argv[2], 0, 0);
	size_t len = strtoull(argv[3], 0, 0);
	uint8_t *b = malloc(len + 1), *n = malloc(len + OCGEN_INSERT + 1);
	size_t nl = len;
	ocgen_fill(seed, b, len);
	if (argv[1][0] == 'm') nl = ocgen_mutate(seed, b, len, n);
	FILE *f = fopen(argv[4], "wb");
	if (!f || fwrite(argv[1][0] == 'm' ? n : b, 1, nl, f) != nl || fclose(f)) return 1;
	return 0;
}
EOF
cc -O2 -o ocgen ocgen.c
gen() { ./ocgen fill "$@"; }	   # gen SEED SIZE FILE
mutate() { ./ocgen mutate "$@"; } # mutate SEED BASIS_SIZE FILE

# --- the fake remote shell -------------------------------------------------------
cat > rsh.sh <<'EOF'
#!/bin/bash
shift				# the host name
printf '%s\n' "$*" > "$CAP.srv"
"$@" < <(tee "$CAP.c2s") | tee "$CAP.s2c"
EOF
chmod 755 rsh.sh

T0='2020-01-02 03:04:05'
SEED=--checksum-seed=305419896
F_SEED=1 F_SIZE=262144	   # the changed file "f" of the basic tree
BIG_SEED=2 BIG_SIZE=3145728 # the changed large file of the delta scenario

settimes() { find "$1" -depth -exec touch -h -d "$T0" {} +; }

# Basic tree: a few new files plus f, whose older version waits at the
# receiver as the basis. f sorts first, so its token stream is the first of
# the session (zstd keeps one context across files).
basic_tree() {
	rm -rf src dst
	mkdir -p src/sub dst
	gen 3 1000 src/h.txt
	gen 4 5000 src/sub/b.bin
	: > src/sub/c
	chmod 600 src/sub/c
	mutate $F_SEED $F_SIZE src/f
	gen $F_SEED $F_SIZE dst/f
	settimes src
	settimes dst
	touch -d '2019-06-07 08:09:10' dst/f
}

# Rich tree for the file-list scenarios.
LONG=long_$(printf 'n%.0s' $(seq 1 215))_name # 225 bytes
rich_tree() {
	rm -rf src dst
	mkdir -p src/dir/emptydir src/hl src/$'caf\xc3\xa9' src/$'\xe6\x97\xa5\xe6\x9c\xac' dst
	gen 10 1234 src/file1
	gen 11 70000 src/dir/nested
	printf '#!/bin/sh\necho hi\n' > src/exec.sh
	chmod 755 src/exec.sh
	: > src/empty
	chmod 600 src/empty
	chmod 700 src/dir/emptydir
	ln -s file1 src/link
	ln -s /nonexistent/target/of/a/dangling/link src/dir/abs_link
	mknod -m 600 src/chr c 1 3
	mknod -m 640 src/blk b 7 0
	mkfifo -m 644 src/fifo
	gen 12 300 src/hl/one
	ln src/hl/one src/hl/two
	ln src/hl/one src/three
	gen 13 42 "src/$LONG"
	gen 14 77 src/$'caf\xc3\xa9'/$'na\xc3\xafve-\xc3\xbc.txt'
	gen 15 99 src/$'\xe6\x97\xa5\xe6\x9c\xac'/$'\xe3\x83\x95\xe3\x82\xa1\xe3\x82\xa4\xe3\x83\xab'
	gen 16 10 src/owned
	gen 17 11 src/gowned
	gen 18 12 src/uowned
	chown ocgold:ocgold src/owned src/dir
	chown root:ocgold src/gowned
	chown ocgold:root src/uowned
	chown -h ocgold:ocgold src/link
	settimes src
	touch -d '2021-02-03 04:05:06.123456789' src/file1
	touch -d '1999-12-31 23:59:59' src/dir/nested
}

delta_tree() {
	rm -rf src dst
	mkdir -p src dst
	mutate $BIG_SEED $BIG_SIZE src/big
	gen $BIG_SEED $BIG_SIZE dst/big
	settimes src
	settimes dst
	touch -d '2019-06-07 08:09:10' dst/big
}

# run NAME DIR(push|pull) OPTIONS...: one transfer of src/ to dst/.
run() {
	local name=$1 dir=$2
	shift 2
	local cmd
	if [ "$dir" = push ]; then
		cmd=(rsync "$@" "$SEED" -e ./rsh.sh src/ localhost:dst/)
	else
		cmd=(rsync "$@" "$SEED" -e ./rsh.sh localhost:src/ dst/)
	fi
	CAP="$W/cap" "${cmd[@]}"
	sleep 0.3 # let the client-side tee finish writing
	cmd[${#cmd[@]} - 3]=RSH
	{
		echo "client: ${cmd[*]}"
		echo "server: $(cat cap.srv)"
	} > "$out/$name.args"
	mv cap.c2s "$out/$name.c2s"
	mv cap.s2c "$out/$name.s2c"
	rm -f cap.srv
	echo "captured $name: $(stat -c %s "$out/$name.c2s") + $(stat -c %s "$out/$name.s2c") bytes"
}

# The destination must equal the source: contents, types, modes, owners, times.
listing() { (cd "$1" && find . -printf '%P %y %m %s %U %G %T@ %l\n' | sort); }
check_same() {
	if ! diff -r --no-dereference -x fifo src dst >/dev/null ||
		[ "$(listing src)" != "$(listing dst)" ]; then
		echo "capture.sh: $1: trees differ" >&2
		exit 1
	fi
}

basic_tree; run push push -a; check_same push
basic_tree; run pull pull -a; check_same pull
basic_tree; run push_z push -az; check_same push_z
basic_tree; run pull_z pull -az; check_same pull_z
for c in zstd lz4 zlibx zlib; do
	basic_tree; run push_z_$c push -az --compress-choice=$c; check_same push_z_$c
done
for c in md5 xxh128 xxh3 xxh64 md4; do
	basic_tree; run cs_$c push -a --checksum-choice=$c; check_same cs_$c
done

# The file-list scenarios: without incremental recursion, so the whole list
# and the uid/gid name lists come as one block.
manifest() {
	# name, type, permissions (octal), size, uid, gid, mtime seconds, link target
	(cd src && find . -mindepth 1 -printf '%P\t%y\t%m\t%s\t%U\t%G\t%Ts\t%l\n' | sort)
}
rich_tree; run flist_rich pull -aH --devices --specials --no-i-r; check_same flist_rich
manifest > "$out/flist_rich.manifest"
rich_tree; run flist_rich_numeric pull -aH --devices --specials --no-i-r --numeric-ids
check_same flist_rich_numeric

delta_tree; run delta push -a; cmp src/big dst/big
echo "done: $out"
