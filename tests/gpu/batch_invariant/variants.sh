#!/bin/sh
# tests/gpu/batch_invariant/variants.sh - the cuBLASLt profile's build
# variants side by side: is each batch-invariant, and what does it cost?
#
#   sh tests/gpu/batch_invariant/variants.sh BUILD OUTDIR
#
# Builds each variant of cuda_hooks/cublaslt.c (its build macros, see
# docs/DESIGN.md §13) into BUILD/lt-variants/NAME (its flags in
# NAME/extra_cflags; a folder of other flags is emptied), all in parallel:
#   make BUILD=BUILD/lt-variants/NAME EXTRA_CFLAGS='-D...' \
#     BUILD/lt-variants/NAME/libdetshim.so BUILD/lt-variants/NAME/python/.compiled
# (the profile's PyTorch side, python/, is found beside the shim), then runs
# matmul.py once without the shim ("plain") and once under each variant
# (LD_PRELOAD=.../libdetshim.so DETSHIM_SEED=1
# DETSHIM_PROFILE=batch-invariant), one process each, one at a time, and
# once under BUILD's own shim without the profile ("default", where
# BUILD/libdetshim.so exists).
# VARIANTS (default all five):
#   v256     the default build (DS_LT_REP_N=256)
#   v64      -DDS_LT_REP_N=64
#   v16      -DDS_LT_REP_N=16
#   half256  -DDS_LT_PIN_HALF=0
#   half16   -DDS_LT_PIN_HALF=0 -DDS_LT_REP_N=16
# Writes OUTDIR/variants.md (per variant: invariant, or the first differing
# M, per dtype x shape; the timing table with plain beside every variant)
# and OUTDIR/raw/ (matmul.NAME.jsonl/.out/.err, the shim logs, build logs,
# steps.txt).
# Bounded: TOTAL seconds in all (default 480); the builds get S_BUILD
# (default 180), each matmul process S_MATMUL (default 50), cut to what is
# left of TOTAL; matmul.py stops starting work 3 s before its share ends
# and writes each row when measured.  DEVICE=cpu: the CPU smoke (matmul.py's
# tiny sizes).  PYTHON: the interpreter (default python3).
set -u
B=${1:-build}
OUT=${2:-/tmp/detshim-lt-variants}
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
case $OUT in /*) ;; *) OUT=$(pwd)/$OUT ;; esac
case "$B$OUT" in *[[:space:]]*)
	echo "variants.sh: BUILD and OUTDIR must not contain spaces" >&2
	exit 2
esac
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
RAW=$OUT/raw
PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
TOTAL=${TOTAL:-480}
S_BUILD=${S_BUILD:-180}
S_MATMUL=${S_MATMUL:-50}
VARIANTS=${VARIANTS:-v256 v64 v16 half256 half16}
JOBS=${JOBS:-4} # make jobs per variant
RESERVE=8       # seconds kept for the summary
T0=$(date +%s)

flags_of() {
	case $1 in
	v256) echo "" ;;
	v64) echo "-DDS_LT_REP_N=64" ;;
	v16) echo "-DDS_LT_REP_N=16" ;;
	half256) echo "-DDS_LT_PIN_HALF=0" ;;
	half16) echo "-DDS_LT_PIN_HALF=0 -DDS_LT_REP_N=16" ;;
	*) return 1 ;;
	esac
}
for v in $VARIANTS; do
	flags_of "$v" >/dev/null || {
		echo "variants.sh: unknown variant '$v'" >&2
		exit 2
	}
done

# Nothing of the caller's shim or cuBLAS settings leaks into a run.
for e in $(env | sed -n 's/^\(DETSHIM_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$e"; done
unset LD_PRELOAD CUBLAS_WORKSPACE_CONFIG CUBLASLT_WORKSPACE_SIZE \
	TORCHINDUCTOR_BATCH_INVARIANT TORCHINDUCTOR_DETERMINISTIC
export DEVICE PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
mkdir -p "$RAW" || exit 1
rm -f "$RAW"/matmul.* "$RAW"/build.* "$RAW"/steps.txt "$OUT"/variants.md

left() { echo $((TOTAL - RESERVE - ($(date +%s) - T0))); }
note() { echo "$*" >>"$RAW/steps.txt"; }

{
	date -u +%Y-%m-%dT%H:%M:%SZ
	if [ "$DEVICE" = cpu ]; then
		echo "DEVICE=cpu (smoke sizes)"
	else
		timeout 10 nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
	fi
	"$PY" --version
	echo "detshim $(cat "$ROOT/VERSION" 2>/dev/null) $(git -C "$ROOT" log -1 --format=%h 2>/dev/null)"
	echo "TOTAL=$TOTAL S_BUILD=$S_BUILD S_MATMUL=$S_MATMUL VARIANTS=$VARIANTS"
} >"$OUT/env.txt" 2>&1

# The builds, in parallel, each under its share.
lim=$S_BUILD
[ "$(left)" -lt "$lim" ] && lim=$(left)
s0=$(date +%s)
for v in $VARIANTS; do
	d=$B/lt-variants/$v
	# EXTRA_CFLAGS is no make prerequisite: a folder built with other
	# flags is built again from nothing
	if [ "$(cat "$d/extra_cflags" 2>/dev/null)" != "$(flags_of "$v")" ]; then
		rm -rf "$d"
		mkdir -p "$d" && flags_of "$v" >"$d/extra_cflags"
	fi
	{
		timeout -k 3 "$lim" make -C "$ROOT" -j"$JOBS" BUILD="$d" \
			EXTRA_CFLAGS="$(flags_of "$v")" "$d/libdetshim.so" \
			"$d/python/.compiled" >"$RAW/build.$v.log" 2>&1
		echo $? >"$RAW/build.$v.rc"
	} &
done
wait
for v in $VARIANTS; do
	if [ "$(cat "$RAW/build.$v.rc" 2>/dev/null)" = 0 ]; then
		note "build $v 0 $(($(date +%s) - s0)) $(flags_of "$v")"
	else
		note "build $v 1 $(($(date +%s) - s0)) failed: $(tail -1 "$RAW/build.$v.log" | cut -c1-160)"
	fi
done

# run NAME [ENV...]: one matmul.py process under its share.
run() {
	name=$1
	shift
	lim=$S_MATMUL
	[ "$(left)" -lt "$lim" ] && lim=$(left)
	if [ "$lim" -lt 5 ]; then
		note "matmul $name - 0 not run: no time left"
		return
	fi
	echo "$(date -u +%T) matmul $name"
	s0=$(date +%s)
	env "$@" timeout -k 3 "$lim" "$PY" "$HERE/matmul.py" --config "$name" \
		--out "$RAW/matmul.$name.jsonl" --deadline $(($(date +%s) + lim - 3)) \
		>"$RAW/matmul.$name.out" 2>"$RAW/matmul.$name.err"
	rc=$?
	case $rc in
	0) n= ;;
	124 | 137) n="timed out after $lim s" ;;
	*) n="failed: $(grep -v '^ ' "$RAW/matmul.$name.err" | tail -1 | cut -c1-160)" ;;
	esac
	note "matmul $name $rc $(($(date +%s) - s0)) $n"
}

run plain
# The shim's default (no profile), BUILD's own shim, beside plain: what
# the shim costs a GEMM outside the profile.  (Without the profile
# PyTorch's BLAS backend is legacy cuBLAS, which the shim does not steer:
# this is not the cost of the cuBLASLt hooks' no-split-K restriction.)
if [ -f "$B/libdetshim.so" ]; then
	run default LD_PRELOAD="$B/libdetshim.so" DETSHIM_SEED=1 \
		DETSHIM_LOG="$RAW/matmul.default.log"
	DEFAULT=default
else
	note "matmul default - 0 not run: no $B/libdetshim.so"
	DEFAULT=
fi
for v in $VARIANTS; do
	so=$B/lt-variants/$v/libdetshim.so
	if [ "$(cat "$RAW/build.$v.rc" 2>/dev/null)" != 0 ]; then
		note "matmul $v - 0 not run: no build"
		continue
	fi
	run "$v" LD_PRELOAD="$so" DETSHIM_SEED=1 \
		DETSHIM_PROFILE=batch-invariant DETSHIM_LOG="$RAW/matmul.$v.log"
done

# shellcheck disable=SC2086 # VARIANTS: one word each
if ! timeout 20 "$PY" "$HERE/summary.py" --variants "$OUT" plain $DEFAULT $VARIANTS \
	2>"$RAW/summary.err"; then
	{
		echo "# cuBLASLt profile variants: summary.py failed ($(tail -1 "$RAW/summary.err"))"
		echo
		echo '```'
		cat "$OUT/env.txt" "$RAW/steps.txt"
		echo '```'
	} >"$OUT/variants.md" 2>&1
fi
echo "$(date -u +%T) done in $(($(date +%s) - T0)) s: $OUT/variants.md"
cat "$OUT/variants.md"
