"""``ftx.checkpoint`` (alias ``remat``): recompute a function's intermediates in the backward pass.

Differentiating a function saves, for the backward pass, every intermediate its
derivative reads. ``checkpoint(f)`` saves only what its ``policy`` allows (by
default nothing but ``f``'s inputs) and recomputes the rest when the backward
pass needs it, trading compute for memory:

    @ftx.checkpoint
    def block(p, x):
        return x + gelu(x @ p["w1"]) @ p["w2"]

Calling a checkpointed function binds ``checkpoint_p``, a higher-order primitive
carrying the traced jaxpr. Its partial-evaluation rule is the point: the known
(forward) part runs now, as a ``checkpoint_p`` equation with ``differentiated=False``,
and returns only the values the policy may save; the unknown part is staged as a ``checkpoint_p`` equation (``differentiated=True``)
that first recomputes the other residuals from the saved values, then does the
linear work. The recomputation lives inside that equation's sub-jaxpr, so graph
passes on the enclosing program (CSE) never merge it with the forward's values.
Random numbers come from explicit keys, so recomputed values are bit-identical.

Policies (``ftx.checkpoint_policies``) are JAX's: ``policy(prim, *avals, **params)
-> bool`` says whether the outputs of one equation may be saved.
"""
from __future__ import annotations

import functools
import types

from ftx.core import pytree
from ftx.core.ad_util import Zero, is_undefined
from ftx.core.avals import ShapeDtypeStruct, get_aval
from ftx.core.jaxpr import Jaxpr, subjaxprs
from ftx.core.primitive import Primitive, def_rule
from ftx.core.source_info import function_source_info
from ftx.core.staging import trace_to_jaxpr
from ftx.core.trace import TraceDebugInfo, Tracer, current_trace, set_current_trace
from ftx.lax._ad_rules import instantiate
from ftx.transforms._remat import KnownUnknown, eval_jaxpr_freeing, memo_derived, schedule_late

# =========================================================================== policies


def everything_saveable(prim, *avals, **params) -> bool:
    """Save every residual: no recomputation (differentiation as without checkpoint)."""
    return True


def nothing_saveable(prim, *avals, **params) -> bool:
    """Save only the checkpointed function's inputs; recompute everything else (the default)."""
    return False


def dots_saveable(prim, *avals, **params) -> bool:
    """Save the outputs of matrix products (``dot_general``); recompute the cheap rest."""
    return prim.name == "dot_general"


checkpoint_dots = dots_saveable


def dots_with_no_batch_dims_saveable(prim, *avals, **params) -> bool:
    """Save the outputs of matrix products without batch dimensions (weights-times-activations);
    recompute batched products such as attention scores."""
    return prim.name == "dot_general" and not params["dimension_numbers"][1][0]


def save_only_these_names(*names):
    """Save only the values tagged ``checkpoint_name(x, name)`` with one of ``names``.

    >>> policy = ftx.checkpoint_policies.save_only_these_names("attn_out")
    """
    wanted = frozenset(_names(names))

    def policy(prim, *avals, **params):
        return prim is name_p and params["name"] in wanted

    policy.__name__ = f"save_only_these_names{tuple(sorted(wanted))}"
    return policy


def save_any_names_but_these(*names):
    """Save every value tagged with ``checkpoint_name`` except those named in ``names``."""
    unwanted = frozenset(_names(names))

    def policy(prim, *avals, **params):
        return prim is name_p and params["name"] not in unwanted

    policy.__name__ = f"save_any_names_but_these{tuple(sorted(unwanted))}"
    return policy


def save_anything_except_these_names(*names):
    """Save every value except those tagged with one of ``names``."""
    unwanted = frozenset(_names(names))

    def policy(prim, *avals, **params):
        return not (prim is name_p and params["name"] in unwanted)

    policy.__name__ = f"save_anything_except_these_names{tuple(sorted(unwanted))}"
    return policy


