"""Eager-mode overhead: ftx.numpy / ftx.lax calls vs the NumPy calls they wrap,
and an eager (un-jitted) gradient vs NumPy's forward pass (and JAX without jit, HIPS
autograd and PyTorch's autograd, when installed; PyTorch with as many threads as NumPy's BLAS).

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
from _report import import_torch, record

GRAD = "eager grad of sum(tanh(W @ x + b) ** 2), 10x10"


def best_us(fn, number=20000, repeat=7):
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def torch_row(W, b, v, expected):
    """PyTorch autograd of the same function (float64, like the others): build the graph,
    ``backward``, read ``W.grad``, as a PyTorch user computes a gradient."""
    torch = import_torch()
    if torch is None:
        return ("PyTorch autograd", None)
    tb, tv = torch.from_numpy(b), torch.from_numpy(v)

    def grad_w():
        tW = torch.from_numpy(W).requires_grad_()
        torch.sum(torch.tanh(tW @ tv + tb) ** 2).backward()
        return tW.grad

    np.testing.assert_allclose(grad_w().numpy(), expected, rtol=1e-10)
    us = best_us(grad_w, 2000)
    record(GRAD, "PyTorch", us, "µs", "autograd backward")
    return ("PyTorch autograd (backward), same function", us)


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

    def grad_np(W, b, v):  # the gradient written by hand: the floor for eager Python
        t = np.tanh(W @ v + b)
        return np.outer(2 * t * (1 - t * t), v)

    g = ftx.grad(f_ftx)
    np.testing.assert_allclose(grad_np(W, b, v), g(W, b, v), rtol=1e-10)
    rows.append(("NumPy forward sum(tanh(W@x+b)**2), 10x10", best_us(lambda: f_np(W, b, v), 5000)))
    rows.append(("NumPy hand-written gradient, same function",
                 best_us(lambda: grad_np(W, b, v), 5000)))
    record(GRAD, "NumPy", rows[-1][1], "µs", "hand-written")
    rows.append(("ftx.grad eager, same function", best_us(lambda: g(W, b, v), 500)))
    record(GRAD, "ftx", rows[-1][1], "µs", "ftx.grad")
    try:
        import jax
        import jax.numpy as jnp
        jax.config.update("jax_enable_x64", True)
        jg = jax.grad(lambda W, b, v: jnp.sum(jnp.tanh(W @ v + b) ** 2))
        with jax.disable_jit():
            jg(W, b, v)
            rows.append(("jax.grad without jit, same function", best_us(lambda: jg(W, b, v), 100)))
            record(GRAD, "JAX", rows[-1][1], "µs", "jax.grad, disable_jit")
    except ImportError:
        rows.append(("jax.grad without jit", None))
    try:
        import autograd
        import autograd.numpy as anp
        ag = autograd.grad(lambda W, b, v: anp.sum(anp.tanh(anp.dot(W, v) + b) ** 2))
        rows.append(("HIPS autograd grad, same function", best_us(lambda: ag(W, b, v), 500)))
        record(GRAD, "autograd", rows[-1][1], "µs", "autograd.grad")
    except ImportError:
        rows.append(("HIPS autograd grad", None))
    rows.append(torch_row(W, b, v, g(W, b, v)))

    print(f"# eager overhead — {platform.processor() or platform.machine()}, Python "
          f"{platform.python_version()}, NumPy {np.__version__}")
    print(f"| {'case':<45} | {'µs per call':>12} |")
    print(f"|{'-' * 47}|{'-' * 14}|")
    for name, us in rows:
        cell = "not installed" if us is None else f"{us:.2f}"
        print(f"| {name:<45} | {cell:>12} |")


if __name__ == "__main__":
    main()
