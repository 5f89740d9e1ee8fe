"""Shared shape/dtype checks for primitive abstract-eval rules, with messages that name the op."""
from __future__ import annotations

import numpy as np

from ftx.core import dtypes
from ftx.core.avals import ShapedArray

_KIND_NAMES = {"b": "bool", "i": "signed integer", "u": "unsigned integer", "f": "floating",
               "c": "complex"}


def describe(avals) -> str:
    return ", ".join(a.str_short() for a in avals)


def check_kinds(name: str, aval: ShapedArray, kinds: str, what: str = "operand") -> None:
    if aval.dtype.kind not in kinds:
        allowed = " or ".join(_KIND_NAMES[k] for k in kinds)
        raise TypeError(f"{name}: {what} dtype must be {allowed}, got {aval.str_short()}")


def elementwise_aval(name: str, avals, kinds: str = "biufc") -> ShapedArray:
    """The common shape and dtype of an elementwise primitive's operands.

    Operands have one shape, except rank-0 ones, which broadcast. They share one
    dtype, except Python-scalar literals (weak-typed), which adopt the others'
    dtype as NumPy 2 does, as long as that loses no kind (an int array times 2.5
    must be converted to float first; ftx.numpy does that).
    """
    shapes = {a.shape for a in avals if a.shape}
    if len(shapes) > 1:
        raise ValueError(f"{name}: operand shapes must be equal (rank-0 operands broadcast); "
                         f"got ({describe(avals)}). ftx.numpy broadcasts for you; lax "
                         "primitives need explicit broadcast_in_dim.")
    shape = shapes.pop() if shapes else ()
    strong = {a.dtype for a in avals if not a.weak_type}
    if len(strong) > 1:
        raise TypeError(f"{name}: operand dtypes must match, got ({describe(avals)}); "
                        "convert with ftx.lax.convert_element_type first "
                        "(ftx.numpy promotes for you)")
    if strong:
        dtype = strong.pop()
        for a in avals:
            if a.weak_type and dtypes.result_type((dtype, False), (a.dtype, True))[0] != dtype:
                raise TypeError(f"{name}: a Python {_KIND_NAMES[a.dtype.kind]} scalar cannot be "
                                f"combined with {dtype.name} without promotion "
                                f"(operands {describe(avals)})")
    else:
        dtype = dtypes.result_type(*[(a.dtype, True) for a in avals])[0]
    out = ShapedArray(shape, dtype)
    check_kinds(name, out, kinds)
    return out


def canonical_axes(name: str, axes, ndim: int) -> tuple:
    """Normalize (possibly negative) axes against ``ndim``; error on out-of-range or repeats."""
    out = []
    for ax in axes:
        ax = int(ax)
        if not -ndim <= ax < ndim:
            raise ValueError(f"{name}: axis {ax} is out of bounds for an array of rank {ndim}")
        out.append(ax % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: repeated axis in {tuple(axes)}")
    return tuple(out)


def check_int_param(name: str, value, what: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: {what} must be a Python int, got {value!r}")
    return int(value)
