#!/bin/sh
# it_detrun.sh - integration tests of detrun, the launcher.
#
#   sh tests/it_detrun.sh BUILD_DIR
#
# Runs build/detrun against the real shim and the targets
# tests/targets/detrun_*.c: every option, bad input with its documented
# exit status (docs/detrun.1, EXIT STATUS), the --verify verdicts both
# ways, the "shim did not load" detection, report/diff, and install into
# a DESTDIR with both man pages rendered.  Prints
# "detrun: N passed, M failed" last and exits non-zero on any failure.

B=${1:-build}
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
SRC=$(cd "$(dirname "$0")/.." && pwd)
D=$B/detrun
T=$B/targets
W=$(mktemp -d "${TMPDIR:-/tmp}/it_detrun.XXXXXX")
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1
unset DETSHIM_SEED DETSHIM_CONFIG DETSHIM_LOG DETSHIM_POLICY DETSHIM_SO \
	DETSHIM_SEED_MODE DETSHIM_ALGO_CACHE DETSHIM_LINEAGE LD_PRELOAD

pass=0
fail=0
PRE_TAIL=
if [ "${SANITIZE:-}" = asan ]; then
	# Every test runs uninstrumented programs (sh, env, true) under the
	# ASan-built shim, which needs the ASan runtime in the process.
	# detrun puts the shim first and keeps the user's entries after it,
	# so libasan comes second: ASan's link-order check is turned off (the
	# runtime still interposes malloc: it precedes libc in the preload
	# list, and the shim's dependency on it initialises it first).
	LD_PRELOAD=$(${CC:-cc} -print-file-name=libasan.so)
	PRE_TAIL=":$LD_PRELOAD"
	export LD_PRELOAD ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0
fi
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -f out ] && sed 's/^/     | /' out | head -20; }
skip() { echo "skip $1"; }

# t NAME EXPECTED_STATUS CMD...: run CMD (stdout+stderr to ./out), check
# the status.
t() {
	name=$1 want=$2
	shift 2
	"$@" >out 2>&1
	got=$?
	if [ "$got" = "$want" ]; then ok "$name (status $got)"; return 0; fi
	bad "$name: status $got, expected $want"
	return 1
}
# has NAME PATTERN: ./out contains PATTERN (grep -E).
has() {
	if grep -Eq -- "$2" out; then ok "$1"; else bad "$1: no /$2/ in output"; fi
}
hasnt() {
	if grep -Eq -- "$2" out; then bad "$1: /$2/ in output"; else ok "$1"; fi
}

for f in "$D" "$B/libdetshim.so" "$T/detrun_print" "$T/detrun_branchy"; do
	[ -e "$f" ] || { echo "it_detrun: $f missing (make BUILD=$B first)"; echo "detrun: 0 passed, 1 failed"; exit 1; }
done

echo "== help, version, bad input"
t "--help" 0 "$D" --help && has "--help shows usage" "^Usage: detrun"
for v in DETSHIM_SEED DETSHIM_CONFIG DETSHIM_LOG DETSHIM_POLICY DETSHIM_SEED_MODE DETSHIM_ALGO_CACHE; do
	has "--help names $v" "^ +(-[a-z], )?--[a-z-]+ [A-Z]+ +.*: $v\$"
done
t "--version" 0 "$D" --version && has "--version" "^detrun \(detshim\) [0-9]"
t "no arguments" 125 "$D"
t "unknown option" 125 "$D" --bogus -- true && has "unknown option named" "unknown option '--bogus'"
t "-- is optional" 0 "$D" --seed 1 true
t "options end at the command" 3 "$D" -s1 sh -c 'exit 3' --seed 2
t "no command" 125 "$D" --seed 1 --
t "option without value" 125 "$D" --seed
t "bad seed" 125 "$D" --seed 12x -- true && has "bad seed named" "invalid seed '12x'"
t "seed overflow" 125 "$D" --seed 18446744073709551616 -- true && has "overflow named" "64 bits"
t "bad policy" 125 "$D" --policy strict -- true && has "bad policy named" "invalid policy 'strict'"
t "bad seed mode" 125 "$D" --seed-mode always -- true
t "verify N<2" 125 "$D" --verify 1 -- true && has "N<2 message" "at least 2 runs"
t "verify N absurd" 125 "$D" --verify 1001 -- true && has "N>1000 message" "too many runs"
t "verify N not a number" 125 "$D" --verify two -- true
t "--compare without --verify" 125 "$D" --compare stdout -- true
t "command not found" 127 "$D" -- no-such-command-xyz && has "not found named" "no-such-command-xyz: command not found"
t "command path missing" 127 "$D" -- ./no/such/file
echo 'x' >noexec; chmod 644 noexec
t "command not executable" 126 "$D" -- ./noexec
t "unwritable log dir" 125 "$D" --log "$W/nodir/x.log" -- true && has "log path named" "cannot create the file in"
t "bad %-escape in log" 125 "$D" --log "$W/x.%q" -- true
t "missing config file" 125 "$D" --config "$W/none.conf" -- true
t "bad variable caught before running" 125 env DETSHIM_SEED_MODE=sometimes "$D" -- true
t "bad variable under policy warn" 0 env DETSHIM_SEED_MODE=sometimes "$D" --policy warn -- true
t "removed DETSHIM_LOG_LEVEL refused" 125 env DETSHIM_LOG_LEVEL=info "$D" -- true &&
	has "removed variable named" "DETSHIM_LOG_LEVEL: no longer supported: it never had an effect"
