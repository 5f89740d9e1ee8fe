"""The CUDA backend on a real GPU, float32: fused elementwise bandwidth as a fraction of the
device's copy bandwidth, reduction bandwidth, matmul TFLOP/s at 4096² (ftx's tiled kernel,
and cuBLAS through CuPy when installed), and an MLP training step vs JAX on the same GPU.

    python benchmarks/gpu.py          # needs an NVIDIA GPU, numba-cuda (pip install "ftx[cuda]")

Times are the median of several timed runs after warm-up, each run synchronized with the
device (``cuda.synchronize``). Bandwidth counts bytes read plus bytes written.
"""
from __future__ import annotations

import statistics
import sys
import time

import numpy as np

import ftx
import ftx.numpy as fnp


def require_gpu():
    from ftx.backends.numba_cuda import DeviceUnavailableError, runtime
    try:
        runtime.require_device()
    except DeviceUnavailableError as e:
        sys.exit(f"benchmarks/gpu.py needs a CUDA GPU: {e}")
    if runtime.simulating():
        sys.exit("benchmarks/gpu.py: NUMBA_ENABLE_CUDASIM=1 is set; the simulator measures "
                 "nothing useful")
    return runtime.numba_cuda()


def timed(fn, sync, repeat=20, warmup=3):
    """Median seconds per call of ``fn`` (synchronized)."""
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    cuda = require_gpu()
    sync = cuda.synchronize
    device = cuda.get_current_device()
    name = device.name.decode() if isinstance(device.name, bytes) else device.name
    rows = []
    n = 1 << 26  # 64M float32 = 256 MiB per array
    rng = np.random.default_rng(0)
    x = ftx.device_put(rng.standard_normal(n, dtype=np.float32), "cuda")
    y = ftx.device_put(rng.standard_normal(n, dtype=np.float32), "cuda")

    # Copy bandwidth: a device-to-device copy of one array (cuMemcpyDtoD).
    dst = cuda.device_array(n, np.float32)
    t_copy = timed(lambda: dst.copy_to_device(x._buffer), sync)
    copy_bw = 2 * n * 4 / t_copy
    rows.append(("device-to-device copy, 256 MiB", t_copy, copy_bw, "1.00 of copy"))

    def add_bw(label, fn, args, nbytes):
        t = timed(lambda: fn(*args), sync)
        rows.append((label, t, nbytes / t, f"{nbytes / t / copy_bw:.2f} of copy"))

    axpy = ftx.jit(lambda a, b: a * 2.5 + b, backend="cuda")
    add_bw("fused a*2.5+b (2 reads, 1 write)", axpy, (x, y), 3 * n * 4)
    gelu = ftx.jit(lambda a, b: a * ftx.lax.logistic(1.702 * a) + fnp.tanh(b), backend="cuda")
    add_bw("fused a*sigmoid(1.702a)+tanh(b)", gelu, (x, y), 3 * n * 4)
    total = ftx.jit(lambda a: fnp.sum(a), backend="cuda")
    add_bw("reduce_sum, all 64M", total, (x,), n * 4)
    xm = ftx.jit(lambda a: a.reshape(8192, 8192), backend="cuda")(x)  # free: buffers are flat
    add_bw("reduce_sum axis 0 of 8192x8192", ftx.jit(lambda a: fnp.sum(a, 0), backend="cuda"),
           (xm,), n * 4)
    add_bw("reduce_sum axis 1 of 8192x8192", ftx.jit(lambda a: fnp.sum(a, 1), backend="cuda"),
           (xm,), n * 4)
    add_bw("transpose 8192x8192", ftx.jit(lambda a: a.T, backend="cuda"), (xm,), 2 * n * 4)

    # Matmul at 4096^2: through jit (cuBLAS when CuPy is installed), ftx's tiled kernel, CuPy.
    k = 4096
    a = ftx.device_put(rng.standard_normal((k, k), dtype=np.float32), "cuda")
    b = ftx.device_put(rng.standard_normal((k, k), dtype=np.float32), "cuda")
    flops = 2 * k ** 3
    mm = ftx.jit(lambda p, q: p @ q, backend="cuda")
    t = timed(lambda: mm(a, b), sync, repeat=10)
    rows.append(("matmul 4096² via ftx.jit", t, flops / t, "FLOP/s"))
    from ftx.backends.numba_cuda import linalg
    from ftx.backends.numba_cuda.executor import Builder
    tiled = linalg.Matmul(Builder(), a.dtype, b.dtype, a.dtype, 1, k, k, k)
    tiled.cublas = None
    out = cuda.device_array(k * k, np.float32)
    t = timed(lambda: tiled(a._buffer, b._buffer, out), sync, repeat=10)
    rows.append(("matmul 4096², ftx tiled kernel", t, flops / t, "FLOP/s"))
    try:
        import cupy
        ca, cb = cupy.asarray(a._buffer).reshape(k, k), cupy.asarray(b._buffer).reshape(k, k)
        t = timed(lambda: ca @ cb, sync, repeat=10)
        rows.append(("matmul 4096², CuPy (cuBLAS)", t, flops / t, "FLOP/s"))
    except ImportError:
        rows.append(("matmul 4096², CuPy (cuBLAS)", float("nan"), float("nan"), "not installed"))

    rows += mlp_rows(sync)

    print(f"# ftx CUDA backend on {name} (float32; median of timed runs)\n")
    print("| what | time | rate | note |")
    print("|---|---|---|---|")
    for label, t, rate, note in rows:
        unit = "TFLOP/s" if note == "FLOP/s" else "GB/s"
        shown = rate / 1e12 if unit == "TFLOP/s" else rate / 1e9
        rate_s = "" if rate != rate or note.startswith("µs") else f"{shown:.1f} {unit}"
        print(f"| {label} | {t * 1e3:.3f} ms | {rate_s} | {note} |")


