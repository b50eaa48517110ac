"""A GPT-2-sized forward for `detrun --verify-batch` (docs/GUIDE.md,
"Checking batch invariance"): random weights, a batch of prompts, one
forward without a key/value cache, the logits' digest printed.

  python3 tests/python/batch_check_gpt2.py [--device cuda|cpu]
      [--dtype bfloat16|float16|float32] [--batch 8] [--seq 128]
      [--layers 12] [--width 768]

With Hugging Face transformers installed: GPT2LMHeadModel (use_cache=
False); without it, the same shape built from torch.nn (causal
TransformerEncoder layers, an LM head).  Under the check, the modules
that differ name the layers whose kernels depend on the batch size.
"""

import argparse
import hashlib

import torch


def plain_gpt(layers, width, vocab, seq):
    class GPT(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = torch.nn.Embedding(vocab, width)
            self.wpe = torch.nn.Embedding(seq, width)
            layer = torch.nn.TransformerEncoderLayer(
                width, width // 64, 4 * width, dropout=0.0,
                activation="gelu", batch_first=True, norm_first=True)
            self.h = torch.nn.TransformerEncoder(layer, layers)
            self.ln_f = torch.nn.LayerNorm(width)
            self.lm_head = torch.nn.Linear(width, vocab, bias=False)

        def forward(self, input_ids):
            n = input_ids.shape[1]
            pos = torch.arange(n, device=input_ids.device)
            mask = torch.triu(torch.full((n, n), float("-inf"),
                                         device=input_ids.device), 1)
            x = self.wte(input_ids) + self.wpe(pos)
            return self.lm_head(self.ln_f(self.h(x, mask=mask)))

    return GPT()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available()
                    else "cpu")
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--width", type=int, default=768)
    a = ap.parse_args()
    torch.manual_seed(1)
    vocab = 50257
    try:
        import transformers
        cfg = transformers.GPT2Config(n_layer=a.layers, n_embd=a.width,
                                      n_head=a.width // 64,
                                      n_positions=max(1024, a.seq))
        model = transformers.GPT2LMHeadModel(cfg)
        kind = "transformers GPT2LMHeadModel"
        kwargs = {"use_cache": False}
    except ImportError:
        model = plain_gpt(a.layers, a.width, vocab, a.seq)
        kind = "torch.nn GPT"
        kwargs = {}
    model = model.to(a.device, getattr(torch, a.dtype)).eval()
    ids = torch.randint(0, vocab, (a.batch, a.seq), device=a.device)
    with torch.no_grad():
        out = model(ids, **kwargs)
    logits = out if isinstance(out, torch.Tensor) else out.logits
    digest = hashlib.sha256(logits.float().cpu().numpy().tobytes())
    print("%s, %d layers x %d, %s, batch %d x %d: logits %s" % (
        kind, a.layers, a.width, a.dtype, a.batch, a.seq,
        digest.hexdigest()[:16]))


if __name__ == "__main__":
    main()
