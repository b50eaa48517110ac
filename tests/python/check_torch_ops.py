"""The arithmetic of python/_detshim/torch_ops.py against PyTorch's own
CPU kernels (tests/it_python.sh runs it with Debian's python3-torch).

Each case calls a replacement directly on CPU tensors and the native op
on the same inputs: random values, empty tensors, non-contiguous and
channels_last inputs, ignore_index, every reduction, several dtypes.
Prints one line per failing case and "N cases" last; exits 1 on a
failure.  The CUDA registration itself is checked on the GPU
(tests/gpu/op_table.py).
"""

import sys
import warnings

import torch

from _detshim import torch_ops as T

T.torch = torch
aten = torch.ops.aten
torch.manual_seed(0)
# torch 1.13 calls scatter_reduce beta (once); the CUDA path uses it from
# torch_ops.CLAIM_FROM, where it no longer says so.
warnings.filterwarnings("ignore", "scatter_reduce")
failed = []
cases = 0


def close(a, b, tol):
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(close(x, y, tol) for x, y in zip(a, b))
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.numel() == 0:
        return True
    if not a.is_floating_point():
        return bool((a == b).all())
    return torch.allclose(a.double(), b.double(), rtol=tol, atol=tol,
                          equal_nan=True)


def check(name, mine, native, tol=1e-5):
    global cases
    cases += 1
    try:
        a = mine()
        b = native()
        ok = close(a, b, tol)
        # Twice: bit for bit the same.
        a2 = mine()
        if ok and isinstance(a, torch.Tensor):
            ok = torch.equal(a, a2) or (a.is_floating_point() and
                                        torch.equal(torch.nan_to_num(a),
                                                    torch.nan_to_num(a2)))
    except Exception as e:  # a case that raises is a failing case
        ok = False
        a, b = e, None
    if not ok:
        failed.append(name)
        print("FAIL %s: mine %s, native %s" % (name, short(a), short(b)))


def check_raises(name, mine, native):
    """Both raise, the same exception type."""
    global cases
    cases += 1
    got = []
    for f in (mine, native):
        try:
            f()
            got.append(None)
        except Exception as e:
            got.append(type(e))
    if got[0] is None or got[0] != got[1]:
        failed.append(name)
        print("FAIL %s: mine raised %s, native %s" % (name, got[0], got[1]))


def short(x):
    if isinstance(x, torch.Tensor):
        return "%s %s %s" % (tuple(x.shape), x.dtype,
                             x.flatten()[:4].tolist())
    if isinstance(x, (tuple, list)):
        return "(" + ", ".join(short(e) for e in x) + ")"
    return repr(x)


# nll_loss2d_forward: reductions, weights, ignore_index, dtypes,
# non-contiguous, empty batch.
for dtype in (torch.float32, torch.float64):
    for red in (0, 1, 2):
        for weighted in (False, True):
            for ign in (-100, 1):
                x = torch.randn(3, 5, 4, 6, dtype=dtype).log_softmax(1)
                t = torch.randint(0, 5, (3, 4, 6))
                w = torch.rand(5, dtype=dtype) if weighted else None
                check("nll_loss2d %s red=%d w=%s ign=%d" % (dtype, red,
                                                             weighted, ign),
                      lambda: T.nll_loss2d_forward(x, t, w, red, ign)[
                          0 if red == 0 else slice(None)],
                      lambda: aten.nll_loss2d_forward(x, t, w, red, ign)[
                          0 if red == 0 else slice(None)])
x = torch.randn(2, 6, 5, 3).log_softmax(1).transpose(2, 3)
t = torch.randint(0, 6, (2, 3, 5))
check("nll_loss2d non-contiguous", lambda: T.nll_loss2d_forward(x, t, None, 2, -100),
      lambda: aten.nll_loss2d_forward(x, t, None, 2, -100))
x = torch.randn(0, 4, 3, 3)
t = torch.randint(0, 4, (0, 3, 3))
check("nll_loss2d empty, none", lambda: T.nll_loss2d_forward(x, t, None, 0, -100)[0],
      lambda: aten.nll_loss2d_forward(x, t, None, 0, -100)[0])
check("nll_loss2d empty, sum", lambda: T.nll_loss2d_forward(x, t, None, 1, -100),
      lambda: aten.nll_loss2d_forward(x, t, None, 1, -100))

x = torch.randn(2, 4, 3, 5).log_softmax(1)
t = torch.randint(0, 4, (2, 3, 5))
t[0, 1] = 2
x[0, 2, 1] = float("-inf")  # an ignored target's class may be -inf
for red in (0, 1, 2):
    for w in (None, torch.rand(4)):
        check("nll_loss2d -inf at ignored targets red=%d w=%s" % (red, w is not None),
              lambda: T.nll_loss2d_forward(x, t, w, red, 2),
              lambda: aten.nll_loss2d_forward(x, t, w, red, 2))
x = torch.randn(2, 5, 4, 3).log_softmax(1).contiguous(memory_format=torch.channels_last)
t = torch.randint(0, 5, (2, 4, 3))
check("nll_loss2d channels_last, none", lambda: T.nll_loss2d_forward(x, t, None, 0, -100)[0],
      lambda: aten.nll_loss2d_forward(x, t, None, 0, -100)[0])
check("nll_loss2d all ignored, mean", lambda: T.nll_loss2d_forward(x, t * 0 + 7, None, 1, 7),
      lambda: aten.nll_loss2d_forward(x, t * 0 + 7, None, 1, 7))

