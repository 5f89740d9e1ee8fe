"""NumPy indexing under tracing (x[idx], .at updates, take, nonzero ...) against NumPy itself."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import ftx
from ftx.core import check_jaxpr, eval_jaxpr
from ftx.core.errors import ConcretizationTypeError, NonConcreteBooleanIndexError
from ftx.numpy import _indexing as I
from ftx.tree_util import tree_leaves

SETTINGS = settings(max_examples=30, deadline=None)


def run_traced(fn, *args):
    """fn staged to a jaxpr (type-checked) and run by the reference interpreter (flat outputs)."""
    jaxpr = ftx.make_jaxpr(fn)(*args)
    check_jaxpr(jaxpr)
    return eval_jaxpr(jaxpr, *args)


def primitives(fn, *args):
    return [e.primitive.name for e in ftx.make_jaxpr(fn)(*args).eqns]


def assert_same(actual, expected):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype, \
        (actual.shape, actual.dtype, expected.shape, expected.dtype)
    np.testing.assert_array_equal(actual, expected)


# --------------------------------------------------------------------------- random index tuples

@st.composite
def index_cases(draw, masks=True):
    """A shape and a NumPy index for it: ints, slices, None, Ellipsis, int arrays, bool masks.

    Index arrays are drawn with shapes that broadcast to one common shape and
    values in range (negative ones included). Returns (shape, items, arrays):
    ``items`` uses ("arr", k) placeholders for the k-th entry of ``arrays``.
    """
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=4)))
    common = draw(st.sampled_from([(), (2,), (3,), (2, 1), (1, 3), (2, 3)]))
    items, arrays, d, used_ellipsis, nones = [], [], 0, False, 0
    while d < len(shape):
        kind = draw(st.sampled_from(["int", "slice", "slice", "array", "none", "ellipsis",
                                     "mask" if masks else "slice", "bool", "stop"]))
        if kind == "stop":
            break
        if kind == "none":
            if nones < 2:
                items.append(None)
                nones += 1
            continue
        if kind == "bool":
            items.append(draw(st.booleans()))
            continue
        if kind == "ellipsis":
            if not used_ellipsis:
                used_ellipsis = True
                d += draw(st.integers(0, len(shape) - d))
                items.append(Ellipsis)
            continue
        n = shape[d]
        if kind == "int":
            items.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            bound = st.none() | st.integers(-n - 2, n + 2)
            items.append(slice(draw(bound), draw(bound), draw(st.sampled_from([None, 1, 2, 3, -1, -2]))))
        elif kind == "array":
            ndim = draw(st.integers(0, len(common)))
            ashape = tuple(1 if draw(st.booleans()) else c for c in common[len(common) - ndim:])
            values = draw(st.lists(st.integers(-n, n - 1), min_size=int(np.prod(ashape)),
                                   max_size=int(np.prod(ashape))))
            arrays.append(np.asarray(values, dtype=draw(st.sampled_from([np.int64, np.int32])))
                          .reshape(ashape))
            items.append(("arr", len(arrays) - 1))
        else:  # a 1-d boolean mask over this axis
            items.append(np.asarray(draw(st.lists(st.booleans(), min_size=n, max_size=n))))
        d += 1
    return shape, items, arrays


def build(items, arrays):
    return tuple(arrays[i[1]] if isinstance(i, tuple) else i for i in items)


def numpy_or_error(fn):
    try:
        return fn(), None
    except IndexError as e:
        return None, e


@SETTINGS
@given(index_cases())
def test_getitem_matches_numpy(case):
    shape, items, arrays = case
    idx = build(items, arrays)
    x = np.arange(1, 1 + int(np.prod(shape))).reshape(shape).astype(np.float32)
    expected, error = numpy_or_error(lambda: x[idx])
    if error is not None:  # e.g. index arrays whose shapes do not broadcast: same error class
        with pytest.raises(IndexError):
            run_traced(lambda x: I.getitem(x, idx), x)
        return
    (out,) = run_traced(lambda x: I.getitem(x, idx), x)
    assert_same(out, expected)


@SETTINGS
@given(index_cases(masks=False))
def test_getitem_with_traced_index_arrays_matches_numpy(case):
    shape, items, arrays = case
    x = np.arange(1, 1 + int(np.prod(shape))).reshape(shape)
    expected, error = numpy_or_error(lambda: x[build(items, arrays)])
    if error is not None:
        return
    (out,) = run_traced(lambda x, *a: I.getitem(x, build(items, a)), x, *arrays)
    assert_same(out, expected)


@SETTINGS
@given(index_cases(), st.sampled_from(["add", "multiply", "min", "max"]))
def test_at_updates_match_numpy_ufunc_at(case, op):
    shape, items, arrays = case
    idx = build(items, arrays)
    x = np.arange(1, 1 + int(np.prod(shape))).reshape(shape).astype(np.float64)
    try:
        vshape = x[idx].shape
    except IndexError:
        return
    v = np.random.default_rng(len(items)).integers(-3, 4, size=vshape).astype(np.float64)
    expected = x.copy()
    getattr(np, {"add": "add", "multiply": "multiply", "min": "minimum", "max": "maximum"}[op]).at(
        expected, idx, v)
    (out,) = run_traced(lambda x, v: getattr(I.at(x)[idx], op)(v), x, v)
    assert_same(out, expected)
    x_before = x.copy()
    assert_same(getattr(I.at(x)[idx], op)(v), expected)  # eager, on NumPy arrays
    assert_same(x, x_before)


@SETTINGS
@given(index_cases(masks=False))
def test_at_set_a_scalar_matches_numpy_assignment(case):
    shape, items, arrays = case
    x = np.zeros(shape, np.int32)
    expected = x.copy()
    try:
        expected[build(items, arrays)] = 7
    except IndexError:
        return
    (out,) = run_traced(lambda x, *a: I.at(x)[build(items, a)].set(7), x, *arrays)
    assert_same(out, expected)


# --------------------------------------------------------------------------- graphs stay small

def test_basic_indexing_uses_slices_not_gather():
    x = np.zeros((4, 5, 6))
    names = primitives(lambda x: I.getitem(x, (1, slice(None, None, -2), None, Ellipsis)), x)
    assert "gather" not in names and set(names) <= {"reshape", "slice", "rev", "squeeze"}


def test_a_traced_scalar_index_is_a_dynamic_slice():
    names = primitives(lambda x, i: x[i], np.zeros((4, 5)), np.int32(2))
    assert "dynamic_slice" in names and "gather" not in names


def test_tracer_syntax_uses_these_functions():
    x = np.arange(12.0).reshape(3, 4)
    out, upd = run_traced(lambda x, i: (x[i, ::-1], x.at[:, i].add(1.0)), x, np.array([2, 0]))
    assert_same(out, x[[2, 0], ::-1])
    expected = x.copy()
    np.add.at(expected, (slice(None), [2, 0]), 1.0)
    assert_same(upd, expected)


# --------------------------------------------------------------------------- out-of-range semantics

def test_traced_out_of_range_index_arrays_clamp_like_jax():
    x = np.arange(5.0)
    (out,) = run_traced(lambda x, i: x[i], x, np.array([-7, 9, 1]))
    assert_same(out, np.array([0.0, 4.0, 1.0]))
    (out,) = run_traced(lambda x, i: x[i], x, np.int64(12))
    assert_same(out, np.float64(4.0))
    for i, expected in [(-7, 0.0), (-2, 3.0), (9, 4.0)]:  # concrete 0-d arrays: the same rule
        (out,) = run_traced(lambda x: I.getitem(x, np.array(i)), x)
        assert_same(out, np.float64(expected))


def test_static_out_of_range_ints_raise_like_numpy():
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 1 with size 3"):
        run_traced(lambda x: I.getitem(x, (0, 3)), np.zeros((2, 3)))
    with pytest.raises(IndexError, match="index -4 is out of bounds for axis 0"):
        run_traced(lambda x: x[-4], np.zeros(3))


def test_out_of_range_updates_are_dropped_or_clipped():
    x = np.zeros(4)
    assert_same(I.at(x)[np.array([1, 7, -9, -1])].add(1.0), np.array([0.0, 1, 0, 1]))
    assert_same(I.at(x)[9].set(5.0), x)
    assert I.at(x)[9].set(5.0) is not x
    assert_same(I.at(x)[np.array(-5)].set(5.0), x)
    assert_same(I.at(x)[np.array(-5)].set(5.0, mode="clip"), np.array([5.0, 0, 0, 0]))
    assert_same(I.at(x)[np.array(-1)].set(5.0), np.array([0.0, 0, 0, 5]))
    assert_same(I.at(x)[9].set(5.0, mode="clip"), np.array([0.0, 0, 0, 5]))
    assert_same(I.at(x)[np.array([7, -9])].add(1.0, mode="clip"), np.array([1.0, 0, 0, 1]))
    (out,) = run_traced(lambda x, i: x.at[i].set(2.0), x, np.int64(4))
    assert_same(out, x)


def test_get_modes():
    x = np.arange(4.0)
    assert_same(I.at(x)[np.array([0, 6, -1, -5])].get(mode="fill", fill_value=-1.0),
                np.array([0.0, -1, 3, -1]))
    assert_same(I.at(x)[6].get(mode="fill"), np.float64(np.nan))
    assert_same(I.at(x)[6].get(mode="clip"), np.float64(3.0))
    with pytest.raises(IndexError):
        I.at(x)[6].get()
    with pytest.raises(ValueError, match="at\\[...\\].get: mode must be"):
        I.at(x)[0].get(mode="wrap")


def test_at_works_on_numpy_arrays_and_lists_without_mutating():
    x = np.ones((2, 3))
    out = I.at(x)[0].set(5.0)
    assert isinstance(out, np.ndarray) and out.flags.writeable
    assert_same(out, np.array([[5.0, 5, 5], [1, 1, 1]]))
    assert_same(x, np.ones((2, 3)))
    out = I.at(x)[:].set(x)  # the whole array: still a fresh copy, not the values array
    out[0, 0] = 9.0
    assert x[0, 0] == 1.0
    assert_same(I.at([1, 2, 3])[1].multiply(4), np.array([1, 8, 3]))


@pytest.mark.parametrize("op, ufunc", [("subtract", np.subtract), ("divide", np.divide),
                                       ("power", np.power)])
def test_other_update_ops_match_ufunc_at(op, ufunc):
    x = np.arange(1.0, 7.0).reshape(2, 3)
    idx = ([0, 0, 1], [2, 2, 0])
    v = np.array([2.0, 3.0, 0.5])
    expected = x.copy()
    ufunc.at(expected, idx, v)
    (out,) = run_traced(lambda x, v: getattr(x.at[idx], op)(v), x, v)
    np.testing.assert_allclose(out, expected, rtol=1e-14)


def test_apply_transforms_each_indexed_element():
    x = np.arange(5.0)
    out = I.at(x)[1:4:2].apply(lambda v: v * 10)
    assert_same(out, np.array([0.0, 10, 2, 30, 4]))


def test_update_values_are_cast_and_broadcast():
    x = np.zeros((2, 3), np.int32)
    assert_same(I.at(x)[:, 1].set(2.7), np.array([[0, 2, 0], [0, 2, 0]], np.int32))
    assert_same(I.at(x)[0].add(np.array([[1, 2, 3]])), np.array([[1, 2, 3], [0, 0, 0]], np.int32))
    with pytest.raises(ValueError, match=r"at\[...\]\.add: cannot broadcast values of shape \(2,\) "
                                         r"to the indexed shape \(3,\)"):
        I.at(x)[0].add(np.ones(2))
    with pytest.raises(TypeError, match=r"at\[...\]\.divide: needs a floating"):
        I.at(x)[0].divide(2)
    with pytest.raises(ValueError, match="mode must be one of"):
        I.at(x)[0].set(1, mode="wrap")


# --------------------------------------------------------------------------- index errors

@pytest.mark.parametrize("idx, words", [
    ((0, 0, 0), ["too many indices for array", "2-dimensional", "3 were indexed"]),
    ((Ellipsis, 0, Ellipsis), ["single ellipsis"]),
    (1.5, ["only integers, slices"]),
    (np.array([0.5]), ["only integers", "float64"]),
    (np.array([True, False]), ["boolean index did not match", "size of axis is 3",
                               "boolean axis is 2"]),
    (([0, 1], slice(None), [0, 1, 2]), ["too many indices"]),
    (([0, 1], [0, 1, 2]), ["shape mismatch", "(2,) (3,)"]),
])
def test_index_errors(idx, words):
    with pytest.raises(IndexError) as e:
        run_traced(lambda x: I.getitem(x, idx), np.zeros((3, 4)))
    assert all(w in str(e.value) for w in words), str(e.value)


def test_traced_boolean_mask_raises():
    with pytest.raises(NonConcreteBooleanIndexError) as e:
        run_traced(lambda x: x[x > 0], np.ones(3))
    assert isinstance(e.value, IndexError) and "boolean indices must be concrete" in str(e.value)
    with pytest.raises(NonConcreteBooleanIndexError):
        run_traced(lambda x, m: I.at(x)[m].set(0.0), np.ones(3), np.array([True, False, True]))


def test_traced_slice_bounds_raise_a_concretization_error():
    with pytest.raises(ConcretizationTypeError, match="slice indices must have static"):
        run_traced(lambda x, i: x[i:], np.ones(3), np.int64(1))


def test_concrete_masks_and_lists_work_under_tracing():
    x = np.arange(12.0).reshape(3, 4)
    mask = x % 3 == 0
    (out,) = run_traced(lambda x: I.getitem(x, mask), x)
    assert_same(out, x[mask])
    (out,) = run_traced(lambda x: I.getitem(x, [True, False, True]), x)
    assert_same(out, x[[True, False, True]])


# --------------------------------------------------------------------------- take and friends

@SETTINGS
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.data())
def test_take_modes_match_numpy(shape, data):
    x = np.arange(1.0, 1 + int(np.prod(shape))).reshape(shape)
    axis = data.draw(st.sampled_from([None] + list(range(-len(shape), len(shape)))))
    n = x.size if axis is None else shape[axis]
    mode = data.draw(st.sampled_from(["clip", "wrap", None]))
    lo, hi = (-n, n - 1) if mode is None else (-2 * n, 2 * n)
    idx = np.asarray(data.draw(st.lists(st.integers(lo, hi), min_size=0, max_size=5)), np.int64)
    expected = np.take(x, idx, axis=axis, mode=mode or "raise")
    (out,) = run_traced(lambda x, i: I.take(x, i, axis=axis, mode=mode), x, idx)
    assert_same(out, expected)


def test_take_default_mode_fills_under_tracing_and_raises_eagerly():
    x = np.arange(3.0)
    (out,) = run_traced(lambda x: I.take(x, np.array([0, 5, -1, -4])), x)
    assert_same(out, np.array([0.0, np.nan, 2.0, np.nan]))
    with pytest.raises(IndexError):
        I.take(x, np.array([5]))
    assert_same(I.take(x, np.array([5, 1]), mode="fill", fill_value=-1.0), np.array([-1.0, 1.0]))
    with pytest.raises(NotImplementedError, match="out= argument"):
        run_traced(lambda x: I.take(x, [0], out=np.zeros(1)), x)


def test_take_along_axis_errors():
    with pytest.raises(ValueError, match="same number of dimensions"):
        run_traced(lambda x: I.take_along_axis(x, np.zeros(3, int), axis=0), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="cannot be broadcast"):
        run_traced(lambda x: I.take_along_axis(x, np.zeros((2, 1), int), axis=1), np.zeros((3, 2)))


def test_nonzero_family():
    x = np.array([[0, 2, 0], [1, 0, 3]])
    for out, expected in zip(run_traced(lambda x: I.nonzero(x, size=4, fill_value=-1), x),
                             (np.array([0, 1, 1, -1]), np.array([1, 0, 2, -1]))):
        assert_same(out, expected)
    # Concrete inputs need no size, even under a transform; eager with size= pads.
    (rows, cols) = I.nonzero(x, size=2)
    assert_same(rows, np.array([0, 1])) and assert_same(cols, np.array([1, 0]))
    jaxpr_out = ftx.make_jaxpr(lambda y: y + I.nonzero(x)[0])(np.zeros(3, np.int64))
    assert len(jaxpr_out.eqns) == 1
    with pytest.raises(ConcretizationTypeError, match="pass size="):
        run_traced(lambda x: I.nonzero(x), x)
    with pytest.raises(ValueError, match="0d arrays"):
        run_traced(lambda x: I.nonzero(x, size=1), np.float64(1.0))
    assert_same(I.argwhere(np.float64(3.0), size=2), np.zeros((2, 0), np.int64))
    assert_same(I.argwhere(np.float64(3.0)), np.argwhere(np.float64(3.0)))


def test_where_one_argument_form_is_nonzero():
    import ftx.numpy as fnp
    x = np.array([0.0, 1.0, 2.0])
    assert_same(fnp.where(x)[0], np.array([1, 2]))


def test_compress_errors():
    with pytest.raises(ConcretizationTypeError, match="pass size="):
        run_traced(lambda c, x: I.compress(c, x), np.array([True]), np.ones(1))
    with pytest.raises(IndexError, match="index 3 is out of bounds"):
        run_traced(lambda x: I.compress([0, 0, 0, 1], x), np.ones(3))
    with pytest.raises(ValueError, match="1-d"):
        run_traced(lambda x: I.compress(np.ones((2, 2), bool), x), np.ones(3))


def test_choose_and_select_errors():
    with pytest.raises(ConcretizationTypeError, match="mode='clip'"):
        run_traced(lambda i: I.choose(i, [1.0, 2.0]), np.array([0, 1]))
    with pytest.raises(ValueError, match="invalid entry in choice array"):
        run_traced(lambda a: I.choose(np.array([0, 2]), [a, a]), np.ones(2))
    with pytest.raises(TypeError, match="invalid entry 1 in condlist"):
        run_traced(lambda a: I.select([a > 0, a], [a, a]), np.ones(2))
    with pytest.raises(ValueError, match="same length"):
        run_traced(lambda a: I.select([a > 0], [a, a]), np.ones(2))
    with pytest.raises(ValueError, match="empty condition list"):
        run_traced(lambda a: I.select([], []), np.ones(2))


def test_index_constructors_match_numpy_and_accept_tracers():
    pairs = [(I.diag_indices(3, 3), np.diag_indices(3, 3)),
             (I.tril_indices(4, -1), np.tril_indices(4, -1)),
             (I.triu_indices(3, 1, 5), np.triu_indices(3, 1, 5))]
    for ours, theirs in pairs:
        for a, b in zip(ours, theirs):
            assert_same(a, b)
    seen = {}

    def f(x):
        seen["diag"] = I.diag_indices_from(x)
        seen["tril"] = I.tril_indices_from(x, 1)
        seen["triu"] = I.triu_indices_from(x)
        return x

    ftx.make_jaxpr(f)(np.zeros((3, 3)))
    for name, fn in [("diag", np.diag_indices_from), ("triu", np.triu_indices_from)]:
        for a, b in zip(seen[name], fn(np.zeros((3, 3)))):
            assert_same(a, b)
    for a, b in zip(seen["tril"], np.tril_indices_from(np.zeros((3, 3)), 1)):
        assert_same(a, b)
    with pytest.raises(ValueError, match="equal length"):
        I.diag_indices_from(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="2-d"):
        I.triu_indices_from(np.zeros(3))


def test_unravel_and_ravel_index_semantics_under_tracing():
    outs = run_traced(lambda i: I.unravel_index(i, (3, 4)), np.array([-1, 12, 5, -20]))
    # Negative indices count from the end; out-of-range ones are clipped (JAX).
    assert_same(outs[0], np.array([2, 2, 1, 0])) and assert_same(outs[1], np.array([3, 3, 1, 0]))
    with pytest.raises(ConcretizationTypeError, match="mode='wrap'"):
        run_traced(lambda i: I.ravel_multi_index((i, i), (3, 4)), np.array([0]))
    with pytest.raises(ValueError, match="length 2"):
        run_traced(lambda i: I.ravel_multi_index((i,), (3, 4), mode="clip"), np.array([0]))


def test_ix_with_concrete_mask():
    outs = run_traced(lambda i: I.ix_(i, np.array([True, False, True])), np.array([1, 0]))
    for a, b in zip(outs, np.ix_(np.array([1, 0]), np.array([True, False, True]))):
        assert_same(a, b)
    with pytest.raises(NonConcreteBooleanIndexError):
        run_traced(lambda m: I.ix_(m), np.array([True]))


def test_all_public_names_exist_and_are_documented():
    for name in I.__all__:
        obj = getattr(I, name)
        assert obj.__doc__, name
    assert tree_leaves(I.nonzero(np.array([1, 0, 1])))  # a tuple of arrays
