#!/bin/sh
# it_frameworks.sh - framework pins seen by a child process (no GPU needed).
#
#   sh tests/it_frameworks.sh BUILD_DIR
#
# A shell child prints the variables the frameworks read at start-up:
# XLA_FLAGS (JAX/XLA), TF_DETERMINISTIC_OPS and TF_CUDNN_DETERMINISTIC
# (TensorFlow, docs/GPU_FACTS.md §8.2), NVTE_ALLOW_NONDETERMINISTIC_ALGO
# (Transformer Engine), and under DETSHIM_ALGO_CACHE the cache locations
# of XLA, TorchInductor and Triton.  Checks the rules of the pin table
# (shim/pins.c): append to the user's XLA_FLAGS and keep theirs; a
# contrary flag is overridden and logged under enforce, only logged under
# warn; nothing under off; no second append in a grandchild.  The
# frameworks themselves are exercised on the GPU by tests/gpu/run.sh.
# Prints "frameworks: N passed, M failed" last.
B=${1:-build}
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
SO=$B/libdetshim.so
W=$(mktemp -d "${TMPDIR:-/tmp}/it_frameworks.XXXXXX")
trap 'rm -rf "$W"' EXIT
unset DETSHIM_SEED DETSHIM_CONFIG DETSHIM_LOG DETSHIM_POLICY DETSHIM_ALGO_CACHE \
	DETSHIM_LINEAGE DETSHIM_ENV_PINS LD_PRELOAD XLA_FLAGS TF_DETERMINISTIC_OPS \
	TF_CUDNN_DETERMINISTIC NVTE_ALLOW_NONDETERMINISTIC_ALGO \
	TORCHINDUCTOR_CACHE_DIR TRITON_CACHE_DIR TRITON_CACHE_AUTOTUNING
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; sed 's/^/     | /' "$W/out" | head -10; }
if [ "${SANITIZE:-}" = asan ]; then
	echo "skip it_frameworks.sh under SANITIZE=asan (ASan shim in uninstrumented sh)"
	echo "frameworks: 0 passed, 0 failed"
	exit 0
fi
[ -f "$SO" ] || { echo "it_frameworks: $SO missing"; echo "frameworks: 0 passed, 1 failed"; exit 1; }

PRINT='printf "%s|%s|%s|%s|%s|%s|%s\n" "$XLA_FLAGS" "$TF_DETERMINISTIC_OPS" "$TF_CUDNN_DETERMINISTIC" "$NVTE_ALLOW_NONDETERMINISTIC_ALGO" "$TORCHINDUCTOR_CACHE_DIR" "$TRITON_CACHE_DIR" "$TRITON_CACHE_AUTOTUNING"'
# run ENV...: the child's line in $W/out, the shim log in $W/log
run() {
	rm -f "$W/log"
	env "$@" LD_PRELOAD="$SO" DETSHIM_LOG="$W/log" sh -c "$PRINT" >"$W/out" 2>"$W/err"
}
# expect NAME LINE: the child printed exactly LINE
expect() {
	if [ "$(cat "$W/out")" = "$2" ]; then ok "$1"; else bad "$1 (want: $2)"; fi
}
# logged NAME ACTION PATTERN: the log has a record with that action
logged() {
	if grep -q "\"action\":\"$2\".*$3" "$W/log" 2>/dev/null; then ok "$1"
	else bad "$1 (no $2 record /$3/ in the log)"; cat "$W/log" >>"$W/out" 2>/dev/null; fi
}

# no shim: the contrast (the child sees nothing of ours)
env sh -c "$PRINT" >"$W/out"
expect "without the shim the child sees no pins" "||||||"

run
expect "XLA, TensorFlow and Transformer Engine variables set" \
	"--xla_gpu_deterministic_ops=true|1|1|0|||"
logged "the XLA pin is logged" pinned "XLA_FLAGS += --xla_gpu_deterministic_ops=true"

