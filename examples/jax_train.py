"""A small JAX job seeded the way many scripts do it, from os.urandom:
a linear model trained with a scatter-add in its loss.  Prints a digest of
the weights.  Under detrun every run prints the same digest (XLA's
deterministic ops are switched on).  Needs a CUDA GPU.  Used by
docs/GUIDE.md.
"""
import hashlib
import os
import jax
import jax.numpy as jnp

key = jax.random.PRNGKey(int.from_bytes(os.urandom(4), "little"))
kx, kw, ki = jax.random.split(key, 3)
x = jax.random.normal(kx, (4096, 64))
idx = jax.random.randint(ki, (4096,), 0, 128)
w = jax.random.normal(kw, (64,))

def loss(w):
    per_bucket = jnp.zeros(128).at[idx].add(x @ w)
    return jnp.mean(per_bucket ** 2)

step = jax.jit(lambda w: w - 0.01 * jax.grad(loss)(w))
for _ in range(100):
    w = step(w)
digest = hashlib.sha256(jax.device_get(w).tobytes()).hexdigest()[:16]
print(f"loss {float(loss(w)):.6f}, weights {digest}")
