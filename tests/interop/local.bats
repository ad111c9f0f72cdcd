#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Local copies (issue 7): `oc-rsync OPTS SRC/... DST/` with no host on either
# side, against `rsync --no-i-r OPTS SRC/... DST/` on the same trees. Each
# case compares the destination trees (treesig.sh: content, type, mode,
# owner, mtime to the ns, link targets, hard-link groups), the -i and
# --stats output (common.bash's MASK: byte counts and times left out) and
# the exit codes. Every case runs oc-rsync three ways: as it is, with
# OC_RSYNC_ASYNC=0 (single-threaded) and with OC_RSYNC_LOCAL=0 (the
# protocol engine even where the local-copy path would take the run), so
# the suite holds before and after that path lands.
#
# Trees: the sample tree (common.bash's mk_tree), a tree of many small
# files (OC_LOCAL_FILES files in OC_LOCAL_FILES/100 directories; default
# 50,000 when CI is set, else 5,000), three roots fanned into one
# destination, and a tree of sparse files. The reference runs with
# --no-i-r, as in the other suites: oc-rsync has no incremental recursion,
# and rsync prints some lines in another order with it (one case checks
# the trees against rsync's default too).

load common

setup_file() {
	common_setup_file
	# Work on tmpfs where there is room: on ext4 without a journal (this
	# VM's /tmp), creating 50,000 files right after deleting as many is
	# about 10x slower (bench/README.md), and every case does that.
	# OC_LOCAL_TMP names another folder.
	if [ -n "${OC_LOCAL_TMP:-}" ]; then
		T=$(mktemp -d "$OC_LOCAL_TMP/oc-local.XXXXXX")
	elif [ -w /dev/shm ] && [ "$(df -Pm /dev/shm | awk 'NR == 2 {print $4}')" -gt 4096 ]; then
		T=$(mktemp -d /dev/shm/oc-local.XXXXXX)
	fi
	export T
	mk_tree "$T/src"
	mk_many "$T/many" "${OC_LOCAL_FILES:-$([ -n "${CI:-}" ] && echo 50000 || echo 5000)}"
	mk_roots "$T/roots"
	mk_sparse "$T/sparse"
}

teardown_file() {
	case $T in
	"$BATS_FILE_TMPDIR") ;;
	*/oc-local.*) rm -rf "$T" ;;
	esac
}

# mk_many DIR N: N files of 0..2 KiB in N/100 directories (at least one),
# a few hard links and symlinks among them, fixed old mtimes.
mk_many() {
	"$PY" - "$1" "$2" <<'EOF'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
ndirs = max(1, n // 100)
r = random.Random(7)
t = 1700000000 * 10**9
for i in range(n):
    d = os.path.join(root, "d%03d" % (i % ndirs))
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, "f%05d" % i)
    with open(p, "wb") as f:
        f.write(r.randbytes(r.randint(0, 2048)))
    os.utime(p, ns=(t, t + i * 1000 + 123))
for k in range(min(ndirs, 20)):
    d = os.path.join(root, "d%03d" % k)
    os.link(os.path.join(d, "f%05d" % k), os.path.join(d, "hl%d" % k))
    os.symlink("f%05d" % k, os.path.join(d, "sl%d" % k))
    os.utime(os.path.join(d, "sl%d" % k), ns=(t, t), follow_symlinks=False)
for k in range(ndirs):
    os.utime(os.path.join(root, "d%03d" % k), ns=(t, t + k))
os.utime(root, ns=(t, t))
EOF
}

