"""The min-cut rematerialization partitioner: which forward values the backward pass reads
from memory and which it recomputes, for the jitted forward/backward split.

Differentiating a jitted function splits its JVP jaxpr by partial evaluation into a
*known* jaxpr (the forward: primal outputs plus residuals) and an *unknown* one (the
linear part, reading the residuals). Saving every residual is what eager reverse mode
does; often it is cheaper to save a few values and recompute cheap elementwise chains
from them at the start of the backward pass. This module chooses, as functorch's
partitioner does:

- a flow network over the known jaxpr with every value split in two (``v_in -> v_out``,
  capacity = the bytes of ``v`` x 1.1^(distance to the backward), so that of equal
  sizes the value closest to its backward use is saved). Edges from an equation's
  inputs to its outputs, from the source to every input and to every value that may
  not be recomputed, and from every residual to the sink are infinite. A minimum cut
  is a cheapest set of values to save; everything on the sink's side is recomputed;
- what may be recomputed: elementwise operations, shape operations and reductions that
  do not shrink their input more than 4x. Never matmuls or convolutions, big
  reductions, random bits (unsigned-integer arithmetic, as in ``ftx.random``), calls or
  control flow (a checkpointed block reaches here as one ``checkpoint`` equation, so its
  policy holds as a hard constraint), or anything else;
- a memory budget (``ftx.config.update('activation_memory_budget', 0.5)``; 1.0 is the
  plain min-cut, 0.0 the least memory): the matmuls and big reductions are allowed to be
  recomputed, cheapest first, until the *simulated peak memory* of the forward then
  backward schedule drops to ``min + budget * (max - min)``.

Each partition records a log (``ForwardBackward.log``, also sent to the ``ftx.partition``
logger at DEBUG level): every saved value with its bytes and why, every recomputed
equation.
"""
from __future__ import annotations

import logging
import math

from ftx.compiler.maxflow import INFINITE, FlowNetwork
from ftx.core.config import config
from ftx.core.jaxpr import Var, subjaxprs
from ftx.transforms._remat import ForwardBackward, KnownUnknown

logger = logging.getLogger("ftx.partition")

PARTITIONERS = ("min_cut", "save_all")


def _check_partitioner(name):
    if callable(name):
        return
    if name not in PARTITIONERS:
        raise ValueError(f"unknown remat partitioner {name!r}; the partitioners are "
                         f"{', '.join(PARTITIONERS)}, or a function (forward_jaxpr, "
                         "num_outputs) -> the values to save")


def _check_budget(value):
    if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"activation_memory_budget must be a number in [0, 1] (1: the fastest "
                         f"min-cut, 0: the least memory), got {value!r}")


config.define("remat_partitioner", "min_cut",
              "how grad(jit(f)) splits forward and backward: 'min_cut' (save the cheapest set "
              "of values, recompute elementwise chains) or 'save_all' (save every residual)",
              parse=str, validate=_check_partitioner)
config.define("activation_memory_budget", 1.0,
              "for the min_cut partitioner: 1.0 saves what is fastest, lower values recompute "
              "more (matmuls too) until the simulated fwd+bwd peak memory is within this "
              "fraction of the way from the least to the most memory", parse=float,
              validate=_check_budget)


class UnsatisfiableRematError(ValueError):
    """The remat constraints ask to recompute a value that may never be recomputed."""


# =========================================================================== what may be recomputed

def _elementwise_names() -> frozenset:
    from ftx.core.primitive import Primitive
    from ftx.lax import elementwise
    return frozenset(p.name for p in vars(elementwise).values() if isinstance(p, Primitive))


_ELEMENTWISE: frozenset = frozenset()
_SHAPE_OPS = frozenset({"broadcast_in_dim", "reshape", "squeeze", "transpose", "rev", "slice",
                        "concatenate", "pad", "iota", "dynamic_slice", "name"})
_REDUCTIONS = frozenset({"reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "reduce_and",
                         "reduce_or", "reduce_xor", "argmax", "argmin"})
_COMPUTE_INTENSIVE = frozenset({"dot_general", "conv_general_dilated"})
_RANDOM_BITS = frozenset({"shift_left", "shift_right_logical", "shift_right_arithmetic",
                          "population_count"})
_SHRINK_LIMIT = 4  # a reduction whose input is more than 4x its output is saved, not redone


def _nbytes(aval) -> int:
    return math.prod(aval.shape) * aval.dtype.itemsize


