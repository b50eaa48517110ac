#!/bin/sh
# bench/run.sh BUILD - CPU benchmarks of the shim, side by side in one run.
#
# Three modes: plain (no preload), floor (bench/floor.c: a preload whose
# hooks are bare tail jumps, the floor of any interposer) and detshim
# (LD_PRELOAD=libdetshim.so DETSHIM_SEED=1, default policy).
#
# Per call: bench/micro.c and bench/rd.cpp print ns/call (the median of 7
# timed loops each), and micro's "paired:" rows print what a hook adds to a
# call inside one process (PLT against glibc's own function).  They run
# ROUNDS times (default 5) per mode, the modes in rotated order, so that
# drift of a shared machine hits all alike.  Tables give the median over
# the rounds and the spread (min-max over the rounds).
# Processes: bench/startup.c runs each program STARTS times (default 100)
# in every mode, interleaved round by round, and reports the median of the
# per-round differences (and ratios) against plain: a C hello world and
# `python3 -c pass` (start-up; the shim also with a config file,
# conf/detshim.conf, which needs libconfig at run time) and a shell loop of
# LOOP runs of /bin/true (LOOPS rounds).  fork: bench/forkpair.c pairs, in
# one process, FORKS glibc forks with raw fork system calls (no handlers),
# once per round and mode.
# Last: the targets of the CPU cost where nothing is served, each with its
# measured value and whether it is met.
set -eu
BUILD=${1:-build}
ROUNDS=${ROUNDS:-5}
STARTS=${STARTS:-100}
FORKS=${FORKS:-1000}
LOOP=${LOOP:-1000}
LOOPS=${LOOPS:-8}
SO=$(pwd)/$BUILD/libdetshim.so
CONF=$(pwd)/conf/detshim.conf
B=$BUILD/bench
test -f "$SO" || { echo "bench/run.sh: $SO missing (make BUILD=$BUILD)" >&2; exit 1; }
mkdir -p "$B"
${CC:-cc} -O2 -o "$B/micro" bench/micro.c -ldl
${CXX:-c++} -O2 -o "$B/rd" bench/rd.cpp
${CC:-cc} -O2 -o "$B/startup" bench/startup.c
${CC:-cc} -O2 -o "$B/hello" bench/hello.c
${CC:-cc} -O2 -o "$B/forkpair" bench/forkpair.c
${CC:-cc} -O2 -fPIC -shared -o "$B/floor.so" bench/floor.c -ldl
FLOOR=$(pwd)/$B/floor.so

for m in plain floor shim; do : >"$B/$m.txt"; done
run_mode() {
	case $1 in
	plain) "$B/micro" && "$B/rd" && "$B/forkpair" "$FORKS" ;;
	floor) LD_PRELOAD=$FLOOR "$B/micro" && LD_PRELOAD=$FLOOR "$B/rd" &&
	       LD_PRELOAD=$FLOOR "$B/forkpair" "$FORKS" ;;
	shim) LD_PRELOAD=$SO DETSHIM_SEED=1 "$B/micro" &&
	      LD_PRELOAD=$SO DETSHIM_SEED=1 "$B/rd" &&
	      LD_PRELOAD=$SO DETSHIM_SEED=1 "$B/forkpair" "$FORKS" ;;
	esac >>"$B/$1.txt"
}
r=1
while [ "$r" -le "$ROUNDS" ]; do
	case $((r % 3)) in
	1) run_mode plain; run_mode floor; run_mode shim ;;
	2) run_mode floor; run_mode shim; run_mode plain ;;
	0) run_mode shim; run_mode plain; run_mode floor ;;
	esac
	r=$((r + 1))
done

# med FILE...: "name<TAB>median<TAB>min<TAB>max" per row name, in the
# order of the first file.  Rows are "name words... value".
med() {
	awk '
	function med(a, n,   i, j, t) {
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) {
			t = a[j]; a[j] = a[j-1]; a[j-1] = t }
		return a[int((n + 1) / 2)]
	}
	{
		name = $1; for (i = 2; i < NF; i++) name = name " " $i
		if (!(name in seen)) { seen[name] = 1; order[++n] = name }
		k = ++cnt[name]; val[name, k] = $NF
	}
	END {
		for (o = 1; o <= n; o++) {
			name = order[o]; m = cnt[name]; delete a
			for (k = 1; k <= m; k++) a[k] = val[name, k]
			x = med(a, m)
			printf "%s\t%s\t%s\t%s\n", name, x, a[1], a[m]
		}
	}' "$@"
}
for m in plain floor shim; do
	grep -v '^paired:' "$B/$m.txt" | med >"$B/$m.rows"
	grep '^paired:' "$B/$m.txt" | sed 's/^paired: //' | med >"$B/$m.paired"
done

echo "machine: $(nproc) cores, $(uname -m), Linux $(uname -r), $(ldd --version | head -1 | sed 's/^ldd //'), $(${CC:-cc} --version | head -1)"
echo "per call: median of $ROUNDS rounds (each the median of 7 loops), spread = min-max over rounds"
printf '%-30s %9s %15s %9s %15s %6s\n' "ns per call" "plain" "(spread)" "detshim" "(spread)" "ratio"
paste "$B/plain.rows" "$B/shim.rows" | awk -F'\t' '{
	printf "%-30s %9.1f %15s %9.1f %15s %6s\n", $1, $2,
	    sprintf("(%.1f-%.1f)", $3, $4), $6, sprintf("(%.1f-%.1f)", $7, $8),
	    ($2 > 0 ? sprintf("%.2f", $6 / $2) : "-")
}'
echo "added by a hook, paired in one process (PLT minus glibc's own function), ns; plain is the control"
printf '%-42s %8s %8s %8s %12s\n' "" plain floor detshim "detshim net"
paste "$B/plain.paired" "$B/floor.paired" "$B/shim.paired" | awk -F'\t' '{
	printf "%-42s %8.2f %8.2f %8.2f %12.2f\n", $1, $2, $6, $10, $10 - $2
}'

