"""Slicing and indexing primitives: slice, dynamic_slice, dynamic_update_slice, gather, scatter*.

Each block holds one primitive's NumPy impl and abstract eval; the user-facing
wrappers (``ftx.lax.slice`` ...) follow at the end, as in jax.lax.

``gather`` and the ``scatter`` family are ftx's own, simpler than XLA's general
gather: k integer index arrays of one shape S index k *consecutive* axes of the
operand starting at ``axis``, so ``gather(x, i, j, axis=1)`` is NumPy's
``x[:, i, j]`` with shape ``x.shape[:1] + S + x.shape[3:]``. Negative indices
are not wrapped (ftx.numpy normalises them); out-of-range indices are clamped
or filled (gather) and dropped or clamped (scatter), as JAX documents.

Transform rules: slice, dynamic_slice and gather are linear in the operand
(their transposes are pad, dynamic_update_slice and scatter_add into zeros);
dynamic_update_slice, scatter_add and scatter are linear in operand and updates
jointly; scatter_mul/min/max have jvp rules only. All of them stay exact when
indices repeat: scatter's transpose gives the cotangent to the update that won
(JAX's assumes unique indices), scatter_mul's jvp forms "the product of the
other updates" without dividing by zero, and scatter_min/max share ties
equally, as lax.max does.
Batched index operands turn a dynamic slice into a gather and every index
array gets a leading batch axis plus an ``iota`` index for the operand's batch
axis, so each batch element reads and writes its own slab.
"""
from __future__ import annotations

import builtins

import numpy as np

from ftx.core.ad_util import Zero, is_undefined, not_mapped
from ftx.core.avals import ShapedArray, get_aval
from ftx.core.primitive import Primitive, def_rule
from ftx.core.trace import Tracer
from ftx.lax import elementwise as _ew
from ftx.lax._ad_rules import add_tangents, deflinear
from ftx.lax._batch_rules import bdim_to, bdim_to_front, moveaxis
from ftx.lax._shape_rules import check_int_param, describe
from ftx.lax.shape import (broadcast_in_dim as _broadcast_in_dim, broadcasted_iota as _iota,
                           expand_dims as _expand_dims, pad as _pad, reshape as _reshape,
                           squeeze as _squeeze, transpose as _transpose)

__all__ = [
    "slice_p", "dynamic_slice_p", "dynamic_update_slice_p", "gather_p", "scatter_p",
    "scatter_add_p", "scatter_mul_p", "scatter_min_p", "scatter_max_p",
    "slice", "slice_in_dim", "index_in_dim", "dynamic_slice", "dynamic_slice_in_dim",
    "dynamic_index_in_dim", "dynamic_update_slice", "dynamic_update_slice_in_dim",
    "dynamic_update_index_in_dim", "gather", "scatter", "scatter_add", "scatter_mul",
    "scatter_min", "scatter_max",
]

# --------------------------------------------------------------------------- helpers for the rules


def _zeros(shape, dtype):
    """Zeros of ``shape``: a broadcast scalar, so traced rules stage no big constant."""
    return _broadcast_in_dim(np.zeros((), dtype), tuple(shape), ())


def _scalar(value, dtype):
    return np.array(value, dtype)


def _iota_dtype(size: int, like=None):
    """An index dtype for an iota of ``size``: ``like``'s if it is signed and large enough."""
    if like is not None and like.kind == "i" and np.iinfo(like).max >= size:
        return like
    return np.dtype(np.int64)


def _axis_order(ndim, needed):
    """Axes ``needed`` first (in order), then the others: (order, inverse permutation)."""
    order = list(needed) + [d for d in range(ndim) if d not in needed]
    return order, tuple(int(i) for i in np.argsort(order))


def _permute(x, perm):
    perm = tuple(int(p) for p in perm)
    return x if perm == tuple(range(len(perm))) else _transpose(x, perm)


def _clamped_start(start, hi: int):
    """A start index (batched or not) as int64 clamped to ``[0, hi]``, as the impls clamp."""
    if not isinstance(start, Tracer):
        return np.clip(np.asarray(start).astype(np.int64), 0, hi)
    dtype = get_aval(start).dtype
    if dtype.kind == "u" and np.iinfo(dtype).max > np.iinfo(np.int64).max:
        start = _ew.min(start, _scalar(hi, dtype))  # before the cast can wrap it negative
    if dtype != np.int64:
        start = _ew.convert_element_type(start, np.int64)
    return _ew.clamp(_scalar(0, np.int64), start, _scalar(hi, np.int64))


