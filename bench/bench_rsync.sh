#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The oc-rsync engine against rsync 3.5.0 (issue 5), side by side over the
# local remote shell (tests/interop/lrsh), each program on both ends:
#   init      initial copy of 10,000 small files into an empty destination
#   nochange  the same tree re-synced into an up-to-date destination
#   delta     a 256 MiB file with 1% changed in 256 scattered places
# For each, wall time, CPU time (user + sys of every process of the run,
# client and server) and peak RSS; the median over rounds, and the ratio
# oc-rsync / rsync (default options) per round, whose median is the result.
# Target: at most 0.8x, wall and CPU, in all three (push).
#
#   bench/bench_rsync.sh [--out DIR] [--quick] [--runs N] [--work DIR]
#                        [--cases init,nochange,delta] [--no-pull] [--keep]
#                        [--oc-rsync PATH] [--rsync PATH] [--warm-mib N]
# Before measuring, N MiB of memory (default: 4096, or half of what is
# available if less; 0: none) are written once and freed. In a virtual
# machine the first write to a guest page the host has not backed yet costs
# several microseconds more; a case that makes a 256 MiB file met such pages
# in some rounds and not in others (sys time 0.2 s or 0.8 s for the same
# run), whichever program ran then. The kernel hands freed pages out again
# first, so the runs then meet backed pages (bench/README.md).
# Work files go to --work DIR, else $TMPDIR, else OUT/work, in a fresh
# folder removed at exit. See bench/README.md. Exit status 1 when a copy is
# wrong or a run fails; 0 otherwise, met or not.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=build/bench
WORK=
RUNS=
QUICK=0
PULL=1
KEEP=0
WARM_MIB=
CASES="init nochange delta"
OC=$ROOT/build/bin/oc-rsync
RSYNC=$(command -v rsync || true)
LRSH=$ROOT/tests/interop/lrsh

usage() {
	sed -n '3,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
	exit "$1"
}

while [ $# -gt 0 ]; do
	case "$1" in
	--out) OUT=$2; shift 2 ;;
	--work) WORK=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--quick) QUICK=1; shift ;;
	--no-pull) PULL=0; shift ;;
	--cases) CASES=${2//,/ }; shift 2 ;;
	--keep) KEEP=1; shift ;;
	--warm-mib) WARM_MIB=$2; shift 2 ;;
	--oc-rsync) OC=$2; shift 2 ;;
	--rsync) RSYNC=$2; shift 2 ;;
	-h | --help) usage 0 ;;
	*) echo "bench_rsync: unknown option $1" >&2; usage 2 >&2 ;;
	esac
done

die() {
	echo "bench_rsync: $*" >&2
	exit 1
}

# Full mode: 100 dirs x 100 files, 256 MiB, 5 rounds. --quick is a smoke
# run: 20 x 100 files, 64 MiB, 3 rounds, push only; its ratios are not the
# issue's numbers.
if [ "$QUICK" = 1 ]; then
	NDIRS=20 BIG_MIB=64 PULL=0 RUNS=${RUNS:-3}
else
	NDIRS=100 BIG_MIB=256 RUNS=${RUNS:-5}
fi
NFILES=100
case "$RUNS" in
'' | *[!0-9]*) die "--runs takes a number 1..25" ;;
esac
[ "$RUNS" -ge 1 ] && [ "$RUNS" -le 25 ] || die "--runs takes a number 1..25"
for c in $CASES; do
	case "$c" in
	init | nochange | delta) ;;
	*) die "--cases takes a list of init, nochange, delta" ;;
	esac
done
want() { case " $CASES " in *" $1 "*) return 0 ;; esac; return 1; }

