"""Loops: the ``scan`` and ``while`` primitives; ``scan``, ``while_loop``, ``fori_loop``, ``map``.

``scan_p`` operands are ``consts, init, xs``; its param ``jaxpr`` maps
``consts, carry, x`` to ``carry, y`` and runs ``length`` times (backwards with
``reverse``), stacking the ``y``s. ``while_p`` operands are ``cond_consts,
body_consts, init``; ``cond_jaxpr`` maps ``cond_consts, carry`` to a boolean
scalar and ``body_jaxpr`` maps ``body_consts, carry`` to the next carry.
``max_steps`` (None: unbounded) caps the iterations: ftx's bounded loop, which
is reverse-differentiable because reverse mode turns it into a scan.

Eagerly both run their jaxpr with the reference interpreter in a Python loop:
the body is traced once, never per iteration. A backend runs the same loop
(``run_scan``/``run_while``) around its compiled body.
"""
from __future__ import annotations

import functools
import operator

import numpy as np

from ftx.core import pytree
from ftx.core.ad_util import Zero, is_undefined
from ftx.core.avals import ShapedArray, get_aval
from ftx.core.jaxpr import Jaxpr, Literal, eval_jaxpr
from ftx.core.primitive import Primitive, def_rule
from ftx.core.trace import Tracer, set_current_trace
from ftx.lax._ad_rules import instantiate
from ftx.transforms.batching import batch_jaxpr
from ftx.transforms.control_flow._common import (
    as_operand, carry_casts, cast_leaves, check_carry_tree, describe_types, fresh_outputs,
    fun_name, leaf_labels, nonzero_tangent, permute, split, strong, tangent_zeros, trace_fun,
    with_unused_inputs, wrap)
from ftx.transforms.jvp import jvp_jaxpr

__all__ = ["scan", "while_loop", "fori_loop", "map", "scan_p", "while_p", "run_scan", "run_while"]


def _same(a, b) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype


def _all_same(xs, ys) -> bool:
    xs, ys = list(xs), list(ys)
    return len(xs) == len(ys) and all(_same(a, b) for a, b in zip(xs, ys))


def _stacked(aval, length):
    return ShapedArray((length,) + aval.shape, aval.dtype)


def _unstacked(aval):
    return ShapedArray(aval.shape[1:], aval.dtype)


# =========================================================================== scan

def _scan_impl(*args, jaxpr, **params):
    return run_scan(functools.partial(eval_jaxpr, jaxpr), *args, jaxpr=jaxpr, **params)


def run_scan(body, *args, jaxpr, num_consts, num_carry, length, reverse, unroll):
    """The scan loop with ``body(*consts, *carry, *x) -> carry + y`` (the reference
    interpreter eagerly, a compiled body under a backend)."""
    consts, carry, xs = split(args, num_consts, num_carry)
    out_avals = jaxpr.out_avals
    ys = [np.empty((length,) + a.shape, a.dtype) for a in out_avals[num_carry:]]
    # A weak-typed scalar carry (fori_loop's index over Python-int bounds) is passed as a
    # Python scalar, so NumPy promotes it weakly, exactly as the traced graph assumed.
    weak = [j for j, a in enumerate(jaxpr.in_avals[num_consts:num_consts + num_carry])
            if a.weak_type and not a.shape]
    for i in (range(length - 1, -1, -1) if reverse else range(length)):
        outs = body(*consts, *carry, *[x[i] for x in xs])
        carry = outs[:num_carry]
        for j in weak:
            carry[j] = np.asarray(carry[j]).item()
        for y, o in zip(ys, outs[num_carry:]):
            y[i] = o
    return fresh_outputs(carry, out_avals, args) + ys


def _scan_abstract_eval(*avals, jaxpr, num_consts, num_carry, length, reverse, unroll):
    consts, carry, xs = split(avals, num_consts, num_carry)
    body_in = jaxpr.in_avals
    if len(body_in) != len(avals):
        raise TypeError(f"scan: the body takes {len(body_in)} inputs but scan has "
                        f"{len(avals)} operands")
    for x in xs:
        if not x.shape or x.shape[0] != length:
            raise ValueError(f"scan: every xs operand must have leading axis length {length}, "
                             f"got ({describe_types(xs)})")
    given = list(consts) + list(carry) + [_unstacked(x) for x in xs]
    if not _all_same(given, body_in):
        raise TypeError(f"scan: the body takes ({describe_types(body_in)}) but the operands "
                        f"give ({describe_types(given)}) (xs without their leading axis)")
    carry_out = jaxpr.out_avals[:num_carry]
    if not _all_same(carry_out, carry):
        raise TypeError(f"scan: the body returns carry ({describe_types(carry_out)}) for "
                        f"carry ({describe_types(carry)})")
    return strong(carry_out) + [_stacked(y, length) for y in jaxpr.out_avals[num_carry:]]


