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
that is used later (or returned) is one of its outputs.
"""
from __future__ import annotations

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

    steps: list = []
    open_groups: dict = {}  # output shape -> the open group of that shape

    def close(group, at_index):
        del open_groups[group.shape]
        if len(group.eqns) == 1 and group.eqns[0].primitive.name == "broadcast_in_dim":
            steps.append(Call(group.eqns[0]))  # nothing to fuse it with: just run it
            return
        group.outputs = [v for e in group.eqns for v in e.outvars
                         if v in returned or uses_after.get(v, -1) >= at_index]
        if group.outputs:  # a group nobody reads is dead code (elementwise ops are pure)
            steps.append(group)

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
