"""Deterministic replacements for the PyTorch CUDA kernels that PyTorch's
deterministic mode refuses (docs/DESIGN.md §12).

When the shim answers deterministic mode for the program, an op with no
deterministic CUDA kernel would raise.  Each function here replaces such
a kernel for the CUDA dispatch key of its aten op, built from primitives
that are deterministic: GEMMs, convolutions, sorts, gathers, reductions,
index_put_ with accumulate=True (a sort, then a fixed-order sum per
index), segment_reduce over sorted runs, and integer scatter_reduce
amin (exact in any order) to choose one writer per element.  They are
registered only when the shim's answer is on (policy enforce, gpu.torch
on) and the program did not choose warn-only mode; an op this version of
PyTorch lacks is skipped.  Ops that are refused and
have no function here still run: the shim answers their refusal itself
and logs them as "unfixed" (shim/frameworks.c).

A few rare ones are computed by PyTorch's own CPU kernel (_on_cpu): exact
and deterministic, at the price of two copies.

The functions take and return what the aten schema says; the CPU tests
call them directly (tests/python/check_torch_ops.py).
"""

import math

from _detshim import torch_grid

torch = None   # the module, set by install()
_lib = None    # the torch.library.Library holding the registrations
REGISTERED = []  # "name.overload" of every registered replacement

# ----------------------------------------------------------------------
# helpers


def _acc(t):
    """The dtype to compute in: float for half and bfloat16."""
    if t.dtype in (torch.float16, torch.bfloat16):
        return torch.float32
    return t.dtype


def _accumulate(n, index, values):
    """zeros(n) with values summed at index (1-D, int64), deterministic:
    index_put_ with accumulate=True sorts the indices and sums each run
    in a fixed order."""
    out = torch.zeros(n, dtype=values.dtype, device=values.device)
    return out.index_put_((index,), values, accumulate=True)


def _like_input(out, self):
    """out in self's memory format (channels_last stays channels_last)."""
    if out.dim() == 4 and not self.is_contiguous() and \
            self.is_contiguous(memory_format=torch.channels_last):
        return out.contiguous(memory_format=torch.channels_last)
    if out.dim() == 5 and not self.is_contiguous() and \
            self.is_contiguous(memory_format=torch.channels_last_3d):
        return out.contiguous(memory_format=torch.channels_last_3d)
    return out


# ----------------------------------------------------------------------
# losses


def nll_loss2d_forward(self, target, weight, reduction, ignore_index):
    """nll_loss2d_forward: gather, then a fixed-order sum (a reduction)."""
    valid = target != ignore_index
    t = target * valid  # an ignored target reads class 0, masked below
    picked = torch.where(valid, self.gather(1, t.unsqueeze(1)).squeeze(1), 0)
    if weight is not None:
        wt = weight.to(self.dtype)[t]
        picked = picked * wt
    if reduction == 0:  # none (at::Reduction: 0 none, 1 mean, 2 sum)
        return picked.neg_(), torch.zeros((), dtype=self.dtype,
                                          device=self.device)
    acc = _acc(self)
    s = picked.sum(dtype=acc).neg_()
    if weight is not None:
        total = torch.where(valid, wt, 0).sum(dtype=acc)
    else:
        total = valid.sum(dtype=acc)
    if reduction == 2:  # sum
        return s.to(self.dtype), total.to(self.dtype)
    return (s / total).to(self.dtype), total.to(self.dtype)


# ----------------------------------------------------------------------
# pooling


_matrices = {}


def _cached(key, make):
    """The matrix of key, made by make() once (at most 256 kept)."""
    m = _matrices.get(key)
    if m is None:
        if len(_matrices) > 256:
            _matrices.clear()
        m = _matrices[key] = make()
    return m


def _adaptive_matrix(n_in, n_out, dtype, device):
    """(n_out, n_in): row o averages input bin o of adaptive pooling
    (made once per shape)."""
    return _cached(("adaptive", n_in, n_out, dtype, str(device)),
                   lambda: _make_matrix(n_in, n_out, dtype, device))


def _make_matrix(n_in, n_out, dtype, device):
    o = torch.arange(n_out, device=device)
    start = torch.div(o * n_in, n_out, rounding_mode="floor")
    end = torch.div((o + 1) * n_in + n_out - 1, n_out, rounding_mode="floor")
    i = torch.arange(n_in, device=device)
    m = (i >= start[:, None]) & (i < end[:, None])
    return m.to(dtype) / (end - start)[:, None].to(dtype)


def _adaptive_avg_backward(grad_output, self, nd):
    acc = _acc(grad_output)
    g = grad_output.to(acc)
    ins = self.shape[-nd:]
    outs = grad_output.shape[-nd:]
    mats = [_adaptive_matrix(ins[k], outs[k], acc, g.device)
            for k in range(nd)]
    # Last axis from the right, the one before from the left; a third
    # axis with the two folded into one.
    g = torch.matmul(g, mats[-1])
    g = torch.matmul(mats[-2].t(), g)
    if nd == 3:
        lead = g.shape[:-3]
        g = torch.matmul(mats[0].t(), g.reshape(lead + (outs[0], -1)))
        g = g.reshape(lead + tuple(ins))
    return _like_input(g.to(grad_output.dtype), self)


def _adaptive_avg_pool2d_backward(grad_output, self):
    """Adaptive average pooling is linear: its backward is a product with
    the fixed pooling matrix of each spatial axis."""
    return _adaptive_avg_backward(grad_output, self, 2)


def _adaptive_avg_pool3d_backward(grad_output, self):
    return _adaptive_avg_backward(grad_output, self, 3)


