#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Merge filter rules (-F, -FF, ':' dir-merge and '.' merge with their
# modifiers) and -C/--cvs-exclude against Debian's rsync 3.5.0, in the four
# directions of run_pair (common.bash): oc-rsync as the client over a remote
# shell to `rsync --server`, and as the server under an rsync client. The
# trees, the -i output and the exit codes must match. With --delete the
# receiving side reads the per-directory files of the destination too, so
# those cases seed the destination first (PREP); where the "*deleting" lines
# fall among the others depends on timing (in rsync too), so those cases
# compare sorted output.

load common

setup_file() {
	common_setup_file
	mk_ftree "$T/src"
	printf '%s\n' '- *.skip' '# a comment' '; another' '+ keep.skip' >"$T/rules"
	printf '%s\n' 'keep.skip' >"$T/incl"
	mkdir -p "$T/home"
	printf '%s\n' '*.home' >"$T/home/.cvsignore"
}

mk_ftree() {
	local d=$1
	mkdir -p "$d/sub/deep" "$d/dirx/y" "$d/CVS" "$d/w" "$d/n/m"
	for f in a.o keep.c core x.bak y.skip keep.skip z.log keep.log secret t.home t.env \
		sub/f.tmp sub/g.c sub/secret sub/deep/h.tmp sub/deep/secret sub/deep/i.o \
		dirx/anch dirx/y/anch dirx/other CVS/Entries w/one w/two w/three \
		n/drop n/m/drop n/m/keep; do
		printf '%s\n' "$f" >"$d/$f"
	done
	printf '%s\n' '- *.log' '+ keep.log' >"$d/.rsync-filter"
	printf '%s\n' '- secret' >"$d/sub/.rsync-filter"
	printf '%s\n' '- /anch' >"$d/dirx/.rsync-filter"
	printf '%s\n' '*.tmp' >"$d/sub/.cvsignore"
	printf '%s\n' 'one two' >"$d/w/.words"
	printf '%s\n' 'drop' >"$d/n/.ex"
	printf '%s\n' '- keep' >"$d/n/m/.ex"
	find "$d" -mindepth 1 -exec touch -h -d '2024-03-04 05:06:07' {} +
}

# A destination with files only it has, and its own per-directory rules.
prep_dest() {
	mkdir -p "$1/sub/deep" "$1/dirx"
	printf 'old\n' >"$1/gone"
	printf 'old\n' >"$1/prot.log"
	printf 'old\n' >"$1/sub/secret-local"
	printf 'old\n' >"$1/sub/deep/stale.o"
	printf 'old\n' >"$1/sub/deep/stale.tmp"
	printf '%s\n' '- secret-local' >"$1/sub/.rsync-filter"
	printf '%s\n' 'stale.o' >"$1/sub/deep/.cvsignore"
	printf 'old\n' >"$1/dirx/anch2"
	printf '%s\n' 'P anch2' >"$1/dirx/.rsync-filter"
	find "$1" -exec touch -h -d '2024-05-06 07:08:09' {} +
}

@test "-F reads .rsync-filter in every directory" {
	run_pair -ai -F
}

@test "-FF also leaves the .rsync-filter files out" {
	run_pair -ai -FF
}

@test "dir-merge with an anchored rule is anchored to its directory" {
	run_pair -ai -f ': .rsync-filter'
}

@test "dir-merge modifiers: n (no inherit) and - (exclude-only)" {
	run_pair -ai -f ':n- .ex'
	run_pair -ai -f 'dir-merge,- .ex'
}

@test "dir-merge modifiers: e (exclude the file itself) and w (words)" {
	run_pair -ai -f ':e .rsync-filter'
	run_pair -ai -f ':we- .words'
}

@test "dir-merge modifier C reads .cvsignore files" {
	run_pair -ai -f ':C'
}

@test "merge file read on the client, with + and - modifiers" {
	run_pair -ai -f ". $T/rules"
	run_pair -ai -f "merge,- $T/incl"
	run_pair -ai -f "merge,+ $T/incl" -f '- *.skip'
}

@test "a missing merge file is an error" {
	run_pair -ai -f ". $T/nonexistent"
}

@test "bad merge rule modifiers are refused" {
	run_pair -ai -f ':z .rsync-filter'
	run_pair -ai -f ':!- .rsync-filter'
}

