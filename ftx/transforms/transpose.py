"""Transposition of linear jaxprs (the backward pass) and ``ftx.linear_transpose``.

Cotangents accumulate in an environment keyed by variable, never on graph
nodes. Equations that do not depend on a linear input are evaluated forward
first (their values are constants of the backward pass).
"""
from __future__ import annotations

from ftx.core import pytree
from ftx.core.ad_util import UndefinedPrimal, Zero
from ftx.core.avals import get_aval
from ftx.core.jaxpr import Jaxpr, Literal
from ftx.core.primitive import RULES, get_rule
from ftx.lax._ad_rules import add_tangents, instantiate

_TRANSPOSE_RULES = RULES["transpose"]


def backward_pass(jaxpr: Jaxpr, cts_out, consts=None, cts_in_so_far=None) -> list:
    """Cotangents of ``jaxpr``'s inputs given cotangents of its outputs (Zero allowed).

    All of ``jaxpr``'s inputs are linear; its constants are not. ``cts_in_so_far`` (one per
    input, None for none): cotangents the inputs already have, which this pass adds to in
    the order of its equations (the eager tape transposes a program one primitive at a
    time, and sums in the order one pass over the whole program would).
    """
    # Eager grad runs this once per call: it is written for few allocations per equation.
    consts = jaxpr.consts if consts is None else consts
    linear = set(jaxpr.invars)
    values = dict(zip(jaxpr.constvars, consts))
    linear_eqns = []
    for eqn in jaxpr.eqns:
        for v in eqn.invars:
            if v in linear:  # Literals hash by identity: never in the set
                linear.update(eqn.outvars)
                linear_eqns.append(eqn)
                break
        else:  # a non-linear equation: compute its value now
            ins = [v.val if type(v) is Literal else values[v] for v in eqn.invars]
            for v, x in zip(eqn.outvars, eqn.primitive.bind(*ins, **eqn.params)):
                values[v] = x

    ct_env: dict = {}  # variable -> its cotangent so far (absent: zero)

    def write(v, ct):
        if ct is None or type(ct) is Zero or v not in linear:
            return
        old = ct_env.get(v)
        ct_env[v] = ct if old is None else add_tangents(old, ct)

    if cts_in_so_far is not None:
        for v, ct in zip(jaxpr.invars, cts_in_so_far):
            write(v, ct)
    for v, ct in zip(jaxpr.outvars, cts_out):
        write(v, ct)

    pop = ct_env.pop
    for eqn in reversed(linear_eqns):
        outvars = eqn.outvars
        if len(outvars) == 1:
            ct = pop(outvars[0], None)
            if ct is None:
                continue
            cts = [ct]
        else:
            cts = [pop(v, None) for v in outvars]
            if all(ct is None for ct in cts):
                continue
            cts = [Zero(v.aval.to_tangent_aval()) if ct is None else ct
                   for ct, v in zip(cts, outvars)]
        invals = [v.val if type(v) is Literal else
                  UndefinedPrimal(v.aval) if v in linear else values[v] for v in eqn.invars]
        prim = eqn.primitive
        rule = _TRANSPOSE_RULES.get(prim) or get_rule("transpose", prim,
                                                      [v.aval for v in eqn.invars])
        try:
            cts_in = rule(cts, *invals, **eqn.params)
        except FloatingPointError as e:  # debug_nans: name the forward line it came from
            origin = f" from {eqn.source_info}" if eqn.source_info is not None else ""
            raise FloatingPointError(f"{e} This happened in the backward pass, transposing "
                                     f"`{prim.name}`, the derivative of the forward "
                                     f"computation{origin}.") from None
        if len(cts_in) != len(invals):
            raise RuntimeError(f"transpose rule of {prim.name} returned "
                               f"{len(cts_in)} cotangents for {len(invals)} operands")
        for v, ct in zip(eqn.invars, cts_in):  # write(v, ct), inlined
            if ct is not None and type(ct) is not Zero and v in linear:
                old = ct_env.get(v)
                ct_env[v] = ct if old is None else add_tangents(old, ct)
    cts_in = [pop(v, None) for v in jaxpr.invars]
    return [Zero(v.aval.to_tangent_aval()) if ct is None else ct
            for v, ct in zip(jaxpr.invars, cts_in)]