def _window_indices(starts, dims, shape, sizes, needed, batch: int):
    """Index arrays of shape ``(batch,) + sizes[needed]`` addressing the windows
    ``start[d] : start[d] + sizes[d]`` (starts clamped to fit) along the ``needed`` axes,
    one window per batch element; ``dims`` says which starts carry the batch axis."""
    index_shape = (batch,) + tuple(sizes[d] for d in needed)
    out = []
    for j, d in enumerate(needed):
        start = _clamped_start(starts[d], shape[d] - sizes[d])
        start = _broadcast_in_dim(start, index_shape, () if dims[d] is not_mapped else (0,))
        out.append(_ew.add(start, _iota(np.int64, index_shape, j + 1)))
    return out


def _gather_mode_for(scatter_mode):
    """The gather that reads what a scatter of ``scatter_mode`` wrote (dropped positions: 0)."""
    return dict(mode="clip", fill_value=None) if scatter_mode == "clip" else \
        dict(mode="fill", fill_value=0)


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


def _slice_transpose(cts, x, *, start_indices, limit_indices, strides):
    # Zeros around the slice and between strided elements: the cotangent lands where it was read.
    (ct,) = cts
    ct_shape = get_aval(ct).shape
    config = []
    for n, start, stride, m in zip(x.aval.shape, start_indices, strides or (1,) * len(ct_shape),
                                   ct_shape):
        last = start + (m - 1) * stride if m else start - 1
        config.append((start, n - last - 1, stride - 1 if m else 0))
    return [_pad(ct, np.zeros((), get_aval(ct).dtype), config)]


def _slice_batch(axis_data, args, dims, *, start_indices, limit_indices, strides):
    (x,), (d,) = args, dims
    ndim = len(start_indices)
    strides = (1,) * ndim if strides is None else strides
    ins = lambda t, v: t[:d] + (v,) + t[d:]  # noqa: E731 - the batch axis is sliced whole
    return [slice(x, ins(start_indices, 0), ins(limit_indices, axis_data.size),
                  ins(strides, 1))], [d]


slice_p = Primitive("slice")
slice_p.def_impl(_slice_impl)
slice_p.def_abstract_eval(_slice_abstract_eval)
deflinear(slice_p, _slice_transpose)
def_rule("batch", slice_p, _slice_batch)

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
    if len(slice_sizes) != x.ndim or \
            any(not 0 <= size <= n for size, n in zip(slice_sizes, x.shape)):
        raise ValueError(f"dynamic_slice: slice_sizes {slice_sizes} must give one size per axis, "
                         f"each between 0 and the axis length of {x.str_short()}")
    return [ShapedArray(slice_sizes, x.dtype)]


def _dynamic_slice_jvp(primals, tangents, *, slice_sizes):
    x, *starts = primals
    out = dynamic_slice_p.bind1(x, *starts, slice_sizes=slice_sizes)
    t = tangents[0]  # the start indices are integers: no tangent
    if type(t) is Zero:
        return [out], [Zero.like(out)]
    return [out], [dynamic_slice_p.bind1(t, *starts, slice_sizes=slice_sizes)]


def _dynamic_slice_transpose(cts, x, *starts, slice_sizes):
    (ct,) = cts
    if not is_undefined(x) or any(is_undefined(s) for s in starts):
        raise ValueError("transpose of dynamic_slice: it is linear in the operand only")
    zeros = _zeros(x.aval.shape, get_aval(ct).dtype)
    return [dynamic_update_slice_p.bind1(zeros, ct, *starts)] + [None] * len(starts)


