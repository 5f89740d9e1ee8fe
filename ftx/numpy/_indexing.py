"""NumPy indexing under transforms: ``x[idx]``, ``x.at[idx].set(v)``, take, nonzero, choose, select ...

One index analysis (``_analyse``) serves reading and functional updates. It
turns a NumPy index into: size-1 axes inserted for ``None`` (and 0-d boolean
masks), a static slice per axis (``lax.slice`` + ``lax.rev``), static integers
(sliced, then squeezed) and advanced integer-array indices, which become one
``gather`` (reading) or one ``scatter*`` (updating) over the indexed axes —
moved to the front first when a slice separates them, which is where NumPy puts
their broadcast dimensions.

Out-of-range array indices follow JAX under a transform: reads clamp (or fill
with ``.get(mode='fill')``), updates are dropped. Static Python integers out of
range raise ``IndexError`` when reading, as in NumPy. Outside transforms
``getitem`` is NumPy's own indexing.
"""
from __future__ import annotations

import builtins
import operator

import numpy as np

from ftx import lax
from ftx.core.errors import ConcretizationTypeError, NonConcreteBooleanIndexError
from ftx.numpy._core import (broadcast_to as _broadcast_to, canonicalize_axis, cast,
                             concrete_or_error, dtype_of, eager_numpy, is_tracer, ndim_of,
                             result_type, shape_of)
from ftx.numpy._shape import _arr, _contains_tracer, _static_int, _take_static, ravel, stack

__all__ = [
    "getitem", "at", "IndexUpdateHelper", "IndexUpdateRef", "take", "take_along_axis",
    "nonzero", "flatnonzero", "argwhere", "compress", "extract", "choose", "select",
    "diag_indices", "diag_indices_from", "tril_indices", "triu_indices", "tril_indices_from",
    "triu_indices_from", "unravel_index", "ravel_multi_index", "ix_",
]

_BAD_INDEX = ("only integers, slices (`:`), ellipsis (`...`), numpy.newaxis (`None`) and "
              "integer or boolean arrays are valid indices")
_INTP = np.dtype(np.intp)


# =========================================================================== index analysis

def _classify(item):
    """One element of an index tuple as (kind, value)."""
    if item is None:
        return "new", None
    if item is Ellipsis:
        return "ellipsis", None
    if isinstance(item, builtins.slice):
        for part in (item.start, item.stop, item.step):
            if is_tracer(part):
                raise ConcretizationTypeError(
                    part, "Array slice indices must have static start/stop/step; for a traced "
                          "start use ftx.lax.dynamic_slice(x, (i,), (size,)).")
        return "slice", builtins.slice(*[None if p is None else operator.index(p)
                                         for p in (item.start, item.stop, item.step)])
    if isinstance(item, (bool, np.bool_)):
        return "bool", bool(item)
    if isinstance(item, (int, np.integer)):
        return "int", int(item)
    if isinstance(item, (list, tuple)) and _contains_tracer(item):
        from ftx.numpy._creation import array
        item = array(item)
    if is_tracer(item):
        kind = dtype_of(item).kind
        if kind == "b":
            raise NonConcreteBooleanIndexError(item)
        if kind not in "iu":
            raise IndexError(f"{_BAD_INDEX}; got a traced {item.aval.str_short()}")
        return "array", item
    if isinstance(item, (list, tuple, np.ndarray)) or hasattr(item, "__array__"):
        arr = np.asarray(item)
        if arr.size == 0 and arr.dtype.kind == "f" and isinstance(item, (list, tuple)):
            arr = arr.astype(_INTP)  # [] indexes nothing; NumPy reads it as an integer array
        if arr.dtype.kind == "b":
            return ("bool", bool(arr)) if arr.ndim == 0 else ("mask", arr)
        if arr.dtype.kind not in "iu":
            raise IndexError(f"{_BAD_INDEX}; got an array of dtype {arr.dtype}")
        return "array", arr
    if hasattr(item, "__index__"):
        return "int", operator.index(item)
    raise IndexError(f"{_BAD_INDEX}; got {type(item).__name__}")


