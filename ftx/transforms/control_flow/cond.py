"""``cond`` and ``switch``: the ``cond`` primitive, which runs one of several branches.

``cond_p`` takes an integer ``index`` (clamped into range) and the branches'
operands; its param ``branches`` is a tuple of jaxprs with identical input and
output types. Only the chosen branch runs, eagerly and under every transform
except vmap with a batched index, which runs every branch and selects per
element with ``select_n``.
"""
from __future__ import annotations

import functools

import numpy as np

from ftx.core import pytree
from ftx.core.ad_util import Zero, is_undefined
from ftx.core.avals import get_aval
from ftx.core.jaxpr import Jaxpr, Var, eval_jaxpr
from ftx.core.primitive import Primitive, def_rule
from ftx.core.trace import set_current_trace
from ftx.lax._ad_rules import instantiate
from ftx.transforms.batching import batch_jaxpr
from ftx.transforms.control_flow._common import (
    as_operand, describe_types, fresh_outputs, fun_name, join_branch_types, leaf_labels,
    nonzero_tangent, strong, trace_fun, wrap, zeros)
from ftx.transforms.jvp import jvp_jaxpr

__all__ = ["cond", "switch", "cond_p", "run_cond"]


def _cond_impl(index, *operands, branches):
    return run_cond([functools.partial(eval_jaxpr, b) for b in branches], index, *operands,
                    branches=branches)


def run_cond(branch_fns, index, *operands, branches):
    """Run the branch ``index`` selects (clamped) with ``branch_fns[i](*operands) -> outs``."""
    outs = branch_fns[int(np.clip(index, 0, len(branches) - 1))](*operands)
    return fresh_outputs(outs, branches[0].out_avals, operands)


def _same(a, b) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype


def _cond_abstract_eval(index, *operands, branches):
    if index.shape != () or index.dtype.kind not in "iu":
        raise TypeError(f"cond: the branch index must be an integer scalar, got "
                        f"{index.str_short()}")
    for i, b in enumerate(branches):
        if len(b.in_avals) != len(operands) or not all(map(_same, b.in_avals, operands)):
            raise TypeError(f"cond: branch {i} takes ({describe_types(b.in_avals)}) but the "
                            f"operands are ({describe_types(operands)})")
        if len(b.out_avals) != len(branches[0].out_avals) or \
                not all(map(_same, b.out_avals, branches[0].out_avals)):
            raise TypeError(f"cond: branch {i} returns ({describe_types(b.out_avals)}) but "
                            f"branch 0 returns ({describe_types(branches[0].out_avals)})")
    return strong(branches[0].out_avals)


def _cond_jvp(primals, tangents, *, branches):
    index, ops = primals[0], primals[1:]
    nz = [nonzero_tangent(t, p) for t, p in zip(tangents[1:], ops)]
    n_out = len(branches[0].outvars)
    out_nz = [False] * n_out
    for b in branches:  # the union of the branches' nonzero output tangents
        out_nz = [a or b for a, b in zip(out_nz, jvp_jaxpr(b, nz, [False] * n_out)[1])]
    new = tuple(jvp_jaxpr(b, nz, out_nz)[0] for b in branches)
    ts = [instantiate(t) for t, z in zip(tangents[1:], nz) if z]
    outs = cond_p.bind(index, *ops, *ts, branches=new)
    primals_out, tangents_it = outs[:n_out], iter(outs[n_out:])
    return primals_out, [next(tangents_it) if z else Zero.like(p)
                         for p, z in zip(primals_out, out_nz)]


