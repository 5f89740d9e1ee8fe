"""Cumulative (scan) primitives along one axis: cumsum, cumprod, cummax, cummin, cumlogsumexp.

Params: ``axis`` (a non-negative int) and ``reverse`` (accumulate from the end).
Each keeps its operand's shape and dtype; ftx.numpy widens integers first where
NumPy does (``np.cumsum`` of int32 is int64).

Transform rules: ``cumsum`` is linear (its transpose is the cumsum in the other
direction). The others have jvp rules whose tangents are computed by a parallel
prefix scan (``_prefix_scan``) over (value, tangent) pairs, as JAX differentiates
its associative scans: exact at zeros for ``cumprod`` (no division), averaged
over ties for ``cummax``/``cummin`` (as ``reduce_max``), and overflow-free for
``cumlogsumexp``. All batch by moving ``axis`` past the batch axis.
"""
from __future__ import annotations

import numpy as np

from ftx.core.avals import ShapedArray, get_aval
from ftx.core.primitive import Primitive, def_rule
from ftx.lax import elementwise as ew, shape as sh
from ftx.lax._ad_rules import defjvp, deflinear
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
    def_rule("batch", prim, _cumulative_batch(prim))
    return prim


def _cumulative_batch(prim):
    def rule(axis_data, args, dims, *, axis, reverse):
        (x,), (d,) = args, dims
        return prim.bind(x, axis=axis + 1 if axis >= d else axis, reverse=reverse), [d]
    return rule


def _shift(x, k: int, fill, axis: int, reverse: bool):
    """``x`` moved ``k`` places along ``axis`` toward the end (the start when ``reverse``),
    with ``fill`` in the vacated places."""
    ndim = get_aval(x).ndim
    config = [(0, 0, 0)] * ndim
    config[axis] = (-k, k, 0) if reverse else (k, -k, 0)
    return sh.pad(x, np.asarray(fill, get_aval(x).dtype), config)


def _prefix_scan(combine, elems, identities, axis: int, reverse: bool):
    """Inclusive scan of ``combine`` over tuples of arrays along ``axis`` (Hillis-Steele).

    After the step with offset k, position i holds the combination of the 2k
    elements ending at i (the first ones combined with ``identities``), so log2(n)
    steps of elementwise work give every prefix. ``combine(earlier, later)`` must be
    associative, with ``identities`` its identity element.
    """
    n = get_aval(elems[0]).shape[axis]
    k = 1
    while k < n:
        earlier = [_shift(e, k, i, axis, reverse) for e, i in zip(elems, identities)]
        elems = combine(earlier, elems)
        k *= 2
    return elems


# --------------------------------------------------------------------------- cumsum
# Linear: each input feeds every later output, so the transpose sums from the other end.

cumsum_p = _cumulative("cumsum", np.add, "iufc")
deflinear(cumsum_p, lambda cts, x, *, axis, reverse: [cumsum(cts[0], axis, not reverse)])

# --------------------------------------------------------------------------- cumprod
# Scan over (product, tangent) pairs: (a, ta) then (b, tb) give (a b, ta b + a tb).


def _cumprod_tangent(g, ans, x, *, axis, reverse):
    def combine(earlier, later):
        (a, ta), (b, tb) = earlier, later
        return [ew.mul(a, b), ew.add(ew.mul(ta, b), ew.mul(a, tb))]

    return _prefix_scan(combine, [x, g], [1, 0], axis, reverse)[1]


cumprod_p = _cumulative("cumprod", np.multiply, "iufc")
defjvp(cumprod_p, _cumprod_tangent)

# --------------------------------------------------------------------------- cummax / cummin
# np.maximum/minimum propagate NaN: every element after a NaN is NaN, as in np.maximum.accumulate.
# Scan over (extreme, sum of its tangents, number of ties): the tangent is the mean
# tangent of the elements equal to the running extreme, as for reduce_max.


def _chooser_tangent(is_max: bool):
    def tangent(g, ans, x, *, axis, reverse):
        better = ew.gt if is_max else ew.lt
        dtype = get_aval(g).dtype

        def combine(earlier, later):
            (a, sa, ca), (b, sb, cb) = earlier, later
            # NaN wins, as in the primal: the NaN side is kept (the earlier one first).
            take_a = ew.bitwise_or(better(a, b), ew.ne(a, a))
            take_b = ew.bitwise_and(ew.bitwise_or(better(b, a), ew.ne(b, b)),
                                    ew.bitwise_not(take_a))
            tie = ew.bitwise_not(ew.bitwise_or(take_a, take_b))
            pick = lambda u, v, both: ew.select_n(take_a, ew.select_n(take_b, both, v), u)  # noqa: E731
            return [pick(a, b, a), pick(sa, sb, ew.add(sa, sb)), pick(ca, cb, ew.add(ca, cb))]

        ones = sh.broadcast_in_dim(np.ones((), dtype), get_aval(x).shape, ())
        lowest = -np.inf if is_max else np.inf
        _, total, count = _prefix_scan(combine, [x, g, ones], [lowest, 0, 0], axis, reverse)
        return ew.div(total, count)
    return tangent


cummax_p = _cumulative("cummax", np.maximum, "biuf")
defjvp(cummax_p, _chooser_tangent(True))
cummin_p = _cumulative("cummin", np.minimum, "biuf")
defjvp(cummin_p, _chooser_tangent(False))

# --------------------------------------------------------------------------- cumlogsumexp
# logaddexp is the stable log(exp(a) + exp(b)), so the running value never overflows.
# d out_i = sum_{j <= i} t_j exp(x_j - out_i): a softmax-weighted mean of the tangents.
# Scan over (log-sum-exp v, weighted mean s) of windows: merging two windows weighs their
# means by their shares of the total, logistic(va - vb) and logistic(vb - va), which lie
# in [0, 1] and so never overflow.


def _cumlogsumexp_tangent(g, ans, x, *, axis, reverse):
    def combine(earlier, later):
        (va, sa), (vb, sb) = earlier, later
        neg_inf = np.asarray(-np.inf, get_aval(va).dtype)
        # Two empty windows (both -inf) would give inf - inf: compare them as equal.
        both_empty = ew.bitwise_and(ew.eq(va, neg_inf), ew.eq(vb, neg_inf))
        d = ew.select_n(both_empty, ew.sub(va, vb), np.zeros((), get_aval(va).dtype))
        hi = ew.max(va, vb)
        v = ew.add(hi, ew.log1p(ew.exp(ew.neg(ew.abs(d)))))
        return [v, ew.add(ew.mul(sa, ew.logistic(d)), ew.mul(sb, ew.logistic(ew.neg(d))))]

    return _prefix_scan(combine, [x, g], [-np.inf, 0], axis, reverse)[1]


cumlogsumexp_p = _cumulative("cumlogsumexp", np.logaddexp, "f")
defjvp(cumlogsumexp_p, _cumlogsumexp_tangent)


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
