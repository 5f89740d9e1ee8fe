"""A 1000-step scan of a small RNN cell, forward and gradient, in eager mode.

    python benchmarks/scan_rnn.py [--steps 1000] [--hidden 32]

    h[t] = tanh(W h[t-1] + U x[t] + b),   loss = sum(h[T]) + mean over t of sum(h[t] ** 2)

Rows: NumPy (a Python loop forward, hand-written backpropagation through time for the
gradient: the floor for any eager Python implementation); ftx.lax.scan (the body traced
once, run by the reference interpreter); the same cell as an unrolled Python loop of
ftx.numpy calls (ftx.grad then traces all steps); and, when installed, JAX without jit:
jax.lax.scan called eagerly (JAX traces the body and XLA-compiles the scan on every such
call, since each call builds a new body function) and an op-by-op Python loop of jax.numpy
calls; PyTorch's eager autograd over the same Python loop (forward under ``no_grad``;
the gradient builds the graph and calls ``backward``), with as many threads as NumPy's BLAS.
The ftx.jit row runs the same scan through ftx.jit and the Numba backend, which compiles
the whole loop, body included, into one Numba function.
"""
from __future__ import annotations

import argparse
import platform
import time

import numpy as np

import ftx
import ftx.numpy as fnp
from ftx.transforms.control_flow import scan
from _report import import_torch, record

CASE = "RNN scan gradient, 1000 steps, hidden 32, f64"


def best_ms(fn, repeat=5, min_time=0.2):
    fn()  # warm up (JAX compiles here)
    times = []
    for _ in range(repeat):
        n, start = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time or n >= 50:
                break
        times.append(elapsed / n)
    return min(times) * 1e3


def make_problem(steps, hidden, inputs, seed=0):
    rng = np.random.default_rng(seed)
    params = {"W": rng.normal(size=(hidden, hidden)) / np.sqrt(hidden),
              "U": rng.normal(size=(hidden, inputs)) / np.sqrt(inputs),
              "b": rng.normal(size=hidden) * 0.1}
    return params, rng.normal(size=(steps, inputs)), np.zeros(hidden)


# ----------------------------------------------------------------------------- NumPy

def numpy_loss(p, xs, h):
    total = 0.0
    for x in xs:
        h = np.tanh(p["W"] @ h + p["U"] @ x + p["b"])
        total += np.sum(h * h)
    return np.sum(h) + total / len(xs)


def numpy_grad(p, xs, h0):
    hs, h = [h0], h0
    for x in xs:
        h = np.tanh(p["W"] @ h + p["U"] @ x + p["b"])
        hs.append(h)
    n = len(xs)
    g = {k: np.zeros_like(v) for k, v in p.items()}
    dh = np.ones_like(h0)
    for t in range(n, 0, -1):
        dh = dh + 2.0 * hs[t] / n
        dz = dh * (1.0 - hs[t] ** 2)
        g["W"] += np.outer(dz, hs[t - 1])
        g["U"] += np.outer(dz, xs[t - 1])
        g["b"] += dz
        dh = p["W"].T @ dz
    return g


# ----------------------------------------------------------------------------- ftx

def ftx_scan_loss(p, xs, h0):
    def cell(h, x):
        h = fnp.tanh(p["W"] @ h + p["U"] @ x + p["b"])
        return h, fnp.sum(h * h)
    h, sq = scan(cell, h0, xs)
    return fnp.sum(h) + fnp.mean(sq)


def ftx_loop_loss(p, xs, h):
    total = 0.0
    for x in xs:
        h = fnp.tanh(p["W"] @ h + p["U"] @ x + p["b"])
        total = total + fnp.sum(h * h)
    return fnp.sum(h) + total / len(xs)


def torch_row(p, xs, h0, ref_grad):
    """PyTorch eager: the cell as a Python loop of torch calls, autograd for the gradient."""
    torch = import_torch()
    if torch is None:
        return ("PyTorch", None, None)
    tp = {k: torch.from_numpy(v) for k, v in p.items()}
    txs, th0 = torch.from_numpy(xs), torch.from_numpy(h0)

    def loss(p, h):
        total = 0.0
        for x in txs:
            h = torch.tanh(p["W"] @ h + p["U"] @ x + p["b"])
            total = total + torch.sum(h * h)
        return torch.sum(h) + total / len(txs)

    def forward():
        with torch.no_grad():
            return loss(tp, th0)

    def grad():
        leaves = {k: v.detach().requires_grad_() for k, v in tp.items()}
        loss(leaves, th0).backward()
        return {k: v.grad for k, v in leaves.items()}

    for k, g in grad().items():
        np.testing.assert_allclose(g.numpy(), ref_grad[k], rtol=1e-8, atol=1e-10)
    return ("PyTorch eager Python loop, autograd", best_ms(forward, repeat=3),
            best_ms(grad, repeat=3))


# The headline gradient rows: (row, library, variant).
HEADLINE = (("NumPy Python loop / hand-written BPTT", "NumPy", "hand-written BPTT"),
            ("ftx.lax.scan (eager)", "ftx", "eager lax.scan"),
            ("ftx.jit of lax.scan (whole loop compiled)", "ftx", "jit(grad(lax.scan))"),
            ("JAX lax.scan, no jit (compiles on every call)", "JAX", "lax.scan, no jit"),
            ("JAX jit(lax.scan)", "JAX", "jit(lax.scan)"),
            ("PyTorch eager Python loop, autograd", "PyTorch", "eager loop"))