t "the shim itself stops on DETSHIM_LOG_LEVEL" 2 env LD_PRELOAD="$B/libdetshim.so$PRE_TAIL" DETSHIM_LOG_LEVEL=debug "$T/detrun_print" &&
	has "the shim names it" "^detshim: DETSHIM_LOG_LEVEL: no longer supported"

echo "== run mode"
t "exit status passed through" 7 "$D" -- sh -c 'exit 7'
t "signal passed through" 143 sh -c "\"$D\" -- sh -c 'kill -TERM \$\$'; exit \$?"
t "--seed sets DETSHIM_SEED, fixed width" 0 "$D" --seed 42 -- env
has "seed value" "^DETSHIM_SEED=0x000000000000002a$"
has "shim first in LD_PRELOAD" "^LD_PRELOAD=$B/libdetshim.so$PRE_TAIL$"
hasnt "loaded-fd variable removed by the shim" "DETSHIM_LOADED_FD"
t "--policy --seed-mode --algo-cache" 0 "$D" --policy warn --seed-mode override --algo-cache ac.txt -- env
has "policy" "^DETSHIM_POLICY=warn$"
has "seed mode" "^DETSHIM_SEED_MODE=override$"
has "algo cache absolute" "^DETSHIM_ALGO_CACHE=$W/ac.txt$"
LIBM=$(ldd "$T/detrun_print" 2>/dev/null | awk '/libc.so/ {print $3}')
t "user LD_PRELOAD kept after the shim" 0 env LD_PRELOAD="$LIBM" "$D" -- env
has "LD_PRELOAD order" "^LD_PRELOAD=$B/libdetshim.so:$LIBM$"
t "DETSHIM_LINEAGE removed" 0 env DETSHIM_LINEAGE=0000000000000000000000000000000000000000000000000000000000000000 "$D" -- env
hasnt "no lineage" "^DETSHIM_LINEAGE="
t "-v prints the variables" 0 "$D" -v --seed 1 -- true && has "-v" "detrun: DETSHIM_SEED=0x0000000000000001"
t "-v prints every mirrored variable" 0 "$D" -v --seed 1 --log "$W/v.log" --policy warn --seed-mode mix --algo-cache a.txt -- true
for v in "LD_PRELOAD=$B/libdetshim.so" "DETSHIM_SEED=0x0000000000000001" "DETSHIM_LOG=$W/v.log" \
	 DETSHIM_POLICY=warn DETSHIM_SEED_MODE=mix "DETSHIM_ALGO_CACHE=$W/a.txt"; do
	has "-v shows $v" "^detrun: $v"
done
t "--name=VALUE form" 0 "$D" --policy=warn --seed-mode=respect --seed=0x10 -- env
has "--policy=warn" "^DETSHIM_POLICY=warn$"
has "--seed-mode=respect" "^DETSHIM_SEED_MODE=respect$"
has "--seed=0x10" "^DETSHIM_SEED=0x0000000000000010$"
t "--policy= (empty) refused by the shim's parser" 125 "$D" --policy= -- true && has "empty policy named" "^detrun: --policy: invalid policy ''"
t "another libdetshim.so in LD_PRELOAD is replaced" 0 env LD_PRELOAD="/nonexistent/libdetshim.so$PRE_TAIL" "$D" -- env
has "one shim, the one detrun found" "^LD_PRELOAD=$B/libdetshim.so$PRE_TAIL$"
"$D" --seed 1 -- "$T/detrun_print" >s1a 2>&1
"$D" --seed 1 -- "$T/detrun_print" >s1b 2>&1
"$D" --seed 2 -- "$T/detrun_print" >s2 2>&1
"$T/detrun_print" >n1 2>&1
"$T/detrun_print" >n2 2>&1
if cmp -s s1a s1b; then ok "same seed, same output"; else bad "same seed, same output"; fi
if ! cmp -s s1a s2; then ok "other seed, other output"; else bad "other seed, other output"; fi
if ! cmp -s n1 n2; then ok "without the shim the target varies (contrast)"; else bad "contrast: target did not vary without the shim"; fi
t "--log writes the init record" 0 "$D" --seed 5 --log "$W/run.log" -- "$T/detrun_print"
cp run.log out; has "init record" '"src":"process","call":"init","action":"config"'
has "seed in init record" 'seed=5 '
has "getrandom event" '"src":"getrandom","call":"getrandom","action":"replaced"'
t "--log with %p" 0 "$D" --log "$W/p.%p.log" -- "$T/detrun_print"
if ls p.*.log >/dev/null 2>&1 && ! [ -e 'p.%p.log' ]; then ok "%p expanded"; else bad "%p expanded"; fi
t "--policy off" 0 "$D" --policy off -- "$T/detrun_print"
if grep -q "^getrandom" out && ! grep -q "^$(sed -n 1p s1a | cut -c1-20)" out; then ok "policy off passes getrandom through"; else bad "policy off"; fi
cat >c.conf <<'EOF'
seed = 77;
log = { path = "conf.log"; };
EOF
if "$D" --config c.conf -- true >out 2>&1 && grep -q 'config=' conf.log 2>/dev/null; then
	cp conf.log out
	has "--config read by the shim" "seed=77 .*config=$W/c.conf"
