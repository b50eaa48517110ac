/*
 * abi/cublaslt.h - the few cuBLASLt 13 types and values detshim touches.
 *
 * Mirror of cublasLt.h (CUDA 13.0): the algo and heuristic-result structs
 * are copied by value in cublasLtMatmulAlgoGetHeuristic, so their layout
 * must match exactly (checked by tests/check_abi.sh when the
 * vendor header exists).
 */
#ifndef DS_ABI_CUBLASLT_H
#define DS_ABI_CUBLASLT_H

#include <stddef.h>
#include <stdint.h>

#include "abi/cublas.h"

typedef void *ds_cublaslt_handle;        /* cublasLtHandle_t */
typedef void *ds_cublaslt_matmul_desc;   /* cublasLtMatmulDesc_t */
typedef void *ds_cublaslt_layout;        /* cublasLtMatrixLayout_t */
typedef void *ds_cublaslt_pref;          /* cublasLtMatmulPreference_t */

/* cublasLtMatmulAlgo_t */
struct ds_cublaslt_algo {
	uint64_t data[8];
};

/* cublasLtMatmulHeuristicResult_t */
struct ds_cublaslt_heur_result {
	struct ds_cublaslt_algo algo;
	size_t workspace_size;
	ds_cublas_status state;
	float waves_count;
	int reserved[4];
};

/* cudaDataType_t (library_types.h): the input types the batch-invariant
 * profile treats as tensor-core GEMMs (cublas_rules.h, ds_lt_pins). */
#define DS_CUDA_R_16F 2
#define DS_CUDA_R_16BF 14
#define DS_CUDA_R_8F_E4M3 28
#define DS_CUDA_R_8F_E5M2 29

/* cublasLtReductionScheme_t */
#define DS_CUBLASLT_REDUCTION_SCHEME_NONE 0u
#define DS_CUBLASLT_REDUCTION_SCHEME_INPLACE 1u
#define DS_CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE 2u
#define DS_CUBLASLT_REDUCTION_SCHEME_OUTPUT_TYPE 4u
#define DS_CUBLASLT_REDUCTION_SCHEME_MASK 7u

/* cublasLtMatmulPreferenceAttributes_t */
#define DS_CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES 1  /* uint64_t */
#define DS_CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK 3 /* uint32_t */
#define DS_CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES 5 /* uint32_t */
#define DS_CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES 6 /* uint32_t */
#define DS_CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES 7 /* uint32_t */
#define DS_CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES 8 /* uint32_t */
#define DS_CUBLASLT_MATMUL_PREF_IMPL_MASK 12            /* uint64_t */

/* cublasLtMatmulAlgoConfigAttributes_t */
#define DS_CUBLASLT_ALGO_CONFIG_ID 0                /* int32_t */
#define DS_CUBLASLT_ALGO_CONFIG_TILE_ID 1           /* uint32_t */
#define DS_CUBLASLT_ALGO_CONFIG_SPLITK_NUM 2        /* int32_t */
#define DS_CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME 3  /* uint32_t */
#define DS_CUBLASLT_ALGO_CONFIG_STAGES_ID 6         /* uint32_t */

/* cublasLtMatrixLayoutAttribute_t and cublasLtOrder_t (call hashing) */
#define DS_CUBLASLT_MATRIX_LAYOUT_TYPE 0                 /* uint32_t */
#define DS_CUBLASLT_MATRIX_LAYOUT_ORDER 1                /* int32_t */
#define DS_CUBLASLT_MATRIX_LAYOUT_ROWS 2                 /* uint64_t */
#define DS_CUBLASLT_MATRIX_LAYOUT_COLS 3                 /* uint64_t */
#define DS_CUBLASLT_MATRIX_LAYOUT_LD 4                   /* int64_t */
#define DS_CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT 5          /* int32_t */
#define DS_CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET 6 /* int64_t */
#define DS_CUBLASLT_ORDER_COL 0
#define DS_CUBLASLT_ORDER_ROW 1

/* cublasLtMatmulDescAttributes_t (the batch-invariant profile's shape
 * reads each with the size given; FAST_ACCUM is int8_t, the scale modes
 * exist from CUDA 12.8, and an older library refuses them) */
#define DS_CUBLASLT_MATMUL_DESC_COMPUTE_TYPE 0 /* int32_t */
#define DS_CUBLASLT_MATMUL_DESC_SCALE_TYPE 1             /* int32_t */
#define DS_CUBLASLT_MATMUL_DESC_POINTER_MODE 2           /* int32_t */
#define DS_CUBLASLT_MATMUL_DESC_TRANSA 3                 /* int32_t */
#define DS_CUBLASLT_MATMUL_DESC_TRANSB 4                 /* int32_t */
#define DS_CUBLASLT_MATMUL_DESC_TRANSC 5                 /* int32_t */
#define DS_CUBLASLT_MATMUL_DESC_FILL_MODE 6              /* int32_t */
#define DS_CUBLASLT_MATMUL_DESC_EPILOGUE 7               /* uint32_t */
#define DS_CUBLASLT_MATMUL_DESC_SM_COUNT_TARGET 15       /* int32_t */
#define DS_CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE 22 /* int32_t */
#define DS_CUBLASLT_MATMUL_DESC_FAST_ACCUM 25            /* int8_t */
#define DS_CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE 26        /* int32_t */
#define DS_CUBLASLT_MATMUL_DESC_A_SCALE_MODE 31          /* int32_t */
#define DS_CUBLASLT_MATMUL_DESC_B_SCALE_MODE 32          /* int32_t */
#define DS_CUBLASLT_MATMUL_DESC_C_SCALE_MODE 33          /* int32_t */
#define DS_CUBLASLT_MATMUL_DESC_D_SCALE_MODE 34          /* int32_t */

/* cublasOperation_t */
#define DS_CUBLAS_OP_N 0

/* CUBLASLT_NUMERICAL_IMPL_FLAGS_INPUT_TF32 */
#define DS_CUBLASLT_NUMERICAL_IMPL_FLAGS_INPUT_TF32 (UINT64_C(0x04) << 16)

#endif /* DS_ABI_CUBLASLT_H */
