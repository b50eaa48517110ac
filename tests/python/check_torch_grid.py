"""The grid_sample backward of python/_detshim/torch_grid.py against
PyTorch's own CPU kernels (tests/it_python.sh runs it with Debian's
python3-torch).

Each case calls the replacement directly on CPU tensors and the native
op on the same inputs: 2-D and 3-D, bilinear and nearest (bicubic: the
CPU kernel itself), every padding mode, align_corners both ways, grid
points inside, outside [-1, 1] and exactly on pixel centres and edges,
axes of one pixel, many points on few pixels, empty batch, empty output
and no channels, non-contiguous and channels_last tensors, float32 and
float64 (half and bfloat16: against float32 on the same rounded values),
both halves of output_mask; the result close to the native one
(relative to its largest magnitude), bit-identical call to call and
whatever the chunk size.  Then the functions registered for the CPU key
under autograd through F.grid_sample, and in a few training steps of a
small spatial transformer.  Prints one line per failing case
and "N cases" last; exits 1 on a failure.
"""

import math
import sys
import warnings

import torch
import torch.nn.functional as F

from _detshim import torch_grid as G
from _detshim import torch_ops as T

T.torch = torch  # (install() sets it; bicubic runs T._on_cpu)
aten = torch.ops.aten
torch.manual_seed(0)
failed = []
cases = 0
TOL = {torch.float32: 1e-5, torch.float64: 1e-12}
NATIVE = {2: aten.grid_sampler_2d_backward, 3: aten.grid_sampler_3d_backward}
MINE = {2: G.grid_sampler_2d_backward, 3: G.grid_sampler_3d_backward}
BOTH = [True, True]


def fail(name, why):
    failed.append(name)
    print("FAIL %s: %s" % (name, why))


def differs(a, b, tol):
    """Why a is not b within tol of b's largest magnitude ("" if it is):
    shape, dtype and strides too."""
    if a is None or b is None:
        return "" if a is None and b is None else "%s vs %s" % (
            "None" if a is None else "a tensor", "None" if b is None
            else "a tensor")
    if a.shape != b.shape or a.dtype != b.dtype:
        return "%s %s vs %s %s" % (tuple(a.shape), a.dtype, tuple(b.shape),
                                   b.dtype)
    if a.numel() and a.stride() != b.stride():
        return "strides %s vs %s" % (a.stride(), b.stride())
    if a.numel() == 0:
        return ""
    scale = max(float(b.abs().max()), 1e-30)
    err = float((a.double() - b.double()).abs().max()) / scale
    return "" if err <= tol else "off by %.2e of %.3g" % (err, scale)


def same_bits(a, b):
    if a is None or b is None:
        return a is None and b is None
    return a.shape == b.shape and torch.equal(a, b)


def check(name, nd, args, tol, native=None):
    """The replacement on args (grad_output, input, grid, mode, padding,
    align_corners, output_mask) against the native op (or native()),
    then against itself."""
    global cases
    cases += 1
    try:
        mine = MINE[nd](*args)
        ref = native() if native else NATIVE[nd](*args)
        why = "; ".join("%s: %s" % (w, d) for w, d in
                        (("grad_input", differs(mine[0], ref[0], tol)),
                         ("grad_grid", differs(mine[1], ref[1], tol)))
                        if d)
        again = MINE[nd](*args)
        if not why and not all(same_bits(x, y) for x, y in zip(mine, again)):
            why = "two calls differ"
    except Exception as e:  # a case that raises is a failing case
        why = "raised %s: %s" % (type(e).__name__, e)
    if why:
        fail(name, why)


def inputs(nd, n, c, ins, outs, dtype, lo=-1.3, hi=1.3):
    x = torch.randn((n, c) + ins, dtype=dtype)
    grid = torch.rand((n,) + outs + (nd,), dtype=dtype) * (hi - lo) + lo
    go = torch.randn((n, c) + outs, dtype=dtype)
    return go, x, grid


SHAPES = {2: ((5, 6), (4, 7)), 3: ((4, 5, 3), (3, 4, 5))}
MODES = {0: "bilinear", 1: "nearest"}
PADS = {0: "zeros", 1: "border", 2: "reflection"}

