"""Fusion recomputes cheap elementwise values in the later kernels that read them instead of
writing them out (ftx/compiler/fusion.py: producer duplication).

Oracles: the reference interpreter for values; for the plan, which values a kernel writes.
"""
import numpy as np

import ftx
import ftx.numpy as fnp
from ftx.backends.numba_cpu.executor import can_fuse
from ftx.compiler.fusion import Group, plan
from ftx.core import eval_jaxpr
from ftx.nn import gelu
from tests.test_checkpoint import _traced_peak
from tests.test_partition import _blocks

RNG = np.random.default_rng(0)
X = RNG.normal(size=(8, 16)).astype(np.float32)
W = RNG.normal(size=(16, 16)).astype(np.float32) / 4


def _plan_and_check(f, *args):
    """The groups of ``f``'s plan, after checking the compiled result against the reference."""
    jaxpr = ftx.make_jaxpr(f)(*args)
    expected = eval_jaxpr(jaxpr, *args)
    actual = ftx.jit(f)(*args)
    actual = actual if isinstance(actual, (tuple, list)) else [actual]
    for a, e in zip(actual, expected):
        np.testing.assert_allclose(a, e, rtol=2e-5, atol=2e-5)
    return [s for s in plan(jaxpr, can_fuse) if isinstance(s, Group)]


def _names(group):
    return [e.primitive.name for e in group.eqns]


def test_a_value_read_after_a_matmul_is_recomputed_not_written():
    def f(x, w):
        t = fnp.tanh(x)
        a = t * 0.5 + x
        return (a @ w) * (1.0 - t * t)   # t again, after the matmul
    first, second = _plan_and_check(f, X, W)
    assert len(first.outputs) == 1                    # only `a`: t is not written
    assert "tanh" in _names(second)                   # ... the second kernel recomputes it
    assert not set(second.inputs) & (first.defined - set(first.outputs))


def test_returned_values_are_written():
    def f(x, w):
        t = fnp.tanh(x)
        return (t * 2.0) @ w * t, t
    groups = _plan_and_check(f, X, W)
    assert any(groups[0].eqns[0].outvars[0] in g.outputs for g in groups)
    assert "tanh" not in _names(groups[-1])


def test_expensive_values_are_written():
    def f(x, w):
        t = x
        for _ in range(6):
            t = fnp.exp(fnp.tanh(t))     # 6 * (exp + tanh): too much to recompute
        return (t + 1.0) @ w * t
    first, second = _plan_and_check(f, X, W)
    assert len(first.outputs) == 2 and set(first.outputs) & set(second.inputs)  # t is written
    assert "exp" not in _names(second)


def test_a_value_whose_recomputation_would_keep_two_arrays_alive_is_written():
    def f(x, w):
        p, q = x @ w, x @ w.T            # both die after `s` unless s is recomputed
        s = p * q
        return (s + 1.0) @ w * s
    first, second = _plan_and_check(f, X, W)
    assert len(first.outputs) == 2                        # s + 1.0 for the matmul, and s
    assert set(first.outputs) & set(second.inputs) and _names(second) == ["mul"]


def test_a_value_a_reduction_reads_later_is_written():
    def f(x, w):
        t = fnp.tanh(x) * 3.0
        return fnp.sum(((t + 1.0) @ w) * t, axis=1), fnp.sum(t, axis=0)
    first = _plan_and_check(f, X, W)[0]
    t = next(e.outvars[0] for e in first.eqns if e.primitive.name == "mul")
    assert t in first.outputs


def test_gradients_through_recomputed_values_equal_the_reference():
    def loss(w1, w2, x):
        return fnp.mean((x + gelu(x @ w1) @ w2) ** 2)
    w2 = RNG.normal(size=(16, 16)).astype(np.float32) / 4
    g = ftx.jit(ftx.grad(loss, argnums=(0, 1, 2)))(W, w2, X)
    jaxpr = ftx.make_jaxpr(ftx.grad(loss, argnums=(0, 1, 2)))(W, w2, X)
    for a, e in zip(g, eval_jaxpr(jaxpr, W, w2, X)):
        np.testing.assert_allclose(a, e, rtol=2e-5, atol=1e-6)


def test_a_differentiated_gelu_block_keeps_only_its_pre_activation():
    """value_and_grad of residual gelu blocks (input gradient only): the forward's kernels
    write only the activations and pre-activations, so the step's peak is about one
    pre-activation per block, not five (tanh(u), 1 + tanh(u), x * x, ...)."""
    depth, b, h = 4, 64, 256
    loss, x = _blocks(depth=depth, d=64, h=h, b=b)
    step = ftx.jit(ftx.value_and_grad(loss))
    step(x)
    peak, (value, grad) = _traced_peak(lambda: step(x))
    pre_activation = b * h * 4
    assert peak < (depth + 4) * pre_activation, peak / pre_activation
    expected = eval_jaxpr(ftx.make_jaxpr(ftx.grad(loss))(x), x)[0]
    np.testing.assert_allclose(grad, expected, rtol=2e-5, atol=1e-7)
