/*
 * abi/cudnn.h - the project's own minimal mirror of the cuDNN 9 ABI.
 *
 * Only the types, enum values and signatures the cuDNN hooks touch, so
 * that the shim builds without vendor headers (docs/DESIGN.md §2.3).
 * Values were read from cudnn_graph_v9.h, cudnn_ops_v9.h, cudnn_cnn_v9.h
 * and cudnn_adv_v9.h of cuDNN 9.19 (docs/GPU_FACTS.md §1-§2);
 * tests/check_abi.sh compares them with the vendor headers where those
 * are installed (docs/DESIGN.md §8.14).  Everything
 * is an int-sized enum in the real ABI, so plain ints and #defines are
 * used here.
 */
#ifndef DS_ABI_CUDNN_H
#define DS_ABI_CUDNN_H

#include <stddef.h>
#include <stdint.h>

typedef int ds_cudnn_status;
typedef void *ds_cudnn_handle;
typedef void *ds_cudnn_desc;       /* cudnnBackendDescriptor_t */
typedef void *ds_cudnn_tensor;     /* cudnnTensorDescriptor_t */
typedef void *ds_cudnn_filter;     /* cudnnFilterDescriptor_t */
typedef void *ds_cudnn_conv;       /* cudnnConvolutionDescriptor_t */
typedef void *ds_cudnn_pooling;    /* cudnnPoolingDescriptor_t */
typedef void *ds_cudnn_ctc;        /* cudnnCTCLossDescriptor_t */
typedef void *ds_cudnn_st;         /* cudnnSpatialTransformerDescriptor_t */

/* cudnnStatus_t */
#define DS_CUDNN_STATUS_SUCCESS 0
#define DS_CUDNN_STATUS_NOT_INITIALIZED 1001
#define DS_CUDNN_STATUS_BAD_PARAM 2000
#define DS_CUDNN_STATUS_NOT_SUPPORTED 3000
#define DS_CUDNN_STATUS_INTERNAL_ERROR 4000
#define DS_CUDNN_STATUS_EXECUTION_FAILED 5000

/* cudnnBackendDescriptorType_t (values used by the hooks) */
#define DS_CUDNN_BACKEND_POINTWISE_DESCRIPTOR 0
#define DS_CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR 1
#define DS_CUDNN_BACKEND_ENGINE_DESCRIPTOR 2
#define DS_CUDNN_BACKEND_ENGINECFG_DESCRIPTOR 3
#define DS_CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR 4
#define DS_CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR 5
#define DS_CUDNN_BACKEND_INTERMEDIATE_INFO_DESCRIPTOR 6
#define DS_CUDNN_BACKEND_KNOB_CHOICE_DESCRIPTOR 7
#define DS_CUDNN_BACKEND_KNOB_INFO_DESCRIPTOR 8
#define DS_CUDNN_BACKEND_LAYOUT_INFO_DESCRIPTOR 9
#define DS_CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR 10
#define DS_CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR 15
#define DS_CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR 16
#define DS_CUDNN_BACKEND_TENSOR_DESCRIPTOR 17
#define DS_CUDNN_BACKEND_KERNEL_CACHE_DESCRIPTOR 34
#define DS_CUDNN_BACKEND_OPERATION_SDPA_BWD_DESCRIPTOR 43

/* cudnnBackendAttributeType_t */
#define DS_CUDNN_TYPE_HANDLE 0
#define DS_CUDNN_TYPE_DATA_TYPE 1
#define DS_CUDNN_TYPE_BOOLEAN 2
#define DS_CUDNN_TYPE_INT64 3
#define DS_CUDNN_TYPE_FLOAT 4
#define DS_CUDNN_TYPE_DOUBLE 5
#define DS_CUDNN_TYPE_VOID_PTR 6
#define DS_CUDNN_TYPE_KNOB_TYPE 9
#define DS_CUDNN_TYPE_NUMERICAL_NOTE 11
#define DS_CUDNN_TYPE_BACKEND_DESCRIPTOR 15
#define DS_CUDNN_TYPE_INT32 23
#define DS_CUDNN_TYPE_CHAR 24
#define DS_CUDNN_TYPE_FRACTION 26
#define DS_CUDNN_TYPE_MOE_GROUPED_MATMUL_MODE 30 /* last one known (9.19) */