def _scan_jvp(primals, tangents, *, jaxpr, num_consts, num_carry, length, reverse, unroll):
    nc, nk = num_consts, num_carry
    n_ys = len(jaxpr.outvars) - nk
    nz = [nonzero_tangent(t, p) for t, p in zip(tangents, primals)]
    const_nz, init_nz, xs_nz = split(nz, nc, nk)
    # Fixed point: a carry has a nonzero tangent if its initial value or any iteration gives it one.
    carry_nz = init_nz
    while True:
        body, out_nz = jvp_jaxpr(jaxpr, const_nz + carry_nz + xs_nz, carry_nz + [False] * n_ys)
        if out_nz[:nk] == carry_nz:
            break
        carry_nz = [a or b for a, b in zip(carry_nz, out_nz[:nk])]
    ys_nz = out_nz[nk:]
    n_ct, n_kt, n_xt = sum(const_nz), sum(carry_nz), sum(xs_nz)
    n_in = len(primals)
    # body: (consts, carry, xs, const tangents, carry tangents, xs tangents)
    #   -> (carry, ys, carry tangents, ys tangents); regroup as scan expects.
    c, k, x = list(range(nc)), list(range(nc, nc + nk)), list(range(nc + nk, n_in))
    ct = list(range(n_in, n_in + n_ct))
    kt = list(range(n_in + n_ct, n_in + n_ct + n_kt))
    xt = list(range(n_in + n_ct + n_kt, n_in + n_ct + n_kt + n_xt))
    n_yt = sum(ys_nz)
    ko, yo = list(range(nk)), list(range(nk, nk + n_ys))
    kto = list(range(nk + n_ys, nk + n_ys + n_kt))
    yto = list(range(nk + n_ys + n_kt, nk + n_ys + n_kt + n_yt))
    body = permute(body, c + ct + k + kt + x + xt, ko + kto + yo + yto)
    consts, init, xs = split(primals, nc, nk)
    t_consts, t_init, t_xs = split(tangents, nc, nk)
    operands = (consts + [t for t, z in zip(t_consts, const_nz) if z]
                + init + [_tangent_operand(t, p) for t, p, z in zip(t_init, init, carry_nz) if z]
                + xs + [t for t, z in zip(t_xs, xs_nz) if z])
    outs = scan_p.bind(*operands, jaxpr=body, num_consts=nc + n_ct, num_carry=nk + n_kt,
                       length=length, reverse=reverse, unroll=unroll)
    carry_out, carry_t, ys, ys_t = split(outs, nk, n_kt, n_ys)
    tangents_it = iter(carry_t + ys_t)
    return carry_out + ys, [next(tangents_it) if z else Zero.like(p)
                            for p, z in zip(carry_out + ys, carry_nz + ys_nz)]


def _tangent_operand(t, primal):
    if type(t) is Zero:
        return tangent_zeros(get_aval(primal))
    return t


def _scan_partial_eval(trace, args, *, jaxpr, num_consts, num_carry, length, reverse, unroll):
    """Split a scan into a known scan, run now, and an unknown scan, staged.

    Carries are unknown at the fixed point of "unknown initially or made unknown by an
    iteration". The known scan also emits the residuals the unknown one needs: those
    that vary per iteration as stacked ``ys`` (which the unknown scan reads as ``xs``);
    those computed from loop-invariant constants only are computed once, before the
    loop, and passed to the unknown scan as constants.
    """
    from ftx.transforms.partial_eval import partial_eval_jaxpr
    nc, nk = num_consts, num_carry
    n_ys = len(jaxpr.outvars) - nk
    unknowns = [trace.owns(a) for a in args]
    const_uk, init_uk, xs_uk = split(unknowns, nc, nk)
    carry_uk = init_uk
    while True:
        jk, ju, out_uk, n_res = partial_eval_jaxpr(jaxpr, const_uk + carry_uk + xs_uk,
                                                   instantiate=carry_uk + [False] * n_ys)
        if out_uk[:nk] == carry_uk:
            break
        carry_uk = [a or b for a, b in zip(carry_uk, out_uk[:nk])]
    ys_uk = out_uk[nk:]
    consts, init, xs = split(args, nc, nk)
    k_consts = [a for a, u in zip(consts, const_uk) if not u]
    k_init = [a for a, u in zip(init, carry_uk) if not u]
    k_xs = [a for a, u in zip(xs, xs_uk) if not u]
    n_kc, n_kk, n_kx = len(k_consts), len(k_init), len(k_xs)
    n_kout = out_uk.count(False)
    n_kcarry_out = n_kk
    # Second split of the known body: what depends on the constants only is loop-invariant.
    inv_known, loop, variant, _ = partial_eval_jaxpr(
        jk, [False] * n_kc + [True] * (n_kk + n_kx), instantiate=[True] * n_kout + [False] * n_res)
    res_variant = variant[n_kout:]
    n_inv = res_variant.count(False)
    n_loop_consts = len(inv_known.outvars) - n_inv
    # A per-iteration residual that is just an x is not stacked again: the xs are passed on.
    first_x = n_loop_consts + n_kk
    x_pos = {v: i for i, v in enumerate(loop.invars[first_x:])}
    res_vars = loop.outvars[n_kout:]
    forwarded = [x_pos.get(v) if not isinstance(v, Literal) else None for v in res_vars]
    loop = loop.replace(outvars=loop.outvars[:n_kout]
                        + [v for v, f in zip(res_vars, forwarded) if f is None])
    with set_current_trace(trace.parent):
        before = eval_jaxpr(inv_known, *k_consts)
        inv_res, loop_consts = before[:n_inv], before[n_inv:]
        known_outs = scan_p.bind(*loop_consts, *k_init, *k_xs, jaxpr=loop,
                                 num_consts=len(loop_consts), num_carry=n_kk, length=length,
                                 reverse=reverse, unroll=unroll)
    k_carry_out, k_ys, stacked = split(known_outs, n_kcarry_out, n_kout - n_kcarry_out)
    stacked = iter(stacked)
    var_res = [next(stacked) if f is None else k_xs[f] for f in forwarded]
    # The unknown body takes (residuals, unknown consts, unknown carry, unknown xs): regroup
    # the residuals into loop-invariant ones (constants) and per-iteration ones (xs).
    u_consts = [a for a, u in zip(consts, const_uk) if u]
    u_init = [a for a, u in zip(init, carry_uk) if u]
    u_xs = [a for a, u in zip(xs, xs_uk) if u]
    inv_idx = [i for i, v in enumerate(res_variant) if not v]
    var_idx = [i for i, v in enumerate(res_variant) if v]
    n_uc, n_uk = len(u_consts), len(u_init)
    base = n_res
    order = (inv_idx + list(range(base, base + n_uc)) + list(range(base + n_uc, base + n_uc + n_uk))
             + var_idx + list(range(base + n_uc + n_uk, len(ju.invars))))
    body = permute(ju, order)
    unknown_outs = []
    if any(out_uk):
        unknown_outs = trace.stage(scan_p, [*inv_res, *u_consts, *u_init, *var_res, *u_xs], dict(
            jaxpr=body, num_consts=n_inv + n_uc, num_carry=n_uk, length=length, reverse=reverse,
            unroll=unroll))
    known_it, unknown_it = iter(k_carry_out + k_ys), iter(unknown_outs)
    return [next(unknown_it) if u else next(known_it) for u in carry_uk + ys_uk]


