"""multiprocessing with fork, spawn and forkserver: two worker processes
per start method report random values.  Results are sorted: the order in
which workers finish is a race; which values each one draws is not."""
import multiprocessing as mp
import os
import random


def work(q, i):
    q.put("%d %.12f %s" % (i, random.random(), os.urandom(4).hex()))


if __name__ == "__main__":
    for method in ("fork", "spawn", "forkserver"):
        ctx = mp.get_context(method)
        q = ctx.Queue()
        procs = [ctx.Process(target=work, args=(q, i)) for i in range(2)]
        for p in procs:
            p.start()
        res = sorted(q.get() for _ in procs)
        for p in procs:
            p.join()
        # Sibling workers draw distinct values.
        assert res[0].split()[1] != res[1].split()[1], res
        print(method, " | ".join(res))
