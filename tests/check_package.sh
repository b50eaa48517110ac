#!/bin/sh
# check_package.sh - build the Debian package from a copy of the tree and
# test it (make check-package; .ci/run).
#
#   1. dpkg-buildpackage -us -uc -b in a scratch copy (DEB_BUILD_OPTIONS=
#      nocheck: make check has tested the tree) gives
#      detshim_<VERSION>_<arch>.deb, whose version is VERSION;
#   2. the package holds the layout of `make install` (same file list),
#      /etc/detshim.conf is a conffile, detrun names the private shim
#      directory and not the build directory;
#   3. lintian reports no error and no warning (when installed);
#   4. as root with detshim not yet installed (a CI container): dpkg -i,
#      then from another directory detrun --verify 2 of a small program,
#      man detrun / detshim.conf / 7 detshim, the bash completion, and
#      dpkg --purge.  Otherwise the installed files are checked in a
#      scratch root (dpkg -x) with --shim naming the unpacked shim.
# Skips (status 0) without dpkg-buildpackage and debhelper.
# Last line: "package: N passed, M failed".
set -u
TOP=$(pwd)
pass=0
fail=0
ok() { pass=$((pass + 1)); printf 'ok   %s\n' "$1"; }
bad() { fail=$((fail + 1)); printf 'FAIL %s\n' "$1"; [ -n "${2:-}" ] && sed 's/^/     | /' "$2" | tail -20; }

if ! command -v dpkg-buildpackage >/dev/null 2>&1 || ! command -v dh >/dev/null 2>&1; then
	echo "skip package test (apt-get install debhelper fakeroot lintian)"
	exit 0
fi
v=$(cat VERSION)
arch=$(dpkg --print-architecture)
W=$(mktemp -d)
installed=0
cleanup() {
	[ $installed = 1 ] && dpkg --purge detshim >/dev/null 2>&1
	rm -rf "$W"
}
trap cleanup EXIT

echo "== dpkg-buildpackage"
mkdir -p "$W/src/detshim"
if [ -d .git ] || git rev-parse --git-dir >/dev/null 2>&1; then
	git ls-files -co --exclude-standard | tar -cf - -T - | tar -xf - -C "$W/src/detshim"
else
	tar -cf - --exclude=./build . | tar -xf - -C "$W/src/detshim"
fi
t0=$(date +%s)
if (cd "$W/src/detshim" && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b) >"$W/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b ($(($(date +%s) - t0)) s)"
else
	bad "dpkg-buildpackage -us -uc -b" "$W/build.log"
	echo "package: $pass passed, $fail failed"
	exit 1
fi
deb=$W/src/detshim_${v}_$arch.deb
if [ -f "$deb" ]; then ok "built $(basename "$deb")"; else bad "no $(basename "$deb") (VERSION $v)"; ls "$W/src" >&2; fi
[ "$(dpkg-deb -f "$deb" Version)" = "$v" ] && ok "package version is VERSION ($v)" || bad "package version"

echo "== contents"
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {sub(/^\./, "", $6); print $6}' | sort >"$W/deb.all"
grep -v -e '^/usr/share/doc/' -e '^/usr/share/lintian/' "$W/deb.all" >"$W/deb.list"
multi=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
make -s -C "$TOP" BUILD="$W/mkbuild" PREFIX=/usr LIBDIR="/usr/lib/$multi" DETRUN_FALLBACK_SO= PY_COMPILER= \
	DESTDIR="$W/mk" install >"$W/mk.log" 2>&1 || bad "make install PREFIX=/usr" "$W/mk.log"
(cd "$W/mk" && find . ! -type d | sed 's/^\.//' | sed 's/\.[1-7]$/&.gz/' | sort) >"$W/mk.list"
if diff "$W/mk.list" "$W/deb.list" >"$W/diff" 2>&1; then
	ok "make install installs the package's layout ($(wc -l <"$W/deb.list") files)"
else
	bad "make install and the package differ (< make install, > package)" "$W/diff"
fi
for f in /usr/bin/detrun "/usr/lib/$multi/detshim/libdetshim.so" /etc/detshim.conf \
	 /usr/share/man/man1/detrun.1.gz /usr/share/man/man5/detshim.conf.5.gz \
	 /usr/share/man/man7/detshim.7.gz /usr/share/bash-completion/completions/detrun; do
	grep -qx "$f" "$W/deb.list" && ok "has $f" || bad "lacks $f"
done
for f in GUIDE.md TROUBLESHOOTING.md CI.md README.md copyright; do
	grep -qx "/usr/share/doc/detshim/$f" "$W/deb.all" && ok "has /usr/share/doc/detshim/$f" ||
		bad "lacks /usr/share/doc/detshim/$f (detshim(7) names GUIDE.md)"
