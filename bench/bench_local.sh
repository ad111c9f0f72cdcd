#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Local copies (issue 7): oc-rsync against rsync 3.5.0 and `cp -a` (the
# practical floor), side by side, every program on the same trees, no host:
#   init10k, init50k  initial copy of 10,000 / 50,000 small files (100 per
#                     directory) into an absent destination
#   nochange10k, nochange50k  the same re-synced into the up-to-date copy
#                     (cp has no such mode: n/a)
#   big               initial copy of a tree of large files, 1 GiB in all
#                     (16 files; BENCH_LOCAL_BIG_MB sets the total size)
#   delta             a 256 MiB file with 1% changed in 256 scattered places,
#                     --no-whole-file over the old copy (BENCH_LOCAL_DELTA_MB);
#                     cp -a rewrites the whole file, for scale
# Per run: wall time, CPU time (user + sys of every process of the run) and
# peak RSS (the largest process, from /usr/bin/time -f %M). Medians over
# rounds after a warm-up; ratios oc-rsync/rsync and oc-rsync/cp are medians
# of the per-round ratios. Targets (issue 7, wall time, 2 cores): initial
# copies <= 0.6x rsync and <= 1.2x cp -a; no-change <= 0.5x rsync; delta
# <= 0.7x rsync; peak RSS <= rsync's.
#
#   bench/bench_local.sh [--out DIR] [--quick] [--runs N] [--work DIR]
#                        [--cases LIST] [--keep] [--oc-rsync PATH]
#                        [--rsync PATH]
# Results: OUT/local_copy.{md,csv,json} (and .svg with gnuplot or python
# matplotlib), the raw runs in OUT/local_copy.runs.jsonl. Work files go to
# --work DIR, else $TMPDIR, else /dev/shm when it has room, else /tmp, in a
# fresh folder removed at exit. Caches are never dropped (shared machine):
# every round runs warm. Exit 1 when a copy is wrong or a run fails; 0
# otherwise, targets met or not. See bench/README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=build/bench
WORK=
RUNS=
QUICK=0
KEEP=0
CASES="init10k init50k nochange10k nochange50k big delta"
OC=$ROOT/build/bin/oc-rsync
RSYNC=$(command -v rsync || true)
CP=$(command -v cp)

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
	--cases) CASES=${2//,/ }; shift 2 ;;
	--keep) KEEP=1; shift ;;
	--oc-rsync) OC=$2; shift 2 ;;
	--rsync) RSYNC=$2; shift 2 ;;
	-h | --help) usage 0 ;;
	*) echo "bench_local: unknown option $1" >&2; usage 2 >&2 ;;
	esac
done

die() {
	echo "bench_local: $*" >&2
	exit 1
}

# Full: 10,000 and 50,000 files, 1 GiB, 256 MiB, 5 rounds. --quick is a
# smoke run (1,000 and 5,000 files, 64 MiB, 32 MiB, 2 rounds); its ratios
# are not the issue's numbers.
if [ "$QUICK" = 1 ]; then
	N1=1000 N2=5000 BIG_MB=${BENCH_LOCAL_BIG_MB:-64} DELTA_MB=${BENCH_LOCAL_DELTA_MB:-32}
	RUNS=${RUNS:-2}
else
	N1=10000 N2=50000 BIG_MB=${BENCH_LOCAL_BIG_MB:-1024} DELTA_MB=${BENCH_LOCAL_DELTA_MB:-256}
	RUNS=${RUNS:-5}
fi
case "$RUNS$BIG_MB$DELTA_MB" in
*[!0-9]*) die "--runs, BENCH_LOCAL_BIG_MB and BENCH_LOCAL_DELTA_MB take numbers" ;;
esac
[ "$RUNS" -ge 1 ] && [ "$RUNS" -le 25 ] || die "--runs takes a number 1..25"
[ "$BIG_MB" -ge 16 ] || die "BENCH_LOCAL_BIG_MB: at least 16"
[ "$DELTA_MB" -ge 1 ] || die "BENCH_LOCAL_DELTA_MB: at least 1"
for c in $CASES; do
	case "$c" in
	init10k | init50k | nochange10k | nochange50k | big | delta) ;;
	*) die "--cases takes a list of init10k, init50k, nochange10k, nochange50k, big, delta" ;;
	esac