command -v python3 >/dev/null || die "python3 is needed (timing and checks)"
[ -x "$OC" ] || die "no oc-rsync at $OC (run make first, or pass --oc-rsync)"
[ -n "$RSYNC" ] && [ -x "$RSYNC" ] || die "no rsync found (pass --rsync)"
[ -x "$LRSH" ] || die "no remote shell at $LRSH"
OC=$(cd "$(dirname "$OC")" && pwd)/$(basename "$OC")
RSYNC=$(cd "$(dirname "$RSYNC")" && pwd)/$(basename "$RSYNC")

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=${WORK:-${TMPDIR:-$OUT/work}}
MADE_WORK=0
[ -d "$WORK" ] || MADE_WORK=1
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
FSTYPE=$(stat -f -c %T "$WORK")
# ext4 without a journal will not reuse an inode freed in the last 60 s
# (300 s while its inode table block is dirty): every create after a big
# delete first steps over all of those inodes, one buffer lookup each. The
# init case deletes and recreates 10,000 files per run, so there it
# measures that scan more than either program (see bench/README.md).
FSNOTE=
if [ "$FSTYPE" = ext2/ext3 ]; then
	dev=$(df -P "$WORK" | awk 'NR == 2 {print $1}')
	jt=/sys/fs/ext4/$(basename "$dev")/journal_task
	if [ -r "$jt" ] && [ "$(cat "$jt")" = "<none>" ]; then
		FSNOTE="ext4 without a journal: file creation after deletes is slow and noisy here; TMPDIR=/dev/shm or --work on tmpfs measures the programs instead"
		echo "bench_rsync: note: $WORK is on $FSNOTE" >&2
	fi
fi
# The work folder is ours alone: a fresh folder inside it, removed at exit.
W=$(mktemp -d "$WORK/rsync_engine.XXXXXX")
cleanup() {
	if [ "$KEEP" = 1 ]; then
		echo "work files kept in $W"
	else
		rm -rf "$W"
		[ "$MADE_WORK" = 0 ] || rmdir "$WORK" 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PY=$W/helper.py
cat >"$PY" <<'PYEOF'
# Helper for bench_rsync.sh: data generation, one timed run, checks, report.
import ctypes, json, os, random, resource, statistics, subprocess, sys, time

def host_busy():
    # CPU seconds all tasks used since boot: /proc/stat minus idle, iowait
    # and guest (already counted in user).
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    busy = v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)
    return busy / os.sysconf("SC_CLK_TCK")

def gen_small(root, ndirs, nfiles, seed):
    # ndirs x nfiles files of 0..8 KiB, sizes and bytes from a fixed seed.
    r = random.Random(seed)
    total = 0
    for d in range(ndirs):
        dp = os.path.join(root, "d%03d" % d)
        os.makedirs(dp)
        for i in range(nfiles):
            n = r.randint(0, 8192)
            with open(os.path.join(dp, "f%03d.dat" % i), "wb") as f:
                f.write(r.randbytes(n))
            total += n
    # Old, fixed times, so a quick check never sees "modified just now".
    t = 1767268800 * 10**9  # 2026-01-01 12:00:00 UTC
    for d in range(ndirs):
        dp = os.path.join(root, "d%03d" % d)
        for i in range(nfiles):
            os.utime(os.path.join(dp, "f%03d.dat" % i), ns=(t, t + i))
        os.utime(dp, ns=(t, t + d))
    os.utime(root, ns=(t, t))
    print(total)

