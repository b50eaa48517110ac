#!/bin/sh
# run_gpulibs.sh - single-GPU reproducibility table for the GPU libraries.
#
#   tests/gpu/run_gpulibs.sh [BUILD] [OUTDIR] [RUNS]
#
# Runs each workload RUNS times (default 3) without and with the shim and
# writes OUTDIR/results.tsv (workload, mode, run, part, hash, seconds) and
# OUTDIR/table.md (distinct hashes per part).  Workloads:
#   scatter       tests/gpu/workloads/variance_probe.py scatter
#   conv_nobench  tests/gpu/workloads/variance_probe.py conv_nobench
#   cuda          tests/targets/cuda/gpulibs_target.cu (only if nvcc exists;
#                 the shim run adds DETSHIM_ALLOC_FILL=1, the opt-in fill)
# Needs a GPU, python3 with torch, and $BUILD/libdetshim.so.
set -u
B=${1:-build}
OUT=${2:-/tmp/detshim-gpulibs}
N=${3:-3}
SO=$(cd "$B" && pwd)/libdetshim.so
NVCC=/usr/local/cuda/bin/nvcc
mkdir -p "$OUT" "$B/targets/cuda"
# NVLink multicast stays off on shared hosts, with or without the shim.
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
export PYTHONUNBUFFERED=1

{
	date -u +%Y-%m-%dT%H:%MZ
	nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
	python3 -c 'import torch; print("torch", torch.__version__, "cudnn", torch.backends.cudnn.version(), "cuda", torch.version.cuda)'
	[ -x "$NVCC" ] && "$NVCC" --version | tail -1
} >"$OUT/env.txt" 2>&1

TGT=
if [ -x "$NVCC" ]; then
	if "$NVCC" -O2 -arch=sm_90 -o "$B/targets/cuda/gpulibs_target" \
		tests/targets/cuda/gpulibs_target.cu -lcublas -lcurand \
		>"$OUT/nvcc.log" 2>&1; then
		TGT=$B/targets/cuda/gpulibs_target
	fi
fi

: >"$OUT/results.tsv"
# one WORKLOAD MODE RUN CMD...: records "part hash" pairs of the output
one() {
	w=$1 m=$2 r=$3
	shift 3
	t0=$(date +%s.%N)
	if [ "$m" = with ]; then
		env LD_PRELOAD="$SO" DETSHIM_SEED=42 \
			DETSHIM_LOG="$OUT/log_${w}_${r}.jsonl" $EXTRA "$@" \
			>"$OUT/out_${w}_${m}_${r}.txt" 2>"$OUT/err_${w}_${m}_${r}.txt"
	else
		"$@" >"$OUT/out_${w}_${m}_${r}.txt" 2>"$OUT/err_${w}_${m}_${r}.txt"
	fi
	rc=$?
	t1=$(date +%s.%N)
	python3 tests/gpu/parse_hashes.py "$OUT/out_${w}_${m}_${r}.txt" |
	while read -r part hash; do
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$m" "$r" "$part" \
			"$hash" "$(awk "BEGIN{print $t1-$t0}")" >>"$OUT/results.tsv"
	done
	[ $rc -eq 0 ] || printf '%s\t%s\t%s\tEXIT\t%s\t0\n' "$w" "$m" "$r" "$rc" >>"$OUT/results.tsv"
}

for m in without with; do
	for r in $(seq 1 "$N"); do
		EXTRA=
		one scatter "$m" "$r" python3 tests/gpu/workloads/variance_probe.py scatter
		one conv_nobench "$m" "$r" python3 tests/gpu/workloads/variance_probe.py conv_nobench
		if [ -n "$TGT" ]; then
			EXTRA=DETSHIM_ALLOC_FILL=1
			one cuda "$m" "$r" "$TGT"
		fi
	done
done
python3 tests/gpu/summarize.py "$OUT/results.tsv" | tee "$OUT/table.md"
