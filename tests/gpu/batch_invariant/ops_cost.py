"""What the batch-invariant reductions of python/_detshim/batch_invariant.py
cost against ATen's own kernels, and whether either changes row 0's bits
with the number of rows.

    PYTHONPATH=BUILD/python python3 tests/gpu/batch_invariant/ops_cost.py [OUT.md]

Run it without the shim (the profile would put the replacements behind
ATen's names too; the script refuses then).  For sum, mean, softmax,
log_softmax and layer_norm (the replacement the profile leaves off by
default) over the last dim of [rows, D] (D = 4096; bf16 and fp32), at
decode-sized rows (1, 8, 32, 64) and a prefill-sized 2048: ms per call of
ATen's kernel and of the replacement (CUDA events, the median of 5 timings
of REPS calls each, after warm-up), and for each the first row count at
which row 0 differs bitwise from row 0 computed alone ("-": none).  Prints
a Markdown table (also written to OUT.md if given) and the seconds it
took; about 11,000 calls in all.  DEVICE=cpu runs a tiny version on the CPU (D = 64,
few reps) to show the script works.
"""

import os
import sys
import time

import torch

from _detshim import batch_invariant as B

# tests/gpu/timing.py, the folder above this script's
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
import timing  # noqa: E402

DEVICE = os.environ.get("DEVICE", "cuda")
SMOKE = DEVICE == "cpu"
D = 64 if SMOKE else 4096
ROWS = (1, 8, 32, 64, 2048) if not SMOKE else (1, 8, 64)
CHECK_ROWS = (2, 3, 4, 7, 8, 16, 32, 64, 128, 512, 2048) if not SMOKE \
    else (2, 3, 8, 64)
REPS = 2 if SMOKE else 20
DTYPES = (torch.bfloat16, torch.float32)

aten = torch.ops.aten
OPS = [
    ("sum", lambda t: aten.sum.dim_IntList(t, [-1]),
     lambda t: B.sum_dim_IntList(t, [-1])),
    ("mean", lambda t: aten.mean.dim(t, [-1]),
     lambda t: B.mean_dim(t, [-1])),
    ("softmax", lambda t: aten._softmax(t, -1, False),
     lambda t: B._softmax(t, -1, False)),
    ("log_softmax", lambda t: aten._log_softmax(t, -1, False),
     lambda t: B._log_softmax(t, -1, False)),
    # Off in the profile by default: its row says whether ATen's own
    # kernel needs replacing.
    ("layer_norm", lambda t: aten.native_layer_norm(t, [D], None, None,
                                                    1e-5)[0],
     lambda t: B.native_layer_norm(t, [D], None, None, 1e-5)[0]),
]




def first_variant(f, x):
    """The first row count at which row 0 differs from row 0 alone."""
    alone = f(x[:1])[0]
    for rows in CHECK_ROWS:
        if rows <= x.shape[0] and not torch.equal(f(x[:rows])[0], alone):
            return str(rows)
    return "-"


def benchmark():
    """The table's lines (Markdown)."""
    torch.manual_seed(0)
    lines = ["| op | dtype | rows | ATen ms | replacement ms | ratio |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    variance = ["", "| op | dtype | ATen: row 0 differs from rows = | "
                "replacement: row 0 differs from rows = |",
                "| --- | --- | --- | --- |"]
    for dtype in DTYPES:
        x = torch.randn(max(max(ROWS), max(CHECK_ROWS)), D, device=DEVICE,
                        dtype=dtype) * 3
        for name, native, mine in OPS:
            for rows in ROWS:
                a = timing.ms_per_call(native, x[:rows], device=DEVICE,
                                       reps=REPS)
                b = timing.ms_per_call(mine, x[:rows], device=DEVICE,
                                       reps=REPS)
                lines.append("| %s | %s | %d | %.4f | %.4f | %.2fx |"
                             % (name, str(dtype).replace("torch.", ""), rows,
                                a, b, b / a if a else float("nan")))
            variance.append("| %s | %s | %s | %s |"
                            % (name, str(dtype).replace("torch.", ""),
                               first_variant(native, x),
                               first_variant(mine, x)))
    return lines + variance


def main():
    if B.REGISTERED:
        print("ops_cost: the replacements are registered in this process "
              "(run it without the shim's profile)", file=sys.stderr)
        return 2
    if DEVICE != "cpu" and not torch.cuda.is_available():
        print("ops_cost: no CUDA device (DEVICE=cpu for the smoke run)",
              file=sys.stderr)
        return 2
    B.torch = torch
    t0 = time.time()
    lines = benchmark()
    dev = torch.cuda.get_device_name() if DEVICE != "cpu" else "cpu"
    head = ["## The batch-invariant reductions against ATen",
            "",
            "torch %s, %s, D = %d, %d calls per timing; %.1f s." %
            (torch.__version__, dev, D, REPS, time.time() - t0), ""]
    timing.report(head, lines, sys.argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
