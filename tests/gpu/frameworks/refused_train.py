"""Workloads built on the ops PyTorch's deterministic mode refuses
(tests/gpu/run_refused.sh runs them), each seeded the way users seed it.

    python3 refused_train.py WORKLOAD {default|torchdet} [steps] [compile]

WORKLOAD:
  seg      segmentation: conv encoder, pyramid pooling (adaptive average
           pooling), bilinear upsampling, 2-D cross-entropy with
           ignore_index, AMP fp16 with GradScaler, channels_last,
           cudnn.benchmark = True
  video    3-D convolutions with 3-D max and average pooling and adaptive
           average pooling, benchmark = True
  ctc      a 1-D convolutional acoustic model trained with CTC loss
  stn      a spatial transformer: affine_grid + grid_sample, then a
           classifier, benchmark = True
  metrics  a classifier whose loop keeps histc and weighted bincount
           statistics of its outputs
compile: the model under torch.compile (default mode).
torchdet: torch.use_deterministic_algorithms(True) first (PyTorch's own
mode: these workloads raise there).
Prints RESULT <workload> <hash of the weights and statistics> and STEP_MS
(tests/gpu/frameworks/common.py).  REFUSED_PROFILE=FILE: then 3 steps
under torch.profiler, the 25 entries with the most GPU time in FILE.
"""
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import result, step_ms  # noqa: E402

wl = sys.argv[1]
mode = sys.argv[2] if len(sys.argv) > 2 else "default"
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 10
compiled = len(sys.argv) > 4 and sys.argv[4] == "compile"
torch.manual_seed(0)
if mode == "torchdet":
    torch.use_deterministic_algorithms(True)
dev = "cuda"


class Seg(nn.Module):
    def __init__(self, classes=21):
        super().__init__()
        self.enc = nn.Sequential(
            nn.Conv2d(3, 32, 3, 2, 1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.Conv2d(32, 64, 3, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
            nn.Conv2d(64, 128, 3, 2, 1), nn.BatchNorm2d(128), nn.ReLU())
        self.ppm = nn.ModuleList(nn.Conv2d(128, 32, 1) for _ in range(4))
        self.head = nn.Conv2d(128 + 4 * 32, classes, 3, 1, 1)

    def forward(self, x):
        f = self.enc(x)
        h, w = f.shape[-2:]
        parts = [f] + [F.interpolate(c(F.adaptive_avg_pool2d(f, s)), (h, w),
                                     mode="bilinear", align_corners=False)
                       for c, s in zip(self.ppm, (1, 2, 3, 6))]
        y = self.head(torch.cat(parts, 1))
        return F.interpolate(y, scale_factor=8, mode="bilinear",
                             align_corners=False)


class Video(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv3d(3, 32, 3, 1, 1), nn.ReLU(), nn.MaxPool3d(3, 2, 1),
            nn.Conv3d(32, 64, 3, 1, 1), nn.ReLU(), nn.AvgPool3d(3, 2, 1),
            nn.Conv3d(64, 64, 3, 1, 1), nn.ReLU(),
            nn.AdaptiveAvgPool3d((1, 2, 2)), nn.Flatten(), nn.Linear(256, 10))

    def forward(self, x):
        return self.net(x)


class Acoustic(nn.Module):
    def __init__(self, feats=40, classes=30):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(feats, 128, 5, 1, 2), nn.ReLU(),
            nn.Conv1d(128, 128, 5, 1, 2), nn.ReLU(),
            nn.Conv1d(128, classes, 1))

    def forward(self, x):  # (N, F, T) -> (T, N, C) log-probabilities
        return self.net(x).permute(2, 0, 1).log_softmax(2)


class STN(nn.Module):
    def __init__(self):
        super().__init__()
        self.loc = nn.Sequential(
            nn.Conv2d(1, 8, 7), nn.MaxPool2d(2), nn.ReLU(),
            nn.Conv2d(8, 10, 5), nn.MaxPool2d(2), nn.ReLU(), nn.Flatten(),
            nn.Linear(10 * 3 * 3, 32), nn.ReLU(), nn.Linear(32, 6))
        nn.init.zeros_(self.loc[-1].weight)
        with torch.no_grad():
            self.loc[-1].bias.copy_(torch.tensor([1., 0, 0, 0, 1, 0]))
        self.cls = nn.Sequential(
            nn.Conv2d(1, 16, 5), nn.MaxPool2d(2), nn.ReLU(),
            nn.Conv2d(16, 32, 5), nn.MaxPool2d(2), nn.ReLU(), nn.Flatten(),
            nn.Linear(32 * 4 * 4, 10))

    def forward(self, x):
        theta = self.loc(x).view(-1, 2, 3)
        grid = F.affine_grid(theta, x.shape, align_corners=False)
        return self.cls(F.grid_sample(x, grid, align_corners=False))


def seg():
    torch.backends.cudnn.benchmark = True
    m = Seg().to(dev).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    scaler = torch.amp.GradScaler("cuda")
    x = torch.randn(8, 3, 128, 128, device=dev).to(
        memory_format=torch.channels_last)
    t = torch.randint(0, 21, (8, 128, 128), device=dev)
    t[:, :8] = 255
    fwd = torch.compile(m) if compiled else m

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.float16):
            loss = F.cross_entropy(fwd(x), t, ignore_index=255)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    return m, step, []


