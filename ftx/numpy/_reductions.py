"""NumPy's reductions, statistics and cumulative functions, written with ftx.lax.

Outside transforms each function is NumPy itself; under a transform the body
below records lax primitives with NumPy 2's semantics: ``axis`` (None, int,
negative, tuple), ``keepdims``, ``dtype``, ``where``/``initial`` and NumPy's result
dtypes (``sum`` of int32 is int64, ``mean`` of ints is float64, ``sum`` of bool is
int64, ``mean`` of float16 accumulates in float32 ...).

Static arguments (axes, ``ddof``, ``n`` of ``diff``, the ``q`` of ``quantile``) must be
concrete. The private helpers at the top are shared with ``_linalg`` and
``_sorting``.
"""
from __future__ import annotations

import builtins
import math
import operator

import numpy as np

from ftx import lax
from ftx.core.trace import Tracer
from ftx.numpy._core import (asarray, broadcast_shapes, broadcast_to, canonicalize_axes,
                             canonicalize_axis, cast, concrete_or_error, dtype_of, eager_numpy,
                             promote_args, promote_args_inexact, promote_dtypes, shape_of)

__all__ = [
    "sum", "prod", "mean", "var", "std", "max", "min", "amax", "amin", "any", "all",
    "argmax", "argmin", "ptp", "average", "median", "quantile", "percentile",
    "nansum", "nanprod", "nanmean", "nanvar", "nanstd", "nanmax", "nanmin", "nanargmax",
    "nanargmin", "count_nonzero", "cumsum", "cumprod", "cumulative_sum", "cumulative_prod",
    "nancumsum", "nancumprod", "diff", "ediff1d", "trapezoid",
]

_NoValue = np._NoValue  # NumPy's "argument not given" marker, so defaults read as NumPy's
_PY_SCALARS = (bool, int, float, complex)
_F16, _F32, _F64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)
_INTP = np.dtype(np.intp)

# =========================================================================== private helpers


def _no_out(out, name: str) -> None:
    if out is not None:
        raise NotImplementedError(f"ftx.numpy.{name}: the out= argument is not supported")


def _arr(a, name: str):
    """``a`` as an array: NumPy's functions call ``asarray`` first, so Python scalars
    (and traced values that came from them) become strongly typed here, unlike in
    arithmetic, where they stay weak."""
    x = asarray(a, name)
    if type(x) in _PY_SCALARS:
        return np.asarray(x)
    if isinstance(x, Tracer) and x.aval.weak_type:
        return lax.convert_element_type(x, x.aval.dtype)
    return x


def _scalar(value, dtype):
    """A typed 0-d constant (it prints as a typed literal in jaxprs)."""
    return np.asarray(value, dtype=dtype)


def _keepdims(keepdims) -> bool:
    return False if keepdims is _NoValue else builtins.bool(keepdims)


def _size(shape, axes=None) -> int:
    dims = shape if axes is None else [shape[a] for a in axes]
    return math.prod(dims)


def _keep(x, shape, axes, keepdims: bool):
    """Put size-1 axes back where ``axes`` were reduced, when ``keepdims``."""
    if not keepdims:
        return x
    return lax.reshape(x, tuple(1 if i in axes else d for i, d in enumerate(shape)))


def _slice(x, start, stop, axis: int):
    """``x[..., start:stop]`` along ``axis`` with Python slice semantics (static bounds)."""
    shape = shape_of(x)
    n = shape[axis]
    start, stop, _ = builtins.slice(start, stop).indices(n)
    stop = builtins.max(stop, start)
    if (start, stop) == (0, n):
        return x
    config = [(0, 0, 0)] * len(shape)
    config[axis] = (-start, stop - n, 0)  # negative padding crops
    return lax.pad(x, _scalar(0, dtype_of(x)), config)


def _take(x, index: int, axis: int):
    """``x[..., index]`` along ``axis`` for a static index (negative counts from the end)."""
    n = shape_of(x)[axis]
    if not -n <= index < n:
        raise IndexError(f"index {index} is out of bounds for axis {axis} with size {n}")
    index %= n
    return lax.squeeze(_slice(x, index, index + 1, axis), (axis,))


def _take_static(x, indices, axis: int = 0):
    """``np.take(x, indices, axis)`` for a concrete index array; index axes go first."""
    indices = np.asarray(indices)
    parts = [lax.expand_dims(_take(x, int(i), axis), (0,)) for i in indices.ravel()]
    rest = tuple(d for i, d in enumerate(shape_of(x)) if i != axis)
    if not parts:
        raise IndexError("cannot take from an empty list of indices")
    out = parts[0] if len(parts) == 1 else lax.concatenate(parts, 0)
    return lax.reshape(out, indices.shape + rest)


def _moveaxis(x, source: int, destination: int):
    ndim = len(shape_of(x))
    perm = [i for i in range(ndim) if i != source]
    perm.insert(destination % ndim if ndim else 0, source)
    return x if perm == list(range(ndim)) else lax.transpose(x, perm)


def _flatten(x):
    shape = shape_of(x)
    return x if len(shape) == 1 else lax.reshape(x, (_size(shape),))


def _merge_reduced(x, axes):
    """Move the kept axes first (in order) and merge the reduced ones into the last axis."""
    shape = shape_of(x)
    kept = [i for i in range(len(shape)) if i not in axes]
    perm = kept + list(axes)
    if perm != list(range(len(shape))):
        x = lax.transpose(x, perm)
    new_shape = tuple(shape[i] for i in kept) + (_size(shape, axes),)
    return (x if new_shape == tuple(shape) else lax.reshape(x, new_shape)), new_shape[-1]


def _concatenate(parts, axis: int):
    parts = promote_dtypes(*parts)
    return parts[0] if len(parts) == 1 else lax.concatenate(parts, axis)


