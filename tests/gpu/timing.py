"""The timing and the report of the GPU cost scripts
(tests/gpu/grid_sample_cost.py, tests/gpu/batch_invariant/ops_cost.py)."""

import statistics
import sys
import time

import torch


def ms_per_call(f, *args, device, reps):
    """ms per call of f(*args): the median of 5 timings of `reps` calls
    each, after 3 calls of warm-up; CUDA events on a GPU, the wall clock
    on the CPU (device "cpu", the scripts' smoke runs)."""
    for _ in range(3):
        f(*args)
    if device != "cpu":
        torch.cuda.synchronize()
    times = []
    for _ in range(5):
        if device == "cpu":
            t0 = time.perf_counter()
            for _ in range(reps):
                f(*args)
            times.append((time.perf_counter() - t0) * 1e3 / reps)
            continue
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(reps):
            f(*args)
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / reps)
    return statistics.median(times)


def report(head, lines, argv):
    """head and lines as one Markdown text, on stdout and in argv[1] if
    given."""
    text = "\n".join(head + lines) + "\n"
    sys.stdout.write(text)
    if len(argv) > 1:
        with open(argv[1], "w") as f:
            f.write(text)