elif grep -q "without libconfig\|could not be loaded" out; then
	skip "--config (detshim built or running without libconfig)"
else
	bad "--config"
fi
printf 'seed = "nope";\n' >bad.conf
if "$D" --config bad.conf -- true >out 2>&1; then bad "bad config file accepted"; else
	st=$?; if [ $st = 125 ]; then ok "bad config file: status 125"; else bad "bad config file: status $st"; fi
fi

echo "== conventions"
t "-s42 -qv" 0 "$D" -s42 -qv env
has "-s42" "^DETSHIM_SEED=0x000000000000002a$"
has "-qv: -v" "^detrun: DETSHIM_SEED=0x000000000000002a$"
t "--seed=42" 0 "$D" --seed=42 env && has "--seed=42" "^DETSHIM_SEED=0x000000000000002a$"
t "--verify=2" 0 "$D" --verify=2 true
rm -f twice.log
"$D" --log twice.log -- true >/dev/null 2>&1
t "--log on an existing file warns" 0 "$D" --log twice.log -- true
has "existing log named" "warning: --log '.*twice.log' exists: this run's lines are appended"
t "--log with %p" 0 "$D" --log "q%p.log" -- true && hasnt "a %p log does not warn" "exists"
printf '#!/nonexistent/interp\necho hi\n' >noint.sh; chmod +x noint.sh
t "missing #! interpreter named" 127 "$D" -- ./noint.sh
has "interpreter named" "its interpreter '/nonexistent/interp' \(the #! line\) does not exist"
cp twice.log out
has "every log names the program" '"action":"config",.*id=[0-9a-f]+ prog=true"'
has "every line has the schema version" '^\{"v":1,"seq":'

echo "== ASLR"
t "ASLR off by default: same addresses" 0 "$D" --verify 3 -- "$T/detrun_print"
if [ "$(cat /proc/sys/kernel/randomize_va_space 2>/dev/null)" = 0 ]; then
	skip "--aslr (randomize_va_space is 0 on this machine)"
elif "$D" -- true 2>&1 | grep -q "cannot turn address randomisation off"; then
	skip "--aslr (personality refused here)"
else
	t "--aslr: addresses differ" 1 "$D" --aslr --verify 2 -- "$T/detrun_print"
	has "--aslr divergence in stack line" "line 3, column"
	t "--no-aslr" 0 "$D" --no-aslr --verify 2 -- "$T/detrun_print"
fi

echo "== --verify"
t "deterministic target: identical" 0 "$D" --seed 9 --verify 3 -- "$T/detrun_print"
has "verdict identical" "IDENTICAL"
has "seed in verdict" "seed 0x0000000000000009"
t "policy off: differ" 1 "$D" --seed 9 --policy off --verify 2 -- "$T/detrun_print"
has "verdict differ" "DIFFER"
has "first difference is stdout line 1" "stdout: first difference at byte 1[0-9] \(line 1, column 1[0-9]\)"
t "multi-process: identical" 0 "$D" --verify 2 -- sh -c "$T/detrun_print & wait; $T/detrun_print"
has "3 processes" "log: identical \(3 processes"
rm -f cnt
t "divergent events" 1 "$D" --verify 3 --log "$W/vd" -- "$T/detrun_branchy" cnt events
has "log divergence named" "first divergent event"
# The third getrandom call of each run is where they part; its seq is
# read from run 1's own log, not assumed.
seq=$(grep '"call":"getrandom"' vd/run-0001.log | sed -n 3p | sed 's/.*"seq":\([0-9]*\).*/\1/')
has "run 1 event" "run 1: seq=$seq src=getrandom call=getrandom action=replaced library=libc detail=\"len=16 flags=0\""
has "run 2 event" "run 2: seq=$seq src=getrandom call=getrandom action=replaced library=libc detail=\"len=32 flags=0\""
has "run 3 also" "run 3 also differs from run 1 in: log"
if [ -f vd/run-0001.log ] && [ -f vd/run-0003.stdout ]; then ok "--log DIR keeps the runs"; else bad "--log DIR keeps the runs"; fi
t "diff of the kept logs" 1 "$D" diff vd/run-0001.log vd/run-0002.log
has "diff names the event" "detail=\"len=32 flags=0\""
t "diff of equal logs" 0 "$D" diff vd/run-0002.log vd/run-0003.log
rm -f cnt
echo "== --learn: a seed the rules miss (docs/SEEDS.md)"
t "--learn needs --verify" 125 "$D" --learn "$W/seeds.txt" -- true
t "--learn: hash of /proc/self/stat differs" 1 "$D" --verify 2 --learn "$W/seeds.txt" -- "$T/rand_learn"
has "--learn names the site" "learn: srand called from rand_learn\+0x[0-9a-f]+#0 got a different seed in each run"
if grep -q '^site srand rand_learn+0x' "$W/seeds.txt" 2>/dev/null; then ok "--learn wrote the site"; else bad "--learn wrote the site"; fi
t "with the seeds file: identical" 0 "$D" --verify 2 -- env DETSHIM_SEEDS_FILE="$W/seeds.txt" "$T/rand_learn"
t "another program refuses the file" 0 env DETSHIM_SEEDS_FILE="$W/seeds.txt" "$D" -- "$T/detrun_print"
has "... with a message naming both" "seeds file .* was recorded for rand_learn .*not for this program \(detrun_print"
t "differing exit status" 1 "$D" --verify 2 --accept-status 1 --accept-status 2 -- "$T/detrun_branchy" cnt exit
has "exit statuses named" "exit status: run 1: exit status 1, run 2: exit status 2"
rm -f cnt
t "--compare FILE identical" 0 "$D" --verify 2 --compare o.bin -- "$T/detrun_print" o.bin
has "file compared" "file o.bin: identical"
if [ -f o.bin ]; then ok "last run's file restored"; else bad "last run's file restored"; fi
t "--compare glob, pre-existing file kept" 0 "$D" --verify 2 --compare 'o*.bin' -- "$T/detrun_print" o.bin
has "moved aside" "moved 1 existing file"
t "--compare FILE differs under policy off" 1 "$D" --verify 2 --policy off --compare o.bin -- "$T/detrun_print" o.bin
# two random outputs share their first byte once in 256 runs
has "file difference" "file o.bin: first difference at byte"
rm -f cnt out.txt
t "output missing in one run" 1 "$D" --verify 2 --compare out.txt -- "$T/detrun_branchy" cnt file out.txt
has "missing named" "file out.txt: missing in run 2 \(present in run 1\)"
t "output missing in every run" 2 "$D" --verify 2 --compare never.txt -- "$T/detrun_print"
has "nothing to compare" "--compare 'never.txt': no run wrote such a file"
t "--compare stderr" 0 "$D" --verify 2 --compare stderr --compare stdout -- "$T/detrun_print"
t "--keep" 0 "$D" --verify 2 --keep -- true && has "--keep prints the dir" "runs kept in"
t "verify run dir unusable" 125 "$D" --verify 2 --log /proc/nope/dir -- true
t "nested detrun (detrun under the shim)" 0 "$D" -- "$D" --verify 2 -- "$T/detrun_print"

