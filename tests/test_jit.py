"""ftx.jit's front end: signature cache, static arguments, AOT API, composition with transforms."""
import logging

import numpy as np
import pytest

import ftx
import ftx.numpy as fnp
from ftx.core import eval_jaxpr


def _f(x, y):
    return fnp.tanh(x @ y) * 2.0


def test_jit_matches_eager_and_caches_by_signature():
    f = ftx.jit(_f)
    x, y = np.random.rand(3, 4), np.random.rand(4, 2)
    np.testing.assert_allclose(f(x, y), np.tanh(x @ y) * 2.0)
    f(x + 1, y)  # same types: no new trace
    assert f._cache_size() == 1
    with ftx.no_retrace():
        f(x * 3, y)
        with pytest.raises(ftx.RetraceError, match="_f"):
            f(np.ones((5, 4)), y)  # a new shape needs a trace
    f(np.ones((5, 4)), y)
    f(x.astype(np.float32), y.astype(np.float32))
    assert f._cache_size() == 3
    f.clear_cache()
    assert f._cache_size() == 0


def test_weak_types_are_part_of_the_signature():
    f = ftx.jit(lambda a, s: a * s)
    out = f(np.ones(2, np.float32), 2.0)
    assert out.dtype == np.float32  # Python float is weak, as in NumPy
    f(np.ones(2, np.float32), np.float64(2.0))  # a NumPy scalar is strong: another signature
    assert f._cache_size() == 2


def test_static_arguments():
    calls = []

    def g(x, n, *, mode):
        calls.append((n, mode))
        return x * n if mode == "mul" else x + n

    f = ftx.jit(g, static_argnums=1, static_argnames="mode")
    x = np.arange(3.0)
    np.testing.assert_allclose(f(x, 2, mode="mul"), x * 2)
    np.testing.assert_allclose(f(x, 2, mode="mul"), x * 2)
    np.testing.assert_allclose(f(x, 3, mode="add"), x + 3)
    assert calls == [(2, "mul"), (3, "add")]
    with pytest.raises(TypeError, match="non-hashable static arguments.*list"):
        f(x, [1, 2], mode="mul")


def test_log_compiles_explains_the_miss(caplog):
    f = ftx.jit(_f)
    x, y = np.ones((3, 4)), np.ones((4, 2))
    with ftx.config.override(log_compiles=True), caplog.at_level(logging.WARNING, logger="ftx"):
        f(x, y)
        f(np.ones((6, 4)), y)
    assert "first call" in caplog.records[0].getMessage()
    msg = caplog.records[1].getMessage()
    assert "argument 0 was f64[3,4] and is now f64[6,4]" in msg and "_f at" in msg


def test_aot_trace_lower_compile():
    f = ftx.jit(_f)
    spec = ftx.ShapeDtypeStruct((3, 4), np.float32)
    traced = f.trace(spec, ftx.ShapeDtypeStruct((4, 2), np.float32))
    assert [e.primitive.name for e in traced.jaxpr.eqns] == ["dot_general", "tanh", "mul"]
    assert traced.out_info == ftx.ShapeDtypeStruct((3, 2), np.float32)
    lowered = f.lower(spec, np.ones((4, 2), np.float32))
    assert "tanh" in lowered.as_text() and "test_jit.py" in lowered.as_text()
    compiled = lowered.compile()
    x, y = np.random.rand(3, 4).astype(np.float32), np.random.rand(4, 2).astype(np.float32)
    np.testing.assert_allclose(compiled(x, y), np.tanh(x @ y) * 2, rtol=1e-6)
    assert [a.str_short() for a in compiled.in_avals] == ["f32[3,4]", "f32[4,2]"]
    with pytest.raises(TypeError, match=r"argument 0 compiled with f32\[3,4\] and called with "
                                        r"f64\[3,4\]"):
        compiled(x.astype(np.float64), y)


def test_cost_and_memory_analysis_count_by_hand():
    compiled = ftx.jit(_f).lower(np.ones((3, 4)), np.ones((4, 2))).compile()
    cost = compiled.cost_analysis()
    assert cost["flops"] == 2 * 3 * 2 * 4 + 6 + 6  # matmul, tanh, mul
    assert cost["transcendentals"] == 6
    mem = compiled.memory_analysis()
    assert mem["argument_size_in_bytes"] == (12 + 8) * 8
    assert mem["output_size_in_bytes"] == 6 * 8
    assert mem["temp_size_in_bytes"] == 2 * 6 * 8