# mk_roots DIR: three roots a, b and c whose trees overlap (a directory
# in all three, with other files in each), a hard link pair, a symlink out
# of its root. And b2 and c2: a file name
# in several roots (rsync keeps the first root's), a directory in one root
# where another has a file of the same name; e and f whose names appear in
# no other root.
mk_roots() {
	local d=$1
	mkdir -p "$d/a/shared/x" "$d/b/shared/y" "$d/c/shared" "$d/a/only_a" "$d/c/only_c/deep"
	printf 'a dup\n' >"$d/a/dup"
	printf 'a x\n' >"$d/a/shared/x/file"
	printf 'b y\n' >"$d/b/shared/y/file"
	printf 'c s\n' >"$d/c/shared/file"
	printf 'a s\n' >"$d/a/shared/file_a"
	printf 'b\n' >"$d/b/b_only"
	head -c 100000 /dev/urandom >"$d/c/only_c/deep/blob"
	ln "$d/c/only_c/deep/blob" "$d/c/only_c/blob_link"
	ln -s ../dup "$d/a/only_a/up"
	chmod 700 "$d/b/shared"
	chmod 640 "$d/c/shared/file"
	mkdir -p "$d/b2/clash" "$d/c2"
	printf 'b dup, longer\n' >"$d/b2/dup"
	printf 'c dup\n' >"$d/c2/dup"
	printf 'in b\n' >"$d/b2/clash/f"
	printf 'c clash file\n' >"$d/c2/clash"
	mkdir -p "$d/e/only_e" "$d/f/only_f/deep"
	printf 'e\n' >"$d/e/only_e/file"
	printf 'e top\n' >"$d/e/e_top"
	printf 'f\n' >"$d/f/only_f/deep/file"
	find "$d" -mindepth 1 -exec touch -h -d '2024-05-06 07:08:09.5' {} +
	touch -d '2022-01-01 00:00:00.25' "$d/b2/dup"
}

# mk_sparse DIR: files with holes, one all zeros, one with a zero run
# shorter than a block, one that ends in a hole.
mk_sparse() {
	local d=$1
	mkdir -p "$d"
	truncate -s 8M "$d/hole_only"
	printf 'head' >"$d/holes"
	printf 'middle' | dd of="$d/holes" bs=1 seek=$((3 << 20)) conv=notrunc 2>/dev/null
	printf 'tail' | dd of="$d/holes" bs=1 seek=$((7 << 20)) conv=notrunc 2>/dev/null
	head -c $((1 << 20)) /dev/zero >"$d/zeros"
	{ head -c 5000 /dev/urandom; head -c 300 /dev/zero; head -c 5000 /dev/urandom; } >"$d/short_run"
	printf 'start' >"$d/tail_hole"
	truncate -s 5M "$d/tail_hole"
	find "$d" -mindepth 1 -exec touch -d '2024-01-01 00:00:00' {} +
}

# The ways oc-rsync runs each case: as it is, single-threaded, and with the
# local-copy path turned off.
OCMODES=${OCMODES:-"plain async0 local0"}

oc_env() {
	case $1 in
	plain) echo "env -u OC_RSYNC_ASYNC OC_RSYNC_LOCAL=1" ;;
	async0) echo "env OC_RSYNC_LOCAL=1 OC_RSYNC_ASYNC=0" ;;
	local0) echo "env -u OC_RSYNC_ASYNC OC_RSYNC_LOCAL=0" ;;
	esac
}

# local_pair OPTS...: `OPTS SRC/... DST/` with rsync into $T/lref and with
# oc-rsync into $T/lout.MODE for each of $OCMODES; compares trees, output
# and exit codes and reports every difference before failing. Reads:
#   SRCS   source roots (default $T/src); each is passed as "ROOT/"
#   PREP   a function run on each destination (path as $1) before the run
#   POST   a function called as POST REF OUT after each pair (a further check)
#   ORDER, TREE_FILTER, RUN_TIMEOUT as in run_pair; ORDER_<mode> (e.g.
#          ORDER_async0) in place of ORDER for that mode only
#   XMASK  a further grep pattern of lines left out of both outputs
#   REFOPTS  options both get first (default --no-i-r, which oc-rsync takes
#          as rsync does: it changes what -v prints)
local_pair() {
	local m out ref="$T/lref" orc rrc bad=0 tmo=${RUN_TIMEOUT:-120} r ord
	local -a srcs=()
	for r in ${SRCS:-$T/src}; do srcs+=("$r/"); done
	rm -rf "$ref" "$ref.log"
	[ -n "${PREP:-}" ] && $PREP "$ref"
	timeout "$tmo" rsync ${REFOPTS---no-i-r} "$@" "${srcs[@]}" "$ref/" >"$ref.log" 2>&1 &&
		rrc=0 || rrc=$?
	for m in $OCMODES; do
		out="$T/lout.$m"
		rm -rf "$out" "$out.log"
		[ -n "${PREP:-}" ] && $PREP "$out"
		timeout "$tmo" $(oc_env "$m") "$OC" ${REFOPTS---no-i-r} "$@" "${srcs[@]}" "$out/" >"$out.log" 2>&1 &&
			orc=0 || orc=$?
		diff <("$SIG" "$ref" | ${TREE_FILTER:-cat}) <("$SIG" "$out" | ${TREE_FILTER:-cat}) || {
			echo "tree differs (< rsync, > oc-rsync): $m opts: $*"
			show_logs "$ref" "$out"; bad=1; continue; }
		eval "ord=\${ORDER_$m:-\${ORDER:-cat}}"
		diff <(grep -v "$MASK${XMASK:+\\|$XMASK}" "$ref.log" | sed -e "s|$ref|DEST|g" -e "$ERRLINE" | $ord) \
			<(grep -v "$MASK${XMASK:+\\|$XMASK}" "$out.log" | sed -e "s|$out|DEST|g" -e "$ERRLINE" | $ord) || {
			echo "output differs (< rsync, > oc-rsync): $m opts: $*"
			bad=1; continue; }
		[ "$orc" = "$rrc" ] || {
			echo "exit code differs: $m opts: $*: rsync $rrc, oc-rsync $orc"
			show_logs "$ref" "$out"; bad=1; continue; }
		[ -z "${POST:-}" ] || $POST "$ref" "$out" || {
			echo "check $POST failed: $m opts: $*"; bad=1; }
	done
	return $bad
}