# Every mode x padding x align_corners x dtype, 2-D and 3-D: grid points
# inside and outside [-1, 1].
for nd in (2, 3):
    ins, outs = SHAPES[nd]
    for dtype in (torch.float32, torch.float64):
        for mode in MODES:
            for pad in PADS:
                for align in (False, True):
                    go, x, grid = inputs(nd, 2, 3, ins, outs, dtype)
                    check("%d-D %s %s align=%s %s" % (nd, MODES[mode],
                                                      PADS[pad], align,
                                                      dtype),
                          nd, (go, x, grid, mode, pad, align, BOTH),
                          TOL[dtype])

# Points exactly on pixel centres and edges, on -1 and 1 and beyond: where
# a corner's weight is 0 or 1, where border padding's clip and
# reflection's fold change their derivative, and where nearest rounds a
# half (to even, as PyTorch's CUDA kernels and torch 1.13's 2-D CPU
# kernel; its 3-D CPU kernel rounds halves away from zero, so 3-D nearest
# is checked against the 2-D kernel on a depth of one pixel).
EDGES = torch.tensor([-1.5, -1.2, -1.0, -0.8, -0.6, -0.5, -0.2, 0.0, 0.2,
                      0.5, 0.6, 0.75, 1.0, 1.25, 2.0])
for nd in (2, 3):
    ins, outs = SHAPES[nd]
    for mode in MODES:
        for pad in PADS:
            for align in (False, True):
                go, x, _ = inputs(nd, 2, 3, ins, outs, torch.float64)
                grid = EDGES[torch.randint(0, len(EDGES),
                                           (2,) + outs + (nd,))].double()
                native = None
                if nd == 3 and mode == 1:
                    x = x[:, :, :1]
                    grid[..., 2] = 0

                    def native(go=go, x=x, grid=grid, pad=pad, align=align):
                        d = grid.shape[1]
                        r = aten.grid_sampler_2d_backward(
                            go.flatten(2, 3), x[:, :, 0],
                            grid[..., :2].flatten(1, 2), 1, pad, align, BOTH)
                        return (r[0].unsqueeze(2),
                                torch.nn.functional.pad(r[1], (0, 1))
                                .unflatten(1, (d, -1)))
                check("%d-D %s %s align=%s, points on edges" % (
                    nd, MODES[mode], PADS[pad], align), nd,
                    (go, x, grid, mode, pad, align, BOTH), 1e-12, native)

# Axes of one pixel (reflection with align_corners folds onto 0).
for pad in PADS:
    for align in (False, True):
        go, x, grid = inputs(2, 2, 3, (1, 6), (4, 7), torch.float32, -2, 2)
        check("2-D one-pixel axis %s align=%s" % (PADS[pad], align), 2,
              (go, x, grid, 0, pad, align, BOTH), 1e-5)
        go, x, grid = inputs(3, 1, 2, (1, 1, 4), (2, 3, 3), torch.float32,
                             -2, 2)
        check("3-D one-pixel axes %s align=%s" % (PADS[pad], align), 3,
              (go, x, grid, 0, pad, align, BOTH), 1e-5)

# Many points on few pixels (upsampling): long runs of one index.
go, x, grid = inputs(2, 2, 4, (3, 4), (24, 20), torch.float32, -1, 1)
check("2-D 24x20 points on 3x4 pixels", 2,
      (go, x, grid, 0, 0, False, BOTH), 1e-5)
go, x, grid = inputs(3, 1, 3, (2, 3, 2), (8, 9, 7), torch.float32, -1, 1)
check("3-D 8x9x7 points on 2x3x2 pixels", 3,
      (go, x, grid, 0, 1, True, BOTH), 1e-5)

