"""The bridge to the preloaded shim, through ctypes.

Loaded at first use, never at start-up: importing ctypes costs a few
milliseconds that a program which never needs the bridge does not pay.
Without the shim in the process every call answers as "not done".
"""

_lib = None


def _load():
    global _lib
    if _lib is None:
        import ctypes
        lib = False
        try:
            so = ctypes.CDLL(None)  # the global scope, the preload included
            ev = so.detshim_py_event
            ev.argtypes = [ctypes.c_char_p] * 5
            ev.restype = ctypes.c_int
            try:
                sd = so.detshim_py_seed
            except AttributeError:
                sd = None
            else:
                sd.argtypes = [ctypes.c_char_p, ctypes.c_char_p,
                               ctypes.c_char_p, ctypes.c_size_t,
                               ctypes.c_int, ctypes.c_ulonglong,
                               ctypes.POINTER(ctypes.c_ulonglong)]
                sd.restype = ctypes.c_int
            try:
                st = so.detshim_py_setting
            except AttributeError:
                st = None
            else:
                st.argtypes = [ctypes.c_char_p, ctypes.c_char_p,
                               ctypes.c_size_t]
                st.restype = ctypes.c_int
            lib = (ctypes, ev, sd, st)
        except (OSError, AttributeError):
            pass
        _lib = lib
    return _lib


def _b(s):
    if s is None:
        return None
    return s.encode("utf-8", "backslashreplace") if isinstance(s, str) else s


def event(src, call, action, detail, fields=None):
    """Log one line through the shim's log: {"src":src,"call":call,
    "action":action,<fields>,"detail":detail}.  fields is a dict of
    JSON-encodable values or None.  Returns True if the shim took it."""
    lib = _load()
    if not lib:
        return False
    frag = None
    if fields:
        import json
        frag = ",".join("%s:%s" % (json.dumps(str(k)), json.dumps(v))
                        for k, v in fields.items())
    return lib[1](_b(src), _b(call), _b(action), _b(frag),
                  _b(detail)) == 0


def seed(api, value):
    """Ask the shim which seed `api` (e.g. "random.seed") gets for the
    program's `value`.  Returns None to keep the program's seed, or the
    64-bit integer to use instead.  The shim sees the value's repr, its
    bytes (str: UTF-8; bytes-like: as they are; int: the magnitude, little
    endian) and, for an int, its value modulo 2**64."""
    lib = _load()
    if not lib or lib[2] is None:
        return None
    ctypes = lib[0]
    numeric = 0
    has_numeric = 0
    if not isinstance(value, int):
        if isinstance(value, str):
            data = value.encode("utf-8", "surrogatepass")
        elif isinstance(value, (bytes, bytearray)):
            data = bytes(value)
        else:
            data = b""
    else:
        has_numeric = 1
        numeric = value % (1 << 64)
        mag = abs(value)
        data = mag.to_bytes(max(1, (mag.bit_length() + 7) // 8), "little")
    used = ctypes.c_ulonglong(0)
    r = lib[2](_b(api), _b(repr(value)), data, len(data), has_numeric,
               numeric, ctypes.byref(used))
    return used.value if r == 1 else None


def setting(key):
    """The shim's value of config row `key` ("profile", "policy", ...) as
    the text a config file would hold, or None: an unknown key, no shim,
    or a shim without the export."""
    lib = _load()
    if not lib or lib[3] is None:
        return None
    cap = 256
    for _ in range(2):  # a longer value: once more with room for it
        buf = lib[0].create_string_buffer(cap)
        n = lib[3](_b(key), buf, cap)
        if n < 0:
            return None
        if n < cap:
            return buf.raw[:n].decode("utf-8", "replace")
        cap = n + 1
    return None
