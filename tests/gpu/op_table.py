"""The PyTorch ops that deterministic mode refuses, probed on the GPU
(tests/gpu/op_table.sh runs it in each variant and writes the table).

    python3 tests/gpu/op_table.py run OUT.json [fwdet] [ref]
    python3 tests/gpu/op_table.py list

`run` probes every op in this process, as the environment has it (plain,
or under the shim): for each op, whether it raises, the hashes of 5
calls on the same inputs, the median time of a call, and how far the
result is from PyTorch's own CPU kernel on the same inputs (with `ref`).
With `fwdet` the program itself turns on deterministic mode first.  `list`
prints the entries of torch.use_deterministic_algorithms' list of ops
that raise, for this torch, each with the probe that covers it (or
"no probe").  A probe runs at a realistic size; where the docs say
"when attempting to differentiate", it runs forward and backward.
"""

import hashlib
import json
import os
import re
import sys
import time

import torch
import torch.nn.functional as F

DEV = os.environ.get("OP_TABLE_DEVICE", "cuda")


def gen(seed):
    return torch.Generator().manual_seed(seed)


def randn(*shape, seed=0, dtype=torch.float32):
    return torch.randn(*shape, generator=gen(seed), dtype=dtype)


def randint(lo, hi, shape, seed=0):
    return torch.randint(lo, hi, shape, generator=gen(seed))


def grad_of(fn, x, seed=1):
    """x's gradient of fn(x) against a fixed random upstream gradient."""
    x = x.detach().requires_grad_(True)
    y = fn(x)
    g = torch.randn(y.shape, generator=gen(seed)).to(y.device, y.dtype)
    (gx,) = torch.autograd.grad(y, x, g)
    return gx


# name -> (doc entry it covers, builder).  A builder takes a device and
# returns a function of no arguments whose result is hashed; inputs are
# made on the CPU from fixed seeds, so every process sees the same.
PROBES = {}


def probe(name, doc):
    def deco(build):
        PROBES[name] = (doc, build)
        return build
    return deco


@probe("AvgPool3d backward", "torch.nn.AvgPool3d`")
def _(d):
    x = randn(4, 32, 16, 56, 56).to(d)
    return lambda: grad_of(lambda t: F.avg_pool3d(t, 3, 2, 1), x)


@probe("AdaptiveAvgPool2d backward", "torch.nn.AdaptiveAvgPool2d`")
def _(d):
    x = randn(16, 256, 64, 64).to(d)
    return lambda: grad_of(lambda t: F.adaptive_avg_pool2d(t, 6), x)


@probe("AdaptiveAvgPool3d backward", "torch.nn.AdaptiveAvgPool3d`")
def _(d):
    x = randn(4, 64, 16, 28, 28).to(d)
    return lambda: grad_of(lambda t: F.adaptive_avg_pool3d(t, (2, 3, 3)), x)


@probe("MaxPool3d backward", "torch.nn.MaxPool3d`")
def _(d):
    x = randn(4, 32, 16, 56, 56).to(d)
    return lambda: grad_of(lambda t: F.max_pool3d(t, 3, 2, 1), x)


@probe("AdaptiveMaxPool2d backward", "torch.nn.AdaptiveMaxPool2d`")
def _(d):
    x = randn(32, 256, 28, 28).to(d)
    return lambda: grad_of(lambda t: F.adaptive_max_pool2d(t, 7), x)


@probe("AdaptiveMaxPool3d backward", "torch.nn.AdaptiveMaxPool3d`")
def _(d):
    x = randn(4, 32, 16, 28, 28).to(d)
    return lambda: grad_of(lambda t: F.adaptive_max_pool3d(t, (4, 7, 7)), x)


@probe("FractionalMaxPool2d backward", "torch.nn.FractionalMaxPool2d`")
def _(d):
    x = randn(16, 64, 64, 64).to(d)
    s = torch.rand(16, 64, 2, generator=gen(3)).to(d)
    return lambda: grad_of(lambda t: F.fractional_max_pool2d(
        t, 2, output_size=32, _random_samples=s), x)


@probe("FractionalMaxPool3d backward", "torch.nn.FractionalMaxPool3d`")
def _(d):
    x = randn(4, 16, 16, 32, 32).to(d)
    s = torch.rand(4, 16, 3, generator=gen(3)).to(d)
    return lambda: grad_of(lambda t: F.fractional_max_pool3d(
        t, 2, output_size=(8, 16, 16), _random_samples=s), x)


def _unpool(d, nd):
    shape = {1: (16, 64, 4096), 2: (16, 64, 64, 64), 3: (4, 32, 16, 32, 32)}[nd]
    x = randn(*shape).to(d)
    pool = [F.max_pool1d, F.max_pool2d, F.max_pool3d][nd - 1]
    unpool = [F.max_unpool1d, F.max_unpool2d, F.max_unpool3d][nd - 1]
    y, i = pool(x, 2, return_indices=True)
    return lambda: unpool(y, i, 2)


