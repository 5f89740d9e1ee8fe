"""Transform rules of the reduction, cumulative, dot_general and sort primitives in the cases
the op records miss: ties in max/min and cummax, zeros in prod and cumprod, extreme ranges
in cumlogsumexp, dot_general with batch axes on one operand only under vmap and with
preferred_element_type under differentiation, sort with ties and unbatched keys, the NaN
and float32-``dtype=`` records that the finite-difference check skips, and the gradients
of the ftx.numpy functions built on these primitives.

Oracles: closed-form derivatives written with NumPy, Python loops over the batch, and
central finite differences (ftx.testing.check_grads); never the rules' own output.
"""
import itertools
import string

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import ftx
import ftx.numpy as fnp
from ftx import lax
from ftx.core.dtypes import float0
from ftx.numpy import _reductions as R
from ftx.scipy import special as sp
from ftx.testing import check_grads
from tests.oracles import vmap_loop as loop

SETTINGS = settings(max_examples=30, deadline=None)
RNG = np.random.default_rng(0)


def normal(*shape):
    return RNG.standard_normal(shape)




def check_vmap(fn, args, in_axes, rtol=1e-12):
    out = ftx.vmap(fn, in_axes=in_axes)(*args)
    expected = loop(fn, args, in_axes)
    pairs = zip(out, expected) if isinstance(expected, list) else [(out, expected)]
    for o, e in pairs:
        o = np.asarray(o)
        assert o.shape == e.shape and o.dtype == e.dtype, (o.shape, o.dtype, e.shape, e.dtype)
        np.testing.assert_allclose(o, e, rtol=rtol, atol=1e-12)


def vjp1(fn, x, ct):
    return ftx.vjp(fn, x)[1](ct)[0]


def jvp1(fn, x, t):
    return ftx.jvp(fn, (x,), (t,))[1]


# --------------------------------------------------------------------------- rule coverage

def test_every_primitive_of_the_family_has_its_rules():
    table = ftx.core.rule_coverage()
    linear = ("reduce_sum", "cumsum", "dot_general")
    others = ("reduce_max", "reduce_min", "reduce_prod", "reduce_and", "reduce_or",
              "reduce_xor", "argmax", "argmin", "cumprod", "cummax", "cummin", "cumlogsumexp",
              "sort")
    for name in linear + others:
        row = table[name]
        assert row["jvp"] == "yes" and row["batch"] == "yes", (name, row)
        if name in linear:
            assert row["transpose"] == "yes", name
        else:
            assert row["transpose"].startswith("exempt"), (name, row)


# --------------------------------------------------------------------------- reduce_max / min

def test_max_ties_share_the_cotangent_equally():
    x = np.array([[1.0, 3.0, 3.0, 2.0], [5.0, 5.0, 5.0, 0.0], [0.0, -1.0, 4.0, 4.0 - 1e-9]])
    w = np.array([2.0, 3.0, 5.0])
    expected = np.array([[0, 1.0, 1.0, 0], [1.0, 1.0, 1.0, 0], [0, 0, 5.0, 0]])
    np.testing.assert_allclose(vjp1(lambda v: lax.reduce_max(v, (1,)), x, w), expected)
    # Forward mode agrees: the tangent at a tie is the mean of the tied tangents.
    t = np.arange(12.0).reshape(3, 4)
    np.testing.assert_allclose(jvp1(lambda v: lax.reduce_max(v, (1,)), x, t),
                               [(1 + 2) / 2, (4 + 5 + 6) / 3, 10])
    np.testing.assert_allclose(ftx.grad(lambda v: lax.reduce_max(v, (0,)))(np.ones(4)),
                               np.full(4, 0.25))


def test_min_ties_over_several_axes():
    x = np.array([[[2.0, -1.0], [-1.0, 3.0]], [[-1.0, 0.0], [7.0, -1.0]]])  # -1 four times
    g = ftx.grad(lambda v: lax.reduce_min(v, (0, 1, 2)))(x)
    np.testing.assert_allclose(g, np.where(x == -1.0, 0.25, 0.0))
    g = ftx.grad(lambda v: lax.reduce_sum(lax.reduce_min(v, (0, 2)), (0,)))(x)
    # Each slice x[:, k, :] holds -1 twice.
    np.testing.assert_allclose(g, np.where(x == -1.0, 0.5, 0.0))


