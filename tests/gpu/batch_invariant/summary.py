"""Tables of a tests/gpu/batch_invariant/run.sh output folder.

    python3 summary.py OUTDIR
    python3 summary.py --variants OUTDIR plain NAME...   (variants.sh)

Reads OUTDIR/raw/PART.CONFIG.jsonl (the rows of harness.py),
OUTDIR/raw/steps.txt (one line per step: part config rc seconds note...),
OUTDIR/env.txt and OUTDIR/raw/profile.txt; writes OUTDIR/matmul.md,
OUTDIR/ops.md, OUTDIR/generate.md and OUTDIR/summary.md (the three
tables, the steps, each configuration's torch state, what was skipped or
failed).  A part that is missing or broken gives "—" cells, never a
missing table.  With --variants: OUTDIR/variants.md, the GEMM tables
of raw/matmul.NAME.jsonl for each NAME side by side, the steps, and the
profile's events per variant (raw/matmul.NAME.log).
"""
import json
import os
import sys

CONFIGS = {"matmul": ["plain", "profile", "wsonly"],
           "ops": ["plain", "profile"],
           "generate": ["plain", "profile"]}
DASH = "—"


def load(raw, part, cfg):
    rows = []
    try:
        with open(os.path.join(raw, "%s.%s.jsonl" % (part, cfg)),
                  encoding="utf-8") as f:
            for line in f:
                try:
                    rows.append(json.loads(line))
                except ValueError:
                    pass  # a line cut by a kill
    except OSError:
        pass
    return rows


def of(rows, kind):
    return [r for r in rows if r.get("kind") == kind]


def short(s, n=70):
    s = str(s)
    return s if len(s) <= n else s[:n - 1] + "…"


def table(head, body):
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join(" --- " for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in body]
    return "\n".join(out) + "\n"


def ratio(a, b):
    return "%.2f×" % (a / b) if a is not None and b else DASH


def matmul_md(data, cfgs=None):
    """The GEMM tables; cfgs: the configurations, plain first."""
    cfgs = cfgs or CONFIGS["matmul"]
    keys = []
    cell = {}
    for c in cfgs:
        for r in of(data[c], "bitwise"):
            k = (r["dtype"], r["N"], r["K"], r["layout"])
            if k not in keys:
                keys.append(k)
            d = r["differ"]
            cell[c, k] = ("**invariant** (%d M)" % len(r["checked"]) if not d
                          else "from M=%d (%d of %d M)" % (d[0], len(d),
                                                            len(r["checked"])))
        for r in of(data[c], "error"):
            if "N" in r:
                for lay in ("linear", "matmul"):
                    k = (r["dtype"], r["N"], r["K"], lay)
                    if k not in keys:
                        keys.append(k)
                    cell[c, k] = "error: " + short(r["error"], 50)
    order = ["bf16", "fp16", "fp32"]
    keys.sort(key=lambda k: order.index(k[0]) if k[0] in order else 9)
    md = ["## 1. GEMM: the first M whose row 0 differs from M = 1\n",
          "`(a[:M] @ b)[:1]` against `a[:1] @ b`, bitwise; linear = "
          "`F.linear(a, w)` with w [N, K] (nn.Linear's layout), matmul = "
          "`a @ b` with b [K, N].\n",
          table(["dtype", "N × K", "layout"] + cfgs,
                [[k[0], "%d × %d" % (k[1], k[2]), k[3]]
                 + [cell.get((c, k), DASH) for c in cfgs] for k in keys])]
    tk, tv = [], {}
    for c in cfgs:
        for r in of(data[c], "time"):
            k = (r["dtype"], r["N"], r["K"], r["M"])
            if k not in tk:
                tk.append(k)
            tv[c, k] = r["us"]
    head = ["dtype", "N × K", "M", "plain µs"]
    for c in cfgs[1:]:
        head += ["%s µs" % c, "%s/plain" % c]
    body = []
    for k in tk:
        p = tv.get(("plain", k))
        row = [k[0], "%d × %d" % (k[1], k[2]), k[3],
               "%.1f" % p if p is not None else DASH]
        for c in cfgs[1:]:
            v = tv.get((c, k))
            row += ["%.1f" % v if v is not None else DASH, ratio(v, p)]
        body.append(row)
    md += ["\n### GEMM time (`F.linear`, median of the CUDA-event times "
           "of single calls)\n", table(head, body)]
    return "\n".join(md)


