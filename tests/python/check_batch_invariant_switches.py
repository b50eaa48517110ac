"""python/_detshim/batch_invariant.py's install() under each answer the shim
can give, with the shim's answers stood in for (tests/it_python.sh runs it;
the preloaded shim's own answer is checked there once it has the profile
row).

    check_batch_invariant_switches.py PROFILE POLICY [OP...]

PROFILE and POLICY are what _native.setting("profile") and
setting("policy") answer ("none": None, as without the shim); OPs are
added to REDUCTIONS first (the replacements off by default).  Checks:
- profile batch-invariant, policy enforce: every switch PyTorch has is
  set (those whose default differs change: the check can fail), each
  logged once as "pinned"; the reductions of REDUCTIONS, and no others,
  are registered for the CUDA key (a CPU build has no CUDA kernel of them before) and one
  "replaced" event names them; the CPU ops are untouched; a program that
  sets a switch afterwards gets its own value;
- policy warn: nothing changes; the same events as "would-pin" and one
  "would-replace";
- any other profile, or no shim: nothing changes, nothing is logged.
Prints "ok" or the failures; exits 1 on a failure.
"""

import json
import sys

import torch

from _detshim import _native
from _detshim import batch_invariant as B

profile, policy = sys.argv[1], sys.argv[2]
# A third argument: more ops for REDUCTIONS (those off by default).
B.REDUCTIONS = B.REDUCTIONS + tuple(sys.argv[3:])
answers = {"profile": None if profile == "none" else profile,
           "policy": None if policy == "none" else policy}
events = []
_native.setting = answers.get
_native.event = lambda src, call, action, detail, fields=None: \
    events.append((src, call, action, detail)) or True

cuda = torch.backends.cuda


def state():
    s = {"cudnn.allow_tf32": torch.backends.cudnn.allow_tf32,
         "matmul.allow_tf32": cuda.matmul.allow_tf32}
    for name in ("allow_bf16_reduced_precision_reduction",
                 "allow_fp16_reduced_precision_reduction"):
        try:
            s["matmul." + name] = getattr(cuda.matmul, name)
        except Exception:  # AssertionError in torch 1.13
            pass
    for backend in ("flash", "mem_efficient", "math", "cudnn"):
        f = getattr(cuda, backend + "_sdp_enabled", None)
        if f is not None:
            s[backend + "_sdp"] = f()
    if hasattr(cuda, "preferred_blas_library"):
        s["blas"] = str(cuda.preferred_blas_library())
    for op in tuple(B.REPLACEMENTS):
        s["cuda kernel " + op] = \
            torch._C._dispatch_has_kernel_for_dispatch_key("aten::" + op,
                                                           "CUDA")
    return s


before = state()
x = torch.randn(5, 7)
cpu_before = (x.sum(-1), x.mean(-1), x.softmax(-1), x.log_softmax(-1))
B.install(torch)
after = state()
problems = []

if profile == "batch-invariant" and policy in ("enforce", "warn"):
    calls = [c for _, c, a, _ in events
             if a in ("pinned", "would-pin")]
    want = "pinned" if policy == "enforce" else "would-pin"
    # one event per switch this torch has, all of the same action
    expect = ["cuda.matmul.allow_tf32",
              "cudnn.allow_tf32",
              "cuda.enable_flash_sdp",
              "cuda.enable_math_sdp"]
    for c in expect:
        if calls.count(c) != 1:
            problems.append("%s logged %d times" % (c, calls.count(c)))
    if any(len(c) > 63 for _, c, _, _ in events):  # the log cuts them
        problems.append("a call name over 63 bytes: %s" % events)
    if len(set(calls)) != len(calls):
        problems.append("a switch logged twice: %s" % calls)
    if any(a != want for _, c, a, _ in events if c != "batch_invariant"):
        problems.append("not all %s: %s" % (want, events))
    rep = [e for e in events if e[1] == "batch_invariant"]
    rwant = "replaced" if policy == "enforce" else "would-replace"
    if len(rep) != 1 or rep[0][2] != rwant or \
            any(op not in rep[0][3] for op in B.REDUCTIONS):
        problems.append("one %s event naming %s: %s"
                        % (rwant, B.REDUCTIONS, rep))
    if any(src != "torch" for src, _, _, _ in events):
        problems.append("events not under src torch: %s" % events)
    if policy == "enforce":
        want = {"cudnn.allow_tf32": False, "matmul.allow_tf32": False,
                "flash_sdp": False, "math_sdp": True,
                "mem_efficient_sdp": True, "cudnn_sdp": False}
        for op in B.REPLACEMENTS:  # the others stay unregistered
            want["cuda kernel " + op] = op in B.REDUCTIONS
        for k, v in after.items():
            if "reduced_precision" in k:
                ok = v in (False, (False, False))
            elif k == "blas":
                ok = "lt" in v.lower()
            else:
                ok = want.get(k, "unknown") == v
            if not ok:
                problems.append("%s is %s after install" % (k, v))
        if before["cudnn.allow_tf32"] is not True or \
                before["flash_sdp"] is not True or \
                any(before["cuda kernel " + op] for op in B.REPLACEMENTS):
            problems.append("not the defaults before install: %s" % before)
        if sorted(B.REGISTERED) != sorted(B.REDUCTIONS):
            problems.append("registered %s" % B.REGISTERED)
        # A program that sets a switch itself afterwards gets its value.
        torch.backends.cudnn.allow_tf32 = True
        cuda.enable_flash_sdp(True)
        if torch.backends.cudnn.allow_tf32 is not True or \
                not cuda.flash_sdp_enabled():
            problems.append("the program's own setting did not stand")
    else:
        if after != before or B.REGISTERED:
            problems.append("warn changed %s -> %s (registered %s)"
                            % (before, after, B.REGISTERED))
else:
    if after != before or events or B.REGISTERED:
        problems.append("changed %s -> %s, events %s" % (before, after,
                                                         events))

cpu_after = (x.sum(-1), x.mean(-1), x.softmax(-1), x.log_softmax(-1))
if not all(torch.equal(a, b) for a, b in zip(cpu_before, cpu_after)):
    problems.append("the CPU ops changed")
# A second install (a second import hook call) does nothing more.
n = len(events)
B.install(torch)
if len(events) != n:
    problems.append("a second install logged again")

if problems:
    for p in problems:
        print("FAIL", p)
    print(json.dumps(events))
    sys.exit(1)
print("ok", len(events), "events")