def _dynamic_slice_batch(axis_data, args, dims, *, slice_sizes):
    (x, *starts), (dx, *dstarts) = args, dims
    size = axis_data.size
    if all(d is not_mapped for d in dstarts):
        # The batch axis is one more axis, sliced whole from 0.
        zero = np.zeros((), get_aval(starts[0]).dtype if starts else np.int32)
        starts = starts[:dx] + [zero] + starts[dx:]
        sizes = slice_sizes[:dx] + (size,) + slice_sizes[dx:]
        return [dynamic_slice_p.bind1(x, *starts, slice_sizes=sizes)], [dx]
    # One window per batch element: a gather over the axes the window does not cover whole.
    shape = get_aval(x).shape
    if dx is not not_mapped:
        shape = shape[:dx] + shape[dx + 1:]
    needed = [d for d, (n, k) in enumerate(zip(shape, slice_sizes)) if n != k]
    if not needed:  # the window is the whole operand, wherever it starts
        return [x], [dx]
    order, inverse = _axis_order(len(shape), needed)
    indices = _window_indices(starts, dstarts, shape, slice_sizes, needed, size)
    if dx is not_mapped:
        x = _permute(x, order)
    else:
        x = _permute(moveaxis(x, dx, 0), [0] + [d + 1 for d in order])
        indices = [_iota(np.int64, get_aval(indices[0]).shape, 0)] + indices
    out = gather(x, *indices, axis=0, mode="clip")
    return [_permute(out, (0,) + tuple(i + 1 for i in inverse))], [0]


dynamic_slice_p = Primitive("dynamic_slice")
dynamic_slice_p.def_impl(_dynamic_slice_impl)
dynamic_slice_p.def_abstract_eval(_dynamic_slice_abstract_eval)
def_rule("jvp", dynamic_slice_p, _dynamic_slice_jvp)
def_rule("transpose", dynamic_slice_p, _dynamic_slice_transpose)
def_rule("batch", dynamic_slice_p, _dynamic_slice_batch)

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


def _dynamic_update_slice_jvp(primals, tangents):
    x, update, *starts = primals
    tx, tu = tangents[:2]
    out = dynamic_update_slice_p.bind1(x, update, *starts)
    if type(tx) is Zero and type(tu) is Zero:
        return [out], [Zero.like(out)]
    dtype = get_aval(out).dtype
    tx = _zeros(get_aval(x).shape, dtype) if type(tx) is Zero else tx
    tu = _zeros(get_aval(update).shape, dtype) if type(tu) is Zero else tu
    return [out], [dynamic_update_slice_p.bind1(tx, tu, *starts)]


def _dynamic_update_slice_transpose(cts, x, update, *starts):
    (ct,) = cts
    if any(is_undefined(s) for s in starts):
        raise ValueError("transpose of dynamic_update_slice: not linear in the start indices")
    ct_x = ct_u = None
    if is_undefined(update):
        ct_u = dynamic_slice_p.bind1(ct, *starts, slice_sizes=update.aval.shape)
    if is_undefined(x):
        # The window was overwritten: none of it flows back to the operand.
        u_shape = (update.aval if is_undefined(update) else get_aval(update)).shape
        zeros = _zeros(u_shape, get_aval(ct).dtype)
        ct_x = dynamic_update_slice_p.bind1(ct, zeros, *starts)
    return [ct_x, ct_u] + [None] * len(starts)


def _dynamic_update_slice_batch(axis_data, args, dims):
    (x, update, *starts), (dx, du, *dstarts) = args, dims
    size = axis_data.size
    if all(d is not_mapped for d in dstarts):
        x, update = bdim_to_front(x, dx, size), bdim_to_front(update, du, size)
        zero = np.zeros((), get_aval(starts[0]).dtype if starts else np.int32)
        return [dynamic_update_slice_p.bind1(x, update, zero, *starts)], [0]
    # One window per batch element: a scatter over the axes the update does not cover whole.
    shape = get_aval(x).shape
    if dx is not not_mapped:
        shape = shape[:dx] + shape[dx + 1:]
    u_shape = get_aval(update).shape
    if du is not not_mapped:
        u_shape = u_shape[:du] + u_shape[du + 1:]
    needed = [d for d, (n, k) in enumerate(zip(shape, u_shape)) if n != k]
    if not needed:  # the update replaces the whole operand
        return [update], [du]
    order, inverse = _axis_order(len(shape), needed)
    perm = [0] + [d + 1 for d in order]
    x = _permute(bdim_to_front(x, dx, size), perm)
    update = _permute(bdim_to_front(update, du, size), perm)
    indices = _window_indices(starts, dstarts, shape, u_shape, needed, size)
    indices = [_iota(np.int64, get_aval(indices[0]).shape, 0)] + indices
    out = scatter(x, update, *indices, axis=0, mode="clip")
    return [_permute(out, (0,) + tuple(i + 1 for i in inverse))], [0]