def ops_md(data):
    cfgs = CONFIGS["ops"]
    keys, cell = [], {}
    for c in cfgs:
        for r in of(data[c], "op") + of(data[c], "error"):
            if "op" not in r:
                continue
            k = (r["op"], r["dtype"], r["shape"], r["backend"],
                 ", ".join(map(str, r.get("batches", []))))
            # an error row has no batches: file it under the op's key
            for kk in keys:
                if kk[:4] == k[:4]:
                    k = kk
                    break
            else:
                keys.append(k)
            if r["kind"] == "error":
                cell[c, k] = "error: " + short(r["error"], 60)
            elif not r["differ"]:
                cell[c, k] = "**equal**"
            else:
                bs = sorted(r["differ"], key=int)
                cell[c, k] = "differs at B=%s (B=%s: %s)" % (
                    ",".join(bs), bs[0], short(r["differ"][bs[0]], 50))
    return "\n".join([
        "## 2. Ops: row 0 of a batch of B against the same row alone\n",
        "Bitwise.  sdpa: one query over a KV cache (decode) or a causal "
        "prefill, each backend forced with `sdpa_kernel`; default = "
        "the backend torch picks in that configuration.\n",
        table(["op", "dtype", "shape", "backend", "B"] + cfgs,
              [list(k) + [cell.get((c, k), DASH) for c in cfgs]
               for k in keys])])


def generate_md(data):
    cfgs = CONFIGS["generate"]
    md = ["## 3. A whole model: the prompt alone against row 0 of a batch\n"]
    info = [r for c in cfgs for r in of(data[c], "hf_model")][:1]
    if info:
        i = info[0]
        md.append("Hugging Face GPT-2 (transformers %s, attention %s, %d "
                  "layers, width %d, vocab %d; random init, bf16), greedy "
                  "`generate`, %d-token prompts, %d new tokens.\n" % (
                      i["transformers"], i["attn"], i["layers"], i["width"],
                      i["vocab"], i["prompt"], i["new"]))
    bs, tok, lg = [], {}, {}
    for c in cfgs:
        for r in of(data[c], "hf") + [e for e in of(data[c], "error")
                                      if "B" in e and "hf" in e["what"]]:
            b = r["B"]
            if b not in bs:
                bs.append(b)
            if r["kind"] == "error":
                tok[c, b] = lg[c, b] = "error: " + short(r["error"], 50)
                continue
            tok[c, b] = ("**equal**" if not r["tokens_differ"] else
                         "%d of %d differ, from position %d" % (
                             r["tokens_differ"], r["new"], r["first_token"]))
            lg[c, b] = ("**bitwise equal** (%d steps)" % r["steps"]
                        if not r["steps_differ"] else
                        "%d of %d steps differ, from step %d" % (
                            r["steps_differ"], r["steps"], r["first_step"]))
    skipped = [r for c in cfgs for r in of(data[c], "skipped")
               if r.get("what") == "hf generate"]
    if bs:
        head = ["B"]
        for c in cfgs:
            head += ["%s tokens" % c, "%s logits" % c]
        md.append(table(head, [[b] + sum(([tok.get((c, b), DASH),
                                           lg.get((c, b), DASH)]
                                          for c in cfgs), [])
                               for b in sorted(bs)]))
    elif skipped:
        md.append("HF generate: skipped (%s).\n" % skipped[0]["reason"])
    else:
        md.append("HF generate: no result.\n")
    info = [r for c in cfgs for r in of(data[c], "stack_model")][:1]
    sb, st = [], {}
    for c in cfgs:
        for r in of(data[c], "stack"):
            if r["B"] not in sb:
                sb.append(r["B"])
            d = r["layers_differ"]
            st[c, r["B"]] = (
                "**equal** (%d blocks, logits)" % r["layers"]
                if not d and r["logits"] is None else
                "blocks from %s differ; logits %s" % (
                    d[0] if d else DASH,
                    "equal" if r["logits"] is None else "differ"))
    if info:
        i = info[0]
        md.append("\nHand-written transformer (%s, %d blocks, width %d, %d "
                  "heads, vocab %d, bf16), one forward of %d tokens:\n" % (
                      i["attention"], i["layers"], i["d"], i["heads"],
                      i["vocab"], i["T"]))
    md.append(table(["B"] + cfgs, [[b] + [st.get((c, b), DASH) for c in cfgs]
                                   for b in sorted(sb)]))
    ck, cv = [], {}
    for c in cfgs:
        for r in of(data[c], "cost"):
            if r["what"] not in ck:
                ck.append(r["what"])
            cv[c, r["what"]] = r["s"]
    head = ["what"] + ["%s ms" % c for c in cfgs] + ["profile/plain"]
    body = []
    for w in ck:
        p, q = cv.get(("plain", w)), cv.get(("profile", w))
        body.append([w] + ["%.1f" % (cv[c, w] * 1e3) if (c, w) in cv else DASH
                           for c in cfgs] + [ratio(q, p)])
    md += ["\n### Cost (wall time, the median of a few runs after a "
           "warm-up)\n", table(head, body)]
    return "\n".join(md)


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


