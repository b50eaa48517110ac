"""The reductions of python/_detshim/batch_invariant.py on CPU tensors
(tests/it_python.sh runs it with Debian's python3-torch).

1. Against PyTorch's own CPU kernels: every argument form of the schemas
   (dim None, [], one, several, negative; keepdim; dtype; 0-dim, empty and
   non-contiguous inputs; integer, bool, complex, bfloat16), values close
   (rtol 1e-5 for float32) with the same dtype and shape; the same errors
   for a dim out of range or repeated.
2. The property: row i computed in a batch of B rows is bitwise equal to
   row i computed alone, for B in 1..33, for each replacement, for rows
   along the last dim and along a leading one.  The same check run on a
   deliberately batch-variant sum (its split count follows the number of
   rows, as split-K does) must report a difference: the check can fail.
3. PyTorch's own TransformerEncoderLayer and cross_entropy, forward and
   backward, with the replacements registered for the CPU key: the same
   loss and gradients as with the native kernels.

Prints one line per failing case and "N cases" last; exits 1 on a
failure.  The CUDA registration is checked by
tests/python/check_batch_invariant_switches.py here and by
tests/gpu/batch_invariant/ on the GPU.
"""

import sys
import warnings

import torch

from _detshim import batch_invariant as B

B.torch = torch
torch.manual_seed(0)
failed = []
cases = 0


def close(a, b, tol):
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.numel() == 0:
        return True
    if not (a.is_floating_point() or a.is_complex()):
        return bool((a == b).all())
    if a.is_complex():
        return close(torch.view_as_real(a), torch.view_as_real(b), tol)
    return torch.allclose(a.double(), b.double(), rtol=tol, atol=tol,
                          equal_nan=True)


def short(x):
    if isinstance(x, torch.Tensor):
        return "%s %s %s" % (tuple(x.shape), x.dtype,
                             x.flatten()[:4].tolist())
    return repr(x)


def fail(name, detail):
    failed.append(name)
    print("FAIL %s: %s" % (name, detail))


def check(name, mine, native, tol=1e-5):
    """mine() close to native(); or both raise the same exception type."""
    global cases
    cases += 1
    try:
        b = native()
    except Exception as e:  # the native op refuses: so must ours
        try:
            a = mine()
        except type(e):
            return
        except Exception as e2:
            fail(name, "native raised %r, mine %r" % (e, e2))
            return
        fail(name, "native raised %r, mine gave %s" % (e, short(a)))
        return
    try:
        a = mine()
    except Exception as e:
        fail(name, "mine raised %r, native %s" % (e, short(b)))
        return
    if not close(a, b, tol):
        fail(name, "mine %s, native %s" % (short(a), short(b)))


def tol_of(dtype):
    return {torch.bfloat16: 2e-2, torch.float16: 2e-3,
            torch.float64: 1e-12}.get(dtype, 1e-5)


# ----------------------------------------------------------------------
# 1. against the native CPU kernels

DIMS = [None, [], [0], [-1], [1], [0, 2], [-1, 0], [2, 1, 0]]
x3 = torch.randn(3, 5, 7)
for dtype in (torch.float32, torch.float64, torch.bfloat16, torch.int64,
              torch.int32, torch.uint8, torch.bool, torch.complex64):
    if dtype == torch.bool:
        x = x3 > 0
    elif dtype.is_complex:
        x = torch.randn(3, 5, 7, dtype=dtype)
    elif dtype.is_floating_point:
        x = x3.to(dtype)
    else:
        x = (x3 * 10).to(dtype)
    for dim in DIMS:
        for keepdim in (False, True):
            check("sum %s dim=%s keepdim=%s" % (dtype, dim, keepdim),
                  lambda: B.sum_dim_IntList(x, dim, keepdim),
                  lambda: torch.ops.aten.sum.dim_IntList(x, dim, keepdim),
                  tol_of(dtype))
            check("mean %s dim=%s keepdim=%s" % (dtype, dim, keepdim),
                  lambda: B.mean_dim(x, dim, keepdim),
                  lambda: torch.ops.aten.mean.dim(x, dim, keepdim),
                  tol_of(dtype))
    for out in (torch.float64, torch.float32, torch.int64):
        if dtype.is_complex:
            continue  # to a real dtype: PyTorch warns and drops imag
        check("sum %s dtype=%s" % (dtype, out),
              lambda: B.sum_dim_IntList(x, [1], False, dtype=out),
              lambda: torch.ops.aten.sum.dim_IntList(x, [1], False,
                                                     dtype=out),
              tol_of(out))
        check("mean %s dtype=%s" % (dtype, out),
              lambda: B.mean_dim(x, [1], True, dtype=out),
              lambda: torch.ops.aten.mean.dim(x, [1], True, dtype=out),
              tol_of(out))

