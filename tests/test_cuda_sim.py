"""The CUDA backend's generated kernels, run in Numba's CUDA simulator and compared with the
reference interpreter (NumPy's ``eval_jaxpr``).

The simulator is switched on by ``NUMBA_ENABLE_CUDASIM=1`` before numba is imported and
stays on for the whole process, so every case runs in one subprocess; each case becomes
one test here. The simulator runs each CUDA thread as a Python thread (~0.1 ms each):
shapes are tiny, but chosen so that kernels take their multi-block, multi-split and
edge (partial tile, broadcast, empty) paths.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import ftx
import ftx.lax as lax
import ftx.numpy as fnp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES: dict = {}   # name -> (function, args factory, tolerance)
CHECKS: dict = {}  # name -> a function that raises AssertionError on failure


def case(name, fn, make_args, rtol=1e-6):
    """Compare ``fn(*make_args())`` on the CUDA backend with the reference interpreter."""
    CASES[name] = (fn, make_args, rtol)


def check(fn):
    CHECKS[fn.__name__] = fn
    return fn


rng = np.random.default_rng(0)


def f32(*shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, shape).astype(np.float32)


def f64(*shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, shape)


# --------------------------------------------------------------------------- elementwise

case("arithmetic, comparisons, select, clamp (f32, row and column broadcasts)",
     lambda x, b, c: (fnp.where(x > b, x * b - c / 3.0, fnp.maximum(x, c) + fnp.minimum(b, 0.5)),
                      lax.clamp(np.float32(-0.5), x, np.float32(0.5)) + fnp.sign(x) * fnp.abs(c),
                      (x >= c) & ~(b == 1.0), lax.integer_pow(x, 3) + lax.integer_pow(x + 3.0, -2)),
     lambda: (f32(5, 7), f32(7), f32(5, 1)))

case("transcendentals f32",
     lambda x, p: (fnp.exp(x) + fnp.log(p) + fnp.log1p(p) + fnp.expm1(x) + fnp.exp2(x),
                   fnp.sin(x) * fnp.cos(x) + fnp.tan(x * 0.3) + fnp.arcsin(x / 3) + fnp.arccos(x / 3),
                   fnp.arctan(x) + fnp.sinh(x) + fnp.cosh(x) + fnp.tanh(x) + fnp.arcsinh(x),
                   fnp.arccosh(p + 1) + fnp.arctanh(x / 3) + fnp.sqrt(p) + lax.rsqrt(p) + fnp.cbrt(x),
                   lax.erf(x) + lax.erfc(x) + lax.lgamma(p) + fnp.power(p, x) + fnp.arctan2(x, p),
                   lax.logistic(x * 30) + lax.rem(x * 5, p) + fnp.floor(x * 3) + fnp.ceil(x * 3),
                   lax.round(x * 3) + lax.round(x * 3, 1), fnp.isfinite(x / (x > 0)),
                   lax.nextafter(x, p)),
     lambda: (f32(3, 5), f32(3, 5, low=0.1, high=3.0)), rtol=2e-6)

case("transcendentals f64",
     lambda x, p: (fnp.exp(x) * fnp.tanh(x) + fnp.log(p) + lax.logistic(x) + lax.erf(x),
                   fnp.sqrt(p) + fnp.cbrt(x) + lax.lgamma(p) + fnp.power(p, x)),
     lambda: (f64(4, 3), f64(4, 3, low=0.1, high=3.0)), rtol=1e-12)

case("integers and bools: bitwise ops, converts, 3-D mixed broadcast",
     lambda i, j, m: ((i & j) | (i ^ 7), ~i, fnp.maximum(i, j) - fnp.minimum(i, j) * 2,
                      i.astype(np.float32) * 0.5 + j.astype(np.float64),
                      fnp.where(m, i, -j), fnp.logical_not(m) | (i > 0),
                      i[:, None, :] + j[None, :, :1] * 3),
     lambda: (rng.integers(-9, 9, (4, 6)).astype(np.int32),
              rng.integers(-9, 9, (4, 6)).astype(np.int32), rng.random((4, 6)) > 0.5))

case("scalar (rank-0) arithmetic and NaN propagation",
     lambda s, x: (s * 2.0 + 1.0, fnp.maximum(x, np.float32(np.nan)), fnp.minimum(s, x),
                   fnp.sum(x) * s),
     lambda: (np.float32(1.5), f32(6)))

# --------------------------------------------------------------------------- reductions

case("reduce_sum over rows, columns, all, a middle axis and two separated axes",
     lambda x, y: (fnp.sum(x, axis=1), fnp.sum(x, axis=0), fnp.sum(x), fnp.sum(y, axis=1),
                   fnp.sum(y, axis=(0, 2)), fnp.mean(y, axis=(1, 2))),
     lambda: (f32(5, 33), f32(3, 5, 4)), rtol=1e-5)

case("reduce_sum split over blocks (second pass)",
     lambda x: fnp.sum(x), lambda: (f32(4500),), rtol=1e-5)

case("reduce_max/min with NaN and inf, reduce_prod, and/or/xor",
     lambda x, m, i: (fnp.max(x, axis=1), fnp.min(x, axis=0), fnp.prod(x[:, :4] * 0.5, axis=1),
                      fnp.all(m, axis=1), fnp.any(m, axis=0), lax.reduce_xor(i, (1,)),
                      lax.reduce_and(i, (0,)), lax.reduce_or(i, (0, 1)), fnp.max(i, axis=0)),
     lambda: (np.where(rng.random((5, 9)) > 0.8, np.nan, f32(5, 9)).astype(np.float32)
              * np.array([1, 1, 1, 1, 1, 1, 1, np.inf, 1], np.float32),
              rng.random((5, 9)) > 0.3, rng.integers(0, 64, (5, 9)).astype(np.int32)))

case("argmax/argmin: ties pick the first, NaN wins",
     lambda x, t: (fnp.argmax(x, axis=1), fnp.argmin(x, axis=0), fnp.argmax(t, axis=1),
                   fnp.argmin(t, axis=0)),
     lambda: (np.where(rng.random((6, 11)) > 0.85, np.nan, f32(6, 11)).astype(np.float32),
              rng.integers(0, 3, (7, 5)).astype(np.int32)))

case("cumsum/cumprod/cummax/cummin, forward and reverse",
     lambda x: (fnp.cumsum(x, axis=0), fnp.cumsum(x, axis=1), lax.cumsum(x, 1, reverse=True),
                lax.cumprod(x * 0.5, 0), lax.cummax(x, 1), lax.cummin(x, 0, reverse=True)),
     lambda: (f32(4, 6),), rtol=1e-5)

# --------------------------------------------------------------------------- shapes and indexing

case("transpose, rev, strided slice, broadcast, reshape, squeeze, concatenate",
     lambda x, v: (fnp.transpose(x, (2, 0, 1)), x[::-1, :, ::2], x[1:, 1::2, :3],
                   fnp.broadcast_to(v[:, None], (5, 4)), x.reshape(4, 15)[::3],
                   fnp.squeeze(x[:1], 0).T, fnp.concatenate([x, x[:, :1] * 2.0], axis=1)),
     lambda: (f32(3, 4, 5), f32(5)))

case("pad (negative low, interior), iota, dynamic slices with clamped starts",
     lambda x, i, u: (lax.pad(x, np.float32(9.0), [(1, -1, 1), (-2, 3, 0)]),
                      lax.broadcasted_iota(np.int32, (3, 4), 1) +
                      fnp.arange(3, dtype=np.int32)[:, None],
                      lax.dynamic_slice(x, (i, i + 10), (2, 3)),
                      lax.dynamic_update_slice(x, u, (i * 0 + 1, -i))),
     lambda: (f32(4, 6), np.int32(2), f32(2, 3)))

case("gather (clip, fill) and scatter_add with repeated and out-of-range indices",
     lambda x, i, j, u: (lax.gather(x, i, axis=0, mode="clip"), lax.gather(x, i, j, mode="fill"),
                         lax.gather(x, j, axis=1, mode="fill", fill_value=-1.0),
                         lax.scatter_add(x, u, i, axis=0, mode="drop"),
                         lax.scatter_add(x, u, i, axis=0, mode="clip")),
     lambda: (f32(5, 3), np.array([0, 4, 7, 0, -1, 2], np.int32),
              np.array([1, 0, 2, 5, 1, 0], np.int64), f32(6, 3)))

# --------------------------------------------------------------------------- matmul

case("dot_general: matrix, transposed operands, batched, vector, integer",
     lambda a, b, c, i: (a @ b, a.T @ a, b.T @ c.T,
                         fnp.einsum("bij,bjk->bik", a.reshape(2, 35, 2)[:, :6], b.reshape(2, 2, 3)),
                         b[:, 0] @ b, i @ i.T, fnp.einsum("ijk,kj->i", a.reshape(7, 10, 2), a[:10].T)),
     lambda: (f32(70, 2), f32(2, 6), f32(5, 2), rng.integers(-5, 5, (4, 7)).astype(np.int32)),
     rtol=1e-5)

# --------------------------------------------------------------------------- programs


def _mlp_loss(params, x, y):
    (w1, b1), (w2, b2) = params
    h = fnp.tanh(x @ w1 + b1)
    logits = h @ w2 + b2
    logp = logits - fnp.log(fnp.sum(fnp.exp(logits), axis=1, keepdims=True))
    return -fnp.mean(fnp.sum(logp * y, axis=1))


def _mlp_step(params, x, y):
    loss, grads = ftx.value_and_grad(_mlp_loss)(params, x, y)
    return ftx.tree_util.tree_map(lambda p, g: p - 0.1 * g, params, grads), loss


case("an MLP training step (value_and_grad, softmax cross-entropy, SGD update)", _mlp_step,
     lambda: (((f32(6, 8) * 0.5, f32(8) * 0.1), (f32(8, 3) * 0.5, f32(3) * 0.1)),
              f32(5, 6), np.eye(3, dtype=np.float32)[[0, 2, 1, 1, 0]]), rtol=1e-5)

case("grad of a reduction (max, mean of squares)",
     ftx.grad(lambda x: fnp.max(x, axis=1).sum() + fnp.mean(x ** 2)),
     lambda: (f32(4, 6),), rtol=1e-5)

case("control flow: cond, fori_loop, while_loop, scan (forward and reverse)",
     lambda x, n: (lax.cond(fnp.sum(x) > 0, lambda v: v * 2.0, lambda v: v - 1.0, x),
                   lax.fori_loop(0, 3, lambda i, v: v * 0.5 + i, x),
                   lax.while_loop(lambda c: c[0] < n, lambda c: (c[0] + 1, c[1] + c[1]), (0, x)),
                   lax.scan(lambda c, r: (c + r, c * r), fnp.zeros(3, np.float32), x.reshape(4, 3)),
                   lax.scan(lambda c, r: (c * 0.5 + r, c), x[0, :3], x.reshape(4, 3),
                            reverse=True)),
     lambda: (f32(2, 6), np.int32(3)), rtol=1e-5)


# --------------------------------------------------------------------------- behaviour checks

@check
def device_arrays_copy_back_explicitly():
    x = f32(2, 3)
    xd = ftx.device_put(x, "cuda")
    assert type(xd) is ftx.DeviceArray and xd.shape == (2, 3) and xd.dtype == np.float32
    assert xd.device == "cuda:0" and xd.block_until_ready() is xd
    np.testing.assert_array_equal(np.asarray(xd), x)
    np.testing.assert_array_equal(ftx.device_put(xd, "cpu"), x)
    assert "DeviceArray(" in repr(xd) and "cuda:0" in repr(xd)
    assert float(ftx.device_put(np.float32(2.5), "cuda")) == 2.5
    assert [str(d) for d in ftx.devices()] == ["cpu:0", "cuda:0"]
    tree = ftx.device_put({"a": x, "b": [1.0, x]}, "cuda:0")
    assert type(tree["b"][1]) is ftx.DeviceArray and ftx.device_put(tree["a"], "cuda") is tree["a"]


@check
def jit_refuses_arrays_on_the_wrong_side():
    x = f32(3)
    try:
        ftx.jit(lambda d: d["w"] * 2.0, backend="cuda")({"w": x})
    except TypeError as e:
        assert "argument 0['w']" in str(e) and "device_put" in str(e), e
    else:
        raise AssertionError("a NumPy argument to a cuda function was accepted")
    try:
        ftx.jit(lambda v: v * 2.0, backend="cpu")(ftx.device_put(x, "cuda"))
    except TypeError as e:
        assert "DeviceArray" in str(e) and "np.asarray" in str(e), e
    else:
        raise AssertionError("a DeviceArray argument to a cpu function was accepted")
    # Python scalars are fine (and their device copies are reused).
    g = ftx.jit(lambda v, s: v * s, backend="cuda")
    xd = ftx.device_put(x, "cuda")
    np.testing.assert_allclose(np.asarray(g(xd, 3.0)), x * 3.0, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(g(xd, 3.0)), x * 3.0, rtol=1e-6)


@check
def primitives_without_kernels_run_on_the_host_with_one_warning():
    from ftx.backends.numba_cuda import host_fallbacks
    from ftx.backends.numba_cuda.executor import HostFallbackWarning
    assert "sort" in host_fallbacks() and "add" not in host_fallbacks()
    x = f32(7)
    f = ftx.jit(lambda v: fnp.sort(v) * 2.0, backend="cuda")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = f(ftx.device_put(x, "cuda"))
    assert any(issubclass(w.category, HostFallbackWarning) and "sort" in str(w.message)
               for w in caught), [str(w.message) for w in caught]
    np.testing.assert_allclose(np.asarray(out), np.sort(x) * 2.0)
    assert "(on the host)" in f.lower(ftx.device_put(x, "cuda")).compile().as_text()


@check
def compiled_text_shows_executor_and_kernels():
    f = ftx.jit(lambda x: fnp.tanh(x) * 2.0, backend="cuda")
    text = f.lower(ftx.device_put(f32(3), "cuda")).compile().as_text()
    assert "def run(" in text and "@cuda.jit(cache=True)" in text and "ld.tanhf" in text, text


# --------------------------------------------------------------------------- the subprocess

def _compare(expected, actual, rtol):
    exp_leaves, exp_tree = ftx.tree_util.tree_flatten(expected)
    act_leaves, act_tree = ftx.tree_util.tree_flatten(actual)
    assert exp_tree == act_tree, f"output structure {act_tree} != {exp_tree}"
    for k, (e, a) in enumerate(zip(exp_leaves, act_leaves)):
        assert type(a) is ftx.DeviceArray, f"output {k} is a {type(a).__name__}, not a DeviceArray"
        e = np.asarray(e)
        a = np.asarray(a)
        assert a.shape == e.shape and a.dtype == e.dtype, \
            f"output {k}: {a.dtype}{a.shape} != expected {e.dtype}{e.shape}"
        if e.dtype.kind in "biu":
            np.testing.assert_array_equal(a, e, err_msg=f"output {k}")
        else:
            np.testing.assert_allclose(a, e, rtol=rtol, atol=rtol, err_msg=f"output {k}")


def _run_case(name):
    fn, make_args, rtol = CASES[name]
    args = make_args()
    expected = ftx.jit(fn, backend="reference")(*args)
    with warnings.catch_warnings():
        warnings.simplefilter("error", category=UserWarning)  # no host fallback expected
        actual = ftx.jit(fn, backend="cuda")(*ftx.device_put(args, "cuda"))
    _compare(expected, actual, rtol)


def main():
    """Run every case and check (in a process where the simulator is on), one JSON line each."""
    from numba import config
    assert config.ENABLE_CUDASIM, "set NUMBA_ENABLE_CUDASIM=1 before importing numba"
    jobs = [(n, lambda n=n: _run_case(n)) for n in CASES] + list(CHECKS.items())
    for name, job in jobs:
        try:
            job()
            result = {"name": name, "ok": True}
        except Exception as e:  # noqa: BLE001 - reported to the parent test
            result = {"name": name, "ok": False, "error": f"{type(e).__name__}: {e}"}
        print("CASE " + json.dumps(result), flush=True)


@pytest.fixture(scope="module")
def simulator_results():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", PYTHONPATH=ROOT)
    code = "import tests.test_cuda_sim as t; t.main()"
    try:
        proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, text=True,
                              capture_output=True, timeout=600)
    except subprocess.TimeoutExpired:
        pytest.fail("the CUDA simulator run took over 10 minutes")
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith("CASE "):
            r = json.loads(line[5:])
            results[r["name"]] = r
    if not results:
        if "No module named 'numba" in proc.stderr:
            pytest.skip("numba's CUDA target (and simulator) is not installed: "
                        "pip install 'ftx[cuda]'")
        pytest.fail(f"the simulator run crashed:\n{proc.stderr[-3000:]}")
    return results


@pytest.mark.parametrize("name", list(CASES) + list(CHECKS))
def test_cuda_simulator(simulator_results, name):
    result = simulator_results.get(name)
    assert result is not None, f"{name} did not run (the simulator process stopped early)"
    assert result["ok"], result["error"]
