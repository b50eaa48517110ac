#!/bin/sh
# it_python.sh - the Python start-up module (python/, shim/python.c) and
# PyTorch's replacements on the CPU (no GPU needed).
#
#   sh tests/it_python.sh BUILD_DIR
#
# Checks that the module is invisible to the program: PYTHONPATH (unset,
# empty, set) and sys.path are what they are without the shim, the user's
# own sitecustomize still runs (and its errors read the same), children
# see the program's environment; that it is absent under
# DETSHIM_POLICY=off, DETSHIM_PYTHON_STARTUP=0 and python -E/-I/-S, and
# from non-Python programs; that on_import runs its callbacks and that
# detshim_py_event reaches the log.  With torch installed (Debian's
# python3-torch), tests/python/check_torch_ops.py, check_torch_prod.py and
# check_torch_grid.py compare the replacements with PyTorch's own CPU
# kernels, and tests/python/check_batch_invariant*.py the batch-invariant
# profile's reductions and switches (the preloaded shim's own answer where
# it has the profile row, else one SKIP line); without torch, one SKIP
# line.
# Prints "python: N passed, M failed" last.
B=${1:-build}
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
SO=$B/libdetshim.so
TOP=$(pwd)
W=$(mktemp -d "${TMPDIR:-/tmp}/it_python.XXXXXX")
trap 'rm -rf "$W"' EXIT
unset DETSHIM_SEED DETSHIM_CONFIG DETSHIM_LOG DETSHIM_POLICY DETSHIM_LINEAGE \
	DETSHIM_PYTHON_STARTUP LD_PRELOAD PYTHONPATH PYTHONSTARTUP PYTHONHOME \
	PYTHONNOUSERSITE
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; sed 's/^/     | /' "$W/out" "$W/err" 2>/dev/null | head -12; }
if [ "${SANITIZE:-}" = asan ]; then
	echo "skip it_python.sh under SANITIZE=asan (ASan shim in an uninstrumented python)"
	echo "python: 0 passed, 0 failed"
	exit 0
fi
# Debian's interpreter (the one python3-torch is for), else any python3.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
if [ -z "$PY" ]; then
	echo "SKIP it_python.sh: no python3"
	echo "python: 0 passed, 0 failed"
	exit 0
fi
[ -f "$SO" ] && [ -f "$B/python/sitecustomize.py" ] || {
	echo "it_python: $SO or $B/python missing (make all)"
	echo "python: 0 passed, 1 failed"; exit 1; }

# What a program sees of its start: PYTHONPATH, sys.path, the
# sitecustomize module, and whether detshim's package is loaded.
SEE='import os, sys
m = sys.modules.get("sitecustomize")
print(repr(os.environ.get("PYTHONPATH")), sys.path,
      getattr(m, "__file__", None), os.environ.get("USC"))'
# same NAME ENV...: the program's view with and without the shim agree
same() {
	name=$1
	shift
	env "$@" "$PY" -c "$SEE" >"$W/plain" 2>"$W/plain.err"
	env "$@" LD_PRELOAD="$SO" DETSHIM_LOG="$W/log" "$PY" -c "$SEE" \
		>"$W/out" 2>"$W/err"
	if cmp -s "$W/plain" "$W/out" && cmp -s "$W/plain.err" "$W/err"; then
		ok "$name"
	else
		{ echo "without the shim:"; cat "$W/plain" "$W/plain.err"; } >>"$W/out"
		bad "$name"
	fi
}
# loaded NAME yes|no ENV... [-- PYARGS]: is _detshim in the program?
loaded() {
	name=$1 want=$2
	shift 2
	env "$@" LD_PRELOAD="$SO" "$PY" -c \
		'import sys; print("yes" if "_detshim" in sys.modules else "no")' \
		>"$W/out" 2>"$W/err"
	if [ "$(cat "$W/out")" = "$want" ]; then ok "$name"; else bad "$name"; fi
}

