"""PyTorch under the batch-invariant profile (DETSHIM_PROFILE=batch-invariant,
docs/DESIGN.md §12): the same row gives the same bits whatever else shares
its batch.

When torch is first imported and the shim reports the profile, install():

1. pins PyTorch's GEMM switches: the cuBLASLt backend
   (preferred_blas_library), so that every matmul reaches the shim's
   cuBLASLt hook, which keeps one algorithm per shape whatever the batch
   (cuda_hooks/cublaslt.c); no reduced-precision or split-K reductions
   for bf16 and fp16; no TF32 for cuBLAS and cuDNN (_pins() below);
2. leaves on only the attention backends of SDPA_BACKENDS: FlashAttention
   chooses how many parts to split the KV length into from batch x heads
   against the number of SMs, so the sums of one row change with the
   batch (Dao-AILab/flash-attention#1897);
3. registers for the CUDA key, with torch.library, the reductions of
   REDUCTIONS: each sums a row along a pairwise tree of elementwise ops
   (the row padded to a power of two with the identity), so the order of
   every add is fixed by the row's length alone and cannot depend on the
   number of rows.  Half and bfloat16 accumulate in float32, as ATen does,
   and are cast back.  The backward stays ATen's (the registration is for
   the CUDA key only; autograd is above it).  A sum costs about log2(D)
   kernel launches for a row of D elements; softmax's row maximum is
   ATen's amax, one kernel, since a maximum is exact in any order
   (tests/gpu/batch_invariant/ops_cost.py measures them against ATen).
   native_layer_norm has a replacement of the same kind, off by default.

SDPA_BACKENDS and REDUCTIONS are the profile's two lists.  A program (or
a measurement script) that wants others sets them before it imports
torch: `import _detshim.batch_invariant as b; b.REDUCTIONS +=
("native_layer_norm",)`; the module is there under the shim.

Under policy warn nothing is changed and the same events read
"would-pin" / "would-replace".  A program that sets any of these switches
itself does so after this ran, so its choice stands.

The replacements take and return what the aten schema says; the CPU tests
call them directly (tests/python/check_batch_invariant.py).
"""

torch = None     # the module, set by install()
_lib = None      # the torch.library.Library holding the registrations
_done = False    # install() ran
REGISTERED = []  # "name.overload" of every registered replacement

PROFILE = "batch-invariant"

# The SDPA backends left on under the profile (the others are turned
# off): the math backend (GEMMs and the softmax below) and the
# memory-efficient kernel, whose forward walks the KV length in one order
# per query block.  Flash splits the KV length by batch size; cuDNN's is
# unmeasured.
SDPA_BACKENDS = ("math", "efficient")

# name in SDPA_BACKENDS -> torch.backends.cuda switch (a name this version
# lacks is skipped).
SDPA_SWITCHES = (
    ("flash", "enable_flash_sdp"),
    ("efficient", "enable_mem_efficient_sdp"),
    ("math", "enable_math_sdp"),
    ("cudnn", "enable_cudnn_sdp"),
)

# The aten ops replaced under the profile (names of REPLACEMENTS below).
REDUCTIONS = ("sum.dim_IntList", "sum.IntList_out", "mean.dim", "mean.out",
              "_softmax", "_softmax.out", "_log_softmax", "_log_softmax.out")


# ----------------------------------------------------------------------
# the fixed-order reductions


def _acc(dtype):
    """The dtype to accumulate a result of `dtype` in."""
    if dtype in (torch.float16, torch.bfloat16):
        return torch.float32
    if dtype == torch.complex32:
        return torch.complex64
    if dtype.is_floating_point or dtype.is_complex:
        return dtype
    return torch.int64  # integer sums are exact in any order


