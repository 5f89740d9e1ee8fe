"""Partial evaluation and ``ftx.linearize``.

A PartialEvalTrace runs every primitive whose inputs are all known (in the
enclosing trace: eagerly on NumPy, or recorded by an outer transform) and stages
the rest into a jaxpr. Known values that staged equations read become the
jaxpr's constants: the *residuals*.

Linearize = JVP on top of partial evaluation with known primals and unknown
tangents: primal work runs now, tangent work is staged into a linear jaxpr that
closes over residuals. Reverse mode transposes that jaxpr.
"""
from __future__ import annotations

import numpy as np

from ftx.core import nan_checks, pytree
from ftx.core.ad_util import Zero
from ftx.core.jaxpr import Jaxpr
from ftx.core.primitive import RULES
from ftx.core.staging import JaxprTrace, JaxprTracer
from ftx.core.trace import TraceDebugInfo, Tracer, _current, current_trace, set_current_trace
from ftx.lax._ad_rules import instantiate
from ftx.transforms._api_util import flatten_fun
from ftx.transforms.jvp import JVPTrace, JVPTracer


_PE_RULES = RULES["partial_eval"]


class PartialEvalTrace(JaxprTrace):
    """Stages only what depends on its own (unknown) tracers; evaluates the rest."""

    __slots__ = ()

    def to_atom(self, x, prim=None):
        # Known arrays, even 0-d ones, are residuals (constvars), so a VJP's saved values
        # are all visible as its pytree leaves; only Python scalars stay literals.
        if isinstance(x, (np.ndarray, np.generic)):
            return self._const(x)
        return super().to_atom(x, prim)

    def process_primitive(self, prim, args, params):
        tag = self.tag
        foreign = False  # a tracer of another trace among the operands
        for a in args:
            if isinstance(a, Tracer):
                if a._trace.tag is tag:
                    break
                foreign = True
        else:  # all known: the enclosing trace computes it (NumPy in eager mode)
            # The hot path of linearize (every primal operation of every jvp rule comes
            # here), so the context manager is inlined, and so is bind's eager path when
            # there is no tracer for bind to check.
            parent = self.parent
            token = _current.set(parent)
            try:
                if parent is None and not foreign:
                    outs = prim.impl(*args, **params)
                    if nan_checks.active:
                        nan_checks.check(prim.name, outs)
                    return outs
                return prim.bind(*args, **params)
            finally:
                _current.reset(token)
        rule = _PE_RULES.get(prim)
        if rule is not None:  # a higher-order primitive splits into known and unknown parts
            return rule(self, args, **params)
        # Staged: the operands are our tracers and known arrays (residuals), inlined here
        # because linearize stages every tangent operation through this loop.
        invars = []
        const_vars = self._const_vars
        for a in args:
            if type(a) is JaxprTracer and a._trace is self:
                invars.append(a.var)
            elif type(a) is np.ndarray:
                var = const_vars.get(id(a))
                invars.append(var if var is not None else self._const(a))
            else:
                invars.append(self.to_atom(a, prim))
        return self.stage_eqn(prim, invars, params)

    def stage(self, prim, args, params):
        """Record ``prim`` as an unknown equation (for partial_eval rules)."""
        return JaxprTrace.process_primitive(self, prim, args, params)


def partial_eval_jaxpr(jaxpr: Jaxpr, unknowns, instantiate=False):
    """Split ``jaxpr`` by which inputs are ``unknowns``.

    Returns ``(jaxpr_known, jaxpr_unknown, out_unknowns, num_res)``:
    ``jaxpr_known`` takes the known inputs and returns the known outputs followed
    by ``num_res`` residuals; ``jaxpr_unknown`` takes the residuals followed by
    the unknown inputs and returns the unknown outputs. ``instantiate`` (a bool
    or one per output) forces outputs to be unknown even if they could be known.
    ``jaxpr_unknown`` has no constants; ``jaxpr_known`` keeps the constants its
    known part computes with (those of ``jaxpr``).
    """
    from ftx.core.jaxpr import eval_jaxpr
    from ftx.core.staging import trace_to_jaxpr
    n_out = len(jaxpr.outvars)
    inst = [instantiate] * n_out if isinstance(instantiate, bool) else list(instantiate)
    known_avals = [v.aval for v, u in zip(jaxpr.invars, unknowns) if not u]
    box = {}

    def known_fun(*known_args):
        pe = PartialEvalTrace(parent=current_trace())
        it = iter(known_args)
        args = [pe.new_arg(v.aval) if u else next(it) for v, u in zip(jaxpr.invars, unknowns)]
        try:
            with set_current_trace(pe):
                outs = eval_jaxpr(jaxpr, *args)
            out_unknowns = [pe.owns(o) or i for o, i in zip(outs, inst)]
            unknown = pe.to_jaxpr([o for o, u in zip(outs, out_unknowns) if u])
        finally:
            pe.invalidate()
        box["unknown"], box["out_unknowns"] = unknown, out_unknowns
        residuals = list(unknown.consts)
        box["num_res"] = len(residuals)
        return [o for o, u in zip(outs, out_unknowns) if not u] + residuals

    jaxpr_known = trace_to_jaxpr(known_fun, known_avals)
    return jaxpr_known, box["unknown"].consts_as_inputs(), box["out_unknowns"], box["num_res"]