dynamic_update_slice_p = Primitive("dynamic_update_slice")
dynamic_update_slice_p.def_impl(_dynamic_update_slice_impl)
dynamic_update_slice_p.def_abstract_eval(_dynamic_update_slice_abstract_eval)
def_rule("jvp", dynamic_update_slice_p, _dynamic_update_slice_jvp)
def_rule("transpose", dynamic_update_slice_p, _dynamic_update_slice_transpose)
def_rule("batch", dynamic_update_slice_p, _dynamic_update_slice_batch)

# --------------------------------------------------------------------------- gather/scatter helpers


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


def _gather_jvp(primals, tangents, *, axis, mode, fill_value):
    operand, *indices = primals
    out = gather_p.bind1(operand, *indices, axis=axis, mode=mode, fill_value=fill_value)
    t = tangents[0]  # indices are integers: no tangent
    if type(t) is Zero:
        return [out], [Zero.like(out)]
    # Filled positions hold a constant: their tangent is zero.
    return [out], [gather_p.bind1(t, *indices, axis=axis, mode=mode,
                                  fill_value=0 if mode == "fill" else fill_value)]


def _gather_transpose(cts, operand, *indices, axis, mode, fill_value):
    (ct,) = cts
    if not is_undefined(operand) or any(is_undefined(i) for i in indices):
        raise ValueError("transpose of gather: it is linear in the operand only")
    # Every read sends its cotangent back to the (clamped) position it read; filled reads
    # read nothing, which a dropping scatter reproduces.
    zeros = _zeros(operand.aval.shape, get_aval(ct).dtype)
    ct_operand = scatter_add_p.bind1(zeros, ct, *indices, axis=axis,
                                     mode="clip" if mode == "clip" else "drop")
    return [ct_operand] + [None] * len(indices)


def _gather_batch(axis_data, args, dims, *, axis, mode, fill_value):
    (operand, *indices), (d, *didx) = args, dims
    params = dict(mode=mode, fill_value=fill_value)
    k = len(indices)
    if all(di is not_mapped for di in didx):
        # Only the operand is batched: its batch axis is one more unindexed axis.
        if d < axis:
            return [gather_p.bind1(operand, *indices, axis=axis + 1, **params)], [d]
        if d >= axis + k:
            index_ndim = get_aval(indices[0]).ndim
            return [gather_p.bind1(operand, *indices, axis=axis, **params)], [d - k + index_ndim]
        operand = moveaxis(operand, d, 0)
        return [gather_p.bind1(operand, *indices, axis=axis + 1, **params)], [0]
    size = axis_data.size
    indices = [bdim_to_front(i, di, size) for i, di in zip(indices, didx)]
    if d is not_mapped:
        # The index arrays' leading batch axis lands at ``axis`` in the output.
        return [gather_p.bind1(operand, *indices, axis=axis, **params)], [axis]
    # Both batched: the operand's batch axis, put right before the indexed ones, is indexed
    # by an iota, so batch element b reads its own slab with its own indices.
    operand = moveaxis(operand, d, axis)
    index_shape = get_aval(indices[0]).shape
    batch_index = _iota(_iota_dtype(size, get_aval(indices[0]).dtype), index_shape, 0)
    return [gather_p.bind1(operand, batch_index, *indices, axis=axis, **params)], [axis]


gather_p = Primitive("gather")
gather_p.def_impl(_gather_impl)
gather_p.def_abstract_eval(_gather_abstract_eval)
def_rule("jvp", gather_p, _gather_jvp)
def_rule("transpose", gather_p, _gather_transpose)
def_rule("batch", gather_p, _gather_batch)

# --------------------------------------------------------------------------- scatter family
# scatter*(operand, updates, *indices, axis, mode): updates has exactly the shape
# gather(operand, *indices, axis=axis) would have. mode "drop" skips updates whose
# index is out of range, "clip" clamps the index. Duplicate indices accumulate
# for add/mul/min/max (NumPy's ufunc.at); for plain scatter the last one (in C order
# of the index arrays) wins here, which JAX leaves unspecified. The operand is copied.


