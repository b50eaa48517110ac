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

# ---- tests/gpu/batch_invariant/ (batch invariance on one GPU) ----------
BI=tests/gpu/batch_invariant
for f in "$BI"/harness.py "$BI"/matmul.py "$BI"/ops.py "$BI"/generate.py \
	"$BI"/summary.py "$BI"/fake_hf/transformers/__init__.py; do
	check "$f parses" "$PY" -c 'import ast, sys; ast.parse(open(sys.argv[1]).read())' "$f"
done
check "$BI/run.sh parses (sh -n)" sh -n "$BI/run.sh"
check "$BI/variants.sh parses (sh -n)" sh -n "$BI/variants.sh"

# variants.sh with one variant (one build of the shim, about 20 s here)
# and a stand-in for matmul.py (its rows, the preload it ran under; the
# shim loaded into the stand-in writes its log): the build flags reach
# the variant's build, each run preloads its own, variants.md has the
# tables side by side.
if [ "${SANITIZE:-}" = asan ]; then
	echo "skip the variants.sh smoke under SANITIZE=asan"
else
	cat >"$W/vpy" <<'PYW'
#!/bin/sh
case "$1" in
*matmul.py) ;;
*) exec python3 "$@" ;;
esac
shift
while [ $# -gt 0 ]; do
	case $1 in --config) c=$2 ;; --out) o=$2 ;; esac
	shift
done
{
	echo "{\"kind\": \"setup\", \"preload\": \"${LD_PRELOAD:-}\", \"profile\": \"${DETSHIM_PROFILE:-}\"}"
	echo '{"kind": "bitwise", "dtype": "bf16", "N": 64, "K": 96, "layout": "linear", "checked": [1, 2, 8], "differ": []}'
	if [ "$c" = plain ]; then us=10.0; d='[2, 8]'; else us=15.0; d='[]'; fi
	echo "{\"kind\": \"bitwise\", \"dtype\": \"fp32\", \"N\": 64, \"K\": 96, \"layout\": \"linear\", \"checked\": [1, 2, 8], \"differ\": $d}"
	echo "{\"kind\": \"time\", \"dtype\": \"bf16\", \"N\": 64, \"K\": 96, \"M\": 1, \"us\": $us}"
	echo '{"kind": "done"}'
} >>"$o"
PYW
	chmod +x "$W/vpy"
	DEVICE=cpu PYTHON=$W/vpy VARIANTS=half16 JOBS=2 \
		sh "$BI/variants.sh" "$B" "$W/lv" >"$W/out" 2>"$W/err"
	rc=$?
	V=$W/lv/variants.md
	check "variants.sh: exits 0; the build had the variant's flags and the profile's python/" \
		sh -c "[ $rc -eq 0 ] && [ \"\$(cat '$B/lt-variants/half16/extra_cflags')\" = '-DDS_LT_PIN_HALF=0 -DDS_LT_REP_N=16' ] &&
			grep -qE '^build half16 0 [0-9]+ -DDS_LT_PIN_HALF=0 -DDS_LT_REP_N=16$' '$W/lv/raw/steps.txt' &&
			[ -f '$B/lt-variants/half16/python/.compiled' ]"
	check "variants.sh: plain without the shim, half16 under its own build with the profile (its log written)" \
		sh -c "grep -q '\"preload\": \"\", \"profile\": \"\"' '$W/lv/raw/matmul.plain.jsonl' &&
			grep -q '\"preload\": \"[^\"]*/lt-variants/half16/libdetshim.so\", \"profile\": \"batch-invariant\"' '$W/lv/raw/matmul.half16.jsonl' &&
			grep -q '\"action\":\"config\"' '$W/lv/raw/matmul.half16.log'"
	check "variants.sh: variants.md side by side: fp32 from M=2 plain, invariant half16; 10.0 / 15.0 µs, 1.50×" \
		sh -c "grep -qF '| fp32 | 64 × 96 | linear | from M=2 (2 of 3 M) | **invariant** (3 M) |' '$V' &&
			grep -qF '| bf16 | 64 × 96 | 1 | 10.0 | 15.0 | 1.50× |' '$V' &&
			grep -qE '^\| matmul \| half16 \| 0 \| [0-9]+ \| 5 \| yes \|' '$V'"
	VARIANTS=v8 sh "$BI/variants.sh" "$B" "$W/lv2" >"$W/out" 2>"$W/err"
	check "variants.sh: an unknown variant is refused (exit 2)" [ $? -eq 2 ]
fi

