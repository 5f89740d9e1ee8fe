"""NumPy's sorting and searching: sort, argsort, lexsort, searchsorted, unique.

All are built on the ``sort`` primitive, which sorts several operands by the
first ``num_keys`` of them (NaNs last, ties stable): sorting an ``iota`` along
gives ``argsort``. ``argsort`` is stable by default, in eager mode too, so eager
and traced results agree on ties. ``unique`` needs concrete input, or ``size=``
as in JAX (its output shape cannot depend on traced data).
"""
from __future__ import annotations

import numpy as np

from ftx import lax
from ftx.core.errors import ConcretizationTypeError
from ftx.numpy._core import (canonicalize_axis, concrete_or_error, dtype_of,
                             eager_numpy, is_tracer, promote_dtypes, shape_of)
from ftx.numpy._reductions import _arr, _flatten, _isnan, _scalar, _slice, _take

__all__ = ["sort", "argsort", "lexsort", "searchsorted", "unique"]

_INTP = np.dtype(np.intp)


def _ravel(x):
    return _flatten(x) if shape_of(x) else lax.reshape(x, (1,))


def _sort_axis(x, axis, name):
    if axis is None:
        return _ravel(x), 0
    return x, canonicalize_axis(axis, len(shape_of(x)), name)


def _check_order(order, name):
    if order is not None:
        raise NotImplementedError(f"ftx.numpy.{name}: order= (structured arrays) is not supported")


@eager_numpy(np.sort)
def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """A sorted copy along ``axis`` (flattened for None; NaNs last; ``kind`` ignored). ``sort(x)``."""
    _check_order(order, "sort")
    x, axis = _sort_axis(_arr(a, "sort"), axis, "sort")
    return lax.sort(x, dimension=axis)


def _np_argsort(a, axis=-1, kind=None, order=None, *, stable=None):
    if kind is None and stable is None:
        stable = True  # deterministic ties, equal to the traced version's
    return np.argsort(a, axis=axis, kind=kind, order=order, stable=stable)


@eager_numpy(_np_argsort)
def argsort(a, axis=-1, kind=None, order=None, *, stable=None):
    """Indices that sort ``a`` along ``axis``, stably (ties keep their order). ``argsort(x)``."""
    _check_order(order, "argsort")
    x, axis = _sort_axis(_arr(a, "argsort"), axis, "argsort")
    index = lax.broadcasted_iota(_INTP, shape_of(x), axis)
    return lax.sort((x, index), dimension=axis, num_keys=1)[1]


def _keys_list(keys):
    if is_tracer(keys) or isinstance(keys, np.ndarray):
        if not shape_of(keys):
            raise TypeError("ftx.numpy.lexsort: need a sequence of keys with len > 0")
        return [_take(keys, i, 0) for i in range(shape_of(keys)[0])]
    return [_arr(k, "lexsort") for k in keys]


@eager_numpy(np.lexsort)
def lexsort(keys, axis=-1):
    """Indirect stable sort by several keys, the *last* one primary: ``lexsort((b, a))``."""
    keys = _keys_list(keys)
    if not keys:
        raise TypeError("ftx.numpy.lexsort: need sequence of keys with len > 0 in lexsort")
    shape = shape_of(keys[0])
    if any(shape_of(k) != shape for k in keys):
        raise ValueError(f"ftx.numpy.lexsort: all keys need to be the same shape, got "
                         f"{', '.join(str(tuple(shape_of(k))) for k in keys)}")
    if not shape:
        return np.asarray(0, _INTP)
    axis = canonicalize_axis(axis, len(shape), "lexsort")
    index = lax.broadcasted_iota(_INTP, shape, axis)
    outs = lax.sort(tuple(keys[::-1]) + (index,), dimension=axis, num_keys=len(keys))
    return outs[-1]


@eager_numpy(np.searchsorted)
def searchsorted(a, v, side="left", sorter=None):
    """Where ``v`` would go in the sorted 1-d ``a`` to keep it sorted. ``searchsorted(edges, x)``.

    Computed by counting, for every ``v``, the elements of ``a`` that precede it
    (NaN-aware, as NumPy's sort order), so it costs ``len(a) * v.size``. That
    count does not depend on the order of ``a``, so ``sorter`` needs no gather.
    """
    if side not in ("left", "right"):
        raise ValueError(f"ftx.numpy.searchsorted: side must be 'left' or 'right', got {side!r}")
    a, v = _arr(a, "searchsorted"), _arr(v, "searchsorted")
    if len(shape_of(a)) != 1:
        raise ValueError(f"ftx.numpy.searchsorted: a must be 1-d, got shape {tuple(shape_of(a))}")
    n = shape_of(a)[0]
    if sorter is not None:
        sorter = _arr(sorter, "searchsorted")
        if tuple(shape_of(sorter)) != (n,):
            raise ValueError(f"ftx.numpy.searchsorted: sorter.size must equal a.size ({n}), "
                             f"got shape {tuple(shape_of(sorter))}")
    a, v = promote_dtypes(a, v)
    vshape = tuple(shape_of(v))
    full = vshape + (n,)
    a_b = lax.broadcast_in_dim(a, full, (len(vshape),))
    v_b = lax.broadcast_in_dim(v, full, tuple(range(len(vshape))))
    nan_aware = dtype_of(a).kind in "fc"
    if side == "left":  # a[j] < v in NumPy's order (NaN largest)
        before = lax.lt(a_b, v_b)
        if nan_aware:
            before = lax.bitwise_or(before, lax.bitwise_and(_isnan(v_b),
                                                            lax.bitwise_not(_isnan(a_b))))
    else:  # not (v < a[j])
        after = lax.lt(v_b, a_b)
        if nan_aware:
            after = lax.bitwise_or(after, lax.bitwise_and(_isnan(a_b),
                                                          lax.bitwise_not(_isnan(v_b))))
        before = lax.bitwise_not(after)
    return lax.reduce_sum(lax.convert_element_type(before, _INTP), (len(vshape),))


