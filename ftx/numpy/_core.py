"""What every ftx.numpy function shares: eager dispatch to NumPy, argument checks,
NumPy 2 dtype promotion and NumPy broadcasting expressed with lax primitives.
"""
from __future__ import annotations

import functools

import numpy as np

from ftx import lax
from ftx.core import dtypes, nan_checks
from ftx.core.avals import _array_avals, get_aval
from ftx.core.trace import Tracer, _current

_PY_SCALARS = (bool, int, float, complex)


def eager_numpy(np_fn):
    """Decorate a traced implementation with its NumPy twin, which runs in eager mode.

    Outside every transform ftx.numpy *is* NumPy (same results, same speed); under a
    transform the decorated function expresses the same semantics with lax
    primitives. The op-record tests check that the two agree.
    """

    def wrap(traced_fn):
        @functools.wraps(traced_fn)
        def fn(*args, **kwargs):
            if _current.get() is None:
                out = np_fn(*args, **kwargs)
                if nan_checks.active:
                    nan_checks.check(f"ftx.numpy.{np_fn.__name__}", [out])
                return out
            return traced_fn(*args, **kwargs)

        fn.traced = traced_fn  # the lax expression, for tests and for reading
        return fn

    return wrap


def is_tracer(x) -> bool:
    return isinstance(x, Tracer)


def asarray(x, name: str = "ftx.numpy"):
    """Tracers, NumPy arrays and Python scalars pass through; sequences become NumPy arrays."""
    if isinstance(x, (Tracer, np.ndarray)) or type(x) in _PY_SCALARS:
        return x
    if isinstance(x, np.generic):
        return np.asarray(x)
    if isinstance(x, (list, tuple)):
        if any(isinstance(leaf, Tracer) for leaf in _flat_sequence(x)):
            from ftx.numpy._creation import array  # stacking traced elements
            return array(x)
        return np.asarray(x)
    if hasattr(x, "__array__"):
        return np.asarray(x)
    raise TypeError(f"{name}: expected an array, a Python scalar or a sequence of numbers, "
                    f"got {type(x).__name__}")


def _flat_sequence(x):
    for item in x:
        if isinstance(item, (list, tuple)):
            yield from _flat_sequence(item)
        else:
            yield item


def shape_of(x) -> tuple:
    if isinstance(x, Tracer):
        return x.aval.shape
    # np.shape goes through NumPy's function dispatch: ~10x the cost of the attribute.
    return x.shape if type(x) is np.ndarray else np.shape(x)


def ndim_of(x) -> int:
    return len(shape_of(x))


def dtype_of(x) -> np.dtype:
    return get_aval(x).dtype


def result_type(*args) -> np.dtype:
    """NumPy 2's result dtype for these values (Python scalars are weak)."""
    pairs = []
    for a in args:
        if isinstance(a, (np.dtype, type)) and not isinstance(a, Tracer):
            pairs.append((np.dtype(a), False))
        else:
            av = get_aval(a)
            pairs.append((av.dtype, av.weak_type))
    return dtypes.result_type(*pairs)[0]


def cast(x, dtype):
    """``x`` as ``dtype``: a convert_element_type for arrays and tracers, a check for Python scalars."""
    dtype = np.dtype(dtype)
    if type(x) in _PY_SCALARS:
        # A Python scalar stays a (weak) literal when NumPy would keep it weak; it
        # must fit the target (int8 + 1000 is an OverflowError in NumPy 2 too).
        if dtypes.result_type((dtype, False), (dtypes.python_scalar_dtype(x), True))[0] == dtype:
            if isinstance(x, int) and dtype.kind in "iu":
                np.array(x, dtype=dtype)  # raises OverflowError when out of range
            return x
        return np.asarray(x, dtype=dtype)
    if get_aval(x).dtype == dtype:
        return x
    return lax.convert_element_type(x, dtype)


def _one_strong_dtype(args):
    """The dtype of ``args`` if they are arrays and tracers all of one (strong) dtype, else
    None: then there is nothing to promote (the usual case, checked before the general path)."""
    dtype = None
    for a in args:
        if type(a) is np.ndarray:
            d = a.dtype
        elif isinstance(a, Tracer):
            aval = a.aval
            if aval.weak_type:
                return None
            d = aval.dtype
        else:
            return None
        if dtype is None:
            dtype = d
        elif d != dtype:
            return None
    return dtype


def promote_dtypes(*args):
    """Convert the arguments to their NumPy result dtype (Python scalars stay weak literals)."""
    if _one_strong_dtype(args) is not None:
        return list(args)
    dtype = result_type(*args)
    return [cast(a, dtype) for a in args]


def promote_dtypes_inexact(*args):
    """As promote_dtypes, but at least floating (what NumPy does for sin, true_divide, mean ...)."""
    dtype = _one_strong_dtype(args)
    if dtype is not None and dtype.kind in "fc":
        return list(args)
    dtype = dtypes.to_inexact(result_type(*args))
    return [cast(a, dtype) for a in args]