@probe("MaxUnpool1d", "torch.nn.MaxUnpool1d`")
def _(d):
    return _unpool(d, 1)


@probe("MaxUnpool2d", "torch.nn.MaxUnpool2d`")
def _(d):
    return _unpool(d, 2)


@probe("MaxUnpool3d", "torch.nn.MaxUnpool3d`")
def _(d):
    return _unpool(d, 3)


def _interp(d, mode, nd):
    shape = {1: (16, 64, 1024), 2: (16, 64, 64, 64), 3: (4, 32, 16, 32, 32)}[nd]
    x = randn(*shape).to(d)
    return lambda: grad_of(lambda t: F.interpolate(
        t, scale_factor=2, mode=mode, align_corners=False), x)


@probe("interpolate linear backward", "``linear``")
def _(d):
    return _interp(d, "linear", 1)


@probe("interpolate bilinear backward", "``bilinear``")
def _(d):
    return _interp(d, "bilinear", 2)


@probe("interpolate bicubic backward", "``bicubic``")
def _(d):
    return _interp(d, "bicubic", 2)


@probe("interpolate trilinear backward", "``trilinear``")
def _(d):
    return _interp(d, "trilinear", 3)


def _pad(d, kind, nd):
    shape = {1: (16, 64, 1024), 2: (16, 64, 64, 64), 3: (4, 32, 16, 32, 32)}[nd]
    x = randn(*shape).to(d)
    return lambda: grad_of(lambda t: F.pad(t, (2,) * (2 * nd), mode=kind), x)


for _k, _K in (("reflect", "Reflection"), ("replicate", "Replication")):
    for _n in (1, 2, 3):
        probe("%sPad%dd backward" % (_K, _n), "torch.nn.%sPad%dd`" % (_K, _n))(
            (lambda k, n: lambda d: _pad(d, k, n))(_k, _n))


@probe("NLLLoss 2-D (cross-entropy)", "torch.nn.NLLLoss`")
def _(d):
    x = randn(16, 21, 128, 128).to(d)
    t = randint(0, 21, (16, 128, 128)).to(d)
    return lambda: F.cross_entropy(x, t, ignore_index=3)


@probe("CTCLoss backward", "torch.nn.CTCLoss`")
def _(d):
    T, N, C, S = 200, 16, 40, 40
    lp = randn(T, N, C).log_softmax(2).to(d)
    tg = randint(1, C, (N, S)).to(d)
    il = torch.full((N,), T, dtype=torch.long)
    tl = randint(10, S, (N,), seed=5)
    return lambda: grad_of(lambda t: F.ctc_loss(t, tg, il, tl), lp)


@probe("EmbeddingBag max backward", "torch.nn.EmbeddingBag`")
def _(d):
    w = randn(20000, 128).to(d)
    idx = randint(0, 20000, (8192,)).to(d)
    off = torch.arange(0, 8192, 16).to(d)
    return lambda: grad_of(lambda t: F.embedding_bag(idx, t, off, mode="max"), w)


@probe("put_ accumulate=True", "torch.Tensor.put_`")
def _(d):
    base = randn(1 << 20).to(d)
    idx = randint(0, 1 << 20, (1 << 18,)).to(d)
    src = randn(1 << 18, seed=2).to(d)
    return lambda: base.clone().put_(idx, src, accumulate=True)


@probe("put_ accumulate=False", "torch.Tensor.put_`")
def _(d):
    base = randn(1 << 20).to(d)
    idx = randint(0, 1 << 20, (1 << 18,)).to(d)
    src = randn(1 << 18, seed=2).to(d)
    return lambda: base.clone().put_(idx, src, accumulate=False)


@probe("histc", "torch.histc`")
def _(d):
    x = randn(1 << 22).to(d)
    return lambda: torch.histc(x, 256, -4, 4)


@probe("bincount with weights", "torch.bincount`")
def _(d):
    x = randint(0, 1000, (1 << 22,)).to(d)
    w = randn(1 << 22, seed=2).to(d)
    return lambda: torch.bincount(x, w)


@probe("bincount", "torch.bincount`")
def _(d):
    x = randint(0, 1000, (1 << 22,)).to(d)
    return lambda: torch.bincount(x)


@probe("kthvalue", "torch.kthvalue`")
def _(d):
    x = randint(0, 50, (1000, 1000)).float().to(d)
    return lambda: torch.kthvalue(x, 10, 1)


@probe("median with indices", "torch.median`")
def _(d):
    x = randint(0, 50, (1000, 1000)).float().to(d)
    return lambda: torch.median(x, 1)


