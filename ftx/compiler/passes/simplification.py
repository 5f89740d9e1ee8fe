"""Algebraic simplification: rewrites that give bit-identical values, NaN and -0.0 included.

Each rule looks at one equation (and the equations that define its operands) and
returns the atom now standing for its output, or a cheaper equation. A result is
used only when its type is exactly the output's (shape, dtype and weak type), so no
rule can change a type. The rules, and why each is exact:

- ``x * 1``, ``x / 1``: exact for every real and integer value (not complex:
  ``(a+bi)(1+0i)`` computes ``b*0``, NaN for infinite ``b``). Here and below a constant
  may also be a ``broadcast_in_dim`` of a scalar literal (a gradient's seed of ones).
- ``x + (-0.0)`` and ``x - 0.0`` for floats; ``x + 0``, ``x - 0`` for integers and bools.
  ``x + 0.0`` is *not* ``x``: ``-0.0 + 0.0`` is ``+0.0``.
- ``x * 0`` only for integers and bools (for floats, ``NaN * 0`` is NaN and ``-1.0 * 0`` is -0.0).
- ``neg(neg x)``; ``integer_pow[y=1]``; ``stop_gradient`` and ``name`` (identities once
  compiled: they only matter to transforms, which are done).
- ``convert_element_type`` to the operand's dtype; ``convert(convert(x, wider), x.dtype)``
  when the first conversion is lossless (same kind and wider, bool to anything,
  small integers to a float with enough mantissa bits).
- ``select_n`` with a literal selector, or with every case the same value.
- Shape operations that do nothing: ``reshape``/``broadcast_in_dim``/``squeeze`` to the
  same shape, the identity ``transpose``, ``rev`` of no (or length-1) axes, a ``slice`` of
  everything, a ``pad`` by nothing, reductions over no axes.

Sub-jaxprs are simplified too (their signatures stay).
"""
from __future__ import annotations

import numpy as np

from ftx.core.avals import ShapedArray
from ftx.core.jaxpr import Jaxpr, JaxprEqn, Literal
from ftx.compiler.passes._rewrite import Substitution, is_effectful, map_subjaxprs


def simplify(jaxpr: Jaxpr) -> Jaxpr:
    """``jaxpr`` with exact algebraic identities applied.

    >>> j = ftx.make_jaxpr(lambda x: -(-x) * 1.0)(np.ones(3))
    >>> simplify(j).outvars == j.invars     # the negations are left for dce
    True
    """
    return _simplify(jaxpr, {})


def _simplify(jaxpr: Jaxpr, memo: dict) -> Jaxpr:
    subst = Substitution()
    defs: dict = {}  # Var -> the (new) equation defining it
    eqns = []
    for eqn in jaxpr.eqns:
        eqn = map_subjaxprs(subst.apply(eqn),
                            lambda j: _simplify(j, memo), memo)
        rule = RULES.get(eqn.primitive.name)
        if rule is not None and len(eqn.outvars) == 1 and not is_effectful(eqn):
            result = rule(eqn, defs)
            if result is not None:
                result = _as_output(eqn, result)
            if isinstance(result, JaxprEqn):
                eqn = result
            elif result is not None:
                subst[eqn.outvars[0]] = result
                continue
        eqns.append(eqn)
        for v in eqn.outvars:
            defs[v] = eqn
    return jaxpr.replace(eqns=eqns, outvars=subst.read_all(jaxpr.outvars))


def _as_output(eqn: JaxprEqn, atom):
    """``atom`` as the value of ``eqn``'s output: the atom itself when the types agree
    exactly; a retyped scalar literal; a ``broadcast_in_dim`` equation when a scalar stands
    for an array; None when none of these gives exactly the output's type."""
    if isinstance(atom, JaxprEqn):
        return atom
    out = eqn.outvars[0].aval
    if atom.aval == out:
        return atom
    if atom.aval.shape != ():
        return None
    if isinstance(atom, Literal):
        value = np.asarray(atom.val).astype(out.dtype)
        scalar = ShapedArray((), out.dtype, out.weak_type and out.shape == ())
        atom = Literal(value.item() if scalar.weak_type else value[()], scalar)
        if out.shape == ():
            return atom
    elif out.shape == ():
        return None  # a scalar variable of another (weak) type: nothing exact stands in
    if atom.aval.dtype != out.dtype or out.weak_type:
        return None
    from ftx.lax.shape import broadcast_in_dim_p
    return JaxprEqn(broadcast_in_dim_p, [atom], eqn.outvars,
                    {"shape": out.shape, "broadcast_dimensions": ()}, eqn.source_info)


# --------------------------------------------------------------------------- helpers

def _scalar_constant(atom, defs):
    """The scalar literal ``atom`` is, or is a ``broadcast_in_dim`` of (as a gradient's seed
    ``broadcast_in_dim 1.0`` is); else None."""
    if not isinstance(atom, Literal):
        eqn = defs.get(atom)
        if eqn is None or eqn.primitive.name != "broadcast_in_dim":
            return None
        atom = eqn.invars[0]
    return atom if isinstance(atom, Literal) and np.ndim(atom.val) == 0 else None


