#!/bin/sh
# tests/gpu/nccl4/run.sh - four GPUs: NCCL collectives under pinned and
# unpinned settings, then DDP and FSDP2 training, without and with detshim.
#
#   sh tests/gpu/nccl4/run.sh [BUILD] [OUTDIR]
#
# Phase coll: tests/gpu/nccl4/collectives.py (all-reduce, reduce-scatter,
# all-gather, reduce; fp32 and bf16; SIZES, default 1 KiB to 1 GiB, x4
# steps) under torchrun, RUNS (default 5) separate launches per variant:
#   plain             no pin: NCCL chooses algorithm, protocol, channels
#   detshim           LD_PRELOAD=BUILD/libdetshim.so: the pins of shim/pins.c
#   ring              NCCL_ALGO=Ring only
#   simple            NCCL_PROTO=Simple only
#   ring_simple       both
#   ring_ctas         NCCL_ALGO=Ring, NCCL_MIN_CTAS=NCCL_MAX_CTAS=CTAS (16)
#   ring_simple_ctas  the three
#   tree1             NCCL_ALGO=allreduce:tree, NCCL_PROTO=Simple, one CTA
#                     (the size-invariant setting vLLM and SGLang use)
# NVLink SHARP stays off in every variant (NCCL_NVLS_ENABLE=0: unsafe on a
# shared host, and the shim's pin), so "plain" is NCCL's choice without it.
# Phase train: tests/gpu/run_ddp.sh with NPROC GPUs and WORKLOADS
# "resnet18:ddp gpt:ddp gpt:fsdp2", TRAIN_RUNS (default 3) runs each way.
# Then tests/gpu/nccl4/summarize.py writes OUTDIR/tables.md, the tables of
# docs/measurements/REPRODUCIBILITY.md.  OUTDIR/env.txt holds the machine
# and versions; OUTDIR/coll/VARIANT/RUN.out every launch's output.
#
# Settings (environment): PHASES ("coll train"), VARIANTS (all above),
# RUNS, TRAIN_RUNS, NPROC (4), SIZES, CTAS, STEPS (20), TUNING_LOG=1 (one
# more launch per variant with NCCL_DEBUG_SUBSYS=TUNING, kept in
# coll/VARIANT/tuning.log), DRY=1 (print the launches, run nothing),
# CPU=1 (a smoke test without a GPU: gloo, small sizes, the torchrun of
# PY, default /usr/bin/python3).
# Time on 4 H200s, estimated: about 15 s a launch; 40 collective launches
# and 18 training launches, about 15 minutes.  To stay under 10 minutes a
# command, run the phases apart: PHASES=coll, then PHASES=train (the
# summary reads whatever OUTDIR holds).
set -u
B=${1:-build}
OUT=${2:-/tmp/detshim-nccl4}
case $OUT in /*) ;; *) OUT=$(pwd)/$OUT ;; esac
SO=$(cd "$B" && pwd)/libdetshim.so
PHASES=${PHASES:-coll train}
ALL_VARIANTS="plain detshim ring simple ring_simple ring_ctas ring_simple_ctas tree1"
VARIANTS=${VARIANTS:-$ALL_VARIANTS}
RUNS=${RUNS:-5}
TRAIN_RUNS=${TRAIN_RUNS:-3}
NPROC=${NPROC:-4}
CTAS=${CTAS:-16}
DRY=${DRY:-0}
CPU=${CPU:-0}
if [ "$CPU" = 1 ]; then
	PY=${PY:-/usr/bin/python3}
	SIZES=${SIZES:-1K:16K:4}
	COLL_ARGS="--iters 2 --warmup 1"
	# --redirects/--tee 1: torch 1.13's torchrun on Python 3.11 cannot
	# parse their default "0"; the monitor polls every 5 s by default.
	TORCHRUN="$PY -m torch.distributed.run --redirects 1 --tee 1 --monitor_interval 0.2"
	STEPS=${STEPS:-4}
	WORKLOADS="net:ddp"
else
	PY=${PY:-python3}
	SIZES=${SIZES:-1K:1G:4}
	COLL_ARGS=""
	TORCHRUN=${TORCHRUN:-torchrun}
	STEPS=${STEPS:-20}
	WORKLOADS="resnet18:ddp gpt:ddp gpt:fsdp2"
fi
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=4
unset LD_PRELOAD DETSHIM_SEED DETSHIM_LOG DETSHIM_CONFIG NCCL_ALGO NCCL_PROTO \
	NCCL_MIN_CTAS NCCL_MAX_CTAS NCCL_MIN_NCHANNELS NCCL_MAX_NCHANNELS \
	NCCL_COLLNET_ENABLE NCCL_TUNER_PLUGIN NCCL_DEBUG NCCL_DEBUG_SUBSYS

# vars VARIANT: the variables of one variant (the one list of them)
vars() {
	case $1 in
	plain) echo "" ;;
	detshim) echo "LD_PRELOAD=$SO DETSHIM_SEED=42" ;;
	ring) echo "NCCL_ALGO=Ring" ;;
	simple) echo "NCCL_PROTO=Simple" ;;
	ring_simple) echo "NCCL_ALGO=Ring NCCL_PROTO=Simple" ;;
	ring_ctas) echo "NCCL_ALGO=Ring NCCL_MIN_CTAS=$CTAS NCCL_MAX_CTAS=$CTAS" ;;
	ring_simple_ctas) echo "NCCL_ALGO=Ring NCCL_PROTO=Simple NCCL_MIN_CTAS=$CTAS NCCL_MAX_CTAS=$CTAS" ;;
	tree1) echo "NCCL_ALGO=allreduce:tree NCCL_PROTO=Simple NCCL_MIN_CTAS=1 NCCL_MAX_CTAS=1" ;;
	*) echo "nccl4/run.sh: unknown variant '$1' (one of: $ALL_VARIANTS)" >&2; return 1 ;;
	esac
}
# launch OUTFILE ERRFILE VARS...: one torchrun of collectives.py
launch() {
	o=$1 e=$2
	shift 2
	if [ "$DRY" = 1 ]; then
		echo "env $* $TORCHRUN --standalone --nproc_per_node=$NPROC tests/gpu/nccl4/collectives.py --sizes $SIZES $COLL_ARGS"
		return 0
	fi
	# shellcheck disable=SC2086
	env "$@" $TORCHRUN --standalone --nproc_per_node="$NPROC" \
		tests/gpu/nccl4/collectives.py --sizes "$SIZES" $COLL_ARGS >"$o" 2>"$e"
}

for v in $VARIANTS; do vars "$v" >/dev/null || exit 2; done
mkdir -p "$OUT"
if [ "$DRY" != 1 ]; then
	{
		date -u +%Y-%m-%dT%H:%MZ
		nvidia-smi --query-gpu=name,driver_version,pci.bus_id --format=csv,noheader
		nvidia-smi topo -m
		$PY -c 'import torch, torch.cuda as c; print("torch", torch.__version__, "cuda", torch.version.cuda, "nccl", c.nccl.version() if c.is_available() else "-")'
		echo "nproc $NPROC sizes $SIZES ctas $CTAS variants $VARIANTS"
	} >"$OUT/env.txt" 2>&1
fi

case " $PHASES " in *" coll "*)
	for v in $VARIANTS; do
		mkdir -p "$OUT/coll/$v"
		# shellcheck disable=SC2046
		set -- $(vars "$v")
		[ "$v" = detshim ] && set -- "$@" "DETSHIM_LOG=$OUT/coll/$v/log_%p.jsonl"
		for r in $(seq 1 "$RUNS"); do
			[ "$DRY" = 1 ] || echo "coll $v run $r  $(date -u +%T)"
			launch "$OUT/coll/$v/$r.out" "$OUT/coll/$v/$r.err" "$@" ||
				echo "coll $v run $r: exit $?" | tee -a "$OUT/coll/$v/$r.err"
		done
		if [ "${TUNING_LOG:-0}" = 1 ]; then
			launch "$OUT/coll/$v/tuning.out" "$OUT/coll/$v/tuning.log" "$@" \
				NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,TUNING
		fi
	done ;;
esac

case " $PHASES " in *" train "*)
	if [ "$DRY" = 1 ]; then
		echo "NPROC=$NPROC WORKLOADS=\"$WORKLOADS\" STEPS=$STEPS sh tests/gpu/run_ddp.sh $B $OUT/train $TRAIN_RUNS"
	else
		echo "train $WORKLOADS  $(date -u +%T)"
		NPROC=$NPROC WORKLOADS=$WORKLOADS STEPS=$STEPS TORCHRUN=$TORCHRUN \
			sh tests/gpu/run_ddp.sh "$B" "$OUT/train" "$TRAIN_RUNS" >/dev/null 2>&1
	fi ;;
esac

[ "$DRY" = 1 ] && exit 0
"$PY" tests/gpu/nccl4/summarize.py "$OUT" | tee "$OUT/tables.md"
