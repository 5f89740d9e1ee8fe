"""``closed_call``: a higher-order primitive that calls a jaxpr, with every rule.

It is the pattern every higher-order primitive (control flow, ``jit``,
``checkpoint``) follows: each rule transforms the sub-jaxpr with the matching
jaxpr-to-jaxpr helper (``jvp_jaxpr``, ``batch_jaxpr``, ``transpose_jaxpr``,
``partial_eval_jaxpr``) and binds the primitive again on the result, so the
call structure survives every transform.
"""
from __future__ import annotations

from ftx.core.ad_util import Zero, is_undefined
from ftx.core.jaxpr import eval_jaxpr
from ftx.core.primitive import Primitive, def_rule
from ftx.core.staging import trace_to_jaxpr
from ftx.core.trace import set_current_trace
from ftx.lax._ad_rules import instantiate


def _impl(*args, jaxpr):
    return eval_jaxpr(jaxpr, *args)


def _jvp(primals, tangents, *, jaxpr):
    from ftx.transforms.jvp import jvp_jaxpr
    nonzeros = [type(t) is not Zero for t in tangents]
    new, out_nz = jvp_jaxpr(jaxpr, nonzeros, instantiate=False)
    outs = closed_call_p.bind(*primals, *[t for t, nz in zip(tangents, nonzeros) if nz],
                              jaxpr=new)
    return _split_jvp_outs(outs, out_nz)


def _split_jvp_outs(outs, out_nz):
    """(primal outputs, tangents with symbolic zeros where the jvp jaxpr has none)."""
    n = len(out_nz)
    primals, tangents = outs[:n], iter(outs[n:])
    return primals, [next(tangents) if nz else Zero.like(p) for p, nz in zip(primals, out_nz)]


def _batch(axis_data, args, dims, *, jaxpr):
    from ftx.transforms.batching import batch_jaxpr
    new, out_batched = batch_jaxpr(jaxpr, axis_data, dims, instantiate=False)
    outs = closed_call_p.bind(*args, jaxpr=new)
    return outs, [0 if b else None for b in out_batched]


def _transpose(cts, *args, jaxpr):
    from ftx.transforms.transpose import transpose_jaxpr
    linear = [is_undefined(a) for a in args]
    new = transpose_jaxpr(jaxpr, linear)
    cts = [instantiate(ct) for ct in cts]
    outs = iter(closed_call_p.bind(*[a for a in args if not is_undefined(a)], *cts, jaxpr=new))
    return [next(outs) if lin else None for lin in linear]


def _partial_eval(trace, args, *, jaxpr):
    from ftx.transforms.partial_eval import partial_eval_jaxpr
    unknowns = [trace.owns(a) for a in args]
    known, unknown, out_unknowns, num_res = partial_eval_jaxpr(jaxpr, unknowns)
    known_consts, known = list(known.consts), known.consts_as_inputs()
    with set_current_trace(trace.parent):
        known_outs = closed_call_p.bind(*known_consts, *[a for a, u in zip(args, unknowns) if not u],
                                        jaxpr=known)
    n_known = len(known_outs) - num_res
    residuals = known_outs[n_known:]
    unknown_outs = iter(trace.stage(closed_call_p, [*residuals, *[a for a, u in zip(args, unknowns)
                                                                  if u]], {"jaxpr": unknown}))
    known_iter = iter(known_outs[:n_known])
    return [next(unknown_outs) if u else next(known_iter) for u in out_unknowns]


closed_call_p = Primitive("closed_call")
closed_call_p.def_impl(_impl)
closed_call_p.def_abstract_eval(lambda *avals, jaxpr: jaxpr.out_avals)
def_rule("jvp", closed_call_p, _jvp)
def_rule("batch", closed_call_p, _batch)
def_rule("transpose", closed_call_p, _transpose)
def_rule("partial_eval", closed_call_p, _partial_eval)


def closed_call(fun, *args):
    """Call ``fun`` as one ``closed_call`` equation (a sub-jaxpr) rather than inlining it.

    >>> ftx.make_jaxpr(lambda x: closed_call(fnp.sin, x))(1.0)   # one closed_call equation
    """
    from ftx.core import pytree
    from ftx.core.avals import get_aval
    flat, in_tree = pytree.tree_flatten(args)
    store = {}

    def flat_fun(*leaves):
        out = fun(*pytree.tree_unflatten(in_tree, leaves))
        out_leaves, store["tree"] = pytree.tree_flatten(out)
        return out_leaves

    jaxpr = trace_to_jaxpr(flat_fun, [get_aval(x).strip_weak_type() for x in flat])
    closed = jaxpr.consts_as_inputs()
    outs = closed_call_p.bind(*jaxpr.consts, *flat, jaxpr=closed)
    return pytree.tree_unflatten(store["tree"], outs)
