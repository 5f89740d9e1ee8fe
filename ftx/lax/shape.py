"""Shape primitives: broadcast_in_dim, reshape, transpose, squeeze, rev, concatenate, pad, iota.

Each block holds one primitive's NumPy impl and abstract eval; the user-facing
wrappers (``ftx.lax.reshape`` ...) follow at the end, as in jax.lax.
"""
from __future__ import annotations

import builtins

import numpy as np

from ftx.core import dtypes
from ftx.core.ad_util import is_undefined
from ftx.core.avals import ShapedArray, get_aval
from ftx.core.primitive import Primitive, def_rule
from ftx.lax._ad_rules import deflinear
from ftx.lax._batch_rules import bdim_to_front, moveaxis
from ftx.lax.elementwise import select_n, sub
from ftx.lax._shape_rules import canonical_axes, describe


def _front(axis_data, x, d):
    return bdim_to_front(x, d, axis_data.size)

# --------------------------------------------------------------------------- broadcast_in_dim


def _broadcast_in_dim_impl(x, *, shape, broadcast_dimensions):
    x = np.asarray(x)
    expanded = [1] * len(shape)
    for src, dst in enumerate(broadcast_dimensions):
        expanded[dst] = x.shape[src]
    return [np.broadcast_to(x.reshape(expanded), shape)]


def _broadcast_in_dim_abstract_eval(x, *, shape, broadcast_dimensions):
    if len(broadcast_dimensions) != x.ndim:
        raise ValueError(f"broadcast_in_dim: broadcast_dimensions {broadcast_dimensions} must "
                         f"name one output axis per operand axis (operand {x.str_short()})")
    if any(not 0 <= d < len(shape) for d in broadcast_dimensions) or \
            list(broadcast_dimensions) != sorted(set(broadcast_dimensions)):
        raise ValueError(f"broadcast_in_dim: broadcast_dimensions {broadcast_dimensions} must be "
                         f"strictly increasing axes of the output shape {shape}")
    for src, dst in enumerate(broadcast_dimensions):
        if x.shape[src] not in (1, shape[dst]):
            raise ValueError(f"broadcast_in_dim: operand {x.str_short()} axis {src} (size "
                             f"{x.shape[src]}) cannot broadcast to output axis {dst} of {shape}")
    return [ShapedArray(shape, x.dtype)]


def _broadcast_in_dim_transpose(cts, x, *, shape, broadcast_dimensions):
    (ct,) = cts
    from ftx.lax.reductions import reduce_sum
    # Sum over the new axes and over axes that grew from size 1, then drop them.
    grown = tuple(dst for src, dst in enumerate(broadcast_dimensions)
                  if x.aval.shape[src] == 1 and shape[dst] != 1)
    new = tuple(i for i in range(len(shape)) if i not in broadcast_dimensions)
    summed = reduce_sum(ct, tuple(sorted(new + grown))) if new or grown else ct
    return [reshape(summed, x.aval.shape)]


def _broadcast_in_dim_batch(axis_data, args, dims, *, shape, broadcast_dimensions):
    (x,), (d,) = args, dims
    x = moveaxis(x, d, 0)
    return [broadcast_in_dim(x, (axis_data.size,) + tuple(shape),
                             (0,) + tuple(b + 1 for b in broadcast_dimensions))], [0]


broadcast_in_dim_p = Primitive("broadcast_in_dim")
broadcast_in_dim_p.def_impl(_broadcast_in_dim_impl)
broadcast_in_dim_p.def_abstract_eval(_broadcast_in_dim_abstract_eval)
deflinear(broadcast_in_dim_p, _broadcast_in_dim_transpose)
def_rule("batch", broadcast_in_dim_p, _broadcast_in_dim_batch)

# --------------------------------------------------------------------------- reshape


def _reshape_abstract_eval(x, *, new_sizes):
    if any(d < 0 for d in new_sizes) or int(np.prod(new_sizes, dtype=np.int64)) != x.size:
        raise ValueError(f"reshape: cannot reshape {x.str_short()} ({x.size} elements) "
                         f"into shape {new_sizes}")
    return [ShapedArray(new_sizes, x.dtype)]


reshape_p = Primitive("reshape")
reshape_p.def_impl(lambda x, *, new_sizes: [np.reshape(x, new_sizes)])
reshape_p.def_abstract_eval(_reshape_abstract_eval)
deflinear(reshape_p, lambda cts, x, *, new_sizes: [reshape(cts[0], x.aval.shape)])
def_rule("batch", reshape_p, lambda axis_data, args, dims, *, new_sizes: (
    [reshape(moveaxis(args[0], dims[0], 0), (axis_data.size,) + tuple(new_sizes))], [0]))