# Long rows (a padded tree, then a power of two), non-contiguous input,
# 0-dim and empty inputs, bad dims.
for n in (4097, 4096, 1, 3):
    x = torch.randn(4, n)
    check("sum long row %d" % n, lambda: B.sum_dim_IntList(x, [-1]),
          lambda: x.sum(-1), 1e-4)
    check("mean long row %d" % n, lambda: B.mean_dim(x, [-1]),
          lambda: x.mean(-1))
xt = torch.randn(6, 9).t()
check("sum non-contiguous", lambda: B.sum_dim_IntList(xt, [0]),
      lambda: xt.sum(0))
check("mean non-contiguous", lambda: B.mean_dim(xt, [1, 0], True),
      lambda: xt.mean([1, 0], True))
s = torch.tensor(2.5)
for dim in ([], [0], [-1], None):
    for keepdim in (False, True):
        check("sum 0-dim dim=%s keepdim=%s" % (dim, keepdim),
              lambda: B.sum_dim_IntList(s, dim, keepdim),
              lambda: torch.ops.aten.sum.dim_IntList(s, dim, keepdim))
        check("mean 0-dim dim=%s keepdim=%s" % (dim, keepdim),
              lambda: B.mean_dim(s, dim, keepdim),
              lambda: torch.ops.aten.mean.dim(s, dim, keepdim))
e = torch.randn(0, 3)
for dim in ([0], [1], None):
    check("sum empty dim=%s" % dim, lambda: B.sum_dim_IntList(e, dim),
          lambda: torch.ops.aten.sum.dim_IntList(e, dim))
    check("mean empty dim=%s" % dim, lambda: B.mean_dim(e, dim),
          lambda: torch.ops.aten.mean.dim(e, dim))
for dim in ([3], [-4], [0, 0], [1, -2]):
    check("sum bad dim=%s" % dim, lambda: B.sum_dim_IntList(x3, dim),
          lambda: torch.ops.aten.sum.dim_IntList(x3, dim))
    check("mean bad dim=%s" % dim, lambda: B.mean_dim(x3, dim),
          lambda: torch.ops.aten.mean.dim(x3, dim))
check("sum 0-dim bad dim", lambda: B.sum_dim_IntList(s, [1]),
      lambda: torch.ops.aten.sum.dim_IntList(s, [1]))