def _cond_partial_eval(trace, args, *, branches):
    """Index known: each branch splits into a known part (run now) and an unknown part
    (staged). All known branches return the same residual types: the residuals of every
    branch, zeros in the slots of the branches not taken."""
    from ftx.transforms.partial_eval import partial_eval_jaxpr
    index, ops = args[0], args[1:]
    if trace.owns(index):
        return trace.stage(cond_p, list(args), {"branches": branches})
    unknowns = [trace.owns(a) for a in ops]
    n_out = len(branches[0].outvars)
    out_uk = [False] * n_out
    for b in branches:
        out_uk = [a or b for a, b in zip(out_uk, partial_eval_jaxpr(b, unknowns)[2])]
    splits = [partial_eval_jaxpr(b, unknowns, instantiate=out_uk) for b in branches]
    n_known = out_uk.count(False)
    res_avals = [strong(jk.out_avals[n_known:]) for jk, _, _, _ in splits]
    offsets = np.cumsum([0] + [len(r) for r in res_avals]).tolist()
    all_res = [a for r in res_avals for a in r]
    known_ops = [a for a, u in zip(ops, unknowns) if not u]
    unknown_ops = [a for a, u in zip(ops, unknowns) if u]

    def known_branch(i, jk):
        def f(*kops):
            outs = eval_jaxpr(jk, *kops)
            res = [zeros(a) for a in all_res]
            res[offsets[i]:offsets[i + 1]] = outs[n_known:]
            return list(outs[:n_known]) + res
        return wrap(f, [get_aval(a) for a in known_ops])

    def unknown_branch(i, ju):
        def f(*a):
            return eval_jaxpr(ju, *a[offsets[i]:offsets[i + 1]], *a[len(all_res):])
        return wrap(f, all_res + [t.aval for t in unknown_ops])

    known = tuple(known_branch(i, s[0]) for i, s in enumerate(splits))
    with set_current_trace(trace.parent):
        known_outs = cond_p.bind(index, *known_ops, branches=known)
    residuals = known_outs[n_known:]
    unknown_outs = []
    if any(out_uk):
        unknown = tuple(unknown_branch(i, s[1]) for i, s in enumerate(splits))
        unknown_outs = trace.stage(cond_p, [index, *residuals, *unknown_ops], {"branches": unknown})
    known_it, unknown_it = iter(known_outs[:n_known]), iter(unknown_outs)
    return [next(unknown_it) if u else next(known_it) for u in out_uk]


def _cond_transpose(cts, index, *ops, branches):
    from ftx.transforms.transpose import transpose_jaxpr
    if is_undefined(index):
        raise ValueError("transpose of cond: not linear in the branch index")
    linear = [is_undefined(a) for a in ops]
    cts = [instantiate(ct) for ct in cts]
    new = tuple(transpose_jaxpr(b, linear) for b in branches)
    outs = iter(cond_p.bind(index, *[a for a, lin in zip(ops, linear) if not lin], *cts,
                            branches=new))
    return [None] + [next(outs) if lin else None for lin in linear]


def _cond_batch(axis_data, args, dims, *, branches):
    from ftx.lax._batch_rules import moveaxis
    from ftx.lax.elementwise import clamp, select_n
    from ftx.lax.shape import broadcast_in_dim
    index, ops = args[0], list(args[1:])
    idx_dim, op_dims = dims[0], list(dims[1:])
    n_out = len(branches[0].outvars)
    if idx_dim is None:
        out_b = [False] * n_out
        for b in branches:
            out_b = [x or y for x, y in zip(out_b, batch_jaxpr(b, axis_data, op_dims, out_b)[1])]
        new = tuple(batch_jaxpr(b, axis_data, op_dims, out_b)[0] for b in branches)
        return cond_p.bind(index, *ops, branches=new), [0 if b else None for b in out_b]
    # A batched index: every branch runs on the whole batch; each element keeps its own.
    index = clamp(np.int32(0), moveaxis(index, idx_dim, 0), np.int32(len(branches) - 1))
    results = [eval_jaxpr(batch_jaxpr(b, axis_data, op_dims, [True] * n_out)[0], *ops)
               for b in branches]
    outs = []
    for j in range(n_out):
        cases = [r[j] for r in results]
        which = broadcast_in_dim(index, get_aval(cases[0]).shape, (0,))
        outs.append(select_n(which, *cases))
    return outs, [0] * n_out


cond_p = Primitive("cond")
cond_p.def_impl(_cond_impl)
cond_p.def_abstract_eval(_cond_abstract_eval)
def_rule("jvp", cond_p, _cond_jvp)
def_rule("partial_eval", cond_p, _cond_partial_eval)
def_rule("transpose", cond_p, _cond_transpose)
def_rule("batch", cond_p, _cond_batch)


# =========================================================================== user API

