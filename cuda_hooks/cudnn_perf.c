/*
 * cudnn_perf.c - legacy cuDNN convolution API: which algorithms are
 * nondeterministic, a reproducible order for cudnnFind* results, and the
 * deterministic substitutes tried at execution.
 *
 * Sources: cuDNN developer guide "Reproducibility (Determinism)" and the
 * "non-deterministic" comments in cudnn_ops_v9.h (docs/GPU_FACTS.md §1.1);
 * PyTorch's v7 path takes the first entry with status SUCCESS and
 * determinism DETERMINISTIC (Conv_v7.cpp, docs/GPU_FACTS.md §1.2), so rewriting
 * the array steers it.  cudnnFind* sorts by this run's timing, which is why
 * the order is replaced by the heuristic (cudnnGet*_v7) order.
 */
#include "cudnn_core.h"

#include <string.h>

bool ds_cudnn_algo_nondet(enum ds_cudnn_conv_kind kind, int algo)
{
	switch (kind) {
	case DS_CUDNN_CONV_BWD_FILTER:
		return algo == DS_CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0 ||
		       algo == DS_CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3;
	case DS_CUDNN_CONV_BWD_DATA:
		return algo == DS_CUDNN_CONVOLUTION_BWD_DATA_ALGO_0;
	default:
		return false;
	}
}

bool ds_cudnn_perf_nondet(enum ds_cudnn_conv_kind kind,
			  const struct ds_cudnn_algo_perf *p)
{
	return p->determinism == DS_CUDNN_NON_DETERMINISTIC ||
	       ds_cudnn_algo_nondet(kind, p->algo);
}

static int rank_of(const struct ds_cudnn_algo_perf *p,
		   const struct ds_cudnn_algo_perf *ref, int nref)
{
	int i;

	for (i = 0; i < nref; i++)
		if (ref[i].algo == p->algo && ref[i].math_type == p->math_type)
			return i;
	for (i = 0; i < nref; i++)
		if (ref[i].algo == p->algo)
			return nref + i;
	return 2 * nref + p->algo * 8 + (p->math_type & 7);
}

static bool before(const struct ds_cudnn_algo_perf *a, int ra,
		   const struct ds_cudnn_algo_perf *b, int rb)
{
	bool oka = a->status == DS_CUDNN_STATUS_SUCCESS;
	bool okb = b->status == DS_CUDNN_STATUS_SUCCESS;

	if (oka != okb)
		return oka;
	return ra < rb;
}

int ds_cudnn_perf_filter(enum ds_cudnn_conv_kind kind,
			 struct ds_cudnn_algo_perf *p, int n,
			 const struct ds_cudnn_algo_perf *ref, int nref,
			 bool reorder, bool retime)
{
	int rank[64];
	int i, j, m = 0;

	if (n < 0)
		return 0;
	if (n > 64)
		n = 64; /* every kind has < 10 algorithms x 4 math types */
	for (i = 0; i < n; i++) {
		if (ds_cudnn_perf_nondet(kind, &p[i]))
			continue;
		p[m] = p[i];
		rank[m] = rank_of(&p[m], ref, ref ? nref : 0);
		m++;
	}
	if (reorder) {
		/* stable insertion sort */
		for (i = 1; i < m; i++) {
			struct ds_cudnn_algo_perf t = p[i];
			int r = rank[i];

			for (j = i; j > 0 && before(&t, r, &p[j - 1], rank[j - 1]);
			     j--) {
				p[j] = p[j - 1];
				rank[j] = rank[j - 1];
			}
			p[j] = t;
			rank[j] = r;
		}
	}
	if (retime)
		for (i = 1; i < m; i++)
			if (p[i].time < p[i - 1].time)
				p[i].time = p[i - 1].time;
	return m;
}

const int *ds_cudnn_substitutes(enum ds_cudnn_conv_kind kind, int *n)
{
	/* ALGO_1 first: the deterministic algorithm that supports the most
	 * configurations; then the FFT/Winograd families. */
	static const int bwd_data[] = {
		DS_CUDNN_CONVOLUTION_BWD_DATA_ALGO_1,
		DS_CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING,
		DS_CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT,
		DS_CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD,
		DS_CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED,
	};
	static const int bwd_filter[] = {
		DS_CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1,
		DS_CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING,
		DS_CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT,
		DS_CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED,
	};

	switch (kind) {
	case DS_CUDNN_CONV_BWD_DATA:
		*n = (int)DS_ARRAY_SIZE(bwd_data);
		return bwd_data;
	case DS_CUDNN_CONV_BWD_FILTER:
		*n = (int)DS_ARRAY_SIZE(bwd_filter);
		return bwd_filter;
	default:
		*n = 0;
		return NULL;
	}
}
