"""Part 3: a whole model.

hf      Hugging Face GPT-2 (GPT2Config's default sizes: 12 layers, 768
        wide; random init after torch.manual_seed(0); bf16, eval), greedy
        generate() of NEW tokens with the logits of every step: a prompt
        alone against the same prompt as row 0 of a batch of B (the other
        rows other prompts of the same length: no padding).  Rows
        {"kind": "hf", B, tokens_differ, first_token, steps_differ,
        first_step, first}.  Without transformers: one "skipped" row.
stack   a hand-written transformer (embedding, pre-norm blocks with
        causal scaled_dot_product_attention and a GELU MLP, final norm,
        LM head; no Hugging Face), one forward of T tokens: row 0 of a
        batch of B against alone, per block and for the logits.  Rows
        {"kind": "stack", B, layers_differ, first, logits}.
cost    {"kind": "cost", what, s}: generate() for B = 1, 8, 32 (without
        the per-step outputs), one prefill forward of the HF model (8 x
        512 tokens), one forward of the stack per B; each the median of
        a few runs after a warm-up.
"""
import statistics

import torch
import torch.nn as nn
import torch.nn.functional as F

import harness

if harness.CPU:
    HF_CFG = dict(n_layer=2, n_embd=64, n_head=4, vocab_size=1000,
                  n_positions=128)
    PROMPT, NEW, HF_BATCHES, GEN_TIME = 8, 8, (2, 8), (1, 8)
    PREFILL = (2, 32)
    STACK = dict(layers=2, d=64, heads=4, vocab=100)
    STACK_T, STACK_BATCHES = 16, (2, 8)
    REPS = 1
else:
    HF_CFG = {}
    PROMPT, NEW, HF_BATCHES, GEN_TIME = 32, 64, (2, 8, 32), (1, 8, 32)
    PREFILL = (8, 512)
    STACK = dict(layers=6, d=768, heads=12, vocab=32000)
    STACK_T, STACK_BATCHES = 256, (8, 32)
    REPS = 3
DT = torch.bfloat16


def median_s(fn, reps):
    return statistics.median(harness.wall_s(fn)[0] for _ in range(reps))


def hf_part(out):
    try:
        import transformers
        from transformers import GPT2Config, GPT2LMHeadModel
        from transformers.utils import logging as hf_logging
    except ImportError as e:
        out.row("skipped", what="hf generate", reason="no transformers (%s)" % e)
        return []
    hf_logging.set_verbosity_error()
    dev = harness.DEVICE
    torch.manual_seed(0)
    cfg = GPT2Config(**HF_CFG)
    model = GPT2LMHeadModel(cfg).to(dev, DT).eval()
    out.row("hf_model", transformers=transformers.__version__,
            attn=getattr(model.config, "_attn_implementation", None),
            layers=cfg.n_layer, width=cfg.n_embd, vocab=cfg.vocab_size,
            prompt=PROMPT, new=NEW)
    g = torch.Generator().manual_seed(1)
    prompts = torch.randint(0, cfg.vocab_size, (max(HF_BATCHES), PROMPT),
                            generator=g).to(dev)
    want = {"output_logits": True}

    def gen(b, new=NEW, outputs=True):
        kw = dict(input_ids=prompts[:b],
                  attention_mask=torch.ones_like(prompts[:b]),
                  do_sample=False, num_beams=1, max_new_tokens=new,
                  min_new_tokens=new, pad_token_id=0)
        if outputs:
            kw.update(return_dict_in_generate=True, output_scores=True, **want)
        with torch.no_grad():
            try:
                return model.generate(**kw)
            except (TypeError, ValueError):
                if not (outputs and want):
                    raise
                want.clear()  # transformers before output_logits
                kw.pop("output_logits")
                return model.generate(**kw)

    gen(1, new=4, outputs=False)  # warm-up: handles, kernels, caches
    ref = gen(1)
    ref_tok = ref.sequences[0, PROMPT:]
    src = "logits" if getattr(ref, "logits", None) else "scores"
    ref_steps = getattr(ref, src)
    for b in HF_BATCHES:
        if out.over("hf B=%d" % b, 2):
            continue
        try:
            r = gen(b)
            tok = r.sequences[0, PROMPT:]
            ne = (tok != ref_tok).nonzero()
            steps = getattr(r, src)
            differ = [t for t in range(len(ref_steps))
                      if harness.first_diff(steps[t][:1], ref_steps[t][:1])]
            first = None
            if differ:
                t = differ[0]
                first = "step %d: %s" % (
                    t, harness.first_diff(steps[t][:1], ref_steps[t][:1]))
            out.row("hf", B=b, new=len(ref_tok), tokens_differ=int(ne.numel()),
                    first_token=int(ne[0]) if ne.numel() else None,
                    source=src, steps=len(ref_steps), steps_differ=len(differ),
                    first_step=differ[0] if differ else None, first=first)
            del r, steps
        except Exception as e:  # noqa: BLE001
            out.error("hf B=%d" % b, e, B=b)
    del ref, ref_steps
    # (the runs above warmed these sizes up)
    costs = [("generate B=%d, %d tokens" % (b, NEW), b, max(1, REPS - 1),
              lambda b=b: gen(b, outputs=False), False) for b in GEN_TIME]
    pb, pt = PREFILL
    ids = torch.randint(0, cfg.vocab_size, (pb, pt), generator=g).to(dev)

    def prefill():
        with torch.no_grad():
            return model(input_ids=ids, use_cache=False).logits
    costs.append(("HF prefill forward %d x %d tokens" % (pb, pt), pb, REPS + 2,
                  prefill, True))
    return costs


