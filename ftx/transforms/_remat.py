"""Graph surgery for rematerialization, shared by ``checkpoint`` and the jit partitioner.

Reverse mode splits a function into a *known* jaxpr (the forward: primal outputs
plus the residuals the backward reads) and an *unknown* one (the linear part,
reading the residuals). Rematerialization saves only some values of the known
jaxpr and recomputes the residuals from them at the start of the unknown one:

- ``split_for_remat(known, num_outs, saved)``: the forward (outputs + saved values)
  and the recomputation (saved values -> residuals);
- ``prepend_recompute(recompute, unknown, num_res)``: the unknown jaxpr with the
  recomputation in front;
- ``schedule_late(jaxpr, anchors)``: a transposed jaxpr computes its non-linear
  (recomputed) values first; this moves each to just before its first use, so
  recomputed values are not all alive at once;
- ``memo_derived``: derived jaxprs cached per source jaxpr, so a second call of
  ``grad(jit(f))`` builds (and compiles) nothing new.
"""
from __future__ import annotations

import weakref

from ftx.core.jaxpr import Jaxpr, Literal, Var

# source jaxpr -> {key: derived value}; the entry dies with the source jaxpr.
_derived: "weakref.WeakKeyDictionary[Jaxpr, dict]" = weakref.WeakKeyDictionary()


def memo_derived(jaxpr: Jaxpr, key, build):
    """``build()`` once per ``(jaxpr, key)``: jaxprs are compared by identity, so the same
    derived jaxpr object (and its compiled executable) is reused on every later call.

    Only for jaxprs without tracer constants (closure-converted ones have none)."""
    per_jaxpr = _derived.get(jaxpr)
    if per_jaxpr is None:
        per_jaxpr = _derived[jaxpr] = {}
    hit = per_jaxpr.get(key)
    if hit is None:
        hit = per_jaxpr[key] = build()
    return hit


def _effectful(eqn) -> bool:
    return getattr(eqn.primitive, "effectful", False)


def live_eqns(eqns, outvars) -> list:
    """The equations of ``eqns`` that ``outvars`` depend on (plus effectful ones), in order."""
    live = {v for v in outvars if isinstance(v, Var)}
    kept = []
    for eqn in reversed(eqns):
        if _effectful(eqn) or any(v in live for v in eqn.outvars):
            kept.append(eqn)
            live.update(v for v in eqn.invars if isinstance(v, Var))
    kept.reverse()
    return kept


class RematSplit:
    """``forward``: the known jaxpr's inputs -> its first ``num_outs`` outputs followed by the
    saved values that are not inputs. ``recompute``: every saved value (``saved``: inputs
    first, then in equation order) -> the residuals. ``recomputed``: the equations copied
    into ``recompute`` (the originals, for logs)."""

    __slots__ = ("forward", "recompute", "saved", "recomputed")

    def __init__(self, forward, recompute, saved, recomputed):
        self.forward, self.recompute, self.saved, self.recomputed = \
            forward, recompute, saved, recomputed


