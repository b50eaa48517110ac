"""Generators made with a seed (tests/it_seeds.sh, docs/SEEDS.md): each
seeded with 42 and with the clock, one line per generator.  Argument:
random, numpy or torch (the module the lines need)."""
import sys
import time


def line(name, draw):
    print(name, repr(draw(42)), repr(draw(int(time.time()))))


what = sys.argv[1]
if what == "random":
    import pickle
    import random

    def reseeded(s):
        r = random.Random()
        r.seed(s)
        return r.random()

    class Sub(random.Random):  # a subclass keeps working
        def __init__(self, s):
            super().__init__(s)
    line("random.Random", lambda s: random.Random(s).random())
    line("random.Random.seed", reseeded)
    line("random.Random-subclass", lambda s: Sub(s).random())
    r = random.Random(1)
    assert type(r) is random.Random and isinstance(r, random.Random)
    assert pickle.loads(pickle.dumps(r)).random() == r.random()
elif what == "numpy":
    import pickle
    import numpy as np
    r = np.random

    def reseeded(s):
        g = r.RandomState()
        g.seed(s)
        return g.rand()
    line("numpy.random.RandomState", lambda s: r.RandomState(s).rand())
    line("numpy.random.RandomState.seed", reseeded)
    line("numpy.random.Generator(PCG64)",
         lambda s: r.Generator(r.PCG64(s)).random())
    line("numpy.random.MT19937", lambda s: int(r.MT19937(s).random_raw()))
    g = r.RandomState(3)
    assert r.RandomState.__module__ == "numpy.random.mtrand"
    assert isinstance(g, r.RandomState)
    assert pickle.loads(pickle.dumps(g)).rand() == g.rand()
    b = r.PCG64(3)
    assert pickle.loads(pickle.dumps(b)).random_raw() == b.random_raw()
elif what == "torch":
    import torch

    def gen(s):
        g = torch.Generator()
        g.manual_seed(s)
        return torch.rand(1, generator=g).item()
    line("torch.Generator.manual_seed", gen)
sys.stdout.flush()
