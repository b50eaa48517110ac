"""Seeds a Python job the ways real scripts do (issue 16): hard-coded
torch.manual_seed(42), random.seed(42) and np.random.seed(42), and the
same three from time.time().  Under one DETSHIM_SEED two runs a second
apart print the same; another DETSHIM_SEED prints something else
(tests/it_seeds.sh)."""
import random
import sys
import time

out = []
random.seed(42)
out.append(random.random())
random.seed(time.time())
out.append(random.random())
try:
    import numpy as np
    np.random.seed(42)
    out.append(float(np.random.rand()))
    np.random.seed(int(time.time()))
    out.append(float(np.random.rand()))
    out.append(float(np.random.default_rng(7).random()))
except ImportError:
    pass
try:
    import torch
    torch.manual_seed(42)
    out.append(torch.rand(1).item())
    torch.manual_seed(int(time.time() * 1000))
    out.append(torch.rand(1).item())
    g = torch.Generator()
    g.manual_seed(42)
    out.append(torch.rand(1, generator=g).item())
except ImportError:
    pass
print(" ".join("%.17g" % v for v in out))
sys.exit(0)