def test_max_of_a_nan_row_has_a_nan_gradient_like_jax():
    x = np.array([[1.0, np.nan, 2.0], [1.0, 4.0, 2.0]])
    g = ftx.grad(lambda v: lax.reduce_sum(lax.reduce_max(v, (1,)), (0,)))(x)
    assert np.isnan(g[0]).all()
    np.testing.assert_array_equal(g[1], [0.0, 1.0, 0.0])


def test_max_hessian_is_zero_away_from_ties():
    x = normal(5)
    np.testing.assert_array_equal(ftx.hessian(lambda v: lax.reduce_max(v, (0,)))(x),
                                  np.zeros((5, 5)))


# --------------------------------------------------------------------------- reduce_prod

def _prod_grad_oracle(x):
    """d prod(x) / d x_i = product of the other elements (no division, exact at zeros)."""
    return np.array([np.prod(np.delete(x, i)) for i in range(x.size)])


def _prod_hessian_oracle(x):
    n = x.size
    h = np.zeros((n, n))
    for i, j in itertools.product(range(n), repeat=2):
        if i != j:
            h[i, j] = np.prod(np.delete(x, [i, j]))
    return h


@pytest.mark.parametrize("x", [[1.5, -2.0, 3.0, 0.5, 2.0], [1.5, 0.0, 3.0, 0.5, 2.0],
                               [0.0, -2.0, 3.0, 0.0, 2.0], [0.0, 0.0, 0.0], [4.0], [0.0],
                               [2.0, 0.0]])
def test_prod_gradient_and_hessian_with_zeros(x):
    x = np.array(x)
    f = lambda v: lax.reduce_prod(v, (0,))  # noqa: E731
    np.testing.assert_allclose(ftx.grad(f)(x), _prod_grad_oracle(x), rtol=1e-14)
    np.testing.assert_allclose(ftx.hessian(f)(x), _prod_hessian_oracle(x), rtol=1e-14)
    np.testing.assert_allclose(ftx.jacfwd(f)(x), _prod_grad_oracle(x), rtol=1e-14)


def test_prod_over_several_axes_with_zeros():
    x = np.round(normal(2, 3, 5), 1)
    x[0, 1, 2] = x[1, 2, 0] = x[1, 2, 4] = 0.0  # one zero in slice 2, two in slice 0
    w = normal(3)
    g = vjp1(lambda v: lax.reduce_prod(v, (0, 2)), x, w)
    expected = np.zeros_like(x)
    for k in range(3):
        expected[:, k, :] = w[k] * _prod_grad_oracle(x[:, k, :].ravel()).reshape(2, 5)
    np.testing.assert_allclose(g, expected, rtol=1e-13)
    check_grads(lambda v: lax.reduce_prod(v, (0, 2)), (normal(2, 3, 5),), order=2)


def test_prod_over_an_empty_axis_is_a_constant():
    x = np.zeros((0, 3))
    out, t = ftx.jvp(lambda v: lax.reduce_prod(v, (0,)), (x,), (x,))
    np.testing.assert_array_equal(out, np.ones(3))
    np.testing.assert_array_equal(t, np.zeros(3))
    assert vjp1(lambda v: lax.reduce_prod(v, (0,)), x, np.ones(3)).shape == (0, 3)


def test_numpy_prod_gradient_with_a_zero():
    x = np.array([[2.0, 0.0, 3.0], [1.0, 2.0, 3.0]])
    g = ftx.grad(lambda v: fnp.sum(fnp.prod(v, axis=1)))(x)
    np.testing.assert_allclose(g, [[0.0, 6.0, 0.0], [6.0, 3.0, 2.0]])


# --------------------------------------------------------------------------- cumulative

def _cumprod_vjp_oracle(x, w):
    """d/dx_j sum_i w_i prod_{k<=i} x_k = sum_{i>=j} w_i prod_{k<=i, k!=j} x_k."""
    n = x.size
    return np.array([sum(w[i] * np.prod(np.delete(x[:i + 1], j)) for i in range(j, n))
                     for j in range(n)])


@pytest.mark.parametrize("x", [[1.5, -2.0, 3.0, 0.5, 2.0], [1.5, 0.0, 3.0, 0.5, 2.0],
                               [0.0, 2.0, 0.0, 3.0, 1.0, 0.5], [0.0]])