def save_from_both_policies(policy_1, policy_2):
    """Save what either policy saves."""
    def policy(prim, *avals, **params):
        return policy_1(prim, *avals, **params) or policy_2(prim, *avals, **params)

    policy.__name__ = f"save_from_both_policies({_policy_name(policy_1)}, {_policy_name(policy_2)})"
    return policy


def _names(names):
    flat = []
    for n in names:  # accept save_only_these_names("a", "b") and save_only_these_names(["a", "b"])
        flat.extend(n if isinstance(n, (list, tuple, set, frozenset)) else [n])
    for n in flat:
        if not isinstance(n, str):
            raise TypeError(f"checkpoint policy names must be strings, got {n!r}")
    return flat


def _policy_name(policy) -> str:
    return getattr(policy, "__name__", repr(policy))


checkpoint_policies = types.SimpleNamespace(
    everything_saveable=everything_saveable, nothing_saveable=nothing_saveable,
    dots_saveable=dots_saveable, checkpoint_dots=checkpoint_dots,
    dots_with_no_batch_dims_saveable=dots_with_no_batch_dims_saveable,
    save_only_these_names=save_only_these_names,
    save_any_names_but_these=save_any_names_but_these,
    save_anything_except_these_names=save_anything_except_these_names,
    save_from_both_policies=save_from_both_policies)


def saveable_by_policy(jaxpr: Jaxpr, policy) -> set:
    """The variables of ``jaxpr`` whose equation ``policy`` lets save (inputs not included)."""
    if policy is None or policy is nothing_saveable:
        return set()
    out = set()
    for eqn in jaxpr.eqns:
        if policy(eqn.primitive, *[a.aval for a in eqn.invars], **eqn.params):
            out.update(eqn.outvars)
    return out


# =========================================================================== checkpoint_name

name_p = Primitive("name")
name_p.def_impl(lambda x, *, name: [x])
name_p.def_abstract_eval(lambda a, *, name: [a])
# Only the primal carries the name (policies look at the forward); the tangent passes through.
def_rule("jvp", name_p, lambda primals, tangents, *, name: (
    [name_p.bind1(primals[0], name=name)], [tangents[0]]))
def_rule("transpose", name_p, lambda cts, x, *, name: [None if type(cts[0]) is Zero else cts[0]])
def_rule("batch", name_p, lambda axis_data, args, dims, *, name: (
    [name_p.bind1(args[0], name=name)], [dims[0]]))


def checkpoint_name(x, name: str):
    """``x`` (any pytree) tagged with ``name``, for ``save_only_these_names`` and friends.

    >>> h = ftx.checkpoint_name(x @ w, "proj")     # the identity, with a name
    """
    if not isinstance(name, str):
        raise TypeError(f"checkpoint_name: the name must be a string, got {name!r}")
    return pytree.tree_map(lambda leaf: name_p.bind1(leaf, name=name), x)


# =========================================================================== checkpoint_p

def _impl(*args, jaxpr, prevent_cse, differentiated, policy):
    return eval_jaxpr_freeing(jaxpr, *args)


def _abstract_eval(*avals, jaxpr, prevent_cse, differentiated, policy):
    return jaxpr.out_avals


def _jvp(primals, tangents, *, jaxpr, prevent_cse, differentiated, policy):
    from ftx.transforms.call import _split_jvp_outs
    from ftx.transforms.jvp import jvp_jaxpr
    nonzeros = tuple(type(t) is not Zero and a.dtype.kind in "fc"
                     for t, a in zip(tangents, jaxpr.in_avals))
    new, out_nz = memo_derived(jaxpr, ("jvp", nonzeros),
                               lambda: jvp_jaxpr(jaxpr, nonzeros, instantiate=False))
    outs = checkpoint_p.bind(*primals, *[t for t, nz in zip(tangents, nonzeros) if nz],
                             jaxpr=new, prevent_cse=prevent_cse, differentiated=differentiated,
                             policy=policy)
    return _split_jvp_outs(outs, out_nz)


