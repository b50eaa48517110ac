#!/bin/sh
# run_ddp.sh - 2-GPU torchrun DDP reproducibility, without and with the shim.
#
#   tests/gpu/run_ddp.sh [BUILD] [OUTDIR] [RUNS]
#
# Each run trains tests/gpu/ddp_train.py on 2 GPUs and prints one weight
# hash per rank; results.tsv and table.md as in run_gpulibs.sh.  NVLink
# multicast (NVLS) stays off in every run: it is nondeterministic between
# calls (docs/GPU_FACTS.md §7.1) and unsafe on shared hosts.
set -u
B=${1:-build}
OUT=${2:-/tmp/detshim-ddp}
N=${3:-3}
SO=$(cd "$B" && pwd)/libdetshim.so
mkdir -p "$OUT"
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=4
{
	date -u +%Y-%m-%dT%H:%MZ
	nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
	nvidia-smi topo -m
	python3 -c 'import torch; print("torch", torch.__version__, "nccl", torch.cuda.nccl.version())'
} >"$OUT/env.txt" 2>&1
: >"$OUT/results.tsv"
for m in without with; do
	for r in $(seq 1 "$N"); do
		t0=$(date +%s.%N)
		if [ "$m" = with ]; then
			env LD_PRELOAD="$SO" DETSHIM_SEED=42 \
				DETSHIM_LOG="$OUT/log_ddp_${r}_%p.jsonl" \
				torchrun --standalone --nproc_per_node=2 tests/gpu/ddp_train.py \
				>"$OUT/out_${m}_${r}.txt" 2>"$OUT/err_${m}_${r}.txt"
		else
			torchrun --standalone --nproc_per_node=2 tests/gpu/ddp_train.py \
				>"$OUT/out_${m}_${r}.txt" 2>"$OUT/err_${m}_${r}.txt"
		fi
		rc=$?
		t1=$(date +%s.%N)
		s=$(awk "BEGIN{print $t1-$t0}")
		python3 tests/gpu/parse_hashes.py --ranks "$OUT/out_${m}_${r}.txt" |
		while read -r part hash; do
			# one row per rank, and an "any rank" row: one hash over
			# every rank and run means all ranks agree too
			printf 'ddp\t%s\t%s\t%s\t%s\t%s\n' "$m" "$r" "$part" "$hash" "$s" >>"$OUT/results.tsv"
			printf 'ddp\t%s\t%s.%s\tall_ranks\t%s\t%s\n' "$m" "$r" "$part" "$hash" "$s" >>"$OUT/results.tsv"
		done
		[ $rc -eq 0 ] || printf 'ddp\t%s\t%s\tEXIT\t%s\t0\n' "$m" "$r" "$rc" >>"$OUT/results.tsv"
	done
done
python3 tests/gpu/summarize.py "$OUT/results.tsv" | tee "$OUT/table.md"
