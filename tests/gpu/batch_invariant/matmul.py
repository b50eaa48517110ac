"""Part 1: is a GEMM's row 0 the same whatever the batch M?

For each dtype and (N, K): a [Mmax, K] and, laid out both ways,
  linear  F.linear(a[:M], w), w [N, K] as nn.Linear stores its weight
  matmul  a[:M] @ b,          b [K, N] contiguous
row 0 of the result for every M against the result of a[:1], bitwise.
Rows {"kind": "bitwise", dtype, N, K, layout, checked: [M...],
differ: [M...], first: description of the first differing M}.
Then {"kind": "time", dtype, N, K, M, us}: F.linear at M = 1, 8, 32, 64,
256, 2048 (decode sizes and a prefill), the median of REPS calls (CUDA
events) after warm-up; shape by shape in SHAPES' order, every dtype of
a shape before the next shape, so that a run cut short by its deadline
has timed 4096 x 4096 and 4096 x 14336 first.
"""
import torch
import torch.nn.functional as F

import harness

if harness.CPU:
    SHAPES = [(64, 96), (48, 512)]
    MS = [1, 2, 3, 4, 8, 16, 64]
    TIME_MS = [1, 8, 64]
    REPS = 3
else:
    SHAPES = [(4096, 4096), (4096, 14336), (1024, 65536), (32000, 4096)]
    MS = [1, 2, 3, 4, 7, 8, 16, 32, 64, 128, 256, 512, 1024, 2048]
    TIME_MS = [1, 8, 32, 64, 256, 2048]
    REPS = 20


def operands(dt, n, k):
    torch.manual_seed(0)
    dev = harness.DEVICE
    a = torch.randn(max(MS), k, device=dev).to(dt)
    w = torch.randn(n, k, device=dev).to(dt)
    b = torch.randn(k, n, device=dev).to(dt)
    return a, w, b


def main():
    out = harness.start("matmul")
    ops = {}
    # bitwise first: it is what the part is for; timing after
    for name, dt in harness.DTYPES.items():
        for n, k in SHAPES:
            what = "%s %dx%d" % (name, n, k)
            if out.over(what + " bitwise", 2):
                continue
            try:
                a, w, b = operands(dt, n, k)
                ops[(name, n, k)] = (a, w)
                for layout, f in (("linear", lambda x, w=w: F.linear(x, w)),
                                  ("matmul", lambda x, b=b: x @ b)):
                    ref = f(a[:1])
                    differ, first = [], None
                    for m in MS:
                        d = harness.first_diff(f(a[:m])[:1], ref)
                        if d is not None:
                            differ.append(m)
                            if first is None:
                                first = "M=%d: %s" % (m, d)
                    out.row("bitwise", dtype=name, N=n, K=k, layout=layout,
                            checked=MS, differ=differ, first=first)
                del b
            except Exception as e:  # noqa: BLE001 - one row, not the part
                out.error(what, e, dtype=name, N=n, K=k)
                ops.pop((name, n, k), None)
    for n, k in SHAPES:
        for name in harness.DTYPES:
            if (name, n, k) not in ops:
                continue
            a, w = ops.pop((name, n, k))
            for m in TIME_MS:
                what = "%s %dx%d M=%d" % (name, n, k, m)
                if out.over(what + " time", 1):
                    continue
                try:
                    x = a[:m]
                    us = harness.median_us(lambda x=x, w=w: F.linear(x, w),
                                           REPS)
                    out.row("time", dtype=name, N=n, K=k, M=m, us=us,
                            reps=REPS)
                except Exception as e:  # noqa: BLE001
                    out.error(what, e)
            del a, w
    out.row("done")


if __name__ == "__main__":
    main()
