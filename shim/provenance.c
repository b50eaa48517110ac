/*
 * provenance.c - where a seed came from (docs/SEEDS.md).
 *
 * The clock functions are interposed only to remember, per thread, the
 * last DS_PROV_RING values they returned: a call costs the real function
 * plus a few stores into a thread-local ring (+0.8 ns for clock_gettime,
 * docs/measurements/BENCHMARKS.md).  Nothing is changed: the program
 * gets the real time and the real pid.  When a seeding call arrives,
 * ds_seed_decide judges its value against that ring, the caller's pid,
 * tid and ppid, a fresh time-stamp counter and, only when those rules do
 * not settle it, the address ranges of /proc/self/maps (seed_rules.c),
 * consults the seeds file (seeds_file.c), applies the seed mode
 * (stream.c) and logs one event with the fields seed_program, seed_used,
 * rule and site; its detail carries the seed used, never the program's
 * (a replaced clock seed is no divergence for detrun --verify).
 *
 * Everything on the seeding path is async-signal-safe: raw system calls
 * (sys.c), stack buffers, lock-free tables.  The one exception is the
 * site's name, which asks dladdr (the loader's lock): a seeding call from
 * a signal handler that interrupted dlopen would wait for it.
 */
#include "detshim.h"
#include "hash.h"
#include "seed_rules.h"
#include "seeds_file.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timeb.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* The per-thread ring of values the program obtained. */

struct prov_ring {
	struct ds_prov_val v[DS_PROV_RING];
	unsigned n;
};

/* Two rings per thread: what the program's own image (the executable)
 * got, and what every other object got.  A CUDA program reads the clock,
 * then its first cuRAND call initialises the runtime, whose own clock
 * reads would push the program's value out of a single ring before the
 * seeding call judges it (measured on the H200: tv_nsec ^ getpid() in
 * main went unrecognised, the same in a thread was caught). */
static __thread struct prov_ring ring, ring_prog
	__attribute__((tls_model("initial-exec")));

/* The executable's mapped image [prog_lo, prog_lo + prog_span), set once
 * at init (ds_seed_init); a span of 0 sends every value to ring. */
static uintptr_t prog_lo, prog_span;

/* A pointer declared nonnull that a program may still pass as NULL (the
 * kernel accepts gettimeofday(NULL, tz)): hide it from the optimiser. */
static inline bool given(const void *p)
{
	__asm__("" : "+r"(p));
	return p != NULL;
}

/* ra: the hook's return address (the caller), or NULL when unknown. */
static inline void note_from(const void *ra, enum ds_prov_kind kind,
			     uint64_t a, uint64_t b)
{
	struct prov_ring *rg = (uintptr_t)ra - prog_lo < prog_span ? &ring_prog
								    : &ring;
	unsigned i = rg->n++ % DS_PROV_RING;

	rg->v[i].a = a;
	rg->v[i].b = (uint32_t)b;
	rg->v[i].kind = (uint32_t)kind;
}

/* In a hook: note what the hook's caller got. */
#define note(kind, a, b) note_from(__builtin_return_address(0), kind, a, b)

DS_LIBC_SYM(real_time, "time");
DS_LIBC_SYM(real_gettimeofday, "gettimeofday");
DS_LIBC_SYM(real_clock_gettime, "clock_gettime");
DS_LIBC_SYM(real_clock, "clock");
DS_LIBC_SYM(real_timespec_get, "timespec_get");
DS_LIBC_SYM(real_ftime, "ftime");

/* The real clocks are never missing from a glibc; if one were, the raw
 * system call answers the same. */
DS_EXPORT int clock_gettime(clockid_t id, struct timespec *ts)
{
	int (*f)(clockid_t, struct timespec *) = ds_sym_get(&real_clock_gettime);
	int r;

	if (DS_UNLIKELY(f == NULL)) {
		long e = ds_syscall6(SYS_clock_gettime, id, (long)ts, 0, 0, 0, 0);

		if (e < 0) {
			errno = (int)-e;
			return -1;
		}
		r = 0;
	} else {
		r = f(id, ts);
	}
	if (DS_LIKELY(r == 0 && given(ts)))
		note(DS_PROV_TS, (uint64_t)ts->tv_sec, (uint64_t)ts->tv_nsec);
	return r;
}