# adaptive average pooling backward, 2-D and 3-D, uneven bins,
# channels_last.
for (h, w, oh, ow) in ((7, 9, 3, 4), (8, 8, 8, 8), (5, 3, 7, 2), (6, 6, 1, 1)):
    x = torch.randn(2, 3, h, w)
    g = torch.randn(2, 3, oh, ow)
    check("adaptive_avg_pool2d_backward %dx%d->%dx%d" % (h, w, oh, ow),
          lambda: T._adaptive_avg_pool2d_backward(g, x),
          lambda: aten._adaptive_avg_pool2d_backward(g, x))
xc = torch.randn(2, 4, 7, 5).contiguous(memory_format=torch.channels_last)
gc = torch.randn(2, 4, 3, 2).contiguous(memory_format=torch.channels_last)
check("adaptive_avg_pool2d_backward channels_last",
      lambda: T._adaptive_avg_pool2d_backward(gc, xc),
      lambda: aten._adaptive_avg_pool2d_backward(gc, xc))
check("adaptive_avg_pool2d_backward keeps channels_last",
      lambda: torch.tensor(T._adaptive_avg_pool2d_backward(gc, xc).is_contiguous(
          memory_format=torch.channels_last)), lambda: torch.tensor(True))
x = torch.randn(3, 5, 7)
g = torch.randn(3, 2, 3)
check("adaptive_avg_pool2d_backward unbatched",
      lambda: T._adaptive_avg_pool2d_backward(g, x),
      lambda: aten._adaptive_avg_pool2d_backward(g, x))
x = torch.randn(2, 2, 5, 6, 7, dtype=torch.float64)
g = torch.randn(2, 2, 2, 3, 4, dtype=torch.float64)
check("adaptive_avg_pool3d_backward", lambda: T._adaptive_avg_pool3d_backward(g, x),
      lambda: aten._adaptive_avg_pool3d_backward(g, x), 1e-10)

# max pooling backward through the forward's own indices.
x = torch.randn(2, 3, 9, 7)
out, idx = aten.adaptive_max_pool2d(x, [4, 3])
g = torch.randn_like(out)
check("adaptive_max_pool2d_backward", lambda: T.adaptive_max_pool2d_backward(g, x, idx),
      lambda: aten.adaptive_max_pool2d_backward(g, x, idx))
x = torch.randn(2, 3, 6, 7, 5)
out, idx = aten.adaptive_max_pool3d(x, [3, 4, 2])
g = torch.randn_like(out)
check("adaptive_max_pool3d_backward", lambda: T.adaptive_max_pool3d_backward(g, x, idx),
      lambda: aten.adaptive_max_pool3d_backward(g, x, idx))
for (k, s, p, d, ceil) in (([3, 3, 3], [1, 1, 1], [1, 1, 1], [1, 1, 1], False),
                           ([2, 3, 2], [2, 2, 1], [0, 1, 1], [1, 1, 1], True),
                           ([3, 3, 3], [2, 2, 2], [1, 0, 1], [2, 1, 1], False)):
    x = torch.randn(2, 2, 7, 8, 6)
    out, idx = aten.max_pool3d_with_indices(x, k, s, p, d, ceil)
    g = torch.randn_like(out)
    check("max_pool3d_backward k=%s s=%s p=%s d=%s ceil=%s" % (k, s, p, d, ceil),
          lambda: T.max_pool3d_with_indices_backward(g, x, k, s, p, d, ceil, idx),
          lambda: aten.max_pool3d_with_indices_backward(g, x, k, s, p, d, ceil, idx))
x = torch.randn(2, 3, 9, 9)
samples = torch.rand(2, 3, 2)
out, idx = aten.fractional_max_pool2d(x, [2, 2], [4, 4], samples)
g = torch.randn_like(out)
check("fractional_max_pool2d_backward",
      lambda: T.fractional_max_pool2d_backward(g, x, [2, 2], [4, 4], idx),
      lambda: aten.fractional_max_pool2d_backward(g, x, [2, 2], [4, 4], idx))

# average pooling 3-D backward: padding, ceil_mode, count_include_pad,
# divisor_override.
for (k, s, p, ceil, inc, div) in (([3, 3, 3], [1, 1, 1], [1, 1, 1], False, True, None),
                                  ([3, 3, 3], [1, 1, 1], [1, 1, 1], False, False, None),
                                  ([2, 3, 2], [2, 2, 1], [1, 1, 0], True, True, None),
                                  ([2, 3, 2], [2, 2, 1], [1, 1, 0], True, False, None),
                                  ([3, 2, 2], [3, 2, 2], [0, 0, 0], True, False, None),
                                  ([2, 2, 2], [2, 2, 2], [1, 0, 1], False, True, 3)):
    x = torch.randn(2, 3, 7, 6, 5, dtype=torch.float64)
    out = aten.avg_pool3d(x, k, s, p, ceil, inc, div)
    g = torch.randn_like(out)
    check("avg_pool3d_backward k=%s s=%s p=%s ceil=%s inc=%s div=%s" % (k, s, p, ceil, inc, div),
          lambda: T.avg_pool3d_backward(g, x, k, s, p, ceil, inc, div),
          lambda: aten.avg_pool3d_backward(g, x, k, s, p, ceil, inc, div), 1e-10)

