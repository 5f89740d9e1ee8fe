"""Batching: the vmap interpreter and ``ftx.vmap``.

A BatchTracer holds a value with one extra axis (``bdim``) or, when the value is
the same for every batch element, no extra axis (``bdim is None``). Batching
rules receive values and batch axes and return the same for the outputs.
"""
from __future__ import annotations

import functools

from ftx.core import pytree
from ftx.core.ad_util import not_mapped
from ftx.core.avals import ShapedArray, get_aval
from ftx.core.primitive import get_rule
from ftx.core.source_info import function_source_info
from ftx.core.trace import Trace, TraceDebugInfo, Tracer, current_trace, set_current_trace
from ftx.lax._batch_rules import bdim_to_front, moveaxis


class AxisData:
    """What batching rules know of the batch axis: its size and (optional) name."""

    __slots__ = ("size", "name")

    def __init__(self, size: int, name=None):
        self.size, self.name = size, name

    def __repr__(self):
        return f"AxisData(size={self.size}, name={self.name!r})"


class BatchTracer(Tracer):
    __slots__ = ("val", "bdim", "_aval")

    def __init__(self, trace, val, bdim):
        self._trace, self.val, self.bdim = trace, val, bdim
        self._aval = None

    @property
    def aval(self) -> ShapedArray:
        if self._aval is None:
            aval = get_aval(self.val)
            if self.bdim is not not_mapped:
                shape = aval.shape[:self.bdim] + aval.shape[self.bdim + 1:]
                aval = ShapedArray(shape, aval.dtype, aval.weak_type)
            self._aval = aval
        return self._aval

    def __repr__(self):
        return f"BatchTracer(val={self.val!r}, batch_dim={self.bdim})"


class BatchTrace(Trace):
    __slots__ = ("axis_data",)

    def __init__(self, parent, axis_data: AxisData, debug=None):
        super().__init__(parent, debug=debug)
        self.axis_data = axis_data

    def lift(self, x):
        if isinstance(x, BatchTracer) and x._trace.tag is self.tag:
            return x.val, x.bdim
        self.check_not_leaked(x, None)
        return x, not_mapped

    def process_primitive(self, prim, args, params):
        vals, dims = [], []
        for a in args:
            v, d = self.lift(a)
            vals.append(v)
            dims.append(d)
        with set_current_trace(self.parent):
            if all(d is not_mapped for d in dims) and not (
                    prim.uses_axis_name and params.get("axis_name") == self.axis_data.name):
                return prim.bind(*vals, **params)
            rule = get_rule("batch", prim, args)
            outs, out_dims = rule(self.axis_data, vals, dims, **params)
        return [o if d is not_mapped else BatchTracer(self, o, d) for o, d in zip(outs, out_dims)]

    def find_axis(self, name):
        """The trace of the vmap with ``axis_name == name`` (this one or an enclosing one)."""
        trace = self
        while trace is not None:
            if isinstance(trace, BatchTrace) and trace.axis_data.name == name:
                return trace
            trace = trace.parent
        return None


def batch_flat(fun, args, in_dims, axis_data, out_dims_fn, fun_for_debug=None):
    """Run ``fun(*flat)`` batched; ``out_dims_fn(n) -> list`` gives where outputs' axes go."""
    debug = TraceDebugInfo("vmap", function_source_info(fun_for_debug or fun))
    trace = BatchTrace(current_trace(), axis_data, debug)
    ins = [a if d is not_mapped else BatchTracer(trace, a, d) for a, d in zip(args, in_dims)]
    try:
        with set_current_trace(trace):
            outs = fun(*ins)
        lifted = [trace.lift(o) for o in outs]
    finally:
        trace.invalidate()
    out_dims = out_dims_fn(len(outs))
    results = []
    for (val, d), od in zip(lifted, out_dims):
        if od is None:
            if d is not not_mapped:
                raise ValueError("vmap has mapped output but out_axes is None: an output with "
                                 "out_axes=None must not depend on the batched inputs")
            results.append(val)
            continue
        val = bdim_to_front(val, d, axis_data.size)
        results.append(moveaxis(val, 0, od) if od != 0 else val)
    return results


