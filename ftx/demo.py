"""The ftx demo: fit a small tanh MLP to a noisy sine with ftx.grad, printing the loss.

Run it with ``python -m ftx.demo``.
"""
from __future__ import annotations

import time

import numpy as np

import ftx
import ftx.numpy as fnp


def init_params(rng, sizes):
    """One (w, b) pair per layer, scaled so tanh units start in their linear range."""
    return [(rng.normal(0.0, 1.0 / np.sqrt(m), (m, n)), np.zeros(n))
            for m, n in zip(sizes[:-1], sizes[1:])]


def predict(params, x):
    for w, b in params[:-1]:
        x = fnp.tanh(x @ w + b)
    w, b = params[-1]
    return x @ w + b


def loss(params, x, y):
    return fnp.mean((predict(params, x) - y) ** 2)


def main(steps: int = 300, learning_rate: float = 0.1, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    x = np.linspace(-3, 3, 128)[:, None]
    y = np.sin(x) + 0.05 * rng.normal(size=x.shape)
    params = init_params(rng, [1, 32, 32, 1])
    value_and_grad = ftx.value_and_grad(loss)
    history = []
    start = time.perf_counter()
    for step in range(steps + 1):
        value, grads = value_and_grad(params, x, y)
        params = ftx.tree_util.tree_map(lambda p, g: p - learning_rate * g, params, grads)
        history.append(float(value))
        if step % 50 == 0:
            print(f"step {step:4d}   loss {value:.5f}")
    elapsed = time.perf_counter() - start
    print(f"loss went from {history[0]:.4f} to {history[-1]:.4f} in {steps} steps "
          f"({1e3 * elapsed / steps:.2f} ms per eager value_and_grad step)")
    return history


if __name__ == "__main__":
    main()
