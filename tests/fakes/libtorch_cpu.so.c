/*
 * Fake libtorch_cpu.so for the PyTorch-switch hook test (docs/DESIGN.md §8.14):
 * at::Context accessors as C functions on a tiny context whose fields the
 * test sets, like torch.use_deterministic_algorithms() would.
 */
#include <stdbool.h>

struct fake_ctx {
	bool det;
	bool warn_only;
	bool det_cudnn;
	bool fill;      /* PyTorch's default: true */
};

static struct fake_ctx ctx = { .fill = true };

bool _ZNK2at7Context23deterministicAlgorithmsEv(const struct fake_ctx *c)
{
	return c->det;
}

bool _ZNK2at7Context31deterministicAlgorithmsWarnOnlyEv(const struct fake_ctx *c)
{
	return c->warn_only;
}

bool _ZNK2at7Context18deterministicCuDNNEv(const struct fake_ctx *c)
{
	return c->det_cudnn;
}

bool _ZNK2at7Context36deterministicFillUninitializedMemoryEv(
	const struct fake_ctx *c)
{
	return c->fill;
}

/* Test probe: the global context, like at::globalContext(). */
struct fake_ctx *fake_torch_context(void) { return &ctx; }
