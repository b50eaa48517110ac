#!/bin/sh
# check_version.sh BUILD - the one version, in VERSION, is the one that
# detrun --version prints, that the shim writes in its log's config
# record, that debian/changelog packages, that the man pages carry in
# their .TH line, and that NEWS has a section for.  To release: edit
# VERSION, add a debian/changelog entry (dch -v VERSION), a NEWS section,
# and the .TH lines; this test fails until they agree.
set -u
BUILD=${1:-build}
v=$(cat VERSION)
fail=0
ok() { printf 'ok   %s\n' "$1"; }
ko() { printf 'FAIL %s\n' "$1"; fail=1; }
same() { # same WHAT GOT
	if [ "$2" = "$v" ]; then ok "$1: $v"; else ko "$1: '$2', VERSION says '$v'"; fi
}

case $v in
[0-9]*.[0-9]*.[0-9]*) ok "VERSION is $v" ;;
*) ko "VERSION '$v' is not MAJOR.MINOR.PATCH" ;;
esac
same "debian/changelog" "$(sed -n '1s/^detshim (\([^)]*\)).*/\1/p' debian/changelog)"
same "detrun --version" "$("$BUILD/detrun" --version | sed -n 's/^detrun (detshim) //p')"
log=$(mktemp)
env -u DETSHIM_SEED LD_PRELOAD="$(pwd)/$BUILD/libdetshim.so" DETSHIM_LOG="$log" /bin/true
same "the log's config record" "$(sed -n '1s/.*"detail":"version=\([^ ]*\) .*/\1/p' "$log")"
rm -f "$log"
for m in docs/*.[157]; do
	same "$m .TH" "$(sed -n 's/^\.TH .* "detshim \([^"]*\)".*/\1/p' "$m")"
done
if grep -q "^$v (\|($v)" NEWS; then ok "NEWS has a section for $v"; else ko "NEWS has no section for $v"; fi
exit $fail
