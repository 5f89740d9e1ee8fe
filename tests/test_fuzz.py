"""Differential fuzzing: random well-typed programs through every backend and transform.

CI runs a small fixed budget; FTX_FUZZ_EXAMPLES=N runs N examples per property. A failing
typed program is shrunk by hypothesis, then its graph is minified by ftx.debug.minify and
written as a standalone repro whose path the assertion message gives.
"""
import os

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from hypothesis.control import current_build_context

import ftx
import ftx.numpy as fnp
from ftx.debug import agrees_with_reference
from ftx.testing.differential import (array_difference, aval_mismatch, grad_mismatch,
                                      minified_repro, vmap_mismatch)
from ftx.testing.strategies import arrays, programs, typed_programs

BUDGET = int(os.environ.get("FTX_FUZZ_EXAMPLES", "15"))
FUZZ = settings(max_examples=BUDGET, deadline=None)
# Typed programs use the hypothesis profile's budget (CI: 25) unless FTX_FUZZ_EXAMPLES is set;
# compiling with Numba costs about a second a program, so that property runs a fifth of it.
TYPED = settings(max_examples=BUDGET, deadline=None) if "FTX_FUZZ_EXAMPLES" in os.environ \
    else settings(deadline=None)
COMPILED = settings(max_examples=max(TYPED.max_examples // 5, 3), deadline=None)


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


# ---------------------------------------------------------------------------- typed programs

def _graph(fn, args):
    """The traced graph with its constants as leading inputs: what the minifier works on."""
    jaxpr = ftx.make_jaxpr(fn)(*args)
    return jaxpr.consts_as_inputs(), [np.asarray(c) for c in jaxpr.consts] + list(args)


def _first_difference(route, got, want):
    for k, (g, w) in enumerate(zip(got, want)):
        problem = array_difference(g, w)
        if problem:
            return f"{route}: output {k} is {problem}"
    return None


def _check(mismatch, **kwargs):
    """A graph-level check for the minifier: (its name in a repro, kwargs, fails)."""
    return mismatch.__name__, kwargs, lambda j, i: mismatch(j, i, **kwargs) is not None


_ON_CPU = ("agrees_with_reference:cpu", {}, lambda j, i: not agrees_with_reference(j, i, "cpu"))


def _fail(problem, program, jaxpr, inputs, checks):
    """Fail the test; on hypothesis' final (shrunk) run, minify the graph with the first
    check that reproduces the failure on it and name the written repro."""
    report = "(minified on the final, shrunk example)"
    if current_build_context().is_final:
        report = "no graph-level check reproduces it: the difference is in tracing"
        for name, kwargs, fails in checks:
            if fails(jaxpr, inputs):
                report = minified_repro(jaxpr, inputs, fails, name, **kwargs)
                break
    raise AssertionError(f"{problem}\n{program!r}\n{report}")


@TYPED
@given(typed_programs())
def test_typed_programs_agree_across_eager_tracing_and_the_reference_jit(program):
    fn, args = program
    eager = fn.outputs(*args)  # operators on NumPy arrays: NumPy itself
    jaxpr, inputs = _graph(fn.outputs, args)
    problem = (_first_difference("eval_jaxpr(make_jaxpr) vs eager",
                                 ftx.core.eval_jaxpr(jaxpr, *inputs), eager)
               or _first_difference("jit(backend='reference') vs eager",
                                    ftx.jit(fn.outputs, backend="reference")(*args), eager))
    if problem:
        _fail(problem, fn, jaxpr, inputs, [_check(aval_mismatch)])


@COMPILED
@given(typed_programs(max_ops=5))
def test_typed_programs_compiled_for_the_cpu_agree_with_eager(program):
    fn, args = program
    problem = _first_difference("jit (numba cpu) vs eager", ftx.jit(fn.outputs)(*args),
                                fn.outputs(*args))
    if problem:
        jaxpr, inputs = _graph(fn.outputs, args)
        _fail(problem, fn, jaxpr, inputs, [_ON_CPU, _check(aval_mismatch)])


@TYPED
@given(typed_programs(smooth=True))
def test_typed_program_gradients_agree_with_finite_differences_and_across_routes(program):
    fn, args = program
    jaxpr, inputs = _graph(fn, args)
    problem = grad_mismatch(jaxpr, inputs)  # every float64 input, constants included
    wrt = tuple(k for k, x in enumerate(args) if x.dtype == np.float64)
    if not problem:
        grad = ftx.grad(fn, argnums=wrt)
        g = grad(*args)
        problem = (_first_difference("jit(grad) vs grad",
                                     ftx.jit(grad, backend="reference")(*args), g)
                   or _first_difference("grad(jit) vs grad", ftx.grad(
                       ftx.jit(fn, backend="reference"), argnums=wrt)(*args), g))
    if problem:
        _fail(problem, fn, jaxpr, inputs, [_check(grad_mismatch)])


@TYPED
@given(typed_programs(max_ops=6), st.integers(0, 2))
def test_typed_programs_under_vmap_agree_with_a_loop(program, offset):
    fn, args = program
    jaxpr, inputs = _graph(fn.outputs, args)
    problem = vmap_mismatch(jaxpr, inputs, offset=offset)
    if problem:
        _fail(problem, fn, jaxpr, inputs, [_check(vmap_mismatch, offset=offset)])


# ------------------------------------------------ the checks catch planted bugs (they can fail)

def _planted_rule(kind, prim, define):
    """The rule ``define`` registers for ``prim``, without leaving it registered."""
    from ftx.core.primitive import RULES
    original = RULES[kind][prim]
    define()
    planted = RULES[kind][prim]
    RULES[kind][prim] = original
    return planted


def _deep_graph():
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=(3, 4)), rng.normal(size=(4, 4))

    def deep(x, w):
        h = fnp.tanh(x @ w)
        for i in range(6):  # some equations around the one that matters
            h = fnp.tanh(h * 1.1 + 0.1 * i)
        return fnp.sum(fnp.sin(h) * 2.0) + fnp.mean(h @ w)

    return _graph(deep, (x, w))


def test_a_wrong_derivative_fails_the_gradient_check_and_is_minified_to_a_repro(
        tmp_path, monkeypatch):
    from ftx.core.primitive import RULES
    from ftx.debug.repro import load_repro
    from ftx.lax import elementwise as ew
    wrong = _planted_rule("jvp", ew.sin_p,
                          lambda: ew.defjvp(ew.sin_p, lambda g, ans, x: ew.mul(g, ew.sin(x))))
    jaxpr, inputs = _deep_graph()
    assert grad_mismatch(jaxpr, inputs) is None  # the graph is fine before the rule is broken
    monkeypatch.setitem(RULES["jvp"], ew.sin_p, wrong)
    problem = grad_mismatch(jaxpr, inputs)
    assert problem is not None and "finite differences" in problem
    before = ftx.config.repro_dir
    ftx.config.update("repro_dir", str(tmp_path))
    try:
        report = minified_repro(jaxpr, inputs, lambda j, i: grad_mismatch(j, i) is not None,
                                "grad_mismatch")
    finally:
        ftx.config.update("repro_dir", before)
    script = report.split("repro: ", 1)[1].split("\n", 1)[0]
    assert script.startswith(str(tmp_path))
    repro = load_repro(os.path.dirname(script))
    assert [e.primitive.name for e in repro.JAXPR.eqns] == ["sin"]  # only the broken rule left
    assert repro.fails(repro.JAXPR, repro.INPUTS)
    monkeypatch.undo()  # the bug fixed: the repro passes
    assert not repro.fails(repro.JAXPR, repro.INPUTS)


def test_a_wrong_batching_rule_fails_the_vmap_check(monkeypatch):
    from ftx.core.primitive import RULES
    from ftx.lax import elementwise as ew
    jaxpr, inputs = _deep_graph()
    assert vmap_mismatch(jaxpr, inputs, offset=1) is None
    monkeypatch.setitem(RULES["batch"], ew.sin_p,
                        lambda axis_data, args, dims: ([ew.cos(args[0])], [dims[0]]))
    problem = vmap_mismatch(jaxpr, inputs, offset=1)
    assert problem is not None and "in_axes=(0, None)" in problem


def test_an_impl_that_disagrees_with_its_declared_type_fails_the_aval_check(monkeypatch):
    from ftx.lax import elementwise as ew
    jaxpr, inputs = _deep_graph()
    assert aval_mismatch(jaxpr, inputs) is None
    monkeypatch.setattr(ew.sin_p, "impl", lambda x: [np.sin(x).astype(np.float32)])
    assert "sin declares f64[3,4] but computes float32[3, 4]" in aval_mismatch(jaxpr, inputs)


def test_a_fuzz_failure_reports_a_minified_repro(tmp_path, monkeypatch):
    from ftx.core.primitive import RULES
    from ftx.lax import elementwise as ew
    monkeypatch.setitem(RULES["jvp"], ew.sin_p, _planted_rule(
        "jvp", ew.sin_p, lambda: ew.defjvp(ew.sin_p, lambda g, ans, x: ew.mul(g, ew.sin(x)))))
    inner = test_typed_program_gradients_agree_with_finite_differences_and_across_routes
    quick = settings(max_examples=50, phases=[Phase.generate], database=None, derandomize=True)
    before = ftx.config.repro_dir
    ftx.config.update("repro_dir", str(tmp_path))
    try:
        with pytest.raises(AssertionError) as info:
            quick(given(typed_programs(smooth=True))(inner.hypothesis.inner_test))()
    finally:
        ftx.config.update("repro_dir", before)
    message = str(info.value)
    assert "finite differences give" in message and "def program(" in message
    script = message.split("repro: ", 1)[1].split("\n", 1)[0]
    assert script.startswith(str(tmp_path)) and os.path.exists(script)
    assert "= sin " in message.split("repro: ", 1)[1]  # the minified graph keeps the bad rule
