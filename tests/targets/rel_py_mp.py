"""multiprocessing with fork, spawn and forkserver while background threads
draw entropy (os.urandom, random, os.getrandom) in the parent.  Each
method starts 3 workers one after the other (so the fork and exec ordinals
are taken in a fixed order by the main thread) and prints what each worker
drew.  Run by tests/it_reliability.sh under `timeout`: a deadlock in a
child fails the test instead of hanging it."""
import multiprocessing as mp
import os
import random
import sys
import threading

stop = threading.Event()


def churn():
    while not stop.is_set():
        os.urandom(16)
        random.random()
        os.getrandom(8)


def work(q, i):
    q.put((i, "%.12f %s" % (random.random(), os.urandom(8).hex())))


if __name__ == "__main__":
    threads = [threading.Thread(target=churn, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    seen = set()
    for method in sys.argv[1:] or ("fork", "spawn", "forkserver"):
        ctx = mp.get_context(method)
        q = ctx.Queue()
        res = {}
        for i in range(3):
            p = ctx.Process(target=work, args=(q, i))
            p.start()
            k, v = q.get(timeout=60)
            p.join(60)
            assert p.exitcode == 0, (method, i, p.exitcode)
            res[k] = v
        for i in range(3):
            assert res[i] not in seen, (method, i, res[i])
            seen.add(res[i])
            print(method, i, res[i])
    stop.set()
    for t in threads:
        t.join()