done
mkdir "$W/ctl" && dpkg-deb -e "$deb" "$W/ctl"
grep -qx /etc/detshim.conf "$W/ctl/conffiles" 2>/dev/null && ok "/etc/detshim.conf is a conffile" || bad "conffiles"
mkdir "$W/root" && dpkg-deb -x "$deb" "$W/root"
if strings "$W/root/usr/bin/detrun" | grep -qx "/usr/lib/$multi/detshim"; then
	ok "detrun looks in /usr/lib/$multi/detshim"
else
	bad "detrun does not name /usr/lib/$multi/detshim"
fi
if strings "$W/root/usr/bin/detrun" | grep -q "$W"; then
	bad "detrun embeds the build directory"
else
	ok "detrun embeds no build directory"
fi

echo "== lintian"
if command -v lintian >/dev/null 2>&1; then
	lintian "$W/src/detshim_${v}_$arch.changes" 2>&1 | grep -v 'running with root privileges' >"$W/lintian"
	if grep -q '^[EW]:' "$W/lintian"; then bad "lintian" "$W/lintian"; else ok "lintian: no error, no warning"; fi
else
	echo "skip lintian (apt-get install lintian)"
fi

echo "== installed"
prog="sh -c 'head -c 16 /dev/urandom | od -An -tx1'"
if [ "$(id -u)" = 0 ] && ! dpkg -s detshim >/dev/null 2>&1 && [ "${PKG_INSTALL:-1}" != 0 ]; then
	if dpkg -i "$deb" >"$W/dpkg.log" 2>&1; then installed=1; ok "dpkg -i"; else bad "dpkg -i" "$W/dpkg.log"; fi
	D=/usr/bin/detrun
	shimopt=
	mandir=
else
	echo "(not root, or detshim already installed: checking the unpacked files in a scratch root)"
	D=$W/root/usr/bin/detrun
	shimopt="--shim $W/root/usr/lib/$multi/detshim/libdetshim.so"
	mandir=$W/root
fi
mkdir "$W/elsewhere"
if (cd "$W/elsewhere" && env -u LD_PRELOAD -u DETSHIM_SO PATH=/usr/bin:/bin \
	"$D" $shimopt --verify 2 -- sh -c 'head -c 16 /dev/urandom | od -An -tx1') >"$W/v" 2>&1 &&
   grep -q IDENTICAL "$W/v"; then
	ok "detrun --verify 2 -- $prog from another directory"
else
	bad "detrun --verify 2 from another directory" "$W/v"
fi
a=$(cd "$W/elsewhere" && "$D" $shimopt --seed 7 -- sh -c 'head -c 16 /dev/urandom | od -An -tx1')
b=$(cd "$W/elsewhere" && "$D" $shimopt --seed 7 -- sh -c 'head -c 16 /dev/urandom | od -An -tx1')
c=$(cd "$W/elsewhere" && "$D" $shimopt --seed 8 -- sh -c 'head -c 16 /dev/urandom | od -An -tx1')
[ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" != "$c" ] && ok "one seed, one output; another seed, another" || bad "seeded runs: '$a' '$b' '$c'"
[ "$("$D" --version)" = "detrun (detshim) $v" ] && ok "detrun --version is $v" || bad "detrun --version"
if command -v man >/dev/null 2>&1; then
	for p in "1 detrun" "5 detshim.conf" "7 detshim"; do
		set -- $p
		if [ -n "$mandir" ]; then
			MANWIDTH=80 man --warnings -l "$mandir/usr/share/man/man$1/$2.$1.gz" >"$W/man" 2>"$W/man.err"
		else
			MANWIDTH=80 man --warnings "$1" "$2" >"$W/man" 2>"$W/man.err"
		fi
		if [ $? = 0 ] && [ -s "$W/man" ] && [ ! -s "$W/man.err" ]; then ok "man $1 $2 renders"; else bad "man $1 $2" "$W/man.err"; fi
	done
else
	echo "skip man pages (apt-get install man-db)"
fi
comp=${mandir:-}/usr/share/bash-completion/completions/detrun
if command -v bash >/dev/null 2>&1; then
	out=$(bash -c '. "$1" && complete -p detrun && COMP_WORDS=("$2" --pol) COMP_CWORD=1 && _detrun && echo "${COMPREPLY[*]}" &&
		COMP_WORDS=("$2" --policy "") COMP_CWORD=2 && _detrun && echo "${COMPREPLY[*]}"' _ "$comp" "$D" 2>&1)
	if [ "$out" = "complete -F _detrun detrun
--policy
enforce warn off" ]; then
		ok "bash completion: sourced, --pol<TAB> and --policy <TAB>"
	else
		printf '%s\n' "$out" >"$W/comp"; bad "bash completion" "$W/comp"
	fi
fi
if [ $installed = 1 ]; then
	if dpkg --purge detshim >"$W/dpkg.log" 2>&1 && [ ! -e /usr/bin/detrun ] && [ ! -e /etc/detshim.conf ]; then
		installed=0; ok "dpkg --purge removes it"
	else
		bad "dpkg --purge" "$W/dpkg.log"
	fi
fi
echo "package: $pass passed, $fail failed"
[ $fail = 0 ]
