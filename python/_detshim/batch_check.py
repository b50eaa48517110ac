"""The live batch-invariance checker (`detrun --verify-batch`,
docs/GUIDE.md "Checking batch invariance").

With the config row batch_check (DETSHIM_BATCH_CHECK) set to N > 0,
torch.nn.Module.__call__ is wrapped.  An outermost module call (the
first on its thread's stack) whose tensor arguments lead with a batch
dimension B >= 2 is checked: forward hooks on every submodule keep the
sampled rows of each submodule's output during the program's own call;
after it returns, each of N sampled rows (0, B-1 and rows evenly between)
runs again alone, under torch.no_grad(), every tensor argument whose
first dimension is B sliced to that row, and each submodule's output is
compared bit for bit with its row of the batched output.  One event per
(submodule, row), "equal" or "differ", and one "checked" summary per
call, all with src "torch" and call "batch_check".

The program behaves as without the check, apart from time: the rerun
gets copies of the arguments, the CPU and CUDA random states and the
modules' buffers are put back after it, the hooks return nothing and see
only the checking thread, and nothing raises into the program (an error
is logged and ends the checking).  Calls that cannot be rerun safely
are logged "skipped" with the reason: an argument of another type than
tensors, numbers, strings, None and tuples, lists and dicts of those (a
cache object the rerun would change), a module in training mode, a call
under torch.compile, TorchScript tracing or CUDA graph capture.  At most
MAX_CALLS qualifying calls are looked at; then the wrapper is removed.
With batch_check 0 (the default) nothing is wrapped.
"""

import threading

MAX_CALLS = 4   # qualifying calls checked (or skipped) per process
_DEPTH = 4      # how deep a module's output is searched for a tensor

torch = None          # the module, set by install()
_rows_wanted = 0      # N
_real_call = None     # torch.nn.Module.__call__ as it was
_tls = threading.local()
_lock = threading.Lock()
_calls = 0            # qualifying calls so far


def _event(action, detail, fields=None):
    from _detshim import _native
    _native.event("torch", "batch_check", action, detail, fields)


def install(mod):
    """Wrap torch.nn.Module.__call__ if batch_check asks for rows
    (called when torch is first imported)."""
    global torch, _rows_wanted, _real_call
    from _detshim import _native
    # The shim's row as a config file would hold it: decimal
    # (ds_config_text in shim/config.c), or None without the shim.
    try:
        n = int(_native.setting("batch_check") or "0", 10)
    except ValueError:
        n = 0
    if n <= 0 or _real_call is not None:
        return
    torch = mod
    _rows_wanted = n
    _real_call = mod.nn.Module.__call__
    mod.nn.Module.__call__ = _call


def _uninstall():
    if torch is not None and torch.nn.Module.__call__ is _call:
        torch.nn.Module.__call__ = _real_call


def _call(self, *args, **kwargs):
    t = _tls
    if getattr(t, "depth", 0):
        return _real_call(self, *args, **kwargs)
    t.depth = 1
    try:
        check = _plan(self, args, kwargs)
        if check is None:
            return _real_call(self, *args, **kwargs)
        return check.run(args, kwargs)
    finally:
        t.depth = 0


# ----------------------------------------------------------------------
# which calls


def _tensors(x, depth=0):
    """The tensors in x (tuples, lists, dicts), in order."""
    if isinstance(x, torch.Tensor):
        yield x
    elif depth < _DEPTH and type(x) in (tuple, list):
        for v in x:
            yield from _tensors(v, depth + 1)
    elif depth < _DEPTH and type(x) is dict:
        for v in x.values():
            yield from _tensors(v, depth + 1)


def _batch(args, kwargs):
    for t in _tensors((args, kwargs)):
        if t.dim() >= 1:
            return t.shape[0]
    return None


_LEAVES = (type(None), bool, int, float, str)


def _unsafe_value(x, depth=0):
    """None if x can be copied for the rerun, else what it is."""
    if isinstance(x, torch.Tensor):
        return None if type(x) in (torch.Tensor, torch.nn.Parameter) \
            else type(x).__name__
    if type(x) in _LEAVES or isinstance(x, (torch.dtype, torch.device,
                                            torch.Size)):
        return None
    if depth < _DEPTH and type(x) in (tuple, list):
        for v in x:
            why = _unsafe_value(v, depth + 1)
            if why:
                return why
        return None
    if depth < _DEPTH and type(x) is dict:
        for v in x.values():
            why = _unsafe_value(v, depth + 1)
            if why:
                return why
        return None
    return type(x).__name__


def _compiling():
    comp = getattr(torch, "compiler", None)
    if comp is not None and hasattr(comp, "is_compiling"):
        return comp.is_compiling()
    dyn = getattr(torch, "_dynamo", None)
    if dyn is not None and hasattr(dyn, "is_compiling"):
        return dyn.is_compiling()
    return False


