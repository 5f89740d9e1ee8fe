"""Common-subexpression elimination: an equation equal to an earlier one reuses its outputs.

Two equations are equal when they bind the same primitive with equal params to the
same inputs. Params are compared by value where that is exact (ints, tuples, dtypes;
floats by ``repr``, so ``0.0`` and ``-0.0`` differ), jaxprs and other unhashable
values by identity. Literals are compared by type and bytes. The two operands of
``add``, ``mul``, ``eq``, ``ne``, ``and``, ``or``, ``xor`` may come in either order
(exactly commutative in IEEE arithmetic; ``max``/``min`` are not, on signed zeros).
Effectful equations are never merged. Sub-jaxprs are cleaned on their own.
"""
from __future__ import annotations

import numpy as np

from ftx.core.jaxpr import Jaxpr, Literal
from ftx.compiler.passes._rewrite import Substitution, is_effectful, map_subjaxprs

_COMMUTATIVE = frozenset({"add", "mul", "eq", "ne", "and", "or", "xor"})


def cse(jaxpr: Jaxpr) -> Jaxpr:
    """``jaxpr`` with repeated computations done once.

    >>> j = ftx.make_jaxpr(lambda x: fnp.sin(x) + fnp.sin(x))(1.0)
    >>> [e.primitive.name for e in cse(j).eqns]
    ['sin', 'add']
    """
    return _cse(jaxpr, {})


def _cse(jaxpr: Jaxpr, memo: dict) -> Jaxpr:
    subst = Substitution()
    seen: dict = {}
    eqns = []
    for eqn in jaxpr.eqns:
        eqn = map_subjaxprs(subst.apply(eqn),
                            lambda j: _cse(j, memo), memo)
        if eqn.outvars and not is_effectful(eqn):
            key = _eqn_key(eqn)
            earlier = seen.get(key) if key is not None else None
            if earlier is not None:  # same values: read the earlier outputs instead
                for v, e in zip(eqn.outvars, earlier.outvars):
                    subst[v] = e
                continue
            if key is not None:
                seen[key] = eqn
        eqns.append(eqn)
    return jaxpr.replace(eqns=eqns, outvars=subst.read_all(jaxpr.outvars))


def _eqn_key(eqn):
    ins = [_atom_key(a) for a in eqn.invars]
    if eqn.primitive.name in _COMMUTATIVE and len(ins) == 2:
        ins = frozenset(ins)  # {a, a} == {a, a}: repeated operands still match exactly
    else:
        ins = tuple(ins)
    try:
        params = tuple((k, _param_key(v)) for k, v in sorted(eqn.params.items()))
        key = (eqn.primitive, ins, params)
        hash(key)
    except TypeError:
        return None
    return key


def _atom_key(atom):
    if type(atom) is Literal:
        val = np.asarray(atom.val)
        return ("literal", type(atom.val), atom.aval, val.dtype, val.tobytes())
    return atom  # Vars compare by identity


def _param_key(value):
    t = type(value)
    if t is int or t is str or value is None:  # the common cases, exact as they are
        return value
    if t is tuple and all(type(v) is int for v in value):
        return value
    if isinstance(value, (tuple, list)):
        return (type(value), tuple(_param_key(v) for v in value))
    if isinstance(value, (float, complex, np.generic)):
        return (type(value), repr(value))  # -0.0 != 0.0 and nan == nan, unlike ==
    if isinstance(value, np.ndarray):
        return ("array", value.dtype, value.shape, value.tobytes())
    if isinstance(value, (np.dtype, bool, int, str, type(None))):
        return (type(value), value)
    # Anything else (jaxprs, callables, objects): by identity, the only comparison that is
    # certainly exact and never needs the value to be hashable.
    return ("id", id(value))