DS_EXPORT time_t time(time_t *t)
{
	time_t (*f)(time_t *) = ds_sym_get(&real_time);
	time_t r;

	if (DS_UNLIKELY(f == NULL)) {
		struct timespec ts = { 0, 0 };

		ds_syscall6(SYS_clock_gettime, CLOCK_REALTIME, (long)&ts, 0, 0,
			    0, 0);
		r = ts.tv_sec;
		if (t)
			*t = r;
	} else {
		r = f(t);
	}
	note(DS_PROV_SEC, (uint64_t)r, 0);
	return r;
}

DS_EXPORT int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	int (*f)(struct timeval *, void *) = ds_sym_get(&real_gettimeofday);
	int r;

	if (DS_UNLIKELY(f == NULL)) {
		long e = ds_syscall6(SYS_gettimeofday, (long)tv, (long)tz, 0, 0,
				     0, 0);

		if (e < 0) {
			errno = (int)-e;
			return -1;
		}
		r = 0;
	} else {
		r = f(tv, tz);
	}
	if (DS_LIKELY(r == 0 && given(tv)))
		note(DS_PROV_TV, (uint64_t)tv->tv_sec, (uint64_t)tv->tv_usec);
	return r;
}

DS_EXPORT clock_t clock(void)
{
	clock_t (*f)(void) = ds_sym_get(&real_clock);
	clock_t r;

	if (DS_UNLIKELY(f == NULL))
		return (clock_t)-1; /* "processor time not available" */
	r = f();
	note(DS_PROV_CLOCK, (uint64_t)r, 0);
	return r;
}

DS_EXPORT int timespec_get(struct timespec *ts, int base)
{
	int (*f)(struct timespec *, int) = ds_sym_get(&real_timespec_get);
	int r;

	if (DS_UNLIKELY(f == NULL))
		return 0; /* the C standard's failure value */
	r = f(ts, base);
	if (r != 0 && given(ts))
		note(DS_PROV_TS, (uint64_t)ts->tv_sec, (uint64_t)ts->tv_nsec);
	return r;
}

DS_EXPORT int ftime(struct timeb *tb)
{
	int (*f)(struct timeb *) = ds_sym_get(&real_ftime);
	int r;

	if (DS_UNLIKELY(f == NULL))
		return ds_libc_missing();
	r = f(tb);
	if (r == 0 && given(tb))
		note(DS_PROV_TB, (uint64_t)tb->time, tb->millitm);
	return r;
}

/*
 * getpid, gettid and getppid are not interposed: the ids of the seeding
 * process, thread and parent are read at the seeding call itself (raw
 * system calls, gather() below), which is what a pid-derived seed in
 * this thread was made from.  An interposed getpid measured +5 ns on the
 * development VM (docs/measurements/BENCHMARKS.md), over the 2 ns budget,
 * for nothing the judgment needs.  syscall(SYS_gettid) and friends are
 * noted, because the syscall() hook exists anyway (shim/entropy.c).
 */

