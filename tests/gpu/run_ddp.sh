#!/bin/sh
# run_ddp.sh - torchrun data-parallel reproducibility, without and with the shim.
#
#   tests/gpu/run_ddp.sh [BUILD] [OUTDIR] [RUNS]
#
# Each run trains tests/gpu/ddp_train.py on NPROC GPUs (default 2) and
# prints one weight hash and one median step time per rank; results.tsv
# and table.md as in run_gpulibs.sh.  WORKLOADS lists MODEL:WRAP pairs of
# ddp_train.py (default "net:ddp", the 2-GPU row; tests/gpu/nccl4/run.sh
# asks for "resnet18:ddp gpt:ddp gpt:fsdp2" on 4).  The out_* files keep
# the per-rank step times (tests/gpu/nccl4/summarize.py reads them).
# TORCHRUN replaces the launcher command (default torchrun).  NVLink
# multicast (NVLS) stays off in every run: it is nondeterministic between
# calls (docs/GPU_FACTS.md §7.1) and unsafe on shared hosts.
set -u
B=${1:-build}
OUT=${2:-/tmp/detshim-ddp}
N=${3:-3}
NPROC=${NPROC:-2}
WORKLOADS=${WORKLOADS:-net:ddp}
STEPS=${STEPS:-20}
TORCHRUN=${TORCHRUN:-torchrun}
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
for wl in $WORKLOADS; do
	model=${wl%%:*} wrap=${wl#*:}
	# the 2-GPU row keeps its name
	if [ "$wl" = net:ddp ]; then name=ddp; else name=${wrap}_$model; fi
	for m in without with; do
		for r in $(seq 1 "$N"); do
			o=$OUT/out_${name}_${m}_${r}.txt e=$OUT/err_${name}_${m}_${r}.txt
			t0=$(date +%s.%N)
			if [ "$m" = with ]; then
				# shellcheck disable=SC2086
				env LD_PRELOAD="$SO" DETSHIM_SEED=42 \
					DETSHIM_LOG="$OUT/log_${name}_${r}_%p.jsonl" \
					$TORCHRUN --standalone --nproc_per_node="$NPROC" tests/gpu/ddp_train.py \
					"$model" "$wrap" "$STEPS" >"$o" 2>"$e"
			else
				# shellcheck disable=SC2086
				$TORCHRUN --standalone --nproc_per_node="$NPROC" tests/gpu/ddp_train.py \
					"$model" "$wrap" "$STEPS" >"$o" 2>"$e"
			fi
			rc=$?
			t1=$(date +%s.%N)
			s=$(awk "BEGIN{print $t1-$t0}")
			python3 tests/gpu/parse_hashes.py --ranks "$o" |
			while read -r part hash; do
				# one row per rank, and an "any rank" row: one hash over
				# every rank and run means all ranks agree too
				printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$m" "$r" "$part" "$hash" "$s" >>"$OUT/results.tsv"
				printf '%s\t%s\t%s.%s\tall_ranks\t%s\t%s\n' "$name" "$m" "$r" "$part" "$hash" "$s" >>"$OUT/results.tsv"
			done
			[ $rc -eq 0 ] || printf '%s\t%s\t%s\tEXIT\t%s\t0\n' "$name" "$m" "$r" "$rc" >>"$OUT/results.tsv"
		done
	done
done
python3 tests/gpu/summarize.py "$OUT/results.tsv" | tee "$OUT/table.md"
