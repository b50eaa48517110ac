#!/bin/sh
# tests/gpu/run_cudnn.sh - the cuDNN part of the real-GPU suite (issue 3).
#
#   sh tests/gpu/run_cudnn.sh [BUILD] [OUTDIR] [RUNS]
#
# For each workload: RUNS runs without detshim, RUNS with it (default
# mode), one recording run that writes a DETSHIM_ALGO_CACHE file while the
# autotuner is free (DETSHIM_CUDNN_CHOICE=any), then RUNS runs pinned by
# that file; plus PyTorch's own deterministic mode for ResNet-18.  Prints
# (and writes to OUTDIR/table.md) the distinct weight hashes and median
# step time per variant.  Needs a CUDA GPU, python3 with torch and
# torchvision, and BUILD/libdetshim.so.  Each run's raw line is in
# OUTDIR/raw.txt, the shim's JSON log of the first run of each variant in
# OUTDIR/log-*.jsonl, every run's stderr in OUTDIR/stderr.txt.
# WORKLOADS overrides the list: items workload:mode[:variants], variants a
# comma list of plain, detshim, pinned (default: all three; torchdet
# modes: plain only).  STEPS sets resnet_train.py's timed steps.
set -u
BUILD=${1:-build}
OUT=${2:-/tmp/detshim-cudnn}
RUNS=${3:-3}
SO=$(cd "$BUILD" && pwd)/libdetshim.so
HERE=$(cd "$(dirname "$0")" && pwd)
W=$HERE/workloads
WORKLOADS=${WORKLOADS:-"resnet:default resnet:torchdet conv:conv conv:conv_nobench resnet:default_nobench"}
STEPS=${STEPS:-30}
mkdir -p "$OUT"
: > "$OUT/raw.txt"
: > "$OUT/stderr.txt"
test -f "$SO" || { echo "run_cudnn.sh: $SO missing (make BUILD=$BUILD)"; exit 1; }

# one run: label workload mode variant i [env...]
one() {
	wl=$1 mode=$2 var=$3 i=$4
	shift 4
	case $wl in
	resnet) cmd="python3 $W/resnet_train.py $mode $STEPS" ;;
	conv) cmd="python3 $W/variance_probe.py $mode" ;;
	esac
	log=/dev/null
	[ "$i" = 1 ] && log=$OUT/log-$wl-$mode-$var.jsonl
	echo "== $wl $mode $var $i" >> "$OUT/stderr.txt"
	res=$(env "$@" DETSHIM_LOG="$log" timeout 300 $cmd 2>>"$OUT/stderr.txt" | tail -1)
	echo "$wl $mode $var $i $res" | tee -a "$OUT/raw.txt"
}

for item in $WORKLOADS; do
	wl=${item%%:*} rest=${item#*:}
	mode=${rest%%:*} vars=${rest#*:}
	if [ "$vars" = "$rest" ]; then
		case $mode in
		torchdet*) vars=plain ;;
		*) vars=plain,detshim,pinned ;;
		esac
	fi
	cache=$OUT/cache-$wl-$mode.txt
	case ",$vars," in *,plain,*)
		i=1
		while [ $i -le "$RUNS" ]; do one "$wl" "$mode" plain $i X=1; i=$((i + 1)); done
	esac
	case ",$vars," in *,detshim,*)
		i=1
		while [ $i -le "$RUNS" ]; do
			one "$wl" "$mode" detshim $i LD_PRELOAD="$SO" DETSHIM_SEED=1
			i=$((i + 1))
		done
	esac
	case ",$vars," in *,pinned,*) ;; *) continue ;; esac
	rm -f "$cache"
	one "$wl" "$mode" record 1 LD_PRELOAD="$SO" DETSHIM_SEED=1 \
		DETSHIM_ALGO_CACHE="$cache" DETSHIM_CUDNN_CHOICE=any
	i=1
	while [ $i -le "$RUNS" ]; do
		one "$wl" "$mode" pinned $i LD_PRELOAD="$SO" DETSHIM_SEED=1 \
			DETSHIM_ALGO_CACHE="$cache"
		i=$((i + 1))
	done
done

python3 - "$OUT/raw.txt" <<'EOF' | tee "$OUT/table.md"
import re, sys, statistics, collections
rows = collections.OrderedDict()
for line in open(sys.argv[1]):
    f = line.split(None, 4)
    if len(f) < 4:
        continue
    wl, mode, var = f[0], f[1], f[2]
    rest = f[4] if len(f) > 4 else ""
    h = re.search(r"weights=(\w+)|'conv_weights': '(\w+)'", rest)
    t = re.search(r"step_ms=([\d.]+)|'step_ms': ([\d.]+)", rest)
    r = rows.setdefault((wl, mode, var), {"h": [], "t": [], "fail": 0})
    if h:
        r["h"].append(h.group(1) or h.group(2))
        r["t"].append(float(t.group(1) or t.group(2)) if t else float("nan"))
    else:
        r["fail"] += 1
print("| workload | mode | variant | runs | distinct hashes | median step ms | failed |")
print("|---|---|---|---|---|---|---|")
for (wl, mode, var), r in rows.items():
    name = {"resnet": "resnet_train.py", "conv": "variance_probe.py"}[wl]
    med = "%.2f" % statistics.median(r["t"]) if r["t"] else "-"
    print(f"| {name} | {mode} | {var} | {len(r['h'])} | {len(set(r['h']))} | {med} | {r['fail']} |")
EOF
