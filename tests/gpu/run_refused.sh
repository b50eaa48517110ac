#!/bin/sh
# tests/gpu/run_refused.sh - the workloads built on ops PyTorch's
# deterministic mode refuses (tests/gpu/frameworks/refused_train.py), the
# rows "refused ops" of docs/measurements/REPRODUCIBILITY.md.
#
#   sh tests/gpu/run_refused.sh [BUILD] [OUTDIR]
#
# Each row RUNS (3) processes per variant: plain, torchdet (the program's
# own torch.use_deterministic_algorithms(True)), detshim
# (LD_PRELOAD=BUILD/libdetshim.so DETSHIM_SEED=1); PAR (6) at a time, each
# torch.compile run with a fresh Inductor cache.  Then one timing run per
# row of plain, of detshim and of the shim without its Python module
# (norepl: DETSHIM_PYTHON_STARTUP=0 DETSHIM_CUBLAS_WORKSPACE=0, so no op is
# replaced), alone (TIMING=0 skips them).  Writes
# OUTDIR/refused.md and OUTDIR/runs/*; SUMMARY_ONLY=1 only rewrites the
# table from the runs already in OUTDIR, TIMING_ONLY=1 adds the timing
# runs of ROWS to them.
set -u
B=${1:-build}
OUT=${2:-/tmp/detshim-refused}
RUNS=${RUNS:-3}
PAR=${PAR:-6}
STEPS=${STEPS:-10}
PY=${PYTHON:-python3}
TOP=$(pwd)
SO=$(cd "$B" && pwd)/libdetshim.so
W=$TOP/tests/gpu/frameworks/refused_train.py
ROWS=${ROWS:-"seg video ctc stn metrics seg:compile stn:compile"}
mkdir -p "$OUT/runs"
OUT=$(cd "$OUT" && pwd)
unset LD_PRELOAD DETSHIM_SEED DETSHIM_LOG CUBLAS_WORKSPACE_CONFIG TORCHINDUCTOR_CACHE_DIR
export PYTHONUNBUFFERED=1

# one ROW VARIANT TAG: one process, its output in runs/
one() {
	wl=${1%%:*} c=
	[ "$1" != "$wl" ] && c=compile
	v=$2 m=default
	[ "$v" = torchdet ] && m=torchdet
	f=$OUT/runs/$wl$c-$v-$3
	set -- X=1
	[ "$v" = detshim ] && set -- LD_PRELOAD="$SO" DETSHIM_SEED=1 DETSHIM_LOG="$f.jsonl"
	# the shim without the Python module: no op replaced (the refused
	# ops run natively) and no CUBLAS_WORKSPACE_CONFIG pin, so the
	# timing splits the step's cost between the replacements and the
	# rest of the shim's choices
	[ "$v" = norepl ] && set -- LD_PRELOAD="$SO" DETSHIM_SEED=1 \
		DETSHIM_PYTHON_STARTUP=0 DETSHIM_CUBLAS_WORKSPACE=0
	env "$@" TORCHINDUCTOR_CACHE_DIR="$f.inductor" timeout 240 \
		"$PY" "$W" "$wl" "$m" "$STEPS" $c >"$f.out" 2>"$f.err"
	rm -rf "$f.inductor"
}
jobs=0
[ "${SUMMARY_ONLY:-0}" = 1 ] && RUNS_DONE=1
[ "${TIMING_ONLY:-0}" = 1 ] && RUNS_DONE=1 && for r in $ROWS; do
	one "$r" plain t
	one "$r" detshim t
	one "$r" norepl t
done
[ -n "${RUNS_DONE:-}" ] || for r in $ROWS; do
	for v in plain torchdet detshim; do
		i=1
		while [ "$i" -le "$RUNS" ]; do
			one "$r" "$v" "$i" &
			jobs=$((jobs + 1))
			[ "$jobs" -ge "$PAR" ] && { wait; jobs=0; }
			i=$((i + 1))
		done
	done
done
wait
if [ "${TIMING:-1}" = 1 ] && [ -z "${RUNS_DONE:-}" ]; then
	for r in $ROWS; do
		one "$r" plain t
		one "$r" detshim t
		one "$r" norepl t
	done
fi

# distinct ROW VARIANT: distinct results, or "raises"
distinct() {
	n=$(cat "$OUT"/runs/"$1"-"$2"-[0-9]*.out 2>/dev/null | awk '$1 == "RESULT" { print $3 }' | sort -u | wc -l)
	runs=$(grep -l '^RESULT' "$OUT"/runs/"$1"-"$2"-[0-9]*.out 2>/dev/null | wc -l)
	if [ "$runs" -lt "$RUNS" ]; then
		e=$(grep -h -m1 -E 'Error|error' "$OUT"/runs/"$1"-"$2"-[0-9]*.err 2>/dev/null | head -1 | cut -c1-70)
		echo "raises ($((RUNS - runs)) of $RUNS): ${e:-no result}"
	else
		echo "$n"
	fi
}
ms() { awk '$1 == "STEP_MS" { print $2 }' "$OUT/runs/$1-$2-t.out" 2>/dev/null; }
{
	echo "| workload | plain | PyTorch deterministic mode | detshim | step ms plain | step ms detshim | ratio | step ms, shim without replacements | its ratio |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
	for r in $ROWS; do
		n=$(echo "$r" | tr -d :)
		a=$(ms "$n" plain) b=$(ms "$n" detshim) c=$(ms "$n" norepl)
		ratio=$(awk -v a="${a:-0}" -v b="${b:-0}" 'BEGIN { if (a > 0 && b > 0) printf "%.2f×", b / a; else print "—" }')
		ratio2=$(awk -v a="${a:-0}" -v b="${c:-0}" 'BEGIN { if (a > 0 && b > 0) printf "%.2f×", b / a; else print "—" }')
		echo "| $r | $(distinct "$n" plain) | $(distinct "$n" torchdet) | $(distinct "$n" detshim) | ${a:-—} | ${b:-—} | $ratio | ${c:-—} | $ratio2 |"
	done
	echo
	echo "distinct = distinct results of $RUNS processes; $STEPS timed steps per run"
	echo "unfixed ops logged under detshim: $(cat "$OUT"/runs/*-detshim-*.jsonl 2>/dev/null | grep '"action":"unfixed"' | sed 's/.*"call":"\([^"]*\)".*/\1/' | sort -u | tr '\n' ' ')"
} >"$OUT/refused.md"
cat "$OUT/refused.md"
