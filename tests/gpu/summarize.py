"""Distinct hashes per (workload, part, mode) from results.tsv as a markdown
table, with the median wall time per run.  Used by the GPU scripts."""
import collections, statistics, sys

hashes = collections.defaultdict(set)
runs = collections.defaultdict(set)
secs = collections.defaultdict(list)
fails = collections.Counter()
for row in open(sys.argv[1]):
    w, m, r, part, h, s = row.rstrip("\n").split("\t")
    if part == "EXIT":
        fails[(w, m)] += 1
        continue
    hashes[(w, part, m)].add(h)
    runs[(w, part, m)].add(r)
    if (w, m, r) not in {k for k in secs}:
        secs[(w, m, r)].append(float(s))
print("| workload | part | runs | distinct without | distinct with detshim | s/run without | s/run with |")
print("|---|---|---|---|---|---|---|")
for (w, part) in sorted({(w, p) for (w, p, m) in hashes}):
    def med(m):
        v = [secs[k][0] for k in secs if k[0] == w and k[1] == m]
        return "%.1f" % statistics.median(v) if v else "-"
    n = max(len(runs[(w, part, "without")]), len(runs[(w, part, "with")]))
    print("| %s | %s | %d | %d | %d | %s | %s |" % (
        w, part, n, len(hashes[(w, part, "without")]),
        len(hashes[(w, part, "with")]), med("without"), med("with")))
for (w, m), n in sorted(fails.items()):
    print("\n%s %s: %d run(s) exited non-zero" % (w, m, n))