# =========================================================================== unique


def _np_unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *,
               equal_nan=True, sorted=True, size=None, fill_value=None):  # noqa: A002
    """np.unique, plus JAX's ``size``/``fill_value`` for a static output length."""
    out = np.unique(ar, return_index=return_index, return_inverse=return_inverse,
                    return_counts=return_counts, axis=axis, equal_nan=equal_nan, sorted=sorted)
    if size is None:
        return out
    if axis is not None:
        raise NotImplementedError("ftx.numpy.unique: size= with axis= is not supported")
    size = int(size)
    parts = list(out) if isinstance(out, tuple) else [out]
    values = parts[0]
    if values.size == 0 and fill_value is None and size > 0:
        raise ValueError("ftx.numpy.unique: size > 0 of an empty array needs a fill_value")
    fill = values[0] if fill_value is None else fill_value
    padded = [_pad_to(values, size, fill)]
    names = [name for name, on in (("index", return_index), ("inverse", return_inverse),
                                   ("counts", return_counts)) if on]
    for name, part in zip(names, parts[1:]):
        padded.append(part if name == "inverse" else _pad_to(part, size, 0))
    return tuple(padded) if len(padded) > 1 else padded[0]


def _pad_to(x, size, fill):
    if x.shape[0] >= size:
        return x[:size]
    return np.concatenate([x, np.full(size - x.shape[0], fill, dtype=x.dtype)])


@eager_numpy(_np_unique)
def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *,
           equal_nan=True, sorted=True, size=None, fill_value=None):  # noqa: A002
    """The sorted unique values (and optionally first indices, inverse, counts). ``unique(x)``.

    A traced ``ar`` needs ``size=`` (as in JAX): the result is cut or padded to
    ``size`` entries, padded values are ``fill_value`` (default: the smallest
    value) and padded indices and counts are 0.
    """
    x = _arr(ar, "unique")
    if not is_tracer(x):  # concrete input: NumPy's answer, as constants
        return _np_unique(x, return_index, return_inverse, return_counts, axis,
                          equal_nan=equal_nan, size=size, fill_value=fill_value)
    if size is None:
        raise ConcretizationTypeError(x, "ftx.numpy.unique: the number of unique values depends "
                                         "on the data; pass size= (a static output length) or "
                                         "call unique outside the transform.")
    if axis is not None:
        raise NotImplementedError("ftx.numpy.unique: axis= is not supported for traced input")
    size = int(concrete_or_error(size, "size", "ftx.numpy.unique"))
    flat = _ravel(x)
    n = shape_of(flat)[0]
    if n == 0:
        raise ValueError("ftx.numpy.unique: cannot take unique values of an empty traced array")
    index = lax.iota(_INTP, n)
    s, perm = lax.sort((flat, index), dimension=0, num_keys=1)
    same = lax.eq(_slice(s, 1, None, 0), _slice(s, None, -1, 0))
    if equal_nan and dtype_of(s).kind in "fc":
        nan = _isnan(s)
        same = lax.bitwise_or(same, lax.bitwise_and(_slice(nan, 1, None, 0),
                                                    _slice(nan, None, -1, 0)))
    first = lax.concatenate([np.ones((1,), bool), lax.bitwise_not(same)], 0)
    num_unique = lax.reduce_sum(lax.convert_element_type(first, _INTP), (0,))
    # A stable sort on "not first" moves each run's first element to the front, in order.
    _, values, starts, first_index = lax.sort((lax.bitwise_not(first), s, index, perm),
                                              dimension=0, num_keys=1)

    def fit(y, fill):  # cut or pad to `size`, then fill the entries past num_unique
        y = _slice(y, 0, size, 0) if size <= n else \
            lax.pad(y, _scalar(0, dtype_of(y)), [(0, size - n, 0)])
        valid = lax.lt(lax.iota(_INTP, size), num_unique)
        return lax.select_n(valid, fill, y)

    if fill_value is None:
        fill = _take(s, 0, 0)  # the smallest value, as JAX
    elif is_tracer(fill_value):
        fill = lax.convert_element_type(fill_value, dtype_of(s))
    else:
        fill = np.asarray(fill_value).astype(dtype_of(s))
    outs = [fit(values, fill)]
    zero = _scalar(0, _INTP)
    if return_index:
        outs.append(fit(first_index, zero))
    if return_inverse:
        run = lax.sub(lax.cumsum(lax.convert_element_type(first, _INTP), 0), _scalar(1, _INTP))
        inverse = lax.sort((perm, run), dimension=0, num_keys=1)[1]  # back to input order
        outs.append(lax.reshape(inverse, tuple(shape_of(x))))
    if return_counts:
        valid = lax.lt(index, num_unique)
        starts = lax.select_n(valid, _scalar(n, _INTP), starts)
        ends = lax.concatenate([_slice(starts, 1, None, 0), np.full((1,), n, _INTP)], 0)
        outs.append(fit(lax.sub(ends, starts), zero))
    return tuple(outs) if len(outs) > 1 else outs[0]
