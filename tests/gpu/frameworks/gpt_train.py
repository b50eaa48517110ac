"""Workload: a small GPT-style transformer (causal SDPA attention, bf16
autocast, dropout 0.1), seeded the usual way, trained for a few AdamW
steps.  Prints RESULT gpt <hash of the weights> and STEP_MS.

    python3 gpt_train.py {default|torchdet} [steps]"""
import os, sys, time
import torch, torch.nn as nn, torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import result, step_ms

V, D, H, L, T, B = 4096, 512, 8, 4, 256, 16


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.n1, self.n2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.qkv, self.o = nn.Linear(D, 3 * D), nn.Linear(D, D)
        self.ff = nn.Sequential(nn.Linear(D, 4 * D), nn.GELU(), nn.Linear(4 * D, D))
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        q, k, v = self.qkv(self.n1(x)).view(B, T, 3, H, D // H).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                           dropout_p=0.1 if self.training else 0.0)
        x = x + self.drop(self.o(a.transpose(1, 2).reshape(B, T, D)))
        return x + self.drop(self.ff(self.n2(x)))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb, self.pos = nn.Embedding(V, D), nn.Parameter(torch.zeros(T, D))
        self.blocks = nn.Sequential(*[Block() for _ in range(L)])
        self.head = nn.Linear(D, V)

    def forward(self, tok):
        return self.head(self.blocks(self.emb(tok) + self.pos))


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "default"
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    torch.manual_seed(0)
    if mode == "torchdet":
        torch.use_deterministic_algorithms(True)
    net = GPT().cuda()
    opt = torch.optim.AdamW(net.parameters(), lr=3e-4)
    g = torch.Generator(device="cuda").manual_seed(1)
    data = torch.randint(0, V, (4, B, T + 1), device="cuda", generator=g)
    times = []
    for i in range(steps + 3):
        torch.cuda.synchronize()
        t = time.perf_counter()
        d = data[i % 4]
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = F.cross_entropy(net(d[:, :-1]).flatten(0, 1).float(), d[:, 1:].flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        torch.cuda.synchronize()
        if i >= 3:
            times.append(time.perf_counter() - t)
    w = torch.cat([p.detach().float().flatten() for p in net.parameters()])
    result("gpt", w.cpu().numpy().tobytes())
    step_ms(times)


if __name__ == "__main__":  # tests/gpu/ddp_train.py imports the model
    main()
