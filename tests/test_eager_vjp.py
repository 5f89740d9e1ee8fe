"""Eager grad on the tape of cached per-primitive reverse rules (ftx/transforms/eager_vjp.py).

Oracles: the linearize + transpose path (``eager_vjp.enabled = False``), which must give the
same bits wherever the same operations run, and central finite differences. Each test also
checks which path ran, so a silent fallback cannot make it pass.
"""
import numpy as np
import pytest

import ftx
import ftx.numpy as fnp
from ftx import lax
from ftx.core.avals import ShapedArray
from ftx.core.primitive import Primitive, def_rule
from ftx.tree_util import tree_leaves
from ftx.transforms import eager_vjp
from tests.op_records import all_records
from tests.test_composition import FUNCTIONS, IDS, _fd_grad, _point


@pytest.fixture
def tapes(monkeypatch):
    """The EagerLinearization of every grad that ran on the tape, in order."""
    seen = []
    original = eager_vjp.linearize_on_tape

    def recording(*args, **kwargs):
        res = original(*args, **kwargs)
        seen.append(res)
        return res

    monkeypatch.setattr(eager_vjp, "linearize_on_tape", recording)
    return seen


def both_paths(fn, *args):
    """``(fn(*args) on the tape, fn(*args) with linearize + transpose)``."""
    tape = fn(*args)
    eager_vjp.enabled = False
    try:
        old = fn(*args)
    finally:
        eager_vjp.enabled = True
    return tape, old


def assert_same_bits(a, b):
    la, lb = tree_leaves(a), tree_leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        x, y = np.asarray(x), np.asarray(y)
        assert x.dtype == y.dtype and x.shape == y.shape
        assert x.tobytes() == y.tobytes(), (x, y)


def rule_kinds(res) -> set:
    return {type(entry[0]).__name__ for entry in res.trace.tape}


# --------------------------------------------------------------------------- op records

def _grad_cases():
    for r in all_records():
        if not r.grad:
            continue
        for case_id, shapes, dtype in r.cases():
            if dtype.kind in "fc":
                yield pytest.param(r, shapes, dtype, id=case_id)


@pytest.mark.parametrize("record, shapes, dtype", list(_grad_cases()))
def test_op_records_match_the_linearize_path_bit_for_bit(record, shapes, dtype, tapes):
    args = record.make_args(shapes, dtype, seed=1)
    nums = tuple(i for i in record.grad_argnums
                 if i < len(args) and args[i].dtype.kind in "fc")
    if not nums:
        pytest.skip("no floating argument to differentiate")
    outs = tree_leaves(record.fn(*args))
    rng = np.random.default_rng(3)
    weights = [rng.normal(size=np.shape(o)).astype(np.asarray(o).dtype)
               if np.asarray(o).dtype.kind in "fc" else None for o in outs]

    def f(*dyn):  # a scalar of every floating output, weighted so no cotangent is trivial
        full = list(args)
        for i, a in zip(nums, dyn):
            full[i] = a
        leaves = tree_leaves(record.fn(*full))
        return sum(fnp.sum(o * w) for o, w in zip(leaves, weights) if w is not None)

    g = ftx.grad(f, argnums=tuple(range(len(nums))))
    tape, old = both_paths(g, *[args[i] for i in nums])
    assert len(tapes) == 1
    assert_same_bits(tape, old)


# --------------------------------------------------------------------------- compositions

@pytest.mark.parametrize("f, shape", FUNCTIONS, ids=IDS)
def test_composition_functions_match_the_linearize_path_and_finite_differences(f, shape,
                                                                                tapes):
    x = _point(shape)
    (v1, g1), (v2, g2) = both_paths(ftx.value_and_grad(f), x)
    assert len(tapes) == 1
    assert_same_bits((v1, g1), (v2, g2))
    np.testing.assert_allclose(g1, _fd_grad(f, x), rtol=1e-5, atol=1e-6)