SETUP_KEYS = ["profile", "blas", "CUBLAS_WORKSPACE_CONFIG",
              "CUBLASLT_WORKSPACE_SIZE", "allow_bf16_reduced_precision_reduction",
              "allow_fp16_reduced_precision_reduction", "sdp_flash",
              "sdp_mem_efficient", "sdp_math", "sdp_cudnn", "deterministic",
              "wsonly"]


def variants_md(outdir, cfgs):
    """OUTDIR/variants.md for variants.sh: plain and each build variant."""
    raw = os.path.join(outdir, "raw")
    data = {c: load(raw, "matmul", c) for c in cfgs}
    try:
        tables = matmul_md(data, cfgs)
    except Exception as e:  # noqa: BLE001 - the rest still comes
        tables = "summary.py failed on the tables: %r\n" % e
    steps = [(ln.split(None, 4) + [""] * 5)[:5]
             for ln in read(os.path.join(raw, "steps.txt")).splitlines()
             if ln.strip()]
    srows = []
    for s in steps:
        rows = data.get(s[1]) if s[0] == "matmul" else None
        srows.append(s[:4] + [len(rows) if rows is not None else DASH,
                              ("yes" if of(rows, "done") else "**no**")
                              if rows is not None else DASH, s[4]])
    actions = ["pinned", "filtered", "batch-variant", "vetoed"]
    ev = []
    for c in cfgs[1:]:
        log = read(os.path.join(raw, "matmul.%s.log" % c)).splitlines()
        prof = [ln for ln in log
                if "cublasLtMatmulAlgoGetHeuristic" in ln]
        ev.append([c] + [sum('"action":"%s"' % a in ln for ln in prof)
                         for a in actions])
    notes = ["- %s: %s %s: %s" % (c, r["kind"], r.get("what", ""),
                                   short(r.get("reason") or r.get("error"),
                                         120))
             for c in cfgs for r in of(data[c], "skipped") +
             of(data[c], "error")]
    md = ["# cuBLASLt profile: build variants side by side\n",
          "Written by tests/gpu/batch_invariant/variants.sh.  plain = no "
          "shim; default = the shim without the profile; every other "
          "column = matmul.py under "
          "DETSHIM_PROFILE=batch-invariant with that build of the shim "
          "(v256 default; v64, v16: DS_LT_REP_N; half256, half16: "
          "DS_LT_PIN_HALF=0 with DS_LT_REP_N 256, 16).  One process each, "
          "one command.\n",
          "```", read(os.path.join(outdir, "env.txt")).rstrip(), "```\n",
          tables,
          "\n## The profile's events (cuBLASLt heuristic, per variant)\n",
          table(["variant"] + actions, ev),
          "## Steps\n",
          table(["part", "config", "rc", "s", "rows", "finished", "note"],
                srows)]
    if notes:
        md += ["## Skipped and errors\n", "\n".join(notes) + "\n"]
    with open(os.path.join(outdir, "variants.md"), "w",
              encoding="utf-8") as f:
        f.write("\n".join(md))


