"""The reduction, cumulative, dot_general and sort primitives (ftx.lax): semantics against
NumPy, the jaxprs they print, and their error messages. Eager calls run the NumPy impl;
traced calls go through abstract evaluation, check_jaxpr and eval_jaxpr.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import ftx
from ftx import lax
from ftx.core import check_jaxpr, eval_jaxpr
from ftx.core.errors import JaxprTypeError


def traced(fn, *args):
    """Run ``fn`` through make_jaxpr -> check_jaxpr -> eval_jaxpr (the reference interpreter)."""
    jaxpr = ftx.make_jaxpr(fn)(*args)
    check_jaxpr(jaxpr)
    outs = eval_jaxpr(jaxpr, *args)
    return outs[0] if len(outs) == 1 else outs


def assert_same(actual, expected):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-12, equal_nan=True)


X = np.arange(24, dtype=np.float32).reshape(2, 3, 4) - 10.5


# --------------------------------------------------------------------------- reductions

def test_reduce_sum_prints_like_jax():
    jaxpr = ftx.make_jaxpr(lambda x: lax.reduce_sum(x, (0,)))(np.ones((3, 4), np.float32))
    assert str(jaxpr) == ("{ lambda ; a:f32[3,4]. let\n"
                          "    b:f32[4] = reduce_sum[axes=(0,)] a\n"
                          "  in (b,) }")


def test_wrappers_normalise_axes_to_a_sorted_tuple():
    jaxpr = ftx.make_jaxpr(lambda x: lax.reduce_max(x, (-1, 0)))(X)
    assert jaxpr.eqns[0].params == {"axes": (0, 2)}
    jaxpr = ftx.make_jaxpr(lambda x: lax.argmax(x, -1, np.int32))(X)
    assert jaxpr.eqns[0].params == {"axes": (2,), "index_dtype": np.dtype(np.int32)}
    assert "argmax[axes=(2,), index_dtype=int32]" in str(jaxpr)


@pytest.mark.parametrize("name, ufunc", [("reduce_sum", np.add), ("reduce_prod", np.multiply),
                                         ("reduce_max", np.maximum), ("reduce_min", np.minimum)])
@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.uint8, np.float32, np.float64])
def test_reductions_keep_the_operand_dtype(name, ufunc, dtype):
    x = (np.arange(12) % 7 - 2).reshape(3, 4).astype(dtype)
    fn = getattr(lax, name)
    expected = ufunc.reduce(x, axis=1, dtype=dtype)
    assert_same(fn(x, (1,)), expected)
    assert_same(traced(lambda v: fn(v, (1,)), x), expected)


@pytest.mark.parametrize("name, ufunc", [("reduce_and", np.bitwise_and), ("reduce_or", np.bitwise_or),
                                         ("reduce_xor", np.bitwise_xor)])
def test_logical_reductions_are_bitwise_on_ints(name, ufunc):
    x = np.array([[5, 3, 6], [1, 2, 7]], np.int32)
    b = x > 2
    fn = getattr(lax, name)
    assert_same(traced(lambda v: fn(v, (0, 1)), x), ufunc.reduce(x, axis=(0, 1)))
    assert_same(traced(lambda v: fn(v, (1,)), b), ufunc.reduce(b, axis=1))


def test_empty_sum_is_zero_and_empty_max_is_an_error():
    empty = np.zeros((0, 3), np.float32)
    assert_same(lax.reduce_sum(empty, (0,)), np.zeros(3, np.float32))
    assert_same(traced(lambda v: lax.reduce_prod(v, (0,)), empty), np.ones(3, np.float32))
    for fn in (lambda v: lax.reduce_max(v, (0,)), lambda v: lax.argmin(v, 0, np.int32)):
        with pytest.raises(ValueError, match=r"(reduce_max|argmin): cannot reduce over axis 0 of size 0"):
            fn(empty)  # eager: the impl checks too
        with pytest.raises(ValueError, match=r"size 0"):
            ftx.make_jaxpr(fn)(empty)
    # Reducing the other (non-empty) axis is fine.
    assert lax.reduce_max(empty, (1,)).shape == (0,)


def test_max_min_propagate_nan_and_argmax_finds_the_first_nan():
    x = np.array([[1.0, np.nan, 3.0, np.nan], [2.0, 5.0, -1.0, 0.0]])
    assert_same(traced(lambda v: lax.reduce_max(v, (1,)), x), np.max(x, axis=1))
    assert_same(traced(lambda v: lax.reduce_min(v, (1,)), x), np.min(x, axis=1))
    assert_same(traced(lambda v: lax.argmax(v, 1, np.int64), x), np.argmax(x, axis=1))
    assert_same(traced(lambda v: lax.argmin(v, 1, np.int64), x), np.argmin(x, axis=1))


def test_argmax_returns_the_first_of_equal_maxima():
    x = np.array([[3, 1, 3], [0, 0, 0]], np.int32)
    assert_same(traced(lambda v: lax.argmax(v, 1, np.int32), x), np.array([0, 0], np.int32))


@pytest.mark.parametrize("axes, message", [((2,), r"axes \(2,\) out of bounds for operand f32\[3,4\]"),
                                           ((1, 0), r"must be sorted"), ((0, 0), r"repeats")])
def test_bad_axes_name_the_op_and_the_operand(axes, message):
    jaxpr = ftx.make_jaxpr(lambda x: lax.reduce_sum(x, (0,)))(np.ones((3, 4), np.float32))
    eqn = jaxpr.eqns[0]
    jaxpr.eqns[0] = eqn.replace(params={"axes": axes})
    with pytest.raises(JaxprTypeError, match=message):
        check_jaxpr(jaxpr)
    with pytest.raises(ValueError, match="reduce_sum"):
        lax.reduce_sum(np.ones((3, 4)), (2,))  # the wrapper checks the axes too


def test_dtype_errors():
    with pytest.raises(TypeError, match=r"reduce_sum: operand dtype must be .* got bool\[3\]"):
        ftx.make_jaxpr(lambda x: lax.reduce_sum(x, (0,)))(np.ones(3, bool))
    with pytest.raises(TypeError, match="reduce_and"):
        ftx.make_jaxpr(lambda x: lax.reduce_and(x, (0,)))(np.ones(3, np.float32))
    with pytest.raises(TypeError, match="index_dtype"):
        ftx.make_jaxpr(lambda x: lax.argmax(x, 0, np.float32))(np.ones(3, np.float32))


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=0, max_size=4),
       data=st.data(),
       name=st.sampled_from(["reduce_sum", "reduce_max", "reduce_min", "reduce_prod"]),
       dtype=st.sampled_from([np.int32, np.float32, np.float64]))
def test_reductions_match_numpy_over_random_axes(shape, data, name, dtype):
    ndim = len(shape)
    axes = data.draw(st.lists(st.integers(-ndim, ndim - 1), unique_by=lambda a: a % ndim,
                              max_size=ndim) if ndim else st.just([]))
    x = np.random.default_rng(0).integers(-3, 4, size=shape).astype(dtype)
    ufunc = {"reduce_sum": np.add, "reduce_max": np.maximum, "reduce_min": np.minimum,
             "reduce_prod": np.multiply}[name]
    expected = ufunc.reduce(x, axis=tuple(axes), dtype=dtype) if axes else x
    fn = getattr(lax, name)
    assert_same(traced(lambda v: fn(v, tuple(axes)), x), expected)
    assert ftx.eval_shape(lambda v: fn(v, tuple(axes)), x).shape == np.shape(expected)


# --------------------------------------------------------------------------- cumulative

@pytest.mark.parametrize("name, ufunc", [("cumsum", np.add), ("cumprod", np.multiply),
                                         ("cummax", np.maximum), ("cummin", np.minimum),
                                         ("cumlogsumexp", np.logaddexp)])
@pytest.mark.parametrize("axis, reverse", [(0, False), (1, True), (-1, False)])
def test_cumulative_against_numpy_accumulate(name, ufunc, axis, reverse):
    x = np.random.default_rng(1).standard_normal((3, 4))
    if reverse:
        expected = np.flip(ufunc.accumulate(np.flip(x, axis), axis=axis), axis)
    else:
        expected = ufunc.accumulate(x, axis=axis)
    fn = getattr(lax, name)
    assert_same(fn(x, axis, reverse), expected)
    assert_same(traced(lambda v: fn(v, axis, reverse), x), expected)


def test_cumulative_params_and_errors():
    jaxpr = ftx.make_jaxpr(lambda v: lax.cumsum(v, -1, reverse=True))(np.ones((2, 3), np.int32))
    assert "cumsum[axis=1, reverse=True]" in str(jaxpr)
    assert jaxpr.out_avals[0].dtype == np.int32  # the primitive keeps int32 (NumPy would widen)
    with pytest.raises(ValueError, match="cumsum: axis 2 is out of bounds"):
        lax.cumsum(np.ones((2, 3)), 2)
    with pytest.raises(TypeError, match="cumlogsumexp: operand dtype must be floating"):
        ftx.make_jaxpr(lambda v: lax.cumlogsumexp(v))(np.ones(3, np.int32))


def test_cumlogsumexp_does_not_overflow():
    x = np.array([1000.0, 1000.0, -1000.0])
    out = traced(lambda v: lax.cumlogsumexp(v), x)
    np.testing.assert_allclose(out, [1000.0, 1000.0 + np.log(2), 1000.0 + np.log(2)])


# --------------------------------------------------------------------------- dot_general

def test_dot_general_output_order_is_batch_then_lhs_free_then_rhs_free():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((5, 2, 3, 4)), rng.standard_normal((4, 6, 2))
    dims = (((3,), (0,)), ((1,), (2,)))  # contract a3 with b0; batch a1 with b2
    out = traced(lambda x, y: lax.dot_general(x, y, dims), a, b)
    assert_same(out, np.einsum("pbqk,krb->bpqr", a, b))
    jaxpr = ftx.make_jaxpr(lambda x, y: lax.dot_general(x, y, dims))(a, b)
    assert ("dot_general[dimension_numbers=(((3,), (0,)), ((1,), (2,))), "
            "preferred_element_type=None]") in str(jaxpr)


def test_dot_general_errors_name_both_shapes():
    a, b = np.ones((3, 4), np.float32), np.ones((5, 2), np.float32)
    with pytest.raises(ValueError, match=r"lhs f32\[3,4\], rhs f32\[5,2\]"):
        ftx.make_jaxpr(lambda x, y: lax.dot_general(x, y, (((1,), (0,)), ((), ()))))(a, b)
    with pytest.raises(TypeError, match=r"dtypes must match, got \(f32\[3,4\], f64\[4\]\)"):
        ftx.make_jaxpr(lambda x, y: lax.dot(x, y))(a, np.ones(4))
    with pytest.raises(ValueError, match="both contracting and batch"):
        ftx.make_jaxpr(lambda x, y: lax.dot_general(x, y, (((0,), (0,)), ((0,), (0,)))))(a, a)
    with pytest.raises(ValueError, match="out of bounds"):
        ftx.make_jaxpr(lambda x, y: lax.dot_general(x, y, (((2,), (0,)), ((), ()))))(a, a)
    with pytest.raises(TypeError, match="dimension_numbers"):
        lax.dot_general(a, a, ((1,), (0,)))


def test_preferred_element_type_accumulates_wider():
    a = np.full((2, 64), 100, np.int8)
    out = traced(lambda x, y: lax.dot(x, y, preferred_element_type=np.int32), a, a.T.copy())
    assert_same(out, np.full((2, 2), 64 * 100 * 100, np.int32))


def test_dot_and_batch_matmul():
    rng = np.random.default_rng(3)
    m, v = rng.standard_normal((3, 4)), rng.standard_normal(4)
    assert_same(traced(lax.dot, m, v), m @ v)
    assert_same(traced(lax.dot, v, v), np.dot(v, v))
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 5))
    assert_same(traced(lax.batch_matmul, a, b), a @ b)
    with pytest.raises(TypeError, match="dot: operands must be vectors or matrices"):
        lax.dot(a, b)
    with pytest.raises(ValueError, match="batch_matmul"):
        lax.batch_matmul(m, b)


def test_dot_general_of_bools_and_empty_contractions():
    a = np.array([[True, False], [False, False]])
    assert_same(traced(lambda x: lax.dot(x, x), a), a @ a)
    z, w = np.zeros((3, 0), np.float32), np.zeros((0, 2), np.float32)
    assert_same(traced(lax.dot, z, w), np.zeros((3, 2), np.float32))


@settings(max_examples=30, deadline=None)
@given(batch=st.lists(st.integers(1, 3), max_size=2), lfree=st.lists(st.integers(1, 3), max_size=2),
       rfree=st.lists(st.integers(1, 3), max_size=2), contract=st.lists(st.integers(0, 3), max_size=2),
       data=st.data())
def test_dot_general_matches_einsum_for_random_dimension_numbers(batch, lfree, rfree, contract, data):
    # Label every axis, then shuffle each operand's axes to get arbitrary dimension numbers.
    letters = iter("abcdefghij")
    b_l, lf_l, rf_l, c_l = ([next(letters) for _ in g] for g in (batch, lfree, rfree, contract))
    sizes = dict(zip(b_l + lf_l + rf_l + c_l, batch + lfree + rfree + contract))
    lhs_labels = data.draw(st.permutations(b_l + lf_l + c_l))
    rhs_labels = data.draw(st.permutations(b_l + rf_l + c_l))
    rng = np.random.default_rng(4)
    lhs = rng.standard_normal([sizes[c] for c in lhs_labels])
    rhs = rng.standard_normal([sizes[c] for c in rhs_labels])
    dims = ((tuple(lhs_labels.index(c) for c in c_l), tuple(rhs_labels.index(c) for c in c_l)),
            (tuple(lhs_labels.index(c) for c in b_l), tuple(rhs_labels.index(c) for c in b_l)))
    lf_order = [c for c in lhs_labels if c in lf_l]
    rf_order = [c for c in rhs_labels if c in rf_l]
    spec = f"{''.join(lhs_labels)},{''.join(rhs_labels)}->{''.join(b_l + lf_order + rf_order)}"
    assert_same(traced(lambda x, y: lax.dot_general(x, y, dims), lhs, rhs),
                np.einsum(spec, lhs, rhs))


# --------------------------------------------------------------------------- sort

def test_sort_puts_nans_last_and_permutes_every_operand_alike():
    keys = np.array([3.0, np.nan, 1.0, 2.0, np.nan, -1.0])
    vals = np.arange(6, dtype=np.int32)
    k, v = traced(lambda a, b: lax.sort((a, b)), keys, vals)
    assert_same(k, np.sort(keys))
    assert_same(v, np.array([5, 2, 3, 0, 1, 4], np.int32))  # stable: the two NaNs keep order


def test_sort_by_two_keys_is_lexicographic_and_stable():
    a = np.array([1, 0, 1, 0, 1, 0], np.int32)
    b = np.array([2.0, 2.0, 1.0, 3.0, 1.0, 2.0])
    v = np.arange(6, dtype=np.int64)
    outs = traced(lambda x, y, z: lax.sort((x, y, z), num_keys=2), a, b, v)
    order = np.lexsort((b, a))  # primary a, then b; lexsort is stable
    for out, operand in zip(outs, (a, b, v)):
        assert_same(out, operand[order])
    jaxpr = ftx.make_jaxpr(lambda x, y, z: lax.sort((x, y, z), num_keys=2))(a, b, v)
    assert "sort[dimension=0, is_stable=True, num_keys=2]" in str(jaxpr)


def test_sort_along_a_chosen_dimension_and_key_val():
    x = np.random.default_rng(5).integers(0, 4, (4, 3)).astype(np.int32)
    v = np.arange(12.0).reshape(4, 3)
    k, w = traced(lambda a, b: lax.sort_key_val(a, b, dimension=0), x, v)
    order = np.argsort(x, axis=0, kind="stable")
    assert_same(k, np.take_along_axis(x, order, 0))
    assert_same(w, np.take_along_axis(v, order, 0))


def test_sort_errors():
    with pytest.raises(ValueError, match=r"sort: operands must all have the same shape, got \(f64\[3\], f64\[4\]\)"):
        ftx.make_jaxpr(lambda a, b: lax.sort((a, b)))(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="num_keys"):
        ftx.make_jaxpr(lambda a: lax.sort((a,), num_keys=2))(np.ones(3))
    with pytest.raises(ValueError, match="sort: axis 1 is out of bounds"):
        lax.sort(np.ones(3), dimension=1)


def test_top_k_is_descending_with_ties_in_index_order():
    x = np.array([[1.0, 3.0, 3.0, 2.0, -1.0], [0.0, 0.0, 5.0, np.nan, 1.0]])
    values, indices = traced(lambda v: lax.top_k(v, 3), x)
    assert_same(values, np.array([[3.0, 3.0, 2.0], [np.nan, 5.0, 1.0]]))
    assert_same(indices, np.array([[1, 2, 3], [3, 2, 4]], np.int32))
    with pytest.raises(ValueError, match="top_k: k=6"):
        lax.top_k(x, 6)