run XLA_FLAGS="--xla_dump_to=/tmp/x --xla_gpu_autotune_level=2"
expect "the user's XLA flags are kept, ours appended" \
	"--xla_dump_to=/tmp/x --xla_gpu_autotune_level=2 --xla_gpu_deterministic_ops=true|1|1|0|||"

run XLA_FLAGS="--xla_gpu_deterministic_ops=true --xla_dump_to=/tmp/x"
expect "a user flag equal to ours is not appended twice" \
	"--xla_gpu_deterministic_ops=true --xla_dump_to=/tmp/x|1|1|0|||"
logged "... and logged as kept" kept "already holds"

run XLA_FLAGS="--xla_gpu_deterministic_ops=false"
expect "enforce: a contrary flag is overridden (ours last wins)" \
	"--xla_gpu_deterministic_ops=false --xla_gpu_deterministic_ops=true|1|1|0|||"
logged "... and logged as overridden" overridden "xla_gpu_deterministic_ops=true"

run DETSHIM_POLICY=warn XLA_FLAGS="--xla_gpu_deterministic_ops=false"
expect "warn: a contrary flag is left as it is, nothing is set" \
	"--xla_gpu_deterministic_ops=false||||||"
logged "... and logged as would-pin over a contrary flag" would-pin "over a contrary flag"

run DETSHIM_POLICY=off XLA_FLAGS="--xla_gpu_deterministic_ops=false"
expect "off: nothing set or changed" "--xla_gpu_deterministic_ops=false||||||"

run TF_DETERMINISTIC_OPS=0 NVTE_ALLOW_NONDETERMINISTIC_ALGO=1
expect "a user's own TF / TE values are kept" \
	"--xla_gpu_deterministic_ops=true|0|1|1|||"
logged "... and logged as kept" kept "TF_DETERMINISTIC_OPS=0 already set"

# a grandchild (exec chain: the shim is loaded again) appends nothing more
rm -f "$W/log"
env LD_PRELOAD="$SO" DETSHIM_LOG="$W/log" sh -c "sh -c '$PRINT'" >"$W/out" 2>"$W/err"
expect "a grandchild sees one copy of each flag" \
	"--xla_gpu_deterministic_ops=true|1|1|0|||"

# pinning cache: the frameworks' autotune results live beside it
C=$W/pin/cache.txt
mkdir -p "$W/pin"
run DETSHIM_ALGO_CACHE="$C"
expect "cache: XLA excludes nondeterministic ops and persists autotuning; Inductor and Triton caches beside it" \
	"--xla_gpu_exclude_nondeterministic_ops=true --xla_gpu_per_fusion_autotune_cache_dir=$C.xla|1|1|0|$C.inductor|$C.triton|1"
if [ -d "$C.xla" ]; then ok "cache: the XLA cache directory is created"; else bad "cache: $C.xla not created"; fi

run DETSHIM_ALGO_CACHE="$C" TORCHINDUCTOR_CACHE_DIR=/tmp/mine XLA_FLAGS=--xla_gpu_autotune_level=0
expect "cache: the user's Inductor cache and XLA flags are kept" \
	"--xla_gpu_autotune_level=0 --xla_gpu_exclude_nondeterministic_ops=true --xla_gpu_per_fusion_autotune_cache_dir=$C.xla|1|1|0|/tmp/mine|$C.triton|1"

rm -f "$W/log"
env LD_PRELOAD="$SO" DETSHIM_LOG="$W/log" DETSHIM_ALGO_CACHE="$C" sh -c "sh -c '$PRINT'" >"$W/out" 2>"$W/err"
expect "cache: a grandchild sees one copy of each flag" \
	"--xla_gpu_exclude_nondeterministic_ops=true --xla_gpu_per_fusion_autotune_cache_dir=$C.xla|1|1|0|$C.inductor|$C.triton|1"

echo "frameworks: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