def record_headline(rows, steps, hidden):
    case = CASE.replace("1000", str(steps)).replace("hidden 32", f"hidden {hidden}")
    grads = {name: grad for name, _, grad in rows}
    for name, library, variant in HEADLINE:
        if grads.get(name) is not None:
            record(case, library, grads[name], "ms", variant)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--inputs", type=int, default=16)
    args = parser.parse_args()
    p, xs, h0 = make_problem(args.steps, args.hidden, args.inputs)

    # Every implementation must agree before anything is timed.
    ref_loss, ref_grad = numpy_loss(p, xs, h0), numpy_grad(p, xs, h0)
    scan_grad = ftx.grad(ftx_scan_loss)(p, xs, h0)
    assert np.isclose(ftx_scan_loss(p, xs, h0), ref_loss)
    for k in p:
        np.testing.assert_allclose(scan_grad[k], ref_grad[k], rtol=1e-8, atol=1e-10)

    rows = [
        ("NumPy Python loop / hand-written BPTT",
         best_ms(lambda: numpy_loss(p, xs, h0)), best_ms(lambda: numpy_grad(p, xs, h0))),
        ("ftx.lax.scan (eager)",
         best_ms(lambda: ftx_scan_loss(p, xs, h0)),
         best_ms(lambda: ftx.grad(ftx_scan_loss)(p, xs, h0))),
        ("ftx.numpy Python loop (grad traces every step)",
         best_ms(lambda: ftx_loop_loss(p, xs, h0)),
         best_ms(lambda: ftx.grad(ftx_loop_loss)(p, xs, h0), repeat=3)),
    ]
    jit_loss, jit_grad = ftx.jit(ftx_scan_loss), ftx.jit(ftx.grad(ftx_scan_loss))
    np.testing.assert_allclose(jit_grad(p, xs, h0)["W"], ref_grad["W"], rtol=1e-8, atol=1e-10)
    rows.append(("ftx.jit of lax.scan (whole loop compiled)",
                 best_ms(lambda: jit_loss(p, xs, h0)), best_ms(lambda: jit_grad(p, xs, h0))))
    try:
        import jax
        import jax.numpy as jnp
        jax.config.update("jax_enable_x64", True)
        jp, jxs, jh0 = jax.tree_util.tree_map(jnp.asarray, (p, xs, h0))

        def jax_scan_loss(p, xs, h0):
            def cell(h, x):
                h = jnp.tanh(p["W"] @ h + p["U"] @ x + p["b"])
                return h, jnp.sum(h * h)
            h, sq = jax.lax.scan(cell, h0, xs)
            return jnp.sum(h) + jnp.mean(sq)

        def jax_loop_loss(p, xs, h):
            total = 0.0
            for t in range(xs.shape[0]):
                h = jnp.tanh(p["W"] @ h + p["U"] @ xs[t] + p["b"])
                total = total + jnp.sum(h * h)
            return jnp.sum(h) + total / xs.shape[0]

        def block(fn):
            return lambda: jax.block_until_ready(fn())

        jax_grad_scan, jax_grad_loop = jax.grad(jax_scan_loss), jax.grad(jax_loop_loss)
        assert np.isclose(float(jax_scan_loss(jp, jxs, jh0)), ref_loss)
        rows += [
            ("JAX lax.scan, no jit (compiles on every call)",
             best_ms(block(lambda: jax_scan_loss(jp, jxs, jh0))),
             best_ms(block(lambda: jax_grad_scan(jp, jxs, jh0)))),
            ("JAX Python loop, op by op, no jit",
             best_ms(block(lambda: jax_loop_loss(jp, jxs, jh0)), repeat=3),
             best_ms(block(lambda: jax_grad_loop(jp, jxs, jh0)), repeat=2)),
        ]
        jax_jit_loss, jax_jit_grad = jax.jit(jax_scan_loss), jax.jit(jax_grad_scan)
        rows.append(("JAX jit(lax.scan)", best_ms(block(lambda: jax_jit_loss(jp, jxs, jh0))),
                     best_ms(block(lambda: jax_jit_grad(jp, jxs, jh0)))))
    except ImportError:
        rows.append(("JAX", None, None))
    rows.append(torch_row(p, xs, h0, ref_grad))
    record_headline(rows, args.steps, args.hidden)

    print(f"# {args.steps}-step RNN (hidden {args.hidden}, input {args.inputs}, float64) "
          f"— {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"NumPy {np.__version__}")
    print(f"| {'implementation':<56} | {'forward ms':>11} | {'gradient ms':>12} |")
    print(f"|{'-' * 58}|{'-' * 13}|{'-' * 14}|")
    for name, fwd, grad in rows:
        cells = ["not installed" if v is None else f"{v:.1f}" for v in (fwd, grad)]
        print(f"| {name:<56} | {cells[0]:>11} | {cells[1]:>12} |")


if __name__ == "__main__":
    main()
