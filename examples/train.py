"""A toy training run that is different every time it runs plainly.

It draws from the sources a real job draws from, with no seed anywhere:
Python's random (seeded from getrandom at import), os.urandom, uuid4 for
a run name, and the order of a set of strings (hash randomisation).
Under detrun every run prints the same lines.  Used by README.md and
docs/GUIDE.md (tests/check_docs.sh runs those examples).
"""
import hashlib
import os
import random
import uuid

run_id = uuid.uuid4().hex[:8]
data = [(x / 10, 3 * x / 10 + 1) for x in range(20)]
random.shuffle(data)
w, b = random.gauss(0, 1), random.gauss(0, 1)
for epoch in range(50):
    for x, y in data:
        err = w * x + b - y
        w -= 0.01 * err * x
        b -= 0.01 * err
    random.shuffle(data)
loss = sum((w * x + b - y) ** 2 for x, y in data) / len(data)
tags = ",".join({"cat", "dog", "owl", "fox"})
salt = os.urandom(4).hex()
digest = hashlib.sha256(f"{w!r} {b!r} {salt}".encode()).hexdigest()[:16]
print(f"run {run_id}: loss {loss:.6f}, weights {digest}, tags {tags}")
