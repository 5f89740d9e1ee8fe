"""Inlining: replace call equations by the equations of the jaxpr they call.

A *call* is a primitive whose impl is exactly ``eval_jaxpr(params[key], *operands)``:
nested ``jit``, ``closed_call``, and ``custom_jvp_call``/``custom_vjp_call`` (whose
custom rules only matter to transforms, which are done by the time a graph is
compiled). Inlined, their bodies fuse with the code around them and the other
passes see through them. Each inlining renames the body's variables (the same body
may be called twice) and hoists its constants into the caller's constants.

Inside sub-jaxprs (loop bodies, branches) only calls whose bodies have no constants
are inlined: sub-jaxprs keep their closure-converted form, constants as operands.
"""
from __future__ import annotations

import numpy as np

from ftx.core.jaxpr import Jaxpr, JaxprEqn, Literal, Var
from ftx.compiler.passes._rewrite import Substitution, map_subjaxprs

# primitive name -> the param holding the called jaxpr
CALL_PRIMITIVES = {"jit": "jaxpr", "closed_call": "jaxpr",
                   "custom_jvp_call": "call_jaxpr", "custom_vjp_call": "call_jaxpr"}


def inline_calls(jaxpr: Jaxpr) -> Jaxpr:
    """``jaxpr`` with its nested calls (``jit``, ``closed_call``, custom-derivative calls)
    replaced by their bodies, recursively.

    >>> inner = ftx.jit(fnp.sin)
    >>> j = ftx.make_jaxpr(lambda x: inner(x) * 2.0)(1.0)
    >>> [e.primitive.name for e in inline_calls(j).eqns]
    ['sin', 'mul']
    """
    return _inline(jaxpr, {}, top_level=True)


def _inline(jaxpr: Jaxpr, memo: dict, top_level: bool) -> Jaxpr:
    constvars, consts = list(jaxpr.constvars), list(jaxpr.consts)
    const_var_of = {id(c): v for v, c in zip(constvars, consts)}
    subst = Substitution()
    eqns: list = []
    for eqn in jaxpr.eqns:
        eqn = subst.apply(eqn)
        body = _called_jaxpr(eqn)
        if body is None or (body.consts and not top_level) or not _retypable(eqn, body):
            eqns.append(map_subjaxprs(eqn, lambda j: _inline(j, memo, False), memo))
            continue
        body = _inline(body, memo, top_level)  # calls inside the body first
        env = Substitution()
        for v, c in zip(body.constvars, body.consts):
            if id(c) not in const_var_of:
                const_var_of[id(c)] = Var(v.aval)
                constvars.append(const_var_of[id(c)])
                consts.append(c)
            env[v] = const_var_of[id(c)]
        for v, operand in zip(body.invars, eqn.invars):
            env[v] = _as_type(operand, v.aval, eqns, eqn)
        for inner in body.eqns:
            outvars = [Var(v.aval) for v in inner.outvars]
            for old, new in zip(inner.outvars, outvars):
                env[old] = new
            eqns.append(inner.replace(invars=env.read_all(inner.invars), outvars=outvars))
        for v, result in zip(eqn.outvars, env.read_all(body.outvars)):
            subst[v] = result
    return jaxpr.replace(constvars=constvars, consts=consts, eqns=eqns,
                         outvars=subst.read_all(jaxpr.outvars))


def _called_jaxpr(eqn: JaxprEqn):
    key = CALL_PRIMITIVES.get(eqn.primitive.name)
    body = eqn.params.get(key) if key else None
    return body if isinstance(body, Jaxpr) else None


def _retypable(eqn: JaxprEqn, body: Jaxpr) -> bool:
    """Whether every operand can be given its body input's exact type (see ``_as_type``);
    a strong variable cannot be made weak, so such a call stays a call."""
    return all(o.aval == v.aval or isinstance(o, Literal) or not v.aval.weak_type
               for o, v in zip(eqn.invars, body.invars))


def _as_type(operand, aval, eqns, call):
    """``operand`` typed exactly as the body's input ``aval``. They differ at most in weak
    type (``closed_call`` traces its body on strong types): a literal is retyped (a weak
    one holds a Python scalar, as tracing makes them), a weak variable goes through
    ``convert_element_type``, which makes it strong, so that every body equation sees the
    types it was traced with."""
    if operand.aval == aval:
        return operand
    if operand.aval.shape != aval.shape or operand.aval.dtype != aval.dtype:
        raise TypeError(f"inline_calls: the {call.primitive.name} equation passes "
                        f"{operand.aval.str_short()} to a body input of type {aval.str_short()}")
    if isinstance(operand, Literal):
        value = np.asarray(operand.val, aval.dtype)
        return Literal(value.item() if aval.weak_type else value[()], aval)
    from ftx.lax.elementwise import convert_element_type_p
    out = Var(aval)
    eqns.append(JaxprEqn(convert_element_type_p, [operand], [out],
                         {"new_dtype": aval.dtype}, call.source_info))
    return out
