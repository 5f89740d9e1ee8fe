"""The minifier on planted bugs: a test backend with one deliberately wrong lowering.

The backend is a tiny interpreter (written to a temporary module, so repro scripts can import
it) that evaluates every primitive with the reference rules except one: ``tanh`` computes
``sinh``, or ``log`` raises, or ``log`` kills the process. The oracle is the reference
interpreter; the minified graph must contain the wrong op, be at most 3 equations, and still
fail on its own (exact inputs), while the same graph passes with the bug removed.
"""
import importlib
import sys
import uuid

import numpy as np
import pytest

import ftx
import ftx.numpy as fnp
from ftx import debug, lax
from ftx.debug.minifier import count_eqns

PLANTED_SOURCE = '''
"""A test backend: the reference rules, except for one planted bug (BUG)."""
import os

import numpy as np

from ftx.core.jaxpr import eval_jaxpr
from ftx.core.trace import Trace, set_current_trace

BUG = {bug!r}


def _wrong(name, ins, inside_jit):
    if BUG == "tanh" and name == "tanh":
        return [np.sinh(ins[0])]
    if BUG == "tanh_big" and name == "tanh":  # wrong only where |x| > 1.5: value-dependent
        x = ins[0]
        return [np.where(np.abs(x) > 1.5, np.sinh(x), np.tanh(x))]
    if BUG == "tanh_in_jit" and name == "tanh" and inside_jit:
        return [np.sinh(ins[0])]
    if BUG == "log_raises" and name == "log":
        raise RuntimeError("planted: the log lowering is broken")
    if BUG == "log_kills" and name == "log":
        os._exit(139)  # what a segfault in generated code looks like from outside
    return None


class _PlantedTrace(Trace):
    """Runs every primitive's NumPy impl (higher-order ones re-enter this trace for their
    sub-jaxprs, so the bug applies inside cond, scan, while, custom rules) except the bug."""

    def __init__(self):
        super().__init__(None)
        self.jit_depth = 0

    def process_primitive(self, prim, args, params):
        outs = _wrong(prim.name, args, self.jit_depth > 0)
        if outs is not None:
            return outs
        if prim.name == "jit":  # the real jit impl would leave this trace for its backend
            self.jit_depth += 1
            try:
                return eval_jaxpr(params["jaxpr"], *args)
            finally:
                self.jit_depth -= 1
        return prim.impl(*args, **params)


def backend(jaxpr):
    """compile(jaxpr) -> executable, like a real backend."""
    def run(*args):
        with set_current_trace(_PlantedTrace()):
            outs = eval_jaxpr(jaxpr, *args)
        return [np.asarray(x) for x in outs]
    return run


def install():
    """Make the planted backend the jit's 'cpu' backend (used through sitecustomize)."""
    from ftx.transforms import jit
    original = jit._compile

    def compile_(jaxpr, backend_name):
        return backend(jaxpr) if backend_name == "cpu" else original(jaxpr, backend_name)

    jit._compile = compile_
'''


class Planted:
    """A planted-bug backend module in a temporary folder on sys.path."""

    def __init__(self, folder, bug):
        self.folder, self.name = folder, f"planted_{uuid.uuid4().hex[:10]}"
        self.path = folder / f"{self.name}.py"
        self.set_bug(bug)
        self.module = importlib.import_module(self.name)
        self.backend = self.module.backend
        self.backend_path = f"{self.name}:backend"

    def set_bug(self, bug):
        self.path.write_text(PLANTED_SOURCE.format(bug=bug))
        if self.name in sys.modules:
            sys.modules[self.name].BUG = bug

    def fails(self, jaxpr, inputs):
        return not debug.agrees_with_reference(jaxpr, inputs, backend=self.backend)