def _last_writes(idx, updates, dims, axis):
    """Only the last update aimed at each position (in C order of the index arrays).

    NumPy does not promise which of repeated assignments wins; scatter's derivative
    relies on the winner being known, so it is made explicit here.
    """
    index_ndim = idx[0].ndim
    count = idx[0].size
    flat = [i.reshape(count) for i in idx]
    updates = updates.reshape(updates.shape[:axis] + (count,) + updates.shape[axis + index_ndim:])
    positions = np.ravel_multi_index(flat, dims)  # in range: clipped or filtered already
    _, from_end = np.unique(positions[::-1], return_index=True)
    keep = np.sort(count - 1 - from_end)
    return [f[keep] for f in flat], updates[(builtins.slice(None),) * axis + (keep,)]


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
        if ufunc is None:
            idx, updates = _last_writes(idx, updates, dims, axis)
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


# Transform rules of the scatter family. Index operands are integers (no tangents);
# gathering with _gather_mode_for(mode) reads each update's target position (0 for
# an update that is dropped), so cotangents of dropped updates are zero.


def _scatter_operands(primals):
    operand, updates, *indices = primals
    return operand, updates, indices


def _scatter_add_jvp(primals, tangents, *, axis, mode):
    operand, updates, indices = _scatter_operands(primals)
    t_operand, t_updates = tangents[:2]
    out = scatter_add_p.bind1(operand, updates, *indices, axis=axis, mode=mode)
    if type(t_updates) is Zero:
        return [out], [t_operand]  # Zero.like(out) when both are zero
    if type(t_operand) is Zero:
        t_operand = _zeros(get_aval(out).shape, get_aval(t_updates).dtype)
    return [out], [scatter_add_p.bind1(t_operand, t_updates, *indices, axis=axis, mode=mode)]


def _scatter_add_transpose(cts, operand, updates, *indices, axis, mode):
    (ct,) = cts
    ct_updates = None
    if is_undefined(updates):
        ct_updates = gather_p.bind1(ct, *indices, axis=axis, **_gather_mode_for(mode))
    return [ct if is_undefined(operand) else None, ct_updates] + [None] * len(indices)


def _scatter_jvp(primals, tangents, *, axis, mode):
    # The tangent scatter picks the same winner among repeated indices as the primal one:
    # both are the same deterministic NumPy assignment.
    operand, updates, indices = _scatter_operands(primals)
    t_operand, t_updates = tangents[:2]
    out = scatter_p.bind1(operand, updates, *indices, axis=axis, mode=mode)
    if type(t_operand) is Zero and type(t_updates) is Zero:
        return [out], [Zero.like(out)]
    dtype = (get_aval(t_operand) if type(t_operand) is not Zero else get_aval(t_updates)).dtype
    if type(t_operand) is Zero:
        t_operand = _zeros(get_aval(operand).shape, dtype)
    if type(t_updates) is Zero:
        t_updates = _zeros(get_aval(updates).shape, dtype)
    return [out], [scatter_p.bind1(t_operand, t_updates, *indices, axis=axis, mode=mode)]


def _scatter_winners(updates_shape, operand_shape, indices, axis, mode):
    """True for each update that is the one left at its position by ``scatter``.

    Updates are numbered; scattering the numbers (the same deterministic assignment as
    the forward pass) and reading them back tells which update won a repeated index.
    """
    count = int(np.prod(updates_shape, dtype=np.int64))
    ids = _reshape(_iota(np.int64, (count,), 0), updates_shape)
    owner = scatter_p.bind1(_broadcast_in_dim(_scalar(-1, np.int64), operand_shape, ()), ids,
                            *indices, axis=axis, mode=mode)
    read = gather_p.bind1(owner, *indices, axis=axis,
                          **(_gather_mode_for(mode) if mode == "clip" else
                             dict(mode="fill", fill_value=-1)))
    return _ew.eq(read, ids)


def _scatter_transpose(cts, operand, updates, *indices, axis, mode):
    # Exact also for repeated indices: only the update the forward pass kept gets a
    # cotangent (JAX's transpose assumes unique indices).
    (ct,) = cts
    ct_shape, dtype = get_aval(ct).shape, get_aval(ct).dtype
    u_shape = (updates.aval if is_undefined(updates) else get_aval(updates)).shape
    ct_operand = ct_updates = None
    if is_undefined(operand):  # overwritten positions do not flow back
        ct_operand = scatter_p.bind1(ct, _zeros(u_shape, dtype), *indices, axis=axis, mode=mode)
    if is_undefined(updates):
        read = gather_p.bind1(ct, *indices, axis=axis, **_gather_mode_for(mode))
        won = _scatter_winners(u_shape, ct_shape, indices, axis, mode)
        ct_updates = _ew.select_n(won, _scalar(0, dtype), read)
    return [ct_operand, ct_updates] + [None] * len(indices)


