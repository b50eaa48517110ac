"""The tables of tests/gpu/nccl4/run.sh, in Markdown, from its output folder.

    python3 tests/gpu/nccl4/summarize.py OUTDIR

Reads OUTDIR/coll/VARIANT/RUN.out (collectives.py under each variant) and
OUTDIR/train/out_NAME_MODE_RUN.txt (tests/gpu/run_ddp.sh), and prints:
  1. per variant: the NCCL variables it set beyond plain's, how many
     (op, dtype, size) rows gave one result in every run, whether the
     ranks agreed, the unseeded draw per rank, and the bus bandwidth
     against plain (geometric mean and worst size);
  2. the smallest reproducible set: among the variants whose every row
     gave one result, the one with the fewest variables, then the fastest;
  3. per row: distinct results over the runs, one column per variant;
  4. per row: plain's bus bandwidth and each variant's ratio to it
     (medians over the runs);
  5. training: distinct weight hashes without and with detshim, whether
     every rank agreed in every run, median step times and their ratio.
A cell "d/n" is d distinct results in n runs.  Rows absent from a run
(a launch that failed) count as missing, and the table says so.
"""
import collections
import glob
import math
import os
import re
import statistics
import sys

RESULT = re.compile(r"RESULT (\S+) (\S+) (\d+) rank(\d+) ([0-9a-f]{32})")
BW = re.compile(r"BW (\S+) (\S+) (\d+) (\S+) (\S+) (\S+)")
SEED = re.compile(r"SEED rank(\d+) (\d+)")
ENV = re.compile(r"INFO env (NCCL_[A-Z_]+)=(\S*)")
INFO = re.compile(r"INFO (torch|nccl|gpu|world_size|backend) (.+)")
HASH = re.compile(r"(rank\d+) ([0-9a-f]{16})")
STEP = re.compile(r"rank(\d+) step_ms ([0-9.]+)")
OPS = ("all_reduce", "reduce_scatter", "all_gather", "reduce")
VARIANT_ORDER = ("plain", "detshim", "ring", "simple", "ring_simple", "ring_ctas",
                 "ring_simple_ctas", "tree1")


