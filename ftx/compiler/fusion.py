"""Fusion planning: which equations of a jaxpr run together as one loop nest.

A *group* is a run of elementwise equations with one shape (the loop shape),
plus the ``broadcast_in_dim``s that feed them from outside (read in place with
broadcast indexing, never materialized), plus the reductions that consume its
values (accumulated inside the same loop nest, so a reduced intermediate is
never written to memory). A backend says which equations it can fuse
(``can_fuse(eqn)``); everything else is a *call* that the executor runs on its
own (BLAS matmuls, gathers, control flow, ...).

A reduction joins a group only when its operand is computed by that group (a
lone reduction is better served by NumPy's pairwise summation), and all the
reductions of one group share their ``axes``. A reduced value cannot feed the
group that computes it: any equation that reads one closes the group first.

The plan is a list of steps in execution order. Groups of different shapes
may be open at once; a group runs at the point where it closes: when any other
equation needs one of its values, or at the end. Every value a group defines
that is used later (or returned) is one of its outputs, except a cheap one that
only later groups read: those groups recompute it from values they have anyway
(XLA's producer duplication). In a differentiated graph the forward's group
would otherwise write several intermediates (tanh(u), 1 + tanh(u), u * u, ...)
only for the backward's group to read them back: memory held across a matmul
in between, and traffic, to save a few flops.
"""
from __future__ import annotations

from ftx.compiler.analysis import NO_FLOPS, TRANSCENDENTAL
from ftx.core.jaxpr import Jaxpr, JaxprEqn, Var


REDUCTIONS = frozenset({"reduce_sum", "reduce_prod", "reduce_max", "reduce_min",
                        "reduce_and", "reduce_or"})


class Group:
    """Equations fused into one kernel, all looping over ``shape``.

    ``reduce_axes`` is None, or the ``axes`` of the group's reductions.
    """

    __slots__ = ("eqns", "shape", "inputs", "outputs", "defined", "reduce_axes", "reduced")

    def __init__(self, shape):
        self.eqns: list[JaxprEqn] = []
        self.shape = shape
        self.inputs: list = []     # external Vars read by the group (in first-use order)
        self.outputs: list = []    # group Vars needed after the group
        self.defined: set = set()  # Vars defined inside the group
        self.reduce_axes = None
        self.reduced: set = set()  # outputs of the group's reductions

    def __repr__(self):
        names = " ".join(e.primitive.name for e in self.eqns)
        return f"Group(shape={self.shape}, [{names}])"


class Call:
    """One equation run on its own by the executor."""

    __slots__ = ("eqn",)

    def __init__(self, eqn):
        self.eqn = eqn

    def __repr__(self):
        return f"Call({self.eqn.primitive.name})"