def split_for_remat(jaxpr: Jaxpr, num_outs: int, is_saved) -> RematSplit:
    """Save the values ``is_saved(var)`` allows (inputs always), recompute the residuals
    ``jaxpr.outvars[num_outs:]`` from them.

    Walking back from each residual, a value that may be saved is saved; any other value
    is recomputed by copying its equation, whose inputs are visited in turn. ``jaxpr``
    has no constants (close it with ``consts_as_inputs`` first).
    """
    assert not jaxpr.constvars, "split_for_remat wants a closure-converted jaxpr"
    producer = {v: e for e in jaxpr.eqns for v in e.outvars}
    inputs = set(jaxpr.invars)
    saved, copied, seen = set(), set(), set()
    stack = [v for v in jaxpr.outvars[num_outs:] if isinstance(v, Var)]
    while stack:
        v = stack.pop()
        if v in seen:
            continue
        seen.add(v)
        if v in inputs or is_saved(v):
            saved.add(v)
            continue
        eqn = producer[v]
        if id(eqn) not in copied:
            copied.add(id(eqn))
            stack.extend(u for u in eqn.invars if isinstance(u, Var))
    order = {v: i for i, v in enumerate(jaxpr.invars)}
    for e in jaxpr.eqns:
        for v in e.outvars:
            order.setdefault(v, len(order))
    saved_list = sorted(saved, key=order.__getitem__)
    recomputed = [e for e in jaxpr.eqns if id(e) in copied]

    # The recomputation gets fresh variables: it may end up in the same program as the
    # forward (jit of grad), and no pass should take it for the forward's values.
    env = {v: Var(v.aval) for v in saved_list}

    def read(a):
        return a if isinstance(a, Literal) else env[a]

    eqns = []
    for e in recomputed:
        outs = [Var(v.aval) for v in e.outvars]
        env.update(zip(e.outvars, outs))
        eqns.append(e.replace(invars=[read(a) for a in e.invars], outvars=outs))
    recompute = Jaxpr([], [env[v] for v in saved_list], [read(v) for v in jaxpr.outvars[num_outs:]],
                      eqns)
    fwd_outs = list(jaxpr.outvars[:num_outs]) + [v for v in saved_list if v not in inputs]
    forward = jaxpr.replace(outvars=fwd_outs, eqns=live_eqns(jaxpr.eqns, fwd_outs))
    return RematSplit(forward, recompute, saved_list, recomputed)


class ForwardBackward:
    """A jaxpr split for reverse mode with rematerialization, for given unknown inputs.

    ``forward`` takes ``consts`` followed by the known inputs and returns the known outputs
    followed by the saved values that are not inputs; ``saved_from[k]`` is ``('arg', i)``
    (forward input i, passed through) or ``('out', j)`` (forward output j) for each saved
    value. ``backward`` takes the saved values then the unknown inputs and returns the
    unknown outputs, recomputing the residuals that were not saved. ``out_unknowns``: which
    outputs of the original jaxpr are unknown. ``saved``/``recomputed``: the saved variables
    and the recomputed equations of the known jaxpr (for logs); a partitioner adds ``log``
    and ``memory``.
    """

    __slots__ = ("forward", "consts", "saved_from", "backward", "out_unknowns", "num_known_out",
                 "saved", "recomputed", "log", "memory")

    def __init__(self, forward, consts, saved_from, backward, out_unknowns, num_known_out, saved,
                 recomputed):
        self.forward, self.consts, self.saved_from = forward, consts, saved_from
        self.backward, self.out_unknowns, self.num_known_out = backward, out_unknowns, num_known_out
        self.saved, self.recomputed = saved, recomputed
        self.log, self.memory = "", None


class KnownUnknown:
    """``jaxpr`` partially evaluated for ``unknowns``, ready to be split with any choice of
    saved values: ``known`` (closure-converted: ``consts`` then the known inputs -> the
    ``num_known_out`` known outputs, then the residuals) and ``unknown`` (residuals, then the
    unknown inputs -> the unknown outputs)."""

    def __init__(self, jaxpr: Jaxpr, unknowns):
        from ftx.transforms.partial_eval import partial_eval_jaxpr
        known, self.unknown, self.out_unknowns, self.num_res = partial_eval_jaxpr(
            jaxpr, list(unknowns))
        self.consts, self.known = list(known.consts), known.consts_as_inputs()
        self.num_known_out = len(self.known.outvars) - self.num_res

    def split(self, is_saved) -> ForwardBackward:
        """Save what ``is_saved(var)`` allows (inputs always); recompute the other residuals."""
        split = split_for_remat(self.known, self.num_known_out, is_saved)
        arg_index = {v: i for i, v in enumerate(self.known.invars)}
        out_index = {v: i for i, v in enumerate(split.forward.outvars) if i >= self.num_known_out}
        saved_from = [("arg", arg_index[v]) if v in arg_index else ("out", out_index[v])
                      for v in split.saved]
        backward = prepend_recompute(split.recompute, self.unknown, self.num_res)
        return ForwardBackward(split.forward, self.consts, saved_from, backward,
                               self.out_unknowns, self.num_known_out, split.saved,
                               split.recomputed)