def mlp_rows(sync):
    """One SGD step of a 784-1024-1024-10 MLP on a batch of 1024, ftx vs JAX."""
    rng = np.random.default_rng(1)
    sizes = [784, 1024, 1024, 10]
    params = [(rng.standard_normal((i, o), dtype=np.float32) * np.float32(1 / np.sqrt(i)),
               np.zeros(o, np.float32)) for i, o in zip(sizes[:-1], sizes[1:])]
    x = rng.standard_normal((1024, 784), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 1024)]

    def loss(params, x, y, np_=fnp):
        h = x
        for w, b in params[:-1]:
            h = np_.maximum(h @ w + b, 0.0)
        w, b = params[-1]
        logits = h @ w + b
        logp = logits - np_.log(np_.sum(np_.exp(logits - np_.max(logits, 1, keepdims=True)), 1,
                                        keepdims=True)) - np_.max(logits, 1, keepdims=True)
        return -np_.mean(np_.sum(logp * y, 1))

    def step(params, x, y):
        value, grads = ftx.value_and_grad(loss)(params, x, y)
        return [(w - 0.01 * gw, b - 0.01 * gb) for (w, b), (gw, gb) in zip(params, grads)], value

    ftx_step = ftx.jit(step, backend="cuda")
    pd, xd, yd = ftx.device_put((params, x, y), "cuda")
    state = {"p": pd}

    def run_ftx():
        state["p"], _ = ftx_step(state["p"], xd, yd)
    rows = [("MLP step 784-1024-1024-10, batch 1024: ftx", timed(run_ftx, sync), float("nan"),
             "")]
    try:
        import jax
        import jax.numpy as jnp
        if jax.default_backend() != "gpu":
            raise ImportError("JAX has no GPU backend here")

        def jstep(params, x, y):
            value, grads = jax.value_and_grad(lambda p: loss(p, x, y, jnp))(params)
            return [(w - 0.01 * gw, b - 0.01 * gb) for (w, b), (gw, gb) in zip(params, grads)], \
                value
        jit_step = jax.jit(jstep)
        jp, jx, jy = jax.device_put((params, x, y))
        jstate = {"p": jp}

        def run_jax():
            jstate["p"], v = jit_step(jstate["p"], jx, jy)
            v.block_until_ready()
        rows.append(("MLP step, same model: JAX jit", timed(run_jax, sync), float("nan"), ""))
    except ImportError as e:
        rows.append(("MLP step, same model: JAX jit", float("nan"), float("nan"), str(e)))
    return rows


if __name__ == "__main__":
    main()