def _broadcast_prefix(prefix, tree, name, what):
    """Expand a pytree-prefix spec (``in_axes``/``out_axes``) to one entry per leaf of ``tree``."""
    if prefix is None or isinstance(prefix, int):
        return [prefix] * len(pytree.tree_leaves(tree))
    try:
        prefix_tree = pytree.tree_structure(prefix, is_leaf=lambda x: x is None)
        subtrees = prefix_tree.flatten_up_to(tree)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{name}: {what} specification must be a tree prefix of the "
                         f"corresponding value, got {what}={prefix!r}: {e}") from None
    specs = pytree.tree_leaves(prefix, is_leaf=lambda x: x is None)
    out = []
    for spec, sub in zip(specs, subtrees):
        if spec is not None and not isinstance(spec, int):
            raise TypeError(f"{name}: {what} leaves must be ints or None, got {spec!r}")
        out.extend([spec] * len(pytree.tree_leaves(sub)))
    return out


def vmap(fun, in_axes=0, out_axes=0, axis_name=None, axis_size=None, chunk_size=None):
    """Vectorize ``fun`` over a batch axis: ``vmap(f)(xs)`` equals ``stack([f(x) for x in xs])``.

    >>> ftx.vmap(fnp.dot, in_axes=(0, None))(xs, w)     # each row of xs dotted with w

    ``in_axes``: an int, None (not batched) or a pytree prefix of the arguments
    (negative axes count from the end); keyword arguments are batched along
    axis 0. ``out_axes`` likewise for the outputs. ``axis_name`` names the axis
    for collectives (``ftx.lax.psum(x, 'i')``). ``axis_size`` is needed when no
    input is batched. ``chunk_size=k`` evaluates ``k`` batch elements at a time
    to bound memory, with the same result.
    """
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)  # JAX convention: a list is a leaf-level tuple spec

    @functools.wraps(fun)
    def vmapped(*args, **kwargs):
        flat, in_tree = pytree.tree_flatten((args, kwargs))
        args_axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
        if isinstance(in_axes, tuple) and len(in_axes) != len(args):
            raise ValueError(f"vmap in_axes must be an int, None, or a tuple of entries "
                             f"corresponding to the positional arguments passed to the function, "
                             f"but got len(in_axes)={len(in_axes)}, len(args)={len(args)}")
        dims = []
        for a, spec in zip(args, args_axes):
            dims.extend(_broadcast_prefix(spec, a, "vmap", "in_axes"))
        dims.extend([0] * len(pytree.tree_leaves(kwargs)))
        size = _batch_size(flat, dims, axis_size, args, args_axes, in_tree)
        dims = [None if d is None else _canonical_axis(d, get_aval(x).ndim, i)
                for i, (x, d) in enumerate(zip(flat, dims))]
        store = {}

        def flat_fun(*xs):
            a, k = pytree.tree_unflatten(in_tree, xs)
            out = fun(*a, **k)
            leaves, store["tree"] = pytree.tree_flatten(out)
            store["value"], store["ranks"] = out, [get_aval(x).ndim for x in leaves]
            return leaves

        def out_dims_fn(n):
            specs = _broadcast_prefix(out_axes, store["value"], "vmap", "out_axes")
            return [None if d is None else d % (r + 1) for d, r in zip(specs, store["ranks"])]

        if chunk_size is not None and size > chunk_size:
            results = _chunked(flat_fun, flat, dims, size, chunk_size, axis_name,
                               out_dims_fn, fun)
        else:
            results = batch_flat(flat_fun, flat, dims, AxisData(size, axis_name),
                                 out_dims_fn, fun_for_debug=fun)
        return pytree.tree_unflatten(store["tree"], results)

    return vmapped


def _canonical_axis(d, ndim, i):
    if not -ndim <= d < max(ndim, 1) or ndim == 0:
        raise ValueError(f"vmap was requested to map its argument along axis {d}, which "
                         f"implies that its rank should be at least {max(d, -d - 1) + 1}, but "
                         f"is only {ndim} (flat argument {i})")
    return d % ndim


