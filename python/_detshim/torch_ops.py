"""Deterministic replacements for the PyTorch CUDA kernels that PyTorch's
deterministic mode refuses (docs/DESIGN.md §12).

When the shim answers deterministic mode for the program, an op with no
deterministic CUDA kernel would raise.  Each function here replaces such
a kernel for the CUDA dispatch key of its aten op, built from primitives
that are deterministic: GEMMs, convolutions, sorts, gathers, reductions and
index_put_ with accumulate=True (a sort, then a fixed-order sum per
index).  They are registered only when the shim's answer is on (policy
enforce, gpu.torch on) and the program did not choose warn-only mode; an
op this version of PyTorch lacks is skipped.  Ops that are refused and
have no function here still run: the shim answers their refusal itself
and logs them as "unfixed" (shim/frameworks.c).

A few rare ones are computed by PyTorch's own CPU kernel (ON_CPU): exact
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
    """nll_loss2d_forward: gather, then a fixed-order sum."""
    valid = target != ignore_index
    t = torch.where(valid, target, torch.zeros_like(target))
    picked = self.gather(1, t.unsqueeze(1)).squeeze(1)
    if weight is not None:
        w = weight.to(self.dtype)[t] * valid
    else:
        w = valid.to(self.dtype)
    zero = torch.zeros((), dtype=self.dtype, device=self.device)
    loss = torch.where(valid, -picked * w, zero)
    if reduction == 0:  # none (at::Reduction: 0 none, 1 mean, 2 sum)
        return loss, zero.clone()
    acc = _acc(self)
    total = w.sum(dtype=acc)
    s = loss.sum(dtype=acc)
    if reduction == 2:  # sum
        return s.to(self.dtype), total.to(self.dtype)
    return (s / total).to(self.dtype), total.to(self.dtype)


# ----------------------------------------------------------------------
# pooling


_matrices = {}


def _adaptive_matrix(n_in, n_out, dtype, device):
    """(n_out, n_in): row o averages input bin o of adaptive pooling
    (made once per shape)."""
    key = (n_in, n_out, dtype, str(device))
    m = _matrices.get(key)
    if m is None:
        if len(_matrices) > 256:
            _matrices.clear()
        m = _matrices[key] = _make_matrix(n_in, n_out, dtype, device)
    return m


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
    inside = (x >= lo) & (x <= hi)
    b = ((x - lo) * bins / (hi - lo)).clamp(0, bins).long()
    b = torch.where(b == bins, b - 1, b)
    b = torch.where(inside, b, torch.full_like(b, bins))
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
    deterministic); with weights, the weights summed per value by
    index_put_.  Registered for AutogradCUDA, above the CUDA kernel it
    calls."""
    if weights is None and self.is_cuda:
        with _below_autograd():
            return torch.ops.aten.bincount.default(self, None, minlength)
    if self.dim() != 1:
        raise RuntimeError("bincount only supports 1-d non-negative "
                           "integral inputs.")
    if weights is None:
        dtype = torch.long
    elif weights.dtype == torch.float32:
        dtype = torch.float32
    else:
        dtype = torch.float64
    if self.numel() == 0:
        return torch.zeros(minlength, dtype=dtype, device=self.device)
    if int(self.min()) < 0:
        raise RuntimeError("bincount only supports 1-d non-negative "
                           "integral inputs.")
    n = max(int(self.max()) + 1, minlength)
    vals = torch.ones(self.shape, dtype=dtype, device=self.device) \
        if weights is None else weights.to(dtype)
    return _accumulate(n, self.long(), vals)


