/*
 * Fake libnccl.so.2 for the hook tests (docs/DESIGN.md §8.14): a
 * communicator of one rank (ncclCommCount 1, ncclCommUserRank 0; any
 * pointer is a communicator), whose collectives write the receive buffer
 * from the send buffer (fake_compute.h).  Inside
 * ncclGroupStart/ncclGroupEnd they only queue, as NCCL's do, and run at
 * the outermost ncclGroupEnd: a hook that read the receive buffer right
 * after the call would see the old contents.
 */
#include <stddef.h>
#include <stdint.h>

#include "fake_compute.h"

#define OK 0
#define INVALID 4 /* ncclInvalidArgument */

static const size_t type_size[] = { 1, 1, 4, 4, 8, 8, 2, 4, 8, 2, 1, 1 };

struct op {
	const char *call;
	const void *send;
	void *recv;
	size_t in, out; /* bytes */
};

static int depth;
static struct op queued[64];
static int nqueued;

static void run(const struct op *o)
{
	fake_compute(o->call, o->recv, o->out, o->send, o->in, NULL, 0);
}

static int collective(const char *call, const void *send, void *recv,
		      size_t in_count, size_t out_count, int type)
{
	struct op o;

	if (type < 0 || type >= (int)(sizeof(type_size) / sizeof(type_size[0])))
		return INVALID;
	o.call = call;
	o.send = send;
	o.recv = recv;
	o.in = in_count * type_size[type];
	o.out = out_count * type_size[type];
	if (depth == 0) {
		run(&o);
		return OK;
	}
	if (nqueued == 64)
		return INVALID;
	queued[nqueued++] = o;
	return OK;
}

int ncclGroupStart(void)
{
	depth++;
	return OK;
}

int ncclGroupEnd(void)
{
	int i;

	if (depth == 0)
		return INVALID;
	if (--depth == 0) {
		for (i = 0; i < nqueued; i++)
			run(&queued[i]);
		nqueued = 0;
	}
	return OK;
}

int ncclCommCount(const void *comm, int *count)
{
	(void)comm;
	*count = 1;
	return OK;
}

int ncclCommUserRank(const void *comm, int *rank)
{
	(void)comm;
	*rank = 0;
	return OK;
}

int ncclAllReduce(const void *send, void *recv, size_t count, int type,
		  int op, void *comm, void *stream)
{
	(void)op; (void)comm; (void)stream;
	return collective("ncclAllReduce", send, recv, count, count, type);
}

int ncclReduceScatter(const void *send, void *recv, size_t count, int type,
		      int op, void *comm, void *stream)
{
	(void)op; (void)comm; (void)stream;
	return collective("ncclReduceScatter", send, recv, count, count, type);
}

int ncclAllGather(const void *send, void *recv, size_t count, int type,
		  void *comm, void *stream)
{
	(void)comm; (void)stream;
	return collective("ncclAllGather", send, recv, count, count, type);
}

int ncclReduce(const void *send, void *recv, size_t count, int type, int op,
	       int root, void *comm, void *stream)
{
	(void)op; (void)comm; (void)stream;
	if (root != 0)
		return INVALID;
	return collective("ncclReduce", send, recv, count, count, type);
}

int ncclBroadcast(const void *send, void *recv, size_t count, int type,
		  int root, void *comm, void *stream)
{
	(void)comm; (void)stream;
	if (root != 0)
		return INVALID;
	return collective("ncclBroadcast", send, recv, count, count, type);
}