def _scan_transpose(cts, *args, jaxpr, num_consts, num_carry, length, reverse, unroll):
    """A linear scan transposes to a scan the other way over the transposed body.

    Its carry is the carry cotangent plus an accumulator for each linear constant's
    cotangent; its xs are the non-linear xs (residuals) and the ys cotangents.
    Non-linear constants stay constants. Every carry is linear (a carry whose initial
    value is a known zero, instantiated, simply gets no cotangent).
    """
    from ftx.lax.elementwise import add
    from ftx.transforms.transpose import transpose_jaxpr
    nc, nk = num_consts, num_carry
    consts, init, xs = split(args, nc, nk)
    c_lin = [is_undefined(c) for c in consts]
    x_lin = [is_undefined(x) for x in xs]
    body_t = transpose_jaxpr(jaxpr, c_lin + [True] * nk + x_lin)
    c_res = [c for c, lin in zip(consts, c_lin) if not lin]
    x_res = [x for x, lin in zip(xs, x_lin) if not lin]
    n_cres, n_clin, n_xres = len(c_res), c_lin.count(True), len(x_res)
    body_avals = jaxpr.in_avals
    clin_avals = [a.strip_weak_type().to_tangent_aval()
                  for a, lin in zip(body_avals[:nc], c_lin) if lin]
    carry_avals = [a.strip_weak_type().to_tangent_aval() for a in body_avals[nc:nc + nk]]
    xres_avals = [a for a, lin in zip(body_avals[nc + nk:], x_lin) if not lin]
    ys_avals = [a.strip_weak_type().to_tangent_aval() for a in jaxpr.out_avals[nk:]]

    def step(*a):
        cres, acc, ct_carry, xres, ct_ys = split(a, n_cres, n_clin, nk, n_xres)
        d_clin, d_carry, d_xlin = split(eval_jaxpr(body_t, *cres, *xres, *ct_carry, *ct_ys),
                                        n_clin, nk)
        return [add(s, d) for s, d in zip(acc, d_clin)] + d_carry + d_xlin

    body = wrap(step, [get_aval(c) for c in c_res] + clin_avals + carry_avals + xres_avals
                + ys_avals)
    cts = [instantiate(ct) for ct in cts]
    ct_carry, ct_ys = cts[:nk], cts[nk:]
    outs = scan_p.bind(*c_res, *[np.zeros(a.shape, a.dtype) for a in clin_avals], *ct_carry,
                       *x_res, *ct_ys, jaxpr=body, num_consts=n_cres, num_carry=n_clin + nk,
                       length=length, reverse=not reverse, unroll=unroll)
    ct_consts, ct_init, ct_xs = split(outs, n_clin, nk)
    ct_consts, ct_xs = iter(ct_consts), iter(ct_xs)
    return ([next(ct_consts) if lin else None for lin in c_lin]
            + [ct if is_undefined(x) else None for ct, x in zip(ct_init, init)]
            + [next(ct_xs) if lin else None for lin in x_lin])