void ds_prov_note_syscall(long nr, const long *a, long ret)
{
	if (ret < 0)
		return;
	switch (nr) {
	case SYS_getpid:
	case SYS_gettid:
	case SYS_getppid:
		note_from(NULL, DS_PROV_ID, (uint64_t)ret, 0);
		break;
	case SYS_clock_gettime:
		if (a[1]) {
			const struct timespec *ts = (const void *)a[1];

			note_from(NULL, DS_PROV_TS, (uint64_t)ts->tv_sec,
			     (uint64_t)ts->tv_nsec);
		}
		break;
	case SYS_gettimeofday:
		if (a[0]) {
			const struct timeval *tv = (const void *)a[0];

			note_from(NULL, DS_PROV_TV, (uint64_t)tv->tv_sec,
			     (uint64_t)tv->tv_usec);
		}
		break;
#ifdef SYS_time
	case SYS_time:
		note_from(NULL, DS_PROV_SEC, (uint64_t)ret, 0);
		break;
#endif
	default:
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Judging. */

static uint64_t read_tsc(void)
{
#if defined(__x86_64__)
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
#elif defined(__aarch64__)
	uint64_t v;

	__asm__ volatile("mrs %0, cntvct_el0" : "=r"(v));
	return v;
#else
	return 0;
#endif
}

/* The counter when the shim started: a counter-derived seed was read
 * after it (the 64-bit rule's lower bound, seed_rules.c). */
static uint64_t tsc_at_start;

/* Append a ring's values to c, oldest first. */
static void take(struct ds_seed_ctx *c, const struct prov_ring *rg)
{
	unsigned n = rg->n, i, k = n < DS_PROV_RING ? n : DS_PROV_RING;

	for (i = 0; i < k; i++)
		c->vals[c->nvals++] = rg->v[(n - k + i) % DS_PROV_RING];
}

/*
 * Sandboxes (docs/measurements/RELIABILITY.md, "Sandboxes"): once the
 * program entered seccomp (ds_in_sandbox), a seeding call makes no
 * system call and reads no counter: strict mode allows only read, write,
 * exit and sigreturn, and on x86 it also makes rdtsc fault (SIGSEGV).
 * The judgment then uses what was recorded before: the rings (the clock
 * hooks note the vDSO's answers without a system call), the pid and ppid
 * read just before the sandbox, and the tid of the thread that entered
 * it (other threads: none).  No counter, no current time and no address
 * ranges: a seed that only those rules would catch is kept as the
 * program's own (rule "explicit"), the conservative answer.
 */
static long sandbox_pid, sandbox_ppid;
static __thread long sandbox_tid __attribute__((tls_model("initial-exec")));

static void gather(struct ds_seed_ctx *c, uint64_t tsc)
{
	struct timespec ts = { 0, 0 };

	memset(c, 0, sizeof(*c));
	c->tsc = tsc;
	c->tsc_start = tsc_at_start;
	/* The other objects' values first, the program's last (newest). */
	take(c, &ring);
	take(c, &ring_prog);
	/* A number on this stack (compared, never dereferenced). */
	c->sp = (uint64_t)(uintptr_t)__builtin_frame_address(0);
	if (ds_in_sandbox()) {
		c->tsc = 0; /* the rules skip what is 0 */
		c->ids[0] = (uint64_t)sandbox_pid;
		c->ids[1] = (uint64_t)sandbox_tid;
		c->ids[2] = (uint64_t)sandbox_ppid;
		return;
	}
	c->ids[0] = (uint64_t)ds_sys_getpid();
	c->ids[1] = (uint64_t)ds_syscall6(SYS_gettid, 0, 0, 0, 0, 0, 0);
	c->ids[2] = (uint64_t)ds_syscall6(SYS_getppid, 0, 0, 0, 0, 0, 0);
	ds_syscall6(SYS_clock_gettime, CLOCK_REALTIME, (long)&ts, 0, 0, 0, 0);
	c->now_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The address rule over /proc/self/maps, read in pieces into the
 * stack (a Python process's maps run to hundreds of kilobytes). */
static bool judge_addresses(uint64_t seed, const struct ds_seed_ctx *c,
			    char *rule, size_t cap)
{
	char buf[4097];
	struct ds_range r[64];
	size_t have = 0;
	bool found = false;
	int fd = ds_in_sandbox() ? -1 :
		 ds_sys_open("/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);

	if (fd < 0)
		return ds_seed_rule_address(seed, c, NULL, 0, rule, cap);
	for (;;) {
		long got = ds_syscall6(SYS_read, fd, (long)(buf + have),
				       (long)(sizeof(buf) - 1 - have), 0, 0, 0);
		const char *last;
		size_t n, used;

		if (got <= 0)
			break;
		have += (size_t)got;
		buf[have] = '\0';
		n = ds_parse_maps(buf, r, DS_ARRAY_SIZE(r));
		if (ds_seed_rule_address(seed, c, r, n, rule, cap)) {
			found = true;
			break;
		}
		/* Keep the cut line (and any line past 64 ranges). */
		last = buf;
		for (used = 0; used < n; used++)
			last = strchr(last, '\n') + 1;
		used = (size_t)(last - buf);
		memmove(buf, last, have - used);
		have -= used;
		if (have >= sizeof(buf) - 1)
			have = 0; /* one line longer than the buffer */
	}
	ds_sys_close(fd);
	return found || ds_seed_rule_address(seed, c, NULL, 0, rule, cap);
}

bool ds_seed_judge(uint64_t seed, unsigned width, char *rule, size_t cap)
{
	struct ds_seed_ctx c;
	uint64_t tsc = ds_in_sandbox() ? 0 : read_tsc();

	gather(&c, tsc);
	if (ds_seed_rule_values(seed, width, &c, rule, cap))
		return true;
	/* srand48 and seed48 keep the seed in the high 32 bits of X. */
	if (width == 48 && (seed & 0xffff) == 0x330e &&
	    ds_seed_rule_values(seed >> 16, 32, &c, rule, cap))
		return true;
	return judge_addresses(seed, &c, rule, cap);
}

/* ------------------------------------------------------------------ */
/* Sites: "<object>+0x<offset>#<ordinal>". */

#define SITE_SLOTS 256

static struct {
	atomic_uintptr_t addr;
	atomic_ulong count;
} sites[SITE_SLOTS];

static unsigned long site_ordinal(uintptr_t a)
{
	size_t i = (size_t)(ds_mix64(0, a) % SITE_SLOTS), p;

	for (p = 0; p < SITE_SLOTS; p++) {
		size_t k = (i + p) % SITE_SLOTS;
		uintptr_t cur = atomic_load(&sites[k].addr);

		if (cur == 0) {
			uintptr_t expect = 0;

			if (atomic_compare_exchange_strong(&sites[k].addr,
							   &expect, a))
				cur = a;
			else
				cur = expect;
		}
		if (cur == a)
			return atomic_fetch_add(&sites[k].count, 1);
	}
	return 0; /* more than SITE_SLOTS sites: ordinal 0 */
}

void ds_seed_site(const void *caller, char *out, size_t cap)
{
	Dl_info info;
	const char *name = "?";
	uintptr_t off = (uintptr_t)caller;
	unsigned long ord = site_ordinal((uintptr_t)caller);

	ds_inside++;
	if (caller && dladdr(caller, &info) && info.dli_fname) {
		const char *slash = strrchr(info.dli_fname, '/');

		name = slash ? slash + 1 : info.dli_fname;
		if (*name == '\0')
			name = "main";
		off = (uintptr_t)caller - (uintptr_t)info.dli_fbase;
	}
	ds_inside--;
	ds_fmt(out, cap, "%s+0x%lx#%lu", name, (unsigned long)off, ord);
}

/* ------------------------------------------------------------------ */
/* The program's identity and the seeds file. */

static char prog_name[128] = "?";
static char prog_build_id[80] = "-";
static struct ds_seeds learned;
static bool learned_on;

static int build_id_of_main(struct dl_phdr_info *info, size_t size, void *arg)
{
	int i;

	uintptr_t lo = UINTPTR_MAX, hi = 0;

	(void)size;
	(void)arg;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t b = (uintptr_t)info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_LOAD)
			continue;
		if (b < lo)
			lo = b;
		if (b + ph->p_memsz > hi)
			hi = b + ph->p_memsz;
	}
	if (hi > lo) {
		prog_lo = lo;
		prog_span = hi - lo;
	}
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const char *p, *end;

		if (ph->p_type != PT_NOTE)
			continue;
		p = (const char *)(info->dlpi_addr + ph->p_vaddr);
		end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const void *)p;
			const unsigned char *desc = (const unsigned char *)p +
				sizeof(*nh) + ((nh->n_namesz + 3) & ~3u);
			size_t k, len = 0;

			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    memcmp(p + sizeof(*nh), "GNU", 4) == 0) {
				for (k = 0; k < nh->n_descsz &&
					    len + 3 < sizeof(prog_build_id); k++)
					len += ds_fmt(prog_build_id + len,
						      sizeof(prog_build_id) - len,
						      "%x%x", desc[k] >> 4,
						      desc[k] & 15);
				return 1;
			}
			p = (const char *)desc + ((nh->n_descsz + 3) & ~3u);
		}
	}
	return 1; /* the first object is the program: stop there */
}

