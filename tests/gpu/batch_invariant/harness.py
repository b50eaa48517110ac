"""What the batch-invariance scripts share (tests/gpu/batch_invariant/run.sh
runs them, one process per configuration):

    python3 PART.py --config NAME --out FILE.jsonl --deadline EPOCH

  - DEVICE=cpu (environment) selects the CPU smoke sizes, else CUDA;
  - every result is one JSON object on one line of FILE, written and
    flushed as soon as it is known, so a part killed by its timeout keeps
    what it had measured;
  - the deadline (seconds since the epoch) is when the part stops starting
    new work: what is left is written as {"kind": "skipped"} rows;
  - the first row ({"kind": "setup"}) records the torch state the
    configuration ran with (versions, BLAS backend, reduction switches,
    SDPA backends, the workspace variables, the shim's profile).
"""
import argparse
import json
import os
import statistics
import sys
import time
import traceback

import torch

DEVICE = os.environ.get("DEVICE", "cuda")
CPU = DEVICE == "cpu"
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}


def args():
    p = argparse.ArgumentParser()
    p.add_argument("--config", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--deadline", type=float, default=time.time() + 60)
    return p.parse_args()


class Out:
    """One JSON line per row, flushed at once; the deadline."""

    def __init__(self, a, part):
        self.part = part
        self.config = a.config
        self.deadline = a.deadline
        self.f = open(a.out, "a", encoding="utf-8")

    def row(self, kind, **kw):
        kw = dict(kind=kind, **kw)
        self.f.write(json.dumps(kw, sort_keys=True) + "\n")
        self.f.flush()

    def left(self):
        return self.deadline - time.time()

    def over(self, what, need=0.0):
        """True (and a "skipped" row) when less than need seconds remain."""
        if self.left() > need:
            return False
        self.row("skipped", what=what, reason="time budget")
        return True

    def error(self, what, e, **kw):
        """An error row (kw: the fields that place it in a table)."""
        msg = ("%s: %s" % (type(e).__name__, e)).strip().splitlines()
        self.row("error", what=what, error=msg[0][:300] if msg else "?", **kw)
        traceback.print_exc(file=sys.stderr)


def sync():
    if not CPU:
        torch.cuda.synchronize()


def median_us(fn, reps, warm=3):
    """Median time of one call of fn in microseconds: CUDA events around
    each call (after warm calls), or the wall clock on the CPU."""
    for _ in range(warm):
        fn()
    sync()
    ts = []
    for _ in range(reps):
        if CPU:
            t = time.perf_counter()
            fn()
            ts.append((time.perf_counter() - t) * 1e6)
        else:
            s = torch.cuda.Event(enable_timing=True)
            e = torch.cuda.Event(enable_timing=True)
            s.record()
            fn()
            e.record()
            e.synchronize()
            ts.append(s.elapsed_time(e) * 1e3)
    return statistics.median(ts)


def wall_s(fn):
    """Seconds of one call of fn, the device drained before and after."""
    sync()
    t = time.perf_counter()
    r = fn()
    sync()
    return time.perf_counter() - t, r


def first_diff(a, b):
    """None when a and b are bitwise equal (same shape, dtype, bits), else
    a short description of where they first differ."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return "shape %s vs %s" % (tuple(a.shape), tuple(b.shape))
    if torch.equal(a, b):
        # torch.equal compares values: -0.0 == 0.0 and NaN != NaN; the
        # bits decide (a NaN in both at one place counts as equal bits).
        if a.is_floating_point():
            ia, ib = bits(a), bits(b)
            if not torch.equal(ia, ib):
                return "sign of zero"
        return None
    if a.is_floating_point():
        ia, ib = bits(a), bits(b)
        if torch.equal(ia, ib):
            return None  # the same NaNs
        ne = (ia != ib).flatten().nonzero()
        i = int(ne[0])
        d = (a.float() - b.float()).abs()
        d = d[torch.isfinite(d)]
        mx = float(d.max()) if d.numel() else float("nan")
        return "%d of %d differ, first at %d, max |diff| %.3g" % (
            ne.numel(), a.numel(), i, mx)
    ne = (a != b).flatten().nonzero()
    return "%d of %d differ, first at %d" % (ne.numel(), a.numel(), int(ne[0]))


def bits(t):
    """The tensor's bits as integers of its width."""
    w = {2: torch.int16, 4: torch.int32, 8: torch.int64}[t.element_size()]
    return t.contiguous().view(w)


def shim_profile():
    """The shim's profile as detshim_py_setting reports it, or why not."""
    import ctypes
    try:
        f = ctypes.CDLL(None).detshim_py_setting
    except AttributeError:
        return "no shim (or no detshim_py_setting)"
    f.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
    f.restype = ctypes.c_int
    buf = ctypes.create_string_buffer(64)
    n = f(b"profile", buf, 64)
    return buf.value.decode() if n >= 0 else "unknown key 'profile'"


def apply_wsonly():
    """vLLM's recipe for batch-invariant GEMMs on Hopper, in the process
    (its two variables, CUBLAS_WORKSPACE_CONFIG=:16:8 and
    CUBLASLT_WORKSPACE_SIZE=1, come from run.sh): cuBLASLt as PyTorch's
    BLAS backend, no reduced-precision reduction and no split-K for bf16
    and fp16, IEEE fp32.  Returns what it set."""
    done = []
    cm = torch.backends.cuda.matmul

    def put(name, *values):  # the first value this torch takes
        # (torch 1.13's torch.backends.cuda.matmul raises AssertionError
        # for a name it does not know, so no hasattr)
        for v in values:
            try:
                setattr(cm, name, v)
                done.append("%s=%r" % (name, v))
                return
            except Exception:  # noqa: BLE001 - older torch: not there
                pass
        done.append("%s: not in this torch" % name)
    # torch >= 2.10 takes (allow_reduced, allow_splitk)
    put("allow_bf16_reduced_precision_reduction", (False, False), False)
    put("allow_fp16_reduced_precision_reduction", (False, False), False)
    # IEEE fp32 (TF32 is off by default; torch >= 2.9 has the new switch,
    # and refuses a mix of it with the old allow_tf32 that disagrees)
    put("fp32_precision", "ieee")
    if not CPU:
        try:
            torch.backends.cuda.preferred_blas_library("cublaslt")
            done.append("preferred_blas_library=cublaslt")
        except Exception as e:  # noqa: BLE001 - torch < 2.3
            done.append("preferred_blas_library: %s" % e)
    return done


def setup_row(out, extra=None):
    """The state this configuration runs with, as the first row."""
    st = {"torch": torch.__version__, "device": DEVICE,
          "cuda": getattr(torch.version, "cuda", None),
          "python": sys.version.split()[0],
          "profile": shim_profile(),
          "preload": os.environ.get("LD_PRELOAD", ""),
          "deterministic": torch.are_deterministic_algorithms_enabled()}
    for v in ("CUBLAS_WORKSPACE_CONFIG", "CUBLASLT_WORKSPACE_SIZE",
              "TORCHINDUCTOR_BATCH_INVARIANT", "NCCL_ALGO"):
        st[v] = os.environ.get(v)
    cm = torch.backends.cuda.matmul
    for name in ("allow_bf16_reduced_precision_reduction",
                 "allow_fp16_reduced_precision_reduction", "allow_tf32"):
        try:
            st[name] = repr(getattr(cm, name))
        except Exception:  # noqa: BLE001 - torch 1.13 raises AssertionError
            st[name] = None
    try:
        st["cudnn"] = torch.backends.cudnn.version()
    except Exception:  # noqa: BLE001
        st["cudnn"] = None
    if not CPU:
        st["gpu"] = torch.cuda.get_device_name(0)
        try:
            st["blas"] = str(torch.backends.cuda.preferred_blas_library())
        except (AttributeError, RuntimeError, TypeError):
            st["blas"] = None
        for b in ("flash", "mem_efficient", "math", "cudnn"):
            f = getattr(torch.backends.cuda, "%s_sdp_enabled" % b, None)
            st["sdp_" + b] = f() if f else None
    if extra:
        st.update(extra)
    out.row("setup", **st)


def start(part):
    """Parse the arguments, open the output, write the setup row."""
    a = args()
    out = Out(a, part)
    extra = None
    if a.config == "wsonly":
        try:
            extra = {"wsonly": apply_wsonly()}
        except Exception as e:  # noqa: BLE001 - measure what it can
            out.error("wsonly settings", e)
    if not CPU:
        torch.cuda.init()
    setup_row(out, extra)
    return out