@pytest.fixture
def planted(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    made = []

    def make(bug):
        p = Planted(tmp_path, bug)
        made.append(p)
        return p

    yield make
    for p in made:
        sys.modules.pop(p.name, None)


# --------------------------------------------------------------------------- an MLP training step

def _loss(params, x, y):
    h = x
    for w, b in params[:-1]:
        h = fnp.tanh(h @ w + b)
    w, b = params[-1]
    logits = h @ w + b
    logits = logits - fnp.max(logits, axis=1, keepdims=True)
    logp = logits - fnp.log(fnp.sum(fnp.exp(logits), axis=1, keepdims=True))
    return -fnp.mean(fnp.sum(logp * y, axis=1))


def adam_step(params, m, v, x, y):
    loss, g = ftx.value_and_grad(_loss)(params, x, y)
    m = ftx.tree_util.tree_map(lambda a, b: 0.9 * a + 0.1 * b, m, g)
    v = ftx.tree_util.tree_map(lambda a, b: 0.999 * a + 0.001 * b * b, v, g)
    params = ftx.tree_util.tree_map(lambda p, a, b: p - 0.01 * a / (fnp.sqrt(b) + 1e-8),
                                    params, m, v)
    return loss, params, m, v


def training_args(seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    sizes = [6, 8, 8, 8, 8, 3]
    params = [(rng.normal(size=(a, b)) * scale, rng.normal(size=b) * 0.1)
              for a, b in zip(sizes[:-1], sizes[1:])]
    zeros = ftx.tree_util.tree_map(np.zeros_like, params)
    x = rng.normal(size=(4, 6))
    y = np.eye(3)[rng.integers(0, 3, 4)]
    return params, zeros, zeros, x, y


def _prims(jaxpr):
    names = []

    def walk(j):
        from ftx.core.jaxpr import subjaxprs
        for e in j.eqns:
            names.append(e.primitive.name)
            for s in subjaxprs(e.params):
                walk(s)

    walk(jaxpr)
    return names


def test_training_step_is_big_enough():
    assert count_eqns(ftx.make_jaxpr(adam_step)(*training_args())) >= 200


@pytest.mark.parametrize("jitted", [False, True], ids=["eager", "jit"])
def test_planted_wrong_lowering_is_minified_to_the_wrong_op(planted, jitted):
    p = planted("tanh")
    f = ftx.jit(adam_step) if jitted else adam_step
    args = training_args()
    result = debug.minify(f, args, fails=p.fails)
    assert result.original_eqns >= 200
    assert result.num_eqns <= 3 and "tanh" in _prims(result.jaxpr)
    # The minified graph fails on its own, with its recorded inputs, against the reference...
    assert p.fails(result.jaxpr, result.inputs)
    # ...and it is the bug that makes it fail: without it the same graph agrees.
    p.set_bug(None)
    assert not p.fails(result.jaxpr, result.inputs)
    assert result.check == {"kind": "agrees_with_reference", "backend": p.backend_path,
                            "rtol": None, "atol": None}
    assert result.complete and result.queries < 200


def test_value_dependent_bug_survives_window_cuts(planted):
    # tanh is wrong only for |x| > 1.5: cut-out values must be the real intermediate values.
    p = planted("tanh_big")
    args = training_args(scale=1.5)
    result = debug.minify(adam_step, args, fails=p.fails)
    assert result.num_eqns <= 3 and "tanh" in _prims(result.jaxpr)
    tanh_input = result.inputs[0] if len(result.inputs) == 1 else None
    if tanh_input is not None:
        assert np.max(np.abs(tanh_input)) > 1.5
    assert p.fails(result.jaxpr, result.inputs)
    # With ones (or zeros) instead of the real values the bug would not show.
    ones = [np.ones_like(x) for x in result.inputs]
    assert not p.fails(result.jaxpr, ones)


def test_planted_crash_that_raises(planted):
    p = planted("log_raises")
    result = debug.minify(adam_step, training_args(), fails=p.fails)
    assert result.num_eqns <= 3 and "log" in _prims(result.jaxpr)
    with pytest.raises(RuntimeError, match="planted"):
        p.backend(result.jaxpr)(*result.inputs)


def test_planted_process_kill_with_isolate(planted):
    p = planted("log_kills")
    args = training_args()
    result = debug.minify(adam_step, args, fails=p.fails, isolate=True, timeout=60)
    assert result.num_eqns <= 3 and "log" in _prims(result.jaxpr)
    assert "died" in result.failure or "status 139" in result.failure


def test_isolate_counts_a_hang_as_a_failure_after_timeout():
    import time

    def fails(jaxpr, inputs):
        if any(e.primitive.name == "sin" for e in jaxpr.eqns):
            time.sleep(30)
        return False

    f = lambda x: lax.cos(lax.sin(x))  # noqa: E731
    result = debug.minify(f, (np.ones(3),), fails=fails, isolate=True, timeout=0.5)
    assert [e.primitive.name for e in result.jaxpr.eqns] == ["sin"]
    assert "timeout" in result.failure


def test_refuses_a_graph_that_does_not_fail(planted):
    p = planted("tanh")
    with pytest.raises(ValueError, match="does not fail to begin with"):
        debug.minify(lambda x: fnp.sin(x) * 2.0, (np.ones(3),), fails=p.fails)


def test_jaxpr_input_and_constants(planted):
    p = planted("tanh")
    w = np.linspace(-2, 3, 12).reshape(3, 4)
    jaxpr = ftx.make_jaxpr(lambda x: fnp.sum(fnp.tanh(x @ w) * 3.0))(np.ones((2, 3)))
    assert jaxpr.constvars  # w is closed over
    result = debug.minify(jaxpr, [np.ones((2, 3))], fails=p.fails)
    assert [e.primitive.name for e in result.jaxpr.eqns] == ["tanh"]
    assert not result.jaxpr.constvars
    expected_input = np.ones((2, 3)) @ w  # the real intermediate value, from the reference
    np.testing.assert_array_equal(result.inputs[0], expected_input)


def test_max_queries_stops_early_with_the_best_so_far(planted):
    p = planted("tanh")
    result = debug.minify(adam_step, training_args(), fails=p.fails, max_queries=3)
    assert not result.complete and result.queries <= 3
    assert p.fails(result.jaxpr, result.inputs)


def test_predicate_errors_count_as_passing():
    calls = []

    def fails(jaxpr, inputs):
        calls.append(len(jaxpr.eqns))
        if len(jaxpr.eqns) < 3:
            raise KeyError("my predicate is confused by small graphs")
        return True

    f = lambda x: lax.exp(lax.cos(lax.sin(x)))  # noqa: E731
    result = debug.minify(f, (np.ones(3),), fails=fails)
    assert len(result.jaxpr.eqns) == 3


# --------------------------------------------------------------------------- sub-jaxprs

def test_descends_into_the_taken_cond_branch(planted):
    p = planted("tanh")

    def f(x):
        y = fnp.sin(x) * 2.0
        return lax.cond(fnp.sum(y) > -100.0, lambda v: fnp.tanh(v) + 1.0, lambda v: v * 3.0, y)

    result = debug.minify(f, (np.linspace(0.1, 1.0, 4),), fails=p.fails)
    assert _prims(result.jaxpr) == ["tanh"]
    assert p.fails(result.jaxpr, result.inputs)


def test_descends_into_a_scan_body(planted):
    p = planted("tanh_big")

    def f(h0, xs):
        def body(h, x):
            h = fnp.tanh(h * 1.5 + x) * 3.0
            return h, fnp.sum(h)
        return lax.scan(body, h0, xs)

    xs = np.linspace(-1, 1, 15).reshape(5, 3)
    result = debug.minify(f, (np.zeros(3), xs), fails=p.fails)
    assert result.num_eqns <= 3 and "tanh" in _prims(result.jaxpr)
    assert "scan" not in _prims(result.jaxpr)
    assert p.fails(result.jaxpr, result.inputs)


def test_descends_into_while_and_custom_jvp(planted):
    p = planted("log_raises")

    @ftx.custom_jvp
    def softplus(v):
        return fnp.log(1.0 + fnp.exp(v))

    softplus.defjvp(lambda primals, tangents: (softplus(primals[0]),
                                               tangents[0] * lax.logistic(primals[0])))

    def f(x):
        def body(c):
            i, v = c
            return i + 1, softplus(v) * 0.5
        return lax.while_loop(lambda c: c[0] < 3, body, (0, x))[1]

    result = debug.minify(f, (np.linspace(-1, 1, 4),), fails=p.fails)
    assert result.num_eqns <= 3 and "log" in _prims(result.jaxpr)
    assert "while" not in _prims(result.jaxpr)


def test_minifies_a_callee_in_place_when_the_bug_needs_the_call(planted):
    # tanh is wrong only inside jit: inlining or lifting the body hides the bug, so the
    # minifier must shrink the body while keeping the jit equation around it.
    p = planted("tanh_in_jit")

    @ftx.jit
    def g(x, w):
        h = fnp.tanh(x @ w) * 2.0 + fnp.sin(x @ w)
        return fnp.sum(h ** 2), fnp.cos(x)

    rng = np.random.default_rng(0)
    result = debug.minify(lambda x, w: g(x, w)[0] * 3.0, (rng.normal(size=(3, 4)),
                                                         rng.normal(size=(4, 5))), fails=p.fails)
    prims = _prims(result.jaxpr)
    assert prims[0] == "jit" and "tanh" in prims and result.num_eqns <= 3, result.jaxpr
    assert p.fails(result.jaxpr, result.inputs)
    p.set_bug(None)
    assert not p.fails(result.jaxpr, result.inputs)
