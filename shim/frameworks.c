/*
 * frameworks.c - PyTorch's own deterministic switches, answered from
 * outside the program.
 *
 * libtorch_cpu.so exports the at::Context accessors PyTorch consults
 * before choosing kernels (docs/GPU_FACTS.md §8.1).  A preload that defines
 * deterministicAlgorithms() and deterministicCuDNN() to return true made
 * scatter_add_/index_add_ and a small conv net identical across runs on
 * the H200 with no change to the program (docs/DESIGN.md §9.7).  The answers:
 *
 *   accessor                          enforce    warn       off, gpu.torch=0
 *   deterministicAlgorithms()         true       true       real
 *   deterministicAlgorithmsWarnOnly() real       true       real
 *   deterministicCuDNN()              true       true       real
 *   deterministicFillUninitializedMemory()
 *                                     see below  see below  real
 *
 * Under warn PyTorch's own warn-only mode is the match for "log, do not
 * stop": ops without a deterministic kernel warn instead of raising.
 * Under enforce an op with no deterministic kernel raises, as
 * torch.use_deterministic_algorithms(True) does (a loud error rather than
 * silent variance), unless the program itself chose warn-only.
 * benchmarkCuDNN() is left as the program set it: cuDNN's autotuning is
 * made reproducible in cudnn_backend.c.
 *
 * In deterministic mode PyTorch also fills every new tensor with NaN
 * (torch.utils.deterministic.fill_uninitialized_memory, default on), so
 * that a program which reads memory it never wrote fails loudly rather
 * than varies.  A correct program never sees the fill, but pays a kernel
 * per allocation: on the H200 it made a ResNet-18 step 13% slower, with
 * the same result (docs/measurements/BENCHMARKS.md).  So the fill is answered false
 * unless the program turned deterministic mode on itself (then its own
 * setting stands) or gpu.torch_fill asks for it.
 *
 * These are C definitions of C++ member functions: `bool f(const Context
 * *this)`, the Itanium ABI for a const member without arguments.  The real
 * counterparts are looked up by the same mangled names in libtorch_cpu.so
 * (ds_sym).  Other torch versions: if a name is gone, our definition is
 * simply never called; if the library is not loaded or the real symbol is
 * missing, the hook returns PyTorch's own default (false) for the
 * pass-through case.  Calls from inside libtorch_cpu.so itself may bind
 * locally and not see these answers (docs/GPU_FACTS.md §8.1 [?]).
 */
#include "detshim.h"

static const char *const torch_libs[] = { "libtorch_cpu.so", NULL };

/* One row per hooked at::Context accessor: its mangled name.  Each hook
 * is `bool f(const Context *this)`, the type of every real slot. */
#define DS_TORCH_HOOKS(X)                                                    \
	X(_ZNK2at7Context23deterministicAlgorithmsEv)                        \
	X(_ZNK2at7Context31deterministicAlgorithmsWarnOnlyEv)                \
	X(_ZNK2at7Context18deterministicCuDNNEv)                             \
	X(_ZNK2at7Context36deterministicFillUninitializedMemoryEv)

#define DS_TORCH_SLOT(name)                                                  \
	static struct ds_sym real_##name =                                   \
		DS_SYM_INIT(torch_libs, DS_SRC_FRAMEWORK, #name);
DS_TORCH_HOOKS(DS_TORCH_SLOT)
#undef DS_TORCH_SLOT

/* The program's own answer (PyTorch's default false if unknown). */
static bool real_answer(struct ds_sym *s, const void *self)
{
	bool (*f)(const void *) = ds_sym_get(s);

	return f ? f(self) : false;
}

/* True if the switches are answered at all (not off, gpu.torch on). */
static bool answering(void)
{
	return ds_active() && ds_cfg.torch_switches &&
	       ds_watch(DS_SRC_FRAMEWORK);
}

/* Log the first answer of each accessor; the site's call name is the
 * accessor's readable name. */
static void note(struct ds_site *site, bool answer, bool program)
{
	if (atomic_load_explicit(&site->count, memory_order_relaxed) == 0)
		ds_event(site, answer == program ? "kept" : "replaced",
			 "%s() -> %s (program: %s)", site->call,
			 answer ? "true" : "false", program ? "true" : "false");
}

DS_EXPORT bool _ZNK2at7Context23deterministicAlgorithmsEv(const void *self)
{
	DS_SITE(site, DS_SRC_FRAMEWORK, "at::Context::deterministicAlgorithms");
	struct ds_sym *s = &real__ZNK2at7Context23deterministicAlgorithmsEv;
	bool program;

	if (!answering())
		return real_answer(s, self);
	program = real_answer(s, self);
	note(&site, true, program);
	return true;
}

DS_EXPORT bool _ZNK2at7Context31deterministicAlgorithmsWarnOnlyEv(const void *self)
{
	DS_SITE(site, DS_SRC_FRAMEWORK,
		"at::Context::deterministicAlgorithmsWarnOnly");
	struct ds_sym *s = &real__ZNK2at7Context31deterministicAlgorithmsWarnOnlyEv;
	bool program, answer;

	if (!answering())
		return real_answer(s, self);
	program = real_answer(s, self);
	answer = program || ds_cfg.policy == DS_POLICY_WARN;
	note(&site, answer, program);
	return answer;
}

DS_EXPORT bool _ZNK2at7Context18deterministicCuDNNEv(const void *self)
{
	DS_SITE(site, DS_SRC_FRAMEWORK, "at::Context::deterministicCuDNN");
	struct ds_sym *s = &real__ZNK2at7Context18deterministicCuDNNEv;
	bool program;

	if (!answering())
		return real_answer(s, self);
	program = real_answer(s, self);
	note(&site, true, program);
	return true;
}

DS_EXPORT bool _ZNK2at7Context36deterministicFillUninitializedMemoryEv(
	const void *self)
{
	DS_SITE(site, DS_SRC_FRAMEWORK,
		"at::Context::deterministicFillUninitializedMemory");
	struct ds_sym *s =
		&real__ZNK2at7Context36deterministicFillUninitializedMemoryEv;
	bool program, answer;

	if (!answering())
		return real_answer(s, self);
	program = real_answer(s, self);
	/* The program's own deterministic mode keeps its own fill setting. */
	if (real_answer(&real__ZNK2at7Context23deterministicAlgorithmsEv, self) ||
	    ds_cfg.torch_fill)
		answer = program;
	else
		answer = false;
	note(&site, answer, program);
	return answer;
}
