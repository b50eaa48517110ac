"""scatter_reduce and index_reduce with reduce="prod" of
python/_detshim/torch_ops.py against PyTorch's own CPU kernels
(tests/it_python.sh runs it with Debian's python3-torch).

Each case calls a replacement directly on CPU tensors and the native op
on the same inputs: every dim, include_self both ways, float and integer
dtypes, zeros, negatives, NaN and inf, empty and 0-dim tensors,
non-contiguous inputs, the errors ATen raises, and the other reduce
modes (which the replacement hands to the out overload).  Floats: close
to the native result, bit-identical call to call, and bit-identical when
the duplicates of an index arrive in another order; integers: exact.
Both paths of the segmented product (the padded matrix and the pairwise
one) are run.  Prints one line per failing case and "N cases" last;
exits 1 on a failure.
"""

import sys
import warnings

import torch

from _detshim import torch_ops as T

warnings.simplefilter("ignore")  # "index_reduce() is in beta"
T.torch = torch
torch.manual_seed(0)
failed = []
cases = 0

FLOATS = (torch.float32, torch.float64, torch.float16, torch.bfloat16)
INTS = (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)
TOL = {torch.float32: 1e-5, torch.float64: 1e-12, torch.float16: 2e-2,
       torch.bfloat16: 5e-2, torch.complex128: 1e-12}


def close(a, b, tol):
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.is_complex():
        return close(torch.view_as_real(a), torch.view_as_real(b), tol)
    if a.numel() == 0 or not a.is_floating_point():
        return bool((a == b).all())
    return torch.allclose(a.double(), b.double(), rtol=tol, atol=tol,
                          equal_nan=True)


def same_bits(a, b):
    """Bit for bit (NaN at the same places counts as equal)."""
    if a.is_complex():
        return same_bits(torch.view_as_real(a), torch.view_as_real(b))
    if a.is_floating_point():
        return a.shape == b.shape and torch.equal(
            torch.isnan(a), torch.isnan(b)) and torch.equal(
            torch.nan_to_num(a), torch.nan_to_num(b))
    return torch.equal(a, b)


def fail(name, why):
    failed.append(name)
    print("FAIL %s: %s" % (name, why))


def check(name, mine, native, tol=1e-5, permuted=None):
    """mine() close to native(), mine() twice bit-identical, and
    permuted() (the same input with duplicates reordered) bit-identical."""
    global cases
    cases += 1
    try:
        a = mine()
        b = native()
        if not close(a, b, tol):
            return fail(name, "mine %s, native %s" % (
                a.flatten()[:6].tolist(), b.flatten()[:6].tolist()))
        if not same_bits(a, mine()):
            return fail(name, "two calls differ")
        if permuted is not None and not same_bits(a, permuted()):
            return fail(name, "reordered duplicates give another result")
    except Exception as e:  # a case that raises is a failing case
        return fail(name, repr(e))


def check_raises(name, mine, native):
    """Both raise, the same type of exception."""
    global cases
    cases += 1
    got = []
    for f in (native, mine):
        try:
            f()
            got.append(None)
        except Exception as e:  # the exception is the result here
            got.append(type(e))
    if got[0] is None or got[0] != got[1]:
        fail(name, "native raised %s, mine %s" % tuple(got))


