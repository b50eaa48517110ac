/*
 * rel_stress.c - reliability stress target (docs/measurements/RELIABILITY.md), run by
 * tests/it_reliability.sh under the shim, always inside `timeout` so that
 * a deadlock fails the test instead of hanging it.
 *
 *   rel_stress threads T N     T threads x N rounds; each round mixes
 *                              getrandom, rand_r, an 8-byte read of a
 *                              shared /dev/urandom fd (every 64th round:
 *                              open/read/close of a private one instead),
 *                              getentropy and arc4random; each replaced
 *                              call is a log event.  Prints a hash of the
 *                              sorted multiset of getrandom and urandom
 *                              values: which thread got which value
 *                              follows scheduling, the multiset does not.
 *   rel_stress fork T F [noclone]  T threads run the mix above while the main
 *                              thread starts F children each by fork,
 *                              vfork+execve, posix_spawn and clone3; each
 *                              child draws 8 bytes and prints them.  fork,
 *                              vfork and spawn children get keys from
 *                              ordinals the main thread takes in order, so
 *                              their lines are reproducible; clone3
 *                              children run no atfork handler and share the
 *                              parent's key and stream positions, so their
 *                              lines are printed with "clone3" and only
 *                              checked for having run.  "noclone" skips
 *                              clone3: under TSan a raw clone copies
 *                              TSan's own locks held (it intercepts
 *                              fork, not the clone3 system call).
 *   rel_stress signals N       the main thread loops over getrandom,
 *                              urandom reads and getentropy while a second
 *                              thread sends it N signals whose handler
 *                              makes the same calls.
 *   rel_stress child TAG       (internal) print "TAG <16 hex digits>".
 *
 * Every line is written with one write(2) from a stack buffer: children
 * of a multi-threaded parent and signal handlers must not touch stdio.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *self;
static int shared_fd = -1;
static atomic_int stop;

/* ---- output without stdio --------------------------------------- */

static size_t put_str(char *b, size_t n, const char *s)
{
	while (*s)
		b[n++] = *s++;
	return n;
}

static size_t put_hex(char *b, size_t n, uint64_t v)
{
	int i;

	for (i = 15; i >= 0; i--)
		b[n++] = "0123456789abcdef"[(v >> (i * 4)) & 15];
	return n;
}