@test "-F with --delete: the receiver reads the destination's files" {
	PREP=prep_dest ORDER="env LC_ALL=C sort" run_pair -ai -F --delete
	PREP=prep_dest ORDER="env LC_ALL=C sort" run_pair -ai -F --delete-before
}

@test "-C leaves out upstream's CVS ignore list" {
	run_pair -ai -C
}

@test "-C reads \$HOME/.cvsignore and \$CVSIGNORE" {
	HOME=$T/home CVSIGNORE='*.env core2' run_pair -ai -C
}

@test "-C with --delete" {
	PREP=prep_dest ORDER="env LC_ALL=C sort" run_pair -ai -C --delete
	PREP=prep_dest ORDER="env LC_ALL=C sort" run_pair -ai -C --delete-excluded
}

@test "-C with -F and an include before it" {
	run_pair -ai -f '+ core' -C -F
}

@test "-F with -R reads the files of the implied parents" {
	local srcdir=$T/src
	SRC=$srcdir/./sub/deep run_pair -aiR -F
	SRC=$srcdir/./n/m run_pair -aiR -f ':- .ex'
}

# How the peer reports the cut connection is not this suite's subject: only
# the rule's message (which must not echo the file's text) is compared.
@test "a bad rule in a per-directory file ends the run" {
	ORDER="grep -e Unknown" run_pair -ai -f ': .ex'
}

@test "-C and -F at protocol 30" {
	PREP=prep_dest ORDER="env LC_ALL=C sort" run_pair -ai -C -F --delete --protocol=30
}

@test "hide, show, protect and risk rules in a per-directory file" {
	mkdir -p "$T/src2/a/b"
	printf '%s\n' 'H *.h' 'S keep.h' 'P *.p' 'R risk.p' >"$T/src2/.rules"
	printf '%s\n' '- b/' >"$T/src2/a/.rules"
	for f in x.h keep.h y.p risk.p a/b/z a/c; do printf '%s\n' "$f" >"$T/src2/$f"; done
	find "$T/src2" -exec touch -h -d '2024-03-04 05:06:07' {} +
	prep_hs() {
		mkdir -p "$1/a"
		printf 'old\n' >"$1/old.p"
		printf 'old\n' >"$1/risk.p"
		printf 'old\n' >"$1/a/old.h"
		printf '%s\n' 'P *.p' 'R risk.p' >"$1/.rules"
		find "$1" -exec touch -h -d '2024-05-06 07:08:09' {} +
	}
	SRC=$T/src2 PREP=prep_hs ORDER="env LC_ALL=C sort" run_pair -ai --delete -f ': .rules'
	SRC=$T/src2 PREP=prep_hs ORDER="env LC_ALL=C sort" run_pair -ai --delete-excluded -f ':e .rules'
}

@test "dir-merge with a path scans the parents from there down" {
	printf '%s\n' '- keep.c' '- /src/x.bak' >"$T/.pscan"
	printf '%s\n' '- g.c' >"$T/src/sub/.pscan"
	touch -h -d '2024-03-04 05:06:07' "$T/src/sub" "$T/src/sub/.pscan"
	run_pair -ai -f ": $T/.pscan"
	run_pair -ai -f ": /.pscan"
	run_pair -ai -f ':n /.pscan'
	rm -f "$T/.pscan" "$T/src/sub/.pscan"
	touch -h -d '2024-03-04 05:06:07' "$T/src/sub"
}

# -vv names the rule that hid or protected each name; only those lines are
# compared (the other -vv lines are not this suite's subject).
@test "-vv reports which rule decided, and from which list" {
	PREP=prep_dest ORDER="grep -e pattern" run_pair -a -vv -F -C -f '- *.skip' -f 'P prot.log' --delete
}

@test "more merge modifiers: w+, s, e on '.', s, p- and / on ':'" {
	printf '%s\n' '- *.log' '- core' >"$T/rules1"
	printf 'a.o x.bak\n' >"$T/words"
	run_pair -ai -f "merge,w+ $T/words" -f '- *.o' -f '- *.bak'
	run_pair -ai -f ".s $T/rules1"
	run_pair -ai -f ".e $T/rules1"
	run_pair -ai -f ':s .rsync-filter'
	PREP=prep_dest ORDER="env LC_ALL=C sort" run_pair -ai -f ':p- .ex' --delete
	run_pair -ai -f 'dir-merge,/ .rsync-filter'
}
