#!/bin/sh
# it_reliability.sh BUILD - the reliability checks of docs/measurements/RELIABILITY.md:
# threads, fork/exec/vfork/posix_spawn/clone3 with threads in flight,
# signals, Python multiprocessing, bad input, AT_SECURE, valgrind.
#
#   sh tests/it_reliability.sh build            (tests/integration.sh runs it)
#   SANITIZE=tsan sh tests/it_reliability.sh build/tsan   (make check-sanitize)
#   REL_ROUNDS=1000000 sh tests/it_reliability.sh build   (the long size)
#
# Every program under the shim runs inside `timeout`, so a deadlock fails
# a check instead of hanging the suite.  Prints "reliability: N passed,
# M failed" last and exits non-zero on any failure.
set -u
B=${1:-build}
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
SRC=$(cd "$(dirname "$0")/.." && pwd)
SO=$B/libdetshim.so
T=$B/targets
PY=${PYTHON:-python3}
TO=${REL_TIMEOUT:-120}
ROUNDS=${REL_ROUNDS:-2000}
PRE=$SO
case ${SANITIZE:-} in
asan)
	PRE="$(${CC:-cc} -print-file-name=libasan.so) $SO"
	export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
	ROUNDS=${REL_ROUNDS:-500} ;;
tsan)
	# The targets are built with -fsanitize=thread, so libtsan comes
	# first as their dependency; races in the shim fail the run.
	export TSAN_OPTIONS="halt_on_error=1 exitcode=66"
	ROUNDS=${REL_ROUNDS:-300} ;;
esac
W=$(mktemp -d "${TMPDIR:-/tmp}/it_rel.XXXXXX")
chmod 755 "$W"
trap 'rm -rf "$W"' EXIT
unset DETSHIM_SEED DETSHIM_CONFIG DETSHIM_LOG DETSHIM_POLICY DETSHIM_SEED_MODE \
	DETSHIM_ALGO_CACHE DETSHIM_LINEAGE DETSHIM_LOG_FIRST_N LD_PRELOAD
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
ko() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && [ -f "$2" ] && sed 's/^/     | /' "$2" | head -20; }
check() { _w=$1; shift; if "$@"; then ok "$_w"; else ko "$_w" "$W/err"; fi; }

# run SEED CMD... : under the shim and a timeout; stdout to the caller,
# stderr to $W/err.  Extra DETSHIM_* variables come from the caller's env.
run() {
	_seed=$1; shift
	timeout "$TO" env LD_PRELOAD="$PRE" DETSHIM_SEED="$_seed" "$@" 2>"$W/err"
}

# valid_log FILE MIN: every line a JSON object with the six keys, seq
# unique per pid, at least MIN "replaced" lines.
valid_log() {
	"$PY" - "$1" "$2" <<'EOF'
import json, sys
seen = set()
rep = 0
for n, line in enumerate(open(sys.argv[1], "rb"), 1):
    d = json.loads(line)
    assert set(d) == {"v", "seq", "pid", "src", "call", "action", "detail"}, (n, d)
    assert (d["pid"], d["seq"]) not in seen, (n, d)
    seen.add((d["pid"], d["seq"]))
    rep += d["action"] == "replaced"
assert rep >= int(sys.argv[2]), (rep, sys.argv[2])
EOF
}

# ---- 1. threads -------------------------------------------------------
N=16
export DETSHIM_LOG_FIRST_N=1000000
DETSHIM_LOG="$W/t1.jsonl" run 7 "$T/rel_stress" threads $N "$ROUNDS" >"$W/t1"
check "threads: $N x $ROUNDS rounds run to the end (no crash, no deadlock)" \
	grep -q "^threads $N x $ROUNDS rounds" "$W/t1"
DETSHIM_LOG="$W/t2.jsonl" run 7 "$T/rel_stress" threads $N "$ROUNDS" >"$W/t2"
check "threads: the multiset of drawn values is the same run to run" \
	cmp -s "$W/t1" "$W/t2"
run 8 "$T/rel_stress" threads $N "$ROUNDS" >"$W/t3"
check "threads: another seed draws other values" sh -c "! cmp -s '$W/t1' '$W/t3'"
want=$((N * ROUNDS * 4))
[ "$want" -gt 4000000 ] && want=4000000 # first_n caps each of 4 sites at 1M
if valid_log "$W/t1.jsonl" "$want" 2>"$W/err" && valid_log "$W/t2.jsonl" "$want" 2>"$W/err"; then
	ok "threads: every log line is whole JSON ($want+ replaced events, 2 runs)"
