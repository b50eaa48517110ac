"""Writes the op table (tests/gpu/op_table.sh) from the runs' JSON."""

import json
import os
import sys

out = sys.argv[1]


def load(name):
    p = os.path.join(out, name)
    return json.load(open(p)) if os.path.exists(p) else {"rows": {}}


plain = load("plain.json")
fwdet = load("fwdet.json")
det = [load("detshim%d.json" % i) for i in (1, 2, 3)]
unfixed = set()
replaced = ""
for i in (1, 2, 3):
    p = os.path.join(out, "log%d.jsonl" % i)
    if not os.path.exists(p):
        continue
    for line in open(p):
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("src") == "torch" and e.get("action") == "unfixed":
            unfixed.add(e["call"])
        if e.get("call") == "torch_ops" and e.get("action") == "replaced":
            replaced = e.get("detail", "")

print("torch %s, CUDA %s, %s" % (plain.get("torch"), plain.get("cuda"),
                                 plain.get("device")))
print()
print("| op | plain: distinct of 5 | PyTorch deterministic mode | detshim: exception | "
      "distinct of 5 (per process) | distinct over 3 processes | vs CPU kernel | "
      "ms plain | ms detshim | cost ratio |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")


def cell(row, key, fmt="%s"):
    v = row.get(key)
    return "—" if v is None else fmt % v


for name in plain["rows"]:
    p = plain["rows"].get(name, {})
    f = fwdet["rows"].get(name, {})
    ds = [d["rows"].get(name, {}) for d in det]
    exc = [d.get("exception") for d in ds if d.get("exception")]
    per = "/".join(str(d.get("distinct", "—")) for d in ds)
    firsts = {d["hashes"][0] for d in ds if d.get("hashes")}
    vs = ds[0].get("vs_cpu")
    ratio = "—"
    if p.get("ms") and ds[0].get("ms"):
        ratio = "%.2f×" % (ds[0]["ms"] / p["ms"])
    print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
        name,
        p.get("exception") and "raises" or cell(p, "distinct"),
        "raises" if f.get("exception") else "runs (%s)" % cell(f, "distinct"),
        ("**" + exc[0][:60] + "**") if exc else "no",
        per, len(firsts) if firsts else "—",
        "%.1e" % vs if isinstance(vs, float) else ds[0].get("cpu_error", "—")[:40],
        cell(p, "ms", "%.3f"), cell(ds[0], "ms", "%.3f"), ratio))
print()
print("Ops the shim answered as unfixed (no replacement, ran natively): %s"
      % (", ".join(sorted(unfixed)) or "none"))
print()
print("Replacements registered: %s" % (replaced or "none logged"))