done
want() { case " $CASES " in *" $1 "*) return 0 ;; esac; return 1; }

command -v python3 >/dev/null || die "python3 is needed (timing, data, checks)"
[ -x /usr/bin/time ] || die "GNU time (/usr/bin/time) is needed for peak RSS"
[ -x "$OC" ] || die "no oc-rsync at $OC (run make first, or pass --oc-rsync)"
[ -n "$RSYNC" ] && [ -x "$RSYNC" ] || die "no rsync found (pass --rsync)"
OC=$(cd "$(dirname "$OC")" && pwd)/$(basename "$OC")
RSYNC=$(cd "$(dirname "$RSYNC")" && pwd)/$(basename "$RSYNC")

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
# Room needed at once: the big tree and one copy of it, or the 50,000-file
# tree and three copies (tmpfs rounds every file up to a page), plus 1 GiB.
need_mb=$((2 * BIG_MB + 1024))
[ $((4 * N2 * 8 / 1024 + 1024)) -gt "$need_mb" ] && need_mb=$((4 * N2 * 8 / 1024 + 1024))
[ $((5 * DELTA_MB + 1024)) -gt "$need_mb" ] && need_mb=$((5 * DELTA_MB + 1024))
if [ -z "$WORK" ]; then
	if [ -n "${TMPDIR:-}" ]; then
		WORK=$TMPDIR
	elif [ -d /dev/shm ] && [ -w /dev/shm ] &&
		[ "$(df -Pm /dev/shm | awk 'NR == 2 {print $4}')" -gt "$need_mb" ]; then
		WORK=/dev/shm
	else
		WORK=/tmp
	fi
fi
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
FSTYPE=$(stat -f -c %T "$WORK")
avail=$(df -Pm "$WORK" | awk 'NR == 2 {print $4}')
[ "$avail" -gt "$need_mb" ] || die "$WORK has $avail MiB free, needs about $need_mb (use --work)"
W=$(mktemp -d "$WORK/bench_local.XXXXXX")
cleanup() {
	if [ "$KEEP" = 1 ]; then
		echo "work files kept in $W"
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PY=$W/helper.py
cat >"$PY" <<'PYEOF'
# Helper for bench_local.sh: data, one timed run, checks, report, plot.
import ctypes, csv, json, os, random, resource, statistics, subprocess, sys, time

T0 = 1767268800  # 2026-01-01 12:00:00 UTC: old, fixed times

def host_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    busy = v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)
    return busy / os.sysconf("SC_CLK_TCK")

