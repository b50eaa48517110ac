#!/bin/sh
# check_citations.sh - every file a comment or document cites exists, and
# every cited section of a repository document exists in it
# (docs/DESIGN.md §8.11).
#
# Run from the repository root (make check does).  Scans the sources,
# scripts, tests, benchmarks, the Makefile, CI and the documents for:
#  - repository paths: a word starting with one of the tree's top-level
#    folders (shim/, cuda_hooks/, tools/, tests/, bench/, docs/, conf/,
#    .ci/), or a top-level file (Makefile, README.md); the path must exist.
#    A path that is part of a longer one (an upstream repository's
#    docs/..., a URL, $(BUILD)/tests/...) is not ours and is skipped;
#    globs and placeholders (tests/targets/*.c, <lib>.c) are checked up to
#    the folder;
#  - sections of a cited Markdown file: "docs/DESIGN.md §4.2", also lists
#    such as "§2.5, §2.6" and ranges "§2.5-2.6"; each must be the number of
#    a heading in that file ("## §4 ..." or "## 4. ...");
#  - notes that do not ship with the repository: the bare names of the
#    old design, style, cpu and gpu notes (lower case, ending .md), and
#    anything under a research folder outside docs/.
# Issue and pull-request references (owner/repo#N, pytorch#N) and URLs are
# not file citations and are ignored.  This file itself is not scanned (its
# self-test plants dangling citations).  POSIX sh and awk; one pass.
#
# Exit status: 0 when every citation resolves, 1 otherwise (each dangling
# citation printed as FILE:LINE: message).
set -eu

# First prove the check can fail: a small tree with three dangling
# citations among good ones must give exactly those three.
if [ -z "${DS_CITE_INNER:-}" ]; then
	t=$(mktemp -d)
	mkdir -p "$t/docs" "$t/shim"
	printf '# T\n## \302\2471 One\n' >"$t/docs/DESIGN.md"
	printf '/* docs/DESIGN.md \302\2471, docs/DESIGN.md \302\2472; shim/a.c;\n * design.md, shim/gone.c; pytorch#1, a/docs/x.md */\n' \
		>"$t/shim/a.c"
	n=$(DS_CITE_INNER=1 sh "$0" "$t" | grep -c '^shim/a.c:[12]: ') || :
	rm -rf "$t"
	if [ "$n" != 3 ]; then
		echo "check_citations: self-test found $n of 3 planted dangling citations"
		exit 1
	fi
fi

cd "${1:-.}"

# The files that are read for citations.
scan_files() {
	for d in shim cuda_hooks tools tests bench .ci conf; do
		if [ -d "$d" ]; then
			find "$d" -path tests/fuzz/corpus -prune -o \
				-path tests/check_citations.sh -prune -o -type f -print
		fi
	done
	for f in Makefile README.md docs/*.md docs/*.1 docs/*.5; do
		if [ -f "$f" ]; then printf '%s\n' "$f"; fi
	done
}

# Every path that exists (files and folders), for the existence test.
{
	for d in shim cuda_hooks tools tests bench docs conf .ci; do
		if [ -d "$d" ]; then find "$d" -print; fi
	done
	for f in Makefile README.md; do
		if [ -e "$f" ]; then printf '%s\n' "$f"; fi
	done
} >"${TMPDIR:-/tmp}/ds_cite_paths.$$"
trap 'rm -f "${TMPDIR:-/tmp}/ds_cite_paths.$$"' EXIT

# shellcheck disable=SC2046
LC_ALL=C awk -v pathlist="${TMPDIR:-/tmp}/ds_cite_paths.$$" '
BEGIN {
	while ((getline p < pathlist) > 0)
		exists[p] = 1
	close(pathlist)
	bad = 0
}

# Section numbers of the headings of a Markdown file, cached.
function load_anchors(file,    line, t, n) {
	if (file in loaded)
		return
	loaded[file] = 1
	while ((getline line < file) > 0) {
		if (line !~ /^#+ /)
			continue
		t = line
		sub(/^#+ +/, "", t)
		# "§4.2 Title" or "4.2 Title" / "4. Title"
		if (substr(t, 1, 2) == "\302\247")
			t = substr(t, 3)
		if (match(t, /^[0-9]+(\.[0-9]+)*/)) {
			anchor[file SUBSEP substr(t, 1, RLENGTH)] = 1
		}
	}
	close(file)
}

function complain(msg) {
	printf "%s:%d: %s\n", FILENAME, FNR, msg
	bad++
}

# Sections cited right after a Markdown path: text is what follows it.
function check_sections(file, text,    n, num, first) {
	first = 1
	for (;;) {
		if (first) {
			if (!match(text, /^`?,? +\302\247/))
				return
		} else if (!match(text, /^(, *\302\247|(-|\342\200\223)(\302\247)?| and \302\247)[0-9]/)) {
			return
		} else {
			RLENGTH--
		}
		text = substr(text, RLENGTH + 1)
		if (!match(text, /^[0-9]+(\.[0-9]+)*/))
			return
		num = substr(text, 1, RLENGTH)
		text = substr(text, RLENGTH + 1)
		load_anchors(file)
		if (!((file SUBSEP num) in anchor))
			complain("cites " file " \302\247" num \
				 ", which has no such section")
		first = 0
	}
}

{
	line = $0
	# Old notes outside the repository.
	rest = line
	while (match(rest, /(\.\.\/)*(shared\/)?(research\/[A-Za-z0-9_.\/-]*|(design|style|cpu|gpu)\.md)/)) {
		pre = RSTART > 1 ? substr(rest, RSTART - 1, 1) : ""
		tok = substr(rest, RSTART, RLENGTH)
		rest = substr(rest, RSTART + RLENGTH)
		if (pre ~ /[A-Za-z0-9_\/.-]/)
			continue
		complain("cites " tok ", a note that is not in the repository")
	}
	# Repository paths.
	rest = line
	while (match(rest, /(shim|cuda_hooks|tools|tests|bench|docs|conf|\.ci)\/[A-Za-z0-9_.\/+-]*|Makefile|README\.md/)) {
		pre = RSTART > 1 ? substr(rest, RSTART - 1, 1) : ""
		tok = substr(rest, RSTART, RLENGTH)
		rest = substr(rest, RSTART + RLENGTH)
		if (pre ~ /[A-Za-z0-9_\/$-]/)
			continue
		if (substr(rest, 1, 1) ~ /[A-Za-z0-9_]/)
			continue	# part of a longer word
		while (tok ~ /[.,]$/) {
			rest = substr(tok, length(tok)) rest
			tok = substr(tok, 1, length(tok) - 1)
		}
		path = tok
		if (substr(rest, 1, 1) ~ /[*<{%$[?]/)
			sub(/\/[^\/]*$/, "", path)	# a glob: check its folder
		sub(/\/+$/, "", path)
		if (!(path in exists)) {
			complain("cites " tok ", which does not exist")
			continue
		}
		if (path ~ /\.md$/)
			check_sections(path, rest)
	}
}

END {
	if (bad) {
		printf "check_citations: %d dangling citation%s\n", bad,
		       bad == 1 ? "" : "s"
		exit 1
	}
	print "check_citations: every cited file and section exists"
}
' $(scan_files)
