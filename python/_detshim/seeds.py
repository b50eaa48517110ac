"""detshim's seeds for the Python generators (docs/SEEDS.md).

install() waits, through _detshim.on_import, for random, numpy, torch and
jax, and wraps their seeding calls: random.seed, numpy.random.seed,
numpy.random.default_rng, numpy.random.SeedSequence, torch.manual_seed,
torch.cuda.manual_seed(_all), torch.Generator(...).manual_seed,
jax.random.PRNGKey and jax.random.key, and the generators made with a
seed: random.Random(x) and its .seed (patched in the class itself, so
type(), isinstance and subclasses stay as they were),
numpy.random.RandomState(x) and its .seed, and the bit generators
MT19937, PCG64, PCG64DXSM, Philox and SFC64 (numpy's classes are
extension types: they become subclasses that keep the base's name,
module and pickling).  Each explicit seed goes to the
shim (_native.seed -> detshim_py_seed), which judges it like a C seed
(the same rules, the same seed modes, one log event with seed_program,
seed_used, rule and site) and answers the seed to use: in mix mode
H(run seed, the program's seed), so DETSHIM_SEED sweeps a script that
hard-codes torch.manual_seed(42).  The seed the program gave keeps its
meaning: 5, -5, 5.0, "5" and b"5" stay five different seeds.  A seed of
None is left alone (its entropy is the shim's already), and so is a seed
the real call refuses (a set for random.seed, -1 for RandomState): the
program gets its own error.  Any failure keeps the program's own seed:
detshim never breaks a seeding call.  Not reachable from Python:
torch.default_generator.manual_seed (a method of a C object;
torch.manual_seed, which calls it, is wrapped).
"""

import operator
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


def _any(value):
    return True


def _python(value):
    # What random.seed takes (anything else raises TypeError there).
    return isinstance(value, (int, float, str, bytes, bytearray))


def _index(value):
    # An integer (numpy's too), not a bool: None for anything else.
    if isinstance(value, (bool, float, str, bytes, bytearray)):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def _u32(value):
    # What the legacy RandomState seeding takes as one number.
    v = _index(value)
    return v is not None and 0 <= v < (1 << 32)


def _uint(value):
    # What SeedSequence (hence every bit generator) takes as one number.
    v = _index(value)
    return v is not None and v >= 0


def _used(api, value, mask, takes=_any):
    """The seed to pass on: the shim's answer, or value itself."""
    if value is None or getattr(_state, "busy", False):
        return value
    try:
        if not takes(value):
            return value  # the real call judges it, and raises its error
        v = value if isinstance(value, (int, float, str, bytes, bytearray)) \
            else operator.index(value)
        from _detshim import _native
        got = _native.seed(api + _site(), v)
    except Exception:  # never the program's problem
        return value
    return value if got is None else got & mask


class _busy:
    """Inside a wrapped call: the seeding calls it makes are not judged
    again."""

    def __enter__(self):
        self.was = getattr(_state, "busy", False)
        _state.busy = True

    def __exit__(self, *exc):
        _state.busy = self.was


def _wrap(api, real, mask, argpos=0, name="seed", takes=_any):
    def seeded(*args, **kwargs):
        args = list(args)
        if len(args) > argpos:
            args[argpos] = _used(api, args[argpos], mask, takes)
        elif name in kwargs:
            kwargs[name] = _used(api, kwargs[name], mask, takes)
        with _busy():
            return real(*args, **kwargs)
    seeded.__name__ = getattr(real, "__name__", "seed")
    seeded.__qualname__ = getattr(real, "__qualname__", seeded.__name__)
    seeded.__doc__ = getattr(real, "__doc__", None)
    seeded.__wrapped__ = real
    return seeded


M64 = (1 << 64) - 1
M32 = (1 << 32) - 1
M63 = (1 << 63) - 1


def _random(mod):
    mod.seed = _wrap("random.seed", mod.seed, M64, 0, "a", _python)
    # random.Random is a Python class: its seed (which __init__ calls) is
    # replaced in the class itself.  Module-level random.seed is bound to
    # the original function: it is judged once, as random.seed.
    cls = mod.Random
    if "seed" in cls.__dict__:
        cls.seed = _wrap("random.Random.seed", cls.__dict__["seed"], M64, 1,
                         "a", _python)


def _like(base, members):
    """A subclass of the extension type base that the program sees as
    base: the same name (numpy's pickling looks bit generators up by
    it), module, qualified name and documentation."""
    cls = type(base.__name__, (base,), dict(members))
    cls.__module__ = base.__module__
    cls.__qualname__ = base.__qualname__
    cls.__doc__ = base.__doc__
    return cls


def _numpy_class(owner, name, api, mask, takes, members):
    base = getattr(owner, name, None)
    if not isinstance(base, type):
        return
    d = {}
    if "__init__" in members:
        def __init__(self, seed=None, *args, **kwargs):
            seed = _used(api, seed, mask, takes)
            with _busy():
                base.__init__(self, seed, *args, **kwargs)
        d["__init__"] = __init__
    if "seed" in members:
        def seed(self, seed=None):
            seed = _used(api, seed, mask, takes)
            with _busy():
                return base.seed(self, seed)
        d["seed"] = seed
    setattr(owner, name, _like(base, d))


def _numpy(np):
    r = np.random
    r.seed = _wrap("numpy.random.seed", r.seed, M32, 0, "seed", _u32)
    r.default_rng = _wrap("numpy.random.default_rng", r.default_rng, M64, 0,
                          "seed", _uint)
    base = r.SeedSequence

    class SeedSequence(base):
        __doc__ = base.__doc__

        def __init__(self, entropy=None, *args, **kwargs):
            entropy = _used("numpy.random.SeedSequence", entropy, M64, _uint)
            with _busy():
                super().__init__(entropy, *args, **kwargs)
    SeedSequence.__module__ = base.__module__
    SeedSequence.__qualname__ = base.__qualname__
    r.SeedSequence = SeedSequence
    # RandomState: numpy.random.RandomState and numpy.random.mtrand's
    # both (pickle finds the class by module and name); the module-level
    # functions keep the global instance, of the base type.
    _numpy_class(r, "RandomState", "numpy.random.RandomState.seed", M32,
                 _u32, ("__init__", "seed"))
    mt = getattr(r, "mtrand", None)
    if mt is not None and getattr(mt, "RandomState", None) is not None:
        mt.RandomState = r.RandomState
    for n in ("MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64"):
        _numpy_class(r, n, "numpy.random." + n, M64, _uint, ("__init__",))


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