# Empty batch, empty output, no channels.
for nd in (2, 3):
    ins, outs = SHAPES[nd]
    go, x, grid = inputs(nd, 0, 3, ins, outs, torch.float32)
    check("%d-D empty batch" % nd, nd, (go, x, grid, 0, 0, False, BOTH), 0)
    go, x, grid = inputs(nd, 2, 3, ins, (0,) + outs[1:], torch.float32)
    check("%d-D empty output" % nd, nd, (go, x, grid, 0, 1, True, BOTH), 0)
    go, x, grid = inputs(nd, 2, 0, ins, outs, torch.float32)
    check("%d-D no channels" % nd, nd, (go, x, grid, 0, 2, False, BOTH), 0)

# Non-contiguous and channels_last tensors (grad_input comes back
# contiguous, as ATen's).
x = torch.randn(2, 3, 5, 6).contiguous(memory_format=torch.channels_last)
go = torch.randn(2, 7, 3, 4).permute(0, 2, 3, 1)
grid = (torch.rand(2, 7, 4, 2) * 2.6 - 1.3).transpose(1, 2)
for pad in PADS:
    check("2-D channels_last input, permuted grad_output and grid %s"
          % PADS[pad], 2, (go, x, grid, 0, pad, False, BOTH), 1e-5)
x = torch.randn(2, 3, 4, 5, 6).contiguous(
    memory_format=torch.channels_last_3d)
go = torch.randn(2, 3, 5, 4, 3).transpose(2, 4)
grid = (torch.rand(2, 3, 4, 5, 3) * 2.6 - 1.3)[..., [2, 0, 1]]
check("3-D channels_last input, transposed grad_output, gathered grid", 3,
      (go, x, grid, 0, 2, True, BOTH), 1e-5)
x = torch.randn(2, 6, 5, 8)[:, ::2, :, ::2]
go, _, grid = inputs(2, 2, 3, (5, 4), (4, 7), torch.float32)
check("2-D sliced input", 2, (go, x, grid, 1, 0, True, BOTH), 1e-5)

# output_mask: grad_input undefined (None) when not asked for, as ATen's;
# grad_grid zeros when not asked for (ATen computes it anyway).
for nd in (2, 3):
    ins, outs = SHAPES[nd]
    go, x, grid = inputs(nd, 2, 3, ins, outs, torch.float64)
    for mode in MODES:
        args = (go, x, grid, mode, 1, False)
        check("%d-D %s output_mask [False, True]" % (nd, MODES[mode]), nd,
              args + ([False, True],), 1e-12)
        check("%d-D %s output_mask [True, False]" % (nd, MODES[mode]), nd,
              args + ([True, False],), 1e-12,
              native=lambda: (NATIVE[nd](*args, [True, False])[0],
                              torch.zeros_like(grid)))
        check("%d-D %s output_mask [False, False]" % (nd, MODES[mode]), nd,
              args + ([False, False],), 0,
              native=lambda: (None, torch.zeros_like(grid)))

# Bicubic (2-D): PyTorch's CPU kernel itself.
go, x, grid = inputs(2, 2, 3, (5, 6), (4, 7), torch.float32)
for pad in PADS:
    check("2-D bicubic %s" % PADS[pad], 2,
          (go, x, grid, 2, pad, False, BOTH), 0)

# Half and bfloat16: computed in float32, returned in their own dtype.
for dtype, tol in ((torch.float16, 2e-3), (torch.bfloat16, 1e-2)):
    for nd in (2, 3):
        ins, outs = SHAPES[nd]
        go, x, grid = inputs(nd, 2, 3, ins, outs, dtype)

        def as_float(go=go, x=x, grid=grid, nd=nd):
            r = NATIVE[nd](go.float(), x.float(), grid.float(), 0, 0,
                           False, BOTH)
            return tuple(t.to(dtype) for t in r)
        check("%d-D %s" % (nd, dtype), nd, (go, x, grid, 0, 0, False, BOTH),
              tol, native=as_float)

# Chunks: the same bits whatever CHUNK here (a point never spans two
# chunks, and the chunks add in point order).
saved = G.CHUNK
for nd in (2, 3):
    ins, outs = SHAPES[nd]
    go, x, grid = inputs(nd, 2, 3, ins, outs, torch.float32)
    for mode in MODES:
        args = (go, x, grid, mode, 0, False, BOTH)
        whole = MINE[nd](*args)
        for chunk in (1, 37, 4 * 3 * 8):
            cases += 1
            G.CHUNK = chunk
            try:
                parts = MINE[nd](*args)
            finally:
                G.CHUNK = saved
            if not all(same_bits(a, b) for a, b in zip(whole, parts)):
                fail("%d-D %s CHUNK=%d" % (nd, MODES[mode], chunk),
                     "differs from one chunk")

