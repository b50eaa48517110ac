#!/bin/sh
# bench/run.sh BUILD - CPU micro-benchmarks, side by side in one run:
# ns/call without the shim and with it (median of 7), plus start-up.
set -eu
BUILD=${1:-build}
SO=$(pwd)/$BUILD/libdetshim.so
mkdir -p "$BUILD/bench"
${CC:-cc} -O2 -o "$BUILD/bench/micro" bench/micro.c
${CXX:-c++} -O2 -o "$BUILD/bench/rd" bench/rd.cpp
"$BUILD/bench/micro" >"$BUILD/bench/plain.txt"
"$BUILD/bench/rd" >>"$BUILD/bench/plain.txt"
LD_PRELOAD=$SO DETSHIM_SEED=1 "$BUILD/bench/micro" >"$BUILD/bench/shim.txt"
LD_PRELOAD=$SO DETSHIM_SEED=1 "$BUILD/bench/rd" >>"$BUILD/bench/shim.txt"
echo "machine: $(nproc) cores, $(uname -r), $(ldd --version | head -1)"
printf '%-26s %10s %10s %8s\n' "ns per call" "plain" "detshim" "ratio"
paste "$BUILD/bench/plain.txt" "$BUILD/bench/shim.txt" | awk '{
	n = NF / 2; name = ""
	for (i = 1; i < n; i++) name = name (i > 1 ? " " : "") $i
	printf "%-26s %10.1f %10.1f %8.2f\n", name, $n, $NF, $NF / $n }'
# Start-up: 200 runs of /bin/true, and 20 of python3 -c pass.
t() { s=$(date +%s%N); i=0; while [ $i -lt "$2" ]; do $1 >/dev/null; i=$((i + 1)); done; echo $(( ($(date +%s%N) - s) / $2 / 1000 )); }
a=$(t /bin/true 200); b=$(LD_PRELOAD=$SO t /bin/true 200)
printf '%-26s %8s us %8s us\n' "start-up /bin/true" "$a" "$b"
a=$(t "python3 -c pass" 20); b=$(LD_PRELOAD=$SO t "python3 -c pass" 20)
printf '%-26s %8s us %8s us\n' "start-up python3 -c pass" "$a" "$b"