def put_(self, index, source, accumulate=False):
    """put_: the deterministic index_put_ on the flat view."""
    n = self.numel()
    idx = index.reshape(-1).long()
    idx = torch.where(idx < 0, idx + n, idx)
    src = source.reshape(-1).to(self.dtype)
    if self.is_contiguous():
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
        isnan = torch.isnan(x)
        anynan = isnan.any(d, keepdim=True)
        first = isnan.to(torch.uint8).argmax(d, keepdim=True)
        v = torch.where(anynan, torch.full_like(v, float("nan")), v)
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
    s, i = torch.sort(x, dim=d, stable=True)
    n = (~torch.isnan(x)).sum(d, keepdim=True) if x.is_floating_point() \
        else torch.full_like(s.narrow(d, 0, 1), x.shape[d], dtype=torch.long)
    k = torch.clamp(n - 1, min=0) // 2
    v = s.gather(d, k)
    ix = i.gather(d, k)
    if not keepdim or self.dim() == 0:
        v, ix = v.squeeze(d), ix.squeeze(d)
    if self.dim() == 0:
        v, ix = v.reshape(()), ix.reshape(())
    return v, ix


def _unpool(self, indices, out_spatial):
    """max_unpool: each value written at its index by index_put_ (a
    repeated index: the last in order, deterministically)."""
    nd = len(out_spatial)
    lead = self.shape[:-nd]
    size = int(math.prod(out_spatial))
    rows = int(math.prod(lead))
    v = self.reshape(rows, -1)
    idx = indices.reshape(rows, -1).long()
    base = torch.arange(rows, device=idx.device).unsqueeze(1) * size
    out = torch.zeros(rows * size, dtype=self.dtype, device=self.device)
    out.index_put_(((idx + base).reshape(-1),), v.reshape(-1))
    return out.view(tuple(lead) + tuple(out_spatial))


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
        rows = maximum_indices.reshape(-1).long()
        cols = torch.arange(dim, device=grad.device).repeat(grad.shape[0])
        # An empty bag names row -1 (CUDA) or 0 (CPU): its size says.
        ok = (rows >= 0) & (bag_size > 0).repeat_interleave(dim)
        if padding_idx >= 0:
            ok = ok & (rows != padding_idx)
        lin = torch.where(ok, rows * dim + cols,
                          torch.full_like(rows, num_weights * dim))
        out = _accumulate(num_weights * dim + 1, lin, grad.reshape(-1))
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
    # Bilinear and nearest (bicubic: the CPU kernel): torch_grid.py.
    ("grid_sampler_2d_backward", torch_grid.grid_sampler_2d_backward,
     "torch.nn.functional.grid_sample`"),
    ("grid_sampler_3d_backward", torch_grid.grid_sampler_3d_backward,
     "torch.nn.functional.grid_sample`"),
    # Rare, or with many modes each: the CPU kernel.
    ("_ctc_loss_backward", None, "torch.nn.CTCLoss`"),
    ("_ctc_loss_backward.Tensor", None, "torch.nn.CTCLoss`"),
    ("reflection_pad1d_backward", None, "torch.nn.ReflectionPad1d`"),
    ("reflection_pad2d_backward", None, "torch.nn.ReflectionPad2d`"),
    ("reflection_pad3d_backward", None, "torch.nn.ReflectionPad3d`"),
    ("replication_pad1d_backward", None, "torch.nn.ReplicationPad1d`"),
    ("replication_pad2d_backward", None, "torch.nn.ReplicationPad2d`"),
    ("replication_pad3d_backward", None, "torch.nn.ReplicationPad3d`"),
    ("upsample_linear1d_backward", None, "``linear``"),
    ("upsample_bilinear2d_backward", None, "``bilinear``"),
    ("upsample_bicubic2d_backward", None, "``bicubic``"),
    ("upsample_trilinear3d_backward", None, "``trilinear``"),
]

# Listed as refused by the docs but deterministic in deterministic mode
# from the version given (measured on torch 2.11, tests/gpu/op_table.sh):
# replacing them would only cost.
NATIVE_FROM = {
    "upsample_bilinear2d_backward": (2, 11),
    "upsample_trilinear3d_backward": (2, 11),
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
