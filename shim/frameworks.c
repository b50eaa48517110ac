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
 * An op with no deterministic kernel calls at::Context::
 * alertNotDeterministic(caller), which raises (or, warn-only, warns) in
 * deterministic mode.  When the mode is ours and not the program's, the
 * shim answers that call itself, under enforce and warn alike: it logs
 * {"src":"torch","call":"<caller>","action":"unfixed"} once per op and
 * returns, so the op runs natively as it would without detshim.  Most
 * such ops get a deterministic replacement from the Python start-up
 * module (python/_detshim/torch_ops.py) and never reach the call.  A
 * program that turned deterministic mode on itself keeps PyTorch's own
 * behaviour.  The same holds for alertCuBLASConfigNotDeterministic(),
 * PyTorch's complaint about an unset CUBLAS_WORKSPACE_CONFIG, which the
 * shim no longer sets where PyTorch keeps a workspace per handle and
 * stream (python/_detshim/torch_ops.py).  The caller's name is a
 * const c10::string_view & (torch 1.13, {data, size}) or a const
 * std::string_view & (torch 2.11, libstdc++'s {size, data}): one hook per
 * mangled name, both read with nm from the installed libtorch_cpu.so.
 * Calls from libtorch_cuda.so and libtorch_cpu.so go through their PLT.
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

/* The alert hooks: `void f(const <string_view> &caller)` (static members)
 * and `void f(const Context *this)`. */
#define DS_TORCH_ALERT_HOOKS(X)                                              \
	X(_ZN2at7Context21alertNotDeterministicERKN3c1017basic_string_viewIcEE) \
	X(_ZN2at7Context21alertNotDeterministicERKSt17basic_string_viewIcSt11char_traitsIcEE) \
	X(_ZNK2at7Context33alertCuBLASConfigNotDeterministicEv)

/* Functions the hooks only call. */
#define DS_TORCH_CALLS(X) X(_ZN2at13globalContextEv)

#define DS_TORCH_SLOT(name)                                                  \
	static struct ds_sym real_##name =                                   \
		DS_SYM_INIT(torch_libs, DS_SRC_FRAMEWORK, #name);
DS_TORCH_HOOKS(DS_TORCH_SLOT)
DS_TORCH_ALERT_HOOKS(DS_TORCH_SLOT)
DS_TORCH_CALLS(DS_TORCH_SLOT)
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

/* ------------------------------------------------------------------ */
/* Ops without a deterministic kernel. */

/* True if the program itself turned deterministic mode on (PyTorch's own
 * behaviour then stands). */
static bool program_deterministic(void)
{
	const void *(*global)(void) = ds_sym_get(&real__ZN2at13globalContextEv);

	return global &&
	       real_answer(&real__ZNK2at7Context23deterministicAlgorithmsEv,
			   global());
}

/* True if the alert is ours to answer: logged once per caller. */
static bool unfixed(const char *caller, size_t len)
{
	struct ds_site *site;

	if (!answering() || program_deterministic())
		return false;
	site = ds_site_named(DS_SRC_TORCH, caller, len);
	if (site &&
	    atomic_load_explicit(&site->count, memory_order_relaxed) == 0)
		ds_event(site, "unfixed",
			 "no deterministic kernel and no replacement: runs "
			 "natively, results may vary");
	return true;
}

struct c10_string_view { const char *data; size_t size; };
struct std_string_view { size_t size; const char *data; };

DS_EXPORT void _ZN2at7Context21alertNotDeterministicERKN3c1017basic_string_viewIcEE(
	const struct c10_string_view *caller)
{
	__typeof__(&_ZN2at7Context21alertNotDeterministicERKN3c1017basic_string_viewIcEE)
		f = ds_sym_get(
		&real__ZN2at7Context21alertNotDeterministicERKN3c1017basic_string_viewIcEE);

	if (caller && unfixed(caller->data, caller->size))
		return;
	if (f)
		f(caller);
}

DS_EXPORT void _ZN2at7Context21alertNotDeterministicERKSt17basic_string_viewIcSt11char_traitsIcEE(
	const struct std_string_view *caller)
{
	__typeof__(&_ZN2at7Context21alertNotDeterministicERKSt17basic_string_viewIcSt11char_traitsIcEE)
		f = ds_sym_get(
		&real__ZN2at7Context21alertNotDeterministicERKSt17basic_string_viewIcSt11char_traitsIcEE);

	if (caller && unfixed(caller->data, caller->size))
		return;
	if (f)
		f(caller);
}

DS_EXPORT void _ZNK2at7Context33alertCuBLASConfigNotDeterministicEv(
	const void *self)
{
	static const char name[] = "alertCuBLASConfigNotDeterministic";
	__typeof__(&_ZNK2at7Context33alertCuBLASConfigNotDeterministicEv) f =
		ds_sym_get(&real__ZNK2at7Context33alertCuBLASConfigNotDeterministicEv);

	if (unfixed(name, sizeof(name) - 1))
		return;
	if (f)
		f(self);
}