def _scan_batch(axis_data, args, dims, *, jaxpr, num_consts, num_carry, length, reverse, unroll):
    from ftx.lax._batch_rules import bdim_to_front, moveaxis
    nc, nk = num_consts, num_carry
    n_ys = len(jaxpr.outvars) - nk
    const_d, init_d, xs_d = split(dims, nc, nk)
    carry_b = [d is not None for d in init_d]
    # Each x's batch axis goes right after the scanned axis, so every slice is batched at 0.
    x_dims = [None if d is None else 0 for d in xs_d]
    while True:
        body, out_b = batch_jaxpr(jaxpr, axis_data, const_d + [0 if b else None for b in carry_b]
                                  + x_dims, carry_b + [False] * n_ys)
        if out_b[:nk] == carry_b:
            break
        carry_b = [a or b for a, b in zip(carry_b, out_b[:nk])]
    consts, init, xs = split(args, nc, nk)
    init = [bdim_to_front(x, d, axis_data.size) if b else x
            for x, d, b in zip(init, init_d, carry_b)]
    xs = [x if d is None else moveaxis(x, d, 1) for x, d in zip(xs, xs_d)]
    outs = scan_p.bind(*consts, *init, *xs, jaxpr=body, num_consts=nc, num_carry=nk,
                       length=length, reverse=reverse, unroll=unroll)
    return outs, [0 if b else None for b in carry_b] + [1 if b else None for b in out_b[nk:]]


scan_p = Primitive("scan")
scan_p.def_impl(_scan_impl)
scan_p.def_abstract_eval(_scan_abstract_eval)
def_rule("jvp", scan_p, _scan_jvp)
def_rule("partial_eval", scan_p, _scan_partial_eval)
def_rule("transpose", scan_p, _scan_transpose)
def_rule("batch", scan_p, _scan_batch)


# =========================================================================== while

def _while_impl(*args, cond_jaxpr, body_jaxpr, **params):
    return run_while(functools.partial(eval_jaxpr, cond_jaxpr),
                     functools.partial(eval_jaxpr, body_jaxpr), *args,
                     cond_jaxpr=cond_jaxpr, body_jaxpr=body_jaxpr, **params)


def run_while(cond, body, *args, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts, max_steps):
    """The while loop with ``cond(*cond_consts, *carry) -> [pred]`` and
    ``body(*body_consts, *carry) -> carry``."""
    cond_consts, body_consts, carry = split(args, cond_nconsts, body_nconsts)
    steps = 0
    while (max_steps is None or steps < max_steps) and cond(*cond_consts, *carry)[0]:
        carry = body(*body_consts, *carry)
        steps += 1
    return fresh_outputs(carry, body_jaxpr.out_avals, args)


def _while_abstract_eval(*avals, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts, max_steps):
    cond_consts, body_consts, carry = split(avals, cond_nconsts, body_nconsts)
    if not _all_same(list(cond_consts) + carry, cond_jaxpr.in_avals):
        raise TypeError(f"while_loop: cond takes ({describe_types(cond_jaxpr.in_avals)}) but "
                        f"gets ({describe_types(list(cond_consts) + carry)})")
    if not _all_same(list(body_consts) + carry, body_jaxpr.in_avals):
        raise TypeError(f"while_loop: body takes ({describe_types(body_jaxpr.in_avals)}) but "
                        f"gets ({describe_types(list(body_consts) + carry)})")
    pred = cond_jaxpr.out_avals
    if len(pred) != 1 or pred[0].shape != () or pred[0].dtype.kind != "b":
        raise TypeError(f"while_loop: cond must return a boolean scalar, got "
                        f"({describe_types(pred)})")
    if not _all_same(body_jaxpr.out_avals, carry) or len(body_jaxpr.outvars) != len(carry):
        raise TypeError(f"while_loop: body returns ({describe_types(body_jaxpr.out_avals)}) "
                        f"for carry ({describe_types(carry)})")
    return strong(carry)


def _while_jvp(primals, tangents, *, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts,
               max_steps):
    ncc, nbc = cond_nconsts, body_nconsts
    nz = [nonzero_tangent(t, p) for t, p in zip(tangents, primals)]
    _, bconst_nz, init_nz = split(nz, ncc, nbc)
    nk = len(init_nz)
    carry_nz = init_nz
    while True:
        body, out_nz = jvp_jaxpr(body_jaxpr, bconst_nz + carry_nz, carry_nz)
        if out_nz == carry_nz:
            break
        carry_nz = [a or b for a, b in zip(carry_nz, out_nz)]
    n_bt, n_kt = sum(bconst_nz), sum(carry_nz)
    n_b = nbc + nk
    b, k = list(range(nbc)), list(range(nbc, n_b))
    bt, kt = list(range(n_b, n_b + n_bt)), list(range(n_b + n_bt, n_b + n_bt + n_kt))
    body = permute(body, b + bt + k + kt)
    tangent_avals = [a.strip_weak_type().to_tangent_aval()
                     for a, z in zip(body_jaxpr.out_avals, carry_nz) if z]
    cond = with_unused_inputs(cond_jaxpr, tangent_avals)
    cconsts, bconsts, init = split(primals, ncc, nbc)
    _, t_bconsts, t_init = split(tangents, ncc, nbc)
    outs = while_p.bind(*cconsts, *bconsts, *[t for t, z in zip(t_bconsts, bconst_nz) if z],
                        *init, *[_tangent_operand(t, p) for t, p, z in zip(t_init, init, carry_nz)
                                 if z],
                        cond_jaxpr=cond, body_jaxpr=body, cond_nconsts=ncc,
                        body_nconsts=nbc + n_bt, max_steps=max_steps)
    carry, carry_t = outs[:nk], iter(outs[nk:])
    return carry, [next(carry_t) if z else Zero.like(p) for p, z in zip(carry, carry_nz)]