static size_t put_dec(char *b, size_t n, unsigned long v)
{
	char t[24];
	int k = 0;

	do {
		t[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (k)
		b[n++] = t[--k];
	return n;
}

static void say(const char *tag, long idx, uint64_t v)
{
	char b[128];
	size_t n = put_str(b, 0, tag);

	if (idx >= 0) {
		b[n++] = ' ';
		n = put_dec(b, n, (unsigned long)idx);
	}
	b[n++] = ' ';
	n = put_hex(b, n, v);
	b[n++] = '\n';
	if (write(1, b, n) != (ssize_t)n)
		_exit(3);
}

static void die(const char *what)
{
	char b[160];
	size_t n = put_str(b, 0, "rel_stress: FAIL ");

	n = put_str(b, n, what);
	n = put_str(b, n, " errno ");
	n = put_dec(b, n, (unsigned long)errno);
	b[n++] = '\n';
	(void)!write(2, b, n);
	_exit(1);
}

static uint64_t draw8(void)
{
	uint64_t v;

	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		die("getrandom");
	return v;
}

/* ---- threads ----------------------------------------------------- */

struct work {
	long id;
	long rounds;
	uint64_t *vals; /* 2 per round, or NULL (run until stop) */
	unsigned sink;
};

static void one_round(struct work *w, long i)
{
	uint64_t g, u;
	unsigned char e[16];
	unsigned seed = (unsigned)(w->id * 1000003 + i);

	g = draw8();
	w->sink += (unsigned)rand_r(&seed);
	if ((i & 63) == 0) {
		/* Every fd of /dev/urandom reads from one stream, so this read
		 * is 8 bytes too: mixed sizes across threads would change
		 * which values each read gets (docs/measurements/RELIABILITY.md). */
		int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

		if (fd < 0 || read(fd, &u, sizeof(u)) != (ssize_t)sizeof(u))
			die("private /dev/urandom");
		close(fd);
	} else if (read(shared_fd, &u, sizeof(u)) != (ssize_t)sizeof(u)) {
		die("read /dev/urandom");
	}
	if (getentropy(e, sizeof(e)) != 0)
		die("getentropy");
	w->sink += arc4random() + e[0];
	if (w->vals) {
		w->vals[2 * i] = g;
		w->vals[2 * i + 1] = u;
	}
}

static void *worker(void *arg)
{
	struct work *w = arg;
	long i;

	for (i = 0; w->vals ? i < w->rounds : !atomic_load(&stop); i++)
		one_round(w, w->vals ? i : 0);
	return NULL;
}

static int cmp64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int run_threads(long t, long n)
{
	pthread_t *th = calloc((size_t)t, sizeof(*th));
	struct work *w = calloc((size_t)t, sizeof(*w));
	uint64_t *vals = calloc((size_t)(t * n * 2), sizeof(*vals));
	uint64_t h = 1469598103934665603ULL;
	long i;

	if (!th || !w || !vals)
		die("calloc");
	for (i = 0; i < t; i++) {
		w[i].id = i;
		w[i].rounds = n;
		w[i].vals = vals + i * n * 2;
		if (pthread_create(&th[i], NULL, worker, &w[i]))
			die("pthread_create");
	}
	for (i = 0; i < t; i++)
		pthread_join(th[i], NULL);
	qsort(vals, (size_t)(t * n * 2), sizeof(*vals), cmp64);
	for (i = 0; i < t * n * 2; i++)
		h = (h ^ vals[i]) * 1099511628211ULL;
	printf("threads %ld x %ld rounds: sorted-values-hash %016llx\n", t, n,
	       (unsigned long long)h);
	free(th);
	free(w);
	free(vals);
	return 0;
}

/* Start t workers that loop until stop is set. */
static pthread_t *start_background(long t, struct work **wout)
{
	pthread_t *th = calloc((size_t)t, sizeof(*th));
	struct work *w = calloc((size_t)t, sizeof(*w));
	long i;

	if (!th || !w)
		die("calloc");
	for (i = 0; i < t; i++) {
		w[i].id = i;
		if (pthread_create(&th[i], NULL, worker, &w[i]))
			die("pthread_create");
	}
	*wout = w;
	return th;
}

static void stop_background(pthread_t *th, struct work *w, long t)
{
	long i;

	atomic_store(&stop, 1);
	for (i = 0; i < t; i++)
		pthread_join(th[i], NULL);
	free(th);
	free(w);
}

/* ---- processes --------------------------------------------------- */

static void wait_ok(pid_t pid, const char *what)
{
	int st;

	if (pid < 0)
		die(what);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die(what);
}

/* The kernel's struct clone_args, version 0 (64 bytes). */
struct rel_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack,
		stack_size, tls;
};

static pid_t clone3_fork(void)
{
#ifdef SYS_clone3
	struct rel_clone_args a;
	long r;

	memset(&a, 0, sizeof(a));
	a.exit_signal = SIGCHLD;
	r = syscall(SYS_clone3, &a, sizeof(a));
	if (r >= 0 || errno != ENOSYS)
		return (pid_t)r;
#endif
	/* Kernels or sandboxes without clone3: the same with clone. */
	return (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
}

static int run_fork(long t, long f, int with_clone)
{
	struct work *w;
	pthread_t *th;
	long i;

	shared_fd = open("/dev/urandom", O_RDONLY);
	if (shared_fd < 0)
		die("open");
	th = start_background(t, &w);
	for (i = 0; i < f; i++) {
		char tag[32];
		char *argv[4];
		pid_t pid;

		pid = fork();
		if (pid == 0) {
			say("fork", i, draw8());
			_exit(0);
		}
		wait_ok(pid, "fork child");

		snprintf(tag, sizeof(tag), "vfork-exec-%ld", i);
		argv[0] = (char *)self;
		argv[1] = (char *)"child";
		argv[2] = tag;
		argv[3] = NULL;
		pid = vfork();
		if (pid == 0) {
			execve(self, argv, environ);
			_exit(127);
		}
		wait_ok(pid, "vfork child");

		snprintf(tag, sizeof(tag), "posix_spawn-%ld", i);
		if (posix_spawn(&pid, self, NULL, NULL, argv, environ) != 0)
			die("posix_spawn");
		wait_ok(pid, "posix_spawn child");

		if (!with_clone)
			continue;
		pid = clone3_fork();
		if (pid == 0) {
			/* No atfork handler ran: only lock-free calls here. */
			say("clone3", i, draw8());
			_exit(0);
		}
		wait_ok(pid, "clone3 child");
	}
	stop_background(th, w, t);
	return 0;
}

/* ---- signals ----------------------------------------------------- */

static atomic_long handled;
static volatile uint32_t arc4_sink; /* keeps the signal-time arc4random draw */
static pthread_t main_thread;

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char b[24];

	(void)sig;
	if (getrandom(b, 16, 0) != 16 || read(shared_fd, b, 8) != 8 ||
	    getentropy(b, 8) != 0)
		die("call in signal handler");
	arc4_sink ^= arc4random(); /* warn_unused_result: (void) is not enough */
	atomic_fetch_add(&handled, 1);
	errno = saved;
}

static void *signaller(void *arg)
{
	long n = *(long *)arg, i;

	for (i = 0; i < n; i++) {
		long before = atomic_load(&handled);

		if (pthread_kill(main_thread, SIGUSR1))
			die("pthread_kill");
		while (atomic_load(&handled) == before)
			sched_yield();
	}
	atomic_store(&stop, 1);
	return NULL;
}

static int run_signals(long n)
{
	struct sigaction sa;
	pthread_t th;
	struct work w;
	long rounds = 0;

	memset(&sa, 0, sizeof(sa));
	memset(&w, 0, sizeof(w));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL))
		die("sigaction");
	shared_fd = open("/dev/urandom", O_RDONLY);
	if (shared_fd < 0)
		die("open");
	main_thread = pthread_self();
	if (pthread_create(&th, NULL, signaller, &n))
		die("pthread_create");
	while (!atomic_load(&stop)) {
		one_round(&w, rounds);
		rounds++;
	}
	pthread_join(th, NULL);
	printf("signals %ld handled, main thread did %s rounds\n",
	       atomic_load(&handled), rounds > 0 ? "some" : "no");
	return 0;
}

int main(int argc, char **argv)
{
	self = argv[0];
	if (argc == 3 && strcmp(argv[1], "child") == 0) {
		say(argv[2], -1, draw8());
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "threads") == 0) {
		shared_fd = open("/dev/urandom", O_RDONLY);
		if (shared_fd < 0)
			die("open");
		return run_threads(atol(argv[2]), atol(argv[3]));
	}
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "fork") == 0)
		return run_fork(atol(argv[2]), atol(argv[3]),
				argc == 4 || strcmp(argv[4], "noclone") != 0);
	if (argc == 3 && strcmp(argv[1], "signals") == 0)
		return run_signals(atol(argv[2]));
	fprintf(stderr, "usage: rel_stress threads T N | fork T F [noclone] | "
			"signals N | child TAG\n");
	return 2;
}
