#!/bin/sh
# it_corpus.sh BUILD - software nobody here wrote, run without and with the
# shim WITH A LOG, asserting the same results (docs/measurements/CORPUS.md):
#   - CPython's own regression tests (Debian's libpython3.11-testsuite for
#     /usr/bin/python3): the set of failing test cases must be the same
#     without and with the shim;
#   - shell and Python idioms that take over descriptor numbers
#     (`exec 3>file`, `>&-`, subprocess with stderr=STDOUT, closefrom,
#     close_range, a close() loop, dup2 onto every number);
#   - logs that can stop a job: a FIFO with no reader, a FIFO or pipe
#     whose reader exits, a FIFO whose reader never reads.
# Every log written must hold only valid JSON lines with the six keys.
#
#   sh tests/it_corpus.sh build
#   CORPUS_CPYTHON="test_os test_posix" sh tests/it_corpus.sh build   (fewer modules)
#   CORPUS_CPYTHON=none sh tests/it_corpus.sh build                   (idioms only)
#   CORPUS_KEEP=DIR: where a failing CPython comparison leaves its outputs
#
# Every run is inside `timeout`.  Prints "corpus: N passed, M failed" last
# (skips counted apart) and exits non-zero on any failure.
set -u
B=${1:-build}
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
SO=$B/libdetshim.so
T=$B/targets
SYSPY=/usr/bin/python3
PY=${PYTHON:-python3}
TO=${CORPUS_TIMEOUT:-60}
PRE=$SO
if [ "${SANITIZE:-}" = asan ]; then
	# The ASan runtime must come first in the preload list.  CPython's
	# suite is not run: libasan in every Python process changes what its
	# tests see (the plain build runs it).
	PRE="$(${CC:-cc} -print-file-name=libasan.so) $SO"
	export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
	CORPUS_CPYTHON=${CORPUS_CPYTHON:-none}
fi
MODS=${CORPUS_CPYTHON:-test_cmd_line test_posix test_subprocess test_os test_signal test_multiprocessing_spawn test_concurrent_futures test_random}
W=$(mktemp -d "${TMPDIR:-/tmp}/it_corpus.XXXXXX")
chmod 755 "$W"
trap 'rm -rf "$W"' EXIT
unset DETSHIM_SEED DETSHIM_CONFIG DETSHIM_LOG DETSHIM_POLICY DETSHIM_SEED_MODE \
	DETSHIM_ALGO_CACHE DETSHIM_LINEAGE DETSHIM_LOG_FIRST_N LD_PRELOAD
pass=0
fail=0
skip=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
ko() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && [ -f "$2" ] && sed 's/^/     | /' "$2" | head -20; }
sk() { skip=$((skip + 1)); echo "skip $1"; }
check() { _w=$1; shift; if "$@"; then ok "$_w"; else ko "$_w" "$W/err"; fi; }

# shim LOG CMD...: CMD under the shim with a log, in $W, inside timeout.
shim() {
	_log=$1; shift
	(cd "$W" && timeout "$TO" env LD_PRELOAD="$PRE" DETSHIM_SEED=1 \
		DETSHIM_LOG="$_log" "$@")
}
noshim() { (cd "$W" && timeout "$TO" "$@"); }

# valid_log FILE: every line a JSON object with the six keys, at least one.
valid_log() {
	"$PY" - "$1" <<'EOF'
import json, sys
n = 0
for n, line in enumerate(open(sys.argv[1], "rb"), 1):
    d = json.loads(line)
    # The seven keys ("v" first); an event's own fields (shim/log.c's
    # ds_event_fields: seed_program, rule, ...) come before "detail".
    assert {"v", "seq", "pid", "src", "call", "action", "detail"} <= set(d), (n, d)
    assert list(d)[0] == "v" and list(d)[-1] == "detail", (n, d)
assert n > 0, "empty log"
EOF
}
# same A B: two files hold the same bytes.
same() { cmp -s "$1" "$2"; }

