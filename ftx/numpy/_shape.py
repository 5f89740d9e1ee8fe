"""NumPy's shape functions: reshape, transpose, stacking, splitting, tiling, flipping, padding ...

Shapes, axes, counts and index positions are static (concrete Python values);
the array data may be traced. Everything is expressed with the shape and
slicing primitives of ftx.lax, never with gather where slices will do, so the
graphs stay small and their transposes cheap.
"""
from __future__ import annotations

import builtins
import operator

import numpy as np

from ftx import lax
from ftx.numpy._core import (broadcast_to as _broadcast_to, canonicalize_axes, canonicalize_axis,
                             cast, concrete_or_error, dtype_of, eager_numpy, is_tracer,
                             ndim_of, result_type, shape_of)

__all__ = [
    "reshape", "ravel", "transpose", "permute_dims", "moveaxis", "swapaxes", "rollaxis",
    "squeeze", "expand_dims", "broadcast_to", "broadcast_arrays", "broadcast_shapes",
    "concatenate", "concat", "stack", "vstack", "hstack", "dstack", "column_stack", "row_stack",
    "unstack", "split", "array_split", "hsplit", "vsplit", "dsplit", "tile", "repeat", "flip",
    "fliplr", "flipud", "roll", "rot90", "pad", "atleast_1d", "atleast_2d", "atleast_3d",
    "ndim", "shape", "size", "append", "insert", "delete",
]


# --------------------------------------------------------------------------- shared helpers

def _contains_tracer(obj) -> bool:
    if is_tracer(obj):
        return True
    return isinstance(obj, (list, tuple)) and builtins.any(_contains_tracer(o) for o in obj)


def _arr(x):
    """An array as NumPy's ``asanyarray`` makes one: Python scalars become strong arrays."""
    if is_tracer(x):
        return x
    if isinstance(x, (list, tuple)) and _contains_tracer(x):
        from ftx.numpy._creation import array
        return array(x)
    return np.asarray(x)


def _static_int(x, what: str, name: str) -> int:
    x = concrete_or_error(x, what, name)
    try:
        return operator.index(x)
    except TypeError:
        raise TypeError(f"{name}: {what} must be an integer, got {x!r}") from None


def _static_ints(xs, what: str, name: str) -> tuple:
    xs = concrete_or_error(xs, what, name)
    if isinstance(xs, (int, np.integer)) or (isinstance(xs, np.ndarray) and xs.ndim == 0):
        return (_static_int(xs, what, name),)
    return tuple(_static_int(x, what, name) for x in xs)


def _slice_axis(x, start: int, stop: int, axis: int):
    """``x[start:stop]`` along ``axis`` (static, in-range bounds) as a lax.slice."""
    shape = shape_of(x)
    if start == 0 and stop == shape[axis]:
        return x
    starts, limits = [0] * len(shape), list(shape)
    starts[axis], limits[axis] = start, stop
    return lax.slice(x, starts, limits)


def _take_static(x, idx, axis: int):
    """``x`` indexed along ``axis`` by a concrete 1-d index map, as slices where it has runs.

    Runs of consecutive (+1), reversed (-1) or repeated (0) indices become one
    slice (with a rev or a broadcast) each, joined by one concatenate; a map
    with many short runs is a single gather with a constant index array.
    """
    idx = np.asarray(idx, dtype=np.intp).reshape(-1)
    shape = shape_of(x)
    n = shape[axis]
    if idx.size == 0:
        return _slice_axis(x, 0, 0, axis)
    if idx.size == n and np.array_equal(idx, np.arange(n)):
        return x
    runs, start = [], 0
    while start < idx.size:
        step = int(idx[start + 1] - idx[start]) if start + 1 < idx.size else 1
        if step not in (-1, 0, 1):
            step = 1
        stop = start + 1
        while stop < idx.size and idx[stop] - idx[stop - 1] == step:
            stop += 1
        runs.append((start, stop, step))
        start = stop
    if len(runs) > 8:
        return lax.gather(x, idx, axis=axis, mode="clip")
    pieces = []
    for start, stop, step in runs:
        first, last = int(idx[start]), int(idx[stop - 1])
        if step == 0:
            piece = _slice_axis(x, first, first + 1, axis)
            if stop - start != 1:
                target = list(shape_of(piece))
                target[axis] = stop - start
                piece = lax.broadcast_in_dim(piece, target, tuple(range(len(target))))
        elif step == 1:
            piece = _slice_axis(x, first, last + 1, axis)
        else:
            piece = lax.rev(_slice_axis(x, last, first + 1, axis), (axis,))
        pieces.append(piece)
    return pieces[0] if len(pieces) == 1 else lax.concatenate(pieces, axis)