echo "== --verify: what the program produced and saw, every process, failures, stops"
# ten10 NAME CMD...: IDENTICAL (status 0) in 10 of 10 verifications of 2 runs.
ten10() {
	name=$1 k=0 i=0
	shift
	while [ $i -lt 10 ]; do
		i=$((i + 1))
		if "$D" -q --verify 2 -- "$@" >out 2>&1 && grep -q ': IDENTICAL$' out; then
			k=$((k + 1))
		else
			cp out out.bad
		fi
	done
	if [ $k = 10 ]; then ok "$name: IDENTICAL in 10 of 10"; else
		[ -f out.bad ] && cp out.bad out
		bad "$name: IDENTICAL in $k of 10"
	fi
}
if [ -x /usr/bin/python3 ]; then
	for m in spawn forkserver; do
		ten10 "python multiprocessing $m pool" /usr/bin/python3 "$SRC/tests/targets/verify_pool.py" $m
	done
else
	skip "python multiprocessing pools (no /usr/bin/python3)"
fi
ten10 "srand(time(NULL) ^ getpid()), pinned" "$T/verify_srand"
ten10 "threads opening /dev/urandom (fd numbers race)" "$T/verify_threads"
ten10 "a grandchild still logging after the command exits" sh -c '(sleep 0.3; head -c4 /dev/urandom >/dev/null) & echo hi'
# rand_time also seeds srandom from the pid and srand48 from the
# microseconds: its own seed differs in every run (time ^ pid may not: the
# two can change the same bits), so the first record that differs is one
# of the three.
t "strict log comparison sees the program's own seed" 1 "$D" --verify 2 --compare-log=strict -- "$T/rand_time"
has "strict: the seed record" "src=(libc_rand|drand48) call=(srand|srandom|srand48) action=replaced-volatile"
t "events: the same program IDENTICAL" 0 "$D" --verify 2 -- "$T/rand_time"
rm -f cnt
t "--compare-log=off: logs not compared" 0 "$D" --verify 2 --compare-log=off -- "$T/detrun_branchy" cnt events
has "off named" "log: not compared"
t "bad --compare-log" 125 "$D" --verify 2 --compare-log=some -- true
t "processes left running: killed after --wait-timeout" 3 "$D" --verify 2 --wait-timeout 1 -- sh -c 'sleep 30 & echo hi'
has "lingering processes named" "still running 1 s after the command exited"
t "failing run: status 3" 3 "$D" --verify 3 --log "$W/vf" -- sh -c 'echo to-stderr-XYZ >&2; exit 3'
has "FAILED verdict" ": FAILED$"
has "its status" "run 1 ended with exit status 3"
has "its stderr shown" "^  \| to-stderr-XYZ$"
if [ -f vf/run-0001.stderr ] && [ ! -e vf/run-0002.stdout ]; then ok "failed run kept, no run after it"; else bad "failed run kept, no run after it"; fi
t "--accept-status 3" 0 "$D" --verify 2 --accept-status 3 -- sh -c 'exit 3'
has "accepted status in the verdict" "exit status 3 in every run"
t "a run killed by a signal fails" 3 "$D" --verify 2 -- sh -c 'kill -KILL $$'
has "signal named" "ended with signal 9"
t "a stale --log DIR loses its old runs" 0 "$D" --verify 2 --log "$W/vf" -- true
if [ ! -e vf/run-0003.stdout ]; then ok "stale run-0003 removed"; else bad "stale run-0003 removed"; fi
# stop SIG STATUS: the signal to detrun during run 1 of 3 stops everything.
stop() {
	rm -f pids
	/usr/bin/python3 - "$1" "$D" --verify 3 -- sh -c 'echo $$ >>pids; sleep 30' <<'PY' >out 2>&1
import os, signal, subprocess, sys, time
signal.signal(signal.SIGINT, signal.SIG_DFL)  # a background job's is ignored
sig = getattr(signal, "SIG" + sys.argv[1])
p = subprocess.Popen(sys.argv[2:])
t = time.time()
while not os.path.exists("pids") and time.time() - t < 10:
    time.sleep(0.05)
time.sleep(0.2)
os.kill(p.pid, sig)
rc = p.wait()
print("elapsed %.1f" % (time.time() - t))
sys.exit(rc)
PY
	got=$?
	if [ $got = "$2" ]; then ok "SIG$1 during a verification: status $got"; else bad "SIG$1: status $got, expected $2"; fi
	has "SIG$1: a clear line" "INTERRUPTED by $1 during run 1"
	has "SIG$1: stopped at once" "^elapsed [0-4]\.[0-9]$"
	if [ "$(wc -l <pids)" = 1 ] && ! kill -0 "$(cat pids)" 2>/dev/null; then
		ok "SIG$1: the run's processes are gone and no run started after"
	else bad "SIG$1: processes left or another run started ($(cat pids))"; fi
}
if [ -x /usr/bin/python3 ]; then stop INT 130; stop TERM 143; else skip "stop signals (no /usr/bin/python3)"; fi
t "--progress" 0 "$D" --verify 2 --progress -- true
has "progress line" "^detrun: run 2/2: exit status 0 in [0-9.]+ s; output [0-9a-f]{16}, log [0-9a-f]{16}$"
t "--stream shows run 1's output" 0 "$D" --verify 2 --stream -- sh -c 'echo live-out; echo live-err >&2'
if [ "$(grep -c '^live-out$' out)" = 1 ] && [ "$(grep -c '^live-err$' out)" = 1 ]; then ok "--stream: run 1 only"; else bad "--stream: run 1 only"; fi
t "--progress without --verify" 125 "$D" --progress -- true && has "needs --verify" "--progress needs --verify N"
t "--verify --json identical" 0 "$D" --verify 2 --json -- "$T/detrun_print"
/usr/bin/python3 -c 'import json; d=json.load(open("out")); assert d["v"]==1 and d["verdict"]=="identical" and len(d["runs"])==2 and d["runs"][1]["exit"]==0 and d["runs"][0]["digests"]==d["runs"][1]["digests"], d' 2>/dev/null &&
	ok "--json: verdict, runs, equal digests" || bad "--json identical"
