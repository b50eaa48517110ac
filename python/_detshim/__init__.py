"""detshim's Python side: run callbacks when a module is first imported.

on_import(name, callback) runs callback(module) right after `name` has
been imported for the first time (at once if it already is).  The import
hook is one finder at the front of sys.meta_path that answers None, after
one dict lookup, for every module nobody waits for (docs/DESIGN.md §12).
"""

import sys

_waiting = {}   # module name -> [callbacks]
_busy = set()   # names being looked up by the finder (no recursion)
_forget = None  # our sitecustomize, to leave sys.modules at the next import


def on_import(name, callback):
    """Run callback(module) once `name` is imported (now if it is)."""
    mod = sys.modules.get(name)
    if mod is not None and name not in _waiting:
        _run(name, [callback], mod)
        return
    _waiting.setdefault(name, []).append(callback)


def _run(name, callbacks, mod):
    for cb in callbacks:
        try:
            cb(mod)
        except Exception as e:  # never the program's problem
            from _detshim import _native
            _native.event("framework", name, "error",
                          "%s: %s: %s" % (getattr(cb, "__qualname__", cb),
                                          type(e).__name__, e))


class _Finder:
    """Finds nothing itself; wraps the loader of a module waited for."""

    def find_spec(self, fullname, path=None, target=None):
        global _forget
        if _forget is not None:
            if sys.modules.get("sitecustomize") is _forget:
                del sys.modules["sitecustomize"]
            _forget = None
        if fullname not in _waiting or fullname in _busy:
            return None
        _busy.add(fullname)
        try:
            spec = None
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
        finally:
            _busy.discard(fullname)
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        real = loader.exec_module

        def exec_module(module):
            # The wrapper is an attribute of this loader instance only
            # for the one call: the module keeps its own loader.
            try:
                del loader.exec_module
            except AttributeError:
                pass
            real(module)
            callbacks = _waiting.pop(fullname, [])
            _run(fullname, callbacks, sys.modules.get(fullname, module))

        try:
            loader.exec_module = exec_module
        except AttributeError:  # a loader that takes no attributes
            return spec
        return spec

    def invalidate_caches(self):
        pass


_finder = _Finder()


def _torch(torch):
    from _detshim import torch_ops
    torch_ops.install(torch)
    from _detshim import batch_invariant
    batch_invariant.install(torch)
    from _detshim import batch_check
    batch_check.install(torch)


def install():
    """Put the finder in front of sys.meta_path (once) and wait for the
    frameworks detshim completes from Python."""
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)
        on_import("torch", _torch)