def _capturing():
    cuda = torch.cuda
    return cuda.is_available() and cuda.is_initialized() and \
        cuda.is_current_stream_capturing()


def _why_not(root, args, kwargs):
    """Why the call cannot be rerun safely, or None."""
    if _compiling():
        return "under torch.compile"
    if torch.jit.is_tracing() or torch.jit.is_scripting():
        return "under TorchScript"
    if isinstance(root, torch.jit.ScriptModule):
        return "a TorchScript module"
    if _capturing():
        return "during CUDA graph capture"
    for i, a in enumerate(args):
        why = _unsafe_value(a)
        if why:
            return "argument %d is a %s" % (i, why)
    for k, a in kwargs.items():
        why = _unsafe_value(a)
        if why:
            return "argument %s is a %s" % (k, why)
    for name, m in root.named_modules():
        if m.training:
            return "%s is in training mode" % (name or type(root).__name__)
    return None


def _plan(root, args, kwargs):
    """A _Check for this call, or None to run it as it is."""
    global _calls
    try:
        b = _batch(args, kwargs)
        if b is None or b < 2:
            return None
        with _lock:
            if _calls >= MAX_CALLS:
                return None
            _calls += 1
            if _calls == MAX_CALLS:
                _uninstall()
        name = type(root).__name__
        why = _why_not(root, args, kwargs)
        if why:
            _event("skipped", "batch of %d not checked: %s" % (b, why),
                   {"module": name, "batch": b})
            return None
        return _Check(root, name, b, _rows(b, _rows_wanted))
    except Exception as e:  # never the program's problem
        _fail(e)
        return None


def _fail(e):
    global _calls
    _calls = MAX_CALLS
    _uninstall()
    _event("error", "%s: %s (batch checks stopped)" % (type(e).__name__, e))