static void find_program(void)
{
	char path[DS_PATH_MAX];
	long n = ds_syscall6(SYS_readlinkat, AT_FDCWD, (long)"/proc/self/exe",
			     (long)path, sizeof(path) - 1, 0, 0);
	const char *base;

	if (n > 0) {
		path[n] = '\0';
		base = strrchr(path, '/');
		ds_fmt(prog_name, sizeof(prog_name), "%s", base ? base + 1 : path);
	}
	dl_iterate_phdr(build_id_of_main, NULL);
}

/* Read the seeds file at init (the constructor's thread; raw calls). */
static void load_seeds_file(void)
{
	static char text[65536];
	char err[256] = "";
	size_t have = 0;
	int fd, e;

	if (ds_cfg.seeds_file[0] == '\0')
		return;
	fd = ds_sys_open(ds_cfg.seeds_file, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0) {
		ds_warn("cannot read the seeds file '%s' (error %d): no learned "
			"sites", ds_cfg.seeds_file, -fd);
		return;
	}
	for (;;) {
		long got = ds_syscall6(SYS_read, fd, (long)(text + have),
				       (long)(sizeof(text) - 1 - have), 0, 0, 0);

		if (got <= 0)
			break;
		have += (size_t)got;
	}
	ds_sys_close(fd);
	text[have] = '\0';
	e = ds_seeds_parse(text, prog_name, prog_build_id, &learned, err,
			   sizeof(err));
	if (e) {
		ds_warn("seeds file '%s': %s: ignored", ds_cfg.seeds_file, err);
		return;
	}
	if (!learned.matched) {
		/* The run's first process says so; its children are other
		 * programs, which the file need not name. */
		if (ds_cfg.lineage[0] == '\0')
			ds_warn("seeds file '%s' was recorded for %s, not for "
				"this program (%s, build id %s): ignored",
				ds_cfg.seeds_file,
				learned.other[0] ? learned.other : "no program",
				prog_name, prog_build_id);
		return;
	}
	learned_on = true;
	ds_log_record(DS_SRC_LIBC_RAND, "seeds_file", "loaded",
		      "%s: %zu learned sites for %s", ds_cfg.seeds_file,
		      learned.n, prog_name);
}

