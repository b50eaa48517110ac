/*
 * cudnn_choice.c - which engine config an operation graph may use (the
 * DETSHIM_ALGO_CACHE file that pins it across runs is cudnn_cache.c).
 *
 * Why (docs/DESIGN.md §9.3, measured 2026-11-22 on an H200): with
 * cudnn.benchmark=True PyTorch times the deterministic candidates and a
 * different one wins each run.  Vetoing at cudnnBackendFinalize every plan
 * after the first that finalizes for an operation graph - the identity
 * being the whole engine config, engine *and* knobs - gave one hash over 5
 * runs; keying on the engine index alone did not (2 hashes of 3).
 * PyTorch and cudnn-frontend both skip a plan whose Finalize fails
 * (docs/GPU_FACTS.md §2.5-2.6), so the veto steers them.
 *
 * The table holds one entry per fingerprint; decisions take one mutex,
 * and only at plan Finalize (about 2k calls in a ResNet-18 run), never on
 * Execute (candidate execution counts are atomics).  Entries are allocated
 * on first use and live to exit (the set of op graphs is small).
 */
#include "cudnn_core.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define GRAPH_CAP 4096u

static pthread_mutex_t graph_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t graph_cond = PTHREAD_COND_INITIALIZER;
static struct ds_cudnn_graph *graphs[GRAPH_CAP];
static unsigned ngraphs;
static atomic_bool graph_used; /* graph_lock taken once: fork must care */
static __thread bool graph_fork_held __attribute__((tls_model("initial-exec")));

/*
 * fork (rows of shim/process.c's fork table): graph_lock is the shim's
 * only mutex.  A fork while another thread holds it, or while another
 * thread's first Finalize of a graph is pending, would leave the child
 * blocked for ever (that thread does not exist in the child).  prepare
 * takes the lock so the table is consistent at fork; the child re-creates
 * the lock and condition and drops pending marks, so the child's own
 * first Finalize decides (docs/measurements/RELIABILITY.md).  A process that never
 * took the lock skips all three: no write to copy in either process.
 */
void ds_cudnn_fork_prepare(void)
{
	bool used = atomic_load(&graph_used);

	if (used)
		pthread_mutex_lock(&graph_lock);
	if (graph_fork_held != used)
		graph_fork_held = used;
}

void ds_cudnn_fork_parent(void)
{
	if (graph_fork_held)
		pthread_mutex_unlock(&graph_lock);
}

void ds_cudnn_fork_child(void)
{
	unsigned i;

	if (!graph_fork_held)
		return;
	pthread_mutex_init(&graph_lock, NULL);
	pthread_cond_init(&graph_cond, NULL);
	for (i = 0; i < GRAPH_CAP; i++)
		if (graphs[i])
			graphs[i]->pending = false;
}

/* Every critical section starts here. */
static void graph_lock_take(void)
{
	if (!atomic_load_explicit(&graph_used, memory_order_relaxed))
		atomic_store(&graph_used, true);
	pthread_mutex_lock(&graph_lock);
}

/* ------------------------------------------------------------------ */
/* Config keys. */

void ds_cudnn_cfgkey_normalize(struct ds_cudnn_cfgkey *k)
{
	int i, j;

	if (k->nknobs < 0)
		k->nknobs = 0;
	if (k->nknobs > DS_CUDNN_MAX_KNOBS)
		k->nknobs = DS_CUDNN_MAX_KNOBS;
	for (i = 1; i < k->nknobs; i++) {
		int32_t t = k->ktype[i];
		int64_t v = k->kval[i];

		for (j = i; j > 0 && (k->ktype[j - 1] > t ||
				      (k->ktype[j - 1] == t &&
				       k->kval[j - 1] > v)); j--) {
			k->ktype[j] = k->ktype[j - 1];
			k->kval[j] = k->kval[j - 1];
		}
		k->ktype[j] = t;
		k->kval[j] = v;
	}
}

uint64_t ds_cudnn_cfgkey_hash(const struct ds_cudnn_cfgkey *k)
{
	uint64_t h = ds_mix64(UINT64_C(0x656e67636667),
				  (uint64_t)k->engine);
	int i;

	h = ds_mix64(h, (uint64_t)k->nknobs);
	for (i = 0; i < k->nknobs && i < DS_CUDNN_MAX_KNOBS; i++)
		h = ds_mix64(ds_mix64(h, (uint64_t)(int64_t)k->ktype[i]),
				 (uint64_t)k->kval[i]);
	return h;
}

/* ------------------------------------------------------------------ */
/* The graph table. */

static unsigned graph_slot(uint64_t g)
{
	return (unsigned)(ds_mix64(g, 0) & (GRAPH_CAP - 1));
}

/* Under graph_lock. */
static struct ds_cudnn_graph *graph_get(uint64_t g, bool create)
{
	unsigned s = graph_slot(g), i;

	for (i = 0; i < GRAPH_CAP; i++) {
		struct ds_cudnn_graph **pp = &graphs[(s + i) & (GRAPH_CAP - 1)];

		if (*pp == NULL) {
			if (!create || ngraphs >= GRAPH_CAP / 2)
				return NULL;
			*pp = calloc(1, sizeof(**pp));
			if (*pp == NULL)
				return NULL;
			(*pp)->g = g;
			ngraphs++;
			return *pp;
		}
		if ((*pp)->g == g)
			return *pp;
	}
	return NULL;
}