def _while_partial_eval(trace, args, *, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts,
                        max_steps):
    """A bounded loop becomes a scan (whose rule splits it into known and unknown scans).

    An unbounded loop cannot save per-iteration residuals (the trip count is unknown), so,
    as in JAX, the known carries are computed by a known loop and the whole loop is staged
    again for the unknown ones; such a loop can be linearized but not transposed.
    """
    from ftx.transforms.partial_eval import partial_eval_jaxpr
    params = dict(cond_jaxpr=cond_jaxpr, body_jaxpr=body_jaxpr, cond_nconsts=cond_nconsts,
                  body_nconsts=body_nconsts, max_steps=max_steps)
    if max_steps is not None:
        with set_current_trace(trace):
            return _bounded_while_as_scan(list(args), **params)
    ncc, nbc = cond_nconsts, body_nconsts
    unknowns = [trace.owns(a) for a in args]
    cconst_uk, bconst_uk, init_uk = split(unknowns, ncc, nbc)
    carry_uk = init_uk
    while True:
        jk, _, out_uk, _ = partial_eval_jaxpr(body_jaxpr, bconst_uk + carry_uk,
                                              instantiate=carry_uk)
        if out_uk == carry_uk:
            break
        carry_uk = [a or b for a, b in zip(carry_uk, out_uk)]
    ck, _, pred_uk, _ = partial_eval_jaxpr(cond_jaxpr, cconst_uk + carry_uk)
    if pred_uk[0] or all(carry_uk):
        return trace.stage(while_p, list(args), params)
    cconsts, bconsts, init = split(args, ncc, nbc)
    n_known = carry_uk.count(False)
    # The known parts without their residual outputs: the cond's predicate, the body's carry.
    cond_known = ck.replace(outvars=ck.outvars[:1])
    body_known = jk.replace(outvars=jk.outvars[:n_known])

    def known(xs, uk):
        return [a for a, u in zip(xs, uk) if not u]

    kc, kb, ki = known(cconsts, cconst_uk), known(bconsts, bconst_uk), known(init, carry_uk)
    with set_current_trace(trace.parent):
        known_out = while_p.bind(*kc, *kb, *ki, cond_jaxpr=cond_known, body_jaxpr=body_known,
                                 cond_nconsts=len(kc), body_nconsts=len(kb), max_steps=max_steps)
    staged = trace.stage(while_p, list(args), params)
    known_it = iter(known_out)
    return [s if u else next(known_it) for s, u in zip(staged, carry_uk)]


def _bounded_while_as_scan(args, *, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts,
                           max_steps):
    """``max_steps`` iterations of: if cond(carry) then carry = body(carry) (a cond)."""
    from ftx.lax.elementwise import convert_element_type
    from ftx.transforms.control_flow.cond import cond_p
    ncc, nbc = cond_nconsts, body_nconsts
    cconsts, bconsts, init = split(args, ncc, nbc)
    carry_avals = strong(body_jaxpr.out_avals)
    keep = Jaxpr([], body_jaxpr.invars, body_jaxpr.invars[nbc:], [])

    def step(*a):
        cc, bc, carry = split(a, ncc, nbc)
        (pred,) = eval_jaxpr(cond_jaxpr, *cc, *carry)
        index = convert_element_type(pred, np.dtype(np.int32))
        return cond_p.bind(index, *bc, *carry, branches=(keep, body_jaxpr))

    body = wrap(step, cond_jaxpr.in_avals[:ncc] + body_jaxpr.in_avals[:nbc] + carry_avals)
    return scan_p.bind(*cconsts, *bconsts, *init, jaxpr=body, num_consts=ncc + nbc,
                       num_carry=len(init), length=max_steps, reverse=False, unroll=1)


def _while_transpose(cts, *args, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts,
                     max_steps):
    raise ValueError(
        "Reverse-mode differentiation (grad, vjp, jacrev) does not work through an unbounded "
        "ftx.lax.while_loop (or a fori_loop with traced bounds): its trip count is unknown "
        "until it runs, so the values the backward pass needs cannot be saved. Pass "
        "max_steps=N to while_loop to make it a bounded loop (at most N iterations) that is "
        "reverse-differentiable, use fori_loop with static (Python int) bounds or lax.scan, "
        "or use forward mode (jvp, jacfwd).")


