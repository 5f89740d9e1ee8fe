"""Graph passes (ftx.compiler.passes): each rewrite happens, and the rewritten graph type-checks,
keeps its output types (weak types included) and computes bit-identical values on the
reference interpreter."""
import os

import numpy as np
import pytest
from hypothesis import given, settings

import ftx
import ftx.numpy as fnp
from ftx import lax
from ftx.compiler.passes import cse, dce, fold_constants, inline_calls, optimize, simplify
from ftx.compiler.passes._rewrite import count_eqns
from ftx.core import eval_jaxpr
from ftx.core.jaxpr import Literal, check_jaxpr
from ftx.testing.strategies import programs
from ftx.transforms.call import closed_call
from ftx.transforms.control_flow import scan

BUDGET = int(os.environ.get("FTX_FUZZ_EXAMPLES", "15"))
rng = np.random.default_rng(0)


def names(jaxpr):
    return [e.primitive.name for e in jaxpr.eqns]


def assert_same_program(original, rewritten, *args):
    """``rewritten`` type-checks, has ``original``'s output types and, on the reference
    interpreter, gives bit-identical outputs (NaN, -0.0 and dtype included)."""
    check_jaxpr(rewritten)
    assert [v.aval for v in rewritten.outvars] == [v.aval for v in original.outvars]
    assert [v.aval for v in rewritten.invars] == [v.aval for v in original.invars]
    for got, want in zip(eval_jaxpr(rewritten, *args), eval_jaxpr(original, *args)):
        got, want = np.asarray(got), np.asarray(want)
        assert (got.dtype, got.shape) == (want.dtype, want.shape)
        assert got.tobytes() == want.tobytes(), (got, want)


SPECIAL = np.array([0.0, -0.0, 1.5, -2.0, np.inf, -np.inf, np.nan], np.float32)


# --------------------------------------------------------------------------- inline_calls

def test_inline_replaces_jit_and_closed_call_with_their_bodies():
    inner = ftx.jit(lambda x: fnp.sin(x) * 2.0)
    f = lambda x: closed_call(fnp.cos, inner(x)) + inner(x)  # noqa: E731 - the body twice
    j = ftx.make_jaxpr(f)(np.ones(3))
    assert names(j) == ["jit", "closed_call", "jit", "add"]
    out = inline_calls(j)
    assert names(out) == ["sin", "mul", "cos", "sin", "mul", "add"]  # fresh variables per copy
    assert_same_program(j, out, rng.normal(size=3))


def test_inline_is_recursive_and_reaches_custom_derivative_calls():
    @ftx.custom_jvp
    def softplus(x):
        return fnp.log1p(fnp.exp(x))

    softplus.defjvp(lambda p, t: (softplus(p[0]), t[0] * lax.logistic(p[0])))
    outer = ftx.jit(lambda x: ftx.jit(softplus)(x) + 1.0)
    j = ftx.make_jaxpr(lambda x: outer(x) * 3.0)(np.ones(4))
    out = inline_calls(j)
    assert names(out) == ["exp", "log1p", "add", "mul"]
    assert_same_program(j, out, rng.normal(size=4))


def test_inline_retypes_weak_operands_to_the_body_types():
    # closed_call traces its body on strong types; here the operands are weak (Python scalars).
    f = lambda x: closed_call(lambda a, b: a * b, x, 3.0)  # noqa: E731
    j = ftx.make_jaxpr(f)(2.0)
    assert j.invars[0].aval.weak_type
    out = inline_calls(j)
    assert names(out) == ["convert_element_type", "mul"]
    assert not out.eqns[1].invars[1].aval.weak_type
    assert_same_program(j, out, 2.0)


def test_inline_hoists_the_body_constants():
    from ftx.transforms.jit import jit_p
    c = np.arange(3.0)
    body = ftx.make_jaxpr(lambda x: x * c)(np.ones(3))
    assert body.consts
    call = lambda x: jit_p.bind(x, jaxpr=body, name="body", backend="reference")  # noqa: E731
    j = ftx.make_jaxpr(lambda x: call(x)[0] + call(x)[0])(np.ones(3))
    out = inline_calls(j)
    assert names(out) == ["mul", "mul", "add"] and len(out.consts) == 1  # shared once
    assert_same_program(j, out, rng.normal(size=3))