# ---- 1. shell and Python idioms ---------------------------------------
# idiom NAME 'sh command' [LOG]: the command's stdout and exit status
# without and with the shim must match, the log must be valid.
idiom() {
	_n=$1 _c=$2 _l=${3:-$W/$1.jsonl}
	rm -f "$W/out.txt" "$_l"
	noshim sh -c "$_c" >"$W/n.out" 2>"$W/n.err"; _rn=$?
	[ -f "$W/out.txt" ] && mv "$W/out.txt" "$W/n.file" || : >"$W/n.file"
	shim "$_l" sh -c "$_c" >"$W/s.out" 2>"$W/err"; _rs=$?
	[ -f "$W/out.txt" ] && mv "$W/out.txt" "$W/s.file" || : >"$W/s.file"
	if [ "$_rn" = "$_rs" ] && same "$W/n.out" "$W/s.out" &&
	   same "$W/n.file" "$W/s.file" && same "$W/n.err" "$W/err"; then
		ok "$_n: same status ($_rs), stdout, stderr and files without and with the shim"
	else
		echo "     status $_rn / $_rs" >>"$W/err"
		diff "$W/n.file" "$W/s.file" >>"$W/err"
		diff "$W/n.out" "$W/s.out" >>"$W/err"
		ko "$_n: same status, stdout, stderr and files without and with the shim"
	fi
	check "$_n: the log holds valid JSON lines" valid_log "$_l"
}