def warm_memory(mib):
    # Write every page of mib MiB of anonymous memory once, then free it:
    # see "--warm-mib" at the top of bench_rsync.sh.
    import mmap
    if mib <= 0:
        return 0
    avail = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                avail = int(line.split()[1]) // 1024
    mib = min(mib, avail // 2)
    chunk = b"\1" * (64 << 20)
    m = mmap.mmap(-1, mib << 20)
    for off in range(0, mib << 20, len(chunk)):
        m.write(chunk[:min(len(chunk), (mib << 20) - off)])
    m.close()
    return mib

def gen_big(old, new, mib, nchanges, change, seed):
    # old: random; new: old with nchanges runs of `change` random bytes, one
    # in the middle of each of nchanges equal stretches. Different mtimes.
    r = random.Random(seed)
    size = mib << 20
    data = bytearray()
    for _ in range(mib):
        data += r.randbytes(1 << 20)
    with open(old, "wb") as f:
        f.write(data)
    step = size // nchanges
    for k in range(nchanges):
        off = k * step + (step - change) // 2
        data[off:off + change] = r.randbytes(change)
    with open(new, "wb") as f:
        f.write(data)
    t = 1767268800
    os.utime(old, (t, t))
    os.utime(new, (t + 3600, t + 3600))
    print(nchanges * change)

PR_SET_CHILD_SUBREAPER = 36

def run(rec_path, meta, log, argv):
    # One timed run. We become a subreaper, so every process of the run
    # (the server behind the remote shell too) is reaped here and counted in
    # RUSAGE_CHILDREN even if its parent does not wait for it. What it held
    # before the run is subtracted: RUSAGE_CHILDREN survives exec, so when
    # python3 is a version manager's shim (a shell script that runs helpers
    # and then execs Python) it starts with the shim's children, ~50 ms of
    # CPU that would be added to every run of every program alike.
    #
    # Peak RSS comes from GNU time wrapped around the command: the process
    # forked from Python starts with Python's pages, and Linux carries that
    # high-water mark across exec, so our own RUSAGE_CHILDREN maximum would
    # be Python's. GNU time is small; its child's maximum (from wait4) is the
    # largest process of the run, client or server.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    rssf = log + ".rss"
    wrap = []
    if os.access("/usr/bin/time", os.X_OK):
        wrap = ["/usr/bin/time", "-f", "%M", "-o", rssf]
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(log, "wb") as lf:
        b0 = host_busy()
        t0 = time.perf_counter()
        p = subprocess.Popen(wrap + argv, stdin=subprocess.DEVNULL, stdout=lf, stderr=lf)
        rc = p.wait()
        t1 = time.perf_counter()
        strays = 0
        while True:
            try:
                os.wait()
                strays += 1
            except ChildProcessError:
                break
        b1 = host_busy()
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    maxrss = None
    if wrap:
        with open(rssf) as f:
            maxrss = int(f.read().split()[-1])
        os.unlink(rssf)
    rec = dict(meta)
    user = ru.ru_utime - ru0.ru_utime
    sys_ = ru.ru_stime - ru0.ru_stime
    rec.update(rc=rc, wall=t1 - t0, user=user, sys=sys_,
               cpu=user + sys_, maxrss_kib=maxrss,
               host_busy=b1 - b0, strays=strays)
    with open(rec_path, "a") as f:
        f.write(json.dumps(rec) + "\n")
    if rc != 0:
        sys.stderr.write(open(log, errors="replace").read())
    sys.exit(0 if rc == 0 else 1)

def describe(root):
    # Every entry below root: type, mode, size, mtime (ns); files by content.
    out = {}
    for dp, dns, fns in os.walk(root):
        for n in dns + fns:
            p = os.path.join(dp, n)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            out[rel] = (st.st_mode, st.st_size if not os.path.isdir(p) else 0,
                        st.st_mtime_ns)
    st = os.lstat(root)
    out["."] = (st.st_mode, 0, st.st_mtime_ns)
    return out

def same_file(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True

def verify(src, dst):
    # The destination must equal the source: same entries, modes, sizes,
    # mtimes and bytes. Prints what differs and exits 1.
    a, b = describe(src), describe(dst)
    bad = []
    for k in sorted(set(a) | set(b)):
        if k not in b:
            bad.append("missing in destination: " + k)
        elif k not in a:
            bad.append("extra in destination: " + k)
        elif a[k] != b[k]:
            bad.append("attributes differ: %s %r != %r" % (k, a[k], b[k]))
        elif os.path.isfile(os.path.join(src, k)) and not same_file(
                os.path.join(src, k), os.path.join(dst, k)):
            bad.append("content differs: " + k)
    if bad:
        sys.stderr.write("\n".join(bad[:20]) + "\n")
        sys.exit(1)

def stats_of(log):
    # Literal and matched bytes from a --stats run, for the delta check.
    lit = mat = None
    for line in open(log, errors="replace"):
        if line.startswith("Literal data:"):
            lit = int(line.split(":")[1].split()[0].replace(",", ""))
        elif line.startswith("Matched data:"):
            mat = int(line.split(":")[1].split()[0].replace(",", ""))
    print("null" if lit is None else lit, "null" if mat is None else mat)

TOOLS = ["oc", "rs", "rsn"]
NAMES = {"oc": "oc-rsync", "rs": "rsync", "rsn": "rsync --no-i-r"}

def med(v):
    return statistics.median(v) if v else float("nan")

def clean(x):
    # JSON has no NaN: a number that could not be measured is null.
    if isinstance(x, float) and x != x:
        return None
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, list):
        return [clean(v) for v in x]
    return x

def report(runs_path, meta_path, out):
    meta = json.load(open(meta_path))
    recs = [json.loads(l) for l in open(runs_path)]
    timed = [r for r in recs if r["rep"] >= 0]
    cases = []
    for sc in meta["scenarios"]:
        for d in meta["directions"]:
            rows = [r for r in timed if r["scenario"] == sc["id"] and r["dir"] == d]
            if not rows:
                continue
            c = {"scenario": sc["id"], "label": sc["label"], "dir": d, "tools": {},
                 "ratios": {}}
            by = {}
            for t in TOOLS:
                rr = sorted((r for r in rows if r["tool"] == t), key=lambda r: r["rep"])
                by[t] = {r["rep"]: r for r in rr}
                c["tools"][t] = {
                    "name": NAMES[t], "argv": rr[0]["argv"] if rr else None,
                    "wall": [r["wall"] for r in rr], "cpu": [r["cpu"] for r in rr],
                    "user": [r["user"] for r in rr], "sys": [r["sys"] for r in rr],
                    "maxrss_kib": [r["maxrss_kib"] for r in rr],
                    "median": {k: med([r[k] for r in rr if r[k] is not None]) for k in
                               ("wall", "cpu", "user", "sys", "maxrss_kib")},
                    "min": {k: min(r[k] for r in rr) for k in ("wall", "cpu")},
                    "max": {k: max(r[k] for r in rr) for k in ("wall", "cpu")},
                }
            for peer in ("rs", "rsn"):
                for k in ("wall", "cpu"):
                    per = [by["oc"][i][k] / by[peer][i][k] for i in by["oc"]
                           if i in by[peer] and by[peer][i][k] > 0]
                    c["ratios"]["oc/%s_%s" % (peer, k)] = {
                        "per_round": per, "median": med(per)}
            for k in ("wall", "cpu"):
                per = [by["rsn"][i][k] / by["rs"][i][k] for i in by["rsn"]
                       if i in by["rs"] and by["rs"][i][k] > 0]
                c["ratios"]["rsn/rs_" + k] = {"per_round": per, "median": med(per)}
            ours = sum(r["cpu"] for r in rows)
            busy = sum(r["host_busy"] for r in rows)
            wall = sum(r["wall"] for r in rows)
            c["others_cpu_share"] = max(0.0, busy - ours) / (wall * os.cpu_count())
            c["checks"] = sc.get("checks", {}).get(d)
            cases.append(c)
    targets = []
    for c in cases:
        if c["dir"] != "push":
            continue
        for k in ("wall", "cpu"):
            v = c["ratios"]["oc/rs_" + k]["median"]
            targets.append({"what": "%s %s time oc-rsync/rsync <= %.1fx" %
                            (c["scenario"], k, meta["target"]),
                            "ratio": v, "met": v <= meta["target"]})
    res = clean({"bench": "rsync_engine", "meta": meta, "cases": cases,
                 "targets": targets})
    with open(os.path.join(out, "rsync_engine.json"), "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")

    L = []
    L.append("oc-rsync engine vs %s, over the local remote shell (lrsh), "
             "each program on both ends" % meta["rsync_version"])
    L.append("median of %d rounds (nochange: %d) after 1 warm-up, %s; wall s / cpu s "
             "(user+sys, client+server) / peak RSS MiB"
             % (meta["runs"], 3 * meta["runs"], "quick (small sizes)" if meta["quick"] else "full"))
    L.append("work folder on %s%s" % (meta["work_fs"], (": " + meta["work_fs_note"])
                                      if meta["work_fs_note"] else ""))
    L.append("ratios: oc-rsync over the peer, median of the per-round ratios; "
             "below 1 means oc-rsync is faster")
    L.append("")
    hdr = ("%-22s %-4s | %-20s | %-20s | %-20s | %-11s | %-11s | %s"
           % ("case", "dir", "oc-rsync", "rsync", "rsync --no-i-r",
              "oc/rsync", "oc/no-i-r", "others"))
    L.append(hdr)
    L.append("%-22s %-4s | %-20s | %-20s | %-20s | %-11s | %-11s | %s"
             % ("", "", "wall  cpu   rss", "wall  cpu   rss", "wall  cpu   rss",
                "wall  cpu", "wall  cpu", "cpu"))
    L.append("-" * len(hdr))
    for c in cases:
        cell = []
        for t in TOOLS:
            m = c["tools"][t]["median"]
            cell.append("%6.3f %6.3f %5.1f" % (m["wall"], m["cpu"], m["maxrss_kib"] / 1024))
        rat = []
        for p in ("rs", "rsn"):
            rat.append("%5.2f %5.2f" % (c["ratios"]["oc/%s_wall" % p]["median"],
                                        c["ratios"]["oc/%s_cpu" % p]["median"]))
        L.append("%-22s %-4s | %s | %s | %s | %s | %s | %3.0f%%"
                 % (c["label"], c["dir"], cell[0], cell[1], cell[2], rat[0], rat[1],
                    100 * c["others_cpu_share"]))
    L.append("")
    L.append("spread (min..max wall s): " + "; ".join(
        "%s %s: %s" % (c["scenario"], c["dir"], ", ".join(
            "%s %.3f..%.3f" % (NAMES[t], c["tools"][t]["min"]["wall"],
                               c["tools"][t]["max"]["wall"]) for t in TOOLS))
        for c in cases))
    for c in cases:
        if c["checks"]:
            L.append("delta check (%s, warm-up run with --stats): %s" % (c["dir"], ", ".join(
                "%s literal %s matched %s" % (NAMES[t], v["literal"], v["matched"])
                for t, v in c["checks"].items())))
    L.append("")
    L.append("targets (push, oc-rsync / rsync default):")
    for t in targets:
        L.append("  %-45s %5.2fx  %s" % (t["what"], t["ratio"],
                                        "MET" if t["met"] else "NOT MET"))
    if any(c["others_cpu_share"] > 0.10 for c in cases):
        L.append("caution: other processes used more than 10% of the CPUs during "
                 "some cases; close calls need a quiet host")
    txt = "\n".join(L) + "\n"
    with open(os.path.join(out, "rsync_engine.txt"), "w") as f:
        f.write(txt)
    sys.stdout.write(txt)

def plot(json_path, out):
    # Bars of each ratio to rsync's default; lines at 1 and at the target.
    res = json.load(open(json_path))
    rows = []
    for c in res["cases"]:
        r = c["ratios"]
        rows.append('"%s %s" %.4f %.4f %.4f %.4f' % (
            c["scenario"], c["dir"], r["oc/rs_wall"]["median"], r["oc/rs_cpu"]["median"],
            r["rsn/rs_wall"]["median"], r["rsn/rs_cpu"]["median"]))
    gp = os.path.join(out, "rsync_engine.gp")
    svg = os.path.join(out, "rsync_engine.svg")
    with open(gp, "w") as f:
        f.write("""# oc-rsync engine vs rsync 3.5.0 (bench/bench_rsync.sh); re-run with gnuplot
set terminal svg size 900,480 dynamic font "sans,11"
set output "%s"
set title "time over rsync 3.5.0's (default options), median of per-round ratios; lower is better"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set yrange [0:*]
set ylabel "x rsync"
set key below
set grid ytics
set arrow from graph 0, first %.2f to graph 1, first %.2f nohead dt 2 lc rgb "red"
set arrow from graph 0, first 1 to graph 1, first 1 nohead lc rgb "black"
$d << EOD
%s
EOD
plot $d using 2:xtic(1) title "oc-rsync wall", '' using 3 title "oc-rsync cpu", \\
     '' using 4 title "rsync --no-i-r wall", '' using 5 title "rsync --no-i-r cpu"
""" % (svg, res["meta"]["target"], res["meta"]["target"], "\n".join(rows)))
    subprocess.run(["gnuplot", gp], check=True)
    print("plot: " + svg)

if __name__ == "__main__":
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "gen-small":
        gen_small(a[0], int(a[1]), int(a[2]), int(a[3]))
    elif cmd == "warm-memory":
        print(warm_memory(int(a[0])))
    elif cmd == "gen-big":
        gen_big(a[0], a[1], int(a[2]), int(a[3]), int(a[4]), int(a[5]))
    elif cmd == "run":
        i = a.index("--")
        meta = json.loads(a[2])
        meta["argv"] = a[i + 1:]
        run(a[0], meta, a[1], a[i + 1:])
    elif cmd == "verify":
        verify(a[0], a[1])
    elif cmd == "stats":
        stats_of(a[0])
    elif cmd == "report":
        report(a[0], a[1], a[2])
    elif cmd == "plot":
        plot(a[0], a[1])
    else:
        sys.exit("unknown helper command " + cmd)
PYEOF

RUNS_JSONL=$W/runs.jsonl
: >"$RUNS_JSONL"

# argv of tool $1 copying $2 to $3 in direction $4 (push: the destination is
# remote; pull: the source is), with extra options after.
tool_argv() {
	local tool=$1 src=$2 dst=$3 dir=$4
	shift 4
	case "$tool" in
	oc) ARGV=("$OC" -e "$LRSH" --rsync-path="$OC" -a "$@") ;;
	rs) ARGV=("$RSYNC" -e "$LRSH" -a "$@") ;;
	rsn) ARGV=("$RSYNC" -e "$LRSH" --no-inc-recursive -a "$@") ;;
	esac
	if [ "$dir" = push ]; then
		ARGV+=("$src/" "h:$dst/")
	else
		ARGV+=("h:$src/" "$dst/")
	fi
}