else
	ko "threads: every log line is whole JSON ($want+ replaced events, 2 runs)" "$W/err"
fi
rm -f "$W"/t*.jsonl
unset DETSHIM_LOG_FIRST_N

# ---- 2. processes with threads in flight ---------------------------------
F=5
# TSan intercepts fork but not the clone3 system call: a raw clone child
# inherits TSan's internal locks held and can hang inside TSan.
CL= KINDS=4 WHAT="fork, vfork+execve, posix_spawn, clone3"
[ "${SANITIZE:-}" = tsan ] && CL=noclone KINDS=3 WHAT="fork, vfork+execve, posix_spawn"
run 7 "$T/rel_stress" fork 8 $F $CL >"$W/f1"; frc=$?
check "fork: $F x $WHAT with 8 threads in flight (exit $frc)" \
	[ "$(wc -l <"$W/f1")" -eq $((KINDS * F)) ]
run 7 "$T/rel_stress" fork 8 $F $CL >"$W/f2"
grep -v '^clone3' "$W/f1" | sort >"$W/f1s"
grep -v '^clone3' "$W/f2" | sort >"$W/f2s"
check "fork: fork, vfork+exec and posix_spawn children draw the same run to run" \
	cmp -s "$W/f1s" "$W/f2s"
check "fork: every child draws its own values" \
	[ "$(awk '{print $NF}' "$W/f1s" | sort -u | wc -l)" -eq $((3 * F)) ]
timeout "$TO" "$T/rel_stress" fork 8 $F $CL 2>"$W/err" | grep -v '^clone3' | sort >"$W/f3s"
check "fork: without the shim the children differ (test can fail)" \
	sh -c "! cmp -s '$W/f1s' '$W/f3s'"

# ---- 3. signals -------------------------------------------------------
S=${REL_SIGNALS:-20000}
[ -n "${SANITIZE:-}" ] && S=2000
DETSHIM_LOG="$W/s.jsonl" run 7 "$T/rel_stress" signals $S >"$W/s1"
check "signals: $S handlers calling getrandom/read/getentropy while main does too" \
	grep -q "^signals $S handled" "$W/s1"
check "signals: the log stays whole JSON" valid_log "$W/s.jsonl" 1

# ---- 4. Python multiprocessing with threads in flight -------------------
if [ "${SANITIZE:-}" != tsan ] && "$PY" -c 'import multiprocessing' 2>/dev/null; then
	run 7 "$PY" "$SRC/tests/targets/rel_py_mp.py" >"$W/p1"
	check "python: fork, spawn, forkserver workers with 4 threads drawing in the parent" \
		[ "$(wc -l <"$W/p1")" -eq 9 ]
	run 7 "$PY" "$SRC/tests/targets/rel_py_mp.py" >"$W/p2"
	check "python: every worker draws the same run to run" cmp -s "$W/p1" "$W/p2"
	timeout "$TO" "$PY" "$SRC/tests/targets/rel_py_mp.py" >"$W/p3" 2>"$W/err"
	check "python: without the shim the workers differ (test can fail)" \
		sh -c "! cmp -s '$W/p1' '$W/p3'"
fi

if [ "${SANITIZE:-}" = tsan ]; then
	echo "reliability: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
fi

# ---- semantics preserved (beyond tests/targets/semantics.c) --------------
timeout "$TO" "$T/rel_semantics" >"$W/sem0" 2>"$W/err"
check "semantics: the contracts hold without the shim (the test is right)" \
	grep -qx 'rel_semantics ok' "$W/sem0"
run 7 "$T/rel_semantics" >"$W/sem1"
check "semantics: write-only urandom EBADF, wrapping range EFAULT, readv, O_NONBLOCK /dev/random, GRND_RANDOM|GRND_NONBLOCK under the shim" \
	grep -qx 'rel_semantics ok' "$W/sem1"

# ---- exported CUDA names in a program without CUDA ----------------------
timeout "$TO" "$T/rel_cuda_names" "$B/fakes/libcublas.so.13" >"$W/cn0" 2>"$W/err"
check "CUDA names: without the shim, absent until a library is global (the test is right)" \
	sh -c "grep -qx 'start cublasCreate_v2 absent (dlerror set)' '$W/cn0' && grep -qx 'global cublasCreate_v2 found' '$W/cn0'"