def ban_reason(eqn):
    """``(reason, can_lift)`` if ``eqn``'s outputs must not be recomputed, else None.
    ``can_lift``: a memory budget may allow it anyway (a cost, not a correctness, ban)."""
    global _ELEMENTWISE
    if not _ELEMENTWISE:
        _ELEMENTWISE = _elementwise_names()
    name = eqn.primitive.name
    if getattr(eqn.primitive, "effectful", False):
        return f"{name} has side effects", False
    if next(subjaxprs(eqn.params), None) is not None:
        return f"{name} is a call or control flow (its body is not re-run)", False
    if name in _RANDOM_BITS or any(v.aval.dtype.kind == "u" for v in eqn.outvars):
        return f"random bits ({name} on unsigned integers) are never recomputed", False
    if name in _COMPUTE_INTENSIVE:
        return f"{name} is compute-intensive", True
    if name in _REDUCTIONS:
        in_bytes = sum(_nbytes(a.aval) for a in eqn.invars if isinstance(a, Var))
        out_bytes = sum(_nbytes(v.aval) for v in eqn.outvars)
        if in_bytes > _SHRINK_LIMIT * out_bytes:
            return f"{name} shrinks its input {in_bytes / max(out_bytes, 1):.0f}x", True
        return None
    if name in _ELEMENTWISE or name in _SHAPE_OPS:
        return None
    return f"{name} is not an elementwise, shape or small reduction operation", False


# =========================================================================== the cut

class _Choice:
    __slots__ = ("saved", "reasons")

    def __init__(self, saved, reasons):
        self.saved, self.reasons = saved, reasons


def _backward_slice(known, num_outs):
    """The values the residuals depend on, with their distance (in equations) to the backward."""
    dist = {v: 1 for v in known.outvars[num_outs:] if isinstance(v, Var)}
    for eqn in reversed(known.eqns):
        d = min((dist[v] for v in eqn.outvars if v in dist), default=None)
        if d is None:
            continue
        for a in eqn.invars:
            if isinstance(a, Var):
                dist[a] = min(dist.get(a, d + 1), d + 1)
    return dist


def choose_saved(known, num_outs: int, *, policy=None, lift=frozenset()) -> _Choice:
    """The values of ``known`` (closure-converted: inputs -> ``num_outs`` outputs, then the
    residuals) to save so that every residual is saved or recomputable, of least weight.

    ``policy(prim, *avals, **params) -> bool`` (a checkpoint policy) is a hard constraint
    on first-order equations: True must be saved if needed, False must be recomputed.
    ``lift``: equations (by id) whose cost ban a memory budget lifted.
    """
    dist = _backward_slice(known, num_outs)
    values = [v for v in known.invars if v in dist] + \
        [v for e in known.eqns for v in e.outvars if v in dist]
    index = {v: i for i, v in enumerate(values)}
    g = FlowNetwork(2 * len(values) + 2)
    source, sink = 2 * len(values), 2 * len(values) + 1
    reasons: dict = {}
    inputs = set(known.invars)
    for v in known.invars:
        if v in index:
            g.add_edge(source, 2 * index[v], INFINITE)
            g.add_edge(2 * index[v], 2 * index[v] + 1, 0)  # alive anyway: saving it is free
            reasons[v] = "input (passed through, not copied)"
    for eqn in known.eqns:
        outs = [v for v in eqn.outvars if v in index]
        if not outs:
            continue
        ban = ban_reason(eqn)
        must_recompute = False
        if policy is not None and next(subjaxprs(eqn.params), None) is None:
            if policy(eqn.primitive, *[a.aval for a in eqn.invars], **eqn.params):
                ban = ("the policy saves it", False)
            else:
                must_recompute = True
                if ban is not None and ban[1]:
                    ban = None  # the policy asks for recomputation over the cost ban
        if ban is not None and id(eqn) in lift:
            ban = None
        for v in outs:
            i = index[v]
            if ban is not None:
                g.add_edge(source, 2 * i, INFINITE)
                reasons[v] = ban[0]
            weight = INFINITE if must_recompute else \
                int(max(_nbytes(v.aval), 1) * 1.1 ** min(dist[v], 100)) + 1
            g.add_edge(2 * i, 2 * i + 1, weight)
            for a in eqn.invars:
                if isinstance(a, Var) and a in index:
                    g.add_edge(2 * index[a] + 1, 2 * i, INFINITE)
    for v in known.outvars[num_outs:]:
        if isinstance(v, Var):
            g.add_edge(2 * index[v] + 1, sink, INFINITE)
    path = g.infinite_path(source, sink)
    if path is not None:
        raise UnsatisfiableRematError(_explain_infinite_path(path, values, reasons, known))
    _, source_side = g.min_cut(source, sink)
    saved = {v for v in values if 2 * index[v] in source_side and 2 * index[v] + 1 not in source_side}
    saved |= {v for v in values if v in inputs}
    for v in saved:
        reasons.setdefault(v, "min-cut: cheaper to save than what recomputing it needs")
    return _Choice(saved, {v: reasons[v] for v in saved})