void ds_seed_init(void)
{
	tsc_at_start = read_tsc();
	find_program();
	load_seeds_file();
	ds_aslr_log(); /* address-derived seeds: did randomisation stay on? */
}

DS_SITE(site_seed_sandbox, DS_SRC_LIBC_RAND, "seccomp");

/* Just before seccomp (process.c): the ids the judgment will use. */
void ds_prov_before_sandbox(void)
{
	if (!ds_active())
		return;
	sandbox_pid = ds_sys_getpid();
	sandbox_ppid = ds_syscall6(SYS_getppid, 0, 0, 0, 0, 0, 0);
	sandbox_tid = ds_syscall6(SYS_gettid, 0, 0, 0, 0, 0, 0);
	ds_event(&site_seed_sandbox, "observed",
		 "seeding calls after seccomp are judged on the clock values "
		 "and ids recorded before it (no counter, time or address "
		 "rule)");
}


/* ------------------------------------------------------------------ */
/* The decision. */

bool ds_seed_decide(const struct ds_seed_req *q, uint64_t *used)
{
	char rule[64] = "explicit", site[160], repr[24], fields[480];
	const char *how = "kept", *prog = q->repr;
	size_t n;
	uint64_t out = q->value;
	bool enforce;

	if (!ds_active() || !ds_watch(q->site->src))
		return false;
	if (q->site_name)
		ds_fmt(site, sizeof(site), "%s", q->site_name);
	else
		ds_seed_site(q->caller, site, sizeof(site));
	if (q->judge_rule) {
		ds_fmt(rule, sizeof(rule), "%s", q->judge_rule);
	} else if (q->judge &&
		   ds_seed_judge(q->value, q->width, rule, sizeof(rule))) {
		/* rule names what fired */
	} else if (learned_on && ds_seeds_match(&learned, q->site->call, site)) {
		ds_fmt(rule, sizeof(rule), "learned");
	} else {
		ds_fmt(rule, sizeof(rule), "explicit");
	}
	enforce = ds_enforce(q->site->src);
	if (enforce)
		out = ds_seed_apply(q->site->src, q->value,
				    strcmp(rule, "explicit") ? rule : NULL,
				    &how);
	if (q->wmask)
		out &= q->wmask;
	if (prog == NULL) {
		ds_fmt(repr, sizeof(repr), "%llu", (unsigned long long)q->value);
		prog = repr;
	}
	n = ds_fmt(fields, sizeof(fields), "\"seed_program\":\"");
	n = ds_json_escape(fields, sizeof(fields) - 120, n, prog);
	ds_fmt(fields + n, sizeof(fields) - n,
	       "\",\"seed_used\":\"%llu\",\"rule\":\"%s\",\"site\":\"",
	       (unsigned long long)out, rule);
	n += strlen(fields + n);
	n = ds_json_escape(fields, sizeof(fields) - 2, n, site);
	ds_fmt(fields + n, sizeof(fields) - n, "\"");
	ds_event_fields(q->site, enforce ? how : "observed", fields,
			"%s%sseed -> %llu program=%s build_id=%s",
			q->what ? q->what : "", q->what ? " " : "",
			(unsigned long long)out, prog_name, prog_build_id);
	*used = out;
	return enforce;
}