def test_inline_inside_loop_bodies():
    step = ftx.jit(lambda c, x: (c + x, c * x))
    j = ftx.make_jaxpr(lambda xs: scan(step, 0.0, xs))(np.ones(5))
    out = inline_calls(j)
    assert names(out.eqns[0].params["jaxpr"]) == ["add", "mul"]
    assert_same_program(j, out, rng.normal(size=5))


# --------------------------------------------------------------------------- dce

def test_dce_drops_unused_equations_and_constants():
    c = np.arange(3.0)
    j = ftx.make_jaxpr(lambda x: (fnp.sin(x + c), fnp.cos(x))[1])(np.ones(3))
    out = dce(j)
    assert names(out) == ["cos"] and out.consts == []
    assert_same_program(j, out, rng.normal(size=3))


def test_dce_keeps_effects_even_inside_calls_and_loops():
    seen = []

    def f(x):
        ftx.debug.callback(lambda v: seen.append(v), x)
        ftx.jit(lambda y: (ftx.debug.callback(lambda v: seen.append(v), y), y)[1])(x)
        scan(lambda c, y: (ftx.debug.callback(lambda v: seen.append(v), y) or c, None), 0.0,
             fnp.stack([x, x]))
        return x * 2.0

    j = ftx.make_jaxpr(f)(1.0)
    out = optimize(j)
    assert "debug_callback" in names(out) and "scan" in names(out)
    assert names(out).count("debug_callback") == 2  # the inlined jit's callback too
    eval_jaxpr(out, 1.0)
    assert len(seen) == 4  # one each, and two from the loop: in order, none dropped


def test_dce_inside_sub_jaxprs_keeps_their_signature():
    def body(c, x):
        fnp.exp(x) * 5.0  # dead in the loop body
        return c + x, c * 2.0

    j = ftx.make_jaxpr(lambda xs: scan(body, 0.0, xs))(np.ones(4))
    out = dce(j)
    inner, new_inner = j.eqns[0].params["jaxpr"], out.eqns[0].params["jaxpr"]
    assert "exp" in names(inner) and names(new_inner) == ["add", "mul"]
    assert new_inner.in_avals == inner.in_avals and new_inner.out_avals == inner.out_avals
    assert_same_program(j, out, rng.normal(size=4))


# --------------------------------------------------------------------------- cse

def test_cse_merges_equal_equations_including_commuted_operands():
    f = lambda x, y: fnp.sin(x) * y + y * fnp.sin(x)  # noqa: E731
    j = ftx.make_jaxpr(f)(np.ones(3), np.ones(3))
    out = cse(j)
    assert names(j) == ["sin", "mul", "sin", "mul", "add"] and names(out) == ["sin", "mul", "add"]
    assert out.eqns[-1].invars[0] is out.eqns[-1].invars[1]
    assert_same_program(j, out, rng.normal(size=3), rng.normal(size=3))


def test_cse_keeps_what_differs():
    def f(x, y):
        return (lax.max(x, y), lax.max(y, x),           # not commutative on signed zeros
                lax.add(x, 0.0), lax.add(x, -0.0),      # literals differ in sign only
                fnp.sum(x, axis=0), fnp.sum(x, axis=1))  # params differ
    x = np.array([[0.0, -0.0], [1.0, np.nan]], np.float32)
    j = ftx.make_jaxpr(f)(x, -x)
    out = cse(j)
    assert len(out.eqns) == len(j.eqns)
    assert_same_program(j, out, x, -x)


def test_cse_never_merges_effects():
    j = ftx.make_jaxpr(lambda x: [ftx.debug.callback(print, x) for _ in range(2)] and x)(1.0)
    assert names(cse(j)) == ["debug_callback", "debug_callback"]


