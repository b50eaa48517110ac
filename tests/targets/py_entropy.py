"""Unseeded Python: random, os.urandom, hash, uuid4, secrets, tempfile."""
import hashlib, os, random, secrets, sys, tempfile, uuid

print("random", random.random(), random.randrange(10**9))
print("urandom", os.urandom(16).hex())
print("hash", hash("x"), hash(b"bytes"))
print("set", ",".join(list({"alpha", "beta", "gamma", "delta", "eps"})))
print("uuid4", uuid.uuid4())
print("secrets", secrets.token_hex(16), secrets.randbelow(10**6))
print("sysrandom", random.SystemRandom().random())
print("tempfile", os.path.basename(tempfile.mktemp()))
with tempfile.NamedTemporaryFile(prefix="ds-") as f:
    print("namedtemp", os.path.basename(f.name))
print("newRandom", random.Random().random())