/* ------------------------------------------------------------------ */
/* Python seeds (python/_detshim/seeds.py, through its ctypes bridge). */

/* One log site per framework call, so that each keeps its own count. */
DS_SITE(site_py_random, DS_SRC_FRAMEWORK, "random.seed");
DS_SITE(site_py_np_seed, DS_SRC_FRAMEWORK, "numpy.random.seed");
DS_SITE(site_py_np_rng, DS_SRC_FRAMEWORK, "numpy.random.default_rng");
DS_SITE(site_py_np_ss, DS_SRC_FRAMEWORK, "numpy.random.SeedSequence");
DS_SITE(site_py_torch, DS_SRC_FRAMEWORK, "torch.manual_seed");
DS_SITE(site_py_cuda, DS_SRC_FRAMEWORK, "torch.cuda.manual_seed");
DS_SITE(site_py_cuda_all, DS_SRC_FRAMEWORK, "torch.cuda.manual_seed_all");
DS_SITE(site_py_gen, DS_SRC_FRAMEWORK, "torch.Generator.manual_seed");
DS_SITE(site_py_jax_key, DS_SRC_FRAMEWORK, "jax.random.PRNGKey");
DS_SITE(site_py_jax_key2, DS_SRC_FRAMEWORK, "jax.random.key");
DS_SITE(site_py_rnd_cls, DS_SRC_FRAMEWORK, "random.Random.seed");
DS_SITE(site_py_np_rs, DS_SRC_FRAMEWORK, "numpy.random.RandomState.seed");
DS_SITE(site_py_np_mt, DS_SRC_FRAMEWORK, "numpy.random.MT19937");
DS_SITE(site_py_np_pcg, DS_SRC_FRAMEWORK, "numpy.random.PCG64");
DS_SITE(site_py_np_dxsm, DS_SRC_FRAMEWORK, "numpy.random.PCG64DXSM");
DS_SITE(site_py_np_philox, DS_SRC_FRAMEWORK, "numpy.random.Philox");
DS_SITE(site_py_np_sfc, DS_SRC_FRAMEWORK, "numpy.random.SFC64");
DS_SITE(site_py_other, DS_SRC_FRAMEWORK, "python.seed");

static struct ds_site *const py_sites[] = {
	&site_py_random, &site_py_np_seed, &site_py_np_rng, &site_py_np_ss,
	&site_py_torch,  &site_py_cuda,    &site_py_cuda_all, &site_py_gen,
	&site_py_jax_key, &site_py_jax_key2, &site_py_rnd_cls, &site_py_np_rs,
	&site_py_np_mt, &site_py_np_pcg, &site_py_np_dxsm, &site_py_np_philox,
	&site_py_np_sfc,
};

