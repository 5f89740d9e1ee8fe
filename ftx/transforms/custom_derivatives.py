"""User-defined derivative rules: ``custom_jvp``, ``custom_vjp`` and the class-based ``Function``.

Calling a decorated function binds a higher-order primitive carrying the traced
function (``call_jaxpr``, closure-converted: values it closes over are its
first ``num_consts`` operands, so every transform sees them) and the user's rule:

- ``custom_jvp_call``: evaluates ``call_jaxpr``; its jvp rule calls the user's
  jvp; its batching rule batches both with vmap.
- ``custom_vjp_call``: evaluates ``call_jaxpr``; its jvp rule runs the user's
  ``fwd`` and emits ``custom_lin``, a primitive linear in the tangents whose
  transpose calls the user's ``bwd`` with the saved residuals. Reverse mode
  (linearize + transpose) therefore uses ``bwd``; forward mode evaluates
  ``custom_lin`` with the user's forward rule when there is one
  (``Function.jvp``) and otherwise says how to add it.
"""
from __future__ import annotations

import functools

from ftx.core import pytree
from ftx.core.ad_util import Zero, is_undefined
from ftx.core.avals import get_aval
from ftx.core.jaxpr import eval_jaxpr
from ftx.core.primitive import Primitive, def_rule
from ftx.core.source_info import function_source_info
from ftx.core.staging import trace_to_jaxpr
from ftx.core.trace import TraceDebugInfo
from ftx.lax._ad_rules import instantiate
from ftx.lax._batch_rules import bdim_to_front


class _Fn:
    """A Python callable as a primitive parameter: hashable by identity, printed by name."""

    __slots__ = ("fn", "__name__")

    def __init__(self, fn, name=None):
        self.fn = fn
        self.__name__ = name or getattr(fn, "__name__", "fn")

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def __repr__(self):
        return self.__name__


def _trace_closed(fun, flat_args, what):
    """Trace ``fun(*flat) -> flat outs``; returns (closure-converted jaxpr, its consts)."""
    debug = TraceDebugInfo(what, function_source_info(fun))
    jaxpr = trace_to_jaxpr(fun, [get_aval(x).strip_weak_type() for x in flat_args], debug)
    return jaxpr.consts_as_inputs(), list(jaxpr.consts)


def _flat_fun(fun, in_tree, store):
    def flat(*leaves):
        out = fun(*pytree.tree_unflatten(in_tree, leaves))
        out_leaves, tree = pytree.tree_flatten(out)
        if store.get("tree") not in (None, tree):
            raise TypeError(f"{function_source_info(fun)}: output structure {tree} differs from "
                            f"{store['tree']}")
        store["tree"] = tree
        return out_leaves
    return flat


def _split_nondiff(args, nondiff_argnums):
    """(the differentiable arguments, a function rebuilding the full argument tuple)."""
    nondiff = {i % len(args): args[i] for i in nondiff_argnums}
    diff = tuple(a for i, a in enumerate(args) if i not in nondiff)

    def merge(diff_args):
        it = iter(diff_args)
        return tuple(nondiff[i] if i in nondiff else next(it) for i in range(len(args)))

    return diff, merge, tuple(nondiff[i] for i in sorted(nondiff))


def _trace_custom(custom, args, what):
    """Split off ``nondiff_argnums``, flatten the rest and trace the decorated function.

    Returns (diff_args, merge, nondiff_args, flat_args, in_tree, jaxpr, consts, out_tree).
    """
    diff, merge, nondiff = _split_nondiff(args, custom.nondiff_argnums)
    flat, in_tree = pytree.tree_flatten(diff)
    store = {}
    fun = _flat_fun(lambda *d: custom.fun(*merge(d)), in_tree, store)
    jaxpr, consts = _trace_closed(fun, flat, what)
    return diff, merge, nondiff, flat, in_tree, jaxpr, consts, store["tree"]


