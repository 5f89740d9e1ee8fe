"""Array creation: array, zeros, ones, full, *_like, arange, linspace, eye, meshgrid, ...

Creation from concrete arguments is NumPy itself, even under a transform: the
result is a constant of the traced graph. Only values that depend on traced
inputs (``zeros_like(x)``, ``linspace(a, b)`` with traced ends, ``array([x, y])``)
are built from lax primitives.
"""
from __future__ import annotations

import numpy as np

from ftx import lax
from ftx.numpy._core import (asarray as _asarray, cast, concrete_or_error, dtype_of,
                             eager_numpy, is_tracer, promote_dtypes, result_type, shape_of)

__all__ = [
    "array", "asarray", "asanyarray", "ascontiguousarray", "copy", "astype", "zeros", "ones",
    "full", "empty", "zeros_like", "ones_like", "full_like", "empty_like", "arange", "linspace",
    "logspace", "geomspace", "eye", "identity", "tri", "meshgrid", "indices",
]


def _contains_tracer(obj) -> bool:
    if is_tracer(obj):
        return True
    if isinstance(obj, (list, tuple)):
        return any(_contains_tracer(o) for o in obj)
    return False


def _stack_nested(obj):
    """A nested list of tracers/values as one traced array (what np.array does for numbers)."""
    if not isinstance(obj, (list, tuple)):
        return _asarray(obj, "array")
    items = [_stack_nested(o) for o in obj]
    items = promote_dtypes(*items)
    shapes = {shape_of(i) for i in items}
    if len(shapes) != 1:
        raise ValueError(f"array: the nested sequence is ragged (element shapes {sorted(shapes)})")
    shape = shapes.pop()
    items = [lax.reshape(i if is_tracer(i) else np.asarray(i), (1,) + shape) for i in items]
    return lax.concatenate(items, 0)


@eager_numpy(np.array)
def array(object, dtype=None, *, copy=True, order="K", subok=False, ndmin=0, like=None):  # noqa: A002
    """An array from an array, a scalar or a nested sequence (which may hold traced values)."""
    if not _contains_tracer(object):
        return np.array(object, dtype=dtype, copy=copy, order=order, ndmin=ndmin)
    x = _stack_nested(object) if isinstance(object, (list, tuple)) else object
    if dtype is not None:
        x = cast(x, dtype)
    extra = ndmin - len(shape_of(x))
    if extra > 0:
        x = lax.reshape(x, (1,) * extra + shape_of(x))
    return x


@eager_numpy(np.asarray)
def asarray(a, dtype=None, order=None, *, copy=None, device=None, like=None):
    """``a`` as an array (no copy when it already is one). ``asarray([1, 2])``."""
    if not _contains_tracer(a):
        return np.asarray(a, dtype=dtype)
    return array(a, dtype=dtype)


asanyarray = ascontiguousarray = asarray


@eager_numpy(np.copy)
def copy(a, order="K", subok=False):
    """A copy (traced arrays are immutable, so the same value)."""
    return array(a)


@eager_numpy(np.astype)
def astype(x, dtype, /, *, copy=True, device=None):
    """``x`` converted to ``dtype`` (NumPy 2's function form of ``x.astype``)."""
    return cast(_asarray(x, "astype"), np.dtype(dtype))


def _shape_tuple(shape, name):
    shape = concrete_or_error(shape, "the shape", name)
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(concrete_or_error(d, "the shape", name)) for d in shape)


def _filled(fill_value, shape, dtype, name):
    """A traced fill value broadcast to ``shape`` (concrete ones are plain NumPy)."""
    fill = _asarray(fill_value, name)
    if dtype is not None:
        fill = cast(fill, dtype)
    fill_shape = shape_of(fill)
    from ftx.numpy._core import broadcast_to
    return broadcast_to(fill if is_tracer(fill) else np.asarray(fill), shape, name) \
        if fill_shape != shape else fill


@eager_numpy(np.zeros)
def zeros(shape, dtype=float, order="C", *, device=None, like=None):
    """``zeros((2, 3))``: float64 zeros (NumPy's default dtype)."""
    return np.zeros(_shape_tuple(shape, "zeros"), dtype)


@eager_numpy(np.ones)
def ones(shape, dtype=None, order="C", *, device=None, like=None):
    """``ones((2, 3))``."""
    return np.ones(_shape_tuple(shape, "ones"), dtype)


@eager_numpy(np.empty)
def empty(shape, dtype=float, order="C", *, device=None, like=None):
    """Like ``zeros`` (ftx never hands out uninitialised memory)."""
    return np.zeros(_shape_tuple(shape, "empty"), dtype)


@eager_numpy(np.full)
def full(shape, fill_value, dtype=None, order="C", *, device=None, like=None):
    """``full((2, 2), 7.0)``; the fill value may be traced."""
    shape = _shape_tuple(shape, "full")
    if not is_tracer(fill_value):
        return np.full(shape, fill_value, dtype)
    return _filled(fill_value, shape, dtype, "full")


def _like(a, dtype, shape, name):
    a = _asarray(a, name)
    dtype = dtype_of(a) if dtype is None else np.dtype(dtype)
    shape = shape_of(a) if shape is None else _shape_tuple(shape, name)
    return dtype, shape


@eager_numpy(np.zeros_like)
def zeros_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    """Zeros with ``a``'s shape and dtype (a constant: only ``a``'s type is used)."""
    dtype, shape = _like(a, dtype, shape, "zeros_like")
    return np.zeros(shape, dtype)


@eager_numpy(np.ones_like)
def ones_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    """Ones with ``a``'s shape and dtype."""
    dtype, shape = _like(a, dtype, shape, "ones_like")
    return np.ones(shape, dtype)