def test_cse_inside_a_loop_body_and_of_calls_to_the_same_jaxpr():
    g = ftx.jit(fnp.tanh)
    j = ftx.make_jaxpr(lambda xs: (g(xs) + g(xs),
                                   scan(lambda c, x: (c + x * x, x * x), 0.0, xs)))(np.ones(3))
    out = cse(j)
    assert names(out).count("jit") == 1
    assert names(out.eqns[-1].params["jaxpr"]).count("mul") == 1
    assert_same_program(j, out, rng.normal(size=3))


# --------------------------------------------------------------------------- fold_constants

def test_fold_computes_scalar_constants_into_literals():
    j = ftx.make_jaxpr(lambda x: x * lax.div(np.float32(1.0), np.float32(3.0)))(np.ones(3, np.float32))
    out = fold_constants(j)
    assert names(out) == ["mul"]
    lit = out.eqns[0].invars[1]
    assert isinstance(lit, Literal) and lit.val == np.float32(1.0) / np.float32(3.0)
    assert lit.aval == j.eqns[0].outvars[0].aval
    assert_same_program(j, out, SPECIAL[:3])


def test_fold_small_constant_arrays_but_not_large_ones_or_broadcasts():
    small, large = np.linspace(0, 1, 8), np.linspace(0, 1, 100)
    f = lambda x: (x + fnp.sin(small).sum(), fnp.cos(large).sum() + x,  # noqa: E731
                   x + fnp.zeros(8)[0])
    j = ftx.make_jaxpr(f)(1.0)
    out = fold_constants(j)
    assert "cos" in names(out) and "sin" not in names(out)
    assert all(c.size <= 64 or c is large for c in out.consts)
    assert_same_program(j, out, 0.5)
    j = ftx.make_jaxpr(lambda x: x + lax.broadcast_in_dim(2.0, (3,), ()))(np.ones(3))
    assert names(fold_constants(j)) == names(j)  # a broadcast of a literal stays a broadcast


def test_fold_leaves_failing_operations_to_run_time():
    j = ftx.make_jaxpr(lambda x: x + lax.div(np.float32(1.0), np.float32(0.0)))(np.ones(2, np.float32))
    out = fold_constants(j)
    assert names(out) == ["div", "add"]
    assert_same_program(j, out, np.ones(2, np.float32))


# --------------------------------------------------------------------------- simplify

def simplified_names(f, *args):
    j = ftx.make_jaxpr(f)(*args)
    out = dce(simplify(j))
    assert_same_program(j, out, *args)
    return names(out)


def test_simplify_identities_that_are_exact_for_every_float():
    x = SPECIAL
    assert simplified_names(lambda x: x * 1.0, x) == []
    assert simplified_names(lambda x: 1.0 * x / 1.0, x) == []
    assert simplified_names(lambda x: lax.add(x, -0.0), x) == []
    assert simplified_names(lambda x: lax.sub(x, 0.0), x) == []
    assert simplified_names(lambda x: -(-x), x) == []
    assert simplified_names(lambda x: lax.stop_gradient(x) ** 1, x) == []
    ones = lambda x: lax.broadcast_in_dim(np.float32(1.0), x.shape, ())  # noqa: E731
    assert simplified_names(lambda x: ones(x) * x, x) == []  # a gradient's seed
    assert simplified_names(lambda x: x[0] * ones(x), x) == ["slice", "squeeze",
                                                              "broadcast_in_dim"]


def test_simplify_leaves_float_rewrites_that_would_change_values():
    x = SPECIAL
    assert simplified_names(lambda x: lax.add(x, 0.0), x) == ["add"]   # -0.0 + 0.0 is +0.0
    assert simplified_names(lambda x: lax.sub(x, -0.0), x) == ["sub"]
    zeros = lambda x: lax.broadcast_in_dim(np.float32(0.0), x.shape, ())  # noqa: E731
    assert simplified_names(lambda x: x + zeros(x), x) == ["broadcast_in_dim", "add"]
    assert simplified_names(lambda x: x * 0.0, x) == ["mul"]          # NaN * 0, -1 * 0
    assert simplified_names(lambda x: x * (1 + 0j), x.astype(np.complex64)) == ["mul"]