# max_unpool from the pool's own indices; overlapping windows repeat an
# index (the CPU kernel keeps the last value); empty, unbatched, double;
# both ways (_last_write, and index_put_ for CUDA before CLAIM_FROM).
def unpool_cases():
    x = torch.randn(2, 3, 8, 10)
    y, i = torch.nn.functional.max_pool2d(x, 2, return_indices=True)
    check("max_unpool2d", lambda: T.max_unpool2d(y, i, [8, 10]),
          lambda: aten.max_unpool2d(y, i, [8, 10]))
    y, i = torch.nn.functional.max_pool2d(x.double(), 3, 1, return_indices=True)
    y = torch.randn_like(y)  # repeated indices with different values
    check("max_unpool2d repeated indices", lambda: T.max_unpool2d(y, i, [8, 10]),
          lambda: aten.max_unpool2d(y, i, [8, 10]), 0)
    check("max_unpool2d unbatched", lambda: T.max_unpool2d(y[0], i[0], [8, 10]),
          lambda: aten.max_unpool2d(y[0], i[0], [8, 10]), 0)
    yt, it = y.transpose(2, 3), i.transpose(2, 3)  # non-contiguous
    check("max_unpool2d non-contiguous", lambda: T.max_unpool2d(yt, it, [8, 10]),
          lambda: aten.max_unpool2d(yt, it, [8, 10]), 0)
    check("max_unpool2d empty batch", lambda: T.max_unpool2d(y[:0], i[:0], [8, 10]),
          lambda: aten.max_unpool2d(y[:0], i[:0], [8, 10]))
    check_raises("max_unpool2d indices of another shape",
                 lambda: T.max_unpool2d(y, i[:, :, :2], [8, 10]),
                 lambda: aten.max_unpool2d(y, i[:, :, :2], [8, 10]))
    x = torch.randn(2, 2, 4, 6, 6)
    y, i = torch.nn.functional.max_pool3d(x, 2, return_indices=True)
    check("max_unpool3d", lambda: T.max_unpool3d(y, i, [4, 6, 6], [2, 2, 2], [0, 0, 0]),
          lambda: aten.max_unpool3d(y, i, [4, 6, 6], [2, 2, 2], [0, 0, 0]))
    y, i = torch.nn.functional.max_pool3d(x, 2, 1, return_indices=True)
    y = torch.randn_like(y)
    check("max_unpool3d repeated indices",
          lambda: T.max_unpool3d(y, i, [4, 6, 6], [1, 1, 1], [0, 0, 0]),
          lambda: aten.max_unpool3d(y, i, [4, 6, 6], [1, 1, 1], [0, 0, 0]), 0)


unpool_cases()
claims = T._claims
T._claims = lambda t: False
unpool_cases()
T._claims = claims

# histc, bincount.
for dtype in (torch.float32, torch.float64):
    x = torch.randn(1000, dtype=dtype)
    check("histc %s default range" % dtype, lambda: T.histc(x, 37, 0, 0),
          lambda: torch.histc(x, 37, 0, 0))
    check("histc %s [-1, 1] (outside ignored)" % dtype,
          lambda: T.histc(x, 10, -1, 1), lambda: torch.histc(x, 10, -1, 1))
    xi = torch.arange(-5, 6, dtype=dtype)
    check("histc %s values on bin edges and max" % dtype,
          lambda: T.histc(xi, 5, -5, 5), lambda: torch.histc(xi, 5, -5, 5))
check("histc constant input", lambda: T.histc(torch.full((7,), 2.0), 4),
      lambda: torch.histc(torch.full((7,), 2.0), 4))
check("histc empty", lambda: T.histc(torch.zeros(0), 4),
      lambda: torch.histc(torch.zeros(0), 4))
xn = torch.tensor([0.5, float("nan"), float("inf"), -float("inf"), 1.0, 0.0, 2.0, 1.5])
# (torch 1.13's CPU kernel counts NaN in bin 0; the CUDA kernel, as
# this one, drops it.)
check("histc NaN and infinities dropped", lambda: T.histc(xn, 4, 0, 2),
      lambda: torch.histc(xn[~xn.isnan()], 4, 0, 2))
xt = torch.randn(6, 5).t()
check("histc one bin, non-contiguous", lambda: T.histc(xt, 1, -1, 1),
      lambda: torch.histc(xt, 1, -1, 1))
check_raises("histc min > max", lambda: T.histc(xt, 4, 2, 1), lambda: torch.histc(xt, 4, 2, 1))
check_raises("histc bins 0", lambda: T.histc(xt, 0, 0, 1), lambda: torch.histc(xt, 0, 0, 1))
x = torch.randint(0, 50, (2000,))
w = torch.randn(2000)
check("bincount", lambda: T.bincount(x), lambda: torch.bincount(x))
check("bincount minlength", lambda: T.bincount(x, None, 80), lambda: torch.bincount(x, None, 80))
check("bincount float weights", lambda: T.bincount(x, w), lambda: torch.bincount(x, w), 1e-4)
check("bincount double weights", lambda: T.bincount(x, w.double()),
      lambda: torch.bincount(x, w.double()), 1e-10)
check("bincount empty", lambda: T.bincount(torch.zeros(0, dtype=torch.long), None, 3),
      lambda: torch.bincount(torch.zeros(0, dtype=torch.long), None, 3))