def _isnan(x):
    return lax.ne(x, x)


def _to_bool(x):
    dt = dtype_of(x)
    return x if dt.kind == "b" else lax.ne(x, _scalar(0, dt))


def _where(cond, x, y, name: str = "where"):
    """``np.where(cond, x, y)`` with NumPy promotion and broadcasting."""
    x, y = promote_dtypes(asarray(x, name), asarray(y, name))
    shape = broadcast_shapes(name, shape_of(cond), shape_of(x), shape_of(y))
    cond = cond if shape_of(cond) in ((), shape) else broadcast_to(cond, shape, name)
    x = x if shape_of(x) in ((), shape) else broadcast_to(x, shape, name)
    y = y if shape_of(y) in ((), shape) else broadcast_to(y, shape, name)
    if not shape_of(cond) and shape and not shape_of(x) and not shape_of(y):
        cond = broadcast_to(cond, shape, name)
    return lax.select_n(cond, y, x)


def _select(mask, x, fill):
    """``x`` where ``mask`` (of ``x``'s shape), else the scalar ``fill`` in ``x``'s dtype."""
    return lax.select_n(mask, _scalar(fill, dtype_of(x)), x)


def _binop(lax_fn, name: str):
    def op(a, b):
        return lax_fn(*promote_args(name, a, b))
    op.__name__ = "_" + name
    return op


_add = _binop(lax.add, "add")
_sub = _binop(lax.sub, "subtract")
_mul = _binop(lax.mul, "multiply")


def _true_divide(a, b):
    return lax.div(*promote_args_inexact("true_divide", a, b))


def _mask(where, shape, name: str):
    """The ``where=`` argument as a bool array of ``shape``; None when absent or True."""
    if where is _NoValue or where is None or where is True:
        return None
    w = _arr(where, name)
    if dtype_of(w).kind != "b":
        raise TypeError(f"ftx.numpy.{name}: where= must be a boolean array, got dtype "
                        f"{dtype_of(w)}")
    return broadcast_to(w, shape, name)


def _accum_dtype(dtype) -> np.dtype:
    """The dtype NumPy's add/multiply reductions use by default: small ints widen to int_."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b" or (dtype.kind == "i" and dtype.itemsize < 8):
        return np.dtype(np.int64)
    if dtype.kind == "u" and dtype.itemsize < 8:
        return np.dtype(np.uint64)
    return dtype


def _reduce(fn, x, axes):
    return fn(x, axes) if axes else x


def _total(x, axes, mask, is_sum: bool = True):
    """Sum (or product) over ``axes`` of the elements where ``mask``, in ``x``'s dtype."""
    dt = dtype_of(x)
    if mask is not None:
        x = _select(mask, x, 0 if is_sum else 1)
    if dt.kind == "b":  # NumPy's bool add/multiply are logical or/and
        return _reduce(lax.reduce_or if is_sum else lax.reduce_and, x, axes)
    return _reduce(lax.reduce_sum if is_sum else lax.reduce_prod, x, axes)


def _count(shape, axes, mask):
    """How many elements each reduction sees: a Python int, or an int64 array with ``where``."""
    if mask is None:
        return _size(shape, axes)
    return _reduce(lax.reduce_sum, lax.convert_element_type(mask, _INTP), axes)


def _divide_into(num, count, dtype):
    """``true_divide(num, count, casting='unsafe')`` into ``dtype``, as NumPy's mean/var do."""
    dtype = np.dtype(dtype)
    if dtype.kind in "fc":
        return lax.div(num, count if type(count) is int else cast(count, dtype))
    # An integer mean: divide in float64, then truncate like NumPy's unsafe cast.
    q = lax.div(cast(num, _F64), float(count) if type(count) is int else cast(count, _F64))
    return lax.convert_element_type(q, dtype)


def _ddof(ddof, correction, name: str):
    if correction is not _NoValue:
        if ddof != 0:
            raise ValueError(f"ftx.numpy.{name}: ddof and correction can't be provided "
                             "simultaneously.")
        ddof = correction
    return concrete_or_error(ddof, "ddof", f"ftx.numpy.{name}")


def _as_dtype_scalar(value, dtype, name: str):
    value = _arr(value, name)
    if shape_of(value) != ():
        raise ValueError(f"ftx.numpy.{name}: initial must be a scalar, got shape {shape_of(value)}")
    if isinstance(value, np.ndarray):  # a concrete initial stays a typed literal
        return value.astype(dtype)
    return cast(value, dtype)


# =========================================================================== sum, prod


def _sum_prod(name, a, axis, dtype, out, keepdims, initial, where, is_sum):
    if (axis is None and dtype is None and keepdims is _NoValue and initial is _NoValue
            and where is _NoValue and out is None and isinstance(a, Tracer)):
        # The total of a traced floating array (a loss): one reduction, nothing to check.
        aval = a.aval
        if aval.ndim and aval.dtype.kind in "fc" and not aval.weak_type:
            return (lax.reduce_sum if is_sum else lax.reduce_prod)(a, tuple(range(aval.ndim)))
    _no_out(out, name)
    x = _arr(a, name)
    shape = shape_of(x)
    axes = canonicalize_axes(axis, len(shape), name)
    dtype = _accum_dtype(dtype_of(x)) if dtype is None else np.dtype(dtype)
    result = _total(cast(x, dtype), axes, _mask(where, shape, name), is_sum)
    if initial is not _NoValue:
        init = _as_dtype_scalar(initial, dtype, name)
        if dtype.kind == "b":
            result = (lax.bitwise_or if is_sum else lax.bitwise_and)(result, init)
        else:
            result = (lax.add if is_sum else lax.mul)(result, init)
    return _keep(result, shape, axes, _keepdims(keepdims))


