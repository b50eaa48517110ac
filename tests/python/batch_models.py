"""Programs for the batch checker (python/_detshim/batch_check.py), run
by tests/it_python.sh and tests/it_detrun.sh on the CPU:

  python3 batch_models.py variant    a layer that depends on the batch
  python3 batch_models.py invariant  elementwise layers only
  python3 batch_models.py unsafe     calls the checker must not rerun
  python3 batch_models.py many       more batched calls than are checked

Each prints what the program computed (outputs as hex floats, the next
torch.rand, a buffer the model counts its calls in), so that a run with
the checker and one without can be compared byte for byte.
"""

import sys

import torch


class Pre(torch.nn.Module):
    """Elementwise: a row's output does not depend on the others."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.linspace(0.5, 1.5, 16))
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))

    def forward(self, x):
        self.calls += 1  # in place, in eval mode: the rerun must undo it
        return torch.tanh(x * self.w + 0.25)


class Variant(torch.nn.Module):
    """Adds what depends on the batch size, and draws a random number
    (the rerun draws again: the program's stream must not move)."""

    def forward(self, x):
        return x + x.shape[0] * 1e-3 + 0 * torch.rand(1)


class Pair(torch.nn.Module):
    """A tuple output: compared by its first tensor."""

    def forward(self, x):
        return x * 2, {"b": x.sum(), "a": x - 1}


class Stats(torch.nn.Module):
    """An output without the batch dimension: not compared (counted)."""

    def forward(self, x):
        return x.mean(0)


class Net(torch.nn.Module):
    def __init__(self, variant):
        super().__init__()
        self.pre = Pre()
        self.mid = Variant() if variant else torch.nn.Identity()
        self.pair = Pair()
        self.post = torch.nn.ReLU()
        self.stats = Stats()

    def forward(self, x, scale=1.0, extra=None):
        y, _ = self.pair(self.mid(self.pre(x)))
        self.stats(y)
        if extra is not None:
            y = y + extra["shift"][0]
        return self.post(y) * scale


class Cache:
    """Like a key/value cache object: the call changes it."""

    def __init__(self):
        self.n = 0


class Cached(torch.nn.Module):
    def forward(self, x, cache=None):
        if cache is not None:
            cache.n += 1
        return x * 2


class Fails(torch.nn.Module):
    def forward(self, x):
        raise ValueError("the program's own error")


def h(t):
    return " ".join(v.hex() for v in t.reshape(-1).tolist())


def main(what):
    torch.manual_seed(0)
    x = torch.randn(8, 16)
    if what in ("variant", "invariant"):
        net = Net(what == "variant").eval()
        with torch.no_grad():
            y = net(x, scale=2.0, extra={"shift": [torch.full((1, 16), .5)]})
        print(h(y))
        # Grad on, eval mode: checked too, and backward still works.
        xg = x.clone().requires_grad_()
        net(xg).sum().backward()
        print(h(xg.grad), h(net.pre.w.grad))
        print("calls", int(net.pre.calls), "rand", torch.rand(1).item().hex())
    elif what == "unsafe":
        c = Cache()
        m = Cached().eval()
        print(m(x, cache=c).sum().item(), "cache", c.n)
        m.train()
        print(m(x).sum().item())
        f = Fails().eval()
        try:
            f(x)
        except ValueError as e:
            print("raised", e, "hooks", len(f._forward_hooks))
        print("rand", torch.rand(1).item().hex())
    elif what == "many":
        net = Net(False).eval()
        with torch.no_grad():
            for _ in range(6):
                x = net(x)
        print(h(x), torch.nn.Module.__call__.__module__)


if __name__ == "__main__":
    main(sys.argv[1])