# softmax, log_softmax
ninf = float("-inf")
masked = torch.randn(4, 6)
masked[0, 1:] = ninf
masked[1, :] = ninf  # a row of -inf only: NaN, as ATen
for name, mine, native in (
        ("_softmax", B._softmax, torch.ops.aten._softmax),
        ("_log_softmax", B._log_softmax, torch.ops.aten._log_softmax)):
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        x = x3.to(dtype)
        for dim in (0, 1, 2, -1, -3):
            check("%s %s dim=%d" % (name, dtype, dim),
                  lambda: mine(x, dim, False),
                  lambda: native(x, dim, False), tol_of(dtype))
        check("%s %s non-contiguous" % (name, dtype),
              lambda: mine(x.transpose(0, 2), 1, False),
              lambda: native(x.transpose(0, 2), 1, False), tol_of(dtype))
    for dim in (0, -1, 1):
        check("%s 0-dim dim=%d" % (name, dim), lambda: mine(s, dim, False),
              lambda: native(s, dim, False))
    for dim in (0, 1):
        check("%s empty dim=%d" % (name, dim), lambda: mine(e, dim, False),
              lambda: native(e, dim, False))
    check("%s -inf entries" % name, lambda: mine(masked, 1, False),
          lambda: native(masked, 1, False))
    lr = torch.randn(3, 4097)
    check("%s long row" % name, lambda: mine(lr, 1, False),
          lambda: native(lr, 1, False))
    check("%s dim out of range" % name, lambda: mine(x3, 3, False),
          lambda: native(x3, 3, False))
    check("%s integer input" % name,
          lambda: mine(torch.ones(3, dtype=torch.long), 0, False),
          lambda: native(torch.ones(3, dtype=torch.long), 0, False))
    # half_to_float: the CPU kernel refuses it; CUDA gives float32 of the
    # half input, which is what ours must give.
    h = torch.randn(4, 9).half()
    check("%s half_to_float" % name, lambda: mine(h, 1, True),
          lambda: native(h.float(), 1, False), 1e-3)
    check("%s half_to_float on float32 refused" % name,
          lambda: mine(x3, 1, True),
          lambda: (_ for _ in ()).throw(RuntimeError("refused")))

# The out= overloads: the result's dtype is out's (or dtype, which must
# then match); out is resized; bad dtypes raise as ATen's do.
def with_out(f, out_dtype, *args, **kwargs):
    def run():
        o = torch.empty(0, dtype=out_dtype)
        r = f(*args, out=o, **kwargs)
        if r is not o:
            raise AssertionError("out= did not return out")
        return o
    return run


ops_out = (("sum.IntList_out", B.sum_IntList_out,
            torch.ops.aten.sum.IntList_out),
           ("mean.out", B.mean_out, torch.ops.aten.mean.out))
for name, mine, native in ops_out:
    for xin in (x3, x3.bfloat16(), (x3 * 10).long(), x3 > 0):
        for od in (torch.float32, torch.float64, torch.int64, torch.bool):
            for kw in ({}, {"dtype": od}, {"dtype": torch.float32}):
                check("%s %s out %s %s" % (name, xin.dtype, od, kw),
                      with_out(mine, od, xin, [1], True, **kw),
                      with_out(native, od, xin, [1], True, **kw),
                      tol_of(xin.dtype))
    check("%s resizes a non-empty out" % name,
          lambda: (lambda o: (mine(x3, [0, 1], False, out=o), o)[1])(
              torch.zeros(2, 2)),
          lambda: (lambda o: (native(x3, [0, 1], False, out=o), o)[1])(
              torch.zeros(7)))
for name, mine, native in (
        ("_softmax.out", B._softmax_out, torch.ops.aten._softmax.out),
        ("_log_softmax.out", B._log_softmax_out,
         torch.ops.aten._log_softmax.out)):
    for od in (torch.float32, torch.float64):
        check("%s out %s" % (name, od), with_out(mine, od, x3, 1, False),
              with_out(native, od, x3, 1, False))