# Grid points that are NaN, infinite or far outside, as PyTorch's CUDA
# kernel takes them (its CPU kernel gives NaN or crashes there): a NaN
# source coordinate has no corner inside, nor has an infinite or far one
# under zeros padding (nothing reaches grad_input, grad_grid is 0); border
# padding clips it onto the edge (the same as a point at +-10); reflection
# folds a far one back inside and an infinite one to NaN.
go, x, grid = inputs(2, 2, 3, (5, 6), (4, 7), torch.float32)
far = grid.clone()
far[0, 0, 0] = float("nan")
far[0, 1, 0] = float("inf")
far[0, 1, 1, 0] = -float("inf")
far[0, 1, 2] = 1e20
far[1, 2, 3, 1] = -1e30
keep = torch.ones(2, 4, 7, dtype=torch.bool)
keep[0, 0, 0] = False
near = grid.clone()
near[0, 1, 0] = 10
near[0, 1, 1, 0] = -10
near[0, 1, 2] = 10
near[1, 2, 3, 1] = -10
for pad in PADS:
    cases += 1
    try:
        gi, gg = G.grid_sampler_2d_backward(go, x, far, 0, pad, False, BOTH)
    except Exception as e:
        fail("2-D non-finite and far points, %s" % PADS[pad], repr(e))
        continue
    if pad == 0:
        keep_ = torch.isfinite(far).all(-1) & (far.abs() < 2).all(-1)
        ref = aten.grid_sampler_2d_backward(go * keep_.unsqueeze(1), x,
                                            grid, 0, pad, False, BOTH)
        ref[1][~keep_] = 0
    elif pad == 1:
        ref = aten.grid_sampler_2d_backward(go * keep.unsqueeze(1), x,
                                            near, 0, pad, False, BOTH)
        ref[1][~keep] = 0
    else:
        ref = None
    if ref is None:
        why = "" if torch.isfinite(gi).all() and torch.isfinite(gg).all() \
            and (gg[0, 0, 0] == 0).all() else "not finite"
    else:
        why = "; ".join(d for d in (differs(gi, ref[0], 1e-5),
                                    differs(gg, ref[1], 1e-5)) if d)
    if why:
        fail("2-D non-finite and far points, %s" % PADS[pad], why)

# Reflection of a far coordinate: PyTorch's CUDA kernel counts the flips
# in an int, which saturates at INT_MAX (odd), so the point folds to
# span - fmod(x, span) + low (1.5 for both here, not 3.5), and the
# derivative is the unnormalisation's scale (3) times -1 for the odd flips,
# times -1 again on the negative side.
cases += 1
far = torch.tensor([7.77e15, -3e30], dtype=torch.float64)
x, d = G._source_index(far, 6, 2, False, True)
want = []
for c in far.tolist():
    u = ((c + 1) * 6 - 1) / 2
    want.append(6 - math.fmod(abs(u + 0.5), 6) - 0.5)
if x.tolist() != want or want != [1.5, 1.5] or d.tolist() != [-3.0, 3.0]:
    fail("reflection of far points", "%s %s, wanted %s [-3.0, 3.0]"
         % (x.tolist(), d.tolist(), want))


