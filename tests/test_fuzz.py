"""Differential fuzzing: random well-typed programs through every backend and transform.

CI runs a small fixed budget; FTX_FUZZ_EXAMPLES=N runs N examples per property.
"""
import os

import numpy as np
from hypothesis import given, settings

import ftx
from ftx.testing.strategies import arrays, programs

BUDGET = int(os.environ.get("FTX_FUZZ_EXAMPLES", "15"))
FUZZ = settings(max_examples=BUDGET, deadline=None)


def _close(a, b, rtol=1e-9):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=1e-10)


@FUZZ
@given(programs())
def test_traced_graph_and_reference_jit_agree_with_eager(program):
    fn, args = program
    expected = fn(*args)  # eager: NumPy
    _close(ftx.jit(fn, backend="reference")(*args), expected)
    _close(ftx.core.eval_jaxpr(ftx.make_jaxpr(fn)(*args), *args)[0], expected)


@settings(max_examples=max(BUDGET // 3, 4), deadline=None)
@given(programs(max_ops=4))
def test_numba_backend_agrees_with_eager(program):
    fn, args = program
    _close(ftx.jit(fn)(*args), fn(*args), rtol=1e-12)


@FUZZ
@given(programs())
def test_gradients_agree_across_routes_and_with_finite_differences(program):
    fn, args = program
    g = ftx.grad(fn)(*args)
    _close(ftx.jit(ftx.grad(fn), backend="reference")(*args), g)
    _close(ftx.grad(ftx.jit(fn, backend="reference"))(*args), g)
    # Forward mode is an independent route to the same directional derivative (finite
    # differences would be flaky here: programs have kinks such as abs, max and where).
    v = np.random.default_rng(0).normal(size=np.shape(args[0]))
    _, directional = ftx.jvp(lambda x: fn(x, *args[1:]), (args[0],), (v,))
    np.testing.assert_allclose(np.sum(g * v), directional, rtol=1e-9, atol=1e-10)


@FUZZ
@given(programs(max_ops=4))
def test_vmap_agrees_with_a_loop(program):
    fn, args = program
    batch = [[a * s for a in args] for s in (1.0, -0.5, 0.25)]
    stacked = [np.stack([b[i] for b in batch]) for i in range(len(args))]
    out = ftx.vmap(fn)(*stacked)
    _close(out, np.stack([fn(*b) for b in batch]))


@FUZZ
@given(arrays())
def test_array_strategy_respects_bounds(x):
    assert np.all(np.isfinite(x)) and np.all(np.abs(x) <= 2)
