"""Dead-code elimination: drop equations whose outputs nothing reads.

A backward sweep from the outputs: an equation is live when one of its outputs
is, or when it is effectful (``debug_callback``, or a sub-jaxpr that contains one).
Sub-jaxprs (cond branches, loop bodies, calls) are cleaned the same way but keep
their signatures: every input and output stays, only their dead equations go.
Constants nothing reads are dropped; inputs never are (they are the signature).
"""
from __future__ import annotations

from ftx.core.jaxpr import Jaxpr, Var
from ftx.compiler.passes._rewrite import is_effectful, map_subjaxprs


def dce(jaxpr: Jaxpr) -> Jaxpr:
    """``jaxpr`` without the equations (and constants) that do not affect its outputs.

    >>> j = ftx.make_jaxpr(lambda x: (fnp.sin(x), fnp.cos(x))[0])(1.0)
    >>> [e.primitive.name for e in dce(j).eqns]
    ['sin']
    """
    return _dce(jaxpr, {})


def _dce(jaxpr: Jaxpr, memo: dict) -> Jaxpr:
    live = {v for v in jaxpr.outvars if isinstance(v, Var)}
    kept = []
    for eqn in reversed(jaxpr.eqns):
        if is_effectful(eqn) or any(v in live for v in eqn.outvars):
            eqn = map_subjaxprs(eqn, lambda j: _dce(j, memo), memo)
            kept.append(eqn)
            live.update(v for v in eqn.invars if isinstance(v, Var))
    kept.reverse()
    consts = [(v, c) for v, c in zip(jaxpr.constvars, jaxpr.consts) if v in live]
    return jaxpr.replace(constvars=[v for v, _ in consts], consts=[c for _, c in consts],
                         eqns=kept)