def _batch(axis_data, args, dims, *, jaxpr, prevent_cse, differentiated, policy):
    from ftx.transforms.batching import batch_jaxpr
    key = ("batch", axis_data.size, axis_data.name, tuple(dims))
    new, out_batched = memo_derived(jaxpr, key, lambda: batch_jaxpr(jaxpr, axis_data, dims,
                                                                     instantiate=False))
    outs = checkpoint_p.bind(*args, jaxpr=new, prevent_cse=prevent_cse,
                             differentiated=differentiated, policy=policy)
    return outs, [0 if b else None for b in out_batched]


def _transpose(cts, *args, jaxpr, prevent_cse, differentiated, policy):
    linear = tuple(is_undefined(a) for a in args)
    new = memo_derived(jaxpr, ("transpose", linear), lambda: _transposed(jaxpr, linear))
    cts = [instantiate(ct) for ct in cts]
    outs = iter(checkpoint_p.bind(*[a for a in args if not is_undefined(a)], *cts, jaxpr=new,
                                  prevent_cse=prevent_cse, differentiated=True, policy=policy))
    return [next(outs) if lin else None for lin in linear]


def _transposed(jaxpr, linear):
    from ftx.transforms.transpose import transpose_jaxpr
    t = transpose_jaxpr(jaxpr, list(linear))
    # Recompute each value just before the backward pass needs it (see schedule_late).
    return schedule_late(t, t.invars[sum(not lin for lin in linear):])


def _plan(jaxpr, unknowns, policy):
    ku = KnownUnknown(jaxpr, unknowns)
    return ku.split(saveable_by_policy(ku.known, policy).__contains__)


def _partial_eval(trace, args, *, jaxpr, prevent_cse, differentiated, policy):
    unknowns = tuple(trace.owns(a) for a in args)
    plan = memo_derived(jaxpr, ("partial_eval", unknowns, policy),
                        lambda: _plan(jaxpr, unknowns, policy))
    fwd_args = [*plan.consts, *[a for a, u in zip(args, unknowns) if not u]]
    fwd_outs = []
    if plan.forward.outvars:
        # The forward half runs as one checkpoint equation (differentiated=False: it holds no
        # recomputation). An enclosing partitioner (jit of this) sees only the values the
        # policy saved, so the policy holds as a hard constraint there too; differentiating
        # this again (higher order) applies the policy again.
        with set_current_trace(trace.parent):
            fwd_outs = checkpoint_p.bind(*fwd_args, jaxpr=plan.forward, prevent_cse=prevent_cse,
                                         differentiated=False, policy=policy)
    saved = [fwd_args[i] if kind == "arg" else fwd_outs[i] for kind, i in plan.saved_from]
    unknown_outs = iter(trace.stage(checkpoint_p, [*saved, *[a for a, u in zip(args, unknowns) if u]],
                                    {"jaxpr": plan.backward, "prevent_cse": prevent_cse,
                                     "differentiated": True, "policy": policy}))
    known_outs = iter(fwd_outs[:plan.num_known_out])
    return [next(unknown_outs) if u else next(known_outs) for u in plan.out_unknowns]


checkpoint_p = Primitive("checkpoint")
checkpoint_p.def_impl(_impl)
checkpoint_p.def_abstract_eval(_abstract_eval)
def_rule("jvp", checkpoint_p, _jvp)
def_rule("batch", checkpoint_p, _batch)
def_rule("transpose", checkpoint_p, _transpose)
def_rule("partial_eval", checkpoint_p, _partial_eval)


# =========================================================================== the decorator

