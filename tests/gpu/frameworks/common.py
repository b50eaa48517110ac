"""Shared output format of the framework workloads (tests/gpu/run.sh).

Each workload prints, on stdout, one line per result part and one timing:
    RESULT <part> <16 hex digits>
    STEP_MS <median milliseconds per step>
tests/gpu/run.sh collects the hashes per part and the timing per run."""
import hashlib
import statistics


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def result(part: str, data: bytes) -> None:
    print("RESULT %s %s" % (part, digest(data)), flush=True)


def step_ms(times_s) -> None:
    print("STEP_MS %.3f" % (statistics.median(times_s) * 1e3), flush=True)
