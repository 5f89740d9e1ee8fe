"""Reductions fused with their elementwise producers, and control flow whose bodies run
compiled, on the Numba CPU backend, against the reference interpreter."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ftx
import ftx.numpy as fnp
from ftx.backends.numba_cpu import compile_jaxpr, control_flow
from ftx.backends.numba_cpu.executor import can_fuse
from ftx.compiler.fusion import Group, plan
from ftx.core import eval_jaxpr


def _groups(f, *args):
    return [s for s in plan(ftx.make_jaxpr(f)(*args), can_fuse) if isinstance(s, Group)]


def _check(f, *args, rtol=None):
    jaxpr = ftx.make_jaxpr(f)(*args)
    expected = eval_jaxpr(jaxpr, *args)
    actual = compile_jaxpr(jaxpr)(*args)
    for a, e in zip(actual, expected):
        a, e = np.asarray(a), np.asarray(e)
        assert a.shape == e.shape and a.dtype == e.dtype
        if a.dtype.kind == "f":
            tol = rtol or (2e-5 if a.dtype == np.float32 else 1e-12)
            np.testing.assert_allclose(a, e, rtol=tol, atol=tol, equal_nan=True)
        else:
            np.testing.assert_array_equal(a, e)


RNG = np.random.default_rng(0)
X = RNG.normal(size=(5, 37)).astype(np.float32)
Y = RNG.normal(size=(5, 37)).astype(np.float32)


@pytest.mark.parametrize("name, f", [
    ("row sum", lambda x, y: fnp.sum(x * y + 1.0, axis=1)),
    ("column sum", lambda x, y: fnp.sum(x * y, axis=0)),
    ("full sum", lambda x, y: fnp.sum((x - y) ** 2)),
    ("mean", lambda x, y: fnp.mean(fnp.abs(x - y))),
    ("product", lambda x, y: fnp.prod(1.0 + 0.01 * x, axis=1)),
    ("two sums, one loop", lambda x, y: (fnp.sum(x * y, axis=1), fnp.sum(x + y, axis=1))),
    ("sum and the elementwise value", lambda x, y: (fnp.sum(x * y, axis=1), x * y - 1.0)),
])
def test_a_reduction_joins_its_producer(name, f):
    groups = _groups(f, X, Y)
    assert len(groups) == 1 and any(e.primitive.name.startswith("reduce_")
                                    for e in groups[0].eqns), groups
    _check(f, X, Y)


def test_a_reduced_value_feeding_the_same_shape_closes_the_loop():
    # softmax: the sum must be complete before the division reads it
    def softmax(x):
        e = fnp.exp(x - fnp.max(x, axis=1, keepdims=True))
        return e / fnp.sum(e * 1.0, axis=1, keepdims=True)
    _check(softmax, X)


def test_a_lone_reduction_stays_a_numpy_call():
    # no producer to fuse with: NumPy's pairwise summation is as fast and more accurate
    assert not any(e.primitive.name == "reduce_sum" for g in _groups(lambda x: fnp.sum(x), X)
                   for e in g.eqns)


@pytest.mark.parametrize("axes", [(0,), (1,), (2,), (0, 1), (1, 2), (0, 2), (0, 1, 2)])
@pytest.mark.parametrize("dtype", [np.float64, np.int32])
def test_every_axis_pattern_of_a_rank_3_reduction(axes, dtype):
    x = (RNG.normal(size=(3, 4, 5)) * 10).astype(dtype)
    _check(lambda x: fnp.sum(x * 2 + 1, axis=axes), x)


def test_integer_sums_wrap_like_numpy():
    x = np.full((4, 1000), 2 ** 29, np.int32)
    _check(lambda x: fnp.sum(x * 3, axis=1, dtype=np.int32), x)


def test_nan_and_inf_propagate_through_fused_sums():
    x = X.copy()
    x[1, 3], x[2, 0], x[3, -1] = np.nan, np.inf, -np.inf
    x[4, 5], x[4, 6] = np.inf, -np.inf
    _check(lambda x: fnp.sum(x * 2.0, axis=1), x)


def test_a_long_float32_sum_stays_accurate():
    x = RNG.uniform(size=(2, 1 << 16)).astype(np.float32)
    jaxpr = ftx.make_jaxpr(lambda x: fnp.sum(x * 1.0, axis=1))(x)
    exact = x.astype(np.float64).sum(axis=1)
    np.testing.assert_allclose(compile_jaxpr(jaxpr)(x)[0], exact, rtol=1e-5)


@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=3),
       data=st.data())
def test_random_shapes_and_axes(shape, data):
    axes = tuple(sorted(data.draw(st.sets(st.integers(0, len(shape) - 1), min_size=1))))
    x = RNG.normal(size=shape)
    _check(lambda x: fnp.sum(fnp.maximum(x, 0.0) * x - 0.5, axis=axes), x)


# ------------------------------------------------------------------- control flow bodies

def _scan_rnn(w, xs, h0):
    def step(h, x):
        h = fnp.tanh(h @ w + x) * 0.5 + h * 0.5
        return h, fnp.sum(h * h)
    return ftx.lax.scan(step, h0, xs)


def test_control_flow_bodies_run_compiled(monkeypatch):
    compiled = []
    real = control_flow.lowering
    monkeypatch.setattr(control_flow, "lowering",
                        lambda eqn, c: compiled.append(eqn.primitive.name) or real(eqn, c))
    w = RNG.normal(size=(4, 4)) * 0.5
    xs, h0 = RNG.normal(size=(6, 4)), np.zeros(4)
    _check(_scan_rnn, w, xs, h0)
    _check(lambda x: ftx.lax.fori_loop(0, 5, lambda i, c: c * 0.5 + i, x), X)
    _check(lambda x: ftx.lax.while_loop(lambda c: c[0] < 10.0, lambda c: c * 1.5 + 1.0, x),
           np.ones(3))
    _check(lambda p, x: ftx.lax.cond(p > 0, lambda x: x * 2.0 + 1.0, lambda x: -x, x),
           np.float64(1.0), X)
    assert {"scan", "while", "cond"} <= set(compiled)


def test_gradient_of_a_scan_under_jit_matches_eager():
    w = RNG.normal(size=(4, 4)) * 0.5
    xs, h0 = RNG.normal(size=(6, 4)), np.zeros(4)
    loss = lambda w: fnp.sum(_scan_rnn(w, xs, h0)[1])  # noqa: E731
    np.testing.assert_allclose(ftx.jit(ftx.grad(loss))(w), ftx.grad(loss)(w), rtol=1e-10)


def _with_specials(x):
    x = x.copy()
    x[1, 3], x[2, 0], x[3, 5] = np.nan, np.inf, -np.inf
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.uint8])
@pytest.mark.parametrize("axis", [1, 0, None, (0, 1)])
@pytest.mark.parametrize("reduce", ["max", "min"])
def test_fused_max_and_min_propagate_nan_as_numpy(reduce, axis, dtype):
    base = RNG.normal(size=(6, 67)) * 50
    x = base.astype(dtype) if np.dtype(dtype).kind == "f" else np.abs(base).astype(dtype)
    if np.dtype(dtype).kind == "f":
        x = _with_specials(x)
    red = getattr(fnp, reduce)
    f = lambda x: red(x * 1 + x, axis=axis)  # noqa: E731
    groups = _groups(f, x)
    assert len(groups) == 1 and any(e.primitive.name == f"reduce_{reduce}"
                                    for e in groups[0].eqns)
    out = compile_jaxpr(ftx.make_jaxpr(f)(x))(x)[0]
    expected = getattr(np, reduce)(x * 1 + x, axis=axis)
    assert out.dtype == expected.dtype
    np.testing.assert_array_equal(out, expected)  # exact: max/min round nothing
    if np.dtype(dtype).kind == "f" and axis in (1, None, (0, 1)):
        assert np.isnan(out).any()


@pytest.mark.parametrize("axis", [1, 0, None])
def test_fused_all_and_any(axis):
    x = RNG.normal(size=(4, 33)) > -1.5
    for name in ("all", "any"):
        f = lambda x, y: getattr(fnp, name)(x & (y > 0.0), axis=axis)  # noqa: E731
        y = RNG.normal(size=(4, 33))
        assert len(_groups(f, x, y)) == 1
        out = compile_jaxpr(ftx.make_jaxpr(f)(x, y))(x, y)[0]
        np.testing.assert_array_equal(out, getattr(np, name)(x & (y > 0), axis=axis))