run 7 "$T/rel_cuda_names" "$B/fakes/libcublas.so.13" >"$W/cn1"
check "CUDA names: dlsym(RTLD_DEFAULT) finds a hook's name only when its library is global, as without the shim" \
	cmp -s "$W/cn0" "$W/cn1"

# ---- sanitized programs: a target built with -fsanitize=address --------
if [ -z "${SANITIZE:-}" ] && printf '#include <stdio.h>\n#include <stdlib.h>\n#include <sys/random.h>\nint main(int argc,char**argv){(void)argv;unsigned long long v=0;if(getrandom(&v,8,0)!=8)return 3;printf("%%016llx\\n",v);if(argc>1)printf("%%s\\n",getenv("ASAN_OPTIONS"));return 0;}\n' >"$W/asan.c" &&
	${CC:-cc} -fsanitize=address -o "$W/asan_t" "$W/asan.c" 2>/dev/null; then
	run 7 "$W/asan_t" >/dev/null
	_r0=$?
	check "ASan target under a bare LD_PRELOAD: ASan refuses to start (rc=$_r0; the test can fail)" [ "$_r0" -eq 1 ]
	timeout "$TO" "$B/detrun" -s 7 -- "$W/asan_t" >"$W/as1" 2>"$W/err"; _r1=$?
	timeout "$TO" "$B/detrun" -s 7 -- "$W/asan_t" >"$W/as2" 2>>"$W/err"; _r2=$?
	"$W/asan_t" >"$W/as0"
	check "ASan target under detrun: runs (rc=$_r1, $_r2), served (same value twice, not the kernel's)" \
		sh -c "[ $_r1 -eq 0 ] && [ $_r2 -eq 0 ] && [ -s '$W/as1' ] && cmp -s '$W/as1' '$W/as2' && ! cmp -s '$W/as0' '$W/as1'"
	timeout "$TO" env ASAN_OPTIONS=detect_leaks=1 "$B/detrun" -s 7 -- "$W/asan_t" env >"$W/as3" 2>"$W/err"
	check "ASan target under detrun: the user's ASAN_OPTIONS are kept, the link-order check added" \
		grep -qx 'detect_leaks=1:verify_asan_link_order=0' "$W/as3"
else
	echo "skip ASan target (no -fsanitize=address here, or a sanitizer build)"
fi

# ---- lineage: system, popen, execveat, a large environment --------------
for mode in system execveat bigenv; do
	(cd "$W" && run 7 "$T/rel_lineage" $mode >"$W/lin1")
	_r1=$?
	(cd "$W" && run 7 "$T/rel_lineage" $mode >"$W/lin2")
	check "lineage $mode: runs (rc=$_r1), same values with one seed" \
		sh -c "[ $_r1 -eq 0 ] && [ \$(wc -l <'$W/lin1') -ge 2 ] && cmp -s '$W/lin1' '$W/lin2'"
	check "lineage $mode: every child has its own key (no value twice)" \
		sh -c "[ -z \"\$(awk '{print \$2}' '$W/lin1' | sort | uniq -d)\" ]"
done

# ---- seeding after seccomp strict mode -----------------------------------
# tests/targets/rel_seccomp.c seed: srand, srandom, srand48, srand(time)
# and initstate after prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT).  The
# seeding hooks judge on what provenance recorded before the sandbox: no
# system call and no rdtsc (strict mode makes it fault on x86).
timeout "$TO" "$T/rel_seccomp" seed >"$W/ss0" 2>"$W/err"; _r0=$?
check "seccomp seed: srand/srandom/srand48/initstate after strict mode run without the shim (rc=$_r0)" \
	sh -c "[ $_r0 -eq 0 ] && [ \$(wc -l <'$W/ss0') -eq 6 ]"
DETSHIM_LOG=$W/ss1.jsonl run 7 "$T/rel_seccomp" seed >"$W/ss1"; _r1=$?
sleep 1
DETSHIM_LOG=$W/ss2.jsonl run 7 "$T/rel_seccomp" seed >"$W/ss2"; _r2=$?
check "seccomp seed: the same calls under the shim with a log run (rc=$_r1, $_r2), 6 lines" \
	sh -c "[ $_r1 -eq 0 ] && [ $_r2 -eq 0 ] && [ \$(wc -l <'$W/ss1') -eq 6 ]"
check "seccomp seed: same values twice with one seed, srand(time(NULL)) included (a second apart)" \
	cmp -s "$W/ss1" "$W/ss2"
