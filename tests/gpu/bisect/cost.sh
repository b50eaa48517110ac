#!/bin/sh
# tests/gpu/bisect/cost.sh - what call hashing (DETSHIM_HASH_CALLS=1,
# docs/DESIGN.md §11) costs on the GPU: the ResNet-18 training step of
# tests/gpu/workloads/resnet_train.py (benchmark off) under the shim,
# without and with the mode, each RUNS processes (default 3); the
# medians of their step times and the ratio.  The hashed run also
# counts its events.  Needs a GPU and python3 with torch and torchvision.
#
#   sh tests/gpu/bisect/cost.sh [BUILD] [OUTDIR] [RUNS] [STEPS]
set -u
B=${1:-build}
OUT=${2:-/tmp/detshim-bisect-cost}
N=${3:-3}
STEPS=${4:-10}
SO=$(cd "$B" && pwd)/libdetshim.so
W=$(pwd)/tests/gpu/workloads/resnet_train.py
mkdir -p "$OUT"
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
unset DETSHIM_HASH_CALLS DETSHIM_LOG

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for mode in off on; do
	: >"$OUT/$mode.ms"
	i=1
	while [ "$i" -le "$N" ]; do
		if [ $mode = on ]; then
			env LD_PRELOAD="$SO" DETSHIM_SEED=1 DETSHIM_HASH_CALLS=1 \
				DETSHIM_LOG="$OUT/on.$i.jsonl" \
				python3 "$W" default_nobench "$STEPS" >"$OUT/$mode.$i.txt" 2>&1
		else
			env LD_PRELOAD="$SO" DETSHIM_SEED=1 \
				python3 "$W" default_nobench "$STEPS" >"$OUT/$mode.$i.txt" 2>&1
		fi
		sed -n 's/.*step_ms=\([0-9.]*\).*/\1/p' "$OUT/$mode.$i.txt" >>"$OUT/$mode.ms"
		i=$((i + 1))
	done
done
off=$(median <"$OUT/off.ms")
on=$(median <"$OUT/on.ms")
events=$(grep -c '"action":"hashed"' "$OUT/on.1.jsonl" 2>/dev/null || echo 0)
unread=$(grep '"action":"hashed"' "$OUT/on.1.jsonl" 2>/dev/null | grep -vc '"unreadable":0' || true)
{
	echo "ResNet-18 step (batch 128, 64x64, benchmark off), $N runs of $STEPS steps"
	echo "shim, hashing off: ${off:-?} ms/step"
	echo "shim, hashing on:  ${on:-?} ms/step"
	awk -v a="${off:-0}" -v b="${on:-0}" 'BEGIN { if (a > 0) printf "ratio: %.2fx\n", b / a }'
	echo "hashed events in run 1: $events (with unreadable buffers: $unread)"
} | tee "$OUT/cost.txt"