@eager_numpy(np.empty_like)
def empty_like(prototype, dtype=None, order="K", subok=True, shape=None, *, device=None):
    """Like ``zeros_like``."""
    dtype, shape = _like(prototype, dtype, shape, "empty_like")
    return np.zeros(shape, dtype)


@eager_numpy(np.full_like)
def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, *, device=None):
    """``a``'s shape and dtype filled with ``fill_value`` (which may be traced)."""
    dtype, shape = _like(a, dtype, shape, "full_like")
    if not is_tracer(fill_value):
        return np.full(shape, fill_value, dtype)
    return _filled(fill_value, shape, dtype, "full_like")


@eager_numpy(np.arange)
def arange(start, stop=None, step=None, dtype=None, *, device=None, like=None):
    """``arange(5)``: the bounds must be concrete (the length is part of the shape)."""
    for v in (start, stop, step):
        concrete_or_error(v, "arange's start, stop and step", "arange")
    args = [start] + [a for a in (stop,) if a is not None]
    if step is not None:
        args = [start, stop if stop is not None else None, step]
        if stop is None:
            return np.arange(0, start, step, dtype=dtype)
    return np.arange(*args, dtype=dtype)


@eager_numpy(np.linspace)
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *, device=None):
    """``num`` evenly spaced values from ``start`` to ``stop``; the ends may be traced arrays."""
    num = int(concrete_or_error(num, "num", "linspace"))
    if num < 0:
        raise ValueError(f"linspace: num must be non-negative, got {num}")
    compute = np.result_type(result_type(_asarray(start), _asarray(stop)), float)
    start, stop = [x if is_tracer(x) else np.asarray(x, compute) for x in (start, stop)]
    start, stop = cast(start, compute), cast(stop, compute)
    out_shape = (num,) + tuple(np.broadcast_shapes(shape_of(start), shape_of(stop)))

    def along_axis_0(x):  # x broadcast to out_shape, varying along its trailing axes
        return lax.broadcast_in_dim(x, out_shape, tuple(range(len(out_shape) - len(shape_of(x)),
                                                              len(out_shape))))

    div = (num - 1) if endpoint else num
    delta = lax.sub(stop, start)
    step = lax.div(delta, float(div)) if div > 0 else lax.mul(delta, np.nan)
    # NumPy's formula: start + i * step, with the last point set to stop exactly.
    y = lax.add(lax.mul(lax.broadcasted_iota(compute, out_shape, 0), along_axis_0(step)),
                along_axis_0(start))
    if endpoint and num > 1:
        last = lax.eq(lax.broadcasted_iota(np.int64, out_shape, 0), num - 1)
        y = lax.select_n(last, y, along_axis_0(stop))
    if axis != 0:
        from ftx.numpy._core import canonicalize_axis
        axis = canonicalize_axis(axis, len(out_shape), "linspace")
        perm = list(range(1, len(out_shape)))
        perm.insert(axis, 0)
        y = lax.transpose(y, tuple(perm))
    if dtype is not None:
        y = cast(y, dtype)
    return (y, step) if retstep else y


@eager_numpy(np.logspace)
def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """``base ** linspace(start, stop, num)``."""
    y = linspace(start, stop, num, endpoint=endpoint, axis=axis)
    out = lax.pow(cast(_asarray(base, "logspace"), dtype_of(y)), y)
    return cast(out, dtype) if dtype is not None else out


@eager_numpy(np.geomspace)
def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """A geometric progression from ``start`` to ``stop`` (positive ends)."""
    from ftx.numpy._ufuncs import exp, log
    y = exp(linspace(log(start), log(stop), num, endpoint=endpoint, axis=axis))
    return cast(y, dtype) if dtype is not None else y


@eager_numpy(np.eye)
def eye(N, M=None, k=0, dtype=float, order="C", *, device=None, like=None):
    """``eye(3)``: the identity matrix (sizes must be concrete)."""
    return np.eye(int(concrete_or_error(N, "N", "eye")), M, int(k), dtype=dtype)


@eager_numpy(np.identity)
def identity(n, dtype=None, *, like=None):
    """``identity(3)``: the identity matrix."""
    return np.identity(int(concrete_or_error(n, "n", "identity")), dtype=dtype)


@eager_numpy(np.tri)
def tri(N, M=None, k=0, dtype=float, *, like=None):
    """Ones at and below the ``k``-th diagonal."""
    return np.tri(int(concrete_or_error(N, "N", "tri")), M, int(k), dtype=dtype)


@eager_numpy(np.indices)
def indices(dimensions, dtype=int, sparse=False):
    """The index grid of an array of shape ``dimensions``."""
    return np.indices(_shape_tuple(dimensions, "indices"), dtype=dtype, sparse=sparse)


@eager_numpy(np.meshgrid)
def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """Coordinate matrices from 1-d coordinate vectors (which may be traced)."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    xs = [_asarray(x, "meshgrid") for x in xi]
    xs = [lax.reshape(x if is_tracer(x) else np.asarray(x), (int(np.prod(shape_of(x))),)) for x in xs]
    shape = [shape_of(x)[0] for x in xs]
    if indexing == "xy" and len(xs) > 1:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, x in enumerate(xs):
        axis = i
        if indexing == "xy" and len(xs) > 1 and i < 2:
            axis = 1 - i
        if sparse:
            s = [1] * len(xs)
            s[axis] = shape[axis]
            out.append(lax.reshape(x, tuple(s)))
        else:
            out.append(lax.broadcast_in_dim(x, tuple(shape), (axis,)))
    return out
