"""What the control-flow primitives share.

- Tracing a user's function to a closure-converted jaxpr (closed-over values,
  NumPy arrays or tracers of enclosing transforms, become leading operands).
- Checking loop carries and branch outputs, with messages that name the user's
  function, the pytree path and both types; weak-typed initial values (Python
  scalars) are cast to the type the function returns instead of being refused.
- Jaxpr-to-jaxpr JVP and batching that report which outputs are nonzero /
  batched and can be told to instantiate some: the fixed points over loop
  carries need both.
- Re-wiring a jaxpr's inputs and outputs without retracing it.
"""
from __future__ import annotations

import numpy as np

from ftx.core import pytree
from ftx.core.ad_util import Zero
from ftx.core.avals import ShapedArray, get_aval
from ftx.core.dtypes import result_type
from ftx.core.jaxpr import Jaxpr, Var
from ftx.core.source_info import function_source_info
from ftx.core.staging import trace_to_jaxpr
from ftx.core.trace import TraceDebugInfo, Tracer


def fun_name(fun) -> str:
    """``'body at model.py:12'``: how messages name a user's function."""
    return function_source_info(fun)


def describe_types(avals) -> str:
    return ", ".join(a.str_short() for a in avals) or "nothing"


def as_operand(x):
    """A pytree leaf as something a primitive accepts (lists become arrays; tracers stay)."""
    if isinstance(x, (Tracer, np.ndarray, np.generic, bool, int, float, complex)):
        return x
    return np.asarray(x)


def fresh_outputs(outs, avals, inputs):
    """Eager outputs as arrays of their types, never the caller's own input arrays (a loop that
    runs zero times, or a branch that returns its operand, would otherwise alias them)."""
    ids = {id(x) for x in inputs}
    return [np.array(o, a.dtype) if id(o) in ids else np.asarray(o, a.dtype)
            for o, a in zip(outs, avals)]


def strong(avals):
    return [a.strip_weak_type() for a in avals]


class Traced:
    """A user function traced once: the jaxpr (constants as leading inputs), the constants
    (operands to pass first), and the flattened output's tree and types."""

    __slots__ = ("jaxpr", "consts", "out_tree")

    def __init__(self, jaxpr, consts, out_tree):
        self.jaxpr, self.consts, self.out_tree = jaxpr, consts, out_tree

    @property
    def out_avals(self):
        return self.jaxpr.out_avals


def trace_fun(flat_fun, in_avals, what: str, fun) -> Traced:
    """Trace ``flat_fun(*leaves) -> (out_leaves, out_tree)`` on ``in_avals``; ``fun`` is the
    user's function, named in messages."""
    box = {}

    def f(*leaves):
        out_leaves, box["tree"] = flat_fun(*leaves)
        return [as_operand(x) for x in out_leaves]

    jaxpr = trace_to_jaxpr(f, list(in_avals), TraceDebugInfo(what, fun_name(fun)))
    return Traced(jaxpr.consts_as_inputs(), list(jaxpr.consts), box["tree"])


def leaf_labels(prefix: str, tree) -> list[str]:
    """``['carry[0]', "carry[1]['w']"]``: a label per leaf of ``tree`` for error messages."""
    paths, _ = pytree.tree_flatten_with_path(tree)
    return [prefix + pytree.keystr(p) for p, _ in paths]


def _mismatch(a: ShapedArray, b: ShapedArray) -> str | None:
    if a.shape != b.shape:
        return "the shapes differ"
    if a.dtype != b.dtype:
        return "the dtypes differ"
    return None


def carry_casts(what: str, fun, labels, in_avals, out_avals, role: str = "carry"):
    """Check a loop body's carry output against its input; return the dtype each input leaf
    must be cast to (None where it already fits).

    A weak-typed input (a Python scalar such as ``0.0``) takes the output's dtype, as in JAX,
    so ``scan(f, 0.0, xs_f32)`` carries float32. Anything else that differs is a TypeError
    naming the function and showing both types.
    """
    casts, problems = [], []
    for label, a, b in zip(labels, in_avals, out_avals):
        why = _mismatch(a, b)
        if why is None:
            casts.append(None)
        elif why == "the dtypes differ" and a.weak_type:
            casts.append(b.dtype)
        else:
            casts.append(None)
            problems.append(f"{label} has input type {a.str_short()} but {fun_name(fun)} "
                            f"returns {b.str_short()} ({why})")
    if problems:
        raise TypeError(f"{what}: the {role} output of the body function must have the same "
                        f"type (shape and dtype) as the {role} input, but they differ: "
                        + "; ".join(problems) + ". Make the body return values of the input's "
                        "type (e.g. with .astype), or change the initial value's type.")
    return casts