# Destinations for updates: the reference's copy of the source made by
# rsync itself, then changed (so the source looks changed against it).
copy_of() { rsync -aH --no-i-r "$1/" "$2/"; }

prep_uptodate() { copy_of "${SRCS:-$T/src}" "$1"; }

prep_changed() {
	copy_of "$T/src" "$1"
	rm -f "$1/small" "$1/hard1" "$1/with space/file name"
	printf 'extra\n' >"$1/extra"
	mkdir -p "$1/olddir/x" "$1/deep/stale"
	printf 'o\n' >"$1/olddir/x/o"
	printf 'changed\n' >"$1/deep/a/b/c/d/e/f/leaf"
	touch -d '2020-01-01' "$1/deep/a/b/c/d/e/f/leaf"
	head -c 1000 /dev/zero | dd of="$1/sub/big" bs=1 seek=5000000 conv=notrunc 2>/dev/null
	touch -d '2020-01-01' "$1/sub/big"
	touch -d '2021-01-01' "$1/mid"    # same bytes, other mtime
	chmod 644 "$1/mid"
	rm "$1/rel_link" && ln -s elsewhere "$1/rel_link"
	touch -h -d '2024-03-04 05:06:07.123456789' "$1/rel_link"
	# What only the destination has keeps fixed times (else each copy's
	# would differ): deepest first.
	touch -d '2019-02-03 04:05:06.7' "$1/olddir/x/o" "$1/olddir/x" "$1/olddir" \
		"$1/deep/stale" "$1/extra"
}

# --- the sample tree -----------------------------------------------------------

@test "local: -a -i --stats" {
	local_pair -ai --stats
}

# An old time on the empty destination: rsync compares a directory's time
# in whole seconds here and we to the nanosecond (docs/security.md notes
# it), so one made in the same second as the source's would differ by luck.
prep_old_dir() {
	mkdir -p "$1"
	touch -d '2000-01-01 00:00:00' "$1"
}

@test "local: -a into an existing empty destination, -v" {
	PREP=prep_old_dir local_pair -av
}

@test "local: -aH -i --stats" {
	# When a hard link is reported depends on timing, in rsync too.
	ORDER="env LC_ALL=C sort" local_pair -aHi --stats
}

@test "local: -ac -i --stats, new and up to date" {
	local_pair -aci --stats
	PREP=prep_changed local_pair -aci --stats
}

@test "local: the trees equal rsync's default (incremental recursion)" {
	REFOPTS= local_pair -a
	REFOPTS= local_pair -aH
}