def test_cumprod_gradient_with_zeros(x):
    x, w = np.array(x), np.linspace(1.0, 2.0, len(x))
    np.testing.assert_allclose(vjp1(lambda v: lax.cumprod(v, 0), x, w),
                               _cumprod_vjp_oracle(x, w), rtol=1e-13)
    rev = vjp1(lambda v: lax.cumprod(v, 0, reverse=True), x, w)
    np.testing.assert_allclose(rev, _cumprod_vjp_oracle(x[::-1], w[::-1])[::-1], rtol=1e-13)


def test_cumprod_second_order_with_zeros():
    x = np.array([[1.5, 0.0, 3.0, 0.5], [0.0, 2.0, 0.0, 1.0]])
    check_grads(lambda v: lax.cumprod(v, 1), (x,), order=2)


def _cumextreme_vjp_oracle(x, w, is_max):
    """Each output's cotangent is shared equally by the earlier elements equal to it."""
    out = (np.maximum if is_max else np.minimum).accumulate(x)
    g = np.zeros_like(x)
    for i in range(x.size):
        tied = np.flatnonzero(x[:i + 1] == out[i])
        g[tied] += w[i] / tied.size
    return g


@pytest.mark.parametrize("is_max", [True, False])
def test_cummax_cummin_ties(is_max):
    x = np.array([1.0, 3.0, 3.0, 2.0, 4.0, 4.0, -1.0, 4.0])
    x = x if is_max else -x
    w = np.arange(1.0, 9.0)
    fn = lax.cummax if is_max else lax.cummin
    np.testing.assert_allclose(vjp1(lambda v: fn(v, 0), x, w),
                               _cumextreme_vjp_oracle(x, w, is_max), rtol=1e-14)
    rev = vjp1(lambda v: fn(v, 0, reverse=True), x, w)
    np.testing.assert_allclose(rev, _cumextreme_vjp_oracle(x[::-1], w[::-1], is_max)[::-1],
                               rtol=1e-14)


def test_cummax_with_infinities():
    x = np.array([-np.inf, -np.inf, 0.0, np.inf, 1.0])
    w = np.ones(5)
    np.testing.assert_allclose(vjp1(lambda v: lax.cummax(v, 0), x, w),
                               _cumextreme_vjp_oracle(x, w, True))


def _cumlogsumexp_jvp_oracle(x, t):
    """d out_i = sum_{j<=i} t_j exp(x_j - out_i), each weight computed directly in float64;
    an all -inf prefix gets the limit of equal values, the mean tangent."""
    x64 = x.astype(np.float64)
    out = np.logaddexp.accumulate(x64)
    return np.array([np.sum(t[:i + 1] * np.exp(x64[:i + 1] - out[i])) if out[i] > -np.inf
                     else np.mean(t[:i + 1]) for i in range(x.size)])


@pytest.mark.parametrize("dtype, x", [
    (np.float64, [-1000.0, 0.0, 1000.0, 999.0, -5.0]),
    (np.float32, [-200.0, 0.0, 150.0, 149.0, 150.0]),   # exp(150) overflows float32
    (np.float64, [-np.inf, -np.inf, -np.inf, 0.0, 1.0, -np.inf]),
])
def test_cumlogsumexp_tangent_is_stable(dtype, x):
    x = np.array(x, dtype)
    t = np.linspace(-1.0, 2.0, x.size).astype(dtype)
    tangent = jvp1(lambda v: lax.cumlogsumexp(v, 0), x, t)
    assert np.isfinite(tangent).all()
    np.testing.assert_allclose(tangent, _cumlogsumexp_jvp_oracle(x, t), rtol=1e-5)
    g = vjp1(lambda v: lax.cumlogsumexp(v, 0, reverse=True), x, t)
    assert np.isfinite(g).all()


def test_cumsum_transpose_is_the_reverse_cumsum():
    w = normal(3, 5)
    np.testing.assert_allclose(vjp1(lambda v: lax.cumsum(v, 1), normal(3, 5), w),
                               np.cumsum(w[:, ::-1], axis=1)[:, ::-1], rtol=1e-14)
    np.testing.assert_allclose(vjp1(lambda v: lax.cumsum(v, 0, reverse=True), normal(3, 5), w),
                               np.cumsum(w, axis=0), rtol=1e-14)


