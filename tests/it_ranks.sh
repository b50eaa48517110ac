#!/bin/sh
# it_ranks.sh - rank-derived streams (no GPU, no launcher needed).
#
#   sh tests/it_ranks.sh BUILD_DIR
#
# The launchers of multi-process jobs (torchrun, srun, mpirun) tell each
# process its rank in a variable; the shim mixes the first one set into
# the process key (shim/config.c, rank_vars; docs/GUIDE.md, "torchrun and
# Slurm").  The variables are read from that list, so every row is
# checked.  A process stands in for a rank by being started with the
# variables a launcher would set; what it prints is the shim's stream
# (tests/targets/entropy.c, and python3's os.urandom).  Checked:
#  - one rank, one stream: the same bytes in two runs, whichever variable
#    carries the rank; another rank, other bytes; a rank, other bytes than
#    no rank;
#  - precedence: with two variables set, the earlier row wins;
#  - a value that is not a clean integer is ignored (logged, not fatal)
#    and the next variable is used; an empty one counts as unset;
#  - tasks that inherit one DETSHIM_LINEAGE (srun or mpirun started
#    under the shim) or that sit at one place in two identical trees (one
#    torchrun per node) still differ by rank;
#  - the log's config record names the rank and its variable.
# Prints "ranks: N passed, M failed" last.
B=${1:-build}
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
SO=$B/libdetshim.so
T=$B/targets/entropy
PY=${PYTHON:-python3}
W=$(mktemp -d "${TMPDIR:-/tmp}/it_ranks.XXXXXX")
trap 'rm -rf "$W"' EXIT
VARS=$(sed -n 's/^[[:space:]]*RANK_VAR("\([A-Z_]*\)"),$/\1/p' shim/config.c)
unset DETSHIM_SEED DETSHIM_CONFIG DETSHIM_LOG DETSHIM_POLICY DETSHIM_LINEAGE \
	DETSHIM_SEED_MODE LD_PRELOAD
# shellcheck disable=SC2086
unset $VARS
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; sed 's/^/     | /' "$W/err" 2>/dev/null | head -10; }
check() { # check NAME CONDITION-COMMAND...
	_what=$1
	shift
	if "$@"; then ok "$_what"; else bad "$_what"; fi
}
if [ "${SANITIZE:-}" = asan ]; then
	echo "skip it_ranks.sh under SANITIZE=asan (ASan shim in uninstrumented sh)"
	echo "ranks: 0 passed, 0 failed"
	exit 0
fi
[ -f "$SO" ] && [ -x "$T" ] || { echo "it_ranks: $SO or $T missing"; echo "ranks: 0 passed, 1 failed"; exit 1; }

# out ENV...: the entropy target's output under the shim with ENV set
out() { env LD_PRELOAD="$SO" DETSHIM_SEED=42 "$@" "$T" 2>"$W/err"; }

