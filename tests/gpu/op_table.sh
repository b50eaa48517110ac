#!/bin/sh
# tests/gpu/op_table.sh - the table of PyTorch ops that deterministic mode
# refuses (docs/measurements/TORCH_OPS.md), regenerated on a GPU.
#
#   sh tests/gpu/op_table.sh [BUILD] [OUTDIR]
#
# Runs tests/gpu/op_table.py once plain (no shim), once with the program's
# own torch.use_deterministic_algorithms(True) (no shim), and in 3
# processes under the shim (LD_PRELOAD=BUILD/libdetshim.so DETSHIM_SEED=1;
# the first also compares every result with PyTorch's CPU kernel).
# Writes OUTDIR/op_table.md, OUTDIR/list.txt (the refusal list of this
# torch and the probe covering each entry), the JSON of every run and the
# shim logs.
set -u
B=${1:-build}
OUT=${2:-/tmp/detshim-ops}
PY=${PYTHON:-python3}
TOP=$(pwd)
SO=$(cd "$B" && pwd)/libdetshim.so
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
unset LD_PRELOAD DETSHIM_SEED DETSHIM_LOG CUBLAS_WORKSPACE_CONFIG
T=$TOP/tests/gpu/op_table.py
"$PY" "$T" list >"$OUT/list.txt" 2>&1
"$PY" "$T" run "$OUT/plain.json" 2>"$OUT/plain.err"
"$PY" "$T" run "$OUT/fwdet.json" fwdet 2>"$OUT/fwdet.err"
for i in 1 2 3; do
	ref=
	[ "$i" = 1 ] && ref=ref
	env LD_PRELOAD="$SO" DETSHIM_SEED=1 DETSHIM_LOG="$OUT/log$i.jsonl" \
		"$PY" "$T" run "$OUT/detshim$i.json" $ref 2>"$OUT/detshim$i.err"
done
"$PY" "$TOP/tests/gpu/op_table_md.py" "$OUT" >"$OUT/op_table.md"
cat "$OUT/op_table.md"