xs = torch.randint(0, 4, (5000,)) * 3  # long runs, empty bins between
ws = torch.randn(10000, dtype=torch.float64)[::2]  # non-contiguous
check("bincount weights, long runs and empty bins", lambda: T.bincount(xs, ws, 20),
      lambda: torch.bincount(xs, ws, 20), 1e-10)
check("bincount weights, one element", lambda: T.bincount(xs[:1], ws[:1]),
      lambda: torch.bincount(xs[:1], ws[:1]))
check("bincount empty with weights", lambda: T.bincount(xs[:0], ws[:0], 4),
      lambda: torch.bincount(xs[:0], ws[:0], 4))
class TorchWithout:
    """torch without one attribute (an older version's)."""
    def __init__(self, name):
        self._name = name

    def __getattr__(self, name):
        if name == self._name:
            raise AttributeError(name)
        return getattr(torch, name)


T.torch = TorchWithout("segment_reduce")
check("bincount weights without segment_reduce", lambda: T.bincount(xs, ws, 20),
      lambda: torch.bincount(xs, ws, 20), 1e-10)
T.torch = torch
check_raises("bincount negative minlength", lambda: T.bincount(xs, ws, -1),
             lambda: torch.bincount(xs, ws, -1))
check("bincount int32", lambda: T.bincount(x.int(), w.double()),
      lambda: torch.bincount(x.int(), w.double()), 1e-10)
check("bincount half weights (double)", lambda: T.bincount(x, w.half()),
      lambda: torch.bincount(x, w.half()), 1e-3)
check_raises("bincount weights of another length", lambda: T.bincount(x, w[:5]),
             lambda: torch.bincount(x, w[:5]))
check_raises("bincount negative", lambda: T.bincount(x - 1, w), lambda: torch.bincount(x - 1, w))
check_raises("bincount 2-D", lambda: T.bincount(x.view(40, 50), None),
             lambda: torch.bincount(x.view(40, 50)))

# put_: repeated and negative indices (without accumulate the last write
# wins, as on the CPU), non-contiguous, empty, half; both ways.
def put_cases():
    base = torch.randn(4, 5)
    idx = torch.randint(-20, 20, (60,))
    src = torch.randn(60)
    nc = torch.randn(5, 4).t()
    for acc in (True, False):
        tol = 1e-5 if acc else 0
        check("put_ accumulate=%s" % acc, lambda: T.put_(base.clone(), idx, src, acc),
              lambda: base.clone().put_(idx, src, acc), tol)
        check("put_ accumulate=%s non-contiguous" % acc,
              lambda: T.put_(nc.clone(), idx, src, acc),
              lambda: nc.clone().put_(idx, src, acc), tol)
        check("put_ accumulate=%s 2-D index and source" % acc,
              lambda: T.put_(base.clone(), idx.view(6, 10), src.view(10, 6), acc),
              lambda: base.clone().put_(idx.view(6, 10), src.view(10, 6), acc), tol)
        check("put_ accumulate=%s empty index" % acc,
              lambda: T.put_(base.clone(), idx[:0], src[:0], acc),
              lambda: base.clone().put_(idx[:0], src[:0], acc))
        check("put_ accumulate=%s half" % acc,
              lambda: T.put_(base.half(), idx, src.half(), acc),
              lambda: base.half().put_(idx, src.half(), acc), 1e-2)
        check("put_ accumulate=%s in place" % acc,
              lambda: torch.tensor(T.put_(b := base.clone(), idx, src, acc) is b),
              lambda: torch.tensor(True))
    uniq = torch.randperm(20)[:8]
    check("put_ unique indices", lambda: T.put_(base.clone(), uniq, src[:8], False),
          lambda: base.clone().put_(uniq, src[:8], False))
    check_raises("put_ index and source of different sizes",
                 lambda: T.put_(base.clone(), uniq, src[:7], False),
                 lambda: base.clone().put_(uniq, src[:7], False))


put_cases()
T._claims = lambda t: False
put_cases()
T._claims = claims

# median / kthvalue with indices.
for shape, dim in (((7, 9), 1), ((8, 5), 0), ((3, 4, 6), -1), ((11,), 0)):
    x = torch.randint(0, 5, shape).float()  # many ties
    check("median.dim values %s dim=%d" % (shape, dim),
          lambda: T.median_dim(x, dim)[0], lambda: torch.median(x, dim)[0])
    check("median.dim index names a median element %s" % (shape,),
          lambda: x.gather(dim % x.dim(), T.median_dim(x, dim, True)[1]).squeeze(dim),
          lambda: torch.median(x, dim)[0])
    check("median.dim keepdim %s" % (shape,), lambda: T.median_dim(x, dim, True)[0],
          lambda: torch.median(x, dim, True)[0])
    check("kthvalue %s" % (shape,), lambda: T.kthvalue(x, 2, dim)[0],
          lambda: torch.kthvalue(x, 2, dim)[0])
x = torch.tensor([[1.0, float("nan"), 3.0, 0.5], [2.0, 1.0, 4.0, 3.0],
                  [float("nan")] * 4, [float("nan"), 1.0, float("nan"), 2.0]])
check("nanmedian.dim NaN", lambda: T.nanmedian_dim(x, 1)[0],
      lambda: torch.nanmedian(x, 1)[0])
check("nanmedian.dim index names it", lambda: torch.nan_to_num(
    x.gather(1, T.nanmedian_dim(x, 1, True)[1]).squeeze(1), 9.0),
    lambda: torch.nan_to_num(torch.nanmedian(x, 1)[0], 9.0))