# Processes, all paired against plain round by round.
st() { # st N PROGRAM ARGS... : plain, floor, detshim
	n=$1; shift
	"$B/startup" "$n" plain=- floor="LD_PRELOAD=$FLOOR" \
		detshim="LD_PRELOAD=$SO,DETSHIM_SEED=1" -- "$@"
}
"$B/startup" "$STARTS" plain=- floor="LD_PRELOAD=$FLOOR" \
	detshim="LD_PRELOAD=$SO,DETSHIM_SEED=1" \
	detshim+config="LD_PRELOAD=$SO,DETSHIM_SEED=1,DETSHIM_CONFIG=$CONF" \
	-- "$B/hello" >"$B/start-c.txt"
# The interpreter itself: `python3` may be a wrapper script (pyenv's runs
# a dozen processes, each paying the shim's start-up).
PYBIN=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || echo /bin/true)
"$B/startup" $((STARTS / 2)) plain=- floor="LD_PRELOAD=$FLOOR" \
	detshim="LD_PRELOAD=$SO,DETSHIM_SEED=1" \
	detshim+config="LD_PRELOAD=$SO,DETSHIM_SEED=1,DETSHIM_CONFIG=$CONF" \
	-- "$PYBIN" -c pass >"$B/start-py.txt"
st "$LOOPS" sh -c "i=0; while [ \$i -lt $LOOP ]; do /bin/true; i=\$((i + 1)); done" >"$B/loop.txt"

echo "processes: median (min-max) us, interleaved; added = median of the paired differences against plain"
printf '%-34s %24s %24s %24s %24s\n' "" plain floor detshim "detshim+config"
show() { # show TITLE FILE SCALE UNIT
	awk -v t="$1" -v sc="$3" -v u="$4" '
	{ s[NR] = sprintf("%s (%s-%s)%s", $2, $3, $4, $5 ? " FAILED " $5 : "")
	  a[NR] = NR == 1 ? "" : sprintf("%+.2f %s, %.3fx", $6 / sc, u, $7) }
	END { printf "%-34s %24s %24s %24s %24s\n", t, s[1], s[2], s[3], s[4]
	      printf "%-34s %24s %24s %24s %24s\n", "  added", "", a[2], a[3], a[4] }' "$2"
}
show "C hello world (start-up)" "$B/start-c.txt" 1 us
show "python3 -c pass (start-up)" "$B/start-py.txt" 1 us
show "sh loop of $LOOP /bin/true" "$B/loop.txt" "$LOOP" "us/exec"

# The targets.  Each: measured, target, floor (the same figure for the
# tail-jump preload), met or the named cause.
paired() { awk -F'\t' -v n="$2" '$1 == n { print $2 }' "$B/$1.paired"; }
field() { awk -v l="$2" -v f="$3" '$1 == l { print $f }' "$B/$1.txt"; }
row() { awk -F'\t' -v n="$2" '$1 == n { print $2 }' "$B/$1.rows"; }
echo "targets: cost where nothing is served"
printf '%-44s %10s %8s %10s  %s\n' "" measured target floor met
{
	for row in "read /dev/zero 64 B (an fd not served)|read hook, an fd not served (ns, net)|1|-" \
		   "open+close regular file|open+close of a regular file (ns, net)|10|-" \
		   "openat+close regular file|openat+close of a regular file (ns, net)|10|-" \
		   "fopen+fclose regular file|fopen+fclose of a regular file (ns, net)|10|fopen: the FILE of a random device must be chosen at fopen, and glibc's FILE reads bypass every hook: one fstat per read-only fopen"; do
		name=${row%%|*}; rest=${row#*|}; title=${rest%%|*}; rest=${rest#*|}
		tgt=${rest%%|*}; cause=${rest#*|}
		p=$(paired plain "$name"); f=$(paired floor "$name"); s=$(paired shim "$name")
		echo "$title|$p|$f|$s|$tgt|$cause|net"
	done
	echo "fork: handlers (us per fork, net)|$(row plain "fork handlers (us)")|$(row floor "fork handlers (us)")|$(row shim "fork handlers (us)")|3|fork|net"
	echo "start-up of an exec'd C program (us added)|0|$(field start-c floor 6)|$(field start-c detshim 6)|60|floor|per 1"
	echo "sh loop of $LOOP /bin/true (ratio)|1|$(field loop floor 7)|$(field loop detshim 7)|1.05|floor|ratio"
} | awk -F'|' '{
	title = $1; p = $2 + 0; f = $3 + 0; s = $4 + 0; tgt = $5 + 0; cause = $6; how = $7
	if (how == "net") { m = s - p; fl = f - p }
	else if (how == "ratio") { m = s; fl = f }
	else { split(how, w, " "); d = w[2] + 0; if (d <= 0) d = 1; m = s / d; fl = f / d }
	ok = m <= tgt ? "yes" : "no"
	if (ok == "no" && cause == "fork")
		ok = "no: page faults: the parent writes the fork ordinal and its thread-local copy, the child one data page and the handlers\047 text page"
	else if (ok == "no" && cause == "floor")
		ok = sprintf("no: the floor (any preload) is %.2f of it", fl)
	else if (ok == "no" && cause != "-")
		ok = "no: " cause
	printf "%-44s %10.2f %8s %10.2f  %s\n", title, m, "<= " $5, fl, ok
}'
