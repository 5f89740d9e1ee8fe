"""Reduction primitives: reduce_{sum,max,min,prod,and,or,xor} over ``axes``; argmax/argmin.

Every reduction keeps its operand's dtype (``reduce_sum`` of int32 is int32;
ftx.numpy widens first where NumPy does). ``axes`` is a sorted tuple of
non-negative ints, as in JAX, so a jaxpr prints ``reduce_sum[axes=(0,)]``.
Reductions without an identity (max, min, argmax, argmin) reject empty reduced
axes, as NumPy does. NaNs propagate through max/min, and argmax/argmin return
the index of the first NaN, exactly like ``np.max``/``np.argmax``.

Transform rules: ``reduce_sum`` is linear (its transpose broadcasts the
cotangent back); ``reduce_max``/``reduce_min`` send the tangent of the extreme
element, averaged over ties (as JAX); ``reduce_prod``'s tangent is formed by a
pairwise product tree, so it never divides by the operand and is exact when
elements are zero; the logical reductions and argmax/argmin have zero tangents.
Every reduction batches by renumbering ``axes`` around the batch axis.
"""
from __future__ import annotations

import numpy as np

from ftx.core import dtypes
from ftx.core.ad_util import Zero
from ftx.core.avals import ShapedArray, get_aval
from ftx.core.primitive import Primitive, def_rule
from ftx.lax import elementwise as ew, shape as sh
from ftx.lax._ad_rules import defjvp, deflinear, nondifferentiable
from ftx.lax._shape_rules import canonical_axes, check_kinds

__all__ = [
    "reduce_sum_p", "reduce_max_p", "reduce_min_p", "reduce_prod_p", "reduce_and_p",
    "reduce_or_p", "reduce_xor_p", "argmax_p", "argmin_p",
    "reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "reduce_and", "reduce_or",
    "reduce_xor", "argmax", "argmin",
]


def _check_axes(name: str, x: ShapedArray, axes) -> None:
    if not isinstance(axes, tuple) or any(type(a) is not int for a in axes):
        raise TypeError(f"{name}: axes must be a tuple of Python ints, got {axes!r}")
    if any(not 0 <= a < x.ndim for a in axes):
        raise ValueError(f"{name}: axes {axes} out of bounds for operand {x.str_short()}")
    if list(axes) != sorted(set(axes)):
        raise ValueError(f"{name}: axes {axes} must be sorted and without repeats "
                         f"(operand {x.str_short()})")


def _check_nonempty(name: str, shape, axes) -> None:
    for a in axes:
        if shape[a] == 0:
            raise ValueError(f"{name}: cannot reduce over axis {a} of size 0 (shape "
                             f"{tuple(shape)}); the reduction has no identity")


def _reduced_shape(shape, axes) -> tuple:
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _reduction(name: str, np_reduce, kinds: str, needs_nonempty: bool = False) -> Primitive:
    """A primitive ``name[axes=...]`` computed by the ufunc reduction ``np_reduce``."""
    prim = Primitive(name)

    def impl(x, *, axes):
        x = np.asarray(x)
        if needs_nonempty:
            _check_nonempty(name, x.shape, axes)
        # dtype= keeps the operand's dtype (np.add.reduce would widen int32 to int64).
        return [np.asarray(np_reduce(x, axis=axes, dtype=x.dtype))]

    def abstract_eval(x, *, axes):
        check_kinds(name, x, kinds)
        _check_axes(name, x, axes)
        if needs_nonempty:
            _check_nonempty(name, x.shape, axes)
        return [ShapedArray(_reduced_shape(x.shape, axes), x.dtype)]

    prim.def_impl(impl)
    prim.def_abstract_eval(abstract_eval)
    def_rule("batch", prim, _reduction_batch(prim))
    return prim


def _reduction_batch(prim):
    """The batch axis is one more kept axis: renumber ``axes`` around it (also for argmax)."""
    def rule(axis_data, args, dims, *, axes, **params):
        (x,), (d,) = args, dims
        # Logical axis a is physical axis a, or a + 1 from the batch axis on.
        new_axes = tuple(a + 1 if a >= d else a for a in axes)
        out_dim = d - sum(1 for a in axes if a < d)
        return prim.bind(x, axes=new_axes, **params), [out_dim]
    return rule