# summary.py on rows written here (no torch): the cells of each table.
mkdir -p "$W/bs/raw"
cat >"$W/bs/raw/matmul.plain.jsonl" <<'ROWS'
{"kind": "setup", "torch": "9.9", "cuda": "12.9", "cudnn": 1, "gpu": "G", "profile": "no shim"}
{"kind": "bitwise", "dtype": "bf16", "N": 4096, "K": 4096, "layout": "linear", "checked": [1, 2, 64, 128], "differ": [64, 128], "first": "M=64: x"}
{"kind": "time", "dtype": "bf16", "N": 4096, "K": 4096, "M": 8, "us": 32.0}
{"kind": "done"}
ROWS
cat >"$W/bs/raw/matmul.profile.jsonl" <<'ROWS'
{"kind": "bitwise", "dtype": "bf16", "N": 4096, "K": 4096, "layout": "linear", "checked": [1, 2, 64, 128], "differ": [], "first": null}
{"kind": "time", "dtype": "bf16", "N": 4096, "K": 4096, "M": 8, "us": 64.0}
ROWS
printf '{"kind": "time", "dtype": "bf16", "N": 4096, "K"' >"$W/bs/raw/matmul.wsonly.jsonl" # cut by a kill
cat >"$W/bs/raw/ops.plain.jsonl" <<'ROWS'
{"kind": "op", "op": "softmax", "dtype": "bf16", "shape": "[B, 4096]", "backend": "-", "batches": [8, 32], "differ": {"32": "3 of 4096 differ"}}
{"kind": "op", "op": "sdpa", "dtype": "bf16", "shape": "q", "backend": "flash", "batches": [8, 32], "differ": {}}
ROWS
cat >"$W/bs/raw/ops.profile.jsonl" <<'ROWS'
{"kind": "op", "op": "softmax", "dtype": "bf16", "shape": "[B, 4096]", "backend": "-", "batches": [8, 32], "differ": {}}
{"kind": "error", "what": "sdpa flash q", "op": "sdpa", "dtype": "bf16", "shape": "q", "backend": "flash", "error": "RuntimeError: no kernel"}
ROWS
cat >"$W/bs/raw/generate.plain.jsonl" <<'ROWS'
{"kind": "hf_model", "transformers": "5.0", "attn": "sdpa", "layers": 12, "width": 768, "vocab": 50257, "prompt": 32, "new": 64}
{"kind": "hf", "B": 8, "new": 64, "tokens_differ": 42, "first_token": 22, "source": "logits", "steps": 64, "steps_differ": 40, "first_step": 22, "first": "step 22: y"}
{"kind": "stack", "B": 8, "layers": 6, "layers_differ": [2, 3], "first": "block 2: z", "logits": "5 differ"}
{"kind": "cost", "what": "generate B=8, 64 tokens", "B": 8, "s": 1.0}
ROWS
cat >"$W/bs/raw/generate.profile.jsonl" <<'ROWS'
{"kind": "hf", "B": 8, "new": 64, "tokens_differ": 0, "first_token": null, "source": "logits", "steps": 64, "steps_differ": 0, "first_step": null, "first": null}
{"kind": "stack", "B": 8, "layers": 6, "layers_differ": [], "first": null, "logits": null}
{"kind": "cost", "what": "generate B=8, 64 tokens", "B": 8, "s": 1.2}
{"kind": "done"}
ROWS
printf 'matmul plain 0 5.0\nmatmul wsonly 124 30.0 timed out after 30 s\n' >"$W/bs/raw/steps.txt"
"$PY" "$BI/summary.py" "$W/bs" 2>"$W/err"
S=$W/bs/summary.md
check "summary: GEMM row: plain from M=64, the profile invariant, wsonly (a cut line) a dash" \
	grep -qF '| bf16 | 4096 × 4096 | linear | from M=64 (2 of 4 M) | **invariant** (4 M) | — |' "$S"
check "summary: GEMM time 32.0 / 64.0 µs, ratio 2.00×" \
	grep -qF '| bf16 | 4096 × 4096 | 8 | 32.0 | 64.0 | 2.00× | — | — |' "$S"
check "summary: ops: a differing B named, an error cell kept in its row" \
	sh -c "grep -qF '| softmax | bf16 | [B, 4096] | - | 8, 32 | differs at B=32 (B=32: 3 of 4096 differ) | **equal** |' '$S' &&
		grep -qF '| sdpa | bf16 | q | flash | 8, 32 | **equal** | error: RuntimeError: no kernel |' '$S'"
check "summary: HF generate: 42 tokens from 22 and 40 steps from 22 (plain), equal (profile)" \
	grep -qF '| 8 | 42 of 64 differ, from position 22 | 40 of 64 steps differ, from step 22 | **equal** | **bitwise equal** (64 steps) |' "$S"
check "summary: the hand-written stack and the cost ratio 1.20×" \
	sh -c "grep -qF '| 8 | blocks from 2 differ; logits differ | **equal** (6 blocks, logits) |' '$S' &&
		grep -qF '| generate B=8, 64 tokens | 1000.0 | 1200.0 | 1.20× |' '$S'"
