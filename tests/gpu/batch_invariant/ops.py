"""Part 2: the rest of a transformer, op by op: is row 0 of a batch of B
the same, bit for bit, as that row computed alone?

Row ops over the last dim (softmax, log_softmax, sum, mean, layer_norm,
rms_norm where torch has it) at decode shapes [B, D] and a prefill shape
[B, T, D]; scaled_dot_product_attention with each backend forced in turn
(torch.nn.attention.sdpa_kernel) and with the default choice: one query
over a KV cache of S (decode), and a causal prefill.  Rows
{"kind": "op", op, dtype, shape, backend, batches: [B...], differ: {B:
description}} or {"kind": "error"} for a backend that refuses the shape.
"""
import contextlib
import math

import torch
import torch.nn.functional as F

import harness

if harness.CPU:
    ROW_SHAPES = [("decode", (64,), (2, 8, 33)), ("prefill", (16, 64), (2, 8))]
    VOCAB = 100
    SDPA_DECODE = [(4, 16, 64)]          # heads, head dim, KV length
    SDPA_PREFILL = [(4, 16, 32)]
    SDPA_BATCHES = (2, 8)
else:
    ROW_SHAPES = [("decode", (4096,), (2, 8, 32, 256, 2048)),
                  ("prefill", (512, 4096), (2, 8))]
    VOCAB = 32000
    SDPA_DECODE = [(12, 64, 512), (12, 64, 2048), (32, 128, 512),
                   (32, 128, 2048)]
    SDPA_PREFILL = [(12, 64, 512), (32, 128, 512)]
    SDPA_BATCHES = (8, 32)


def row_ops():
    ops = [("softmax", lambda x, d: F.softmax(x, -1)),
           ("log_softmax", lambda x, d: F.log_softmax(x, -1)),
           ("sum", lambda x, d: x.sum(-1)),
           ("mean", lambda x, d: x.mean(-1))]
    ops.append(("layer_norm", lambda x, d: F.layer_norm(
        x, (d,), weight=norm_w(x, d), bias=norm_w(x, d) * 0.1)))
    if hasattr(F, "rms_norm"):
        ops.append(("rms_norm", lambda x, d: F.rms_norm(
            x, (d,), weight=norm_w(x, d))))
    return ops


_w = {}


def norm_w(x, d):
    key = (x.dtype, d)
    if key not in _w:
        g = torch.Generator().manual_seed(1)
        _w[key] = (1 + 0.1 * torch.randn(d, generator=g)).to(x.device, x.dtype)
    return _w[key]


def batch_check(out, fn, full, batches, **what):
    """Row 0 of fn(full[:B]) against fn(full[:1]), for each B."""
    ref = fn(full[:1])[:1]
    differ = {}
    for b in batches:
        d = harness.first_diff(fn(full[:b])[:1], ref)
        if d is not None:
            differ[str(b)] = d
    out.row("op", batches=list(batches), differ=differ, **what)


def sdpa_backends():
    """(name, context factory) for the default choice and each backend."""
    if not hasattr(F, "scaled_dot_product_attention"):
        return [("manual", contextlib.nullcontext)], manual_sdpa
    out = [("default", contextlib.nullcontext)]
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError:
        return out, F.scaled_dot_product_attention
    for name, attr in (("flash", "FLASH_ATTENTION"),
                       ("efficient", "EFFICIENT_ATTENTION"),
                       ("math", "MATH"), ("cudnn", "CUDNN_ATTENTION")):
        if hasattr(SDPBackend, attr):
            be = getattr(SDPBackend, attr)
            out.append((name, lambda be=be: sdpa_kernel(be)))
    return out, F.scaled_dot_product_attention


def manual_sdpa(q, k, v, is_causal=False):
    """Attention written out (torch < 2.0 has no SDPA: the CPU smoke)."""
    s = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if is_causal:
        m = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool,
                       device=q.device).tril()
        s = s.masked_fill(~m, float("-inf"))
    return F.softmax(s.float(), -1).to(q.dtype) @ v


def main():
    out = harness.start("ops")
    dev = harness.DEVICE
    for dname in ("bf16", "fp32"):
        dt = harness.DTYPES[dname]
        for sname, inner, batches in ROW_SHAPES:
            shapes = [(sname, inner)]
            if sname == "decode":
                shapes.append(("vocab", (VOCAB,)))
            for label, tail in shapes:
                torch.manual_seed(0)
                full = torch.randn(max(batches), *tail, device=dev).to(dt)
                for op, f in row_ops():
                    if label == "vocab" and op not in ("softmax", "log_softmax"):
                        continue
                    shape = "[B, %s]" % ", ".join(map(str, tail))
                    w = "%s %s %s" % (op, dname, shape)
                    if out.over(w, 1):
                        continue
                    try:
                        batch_check(out, lambda x: f(x, tail[-1]), full,
                                    batches, op=op, dtype=dname, shape=shape,
                                    backend="-")
                    except Exception as e:  # noqa: BLE001
                        out.error(w, e, op=op, dtype=dname, shape=shape,
                                  backend="-")
                del full
    backends, sdpa = sdpa_backends()
    dt = torch.bfloat16
    cases = [("decode", 1, h, hd, s) for h, hd, s in SDPA_DECODE]
    cases += [("prefill", s, h, hd, s) for h, hd, s in SDPA_PREFILL]
    for kind, qlen, h, hd, s in cases:
        torch.manual_seed(0)
        bmax = max(SDPA_BATCHES)
        q = torch.randn(bmax, h, qlen, hd, device=dev).to(dt)
        k = torch.randn(bmax, h, s, hd, device=dev).to(dt)
        v = torch.randn(bmax, h, s, hd, device=dev).to(dt)
        causal = kind == "prefill"
        shape = "q [B, %d, %d, %d], kv %d%s" % (h, qlen, hd, s,
                                                ", causal" if causal else "")
        for name, ctx in backends:
            w = "sdpa %s %s" % (name, shape)
            if out.over(w, 1):
                continue

            def fn(idx, ctx=ctx, q=q, k=k, v=v):
                with ctx():
                    return sdpa(q[:idx], k[:idx], v[:idx], is_causal=causal)
            try:
                ref = fn(1)[:1]
                differ = {}
                for b in SDPA_BATCHES:
                    d = harness.first_diff(fn(b)[:1], ref)
                    if d is not None:
                        differ[str(b)] = d
                out.row("op", op="sdpa", dtype="bf16", shape=shape,
                        backend=name, batches=list(SDPA_BATCHES),
                        differ=differ)
            except Exception as e:  # noqa: BLE001 - e.g. a backend refuses
                out.error(w, e, op="sdpa", dtype="bf16", shape=shape,
                          backend=name)
        del q, k, v
    out.row("done")


if __name__ == "__main__":
    main()
