"""ftx.lax slicing primitives against NumPy and against element-by-element loop oracles."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import ftx
from ftx import lax
from ftx.core import check_jaxpr, eval_jaxpr
from ftx.core.avals import ShapedArray
from ftx.lax import slicing

SETTINGS = settings(max_examples=30, deadline=None)


def run_traced(fn, *args):
    """fn staged to a jaxpr (type-checked) and run by the reference interpreter."""
    jaxpr = ftx.make_jaxpr(fn)(*args)
    check_jaxpr(jaxpr)
    (out,) = eval_jaxpr(jaxpr, *args)
    return out


shapes = st.lists(st.integers(0, 4), min_size=1, max_size=3).map(tuple)


# --------------------------------------------------------------------------- slice

@st.composite
def slice_cases(draw):
    shape = draw(shapes)
    starts, limits, strides = [], [], []
    for n in shape:
        a, b = sorted([draw(st.integers(0, n)), draw(st.integers(0, n))])
        starts.append(a), limits.append(b), strides.append(draw(st.integers(1, 3)))
    return shape, starts, limits, strides


@SETTINGS
@given(slice_cases())
def test_slice_matches_numpy_basic_slicing(case):
    shape, starts, limits, strides = case
    x = np.arange(int(np.prod(shape))).reshape(shape)
    expected = x[tuple(slice(a, b, s) for a, b, s in zip(starts, limits, strides))]
    np.testing.assert_array_equal(lax.slice(x, starts, limits, strides), expected)
    out = run_traced(lambda x: lax.slice(x, starts, limits, strides), x)
    np.testing.assert_array_equal(out, expected)


def test_slice_prints_its_params_and_drops_unit_strides():
    jaxpr = ftx.make_jaxpr(lambda x: lax.slice(x, (1, 0), (3, 4), (1, 1)))(np.zeros((4, 4)))
    assert "slice[start_indices=(1, 0), limit_indices=(3, 4), strides=None]" in str(jaxpr)


@pytest.mark.parametrize("starts, limits, strides, words", [
    ((0,), (2,), None, ["one entry per axis", "f64[4,4]"]),
    ((0, 3), (2, 2), None, ["axis 1", "start 3", "limit 2"]),
    ((0, 0), (2, 5), None, ["limit 5"]),
    ((0, 0), (2, 2), (1, 0), ["strides must be positive"]),
])
def test_slice_abstract_eval_errors(starts, limits, strides, words):
    with pytest.raises(ValueError) as e:
        slicing.slice_p.abstract_eval(ShapedArray((4, 4), np.float64), start_indices=starts,
                                      limit_indices=limits, strides=strides)
    assert "slice" in str(e.value) and all(w in str(e.value) for w in words)


def test_slice_in_dim_and_index_in_dim():
    x = np.arange(24).reshape(2, 3, 4)
    np.testing.assert_array_equal(lax.slice_in_dim(x, 1, None, axis=-1), x[:, :, 1:])
    np.testing.assert_array_equal(lax.slice_in_dim(x, -2, 3, stride=1, axis=1), x[:, -2:3])
    np.testing.assert_array_equal(lax.slice_in_dim(x, 0, 4, stride=2, axis=2), x[:, :, ::2])
    np.testing.assert_array_equal(lax.index_in_dim(x, -1, axis=1), x[:, -1:])
    np.testing.assert_array_equal(lax.index_in_dim(x, 2, axis=2, keepdims=False), x[:, :, 2])
    with pytest.raises(IndexError, match="index_in_dim: index 3 is out of bounds for axis 1"):
        lax.index_in_dim(x, 3, axis=1)
    with pytest.raises(ValueError, match="slice_in_dim: axis 3 is out of bounds"):
        lax.slice_in_dim(x, 0, 1, axis=3)


# --------------------------------------------------------------------------- dynamic_slice

@SETTINGS
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(-7, 7), st.integers(0, 5)),
                min_size=1, max_size=3))
def test_dynamic_slice_clamps_starts_so_the_slice_fits(axes):
    shape = tuple(n for n, _, _ in axes)
    sizes = tuple(min(size, n) for n, _, size in axes)
    starts = [s for _, s, _ in axes]
    x = np.arange(int(np.prod(shape))).reshape(shape)
    clamped = [min(max(s, 0), n - size) for s, n, size in zip(starts, shape, sizes)]
    expected = x[tuple(slice(c, c + size) for c, size in zip(clamped, sizes))]
    np.testing.assert_array_equal(lax.dynamic_slice(x, starts, sizes), expected)
    traced_starts = [np.int32(s) for s in starts]
    out = run_traced(lambda x, *s: lax.dynamic_slice(x, s, sizes), x, *traced_starts)
    np.testing.assert_array_equal(out, expected)


def test_dynamic_slice_in_dim_and_index_in_dim_with_traced_index():
    x = np.arange(12.0).reshape(3, 4)
    out = run_traced(lambda x, i: lax.dynamic_slice_in_dim(x, i, 2, axis=1), x, np.int64(1))
    np.testing.assert_array_equal(out, x[:, 1:3])
    out = run_traced(lambda x, i: lax.dynamic_index_in_dim(x, i, axis=0, keepdims=False),
                     x, np.int64(7))
    np.testing.assert_array_equal(out, x[2])  # clamped to the last row
    jaxpr = ftx.make_jaxpr(lambda x, i: lax.dynamic_slice(x, (i, 0), (2, 4)))(x, 0)
    assert "dynamic_slice[slice_sizes=(2, 4)]" in str(jaxpr)


def test_dynamic_slice_abstract_eval_errors():
    x = ShapedArray((3, 4), np.float32)
    i = ShapedArray((), np.int32)
    with pytest.raises(ValueError, match=r"dynamic_slice: needs one start index per axis of f32\[3,4\]"):
        slicing.dynamic_slice_p.abstract_eval(x, i, slice_sizes=(1, 1))
    with pytest.raises(TypeError, match="dynamic_slice: start indices must be integer scalars"):
        slicing.dynamic_slice_p.abstract_eval(x, i, ShapedArray((), np.float32), slice_sizes=(1, 1))
    with pytest.raises(TypeError, match="integer scalars"):
        slicing.dynamic_slice_p.abstract_eval(x, i, ShapedArray((2,), np.int32), slice_sizes=(1, 1))
    with pytest.raises(ValueError, match=r"slice_sizes \(1, 5\)"):
        slicing.dynamic_slice_p.abstract_eval(x, i, i, slice_sizes=(1, 5))


# --------------------------------------------------------------------------- dynamic_update_slice

@SETTINGS
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(-7, 7), st.integers(0, 5)),
                min_size=1, max_size=3))
def test_dynamic_update_slice_clamps_and_never_writes_its_input(axes):
    shape = tuple(n for n, _, _ in axes)
    ushape = tuple(min(size, n) for n, _, size in axes)
    starts = [s for _, s, _ in axes]
    x = np.zeros(shape)
    update = np.arange(1.0, 1 + int(np.prod(ushape))).reshape(ushape)
    expected = x.copy()
    clamped = [min(max(s, 0), n - u) for s, n, u in zip(starts, shape, ushape)]
    expected[tuple(slice(c, c + u) for c, u in zip(clamped, ushape))] = update
    np.testing.assert_array_equal(lax.dynamic_update_slice(x, update, starts), expected)
    assert not x.any()
    out = run_traced(lambda x, u, *s: lax.dynamic_update_slice(x, u, s), x, update,
                     *[np.int64(s) for s in starts])
    np.testing.assert_array_equal(out, expected)


def test_dynamic_update_slice_in_dim_and_index_in_dim():
    x = np.zeros((3, 4))
    np.testing.assert_array_equal(lax.dynamic_update_slice_in_dim(x, np.ones((3, 2)), 3, axis=1),
                                  np.array([[0, 0, 1, 1]] * 3))
    expected = x.copy()
    expected[1] = [1, 2, 3, 4]
    np.testing.assert_array_equal(
        lax.dynamic_update_index_in_dim(x, np.array([1.0, 2, 3, 4]), 1, 0), expected)


def test_dynamic_update_slice_abstract_eval_errors():
    x = ShapedArray((3, 4), np.float32)
    i = ShapedArray((), np.int64)
    with pytest.raises(TypeError, match=r"update dtype must match the operand, got \(f32\[3,4\], f64\[1,1\]\)"):
        slicing.dynamic_update_slice_p.abstract_eval(x, ShapedArray((1, 1), np.float64), i, i)
    with pytest.raises(ValueError, match=r"fit inside it, got \(f32\[3,4\], f32\[4,1\]\)"):
        slicing.dynamic_update_slice_p.abstract_eval(x, ShapedArray((4, 1), np.float32), i, i)
    with pytest.raises(ValueError, match="rank"):
        slicing.dynamic_update_slice_p.abstract_eval(x, ShapedArray((1,), np.float32), i, i)


# --------------------------------------------------------------------------- gather

@st.composite
def gather_cases(draw, lo=-2, hi_extra=2):
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple))
    axis = draw(st.integers(0, len(shape) - 1))
    k = draw(st.integers(1, len(shape) - axis))
    index_shape = draw(st.lists(st.integers(0, 3), min_size=0, max_size=2).map(tuple))
    indices = [np.asarray(draw(st.lists(st.integers(lo, shape[axis + j] - 1 + hi_extra),
                                        min_size=int(np.prod(index_shape)),
                                        max_size=int(np.prod(index_shape)))),
                          dtype=draw(st.sampled_from([np.int32, np.int64]))).reshape(index_shape)
               for j in range(k)]
    return shape, axis, indices


def _gather_oracle(x, indices, axis, mode, fill):
    """Element by element: out[pre, s, post] = x[pre, i0[s], i1[s], ..., post]."""
    k = len(indices)
    index_shape = indices[0].shape
    out = np.empty(x.shape[:axis] + index_shape + x.shape[axis + k:], x.dtype)
    for pre in itertools.product(*map(range, x.shape[:axis])):
        for s in itertools.product(*map(range, index_shape)):
            pos = [int(i[s]) for i in indices]
            dims = x.shape[axis:axis + k]
            if mode == "clip":
                pos = [min(max(p, 0), n - 1) for p, n in zip(pos, dims)]
            elif not all(0 <= p < n for p, n in zip(pos, dims)):
                out[pre + s] = fill
                continue
            out[pre + s] = x[pre + tuple(pos)]
    return out


@SETTINGS
@given(gather_cases(), st.sampled_from(["clip", "fill"]))
def test_gather_matches_a_loop_oracle(case, mode):
    shape, axis, indices = case
    x = np.arange(1.0, 1 + int(np.prod(shape))).reshape(shape)
    expected = _gather_oracle(x, indices, axis, mode, np.nan)
    np.testing.assert_array_equal(lax.gather(x, *indices, axis=axis, mode=mode), expected)
    out = run_traced(lambda x, *i: lax.gather(x, *i, axis=axis, mode=mode), x, *indices)
    np.testing.assert_array_equal(out, expected)


def test_gather_is_numpy_indexing_with_consecutive_index_arrays():
    x = np.arange(60).reshape(3, 4, 5)
    i, j = np.array([[0, 3], [2, 1]]), np.array([[4, 0], [1, 1]])
    np.testing.assert_array_equal(lax.gather(x, i, j, axis=1), x[:, i, j])
    np.testing.assert_array_equal(lax.gather(x, np.int64(2), axis=2), x[:, :, 2])


@pytest.mark.parametrize("dtype, fill", [(np.float32, np.nan), (np.complex64, np.nan),
                                         (np.int32, -2**31), (np.int8, -128),
                                         (np.uint16, 2**16 - 1), (np.bool_, True)])
def test_gather_default_fill_values_are_jax_s(dtype, fill):
    x = np.ones(3, dtype)
    out = lax.gather(x, np.array([1, 3, -1]), mode="fill")
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, np.array([1, fill, fill]).astype(dtype))
    np.testing.assert_array_equal(lax.gather(x, np.array([5]), mode="fill", fill_value=0),
                                  np.zeros(1, dtype))


def test_gather_on_an_empty_axis():
    x = np.zeros((2, 0))
    np.testing.assert_array_equal(lax.gather(x, np.array([0, 1]), axis=1, mode="fill"),
                                  np.full((2, 2), np.nan))
    assert lax.gather(x, np.array([0, 1]), axis=1, mode="clip").shape == (2, 2)


def test_gather_prints_as_one_equation():
    jaxpr = ftx.make_jaxpr(lambda x, i: lax.gather(x, i, axis=1, mode="fill", fill_value=0.0))(
        np.zeros((2, 3), np.float32), np.zeros(4, np.int32))
    assert "c:f32[2,4] = gather[axis=1, mode='fill', fill_value=0.0] a b" in str(jaxpr)


@pytest.mark.parametrize("indices, kwargs, exc, words", [
    ([ShapedArray((2,), np.float32)], {}, TypeError, ["integer dtype", "f32[2]"]),
    ([ShapedArray((2,), np.int32), ShapedArray((3,), np.int32)], {}, ValueError,
     ["same shape", "i32[2], i32[3]"]),
    ([ShapedArray((2,), np.int32)] * 3, {}, ValueError, ["3 index arrays starting at axis 0",
                                                         "f32[3,4]"]),
    ([ShapedArray((2,), np.int32)], {"axis": 2}, ValueError, ["starting at axis 2"]),
    ([], {}, ValueError, ["at least one index array"]),
    ([ShapedArray((2,), np.int32)], {"mode": "drop"}, ValueError, ["'clip' or 'fill'"]),
])
def test_gather_abstract_eval_errors(indices, kwargs, exc, words):
    params = dict(axis=0, mode="clip", fill_value=None) | kwargs
    with pytest.raises(exc) as e:
        slicing.gather_p.abstract_eval(ShapedArray((3, 4), np.float32), *indices, **params)
    assert str(e.value).startswith("gather:") and all(w in str(e.value) for w in words)


# --------------------------------------------------------------------------- scatter family

_COMBINE = {"scatter_add": lambda a, b: a + b, "scatter_mul": lambda a, b: a * b,
            "scatter_min": min, "scatter_max": max}


def _scatter_oracle(name, x, updates, indices, axis, mode):
    """Apply each update in turn, element by element; out-of-range ones are dropped or clamped."""
    out = x.copy()
    k = len(indices)
    dims = x.shape[axis:axis + k]
    index_shape = indices[0].shape
    for pre in itertools.product(*map(range, x.shape[:axis])):
        for s in itertools.product(*map(range, index_shape)):
            pos = [int(i[s]) for i in indices]
            if mode == "clip":
                pos = [min(max(p, 0), n - 1) for p, n in zip(pos, dims)]
            elif not all(0 <= p < n for p, n in zip(pos, dims)):
                continue
            for post in itertools.product(*map(range, x.shape[axis + k:])):
                target = pre + tuple(pos) + post
                out[target] = _COMBINE[name](out[target], updates[pre + s + post])
    return out


@SETTINGS
@given(gather_cases(lo=-2, hi_extra=2), st.sampled_from(sorted(_COMBINE)),
       st.sampled_from(["drop", "clip"]))
def test_scatter_accumulates_duplicates_and_drops_out_of_range(case, name, mode):
    shape, axis, indices = case
    x = np.arange(1.0, 1 + int(np.prod(shape))).reshape(shape)
    k = len(indices)
    updates = np.random.default_rng(0).integers(-3, 4, size=x.shape[:axis] + indices[0].shape
                                                + x.shape[axis + k:]).astype(np.float64)
    expected = _scatter_oracle(name, x, updates, indices, axis, mode)
    fn = getattr(lax, name)
    x_before = x.copy()
    np.testing.assert_array_equal(fn(x, updates, *indices, axis=axis, mode=mode), expected)
    np.testing.assert_array_equal(x, x_before)
    out = run_traced(lambda x, u, *i: fn(x, u, *i, axis=axis, mode=mode), x, updates, *indices)
    np.testing.assert_array_equal(out, expected)


@SETTINGS
@given(gather_cases(lo=-1, hi_extra=1))
def test_scatter_writes_one_of_the_updates_for_each_hit_position(case):
    shape, axis, indices = case
    x = np.zeros(shape)
    k = len(indices)
    ushape = x.shape[:axis] + indices[0].shape + x.shape[axis + k:]
    updates = np.arange(1.0, 1 + int(np.prod(ushape))).reshape(ushape)
    out = lax.scatter(x, updates, *indices, axis=axis)
    candidates = {}
    for pre in itertools.product(*map(range, x.shape[:axis])):
        for s in itertools.product(*map(range, indices[0].shape)):
            pos = tuple(int(i[s]) for i in indices)
            if all(0 <= p < n for p, n in zip(pos, x.shape[axis:axis + k])):
                for post in itertools.product(*map(range, x.shape[axis + k:])):
                    candidates.setdefault(pre + pos + post, set()).add(updates[pre + s + post])
    for target in itertools.product(*map(range, shape)):
        assert out[target] in candidates.get(target, {0.0})
    assert not x.any()


def test_scatter_with_scalar_indices_and_bools():
    x = np.zeros((2, 3), np.int32)
    np.testing.assert_array_equal(lax.scatter_add(x, np.array([5, 7], np.int32), np.int64(1),
                                                  axis=1), [[0, 5, 0], [0, 7, 0]])
    np.testing.assert_array_equal(lax.scatter_add(x, np.array([5, 7], np.int32), np.int64(3),
                                                  axis=1), x)  # dropped
    b = np.zeros(3, bool)
    np.testing.assert_array_equal(lax.scatter_add(b, np.array([True, True]), np.array([1, 1])),
                                  [False, True, False])


@pytest.mark.parametrize("updates, indices, kwargs, exc, words", [
    (ShapedArray((2, 4), np.float64), [ShapedArray((2,), np.int32)], {}, TypeError,
     ["updates dtype must match", "f32[3,4], f64[2,4]"]),
    (ShapedArray((3, 4), np.float32), [ShapedArray((2,), np.int32)], {}, ValueError,
     ["updates must have shape (2, 4)", "f32[3,4]"]),
    (ShapedArray((2, 4), np.float32), [ShapedArray((2,), np.int32)], {"mode": "fill"}, ValueError,
     ["'drop' or 'clip'"]),
    (ShapedArray((2, 4), np.float32), [ShapedArray((2,), np.bool_)], {}, TypeError,
     ["integer dtype"]),
])
def test_scatter_abstract_eval_errors(updates, indices, kwargs, exc, words):
    params = dict(axis=0, mode="drop") | kwargs
    with pytest.raises(exc) as e:
        slicing.scatter_add_p.abstract_eval(ShapedArray((3, 4), np.float32), updates, *indices,
                                            **params)
    assert str(e.value).startswith("scatter_add:") and all(w in str(e.value) for w in words)


def test_wrappers_check_static_params():
    with pytest.raises(ValueError, match="gather: mode must be one of 'clip', 'fill'"):
        lax.gather(np.zeros(3), np.array([0]), mode="wrap")
    with pytest.raises(TypeError, match="scatter: axis must be a Python int"):
        lax.scatter(np.zeros(3), np.zeros(1), np.array([0]), axis=0.0)
    with pytest.raises(TypeError, match="fill_value must be a static scalar"):
        lax.gather(np.zeros(3), np.array([0]), mode="fill", fill_value=np.zeros(2))


def test_primitives_are_registered_with_strong_output_types():
    weak = ShapedArray((3,), np.float64, weak_type=True)
    idx = ShapedArray((2,), np.int64)
    outs = [
        slicing.slice_p.abstract_eval(weak, start_indices=(0,), limit_indices=(2,), strides=None),
        slicing.gather_p.abstract_eval(weak, idx, axis=0, mode="clip", fill_value=None),
        slicing.scatter_p.abstract_eval(weak, ShapedArray((2,), np.float64), idx, axis=0,
                                        mode="drop"),
    ]
    assert all(not o[0].weak_type for o in outs)