def checkpoint(fun=None, policy=None, prevent_cse: bool = True, static_argnums=()):
    """``fun``, but differentiating it saves only what ``policy`` allows (by default only
    ``fun``'s inputs) and recomputes the other intermediates in the backward pass.

    >>> @ftx.checkpoint
    ... def block(p, x):
    ...     return fnp.tanh(x @ p["w"] + p["b"])
    >>> ftx.grad(loss)(params, x)      # block's activations are recomputed, not stored
    >>> ftx.checkpoint(f, policy=ftx.checkpoint_policies.dots_saveable)

    Usable as a decorator (with or without arguments) and nestable; works eagerly and
    under ``jit``, ``vmap`` and nested ``grad``. ``policy(prim, *avals, **params) -> bool``
    decides per equation (see ``ftx.checkpoint_policies``). ``static_argnums`` are passed to
    ``fun`` as Python values. ``prevent_cse=True`` (the default) keeps the recomputation
    inside the ``checkpoint`` equation, where ``jit``'s graph passes do not merge it with
    the forward's values; with False they may inline it (fusing more, but CSE could then
    undo the recomputation).

    Like ``jit``, ``fun`` is traced once per argument signature: arrays it reads from
    enclosing scopes (not from its arguments) are captured at that first trace.
    """
    if fun is None:
        return functools.partial(checkpoint, policy=policy, prevent_cse=prevent_cse,
                                 static_argnums=static_argnums)
    if not callable(fun):
        raise TypeError(f"checkpoint: expected a function, got {type(fun).__name__}. Use it as "
                        "@ftx.checkpoint or ftx.checkpoint(f, policy=...)")
    if policy is not None and not callable(policy):
        raise TypeError(f"checkpoint: policy must be a function (prim, *avals, **params) -> bool "
                        f"such as ftx.checkpoint_policies.dots_saveable, got {policy!r}")
    static = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    traces: dict = {}

    @functools.wraps(fun)
    def checkpointed(*args, **kwargs):
        if current_trace() is None:  # nothing is differentiated: just run it
            return fun(*args, **kwargs)
        dyn_fun, dyn_args, static_vals = _split_static(fun, args, static)
        leaves, in_tree = pytree.tree_flatten((dyn_args, kwargs))
        key = (in_tree, tuple(_leaf_key(x) for x in leaves), static_vals)
        hit = traces.get(key)
        if hit is None:
            hit = _trace(dyn_fun, leaves, in_tree)
            if not any(isinstance(c, Tracer) for c in hit[1]):  # closed-over tracers: per call
                traces[key] = hit
        jaxpr, consts, out_tree = hit
        outs = checkpoint_p.bind(*consts, *leaves, jaxpr=jaxpr, prevent_cse=prevent_cse,
                                 differentiated=False, policy=policy)
        return pytree.tree_unflatten(out_tree, outs)

    return checkpointed


remat = checkpoint


def _leaf_key(x):
    a = get_aval(x)
    return (a.shape, a.dtype, a.weak_type)


def _split_static(fun, args, static):
    if not static:
        return fun, args, ()
    n = len(args)
    positions = set()
    for i in static:
        if not -n <= i < n:
            raise ValueError(f"checkpoint: static_argnums={static} names argument {i}, but "
                             f"{getattr(fun, '__name__', 'the function')} was called with {n} "
                             "positional arguments")
        positions.add(i % n)
    values = tuple((i, args[i]) for i in sorted(positions))
    try:
        hash(values)
    except TypeError as e:
        raise TypeError(f"checkpoint: static arguments must be hashable: {e}. Pass arrays as "
                        "regular arguments, or make the static value a tuple.") from None
    dyn_args = tuple(a for i, a in enumerate(args) if i not in positions)

    def dyn_fun(*dyn, **kwargs):
        it = iter(dyn)
        return fun(*[args[i] if i in positions else next(it) for i in range(n)], **kwargs)

    return dyn_fun, dyn_args, values


def _trace(fun, leaves, in_tree):
    store = {}

    def flat_fun(*flat):
        a, k = pytree.tree_unflatten(in_tree, flat)
        out_leaves, store["tree"] = pytree.tree_flatten(fun(*a, **k))
        return out_leaves

    debug = TraceDebugInfo("checkpoint", function_source_info(fun))
    jaxpr = trace_to_jaxpr(flat_fun, [get_aval(x) for x in leaves], debug)
    return jaxpr.consts_as_inputs(), list(jaxpr.consts), store["tree"]


