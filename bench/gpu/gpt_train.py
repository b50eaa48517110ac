"""Workload: a small GPT-style transformer training step (bf16 autocast,
causal SDPA with dropout, residual dropout, AdamW), for bench/gpu.sh.
Prints the mean step time over the timed steps and a hash of the weights,
in resnet_train.py's format.

Usage: python3 gpt_train.py {default|default_nobench|torchdet|torchdet_nobench} [steps]
torchdet: torch.backends.cudnn.deterministic = True and
torch.use_deterministic_algorithms(True) (bench/gpu.sh sets
CUBLAS_WORKSPACE_CONFIG for it); *_nobench: cudnn.benchmark = False."""
import hashlib, sys, time
import torch, torch.nn as nn, torch.nn.functional as F

mode = sys.argv[1]
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 50
torch.manual_seed(0)
torch.backends.cudnn.benchmark = not mode.endswith("nobench")
if mode.startswith("torchdet"):
    torch.backends.cudnn.deterministic = True
    torch.use_deterministic_algorithms(True)

VOCAB, D, HEADS, LAYERS, SEQ, BATCH, P = 8192, 512, 8, 6, 256, 32, 0.1


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.qkv, self.proj = nn.Linear(D, 3 * D), nn.Linear(D, D)
        self.fc, self.out = nn.Linear(D, 4 * D), nn.Linear(4 * D, D)
        self.drop = nn.Dropout(P)

    def forward(self, x):
        b, t, _ = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, HEADS, D // HEADS).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v, dropout_p=P if self.training else 0.0, is_causal=True)
        x = x + self.drop(self.proj(a.transpose(1, 2).reshape(b, t, D)))
        return x + self.drop(self.out(F.gelu(self.fc(self.ln2(x)))))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok, self.pos = nn.Embedding(VOCAB, D), nn.Embedding(SEQ, D)
        self.blocks = nn.ModuleList(Block() for _ in range(LAYERS))
        self.ln, self.head = nn.LayerNorm(D), nn.Linear(D, VOCAB, bias=False)
        self.drop = nn.Dropout(P)

    def forward(self, idx):
        x = self.drop(self.tok(idx) + self.pos(torch.arange(idx.shape[1], device=idx.device)))
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.ln(x))


net = GPT().cuda()
opt = torch.optim.AdamW(net.parameters(), lr=3e-4)
g = torch.Generator(device="cuda").manual_seed(1)
xs = [torch.randint(0, VOCAB, (BATCH, SEQ + 1), device="cuda", generator=g) for _ in range(4)]


def step(i):
    x = xs[i % 4]
    with torch.autocast("cuda", dtype=torch.bfloat16):
        logits = net(x[:, :-1])
    loss = F.cross_entropy(logits.float().view(-1, VOCAB), x[:, 1:].reshape(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


for i in range(5):
    step(i)
torch.cuda.synchronize()
t = time.perf_counter()
for i in range(steps):
    step(i)
torch.cuda.synchronize()
dt = (time.perf_counter() - t) / steps
hsh = hashlib.sha256(torch.cat([p.detach().flatten() for p in net.parameters()]).cpu().numpy().tobytes()).hexdigest()[:16]
print(f"gpt {mode} step_ms={dt*1e3:.2f} weights={hsh}")
