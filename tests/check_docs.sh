#!/bin/sh
# check_docs.sh [--update] BUILD [FILE...] - run the examples of the
# user docs and compare their output with the text beside them.
#
# An example is a fenced block whose info string starts with "console":
#
#   ```console
#   $ build/detrun --seed 42 -- python3 examples/train.py
#   run 9391e4be: loss 0.018997, ...
#   ```
#
# Each "$ " line is a command (a line ending in "\" continues it); the
# lines up to the next "$ " line are its expected output, stdout and
# stderr together, as a terminal shows them.  In expected output "..."
# matches any text within a line, and a line that is only "..." matches
# any number of lines.  Blocks marked "console needs=gpu,py:torch,cmd:X"
# run only where there is a GPU (nvidia-smi -L), the Python module, the
# command, the shared library (lib:NAME); otherwise they are counted as
# skipped.  Other fences (```sh) are not run.
#
# The commands of one file run in order in one scratch directory that
# holds build/, examples/, tests/ and conf/ (links to the tree), with
# BUILD on PATH (so `detrun` is build/detrun), python3 resolved to the
# interpreter itself (a pyenv or venv wrapper would add processes to the
# log), no DETSHIM_* variables and no LD_PRELOAD.
#
# --update rewrites, in place, every expected output that no longer
# matches with what the command printed: review the diff, then commit.
# Every path into the tree that a doc names (docs/..., tests/..., a
# Markdown link) must exist.
# Last line: "docs: N passed, M failed, K skipped (...)".
set -u
UPDATE=0
if [ "${1:-}" = --update ]; then UPDATE=1; shift; fi
BUILD=${1:-build}
[ $# -gt 0 ] && shift
TOP=$(pwd)
if [ ! -x "$BUILD/detrun" ]; then
	echo "check_docs: $BUILD/detrun is missing (run make first)" >&2
	exit 1
fi
PY=$(command -v python3 || true)
if [ -z "$PY" ]; then
	echo "check_docs: python3 is needed to run the doc examples (apt-get install python3)" >&2
	exit 1
fi
[ $# -gt 0 ] || set -- README.md docs/GUIDE.md docs/CI.md docs/TROUBLESHOOTING.md
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir "$WORK/bin"
ln -s "$("$PY" -c 'import sys; print(sys.executable)')" "$WORK/bin/python3"

TOP=$TOP BUILD=$BUILD WORK=$WORK UPDATE=$UPDATE "$PY" - "$@" <<'EOF'
import ctypes, os, re, shutil, subprocess, sys

top, build, work = os.environ["TOP"], os.environ["BUILD"], os.environ["WORK"]
update = os.environ["UPDATE"] == "1"
env = {k: v for k, v in os.environ.items()
       if not k.startswith("DETSHIM_") and k not in ("LD_PRELOAD", "TOP", "BUILD", "WORK", "UPDATE")}
env["PATH"] = os.pathsep.join([os.path.join(work, "bin"), os.path.join(top, build), env.get("PATH", "")])
env["LC_ALL"] = "C"
env["TMPDIR"] = os.path.join(work, "tmp")
os.makedirs(env["TMPDIR"], exist_ok=True)
env.pop("PYTHONHASHSEED", None)

def have(need):
    if need == "gpu":
        return shutil.which("nvidia-smi") is not None and \
            subprocess.run(["nvidia-smi", "-L"], capture_output=True).returncode == 0
    kind, _, name = need.partition(":")
    if kind == "py":
        return subprocess.run([os.path.join(work, "bin", "python3"), "-c", "import " + name],
                              capture_output=True, env=env).returncode == 0
    if kind == "lib":
        try:
            ctypes.CDLL(name)
            return True
        except OSError:
            return False
    if kind == "cmd":
        return shutil.which(name, path=env["PATH"]) is not None
    raise SystemExit(f"check_docs: unknown need '{need}'")

def blocks(lines):
    """Yield (needs, [(cmd_first_line_index, cmd, out_start, out_end)])."""
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)```console(.*)$", lines[i])
        if not m:
            i += 1
            continue
        indent, info = m.group(1), m.group(2)
        needs = []
        nm = re.search(r"needs=(\S+)", info)
        if nm:
            needs = nm.group(1).split(",")
        j = i + 1
        body = []
        while j < len(lines) and lines[j].strip() != "```":
            body.append(j)
            j += 1
        cmds = []
        k = 0
        while k < len(body):
            text = lines[body[k]][len(indent):]
            if text.startswith("$ "):
                first = body[k]
                cmd = text[2:]
                while cmd.endswith("\\") and k + 1 < len(body):
                    k += 1
                    cmd = cmd + "\n" + lines[body[k]][len(indent):]
                start = k + 1
                while k + 1 < len(body) and not lines[body[k + 1]][len(indent):].startswith("$ "):
                    k += 1
                end = k + 1
                cmds.append((first, cmd, [body[x] for x in range(start, end)]))
            k += 1
        yield i, indent, needs, cmds
        i = j + 1

def line_re(pat):
    return re.compile("^" + ".*".join(re.escape(p) for p in pat.split("...")) + "$")

def matches(want, got):
    # want: pattern lines; got: output lines.  "..." alone matches 0+ lines.
    memo = {}
    def m(a, b):
        if (a, b) in memo:
            return memo[(a, b)]
        if a == len(want):
            r = b == len(got)
        elif want[a].strip() == "...":
            r = any(m(a + 1, c) for c in range(b, len(got) + 1))
        else:
            r = b < len(got) and line_re(want[a]).match(got[b]) is not None and m(a + 1, b + 1)
        memo[(a, b)] = r
        return r
    return m(0, 0)

# The matcher itself must be able to say no.
assert matches(["ho"], ["hi"]) is False
assert matches(["h..."], ["hi"]) and matches(["...", "b"], ["a", "x", "b"])
assert not matches(["a", "b"], ["a", "b", "c"]) and not matches([], ["x"])

passed = failed = 0
skipped = {}
for doc in sys.argv[1:]:
    path = os.path.join(top, doc)
    if not os.path.exists(path):
        print(f"FAIL {doc}: no such file")
        failed += 1
        continue
    text = open(path).read()
    lines = text.split("\n")
    # Every file of the tree a doc names must exist (a moved file shows up).
    base = os.path.dirname(doc)
    for m in sorted(set(re.findall(r"(?<![\w/.$-])((?:docs|tests|examples|shim|cuda_hooks|tools|conf|bench|debian|completion)/[\w./-]*\w)", text)
                        + re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text))):
        if not (os.path.exists(os.path.join(top, m)) or os.path.exists(os.path.join(top, base, m))):
            failed += 1
            print(f"FAIL {doc}: names {m}, which does not exist")
    cwd = os.path.join(work, "run-" + re.sub(r"\W", "_", doc))
    os.makedirs(cwd)
    for name in ("build", "examples", "tests", "conf"):
        os.symlink(os.path.join(top, build if name == "build" else name), os.path.join(cwd, name))
    edits = {}
    for start, indent, needs, cmds in blocks(lines):
        missing = [n for n in needs if not have(n)]
        if missing:
            what = ",".join(missing)
            skipped[what] = skipped.get(what, 0) + len(cmds)
            continue
        for first, cmd, outlines in cmds:
            want = [lines[x][len(indent):] for x in outlines]
            try:
                p = subprocess.run(["sh", "-c", cmd], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
                out = p.stdout.decode(errors="replace")
            except subprocess.TimeoutExpired:
                out = "(timed out after 300 s)\n"
            got = out.split("\n")
            if got and got[-1] == "":
                got.pop()
            where = f"{doc}:{first + 1}"
            short = cmd.split("\n")[0]
            if matches(want, got):
                passed += 1
                print(f"ok   {where}  $ {short}")
                continue
            failed += 1
            print(f"FAIL {where}  $ {short}")
            for w in want:
                print(f"     want | {w}")
            for g in got:
                print(f"     got  | {g}")
            if update:
                after = outlines[-1] + 1 if outlines else first + cmd.count("\n") + 1
                edits[after] = (outlines, [indent + g for g in got])
    if update and edits:
        out = []
        drop = {x for o, _ in edits.values() for x in o}
        for idx, l in enumerate(lines):
            if idx in edits:
                out.extend(edits[idx][1])
            if idx not in drop:
                out.append(l)
        if len(lines) in edits:
            out.extend(edits[len(lines)][1])
        open(path, "w").write("\n".join(out))
        print(f"check_docs: updated {doc}")
skip = ", ".join(f"{v} need {k}" for k, v in sorted(skipped.items()))
print(f"docs: {passed} passed, {failed} failed, {sum(skipped.values())} skipped" +
      (f" ({skip})" if skip else ""))
sys.exit(1 if failed else 0)
EOF