def size_text(b):
    for unit, n in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if b >= n and b % n == 0:
            return "%d %s" % (b // n, unit)
    return "%d B" % b


def read_coll(top):
    """variant -> {"runs": [run dict]}; a run dict holds results, bw, seeds, env."""
    out = {}
    for d in sorted(glob.glob(os.path.join(top, "coll", "*"))):
        v = os.path.basename(d)
        runs = []
        for f in sorted(glob.glob(os.path.join(d, "*.out")),
                        key=lambda p: os.path.basename(p)):
            if not os.path.basename(f)[:-4].isdigit():
                continue  # tuning.out
            run = {"results": {}, "ranks_differ": set(), "bw": {}, "seeds": {}, "env": {},
                   "info": {}}
            for line in open(f, errors="replace"):
                m = RESULT.search(line)
                if m:
                    key = (m.group(1), m.group(2), int(m.group(3)))
                    h = m.group(5)
                    prev = run["results"].setdefault(key, h)
                    if prev != h:
                        run["ranks_differ"].add(key)
                    continue
                m = BW.search(line)
                if m:
                    run["bw"][(m.group(1), m.group(2), int(m.group(3)))] = float(m.group(6))
                    continue
                m = SEED.search(line)
                if m:
                    run["seeds"][int(m.group(1))] = m.group(2)
                    continue
                m = ENV.search(line)
                if m:
                    run["env"][m.group(1)] = m.group(2)
                    continue
                m = INFO.search(line)
                if m:
                    run["info"][m.group(1)] = m.group(2).strip()
            runs.append(run)
        out[v] = runs
    return out


def variants_in_order(coll):
    known = [v for v in VARIANT_ORDER if v in coll]
    return known + sorted(v for v in coll if v not in VARIANT_ORDER)


def coll_tables(coll):
    if not coll:
        print("Collectives: not run (no OUTDIR/coll).\n")
        return
    vs = variants_in_order(coll)
    rows = sorted({k for v in vs for r in coll[v] for k in r["results"]},
                  key=lambda k: (OPS.index(k[0]) if k[0] in OPS else 9, k[1], k[2]))
    base_env = coll["plain"][0]["env"] if "plain" in coll and coll["plain"] else {}
    info = next((r["info"] for v in vs for r in coll[v] if r["info"]), {})
    print("Machine: %s; %s ranks, backend %s, torch %s, NCCL %s.\n" % (
        info.get("gpu", "?"), info.get("world_size", "?"), info.get("backend", "?"),
        info.get("torch", "?"), info.get("nccl", "?")))

    def distinct(v, k):
        hs = [r["results"][k] for r in coll[v] if k in r["results"]]
        return len(set(hs)), len(hs), len(coll[v])

    def bw(v, k):
        xs = [r["bw"][k] for r in coll[v] if k in r["bw"]]
        return statistics.median(xs) if xs else None

    def pins(v):
        env = coll[v][0]["env"] if coll[v] else {}
        extra = sorted("%s=%s" % (k, x) for k, x in env.items() if base_env.get(k) != x)
        return ", ".join("`%s`" % e for e in extra) or "none"

    summary = {}
    print("| variant | NCCL variables beyond plain's | rows with 1 result | rows that differed "
          "| ranks agreed | unseeded draw: distinct per rank | busbw / plain, geomean | worst |")
    print("|---|---|---|---|---|---|---|---|")
    for v in vs:
        ok = sum(1 for k in rows if distinct(v, k)[0] == 1 and distinct(v, k)[1] == len(coll[v]))
        bad = [k for k in rows if distinct(v, k)[0] > 1]
        missing = [k for k in rows if distinct(v, k)[1] < len(coll[v])]
        agree = not any(r["ranks_differ"] for r in coll[v])
        seeds = collections.defaultdict(set)
        for r in coll[v]:
            for rk, s in r["seeds"].items():
                seeds[rk].add(s)
        seed_txt = "/".join(str(len(seeds[rk])) for rk in sorted(seeds)) or "—"
        ratios, worst = [], None
        for k in rows:
            b0, b1 = bw("plain", k) if "plain" in coll else None, bw(v, k)
            if b0 and b1:
                ratios.append(b1 / b0)
                if worst is None or b1 / b0 < worst[0]:
                    worst = (b1 / b0, k)
        geo = math.exp(statistics.mean(math.log(x) for x in ratios)) if ratios else None
        bad_txt = ", ".join("%s %s %s" % (k[0], k[1], size_text(k[2])) for k in bad[:6])
        if len(bad) > 6:
            bad_txt += ", ... (%d)" % len(bad)
        if missing:
            bad_txt += "%s%d missing" % ("; " if bad_txt else "", len(missing))
        summary[v] = (ok == len(rows), len(pins(v).split(", ")) if pins(v) != "none" else 0,
                      geo or 0.0)
        print("| %s | %s | %d/%d | %s | %s | %s | %s | %s |" % (
            v, pins(v), ok, len(rows), bad_txt or "—", "yes" if agree else "**no**", seed_txt,
            "%.3f" % geo if geo else "—",
            "%.3f (%s %s %s)" % (worst[0], worst[1][0], worst[1][1], size_text(worst[1][2]))
            if worst else "—"))
    print()
    good = [v for v in vs if summary[v][0] and v != "detshim"]
    if good:
        best = min(good, key=lambda v: (summary[v][1], -summary[v][2]))
        print("Smallest reproducible set: **%s** (%s), bus bandwidth %s of plain (geometric "
              "mean over the rows).\n" % (best, pins(best), "%.3f" % summary[best][2]
                                          if summary[best][2] else "—"))
    else:
        print("Smallest reproducible set: none of the pinned variants gave one result in "
              "every row.\n")

    print("| op | dtype | size | " + " | ".join(vs) + " |")
    print("|---|---|---|" + "---|" * len(vs))
    for k in rows:
        cells = []
        for v in vs:
            d, n, _ = distinct(v, k)
            cells.append(("**%d/%d**" if d > 1 else "%d/%d") % (d, n))
        print("| %s | %s | %s | %s |" % (k[0], k[1], size_text(k[2]), " | ".join(cells)))
    print()
    if "plain" in coll:
        others = [v for v in vs if v != "plain"]
        print("| op | dtype | size | plain busbw GB/s | " + " | ".join(others) + " |")
        print("|---|---|---|---|" + "---|" * len(others))
        for k in rows:
            b0 = bw("plain", k)
            cells = []
            for v in others:
                b1 = bw(v, k)
                cells.append("%.2f" % (b1 / b0) if b0 and b1 else "—")
            print("| %s | %s | %s | %s | %s |" % (k[0], k[1], size_text(k[2]),
                                                 "%.4g" % b0 if b0 else "—", " | ".join(cells)))
        print()


def train_table(top):
    files = glob.glob(os.path.join(top, "train", "out_*_*_*.txt"))
    if not files:
        print("Training: not run (no OUTDIR/train).\n")
        return
    runs = collections.defaultdict(dict)  # (name, mode) -> run -> (hashes by rank, steps)
    for f in files:
        m = re.match(r"out_(.+)_(without|with)_(\d+)\.txt$", os.path.basename(f))
        if not m:
            continue
        text = open(f, errors="replace").read()
        hashes = {p: h for p, h in HASH.findall(text)}
        steps = [float(s) for _, s in STEP.findall(text)]
        runs[(m.group(1), m.group(2))][int(m.group(3))] = (hashes, steps)
    names = sorted({n for n, _ in runs})
    print("| workload | runs | distinct without | distinct with detshim | every rank the same "
          "(with) | step ms without | step ms with | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for n in names:
        cells = []
        med = {}
        agree = "—"
        for mode in ("without", "with"):
            rs = runs.get((n, mode), {})
            per_run = [tuple(sorted(h.items())) for h, _ in rs.values() if h]
            every = {x for h, _ in rs.values() for x in h.values()}
            cells.append("%d/%d" % (len(set(per_run)), len(rs)) + (
                " (%d hashes)" % len(every) if len(every) != len(set(per_run)) else ""))
            steps = [s for _, st in rs.values() for s in st]
            med[mode] = statistics.median(steps) if steps else None
            if mode == "with" and rs:
                agree = "yes" if all(len(set(h.values())) == 1 for h, _ in rs.values() if h) \
                    else "**no**"
        ratio = med["with"] / med["without"] if med["with"] and med["without"] else None
        print("| %s | %d | %s | %s | %s | %s | %s | %s |" % (
            n, max(len(runs.get((n, m), {})) for m in ("without", "with")), cells[0], cells[1],
            agree, "%.2f" % med["without"] if med["without"] else "—",
            "%.2f" % med["with"] if med["with"] else "—", "%.2f" % ratio if ratio else "—"))
    print()


def main(top):
    coll_tables(read_coll(top))
    train_table(top)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