def gen_small(root, nfiles, seed):
    # nfiles files of 0..8 KiB, 100 per directory; sizes and bytes seeded.
    r = random.Random(seed)
    total = 0
    ndirs = (nfiles + 99) // 100
    for i in range(nfiles):
        dp = os.path.join(root, "d%03d" % (i // 100))
        if i % 100 == 0:
            os.makedirs(dp)
        n = r.randint(0, 8192)
        p = os.path.join(dp, "f%03d.dat" % (i % 100))
        with open(p, "wb") as f:
            f.write(r.randbytes(n))
        os.utime(p, ns=(T0 * 10**9, T0 * 10**9 + i))
        total += n
    for d in range(ndirs):
        os.utime(os.path.join(root, "d%03d" % d), ns=(T0 * 10**9, T0 * 10**9 + d))
    os.utime(root, ns=(T0 * 10**9, T0 * 10**9))
    print(total)

def gen_big(root, total_mb, nfiles):
    # nfiles random files making total_mb MiB, in two directories.
    os.makedirs(os.path.join(root, "a"))
    os.makedirs(os.path.join(root, "b"))
    each = (total_mb << 20) // nfiles
    chunk = 1 << 20
    for i in range(nfiles):
        p = os.path.join(root, "a" if i % 2 == 0 else "b", "big%02d.bin" % i)
        with open(p, "wb") as f:
            left = each
            while left > 0:
                f.write(os.urandom(min(chunk, left)))
                left -= chunk
        os.utime(p, (T0, T0 + i))
    for d in ("a", "b", "."):
        os.utime(os.path.join(root, d), (T0, T0))
    print(each * nfiles)

def gen_delta(old, new, mib, nchanges, change, seed):
    # new = old with nchanges runs of `change` random bytes, one in the
    # middle of each of nchanges equal stretches; new is an hour younger.
    r = random.Random(seed)
    data = bytearray()
    for _ in range(mib):
        data += r.randbytes(1 << 20)
    with open(old, "wb") as f:
        f.write(data)
    step = len(data) // nchanges
    for k in range(nchanges):
        off = k * step + (step - change) // 2
        data[off:off + change] = r.randbytes(change)
    with open(new, "wb") as f:
        f.write(data)
    os.utime(old, (T0, T0))
    os.utime(new, (T0 + 3600, T0 + 3600))
    print(nchanges * change)

PR_SET_CHILD_SUBREAPER = 36

def run(rec_path, meta, log, argv):
    # One timed run. As a subreaper this fresh process reaps every process
    # of the run (rsync's forked receiver too), so RUSAGE_CHILDREN is the
    # run's CPU. Peak RSS from GNU time around the command: a child forked
    # from Python keeps Python's high-water mark across exec.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    rssf = log + ".rss"
    wrap = ["/usr/bin/time", "-f", "%M", "-o", rssf]
    with open(log, "wb") as lf:
        b0 = host_busy()
        t0 = time.perf_counter()
        p = subprocess.Popen(wrap + argv, stdin=subprocess.DEVNULL, stdout=lf, stderr=lf)
        rc = p.wait()
        t1 = time.perf_counter()
        while True:
            try:
                os.wait()
            except ChildProcessError:
                break
        b1 = host_busy()
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(rssf) as f:
        maxrss = int(f.read().split()[-1])
    os.unlink(rssf)
    rec = dict(meta)
    rec.update(argv=argv, rc=rc, wall=t1 - t0, user=ru.ru_utime, sys=ru.ru_stime,
               cpu=ru.ru_utime + ru.ru_stime, maxrss_kib=maxrss, host_busy=b1 - b0)
    with open(rec_path, "a") as f:
        f.write(json.dumps(rec) + "\n")
    if rc != 0:
        sys.stderr.write(open(log, errors="replace").read())
    sys.exit(0 if rc == 0 else 1)

def describe(root):
    out = {}
    for dp, dns, fns in os.walk(root):
        for n in dns + fns:
            p = os.path.join(dp, n)
            st = os.lstat(p)
            out[os.path.relpath(p, root)] = (st.st_mode, 0 if os.path.isdir(p) else st.st_size,
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

def verify(src, dst, content):
    # Same entries, modes, sizes and mtimes (ns); bytes too when content=1.
    a, b = describe(src), describe(dst)
    bad = []
    for k in sorted(set(a) | set(b)):
        if k not in b:
            bad.append("missing in destination: " + k)
        elif k not in a:
            bad.append("extra in destination: " + k)
        elif a[k] != b[k]:
            bad.append("attributes differ: %s %r != %r" % (k, a[k], b[k]))
        elif content and os.path.isfile(os.path.join(src, k)) and not same_file(
                os.path.join(src, k), os.path.join(dst, k)):
            bad.append("content differs: " + k)
    if bad:
        sys.stderr.write("\n".join(bad[:20]) + "\n")
        sys.exit(1)

def literal_of(log):
    for line in open(log, errors="replace"):
        if line.startswith("Literal data:"):
            print(int(line.split(":")[1].split()[0].replace(",", "")))
            return
    print(-1)

TOOLS = ["oc", "rs", "cp"]
NAMES = {"oc": "oc-rsync", "rs": "rsync", "cp": "cp -a"}

def med(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None

def ratio(by, a, b, k):
    per = [by[a][i][k] / by[b][i][k] for i in by[a] if i in by[b] and by[b][i][k] > 0]
    return med(per)

def report(runs_path, meta_path, out):
    meta = json.load(open(meta_path))
    recs = [json.loads(l) for l in open(runs_path)]
    timed = [r for r in recs if r["rep"] >= 0]
    cases = []
    for sc in meta["scenarios"]:
        rows = [r for r in timed if r["scenario"] == sc["id"]]
        if not rows:
            continue
        c = {"scenario": sc["id"], "label": sc["label"], "kind": sc["kind"], "tools": {},
             "ratios": {}}
        by = {}
        for t in TOOLS:
            rr = [r for r in rows if r["tool"] == t]
            by[t] = {r["rep"]: r for r in rr}
            if not rr:
                c["tools"][t] = None
                continue
            c["tools"][t] = {
                "name": NAMES[t], "argv": rr[0]["argv"], "runs": len(rr),
                "median": {k: med([r[k] for r in rr]) for k in
                           ("wall", "cpu", "user", "sys", "maxrss_kib")},
                "min_wall": min(r["wall"] for r in rr), "max_wall": max(r["wall"] for r in rr)}
        for peer in ("rs", "cp"):
            for k in ("wall", "cpu", "maxrss_kib"):
                c["ratios"]["oc/%s_%s" % (peer, k)] = ratio(by, "oc", peer, k) if by[peer] else None
        ours = sum(r["cpu"] for r in rows)
        busy = sum(r["host_busy"] for r in rows)
        wall = sum(r["wall"] for r in rows)
        c["others_cpu_share"] = max(0.0, busy - ours) / (wall * os.cpu_count())
        tg = []
        rw = c["ratios"]["oc/rs_wall"]
        if sc["kind"] == "init":
            tg.append(("wall oc-rsync/rsync <= 0.6x", rw, 0.6))
            tg.append(("wall oc-rsync/cp -a <= 1.2x", c["ratios"]["oc/cp_wall"], 1.2))
        elif sc["kind"] == "nochange":
            tg.append(("wall oc-rsync/rsync <= 0.5x", rw, 0.5))
        elif sc["kind"] == "delta":
            tg.append(("wall oc-rsync/rsync <= 0.7x", rw, 0.7))
        tg.append(("peak RSS oc-rsync/rsync <= 1x", c["ratios"]["oc/rs_maxrss_kib"], 1.0))
        c["targets"] = [{"what": w, "ratio": v, "limit": l,
                         "met": v is not None and v <= l} for w, v, l in tg]
        c["checks"] = sc.get("checks")
        cases.append(c)
    res = {"bench": "local_copy", "meta": meta, "cases": cases}
    with open(os.path.join(out, "local_copy.json"), "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")

    with open(os.path.join(out, "local_copy.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["case", "tool", "runs", "wall_s", "cpu_s", "user_s", "sys_s",
                    "maxrss_kib", "wall_min_s", "wall_max_s", "oc_over_tool_wall",
                    "oc_over_tool_cpu", "oc_over_tool_rss"])
        for c in cases:
            for t in TOOLS:
                d = c["tools"][t]
                if d is None:
                    w.writerow([c["scenario"], NAMES[t]] + ["n/a"] * 11)
                    continue
                m = d["median"]
                rr = ([1.0, 1.0, 1.0] if t == "oc" else
                      [c["ratios"]["oc/%s_%s" % (t, k)] for k in ("wall", "cpu", "maxrss_kib")])
                w.writerow([c["scenario"], NAMES[t], d["runs"], "%.4f" % m["wall"],
                            "%.4f" % m["cpu"], "%.4f" % m["user"], "%.4f" % m["sys"],
                            m["maxrss_kib"], "%.4f" % d["min_wall"], "%.4f" % d["max_wall"]] +
                           ["" if x is None else "%.3f" % x for x in rr])

    def cell(c, t):
        d = c["tools"][t]
        if d is None:
            return "n/a"
        m = d["median"]
        return "%.3f / %.3f / %.1f" % (m["wall"], m["cpu"], m["maxrss_kib"] / 1024)

    def rat(x):
        return "n/a" if x is None else "%.2fx" % x

    L = []
    L.append("### oc-rsync local copy vs %s and cp -a" % meta["rsync_version"])
    L.append("")
    L.append("%s; median of %d rounds after a warm-up (%s); work folder on %s (%s); "
             "%d CPUs; caches warm (never dropped)."
             % (meta["oc_rsync_version"], meta["runs"],
                "quick: small sizes, not the issue's numbers" if meta["quick"] else "full",
                meta["work_fs"], meta["work"], meta["cpus"]))
    L.append("Cells: wall s / CPU s (user+sys, all processes) / peak RSS MiB. "
             "Ratios: median of per-round oc-rsync/other ratios; below 1 is faster.")
    L.append("")
    L.append("| case | oc-rsync | rsync | cp -a | oc/rsync wall | oc/rsync cpu | "
             "oc/rsync rss | oc/cp wall | oc/cp cpu | others' cpu | targets |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for c in cases:
        r = c["ratios"]
        tg = "; ".join("%s %s" % (t["what"].split(" <=")[0] + " <= %gx" % t["limit"],
                                  "met" if t["met"] else "**NOT met**") for t in c["targets"])
        L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %.0f%% | %s |" % (
            c["label"], cell(c, "oc"), cell(c, "rs"), cell(c, "cp"),
            rat(r["oc/rs_wall"]), rat(r["oc/rs_cpu"]), rat(r["oc/rs_maxrss_kib"]),
            rat(r["oc/cp_wall"]), rat(r["oc/cp_cpu"]), 100 * c["others_cpu_share"], tg))
    L.append("")
    L.append("Spread (min..max wall s): " + "; ".join(
        "%s: %s" % (c["scenario"], ", ".join(
            "%s %.3f..%.3f" % (NAMES[t], c["tools"][t]["min_wall"], c["tools"][t]["max_wall"])
            for t in TOOLS if c["tools"][t])) for c in cases) + ".")
    for c in cases:
        if c["checks"]:
            L.append("")
            L.append("Delta check (warm-up run with --stats): " + ", ".join(
                "%s literal %s bytes" % (NAMES[t], v) for t, v in c["checks"].items()) + ".")
    if any(c["others_cpu_share"] > 0.10 for c in cases):
        L.append("")
        L.append("Caution: other processes used more than 10% of the CPUs during some "
                 "cases; close calls need a quiet host.")
    met = sum(t["met"] for c in cases for t in c["targets"])
    alln = sum(len(c["targets"]) for c in cases)
    L.append("")
    L.append("Targets met: %d of %d." % (met, alln))
    txt = "\n".join(L) + "\n"
    with open(os.path.join(out, "local_copy.md"), "w") as f:
        f.write(txt)
    sys.stdout.write(txt)

def plot(json_path, out):
    # Bars: oc-rsync's wall and CPU over rsync's and over cp's per case.
    res = json.load(open(json_path))
    cases = res["cases"]
    svg = os.path.join(out, "local_copy.svg")
    series = [("oc/rs_wall", "oc-rsync/rsync wall"), ("oc/rs_cpu", "oc-rsync/rsync cpu"),
              ("oc/cp_wall", "oc-rsync/cp -a wall"), ("oc/rs_maxrss_kib", "oc-rsync/rsync peak RSS")]
    title = "oc-rsync local copy over rsync 3.5.0 and cp -a (median of per-round ratios; lower is better)"
    try:
        have_gp = subprocess.run(["gnuplot", "--version"], capture_output=True).returncode == 0
    except OSError:
        have_gp = False
    if have_gp:
        rows = []
        for c in cases:
            v = [c["ratios"][k] for k, _ in series]
            rows.append('"%s" %s' % (c["scenario"], " ".join(
                "NaN" if x is None else "%.4f" % x for x in v)))
        gp = os.path.join(out, "local_copy.gp")
        with open(gp, "w") as f:
            f.write("""# bench/bench_local.sh; re-run with gnuplot
set terminal svg size 960,480 dynamic font "sans,11"
set output "%s"
set title "%s"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set yrange [0:*]
set ylabel "ratio"
set key below
set grid ytics
set datafile missing "NaN"
set arrow from graph 0, first 1 to graph 1, first 1 nohead lc rgb "black"
$d << EOD
%s
EOD
plot $d using 2:xtic(1) title "%s", '' using 3 title "%s", '' using 4 title "%s", '' using 5 title "%s"
""" % (svg, title, "\n".join(rows), series[0][1], series[1][1], series[2][1], series[3][1]))
        subprocess.run(["gnuplot", gp], check=True)
        print("plot: " + svg)
        return
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no gnuplot and no python matplotlib: no plot")
        return
    fig, ax = plt.subplots(figsize=(10, 5))
    wdt = 0.8 / len(series)
    for j, (k, name) in enumerate(series):
        ax.bar([i + j * wdt for i in range(len(cases))],
               [c["ratios"][k] or 0 for c in cases], wdt, label=name)
    ax.set_xticks([i + 0.4 - wdt / 2 for i in range(len(cases))])
    ax.set_xticklabels([c["scenario"] for c in cases])
    ax.axhline(1, color="black")
    ax.set_title(title, fontsize=9)
    ax.legend()
    fig.savefig(svg)
    print("plot: " + svg)

if __name__ == "__main__":
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "gen-small":
        gen_small(a[0], int(a[1]), int(a[2]))
    elif cmd == "gen-big":
        gen_big(a[0], int(a[1]), int(a[2]))
    elif cmd == "gen-delta":
        gen_delta(a[0], a[1], int(a[2]), int(a[3]), int(a[4]), int(a[5]))
    elif cmd == "run":
        i = a.index("--")
        run(a[0], json.loads(a[2]), a[1], a[i + 1:])
    elif cmd == "verify":
        verify(a[0], a[1], int(a[2]))
    elif cmd == "literal":
        literal_of(a[0])
    elif cmd == "report":
        report(a[0], a[1], a[2])
    elif cmd == "plot":
        plot(a[0], a[1])
    else:
        sys.exit("unknown helper command " + cmd)
PYEOF

RUNS_JSONL=$W/runs.jsonl
: >"$RUNS_JSONL"

# argv of tool $1 copying tree $2 to $3, extra rsync options after.
tool_argv() {
	local tool=$1 src=$2 dst=$3
	shift 3
	case "$tool" in
	oc) ARGV=("$OC" -a "$@" "$src/" "$dst/") ;;
	rs) ARGV=("$RSYNC" -a "$@" "$src/" "$dst/") ;;
	# Into an absent destination `cp -a SRC DST` makes DST the copy; into
	# an existing one, SRC/. copies the contents over it.
	cp) if [ -e "$dst" ]; then ARGV=("$CP" -a "$src/." "$dst/"); else ARGV=("$CP" -a "$src" "$dst"); fi ;;
	esac
}