def _check_casting(arrays, dtype, casting, name):
    for a in arrays:
        if not np.can_cast(dtype_of(a), dtype, casting=casting):
            raise TypeError(f"{name}: cannot cast array data from {dtype_of(a)} to {dtype} "
                            f"according to the rule {casting!r}")


# --------------------------------------------------------------------------- reshaping


def _resolve_shape(shape, size: int, name: str) -> tuple:
    shape = _static_ints(shape, "the new shape", name)
    unknown = [i for i, d in enumerate(shape) if d == -1]
    if len(unknown) > 1:
        raise ValueError(f"{name}: can only specify one unknown dimension, got shape {shape}")
    if builtins.any(d < -1 for d in shape):
        raise ValueError(f"{name}: negative dimensions are not allowed, got shape {shape}")
    known = int(np.prod([d for d in shape if d != -1], dtype=np.int64))
    if unknown:
        if known == 0 or size % known:
            raise ValueError(f"{name}: cannot reshape array of size {size} into shape {shape}")
        shape = tuple(size // known if d == -1 else d for d in shape)
    if known != size and not unknown:
        raise ValueError(f"{name}: cannot reshape array of size {size} into shape {shape}")
    return shape


def _check_order(order, name):
    if order not in ("C", None):
        raise NotImplementedError(f"ftx.numpy.{name}: only order='C' is supported, got {order!r}")


@eager_numpy(np.reshape)
def reshape(a, /, shape, order="C", *, copy=None):
    """``reshape(x, (2, -1))``: the same elements in a new shape (C order; one -1 is inferred)."""
    _check_order(order, "reshape")
    a = _arr(a)
    new_shape = _resolve_shape(shape, int(np.prod(shape_of(a), dtype=np.int64)), "reshape")
    return a if new_shape == shape_of(a) else lax.reshape(a, new_shape)


@eager_numpy(np.ravel)
def ravel(a, order="C"):
    """``ravel(x)``: the elements as a 1-d array, in C order."""
    _check_order(order, "ravel")
    a = _arr(a)
    size = int(np.prod(shape_of(a), dtype=np.int64))
    return a if ndim_of(a) == 1 else lax.reshape(a, (size,))


def _permutation(axes, ndim, name):
    axes = _static_ints(axes, "axes", name)
    if len(axes) != ndim:
        raise ValueError(f"{name}: axes {axes} don't match an array of rank {ndim}")
    perm = tuple(canonicalize_axis(a, ndim, name) for a in axes)
    if len(set(perm)) != ndim:
        raise ValueError(f"{name}: repeated axis in {axes}")
    return perm


@eager_numpy(np.transpose)
def transpose(a, axes=None):
    """``transpose(x)`` reverses the axes; ``transpose(x, (1, 0, 2))`` permutes them."""
    a = _arr(a)
    ndim = ndim_of(a)
    perm = tuple(range(ndim))[::-1] if axes is None else _permutation(axes, ndim, "transpose")
    return a if perm == tuple(range(ndim)) else lax.transpose(a, perm)


@eager_numpy(np.permute_dims)
def permute_dims(a, /, axes=None):
    """The array-API name of ``transpose``: ``permute_dims(x, (1, 0))``."""
    return transpose.traced(a, axes)


def _axis_tuple(axis, ndim, name, what="axis"):
    """NumPy's normalize_axis_tuple: an int or a sequence, negatives allowed, no repeats."""
    axes = _static_ints(axis, what, name)
    axes = tuple(canonicalize_axis(a, ndim, name) for a in axes)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{name}: repeated axis in `{what}` argument {axis}")
    return axes


@eager_numpy(np.moveaxis)
def moveaxis(a, source, destination):
    """``moveaxis(x, 0, -1)``: axis 0 becomes the last axis, the others keep their order."""
    a = _arr(a)
    ndim = ndim_of(a)
    source = _axis_tuple(source, ndim, "moveaxis", "source")
    destination = _axis_tuple(destination, ndim, "moveaxis", "destination")
    if len(source) != len(destination):
        raise ValueError("moveaxis: `source` and `destination` arguments must have the same "
                         f"number of elements, got {source} and {destination}")
    order = [n for n in range(ndim) if n not in source]
    for dest, src in sorted(zip(destination, source)):
        order.insert(dest, src)
    return transpose.traced(a, order)


@eager_numpy(np.swapaxes)
def swapaxes(a, axis1, axis2):
    """``swapaxes(x, 0, 2)`` exchanges two axes."""
    a = _arr(a)
    ndim = ndim_of(a)
    axis1 = canonicalize_axis(_static_int(axis1, "axis1", "swapaxes"), ndim, "swapaxes")
    axis2 = canonicalize_axis(_static_int(axis2, "axis2", "swapaxes"), ndim, "swapaxes")
    perm = list(range(ndim))
    perm[axis1], perm[axis2] = axis2, axis1
    return transpose.traced(a, perm)


@eager_numpy(np.rollaxis)
def rollaxis(a, axis, start=0):
    """``rollaxis(x, 2)`` moves axis 2 to the front (prefer ``moveaxis``)."""
    a = _arr(a)
    n = ndim_of(a)
    axis = canonicalize_axis(_static_int(axis, "axis", "rollaxis"), n, "rollaxis")
    start = _static_int(start, "start", "rollaxis")
    if start < 0:
        start += n
    if not 0 <= start < n + 1:
        raise np.exceptions.AxisError(f"rollaxis: start {start - n if start < 0 else start} "
                                      f"must be in the range [-{n}, {n}]")
    if axis < start:
        start -= 1
    if axis == start:
        return a
    perm = list(range(n))
    perm.remove(axis)
    perm.insert(start, axis)
    return transpose.traced(a, perm)


@eager_numpy(np.squeeze)
def squeeze(a, axis=None):
    """``squeeze(x)`` drops every size-1 axis; ``squeeze(x, 0)`` only axis 0 (which must be size 1)."""
    a = _arr(a)
    shape = shape_of(a)
    if axis is None:
        axes = tuple(i for i, d in enumerate(shape) if d == 1)
    else:
        axes = _axis_tuple(axis, len(shape), "squeeze")
        for ax in axes:
            if shape[ax] != 1:
                raise ValueError(f"squeeze: cannot select an axis to squeeze out which has size "
                                 f"not equal to one (axis {ax} of shape {shape})")
    return lax.squeeze(a, tuple(sorted(axes))) if axes else a


@eager_numpy(np.expand_dims)
def expand_dims(a, axis):
    """``expand_dims(x, (0, -1))`` inserts size-1 axes at those positions of the result."""
    a = _arr(a)
    shape = list(shape_of(a))
    axes = _axis_tuple(axis, len(shape) + len(_static_ints(axis, "axis", "expand_dims")),
                       "expand_dims")
    for ax in sorted(axes):
        shape.insert(ax, 1)
    return lax.reshape(a, tuple(shape))


# --------------------------------------------------------------------------- broadcasting


@eager_numpy(np.broadcast_to)
def broadcast_to(array, shape, subok=False):
    """``broadcast_to(x, (4, 3))``: ``x`` repeated along new or size-1 axes (NumPy's rules)."""
    array = _arr(array)
    shape = _static_ints(shape, "the shape", "broadcast_to")
    if builtins.any(d < 0 for d in shape):
        raise ValueError(f"broadcast_to: all elements of broadcast shape must be non-negative, "
                         f"got {shape}")
    return _broadcast_to(array, shape, "broadcast_to")


@eager_numpy(np.broadcast_arrays)
def broadcast_arrays(*args, subok=False):
    """``broadcast_arrays(x, y)``: both broadcast to their common shape (a tuple, as NumPy 2)."""
    args = [_arr(a) for a in args]
    shape = broadcast_shapes(*[shape_of(a) for a in args])
    return tuple(_broadcast_to(a, shape, "broadcast_arrays") for a in args)


def broadcast_shapes(*args):
    """``broadcast_shapes((3, 1), (4,)) == (3, 4)``; shapes are static, so this is NumPy's."""
    try:
        return np.broadcast_shapes(*args)
    except ValueError:
        shapes = ", ".join(str(tuple(np.atleast_1d(s))) for s in args)
        raise ValueError(f"broadcast_shapes: shapes {shapes} cannot be broadcast together "
                         "(NumPy broadcasting rules)") from None


# --------------------------------------------------------------------------- joining


def _join(arrays, axis, dtype, casting, name):
    """Concatenate already-arrayed operands along a canonical axis with NumPy's dtype rules."""
    if not arrays:
        raise ValueError(f"{name}: need at least one array to concatenate")
    out_dtype = result_type(*arrays) if dtype is None else np.dtype(dtype)
    _check_casting(arrays, out_dtype, casting, name)
    first = shape_of(arrays[0])
    for a in arrays:
        s = shape_of(a)
        if len(s) != len(first):
            raise ValueError(f"{name}: all the input arrays must have the same number of "
                             f"dimensions, got shapes {[shape_of(b) for b in arrays]}")
        if builtins.any(p != q for i, (p, q) in enumerate(zip(s, first)) if i != axis):
            raise ValueError(f"{name}: all the input array dimensions except for the "
                             f"concatenation axis ({axis}) must match exactly, got shapes "
                             f"{[shape_of(b) for b in arrays]}")
    arrays = [cast(a, out_dtype) for a in arrays]
    return arrays[0] if len(arrays) == 1 else lax.concatenate(arrays, axis)


@eager_numpy(np.concatenate)
def concatenate(arrays, /, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """``concatenate([a, b], axis=1)`` joins along an existing axis; ``axis=None`` flattens."""
    if out is not None:
        raise NotImplementedError("ftx.numpy.concatenate: the out= argument is not supported")
    arrays = [_arr(a) for a in arrays]
    if axis is None:
        arrays = [ravel.traced(a) for a in arrays]
        axis = 0
    if arrays and ndim_of(arrays[0]) == 0:
        raise ValueError("concatenate: zero-dimensional arrays cannot be concatenated")
    axis = canonicalize_axis(_static_int(axis, "axis", "concatenate"),
                             ndim_of(arrays[0]) if arrays else 1, "concatenate")
    return _join(arrays, axis, dtype, casting, "concatenate")


@eager_numpy(np.concat)
def concat(arrays, /, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """The array-API name of ``concatenate``: ``concat([a, b])``."""
    return concatenate.traced(arrays, axis, out, dtype=dtype, casting=casting)


@eager_numpy(np.stack)
def stack(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """``stack([a, b], axis=0)`` joins equal-shaped arrays along a new axis."""
    if out is not None:
        raise NotImplementedError("ftx.numpy.stack: the out= argument is not supported")
    arrays = [_arr(a) for a in arrays]
    if not arrays:
        raise ValueError("stack: need at least one array to stack")
    shapes = {shape_of(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"stack: all input arrays must have the same shape, got "
                         f"{[shape_of(a) for a in arrays]}")
    shape = shapes.pop()
    axis = canonicalize_axis(_static_int(axis, "axis", "stack"), len(shape) + 1, "stack")
    expanded = shape[:axis] + (1,) + shape[axis:]
    return _join([lax.reshape(a, expanded) for a in arrays], axis, dtype, casting, "stack")


@eager_numpy(np.vstack)
def vstack(tup, *, dtype=None, casting="same_kind"):
    """``vstack([a, b])``: rows on top of each other (1-d arrays become rows)."""
    arrays = [atleast_2d.traced(a) for a in tup]
    return _join(arrays, 0, dtype, casting, "vstack")


@eager_numpy(np.vstack)
def row_stack(tup, *, dtype=None, casting="same_kind"):
    """NumPy's deprecated alias of ``vstack``."""
    return vstack.traced(tup, dtype=dtype, casting=casting)


@eager_numpy(np.hstack)
def hstack(tup, *, dtype=None, casting="same_kind"):
    """``hstack([a, b])``: side by side (along axis 1, or axis 0 for 1-d arrays)."""
    arrays = [atleast_1d.traced(a) for a in tup]
    axis = 0 if arrays and ndim_of(arrays[0]) == 1 else 1
    return _join(arrays, axis, dtype, casting, "hstack")


@eager_numpy(np.dstack)
def dstack(tup):
    """``dstack([a, b])``: along the third axis (arrays are made at least 3-d)."""
    return _join([atleast_3d.traced(a) for a in tup], 2, None, "same_kind", "dstack")


@eager_numpy(np.column_stack)
def column_stack(tup):
    """``column_stack([a, b])``: 1-d arrays become columns of a 2-d array."""
    arrays = []
    for a in tup:
        a = _arr(a)
        if ndim_of(a) < 2:
            a = lax.reshape(a, (int(np.prod(shape_of(a), dtype=np.int64)), 1))
        arrays.append(a)
    return _join(arrays, 1, None, "same_kind", "column_stack")


@eager_numpy(np.unstack)
def unstack(x, /, *, axis=0):
    """``unstack(x, axis=0)``: a tuple of the slices of ``x`` along ``axis``."""
    x = _arr(x)
    if ndim_of(x) == 0:
        raise ValueError("unstack: input array must be at least 1-d")
    axis = canonicalize_axis(_static_int(axis, "axis", "unstack"), ndim_of(x), "unstack")
    return tuple(lax.index_in_dim(x, i, axis, keepdims=False) for i in range(shape_of(x)[axis]))


# --------------------------------------------------------------------------- splitting


def _split(ary, indices_or_sections, axis, name, equal):
    ary = _arr(ary)
    axis = canonicalize_axis(_static_int(axis, "axis", name), ndim_of(ary), name)
    total = shape_of(ary)[axis]
    spec = concrete_or_error(indices_or_sections, "indices_or_sections", name)
    if np.ndim(spec) == 0:
        sections = _static_int(spec, "the number of sections", name)
        if sections <= 0:
            raise ValueError(f"{name}: number sections must be larger than 0, got {sections}")
        if equal and total % sections:
            raise ValueError(f"{name}: array split does not result in an equal division "
                             f"({total} elements along axis {axis} into {sections} sections)")
        each, extras = divmod(total, sections)
        sizes = [each + 1] * extras + [each] * (sections - extras)
        points = np.concatenate([[0], np.cumsum(sizes)]).tolist()
    else:
        points = [0] + [_static_int(i, "split indices", name) for i in spec] + [total]
    out = []
    for st, end in zip(points[:-1], points[1:]):
        # Python slice semantics: negative indices count from the end, bounds clip.
        st, end, _ = builtins.slice(st, end).indices(total)
        out.append(_slice_axis(ary, st, builtins.max(st, end), axis))
    return out


@eager_numpy(np.split)
def split(ary, indices_or_sections, axis=0):
    """``split(x, 3)``: 3 equal parts (or an error); ``split(x, [2, 5])``: cut before 2 and 5."""
    return _split(ary, indices_or_sections, axis, "split", equal=True)


@eager_numpy(np.array_split)
def array_split(ary, indices_or_sections, axis=0):
    """``array_split(x, 3)``: 3 parts, the first ones one element longer when they must be."""
    return _split(ary, indices_or_sections, axis, "array_split", equal=False)


@eager_numpy(np.hsplit)
def hsplit(ary, indices_or_sections):
    """``hsplit(x, 2)``: split along axis 1 (axis 0 for 1-d arrays)."""
    ary = _arr(ary)
    if ndim_of(ary) == 0:
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return _split(ary, indices_or_sections, 1 if ndim_of(ary) > 1 else 0, "hsplit", equal=True)


@eager_numpy(np.vsplit)
def vsplit(ary, indices_or_sections):
    """``vsplit(x, 2)``: split along axis 0 (arrays of rank >= 2)."""
    ary = _arr(ary)
    if ndim_of(ary) < 2:
        raise ValueError("vsplit only works on arrays of 2 or more dimensions")
    return _split(ary, indices_or_sections, 0, "vsplit", equal=True)


@eager_numpy(np.dsplit)
def dsplit(ary, indices_or_sections):
    """``dsplit(x, 2)``: split along axis 2 (arrays of rank >= 3)."""
    ary = _arr(ary)
    if ndim_of(ary) < 3:
        raise ValueError("dsplit only works on arrays of 3 or more dimensions")
    return _split(ary, indices_or_sections, 2, "dsplit", equal=True)


# --------------------------------------------------------------------------- repeating


@eager_numpy(np.tile)
def tile(A, reps):
    """``tile(x, (2, 1))``: ``x`` repeated twice along axis 0 (one broadcast and one reshape)."""
    A = _arr(A)
    reps = _static_ints(reps, "reps", "tile")
    if builtins.any(r < 0 for r in reps):
        raise ValueError(f"tile: negative dimensions are not allowed, got reps {reps}")
    nd = builtins.max(len(reps), ndim_of(A))
    shape = (1,) * (nd - ndim_of(A)) + shape_of(A)
    reps = (1,) * (nd - len(reps)) + reps
    # Broadcast to (r0, n0, r1, n1, ...) with x along the n axes, then merge each pair.
    wide, dims = [], []
    for r, n in zip(reps, shape):
        if r != 1:
            wide.append(r)
        dims.append(len(wide))
        wide.append(n)
    out = lax.broadcast_in_dim(lax.reshape(A, shape), tuple(wide), tuple(dims))
    return lax.reshape(out, tuple(r * n for r, n in zip(reps, shape)))


@eager_numpy(np.repeat)
def repeat(a, repeats, axis=None):
    """``repeat(x, 2, axis=0)`` doubles every row; ``repeats`` may be a concrete array of counts."""
    a = _arr(a)
    repeats = concrete_or_error(repeats, "repeats", "repeat")
    if axis is None:
        a, axis = ravel.traced(a), 0
    axis = canonicalize_axis(_static_int(axis, "axis", "repeat"), ndim_of(a), "repeat")
    shape = shape_of(a)
    # NumPy validates the counts (dtype, sign, length) and gives the index map.
    idx = np.repeat(np.arange(shape[axis]), repeats)
    if np.ndim(repeats) == 0 or np.size(repeats) == 1:
        r = int(np.asarray(repeats).reshape(()))
        wide = shape[:axis + 1] + (r,) + shape[axis + 1:]
        dims = tuple(d if d <= axis else d + 1 for d in range(len(shape)))
        out = lax.broadcast_in_dim(a, wide, dims)
        return lax.reshape(out, shape[:axis] + (shape[axis] * r,) + shape[axis + 1:])
    return _take_static(a, idx, axis)


# --------------------------------------------------------------------------- reordering


@eager_numpy(np.flip)
def flip(m, axis=None):
    """Reverse the order of elements along ``axis`` (all axes by default). ``flip(x, 0)``."""
    m = _arr(m)
    axes = canonicalize_axes(concrete_or_error(axis, "axis", "flip"), ndim_of(m), "flip")
    return lax.rev(m, axes) if axes else m


@eager_numpy(np.fliplr)
def fliplr(m):
    """``fliplr(x)`` reverses axis 1 (arrays of rank >= 2)."""
    m = _arr(m)
    if ndim_of(m) < 2:
        raise ValueError(f"fliplr: Input must be >= 2-d, got shape {shape_of(m)}")
    return lax.rev(m, (1,))


@eager_numpy(np.flipud)
def flipud(m):
    """``flipud(x)`` reverses axis 0 (arrays of rank >= 1)."""
    m = _arr(m)
    if ndim_of(m) < 1:
        raise ValueError("flipud: Input must be >= 1-d, got a 0-d array")
    return lax.rev(m, (0,))


def _roll_one(x, shift, axis):
    n = shape_of(x)[axis]
    if n == 0:
        return x
    if not is_tracer(shift):
        shift = int(shift) % n
        if shift == 0:
            return x
        return lax.concatenate([_slice_axis(x, n - shift, n, axis),
                                _slice_axis(x, 0, n - shift, axis)], axis)
    # A traced shift: take the window [n - s, 2n - s) of x twice over, s = shift mod n.
    if dtype_of(shift).kind not in "iu":
        raise TypeError(f"roll: shift must be an integer, got {shift.aval.str_short()}")
    s = lax.rem(lax.add(lax.rem(shift, n), n), n)
    return lax.dynamic_slice_in_dim(lax.concatenate([x, x], axis), lax.sub(n, s), n, axis)


@eager_numpy(np.roll)
def roll(a, shift, axis=None):
    """``roll(x, 2, axis=0)``: elements shift 2 places along axis 0, wrapping around.

    ``shift`` may be a traced integer; ``axis=None`` rolls the flattened array.
    """
    a = _arr(a)
    if axis is None:
        return lax.reshape(roll.traced(ravel.traced(a), shift, 0), shape_of(a))
    axes = _static_ints(axis, "axis", "roll")
    if is_tracer(shift):
        shifts = [shift] if not shape_of(shift) else [shift[i] for i in range(shape_of(shift)[0])]
    else:
        shifts = list(np.atleast_1d(shift)) if not isinstance(shift, (list, tuple)) else list(shift)
        shifts = [s if is_tracer(s) else _static_int(s, "shift", "roll") for s in shifts]
    if len(shifts) == 1:
        shifts = shifts * len(axes)
    elif len(axes) == 1:
        axes = axes * len(shifts)
    if len(shifts) != len(axes):
        raise ValueError(f"roll: 'shift' and 'axis' should be scalars or 1D sequences of the "
                         f"same length, got {len(shifts)} shifts and {len(axes)} axes")
    total = {}
    for s, ax in zip(shifts, axes):
        ax = canonicalize_axis(ax, ndim_of(a), "roll")
        total[ax] = s if ax not in total else (
            total[ax] + s if not (is_tracer(s) or is_tracer(total[ax])) else lax.add(total[ax], s))
    for ax, s in total.items():
        a = _roll_one(a, s, ax)
    return a


@eager_numpy(np.rot90)
def rot90(m, k=1, axes=(0, 1)):
    """``rot90(x)``: rotate by 90 degrees in the plane of ``axes``, from the first axis to the second."""
    m = _arr(m)
    axes = _static_ints(axes, "axes", "rot90")
    ndim = ndim_of(m)
    if len(axes) != 2:
        raise ValueError(f"rot90: len(axes) must be 2, got axes {axes}")
    if axes[0] == axes[1] or builtins.abs(axes[0] - axes[1]) == ndim:
        raise ValueError(f"rot90: Axes must be different, got {axes}")
    if not (-ndim <= axes[0] < ndim and -ndim <= axes[1] < ndim):
        raise ValueError(f"rot90: Axes={axes} out of range for array of ndim={ndim}.")
    a0, a1 = axes[0] % ndim, axes[1] % ndim
    k = _static_int(k, "k", "rot90") % 4
    if k == 0:
        return m
    if k == 2:
        return lax.rev(m, tuple(sorted({a0, a1})))
    perm = list(range(ndim))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return lax.transpose(lax.rev(m, (a1,)), perm)
    return lax.rev(lax.transpose(m, perm), (a1,))


# --------------------------------------------------------------------------- padding


def _as_pairs(x, ndim, as_index, name):
    """NumPy's pad-argument broadcasting: a scalar, a (before, after) pair, or one pair per axis."""
    x = np.array(x)
    if as_index:
        if x.dtype.kind not in "iu":
            raise TypeError(f"{name}: `pad_width` must be of integral type, got {x.dtype}")
        x = x.astype(np.intp)
        if x.size and x.min() < 0:
            raise ValueError(f"{name}: index can't contain negative values, got pad_width "
                             f"{x.tolist()}")
    if x.ndim < 3:
        if x.size == 1:
            x = x.ravel()
            return ((x[0], x[0]),) * ndim
        if x.size == 2 and x.shape != (2, 1):
            x = x.ravel()
            return ((x[0], x[1]),) * ndim
    try:
        return tuple(map(tuple, np.broadcast_to(x, (ndim, 2))))
    except ValueError:
        raise ValueError(f"{name}: could not broadcast {x.shape} to (ndim, 2) = ({ndim}, 2)") \
            from None


_PAD_COPY_MODES = ("edge", "reflect", "symmetric", "wrap")
_PAD_UNSUPPORTED = ("linear_ramp", "maximum", "mean", "median", "minimum")


@eager_numpy(np.pad)
def pad(array, pad_width, mode="constant", **kwargs):
    """``pad(x, ((1, 2), (0, 0)))``: zeros before/after each axis; also edge/reflect/symmetric/wrap.

    ``constant_values`` may be a traced scalar; ``reflect_type='odd'`` and the
    statistic modes (mean, maximum, ...) are not supported.
    """
    array = _arr(array)
    ndim, shape = ndim_of(array), shape_of(array)
    widths = _as_pairs(concrete_or_error(pad_width, "pad_width", "pad"), ndim, True, "pad")
    widths = [(int(b), int(a)) for b, a in widths]
    if callable(mode) or mode in _PAD_UNSUPPORTED:
        raise NotImplementedError(f"ftx.numpy.pad: mode {mode!r} is not supported (use constant, "
                                  f"edge, reflect, symmetric, wrap or empty)")
    allowed = {"constant": {"constant_values"}, "empty": set(), "edge": set(),
               "reflect": {"reflect_type"}, "symmetric": {"reflect_type"}, "wrap": set()}
    if mode not in allowed:
        raise ValueError(f"pad: mode '{mode}' is not supported")
    extra = set(kwargs) - allowed[mode]
    if extra:
        raise ValueError(f"pad: unsupported keyword arguments for mode '{mode}': {extra}")
    dtype = dtype_of(array)
    if mode in ("constant", "empty"):
        values = kwargs.get("constant_values", 0)
        if is_tracer(values):
            if shape_of(values) != ():
                raise NotImplementedError(
                    "ftx.numpy.pad: a traced constant_values must be a scalar")
            return lax.pad(array, cast(values, dtype), [(b, a, 0) for b, a in widths])
        pairs = _as_pairs(values, ndim, False, "pad")
        scalars = {np.asarray(v).astype(dtype).item() for pair in pairs for v in pair}
        if len(scalars) <= 1:
            value = np.asarray(scalars.pop() if scalars else 0).astype(dtype)
            return lax.pad(array, value, [(b, a, 0) for b, a in widths])
        # Different values per side: pad one side at a time, axis by axis, so later
        # axes cover the corners, as NumPy's fill order does.
        for ax, ((b, a), (vb, va)) in enumerate(zip(widths, pairs)):
            for width, value, before in ((b, vb, True), (a, va, False)):
                if width:
                    config = [(0, 0, 0)] * ndim
                    config[ax] = (width, 0, 0) if before else (0, width, 0)
                    array = lax.pad(array, np.asarray(value).astype(dtype), config)
        return array
    reflect_type = kwargs.get("reflect_type", "even")
    if reflect_type != "even":
        raise NotImplementedError("ftx.numpy.pad: reflect_type='odd' is not supported")
    for ax, (b, a) in enumerate(widths):
        if not (b or a):
            continue
        if shape[ax] == 0:
            raise ValueError(f"pad: can't extend empty axis {ax} using modes other than "
                             "'constant' or 'empty'")
        # These modes only copy elements, so padding np.arange gives the index map.
        idx = np.pad(np.arange(shape[ax]), (b, a), mode=mode)
        array = _take_static(array, idx, ax)
    return array


# --------------------------------------------------------------------------- rank and size


def _atleast(arys, ndim, name):
    out = []
    for a in arys:
        a = _arr(a)
        shape = shape_of(a)
        if len(shape) < ndim:
            if ndim == 3 and len(shape) == 1:
                new = (1,) + shape + (1,)
            elif ndim == 3 and len(shape) == 2:
                new = shape + (1,)
            else:
                new = (1,) * (ndim - len(shape)) + shape
            a = lax.reshape(a, new)
        out.append(a)
    return out[0] if len(out) == 1 else tuple(out)


@eager_numpy(np.atleast_1d)
def atleast_1d(*arys):
    """``atleast_1d(3.0)`` has shape (1,); several arguments give a tuple."""
    return _atleast(arys, 1, "atleast_1d")


@eager_numpy(np.atleast_2d)
def atleast_2d(*arys):
    """``atleast_2d(v)`` makes a 1-d ``v`` a row of shape (1, n)."""
    return _atleast(arys, 2, "atleast_2d")


@eager_numpy(np.atleast_3d)
def atleast_3d(*arys):
    """``atleast_3d(v)``: (n,) becomes (1, n, 1) and (m, n) becomes (m, n, 1)."""
    return _atleast(arys, 3, "atleast_3d")


def ndim(a) -> int:
    """The rank as a Python int, for traced arrays too. ``ndim(x) == 2``."""
    return ndim_of(a) if is_tracer(a) else np.ndim(a)


def shape(a) -> tuple:
    """The shape as a tuple of Python ints, for traced arrays too. ``shape(x) == (2, 3)``."""
    return tuple(shape_of(a)) if is_tracer(a) else np.shape(a)


def size(a, axis=None) -> int:
    """The number of elements (along ``axis``) as a Python int. ``size(x, 0) == 2``."""
    s = shape(a)
    if axis is None:
        return int(np.prod(s, dtype=np.int64))
    axes = _axis_tuple(axis, len(s), "size")
    return int(np.prod([s[ax] for ax in axes], dtype=np.int64))


# --------------------------------------------------------------------------- append, insert, delete


@eager_numpy(np.append)
def append(arr, values, axis=None):
    """``append(x, v)``: flattened ``x`` then flattened ``v``; with ``axis``, a concatenate."""
    arr, values = _arr(arr), _arr(values)
    if axis is None:
        return concatenate.traced([ravel.traced(arr), ravel.traced(values)], 0)
    return concatenate.traced([arr, values], axis)


def _static_obj(obj, name):
    obj = concrete_or_error(obj, "the positions (obj)", name)
    if isinstance(obj, (list, tuple)) and _contains_tracer(obj):
        concrete_or_error(next(o for o in obj if is_tracer(o)), "the positions (obj)", name)
    return obj


@eager_numpy(np.insert)
def insert(arr, obj, values, axis=None):
    """``insert(x, 1, v, axis=0)``: ``v`` inserted before row 1 (positions must be concrete)."""
    arr, values = _arr(arr), _arr(values)
    obj = _static_obj(obj, "insert")
    arr_shape, val_shape = shape_of(arr), shape_of(values)
    # NumPy's own insert on index placeholders gives the exact layout (value
    # broadcasting, moved axes, sorted positions): >= 0 points into arr, < 0 into values.
    arr_ids = np.arange(int(np.prod(arr_shape, dtype=np.int64))).reshape(arr_shape)
    val_ids = -1 - np.arange(int(np.prod(val_shape, dtype=np.int64))).reshape(val_shape)
    layout = np.insert(arr_ids, obj, val_ids, axis=axis)
    flat = lax.concatenate([ravel.traced(arr), ravel.traced(cast(values, dtype_of(arr)))], 0)
    index = np.where(layout < 0, arr_ids.size - 1 - layout, layout).reshape(-1)
    return lax.reshape(_take_static(flat, index, 0), layout.shape)


@eager_numpy(np.delete)
def delete(arr, obj, axis=None):
    """``delete(x, [0, 2], axis=1)``: ``x`` without columns 0 and 2 (positions must be concrete)."""
    arr = _arr(arr)
    obj = _static_obj(obj, "delete")
    if axis is None:
        arr, axis = ravel.traced(arr), 0
    axis = canonicalize_axis(_static_int(axis, "axis", "delete"), ndim_of(arr), "delete")
    # Deleting only removes positions along axis: NumPy's delete on an arange is the map.
    keep = np.delete(np.arange(shape_of(arr)[axis]), obj)
    return _take_static(arr, keep, axis)