def test_simplify_integer_identities():
    i = np.array([0, -3, 7, np.iinfo(np.int32).min], np.int32)
    assert simplified_names(lambda i: i + 0, i) == []
    assert simplified_names(lambda i: lax.neg(lax.neg(i)), i) == []
    assert simplified_names(lambda i: i * 0, i) == ["broadcast_in_dim"]  # zeros, i not read
    assert simplified_names(lambda i: fnp.sum(i) * 0, i) == []            # a literal 0
    assert simplified_names(lambda b: b * False, i > 0) == ["broadcast_in_dim"]


def test_simplify_casts():
    x = SPECIAL
    f64 = lambda x: lax.convert_element_type(x, np.float64)  # noqa: E731
    f32 = lambda x: lax.convert_element_type(x, np.float32)  # noqa: E731
    assert simplified_names(f32, x) == []
    assert simplified_names(lambda x: f32(f64(x)), x) == []                 # widen, narrow back
    assert simplified_names(lambda x: f64(f32(x)), x.astype(np.float64)) == [
        "convert_element_type", "convert_element_type"]                      # rounds: kept
    ints = np.array([2 ** 31 - 1, -2 ** 31], np.int32)
    assert simplified_names(lambda i: lax.convert_element_type(f64(i), np.int32), ints) == []
    assert simplified_names(lambda i: lax.convert_element_type(f32(i), np.int32), ints) == [
        "convert_element_type", "convert_element_type"]                      # f32 rounds int32


def test_simplify_select_and_shape_no_ops():
    x = rng.normal(size=(3, 3)).astype(np.float32)
    y = rng.normal(size=(3, 3)).astype(np.float32)
    assert simplified_names(lambda x, y: lax.select_n(np.bool_(True), x, y), x, y) == []
    assert simplified_names(lambda x, y: lax.select_n(np.int32(0), x, y, x), x, y) == []
    assert simplified_names(lambda x, y: lax.select_n(x > y, x, x), x, y) == []
    assert simplified_names(lambda x: fnp.transpose(fnp.reshape(x, (3, 3)), (0, 1)), x) == []
    assert simplified_names(lambda x: fnp.transpose(x), x) == ["transpose"]  # square, not a no-op
    assert simplified_names(lambda x: lax.broadcast_in_dim(x, (3, 3), (0, 1)), x) == []
    assert simplified_names(lambda x: fnp.sum(x, axis=()), x) == []


def test_simplify_keeps_weak_and_strong_types_apart():
    # x is a weak f64 (a Python float argument); x * 1.0 is strong: replacing it by x would
    # change the output type, so the equation stays.
    j = ftx.make_jaxpr(lambda x: x * 1.0)(2.0)
    out = simplify(j)
    assert names(out) == ["mul"] and not out.outvars[0].aval.weak_type
    assert_same_program(j, out, 2.0)


# --------------------------------------------------------------------------- optimize

def _mlp(params, x, y):
    h = x
    for w, b in params[:-1]:
        h = fnp.maximum(h @ w + b, 0.0)
    w, b = params[-1]
    return fnp.mean((h @ w + b - y) ** 2)


def _optimized_flat(fun, *args):
    """(jaxpr, optimized jaxpr, flat inputs) of ``jit(fun)`` as the jit compiles it: the
    constants of the trace are its leading inputs."""
    traced = ftx.jit(fun).trace(*args)
    flat = list(traced._entry.consts) + ftx.tree_util.tree_leaves(args)
    return traced.jaxpr, optimize(traced.jaxpr), flat


def test_optimize_jit_of_grad_and_value_and_grad():
    sizes = [5, 8, 3]
    params = [(rng.normal(size=(m, n)).astype(np.float32), rng.normal(size=n).astype(np.float32))
              for m, n in zip(sizes[:-1], sizes[1:])]
    x, y = rng.normal(size=(4, 5)).astype(np.float32), rng.normal(size=(4, 3)).astype(np.float32)
    j, out, flat = _optimized_flat(ftx.value_and_grad(_mlp), params, x, y)
    assert len(out.eqns) < len(j.eqns)
    assert "transpose" in names(j) and all(
        e.params["permutation"] != (0, 1) for e in out.eqns if e.primitive.name == "transpose")
    assert_same_program(j, out, *flat)
    f = lambda x: fnp.sum(fnp.tanh(x) * fnp.tanh(x) + fnp.sin(x) * 1.0)  # noqa: E731
    j, out, flat = _optimized_flat(ftx.grad(f), np.linspace(-1, 1, 6))
    assert count_eqns(out) < count_eqns(j) and names(out).count("tanh") == 1
    assert_same_program(j, out, *flat)