def _scatter_back(grad_output, self, indices, nd):
    """Max-pooling backward: each output's gradient summed into the input
    element its index names (index_put_ with accumulate)."""
    spatial = 1
    for s in self.shape[-nd:]:
        spatial *= s
    g = grad_output.reshape(-1, int(math.prod(grad_output.shape[-nd:])))
    rows = g.shape[0]
    idx = indices.reshape(rows, -1).long()
    base = torch.arange(rows, device=idx.device).unsqueeze(1) * spatial
    out = _accumulate(rows * spatial, (idx + base).reshape(-1),
                      g.reshape(-1))
    return _like_input(out.view(self.shape), self)


def adaptive_max_pool2d_backward(grad_output, self, indices):
    return _scatter_back(grad_output, self, indices, 2)


def adaptive_max_pool3d_backward(grad_output, self, indices):
    return _scatter_back(grad_output, self, indices, 3)


def max_pool3d_with_indices_backward(grad_output, self, kernel_size, stride,
                                     padding, dilation, ceil_mode, indices):
    return _scatter_back(grad_output, self, indices, 3)


def fractional_max_pool2d_backward(grad_output, self, kernel_size,
                                   output_size, indices):
    return _scatter_back(grad_output, self, indices, 2)


def fractional_max_pool3d_backward(grad_output, self, kernel_size,
                                   output_size, indices):
    return _scatter_back(grad_output, self, indices, 3)


def _triple(v):
    v = list(v)
    return v * 3 if len(v) == 1 else v


def _divisor(n_in, n_out, k, s, p, include_pad, device):
    """Per-axis window sizes of average pooling, as PyTorch counts them."""
    o = torch.arange(n_out, device=device)
    start = o * s - p
    end = torch.clamp(start + k, max=n_in + p)
    pool = end - start
    cnt = torch.clamp(end, max=n_in) - torch.clamp(start, min=0)
    return pool if include_pad else cnt


def avg_pool3d_backward(grad_output, self, kernel_size, stride, padding,
                        ceil_mode, count_include_pad, divisor_override):
    """Average pooling backward: the gradient divided by each window's
    divisor, then spread over the window by a transposed convolution with
    a kernel of ones (cuDNN's deterministic backward-data algorithms)."""
    k = _triple(kernel_size)
    s = _triple(stride) if len(stride) else k
    p = _triple(padding)
    nd = 3
    ins = list(self.shape[-nd:])
    outs = list(grad_output.shape[-nd:])
    acc = _acc(grad_output)
    g = grad_output.to(acc)
    if divisor_override:
        g = g / divisor_override
    else:
        d = [_divisor(ins[i], outs[i], k[i], s[i], p[i], count_include_pad,
                      g.device).to(acc) for i in range(nd)]
        div = d[0][:, None, None] * d[1][None, :, None] * d[2][None, None, :]
        g = g / div
    lead = g.shape[:-nd]
    g = g.reshape((-1, 1) + tuple(outs))
    ones = torch.ones((1, 1) + tuple(k), dtype=acc, device=g.device)
    full = torch.nn.functional.conv_transpose3d(g, ones, stride=s)
    # Output index j of the transposed convolution is padded index j.
    pads = []
    for i in reversed(range(nd)):
        have = full.shape[2 + i]
        pads += [0, max(0, p[i] + ins[i] - have)]
    if any(pads):
        full = torch.nn.functional.pad(full, pads)
    full = full[:, :, p[0]:p[0] + ins[0], p[1]:p[1] + ins[1],
                p[2]:p[2] + ins[2]]
    out = full.reshape(tuple(lead) + tuple(ins)).to(grad_output.dtype)
    return _like_input(out.contiguous(), self)


# ----------------------------------------------------------------------
# padding and upsampling backward


def _reflect_fold(g, axis, n, left, right):
    """The gradient of reflection padding along axis (n input elements,
    left and right padded ones): the centre, plus each border flipped onto
    the input elements it reflects (output i < left is input left - i;
    output left + n + k is input n - 2 - k).  Elementwise adds in a fixed
    order: deterministic."""
    out = g.narrow(axis, left, n).clone(memory_format=torch.contiguous_format)
    if left:
        out.narrow(axis, 1, left).add_(g.narrow(axis, 0, left).flip(axis))
    if right:
        out.narrow(axis, n - 1 - right, right).add_(
            g.narrow(axis, left + n, right).flip(axis))
    return out


def _reflection_pad_backward(grad_output, self, padding, nd):
    pads = list(padding)
    if len(pads) != 2 * nd:
        raise RuntimeError("padding size is expected to be %d" % (2 * nd))
    ins = self.shape[-nd:]
    for k in range(nd):  # pads[0:2] are the last axis'
        n, left, right = ins[nd - 1 - k], pads[2 * k], pads[2 * k + 1]
        if not (0 <= left < n and 0 <= right < n):
            raise RuntimeError(
                "Argument #4: Padding size should be less than the "
                "corresponding input dimension, but got: padding (%d, %d) "
                "at dimension %d of input %s" % (left, right, k,
                                                 tuple(self.shape)))
        if grad_output.shape[-1 - k] != n + left + right:
            raise RuntimeError(
                "grad_output size %d of dimension %d does not match the "
                "padded input size %d" % (grad_output.shape[-1 - k],
                                          grad_output.dim() - 1 - k,
                                          n + left + right))
    acc = _acc(grad_output)
    g = grad_output.to(acc)
    for k in range(nd):  # last axis first
        g = _reflect_fold(g, g.dim() - 1 - k, ins[nd - 1 - k],
                          pads[2 * k], pads[2 * k + 1])
    return g.to(grad_output.dtype)


def reflection_pad1d_backward(grad_output, self, padding):
    return _reflection_pad_backward(grad_output, self, padding, 1)


def reflection_pad3d_backward(grad_output, self, padding):
    return _reflection_pad_backward(grad_output, self, padding, 3)


# The largest interpolation matrix (input x output elements of one axis)
# made; beyond it, PyTorch's CPU kernel.
INTERP_LIMIT = 1 << 25