def _scatter_mul_jvp(primals, tangents, *, axis, mode):
    # out[p] = x[p] * prod_j u_j over the updates j aimed at p (repeats included), and
    # d out[p] / d u_j = x[p] * (the product of the other updates at p). That product is
    # formed without dividing by zero, from per-position products of the nonzero updates
    # (p_nz) and of the zero ones (zp, numerically 0 or 1, but with the right derivatives),
    # so that derivatives of this rule are exact too: at every order, unless three or more
    # zero updates share a position (then from the third order on).
    operand, updates, indices = _scatter_operands(primals)
    t_operand, t_updates = tangents[:2]
    kw = dict(axis=axis, mode=mode)
    out = scatter_mul_p.bind1(operand, updates, *indices, **kw)
    if type(t_operand) is Zero and type(t_updates) is Zero:
        return [out], [Zero.like(out)]
    shape, dtype = get_aval(out).shape, get_aval(out).dtype
    zero, one = _scalar(0, dtype), _scalar(1, dtype)
    ones = _broadcast_in_dim(one, shape, ())
    u_is_zero = _ew.eq(updates, zero)
    u_nonzero = _ew.select_n(u_is_zero, updates, one)  # 1 in place of the zeros
    u_zero = _ew.select_n(u_is_zero, one, updates)     # 1 in place of the nonzeros
    p_nz = scatter_mul_p.bind1(ones, u_nonzero, *indices, **kw)
    zp = scatter_mul_p.bind1(ones, u_zero, *indices, **kw)
    tangent = Zero.like(out)
    if type(t_operand) is not Zero:
        tangent = _ew.mul(t_operand, _ew.mul(p_nz, zp))
    if type(t_updates) is not Zero:
        i64 = np.dtype(np.int64)
        n_zero = scatter_add_p.bind1(_zeros(shape, i64), _ew.convert_element_type(u_is_zero, i64),
                                     *indices, **kw)
        z_sum = scatter_add_p.bind1(_zeros(shape, dtype), _ew.select_n(u_is_zero, zero, updates),
                                    *indices, **kw)
        gkw = dict(axis=axis, **_gather_mode_for(mode))
        p_nz_j, zp_j, n_zero_j, z_sum_j = [gather_p.bind1(a, *indices, **gkw)
                                           for a in (p_nz, zp, n_zero, z_sum)]
        # u_j != 0: the nonzero others are p_nz / u_j, the zero others multiply in as zp.
        others_if_nonzero = _ew.mul(_ew.div(p_nz_j, u_nonzero), zp_j)
        # u_j == 0: no other zero (1), exactly one other (its value, z_sum - u_j), or more (0).
        zero_others = _ew.select_n(
            _ew.eq(n_zero_j, _scalar(1, i64)),
            _ew.select_n(_ew.eq(n_zero_j, _scalar(2, i64)), zero, _ew.sub(z_sum_j, updates)),
            one)
        others = _ew.select_n(u_is_zero, others_if_nonzero, _ew.mul(p_nz_j, zero_others))
        coef = _ew.mul(gather_p.bind1(operand, *indices, **gkw), others)
        term = scatter_add_p.bind1(_zeros(shape, dtype), _ew.mul(coef, t_updates), *indices, **kw)
        tangent = add_tangents(tangent, term)
    return [out], [tangent]