def _explain_infinite_path(path, values, reasons, known):
    names = []
    producer = {v: e for e in known.eqns for v in e.outvars}
    for node in path[1:-1:2]:
        v = values[node // 2]
        e = producer.get(v)
        what = f"{e.primitive.name}" + (f" at {e.source_info}" if e and e.source_info else "") \
            if e else "an input"
        names.append(f"{v.aval.str_short()} = {what}" +
                     (f" ({reasons[v]})" if v in reasons else ""))
    return ("remat: the constraints cannot be met: the policy forbids saving a value that may "
            "never be recomputed. The chain from the forward to the backward: " +
            " -> ".join(names) + ". Use a policy that lets that value be saved (for example "
            "ftx.checkpoint_policies.save_anything_except_these_names(...)), or no policy.")


# =========================================================================== memory simulation

def _call_transient(eqn) -> int:
    """Extra bytes a call-like equation needs while it runs (its body's peak)."""
    subs = list(subjaxprs(eqn.params))
    if not subs:
        return 0
    from ftx.compiler.analysis import memory_analysis
    stats = [memory_analysis(s) for s in subs]
    return max(m["peak_memory_in_bytes"] - m["argument_size_in_bytes"] for m in stats)


def simulate_peak(forward, backward, num_res: int, passthrough=()) -> dict:
    """Peak live bytes of running ``forward`` then the transpose of ``backward``, freeing each
    value after its last use; the forward's inputs (held by the caller) are not counted.

    ``backward`` takes ``num_res`` residuals then the linear inputs, as the unknown jaxpr
    of a partial evaluation; its transpose is modelled as ``schedule_late`` makes it: the
    linear equations in reverse, each non-linear (recomputed) equation just before its
    first use, each value freed after its last use except the residuals (arguments of the
    backward, alive until it returns) and the gradients. ``passthrough``: the residuals
    that are forward inputs (free).
    Returns ``{'forward', 'backward', 'peak', 'saved'}`` in bytes.
    """
    fwd_inputs = set(forward.invars)
    kept = {v for v in forward.outvars if isinstance(v, Var)}
    last = {}
    for i, e in enumerate(forward.eqns):
        for a in e.invars:
            if isinstance(a, Var):
                last[a] = i
    live = peak_fwd = 0
    for i, e in enumerate(forward.eqns):
        live += sum(_nbytes(v.aval) for v in e.outvars)
        peak_fwd = max(peak_fwd, live + _call_transient(e))
        for a in set(a for a in e.invars if isinstance(a, Var)):
            if last[a] == i and a not in kept and a not in fwd_inputs:
                live -= _nbytes(a.aval)
    live = sum(_nbytes(v.aval) for v in kept if v not in fwd_inputs)
    passthrough = set(passthrough)
    saved = sum(_nbytes(v.aval) for k, v in enumerate(backward.invars[:num_res])
                if k not in passthrough)

    # The backward: abstract steps (reads, defines), then liveness over them.
    free_res = {backward.invars[k] for k in passthrough}
    linear = set(backward.invars[num_res:])
    lin_eqns, producer = [], {}
    for e in backward.eqns:
        if any(isinstance(a, Var) and a in linear for a in e.invars):
            linear.update(e.outvars)
            lin_eqns.append(e)
        else:
            for v in e.outvars:
                producer[v] = e
    steps = []  # (reads, defines, transient)
    done = set()

    def schedule(var):
        stack = [var]
        order = []
        while stack:
            v = stack.pop()
            e = producer.get(v)
            if e is None or id(e) in done:
                continue
            done.add(id(e))
            order.append(e)
            stack.extend(a for a in e.invars if isinstance(a, Var))
        for e in sorted(order, key=lambda e: eqn_pos[id(e)]):
            steps.append(([("p", a) for a in e.invars if isinstance(a, Var)],
                          [("p", v) for v in e.outvars], _call_transient(e)))

    eqn_pos = {id(e): i for i, e in enumerate(backward.eqns)}
    has_ct = {v for v in backward.outvars if isinstance(v, Var) and v in linear}
    for e in reversed(lin_eqns):
        for a in e.invars:
            if isinstance(a, Var) and a not in linear:
                schedule(a)
        defines = []
        for a in e.invars:
            if isinstance(a, Var) and a in linear and a not in has_ct:
                has_ct.add(a)
                defines.append(("c", a))
        reads = [("c", v) for v in e.outvars if v in has_ct] + \
            [("p", a) for a in e.invars if isinstance(a, Var) and a not in linear]
        steps.append((reads, defines, _call_transient(e)))
    # The gradients are returned; the residuals are the backward's arguments, which its
    # caller (a VJP function, the transpose of a staged equation) holds until it returns.
    keep = {("c", v) for v in backward.invars[num_res:]} | \
        {("p", v) for v in backward.invars[:num_res]}
    last_read = {}
    for i, (reads, _, _) in enumerate(steps):
        for r in reads:
            last_read[r] = i

    def size(key):
        kind, v = key
        return 0 if (kind == "p" and v in free_res) else _nbytes(v.aval)

    live += sum(_nbytes(v.aval) for v in backward.outvars if isinstance(v, Var) and v in linear)
    peak_bwd = live
    alive = {("p", v) for v in backward.invars[:num_res]} | \
        {("c", v) for v in backward.outvars if isinstance(v, Var) and v in linear}
    for i, (reads, defines, transient) in enumerate(steps):
        for d in defines:
            if d not in alive:
                alive.add(d)
                live += size(d)
        peak_bwd = max(peak_bwd, live + transient)
        for r in set(reads):
            if last_read.get(r) == i and r not in keep and r in alive:
                alive.discard(r)
                live -= size(r)
    return {"forward": peak_fwd, "backward": peak_bwd, "peak": max(peak_fwd, peak_bwd),
            "saved": saved}


# =========================================================================== the partition

def partition_jaxpr(jaxpr, unknowns, *, partitioner=None, budget=None, policy=None,
                    name="jaxpr") -> ForwardBackward:
    """Split ``jaxpr`` (closure-converted) into forward and backward for the ``unknowns``
    (see ``ForwardBackward``); the result also carries ``log`` and the simulated ``memory``.

    >>> fb = partition_jaxpr(jvp_jaxpr, [False] * n + [True] * n)
    >>> print(fb.log)

    ``partitioner``: 'min_cut', 'save_all' (default: ``config.remat_partitioner``) or a
    function ``(forward_jaxpr, num_outputs) -> values to save`` (see ``_custom_choice``);
    ``budget`` in [0, 1] (default: ``config.activation_memory_budget``); ``policy``: a
    checkpoint policy applied to every equation as a hard constraint.
    """
    partitioner = partitioner or config.remat_partitioner
    budget = config.activation_memory_budget if budget is None else budget
    _check_partitioner(partitioner)
    _check_budget(budget)
    ku = KnownUnknown(jaxpr, unknowns)

    def solve(lift):
        if callable(partitioner):
            choice = _custom_choice(partitioner, ku.known, ku.num_known_out)
            reasons, fb = choice.reasons, ku.split(choice.saved.__contains__)
        elif partitioner == "save_all":
            reasons, fb = {}, ku.split(lambda v: True)
        else:
            choice = choose_saved(ku.known, ku.num_known_out, policy=policy, lift=lift)
            reasons, fb = choice.reasons, ku.split(choice.saved.__contains__)
        passthrough = [k for k, (kind, _) in enumerate(fb.saved_from) if kind == "arg"]
        fb.memory = simulate_peak(fb.forward, fb.backward, len(fb.saved), passthrough)
        return fb, reasons

    fb, reasons = solve(frozenset())
    budget_note = ""
    if partitioner == "min_cut" and budget < 1.0:
        (fb, reasons), budget_note = _fit_budget(ku.known, ku.num_known_out, budget, solve,
                                                 (fb, reasons))
    label = partitioner if isinstance(partitioner, str) else \
        getattr(partitioner, "__name__", type(partitioner).__name__)
    fb.log = _format_log(name, label, ku.known, fb, reasons, budget_note)
    logger.debug(fb.log)
    return fb


def _custom_choice(choose, known, num_outs: int) -> _Choice:
    """A user's partitioner: ``choose(known, num_outs)`` returns the values of ``known`` to
    save; every other value the backward needs is recomputed, except those that may never
    be (side effects, random bits, control flow), which are saved whatever it says."""
    name = getattr(choose, "__name__", type(choose).__name__)
    chosen = choose(known, num_outs)
    try:
        chosen = set(chosen)
    except TypeError:
        raise TypeError(f"partitioner {name} must return an iterable of the forward jaxpr's "
                        f"values (Vars) to save, got {type(chosen).__name__}") from None
    values = set(known.invars) | {v for e in known.eqns for v in e.outvars}
    strangers = [v for v in chosen if not (isinstance(v, Var) and v in values)]
    if strangers:
        raise ValueError(f"partitioner {name} returned {len(strangers)} value(s) that are not "
                         f"Vars of the forward jaxpr it was given, e.g. {strangers[0]!r}")
    reasons = {v: f"chosen by {name}" for v in chosen}
    for eqn in known.eqns:
        ban = ban_reason(eqn)
        if ban is not None and not ban[1]:
            for v in eqn.outvars:
                if v not in chosen:
                    chosen.add(v)
                    reasons[v] = ban[0]
    return _Choice(chosen, reasons)


def _fit_budget(known, num_out, budget, solve, best):
    """Lift cost bans (matmuls, big reductions) until the simulated peak is within ``budget``
    of the way from the least peak found to the min-cut's.

    Candidates are tried one at a time, most saved bytes per recomputed flop first; a lift
    is kept only if it lowers the simulated peak, or the saved bytes at the same peak
    (recomputing everything is not the least memory: recomputed values needed later stay
    alive). The kept lifts give peaks that never go up, so the budget picks a prefix.
    """
    from ftx.compiler.analysis import cost_analysis
    from ftx.core.jaxpr import Jaxpr
    dist = _backward_slice(known, num_out)
    candidates = []
    for e in known.eqns:
        ban = ban_reason(e)
        if ban is not None and ban[1] and any(v in dist for v in e.outvars):
            flops = cost_analysis(Jaxpr([], [], [], [e]))["flops"] + 1
            saved_bytes = sum(_nbytes(v.aval) for v in e.outvars)
            candidates.append((-saved_bytes / flops, len(candidates), e))
    candidates.sort(key=lambda c: c[:2])
    def cost(step):
        memory = step[0].memory
        return memory["peak"], memory["saved"]

    lifted, steps = [], [best]
    for _, _, e in candidates:
        trial = solve(frozenset(lifted + [id(e)]))
        # Saved values stay alive through the whole backward, so one lift often moves the
        # peak from one block to another without lowering it: keep lifts that save bytes
        # at an equal peak too, so that the next ones can lower it.
        if cost(trial) < cost(steps[-1]):
            lifted.append(id(e))
            steps.append(trial)
    most, least = cost(steps[0])[0], cost(steps[-1])[0]
    target = least + budget * (most - least)
    k = next(i for i, step in enumerate(steps) if cost(step)[0] <= target)
    note = (f"budget {budget}: simulated peak {_mib(cost(steps[k])[0])} (least found "
            f"{_mib(least)}, min-cut {_mib(most)}, target {_mib(target)}); recomputing {k} of "
            f"{len(candidates)} matmuls/big reductions")
    return steps[k], note


def _mib(n) -> str:
    return f"{n / 2 ** 20:.2f} MiB"


def _format_log(name, partitioner, known, fb, reasons, budget_note) -> str:
    producer = {v: e for e in known.eqns for v in e.outvars}
    memory = fb.memory
    lines = [f"remat partition of {name} ({partitioner}): saving {len(fb.saved)} values, "
             f"{_mib(memory['saved'])} besides inputs; recomputing {len(fb.recomputed)} "
             f"equations; simulated peak {_mib(memory['peak'])} (forward "
             f"{_mib(memory['forward'])}, backward {_mib(memory['backward'])})"]
    if budget_note:
        lines.append("  " + budget_note)
    for v, (kind, _) in zip(fb.saved, fb.saved_from):
        e = producer.get(v)
        origin = "input" if kind == "arg" else (
            f"{e.primitive.name}" + (f" at {e.source_info}" if e.source_info else ""))
        lines.append(f"  saved {v.aval.str_short():<18} {_nbytes(v.aval):>10} B  {origin}: "
                     f"{reasons.get(v, partitioner)}")
    for e in fb.recomputed:
        outs = " ".join(v.aval.str_short() for v in e.outvars)
        where = f" at {e.source_info}" if e.source_info else ""
        lines.append(f"  recomputed {e.primitive.name} -> {outs}{where}")
    return "\n".join(lines)


def residual_bytes(fb: ForwardBackward) -> dict:
    """``{'saved', 'passthrough'}``: bytes of the saved values computed by the forward and of
    those that are its inputs (passed through, not copied)."""
    avals, outs = fb.forward.in_avals, fb.forward.out_avals
    saved = sum(_nbytes(outs[i]) for kind, i in fb.saved_from if kind == "out")
    passthrough = sum(_nbytes(avals[i]) for kind, i in fb.saved_from if kind == "arg")
    return {"saved": saved, "passthrough": passthrough}


__all__ = ["partition_jaxpr", "choose_saved", "simulate_peak", "ban_reason",
           "residual_bytes", "UnsatisfiableRematError"]