def _equals(atom, value, defs) -> bool:
    c = _scalar_constant(atom, defs)
    return c is not None and c.val == value


def _negative_zero(atom, defs) -> bool:
    return _equals(atom, 0, defs) and bool(np.signbit(_scalar_constant(atom, defs).val))


def _kind(eqn) -> str:
    return eqn.outvars[0].aval.dtype.kind


def _zero(eqn) -> Literal:
    dtype = eqn.outvars[0].aval.dtype
    return Literal(np.zeros((), dtype)[()], ShapedArray((), dtype))


# --------------------------------------------------------------------------- arithmetic

def _add(eqn, defs):
    for x, c in (eqn.invars, reversed(eqn.invars)):
        if _equals(c, 0, defs) and (_kind(eqn) in "biu" or
                                    (_kind(eqn) == "f" and _negative_zero(c, defs))):
            return x
    return None


def _sub(eqn, defs):
    x, c = eqn.invars
    if _equals(c, 0, defs) and (_kind(eqn) in "iu" or (_kind(eqn) == "f" and
                                                       not _negative_zero(c, defs))):
        return x
    return None


def _mul(eqn, defs):
    for x, c in (eqn.invars, reversed(eqn.invars)):
        if _equals(c, 1, defs) and _kind(eqn) != "c":
            return x
        if _equals(c, 0, defs) and _kind(eqn) in "biu":
            return _zero(eqn)
    return None


def _div(eqn, defs):
    x, c = eqn.invars
    return x if _equals(c, 1, defs) and _kind(eqn) != "c" else None


def _neg(eqn, defs):
    inner = defs.get(eqn.invars[0])
    return inner.invars[0] if inner is not None and inner.primitive.name == "neg" else None


def _convert(eqn, defs):
    (x,) = eqn.invars
    if x.aval.dtype == eqn.params["new_dtype"]:
        return x
    inner = defs.get(x)
    if inner is not None and inner.primitive.name == "convert_element_type":
        source = inner.invars[0]
        if source.aval.dtype == eqn.params["new_dtype"] and _lossless(source.aval.dtype,
                                                                      x.aval.dtype):
            return source
    return None


def _lossless(src: np.dtype, dst: np.dtype) -> bool:
    """Whether converting ``src`` to ``dst`` keeps every value (so converting back is exact)."""
    if src.kind == "b":
        return True
    if src.kind == dst.kind:
        return dst.itemsize >= src.itemsize
    if src.kind == "u" and dst.kind == "i":
        return dst.itemsize > src.itemsize
    if src.kind == "f" and dst.kind == "c":
        return dst.itemsize >= 2 * src.itemsize
    if src.kind in "iu" and dst.kind == "f":
        bits = src.itemsize * 8 - (src.kind == "i")
        return np.finfo(dst).nmant + 1 >= bits
    return False


def _select_n(eqn, defs):
    which, *cases = eqn.invars
    if all(c is cases[0] for c in cases):
        return cases[0]
    if isinstance(which, Literal) and np.ndim(which.val) == 0:
        index = int(which.val)
        return cases[index] if 0 <= index < len(cases) else None
    return None


def _identity(eqn, defs):
    return eqn.invars[0]


def _identity_if(test):
    """A rule returning the operand when ``test(operand_aval, **params)`` holds."""
    return lambda eqn, defs: eqn.invars[0] if test(eqn.invars[0].aval, **eqn.params) else None


def _same_shape(eqn, defs):
    x = eqn.invars[0]
    return x if x.aval.shape == eqn.outvars[0].aval.shape else None


def _whole_slice(x, *, start_indices, limit_indices, strides):
    strides = strides or (1,) * x.ndim
    return all(s == 0 and (st == 1 or n <= 1) and lim == n
               for s, lim, st, n in zip(start_indices, limit_indices, strides, x.shape))


RULES = {
    "add": _add, "sub": _sub, "mul": _mul, "div": _div, "neg": _neg,
    "convert_element_type": _convert, "select_n": _select_n,
    "stop_gradient": _identity, "name": _identity,  # checkpoint_name: a label for policies
    "integer_pow": _identity_if(lambda x, *, y: y == 1),
    "reshape": _same_shape,
    "broadcast_in_dim": _same_shape,
    "squeeze": _same_shape,
    "transpose": _identity_if(lambda x, *, permutation: tuple(permutation) ==
                              tuple(range(x.ndim))),
    "rev": _identity_if(lambda x, *, dimensions: all(x.shape[d] <= 1 for d in dimensions)),
    "slice": _identity_if(_whole_slice),
    "pad": _identity_if(lambda x, *, padding_config: all(
        lo == 0 and hi == 0 and (interior == 0 or n <= 1)
        for (lo, hi, interior), n in zip(padding_config, x.shape))),
    **{name: _identity_if(lambda x, *, axes: len(axes) == 0) for name in (
        "reduce_sum", "reduce_prod", "reduce_max", "reduce_min", "reduce_and", "reduce_or",
        "reduce_xor")},
}
