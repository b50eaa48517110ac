#!/bin/sh
# bench/gpu.sh - the GPU benchmark (issue 6): what determinism costs on a
# training step, detshim against the alternatives, side by side.
#
#   sh bench/gpu.sh [BUILD] [OUTDIR] [RUNS]   (make bench-gpu; RUNS default 3)
#
# Workloads: ResNet-18 (tests/gpu/workloads/resnet_train.py) and a small
# GPT-style transformer (bench/gpu/gpt_train.py: bf16, SDPA, dropout).
# Configurations, each a fresh process:
#   bench     plain, cudnn.benchmark = True (the reference)
#   nobench   plain, cudnn.benchmark = False
#   torchdet  PyTorch's deterministic mode: use_deterministic_algorithms,
#             cudnn.deterministic, CUBLAS_WORKSPACE_CONFIG=:4096:8
#             (benchmark left on, as the program had it)
#   detshim   LD_PRELOAD=BUILD/libdetshim.so DETSHIM_SEED=1, benchmark on
#   pinned    detshim with DETSHIM_ALGO_CACHE=<file>; the file is recorded
#             once per workload before the timed runs, with
#             DETSHIM_CUDNN_CHOICE=any (the autotuner chooses freely)
# Optional (CONFIGS), to see where time goes: torchdet_nobench (the same
# with benchmark off); pinned_notorch and detshim_notorch (DETSHIM_TORCH=0:
# PyTorch's own switches not answered); detshim_notorch_nopins (also
# DETSHIM_ENV_PINS=0: no CUBLAS_WORKSPACE_CONFIG pin); detshim_nofill
# (PyTorch's NaN fill of new tensors off, bench/gpu/wrap.py --nofill);
# bench_ws (plain with CUBLAS_WORKSPACE_CONFIG=:4096:8 alone);
# detshim_nows and pinned_nows (DETSHIM_CUBLAS_WORKSPACE=0: no
# CUBLAS_WORKSPACE_CONFIG pin).
# The runs are interleaved: round r runs every configuration once, in an
# order rotated by r, so drift of the machine hits all alike.  Each run
# prints its mean step time over STEPS timed steps and a hash of the final
# weights.
# Output in OUTDIR: table.md (the tables), raw.txt (one line per run),
# env.txt (machine and versions),
# stderr.txt (all runs' stderr), log-*.jsonl (shim log of one run per
# shim configuration), cache-*.txt (the pinning files).
# Needs a CUDA GPU and python3 with torch and torchvision.
set -u
BUILD=${1:-build}
OUT=${2:-/tmp/detshim-bench-gpu}
RUNS=${3:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
WORKLOADS=${WORKLOADS:-"resnet gpt"}
CONFIGS=${CONFIGS:-"bench nobench torchdet detshim pinned"}
STEPS_RESNET=${STEPS_RESNET:-100}
STEPS_GPT=${STEPS_GPT:-50}
TIMEOUT=${TIMEOUT:-240}
PY=${PYTHON:-python3}

SO=$(cd "$BUILD" 2>/dev/null && pwd)/libdetshim.so
test -f "$SO" || { echo "bench/gpu.sh: $BUILD/libdetshim.so missing (make BUILD=$BUILD)"; exit 1; }
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
: > "$OUT/raw.txt"
: > "$OUT/stderr.txt"
T0=$(date +%s)

# Machine and versions, for docs/measurements/BENCHMARKS.md.
{
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "host: $(uname -srm)"
	nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | sed 's/^/gpu: /'
	$PY -c 'import torch, torchvision; print("torch:", torch.__version__, "torchvision:", torchvision.__version__, "cuda:", torch.version.cuda, "cudnn:", torch.backends.cudnn.version())' 2>&1
	echo "cc: $(${CC:-cc} --version 2>/dev/null | head -1)"
	echo "command: sh bench/gpu.sh $BUILD OUTDIR $RUNS (WORKLOADS=\"$WORKLOADS\" CONFIGS=\"$CONFIGS\" STEPS_RESNET=$STEPS_RESNET STEPS_GPT=$STEPS_GPT)"
} > "$OUT/env.txt"
cat "$OUT/env.txt"

# cmd_for WORKLOAD MODE STEPS [WRAP-OPTION] -> the command line
cmd_for() {
	py=$PY
	[ -n "${4:-}" ] && py="$PY $HERE/gpu/wrap.py $4"
	case $1 in
	resnet) echo "$py $ROOT/tests/gpu/workloads/resnet_train.py $2 $3" ;;
	gpt) echo "$py $HERE/gpu/gpt_train.py $2 $3" ;;
	esac
}