def _while_batch(axis_data, args, dims, *, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts,
                 max_steps):
    from ftx.lax._batch_rules import bdim_to_front
    from ftx.lax.elementwise import select_n
    from ftx.lax.reductions import reduce_or
    from ftx.lax.shape import broadcast_in_dim
    ncc, nbc = cond_nconsts, body_nconsts
    cconst_d, bconst_d, init_d = split(dims, ncc, nbc)
    nk = len(init_d)
    carry_b = [d is not None for d in init_d]

    def fixed_point(carry_b):
        while True:
            body, out_b = batch_jaxpr(body_jaxpr, axis_data,
                                      bconst_d + [0 if b else None for b in carry_b], carry_b)
            if out_b == carry_b:
                return body, carry_b
            carry_b = [a or b for a, b in zip(carry_b, out_b)]

    body, carry_b = fixed_point(carry_b)
    cond, (pred_b,) = batch_jaxpr(cond_jaxpr, axis_data,
                                  cconst_d + [0 if b else None for b in carry_b], [False])
    if pred_b and not all(carry_b):
        # Lanes stop at different iterations: every carry must be per-lane.
        body, carry_b = fixed_point([True] * nk)
        cond, _ = batch_jaxpr(cond_jaxpr, axis_data, cconst_d + [0] * nk, [False])
    cconsts, bconsts, init = split(args, ncc, nbc)
    init = [bdim_to_front(x, d, axis_data.size) if b else x
            for x, d, b in zip(init, init_d, carry_b)]
    params = dict(cond_nconsts=ncc, max_steps=max_steps)
    if not pred_b:
        outs = while_p.bind(*cconsts, *bconsts, *init, cond_jaxpr=cond, body_jaxpr=body,
                            body_nconsts=nbc, **params)
        return outs, [0 if b else None for b in carry_b]
    # A batched predicate: run while any lane is still going; finished lanes keep their carry.
    carry_avals = [get_aval(x).strip_weak_type() for x in init]
    cc_avals = cond.in_avals[:ncc]

    def any_cond(*a):
        return [reduce_or(eval_jaxpr(cond, *a)[0], (0,))]

    def masked_body(*a):
        cc, bc, carry = split(a, ncc, nbc)
        (pred,) = eval_jaxpr(cond, *cc, *carry)
        new = eval_jaxpr(body, *bc, *carry)
        return [select_n(broadcast_in_dim(pred, get_aval(n).shape, (0,)), c, n)
                for c, n in zip(carry, new)]

    new_cond = wrap(any_cond, cc_avals + carry_avals)
    new_body = wrap(masked_body, cc_avals + body.in_avals[:nbc] + carry_avals)
    outs = while_p.bind(*cconsts, *cconsts, *bconsts, *init, cond_jaxpr=new_cond,
                        body_jaxpr=new_body, body_nconsts=ncc + nbc, **params)
    return outs, [0] * nk


while_p = Primitive("while")
while_p.def_impl(_while_impl)
while_p.def_abstract_eval(_while_abstract_eval)
def_rule("jvp", while_p, _while_jvp)
def_rule("partial_eval", while_p, _while_partial_eval)
def_rule("transpose", while_p, _while_transpose)
def_rule("batch", while_p, _while_batch)


# =========================================================================== user API

def _trace_loop_body(what, fun, flat_fun, carry, extra_avals, labels, role="carry",
                     keep_weak=()):
    """Trace a loop body on the carry's types; a weak-typed initial carry (a Python scalar)
    takes the type the body returns, then the body is traced again with strong types so the
    graph computes exactly what the eager interpreter will.

    ``flat_fun(*carry_leaves, *extra) -> (out_leaves, out_tree)``.
    Returns (Traced, carry leaves, possibly cast). Leaves listed in ``keep_weak`` keep their
    weak type (the scan interpreter passes them as Python scalars).
    """
    avals = [get_aval(x) for x in carry]
    traced = trace_fun(flat_fun, avals + list(extra_avals), what, fun)
    n = len(carry)
    casts = carry_casts(what, fun, labels, avals, traced.out_avals[:n], role)
    if any(c is not None for c in casts):
        carry = cast_leaves(carry, casts)
        avals = [get_aval(x) for x in carry]
    final = [a if i in keep_weak else a.strip_weak_type() for i, a in enumerate(avals)]
    if final != avals or any(c is not None for c in casts):
        traced = trace_fun(flat_fun, final + list(extra_avals), what, fun)
        carry_casts(what, fun, labels, final, traced.out_avals[:n], role)
    return traced, carry