def sdpa_fn():
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention, "sdpa"
    from ops import manual_sdpa  # torch < 2.0 (the CPU smoke)
    return manual_sdpa, "manual attention (no SDPA in this torch)"


class Block(nn.Module):
    def __init__(self, d, heads, attn):
        super().__init__()
        self.h, self.attn = heads, attn
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, self.h, d // self.h) \
            .permute(2, 0, 3, 1, 4)
        a = self.attn(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(a)
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class Stack(nn.Module):
    def __init__(self, layers, d, heads, vocab, attn):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList(Block(d, heads, attn) for _ in range(layers))
        self.ln, self.head = nn.LayerNorm(d), nn.Linear(d, vocab, bias=False)

    def forward(self, ids):
        x, hs = self.emb(ids), []
        for blk in self.blocks:
            x = blk(x)
            hs.append(x)
        return self.head(self.ln(x)), hs


def stack_part(out):
    dev = harness.DEVICE
    attn, kind = sdpa_fn()
    torch.manual_seed(0)
    model = Stack(attn=attn, **STACK).to(dev, DT).eval()
    out.row("stack_model", attention=kind, T=STACK_T, **STACK)
    g = torch.Generator().manual_seed(2)
    ids = torch.randint(0, STACK["vocab"], (max(STACK_BATCHES), STACK_T),
                        generator=g).to(dev)
    with torch.no_grad():
        ref_logits, ref_hs = model(ids[:1])
        for b in STACK_BATCHES:
            if out.over("stack B=%d" % b, 1):
                continue
            try:
                logits, hs = model(ids[:b])
                differ = [i for i, (h, r) in enumerate(zip(hs, ref_hs))
                          if harness.first_diff(h[:1], r)]
                first = None
                if differ:
                    first = "block %d: %s" % (differ[0], harness.first_diff(
                        hs[differ[0]][:1], ref_hs[differ[0]]))
                out.row("stack", B=b, layers=len(hs), layers_differ=differ,
                        first=first,
                        logits=harness.first_diff(logits[:1], ref_logits))
            except Exception as e:  # noqa: BLE001
                out.error("stack B=%d" % b, e, B=b)

    def fwd(x):
        with torch.no_grad():
            return model(x)
    return [("stack forward B=%d x %d tokens" % (b, STACK_T), b, REPS + 2,
             lambda b=b: fwd(ids[:b]), True) for b in (1,) + STACK_BATCHES]


def main():
    out = harness.start("generate")
    costs = []
    # the bitwise checks of both parts first, then every timing
    for name, part in (("hf", hf_part), ("stack", stack_part)):
        if out.over(name, 5):
            continue
        try:
            costs += part(out)
        except Exception as e:  # noqa: BLE001 - one part, not the script
            out.error(name, e)
    for what, b, reps, fn, warm in costs:
        if out.over(what + " time", 3):
            continue
        try:
            if warm:
                fn()  # at this size
            s = median_s(fn, reps)
            out.row("cost", what=what, B=b, s=s, reps=reps)
        except Exception as e:  # noqa: BLE001
            out.error(what + " time", e)
    out.row("done")


if __name__ == "__main__":
    main()
