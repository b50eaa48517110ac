"""Workload: a training step compiled with torch.compile(mode="max-autotune"):
embedding (its backward is an accumulating index_put), two matmul layers
and a head, fp32, seeded.  Inductor benchmarks GEMM templates and Triton
configs by timing while it compiles.  Prints RESULT compile <hash of the
weights> and STEP_MS.

    python3 compile_train.py {default|torchdet} [steps]

torchdet: torch.use_deterministic_algorithms(True), which also sets
torch._inductor.config.deterministic (PyTorch's own deterministic mode).
Inductor keeps its caches under TORCHINDUCTOR_CACHE_DIR (run.sh gives
every run without the pinning cache a fresh one, as on a fresh machine)."""
import os, sys, time
import torch, torch.nn as nn, torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import result, step_ms

mode = sys.argv[1] if len(sys.argv) > 1 else "default"
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 20
torch.manual_seed(0)
if mode == "torchdet":
    torch.use_deterministic_algorithms(True)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(8192, 512)
        self.l1 = nn.Linear(512, 2048)
        self.l2 = nn.Linear(2048, 512)
        self.head = nn.Linear(512, 8192)

    def forward(self, tok):
        h = self.emb(tok)
        h = h + self.l2(F.gelu(self.l1(h)))
        return self.head(F.layer_norm(h, (512,)))


net = Net().cuda()
opt = torch.optim.SGD(net.parameters(), lr=0.05)
g = torch.Generator(device="cuda").manual_seed(1)
tok = torch.randint(0, 8192, (32, 128), device="cuda", generator=g)
tgt = torch.randint(0, 8192, (32, 128), device="cuda", generator=g)


@torch.compile(mode="max-autotune")
def fwd_bwd(tok, tgt):
    loss = F.cross_entropy(net(tok).flatten(0, 1), tgt.flatten())
    loss.backward()
    return loss


times = []
for i in range(steps + 2):
    torch.cuda.synchronize()
    t = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    fwd_bwd(tok, tgt)
    opt.step()
    torch.cuda.synchronize()
    if i >= 2:
        times.append(time.perf_counter() - t)
w = torch.cat([p.detach().flatten() for p in net.parameters()])
result("compile", w.cpu().numpy().tobytes())
step_ms(times)