DS_EXPORT int detshim_py_seed(const char *api, const char *program_repr,
			      const unsigned char *bytes, size_t len,
			      int has_numeric, unsigned long long numeric,
			      unsigned long long *used);

/* The whole part of a Python float's repr ("1764600000.123456"), for
 * the rules; false for anything else (an exponent, a sign, text). */
static bool float_whole(const char *r, unsigned long long *out)
{
	unsigned long long v = 0;
	const char *p = r;

	if (r == NULL)
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (ULLONG_MAX - 9) / 10)
			return false;
		v = v * 10 + (unsigned long long)(*p - '0');
	}
	if (p == r || *p != '.')
		return false;
	for (p++; *p >= '0' && *p <= '9'; p++)
		;
	if (*p != '\0')
		return false;
	*out = v;
	return true;
}

/*
 * api: the call ("torch.manual_seed"), optionally followed by
 * "@<file>:<line>", the Python caller, which becomes the site.  bytes:
 * the seed's canonical encoding (seeds.py: type tag and value), what is
 * mixed, so that floats, negatives, strings and big integers keep their
 * meaning; numeric: the value judged by the rules (ints; a float's whole
 * part).
 */
DS_EXPORT int detshim_py_seed(const char *api, const char *program_repr,
			      const unsigned char *bytes, size_t len,
			      int has_numeric, unsigned long long numeric,
			      unsigned long long *used)
{
	struct ds_site *site = &site_py_other;
	char name[96], where[200];
	const char *at;
	size_t i, n;
	uint64_t out, value;
	struct ds_seed_req q = { 0 };

	if (api == NULL || used == NULL || (bytes == NULL && len))
		return -1;
	at = strchr(api, '@');
	n = at ? (size_t)(at - api) : strlen(api);
	ds_fmt(name, n + 1 < sizeof(name) ? n + 1 : sizeof(name), "%s", api);
	for (i = 0; i < DS_ARRAY_SIZE(py_sites); i++)
		if (strcmp(py_sites[i]->call, name) == 0)
			site = py_sites[i];
	/* What is mixed: the repr (it tells 5 from -5, "5", b"5" and 5.0),
	 * the bytes and the number together. */
	value = ds_hash_bytes(UINT64_C(0x7079736565640000), program_repr ?
			      program_repr : "", program_repr ?
			      strlen(program_repr) : 0);
	value = ds_hash_bytes(value, bytes, bytes ? len : 0);
	value = ds_mix64(value, has_numeric ? (uint64_t)numeric ^ 1 : 0);
	if (!has_numeric && float_whole(program_repr, &numeric))
		has_numeric = 1; /* random.seed(time.time()): judge the seconds */
	if (at) {
		unsigned long ord = site_ordinal((uintptr_t)ds_hash_bytes(
			0, at + 1, strlen(at + 1)) | 1);

		ds_fmt(where, sizeof(where), "%s#%lu", at + 1, ord);
	} else {
		ds_fmt(where, sizeof(where), "%s#0", name);
	}
	q.site = site;
	q.value = value;
	q.width = 64;
	q.judge = has_numeric != 0;
	q.repr = program_repr ? program_repr : "?";
	q.site_name = where;
	if (q.judge) {
		/* The rules judge the program's number, the mix takes the
		 * encoding: judge first, then decide on the encoding. */
		char rule[64];

		if (ds_seed_judge((uint64_t)numeric, 64, rule, sizeof(rule)))
			q.judge_rule = rule;
		q.judge = false;
		if (!ds_seed_decide(&q, &out))
			return 0;
	} else if (!ds_seed_decide(&q, &out)) {
		return 0;
	}
	/* respect: the program's own seed, not its encoding (the event
	 * above said "kept"). */
	if (ds_cfg.seed_mode == DS_SEED_RESPECT)
		return 0;
	*used = out;
	return 1;
}