def _batched_fwd_jvp(fwd_jvp, axis_data):
    """The user's forward rule (``fwd_jvp(res, tangents)``) under vmap, or None if absent."""
    if fwd_jvp is None:
        return None

    def batched(res, tangents):
        n = len(res)
        return list(_vmap_all(lambda *rt: list(fwd_jvp(list(rt[:n]), list(rt[n:]))),
                              axis_data)(*res, *tangents))

    return _Fn(batched, f"vmap({fwd_jvp.__name__})")


def _vmap_all(fun, axis_data):
    """vmap of ``fun`` over axis 0 of every argument."""
    from ftx.transforms.batching import vmap
    return vmap(fun, axis_name=axis_data.name)


# =========================================================================== custom_jvp

def _custom_jvp_call_impl(*args, call_jaxpr, jvp, num_consts, symbolic_zeros):
    return eval_jaxpr(call_jaxpr, *args)


def _custom_jvp_call_abstract_eval(*avals, call_jaxpr, jvp, num_consts, symbolic_zeros):
    return call_jaxpr.out_avals


def _custom_jvp_call_jvp(primals, tangents, *, call_jaxpr, jvp, num_consts, symbolic_zeros):
    if any(type(t) is not Zero for t in tangents[:num_consts]):
        raise NotImplementedError(
            "Detected differentiation of a custom_jvp function with respect to a value it closes "
            "over. Pass that value to the custom_jvp function as an explicit argument instead.")
    args, args_t = list(primals[num_consts:]), list(tangents[num_consts:])
    if not symbolic_zeros:
        args_t = [instantiate(t, p) for t, p in zip(args_t, args)]
    outs, outs_t = jvp(args, args_t)
    for t, a in zip(outs_t, call_jaxpr.out_avals):
        if type(t) is not Zero and get_aval(t).shape != a.shape:
            raise TypeError(f"custom_jvp rule {jvp.__name__} returned a tangent of type "
                            f"{get_aval(t).str_short()} for an output of type {a.str_short()}")
    return list(outs), list(outs_t)


def _custom_jvp_call_batch(axis_data, args, dims, *, call_jaxpr, jvp, num_consts, symbolic_zeros):
    args = [bdim_to_front(a, d, axis_data.size) for a, d in zip(args, dims)]
    batched_call = _vmap_all(lambda *a: eval_jaxpr(call_jaxpr, *a), axis_data)
    jaxpr, consts = _trace_closed(lambda *a: batched_call(*a), args, "vmap of a custom_jvp function")

    def batched_jvp(primals, tangents):
        n = len(primals)
        outs, outs_t = _vmap_all(lambda *pt: tuple(map(list, jvp(list(pt[:n]), list(pt[n:])))),
                                 axis_data)(*primals, *[instantiate(t, p) for t, p in
                                                        zip(tangents, primals)])
        return list(outs), list(outs_t)

    outs = custom_jvp_call_p.bind(*consts, *args, call_jaxpr=jaxpr,
                                  jvp=_Fn(batched_jvp, f"vmap({jvp.__name__})"),
                                  num_consts=len(consts) + num_consts, symbolic_zeros=False)
    return outs, [0] * len(outs)


custom_jvp_call_p = Primitive("custom_jvp_call")
custom_jvp_call_p.def_impl(_custom_jvp_call_impl)
custom_jvp_call_p.def_abstract_eval(_custom_jvp_call_abstract_eval)
def_rule("jvp", custom_jvp_call_p, _custom_jvp_call_jvp)
def_rule("batch", custom_jvp_call_p, _custom_jvp_call_batch)
custom_jvp_call_p.exempt("transpose", "not linear (its jvp rule emits linear primitives)")