rm -f cnt
t "--verify --json differ" 1 "$D" --verify 2 --json -- "$T/detrun_branchy" cnt events
/usr/bin/python3 -c 'import json; d=json.load(open("out")); f=d["first_divergence"]; assert d["verdict"]=="differ" and f["run"]==2 and f["log"]["kind"]=="event" and f["log"]["records"][1]["detail"]=="len=32 flags=0" and d["run_dir"], d' 2>/dev/null &&
	ok "--json: the first divergence with its records" || bad "--json differ"
t "--verify --json failed" 3 "$D" --verify 2 --json -- sh -c 'exit 4'
/usr/bin/python3 -c 'import json; d=json.load(open("out")); assert d["verdict"]=="failed" and d["failed_run"]==1 and d["runs"][0]["exit"]==4, d' 2>/dev/null &&
	ok "--json: failed run" || bad "--json failed"
rm -f cnt
"$D" --verify 2 --log "$W/vj" -- "$T/detrun_branchy" cnt events >/dev/null 2>&1
t "diff --json" 1 "$D" diff --json vj/run-0001.log vj/run-0002.log
/usr/bin/python3 -c 'import json; d=json.load(open("out")); assert d["verdict"]=="differ" and d["divergence"]["records"][0]["detail"]=="len=16 flags=0" and d["digest"][0]!=d["digest"][1], d' 2>/dev/null &&
	ok "diff --json names the records" || bad "diff --json"
t "diff --help" 0 "$D" diff --help && has "diff usage" "^Usage: detrun diff"
t "diff --compare-log=strict" 1 "$D" diff --compare-log=strict vj/run-0001.log vj/run-0002.log
t "detrun help" 0 "$D" help && has "help usage" "^Usage: detrun"
rm -f cnt
t "--bisect: the culprit call" 1 "$D" --verify 3 --bisect -- "$T/detrun_hashed" cnt culprit
has "bisect header" "^detrun: bisect: 3 runs, 1 process with hashed calls"
has "bisect names the call" "^    cublas cublasGemmEx \(libcublas\)$"
has "bisect why" "^    why:  atomics allowed$"
has "bisect same inputs" "^    inputs:  00000000000000b0 in every run$"
has "bisect outputs" "outputs: run 1 00000000000000c0 run 2 00000000000000c1 run 3 00000000000000c1"
rm -f cnt
t "--bisect: inputs differed first" 1 "$D" --verify 2 --bisect -- "$T/detrun_hashed" cnt inputs
has "bisect: inputs named" "first call whose inputs already differed"
has "bisect: CPU events before it" "the CPU events before it in run 1:"
hasnt "bisect: no culprit" "output differed while its inputs were the same"
rm -f cnt
t "--bisect --json" 1 "$D" --verify 2 --bisect --json -- "$T/detrun_hashed" cnt culprit
/usr/bin/python3 -c 'import json; d=json.load(open("out"))["bisect"]; c=d["culprit"]; assert d["result"]=="culprit" and c["call"]=="cublasGemmEx" and c["ord"]==1 and c["out"]==["00000000000000c0","00000000000000c1"], d' 2>/dev/null &&
	ok "--bisect --json: the culprit" || bad "--bisect --json"
