"""Abstract values: what tracing knows about an array (shape, dtype, weak type)."""
from __future__ import annotations

import math

import numpy as np

from ftx.core import dtypes


class ShapedArray:
    """The abstract value of an array: ``ShapedArray((3, 4), np.float32)`` prints ``f32[3,4]``.

    ``weak_type`` marks values that came from Python scalars, which promote
    weakly (``f32_array * 2.0`` stays f32), exactly as NumPy 2 treats them.
    """

    __slots__ = ("shape", "dtype", "weak_type", "_hash")

    def __init__(self, shape, dtype, weak_type: bool = False):
        # Avals are built for every traced operation: skip conversions when types are exact.
        self.shape = shape if type(shape) is tuple else tuple(int(d) for d in shape)
        self.dtype = dtype if isinstance(dtype, np.dtype) else np.dtype(dtype)
        self.weak_type = weak_type is True
        self._hash = None  # computed on first use: avals key the abstract-eval memo

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def update(self, shape=None, dtype=None, weak_type=None) -> "ShapedArray":
        return ShapedArray(self.shape if shape is None else shape,
                           self.dtype if dtype is None else dtype,
                           self.weak_type if weak_type is None else weak_type)

    def strip_weak_type(self) -> "ShapedArray":
        return self if not self.weak_type else ShapedArray(self.shape, self.dtype, False)

    def to_tangent_aval(self) -> "ShapedArray":
        if self.dtype.kind in "fc":  # its own tangent type (avals are immutable: share it)
            return self
        return ShapedArray(self.shape, dtypes.float0, self.weak_type)

    def str_short(self) -> str:
        return f"{dtypes.short_name(self.dtype)}[{','.join(map(str, self.shape))}]"

    def __eq__(self, other):
        return self is other or (type(other) is ShapedArray and self.shape == other.shape
                                 and self.dtype == other.dtype
                                 and self.weak_type == other.weak_type)

    def __hash__(self):
        h = self._hash
        if h is None:
            h = self._hash = hash((self.shape, self.dtype, self.weak_type))
        return h

    def __repr__(self):
        weak = ", weak_type=True" if self.weak_type else ""
        return f"ShapedArray({self.shape}, {self.dtype.name}{weak})"

    __str__ = str_short


class ShapeDtypeStruct:
    """A stand-in for an array that has only a shape and a dtype.

    Pass it where an array is expected to trace or lower without data:
    ``ftx.eval_shape(f, ShapeDtypeStruct((3,), np.float32))``.
    """

    __slots__ = ("shape", "dtype", "weak_type")

    def __init__(self, shape, dtype, weak_type: bool = False):
        self.shape = tuple(int(d) for d in shape)
        self.dtype = dtypes.check_supported(dtype, "ShapeDtypeStruct")
        self.weak_type = bool(weak_type)

    @classmethod
    def like(cls, x) -> "ShapeDtypeStruct":
        """``ShapeDtypeStruct.like(np.zeros((2, 3)))`` has shape (2, 3) and dtype float64."""
        aval = get_aval(x)
        return cls(aval.shape, aval.dtype, aval.weak_type)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __eq__(self, other):
        return (isinstance(other, ShapeDtypeStruct) and self.shape == other.shape
                and self.dtype == other.dtype and self.weak_type == other.weak_type)

    def __hash__(self):
        return hash((self.shape, self.dtype, self.weak_type))

    def __repr__(self):
        weak = ", weak_type=True" if self.weak_type else ""
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name}{weak})"


def _scalar_aval(x):
    # Every Python scalar is weak (NEP 50): int8_array + True stays int8.
    return ShapedArray((), dtypes.python_scalar_dtype(x), weak_type=True)


def _interned_scalar_aval(type_):
    aval = _scalar_aval(type_())
    return lambda x: aval  # one aval per exact Python scalar type: it depends on nothing else


# (shape, dtype) -> the one strong ShapedArray for arrays of that type. Avals are
# immutable, and tracing asks for the aval of the same few array types again and again:
# sharing them saves building one per question and makes equality an identity test.
_array_avals: dict = {}


def _array_aval(x):
    key = (x.shape, x.dtype)
    aval = _array_avals.get(key)
    if aval is None:
        dtypes.check_supported(x.dtype, "ftx")
        if len(_array_avals) > 10000:  # many distinct shapes: start over rather than grow
            _array_avals.clear()
        aval = _array_avals[key] = ShapedArray(x.shape, x.dtype, False)
    return aval


def _struct_aval(x):
    return ShapedArray(x.shape, x.dtype, x.weak_type)


_aval_handlers = {
    bool: _interned_scalar_aval(bool), int: _interned_scalar_aval(int),
    float: _interned_scalar_aval(float), complex: _interned_scalar_aval(complex),
    np.ndarray: _array_aval, ShapeDtypeStruct: _struct_aval,
}


def register_aval_handler(type_, handler) -> None:
    """Teach ``get_aval`` a new array-like type (the tracer types register here)."""
    _aval_handlers[type_] = handler


def get_aval(x) -> ShapedArray:
    """The abstract value of an array-like: ``get_aval(2.0)`` is a weak ``f64[]``."""
    if type(x) is np.ndarray:  # the most frequent question while tracing, answered inline
        aval = _array_avals.get((x.shape, x.dtype))
        if aval is not None:
            return aval
    handler = _aval_handlers.get(type(x))
    if handler is not None:
        return handler(x)
    if isinstance(x, np.generic):
        return _array_aval(x)
    for type_, handler in _aval_handlers.items():
        if isinstance(x, type_):
            return handler(x)
    if isinstance(x, (list, tuple)):
        return _array_aval(np.asarray(x))
    raise TypeError(f"ftx: a value of type {type(x).__name__} is not a valid array "
                    f"(got {x!r:.80}); pass a NumPy array, a Python scalar or a list of numbers")


def is_array_like(x) -> bool:
    try:
        get_aval(x)
    except TypeError:
        return False
    return True
