"""ftx.numpy shape functions under tracing against NumPy: random shapes, axes and arguments."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import ftx
from ftx.core import check_jaxpr, eval_jaxpr
from ftx.core.errors import ConcretizationTypeError
from ftx.numpy import _shape as S
from ftx.tree_util import tree_leaves

SETTINGS = settings(max_examples=30, deadline=None)
shapes = st.lists(st.integers(0, 4), min_size=0, max_size=4).map(tuple)
nonempty_shapes = st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple)


def run_traced(fn, *args):
    """fn staged to a jaxpr (type-checked) and run by the reference interpreter (flat outputs)."""
    jaxpr = ftx.make_jaxpr(fn)(*args)
    check_jaxpr(jaxpr)
    return eval_jaxpr(jaxpr, *args)


def primitives(fn, *args):
    return {e.primitive.name for e in ftx.make_jaxpr(fn)(*args).eqns}


def check(fn, np_fn, *args):
    """fn traced equals np_fn (the oracle): values, shapes and dtypes of every output leaf."""
    expected = tree_leaves(np_fn(*args))
    actual = run_traced(fn, *args)
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        a, e = np.asarray(a), np.asarray(e)
        assert a.shape == e.shape and a.dtype == e.dtype, (a.shape, a.dtype, e.shape, e.dtype)
        np.testing.assert_array_equal(a, e)


def data(shape, dtype=np.float32):
    return np.arange(1, 1 + int(np.prod(shape))).reshape(shape).astype(dtype)


# --------------------------------------------------------------------------- hypothesis

@SETTINGS
@given(shapes, st.data())
def test_reshape_with_an_inferred_axis(shape, draw):
    size = int(np.prod(shape))
    divisors = [d for d in range(1, 7) if size % d == 0] or [1]
    new = list(draw.draw(st.permutations([draw.draw(st.sampled_from(divisors)), -1])))
    if size == 0:
        new = [0, 3]
    x = data(shape)
    check(lambda x: S.reshape(x, new), lambda x: np.reshape(x, new), x)


@SETTINGS
@given(nonempty_shapes, st.data())
def test_transpose_moveaxis_swapaxes(shape, draw):
    x = data(shape)
    n = len(shape)
    perm = draw.draw(st.permutations(range(n)))
    perm = [p - n if draw.draw(st.booleans()) else p for p in perm]
    check(lambda x: S.transpose(x, perm), lambda x: np.transpose(x, perm), x)
    src = draw.draw(st.lists(st.integers(-n, n - 1), unique_by=lambda a: a % n, max_size=n))
    dst = draw.draw(st.lists(st.integers(-n, n - 1), unique_by=lambda a: a % n,
                             min_size=len(src), max_size=len(src)))
    check(lambda x: S.moveaxis(x, src, dst), lambda x: np.moveaxis(x, src, dst), x)
    a, b = draw.draw(st.integers(-n, n - 1)), draw.draw(st.integers(-n, n - 1))
    check(lambda x: S.swapaxes(x, a, b), lambda x: np.swapaxes(x, a, b), x)


@SETTINGS
@given(shapes, st.data())
def test_expand_dims_and_squeeze(shape, draw):
    x = data(shape)
    out_ndim = len(shape) + 2
    axes = tuple(draw.draw(st.lists(st.integers(-out_ndim, out_ndim - 1), min_size=2, max_size=2,
                                    unique_by=lambda a: a % out_ndim)))
    check(lambda x: S.expand_dims(x, axes), lambda x: np.expand_dims(x, axes), x)
    ones = [i for i, d in enumerate(shape) if d == 1]
    sub = tuple(draw.draw(st.lists(st.sampled_from(ones), unique=True))) if ones else None
    check(lambda x: S.squeeze(x, sub), lambda x: np.squeeze(x, sub), x)


@SETTINGS
@given(shapes, st.data())
def test_broadcast_to_and_arrays(shape, draw):
    target = tuple(draw.draw(st.lists(st.integers(1, 3), max_size=2))) + tuple(
        d if d != 1 or not draw.draw(st.booleans()) else 3 for d in shape)
    x = data(shape)
    check(lambda x: S.broadcast_to(x, target), lambda x: np.broadcast_to(x, target), x)
    y = data(target[len(target) - len(shape):] if shape else (2,), np.int32)
    check(lambda x, y: S.broadcast_arrays(x, y), lambda x, y: np.broadcast_arrays(x, y), x, y)


@SETTINGS
@given(nonempty_shapes, st.data())
def test_concatenate_and_stack(shape, draw):
    n = len(shape)
    axis = draw.draw(st.integers(-n, n - 1))
    others = [tuple(draw.draw(st.integers(0, 3)) if i == axis % n else d for i, d in enumerate(shape))
              for _ in range(draw.draw(st.integers(0, 2)))]
    dtypes = draw.draw(st.lists(st.sampled_from([np.float32, np.int32, np.bool_, np.float64]),
                                min_size=len(others) + 1, max_size=len(others) + 1))
    arrays = [data(s, d) for s, d in zip([shape] + others, dtypes)]
    check(lambda *a: S.concatenate(a, axis=axis), lambda *a: np.concatenate(a, axis=axis), *arrays)
    check(lambda *a: S.concatenate(a, axis=None), lambda *a: np.concatenate(a, axis=None), *arrays)
    same = [data(shape, d) for d in dtypes]
    stack_axis = draw.draw(st.integers(-n - 1, n))
    check(lambda *a: S.stack(a, axis=stack_axis), lambda *a: np.stack(a, axis=stack_axis), *same)


@SETTINGS
@given(nonempty_shapes, st.data())
def test_split_and_array_split(shape, draw):
    n = len(shape)
    axis = draw.draw(st.integers(-n, n - 1))
    x = data(shape)
    sections = draw.draw(st.integers(1, 5))
    check(lambda x: S.array_split(x, sections, axis), lambda x: np.array_split(x, sections, axis), x)
    points = draw.draw(st.lists(st.integers(-6, 6), max_size=3))
    check(lambda x: S.split(x, points, axis), lambda x: np.split(x, points, axis), x)


@SETTINGS
@given(shapes, st.lists(st.integers(0, 3), max_size=4))
def test_tile(shape, reps):
    x = data(shape)
    check(lambda x: S.tile(x, reps), lambda x: np.tile(x, reps), x)


@SETTINGS
@given(nonempty_shapes, st.data())
def test_repeat(shape, draw):
    x = data(shape)
    axis = draw.draw(st.sampled_from([None] + list(range(-len(shape), len(shape)))))
    n = x.size if axis is None else shape[axis]
    repeats = draw.draw(st.integers(0, 3) | st.lists(st.integers(0, 3), min_size=n, max_size=n))
    check(lambda x: S.repeat(x, repeats, axis), lambda x: np.repeat(x, repeats, axis), x)


@SETTINGS
@given(shapes, st.data())
def test_roll_static_and_traced_shifts(shape, draw):
    x = data(shape)
    n = len(shape)
    if n and draw.draw(st.booleans()):
        axis = tuple(draw.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=3)))
        shift = tuple(draw.draw(st.lists(st.integers(-9, 9), min_size=len(axis),
                                         max_size=len(axis))))
    else:
        axis, shift = None, draw.draw(st.integers(-9, 9))
    check(lambda x: S.roll(x, shift, axis), lambda x: np.roll(x, shift, axis), x)
    s = np.array(shift, np.int32)
    check(lambda x, s: S.roll(x, s, axis), lambda x, s: np.roll(x, s, axis), x, s)


@SETTINGS
@given(nonempty_shapes, st.data())
def test_flip_and_rot90(shape, draw):
    x = data(shape)
    n = len(shape)
    axes = tuple(draw.draw(st.lists(st.integers(-n, n - 1), unique_by=lambda a: a % n, max_size=n)))
    check(lambda x: S.flip(x, axes), lambda x: np.flip(x, axes), x)
    if n >= 2:
        k = draw.draw(st.integers(-5, 5))
        plane = tuple(draw.draw(st.lists(st.integers(-n, n - 1), min_size=2, max_size=2,
                                         unique_by=lambda a: a % n)))
        check(lambda x: S.rot90(x, k, plane), lambda x: np.rot90(x, k, plane), x)


@SETTINGS
@given(shapes, st.sampled_from(["constant", "edge", "reflect", "symmetric", "wrap"]), st.data())
def test_pad_modes(shape, mode, draw):
    x = data(shape, np.int32)
    width = [(draw.draw(st.integers(0, 7)), draw.draw(st.integers(0, 7))) for _ in shape]
    if mode != "constant":  # NumPy cannot extend an empty axis by copying
        width = [(b, a) if d else (0, 0) for (b, a), d in zip(width, shape)]
    width = width or 0  # a 0-d array: NumPy wants an integer width
    kwargs = {"constant_values": [(-1, -2)] * len(shape)} if mode == "constant" and shape else {}
    check(lambda x: S.pad(x, width, mode, **kwargs), lambda x: np.pad(x, width, mode, **kwargs), x)


@SETTINGS
@given(nonempty_shapes, st.data())
def test_insert_and_delete(shape, draw):
    x = data(shape)
    n = len(shape)
    axis = draw.draw(st.sampled_from([None] + list(range(-n, n))))
    length = x.size if axis is None else shape[axis]
    obj = draw.draw(st.integers(-length, length) | st.lists(st.integers(-length, length),
                                                            min_size=1, max_size=3))
    values = np.float32(-5.0) if draw.draw(st.booleans()) else np.array([-1.0, -2.0], np.float32)
    try:
        np.insert(x, obj, values, axis)
    except ValueError:  # the values do not fit NumPy's layout either
        return
    check(lambda x, v: S.insert(x, obj, v, axis), lambda x, v: np.insert(x, obj, v, axis),
          x, values)
    doomed = draw.draw(st.lists(st.integers(-length, length - 1), max_size=3)) if length else []
    check(lambda x: S.delete(x, doomed, axis), lambda x: np.delete(x, doomed, axis), x)


# --------------------------------------------------------------------------- static answers

def test_ndim_shape_size_are_python_ints_for_tracers():
    seen = {}

    def f(x):
        seen.update(ndim=S.ndim(x), shape=S.shape(x), size=S.size(x), size1=S.size(x, 1),
                    sizes=S.size(x, (0, -1)))
        return x

    ftx.make_jaxpr(f)(np.zeros((2, 3, 4)))
    assert seen == {"ndim": 3, "shape": (2, 3, 4), "size": 24, "size1": 3, "sizes": 8}
    assert type(seen["ndim"]) is int and all(type(d) is int for d in seen["shape"])
    assert S.shape([[1, 2, 3]]) == (1, 3) and S.ndim(2.0) == 0 and S.size([1, 2]) == 2
    assert S.broadcast_shapes((3, 1), (4,)) == (3, 4)


def test_eager_is_numpy():
    x = np.arange(6).reshape(2, 3)
    out = S.reshape(x, (3, 2))
    assert isinstance(out, np.ndarray) and np.shares_memory(out, x)  # NumPy's own view
    assert S.split(x, 3, axis=1)[0].shape == (2, 1)


def test_copying_pad_modes_use_slices_not_gather():
    x = np.zeros((3, 4))
    for mode in ("edge", "reflect", "symmetric", "wrap"):
        names = primitives(lambda x: S.pad(x, ((2, 1), (1, 3)), mode), x)
        assert names <= {"slice", "rev", "concatenate", "reshape", "broadcast_in_dim"}, \
            (mode, names)
    assert primitives(lambda x: S.pad(x, 2), x) == {"pad"}
    assert primitives(lambda x: S.split(x, 2, axis=1), x) == {"slice"}


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("fn, exc, words", [
    (lambda x: S.reshape(x, (5, -1)), ValueError, ["reshape", "size 6", "(5, -1)"]),
    (lambda x: S.reshape(x, (-1, -1)), ValueError, ["only specify one unknown dimension"]),
    (lambda x: S.reshape(x, (4,)), ValueError, ["cannot reshape array of size 6 into shape (4,)"]),
    (lambda x: S.reshape(x, 6, order="F"), NotImplementedError, ["order='C'"]),
    (lambda x: S.transpose(x, (0, 0)), ValueError, ["repeated axis"]),
    (lambda x: S.transpose(x, (0,)), ValueError, ["don't match"]),
    (lambda x: S.transpose(x, (0, 2)), np.exceptions.AxisError, ["axis 2 is out of bounds"]),
    (lambda x: S.squeeze(x, 0), ValueError, ["size not equal to one", "(2, 3)"]),
    (lambda x: S.expand_dims(x, 3), np.exceptions.AxisError, ["expand_dims", "axis 3"]),
    (lambda x: S.moveaxis(x, (0, 1), 0), ValueError, ["same number of elements"]),
    (lambda x: S.broadcast_to(x, (3, 3)), ValueError, ["broadcast_to", "(2, 3)", "(3, 3)"]),
    (lambda x: S.concatenate([x, x[0]]), ValueError, ["same number of dimensions"]),
    (lambda x: S.concatenate([x, x.T]), ValueError, ["must match exactly", "axis (0)"]),
    (lambda x: S.concatenate([x[0, 0], x[0, 0]]), ValueError, ["zero-dimensional"]),
    (lambda x: S.concatenate([]), ValueError, ["at least one array"]),
    (lambda x: S.concatenate([x], out=x), NotImplementedError, ["out= argument"]),
    (lambda x: S.concatenate([x, x], dtype=np.int32), TypeError, ["float32 to int32",
                                                                   "'same_kind'"]),
    (lambda x: S.stack([x, x[0]]), ValueError, ["same shape"]),
    (lambda x: S.split(x, 4, axis=1), ValueError, ["equal division"]),
    (lambda x: S.split(x, 0), ValueError, ["larger than 0"]),
    (lambda x: S.vsplit(x[0], 1), ValueError, ["vsplit only works on arrays of 2"]),
    (lambda x: S.dsplit(x, 1), ValueError, ["dsplit only works on arrays of 3"]),
    (lambda x: S.repeat(x, x[0, 0]), ConcretizationTypeError, ["repeats must be known"]),
    (lambda x: S.repeat(x, [1, 2], axis=1), ValueError, []),
    (lambda x: S.repeat(x, -1), ValueError, []),
    (lambda x: S.tile(x, (-1,)), ValueError, ["negative"]),
    (lambda x: S.fliplr(x[0]), ValueError, [">= 2-d"]),
    (lambda x: S.rot90(x, axes=(0, 0)), ValueError, ["Axes must be different"]),
    (lambda x: S.rot90(x, axes=(0, 1, 2)), ValueError, ["len(axes) must be 2"]),
    (lambda x: S.rot90(x, axes=(0, 5)), ValueError, ["out of range"]),
    (lambda x: S.roll(x, (1, 2, 3), axis=(0, 1)), ValueError, ["same length"]),
    (lambda x: S.roll(x, 1.5, axis=0), TypeError, ["shift must be an integer"]),
    (lambda x: S.pad(x, -1), ValueError, ["negative values"]),
    (lambda x: S.pad(x, 1.5), TypeError, ["integral type"]),
    (lambda x: S.pad(x, 1, mode="mean"), NotImplementedError, ["mode 'mean' is not supported"]),
    (lambda x: S.pad(x, 1, mode="bogus"), ValueError, ["mode 'bogus' is not supported"]),
    (lambda x: S.pad(x, 1, mode="edge", constant_values=1), ValueError, ["unsupported keyword"]),
    (lambda x: S.pad(x, 1, mode="reflect", reflect_type="odd"), NotImplementedError, ["odd"]),
    (lambda x: S.pad(x[:0], 1, mode="wrap"), ValueError, ["can't extend empty axis 0"]),
    (lambda x: S.insert(x, x[0, 0].astype(np.int32), 1.0), ConcretizationTypeError, ["obj"]),
    (lambda x: S.delete(x, 7, axis=1), IndexError, []),
])
def test_errors(fn, exc, words):
    with pytest.raises(exc) as e:
        run_traced(fn, data((2, 3)))
    assert all(w in str(e.value) for w in words), str(e.value)


def test_all_public_names_exist_and_are_documented():
    for name in S.__all__:
        assert getattr(S, name).__doc__, name