class LinearizeResult:
    """What linearize_flat returns: primal outputs and the linear jaxpr of the tangents.

    ``jaxpr`` maps the tangents of the ``linear_inputs`` (indices into the
    flat primals) to the output tangents; its consts are the residuals.
    """

    __slots__ = ("primals_out", "jaxpr", "linear_inputs")

    def __init__(self, primals_out, jaxpr, linear_inputs):
        self.primals_out, self.jaxpr, self.linear_inputs = primals_out, jaxpr, linear_inputs

    def pull_back(self, cts_out) -> list:
        """The cotangents of the linear inputs (Zero where none flows) for output cts."""
        from ftx.transforms.transpose import backward_pass
        return backward_pass(self.jaxpr, cts_out)


def linearize_flat(fun, primals, linear_mask=None, transform="linearize", fun_for_debug=None,
                   num_linear_out=None, avals=None):
    """Linearize ``fun(*flat) -> flat outs`` at ``primals`` in the inputs where ``linear_mask`` is True.

    Integer inputs are never linear (their tangents are float0 zeros). Only the
    first ``num_linear_out`` outputs get tangents (the rest are auxiliary data); it may be
    a callable, asked after ``fun`` has run. ``avals``: the primals' avals, if known.
    """
    if avals is None:
        from ftx.core.avals import get_aval
        avals = [get_aval(p) for p in primals]
    if linear_mask is None:
        linear_mask = [True] * len(primals)
    # The function is described only if an error message asks (see TraceDebugInfo).
    debug = TraceDebugInfo(transform, fun_for_debug or fun)
    pe = PartialEvalTrace(parent=current_trace(), debug=debug)
    jvp_trace = JVPTrace(parent=pe, debug=debug)
    linear_inputs = []
    ins = list(primals)
    for i, (m, a) in enumerate(zip(linear_mask, avals)):
        if m and a.dtype.kind in "fc":
            linear_inputs.append(i)
            ins[i] = JVPTracer(jvp_trace, ins[i], pe.new_arg(a.to_tangent_aval()))
    token = _current.set(jvp_trace)
    try:
        outs = fun(*ins)
    finally:
        _current.reset(token)
        jvp_trace.invalidate()
    try:
        primals_out, tangents_out = [], []
        for o in outs:
            p, t = jvp_trace.to_primal_tangent(o)
            if pe.owns(p):
                raise TypeError("linearize: a primal output depends on a tangent; this is an "
                                "ftx bug in a jvp rule")
            primals_out.append(p)
            tangents_out.append(t)
        # A zero output tangent becomes a constant zero of the linear jaxpr.
        n = num_linear_out() if callable(num_linear_out) else num_linear_out
        jaxpr = pe.to_jaxpr([instantiate(t) for t in tangents_out[:n]], debug_info=debug)
    finally:
        pe.invalidate()
    return LinearizeResult(primals_out, jaxpr, linear_inputs)


def linearize(fun, *primals, has_aux: bool = False):
    """``(fun(*primals), f_jvp)`` where ``f_jvp(*tangents)`` replays only the linear part.

    >>> y, f_jvp = ftx.linearize(fnp.sin, 0.5)
    >>> f_jvp(1.0)        # cos(0.5), no sin evaluated again

    With ``has_aux=True`` returns ``(out, f_jvp, aux)``.
    """
    flat, in_tree = pytree.tree_flatten((primals, {}))
    flat_fun, store = flatten_fun(fun, in_tree, has_aux, "linearize")
    res = linearize_flat(flat_fun, flat, fun_for_debug=fun,
                         num_linear_out=lambda: store.num_out)
    n = store.num_out
    out = pytree.tree_unflatten(store.out_tree, res.primals_out[:n])
    f_jvp = LinearFunction(res.jaxpr, in_tree, res.linear_inputs, flat, store.out_tree, n)
    if has_aux:
        return out, f_jvp, pytree.tree_unflatten(store.aux_tree, res.primals_out[n:])
    return out, f_jvp


class LinearFunction:
    """The linear map returned by ``linearize``: ``f_jvp(*tangents) -> output tangent``."""

    def __init__(self, jaxpr: Jaxpr, in_tree, linear_inputs, primals, out_tree, num_out):
        self.jaxpr, self.in_tree, self.linear_inputs = jaxpr, in_tree, linear_inputs
        self.primal_avals = [_aval(p) for p in primals]
        self.out_tree, self.num_out = out_tree, num_out

    def __call__(self, *tangents):
        from ftx.core.jaxpr import eval_jaxpr
        flat, tree = pytree.tree_flatten((tangents, {}))
        if tree != self.in_tree:
            raise TypeError(f"linearize: the linear function takes tangents with the structure "
                            f"of the primals {self.in_tree}, got {tree}")
        args = [flat[i] for i in self.linear_inputs]
        outs = eval_jaxpr(self.jaxpr, *args)
        return pytree.tree_unflatten(self.out_tree, outs[:self.num_out])

    def __repr__(self):
        return f"LinearFunction(\n{self.jaxpr})"


def _aval(x):
    from ftx.core.avals import get_aval
    return get_aval(x)


__all__ = ["PartialEvalTrace", "linearize", "linearize_flat", "Zero"]