@pytest.mark.parametrize("fn", [lax.cumsum, lax.cumprod, lax.cummax, lax.cummin,
                                lax.cumlogsumexp])
@pytest.mark.parametrize("axis, in_axis", [(0, 0), (0, 2), (1, 1), (1, 0)])
def test_cumulative_vmap_around_the_scan_axis(fn, axis, in_axis):
    x = normal(3, 4, 5)
    check_vmap(lambda v: fn(v, axis, reverse=axis == 1), (x,), (in_axis,))
    check_vmap(lambda v: ftx.grad(lambda u: lax.reduce_sum(fn(u, axis), (0, 1)))(v), (x,),
               (in_axis,))


# --------------------------------------------------------------------------- reductions: batching

@pytest.mark.parametrize("name", ["reduce_sum", "reduce_max", "reduce_min", "reduce_prod"])
@pytest.mark.parametrize("axes", [(), (0,), (1,), (0, 1)])
@pytest.mark.parametrize("in_axis", [0, 1, 2])
def test_reduction_vmap_renumbers_axes(name, axes, in_axis):
    fn = getattr(lax, name)
    check_vmap(lambda v: fn(v, axes), (normal(3, 4, 2),), (in_axis,))


@pytest.mark.parametrize("name", ["reduce_and", "reduce_or", "reduce_xor"])
def test_logical_reductions_vmap_and_have_no_tangent(name):
    x = RNG.integers(0, 8, (3, 4, 2)).astype(np.int32)
    fn = getattr(lax, name)
    for in_axis in (0, 1, 2):
        check_vmap(lambda v: fn(v, (1,)), (x,), (in_axis,))
        check_vmap(lambda v: fn(v, (0,)), (x > 3,), (in_axis,))


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_batches_and_has_a_float0_tangent(name):
    fn, ref = getattr(lax, name), getattr(np, name)
    x = normal(3, 4, 5)
    for in_axis, axis in itertools.product((0, 1, 2), (0, 1)):
        out = ftx.vmap(lambda v: fn(v, axis, np.int32), in_axes=in_axis)(x)
        np.testing.assert_array_equal(out, ref(np.moveaxis(x, in_axis, 0), axis=axis + 1))
    _, t = ftx.jvp(lambda v: fn(v, 1, np.int32), (x,), (x,))
    assert t.dtype == float0 and t.shape == (3, 5)
    # Picking the value at the argmax differentiates through the value, not the index.
    g = ftx.grad(lambda v: lax.reduce_max(v, (0,)) + 0.0 * lax.convert_element_type(
        fn(v, 0, np.int32), np.float64))(x[:, 0, 0])
    np.testing.assert_array_equal(g, np.eye(3)[np.argmax(x[:, 0, 0])])


# --------------------------------------------------------------------------- dot_general

LETTERS = string.ascii_letters


@st.composite
def dot_general_cases(draw):
    """Random operands and dimension numbers, with the einsum spec that computes the same."""
    nb, nc, nl, nr = (draw(st.integers(0, 2)) for _ in range(4))
    sizes = draw(st.lists(st.integers(1, 3), min_size=nb + nc + nl + nr,
                          max_size=nb + nc + nl + nr))
    names = LETTERS[:len(sizes)]
    b, c = names[:nb], names[nb:nb + nc]
    lf, rf = names[nb + nc:nb + nc + nl], names[nb + nc + nl:]
    lhs = list(draw(st.permutations(b + c + lf)))
    rhs = list(draw(st.permutations(b + c + rf)))
    size = dict(zip(names, sizes))
    dn = ((tuple(lhs.index(k) for k in c), tuple(rhs.index(k) for k in c)),
          (tuple(lhs.index(k) for k in b), tuple(rhs.index(k) for k in b)))
    # Output axes: batch (in the order given), then each operand's free axes in its own order.
    out = b + "".join(k for k in lhs if k in lf) + "".join(k for k in rhs if k in rf)
    spec = f"{''.join(lhs)},{''.join(rhs)}->{out}"
    shapes = tuple(size[k] for k in lhs), tuple(size[k] for k in rhs)
    return dn, spec, shapes


