#!/bin/sh
# tests/gpu/run.sh - the reproducibility matrix of docs/measurements/REPRODUCIBILITY.md
# (`make gpu-check` runs it).
#
#   sh tests/gpu/run.sh [BUILD] [OUTDIR] [RUNS]
#
# One row per workload, one column per variant, each variant RUNS
# (default 3) separate processes:
#   plain    no shim (torch.compile: a fresh Inductor cache per run)
#   fwdet    the framework's own deterministic mode, no shim (PyTorch:
#            use_deterministic_algorithms + cudnn.deterministic; JAX:
#            XLA_FLAGS=--xla_gpu_deterministic_ops=true)
#   detshim  LD_PRELOAD=BUILD/libdetshim.so DETSHIM_SEED=1
#   pinned   detshim plus DETSHIM_ALGO_CACHE, after one recording run
#            (DETSHIM_CUDNN_CHOICE=any, so the autotuners choose freely)
#   seed2    one run with DETSHIM_SEED=2 (unseeded workloads only)
# Method (to stay under 10 minutes): the hash runs go in parallel, PAR
# (default 8) processes at a time, recording runs before pinned runs (the
# cuDNN ones alone, since that autotuner times its candidates);
# then one timing run per variant runs alone, and the step-time ratios
# come only from those (each the median step of one process).  The 2-GPU
# DDP row (tests/gpu/run_ddp.sh) runs last, only where 2 GPUs are seen.
# QUICK=1 runs the hash columns only: no timing phase and no XLA probe
# (the ratio columns then read "—"), for a check that fits in about five
# minutes.
# Writes OUTDIR/matrix.md (the table), OUTDIR/env.txt (machine and
# versions), OUTDIR/xla_probe.txt, OUTDIR/runs/* (stdout, stderr and the
# first shim log of every variant).  ROWS selects rows (default: all).
# Needs python3 with torch, torchvision, transformers, jax, cupy; nvcc for
# the CUDA C row.
set -u
if [ "${1:-}" = --job ]; then
	MODE=job
	shift