def _interp_matrix(op, n_in, n_out, nd, axis, align_corners, scale, dtype,
                   device):
    """(n_in, n_out): row i is the forward upsampling op (a gather: PyTorch's
    own weights) of the unit vector e_i along one axis, every other spatial
    axis of size 1 (which the op maps through with weight 1.0 exactly), so
    the transposed matrix of that axis' interpolation.  Made once per
    (op, sizes, align_corners, scale, dtype, device)."""
    key = (op, n_in, n_out, axis, align_corners, scale, dtype, str(device))

    def make():
        shape = [n_in, 1] + [1] * nd
        shape[2 + axis] = n_in
        eye = torch.eye(n_in, dtype=dtype, device=device).reshape(shape)
        size = [1] * nd
        size[axis] = n_out
        scales = [None] * nd
        scales[axis] = scale
        fwd = getattr(torch.ops.aten, op).default
        return fwd(eye, size, align_corners, *scales).reshape(n_in, n_out)
    return _cached(key, make)


def _upsample_backward(op, grad_output, output_size, input_size,
                       align_corners, scales):
    """Upsampling is linear in each spatial axis: its backward is the
    gradient times each axis' interpolation matrix (_interp_matrix), GEMMs
    in the computing dtype (float for half types)."""
    nd = len(scales)
    outs, ins = list(output_size), list(input_size)
    if len(outs) != nd or len(ins) != nd + 2:
        raise RuntimeError("It is expected output_size equals to %d, and "
                           "input_size equals to %d" % (nd, nd + 2))
    if list(grad_output.shape) != ins[:2] + outs:
        raise RuntimeError(
            "Expected grad_output to have the same shape as output; "
            "output.size() = %s but got grad_output.size() = %s"
            % (ins[:2] + outs, list(grad_output.shape)))
    if any(ins[2 + k] * outs[k] > INTERP_LIMIT for k in range(nd)):
        # A dense matrix that large would cost more than the CPU kernel.
        return _on_cpu(getattr(torch.ops.aten, op + "_backward").default)(
            grad_output, outs, ins, align_corners, *scales)
    acc = _acc(grad_output)
    mats = [_interp_matrix(op, ins[2 + k], outs[k], nd, k, align_corners,
                           scales[k], acc, grad_output.device)
            for k in range(nd)]
    g = torch.matmul(grad_output.to(acc), mats[-1].t())
    if nd >= 2:
        g = torch.matmul(mats[-2], g)
    if nd == 3:
        g = torch.matmul(g.movedim(-3, -1), mats[0].t()).movedim(-1, -3)
    return g.to(grad_output.dtype)


def upsample_linear1d_backward(grad_output, output_size, input_size,
                               align_corners, scales=None):
    return _upsample_backward("upsample_linear1d", grad_output, output_size,
                              input_size, align_corners, [scales])


def upsample_bicubic2d_backward(grad_output, output_size, input_size,
                                align_corners, scales_h=None, scales_w=None):
    return _upsample_backward("upsample_bicubic2d", grad_output,
                              output_size, input_size, align_corners,
                              [scales_h, scales_w])


def upsample_bilinear2d_backward(grad_output, output_size, input_size,
                                 align_corners, scales_h=None, scales_w=None):
    return _upsample_backward("upsample_bilinear2d", grad_output,
                              output_size, input_size, align_corners,
                              [scales_h, scales_w])


def upsample_trilinear3d_backward(grad_output, output_size, input_size,
                                  align_corners, scales_d=None, scales_h=None,
                                  scales_w=None):
    return _upsample_backward("upsample_trilinear3d", grad_output,
                              output_size, input_size, align_corners,
                              [scales_d, scales_h, scales_w])


# F.interpolate's native op per input rank, for the linear modes, with the
# backward replacement that makes it deterministic.
LINEAR_UPSAMPLE = {3: ("upsample_linear1d", "upsample_linear1d_backward"),
                   4: ("upsample_bilinear2d", "upsample_bilinear2d_backward"),
                   5: ("upsample_trilinear3d",
                       "upsample_trilinear3d_backward")}


# The names under which torch's decompositions module has held that
# decomposition (torch 2.x); the one F.interpolate's code names is routed.
UPSAMPLE_DECOMPS = ("_upsample_linear_vec", "upsample_bilinear2d_vec")


def route_linear_upsample(dec, registered, used=None):
    """In deterministic mode F.interpolate computes bilinear upsampling of a
    GPU tensor by PyTorch's decomposition dec._upsample_linear_vec, whose
    backward is an index_put with accumulate (a sort): on the H200 that
    made a segmentation step 3x plain (docs/measurements/REPRODUCIBILITY.md).
    With a deterministic backward registered here, PyTorch's native op is
    deterministic itself; so the name F.interpolate looks up is pointed at
    a function that calls the native op for a tensor off the CPU whose
    rank has its backward in `registered`, and the decomposition for the
    rest and while torch.compile traces (whose graphs keep their own
    decompositions).  `used`: the names F.interpolate's code refers to
    (its own, by default).  Returns the function installed, or None."""
    if used is None:
        used = torch.nn.functional.interpolate.__code__.co_names
    name = next((n for n in UPSAMPLE_DECOMPS
                 if n in used and hasattr(dec, n)), None)
    orig = getattr(dec, name, None) if name else None
    if orig is None or getattr(orig, "_detshim_route", False):
        return None
    ranks = {k: getattr(torch._C._nn, op)
             for k, (op, bwd) in LINEAR_UPSAMPLE.items()
             if bwd in registered and hasattr(torch._C._nn, op)}
    if not ranks:
        return None
    compiling = getattr(getattr(torch, "compiler", None), "is_compiling",
                        lambda: False)

    def _upsample_linear_vec(input, output_size, align_corners,
                             scale_factors):
        native = ranks.get(input.dim())
        if native is None or input.is_cpu or compiling():
            return orig(input, output_size, align_corners, scale_factors)
        return native(input, output_size, align_corners, scale_factors)
    _upsample_linear_vec._detshim_route = True
    _upsample_linear_vec.__wrapped__ = orig
    _upsample_linear_vec.__doc__ = orig.__doc__
    setattr(dec, name, _upsample_linear_vec)
    return _upsample_linear_vec