check "seccomp seed: the log says before the sandbox how seeds are judged in it" \
	grep -q '"src":"libc_rand","call":"seccomp","action":"observed"' "$W/ss1.jsonl"
DETSHIM_SEED_MODE=respect run 7 "$T/rel_seccomp" seed >"$W/ss3"; _r3=$?
check "seccomp seed: with seed_mode respect the explicit seeds give the values of the run without the shim (rc=$_r3)" \
	sh -c "[ $_r3 -eq 0 ] && grep -v time '$W/ss0' >'$W/ss0x' && grep -v time '$W/ss3' | cmp -s - '$W/ss0x'"

# ---- stdio and zero-copy reads of the random devices --------------------
echo "a line of the file" >"$W/line.txt"
timeout "$TO" "$T/rel_stdio" contracts "$W/line.txt" >"$W/stdio0" 2>"$W/err"
check "stdio: the contracts run without the shim (freopen, setvbuf, fseek, ftell, fileno)" \
	grep -qx 'copy_file_range=-1 errno=22' "$W/stdio0"
echo "a line of the file" >"$W/line.txt"
run 7 "$T/rel_stdio" contracts "$W/line.txt" >"$W/stdio1"
check "stdio: a FILE on /dev/urandom keeps every contract under the shim (same output as without)" \
	cmp -s "$W/stdio0" "$W/stdio1"
run 7 "$T/rel_stdio" values </dev/urandom >"$W/val1"
run 7 "$T/rel_stdio" values </dev/urandom >"$W/val2"
timeout "$TO" "$T/rel_stdio" values </dev/urandom >"$W/val0" 2>/dev/null
check "stdio: fread of a FILE and of stdin on the device, sendfile, splice: same with one seed" \
	sh -c "[ \$(wc -l <'$W/val1') -eq 6 ] && cmp -s '$W/val1' '$W/val2'"
for k in fopen_fread stdin_fread sendfile splice freopen_stdin; do
	check "stdio: $k differs without the shim (the test can fail)" \
		sh -c "! grep -qx \"\$(grep '^$k ' '$W/val1')\" '$W/val0'"
done
timeout "$TO" "$T/rel_stdio" wide </dev/urandom >"$W/wide0" 2>"$W/err"; _r0=$?
DETSHIM_LOG=$W/wide.jsonl run 7 "$T/rel_stdio" wide </dev/urandom >"$W/wide1"; _r1=$?
check "stdio: wide reads (fwide, fgetwc, getwc, fgetws, fwscanf, ungetwc, getwchar) of FILEs on the device: same results as without the shim (rc=$_r0, $_r1)" \
	sh -c "[ $_r0 -eq 0 ] && [ $_r1 -eq 0 ] && [ \$(wc -l <'$W/wide0') -eq 17 ] && cmp -s '$W/wide0' '$W/wide1'"
check "stdio: the log says a FILE read wide is left to the kernel" \
	grep -q '"call":"wide-character read","action":"released"' "$W/wide.jsonl"
run 7 od -An -N8 -tx8 </dev/urandom >"$W/od1"
run 7 od -An -N8 -tx8 </dev/urandom >"$W/od2"
od -An -N8 -tx8 </dev/urandom >"$W/od0"
check "stdio: od -N8 < /dev/urandom (stdin open on the device at exec) is reproducible" \
	sh -c "[ -s '$W/od1' ] && cmp -s '$W/od1' '$W/od2' && ! cmp -s '$W/od1' '$W/od0'"

