"""detshim's seeds for the Python generators (docs/SEEDS.md).

install() waits, through _detshim.on_import, for random, numpy, torch and
jax, and wraps their seeding calls: random.seed, numpy.random.seed,
numpy.random.default_rng, numpy.random.SeedSequence, torch.manual_seed,
torch.cuda.manual_seed(_all), torch.Generator(...).manual_seed,
jax.random.PRNGKey and jax.random.key.  Each explicit seed goes to the
shim (_native.seed -> detshim_py_seed), which judges it like a C seed
(the same rules, the same seed modes, one log event with seed_program,
seed_used, rule and site) and answers the seed to use: in mix mode
H(run seed, the program's seed), so DETSHIM_SEED sweeps a script that
hard-codes torch.manual_seed(42).  The seed the program gave keeps its
meaning: 5, -5, 5.0, "5" and b"5" stay five different seeds.  A seed of
None is left alone (its entropy is the shim's already).  Any failure
keeps the program's own seed: detshim never breaks a seeding call.
"""

import sys
import threading

_state = threading.local()  # .busy: inside a wrapped call (no nesting)


def _site():
    # The program's frame that called the seeding function: the site
    # ("file:line") that detrun --verify --learn names.
    f = sys._getframe(3)
    while f is not None and f.f_globals.get("__name__", "").startswith(
            ("_detshim", "torch", "numpy", "jax", "random")):
        f = f.f_back
    if f is None:
        return ""
    name = f.f_code.co_filename.rsplit("/", 1)[-1]
    return "@%s:%d" % (name, f.f_lineno)


def _used(api, value, mask):
    """The seed to pass on: the shim's answer, or value itself."""
    if value is None or getattr(_state, "busy", False):
        return value
    try:
        from _detshim import _native
        got = _native.seed(api + _site(), value)
    except Exception:  # never the program's problem
        return value
    return value if got is None else got & mask


def _wrap(api, real, mask, argpos=0, name="seed"):
    def seeded(*args, **kwargs):
        args = list(args)
        if len(args) > argpos:
            args[argpos] = _used(api, args[argpos], mask)
        elif name in kwargs:
            kwargs[name] = _used(api, kwargs[name], mask)
        _state.busy = True
        try:
            return real(*args, **kwargs)
        finally:
            _state.busy = False
    seeded.__name__ = getattr(real, "__name__", "seed")
    seeded.__qualname__ = getattr(real, "__qualname__", seeded.__name__)
    seeded.__doc__ = getattr(real, "__doc__", None)
    seeded.__wrapped__ = real
    return seeded


M64 = (1 << 64) - 1
M32 = (1 << 32) - 1
M63 = (1 << 63) - 1


def _random(mod):
    mod.seed = _wrap("random.seed", mod.seed, M64, 0, "a")


def _numpy(np):
    r = np.random
    r.seed = _wrap("numpy.random.seed", r.seed, M32)
    r.default_rng = _wrap("numpy.random.default_rng", r.default_rng, M64)
    base = r.SeedSequence

    class SeedSequence(base):
        __doc__ = base.__doc__

        def __init__(self, entropy=None, *args, **kwargs):
            super().__init__(_used("numpy.random.SeedSequence", entropy,
                                   M64), *args, **kwargs)
    SeedSequence.__module__ = base.__module__
    SeedSequence.__qualname__ = base.__qualname__
    r.SeedSequence = SeedSequence


def _torch(torch):
    torch.manual_seed = _wrap("torch.manual_seed", torch.manual_seed, M64)
    torch.random.manual_seed = torch.manual_seed
    cuda = getattr(torch, "cuda", None)
    if cuda is not None:
        for n in ("manual_seed", "manual_seed_all"):
            if hasattr(cuda, n):
                setattr(cuda, n, _wrap("torch.cuda." + n, getattr(cuda, n),
                                       M64))
    base = torch.Generator

    class Generator(base):
        __doc__ = base.__doc__

        def manual_seed(self, seed):
            return super().manual_seed(
                _used("torch.Generator.manual_seed", seed, M64))
    Generator.__module__ = base.__module__
    Generator.__qualname__ = base.__qualname__
    torch.Generator = Generator


def _jax_random(jr):
    for n in ("PRNGKey", "key"):
        if hasattr(jr, n):
            setattr(jr, n, _wrap("jax.random." + n, getattr(jr, n), M63))


def install():
    """Wait for the generators' modules (at once for those imported)."""
    from _detshim import on_import
    on_import("random", _random)
    on_import("numpy", _numpy)
    on_import("torch", _torch)
    on_import("jax.random", _jax_random)