def _tree(y, op, fill):
    """op over the last dim of y along a pairwise tree: y[..., i] with
    y[..., i + P/2] for the row padded to P = 2**k elements with `fill`,
    then the same on the half, down to one.  Every op is elementwise, so
    each output element's arithmetic is the same whatever the other
    dimensions are."""
    n = y.shape[-1]
    if n == 0:
        return torch.full(y.shape[:-1], fill, dtype=y.dtype, device=y.device)
    p = 1 << (n - 1).bit_length()
    if p != n:
        pad = torch.full(tuple(y.shape[:-1]) + (p - n,), fill, dtype=y.dtype,
                         device=y.device)
        y = torch.cat([y, pad], -1)
    while p > 1:
        p //= 2
        y = op(y[..., :p], y[..., p:])
    return y[..., 0]


def _wrap(d, nd):
    """dim d of an nd-dim tensor, as PyTorch wraps it (a 0-dim tensor takes
    -1 and 0)."""
    lim = max(nd, 1)
    if d < -lim or d >= lim:
        raise IndexError("Dimension out of range (expected to be in range of "
                         "[%d, %d], but got %d)" % (-lim, lim - 1, d))
    return d % lim


def _dims(self, dim):
    """The reduced dims of self, sorted: all for None or an empty list."""
    nd = self.dim()
    if dim is None or len(dim) == 0:
        return list(range(nd))
    seen = []
    for d in dim:
        w = _wrap(int(d), nd)
        if w in seen:
            raise RuntimeError("dim %d appears multiple times in the list of "
                               "dims" % w)
        seen.append(w)
    return sorted(d for d in seen if d < nd)


def _reduce(x, dims, keepdim, op, fill):
    """op-tree over dims of x; the shape sum/mean give."""
    nd = x.dim()
    kept = [d for d in range(nd) if d not in dims]
    n = 1
    for d in dims:
        n *= x.shape[d]
    y = x.permute(kept + dims).reshape([x.shape[d] for d in kept] + [n])
    r = _tree(y, op, fill)
    if keepdim:
        r = r.reshape([1 if d in dims else x.shape[d] for d in range(nd)])
    return r


def _out_dtype(self, dtype, op):
    if dtype is not None:
        return dtype
    if op == "sum" and not (self.is_floating_point() or self.is_complex()):
        return torch.int64  # bool and integers sum to int64
    return self.dtype


def sum_dim_IntList(self, dim, keepdim=False, dtype=None):
    """sum over dims (all for None or []) in a fixed order per output."""
    out = _out_dtype(self, dtype, "sum")
    dims = _dims(self, dim)
    x = self.to(out).to(_acc(out))
    return _reduce(x, dims, keepdim, torch.add, 0).to(out)


def _mean_dtype(self, dtype):
    """mean's dtype: dtype or self's, which must be floating or complex."""
    out = _out_dtype(self, dtype, "mean")
    if not (out.is_floating_point or out.is_complex):
        raise RuntimeError(
            "mean(): could not infer output dtype. %s dtype must be either a "
            "floating point or complex dtype. Got: %s"
            % ("Input" if dtype is None else "Optional",
               str(out).replace("torch.", "").capitalize()))
    return out


def mean_dim(self, dim, keepdim=False, dtype=None):
    """mean over dims: the fixed-order sum divided by the count."""
    out = _mean_dtype(self, dtype)
    dims = _dims(self, dim)
    x = self.to(out).to(_acc(out))
    n = 1
    for d in dims:
        n *= self.shape[d]
    s = _reduce(x, dims, keepdim, torch.add, 0)
    return (s / n).to(out)  # 0 elements: 0/0, NaN as ATen


def _softmax_common(self, dim, half_to_float, log):
    if half_to_float and self.dtype not in (torch.float16, torch.bfloat16):
        raise RuntimeError("conversion is supported for Half type only")
    if not self.is_floating_point():
        raise RuntimeError("\"softmax\" not implemented for '%s'"
                           % str(self.dtype).replace("torch.", ""))
    out = torch.float32 if half_to_float else self.dtype
    nd = self.dim()
    d = _wrap(int(dim), nd)
    x = self.reshape(1) if nd == 0 else self
    y = x.to(_acc(out)).movedim(d, -1)
    if y.shape[-1] == 0:
        return torch.empty(self.shape, dtype=out, device=self.device)
    # The row's maximum does not depend on the order of comparisons (max
    # is exact), so ATen's amax, one kernel, serves; + 0.0 turns a -0.0
    # maximum into +0.0, the one bit an order could still change.
    m = torch.amax(y, -1, keepdim=True) + 0.0
    z = y - m
    e = torch.exp(z)
    s = _tree(e, torch.add, 0).unsqueeze(-1)
    r = z - torch.log(s) if log else e / s
    r = r.movedim(-1, d).to(out).contiguous()
    return r.reshape(()) if nd == 0 else r


