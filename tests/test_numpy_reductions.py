"""ftx.numpy's reductions, statistics, cumulative and sorting functions, and
ftx.scipy.special, traced (make_jaxpr -> eval_jaxpr) against NumPy as the oracle:
values, result dtypes and shapes, over random shapes, axes, keepdims and dtypes.
"""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import ftx
from ftx.core import check_jaxpr, eval_jaxpr
from ftx.core.errors import ConcretizationTypeError
from ftx.numpy import _reductions as R
from ftx.numpy import _sorting as S
from ftx.scipy import special as sp
from ftx.tree_util import tree_leaves

DTYPES = [np.bool_, np.uint8, np.int32, np.int64, np.float16, np.float32, np.float64]


def traced(fn, *args):
    """``fn(*args)`` recorded by make_jaxpr, type-checked, and run by the reference interpreter."""
    jaxpr = ftx.make_jaxpr(fn)(*args)
    check_jaxpr(jaxpr)
    outs = eval_jaxpr(jaxpr, *tree_leaves(args))
    return outs[0] if len(outs) == 1 else tuple(outs)


def assert_same(actual, expected, rtol=1e-6):
    for a, e in zip(tree_leaves(actual), tree_leaves(expected)):
        a, e = np.asarray(a), np.asarray(e)
        assert a.shape == e.shape, (a.shape, e.shape)
        assert a.dtype == e.dtype, (a.dtype, e.dtype)
        if a.dtype.kind in "fc":
            tol = 3e-3 if a.dtype == np.float16 else rtol
            np.testing.assert_allclose(a, e, rtol=tol, atol=tol * 1e-3, equal_nan=True)
        else:
            np.testing.assert_array_equal(a, e)


