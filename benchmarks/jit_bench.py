"""ftx.jit: call overhead, a fused elementwise chain, and an MLP training step, vs NumPy
(and JAX's jit and PyTorch, eager and ``torch.compile``, when installed).

    python benchmarks/jit_bench.py [--quick]

Prints one table (milliseconds or microseconds per call, best of several repeats).
``--quick`` leaves out the per-transcendental rows and ``torch.compile`` of the MLP step
(its compile takes tens of seconds). PyTorch runs with as many threads as NumPy's BLAS.
"""
from __future__ import annotations

import platform
import sys
import time
import timeit

import numpy as np

import ftx
import ftx.numpy as fnp
from _report import import_torch, record

QUICK = "--quick" in sys.argv
CALL, DICT = "jit call, 4-element input", "jit call, dict of 10 arrays"
CHAIN, MLP = "gelu*sigmoid chain, 4M f32", "MLP 784-1024-1024-10 b256 f32 train step"
LR = 0.01


def best(fn, number, repeat=5):
    fn()
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def first_call(fn):
    """Seconds of the first call (trace and compile included)."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


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
    rows = [("fused transcendental alone, 1M: ftx / NumPy ns", None, "")]
    for name, np_fn in _numpy_transcendentals().items():
        cells = []
        for dtype in (np.float32, np.float64):
            x = rng.uniform(0.01 if name.startswith("log") else -5, 5, n).astype(dtype)
            f = ftx.jit(ftx_fns[name])
            cells.append(f"{best(lambda: f(x), 10) / n * 1e9:.2f} / "
                         f"{best(lambda: np_fn(x), 10 if name != 'erf' else 1, 3) / n * 1e9:.2f}")
        rows.append((f"  {name}: f32, f64", None, "  ".join(cells)))
    return rows


# ----------------------------------------------------------------------------- the MLP

SIZES = [784, 1024, 1024, 10]


def mlp_data():
    rng = np.random.default_rng(0)
    params = [(rng.normal(0, 0.03, (m, n)).astype(np.float32), np.zeros(n, np.float32))
              for m, n in zip(SIZES[:-1], SIZES[1:])]
    xb = rng.normal(size=(256, 784)).astype(np.float32)
    yb = rng.normal(size=(256, 10)).astype(np.float32)
    return params, xb, yb


def mlp_loss(params, x, y):
    h = x
    for w, b in params[:-1]:
        h = fnp.maximum(h @ w + b, 0.0)
    w, b = params[-1]
    return fnp.mean((h @ w + b - y) ** 2)


def numpy_train_step(params, x, y):
    """The same step hand-written in NumPy: forward, backpropagation, SGD update."""
    hs, h = [x], x
    for w, b in params[:-1]:
        h = np.maximum(h @ w + b, np.float32(0))
        hs.append(h)
    w, b = params[-1]
    err = h @ w + b - y
    loss = np.mean(err ** 2)
    g = err * np.float32(2 / err.size)
    new = [None] * len(params)
    for i in range(len(params) - 1, -1, -1):
        w, b = params[i]
        gw, gb = hs[i].T @ g, g.sum(axis=0)
        if i:
            g = (g @ w.T) * (hs[i] > 0)
        new[i] = (w - LR * gw, b - LR * gb)
    return loss, new


def ftx_train_step(params, x, y):
    value, grads = ftx.value_and_grad(mlp_loss)(params, x, y)
    return value, ftx.tree_util.tree_map(lambda p, g: p - LR * g, params, grads)


def mlp_rows(params, xb, yb, np_loss):
    step = ftx.jit(ftx.value_and_grad(mlp_loss))
    rows = [("MLP 784-1024-1024-10 b256 f32: first call",
             first_call(lambda: step(params, xb, yb)) * 1e3, "ms"),
            ("  ftx.jit(value_and_grad) per step", best(lambda: step(params, xb, yb), 5) * 1e3,
             "ms")]
    train = ftx.jit(ftx_train_step)
    assert np.isclose(float(train(params, xb, yb)[0]), np_loss, rtol=1e-4)
    t = best(lambda: train(params, xb, yb), 5)
    rows.append(("  ftx.jit(value_and_grad + SGD update)", t * 1e3, "ms"))
    record(MLP, "ftx", t * 1e3, "ms", "jit")
    rows.append(("  ftx eager value_and_grad per step",
                 best(lambda: ftx.value_and_grad(mlp_loss)(params, xb, yb), 3) * 1e3, "ms"))
    t = best(lambda: numpy_train_step(params, xb, yb), 5)
    rows.append(("  NumPy, hand-written backprop + SGD update", t * 1e3, "ms"))
    record(MLP, "NumPy", t * 1e3, "ms", "hand-written")
    return rows


# ----------------------------------------------------------------------------- JAX, PyTorch

def jax_rows(x4, x, y, params, xb, yb, np_loss):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return [("JAX", None, "not installed")]
    rows = []
    jf = jax.jit(lambda x: x * 2.0 + 1.0)
    jx4 = jnp.asarray(x4)
    t = best(lambda: jf(jx4).block_until_ready(), 20000)
    rows.append(("JAX jit call, 4-element input", t * 1e6, "µs"))
    record(CALL, "JAX", t * 1e6, "µs", "jax.jit")
    jg = jax.jit(lambda d: d["a0"] + d["a9"])
    jd10 = {f"a{i}": jnp.ones(4, jnp.float32) for i in range(10)}
    t = best(lambda: jg(jd10).block_until_ready(), 20000)
    rows.append(("JAX jit call, dict of 10 arrays", t * 1e6, "µs"))
    record(DICT, "JAX", t * 1e6, "µs", "jax.jit")
    jchain = jax.jit(lambda x, y: (0.5 * x * (1 + jnp.tanh(0.7978845608 * (
        x + 0.044715 * x ** 3)))) * jax.nn.sigmoid(y) + 0.1 * x * x)
    jxx, jyy = jnp.asarray(x), jnp.asarray(y)
    t = best(lambda: jchain(jxx, jyy).block_until_ready(), 5)
    rows.append(("JAX jit gelu*sigmoid chain", t * 1e3, "ms"))
    record(CHAIN, "JAX", t * 1e3, "ms", "jax.jit")

    def loss(params, x, y):
        h = x
        for w, b in params[:-1]:
            h = jnp.maximum(h @ w + b, 0.0)
        w, b = params[-1]
        return jnp.mean((h @ w + b - y) ** 2)

    @jax.jit
    def train(params, x, y):
        value, grads = jax.value_and_grad(loss)(params, x, y)
        return value, jax.tree_util.tree_map(lambda p, g: p - LR * g, params, grads)

    jp, jxb, jyb = jax.tree_util.tree_map(jnp.asarray, (params, xb, yb))
    assert np.isclose(float(train(jp, jxb, jyb)[0]), np_loss, rtol=1e-4)
    t = best(lambda: jax.block_until_ready(train(jp, jxb, jyb)), 5)
    rows.append(("JAX jit(value_and_grad + SGD update)", t * 1e3, "ms"))
    record(MLP, "JAX", t * 1e3, "ms", "jax.jit")
    return rows


def torch_rows(x4, x, y, params, xb, yb, np_loss):
    torch = import_torch()
    if torch is None:
        return [("PyTorch", None, "not installed")]
    rows = []
    rows.append((f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads:", None, ""))
    tx4 = torch.from_numpy(x4)
    t = best(lambda: tx4 * 2.0 + 1.0, 20000)
    rows.append(("  eager x * 2 + 1, 4 elements", t * 1e6, "µs"))
    f = torch.compile(lambda x: x * 2.0 + 1.0)
    rows.append(("  torch.compile call, 4-element input: compile",
                 first_call(lambda: f(tx4)) * 1e3, "ms"))
    t = best(lambda: f(tx4), 5000)
    rows.append(("  torch.compile call, 4-element input", t * 1e6, "µs"))
    record(CALL, "PyTorch", t * 1e6, "µs", "torch.compile")

    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def chain(x, y):
        return (0.5 * x * (1 + torch.tanh(0.7978845608 * (x + 0.044715 * x ** 3)))
                * torch.sigmoid(y) + 0.1 * x * x)

    t = best(lambda: chain(tx, ty), 5)
    rows.append(("  eager gelu*sigmoid chain", t * 1e3, "ms"))
    record(CHAIN, "PyTorch", t * 1e3, "ms", "eager")
    cchain = torch.compile(chain)
    rows.append(("  torch.compile gelu*sigmoid chain: compile",
                 first_call(lambda: cchain(tx, ty)) * 1e3, "ms"))
    t = best(lambda: cchain(tx, ty), 5)
    rows.append(("  torch.compile gelu*sigmoid chain", t * 1e3, "ms"))
    record(CHAIN, "PyTorch", t * 1e3, "ms", "torch.compile")

    tparams = [torch.tensor(a, requires_grad=True) for wb in params for a in wb]
    txb, tyb = torch.from_numpy(xb), torch.from_numpy(yb)

    def loss(ps, x, y):
        h = x
        for i in range(0, len(ps) - 2, 2):
            h = torch.relu(h @ ps[i] + ps[i + 1])
        return ((h @ ps[-2] + ps[-1] - y) ** 2).mean()

    def train_step(loss_fn):
        # Update with a zero learning rate: each timed step sees the same weights, as the
        # ftx/JAX/NumPy steps (which return new weights rather than updating in place) do.
        def step():
            value = loss_fn(tparams, txb, tyb)
            value.backward()
            with torch.no_grad():
                for p in tparams:
                    p.sub_(0.0 * LR * p.grad)
                    p.grad = None
            return value
        return step

    eager = train_step(loss)
    assert np.isclose(float(eager().detach()), np_loss, rtol=1e-4)
    t = best(eager, 5)
    rows.append(("  eager autograd MLP step (backward + SGD update)", t * 1e3, "ms"))
    record(MLP, "PyTorch", t * 1e3, "ms", "eager")
    if QUICK:
        rows.append(("  torch.compile MLP step", None, "skipped (--quick)"))
    else:
        compiled = train_step(torch.compile(loss))
        rows.append(("  torch.compile MLP step: compile", first_call(compiled) * 1e3, "ms"))
        t = best(compiled, 5)
        rows.append(("  torch.compile MLP step (loss compiled, update eager)", t * 1e3, "ms"))
        record(MLP, "PyTorch", t * 1e3, "ms", "torch.compile")
    return rows


def main():
    rows = []
    x4 = np.arange(4, dtype=np.float32)
    f = ftx.jit(lambda x: x * 2.0 + 1.0)
    t = best(lambda: f(x4), 20000)
    rows.append((CALL, t * 1e6, "µs"))
    record(CALL, "ftx", t * 1e6, "µs", "ftx.jit")
    d10 = {f"a{i}": np.ones(4, np.float32) for i in range(10)}
    g = ftx.jit(lambda d: d["a0"] + d["a9"])
    t = best(lambda: g(d10), 20000)
    rows.append((DICT, t * 1e6, "µs"))
    record(DICT, "ftx", t * 1e6, "µs", "ftx.jit")

    rng = np.random.default_rng(0)
    x = rng.normal(size=4 * 2 ** 20).astype(np.float32)
    y = rng.normal(size=4 * 2 ** 20).astype(np.float32)
    t = best(lambda: chain_np(x, y), 5)
    rows.append((f"{CHAIN}: NumPy", t * 1e3, "ms"))
    record(CHAIN, "NumPy", t * 1e3, "ms")
    h = ftx.jit(chain_ftx)
    rows.append(("  ftx.jit first call (trace + compile)", first_call(lambda: h(x, y)) * 1e3,
                 "ms"))
    t = best(lambda: h(x, y), 5)
    rows.append(("  ftx.jit", t * 1e3, "ms"))
    record(CHAIN, "ftx", t * 1e3, "ms", "ftx.jit")

    if not QUICK:
        rows += transcendental_rows()

    params, xb, yb = mlp_data()
    np_loss = float(numpy_train_step(params, xb, yb)[0])
    rows += mlp_rows(params, xb, yb, np_loss)
    rows += jax_rows(x4, x, y, params, xb, yb, np_loss)
    rows += torch_rows(x4, x, y, params, xb, yb, np_loss)

    print(f"# ftx.jit — {platform.machine()}, Python {platform.python_version()}, "
          f"NumPy {np.__version__}")
    width = max(12, *(len(unit) for _, value, unit in rows if value is None))
    print(f"| {'case':<54} | {'time':>{width}} |")
    print(f"|{'-' * 56}|{'-' * (width + 2)}|")
    for name, value, unit in rows:
        cell = unit if value is None else f"{value:.2f} {unit}"
        print(f"| {name:<54} | {cell:>{width}} |")


if __name__ == "__main__":
    main()
