"""Collectives for torchrun: all-reduce, reduce-scatter, all-gather and
reduce of fp32 and bf16 tensors over a range of sizes, each on inputs that
make the summation order visible (normal values spread over many
magnitudes, different on every rank).  For each (op, dtype, size) every
rank prints a fingerprint of its result, and rank 0 the time per call and
the bus bandwidth, nccl-tests style.

    torchrun --standalone --nproc_per_node=4 tests/gpu/nccl4/collectives.py \\
        [--sizes 1K:1G:4] [--dtypes fp32,bf16] [--ops all_reduce,...] \\
        [--iters 20] [--warmup 5] [--dry-run]

Output lines (tests/gpu/nccl4/summarize.py reads them):
    RESULT <op> <dtype> <bytes> rank<R> <32 hex>
    BW <op> <dtype> <bytes> <us per call> <algbw GB/s> <busbw GB/s>
    SKIP <op> <dtype or all> <why>
    INFO <key> <value>
    SEED rank<R> <torch.seed(): the generator seeded from the system>
<bytes> is the size of the larger buffer, as in nccl-tests: the tensor for
all-reduce and reduce, the input of reduce-scatter, the output of
all-gather.  Bus bandwidth = algbw x 2(n-1)/n for all-reduce, x (n-1)/n
for reduce-scatter and all-gather, x 1 for reduce
(https://github.com/NVIDIA/nccl-tests/blob/master/doc/PERFORMANCE.md).
The fingerprint is two position-weighted sums of the result's bits in
64-bit integers, computed where the tensor lives: integer sums do not
depend on their order, so the fingerprint is as exact as the bits.
Without a GPU it runs with gloo on the CPU (a smoke test of the script;
gloo has no reduce-scatter and no bf16, and the script says
SKIP).
--dry-run prints the plan and exits without importing torch.
"""
import argparse
import os
import sys
import time

OPS = ("all_reduce", "reduce_scatter", "all_gather", "reduce")
BUS_FACTOR = {
    "all_reduce": lambda n: 2.0 * (n - 1) / n,
    "reduce_scatter": lambda n: (n - 1) / n,
    "all_gather": lambda n: (n - 1) / n,
    "reduce": lambda n: 1.0,
}
DTYPES = ("fp32", "bf16")
UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def parse_size(s):
    s = s.strip().upper().rstrip("B").rstrip("I")
    unit = s[-1] if s and s[-1] in UNITS else ""
    return int(s[: len(s) - len(unit)]) * UNITS[unit]


def sizes_of(spec):
    """"1K:1G:4": 1 KiB to 1 GiB, each 4 times the last; "1K,64M": a list."""
    if ":" in spec:
        lo, hi, step = spec.split(":")
        lo, hi, step = parse_size(lo), parse_size(hi), int(step)
        out = []
        while lo <= hi:
            out.append(lo)
            lo *= step
        return out
    return [parse_size(s) for s in spec.split(",")]


def args_of(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="1K:1G:4")
    p.add_argument("--dtypes", default=",".join(DTYPES))
    p.add_argument("--ops", default=",".join(OPS))
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--dry-run", action="store_true")
    a = p.parse_args(argv)
    a.sizes = sizes_of(a.sizes)
    a.dtypes = a.dtypes.split(",")
    a.ops = a.ops.split(",")
    for o in a.ops:
        if o not in OPS:
            p.error("unknown op %r (one of %s)" % (o, ", ".join(OPS)))
    for d in a.dtypes:
        if d not in DTYPES:
            p.error("unknown dtype %r (one of %s)" % (d, ", ".join(DTYPES)))
    return a