# native_layer_norm (registered only when named in REDUCTIONS): out, mean
# and rstd against the CPU kernel; bfloat16 against float32 (mean and rstd
# stay in float32, as ATen's CUDA kernel gives them).
w8, b8 = torch.randn(7), torch.randn(7)
w57 = torch.randn(5, 7)
for dtype in (torch.float32, torch.float64):
    x = x3.to(dtype)
    for shape, w, b in (([7], w8, b8), ([7], None, None), ([7], w8, None),
                        ([5, 7], w57, None), ([3, 5, 7], None, None)):
        w_ = None if w is None else w.to(dtype)
        b_ = None if b is None else b.to(dtype)
        check("native_layer_norm %s %s w=%s b=%s" % (dtype, shape,
                                                     w is not None,
                                                     b is not None),
              lambda: torch.stack([t.reshape(-1)[:20] for t in
                                   B.native_layer_norm(x, shape, w_, b_,
                                                       1e-5)]),
              lambda: torch.stack([t.reshape(-1)[:20] for t in
                                   torch.ops.aten.native_layer_norm(
                                       x, shape, w_, b_, 1e-5)]),
              tol_of(dtype))
        check("native_layer_norm %s %s shapes" % (dtype, shape),
              lambda: torch.tensor([list(t.shape) + [0] * (3 - t.dim())
                                    for t in B.native_layer_norm(
                                        x, shape, w_, b_, 1e-5)]),
              lambda: torch.tensor([list(t.shape) + [0] * (3 - t.dim())
                                    for t in torch.ops.aten.native_layer_norm(
                                        x, shape, w_, b_, 1e-5)]))
xb = x3.bfloat16()
check("native_layer_norm bfloat16",
      lambda: B.native_layer_norm(xb, [7], w8.bfloat16(), None, 1e-5)[0],
      lambda: torch.ops.aten.native_layer_norm(
          xb.float(), [7], w8.bfloat16().float(), None, 1e-5)[0].bfloat16(),
      2e-2)
check("native_layer_norm bfloat16 stats in float32",
      lambda: torch.tensor([t.dtype == torch.float32 for t in
                            B.native_layer_norm(xb, [7], None, None, 1e-5)[1:]]),
      lambda: torch.tensor([True, True]))
check("native_layer_norm non-contiguous",
      lambda: B.native_layer_norm(x3.transpose(0, 1), [7], w8, b8, 1e-5)[0],
      lambda: torch.ops.aten.native_layer_norm(x3.transpose(0, 1), [7], w8,
                                               b8, 1e-5)[0])
check("native_layer_norm wrong shape",
      lambda: B.native_layer_norm(x3, [5], None, None, 1e-5),
      lambda: torch.ops.aten.native_layer_norm(x3, [5], None, None, 1e-5))


# ----------------------------------------------------------------------
# 2. the property: a row's bits do not depend on the batch

def variant_rows(f, x, axis):
    """The first (B, i) for which row i of f(x[:B]) differs from f of row i
    alone, taking batches of B along `axis`; None if none differs."""
    n = x.shape[axis]
    alone = [f(x.narrow(axis, i, 1)).select(axis, 0) for i in range(n)]
    for b in range(1, n + 1):
        y = f(x.narrow(axis, 0, b))
        for i in range(b):
            if not torch.equal(y.select(axis, i), alone[i]):
                return (b, i)
    return None