set -- $VARS
check "the rank list in shim/config.c has its five rows (read: $*)" [ $# -eq 5 ]
first=$1
none=$(out)
check "no rank: the target prints (${#none} bytes)" [ -n "$none" ]

# ---- one rank, one stream --------------------------------------------
ref1=$(out "$first=1")
ref2=$(out "$first=2")
check "$first=1 and $first=2 differ" [ "$ref1" != "$ref2" ]
check "$first=1 differs from no rank" [ "$ref1" != "$none" ]
for v in $VARS; do
	a=$(out "$v=1")
	b=$(out "$v=1")
	c=$(out "$v=2")
	check "$v=1: same bytes in two runs" [ -n "$a" ] && [ "$a" = "$b" ]
	check "$v=2: other bytes than $v=1" [ "$a" != "$c" ]
	check "$v=1 gives the bytes of $first=1, $v=2 those of $first=2" \
		[ "$a" = "$ref1" ] && [ "$c" = "$ref2" ]
done

# ---- precedence: the earlier row wins --------------------------------
i=0
for hi in $VARS; do
	i=$((i + 1))
	j=0
	for lo in $VARS; do
		j=$((j + 1))
		[ $j -gt $i ] || continue
		got=$(out "$lo=2" "$hi=1")
		check "$hi=1 wins over $lo=2" [ "$got" = "$ref1" ]
	done
done

# ---- values that are not ranks ---------------------------------------
# Another tool's variable is input, not an order: with only LD_PRELOAD
# set too, the program runs and stderr stays empty.
for v in $VARS; do
	rm -f "$W/log"
	env LD_PRELOAD="$SO" "$v=node-a" "$T" >/dev/null 2>"$W/err"
	rc=$?
	got=$(env LD_PRELOAD="$SO" DETSHIM_SEED=42 DETSHIM_LOG="$W/log" "$v=node-a" "$T" 2>>"$W/err")
	check "$v=node-a: runs (exit $rc), nothing on stderr, logged as ignored, no rank mixed" \
		[ $rc -eq 0 ] && [ ! -s "$W/err" ] && [ "$got" = "$none" ] &&
		grep -q "\"ignored\",\"detail\":\"$v is not" "$W/log"
done
for bad in -1 1.5 " 2" 0x 18446744073709551616 "3 "; do
	check "$first='$bad' is ignored" [ "$(out "$first=$bad")" = "$none" ]
done
check "$first= (empty) counts as unset" [ "$(out "$first=")" = "$none" ]
# shellcheck disable=SC2086
set -- $VARS
check "$1=node-a $2=1: the next variable is used" [ "$(out "$1=node-a" "$2=1")" = "$ref1" ]

# ---- launchers that pass one key to every task -----------------------
# srun or mpirun started under the shim hands its environment, with one
# DETSHIM_LINEAGE, to every task; one torchrun per node sits at the same
# place of two identical process trees.  The rank must still separate them.
L=$(env LD_PRELOAD="$SO" DETSHIM_SEED=42 sh -c 'sh -c "printf %s \"\$DETSHIM_LINEAGE\""')
check "a child process inherits a DETSHIM_LINEAGE (${#L} hex digits)" [ ${#L} -eq 64 ]
for v in $VARS; do
	a=$(out DETSHIM_LINEAGE="$L" "$v=0")
	b=$(out DETSHIM_LINEAGE="$L" "$v=1")
	c=$(out DETSHIM_LINEAGE="$L" "$v=1")
	n=$(out DETSHIM_LINEAGE="$L")
	check "one inherited key, $v=0 and $v=1: distinct; $v=1 twice: same" \
		[ "$a" != "$b" ] && [ "$b" = "$c" ] && [ "$a" != "$n" ]
done
node() { env LD_PRELOAD="$SO" DETSHIM_SEED=42 sh -c "RANK=$1 '$T'" 2>"$W/err"; }
check "two identical launcher trees: workers RANK=0 and RANK=4 differ, RANK=4 twice the same" \
	[ "$(node 0)" != "$(node 4)" ] && [ "$(node 4)" = "$(node 4)" ]

# ---- the log says which rank --------------------------------------------
# shellcheck disable=SC2086
set -- $VARS
env LD_PRELOAD="$SO" DETSHIM_LOG="$W/log.cfg" "$4=7" "$5=3" "$T" >/dev/null 2>&1
check "the config record says rank=7($4)" grep -q "rank=7($4) " "$W/log.cfg"
env LD_PRELOAD="$SO" DETSHIM_LOG="$W/log.none" "$T" >/dev/null 2>&1
check "without a rank it says rank=none" grep -q 'rank=none ' "$W/log.none"

# ---- an explicit seed means the same on every rank --------------------
# srand(12345) under mix: H(run seed, seed), not the rank, so ranks that
# seed alike start alike (FSDP, tensor parallelism), as without the shim.
RC=$B/targets/rand_const
if [ -x "$RC" ]; then
	s1=$(env LD_PRELOAD="$SO" DETSHIM_SEED=42 "$first=1" "$RC" 2>/dev/null)
	s2=$(env LD_PRELOAD="$SO" DETSHIM_SEED=42 "$first=2" "$RC" 2>/dev/null)
	s3=$(env LD_PRELOAD="$SO" DETSHIM_SEED=43 "$first=1" "$RC" 2>/dev/null)
	check "srand(12345): $first=1 and $first=2 draw the same, another DETSHIM_SEED differs" \
		[ -n "$s1" ] && [ "$s1" = "$s2" ] && [ "$s1" != "$s3" ]
fi

# ---- a program we did not write: python3's os.urandom ----------------
if "$PY" -c 'import os' 2>/dev/null; then
	pyout() { env LD_PRELOAD="$SO" DETSHIM_SEED=42 "$@" "$PY" -c 'import os; print(os.urandom(16).hex())' 2>"$W/err"; }
	a=$(pyout OMPI_COMM_WORLD_RANK=3)
	b=$(pyout PMI_RANK=3)
	c=$(pyout SLURM_PROCID=4)
	check "python3 os.urandom: OMPI_COMM_WORLD_RANK=3 = PMI_RANK=3, SLURM_PROCID=4 differs" \
		[ ${#a} -eq 32 ] && [ "$a" = "$b" ] && [ "$a" != "$c" ]
else
	echo "skip python3 os.urandom ($PY not found)"
fi

echo "ranks: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
