#!/bin/sh
# bench/gpu/diag.sh - where the time of a slow configuration in bench/gpu.sh
# goes (docs/measurements/BENCHMARKS.md, GPU).
#
#   sh bench/gpu/diag.sh [BUILD] [OUTFILE]
#
# One run per line, each a fresh process, results appended to OUTFILE:
#   - PyTorch's NaN fill of new tensors (part of its deterministic mode,
#     and so of detshim's answer to at::Context::deterministicAlgorithms):
#     the same runs with torch.utils.deterministic.fill_uninitialized_memory
#     = False (wrap.py --nofill);
#   - DETSHIM_TORCH=0: detshim without answering PyTorch's switches;
#   - CUBLAS_WORKSPACE_CONFIG=:4096:8 alone (detshim pins it);
#   - the GPT step under torch.profiler, plain and under detshim with
#     DETSHIM_TORCH=0: the kernels with the most GPU time.
set -u
BUILD=${1:-build}
O=${2:-/tmp/detshim-gpu-diag.txt}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SO=$(cd "$BUILD" 2>/dev/null && pwd)/libdetshim.so
test -f "$SO" || { echo "diag.sh: $BUILD/libdetshim.so missing"; exit 1; }
PY=${PYTHON:-python3}
R=$ROOT/tests/gpu/workloads/resnet_train.py
G=$HERE/gpt_train.py
W=$HERE/wrap.py
SHIM="LD_PRELOAD=$SO DETSHIM_SEED=1"
DET=CUBLAS_WORKSPACE_CONFIG=:4096:8

# d LABEL ENV... -- ARGS...
d() {
	label=$1
	shift
	echo "== $label" >> "$O"
	env "$@" >> "$O" 2>> "$O.stderr" || echo "exit $?" >> "$O"
}
: > "$O"
: > "$O.stderr"
# shellcheck disable=SC2086
{
d "resnet detshim nofill" $SHIM timeout 200 $PY $W --nofill $R default 100
d "resnet torchdet nofill" $DET timeout 200 $PY $W --nofill $R torchdet 100
d "resnet detshim DETSHIM_TORCH=0" $SHIM DETSHIM_TORCH=0 timeout 200 $PY $R default 100
d "gpt detshim nofill" $SHIM timeout 200 $PY $W --nofill $G default 50
d "gpt torchdet nofill" $DET timeout 200 $PY $W --nofill $G torchdet 50
d "gpt bench CUBLAS_WORKSPACE_CONFIG=:4096:8" $DET timeout 200 $PY $G default 50
d "gpt bench profile" X=1 timeout 200 $PY $W --profile $G default 10
d "gpt detshim DETSHIM_TORCH=0 profile" $SHIM DETSHIM_TORCH=0 timeout 200 $PY $W --profile $G default 10
}
grep -E '^(==|resnet |gpt |exit )' "$O"