@eager_numpy(np.sum)
def sum(a, axis=None, dtype=None, out=None, keepdims=_NoValue, initial=_NoValue,  # noqa: A001
        where=_NoValue):
    """Sum over ``axis`` with NumPy's dtypes (int32 and bool sum to int64). ``sum(x, axis=0)``."""
    return _sum_prod("sum", a, axis, dtype, out, keepdims, initial, where, True)


@eager_numpy(np.prod)
def prod(a, axis=None, dtype=None, out=None, keepdims=_NoValue, initial=_NoValue,
         where=_NoValue):
    """Product over ``axis`` with NumPy's dtypes. ``prod(x, axis=(0, 1))``."""
    return _sum_prod("prod", a, axis, dtype, out, keepdims, initial, where, False)


# =========================================================================== mean, var, std


def _mean_impl(name, a, axis, dtype, keepdims, where):
    x = _arr(a, name)
    shape = shape_of(x)
    axes = canonicalize_axes(axis, len(shape), name)
    xdt = dtype_of(x)
    half_result = False
    if dtype is None:
        if xdt.kind in "biu":
            dtype = _F64
        elif xdt == _F16:  # NumPy accumulates float16 in float32, then rounds back
            dtype, half_result = _F32, True
        else:
            dtype = xdt
    dtype = np.dtype(dtype)
    mask = _mask(where, shape, name)
    result = _divide_into(_total(cast(x, dtype), axes, mask), _count(shape, axes, mask), dtype)
    if half_result:
        result = lax.convert_element_type(result, _F16)
    return _keep(result, shape, axes, _keepdims(keepdims))


@eager_numpy(np.mean)
def mean(a, axis=None, dtype=None, out=None, keepdims=_NoValue, *, where=_NoValue):
    """Arithmetic mean over ``axis`` (float64 for integer input). ``mean(x, axis=-1)``."""
    _no_out(out, "mean")
    return _mean_impl("mean", a, axis, dtype, keepdims, where)


def _var_impl(name, a, axis, dtype, ddof, keepdims, where, mean_value):
    x = _arr(a, name)
    shape = shape_of(x)
    axes = canonicalize_axes(axis, len(shape), name)
    xdt = dtype_of(x)
    if dtype is None and xdt.kind in "biu":
        dtype = _F64
    sum_dtype = xdt if dtype is None else np.dtype(dtype)
    mask = _mask(where, shape, name)
    count = _count(shape, axes, mask)
    if mean_value is not _NoValue:
        arrmean = asarray(mean_value, name)
    else:
        arrmean = _divide_into(_total(cast(x, sum_dtype), axes, mask), count, sum_dtype)
        arrmean = _keep(arrmean, shape, axes, True)
    dev = _sub(x, arrmean)
    if dtype_of(dev).kind == "c":
        re, im = lax.real(dev), lax.imag(dev)
        sq = lax.add(lax.mul(re, re), lax.mul(im, im))
    else:
        sq = lax.mul(dev, dev)
    out_dtype = dtype_of(sq) if dtype is None else np.dtype(dtype)
    total = _total(cast(sq, out_dtype), axes, mask)
    if type(count) is int:
        dof = builtins.max(count - ddof, 0)
    else:
        dof = lax.max(lax.sub(count, _scalar(ddof, _INTP)), _scalar(0, _INTP))
    return _keep(_divide_into(total, dof, out_dtype), shape, axes, _keepdims(keepdims))


def _sqrt(x):
    if dtype_of(x).kind in "fc":
        return lax.sqrt(x)
    return lax.convert_element_type(lax.sqrt(cast(x, _F64)), dtype_of(x))


@eager_numpy(np.var)
def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NoValue, *, where=_NoValue,
        mean=_NoValue, correction=_NoValue):
    """Variance ``mean(abs(x - x.mean())**2) * n / (n - ddof)``. ``var(x, axis=0, ddof=1)``."""
    _no_out(out, "var")
    return _var_impl("var", a, axis, dtype, _ddof(ddof, correction, "var"), keepdims, where, mean)


@eager_numpy(np.std)
def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NoValue, *, where=_NoValue,
        mean=_NoValue, correction=_NoValue):
    """Standard deviation, the square root of ``var``. ``std(x, ddof=1)``."""
    _no_out(out, "std")
    return _sqrt(_var_impl("std", a, axis, dtype, _ddof(ddof, correction, "std"), keepdims,
                           where, mean))


# =========================================================================== max, min, ptp


def _extreme(name, a, axis, out, keepdims, initial, where, is_max):
    _no_out(out, name)
    x = _arr(a, name)
    shape = shape_of(x)
    axes = canonicalize_axes(axis, len(shape), name)
    dt = dtype_of(x)
    if dt.kind == "c":
        raise TypeError(f"ftx.numpy.{name}: complex input is not supported under a transform "
                        f"(got {dt})")
    ufunc = "maximum" if is_max else "minimum"
    mask = _mask(where, shape, name)
    has_initial = initial is not _NoValue
    if mask is not None and not has_initial:
        raise ValueError(f"ftx.numpy.{name}: reduction operation '{ufunc}' does not have an "
                         "identity, so to use a where mask one has to specify 'initial'")
    init = _as_dtype_scalar(initial, dt, name) if has_initial else None
    if builtins.any(shape[ax] == 0 for ax in axes):
        if not has_initial:
            raise ValueError(f"ftx.numpy.{name}: zero-size array (shape {tuple(shape)}) to "
                             f"reduction operation {ufunc} which has no identity")
        out_shape = tuple(d for i, d in enumerate(shape) if i not in axes)
        result = broadcast_to(init, out_shape, name)
    else:
        if mask is not None:
            x = lax.select_n(mask, init, x)
        result = _reduce(lax.reduce_max if is_max else lax.reduce_min, x, axes)
        if has_initial:
            result = (lax.max if is_max else lax.min)(result, init)
    return _keep(result, shape, axes, _keepdims(keepdims))


