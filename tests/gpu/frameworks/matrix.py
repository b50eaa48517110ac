"""Build the reproducibility matrix (markdown) from tests/gpu/run.sh output.

    python3 matrix.py OUTDIR

Reads OUTDIR/runs/ROW.VARIANT.I.out (RESULT/STEP_MS lines of the
framework workloads, "weights=... step_ms=..." of resnet_train.py,
"part hash" lines of the CUDA C target, and run.sh's "RC n" line) and,
if present, OUTDIR/ddp/results.tsv of run_ddp.sh.  A cell "d/n" is d
distinct results in n runs that gave one; "n fail" counts runs that
exited non-zero or printed no result."""
import collections, glob, os, re, statistics, sys

out = sys.argv[1]
hashes = collections.defaultdict(dict)    # (row, part, var) -> {i: hash}
steps = {}                                # (row, var) -> ms
fails = collections.Counter()             # (row, var) -> n
for f in sorted(glob.glob(os.path.join(out, "runs", "*.out"))):
    row, var, i = os.path.basename(f)[:-4].split(".")
    text = open(f, errors="replace").read()
    got = False
    for line in text.splitlines():
        w = line.split()
        if len(w) == 3 and w[0] == "RESULT":
            hashes[(row, w[1], var)][i] = w[2]; got = True
        elif len(w) == 2 and w[0] == "STEP_MS":
            steps[(row, var)] = float(w[1])
        elif "weights=" in line:
            hashes[(row, row, var)][i] = re.search(r"weights=(\w+)", line).group(1); got = True
            steps[(row, var)] = float(re.search(r"step_ms=([\d.]+)", line).group(1))
        elif row == "cuda" and len(w) == 2 and re.fullmatch(r"[0-9a-f]{8,16}", w[1]):
            hashes[(row, "cuda_" + w[0], var)][i] = w[1]; got = True
    m = re.search(r"^RC (\d+)", text, re.M)
    if (m and m.group(1) != "0") or not got:
        fails[(row, var)] += 1
ddp = os.path.join(out, "ddp", "results.tsv")
if os.path.exists(ddp):
    for line in open(ddp):
        w, m, r, part, h, s = line.rstrip("\n").split("\t")
        var = {"without": "plain", "with": "detshim"}[m]
        if part == "EXIT":
            fails[("ddp", var)] += 1
        else:
            hashes[("ddp", "ddp_" + part, var)][r] = h

ORDER = ["resnet_bench", "resnet_nobench", "gpt", "hf", "dataloader", "compile",
         "jax", "cupy", "cuda", "ddp"]
NAME = {
    "resnet_bench": "PyTorch eager ResNet-18, cudnn.benchmark on",
    "resnet_nobench": "PyTorch eager ResNet-18, benchmark off",
    "gpt": "GPT-style transformer (SDPA, bf16, dropout)",
    "hf": "HF generate(), unseeded",
    "dataloader": "DataLoader, 2 workers, unseeded",
    "compile": "torch.compile max-autotune",
    "jax": "JAX conv net + scatter-add",
    "cupy": "CuPy, unseeded",
    "cuda": "CUDA C target (cuRAND, cuBLAS, uninit memory)",
    "ddp": "2-GPU DDP (torchrun, NCCL)",
}


def cell(row, part, var):
    d = hashes.get((row, part, var))
    f = fails.get((row, var), 0)
    if not d:
        return "%d fail" % f if f else "—"
    s = "%d/%d" % (len(set(d.values())), len(d))
    return s + (" (%d fail)" % f if f else "")


def seed2(row, part):
    a = set(hashes.get((row, part, "detshim"), {}).values())
    b = set(hashes.get((row, part, "seed2"), {}).values())
    if not b:
        return "—"
    return "differs" if a and not (a & b) else "SAME"


def ratio(row, var):
    p, v = steps.get((row, "time-plain")), steps.get((row, "time-" + var))
    if not p or not v:
        return "—"
    return "%.2f" % (v / p)


print("| workload | part | plain | framework det. mode | detshim | detshim + cache | DETSHIM_SEED=2 | plain step ms | ratio det. mode | ratio detshim | ratio detshim + cache |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
rows = sorted({k[0] for k in hashes} | {k[0] for k in fails},
              key=lambda r: ORDER.index(r) if r in ORDER else 99)
for row in rows:
    parts = sorted({k[1] for k in hashes if k[0] == row})
    for part in parts:
        p = steps.get((row, "time-plain"))
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            NAME.get(row, row), part, cell(row, part, "plain"), cell(row, part, "fwdet"),
            cell(row, part, "detshim"), cell(row, part, "pinned"), seed2(row, part),
            "%.2f" % p if p else "—", ratio(row, "fwdet"), ratio(row, "detshim"),
            ratio(row, "pinned")))
rec = {k: v for k, v in hashes.items() if k[2] == "record"}
if rec:
    print("\nRecording runs (DETSHIM_ALGO_CACHE absent, DETSHIM_CUDNN_CHOICE=any): " +
          ", ".join("%s=%s" % (k[1], list(v.values())[0]) for k, v in sorted(rec.items())))
for (row, var), n in sorted(fails.items()):
    print("\n%s %s: %d run(s) failed (see runs/%s.%s.*.err)" % (row, var, n, row, var))