# Round r runs the three programs in turn, starting one further on each
# round (the warm-up is round -1), so drift on the host and "who ran just
# before" hit each program alike, and no program runs twice in a row across
# a round boundary (on some file systems a run right after deleting one's
# own previous copy is slower; see bench/README.md).
order() {
	case $((($1 + 1) % 3)) in
	0) echo oc rs rsn ;;
	1) echo rs rsn oc ;;
	2) echo rsn oc rs ;;
	esac
}

# timed SCENARIO DIR TOOL REP SRC DST [OPTION...]: one measured run (REP -1
# is the warm-up, not counted).
timed() {
	local sc=$1 dir=$2 tool=$3 rep=$4 src=$5 dst=$6
	shift 6
	tool_argv "$tool" "$src" "$dst" "$dir" "$@"
	python3 "$PY" run "$RUNS_JSONL" "$W/log" \
		"{\"scenario\":\"$sc\",\"dir\":\"$dir\",\"tool\":\"$tool\",\"rep\":$rep}" \
		-- "${ARGV[@]}" || {
		cp "$W/log" "$OUT/rsync_engine.fail.log"
		die "$sc $dir round $rep: ${ARGV[*]} failed (output in $OUT/rsync_engine.fail.log)"
	}
}

check_tree() {
	python3 "$PY" verify "$1" "$2" ||
		die "$3: destination differs from source after: ${ARGV[*]}"
}

