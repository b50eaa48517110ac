"""What the deterministic grid_sample backward of
python/_detshim/torch_grid.py costs against PyTorch's own CUDA kernel
(float atomics), and whether each gives the same bits call to call.

    PYTHONPATH=BUILD/python python3 tests/gpu/grid_sample_cost.py [OUT.md]

Run it without the shim (under it, deterministic mode would refuse the
native kernel, or the replacement would stand behind its name; the
script refuses then).  For each case (op_table.py's two probes, a
spatial transformer on images, a feature-map warp of a segmentation
net, an upsampling, float16 and the 3-D volume): ms per call of the
native backward and of the replacement (CUDA events, the median of 5
timings of REPS calls each, after warm-up), their ratio, distinct
results of each over 5 calls, the largest difference relative to the
largest magnitude; then "fwd+bwd": F.grid_sample forward and backward
through autograd, plain and with the replacements registered for the
CUDA key (as the shim's start-up module registers them), and its ratio.
Prints a Markdown table (also written to OUT.md if given) and the
seconds it took.  DEVICE=cpu runs a tiny version on the CPU against the
CPU kernel, to show the script works.
"""

import os
import sys
import time
import warnings

import torch
import torch.nn.functional as F

from _detshim import torch_grid as G
import timing  # tests/gpu/timing.py, beside this script

DEVICE = os.environ.get("DEVICE", "cuda")
SMOKE = DEVICE == "cpu"
REPS = 2 if SMOKE else 20
aten = torch.ops.aten
NATIVE = {2: aten.grid_sampler_2d_backward, 3: aten.grid_sampler_3d_backward}
MINE = {2: G.grid_sampler_2d_backward, 3: G.grid_sampler_3d_backward}
MODES = {"bilinear": 0, "nearest": 1}
PADS = {"zeros": 0, "border": 1, "reflection": 2}