# Round r runs the programs in turn, starting one further each round (the
# warm-up is round -1), so drift and "who ran just before" hit each alike.
order() {
	local t=("$@") n=$# k
	k=$(((REP + 1) % n))
	echo "${t[@]:k}" "${t[@]:0:k}"
}

# timed SCENARIO TOOL REP SRC DST [OPTION...]
timed() {
	local sc=$1 tool=$2 rep=$3 src=$4 dst=$5
	shift 5
	tool_argv "$tool" "$src" "$dst" "$@"
	python3 "$PY" run "$RUNS_JSONL" "$W/log" \
		"{\"scenario\":\"$sc\",\"tool\":\"$tool\",\"rep\":$rep}" -- "${ARGV[@]}" || {
		cp "$W/log" "$OUT/local_copy.fail.log"
		die "$sc round $rep: ${ARGV[*]} failed (output in $OUT/local_copy.fail.log)"
	}
}

# Source directories get a time long past. rsync (and oc-rsync, as it)
# compares a directory's mtime in whole seconds (modify_window 0): one
# written in the same second as its source's time would keep the time of
# that write, and the check below, which wants the nanoseconds, would fail
# for whichever program happened to run in that second.
age_dirs() {
	find "$1" -type d -exec touch -d '2020-02-03 04:05:06.789' {} +
}

