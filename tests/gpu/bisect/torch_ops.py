"""A PyTorch step with one deliberately nondeterministic part, for
`detrun --verify --bisect` (tests/gpu/bisect/run.sh).

    python3 torch_ops.py index_add   # index_add_ (atomics) feeds a matmul
    python3 torch_ops.py conv        # a conv net, cuDNN heuristic mode

index_add: run with DETSHIM_TORCH=0, so that PyTorch's deterministic
mode is not answered on and index_add_ uses its atomic kernel.  That
kernel is PyTorch's own, not a library call: the bisection names the
first cuBLAS call whose inputs already differ (the matmul reading it).

conv: run with DETSHIM_POLICY=warn and DETSHIM_TORCH=0 (cuDNN's
nondeterministic engines are then observed, not vetoed) and benchmark
off; the weight-gradient engines PyTorch's heuristic picks may be noted
nondeterministic, and the bisection names that cudnnBackendExecute.

Prints one line with a hash of the result.
"""
import hashlib
import sys

import torch


def digest(t):
    return hashlib.sha256(t.detach().float().cpu().numpy().tobytes()).hexdigest()[:16]


def index_add():
    torch.manual_seed(0)
    dev = "cuda"
    w = torch.randn(512, 512, device=dev)
    src = torch.randn(1 << 16, 512, device=dev)
    idx = torch.randint(0, 512, (1 << 16,), device=dev)
    acc = torch.zeros(512, 512, device=dev)
    y = w @ w                        # cuBLAS, same inputs every run
    acc.index_add_(0, idx, src)      # atomics: the sum order varies
    z = acc @ y                      # cuBLAS: its input already differs
    torch.cuda.synchronize()
    print("index_add", digest(z))


def conv():
    torch.manual_seed(0)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = False
    dev = "cuda"
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 64, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(64, 64, 3, padding=1), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
        torch.nn.Linear(64, 10)).to(dev)
    x = torch.randn(64, 3, 32, 32, device=dev)
    t = torch.randint(0, 10, (64,), device=dev)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(x), t)
        loss.backward()
        opt.step()
    torch.cuda.synchronize()
    print("conv", digest(torch.cat([p.flatten() for p in net.parameters()])))


if __name__ == "__main__":
    {"index_add": index_add, "conv": conv}[sys.argv[1] if len(sys.argv) > 1 else "index_add"]()
