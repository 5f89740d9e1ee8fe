"""Slicing and indexing primitives: slice, dynamic_slice, dynamic_update_slice, gather, scatter*.

Each block holds one primitive's NumPy impl and abstract eval; the user-facing
wrappers (``ftx.lax.slice`` ...) follow at the end, as in jax.lax.

``gather`` and the ``scatter`` family are ftx's own, simpler than XLA's general
gather: k integer index arrays of one shape S index k *consecutive* axes of the
operand starting at ``axis``, so ``gather(x, i, j, axis=1)`` is NumPy's
``x[:, i, j]`` with shape ``x.shape[:1] + S + x.shape[3:]``. Negative indices
are not wrapped (ftx.numpy normalises them); out-of-range indices are clamped
or filled (gather) and dropped or clamped (scatter), as JAX documents.
"""
from __future__ import annotations

import builtins

import numpy as np

from ftx.core.avals import ShapedArray
from ftx.core.primitive import Primitive
from ftx.lax._shape_rules import check_int_param, describe
from ftx.lax.shape import expand_dims as _expand_dims, squeeze as _squeeze

__all__ = [
    "slice_p", "dynamic_slice_p", "dynamic_update_slice_p", "gather_p", "scatter_p",
    "scatter_add_p", "scatter_mul_p", "scatter_min_p", "scatter_max_p",
    "slice", "slice_in_dim", "index_in_dim", "dynamic_slice", "dynamic_slice_in_dim",
    "dynamic_index_in_dim", "dynamic_update_slice", "dynamic_update_slice_in_dim",
    "dynamic_update_index_in_dim", "gather", "scatter", "scatter_add", "scatter_mul",
    "scatter_min", "scatter_max",
]

# --------------------------------------------------------------------------- slice
# Static start/limit/stride per axis; strides=None means all ones.


def _slice_impl(x, *, start_indices, limit_indices, strides):
    strides = strides or (1,) * len(start_indices)
    return [np.asarray(x)[tuple(builtins.slice(s, l, st) for s, l, st
                                in zip(start_indices, limit_indices, strides))]]