def linear_transpose(fun, *primals, reduce_axes=()):
    """The transpose of a linear function: ``linear_transpose(f, *primals)(ct) -> tuple of cts``.

    >>> f_t = ftx.linear_transpose(lambda x: 2.0 * x, 1.0)
    >>> f_t(1.0)      # (2.0,)

    ``primals`` (arrays or ShapeDtypeStructs) give the input types only.
    """
    from ftx.core.staging import make_jaxpr
    flat, in_tree = pytree.tree_flatten(primals)
    in_avals = [_struct(x) for x in flat]
    for a in in_avals:
        if a.dtype.kind not in "fc":
            raise TypeError(f"linear_transpose: only floating/complex inputs can be linear, "
                            f"got {get_aval(a).str_short()}")
    jaxpr, out_shape = make_jaxpr(lambda *xs: fun(*pytree.tree_unflatten(in_tree, xs)),
                                  return_shape=True)(*in_avals)
    out_tree = pytree.tree_structure(out_shape)

    def transposed(*cts):
        ct = cts[0] if len(cts) == 1 else cts
        ct_flat, ct_tree = pytree.tree_flatten(ct)
        if ct_tree != out_tree:
            raise TypeError(f"linear_transpose: cotangent structure {ct_tree} does not match the "
                            f"function's output {out_tree}")
        for c, a in zip(ct_flat, jaxpr.out_avals):
            ca = get_aval(c)
            if ca.shape != a.shape:
                raise TypeError(f"linear_transpose: cotangent of shape {ca.str_short()} for an "
                                f"output of type {a.str_short()}")
        res = backward_pass(jaxpr, ct_flat)
        res = [instantiate(r) for r in res]
        return pytree.tree_unflatten(in_tree, [_cast_like(r, a) for r, a in zip(res, in_avals)])

    return transposed


def _struct(x):
    from ftx.core.avals import ShapeDtypeStruct
    a = get_aval(x)
    return ShapeDtypeStruct(a.shape, a.dtype)


def _cast_like(x, aval):
    import numpy as np
    from ftx.lax.elementwise import convert_element_type
    if get_aval(x).dtype != aval.dtype:
        return convert_element_type(x, aval.dtype)
    if get_aval(x).shape != aval.shape:
        from ftx.lax.shape import broadcast_in_dim
        return broadcast_in_dim(x, aval.shape, ())
    return x if not isinstance(x, (int, float)) else np.asarray(x, aval.dtype)


def transpose_jaxpr(jaxpr: Jaxpr, linear):
    """The transpose of ``jaxpr`` in the inputs marked ``linear``, for higher-order primitives.

    The result takes the non-linear inputs followed by one cotangent per output
    and returns one cotangent per linear input (zeros where none flows).
    """
    from ftx.core.staging import trace_to_jaxpr
    nonlin_vars = [v for v, lin in zip(jaxpr.invars, linear) if not lin]
    lin_vars = [v for v, lin in zip(jaxpr.invars, linear) if lin]
    n_nonlin = len(nonlin_vars)

    def f(*args):
        closed = Jaxpr(list(jaxpr.constvars) + nonlin_vars, lin_vars, jaxpr.outvars, jaxpr.eqns,
                       list(jaxpr.consts) + list(args[:n_nonlin]))
        cts = backward_pass(closed, list(args[n_nonlin:]))
        return [instantiate(ct) for ct in cts]

    in_avals = [v.aval for v in nonlin_vars] + [a.to_tangent_aval() for a in jaxpr.out_avals]
    return trace_to_jaxpr(f, in_avals)