@SETTINGS
@given(dot_general_cases(), st.data())
def test_dot_general_vjp_and_vmap_against_einsum(case, data):
    dn, spec, (ls, rs) = case
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x, y = rng.standard_normal(ls), rng.standard_normal(rs)
    f = lambda a, b: lax.dot_general(a, b, dn)  # noqa: E731
    out = f(x, y)
    ct = rng.standard_normal(out.shape)
    ins, res = spec.split("->")
    lsub, rsub = ins.split(",")
    # Each operand's cotangent contracts the output cotangent with the other operand.
    ct_x, ct_y = ftx.vjp(f, x, y)[1](ct)
    np.testing.assert_allclose(ct_x, np.einsum(f"{res},{rsub}->{lsub}", ct, y).reshape(ls),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ct_y, np.einsum(f"{lsub},{res}->{rsub}", x, ct).reshape(rs),
                               rtol=1e-12, atol=1e-12)
    # Batched on one side, the other, or both, at any position.
    lax_ = data.draw(st.sampled_from([None] + list(range(len(ls) + 1))))
    rax = data.draw(st.sampled_from([None] + list(range(len(rs) + 1))))
    if lax_ is None and rax is None:
        rax = 0
    bx = x if lax_ is None else np.stack([x, 2 * x - 1], axis=lax_)
    by = y if rax is None else np.stack([y, y + 0.5], axis=rax)
    check_vmap(f, (bx, by), (lax_, rax))


@pytest.mark.parametrize("in_axes", [(1, None), (None, 2), (0, None), (None, 0), (2, 1)])
def test_dot_general_with_batch_dims_batched_on_one_side(in_axes):
    dn = (((2,), (1,)), ((0,), (0,)))  # bij,bjk->bik
    x, y = normal(2, 3, 4), normal(2, 4, 5)
    bx = x if in_axes[0] is None else np.stack([x, -x, x + 1], axis=in_axes[0])
    by = y if in_axes[1] is None else np.stack([y, y * 2, y - 1], axis=in_axes[1])
    f = lambda a, b: lax.dot_general(a, b, dn)  # noqa: E731
    check_vmap(f, (bx, by), in_axes)
    # And its gradient, batched the same way.
    g = lambda a, b: ftx.grad(lambda u, v: lax.reduce_sum(f(u, v), (0, 1, 2)),  # noqa: E731
                              argnums=(0, 1))(a, b)
    check_vmap(g, (bx, by), in_axes)


def test_dot_general_preferred_element_type_under_differentiation():
    x, y = normal(3, 4).astype(np.float32), normal(4, 2).astype(np.float32)
    f = lambda a, b: lax.dot_general(a, b, (((1,), (0,)), ((), ())),  # noqa: E731
                                     preferred_element_type=np.float64)
    out, t = ftx.jvp(f, (x, y), (np.ones_like(x), np.zeros_like(y)))
    assert out.dtype == np.float64 and t.dtype == np.float64
    np.testing.assert_allclose(t, np.ones((3, 4)) @ y.astype(np.float64), rtol=1e-12)
    ct = normal(3, 2)
    gx, gy = ftx.vjp(f, x, y)[1](ct)
    assert gx.dtype == np.float32 and gy.dtype == np.float32
    np.testing.assert_allclose(gx, ct @ y.T.astype(np.float64), rtol=1e-6)
    np.testing.assert_allclose(gy, x.T.astype(np.float64) @ ct, rtol=1e-6)


def test_dot_general_of_a_value_with_itself_is_not_linear():
    x = normal(3)
    g = ftx.grad(lambda v: lax.dot_general(v, v, (((0,), (0,)), ((), ()))))(x)
    np.testing.assert_allclose(g, 2 * x, rtol=1e-14)
    with pytest.raises(ValueError, match="not linear"):
        ftx.linear_transpose(lambda v: lax.dot(v, v), x)(1.0)


# --------------------------------------------------------------------------- sort

