#!/bin/sh
# The shim must export exactly the symbols its sources mark DS_EXPORT
# (style.md §10): no internal ds_ symbol leaks, no hook is forgotten.
set -eu
so=${1:-build/libdetshim.so}
want=$(mktemp) have=$(mktemp)
trap 'rm -f "$want" "$have"' EXIT
# "DS_EXPORT <type> name(" possibly with pointer stars, and
# "EXPORT_<FAMILY>(name, ...)": a macro that defines one DS_EXPORT hook.
{
	grep -hE '^DS_EXPORT ' shim/*.c cuda_hooks/*.c 2>/dev/null |
		sed -E 's/\(.*//; s/.*[ *]//'
	grep -hE '^EXPORT_[A-Z0-9_]+\(' shim/*.c cuda_hooks/*.c 2>/dev/null |
		sed -E 's/^[A-Z0-9_]+\(([A-Za-z0-9_]+).*/\1/'
} | sort -u >"$want"
nm -D --defined-only "$so" | awk '$2 ~ /^[TWiV]$/ {print $3}' |
	sed 's/@.*//' | grep -vE '^(_init|_fini)$' | sort -u >"$have"
if ! diff -u "$want" "$have"; then
	echo "check_exports: exported symbols differ from DS_EXPORT definitions (- declared, + exported)"
	exit 1
fi
echo "check_exports: $(wc -l <"$have") exported symbols match the DS_EXPORT definitions"
