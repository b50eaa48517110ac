"""Deterministic backward of grid_sample (grid_sampler_2d_backward and
grid_sampler_3d_backward) for the CUDA key (docs/DESIGN.md §12).

PyTorch's CUDA kernel adds each output point's corner contributions into
grad_input with float atomics, so the order of the adds, and the bits of
the sum, change from run to run.  Here:

- grad_input: the forward is linear in the input, so the backward sends
  grad_output[p] * weight(p, corner) to each corner's input position
  (4 corners in 2-D, 8 in 3-D, 1 for nearest; none for a corner outside
  the input).  The contributions are rows of C values on a
  [N * spatial, C] view, summed by index_put_ with accumulate=True,
  which sorts the row indices and adds each run in a fixed order (the
  contributions listed point by point, the corners of a point in
  order).
- grad_grid: no collisions (one value per output point), computed from
  the gathered corner values by the explicit derivative of the weights,
  times the derivative of the source coordinate (the unnormalisation,
  and the clip of border padding or the reflection of reflection
  padding), as PyTorch's grid_sampler_compute_source_index_set_grad
  defines it.  Nearest: zeros, as PyTorch's.
- bicubic (2-D only): PyTorch's own CPU kernel on copies
  (torch_ops._on_cpu).

Half and bfloat16 compute in float32 and return their own dtype.  The
(points x corners x channels) values are made in chunks of at most CHUNK
elements.  output_mask[0] False: grad_input is undefined (None), as
ATen's; output_mask[1] False: grad_grid is zeros (ATen computes it
anyway; autograd asks for it only when the grid needs a gradient).

The functions take and return what the aten schema says; the CPU tests
call them directly (tests/python/check_torch_grid.py).
"""

import torch

# Largest number of (point, corner, channel) values of one chunk: 16 Mi
# values, 64 MiB in float32 for the contributions, and twice that for the
# gathered corner values and their products when grad_grid is wanted.
CHUNK = 1 << 24

BILINEAR, NEAREST, BICUBIC = 0, 1, 2       # interpolation_mode
ZEROS, BORDER, REFLECTION = 0, 1, 2        # padding_mode


def grid_sampler_2d_backward(grad_output, input, grid, interpolation_mode,
                             padding_mode, align_corners, output_mask):
    """aten::grid_sampler_2d_backward: (grad_input or None, grad_grid)."""
    if interpolation_mode == BICUBIC:
        from _detshim import torch_ops
        op = torch.ops.aten.grid_sampler_2d_backward.default
        return torch_ops._on_cpu(op)(grad_output, input, grid,
                                     interpolation_mode, padding_mode,
                                     align_corners, output_mask)
    return _backward(2, grad_output, input, grid, interpolation_mode,
                     padding_mode, align_corners, output_mask)


def grid_sampler_3d_backward(grad_output, input, grid, interpolation_mode,
                             padding_mode, align_corners, output_mask):
    """aten::grid_sampler_3d_backward: (grad_input or None, grad_grid)."""
    return _backward(3, grad_output, input, grid, interpolation_mode,
                     padding_mode, align_corners, output_mask)


def _acc(t):
    if t.dtype in (torch.float16, torch.bfloat16):
        return torch.float32
    return t.dtype


def _source_index(coord, size, padding, align, want_grad):
    """The source coordinate (in pixels) of a normalised one along an axis
    of `size` pixels, and d(source)/d(coord): a number (zeros padding) or
    a tensor like coord (None unless want_grad)."""
    if align:
        d = (size - 1) / 2
        x = ((coord + 1) / 2) * (size - 1)
    else:
        d = size / 2
        x = ((coord + 1) * size - 1) / 2
    if want_grad and padding != ZEROS:
        d = torch.full_like(x, d)
    if padding == REFLECTION:
        lo2, hi2 = (0, 2 * (size - 1)) if align else (-1, 2 * size - 1)
        if lo2 == hi2:
            x = torch.zeros_like(x)
            d = torch.zeros_like(x)
        else:
            lo = lo2 / 2
            span = (hi2 - lo2) / 2
            x = x - lo
            neg = x < 0
            x = x.abs()
            extra = torch.fmod(x, span)
            # The number of flips is an int in PyTorch's CUDA kernel,
            # whose conversion saturates at INT_MAX (odd).
            flips = torch.floor(x / span)
            odd = (torch.remainder(flips, 2) != 0) | (flips >= 2147483647)
            x = torch.where(odd, span - extra, extra) + lo
            if want_grad:
                d = torch.where(neg != odd, -d, d)
    if padding in (BORDER, REFLECTION):
        # Clipped to [0, size - 1]; the borders count as outside for the
        # gradient (d = 0 at and beyond them), as in PyTorch.
        if want_grad:
            d = torch.where((x > 0) & (x < size - 1), d, 0.0)
        x = x.clamp(0, size - 1)
    # Far outside or not finite: a coordinate no corner of which is
    # inside (PyTorch's safe_downgrade_to_int_range).
    x = torch.where(x.abs() < 2147483647, x, -100.0)
    return x, (d if want_grad else None)


