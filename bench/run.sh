#!/bin/sh
# bench/run.sh BUILD - CPU benchmarks of the shim, side by side in one run.
#
# Per call: bench/micro.c and bench/rd.cpp print ns/call (the median of 7
# timed loops each).  They run ROUNDS times (default 5) without the shim
# and with it, alternating which goes first, so that drift of a shared
# machine hits both alike.  The table gives, per call, the median over the
# rounds, the spread (min-max over the rounds) and the ratio of medians.
# Start-up: bench/startup.c runs a C hello world and `python3 -c pass`
# (the interpreter binary python3 resolves to)
# STARTS times (default 100 and 50) in three environments interleaved:
# no shim, the shim, the shim with a config file (conf/detshim.conf, all
# defaults; needs libconfig at run time).
set -eu
BUILD=${1:-build}
ROUNDS=${ROUNDS:-5}
STARTS=${STARTS:-100}
SO=$(pwd)/$BUILD/libdetshim.so
CONF=$(pwd)/conf/detshim.conf
B=$BUILD/bench
test -f "$SO" || { echo "bench/run.sh: $SO missing (make BUILD=$BUILD)" >&2; exit 1; }
mkdir -p "$B"
${CC:-cc} -O2 -o "$B/micro" bench/micro.c -ldl
${CXX:-c++} -O2 -o "$B/rd" bench/rd.cpp
${CC:-cc} -O2 -o "$B/startup" bench/startup.c
${CC:-cc} -O2 -o "$B/hello" bench/hello.c
: >"$B/plain.txt"
: >"$B/shim.txt"
plain() { "$B/micro" && "$B/rd"; }
shim() { LD_PRELOAD=$SO DETSHIM_SEED=1 "$B/micro" && LD_PRELOAD=$SO DETSHIM_SEED=1 "$B/rd"; }
r=1
while [ "$r" -le "$ROUNDS" ]; do
	if [ $((r % 2)) = 1 ]; then
		plain >>"$B/plain.txt"; shim >>"$B/shim.txt"
	else
		shim >>"$B/shim.txt"; plain >>"$B/plain.txt"
	fi
	r=$((r + 1))
done

echo "machine: $(nproc) cores, $(uname -m), Linux $(uname -r), $(ldd --version | head -1 | sed 's/^ldd //'), $(${CC:-cc} --version | head -1)"
echo "per call: median of $ROUNDS rounds (each the median of 7 loops), spread = min-max over rounds"
printf '%-28s %9s %15s %9s %15s %6s\n' "ns per call" "plain" "(spread)" "detshim" "(spread)" "ratio"
# Lines are "name words... value"; the same names in the same order in
# both files.
awk '
function med(a, n,   i, j, t) {
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) {
		t = a[j]; a[j] = a[j-1]; a[j-1] = t }
	return a[int((n + 1) / 2)]
}
FNR == 1 { f++ }
{
	name = $1; for (i = 2; i < NF; i++) name = name " " $i
	if (!(name in seen)) { seen[name] = 1; order[++n] = name }
	k = ++cnt[f, name]; val[f, name, k] = $NF
}
END {
	for (o = 1; o <= n; o++) {
		name = order[o]
		for (g = 1; g <= 2; g++) {
			m = cnt[g, name]; delete a
			for (k = 1; k <= m; k++) a[k] = val[g, name, k]
			md[g] = med(a, m); lo[g] = a[1]; hi[g] = a[m]
		}
		printf "%-28s %9.1f %15s %9.1f %15s %6.2f\n", name, md[1],
		    sprintf("(%.1f-%.1f)", lo[1], hi[1]), md[2],
		    sprintf("(%.1f-%.1f)", lo[2], hi[2]), md[2] / md[1]
	}
}' "$B/plain.txt" "$B/shim.txt"

echo "start-up: whole life of the program, median (min-max) in us, interleaved; python3 = $(python3 -c "import sys; print(sys.executable)")"
st() {
	n=$1; shift
	"$B/startup" "$n" plain=- detshim="LD_PRELOAD=$SO,DETSHIM_SEED=1" \
		detshim+config="LD_PRELOAD=$SO,DETSHIM_SEED=1,DETSHIM_CONFIG=$CONF" -- "$@"
}
st "$STARTS" "$B/hello" >"$B/start-c.txt"
# The interpreter itself: `python3` may be a wrapper script (pyenv's runs
# a dozen processes, each paying the shim's start-up).
PYBIN=$(python3 -c 'import sys; print(sys.executable)')
st $((STARTS / 2)) "$PYBIN" -c pass >"$B/start-py.txt"
printf '%-28s %22s %22s %22s\n' "" plain detshim "detshim+config"
for f in c py; do
	case $f in c) title="C hello world" ;; py) title="python3 -c pass" ;; esac
	awk -v t="$title" '{ m[NR] = $2; s[NR] = sprintf("%s (%s-%s)%s", $2, $3, $4, $5 ? " FAILED " $5 : "") }
		END { printf "%-28s %22s %22s %22s\n", t, s[1], s[2], s[3]
		      printf "%-28s %22s %22s %22s\n", "  added (median)", "", sprintf("%+d", m[2] - m[1]), sprintf("%+d", m[3] - m[1]) }' "$B/start-$f.txt"
done