def plan(jaxpr: Jaxpr, can_fuse) -> list:
    """The steps (Groups and Calls) that evaluate ``jaxpr`` in order."""
    uses_after: dict = {}  # var -> index of the last equation reading it
    for i, eqn in enumerate(jaxpr.eqns):
        for v in eqn.invars:
            if isinstance(v, Var):
                uses_after[v] = i
    returned = {v for v in jaxpr.outvars if isinstance(v, Var)}

    readers: dict = {}  # var -> the equations reading it
    for eqn in jaxpr.eqns:
        for v in eqn.invars:
            if isinstance(v, Var):
                readers.setdefault(v, []).append(eqn)
    position = {id(e): i for i, e in enumerate(jaxpr.eqns)}
    always_live = set(jaxpr.invars) | set(jaxpr.constvars) | returned

    steps: list = []
    open_groups: dict = {}  # output shape -> the open group of that shape
    recomputed: dict = {}   # var -> the equations (in order) a later group recomputes it with

    def close(group, at_index):
        del open_groups[group.shape]
        if len(group.eqns) == 1 and group.eqns[0].primitive.name == "broadcast_in_dim":
            steps.append(Call(group.eqns[0]))  # nothing to fuse it with: just run it
            return
        group.outputs = []
        for e in group.eqns:
            for v in e.outvars:
                if v in recomputed or not (v in returned or uses_after.get(v, -1) >= at_index):
                    continue
                cone = _recompute_cone(v, group, at_index)
                if cone is None:
                    group.outputs.append(v)
                else:
                    recomputed[v] = cone
        if group.outputs:  # a group nobody reads is dead code (elementwise ops are pure)
            steps.append(group)

    def _recompute_cone(v, group, at_index):
        """The group's equations that compute ``v`` from its inputs and kept outputs, if
        every later reader of ``v`` can recompute it (same-shape elementwise, so it joins a
        group), the cone is cheap, and keeping its inputs alive costs no more than ``v``."""
        if v in returned or v in group.reduced:
            return None
        later = [r for r in readers.get(v, ()) if position[id(r)] >= at_index]
        if not later or not all(_fuses_elementwise(r, v.aval.shape, can_fuse) for r in later):
            return None
        boundary = set(group.inputs) | set(group.outputs)
        cone, frontier, seen, work = [], [], set(), [v]
        while work:
            u = work.pop()
            if u in seen or not isinstance(u, Var):
                continue
            seen.add(u)
            if u in boundary or u not in group.defined:
                frontier.append(u)
                continue
            eqn = next(e for e in group.eqns if u in e.outvars)
            if eqn.primitive.name in REDUCTIONS:
                return None
            cone.append(eqn)
            work.extend(eqn.invars)
        if sum(_recompute_cost(e) for e in cone) > MAX_RECOMPUTE_COST:
            return None
        last_reader = max(position[id(r)] for r in later)
        extended = [u for u in frontier if u not in always_live
                    and uses_after.get(u, -1) < last_reader]
        if sum(u.aval.nbytes for u in extended) > v.aval.nbytes:
            return None
        for u in extended:  # later groups read them now: they must outlive those reads
            uses_after[u] = last_reader
        order = {id(e): k for k, e in enumerate(group.eqns)}
        return sorted(set(cone), key=lambda e: order[id(e)])

    for i, eqn in enumerate(jaxpr.eqns):
        loop_shape = _loop_shape(eqn, open_groups, can_fuse)
        # A value of an open group read by anything other than that group's own next
        # member must exist first: close its group.
        for other in list(open_groups.values()):
            reads = [v for v in eqn.invars if isinstance(v, Var) and v in other.defined]
            if reads and (other.shape != loop_shape or any(v in other.reduced for v in reads)):
                close(other, i)
        if loop_shape is None:
            steps.append(Call(eqn))
            continue
        group = open_groups.get(loop_shape)
        if group is None:
            group = open_groups[loop_shape] = Group(loop_shape)
        for v in eqn.invars:
            if v in recomputed and v not in group.defined:
                _add_recomputation(group, recomputed[v])
        group.eqns.append(eqn)
        if eqn.primitive.name in REDUCTIONS:
            group.reduce_axes = eqn.params["axes"]
            group.reduced.update(eqn.outvars)
        for v in eqn.invars:
            if isinstance(v, Var) and v not in group.defined and v not in group.inputs:
                group.inputs.append(v)
        group.defined.update(eqn.outvars)
    for group in list(open_groups.values()):
        close(group, len(jaxpr.eqns))
    # Broadcast feeds read their operand directly; their own outputs are not inputs.
    for step in steps:
        if isinstance(step, Group):
            step.inputs = [v for v in step.inputs if v not in step.defined]
    return steps


# Recomputing a value in a later kernel instead of writing and reading it back is worth up
# to about this many elementwise operations (a transcendental counts for several).
MAX_RECOMPUTE_COST = 16
_TRANSCENDENTAL_COST = 4


def _recompute_cost(eqn) -> int:
    name = eqn.primitive.name  # the cost model of cost_analysis: free, transcendental, or 1
    return 0 if name in NO_FLOPS else _TRANSCENDENTAL_COST if name in TRANSCENDENTAL else 1


def _fuses_elementwise(eqn, shape, can_fuse) -> bool:
    return (len(eqn.outvars) == 1 and eqn.primitive.name not in REDUCTIONS
            and eqn.primitive.name != "broadcast_in_dim" and can_fuse(eqn)
            and shape != () and eqn.outvars[0].aval.shape == shape)


def _add_recomputation(group, cone) -> None:
    """Put ``cone``'s equations (those the group lacks) into ``group``, reading what they
    need from outside as inputs."""
    for eqn in cone:
        if all(v in group.defined for v in eqn.outvars):
            continue
        for v in eqn.invars:
            if isinstance(v, Var) and v not in group.defined and v not in group.inputs:
                group.inputs.append(v)
        group.eqns.append(eqn)
        group.defined.update(eqn.outvars)


def _loop_shape(eqn, open_groups, can_fuse):
    """The shape of the group ``eqn`` can join (its output shape; for a reduction, its
    operand's), or None when it runs on its own."""
    if len(eqn.outvars) != 1 or not can_fuse(eqn):
        return None
    if eqn.primitive.name not in REDUCTIONS:
        shape = eqn.outvars[0].aval.shape
        return shape if shape != () else None
    operand = eqn.invars[0]
    group = open_groups.get(operand.aval.shape)
    axes = eqn.params["axes"]
    if (group is None or operand not in group.defined or operand in group.reduced or not axes
            or group.reduce_axes not in (None, axes)):
        return None
    return group.shape
