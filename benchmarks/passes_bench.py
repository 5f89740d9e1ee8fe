"""Graph passes: equations before/after ``optimize``, the time it takes, and the effect on
the compiled programs' run time.

    PYTHONPATH=. python benchmarks/passes_bench.py

Prints one table. Equation counts include sub-jaxprs (loop bodies). Run times are the
best of several repeats of the jitted program on the 'cpu' backend, with the passes on
and off (``ftx.config.jit_passes``).
"""
from __future__ import annotations

import os
import platform
import sys
import timeit

import numpy as np

import ftx
import ftx.numpy as fnp
from ftx.compiler.passes import optimize
from ftx.compiler.passes._rewrite import count_eqns

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jit_bench import mlp_loss  # noqa: E402
from scan_rnn import ftx_loop_loss, ftx_scan_loss, make_problem  # noqa: E402


def best(fn, number, repeat=5):
    fn()
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def cases():
    rng = np.random.default_rng(0)
    sizes = [784, 1024, 1024, 10]
    params = [(rng.normal(0, 0.03, (m, n)).astype(np.float32), np.zeros(n, np.float32))
              for m, n in zip(sizes[:-1], sizes[1:])]
    xb = rng.normal(size=(256, 784)).astype(np.float32)
    yb = rng.normal(size=(256, 10)).astype(np.float32)
    yield "jit(value_and_grad(mlp)) 784-1024-1024-10", ftx.value_and_grad(mlp_loss), \
        (params, xb, yb), 5
    p, xs, h0 = make_problem(1000, 32, 16)
    yield "jit(grad(scan RNN)) 1000 steps, hidden 32", ftx.grad(ftx_scan_loss), (p, xs, h0), 3
    p, xs, h0 = make_problem(50, 32, 16)
    yield "jit(grad(unrolled RNN)) 50 steps", ftx.grad(ftx_loop_loss), (p, xs, h0), 10
    x = rng.normal(size=(64, 128))
    per_example = ftx.vmap(ftx.grad(lambda w, x: fnp.sum(fnp.tanh(x @ w) ** 2)),
                           in_axes=(None, 0))
    yield "jit(vmap(grad(f))) 64 examples", per_example, (rng.normal(size=(128, 32)), x), 20


def main():
    rows = []
    for name, fun, args, number in cases():
        jaxpr = ftx.jit(fun).trace(*args).jaxpr
        optimized = optimize(jaxpr)
        t_opt = best(lambda: optimize(jaxpr), 5, repeat=7)
        times = {}
        for passes in (False, True):
            with ftx.config.override(jit_passes=passes):
                f = ftx.jit(fun)
                times[passes] = best(lambda: f(*args), number)
        rows.append((name, count_eqns(jaxpr), count_eqns(optimized), t_opt * 1e3,
                     times[False] * 1e3, times[True] * 1e3))
    print(f"# graph passes — {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}, NumPy {np.__version__}")
    print(f"| {'program':<44} | eqns before | after | optimize ms | run ms, off | run ms, on |")
    print(f"|{'-' * 46}|-------------|-------|-------------|-------------|------------|")
    for name, before, after, t_opt, off, on in rows:
        print(f"| {name:<44} | {before:>11} | {after:>5} | {t_opt:>11.2f} | {off:>11.2f} | "
              f"{on:>10.2f} |")


if __name__ == "__main__":
    main()