def test_mlp_loss_with_pytree_parameters(tapes):
    rng = np.random.default_rng(0)
    sizes = [(4, 8), (8, 8), (8, 2)]
    params = [(rng.normal(size=s) * 0.3, rng.normal(size=s[1]) * 0.1) for s in sizes]
    x, y = rng.normal(size=(5, 4)), rng.normal(size=(5, 2))

    def loss(params, x, y):
        h = x
        for i, (w, b) in enumerate(params):
            h = h @ w + b
            h = fnp.tanh(h) if i < len(params) - 1 else h
        return fnp.mean((h - y) ** 2)

    tape, old = both_paths(ftx.grad(loss), params, x, y)
    assert len(tapes) == 1
    assert_same_bits(tape, old)
    w0 = params[0][0]
    fd = _fd_grad(lambda w: loss([(w, params[0][1])] + params[1:], x, y), w0)
    np.testing.assert_allclose(tape[0][0], fd, rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------- what the cache cannot key

@ftx.custom_jvp
def _softplus(v):
    return fnp.logaddexp(v, 0.0)


@_softplus.defjvp
def _softplus_jvp(primals, tangents):
    return _softplus(primals[0]), tangents[0] * lax.logistic(primals[0])


@ftx.custom_vjp
def _clip_gradient(v):
    return v


_clip_gradient.defvjp(lambda v: (v, None), lambda _, g: (fnp.clip(g, -0.1, 0.1),))

_W = np.arange(9.0).reshape(3, 3) / 10
_CALLS = []

# Each: the function, and whether a primitive of it is linearized per call (its params hold
# functions or sub-jaxprs, which the cache does not key).
PER_CALL = {
    "custom_jvp": (lambda x: fnp.sum(_softplus(x) * x), True),
    "custom_vjp": (lambda x: fnp.sum(_clip_gradient(x * 3.0) ** 2), True),
    "cond": (lambda x: lax.cond(fnp.sum(x) > 0, lambda y: fnp.sum(fnp.sin(y)),
                                lambda y: fnp.sum(y ** 2), x), True),
    "scan": (lambda x: lax.scan(lambda c, xi: (c * xi + 1.0, c), 1.0, x)[0], True),
    "fori_loop": (lambda x: fnp.sum(lax.fori_loop(0, 3, lambda i, c: fnp.sin(c) * c, x)), True),
    "checkpoint": (lambda x: fnp.sum(ftx.checkpoint(lambda y: fnp.tanh(_W @ y) ** 2)(x)), True),
    "jit inside": (lambda x: fnp.sum(ftx.jit(lambda y: fnp.exp(y) * y)(x)), True),
    "callback": (lambda x: (ftx.debug.callback(lambda v: _CALLS.append(v), x),
                            fnp.sum(x ** 3))[1], False),
    "grad inside": (lambda x: fnp.sum(ftx.grad(lambda y: fnp.sum(fnp.sin(y) * x))(x) * x), False),
    "vmap inside": (lambda x: fnp.sum(ftx.vmap(lambda r: fnp.dot(r, x))(_W) ** 2), False),
    "jvp inside": (lambda x: ftx.jvp(lambda y: fnp.sum(fnp.exp(y)), (x,), (x,))[1], False),
    "random": (lambda x: fnp.sum(x * ftx.random.normal(ftx.random.PRNGKey(0), (3,))), False),
    "stop_gradient": (lambda x: fnp.sum(ftx.stop_gradient(x) * x), False),
    "integer indices": (lambda x: fnp.sum(x[np.array([0, 2, 2])] ** 2), False),
    "float32 inside": (lambda x: fnp.sum(fnp.sin(x.astype(np.float32)) * np.float32(2))
                       .astype(np.float64), False),
    "same value twice": (lambda x: fnp.sum(x * x * x + fnp.dot(x, x) + fnp.stack([x, x, x])),
                         False),
    "sort two operands": (lambda x: fnp.sum(lax.sort((x, x ** 2), num_keys=1)[1]), False),
}


@pytest.mark.parametrize("name", list(PER_CALL))
def test_programs_the_cache_cannot_key_still_match(name, tapes):
    f, per_call = PER_CALL[name]
    x = np.array([0.3, -1.2, 2.0])
    _CALLS.clear()
    tape, old = both_paths(ftx.grad(f), x)
    assert len(tapes) == 1
    assert ("_LinearRule" in rule_kinds(tapes[0])) == per_call
    assert_same_bits(tape, old)
    if name == "callback":  # an effect runs once per call, as in the linearize path
        assert len(_CALLS) == 2
    if name == "custom_vjp":  # its bwd clips the gradient 6x of y = 3x to [-0.1, 0.1]
        expected = 3 * np.clip(6 * x * 3, -0.1, 0.1)
    elif name == "stop_gradient":  # d/dx of sg(x) * x is sg(x)
        expected = x
    elif name == "float32 inside":  # finite differences in float32 are too coarse
        expected = 2 * np.cos(x)
    else:
        expected = _fd_grad(f, x)
    np.testing.assert_allclose(tape, expected, rtol=1e-5, atol=1e-6)


# A primitive whose jvp rule needs its operand's value (it calls NumPy on it): the cache
# cannot trace it abstractly, so it is linearized per call.
_scale_by_cos_p = Primitive("test_eager_vjp_scale_by_cos")
_scale_by_cos_p.def_impl(lambda x: [x * np.cos(x)])
_scale_by_cos_p.def_abstract_eval(lambda x: [ShapedArray(x.shape, x.dtype)])
_scale_by_cos_p.exempt("transpose", "not linear")
_scale_by_cos_p.exempt("batch", "a test primitive, never batched")


def _scale_by_cos_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    x = np.asarray(x)  # concrete values only
    return [x * np.cos(x)], [lax.mul(t, np.cos(x) - x * np.sin(x))]


def_rule("jvp", _scale_by_cos_p, _scale_by_cos_jvp)


def test_a_rule_that_needs_concrete_values_is_linearized_per_call(tapes):
    def f(x):
        return fnp.sum(_scale_by_cos_p.bind1(fnp.sin(x)))

    x = np.array([0.1, 0.7, -0.4])
    tape, old = both_paths(ftx.grad(f), x)
    assert rule_kinds(tapes[0]) == {"_CachedRule", "_LinearRule"}
    assert_same_bits(tape, old)
    np.testing.assert_allclose(tape, _fd_grad(f, x), rtol=1e-6)
    keys = [k for k, r in eager_vjp._RULES.items() if k[0] is _scale_by_cos_p]
    assert keys and all(eager_vjp._RULES[k] is eager_vjp._UNCACHEABLE for k in keys)


# A linear primitive whose transpose rule needs the cotangent's value: its backward is run
# on concrete values (with backward_pass) instead of being compiled.
_reverse_p = Primitive("test_eager_vjp_reverse")
_reverse_p.def_impl(lambda x: [x[::-1]])
_reverse_p.def_abstract_eval(lambda x: [ShapedArray(x.shape, x.dtype)])
def_rule("jvp", _reverse_p, lambda primals, tangents: (
    [_reverse_p.bind1(primals[0])], [_reverse_p.bind1(tangents[0])]))
def_rule("transpose", _reverse_p, lambda cts, x: [np.asarray(cts[0])[::-1]])
_reverse_p.exempt("batch", "a test primitive, never batched")


def test_a_transpose_rule_that_needs_concrete_values_runs_on_them(tapes):
    w = np.array([1.0, 2.0, 3.0])

    def f(x):
        return fnp.sum(_reverse_p.bind1(fnp.sin(x)) * w)

    x = np.array([0.1, 0.7, -0.4])
    tape, old = both_paths(ftx.grad(f), x)
    assert_same_bits(tape, old)
    np.testing.assert_allclose(tape, np.cos(x) * w[::-1])
    rule = next(entry[0] for entry in tapes[0].trace.tape if entry[0].prim is _reverse_p)
    assert list(rule._bwd.values()) == [(None, None)]  # not compiled


# --------------------------------------------------------------------------- keys and the cache

@pytest.mark.parametrize("const", [0.0, -0.0, 2, 2.0, True, float("nan"), 1e300])
def test_python_scalar_operands_are_part_of_the_key(const, tapes):
    x = np.array([1.0, -2.0], np.float32)
    g = ftx.grad(lambda x: fnp.sum(x * const + fnp.maximum(x, const)))
    tape, old = both_paths(g, x)
    assert_same_bits(tape, old)
    assert tape.dtype == np.float32


def test_signed_zero_constants_get_their_own_rules():
    g_pos = ftx.grad(lambda x: fnp.sum(x * 0.0))(np.ones(2))
    g_neg = ftx.grad(lambda x: fnp.sum(x * -0.0))(np.ones(2))
    assert not np.signbit(g_pos).any() and np.signbit(g_neg).all()


# A primitive with a float param: the key must tell 0.0 from -0.0 there too.
_scale_p = Primitive("test_eager_vjp_scale")
_scale_p.def_impl(lambda x, *, by: [x * by])
_scale_p.def_abstract_eval(lambda x, *, by: [ShapedArray(x.shape, x.dtype)])
def_rule("jvp", _scale_p, lambda primals, tangents, *, by: (
    [_scale_p.bind1(primals[0], by=by)], [lax.mul(tangents[0], by)]))
_scale_p.exempt("transpose", "its jvp is a mul")
_scale_p.exempt("batch", "a test primitive, never batched")


def test_float_params_are_keyed_by_their_bits():
    pos, neg, other = [ftx.grad(lambda x: fnp.sum(_scale_p.bind1(x, by=by)))(np.ones(2))
                       for by in (0.0, -0.0, 1.5)]
    assert not np.signbit(pos).any() and np.signbit(neg).all()
    np.testing.assert_array_equal(other, [1.5, 1.5])


def test_an_output_sharing_its_inputs_tangent_is_still_its_own_value(tapes):
    c = np.array([10.0, 20.0])
    x = np.array([1.0, 2.0])
    for f in (lambda x: fnp.sum((x + c) * x), lambda x: fnp.sum(x * (x + c) * (x - 0.0))):
        (v1, g1), (v2, g2) = both_paths(ftx.value_and_grad(f), x)
        assert_same_bits((v1, g1), (v2, g2))
        np.testing.assert_allclose(v1, f(x))
        np.testing.assert_allclose(g1, _fd_grad(f, x), rtol=1e-7)


def test_a_python_scalar_that_changes_every_call_stops_making_rules(tapes, monkeypatch):
    monkeypatch.setattr(eager_vjp, "_RULES", {})
    monkeypatch.setattr(eager_vjp, "_values_seen", {})
    x = np.array([0.5, -1.5])
    g = ftx.grad(lambda x, s: fnp.sum(fnp.sin(x) * s))
    for i in range(3 * eager_vjp._MAX_VALUES):
        s = 0.1 * i + 0.05  # closed over, not differentiated: a constant of the rule
        np.testing.assert_allclose(g(x, s), np.cos(x) * s, rtol=1e-15)
    mul_rules = [k for k in eager_vjp._RULES if k[0] is lax.mul_p and eager_vjp._FLOAT in k]
    assert 0 < len(mul_rules) <= eager_vjp._MAX_VALUES
    assert "_LinearRule" in rule_kinds(tapes[-1])  # the mul, linearized per call now
    assert_same_bits(*both_paths(g, x, 123.25))


def test_rules_are_reused_across_calls_and_made_per_shape():
    def f(x):
        return fnp.sum(fnp.cos(x) * fnp.exp(x))

    ftx.grad(f)(np.ones(7))
    n = len(eager_vjp._RULES)
    ftx.grad(f)(np.full(7, 0.5))
    assert len(eager_vjp._RULES) == n
    ftx.grad(f)(np.ones(11))  # new shapes: new rules
    assert len(eager_vjp._RULES) > n


def test_replacing_a_jvp_rule_takes_effect_at_the_next_grad(monkeypatch):
    from ftx.core.primitive import RULES
    from ftx.lax import elementwise as ew
    f = ftx.grad(lambda x: fnp.sum(fnp.sin(x)))
    x = np.array([0.2, 0.4])
    np.testing.assert_allclose(f(x), np.cos(x))  # the rule is cached now
    wrong = _planted_jvp(ew.sin_p, lambda g, ans, x: ew.mul(g, ew.sin(x)))
    monkeypatch.setitem(RULES["jvp"], ew.sin_p, wrong)  # the table itself, not def_rule
    np.testing.assert_allclose(f(x), np.sin(x))
    monkeypatch.undo()
    np.testing.assert_allclose(f(x), np.cos(x))


def _planted_jvp(prim, per_operand):
    """A defjvp rule for ``prim``, without leaving it registered."""
    from ftx.core.primitive import RULES
    from ftx.lax._ad_rules import defjvp
    original, exemption = RULES["jvp"][prim], prim.exemptions.get("transpose")
    defjvp(prim, per_operand)
    planted = RULES["jvp"][prim]
    RULES["jvp"][prim] = original
    if exemption is None:
        prim.exemptions.pop("transpose", None)
    return planted


def test_the_rule_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(eager_vjp, "_MAX_RULES", 3)
    for n in range(2, 8):
        ftx.grad(lambda x: fnp.sum(fnp.sin(x)))(np.ones(n))
        assert len(eager_vjp._RULES) <= 3


def test_a_multi_output_primitive_gets_zero_cotangents_where_none_flows(tapes):
    x, y = np.array([3.0, 1.0, 2.0]), np.array([0.5, -1.0, 4.0])
    f = lambda x, y: fnp.sum(lax.sort((x, y), num_keys=1)[1] * np.arange(3.0))  # noqa: E731
    tape, old = both_paths(ftx.grad(f, argnums=(0, 1)), x, y)
    assert_same_bits(tape, old)
    np.testing.assert_array_equal(tape[1], [2.0, 0.0, 1.0])  # weights sent back by x's order
    np.testing.assert_array_equal(tape[0], 0.0)


# --------------------------------------------------------------------------- the API around it

def test_aux_int_inputs_argnums_pytrees_and_python_floats(tapes):
    def h(a, n, d):
        return fnp.sum(a["w"] * n) * d + a["b"] ** 2, {"n": n}

    args = ({"w": np.array([0.3, -1.2, 2.0]), "b": 1.5}, np.arange(3), 2.0)
    g = ftx.grad(h, argnums=(0, 1, 2), has_aux=True, allow_int=True)
    tape, old = both_paths(g, *args)
    assert_same_bits(tape, old)
    (ga, gn, gd), aux = tape
    np.testing.assert_allclose(ga["w"], np.arange(3) * 2.0)
    assert ga["b"] == 3.0 and gd == np.sum(args[0]["w"] * np.arange(3))
    assert gn.dtype == ftx.core.dtypes.float0 and aux["n"] is args[1]
    tape, old = both_paths(ftx.value_and_grad(lambda s: fnp.sin(s) * s), 0.7)
    assert_same_bits(tape, old)
    np.testing.assert_allclose(tape[1], np.cos(0.7) * 0.7 + np.sin(0.7))
    assert len(tapes) == 2


def test_an_output_that_does_not_depend_on_the_input_has_zero_gradient(tapes):
    assert_same_bits(*both_paths(ftx.grad(lambda x: fnp.sum(np.ones(3)) + 0 * 1.0), np.ones(2)))
    g = ftx.grad(lambda x: fnp.sum(np.ones(3)))(np.ones(2))
    np.testing.assert_array_equal(g, [0.0, 0.0])
    g[0] = 1.0  # writeable, like every other gradient


def test_errors_are_those_of_the_linearize_path():
    for enabled in (True, False):
        eager_vjp.enabled = enabled
        try:
            with pytest.raises(TypeError, match=r"grad requires a scalar-output function.*f64\[3\]"):
                ftx.grad(lambda x: fnp.sin(x))(np.ones(3))
            with pytest.raises(ftx.ConcretizationTypeError):  # a value with a gradient
                ftx.grad(lambda x: fnp.sum(x) if x[0] else 0.0)(np.ones(3))
            # A comparison has no gradient, so its result is concrete on both paths.
            g = ftx.grad(lambda x: fnp.sum(x ** 2) if x[0] > 0 else fnp.sum(x))
            np.testing.assert_array_equal(g(np.ones(2)), [2.0, 2.0])
            np.testing.assert_array_equal(g(-np.ones(2)), [1.0, 1.0])
            with pytest.raises(TypeError, match="allow_int=True"):
                ftx.grad(lambda x: fnp.sum(x))(np.arange(3))
        finally:
            eager_vjp.enabled = True


def test_a_leaked_tape_tracer_raises_when_used():
    stash = []
    ftx.grad(lambda x: stash.append(fnp.sin(x)) or fnp.sum(x))(np.ones(2))
    assert "EagerVJPTracer" in repr(stash[0])
    with pytest.raises(ftx.UnexpectedTracerError, match="grad"):
        fnp.cos(stash[0])


def test_enclosing_transforms_and_debug_modes_use_the_linearize_path(tapes):
    f = lambda x: fnp.sum(fnp.tanh(x) ** 3)  # noqa: E731
    x = np.array([0.2, -0.5])
    expected = 3 * np.tanh(x) ** 2 * (1 - np.tanh(x) ** 2)
    np.testing.assert_allclose(ftx.jit(ftx.grad(f), backend="reference")(x), expected)
    np.testing.assert_allclose(ftx.vmap(ftx.grad(f))(x[:, None])[:, 0], expected)
    with ftx.config.override(debug_nans=True):
        np.testing.assert_allclose(ftx.grad(f)(x), expected)
    with ftx.checking_leaks():
        np.testing.assert_allclose(ftx.grad(f)(x), expected)
    assert not tapes
    # grad of grad: the outer one on the tape, the inner one (under it) by linearize.
    h = ftx.grad(lambda x: fnp.sum(ftx.grad(f)(x)))(x)
    assert len(tapes) == 1
    np.testing.assert_allclose(h, _fd_grad(lambda y: np.sum(ftx.grad(f)(y)), x), rtol=1e-6)