class custom_jvp:
    """A function with a user-defined forward-mode derivative (reverse mode follows from it).

    >>> @ftx.custom_jvp
    ... def log1pexp(x):
    ...     return fnp.log1p(fnp.exp(x))
    >>> @log1pexp.defjvp
    ... def log1pexp_jvp(primals, tangents):
    ...     (x,), (t,) = primals, tangents
    ...     return log1pexp(x), t * ftx.lax.logistic(x)

    ``nondiff_argnums`` name arguments that are not differentiated (static
    values, callables); they are passed first to the jvp rule.
    """

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.jvp = None
        self.symbolic_zeros = False

    def defjvp(self, jvp, symbolic_zeros: bool = False):
        """``jvp(primals, tangents) -> (primal_out, tangent_out)`` (primals/tangents are tuples)."""
        self.jvp = jvp
        self.symbolic_zeros = symbolic_zeros
        return jvp

    def defjvps(self, *tangent_fns):
        """One ``fn(t, ans, *primals)`` per argument; the tangent is their sum (None: no dependence)."""
        if self.nondiff_argnums:
            raise TypeError("defjvps cannot be used with nondiff_argnums; use defjvp")

        def jvp(primals, tangents):
            ans = self(*primals)
            out_t = None
            for fn, t in zip(tangent_fns, tangents):
                if fn is None:
                    continue
                term = fn(t, ans, *primals)
                out_t = term if out_t is None else pytree.tree_map(lambda a, b: a + b, out_t, term)
            if out_t is None:
                from ftx.numpy import zeros_like
                out_t = pytree.tree_map(zeros_like, ans)
            return ans, out_t

        self.defjvp(jvp)
        return tangent_fns

    def __call__(self, *args, **kwargs):
        if kwargs:
            raise TypeError(f"custom_jvp function {self.__name__}: pass arguments positionally")
        if self.jvp is None:
            raise AttributeError(f"No JVP defined for custom_jvp function {self.__name__} using "
                                 "defjvp.")
        diff, merge, nondiff, flat, in_tree, jaxpr, consts, out_tree = _trace_custom(
            self, args, "custom_jvp")
        user_jvp, symbolic = self.jvp, self.symbolic_zeros

        def flat_jvp(primals, tangents):
            p = pytree.tree_unflatten(in_tree, primals)
            t = pytree.tree_unflatten(in_tree, [_symbolic(x) for x in tangents] if symbolic
                                      else tangents)
            out, out_t = user_jvp(*nondiff, p, t) if nondiff else user_jvp(p, t)
            out_leaves, tree = pytree.tree_flatten(out)
            t_leaves, t_tree = pytree.tree_flatten(out_t, is_leaf=lambda x: type(x) is Zero)
            if tree != out_tree or t_tree != out_tree:
                raise TypeError(f"custom_jvp rule for {self.__name__} must return (primal_out, "
                                f"tangent_out) with the output structure {out_tree}; got {tree} "
                                f"and {t_tree}")
            return out_leaves, t_leaves

        outs = custom_jvp_call_p.bind(*consts, *flat, call_jaxpr=jaxpr,
                                      jvp=_Fn(flat_jvp, getattr(user_jvp, "__name__", "jvp")),
                                      num_consts=len(consts), symbolic_zeros=symbolic)
        return pytree.tree_unflatten(out_tree, outs)


def _symbolic(t):
    return t  # with symbolic_zeros=True the rule sees Zero objects for unperturbed inputs


SymbolicZero = Zero


# =========================================================================== custom_vjp

def _custom_vjp_call_impl(*args, call_jaxpr, fwd, bwd, num_consts, out_avals, fwd_jvp,
                          vmap_rule):
    return eval_jaxpr(call_jaxpr, *args)


def _custom_vjp_call_abstract_eval(*avals, call_jaxpr, fwd, bwd, num_consts, out_avals, fwd_jvp,
                                   vmap_rule):
    return call_jaxpr.out_avals


def _custom_vjp_call_jvp(primals, tangents, *, call_jaxpr, fwd, bwd, num_consts, out_avals,
                         fwd_jvp, vmap_rule):
    if any(type(t) is not Zero for t in tangents[:num_consts]):
        raise NotImplementedError(
            "Detected differentiation of a custom_vjp function with respect to a value it closes "
            "over. Pass that value to the custom_vjp function as an explicit argument instead.")
    args, args_t = list(primals[num_consts:]), list(tangents[num_consts:])
    outs, residuals = fwd(args)
    nonzero = tuple(type(t) is not Zero for t in args_t)
    lin_t = [instantiate(t, p) for t, p in zip(args_t, args) if type(t) is not Zero]
    outs_t = custom_lin_p.bind(*residuals, *lin_t, num_res=len(residuals), bwd=bwd,
                               out_avals=tuple(get_aval(o).strip_weak_type().to_tangent_aval()
                                               for o in outs),
                               in_avals=tuple(get_aval(a).strip_weak_type() for a in args),
                               nonzero=nonzero, fwd_jvp=fwd_jvp)
    return list(outs), list(outs_t)


