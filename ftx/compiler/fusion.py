"""Fusion planning: which equations of a jaxpr run together as one loop nest.

A *group* is a run of elementwise equations with one output shape, plus the
``broadcast_in_dim``s that feed them from outside (read in place with
broadcast indexing, never materialized). A backend says which equations it can
fuse (``can_fuse(eqn)``); everything else is a *call* that the executor runs on
its own (BLAS matmuls, gathers, control flow, ...).

The plan is a list of steps in execution order. Groups of different shapes
may be open at once; a group runs at the point where it closes: when any other
equation needs one of its values, or at the end. Every value a group defines
that is used later (or returned) is one of its outputs.
"""
from __future__ import annotations

from ftx.core.jaxpr import Jaxpr, JaxprEqn, Var


class Group:
    """Equations fused into one kernel, all with output shape ``shape``."""

    __slots__ = ("eqns", "shape", "inputs", "outputs", "defined")

    def __init__(self, shape):
        self.eqns: list[JaxprEqn] = []
        self.shape = shape
        self.inputs: list = []     # external Vars read by the group (in first-use order)
        self.outputs: list = []    # group Vars needed after the group
        self.defined: set = set()  # Vars defined inside the group

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
        out_shape = eqn.outvars[0].aval.shape if len(eqn.outvars) == 1 else None
        fusible = out_shape is not None and out_shape != () and can_fuse(eqn)
        # A value of an open group read by anything other than that group's own next
        # member must exist first: close its group.
        for other in list(open_groups.values()):
            reads = any(isinstance(v, Var) and v in other.defined for v in eqn.invars)
            if reads and not (fusible and other.shape == out_shape):
                close(other, i)
        if not fusible:
            steps.append(Call(eqn))
            continue
        group = open_groups.get(out_shape)
        if group is None:
            group = open_groups[out_shape] = Group(out_shape)
        group.eqns.append(eqn)
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