def _check_unroll(unroll):
    if isinstance(unroll, bool):
        return
    if not isinstance(unroll, (int, np.integer)) or unroll < 1:
        raise ValueError(f"scan: unroll must be a positive int or a bool, got {unroll!r}")


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """Loop ``carry, y = f(carry, x)`` over the leading axis of ``xs``; returns ``(carry, ys)``.

    >>> ftx.lax.scan(lambda c, x: (c + x, c * x), 0.0, np.arange(4.0))   # (6.0, [0, 0, 2, 9])

    ``init``, ``xs`` and the outputs are pytrees. ``length`` is needed when ``xs``
    is None. ``reverse=True`` runs from the last element to the first (ys keep
    their positions). ``unroll`` is accepted for JAX compatibility; it has no
    effect on the reference interpreter. The carry must keep its type.
    """
    if not callable(f):
        raise TypeError(f"scan: f must be callable, got {type(f).__name__}")
    _check_unroll(unroll)
    init_flat, init_tree = pytree.tree_flatten(init)
    init_flat = [as_operand(x) for x in init_flat]
    xs_flat, xs_tree = pytree.tree_flatten(xs)
    xs_flat = [as_operand(x) for x in xs_flat]
    x_avals = [get_aval(x) for x in xs_flat]
    x_labels = leaf_labels("xs", xs)
    for label, a in zip(x_labels, x_avals):
        if not a.shape:
            raise ValueError(f"scan: every leaf of xs needs a leading axis to scan over, but "
                             f"{label} is a scalar ({a.str_short()})")
    lengths = {a.shape[0] for a in x_avals}
    if length is not None:
        length = operator.index(length)
        lengths.add(length)
    if len(lengths) > 1:
        detail = ", ".join(f"{label}: {a.shape[0]}" for label, a in zip(x_labels, x_avals))
        extra = f", length={length}" if length is not None else ""
        raise ValueError(f"scan: all xs leaves must have the same leading axis length (and equal "
                         f"length if it is given), got {detail}{extra}")
    if not lengths:
        raise ValueError("scan: with no xs, scan needs length=...")
    length = lengths.pop()
    n = len(init_flat)

    def flat_body(*leaves):
        carry = pytree.tree_unflatten(init_tree, leaves[:n])
        x = pytree.tree_unflatten(xs_tree, leaves[n:])
        out = f(carry, x)
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise TypeError(f"scan: the body function {fun_name(f)} must return a pair "
                            f"(carry, y), got {type(out).__name__}")
        carry_out, y = out
        carry_leaves, carry_tree = pytree.tree_flatten(carry_out)
        check_carry_tree("scan", f, init_tree, carry_tree)
        y_leaves, y_tree = pytree.tree_flatten(y)
        return list(carry_leaves) + list(y_leaves), y_tree

    traced, init_flat = _trace_loop_body("scan", f, flat_body, init_flat,
                                         [ShapedArray(a.shape[1:], a.dtype) for a in x_avals],
                                         leaf_labels("carry", init))
    outs = scan_p.bind(*traced.consts, *init_flat, *xs_flat, jaxpr=traced.jaxpr,
                       num_consts=len(traced.consts), num_carry=n, length=length,
                       reverse=bool(reverse), unroll=unroll)
    return (pytree.tree_unflatten(init_tree, outs[:n]),
            pytree.tree_unflatten(traced.out_tree, outs[n:]))


def while_loop(cond_fun, body_fun, init_val, *, max_steps=None):
    """``while cond_fun(val): val = body_fun(val)``, as one ``while`` equation; returns ``val``.

    >>> ftx.lax.while_loop(lambda x: x < 10.0, lambda x: x * 2.0, 1.0)     # 16.0

    ``cond_fun`` returns a boolean scalar; ``body_fun`` returns a value of the
    same pytree and types as ``init_val``. Forward mode and vmap work through it
    (a batched predicate runs until every element is done). Reverse mode needs a
    bound: with ``max_steps=N`` (an ftx extension) the loop stops after at most N
    iterations and grad/vjp work through it.
    """
    for f, name in ((cond_fun, "cond_fun"), (body_fun, "body_fun")):
        if not callable(f):
            raise TypeError(f"while_loop: {name} must be callable, got {type(f).__name__}")
    if max_steps is not None:
        max_steps = operator.index(max_steps)
        if max_steps < 0:
            raise ValueError(f"while_loop: max_steps must be >= 0, got {max_steps}")
    init_flat, init_tree = pytree.tree_flatten(init_val)
    init_flat = [as_operand(x) for x in init_flat]

    def flat_body(*leaves):
        out = body_fun(pytree.tree_unflatten(init_tree, leaves))
        out_leaves, out_tree = pytree.tree_flatten(out)
        check_carry_tree("while_loop", body_fun, init_tree, out_tree)
        return out_leaves, out_tree

    def flat_cond(*leaves):
        out = cond_fun(pytree.tree_unflatten(init_tree, leaves))
        out_leaves, out_tree = pytree.tree_flatten(out)
        return out_leaves, out_tree

    body, init_flat = _trace_loop_body("while_loop", body_fun, flat_body, init_flat, [],
                                       leaf_labels("init_val", init_val))
    cond = trace_fun(flat_cond, strong([get_aval(x) for x in init_flat]), "while_loop", cond_fun)
    pred = cond.out_avals
    if len(pred) != 1 or pred[0].shape != () or pred[0].dtype.kind != "b":
        raise TypeError(f"while_loop: cond_fun {fun_name(cond_fun)} must return a boolean "
                        f"scalar, but it returns ({describe_types(pred)})")
    outs = while_p.bind(*cond.consts, *body.consts, *init_flat, cond_jaxpr=cond.jaxpr,
                        body_jaxpr=body.jaxpr, cond_nconsts=len(cond.consts),
                        body_nconsts=len(body.consts), max_steps=max_steps)
    return pytree.tree_unflatten(init_tree, outs)


def _concrete_int(x):
    """``x`` as a Python int if it is concrete (not traced), else None."""
    if isinstance(x, Tracer):
        return None
    return int(np.asarray(x))