y = torch.randint(0, 5, (6, 9)).float()
check("nanmedian.dim without NaN", lambda: T.nanmedian_dim(y, 1)[0],
      lambda: torch.nanmedian(y, 1)[0])
check("median.dim NaN", lambda: T.median_dim(x, 1), lambda: torch.median(x, 1))
xi = torch.randint(0, 4, (5, 7))
check("nanmedian.dim integers", lambda: T.nanmedian_dim(xi, 1)[0],
      lambda: torch.nanmedian(xi, 1)[0])
check("nanmedian.dim integers, index names it",
      lambda: xi.gather(1, T.nanmedian_dim(xi, 1, True)[1]).squeeze(1),
      lambda: torch.nanmedian(xi, 1)[0])
xn = torch.randn(6, 8, dtype=torch.float64)
xn[xn > 0.8] = float("nan")
xt = xn.t()  # non-contiguous, several NaN per row
check("median.dim several NaN, non-contiguous", lambda: T.median_dim(xt, 1),
      lambda: torch.median(xt, 1))
check("nanmedian.dim several NaN, non-contiguous", lambda: T.nanmedian_dim(xt, 0)[0],
      lambda: torch.nanmedian(xt, 0)[0])
check_raises("median.dim empty dim", lambda: T.median_dim(torch.zeros(3, 0), 1),
             lambda: torch.median(torch.zeros(3, 0), 1))
check_raises("nanmedian.dim empty dim", lambda: T.nanmedian_dim(torch.zeros(3, 0), 1),
             lambda: torch.nanmedian(torch.zeros(3, 0), 1))
check("median.dim 0-dim", lambda: T.median_dim(torch.tensor(3.0), 0),
      lambda: torch.median(torch.tensor(3.0), 0))

# EmbeddingBag backward from the forward's own bookkeeping.  With
# scale_grad_by_freq, torch 1.13's CPU kernel disagrees with the
# definition (each index's gradient divided by its count in the batch)
# on repeated indices across bags: that case is checked against the
# definition, written out.
def bag_reference(g, o2b, bsize, psw, pad, mode):
    cnt = torch.bincount(ind, minlength=20)
    ref = torch.zeros(20, g.shape[1])
    for i in range(ind.numel()):
        if ind[i] == pad:
            continue
        bag = o2b[i]
        v = g[bag] / (bsize[bag] if mode == 1 else 1)
        if psw is not None:
            v = v * psw[i]
        ref[ind[i]] += v / cnt[ind[i]]
    return ref


weight = torch.randn(20, 6)
ind = torch.randint(0, 20, (30,))
offs = torch.tensor([0, 4, 4, 11, 20, 29])
for mode in (0, 1, 2):
    for psw_on in ((False, True) if mode == 0 else (False,)):
        for pad in (-1, 3):
            psw = torch.rand(30) if psw_on else None
            out, o2b, bsize, maxi = aten._embedding_bag(weight, ind, offs, False,
                                                        mode, False, psw, False, pad)
            if o2b.numel() == 0:  # the CPU's fast path keeps none; CUDA always
                o2b = torch.bucketize(torch.arange(30), offs, right=True) - 1
            g = torch.randn_like(out)
            for freq in (False, True):
                check("embedding_bag_backward mode=%d psw=%s pad=%d freq=%s" % (mode, psw_on, pad, freq),
                      lambda: T._embedding_bag_dense_backward(g, ind, o2b, bsize, maxi, 20, freq, mode, psw, pad),
                      lambda: aten._embedding_bag_dense_backward(g, ind, o2b, bsize, maxi, 20, freq, mode, psw, pad)
                      if not freq or mode == 2 else bag_reference(g, o2b, bsize, psw, pad, mode))