def test_optimize_jit_of_vmap_and_of_a_scan_gradient():
    f = lambda x, w: fnp.sum(fnp.tanh(x @ w) * 2.0) + fnp.sum(x * 1.0)  # noqa: E731
    x, w = rng.normal(size=(6, 4, 3)), rng.normal(size=(3, 2))
    j, out, flat = _optimized_flat(ftx.vmap(ftx.grad(f), in_axes=(0, None)), x, w)
    assert len(out.eqns) < len(j.eqns)
    assert_same_program(j, out, *flat)

    def rnn_loss(W, xs, h0):
        h, sq = scan(lambda h, x: (fnp.tanh(W @ h + x), fnp.sum(fnp.tanh(W @ h + x) ** 2)),
                     h0, xs)
        return fnp.sum(h) + fnp.mean(sq)

    args = rng.normal(size=(4, 4)) / 2, rng.normal(size=(7, 4)), np.zeros(4)
    j, out, flat = _optimized_flat(ftx.grad(rnn_loss), *args)
    assert count_eqns(out) < count_eqns(j)
    assert_same_program(j, out, *flat)


def test_optimize_does_not_modify_its_input_and_handles_trivial_outputs():
    j = ftx.make_jaxpr(lambda x, y: (x * 1.0, lax.div(np.float32(1.0), np.float32(4.0)),
                                     -(-y)))(np.ones(2, np.float32), np.ones(2))
    text = str(j)
    out = optimize(j)
    assert str(j) == text
    assert out.eqns == [] and out.outvars[0] is out.invars[0] and isinstance(out.outvars[1], Literal)
    assert_same_program(j, out, SPECIAL[:2], np.array([np.nan, -0.0]))


@settings(max_examples=BUDGET, deadline=None)
@given(programs())
def test_optimize_agrees_with_the_reference_on_random_programs(program):
    fn, args = program
    for f in (fn, ftx.grad(fn), ftx.value_and_grad(fn, argnums=tuple(range(len(args))))):
        j = ftx.make_jaxpr(f)(*args)
        out = optimize(j)
        assert count_eqns(out) <= count_eqns(j)
        assert_same_program(j, out, *args)


# --------------------------------------------------------------------------- wiring into jit

def test_jit_compiles_the_optimized_graph_but_the_reference_backend_does_not():
    f = lambda x: fnp.sin(-(-x)) * 1.0 + fnp.sin(x)  # noqa: E731
    x = np.linspace(-1, 1, 5)
    lowered = ftx.jit(f).lower(x)
    assert "neg" not in lowered.as_text() and lowered.as_text().count("sin") == 1
    assert "neg" in ftx.jit(f, backend="reference").lower(x).as_text()
    with ftx.config.override(jit_passes=False):
        assert "neg" in ftx.jit(f).lower(x).as_text()
    np.testing.assert_allclose(ftx.jit(f)(x), 2 * np.sin(x), rtol=1e-15)


def test_jit_outputs_that_the_passes_turn_into_inputs_and_literals():
    f = ftx.jit(lambda x, y: (x * 1.0, lax.div(np.float32(1.0), np.float32(4.0)), y + 0))
    x, y = np.array([1.0, np.nan], np.float32), np.arange(3)
    a, b, c = f(x, y)
    np.testing.assert_array_equal(a, x)
    assert b == 0.25 and np.asarray(b).dtype == np.float32
    np.testing.assert_array_equal(c, y)