# name, N, C, input spatial, output spatial, mode, padding, dtype
CASES = [
    ("op_table 2-D", 16, 32, (64, 64), (64, 64), "bilinear", "zeros",
     torch.float32),
    ("op_table 3-D", 2, 16, (16, 32, 32), (16, 32, 32), "bilinear",
     "zeros", torch.float32),
    ("spatial transformer 224", 32, 3, (224, 224), (224, 224), "bilinear",
     "zeros", torch.float32),
    ("feature warp 128, C=64", 8, 64, (128, 128), (128, 128), "bilinear",
     "border", torch.float32),
    ("feature warp 128, C=64, reflection", 8, 64, (128, 128), (128, 128),
     "bilinear", "reflection", torch.float32),
    ("upsampling 32 -> 256", 4, 16, (32, 32), (256, 256), "bilinear",
     "zeros", torch.float32),
    ("nearest 128, C=64", 8, 64, (128, 128), (128, 128), "nearest",
     "zeros", torch.float32),
    ("feature warp 128, C=64, fp16", 8, 64, (128, 128), (128, 128),
     "bilinear", "zeros", torch.float16),
    ("volume 3-D 64^3, C=8", 2, 8, (64, 64, 64), (64, 64, 64), "bilinear",
     "border", torch.float32),
]
if SMOKE:  # (the CPU kernel has no float16)
    CASES = [(c[0], 2, 3, tuple(max(2, s // 16) for s in c[3]),
              tuple(max(2, s // 16) for s in c[4])) + c[5:] for c in CASES
             if c[7] != torch.float16]




def ms_per_call(f):
    return timing.ms_per_call(f, device=DEVICE, reps=REPS)


def distinct(f):
    """Distinct results of 5 calls (the bytes of both gradients)."""
    seen = set()
    for _ in range(5):
        gi, gg = f()
        seen.add(gi.cpu().numpy().tobytes() + gg.cpu().numpy().tobytes())
    return len(seen)


def rel_diff(a, b):
    err = 0.0
    for x, y in zip(a, b):
        scale = max(float(y.abs().max()), 1e-30)
        err = max(err, float((x.double() - y.double()).abs().max()) / scale)
    return err


def inputs(case):
    _, n, c, ins, outs, mode, pad, dtype = case
    gen = torch.Generator().manual_seed(3)
    nd = len(ins)
    x = torch.randn((n, c) + ins, generator=gen).to(DEVICE, dtype)
    # An affine-looking field: a transform of the identity grid plus noise,
    # slightly outside [-1, 1] at the edges.
    axes = [torch.linspace(-1.1, 1.1, s) for s in reversed(outs)]
    base = torch.stack(torch.meshgrid(*axes, indexing="ij"), -1)
    base = base.permute(list(reversed(range(nd))) + [nd])
    grid = base.unsqueeze(0) * 0.9 + 0.05 * torch.randn(
        (n,) + outs + (nd,), generator=gen)
    grid = grid.to(DEVICE, dtype)
    go = torch.randn((n, c) + outs, generator=gen).to(DEVICE, dtype)
    return nd, go, x, grid, MODES[mode], PADS[pad]


def step(nd, x, grid, mode, pad, go):
    """F.grid_sample forward and backward through autograd."""
    def run():
        a = x.detach().requires_grad_()
        b = grid.detach().requires_grad_()
        y = F.grid_sample(a, b, mode=mode, padding_mode=pad,
                          align_corners=False)
        return torch.autograd.grad(y, (a, b), go)
    return run


def benchmark():
    lines = ["| case | N, C, in -> out | dtype | native ms | replacement ms "
             "| ratio | distinct of 5: native / replacement | vs native "
             "| fwd+bwd ms: plain / replaced | fwd+bwd ratio |",
             "| --- | --- | --- | ---: | ---: | ---: | --- | ---: | --- "
             "| ---: |"]
    for case in CASES:
        nd, go, x, grid, mode, pad = inputs(case)
        args = (go, x, grid, mode, pad, False, [True, True])

        def native():
            return NATIVE[nd](*args)

        def mine():
            return MINE[nd](*args)
        a = ms_per_call(native)
        b = ms_per_call(mine)
        dn, dm = distinct(native), distinct(mine)
        err = rel_diff(mine(), native())
        run = step(nd, x, grid, case[5], case[6], go)
        s_plain = ms_per_call(run)
        lib = torch.library.Library("aten", "IMPL")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lib.impl("grid_sampler_%dd_backward" % nd, MINE[nd],
                     "CPU" if SMOKE else "CUDA")
        try:
            s_mine = ms_per_call(run)
        finally:
            del lib
        lines.append("| %s | %d, %d, %s -> %s | %s | %.3f | %.3f | %.2fx "
                     "| %d / %d | %.1e | %.3f / %.3f | %.2fx |"
                     % (case[0], case[1], case[2],
                        "x".join(map(str, case[3])),
                        "x".join(map(str, case[4])),
                        str(case[7]).replace("torch.", ""), a, b, b / a,
                        dn, dm, err, s_plain, s_mine, s_mine / s_plain))
    return lines


def main():
    if os.environ.get("LD_PRELOAD", "").find("detshim") >= 0 or \
            torch.are_deterministic_algorithms_enabled():
        print("grid_sample_cost: run it without the shim", file=sys.stderr)
        return 2
    if DEVICE != "cpu" and not torch.cuda.is_available():
        print("grid_sample_cost: no CUDA device (DEVICE=cpu for the smoke "
              "run)", file=sys.stderr)
        return 2
    t0 = time.time()
    lines = benchmark()
    dev = torch.cuda.get_device_name() if DEVICE != "cpu" else "cpu"
    head = ["## grid_sample backward: the replacement against the native "
            "kernel", "",
            "torch %s, %s, %d calls per timing, align_corners=False; "
            "%.1f s." % (torch.__version__, dev, REPS, time.time() - t0), ""]
    timing.report(head, lines, sys.argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
