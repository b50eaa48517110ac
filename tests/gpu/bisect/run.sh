#!/bin/sh
# tests/gpu/bisect/run.sh - `detrun --verify --bisect` on programs with one
# deliberately nondeterministic part (docs/DESIGN.md §11).  Needs a GPU,
# python3 with torch (and jax for its row), nvcc for the CUDA C rows, and
# a build whose detrun has --bisect.
#
#   sh tests/gpu/bisect/run.sh [BUILD] [OUTDIR] [RUNS]
#
# Writes OUTDIR/<row>.txt (detrun's output and exit status) and
# OUTDIR/summary.md (one line per row: the verdict and the first lines of
# the bisection).  Rows, with what each should show:
#   torch_index_add  index_add_ with PyTorch's deterministic answer off
#                    (DETSHIM_TORCH=0): the first cuBLAS call whose
#                    inputs differ, the matmul reading index_add_'s output
#   torch_index_add_det  the same with detshim's defaults: IDENTICAL
#   torch_conv       a conv net, heuristic mode, cuDNN veto off
#                    (DETSHIM_POLICY=warn): a cudnnBackendExecute whose
#                    engine is noted nondeterministic (or IDENTICAL, if
#                    PyTorch's heuristic picks no such engine: say so)
#   cuda_atomics     an atomicAdd kernel, then cublasSgemm_v2: the GEMM
#                    as the first call whose inputs differ
#   cuda_curand      a clock-seeded generator kept (DETSHIM_SEED_MODE=
#                    respect): curandGenerateUniform, inputs equal
#   cuda_symv        cublasSsymv with atomics allowed (DETSHIM_POLICY=
#                    warn; symv is not hooked): the GEMM reading it, "why"
#                    saying atomics allowed
#   jax_scatter      a JAX scatter-add, XLA's determinism pin off
#                    (DETSHIM_ENV_PINS=0): the first GEMM whose inputs
#                    differ (XLA's scatter kernel is no library call)
set -u
B=${1:-build}
OUT=${2:-/tmp/detshim-bisect}
N=${3:-2}
TOP=$(pwd)
HERE=$TOP/tests/gpu/bisect
DETRUN=$(cd "$B" && pwd)/detrun
NVCC=${NVCC:-/usr/local/cuda/bin/nvcc}
ROWS=${ROWS:-"torch_index_add torch_index_add_det torch_conv cuda_atomics cuda_curand cuda_symv jax_scatter"}
mkdir -p "$OUT"
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
export PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
unset LD_PRELOAD DETSHIM_SEED DETSHIM_LOG DETSHIM_HASH_CALLS XLA_FLAGS

"$DETRUN" --help 2>&1 | grep -q -- --bisect || {
	echo "run.sh: $DETRUN has no --bisect option" >&2
	exit 2
}
TGT=
if [ -x "$NVCC" ] && "$NVCC" -O2 -arch=sm_90 -o "$OUT/cuda_bisect" \
	"$HERE/cuda_bisect.cu" -lcublas -lcurand >"$OUT/nvcc.log" 2>&1; then
	TGT=$OUT/cuda_bisect
fi

# row NAME ENV... -- COMMAND...: one verification
row() {
	name=$1
	shift
	vars=
	while [ "$1" != -- ]; do
		vars="$vars $1"
		shift
	done
	shift
	case " $ROWS " in *" $name "*) ;; *) return 0 ;; esac
	# shellcheck disable=SC2086
	env $vars "$DETRUN" --seed 1 --verify "$N" --bisect -- "$@" \
		>"$OUT/$name.txt" 2>&1
	echo "exit status $?" >>"$OUT/$name.txt"
	{
		printf '### %s\n\n```\n' "$name"
		head -n 30 "$OUT/$name.txt"
		printf '```\n\n'
	} >>"$OUT/summary.md"
}

: >"$OUT/summary.md"
row torch_index_add DETSHIM_TORCH=0 -- python3 "$HERE/torch_ops.py" index_add
row torch_index_add_det -- python3 "$HERE/torch_ops.py" index_add
row torch_conv DETSHIM_POLICY=warn DETSHIM_TORCH=0 -- \
	python3 "$HERE/torch_ops.py" conv
if [ -n "$TGT" ]; then
	row cuda_atomics -- "$TGT" atomics
	row cuda_curand DETSHIM_SEED_MODE=respect -- "$TGT" curand
	row cuda_symv DETSHIM_POLICY=warn -- "$TGT" symv
else
	echo "run.sh: no nvcc ($NVCC): CUDA C rows skipped" >>"$OUT/summary.md"
fi
if python3 -c 'import jax' 2>/dev/null; then
	row jax_scatter DETSHIM_ENV_PINS=0 -- python3 "$HERE/jax_scatter.py"
else
	echo "run.sh: no jax: jax_scatter skipped" >>"$OUT/summary.md"
fi
cat "$OUT/summary.md"