# --------------------------------------------------------------------------- transpose


def _transpose_abstract_eval(x, *, permutation):
    if sorted(permutation) != list(range(x.ndim)):
        raise ValueError(f"transpose: permutation {permutation} is not a permutation of the "
                         f"axes of {x.str_short()}")
    return [ShapedArray(tuple(x.shape[p] for p in permutation), x.dtype)]


transpose_p = Primitive("transpose")
transpose_p.def_impl(lambda x, *, permutation: [np.transpose(x, permutation)])
transpose_p.def_abstract_eval(_transpose_abstract_eval)
deflinear(transpose_p, lambda cts, x, *, permutation: [
    transpose(cts[0], tuple(int(i) for i in np.argsort(permutation)))])
def_rule("batch", transpose_p, lambda axis_data, args, dims, *, permutation: (
    [transpose(moveaxis(args[0], dims[0], 0), (0,) + tuple(p + 1 for p in permutation))], [0]))

# --------------------------------------------------------------------------- squeeze


def _squeeze_abstract_eval(x, *, dimensions):
    for d in dimensions:
        if not 0 <= d < x.ndim or x.shape[d] != 1:
            raise ValueError(f"squeeze: cannot remove axis {d} of {x.str_short()}: "
                             "only axes of size 1 can be squeezed")
    return [ShapedArray(tuple(s for i, s in enumerate(x.shape) if i not in dimensions), x.dtype)]


squeeze_p = Primitive("squeeze")
squeeze_p.def_impl(lambda x, *, dimensions: [np.squeeze(x, dimensions)])
squeeze_p.def_abstract_eval(_squeeze_abstract_eval)
deflinear(squeeze_p, lambda cts, x, *, dimensions: [reshape(cts[0], x.aval.shape)])
def_rule("batch", squeeze_p, lambda axis_data, args, dims, *, dimensions: (
    [squeeze(moveaxis(args[0], dims[0], 0), tuple(d + 1 for d in dimensions))], [0]))

# --------------------------------------------------------------------------- rev


def _rev_abstract_eval(x, *, dimensions):
    canonical_axes("rev", dimensions, x.ndim)
    return [x.strip_weak_type()]


rev_p = Primitive("rev")
rev_p.def_impl(lambda x, *, dimensions: [np.flip(x, dimensions) if dimensions else np.asarray(x)])
rev_p.def_abstract_eval(_rev_abstract_eval)
deflinear(rev_p, lambda cts, x, *, dimensions: [rev(cts[0], dimensions)])
def_rule("batch", rev_p, lambda axis_data, args, dims, *, dimensions: (
    [rev(moveaxis(args[0], dims[0], 0), tuple(d + 1 for d in dimensions))], [0]))

# --------------------------------------------------------------------------- concatenate


def _concatenate_abstract_eval(*xs, dimension):
    if not xs:
        raise ValueError("concatenate: needs at least one operand")
    first = xs[0]
    if not 0 <= dimension < first.ndim:
        raise ValueError(f"concatenate: dimension {dimension} is out of bounds for operands "
                         f"({describe(xs)})")
    for x in xs:
        if x.dtype != first.dtype:
            raise TypeError(f"concatenate: operand dtypes must match, got ({describe(xs)})")
        if x.ndim != first.ndim or any(a != b for i, (a, b) in enumerate(zip(x.shape, first.shape))
                                       if i != dimension):
            raise ValueError(f"concatenate: operands must have equal shapes except along "
                             f"dimension {dimension}, got ({describe(xs)})")
    size = builtins.sum(x.shape[dimension] for x in xs)
    shape = first.shape[:dimension] + (size,) + first.shape[dimension + 1:]
    return [ShapedArray(shape, first.dtype)]


def _concatenate_transpose(cts, *xs, dimension):
    (ct,) = cts
    from ftx.lax.slicing import slice_in_dim
    out, start = [], 0
    for x in xs:
        size = (x.aval if is_undefined(x) else get_aval(x)).shape[dimension]
        out.append(slice_in_dim(ct, start, start + size, axis=dimension) if is_undefined(x) else None)
        start += size
    return out


def _concatenate_batch(axis_data, args, dims, *, dimension):
    xs = [_front(axis_data, x, d) for x, d in zip(args, dims)]
    return [concatenate(xs, dimension + 1)], [0]


