#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# The path options (--temp-dir, --partial-dir, --backup-dir, --link-dest,
# --compare-dest, --copy-dest) given "../x", "a/../../x", "../../out/t", an
# absolute path outside the module, and "lnk/t" where lnk is a symlink in
# the destination to a directory outside (issue 8). Each case runs one
# command against two identical worlds, $T/ref with rsync 3.5.0 and $T/oc
# with our program, and compares the exit codes, the output and the whole
# world (module, destination and the outside directory, directory times
# left out); on a daemon's side nothing outside the module may change.
#
# A world ($T/ref or $T/oc, "ROOT" below) holds:
#   out/t/           outside every module: a, sub/b as "out" (same size and
#                    time as the source's, other bytes, so a basis taken from
#                    here shows in the result)
#   m/  c/  i/       the daemon modules: m without chroot, c chrooted to
#                    itself, i chrooted to ROOT with its inner module /i (so
#                    ROOT/out is inside the chroot, outside the module)
#   M/x/             a, sub/b as "modx"      (M = m, c, i)
#   M/ROOT/out/t/    a, sub/b as "mabs": where the absolute value lands
#                    when it is taken from the module's root
#   M/dst/           the destination: a (older, other bytes), x/ with a,
#                    sub/b as "dstx", lnk -> ../../out, up -> .. (a symlink
#                    that stays inside: "up/x", the daemon without chroot only)
# The source has a, sub/b (both also in every basis candidate) and c.
#
# The daemons run with "uid = 0" as root; the modes:
#   d M    rsync 3.5.0 pushing to module M of rsync --daemon and of oc-rsyncd
#   o M    the same with oc-rsync as the client of oc-rsyncd
#   rsh    rsync pushing over lrsh to rsync --server and to oc-rsync --server
#   rsho   oc-rsync pushing to rsync --server over lrsh (ref: rsync both ends)
#   local  a local copy, oc-rsync against rsync (both OC_RSYNC_LOCAL settings)
# Over a remote shell and locally the user gave the option: the outside
# directory may change there, and must change as rsync changes it.

load common

setup_file() {
	common_setup_file
	export OCD="$BATS_TEST_DIRNAME/../../${OC_BUILD:-build}/bin/oc-rsyncd"
	local s ids=""
	mkdir -p "$T/src/sub"
	content src a >"$T/src/a"
	content src b >"$T/src/sub/b"
	content src c >"$T/src/c"
	find "$T/src" -exec touch -h -d '2024-03-04 05:06:07' {} +
	[ "$(id -u)" = 0 ] && ids=$'uid = 0\ngid = 0'
	for s in ref oc; do
		cat >"$T/conf.$s" <<-EOF
			$ids
			lock file = $T/lock.$s
			[m]
			 path = $T/$s/m
			 use chroot = no
			 read only = false
			 timeout = 0
			[c]
			 path = $T/$s/c
			 use chroot = yes
			 read only = false
			 timeout = 0
			[i]
			 path = $T/$s/./i
			 use chroot = yes
			 read only = false
			 timeout = 0
		EOF
	done
	# a template of each world; every case starts from a copy
	for s in ref oc; do
		world "$T/$s"
		mv "$T/$s" "$T/tpl.$s"
	done
	export RPORT OPORT
	RPORT=$(free_port)
	OPORT=$(free_port)
	timeout -k 10 600 rsync --daemon --no-detach --address=127.0.0.1 --port="$RPORT" \
		--config="$T/conf.ref" >"$T/rsyncd.out" 2>&1 3>&- &
	echo $! >"$T/rsyncd.pid"
	env $SERVER_ENV timeout -k 10 600 "$OCD" --no-detach --address=127.0.0.1 --port="$OPORT" \
		--config="$T/conf.oc" >"$T/ocd.out" 2>&1 3>&- &
	echo $! >"$T/ocd.pid"
	wait_port "$RPORT"
	wait_port "$OPORT"
}

teardown_file() {
	stop_servers "$T/rsyncd.pid" "$T/ocd.pid"
}

# content TAG NAME: 8 bytes, the same size for every tag.
content() {
	printf '%-6s%s\n' "$1" "$2"
}

# files DIR TAG: a and sub/b with the source's size and time.
files() {
	mkdir -p "$1/sub"
	content "$2" a >"$1/a"
	content "$2" b >"$1/sub/b"
	touch -d '2024-03-04 05:06:07' "$1/a" "$1/sub/b"
}

