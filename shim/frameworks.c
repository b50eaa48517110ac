/*
 * frameworks.c - PyTorch's own deterministic switches, answered from
 * outside the program.
 *
 * libtorch_cpu.so exports the at::Context accessors PyTorch consults
 * before choosing kernels (gpu.md §8.1).  A preload that defines
 * deterministicAlgorithms() and deterministicCuDNN() to return true made
 * scatter_add_/index_add_ and a small conv net identical across runs on
 * the H200 with no change to the program (design.md).  The answers:
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
 * the same result (docs/BENCHMARKS.md).  So the fill is answered false
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
 * locally and not see these answers (gpu.md §8.1 [?]).
 */
#include "detshim.h"

#define DS_TORCH_SONAME "libtorch_cpu.so"

/* at::Context accessors: mangled name, short name for the log. */
#define DS_TORCH_HOOKS(X)                                                    \
	X(_ZNK2at7Context23deterministicAlgorithmsEv,                        \
	  "at::Context::deterministicAlgorithms")                            \
	X(_ZNK2at7Context31deterministicAlgorithmsWarnOnlyEv,                \
	  "at::Context::deterministicAlgorithmsWarnOnly")                    \
	X(_ZNK2at7Context18deterministicCuDNNEv,                             \
	  "at::Context::deterministicCuDNN")                                 \
	X(_ZNK2at7Context36deterministicFillUninitializedMemoryEv,           \
	  "at::Context::deterministicFillUninitializedMemory")

typedef bool (*ctx_bool_fn)(const void *self);

#define DS_TORCH_SLOT(mangled, pretty)                                       \
	static struct ds_sym real_##mangled =                                \
		DS_SYM_INIT(DS_TORCH_SONAME, #mangled);
DS_TORCH_HOOKS(DS_TORCH_SLOT)
#undef DS_TORCH_SLOT

/* The program's own answer (PyTorch's default false if unknown). */
static bool real_answer(struct ds_sym *s, const void *self)
{
	ctx_bool_fn f = (ctx_bool_fn)ds_sym_get(s);

	return f ? f(self) : false;
}

/* True if the switches are answered at all (not off, gpu.torch on). */
static bool answering(void)
{
	return ds_active() && ds_cfg.torch_switches &&
	       ds_watch(DS_SRC_FRAMEWORK);
}

/* Log the first answer of each accessor. */
static void note(struct ds_site *site, const char *pretty, bool answer,
		 bool program)
{
	if (atomic_load_explicit(&site->count, memory_order_relaxed) == 0)
		ds_event(site, answer == program ? "kept" : "replaced",
			 "%s() -> %s (program: %s)", pretty,
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
	note(&site, "at::Context::deterministicAlgorithms", true, program);
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
	note(&site, "at::Context::deterministicAlgorithmsWarnOnly", answer,
	     program);
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
	note(&site, "at::Context::deterministicCuDNN", true, program);
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
	note(&site, "at::Context::deterministicFillUninitializedMemory",
	     answer, program);
	return answer;
}