t "--bisect without hashed calls" 0 "$D" --verify 2 --bisect -- true
has "bisect: none" "no hashed call in run 1's log"

echo "== --verify-batch"
# The logs it keeps go to a temporary directory: this one's.
mkdir tb
OLD_TMPDIR=${TMPDIR:-/tmp}
export TMPDIR="$W/tb"
t "--verify-batch=0" 125 "$D" --verify-batch=0 true && has "0 rows refused" "at least 1 row"
t "--verify-batch=0x0" 125 "$D" --verify-batch=0x0 true
t "--verify-batch=1025" 125 "$D" --verify-batch=1025 true && has "the limit named" "expected 0\.\.1024"
t "--verify-batch=x" 125 "$D" --verify-batch=x true && has "bad rows named" "^detrun: --verify-batch: invalid number 'x'"
t "--verify-batch with --verify" 125 "$D" --verify 2 --verify-batch true
t "--verify-batch with --bisect" 125 "$D" --verify-batch --bisect true && has "--bisect still needs --verify" "needs --verify N"
: >exists.log
t "--verify-batch: an existing --log" 125 "$D" --verify-batch --log exists.log true && has "the log must be this run's" "exists: remove it first"
t "--verify-batch: a --log with %p" 125 "$D" --verify-batch --log 'b.%p.log' true
t "--verify-batch: the command fails" 3 "$D" --verify-batch sh -c 'exit 4' && has "failed named" "FAILED" && has "its status" "exit status 4"
t "--verify-batch: nothing batched" 2 "$D" --verify-batch true && has "nothing checked" "NOTHING CHECKED" && has "the log is kept" "log kept in /"
if /usr/bin/python3 -c 'import torch' >/dev/null 2>&1; then
	BM=$SRC/tests/python/batch_models.py
	t "--verify-batch: a batch-variant layer" 1 "$D" --verify-batch=3 /usr/bin/python3 "$BM" variant &&
		has "verdict" "^detrun: verify-batch: /usr/bin/python3, 3 rows per batch.*: DIFFER$" &&
		has "the layer named first" "^  Net.mid: differs in 6 of 6 rows checked \(first: row 0 of 8, element 0, max \|difference\| 0\.007[0-9]*\)$" &&
		hasnt "the layer before it is equal" "^  Net.pre:" &&
		has "the counts" "^  2 batched calls compared: 1 module equal in every row, 4 differ$" &&
		has "the program's output passes" "^calls 2 rand "
	grep -A1 "^detrun: verify-batch:" out | sed -n 2p | grep -q "^  Net.mid:" && ok "the first layer that differs comes first" || bad "the first layer that differs comes first"
	rm -rf tb/*
	t "--verify-batch: a batch-invariant model" 0 "$D" --verify-batch=3 /usr/bin/python3 "$BM" invariant &&
		has "verdict" ": EQUAL$" && has "the counts" "^  2 batched calls compared: 5 modules equal in every row, 0 differ$"
	[ -z "$(ls tb)" ] && ok "an equal verdict leaves no log behind" || bad "an equal verdict leaves no log behind"
	t "--verify-batch=0x2: rows as the shim reads them" 0 "$D" --verify-batch=0x2 --log vb2.log /usr/bin/python3 "$BM" invariant &&
		has "2 rows" "^detrun: verify-batch: /usr/bin/python3, 2 rows per batch.*: EQUAL$"
	[ "$(grep -c '"call":"batch_check","action":"equal"' vb2.log)" = 20 ] &&
		ok "2 rows of each of 5 modules in 2 calls" || bad "2 rows of each of 5 modules in 2 calls"
	t "--verify-batch: calls it cannot rerun" 2 "$D" --verify-batch /usr/bin/python3 "$BM" unsafe &&
		has "why named" "^  skipped: batch of 8 not checked: argument cache is a Cache$"
	"$D" --verify-batch=2 --json /usr/bin/python3 "$BM" variant >out 2>err
	st=$?
	/usr/bin/python3 -c 'import json; d=json.load(open("out")); m=d["differ"]; assert d["v"]==1 and d["verdict"]=="differ" and d["rows"]==2 and d["exit"]==0 and d["calls_checked"]==2 and [x["module"] for x in m]==["Net.mid","Net.pair","Net.post","Net"] and m[0]["rows_differ"]==4 and m[0]["first_diff"]=="0" and d["log"], d' 2>/dev/null &&
		[ "$st" = 1 ] && grep -q "^calls 2 rand" err &&
		ok "--verify-batch --json: the verdict alone on stdout, the program's output on stderr" ||
		bad "--verify-batch --json: the verdict alone on stdout, the program's output on stderr"
	t "--verify-batch --log FILE" 0 "$D" --verify-batch=1 --log vb.log /usr/bin/python3 "$BM" invariant &&
		[ "$(grep -c '"call":"batch_check","action":"equal"' vb.log)" = 10 ] &&
		ok "--log keeps the checker's events, every one (log.first_n raised)" ||
		bad "--log keeps the checker's events, every one (log.first_n raised)"
else
	skip "--verify-batch on torch models (no torch for /usr/bin/python3)"
fi
export TMPDIR="$OLD_TMPDIR"

echo "== docs/CI.md's recipe, as written"
# ci_block N: the Nth sh block of CI.md's "The job, step by step".
ci_block() {
	awk -v n="$1" '/^## The job, step by step/ { on = 1 } /^## GitHub Actions/ { on = 0 }
		on && /^ *```sh$/ { k++; inb = (k == n); next }
		on && /^ *```$/ { inb = 0; next }
		inb { sub(/^   /, ""); print }' "$SRC/docs/CI.md"
}
ci_block 1 >ci-step3.sh
ci_block 2 >ci-step4.sh
if grep -q -- '--verify 2' ci-step3.sh && grep -q 'report --markdown' ci-step4.sh; then
	ok "CI.md: steps 3 and 4 found"
else bad "CI.md: steps 3 and 4 found"; fi
for y in "--verify 2 --log detshim-runs --progress" "--compare stdout --compare 'out/\*.pt' -- python train.py --steps 50"; do
	if [ "$(grep -c -- "$y" "$SRC/docs/CI.md")" = 3 ]; then ok "CI.md: the jobs run step 3 ($y)"; else bad "CI.md: the jobs run step 3 ($y)"; fi
done
if [ -x /usr/bin/python3 ]; then
	mkdir -p ci/bin
	ln -sf /usr/bin/python3 ci/bin/python
	cat >ci/train.py <<'PY'
import os, random, sys
steps = int(sys.argv[sys.argv.index("--steps") + 1])
os.makedirs("out", exist_ok=True)
w = [random.random() for _ in range(4)]
for s in range(steps):
    w = [x * 0.9 + random.random() * 0.1 for x in w]
open("out/model.pt", "wb").write(repr(w).encode())
print("loss %.12f" % sum(w))
if os.environ.get("CRASH"):
    raise SystemExit("RuntimeError: CUDA error: out of memory")
PY
	# ci_job [ENV=VALUE...]: steps 3 and 4 in ci/, as a job runs them.
	ci_job() {
		(cd ci && env PATH="$PWD/bin:$B:$PATH" "$@" sh -e ../ci-step3.sh) >out 2>&1
		st=$?
		(cd ci && env PATH="$PWD/bin:$B:$PATH" sh -e ../ci-step4.sh) >>out 2>&1 || st4=$?
	}
	st4=0
	ci_job
	if [ $st = 0 ]; then ok "CI recipe: a reproducible job passes"; else bad "CI recipe: a reproducible job passes (status $st)"; fi
	has "CI recipe: IDENTICAL" ": IDENTICAL$"
	has "CI recipe: the checkpoint compared" "file out/model.pt: identical"
	has "CI recipe: progress lines" "^detrun: run 2/2: exit status 0"
	if [ $st4 = 0 ] && grep -q '^| getrandom | libc |' ci/detshim-runs/summary.md &&
	   /usr/bin/python3 -c 'import json; json.load(open("ci/detshim-runs/report.json"))'; then
		ok "CI recipe: step 4 writes the summary and the JSON report"
	else bad "CI recipe: step 4 (status $st4)"; fi
	st4=0
	ci_job CRASH=1
	if [ $st = 3 ]; then ok "CI recipe: a job whose runs crash fails (status 3)"; else bad "CI recipe: a crashing job: status $st, expected 3"; fi
	has "CI recipe: FAILED" ": FAILED$"
	has "CI recipe: the crash is shown" "^  \| RuntimeError: CUDA error: out of memory$"
	if [ $st4 = 0 ] && [ -f ci/detshim-runs/run-0001.stderr ]; then ok "CI recipe: the artefact is kept on failure"; else bad "CI recipe: the artefact is kept on failure"; fi
else
	skip "CI recipe (no /usr/bin/python3)"
fi

echo "== shim did not load"
t "--shim missing file" 122 "$D" --shim "$W/none.so" -- true
t "--shim not ELF" 122 "$D" --shim "$W/c.conf" -- true && has "not ELF named" "not an ELF shared object"
t "--shim a library that is not detshim" 122 "$D" --shim "$LIBM" -- "$T/detrun_print"
has "loud message" "detshim did NOT load"
t "DETSHIM_SO a library that is not detshim" 122 env DETSHIM_SO="$LIBM" "$D" -- "$T/detrun_print"
t "verify: not loaded" 122 "$D" --shim "$LIBM" --verify 2 -- "$T/detrun_print"
has "verify names the run" "in run 1"
t "--shim the real shim" 0 "$D" --shim "$B/libdetshim.so" -- true
if cc -static -o static "$SRC/tests/targets/detrun_print.c" 2>/dev/null; then
	t "static binary refused" 122 "$D" -- ./static && has "static named" "statically linked"
	printf '#!%s\n' "$W/static" >script.sh; chmod +x script.sh
	t "script with a static interpreter refused" 122 "$D" -- ./script.sh
else
	skip "static binary (no static libc to link one)"
fi
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	cp "$T/detrun_print" suid && chown nobody suid && chmod 4755 suid
	if grep -qs " $(df -P . | awk 'NR==2 {print $6}') .*nosuid" /proc/mounts; then
		skip "set-uid (nosuid mount)"
	else
		t "set-uid binary refused" 122 "$D" -- ./suid && has "set-uid named" "set-user-ID"
	fi
else
	skip "set-uid (needs root)"
fi

echo "== report"
t "report" 0 "$D" report run.log
has "report config" "^configuration:"
has "report getrandom count" "getrandom +libc +count 1 +replaced=1"
has "report pins" "PYTHONHASHSEED=[0-9]+ \(pinned\)"
has "report fingerprint section" "^device fingerprint:"
t "report --json" 0 "$D" report --json run.log
if command -v python3 >/dev/null 2>&1; then
	if python3 -c 'import json,sys; d=json.load(open("out")); assert d["sources"]["getrandom"]["count"]==1; assert d["processes"]==1' 2>/dev/null; then
		ok "report --json is valid JSON with the counts"
	else bad "report --json is valid JSON with the counts"; fi
else
	has "report --json" '"sources":\{'
fi
printf '%s\n' '{"v":2,"seq":1,"pid":5,"src":"getrandom","call":"getrandom","action":"replaced","ok":true,"n":null,"a":[1,{"b":"]"}],"o":{"x":[]},"detail":"len=1"}' >tol.log
t "report reads lines with keys of any JSON value" 0 "$D" report --json tol.log
/usr/bin/python3 -c 'import json; d=json.load(open("out")); assert d["records"]==1 and d["malformed"]==0, d' 2>/dev/null &&
	ok "unknown keys skipped, not malformed" || bad "unknown keys skipped, not malformed"
t "report --markdown" 0 "$D" report --markdown run.log
has "markdown table" "^\| getrandom \| libc \| 1 \| replaced=1 \|$"
t "report --json --markdown" 125 "$D" report --json --markdown run.log
t "report of several %p logs" 0 "$D" report p.*.log
t "report missing file" 2 "$D" report "$W/none.log"
echo "not json" >junk.log
t "report of a non-log" 2 "$D" report junk.log
t "report without file" 125 "$D" report
t "report bad option" 125 "$D" report --yaml run.log
t "diff usage" 125 "$D" diff run.log

echo "== install"
if make -C "$SRC" -s BUILD="$B" DESTDIR="$W/dest" PREFIX=/usr/local install >out 2>&1; then
	ok "make install DESTDIR"
	for f in usr/local/bin/detrun usr/local/lib/detshim/libdetshim.so \
		 usr/local/share/man/man1/detrun.1 \
		 usr/local/share/man/man5/detshim.conf.5 \
		 usr/local/share/man/man7/detshim.7 \
		 usr/local/share/bash-completion/completions/detrun \
		 usr/local/etc/detshim.conf; do
		if [ -f "$W/dest/$f" ]; then ok "installed $f"; else bad "installed $f"; fi
	done
	t "installed detrun finds the installed shim" 0 "$W/dest/usr/local/bin/detrun" -- env
	has "installed shim used" "^LD_PRELOAD=$W/dest/usr/local/lib/detshim/libdetshim.so$PRE_TAIL$"
	t "installed detrun verifies" 0 "$W/dest/usr/local/bin/detrun" --verify 2 -- "$T/detrun_print"
	if command -v man >/dev/null 2>&1; then
		for m in man1/detrun.1 man5/detshim.conf.5 man7/detshim.7; do
			MANWIDTH=80 env -u LD_PRELOAD man --warnings -l "$W/dest/usr/local/share/man/$m" >man.out 2>man.err
			if [ $? = 0 ] && [ ! -s man.err ] && [ -s man.out ]; then
				ok "man -l $m renders without warnings"
			else
				cp man.err out; bad "man -l $m"
			fi
		done
		MANWIDTH=200 env -u LD_PRELOAD man --nh --nj -l "$W/dest/usr/local/share/man/man5/detshim.conf.5" >out 2>&1
		for k in $(sed -n 's/^[[:space:]]*{ "\([a-z0-9_.]*\)".*/\1/p' "$SRC/shim/config.c") \
			 $(sed -n 's/^[[:space:]]*\[DS_SRC_[A-Z0-9_]*\] = "\([a-z0-9_]*\)",/sources.\1/p' "$SRC/shim/state.c"); do
			if grep -q -- "$k" out; then :; else bad "detshim.conf(5) lacks key $k"; fi
		done
		ok "detshim.conf(5) names every key of shim/config.c and source of shim/state.c"
	else
		skip "man -l (man is not installed)"
	fi
	if make -C "$SRC" -s BUILD="$B" DESTDIR="$W/dest" PREFIX=/usr/local uninstall >out 2>&1 &&
	   [ -z "$(find "$W/dest" -type f)" ]; then
		ok "make uninstall removes every file"
	else
		bad "make uninstall"
	fi
else
	bad "make install DESTDIR"
fi

echo "detrun: $pass passed, $fail failed"
[ "$fail" = 0 ]