enum ds_cudnn_verdict ds_cudnn_choose(uint64_t g, uint64_t khash,
				      enum ds_cudnn_choice choice,
				      struct ds_cudnn_graph **out)
{
	enum ds_cudnn_verdict v = DS_CUDNN_ALLOW;
	struct ds_cudnn_graph *gr;

	graph_lock_take();
	gr = graph_get(g, true);
	*out = gr;
	while (gr) {
		if (gr->pinned) {
			v = gr->pin_khash == khash ? DS_CUDNN_ALLOW_PIN
						   : DS_CUDNN_VETO_PINNED;
			break;
		}
		if (choice == DS_CUDNN_ANY) {
			v = DS_CUDNN_ALLOW;
			break;
		}
		if (gr->chosen) {
			v = gr->chosen_khash == khash ? DS_CUDNN_ALLOW
						      : DS_CUDNN_VETO_CHOSEN;
			break;
		}
		if (gr->pending) {
			if (gr->pending_khash == khash) {
				/* the same config on another thread (forward
				 * and autograd threads tune separately) */
				v = DS_CUDNN_ALLOW;
				break;
			}
			pthread_cond_wait(&graph_cond, &graph_lock);
			continue;
		}
		gr->pending = true;
		gr->pending_khash = khash;
		v = DS_CUDNN_ALLOW_FIRST;
		break;
	}
	pthread_mutex_unlock(&graph_lock);
	return v;
}

bool ds_cudnn_choose_done(struct ds_cudnn_graph *gr, uint64_t khash,
			  enum ds_cudnn_verdict v, bool ok)
{
	bool unpinned = false;

	if (gr == NULL)
		return false;
	graph_lock_take();
	if (v == DS_CUDNN_ALLOW_FIRST && gr->pending &&
	    gr->pending_khash == khash) {
		gr->pending = false;
		if (ok) {
			gr->chosen = true;
			gr->chosen_khash = khash;
		}
		pthread_cond_broadcast(&graph_cond);
	} else if (v == DS_CUDNN_ALLOW_PIN && !ok && gr->pinned &&
		   gr->pin_khash == khash) {
		/* A pinned config that no longer builds (driver update,
		 * other memory state): do not leave the graph with no
		 * engine; fall back to the default rule, loudly. */
		gr->pinned = false;
		unpinned = true;
		pthread_cond_broadcast(&graph_cond);
	}
	pthread_mutex_unlock(&graph_lock);
	return unpinned;
}

int ds_cudnn_graph_cand(struct ds_cudnn_graph *gr,
			const struct ds_cudnn_cfgkey *key)
{
	uint64_t kh = ds_cudnn_cfgkey_hash(key);
	int idx = -1;
	unsigned i;

	graph_lock_take();
	for (i = 0; i < gr->ncand; i++)
		if (gr->cand[i].khash == kh) {
			idx = (int)i;
			break;
		}
	if (idx < 0 && gr->ncand < DS_CUDNN_MAX_CANDS) {
		struct ds_cudnn_cand *c = &gr->cand[gr->ncand];

		c->khash = kh;
		c->key = *key;
		atomic_store(&c->execs, 0);
		idx = (int)gr->ncand++;
	}
	pthread_mutex_unlock(&graph_lock);
	return idx;
}

int ds_cudnn_pin(uint64_t g, const struct ds_cudnn_cfgkey *key)
{
	struct ds_cudnn_graph *gr;
	uint64_t kh = ds_cudnn_cfgkey_hash(key);
	int e = 0;

	graph_lock_take();
	gr = graph_get(g, true);
	if (gr == NULL)
		e = -ENOSPC;
	else if (gr->pinned && gr->pin_khash != kh)
		e = -EEXIST;
	else {
		gr->pinned = true;
		gr->pin_khash = kh;
		gr->pin_key = *key;
	}
	pthread_mutex_unlock(&graph_lock);
	return e;
}

/* Under graph_lock (foreach) or with no concurrent writer. */
bool ds_cudnn_graph_settled(struct ds_cudnn_graph *gr,
			    struct ds_cudnn_cfgkey *out)
{
	unsigned long best = 0;
	unsigned i;
	int bi = -1;

	if (gr->pinned) {
		*out = gr->pin_key;
		return true;
	}
	/* The autotuner executes every candidate a few times while timing
	 * it; the config the program settled on is the one it kept
	 * executing afterwards, i.e. the most executed one. */
	for (i = 0; i < gr->ncand; i++) {
		unsigned long n = atomic_load(&gr->cand[i].execs);

		if (n > best) {
			best = n;
			bi = (int)i;
		}
	}
	if (bi < 0)
		return false;
	*out = gr->cand[bi].key;
	return true;
}

void ds_cudnn_graphs_foreach(void (*fn)(struct ds_cudnn_graph *gr, void *arg),
			     void *arg)
{
	unsigned i;

	graph_lock_take();
	for (i = 0; i < GRAPH_CAP; i++)
		if (graphs[i])
			fn(graphs[i], arg);
	pthread_mutex_unlock(&graph_lock);
}

unsigned ds_cudnn_graph_count(void)
{
	unsigned n;

	graph_lock_take();
	n = ngraphs;
	pthread_mutex_unlock(&graph_lock);
	return n;
}

void ds_cudnn_graphs_reset(void)
{
	unsigned i;

	graph_lock_take();
	for (i = 0; i < GRAPH_CAP; i++) {
		free(graphs[i]);
		graphs[i] = NULL;
	}
	ngraphs = 0;
	pthread_mutex_unlock(&graph_lock);
}
