# verify_pool.py METHOD - a multiprocessing Pool and two workers under the
# start method METHOD (spawn, forkserver, fork).  Each worker draws from
# random and os.urandom; the pool's helper processes (the resource
# tracker, the fork server) are still running, and logging, when the
# main process exits.  What it prints does not depend on scheduling, so
# `detrun --verify` must find every run IDENTICAL (tests/it_detrun.sh).
import multiprocessing as mp
import os
import random
import sys


def square(x):
    return x * x


def draw(q, k):
    q.put((k, random.random(), os.urandom(8).hex()))


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    # close and join, not the with-block's terminate(): terminate kills
    # workers wherever they are in their start-up, which changes what
    # they did (and logged) from run to run.
    pool = mp.Pool(3)
    print(pool.map(square, range(12)))
    pool.close()
    pool.join()
    q = mp.Queue()
    ps = [mp.Process(target=draw, args=(q, k)) for k in range(2)]
    for p in ps:
        p.start()
    got = sorted(q.get() for _ in ps)
    for p in ps:
        p.join()
    for k, r, u in got:
        print(k, r, u)