# Entries and metadata after every run; the bytes too in the warm-up round.
check() {
	python3 "$PY" verify "$1" "$2" "$([ "$REP" = -1 ] && echo 1 || echo 0)" ||
		die "$3: destination differs from source after: ${ARGV[*]}"
}

RSV=$("$RSYNC" --version | awk 'NR == 1 {print $1, $3}') || die "$RSYNC --version failed"
OCV=$("$OC" --version | awk 'NR == 1 {print $1, $3}') || die "$OC --version failed"
echo "bench_local: $OCV vs $RSV vs cp -a, $RUNS rounds, work in $W ($FSTYPE)"

# --- small files: init and nochange, for each size ------------------------------
declare -A NBYTES
small_case() {
	local n=$1 tag=$2 src=$W/small$2/src tool d
	want "init$tag" || want "nochange$tag" || return 0
	mkdir -p "$W/small$tag"
	NBYTES[$tag]=$(python3 "$PY" gen-small "$src" "$n" 5)
	age_dirs "$src"
	echo "data: $n files in $(((n + 99) / 100)) dirs, ${NBYTES[$tag]} bytes"
	if want "init$tag"; then
		echo "init$tag ..."
		for REP in $(seq -1 $((RUNS - 1))); do
			for tool in $(order oc rs cp); do
				d=$W/small$tag/dst_$tool
				rm -rf "$d"
				timed "init$tag" "$tool" "$REP" "$src" "$d"
				check "$src" "$d" "init$tag"
			done
		done
	fi
	if want "nochange$tag"; then
		echo "nochange$tag ..."
		for REP in $(seq -1 $((RUNS - 1))); do
			for tool in $(order oc rs); do
				d=$W/small$tag/dst_$tool
				[ -d "$d" ] || "$RSYNC" -a "$src/" "$d/"
				timed "nochange$tag" "$tool" "$REP" "$src" "$d"
				check "$src" "$d" "nochange$tag"
			done
		done
	fi
	rm -rf "$W/small$tag"
}
small_case "$N1" 10k
small_case "$N2" 50k