def values(shape, dtype):
    """Values whose products stay finite in float; zeros, negatives, NaN and
    inf sprinkled in; integers small and signed (their products wrap);
    complex: finite."""
    if dtype.is_floating_point:
        v = (torch.rand(shape, dtype=torch.float64) * 0.5 + 0.75) * \
            torch.where(torch.rand(shape) < 0.3, -1.0, 1.0).double()
        flat = v.view(-1)
        n = flat.numel()
        if n >= 8:
            flat[torch.randint(0, n, (max(1, n // 16),))] = 0.0
            flat[n // 3] = float("nan")
            flat[n // 2] = float("inf")
            flat[(2 * n) // 3] = -float("inf")
        return v.to(dtype)
    if dtype == torch.complex128:  # finite: inf and NaN products of
        # complex numbers depend on the order
        return torch.complex(torch.randn(shape, dtype=torch.float64),
                             torch.randn(shape, dtype=torch.float64))
    if dtype == torch.bool:
        return torch.rand(shape) < 0.8
    lo = 0 if dtype == torch.uint8 else -3
    return torch.randint(lo, 4, shape, dtype=torch.int64).to(dtype)


def scatter_cases():
    # (self shape, index shape, src shape, dim)
    shapes = [((5,), (12,), (12,), 0),
              ((4, 6), (9, 6), (10, 7), 0),
              ((4, 6), (3, 20), (3, 25), 1),
              ((4, 6), (3, 20), (3, 25), -1),
              ((3, 4, 5), (3, 4, 9), (3, 4, 9), 2),
              ((3, 4, 5), (2, 7, 3), (3, 8, 5), 1)]
    # (torch 1.13's CPU index_reduce has no bool and no complex without
    # include_self: scatter_reduce only.)
    for dtype in FLOATS + INTS + (torch.bool, torch.complex128):
        tol = TOL.get(dtype, 0)
        for sshape, ishape, rshape, dim in shapes:
            n = sshape[dim]
            for inc in (True, False):
                x = values(sshape, dtype)
                idx = torch.randint(0, n, ishape)
                src = values(rshape, dtype)
                name = "scatter_reduce %s %s dim=%d self=%s" % (
                    dtype, sshape, dim, inc)
                # Duplicates in another order: a permutation along dim of
                # index and src, within the part index covers.
                d = dim % len(sshape)
                perm = torch.randperm(ishape[d])
                cut = [slice(0, k) for k in ishape]
                src_c = src[tuple(cut)]
                idx_p = idx.index_select(d, perm)
                src_p = src_c.index_select(d, perm)
                check(name,
                      lambda: T.scatter_reduce_two(x, dim, idx, src, "prod",
                                                   inc),
                      lambda: x.scatter_reduce(dim, idx, src, "prod",
                                               include_self=inc),
                      tol,
                      lambda: T.scatter_reduce_two(x, dim, idx_p, src_p,
                                                   "prod", inc))
                check(name + " in place",
                      lambda: T.scatter_reduce__two(x.clone(), dim, idx, src,
                                                    "prod", inc),
                      lambda: x.clone().scatter_reduce_(dim, idx, src, "prod",
                                                        include_self=inc),
                      tol)
    # Non-contiguous self and src; 0-dim; empty index.
    for inc in (True, False):
        x = values((6, 4), torch.float64).t()
        src = values((8, 5), torch.float64).t()
        idx = torch.randint(0, 6, (4, 8))
        check("scatter_reduce non-contiguous self=%s" % inc,
              lambda: T.scatter_reduce_two(x, 1, idx, src, "prod", inc),
              lambda: x.scatter_reduce(1, idx, src, "prod", include_self=inc),
              1e-12)
        s0, v0, i0 = torch.tensor(2.5), torch.tensor(-3.0), torch.tensor(0)
        check("scatter_reduce 0-dim self=%s" % inc,
              lambda: T.scatter_reduce_two(s0, 0, i0, v0, "prod", inc),
              lambda: s0.scatter_reduce(0, i0, v0, "prod", include_self=inc))
        x = values((4, 3), torch.float32)
        e = torch.empty((0, 3), dtype=torch.long)
        check("scatter_reduce empty index self=%s" % inc,
              lambda: T.scatter_reduce_two(x, 0, e, x, "prod", inc),
              lambda: x.scatter_reduce(0, e, x, "prod", include_self=inc))
    # Errors as ATen raises them.
    x, src = torch.ones(3), torch.ones(2)
    for bad, what in ((torch.tensor([0, 3]), "index too large"),
                      (torch.tensor([-1, 0]), "negative index"),
                      (torch.tensor([0, 1], dtype=torch.int32), "int32 index"),
                      (torch.tensor([[0, 1]]), "index of another rank")):
        check_raises("scatter_reduce %s" % what,
                     lambda: T.scatter_reduce_two(x, 0, bad, src, "prod"),
                     lambda: x.scatter_reduce(0, bad, src, "prod"))
    check_raises("scatter_reduce dtype of src",
                 lambda: T.scatter_reduce_two(x, 0, torch.tensor([0]),
                                              src.double(), "prod"),
                 lambda: x.scatter_reduce(0, torch.tensor([0]), src.double(),
                                          "prod"))
    check_raises("scatter_reduce dim out of range",
                 lambda: T.scatter_reduce_two(x, 1, torch.tensor([0]), src,
                                              "prod"),
                 lambda: x.scatter_reduce(1, torch.tensor([0]), src, "prod"))
    # The other modes: PyTorch's kernel through the out overload.
    for red in ("sum", "mean", "amax", "amin"):
        for inc in (True, False):
            x = torch.randn(5, 4)
            idx = torch.randint(0, 5, (9, 4))
            src = torch.randn(9, 4)
            check("scatter_reduce %s self=%s" % (red, inc),
                  lambda: T.scatter_reduce_two(x, 0, idx, src, red, inc),
                  lambda: x.scatter_reduce(0, idx, src, red,
                                           include_self=inc), 0)
            check("scatter_reduce_ %s self=%s" % (red, inc),
                  lambda: T.scatter_reduce__two(x.clone(), 0, idx, src, red,
                                                inc),
                  lambda: x.clone().scatter_reduce_(0, idx, src, red,
                                                    include_self=inc), 0)
    check_raises("scatter_reduce unknown reduce",
                 lambda: T.scatter_reduce_two(x, 0, idx, src, "max"),
                 lambda: x.scatter_reduce(0, idx, src, "max"))


def index_cases():
    # (self shape, dim, index length)
    shapes = [((5,), 0, 12), ((4, 6), 0, 9), ((4, 6), 1, 20),
              ((4, 6), -1, 20), ((3, 4, 5), 1, 11), ((3, 0, 2), 2, 4)]
    for dtype in FLOATS + INTS:
        tol = TOL.get(dtype, 0)
        for sshape, dim, m in shapes:
            d = dim % len(sshape)
            rshape = list(sshape)
            rshape[d] = m
            for inc in (True, False):
                x = values(sshape, dtype)
                idx = torch.randint(0, sshape[d], (m,))
                src = values(tuple(rshape), dtype)
                perm = torch.randperm(m)
                idx_p, src_p = idx[perm], src.index_select(d, perm)
                name = "index_reduce %s %s dim=%d self=%s" % (
                    dtype, sshape, dim, inc)
                check(name,
                      lambda: T.index_reduce(x, dim, idx, src, "prod", inc),
                      lambda: x.index_reduce(dim, idx, src, "prod",
                                             include_self=inc),
                      tol,
                      lambda: T.index_reduce(x, dim, idx_p, src_p, "prod",
                                             inc))
                check(name + " in place",
                      lambda: T.index_reduce_(x.clone(), dim, idx, src,
                                              "prod", inc),
                      lambda: x.clone().index_reduce_(dim, idx, src, "prod",
                                                      include_self=inc),
                      tol)
    for inc in (True, False):
        x = values((6, 4), torch.float64).t()
        src = values((9, 4), torch.float64).t()
        idx = torch.randint(0, 6, (9,), dtype=torch.int32)
        check("index_reduce non-contiguous, int32 index self=%s" % inc,
              lambda: T.index_reduce(x, 1, idx, src, "prod", inc),
              lambda: x.index_reduce(1, idx, src, "prod", include_self=inc),
              1e-12)
        s0, v0, i0 = torch.tensor(2.5), torch.tensor(-3.0), torch.tensor([0])
        check("index_reduce 0-dim self=%s" % inc,
              lambda: T.index_reduce(s0, 0, i0, v0, "prod", inc),
              lambda: s0.index_reduce(0, i0, v0, "prod", include_self=inc))
        x = values((4, 3), torch.float32)
        e = torch.empty((0,), dtype=torch.long)
        check("index_reduce empty index self=%s" % inc,
              lambda: T.index_reduce(x, 0, e, x[:0], "prod", inc),
              lambda: x.index_reduce(0, e, x[:0], "prod", include_self=inc))
    x, src = torch.ones(3), torch.ones(2)
    for bad, what in ((torch.tensor([0, 3]), "index too large"),
                      (torch.tensor([-1, 0]), "negative index"),
                      (torch.tensor([[0, 1]]), "2-D index"),
                      (torch.tensor([0.0, 1.0]), "float index"),
                      (torch.tensor([0]), "index and source lengths")):
        check_raises("index_reduce %s" % what,
                     lambda: T.index_reduce(x, 0, bad, src, "prod"),
                     lambda: x.index_reduce(0, bad, src, "prod"))
    for red in ("mean", "amax", "amin"):
        for inc in (True, False):
            x = torch.randn(5, 4)
            idx = torch.randint(0, 5, (9,))
            src = torch.randn(9, 4)
            check("index_reduce %s self=%s" % (red, inc),
                  lambda: T.index_reduce(x, 0, idx, src, red, inc),
                  lambda: x.index_reduce(0, idx, src, red,
                                         include_self=inc), 0)
            check("index_reduce_ %s self=%s" % (red, inc),
                  lambda: T.index_reduce_(x.clone(), 0, idx, src, red, inc),
                  lambda: x.clone().index_reduce_(0, idx, src, red,
                                                  include_self=inc), 0)
    check_raises("index_reduce sum (not a mode of index_reduce)",
                 lambda: T.index_reduce(x, 0, idx, src, "sum"),
                 lambda: x.index_reduce(0, idx, src, "sum"))


def in_place_returns_self():
    global cases
    cases += 1
    x = torch.ones(4)
    r = T.scatter_reduce__two(x, 0, torch.tensor([1, 1]),
                              torch.tensor([2.0, 3.0]), "prod")
    y = torch.ones(4, 2)
    q = T.index_reduce_(y, 0, torch.tensor([2]), torch.full((1, 2), 5.0),
                        "amax")
    if r is not x or x.tolist() != [1, 6, 1, 1] or q is not y or \
            y[2].tolist() != [5, 5]:
        fail("in place variants write self and return it",
             "%s %s" % (x.tolist(), y.tolist()))


def skewed():
    """One long segment among many short ones: the padded matrix (3000 x
    1000) exceeds a small DENSE_LIMIT and twice the values, so the
    pairwise path runs; its result is
    the native one (floats close, integers exact), the same call to
    call and under reordered duplicates."""
    idx = torch.cat([torch.zeros(1000, dtype=torch.long),
                     torch.arange(1, 3000)])
    for dtype in (torch.float64, torch.float32, torch.int64):
        x = values((3000,), dtype)
        src = values((idx.numel(),), dtype)
        perm = torch.randperm(idx.numel())
        check("pairwise path %s" % dtype,
              lambda: T.scatter_reduce_two(x, 0, idx, src, "prod"),
              lambda: x.scatter_reduce(0, idx, src, "prod"),
              TOL.get(dtype, 0),
              lambda: T.scatter_reduce_two(x, 0, idx[perm], src[perm],
                                           "prod"))


def registered():
    """The replacements registered the way install() registers them for
    CUDA, here for the CPU key: the ops reach them through the dispatcher
    and autograd (the backward of prod calls scatter_reduce prod again),
    the other modes reach PyTorch's own kernel through the out overloads
    without recursion.  References are computed before registering."""
    global cases
    x = values((6, 5), torch.float64).abs() + 0.5
    idx = torch.randint(0, 6, (9, 5))
    src = values((9, 5), torch.float64).abs() + 0.5
    ridx = torch.randint(0, 6, (9,))

    def run():
        out = []
        for red in ("prod", "sum", "mean", "amax"):
            a = x.clone().requires_grad_()
            b = src.clone().requires_grad_()
            r = a.scatter_reduce(0, idx, b, red, include_self=False)
            r.sum().backward()
            out += [r.detach(), a.grad, b.grad,
                    x.clone().scatter_reduce_(0, idx, src, red)]
        for red in ("prod", "mean", "amax"):
            a = x.clone().requires_grad_()
            b = src.clone().requires_grad_()
            r = a.index_reduce(0, ridx, b, red)
            r.sum().backward()
            out += [r.detach(), a.grad, b.grad,
                    x.clone().index_reduce_(0, ridx, src, red)]
        return out

    native = run()
    lib = torch.library.Library("aten", "IMPL")
    for name, fn, _ in T.REPLACEMENTS:
        if "reduce" in name:
            lib.impl(name, fn, "CPU")
    calls = []
    real = T._segment_prod

    def counting(keys, vals):
        calls.append(keys.numel())
        return real(keys, vals)
    T._segment_prod = counting
    try:
        mine = run()
    finally:
        T._segment_prod = real
        del lib
    for i, (a, b) in enumerate(zip(mine, native)):
        cases += 1
        if not close(a, b, 1e-10):
            fail("registered for the CPU key: result %d" % i,
                 "mine %s, native %s" % (a.flatten()[:4].tolist(),
                                         b.flatten()[:4].tolist()))
    # Each op's prod forward, in place and at least once in its backward
    # (torch 1.13: twice).
    cases += 1
    if len(calls) < 6:
        fail("registered for the CPU key: prod reaches the replacement",
             "%d calls" % len(calls))


saved = T.DENSE_LIMIT, T.DENSE_RATIO
for limit in (saved, (0, 0)):  # 0: every product through the pairwise path
    T.DENSE_LIMIT, T.DENSE_RATIO = limit
    scatter_cases()
    index_cases()
T.DENSE_LIMIT = 4096
skewed()
T.DENSE_LIMIT, T.DENSE_RATIO = saved
in_place_returns_self()
registered()

print("%d cases" % cases)
sys.exit(1 if failed else 0)