@probe("nanmedian with indices", "torch.nanmedian`")
def _(d):
    x = randint(0, 50, (1000, 1000)).float().to(d)
    return lambda: torch.nanmedian(x, 1)


@probe("grid_sample 2-D backward", "torch.nn.functional.grid_sample`")
def _(d):
    x = randn(16, 32, 64, 64).to(d)
    grid = (torch.rand(16, 64, 64, 2, generator=gen(4)) * 2 - 1).to(d)
    return lambda: grad_of(lambda t: F.grid_sample(t, grid, align_corners=False), x)


@probe("grid_sample 3-D backward", "torch.nn.functional.grid_sample`")
def _(d):
    x = randn(2, 16, 16, 32, 32).to(d)
    grid = (torch.rand(2, 16, 32, 32, 3, generator=gen(4)) * 2 - 1).to(d)
    return lambda: grad_of(lambda t: F.grid_sample(t, grid, align_corners=False), x)


@probe("scatter_reduce prod", "torch.Tensor.scatter_reduce`")
def _(d):
    x = (randn(1 << 16).abs() + 0.5).to(d)
    idx = randint(0, 1024, (1 << 16,)).to(d)
    return lambda: torch.ones(1024, device=d).scatter_reduce(0, idx, x, "prod")


@probe("index_reduce prod", "torch.Tensor.index_reduce_`")
def _(d):
    x = (randn(1 << 16, 4).abs() + 0.5).to(d)
    idx = randint(0, 1024, (1 << 16,)).to(d)
    return lambda: torch.ones(1024, 4, device=d).index_reduce_(0, idx, x, "prod")


@probe("cumsum float", "torch.cumsum`")
def _(d):
    x = randn(1 << 22).to(d)
    return lambda: torch.cumsum(x, 0)


def refused_entries():
    doc = torch.use_deterministic_algorithms.__doc__ or ""
    start = doc.find("operations will throw a")
    end = doc.find("A handful of CUDA operations", start)
    sec = doc[start:end if end > 0 else len(doc)]
    return [m.strip() for m in re.findall(r"\n\s*\* (.*?)(?=\n\s*\* |\Z)", sec, re.S)]


def digest(out):
    h = hashlib.sha256()
    for t in (out if isinstance(out, (tuple, list)) else (out,)):
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def distance(a, b):
    """Largest difference relative to the largest magnitude."""
    worst = 0.0
    for x, y in zip(a if isinstance(a, (tuple, list)) else (a,),
                    b if isinstance(b, (tuple, list)) else (b,)):
        x = x.detach().cpu().double()
        y = y.detach().cpu().double()
        if x.shape != y.shape:
            return float("inf")
        if x.numel() == 0:
            continue
        scale = max(y.abs().max().item(), 1e-30)
        worst = max(worst, (x - y).abs().max().item() / scale)
    return worst


def run(out_path, fwdet, ref):
    if fwdet:
        torch.use_deterministic_algorithms(True)
    rows = {}
    for name, (doc, build) in PROBES.items():
        row = {"doc": doc}
        try:
            fn = build(DEV)
            first = fn()
            hashes = [digest(first)] + [digest(fn()) for _ in range(4)]
            torch.cuda.synchronize()
            ts = []
            for _ in range(10):
                t0 = time.perf_counter()
                fn()
                torch.cuda.synchronize()
                ts.append(time.perf_counter() - t0)
            ts.sort()
            row.update(exception=None, hashes=hashes,
                       distinct=len(set(hashes)), ms=ts[len(ts) // 2] * 1e3)
            if ref:
                try:
                    on_cpu = build("cpu")()
                    row["vs_cpu"] = distance(first, on_cpu)
                except Exception as e:  # no CPU kernel
                    row["vs_cpu"] = None
                    row["cpu_error"] = str(e).split("\n")[0][:120]
        except Exception as e:
            row.update(exception="%s: %s" % (type(e).__name__,
                                             str(e).split("\n")[0][:160]))
        rows[name] = row
        torch.cuda.empty_cache()
    info = {"torch": torch.__version__, "cuda": torch.version.cuda,
            "device": torch.cuda.get_device_name(0), "rows": rows,
            "refused": refused_entries()}
    with open(out_path, "w") as f:
        json.dump(info, f, indent=1)


def main():
    if sys.argv[1] == "list":
        docs = {doc for doc, _ in PROBES.values()}
        for e in refused_entries():
            cov = [n for n, (doc, _) in PROBES.items() if doc.strip("`") in e]
            print("%-70s %s" % (e.replace("\n", " ")[:70],
                                ", ".join(cov) or "no probe"))
        del docs
        return
    flags = sys.argv[3:]
    run(sys.argv[2], "fwdet" in flags, "ref" in flags)


if __name__ == "__main__":
    main()
