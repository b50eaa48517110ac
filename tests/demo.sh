#!/bin/sh
# demo.sh BUILD - the README's first command: one nondeterministic
# program, run twice without detshim and twice with it.
set -eu
BUILD=${1:-build}
prog=$BUILD/targets/demo_train
so=$(pwd)/$BUILD/libdetshim.so
log=$BUILD/demo-log.jsonl
rm -f "$log"
echo "== without detshim: two runs of $prog"
a=$("$prog"); echo "   run 1: $a"
sleep 1
b=$("$prog"); echo "   run 2: $b"
echo "== with detshim (LD_PRELOAD=$so DETSHIM_SEED=42)"
c=$(LD_PRELOAD=$so DETSHIM_SEED=42 DETSHIM_LOG=$log "$prog"); echo "   run 1: $c"
d=$(LD_PRELOAD=$so DETSHIM_SEED=42 "$prog"); echo "   run 2: $d"
e=$(LD_PRELOAD=$so DETSHIM_SEED=43 "$prog")
echo "== with detshim and another seed (DETSHIM_SEED=43)"
echo "   run 1: $e"
# The log must be valid JSON lines.
while IFS= read -r line; do
	printf '%s\n' "$line" | python3 -m json.tool >/dev/null
done <"$log"
echo "== what detshim intercepted (log: $log, $(wc -l <"$log") JSON lines, each checked with python3 -m json.tool)"
grep -o '"src":"[a-z_0-9]*","call":"[^"]*","action":"[a-z-]*"' "$log" |
	sort | uniq -c | sed 's/^/   /'
if [ "$a" != "$b" ] && [ "$c" = "$d" ] && [ "$c" != "$e" ]; then
	echo "RESULT: different every run without detshim; identical with it; a new seed gives a new (again reproducible) run."
else
	echo "RESULT: unexpected - see the runs above" >&2
	exit 1
fi
