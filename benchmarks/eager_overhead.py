"""Eager-mode overhead: ftx.numpy / ftx.lax calls vs the NumPy calls they wrap,
and an eager (un-jitted) gradient vs NumPy's forward pass (and JAX / HIPS autograd
without jit, when installed).

    python benchmarks/eager_overhead.py

Prints one table row per case: microseconds per call (best of several repeats).
"""
from __future__ import annotations

import platform
import timeit

import numpy as np

import ftx
import ftx.numpy as fnp
from ftx import lax


def best_us(fn, number=20000, repeat=7):
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main():
    x = np.arange(4.0)
    y = np.arange(4.0) + 1
    rows = [
        ("np.add (4 elements)", best_us(lambda: np.add(x, y))),
        ("fnp.add (4 elements)", best_us(lambda: fnp.add(x, y))),
        ("lax.add (4 elements)", best_us(lambda: lax.add(x, y))),
        ("np.sin (4 elements)", best_us(lambda: np.sin(x))),
        ("fnp.sin (4 elements)", best_us(lambda: fnp.sin(x))),
        ("x + 1.0 via fnp.add", best_us(lambda: fnp.add(x, 1.0))),
    ]
    rng = np.random.default_rng(0)
    W, b, v = rng.normal(size=(10, 10)), rng.normal(size=10), rng.normal(size=10)

    def f_np(W, b, v):
        return np.sum(np.tanh(W @ v + b) ** 2)

    def f_ftx(W, b, v):
        return fnp.sum(fnp.tanh(W @ v + b) ** 2)

    g = ftx.grad(f_ftx)
    rows.append(("NumPy forward sum(tanh(W@x+b)**2), 10x10", best_us(lambda: f_np(W, b, v), 5000)))
    rows.append(("ftx.grad eager, same function", best_us(lambda: g(W, b, v), 500)))
    try:
        import jax
        import jax.numpy as jnp
        jax.config.update("jax_enable_x64", True)
        jg = jax.grad(lambda W, b, v: jnp.sum(jnp.tanh(W @ v + b) ** 2))
        with jax.disable_jit():
            jg(W, b, v)
            rows.append(("jax.grad without jit, same function", best_us(lambda: jg(W, b, v), 100)))
    except ImportError:
        rows.append(("jax.grad without jit", None))
    try:
        import autograd
        import autograd.numpy as anp
        ag = autograd.grad(lambda W, b, v: anp.sum(anp.tanh(anp.dot(W, v) + b) ** 2))
        rows.append(("HIPS autograd grad, same function", best_us(lambda: ag(W, b, v), 500)))
    except ImportError:
        rows.append(("HIPS autograd grad", None))

    print(f"# eager overhead — {platform.processor() or platform.machine()}, Python "
          f"{platform.python_version()}, NumPy {np.__version__}")
    print(f"| {'case':<45} | {'µs per call':>12} |")
    print(f"|{'-' * 47}|{'-' * 14}|")
    for name, us in rows:
        cell = "not installed" if us is None else f"{us:.2f}"
        print(f"| {name:<45} | {cell:>12} |")


if __name__ == "__main__":
    main()