# --- big: a tree of large files, initial copy --------------------------------------
BIG_BYTES=null
if want big; then
	BIG_BYTES=$(python3 "$PY" gen-big "$W/big/src" "$BIG_MB" 16)
	age_dirs "$W/big/src"
	echo "data: 16 files, $BIG_BYTES bytes"
	echo "big ..."
	for REP in $(seq -1 $((RUNS - 1))); do
		for tool in $(order oc rs cp); do
			d=$W/big/dst_$tool
			rm -rf "$d"
			timed big "$tool" "$REP" "$W/big/src" "$d"
			check "$W/big/src" "$d" big
			rm -rf "$d"    # one copy at a time: room on tmpfs
		done
	done
	rm -rf "$W/big"
fi

# --- delta: a file with 1% changed, --no-whole-file over the old copy ---------------
NCHG=256 CHG=$(((DELTA_MB << 20) / 100 / 256))
declare -A LIT=([oc]=null [rs]=null)
if want delta; then
	mkdir -p "$W/delta/src"
	python3 "$PY" gen-delta "$W/delta/old.bin" "$W/delta/src/big.bin" "$DELTA_MB" "$NCHG" "$CHG" 7 >/dev/null
	age_dirs "$W/delta/src"
	echo "data: a $DELTA_MB MiB file, $NCHG changes of $CHG bytes"
	echo "delta ..."
	for REP in $(seq -1 $((RUNS - 1))); do
		for tool in $(order oc rs cp); do
			d=$W/delta/dst_$tool
			rm -rf "$d"
			mkdir -p "$d"
			cp --preserve=mode,timestamps "$W/delta/old.bin" "$d/big.bin"
			touch -r "$W/delta/src" "$d"
			if [ "$tool" = cp ]; then
				timed delta "$tool" "$REP" "$W/delta/src" "$d"
			elif [ "$REP" = -1 ]; then
				timed delta "$tool" "$REP" "$W/delta/src" "$d" --no-whole-file --stats
				LIT[$tool]=$(python3 "$PY" literal "$W/log")
				[ "${LIT[$tool]}" -ge 0 ] && [ "${LIT[$tool]}" -lt $((DELTA_MB << 20 >> 3)) ] ||
					die "delta: ${ARGV[*]} sent ${LIT[$tool]} literal bytes; not a delta transfer"
			else
				timed delta "$tool" "$REP" "$W/delta/src" "$d" --no-whole-file
			fi
			check "$W/delta/src" "$d" delta
		done
	done
	rm -rf "$W/delta"