def _scatter_extremum_jvp(prim):
    # As for lax.max: the derivative flows from whichever of the operand and the updates
    # attain the result, shared equally between ties.
    def jvp(primals, tangents, *, axis, mode):
        operand, updates, indices = _scatter_operands(primals)
        t_operand, t_updates = tangents[:2]
        kw = dict(axis=axis, mode=mode)
        out = prim.bind1(operand, updates, *indices, **kw)
        if type(t_operand) is Zero and type(t_updates) is Zero:
            return [out], [Zero.like(out)]
        shape, dtype = get_aval(out).shape, get_aval(out).dtype
        zero = _scalar(0, dtype)
        operand_won = _ew.eq(operand, out)
        updates_won = _ew.eq(updates, gather_p.bind1(out, *indices, axis=axis,
                                                     **_gather_mode_for(mode)))
        count = scatter_add_p.bind1(_ew.convert_element_type(operand_won, dtype),
                                    _ew.convert_element_type(updates_won, dtype), *indices, **kw)
        count = _ew.max(count, _scalar(1, dtype))  # 0 only where the result is NaN
        total = _zeros(shape, dtype) if type(t_operand) is Zero else \
            _ew.select_n(operand_won, zero, t_operand)
        if type(t_updates) is not Zero:
            total = scatter_add_p.bind1(total, _ew.select_n(updates_won, zero, t_updates),
                                        *indices, **kw)
        return [out], [_ew.div(total, count)]

    return jvp


def _scatter_batch(prim):
    def rule(axis_data, args, dims, *, axis, mode):
        (operand, updates, *indices), (d_op, d_up, *didx) = args, dims
        size = axis_data.size
        if all(d is not_mapped for d in didx):
            operand = bdim_to_front(operand, d_op, size)
            updates = bdim_to_front(updates, d_up, size)
            return [prim.bind1(operand, updates, *indices, axis=axis + 1, mode=mode)], [0]
        # Batched indices: each batch element scatters into its own slab of the operand,
        # addressed by an iota index for the batch axis (placed right before the indexed axes).
        indices = [bdim_to_front(i, d, size) for i, d in zip(indices, didx)]
        index_shape = get_aval(indices[0]).shape
        batch_index = _iota(_iota_dtype(size, get_aval(indices[0]).dtype), index_shape, 0)
        operand = bdim_to(operand, d_op, axis, size)
        updates = bdim_to(updates, d_up, axis, size)
        return [prim.bind1(operand, updates, batch_index, *indices, axis=axis, mode=mode)], [axis]

    return rule


def_rule("jvp", scatter_add_p, _scatter_add_jvp)
def_rule("transpose", scatter_add_p, _scatter_add_transpose)
def_rule("jvp", scatter_p, _scatter_jvp)
def_rule("transpose", scatter_p, _scatter_transpose)
def_rule("jvp", scatter_mul_p, _scatter_mul_jvp)
def_rule("jvp", scatter_min_p, _scatter_extremum_jvp(scatter_min_p))
def_rule("jvp", scatter_max_p, _scatter_extremum_jvp(scatter_max_p))
for _prim in (scatter_mul_p, scatter_min_p, scatter_max_p):
    _prim.exempt("transpose", "not linear: its jvp uses only linear primitives on tangents")
for _prim in (scatter_p, scatter_add_p, scatter_mul_p, scatter_min_p, scatter_max_p):
    def_rule("batch", _prim, _scatter_batch(_prim))


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
    """``slice_in_dim(x, 1, 3, axis=1)`` is ``x[:, 1:3]``; None and negative bounds act as in Python."""
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
    """``dynamic_slice(x, (i, 0), (2, 4))`` is ``x[i:i+2, 0:4]``; ``i`` may be traced (clamped to fit)."""
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
    """``dynamic_update_slice(x, u, (i, 0))``: ``x`` with the block of ``u``'s shape at (i, 0) set to ``u``."""
    return dynamic_update_slice_p.bind1(operand, update, *start_indices)


def dynamic_update_slice_in_dim(operand, update, start_index, axis):
    """``dynamic_update_slice_in_dim(x, u, i, axis=0)``: ``u`` written at ``i`` along ``axis``."""
    shape = _shape(operand)
    axis = _axis(axis, len(shape), "dynamic_update_slice_in_dim")
    starts = [0] * len(shape)
    starts[axis] = start_index
    return dynamic_update_slice(operand, update, starts)


def dynamic_update_index_in_dim(operand, update, index, axis):
    """``dynamic_update_index_in_dim(x, row, i, 0)``: row ``i`` of ``x`` replaced by ``row``."""
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
    """``gather(x, i, j, axis=1)`` is NumPy's ``x[:, i, j]`` (``i``, ``j``: integer arrays, one shape).

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
    "(``mode='clip'`` clamps). Of several updates to one index the last wins here (JAX leaves "
    "it unspecified); derivatives flow to that update only.")
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