def check_carry_tree(what: str, fun, in_tree, out_tree, role: str = "carry"):
    if in_tree != out_tree:
        raise TypeError(f"{what}: the body function {fun_name(fun)} must return a {role} with "
                        f"the same pytree structure as its input {role}; the input is "
                        f"{in_tree} but the output is {out_tree}")


def cast_leaves(leaves, casts):
    from ftx.lax.elementwise import convert_element_type
    return [x if c is None else convert_element_type(x, c) for x, c in zip(leaves, casts)]


def join_branch_types(what: str, names, funs, out_avals_per_branch, labels):
    """The common output types of the branches of a cond/switch (weak-typed outputs adopt the
    strong ones' dtype), or a TypeError naming the branches and showing both types."""
    joined = []
    for j, label in enumerate(labels):
        avals = [outs[j] for outs in out_avals_per_branch]
        shapes = {a.shape for a in avals}
        strong_dtypes = {a.dtype for a in avals if not a.weak_type}
        if len(shapes) > 1 or len(strong_dtypes) > 1:
            first = avals[0]
            k = next(i for i, a in enumerate(avals) if _mismatch(first, a) is not None
                     and not (first.shape == a.shape and (first.weak_type or a.weak_type)))
            raise TypeError(f"{what}: {names[0]} and {names[k]} must return the same types "
                            f"(shapes and dtypes), but {label} is {first.str_short()} from "
                            f"{names[0]} and {avals[k].str_short()} from {names[k]} "
                            f"({_mismatch(first, avals[k])}); {names[0]} is "
                            f"{fun_name(funs[0])}, {names[k]} is {fun_name(funs[k])}")
        if strong_dtypes:
            dtype = strong_dtypes.pop()
        else:
            dtype = result_type(*[(a.dtype, True) for a in avals])[0]
        joined.append(ShapedArray(avals[0].shape, dtype))
    return joined


# --------------------------------------------------------------------------- jaxpr plumbing

def permute(jaxpr: Jaxpr, in_order=None, out_order=None) -> Jaxpr:
    """The same graph with its inputs / outputs listed in a new order (indices into the old)."""
    invars = jaxpr.invars if in_order is None else [jaxpr.invars[i] for i in in_order]
    outvars = jaxpr.outvars if out_order is None else [jaxpr.outvars[i] for i in out_order]
    return Jaxpr(jaxpr.constvars, invars, outvars, jaxpr.eqns, jaxpr.consts, jaxpr.debug_info)


def with_unused_inputs(jaxpr: Jaxpr, avals) -> Jaxpr:
    """``jaxpr`` taking extra inputs of the given avals, ignored, after its own."""
    return Jaxpr(jaxpr.constvars, jaxpr.invars + [Var(a) for a in avals], jaxpr.outvars,
                 jaxpr.eqns, jaxpr.consts, jaxpr.debug_info)


def wrap(fun, in_avals) -> Jaxpr:
    """Trace a flat function of jaxprs-and-lax to a new jaxpr (for rules)."""
    return trace_to_jaxpr(lambda *a: list(fun(*a)), list(in_avals))


def split(xs, *sizes):
    """``split([1, 2, 3, 4], 1, 2) == [[1], [2, 3], [4]]``."""
    out, i = [], 0
    for n in sizes:
        out.append(list(xs[i:i + n]))
        i += n
    out.append(list(xs[i:]))
    return out


def is_float(aval) -> bool:
    return aval.dtype.kind in "fc"


def nonzero_tangent(t, primal) -> bool:
    return type(t) is not Zero and get_aval(primal).dtype.kind in "fc"


def zeros(aval):
    return np.zeros(aval.shape, aval.dtype)


def tangent_zeros(aval):
    return np.zeros(aval.shape, aval.strip_weak_type().to_tangent_aval().dtype)




__all__ = []