def main(argv):
    a = args_of(argv)
    if a.dry_run:
        for o in a.ops:
            for d in a.dtypes:
                print("PLAN %s %s %s" % (o, d, " ".join(str(s) for s in a.sizes)))
        return 0

    import torch
    import torch.distributed as dist

    gpu = torch.cuda.is_available()
    if gpu:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("nccl" if gpu else "gloo")
    rank, n = dist.get_rank(), dist.get_world_size()
    dev = torch.device("cuda", torch.cuda.current_device()) if gpu else torch.device("cpu")
    dtype_of = {"fp32": torch.float32, "bf16": torch.bfloat16}
    bits_of = {"fp32": torch.int32, "bf16": torch.int16}

    def sync():
        if gpu:
            torch.cuda.synchronize()

    def fingerprint(t, bits):
        v = t.contiguous().view(bits).reshape(-1)
        h1 = torch.zeros((), dtype=torch.int64, device=dev)
        h2 = torch.zeros((), dtype=torch.int64, device=dev)
        chunk = 1 << 24
        for lo in range(0, v.numel(), chunk):
            x = v[lo:lo + chunk].to(torch.int64)
            i = torch.arange(lo, lo + x.numel(), dtype=torch.int64, device=dev)
            # odd multipliers; int64 products and sums wrap, in any order
            h1 += (x * (i * 2654435761 + 1)).sum()
            h2 += ((x + 0x5bd1e995) * (i * 40503 + 0x27d4eb2f)).sum()
        return "%016x%016x" % (h1.item() & (2**64 - 1), h2.item() & (2**64 - 1))

    def data(numel, dtype, salt):
        g = torch.Generator(device=dev)
        g.manual_seed(1000003 * (rank + 1) + salt)
        x = torch.randn(numel, generator=g, device=dev)
        x *= torch.exp(3.0 * torch.randn(numel, generator=g, device=dev))
        return x.to(dtype)

    # prepare(op, x) -> (run the call once, its result or None on ranks
    # that get none, put the input back)
    def prepare(op, x):
        if op == "all_reduce":
            buf = x.clone()
            return (lambda: dist.all_reduce(buf)), buf, lambda: buf.copy_(x)
        if op == "reduce":
            buf = x.clone()
            return ((lambda: dist.reduce(buf, dst=0)), buf if rank == 0 else None,
                    lambda: buf.copy_(x))
        if op == "reduce_scatter":
            out = torch.empty(x.numel() // n, dtype=x.dtype, device=dev)
            return (lambda: dist.reduce_scatter_tensor(out, x)), out, lambda: None
        part = x[: x.numel() // n].clone()
        out = torch.empty(part.numel() * n, dtype=x.dtype, device=dev)
        if gpu:
            return (lambda: dist.all_gather_into_tensor(out, part)), out, lambda: None
        parts = list(out.chunk(n))  # gloo: the list form, same result
        return (lambda: dist.all_gather(parts, part)), out, lambda: None

    if rank == 0:
        print("INFO world_size %d" % n)
        print("INFO backend %s" % dist.get_backend())
        print("INFO torch %s" % torch.__version__)
        if gpu:
            print("INFO nccl %s" % ".".join(str(v) for v in torch.cuda.nccl.version()))
            print("INFO gpu %s" % torch.cuda.get_device_name())
        for k in sorted(os.environ):
            if k.startswith("NCCL_") or k.startswith("TORCH_SYMM_MEM"):
                print("INFO env %s=%s" % (k, os.environ[k]))
        sys.stdout.flush()
    # An unseeded draw, as a program that never seeds makes: distinct per
    # rank, and the same in every run only under detshim.
    print("SEED rank%d %d" % (rank, torch.seed()))
    sys.stdout.flush()
    for oi, op in enumerate(a.ops):
        if op == "reduce_scatter" and not gpu:
            if rank == 0:
                print("SKIP %s all gloo has no reduce-scatter" % op)
            continue
        for di, d in enumerate(a.dtypes):
            if d == "bf16" and not gpu:
                if rank == 0:
                    print("SKIP %s %s gloo has no bf16" % (op, d))
                continue
            esize = torch.empty((), dtype=dtype_of[d]).element_size()
            for size in a.sizes:
                numel = size // esize
                numel -= numel % n
                if numel == 0:
                    continue
                x = data(numel, dtype_of[d], 7919 * oi + 104729 * di + size)
                run, result, reset = prepare(op, x)
                run()
                sync()
                if result is not None:
                    print("RESULT %s %s %d rank%d %s" % (op, d, size, rank,
                                                        fingerprint(result, bits_of[d])))
                for _ in range(a.warmup):
                    reset()
                    run()
                iters = a.iters if size < (256 << 20) else max(1, a.iters // 2)
                sync()
                dist.barrier()
                t0 = time.perf_counter()
                for _ in range(iters):
                    run()
                sync()
                dt = torch.tensor([(time.perf_counter() - t0) / iters], dtype=torch.float64,
                                  device=dev)
                dist.all_reduce(dt)  # the mean over ranks, as nccl-tests reports
                sec = dt.item() / n
                if rank == 0:
                    alg = size / sec / 1e9
                    print("BW %s %s %d %.2f %.6g %.6g" % (op, d, size, sec * 1e6, alg,
                                                          alg * BUS_FACTOR[op](n)))
                del x, run, result, reset
                sys.stdout.flush()
    dist.barrier()
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
