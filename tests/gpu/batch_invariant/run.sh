#!/bin/sh
# tests/gpu/batch_invariant/run.sh - is a row of a batch computed as it is
# alone?  GEMMs, the ops of a transformer, whole models; without the shim,
# under the batch-invariant profile, and (GEMMs) under vLLM's workspace
# recipe; and what each costs (docs/GUIDE.md, "Batch-invariant inference").
#
#   sh tests/gpu/batch_invariant/run.sh BUILD OUTDIR
#
# Parts (their docstrings say what each checks): matmul.py, ops.py,
# generate.py; each configuration is its own process:
#   plain    no shim
#   profile  LD_PRELOAD=BUILD/libdetshim.so DETSHIM_SEED=1
#            DETSHIM_PROFILE=batch-invariant DETSHIM_LOG=OUTDIR/raw/PART.log
#            (a shim that refuses DETSHIM_PROFILE runs without it, and
#            OUTDIR/raw/profile.txt says so)
#   wsonly   matmul only: no shim, CUBLAS_WORKSPACE_CONFIG=:16:8
#            CUBLASLT_WORKSPACE_SIZE=1, and in the process cuBLASLt as the
#            BLAS backend with no reduced-precision reduction or split-K
# then ops_cost.py (the profile's reductions against ATen's, no shim, with
# BUILD/python on PYTHONPATH), where that file exists and time is left (not
# in the CPU smoke).
# Bounded: TOTAL seconds in all (default 225); every step runs under
# timeout with its share (S_MATMUL, S_OPS, S_GENERATE seconds), cut to what
# is left of TOTAL; a script stops starting work 3 s before its share ends,
# and writes each row when measured, so a step that is killed keeps what it
# had and the others run as planned.
# Writes OUTDIR/summary.md (all tables, the steps, each configuration's
# torch state), OUTDIR/{matmul,ops,generate}.md, OUTDIR/env.txt, and
# OUTDIR/raw/ (PART.CONFIG.jsonl rows, .out/.err, the shim logs, steps.txt).
# One step at a time (the GPU is timed; and parallel imports of torch only
# slow each other down).  PLAN: the steps, PART:CONFIG (default all seven).
# DEVICE=cpu: the CPU smoke (tiny sizes; tests/it_gpu_scripts.sh runs four
# of the steps).  PYTHON: the interpreter (default python3).
set -u
B=${1:-build}
OUT=${2:-/tmp/detshim-batch-invariant}
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
case $OUT in /*) ;; *) OUT=$(pwd)/$OUT ;; esac
case "$B$OUT" in *[[:space:]]*)
	echo "run.sh: BUILD and OUTDIR must not contain spaces" >&2
	exit 2
esac
HERE=$(cd "$(dirname "$0")" && pwd)
SO=$B/libdetshim.so
RAW=$OUT/raw
PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
if [ "$DEVICE" = cpu ]; then
	TOTAL=${TOTAL:-60}
else
	TOTAL=${TOTAL:-225}
fi
S_MATMUL=${S_MATMUL:-30}
S_OPS=${S_OPS:-22}
S_GENERATE=${S_GENERATE:-60}
# the whole models first and the GEMM recipe last: if time runs short,
# what is cut is what matters least
PLAN=${PLAN:-generate:plain generate:profile matmul:plain matmul:profile ops:plain ops:profile matmul:wsonly}
RESERVE=8 # seconds kept for the summary
T0=$(date +%s)
test -f "$SO" || { echo "run.sh: $SO missing (make BUILD=$B)" >&2; exit 1; }

# Nothing of the caller's shim or cuBLAS settings leaks into a
# configuration; no network (the GPU host has none: a hub lookup would
# only wait); no bytecode written into the tree.
for v in $(env | sed -n 's/^\(DETSHIM_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
unset LD_PRELOAD CUBLAS_WORKSPACE_CONFIG CUBLASLT_WORKSPACE_SIZE \
	TORCHINDUCTOR_BATCH_INVARIANT TORCHINDUCTOR_DETERMINISTIC
export DEVICE HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1 \
	PYTHONDONTWRITEBYTECODE=1
mkdir -p "$RAW" || exit 1
rm -f "$RAW"/*.jsonl "$RAW"/*.out "$RAW"/*.err "$RAW"/*.log "$RAW"/steps.txt \
	"$RAW"/profile.txt "$OUT"/*.md

left() { echo $((TOTAL - RESERVE - ($(date +%s) - T0))); }

{
	date -u +%Y-%m-%dT%H:%M:%SZ
	uname -sr
	if [ "$DEVICE" = cpu ]; then
		echo "DEVICE=cpu (smoke sizes)"
	else
		timeout 10 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
	fi
	"$PY" --version
	echo "detshim $(cat "$HERE/../../../VERSION" 2>/dev/null) $(git -C "$HERE" log -1 --format=%h 2>/dev/null) $SO"
	echo "TOTAL=$TOTAL S_MATMUL=$S_MATMUL S_OPS=$S_OPS S_GENERATE=$S_GENERATE"
	echo "PLAN=$PLAN"
} >"$OUT/env.txt" 2>&1

# Does this shim take DETSHIM_PROFILE, and does it report the profile?
PROFILE_VAR=DETSHIM_PROFILE=batch-invariant
got=$(env LD_PRELOAD="$SO" DETSHIM_SEED=1 $PROFILE_VAR \
	DETSHIM_LOG="$RAW/probe.log" timeout 20 "$PY" -c '
import ctypes
try:
    f = ctypes.CDLL(None).detshim_py_setting
except AttributeError:
    print("(no detshim_py_setting)")
else:
    f.restype = ctypes.c_int
    b = ctypes.create_string_buffer(64)
    print(b.value.decode() if f(b"profile", b, 64) >= 0 else "(no profile row)")' \
	2>"$RAW/probe.err")
rc=$?
if [ $rc -ne 0 ]; then
	PROFILE_VAR=
	echo "the shim refused DETSHIM_PROFILE=batch-invariant (exit $rc: $(head -1 "$RAW/probe.err")); the profile configuration runs the shim without it" >"$RAW/profile.txt"
elif [ "$got" = batch-invariant ]; then
	echo "batch-invariant (the shim reports it)" >"$RAW/profile.txt"
else
	echo "DETSHIM_PROFILE=batch-invariant set, but the shim reports $got: this build has no profile, so the profile configuration is the shim's default" >"$RAW/profile.txt"
fi

# step PART CONFIG SHARE: one process of PART.py under CONFIG, at most
# SHARE seconds; one line to raw/steps.txt: part config rc seconds note
step() {
	part=$1 cfg=$2 lim=$3
	l=$(left)
	[ "$l" -lt "$lim" ] && lim=$l
	if [ "$lim" -lt 5 ]; then
		echo "$part $cfg - 0 not run: no time left" >>"$RAW/steps.txt"
		return
	fi
	case $cfg in
	plain) e= ;;
	profile) e="LD_PRELOAD=$SO DETSHIM_SEED=1 $PROFILE_VAR DETSHIM_LOG=$RAW/$part.log" ;;
	wsonly) e="CUBLAS_WORKSPACE_CONFIG=:16:8 CUBLASLT_WORKSPACE_SIZE=1" ;;
	esac
	s0=$(date +%s.%N)
	# shellcheck disable=SC2086
	env $e timeout -k 3 "$lim" "$PY" "$HERE/$part.py" --config "$cfg" \
		--out "$RAW/$part.$cfg.jsonl" --deadline $(($(date +%s) + lim - 3)) \
		>"$RAW/$part.$cfg.out" 2>"$RAW/$part.$cfg.err"
	rc=$?
	s=$(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $s0 }")
	case $rc in
	0) note= ;;
	124 | 137) note="timed out after $lim s" ;;
	*) note="failed: $(grep -v '^ ' "$RAW/$part.$cfg.err" | tail -1 | cut -c1-160)" ;;
	esac
	echo "$part $cfg $rc $s $note" >>"$RAW/steps.txt"
}

for p in $PLAN; do
	part=${p%%:*} cfg=${p#*:}
	case $part in
	matmul) share=$S_MATMUL ;;
	ops) share=$S_OPS ;;
	generate) share=$S_GENERATE ;;
	*) echo "run.sh: unknown part '$part' in PLAN" >&2; continue ;;
	esac
	echo "$(date -u +%T) $part $cfg"
	step "$part" "$cfg" "$share"
done

# The profile's own reductions against ATen's, called directly (so without
# the shim; the script refuses to run under it), where time is left.
l=$(left)
if [ "$DEVICE" != cpu ] && [ -f "$HERE/ops_cost.py" ] && [ "$l" -ge 20 ]; then
	[ "$l" -gt 45 ] && l=45
	echo "$(date -u +%T) ops_cost plain"
	s0=$(date +%s)
	env PYTHONPATH="$B/python" timeout -k 3 "$l" "$PY" "$HERE/ops_cost.py" \
		"$OUT/ops_cost.md" >"$RAW/ops_cost.out" 2>"$RAW/ops_cost.err"
	echo "ops_cost plain $? $(($(date +%s) - s0))" >>"$RAW/steps.txt"
fi

if ! timeout 20 "$PY" "$HERE/summary.py" "$OUT" 2>"$RAW/summary.err"; then
	{
		echo "# Batch invariance: summary.py failed ($(tail -1 "$RAW/summary.err"))"
		echo
		echo '```'
		cat "$OUT/env.txt" "$RAW/profile.txt" "$RAW/steps.txt"
		echo '```'
		for f in "$RAW"/*.jsonl; do
			echo "## $f"
			echo '```'
			cut -c1-400 "$f"
			echo '```'
		done
	} >"$OUT/summary.md" 2>&1
fi
echo "$(date -u +%T) done in $(($(date +%s) - T0)) s: $OUT/summary.md"
cat "$OUT/summary.md"