def test_sort_tangents_follow_the_stable_permutation_with_ties():
    keys = np.array([[3.0, 1.0, 3.0, 1.0, 2.0], [0.0, 0.0, 0.0, -1.0, 5.0]])
    vals, t = normal(2, 5), normal(2, 5)
    perm = np.argsort(keys, axis=1, kind="stable")
    _, tv = ftx.jvp(lambda v: lax.sort((keys, v), num_keys=1)[1], (vals,), (t,))
    np.testing.assert_array_equal(tv, np.take_along_axis(t, perm, 1))
    # The keys' own cotangents go back through the same permutation.
    w = normal(2, 5)
    g = vjp1(lambda k: lax.sort(k), keys, w)
    expected = np.zeros_like(w)
    np.put_along_axis(expected, perm, w, 1)
    np.testing.assert_array_equal(g, expected)


def test_sort_with_nans_sends_cotangents_to_the_nans_at_the_end():
    x = np.array([2.0, np.nan, -1.0, np.nan, 0.5])
    w = np.arange(1.0, 6.0)
    g = vjp1(lambda v: lax.sort(v), x, w)
    expected = np.zeros(5)
    expected[np.argsort(x, kind="stable")] = w
    np.testing.assert_array_equal(g, expected)


@pytest.mark.parametrize("in_axes", [(None, 0), (None, 1), (1, 0), (0, None)])
def test_sort_vmap_with_unbatched_keys(in_axes):
    keys = RNG.integers(0, 3, (4, 5)).astype(np.float64)
    vals = normal(4, 5)
    bk = keys if in_axes[0] is None else np.stack([keys, -keys], axis=in_axes[0])
    bv = vals if in_axes[1] is None else np.stack([vals, vals * 3], axis=in_axes[1])
    check_vmap(lambda k, v: lax.sort((k, v), dimension=0, num_keys=1), (bk, bv), in_axes)
    check_vmap(lambda k, v: vjp1(lambda u: lax.sort((k, u), dimension=1)[1], v, v), (bk, bv),
               in_axes)


def test_top_k_values_gradient():
    x = np.array([[0.5, 3.0, -1.0, 2.0], [1.0, 1.0, 0.0, -2.0]])
    g = ftx.grad(lambda v: lax.reduce_sum(lax.top_k(v, 2)[0], (0, 1)))(x)
    np.testing.assert_array_equal(g, [[0, 1, 0, 1], [1, 1, 0, 0]])


# --------------------------------------------------------------------------- records skipped by FD

def test_gradients_through_float32_dtype_arguments():
    x, y = normal(3, 4), normal(4, 2)
    g = ftx.grad(lambda v: fnp.sum(R.sum(v, axis=0, dtype=np.float32)))(x)
    assert g.dtype == np.float64
    np.testing.assert_array_equal(g, np.ones((3, 4)))
    g = ftx.grad(lambda v: fnp.sum(R.cumsum(v, axis=1, dtype=np.float32)))(x)
    np.testing.assert_array_equal(g, np.broadcast_to([4.0, 3.0, 2.0, 1.0], (3, 4)))
    ga, gb = ftx.grad(lambda a, b: fnp.sum(fnp.matmul(a, b, dtype=np.float32)),
                      argnums=(0, 1))(x, y)
    np.testing.assert_allclose(ga, np.ones((3, 2)) @ y.T, rtol=1e-6)
    np.testing.assert_allclose(gb, x.T @ np.ones((3, 2)), rtol=1e-6)
    g = ftx.grad(lambda v: fnp.sum(fnp.trace(v, 0, 1, 2, np.float32)))(normal(2, 3, 3))
    np.testing.assert_array_equal(g, np.broadcast_to(np.eye(3), (2, 3, 3)))


def test_nan_ignoring_extremes_differentiate_the_non_nan_extreme():
    x = np.array([[np.nan, 1.0, 3.0], [np.nan, np.nan, np.nan], [2.0, np.nan, -1.0]])
    g = ftx.grad(lambda v: fnp.sum(fnp.nanmax(v, axis=1)))(x)
    np.testing.assert_array_equal(g, [[0, 0, 1], [0, 0, 0], [1, 0, 0]])
    g = ftx.grad(lambda v: fnp.sum(fnp.nanmin(v, axis=1)))(x)
    np.testing.assert_array_equal(g, [[0, 1, 0], [0, 0, 0], [0, 0, 1]])


# --------------------------------------------------------------------------- ftx.numpy functions

X = normal(3, 4)
W = normal(3)