steps_for() {
	case $1 in
	resnet) echo "$STEPS_RESNET" ;;
	*) echo "$STEPS_GPT" ;;
	esac
}

# one WORKLOAD CONFIG ROUND -> appends "wl config round <workload line>"
one() {
	wl=$1 cfg=$2 r=$3
	so=$SO
	mode=default
	wrap=
	log=/dev/null
	steps=$(steps_for "$wl")
	cache=$OUT/cache-$wl.txt
	case $cfg in
	bench) set -- X=1 ;;
	nobench) set -- X=1; mode=default_nobench ;;
	torchdet) set -- CUBLAS_WORKSPACE_CONFIG=:4096:8; mode=torchdet ;;
	torchdet_nobench) set -- CUBLAS_WORKSPACE_CONFIG=:4096:8; mode=torchdet_nobench ;;
	detshim) set -- LD_PRELOAD="$so" DETSHIM_SEED=1 ;;
	pinned) set -- LD_PRELOAD="$so" DETSHIM_SEED=1 DETSHIM_ALGO_CACHE="$cache" ;;
	pinned_notorch) set -- LD_PRELOAD="$so" DETSHIM_SEED=1 DETSHIM_ALGO_CACHE="$cache" DETSHIM_TORCH=0 ;;
	detshim_notorch) set -- LD_PRELOAD="$so" DETSHIM_SEED=1 DETSHIM_TORCH=0 ;;
	detshim_notorch_nopins) set -- LD_PRELOAD="$so" DETSHIM_SEED=1 DETSHIM_TORCH=0 DETSHIM_ENV_PINS=0 ;;
	detshim_nofill) set -- LD_PRELOAD="$so" DETSHIM_SEED=1; wrap=--nofill ;;
	bench_ws) set -- CUBLAS_WORKSPACE_CONFIG=:4096:8 ;;
	detshim_nows) set -- LD_PRELOAD="$so" DETSHIM_SEED=1 DETSHIM_CUBLAS_WORKSPACE=0 ;;
	pinned_nows) set -- LD_PRELOAD="$so" DETSHIM_SEED=1 DETSHIM_ALGO_CACHE="$cache" DETSHIM_CUBLAS_WORKSPACE=0 ;;
	record) set -- LD_PRELOAD="$so" DETSHIM_SEED=1 DETSHIM_ALGO_CACHE="$cache" DETSHIM_CUDNN_CHOICE=any ;;
	*) echo "bench/gpu.sh: unknown configuration $cfg"; exit 2 ;;
	esac
	case $cfg in
	detshim | pinned | pinned_notorch | record)
		[ "$r" = 1 ] && log=$OUT/log-$wl-$cfg.jsonl ;;
	esac
	echo "== $wl $cfg $r" >> "$OUT/stderr.txt"
	err=$OUT/.err
	res=$(env "$@" DETSHIM_LOG="$log" timeout "$TIMEOUT" $(cmd_for "$wl" "$mode" "$steps" "$wrap") 2>"$err" | tail -1)
	cat "$err" >> "$OUT/stderr.txt"
	rm -f "$err"
	echo "$wl $cfg $r $res" | tee -a "$OUT/raw.txt"
}

# 1. the pinning files, recorded with the autotuner free
case " $CONFIGS " in *" pinned"*)
	for wl in $WORKLOADS; do
		rm -f "$OUT/cache-$wl.txt"
		one "$wl" record 1
	done
esac

# 2. the timed runs, interleaved: round r rotates the order by r
set -- $CONFIGS
NCFG=$#
r=1
while [ $r -le "$RUNS" ]; do
	for wl in $WORKLOADS; do
		k=0
		while [ $k -lt "$NCFG" ]; do
			i=$(( (k + r - 1) % NCFG + 1 ))
			eval "cfg=\${$i}"
			one "$wl" "$cfg" "$r"
			k=$((k + 1))
		done
	done
	r=$((r + 1))
done

T1=$(date +%s)
echo "wall: $((T1 - T0)) s" >> "$OUT/env.txt"
$PY "$HERE/gpu/summarize.py" "$OUT" | tee "$OUT/table.md"
