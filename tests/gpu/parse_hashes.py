"""Print "part hash" lines from a workload's stdout.

variance_probe.py prints "<what> {'part': 'hash', ...}"; the CUDA target
prints "part hash" lines.  With --ranks, every "rank<N> <16 hex>" pair in
the text is printed, wherever it is: torchrun's workers share one stdout
and their lines can run together ("rank0 ab..rank1 ab..").
Used by run_gpulibs.sh and run_ddp.sh."""
import ast, re, sys

if sys.argv[1] == "--ranks":
    for part, h in re.findall(r"(rank\d+) ([0-9a-f]{16})", open(sys.argv[2]).read()):
        print(part, h)
    sys.exit(0)
for line in open(sys.argv[1]):
    line = line.strip()
    if "{" in line:
        d = ast.literal_eval(line[line.index("{"):])
        for k, v in d.items():
            if k != "step_ms":  # a timing, not a result (run_cudnn.sh reads it)
                print(k, v)
    elif len(line.split()) == 2:
        print(*line.split())