else
	MODE=main
	B=${1:-build}
	OUT=${2:-/tmp/detshim-matrix}
	N=${3:-3}
	case $OUT in /*) ;; *) OUT=$(pwd)/$OUT ;; esac
	SO=$(cd "$B" && pwd)/libdetshim.so
	TOP=$(pwd)
	export B OUT N SO TOP
fi
FW=$TOP/tests/gpu/frameworks
STEPS=${STEPS:-10}
ALL="resnet_bench resnet_nobench gpt hf dataloader compile jax cupy cuda ddp"
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
export PYTHONUNBUFFERED=1
# JAX takes 75% of the GPU memory at start by default: with several
# processes at a time the later ones found "no supported devices" and
# cuRAND in CuPy failed to initialise.  Allocation on demand changes no
# result.
export XLA_PYTHON_CLIENT_PREALLOCATE=false
unset XLA_FLAGS LD_PRELOAD DETSHIM_SEED DETSHIM_ALGO_CACHE DETSHIM_LOG \
	DETSHIM_CUDNN_CHOICE TORCHINDUCTOR_CACHE_DIR TRITON_CACHE_DIR

# cmd ROW VARIANT: the workload's command line
cmd() {
	det=default
	case $2 in *fwdet) det=torchdet ;; esac
	case $1 in
	resnet_bench) echo "python3 $TOP/tests/gpu/workloads/resnet_train.py $det $STEPS" ;;
	resnet_nobench) echo "python3 $TOP/tests/gpu/workloads/resnet_train.py ${det}_nobench $STEPS" ;;
	gpt) echo "python3 $FW/gpt_train.py $det $STEPS" ;;
	compile) echo "python3 $FW/compile_train.py $det $STEPS" ;;
	hf) echo "python3 $FW/hf_generate.py" ;;
	dataloader) echo "python3 $FW/dataloader.py 2" ;;
	jax) echo "python3 $FW/jax_train.py 20" ;;
	cupy) echo "python3 $FW/cupy_work.py" ;;
	cuda) echo "$OUT/gpulibs_target" ;;
	esac
}
has_fwdet() { case $1 in resnet_*|gpt|compile|jax) return 0 ;; esac; return 1; }
has_cache() { case $1 in resnet_*|gpt|compile|jax) return 0 ;; esac; return 1; }
unseeded() { case $1 in hf|dataloader|cupy|cuda) return 0 ;; esac; return 1; }

# job ROW VARIANT I: one process; stdout/stderr to runs/ROW.VARIANT.I.*
job() {
	row=$1 var=$2 i=$3
	base=$OUT/runs/$row.$var.$i
	shim="LD_PRELOAD=$SO DETSHIM_SEED=1"
	log=/dev/null
	[ "$i" = 1 ] && log=$base.jsonl
	cache=$OUT/cache/$row.txt
	case $var in
	plain | time-plain) e= ;;
	fwdet | time-fwdet) e= ;;
	detshim | time-detshim) e="$shim DETSHIM_LOG=$log" ;;
	seed2) e="LD_PRELOAD=$SO DETSHIM_SEED=2" ;;
	record) e="$shim DETSHIM_LOG=$log DETSHIM_ALGO_CACHE=$cache DETSHIM_CUDNN_CHOICE=any" ;;
	pinned | time-pinned) e="$shim DETSHIM_LOG=$log DETSHIM_ALGO_CACHE=$cache" ;;
	esac
	case $row.$var in
	jax.*fwdet) e="XLA_FLAGS=--xla_gpu_deterministic_ops=true" ;;
	cuda.detshim | cuda.seed2) e="$e DETSHIM_ALLOC_FILL=1" ;;
	compile.*record | compile.*pinned) ;;
	compile.time-*)
		# reuse the compiled graphs of run 1 of that variant: the
		# timing run measures steps, not a second max-autotune
		v=${var#time-}
		rm -rf "$OUT/tmp/ind-$var"
		cp -r "$OUT/tmp/ind-$v-1" "$OUT/tmp/ind-$var" 2>/dev/null
		e="$e TORCHINDUCTOR_CACHE_DIR=$OUT/tmp/ind-$var" ;;
	compile.*) e="$e TORCHINDUCTOR_CACHE_DIR=$OUT/tmp/ind-$var-$i" ;;
	esac
	t0=$(date +%s.%N)
	# shellcheck disable=SC2046,SC2086
	env $e timeout 400 $(cmd "$row" "$var") >"$base.out" 2>"$base.err"
	rc=$?
	echo "RC $rc WALL $(awk "BEGIN{print $(date +%s.%N) - $t0}")" >>"$base.out"
}

if [ $MODE = job ]; then
	[ $# -eq 3 ] && job "$@"
	exit 0
fi

ROWS=${ROWS:-$ALL}
PAR=${PAR:-8}
test -f "$SO" || { echo "run.sh: $SO missing (make BUILD=$B)"; exit 1; }
rm -rf "$OUT/runs" "$OUT/cache" "$OUT/tmp"
mkdir -p "$OUT/runs" "$OUT/cache" "$OUT/tmp"
NGPU=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')
{
	date -u +%Y-%m-%dT%H:%MZ
	nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
	python3 -c 'import torch, torchvision; print("torch", torch.__version__, "torchvision", torchvision.__version__, "cudnn", torch.backends.cudnn.version(), "cuda", torch.version.cuda, "nccl", ".".join(map(str, torch.cuda.nccl.version())))'
	python3 -c 'import jax, jaxlib, cupy, transformers, triton, numpy; print("jax", jax.__version__, "jaxlib", jaxlib.__version__, "cupy", cupy.__version__, "transformers", transformers.__version__, "triton", triton.__version__, "numpy", numpy.__version__)'
	[ -x /usr/local/cuda/bin/nvcc ] && /usr/local/cuda/bin/nvcc --version | tail -1
	echo "runs=$N par=$PAR steps=$STEPS gpus=$NGPU rows=$ROWS"
} >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"
case " $ROWS " in *" cuda "*)
	/usr/local/cuda/bin/nvcc -O2 -arch=sm_90 -o "$OUT/gpulibs_target" \
		"$TOP/tests/targets/cuda/gpulibs_target.cu" -lcublas -lcurand \
		>"$OUT/runs/nvcc.log" 2>&1 || echo "run.sh: nvcc failed (runs/nvcc.log)"
esac

# phase 1: every hash run but the pinned ones and the cuDNN recording
# runs, in parallel (compile first: it takes longest)
: >"$OUT/jobs1"
: >"$OUT/jobs1b"
: >"$OUT/jobs2"
: >"$OUT/jobs3"
for row in compile $ROWS; do
	[ "$row" = ddp ] && continue
	case " $ROWS " in *" $row "*) ;; *) continue ;; esac
	grep -q "^$row " "$OUT/jobs1" && continue
	for i in $(seq 1 "$N"); do
		echo "$row plain $i" >>"$OUT/jobs1"
		has_fwdet "$row" && echo "$row fwdet $i" >>"$OUT/jobs1"
		echo "$row detshim $i" >>"$OUT/jobs1"
		has_cache "$row" && echo "$row pinned $i" >>"$OUT/jobs2"
	done
	# cuDNN's autotuner times its candidates: its recording run goes
	# alone, or it records the winner of a shared GPU (2.4x slower when
	# replayed alone, docs/measurements/REPRODUCIBILITY.md).  Inductor and XLA do not
	# time anything under detshim; theirs stay in the parallel phase.
	case $row in
	resnet_*) echo "$row record 1" >>"$OUT/jobs1b" ;;
	*) has_cache "$row" && echo "$row record 1" >>"$OUT/jobs1" ;;
	esac
	unseeded "$row" && echo "$row seed2 1" >>"$OUT/jobs1"
	echo "$row time-plain 1" >>"$OUT/jobs3"
	has_fwdet "$row" && echo "$row time-fwdet 1" >>"$OUT/jobs3"
	[ "$row" != cuda ] && echo "$row time-detshim 1" >>"$OUT/jobs3"
	has_cache "$row" && echo "$row time-pinned 1" >>"$OUT/jobs3"
done
echo "phase 1: $(wc -l <"$OUT/jobs1") runs, $PAR at a time  $(date -u +%T)"
xargs -r -P "$PAR" -n 3 sh "$0" --job <"$OUT/jobs1"
echo "phase 1b: $(wc -l <"$OUT/jobs1b") cuDNN recording runs, alone  $(date -u +%T)"
xargs -r -P 1 -n 3 sh "$0" --job <"$OUT/jobs1b"
# phase 2: the pinned runs, after their recording run
echo "phase 2: $(wc -l <"$OUT/jobs2") runs  $(date -u +%T)"
xargs -r -P "$PAR" -n 3 sh "$0" --job <"$OUT/jobs2"
# phase 3: timing runs, one process at a time
[ "${QUICK:-0}" = 1 ] && : >"$OUT/jobs3"
echo "phase 3: $(wc -l <"$OUT/jobs3") timing runs, alone  $(date -u +%T)"
xargs -r -P 1 -n 3 sh "$0" --job <"$OUT/jobs3"

# XLA's autotune persistence, seen from outside: what a run leaves in the
# dump file (default flags) and in the per-fusion cache directory.
case "${QUICK:-0} $ROWS " in 0*" jax "*)
	{
		d=$OUT/tmp/xla
		mkdir -p "$d/pf"
		XLA_FLAGS="--xla_gpu_dump_autotune_results_to=$d/dump.textproto" \
			python3 "$FW/jax_train.py" 2 >/dev/null 2>&1
		echo "default flags, dump_autotune_results_to: $(wc -c <"$d/dump.textproto" 2>/dev/null) bytes, $(grep -c 'results {' "$d/dump.textproto" 2>/dev/null) results"
		XLA_FLAGS="--xla_gpu_per_fusion_autotune_cache_dir=$d/pf" \
			python3 "$FW/jax_train.py" 2 >/dev/null 2>&1
		echo "default flags, per_fusion_autotune_cache_dir: $(find "$d/pf" -type f | wc -l) files"
		# do the determinism flags use results tuned without them?
		for f in exclude_nondeterministic_ops deterministic_ops; do
			for i in 1 2; do
				echo "$f=true + that directory, run $i: $(XLA_FLAGS="--xla_gpu_$f=true --xla_gpu_per_fusion_autotune_cache_dir=$d/pf" \
					python3 "$FW/jax_train.py" 20 2>/dev/null | tr '\n' ' ')"
			done
		done
		echo "plain, run again: $(python3 "$FW/jax_train.py" 20 2>/dev/null | tr '\n' ' ')"
		echo "detshim pinned (exclude_nondeterministic_ops + per-fusion dir): $(find "$OUT/cache/jax.txt.xla" -type f 2>/dev/null | wc -l) files"
	} >"$OUT/xla_probe.txt" 2>&1
	cat "$OUT/xla_probe.txt"
esac

case " $ROWS " in *" ddp "*)
	if [ "$NGPU" -ge 2 ]; then
		echo "ddp: tests/gpu/run_ddp.sh on $NGPU GPUs  $(date -u +%T)"
		sh "$TOP/tests/gpu/run_ddp.sh" "$B" "$OUT/ddp" "$N" >/dev/null 2>&1
	else
		echo "ddp: needs 2 GPUs, $NGPU seen: row marked, not run"
	fi
esac
echo "done $(date -u +%T)"
python3 "$FW/matrix.py" "$OUT" | tee "$OUT/matrix.md"