# reflection padding backward, 1-D and 3-D: pads of 0 and of the
# largest size (input - 1), uneven, non-contiguous and empty batches.
def pad_grad(x, pads, dtype):
    g = torch.randn(list(x.shape[:-len(pads) // 2]) + [
        x.shape[x.dim() - 1 - k // 2] + pads[k] + pads[k + 1]
        for k in range(len(pads) - 2, -1, -2)], dtype=dtype)
    return g


for dtype, tol in ((torch.float32, 1e-5), (torch.float64, 1e-12)):
    for shape, pads in (((2, 3, 9), [2, 3]), ((2, 3, 9), [0, 0]),
                        ((2, 3, 9), [8, 8]), ((4, 1), [0, 0]),
                        ((3, 5), [4, 0]), ((0, 3, 6), [2, 1]),
                        ((1, 2, 2), [1, 1])):
        x = torch.randn(shape, dtype=dtype)
        g = pad_grad(x, pads, dtype)
        check("reflection_pad1d_backward %s %s pads=%s" % (dtype, shape, pads),
              lambda: T.reflection_pad1d_backward(g, x, pads),
              lambda: aten.reflection_pad1d_backward(g, x, pads), tol)
    for shape, pads in (((2, 2, 4, 5, 6), [1, 2, 0, 3, 2, 1]),
                        ((1, 3, 3, 4, 5), [4, 4, 3, 3, 2, 2]),
                        ((2, 3, 4, 5), [0, 0, 0, 0, 0, 0]),
                        ((0, 2, 3, 3, 3), [1, 1, 1, 1, 1, 1]),
                        ((1, 1, 2, 2, 2), [1, 1, 1, 1, 1, 1])):
        x = torch.randn(shape, dtype=dtype)
        g = pad_grad(x, pads, dtype)
        check("reflection_pad3d_backward %s %s pads=%s" % (dtype, shape, pads),
              lambda: T.reflection_pad3d_backward(g, x, pads),
              lambda: aten.reflection_pad3d_backward(g, x, pads), tol)
x = torch.randn(2, 3, 10)
g = torch.randn(2, 14, 3).transpose(1, 2)  # non-contiguous
check("reflection_pad1d_backward non-contiguous",
      lambda: T.reflection_pad1d_backward(g, x, [1, 3]),
      lambda: aten.reflection_pad1d_backward(g, x, [1, 3]))
x = torch.randn(2, 3, 4, 5, 6).contiguous(memory_format=torch.channels_last_3d)
g = torch.randn(2, 3, 6, 8, 9).contiguous(memory_format=torch.channels_last_3d)
check("reflection_pad3d_backward channels_last_3d",
      lambda: T.reflection_pad3d_backward(g, x, [1, 2, 2, 1, 1, 1]),
      lambda: aten.reflection_pad3d_backward(g, x, [1, 2, 2, 1, 1, 1]))
check_raises("reflection_pad1d_backward padding >= input raises",
             lambda: T.reflection_pad1d_backward(torch.randn(1, 1, 9), torch.randn(1, 1, 3), [3, 3]),
             lambda: aten.reflection_pad1d_backward(torch.randn(1, 1, 9), torch.randn(1, 1, 3), [3, 3]))
xa = torch.randn(2, 3, 4, 5, 6, requires_grad=True)
ga = torch.randn(2, 3, 7, 8, 9)
check("reflection_pad3d_backward equals autograd's gradient",
      lambda: T.reflection_pad3d_backward(ga, xa.detach(), [2, 1, 0, 3, 1, 2]),
      lambda: torch.autograd.grad(torch.nn.functional.pad(
          xa, (2, 1, 0, 3, 1, 2), mode="reflect"), xa, ga)[0])

# upsampling backward (linear 1-D, bicubic and bilinear 2-D, trilinear
# 3-D): up and down, sizes of 1, align_corners both, scales given and
# None, non-contiguous gradients.
for dtype, tol in ((torch.float32, 1e-5), (torch.float64, 1e-12)):
    for (n_in, n_out, sc) in ((5, 11, None), (8, 16, 2.0), (9, 4, None),
                              (7, 3, 0.4), (1, 6, None), (6, 1, None),
                              (1, 1, None), (1, 1, 3.0), (4, 10, 2.7)):
        for ac in (False, True):
            g = torch.randn(3, 2, n_out, dtype=dtype)
            check("upsample_linear1d_backward %s %d->%d ac=%s scale=%s" % (
                dtype, n_in, n_out, ac, sc),
                lambda: T.upsample_linear1d_backward(g, [n_out], [3, 2, n_in], ac, sc),
                lambda: aten.upsample_linear1d_backward(g, [n_out], [3, 2, n_in], ac, sc), tol)
    # bicubic and bilinear 2-D: bilinear is replaced since F.interpolate
    # is routed to the native op (route_linear_upsample)
    for (ih, iw, oh, ow, sh, sw) in ((5, 7, 10, 14, None, None),
                                     (6, 4, 12, 8, 2.0, 2.0),
                                     (6, 4, 48, 32, 8.0, 8.0),
                                     (9, 8, 4, 5, None, None),
                                     (3, 5, 7, 11, 2.5, None),
                                     (1, 1, 1, 1, None, None),
                                     (1, 1, 3, 2, None, None),
                                     (1, 4, 3, 1, 3.0, 0.3),
                                     (2, 3, 2, 3, None, None)):
        for op in ("upsample_bicubic2d_backward",
                   "upsample_bilinear2d_backward"):
            mine, native = getattr(T, op), getattr(aten, op)
            for ac in (False, True):
                g = torch.randn(2, 3, oh, ow, dtype=dtype)
                check("%s %s %dx%d->%dx%d ac=%s scales=%s,%s" % (
                    op, dtype, ih, iw, oh, ow, ac, sh, sw),
                    lambda: mine(g, [oh, ow], [2, 3, ih, iw], ac, sh, sw),
                    lambda: native(g, [oh, ow], [2, 3, ih, iw], ac, sh, sw), tol)
    # trilinear 3-D (replaced for the same reason)
    for (ins, outs, scs) in (((3, 4, 5), (6, 8, 10), (None, None, None)),
                             ((4, 2, 3), (2, 5, 3), (None, 2.5, None)),
                             ((1, 3, 2), (2, 3, 7), (2.0, 1.0, 3.5))):
        for ac in (False, True):
            g = torch.randn(2, 2, *outs, dtype=dtype)
            check("upsample_trilinear3d_backward %s %s->%s ac=%s scales=%s" % (
                dtype, ins, outs, ac, scs),
                lambda: T.upsample_trilinear3d_backward(g, list(outs), [2, 2] + list(ins), ac, *scs),
                lambda: aten.upsample_trilinear3d_backward(g, list(outs), [2, 2] + list(ins), ac, *scs), tol)
g = torch.randn(2, 3, 10, 12).contiguous(memory_format=torch.channels_last)
check("upsample_bilinear2d_backward channels_last",
      lambda: T.upsample_bilinear2d_backward(g, [10, 12], [2, 3, 5, 6], False, None, None),
      lambda: aten.upsample_bilinear2d_backward(g, [10, 12], [2, 3, 5, 6], False, None, None))


# route_linear_upsample: F.interpolate's decomposition name pointed at the
# native op for tensors off the CPU (meta here), the decomposition kept for
# CPU tensors, ranks without a registered backward, names F.interpolate
# does not use; once only.
def routing():
    import types
    seen = []

    def decomp(i, o, a, sc):
        seen.append(i.device.type)
        return torch.zeros(1)
    dec = types.SimpleNamespace(_upsample_linear_vec=decomp)
    T.torch = torch
    if T.route_linear_upsample(dec, [], ("_upsample_linear_vec",)) is not None:
        return "routed with no backward registered"
    if T.route_linear_upsample(dec, ["upsample_bilinear2d_backward"],
                               ("other",)) is not None:
        return "routed a name F.interpolate does not use"
    f = T.route_linear_upsample(dec, ["upsample_bilinear2d_backward"],
                                ("_upsample_linear_vec",))
    if f is None or dec._upsample_linear_vec is not f:
        return "not routed"
    if T.route_linear_upsample(dec, ["upsample_bilinear2d_backward"],
                               ("_upsample_linear_vec",)) is not None:
        return "routed twice"
    m = torch.randn(2, 3, 4, 5, device="meta")
    y = dec._upsample_linear_vec(m, None, False, [2.0, 2.0])
    if seen or y.shape != (2, 3, 8, 10) or y.device.type != "meta":
        return "a meta tensor took the decomposition (%s)" % seen
    dec._upsample_linear_vec(torch.randn(2, 3, 4, 5), None, False, [2.0, 2.0])
    dec._upsample_linear_vec(torch.randn(2, 3, 4, 5, 6, device="meta"),
                             None, False, [2.0, 2.0, 2.0])
    if seen != ["cpu", "meta"]:
        return "CPU or unregistered rank not left to the decomposition: %s" % seen
    return None


cases += 1
r = routing()
if r:
    failed.append("route_linear_upsample")
    print("FAIL route_linear_upsample: %s" % r)

g = torch.randn(2, 16, 3).transpose(1, 2)
check("upsample_linear1d_backward non-contiguous",
      lambda: T.upsample_linear1d_backward(g, [16], [2, 3, 7], False, None),
      lambda: aten.upsample_linear1d_backward(g, [16], [2, 3, 7], False, None))
g = torch.randn(2, 3, 9, 10).contiguous(memory_format=torch.channels_last)
check("upsample_bicubic2d_backward channels_last",
      lambda: T.upsample_bicubic2d_backward(g, [9, 10], [2, 3, 4, 5], False, None, None),
      lambda: aten.upsample_bicubic2d_backward(g, [9, 10], [2, 3, 4, 5], False, None, None))
g = torch.randn(0, 3, 8, 6)
check("upsample_bicubic2d_backward empty batch",
      lambda: T.upsample_bicubic2d_backward(g, [8, 6], [0, 3, 4, 3], True, None, None),
      lambda: aten.upsample_bicubic2d_backward(g, [8, 6], [0, 3, 4, 3], True, None, None))
g = torch.randn(2, 3, 5)
check_raises("upsample_linear1d_backward wrong grad shape raises",
                    lambda: T.upsample_linear1d_backward(g, [6], [2, 3, 4], False, None),
             lambda: aten.upsample_linear1d_backward(g, [6], [2, 3, 4], False, None))
for dtype in (torch.float16, torch.bfloat16):  # computed in float
    g = torch.randn(2, 3, 10, 12).to(dtype)
    # (torch 1.13's CPU kernel sums in bfloat16 itself: against float.)
    check("upsample_bicubic2d_backward %s (against float)" % dtype,
          lambda: T.upsample_bicubic2d_backward(g, [10, 12], [2, 3, 5, 6], False, None, None),
          lambda: aten.upsample_bicubic2d_backward(g.float(), [10, 12], [2, 3, 5, 6], False,
                                                   None, None).to(dtype), 1e-2)
    check("reflection_pad1d_backward %s (against float)" % dtype,
          lambda: T.reflection_pad1d_backward(g[0], g[0, :, :, :6], [3, 3]),
          lambda: aten.reflection_pad1d_backward(g[0].float(), g[0, :, :, :6].float(),
                                                 [3, 3]).to(dtype), 2e-2)
g = torch.randn(2, 3, 10).to(torch.bfloat16)
check("upsample_linear1d_backward bfloat16",
      lambda: T.upsample_linear1d_backward(g, [10], [2, 3, 5], True, None),
      lambda: aten.upsample_linear1d_backward(g, [10], [2, 3, 5], True, None), 2e-2)
old_limit = T.INTERP_LIMIT
T.INTERP_LIMIT = 10  # the CPU kernel beyond the matrix limit
g = torch.randn(2, 3, 8, 10)
check("upsample_bicubic2d_backward over INTERP_LIMIT",
      lambda: T.upsample_bicubic2d_backward(g, [8, 10], [2, 3, 4, 5], False, 2.0, 2.0),
      lambda: aten.upsample_bicubic2d_backward(g, [8, 10], [2, 3, 4, 5], False, 2.0, 2.0))
T.INTERP_LIMIT = old_limit

# The CPU fallback returns the native result on the caller's device.
x = torch.randn(1, 2, 5, 5)
grid = torch.rand(1, 4, 4, 2) * 2 - 1
g = torch.randn(1, 2, 4, 4)
op = aten.grid_sampler_2d_backward.default
check("on_cpu(grid_sampler_2d_backward)",
      lambda: T._on_cpu(op)(g, x, grid, 0, 0, False, [True, True]),
      lambda: op(g, x, grid, 0, 0, False, [True, True]))

# The changed replacements registered for the CPU key (as install() does
# for CUDA): reached from the public API and autograd, with the
# arguments the dispatcher passes (scales, padding, defaults), and the
# same results as the native kernels.
def through_dispatcher():
    F = torch.nn.functional
    x1 = torch.randn(2, 3, 9, dtype=torch.float64)
    x2 = torch.randn(2, 3, 5, 6, dtype=torch.float64)
    x3 = torch.randn(1, 2, 4, 5, 6, dtype=torch.float64)
    xp = torch.randn(2, 3, 8, 8)
    logits = torch.randn(2, 5, 4, 3)
    tgt = torch.randint(0, 5, (2, 4, 3))
    vals = torch.randint(0, 9, (50,))
    wts = torch.randn(50)
    med = torch.randint(0, 4, (6, 7)).float()

    def grad(f, x):
        x = x.clone().requires_grad_()
        y = f(x)
        g = torch.arange(y.numel(), dtype=y.dtype).reshape(y.shape).cos()
        return torch.autograd.grad(y, x, g)[0]

    def run():
        y, i = F.max_pool2d(xp, 2, return_indices=True)
        y3, i3 = F.max_pool3d(x3.float(), 2, return_indices=True)
        return [
            grad(lambda t: F.pad(t, (2, 3), mode="reflect"), x1),
            grad(lambda t: F.pad(t, (1, 2, 3, 0, 2, 1), mode="reflect"), x3),
            grad(lambda t: F.interpolate(t, scale_factor=2.5, mode="linear"), x1),
            grad(lambda t: F.interpolate(t, size=7, mode="linear", align_corners=True), x1),
            grad(lambda t: F.interpolate(t, scale_factor=(1.5, 2.0), mode="bicubic"), x2),
            grad(lambda t: F.interpolate(t, size=(3, 11), mode="bicubic",
                                         align_corners=True), x2),
            F.max_unpool2d(y, i, 2), F.max_unpool3d(y3, i3, 2, output_size=x3.shape[-3:]),
            torch.zeros(4, 5).put_(vals[:9], wts[:9]),
            torch.zeros(4, 5).put_(vals, wts, accumulate=True),
            torch.histc(wts, 7), torch.bincount(vals, wts), torch.bincount(vals),
            F.cross_entropy(logits, tgt, ignore_index=2),
            F.cross_entropy(logits, tgt, reduction="none"),
        ] + list(torch.median(med, 1)) + list(torch.nanmedian(med, 0))

    native = run()
    names = ("reflection_pad1d_backward", "reflection_pad3d_backward",
             "upsample_linear1d_backward", "upsample_bicubic2d_backward",
             "max_unpool2d", "max_unpool3d", "put_", "histc", "bincount",
             "nll_loss2d_forward", "median.dim", "nanmedian.dim")
    calls = dict.fromkeys(names, 0)
    lib = torch.library.Library("aten", "IMPL")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # overriding the CPU kernels
        for name, fn, _ in T.REPLACEMENTS:
            if name in calls:
                def counted(*a, _fn=fn, _name=name, **k):
                    calls[_name] += 1
                    return _fn(*a, **k)
                lib.impl(name, counted, "CPU")
    try:
        mine = run()
    finally:
        del lib
    global cases
    for k, (a, b) in enumerate(zip(mine, native)):
        cases += 1
        if not close(a, b, 1e-5):
            failed.append("dispatcher %d" % k)
            print("FAIL registered for the CPU key: result %d: mine %s, native %s"
                  % (k, short(a), short(b)))
    for name, n in calls.items():
        cases += 1
        if n == 0:
            failed.append("dispatcher " + name)
            print("FAIL registered for the CPU key: %s never called" % name)


through_dispatcher()

# The refusal list read from this torch's docs names the commonly hit ops.
r = T.refused_section(torch.use_deterministic_algorithms.__doc__)
for key in ("torch.nn.NLLLoss`", "torch.histc`", "torch.nn.AdaptiveAvgPool2d`"):
    cases += 1
    if not T.wanted(r, key) or not r:
        failed.append(key)
        print("FAIL refusal list of torch %s lacks %s" % (torch.__version__, key))

# The cuBLAS workspace pin: taken back for torch 2, kept for torch 1 and
# for a value that is not the shim's.
import os  # noqa: E402


class FakeTorch:
    pass


for version, value, kept in (("2.11.0+cu130", ":4096:8", False),
                             ("1.13.0", ":4096:8", True),
                             ("2.11.0", ":16:8", True)):
    cases += 1
    os.environ["CUBLAS_WORKSPACE_CONFIG"] = value
    fake = FakeTorch()
    fake.__version__ = version
    T.torch = fake
    T.settle_cublas_workspace()
    if (os.environ.get("CUBLAS_WORKSPACE_CONFIG") == value) != kept:
        failed.append("cublas " + version)
        print("FAIL CUBLAS_WORKSPACE_CONFIG=%s under torch %s: %s" % (
            value, version, "removed" if kept else "kept"))
T.torch = torch
os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)

print("%d cases, %d failed (torch %s)" % (cases, len(failed), torch.__version__))
sys.exit(1 if failed else 0)