@pytest.mark.parametrize("fn, oracle", [
    (lambda x: fnp.sum(x), lambda x: np.ones_like(x)),
    (lambda x: fnp.mean(x), lambda x: np.full_like(x, 1 / x.size)),
    (lambda x: fnp.var(x), lambda x: 2 * (x - x.mean()) / x.size),
    (lambda x: fnp.std(x, ddof=1), lambda x: (x - x.mean()) / ((x.size - 1) * x.std(ddof=1))),
    (lambda x: fnp.max(x), lambda x: (x == x.max()).astype(float)),
    (lambda x: fnp.min(x, axis=1) @ W, lambda x: (x == x.min(1, keepdims=True)) * W[:, None]),
    (lambda x: fnp.sort(x, axis=None) @ np.arange(12.0),
     lambda x: np.argsort(np.argsort(x, axis=None)).reshape(x.shape).astype(float)),
    (lambda x: fnp.sum(fnp.cumsum(x, axis=1) * X),
     lambda x: np.cumsum(X[:, ::-1], axis=1)[:, ::-1]),
    (lambda x: sp.logsumexp(x), lambda x: np.exp(x - np.log(np.sum(np.exp(x))))),
    (lambda x: fnp.linalg.norm(x), lambda x: x / np.sqrt(np.sum(x * x))),
    (lambda x: fnp.sum(fnp.einsum("ij,ik->jk", x, X)), lambda x: np.broadcast_to(
        X.sum(1, keepdims=True), (3, 4))),
    (lambda x: fnp.sum(fnp.matmul(x, X.T) * np.eye(3)), lambda x: X),
], ids=["sum", "mean", "var", "std", "max", "min", "sort", "cumsum", "logsumexp", "norm",
        "einsum", "matmul"])
def test_numpy_gradients_against_closed_forms(fn, oracle):
    np.testing.assert_allclose(ftx.grad(fn)(X), oracle(X), rtol=1e-12, atol=1e-14)
    # Per-example gradients, batched along axis 1 of a stack of inputs.
    xs = np.stack([X, X * 2 + 1], axis=1)
    check_vmap(ftx.grad(fn), (xs,), (1,), rtol=1e-11)


def test_vmap_of_numpy_reductions_and_products():
    xs = normal(3, 4, 5)
    for fn in (lambda x: fnp.var(x, axis=0), lambda x: fnp.max(x, axis=-1, keepdims=True),
               lambda x: fnp.einsum("ij,kj->ik", x, x), lambda x: fnp.linalg.norm(x, ord=1),
               lambda x: fnp.median(x, axis=0), lambda x: sp.logsumexp(x, axis=1),
               lambda x: fnp.sort(x, axis=0), lambda x: fnp.cumprod(x, axis=1)):
        for in_axis in (0, 2):
            check_vmap(fn, (xs,), (in_axis,), rtol=1e-11)
    a, b = normal(2, 3, 4), normal(4, 5)
    check_vmap(fnp.matmul, (a, b), (0, None))
    check_vmap(fnp.matmul, (a, np.stack([b, b + 1])), (0, 0))
    check_vmap(lambda u, v: fnp.einsum("ij,jk->ik", u, v), (a, np.stack([b, -b, b], 2)),
               (1, 2))


# --------------------------------------------------------------------------- logsumexp

def test_logsumexp_gradient_does_not_flow_through_the_max_shift():
    assert "stop_gradient" in str(ftx.make_jaxpr(sp.logsumexp)(np.ones(3)))
    x = np.array([0.3, -1.2, 2.0, 0.7])
    p = np.exp(x - np.log(np.sum(np.exp(x))))
    np.testing.assert_allclose(ftx.hessian(sp.logsumexp)(x), np.diag(p) - np.outer(p, p),
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("x, expected", [
    ([-np.inf, 0.0, 0.0], [0.0, 0.5, 0.5]),
    ([1000.0, 1000.0], [0.5, 0.5]),
    ([-1000.0, 0.0], [0.0, 1.0]),
])
def test_logsumexp_gradient_at_extremes(x, expected):
    np.testing.assert_allclose(ftx.grad(sp.logsumexp)(np.array(x)), expected, atol=1e-300)


def test_softmax_jacobian():
    x = normal(4)
    p = np.exp(x) / np.exp(x).sum()
    np.testing.assert_allclose(ftx.jacrev(sp.softmax)(x), np.diag(p) - np.outer(p, p),
                               rtol=1e-12, atol=1e-15)