# With incremental recursion (rsync's default) the local-copy path walks
# the list on a thread of its own while the generator works, a directory
# at a time, and gives the entries' memory back as it goes (flist.c
# oce_flist_stream_start()); its output is compared as it is.
@test "local: incremental recursion -ai --stats: new, no-change, changed" {
	REFOPTS= local_pair -ai --stats
	# (the protocol path has no incremental recursion: "building file list")
	REFOPTS= OCMODES="plain async0" local_pair -avi
	REFOPTS= PREP=prep_uptodate local_pair -ai --stats
	REFOPTS= PREP=prep_changed local_pair -ai --stats
	REFOPTS= PREP=prep_changed local_pair -ai --stats --no-whole-file
}

@test "local: no-change re-run -ai --stats" {
	PREP=prep_uptodate local_pair -ai --stats
	PREP=prep_uptodate ORDER="env LC_ALL=C sort" local_pair -aHi --stats
}

@test "local: update of a changed tree -ai --stats (whole files)" {
	PREP=prep_changed local_pair -ai --stats
}

@test "local: update of a changed tree --no-whole-file (delta)" {
	PREP=prep_changed local_pair -ai --stats --no-whole-file
}

# Known difference (see "known:" below): on the protocol path with
# OC_RSYNC_ASYNC=0 oc-rsync prints a received file's line before the
# deletions the generator makes in the next directory; rsync's generator
# runs ahead of its receiver. The cases whose options take the protocol
# path compare that mode's output sorted. The local-copy path holds item
# lines back and lets deletions overtake them where rsync's generator does
# (local_pipe.c hold_item()), in both modes: compared as they are.
SORTED="env LC_ALL=C sort"

@test "local: --delete and its timings" {
	local o
	for o in --delete --delete-before --delete-during; do
		PREP=prep_changed local_pair -ai --stats "$o"
	done
	for o in --delete-delay --delete-after; do
		PREP=prep_changed local_pair -ai --stats "$o"
	done
}

@test "local: --delete-excluded and --delete with an exclude" {
	# --delete-excluded takes the protocol path (see "known:" below for ASYNC=0)
	PREP=prep_changed ORDER_async0=$SORTED local_pair -ai --stats --delete-excluded --exclude=mid --exclude='olddir/'
	PREP=prep_changed local_pair -ai --stats --delete --exclude=mid --exclude='olddir/'
}

@test "local: --inplace update (the files keep their inodes)" {
	inodes() {
		diff <(cd "$1" && stat -c '%n %i' sub/big deep/a/b/c/d/e/f/leaf) \
			<(cd "$1" && cat .inodes)
	}
	prep_inplace() {
		prep_changed "$1"
		(cd "$1" && stat -c '%n %i' sub/big deep/a/b/c/d/e/f/leaf >.inodes)
	}
	same_inodes() {
		inodes "$1" && inodes "$2"
	}
	PREP=prep_inplace POST=same_inodes TREE_FILTER="grep -v ^.inodes" \
		local_pair -ai --stats --inplace
	PREP=prep_inplace POST=same_inodes TREE_FILTER="grep -v ^.inodes" \
		local_pair -ai --stats --inplace --no-whole-file
}

@test "local: filters --exclude, --include, -f" {
	local_pair -ai --stats --exclude='*big' --exclude='deep/a/b/'
	local_pair -ai --stats --include='*/' --include='s*' --exclude='*'
	local_pair -ai --stats -f '- mid' -f '+ sub/' -f '+ sub/**' -f '- /*'
	local_pair -ai --stats -f 'P sub/' -f '- *' --delete
	# a P rule takes the protocol path (see "known:" below for ASYNC=0)
	PREP=prep_changed ORDER_async0=$SORTED local_pair -ai --stats -f 'P extra' -f '- olddir/' --delete
}

@test "local: --files-from" {
	printf '%s\n' small sub/big 'with space/file name' deep/a/b rel_link >"$T/list"
	local_pair -ai --stats --files-from="$T/list"
	local_pair -ai --stats -r --files-from="$T/list"
	PREP=prep_changed local_pair -ai --stats --files-from="$T/list" --delete
}