def _batch_size(flat, dims, axis_size, args, args_axes, in_tree):
    sizes = {}
    for i, (x, d) in enumerate(zip(flat, dims)):
        if d is None:
            continue
        shape = get_aval(x).shape
        if not shape or not -len(shape) <= d < len(shape):
            _canonical_axis(d, len(shape), i)
        sizes.setdefault(shape[d], []).append(i)
    if axis_size is not None:
        sizes.setdefault(int(axis_size), [])
    if not sizes:
        raise ValueError("vmap must have at least one non-None value in in_axes, or be given "
                         "axis_size")
    if len(sizes) > 1:
        paths = pytree.tree_flatten_with_path(pytree.tree_unflatten(in_tree, list(flat)))[0]
        names = [_arg_name(p) for p, _ in paths]
        detail = "; ".join(f"size {s}: {', '.join(names[i] for i in idx) or 'axis_size'}"
                           for s, idx in sizes.items())
        raise ValueError(f"vmap got inconsistent sizes for the mapped axis: {detail}")
    return next(iter(sizes))


def _arg_name(path) -> str:
    # path starts with (SequenceKey(0) for args | DictKey for kwargs tuple index 1)
    if not path:
        return "an argument"
    first = path[0]
    rest = pytree.keystr(tuple(path[2:])) if len(path) > 2 else ""
    idx = getattr(first, "idx", None)
    if idx == 0 and len(path) > 1:
        return f"args[{getattr(path[1], 'idx', '?')}]{rest}"
    if idx == 1 and len(path) > 1:
        return f"kwargs[{getattr(path[1], 'key', '?')!r}]{rest}"
    return pytree.keystr(tuple(path))


def _chunked(flat_fun, flat, dims, size, chunk_size, axis_name, out_dims_fn, fun):
    """vmap over consecutive chunks of the batch, concatenated (bounded peak memory)."""
    from ftx.lax.shape import concatenate
    from ftx.lax.slicing import slice_in_dim
    pieces = []
    for start in range(0, size, chunk_size):
        stop = min(start + chunk_size, size)
        chunk_args = [x if d is None else slice_in_dim(x, start, stop, axis=d)
                      for x, d in zip(flat, dims)]
        pieces.append(batch_flat(flat_fun, chunk_args, dims, AxisData(stop - start, axis_name),
                                 out_dims_fn, fun_for_debug=fun))
    out_dims = out_dims_fn(len(pieces[0]))
    return [pieces[0][i] if d is None else concatenate([p[i] for p in pieces], d)
            for i, d in enumerate(out_dims)]


__all__ = ["vmap", "BatchTrace", "BatchTracer", "AxisData"]


def batched_aval(aval, dim, size: int):
    """``aval`` with a batch axis of ``size`` inserted at ``dim`` (None: unchanged)."""
    if dim is None:
        return aval
    shape = list(aval.shape)
    shape.insert(dim, size)
    return ShapedArray(tuple(shape), aval.dtype, aval.weak_type)



def batch_jaxpr(jaxpr, axis_data: AxisData, in_dims, instantiate):
    """The batched ``jaxpr`` and which of its outputs are batched, for higher-order primitives.

    Inputs are batched at ``in_dims`` (None: not batched). Returns
    ``(batched, out_batched)``: batched outputs (and those marked in
    ``instantiate`` — a bool or one per output — broadcast if need be) carry the
    batch axis first; the others are unbatched.
    """
    from ftx.core.jaxpr import eval_jaxpr
    from ftx.core.staging import trace_to_jaxpr
    n_out = len(jaxpr.outvars)
    instantiate = [instantiate] * n_out if isinstance(instantiate, bool) else list(instantiate)
    avals = [batched_aval(a, d, axis_data.size) for a, d in zip(jaxpr.in_avals, in_dims)]
    box = {}

    def f(*args):
        trace = BatchTrace(current_trace(), axis_data)
        ins = [a if d is None else BatchTracer(trace, a, d) for a, d in zip(args, in_dims)]
        try:
            with set_current_trace(trace):
                outs = eval_jaxpr(jaxpr, *ins)
            lifted = [trace.lift(o) for o in outs]
        finally:
            trace.invalidate()
        results, batched = [], []
        for (val, d), inst in zip(lifted, instantiate):
            if d is None and not inst:
                results.append(val)
                batched.append(False)
            else:
                results.append(bdim_to_front(val, d, axis_data.size))
                batched.append(True)
        box["batched"] = batched
        return results

    out = trace_to_jaxpr(f, avals)
    return out, box["batched"]