idiom "bash exec 3>file" 'bash -c '\''exec 3>out.txt; echo hi >&3; x=$SRANDOM; echo "$x" >/dev/null; echo two >&3'\'''
idiom "bash { ...; } 3>file" 'bash -c '\''{ echo hi >&3; x=$SRANDOM; echo there >&3; } 3>out.txt'\'''
idiom "bash exec 1>file after >&-" 'bash -c '\''exec >&-; exec 1>out.txt; x=$SRANDOM; echo hi'\'''
idiom "python3 print with stdout closed (>&-)" "$SYSPY"' -c "import os; print(1)" >&-; echo "status $?"'
idiom "python3 with stdin closed (<&-)" "$SYSPY"' -c "import sys, os; print(sys.stdin is None, os.urandom(1) is not None)" <&-'
idiom "python3 with stderr closed (2>&-)" "$SYSPY"' -c "import os; os.urandom(4); print(2)" 2>&-'
idiom "python3 with all three closed" "$SYSPY"' -c "import os; os.open(\"out.txt\", os.O_WRONLY|os.O_CREAT); os.write(0, b\"zero\"); os.urandom(8)" <&- >&- 2>&-'
idiom "subprocess check_output(stderr=STDOUT)" "$SYSPY"' -c "import subprocess as s, sys; sys.stdout.write(repr(s.check_output([\"/bin/echo\", \"x\"], stderr=s.STDOUT)))"'
idiom "subprocess run(capture_output) stderr empty" "$SYSPY"' -c "import subprocess as s; r = s.run([\"'"$SYSPY"'\", \"-c\", \"import os; os.urandom(8)\"], capture_output=True); print(repr(r.stderr), r.returncode)"'
idiom "subprocess pass_fds lists only its fds" "$SYSPY"' -c "
import os, subprocess, sys
r, w = os.pipe()
p = subprocess.run([sys.executable, \"-c\", \"import os; print(sorted(int(f) for f in os.listdir(\\\"/proc/self/fd\\\")))\"], pass_fds=[w], stdout=subprocess.PIPE)
print(p.stdout.decode().replace(str(w), \"W\"))"'
idiom "shell loop closing fds then writing" 'bash -c '\''for fd in $(seq 3 40); do eval "exec $fd>&-"; done; exec 3>out.txt; x=$SRANDOM; echo a >&3; y=$SRANDOM; echo b >&3'\'''

for mode in closefrom close_range close_loop dup2_all; do
	rm -f "$W/out.txt" "$W/$mode.jsonl"
	shim "$W/$mode.jsonl" "$T/fd_takeover" $mode "$W/out.txt" >"$W/o" 2>"$W/err"
	rc=$?
	check "C program: $mode, then open and write: exit 0, the file holds only the program's line" \
		sh -c "[ $rc -eq 0 ] && [ \"\$(cat '$W/out.txt')\" = 'program data' ] && [ ! -s '$W/err' ]"
	check "C program: $mode: the log holds valid JSON lines" valid_log "$W/$mode.jsonl"
done
# The FIFO log's kept fd in the same takeovers (a reader drains it).
mkfifo "$W/dfifo"
cat "$W/dfifo" >"$W/dfifo.jsonl" &
rdr=$!
sleep 0.2
rm -f "$W/out.txt"
shim "$W/dfifo" "$T/fd_takeover" dup2_all "$W/out.txt" >"$W/o" 2>"$W/err"
rc=$?
wait $rdr
check "FIFO log: dup2 onto every number, then write: exit 0, the file holds only the program's line" \
	sh -c "[ $rc -eq 0 ] && [ \"\$(cat '$W/out.txt')\" = 'program data' ] && [ ! -s '$W/err' ]"
check "FIFO log: its reader got valid JSON lines" valid_log "$W/dfifo.jsonl"

# detrun --verify writes a log in every run: a program that captures a
# child's stderr or writes through fd 3 must still be judged identical.
# Under ASan, as in tests/it_detrun.sh: the runtime in every process,
# after the shim that detrun puts first (link-order check off).
DRENV=
[ "${SANITIZE:-}" = asan ] && DRENV="LD_PRELOAD=$(${CC:-cc} -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0"
if [ -x "$B/detrun" ]; then
	(cd "$W" && timeout "$TO" env $DRENV "$B/detrun" -s 1 --verify 2 -- "$SYSPY" -c \
		'import subprocess; print(subprocess.run(["true"], capture_output=True).stderr)') >"$W/err" 2>&1
	check "detrun --verify: a Python program capturing a child's stderr is identical" [ $? -eq 0 ]
	(cd "$W" && timeout "$TO" env $DRENV "$B/detrun" -s 1 --verify 2 -- bash -c \
		'exec 3>out3.txt; echo $SRANDOM >&3; cat out3.txt') >"$W/err" 2>&1
	check "detrun --verify: a bash script writing through fd 3 is identical" [ $? -eq 0 ]
else
	sk "detrun --verify checks: $B/detrun not built"
fi

# ---- 2. logs that could stop, hang or kill the job ---------------------
mkfifo "$W/nofifo"
(cd "$W" && timeout 10 env LD_PRELOAD="$PRE" DETSHIM_SEED=1 DETSHIM_LOG="$W/nofifo" \
	/bin/echo hi >"$W/o" 2>"$W/err")
rc=$?
check "FIFO log with no reader: no hang, exit 0, output intact, one line on stderr" \
	sh -c "[ $rc -eq 0 ] && [ \"\$(cat '$W/o')\" = hi ] && [ \$(grep -c 'cannot open the log' '$W/err') -eq 1 ] && [ \$(wc -l <'$W/err') -eq 1 ]"

mkfifo "$W/fifo2"
(head -c 8000 "$W/fifo2" >"$W/head.out") & # past the start-up lines (about 2.5 KB)
rdr=$!
sleep 0.2
DETSHIM_LOG_FIRST_N=1000 shim "$W/fifo2" "$T/fd_takeover" events 50 20000 >"$W/o" 2>"$W/err"
rc=$?
wait $rdr
check "FIFO log whose reader exits: no SIGPIPE (exit 0), nothing on stderr" \
	sh -c "[ $rc -eq 0 ] && [ ! -s '$W/err' ] && [ \$(wc -c <'$W/head.out') -eq 8000 ]"

# stderr is a pipe whose reader exits; the log is that pipe.
( DETSHIM_LOG_FIRST_N=1000 shim /dev/fd/2 "$T/fd_takeover" events 50 20000 2>&1 >/dev/null
  echo "rc=$?" >"$W/rc" ) | head -c 10 >"$W/head.out"
check "pipe log (/dev/fd/2 piped to head -c 10): no SIGPIPE (exit 0)" \
	sh -c "grep -qx 'rc=0' '$W/rc' && [ \$(wc -c <'$W/head.out') -eq 10 ]"

# The same pipe, its reader gone before the program starts: the start-up
# warning itself must not raise SIGPIPE.
( sleep 0.5; shim /dev/fd/2 "$T/fd_takeover" events 5 0 2>&1 >/dev/null
  echo "rc=$?" >"$W/rc" ) | true
check "pipe log whose reader is gone at start: no SIGPIPE (exit 0)" grep -qx 'rc=0' "$W/rc"

mkfifo "$W/fifo3"
sleep 30 <"$W/fifo3" &
hold=$!
sleep 0.2
start=$(date +%s)
DETSHIM_LOG_FIRST_N=1000000 shim "$W/fifo3" "$T/fd_takeover" events 5000 0 >"$W/o" 2>"$W/err"
rc=$?
took=$(( $(date +%s) - start ))
kill $hold 2>/dev/null
wait $hold 2>/dev/null
check "FIFO log whose reader never reads (full pipe): exit 0 in ${took}s, nothing on stderr" \
	sh -c "[ $rc -eq 0 ] && [ $took -lt 20 ] && [ ! -s '$W/err' ]"

# ---- 2b. sandboxes: seccomp strict and a filter ------------------------
# tests/targets/rel_seccomp.c: a system call of the shim's own after the
# program entered seccomp kills it (137 strict, 159 filter).
for mode in strict filter; do
	noshim "$T/rel_seccomp" $mode >"$W/sc0" 2>"$W/err"; rc0=$?
	rm -f "$W/sc.jsonl"
	shim "$W/sc.jsonl" "$T/rel_seccomp" $mode >"$W/sc1" 2>"$W/err"; rc1=$?
	shim "$W/sc2.jsonl" "$T/rel_seccomp" $mode >"$W/sc2" 2>>"$W/err"; rc2=$?
	check "seccomp $mode: runs without the shim (rc=$rc0) and under it with a log (rc=$rc1, $rc2)" \
		sh -c "[ $rc0 -eq 0 ] && [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && [ -s '$W/sc1' ]"
	check "seccomp $mode: the reads after it are served (same bytes twice, not the kernel's)" \
		sh -c "cmp -s '$W/sc1' '$W/sc2' && ! cmp -s '$W/sc0' '$W/sc1'"
	check "seccomp $mode: the log says so before the sandbox" \
		sh -c "grep -q '\"call\":\"seccomp\",\"action\":\"observed\"' '$W/sc.jsonl'"
	valid_log "$W/sc.jsonl" 2>"$W/err"
	check "seccomp $mode: every log line is valid JSON" [ $? -eq 0 ]
done

# ---- 2c. other people's programs that draw entropy, under a log --------
# prog NAME EXPECT 'sh command': two runs without the shim, two with it
# (seed 1, a log each); the exit status must be the same, the logs valid,
# and the two outputs under the shim the same (EXPECT=same) or different
# (EXPECT=differ: a program that makes secrets, left alone).  A row of
# the table in docs/measurements/RELIABILITY.md is appended to
# $CORPUS_TABLE when it is set.
prog() {
	_n=$1 _e=$2 _c=$3
	_b=${_c%% *}
	if ! command -v "$_b" >/dev/null 2>&1; then
		sk "$_n: $_b not installed"
		return
	fi
	for _i in 1 2; do
		rm -rf "$W/k"
		noshim sh -c "$_c" >"$W/p.n$_i" 2>/dev/null; eval _rn$_i=\$?
		rm -rf "$W/k" "$W/p$_i.jsonl"
		shim "$W/p$_i.jsonl" sh -c "$_c" >"$W/p.s$_i" 2>"$W/err"; eval _rs$_i=\$?
	done
	same "$W/p.n1" "$W/p.n2" && _dn=same || _dn=differ
	same "$W/p.s1" "$W/p.s2" && _ds=same || _ds=differ
	check "$_n: exit status without the shim ($_rn1, $_rn2) = with it and a log ($_rs1, $_rs2)" \
		sh -c "[ $_rn1 = $_rs1 ] && [ $_rn2 = $_rs2 ] && [ $_rn1 = $_rn2 ]"
	check "$_n: two runs under the shim: output $_ds (want $_e)" [ "$_ds" = "$_e" ]
	valid_log "$W/p1.jsonl" 2>"$W/err" && valid_log "$W/p2.jsonl" 2>>"$W/err"
	check "$_n: every log line is valid JSON" [ $? -eq 0 ]
	[ -n "${CORPUS_TABLE:-}" ] &&
		printf '| %s | `%s` | rc %s, output %s | rc %s, output %s, %s log lines | %s |\n' \
			"$_n" "$(printf '%s' "$_c" | sed 's/|/\\|/g')" "$_rn1" "$_dn" "$_rs1" "$_ds" "$(wc -l <"$W/p1.jsonl")" \
			"$([ "$_ds" = "$_e" ] && [ "$_rn1" = "$_rs1" ] && echo pass || echo FAIL)" >>"$CORPUS_TABLE"
	return 0
}
prog "od, stdin on the device" same 'od -An -N8 -tx8 < /dev/urandom'
prog "base64, stdin on the device" same 'base64 < /dev/urandom | head -c 24'
prog "hexdump (freopen of stdin)" same 'hexdump -n 8 -e "8/1 \"%02x\" \"\n\"" /dev/urandom'
prog "xxd" same 'xxd -l 8 -p /dev/urandom'
prog "dd" same 'dd if=/dev/urandom bs=8 count=1 status=none | od -An -tx1'
prog "shuf" same 'seq 100 | shuf | md5sum'
prog "sort -R" same 'seq 50 | sort -R | md5sum'
prog "sqlite3 random()" same 'sqlite3 :memory: "select random(); select hex(randomblob(16));"'
prog "perl rand" same 'perl -e "print int(rand(1e9)), qq(\n)"'
prog "python3 os.urandom, random, uuid4" same "$SYSPY"' -c "import os, random, uuid; print(os.urandom(8).hex(), random.random(), uuid.uuid4())"'
prog "python3 subprocess children" same "$SYSPY"' -c "import subprocess as s; [print(s.check_output([\"od\", \"-An\", \"-N4\", \"-tx4\", \"/dev/urandom\"], stderr=s.STDOUT)) for _ in range(3)]"'
prog "bash \$SRANDOM and pipeline children" same 'bash -c '\''echo $SRANDOM; for i in 1 2; do head -c4 /dev/urandom | od -An -tx4; done'\'''
prog "python3 os.system and os.popen children" same "$SYSPY"' -c "import os; os.system(\"od -An -N4 -tx4 /dev/urandom\"); os.system(\"od -An -N4 -tx4 /dev/urandom\"); print(os.popen(\"od -An -N4 -tx4 /dev/urandom\").read())"'
prog "git init + commit" same 'git init -q k && cd k && git -c user.name=a -c user.email=a@b commit -q --allow-empty -m x --date=2020-01-01T00:00:00 && GIT_COMMITTER_DATE=2020-01-01T00:00:00 git log --format=%H -1 >/dev/null; git -C . rev-parse --is-inside-work-tree'
prog "openssl rand (its own DRBG)" differ 'openssl rand -hex 8'
prog "ssh-keygen ed25519 (makes secrets)" differ 'mkdir -p k && ssh-keygen -q -t ed25519 -N "" -C c -f k/id && cat k/id.pub'

# ---- 3. CPython's regression tests ------------------------------------
# Failing test cases from a --junit-xml file, one "module.Class.test" a line.
failing() {
	"$PY" - "$1" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
bad = set()
for tc in root.iter("testcase"):
    if tc.find("failure") is not None or tc.find("error") is not None:
        bad.add(tc.get("name"))
for name in sorted(bad):
    print(name)
EOF
}
# Shim-only failures that are the shim's documented design, not a bug:
# test_hash_randomization removes PYTHONHASHSEED and expects children to
# hash differently; the shim pins it again (README, "Environment pins").
# test_random's known-answer tests seed random.Random with a constant and
# compare with CPython's reference output; in the default mix mode that
# seed becomes H(run seed, seed) (docs/SEEDS.md; they pass under
# DETSHIM_SEED_MODE=respect, tests/it_seeds.sh).
EXPECTED='\.CmdLineTest\.test_hash_randomization$'
EXPECTED="$EXPECTED|MersenneTwister_TestBasicOps\.test_(bug_27706|bug_31482|getrandbits|guaranteed_stable|randbytes|randrange_uses_getrandbits|referenceImplementation|strong_reference_implementation)$"

if [ "$MODS" = none ]; then
	sk "CPython regression tests (CORPUS_CPYTHON=none${SANITIZE:+, SANITIZE=$SANITIZE})"
elif ! [ -x "$SYSPY" ] || ! "$SYSPY" -c 'import test.test_subprocess, test.support' 2>/dev/null; then
	sk "CPython regression tests: $SYSPY's test package is absent (apt-get install libpython3.$("$SYSPY" -c 'import sys; print(sys.version_info[1])' 2>/dev/null)-testsuite)"
else
	CPTO=${CORPUS_CPYTHON_TIMEOUT:-900}
	for mode in noshim shim; do
		mkdir -p "$W/cpy.$mode"
		if [ $mode = shim ]; then
			pre="LD_PRELOAD=$SO DETSHIM_SEED=1 DETSHIM_LOG=$W/cpython.jsonl"
		else
			pre=
		fi
		(cd "$W/cpy.$mode" && timeout $((CPTO + 60)) env HOME="$W/cpy.$mode" $pre \
			"$SYSPY" -m test -j2 --timeout "$CPTO" --junit-xml "$W/cpy.$mode.xml" \
			$MODS >"$W/cpy.$mode.out" 2>&1)
		echo "     CPython $mode: $(grep -E '^(Total duration|Tests result)' "$W/cpy.$mode.out" | tr '\n' ' ')"
		failing "$W/cpy.$mode.xml" 2>"$W/err" | grep -Ev "$EXPECTED" >"$W/cpy.$mode.failing"
	done
	if [ -s "$W/cpy.noshim.xml" ] && [ -s "$W/cpy.shim.xml" ] &&
	   same "$W/cpy.noshim.failing" "$W/cpy.shim.failing"; then
		ok "CPython $MODS: the same failing cases without and with the shim ($(wc -l <"$W/cpy.shim.failing") in both)"
	else
		diff "$W/cpy.noshim.failing" "$W/cpy.shim.failing" >"$W/err"
		cp "$W/cpy.noshim.out" "$W/cpy.shim.out" "$W/cpy.shim.xml" "${CORPUS_KEEP:-$W}/" 2>/dev/null
		ko "CPython $MODS: the same failing cases without and with the shim" "$W/err"
	fi
	check "CPython: the log of every test process holds valid JSON lines" valid_log "$W/cpython.jsonl"
fi

[ "$skip" -gt 0 ] && echo "corpus: $skip skipped (see the skip lines above)"
echo "corpus: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