# world ROOT: a fresh world (above).
world() {
	local r=$1 m
	rm -rf "$r"
	files "$r/out/t" out
	for m in m c i; do
		files "$r/$m/x" modx
		files "$r/$m/${r#/}/out/t" mabs
		files "$r/$m/dst/x" dstx
		content old a >"$r/$m/dst/a"
		touch -d '2020-01-01' "$r/$m/dst/a"
		ln -s ../../out "$r/$m/dst/lnk"
		ln -s .. "$r/$m/dst/up"
	done
	find "$r" -exec touch -h -d '2024-03-04 05:06:07' {} +
	touch -d '2020-01-01' "$r"/?/dst/a
}

# The outside directory with change times: any file made, removed,
# renamed, linked or changed there shows.
outside() {
	find "$1/out" -printf '%p %y %s %n %i %T@ %C@\n' | sort
}

# A world's description with the directories' times left out (a directory
# made during a run has the time of the run) and the world's own name.
wsig() {
	"$SIG" "$1" | sed -E -e 's/^([^\t]*\td [0-7]+ [0-9]+ [0-9]+ )[0-9.]+/\1T/' \
		-e "s#${T#/}/(ref|oc)\b#ROOT#g"
}

# The same text from either world.
unworld() {
	sed -E -e "s#$T/(ref|oc)\b#ROOT#g" -e "s#${T#/}/(ref|oc)\b#ROOT#g" -e "s|$RPORT|PORT|g" \
		-e "s|$OPORT|PORT|g" -e "$ERRLINE" -e "s/\b(oc|ref)-(tmp|bak)\b/X/g"
}

# side SIDE MODE OPT VALUE [MOREOPTS...]: one world's run; what it leaves in
# $T/{out0,out1,rc,log,sig}.SIDE.
side() {
	local s=$1 mode=$2 opt=$3 val=$4 r="$T/$1" rc v mod
	shift 4
	local -a cmd
	rm -rf "$r"
	cp -a "$T/tpl.$s" "$r"
	v=${val//ROOT/$r}
	case $mode in
	d?|o?)
		mod=${mode#?}
		cmd=(rsync --no-i-r)
		[ "$s:${mode%?}" = oc:o ] && cmd=("$OC")
		cmd+=(-ai "$@" "$opt=$v" "$T/src/" "rsync://127.0.0.1:$([ $s = ref ] && echo "$RPORT" || echo "$OPORT")/$mod/dst/")
		;;
	rsh)
		cmd=(rsync --no-i-r -e "$RSH")
		[ $s = oc ] && cmd+=(--rsync-path="$OC")
		cmd+=(-ai "$@" "$opt=$v" "$T/src/" "h:$r/m/dst/") ;;
	rsho)
		cmd=(rsync --no-i-r)
		[ $s = oc ] && cmd=("$OC")
		cmd+=(-e "$RSH" -ai "$@" "$opt=$v" "$T/src/" "h:$r/m/dst/") ;;
	local*)
		cmd=(rsync --no-i-r)
		[ $s = oc ] && cmd=(env "OC_RSYNC_LOCAL=${mode#local}" "$OC")
		cmd+=(-ai "$@" "$opt=$v" "$T/src/" "$r/m/dst/") ;;
	esac
	outside "$r" >"$T/out0.$s"
	timeout -k 5 60 "${cmd[@]}" >"$T/log.$s" 2>&1 && rc=0 || rc=$?
	echo "$rc" >"$T/rc.$s"
	outside "$r" >"$T/out1.$s"
	wsig "$r" >"$T/sig.$s"
}

