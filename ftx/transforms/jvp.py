"""Forward mode: the JVP interpreter and ``ftx.jvp``.

A JVPTracer carries a primal value and a tangent (possibly a symbolic ``Zero``,
so unperturbed values cost nothing). Rules run with the parent trace current:
primal and tangent arithmetic is simply recorded by (or executed in) whatever
encloses this transform.
"""
from __future__ import annotations

import numpy as np

from ftx.core import pytree
from ftx.core.ad_util import Zero
from ftx.core.avals import ShapedArray, _array_avals, get_aval
from ftx.core.primitive import RULES, get_rule
from ftx.core.source_info import current_source_info
from ftx.core.staging import JaxprTrace
from ftx.core.trace import (Trace, TraceDebugInfo, Tracer, _current, current_trace, leaked,
                            set_current_trace)
from ftx.lax._ad_rules import instantiate
from ftx.transforms._api_util import flatten_fun


_JVP_RULES = RULES["jvp"]


class JVPTracer(Tracer):
    # ``aval`` is a plain attribute, set at construction: ftx.numpy asks every tracer for its
    # shape and dtype, usually several times.
    __slots__ = ("primal", "tangent", "aval")

    def __init__(self, trace, primal, tangent):
        self._trace, self.primal, self.tangent = trace, primal, tangent
        # get_aval's own fast path, inlined: a tracer is made for every perturbed result.
        aval = (_array_avals.get((primal.shape, primal.dtype))
                if type(primal) is np.ndarray else None)
        self.aval: ShapedArray = aval or get_aval(primal)

    def __repr__(self):
        return f"JVPTracer(primal={_short(self.primal)}, tangent={_short(self.tangent)})"


def _short(x) -> str:
    if isinstance(x, (Tracer, Zero)):
        return repr(x)
    try:
        arr = np.asarray(x)
        return np.array2string(arr, threshold=6, precision=4) if arr.ndim else repr(arr.item())
    except Exception:
        return repr(x)


class JVPTrace(Trace):
    __slots__ = ()

    def lift(self, x):
        """(primal, tangent) of an operand: our own tracers, or a constant with a zero tangent."""
        if isinstance(x, JVPTracer) and x._trace.tag is self.tag:
            return x.primal, x.tangent
        self.check_not_leaked(x, None)
        return x, Zero.like(x)

    def process_primitive(self, prim, args, params):
        # Every primitive under jvp, linearize and grad comes here: lift() and the context
        # manager are inlined, and the rule table is read directly.
        tag = self.tag
        primals, tangents = [], []
        perturbed = False
        for a in args:
            if isinstance(a, JVPTracer) and a._trace.tag is tag:
                primals.append(a.primal)
                t = a.tangent
                perturbed = perturbed or type(t) is not Zero
            else:
                if isinstance(a, Tracer) and not a._trace.valid:
                    raise leaked(a, prim)
                primals.append(a)
                t = Zero.like(a)
            tangents.append(t)
        parent = self.parent
        if not perturbed:
            token = _current.set(parent)
            try:
                return prim.bind(*primals, **params)
            finally:
                _current.reset(token)
        # Over a staging trace (linearize, jit) the rule's equations are recorded under the
        # user's line of this operation: found once here, where the stack is shallower, rather
        # than by a stack walk for each equation the rule stages.
        pin = isinstance(parent, JaxprTrace) and parent.source_info is None
        if pin:
            parent.source_info = current_source_info()
        token = _current.set(parent)
        try:
            rule = _JVP_RULES.get(prim) or get_rule("jvp", prim, primals)
            primals_out, tangents_out = rule(primals, tangents, **params)
        finally:
            _current.reset(token)
            if pin:
                parent.source_info = None
        if len(primals_out) == 1:  # the usual case, without the comprehension
            t = tangents_out[0]
            return primals_out if type(t) is Zero else [JVPTracer(self, primals_out[0], t)]
        return [p if type(t) is Zero else JVPTracer(self, p, t)
                for p, t in zip(primals_out, tangents_out)]

    def to_primal_tangent(self, x):
        if isinstance(x, JVPTracer) and x._trace.tag is self.tag:
            return x.primal, x.tangent
        return x, Zero.like(x)


def jvp_flat(fun, primals, tangents, transform="jvp", fun_for_debug=None):
    """Run ``fun(*flat) -> flat outs`` forward-differentiated; returns (primals_out, tangents_out)."""
    debug = TraceDebugInfo(transform, fun_for_debug or fun)  # described only if a message asks
    trace = JVPTrace(parent=current_trace(), debug=debug)
    ins = [p if type(t) is Zero else JVPTracer(trace, p, t) for p, t in zip(primals, tangents)]
    try:
        with set_current_trace(trace):
            outs = fun(*ins)
        pairs = [trace.to_primal_tangent(o) for o in outs]
    finally:
        trace.invalidate()
    return [p for p, _ in pairs], [t for _, t in pairs]