def _kept_dims(ndim: int, axes) -> tuple:
    return tuple(i for i in range(ndim) if i not in axes)


def _expand_back(y, shape, axes):
    """A reduced ``y`` broadcast back over the reduced ``axes`` to the operand's ``shape``."""
    return sh.broadcast_in_dim(y, shape, _kept_dims(len(shape), axes))


# --------------------------------------------------------------------------- reduce_sum
# No bool: a sum of bools is a count, which needs a wider integer (ftx.numpy converts first).
# Linear: the transpose spreads each output cotangent over the elements it summed.

reduce_sum_p = _reduction("reduce_sum", np.add.reduce, "iufc")
deflinear(reduce_sum_p, lambda cts, x, *, axes: [_expand_back(cts[0], x.aval.shape, axes)])

# --------------------------------------------------------------------------- reduce_prod
# d prod(x) = sum_i t_i * prod_{j != i} x_j. Dividing prod(x) by x_i fails at zeros, so
# the tangent comes from a pairwise product tree over the reduced elements (JAX does the
# same): each level multiplies pairs (a, ta), (b, tb) into (a b, ta b + a tb).


def _reduce_prod_tangent(g, ans, x, *, axes):
    shape = get_aval(x).shape
    kept = _kept_dims(len(shape), axes)
    n = int(np.prod([shape[a] for a in axes], dtype=np.int64))
    kept_shape = tuple(shape[i] for i in kept)
    if n == 0:  # an empty product is the constant 1
        return Zero.like(ans)
    # Reduced elements along a leading axis of length n; kept axes follow in order.
    perm = tuple(axes) + kept
    flat = (n,) + kept_shape
    ys, ts = sh.reshape(sh.transpose(x, perm), flat), sh.reshape(sh.transpose(g, perm), flat)
    while n > 1:
        half = n // 2
        y_lo, y_hi, y_rest = _split(ys, half)
        t_lo, t_hi, t_rest = _split(ts, half)
        ts = ew.add(ew.mul(t_lo, y_hi), ew.mul(y_lo, t_hi))
        ys = ew.mul(y_lo, y_hi)
        if y_rest is not None:  # an odd row out joins the next level unchanged
            ys, ts = sh.concatenate([ys, y_rest], 0), sh.concatenate([ts, t_rest], 0)
        n = half + (n % 2)
    return sh.reshape(ts, kept_shape)


def _split(x, half: int):
    """Rows ``[:half]``, ``[half:2 half]`` and the odd last row (or None) of ``x``."""
    n = get_aval(x).shape[0]
    rest = n - 2 * half
    zero = np.zeros((), get_aval(x).dtype)
    others = [(0, 0, 0)] * (get_aval(x).ndim - 1)

    def rows(lo, hi):  # negative padding crops
        return sh.pad(x, zero, [(-lo, hi - n, 0)] + others)

    return rows(0, half), rows(half, 2 * half), (rows(2 * half, n) if rest else None)


reduce_prod_p = _reduction("reduce_prod", np.multiply.reduce, "iufc")
defjvp(reduce_prod_p, _reduce_prod_tangent)

# --------------------------------------------------------------------------- reduce_max / min
# np.maximum propagates NaN (np.fmax would skip it); bool max is logical or.
# The tangent is that of the extreme element, averaged over ties (JAX's choice: it is the
# derivative along the direction that moves all tied elements together).


def _chooser_tangent(g, ans, x, *, axes):
    shape = get_aval(x).shape
    dtype = get_aval(g).dtype
    at_extreme = ew.convert_element_type(ew.eq(x, _expand_back(ans, shape, axes)), dtype)
    counts = reduce_sum(at_extreme, axes)
    return ew.div(reduce_sum(ew.mul(g, at_extreme), axes), counts)


reduce_max_p = _reduction("reduce_max", np.maximum.reduce, "biuf", needs_nonempty=True)
defjvp(reduce_max_p, _chooser_tangent)
reduce_min_p = _reduction("reduce_min", np.minimum.reduce, "biuf", needs_nonempty=True)
defjvp(reduce_min_p, _chooser_tangent)

# --------------------------------------------------------------------------- reduce_and / or / xor
# Logical on bool, bitwise on integers (as jax.lax).