# opair MODE OPT VALUE [MOREOPTS...]: one case in both worlds at once (see
# the top). "ROOT" in VALUE becomes the world's directory.
opair() {
	local mode=$1 opt=$2 val=$3 bad=0 p
	shift 3
	side ref "$mode" "$opt" "$val" "$@" &
	p=$!
	side oc "$mode" "$opt" "$val" "$@"
	wait "$p"
	local what="$mode $opt=$val $*" known="" unsafe="" sigf=cat logf=cat
	case $mode in
	d?|o?)
		if ! diff -q "$T/out0.oc" "$T/out1.oc" >/dev/null; then
			echo "oc changed the outside directory: $what"
			diff "$T/out0.oc" "$T/out1.oc"
			bad=1
		fi
		# rsync itself writing outside the module: we may not follow it there
		diff -q "$T/out0.ref" "$T/out1.ref" >/dev/null || unsafe=1
		known=${KNOWN["d:$opt=$val"]:-} ;;
	*)
		# the user's own choice: outside may change, as rsync changes it,
		# except where rsync leaves debris there after failing (LITTER)
		if ! diff -q "$T/out0.ref" "$T/out1.ref" >/dev/null && [ -n "${LITTER["$opt=$val"]:-}" ]; then
			unsafe=1
		fi ;;
	esac
	if [ -n "$unsafe" ]; then
		echo "# $what: rsync 3.5.0 wrote outside the destination's tree and failed; compared: the" \
			"rest, exit code, other lines" >&3
		sigf=unsafe_sig
		logf=unsafe_log
	fi
	if [ -n "$known" ] && [ -z "${OC_PATHOPTS_STRICT:-}" ]; then
		echo "# $what: known difference ($known), compared: the outside directory" >&3
		return $bad
	fi
	diff <($sigf <"$T/sig.ref") <($sigf <"$T/sig.oc") >"$T/sig.diff" || {
		echo "world differs (< rsync, > oc): $what"
		cat "$T/sig.diff"
		bad=1
	}
	diff <(grep -v "$MASK" "$T/log.ref" | unworld | $logf) \
		<(grep -v "$MASK" "$T/log.oc" | unworld | $logf) || {
		echo "output differs (< rsync, > oc): $what"
		bad=1
	}
	[ "$(cat "$T/rc.ref")" = "$(cat "$T/rc.oc")" ] || {
		echo "exit code differs: $what: rsync $(cat "$T/rc.ref"), oc $(cat "$T/rc.oc")"
		bad=1
	}
	if [ $bad = 1 ]; then
		echo "--- rsync said ($(cat "$T/rc.ref")):"
		cat "$T/log.ref"
		echo "--- oc said ($(cat "$T/rc.oc")):"
		cat "$T/log.oc"
	fi
	return $bad
}

# Where rsync 3.5.0 wrote outside the module: the outside directory is not
# compared, and the receiver's lines about the files it failed on name
# other steps (rsync fails after writing, we before).
unsafe_sig() {
	grep -v '^out/'
}
unsafe_log() {
	grep -v '^rsync: \[receiver\] \(stat\|rename\|mkstemp\) '
}

# Known differences in the daemon modes (d: every module and client), by
# OPT=VALUE; OC_PATHOPTS_STRICT=1 compares them all the same.
declare -gA KNOWN=(
	# rsync's generator finds the partial file through "..", its receiver
	# then refuses to open it (code 23, the file not updated); oc-rsync
	# does not look above the file's directory, and updates the file
	["d:--partial-dir=../x"]="partial-dir above the file's directory"
	["d:--partial-dir=a/../../x"]="partial-dir above the file's directory"
	# a receiver that stops in a daemon session: its closing "rsync error:"
	# line (and the generator's) reach rsync's client, not ours (same code)
	["d:--backup-dir=lnk/t"]="closing lines of a failed daemon receiver"
	["d:--backup-dir=up/x"]="closing lines of a failed daemon receiver"
	# rsync writes its temp files through the symlink that stays inside,
	# then fails to rename them (code 23) and leaves them in x/; oc-rsync
	# fails the same files before writing
	["d:--temp-dir=up/x"]="temp files left in the module"
)

# Over a remote shell and locally, rsync 3.5.0 writes its temp files
# through the symlink, then fails to rename them (ELOOP) and leaves them
# there; oc-rsync fails the same files before writing.
declare -gA LITTER=(["--temp-dir=lnk/t"]=1)

VALUES=(../x a/../../x ../../out/t ROOT/out/t lnk/t)

# each MODE [VALUE...]: every option with every value (default VALUES); all
# cases run, then the call fails if one did.
each() {
	local mode=$1 v bad=0
	shift
	for v in "${@:-${VALUES[@]}}"; do
		opair "$mode" --temp-dir "$v" || bad=1
		opair "$mode" --partial-dir "$v" || bad=1
		opair "$mode" --backup-dir "$v" -b || bad=1
		opair "$mode" --link-dest "$v" || bad=1
		opair "$mode" --compare-dest "$v" || bad=1
		opair "$mode" --copy-dest "$v" || bad=1
	done
	return $bad
}

@test "path options: rsync pushing to a module without chroot" {
	each dm "${VALUES[@]}" up/x
}

@test "path options: rsync pushing to a chrooted module" {
	each dc
}

@test "path options: rsync pushing to a module inside a chroot (path = ROOT/./i)" {
	each di
}

# The server's side is the same as above; what the client sends is what is new.
@test "path options: oc-rsync pushing to oc-rsyncd" {
	each om ../../out/t ROOT/out/t lnk/t
	each oi ../x lnk/t
}

@test "path options: over a remote shell (oc-rsync --server, and oc-rsync as the client)" {
	each rsh
	each rsho ../x ROOT/out/t lnk/t
}

@test "path options: local copies (and the protocol-free path, OC_RSYNC_LOCAL=1)" {
	each local0
	each local1 ../x ROOT/out/t lnk/t
}