def main():
    if sys.argv[1] == "--variants":
        variants_md(sys.argv[2], sys.argv[3:])
        return
    outdir = sys.argv[1]
    raw = os.path.join(outdir, "raw")
    data = {p: {c: load(raw, p, c) for c in cs} for p, cs in CONFIGS.items()}
    parts = {}
    for name, fn in (("matmul", matmul_md), ("ops", ops_md),
                     ("generate", generate_md)):
        try:
            parts[name] = fn(data[name])
        except Exception as e:  # noqa: BLE001 - the other tables still come
            parts[name] = "## %s\n\nsummary.py failed on this part: %r\n" % (
                name, e)
        with open(os.path.join(outdir, name + ".md"), "w",
                  encoding="utf-8") as f:
            f.write(parts[name])
    steps = [ln.split(None, 4) for ln in read(os.path.join(raw, "steps.txt"))
             .splitlines() if ln.strip()]
    srows = []
    for s in steps:
        s += [""] * (5 - len(s))
        rows = data.get(s[0], {}).get(s[1])
        if rows is None:  # not a part of harness.py (ops_cost.py)
            srows.append([s[0], s[1], s[2], s[3], DASH, DASH, s[4]])
            continue
        done = "yes" if of(rows, "done") else "**no**"
        srows.append([s[0], s[1], s[2], s[3], len(rows), done, s[4]])
    setup = []
    for p, cs in CONFIGS.items():
        for c in cs:
            r = (of(data[p][c], "setup") or [{}])[0]
            setup.append(["%s.%s" % (p, c)] + [short(r.get(k, DASH), 40)
                                               for k in SETUP_KEYS])
    ver = DASH
    for p, cs in CONFIGS.items():
        for c in cs:
            r = (of(data[p][c], "setup") or [None])[0]
            if r and ver == DASH:
                ver = "torch %s, CUDA %s, cuDNN %s, %s" % (
                    r.get("torch"), r.get("cuda"), r.get("cudnn"),
                    r.get("gpu", "device " + str(r.get("device"))))
    info = [r for c in CONFIGS["generate"]
            for r in of(data["generate"][c], "hf_model")][:1]
    if info:
        ver += ", transformers %s" % info[0]["transformers"]
    notes = []
    for p, cs in CONFIGS.items():
        for c in cs:
            for r in of(data[p][c], "skipped") + of(data[p][c], "error"):
                notes.append("- %s.%s: %s %s: %s" % (
                    p, c, r["kind"], r.get("what", ""),
                    short(r.get("reason") or r.get("error"), 120)))
    md = ["# Batch invariance: plain, the detshim profile, vLLM's workspace "
          "recipe\n",
          "Written by tests/gpu/batch_invariant/run.sh.  plain = no shim; "
          "profile = the preloaded shim with DETSHIM_PROFILE=batch-invariant; "
          "wsonly (GEMMs only) = no shim, CUBLAS_WORKSPACE_CONFIG=:16:8, "
          "CUBLASLT_WORKSPACE_SIZE=1, cuBLASLt backend, no reduced-precision "
          "reduction or split-K.\n",
          "```", read(os.path.join(outdir, "env.txt")).rstrip(), "```\n",
          "Versions (from the first process): " + ver + "\n",
          "Profile: " + (read(os.path.join(raw, "profile.txt")).strip()
                         or DASH) + "\n",
          parts["matmul"], parts["ops"], parts["generate"],
          "## Steps\n",
          table(["part", "config", "rc", "s", "rows", "finished", "note"],
                srows),
          "## What each configuration ran with\n",
          table(["run"] + SETUP_KEYS, setup)]
    if notes:
        md += ["## Skipped and errors\n", "\n".join(notes) + "\n"]
    # ops_cost.py prints a Markdown section of its own
    oc = read(os.path.join(raw, "ops_cost.out")).rstrip()
    if oc:
        md += [oc[-8000:] + "\n"]
    elif read(os.path.join(raw, "ops_cost.err")).strip():
        md += ["## ops_cost.py failed\n", "```",
               read(os.path.join(raw, "ops_cost.err")).rstrip()[-2000:],
               "```\n"]
    with open(os.path.join(outdir, "summary.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(md))


if __name__ == "__main__":
    main()