def naive_sum(x):
    """A sum over the last dim that splits each row into more parts when
    there are fewer rows (as a split-K GEMM does): not batch-invariant."""
    rows = max(1, x.numel() // max(1, x.shape[-1]))
    parts = max(1, 16 // rows)
    chunks = x.tensor_split(parts, dim=-1)
    total = chunks[0].sum(-1, keepdim=True)
    for c in chunks[1:]:
        total = total + c.sum(-1, keepdim=True)
    return total


ROW_OPS = [
    ("sum", lambda t: B.sum_dim_IntList(t, [-1], True)),
    ("mean", lambda t: B.mean_dim(t, [-1], True)),
    ("_softmax", lambda t: B._softmax(t, -1, False)),
    ("_log_softmax", lambda t: B._log_softmax(t, -1, False)),
    ("native_layer_norm",
     lambda t: torch.cat([r.reshape(t.shape[0], -1) for r in
                          B.native_layer_norm(t, [t.shape[-1]], None, None,
                                              1e-5)], 1)),
]
for dtype in (torch.float32, torch.bfloat16):
    for d in (4096, 1000, 7):
        x = torch.randn(33, d, dtype=dtype) * 3
        for name, f in ROW_OPS:
            cases += 1
            r = variant_rows(f, x, 0)
            if r is not None:
                fail("%s %s D=%d batch-invariant" % (name, dtype, d),
                     "row %d differs in a batch of %d" % (r[1], r[0]))
# Rows along a leading dim (the reduced dim first), and several reduced
# dims at once.
x = torch.randn(1000, 33)
for name, f in (("sum", lambda t: B.sum_dim_IntList(t, [0], True)),
                ("mean", lambda t: B.mean_dim(t, [0], True)),
                ("_softmax", lambda t: B._softmax(t, 0, False)),
                ("_log_softmax", lambda t: B._log_softmax(t, 0, False))):
    cases += 1
    r = variant_rows(f, x, 1)
    if r is not None:
        fail("%s along dim 0 batch-invariant" % name,
             "column %d differs in a batch of %d" % (r[1], r[0]))
x = torch.randn(33, 12, 64)
for name, f in (("sum", lambda t: B.sum_dim_IntList(t, [1, 2], True)),
                ("mean", lambda t: B.mean_dim(t, [-1, -2], True))):
    cases += 1
    r = variant_rows(f, x, 0)
    if r is not None:
        fail("%s over two dims batch-invariant" % name,
             "row %d differs in a batch of %d" % (r[1], r[0]))
# The check can fail: a split-K-like sum is caught.
cases += 1
x = torch.randn(33, 4096)
r = variant_rows(naive_sum, x, 0)
if r is None:
    fail("the batch-variant sum is caught", "no row differed")
else:
    print("ok: the check catches a batch-variant sum (row %d in a batch of "
          "%d)" % (r[1], r[0]))


# ----------------------------------------------------------------------
# 3. Under code we did not write: PyTorch's own TransformerEncoderLayer,
# cross_entropy and logsumexp (which sums through sum's out= overload),
# forward and backward, first with the native CPU
# kernels, then with every replacement registered for the CPU key in this
# process (as the profile registers them for CUDA): the loss and the
# gradients agree, so the replacements take the arguments real module
# code passes and ATen's backward formulas accept what they return.


def model_run():
    torch.manual_seed(1)
    layer = torch.nn.TransformerEncoderLayer(64, 4, 128, dropout=0.0,
                                             batch_first=True)
    x = torch.randn(3, 10, 64, requires_grad=True)
    out = layer(x)
    logits = out.mean(1) @ torch.randn(64, 11)
    loss = torch.nn.functional.cross_entropy(logits,
                                             torch.tensor([1, 5, 10]))
    loss = loss + out.sum(-1).pow(2).mean() * 1e-3
    loss = loss + torch.logsumexp(out, -1).mean() * 1e-3  # sum's out=
    loss.backward()
    return [loss.detach(), x.grad] + [p.grad for p in layer.parameters()]


def counted(name, fn):
    def run(*args, **kwargs):
        calls[name] = calls.get(name, 0) + 1
        return fn(*args, **kwargs)
    return run


native_run = model_run()
calls = {}
_cpu = torch.library.Library("aten", "IMPL")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # "Overriding a previously registered"
    for name, fn in B.REPLACEMENTS.items():
        _cpu.impl(name, counted(name, fn), "CPU")
mine_run = model_run()
cases += 1
if len(mine_run) != len(native_run) or not all(
        close(a, b, 1e-4) for a, b in zip(mine_run, native_run)):
    fail("TransformerEncoderLayer with the replacements",
         "loss %s, native %s" % (short(mine_run[0]), short(native_run[0])))
cases += 1
if sorted(calls) != sorted(n for n in B.REPLACEMENTS
                           if n == "sum.IntList_out" or
                           not n.endswith("out")):
    fail("TransformerEncoderLayer reaches every replacement",
         "called: %s" % calls)

print("%d cases" % cases)
sys.exit(1 if failed else 0)