def sample(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "b":
        return rng.random(shape) < 0.5
    if np.dtype(dtype).kind in "iu":
        return rng.integers(0 if np.dtype(dtype).kind == "u" else -4, 5, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


@st.composite
def shapes_and_axes(draw, min_dims=0):
    shape = draw(st.lists(st.integers(1, 4), min_size=min_dims, max_size=3))
    ndim = len(shape)
    choices = [st.none()]
    if ndim:
        choices.append(st.integers(-ndim, ndim - 1))
        choices.append(st.lists(st.integers(-ndim, ndim - 1), unique_by=lambda a: a % ndim,
                                max_size=ndim).map(tuple))
    return tuple(shape), draw(st.one_of(*choices))


# --------------------------------------------------------------------------- hypothesis sweeps

REDUCTIONS = ["sum", "prod", "mean", "var", "std", "max", "min", "any", "all", "count_nonzero",
              "nansum", "nanmean", "nanmax", "median"]


@settings(max_examples=30, deadline=None)
@given(case=shapes_and_axes(), keepdims=st.booleans(), dtype=st.sampled_from(DTYPES),
       name=st.sampled_from(REDUCTIONS))
def test_reductions_match_numpy(case, keepdims, dtype, name):
    shape, axis = case
    if name == "median" and axis == ():
        axis = None  # np.median does not accept an empty axis tuple
    x = sample(shape, dtype)
    ref = getattr(np, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = ref(x, axis=axis, keepdims=keepdims)
        assert_same(traced(lambda v: getattr(R, name)(v, axis=axis, keepdims=keepdims), x), expected)


@settings(max_examples=30, deadline=None)
@given(case=shapes_and_axes(min_dims=1), dtype=st.sampled_from(DTYPES),
       name=st.sampled_from(["argmax", "argmin", "cumsum", "cumprod", "nanargmax"]),
       keepdims=st.booleans())
def test_single_axis_functions_match_numpy(case, dtype, name, keepdims):
    shape, axis = case
    if isinstance(axis, tuple):
        axis = axis[0] if axis else None
    x = sample(shape, dtype)
    kwargs = {"keepdims": keepdims} if name.startswith(("arg", "nanarg")) else {}
    expected = getattr(np, name)(x, axis=axis, **kwargs)
    assert_same(traced(lambda v: getattr(R, name)(v, axis=axis, **kwargs), x), expected)


@settings(max_examples=30, deadline=None)
@given(case=shapes_and_axes(min_dims=1), dtype=st.sampled_from([np.int32, np.float32, np.float64]),
       q=st.sampled_from([0.0, 0.3, 0.5, 1.0, [0.25, 0.75], 1]), keepdims=st.booleans())
def test_quantile_matches_numpy(case, dtype, q, keepdims):
    shape, axis = case
    if axis == ():
        axis = None
    x = sample(shape, dtype)
    expected = np.quantile(x, q, axis=axis, keepdims=keepdims)
    assert_same(traced(lambda v: R.quantile(v, q, axis=axis, keepdims=keepdims), x), expected)


@settings(max_examples=30, deadline=None)
@given(case=shapes_and_axes(min_dims=1), dtype=st.sampled_from([np.bool_, np.int32, np.float64]),
       data=st.data())
def test_where_masks_broadcast_like_numpy(case, dtype, data):
    shape, axis = case
    x = sample(shape, dtype)
    # The mask may have fewer (broadcast) dimensions than x.
    mask_shape = shape[data.draw(st.integers(0, len(shape))):]
    mask = np.random.default_rng(1).random(mask_shape) < 0.7
    for name in ("sum", "prod", "mean", "any", "all"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = getattr(np, name)(x, axis=axis, where=mask)
            assert_same(traced(lambda v, m: getattr(R, name)(v, axis=axis, where=m), x, mask),
                        expected)
    expected = np.max(x, axis=axis, where=mask, initial=-7)
    assert_same(traced(lambda v, m: R.max(v, axis=axis, where=m, initial=-7), x, mask), expected)


# --------------------------------------------------------------------------- result dtypes

@pytest.mark.parametrize("dtype", DTYPES)
def test_result_dtypes_follow_numpy(dtype):
    x = sample((2, 3), dtype)
    for name in ("sum", "prod", "mean", "var", "cumsum", "cumprod", "count_nonzero", "median",
                 "nansum", "nanmean", "argmax"):
        if name in ("var",) and dtype == np.bool_:
            continue
        expected = getattr(np, name)(x, axis=0)
        out = ftx.eval_shape(lambda v: getattr(R, name)(v, axis=0), x)
        assert (out.shape, out.dtype) == (expected.shape, expected.dtype), name


def test_python_scalars_and_weak_inputs_become_arrays_as_in_numpy():
    # np.sum(3.0) is float64 and np.mean(2) is float64; a traced Python float is weak but
    # NumPy's reductions convert it to a (strong) array.
    assert ftx.eval_shape(R.sum, 3.0).dtype == np.float64
    assert ftx.eval_shape(R.mean, 2).dtype == np.float64
    assert_same(traced(lambda: R.sum([1, 2, 3])), np.int64(6))


def test_jaxpr_of_sum_of_int32_widens_first():
    jaxpr = ftx.make_jaxpr(lambda v: R.sum(v, axis=1))(np.ones((2, 3), np.int32))
    assert [e.primitive.name for e in jaxpr.eqns] == ["convert_element_type", "reduce_sum"]
    assert "reduce_sum[axes=(1,)]" in str(jaxpr)
    assert jaxpr.out_avals[0].dtype == np.int64


def test_mean_of_float16_accumulates_in_float32():
    x = np.full(4096, 0.1, np.float16)
    out = traced(R.mean, x)
    assert out.dtype == np.float16 and out == np.mean(x)


# --------------------------------------------------------------------------- NaN handling

def test_nan_functions_ignore_nans():
    x = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan], [2.0, -1.0, np.nan]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in ("nansum", "nanprod", "nanmean", "nanvar", "nanstd", "nanmax", "nanmin",
                     "nancumsum", "nancumprod"):
            assert_same(traced(lambda v: getattr(R, name)(v, axis=1), x), getattr(np, name)(x, axis=1))
        assert_same(traced(lambda v: R.nanvar(v, axis=1, ddof=2), x), np.nanvar(x, axis=1, ddof=2))


def test_nanargmax_of_an_all_nan_slice_is_minus_one():
    # NumPy raises (which needs concrete values); like JAX, the traced version returns -1.
    x = np.array([[1.0, np.nan], [np.nan, np.nan]])
    assert_same(traced(lambda v: R.nanargmax(v, axis=1), x), np.array([0, -1]))


def test_median_and_quantile_of_slices_with_nans_are_nan():
    x = np.array([[1.0, np.nan, 3.0, 0.0], [4.0, 2.0, 1.0, 3.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same(traced(lambda v: R.median(v, axis=1), x), np.median(x, axis=1))
        assert_same(traced(lambda v: R.percentile(v, [10, 50], axis=1), x),
                    np.percentile(x, [10, 50], axis=1))


# --------------------------------------------------------------------------- other functions

def test_average_with_weights_and_returned():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((3, 4, 2)), rng.uniform(0.5, 2, (4, 3))
    assert_same(traced(lambda a, b: R.average(a, axis=(1, 0), weights=b, returned=True), x, w),
                np.average(x, axis=(1, 0), weights=w, returned=True))
    with pytest.raises(TypeError, match="Axis must be specified"):
        ftx.make_jaxpr(lambda a, b: R.average(a, weights=b))(x, w)


def test_diff_ediff1d_trapezoid():
    x = np.array([[1, 4, 9, 16], [2, 3, 5, 7]], np.int8)
    assert_same(traced(lambda v: R.diff(v, n=2, prepend=0), x), np.diff(x, n=2, prepend=0))
    assert_same(traced(lambda v: R.diff(v > 3, axis=0), x), np.diff(x > 3, axis=0))
    assert_same(traced(lambda v: R.ediff1d(v, to_begin=[-1, -2]), x), np.ediff1d(x, to_begin=[-1, -2]))
    t = np.array([0.0, 0.5, 2.0, 2.5])
    assert_same(traced(lambda y, s: R.trapezoid(y, s), x, t), np.trapezoid(x, t))
    with pytest.raises(TypeError, match="same_kind"):
        ftx.make_jaxpr(lambda v: R.ediff1d(v, to_end=0.5))(x)


def test_cumulative_sum_include_initial():
    x = np.array([[1, 2], [3, 4]], np.int32)
    assert_same(traced(lambda v: R.cumulative_sum(v, axis=0, include_initial=True), x),
                np.cumulative_sum(x, axis=0, include_initial=True))
    with pytest.raises(ValueError, match="axis"):
        ftx.make_jaxpr(lambda v: R.cumulative_prod(v))(x)


# --------------------------------------------------------------------------- errors

def test_bad_axes_raise_numpy_errors():
    x = np.ones((2, 3))
    with pytest.raises(np.exceptions.AxisError, match="sum: axis 2 is out of bounds"):
        ftx.make_jaxpr(lambda v: R.sum(v, axis=2))(x)
    with pytest.raises(ValueError, match="repeated axis"):
        ftx.make_jaxpr(lambda v: R.mean(v, axis=(0, -2)))(x)


def test_reductions_without_identity_need_initial():
    empty = np.ones((0, 3))
    with pytest.raises(ValueError, match=r"max: zero-size array \(shape \(0, 3\)\) to reduction "
                                         r"operation maximum which has no identity"):
        ftx.make_jaxpr(lambda v: R.max(v, axis=0))(empty)
    assert_same(traced(lambda v: R.max(v, axis=0, initial=1.5), empty),
                np.max(empty, axis=0, initial=1.5))
    with pytest.raises(ValueError, match="to use a where mask one has to specify 'initial'"):
        ftx.make_jaxpr(lambda v: R.min(v, where=v > 0))(np.ones(3))
    with pytest.raises(ValueError, match="argmax of an empty sequence"):
        ftx.make_jaxpr(lambda v: R.argmax(v))(np.ones(0))


def test_unsupported_and_static_arguments():
    x = np.ones((2, 3))
    with pytest.raises(NotImplementedError, match="ftx.numpy.sum: the out= argument is not supported"):
        ftx.make_jaxpr(lambda v: R.sum(v, out=v))(x)
    with pytest.raises(NotImplementedError, match="method='linear'"):
        ftx.make_jaxpr(lambda v: R.quantile(v, 0.5, method="nearest"))(x)
    with pytest.raises(ConcretizationTypeError, match="quantile: q must be known statically"):
        ftx.make_jaxpr(lambda v, q: R.quantile(v, q))(x, 0.5)
    with pytest.raises(ValueError, match="Quantiles must be in the range"):
        ftx.make_jaxpr(lambda v: R.quantile(v, 1.5))(x)
    with pytest.raises(ValueError, match="Percentiles must be in the range"):
        ftx.make_jaxpr(lambda v: R.percentile(v, [-1, 50]))(x)
    with pytest.raises(ConcretizationTypeError, match="ddof"):
        ftx.make_jaxpr(lambda v, d: R.var(v, ddof=d))(x, 1)
    with pytest.raises(TypeError, match="complex input"):
        ftx.make_jaxpr(lambda v: R.max(v))(x + 1j)


# --------------------------------------------------------------------------- sorting

def test_argsort_is_stable_in_eager_and_traced_modes():
    x = np.array([2, 1, 2, 1, 0, 2, 1] * 5, np.int32)  # long enough for NumPy's introsort
    expected = np.argsort(x, kind="stable")
    assert_same(S.argsort(x), expected)
    assert_same(traced(S.argsort, x), expected)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 8), vshape=st.lists(st.integers(1, 3), max_size=2),
       side=st.sampled_from(["left", "right"]), dtype=st.sampled_from([np.int32, np.float64]),
       nans=st.booleans())
def test_searchsorted_matches_numpy(n, vshape, side, dtype, nans):
    rng = np.random.default_rng(n)
    a = np.sort(rng.integers(-3, 4, n).astype(dtype))
    v = rng.integers(-4, 5, vshape).astype(dtype)
    if nans and dtype == np.float64:
        a[-1] = np.nan
        v.reshape(-1)[0] = np.nan
    assert_same(traced(lambda x, y: S.searchsorted(x, y, side=side), a, v),
                np.searchsorted(a, v, side=side))


def test_lexsort_sorts_by_the_last_key_first():
    surnames = np.array([3, 1, 2, 1, 3], np.int32)
    firsts = np.array([0.5, 0.2, 0.1, 0.1, 0.4])
    assert_same(traced(lambda a, b: S.lexsort((a, b)), firsts, surnames),
                np.lexsort((firsts, surnames)))


def test_unique_with_size_pads_like_jax():
    x = np.array([3, 1, 3, 2, 1], np.int32)
    values, index, inverse, counts = traced(
        lambda v: S.unique(v, return_index=True, return_inverse=True, return_counts=True, size=5),
        x)
    assert_same(values, np.array([1, 2, 3, 1, 1], np.int32))  # padded with the smallest value
    assert_same(index, np.array([1, 3, 0, 0, 0]))
    assert_same(inverse, np.array([2, 0, 2, 1, 0]))
    assert_same(counts, np.array([2, 1, 2, 0, 0]))
    assert_same(traced(lambda v: S.unique(v, size=2, fill_value=-1), x), np.array([1, 2], np.int32))
    assert_same(S.unique(x, size=4, fill_value=9), np.array([1, 2, 3, 9], np.int32))


def test_unique_of_traced_data_needs_size():
    with pytest.raises(ConcretizationTypeError, match="pass size="):
        ftx.make_jaxpr(S.unique)(np.ones(3))
    # Concrete data closed over by the traced function needs no size.
    const = np.array([2.0, np.nan, 2.0, np.nan])
    assert_same(traced(lambda: S.unique(const)), np.unique(const))


# --------------------------------------------------------------------------- tracer methods

def test_array_methods_use_these_functions():
    x = sample((3, 4), np.float32)
    assert_same(traced(lambda v: v.sum(axis=0), x), x.sum(axis=0))
    assert_same(traced(lambda v: v.mean(), x), x.mean())
    assert_same(traced(lambda v: v.argsort(axis=0), x), np.argsort(x, axis=0, kind="stable"))
    assert_same(traced(lambda v: v.cumsum(), x), x.cumsum())


# --------------------------------------------------------------------------- scipy.special

def test_logsumexp_is_stable_and_supports_weights_and_signs():
    x = np.array([[1000.0, 1000.0], [-1000.0, -np.inf]])
    assert_same(traced(lambda v: sp.logsumexp(v, axis=1), x),
                np.array([1000.0 + np.log(2), -1000.0]))
    b = np.array([1.0, -2.0])
    out, sign = traced(lambda v, w: sp.logsumexp(v, axis=1, b=w, return_sign=True),
                       np.zeros((1, 2)), b)
    assert_same(out, np.array([0.0]))  # log|1 - 2|
    assert_same(sign, np.array([-1.0]))
    assert_same(traced(lambda v: sp.logsumexp(v, b=np.array([0.0, 1.0])), np.array([np.inf, 0.0])),
                np.float64(0.0))


def test_softmax_and_log_softmax():
    x = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]], np.float32)
    s = traced(lambda v: sp.softmax(v, axis=1), x)
    np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=1e-6)
    assert s.dtype == np.float32
    # log_softmax stays finite where softmax underflows to 0.
    z = x.astype(np.float64) - x.max(axis=1, keepdims=True)
    expected = (z - np.log(np.exp(z).sum(axis=1, keepdims=True))).astype(np.float32)
    assert_same(traced(lambda v: sp.log_softmax(v, axis=1), x), expected)


def test_xlogy_xlog1py_entr_limits():
    x = np.array([0.0, 0.0, 2.0, 0.0])
    y = np.array([0.0, np.nan, 3.0, 5.0])
    assert_same(traced(sp.xlogy, x, y), np.array([0.0, np.nan, 2 * np.log(3.0), 0.0]))
    assert_same(traced(sp.xlog1py, x, y - 1), np.array([0.0, np.nan, 2 * np.log(3.0), 0.0]))
    assert_same(traced(sp.entr, np.array([0.0, -1.0, 1.0])), np.array([0.0, -np.inf, -0.0]))
    assert_same(sp.expit(np.array([0, 1], np.int32)), np.array([0.5, 1 / (1 + np.exp(-1))]))