check_big() {
	cmp -s "$1/big.bin" "$2/big.bin" ||
		die "$3: destination differs from source after: ${ARGV[*]}"
	[ "$(stat -c %Y "$1/big.bin")" = "$(stat -c %Y "$2/big.bin")" ] ||
		die "$3: mtime not kept by: ${ARGV[*]}"
}

DIRS=push
[ "$PULL" = 1 ] && DIRS="push pull"
RSV=$("$RSYNC" --version | awk 'NR == 1 {print $1, $3}') || die "$RSYNC --version failed"
OCV=$("$OC" --version | awk 'NR == 1 {print $1, $3}') || die "$OC --version failed"
echo "bench_rsync: $OCV vs $RSV, $RUNS rounds, work in $W ($FSTYPE)"

# --- memory warm-up (see --warm-mib) -------------------------------------------
case "${WARM_MIB:-4096}" in
'' | *[!0-9]*) die "--warm-mib takes a number of MiB" ;;
esac
WARMED=$(python3 "$PY" warm-memory "${WARM_MIB:-4096}") || die "memory warm-up failed"
[ "$WARMED" = 0 ] || echo "memory: $WARMED MiB written once and freed before the runs"

# --- data ---------------------------------------------------------------------
SMALL=$W/small/src
NSMALL=$((NDIRS * NFILES))
SMALL_BYTES=null
if want init || want nochange; then
	mkdir -p "$W/small"
	SMALL_BYTES=$(python3 "$PY" gen-small "$SMALL" "$NDIRS" "$NFILES" 5)
	echo "data: $NSMALL files in $NDIRS dirs, $SMALL_BYTES bytes"
