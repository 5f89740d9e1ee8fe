"""Cumulative (scan) primitives along one axis: cumsum, cumprod, cummax, cummin, cumlogsumexp.

Params: ``axis`` (a non-negative int) and ``reverse`` (accumulate from the end).
Each keeps its operand's shape and dtype; ftx.numpy widens integers first where
NumPy does (``np.cumsum`` of int32 is int64).

Transform rules: ``cumsum`` is linear (its transpose is the cumsum in the other
direction). The others have jvp rules whose tangents are computed by a parallel
prefix scan (``_prefix_scan``) over (value, tangent) pairs, as JAX differentiates
its associative scans (the primal outputs still come from the primitive). The
tangents are exact at zeros for ``cumprod`` (no division), averaged over ties for
``cummax``/``cummin`` (as ``reduce_max``), and overflow-free for ``cumlogsumexp``.
All batch by moving ``axis`` past the batch axis.
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


def _shift(x, k: int, axis: int, reverse: bool):
    """``x`` moved ``k`` places along ``axis`` toward the end (the start when ``reverse``),
    with zeros in the vacated places."""
    ndim = get_aval(x).ndim
    config = [(0, 0, 0)] * ndim
    config[axis] = (-k, k, 0) if reverse else (k, -k, 0)
    return sh.pad(x, np.zeros((), get_aval(x).dtype), config)


def _prefix_scan(combine, elems, axis: int, reverse: bool):
    """Inclusive scan of ``combine`` over lists of arrays along ``axis`` (Hillis-Steele).

    After the step with offset k, position i holds the combination of the (up to)
    2k elements ending at i, so log2(n) steps of elementwise work give every
    prefix. ``combine(earlier, later)`` must be associative; positions with nothing
    k places earlier keep their value, so no identity element is needed.
    """
    shape = get_aval(elems[0]).shape
    n = shape[axis]
    index = sh.broadcasted_iota(np.int32 if n < 2**31 else np.int64, shape, axis)
    if reverse:  # the scan starts at the end: count positions from there
        index = sh.rev(index, (axis,))
    k = 1
    while k < n:
        earlier = [_shift(e, k, axis, reverse) for e in elems]
        combined = combine(earlier, elems)
        has_earlier = ew.ge(index, np.asarray(k, get_aval(index).dtype))
        elems = [ew.select_n(has_earlier, e, c) for e, c in zip(elems, combined)]
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

    return _prefix_scan(combine, [x, g], axis, reverse)[1]


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
            # NaN wins, as in the primal (the earlier NaN when both are); otherwise a tie
            # pools the two windows' tangent sums and counts.
            take_a = ew.bitwise_or(better(a, b), ew.ne(a, a))
            take_b = ew.bitwise_and(ew.bitwise_or(better(b, a), ew.ne(b, b)),
                                    ew.bitwise_not(take_a))

            def pick(u, v, tied):
                return ew.select_n(take_a, ew.select_n(take_b, tied, v), u)

            return [pick(a, b, a), pick(sa, sb, ew.add(sa, sb)), pick(ca, cb, ew.add(ca, cb))]

        ones = sh.broadcast_in_dim(np.ones((), dtype), get_aval(x).shape, ())
        _, total, count = _prefix_scan(combine, [x, g, ones], axis, reverse)
        return ew.div(total, count)
    return tangent


cummax_p = _cumulative("cummax", np.maximum, "biuf")
defjvp(cummax_p, _chooser_tangent(True))
cummin_p = _cumulative("cummin", np.minimum, "biuf")
defjvp(cummin_p, _chooser_tangent(False))

# --------------------------------------------------------------------------- cumlogsumexp
# logaddexp is the stable log(exp(a) + exp(b)), so the running value never overflows.
# d out_i = sum_{j <= i} t_j exp(x_j - out_i): a softmax-weighted mean of the tangents.
# Scan over (log-sum-exp v, weighted mean s, element count n) of windows: merging two
# windows weighs their means by their shares of the total, logistic(va - vb) and
# logistic(vb - va), which lie in [0, 1] and so never overflow. Where both windows are
# all -inf the shares are their sizes (the limit of equal values), not inf - inf.


def _cumlogsumexp_tangent(g, ans, x, *, axis, reverse):
    dtype = get_aval(x).dtype
    neg_inf = np.asarray(-np.inf, dtype)

    def combine(earlier, later):
        (va, sa, na), (vb, sb, nb) = earlier, later
        empty = ew.bitwise_and(ew.eq(va, neg_inf), ew.eq(vb, neg_inf))
        d = ew.select_n(empty, ew.sub(va, vb), np.zeros((), dtype))
        n = ew.add(na, nb)
        wa = ew.select_n(empty, ew.logistic(d), ew.div(na, n))
        wb = ew.select_n(empty, ew.logistic(ew.neg(d)), ew.div(nb, n))
        v = ew.add(ew.max(va, vb), ew.log1p(ew.exp(ew.neg(ew.abs(d)))))
        return [v, ew.add(ew.mul(sa, wa), ew.mul(sb, wb)), n]

    ones = sh.broadcast_in_dim(np.ones((), dtype), get_aval(x).shape, ())
    return _prefix_scan(combine, [x, g, ones], axis, reverse)[1]


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
