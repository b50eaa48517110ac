#!/bin/sh
# The shim must export exactly the symbols its sources mark DS_EXPORT
# (docs/DESIGN.md §8.10): no internal ds_ symbol leaks, no hook is forgotten.
set -eu
so=${1:-build/libdetshim.so}
want=$(mktemp) have=$(mktemp)
trap 'rm -f "$want" "$have"' EXIT
# "DS_EXPORT <type> name(" possibly with pointer stars.
grep -hE '^DS_EXPORT ' shim/*.c cuda_hooks/*.c 2>/dev/null |
	sed -E 's/\(.*//; s/.*[ *]//' | sort -u >"$want"
# Every defined dynamic symbol, of any type (data, BSS, absolute, ...).
nm -D --defined-only "$so" | awk 'NF >= 3 {print $3}' |
	sed 's/@.*//' | grep -vE '^(_init|_fini)$' | sort -u >"$have"
if ! diff -u "$want" "$have"; then
	echo "check_exports: exported symbols differ from DS_EXPORT definitions (- declared, + exported)"
	exit 1
fi
echo "check_exports: $(wc -l <"$have") exported symbols match the DS_EXPORT definitions"