# =========================================================================== inspection

def saved_residuals(fun, *args, **kwargs) -> list:
    """``[(ShapeDtypeStruct, bytes, description)]``: what ``vjp(fun, *args)`` saves for the
    backward pass, each with where it comes from (an argument, or the operation and the
    source line that produced it). See ``print_saved_residuals``."""
    from ftx.transforms.reverse import vjp
    flat, in_tree = pytree.tree_flatten((args, kwargs))

    def residuals(*leaves):
        a, k = pytree.tree_unflatten(in_tree, leaves)
        _, f_vjp = vjp(lambda *xs: fun(*xs, **k), *a)
        return list(f_vjp.residuals)

    debug = TraceDebugInfo("saved_residuals", function_source_info(fun))
    jaxpr = trace_to_jaxpr(residuals, [get_aval(x) for x in flat], debug)
    paths = [pytree.keystr(p) for p, _ in pytree.tree_flatten_with_path((args, kwargs))[0]]
    producer = {v: e for e in jaxpr.eqns for v in e.outvars}
    arg_of = {v: _arg_name(p) for v, p in zip(jaxpr.invars, paths)}
    out = []
    for v in jaxpr.outvars:
        aval = v.aval
        nbytes = aval.size * aval.dtype.itemsize
        if v in arg_of:
            what = f"from the argument {arg_of[v]}"
        elif v in producer:
            what = _describe_output(producer[v], v)
        else:
            what = "a constant"
        out.append((ShapeDtypeStruct(aval.shape, aval.dtype), nbytes, what))
    return out


def print_saved_residuals(fun, *args, **kwargs) -> None:
    """Print what differentiating ``fun`` at ``args`` saves for the backward pass.

    >>> ftx.print_saved_residuals(lambda x: fnp.sum(x * fnp.sin(x)), np.ones(3, np.float32))
    f32[3]                     12 B  output of cos from train.py:3 (<lambda>)
    f32[3]                     12 B  output of sin from train.py:3 (<lambda>)
    f32[3]                     12 B  from the argument args[0]
    total                      36 B  in 3 residuals
    """
    rows = saved_residuals(fun, *args, **kwargs)
    for struct, nbytes, what in rows:
        aval = get_aval(struct)
        print(f"{aval.str_short():<20} {_fmt_bytes(nbytes):>10}  {what}")
    print(f"{'total':<20} {_fmt_bytes(sum(r[1] for r in rows)):>10}  in {len(rows)} residuals")


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def _arg_name(path: str) -> str:
    # (args, kwargs) paths look like [0][1]['w']: name them as written: args[1]['w'].
    if path.startswith("[0]"):
        return "args" + path[3:]
    if path.startswith("[1]"):
        return "kwargs" + path[3:]
    return path


def _describe_output(eqn, var, depth: int = 0) -> str:
    """'output of tanh from f.py:3 (f)', looking into calls (jit, checkpoint) for the producer."""
    subs = list(subjaxprs(eqn.params))
    if len(subs) == 1 and len(subs[0].outvars) == len(eqn.outvars) and depth < 8:
        inner = subs[0].outvars[eqn.outvars.index(var)]
        producer = {v: e for e in subs[0].eqns for v in e.outvars}
        if inner in producer:
            return (_describe_output(producer[inner], inner, depth + 1) +
                    f" (inside {eqn.primitive.name})")
    where = f" from {eqn.source_info}" if eqn.source_info is not None else ""
    return f"output of {eqn.primitive.name}{where}"


__all__ = ["checkpoint", "remat", "checkpoint_name", "checkpoint_policies", "checkpoint_p",
           "name_p", "saved_residuals", "print_saved_residuals"]