def _rows(b, n):
    """n rows of 0..b-1: 0, b-1 and evenly spaced between."""
    if n >= b:
        return list(range(b))
    if n == 1:
        return [0]
    return sorted({(k * (b - 1) + (n - 1) // 2) // (n - 1)
                   for k in range(n)})


# ----------------------------------------------------------------------
# one check


def _first_tensor(out, depth=0):
    """The tensor a module's output is compared by: the output itself;
    the first tensor of a tuple, list or ModelOutput; of a dict, the
    first in sorted key order."""
    if isinstance(out, torch.Tensor):
        return out
    if depth >= _DEPTH:
        return None
    if isinstance(out, dict):
        vals = list(out.values()) if hasattr(out, "to_tuple") else \
            [out[k] for k in sorted(out, key=str)]
    elif isinstance(out, (tuple, list)):
        vals = out
    else:
        return None
    for v in vals:
        t = _first_tensor(v, depth + 1)
        if t is not None:
            return t
    return None


def _copy_args(x, row, b, depth=0):
    """x with every tensor copied, those of first dimension b sliced to
    [row:row+1]."""
    if isinstance(x, torch.Tensor):
        if x.dim() >= 1 and x.shape[0] == b:
            x = x[row:row + 1]
        return x.detach().clone()
    if depth < _DEPTH and type(x) in (tuple, list):
        return type(x)(_copy_args(v, row, b, depth + 1) for v in x)
    if depth < _DEPTH and type(x) is dict:
        return {k: _copy_args(v, row, b, depth + 1) for k, v in x.items()}
    return x


_INT = {1: "uint8", 2: "int16", 4: "int32", 8: "int64"}


def _bits(t):
    if t.is_complex():
        t = torch.view_as_real(t)
    if t.is_floating_point():
        return t.contiguous().view(getattr(torch, _INT[t.element_size()]))
    return t


def _differ(a, b):
    """None if a and b are the same bits, else (first index, max |a-b|)."""
    ba, bb = _bits(a), _bits(b)
    if torch.equal(ba, bb):
        return None
    first = int((ba != bb).reshape(-1).nonzero()[0])
    if a.is_complex() or a.is_floating_point():
        d = (a.double() - b.double()).abs().max()
    else:
        d = (a.long() - b.long()).abs().max()
    if a.is_complex():
        first //= 2  # the element, not its real or imaginary part
    return first, float(d)


class _Check:
    def __init__(self, root, name, b, rows):
        self.root = root
        self.name = name
        self.b = b
        self.rows = rows
        self.tid = threading.get_ident()
        self.order = []      # names in the order their calls returned
        self.batched = {}    # name -> [rows of each call's output, or None]
        self.lone = None     # name -> [each call's output] of one rerun
        self.idx = {}        # device -> the rows as an index tensor
        self.error = None    # an exception in a hook, raised later

    def _hook(self, name):
        def hook(mod, inp, out):
            if threading.get_ident() == self.tid:
                try:
                    self._keep(name, out)
                except Exception as e:  # raised after the call
                    self.error = e
            return None
        return hook

    def _keep(self, name, out):
        try:
            val = self._value(out)
        except Exception:  # a tensor that cannot be copied or indexed
            val = None
        if self.lone is not None:
            self.lone.setdefault(name, []).append(val)
            return
        if name not in self.batched:
            self.order.append(name)
        self.batched.setdefault(name, []).append(val)

    def _value(self, out):
        """What is kept of a module's output: alone, a copy of its
        tensor; in the batch, the sampled rows (None: not batched)."""
        t = _first_tensor(out)
        if t is None:
            return None
        with torch.no_grad():
            if self.lone is not None:
                return t.detach().clone()
            if t.dim() == 0 or t.shape[0] != self.b:
                return None
            idx = self.idx.get(t.device)
            if idx is None:
                idx = torch.tensor(self.rows, device=t.device)
                self.idx[t.device] = idx
            return t.detach().index_select(0, idx)

    def run(self, args, kwargs):
        handles = []
        try:
            for qn, m in self.root.named_modules():
                qn = "%s.%s" % (self.name, qn) if qn else self.name
                handles.append(m.register_forward_hook(self._hook(qn)))
        except Exception as e:
            for h in handles:
                h.remove()
            _fail(e)
            return _real_call(self.root, *args, **kwargs)
        try:
            result = _real_call(self.root, *args, **kwargs)
        except BaseException:
            for h in handles:
                h.remove()
            raise
        try:
            self._rerun(args, kwargs)
        except Exception as e:
            _fail(e)
        finally:
            for h in handles:
                h.remove()
        return result

    def _rerun(self, args, kwargs):
        if self.error is not None:
            raise self.error
        cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
        cpu_rng = torch.get_rng_state()
        cuda_rng = torch.cuda.get_rng_state_all() if cuda else None
        bufs = [(b, _version(b), b.detach().clone())
                for b in self.root.buffers()]
        found = {}  # name -> {row: None (equal) or (call, first, max)}
        try:
            with torch.no_grad():
                for j, row in enumerate(self.rows):
                    self.lone = {}
                    _real_call(self.root, *_copy_args(args, row, self.b),
                               **_copy_args(kwargs, row, self.b))
                    if self.error is not None:
                        raise self.error
                    self._compare(j, row, found)
        finally:
            self.lone = None
            torch.set_rng_state(cpu_rng)
            if cuda_rng is not None:
                torch.cuda.set_rng_state_all(cuda_rng)
            with torch.no_grad():
                for b, v, saved in bufs:
                    if _version(b) != v:
                        b.copy_(saved)
        self._report(found)

    def _compare(self, j, row, found):
        """Row j of each module's batched output against this rerun's."""
        for name in self.order:
            calls = self.batched[name]
            got = self.lone.get(name, [])
            if len(got) != len(calls):
                continue  # called another number of times alone
            res, compared = None, 0
            for k, (bt, lt) in enumerate(zip(calls, got)):
                if bt is None or lt is None or lt.dim() == 0 or \
                        lt.shape[0] != 1 or lt.shape[1:] != bt.shape[1:] \
                        or lt.dtype != bt.dtype:
                    continue
                try:
                    res = _differ(bt[j:j + 1], lt)
                except Exception:  # a layout torch cannot compare
                    continue
                compared += 1
                if res is not None:
                    res = (k,) + res
                    break
            if compared:
                found.setdefault(name, {})[row] = res

    def _report(self, found):
        b = self.b
        differ, equal = [], []
        for name in self.order:
            ncalls = len(self.batched[name])
            for row, res in found.get(name, {}).items():
                fields = {"module": name, "row": row, "batch": b}
                if res is None:
                    equal.append(("row %d of %d: bitwise equal" % (row, b),
                                  fields))
                    continue
                k, first, mx = res
                fields["first_diff"] = str(first)
                fields["max_abs"] = "%.6g" % mx
                differ.append((
                    "row %d of %d%s: first difference at element %d, max "
                    "|difference| %s" % (row, b, "" if ncalls == 1 else
                                         " (call %d of %d)" % (k + 1,
                                                               ncalls),
                                         first, fields["max_abs"]),
                    fields))
        skipped = len(self.order) - len(found)
        nd = len({f["module"] for _, f in differ})
        ne = len(found) - nd
        _event("checked",
               "%s, rows %s of %d: %d module%s equal, %d differ%s, %d "
               "skipped (output not batched)" % (
                   self.name, ",".join(map(str, self.rows)), b, ne,
                   "" if ne == 1 else "s", nd,
                   " (first: %s)" % differ[0][1]["module"] if differ else "",
                   skipped),
               {"module": self.name, "batch": b, "rows": len(self.rows),
                "equal": ne, "differ": nd, "skipped": skipped})
        for detail, fields in differ + equal:
            _event("differ" if "first_diff" in fields else "equal", detail,
                   fields)


def _version(t):
    """t's in-place version counter (None where it keeps none)."""
    try:
        return t._version
    except (RuntimeError, AttributeError):
        return None