def _custom_vjp_call_batch(axis_data, args, dims, *, call_jaxpr, fwd, bwd, num_consts, out_avals,
                           fwd_jvp, vmap_rule):
    args = [bdim_to_front(a, d, axis_data.size) for a, d in zip(args, dims)]
    if vmap_rule is not None:  # the user's own batching of the forward computation
        def batched_call(*a):
            return vmap_rule(axis_data.size, list(a[num_consts:]))
    else:
        batched_call = _vmap_all(lambda *a: eval_jaxpr(call_jaxpr, *a), axis_data)
    jaxpr, consts = _trace_closed(lambda *a: batched_call(*a), args, "vmap of a custom_vjp function")

    def batched_fwd(xs):
        outs, res = _vmap_all(lambda *x: tuple(map(list, fwd(list(x)))), axis_data)(*xs)
        return list(outs), list(res)

    def batched_bwd(res, cts):
        n = len(res)
        return list(_vmap_all(lambda *rc: list(bwd(list(rc[:n]), list(rc[n:]))), axis_data)(
            *res, *cts))

    batched_fwd_jvp = _batched_fwd_jvp(fwd_jvp, axis_data)

    outs = custom_vjp_call_p.bind(
        *consts, *args, call_jaxpr=jaxpr, fwd=_Fn(batched_fwd, f"vmap({fwd.__name__})"),
        bwd=_Fn(batched_bwd, f"vmap({bwd.__name__})"), num_consts=len(consts) + num_consts,
        out_avals=tuple(jaxpr.out_avals), fwd_jvp=batched_fwd_jvp, vmap_rule=None)
    return outs, [0] * len(outs)


custom_vjp_call_p = Primitive("custom_vjp_call")
custom_vjp_call_p.def_impl(_custom_vjp_call_impl)
custom_vjp_call_p.def_abstract_eval(_custom_vjp_call_abstract_eval)
def_rule("jvp", custom_vjp_call_p, _custom_vjp_call_jvp)
def_rule("batch", custom_vjp_call_p, _custom_vjp_call_batch)
custom_vjp_call_p.exempt("transpose", "not linear (its jvp rule emits custom_lin)")


# --------------------------------------------------------------------------- custom_lin
# Linear in its tangent operands (after num_res residuals). Its transpose is the user's bwd.

def _custom_lin_impl(*args, num_res, bwd, out_avals, in_avals, nonzero, fwd_jvp):
    if fwd_jvp is None:
        raise TypeError(
            f"can't apply forward-mode autodiff (jvp) to a custom_vjp function: "
            f"{bwd.__name__} defines only the reverse-mode rule. Use ftx.vjp/ftx.grad (reverse "
            "mode), or give the function a forward rule (ftx.custom_jvp, or a `jvp` staticmethod "
            "on an ftx.Function).")
    res, tangents = list(args[:num_res]), iter(args[num_res:])
    full = [next(tangents) if nz else Zero(a.to_tangent_aval()) for nz, a in zip(nonzero, in_avals)]
    full = [instantiate(t, None) if type(t) is Zero else t for t in full]
    return list(fwd_jvp(res, full))


def _custom_lin_abstract_eval(*avals, num_res, bwd, out_avals, in_avals, nonzero, fwd_jvp):
    return list(out_avals)


def _custom_lin_jvp(primals, tangents, **params):
    num_res = params["num_res"]
    if any(type(t) is not Zero for t in tangents[:num_res]):
        raise NotImplementedError("higher-order forward-mode derivatives through a custom_vjp "
                                  "function are not supported")
    outs = custom_lin_p.bind(*primals, **params)
    if all(type(t) is Zero for t in tangents[num_res:]):
        return outs, [Zero.like(o) for o in outs]
    lin_t = [instantiate(t, p) for t, p in zip(tangents[num_res:], primals[num_res:])]
    return outs, custom_lin_p.bind(*primals[:num_res], *lin_t, **params)