def _corners(src, ins, nearest, with_derivative):
    """The corners of the points whose source coordinates are src (one
    (Q,) tensor per spatial axis, outermost axis first): the flat
    position of each corner in the input's spatial grid (meaningful where
    it lies inside), whether it lies inside, its weight (None for nearest:
    1), and (with_derivative) the list of d(weight)/d(source) per axis.
    Each (Q, K), corners in PyTorch's order (the innermost axis varies
    fastest)."""
    nd = len(ins)
    q = src[0].shape[0]
    pos, ok, wts = [], [], []
    for a in range(nd):
        shape = [q] + [1] * nd
        shape[1 + a] = -1
        s = src[a]
        # (s is finite and within int range: _source_index.)
        if nearest:
            c = torch.round(s).long().unsqueeze(1)     # half to even
            w = None
        else:
            f = torch.floor(s)
            c = f.long()
            c = torch.stack((c, c + 1), 1)
            # As PyTorch's CUDA kernel writes them: (f + 1) - s for the
            # lower corner, s - f for the upper.
            w = torch.stack((f + 1 - s, s - f), 1).view(shape)
        ok.append(((c >= 0) & (c < ins[a])).view(shape))
        pos.append(c.view(shape))
        wts.append(w)
    full = [q] + [1 if nearest else 2] * nd
    lin, inside = pos[0], ok[0]
    for a in range(1, nd):
        lin = lin * ins[a] + pos[a]
        inside = inside & ok[a]
    weight = None
    if not nearest:
        # The product of the factors from the innermost axis out (x * y * z).
        weight = wts[nd - 1]
        for a in reversed(range(nd - 1)):
            weight = weight * wts[a]
        weight = weight.reshape(q, -1)
    dw = None
    if with_derivative:
        # -1 for the lower corner, 1 for the upper (made on the device,
        # no copy from the host).
        sign = torch.arange(2, dtype=src[0].dtype, device=src[0].device) \
            * 2 - 1
        dw = []
        for a in range(nd):
            shape = [1] * (nd + 1)
            shape[1 + a] = 2
            d = sign.view(shape)
            for b in reversed(range(nd)):
                if b != a:
                    d = d * wts[b]
            dw.append(d.expand(full).reshape(q, -1))
    return (lin.expand(full).reshape(q, -1),
            inside.expand(full).reshape(q, -1), weight, dw)


def _backward(nd, grad_output, input, grid, mode, padding, align, mask):
    """grid_sampler_{2,3}d_backward for bilinear (mode 0) and nearest
    (mode 1) interpolation: (grad_input or None, grad_grid)."""
    nearest = mode == NEAREST
    want_input = bool(mask[0])
    want_grid = bool(mask[1]) and not nearest
    acc = _acc(input)
    n, c = int(input.shape[0]), int(input.shape[1])
    ins = [int(s) for s in input.shape[2:]]
    outs = [int(s) for s in grid.shape[1:-1]]
    spatial = 1
    for s in ins:
        spatial *= s
    per_batch = 1
    for s in outs:
        per_batch *= s
    points = n * per_batch
    k = 1 if nearest else 1 << nd
    step = max(1, CHUNK // max(1, k * c))
    grad_input = None
    if points == 0 or c == 0 or not (want_input or want_grid):
        if want_input:
            grad_input = torch.zeros(input.shape, dtype=input.dtype,
                                     device=input.device)
        return grad_input, torch.zeros(grid.shape, dtype=grid.dtype,
                                       device=grid.device)
    # grid[..., 0] is x (the innermost axis), [..., 1] y, [..., 2] z.
    g = grid.to(acc).reshape(points, nd)
    src, mult = [], []
    for a in range(nd):
        x, d = _source_index(g[:, nd - 1 - a], ins[a], padding, align,
                             want_grid)
        src.append(x)
        mult.append(d)
    go = grad_output.to(acc).movedim(1, -1).reshape(points, c)
    if want_input:
        # One row of C values per input position, and a spare row per
        # point of a chunk for its corners outside the input (one per
        # point, so that no long run of one index forms in the sort).
        gin = torch.zeros((n * spatial + min(step, points), c), dtype=acc,
                          device=input.device)
    if want_grid:
        # The input as rows of C values, and a row of zeros that the
        # corners outside read.
        rows = torch.zeros((n * spatial + 1, c), dtype=acc,
                           device=input.device)
        rows[:n * spatial].view([n] + ins + [c]).copy_(input.movedim(1, -1))
        gg = torch.empty((points, nd), dtype=acc, device=grid.device)
    for p0 in range(0, points, step):
        p1 = min(points, p0 + step)
        q = p1 - p0
        lin, inside, weight, dw = _corners([s[p0:p1] for s in src], ins,
                                           nearest, want_grid)
        first = torch.div(torch.arange(p0, p1, device=lin.device),
                          per_batch, rounding_mode="floor") * spatial
        lin = lin + first.unsqueeze(1)
        gq = go[p0:p1]
        if want_input:
            spare = n * spatial + torch.arange(q, device=lin.device)
            at = torch.where(inside, lin, spare.unsqueeze(1))
            vals = gq.unsqueeze(1) if weight is None else \
                weight.unsqueeze(2) * gq.unsqueeze(1)
            gin.index_put_((at.reshape(-1),), vals.reshape(-1, c),
                           accumulate=True)
        if want_grid:
            at = torch.where(inside, lin, n * spatial)
            v = rows.index_select(0, at.reshape(-1)).view(q, k, c)
            t = (v * gq.unsqueeze(1)).sum(2)
            for a in range(nd):
                m = mult[a]
                if isinstance(m, torch.Tensor):
                    m = m[p0:p1]
                gg[p0:p1, nd - 1 - a] = (t * dw[a]).sum(1) * m
    if want_input:
        grad_input = (gin[:n * spatial].view([n] + ins + [c]).movedim(-1, 1)
                      .to(input.dtype).contiguous())
    if want_grid:
        grad_grid = gg.view(grid.shape).to(grid.dtype)
    else:
        grad_grid = torch.zeros(grid.shape, dtype=grid.dtype,
                                device=grid.device)
    return grad_input, grad_grid
