"""Run a workload script with diagnostic switches, for bench/gpu.sh.

Usage: python3 wrap.py [--nofill] [--profile] SCRIPT ARGS...
  --nofill   torch.utils.deterministic.fill_uninitialized_memory = False:
             in deterministic mode PyTorch fills every new tensor from
             torch.empty with NaN; this turns that part off, to see what it
             costs.
  --profile  run the whole script under torch.profiler and print the
             kernels with the most GPU time (stdout, before the script's
             result line is repeated as the last line).
The workload itself is unchanged (runpy)."""
import runpy, sys

args = sys.argv[1:]
nofill = profile = False
while args and args[0].startswith("--"):
    opt = args.pop(0)
    if opt == "--nofill":
        nofill = True
    elif opt == "--profile":
        profile = True
    else:
        sys.exit("wrap.py: unknown option " + opt)
import torch  # noqa: E402

if nofill:
    torch.utils.deterministic.fill_uninitialized_memory = False
sys.argv = args
if not profile:
    runpy.run_path(args[0], run_name="__main__")
    sys.exit(0)

import contextlib, io  # noqa: E402
from torch.profiler import ProfilerActivity, profile as tprof  # noqa: E402

buf = io.StringIO()
with tprof(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as p:
    with contextlib.redirect_stdout(buf):
        runpy.run_path(args[0], run_name="__main__")
ka = p.key_averages()
for key in ("device_time_total", "cuda_time_total"):
    try:
        print(ka.table(sort_by="self_" + key, row_limit=14, max_name_column_width=70))
        break
    except (AttributeError, KeyError, ValueError):
        continue
print(buf.getvalue().strip().splitlines()[-1])