mkdir -p "$W/usc" "$W/bad"
printf 'import os\nos.environ["USC"] = "ran"\n' >"$W/usc/sitecustomize.py"
printf 'raise ValueError("user error")\n' >"$W/bad/sitecustomize.py"
# Debian's python3 has a sitecustomize of its own; another python3 on the
# PATH (none in CI) usually has none: both cases.
PYS=$PY
OTHER=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
[ -n "$OTHER" ] && [ "$OTHER" != "$PY" ] && PYS="$PY $OTHER"
for P in $PYS; do
	v=$("$P" -c 'import sys; print("%s, %s" % (sys.executable, "sitecustomize" in sys.modules and "own sitecustomize" or "no sitecustomize"))')
	PY=$P
	same "$v: PYTHONPATH unset: unset, sys.path as without the shim"
	same "$v: PYTHONPATH empty: empty, no working directory added" PYTHONPATH=
	same "$v: PYTHONPATH set: kept, sys.path as without the shim" PYTHONPATH="$W/a:$W/b"
	same "$v: the user's own sitecustomize runs and is the one in sys.modules" \
		PYTHONPATH="$W/usc"
	same "$v: an error in the user's sitecustomize reads as without the shim" \
		PYTHONPATH="$W/bad"
done
PY=${PYS%% *}
# Other people's code: site's own report, and a venv's interpreter.
"$PY" -m site >"$W/plain" 2>&1
env LD_PRELOAD="$SO" "$PY" -m site >"$W/out" 2>&1
if cmp -s "$W/plain" "$W/out"; then ok "python3 -m site reports the same"
else cat "$W/plain" >>"$W/out"; bad "python3 -m site reports the same"; fi
if "$PY" -m venv --without-pip "$W/venv" >/dev/null 2>&1; then
	VSEE='import os, sys; print(sys.path, sys.prefix, os.environ.get("PYTHONPATH"))'
	"$W/venv/bin/python" -c "$VSEE" >"$W/plain" 2>&1
	env LD_PRELOAD="$SO" "$W/venv/bin/python" -c "$VSEE; import _detshim" >"$W/out" 2>&1
	if cmp -s "$W/plain" "$W/out"; then ok "a venv's python: same sys.path and prefix, module loaded"
	else cat "$W/plain" >>"$W/out"; bad "a venv's python: same sys.path and prefix, module loaded"; fi
else
	echo "SKIP venv check: $PY -m venv failed (apt-get install python3-venv)"
fi
loaded "the module is loaded in a Python process" yes
loaded "not under DETSHIM_POLICY=off" no DETSHIM_POLICY=off
loaded "not with DETSHIM_PYTHON_STARTUP=0" no DETSHIM_PYTHON_STARTUP=0
for o in -E -I -S; do
	env LD_PRELOAD="$SO" PYTHONPATH=/x "$PY" $o -c \
		'import os, sys; print(os.environ.get("PYTHONPATH"), "_detshim" in sys.modules)' \
		>"$W/out" 2>"$W/err"
	if [ "$(cat "$W/out")" = "/x False" ]; then
		ok "python $o (path or site ignored): PYTHONPATH left as it was"
	else
		bad "python $o (path or site ignored): PYTHONPATH left as it was"
	fi
done
env LD_PRELOAD="$SO" sh -c 'echo "${PYTHONPATH-unset}"' >"$W/out" 2>"$W/err"
if [ "$(cat "$W/out")" = unset ]; then ok "a non-Python program sees no PYTHONPATH"
else bad "a non-Python program sees no PYTHONPATH"; fi
env LD_PRELOAD="$SO" PYTHONPATH="$W/a" "$PY" -c '
import subprocess, sys
subprocess.run(["sh", "-c", "echo $PYTHONPATH"])
subprocess.run([sys.executable, "-c",
  "import os, sys; print(os.environ[\"PYTHONPATH\"], \"_detshim\" in sys.modules)"])' \
	>"$W/out" 2>"$W/err"