check "summary: the steps, a timed-out one marked unfinished; the versions line" \
	sh -c "grep -qF '| matmul | wsonly | 124 | 30.0 | 0 | **no** | timed out after 30 s |' '$S' &&
		grep -qF 'torch 9.9, CUDA 12.9, cuDNN 1, G, transformers 5.0' '$S'"

# The CPU smoke (DEVICE=cpu: tiny sizes), with Debian's torch, under the
# shim built here: four of run.sh's seven steps (about 15 s; all seven:
# DEVICE=cpu PYTHON=/usr/bin/python3 sh tests/gpu/batch_invariant/run.sh
# build /tmp/bi), the ops step of the profile failing on purpose before
# Python starts.  Without transformers, the stand-in of fake_hf/.
SYSPY=/usr/bin/python3
if [ "${SANITIZE:-}" = asan ]; then
	echo "skip the batch_invariant smoke under SANITIZE=asan"
elif [ -x "$SYSPY" ] && "$SYSPY" -c 'import torch' 2>/dev/null; then
	hfp=
	"$SYSPY" -c 'import transformers' 2>/dev/null || hfp=$(pwd)/$BI/fake_hf
	cat >"$W/py" <<PYW
#!/bin/sh
case "\$*" in *ops.py\ --config\ profile*) echo "planted failure" >&2; exit 7 ;; esac
if [ -n "\${REFUSE:-}" ] && [ -n "\${DETSHIM_PROFILE:-}" ]; then
	echo "detshim: DETSHIM_PROFILE: planted refusal" >&2
	exit 2
fi
PYTHONPATH=$hfp exec $SYSPY "\$@"
PYW
	chmod +x "$W/py"
	DEVICE=cpu PYTHON=$W/py PLAN="generate:profile ops:plain ops:profile matmul:wsonly" \
		sh "$BI/run.sh" "$B" "$W/bi" >"$W/out" 2>"$W/err"
	rc=$?
	S=$W/bi/summary.md
	check "smoke: run.sh exits 0 and writes summary.md with its three tables" \
		sh -c "[ $rc -eq 0 ] && grep -q '^## 1. GEMM' '$S' && grep -q '^## 2. Ops' '$S' && grep -q '^## 3. A whole model' '$S'"
	check "smoke: the failing step is named (rc 7), the three others finished" \
		sh -c "grep -qE '^\| ops \| profile \| 7 \| .*failed: planted failure' '$S' &&
			[ \$(grep -cE '^\| (generate \| profile|ops \| plain|matmul \| wsonly) \| 0 \| .* \| yes \|' '$S') -eq 3 ]"
	check "smoke: wsonly GEMM rows for bf16 and fp32, each invariant or from an M" \
		sh -c "[ \$(grep -cE '^\| (bf16|fp32) \| [0-9]+ × [0-9]+ \| (linear|matmul) \| — \| — \| (\*\*invariant\*\*|from M=)' '$S') -eq 8 ]"
	check "smoke: ops: every plain cell measured, every profile cell a dash (its step failed)" \
		sh -c "[ \$(grep -cE '^\| (softmax|log_softmax|sum|mean|layer_norm|rms_norm|sdpa) \| .* \| (\*\*equal\*\*|differs at B=[^|]*|error: [^|]*) \| — \|$' '$S') -ge 20 ]"
	check "smoke: generate under the profile: HF rows B=2 and 8, the stack rows" \
		sh -c "[ \$(grep -cE '^\| [28] \| — \| — \| (\*\*equal\*\*|[0-9]+ of)' '$S') -eq 2 ] &&
			[ \$(grep -cE '^\| [28] \| — \| (\*\*equal\*\*|blocks from)' '$S') -eq 2 ]"
	check "smoke: the profile ran under the shim (its log in raw/generate.log), wsonly set its switches" \
		sh -c "grep -q '\"call\":\"init\",\"action\":\"config\"' '$W/bi/raw/generate.log' &&
			grep -q '\"allow_fp16_reduced_precision_reduction=' '$W/bi/raw/matmul.wsonly.jsonl' &&
			grep -qE '^Profile: (batch-invariant|DETSHIM_PROFILE=batch-invariant set, but)' '$S'"
	REFUSE=1 DEVICE=cpu PYTHON=$W/py PLAN=" " sh "$BI/run.sh" "$B" "$W/bi2" >"$W/out" 2>"$W/err"
	check "smoke: a shim that refuses DETSHIM_PROFILE: the profile runs without it, said so" \
		sh -c "[ $? -eq 0 ] && grep -q '^Profile: the shim refused DETSHIM_PROFILE=batch-invariant (exit 2: detshim: DETSHIM_PROFILE: planted refusal)' '$W/bi2/summary.md'"
else
	echo "skip the batch_invariant smoke ($SYSPY without torch: apt-get install python3-torch)"
fi

echo "gpu scripts: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