/* cudnnBackendAttributeName_t (values used by the hooks) */
#define DS_CUDNN_ATTR_CONVOLUTION_COMP_TYPE 100
#define DS_CUDNN_ATTR_ENGINEHEUR_MODE 200
#define DS_CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH 201
#define DS_CUDNN_ATTR_ENGINEHEUR_RESULTS 202
#define DS_CUDNN_ATTR_ENGINECFG_ENGINE 300
#define DS_CUDNN_ATTR_ENGINECFG_KNOB_CHOICES 302
#define DS_CUDNN_ATTR_EXECUTION_PLAN_HANDLE 400
#define DS_CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG 401
#define DS_CUDNN_ATTR_EXECUTION_PLAN_JSON_REPRESENTATION 405
#define DS_CUDNN_ATTR_KNOB_CHOICE_KNOB_TYPE 600
#define DS_CUDNN_ATTR_KNOB_CHOICE_KNOB_VALUE 601
#define DS_CUDNN_ATTR_OPERATIONGRAPH_HANDLE 800
#define DS_CUDNN_ATTR_OPERATIONGRAPH_OPS 801
#define DS_CUDNN_ATTR_TENSOR_DATA_TYPE 901
#define DS_CUDNN_ATTR_TENSOR_DIMENSIONS 902
#define DS_CUDNN_ATTR_TENSOR_STRIDES 903
#define DS_CUDNN_ATTR_TENSOR_UNIQUE_ID 906
#define DS_CUDNN_ATTR_TENSOR_IS_VIRTUAL 907
/* Call hashing (cuda_hooks/hash_calls.h): the variant pack and the
 * operations' output tensors. */
#define DS_CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS 1000
#define DS_CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS 1001
#define DS_CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y 705
#define DS_CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX 710
#define DS_CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DW 715
#define DS_CUDNN_ATTR_OPERATION_POINTWISE_YDESC 753
#define DS_CUDNN_ATTR_OPERATION_POINTWISE_DXDESC 756
#define DS_CUDNN_ATTR_OPERATION_MATMUL_CDESC 1522
#define DS_CUDNN_ATTR_OPERATION_REDUCTION_YDESC 1611
#define DS_CUDNN_ATTR_ENGINE_OPERATION_GRAPH 1300
#define DS_CUDNN_ATTR_ENGINE_GLOBAL_INDEX 1301
#define DS_CUDNN_ATTR_ENGINE_NUMERICAL_NOTE 1303

/* cudnnBackendNumericalNote_t */
#define DS_CUDNN_NUMERICAL_NOTE_NONDETERMINISTIC 4
#define DS_CUDNN_NUMERICAL_NOTE_TYPE_COUNT 10
/* cudnnBackendKnobType_t */
#define DS_CUDNN_KNOB_TYPE_COUNTS 44

/* Legacy API: algorithm enums */
#define DS_CUDNN_CONVOLUTION_FWD_ALGO_COUNT 8
#define DS_CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0 0        /* nondeterministic */
#define DS_CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1 1
#define DS_CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT 2
#define DS_CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3 3        /* nondeterministic */
#define DS_CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED 5
#define DS_CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING 6
#define DS_CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT 7
#define DS_CUDNN_CONVOLUTION_BWD_DATA_ALGO_0 0          /* nondeterministic */
#define DS_CUDNN_CONVOLUTION_BWD_DATA_ALGO_1 1
#define DS_CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT 2
#define DS_CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING 3
#define DS_CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD 4
#define DS_CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED 5
#define DS_CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT 6
/* cudnnDeterminism_t */
#define DS_CUDNN_NON_DETERMINISTIC 0
#define DS_CUDNN_DETERMINISTIC 1
/* cudnnPoolingMode_t */
#define DS_CUDNN_POOLING_MAX 0
#define DS_CUDNN_POOLING_MAX_DETERMINISTIC 3
/* cudnnCTCLossAlgo_t */
#define DS_CUDNN_CTC_LOSS_ALGO_DETERMINISTIC 0
#define DS_CUDNN_CTC_LOSS_ALGO_NON_DETERMINISTIC 1

/*
 * cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t: one layout for all
 * three (the algo field is an int-sized enum in each).
 */
struct ds_cudnn_algo_perf {
	int algo;            /* cudnnConvolution*Algo_t */
	ds_cudnn_status status;
	float time;          /* ms; measured by Find, -1 or heuristic by Get */
	size_t memory;       /* workspace bytes */
	int determinism;     /* cudnnDeterminism_t */
	int math_type;       /* cudnnMathType_t */
	int reserved[3];
};

#endif /* DS_ABI_CUDNN_H */
