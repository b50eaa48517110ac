#!/bin/sh
# tests/check_abi.sh - compare the shim's own ABI declarations
# (cuda_hooks/abi/*.h) with NVIDIA's headers, where those are installed.
#
# The shim builds without CUDA headers, so each value it needs is copied
# into abi/ by hand; this test is what keeps the copies honest.  Every
# "#define DS_<NAME> value" must equal the vendor's <NAME> (an enum value
# or macro), except the names listed in OWN below, which are the shim's
# own (ranges, version thresholds).  The structs the shim lays over
# vendor memory must have the vendor's size and field offsets.  Prints
# "skipped" when the headers are missing (CUDA_INC, default
# /usr/local/cuda/include).
set -eu
INC=${CUDA_INC:-/usr/local/cuda/include}
CC=${CC:-cc}
for h in cuda.h cublas_v2.h cublasLt.h curand.h cudnn.h; do
	if [ ! -f "$INC/$h" ]; then
		echo "check_abi: skipped ($INC/$h not found)"
		exit 0
	fi
done
# Names with no vendor counterpart.
OWN='DS_ABI_|DS_CURAND_RNG_PSEUDO_FIRST|DS_CURAND_RNG_PSEUDO_LAST|DS_CU_MEMALLOC_V2_FROM|DS_CU_GETPROC_V2_FROM|DS_CU_VERSION_|DS_CUDNN_TYPE_MOE_GROUPED_MATMUL_MODE|DS_CUBLASLT_REDUCTION_SCHEME_MASK'
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
names=$(cat cuda_hooks/abi/*.h |
	sed -nE 's/^#define (DS_[A-Z0-9_]+)[ \t]+[^ \t].*/\1/p' |
	grep -vE "^($OWN)" | sort -u)
{
	echo '#include <stddef.h>'
	echo '#include <stdint.h>'
	for h in cuda.h cublas_v2.h cublasLt.h curand.h cudnn.h; do
		echo "#include <$h>"
	done
	for h in cuda_hooks/abi/*.h; do
		echo "#include \"$(pwd)/$h\""
	done
	for n in $names; do
		v=${n#DS_}
		echo "_Static_assert((long long)($n) == (long long)($v), \"$n != $v\");"
	done
	cat <<'C'
#define SAME_LAYOUT(ours, theirs) \
	_Static_assert(sizeof(ours) == sizeof(theirs), #ours " size")
#define SAME_FIELD(ours, a, theirs, b) \
	_Static_assert(offsetof(ours, a) == offsetof(theirs, b) && \
		       sizeof(((ours *)0)->a) == sizeof(((theirs *)0)->b), \
		       #ours "." #a)
SAME_LAYOUT(struct ds_cudnn_algo_perf, cudnnConvolutionFwdAlgoPerf_t);
SAME_LAYOUT(struct ds_cudnn_algo_perf, cudnnConvolutionBwdDataAlgoPerf_t);
SAME_LAYOUT(struct ds_cudnn_algo_perf, cudnnConvolutionBwdFilterAlgoPerf_t);
SAME_FIELD(struct ds_cudnn_algo_perf, algo, cudnnConvolutionFwdAlgoPerf_t, algo);
SAME_FIELD(struct ds_cudnn_algo_perf, status, cudnnConvolutionFwdAlgoPerf_t, status);
SAME_FIELD(struct ds_cudnn_algo_perf, time, cudnnConvolutionFwdAlgoPerf_t, time);
SAME_FIELD(struct ds_cudnn_algo_perf, memory, cudnnConvolutionFwdAlgoPerf_t, memory);
SAME_FIELD(struct ds_cudnn_algo_perf, determinism, cudnnConvolutionFwdAlgoPerf_t, determinism);
SAME_FIELD(struct ds_cudnn_algo_perf, math_type, cudnnConvolutionFwdAlgoPerf_t, mathType);
SAME_LAYOUT(struct ds_cublaslt_algo, cublasLtMatmulAlgo_t);
SAME_LAYOUT(struct ds_cublaslt_heur_result, cublasLtMatmulHeuristicResult_t);
SAME_FIELD(struct ds_cublaslt_heur_result, algo, cublasLtMatmulHeuristicResult_t, algo);
SAME_FIELD(struct ds_cublaslt_heur_result, workspace_size, cublasLtMatmulHeuristicResult_t, workspaceSize);
SAME_FIELD(struct ds_cublaslt_heur_result, state, cublasLtMatmulHeuristicResult_t, state);
SAME_FIELD(struct ds_cublaslt_heur_result, waves_count, cublasLtMatmulHeuristicResult_t, wavesCount);
int main(void) { return 0; }
C
} >"$tmp/abi.c"
if ! $CC -std=gnu11 -fsyntax-only -I"$INC" -Icuda_hooks "$tmp/abi.c" 2>"$tmp/err"; then
	grep -E 'error' "$tmp/err" | sed 's/^.*error: /check_abi: /' | head -40
	echo "check_abi: FAILED: cuda_hooks/abi/ differs from the headers in $INC"
	exit 1
fi
ver=$(sed -nE 's/^#define CUDNN_(MAJOR|MINOR|PATCHLEVEL)[ \t]+([0-9]+).*/\2/p' \
	"$INC/cudnn_version.h" 2>/dev/null | paste -sd. -)
echo "check_abi: $(echo "$names" | wc -l) values and 3 struct layouts match the headers in $INC (cuDNN ${ver:-?})"