# ---- 5. bad input: what the user sees ----------------------------------
E=$T/entropy
# bad NAME STATUS PATTERN ENV...: the job exits STATUS and stderr carries
# PATTERN exactly once.
bad() {
	_n=$1 _st=$2 _pat=$3; shift 3
	timeout "$TO" env LD_PRELOAD="$PRE" "$@" "$E" >"$W/o" 2>"$W/err"
	_rc=$?
	_c=$(grep -c -- "$_pat" "$W/err")
	if [ "$_rc" -eq "$_st" ] && [ "$_c" -eq 1 ] &&
	   { [ "$_st" -ne 0 ] || [ -s "$W/o" ]; }; then
		ok "bad input: $_n -> exit $_st, reported once"
	else
		ko "bad input: $_n -> exit $_st, reported once (got $_rc, $_c lines)" "$W/err"
	fi
}
head -c 1100000 /dev/zero | tr '\0' '#' >"$W/big.conf"
bad "config over 1 MiB" 2 "too large" DETSHIM_CONFIG="$W/big.conf"
bad "config over 1 MiB, policy warn" 0 "too large" DETSHIM_CONFIG="$W/big.conf" DETSHIM_POLICY=warn
mkdir "$W/dir.conf"
bad "config is a directory" 2 "not a regular file" DETSHIM_CONFIG="$W/dir.conf"
bad "config is a directory, policy warn" 0 "not a regular file" DETSHIM_CONFIG="$W/dir.conf" DETSHIM_POLICY=warn
bad "config is /dev/null (a device)" 2 "not a regular file" DETSHIM_CONFIG=/dev/null
bad "config below a regular file" 2 "Not a directory" DETSHIM_CONFIG=/etc/passwd/x.conf
printf 'seed = 1;\nlog = { first_n = "many"; };\n' >"$W/type.conf"
bad "config with a wrong type" 2 "type.conf:2" DETSHIM_CONFIG="$W/type.conf"
printf 'seed = "1\n' >"$W/syntax.conf"
bad "config with a syntax error" 2 "syntax.conf:" DETSHIM_CONFIG="$W/syntax.conf"
printf '\377\376\000binary' >"$W/bin.conf"
bad "config of binary bytes" 2 "bin.conf:" DETSHIM_CONFIG="$W/bin.conf"
printf 'seed = 1;\n@include "/dev/zero"\n' >"$W/inc.conf"
bad "config with @include (would read another file)" 2 "inc.conf:2: @include is not supported" DETSHIM_CONFIG="$W/inc.conf"
printf 'seed = "1\nDETSHIM: fake line";\n' >"$W/nl.conf"
bad "config value holding a newline -> still one line" 2 "invalid seed '1?DETSHIM: fake line'" DETSHIM_CONFIG="$W/nl.conf"
bad "log in a missing directory" 0 "cannot open the log" DETSHIM_LOG="$W/nodir/x.jsonl"
bad "log path with an unknown %-escape" 0 "cannot open the log" DETSHIM_LOG="$W/x-%q.jsonl"
bad "log path longer than PATH_MAX" 0 "cannot open the log" DETSHIM_LOG="$W/$(head -c 4000 /dev/zero | tr '\0' a)/%p/x"
bad "log on /dev/full (disk full)" 0 "cannot write the log" DETSHIM_LOG=/dev/full
bad "log is a directory" 0 "cannot open the log" DETSHIM_LOG="$W/dir.conf"
timeout "$TO" env LD_PRELOAD="$PRE" DETSHIM_LOG=/dev/full DETSHIM_LOG_FIRST_N=1000000 \
	"$T/rel_stress" threads 16 200 >"$W/o" 2>"$W/err"
rc=$?
check "bad input: /dev/full with 16 threads logging -> runs, reported once" \
	sh -c "[ $rc -eq 0 ] && [ \$(grep -c 'cannot write the log' '$W/err') -eq 1 ]"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	# Permission checks need a user that root's capabilities do not
	# override: run the job as nobody.
	asnobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
	mkdir "$W/ro" && chmod 555 "$W/ro"
	printf 'seed = 1;\n' >"$W/secret.conf" && chmod 600 "$W/secret.conf"
	if asnobody test -r "$SO" && asnobody test -x "$E"; then
		asnobody env LD_PRELOAD="$PRE" DETSHIM_LOG="$W/ro/x.jsonl" "$E" >"$W/o" 2>"$W/err"
		rc=$?
		check "bad input: log in a read-only directory -> runs, reported once" \
			sh -c "[ $rc -eq 0 ] && [ -s '$W/o' ] && [ \$(grep -c 'cannot open the log' '$W/err') -eq 1 ]"
		asnobody env LD_PRELOAD="$PRE" DETSHIM_CONFIG="$W/secret.conf" "$E" >"$W/o" 2>"$W/err"
		rc=$?
		check "bad input: unreadable config -> exit 2, reported once" \
			sh -c "[ $rc -eq 2 ] && [ \$(grep -c 'Permission denied' '$W/err') -eq 1 ]"
	else
		echo "skip permission checks (the build is not readable by nobody)"
	fi
fi