class _Index:
    """A NumPy index resolved against a shape (see the module docstring)."""

    __slots__ = ("expanded", "starts", "limits", "strides", "rev", "int_dims", "adv_dims", "adv",
                 "dropped")

    def sliced_shape(self):
        return tuple(-(-(hi - lo) // st)
                     for lo, hi, st in zip(self.starts, self.limits, self.strides))

    def is_full(self):
        return all(lo == 0 and hi == n and st == 1 for lo, hi, st, n
                   in zip(self.starts, self.limits, self.strides, self.expanded))


def _analyse(shape, idx, policy: str) -> _Index:
    """Resolve ``idx`` for an array of ``shape``.

    ``policy`` says what a static integer out of range does: "raise" (reading,
    as NumPy), "clip", "drop" (updating: the whole update is a no-op, marked
    ``dropped``) or "fill" (kept as an index array so gather fills it).
    """
    entries = [_classify(item) for item in (idx if isinstance(idx, tuple) else (idx,))]
    if builtins.sum(kind == "ellipsis" for kind, _ in entries) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = builtins.sum(1 if kind in ("slice", "int", "array") else
                            (val.ndim if kind == "mask" else 0) for kind, val in entries)
    if consumed > len(shape):
        raise IndexError(f"too many indices for array: array is {len(shape)}-dimensional, "
                         f"but {consumed} were indexed")
    # Expand into one entry per axis of `expanded` (x with the new axes inserted).
    expanded, dims, axis_of, src = [], [], [], 0

    def take_axis(kind, val):
        nonlocal src
        expanded.append(shape[src])
        dims.append((kind, val))
        axis_of.append(src)
        src += 1

    def new_axis(kind, val):
        expanded.append(1)
        dims.append((kind, val))
        axis_of.append(None)

    for kind, val in entries:
        if kind == "new":
            new_axis("slice", builtins.slice(None))
        elif kind == "bool":  # a 0-d mask: a new axis indexed by [0] (True) or [] (False)
            new_axis("array", np.zeros(1 if val else 0, _INTP))
        elif kind == "ellipsis":
            for _ in range(len(shape) - consumed):
                take_axis("slice", builtins.slice(None))
        elif kind == "mask":
            for j, (m, n) in enumerate(zip(val.shape, shape[src:src + val.ndim])):
                if m != n:
                    raise IndexError(f"boolean index did not match indexed array along axis "
                                     f"{src + j}; size of axis is {n} but size of corresponding "
                                     f"boolean axis is {m}")
            for coords in np.nonzero(val):
                take_axis("array", coords.astype(_INTP))
        else:
            take_axis(kind, val)
    while src < len(shape):
        take_axis("slice", builtins.slice(None))

    p = _Index()
    p.expanded, p.dropped = tuple(expanded), False
    p.starts, p.limits, p.strides = [0] * len(dims), list(expanded), [1] * len(dims)
    p.rev, p.int_dims, p.adv_dims, p.adv = [], [], [], []
    advanced = builtins.any(kind == "array" for kind, _ in dims)
    for d, (kind, val) in enumerate(dims):
        n = expanded[d]
        if kind == "slice":
            start, stop, step = val.indices(n)
            count = len(range(start, stop, step))
            if count == 0:
                p.starts[d] = p.limits[d] = 0
            elif step > 0:
                p.starts[d], p.limits[d], p.strides[d] = start, start + (count - 1) * step + 1, step
            else:
                first = start + (count - 1) * step  # the smallest position; rev restores the order
                p.starts[d], p.limits[d], p.strides[d] = first, start + 1, -step
                if count > 1:
                    p.rev.append(d)
        elif kind == "int":
            if policy == "fill":  # gather fills out-of-range ints too
                p.adv_dims.append(d)
                p.adv.append(np.asarray(val, np.int64))
                continue
            i = _static_int_index(val, n, policy, axis_of[d], p)
            if advanced:  # NumPy: with any index array present, ints are advanced indices too
                p.adv_dims.append(d)
                p.adv.append(np.asarray(i, _INTP))
            else:
                p.starts[d], p.limits[d] = i, i + 1
                p.int_dims.append(d)
        else:
            p.adv_dims.append(d)
            p.adv.append(val)
    # Only 0-d concrete advanced indices: they add no axes, so they are static ints
    # (with the out-of-range behaviour of arrays: clamp when reading, drop when updating).
    if p.adv and policy != "fill" and all(not is_tracer(a) and np.ndim(a) == 0 for a in p.adv):
        array_policy = "clip" if policy == "raise" else policy
        for d, a in zip(p.adv_dims, p.adv):
            i, n = int(a), expanded[d]
            i = i + n if i < 0 else i  # wrapped once, as _normalise does for arrays
            if not 0 <= i < n:
                i = _static_int_index(n if i >= n else -n - 1, n, array_policy, axis_of[d], p)
            p.starts[d], p.limits[d] = i, i + 1
            p.int_dims.append(d)
        p.int_dims.sort()
        p.adv_dims, p.adv = [], []
    return p


def _static_int_index(i, n, policy, axis, p) -> int:
    if -n <= i < n:
        return i % n
    if policy == "raise" or (policy == "clip" and n == 0):
        where = f"axis {axis}" if axis is not None else "a new axis"
        raise IndexError(f"index {i} is out of bounds for {where} with size {n}")
    if policy == "clip":
        return builtins.min(builtins.max(i, 0), n - 1)
    p.dropped = True  # "drop": the update touches nothing
    return 0


def _normalise(i, n):
    """Negative indices count from the end (i + n); out-of-range ones are left to gather/scatter."""
    if not is_tracer(i):
        i = np.asarray(i)
        if i.dtype.kind == "u":
            return i
        i = i.astype(np.int64)
        return np.where(i < 0, i + n, i)
    dtype = dtype_of(i)
    if dtype.kind == "u":
        return i
    if np.iinfo(dtype).max < n:
        i = lax.convert_element_type(i, np.int64)
    return lax.select_n(lax.lt(i, 0), i, lax.add(i, n))


def _broadcast_indices(idx):
    shapes = [shape_of(i) for i in idx]
    try:
        common = np.broadcast_shapes(*shapes)
    except ValueError:
        raise IndexError("shape mismatch: indexing arrays could not be broadcast together with "
                         f"shapes {' '.join(str(tuple(s)) for s in shapes)}") from None
    return [np.broadcast_to(i, common) if not is_tracer(i) else _broadcast_to(i, common, "index")
            for i in idx], common


def _expand(x, p):
    """x with the size-1 axes of None (and 0-d masks) inserted."""
    return lax.reshape(x, p.expanded) if p.expanded != shape_of(x) else x


def _region(x, p):
    """The expanded x with the static slices taken and negative-step axes reversed."""
    if not p.is_full():
        x = lax.slice(x, p.starts, p.limits, p.strides)
    if p.rev:
        x = lax.rev(x, tuple(p.rev))
    return x


def _advanced_layout(p):
    """(permutation or None, axis): where the gathered/scattered axes sit."""
    dims = p.adv_dims
    if dims == list(range(dims[0], dims[0] + len(dims))):
        return None, dims[0]
    return tuple(dims) + tuple(d for d in range(len(p.expanded)) if d not in dims), 0


# =========================================================================== reading

def _getitem(x, idx, policy="raise", fill_value=None):
    x = _arr(x)
    p = _analyse(shape_of(x), idx, policy)
    y = _region(_expand(x, p), p)
    if not p.adv:
        return lax.squeeze(y, tuple(p.int_dims)) if p.int_dims else y
    sizes = shape_of(y)
    idx = [_normalise(a, sizes[d]) for a, d in zip(p.adv, p.adv_dims)]
    if policy != "fill" and all(shape_of(i) == () for i in idx) and \
            all(sizes[d] > 0 for d in p.adv_dims):
        # Traced scalar indices (x[i]): a dynamic_slice of size 1 along each, then drop those axes.
        starts = [0] * len(sizes)
        slice_sizes = list(sizes)
        for i, d in zip(idx, p.adv_dims):
            starts[d], slice_sizes[d] = i, 1
        out = lax.dynamic_slice(y, starts, slice_sizes)
        return lax.reshape(out, tuple(s for d, s in enumerate(sizes) if d not in p.adv_dims))
    idx, _ = _broadcast_indices(idx)
    perm, axis = _advanced_layout(p)
    if perm is not None:
        y = lax.transpose(y, perm)
    return lax.gather(y, *idx, axis=axis, mode="fill" if policy == "fill" else "clip",
                      fill_value=fill_value)


def _numpy_getitem(x, idx):
    return np.asarray(x)[idx]


@eager_numpy(_numpy_getitem)
def getitem(x, idx):
    """``getitem(x, (slice(None, None, -2), None, [0, 2]))`` is NumPy's ``x[::-2, None, [0, 2]]``.

    Basic indices become slices, integer arrays (also traced ones) a gather; a
    traced boolean mask raises NonConcreteBooleanIndexError. Under a transform
    out-of-range array indices are clamped, as in JAX.
    """
    return _getitem(x, idx)


# =========================================================================== functional updates

def _values(values, shape, dtype, what):
    """``values`` cast to ``dtype`` and broadcast to the indexed ``shape``."""
    if isinstance(values, (list, tuple)) and _contains_tracer(values):
        from ftx.numpy._creation import array
        values = array(values)
    if is_tracer(values):
        v = cast(values, dtype) if dtype_of(values) != dtype else values
    else:
        v = np.asarray(values)
        if v.dtype.kind == "c" and dtype.kind != "c":
            v = v.real  # drop the imaginary part as a cast does, without NumPy's warning
        v = v.astype(dtype, copy=False)
    vshape = shape_of(v)
    lead = 0
    while len(vshape) - lead > len(shape) and vshape[lead] == 1:
        lead += 1  # leading size-1 axes may be dropped, as in NumPy assignment
    if lead:
        v = lax.reshape(v, vshape[lead:])
    try:
        return _broadcast_to(v, tuple(shape), what)
    except ValueError:
        raise ValueError(f"{what}: cannot broadcast values of shape {vshape} to the indexed "
                         f"shape {tuple(shape)}") from None


def _check_inexact(op, dtype):
    if dtype.kind not in "fc":
        raise TypeError(f"at[...].{op}: needs a floating or complex array, got {dtype}; "
                        "convert it first (e.g. x.astype(float))")


def _dense(op, region, v):
    """The update of a region that basic indices address, where no element repeats."""
    if op == "set":
        return v
    if op in ("divide", "power"):
        _check_inexact(op, dtype_of(region))
    fn = {"add": lax.add, "subtract": lax.sub, "multiply": lax.mul, "divide": lax.div,
          "power": lax.pow, "min": lax.min, "max": lax.max}[op]
    return fn(region, v)


def _scattered(op, target, v, idx, axis, mode):
    """The update through index arrays: repeated indices accumulate (except for set)."""
    kw = dict(axis=axis, mode=mode)
    if op == "set":
        return lax.scatter(target, v, *idx, **kw)
    if op == "add":
        return lax.scatter_add(target, v, *idx, **kw)
    if op == "subtract":
        return lax.scatter_add(target, lax.neg(v), *idx, **kw)
    if op == "multiply":
        return lax.scatter_mul(target, v, *idx, **kw)
    if op == "min":
        return lax.scatter_min(target, v, *idx, **kw)
    if op == "max":
        return lax.scatter_max(target, v, *idx, **kw)
    # x / (v1 * v2) and x ** (v1 * v2) for an index hit twice, as np.divide.at / np.power.at.
    _check_inexact(op, dtype_of(target))
    ones = _broadcast_to(np.ones((), dtype_of(target)), shape_of(target), "at")
    factor = lax.scatter_mul(ones, v, *idx, **kw)
    return lax.div(target, factor) if op == "divide" else lax.pow(target, factor)


def _write_back(y, region, p):
    """``y`` with the sliced region ``p`` replaced by ``region`` (the inverse of ``_sliced``)."""
    if p.rev:
        region = lax.rev(region, tuple(p.rev))
    if p.is_full():
        return region
    if 0 in p.sliced_shape():
        return y
    if all(st == 1 for st in p.strides):
        return lax.dynamic_update_slice(y, region, p.starts)
    # Strided: spread the region with interior padding and select it where it lands.
    config = [(lo, n - (lo + (m - 1) * st + 1), st - 1) for lo, st, n, m
              in zip(p.starts, p.strides, p.expanded, p.sliced_shape())]
    dtype = dtype_of(y)
    spread = lax.pad(region, np.zeros((), dtype), config)
    mask = lax.pad(_broadcast_to(np.ones((), bool), p.sliced_shape(), "at"), np.zeros((), bool),
                   config)
    return lax.select_n(mask, y, spread)


_UPDATE_MODES = {None: "drop", "drop": "drop", "promise_in_bounds": "drop", "fill": "drop",
                 "clip": "clip"}


def _update(x, idx, values, op, mode):
    if mode not in _UPDATE_MODES:
        raise ValueError(f"at[...].{op}: mode must be one of None, 'drop', 'clip', 'fill' or "
                         f"'promise_in_bounds', got {mode!r}")
    mode = _UPDATE_MODES[mode]
    x = _arr(x)
    shape, dtype = shape_of(x), dtype_of(x)
    p = _analyse(shape, idx, mode)
    what = f"at[...].{op}"
    base = _expand(x, p)
    y = _region(base, p)
    region_shape = shape_of(y)
    if not p.adv:
        v = _values(values, tuple(s for d, s in enumerate(region_shape) if d not in p.int_dims),
                    dtype, what)
        if p.dropped:
            return _fresh(x, x)
        new = _dense(op, y, lax.reshape(v, region_shape) if p.int_dims else v)
    else:
        idx = [_normalise(a, region_shape[d]) for a, d in zip(p.adv, p.adv_dims)]
        idx, index_shape = _broadcast_indices(idx)
        perm, axis = _advanced_layout(p)
        target = lax.transpose(y, perm) if perm is not None else y
        t_shape = shape_of(target)
        v = _values(values, t_shape[:axis] + tuple(index_shape) + t_shape[axis + len(idx):],
                    dtype, what)
        if p.dropped:
            return _fresh(x, x)
        new = _scattered(op, target, v, idx, axis, mode)
        if perm is not None:
            new = lax.transpose(new, tuple(np.argsort(perm)))
    out = _write_back(base, new, p)
    return _fresh(out if p.expanded == shape else lax.reshape(out, shape), x, values)


def _fresh(out, *inputs):
    """Eager results are new, writeable arrays: never the input, the values or a view of them."""
    if isinstance(out, np.ndarray) and (
            not (out.flags.owndata and out.flags.writeable)
            or builtins.any(isinstance(a, np.ndarray) and np.may_share_memory(out, a)
                            for a in inputs)):
        return out.copy()
    return out


class IndexUpdateRef:
    """``at(x)[idx]``: an indexed location; its methods return updated copies of ``x``.

    ``mode`` for updates: None/'drop' (out-of-range updates are dropped, JAX's
    default) or 'clip'; for ``get``: None/'clip' or 'fill' (with ``fill_value``).
    ``indices_are_sorted`` and ``unique_indices`` are accepted as JAX hints.
    """

    __slots__ = ("array", "index")

    def __init__(self, array, index):
        self.array, self.index = array, index

    def __repr__(self):
        return f"IndexUpdateRef({self.array!r}, {self.index!r})"

    def get(self, *, indices_are_sorted=False, unique_indices=False, mode=None, fill_value=None):
        """``at(x)[idx].get(mode='fill', fill_value=0)``: ``x[idx]`` with JAX's out-of-range rules."""
        policies = {None: "raise", "clip": "clip", "promise_in_bounds": "clip", "fill": "fill"}
        if mode not in policies:
            raise ValueError(f"at[...].get: mode must be None, 'clip', 'fill' or "
                             f"'promise_in_bounds', got {mode!r}")
        return _getitem(self.array, self.index, policies[mode], fill_value)

    def set(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``at(x)[0].set(1.0)``: ``x`` with ``x[0] = 1.0``."""
        return _update(self.array, self.index, values, "set", mode)

    def add(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``at(x)[i].add(v)``: ``np.add.at`` on a copy (repeated indices accumulate)."""
        return _update(self.array, self.index, values, "add", mode)

    def subtract(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``at(x)[i].subtract(v)``: ``np.subtract.at`` on a copy."""
        return _update(self.array, self.index, values, "subtract", mode)

    def multiply(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``at(x)[i].multiply(v)``: ``np.multiply.at`` on a copy."""
        return _update(self.array, self.index, values, "multiply", mode)

    mul = multiply

    def divide(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``at(x)[i].divide(v)``: ``np.divide.at`` on a copy (floating arrays)."""
        return _update(self.array, self.index, values, "divide", mode)

    def power(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``at(x)[i].power(v)``: ``np.power.at`` on a copy (floating arrays)."""
        return _update(self.array, self.index, values, "power", mode)

    def min(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``at(x)[i].min(v)``: ``np.minimum.at`` on a copy."""
        return _update(self.array, self.index, values, "min", mode)

    def max(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``at(x)[i].max(v)``: ``np.maximum.at`` on a copy."""
        return _update(self.array, self.index, values, "max", mode)

    def apply(self, func, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``at(x)[i].apply(fnp.negative)``: ``func`` applied to the indexed elements.

        Each indexed element is transformed once, even if its index repeats
        (unlike ``np.negative.at``, which applies the function per repeat).
        """
        current = _getitem(self.array, self.index, "clip")
        return _update(self.array, self.index, func(current), "set", mode)


class IndexUpdateHelper:
    """``at(x)``: index it to get an :class:`IndexUpdateRef`, as JAX's ``x.at``."""

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __getitem__(self, index) -> IndexUpdateRef:
        return IndexUpdateRef(self.array, index)

    def __repr__(self):
        return f"IndexUpdateHelper({self.array!r})"


def at(x) -> IndexUpdateHelper:
    """``at(x)[0].set(1.0)``: JAX's functional ``x.at`` for NumPy and traced arrays alike."""
    return IndexUpdateHelper(_arr(x))


# =========================================================================== take

def _index_array(indices, name):
    idx = _arr(indices)
    kind = dtype_of(idx).kind
    if kind == "b":
        idx = cast(idx, _INTP)
    elif kind not in "iu":
        raise TypeError(f"{name}: indices must be integers, got dtype {dtype_of(idx)}")
    return idx


def _wrap(i, n):
    if not is_tracer(i):
        return np.mod(np.asarray(i, np.int64), n)
    return lax.rem(lax.add(lax.rem(i, n), n), n) if dtype_of(i).kind == "i" else lax.rem(i, n)


def _take_indices(idx, n, mode, name):
    """Indices for a gather with JAX's take modes, and the gather mode to use."""
    if mode in (None, "fill", "raise"):
        return _normalise(idx, n), "fill"
    if mode == "clip":  # NumPy's clip: negative indices clamp to 0, they do not count from the end
        return idx, "clip"
    if mode == "wrap":
        if n == 0:
            raise IndexError(f"{name}: cannot do a non-empty take from an empty axis")
        return _wrap(idx, n), "clip"
    raise ValueError(f"{name}: mode must be one of None, 'fill', 'raise', 'clip' or 'wrap', "
                     f"got {mode!r}")


def _take_numpy(a, indices, axis=None, out=None, mode=None, unique_indices=False,
                indices_are_sorted=False, fill_value=None):
    if mode == "fill" or fill_value is not None:
        return take.traced(a, indices, axis, out, mode, fill_value=fill_value)
    return np.take(a, indices, axis=axis, out=out, mode="raise" if mode is None else mode)


@eager_numpy(_take_numpy)
def take(a, indices, axis=None, out=None, mode=None, unique_indices=False,
         indices_are_sorted=False, fill_value=None):
    """``take(x, [0, 2], axis=1)`` is ``x[:, [0, 2]]``; ``axis=None`` takes from the flattened array.

    Modes as in JAX: under a transform the default ('fill', also for NumPy's
    'raise', which cannot be checked on traced indices) gives ``fill_value``
    (NaN, INT_MIN ...) for out-of-range indices; 'clip' clamps; 'wrap' wraps.
    Outside transforms the defaults are NumPy's (an IndexError).
    """
    if out is not None:
        raise NotImplementedError("ftx.numpy.take: the out= argument is not supported")
    a = _arr(a)
    if axis is None:
        a, axis = ravel.traced(a), 0
    axis = canonicalize_axis(_static_int(axis, "axis", "take"), ndim_of(a), "take")
    idx, gather_mode = _take_indices(_index_array(indices, "take"), shape_of(a)[axis], mode, "take")
    return lax.gather(a, idx, axis=axis, mode=gather_mode, fill_value=fill_value)


def _take_along_axis_numpy(arr, indices, axis=-1, mode=None, fill_value=None):
    if mode is not None or fill_value is not None:
        return take_along_axis.traced(arr, indices, axis, mode, fill_value)
    return np.take_along_axis(arr, indices, axis=axis)


@eager_numpy(_take_along_axis_numpy)
def take_along_axis(arr, indices, axis=-1, mode=None, fill_value=None):
    """``take_along_axis(x, np.argsort(x, 1), 1)`` sorts each row: ``out[i, j] = x[i, idx[i, j]]``.

    Axes other than ``axis`` broadcast between ``arr`` and ``indices``;
    out-of-range indices follow ``take``'s modes.
    """
    arr = _arr(arr)
    idx = _index_array(indices, "take_along_axis")
    if axis is None:
        if ndim_of(idx) != 1:
            raise ValueError("take_along_axis: when axis=None, `indices` must have a single "
                             f"dimension, got shape {shape_of(idx)}")
        arr, axis = ravel.traced(arr), 0
    ndim = ndim_of(arr)
    if ndim_of(idx) != ndim:
        raise ValueError(f"take_along_axis: `indices` and `arr` must have the same number of "
                         f"dimensions, got shapes {shape_of(idx)} and {shape_of(arr)}")
    axis = canonicalize_axis(_static_int(axis, "axis", "take_along_axis"), ndim, "take_along_axis")
    a_shape, i_shape = shape_of(arr), shape_of(idx)
    out_shape = []
    for d, (m, k) in enumerate(zip(a_shape, i_shape)):
        if d == axis:
            out_shape.append(k)
        elif m == k or 1 in (m, k):
            out_shape.append(builtins.max(m, k) if 0 not in (m, k) else 0)
        else:
            raise ValueError(f"take_along_axis: shape mismatch: `indices` {i_shape} and `arr` "
                             f"{a_shape} cannot be broadcast outside axis {axis}")
    out_shape = tuple(out_shape)
    main, gather_mode = _take_indices(idx, a_shape[axis], mode, "take_along_axis")
    # One index array per axis: the given indices along `axis`, the position elsewhere.
    index_arrays = []
    for d in range(ndim):
        if d == axis:
            index_arrays.append(_broadcast_to(main, out_shape, "take_along_axis"))
        elif a_shape[d] == 1:
            index_arrays.append(_broadcast_to(np.zeros((), _INTP), out_shape, "take_along_axis"))
        else:
            index_arrays.append(lax.broadcasted_iota(_INTP, out_shape, d))
    if ndim == 0:
        raise ValueError("take_along_axis: arr must be at least 1-d")
    return lax.gather(arr, *index_arrays, axis=0, mode=gather_mode, fill_value=fill_value)


# =========================================================================== nonzero and friends

def _fill_tuple(fill_value, ndim, name):
    if fill_value is None:
        return (0,) * ndim
    fill_value = concrete_or_error(fill_value, "fill_value", name)
    if np.ndim(fill_value) == 0:
        return (int(fill_value),) * ndim
    fills = tuple(int(f) for f in np.ravel(fill_value))
    if len(fills) != ndim:
        raise ValueError(f"{name}: fill_value must be a scalar or have one entry per dimension "
                         f"({ndim}), got {fill_value!r}")
    return fills


def _exclusive_cumsum(m):
    """Running count of the elements before each position (Hillis-Steele, log2(n) pad+add steps)."""
    n = shape_of(m)[0]
    zero = np.zeros((), dtype_of(m))
    c, k = m, 1
    while k < n:
        c = lax.add(c, lax.pad(c, zero, [(k, -k, 0)]))
        k *= 2
    return lax.sub(c, m)


def _nonzero_numpy(a, *, size=None, fill_value=None):
    if size is None:
        return np.nonzero(a)
    return nonzero.traced(a, size=size, fill_value=fill_value)


@eager_numpy(_nonzero_numpy)
def nonzero(a, *, size=None, fill_value=None):
    """``nonzero(x)``: a tuple of index arrays, one per axis, of the non-zero elements.

    Under a transform a traced ``a`` needs ``size=`` (the result length is part
    of its shape): the first ``size`` positions, padded with ``fill_value`` (0).
    """
    a = _arr(a)
    shape = shape_of(a)
    if not shape:
        raise ValueError("nonzero: calling nonzero on 0d arrays is not allowed; use "
                         "atleast_1d(scalar).nonzero() instead")
    if size is None:
        if is_tracer(a):
            raise ConcretizationTypeError(
                a, "nonzero: the number of non-zero elements of a traced array is not known "
                   "while tracing; pass size=... (and fill_value=...) for a fixed-length result.")
        return np.nonzero(a)
    size = _static_int(size, "size", "nonzero")
    fills = _fill_tuple(fill_value, len(shape), "nonzero")
    total = int(np.prod(shape, dtype=np.int64))
    flat = ravel.traced(a)
    mask = flat if dtype_of(flat).kind == "b" else lax.ne(flat, np.zeros((), dtype_of(flat)))
    rank = _exclusive_cumsum(lax.convert_element_type(mask, np.int64))
    # Element k of the result is the position whose rank is k: scatter positions to their
    # ranks (non-zero elements only; ranks >= size fall off the end and are dropped).
    target = lax.select_n(mask, size, rank)
    empty = _broadcast_to(np.array(-1, np.int64), (size,), "nonzero")
    positions = lax.scatter(empty, lax.iota(np.int64, total), target, mode="drop")
    found = lax.ge(positions, 0)
    out, stride = [], total
    for n, fill in zip(shape, fills):
        stride //= n
        coord = lax.div(positions, stride) if stride != 1 else positions
        coord = lax.rem(coord, n) if stride * n != total else coord
        out.append(lax.select_n(found, fill, coord))
    return tuple(out)


def _flatnonzero_numpy(a, *, size=None, fill_value=None):
    if size is None:
        return np.flatnonzero(a)
    return flatnonzero.traced(a, size=size, fill_value=fill_value)


@eager_numpy(_flatnonzero_numpy)
def flatnonzero(a, *, size=None, fill_value=None):
    """``flatnonzero(x)``: positions of the non-zero elements of the flattened ``x``."""
    return nonzero.traced(ravel.traced(_arr(a)), size=size, fill_value=fill_value)[0]


def _argwhere_numpy(a, *, size=None, fill_value=None):
    if size is None:
        return np.argwhere(a)
    return argwhere.traced(a, size=size, fill_value=fill_value)


@eager_numpy(_argwhere_numpy)
def argwhere(a, *, size=None, fill_value=None):
    """``argwhere(x)``: one row of coordinates per non-zero element, shape ``(count, x.ndim)``."""
    a = _arr(a)
    if ndim_of(a) == 0:  # NumPy: one empty row if a is non-zero, else none
        if size is not None:
            return np.zeros((_static_int(size, "size", "argwhere"), 0), np.int64)
        if is_tracer(a):
            raise ConcretizationTypeError(a, "argwhere: pass size=... for a traced input.")
        return np.argwhere(a)
    coords = nonzero.traced(a, size=size, fill_value=fill_value)
    if not is_tracer(coords[0]):
        return np.stack(coords, axis=1).astype(np.int64, copy=False)
    return stack.traced(coords, axis=1)


def _compress_numpy(condition, a, axis=None, out=None, *, size=None, fill_value=0):
    if size is None:
        return np.compress(condition, a, axis=axis, out=out)
    return compress.traced(condition, a, axis, out, size=size, fill_value=fill_value)


@eager_numpy(_compress_numpy)
def compress(condition, a, axis=None, out=None, *, size=None, fill_value=0):
    """``compress([True, False, True], x, axis=0)``: the rows of ``x`` where the condition holds.

    The condition must be concrete, or ``size=`` given (the result is padded
    with ``fill_value``).
    """
    if out is not None:
        raise NotImplementedError("ftx.numpy.compress: the out= argument is not supported")
    a, condition = _arr(a), _arr(condition)
    if ndim_of(condition) != 1:
        raise ValueError(f"compress: condition must be a 1-d array, got shape {shape_of(condition)}")
    if axis is None:
        a, axis = ravel.traced(a), 0
    axis = canonicalize_axis(_static_int(axis, "axis", "compress"), ndim_of(a), "compress")
    n = shape_of(a)[axis]
    if not is_tracer(condition):
        idx = np.nonzero(condition)[0]
        if idx.size and idx[-1] >= n:
            raise IndexError(f"compress: index {idx[-1]} is out of bounds for axis {axis} with "
                             f"size {n}")
        if size is None:
            return _take_static(a, idx, axis)
        idx = np.concatenate([idx[:size], np.full(builtins.max(size - idx.size, 0), n, idx.dtype)])
    elif size is None:
        raise ConcretizationTypeError(
            condition, "compress: a traced condition gives a result whose length is not known "
                       "while tracing; pass size=... (and fill_value=...).")
    else:
        idx = nonzero.traced(condition, size=_static_int(size, "size", "compress"),
                             fill_value=n)[0]
    return lax.gather(a, idx, axis=axis, mode="fill", fill_value=fill_value)


def _extract_numpy(condition, arr, *, size=None, fill_value=0):
    if size is None:
        return np.extract(condition, arr)
    return extract.traced(condition, arr, size=size, fill_value=fill_value)


@eager_numpy(_extract_numpy)
def extract(condition, arr, *, size=None, fill_value=0):
    """``extract(x > 0, x)``: the elements of flattened ``x`` where the condition holds."""
    condition = _arr(condition)
    # A concrete condition stays concrete (NumPy's ravel), so no size= is needed.
    condition = ravel.traced(condition) if is_tracer(condition) else np.ravel(condition)
    return compress.traced(condition, ravel.traced(_arr(arr)), size=size, fill_value=fill_value)


# =========================================================================== choose and select

def _weak(x):
    """Python scalars stay weak (as NumPy 2's choose/select treat them); the rest become arrays."""
    return x if type(x) in (int, float, complex) else _arr(x)


def _as(x, dtype, shape, name):
    x = cast(x, dtype) if is_tracer(x) else np.asarray(x).astype(dtype, copy=False)
    return _broadcast_to(x, shape, name)


@eager_numpy(np.choose)
def choose(a, choices, out=None, mode="raise"):
    """``choose(i, [a, b, c])``: elementwise ``[a, b, c][i]``, all broadcast together.

    ``mode='raise'`` needs a concrete ``i`` (use 'clip' or 'wrap' for a traced one).
    """
    if out is not None:
        raise NotImplementedError("ftx.numpy.choose: the out= argument is not supported")
    a = _arr(a)
    choices = [_weak(c) for c in choices]
    n = len(choices)
    if n == 0:
        raise ValueError("choose: choices must be a non-empty sequence")
    if dtype_of(a).kind not in "biu":
        raise TypeError(f"choose: the index array must be integer, got {dtype_of(a)}")
    if dtype_of(a).kind == "b":
        a = cast(a, _INTP)
    if mode == "raise":
        if is_tracer(a):
            raise ConcretizationTypeError(
                a, "choose: mode='raise' cannot check traced indices; use mode='clip' or "
                   "mode='wrap'.")
        if np.any((a < 0) | (a >= n)):
            raise ValueError("choose: invalid entry in choice array")
    elif mode == "wrap":
        a = _wrap(a, n)
    elif mode == "clip":
        a = np.clip(a, 0, n - 1) if not is_tracer(a) else lax.clamp(0, a, n - 1)
    else:
        raise ValueError(f"choose: clipmode must be one of 'clip', 'raise', or 'wrap', got {mode!r}")
    dtype = result_type(*choices)
    shape = tuple(np.broadcast_shapes(shape_of(a), *[np.shape(c) if not is_tracer(c) else
                                                      shape_of(c) for c in choices]))
    return lax.select_n(_broadcast_to(a, shape, "choose"),
                        *[_as(c, dtype, shape, "choose") for c in choices])


@eager_numpy(np.select)
def select(condlist, choicelist, default=0):
    """``select([x < 0, x > 0], [-x, x], 0)``: the choice of the first true condition, else ``default``."""
    if len(condlist) != len(choicelist):
        raise ValueError("select: list of cases must be same length as list of conditions")
    if len(condlist) == 0:
        raise ValueError("select: select with an empty condition list is not possible")
    choices = [_weak(c) for c in choicelist] + [_weak(default)]
    dtype = result_type(*choices)
    conds = [_arr(c) for c in condlist]
    for i, c in enumerate(conds):
        if dtype_of(c).kind != "b":
            raise TypeError(f"select: invalid entry {i} in condlist: should be boolean ndarray, "
                            f"got {dtype_of(c)}")
    shape = tuple(np.broadcast_shapes(*[shape_of(c) for c in conds],
                                      *[np.shape(c) if not is_tracer(c) else shape_of(c)
                                        for c in choices]))
    out = _as(choices[-1], dtype, shape, "select")
    for cond, choice in reversed(list(zip(conds, choices[:-1]))):
        out = lax.select_n(_broadcast_to(cond, shape, "select"), out,
                           _as(choice, dtype, shape, "select"))
    return out


# =========================================================================== index constructors
# Their results depend only on shapes, so they are NumPy arrays (graph constants).

def diag_indices(n, ndim=2):
    """``diag_indices(3)``: indices of the main diagonal of a 3x3 array (``x[diag_indices(3)]``)."""
    return np.diag_indices(_static_int(n, "n", "diag_indices"),
                           _static_int(ndim, "ndim", "diag_indices"))


def diag_indices_from(arr):
    """``diag_indices_from(x)``: the main-diagonal indices of a square ``x`` (traced allowed)."""
    shape = shape_of(_arr(arr))
    if len(shape) < 2:
        raise ValueError(f"diag_indices_from: input array must be at least 2-d, got shape {shape}")
    if len(set(shape)) != 1:
        raise ValueError(f"diag_indices_from: all dimensions of input must be of equal length, "
                         f"got shape {shape}")
    return np.diag_indices(shape[0], len(shape))


def tril_indices(n, k=0, m=None):
    """``tril_indices(3)``: row and column indices of the lower triangle of a 3x3 array."""
    return np.tril_indices(_static_int(n, "n", "tril_indices"), _static_int(k, "k", "tril_indices"),
                           None if m is None else _static_int(m, "m", "tril_indices"))


def triu_indices(n, k=0, m=None):
    """``triu_indices(3, 1)``: indices of the strict upper triangle of a 3x3 array."""
    return np.triu_indices(_static_int(n, "n", "triu_indices"), _static_int(k, "k", "triu_indices"),
                           None if m is None else _static_int(m, "m", "triu_indices"))


def _matrix_shape(arr, name):
    shape = shape_of(_arr(arr))
    if len(shape) != 2:
        raise ValueError(f"{name}: input array must be 2-d, got shape {shape}")
    return shape


def tril_indices_from(arr, k=0):
    """``tril_indices_from(x)``: lower-triangle indices for the 2-d ``x``."""
    rows, cols = _matrix_shape(arr, "tril_indices_from")
    return np.tril_indices(rows, _static_int(k, "k", "tril_indices_from"), cols)


def triu_indices_from(arr, k=0):
    """``triu_indices_from(x)``: upper-triangle indices for the 2-d ``x``."""
    rows, cols = _matrix_shape(arr, "triu_indices_from")
    return np.triu_indices(rows, _static_int(k, "k", "triu_indices_from"), cols)


def _strides(dims, order, name):
    if order not in ("C", "F"):
        raise ValueError(f"{name}: only 'C' or 'F' order is permitted, got {order!r}")
    strides, acc = [0] * len(dims), 1
    for d in (reversed(range(len(dims))) if order == "C" else range(len(dims))):
        strides[d] = acc
        acc *= dims[d]
    return strides


@eager_numpy(np.unravel_index)
def unravel_index(indices, shape, order="C"):
    """``unravel_index(7, (3, 4)) == (1, 3)``: flat positions as one coordinate array per axis.

    Under a transform out-of-range flat indices are clipped and negative ones
    count from the end (as in JAX); NumPy raises instead.
    """
    dims = tuple(_static_int(d, "shape", "unravel_index") for d in
                 (shape if np.ndim(shape) else (shape,)))
    indices = _arr(indices)
    if not is_tracer(indices):
        return np.unravel_index(indices, dims, order=order)
    if dtype_of(indices).kind not in "iu":
        raise TypeError(f"unravel_index: only int indices permitted, got {dtype_of(indices)}")
    total = int(np.prod(dims, dtype=np.int64))
    if total == 0:
        raise ValueError(f"unravel_index: cannot unravel into the empty shape {dims}")
    i = lax.convert_element_type(indices, np.int64)
    i = lax.clamp(-total, i, total - 1)
    i = lax.select_n(lax.lt(i, 0), i, lax.add(i, total))
    out = []
    for s, n in zip(_strides(dims, order, "unravel_index"), dims):
        coord = lax.div(i, s) if s != 1 else i
        out.append(lax.rem(coord, n) if s * n != total else coord)
    return tuple(out)


@eager_numpy(np.ravel_multi_index)
def ravel_multi_index(multi_index, dims, mode="raise", order="C"):
    """``ravel_multi_index(([1], [3]), (3, 4)) == [7]``: coordinates to flat positions.

    ``mode`` ('raise', 'wrap', 'clip', or one per axis); 'raise' needs concrete coordinates.
    """
    dims = tuple(_static_int(d, "dims", "ravel_multi_index") for d in dims)
    coords = [_arr(c) for c in multi_index]
    if len(coords) != len(dims):
        raise ValueError(f"ravel_multi_index: parameter multi_index must be a sequence of "
                         f"length {len(dims)}, got {len(coords)}")
    if not builtins.any(is_tracer(c) for c in coords):
        return np.ravel_multi_index(tuple(coords), dims, mode=mode, order=order)
    modes = (mode,) * len(dims) if isinstance(mode, str) else tuple(mode)
    strides = _strides(dims, order, "ravel_multi_index")
    shape = tuple(np.broadcast_shapes(*[shape_of(c) for c in coords]))
    total = None
    for c, n, m, s in zip(coords, dims, modes, strides):
        if dtype_of(c).kind not in "iu":
            raise TypeError(f"ravel_multi_index: only int indices permitted, got {dtype_of(c)}")
        if m == "raise":
            if is_tracer(c):
                raise ConcretizationTypeError(
                    c, "ravel_multi_index: mode='raise' cannot check traced coordinates; use "
                       "mode='wrap' or mode='clip'.")
            if np.any((c < 0) | (c >= n)):
                raise ValueError("ravel_multi_index: invalid entry in coordinates array")
        elif m == "wrap":
            c = _wrap(c, n)
        elif m == "clip":
            c = np.clip(c, 0, n - 1) if not is_tracer(c) else lax.clamp(0, c, n - 1)
        else:
            raise ValueError(f"ravel_multi_index: clipmode must be one of 'clip', 'raise', or "
                             f"'wrap', got {m!r}")
        term = lax.mul(_as(c, np.int64, shape, "ravel_multi_index"), s)
        total = term if total is None else lax.add(total, term)
    return total


@eager_numpy(np.ix_)
def ix_(*args):
    """``x[ix_([0, 2], [1, 3])]`` picks the 2x2 cross product of rows {0, 2} and columns {1, 3}."""
    out = []
    for k, a in enumerate(args):
        a = _arr(a)
        if ndim_of(a) != 1:
            raise ValueError(f"ix_: cross index must be 1 dimensional, got shape {shape_of(a)}")
        if is_tracer(a) and dtype_of(a).kind == "b":
            raise NonConcreteBooleanIndexError(a)
        if not is_tracer(a):
            a = np.nonzero(a)[0] if a.dtype.kind == "b" else (a.astype(_INTP) if a.size == 0 else a)
        new_shape = (1,) * k + (shape_of(a)[0],) + (1,) * (len(args) - k - 1)
        out.append(lax.reshape(a, new_shape) if is_tracer(a) else np.reshape(a, new_shape))
    return tuple(out)
