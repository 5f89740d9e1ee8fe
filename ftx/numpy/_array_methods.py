"""Operators, properties and methods of traced arrays, as on ``numpy.ndarray``.

The core's Tracer knows no functions; this module installs ``x + y``, ``x @ y``,
``x[idx]``, ``x.at[idx].set(v)``, ``x.sum()``, ``x.T`` ... in terms of
ftx.numpy, exactly as ndarray's are in terms of NumPy.
"""
from __future__ import annotations

from ftx.core.trace import register_tracer_methods


def _fnp():
    import ftx.numpy as fnp
    return fnp


def _binary(name, reflected=False):
    if reflected:
        def method(self, other):
            return getattr(_fnp(), name)(other, self)
    else:
        def method(self, other):
            return getattr(_fnp(), name)(self, other)
    method.__name__ = name
    return method


def _unary(name):
    def method(self):
        return getattr(_fnp(), name)(self)
    method.__name__ = name
    return method


def _forward(name):
    """``x.name(*args, **kwargs)`` is ``ftx.numpy.name(x, *args, **kwargs)``."""
    def method(self, *args, **kwargs):
        return getattr(_fnp(), name)(self, *args, **kwargs)
    method.__name__ = name
    return method


def _shape_args(args):
    # x.reshape(2, 3) and x.reshape((2, 3)) are both NumPy spellings.
    return args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args


def _reshape(self, *shape, order="C"):
    return _fnp().reshape(self, _shape_args(shape), order=order)


def _transpose(self, *axes):
    axes = _shape_args(axes)
    return _fnp().transpose(self, axes if axes else None)


def _astype(self, dtype, copy=True):
    return _fnp().astype(self, dtype)


def _flatten(self, order="C"):
    return _fnp().ravel(self, order=order)


def _setitem(self, idx, value):
    raise TypeError(f"ftx arrays are immutable: `x[idx] = v` is not allowed on a traced "
                    f"{self.aval.str_short()}. Use the functional update `x = x.at[idx].set(v)` "
                    "(or .add, .multiply, .min, .max).")


def _item(self, *args):
    from ftx.core.errors import ConcretizationTypeError
    raise ConcretizationTypeError(self, "item() needs a concrete value.")


def _tolist(self):
    from ftx.core.errors import ConcretizationTypeError
    raise ConcretizationTypeError(self, "tolist() needs a concrete value.")


_OPERATORS = {
    "__add__": "add", "__sub__": "subtract", "__mul__": "multiply", "__truediv__": "true_divide",
    "__floordiv__": "floor_divide", "__mod__": "remainder", "__divmod__": "divmod",
    "__pow__": "power", "__matmul__": "matmul", "__and__": "bitwise_and", "__or__": "bitwise_or",
    "__xor__": "bitwise_xor", "__lshift__": "left_shift", "__rshift__": "right_shift",
    "__eq__": "equal", "__ne__": "not_equal", "__lt__": "less", "__le__": "less_equal",
    "__gt__": "greater", "__ge__": "greater_equal",
}
_REFLECTED = {
    "__radd__": "add", "__rsub__": "subtract", "__rmul__": "multiply", "__rtruediv__": "true_divide",
    "__rfloordiv__": "floor_divide", "__rmod__": "remainder", "__rdivmod__": "divmod",
    "__rpow__": "power", "__rmatmul__": "matmul", "__rand__": "bitwise_and",
    "__ror__": "bitwise_or", "__rxor__": "bitwise_xor", "__rlshift__": "left_shift",
    "__rrshift__": "right_shift",
}
_UNARY = {"__neg__": "negative", "__pos__": "positive", "__abs__": "absolute",
          "__invert__": "invert"}
_METHODS = ["sum", "prod", "mean", "var", "std", "max", "min", "any", "all", "argmax", "argmin",
            "cumsum", "cumprod", "ptp", "clip", "round", "conj", "conjugate", "dot", "sort",
            "argsort", "take", "repeat", "trace", "diagonal", "squeeze", "swapaxes", "ravel",
            "nonzero", "copy", "searchsorted"]


def install() -> None:
    methods = {}
    methods.update({k: _binary(v) for k, v in _OPERATORS.items()})
    methods.update({k: _binary(v, reflected=True) for k, v in _REFLECTED.items()})
    methods.update({k: _unary(v) for k, v in _UNARY.items()})
    methods.update({name: _forward(name) for name in _METHODS})
    methods.update({
        "__getitem__": lambda self, idx: _fnp()._indexing.getitem(self, idx),
        "__setitem__": _setitem,
        "reshape": _reshape, "transpose": _transpose, "astype": _astype, "flatten": _flatten,
        "item": _item, "tolist": _tolist,
        "T": property(lambda self: _fnp().transpose(self)),
        "mT": property(lambda self: _fnp().swapaxes(self, -1, -2)),
        "real": property(lambda self: _fnp().real(self)),
        "imag": property(lambda self: _fnp().imag(self)),
        "at": property(lambda self: _fnp().at(self)),
        "nbytes": property(lambda self: self.aval.nbytes),
        "itemsize": property(lambda self: self.aval.dtype.itemsize),
    })
    register_tracer_methods(methods)