fi
BIG=$W/big
NCHG=256 CHG=10240
CHANGED=null
if want delta; then
	mkdir -p "$BIG/src"
	CHANGED=$(python3 "$PY" gen-big "$BIG/old.bin" "$BIG/src/big.bin" "$BIG_MIB" "$NCHG" "$CHG" 7)
	echo "data: a ${BIG_MIB} MiB file, $NCHG changes of $CHG bytes"
fi

# Each program has its own destination, so one's leftovers never shape
# another's run. For pull the "remote" source is the same tree.
dst_of() { echo "$W/$1/dst_$2_$3"; }

# --- init: initial copy into an empty destination ----------------------------
want init && for dir in $DIRS; do
	echo "init $dir ..."
	for rep in $(seq -1 $((RUNS - 1))); do
		for tool in $(order "$rep"); do
			d=$(dst_of small "$tool" "$dir")
			rm -rf "$d"
			timed init "$dir" "$tool" "$rep" "$SMALL" "$d"
			check_tree "$SMALL" "$d" "init $dir"
		done
	done
done

# --- nochange: the destination is up to date -----------------------------------
# The last init run left it so; without init, the warm-up run makes it so.
# A run is ~50 ms of CPU, and whether the two ends of a round overlap on the
# two CPUs swings one round's CPU ratio between 0.70 and 0.95 (15 rounds,
# 2026-11-22): this case takes three times the rounds (NC_RUNS).
NC_RUNS=$((RUNS * 3))
want nochange && for dir in $DIRS; do
	echo "nochange $dir ..."
	for rep in $(seq -1 $((NC_RUNS - 1))); do
		for tool in $(order "$rep"); do
			d=$(dst_of small "$tool" "$dir")
			timed nochange "$dir" "$tool" "$rep" "$SMALL" "$d"
			check_tree "$SMALL" "$d" "nochange $dir"
		done
	done
