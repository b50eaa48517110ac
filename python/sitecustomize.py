"""detshim's start-up module (docs/DESIGN.md §12).

The shim puts this file's directory in front of PYTHONPATH for a Python
process.  Python imports it at start-up, before the program runs; it then
1. removes its directory from sys.path and gives PYTHONPATH back the value
   the program had (unset stays unset), so that the program and its
   children see neither;
2. runs the user's own sitecustomize, if there is one further down the
   path (its errors are reported by site.py as usual);
3. installs detshim's import hooks (_detshim.on_import) and, where present,
   the seed module.
"""

import os
import sys


def _detshim_start():
    here = os.path.dirname(__file__)
    path = os.environ.get("PYTHONPATH")
    if path is None or path.split(os.pathsep, 1)[0] != here:
        return False  # not put here by the shim
    # The shim wrote "<here>" for an unset PYTHONPATH, "<here>:<here>" for
    # an empty one and "<here>:<old>" otherwise (shim/python.c).
    if path == here:
        del os.environ["PYTHONPATH"]
    elif path == here + os.pathsep + here:
        os.environ["PYTHONPATH"] = ""
    else:
        os.environ["PYTHONPATH"] = path[len(here) + 1:]
    import _detshim  # before the directory leaves sys.path
    sys.path[:] = [p for p in sys.path if p != here]
    return True


def _detshim_chain():
    # The user's sitecustomize: ours leaves sys.modules, so the program
    # sees theirs there, or none, as without detshim.
    mine = sys.modules.pop("sitecustomize", None)
    try:
        __import__("sitecustomize")
    except ImportError as e:
        if e.name != "sitecustomize":
            raise
        # None: importlib wants ours back until this import returns; the
        # first import after it (site's usercustomize, the program's
        # first) takes it out, once _detshim_install's own imports are
        # done (the caller arms that).
        sys.modules["sitecustomize"] = mine
        return mine
    return None


def _detshim_install():
    import _detshim
    _detshim.install()
    # The seed module is another file of the package; it is checked for by
    # path, so that any error inside it is reported, never taken for
    # absence.
    if os.path.exists(os.path.join(os.path.dirname(_detshim.__file__),
                                   "seeds.py")):
        from _detshim import seeds
        seeds.install()


if _detshim_start():
    _forget = None
    try:
        _forget = _detshim_chain()
    finally:
        _detshim_install()
    if _forget is not None:
        import _detshim  # already imported: no finder runs
        _detshim._forget = _forget
