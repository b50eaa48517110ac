"""Tables for bench/gpu.sh: python3 summarize.py OUTDIR  (markdown on stdout).

raw.txt lines:  <wl> <config> <round> <wl> <mode> step_ms=<ms> weights=<hash>
Step time of a run: its mean over the timed steps.  Per configuration: the
median over the runs, min-max, spread = (max - min) / median, ratio =
median / median of "bench", paired = median over rounds of the run's time
divided by the "bench" run of the same round, distinct final-weight hashes."""
import collections, json, os, re, statistics, sys

out = sys.argv[1]
NAMES = {"resnet": "ResNet-18 (resnet_train.py)", "gpt": "GPT-style transformer (gpt_train.py)"}
ORDER = ["bench", "nobench", "torchdet", "torchdet_nobench", "detshim", "pinned", "pinned_notorch",
         "bench_ws", "detshim_notorch", "detshim_notorch_nopins", "detshim_nofill",
         "detshim_nows", "pinned_nows"]
DESC = {
    "bench": "plain, benchmark on",
    "nobench": "plain, benchmark off",
    "torchdet": "PyTorch deterministic mode",
    "torchdet_nobench": "PyTorch deterministic mode, benchmark off",
    "detshim": "detshim default",
    "pinned": "detshim + pinning file",
    "pinned_notorch": "detshim + pinning file, DETSHIM_TORCH=0",
    "bench_ws": "plain, benchmark on, CUBLAS_WORKSPACE_CONFIG=:4096:8",
    "detshim_nows": "detshim, DETSHIM_CUBLAS_WORKSPACE=0",
    "pinned_nows": "detshim + pinning file, DETSHIM_CUBLAS_WORKSPACE=0",
    "detshim_notorch": "detshim, DETSHIM_TORCH=0",
    "detshim_notorch_nopins": "detshim, DETSHIM_TORCH=0 DETSHIM_ENV_PINS=0",
    "detshim_nofill": "detshim, PyTorch NaN fill off",
}


def fmt(x, nd=2):
    return "-" if x is None else ("%.*f" % (nd, x))


runs = collections.defaultdict(dict)   # (wl, cfg) -> {round: (ms, hash)}
fails = collections.Counter()
extra = []                              # recording runs
for line in open(os.path.join(out, "raw.txt")):
    f = line.split()
    if len(f) < 3:
        continue
    wl, cfg, rnd = f[0], f[1], f[2]
    t = re.search(r"step_ms=([\d.]+)", line)
    h = re.search(r"weights=(\w+)", line)
    if cfg == "record":
        extra.append((wl, cfg, float(t.group(1)) if t else None, h.group(1) if h else "FAILED"))
        continue
    if t and h:
        runs[(wl, cfg)][rnd] = (float(t.group(1)), h.group(1))
    else:
        fails[(wl, cfg)] += 1

env = open(os.path.join(out, "env.txt")).read().strip() if os.path.exists(os.path.join(out, "env.txt")) else ""
print("```")
print(env)
print("```")
medians = {}
for wl in dict.fromkeys(k[0] for k in list(runs) + list(fails)):
    cfgs = [c for c in ORDER if (wl, c) in runs or (wl, c) in fails]
    cfgs += sorted({c for (w, c) in list(runs) + list(fails) if w == wl and c not in ORDER})
    ref = runs.get((wl, "bench"), {})
    refmed = statistics.median(v[0] for v in ref.values()) if ref else None
    print()
    print("### %s" % NAMES.get(wl, wl))
    print()
    print("| configuration | runs | median step ms | min-max ms | spread | ratio to bench | paired ratio | distinct weight hashes |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for c in cfgs:
        rr = runs.get((wl, c), {})
        ts = [v[0] for v in rr.values()]
        hs = [v[1] for v in rr.values()]
        med = statistics.median(ts) if ts else None
        medians[(wl, c)] = med
        spread = (max(ts) - min(ts)) / med * 100 if ts else None
        ratio = med / refmed if med and refmed else None
        pr = [rr[k][0] / ref[k][0] for k in rr if k in ref]
        paired = statistics.median(pr) if pr else None
        nfail = fails.get((wl, c), 0)
        print("| %s | %d%s | %s | %s | %s | %s | %s | %d |" % (
            DESC.get(c, c), len(ts), " (+%d failed)" % nfail if nfail else "",
            fmt(med), "%s-%s" % (fmt(min(ts)), fmt(max(ts))) if ts else "-",
            fmt(spread, 1) + "%" if spread is not None else "-",
            fmt(ratio, 3), fmt(paired, 3), len(set(hs))))
    # the target, said plainly
    p, d, b = medians.get((wl, "pinned")), medians.get((wl, "torchdet")), refmed
    if p and b and d:
        ident = [c for c in cfgs if len({v[1] for v in runs.get((wl, c), {}).values()}) == 1
                 and len(runs.get((wl, c), {})) > 1]
        print()
        print("Target (pinned within 5%% of bench, faster than torchdet, only bit-identical one): "
              "pinned/bench = %.3f (%s); pinned vs torchdet = %s; bit-identical over the runs: %s."
              % (p / b, "met" if p / b <= 1.05 else "NOT met",
                 ("%.3f (%s)" % (p / d, "faster" if p < d else "NOT faster")) if d else "-",
                 ", ".join(ident) if ident else "none"))

if extra:
    print()
    print("Other runs (not in the tables above): the recording runs.")
    print()
    print("| workload | run | step ms | weights |")
    print("|---|---|---:|---|")
    for wl, cfg, t, h in extra:
        print("| %s | %s | %s | %s |" % (wl, cfg, fmt(t), h))

# shim summaries from the logs
logs = sorted(x for x in os.listdir(out) if x.startswith("log-") and x.endswith(".jsonl"))
rows = []
for name in logs:
    for line in open(os.path.join(out, name), errors="replace"):
        try:
            j = json.loads(line)
        except ValueError:
            continue
        if j.get("action") in ("summary", "loaded", "written", "record", "stale", "malformed") and j.get("src") == "cudnn":
            rows.append((name[4:-6], j.get("call"), j.get("action"), j.get("detail")))
if rows:
    print()
    print("Shim log (first run of each shim configuration):")
    print()
    for r in rows:
        print("- `%s` %s %s: %s" % r)