done
rm -rf "$W/small"

# --- delta: 256 MiB, 1% changed; the destination holds the old file ---------
# The warm-up run adds --stats, to check that each program sent a delta.
declare -A LIT MAT
for dir in $DIRS; do
	for tool in oc rs rsn; do LIT[$dir,$tool]=null MAT[$dir,$tool]=null; done
done
# The old file is flushed to disk before each run, and the new one after
# it (both outside the clock): otherwise whether writeback has allocated
# the old file's blocks by the time the run frees them, or is still writing
# the previous run's file, decides between runs of ~0.4 s and ~1 s on disk.
# On tmpfs the flush costs nothing.
reset_old() {
	mkdir -p "$1"
	rm -f "$1/big.bin"
	cp --preserve=mode,timestamps "$BIG/old.bin" "$1/big.bin"
	sync "$1/big.bin"
}
want delta && for dir in $DIRS; do
	echo "delta $dir ..."
	for rep in $(seq -1 $((RUNS - 1))); do
		for tool in $(order "$rep"); do
			d=$(dst_of big "$tool" "$dir")
			reset_old "$d"
			if [ "$rep" = -1 ]; then
				timed delta "$dir" "$tool" "$rep" "$BIG/src" "$d" --stats
				read -r lit mat < <(python3 "$PY" stats "$W/log")
				LIT[$dir,$tool]=$lit MAT[$dir,$tool]=$mat
				[ "$lit" != null ] && [ "$lit" -lt $((BIG_MIB << 20 >> 3)) ] ||
					die "delta $dir: ${ARGV[*]} sent $lit literal bytes; not a delta transfer"
			else
				timed delta "$dir" "$tool" "$rep" "$BIG/src" "$d"
			fi
			check_big "$BIG/src" "$d" "delta $dir"
			sync "$d/big.bin"
		done
	done