def video():
    torch.backends.cudnn.benchmark = True
    m = Video().to(dev)
    opt = torch.optim.SGD(m.parameters(), lr=0.01)
    x = torch.randn(4, 3, 16, 64, 64, device=dev)
    y = torch.randint(0, 10, (4,), device=dev)
    fwd = torch.compile(m) if compiled else m

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(fwd(x), y).backward()
        opt.step()
    return m, step, []


def ctc():
    m = Acoustic().to(dev)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    x = torch.randn(16, 40, 200, device=dev)
    tg = torch.randint(1, 30, (16, 40), device=dev)
    il = torch.full((16,), 200, dtype=torch.long)
    tl = torch.randint(10, 40, (16,))
    fwd = torch.compile(m) if compiled else m

    def step():
        opt.zero_grad(set_to_none=True)
        F.ctc_loss(fwd(x), tg, il, tl).backward()
        opt.step()
    return m, step, []


def stn():
    torch.backends.cudnn.benchmark = True
    m = STN().to(dev)
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(64, 1, 28, 28, device=dev)
    y = torch.randint(0, 10, (64,), device=dev)
    fwd = torch.compile(m) if compiled else m

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(fwd(x), y).backward()
        opt.step()
    return m, step, []


def metrics():
    m = nn.Sequential(nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 100)).to(dev)
    opt = torch.optim.SGD(m.parameters(), lr=0.05)
    x = torch.randn(4096, 256, device=dev)
    y = torch.randint(0, 100, (4096,), device=dev)
    stats = [torch.zeros(64, device=dev), torch.zeros(100, device=dev)]
    fwd = torch.compile(m) if compiled else m

    def step():
        opt.zero_grad(set_to_none=True)
        out = fwd(x)
        F.cross_entropy(out, y).backward()
        opt.step()
        with torch.no_grad():
            p = out.softmax(1)
            conf, pred = p.max(1)
            stats[0] += torch.histc(conf, 64, 0, 1)
            stats[1] += torch.bincount(pred, weights=conf, minlength=100)
    return m, step, stats


model, step, extra = {"seg": seg, "video": video, "ctc": ctc, "stn": stn,
                      "metrics": metrics}[wl]()
times = []
for i in range(steps + 2):
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    step()
    torch.cuda.synchronize()
    if i >= 2:  # after benchmark mode's and compile's first steps
        times.append(time.perf_counter() - t0)
data = b"".join(p.detach().float().cpu().numpy().tobytes()
                for p in list(model.parameters()) + extra)
result(wl + ("_compile" if compiled else ""), data)
step_ms(times)
# REFUSED_PROFILE=FILE: after the timed steps (the result is already
# taken), 3 more steps under torch.profiler, and the 25 entries with the
# most GPU time written to FILE: where a step's time goes.
if os.environ.get("REFUSED_PROFILE"):
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU,
                             ProfilerActivity.CUDA]) as prof:
        for _ in range(3):
            step()
        torch.cuda.synchronize()
    with open(os.environ["REFUSED_PROFILE"], "w") as f:
        f.write(prof.key_averages().table(sort_by="cuda_time_total",
                                          row_limit=25))