@test "local: -S sparse files (holes kept as rsync keeps them)" {
	blocks() {
		diff <(cd "$1" && stat -c '%n %s %b' * | sort) <(cd "$2" && stat -c '%n %s %b' * | sort)
	}
	SRCS=$T/sparse POST=blocks local_pair -ai --stats -S
	SRCS=$T/sparse local_pair -ai --stats -S --no-whole-file
	# an update over older copies
	old() { copy_of "$T/sparse" "$1"; touch -d 2020-01-01 "$1"/*; }
	SRCS=$T/sparse PREP=old POST=blocks local_pair -ai --stats -S
}

# --- many small files ------------------------------------------------------------
# Known difference (see "known:" below): "File list size" is what rsync's
# sender had flushed to the pipe to its receiver while it sent the list:
# 0 for a list that fits its 32 KiB buffer, and for a long one a count that
# depends on that buffering (720,884 for 50,000 files with --no-i-r; with
# incremental recursion the file data sent between sub-lists counts too,
# and a no-change run says 0). The local-copy path has no pipe and says 0.
# It is a byte count like "sent N bytes", which every case leaves out.
MANYMASK='^File list size'

@test "local: many files -ai --stats, new" {
	SRCS=$T/many XMASK=$MANYMASK local_pair -ai --stats
}

@test "local: many files -aHi --stats, new" {
	SRCS=$T/many XMASK=$MANYMASK ORDER="env LC_ALL=C sort" local_pair -aHi --stats
}

# More entries than the walk may be ahead of the generator (8,192), so
# the walk waits for entries to be done with, in CI's 50,000-file tree.
@test "local: many files with incremental recursion, new and no-change, -ai --stats" {
	# some files changed in every tenth directory, spread over the tree
	prep_changed_many() {
		copy_of "$T/many" "$1"
		local d
		for d in "$1"/d*0; do
			rm -f "$d"/f*1
			touch -d 2020-01-01 "$d"/f*2
		done
	}
	SRCS=$T/many XMASK=$MANYMASK REFOPTS= local_pair -ai --stats
	SRCS=$T/many XMASK=$MANYMASK REFOPTS= PREP=prep_uptodate local_pair -ai --stats
	SRCS=$T/many XMASK=$MANYMASK REFOPTS= PREP=prep_changed_many local_pair -ai --stats
}

@test "local: many files, no-change re-run, -ai and -aci" {
	SRCS=$T/many XMASK=$MANYMASK PREP=prep_uptodate local_pair -ai --stats
	SRCS=$T/many XMASK=$MANYMASK PREP=prep_uptodate local_pair -aci --stats
}

@test "local: many files, update of some with --delete" {
	prep_many() {
		copy_of "$T/many" "$1"
		local d
		for d in "$1"/d00[0-4]; do
			rm -f "$d"/f*1
			touch -d 2020-01-01 "$d"/f*2
			printf 'other\n' >"$d/f00003"
			printf 'new\n' >"$d/stale"
		done
		mkdir -p "$1/stale_dir/x"
		touch -d '2019-02-03 04:05:06.7' "$1"/d00[0-4]/stale "$1/stale_dir/x" "$1/stale_dir"
	}
	SRCS=$T/many XMASK=$MANYMASK PREP=prep_many local_pair -ai --stats --delete
}

@test "local: many files all sent, deletions spread over the tree (rsync's push points)" {
	# Every file goes again and every tenth directory has a stale file:
	# each deletion line must come where rsync's generator pushes its
	# queued items (every 200th entry), not in the generator's order.
	prep_spread() {
		copy_of "$T/many" "$1"
		find "$1" -name 'f*' -exec touch -d 2020-01-01 {} +
		local d
		for d in "$1"/d*0; do
			printf 'stale\n' >"$d/stale"
			touch -d '2019-02-03 04:05:06.7' "$d/stale" "$d"
		done
	}
	SRCS=$T/many XMASK=$MANYMASK PREP=prep_spread local_pair -ai --stats --delete
}

# --- several roots into one destination ---------------------------------------------

@test "local: three roots fanned in, -ai --stats" {
	SRCS="$T/roots/a $T/roots/b $T/roots/c" local_pair -ai --stats
}

@test "local: three roots fanned in, -aHi --stats and -aci" {
	SRCS="$T/roots/a $T/roots/b $T/roots/c" ORDER="env LC_ALL=C sort" local_pair -aHi --stats
	SRCS="$T/roots/a $T/roots/b $T/roots/c" local_pair -aci --stats
}

@test "local: three roots fanned in, update with --delete (disjoint names)" {
	# No name in two roots here (that case is below).
	prep_roots() {
		rsync -a --no-i-r "$T/roots/a/" "$T/roots/e/" "$T/roots/f/" "$1/"
		printf 'stale\n' >"$1/stale"
		printf 'stale\n' >"$1/shared/x/stale"
		printf 'stale\n' >"$1/only_f/stale"
		touch -d 2020-01-01 "$1/only_e/file"
		touch -d '2019-02-03 04:05:06.7' "$1/stale" "$1/shared/x/stale" "$1/shared/x" \
			"$1/only_f/stale" "$1/only_f"
	}
	SRCS="$T/roots/a $T/roots/e $T/roots/f" PREP=prep_roots local_pair -ai --stats --delete
	SRCS="$T/roots/a $T/roots/e $T/roots/f" PREP=prep_roots OCMODES="plain local0" local_pair -ai --stats --delete-after
}

@test "local: three roots, one of them the sample tree, with filters" {
	SRCS="$T/roots/a $T/src $T/roots/c" local_pair -ai --stats --exclude=big --exclude='dup'
}

# --- known differences ------------------------------------------------------------
# Each is a difference from rsync found by this suite, reported and not yet
# fixed; they are skipped unless OC_LOCAL_STRICT=1, which runs them strictly
# (and they fail until fixed). The cases above work around them.

strict() {
	[ -n "${OC_LOCAL_STRICT:-}" ] || skip "known difference: $1 (OC_LOCAL_STRICT=1 runs it)"
}

@test "local: a name in several roots is sent once, the first root's" {
	# Smallest case: a/f, b/d/f, c/d (a file): rsync keeps the directory d
	# (a directory wins over a file of the same name), else the first
	# root's entry of a name.
	SRCS="$T/roots/a $T/roots/b2 $T/roots/c2" local_pair -ai --stats
	SRCS="$T/roots/a $T/roots/b2 $T/roots/c2" ORDER=$SORTED local_pair -aHi --stats
}

prep_shared_roots() {
	rsync -a --no-i-r "$T/roots/a/" "$T/roots/b/" "$T/roots/c/" "$1/"
	printf 'stale\n' >"$1/stale"
	printf 'stale\n' >"$1/shared/x/stale"
	touch -d 2020-01-01 "$1/shared/file"
	touch -d '2019-02-03 04:05:06.7' "$1/stale" "$1/shared/x/stale" "$1/shared/x"
}

@test "local: --delete with a directory in several roots keeps it" {
	# a/s/x, b/s/y, c/s/z into an up-to-date DST: only the stale files go
	SRCS="$T/roots/a $T/roots/b $T/roots/c" PREP=prep_shared_roots \
		local_pair -ai --stats --delete
}

@test "local: --delete-delay, --delete-after with OC_RSYNC_ASYNC=0 do not hang" {
	OCMODES=async0 RUN_TIMEOUT=30 PREP=prep_changed local_pair -ai --stats --delete-delay
	OCMODES=async0 RUN_TIMEOUT=30 PREP=prep_changed local_pair -ai --stats --delete-after
}

@test "known: OC_RSYNC_ASYNC=0 on the protocol path prints deletions in rsync's order" {
	strict "with OC_RSYNC_ASYNC=0 a received file's line comes before the next directory's deletions"
	# --delete-excluded and a P rule take the protocol path
	OCMODES=async0 PREP=prep_changed local_pair -ai --stats --delete-excluded --exclude=mid --exclude='olddir/'
	OCMODES=async0 PREP=prep_changed local_pair -ai --stats -f 'P extra' -f '- olddir/' --delete
}

@test "local: --delete across roots prints a directory's deletions where rsync does" {
	# a directory in several roots: its deletions print where rsync's
	# generator makes them, ahead of the item lines queued before them
	SRCS="$T/roots/a $T/roots/b $T/roots/c" PREP=prep_shared_roots OCMODES="plain async0" \
		local_pair -ai --stats --delete
}

@test "known: File list size of a long list" {
	strict "File list size 0 where rsync says 720,884 (the bytes its sender had flushed to its pipe)"
	SRCS=$T/many OCMODES=plain local_pair -a --stats
}