done
rm -rf "$BIG"

# --- report -------------------------------------------------------------------
checks=
for dir in $DIRS; do
	c=
	for tool in oc rs rsn; do
		c="$c${c:+,}\"$tool\":{\"literal\":${LIT[$dir,$tool]},\"matched\":${MAT[$dir,$tool]}}"
	done
	checks="$checks${checks:+,}\"$dir\":{$c}"
done
dirs_json=$(printf '"%s",' $DIRS)
cat >"$W/meta.json" <<EOF
{"runs": $RUNS, "quick": $([ "$QUICK" = 1 ] && echo true || echo false), "target": 0.8,
 "oc_rsync": "$OC", "oc_rsync_version": "$OCV", "rsync": "$RSYNC", "rsync_version": "$RSV",
 "remote_shell": "$LRSH", "work": "$W", "work_fs": "$FSTYPE", "work_fs_note": "$FSNOTE",
 "cpus": $(nproc),
 "host": "$(uname -srm)", "date": "$(date -u +%FT%TZ)",
 "directions": [${dirs_json%,}],
 "scenarios": [
  {"id": "init", "label": "init $NSMALL files", "files": $NSMALL, "dirs": $NDIRS, "bytes": $SMALL_BYTES},
  {"id": "nochange", "label": "nochange $NSMALL files", "files": $NSMALL, "dirs": $NDIRS, "bytes": $SMALL_BYTES},
  {"id": "delta", "label": "delta ${BIG_MIB} MiB, 1%", "bytes": $((BIG_MIB << 20)),
   "changes": $NCHG, "change_bytes": $CHG, "changed_bytes": $CHANGED, "checks": {$checks}}
 ]}
EOF
echo
python3 "$PY" report "$RUNS_JSONL" "$W/meta.json" "$OUT"
cp "$RUNS_JSONL" "$OUT/rsync_engine.runs.jsonl"
if command -v gnuplot >/dev/null; then
	python3 "$PY" plot "$OUT/rsync_engine.json" "$OUT" ||
		echo "bench_rsync: gnuplot failed; no plot" >&2
fi
echo "results: $OUT/rsync_engine.json, $OUT/rsync_engine.txt"