# ----------------------------------------------------------------------
# counting


def histc(self, bins=100, min=0, max=0):
    """histc: each element's bin computed as the CUDA kernel does, then
    integer counts (exact in any dtype)."""
    if bins <= 0:
        raise RuntimeError("torch.histc: bins must be > 0, but got %d" % bins)
    lo, hi = float(min), float(max)
    if lo > hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    if lo == hi and self.numel() > 0:
        lo, hi = float(self.min()), float(self.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError("torch.histc: range of [%s, %s] is not finite"
                           % (lo, hi))
    x = self.reshape(-1).to(_acc(self))
    # The bin as the CUDA kernel computes it, the last bin closed; NaN
    # and values outside [lo, hi] (clamping changes them) go to bin
    # "bins", dropped.
    b = ((x - lo) * bins / (hi - lo)).long().clamp_(max=bins - 1)
    b = torch.where(x.clamp(lo, hi) == x, b, bins)
    if self.is_cuda:
        counts = bincount(b, None, bins + 1)[:bins]
    else:
        counts = _accumulate(bins + 1, b, torch.ones_like(b))[:bins]
    return counts.to(self.dtype)


def _below_autograd():
    """A context in which an op call reaches the kernels under autograd
    (PyTorch's own CUDA kernel of an op registered here for AutogradCUDA)."""
    return torch._C._AutoDispatchBelowAutograd()


def bincount(self, weights=None, minlength=0):
    """bincount: without weights PyTorch's own kernel (integer counts,
    deterministic); with weights, the weights summed per value in a fixed
    order (_segment_sum).  Registered for AutogradCUDA, above the CUDA
    kernel it calls."""
    if weights is None and self.is_cuda:
        with _below_autograd():
            return torch.ops.aten.bincount.default(self, None, minlength)
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if self.dim() == 1 and self.numel() == 0:
        # As ATen: integer zeros, with weights or without.
        return torch.zeros(minlength, dtype=torch.long, device=self.device)
    if self.dim() != 1:
        raise RuntimeError("bincount only supports 1-d non-negative "
                           "integral inputs.")
    if weights is not None and (weights.dim() != 1 or
                                weights.shape[0] != self.shape[0]):
        raise RuntimeError("weights should be 1-d and have the same length "
                           "as input")
    lo, hi = torch.stack(torch.aminmax(self)).tolist()  # one sync
    if lo < 0:
        raise RuntimeError("bincount only supports 1-d non-negative "
                           "integral inputs.")
    n = max(hi + 1, minlength)
    if weights is None:
        return _accumulate(n, self.long(), torch.ones_like(self.long()))
    dtype = torch.float32 if weights.dtype == torch.float32 else \
        torch.float64
    if not hasattr(torch, "segment_reduce"):
        return _accumulate(n, self.long(), weights.to(dtype))
    return _segment_sum(n, self, weights.to(dtype))


def _segment_sum(n, keys, vals):
    """(n,): the sum of vals per key 0..n-1 (keys 1-D, in range), in a fixed
    order: a stable sort by key, then each key's run summed by
    segment_reduce (CUB's segmented reduction on the GPU: a tree per
    segment, no atomics), its offsets found by binary search.  Unlike
    index_put_ with accumulate, whose kernel adds a run of equal keys
    serially, long runs (few keys, many values) stay parallel."""
    kd = torch.int32 if n < (1 << 31) else torch.int64
    order = torch.sort(keys.to(kd), stable=True)
    bounds = torch.searchsorted(order.values,
                                torch.arange(n + 1, dtype=kd,
                                             device=keys.device))
    return torch.segment_reduce(vals[order.indices], "sum", offsets=bounds,
                                unsafe=True)


# From this version scatter_reduce's amin/amax on CUDA run without a
# deterministic-mode alert (they are exact whatever the order); before it,
# _last_write's callers take index_put_ (a sort).
CLAIM_FROM = (2, 1)


def _claims(t):
    return not t.is_cuda or version() >= CLAIM_FROM


def _last_write(n, idx, src, base=None):
    """(n,) where position p holds src[j] of the last j with idx[j] == p
    (as a CPU loop writes them), else base[p] (0 without base); idx and
    src 1-D.  No sort: each position's writer is chosen by an integer
    scatter_reduce amin over the keys m-1-j (exact, so the same whatever
    the order the GPU applies them in), then gathered."""
    m = idx.numel()
    keys = torch.arange(m - 1, -1, -1, device=idx.device)
    claim = torch.arange(m, m + n, device=idx.device)
    claim.scatter_reduce_(0, idx, keys, "amin")
    rev = src.flip(0)
    ext = torch.constant_pad_nd(rev, (0, n)) if base is None else \
        torch.cat((rev, base))
    return ext.index_select(0, claim)


def put_(self, index, source, accumulate=False):
    """put_: accumulate through the deterministic index_put_ (a sort and a
    fixed-order sum per index); without it, the last write to each
    element wins (_last_write, as the CPU kernel)."""
    n = self.numel()
    if index.numel() != source.numel():
        raise IndexError(
            "put_(): Expected source and index to have the same number of "
            "elements, but got source.numel() = %d, index.numel() = %d"
            % (source.numel(), index.numel()))
    idx = index.reshape(-1).long()
    idx = torch.where(idx < 0, idx + n, idx)
    src = source.reshape(-1).to(self.dtype)
    if idx.numel() == 0:
        return self
    if not accumulate and _claims(self):
        self.copy_(_last_write(n, idx, src, self.reshape(-1))
                   .view(self.shape))
    elif self.is_contiguous():
        self.view(-1).index_put_((idx,), src, accumulate=accumulate)
    else:
        flat = self.contiguous().view(-1)
        flat.index_put_((idx,), src, accumulate=accumulate)
        self.copy_(flat.view(self.shape))
    return self


# ----------------------------------------------------------------------
# order statistics


def _kth(self, k, dim, keepdim, nan_first):
    """The k-th smallest along dim (0-based), from a stable sort: values
    and the index of that element; NaN sorts last."""
    x = self if self.dim() > 0 else self.reshape(1)
    d = dim % x.dim()
    if x.shape[d] == 0:
        raise IndexError("median(): Expected reduction dim %d to have "
                         "non-zero size." % dim)
    s, i = torch.sort(x, dim=d, stable=True)
    v = s.narrow(d, k, 1)
    ix = i.narrow(d, k, 1)
    if nan_first and x.is_floating_point():
        # Whether there is a NaN, and the first (max over dim returns the
        # first index of the maximum); the last sorted value is then NaN.
        anynan, first = torch.isnan(x).max(d, keepdim=True)
        v = torch.where(anynan, s.narrow(d, x.shape[d] - 1, 1), v)
        ix = torch.where(anynan, first, ix)
    if not keepdim or self.dim() == 0:
        v = v.squeeze(d)
        ix = ix.squeeze(d)
    if self.dim() == 0:
        v, ix = v.reshape(()), ix.reshape(())
    return v, ix


def median_dim(self, dim, keepdim=False):
    """median with indices: the lower median of a stable sort (NaN, if
    any, is the median, at its first index)."""
    n = self.shape[dim] if self.dim() > 0 else 1
    return _kth(self, (n - 1) // 2, dim, keepdim, True)


def nanmedian_dim(self, dim, keepdim=False):
    """nanmedian with indices: the lower median of the non-NaN elements of
    a stable sort (NaN sorts last); NaN where all are NaN."""
    x = self if self.dim() > 0 else self.reshape(1)
    d = dim % x.dim()
    if x.shape[d] == 0:
        raise IndexError("nanmedian(): Expected reduction dim %d to have "
                         "non-zero size." % dim)
    if not x.is_floating_point():
        return _kth(self, (x.shape[d] - 1) // 2, dim, keepdim, False)
    s, i = torch.sort(x, dim=d, stable=True)
    nans = torch.isnan(s).sum(d, keepdim=True)
    k = (x.shape[d] - 1 - nans).clamp_(min=0).div_(2, rounding_mode="floor")
    v = s.gather(d, k)
    ix = i.gather(d, k)
    if not keepdim or self.dim() == 0:
        v, ix = v.squeeze(d), ix.squeeze(d)
    if self.dim() == 0:
        v, ix = v.reshape(()), ix.reshape(())
    return v, ix


def _unpool(self, indices, out_spatial):
    """max_unpool: each value written at its index within its plane; a
    repeated index keeps the last value, as the CPU kernel does
    (_last_write, or index_put_ before CLAIM_FROM)."""
    nd = len(out_spatial)
    if indices.shape != self.shape:
        raise RuntimeError("Expected shape of indices to be same as that of "
                           "the input tensor (%s) but got indices tensor "
                           "with shape: %s" % (tuple(self.shape),
                                               tuple(indices.shape)))
    lead = self.shape[:-nd]
    size = int(math.prod(out_spatial))
    rows = int(math.prod(lead))
    shape = tuple(lead) + tuple(out_spatial)
    if rows * size == 0 or self.numel() == 0:
        return torch.zeros(shape, dtype=self.dtype, device=self.device)
    base = torch.arange(0, rows * size, size, device=indices.device)
    idx = (indices.reshape(rows, -1) + base.unsqueeze(1)).reshape(-1)
    v = self.reshape(-1)
    if _claims(self):
        return _last_write(rows * size, idx, v).view(shape)
    out = torch.zeros(rows * size, dtype=self.dtype, device=self.device)
    out.index_put_((idx,), v)
    return out.view(shape)


def max_unpool2d(self, indices, output_size):
    return _unpool(self, indices, list(output_size))


def max_unpool3d(self, indices, output_size, stride, padding):
    return _unpool(self, indices, list(output_size))


def kthvalue(self, k, dim=-1, keepdim=False):
    n = self.shape[dim] if self.dim() > 0 else 1
    if k < 1 or k > n:
        raise RuntimeError("kthvalue(): selected number k out of range")
    return _kth(self, k - 1, dim, keepdim, False)


# ----------------------------------------------------------------------
# products: scatter_reduce and index_reduce with reduce="prod"

# _segment_prod's one-kernel path pads to a matrix of at most
# max(DENSE_LIMIT, DENSE_RATIO x values) elements; beyond that (a few long
# segments among many short ones) the pairwise path, whose memory is that
# of its input.
DENSE_LIMIT = 1 << 24
DENSE_RATIO = 2


def _segment_prod(keys, vals):
    """The product of vals per distinct key, in a fixed order: unique keys
    (ascending) and their products.  Floating and complex values are
    sorted within each key first, so the product is a function of each
    key's multiset of values alone (the order in which duplicates arrive
    does not matter); then a padded [keys, longest] matrix of ones reduced by
    torch.prod (a reduction, no atomics), or pairwise products within
    each segment when that matrix would be too large."""
    parts = [None] if vals.is_floating_point() else \
        ["imag", "real"] if vals.is_complex() else []
    for part in parts:  # complex: by real part, ties by imaginary part
        v = vals if part is None else getattr(vals, part)
        order = torch.sort(v, stable=True)[1]
        keys, vals = keys[order], vals[order]
    keys, order = torch.sort(keys, stable=True)
    vals = vals[order]
    uniq, counts = torch.unique_consecutive(keys, return_counts=True)
    nseg = uniq.numel()
    seg = torch.repeat_interleave(
        torch.arange(nseg, device=keys.device), counts,
        output_size=keys.numel())
    start = torch.cumsum(counts, 0) - counts
    pos = torch.arange(keys.numel(), device=keys.device) - start[seg]
    longest = int(counts.max())
    if nseg * longest <= max(DENSE_LIMIT, DENSE_RATIO * keys.numel()):
        dense = torch.ones((nseg, longest), dtype=vals.dtype,
                           device=vals.device)
        dense[seg, pos] = vals
        return uniq, torch.prod(dense, dim=1, dtype=vals.dtype)
    # Pairwise: element 2j of a segment times element 2j+1, halving each
    # segment per round (log2(longest) rounds).
    while longest > 1:
        nxt = torch.ones_like(vals)
        pair = seg[1:] == seg[:-1]
        nxt[:-1] = torch.where(pair, vals[1:], nxt[:-1])
        even = pos % 2 == 0
        vals = (vals * nxt)[even]
        seg = seg[even]
        pos = torch.div(pos[even], 2, rounding_mode="floor")
        longest = (longest + 1) // 2
    return uniq, vals


def _scatter_prod(out, keys, vals, include_self):
    """out (contiguous) with vals multiplied in at the flat offsets keys;
    without include_self an offset that receives a value starts from 1."""
    flat = out.view(-1)
    if keys.numel() == 0:
        return out
    acc = _acc(vals)
    uniq, prod = _segment_prod(keys, vals.to(acc))
    if include_self:
        prod = flat[uniq].to(acc) * prod
    flat[uniq] = prod.to(out.dtype)
    return out


def _scatter_reduce_prod(self, dim, index, src, include_self):
    # Shapes, dtypes and dim as ATen checks them (its meta kernel).
    torch.ops.aten.scatter_reduce.two(
        self.to("meta"), dim, index.to("meta"), src.to("meta"), "prod",
        include_self=include_self)
    nd = max(self.dim(), 1)
    d = dim % nd
    x = self.reshape(1) if self.dim() == 0 else self
    idx = index.reshape(1) if index.dim() == 0 else index
    s = src.reshape(1) if src.dim() == 0 else src
    out = x.clone(memory_format=torch.contiguous_format)
    if idx.numel() == 0:
        return out.view(self.shape)
    size = x.shape[d]
    bad = (idx < 0) | (idx >= size)
    if bool(bad.any()):
        first = int(idx.reshape(-1)[bad.reshape(-1)][0])
        raise RuntimeError("index %d is out of bounds for dimension %d "
                           "with size %d" % (first, d, size))
    # The flat offset in out of every element of index.
    strides = out.stride()
    keys = idx * strides[d]
    for k in range(nd):
        if k != d:
            r = torch.arange(idx.shape[k], device=idx.device) * strides[k]
            keys = keys + r.view([-1 if j == k else 1 for j in range(nd)])
    vals = s[tuple(slice(0, n) for n in idx.shape)]
    _scatter_prod(out, keys.reshape(-1), vals.reshape(-1), include_self)
    return out.view(self.shape)


def scatter_reduce_two(self, dim, index, src, reduce, include_self=True):
    """scatter_reduce with reduce="prod": a fixed-order product per output
    element (_segment_prod); every other reduce: PyTorch's own kernel
    (the out overload, which is not replaced)."""
    if reduce != "prod":
        out = torch.empty(self.shape, dtype=self.dtype, device=self.device)
        return torch.ops.aten.scatter_reduce.two_out(
            self, dim, index, src, reduce, include_self=include_self, out=out)
    return _scatter_reduce_prod(self, dim, index, src, include_self)


def scatter_reduce__two(self, dim, index, src, reduce, include_self=True):
    """scatter_reduce_ (in place): as scatter_reduce_two."""
    if reduce != "prod":
        return torch.ops.aten.scatter_reduce.two_out(
            self, dim, index, src, reduce, include_self=include_self,
            out=self)
    return self.copy_(_scatter_reduce_prod(self, dim, index, src,
                                           include_self))


def _index_reduce_prod(self, dim, index, source, include_self):
    x = self.reshape(1) if self.dim() == 0 else self
    if index.numel() == 0:  # (torch 1.13's meta kernel fails on it)
        return x.clone(memory_format=torch.contiguous_format).view(self.shape)
    torch.ops.aten.index_reduce(
        self.to("meta"), dim, index.to("meta"), source.to("meta"), "prod",
        include_self=include_self)
    s = source.reshape(1) if source.dim() == 0 else source
    d = dim % x.dim()
    idx = index.reshape(-1)
    size = x.shape[d]
    if bool(((idx < 0) | (idx >= size)).any()):
        raise IndexError("index out of range in self")
    # Rows of dim first: row i of source goes to row index[i] of out.
    o = x.movedim(d, 0)
    rows = o.reshape(size, -1).clone(memory_format=torch.contiguous_format)
    width = rows.shape[1]
    keys = (idx.long().unsqueeze(1) * width +
            torch.arange(width, device=idx.device)).reshape(-1)
    vals = s.movedim(d, 0).reshape(-1)
    _scatter_prod(rows, keys, vals, include_self)
    return rows.view(o.shape).movedim(0, d).contiguous().view(self.shape)


def index_reduce(self, dim, index, source, reduce, include_self=True):
    """index_reduce with reduce="prod": a fixed-order product per output
    element (_segment_prod); every other reduce: PyTorch's own kernel
    (the out overload, which is not replaced)."""
    if reduce != "prod":
        out = torch.empty(self.shape, dtype=self.dtype, device=self.device)
        return torch.ops.aten.index_reduce.out(
            self, dim, index, source, reduce, include_self=include_self,
            out=out)
    return _index_reduce_prod(self, dim, index, source, include_self)


def index_reduce_(self, dim, index, source, reduce, include_self=True):
    """index_reduce_ (in place): as index_reduce."""
    if reduce != "prod":
        return torch.ops.aten.index_reduce.out(
            self, dim, index, source, reduce, include_self=include_self,
            out=self)
    return self.copy_(_index_reduce_prod(self, dim, index, source,
                                         include_self))


# ----------------------------------------------------------------------
# embedding bag


def _embedding_bag_dense_backward(grad, indices, offset2bag, bag_size,
                                  maximum_indices, num_weights,
                                  scale_grad_by_freq, mode,
                                  per_sample_weights, padding_idx=-1):
    """EmbeddingBag backward: every gradient row summed into its weight row
    by index_put_ (max: the row each maximum came from)."""
    dim = grad.shape[1]
    if mode == 2:  # max
        rows = maximum_indices.reshape(grad.shape[0], dim).long()
        # An empty bag names row -1 (CUDA) or 0 (CPU): its size says.
        ok = (rows >= 0) & (bag_size > 0).unsqueeze(1)
        if padding_idx >= 0:
            ok = ok & (rows != padding_idx)
        cols = torch.arange(dim, device=grad.device)
        lin = torch.where(ok, rows * dim + cols, num_weights * dim)
        out = _accumulate(num_weights * dim + 1, lin.reshape(-1),
                          grad.reshape(-1))
        return out[:-1].view(num_weights, dim)
    idx = indices.reshape(-1).long()
    bag = offset2bag.reshape(-1).long()
    vals = grad.index_select(0, bag)
    if mode == 1:  # mean
        size = bag_size.index_select(0, bag).to(grad.dtype).clamp(min=1)
        vals = vals / size.unsqueeze(1)
    if per_sample_weights is not None:
        vals = vals * per_sample_weights.reshape(-1, 1).to(grad.dtype)
    if scale_grad_by_freq:
        freq = _accumulate(num_weights, idx, torch.ones_like(idx))
        vals = vals / freq.index_select(0, idx).to(grad.dtype).unsqueeze(1)
    if padding_idx >= 0:
        idx = torch.where(idx == padding_idx,
                          torch.full_like(idx, num_weights), idx)
    out = torch.zeros((num_weights + 1, dim), dtype=grad.dtype,
                      device=grad.device)
    out.index_put_((idx,), vals, accumulate=True)
    return out[:-1].contiguous()


# ----------------------------------------------------------------------
# the rest: PyTorch's own CPU kernel


def _to(x, device):
    if isinstance(x, torch.Tensor):
        return x.to(device)
    if isinstance(x, (list, tuple)) and x and \
            all(isinstance(e, torch.Tensor) or e is None for e in x):
        return type(x)(e.to(device) if e is not None else None for e in x)
    return x


def _on_cpu(op):
    """A replacement that runs op's CPU kernel on copies of the inputs."""
    def run(*args, **kwargs):
        dev = next(a.device for a in args if isinstance(a, torch.Tensor))
        out = op(*[_to(a, "cpu") for a in args],
                 **{k: _to(v, "cpu") for k, v in kwargs.items()})
        if isinstance(out, tuple):
            return tuple(_to(o, dev) for o in out)
        return _to(out, dev)
    run.__name__ = "on_cpu(%s)" % op
    return run


# (aten op and overload, replacement or None for the op's own CPU
# kernel, the entry of torch.use_deterministic_algorithms' list of ops
# that raise which the op belongs to).
REPLACEMENTS = [
    ("nll_loss2d_forward", nll_loss2d_forward, "torch.nn.NLLLoss`"),
    ("_adaptive_avg_pool2d_backward", _adaptive_avg_pool2d_backward,
     "torch.nn.AdaptiveAvgPool2d`"),
    ("_adaptive_avg_pool3d_backward", _adaptive_avg_pool3d_backward,
     "torch.nn.AdaptiveAvgPool3d`"),
    ("adaptive_max_pool2d_backward", adaptive_max_pool2d_backward,
     "torch.nn.AdaptiveMaxPool2d`"),
    ("adaptive_max_pool3d_backward", adaptive_max_pool3d_backward,
     "torch.nn.AdaptiveMaxPool3d`"),
    ("max_pool3d_with_indices_backward", max_pool3d_with_indices_backward,
     "torch.nn.MaxPool3d`"),
    ("avg_pool3d_backward", avg_pool3d_backward, "torch.nn.AvgPool3d`"),
    ("fractional_max_pool2d_backward", fractional_max_pool2d_backward,
     "torch.nn.FractionalMaxPool2d`"),
    ("fractional_max_pool3d_backward", fractional_max_pool3d_backward,
     "torch.nn.FractionalMaxPool3d`"),
    ("max_unpool2d", max_unpool2d, "torch.nn.MaxUnpool2d`"),
    ("max_unpool3d", max_unpool3d, "torch.nn.MaxUnpool3d`"),
    ("histc", histc, "torch.histc`"),
    ("bincount", bincount, "torch.bincount`"),
    ("put_", put_, "torch.Tensor.put_`"),
    ("median.dim", median_dim, "torch.median`"),
    # Refused by torch 2.11 (measured, tests/gpu/op_table.sh), not in its
    # docs' list: always.
    ("nanmedian.dim", nanmedian_dim, None),
    ("kthvalue", kthvalue, "torch.kthvalue`"),
    ("_embedding_bag_dense_backward", _embedding_bag_dense_backward,
     "torch.nn.EmbeddingBag`"),
    # reduce="prod" only; the other modes call the out overload, which
    # keeps PyTorch's own kernel (so its prod stays unfixed).  Refused by
    # every version that has them (torch 1.13's docs do not list
    # scatter_reduce, 2.11's do not list index_reduce): always.
    ("scatter_reduce.two", scatter_reduce_two, None),
    ("scatter_reduce_.two", scatter_reduce__two, None),
    ("index_reduce", index_reduce, None),
    ("index_reduce_", index_reduce_, None),
    ("reflection_pad1d_backward", reflection_pad1d_backward,
     "torch.nn.ReflectionPad1d`"),
    ("reflection_pad3d_backward", reflection_pad3d_backward,
     "torch.nn.ReflectionPad3d`"),
    ("upsample_linear1d_backward", upsample_linear1d_backward,
     "``linear``"),
    ("upsample_bicubic2d_backward", upsample_bicubic2d_backward,
     "``bicubic``"),
    # Bilinear and nearest (bicubic: the CPU kernel): torch_grid.py.
    ("grid_sampler_2d_backward", torch_grid.grid_sampler_2d_backward,
     "torch.nn.functional.grid_sample`"),
    ("grid_sampler_3d_backward", torch_grid.grid_sampler_3d_backward,
     "torch.nn.functional.grid_sample`"),
    # Rare, or with many modes each: the CPU kernel.
    ("_ctc_loss_backward", None, "torch.nn.CTCLoss`"),
    ("_ctc_loss_backward.Tensor", None, "torch.nn.CTCLoss`"),
    ("reflection_pad2d_backward", None, "torch.nn.ReflectionPad2d`"),
    ("replication_pad1d_backward", None, "torch.nn.ReplicationPad1d`"),
    ("replication_pad2d_backward", None, "torch.nn.ReplicationPad2d`"),
    ("replication_pad3d_backward", None, "torch.nn.ReplicationPad3d`"),
    ("upsample_bilinear2d_backward", upsample_bilinear2d_backward,
     "``bilinear``"),
    ("upsample_trilinear3d_backward", upsample_trilinear3d_backward,
     "``trilinear``"),
]

# Listed as refused by the docs but deterministic in deterministic mode
# from the version given (measured on torch 2.11, tests/gpu/op_table.sh):
# replacing them would only cost.
# (Bilinear and trilinear upsampling backward "run" in torch 2.11's
# deterministic mode only because F.interpolate then takes a slow
# decomposition instead of the native op; they are replaced, and
# route_linear_upsample takes F.interpolate back to the native op.)
NATIVE_FROM = {
    "reflection_pad2d_backward": (2, 11),
}

# Registered above the CUDA kernel, which they call themselves.
DISPATCH_KEY = {"bincount": "AutogradCUDA"}


def refused_section(doc):
    """The part of torch.use_deterministic_algorithms' docs that lists the
    ops which raise in deterministic mode ("" if not found)."""
    if not doc:
        return ""
    start = doc.find("operations will throw a")
    if start < 0:
        return ""
    end = doc.find("A handful of CUDA operations", start)
    return doc[start:end if end > 0 else len(doc)]


def version():
    try:
        return tuple(int(v) for v in torch.__version__.split("+")[0]
                     .split(".")[:2])
    except ValueError:
        return (0, 0)


def wanted(refused, key, name=None):
    """True if the op of key raises in this version (every op when the
    docs are not there, e.g. under python -OO; key None: always)."""
    if name in NATIVE_FROM and version() >= NATIVE_FROM[name]:
        return False
    return key is None or not refused or key in refused


def _aten(name):
    op, _, overload = name.partition(".")
    packet = getattr(torch.ops.aten, op)
    return getattr(packet, overload or "default")


def _event(call, action, detail):
    from _detshim import _native
    _native.event("torch", call, action, detail)


CUBLAS_PIN = ":4096:8"  # the value shim/pins.c sets


def settle_cublas_workspace():
    """PyTorch 2 keeps one cuBLAS workspace per handle and stream, which is
    what NVIDIA's condition for deterministic cuBLAS asks for, so the
    shim's CUBLAS_WORKSPACE_CONFIG pin only costs there (host time per
    matmul: docs/measurements/BENCHMARKS.md).  Taken back before the first
    cuBLAS handle reads it; older PyTorch keeps it."""
    import os
    try:
        major = int(torch.__version__.split(".")[0])
    except ValueError:
        return
    if major < 2 or os.environ.get("CUBLAS_WORKSPACE_CONFIG") != CUBLAS_PIN:
        return
    del os.environ["CUBLAS_WORKSPACE_CONFIG"]
    _event("CUBLAS_WORKSPACE_CONFIG", "unpinned",
           "torch %s keeps a cuBLAS workspace per handle and stream"
           % torch.__version__)


def install(mod):
    """Register the replacements for the CUDA key (called when torch is
    first imported)."""
    global torch, _lib
    torch = mod
    settle_cublas_workspace()
    if _lib is not None:
        return
    if not torch.are_deterministic_algorithms_enabled() or \
            torch.is_deterministic_algorithms_warn_only_enabled():
        return  # detshim's answer is off, or warn-only: all native
    import warnings
    refused = refused_section(torch.use_deterministic_algorithms.__doc__)
    lib = torch.library.Library("aten", "IMPL")
    with warnings.catch_warnings():
        # "Overriding a previously registered kernel": that is the point.
        warnings.simplefilter("ignore")
        for name, fn, key in REPLACEMENTS:
            if not wanted(refused, key, name):
                continue
            try:
                op = _aten(name)
            except (AttributeError, RuntimeError):
                continue  # not in this version
            try:
                if fn is None:
                    fn = _on_cpu(op)
                key_ = DISPATCH_KEY.get(name, "CUDA")
                if key_ == "AutogradCUDA" and \
                        not hasattr(torch._C, "_AutoDispatchBelowAutograd"):
                    continue  # no way back to the kernel below
                lib.impl(name, fn, key_)
            except Exception as e:  # a schema this version changed
                _event(name, "error", "not registered: %s" % e)
                continue
            REGISTERED.append(name)
    _lib = lib
    _event("torch_ops", "replaced",
           "%d ops replaced for CUDA: %s" % (len(REGISTERED),
                                             " ".join(REGISTERED)))
    try:
        import importlib
        dec = importlib.import_module("torch._decomp.decompositions")
    except Exception:  # no decompositions in this version: nothing to route
        dec = None
    if dec is not None and route_linear_upsample(dec, REGISTERED):
        _event("F.interpolate", "routed",
               "linear modes on the GPU run the native op (its backward "
               "replaced), not the index_put decomposition of "
               "deterministic mode")