reduce_and_p = _reduction("reduce_and", np.bitwise_and.reduce, "biu")
reduce_or_p = _reduction("reduce_or", np.bitwise_or.reduce, "biu")
reduce_xor_p = _reduction("reduce_xor", np.bitwise_xor.reduce, "biu")
for _p in (reduce_and_p, reduce_or_p, reduce_xor_p):
    nondifferentiable(_p, "it acts on bools and integers")

# --------------------------------------------------------------------------- argmax / argmin
# One axis (``axes=(k,)``, JAX's param name); the index of the first extreme
# element, or of the first NaN when there is one.


def _arg_reduction(name: str, np_arg) -> Primitive:
    prim = Primitive(name)

    def impl(x, *, axes, index_dtype):
        x = np.asarray(x)
        _check_nonempty(name, x.shape, axes)
        return [np.asarray(np_arg(x, axis=axes[0]).astype(index_dtype))]

    def abstract_eval(x, *, axes, index_dtype):
        check_kinds(name, x, "biuf")
        _check_axes(name, x, axes)
        if len(axes) != 1:
            raise ValueError(f"{name}: needs exactly one axis, got axes={axes} "
                             f"(operand {x.str_short()})")
        if np.dtype(index_dtype).kind not in "iu":
            raise TypeError(f"{name}: index_dtype must be an integer dtype, got {index_dtype}")
        _check_nonempty(name, x.shape, axes)
        return [ShapedArray(_reduced_shape(x.shape, axes), index_dtype)]

    prim.def_impl(impl)
    prim.def_abstract_eval(abstract_eval)
    nondifferentiable(prim, "its output is an integer index")
    def_rule("batch", prim, _reduction_batch(prim))
    return prim


argmax_p = _arg_reduction("argmax", np.argmax)
argmin_p = _arg_reduction("argmin", np.argmin)


# =========================================================================== user-facing lax API

def _ndim(x) -> int:
    return x.aval.ndim if hasattr(x, "aval") else np.ndim(x)


def _axes_param(name: str, x, axes) -> tuple:
    if isinstance(axes, (int, np.integer)):
        axes = (axes,)
    return tuple(sorted(canonical_axes(name, axes, _ndim(x))))


def reduce_sum(x, axes):
    """``reduce_sum(x, (0,))``: the sum over axis 0, in ``x``'s dtype."""
    return reduce_sum_p.bind1(x, axes=_axes_param("reduce_sum", x, axes))


def reduce_prod(x, axes):
    """``reduce_prod(x, (1,))``: the product over axis 1, in ``x``'s dtype."""
    return reduce_prod_p.bind1(x, axes=_axes_param("reduce_prod", x, axes))


def reduce_max(x, axes):
    """``reduce_max(x, (0, 1))``: the maximum over axes 0 and 1 (NaN if any element is NaN)."""
    return reduce_max_p.bind1(x, axes=_axes_param("reduce_max", x, axes))


def reduce_min(x, axes):
    """``reduce_min(x, (0,))``: the minimum over axis 0 (NaN if any element is NaN)."""
    return reduce_min_p.bind1(x, axes=_axes_param("reduce_min", x, axes))


def reduce_and(x, axes):
    """``reduce_and(mask, (0,))``: logical and for bool, bitwise and for integers."""
    return reduce_and_p.bind1(x, axes=_axes_param("reduce_and", x, axes))


def reduce_or(x, axes):
    """``reduce_or(mask, (0,))``: logical or for bool, bitwise or for integers."""
    return reduce_or_p.bind1(x, axes=_axes_param("reduce_or", x, axes))


def reduce_xor(x, axes):
    """``reduce_xor(mask, (0,))``: parity for bool, bitwise xor for integers."""
    return reduce_xor_p.bind1(x, axes=_axes_param("reduce_xor", x, axes))


def argmax(x, axis: int, index_dtype):
    """``argmax(x, 0, np.int32)``: the index of the first maximum (or first NaN) along ``axis``."""
    return argmax_p.bind1(x, axes=_axes_param("argmax", x, (axis,)),
                          index_dtype=dtypes.check_supported(index_dtype, "argmax"))


def argmin(x, axis: int, index_dtype):
    """``argmin(x, 0, np.int32)``: the index of the first minimum (or first NaN) along ``axis``."""
    return argmin_p.bind1(x, axes=_axes_param("argmin", x, (axis,)),
                          index_dtype=dtypes.check_supported(index_dtype, "argmin"))