def _custom_lin_transpose(cts, *args, num_res, bwd, out_avals, in_avals, nonzero, fwd_jvp):
    res = list(args[:num_res])
    if any(is_undefined(r) for r in res):
        raise ValueError("custom_lin: residuals cannot be linear")
    cts = [instantiate(ct, None) if type(ct) is Zero else ct for ct in cts]
    cts_in = list(bwd(res, cts))
    if len(cts_in) != len(in_avals):
        raise TypeError(f"custom_vjp bwd rule {bwd.__name__} returned {len(cts_in)} cotangents "
                        f"for {len(in_avals)} differentiable inputs")
    for ct, aval in zip(cts_in, in_avals):
        if ct is not None and type(ct) is not Zero and get_aval(ct).shape != aval.shape:
            raise TypeError(f"custom_vjp bwd rule {bwd.__name__} returned a cotangent of shape "
                            f"{get_aval(ct).str_short()} for an input of type {aval.str_short()}")
    lin = [ct for ct, nz in zip(cts_in, nonzero) if nz]
    return [None] * num_res + lin


def _custom_lin_batch(axis_data, args, dims, *, num_res, bwd, out_avals, in_avals, nonzero,
                      fwd_jvp):
    # Batch every operand along axis 0 and run the user's rules under vmap.
    from ftx.core.avals import ShapedArray
    args = [bdim_to_front(a, d, axis_data.size) for a, d in zip(args, dims)]

    def batched(avals):
        return tuple(ShapedArray((axis_data.size,) + a.shape, a.dtype) for a in avals)

    def batched_bwd(res, cts):
        n = len(res)
        return list(_vmap_all(lambda *rc: [_zeros_if_none(c, a) for c, a in zip(
            bwd(list(rc[:n]), list(rc[n:])), in_avals)], axis_data)(*res, *cts))

    batched_fwd_jvp = _batched_fwd_jvp(fwd_jvp, axis_data)

    outs = custom_lin_p.bind(*args, num_res=num_res,
                             bwd=_Fn(batched_bwd, f"vmap({bwd.__name__})"),
                             out_avals=batched(out_avals), in_avals=batched(in_avals),
                             nonzero=nonzero, fwd_jvp=batched_fwd_jvp)
    return outs, [0] * len(outs)


def _zeros_if_none(ct, aval):
    if ct is None or type(ct) is Zero:
        import numpy as np
        return np.zeros(aval.shape, aval.dtype)
    return ct


custom_lin_p = Primitive("custom_lin")
custom_lin_p.def_impl(_custom_lin_impl)
custom_lin_p.def_abstract_eval(_custom_lin_abstract_eval)
def_rule("jvp", custom_lin_p, _custom_lin_jvp)
def_rule("transpose", custom_lin_p, _custom_lin_transpose)
def_rule("batch", custom_lin_p, _custom_lin_batch)