def _softmax(self, dim, half_to_float):
    """softmax: the row's max, exp, a sum-tree, one division per element."""
    return _softmax_common(self, dim, half_to_float, False)


def _log_softmax(self, dim, half_to_float):
    """log_softmax: (x - max) - log(sum exp(x - max)), trees as _softmax."""
    return _softmax_common(self, dim, half_to_float, True)


def _check_out(out, dtype):
    if dtype is not None and out.dtype != dtype:
        raise RuntimeError("Expected out tensor to have dtype %s, but got %s "
                           "instead" % (dtype, out.dtype))


def _into(out, r):
    """r written into out, resized first if its shape differs (ATen's out=
    variants also warn when they resize a non-empty out)."""
    if out.shape != r.shape:
        out.resize_(r.shape)
    return out.copy_(r)


def sum_IntList_out(self, dim, keepdim=False, dtype=None, *, out):
    """sum with out=: computed in out's dtype unless dtype says (the same
    dtype then)."""
    _check_out(out, dtype)
    return _into(out, sum_dim_IntList(self, dim, keepdim, out.dtype))


def mean_out(self, dim, keepdim=False, dtype=None, *, out):
    """mean with out=: the input (or dtype) must be floating or complex, as
    for mean; computed in out's dtype."""
    _mean_dtype(self, dtype)
    _check_out(out, dtype)
    return _into(out, mean_dim(self, dim, keepdim, out.dtype))


def _softmax_out(self, dim, half_to_float, *, out):
    r = _softmax(self, dim, half_to_float)
    _check_out(out, r.dtype)
    return _into(out, r)


def _log_softmax_out(self, dim, half_to_float, *, out):
    r = _log_softmax(self, dim, half_to_float)
    _check_out(out, r.dtype)
    return _into(out, r)


def native_layer_norm(input, normalized_shape, weight, bias, eps):
    """layer_norm over the trailing dims: mean and the biased variance by
    sum-trees, rstd = rsqrt(var + eps); mean and rstd in the accumulation
    dtype and shaped as ATen's CUDA kernel gives them to its backward."""
    shape = list(normalized_shape)
    axis = input.dim() - len(shape)
    if not shape or axis < 0 or list(input.shape[axis:]) != shape:
        raise RuntimeError(
            "Given normalized_shape=%s, expected input with shape [*, %s], "
            "but got input of size%s" % (shape, ", ".join(map(str, shape)),
                                         list(input.shape)))
    acc = _acc(input.dtype)
    lead = list(input.shape[:axis])
    n = 1
    for k in shape:
        n *= k
    y = input.to(acc).reshape(lead + [n])
    mean = _tree(y, torch.add, 0) / n
    d = y - mean.unsqueeze(-1)
    rstd = torch.rsqrt(_tree(d * d, torch.add, 0) / n + eps)
    out = (d * rstd.unsqueeze(-1)).reshape(input.shape)
    if weight is not None:
        out = out * weight.to(acc)
    if bias is not None:
        out = out + bias.to(acc)
    stat = lead + [1] * len(shape)
    return out.to(input.dtype), mean.reshape(stat), rstd.reshape(stat)


# aten op.overload -> replacement.  Registered: those named in REDUCTIONS.
# native_layer_norm is off by default: ATen's CUDA kernel already reduces
# each row in one block of a fixed size (tests/gpu/batch_invariant/ measures
# whether that holds).
REPLACEMENTS = {
    "sum.dim_IntList": sum_dim_IntList,
    "sum.IntList_out": sum_IntList_out,
    "mean.dim": mean_dim,
    "mean.out": mean_out,
    "_softmax": _softmax,
    "_softmax.out": _softmax_out,
    "_log_softmax": _log_softmax,
    "_log_softmax.out": _log_softmax_out,
    "native_layer_norm": native_layer_norm,
}


