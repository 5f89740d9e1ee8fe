"""Constant folding: compute, at compile time, equations whose inputs are all known.

Known values are literals and the jaxpr's constants (non-tracer arrays of at most
``max_size`` elements). An equation is folded with its primitive's NumPy impl (the
same code the reference interpreter runs, so the value is the one it would compute)
when every output has at most ``max_size`` elements. A rank-0 result becomes a
literal; a larger one a new constant, but only when an input already was a constant
array: ``broadcast_in_dim`` or ``iota`` of literals cost nothing inside a fused loop,
a materialized array costs memory traffic. Sub-jaxprs are folded too, into literals
only (they keep their closure-converted form, without constants of their own).

Never folded: effectful equations, higher-order ones (params holding jaxprs),
collectives over named axes, and equations whose impl raises or warns (they fail
at run time as they would have, not at compile time).
"""
from __future__ import annotations

import warnings

import numpy as np

from ftx.core.jaxpr import Jaxpr, Literal, Var
from ftx.compiler.passes._rewrite import Substitution, has_subjaxprs, is_effectful, map_subjaxprs

MAX_SIZE = 64


def fold_constants(jaxpr: Jaxpr, max_size: int = MAX_SIZE) -> Jaxpr:
    """``jaxpr`` with equations on known small values replaced by their results.

    >>> j = ftx.make_jaxpr(lambda x: x * lax.div(np.float32(1.0), np.float32(3.0)))(np.ones(3))
    >>> [e.primitive.name for e in fold_constants(j).eqns]
    ['mul']
    """
    return _fold(jaxpr, max_size, {}, top_level=True)


def _fold(jaxpr: Jaxpr, max_size: int, memo: dict, top_level: bool) -> Jaxpr:
    # Arrays are known only at the top level, so sub-jaxprs fold into literals only.
    known: dict = {v: c for v, c in zip(jaxpr.constvars, jaxpr.consts)
                   if isinstance(c, (np.ndarray, np.generic)) and np.size(c) <= max_size} \
        if top_level else {}
    constvars, consts = list(jaxpr.constvars), list(jaxpr.consts)
    subst = Substitution()
    eqns = []
    for eqn in jaxpr.eqns:
        eqn = subst.apply(eqn)
        outs = _evaluate(eqn, known, max_size)
        if outs is None:
            eqns.append(map_subjaxprs(eqn, lambda j: _fold(j, max_size, memo, False), memo))
            continue
        for v, x in zip(eqn.outvars, outs):
            if x.ndim == 0:
                # A NumPy scalar (immutable; a weak one a Python scalar, as tracing makes them).
                subst[v] = Literal(x.item() if v.aval.weak_type else x[()], v.aval)
            else:
                x.flags.writeable = False  # may be returned on every call: nobody may write it
                known[v] = x
                constvars.append(v)
                consts.append(x)
    return jaxpr.replace(constvars=constvars, consts=consts, eqns=eqns,
                         outvars=subst.read_all(jaxpr.outvars))


def _evaluate(eqn, known: dict, max_size: int):
    """The outputs of ``eqn`` as arrays of its output types, or None if it is not folded."""
    args = []
    for a in eqn.invars:  # the cheapest test first: most equations read a variable
        if type(a) is Literal:
            args.append(a.val)
        elif a in known:
            args.append(known[a])
        else:
            return None
    prim = eqn.primitive
    if (not eqn.outvars or prim.uses_axis_name or is_effectful(eqn) or has_subjaxprs(eqn)
            or any(v.aval.size > max_size for v in eqn.outvars)):
        return None
    if any(v.aval.ndim for v in eqn.outvars) and not any(isinstance(a, Var) for a in eqn.invars):
        return None  # only literals in, an array out: leave it to the fused loop
    try:
        with warnings.catch_warnings(), np.errstate(all="raise"):
            warnings.simplefilter("error")
            outs = prim.impl(*args, **eqn.params)
    except Exception:  # noqa: BLE001 - any failure: leave it for run time to report
        return None
    arrays = [np.array(x, copy=True) for x in outs]
    if len(arrays) != len(eqn.outvars) or any(
            x.shape != v.aval.shape or x.dtype != v.aval.dtype
            for x, v in zip(arrays, eqn.outvars)):
        return None
    return arrays
