"""Cumulative (scan) primitives along one axis: cumsum, cumprod, cummax, cummin, cumlogsumexp.

Params: ``axis`` (a non-negative int) and ``reverse`` (accumulate from the end).
Each keeps its operand's shape and dtype; ftx.numpy widens integers first where
NumPy does (``np.cumsum`` of int32 is int64).
"""
from __future__ import annotations

import numpy as np

from ftx.core.avals import ShapedArray
from ftx.core.primitive import Primitive
from ftx.lax._shape_rules import canonical_axes, check_kinds

__all__ = [
    "cumsum_p", "cumprod_p", "cummax_p", "cummin_p", "cumlogsumexp_p",
    "cumsum", "cumprod", "cummax", "cummin", "cumlogsumexp",
]


def _cumulative(name: str, ufunc, kinds: str) -> Primitive:
    """``name[axis=k, reverse=False]``: ``ufunc.accumulate`` along ``axis``."""
    prim = Primitive(name)

    def impl(x, *, axis, reverse):
        x = np.asarray(x)
        if reverse:
            x = np.flip(x, axis)
        # dtype= keeps the operand's dtype (np.add.accumulate would widen small ints).
        out = ufunc.accumulate(x, axis=axis, dtype=x.dtype)
        return [np.flip(out, axis) if reverse else out]

    def abstract_eval(x, *, axis, reverse):
        check_kinds(name, x, kinds)
        if type(axis) is not int or not 0 <= axis < x.ndim:
            raise ValueError(f"{name}: axis {axis!r} is out of bounds for operand "
                             f"{x.str_short()}")
        if type(reverse) is not bool:
            raise TypeError(f"{name}: reverse must be a bool, got {reverse!r}")
        return [ShapedArray(x.shape, x.dtype)]

    prim.def_impl(impl)
    prim.def_abstract_eval(abstract_eval)
    return prim


cumsum_p = _cumulative("cumsum", np.add, "iufc")
cumprod_p = _cumulative("cumprod", np.multiply, "iufc")
# np.maximum/minimum propagate NaN: every element after a NaN is NaN, as in np.maximum.accumulate.
cummax_p = _cumulative("cummax", np.maximum, "biuf")
cummin_p = _cumulative("cummin", np.minimum, "biuf")
# logaddexp is the stable log(exp(a) + exp(b)), so the running value never overflows.
cumlogsumexp_p = _cumulative("cumlogsumexp", np.logaddexp, "f")


# =========================================================================== user-facing lax API

def _params(name: str, x, axis, reverse) -> dict:
    ndim = x.aval.ndim if hasattr(x, "aval") else np.ndim(x)
    (axis,) = canonical_axes(name, (axis,), ndim)
    return {"axis": int(axis), "reverse": bool(reverse)}


def cumsum(x, axis: int = 0, reverse: bool = False):
    """``cumsum(x, 0)``: running sums along axis 0 (``reverse=True`` sums from the end)."""
    return cumsum_p.bind1(x, **_params("cumsum", x, axis, reverse))


def cumprod(x, axis: int = 0, reverse: bool = False):
    """``cumprod(x, 0)``: running products along axis 0."""
    return cumprod_p.bind1(x, **_params("cumprod", x, axis, reverse))


def cummax(x, axis: int = 0, reverse: bool = False):
    """``cummax(x, 0)``: running maxima along axis 0 (NaN from the first NaN on)."""
    return cummax_p.bind1(x, **_params("cummax", x, axis, reverse))


def cummin(x, axis: int = 0, reverse: bool = False):
    """``cummin(x, 0)``: running minima along axis 0 (NaN from the first NaN on)."""
    return cummin_p.bind1(x, **_params("cummin", x, axis, reverse))


def cumlogsumexp(x, axis: int = 0, reverse: bool = False):
    """``cumlogsumexp(x, 0)``: running ``log(sum(exp(x)))`` along axis 0, computed stably."""
    return cumlogsumexp_p.bind1(x, **_params("cumlogsumexp", x, axis, reverse))