@eager_numpy(np.max)
def max(a, axis=None, out=None, keepdims=_NoValue, initial=_NoValue, where=_NoValue):  # noqa: A001
    """Maximum over ``axis`` (NaN if any element is NaN). ``max(x, axis=1, keepdims=True)``."""
    return _extreme("max", a, axis, out, keepdims, initial, where, True)


@eager_numpy(np.min)
def min(a, axis=None, out=None, keepdims=_NoValue, initial=_NoValue, where=_NoValue):  # noqa: A001
    """Minimum over ``axis`` (NaN if any element is NaN). ``min(x, axis=0)``."""
    return _extreme("min", a, axis, out, keepdims, initial, where, False)


amax = max
amin = min


@eager_numpy(np.ptp)
def ptp(a, axis=None, out=None, keepdims=_NoValue):
    """Peak to peak, ``max - min`` over ``axis``. ``ptp(x, axis=0)``."""
    return lax.sub(max(a, axis, out, keepdims), min(a, axis, None, keepdims))


# =========================================================================== any, all


def _logical(name, a, axis, out, keepdims, where, is_any):
    _no_out(out, name)
    x = _arr(a, name)
    shape = shape_of(x)
    axes = canonicalize_axes(axis, len(shape), name)
    b = _to_bool(x)  # nonzero, so NaN counts as True as in NumPy
    mask = _mask(where, shape, name)
    if mask is not None:
        b = _select(mask, b, not is_any)
    result = _reduce(lax.reduce_or if is_any else lax.reduce_and, b, axes)
    return _keep(result, shape, axes, _keepdims(keepdims))


@eager_numpy(np.any)
def any(a, axis=None, out=None, keepdims=_NoValue, *, where=_NoValue):  # noqa: A001
    """Whether any element along ``axis`` is nonzero. ``any(x > 0, axis=0)``."""
    return _logical("any", a, axis, out, keepdims, where, True)


@eager_numpy(np.all)
def all(a, axis=None, out=None, keepdims=_NoValue, *, where=_NoValue):  # noqa: A001
    """Whether every element along ``axis`` is nonzero. ``all(x > 0)``."""
    return _logical("all", a, axis, out, keepdims, where, False)


# =========================================================================== argmax, argmin


def _arg_extreme(name, a, axis, out, keepdims, is_max):
    _no_out(out, name)
    x = _arr(a, name)
    shape = shape_of(x)
    if dtype_of(x).kind == "c":
        raise TypeError(f"ftx.numpy.{name}: complex input is not supported under a transform")
    if axis is None:
        x, ax = _flatten(x) if shape else lax.reshape(x, (1,)), 0
    else:
        ax = canonicalize_axis(axis, len(shape), name)
    if shape_of(x)[ax] == 0:
        raise ValueError(f"ftx.numpy.{name}: attempt to get {name} of an empty sequence "
                         f"(shape {tuple(shape)})")
    result = (lax.argmax if is_max else lax.argmin)(x, ax, _INTP)
    if _keepdims(keepdims):
        result = lax.reshape(result, (1,) * len(shape) if axis is None else
                             tuple(1 if i == ax else d for i, d in enumerate(shape)))
    return result


@eager_numpy(np.argmax)
def argmax(a, axis=None, out=None, *, keepdims=_NoValue):
    """Index of the first maximum along ``axis`` (flattened for None). ``argmax(x, 1)``."""
    return _arg_extreme("argmax", a, axis, out, keepdims, True)


@eager_numpy(np.argmin)
def argmin(a, axis=None, out=None, *, keepdims=_NoValue):
    """Index of the first minimum along ``axis``. ``argmin(x, axis=0)``."""
    return _arg_extreme("argmin", a, axis, out, keepdims, False)


# =========================================================================== average


def _axis_tuple(axis, ndim: int, name: str) -> tuple:
    """Normalised axes in the order given (weights of ``average`` follow that order)."""
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    out = tuple(canonicalize_axis(a, ndim, name) for a in axes)
    if len(set(out)) != len(out):
        raise ValueError(f"ftx.numpy.{name}: repeated axis in {axis}")
    return out


@eager_numpy(np.average)
def average(a, axis=None, weights=None, returned=False, *, keepdims=_NoValue):
    """Weighted mean ``sum(a * w) / sum(w)`` over ``axis``. ``average(x, axis=0, weights=w)``.

    Under a transform, weights that sum to zero give inf/NaN instead of NumPy's
    ZeroDivisionError (the check would need concrete values).
    """
    x = _arr(a, "average")
    shape = shape_of(x)
    ordered = None if axis is None else _axis_tuple(axis, len(shape), "average")
    axes = None if ordered is None else tuple(sorted(ordered))
    keep = _keepdims(keepdims)
    if weights is None:
        avg = _mean_impl("average", x, axes, None, keep, _NoValue)
        out_size = _size(shape_of(avg))
        scl = dtype_of(avg).type(_size(shape) / out_size)
    else:
        w = _arr(weights, "average")
        xdt, wdt = dtype_of(x), dtype_of(w)
        rdt = np.result_type(xdt, wdt, _F64) if xdt.kind in "biu" else np.result_type(xdt, wdt)
        if shape_of(w) != shape:
            if ordered is None:
                raise TypeError("ftx.numpy.average: Axis must be specified when shapes of a "
                                "and weights differ.")
            if shape_of(w) != tuple(shape[ax] for ax in ordered):
                raise ValueError("ftx.numpy.average: Shape of weights must be consistent with "
                                 f"shape of a along specified axis (a {tuple(shape)}, weights "
                                 f"{tuple(shape_of(w))}, axis {axis}).")
            perm = tuple(int(i) for i in np.argsort(ordered))
            if perm != tuple(range(len(perm))):
                w = lax.transpose(w, perm)
            w = lax.reshape(w, tuple(s if ax in ordered else 1 for ax, s in enumerate(shape)))
        scl = _sum_prod("average", w, axes, rdt, None, keep, _NoValue, _NoValue, True)
        weighted = _mul(cast(x, rdt), cast(w, rdt))
        avg = _true_divide(_sum_prod("average", weighted, axes, rdt, None, keep, _NoValue,
                                     _NoValue, True), scl)
    if not returned:
        return avg
    if shape_of(scl) != shape_of(avg):
        scl = broadcast_to(scl if not isinstance(scl, np.generic) else np.asarray(scl),
                           shape_of(avg), "average")
    return avg, scl


