#!/bin/sh
# it_gpu_scripts.sh - the parts of the 4-GPU scripts a CPU can check.
#
#   sh tests/it_gpu_scripts.sh BUILD_DIR
#
# tests/gpu/nccl4/run.sh needs four GPUs; here: its Python parses, the
# collectives' plan (--dry-run, no torch needed), the launches run.sh
# would make (DRY=1), bad input refused, and summarize.py's counts on a
# small output folder written here.  A real run without a GPU (gloo, four
# processes, about 20 s a launch here, so not part of make check):
#   CPU=1 VARIANTS="plain detshim" RUNS=2 sh tests/gpu/nccl4/run.sh build /tmp/n4
# Prints "gpu scripts: N passed, M failed" last.
B=${1:-build}
PY=${PYTHON:-python3}
W=$(mktemp -d "${TMPDIR:-/tmp}/it_gpu_scripts.XXXXXX")
trap 'rm -rf "$W"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; sed 's/^/     | /' "$W/err" 2>/dev/null | head -10; }
check() { # check NAME CONDITION-COMMAND...
	_what=$1
	shift
	if "$@"; then ok "$_what"; else bad "$_what"; fi
}
if ! "$PY" -c 'import ast' 2>/dev/null; then
	echo "skip it_gpu_scripts.sh ($PY not found)"
	echo "gpu scripts: 0 passed, 0 failed"
	exit 0
fi

for f in tests/gpu/nccl4/collectives.py tests/gpu/nccl4/summarize.py \
	tests/gpu/ddp_train.py tests/gpu/frameworks/gpt_train.py; do
	check "$f parses" "$PY" -c 'import ast, sys; ast.parse(open(sys.argv[1]).read())' "$f"
done
for f in tests/gpu/nccl4/run.sh tests/gpu/run_ddp.sh; do
	check "$f parses (sh -n)" sh -n "$f"
done

"$PY" tests/gpu/nccl4/collectives.py --dry-run >"$W/plan" 2>"$W/err"
check "collectives plan: 4 ops x 2 dtypes, 11 sizes from 1 KiB to 1 GiB" \
	"$PY" -c '
import sys
rows = [l.split() for l in open(sys.argv[1])]
assert len(rows) == 8, len(rows)
assert {(r[1], r[2]) for r in rows} == {(o, d) for o in ("all_reduce", "reduce_scatter", "all_gather", "reduce") for d in ("fp32", "bf16")}
for r in rows:
    s = [int(x) for x in r[3:]]
    assert s[0] == 1024 and s[-1] == 1 << 30 and len(s) == 11, s
' "$W/plan"
"$PY" tests/gpu/nccl4/collectives.py --dry-run --ops all_reduce,alltoall >/dev/null 2>"$W/err"
check "collectives: an unknown op is refused (exit 2)" [ $? -eq 2 ]

DRY=1 RUNS=5 sh tests/gpu/nccl4/run.sh "$B" "$W/dry" >"$W/launches" 2>"$W/err"
n=$(grep -c 'collectives.py' "$W/launches")
check "run.sh plans 8 variants x 5 runs of collectives.py ($n)" [ "$n" -eq 40 ]
check "run.sh: the detshim launches preload $B/libdetshim.so, the plain ones set no NCCL variable" \
	sh -c "[ \$(grep -c 'LD_PRELOAD=.*$B/libdetshim.so DETSHIM_SEED=42' '$W/launches') -eq 5 ] &&
		[ \$(grep -c '^env  torchrun' '$W/launches') -eq 5 ]"
check "run.sh plans the training phase on 4 GPUs: ResNet-18 and GPT with DDP, GPT with FSDP2" \
	grep -q 'NPROC=4 WORKLOADS="resnet18:ddp gpt:ddp gpt:fsdp2"' "$W/launches"
VARIANTS=fast DRY=1 sh tests/gpu/nccl4/run.sh "$B" "$W/dry" >/dev/null 2>"$W/err"
check "run.sh: an unknown variant is refused (exit 2, named)" \
	sh -c "[ $? -eq 2 ] && grep -q \"unknown variant 'fast'\" '$W/err'"

# summarize.py on two runs of two variants: plain differs in one row (and
# its ranks disagree once), detshim does not.
mkdir -p "$W/o/coll/plain" "$W/o/coll/detshim" "$W/o/train"
h() { printf '%032x' "$1"; }
for r in 1 2; do
	{
		echo "INFO world_size 2"
		echo "INFO env NCCL_NVLS_ENABLE=0"
		echo "SEED rank0 1$r"
		echo "SEED rank1 2$r"
		echo "RESULT all_reduce fp32 1024 rank0 $(h 1)"
		echo "RESULT all_reduce fp32 1024 rank1 $(h 1)"
		echo "RESULT all_reduce fp32 4096 rank0 $(h $((10 + r)))"
		echo "RESULT all_reduce fp32 4096 rank1 $(h $((10 + r * r)))"
		echo "BW all_reduce fp32 4096 10.0 1.0 2.0"
	} >"$W/o/coll/plain/$r.out"
	{
		echo "INFO env NCCL_NVLS_ENABLE=0"
		echo "INFO env NCCL_ALGO=Ring"
		echo "SEED rank0 7"
		echo "SEED rank1 8"
		echo "RESULT all_reduce fp32 1024 rank0 $(h 2)"
		echo "RESULT all_reduce fp32 1024 rank1 $(h 2)"
		echo "RESULT all_reduce fp32 4096 rank0 $(h 3)"
		echo "RESULT all_reduce fp32 4096 rank1 $(h 3)"
		echo "BW all_reduce fp32 4096 10.0 1.0 1.5"
	} >"$W/o/coll/detshim/$r.out"
	printf 'rank0 %016x\nrank1 %016x\nrank0 step_ms 10\nrank1 step_ms 10\n' "$r" "$r" >"$W/o/train/out_ddp_gpt_without_$r.txt"
	printf 'rank0 %016x\nrank1 %016x\nrank0 step_ms 12\nrank1 step_ms 12\n' 5 5 >"$W/o/train/out_ddp_gpt_with_$r.txt"
done
"$PY" tests/gpu/nccl4/summarize.py "$W/o" >"$W/table" 2>"$W/err"
check "summarize: plain 1 of 2 rows reproducible, ranks disagreed, 2 draws per rank" \
	grep -q '^| plain | none | 1/2 | all_reduce fp32 4 KiB | \*\*no\*\* | 2/2 | 1.000 |' "$W/table"
check "summarize: detshim 2/2 rows, ranks agreed, 1 draw per rank, busbw 0.75 of plain, its pin named" \
	grep -q '^| detshim | `NCCL_ALGO=Ring` | 2/2 | — | yes | 1/1 | 0.750 |' "$W/table"
check "summarize: training row: 2/2 without, 1/2 with, every rank the same, ratio 1.20" \
	grep -q '^| ddp_gpt | 2 | 2/2 | 1/2 | yes | 10.00 | 12.00 | 1.20 |' "$W/table"

echo "gpu scripts: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