class custom_vjp:
    """A function with a user-defined reverse-mode derivative.

    >>> @ftx.custom_vjp
    ... def clip_gradient(x):
    ...     return x
    >>> clip_gradient.defvjp(lambda x: (x, None), lambda res, g: (fnp.clip(g, -1.0, 1.0),))

    ``fwd(*args) -> (out, residuals)`` (residuals any pytree); ``bwd(residuals,
    out_cotangent) -> tuple`` with one cotangent per differentiable argument
    (``None`` for a zero cotangent). ``nondiff_argnums`` arguments are passed
    first to ``bwd``.
    """

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.fwd = self.bwd = None
        self.fwd_jvp = None  # an optional forward-mode rule (used by ftx.Function.jvp)
        self.vmap_rule = None  # an optional batching rule (used by ftx.Function.vmap)

    def _flat_vmap_rule(self, merge, in_tree, out_tree):
        """The user's ``vmap(batch_size, in_dims, *args) -> (out, out_dims)`` on flat leaves,
        with every input batched along axis 0 and every output moved to axis 0."""
        if self.vmap_rule is None:
            return None
        user_rule, name = self.vmap_rule, self.__name__

        def flat_rule(batch_size, xs):
            args = merge(pytree.tree_unflatten(in_tree, xs))
            in_dims = pytree.tree_map(lambda _: 0, args)
            out, out_dims = user_rule(batch_size, in_dims, *args)
            leaves, tree = pytree.tree_flatten(out)
            if tree != out_tree:
                raise TypeError(f"{name}.vmap must return (output, out_dims) with the output "
                                f"structure {out_tree}; got {tree}")
            dims = ([out_dims] * len(leaves) if isinstance(out_dims, int) or out_dims is None
                    else pytree.tree_structure(out).flatten_up_to(out_dims))
            from ftx.lax._batch_rules import bdim_to_front as _front
            return [_front(x, d, batch_size) for x, d in zip(leaves, dims)]

        return _Fn(flat_rule, f"{name}.vmap")

    def defvjp(self, fwd, bwd, symbolic_zeros: bool = False):
        """Set the forward (``fwd``) and backward (``bwd``) rules."""
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args, **kwargs):
        if kwargs:
            raise TypeError(f"custom_vjp function {self.__name__}: pass arguments positionally")
        if self.fwd is None:
            raise AttributeError(f"No VJP defined for custom_vjp function {self.__name__} using "
                                 "defvjp.")
        diff, merge, nondiff, flat, in_tree, jaxpr, consts, out_tree = _trace_custom(
            self, args, "custom_vjp")
        user_fwd, user_bwd, name = self.fwd, self.bwd, self.__name__
        res_store = {}
        # Only the structures: values of diff may be tracers, which a kept pullback would leak.
        diff_trees = [pytree.tree_structure(a) for a in diff]

        def flat_fwd(xs):
            out, res = user_fwd(*merge(pytree.tree_unflatten(in_tree, xs)))
            out_leaves, tree = pytree.tree_flatten(out)
            if tree != out_tree:
                raise TypeError(f"custom_vjp fwd rule of {name} must return (output, residuals) "
                                f"with the output structure {out_tree}; got {tree}")
            res_leaves, res_store["tree"] = pytree.tree_flatten(res)
            return out_leaves, res_leaves

        def flat_bwd(res, cts):
            res_tree = pytree.tree_unflatten(res_store["tree"], res)
            ct = pytree.tree_unflatten(out_tree, cts)
            out = user_bwd(*nondiff, res_tree, ct) if nondiff else user_bwd(res_tree, ct)
            if not isinstance(out, (tuple, list)) or len(out) != len(diff_trees):
                raise TypeError(f"custom_vjp bwd rule of {name} must return a tuple with one "
                                f"cotangent per differentiable argument ({len(diff_trees)}), got "
                                f"{type(out).__name__}"
                                + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""))
            leaves = []
            for tree, ct_arg in zip(diff_trees, out):
                if ct_arg is None:
                    leaves.extend([None] * tree.num_leaves)
                else:
                    leaves.extend(tree.flatten_up_to(ct_arg))
            return leaves

        fwd_jvp = None
        if self.fwd_jvp is not None:
            user_fwd_jvp = self.fwd_jvp

            def flat_fwd_jvp(res, tangents):
                res_tree = pytree.tree_unflatten(res_store["tree"], res)
                t = pytree.tree_unflatten(in_tree, tangents)
                return pytree.tree_leaves(user_fwd_jvp(res_tree, t))

            fwd_jvp = _Fn(flat_fwd_jvp, getattr(user_fwd_jvp, "__name__", "jvp"))

        outs = custom_vjp_call_p.bind(
            *consts, *flat, call_jaxpr=jaxpr,
            fwd=_Fn(flat_fwd, getattr(user_fwd, "__name__", "fwd")),
            bwd=_Fn(flat_bwd, getattr(user_bwd, "__name__", "bwd")),
            num_consts=len(consts), out_avals=tuple(jaxpr.out_avals), fwd_jvp=fwd_jvp,
            vmap_rule=self._flat_vmap_rule(merge, in_tree, out_tree))
        return pytree.tree_unflatten(out_tree, outs)