fi

# --- report ---------------------------------------------------------------------------
cat >"$W/meta.json" <<EOF
{"runs": $RUNS, "quick": $([ "$QUICK" = 1 ] && echo true || echo false),
 "oc_rsync": "$OC", "oc_rsync_version": "$OCV", "rsync": "$RSYNC", "rsync_version": "$RSV",
 "work": "$W", "work_fs": "$FSTYPE", "cpus": $(nproc),
 "host": "$(uname -srm)", "date": "$(date -u +%FT%TZ)",
 "scenarios": [
  {"id": "init10k", "kind": "init", "label": "initial copy, $N1 small files", "files": $N1, "bytes": ${NBYTES[10k]:-null}},
  {"id": "init50k", "kind": "init", "label": "initial copy, $N2 small files", "files": $N2, "bytes": ${NBYTES[50k]:-null}},
  {"id": "nochange10k", "kind": "nochange", "label": "no-change re-sync, $N1 files", "files": $N1},
  {"id": "nochange50k", "kind": "nochange", "label": "no-change re-sync, $N2 files", "files": $N2},
  {"id": "big", "kind": "init", "label": "initial copy, $BIG_MB MiB in 16 files", "bytes": $BIG_BYTES},
  {"id": "delta", "kind": "delta", "label": "delta, $DELTA_MB MiB file, 1% changed, --no-whole-file",
   "changes": $NCHG, "change_bytes": $CHG, "checks": {"oc": ${LIT[oc]}, "rs": ${LIT[rs]}}}
 ]}
EOF
echo
python3 "$PY" report "$RUNS_JSONL" "$W/meta.json" "$OUT"
cp "$RUNS_JSONL" "$OUT/local_copy.runs.jsonl"
python3 "$PY" plot "$OUT/local_copy.json" "$OUT" || echo "bench_local: plotting failed; no plot" >&2
echo "results: $OUT/local_copy.md, $OUT/local_copy.csv, $OUT/local_copy.json"