if [ "$(cat "$W/out")" = "$(printf '%s\n%s True' "$W/a" "$W/a")" ]; then
	ok "children see the program's PYTHONPATH; a Python child gets the module"
else
	bad "children see the program's PYTHONPATH; a Python child gets the module"
fi

# The seed module, where python/_detshim/seeds.py exists: its install()
# runs; an error inside it is reported (by site.py), not taken for a
# missing file.  A copy of the shim beside a copy of python/ with one.
mkdir -p "$W/alt"
cp "$SO" "$W/alt/libdetshim.so"
cp -r "$B/python" "$W/alt/python"
printf 'import os\ndef install():\n    os.environ["SEEDS_INSTALLED"] = "yes"\n' \
	>"$W/alt/python/_detshim/seeds.py"
env LD_PRELOAD="$W/alt/libdetshim.so" "$PY" -c 'import os; print(os.environ.get("SEEDS_INSTALLED"))' \
	>"$W/out" 2>"$W/err"
printf 'import no_such_module_for_seeds\n' >"$W/alt/python/_detshim/seeds.py"
env LD_PRELOAD="$W/alt/libdetshim.so" "$PY" -c 'print("ran")' >>"$W/out" 2>>"$W/err"
if [ "$(cat "$W/out")" = "yes
ran" ] && grep -q "no_such_module_for_seeds" "$W/err"; then
	ok "seeds.py: install() runs; an import error inside it is reported, the program runs"
else
	bad "seeds.py: install() runs; an import error inside it is reported, the program runs"
fi
if [ -e "$TOP/python/_detshim/seeds.py" ]; then :; else
	env LD_PRELOAD="$SO" "$PY" -c 'import sys; print("_detshim.seeds" in sys.modules)' >"$W/out" 2>"$W/err"
	if [ "$(cat "$W/out")" = False ] && [ ! -s "$W/err" ]; then
		ok "no seeds.py in this tree: nothing tried, nothing reported"
	else
		bad "no seeds.py in this tree: nothing tried, nothing reported"
	fi
fi

# on_import: at once for a module already there, after the first import
# otherwise, never for a module not imported; a callback's error is
# logged, never raised.
rm -f "$W/log"
env LD_PRELOAD="$SO" DETSHIM_LOG="$W/log" "$PY" -c '
import sys, _detshim
seen = []
_detshim.on_import("json", lambda m: seen.append(("json", m.__name__)))
_detshim.on_import("sys", lambda m: seen.append(("sys", m is sys)))
_detshim.on_import("no_such_module_xyz", lambda m: seen.append("never"))
def boom(m): raise RuntimeError("cb failed")
_detshim.on_import("csv", boom)
print(seen)
import json, csv
print(seen, "exec_module" in vars(json.__loader__))
' >"$W/out" 2>"$W/err"
if [ "$(cat "$W/out")" = "[('sys', True)]
[('sys', True), ('json', 'json')] False" ] &&
	[ ! -s "$W/err" ] &&
	grep -q '"src":"framework","call":"csv","action":"error".*cb failed' "$W/log"; then
	ok "on_import: now, after the import, never; errors logged, loader as it was"
else
	bad "on_import: now, after the import, never; errors logged, loader as it was"
fi
rm -f "$W/log"
env LD_PRELOAD="$SO" DETSHIM_LOG="$W/log" "$PY" -c '
from _detshim import _native
print(_native.event("torch", "op.x", "unfixed", "detail \"q\"", {"n": 2}),
      _native.event("no_such_source", "x", "y", ""))' >"$W/out" 2>"$W/err"
if [ "$(cat "$W/out")" = "True False" ] &&
	grep -q '"src":"torch","call":"op.x","action":"unfixed","n":2,"detail":"detail \\"q\\""' "$W/log"; then
	ok "detshim_py_event writes one structured line; an unknown source is refused"
else
	cat "$W/log" >>"$W/out" 2>/dev/null
	bad "detshim_py_event writes one structured line; an unknown source is refused"
fi
"$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); from _detshim import _native; print(_native.event("torch", "x", "y", ""), _native.seed("random.seed", 1))' \
	"$B/python" >"$W/out" 2>"$W/err"
if [ "$(cat "$W/out")" = "False None" ]; then ok "without the shim the bridge answers 'not done'"
else bad "without the shim the bridge answers 'not done'"; fi

# PyTorch: the replacements against the native CPU kernels.
if "$PY" -c 'import torch' >/dev/null 2>&1; then
	if env PYTHONPATH="$B/python" "$PY" "$TOP/tests/python/check_torch_ops.py" \
		>"$W/out" 2>"$W/err"; then
		ok "torch replacements match the native CPU ops ($(tail -1 "$W/out"))"
	else
		bad "torch replacements match the native CPU ops"
	fi
	env LD_PRELOAD="$SO" "$PY" -c '
import sys, torch
print("_detshim.torch_ops" in sys.modules, torch.are_deterministic_algorithms_enabled())' \
		>"$W/out" 2>"$W/err"
	if [ "$(cat "$W/out")" = "True True" ] && [ ! -s "$W/err" ]; then
		ok "import torch loads the replacements, silently"
	else
		bad "import torch loads the replacements, silently"
	fi
	# An op PyTorch refuses in deterministic mode (torch 1.13 refuses
	# put_ without accumulate on the CPU too, and has no replacement for
	# it there): runs under enforce and warn, logged once as unfixed,
	# silent; a program that asked for deterministic mode itself still
	# gets PyTorch's error.
	PUT='import torch
for i in range(3):
    x = torch.zeros(4).put_(torch.tensor([1]), torch.tensor([2.0]))
print(x.tolist())'
	for pol in enforce warn; do
		rm -f "$W/log"
		env LD_PRELOAD="$SO" DETSHIM_LOG="$W/log" DETSHIM_POLICY=$pol "$PY" -c "$PUT" \
			>"$W/out" 2>"$W/err"
		if [ "$(cat "$W/out")" = "[0.0, 2.0, 0.0, 0.0]" ] && [ ! -s "$W/err" ] &&
			[ "$(grep -c '"src":"torch","call":"put_","action":"unfixed"' "$W/log")" = 1 ]; then
			ok "$pol: a refused op runs natively, logged once as unfixed, nothing on stderr"
		else
			cat "$W/log" >>"$W/out" 2>/dev/null
			bad "$pol: a refused op runs natively, logged once as unfixed, nothing on stderr"
		fi
	done
	env LD_PRELOAD="$SO" "$PY" -c 'import torch
torch.use_deterministic_algorithms(True)
try:
    torch.zeros(4).put_(torch.tensor([1]), torch.tensor([2.0]))
    print("ran")
except RuntimeError as e:
    print("raised" if "deterministic" in str(e) else e)' >"$W/out" 2>"$W/err"
	if [ "$(cat "$W/out")" = raised ]; then
		ok "the program's own use_deterministic_algorithms(True) keeps PyTorch's error"
	else
		bad "the program's own use_deterministic_algorithms(True) keeps PyTorch's error"
	fi
	env "$PY" -c "$PUT" >"$W/out" 2>"$W/err"
	[ "$(cat "$W/out")" = "[0.0, 2.0, 0.0, 0.0]" ] && ok "(without the shim the op runs: the test can fail)" ||
		bad "(without the shim the op runs: the test can fail)"
	# The batch-invariant profile (python/_detshim/batch_invariant.py): its
	# reductions against the CPU kernels and the property itself (a row's
	# bits whatever the batch); install() under each answer the shim can
	# give, stood in for; then the preloaded shim's own answer.
	if env PYTHONPATH="$B/python" "$PY" "$TOP/tests/python/check_batch_invariant.py" \
		>"$W/out" 2>"$W/err" && [ ! -s "$W/err" ]; then
		ok "batch-invariant reductions: close to the CPU kernels, a row's bits the same in batches of 1-33 ($(tail -1 "$W/out"))"
	else
		bad "batch-invariant reductions: close to the CPU kernels, a row's bits the same in batches of 1-33"
	fi
	for a in "batch-invariant enforce" "batch-invariant enforce native_layer_norm" \
		"batch-invariant warn" "default enforce" "none none"; do
		if env PYTHONPATH="$B/python" "$PY" \
			"$TOP/tests/python/check_batch_invariant_switches.py" $a \
			>"$W/out" 2>"$W/err" && [ ! -s "$W/err" ]; then
			ok "batch-invariant install() with profile, policy, added ops $a: $(cat "$W/out")"
		else
			bad "batch-invariant install() with profile, policy, added ops $a"
		fi
	done
	# The cost script the GPU run uses, in its tiny CPU form: it runs.
	if env DEVICE=cpu PYTHONPATH="$B/python" "$PY" \
		"$TOP/tests/gpu/batch_invariant/ops_cost.py" >"$W/out" 2>"$W/err" &&
		grep -q '^| log_softmax | float32 | 64 | ' "$W/out" &&
		grep -q '^| log_softmax | float32 | [-0-9]* | [-0-9]* |$' "$W/out" &&
		[ ! -s "$W/err" ]; then
		ok "tests/gpu/batch_invariant/ops_cost.py runs (DEVICE=cpu)"
	else
		bad "tests/gpu/batch_invariant/ops_cost.py runs (DEVICE=cpu)"
	fi
	BI='import torch
from _detshim import batch_invariant as b
print(torch.backends.cuda.flash_sdp_enabled(), torch.backends.cudnn.allow_tf32,
      b.REGISTERED == list(b.REDUCTIONS), len(b.REGISTERED))'
	prof=$(env LD_PRELOAD="$SO" DETSHIM_PROFILE=batch-invariant "$PY" -c \
		'from _detshim import _native; print(_native.setting("profile"))' 2>/dev/null)
	if [ "$prof" = batch-invariant ]; then
		rm -f "$W/log"
		env LD_PRELOAD="$SO" DETSHIM_PROFILE=batch-invariant DETSHIM_LOG="$W/log" \
			"$PY" -c "$BI" >"$W/out" 2>"$W/err"
		if [ "$(cat "$W/out")" = "False False True 8" ] &&
			[ ! -s "$W/err" ] &&
			[ "$(grep -c '"src":"torch","call":"cudnn.allow_tf32","action":"pinned"' "$W/log")" = 1 ] &&
			grep -q '"src":"torch","call":"batch_invariant","action":"replaced"' "$W/log"; then
			ok "DETSHIM_PROFILE=batch-invariant: switches pinned, reductions registered, logged, silent"
		else
			cat "$W/log" >>"$W/out" 2>/dev/null
			bad "DETSHIM_PROFILE=batch-invariant: switches pinned, reductions registered, logged, silent"
		fi
		rm -f "$W/log"
		env LD_PRELOAD="$SO" DETSHIM_PROFILE=batch-invariant DETSHIM_POLICY=warn \
			DETSHIM_LOG="$W/log" "$PY" -c "$BI" >"$W/out" 2>"$W/err"
		if [ "$(cat "$W/out")" = "True True False 0" ] && [ ! -s "$W/err" ] &&
			grep -q '"call":"cudnn.allow_tf32","action":"would-pin"' "$W/log" &&
			grep -q '"call":"batch_invariant","action":"would-replace"' "$W/log"; then
			ok "the profile under policy warn: nothing changed, logged as would-pin/would-replace"
		else
			cat "$W/log" >>"$W/out" 2>/dev/null
			bad "the profile under policy warn: nothing changed, logged as would-pin/would-replace"
		fi
		rm -f "$W/log"
		env LD_PRELOAD="$SO" DETSHIM_LOG="$W/log" "$PY" -c "$BI" >"$W/out" 2>"$W/err"
		if [ "$(cat "$W/out")" = "True True False 0" ] && [ ! -s "$W/err" ] &&
			! grep -q '"call":"batch_invariant"' "$W/log"; then
			ok "the default profile leaves PyTorch's switches and reductions alone"
		else
			bad "the default profile leaves PyTorch's switches and reductions alone"
		fi
	else
		echo "SKIP the batch-invariant profile under the preloaded shim: it reports profile '$prof' (needs the shim's profile row and detshim_py_setting)"
	fi
	# The batch checker (python/_detshim/batch_check.py) on the models of
	# tests/python/batch_models.py: bc WHAT N runs one with
	# DETSHIM_BATCH_CHECK=N (stdout in $W/bc.WHAT.N, log in $W/bc.log).
	BM=$TOP/tests/python/batch_models.py
	bc() {
		rm -f "$W/bc.log"
		env LD_PRELOAD="$SO" DETSHIM_LOG="$W/bc.log" DETSHIM_LOG_FIRST_N=1000 \
			DETSHIM_BATCH_CHECK=$2 "$PY" "$BM" "$1" >"$W/bc.$1.$2" 2>"$W/err"
		cp "$W/bc.$1.$2" "$W/out"
		grep '"call":"batch_check"' "$W/bc.log" >"$W/bc.ev" 2>/dev/null
		cat "$W/bc.ev" >>"$W/out"
	}
	nev() { grep -c -- "$1" "$W/bc.ev"; }
	bc variant 0
	if [ ! -s "$W/bc.ev" ] && [ ! -s "$W/err" ]; then
		ok "batch check: off by default (DETSHIM_BATCH_CHECK=0 logs nothing)"
	else
		bad "batch check: off by default (DETSHIM_BATCH_CHECK=0 logs nothing)"
	fi
	bc variant 3
	# Two calls checked (no_grad, and grad on in eval mode), rows 0, 4, 7.
	if [ "$(nev '"action":"checked","module":"Net","batch":8,"rows":3,"equal":1,"differ":4,"skipped":1')" = 2 ] &&
		[ "$(nev '"action":"differ","module":"Net.mid","row":[047],"batch":8,"first_diff":"0"')" = 6 ] &&
		[ "$(nev '"action":"equal","module":"Net.pre","row":[047],"batch":8')" = 6 ] &&
		[ "$(nev '"action":"equal","module":"Net\(\.mid\|\.pair\|\.post\|\)"')" = 0 ] &&
		[ "$(nev '"module":"Net.stats"')" = 0 ] &&
		[ "$(sed -n 2p "$W/bc.ev" | grep -c '"action":"differ","module":"Net.mid"')" = 1 ] &&
		[ ! -s "$W/err" ]; then
		ok "batch check: a layer that depends on the batch size differs, first in the log; the layer before it is equal"
	else
		bad "batch check: a layer that depends on the batch size differs, first in the log; the layer before it is equal"
	fi
	if cmp -s "$W/bc.variant.0" "$W/bc.variant.3"; then
		ok "batch check: the program's output, its next torch.rand and its buffers are those of a run without the check"
	else
		diff "$W/bc.variant.0" "$W/bc.variant.3" >"$W/out"
		bad "batch check: the program's output, its next torch.rand and its buffers are those of a run without the check"
	fi
	bc invariant 3
	if [ "$(nev '"action":"equal"')" = 30 ] && [ "$(nev '"action":"differ"')" = 0 ] &&
		[ "$(nev '"action":"checked".*"equal":5,"differ":0,"skipped":1')" = 2 ]; then
		ok "batch check: elementwise layers, a tuple output: every layer equal in every row; an output without the batch not compared"
	else
		bad "batch check: elementwise layers, a tuple output: every layer equal in every row; an output without the batch not compared"
	fi
	bc unsafe 0
	bc unsafe 2
	if [ "$(nev '"action":"skipped","module":"Cached","batch":8,"detail":"batch of 8 not checked: argument cache is a Cache"')" = 1 ] &&
		[ "$(nev '"action":"skipped".*Cached is in training mode')" = 1 ] &&
		[ "$(nev '"action":"\(equal\|differ\|error\)"')" = 0 ] &&
		cmp -s "$W/bc.unsafe.0" "$W/bc.unsafe.2" &&
		grep -q "^raised the program's own error hooks 0" "$W/bc.unsafe.2"; then
		ok "batch check: a cache argument, a module in training mode: skipped; the program's own exception unchanged"
	else
		bad "batch check: a cache argument, a module in training mode: skipped; the program's own exception unchanged"
	fi
	bc many 0
	bc many 3
	if [ "$(nev '"action":"checked"')" = 4 ] && cmp -s "$W/bc.many.0" "$W/bc.many.3" &&
		grep -q ' torch.nn.modules.module$' "$W/bc.many.3"; then
		ok "batch check: the first 4 batched calls only, then torch.nn.Module.__call__ is PyTorch's again"
	else
		bad "batch check: the first 4 batched calls only, then torch.nn.Module.__call__ is PyTorch's again"
	fi
	CALL='import torch; print(torch.nn.Module.__call__.__module__)'
	a=$(env LD_PRELOAD="$SO" "$PY" -c "$CALL" 2>&1)
	b=$(env LD_PRELOAD="$SO" DETSHIM_BATCH_CHECK=2 "$PY" -c "$CALL" 2>&1)
	if [ "$a" = torch.nn.modules.module ] && [ "$b" = _detshim.batch_check ]; then
		ok "batch check: torch.nn.Module.__call__ is wrapped only when asked"
	else
		echo "$a / $b" >"$W/out"
		bad "batch check: torch.nn.Module.__call__ is wrapped only when asked"
	fi
	env PYTHONPATH="$B/python" "$PY" -c 'from _detshim.batch_check import _rows
print(_rows(8, 3), _rows(8, 4), _rows(3, 5), _rows(8, 1), _rows(2, 2))' >"$W/out" 2>&1
	if [ "$(cat "$W/out")" = "[0, 4, 7] [0, 2, 5, 7] [0, 1, 2] [0] [0, 1]" ]; then
		ok "batch check: the rows sampled are 0, B-1 and evenly between"
	else
		bad "batch check: the rows sampled are 0, B-1 and evenly between"
	fi
	# scatter_reduce / index_reduce with reduce="prod": the segmented
	# product against the native CPU kernels, both of its paths.
	if env PYTHONPATH="$B/python" "$PY" "$TOP/tests/python/check_torch_prod.py" \
		>"$W/out" 2>"$W/err"; then
		ok "torch prod replacements match the native CPU ops ($(tail -1 "$W/out"))"
	else
		bad "torch prod replacements match the native CPU ops"
	fi
	# grid_sample backward (bilinear, nearest) against the native CPU
	# kernels, and registered for the CPU key under autograd.
	if env PYTHONPATH="$B/python" "$PY" "$TOP/tests/python/check_torch_grid.py" \
		>"$W/out" 2>"$W/err"; then
		ok "torch grid_sample backward matches the native CPU ops ($(tail -1 "$W/out"))"
	else
		bad "torch grid_sample backward matches the native CPU ops"
	fi
else
	echo "SKIP torch replacements: $PY has no torch (apt-get install python3-torch)"
fi
env LD_PRELOAD="$SO" "$PY" -c 'import sys, json; print("_detshim.torch_ops" in sys.modules, "torch" in sys.modules)' \
	>"$W/out" 2>"$W/err"
if [ "$(cat "$W/out")" = "False False" ]; then ok "a program that never imports torch loads nothing of it"
else bad "a program that never imports torch loads nothing of it"; fi

echo "python: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