def broadcast_shapes(name: str, *shapes) -> tuple:
    """NumPy's broadcast shape (in Python: ``np.broadcast_shapes`` costs microseconds, and
    tracing asks for every binary operation on arrays of different shapes)."""
    out = [1] * max(len(s) for s in shapes)
    for s in shapes:
        offset = len(out) - len(s)
        for i, d in enumerate(s):
            o = out[offset + i]
            if o == 1:
                out[offset + i] = d
            elif d != 1 and d != o:
                raise ValueError(f"{name}: shapes {', '.join(str(tuple(s)) for s in shapes)} "
                                 "cannot be broadcast together (NumPy broadcasting rules)")
    return tuple(out)


def broadcast_to(x, shape, name: str = "broadcast_to"):
    """NumPy broadcasting of one array to ``shape`` with a broadcast_in_dim."""
    shape = tuple(shape)
    x_shape = shape_of(x)
    if x_shape == shape:
        return x
    if len(x_shape) > len(shape):
        raise ValueError(f"{name}: cannot broadcast shape {x_shape} to {shape}")
    lead = len(shape) - len(x_shape)
    for a, b in zip(x_shape, shape[lead:]):
        if a not in (1, b):
            raise ValueError(f"{name}: cannot broadcast shape {x_shape} to {shape}")
    if type(x) in _PY_SCALARS:
        x = np.asarray(x)
    # Size-1 axes that grow are dropped first so broadcast_in_dim maps each kept axis.
    keep = [i for i, a in enumerate(x_shape) if a == shape[lead + i]]
    if len(keep) != len(x_shape):
        x = lax.reshape(x, tuple(x_shape[i] for i in keep))
    return lax.broadcast_in_dim(x, shape, tuple(lead + i for i in keep))


def promote_shapes(name: str, *args):
    """Broadcast the non-scalar arguments to one shape (rank-0 ones broadcast inside primitives)."""
    shapes = [shape_of(a) for a in args]
    nonscalar = {s for s in shapes if s}
    if len(nonscalar) <= 1:
        return list(args)
    shape = broadcast_shapes(name, *shapes)
    return [a if not s or s == shape else broadcast_to(a, shape, name) for a, s in zip(args, shapes)]


def _already_promoted(args, inexact: bool) -> bool:
    """True when there is nothing to promote: the arguments are tracers and NumPy arrays of
    one shape and (strong) dtype, and maybe Python ints/floats beside a floating one
    (``x * 2.0``, ``x ** 2``), which stay weak literals. The common case inside transforms,
    checked cheaply before the general path."""
    aval = None
    scalars = False
    for a in args:
        if isinstance(a, Tracer) or type(a) is np.ndarray:
            other = a.aval if type(a) is not np.ndarray else (
                _array_avals.get((a.shape, a.dtype)) or get_aval(a))
            if aval is None:
                aval = other
                if aval.weak_type or (inexact and aval.dtype.kind not in "fc"):
                    return False
            elif other.dtype != aval.dtype or other.shape != aval.shape or other.weak_type:
                return False
        elif type(a) is int or type(a) is float:
            scalars = True
        else:
            return False
    # A weak int/float keeps a floating dtype as it is (NumPy 2); beside an integer array
    # it may not fit (int8 + 1000), which the general path reports.
    return aval is not None and (not scalars or aval.dtype.kind in "fc")


def promote_args(name: str, *args):
    """Arrays in, then NumPy dtype promotion, then NumPy broadcasting."""
    if _already_promoted(args, False):
        return list(args)
    args = [asarray(a, name) for a in args]
    return promote_shapes(name, *promote_dtypes(*args))


def promote_args_inexact(name: str, *args):
    if _already_promoted(args, True):
        return list(args)
    args = [asarray(a, name) for a in args]
    return promote_shapes(name, *promote_dtypes_inexact(*args))


def canonicalize_axis(axis: int, ndim: int, name: str) -> int:
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(f"{name}: axis {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim


def canonicalize_axes(axis, ndim: int, name: str) -> tuple:
    """``None`` -> all axes; an int or a tuple -> sorted non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        axes = tuple(canonicalize_axis(a, ndim, name) for a in axis)
        if len(set(axes)) != len(axes):
            raise ValueError(f"{name}: repeated axis in {axis}")
        return tuple(sorted(axes))
    return (canonicalize_axis(axis, ndim, name),)


def concrete_or_error(x, what: str, name: str):
    """A concrete Python/NumPy value of ``x``, or a ConcretizationTypeError that says why it is needed."""
    if isinstance(x, Tracer):
        from ftx.core.errors import ConcretizationTypeError
        raise ConcretizationTypeError(x, f"{name}: {what} must be known statically.")
    return x