concatenate_p = Primitive("concatenate")
concatenate_p.def_impl(lambda *xs, dimension: [np.concatenate(xs, axis=dimension)])
concatenate_p.def_abstract_eval(_concatenate_abstract_eval)
deflinear(concatenate_p, _concatenate_transpose)
def_rule("batch", concatenate_p, _concatenate_batch)

# --------------------------------------------------------------------------- pad
# padding_config: one (low, high, interior) per axis; low/high may be negative (cropping).


def _pad_impl(x, padding_value, *, padding_config):
    x = np.asarray(x)
    out_shape = _pad_shape(x.shape, padding_config)
    out = np.full(out_shape, padding_value, dtype=x.dtype)
    # Place x with interior gaps into a buffer wide enough for non-negative low/high,
    # then crop the negative parts.
    wide_shape, dst, crop = [], [], []
    for n, (lo, hi, interior) in zip(x.shape, padding_config):
        core = n + builtins.max(n - 1, 0) * interior
        wide_shape.append(builtins.max(lo, 0) + core + builtins.max(hi, 0))
        dst.append(slice(builtins.max(lo, 0), builtins.max(lo, 0) + core, interior + 1))
        crop.append(slice(builtins.max(-lo, 0), builtins.max(-lo, 0) + (out_shape[len(crop)])))
    wide = np.full(wide_shape, padding_value, dtype=x.dtype)
    wide[tuple(dst)] = x
    out[...] = wide[tuple(crop)]
    return [out]


def _pad_shape(shape, padding_config):
    out = []
    for n, (lo, hi, interior) in zip(shape, padding_config):
        out.append(lo + hi + n + builtins.max(n - 1, 0) * interior)
    return tuple(out)


def _pad_abstract_eval(x, padding_value, *, padding_config):
    if padding_value.shape != ():
        raise ValueError(f"pad: the padding value must be a scalar, got {padding_value.str_short()}")
    if padding_value.dtype != x.dtype and not padding_value.weak_type:
        raise TypeError(f"pad: padding value dtype must match the operand, got "
                        f"({describe([x, padding_value])})")
    if len(padding_config) != x.ndim:
        raise ValueError(f"pad: padding_config needs one (low, high, interior) per axis of "
                         f"{x.str_short()}, got {padding_config}")
    if any(interior < 0 for _, _, interior in padding_config):
        raise ValueError(f"pad: interior padding must be non-negative, got {padding_config}")
    shape = _pad_shape(x.shape, padding_config)
    if any(d < 0 for d in shape):
        raise ValueError(f"pad: padding {padding_config} of {x.str_short()} gives negative "
                         f"shape {shape}")
    return [ShapedArray(shape, x.dtype)]


def _pad_transpose(cts, x, padding_value, *, padding_config):
    (ct,) = cts
    from ftx.lax.reductions import reduce_sum
    from ftx.lax.slicing import slice as slice_
    out_x = None
    if is_undefined(x) or is_undefined(padding_value):
        # Undo low/high padding (negative padding crops), then take every (interior+1)-th element.
        unpadded = pad(ct, np.zeros((), get_aval(ct).dtype),
                       [(-lo, -hi, 0) for lo, hi, _ in padding_config])
        shape = get_aval(unpadded).shape
        out_x = slice_(unpadded, (0,) * len(shape), shape,
                       tuple(interior + 1 for _, _, interior in padding_config))
    out_pv = None
    if is_undefined(padding_value):
        axes = tuple(range(len(get_aval(ct).shape)))
        out_pv = sub(reduce_sum(ct, axes), reduce_sum(out_x, axes))
    return [out_x if is_undefined(x) else None, out_pv]


def _pad_batch(axis_data, args, dims, *, padding_config):
    (x, pv), (dx, dpv) = args, dims
    x = _front(axis_data, x, dx)
    config = ((0, 0, 0),) + tuple(padding_config)
    if dpv is None:
        return [pad(x, pv, config)], [0]
    # A batched padding value: pad with zeros, then fill the padding per batch element.
    zero = np.zeros((), get_aval(x).dtype)
    padded = pad(x, zero, config)
    inside = pad(broadcast_in_dim(np.ones((), bool), get_aval(x).shape, ()), np.zeros((), bool),
                 config)
    shape = get_aval(padded).shape
    fill = broadcast_in_dim(moveaxis(pv, dpv, 0), shape, (0,))
    return [select_n(inside, fill, padded)], [0]


pad_p = Primitive("pad")
pad_p.def_impl(_pad_impl)
pad_p.def_abstract_eval(_pad_abstract_eval)
deflinear(pad_p, _pad_transpose)
def_rule("batch", pad_p, _pad_batch)