# ---- 6. secure execution (AT_SECURE) -----------------------------------
# A setgid binary gets AT_SECURE; ld.so then ignores LD_PRELOAD paths, so
# the shim comes in as a DT_NEEDED library found through an absolute
# RUNPATH (which secure mode honours).  Root can make a setgid file here.
if [ -z "${SANITIZE:-}" ] && [ "$(id -u)" = 0 ] && command -v "${CC:-cc}" >/dev/null; then
	cat >"$W/sec.c" <<'EOF'
#include <stdio.h>
#include <sys/auxv.h>
#include <sys/random.h>
int main(void)
{
	unsigned long long v = 0;
	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		return 1;
	printf("secure=%lu %016llx\n", getauxval(AT_SECURE), v);
	return 0;
}
EOF
	${CC:-cc} -o "$W/sec" "$W/sec.c" -Wl,--no-as-needed "$SO" -Wl,-rpath,"$B" 2>"$W/err"
	cp "$W/sec" "$W/sec-gid" && chgrp 65534 "$W/sec-gid" && chmod 2755 "$W/sec-gid"
	secenv() { env DETSHIM_SEED=1 DETSHIM_LOG="$W/sec.jsonl" DETSHIM_CONFIG="$W/dir.conf" "$@"; }
	secenv "$W/sec-gid" >"$W/g1" 2>"$W/err"; rc=$?
	if grep -q 'secure=1' "$W/g1"; then
		secenv "$W/sec-gid" >"$W/g2" 2>>"$W/err"
		check "AT_SECURE: runs although DETSHIM_CONFIG names a directory (not read)" [ $rc -eq 0 ]
		check "AT_SECURE: no log written (DETSHIM_LOG ignored)" [ ! -e "$W/sec.jsonl" ]
		check "AT_SECURE: entropy not replaced (two runs differ)" sh -c "! cmp -s '$W/g1' '$W/g2'"
		check "AT_SECURE: nothing on stderr" [ ! -s "$W/err" ]
		env DETSHIM_SEED=1 DETSHIM_LOG="$W/nsec.jsonl" "$W/sec" >"$W/n1" 2>"$W/err"
		env DETSHIM_SEED=1 "$W/sec" >"$W/n2" 2>>"$W/err"
		check "AT_SECURE contrast: the same binary without setgid is pinned and logs" \
			sh -c "grep -q secure=0 '$W/n1' && cmp -s '$W/n1' '$W/n2' && [ -s '$W/nsec.jsonl' ]"
		# Loaded without LD_PRELOAD and without any DETSHIM_* variable
		# (as through /etc/ld.so.preload): nobody asked, nothing pinned.
		env -u PYTHONHASHSEED "$W/sec" >"$W/u1" 2>"$W/err"
		env -u PYTHONHASHSEED "$W/sec" >"$W/u2" 2>>"$W/err"
		check "not asked: loaded with no DETSHIM_* variable and no LD_PRELOAD -> entropy untouched" \
			sh -c "! cmp -s '$W/u1' '$W/u2' && [ ! -s '$W/err' ]"
	else
		echo "skip AT_SECURE checks (setgid not honoured under $W: nosuid mount?)"
	fi
fi

# ---- 7. valgrind over the target programs --------------------------------
if [ -z "${SANITIZE:-}" ] && command -v valgrind >/dev/null; then
	vg() {
		timeout 300 env LD_PRELOAD="$SO" DETSHIM_SEED=3 DETSHIM_LOG="$W/vg.jsonl" \
			valgrind -q --error-exitcode=99 --leak-check=no \
			--trace-children=no "$@" >/dev/null 2>"$W/err"
	}
	for t in entropy semantics rel_semantics urandom_paths urandom_fortify rand_time random_device demo_train; do
		[ -x "$T/$t" ] || continue
		vg "$T/$t"
		check "valgrind: $t under the shim, no memcheck error" [ $? -eq 0 ]
	done
	vg "$T/rel_stdio" contracts "$W/line.txt"
	check "valgrind: rel_stdio contracts under the shim, no memcheck error" [ $? -eq 0 ]
	vg "$T/rel_stress" threads 4 100
	check "valgrind: rel_stress threads under the shim, no memcheck error" [ $? -eq 0 ]
	vg "$T/rel_stress" signals 200
	check "valgrind: rel_stress signals under the shim, no memcheck error" [ $? -eq 0 ]
elif [ -n "${SANITIZE:-}" ]; then
	echo "skip valgrind checks (sanitizer build SANITIZE=$SANITIZE: valgrind and sanitizers do not mix)"
else
	echo "skip valgrind checks (valgrind is not installed: apt-get install valgrind)"
fi

echo "reliability: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