def registered():
    """The replacements registered for the CPU key: F.grid_sample's
    gradients under autograd, for the input, the grid or both (each
    output_mask the engine asks for)."""
    global cases
    runs = []
    for nd, ins, outs in ((2, (6, 5), (7, 4)), (3, (3, 4, 5), (4, 3, 2))):
        for mode in ("bilinear", "nearest"):
            for pad in PADS.values():
                for want in ((True, True), (True, False), (False, True)):
                    runs.append((nd, ins, outs, mode, pad, want))

    def grads():
        gen = torch.Generator().manual_seed(5)
        out = []
        for nd, ins, outs, mode, pad, want in runs:
            x = torch.randn((2, 3) + ins, generator=gen, dtype=torch.float64)
            grid = torch.rand((2,) + outs + (nd,), generator=gen,
                              dtype=torch.float64) * 2.4 - 1.2
            x.requires_grad_(want[0])
            grid.requires_grad_(want[1])
            y = F.grid_sample(x, grid, mode=mode, padding_mode=pad,
                              align_corners=True)
            g = torch.randn(y.shape, generator=gen, dtype=torch.float64)
            wrt = [t for t in (x, grid) if t.requires_grad]
            out.append(torch.autograd.grad(y, wrt, g))
        return out

    native = grads()
    calls = []

    def counting(fn):
        def run(*args):
            calls.append(args[-1])
            return fn(*args)
        return run
    lib = torch.library.Library("aten", "IMPL")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Overriding a previously ..."
        lib.impl("grid_sampler_2d_backward",
                 counting(G.grid_sampler_2d_backward), "CPU")
        lib.impl("grid_sampler_3d_backward",
                 counting(G.grid_sampler_3d_backward), "CPU")
    try:
        mine = grads()
    finally:
        del lib
    for run, a, b in zip(runs, mine, native):
        cases += 1
        why = "; ".join(differs(x, y, 1e-12) for x, y in zip(a, b))
        if why.strip("; "):
            fail("registered for the CPU key: %d-D %s %s grads of %s"
                 % (run[0], run[3], run[4], run[5]), why)
    cases += 1
    asked = [list(m) for m in calls]
    wanted = [list(r[5]) for r in runs]
    if asked != wanted:
        fail("registered for the CPU key: the engine's output_mask reaches "
             "the replacement", "%s, wanted %s" % (asked, wanted))


def spatial_transformer():
    """A few training steps of a small spatial transformer (a conv
    localisation net, affine_grid, grid_sample, a conv classifier), with
    the replacements registered for the CPU key: the weights close to
    native training's, and bit-identical over two runs."""
    global cases

    def train():
        torch.manual_seed(7)
        loc = torch.nn.Sequential(
            torch.nn.Conv2d(2, 4, 3), torch.nn.ReLU(),
            torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten(),
            torch.nn.Linear(16, 6)).double()
        head = torch.nn.Sequential(
            torch.nn.Conv2d(2, 3, 3), torch.nn.ReLU(), torch.nn.Flatten(),
            torch.nn.Linear(3 * 10 * 10, 5)).double()
        with torch.no_grad():  # start near the identity transform
            loc[-1].weight.mul_(0.1)
            loc[-1].bias.copy_(torch.tensor([1.0, 0, 0, 0, 1, 0]))
        params = list(loc.parameters()) + list(head.parameters())
        opt = torch.optim.SGD(params, lr=0.1)
        x = torch.randn(6, 2, 12, 12, dtype=torch.float64)
        y = torch.randint(0, 5, (6,))
        for pad in ("zeros", "border", "reflection"):
            opt.zero_grad()
            theta = loc(x).view(-1, 2, 3)
            grid = F.affine_grid(theta, list(x.shape), align_corners=False)
            warped = F.grid_sample(x, grid, padding_mode=pad,
                                   align_corners=False)
            F.cross_entropy(head(warped), y).backward()
            opt.step()
        return [p.detach().clone() for p in params]

    native = train()
    lib = torch.library.Library("aten", "IMPL")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lib.impl("grid_sampler_2d_backward", G.grid_sampler_2d_backward,
                 "CPU")
    try:
        mine, again = train(), train()
    finally:
        del lib
    cases += 1
    why = "; ".join(d for d in (differs(a, b, 1e-10)
                                for a, b in zip(mine, native)) if d)
    if why:
        fail("spatial transformer training: against native", why)
    cases += 1
    if not all(torch.equal(a, b) for a, b in zip(mine, again)):
        fail("spatial transformer training", "two runs differ")


registered()
spatial_transformer()
print("%d cases" % cases)
sys.exit(1 if failed else 0)