def fori_loop(lower, upper, body_fun, init_val, *, unroll=None):
    """``for i in range(lower, upper): val = body_fun(i, val)``; returns ``val``.

    >>> ftx.lax.fori_loop(0, 5, lambda i, x: x + i, 0)     # 10

    With concrete bounds (Python or NumPy ints, or any value no enclosing
    transform traces) the loop is a ``scan`` of ``upper - lower`` steps, so every
    transform, reverse mode included, works through it. Traced bounds make it a
    ``while_loop`` (forward mode and vmap only). With Python-int bounds the index
    ``i`` is weakly typed, so ``x * i`` keeps ``x``'s dtype.
    """
    from ftx.core.dtypes import result_type
    from ftx.lax.elementwise import add
    if not callable(body_fun):
        raise TypeError(f"fori_loop: body_fun must be callable, got {type(body_fun).__name__}")
    lower, upper = as_operand(lower), as_operand(upper)
    la, ua = get_aval(lower), get_aval(upper)
    for name, a in (("lower", la), ("upper", ua)):
        if a.shape != () or a.dtype.kind not in "iu":
            raise TypeError(f"fori_loop: {name} must be an integer scalar, got {a.str_short()}")
    dtype = result_type((la.dtype, la.weak_type), (ua.dtype, ua.weak_type))[0]
    lo, hi = _concrete_int(lower), _concrete_int(upper)
    init_flat, init_tree = pytree.tree_flatten(init_val)
    init_flat = [as_operand(x) for x in init_flat]
    labels = ["the loop index"] + leaf_labels("init_val", init_val)
    n = len(init_flat)

    def flat_body(*leaves):
        i, val = leaves[0], pytree.tree_unflatten(init_tree, leaves[1:n + 1])
        out_leaves, out_tree = pytree.tree_flatten(body_fun(i, val))
        check_carry_tree("fori_loop", body_fun, init_tree, out_tree)
        return [add(i, 1)] + list(out_leaves), None

    if lo is not None and hi is not None:
        if unroll is not None:
            _check_unroll(unroll)
        # Python-int bounds give a weak index, as in JAX: ``x * i`` keeps x's dtype.
        weak = type(lower) is int and type(upper) is int
        i0 = lo if weak else np.asarray(lo, dtype)
        traced, carry = _trace_loop_body("fori_loop", body_fun, flat_body, [i0] + init_flat, [],
                                         labels, keep_weak=(0,) if weak else ())
        outs = scan_p.bind(*traced.consts, *carry, jaxpr=traced.jaxpr,
                           num_consts=len(traced.consts), num_carry=n + 1,
                           length=max(hi - lo, 0), reverse=False,
                           unroll=1 if unroll is None else unroll)
        return pytree.tree_unflatten(init_tree, outs[1:])
    from ftx.lax.elementwise import convert_element_type, lt
    lower = convert_element_type(lower, dtype)
    upper = convert_element_type(upper, dtype)
    body, carry = _trace_loop_body("fori_loop", body_fun, flat_body, [lower] + init_flat, [],
                                   labels)

    def flat_cond(i, *rest):
        return [lt(i, upper)], None

    cond = trace_fun(flat_cond, strong([get_aval(x) for x in carry]), "fori_loop", body_fun)
    outs = while_p.bind(*cond.consts, *body.consts, *carry, cond_jaxpr=cond.jaxpr,
                        body_jaxpr=body.jaxpr, cond_nconsts=len(cond.consts),
                        body_nconsts=len(body.consts), max_steps=None)
    return pytree.tree_unflatten(init_tree, outs[1:])


def map(f, xs, batch_size=None):  # noqa: A001 - the lax name
    """``stack([f(x) for x in xs])`` over the leading axis of (a pytree) ``xs``, as a scan.

    >>> ftx.lax.map(lambda row: row @ row, np.ones((3, 4)))     # [4., 4., 4.]

    With ``batch_size=b``, ``f`` is vmapped over chunks of ``b`` elements (the
    remainder as one smaller chunk), trading memory for fewer iterations.
    """
    if batch_size is None:
        return scan(lambda _, x: ((), f(x)), (), xs)[1]
    from ftx.lax.shape import concatenate, reshape
    from ftx.lax.slicing import slice_in_dim
    from ftx.transforms.batching import vmap
    batch_size = operator.index(batch_size)
    if batch_size < 1:
        raise ValueError(f"map: batch_size must be a positive int, got {batch_size}")
    leaves = [as_operand(x) for x in pytree.tree_leaves(xs)]
    if not leaves:
        raise ValueError("map: xs has no arrays to map over")
    n = get_aval(leaves[0]).shape[0] if get_aval(leaves[0]).shape else 0
    n_batches, rest = divmod(n, batch_size)
    parts = []
    if n_batches:
        main = pytree.tree_map(lambda x: reshape(
            slice_in_dim(as_operand(x), 0, n_batches * batch_size),
            (n_batches, batch_size) + tuple(get_aval(as_operand(x)).shape[1:])), xs)
        ys = scan(lambda _, x: ((), vmap(f)(x)), (), main)[1]
        parts.append(pytree.tree_map(lambda y: reshape(
            y, (n_batches * batch_size,) + tuple(get_aval(y).shape[2:])), ys))
    if rest:
        tail = pytree.tree_map(lambda x: slice_in_dim(as_operand(x), n_batches * batch_size, n),
                               xs)
        parts.append(vmap(f)(tail))
    if len(parts) == 1:
        return parts[0]
    return pytree.tree_map(lambda a, b: concatenate([a, b], 0), parts[0], parts[1])