def _bind_branches(what, index, funs, names, operands):
    """Trace every branch on the operands' types, join their output types, and bind cond_p."""
    from ftx.lax.elementwise import convert_element_type
    for f, name in zip(funs, names):
        if not callable(f):
            raise TypeError(f"{what}: {name} must be callable, got {type(f).__name__}")
    flat, in_tree = pytree.tree_flatten(operands)
    flat = [as_operand(x) for x in flat]
    in_avals = [get_aval(x) for x in flat]

    def flat_fun_of(f):
        def flat_fun(*leaves):
            out = f(*pytree.tree_unflatten(in_tree, leaves))
            out_leaves, out_tree = pytree.tree_flatten(out)
            return out_leaves, out_tree
        return flat_fun

    traced = [trace_fun(flat_fun_of(f), in_avals, what, f) for f in funs]
    first = traced[0]
    for t, f, name in zip(traced[1:], funs[1:], names[1:]):
        if t.out_tree != first.out_tree:
            raise TypeError(f"{what}: {names[0]} and {name} must return the same pytree "
                            f"structure, but {names[0]} ({fun_name(funs[0])}) returns "
                            f"{first.out_tree} and {name} ({fun_name(f)}) returns {t.out_tree}")
    labels = leaf_labels("output", pytree.tree_unflatten(first.out_tree,
                                                         list(range(first.out_tree.num_leaves))))
    joined = join_branch_types(what, names, funs, [t.out_avals for t in traced], labels)
    n_consts = [len(t.consts) for t in traced]
    all_consts = [c for t in traced for c in t.consts]
    const_avals = [a for t in traced for a in t.jaxpr.in_avals[:len(t.consts)]]
    branches = []
    for i, t in enumerate(traced):
        j = t.jaxpr
        if any(a.dtype != b.dtype for a, b in zip(j.out_avals, joined)):
            def cast(*a, j=j):
                return [o if get_aval(o).dtype == b.dtype else convert_element_type(o, b.dtype)
                        for o, b in zip(eval_jaxpr(j, *a), joined)]
            j = wrap(cast, j.in_avals)
        # Every branch takes the constants of all branches (its own, others ignored).
        before = sum(n_consts[:i])
        invars = ([Var(a) for a in const_avals[:before]] + j.invars[:n_consts[i]]
                  + [Var(a) for a in const_avals[before + n_consts[i]:]] + j.invars[n_consts[i]:])
        branches.append(Jaxpr(j.constvars, invars, j.outvars, j.eqns, j.consts, j.debug_info))
    outs = cond_p.bind(index, *all_consts, *flat, branches=tuple(branches))
    return pytree.tree_unflatten(first.out_tree, outs)


def _scalar_aval(what, x, name):
    aval = get_aval(as_operand(x))
    if aval.shape != ():
        raise TypeError(f"{what}: {name} must be a scalar, got {aval.str_short()}")
    return aval


def cond(pred, true_fun, false_fun, *operands):
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)``, as one ``cond`` equation.

    >>> ftx.lax.cond(x > 0, fnp.sin, fnp.cos, x)

    ``pred`` is a boolean (or integer) scalar, possibly traced; both functions
    must return the same pytree of types. Only the chosen branch runs (under
    vmap with a batched ``pred``, both run and the results are selected).
    """
    from ftx.lax.elementwise import convert_element_type, ne
    aval = _scalar_aval("cond", pred, "pred")
    if aval.dtype.kind not in "biu":
        raise TypeError(f"cond: pred must be a boolean or integer scalar, got {aval.str_short()}")
    pred = as_operand(pred)
    if aval.dtype.kind != "b":
        pred = ne(pred, 0)
    index = convert_element_type(pred, np.dtype(np.int32))
    return _bind_branches("cond", index, (false_fun, true_fun), ("false_fun", "true_fun"),
                          operands)


def switch(index, branches, *operands):
    """``branches[index](*operands)``, with ``index`` clamped into ``[0, len(branches) - 1]``.

    >>> ftx.lax.switch(i, [fnp.sin, fnp.cos, fnp.tanh], x)
    """
    from ftx.lax.elementwise import clamp, convert_element_type
    branches = tuple(branches)
    if not branches:
        raise ValueError("switch: branches must be a non-empty sequence of functions")
    aval = _scalar_aval("switch", index, "index")
    if aval.dtype.kind not in "iu":
        raise TypeError(f"switch: index must be an integer scalar, got {aval.str_short()}")
    index = convert_element_type(as_operand(index), np.dtype(np.int32))
    index = clamp(np.int32(0), index, np.int32(len(branches) - 1))
    names = tuple(f"branches[{i}]" for i in range(len(branches)))
    return _bind_branches("switch", index, branches, names, operands)