# --------------------------------------------------------------------------- iota


def _iota_impl(*, dtype, shape, dimension):
    ramp = np.arange(shape[dimension], dtype=dtype)
    expanded = [1] * len(shape)
    expanded[dimension] = shape[dimension]
    return [np.broadcast_to(ramp.reshape(expanded), shape)]


def _iota_abstract_eval(*, dtype, shape, dimension):
    if not 0 <= dimension < len(shape):
        raise ValueError(f"iota: dimension {dimension} is out of bounds for shape {shape}")
    return [ShapedArray(shape, dtype)]


iota_p = Primitive("iota")
iota_p.def_impl(_iota_impl)
iota_p.def_abstract_eval(_iota_abstract_eval)
for _kind in ("jvp", "transpose", "batch"):
    iota_p.exempt(_kind, "it has no operands")


# =========================================================================== user-facing lax API

def _int_tuple(xs) -> tuple:
    return tuple(map(int, xs))  # map, not a generator: runs for every traced shape op


def broadcast_in_dim(x, shape, broadcast_dimensions):
    """``broadcast_in_dim(v, (3, 4), (1,))`` puts a length-4 ``v`` along axis 1 of a 3x4 array."""
    return broadcast_in_dim_p.bind1(x, shape=_int_tuple(shape),
                                    broadcast_dimensions=_int_tuple(broadcast_dimensions))


def broadcast(x, sizes):
    """``broadcast(x, (2,))`` adds leading axes: shape ``(2,) + x.shape``."""
    ndim = np.ndim(x) if not hasattr(x, "aval") else x.aval.ndim
    sizes = _int_tuple(sizes)
    return broadcast_in_dim(x, sizes + tuple(np.shape(x) if not hasattr(x, "aval") else x.shape),
                            tuple(range(len(sizes), len(sizes) + ndim)))


def reshape(x, new_sizes, dimensions=None):
    """``reshape(x, (2, 6))``; with ``dimensions`` the operand is transposed first, as in jax.lax."""
    if dimensions is not None:
        x = transpose(x, dimensions)
    return reshape_p.bind1(x, new_sizes=_int_tuple(new_sizes))


def transpose(x, permutation):
    """``transpose(x, (1, 0))`` swaps the axes of a matrix."""
    return transpose_p.bind1(x, permutation=_int_tuple(permutation))


def squeeze(x, dimensions):
    """``squeeze(x, (0,))`` removes size-1 axis 0."""
    return squeeze_p.bind1(x, dimensions=_int_tuple(dimensions))


def expand_dims(x, dimensions):
    """``expand_dims(x, (0,))`` inserts a size-1 axis 0 (a reshape, not a primitive)."""
    shape = list(x.shape if hasattr(x, "aval") else np.shape(x))
    ndim_out = len(shape) + len(dimensions)
    for d in sorted(canonical_axes("expand_dims", dimensions, ndim_out)):
        shape.insert(d, 1)
    return reshape(x, shape)


def rev(x, dimensions):
    """``rev(x, (0,))`` reverses axis 0."""
    return rev_p.bind1(x, dimensions=_int_tuple(dimensions))


def concatenate(operands, dimension: int):
    """``concatenate([a, b], 0)`` joins along an existing axis."""
    return concatenate_p.bind1(*operands, dimension=int(dimension))


def pad(x, padding_value, padding_config):
    """``pad(x, 0.0, [(1, 2, 0)])``: 1 before, 2 after; negative values crop, interior inserts gaps."""
    config = tuple(_int_tuple(c) for c in padding_config)
    return pad_p.bind1(x, padding_value, padding_config=config)


def iota(dtype, size: int):
    """``iota(np.int32, 4)`` is ``[0, 1, 2, 3]``."""
    return broadcasted_iota(dtype, (size,), 0)


def broadcasted_iota(dtype, shape, dimension: int):
    """``broadcasted_iota(np.int32, (2, 3), 1)`` counts along axis 1."""
    return iota_p.bind1(dtype=dtypes.check_supported(dtype, "iota"), shape=_int_tuple(shape),
                        dimension=int(dimension))


__all__ = [
    "broadcast_in_dim_p", "reshape_p", "transpose_p", "squeeze_p", "rev_p", "concatenate_p",
    "pad_p", "iota_p", "broadcast_in_dim", "broadcast", "reshape", "transpose", "squeeze",
    "expand_dims", "rev", "concatenate", "pad", "iota", "broadcasted_iota",
]