def _check_tangent(i, primal, tangent):
    pa, ta = get_aval(primal), get_aval(tangent)
    expected = pa.to_tangent_aval()
    # Tangents of integer inputs are ignored (zero); any dtype with the right shape is accepted.
    dtype_ok = ta.dtype == expected.dtype or ta.weak_type or pa.dtype.kind not in "fc"
    if ta.shape != expected.shape or not dtype_ok:
        raise TypeError(f"jvp: primal and tangent arguments must have matching shapes and "
                        f"dtypes (the tangent of an integer input has dtype float0); argument "
                        f"{i} has primal {pa.str_short()} and tangent {ta.str_short()}, "
                        f"expected a tangent of type {expected.str_short()}")


def jvp(fun, primals, tangents, has_aux: bool = False):
    """Forward-mode derivative: ``(fun(*primals), d fun(primals)[tangents])``.

    >>> ftx.jvp(fnp.sin, (0.5,), (1.0,))    # (sin(0.5), cos(0.5))

    ``primals`` and ``tangents`` are tuples of pytrees of the same structure.
    With ``has_aux=True`` ``fun`` returns ``(out, aux)`` and jvp returns
    ``(out, out_tangent, aux)``.
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples (one entry per argument), "
                        f"got {type(primals).__name__} and {type(tangents).__name__}")
    flat_p, tree_p = pytree.tree_flatten((tuple(primals), {}))
    flat_t, tree_t = pytree.tree_flatten((tuple(tangents), {}))
    if tree_p != tree_t:
        raise ValueError(f"jvp: primals and tangents must have the same tree structure; got "
                         f"{tree_p} and {tree_t}")
    for i, (p, t) in enumerate(zip(flat_p, flat_t)):
        _check_tangent(i, p, t)
    # Integer inputs have float0 tangents: symbolic zeros from the start.
    flat_t = [Zero.like(p) if get_aval(p).dtype.kind not in "fc" else t
              for p, t in zip(flat_p, flat_t)]
    flat_fun, store = flatten_fun(fun, tree_p, has_aux, "jvp")
    p_out, t_out = jvp_flat(flat_fun, flat_p, flat_t, fun_for_debug=fun)
    n = store.num_out
    primal_out = pytree.tree_unflatten(store.out_tree, p_out[:n])
    tangent_out = pytree.tree_unflatten(store.out_tree, [instantiate(t) for t in t_out[:n]])
    if has_aux:
        return primal_out, tangent_out, pytree.tree_unflatten(store.aux_tree, p_out[n:])
    return primal_out, tangent_out




def jvp_jaxpr(jaxpr, nonzeros, instantiate):
    """Forward mode of ``jaxpr``, for higher-order primitives' jvp rules.

    Returns ``(jvp, out_nonzeros)``: ``jvp`` takes the primals followed by the
    tangents of the inputs marked in ``nonzeros`` and returns the primal outputs
    followed by the tangents of the outputs marked in ``out_nonzeros`` (those
    whose tangent is not a symbolic zero, plus those in ``instantiate`` — a bool
    or one per output; integer outputs never have one).
    """
    from ftx.core.jaxpr import eval_jaxpr
    from ftx.core.staging import trace_to_jaxpr
    avals = jaxpr.in_avals
    n_out = len(jaxpr.outvars)
    instantiate = [instantiate] * n_out if isinstance(instantiate, bool) else list(instantiate)
    nonzeros = [bool(nz) and a.dtype.kind in "fc" for nz, a in zip(nonzeros, avals)]
    n = len(avals)
    box = {}

    def f(*args):
        tangents = iter(args[n:])
        ts = [next(tangents) if nz else Zero(a.to_tangent_aval()) for a, nz in zip(avals, nonzeros)]
        p_out, t_out = jvp_flat(lambda *x: eval_jaxpr(jaxpr, *x), list(args[:n]), ts)
        out_nz = [get_aval(p).dtype.kind in "fc" and (type(t) is not Zero or inst)
                  for p, t, inst in zip(p_out, t_out, instantiate)]
        box["nz"] = out_nz
        return list(p_out) + [_tangent_like(t, p) for t, p, nz in zip(t_out, p_out, out_nz) if nz]

    tangent_avals = [a.strip_weak_type().to_tangent_aval() for a, nz in zip(avals, nonzeros) if nz]
    out = trace_to_jaxpr(f, list(avals) + tangent_avals)
    return out, box["nz"]


def _tangent_like(t, primal):
    """A tangent as an array of the primal's (strong) dtype: a zero is instantiated."""
    aval = get_aval(primal).strip_weak_type().to_tangent_aval()
    if type(t) is Zero:
        return np.zeros(aval.shape, aval.dtype)
    if get_aval(t).dtype != aval.dtype:
        from ftx.lax.elementwise import convert_element_type
        return convert_element_type(t, aval.dtype)
    return t
