"""Named shortcuts for differentiation rules, so each primitive's block states its algebra.

- ``defjvp(prim, *per_operand)``: the tangent is a sum of per-operand terms
  ``fn(t, ans, *primals, **params)``; symbolic-zero tangents are skipped.
- ``deflinear(prim, transpose)``: the primitive is linear in all its operands:
  its jvp applies it to the tangents.
- ``defbilinear(prim, lhs_transpose, rhs_transpose)``: linear in each operand
  separately (mul, dot_general).
- ``nondifferentiable(prim)``: outputs are piecewise constant (comparisons,
  integer ops): tangents are zero, and it never appears in a linear graph.

JVP rules take ``(primals, tangents, **params)`` and return ``(primals_out,
tangents_out)``; transpose rules take ``(cts_out, *operands, **params)``, where
linear operands are ``UndefinedPrimal``s, and return one cotangent (or None)
per operand.
"""
from __future__ import annotations

import numpy as np

from ftx.core.ad_util import UndefinedPrimal, Zero, is_undefined
from ftx.core.avals import get_aval
from ftx.core.primitive import def_rule


_PY_SCALARS = (bool, int, float, complex)


def instantiate(t, primal=None):
    """A Zero as a real array of zeros (a constant); anything else unchanged.

    Given the ``primal`` the zero stands for, a Python-scalar primal gets a
    Python-scalar zero (so it stays a weak literal) and an integer primal gets
    zeros of its own dtype rather than float0.
    """
    if type(t) is not Zero:
        return t
    if primal is not None:
        if type(primal) in _PY_SCALARS:
            return type(primal)(0)
        if t.aval.dtype.kind == "V":
            return np.zeros(t.aval.shape, get_aval(primal).dtype)
    return np.zeros(t.aval.shape, t.aval.dtype)


def add_tangents(a, b):
    if type(a) is Zero:
        return b
    if type(b) is Zero:
        return a
    from ftx.lax.elementwise import add
    return add(a, b)


def unbroadcast(ct, aval):
    """Sum ``ct`` down to ``aval``'s shape: the transpose of an implicit rank-0 broadcast."""
    if type(ct) is Zero:
        return Zero(aval.to_tangent_aval())
    ct_shape = get_aval(ct).shape
    if ct_shape == aval.shape:
        return ct
    from ftx.lax.reductions import reduce_sum
    assert aval.shape == (), (ct_shape, aval)
    return reduce_sum(ct, tuple(range(len(ct_shape))))


def defjvp(prim, *per_operand):
    """Tangent = sum over operands i with a nonzero tangent of ``per_operand[i](t_i, ans, *primals)``.

    ``None`` for an operand whose tangent never matters (e.g. an integer shift).
    """
    def jvp(primals, tangents, **params):
        ans = prim.bind1(*primals, **params)
        out = None  # no Zero to add to: most often one operand is perturbed
        for fn, t in zip(per_operand, tangents):
            if fn is not None and type(t) is not Zero:
                term = fn(t, ans, *primals, **params)
                out = term if out is None else add_tangents(out, term)
        return [ans], [Zero.like(ans) if out is None else out]

    def_rule("jvp", prim, jvp)
    # Not linear in any operand unless a transpose rule is registered later (as for div).
    prim.exempt("transpose", "not linear")


def deflinear(prim, transpose):
    """``prim`` is linear in every operand: jvp applies it to the tangents."""
    def jvp(primals, tangents, **params):
        outs = prim.bind(*primals, **params)
        if all(type(t) is Zero for t in tangents):
            return outs, [Zero.like(o) for o in outs]
        tangents_out = prim.bind(*[instantiate(t, p) for t, p in zip(tangents, primals)],
                                 **params)
        return outs, tangents_out

    def_rule("jvp", prim, jvp)
    def_rule("transpose", prim, transpose)


def defbilinear(prim, lhs_transpose, rhs_transpose):
    """``prim(x, y)`` linear in x for fixed y and in y for fixed x.

    ``lhs_transpose(ct, x_aval, y, **params)`` is the cotangent of x; likewise for y.
    """
    def jvp(primals, tangents, **params):
        x, y = primals
        tx, ty = tangents
        ans = prim.bind1(x, y, **params)
        if type(tx) is not Zero:
            out = prim.bind1(tx, y, **params)
            if type(ty) is not Zero:
                out = add_tangents(out, prim.bind1(x, ty, **params))
        elif type(ty) is not Zero:
            out = prim.bind1(x, ty, **params)
        else:
            out = Zero.like(ans)
        return [ans], [out]

    def transpose(cts, x, y, **params):
        (ct,) = cts
        if type(ct) is Zero:
            return [None, None]
        x_linear = type(x) is UndefinedPrimal
        if x_linear and type(y) is UndefinedPrimal:
            raise ValueError(f"transpose of {prim.name}: both operands are linear, so the "
                             "function is not linear (it is quadratic)")
        if x_linear:
            return [lhs_transpose(ct, x.aval, y, **params), None]
        return [None, rhs_transpose(ct, x, y.aval, **params)]

    def_rule("jvp", prim, jvp)
    def_rule("transpose", prim, transpose)


def nondifferentiable(prim, why: str = "its outputs are piecewise constant"):
    """Zero tangents for every output; no transpose rule (it is never linear)."""
    def jvp(primals, tangents, **params):
        outs = prim.bind(*primals, **params)
        return outs, [Zero.like(o) for o in outs]

    def_rule("jvp", prim, jvp)
    prim.exempt("transpose", f"not differentiable: {why}")


__all__ = ["instantiate", "add_tangents", "unbroadcast", "defjvp", "deflinear", "defbilinear",
           "nondifferentiable", "Zero", "UndefinedPrimal", "is_undefined"]
