"""What the graph passes share: effects, sub-jaxprs in params, variable substitution.

Every pass builds a new jaxpr and never mutates its input (jaxprs are shared: the
jit cache, transforms and the minifier hold the originals). Vars are reused across
the old and new graph where a pass keeps a value; only inlining makes fresh ones.
"""
from __future__ import annotations

import weakref

from ftx.core.jaxpr import Jaxpr, JaxprEqn, Literal

_effectful_jaxprs: "weakref.WeakKeyDictionary[Jaxpr, bool]" = weakref.WeakKeyDictionary()


def is_effectful(eqn: JaxprEqn) -> bool:
    """Whether ``eqn`` must run even if its outputs are unused (and run once per use site):
    its primitive is marked ``effectful`` (debug_callback), or a sub-jaxpr contains one."""
    return eqn.primitive.effectful or any(_has_effects(j) for j in jaxprs_in(eqn))


def _has_effects(jaxpr: Jaxpr) -> bool:
    known = _effectful_jaxprs.get(jaxpr)
    if known is None:
        known = _effectful_jaxprs[jaxpr] = any(is_effectful(e) for e in jaxpr.eqns)
    return known


def jaxprs_in(eqn: JaxprEqn) -> list:
    """The sub-jaxprs in ``eqn``'s params (``subjaxprs`` as a list, without a generator:
    the passes ask this of every equation)."""
    params = eqn.params
    if not params:  # most equations (elementwise ones)
        return []
    found = []
    for v in params.values():
        t = type(v)
        if t is Jaxpr:
            found.append(v)
        elif t is tuple or t is list:
            found.extend(x for x in v if type(x) is Jaxpr)
    return found


def has_subjaxprs(eqn: JaxprEqn) -> bool:
    return bool(jaxprs_in(eqn))


def map_subjaxprs(eqn: JaxprEqn, fn, memo: dict) -> JaxprEqn:
    """``eqn`` with every sub-jaxpr in its params replaced by ``fn(sub)``.

    ``memo`` (id -> (old, new)) maps a sub-jaxpr shared by several equations to one
    new object, so that common-subexpression elimination still sees them as equal.
    """
    if not has_subjaxprs(eqn):
        return eqn

    def new(j):
        hit = memo.get(id(j))
        if hit is None:
            hit = memo[id(j)] = (j, fn(j))  # keep j alive so its id is not reused
        return hit[1]

    params = {}
    for k, v in eqn.params.items():
        if isinstance(v, Jaxpr):
            v = new(v)
        elif isinstance(v, (tuple, list)) and any(isinstance(x, Jaxpr) for x in v):
            v = type(v)(new(x) if isinstance(x, Jaxpr) else x for x in v)
        params[k] = v
    return eqn.replace(params=params)


class Substitution:
    """Var -> the atom now standing for it; ``read`` follows the map."""

    __slots__ = ("env",)

    def __init__(self):
        self.env: dict = {}

    def read(self, atom):
        if type(atom) is Literal:
            return atom
        return self.env.get(atom, atom)

    def read_all(self, atoms) -> list:
        env = self.env
        return [a if type(a) is Literal else env.get(a, a) for a in atoms]

    def apply(self, eqn: JaxprEqn) -> JaxprEqn:
        """``eqn`` reading the substituted atoms (``eqn`` itself when none of its inputs
        changed: most do not, and copying every equation is what the passes would spend
        their time on)."""
        env = self.env
        if env and any(type(a) is not Literal and a in env for a in eqn.invars):
            return eqn.replace(invars=self.read_all(eqn.invars))
        return eqn

    def __setitem__(self, var, atom):
        self.env[var] = atom


def count_eqns(jaxpr: Jaxpr) -> int:
    """Equations of ``jaxpr`` and, recursively, of its sub-jaxprs."""
    return sum(1 + sum(count_eqns(j) for j in jaxprs_in(e)) for e in jaxpr.eqns)
