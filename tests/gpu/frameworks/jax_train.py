"""Workload: a small JAX conv net with a scatter-add pooling (atomics on the
GPU) and a dense layer, trained for a few SGD steps with fixed keys.
The XLA flags come from XLA_FLAGS (default, deterministic ops, or what
detshim appends).  Prints RESULT jax <hash of the weights> and STEP_MS.

    python3 jax_train.py [steps]"""
import os, sys, time
import numpy as np
import jax, jax.numpy as jnp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import result, step_ms

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 20
k = jax.random.split(jax.random.PRNGKey(0), 6)
params = {
    "w1": jax.random.normal(k[0], (3, 3, 3, 32)) * 0.1,
    "w2": jax.random.normal(k[1], (3, 3, 32, 32)) * 0.1,
    "wh": jax.random.normal(k[2], (64 * 32, 2048)) * 0.02,
    "wo": jax.random.normal(k[3], (2048, 10)) * 0.02,
}
x = jax.random.normal(k[4], (256, 32, 32, 3))
y = jax.random.randint(k[5], (256,), 0, 10)
bucket = jax.random.randint(jax.random.PRNGKey(7), (32 * 32,), 0, 64)
DN = ("NHWC", "HWIO", "NHWC")


def fwd(p, x):
    h = jax.nn.relu(jax.lax.conv_general_dilated(x, p["w1"], (1, 1), "SAME", dimension_numbers=DN))
    h = jax.nn.relu(jax.lax.conv_general_dilated(h, p["w2"], (1, 1), "SAME", dimension_numbers=DN))
    n = h.shape[0]
    # scatter-add of 1024 pixels into 64 buckets: duplicate indices, atomics
    pooled = jnp.zeros((n, 64, 32)).at[:, bucket, :].add(h.reshape(n, -1, 32))
    return jax.nn.relu(pooled.reshape(n, -1) @ p["wh"]) @ p["wo"]


def loss(p, x, y):
    return -jnp.mean(jax.nn.log_softmax(fwd(p, x))[jnp.arange(x.shape[0]), y])


@jax.jit
def step(p, x, y):
    g = jax.grad(loss)(p, x, y)
    return jax.tree_util.tree_map(lambda a, b: a - 0.05 * b, p, g)


params = jax.block_until_ready(step(params, x, y))  # compile (and autotune)
times = []
for _ in range(steps):
    t = time.perf_counter()
    params = jax.block_until_ready(step(params, x, y))
    times.append(time.perf_counter() - t)
flat = np.concatenate([np.asarray(params[n]).ravel() for n in sorted(params)])
result("jax", flat.tobytes())
step_ms(times)