def test_compile_closes_over_the_constants_of_an_optimized_graph():
    from ftx.transforms.jit import _compile
    c = np.linspace(0, 1, 5)
    j = ftx.make_jaxpr(lambda x: x * fnp.exp(c) + c)(np.ones(5))
    exe = _compile(j, "cpu")
    x = rng.normal(size=5)
    np.testing.assert_allclose(exe(x)[0], x * np.exp(c) + c, rtol=1e-15)
    assert "constants" in exe.as_text()


def test_jit_keeps_debug_callbacks_whose_results_are_unused():
    seen = []
    f = ftx.jit(lambda x: (ftx.debug.callback(lambda v: seen.append(float(v)), x), x * 2.0)[1])
    f(np.float64(3.0))
    f(np.float64(4.0))
    assert seen == [3.0, 4.0]


def test_inline_names_the_call_when_operand_and_body_types_differ():
    from ftx.core.avals import ShapedArray
    from ftx.core.jaxpr import Jaxpr, JaxprEqn, Var
    from ftx.transforms.call import closed_call_p
    body = ftx.make_jaxpr(fnp.sin)(np.ones(3, np.float32))
    x, out = Var(ShapedArray((3,), np.float64)), Var(body.out_avals[0])
    j = Jaxpr([], [x], [out], [JaxprEqn(closed_call_p, [x], [out], {"jaxpr": body})])
    with pytest.raises(TypeError, match=r"closed_call equation passes f64\[3\] to a body input "
                                        r"of type f32\[3\]"):
        inline_calls(j)


def test_a_transposed_matmul_becomes_one_matmul_in_the_transposed_layout():
    from ftx.compiler.passes import fold_transposed_dots
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 3)), rng.normal(size=(5, 4))

    def weight_grad(a, b):  # the shape reverse mode gives a weight gradient: (a.T @ b).T
        return lax.transpose(lax.dot_general(a, b, (((0,), (0,)), ((), ()))), (1, 0))

    j = ftx.make_jaxpr(weight_grad)(a, b)
    folded = fold_transposed_dots(j)
    check_jaxpr(folded)
    assert [e.primitive.name for e in folded.eqns] == ["dot_general"]
    out = eval_jaxpr(folded, a, b)[0]
    assert out.flags.c_contiguous
    np.testing.assert_allclose(out, (a.T @ b).T, rtol=1e-12)
    # a matmul read elsewhere, or a transpose that does not swap the blocks, stays
    def shared(a, b):
        d = lax.dot_general(a, b, (((0,), (0,)), ((), ())))
        return lax.transpose(d, (1, 0)), d * 2.0
    both = ftx.make_jaxpr(shared)(a, b)
    assert len(fold_transposed_dots(both).eqns) == len(both.eqns)
    x = rng.normal(size=(2, 3, 4))
    batched = ftx.make_jaxpr(lambda x: lax.transpose(
        lax.dot_general(x, x, (((2,), (2,)), ((0,), (0,)))), (0, 2, 1)))(x)
    assert len(fold_transposed_dots(batched).eqns) == len(batched.eqns)


def test_transposed_matmuls_inside_a_checkpointed_body_are_folded_too():
    # the backward of a checkpointed block computes its weight gradients in its own body
    from ftx.compiler.passes import fold_transposed_dots
    rng = np.random.default_rng(1)
    w, x = rng.normal(size=(4, 6)), rng.normal(size=(3, 4))
    block = ftx.checkpoint(lambda w, x: fnp.tanh(x @ w))
    j = ftx.make_jaxpr(ftx.grad(lambda w, x: fnp.sum(block(w, x) ** 2)))(w, x)

    def transposes(jaxpr):
        return sum(e.primitive.name == "transpose" for e in jaxpr.eqns) + sum(
            transposes(sub) for e in jaxpr.eqns for sub in e.params.values()
            if isinstance(sub, type(jaxpr)))

    assert transposes(j) > 0
    folded = fold_transposed_dots(j)
    assert transposes(folded) == 0
    check_jaxpr(folded)
    np.testing.assert_allclose(eval_jaxpr(folded, w, x)[0], eval_jaxpr(j, w, x)[0], rtol=1e-12)
