"""Layout: ``transpose(dot_general(a, b))`` becomes ``dot_general(b, a)``.

Reverse mode writes a weight gradient as a matmul followed by a transpose
(``transpose(g.T @ x)``); NumPy's transpose is a view, so the result would be a
strided array that every later kernel (an optimizer update) reads across rows.
Swapping the operands makes the matmul produce the transposed layout directly.

Unlike the other passes this one is not bit-exact: BLAS may sum the products of
the swapped product in another order (the same products, last-bit differences,
as between any two matmul calls).
"""
from __future__ import annotations

from ftx.core.jaxpr import Jaxpr, JaxprEqn, Var
from ftx.compiler.passes._rewrite import map_subjaxprs


def fold_transposed_dots(jaxpr: Jaxpr) -> Jaxpr:
    """``jaxpr`` with each transpose that swaps a matmul's two free blocks folded into it.

    >>> j = ftx.make_jaxpr(lambda a, b: (a @ b).T)(np.ones((2, 3)), np.ones((3, 4)))
    >>> [e.primitive.name for e in fold_transposed_dots(j).eqns]
    ['dot_general']
    """
    return _fold(jaxpr, {})


def _fold(jaxpr: Jaxpr, memo: dict) -> Jaxpr:
    uses: dict = {}
    for eqn in jaxpr.eqns:
        for v in eqn.invars:
            if isinstance(v, Var):
                uses[v] = uses.get(v, 0) + 1
    for v in jaxpr.outvars:
        if isinstance(v, Var):
            uses[v] = uses.get(v, 0) + 1
    defs = {}
    replaced = {}  # id of a dot equation folded into a later transpose -> None
    eqns = []
    changed = False  # a sub-jaxpr (a checkpoint's body, a loop's) was folded
    for eqn in jaxpr.eqns:
        new = map_subjaxprs(eqn, lambda j: _fold(j, memo), memo)
        changed = changed or new is not eqn and any(
            a is not b for a, b in zip(new.params.values(), eqn.params.values()))
        eqn = new
        if eqn.primitive.name == "transpose":
            dot = defs.get(eqn.invars[0])
            swapped = _swapped(dot, eqn) if dot is not None and uses[eqn.invars[0]] == 1 else None
            if swapped is not None:
                replaced[id(dot)] = None
                eqns.append(swapped)
                continue
        if eqn.primitive.name == "dot_general":
            defs[eqn.outvars[0]] = eqn
        eqns.append(eqn)
    eqns = [e for e in eqns if id(e) not in replaced]
    return jaxpr.replace(eqns=eqns) if replaced or changed else jaxpr


def _swapped(dot: JaxprEqn, transpose: JaxprEqn):
    """``dot_general(rhs, lhs)`` computing ``transpose``'s output, or None."""
    (lc, rc), (lb, rb) = dot.params["dimension_numbers"]
    if lb or rb:
        return None
    lhs, rhs = dot.invars
    n_lhs_free = lhs.aval.ndim - len(lc)
    n_rhs_free = rhs.aval.ndim - len(rc)
    swap = tuple(range(n_lhs_free, n_lhs_free + n_rhs_free)) + tuple(range(n_lhs_free))
    if tuple(transpose.params["permutation"]) != swap:
        return None
    params = dict(dot.params, dimension_numbers=((rc, lc), ((), ())))
    return JaxprEqn(dot.primitive, [rhs, lhs], transpose.outvars, params, dot.source_info)
