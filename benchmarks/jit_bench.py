"""ftx.jit: call overhead, a fused elementwise chain, and an MLP training step, vs NumPy
(and JAX's jit when installed).

    python benchmarks/jit_bench.py

Prints one table (milliseconds or microseconds per call, best of several repeats).
"""
from __future__ import annotations

import platform
import time
import timeit

import numpy as np

import ftx
import ftx.numpy as fnp


def best(fn, number, repeat=5):
    fn()
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def chain_np(x, y):
    # As a NumPy user writes it (x * x * x: np.power(x, 3) has no fast path and is 10x slower).
    gelu = 0.5 * x * (1 + np.tanh(0.7978845608 * (x + 0.044715 * (x * x * x))))
    return gelu * (1 / (1 + np.exp(-y))) + 0.1 * x * x


def chain_ftx(x, y):
    gelu = 0.5 * x * (1 + fnp.tanh(0.7978845608 * (x + 0.044715 * x ** 3)))
    return gelu * ftx.lax.logistic(y) + 0.1 * x * x


def _numpy_transcendentals():
    """What a NumPy user calls for each function fused by ftx.jit's CPU kernels (erf: SciPy,
    else the reference backend's math.erf loop)."""
    import math
    try:
        from scipy.special import erf
    except ImportError:
        erf = np.frompyfunc(math.erf, 1, 1)
    return {"exp": np.exp, "expm1": np.expm1, "log": np.log, "log1p": np.log1p,
            "tanh": np.tanh, "logistic": lambda x: 1 / (1 + np.exp(-x)), "erf": erf}


def transcendental_rows(n=2 ** 20):
    """ns per element of each fused transcendental alone (``ftx.jit(fnp.exp)``) vs NumPy."""
    ftx_fns = {"exp": fnp.exp, "expm1": fnp.expm1, "log": fnp.log, "log1p": fnp.log1p,
               "tanh": fnp.tanh, "logistic": ftx.lax.logistic, "erf": ftx.lax.erf}
    rng = np.random.default_rng(0)
    rows = []
    for name, np_fn in _numpy_transcendentals().items():
        cells = []
        for dtype in (np.float32, np.float64):
            x = rng.uniform(0.01 if name.startswith("log") else -5, 5, n).astype(dtype)
            f = ftx.jit(ftx_fns[name])
            cells.append(f"{best(lambda: f(x), 10) / n * 1e9:.2f} / "
                         f"{best(lambda: np_fn(x), 10 if name != 'erf' else 1, 3) / n * 1e9:.2f}")
        rows.append((f"  {name}: f32, f64", None, "  ".join(cells)))
    return rows


def mlp_loss(params, x, y):
    h = x
    for w, b in params[:-1]:
        h = fnp.maximum(h @ w + b, 0.0)
    w, b = params[-1]
    return fnp.mean((h @ w + b - y) ** 2)


def main():
    rows = []
    x4 = np.arange(4, dtype=np.float32)
    f = ftx.jit(lambda x: x * 2.0 + 1.0)
    rows.append(("jit call, 4-element input", best(lambda: f(x4), 20000) * 1e6, "µs"))
    d10 = {f"a{i}": np.ones(4, np.float32) for i in range(10)}
    g = ftx.jit(lambda d: d["a0"] + d["a9"])
    rows.append(("jit call, dict of 10 arrays", best(lambda: g(d10), 20000) * 1e6, "µs"))

    rng = np.random.default_rng(0)
    x = rng.normal(size=4 * 2 ** 20).astype(np.float32)
    y = rng.normal(size=4 * 2 ** 20).astype(np.float32)
    rows.append(("gelu*sigmoid chain, 4M f32: NumPy", best(lambda: chain_np(x, y), 5) * 1e3, "ms"))
    h = ftx.jit(chain_ftx)
    t0 = time.perf_counter()
    h(x, y)
    rows.append(("  ftx.jit first call (trace + compile)", (time.perf_counter() - t0) * 1e3, "ms"))
    rows.append(("  ftx.jit", best(lambda: h(x, y), 5) * 1e3, "ms"))

    rows.append(("fused transcendental alone, 1M: ftx / NumPy ns", None, ""))
    rows += transcendental_rows()

    sizes = [784, 1024, 1024, 10]
    params = [(rng.normal(0, 0.03, (m, n)).astype(np.float32), np.zeros(n, np.float32))
              for m, n in zip(sizes[:-1], sizes[1:])]
    xb = rng.normal(size=(256, 784)).astype(np.float32)
    yb = rng.normal(size=(256, 10)).astype(np.float32)
    step = ftx.jit(ftx.value_and_grad(mlp_loss))
    t0 = time.perf_counter()
    step(params, xb, yb)
    rows.append(("MLP 784-1024-1024-10 b256 f32: first call", (time.perf_counter() - t0) * 1e3,
                 "ms"))
    rows.append(("  ftx.jit(value_and_grad) per step", best(lambda: step(params, xb, yb), 5) * 1e3,
                 "ms"))
    rows.append(("  ftx eager value_and_grad per step",
                 best(lambda: ftx.value_and_grad(mlp_loss)(params, xb, yb), 3) * 1e3, "ms"))
    try:
        import jax
        import jax.numpy as jnp
        jf = jax.jit(lambda x: x * 2.0 + 1.0)
        jx4 = jnp.asarray(x4)
        rows.append(("JAX jit call, 4-element input",
                     best(lambda: jf(jx4).block_until_ready(), 20000) * 1e6, "µs"))
        jchain = jax.jit(lambda x, y: (0.5 * x * (1 + jnp.tanh(0.7978845608 * (
            x + 0.044715 * x ** 3)))) * jax.nn.sigmoid(y) + 0.1 * x * x)
        jxx, jyy = jnp.asarray(x), jnp.asarray(y)
        rows.append(("JAX jit gelu*sigmoid chain",
                     best(lambda: jchain(jxx, jyy).block_until_ready(), 5) * 1e3, "ms"))
    except ImportError:
        rows.append(("JAX", None, "not installed"))

    print(f"# ftx.jit — {platform.machine()}, Python {platform.python_version()}, "
          f"NumPy {np.__version__}")
    width = max(12, *(len(unit) for _, value, unit in rows if value is None))
    print(f"| {'case':<46} | {'time':>{width}} |")
    print(f"|{'-' * 48}|{'-' * (width + 2)}|")
    for name, value, unit in rows:
        cell = unit if value is None else f"{value:.2f} {unit}"
        print(f"| {name:<46} | {cell:>{width}} |")


if __name__ == "__main__":
    main()
