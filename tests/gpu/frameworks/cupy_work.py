"""Workload: CuPy with nothing seeded.  Parts:
  cupy_random  cupy.random (cuRAND through CuPy's default RandomState,
               seeded by CuPy from os.urandom) and cupy.random.default_rng()
  cupy_matmul  fp32 and fp16 matmuls (cuBLAS / cuBLASLt) on those numbers
  cupy_cudnn   a convolution through cupy.cudnn (if this CuPy has it)
  cupy_atomic  a user RawKernel that sums floats with atomicAdd: out of
               reach of any interposer (the order of the additions is the
               hardware's), reported separately
Prints RESULT lines and STEP_MS (time of the matmul part)."""
import os, sys, time
import cupy as cp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import result, step_ms


def b(a):
    return cp.asnumpy(a).tobytes()


a = cp.random.standard_normal((2048, 2048), dtype=cp.float32)
r = cp.random.default_rng().standard_normal((2048, 2048), dtype=cp.float32)
result("cupy_random", b(a) + b(r))
times = []
for _ in range(5):
    cp.cuda.Device().synchronize()
    t = time.perf_counter()
    c = a @ r
    h = a.astype(cp.float16) @ r.astype(cp.float16)
    cp.cuda.Device().synchronize()
    times.append(time.perf_counter() - t)
result("cupy_matmul", b(c) + b(h))

try:
    # CuPy's cuDNN wrappers; CuPy 14 no longer ships them (ImportError)
    from cupy.cuda import cudnn  # noqa: F401
    import cupy.cudnn as ccudnn
    x = cp.random.standard_normal((32, 16, 64, 64), dtype=cp.float32)
    w = cp.random.standard_normal((32, 16, 3, 3), dtype=cp.float32)
    y = cp.empty((32, 32, 64, 64), dtype=cp.float32)
    ccudnn.convolution_forward(x, w, None, y, (1, 1), (1, 1), (1, 1), 1,
                               auto_tune=True, tensor_core="auto")
    gw = cp.zeros_like(w)
    ccudnn.convolution_backward_filter(x, y, gw, (1, 1), (1, 1), (1, 1), 1,
                                       deterministic=False, auto_tune=True,
                                       tensor_core="auto")
    result("cupy_cudnn", b(y) + b(gw))
except Exception as e:  # CuPy without its cuDNN module
    print("NOTE cupy_cudnn unavailable: %s: %s" % (type(e).__name__, e), flush=True)

k = cp.RawKernel(r'''
extern "C" __global__ void acc(const float *x, float *out, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) atomicAdd(&out[i % 16], x[i]);
}''', "acc")
out = cp.zeros(16, dtype=cp.float32)
n = a.size
k(((n + 255) // 256,), (256,), (a.ravel(), out, cp.int32(n)))
result("cupy_atomic", b(out))
step_ms(times)