def prepend_recompute(recompute: Jaxpr, unknown: Jaxpr, num_res: int) -> Jaxpr:
    """``unknown`` (residuals, then other inputs) reading its residuals from ``recompute``
    instead: the result takes ``recompute``'s inputs followed by ``unknown``'s other inputs."""
    env = dict(zip(unknown.invars[:num_res], recompute.outvars))

    def read(a):
        return env.get(a, a) if isinstance(a, Var) else a

    eqns = list(recompute.eqns) + [e.replace(invars=[read(a) for a in e.invars])
                                   for e in unknown.eqns]
    return Jaxpr(unknown.constvars, list(recompute.invars) + list(unknown.invars[num_res:]),
                 [read(v) for v in unknown.outvars], eqns, unknown.consts)


def schedule_late(jaxpr: Jaxpr, anchors) -> Jaxpr:
    """``jaxpr`` with every equation that does not depend on ``anchors`` (input Vars: the
    cotangents of a transposed jaxpr) moved to just before its first use.

    Transposition evaluates all non-linear equations (the recomputed forward values)
    before the backward pass proper; in that order every recomputed value is alive at
    once, which undoes the memory saving. Equations keep their relative order.
    """
    linear = set(anchors)
    is_anchor = []
    for e in jaxpr.eqns:
        anchored = _effectful(e) or any(isinstance(a, Var) and a in linear for a in e.invars)
        if anchored:
            linear.update(e.outvars)
        is_anchor.append(anchored)
    producer = {v: i for i, e in enumerate(jaxpr.eqns) for v in e.outvars}
    emitted = [False] * len(jaxpr.eqns)
    order: list = []

    def emit(i):
        # Iterative DFS: producers first (in their original order), then equation i.
        stack = [(i, False)]
        while stack:
            j, ready = stack.pop()
            if emitted[j]:
                continue
            if ready:
                emitted[j] = True
                order.append(jaxpr.eqns[j])
                continue
            stack.append((j, True))
            deps = sorted({producer[a] for a in jaxpr.eqns[j].invars
                           if isinstance(a, Var) and a in producer}, reverse=True)
            stack.extend((d, False) for d in deps if not emitted[d])

    for i, anchored in enumerate(is_anchor):
        if anchored:
            emit(i)
    for v in jaxpr.outvars:
        if isinstance(v, Var) and v in producer:
            emit(producer[v])
    return jaxpr.replace(eqns=order)


def eval_jaxpr_freeing(jaxpr: Jaxpr, *args) -> list:
    """``eval_jaxpr``, dropping each value after its last use.

    A checkpointed backward recomputes a block's activations and consumes them right
    away; the plain interpreter would keep every one of them until the block ends.
    """
    last_use = {}
    for i, eqn in enumerate(jaxpr.eqns):
        for a in eqn.invars:
            if isinstance(a, Var):
                last_use[a] = i
    keep = {v for v in jaxpr.outvars if isinstance(v, Var)}
    env = dict(zip(jaxpr.constvars, jaxpr.consts))
    env.update(zip(jaxpr.invars, args))
    del args  # the caller's list must not keep the inputs alive either
    for i, eqn in enumerate(jaxpr.eqns):
        ins = [a.val if isinstance(a, Literal) else env[a] for a in eqn.invars]
        for a in eqn.invars:
            if isinstance(a, Var) and last_use[a] == i and a not in keep:
                env.pop(a, None)
        outs = eqn.primitive.bind(*ins, **eqn.params)
        del ins
        env.update(zip(eqn.outvars, outs))
    return [a.val if isinstance(a, Literal) else env[a] for a in jaxpr.outvars]
