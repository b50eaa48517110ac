"""A data-parallel training job for torchrun, seeded the usual way.
Prints "rank<R> <hash of all weights>" and "rank<R> step_ms <median>" on
every rank.

    torchrun --standalone --nproc_per_node=N tests/gpu/ddp_train.py [MODEL [WRAP [STEPS]]]

MODEL: net (the default: conv layers, a scatter_add pooling, i.e. atomics
on the GPU, and a linear head), resnet18 (torchvision), gpt (the model of
tests/gpu/frameworks/gpt_train.py, bf16 autocast).  WRAP: ddp (the
default) or fsdp2 (fully_shard on each block, then on the model; torch
2.6 or later).  STEPS: 20.  Each rank trains on its own data.  Without a
GPU it runs with gloo on the CPU (net and ddp only: a smoke test).
"""
import hashlib
import os
import statistics
import sys
import time

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 32, 3, padding=1)
        self.c2 = nn.Conv2d(32, 32, 3, padding=1)
        self.head = nn.Linear(32 * 64, 10)

    def forward(self, x, bucket):
        h = F.relu(self.c2(F.relu(self.c1(x))))          # N,32,H,W
        n, c = h.shape[:2]
        flat = h.permute(0, 2, 3, 1).reshape(n, -1, c)   # N,HW,32
        # pool pixels into 64 buckets per sample: scatter_add (atomics)
        idx = bucket.unsqueeze(0).unsqueeze(-1).expand(n, -1, c)
        pooled = torch.zeros(n, 64, c, device=x.device).scatter_add_(1, idx, flat)
        return self.head(pooled.reshape(n, -1))


def workload(name, dev, rank):
    """(model, optimizer, step(i) -> loss) for one model name."""
    g = torch.Generator(device=dev).manual_seed(100 + rank)
    if name == "net":
        model = Net().to(dev)
        bucket = torch.randint(0, 64, (32 * 32,), device=dev,
                               generator=torch.Generator(device=dev).manual_seed(7))

        def loss(m, i):  # new data every step
            x = torch.randn(64, 3, 32, 32, device=dev, generator=g)
            y = torch.randint(0, 10, (64,), device=dev, generator=g)
            return F.cross_entropy(m(x, bucket), y)
        return model, loss, "sgd"
    if name == "resnet18":
        import torchvision
        model = torchvision.models.resnet18(num_classes=100).to(dev)
        batch = [(torch.randn(64, 3, 64, 64, device=dev, generator=g),
                  torch.randint(0, 100, (64,), device=dev, generator=g)) for _ in range(4)]
        return model, lambda m, i: F.cross_entropy(m(batch[i % 4][0]), batch[i % 4][1]), "sgd"
    if name == "gpt":
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "frameworks"))
        import gpt_train
        model = gpt_train.GPT().to(dev)
        data = torch.randint(0, gpt_train.V, (4, gpt_train.B, gpt_train.T + 1), device=dev,
                             generator=g)

        def loss(m, i):
            d = data[i % 4]
            with torch.autocast("cuda", dtype=torch.bfloat16):
                out = m(d[:, :-1])
            return F.cross_entropy(out.flatten(0, 1).float(), d[:, 1:].flatten())
        return model, loss, "adamw"
    raise SystemExit("unknown model %r (net, resnet18 or gpt)" % name)


def wrap(model, how, dev):
    if how == "ddp":
        return DDP(model, device_ids=[dev.index] if dev.type == "cuda" else None)
    if how == "fsdp2":
        try:
            from torch.distributed.fsdp import fully_shard
        except ImportError:
            from torch.distributed._composable.fsdp import fully_shard
        for m in model.modules():
            if type(m).__name__ in ("Block", "BasicBlock"):
                fully_shard(m)
        fully_shard(model)
        return model
    raise SystemExit("unknown wrap %r (ddp or fsdp2)" % how)


def main():
    name = sys.argv[1] if len(sys.argv) > 1 else "net"
    how = sys.argv[2] if len(sys.argv) > 2 else "ddp"
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    gpu = torch.cuda.is_available()
    dist.init_process_group("nccl" if gpu else "gloo")
    rank = dist.get_rank()
    if gpu:
        local = int(os.environ["LOCAL_RANK"])
        torch.cuda.set_device(local)
        dev = torch.device("cuda", local)
    else:
        dev = torch.device("cpu")
    torch.manual_seed(0)
    model, loss_of, optname = workload(name, dev, rank)
    model = wrap(model, how, dev)
    if optname == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    times = []
    for i in range(steps):
        if gpu:
            torch.cuda.synchronize()
        t = time.perf_counter()
        loss = loss_of(model, i)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if gpu:
            torch.cuda.synchronize()
        if i >= 3:
            times.append(time.perf_counter() - t)
    params = [p.full_tensor() if hasattr(p, "full_tensor") else p for p in model.parameters()]
    w = torch.cat([p.detach().float().flatten() for p in params])
    h = hashlib.sha256(w.cpu().numpy().tobytes()).hexdigest()[:16]
    print("rank%d %s" % (rank, h), flush=True)
    if times:
        print("rank%d step_ms %.3f" % (rank, statistics.median(times) * 1e3), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