# ----------------------------------------------------------------------
# the switches


def _event(call, action, detail):
    from _detshim import _native
    _native.event("torch", call, action, detail)


def _set_reduction(module, name):
    """allow_{bf16,fp16}_reduced_precision_reduction: (False, False) where
    PyTorch takes the split-K half too (2.10 and later), else False."""
    try:
        setattr(module, name, (False, False))
        return "(False, False)"
    except Exception:  # 1.13 and 2.9: a bool only
        setattr(module, name, False)
        return "False"


def _pins():
    """(call, apply) for each switch this version of torch has: call is
    its name under torch.backends (the log keeps 63 bytes of a call
    name); apply() sets it and returns the value set as text."""
    cuda = torch.backends.cuda
    out = []
    if hasattr(cuda, "preferred_blas_library"):
        out.append(("cuda.preferred_blas_library",
                    lambda: (cuda.preferred_blas_library("cublaslt"),
                             "cublaslt")[1]))
    for name in ("allow_bf16_reduced_precision_reduction",
                 "allow_fp16_reduced_precision_reduction"):
        try:
            getattr(cuda.matmul, name)
        except Exception:  # not in this version (1.13: AssertionError)
            continue
        out.append(("cuda.matmul." + name,
                    lambda n=name: _set_reduction(cuda.matmul, n)))
    out.append(("cuda.matmul.allow_tf32",
                lambda: (setattr(cuda.matmul, "allow_tf32", False),
                         "False")[1]))
    out.append(("cudnn.allow_tf32",
                lambda: (setattr(torch.backends.cudnn, "allow_tf32", False),
                         "False")[1]))
    for backend, fn in SDPA_SWITCHES:
        if hasattr(cuda, fn):
            on = backend in SDPA_BACKENDS
            out.append(("cuda." + fn,
                        lambda f=getattr(cuda, fn), v=on:
                        (f(v), str(v))[1]))
    return out


def _register(act):
    """Register REDUCTIONS for the CUDA key (act False: only say which
    would be)."""
    global _lib
    import warnings
    names = []
    lib = torch.library.Library("aten", "IMPL") if act else None
    with warnings.catch_warnings():
        # "Overriding a previously registered kernel": that is the point.
        warnings.simplefilter("ignore")
        for name in REDUCTIONS:
            fn = REPLACEMENTS.get(name)
            op, _, overload = name.partition(".")
            if fn is None or not hasattr(getattr(torch.ops.aten, op, None),
                                         overload or "default"):
                continue  # not in this version
            if act:
                try:
                    lib.impl(name, fn, "CUDA")
                except Exception as e:  # a schema this version changed
                    _event(name, "error", "not registered: %s" % e)
                    continue
                REGISTERED.append(name)
            names.append(name)
    if act:
        _lib = lib
    _event("batch_invariant", "replaced" if act else "would-replace",
           "%d ops %s for CUDA: %s" % (len(names),
                                       "replaced" if act else
                                       "would be replaced",
                                       " ".join(names)))


def install(mod):
    """Apply the profile to torch (called when torch is first imported);
    nothing unless the shim reports profile batch-invariant."""
    global torch, _done
    from _detshim import _native
    if _done or _native.setting("profile") != PROFILE:
        return
    _done = True
    policy = _native.setting("policy")
    if policy not in ("enforce", "warn"):
        return
    torch = mod
    act = policy == "enforce"
    import warnings
    for call, apply in _pins():
        if not act:
            _event(call, "would-pin", "profile %s" % PROFILE)
            continue
        try:
            with warnings.catch_warnings():
                # torch's "experimental feature" / deprecation notes
                # would reach the program's stderr.
                warnings.simplefilter("ignore")
                value = apply()
        except Exception as e:  # a switch this build refuses
            _event(call, "error", "not pinned: %s: %s"
                   % (type(e).__name__, e))
            continue
        _event(call, "pinned", "%s (profile %s)" % (value, PROFILE))
    _register(act)
