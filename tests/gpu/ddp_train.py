"""A small DDP training job for torchrun (2 GPUs): conv layers, a
scatter_add pooling (atomics on the GPU) and a linear head, seeded the
usual way.  Prints "rank<R> <hash of all weights>" on every rank.

    torchrun --standalone --nproc_per_node=2 tests/gpu/ddp_train.py
"""
import hashlib, os
import torch, torch.nn as nn, torch.nn.functional as F
import torch.distributed as dist
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


def main():
    dist.init_process_group("nccl")
    rank = dist.get_rank()
    local = int(os.environ["LOCAL_RANK"])
    torch.cuda.set_device(local)
    dev = torch.device("cuda", local)
    torch.manual_seed(0)
    model = DDP(Net().to(dev), device_ids=[local])
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    g = torch.Generator(device=dev).manual_seed(100 + rank)
    bucket = torch.randint(0, 64, (32 * 32,), device=dev,
                           generator=torch.Generator(device=dev).manual_seed(7))
    for _ in range(20):
        x = torch.randn(64, 3, 32, 32, device=dev, generator=g)
        y = torch.randint(0, 10, (64,), device=dev, generator=g)
        loss = F.cross_entropy(model(x, bucket), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    w = torch.cat([p.detach().flatten() for p in model.parameters()])
    h = hashlib.sha256(w.cpu().numpy().tobytes()).hexdigest()[:16]
    print("rank%d %s" % (rank, h), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
