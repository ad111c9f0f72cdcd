#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The main job in one command (make demo): oc-rsync copies a generated sample
# tree, the tree changes, and a second run with -i --stats sends only what
# changed, as a delta. Everything lives under BUILD/demo.
set -eu
B=${1:-build}
OC="$B/bin/oc-rsync"
D="$B/demo"
rm -rf "$D"
mkdir -p "$D/src/docs" "$D/src/data/2026" "$D/src/empty"
i=0
while [ $i -lt 200 ]; do
	printf 'note %d\n' "$i" >"$D/src/docs/note$i.txt"
	i=$((i + 1))
done
head -c $((8 << 20)) /dev/urandom >"$D/src/data/2026/big.bin"
ln -s docs/note1.txt "$D/src/latest"

echo "== first copy: oc-rsync -a --stats src/ dst/"
"$OC" -a --stats "$D/src/" "$D/dst/"

echo
echo "== changing the tree: one note edited, one removed, 4 KiB rewritten inside big.bin"
printf 'edited\n' >>"$D/src/docs/note7.txt"
rm "$D/src/docs/note9.txt"
head -c 4096 /dev/urandom | dd of="$D/src/data/2026/big.bin" bs=4096 seek=700 conv=notrunc 2>/dev/null
# a new mtime rsync's quick check can see even on a coarse-timestamp filesystem
touch -d '2026-01-01 12:00:00' "$D/src/docs/note7.txt" "$D/src/data/2026/big.bin"

echo
echo "== sync again over a remote shell (delta transfer): oc-rsync -ai --delete --stats"
"$OC" -ai --delete --stats -e "$(dirname "$0")/../tests/interop/lrsh" "$D/src/" "localhost:$D/dst/"

if diff -r "$D/src" "$D/dst" >/dev/null; then
	echo
	echo "== src and dst are identical"
else
	echo "== src and dst differ" >&2
	exit 1
fi

# The daemon: oc-rsyncd on a free loopback port with a sample rsyncd.conf,
# its module list, a pull from it with oc-rsync, then it stops.
OCD="$B/bin/oc-rsyncd"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
UIDS=""
[ "$(id -u)" = 0 ] && UIDS="uid = 0
gid = 0"
cat >"$D/rsyncd.conf" <<CONF
$UIDS
use chroot = false
log file = $D/rsyncd.log
[demo]
 path = $D/src
 comment = the demo's source tree
 read only = true
CONF
echo
echo "== oc-rsyncd --no-detach --address=127.0.0.1 --port=$PORT --config=$D/rsyncd.conf"
timeout 60 "$OCD" --no-detach --address=127.0.0.1 --port="$PORT" --config="$D/rsyncd.conf" &
DPID=$!
trap 'kill $DPID 2>/dev/null' EXIT
i=0
until python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 50 ] || { echo "oc-rsyncd did not start" >&2; exit 1; }
	sleep 0.1
done
echo "== its modules: oc-rsync rsync://127.0.0.1:$PORT/"
"$OC" "rsync://127.0.0.1:$PORT/"
echo "== a pull from it: oc-rsync -a --stats rsync://127.0.0.1:$PORT/demo/ dst-daemon/"
"$OC" -a --stats "rsync://127.0.0.1:$PORT/demo/" "$D/dst-daemon/"
kill "$DPID"
wait "$DPID" 2>/dev/null || true
trap - EXIT
if diff -r "$D/src" "$D/dst-daemon" >/dev/null; then
	echo "== the daemon's copy is identical; oc-rsyncd stopped"
else
	echo "== the daemon's copy differs" >&2
	exit 1
fi