# =========================================================================== median, quantile


def _mean_dtype(dt) -> np.dtype:
    """The dtype ``np.mean`` returns for ``dt``."""
    return _F64 if dt.kind in "biu" else dt


@eager_numpy(np.median)
def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """The median along ``axis``: the mean of the middle element(s), NaN if the slice has one."""
    _no_out(out, "median")
    x = _arr(a, "median")
    shape = shape_of(x)
    axes = canonicalize_axes(axis, len(shape), "median")
    xs, n = _merge_reduced(x, axes)
    dt = dtype_of(x)
    out_dtype = _mean_dtype(dt)
    if n == 0:  # np.median of nothing is the mean of nothing: NaN
        result = broadcast_to(_scalar(np.nan, out_dtype), shape_of(xs)[:-1], "median")
    else:
        last = len(shape_of(xs)) - 1
        s = lax.sort(xs, dimension=last)
        acc = _F32 if dt == _F16 else out_dtype  # what np.mean accumulates in
        if n % 2:
            result = cast(_take(s, n // 2, last), acc)
        else:
            pair = lax.add(cast(_take(s, n // 2 - 1, last), acc), cast(_take(s, n // 2, last), acc))
            result = lax.div(pair, 2)
        result = cast(result, out_dtype)
        if dt.kind in "fc":  # NaNs sort last: a slice with a NaN has a NaN median
            biggest = _take(s, n - 1, last)
            result = lax.select_n(_isnan(biggest), result, cast(biggest, out_dtype))
    keep_shape = tuple(1 if i in axes else d for i, d in enumerate(shape))
    return lax.reshape(result, keep_shape) if keepdims else result


def _lerp(a, b, t):
    """NumPy's ``_lerp``: ``a + (b-a)*t``, or ``b - (b-a)*(1-t)`` where ``t >= 0.5``."""
    diff = _sub(b, a)
    low = _add(a, _mul(diff, t))
    out_dtype = dtype_of(low)
    high = lax.sub(cast(b, out_dtype), cast(_mul(diff, 1 - t), out_dtype))
    upper = np.asarray(t) >= 0.5
    if upper.all():
        return high
    if not upper.any():
        return low
    return _where(upper, high, low, "quantile")


def _quantile_impl(name, a, q, axis, keepdims, weak_q):
    """NumPy's 'linear' quantile for a concrete ``q`` already in [0, 1]."""
    x = _arr(a, name)
    dt = dtype_of(x)
    if dt.kind == "c":
        raise TypeError(f"ftx.numpy.{name}: a must be an array of real numbers")
    if q.ndim > 2:
        raise ValueError(f"ftx.numpy.{name}: q must be a scalar or 1d")
    shape = shape_of(x)
    axes = canonicalize_axes(axis, len(shape), name)
    xs, n = _merge_reduced(x, axes)
    xs = _moveaxis(xs, len(shape_of(xs)) - 1, 0)  # samples first: q's axes lead the result
    rest = shape_of(xs)[1:]
    if n == 0:
        raise IndexError(f"ftx.numpy.{name}: cannot take a quantile of an empty slice "
                         f"(shape {tuple(shape)}, axis {axis})")
    s = lax.sort(xs, dimension=0)
    virtual = np.asanyarray((n - 1) * q)
    if virtual.dtype.kind in "biu":  # integer positions: no interpolation (NumPy keeps x's dtype)
        result = _take_static(s, virtual)
    else:
        # NumPy's _get_indexes/_get_gamma, on the concrete positions.
        prev = np.floor(virtual)
        nxt = prev + 1
        above = virtual >= n - 1
        prev, nxt = np.where(above, -1, prev), np.where(above, -1, nxt)
        below = virtual < 0
        prev, nxt = np.where(below, 0, prev), np.where(below, 0, nxt)
        nans = np.isnan(virtual)
        prev, nxt = np.where(nans, -1, prev).astype(np.intp), np.where(nans, -1, nxt).astype(np.intp)
        gamma = np.asanyarray(virtual - prev, dtype=virtual.dtype)
        t = float(gamma) if weak_q else gamma.reshape(gamma.shape + (1,) * len(rest))
        result = _lerp(_take_static(s, prev), _take_static(s, nxt), t)
    if dt.kind == "f":  # a slice holding a NaN (sorted last) has a NaN quantile
        biggest = _take(s, n - 1, 0)
        result = _where(_isnan(biggest), cast(biggest, dtype_of(result)), result, name)
    if keepdims:
        keep_shape = tuple(1 if i in axes else d for i, d in enumerate(shape))
        result = lax.reshape(result, q.shape + keep_shape)
    return result


def _check_quantile_args(name, method, weights, interpolation, out):
    _no_out(out, name)
    if interpolation is not None:
        raise NotImplementedError(f"ftx.numpy.{name}: the deprecated interpolation= argument "
                                  "is not supported; use method='linear'")
    if method != "linear":
        raise NotImplementedError(f"ftx.numpy.{name}: only method='linear' is supported, got "
                                  f"{method!r}")
    if weights is not None:
        raise NotImplementedError(f"ftx.numpy.{name}: weights= is not supported")


@eager_numpy(np.quantile)
def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False,
             *, weights=None, interpolation=None):
    """The ``q``-th quantile(s) along ``axis`` (linear; ``q`` concrete). ``quantile(x, 0.25)``."""
    _check_quantile_args("quantile", method, weights, interpolation, out)
    q = concrete_or_error(q, "q", "ftx.numpy.quantile")
    weak_q = type(q) in (int, float)
    q = np.asanyarray(q)
    if not (q.size == 0 or (q.min() >= 0 and q.max() <= 1)):
        raise ValueError("ftx.numpy.quantile: Quantiles must be in the range [0, 1]")
    return _quantile_impl("quantile", a, q, axis, keepdims, weak_q)


@eager_numpy(np.percentile)
def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
               keepdims=False, *, weights=None, interpolation=None):
    """The ``q``-th percentile(s) along ``axis`` (``q`` concrete). ``percentile(x, 90)``."""
    _check_quantile_args("percentile", method, weights, interpolation, out)
    q = concrete_or_error(q, "q", "ftx.numpy.percentile")
    weak_q = type(q) in (int, float)
    q = np.asanyarray(np.true_divide(q, 100))
    if not (q.size == 0 or (q.min() >= 0 and q.max() <= 1)):
        raise ValueError("ftx.numpy.percentile: Percentiles must be in the range [0, 100]")
    return _quantile_impl("percentile", a, q, axis, keepdims, weak_q)


# =========================================================================== NaN-ignoring


def _nan_to(x, value):
    """``x`` with NaNs replaced by ``value`` (only floating arrays can hold NaN)."""
    if dtype_of(x).kind not in "fc":
        return x
    return _select(lax.bitwise_not(_isnan(x)), x, value)


@eager_numpy(np.nansum)
def nansum(a, axis=None, dtype=None, out=None, keepdims=_NoValue, initial=_NoValue,
           where=_NoValue):
    """``sum`` treating NaN as zero. ``nansum(x, axis=0)``."""
    return _sum_prod("nansum", _nan_to(_arr(a, "nansum"), 0), axis, dtype, out, keepdims,
                     initial, where, True)


@eager_numpy(np.nanprod)
def nanprod(a, axis=None, dtype=None, out=None, keepdims=_NoValue, initial=_NoValue,
            where=_NoValue):
    """``prod`` treating NaN as one. ``nanprod(x, axis=0)``."""
    return _sum_prod("nanprod", _nan_to(_arr(a, "nanprod"), 1), axis, dtype, out, keepdims,
                     initial, where, False)


def _nan_count(x, axes, mask, keepdims):
    """Non-NaN elements per slice (restricted to ``where``), as intp."""
    valid = lax.bitwise_not(_isnan(x))
    if mask is not None:
        valid = lax.bitwise_and(valid, mask)
    count = _reduce(lax.reduce_sum, lax.convert_element_type(valid, _INTP), axes)
    return _keep(count, shape_of(x), axes, keepdims)


def _check_inexact_dtype(name, dtype):
    if dtype is not None and np.dtype(dtype).kind not in "fc":
        raise TypeError(f"ftx.numpy.{name}: If a is inexact, then dtype must be inexact")


@eager_numpy(np.nanmean)
def nanmean(a, axis=None, dtype=None, out=None, keepdims=_NoValue, *, where=_NoValue):
    """``mean`` of the non-NaN elements (NaN for an all-NaN slice). ``nanmean(x, axis=1)``."""
    _no_out(out, "nanmean")
    x = _arr(a, "nanmean")
    if dtype_of(x).kind not in "fc":
        return _mean_impl("nanmean", x, axis, dtype, keepdims, where)
    _check_inexact_dtype("nanmean", dtype)
    shape = shape_of(x)
    axes = canonicalize_axes(axis, len(shape), "nanmean")
    mask = _mask(where, shape, "nanmean")
    keep = _keepdims(keepdims)
    count = _nan_count(x, axes, mask, keep)
    total = _sum_prod("nanmean", _nan_to(x, 0), axes, dtype, None, keep, _NoValue, where, True)
    return _divide_into(total, count, dtype_of(total))


def _nanvar_impl(name, a, axis, dtype, ddof, keepdims, where, mean_value):
    x = _arr(a, name)
    if dtype_of(x).kind not in "fc":
        return _var_impl(name, x, axis, dtype, ddof, keepdims, where, mean_value)
    _check_inexact_dtype(name, dtype)
    shape = shape_of(x)
    axes = canonicalize_axes(axis, len(shape), name)
    mask = _mask(where, shape, name)
    nan = _isnan(x)
    arr = _nan_to(x, 0)
    count = _nan_count(x, axes, mask, True)
    if mean_value is not _NoValue:
        avg = asarray(mean_value, name)
    else:
        total = _sum_prod(name, arr, axes, dtype, None, True, _NoValue, where, True)
        avg = _divide_into(total, count, dtype_of(total))
    dev = cast(_sub(arr, avg), dtype_of(arr))  # NumPy subtracts in place, into arr's dtype
    dev = _select(lax.bitwise_not(nan), dev, 0)
    if dtype_of(dev).kind == "c":
        re, im = lax.real(dev), lax.imag(dev)
        sq = lax.add(lax.mul(re, re), lax.mul(im, im))
    else:
        sq = lax.mul(dev, dev)
    keep = _keepdims(keepdims)
    total = _sum_prod(name, sq, axes, dtype, None, keep, _NoValue, where, True)
    if not keep:
        count = lax.reshape(count, shape_of(total))
    dof = lax.sub(count, _scalar(ddof, _INTP))
    result = _divide_into(total, dof, dtype_of(total))
    return _select(lax.gt(dof, _scalar(0, _INTP)), result, np.nan)


@eager_numpy(np.nanvar)
def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NoValue, *, where=_NoValue,
           mean=_NoValue, correction=_NoValue):
    """``var`` of the non-NaN elements. ``nanvar(x, axis=0, ddof=1)``."""
    _no_out(out, "nanvar")
    return _nanvar_impl("nanvar", a, axis, dtype, _ddof(ddof, correction, "nanvar"), keepdims,
                        where, mean)


@eager_numpy(np.nanstd)
def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NoValue, *, where=_NoValue,
           mean=_NoValue, correction=_NoValue):
    """``std`` of the non-NaN elements. ``nanstd(x, axis=0)``."""
    _no_out(out, "nanstd")
    return _sqrt(_nanvar_impl("nanstd", a, axis, dtype, _ddof(ddof, correction, "nanstd"),
                              keepdims, where, mean))


def _nan_extreme(name, a, axis, out, keepdims, initial, where, is_max):
    x = _arr(a, name)
    if dtype_of(x).kind != "f":
        return _extreme(name, x, axis, out, keepdims, initial, where, is_max)
    _no_out(out, name)
    shape = shape_of(x)
    axes = canonicalize_axes(axis, len(shape), name)
    nan = _isnan(x)
    filled = _select(lax.bitwise_not(nan), x, -np.inf if is_max else np.inf)
    result = _extreme(name, filled, axes, None, False, initial, where, is_max)
    if initial is _NoValue:  # an all-NaN slice gives NaN (with initial, fmax gives initial)
        all_nan = _reduce(lax.reduce_and, nan, axes)
        result = _select(lax.bitwise_not(all_nan), result, np.nan)
    return _keep(result, shape, axes, _keepdims(keepdims))


@eager_numpy(np.nanmax)
def nanmax(a, axis=None, out=None, keepdims=_NoValue, initial=_NoValue, where=_NoValue):
    """``max`` ignoring NaNs (NaN only for an all-NaN slice). ``nanmax(x, axis=0)``."""
    return _nan_extreme("nanmax", a, axis, out, keepdims, initial, where, True)


@eager_numpy(np.nanmin)
def nanmin(a, axis=None, out=None, keepdims=_NoValue, initial=_NoValue, where=_NoValue):
    """``min`` ignoring NaNs (NaN only for an all-NaN slice). ``nanmin(x, axis=0)``."""
    return _nan_extreme("nanmin", a, axis, out, keepdims, initial, where, False)


def _nan_arg_extreme(name, a, axis, out, keepdims, is_max):
    x = _arr(a, name)
    if dtype_of(x).kind != "f":
        return _arg_extreme(name, x, axis, out, keepdims, is_max)
    nan = _isnan(x)
    filled = _select(lax.bitwise_not(nan), x, -np.inf if is_max else np.inf)
    result = _arg_extreme(name, filled, axis, out, keepdims, is_max)
    # NumPy raises for an all-NaN slice, which needs concrete values; like JAX, return -1.
    all_nan = _logical(name, nan, axis, None, keepdims, _NoValue, False)
    return _select(lax.bitwise_not(all_nan), result, -1)


@eager_numpy(np.nanargmax)
def nanargmax(a, axis=None, out=None, *, keepdims=_NoValue):
    """``argmax`` ignoring NaNs. Under a transform an all-NaN slice gives -1 (NumPy raises)."""
    return _nan_arg_extreme("nanargmax", a, axis, out, keepdims, True)


@eager_numpy(np.nanargmin)
def nanargmin(a, axis=None, out=None, *, keepdims=_NoValue):
    """``argmin`` ignoring NaNs. Under a transform an all-NaN slice gives -1 (NumPy raises)."""
    return _nan_arg_extreme("nanargmin", a, axis, out, keepdims, False)


@eager_numpy(np.count_nonzero)
def count_nonzero(a, axis=None, *, keepdims=False):
    """How many elements along ``axis`` are nonzero (int64). ``count_nonzero(x, axis=0)``."""
    x = _arr(a, "count_nonzero")
    shape = shape_of(x)
    axes = canonicalize_axes(axis, len(shape), "count_nonzero")
    counts = lax.convert_element_type(_to_bool(x), _INTP)
    return _keep(_reduce(lax.reduce_sum, counts, axes), shape, axes, keepdims)


# =========================================================================== cumulative


def _accumulate(x, axis: int, dtype, is_sum: bool):
    dtype = _accum_dtype(dtype_of(x)) if dtype is None else np.dtype(dtype)
    x = cast(x, dtype)
    if dtype.kind == "b":  # running logical or / and, as NumPy's bool add/multiply
        return (lax.cummax if is_sum else lax.cummin)(x, axis)
    return (lax.cumsum if is_sum else lax.cumprod)(x, axis)


def _cum(name, a, axis, dtype, out, is_sum, nan_value=None):
    _no_out(out, name)
    x = _arr(a, name)
    if nan_value is not None:
        x = _nan_to(x, nan_value)
    if axis is None:
        x, axis = _flatten(x) if shape_of(x) else lax.reshape(x, (1,)), 0
    else:
        axis = canonicalize_axis(axis, len(shape_of(x)), name)
    return _accumulate(x, axis, dtype, is_sum)


@eager_numpy(np.cumsum)
def cumsum(a, axis=None, dtype=None, out=None):
    """Running sums along ``axis`` (of the flattened array for None). ``cumsum(x, axis=0)``."""
    return _cum("cumsum", a, axis, dtype, out, True)


@eager_numpy(np.cumprod)
def cumprod(a, axis=None, dtype=None, out=None):
    """Running products along ``axis``. ``cumprod(x, axis=1)``."""
    return _cum("cumprod", a, axis, dtype, out, False)


@eager_numpy(np.nancumsum)
def nancumsum(a, axis=None, dtype=None, out=None):
    """``cumsum`` treating NaN as zero. ``nancumsum(x)``."""
    return _cum("nancumsum", a, axis, dtype, out, True, nan_value=0)


@eager_numpy(np.nancumprod)
def nancumprod(a, axis=None, dtype=None, out=None):
    """``cumprod`` treating NaN as one. ``nancumprod(x)``."""
    return _cum("nancumprod", a, axis, dtype, out, False, nan_value=1)


def _cumulative(name, x, axis, dtype, out, include_initial, is_sum):
    _no_out(out, name)
    x = _arr(x, name)
    if not shape_of(x):
        x = lax.reshape(x, (1,))
    ndim = len(shape_of(x))
    if axis is None:
        if ndim >= 2:
            raise ValueError(f"ftx.numpy.{name}: For arrays which have more than one dimension "
                             "``axis`` argument is required.")
        axis = 0
    axis = canonicalize_axis(axis, ndim, name)
    result = _accumulate(x, axis, dtype, is_sum)
    if include_initial:
        init_shape = tuple(1 if i == axis else d for i, d in enumerate(shape_of(result)))
        init = np.full(init_shape, 0 if is_sum else 1, dtype=dtype_of(result))
        result = lax.concatenate([init, result], axis)
    return result


@eager_numpy(np.cumulative_sum)
def cumulative_sum(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
    """NumPy 2's ``cumsum`` (``axis`` required for n-d input; ``include_initial`` prepends 0)."""
    return _cumulative("cumulative_sum", x, axis, dtype, out, include_initial, True)


@eager_numpy(np.cumulative_prod)
def cumulative_prod(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
    """NumPy 2's ``cumprod`` (``include_initial`` prepends 1). ``cumulative_prod(x, axis=0)``."""
    return _cumulative("cumulative_prod", x, axis, dtype, out, include_initial, False)


# =========================================================================== differences


@eager_numpy(np.diff)
def diff(a, n=1, axis=-1, prepend=_NoValue, append=_NoValue):
    """The ``n``-th discrete difference along ``axis`` (``!=`` for bool). ``diff(x, n=2)``."""
    n = operator.index(concrete_or_error(n, "n", "ftx.numpy.diff"))
    if n == 0:
        return a
    if n < 0:
        raise ValueError(f"ftx.numpy.diff: order must be non-negative but got {n!r}")
    x = _arr(a, "diff")
    ndim = len(shape_of(x))
    if ndim == 0:
        raise ValueError("ftx.numpy.diff: diff requires input that is at least one dimensional")
    axis = canonicalize_axis(axis, ndim, "diff")
    parts = []
    for extra in (prepend, None, append):
        if extra is None:
            parts.append(x)
        elif extra is not _NoValue:
            extra = _arr(extra, "diff")
            if not shape_of(extra):
                edge = tuple(1 if i == axis else d for i, d in enumerate(shape_of(x)))
                extra = broadcast_to(extra, edge, "diff")
            parts.append(extra)
    x = _concatenate(parts, axis)
    op = lax.ne if dtype_of(x).kind == "b" else lax.sub
    for _ in range(n):
        x = op(_slice(x, 1, None, axis), _slice(x, None, -1, axis))
    return x


@eager_numpy(np.ediff1d)
def ediff1d(ary, to_end=None, to_begin=None):
    """Differences of the flattened array, with extra values around. ``ediff1d(x, to_begin=0)``."""
    x = _flatten(_arr(ary, "ediff1d"))
    dt = dtype_of(x)
    parts = [lax.sub(_slice(x, 1, None, 0), _slice(x, None, -1, 0))]
    for extra, where_, front in ((to_begin, "to_begin", True), (to_end, "to_end", False)):
        if extra is None:
            continue
        extra = _arr(extra, "ediff1d")
        if not np.can_cast(dtype_of(extra), dt, casting="same_kind"):
            raise TypeError(f"ftx.numpy.ediff1d: dtype of `{where_}` must be compatible with "
                            "input `ary` under the `same_kind` rule.")
        extra = _flatten(cast(extra, dt)) if shape_of(extra) else lax.reshape(cast(extra, dt), (1,))
        if front:
            parts.insert(0, extra)
        else:
            parts.append(extra)
    return parts[0] if len(parts) == 1 else lax.concatenate(parts, 0)


@eager_numpy(np.trapezoid)
def trapezoid(y, x=None, dx=1.0, axis=-1):
    """Integral of ``y`` by the trapezoidal rule along ``axis``. ``trapezoid(y, x)``."""
    y = _arr(y, "trapezoid")
    ndim = len(shape_of(y))
    axis = canonicalize_axis(axis, ndim, "trapezoid")
    if x is None:
        d = asarray(dx, "trapezoid")
    else:
        x = _arr(x, "trapezoid")
        if len(shape_of(x)) == 1:
            d = diff(x)
            d = lax.reshape(d, tuple(shape_of(d)[0] if i == axis else 1 for i in range(ndim)))
        else:
            d = diff(x, axis=axis)
    heights = _add(_slice(y, 1, None, axis), _slice(y, None, -1, axis))
    return sum(_true_divide(_mul(d, heights), 2.0), axis=axis)