def test_jit_composes_with_transforms():
    x, y = np.random.rand(3, 4), np.random.rand(4, 2)
    f = ftx.jit(_f)
    loss = lambda x: fnp.sum(f(x, y))
    expected = ftx.grad(lambda x: fnp.sum(_f(x, y)))(x)
    np.testing.assert_allclose(ftx.grad(loss)(x), expected)                    # grad(jit)
    np.testing.assert_allclose(ftx.jit(ftx.grad(loss))(x), expected)           # jit(grad(jit))
    np.testing.assert_allclose(ftx.jit(ftx.grad(lambda x: fnp.sum(_f(x, y))))(x), expected)
    xs = np.random.rand(5, 3, 4)
    np.testing.assert_allclose(ftx.vmap(f, in_axes=(0, None))(xs, y), np.tanh(xs @ y) * 2)
    np.testing.assert_allclose(ftx.jit(ftx.vmap(_f, in_axes=(0, None)))(xs, y), np.tanh(xs @ y) * 2)
    t = np.random.rand(3, 4)
    np.testing.assert_allclose(ftx.jvp(lambda x: f(x, y), (x,), (t,))[1],
                               ftx.jvp(lambda x: _f(x, y), (x,), (t,))[1])
    np.testing.assert_allclose(ftx.hessian(lambda v: fnp.sum(ftx.jit(fnp.sin)(v) ** 2))(x[0]),
                               ftx.hessian(lambda v: fnp.sum(fnp.sin(v) ** 2))(x[0]))


def test_grad_of_jit_splits_forward_and_backward():
    f = ftx.jit(lambda x: fnp.sin(x) * x)
    # The default min-cut partitioner would recompute sin(x) from the input x (free to
    # save) in the backward; saving every residual keeps the backward purely linear.
    with ftx.config.override(remat_partitioner="save_all"):
        _, f_vjp = ftx.vjp(f, np.arange(3.0))
    (eqn,) = f_vjp.jaxpr.eqns
    assert eqn.primitive.name == "jit" and eqn.params["name"].startswith("lin(")
    assert "sin" not in str(eqn.params["jaxpr"])  # the backward program only holds linear work


def test_jit_closing_over_a_tracer_does_not_cache_it():
    y = np.arange(3.0)

    def outer(w):
        return fnp.sum(ftx.jit(lambda x: x * w)(y))

    assert ftx.grad(outer)(2.0) == y.sum()
    assert ftx.grad(outer)(5.0) == y.sum()


def test_nested_jit_and_pytrees():
    @ftx.jit
    def inner(p):
        return {"s": p["a"] + p["b"], "d": p["a"] - p["b"]}

    @ftx.jit
    def outer(p):
        out = inner(p)
        return out["s"] * out["d"]

    p = {"a": np.arange(3.0), "b": np.ones(3)}
    np.testing.assert_allclose(outer(p), (p["a"] + 1) * (p["a"] - 1))
    jaxpr = outer.trace(p).jaxpr
    assert any(e.primitive.name == "jit" for e in jaxpr.eqns)
    np.testing.assert_allclose(eval_jaxpr(jaxpr, p["a"], p["b"])[0], outer(p))


def test_disable_jit_and_backends():
    calls = []
    f = ftx.jit(lambda x: (calls.append(1), x + 1)[1])
    with ftx.config.override(disable_jit=True):
        f(1.0)
        f(1.0)
    assert len(calls) == 2  # ran eagerly each time
    g = ftx.jit(lambda x: x * 2, backend="reference")
    assert g(3.0) == 6.0
    with pytest.raises(ValueError, match="unknown ftx backend 'gpu'"):
        ftx.jit(lambda x: x, backend="gpu")


def test_jit_as_decorator_with_options_and_method():
    @ftx.jit(static_argnums=(1,))
    def power(x, n):
        return x ** n

    assert power(2.0, 3) == 8.0

    class Model:
        def __init__(self, w):
            self.w = w

        @ftx.jit(static_argnums=0)  # as in JAX, `self` is static (hashed by identity here)
        def apply(self, x):
            return x * self.w

    assert Model(3.0).apply(np.float64(2.0)) == 6.0