def _slice_abstract_eval(x, *, start_indices, limit_indices, strides):
    if len(start_indices) != x.ndim or len(limit_indices) != x.ndim or \
            (strides is not None and len(strides) != x.ndim):
        raise ValueError(f"slice: start_indices {start_indices}, limit_indices {limit_indices} "
                         f"and strides {strides} need one entry per axis of {x.str_short()}")
    strides = strides or (1,) * x.ndim
    shape = []
    for ax, (n, s, l, st) in enumerate(zip(x.shape, start_indices, limit_indices, strides)):
        if not 0 <= s <= l <= n:
            raise ValueError(f"slice: axis {ax} needs 0 <= start <= limit <= {n}, got start {s} "
                             f"and limit {l} for operand {x.str_short()}")
        if st < 1:
            raise ValueError(f"slice: strides must be positive, got {strides} for {x.str_short()}")
        shape.append(-(-(l - s) // st))
    return [ShapedArray(shape, x.dtype)]


slice_p = Primitive("slice")
slice_p.def_impl(_slice_impl)
slice_p.def_abstract_eval(_slice_abstract_eval)

# --------------------------------------------------------------------------- dynamic_slice
# Operands: x, then one scalar integer start per axis (traced allowed). Starts are
# clamped so that the slice fits: 0 <= start <= dim - size (JAX semantics).


def _clamped_starts(starts, shape, sizes):
    return [builtins.min(builtins.max(int(s), 0), n - size)
            for s, n, size in zip(starts, shape, sizes)]


def _dynamic_slice_impl(x, *starts, slice_sizes):
    x = np.asarray(x)
    starts = _clamped_starts(starts, x.shape, slice_sizes)
    return [x[tuple(builtins.slice(s, s + size) for s, size in zip(starts, slice_sizes))]]


def _check_start_indices(name, x, starts):
    if len(starts) != x.ndim:
        raise ValueError(f"{name}: needs one start index per axis of {x.str_short()}, "
                         f"got {len(starts)} ({describe(starts)})")
    for s in starts:
        if s.shape != () or s.dtype.kind not in "iu":
            raise TypeError(f"{name}: start indices must be integer scalars, "
                            f"got ({describe(starts)})")


def _dynamic_slice_abstract_eval(x, *starts, slice_sizes):
    _check_start_indices("dynamic_slice", x, starts)
    if len(slice_sizes) != x.ndim or any(not 0 <= size <= n for size, n in zip(slice_sizes, x.shape)):
        raise ValueError(f"dynamic_slice: slice_sizes {slice_sizes} must give one size per axis, "
                         f"each between 0 and the axis length of {x.str_short()}")
    return [ShapedArray(slice_sizes, x.dtype)]


dynamic_slice_p = Primitive("dynamic_slice")
dynamic_slice_p.def_impl(_dynamic_slice_impl)
dynamic_slice_p.def_abstract_eval(_dynamic_slice_abstract_eval)

# --------------------------------------------------------------------------- dynamic_update_slice
# Operands: x, update, then one scalar integer start per axis, clamped as in dynamic_slice.


def _dynamic_update_slice_impl(x, update, *starts):
    out = np.array(x, copy=True)
    update = np.asarray(update)
    starts = _clamped_starts(starts, out.shape, update.shape)
    out[tuple(builtins.slice(s, s + n) for s, n in zip(starts, update.shape))] = update
    return [out]


def _dynamic_update_slice_abstract_eval(x, update, *starts):
    if update.dtype != x.dtype:
        raise TypeError(f"dynamic_update_slice: update dtype must match the operand, "
                        f"got ({describe([x, update])})")
    if update.ndim != x.ndim or any(u > n for u, n in zip(update.shape, x.shape)):
        raise ValueError(f"dynamic_update_slice: update must have the operand's rank and fit "
                         f"inside it, got ({describe([x, update])})")
    _check_start_indices("dynamic_update_slice", x, starts)
    return [x.strip_weak_type()]


dynamic_update_slice_p = Primitive("dynamic_update_slice")
dynamic_update_slice_p.def_impl(_dynamic_update_slice_impl)
dynamic_update_slice_p.def_abstract_eval(_dynamic_update_slice_abstract_eval)

# --------------------------------------------------------------------------- shared by gather/scatter


def _index_shape(name, operand, indices, axis):
    """Check the index operands of gather/scatter; return their common shape S."""
    if not indices:
        raise ValueError(f"{name}: needs at least one index array (operand {operand.str_short()})")
    if not 0 <= axis or axis + len(indices) > operand.ndim:
        raise ValueError(f"{name}: {len(indices)} index arrays starting at axis {axis} do not fit "
                         f"the axes of {operand.str_short()}")
    for i in indices:
        if i.dtype.kind not in "iu":
            raise TypeError(f"{name}: index arrays must have an integer dtype, "
                            f"got ({describe(indices)})")
    if len({i.shape for i in indices}) != 1:
        raise ValueError(f"{name}: index arrays must all have the same shape (broadcast them "
                         f"first), got ({describe(indices)})")
    return indices[0].shape


def _gather_shape(operand, index_shape, axis, k):
    return operand.shape[:axis] + tuple(index_shape) + operand.shape[axis + k:]


def _as_intp(i, n):
    """Indices as intp without wrapping huge unsigned values into negative ones."""
    i = np.asarray(i)
    if i.dtype.kind == "u" and i.dtype.itemsize >= np.dtype(np.intp).itemsize:
        i = np.minimum(i, np.uint64(n))
    return i.astype(np.intp)


def _in_bounds(indices, dims):
    valid = np.ones(np.shape(indices[0]), dtype=bool)
    for i, n in zip(indices, dims):
        valid &= (i >= 0) & (i < n)
    return valid


def default_fill_value(dtype):
    """JAX's fill for out-of-range gathers: NaN, the most negative int, the largest uint, True."""
    dtype = np.dtype(dtype)
    if dtype.kind in "fc":
        return np.nan
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return int(info.min if dtype.kind == "i" else info.max)
    return True


# --------------------------------------------------------------------------- gather
# gather(operand, *indices, axis, mode, fill_value): operand[(:,)*axis + indices].
# mode "clip" clamps each index into its axis; "fill" gives fill_value (None: the
# dtype's default_fill_value) wherever any index is out of range.


def _gather_impl(operand, *indices, axis, mode, fill_value):
    operand = np.asarray(operand)
    dims = operand.shape[axis:axis + len(indices)]
    idx = [_as_intp(i, n) for i, n in zip(indices, dims)]
    out_shape = _gather_shape(operand, idx[0].shape, axis, len(idx))
    lead = (builtins.slice(None),) * axis
    if mode == "clip":
        if 0 in dims:  # no element to clamp to; documented as zeros
            return [np.zeros(out_shape, operand.dtype)]
        return [operand[lead + tuple(np.clip(i, 0, n - 1) for i, n in zip(idx, dims))]]
    fill = np.asarray(default_fill_value(operand.dtype) if fill_value is None else fill_value)
    if fill.dtype.kind == "c" and operand.dtype.kind != "c":
        fill = fill.real
    fill = fill.astype(operand.dtype)
    if 0 in dims:
        return [np.full(out_shape, fill, operand.dtype)]
    valid = _in_bounds(idx, dims)
    safe = tuple(np.where(valid, i, 0) for i in idx)
    mask = valid.reshape((1,) * axis + valid.shape + (1,) * (operand.ndim - axis - len(idx)))
    return [np.where(mask, operand[lead + safe], fill).astype(operand.dtype, copy=False)]


def _gather_abstract_eval(operand, *indices, axis, mode, fill_value):
    if mode not in ("clip", "fill"):
        raise ValueError(f"gather: mode must be 'clip' or 'fill', got {mode!r}")
    index_shape = _index_shape("gather", operand, indices, axis)
    return [ShapedArray(_gather_shape(operand, index_shape, axis, len(indices)), operand.dtype)]


gather_p = Primitive("gather")
gather_p.def_impl(_gather_impl)
gather_p.def_abstract_eval(_gather_abstract_eval)

# --------------------------------------------------------------------------- scatter family
# scatter*(operand, updates, *indices, axis, mode): updates has exactly the shape
# gather(operand, *indices, axis=axis) would have. mode "drop" skips updates whose
# index is out of range, "clip" clamps the index. Duplicate indices accumulate
# for add/mul/min/max (NumPy's ufunc.at); for plain scatter which duplicate wins
# is unspecified (the NumPy impl happens to keep the last). The operand is copied.


def _make_scatter_impl(ufunc):
    def impl(operand, updates, *indices, axis, mode):
        out = np.array(operand, copy=True)
        updates = np.asarray(updates)
        dims = out.shape[axis:axis + len(indices)]
        if 0 in dims:  # nothing can be addressed; every update is out of range
            return [out]
        idx = [_as_intp(i, n) for i, n in zip(indices, dims)]
        lead = (builtins.slice(None),) * axis
        if mode == "clip":
            idx = [np.clip(i, 0, n - 1) for i, n in zip(idx, dims)]
        else:
            # Keep only in-range positions: a boolean mask over the S axes of the
            # updates (a 0-d mask adds a length-1/0 axis, consistently on both sides).
            valid = _in_bounds(idx, dims)
            idx = [i[valid] for i in idx]
            updates = updates[lead + (valid,)]
        target = lead + tuple(idx)
        if ufunc is None:
            out[target] = updates
        else:
            ufunc.at(out, target, updates)
        return [out]

    return impl


def _make_scatter_abstract_eval(name):
    def abstract_eval(operand, updates, *indices, axis, mode):
        if mode not in ("drop", "clip"):
            raise ValueError(f"{name}: mode must be 'drop' or 'clip', got {mode!r}")
        index_shape = _index_shape(name, operand, indices, axis)
        if updates.dtype != operand.dtype:
            raise TypeError(f"{name}: updates dtype must match the operand, "
                            f"got ({describe([operand, updates])})")
        expected = _gather_shape(operand, index_shape, axis, len(indices))
        if updates.shape != expected:
            raise ValueError(f"{name}: updates must have shape {expected} (operand.shape[:axis] "
                             f"+ index shape + the remaining axes), got "
                             f"({describe([operand, updates, *indices])}) with axis={axis}")
        return [operand.strip_weak_type()]

    return abstract_eval


def _scatter_primitive(name, ufunc):
    prim = Primitive(name)
    prim.def_impl(_make_scatter_impl(ufunc))
    prim.def_abstract_eval(_make_scatter_abstract_eval(name))
    return prim


scatter_p = _scatter_primitive("scatter", None)
scatter_add_p = _scatter_primitive("scatter_add", np.add)
scatter_mul_p = _scatter_primitive("scatter_mul", np.multiply)
scatter_min_p = _scatter_primitive("scatter_min", np.minimum)
scatter_max_p = _scatter_primitive("scatter_max", np.maximum)


# =========================================================================== user-facing lax API

def _int_tuple(xs) -> tuple:
    return tuple(int(x) for x in xs)


def _shape(x) -> tuple:
    return tuple(x.shape) if hasattr(x, "aval") or isinstance(x, np.ndarray) else np.shape(x)


def _axis(axis, ndim, name) -> int:
    axis = check_int_param(name, axis, "axis")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}: axis {axis} is out of bounds for an operand of rank {ndim}")
    return axis % ndim


def slice(operand, start_indices, limit_indices, strides=None):  # noqa: A001 - the lax name
    """``slice(x, (1, 0), (3, 4), (1, 2))`` is ``x[1:3, 0:4:2]`` (static, non-negative bounds)."""
    strides = None if strides is None or all(s == 1 for s in strides) else _int_tuple(strides)
    return slice_p.bind1(operand, start_indices=_int_tuple(start_indices),
                         limit_indices=_int_tuple(limit_indices), strides=strides)


def slice_in_dim(operand, start_index, limit_index, stride=1, axis=0):
    """``slice_in_dim(x, 1, 3, axis=1)`` is ``x[:, 1:3]``; None and negative bounds count as in Python."""
    shape = _shape(operand)
    axis = _axis(axis, len(shape), "slice_in_dim")
    n = shape[axis]
    start = 0 if start_index is None else int(start_index)
    limit = n if limit_index is None else int(limit_index)
    start, limit = start + n if start < 0 else start, limit + n if limit < 0 else limit
    starts, limits, strides = [0] * len(shape), list(shape), [1] * len(shape)
    starts[axis], limits[axis], strides[axis] = start, limit, int(stride)
    return slice(operand, starts, limits, strides)


def index_in_dim(operand, index, axis=0, keepdims=True):
    """``index_in_dim(x, -1, axis=0, keepdims=False)`` is ``x[-1]`` (a static index)."""
    shape = _shape(operand)
    axis = _axis(axis, len(shape), "index_in_dim")
    n = shape[axis]
    index = int(index)
    if not -n <= index < n:
        raise IndexError(f"index_in_dim: index {index} is out of bounds for axis {axis} "
                         f"with size {n}")
    index %= n
    out = slice_in_dim(operand, index, index + 1, 1, axis)
    return out if keepdims else _squeeze(out, (axis,))


def dynamic_slice(operand, start_indices, slice_sizes):
    """``dynamic_slice(x, (i, 0), (2, 4))`` is ``x[i:i+2, 0:4]`` with ``i`` possibly traced (clamped to fit)."""
    return dynamic_slice_p.bind1(operand, *start_indices, slice_sizes=_int_tuple(slice_sizes))


def dynamic_slice_in_dim(operand, start_index, slice_size, axis=0):
    """``dynamic_slice_in_dim(x, i, 2, axis=1)`` is ``x[:, i:i+2]`` with a traced ``i``."""
    shape = _shape(operand)
    axis = _axis(axis, len(shape), "dynamic_slice_in_dim")
    starts = [0] * len(shape)
    starts[axis] = start_index
    sizes = list(shape)
    sizes[axis] = int(slice_size)
    return dynamic_slice(operand, starts, sizes)


def dynamic_index_in_dim(operand, index, axis=0, keepdims=True):
    """``dynamic_index_in_dim(x, i, keepdims=False)`` is ``x[i]`` with ``i`` traced (clamped)."""
    out = dynamic_slice_in_dim(operand, index, 1, axis)
    if keepdims:
        return out
    return _squeeze(out, (_axis(axis, len(_shape(operand)), "dynamic_index_in_dim"),))


def dynamic_update_slice(operand, update, start_indices):
    """``dynamic_update_slice(x, u, (i, 0))``: ``x`` with ``x[i:i+u.shape[0], :u.shape[1]]`` replaced by ``u``."""
    return dynamic_update_slice_p.bind1(operand, update, *start_indices)


def dynamic_update_slice_in_dim(operand, update, start_index, axis):
    """``dynamic_update_slice_in_dim(x, u, i, axis=0)``: ``u`` written at ``i`` along ``axis``."""
    shape = _shape(operand)
    axis = _axis(axis, len(shape), "dynamic_update_slice_in_dim")
    starts = [0] * len(shape)
    starts[axis] = start_index
    return dynamic_update_slice(operand, update, starts)


def dynamic_update_index_in_dim(operand, update, index, axis):
    """``dynamic_update_index_in_dim(x, row, i, 0)``: row ``i`` of ``x`` replaced (``row`` may lack ``axis``)."""
    shape = _shape(operand)
    axis = _axis(axis, len(shape), "dynamic_update_index_in_dim")
    if len(_shape(update)) == len(shape) - 1:
        update = _expand_dims(update, (axis,))
    return dynamic_update_slice_in_dim(operand, update, index, axis)


def _check_mode(name, mode, allowed):
    if mode not in allowed:
        raise ValueError(f"{name}: mode must be one of {', '.join(map(repr, allowed))}, "
                         f"got {mode!r}")
    return mode


def _fill_param(fill_value):
    if fill_value is None:
        return None
    if hasattr(fill_value, "aval") or np.ndim(fill_value) != 0:
        raise TypeError(f"gather: fill_value must be a static scalar, got {fill_value!r}")
    return fill_value.item() if isinstance(fill_value, (np.generic, np.ndarray)) else fill_value


def gather(operand, *indices, axis=0, mode="clip", fill_value=None):
    """``gather(x, i, j, axis=1)`` is NumPy's ``x[:, i, j]`` (``i``, ``j`` integer arrays of one shape).

    Out-of-range indices are clamped (``mode="clip"``) or give ``fill_value``
    (``mode="fill"``; default NaN, the most negative int, the largest uint, True).
    Negative indices are out of range: normalise them first.
    """
    return gather_p.bind1(operand, *indices, axis=check_int_param("gather", axis, "axis"),
                          mode=_check_mode("gather", mode, ("clip", "fill")),
                          fill_value=_fill_param(fill_value))


def _scatter_wrapper(prim, name, doc):
    def wrapper(operand, updates, *indices, axis=0, mode="drop"):
        return prim.bind1(operand, updates, *indices, axis=check_int_param(name, axis, "axis"),
                          mode=_check_mode(name, mode, ("drop", "clip")))

    wrapper.__name__ = wrapper.__qualname__ = name
    wrapper.__doc__ = doc
    return wrapper


scatter = _scatter_wrapper(
    scatter_p, "scatter",
    "``scatter(x, u, i, axis=0)``: ``x`` with ``x[i] = u``; out-of-range updates are dropped "
    "(``mode='clip'`` clamps); which of several updates to one index wins is unspecified.")
scatter_add = _scatter_wrapper(
    scatter_add_p, "scatter_add",
    "``scatter_add(x, u, i, axis=0)``: ``x`` with ``u`` added at rows ``i`` (``np.add.at``); "
    "duplicates accumulate, out-of-range updates are dropped.")
scatter_mul = _scatter_wrapper(
    scatter_mul_p, "scatter_mul",
    "``scatter_mul(x, u, i)``: ``np.multiply.at`` on a copy; out-of-range updates are dropped.")
scatter_min = _scatter_wrapper(
    scatter_min_p, "scatter_min",
    "``scatter_min(x, u, i)``: ``np.minimum.at`` on a copy; out-of-range updates are dropped.")
scatter_max = _scatter_wrapper(
    scatter_max_p, "scatter_max",
    "``scatter_max(x, u, i)``: ``np.maximum.at`` on a copy; out-of-range updates are dropped.")