# =========================================================================== ftx.Function

class FunctionCtx:
    """The ``ctx`` of an ``ftx.Function``: ``save_for_backward`` arrays and any other attributes."""

    def save_for_backward(self, *tensors):
        self.saved_tensors = tuple(tensors)

    def mark_non_differentiable(self, *outputs):
        self.non_differentiable = outputs


def _ctx_flatten(ctx):
    fields = sorted(vars(ctx).items())
    return [v for _, v in fields], tuple(k for k, _ in fields)


def _ctx_unflatten(names, values):
    ctx = FunctionCtx.__new__(FunctionCtx)
    for k, v in zip(names, values):
        setattr(ctx, k, v)
    return ctx


pytree.register_pytree_node(FunctionCtx, _ctx_flatten, _ctx_unflatten)


class VmapInfo:
    """What ``Function.vmap(info, in_dims, *args)`` learns about the batch (as in torch.func)."""

    __slots__ = ("batch_size", "randomness")

    def __init__(self, batch_size: int, randomness: str = "error"):
        self.batch_size, self.randomness = batch_size, randomness


class Function:
    """torch.autograd.Function-style custom derivatives, built on custom_vjp.

    >>> class Exp(ftx.Function):
    ...     @staticmethod
    ...     def forward(x):
    ...         return fnp.exp(x)
    ...     @staticmethod
    ...     def setup_context(ctx, inputs, output):
    ...         ctx.save_for_backward(output)
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         (y,) = ctx.saved_tensors
    ...         return g * y
    >>> ftx.grad(lambda x: Exp.apply(x))(1.0)

    Inputs may be pytrees. ``backward`` returns one gradient per input (a bare
    value when there is one input; ``None`` for no gradient). An optional
    ``jvp(ctx, *tangents)`` staticmethod enables forward mode, and an optional
    ``vmap(info, in_dims, *args) -> (output, out_dims)`` batches the forward computation
    itself (``info.batch_size``; ``in_dims`` has one entry per input, as in torch). Anything
    stored on ``ctx`` must be arrays, pytrees of arrays or hashable Python values.
    """

    _custom = None

    @staticmethod
    def forward(*args):
        raise NotImplementedError("ftx.Function subclasses must define forward(*args)")

    @staticmethod
    def setup_context(ctx, inputs, output):
        pass

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError

    @classmethod
    def _build(cls):
        if cls.__dict__.get("_custom") is not None:
            return cls._custom
        if "backward" not in cls.__dict__ and cls.backward is Function.backward:
            raise NotImplementedError(f"{cls.__name__} has no backward(ctx, *grads) staticmethod, "
                                      "which reverse-mode differentiation (grad, vjp) needs")
        custom = custom_vjp(lambda *args: cls.forward(*args))
        custom.__name__ = cls.__name__

        def fwd(*args):
            out = cls.forward(*args)
            ctx = FunctionCtx()
            cls.setup_context(ctx, args, out)
            return out, ctx

        def bwd(ctx, ct):
            grads = cls.backward(ctx, *(ct if isinstance(ct, tuple) else (ct,)))
            return grads if isinstance(grads, tuple) else (grads,)

        bwd.__name__ = f"{cls.__name__}.backward"
        custom.defvjp(fwd, bwd)
        if "vmap" in cls.__dict__:
            custom.vmap_rule = lambda batch_size, in_dims, *args: cls.vmap(
                VmapInfo(batch_size), in_dims, *args)
        if "jvp" in cls.__dict__:
            def fwd_jvp(ctx, tangents):
                return cls.jvp(ctx, *tangents)
            fwd_jvp.__name__ = f"{cls.__name__}.jvp"
            custom.fwd_jvp = fwd_jvp
        cls._custom = custom
        return custom

    @classmethod
    def apply(cls, *args):
        """Call the function; its derivatives come from ``backward`` (and ``jvp``)."""
        return cls._build()(*args)
